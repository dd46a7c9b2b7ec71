//! What the PKI publishes for relying parties to fetch (`serve
//! --crl-listen`): every CA generation's CRLs and CA certificates in DER,
//! at the paths the CRLDistributionPoints and AuthorityInfoAccess of its
//! certificates name (`pki::distribution`).
//!
//! Why apart from the snapshot: a snapshot holds what the gateway
//! *judges* with (crls.pem: the CRLs in service now), while relying
//! parties fetch per CA file, retired generations included while their
//! files exist. Reading the per-level files directly, with a stamp taken
//! on every request, serves a new CRL as soon as `revoke` renamed it into
//! place. A CRL is served only after it parsed and its signature verified
//! with the certificate beside it; one that does not (or whose CRL number
//! went down) leaves the last good one in service, and the problem is
//! reported to the caller for the log.

use std::collections::HashMap;
use std::path::PathBuf;

use bytes::Bytes;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::num_bigint::BigUint;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use super::Source;
use crate::pki::distribution::{self, FileKind};
use crate::pki::layout::{CaLevel, Layout};
use crate::pki::model::Fingerprint;
use crate::pki::settings::Settings;
use crate::pki::stamp::FileStamp;
use crate::pki::time::from_unix;

/// One file served: DER bytes and what the HTTP caching headers need.
#[derive(Debug, Clone)]
pub struct PublishedFile {
    /// The DER bytes.
    pub der: Bytes,
    /// CRL or CA certificate.
    pub kind: FileKind,
    /// The entity tag, quoted: the CRL number, or the certificate's
    /// SHA-256 fingerprint.
    pub etag: String,
    /// thisUpdate of a CRL, notBefore of a certificate.
    pub last_modified: OffsetDateTime,
    /// nextUpdate of a CRL.
    pub next_update: Option<OffsetDateTime>,
    /// The CRL number, to refuse an older CRL.
    number: Option<BigUint>,
}

/// The stat of every file a [`Publication`] is read from; equal stamps
/// mean nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationStamp(Vec<(PathBuf, Option<FileStamp>)>);

/// Why one published file is not served in its current form.
#[derive(Debug, thiserror::Error)]
pub enum PublishProblem {
    /// The PEM file could not be decoded.
    #[error("{path}: unreadable PEM: {source}", path = .path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rustls_pki_types::pem::Error,
    },
    /// The CRL does not parse.
    #[error("{path}: not a CRL: {source}", path = .path.display())]
    NotACrl {
        /// The file.
        path: PathBuf,
        /// Why.
        source: x509_parser::nom::Err<x509_parser::error::X509Error>,
    },
    /// The certificate beside the CRL does not parse.
    #[error("{path}: not a certificate: {source}", path = .path.display())]
    NotACertificate {
        /// The file.
        path: PathBuf,
        /// Why.
        source: x509_parser::nom::Err<x509_parser::error::X509Error>,
    },
    /// The CRL's signature does not verify with the CA beside it.
    #[error("{path}: signature does not verify with the CA certificate beside it: {source}", path = .path.display())]
    Signature {
        /// The file.
        path: PathBuf,
        /// Why.
        source: x509_parser::error::X509Error,
    },
    /// The CRL's number is lower than the one served.
    #[error("{path}: CRL number {offered} is older than number {held} in service; keeping that one", path = .path.display())]
    Rollback {
        /// The file.
        path: PathBuf,
        /// In service.
        held: BigUint,
        /// Offered.
        offered: BigUint,
    },
    /// A file could not be read (other than missing: a generation holds
    /// one level or two).
    #[error("{path}: {source}", path = .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// mtlsctl.toml could not be read: the URL path prefixes are unknown.
    #[error("{0}; keeping the URL paths read before")]
    Settings(#[from] crate::pki::settings::SettingsError),
}

/// Everything served, by (generation directory, level, kind), and the
/// path prefixes it is served under.
#[derive(Debug, Default)]
pub struct Publication {
    files: HashMap<(u32, CaLevel, FileKind), PublishedFile>,
    /// `""` and the paths of `crl_url` and `aia_url`.
    prefixes: Vec<String>,
    /// The settings' `crl_url`, for the start line.
    crl_url: Option<String>,
    stamp: Option<PublicationStamp>,
}

impl Publication {
    /// The stamp of what [`Publication::read`] would read now.
    pub fn stamp(source: &Source) -> PublicationStamp {
        let layout = &source.layout;
        let files = std::iter::once(layout.settings())
            .chain(candidates(layout).into_iter().map(|(_, path)| path))
            .map(|path| {
                let stamp = FileStamp::of(&path, false);
                (path, stamp)
            })
            .collect();
        PublicationStamp(files)
    }

    /// True when `stamp` is the stamp this publication was read at.
    pub fn is_current(&self, stamp: &PublicationStamp) -> bool {
        self.stamp.as_ref() == Some(stamp)
    }

