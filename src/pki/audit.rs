//! The audit log: one JSON object per line, appended under the PKI lock
//! after the change it records has been committed. Never holds key material.

use serde::Serialize;

use crate::pki::fsio::{self, FsError};
use crate::pki::layout::Layout;

/// One audit record.
#[derive(Debug, Serialize)]
pub struct AuditEvent<'a> {
    /// RFC 3339 UTC time of the change.
    pub time: String,
    /// What happened: `ca.init`, `issue`, ...
    pub action: &'static str,
    /// Who did it: the login name (`$USER`) or the numeric uid.
    pub actor: String,
    /// The process that did it.
    pub pid: u32,
    /// The certificate name, when the action concerns one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    /// The serial (lowercase hex) of the certificate concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<&'a str>,
    /// Its SHA-256 fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint_sha256: Option<&'a str>,
    /// Action-specific details.
    pub details: serde_json::Value,
}

impl AuditEvent<'_> {
    /// Stamps a new event with the time, actor and pid.
    pub fn new(action: &'static str, details: serde_json::Value) -> AuditEvent<'static> {
        AuditEvent {
            time: crate::pki::time::rfc3339(crate::pki::time::now()),
            action,
            actor: actor(),
            pid: std::process::id(),
            name: None,
            serial: None,
            fingerprint_sha256: None,
            details,
        }
    }
}

impl AuditEvent<'_> {
    /// The event as one JSON line (without the newline).
    pub fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

/// Appends the event to `audit.log` (for events that change nothing in the
/// inventory, such as an export; changes queue their line in the
/// inventory's transaction instead, see journal.rs).
pub fn append(layout: &Layout, event: &AuditEvent<'_>) -> Result<(), FsError> {
    fsio::append_line(&layout.audit_log(), &event.line())
}

/// Fails when `audit.log` cannot be appended to, so that a change is
/// refused before anything is written rather than committed unaudited.
pub fn check_writable(layout: &Layout) -> Result<(), FsError> {
    fsio::open_append(&layout.audit_log()).map(drop)
}

fn actor() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("uid:{}", uid()))
}

fn uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}
