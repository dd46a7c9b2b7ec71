//! The verified client identity of one connection, extracted once after the
//! handshake, and what the per-request steps (revocation recheck, policy,
//! headers, echo, access log) read.

use rustls::pki_types::CertificateDer;
use serde::Serialize;
use time::OffsetDateTime;

use crate::pki::inspect;
use crate::pki::snapshot::{RevocationLink, Snapshot};

/// A client that completed the mTLS handshake.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// Subject DN, RFC 4514 (visible ASCII; what `X-Client-DN` carries).
    pub subject: String,
    /// Issuer DN, RFC 4514.
    pub issuer: String,
    /// Subject CN.
    pub cn: Option<String>,
    /// SANs as `DNS:…`, `IP:…`, `URI:…`, `email:…`.
    pub sans: Vec<String>,
    /// Lowercase hex serial.
    pub serial: String,
    /// Serial as big-endian bytes (for role lookups).
    pub serial_bytes: Vec<u8>,
    /// SHA-256 fingerprint, lowercase hex.
    pub fingerprint: String,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// The path to the root for per-request revocation lookups.
    pub revocation: Vec<RevocationLink>,
}

impl ClientIdentity {
    /// Reads the identity from the peer certificates of a verified connection.
    pub fn from_peer(
        certs: &[CertificateDer<'static>],
        snapshot: &Snapshot,
    ) -> Option<ClientIdentity> {
        let leaf = certs.first()?;
        let info = inspect::cert_info(leaf).ok()?;
        let serial_bytes = info.serial.to_be_bytes();
        Some(ClientIdentity {
            revocation: snapshot.revocation_path(leaf),
            subject: info.subject_rfc4514,
            issuer: info.issuer_rfc4514,
            cn: info.common_name,
            sans: info.sans,
            serial: info.serial.to_string(),
            serial_bytes,
            fingerprint: info.fingerprint.to_string(),
            not_after: info.not_after,
        })
    }

    /// URI SANs only.
    pub fn uris(&self) -> Vec<&str> {
        self.sans
            .iter()
            .filter_map(|s| s.strip_prefix("URI:"))
            .collect()
    }
}

/// The identity echo's JSON body.
#[derive(Debug, Serialize)]
pub struct EchoBody<'a> {
    /// Always `SUCCESS`: the echo only answers verified clients.
    pub verify: &'static str,
    /// Subject DN, RFC 4514.
    pub subject: &'a str,
    /// Issuer DN, RFC 4514.
    pub issuer: &'a str,
    /// CN.
    pub cn: Option<&'a str>,
    /// SANs.
    pub sans: &'a [String],
    /// Serial, lowercase hex.
    pub serial: &'a str,
    /// SHA-256 fingerprint.
    pub fingerprint_sha256: &'a str,
    /// RFC 3339.
    pub not_after: String,
    /// Roles from the inventory.
    pub roles: &'a [String],
    /// The request as the gateway saw it.
    pub request: EchoRequest,
}

/// The request part of the echo.
#[derive(Debug, Serialize)]
pub struct EchoRequest {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// HTTP version.
    pub version: String,
    /// TLS SNI.
    pub sni: Option<String>,
}
