//! `check --warn DUR`: the CI gate. Lists everything that has expired or
//! will within the window: current leaves (not revoked), the CAs of every
//! generation still in service, and every CRL's nextUpdate; and everything
//! in the PKI directory that disagrees with the inventory
//! ([`publish::drift`]).

use time::OffsetDateTime;

use crate::pki::ca::{self, files_generation};
use crate::pki::inspect::{self, Inspected};
use crate::pki::inventory::Inventory;
use crate::pki::layout::CaLevel;
use crate::pki::model::Validity;
use crate::pki::publish::{self, Drift};
use crate::pki::{Pki, PkiError};

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A leaf certificate.
    Leaf,
    /// A root or intermediate CA.
    Ca,
    /// A CRL's nextUpdate.
    Crl,
}

impl Subject {
    /// JSON/table spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Leaf => "leaf",
            Subject::Ca => "ca",
            Subject::Crl => "crl",
        }
    }
}

/// One thing that needs attention.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Leaf, CA or CRL.
    pub subject: Subject,
    /// The certificate name, CA subject, or CRL file.
    pub what: String,
    /// The serial, for certificates.
    pub serial: Option<String>,
    /// The deadline (notAfter, or nextUpdate).
    pub deadline: OffsetDateTime,
    /// True when already past.
    pub past: bool,
    /// What to run.
    pub fix: String,
}

/// Everything checked, and what was found.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The window.
    pub window: Validity,
    /// Leaves, CAs and CRLs looked at.
    pub checked: usize,
    /// Problems, soonest first.
    pub findings: Vec<Finding>,
    /// Where the PKI directory disagrees with the inventory (published
    /// files, unfinished changes, stray files, keys that do not match).
    pub drift: Vec<Drift>,
}

/// Runs the check at `now`.
pub fn check(pki: &Pki, window: Validity, now: OffsetDateTime) -> Result<CheckReport, PkiError> {
    let horizon = now + window.duration();
    let inventory = Inventory::open_for_read(pki.layout())?;
    let mut findings = Vec::new();
    let mut checked = 0;
    for record in inventory
        .all(None)?
        .into_iter()
        .filter(|r| r.current && r.revoked_at.is_none())
    {
        checked += 1;
        if record.not_after <= horizon {
            findings.push(Finding {
                subject: Subject::Leaf,
                what: record.name.to_string(),
                serial: Some(record.serial.to_string()),
                deadline: record.not_after,
                past: record.not_after < now,
                fix: if record.key_held {
                    format!("mtlsctl rotate {}", record.name)
                } else {
                    format!("mtlsctl rotate {} --csr NEW.csr", record.name)
                },
            });
        }
    }
    let generations = inventory.generations()?;
    let layout = pki.layout();
    for (g, level) in ca::active_levels(&generations) {
        let files = files_generation(&g, level);
        let (_, info) = ca::read_cert_info(&layout.ca_cert(files, level))?;
        checked += 1;
        if info.not_after <= horizon {
            findings.push(Finding {
                subject: Subject::Ca,
                what: info.subject.clone(),
                serial: Some(info.serial.to_string()),
                deadline: info.not_after,
                past: info.not_after < now,
                fix: if level == CaLevel::Root {
                    "mtlsctl ca rotate --root".into()
                } else {
                    "mtlsctl ca rotate".into()
                },
            });
        }
        let crl_path = layout.ca_crl(files, level);
        // A missing or damaged CRL is a drift finding (publish.rs).
        let Ok(bytes) = std::fs::read(&crl_path) else {
            continue;
        };
        let Ok(Inspected::Crls(list)) = inspect::inspect(&bytes, None) else {
            continue;
        };
        // One CRL per file (ca/N/LEVEL.crl).
        let Some(crl) = list.into_iter().next() else {
            continue;
        };
        checked += 1;
        let next = crl.next_update.unwrap_or(crl.this_update);
        if next <= horizon {
            findings.push(Finding {
                subject: Subject::Crl,
                what: crl_path.display().to_string(),
                serial: None,
                deadline: next,
                past: next < now,
                fix: "mtlsctl crl".into(),
            });
        }
    }
    findings.sort_by_key(|f| f.deadline);
    let drift = publish::drift(pki, &inventory, now)?;
    Ok(CheckReport {
        window,
        checked,
        findings,
        drift,
    })
}
