//! [`Snapshot::load`], in named steps: the roots, every CA certificate of
//! every generation, the CRLs (each verified against its CA and reduced to
//! a set), the anchored intermediates, the inventory's names, roles and
//! revocations, and the credential the caller serves with. Names and roles
//! are kept for unrevoked, unexpired certificates only, and roles for a
//! name's current certificate only (`Inventory::live_identities`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use ::time::OffsetDateTime;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use super::ids::{CaKey, SerialKey};
use super::server::Serving;
use super::{CaInfo, CrlProblem, CrlState, Snapshot, SnapshotError};
use crate::pki::inventory::Inventory;
use crate::pki::layout::{CaLevel, Layout};
use crate::pki::time::from_unix;

/// Every CA certificate the PKI holds.
struct Cas {
    info: HashMap<CaKey, CaInfo>,
    ders: HashMap<CaKey, CertificateDer<'static>>,
    /// The CA each `ca/<gen>/*.pem` file holds (its first certificate), to
    /// map the inventory's generations onto CAs without reading again.
    key_of_file: HashMap<PathBuf, CaKey>,
}

/// The CRLs of crls.pem, verified.
struct Crls {
    by_ca: HashMap<CaKey, CrlState>,
    earliest_next_update: Option<OffsetDateTime>,
    revoked_count: usize,
}

impl<C> Snapshot<C> {
    /// Loads and checks the PKI at `layout`, with what `serving` needs
    /// (the gateway's server credential, or nothing for `verify`).
    pub fn load<S: Serving<Credential = C>>(
        layout: &Layout,
        serving: &S,
    ) -> Result<Snapshot<C>, SnapshotError> {
        let trust_path = layout.trust();
        let roots = read_certs(&trust_path)?;
        if roots.is_empty() {
            return Err(SnapshotError::NoTrust(trust_path));
        }
        let cas = read_cas(layout, &roots)?;
        let crl_file = layout.crls();
        let mut crls = read_crls(&crl_file, &cas)?;
        let root_keys = require_root_crls(&roots, &crls.by_ca, &crl_file)?;
        let anchored = anchored(&cas, &crls.by_ca, &root_keys, crate::pki::time::now());
        let identities = {
            let inventory = Inventory::open_for_read(layout)?;
            crls.revoked_count += revoked_in_inventory(layout, &inventory, &cas, &mut crls.by_ca)?;
            inventory.live_identities(crate::pki::time::now())?
        };
        let server = serving.load(layout)?;
        let anchors = roots
            .iter()
            .chain(&anchored)
            .filter_map(|der| webpki::anchor_from_trusted_cert(der).ok())
            .map(|anchor| anchor.to_owned())
            .collect();
        let unanchored = cas
            .info
            .iter()
            .filter(|(key, ca)| {
                !ca.self_signed
                    && !anchored
                        .iter()
                        .any(|a| cas.ders.get(*key).is_some_and(|d| d == a))
            })
            .filter_map(|(key, _)| cas.ders.get(key).cloned())
            .collect();
        Ok(Snapshot {
            roots,
            anchored,
            anchors,
            unanchored,
            algorithms: rustls::crypto::aws_lc_rs::default_provider()
                .signature_verification_algorithms
                .all,
            cas: cas.info,
            crls: crls.by_ca,
            roles: identities.roles,
            names: identities.names,
            crl_file,
            server,
            earliest_next_update: crls.earliest_next_update,
            revoked_count: crls.revoked_count,
        })
    }
}

