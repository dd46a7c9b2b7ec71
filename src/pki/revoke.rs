//! `revoke` and `crl`: marking certificates revoked and re-signing CRLs.
//!
//! Order under the PKI lock: sign and write the new CRL first, then commit
//! the inventory. A crash in between leaves the certificate revoked at the
//! edge (fail closed) and still valid in the inventory, so re-running the
//! same `revoke` finishes the job; the CRL number always continues from the
//! CRL file on disk, so it never repeats.

use time::OffsetDateTime;

use crate::pki::audit::{self, AuditEvent};
use crate::pki::ca::{self, SignedCrl};
use crate::pki::inventory::{Inventory, Record, Revoked};
use crate::pki::keys::Passphrase;
use crate::pki::model::RevocationReason;
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
pub fn revoke(
    pki: &Pki,
    target: &str,
    reason: RevocationReason,
    passphrase: Option<&Passphrase>,
) -> Result<RevokeReport, PkiError> {
    let mut inventory = Inventory::open_for_write(pki.layout())?;
    let record = inventory
        .find(target)?
        .ok_or_else(|| PkiError::UnknownCert(target.to_owned()))?;
    if record.revoked_at.is_some() {
        return Ok(RevokeReport {
            record,
            changed: false,
            crl: None,
        });
    }
    let now = crate::pki::time::now();
    let crl = revoke_locked(pki, &mut inventory, &record, reason, passphrase, now)?;
    let record = inventory
        .by_serial(&record.serial)?
        .ok_or_else(|| PkiError::UnknownCert(record.serial.to_string()))?;
    let mut event = AuditEvent::new(
        "revoke",
        serde_json::json!({
            "reason": reason.as_str(),
            "crl": crl.path.display().to_string(),
            "crl_number": crl.number,
        }),
    );
    event.name = Some(record.name.as_str());
    event.serial = Some(record.serial.as_str());
    event.fingerprint_sha256 = Some(record.fingerprint.as_str());
    audit::append(pki.layout(), &event)?;
    Ok(RevokeReport {
        record,
        changed: true,
        crl: Some(crl),
    })
}

/// Revokes under a lock the caller already holds: signs the issuer's CRL
/// with the certificate added, writes it, then commits the inventory.
pub fn revoke_locked(
    pki: &Pki,
    inventory: &mut Inventory,
    record: &Record,
    reason: RevocationReason,
    passphrase: Option<&Passphrase>,
    now: OffsetDateTime,
) -> Result<SignedCrl, PkiError> {
    let generations = inventory.generations()?;
    let generation = ca::find_generation(&generations, record.ca_generation)?;
    let level = ca::issuing_crl_level(&generation);
    let extra = Revoked {
        serial: record.serial.clone(),
        revoked_at: now,
        reason: Some(reason.as_str().to_owned()),
    };
    let crl = ca::resign_crl_with(
        pki,
        inventory,
        &generation,
        level,
        passphrase,
        now,
        Some(extra),
    )?;
    inventory.revoke(&record.serial, now, reason.as_str())?;
    ca::publish(pki.layout(), inventory)?;
    Ok(crl)
}

/// `crl`: re-signs every CRL relying parties need (fresh thisUpdate and
/// nextUpdate, next CRL number), for cron before nextUpdate.
pub fn resign_all(pki: &Pki, passphrase: Option<&Passphrase>) -> Result<Vec<SignedCrl>, PkiError> {
    let inventory = Inventory::open_for_write(pki.layout())?;
    let now = crate::pki::time::now();
    let generations = inventory.generations()?;
    let mut out = Vec::new();
    for (generation, level) in ca::active_levels(&generations) {
        out.push(ca::resign_crl(
            pki,
            &inventory,
            &generation,
            level,
            passphrase,
            now,
        )?);
    }
    ca::publish(pki.layout(), &inventory)?;
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
    audit::append(pki.layout(), &event)?;
    Ok(out)
}
