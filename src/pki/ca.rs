//! The certificate authority: `ca init` (root, intermediate, CRLs, trust
//! bundle, settings, inventory, all staged in a temporary directory and
//! renamed into place so a failed init leaves nothing behind), and loading
//! the issuing CA for `issue`.
//!
//! Every rcgen field is set explicitly: rcgen's defaults (validity 1975 to
//! 4096, a placeholder subject, no AKI) are wrong for a PKI.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, GeneralSubtree, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, NameConstraints,
    RevokedCertParams, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use time::OffsetDateTime;

use crate::pki::audit::{self, AuditEvent};
use crate::pki::fsio::{self, DirMode, Lock, Mode};
use crate::pki::inspect::{CertInfo, cert_info};
use crate::pki::inventory::{Generation, Inventory, Revoked, lock_timeout};
use crate::pki::keys::{self, Passphrase, SecretKey};
use crate::pki::layout::{CaLevel, Layout};
use crate::pki::model::{DnsName, IpNet, KeyType, RevocationReason, Validity};
use crate::pki::settings::{CaSettings, Settings};
use crate::pki::{Pki, PkiError};

/// How far notBefore is set in the past, to absorb clock skew between the
/// CA host and relying parties.
pub const BACKDATE: time::Duration = time::Duration::seconds(60);

/// What `ca init` is asked to make.
pub struct CaInitRequest {
    /// Display name; the CAs' common names derive from it.
    pub name: String,
    /// Key type of the CA keys.
    pub key_type: KeyType,
    /// Root validity (the intermediate ends with the root).
    pub validity: Validity,
    /// Root only, issuing leaves itself.
    pub single_tier: bool,
    /// Permitted DNS subtrees.
    pub permit_dns: Vec<DnsName>,
    /// Permitted IP subtrees.
    pub permit_ip: Vec<IpNet>,
    /// Encrypts the CA keys when present.
    pub passphrase: Option<Passphrase>,
}

/// What `ca init` made.
#[derive(Debug)]
pub struct CaInitReport {
    /// The PKI directory.
    pub dir: PathBuf,
    /// The root certificate.
    pub root: CertInfo,
    /// The intermediate, unless single-tier.
    pub intermediate: Option<CertInfo>,
    /// True when the keys are encrypted.
    pub encrypted: bool,
    /// `trust.pem`.
    pub trust_path: PathBuf,
}

