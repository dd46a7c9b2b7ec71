//! Wire structs for `--json`, kept apart from the domain types so the JSON
//! contract (DESIGN.md, "Command line") changes only on purpose.

use std::path::Path;

use serde::Serialize;

use crate::pki::inspect::{CertInfo, CrlInfo, CsrInfo, SignatureCheck};
use crate::pki::inventory::Record;
use crate::pki::layout::Layout;
use crate::pki::time::rfc3339;

/// A certificate from the inventory.
#[derive(Debug, Serialize)]
pub struct CertJson {
    /// The name it was issued under.
    pub name: String,
    /// Lowercase hex, no colons.
    pub serial: String,
    /// Lowercase hex SHA-256 of the DER.
    pub fingerprint_sha256: String,
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
    /// client, server or peer.
    pub profile: String,
    /// Key type, null when unknown.
    pub key_type: Option<String>,
    /// `DNS:…`, `IP:…`, `URI:…`, `email:…`.
    pub sans: Vec<String>,
    /// valid, revoked or expired.
    pub status: String,
    /// Roles held by the name.
    pub roles: Vec<String>,
    /// True when this is the certificate certs/NAME/ holds.
    pub current: bool,
    /// The CA generation that issued it.
    pub ca_generation: u32,
    /// RFC 3339, when revoked.
    pub revoked_at: Option<String>,
    /// RFC 5280 reason, when revoked.
    pub revocation_reason: Option<String>,
    /// cert.pem (null for a certificate no longer current).
    pub cert_path: Option<String>,
    /// key.pem (null when the key was never held, as with --csr).
    pub key_path: Option<String>,
    /// chain.pem.
    pub chain_path: Option<String>,
}

impl CertJson {
    /// The JSON view of an inventory record, with its files in `layout`.
    pub fn new(record: &Record, now: time::OffsetDateTime, layout: &Layout) -> Self {
        let (cert, key, chain) = (
            layout.leaf_cert(&record.name),
            layout.leaf_key(&record.name),
            layout.leaf_chain(&record.name),
        );
        let path = |p: &Path| record.current.then(|| p.display().to_string());
        CertJson {
            name: record.name.to_string(),
            serial: record.serial.to_string(),
            fingerprint_sha256: record.fingerprint.to_string(),
            subject: record.subject.clone(),
            issuer: record.issuer.clone(),
            not_before: rfc3339(record.not_before),
            not_after: rfc3339(record.not_after),
            profile: record.profile.to_string(),
            key_type: record.key_type.map(|k| k.to_string()),
            sans: record.sans.clone(),
            status: record.status(now).to_string(),
            roles: record.roles.iter().map(ToString::to_string).collect(),
            current: record.current,
            ca_generation: record.ca_generation,
            revoked_at: record.revoked_at.map(rfc3339),
            revocation_reason: record.revocation_reason.clone(),
            cert_path: path(&cert),
            key_path: if record.key_held { path(&key) } else { None },
            chain_path: path(&chain),
        }
    }
}

/// Any certificate's fields (`inspect`, `ca init`, `ca show`).
#[derive(Debug, Serialize)]
pub struct CertInfoJson {
    /// Lowercase hex.
    pub serial: String,
    /// Lowercase hex SHA-256 of the DER.
    pub fingerprint_sha256: String,
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
    /// Key description.
    pub key: String,
    /// Signature algorithm.
    pub signature_algorithm: String,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// pathLenConstraint.
    pub path_len: Option<u32>,
    /// keyUsage.
    pub key_usage: Vec<String>,
    /// extendedKeyUsage.
    pub extended_key_usage: Vec<String>,
    /// SANs.
    pub sans: Vec<String>,
    /// SKI, hex.
    pub subject_key_id: Option<String>,
    /// AKI, hex.
    pub authority_key_id: Option<String>,
    /// Permitted name constraints.
    pub permitted_names: Vec<String>,
}

