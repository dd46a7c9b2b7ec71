//! `verify CERT [--chain FILE] [--explain] [--usage client|server]`.

use std::path::Path;

use serde::Serialize;

use crate::cli::{UsageArg, VerifyArgs};
use crate::error::{CheckFailure, Error};
use crate::output::{Printer, table};
use crate::pki::Pki;
use crate::pki::snapshot::{Refusal, Usage};
use crate::pki::verify;

#[derive(Serialize)]
struct CheckJson {
    check: &'static str,
    ok: bool,
    detail: String,
}

#[derive(Serialize)]
struct VerifyJson {
    ok: bool,
    reason: Option<&'static str>,
    message: String,
    subject: String,
    issuer: String,
    serial: String,
    fingerprint_sha256: String,
    not_after: String,
    checks: Vec<CheckJson>,
}

pub fn run(dir: &Path, args: VerifyArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open(dir)?;
    let usage = match args.usage {
        UsageArg::Client => Usage::Client,
        UsageArg::Server => Usage::Server,
    };
    let now = crate::pki::time::now();
    let verdict = verify::verify(&pki, &args.cert, args.chain.as_deref(), usage, now)?;
    let json = VerifyJson {
        ok: verdict.refusal.is_none(),
        reason: verdict.refusal.map(Refusal::as_str),
        message: verdict.message.clone(),
        subject: verdict.cert.subject.clone(),
        issuer: verdict.cert.issuer.clone(),
        serial: verdict.cert.serial.to_string(),
        fingerprint_sha256: verdict.cert.fingerprint.to_string(),
        not_after: crate::pki::time::rfc3339(verdict.cert.not_after),
        checks: verdict
            .checks
            .iter()
            .map(|c| CheckJson {
                check: c.check,
                ok: c.ok,
                detail: c.detail.clone(),
            })
            .collect(),
    };
    printer.emit(&json, || {
        if args.explain {
            let rows: Vec<Vec<String>> = verdict
                .checks
                .iter()
                .map(|c| {
                    vec![
                        c.check.to_owned(),
                        if c.ok { "ok".into() } else { "FAIL".into() },
                        c.detail.clone(),
                    ]
                })
                .collect();
            let mut out = table::table(&["CHECK", "RESULT", "DETAIL"], &rows);
            out.push_str(&format!("\n{}\n", verdict_line(&verdict)));
            out
        } else {
            format!("{}\n", verdict_line(&verdict))
        }
    })?;
    match verdict.refusal {
        None => Ok(()),
        Some(refusal) => Err(CheckFailure::Refused {
            cert: args.cert.clone(),
            refusal,
            detail: verdict.message,
        }
        .into()),
    }
}

fn verdict_line(v: &verify::Verdict) -> String {
    match v.refusal {
        None => v.message.clone(),
        Some(r) => format!("REFUSED ({r}): {}", v.message),
    }
}
