//! `bundle`: hand a certificate to software that wants one file.
//!
//! PKCS#12 (p12-keystore): key, leaf, intermediates and root; the key and
//! the leaf carry the friendly name NAME (the Java alias; p12_label.rs sets
//! the leaf's), the CA certificates their DN; PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) with an
//! HMAC-SHA256 MAC by default, or `--legacy` 3DES with a SHA-1 MAC for old
//! keystores (Java 8 before 8u301, Windows Server 2016, macOS before 10.15).
//! PEM: key + leaf + chain in one file, or just the trust bundle.
//! Files holding a key are written 0600 through fsio.

use std::path::{Path, PathBuf};

use p12_keystore::{EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKeyChain};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use zeroize::Zeroizing;

use crate::pki::audit::{self, AuditEvent};
use crate::pki::fsio::{self, Mode};
use crate::pki::inventory::{Inventory, Record};
use crate::pki::keys::SecretKey;
use crate::pki::model::CertName;
use crate::pki::{Pki, PkiError};

/// PBKDF2 iterations for modern PKCS#12 files.
const P12_ITERATIONS: u32 = 100_000;
/// Iterations for `--legacy` files (what openssl's legacy mode uses).
const P12_LEGACY_ITERATIONS: u32 = 2048;

/// A PKCS#12 password. Never printed, never logged.
pub struct P12Password(Zeroizing<String>);

impl P12Password {
    /// Wraps a non-empty password.
    pub fn new(text: impl Into<Zeroizing<String>>) -> Option<Self> {
        let text = text.into();
        (!text.is_empty()).then_some(Self(text))
    }
}

/// What to bundle.
pub enum BundleKind {
    /// PKCS#12 with a password; `legacy` picks 3DES/SHA-1.
    P12 {
        /// The password.
        password: P12Password,
        /// 3DES + SHA-1 MAC for old keystores.
        legacy: bool,
    },
    /// PEM: key, leaf and chain.
    Pem,
}

/// What `bundle` wrote.
#[derive(Debug)]
pub struct BundleReport {
    /// The file.
    pub path: PathBuf,
    /// The certificate bundled.
    pub record: Record,
    /// Certificates in the file.
    pub certificates: usize,
    /// `p12`, `p12-legacy` or `pem`.
    pub format: &'static str,
}

