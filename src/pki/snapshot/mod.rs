//! THE door between the PKI and the gateway, and THE judge of a presented
//! certificate. [`Snapshot::load`] reads the PKI directory into a
//! read-only, fully checked view, or fails; [`Snapshot::judge`] and
//! [`Snapshot::standing`] (judge.rs) decide on a certificate with it, for
//! the gateway and `verify` alike. Everything expensive is done once per
//! (re)load (load.rs), never per handshake:
//!
//! - trust.pem must hold at least one root (never system roots);
//! - every CRL in crls.pem is parsed and its signature verified against the
//!   CA that issued it, then reduced to a hash set of revoked serials, so a
//!   100,000-entry CRL costs one lookup per handshake (rustls-webpki would
//!   re-verify the CRL's signature on every lookup, rustls/webpki#81);
//! - every root has a CRL, or loading fails; a CA in a path without one
//!   refuses the certificate;
//! - an intermediate whose signature by a root in trust.pem verifies, that
//!   is in its validity period, unrevoked, and carries its root's name
//!   constraints is *anchored*: trusted directly, so a handshake verifies
//!   only the leaf's signature, not the intermediate's again (it cannot
//!   change between handshakes). Its expiry is checked with revocation, on
//!   every handshake and request;
//! - roles and revocations not yet on a CRL come from the inventory; the
//!   server credential from certs/NAME/ (server.rs).

mod ids;
mod judge;
mod load;
mod published;
mod server;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use ::time::OffsetDateTime;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem;
use x509_parser::num_bigint::BigUint;

pub use crate::pki::distribution::FileKind;
use crate::pki::inventory::InventoryError;
use crate::pki::layout::Layout;
pub use crate::pki::model::Validity;
pub use crate::pki::refusal::{Check, Refusal, Rejection};
pub use crate::pki::stamp::SourceStamp;
pub use crate::pki::{refusal, time};
pub use ids::RevocationLink;
use ids::{CaKey, SerialKey, canonical_serial};
pub use judge::{Peer, StaleCrlPolicy, Usage};
pub use published::{Publication, PublicationStamp, PublishProblem, PublishedFile};
pub use server::{
    Offline, ServerCertSpec, ServerCredential, Serving, UnfitServerCert, dns_name_covers,
};

/// Why a snapshot could not be loaded. The gateway refuses to start on any
/// of these, and keeps its last good snapshot when a reload hits one.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A file could not be read.
    #[error("{path}: {source}", path = .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A PEM file could not be decoded.
    #[error("{path}: unreadable PEM: {source}", path = .path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// Why.
        source: pem::Error,
    },
    /// A PEM block is not a certificate.
    #[error("{path}: not a certificate: {source}", path = .path.display())]
    NotACertificate {
        /// The file.
        path: PathBuf,
        /// Why.
        source: x509_parser::nom::Err<x509_parser::error::X509Error>,
    },
    /// The file holds no certificate.
    #[error("{}: no certificate in the file", .0.display())]
    NoCertificate(PathBuf),
    /// The private key could not be read.
    #[error("{path}: unreadable private key: {source}", path = .path.display())]
    Key {
        /// key.pem.
        path: PathBuf,
        /// Why.
        source: pem::Error,
    },
    /// trust.pem holds no usable root.
    #[error("{}: no trusted root; refusing to run without one (system roots are never used)", .0.display())]
    NoTrust(PathBuf),
    /// A CRL failed its signature check, or names no known CA.
    #[error("{path}: CRL {index} ({issuer}): {problem}", path = .path.display())]
    Crl {
        /// crls.pem.
        path: PathBuf,
        /// 1-based position in the file.
        index: usize,
        /// Its issuer (`?` when it cannot be read).
        issuer: String,
        /// What is wrong.
        problem: CrlProblem,
    },
    /// A root has no CRL.
    #[error("{path}: no CRL for the CA {ca}; run `mtlsctl crl`", path = .path.display())]
    MissingCrl {
        /// crls.pem.
        path: PathBuf,
        /// The CA's subject.
        ca: String,
    },
    /// The inventory could not be read.
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// The certificate filed under the server certificate's name cannot
    /// serve this gateway (not for server auth, or not for its names):
    /// every handshake would fail.
    #[error(
        "{path}: {why}, so it cannot be this gateway's server certificate; revoke it \
         (`mtlsctl revoke {name}`) and start the gateway again to have it issue its own, \
         or serve other names with --server-name",
        path = .path.display()
    )]
    ServerCert {
        /// Its chain.pem.
        path: PathBuf,
        /// The certificate name.
        name: crate::pki::model::CertName,
        /// What is wrong.
        why: UnfitServerCert,
    },
    /// The certificate the gateway is to present to an https upstream
    /// cannot be used as a TLS client certificate, or is not there.
    #[error(
        "the client certificate {name} for the https upstream: {why}; issue one with \
         `mtlsctl issue {name} --profile client` or name another with upstream_cert"
    )]
    ClientCert {
        /// The certificate name.
        name: String,
        /// What is wrong.
        why: String,
    },
}

