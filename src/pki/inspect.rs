//! Reading X.509 artefacts: certificates, chains, CSRs, CRLs and PKCS#12
//! files, PEM or DER, into plain structs the output layer prints. Also the
//! one place that turns a parsed certificate into the fields the inventory
//! records, so `issue` and `inspect` describe a certificate the same way.
//!
//! Long (about 650 lines) because it is one parser per artefact type
//! (certificate, CSR, CRL, PKCS#12, key description) and their errors,
//! each short, kept together so the fields they print agree.

use std::net::IpAddr;

use rustls_pki_types::pem::SectionKind;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::pki::dn;
use crate::pki::model::{DnsName, Fingerprint, IpNet, KeyType, Serial};
use crate::pki::time::from_unix;

/// Why a file could not be read as any X.509 artefact.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// Nothing in the file parses as a certificate, CSR, CRL or PKCS#12.
    #[error("the file is not a certificate, chain, CSR, CRL or PKCS#12 file (PEM or DER){0}")]
    Unrecognised(Unrecognised),
    /// A PEM block of a known type failed to parse.
    #[error("the {kind} in the file is malformed: {why}")]
    Malformed {
        /// The artefact type.
        kind: &'static str,
        /// The parser's complaint.
        why: Malformation,
    },
    /// The file looks like PKCS#12 but the password did not open it.
    #[error(
        "the PKCS#12 file could not be opened with the given password (wrong password, or not a PKCS#12 file: {0})"
    )]
    Pkcs12(p12_keystore::error::Error),
    /// The file holds a private key, which `inspect` does not print.
    #[error(
        "the file holds a private key; inspect reads certificates, CSRs, CRLs and PKCS#12 files"
    )]
    PrivateKey,
}

/// What more [`InspectError::Unrecognised`] can say about the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unrecognised {
    /// Nothing more.
    Unknown,
    /// PEM, but without a block `inspect` reads.
    NoKnownPemBlock,
    /// DER that may be PKCS#12 and no password was given.
    MaybePkcs12,
}

impl std::fmt::Display for Unrecognised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unrecognised::Unknown => "",
            Unrecognised::NoKnownPemBlock => {
                " (no CERTIFICATE, CERTIFICATE REQUEST or X509 CRL block found)"
            }
            Unrecognised::MaybePkcs12 => {
                "; if it is a PKCS#12 file, give its password with --password-file FILE or MTLSCTL_P12_PASSWORD"
            }
        })
    }
}

/// Why an artefact is malformed ([`InspectError::Malformed`]).
#[derive(Debug, thiserror::Error)]
pub enum Malformation {
    /// The PEM armour.
    #[error(transparent)]
    Pem(rustls_pki_types::pem::Error),
    /// The DER inside.
    #[error(transparent)]
    Der(x509_parser::nom::Err<x509_parser::error::X509Error>),
    /// Bytes after the certificate.
    #[error("{0} bytes of trailing data")]
    TrailingData(usize),
    /// A name attribute that cannot be written back as DER.
    #[error("a name attribute cannot be re-encoded: {0}")]
    NameNotEncodable(x509_parser::asn1_rs::SerializeError),
}

/// A certificate's fields, as shown by `inspect` and recorded by `issue`.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// Subject DN, for people (`show`, `list`, `inspect`).
    pub subject: String,
    /// Subject DN in RFC 4514 form (see [`crate::pki::dn`]), for programs.
    pub subject_rfc4514: String,
    /// The subject's (first) common name, read from the parsed name.
    pub common_name: Option<String>,
    /// Issuer DN, for people.
    pub issuer: String,
    /// Issuer DN in RFC 4514 form, for programs.
    pub issuer_rfc4514: String,
    /// Serial number.
    pub serial: Serial,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// SHA-256 of the DER.
    pub fingerprint: Fingerprint,
    /// Public key description (`ecdsa-p256`, `rsa-2048`, ...).
    pub key: String,
    /// The key type when mtlsctl names it.
    pub key_type: Option<KeyType>,
    /// Signature algorithm name.
    pub signature_algorithm: String,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// basicConstraints pathLenConstraint.
    pub path_len: Option<u32>,
    /// keyUsage bits by name.
    pub key_usage: Vec<String>,
    /// extendedKeyUsage purposes by name.
    pub extended_key_usage: Vec<String>,
    /// SANs as `DNS:…`, `IP:…`, `URI:…`, `email:…`.
    pub sans: Vec<String>,
    /// Subject key identifier, hex.
    pub subject_key_id: Option<String>,
    /// Authority key identifier, hex.
    pub authority_key_id: Option<String>,
    /// Permitted name-constraint subtrees.
    pub permitted_names: Vec<String>,
    /// True when subject and issuer are equal (a root).
    pub self_issued: bool,
}

