//! `issue`: a leaf certificate for a name, with a key mtlsctl makes or the
//! public key of a CSR. The profile alone decides the extensions; a CSR
//! contributes its public key and nothing else, so it can never ask for
//! CA:TRUE or an extra EKU. The subject and SANs come from the command line.
//!
//! Signing happens before the PKI lock is taken (it is the slow part); the
//! name check, the file writes, the inventory insert and the audit line then
//! happen under the lock, so parallel `issue` processes never collide.
//!
//! Long (about 570 lines) because the three steps of an issuance (build the
//! parameters from a profile, read and check a CSR, record and write under
//! the lock) share the request and the record types; each is a few
//! functions, in that order.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod,
    KeyUsagePurpose, SanType,
};
use rustls_pki_types::CertificateSigningRequestDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;

use crate::pki::audit::AuditEvent;
use crate::pki::ca::{BACKDATE, IssuingCa, random_serial};
use crate::pki::fsio::{self, DirMode, Mode};
use crate::pki::inspect::{cert_info, describe_key, normalise_pem};
use crate::pki::inventory::{Inventory, Record};
use crate::pki::keys::{SecretKey, key_identifier};
use crate::pki::layout::Layout;
use crate::pki::model::Serial;
use crate::pki::model::{
    CertName, DnValue, DnsName, Email, KeyType, Profile, Role, SanUri, Validity,
};
use crate::pki::{CsrProblem, Pki, PkiError};

/// Where the certificate's key comes from.
pub enum KeySource {
    /// mtlsctl generates it (the type, or the PKI's default).
    Generate(Option<KeyType>),
    /// An externally made CSR, read from this file.
    Csr(PathBuf),
}

/// What `issue` is asked to make.
pub struct IssueRequest {
    /// The name to file it under.
    pub name: CertName,
    /// Its profile.
    pub profile: Profile,
    /// Common name (default: the name).
    pub cn: Option<DnValue>,
    /// Organization.
    pub org: Option<DnValue>,
    /// Organizational unit.
    pub ou: Option<DnValue>,
    /// DNS SANs.
    pub dns: Vec<DnsName>,
    /// IP SANs.
    pub ips: Vec<IpAddr>,
    /// URI SANs (SPIFFE IDs).
    pub uris: Vec<SanUri>,
    /// Email SANs.
    pub emails: Vec<Email>,
    /// Validity (default from mtlsctl.toml per profile).
    pub validity: Option<Validity>,
    /// The key.
    pub key: KeySource,
    /// Roles recorded for the name.
    pub roles: Vec<Role>,
}

/// A certificate that was issued and recorded.
#[derive(Debug)]
pub struct Issued {
    /// The inventory record.
    pub record: Record,
    /// cert.pem.
    pub cert_path: PathBuf,
    /// key.pem, unless the key came from a CSR.
    pub key_path: Option<PathBuf>,
    /// chain.pem.
    pub chain_path: PathBuf,
}

/// Issues, writes and records a certificate. A name whose current
/// certificate was revoked may be issued again; any other existing name is
/// refused (rotate it instead).
pub fn issue(pki: &Pki, req: IssueRequest, ca: &IssuingCa) -> Result<Issued, PkiError> {
    if reads_as_serial(req.name.as_str()) {
        return Err(PkiError::NameLooksLikeSerial(req.name.clone()));
    }
    let defaults = &pki.settings().defaults;
    let lifetime = req
        .validity
        .unwrap_or_else(|| defaults.validity(req.profile));
    let mut roles = req.roles.clone();
    roles.sort();
    roles.dedup();
    let cn = req.cn.clone().unwrap_or_else(|| DnValue::from(&req.name));
    let spec = LeafSpec {
        name: req.name.clone(),
        profile: req.profile,
        cn,
        org: req.org.clone(),
        ou: req.ou.clone(),
        dns: req.dns.clone(),
        ips: req.ips.clone(),
        uris: req.uris.clone(),
        emails: req.emails.clone(),
        lifetime,
        roles,
    };
    let key = match &req.key {
        KeySource::Generate(k) => KeySource::Generate(Some(k.unwrap_or(defaults.key_type))),
        KeySource::Csr(p) => KeySource::Csr(p.clone()),
    };
    let signed = sign(pki, &spec, &key, ca)?;
    let mut inventory = crate::pki::recover::open_for_change(pki.layout())?;
    let replaces = match inventory.current(&spec.name)? {
        Some(existing) if existing.revoked_at.is_none() => {
            return Err(PkiError::NameTaken {
                name: spec.name,
                serial: existing.serial,
            });
        }
        Some(revoked) => Some(revoked.serial),
        None => None,
    };
    let key_kind = if matches!(req.key, KeySource::Csr(_)) {
        "csr"
    } else {
        "generated"
    };
    let issued = commit(
        pki,
        &mut inventory,
        &spec,
        signed,
        replaces.as_ref(),
        |record| {
            AuditEvent::new(
                "issue",
                serde_json::json!({
                    "profile": record.profile.as_str(),
                    "subject": record.subject,
                    "sans": record.sans,
                    "not_after": crate::pki::time::rfc3339(record.not_after),
                    "key": key_kind,
                    "roles": record.roles.iter().map(Role::as_str).collect::<Vec<_>>(),
                    "replaces_revoked": replaces.as_ref().map(|s| s.to_string()),
                }),
            )
        },
    )?;
    drop(inventory);
    Ok(issued)
}