/// Creates a new PKI at `dir`. `dir` must not exist or be an empty directory.
pub fn init(dir: &Path, req: CaInitRequest) -> Result<CaInitReport, PkiError> {
    if dir.exists() {
        let empty = fs::read_dir(dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !dir.is_dir() || !empty {
            return Err(PkiError::AlreadyExists(dir.to_owned()));
        }
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fsio::create_dir_all(&parent)?;
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pki".into());
    remove_abandoned_staging(&parent, &base)?;
    let mut rand = [0u8; 6];
    let _ = aws_lc_rs::rand::fill(&mut rand);
    let staging = parent.join(format!(
        ".{base}.init.{}.{}",
        std::process::id(),
        hex::encode(rand)
    ));
    let result = build(&staging, &req).and_then(|report| {
        // Public files stay readable to a group (the one nginx runs as).
        fs::set_permissions(
            &staging,
            std::os::unix::fs::PermissionsExt::from_mode(0o750),
        )
        .map_err(|e| fsio::FsError::new("set permissions on", &staging, e))?;
        fs::rename(&staging, dir).map_err(|e| {
            if matches!(
                e.kind(),
                std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists
            ) || e.raw_os_error() == Some(39)
            {
                PkiError::AlreadyExists(dir.to_owned())
            } else {
                PkiError::Fs(fsio::FsError::new("move the new PKI into", dir, e))
            }
        })?;
        fsio::sync_dir(&parent)?;
        Ok(report)
    });
    match result {
        Ok(report) => Ok(CaInitReport {
            dir: dir.to_owned(),
            trust_path: Layout::new(dir).trust(),
            ..report
        }),
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

/// Removes the staging directories of `ca init` runs for the same target
/// whose process is gone (killed mid-init): they hold CA keys.
fn remove_abandoned_staging(parent: &Path, base: &str) -> Result<(), PkiError> {
    let prefix = format!(".{base}.init.");
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('.').next().unwrap_or("");
        let alive = !pid.is_empty() && Path::new("/proc").join(pid).exists();
        if !alive {
            let path = entry.path();
            fs::remove_dir_all(&path).map_err(|e| fsio::FsError::new("remove", &path, e))?;
        }
    }
    Ok(())
}

fn build(staging: &Path, req: &CaInitRequest) -> Result<CaInitReport, PkiError> {
    // Private while it is built: CA keys land here before the rename.
    fsio::create_dir(staging, DirMode::Private)?;
    let layout = Layout::new(staging);
    let generation = 1;
    fsio::create_dir(&layout.generations_dir(), DirMode::Private)?;
    fsio::create_dir(&layout.ca_dir(generation), DirMode::Private)?;
    fsio::create_dir(&layout.certs_dir(), DirMode::Shared)?;
    let lock = Lock::exclusive(&layout.lock(), lock_timeout())
        .map_err(crate::pki::inventory::InventoryError::from)?;

    let now = crate::pki::time::now();
    let not_before = now - BACKDATE;
    let not_after = now + req.validity.duration();
    let constraints = name_constraints(&req.permit_dns, &req.permit_ip);

    let settings = Settings::new(CaSettings {
        name: req.name.clone(),
        generation,
        single_tier: req.single_tier,
        key_type: req.key_type,
        encrypted: req.passphrase.is_some(),
    });
    let crl_next = now + settings.defaults.crl_lifetime.duration();
    let spec = |level: CaLevel, common_name: String, path_len: u8| NewCa {
        layout: &layout,
        generation,
        level,
        common_name,
        key_type: req.key_type,
        not_before,
        not_after,
        path_len,
        constraints: constraints.clone(),
        passphrase: req.passphrase.as_ref(),
        now,
        crl_next,
    };
    let root = make_ca(
        spec(
            CaLevel::Root,
            format!("{} Root G{generation}", req.name),
            if req.single_tier { 0 } else { 1 },
        ),
        None,
    )?;
    fsio::write_atomic(&layout.trust(), root.cert.pem().as_bytes(), Mode::Public)?;
    let root_info = root.info.clone();
    let intermediate_info = if req.single_tier {
        None
    } else {
        let root_issuer = Issuer::from_ca_cert_der(root.cert.der(), root.key.pair())?;
        let made = make_ca(
            spec(
                CaLevel::Intermediate,
                format!("{} Intermediate G{generation}", req.name),
                0,
            ),
            Some(&root_issuer),
        )?;
        Some(made.info)
    };

    settings.save(&layout.settings())?;
    let mut inventory = Inventory::create(&layout.inventory(), lock)?;
    inventory.add_generation(&Generation {
        generation,
        root_generation: generation,
        single_tier: req.single_tier,
        created_at: now,
        retired_at: None,
        intermediate_serial: intermediate_info.as_ref().map(|i| i.serial.to_string()),
        intermediate_revoked_at: None,
    })?;
    publish(&layout, &inventory)?;
    drop(inventory);
    let mut event = AuditEvent::new(
        "ca.init",
        serde_json::json!({
            "ca_name": req.name,
            "generation": generation,
            "key_type": req.key_type.as_str(),
            "single_tier": req.single_tier,
            "encrypted": req.passphrase.is_some(),
            "root_serial": root_info.serial.as_str(),
            "root_not_after": crate::pki::time::rfc3339(root_info.not_after),
            "intermediate_serial": intermediate_info.as_ref().map(|i| i.serial.as_str().to_owned()),
        }),
    );
    event.fingerprint_sha256 = Some(root_info.fingerprint.as_str());
    audit::append(&layout, &event)?;
    fsio::sync_dir(staging)?;
    Ok(CaInitReport {
        dir: staging.to_owned(),
        root: root_info,
        intermediate: intermediate_info,
        encrypted: req.passphrase.is_some(),
        trust_path: layout.trust(),
    })
}

/// A CA certificate to make.
struct NewCa<'a> {
    layout: &'a Layout,
    generation: u32,
    level: CaLevel,
    common_name: String,
    key_type: KeyType,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    path_len: u8,
    constraints: Option<NameConstraints>,
    passphrase: Option<&'a Passphrase>,
    now: OffsetDateTime,
    crl_next: OffsetDateTime,
}

/// A CA that was made and written.
struct MadeCa {
    info: CertInfo,
    cert: rcgen::Certificate,
    key: SecretKey,
}

/// Makes a CA: a key, its certificate (self-signed for a root, else signed
/// by `parent`) and its first, empty CRL; writes all three into its
/// generation's directory.
fn make_ca(spec: NewCa<'_>, parent: Option<&Issuer<'_, &KeyPair>>) -> Result<MadeCa, PkiError> {
    let (layout, generation, level) = (spec.layout, spec.generation, spec.level);
    let key = SecretKey::generate(spec.key_type)?;
    let mut params = ca_params(
        &spec.common_name,
        &key,
        spec.not_before,
        spec.not_after,
        spec.path_len,
        spec.constraints,
    )?;
    let cert = match parent {
        None => params.self_signed(key.pair())?,
        Some(parent) => {
            params.use_authority_key_identifier_extension = true;
            params.signed_by(key.pair(), parent)?
        }
    };
    let info = cert_info(cert.der()).map_err(|e| ca_file(&layout.ca_cert(generation, level), e))?;
    let issuer = Issuer::from_ca_cert_der(cert.der(), key.pair())?;
    let crl = sign_crl(&issuer, &info, 1, spec.now, spec.crl_next, &[])?;
    write_key(&layout.ca_key(generation, level), &key, spec.passphrase)?;
    fsio::write_atomic(
        &layout.ca_cert(generation, level),
        cert.pem().as_bytes(),
        Mode::Public,
    )?;
    fsio::write_atomic(
        &layout.ca_crl(generation, level),
        crl.as_bytes(),
        Mode::Public,
    )?;
    Ok(MadeCa { info, cert, key })
}

pub fn ca_file(path: &Path, e: impl std::fmt::Display) -> PkiError {
    PkiError::CaFile {
        path: path.to_owned(),
        why: e.to_string(),
    }
}

fn write_key(
    path: &Path,
    key: &SecretKey,
    passphrase: Option<&Passphrase>,
) -> Result<(), PkiError> {
    let pem = key.to_pem(passphrase).map_err(|source| PkiError::Key {
        path: path.to_owned(),
        source,
    })?;
    fsio::write_atomic(path, pem.as_bytes(), Mode::Secret)?;
    Ok(())
}

fn name_constraints(dns: &[DnsName], ips: &[IpNet]) -> Option<NameConstraints> {
    if dns.is_empty() && ips.is_empty() {
        return None;
    }
    let mut permitted: Vec<GeneralSubtree> = dns
        .iter()
        .map(|d| GeneralSubtree::DnsName(d.as_str().to_owned()))
        .collect();
    permitted.extend(
        ips.iter().map(|n| {
            GeneralSubtree::IpAddress(rcgen::CidrSubnet::from_addr_prefix(n.addr, n.prefix))
        }),
    );
    Some(NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: Vec::new(),
    })
}

/// A fresh serial: 16 random bytes with the top bit clear (positive) and
/// a non-zero first byte, so it always encodes as 16 bytes: 127 random bits.
pub fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Sign(rcgen::Error::RingUnspecified))?;
    bytes[0] &= 0x7f;
    if bytes[0] == 0 {
        bytes[0] = 0x40;
    }
    Ok(SerialNumber::from_slice(&bytes))
}

