//! [`PkiError`]: everything that can go wrong in the PKI domain, each
//! variant naming its cause, with [`PkiError::hint`] naming the fix.
//! `crate::error` maps each variant onto one exit code.

use std::path::{Path, PathBuf};

use crate::pki::fsio::{FsError, LockError};
use crate::pki::inventory::InventoryError;
use crate::pki::keys::KeyError;
use crate::pki::model::{self, CertName, Serial};
use crate::pki::settings::SettingsError;
use crate::pki::{snapshot, verify};

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
    /// `issue` of a name that reads as a serial number.
    #[error(
        "the name '{0}' reads as a serial number, so `revoke` and `show` could not tell them apart"
    )]
    NameLooksLikeSerial(CertName),
    /// No certificate has that name or serial.
    #[error("no certificate named or with serial '{0}' in the inventory")]
    UnknownCert(String),
    /// `role` of a name the inventory has no current certificate for.
    #[error("no certificate named '{0}' in the inventory")]
    UnknownName(CertName),
    /// `role grant` to a name whose current certificate is revoked.
    #[error("'{name}' (serial {serial}) is revoked; a revoked name holds no roles")]
    GrantToRevoked {
        /// The name.
        name: CertName,
        /// Its current certificate's serial.
        serial: Serial,
    },
    /// No CA generation with that number.
    #[error("there is no CA generation {0}")]
    UnknownGeneration(u32),
    /// `ca retire` of the generation that issues now.
    #[error("generation {0} is the current issuing CA and cannot be retired")]
    RetireCurrent(u32),
    /// `ca retire` of a generation already retired.
    #[error("generation {0} is already retired")]
    AlreadyRetired(u32),
    /// `ca retire` while leaves still depend on the generation.
    #[error("generation {generation} still has {} unexpired, unrevoked certificate(s): {}", leaves.len(), leaves.join(", "))]
    GenerationInUse {
        /// The generation.
        generation: u32,
        /// `name (serial)` of each live leaf.
        leaves: Vec<String>,
    },
    /// `ca rotate` without `--root` on a single-tier CA.
    #[error("a single-tier CA has no intermediate to rotate")]
    SingleTierRotate,
    /// `rotate` of a revoked certificate.
    #[error("'{name}' (serial {serial}) is revoked and cannot be rotated")]
    RotateRevoked {
        /// The name.
        name: CertName,
        /// Its serial.
        serial: Serial,
    },
    /// The certificate changed (rotated or revoked by another process) while this one worked.
    #[error(
        "'{0}' was rotated or revoked by another mtlsctl process meanwhile; nothing was changed"
    )]
    ChangedMeanwhile(CertName),
    /// `rotate` of a certificate whose key came from a CSR, without a new CSR.
    #[error("'{0}' was issued from a CSR; mtlsctl holds no key to rotate it with")]
    RotateNeedsCsr(CertName),
    /// `bundle` of a revoked certificate.
    #[error("'{0}' is revoked; a bundle of it would be refused everywhere")]
    BundleRevoked(CertName),
    /// `bundle` of a certificate whose key mtlsctl never held.
    #[error("'{0}' was issued from a CSR; mtlsctl does not hold its private key")]
    BundleNoKey(CertName),
    /// The output file exists.
    #[error("{0} already exists")]
    OutputExists(PathBuf),
    /// p12-keystore failed to build the PKCS#12 file.
    #[error("could not build the PKCS#12 file: {0}")]
    P12Build(#[source] p12_keystore::error::Error),
    /// The PKCS#12 file p12-keystore built could not be relabelled.
    #[error("could not build the PKCS#12 file: {0}")]
    P12Label(#[from] crate::pki::p12_label::LabelError),
    /// `verify` could not read its input.
    #[error(transparent)]
    Verify(#[from] verify::VerifyError),
    /// The PKI's trust, CRLs or inventory cannot be loaded into a snapshot.
    #[error(transparent)]
    Snapshot(#[from] snapshot::SnapshotError),
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
        /// What is wrong with it.
        why: CsrProblem,
    },
    /// The CSR file is larger than mtlsctl reads.
    #[error(transparent)]
    CsrTooLarge(FsError),
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
    /// A certificate, CA key or CRL file mtlsctl relies on could not be read.
    #[error("{path}: cannot read{what}: {source}")]
    FileUnreadable {
        /// The file.
        path: PathBuf,
        /// Which kind of file it is.
        what: CaFileKind,
        /// The system's error.
        source: std::io::Error,
    },
    /// A file that should hold PEM certificates holds none, or bad PEM.
    #[error("{path}: not a PEM certificate: {source}")]
    NotPemCert {
        /// The file.
        path: PathBuf,
        /// The PEM reader's error.
        source: rustls_pki_types::pem::Error,
    },
    /// A file that should hold a CRL does not hold one in PEM.
    #[error("{path}: not a PEM CRL: {source}")]
    NotPemCrl {
        /// The CRL file.
        path: PathBuf,
        /// The PEM reader's error.
        source: rustls_pki_types::pem::Error,
    },
    /// A CRL file whose DER does not parse.
    #[error("{path}: not a CRL: {source}")]
    CrlMalformed {
        /// The CRL file.
        path: PathBuf,
        /// The parser's error.
        source: x509_parser::nom::Err<x509_parser::error::X509Error>,
    },
    /// A CRL without a cRLNumber extension mtlsctl can continue from.
    #[error("{0}: the CRL has no usable CRL number")]
    CrlNumberMissing(PathBuf),
    /// A certificate file with no certificate in it.
    #[error("{0}: no certificate in the file")]
    NoCertificate(PathBuf),
    /// A certificate mtlsctl holds (or just signed) that does not parse.
    #[error("{path}: {source}")]
    CertMalformed {
        /// The certificate's file.
        path: PathBuf,
        /// The parser's complaint.
        source: crate::pki::inspect::InspectError,
    },
    /// The CA key belongs to another certificate.
    #[error("{0}: the CA key does not match the CA certificate")]
    CaKeyMismatch(PathBuf),
    /// The inventory records an intermediate serial that does not parse.
    #[error("{path}: bad intermediate serial: {source}")]
    IntermediateSerial {
        /// The CRL being signed.
        path: PathBuf,
        /// Why the serial was refused.
        source: model::ParseError,
    },
    /// Every CA generation is retired, so trust.pem would be empty.
    #[error("{0}: no CA generation is active; refusing to write an empty trust bundle")]
    NoActiveGeneration(PathBuf),
    /// A PKI directory that users other than its owner may write to.
    #[error(
        "{path} is writable by other users (mode {mode:04o}); mtlsctl refuses a PKI directory in which others could replace trust.pem, crls.pem or CA files"
    )]
    DirOpenToOthers {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A CA private key that users other than its owner may read or write.
    #[error(
        "{path} is accessible to other users (mode {mode:04o}); mtlsctl refuses to use a CA private key that is not private"
    )]
    KeyOpenToOthers {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
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
            PkiError::Snapshot(_) => {
                "verify reads the PKI as the gateway does: run `mtlsctl check`, `mtlsctl crl` for a missing or stale CRL, or restore the PKI".into()
            }
            PkiError::NotAPki(_) => {
                "point --pki / MTLSCTL_PKI at a PKI made by `mtlsctl ca init`, or give ca init a new directory".into()
            }
            PkiError::AlreadyExists(_) => {
                "use another --pki directory, or move the existing one away first".into()
            }
            PkiError::NameTaken { name, .. } => format!(
                "run `mtlsctl rotate {name}` for a new key and certificate under the same name, or pick another name"
            ),
            PkiError::NameLooksLikeSerial(name) => format!(
                "pick a name with a letter past f or a separator, e.g. `svc-{name}`; `serial:HEX` always means a serial"
            ),
            PkiError::UnknownCert(_) => "run `mtlsctl list` to see the names and serials this PKI holds".into(),
            PkiError::UnknownName(name) => format!(
                "run `mtlsctl role list` or `mtlsctl list` to see the names, or `mtlsctl issue {name} --role ROLE` to issue it"
            ),
            PkiError::GrantToRevoked { name, .. } => format!(
                "issue it again with its roles: `mtlsctl issue {name} --role ROLE`"
            ),
            PkiError::UnknownGeneration(_) => "run `mtlsctl ca show` to see the CA generations".into(),
            PkiError::RetireCurrent(_) => {
                "run `mtlsctl ca rotate` (or `ca rotate --root`) first, then retire the old generation".into()
            }
            PkiError::AlreadyRetired(_) => "nothing to do; `mtlsctl ca show` lists the generations".into(),
            PkiError::GenerationInUse { .. } => {
                "move them to the current CA with `mtlsctl rotate --all --revoke-previous` (superseded certificates count until revoked or expired), or pass --force to cut them off".into()
            }
            PkiError::SingleTierRotate => "use `mtlsctl ca rotate --root` for a new root".into(),
            PkiError::RotateRevoked { name, .. } => {
                format!("issue a new certificate with `mtlsctl issue {name}` (a revoked name may be issued again)")
            }
            PkiError::BundleRevoked(name) => format!("issue a new certificate with `mtlsctl issue {name}`"),
            PkiError::BundleNoKey(_) => {
                "build the bundle where the key lives (e.g. `openssl pkcs12 -export`), or issue without --csr".into()
            }
            PkiError::OutputExists(_) => "pass --yes to replace it, or choose another --out".into(),
            PkiError::ChangedMeanwhile(name) => format!("run `mtlsctl show {name}` and retry if still needed"),
            PkiError::RotateNeedsCsr(name) => format!("pass a new CSR: `mtlsctl rotate {name} --csr FILE`"),
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
            PkiError::CsrTooLarge(_) => {
                "a CSR is a few KiB: check the path given to --csr".into()
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
            PkiError::DirOpenToOthers { path, .. } => format!(
                "run `chmod go-w {}` (mtlsctl creates the PKI directory and certs/ 0750, ca/ 0700)",
                path.display()
            ),
            PkiError::KeyOpenToOthers { path, .. } => format!(
                "run `chmod 600 {}`, and rotate the CA (`mtlsctl ca rotate`) if others may have read it",
                path.display()
            ),
            _ if self.symlink().is_some() => {
                "replace the symlink with the real file or directory, or point --pki at the directory it leads to".into()
            }
            PkiError::Inventory(InventoryError::Lock(LockError::Timeout { .. })) => {
                "wait for the other mtlsctl process to finish, or raise MTLSCTL_LOCK_TIMEOUT (e.g. 120s)".into()
            }
            PkiError::Inventory(InventoryError::Lock(LockError::NotWritable { .. })) => {
                "run commands that change the PKI where its directory is writable and as a user allowed to write it; list, show, check, verify and serve work on a read-only PKI".into()
            }
            PkiError::Inventory(InventoryError::Lock(LockError::Io(_))) => {
                format!("check that {dir}/.lock is a regular file this user may open")
            }
            PkiError::Settings(_) => format!("fix {dir}/mtlsctl.toml (see docs/pki-directory.md)"),
            PkiError::Fs(_) => "check that the directory exists, is writable and has free space".into(),
            _ => return None,
        })
    }

    /// The symlink mtlsctl refused to write (or read a key) through, if
    /// that is what went wrong.
    pub fn symlink(&self) -> Option<&Path> {
        match self {
            PkiError::Fs(FsError::Symlink(path))
            | PkiError::Inventory(
                InventoryError::Lock(LockError::Io(FsError::Symlink(path)))
                | InventoryError::File(FsError::Symlink(path)),
            ) => Some(path),
            _ => None,
        }
    }
}

/// Which kind of file [`PkiError::FileUnreadable`] could not read; shown
/// after "cannot read".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaFileKind {
    /// A certificate or bundle file.
    Cert,
    /// A CA's private key.
    CaKey,
    /// A CRL.
    Crl,
}

impl std::fmt::Display for CaFileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CaFileKind::Cert => "",
            CaFileKind::CaKey => " the CA key",
            CaFileKind::Crl => " the CRL",
        })
    }
}

/// Why a CSR file could not be read as one ([`PkiError::CsrUnreadable`]).
#[derive(Debug, thiserror::Error)]
pub enum CsrProblem {
    /// The file could not be read.
    #[error(transparent)]
    Read(FsError),
    /// PEM without a usable CERTIFICATE REQUEST block.
    #[error("no CERTIFICATE REQUEST block: {0}")]
    NoPemBlock(rustls_pki_types::pem::Error),
    /// The DER does not parse as PKCS#10.
    #[error(transparent)]
    Parse(x509_parser::nom::Err<x509_parser::error::X509Error>),
    /// rcgen refused the request's public key.
    #[error(transparent)]
    PublicKey(rcgen::Error),
    /// Bytes after the request.
    #[error("{0} bytes of trailing data")]
    TrailingData(usize),
}
