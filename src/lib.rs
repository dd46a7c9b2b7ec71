//! mtlsctl: a private certificate authority run from a directory on disk.
//!
//! The binary is a thin command line ([`cli`], [`commands`], [`output`]) over
//! the PKI domain ([`pki`]). See ARCHITECTURE.md for the picture.

pub mod cli;
pub mod commands;
pub mod error;
pub mod export;
#[doc(hidden)]
pub mod fuzzing;
pub mod gateway;
pub mod output;
pub mod pki;