fn ca_params(
    common_name: &str,
    key: &SecretKey,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    path_len: u8,
    constraints: Option<NameConstraints>,
) -> Result<CertificateParams, PkiError> {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    let mut params = CertificateParams::default();
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(random_serial()?);
    params.subject_alt_names = Vec::new();
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.extended_key_usages = Vec::new();
    params.name_constraints = constraints;
    params.crl_distribution_points = Vec::new();
    params.custom_extensions = Vec::new();
    params.use_authority_key_identifier_extension = false;
    params.key_identifier_method =
        KeyIdMethod::PreSpecified(keys::key_identifier(key.pair().public_key_raw()));
    Ok(params)
}

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

/// The CA that signs leaves (the intermediate, or the root when
/// single-tier) with its key unlocked.
pub struct IssuingCa {
    /// The CA certificate.
    pub cert: CertificateDer<'static>,
    /// Its fields.
    pub info: CertInfo,
    /// Certificates that go after the leaf in chain.pem.
    pub chain: Vec<CertificateDer<'static>>,
    /// The generation it belongs to.
    pub generation: u32,
    key: SecretKey,
}

impl IssuingCa {
    /// An rcgen issuer backed by this CA's certificate and key.
    pub fn issuer(&self) -> Result<Issuer<'_, &KeyPair>, PkiError> {
        Ok(Issuer::from_ca_cert_der(&self.cert, self.key.pair())?)
    }

    /// True when `ip` is allowed by the name constraints (or there are none for IPs).
    pub fn permits_ip(&self, ip: &IpAddr) -> bool {
        let nets = self.info.permitted_ips();
        nets.is_empty() || nets.iter().any(|n| n.contains(ip))
    }
}