/// Writes a bundle for NAME's current certificate to `out`.
pub fn bundle(
    pki: &Pki,
    name: &CertName,
    kind: BundleKind,
    out: &Path,
    overwrite: bool,
) -> Result<BundleReport, PkiError> {
    let layout = pki.layout();
    let record = {
        let inventory = Inventory::open_for_read(layout)?;
        inventory
            .current(name)?
            .ok_or_else(|| PkiError::UnknownCert(name.to_string()))?
    };
    if record.revoked_at.is_some() {
        return Err(PkiError::BundleRevoked(name.clone()));
    }
    if !record.key_held {
        return Err(PkiError::BundleNoKey(name.clone()));
    }
    if out.exists() && !overwrite {
        return Err(PkiError::OutputExists(out.to_owned()));
    }
    let chain = read_certs(&layout.leaf_chain(name))?;
    let key_path = layout.leaf_key(name);
    let key_pem = fsio::read_secret(&key_path)?.0;
    // Parsed and re-encoded, so a key an older build wrote as PKCS#8 v2
    // (Ed25519) goes into the bundle as v1, which openssl 3.0 reads.
    let key_error = |source| PkiError::Key {
        path: key_path.clone(),
        source,
    };
    let key = SecretKey::from_pem(&key_pem, None).map_err(key_error)?;
    let key_der = key.pkcs8_v1_der().map_err(key_error)?;
    let root = root_for(pki, &layout.leaf_chain(name), &chain)?;
    let mut certs = chain.clone();
    certs.extend(root);
    let (bytes, format): (Zeroizing<Vec<u8>>, &'static str) = match kind {
        BundleKind::P12 { password, legacy } => {
            let mut store = KeyStore::new();
            let p12_key = p12_keystore::PrivateKey::from_der(key_der.as_bytes())
                .map_err(PkiError::P12Build)?;
            let p12_certs = certs
                .iter()
                .map(|c| p12_keystore::Certificate::from_der(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(PkiError::P12Build)?;
            let key_id =
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &chain[0]);
            let entry = PrivateKeyChain::new(key_id.as_ref().to_vec(), p12_key, p12_certs);
            store.add_entry(name.as_str(), KeyStoreEntry::PrivateKeyChain(entry));
            let writer = store.writer(&password.0);
            let writer = if legacy {
                writer
                    .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
                    .mac_algorithm(MacAlgorithm::HmacSha1)
                    .encryption_iterations(P12_LEGACY_ITERATIONS)
                    .mac_iterations(P12_LEGACY_ITERATIONS)
            } else {
                writer
                    .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
                    .mac_algorithm(MacAlgorithm::HmacSha256)
                    .encryption_iterations(P12_ITERATIONS)
                    .mac_iterations(P12_ITERATIONS)
            };
            let bytes = writer.write().map_err(PkiError::P12Build)?;
            // p12-keystore labels the leaf with its DN; README says NAME.
            let bytes = Zeroizing::new(bytes);
            let bytes =
                crate::pki::p12_label::label_leaf(&bytes, &password.0, &chain[0], name.as_str())?;
            (
                Zeroizing::new(bytes),
                if legacy { "p12-legacy" } else { "p12" },
            )
        }
        BundleKind::Pem => {
            let mut text = key.to_pem(None).map_err(key_error)?;
            for cert in &chain {
                text.push_str(&crate::pki::inspect::certificate_pem(cert));
            }
            (Zeroizing::new(text.as_bytes().to_vec()), "pem")
        }
    };
    fsio::write_atomic(out, &bytes, Mode::Secret)?;
    let mut event = AuditEvent::new(
        "bundle",
        serde_json::json!({ "format": format, "out": out.display().to_string() }),
    );
    event.name = Some(record.name.as_str());
    event.serial = Some(record.serial.as_str());
    event.fingerprint_sha256 = Some(record.fingerprint.as_str());
    audit::append(layout, &event)?;
    Ok(BundleReport {
        path: out.to_owned(),
        certificates: if format == "pem" {
            chain.len()
        } else {
            certs.len()
        },
        record,
        format,
    })
}

/// Writes trust.pem's roots to `out` (no key; mode 0644).
pub fn trust_bundle(pki: &Pki, out: &Path, overwrite: bool) -> Result<usize, PkiError> {
    if out.exists() && !overwrite {
        return Err(PkiError::OutputExists(out.to_owned()));
    }
    let trust = std::fs::read(pki.layout().trust())
        .map_err(|e| fsio::FsError::new("read", &pki.layout().trust(), e))?;
    let count = read_certs(&pki.layout().trust())?.len();
    fsio::write_atomic(out, &trust, Mode::Public)?;
    Ok(count)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let bytes = std::fs::read(path).map_err(|e| fsio::FsError::new("read", path, e))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| PkiError::NotPemCert {
            path: path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(PkiError::NoCertificate(path.to_owned()));
    }
    Ok(certs)
}

/// The root (from trust.pem) that issued the last certificate of `chain`.
fn root_for(
    pki: &Pki,
    chain_path: &Path,
    chain: &[CertificateDer<'static>],
) -> Result<Option<CertificateDer<'static>>, PkiError> {
    let Some(last) = chain.last() else {
        return Ok(None);
    };
    let malformed = |path: PathBuf| move |source| PkiError::CertMalformed { path, source };
    let last = crate::pki::inspect::cert_info(last).map_err(malformed(chain_path.to_owned()))?;
    for root in read_certs(&pki.layout().trust())? {
        let info =
            crate::pki::inspect::cert_info(&root).map_err(malformed(pki.layout().trust()))?;
        if info.subject_key_id.is_some() && info.subject_key_id == last.authority_key_id {
            if info.fingerprint == last.fingerprint {
                return Ok(None);
            }
            return Ok(Some(root));
        }
    }
    Ok(None)
}
