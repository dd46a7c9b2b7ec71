//! The second PKI invariant: every published file (each CA level's CRL,
//! `crls.pem`, `trust.pem`) is derived from the inventory and the CA
//! generations, so that what a killed command left unpublished is found
//! and put right.
//!
//! - [`repair`] runs at the end of every command that holds a CA key: it
//!   re-signs each CRL that is behind the inventory (found from the
//!   journal's counters and the file's CRL number, without parsing the
//!   entries) and rewrites `crls.pem` and `trust.pem` where they differ.
//!   Rerunning `revoke` therefore finishes a revocation a crash left
//!   unpublished. What it writes is noted for the `after_publish` hook
//!   (hooks.rs), so a repair runs the hook as any publication does.
//! - [`drift`] is `check`'s full comparison, for a reader without the key:
//!   sets of serials, not bytes (a CRL's bytes change with every signing).

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use time::OffsetDateTime;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::pki::ca::{self, CaKeys, SignedCrl};
use crate::pki::hooks;
use crate::pki::inventory::{Generation, Inventory};
use crate::pki::keys::SecretKey;
use crate::pki::layout::{CaLevel, Layout};
use crate::pki::{Pki, PkiError};

/// One disagreement between the PKI directory and the inventory.
#[derive(Debug, Clone)]
pub struct Drift {
    /// What is wrong, naming the file.
    pub what: String,
    /// The command that puts it right.
    pub fix: String,
}

/// Re-signs every active CRL that is behind the inventory and rewrites
/// `crls.pem` and `trust.pem` where they differ from what the inventory
/// and the CA files make. Returns the CRLs it signed. Every file written
/// is noted for the `after_publish` hook ([`hooks::note`]; the CRLs by
/// [`ca::resign_crl`]), which the command runs once it is done.
pub fn repair(
    pki: &Pki,
    inventory: &Inventory,
    keys: &mut CaKeys<'_>,
    now: OffsetDateTime,
) -> Result<Vec<SignedCrl>, PkiError> {
    let mut signed = Vec::new();
    for (generation, level) in ca::active_levels(&inventory.generations()?) {
        if behind(pki.layout(), inventory, &generation, level)?.is_some() {
            signed.push(ca::resign_crl(
                pki,
                inventory,
                &generation,
                level,
                keys,
                now,
            )?);
        }
    }
    hooks::note(ca::publish(pki.layout(), inventory)?);
    Ok(signed)
}

/// Why a level's CRL must be signed again, if it must: the file is missing
/// or unreadable, a revocation was recorded after it was signed, or its
/// number is not the one last recorded (an older file put back).
fn behind(
    layout: &Layout,
    inventory: &Inventory,
    generation: &Generation,
    level: CaLevel,
) -> Result<Option<String>, PkiError> {
    let files = ca::files_generation(generation, level);
    let state = inventory.crl_state(files, level)?;
    let path = layout.ca_crl(files, level);
    let shown = path.display();
    Ok(match ca::crl_number(&path) {
        Err(e) => Some(format!("{e}")),
        Ok(_) if state.signed < state.wanted => Some(format!(
            "{shown} lacks {} revocation(s) the inventory records",
            state.wanted - state.signed
        )),
        Ok(n) if state.number != 0 && n != state.number => Some(format!(
            "{shown} has CRL number {n}; the inventory's last is {}",
            state.number
        )),
        Ok(_) => None,
    })
}

