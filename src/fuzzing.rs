//! The entry points of the fuzz targets under `fuzz/` (cargo-fuzz, nightly),
//! kept in the library so that `tests/fuzz_corpus.rs` replays every seed
//! and every input a fuzzer ever found on stable, in the ordinary test
//! suite. Each takes arbitrary bytes and must return without panicking,
//! hanging or allocating without bound, whatever they hold. Not an API.

use std::path::Path;
use std::str::FromStr;

use clap::Parser;

use crate::cli::Cli;
use crate::pki::model::{
    CertName, DnValue, DnsName, Email, IpNet, KeyType, Profile, RevocationReason, Role, SanUri,
    Serial, Validity,
};

/// `inspect` of any file: PEM or DER certificate, chain, CSR, CRL, PKCS#12
/// (with and without a password).
pub fn inspect(data: &[u8]) {
    let _ = crate::pki::inspect::inspect(data, None);
    let _ = crate::pki::inspect::inspect(data, Some("fuzz"));
}

/// `issue --csr FILE`: parsing, the self-signature, the key type.
pub fn csr(data: &[u8]) {
    let _ = crate::pki::issue::parse_csr(data, Path::new("fuzz.csr"));
}

/// The command line: every value parser on the whole input, then the
/// input split into arguments (one per line) through clap.
pub fn command_line(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Validity::from_str(text);
    let _ = CertName::from_str(text);
    let _ = DnsName::from_str(text);
    let _ = SanUri::from_str(text);
    let _ = Email::from_str(text);
    let _ = IpNet::from_str(text);
    let _ = Serial::from_str(text);
    let _ = Role::from_str(text);
    let _ = DnValue::from_str(text);
    let _ = KeyType::from_str(text);
    let _ = Profile::from_str(text);
    let _ = RevocationReason::from_str(text);
    let args = std::iter::once("mtlsctl").chain(text.split('\n'));
    let _ = Cli::try_parse_from(args);
}

/// `mtlsctl.toml`.
pub fn settings(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::pki::settings::Settings::parse(text, "fuzz.toml");
    }
}
