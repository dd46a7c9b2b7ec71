//! THE door between the PKI and the gateway: [`Snapshot::load`] reads the
//! PKI directory into a read-only, fully checked view, or fails. Everything
//! expensive is done here once per (re)load, never per handshake:
//!
//! - trust.pem must hold at least one root (never system roots);
//! - every CRL in crls.pem is parsed and its signature verified against the
//!   CA that issued it, then reduced to a hash set of revoked serials, so a
//!   100,000-entry CRL costs one lookup per handshake (rustls-webpki would
//!   re-verify the CRL's signature on every lookup, rustls/webpki#81);
//! - every CA a chain may pass through has a CRL, or loading fails;
//! - an intermediate whose signature by a root in trust.pem verifies, that
//!   is in its validity period, unrevoked, and carries its root's name
//!   constraints is *anchored*: the TLS verifier trusts it directly, so a
//!   handshake verifies only the leaf's signature, not the intermediate's
//!   again (it cannot change between handshakes). Its expiry is checked
//!   with revocation, on every handshake and request;
//! - roles come from the inventory; the server credential from certs/NAME/.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::X509Extension;
use x509_parser::num_bigint::BigUint;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::pki::inventory::{Inventory, InventoryError};
use crate::pki::layout::{CaLevel, Layout};
use crate::pki::model::{CertName, DnsName};
use crate::pki::time::from_unix;

pub use crate::pki::stamp::SourceStamp;

/// Why a snapshot could not be loaded. The gateway refuses to start on any
/// of these, and keeps its last good snapshot when a reload hits one.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A file could not be read.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// trust.pem holds no usable root.
    #[error("{0}: no trusted root; refusing to run without one (system roots are never used)")]
    NoTrust(PathBuf),
    /// A CRL failed its signature check, or names no known CA.
    #[error("{path}: CRL {index} ({issuer}): {why}")]
    Crl {
        /// crls.pem.
        path: PathBuf,
        /// 1-based position in the file.
        index: usize,
        /// Its issuer.
        issuer: String,
        /// What is wrong.
        why: String,
    },
    /// A CA in service has no CRL.
    #[error("{path}: no CRL for the CA {ca}; run `mtlsctl crl`")]
    MissingCrl {
        /// crls.pem.
        path: PathBuf,
        /// The CA's subject.
        ca: String,
    },
    /// The inventory could not be read.
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// The certificate filed under the server certificate's name cannot
    /// serve this gateway (not for server auth, or not for its names):
    /// every handshake would fail.
    #[error(
        "{path}: {why}, so it cannot be this gateway's server certificate; revoke it \
         (`mtlsctl revoke {name}`) and start the gateway again to have it issue its own, \
         or serve other names with --server-name"
    )]
    ServerCert {
        /// Its chain.pem.
        path: PathBuf,
        /// The certificate name.
        name: CertName,
        /// What is wrong.
        why: String,
    },
}

/// The gateway's server certificate: the name it is filed under and the
/// names (`--server-name`) it must carry as SANs.
#[derive(Debug, Clone)]
pub struct ServerCertSpec {
    /// Filed under certs/NAME/.
    pub name: CertName,
    /// DNS names it must cover.
    pub dns: Vec<DnsName>,
    /// IP addresses it must carry.
    pub ips: Vec<IpAddr>,
}

/// A CA identified the way certificates name their issuer: subject DER
/// plus key identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CaKey {
    subject: Vec<u8>,
    key_id: Vec<u8>,
}

/// One link of a certificate's path to its root, for revocation lookups:
/// the CA that issued a certificate and that certificate's serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationLink {
    issuer: CaKey,
    serial: SerialKey,
    /// The certificate's subject, for messages.
    pub subject: String,
}

/// A certificate serial as a fixed-size key, so that a CRL's set of
/// revoked serials is one table and not one heap block per entry (100,000
/// of them for a big CRL): the canonical (no leading zero) big-endian bytes
/// behind their length, or, for a serial of 32 octets or more (RFC 5280
/// allows 20), `0xff` and the first 31 bytes of its SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SerialKey([u8; 32]);