impl From<&CertInfo> for CertInfoJson {
    fn from(c: &CertInfo) -> Self {
        CertInfoJson {
            serial: c.serial.to_string(),
            fingerprint_sha256: c.fingerprint.to_string(),
            subject: c.subject.clone(),
            issuer: c.issuer.clone(),
            not_before: rfc3339(c.not_before),
            not_after: rfc3339(c.not_after),
            key: c.key.clone(),
            signature_algorithm: c.signature_algorithm.clone(),
            is_ca: c.is_ca,
            path_len: c.path_len,
            key_usage: c.key_usage.clone(),
            extended_key_usage: c.extended_key_usage.clone(),
            sans: c.sans.clone(),
            subject_key_id: c.subject_key_id.clone(),
            authority_key_id: c.authority_key_id.clone(),
            permitted_names: c.permitted_names.clone(),
        }
    }
}

/// `inspect --json`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum InspectJson {
    /// A certificate or chain.
    Certificates {
        /// In file order.
        certificates: Vec<CertInfoJson>,
    },
    /// A CSR.
    Csr {
        /// Requested subject.
        subject: String,
        /// Key description.
        key: String,
        /// Requested SANs.
        requested_sans: Vec<String>,
        /// Self-signature verifies; null when its algorithm cannot be
        /// checked (see `signature`).
        signature_valid: Option<bool>,
        /// `valid`, `invalid` or `unsupported`.
        signature: &'static str,
        /// The signature algorithm when it cannot be checked.
        #[serde(skip_serializing_if = "Option::is_none")]
        unsupported_algorithm: Option<String>,
    },
    /// One or more CRLs (`crls.pem` holds one per CA level).
    Crls {
        /// In file order.
        crls: Vec<CrlJson>,
    },
    /// A PKCS#12 file.
    Pkcs12 {
        /// Its certificates.
        certificates: Vec<CertInfoJson>,
        /// How many private keys it holds (never printed).
        private_keys: usize,
    },
}

/// One CRL.
#[derive(Debug, Serialize)]
pub struct CrlJson {
    /// Issuer DN.
    pub issuer: String,
    /// RFC 3339.
    pub this_update: String,
    /// RFC 3339.
    pub next_update: Option<String>,
    /// Decimal.
    pub crl_number: Option<String>,
    /// Revoked entries.
    pub revoked: Vec<RevokedJson>,
}

/// One CRL entry.
#[derive(Debug, Serialize)]
pub struct RevokedJson {
    /// Lowercase hex.
    pub serial: String,
    /// RFC 3339.
    pub revoked_at: String,
    /// Reason name.
    pub reason: Option<String>,
}

impl InspectJson {
    /// A CSR's JSON.
    pub fn csr(c: &CsrInfo) -> Self {
        InspectJson::Csr {
            subject: c.subject.clone(),
            key: c.key.clone(),
            requested_sans: c.requested_sans.clone(),
            signature_valid: match &c.signature {
                SignatureCheck::Valid => Some(true),
                SignatureCheck::Invalid => Some(false),
                SignatureCheck::Unsupported(_) => None,
            },
            signature: match &c.signature {
                SignatureCheck::Valid => "valid",
                SignatureCheck::Invalid => "invalid",
                SignatureCheck::Unsupported(_) => "unsupported",
            },
            unsupported_algorithm: match &c.signature {
                SignatureCheck::Unsupported(alg) => Some(alg.clone()),
                _ => None,
            },
        }
    }

    /// The JSON of a file's CRLs.
    pub fn crls(list: &[CrlInfo]) -> Self {
        InspectJson::Crls {
            crls: list.iter().map(CrlJson::from).collect(),
        }
    }
}

impl From<&CrlInfo> for CrlJson {
    fn from(c: &CrlInfo) -> Self {
        CrlJson {
            issuer: c.issuer.clone(),
            this_update: rfc3339(c.this_update),
            next_update: c.next_update.map(rfc3339),
            crl_number: c.crl_number.clone(),
            revoked: c
                .revoked
                .iter()
                .map(|r| RevokedJson {
                    serial: r.serial.to_string(),
                    revoked_at: rfc3339(r.revoked_at),
                    reason: r.reason.clone(),
                })
                .collect(),
        }
    }
}