    /// Reads every CRL and CA certificate of every generation under `ca/`,
    /// keeping `previous`'s version of a file that now fails its checks.
    pub fn read(
        source: &Source,
        previous: &Publication,
        stamp: PublicationStamp,
    ) -> (Publication, Vec<PublishProblem>) {
        let layout = &source.layout;
        let mut problems = Vec::new();
        let mut prefixes = vec![String::new()];
        let mut crl_url = previous.crl_url.clone();
        match Settings::load(&layout.settings()) {
            Ok(settings) => {
                let urls = &settings.ca.distribution;
                crl_url = urls.crl_url.as_ref().map(|u| u.as_str().to_owned());
                for url in [&urls.crl_url, &urls.aia_url].into_iter().flatten() {
                    let path = url.path().to_owned();
                    if !prefixes.contains(&path) {
                        prefixes.push(path);
                    }
                }
            }
            Err(e) => {
                problems.push(e.into());
                prefixes.clone_from(&previous.prefixes);
                if prefixes.is_empty() {
                    prefixes.push(String::new());
                }
            }
        }
        let mut files = HashMap::new();
        for (key, path) in candidates(layout) {
            let (generation, level, kind) = key;
            let read = match kind {
                FileKind::Cert => read_cert(&path),
                FileKind::Crl => read_crl(&path, &layout.ca_cert(generation, level)),
            };
            let held = previous.files.get(&key);
            match read {
                Ok(None) => {}
                Ok(Some(file)) => match (held.and_then(|h| h.number.as_ref()), &file.number) {
                    (Some(held_number), Some(offered)) if offered < held_number => {
                        problems.push(PublishProblem::Rollback {
                            path,
                            held: held_number.clone(),
                            offered: offered.clone(),
                        });
                        if let Some(h) = held {
                            files.insert(key, h.clone());
                        }
                    }
                    _ => {
                        files.insert(key, file);
                    }
                },
                Err(problem) => {
                    problems.push(problem);
                    if let Some(h) = held {
                        files.insert(key, h.clone());
                    }
                }
            }
        }
        let publication = Publication {
            files,
            prefixes,
            crl_url,
            stamp: Some(stamp),
        };
        (publication, problems)
    }

    /// The file a request path names, if it is served.
    pub fn find(&self, path: &str) -> Option<&PublishedFile> {
        let prefixes: Vec<&str> = self.prefixes.iter().map(String::as_str).collect();
        let key = distribution::route(path, &prefixes)?;
        self.files.get(&key)
    }

    /// The `crl_url` of the PKI's settings, if set.
    pub fn crl_url(&self) -> Option<&str> {
        self.crl_url.as_deref()
    }

    /// The path prefixes served under (`""` first).
    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// How many files are served.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when nothing is served.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Every file that may be published, with its key: each generation's
/// root and intermediate certificate and CRL.
fn candidates(layout: &Layout) -> Vec<((u32, CaLevel, FileKind), PathBuf)> {
    let mut out = Vec::new();
    for generation in layout.ca_generations() {
        for level in [CaLevel::Root, CaLevel::Intermediate] {
            out.push((
                (generation, level, FileKind::Cert),
                layout.ca_cert(generation, level),
            ));
            out.push((
                (generation, level, FileKind::Crl),
                layout.ca_crl(generation, level),
            ));
        }
    }
    out
}

/// A missing file is `Ok(None)`: a generation holds one level or two.
fn read_pem(path: &std::path::Path) -> Result<Option<Vec<u8>>, PublishProblem> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PublishProblem::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn read_cert(path: &std::path::Path) -> Result<Option<PublishedFile>, PublishProblem> {
    let Some(bytes) = read_pem(path)? else {
        return Ok(None);
    };
    let der = CertificateDer::from_pem_slice(&bytes).map_err(|source| PublishProblem::Pem {
        path: path.to_owned(),
        source,
    })?;
    let (_, cert) =
        X509Certificate::from_der(&der).map_err(|source| PublishProblem::NotACertificate {
            path: path.to_owned(),
            source,
        })?;
    Ok(Some(PublishedFile {
        etag: format!("\"{}\"", Fingerprint::of(&der).as_str()),
        last_modified: from_unix(cert.validity().not_before.timestamp()),
        next_update: None,
        number: None,
        kind: FileKind::Cert,
        der: Bytes::copy_from_slice(&der),
    }))
}

fn read_crl(
    path: &std::path::Path,
    ca_path: &std::path::Path,
) -> Result<Option<PublishedFile>, PublishProblem> {
    let Some(bytes) = read_pem(path)? else {
        return Ok(None);
    };
    let der = CertificateRevocationListDer::from_pem_slice(&bytes).map_err(|source| {
        PublishProblem::Pem {
            path: path.to_owned(),
            source,
        }
    })?;
    let (_, crl) = CertificateRevocationList::from_der(der.as_ref()).map_err(|source| {
        PublishProblem::NotACrl {
            path: path.to_owned(),
            source,
        }
    })?;
    let ca_pem = read_pem(ca_path)?.ok_or_else(|| PublishProblem::Read {
        path: ca_path.to_owned(),
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    })?;
    let ca_der = CertificateDer::from_pem_slice(&ca_pem).map_err(|source| PublishProblem::Pem {
        path: ca_path.to_owned(),
        source,
    })?;
    let (_, ca) =
        X509Certificate::from_der(&ca_der).map_err(|source| PublishProblem::NotACertificate {
            path: ca_path.to_owned(),
            source,
        })?;
    crl.verify_signature(ca.public_key())
        .map_err(|source| PublishProblem::Signature {
            path: path.to_owned(),
            source,
        })?;
    let number = crl.crl_number().cloned();
    Ok(Some(PublishedFile {
        etag: format!(
            "\"{}\"",
            number
                .as_ref()
                .map_or_else(|| "0".to_owned(), BigUint::to_string)
        ),
        last_modified: from_unix(crl.last_update().timestamp()),
        next_update: crl.next_update().map(|t| from_unix(t.timestamp())),
        number,
        kind: FileKind::Crl,
        der: Bytes::copy_from_slice(der.as_ref()),
    }))
}
