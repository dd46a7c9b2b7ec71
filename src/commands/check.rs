//! `check [--warn DUR]`: the CI gate.

use std::path::Path;

use serde::Serialize;

use crate::cli::CheckArgs;
use crate::error::{CheckFailure, Error};
use crate::output::{Printer, table};
use crate::pki::Pki;
use crate::pki::expiry;

#[derive(Serialize)]
struct FindingJson {
    kind: &'static str,
    what: String,
    serial: Option<String>,
    deadline: String,
    state: &'static str,
    fix: String,
}

#[derive(Serialize)]
struct ProblemJson {
    what: String,
    fix: String,
}

#[derive(Serialize)]
struct CheckJson {
    ok: bool,
    warn: String,
    checked: usize,
    findings: Vec<FindingJson>,
    problems: Vec<ProblemJson>,
}

pub fn run(dir: &Path, args: CheckArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open(dir)?;
    let now = crate::pki::time::now();
    let report = expiry::check(&pki, args.warn, now)?;
    let json = CheckJson {
        ok: report.findings.is_empty() && report.drift.is_empty(),
        problems: report
            .drift
            .iter()
            .map(|d| ProblemJson {
                what: d.what.clone(),
                fix: d.fix.clone(),
            })
            .collect(),
        warn: report.window.to_string(),
        checked: report.checked,
        findings: report
            .findings
            .iter()
            .map(|f| FindingJson {
                kind: f.subject.as_str(),
                what: f.what.clone(),
                serial: f.serial.clone(),
                deadline: crate::pki::time::rfc3339(f.deadline),
                state: if f.past { "expired" } else { "expiring" },
                fix: f.fix.clone(),
            })
            .collect(),
    };
    printer.emit(&json, || {
        let mut text: String = report
            .drift
            .iter()
            .map(|d| format!("PROBLEM: {}\n  fix: {}\n", d.what, d.fix))
            .collect();
        if json.findings.is_empty() {
            if text.is_empty() {
                text = format!(
                    "ok: nothing of {} checked expires within {}, and the published files agree with the inventory\n",
                    json.checked, json.warn
                );
            }
            return text;
        }
        let rows: Vec<Vec<String>> = report
            .findings
            .iter()
            .map(|f| {
                vec![
                    f.subject.as_str().to_owned(),
                    f.what.clone(),
                    if f.past {
                        "EXPIRED".into()
                    } else {
                        "expiring".into()
                    },
                    format!(
                        "{} ({})",
                        crate::pki::time::rfc3339(f.deadline),
                        crate::pki::time::until(now, f.deadline)
                    ),
                    f.fix.clone(),
                ]
            })
            .collect();
        text + &table::table(&["KIND", "WHAT", "STATE", "DEADLINE", "FIX"], &rows)
    })?;
    let count = report.drift.len();
    if let Some(first) = report.drift.into_iter().next() {
        return Err(CheckFailure::Drift { count, first }.into());
    }
    let count = report.findings.len();
    match report.findings.into_iter().next() {
        None => Ok(()),
        Some(first) => Err(CheckFailure::Expiring {
            count,
            window: report.window,
            first,
        }
        .into()),
    }
}
