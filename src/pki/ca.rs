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
use crate::pki::fsio::{self, Lock, Mode};
use crate::pki::inspect::{CertInfo, cert_info};
use crate::pki::inventory::{Inventory, lock_timeout};
use crate::pki::keys::{self, Passphrase, SecretKey};
use crate::pki::layout::{CaLevel, Layout};
use crate::pki::model::{DnsName, IpNet, KeyType, Validity};
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
    let mut rand = [0u8; 6];
    let _ = aws_lc_rs::rand::fill(&mut rand);
    let staging = parent.join(format!(
        ".{base}.init.{}.{}",
        std::process::id(),
        hex::encode(rand)
    ));
    let result = build(&staging, &req).and_then(|report| {
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

fn build(staging: &Path, req: &CaInitRequest) -> Result<CaInitReport, PkiError> {
    fs::create_dir(staging).map_err(|e| fsio::FsError::new("create directory", staging, e))?;
    let layout = Layout::new(staging);
    let generation = 1;
    fsio::create_dir_all(&layout.ca_dir(generation))?;
    fsio::create_dir_all(&layout.root().join("certs"))?;
    let lock = Lock::exclusive(&layout.lock(), lock_timeout())
        .map_err(crate::pki::inventory::InventoryError::from)?;

    let now = crate::pki::time::now();
    let not_before = now - BACKDATE;
    let not_after = now + req.validity.duration();
    let constraints = name_constraints(&req.permit_dns, &req.permit_ip);

    let root_key = SecretKey::generate(req.key_type)?;
    let root_params = ca_params(
        &format!("{} Root G{generation}", req.name),
        &root_key,
        not_before,
        not_after,
        if req.single_tier { 0 } else { 1 },
        constraints.clone(),
    )?;
    let root_cert = root_params.self_signed(root_key.pair())?;
    let root_issuer = Issuer::from_ca_cert_der(root_cert.der(), root_key.pair())?;
    let root_info = cert_info(root_cert.der())
        .map_err(|e| ca_file(&layout.ca_cert(generation, CaLevel::Root), e))?;

    write_key(
        &layout.ca_key(generation, CaLevel::Root),
        &root_key,
        req.passphrase.as_ref(),
    )?;
    fsio::write_atomic(
        &layout.ca_cert(generation, CaLevel::Root),
        root_cert.pem().as_bytes(),
        Mode::Public,
    )?;
    fsio::write_atomic(&layout.trust(), root_cert.pem().as_bytes(), Mode::Public)?;
    let settings = Settings::new(CaSettings {
        name: req.name.clone(),
        generation,
        single_tier: req.single_tier,
        key_type: req.key_type,
        encrypted: req.passphrase.is_some(),
    });
    let crl_next = now + settings.defaults.crl_lifetime.duration();
    let root_crl = sign_crl(&root_issuer, &root_info, 1, now, crl_next, Vec::new())?;
    fsio::write_atomic(
        &layout.ca_crl(generation, CaLevel::Root),
        root_crl.as_bytes(),
        Mode::Public,
    )?;

    let intermediate_info = if req.single_tier {
        None
    } else {
        let key = SecretKey::generate(req.key_type)?;
        let mut params = ca_params(
            &format!("{} Intermediate G{generation}", req.name),
            &key,
            not_before,
            not_after,
            0,
            constraints,
        )?;
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(key.pair(), &root_issuer)?;
        let info = cert_info(cert.der())
            .map_err(|e| ca_file(&layout.ca_cert(generation, CaLevel::Intermediate), e))?;
        let issuer = Issuer::from_ca_cert_der(cert.der(), key.pair())?;
        let crl = sign_crl(&issuer, &info, 1, now, crl_next, Vec::new())?;
        write_key(
            &layout.ca_key(generation, CaLevel::Intermediate),
            &key,
            req.passphrase.as_ref(),
        )?;
        fsio::write_atomic(
            &layout.ca_cert(generation, CaLevel::Intermediate),
            cert.pem().as_bytes(),
            Mode::Public,
        )?;
        fsio::write_atomic(
            &layout.ca_crl(generation, CaLevel::Intermediate),
            crl.as_bytes(),
            Mode::Public,
        )?;
        Some(info)
    };

    settings.save(&layout.settings())?;
    drop(Inventory::create(&layout.inventory(), lock)?);
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

fn ca_file(path: &Path, e: impl std::fmt::Display) -> PkiError {
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
    revoked: Vec<RevokedCertParams>,
) -> Result<String, PkiError> {
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

    /// The permitted DNS subtrees of its name constraints.
    pub fn permitted_dns(&self) -> Vec<DnsName> {
        self.info
            .permitted_names
            .iter()
            .filter_map(|n| n.strip_prefix("DNS:"))
            .filter_map(|d| DnsName::parse_constraint(d).ok())
            .collect()
    }

    /// The permitted IP subtrees of its name constraints.
    pub fn permitted_ips(&self) -> Vec<IpNet> {
        self.info
            .permitted_names
            .iter()
            .filter_map(|n| n.strip_prefix("IP:"))
            .filter_map(|d| d.parse().ok())
            .collect()
    }

    /// True when `ip` is allowed by the name constraints (or there are none for IPs).
    pub fn permits_ip(&self, ip: &IpAddr) -> bool {
        let nets = self.permitted_ips();
        nets.is_empty() || nets.iter().any(|n| n.contains(ip))
    }
}

/// The level that issues leaves in the current generation.
pub fn issuing_level(settings: &Settings) -> CaLevel {
    if settings.ca.single_tier {
        CaLevel::Root
    } else {
        CaLevel::Intermediate
    }
}

/// True when the issuing CA's key is stored encrypted.
pub fn issuing_key_encrypted(pki: &Pki) -> bool {
    let settings = pki.settings();
    let path = pki
        .layout()
        .ca_key(settings.ca.generation, issuing_level(settings));
    settings.ca.encrypted
        || fs::read(path)
            .map(|b| keys::is_encrypted_pem(&b))
            .unwrap_or(false)
}

/// Loads the issuing CA of the current generation, decrypting its key.
pub fn load_issuing_ca(pki: &Pki, passphrase: Option<&Passphrase>) -> Result<IssuingCa, PkiError> {
    let layout = pki.layout();
    let generation = pki.settings().ca.generation;
    let level = issuing_level(pki.settings());
    let cert_path = layout.ca_cert(generation, level);
    let cert = read_cert(&cert_path)?;
    let info = cert_info(&cert).map_err(|e| ca_file(&cert_path, e))?;
    let key_path = layout.ca_key(generation, level);
    let key_pem = fs::read(&key_path)
        .map_err(|e| ca_file(&key_path, format!("cannot read the CA key: {e}")))?;
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
