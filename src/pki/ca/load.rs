//! Loading a CA to sign with: its certificate, and its key unlocked only
//! after the key file and its directories pass the same checks ssh makes
//! (private mode, no symlink, no directory others may change) and the key
//! is shown to match the certificate. [`CaKeys`] unlocks each key once per
//! command.

use std::fs;
use std::net::IpAddr;
use std::path::Path;

use rcgen::{Issuer, KeyPair};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::issuing_level;
use crate::pki::distribution::IssuerFiles;
use crate::pki::error::CaFileKind;
use crate::pki::fsio;
use crate::pki::inspect::{CertInfo, cert_info};
use crate::pki::keys::{self, Passphrase, SecretKey};
use crate::pki::layout::CaLevel;
use crate::pki::{Pki, PkiError};

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
    /// Its level and the `ca/` directory of its files: where the CRL and
    /// certificate it publishes live (CRLDistributionPoints, AIA).
    pub files: IssuerFiles,
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
    let (cert, info) = read_cert_info(&cert_path)?;
    let key_path = layout.ca_key(files_generation, level);
    // As ssh does with its keys: refuse a CA key others may read, or that
    // sits in a directory others may change (or behind a symlink).
    for dir in [layout.generations_dir(), layout.ca_dir(files_generation)] {
        crate::pki::refuse_dir_open_to_others(&dir, false)?;
    }
    let (key_pem, mode) = fsio::read_secret(&key_path).map_err(|e| match e {
        fsio::FsError::Io { source, .. } => PkiError::FileUnreadable {
            path: key_path.clone(),
            what: CaFileKind::CaKey,
            source,
        },
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
        return Err(PkiError::CaKeyMismatch(key_path));
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
        files: IssuerFiles {
            generation: files_generation,
            level,
        },
        key,
    })
}

fn x509_public_key(der: &[u8]) -> Vec<u8> {
    use x509_parser::prelude::FromDer;
    x509_parser::certificate::X509Certificate::from_der(der)
        .map(|(_, c)| c.public_key().subject_public_key.data.to_vec())
        .unwrap_or_default()
}

/// Reads and parses the first certificate of a PEM file.
pub fn read_cert_info(path: &Path) -> Result<(CertificateDer<'static>, CertInfo), PkiError> {
    let cert = read_cert(path)?;
    let info = cert_info(&cert).map_err(|source| PkiError::CertMalformed {
        path: path.to_owned(),
        source,
    })?;
    Ok((cert, info))
}

/// Reads the first certificate of a PEM file.
pub fn read_cert(path: &Path) -> Result<CertificateDer<'static>, PkiError> {
    let bytes = fs::read(path).map_err(|source| PkiError::FileUnreadable {
        path: path.to_owned(),
        what: CaFileKind::Cert,
        source,
    })?;
    CertificateDer::from_pem_slice(&bytes).map_err(|source| PkiError::NotPemCert {
        path: path.to_owned(),
        source,
    })
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