impl CertInfo {
    /// The permitted DNS subtrees of its name constraints.
    pub fn permitted_dns(&self) -> Vec<DnsName> {
        self.permitted_names
            .iter()
            .filter_map(|n| n.strip_prefix("DNS:"))
            .filter_map(|d| DnsName::parse_constraint(d).ok())
            .collect()
    }

    /// The permitted IP subtrees of its name constraints.
    pub fn permitted_ips(&self) -> Vec<IpNet> {
        self.permitted_names
            .iter()
            .filter_map(|n| n.strip_prefix("IP:"))
            .filter_map(|d| d.parse().ok())
            .collect()
    }
}

/// A certificate as PEM (64-column base64, LF line ends).
pub fn certificate_pem(der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new("CERTIFICATE", der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// A CSR's fields.
#[derive(Debug, Clone)]
pub struct CsrInfo {
    /// Requested subject DN.
    pub subject: String,
    /// Public key description.
    pub key: String,
    /// Requested SANs (mtlsctl ignores them when signing).
    pub requested_sans: Vec<String>,
    /// Whether the self-signature verifies.
    pub signature: SignatureCheck,
}

/// The outcome of checking a self-signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// It verifies.
    Valid,
    /// It does not verify: the request was altered, or signed by another key.
    Invalid,
    /// The algorithm (named) cannot be checked here; nothing is claimed.
    Unsupported(String),
}

/// One revoked entry of a CRL.
#[derive(Debug, Clone)]
pub struct RevokedInfo {
    /// Serial number.
    pub serial: Serial,
    /// revocationDate.
    pub revoked_at: OffsetDateTime,
    /// Reason code name, if present.
    pub reason: Option<String>,
}

/// A CRL's fields.
#[derive(Debug, Clone)]
pub struct CrlInfo {
    /// Issuer DN.
    pub issuer: String,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: Option<OffsetDateTime>,
    /// cRLNumber, decimal.
    pub crl_number: Option<String>,
    /// Revoked entries.
    pub revoked: Vec<RevokedInfo>,
}

/// What a file turned out to hold.
#[derive(Debug, Clone)]
pub enum Inspected {
    /// One certificate or a chain, in file order.
    Certificates(Vec<CertInfo>),
    /// A certificate signing request.
    Csr(CsrInfo),
    /// One or more certificate revocation lists (`crls.pem` holds one
    /// per CA level), in file order.
    Crls(Vec<CrlInfo>),
    /// A PKCS#12 file: its certificates and whether it holds a key.
    Pkcs12 {
        /// The certificates, leaf first where the file says so.
        certificates: Vec<CertInfo>,
        /// Number of private keys inside (never shown).
        private_keys: usize,
    },
}

/// Reads any supported artefact. `password` opens PKCS#12 files; without
/// one, an empty password is tried.
pub fn inspect(bytes: &[u8], password: Option<&str>) -> Result<Inspected, InspectError> {
    if looks_like_pem(bytes) {
        return inspect_pem(&normalise_pem(bytes));
    }
    if let Ok(info) = cert_info(bytes) {
        return Ok(Inspected::Certificates(vec![info]));
    }
    if let Ok((_, crl)) = CertificateRevocationList::from_der(bytes) {
        return Ok(Inspected::Crls(vec![crl_info(&crl)]));
    }
    if let Ok((_, csr)) = X509CertificationRequest::from_der(bytes) {
        return Ok(Inspected::Csr(csr_info(&csr)));
    }
    if bytes.first() == Some(&0x30) {
        return inspect_pkcs12(bytes, password);
    }
    Err(InspectError::Unrecognised(Unrecognised::Unknown))
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Rewrites the legacy `NEW CERTIFICATE REQUEST` label (keytool, old
/// openssl) to `CERTIFICATE REQUEST`, which the PEM reader knows.
pub fn normalise_pem(bytes: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("NEW CERTIFICATE REQUEST") => text
            .replace("NEW CERTIFICATE REQUEST", "CERTIFICATE REQUEST")
            .into_bytes(),
        _ => bytes.to_vec(),
    }
}

/// The file's first artefact decides what it is: certificates (a chain)
/// or CRLs (`crls.pem`) are all read, a CSR alone; blocks of another kind
/// after the first are skipped.
fn inspect_pem(bytes: &[u8]) -> Result<Inspected, InspectError> {
    let mut certs = Vec::new();
    let mut crls = Vec::new();
    let mut reader = std::io::Cursor::new(bytes);
    loop {
        let next =
            rustls_pki_types::pem::from_buf(&mut reader).map_err(|e| InspectError::Malformed {
                kind: "PEM data",
                why: Malformation::Pem(e),
            })?;
        let Some((kind, der)) = next else { break };
        match kind {
            SectionKind::Certificate if crls.is_empty() => certs.push(cert_info(&der)?),
            SectionKind::Csr if certs.is_empty() && crls.is_empty() => {
                let (_, csr) = X509CertificationRequest::from_der(&der).map_err(|e| {
                    InspectError::Malformed {
                        kind: "certificate request",
                        why: Malformation::Der(e),
                    }
                })?;
                return Ok(Inspected::Csr(csr_info(&csr)));
            }
            SectionKind::Crl if certs.is_empty() => {
                let (_, crl) = CertificateRevocationList::from_der(&der).map_err(|e| {
                    InspectError::Malformed {
                        kind: "CRL",
                        why: Malformation::Der(e),
                    }
                })?;
                crls.push(crl_info(&crl));
            }
            SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey => {
                return Err(InspectError::PrivateKey);
            }
            _ => {}
        }
    }
    if !crls.is_empty() {
        return Ok(Inspected::Crls(crls));
    }
    if certs.is_empty() {
        if crate::pki::keys::is_encrypted_pem(bytes) {
            return Err(InspectError::PrivateKey);
        }
        return Err(InspectError::Unrecognised(Unrecognised::NoKnownPemBlock));
    }
    Ok(Inspected::Certificates(certs))
}

fn inspect_pkcs12(bytes: &[u8], password: Option<&str>) -> Result<Inspected, InspectError> {
    use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
    let store = KeyStore::from_pkcs12(bytes, password.unwrap_or(""), Pkcs12ImportPolicy::Relaxed)
        .map_err(|e| {
        if password.is_none() {
            InspectError::Unrecognised(Unrecognised::MaybePkcs12)
        } else {
            InspectError::Pkcs12(e)
        }
    })?;
    let mut certificates = Vec::new();
    let mut private_keys = 0;
    for (_, entry) in store.entries() {
        match entry {
            KeyStoreEntry::PrivateKeyChain(chain) => {
                private_keys += 1;
                for cert in chain.certs() {
                    certificates.push(cert_info(cert.as_der())?);
                }
            }
            KeyStoreEntry::Certificate(cert) => certificates.push(cert_info(cert.as_der())?),
            KeyStoreEntry::Secret(_) => {}
        }
    }
    Ok(Inspected::Pkcs12 {
        certificates,
        private_keys,
    })
}

/// Parses one DER certificate into its fields.
pub fn cert_info(der: &[u8]) -> Result<CertInfo, InspectError> {
    let malformed = |why: Malformation| InspectError::Malformed {
        kind: "certificate",
        why,
    };
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| malformed(Malformation::Der(e)))?;
    if !rest.is_empty() {
        return Err(malformed(Malformation::TrailingData(rest.len())));
    }
    let (key, key_type) = describe_key(cert.public_key());
    let rfc4514 =
        |name| dn::rfc4514(name).map_err(|e| malformed(Malformation::NameNotEncodable(e)));
    let mut info = CertInfo {
        subject: cert.subject().to_string(),
        subject_rfc4514: rfc4514(cert.subject())?,
        common_name: cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned),
        issuer: cert.issuer().to_string(),
        issuer_rfc4514: rfc4514(cert.issuer())?,
        serial: Serial::from_be_bytes(cert.raw_serial()),
        not_before: from_unix(cert.validity().not_before.timestamp()),
        not_after: from_unix(cert.validity().not_after.timestamp()),
        fingerprint: Fingerprint::of(der),
        key,
        key_type,
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        is_ca: false,
        path_len: None,
        key_usage: Vec::new(),
        extended_key_usage: Vec::new(),
        sans: Vec::new(),
        subject_key_id: None,
        authority_key_id: None,
        permitted_names: Vec::new(),
        self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
    };
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => {
                info.is_ca = bc.ca;
                info.path_len = bc.path_len_constraint;
            }
            ParsedExtension::KeyUsage(ku) => {
                info.key_usage = ku
                    .to_string()
                    .split(", ")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let named = [
                    (eku.server_auth, "serverAuth"),
                    (eku.client_auth, "clientAuth"),
                    (eku.code_signing, "codeSigning"),
                    (eku.email_protection, "emailProtection"),
                    (eku.time_stamping, "timeStamping"),
                    (eku.ocsp_signing, "OCSPSigning"),
                    (eku.any, "anyExtendedKeyUsage"),
                ];
                info.extended_key_usage = named
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, n)| (*n).to_owned())
                    .collect();
                info.extended_key_usage
                    .extend(eku.other.iter().map(|o| o.to_id_string()));
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                info.sans = san.general_names.iter().map(general_name).collect();
            }
            ParsedExtension::SubjectKeyIdentifier(ski) => {
                info.subject_key_id = Some(hex::encode(ski.0))
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                info.authority_key_id = aki.key_identifier.as_ref().map(|k| hex::encode(k.0));
            }
            ParsedExtension::NameConstraints(nc) => {
                info.permitted_names = nc
                    .permitted_subtrees
                    .iter()
                    .flatten()
                    .map(|s| general_name(&s.base))
                    .collect();
            }
            _ => {}
        }
    }
    Ok(info)
}