impl SerialKey {
    fn new(raw: &[u8]) -> SerialKey {
        let serial = canonical_serial(raw);
        let mut key = [0u8; 32];
        match u8::try_from(serial.len()) {
            Ok(len) if len < 32 => {
                key[0] = len;
                key[1..=serial.len()].copy_from_slice(serial);
            }
            _ => {
                key[0] = 0xff;
                let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, serial);
                key[1..].copy_from_slice(&digest.as_ref()[..31]);
            }
        }
        SerialKey(key)
    }
}

/// The revocation state of one CA.
#[derive(Debug, Clone)]
struct CrlState {
    revoked: HashSet<SerialKey>,
    next_update: Option<OffsetDateTime>,
    /// The CRL's cRLNumber, to refuse an older CRL on reload.
    number: Option<BigUint>,
    /// The CRL's issuer, RFC 4514, for messages.
    issuer: String,
}

/// A CRL older than the one in service for the same CA: its number went
/// down. CRL numbers in this PKI only grow, so this is a restored backup
/// or a replayed file, and taking it would un-revoke certificates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{path}: the CRL of {ca} is number {offered}, older than number {held} in service; \
     refusing to roll revocations back (restored from a backup?): run `mtlsctl crl` to \
     publish a newer CRL"
)]
pub struct CrlRollback {
    /// crls.pem.
    pub path: PathBuf,
    /// The CA's subject.
    pub ca: String,
    /// The number of the CRL in service.
    pub held: BigUint,
    /// The number of the CRL offered.
    pub offered: BigUint,
}

/// Why revocation says no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationProblem {
    /// A certificate in the path is listed on its issuer's CRL.
    Revoked(String),
    /// A CA in the path has no CRL in this snapshot.
    Unknown(String),
    /// The CRL that covers a certificate in the path is past its nextUpdate.
    Stale(String),
    /// A CA in the path is outside its validity period.
    CaExpired(String),
}

impl std::fmt::Display for RevocationProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevocationProblem::Revoked(s) => write!(f, "{s} is revoked"),
            RevocationProblem::Unknown(s) => write!(f, "no CRL covers {s}"),
            RevocationProblem::Stale(s) => write!(f, "the CRL covering {s} is past its nextUpdate"),
            RevocationProblem::CaExpired(s) => {
                write!(f, "the CA {s} is outside its validity period")
            }
        }
    }
}

/// The gateway's own server certificate and key.
pub struct ServerCredential {
    /// Leaf + intermediates.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
    /// Its notAfter.
    pub not_after: OffsetDateTime,
}

/// A read-only, fully checked view of the PKI.
pub struct Snapshot {
    /// The roots to trust (trust.pem).
    pub roots: Vec<CertificateDer<'static>>,
    /// Intermediates verified at load to chain to `roots`, trusted directly
    /// by the gateway (see the module header).
    pub anchored: Vec<CertificateDer<'static>>,
    /// Every CA certificate the PKI has made, by subject+key id.
    cas: HashMap<CaKey, CaInfo>,
    crls: HashMap<CaKey, CrlState>,
    roles: HashMap<Vec<u8>, Vec<String>>,
    /// The server credential.
    pub server: ServerCredential,
    /// The earliest nextUpdate of any CRL in service.
    pub earliest_next_update: Option<OffsetDateTime>,
    /// Revoked serials across all CRLs.
    pub revoked_count: usize,
}

