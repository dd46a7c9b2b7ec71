//! `rotate`: a new key and certificate with the same identity (subject,
//! SANs, profile, roles, lifetime), issued by the current CA generation.
//! The previous certificate stays valid until it expires unless
//! `--revoke-previous` revokes it (reason superseded) in the same locked
//! step that makes the new one current.

use std::path::PathBuf;

use time::OffsetDateTime;

use crate::pki::audit::AuditEvent;
use crate::pki::ca::{CaKeys, IssuingCa};
use crate::pki::inventory::{Inventory, Record};
use crate::pki::issue::{self, Issued, KeySource, LeafSpec};
use crate::pki::keys::Passphrase;
use crate::pki::model::{CertName, RevocationReason, Validity};
use crate::pki::publish;
use crate::pki::recover::open_for_change;
use crate::pki::revoke::revoke_locked;
use crate::pki::{Pki, PkiError};

/// What to rotate.
pub struct RotateRequest {
    /// One name, or every current certificate when `None`.
    pub name: Option<CertName>,
    /// Only certificates that expire within this window (idempotent runs).
    pub if_expiring_within: Option<Validity>,
    /// Revoke the previous certificate (reason superseded).
    pub revoke_previous: bool,
    /// A new CSR for a certificate issued from a CSR (one name only).
    pub csr: Option<PathBuf>,
}

/// One rotated certificate.
#[derive(Debug)]
pub struct Rotated {
    /// The new certificate.
    pub issued: Issued,
    /// The certificate it replaced.
    pub previous: Record,
    /// True when the previous one was revoked.
    pub previous_revoked: bool,
}

/// One certificate that was left alone, and why.
#[derive(Debug)]
pub struct Skipped {
    /// The certificate.
    pub record: Record,
    /// Why it was not rotated.
    pub reason: String,
}

/// The outcome of a rotate run.
#[derive(Debug, Default)]
pub struct RotateReport {
    /// What was rotated.
    pub rotated: Vec<Rotated>,
    /// What was not, with reasons.
    pub skipped: Vec<Skipped>,
}

/// Rotates one name or all, as the request says.
pub fn rotate(
    pki: &Pki,
    req: &RotateRequest,
    ca: &IssuingCa,
    passphrase: Option<&Passphrase>,
) -> Result<RotateReport, PkiError> {
    let now = crate::pki::time::now();
    let candidates = {
        let inventory = Inventory::open_for_read(pki.layout())?;
        match &req.name {
            Some(name) => vec![
                inventory
                    .current(name)?
                    .ok_or_else(|| PkiError::UnknownCert(name.to_string()))?,
            ],
            None => inventory
                .all(None)?
                .into_iter()
                .filter(|r| r.current)
                .collect(),
        }
    };
    let mut report = RotateReport::default();
    for record in candidates {
        if let Some(reason) = skip_reason(&record, req, now) {
            if req.name.is_some() && record.revoked_at.is_some() {
                return Err(PkiError::RotateRevoked {
                    name: record.name.clone(),
                    serial: record.serial.clone(),
                });
            }
            if req.name.is_some() && !record.key_held && req.csr.is_none() {
                return Err(PkiError::RotateNeedsCsr(record.name.clone()));
            }
            report.skipped.push(Skipped { record, reason });
            continue;
        }
        report
            .rotated
            .push(rotate_one(pki, &record, req, ca, passphrase)?);
    }
    Ok(report)
}

fn skip_reason(record: &Record, req: &RotateRequest, now: OffsetDateTime) -> Option<String> {
    if let Some(at) = record.revoked_at {
        return Some(format!("revoked on {}", crate::pki::time::rfc3339(at)));
    }
    if !record.key_held && req.csr.is_none() {
        return Some("issued from a CSR: rotate it by name with --csr FILE".into());
    }
    if let Some(window) = req.if_expiring_within
        && record.not_after > now + window.duration()
    {
        return Some(format!(
            "expires {} ({}), outside the {window} window",
            crate::pki::time::rfc3339(record.not_after),
            crate::pki::time::until(now, record.not_after)
        ));
    }
    None
}

fn rotate_one(
    pki: &Pki,
    previous: &Record,
    req: &RotateRequest,
    ca: &IssuingCa,
    passphrase: Option<&Passphrase>,
) -> Result<Rotated, PkiError> {
    let spec = LeafSpec::from_record(previous)?;
    let key = match &req.csr {
        Some(path) => KeySource::Csr(path.clone()),
        None => KeySource::Generate(previous.key_type),
    };
    let signed = issue::sign(pki, &spec, &key, ca)?;
    let mut inventory = open_for_change(pki.layout())?;
    // Someone may have rotated or revoked it while we were signing.
    match inventory.current(&previous.name)? {
        Some(now_current)
            if now_current.serial == previous.serial && now_current.revoked_at.is_none() => {}
        _ => {
            return Err(PkiError::ChangedMeanwhile(previous.name.clone()));
        }
    }
    let revoke_previous = req.revoke_previous;
    let issued = issue::commit(
        pki,
        &mut inventory,
        &spec,
        signed,
        Some(&previous.serial),
        |record| {
            AuditEvent::new(
                "rotate",
                serde_json::json!({
                    "previous_serial": previous.serial.to_string(),
                    "previous_revoked": revoke_previous,
                    "not_after": crate::pki::time::rfc3339(record.not_after),
                    "ca_generation": record.ca_generation,
                }),
            )
        },
    )?;
    let mut previous_revoked = false;
    if revoke_previous {
        let now = crate::pki::time::now();
        revoke_locked(
            pki,
            &mut inventory,
            previous,
            RevocationReason::Superseded,
            now,
        )?;
        publish::repair(pki, &inventory, &mut CaKeys::new(pki, passphrase), now)?;
        previous_revoked = true;
    }
    Ok(Rotated {
        issued,
        previous: previous.clone(),
        previous_revoked,
    })
}
