//! The certificate authority, one file per job: `init` (a new PKI, staged
//! and renamed into place), `params` (the CA certificates' fields: every
//! rcgen field set explicitly, since rcgen's defaults — validity 1975 to
//! 4096, a placeholder subject, no AKI — are wrong for a PKI), `load` (the
//! issuing CA and the keys a command unlocks), `crl_number` (a DER reader
//! for the CRL number), `crl` (CRL signing, `trust.pem` and `crls.pem`),
//! `rotate` and `retire` (CA generations). This file holds the public
//! surface and the few lookups every job shares: which generation's
//! directory holds a CA level, which level issues.

mod crl;
mod crl_number;
mod init;
mod load;
mod params;
mod retire;
mod rotate;

pub use crl::{
    SignedCrl, active_levels, crl_entries, crl_path_for, derived, publish, resign_crl, sign_crl,
};
pub use crl_number::{crl_number, read_crl};
pub use init::{CaInitReport, CaInitRequest, init};
pub use load::{
    CaKeys, IssuingCa, issuing_key_encrypted, load_ca, load_issuing_ca, read_cert, read_cert_info,
};
pub use params::random_serial;
pub use retire::{RetireReport, retire};
pub use rotate::{RotateReport, rotate};

use crate::pki::PkiError;
use crate::pki::inventory::Generation;
use crate::pki::layout::CaLevel;
use crate::pki::settings::Settings;

/// How far notBefore is set in the past, to absorb clock skew between the
/// CA host and relying parties.
pub const BACKDATE: time::Duration = time::Duration::seconds(60);

/// The level that issues leaves in a PKI.
pub fn issuing_level(settings: &Settings) -> CaLevel {
    if settings.ca.single_tier {
        CaLevel::Root
    } else {
        CaLevel::Intermediate
    }
}

/// The directory generation holding a CA level's files: a root lives in
/// its root generation, an intermediate in its own.
pub fn files_generation(g: &Generation, level: CaLevel) -> u32 {
    match level {
        CaLevel::Root => g.root_generation,
        CaLevel::Intermediate => g.generation,
    }
}

/// Which CRL covers certificates issued by a generation: its intermediate's,
/// or its root's when single-tier.
pub fn issuing_crl_level(g: &Generation) -> CaLevel {
    if g.single_tier {
        CaLevel::Root
    } else {
        CaLevel::Intermediate
    }
}

/// Finds a generation by number.
pub fn find_generation(
    generations: &[Generation],
    generation: u32,
) -> Result<Generation, PkiError> {
    generations
        .iter()
        .find(|g| g.generation == generation)
        .cloned()
        .ok_or(PkiError::UnknownGeneration(generation))
}
