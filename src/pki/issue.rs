//! `issue`: a leaf certificate for a name, with a key mtlsctl makes or the
//! public key of a CSR. The profile alone decides the extensions; a CSR
//! contributes its public key and nothing else, so it can never ask for
//! CA:TRUE or an extra EKU. The subject and SANs come from the command line.
//!
//! Signing happens before the PKI lock is taken (it is the slow part); the
//! name check, the file writes, the inventory insert and the audit line then
//! happen under the lock, so parallel `issue` processes never collide.

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

use crate::pki::audit::{self, AuditEvent};
use crate::pki::ca::{BACKDATE, IssuingCa, random_serial};
use crate::pki::fsio::{self, Mode};
use crate::pki::inspect::{cert_info, describe_key, normalise_pem};
use crate::pki::inventory::{Inventory, Record};
use crate::pki::keys::{SecretKey, key_identifier};
use crate::pki::model::{
    CertName, DnValue, DnsName, Email, KeyType, Profile, Role, SanUri, Validity,
};
use crate::pki::{Pki, PkiError};

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

/// Issues, writes and records a certificate.
pub fn issue(pki: &Pki, req: IssueRequest, ca: &IssuingCa) -> Result<Issued, PkiError> {
    if req.profile.serves() && req.dns.is_empty() && req.ips.is_empty() {
        return Err(PkiError::ServerNeedsSan(req.profile));
    }
    check_constraints(&req, ca)?;
    let defaults = &pki.settings().defaults;
    let validity = req
        .validity
        .unwrap_or_else(|| defaults.validity(req.profile));
    let now = crate::pki::time::now();
    let not_after = now + validity.duration();
    if not_after > ca.info.not_after {
        return Err(PkiError::ValidityPastCa {
            not_after: crate::pki::time::rfc3339(not_after),
            ca_not_after: crate::pki::time::rfc3339(ca.info.not_after),
        });
    }

    let issuer = ca.issuer()?;
    let (key, cert) = match &req.key {
        KeySource::Generate(key_type) => {
            let key_type = key_type.unwrap_or(defaults.key_type);
            let key = SecretKey::generate(key_type)?;
            let key_id = key_identifier(key.pair().public_key_raw());
            let params = leaf_params(&req, key_type, key_id, now - BACKDATE, not_after)?;
            let cert = params.signed_by(key.pair(), &issuer)?;
            (Some(key), cert)
        }
        KeySource::Csr(path) => {
            let (spki, key_type, key_id) = read_csr(path)?;
            let params = leaf_params(&req, key_type, key_id, now - BACKDATE, not_after)?;
            (None, params.signed_by(&spki, &issuer)?)
        }
    };
    let info = cert_info(cert.der()).map_err(|e| PkiError::CaFile {
        path: pki.layout().leaf_cert(&req.name),
        why: e.to_string(),
    })?;
    let mut chain_pem = cert.pem();
    for intermediate in &ca.chain {
        chain_pem.push_str(&pem_cert(intermediate));
    }
    let key_pem = key.as_ref().map(|k| k.to_pem(None)).transpose()?;

    let layout = pki.layout();
    let mut inventory = Inventory::open_for_write(layout)?;
    if let Some(existing) = inventory.current(&req.name)? {
        return Err(PkiError::NameTaken {
            name: req.name,
            serial: existing.serial,
        });
    }
    let dir = layout.leaf_dir(&req.name);
    fsio::create_dir_all(&dir)?;
    let key_path = layout.leaf_key(&req.name);
    match &key_pem {
        Some(pem) => fsio::write_atomic(&key_path, pem.as_bytes(), Mode::Secret)?,
        None => remove_stale(&key_path)?,
    }
    fsio::write_atomic(
        &layout.leaf_cert(&req.name),
        cert.pem().as_bytes(),
        Mode::Public,
    )?;
    fsio::write_atomic(
        &layout.leaf_chain(&req.name),
        chain_pem.as_bytes(),
        Mode::Public,
    )?;

    let mut roles = req.roles.clone();
    roles.sort();
    roles.dedup();
    let record = Record {
        serial: info.serial.clone(),
        name: req.name.clone(),
        profile: req.profile,
        key_type: info.key_type,
        subject: info.subject.clone(),
        issuer: info.issuer.clone(),
        sans: info.sans.clone(),
        not_before: info.not_before,
        not_after: info.not_after,
        fingerprint: info.fingerprint.clone(),
        ca_generation: ca.generation,
        key_held: key_pem.is_some(),
        current: true,
        issued_at: now,
        revoked_at: None,
        revocation_reason: None,
        roles,
    };
    inventory.insert(&record)?;
    let mut event = AuditEvent::new(
        "issue",
        serde_json::json!({
            "profile": record.profile.as_str(),
            "subject": record.subject,
            "sans": record.sans,
            "not_after": crate::pki::time::rfc3339(record.not_after),
            "key": if matches!(req.key, KeySource::Csr(_)) { "csr" } else { "generated" },
            "roles": record.roles.iter().map(Role::as_str).collect::<Vec<_>>(),
        }),
    );
    event.name = Some(record.name.as_str());
    event.serial = Some(record.serial.as_str());
    event.fingerprint_sha256 = Some(record.fingerprint.as_str());
    audit::append(layout, &event)?;
    drop(inventory);
    Ok(Issued {
        cert_path: layout.leaf_cert(&record.name),
        key_path: record.key_held.then(|| layout.leaf_key(&record.name)),
        chain_path: layout.leaf_chain(&record.name),
        record,
    })
}

fn remove_stale(path: &Path) -> Result<(), PkiError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fsio::FsError::new("remove stale", path, e).into()),
    }
}

fn pem_cert(der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new("CERTIFICATE", der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

fn check_constraints(req: &IssueRequest, ca: &IssuingCa) -> Result<(), PkiError> {
    let permitted_dns = ca.permitted_dns();
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
    req: &IssueRequest,
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
    let cn = req
        .cn
        .as_ref()
        .map(DnValue::as_str)
        .unwrap_or(req.name.as_str());
    dn.push(DnType::CommonName, cn);

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
    let unreadable = |why: String| PkiError::CsrUnreadable {
        path: path.to_owned(),
        why,
    };
    let bytes = fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let bytes = normalise_pem(&bytes);
    let der = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        CertificateSigningRequestDer::from_pem_slice(&bytes)
            .map_err(|e| unreadable(format!("no CERTIFICATE REQUEST block: {e}")))?
            .as_ref()
            .to_vec()
    } else {
        bytes
    };
    let (rest, csr) =
        X509CertificationRequest::from_der(&der).map_err(|e| unreadable(e.to_string()))?;
    if !rest.is_empty() {
        return Err(unreadable(format!("{} bytes of trailing data", rest.len())));
    }
    let spki = &csr.certification_request_info.subject_pki;
    let (key, key_type) = describe_key(spki);
    let key_type = key_type.ok_or_else(|| PkiError::CsrKeyUnsupported {
        path: path.to_owned(),
        key,
    })?;
    csr.verify_signature()
        .map_err(|_| PkiError::CsrSignature(path.to_owned()))?;
    let public_key =
        rcgen::SubjectPublicKeyInfo::from_der(spki.raw).map_err(|e| unreadable(e.to_string()))?;
    Ok((
        public_key,
        key_type,
        key_identifier(&spki.subject_public_key.data),
    ))
}
