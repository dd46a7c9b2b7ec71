//! `role grant|revoke|list`: the roles an inventory name holds, which the
//! gateway reads from its snapshot and applies within a second.
//!
//! Roles belong to the name, not to one certificate, and only while the
//! name's current certificate is good:
//!
//! - `rotate` keeps them (the rotation leaves the `roles` table alone);
//! - revoking the name's current certificate removes them, in the
//!   revocation's own transaction (journal.rs), and `role grant` on such a
//!   name is refused, so issuing the name again starts with exactly its
//!   `--role` list (an issue also replaces whatever the name held, for
//!   inventories written before this rule);
//! - the snapshot gives roles to the name's current, unrevoked certificate
//!   only, never to a certificate rotated away.
//!
//! A change is one transaction under the PKI lock, opened through
//! [`open_for_change`] like every writer, with its audit line in the same
//! transaction; a change that changes nothing writes nothing.

use crate::pki::audit::AuditEvent;
use crate::pki::inventory::{Inventory, RoleChange};
use crate::pki::model::{CertName, Role, Serial, Status};
use crate::pki::recover::{self, open_for_change};
use crate::pki::{Pki, PkiError};

/// What `role grant` or `role revoke` did.
#[derive(Debug)]
pub struct RoleReport {
    /// The name.
    pub name: CertName,
    /// Grant or revoke.
    pub change: RoleChange,
    /// The roles that changed (granted, or taken away), sorted.
    pub changed: Vec<Role>,
    /// The roles asked for that were already so (held, or not held).
    pub unchanged: Vec<Role>,
    /// Every role the name holds now, sorted.
    pub roles: Vec<Role>,
}

/// One name's roles, for `role list`.
#[derive(Debug)]
pub struct NameRoles {
    /// The name.
    pub name: CertName,
    /// Its roles, sorted.
    pub roles: Vec<Role>,
    /// Its current certificate's serial.
    pub serial: Option<Serial>,
    /// Its current certificate's status.
    pub status: Option<Status>,
}

/// Grants `roles` to `name` (or takes them away), audited, in one
/// transaction. The name must have a current certificate; a grant also
/// needs it unrevoked.
pub fn change(
    pki: &Pki,
    name: &CertName,
    change: RoleChange,
    roles: &[Role],
) -> Result<RoleReport, PkiError> {
    let mut asked = roles.to_vec();
    asked.sort();
    asked.dedup();
    let mut inventory = open_for_change(pki.layout())?;
    let current = inventory
        .current(name)?
        .ok_or_else(|| PkiError::UnknownName(name.clone()))?;
    if change == RoleChange::Grant && current.revoked_at.is_some() {
        return Err(PkiError::GrantToRevoked {
            name: name.clone(),
            serial: current.serial,
        });
    }
    let action = match change {
        RoleChange::Grant => "role.grant",
        RoleChange::Revoke => "role.revoke",
    };
    let changed = inventory.change_roles(name, change, &asked, |changed| {
        let mut event = AuditEvent::new(
            action,
            serde_json::json!({
                "roles": changed.iter().map(Role::as_str).collect::<Vec<_>>(),
            }),
        );
        event.name = Some(name.as_str());
        event.serial = Some(current.serial.as_str());
        event.fingerprint_sha256 = Some(current.fingerprint.as_str());
        event.line()
    })?;
    recover::flush_audit(pki.layout(), &inventory)?;
    let unchanged = asked.into_iter().filter(|r| !changed.contains(r)).collect();
    let roles = held(&inventory, name)?;
    Ok(RoleReport {
        name: name.clone(),
        change,
        changed,
        unchanged,
        roles,
    })
}

/// The names holding roles, optionally only `name` (listed even with no
/// roles; unknown: an error) and only names holding `role`.
pub fn list(
    pki: &Pki,
    name: Option<&CertName>,
    role: Option<&Role>,
) -> Result<Vec<NameRoles>, PkiError> {
    let inventory = Inventory::open_for_read(pki.layout())?;
    let now = crate::pki::time::now();
    let mut holders = inventory.role_holders(name, role)?;
    if let Some(name) = name {
        if inventory.current(name)?.is_none() {
            return Err(PkiError::UnknownName(name.clone()));
        }
        if role.is_none() {
            holders.entry(name.to_string()).or_default();
        }
    }
    holders
        .into_iter()
        .map(|(text, roles)| {
            let name: CertName = text.parse().map_err(|source| {
                PkiError::from(
                    inventory.corrupt(crate::pki::inventory::Corruption::BadValue {
                        what: "role name",
                        value: text.clone(),
                        source,
                    }),
                )
            })?;
            let current = inventory.current(&name)?;
            Ok(NameRoles {
                serial: current.as_ref().map(|r| r.serial.clone()),
                status: current.as_ref().map(|r| r.status(now)),
                name,
                roles,
            })
        })
        .collect()
}

fn held(inventory: &Inventory, name: &CertName) -> Result<Vec<Role>, PkiError> {
    Ok(inventory
        .role_holders(Some(name), None)?
        .into_values()
        .next()
        .unwrap_or_default())
}
