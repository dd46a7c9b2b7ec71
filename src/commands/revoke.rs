//! `revoke NAME|SERIAL [--reason R]`.

use std::path::Path;

use serde::Serialize;

use crate::cli::RevokeArgs;
use crate::commands::ca_passphrase;
use crate::error::Error;
use crate::output::json::CertJson;
use crate::output::{Printer, table};
use crate::pki::Pki;
use crate::pki::revoke;

#[derive(Serialize)]
struct RevokeJson {
    changed: bool,
    certificate: CertJson,
    crl_path: Option<String>,
    crl_number: Option<u64>,
}

pub fn run(dir: &Path, args: RevokeArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open_strict(dir)?;
    let passphrase = ca_passphrase(&pki, args.passphrase.passphrase_file.as_deref())?;
    let report = revoke::revoke(&pki, &args.target, args.reason, passphrase.as_ref())?;
    let now = crate::pki::time::now();
    let layout = pki.layout();
    let r = &report.record;
    let json = RevokeJson {
        changed: report.changed,
        certificate: CertJson::new(r, now, layout),
        crl_path: report.crl.as_ref().map(|c| c.path.display().to_string()),
        crl_number: report.crl.as_ref().map(|c| c.number),
    };
    printer.emit(&json, || {
        let at = r
            .revoked_at
            .map(crate::pki::time::rfc3339)
            .unwrap_or_default();
        let reason = r.revocation_reason.as_deref().unwrap_or("unspecified");
        match &report.crl {
            Some(crl) => table::details(&[
                ("revoked", format!("{} (serial {})", r.name, r.serial)),
                ("reason", reason.to_owned()),
                ("at", at),
                (
                    "crl",
                    format!(
                        "{} (number {}, next update {})",
                        crl.path.display(),
                        crl.number,
                        crate::pki::time::rfc3339(crl.next_update)
                    ),
                ),
                ("all crls", layout.crls().display().to_string()),
            ]),
            None => format!(
                "{} (serial {}) was already revoked on {at} for {reason}; nothing changed\n",
                r.name, r.serial
            ),
        }
    })
}
