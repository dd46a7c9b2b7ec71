//! `ca retire GEN`: takes a CA generation out of service (its intermediate
//! revoked in the root's CRL, its root out of trust.pem once unused),
//! refused while live leaves depend on it unless forced.

use super::{CaKeys, find_generation};
use crate::pki::audit::AuditEvent;
use crate::pki::keys::Passphrase;
use crate::pki::layout::CaLevel;
use crate::pki::{Pki, PkiError};

/// What `ca retire` did.
#[derive(Debug)]
pub struct RetireReport {
    /// The retired generation.
    pub generation: u32,
    /// True when its root left trust.pem.
    pub root_removed: bool,
    /// True when its intermediate was revoked in the root's CRL.
    pub intermediate_revoked: bool,
    /// Live leaves it still had (only with `--force`).
    pub forced_leaves: Vec<crate::pki::inventory::Record>,
}

/// `ca retire GEN`: takes a generation out of service. Its intermediate is
/// revoked in the root's CRL, and its root leaves trust.pem when no active
/// generation still uses it. Refused for the current generation, and while
/// unexpired, unrevoked leaves depend on it (unless `force`).
pub fn retire(
    pki: &Pki,
    generation: u32,
    force: bool,
    passphrase: Option<&Passphrase>,
) -> Result<RetireReport, PkiError> {
    let layout = pki.layout();
    let mut inventory = crate::pki::recover::open_for_change(layout)?;
    let generations = inventory.generations()?;
    let target = find_generation(&generations, generation)?;
    if generation == pki.settings().ca.generation {
        return Err(PkiError::RetireCurrent(generation));
    }
    if target.retired_at.is_some() {
        return Err(PkiError::AlreadyRetired(generation));
    }
    let now = crate::pki::time::now();
    let live = inventory.live_from(generation, now)?;
    if !live.is_empty() && !force {
        return Err(PkiError::GenerationInUse {
            generation,
            leaves: live
                .iter()
                .map(|r| format!("{} ({})", r.name, r.serial))
                .collect(),
        });
    }
    inventory.retire_generation(generation, now, (target.root_generation, CaLevel::Root))?;
    let generations = inventory.generations()?;
    let root_still_used = generations
        .iter()
        .any(|g| g.retired_at.is_none() && g.root_generation == target.root_generation);
    let intermediate_revoked = target.intermediate_serial.is_some() && root_still_used;
    crate::pki::publish::repair(pki, &inventory, &mut CaKeys::new(pki, passphrase), now)?;
    let event = AuditEvent::new(
        "ca.retire",
        serde_json::json!({
            "generation": generation,
            "forced": force,
            "live_leaves": live.iter().map(|r| r.serial.to_string()).collect::<Vec<_>>(),
            "root_removed_from_trust": !root_still_used,
            "intermediate_revoked": intermediate_revoked,
        }),
    );
    inventory.queue_audit(&event.line())?;
    crate::pki::recover::flush_audit(layout, &inventory)?;
    Ok(RetireReport {
        generation,
        root_removed: !root_still_used,
        intermediate_revoked,
        forced_leaves: if force { live } else { Vec::new() },
    })
}
