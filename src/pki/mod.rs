//! The PKI domain: a certificate authority run from a directory on disk.
//! No tokio, no hyper; the command line and (later) the gateway call in.

pub mod audit;
pub mod ca;
pub mod fsio;
pub mod inspect;
pub mod inventory;
pub mod issue;
pub mod keys;
pub mod layout;
pub mod model;
pub mod settings;
pub mod time;

use std::path::{Path, PathBuf};

use crate::pki::fsio::FsError;
use crate::pki::inventory::InventoryError;
use crate::pki::keys::KeyError;
use crate::pki::layout::Layout;
use crate::pki::model::{CertName, Serial};
use crate::pki::settings::{Settings, SettingsError};

/// Everything that can go wrong in the PKI domain. Each variant names the
/// cause; [`PkiError::hint`] gives the command or flag that fixes it.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// There is no PKI directory.
    #[error("no PKI at {0}")]
    NotFound(PathBuf),
    /// The directory exists but is not an mtlsctl PKI.
    #[error("{0} exists but is not an mtlsctl PKI (it has no mtlsctl.toml)")]
    NotAPki(PathBuf),
    /// `ca init` found something at the target.
    #[error("{0} already exists and is not empty; ca init never overwrites a PKI")]
    AlreadyExists(PathBuf),
    /// `issue` was asked for a name that already has a current certificate.
    #[error("a certificate named '{name}' already exists (serial {serial})")]
    NameTaken {
        /// The name.
        name: CertName,
        /// The current certificate's serial.
        serial: Serial,
    },
    /// No certificate has that name or serial.
    #[error("no certificate named or with serial '{0}' in the inventory")]
    UnknownCert(String),
    /// A server or peer certificate without a DNS or IP SAN.
    #[error("a {0} certificate needs at least one DNS or IP subject alternative name")]
    ServerNeedsSan(model::Profile),
    /// The requested validity ends after the issuing CA does.
    #[error("the certificate would expire {not_after}, after its issuing CA ({ca_not_after})")]
    ValidityPastCa {
        /// Requested notAfter.
        not_after: String,
        /// The CA's notAfter.
        ca_not_after: String,
    },
    /// A SAN lies outside the CA's name constraints.
    #[error("{name} is outside the CA's name constraints (permitted: {permitted})")]
    OutsideConstraints {
        /// The SAN.
        name: String,
        /// The permitted subtrees.
        permitted: String,
    },
    /// The CSR file could not be parsed.
    #[error("{path}: not a certificate signing request ({why})")]
    CsrUnreadable {
        /// The CSR file.
        path: PathBuf,
        /// The parser's complaint.
        why: String,
    },
    /// The CSR's self-signature does not verify.
    #[error(
        "{0}: the CSR's signature does not verify (corrupted, or not signed by the key it carries)"
    )]
    CsrSignature(PathBuf),
    /// The CSR carries a key type mtlsctl does not certify.
    #[error("{path}: the CSR's key ({key}) is not a supported type")]
    CsrKeyUnsupported {
        /// The CSR file.
        path: PathBuf,
        /// The key found.
        key: String,
    },
    /// A CA file (certificate, key, CRL) is missing or damaged.
    #[error("{path}: {why}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A private key could not be read or written.
    #[error("{path}: {source}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why.
        source: KeyError,
    },
    /// A key could not be generated or encoded.
    #[error(transparent)]
    KeyGen(#[from] KeyError),
    /// rcgen refused to build or sign a certificate or CRL.
    #[error("could not sign: {0}")]
    Sign(#[from] rcgen::Error),
    /// The settings file is damaged.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The inventory is damaged, busy or unwritable.
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// A file could not be read or written.
    #[error(transparent)]
    Fs(#[from] FsError),
}

impl PkiError {
    /// The command or flag that fixes the problem, if there is one to name.
    pub fn hint(&self, pki_dir: &Path) -> Option<String> {
        let dir = pki_dir.display();
        Some(match self {
            PkiError::NotFound(_) => format!(
                "run `mtlsctl ca init --pki {dir}` to create one, or point --pki / MTLSCTL_PKI at an existing PKI"
            ),
            PkiError::NotAPki(_) => {
                "point --pki / MTLSCTL_PKI at a PKI made by `mtlsctl ca init`, or give ca init a new directory".into()
            }
            PkiError::AlreadyExists(_) => {
                "use another --pki directory, or move the existing one away first".into()
            }
            PkiError::NameTaken { name, .. } => format!(
                "run `mtlsctl rotate {name}` for a new key and certificate under the same name, or pick another name"
            ),
            PkiError::UnknownCert(_) => "run `mtlsctl list` to see the names and serials this PKI holds".into(),
            PkiError::ServerNeedsSan(_) => "add --dns NAME or --ip ADDRESS (e.g. --dns api.example.com)".into(),
            PkiError::ValidityPastCa { .. } => {
                "pass a shorter --validity, or rotate the CA with `mtlsctl ca rotate`".into()
            }
            PkiError::OutsideConstraints { .. } => {
                "use a name inside the permitted subtrees (see `mtlsctl inspect` on the CA certificate)".into()
            }
            PkiError::CsrUnreadable { .. } => {
                "give a PEM or DER PKCS#10 request, e.g. from `openssl req -new -key KEY -out req.csr`".into()
            }
            PkiError::CsrSignature(_) => "regenerate the CSR with the private key it is meant for".into(),
            PkiError::CsrKeyUnsupported { .. } => {
                "make the CSR with an ecdsa-p256, ecdsa-p384, ed25519 or rsa-2048/3072/4096 key".into()
            }
            PkiError::Key { source: KeyError::WrongPassphrase, .. } => {
                "check MTLSCTL_CA_PASSPHRASE or the file given to --passphrase-file (only its first line is used)".into()
            }
            PkiError::Key { source: KeyError::PassphraseNeeded, .. } => {
                "set MTLSCTL_CA_PASSPHRASE or pass --passphrase-file FILE".into()
            }
            PkiError::Inventory(InventoryError::Corrupt { .. } | InventoryError::Missing(_)) => format!(
                "restore {dir}/inventory.db from a backup; mtlsctl will not rebuild or overwrite it"
            ),
            PkiError::Inventory(InventoryError::Lock(_)) => {
                "wait for the other mtlsctl process to finish, or raise MTLSCTL_LOCK_TIMEOUT (e.g. 120s)".into()
            }
            PkiError::Settings(_) => format!("fix {dir}/mtlsctl.toml (see docs/pki-directory.md)"),
            _ => return None,
        })
    }
}

/// An opened PKI directory: its layout and settings.
#[derive(Debug, Clone)]
pub struct Pki {
    layout: Layout,
    settings: Settings,
}

impl Pki {
    /// Opens the PKI at `dir`, refusing anything that is not one.
    pub fn open(dir: &Path) -> Result<Pki, PkiError> {
        let layout = Layout::new(dir);
        if !dir.exists() {
            return Err(PkiError::NotFound(dir.to_owned()));
        }
        if !layout.settings().is_file() {
            let empty = std::fs::read_dir(dir)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
            return Err(if empty {
                PkiError::NotFound(dir.to_owned())
            } else {
                PkiError::NotAPki(dir.to_owned())
            });
        }
        let settings = Settings::load(&layout.settings())?;
        Ok(Pki { layout, settings })
    }

    /// Its paths.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Its settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}