fn csr_info(csr: &X509CertificationRequest<'_>) -> CsrInfo {
    let info = &csr.certification_request_info;
    let requested_sans = csr
        .requested_extensions()
        .into_iter()
        .flatten()
        .filter_map(|ext| match ext {
            ParsedExtension::SubjectAlternativeName(san) => Some(
                san.general_names
                    .iter()
                    .map(general_name)
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    CsrInfo {
        subject: info.subject.to_string(),
        key: describe_key(&info.subject_pki).0,
        requested_sans,
        signature: csr_signature(csr),
    }
}

/// Checks a CSR's self-signature. x509-parser's table lacks ECDSA with
/// P-521, and with SHA-512 on any curve, which openssl makes by default
/// for P-521 keys; aws-lc-rs checks those. Any other algorithm it cannot
/// check is reported as unsupported, never as invalid.
pub fn csr_signature(csr: &X509CertificationRequest<'_>) -> SignatureCheck {
    use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
    let spki = &csr.certification_request_info.subject_pki;
    let sig_oid = csr.signature_algorithm.algorithm.to_id_string();
    let curve = curve_oid(spki);
    const P256: &str = "1.2.840.10045.3.1.7";
    const P384: &str = "1.3.132.0.34";
    const P521: &str = "1.3.132.0.35";
    const SHA256: &str = "1.2.840.10045.4.3.2";
    const SHA384: &str = "1.2.840.10045.4.3.3";
    const SHA512: &str = "1.2.840.10045.4.3.4";
    let ours: Option<&'static dyn VerificationAlgorithm> = match (sig_oid.as_str(), curve.as_str())
    {
        (SHA512, P256) => Some(&signature::ECDSA_P256_SHA512_ASN1),
        (SHA512, P384) => Some(&signature::ECDSA_P384_SHA512_ASN1),
        (SHA256, P521) => Some(&signature::ECDSA_P521_SHA256_ASN1),
        (SHA384, P521) => Some(&signature::ECDSA_P521_SHA384_ASN1),
        (SHA512, P521) => Some(&signature::ECDSA_P521_SHA512_ASN1),
        _ => None,
    };
    if let Some(alg) = ours {
        let key = UnparsedPublicKey::new(alg, &spki.subject_public_key.data);
        return match key.verify(
            csr.certification_request_info.raw,
            &csr.signature_value.data,
        ) {
            Ok(()) => SignatureCheck::Valid,
            Err(_) => SignatureCheck::Invalid,
        };
    }
    match csr.verify_signature() {
        Ok(()) => SignatureCheck::Valid,
        Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => {
            SignatureCheck::Unsupported(signature_name(&sig_oid))
        }
        Err(_) => SignatureCheck::Invalid,
    }
}

fn crl_info(crl: &CertificateRevocationList<'_>) -> CrlInfo {
    CrlInfo {
        issuer: crl.issuer().to_string(),
        this_update: from_unix(crl.last_update().timestamp()),
        next_update: crl.next_update().map(|t| from_unix(t.timestamp())),
        crl_number: crl.crl_number().map(|n| n.to_string()),
        revoked: crl
            .iter_revoked_certificates()
            .map(|r| RevokedInfo {
                serial: Serial::from_be_bytes(r.raw_serial()),
                revoked_at: from_unix(r.revocation_date.timestamp()),
                reason: r
                    .reason_code()
                    .map(|(_, code)| reason_name(code.0).to_owned()),
            })
            .collect(),
    }
}

/// The RFC 5280 name of a CRL reason code.
pub fn reason_name(code: u8) -> &'static str {
    match code {
        0 => "unspecified",
        1 => "key-compromise",
        2 => "ca-compromise",
        3 => "affiliation-changed",
        4 => "superseded",
        5 => "cessation-of-operation",
        6 => "certificate-hold",
        8 => "remove-from-crl",
        9 => "privilege-withdrawn",
        10 => "aa-compromise",
        _ => "unknown",
    }
}

/// `DNS:…`, `IP:…`, `URI:…`, `email:…`, as openssl prints SANs.
pub(crate) fn general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(d) => format!("DNS:{d}"),
        GeneralName::URI(u) => format!("URI:{u}"),
        GeneralName::RFC822Name(e) => format!("email:{e}"),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => format!(
                "IP:{}",
                IpAddr::from(<[u8; 4]>::try_from(*bytes).unwrap_or_default())
            ),
            16 => format!(
                "IP:{}",
                IpAddr::from(<[u8; 16]>::try_from(*bytes).unwrap_or_default())
            ),
            8 => {
                let (a, m) = bytes.split_at(4);
                let a = IpAddr::from(<[u8; 4]>::try_from(a).unwrap_or_default());
                let prefix: u32 = m.iter().map(|b| b.count_ones()).sum();
                format!("IP:{a}/{prefix}")
            }
            32 => {
                let (a, m) = bytes.split_at(16);
                let a = IpAddr::from(<[u8; 16]>::try_from(a).unwrap_or_default());
                let prefix: u32 = m.iter().map(|b| b.count_ones()).sum();
                format!("IP:{a}/{prefix}")
            }
            _ => format!("IP:<{} bytes>", bytes.len()),
        },
        GeneralName::DirectoryName(n) => format!("DirName:{n}"),
        other => format!("{other:?}"),
    }
}