/// The level that issues leaves in a PKI.
pub fn issuing_level(settings: &Settings) -> CaLevel {
    if settings.ca.single_tier {
        CaLevel::Root
    } else {
        CaLevel::Intermediate
    }
}

/// The directory generation holding a CA level's files: a root lives in
/// its root generation, an intermediate in its own.
pub fn files_generation(g: &Generation, level: CaLevel) -> u32 {
    match level {
        CaLevel::Root => g.root_generation,
        CaLevel::Intermediate => g.generation,
    }
}

/// True when any CA key of the PKI is stored encrypted.
pub fn issuing_key_encrypted(pki: &Pki) -> bool {
    let settings = pki.settings();
    let path = pki
        .layout()
        .ca_key(settings.ca.generation, issuing_level(settings));
    settings.ca.encrypted
        || fsio::read_secret(&path)
            .map(|(b, _)| keys::is_encrypted_pem(&b))
            .unwrap_or(false)
}

/// Loads the issuing CA of the current generation, decrypting its key.
pub fn load_issuing_ca(pki: &Pki, passphrase: Option<&Passphrase>) -> Result<IssuingCa, PkiError> {
    let generation = pki.settings().ca.generation;
    load_ca(
        pki,
        generation,
        issuing_level(pki.settings()),
        generation,
        passphrase,
    )
}

