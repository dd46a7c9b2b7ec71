//! `ca rotate [--root]`: a new CA generation (a new intermediate under the
//! current root, or a new root beside the old one in trust.pem), recorded
//! in the inventory before anything is published.

use time::OffsetDateTime;

use super::params::{NewCa, constraints_of, make_ca};
use super::{BACKDATE, CaKeys, find_generation, load_ca};
use crate::pki::audit::AuditEvent;
use crate::pki::fsio::{self, DirMode};
use crate::pki::inspect::CertInfo;
use crate::pki::inventory::Generation;
use crate::pki::keys::Passphrase;
use crate::pki::layout::CaLevel;
use crate::pki::{Pki, PkiError};

/// What `ca rotate` made.
#[derive(Debug)]
pub struct RotateReport {
    /// The new generation.
    pub generation: u32,
    /// The new root, when `--root`.
    pub root: Option<CertInfo>,
    /// The new intermediate (two-tier).
    pub intermediate: Option<CertInfo>,
    /// The generation it replaces as the issuer.
    pub previous: u32,
}

/// `ca rotate [--root]`: a new generation. Without `root`, a new
/// intermediate under the current root (relying parties change nothing);
/// with it, a new root (added to trust.pem beside the old one) and, when
/// two-tier, a new intermediate under it. New issuance uses the new
/// generation; the previous one keeps working until retired.
pub fn rotate(
    pki: &Pki,
    root: bool,
    passphrase: Option<&Passphrase>,
) -> Result<RotateReport, PkiError> {
    let settings = pki.settings().clone();
    if settings.ca.single_tier && !root {
        return Err(PkiError::SingleTierRotate);
    }
    let layout = pki.layout();
    let mut inventory = crate::pki::recover::open_for_change(layout)?;
    let generations = inventory.generations()?;
    let previous = find_generation(&generations, settings.ca.generation)?;
    let next = generations.iter().map(|g| g.generation).max().unwrap_or(0) + 1;
    let now = crate::pki::time::now();
    let not_before = now - BACKDATE;
    let key_type = settings.ca.key_type;
    fsio::ensure_dir(&layout.generations_dir(), DirMode::Private)?;
    fsio::ensure_dir(&layout.ca_dir(next), DirMode::Private)?;

    let crl_next = now + settings.defaults.crl_lifetime.duration();
    let spec = |level: CaLevel,
                common_name: String,
                not_after: OffsetDateTime,
                path_len: u8,
                constraints| NewCa {
        layout,
        generation: next,
        level,
        common_name,
        key_type,
        not_before,
        not_after,
        path_len,
        constraints,
        passphrase,
        now,
        crl_next,
        distribution: &settings.ca.distribution,
    };
    // Loaded either way: it signs the new intermediate, or its lifetime
    // and constraints carry over to the new root.
    let prev_root = load_ca(
        pki,
        previous.root_generation,
        CaLevel::Root,
        previous.generation,
        passphrase,
    )?;
    let (root_generation, root_report, root_ca) = if root {
        let lifetime = prev_root.info.not_after - prev_root.info.not_before - BACKDATE;
        let made = make_ca(
            spec(
                CaLevel::Root,
                format!("{} Root G{next}", settings.ca.name),
                now + lifetime,
                if settings.ca.single_tier { 0 } else { 1 },
                constraints_of(&prev_root.info),
            ),
            None,
        )?;
        let ca = load_ca(pki, next, CaLevel::Root, next, passphrase)?;
        (next, Some(made.info), ca)
    } else {
        (previous.root_generation, None, prev_root)
    };
    let intermediate = if settings.ca.single_tier {
        None
    } else {
        let made = make_ca(
            spec(
                CaLevel::Intermediate,
                format!("{} Intermediate G{next}", settings.ca.name),
                root_ca.info.not_after,
                0,
                constraints_of(&root_ca.info),
            ),
            Some((&root_ca.issuer()?, root_ca.files)),
        )?;
        Some(made.info)
    };

    inventory.add_generation(&Generation {
        generation: next,
        root_generation,
        single_tier: settings.ca.single_tier,
        created_at: now,
        retired_at: None,
        intermediate_serial: intermediate.as_ref().map(|i| i.serial.to_string()),
        intermediate_revoked_at: None,
    })?;
    let mut new_settings = settings.clone();
    new_settings.ca.generation = next;
    new_settings.save(&layout.settings())?;
    crate::pki::publish::repair(pki, &inventory, &mut CaKeys::new(pki, passphrase), now)?;
    let event = AuditEvent::new(
        "ca.rotate",
        serde_json::json!({
            "generation": next,
            "previous_generation": previous.generation,
            "new_root": root,
            "root_serial": root_report.as_ref().map(|r| r.serial.to_string()),
            "intermediate_serial": intermediate.as_ref().map(|i| i.serial.to_string()),
        }),
    );
    inventory.queue_audit(&event.line())?;
    crate::pki::recover::flush_audit(layout, &inventory)?;
    Ok(RotateReport {
        generation: next,
        root: root_report,
        intermediate,
        previous: previous.generation,
    })
}
