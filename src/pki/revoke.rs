//! `revoke` and `crl`: marking certificates revoked and re-signing CRLs.
//!
//! Order under the PKI lock: the inventory first (the certificate revoked,
//! the CRL's journal counter raised and the audit line queued, in one
//! transaction), then the CRL, `crls.pem` and `trust.pem` derived from it
//! ([`publish::repair`]). A crash in between leaves a revocation the
//! inventory holds and the files do not show yet: `check` reports it, and
//! the next command that holds the CA key (rerunning the same `revoke`
//! included) publishes it.

use time::OffsetDateTime;

use crate::pki::audit::AuditEvent;
use crate::pki::ca::{self, CaKeys, SignedCrl};
use crate::pki::inventory::{Inventory, Record};
use crate::pki::keys::Passphrase;
use crate::pki::model::RevocationReason;
use crate::pki::publish;
use crate::pki::recover::{self, open_for_change};
use crate::pki::{Pki, PkiError};

/// What `revoke` did.
#[derive(Debug)]
pub struct RevokeReport {
    /// The certificate, as now recorded.
    pub record: Record,
    /// False when it was already revoked (nothing changed).
    pub changed: bool,
    /// The CRL that now lists it.
    pub crl: Option<SignedCrl>,
}

/// Revokes the certificate `target` names and re-signs its issuer's CRL.
/// An already revoked certificate changes nothing, but whatever is still
/// unpublished is published.
pub fn revoke(
    pki: &Pki,
    target: &str,
    reason: RevocationReason,
    passphrase: Option<&Passphrase>,
) -> Result<RevokeReport, PkiError> {
    let mut inventory = open_for_change(pki.layout())?;
    let record = inventory
        .find(target)?
        .ok_or_else(|| PkiError::UnknownCert(target.to_owned()))?;
    let now = crate::pki::time::now();
    // The key that signs its CRL first: a wrong or missing passphrase
    // fails before anything changes.
    let mut keys = CaKeys::new(pki, passphrase);
    let generation = ca::find_generation(&inventory.generations()?, record.ca_generation)?;
    let level = ca::issuing_crl_level(&generation);
    keys.get(
        ca::files_generation(&generation, level),
        level,
        generation.generation,
    )?;
    let changed =
        record.revoked_at.is_none() && revoke_locked(pki, &mut inventory, &record, reason, now)?;
    let crls = publish::repair(pki, &inventory, &mut keys, now)?;
    let record = inventory
        .by_serial(&record.serial)?
        .ok_or_else(|| PkiError::UnknownCert(record.serial.to_string()))?;
    let covering = ca::crl_path_for(pki.layout(), &inventory, &record)?;
    Ok(RevokeReport {
        crl: if changed {
            crls.into_iter().find(|c| c.path == covering)
        } else {
            None
        },
        record,
        changed,
    })
}

/// Records a revocation under a lock the caller already holds (the
/// inventory and its audit line, in one transaction). The caller then
/// publishes with [`publish::repair`]. False when it already was revoked.
pub fn revoke_locked(
    pki: &Pki,
    inventory: &mut Inventory,
    record: &Record,
    reason: RevocationReason,
    now: OffsetDateTime,
) -> Result<bool, PkiError> {
    let generations = inventory.generations()?;
    let generation = ca::find_generation(&generations, record.ca_generation)?;
    let level = ca::issuing_crl_level(&generation);
    let files = ca::files_generation(&generation, level);
    // The name's roles go with its current certificate (journal.rs).
    let roles_removed: Vec<String> = match inventory.current(&record.name)? {
        Some(current) if current.serial == record.serial => {
            current.roles.iter().map(ToString::to_string).collect()
        }
        _ => Vec::new(),
    };
    let mut event = AuditEvent::new(
        "revoke",
        serde_json::json!({
            "reason": reason.as_str(),
            "crl": pki.layout().ca_crl(files, level).display().to_string(),
            "roles_removed": roles_removed,
        }),
    );
    event.name = Some(record.name.as_str());
    event.serial = Some(record.serial.as_str());
    event.fingerprint_sha256 = Some(record.fingerprint.as_str());
    let changed = inventory.revoke_recorded(
        &record.serial,
        now,
        reason.as_str(),
        (files, level),
        &event.line(),
    )?;
    recover::flush_audit(pki.layout(), inventory)?;
    Ok(changed)
}

/// `crl`: re-signs every CRL relying parties need (fresh thisUpdate and
/// nextUpdate, next CRL number), for cron before nextUpdate.
pub fn resign_all(pki: &Pki, passphrase: Option<&Passphrase>) -> Result<Vec<SignedCrl>, PkiError> {
    let inventory = open_for_change(pki.layout())?;
    let now = crate::pki::time::now();
    let generations = inventory.generations()?;
    let mut keys = CaKeys::new(pki, passphrase);
    let mut out = Vec::new();
    for (generation, level) in ca::active_levels(&generations) {
        out.push(ca::resign_crl(
            pki,
            &inventory,
            &generation,
            level,
            &mut keys,
            now,
        )?);
    }
    publish::repair(pki, &inventory, &mut keys, now)?;
    let event = AuditEvent::new(
        "crl",
        serde_json::json!({
            "crls": out.iter().map(|c| serde_json::json!({
                "path": c.path.display().to_string(),
                "number": c.number,
                "entries": c.entries,
                "next_update": crate::pki::time::rfc3339(c.next_update),
            })).collect::<Vec<_>>(),
        }),
    );
    inventory.queue_audit(&event.line())?;
    recover::flush_audit(pki.layout(), &inventory)?;
    Ok(out)
}