/// Loads one CA (certificate and unlocked key) from `ca/<files_generation>/`.
pub fn load_ca(
    pki: &Pki,
    files_generation: u32,
    level: CaLevel,
    generation: u32,
    passphrase: Option<&Passphrase>,
) -> Result<IssuingCa, PkiError> {
    let layout = pki.layout();
    let cert_path = layout.ca_cert(files_generation, level);
    let cert = read_cert(&cert_path)?;
    let info = cert_info(&cert).map_err(|e| ca_file(&cert_path, e))?;
    let key_path = layout.ca_key(files_generation, level);
    // As ssh does with its keys: refuse a CA key others may read, or that
    // sits in a directory others may change (or behind a symlink).
    for dir in [layout.generations_dir(), layout.ca_dir(files_generation)] {
        crate::pki::refuse_dir_open_to_others(&dir, false)?;
    }
    let (key_pem, mode) = fsio::read_secret(&key_path).map_err(|e| match e {
        fsio::FsError::Io { source, .. } => {
            ca_file(&key_path, format!("cannot read the CA key: {source}"))
        }
        symlink => PkiError::Fs(symlink),
    })?;
    if mode & 0o077 != 0 {
        return Err(PkiError::KeyOpenToOthers {
            path: key_path,
            mode,
        });
    }
    let key = SecretKey::from_pem(&key_pem, passphrase).map_err(|source| PkiError::Key {
        path: key_path.clone(),
        source,
    })?;
    if key.pair().public_key_raw() != x509_public_key(&cert).as_slice() {
        return Err(ca_file(
            &key_path,
            "the CA key does not match the CA certificate",
        ));
    }
    let chain = if level == CaLevel::Intermediate {
        vec![cert.clone()]
    } else {
        Vec::new()
    };
    Ok(IssuingCa {
        cert,
        info,
        chain,
        generation,
        key,
    })
}

fn x509_public_key(der: &[u8]) -> Vec<u8> {
    use x509_parser::prelude::FromDer;
    x509_parser::certificate::X509Certificate::from_der(der)
        .map(|(_, c)| c.public_key().subject_public_key.data.to_vec())
        .unwrap_or_default()
}

/// Reads the first certificate of a PEM file.
pub fn read_cert(path: &Path) -> Result<CertificateDer<'static>, PkiError> {
    let bytes = fs::read(path).map_err(|e| ca_file(path, format!("cannot read: {e}")))?;
    CertificateDer::from_pem_slice(&bytes)
        .map_err(|e| ca_file(path, format!("not a PEM certificate: {e}")))
}

/// The CRL number in a CRL file, to continue the sequence.
pub fn crl_number(path: &Path) -> Result<u64, PkiError> {
    let bytes = fs::read(path).map_err(|e| ca_file(path, format!("cannot read the CRL: {e}")))?;
    let der = rustls_pki_types::CertificateRevocationListDer::from_pem_slice(&bytes)
        .map_err(|e| ca_file(path, format!("not a PEM CRL: {e}")))?;
    der_crl_number(der.as_ref()).ok_or_else(|| ca_file(path, "the CRL has no usable CRL number"))
}

/// Reads the cRLNumber extension without decoding the revoked entries: a
/// 100,000-entry CRL is skipped over by its length, not parsed.
fn der_crl_number(der: &[u8]) -> Option<u64> {
    /// Splits one DER TLV off `input`: (tag, contents, rest).
    fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }
    const CRL_NUMBER_OID: &[u8] = &[0x55, 0x1d, 0x14]; // 2.5.29.20
    let (_, cert_list, _) = tlv(der)?;
    let (_, mut tbs, _) = tlv(cert_list)?;
    while !tbs.is_empty() {
        let (tag, contents, rest) = tlv(tbs)?;
        tbs = rest;
        if tag != 0xa0 {
            continue; // version, algorithm, issuer, times, revoked entries
        }
        let (_, mut extensions, _) = tlv(contents)?;
        while !extensions.is_empty() {
            let (_, extension, rest) = tlv(extensions)?;
            extensions = rest;
            let (_, oid, rest) = tlv(extension)?;
            if oid != CRL_NUMBER_OID {
                continue;
            }
            let (mut tag, mut value, rest) = tlv(rest)?;
            if tag == 0x01 {
                (tag, value, _) = tlv(rest)?; // skip the critical flag
            }
            if tag != 0x04 {
                return None;
            }
            let (int_tag, number, _) = tlv(value)?;
            if int_tag != 0x02 || number.len() > 9 {
                return None;
            }
            return Some(
                number
                    .iter()
                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
            );
        }
    }
    None
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