/// True for a name `revoke`, `show` and `rotate` would also read as a
/// serial: 16 to 40 hex digits (serials of 8 to 20 octets, RFC 5280).
fn reads_as_serial(name: &str) -> bool {
    (16..=40).contains(&name.len()) && name.chars().all(|c| c.is_ascii_hexdigit())
}

/// Everything that identifies a leaf, independent of its key: what `issue`
/// is given and what `rotate` carries over.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    /// The name it is filed under.
    pub name: CertName,
    /// Its profile.
    pub profile: Profile,
    /// Subject CN.
    pub cn: DnValue,
    /// Subject O.
    pub org: Option<DnValue>,
    /// Subject OU.
    pub ou: Option<DnValue>,
    /// DNS SANs.
    pub dns: Vec<DnsName>,
    /// IP SANs.
    pub ips: Vec<IpAddr>,
    /// URI SANs.
    pub uris: Vec<SanUri>,
    /// Email SANs.
    pub emails: Vec<Email>,
    /// Validity.
    pub lifetime: Validity,
    /// Roles, sorted and deduplicated.
    pub roles: Vec<Role>,
}

impl LeafSpec {
    /// The identity of an existing certificate, for rotation.
    pub fn from_record(record: &Record) -> Result<LeafSpec, PkiError> {
        let mut spec = LeafSpec {
            name: record.name.clone(),
            profile: record.profile,
            cn: record.cn.clone(),
            org: record.org.clone(),
            ou: record.ou.clone(),
            dns: Vec::new(),
            ips: Vec::new(),
            uris: Vec::new(),
            emails: Vec::new(),
            lifetime: record.lifetime,
            roles: record.roles.clone(),
        };
        let bad = |san: &str| {
            PkiError::Inventory(crate::pki::inventory::InventoryError::Corrupt {
                path: PathBuf::from("inventory.db"),
                why: crate::pki::inventory::Corruption::UnreadableSan {
                    serial: record.serial.clone(),
                    san: san.to_owned(),
                },
            })
        };
        for san in &record.sans {
            let (kind, value) = san.split_once(':').ok_or_else(|| bad(san))?;
            match kind {
                "DNS" => spec.dns.push(value.parse().map_err(|_| bad(san))?),
                "IP" => spec.ips.push(value.parse().map_err(|_| bad(san))?),
                "URI" => spec.uris.push(value.parse().map_err(|_| bad(san))?),
                "email" => spec.emails.push(value.parse().map_err(|_| bad(san))?),
                _ => return Err(bad(san)),
            }
        }
        Ok(spec)
    }
}

/// A signed certificate not yet written or recorded.
pub struct Signed {
    cert: rcgen::Certificate,
    chain_pem: String,
    key_pem: Option<zeroize::Zeroizing<String>>,
    info: crate::pki::inspect::CertInfo,
    generation: u32,
    from_csr: bool,
}