#[derive(Debug, Clone)]
struct CaInfo {
    subject_text: String,
    serial: SerialKey,
    issuer: CaKey,
    self_signed: bool,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl Snapshot {
    /// Loads and checks the PKI at `layout`, with the server credential of
    /// the certificate `server` names.
    pub fn load(layout: &Layout, server: &ServerCertSpec) -> Result<Snapshot, SnapshotError> {
        let trust_path = layout.trust();
        let roots = read_certs(&trust_path)?;
        if roots.is_empty() {
            return Err(SnapshotError::NoTrust(trust_path));
        }
        let mut cas: HashMap<CaKey, CaInfo> = HashMap::new();
        let mut ca_ders: HashMap<CaKey, CertificateDer<'static>> = HashMap::new();
        let mut ca_files: Vec<PathBuf> = Vec::new();
        for generation in layout.ca_generations() {
            for level in [CaLevel::Root, CaLevel::Intermediate] {
                let path = layout.ca_cert(generation, level);
                if path.exists() {
                    ca_files.push(path);
                }
            }
        }
        let mut all_ca_certs: Vec<(PathBuf, CertificateDer<'static>)> = roots
            .iter()
            .map(|r| (trust_path.clone(), r.clone()))
            .collect();
        for path in ca_files {
            for cert in read_certs(&path)? {
                all_ca_certs.push((path.clone(), cert));
            }
        }
        // The CA each `ca/<gen>/*.pem` file holds (its first certificate),
        // to map the inventory's generations onto CAs without reading again.
        let mut key_of_file: HashMap<PathBuf, CaKey> = HashMap::new();
        for (path, der) in &all_ca_certs {
            let (_, cert) = X509Certificate::from_der(der).map_err(|e| SnapshotError::File {
                path: path.clone(),
                why: format!("not a certificate: {e}"),
            })?;
            let key = CaKey {
                subject: cert.subject().as_raw().to_vec(),
                key_id: ski(&cert),
            };
            cas.insert(
                key.clone(),
                CaInfo {
                    subject_text: cert.subject().to_string(),
                    serial: SerialKey::new(cert.raw_serial()),
                    issuer: issuer_key(&cert),
                    self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
                    not_before: from_unix(cert.validity().not_before.timestamp()),
                    not_after: from_unix(cert.validity().not_after.timestamp()),
                },
            );
            if *path != trust_path {
                key_of_file
                    .entry(path.clone())
                    .or_insert_with(|| key.clone());
            }
            ca_ders.insert(key, der.clone());
        }

        let crl_path = layout.crls();
        let crl_bytes = std::fs::read(&crl_path).map_err(|e| SnapshotError::File {
            path: crl_path.clone(),
            why: e.to_string(),
        })?;
        let mut crls: HashMap<CaKey, CrlState> = HashMap::new();
        let mut earliest: Option<OffsetDateTime> = None;
        let mut revoked_count = 0;
        for (i, crl) in CertificateRevocationListDer::pem_slice_iter(&crl_bytes).enumerate() {
            let index = i + 1;
            let crl = crl.map_err(|e| SnapshotError::Crl {
                path: crl_path.clone(),
                index,
                issuer: "?".into(),
                why: format!("unreadable PEM: {e}"),
            })?;
            let (_, parsed) = CertificateRevocationList::from_der(crl.as_ref()).map_err(|e| {
                SnapshotError::Crl {
                    path: crl_path.clone(),
                    index,
                    issuer: "?".into(),
                    why: format!("not a CRL: {e}"),
                }
            })?;
            let issuer_text = parsed.issuer().to_string();
            let crl_err = |why: String| SnapshotError::Crl {
                path: crl_path.clone(),
                index,
                issuer: issuer_text.clone(),
                why,
            };
            let key = CaKey {
                subject: parsed.issuer().as_raw().to_vec(),
                key_id: authority_key_id(parsed.extensions()).unwrap_or_default(),
            };
            let issuer_der = ca_ders
                .get(&key)
                .ok_or_else(|| crl_err("issued by no CA this PKI knows".into()))?;
            let (_, issuer_cert) =
                X509Certificate::from_der(issuer_der).map_err(|e| crl_err(e.to_string()))?;
            parsed
                .verify_signature(issuer_cert.public_key())
                .map_err(|e| crl_err(format!("signature does not verify: {e}")))?;
            let next_update = parsed.next_update().map(|t| from_unix(t.timestamp()));
            if let Some(n) = next_update {
                earliest = Some(earliest.map_or(n, |e: OffsetDateTime| e.min(n)));
            }
            let revoked: HashSet<SerialKey> = parsed
                .iter_revoked_certificates()
                .map(|r| SerialKey::new(r.raw_serial()))
                .collect();
            revoked_count += revoked.len();
            crls.insert(
                key,
                CrlState {
                    revoked,
                    next_update,
                    number: parsed.crl_number().cloned(),
                    issuer: crate::pki::dn::rfc4514(parsed.issuer())
                        .unwrap_or_else(|_| issuer_text.clone()),
                },
            );
        }
        // Every root in trust.pem must have a CRL.
        let mut root_keys = HashSet::new();
        for root in &roots {
            if let Ok((_, cert)) = X509Certificate::from_der(root) {
                let key = CaKey {
                    subject: cert.subject().as_raw().to_vec(),
                    key_id: ski(&cert),
                };
                if !crls.contains_key(&key) {
                    return Err(SnapshotError::MissingCrl {
                        path: crl_path,
                        ca: cert.subject().to_string(),
                    });
                }
                root_keys.insert(key);
            }
        }
        let now = crate::pki::time::now();
        let anchored = cas
            .iter()
            .filter(|(key, ca)| {
                !ca.self_signed
                    && root_keys.contains(&ca.issuer)
                    && ca.not_before <= now
                    && now <= ca.not_after
                    && crls
                        .get(&ca.issuer)
                        .is_some_and(|crl| !crl.revoked.contains(&ca.serial))
                    && match (ca_ders.get(*key), ca_ders.get(&ca.issuer)) {
                        (Some(der), Some(root)) => anchorable(der, root),
                        _ => false,
                    }
            })
            .filter_map(|(key, _)| ca_ders.get(key).cloned())
            .collect();

        let roles = {
            let inventory = Inventory::open_for_read(layout)?;
            revoked_count += revoked_in_inventory(layout, &inventory, &key_of_file, &mut crls)?;
            inventory.roles_by_serial()?
        };
        let server = load_server(layout, server)?;
        Ok(Snapshot {
            roots,
            anchored,
            cas,
            crls,
            roles,
            server,
            earliest_next_update: earliest,
            revoked_count,
        })
    }

    /// The path from a presented leaf to its root, as (issuer, serial)
    /// links; computed once per connection, looked up per request.
    pub fn revocation_path(&self, leaf: &[u8]) -> Vec<RevocationLink> {
        let Ok((_, cert)) = X509Certificate::from_der(leaf) else {
            return Vec::new();
        };
        let mut current = issuer_key(&cert);
        let mut out = vec![RevocationLink {
            issuer: current.clone(),
            serial: SerialKey::new(cert.raw_serial()),
            subject: cert.subject().to_string(),
        }];
        for _ in 0..8 {
            let Some(ca) = self.cas.get(&current) else {
                break;
            };
            if ca.self_signed {
                break;
            }
            out.push(RevocationLink {
                issuer: ca.issuer.clone(),
                serial: ca.serial,
                subject: ca.subject_text.clone(),
            });
            current = ca.issuer.clone();
        }
        out
    }

    /// Checks a revocation path against this snapshot's CRLs at `now`.
    /// `stale_ok` lets a CRL past its nextUpdate still answer (policy warn).
    pub fn check(
        &self,
        path: &[RevocationLink],
        now: OffsetDateTime,
        stale_ok: bool,
    ) -> Result<(), RevocationProblem> {
        if path.is_empty() {
            return Err(RevocationProblem::Unknown("the certificate".into()));
        }
        // From the root down: a revoked or retired CA is the cause to
        // report, not the missing CRL of the CA under it.
        for link in path.iter().rev() {
            // Anchored intermediates are not checked for expiry by the TLS
            // verifier; every issuing CA is checked here.
            if let Some(ca) = self.cas.get(&link.issuer)
                && !(ca.not_before <= now && now <= ca.not_after)
            {
                return Err(RevocationProblem::CaExpired(ca.subject_text.clone()));
            }
            let Some(crl) = self.crls.get(&link.issuer) else {
                return Err(RevocationProblem::Unknown(link.subject.clone()));
            };
            if crl.revoked.contains(&link.serial) {
                return Err(RevocationProblem::Revoked(link.subject.clone()));
            }
            if !stale_ok && crl.next_update.is_some_and(|n| n < now) {
                return Err(RevocationProblem::Stale(link.subject.clone()));
            }
        }
        Ok(())
    }

    /// The CRLs past their nextUpdate at `now`: issuer (RFC 4514) and
    /// nextUpdate of each.
    pub fn stale_crls(&self, now: OffsetDateTime) -> impl Iterator<Item = (&str, OffsetDateTime)> {
        self.crls.values().filter_map(move |crl| {
            crl.next_update
                .filter(|n| *n < now)
                .map(|n| (crl.issuer.as_str(), n))
        })
    }

    /// Refuses this snapshot in place of `previous` when the CRL of any CA
    /// both hold is older (a lower cRLNumber) than the one `previous`
    /// holds: a rollback would un-revoke certificates. A CA new in this
    /// snapshot, or a CRL without a number, has nothing to compare.
    pub fn check_no_rollback(
        &self,
        previous: &Snapshot,
        layout: &Layout,
    ) -> Result<(), CrlRollback> {
        for (key, held) in &previous.crls {
            let (Some(held_number), Some(offered)) = (
                held.number.as_ref(),
                self.crls.get(key).and_then(|c| c.number.as_ref()),
            ) else {
                continue;
            };
            if offered < held_number {
                return Err(CrlRollback {
                    path: layout.crls(),
                    ca: held.issuer.clone(),
                    held: held_number.clone(),
                    offered: offered.clone(),
                });
            }
        }
        Ok(())
    }

    /// Roles recorded for the certificate with this serial (big-endian bytes).
    pub fn roles(&self, serial: &[u8]) -> &[String] {
        self.roles
            .get(canonical_serial(serial))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// True when the CA certificate `der` may stand in for the path through it
/// to `root`: `root` signed it, it is a CA that may sign certificates, and
/// it constrains names exactly as `root` does (a trust anchor's own name
/// constraints are all the TLS verifier applies).
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

fn canonical_serial(raw: &[u8]) -> &[u8] {
    let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    &raw[start..]
}

fn ski(cert: &X509Certificate<'_>) -> Vec<u8> {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The key identifier of an AuthorityKeyIdentifier extension, if any.
fn authority_key_id(extensions: &[X509Extension<'_>]) -> Option<Vec<u8>> {
    extensions
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
}

fn issuer_key(cert: &X509Certificate<'_>) -> CaKey {
    let aki = authority_key_id(cert.extensions());
    let self_signed = cert.subject().as_raw() == cert.issuer().as_raw();
    CaKey {
        subject: cert.issuer().as_raw().to_vec(),
        key_id: match (aki, self_signed) {
            (Some(a), _) => a,
            (None, true) => ski(cert),
            (None, false) => Vec::new(),
        },
    }
}

/// Adds to each CA's revoked set what the inventory records as revoked,
/// whether or not its CRL lists it yet: a revocation whose publication a
/// crash interrupted (the inventory is committed first, see revoke.rs) is
/// refused all the same. Returns how many serials were added.
fn revoked_in_inventory(
    layout: &Layout,
    inventory: &Inventory,
    key_of_file: &HashMap<PathBuf, CaKey>,
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
        let Some(crl) = key_of_file.get(&file).and_then(|key| crls.get_mut(key)) else {
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

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, SnapshotError> {
    let bytes = std::fs::read(path).map_err(|e| SnapshotError::File {
        path: path.to_owned(),
        why: e.to_string(),
    })?;
    CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SnapshotError::File {
            path: path.to_owned(),
            why: format!("unreadable PEM: {e}"),
        })
}

fn load_server(layout: &Layout, spec: &ServerCertSpec) -> Result<ServerCredential, SnapshotError> {
    let name = &spec.name;
    let chain = read_certs(&layout.leaf_chain(name))?;
    let Some(leaf) = chain.first() else {
        return Err(SnapshotError::File {
            path: layout.leaf_chain(name),
            why: "no certificate in the file".into(),
        });
    };
    let (_, cert) = X509Certificate::from_der(leaf).map_err(|e| SnapshotError::File {
        path: layout.leaf_chain(name),
        why: e.to_string(),
    })?;
    if let Err(why) = fit_to_serve(&cert, spec) {
        return Err(SnapshotError::ServerCert {
            path: layout.leaf_chain(name),
            name: name.clone(),
            why,
        });
    }
    let not_after = from_unix(cert.validity().not_after.timestamp());
    let key_path = layout.leaf_key(name);
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| SnapshotError::File {
        path: key_path.clone(),
        why: format!("unreadable private key: {e}"),
    })?;
    Ok(ServerCredential {
        chain,
        key,
        not_after,
    })
}

/// Checks that `cert` can serve as the gateway's server certificate: an
/// extendedKeyUsage with serverAuth (a client-profile certificate filed
/// under the server's name fails every handshake) and SANs covering every
/// configured name.
fn fit_to_serve(cert: &X509Certificate<'_>, spec: &ServerCertSpec) -> Result<(), String> {
    let server_auth = cert
        .extended_key_usage()
        .ok()
        .flatten()
        .is_some_and(|eku| eku.value.any || eku.value.server_auth);
    if !server_auth {
        return Err(
            "the certificate is not for server authentication (no serverAuth \
             extendedKeyUsage: a client-profile certificate)"
                .into(),
        );
    }
    let mut dns: Vec<String> = Vec::new();
    let mut ips: Vec<Vec<u8>> = Vec::new();
    if let Ok(Some(sans)) = cert.subject_alternative_name() {
        for san in &sans.value.general_names {
            match san {
                x509_parser::extensions::GeneralName::DNSName(d) => {
                    dns.push(d.to_ascii_lowercase())
                }
                x509_parser::extensions::GeneralName::IPAddress(ip) => ips.push(ip.to_vec()),
                _ => {}
            }
        }
    }
    let covers = |wanted: &str| {
        dns.iter().any(|d| {
            d == wanted
                || d.strip_prefix("*.").is_some_and(|base| {
                    wanted
                        .split_once('.')
                        .is_some_and(|(label, rest)| !label.is_empty() && rest == base)
                })
        })
    };
    let mut missing: Vec<String> = spec
        .dns
        .iter()
        .filter(|d| !covers(d.as_str()))
        .map(|d| d.to_string())
        .collect();
    missing.extend(
        spec.ips
            .iter()
            .filter(|ip| {
                let octets = match ip {
                    IpAddr::V4(v4) => v4.octets().to_vec(),
                    IpAddr::V6(v6) => v6.octets().to_vec(),
                };
                !ips.contains(&octets)
            })
            .map(IpAddr::to_string),
    );
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the certificate's names do not cover {} (a --server-name of this gateway)",
            missing.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::SerialKey;

    #[test]
    fn serial_keys_compare_canonical_serials() {
        assert_eq!(SerialKey::new(&[0, 0, 0x7f, 1]), SerialKey::new(&[0x7f, 1]));
        assert_ne!(SerialKey::new(&[1]), SerialKey::new(&[1, 0]));
        assert_ne!(SerialKey::new(&[1, 0]), SerialKey::new(&[0, 1]));
        let long: Vec<u8> = (1..=40).collect();
        let mut other = long.clone();
        other[39] = 0;
        assert_eq!(SerialKey::new(&long), SerialKey::new(&long));
        assert_ne!(SerialKey::new(&long), SerialKey::new(&other));
        let longest_direct: Vec<u8> = (1..=31).collect();
        assert_eq!(SerialKey::new(&longest_direct).0[0], 31);
        assert_eq!(SerialKey::new(&[7; 32]).0[0], 0xff);
    }
}