/// CA keys a command has decrypted, each once (a passphrase costs about
/// 0.3 s of PBKDF2), so that a command can prove it holds a key before it
/// changes anything and sign with it afterwards.
pub struct CaKeys<'a> {
    pki: &'a Pki,
    passphrase: Option<&'a Passphrase>,
    loaded: Vec<((u32, CaLevel), IssuingCa)>,
}

impl<'a> CaKeys<'a> {
    /// No key loaded yet; `passphrase` decrypts them.
    pub fn new(pki: &'a Pki, passphrase: Option<&'a Passphrase>) -> CaKeys<'a> {
        CaKeys {
            pki,
            passphrase,
            loaded: Vec::new(),
        }
    }

    /// The CA of `level` whose files are in `ca/<files>/`, loading it the
    /// first time.
    pub fn get(
        &mut self,
        files: u32,
        level: CaLevel,
        generation: u32,
    ) -> Result<&IssuingCa, PkiError> {
        let key = (files, level);
        let index = match self.loaded.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let ca = load_ca(self.pki, files, level, generation, self.passphrase)?;
                self.loaded.push((key, ca));
                self.loaded.len() - 1
            }
        };
        Ok(&self.loaded[index].1)
    }
}

/// Re-signs the CRL of one CA level of a generation from the inventory and
/// writes it atomically. Its number is the largest of the file's and the
/// inventory's last number plus one and the current Unix time, so numbers
/// only grow, also after the PKI is restored from an older backup. The
/// caller holds the inventory (and so the PKI lock) and publishes
/// `crls.pem` afterwards ([`crate::pki::publish::repair`]).
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
                            .map_err(|e| ca_file(path, format!("bad intermediate serial: {e}")))?,
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
/// hold them) and rewrites each, atomically, where it differs.
pub fn publish(layout: &Layout, inventory: &Inventory) -> Result<(), PkiError> {
    let (trust, crls) = derived(layout, inventory)?;
    // Written only where they differ: rerunning is free, and a file a crash
    // left stale is replaced.
    for (path, bytes) in [(layout.trust(), trust), (layout.crls(), crls)] {
        if fs::read(&path).ok().as_deref() != Some(bytes.as_bytes()) {
            fsio::write_atomic(&path, bytes.as_bytes(), Mode::Public)?;
        }
    }
    Ok(())
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
            trust.push_str(&fs::read_to_string(&path).map_err(|e| ca_file(&path, e))?);
        }
        let crl = layout.ca_crl(files, level);
        crls.push_str(&fs::read_to_string(&crl).map_err(|e| ca_file(&crl, e))?);
    }
    if trust.is_empty() {
        return Err(ca_file(
            &layout.trust(),
            "no CA generation is active; refusing to write an empty trust bundle",
        ));
    }
    Ok((trust, crls))
}