/// Makes the key (or reads the CSR) and signs the certificate. Slow (key
/// generation), so it runs before the PKI lock is taken.
pub fn sign(
    pki: &Pki,
    spec: &LeafSpec,
    key: &KeySource,
    ca: &IssuingCa,
) -> Result<Signed, PkiError> {
    if spec.profile.serves() && spec.dns.is_empty() && spec.ips.is_empty() {
        return Err(PkiError::ServerNeedsSan(spec.profile));
    }
    check_constraints(spec, ca)?;
    let now = crate::pki::time::now();
    let not_after = now + spec.lifetime.duration();
    if not_after > ca.info.not_after {
        return Err(PkiError::ValidityPastCa {
            not_after: crate::pki::time::rfc3339(not_after),
            ca_not_after: crate::pki::time::rfc3339(ca.info.not_after),
        });
    }
    let issuer = ca.issuer()?;
    // CRLDistributionPoints and AIA as the settings say now (`ca set`).
    let distribution = &pki.settings().ca.distribution;
    let from_csr = matches!(key, KeySource::Csr(_));
    let (key, cert) = match key {
        KeySource::Generate(key_type) => {
            let key_type = key_type.unwrap_or(pki.settings().defaults.key_type);
            let key = SecretKey::generate(key_type)?;
            let key_id = key_identifier(key.pair().public_key_raw());
            let mut params = leaf_params(spec, key_type, key_id, now - BACKDATE, not_after)?;
            distribution.apply(&mut params, ca.files);
            let cert = params.signed_by(key.pair(), &issuer)?;
            (Some(key), cert)
        }
        KeySource::Csr(path) => {
            let (spki, key_type, key_id) = read_csr(path)?;
            let mut params = leaf_params(spec, key_type, key_id, now - BACKDATE, not_after)?;
            distribution.apply(&mut params, ca.files);
            (None, params.signed_by(&spki, &issuer)?)
        }
    };
    let info = cert_info(cert.der()).map_err(|source| PkiError::CertMalformed {
        path: pki.layout().leaf_cert(&spec.name),
        source,
    })?;
    let mut chain_pem = cert.pem();
    for intermediate in &ca.chain {
        chain_pem.push_str(&crate::pki::inspect::certificate_pem(intermediate));
    }
    let key_pem = key.as_ref().map(|k| k.to_pem(None)).transpose()?;
    Ok(Signed {
        cert,
        chain_pem,
        key_pem,
        info,
        generation: ca.generation,
        from_csr,
    })
}

/// Records the certificate, makes its files visible, then makes it current
/// for its name (replacing `replaces`) with the audit line `audit` builds,
/// in this order so that a crash at any point leaves nothing signed that
/// the inventory does not know (see recover.rs, which finishes or undoes a
/// pending certificate):
///
/// 1. the record, pending, in one transaction;
/// 2. key, cert and chain written into `.staging/<serial>/`;
/// 3. that directory swapped with `certs/NAME/` in one
///    `renameat2(RENAME_EXCHANGE)` (or renamed into place when the name is
///    new), so the three files change together;
/// 4. the record made current, with the audit line, in one transaction;
///    then the line is appended to `audit.log`.
///
/// The caller holds the inventory from [`crate::pki::recover::open_for_change`].
pub fn commit(
    pki: &Pki,
    inventory: &mut Inventory,
    spec: &LeafSpec,
    signed: Signed,
    replaces: Option<&Serial>,
    audit: impl FnOnce(&Record) -> AuditEvent<'static>,
) -> Result<Issued, PkiError> {
    let layout = pki.layout();
    let now = crate::pki::time::now();
    let info = signed.info;
    let record = Record {
        serial: info.serial.clone(),
        name: spec.name.clone(),
        profile: spec.profile,
        key_type: info.key_type,
        subject: info.subject.clone(),
        cn: spec.cn.clone(),
        org: spec.org.clone(),
        ou: spec.ou.clone(),
        lifetime: spec.lifetime,
        issuer: info.issuer.clone(),
        sans: info.sans.clone(),
        not_before: info.not_before,
        not_after: info.not_after,
        fingerprint: info.fingerprint.clone(),
        ca_generation: signed.generation,
        key_held: !signed.from_csr,
        current: true,
        issued_at: now,
        revoked_at: None,
        revocation_reason: None,
        roles: spec.roles.clone(),
    };
    // certs/ and certs/<name>/ must be real directories: a symlink there
    // would send the key and certificate outside the PKI. Checked before
    // anything is recorded.
    fsio::ensure_dir(&layout.certs_dir(), DirMode::Shared)?;
    let target = layout.leaf_dir(&record.name);
    if fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(fsio::FsError::Symlink(target).into());
    }
    inventory.begin_issue(&record, replaces)?;
    let cert_pem = signed.cert.pem();
    let mut files: Vec<(&str, &[u8], Mode)> = Vec::with_capacity(3);
    if let Some(pem) = &signed.key_pem {
        files.push(("key.pem", pem.as_bytes(), Mode::Secret));
    }
    files.push(("cert.pem", cert_pem.as_bytes(), Mode::Public));
    files.push(("chain.pem", signed.chain_pem.as_bytes(), Mode::Public));
    if let Err(e) = place(layout, &record, &files) {
        // Undo now if we can; otherwise the next writer does (recover.rs).
        // (When the files did become visible, the record stays pending and
        // the next writer makes it current.)
        if crate::pki::recover::serial_on_disk(&layout.leaf_cert(&record.name)).as_ref()
            != Some(&record.serial)
        {
            let pending = crate::pki::journal::Pending {
                serial: record.serial.clone(),
                name: record.name.clone(),
            };
            let _ = crate::pki::recover::roll_back(layout, inventory, &pending);
        }
        return Err(e);
    }
    let mut event = audit(&record);
    event.name = Some(record.name.as_str());
    event.serial = Some(record.serial.as_str());
    event.fingerprint_sha256 = Some(record.fingerprint.as_str());
    inventory.finish_issue(&record.serial, &event.line())?;
    crate::pki::recover::flush_audit(layout, inventory)?;
    Ok(Issued {
        cert_path: layout.leaf_cert(&record.name),
        key_path: record.key_held.then(|| layout.leaf_key(&record.name)),
        chain_path: layout.leaf_chain(&record.name),
        record,
    })
}

