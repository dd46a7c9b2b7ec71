//! CRLs and what is published from them: signing a CRL, re-signing one
//! CA level's CRL from the inventory, which levels relying parties need,
//! and deriving `trust.pem` and `crls.pem` (rewritten only where they
//! differ, so a crash's leftovers are repaired by the next run).

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, RevokedCertParams, SerialNumber,
};
use time::OffsetDateTime;

use super::{CaKeys, crl_number, files_generation, find_generation, issuing_crl_level};
use crate::pki::error::CaFileKind;
use crate::pki::fsio::{self, Mode};
use crate::pki::inspect::CertInfo;
use crate::pki::inventory::{Generation, Inventory, Revoked};
use crate::pki::layout::{CaLevel, Layout};
use crate::pki::model::RevocationReason;
use crate::pki::{Pki, PkiError};

/// Signs a CRL (PEM) for `issuer`, whose certificate is `issuer_info`.
pub fn sign_crl(
    issuer: &Issuer<'_, &KeyPair>,
    issuer_info: &CertInfo,
    number: u64,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    revoked: &[Revoked],
) -> Result<String, PkiError> {
    let revoked = revoked
        .iter()
        .map(|r| RevokedCertParams {
            serial_number: SerialNumber::from_slice(
                &hex::decode(r.serial.as_str()).unwrap_or_default(),
            ),
            revocation_time: r.revoked_at,
            reason_code: r
                .reason
                .as_deref()
                .and_then(|n| n.parse::<RevocationReason>().ok())
                .and_then(RevocationReason::crl_code),
            invalidity_date: None,
        })
        .collect();
    let ski = issuer_info
        .subject_key_id
        .as_deref()
        .and_then(|h| hex::decode(h).ok())
        .unwrap_or_default();
    let params = CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs: revoked,
        key_identifier_method: KeyIdMethod::PreSpecified(ski),
    };
    Ok(params.signed_by(issuer)?.pem()?)
}

/// One CRL that was (re)signed.
#[derive(Debug, Clone)]
pub struct SignedCrl {
    /// The CRL file.
    pub path: PathBuf,
    /// The issuing CA's subject.
    pub issuer: String,
    /// Its new CRL number.
    pub number: u64,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: OffsetDateTime,
    /// Number of entries.
    pub entries: usize,
}

/// Re-signs the CRL of one CA level of a generation from the inventory and
/// writes it atomically. Its number is the largest of the file's and the
/// inventory's last number plus one and the current Unix time, so numbers
/// only grow, also after the PKI is restored from an older backup. The
/// caller holds the inventory (and so the PKI lock) and publishes
/// `crls.pem` afterwards ([`crate::pki::publish::repair`]). The file is
/// noted for the `after_publish` hook ([`crate::pki::hooks::note`]).
pub fn resign_crl(
    pki: &Pki,
    inventory: &Inventory,
    generation: &Generation,
    level: CaLevel,
    keys: &mut CaKeys<'_>,
    now: OffsetDateTime,
) -> Result<SignedCrl, PkiError> {
    let files = files_generation(generation, level);
    let ca = keys.get(files, level, generation.generation)?;
    let path = pki.layout().ca_crl(files, level);
    let state = inventory.crl_state(files, level)?;
    let number = crl_number(&path)
        .unwrap_or(0)
        .max(state.number)
        .saturating_add(1)
        .max(u64::try_from(now.unix_timestamp()).unwrap_or(0));
    let revoked = crl_entries(inventory, generation, level, now, &path)?;
    let next_update = now + pki.settings().defaults.crl_lifetime.duration();
    let pem = sign_crl(&ca.issuer()?, &ca.info, number, now, next_update, &revoked)?;
    fsio::write_atomic(&path, pem.as_bytes(), Mode::Public)?;
    crate::pki::hooks::note([path.clone()]);
    inventory.record_crl(files, level, number, state.wanted)?;
    Ok(SignedCrl {
        path,
        issuer: ca.info.subject.clone(),
        number,
        this_update: now,
        next_update,
        entries: revoked.len(),
    })
}