/// The named curve of an EC public key, as a dotted OID ("" when absent).
fn curve_oid(spki: &SubjectPublicKeyInfo<'_>) -> String {
    spki.algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string())
        .unwrap_or_default()
}

/// Names a public key, and maps it to a `KeyType` when mtlsctl supports it.
pub fn describe_key(spki: &SubjectPublicKeyInfo<'_>) -> (String, Option<KeyType>) {
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.3.101.112" => ("ed25519".into(), Some(KeyType::Ed25519)),
        "1.2.840.10045.2.1" => {
            let curve = curve_oid(spki);
            match curve.as_str() {
                "1.2.840.10045.3.1.7" => ("ecdsa-p256".into(), Some(KeyType::EcdsaP256)),
                "1.3.132.0.34" => ("ecdsa-p384".into(), Some(KeyType::EcdsaP384)),
                "1.3.132.0.35" => ("ecdsa-p521".into(), None),
                other => (format!("ecdsa (curve {other})"), None),
            }
        }
        "1.2.840.113549.1.1.1" => {
            let bits = spki.parsed().map(|k| k.key_size()).unwrap_or(0);
            let key_type = match bits {
                2048 => Some(KeyType::Rsa2048),
                3072 => Some(KeyType::Rsa3072),
                4096 => Some(KeyType::Rsa4096),
                _ => None,
            };
            (format!("rsa-{bits}"), key_type)
        }
        other => (format!("unknown ({other})"), None),
    }
}

fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "ED25519",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        other => other,
    }
    .to_owned()
}