/// Steps 2 and 3 of [`commit`]: the files in a staging directory, then
/// that directory in place of `certs/NAME/`.
fn place(layout: &Layout, record: &Record, files: &[(&str, &[u8], Mode)]) -> Result<(), PkiError> {
    let staging = layout.staging(&record.serial);
    let target = layout.leaf_dir(&record.name);
    fsio::ensure_dir(&layout.staging_root(), DirMode::Private)?;
    fsio::create_dir(&staging, DirMode::Shared)?;
    let paths: Vec<PathBuf> = files.iter().map(|(n, _, _)| staging.join(n)).collect();
    let writes: Vec<(&Path, &[u8], Mode)> = paths
        .iter()
        .zip(files)
        .map(|(p, (_, bytes, mode))| (p.as_path(), *bytes, *mode))
        .collect();
    fsio::write_atomic_all(&writes)?;
    // What holds the name's previous files once the new ones are in place.
    let mut previous = staging.clone();
    if fs::symlink_metadata(&target).is_err() {
        fs::rename(&staging, &target)
            .map_err(|e| fsio::FsError::new("move into place", &target, e))?;
    } else {
        match fsio::exchange(&staging, &target) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                // Two steps; recover.rs (and commit's own undo) put the
                // parked directory back if the second does not happen.
                previous = layout.staging_previous(&record.serial);
                fs::rename(&target, &previous)
                    .map_err(|e| fsio::FsError::new("move aside", &target, e))?;
                fs::rename(&staging, &target)
                    .map_err(|e| fsio::FsError::new("move into place", &target, e))?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    fsio::sync_dir(&layout.certs_dir())?;
    // The change is made; the previous files are only garbage now. Failing
    // to delete them fails nothing: the next writer sweeps `.staging/`, and
    // `check` reports them until then.
    let _ = fs::remove_dir_all(&previous);
    let _ = fsio::sync_dir(&layout.staging_root());
    Ok(())
}

fn check_constraints(req: &LeafSpec, ca: &IssuingCa) -> Result<(), PkiError> {
    let permitted_dns = ca.info.permitted_dns();
    let described = || ca.info.permitted_names.join(", ");
    if !permitted_dns.is_empty() {
        for name in &req.dns {
            if !permitted_dns.iter().any(|base| name.within(base)) {
                return Err(PkiError::OutsideConstraints {
                    name: format!("DNS:{name}"),
                    permitted: described(),
                });
            }
        }
    }
    for ip in &req.ips {
        if !ca.permits_ip(ip) {
            return Err(PkiError::OutsideConstraints {
                name: format!("IP:{ip}"),
                permitted: described(),
            });
        }
    }
    Ok(())
}

fn leaf_params(
    req: &LeafSpec,
    key_type: KeyType,
    key_id: Vec<u8>,
    not_before: time::OffsetDateTime,
    not_after: time::OffsetDateTime,
) -> Result<CertificateParams, PkiError> {
    let mut dn = DistinguishedName::new();
    if let Some(org) = &req.org {
        dn.push(DnType::OrganizationName, org.as_str());
    }
    if let Some(ou) = &req.ou {
        dn.push(DnType::OrganizationalUnitName, ou.as_str());
    }
    dn.push(DnType::CommonName, req.cn.as_str());

    let mut sans = Vec::new();
    for d in &req.dns {
        sans.push(SanType::DnsName(d.as_str().try_into()?));
    }
    for ip in &req.ips {
        sans.push(SanType::IpAddress(*ip));
    }
    for u in &req.uris {
        sans.push(SanType::URI(u.as_str().try_into()?));
    }
    for e in &req.emails {
        sans.push(SanType::Rfc822Name(e.as_str().try_into()?));
    }

    let mut key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if req.profile.serves() && key_type.is_rsa() {
        key_usages.push(KeyUsagePurpose::KeyEncipherment);
    }
    let extended_key_usages = match req.profile {
        crate::pki::model::Profile::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
        crate::pki::model::Profile::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
        crate::pki::model::Profile::Peer => {
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ]
        }
    };

    let mut params = CertificateParams::default();
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(random_serial()?);
    params.subject_alt_names = sans;
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = key_usages;
    params.extended_key_usages = extended_key_usages;
    params.name_constraints = None;
    params.crl_distribution_points = Vec::new();
    params.custom_extensions = Vec::new();
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_id);
    Ok(params)
}

