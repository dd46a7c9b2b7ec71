//! A CA certificate's fields and making one: key, certificate, first CRL.
//! Every rcgen field is set explicitly: rcgen's defaults (validity 1975 to
//! 4096, a placeholder subject, a serial derived from the key, no AKI) are
//! wrong for a PKI.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, GeneralSubtree, IsCa, Issuer,
    KeyIdMethod, KeyPair, KeyUsagePurpose, NameConstraints, SerialNumber,
};
use time::OffsetDateTime;

use super::crl::sign_crl;
use crate::pki::PkiError;
use crate::pki::distribution::{Distribution, IssuerFiles};
use crate::pki::fsio::{self, Mode};
use crate::pki::inspect::{CertInfo, cert_info};
use crate::pki::keys::{self, Passphrase, SecretKey};
use crate::pki::layout::{CaLevel, Layout};
use crate::pki::model::{DnsName, IpNet, KeyType};

/// A CA certificate to make.
pub(super) struct NewCa<'a> {
    pub(super) layout: &'a Layout,
    pub(super) generation: u32,
    pub(super) level: CaLevel,
    pub(super) common_name: String,
    pub(super) key_type: KeyType,
    pub(super) not_before: OffsetDateTime,
    pub(super) not_after: OffsetDateTime,
    pub(super) path_len: u8,
    pub(super) constraints: Option<NameConstraints>,
    pub(super) passphrase: Option<&'a Passphrase>,
    pub(super) now: OffsetDateTime,
    pub(super) crl_next: OffsetDateTime,
    /// The CRL and CA certificate URLs an intermediate carries.
    pub(super) distribution: &'a Distribution,
}

/// A CA that was made and written.
pub(super) struct MadeCa {
    pub(super) info: CertInfo,
    pub(super) cert: rcgen::Certificate,
    pub(super) key: SecretKey,
}

/// Makes a CA: a key, its certificate (self-signed for a root, else signed
/// by `parent`, whose files are in `ca/<parent files>/`, with the
/// distribution URLs pointing there) and its first, empty CRL; writes all
/// three into its generation's directory.
pub(super) fn make_ca(
    spec: NewCa<'_>,
    parent: Option<(&Issuer<'_, &KeyPair>, IssuerFiles)>,
) -> Result<MadeCa, PkiError> {
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
        None => {
            // A root's CDP names its own CRL: relying parties that check
            // every certificate of the path, the anchor included (openssl
            // -crl_check_all), find one. No AIA: it has no issuer to fetch.
            let own = Distribution {
                crl_url: spec.distribution.crl_url.clone(),
                aia_url: None,
            };
            own.apply(
                &mut params,
                IssuerFiles {
                    generation,
                    level: CaLevel::Root,
                },
            );
            params.self_signed(key.pair())?
        }
        Some((parent, files)) => {
            params.use_authority_key_identifier_extension = true;
            spec.distribution.apply(&mut params, files);
            params.signed_by(key.pair(), parent)?
        }
    };
    let info = cert_info(cert.der()).map_err(|source| PkiError::CertMalformed {
        path: layout.ca_cert(generation, level),
        source,
    })?;
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

pub(super) fn write_key(
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

pub(super) fn name_constraints(dns: &[DnsName], ips: &[IpNet]) -> Option<NameConstraints> {
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

pub(super) fn ca_params(
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

pub(super) fn constraints_of(info: &CertInfo) -> Option<NameConstraints> {
    name_constraints(&info.permitted_dns(), &info.permitted_ips())
}