/// The roots, then every `ca/<gen>/{root,intermediate}.pem`.
fn read_cas(layout: &Layout, roots: &[CertificateDer<'static>]) -> Result<Cas, SnapshotError> {
    let trust_path = layout.trust();
    let mut all: Vec<(PathBuf, CertificateDer<'static>)> = roots
        .iter()
        .map(|r| (trust_path.clone(), r.clone()))
        .collect();
    for generation in layout.ca_generations() {
        for level in [CaLevel::Root, CaLevel::Intermediate] {
            let path = layout.ca_cert(generation, level);
            if path.exists() {
                for cert in read_certs(&path)? {
                    all.push((path.clone(), cert));
                }
            }
        }
    }
    let mut cas = Cas {
        info: HashMap::new(),
        ders: HashMap::new(),
        key_of_file: HashMap::new(),
    };
    for (path, der) in all {
        let (_, cert) =
            X509Certificate::from_der(&der).map_err(|source| SnapshotError::NotACertificate {
                path: path.clone(),
                source,
            })?;
        let key = CaKey::of_ca(&cert);
        cas.info.insert(
            key.clone(),
            CaInfo {
                subject_text: cert.subject().to_string(),
                serial: SerialKey::new(cert.raw_serial()),
                issuer: CaKey::issuer_of(&cert),
                self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
                not_before: from_unix(cert.validity().not_before.timestamp()),
                not_after: from_unix(cert.validity().not_after.timestamp()),
            },
        );
        if path != trust_path {
            cas.key_of_file.entry(path).or_insert_with(|| key.clone());
        }
        cas.ders.insert(key, der);
    }
    Ok(cas)
}

/// Every CRL of crls.pem, its signature verified against its CA.
fn read_crls(crl_path: &Path, cas: &Cas) -> Result<Crls, SnapshotError> {
    let bytes = std::fs::read(crl_path).map_err(|source| SnapshotError::Read {
        path: crl_path.to_owned(),
        source,
    })?;
    let mut crls = Crls {
        by_ca: HashMap::new(),
        earliest_next_update: None,
        revoked_count: 0,
    };
    for (i, crl) in CertificateRevocationListDer::pem_slice_iter(&bytes).enumerate() {
        let crl_err = |issuer: &str, problem| SnapshotError::Crl {
            path: crl_path.to_owned(),
            index: i + 1,
            issuer: issuer.to_owned(),
            problem,
        };
        let crl = crl.map_err(|e| crl_err("?", CrlProblem::Pem(e)))?;
        let (_, parsed) = CertificateRevocationList::from_der(crl.as_ref())
            .map_err(|e| crl_err("?", CrlProblem::NotACrl(e)))?;
        let issuer_text = parsed.issuer().to_string();
        let key = CaKey::signer_of_crl(parsed.issuer().as_raw(), parsed.extensions());
        let issuer_der = cas
            .ders
            .get(&key)
            .ok_or_else(|| crl_err(&issuer_text, CrlProblem::UnknownIssuer))?;
        let (_, issuer_cert) = X509Certificate::from_der(issuer_der)
            .map_err(|e| crl_err(&issuer_text, CrlProblem::IssuerUnreadable(e)))?;
        parsed
            .verify_signature(issuer_cert.public_key())
            .map_err(|e| crl_err(&issuer_text, CrlProblem::Signature(e)))?;
        let next_update = parsed.next_update().map(|t| from_unix(t.timestamp()));
        if let Some(n) = next_update {
            crls.earliest_next_update = Some(crls.earliest_next_update.map_or(n, |e| e.min(n)));
        }
        let revoked: HashSet<SerialKey> = parsed
            .iter_revoked_certificates()
            .map(|r| SerialKey::new(r.raw_serial()))
            .collect();
        crls.revoked_count += revoked.len();
        crls.by_ca.insert(
            key,
            CrlState {
                revoked,
                next_update,
                number: parsed.crl_number().cloned(),
                issuer: crate::pki::dn::rfc4514(parsed.issuer()).unwrap_or(issuer_text),
            },
        );
    }
    Ok(crls)
}

/// Every root in trust.pem must have a CRL; returns the roots' keys.
fn require_root_crls(
    roots: &[CertificateDer<'static>],
    crls: &HashMap<CaKey, CrlState>,
    crl_path: &Path,
) -> Result<HashSet<CaKey>, SnapshotError> {
    let mut root_keys = HashSet::new();
    for root in roots {
        if let Ok((_, cert)) = X509Certificate::from_der(root) {
            let key = CaKey::of_ca(&cert);
            if !crls.contains_key(&key) {
                return Err(SnapshotError::MissingCrl {
                    path: crl_path.to_owned(),
                    ca: cert.subject().to_string(),
                });
            }
            root_keys.insert(key);
        }
    }
    Ok(root_keys)
}

/// The intermediates trusted directly (the module header of mod.rs).
fn anchored(
    cas: &Cas,
    crls: &HashMap<CaKey, CrlState>,
    root_keys: &HashSet<CaKey>,
    now: OffsetDateTime,
) -> Vec<CertificateDer<'static>> {
    cas.info
        .iter()
        .filter(|(key, ca)| {
            !ca.self_signed
                && root_keys.contains(&ca.issuer)
                && ca.not_before <= now
                && now <= ca.not_after
                && crls
                    .get(&ca.issuer)
                    .is_some_and(|crl| !crl.revoked.contains(&ca.serial))
                && match (cas.ders.get(*key), cas.ders.get(&ca.issuer)) {
                    (Some(der), Some(root)) => anchorable(der, root),
                    _ => false,
                }
        })
        .filter_map(|(key, _)| cas.ders.get(key).cloned())
        .collect()
}

/// True when the CA certificate `der` may stand in for the path through it
/// to `root`: `root` signed it, it is a CA that may sign certificates, and
/// it constrains names exactly as `root` does (a trust anchor's own name
/// constraints are all path building applies).
fn anchorable(der: &[u8], root: &[u8]) -> bool {
    let (Ok((_, cert)), Ok((_, root))) = (
        X509Certificate::from_der(der),
        X509Certificate::from_der(root),
    ) else {
        return false;
    };
    let name_constraints = |c: &X509Certificate<'_>| {
        c.extensions()
            .iter()
            .find(|e| e.oid == x509_parser::oid_registry::OID_X509_EXT_NAME_CONSTRAINTS)
            .map(|e| e.value.to_vec())
    };
    cert.verify_signature(Some(root.public_key())).is_ok()
        && cert
            .basic_constraints()
            .is_ok_and(|bc| bc.is_some_and(|bc| bc.value.ca))
        && cert
            .key_usage()
            .is_ok_and(|ku| ku.is_some_and(|ku| ku.value.key_cert_sign()))
        && name_constraints(&cert) == name_constraints(&root)
}

/// Adds to each CA's revoked set what the inventory records as revoked,
/// whether or not its CRL lists it yet: a revocation whose publication a
/// crash interrupted (the inventory is committed first, see revoke.rs) is
/// refused all the same. Returns how many serials were added.
fn revoked_in_inventory(
    layout: &Layout,
    inventory: &Inventory,
    cas: &Cas,
    crls: &mut HashMap<CaKey, CrlState>,
) -> Result<usize, SnapshotError> {
    let mut added = 0;
    let revoked = inventory.revoked_serials()?;
    if revoked.is_empty() {
        return Ok(0);
    }
    for g in inventory.generations()? {
        let level = crate::pki::ca::issuing_crl_level(&g);
        let file = layout.ca_cert(crate::pki::ca::files_generation(&g, level), level);
        let Some(crl) = cas.key_of_file.get(&file).and_then(|key| crls.get_mut(key)) else {
            continue;
        };
        for (generation, serial) in &revoked {
            if *generation == g.generation && crl.revoked.insert(SerialKey::new(serial)) {
                added += 1;
            }
        }
    }
    Ok(added)
}

/// Every certificate of a PEM file.
pub(super) fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, SnapshotError> {
    let bytes = std::fs::read(path).map_err(|source| SnapshotError::Read {
        path: path.to_owned(),
        source,
    })?;
    CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| SnapshotError::Pem {
            path: path.to_owned(),
            source,
        })
}
