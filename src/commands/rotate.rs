//! `rotate NAME|--all [--if-expiring-within DUR] [--revoke-previous]`.

use std::path::Path;

use serde::Serialize;

use crate::cli::RotateArgs;
use crate::commands::ca_passphrase;
use crate::error::Error;
use crate::output::json::CertJson;
use crate::output::{Printer, table};
use crate::pki::rotate::{self, RotateRequest};
use crate::pki::{Pki, ca};

#[derive(Serialize)]
struct RotatedJson {
    #[serde(flatten)]
    certificate: CertJson,
    previous_serial: String,
    previous_revoked: bool,
}

#[derive(Serialize)]
struct SkippedJson {
    name: String,
    serial: String,
    reason: String,
}

#[derive(Serialize)]
struct RunJson {
    rotated: Vec<RotatedJson>,
    skipped: Vec<SkippedJson>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum OneJson {
    Rotated(Box<RotatedJson>),
    Skipped {
        name: String,
        serial: String,
        rotated: bool,
        reason: String,
    },
}

pub fn run(dir: &Path, args: RotateArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open_strict(dir)?;
    let passphrase = ca_passphrase(&pki, args.passphrase.passphrase_file.as_deref())?;
    let issuing = ca::load_issuing_ca(&pki, passphrase.as_ref())?;
    let single = args.name.is_some();
    let report = rotate::rotate(
        &pki,
        &RotateRequest {
            name: args.name,
            if_expiring_within: args.if_expiring_within,
            revoke_previous: args.revoke_previous,
            csr: args.csr,
        },
        &issuing,
        passphrase.as_ref(),
    )?;
    let now = crate::pki::time::now();
    let layout = pki.layout();
    let rotated: Vec<RotatedJson> = report
        .rotated
        .iter()
        .map(|r| {
            let rec = &r.issued.record;
            RotatedJson {
                certificate: CertJson::new(rec, now, layout),
                previous_serial: r.previous.serial.to_string(),
                previous_revoked: r.previous_revoked,
            }
        })
        .collect();
    let skipped: Vec<SkippedJson> = report
        .skipped
        .iter()
        .map(|s| SkippedJson {
            name: s.record.name.to_string(),
            serial: s.record.serial.to_string(),
            reason: s.reason.clone(),
        })
        .collect();
    let human = || {
        let mut rows: Vec<Vec<String>> = rotated
            .iter()
            .map(|r| {
                vec![
                    r.certificate.name.clone(),
                    "rotated".into(),
                    format!(
                        "new serial {} until {}{}",
                        r.certificate.serial,
                        r.certificate.not_after,
                        if r.previous_revoked {
                            format!("; {} revoked (superseded)", r.previous_serial)
                        } else {
                            String::new()
                        }
                    ),
                ]
            })
            .collect();
        rows.extend(
            skipped
                .iter()
                .map(|s| vec![s.name.clone(), "skipped".into(), s.reason.clone()]),
        );
        if rows.is_empty() {
            return "no certificates to rotate\n".to_owned();
        }
        table::table(&["NAME", "RESULT", "DETAIL"], &rows)
    };
    if single {
        let text = human();
        let one = match (rotated.into_iter().next(), skipped.into_iter().next()) {
            (Some(r), _) => OneJson::Rotated(Box::new(r)),
            (None, Some(s)) => OneJson::Skipped {
                name: s.name,
                serial: s.serial,
                rotated: false,
                reason: s.reason,
            },
            (None, None) => return Ok(()),
        };
        return printer.emit(&one, || text);
    }
    let text = human();
    printer.emit(&RunJson { rotated, skipped }, || text)
}