/// Which CRL covers certificates issued by a generation: its intermediate's,
/// or its root's when single-tier.
pub fn issuing_crl_level(g: &Generation) -> CaLevel {
    if g.single_tier {
        CaLevel::Root
    } else {
        CaLevel::Intermediate
    }
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

/// Finds a generation by number.
pub fn find_generation(
    generations: &[Generation],
    generation: u32,
) -> Result<Generation, PkiError> {
    generations
        .iter()
        .find(|g| g.generation == generation)
        .cloned()
        .ok_or(PkiError::UnknownGeneration(generation))
}

/// What `ca rotate` made.
#[derive(Debug)]
pub struct RotateReport {
    /// The new generation.
    pub generation: u32,
    /// The new root, when `--root`.
    pub root: Option<CertInfo>,
    /// The new intermediate (two-tier).
    pub intermediate: Option<CertInfo>,
    /// The generation it replaces as the issuer.
    pub previous: u32,
}

/// `ca rotate [--root]`: a new generation. Without `root`, a new
/// intermediate under the current root (relying parties change nothing);
/// with it, a new root (added to trust.pem beside the old one) and, when
/// two-tier, a new intermediate under it. New issuance uses the new
/// generation; the previous one keeps working until retired.
pub fn rotate(
    pki: &Pki,
    root: bool,
    passphrase: Option<&Passphrase>,
) -> Result<RotateReport, PkiError> {
    let settings = pki.settings().clone();
    if settings.ca.single_tier && !root {
        return Err(PkiError::SingleTierRotate);
    }
    let layout = pki.layout();
    let mut inventory = crate::pki::recover::open_for_change(layout)?;
    let generations = inventory.generations()?;
    let previous = find_generation(&generations, settings.ca.generation)?;
    let next = generations.iter().map(|g| g.generation).max().unwrap_or(0) + 1;
    let now = crate::pki::time::now();
    let not_before = now - BACKDATE;
    let key_type = settings.ca.key_type;
    fsio::ensure_dir(&layout.generations_dir(), DirMode::Private)?;
    fsio::ensure_dir(&layout.ca_dir(next), DirMode::Private)?;

    let crl_next = now + settings.defaults.crl_lifetime.duration();
    let spec = |level: CaLevel,
                common_name: String,
                not_after: OffsetDateTime,
                path_len: u8,
                constraints| NewCa {
        layout,
        generation: next,
        level,
        common_name,
        key_type,
        not_before,
        not_after,
        path_len,
        constraints,
        passphrase,
        now,
        crl_next,
    };
    let (root_generation, root_report, root_ca) = if root {
        let prev_root = load_ca(
            pki,
            previous.root_generation,
            CaLevel::Root,
            previous.generation,
            passphrase,
        )?;
        let lifetime = prev_root.info.not_after - prev_root.info.not_before - BACKDATE;
        let made = make_ca(
            spec(
                CaLevel::Root,
                format!("{} Root G{next}", settings.ca.name),
                now + lifetime,
                if settings.ca.single_tier { 0 } else { 1 },
                constraints_of(&prev_root.info),
            ),
            None,
        )?;
        let ca = load_ca(pki, next, CaLevel::Root, next, passphrase)?;
        (next, Some(made.info), ca)
    } else {
        let ca = load_ca(
            pki,
            previous.root_generation,
            CaLevel::Root,
            previous.generation,
            passphrase,
        )?;
        (previous.root_generation, None, ca)
    };
    let intermediate = if settings.ca.single_tier {
        None
    } else {
        let made = make_ca(
            spec(
                CaLevel::Intermediate,
                format!("{} Intermediate G{next}", settings.ca.name),
                root_ca.info.not_after,
                0,
                constraints_of(&root_ca.info),
            ),
            Some(&root_ca.issuer()?),
        )?;
        Some(made.info)
    };

    inventory.add_generation(&Generation {
        generation: next,
        root_generation,
        single_tier: settings.ca.single_tier,
        created_at: now,
        retired_at: None,
        intermediate_serial: intermediate.as_ref().map(|i| i.serial.to_string()),
        intermediate_revoked_at: None,
    })?;
    let mut new_settings = settings.clone();
    new_settings.ca.generation = next;
    new_settings.save(&layout.settings())?;
    crate::pki::publish::repair(pki, &inventory, &mut CaKeys::new(pki, passphrase), now)?;
    let event = AuditEvent::new(
        "ca.rotate",
        serde_json::json!({
            "generation": next,
            "previous_generation": previous.generation,
            "new_root": root,
            "root_serial": root_report.as_ref().map(|r| r.serial.to_string()),
            "intermediate_serial": intermediate.as_ref().map(|i| i.serial.to_string()),
        }),
    );
    inventory.queue_audit(&event.line())?;
    crate::pki::recover::flush_audit(layout, &inventory)?;
    Ok(RotateReport {
        generation: next,
        root: root_report,
        intermediate,
        previous: previous.generation,
    })
}

fn constraints_of(info: &CertInfo) -> Option<NameConstraints> {
    name_constraints(&info.permitted_dns(), &info.permitted_ips())
}

/// What `ca retire` did.
#[derive(Debug)]
pub struct RetireReport {
    /// The retired generation.
    pub generation: u32,
    /// True when its root left trust.pem.
    pub root_removed: bool,
    /// True when its intermediate was revoked in the root's CRL.
    pub intermediate_revoked: bool,
    /// Live leaves it still had (only with `--force`).
    pub forced_leaves: Vec<crate::pki::inventory::Record>,
}

/// `ca retire GEN`: takes a generation out of service. Its intermediate is
/// revoked in the root's CRL, and its root leaves trust.pem when no active
/// generation still uses it. Refused for the current generation, and while
/// unexpired, unrevoked leaves depend on it (unless `force`).
pub fn retire(
    pki: &Pki,
    generation: u32,
    force: bool,
    passphrase: Option<&Passphrase>,
) -> Result<RetireReport, PkiError> {
    let layout = pki.layout();
    let mut inventory = crate::pki::recover::open_for_change(layout)?;
    let generations = inventory.generations()?;
    let target = find_generation(&generations, generation)?;
    if generation == pki.settings().ca.generation {
        return Err(PkiError::RetireCurrent(generation));
    }
    if target.retired_at.is_some() {
        return Err(PkiError::AlreadyRetired(generation));
    }
    let now = crate::pki::time::now();
    let live = inventory.live_from(generation, now)?;
    if !live.is_empty() && !force {
        return Err(PkiError::GenerationInUse {
            generation,
            leaves: live
                .iter()
                .map(|r| format!("{} ({})", r.name, r.serial))
                .collect(),
        });
    }
    inventory.retire_generation(generation, now, (target.root_generation, CaLevel::Root))?;
    let generations = inventory.generations()?;
    let root_still_used = generations
        .iter()
        .any(|g| g.retired_at.is_none() && g.root_generation == target.root_generation);
    let intermediate_revoked = target.intermediate_serial.is_some() && root_still_used;
    crate::pki::publish::repair(pki, &inventory, &mut CaKeys::new(pki, passphrase), now)?;
    let event = AuditEvent::new(
        "ca.retire",
        serde_json::json!({
            "generation": generation,
            "forced": force,
            "live_leaves": live.iter().map(|r| r.serial.to_string()).collect::<Vec<_>>(),
            "root_removed_from_trust": !root_still_used,
            "intermediate_revoked": intermediate_revoked,
        }),
    );
    inventory.queue_audit(&event.line())?;
    crate::pki::recover::flush_audit(layout, &inventory)?;
    Ok(RetireReport {
        generation,
        root_removed: !root_still_used,
        intermediate_revoked,
        forced_leaves: if force { live } else { Vec::new() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::model::Serial;

    #[test]
    fn crl_number_is_read_without_decoding_entries() -> Result<(), Box<dyn std::error::Error>> {
        let key = SecretKey::generate(KeyType::EcdsaP256)?;
        let params = ca_params(
            "Test CA",
            &key,
            crate::pki::time::now(),
            crate::pki::time::now() + time::Duration::days(1),
            0,
            None,
        )?;
        let cert = params.self_signed(key.pair())?;
        let info = cert_info(cert.der())?;
        let issuer = Issuer::from_ca_cert_der(cert.der(), key.pair())?;
        let now = crate::pki::time::now();
        let revoked: Vec<Revoked> = (1..=50u32)
            .map(|i| Revoked {
                serial: Serial::from_be_bytes(&i.to_be_bytes()),
                revoked_at: now,
                reason: Some("key-compromise".into()),
            })
            .collect();
        for number in [1u64, 255, 256, 70_000, u64::from(u32::MAX) + 7] {
            let pem = sign_crl(
                &issuer,
                &info,
                number,
                now,
                now + time::Duration::days(1),
                &revoked,
            )?;
            let der =
                rustls_pki_types::CertificateRevocationListDer::from_pem_slice(pem.as_bytes())?;
            assert_eq!(der_crl_number(der.as_ref()), Some(number));
        }
        assert_eq!(der_crl_number(b"garbage"), None);
        Ok(())
    }
}