/// What the CRL of one CA level must list at `now`, from the inventory: for
/// a root, the intermediates it revoked (retired generations) and, when
/// single-tier, the leaves it issued; for an intermediate, the leaves of
/// its generation. Expired certificates drop off (RFC 5280 section 3.3).
pub fn crl_entries(
    inventory: &Inventory,
    generation: &Generation,
    level: CaLevel,
    now: OffsetDateTime,
    path: &Path,
) -> Result<Vec<Revoked>, PkiError> {
    let files = files_generation(generation, level);
    let mut revoked = Vec::new();
    match level {
        CaLevel::Root => {
            for g in inventory.generations()? {
                if g.root_generation != files {
                    continue;
                }
                if let (Some(serial), Some(at)) =
                    (&g.intermediate_serial, g.intermediate_revoked_at)
                {
                    revoked.push(Revoked {
                        serial: serial
                            .parse()
                            .map_err(|source| PkiError::IntermediateSerial {
                                path: path.to_owned(),
                                source,
                            })?,
                        revoked_at: at,
                        reason: Some(RevocationReason::CessationOfOperation.as_str().to_owned()),
                    });
                }
                if g.single_tier {
                    revoked.extend(inventory.revoked_by(g.generation, now)?);
                }
            }
        }
        CaLevel::Intermediate => revoked.extend(inventory.revoked_by(generation.generation, now)?),
    }
    Ok(revoked)
}

/// The CA levels whose CRLs relying parties need now: every root and
/// intermediate of a generation that is not retired.
pub fn active_levels(generations: &[Generation]) -> Vec<(Generation, CaLevel)> {
    let mut out: Vec<(Generation, CaLevel)> = Vec::new();
    for g in generations.iter().filter(|g| g.retired_at.is_none()) {
        let root_listed = out
            .iter()
            .any(|(o, l)| *l == CaLevel::Root && o.root_generation == g.root_generation);
        if !root_listed {
            out.push((g.clone(), CaLevel::Root));
        }
        if !g.single_tier {
            out.push((g.clone(), CaLevel::Intermediate));
        }
    }
    out
}

/// Derives `trust.pem` (every root of a generation that is not retired)
/// and `crls.pem` (every CRL relying parties need, as the per-level files
/// hold them) and rewrites each, atomically, where it differs. Returns the
/// files it rewrote.
pub fn publish(layout: &Layout, inventory: &Inventory) -> Result<Vec<PathBuf>, PkiError> {
    let (trust, crls) = derived(layout, inventory)?;
    let mut written = Vec::new();
    // Written only where they differ: rerunning is free, and a file a crash
    // left stale is replaced.
    for (path, bytes) in [(layout.trust(), trust), (layout.crls(), crls)] {
        if fs::read(&path).ok().as_deref() != Some(bytes.as_bytes()) {
            fsio::write_atomic(&path, bytes.as_bytes(), Mode::Public)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// What `trust.pem` and `crls.pem` must hold, from the inventory's
/// generations and the per-level CA and CRL files.
pub fn derived(layout: &Layout, inventory: &Inventory) -> Result<(String, String), PkiError> {
    let generations = inventory.generations()?;
    let mut trust = String::new();
    let mut crls = String::new();
    for (g, level) in active_levels(&generations) {
        let files = files_generation(&g, level);
        if level == CaLevel::Root {
            let path = layout.ca_cert(files, CaLevel::Root);
            trust.push_str(&read_text(&path, CaFileKind::Cert)?);
        }
        let crl = layout.ca_crl(files, level);
        crls.push_str(&read_text(&crl, CaFileKind::Crl)?);
    }
    if trust.is_empty() {
        return Err(PkiError::NoActiveGeneration(layout.trust()));
    }
    Ok((trust, crls))
}

/// The CRL file that lists `record` once it is revoked.
pub fn crl_path_for(
    layout: &Layout,
    inventory: &Inventory,
    record: &crate::pki::inventory::Record,
) -> Result<PathBuf, PkiError> {
    let generation = find_generation(&inventory.generations()?, record.ca_generation)?;
    let level = issuing_crl_level(&generation);
    Ok(layout.ca_crl(files_generation(&generation, level), level))
}

fn read_text(path: &Path, what: CaFileKind) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::FileUnreadable {
        path: path.to_owned(),
        what,
        source,
    })
}