/// What is wrong with one CRL of crls.pem.
#[derive(Debug, thiserror::Error)]
pub enum CrlProblem {
    /// The PEM block cannot be decoded.
    #[error("unreadable PEM: {0}")]
    Pem(pem::Error),
    /// The block is not a CRL.
    #[error("not a CRL: {0}")]
    NotACrl(x509_parser::nom::Err<x509_parser::error::X509Error>),
    /// Its issuer is no CA of this PKI.
    #[error("issued by no CA this PKI knows")]
    UnknownIssuer,
    /// The certificate of its issuer cannot be read.
    #[error("its issuer's certificate cannot be read: {0}")]
    IssuerUnreadable(x509_parser::nom::Err<x509_parser::error::X509Error>),
    /// Its signature does not verify with its issuer's key.
    #[error("signature does not verify: {0}")]
    Signature(x509_parser::error::X509Error),
}

/// The revocation state of one CA.
#[derive(Debug, Clone)]
struct CrlState {
    revoked: HashSet<SerialKey>,
    next_update: Option<OffsetDateTime>,
    /// The CRL's cRLNumber, to refuse an older CRL on reload.
    number: Option<BigUint>,
    /// The CRL's issuer, RFC 4514, for messages.
    issuer: String,
}

/// A CRL older than the one in service for the same CA: its number went
/// down. CRL numbers in this PKI only grow, so this is a restored backup
/// or a replayed file, and taking it would un-revoke certificates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{path}: the CRL of {ca} is number {offered}, older than number {held} in service; \
     refusing to roll revocations back (restored from a backup?): run `mtlsctl crl` to \
     publish a newer CRL",
    path = .path.display()
)]
pub struct CrlRollback {
    /// crls.pem.
    pub path: PathBuf,
    /// The CA's subject.
    pub ca: String,
    /// The number of the CRL in service.
    pub held: BigUint,
    /// The number of the CRL offered.
    pub offered: BigUint,
}

/// Why revocation says no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationProblem {
    /// A certificate in the path is listed on its issuer's CRL.
    Revoked(String),
    /// A CA in the path has no CRL in this snapshot.
    Unknown(String),
    /// The CRL that covers a certificate in the path is past its nextUpdate.
    Stale(String),
    /// A CA in the path is outside its validity period.
    CaExpired(String),
}

impl std::fmt::Display for RevocationProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevocationProblem::Revoked(s) => write!(f, "{s} is revoked"),
            RevocationProblem::Unknown(s) => write!(f, "no CRL covers {s}"),
            RevocationProblem::Stale(s) => write!(f, "the CRL covering {s} is past its nextUpdate"),
            RevocationProblem::CaExpired(s) => {
                write!(f, "the CA {s} is outside its validity period")
            }
        }
    }
}

/// A read-only, fully checked view of the PKI, with the gateway's server
/// credential (`C = ServerCredential`) or without one (`C = ()`, for
/// `verify`).
pub struct Snapshot<C = ServerCredential> {
    /// The roots to trust (trust.pem).
    pub roots: Vec<CertificateDer<'static>>,
    /// Intermediates verified at load to chain to `roots`, trusted directly
    /// (see the module header).
    pub anchored: Vec<CertificateDer<'static>>,
    /// `roots` and `anchored` as webpki trust anchors.
    anchors: Vec<rustls_pki_types::TrustAnchor<'static>>,
    /// The PKI's other CA certificates, offered as intermediates.
    unanchored: Vec<CertificateDer<'static>>,
    /// The signature algorithms the TLS provider verifies.
    algorithms: &'static [&'static dyn rustls_pki_types::SignatureVerificationAlgorithm],
    /// Every CA certificate the PKI has made, by subject+key id.
    cas: HashMap<CaKey, CaInfo>,
    crls: HashMap<CaKey, CrlState>,
    roles: HashMap<Vec<u8>, Vec<String>>,
    /// The inventory name of each unrevoked, unexpired certificate.
    names: HashMap<Vec<u8>, String>,
    /// crls.pem, for messages.
    crl_file: PathBuf,
    /// The server credential.
    pub server: C,
    /// The earliest nextUpdate of any CRL in service.
    pub earliest_next_update: Option<OffsetDateTime>,
    /// Revoked serials across all CRLs.
    pub revoked_count: usize,
}

#[derive(Debug, Clone)]
struct CaInfo {
    subject_text: String,
    serial: SerialKey,
    issuer: CaKey,
    self_signed: bool,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

/// The PKI a gateway serves from: its directory and its server
/// certificate. All the gateway knows of the PKI's files goes through it.
#[derive(Debug, Clone)]
pub struct Source {
    layout: Layout,
    server: ServerCertSpec,
    /// Other files a reload follows (the gateway config).
    extra: Vec<PathBuf>,
}

impl Source {
    /// The PKI at `dir` (made absolute by the caller, so that it means the
    /// same directory for the whole run), serving with `server`.
    pub fn new(dir: &Path, server: ServerCertSpec) -> Source {
        Source {
            layout: Layout::new(dir),
            server,
            extra: Vec::new(),
        }
    }