/// Reads a CSR (PEM or DER), checks its self-signature and key type, and
/// returns only its public key.
fn read_csr(path: &Path) -> Result<(rcgen::SubjectPublicKeyInfo, KeyType, Vec<u8>), PkiError> {
    let bytes = fsio::read_input(path).map_err(|e| match e {
        // The error names the path itself.
        fsio::FsError::TooLarge { .. } => PkiError::CsrTooLarge(e),
        e => PkiError::CsrUnreadable {
            path: path.to_owned(),
            why: CsrProblem::Read(e),
        },
    })?;
    parse_csr(&bytes, path)
}

/// [`read_csr`] of bytes already read from `path` (named in errors): the
/// CSR's public key, key type and key identifier, once its self-signature
/// verifies.
pub fn parse_csr(
    bytes: &[u8],
    path: &Path,
) -> Result<(rcgen::SubjectPublicKeyInfo, KeyType, Vec<u8>), PkiError> {
    let unreadable = |why: CsrProblem| PkiError::CsrUnreadable {
        path: path.to_owned(),
        why,
    };
    let bytes = normalise_pem(bytes);
    let der = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        CertificateSigningRequestDer::from_pem_slice(&bytes)
            .map_err(|e| unreadable(CsrProblem::NoPemBlock(e)))?
            .as_ref()
            .to_vec()
    } else {
        bytes
    };
    let (rest, csr) =
        X509CertificationRequest::from_der(&der).map_err(|e| unreadable(CsrProblem::Parse(e)))?;
    if !rest.is_empty() {
        return Err(unreadable(CsrProblem::TrailingData(rest.len())));
    }
    let spki = &csr.certification_request_info.subject_pki;
    let (key, key_type) = describe_key(spki);
    let key_type = key_type.ok_or_else(|| PkiError::CsrKeyUnsupported {
        path: path.to_owned(),
        key,
    })?;
    if crate::pki::inspect::csr_signature(&csr) != crate::pki::inspect::SignatureCheck::Valid {
        return Err(PkiError::CsrSignature(path.to_owned()));
    }
    let public_key = rcgen::SubjectPublicKeyInfo::from_der(spki.raw)
        .map_err(|e| unreadable(CsrProblem::PublicKey(e)))?;
    Ok((
        public_key,
        key_type,
        key_identifier(&spki.subject_public_key.data),
    ))
}