/// Everything that disagrees: CRLs behind the inventory or missing a
/// revoked serial, `crls.pem` or `trust.pem` not derived from the current
/// files, unfinished changes, leftover temp or staging files, and
/// certificate directories the inventory does not account for or whose key
/// does not match the certificate.
pub fn drift(
    pki: &Pki,
    inventory: &Inventory,
    now: OffsetDateTime,
) -> Result<Vec<Drift>, PkiError> {
    let layout = pki.layout();
    let mut out = Vec::new();
    let crl_fix = "run `mtlsctl crl` (re-signs every CRL and republishes crls.pem)";
    for (generation, level) in ca::active_levels(&inventory.generations()?) {
        if let Some(why) = behind(layout, inventory, &generation, level)? {
            out.push(Drift {
                what: why,
                fix: crl_fix.into(),
            });
            continue;
        }
        let files = ca::files_generation(&generation, level);
        let path = layout.ca_crl(files, level);
        let listed = listed_serials(&path)?;
        for entry in ca::crl_entries(inventory, &generation, level, now, &path)? {
            if !listed.contains(&entry.serial.to_be_bytes()) {
                out.push(Drift {
                    what: format!(
                        "{}: revoked serial {} is not listed",
                        path.display(),
                        entry.serial
                    ),
                    fix: crl_fix.into(),
                });
            }
        }
    }
    let (trust, crls) = ca::derived(layout, inventory)?;
    for (path, bytes, what) in [
        (
            layout.trust(),
            trust,
            "the roots of the CA generations in service",
        ),
        (layout.crls(), crls, "the per-CA CRLs under ca/"),
    ] {
        if fs::read(&path).ok().as_deref() != Some(bytes.as_bytes()) {
            out.push(Drift {
                what: format!("{} differs from {what}", path.display()),
                fix: crl_fix.into(),
            });
        }
    }
    let finish = "run any command that changes the PKI (e.g. `mtlsctl crl`): it finishes or rolls back what was interrupted";
    for pending in inventory.pending()? {
        out.push(Drift {
            what: format!(
                "an interrupted issue or rotate of {} (serial {}) is unfinished",
                pending.name, pending.serial
            ),
            fix: finish.into(),
        });
    }
    if !inventory.audit_outbox()?.is_empty() {
        out.push(Drift {
            what: format!(
                "{} lacks committed audit lines",
                layout.audit_log().display()
            ),
            fix: finish.into(),
        });
    }
    for leftover in crate::pki::recover::leftovers(layout, true) {
        out.push(Drift {
            what: format!("{} was left by an interrupted mtlsctl", leftover.display()),
            fix: finish.into(),
        });
    }
    out.extend(leaf_dirs(layout, inventory)?);
    Ok(out)
}

/// The serials a CRL file lists, as big-endian bytes without leading zeros.
fn listed_serials(path: &Path) -> Result<HashSet<Vec<u8>>, PkiError> {
    let der = ca::read_crl(path)?;
    let (_, crl) = CertificateRevocationList::from_der(der.as_ref()).map_err(|source| {
        PkiError::CrlMalformed {
            path: path.to_owned(),
            source,
        }
    })?;
    Ok(crl
        .iter_revoked_certificates()
        .map(|r| {
            let raw = r.raw_serial();
            let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
            raw[start..].to_vec()
        })
        .collect())
}

/// Each `certs/NAME/`: its certificate is the inventory's current one for
/// NAME, and its key (when there is one) belongs to that certificate.
fn leaf_dirs(layout: &Layout, inventory: &Inventory) -> Result<Vec<Drift>, PkiError> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(layout.certs_dir()) else {
        return Ok(out);
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let Some(name) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<crate::pki::model::CertName>().ok())
        else {
            out.push(Drift {
                what: format!("{} is not a certificate name mtlsctl makes", dir.display()),
                fix: "move it out of the PKI directory".into(),
            });
            continue;
        };
        let cert_path = layout.leaf_cert(&name);
        let Ok(der) = ca::read_cert(&cert_path) else {
            out.push(Drift {
                what: format!("{} is missing or unreadable", cert_path.display()),
                fix: format!("run `mtlsctl rotate {name}` or restore the file"),
            });
            continue;
        };
        let Ok(info) = crate::pki::inspect::cert_info(der.as_ref()) else {
            out.push(Drift {
                what: format!("{} is not a certificate", cert_path.display()),
                fix: format!("run `mtlsctl rotate {name}` or restore the file"),
            });
            continue;
        };
        match inventory.current(&name)? {
            Some(record) if record.serial == info.serial => {}
            Some(record) => out.push(Drift {
                what: format!(
                    "{} holds serial {}, but the inventory's current certificate for {name} is {}",
                    cert_path.display(),
                    info.serial,
                    record.serial
                ),
                fix: format!("run `mtlsctl rotate {name}` to replace the files"),
            }),
            None => out.push(Drift {
                what: format!(
                    "{} (serial {}) is not in the inventory",
                    cert_path.display(),
                    info.serial
                ),
                fix: "restore inventory.db from a backup, or remove the directory".into(),
            }),
        }
        let key_path = layout.leaf_key(&name);
        if let Ok(pem) = fs::read(&key_path).map(zeroize::Zeroizing::new)
            && !key_matches(&pem, der.as_ref())
        {
            out.push(Drift {
                what: format!(
                    "{} does not belong to {}",
                    key_path.display(),
                    cert_path.display()
                ),
                fix: format!("run `mtlsctl rotate {name}` for a new key and certificate"),
            });
        }
    }
    Ok(out)
}

/// True when the PKCS#8 key in `pem` is the private half of the
/// certificate's public key.
fn key_matches(pem: &[u8], cert_der: &[u8]) -> bool {
    let Ok(key) = SecretKey::from_pem(pem, None) else {
        return false;
    };
    let Ok((_, cert)) = x509_parser::certificate::X509Certificate::from_der(cert_der) else {
        return false;
    };
    key.pair().public_key_raw() == &*cert.public_key().subject_public_key.data
}