    /// Also stamps `file` (made absolute by the caller), so that a change
    /// to it is a reload too.
    pub fn watching(mut self, file: PathBuf) -> Source {
        self.extra.push(file);
        self
    }

    /// Loads a snapshot with the server credential.
    pub fn load(&self) -> Result<Snapshot, SnapshotError> {
        Snapshot::load(&self.layout, &self.server)
    }

    /// Stamps every file a snapshot is built from, to tell a reload is due.
    pub fn stamp(&self) -> SourceStamp {
        SourceStamp::take(&self.layout, &self.server.name, &self.extra)
    }

    /// The PKI directory.
    pub fn dir(&self) -> &Path {
        self.layout.root()
    }

    /// The server certificate this gateway serves with.
    pub fn server(&self) -> &ServerCertSpec {
        &self.server
    }

    /// The credential filed under `name`, for the gateway to present as a
    /// TLS client (to an https upstream).
    pub fn client_credential(&self, name: &str) -> Result<ServerCredential, SnapshotError> {
        server::load_client_credential(&self.layout, name)
    }
}

impl<C> Snapshot<C> {
    /// Checks a revocation path against this snapshot's CRLs at `now`.
    /// Under [`StaleCrlPolicy::Warn`] a CRL past its nextUpdate still
    /// answers.
    pub fn check(
        &self,
        path: &[RevocationLink],
        now: OffsetDateTime,
        stale: StaleCrlPolicy,
    ) -> Result<(), RevocationProblem> {
        if path.is_empty() {
            return Err(RevocationProblem::Unknown("the certificate".into()));
        }
        // From the root down: a revoked or retired CA is the cause to
        // report, not the missing CRL of the CA under it.
        for link in path.iter().rev() {
            // Anchored intermediates are not checked for expiry by path
            // building; every issuing CA is checked here.
            if let Some(ca) = self.cas.get(&link.issuer)
                && !(ca.not_before <= now && now <= ca.not_after)
            {
                return Err(RevocationProblem::CaExpired(ca.subject_text.clone()));
            }
            let Some(crl) = self.crls.get(&link.issuer) else {
                return Err(RevocationProblem::Unknown(link.subject.clone()));
            };
            if crl.revoked.contains(&link.serial) {
                return Err(RevocationProblem::Revoked(link.subject.clone()));
            }
            if stale == StaleCrlPolicy::Deny && crl.next_update.is_some_and(|n| n < now) {
                return Err(RevocationProblem::Stale(link.subject.clone()));
            }
        }
        Ok(())
    }

    /// The CRLs past their nextUpdate at `now`: issuer (RFC 4514) and
    /// nextUpdate of each.
    pub fn stale_crls(&self, now: OffsetDateTime) -> impl Iterator<Item = (&str, OffsetDateTime)> {
        self.crls.values().filter_map(move |crl| {
            crl.next_update
                .filter(|n| *n < now)
                .map(|n| (crl.issuer.as_str(), n))
        })
    }

    /// The subjects of every CA certificate the PKI holds, as x509-parser
    /// prints them (all generations, retired ones included).
    pub fn ca_subjects(&self) -> impl Iterator<Item = &str> {
        self.cas.values().map(|ca| ca.subject_text.as_str())
    }

    /// How many CRLs are in service.
    pub fn crl_count(&self) -> usize {
        self.crls.len()
    }

    /// Refuses this snapshot in place of `previous` when the CRL of any CA
    /// both hold is older (a lower cRLNumber) than the one `previous`
    /// holds: a rollback would un-revoke certificates. A CA new in this
    /// snapshot, or a CRL without a number, has nothing to compare.
    pub fn check_no_rollback(&self, previous: &Snapshot<C>) -> Result<(), CrlRollback> {
        for (key, held) in &previous.crls {
            let (Some(held_number), Some(offered)) = (
                held.number.as_ref(),
                self.crls.get(key).and_then(|c| c.number.as_ref()),
            ) else {
                continue;
            };
            if offered < held_number {
                return Err(CrlRollback {
                    path: self.crl_file.clone(),
                    ca: held.issuer.clone(),
                    held: held_number.clone(),
                    offered: offered.clone(),
                });
            }
        }
        Ok(())
    }

    /// Roles recorded for the certificate with this serial (big-endian bytes).
    pub fn roles(&self, serial: &[u8]) -> &[String] {
        self.roles
            .get(canonical_serial(serial))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The inventory name of the certificate with this serial (big-endian
    /// bytes), for `name:` allow rules; `None` for a certificate the
    /// inventory does not hold unrevoked and unexpired as of the load.
    pub fn name_of(&self, serial: &[u8]) -> Option<&str> {
        self.names.get(canonical_serial(serial)).map(String::as_str)
    }
}
