//! `role grant NAME ROLE...`, `role revoke NAME ROLE...`,
//! `role list [--name N] [--role R]`.

use std::path::Path;

use serde::Serialize;

use crate::cli::{RoleChangeArgs, RoleCommand, RoleListArgs};
use crate::error::Error;
use crate::output::{Printer, table};
use crate::pki::Pki;
use crate::pki::inventory::RoleChange;
use crate::pki::model::Role;
use crate::pki::roles::{self, RoleReport};

/// `role grant|revoke --json`.
#[derive(Serialize)]
struct RoleChangeJson {
    name: String,
    /// `grant` or `revoke`.
    action: &'static str,
    /// False when every role asked for already was so.
    changed: bool,
    /// The roles granted (or taken away) now.
    changed_roles: Vec<String>,
    /// The roles already held (grant) or not held (revoke).
    unchanged_roles: Vec<String>,
    /// Every role the name holds now.
    roles: Vec<String>,
}

/// One element of `role list --json`.
#[derive(Serialize)]
struct NameRolesJson {
    name: String,
    roles: Vec<String>,
    /// The name's current certificate.
    serial: Option<String>,
    /// valid, revoked or expired.
    status: Option<String>,
}

pub fn run(dir: &Path, command: RoleCommand, printer: Printer) -> Result<(), Error> {
    match command {
        RoleCommand::Grant(args) => change(dir, args, RoleChange::Grant, printer),
        RoleCommand::Revoke(args) => change(dir, args, RoleChange::Revoke, printer),
        RoleCommand::List(args) => list(dir, args, printer),
    }
}

fn change(
    dir: &Path,
    args: RoleChangeArgs,
    change: RoleChange,
    printer: Printer,
) -> Result<(), Error> {
    let pki = Pki::open_strict(dir)?;
    let report = roles::change(&pki, &args.name, change, &args.roles)?;
    let json = RoleChangeJson {
        name: report.name.to_string(),
        action: match change {
            RoleChange::Grant => "grant",
            RoleChange::Revoke => "revoke",
        },
        changed: !report.changed.is_empty(),
        changed_roles: strings(&report.changed),
        unchanged_roles: strings(&report.unchanged),
        roles: strings(&report.roles),
    };
    printer.emit(&json, || human(&report))
}

fn human(report: &RoleReport) -> String {
    let (done, already) = match report.change {
        RoleChange::Grant => ("granted to", "already held"),
        RoleChange::Revoke => ("revoked from", "not held"),
    };
    let name = &report.name;
    let mut out = String::new();
    if !report.changed.is_empty() {
        out.push_str(&format!("{} {done} {name}\n", joined(&report.changed)));
    }
    if !report.unchanged.is_empty() {
        let it = if report.unchanged.len() == 1 {
            "it"
        } else {
            "them"
        };
        out.push_str(&format!(
            "{}: {already} by {name}; nothing changed for {it}\n",
            joined(&report.unchanged)
        ));
    }
    out.push_str(&format!("{name} holds: {}\n", joined(&report.roles)));
    out
}

fn list(dir: &Path, args: RoleListArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open(dir)?;
    let names = roles::list(&pki, args.name.as_ref(), args.role.as_ref())?;
    let json: Vec<NameRolesJson> = names
        .iter()
        .map(|n| NameRolesJson {
            name: n.name.to_string(),
            roles: strings(&n.roles),
            serial: n.serial.as_ref().map(ToString::to_string),
            status: n.status.map(|s| s.to_string()),
        })
        .collect();
    printer.emit(&json, || {
        if json.is_empty() {
            return "no name holds a role\n".into();
        }
        let rows: Vec<Vec<String>> = json
            .iter()
            .map(|n| {
                vec![
                    n.name.clone(),
                    n.status.clone().unwrap_or_else(|| "-".into()),
                    if n.roles.is_empty() {
                        "-".into()
                    } else {
                        n.roles.join(", ")
                    },
                ]
            })
            .collect();
        table::table(&["NAME", "STATUS", "ROLES"], &rows)
    })
}

fn strings(roles: &[Role]) -> Vec<String> {
    roles.iter().map(ToString::to_string).collect()
}

fn joined(roles: &[Role]) -> String {
    if roles.is_empty() {
        "no roles".into()
    } else {
        roles
            .iter()
            .map(Role::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}
