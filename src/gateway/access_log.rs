//! One JSON access-log line per request, through `tracing` (target
//! `mtlsctl::access`). Never logs key material or header values.

use std::net::SocketAddr;
use std::time::Duration;

use crate::gateway::identity::ClientIdentity;

/// The fields of one access-log line.
pub struct AccessLine<'a> {
    /// The client's address.
    pub peer: SocketAddr,
    /// TLS SNI.
    pub sni: Option<&'a str>,
    /// Method.
    pub method: &'a str,
    /// Path and query.
    pub path: &'a str,
    /// Status sent.
    pub status: u16,
    /// Response body bytes, when known.
    pub bytes: Option<u64>,
    /// Time to the response head.
    pub duration: Duration,
    /// The verified client.
    pub identity: &'a ClientIdentity,
    /// `allow`, or the refusal reason.
    pub decision: &'a str,
}

/// Writes the line.
pub fn log(line: &AccessLine<'_>) {
    tracing::info!(
        target: "mtlsctl::access",
        peer = %line.peer,
        sni = line.sni.unwrap_or(""),
        method = line.method,
        path = line.path,
        status = line.status,
        bytes = line.bytes,
        duration_ms = line.duration.as_secs_f64() * 1000.0,
        client_cn = line.identity.cn.as_deref().unwrap_or(""),
        client_serial = %line.identity.serial,
        client_fingerprint = %line.identity.fingerprint,
        decision = line.decision,
    );
}
