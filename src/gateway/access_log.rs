//! One JSON access-log line per request (target `mtlsctl::access`). Never
//! logs key material or header values.
//!
//! The line has the shape of the `tracing` JSON lines around it, and obeys
//! the same filter (`MTLSCTL_LOG`), but is formatted here into a reused
//! buffer: `tracing`'s JSON formatter cost about 3 µs a request, a tenth of
//! the gateway's CPU per keep-alive request.

use std::cell::RefCell;
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use crate::gateway::identity::ClientIdentity;
use crate::gateway::policy::RuleRef;
use crate::pki::snapshot::Refusal;

/// What the gateway decided for a request: the line's `decision` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Answered by the echo or the upstream.
    Allow,
    /// Answered by the gateway itself, for this reason.
    Refuse(Refusal),
}

impl Decision {
    /// `allow`, or the refusal reason's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Refuse(refusal) => refusal.as_str(),
        }
    }
}

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
    /// The verified client, if any.
    pub identity: Option<&'a ClientIdentity>,
    /// The route's name (else host and path), when one was found.
    pub route: Option<&'a str>,
    /// The allow or deny rule that decided, if one did.
    pub rule: Option<RuleRef<'a>>,
    /// `allow`, or the refusal reason.
    pub decision: Decision,
}

/// Writes the line, unless the log filter leaves `mtlsctl::access` out.
pub fn log(line: &AccessLine<'_>) {
    if !tracing::enabled!(target: "mtlsctl::access", tracing::Level::INFO) {
        return;
    }
    thread_local! {
        static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    BUF.with_borrow_mut(|buf| {
        buf.clear();
        format(line, time::OffsetDateTime::now_utc(), buf);
        crate::gateway::log_writer::write_line(buf);
    });
}

/// The JSON line, newline included.
fn format(line: &AccessLine<'_>, at: time::OffsetDateTime, out: &mut Vec<u8>) {
    // Writes into a Vec cannot fail, nor can serializing a string.
    let string = |out: &mut Vec<u8>, s: &str| {
        let _ = serde_json::to_writer(&mut *out, s);
    };
    let _ = write!(
        out,
        "{{\"timestamp\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z\",\"level\":\"INFO\",\"peer\":\"{}\",\"sni\":",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond(),
        line.peer,
    );
    string(out, line.sni.unwrap_or(""));
    out.extend_from_slice(b",\"method\":");
    string(out, line.method);
    out.extend_from_slice(b",\"path\":");
    string(out, line.path);
    let _ = write!(out, ",\"status\":{}", line.status);
    if let Some(bytes) = line.bytes {
        let _ = write!(out, ",\"bytes\":{bytes}");
    }
    let micros = line.duration.as_micros();
    let _ = write!(
        out,
        ",\"duration_ms\":{}.{:03},\"client_cn\":",
        micros / 1000,
        micros % 1000
    );
    let (cn, serial, fingerprint) = line.identity.map_or(("", "", ""), |id| {
        (
            id.cn.as_deref().unwrap_or(""),
            id.serial.as_str(),
            id.fingerprint.as_str(),
        )
    });
    string(out, cn);
    let _ = write!(
        out,
        ",\"client_serial\":\"{serial}\",\"client_fingerprint\":\"{fingerprint}\",\"decision\":"
    );
    string(out, line.decision.as_str());
    if let Some(route) = line.route {
        out.extend_from_slice(b",\"route\":");
        string(out, route);
    }
    if let Some(rule) = line.rule {
        // The rule as written in the config (`allow[3] cn:x`), escaped as
        // it is formatted: no String per request.
        out.extend_from_slice(b",\"rule\":");
        let _ = serde::Serializer::collect_str(&mut serde_json::Serializer::new(&mut *out), &rule);
    }
    out.extend_from_slice(b",\"target\":\"mtlsctl::access\"}\n");
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{AccessLine, Decision, format};
    use crate::gateway::identity::ClientIdentity;
    use crate::gateway::policy::RuleRef;
    use crate::gateway::policy::rules::RuleList;
    use crate::pki::snapshot::Refusal;

    #[test]
    fn the_line_is_json_with_every_field_escaped() {
        let mut identity = ClientIdentity::for_tests("CN=x", "0a1b");
        identity.cn = Some("al\"ice\n\u{e9}".into());
        identity.fingerprint = "ff00".into();
        let line = AccessLine {
            peer: "127.0.0.1:4000".parse().unwrap(),
            sni: Some("localhost"),
            method: "GET",
            path: "/a\"b\\c?\u{1}",
            status: 403,
            bytes: Some(12),
            duration: Duration::from_micros(1_234_567),
            identity: Some(&identity),
            route: Some("api"),
            rule: Some(RuleRef {
                list: RuleList::Deny,
                index: 2,
                text: "cn:a\"b\\c",
            }),
            decision: Decision::Refuse(Refusal::Revoked),
        };
        let at = time::macros::datetime!(2026-11-29 07:05:09.000042 UTC);
        let mut out = Vec::new();
        format(&line, at, &mut out);
        assert_eq!(out.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["timestamp"], "2026-11-29T07:05:09.000042Z");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "mtlsctl::access");
        assert_eq!(v["peer"], "127.0.0.1:4000");
        assert_eq!(v["sni"], "localhost");
        assert_eq!(v["method"], "GET");
        assert_eq!(v["path"], "/a\"b\\c?\u{1}");
        assert_eq!(v["status"], 403);
        assert_eq!(v["bytes"], 12);
        assert_eq!(v["duration_ms"], 1234.567);
        assert_eq!(v["client_cn"], "al\"ice\n\u{e9}");
        assert_eq!(v["client_serial"], "0a1b");
        assert_eq!(v["client_fingerprint"], "ff00");
        assert_eq!(v["decision"], "revoked");
        assert_eq!(v["route"], "api");
        assert_eq!(v["rule"], "deny[2] cn:a\"b\\c");
        // No bytes field when the size is unknown.
        let mut out = Vec::new();
        format(
            &AccessLine {
                bytes: None,
                ..line
            },
            at,
            &mut out,
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(v.get("bytes").is_none());
    }
}
