//! The verified client identity of one connection, what the per-request
//! steps (revocation recheck, policy, headers, echo, access log) read: the
//! snapshot's [`Peer`], parsed once by the judge during the handshake.

use serde::Serialize;

pub use crate::pki::snapshot::Peer as ClientIdentity;

/// The identity echo's JSON body.
#[derive(Debug, Serialize)]
pub struct EchoBody<'a> {
    /// `SUCCESS` for a verified client, `NONE` for one without a
    /// certificate (on a route that lets it in); the fields below are
    /// then null.
    pub verify: &'static str,
    /// Subject DN, RFC 4514.
    pub subject: Option<&'a str>,
    /// Issuer DN, RFC 4514.
    pub issuer: Option<&'a str>,
    /// CN.
    pub cn: Option<&'a str>,
    /// SANs.
    pub sans: &'a [String],
    /// Serial, lowercase hex.
    pub serial: Option<&'a str>,
    /// SHA-256 fingerprint.
    pub fingerprint_sha256: Option<&'a str>,
    /// RFC 3339.
    pub not_after: Option<String>,
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
