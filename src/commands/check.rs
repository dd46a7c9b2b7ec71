//! `check [--warn DUR]`: the CI gate.

use std::path::Path;

use serde::Serialize;

use crate::cli::CheckArgs;
use crate::error::Error;
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
struct CheckJson {
    ok: bool,
    warn: String,
    checked: usize,
    findings: Vec<FindingJson>,
}

pub fn run(dir: &Path, args: CheckArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open(dir)?;
    let now = crate::pki::time::now();
    let report = expiry::check(&pki, args.warn, now)?;
    let json = CheckJson {
        ok: report.findings.is_empty(),
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
        if json.findings.is_empty() {
            return format!(
                "ok: nothing of {} checked expires within {}\n",
                json.checked, json.warn
            );
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
        table::table(&["KIND", "WHAT", "STATE", "DEADLINE", "FIX"], &rows)
    })?;
    if report.findings.is_empty() {
        Ok(())
    } else {
        let first = &report.findings[0];
        Err(Error::CheckFailed {
            message: format!(
                "{} finding(s) within {}; first: {} {} {} {}",
                report.findings.len(),
                report.window,
                first.subject.as_str(),
                first.what,
                if first.past { "expired" } else { "expires" },
                crate::pki::time::rfc3339(first.deadline)
            ),
            hint: Some(format!("run `{}`", first.fix)),
        })
    }
}
