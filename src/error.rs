//! The top-level error and THE exit-code table. Every failure of every
//! command maps to exactly one code here; README.md and `--help` list them
//! (the help text is built from the table below).

use std::path::PathBuf;

use crate::pki::PkiError;
use crate::pki::expiry::Finding;
use crate::pki::fsio::{FsError, LockError};
use crate::pki::inspect::InspectError;
use crate::pki::inventory::InventoryError;
use crate::pki::keys::KeyError;
use crate::pki::model::Validity;
use crate::pki::publish::Drift;
use crate::pki::refusal::Refusal;
use crate::pki::settings::SettingsError;
use crate::pki::verify::VerifyError;

/// THE exit-code table: each code with its name and what it means. It
/// expands into the `exit` constants, [`EXIT_CODES`] and the `--help`
/// text ([`EXIT_CODES_HELP`], which reaches the man page), so the list is
/// written once. `tests/exit_codes.rs` reaches every code with a real
/// command and checks README.md lists the same codes.
macro_rules! exit_codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal: $summary:literal $(, $detail:literal)?;)*) => {
        /// Exit codes.
        pub mod exit {
            $($(#[$doc])* pub const $name: i32 = $code;)*
        }

        /// Every exit code with its one-line meaning, in order.
        pub const EXIT_CODES: &[(i32, &str)] = &[$(($code, $summary)),*];

        /// The exit codes as `--help` shows them.
        pub const EXIT_CODES_HELP: &str =
            concat!("Exit codes:", $("\n  ", $code, "  ", $summary $(, "\n     ", $detail)?),*);
    };
}

exit_codes! {
    /// Success.
    OK = 0: "success";
    /// The command could not complete.
    FAILURE = 1: "the command could not complete (I/O error, damaged CA file, signing failure)";
    /// Usage: bad flags or values (clap uses 2 as well).
    USAGE = 2: "usage: bad flags or values, or a request the PKI refuses (e.g. server without a SAN)";
    /// A check found a problem.
    CHECK_FAILED = 3: "a check found a problem (verify, check)";
    /// No PKI, or no such certificate.
    NOT_FOUND = 4: "not found: no PKI at --pki, or no certificate with that name or serial";
    /// The PKI or the name already exists.
    CONFLICT = 5: "conflict: the PKI or the certificate name already exists";
    /// A file or secret given to mtlsctl is unusable.
    BAD_INPUT = 6: "rejected input: a CSR, file or passphrase given to mtlsctl is unusable or too large",
        "(a passphrase/password line past 4 KiB, any other input file past 16 MiB)";
    /// The inventory or settings are damaged, or the PKI is unsafe to use
    /// (a directory others may write, a CA key others may read, a symlink
    /// where mtlsctl writes).
    DAMAGED = 7: "damaged or unsafe PKI: the inventory or mtlsctl.toml is corrupt (left untouched),",
        "or a PKI directory others may write, a CA key others may read, a symlink in the way";
    /// Another process held the lock too long.
    BUSY = 8: "busy: another mtlsctl process held the PKI lock too long";
}

/// Problems with how mtlsctl was invoked that clap cannot see.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// `ca init` without a terminal and without a passphrase source.
    #[error("no passphrase for the CA keys and no terminal to ask on")]
    NoPassphraseSource {
        /// True for `ca init` (where --no-passphrase is an option).
        init: bool,
    },
    /// The prompt's two entries differ, or the prompt failed.
    #[error("could not read a passphrase: {0}")]
    Prompt(#[source] dialoguer::Error),
    /// An empty passphrase.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// `bundle` without a PKCS#12 password source.
    #[error("no password for the PKCS#12 file and no terminal to ask on")]
    NoPasswordSource,
    /// An empty PKCS#12 password.
    #[error("the PKCS#12 password is empty")]
    EmptyPassword,
    /// `bundle --trust` with a format other than pem, or no NAME.
    #[error("bundle needs a NAME, or --format pem --trust for the trust bundle")]
    TrustNeedsPem,
    /// `bundle --format pem` with PKCS#12 options.
    #[error("--legacy and --password-file apply to --format p12 only")]
    PemTakesNoPassword,
    /// `export-config caddy` without `--out`.
    #[error(
        "export-config caddy needs --out FILE: the client certificates Caddy accepts are written beside it"
    )]
    CaddyNeedsOut,
    /// Both MTLSCTL_CA_PASSPHRASE and --no-passphrase.
    #[error("--no-passphrase was given but MTLSCTL_CA_PASSPHRASE is set")]
    PassphraseConflict,
}

/// What a check found (exit 3): the first problem; the table on stdout
/// lists them all.
#[derive(Debug, thiserror::Error)]
pub enum CheckFailure {
    /// `verify` refused the certificate.
    #[error("{}: refused ({refusal}): {detail}", cert.display())]
    Refused {
        /// The certificate given to `verify`.
        cert: PathBuf,
        /// Why, as the gateway would say it.
        refusal: Refusal,
        /// The verifier's account of it.
        detail: String,
    },
    /// `check` found the PKI directory disagreeing with the inventory.
    #[error("{count} problem(s) in the PKI directory; first: {}", first.what)]
    Drift {
        /// How many problems.
        count: usize,
        /// The first of them.
        first: Drift,
    },
    /// `check` found something expired or due within the window.
    #[error(
        "{count} finding(s) within {window}; first: {} {} {} {}",
        first.subject.as_str(),
        first.what,
        if first.past { "expired" } else { "expires" },
        crate::pki::time::rfc3339(first.deadline)
    )]
    Expiring {
        /// How many findings.
        count: usize,
        /// The window `check --warn` was given.
        window: Validity,
        /// The soonest.
        first: Finding,
    },
}

impl CheckFailure {
    /// What to run about it.
    fn hint(&self) -> String {
        match self {
            CheckFailure::Refused { refusal, .. } => match refusal {
                Refusal::Expired => "rotate it: `mtlsctl rotate NAME`".into(),
                Refusal::Revoked => "issue a new certificate: `mtlsctl issue NAME`".into(),
                Refusal::BadUsage => {
                    "issue it with the right --profile (client, server or peer)".into()
                }
                Refusal::NotAllowed => {
                    "grant a role the route allows (`mtlsctl role grant NAME ROLE`), or change the route's allow rules".into()
                }
                Refusal::NoRoute => "add a [[route]] for that host and path to the gateway config".into(),
                _ => "run with --explain for every check".into(),
            },
            CheckFailure::Drift { first, .. } => first.fix.clone(),
            CheckFailure::Expiring { first, .. } => format!("run `{}`", first.fix),
        }
    }
}

/// Any failure of a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A PKI domain error.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// A usage problem clap could not catch.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// A passphrase or password file could not be read.
    #[error(transparent)]
    SecretFile(FsError),
    /// `inspect` could not read the file.
    #[error("{path}: {source}")]
    Inspect {
        /// The file.
        path: PathBuf,
        /// Why.
        source: InspectError,
    },
    /// `inspect` could not open the file at all.
    #[error(transparent)]
    InputFile(FsError),
    /// Writing the output failed (other than a closed pipe).
    #[error("could not write output: {0}")]
    Output(std::io::Error),
    /// `verify` refused the certificate, or `check` found a problem.
    #[error(transparent)]
    CheckFailed(#[from] CheckFailure),
    /// The gateway could not start.
    #[error(transparent)]
    Gateway(#[from] crate::gateway::GatewayError),
    /// Core dumps could not be disabled before handling secrets.
    #[error("could not disable core dumps (prctl/setrlimit): {0}")]
    Harden(std::io::Error),
    /// stdout was closed by the reader (`| head`): exit quietly.
    #[error("output pipe closed")]
    BrokenPipe,
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Pki(e) => pki_exit_code(e),
            Error::Usage(_) => exit::USAGE,
            Error::SecretFile(_) | Error::Inspect { .. } | Error::InputFile(_) => exit::BAD_INPUT,
            Error::Output(_) | Error::Harden(_) => exit::FAILURE,
            Error::CheckFailed(_) => exit::CHECK_FAILED,
            Error::Gateway(
                crate::gateway::GatewayError::Snapshot(_) | crate::gateway::GatewayError::Config(_),
            ) => exit::DAMAGED,
            Error::Gateway(_) => exit::FAILURE,
            Error::BrokenPipe => exit::OK,
        }
    }

    /// The line after `hint:`, naming the command or flag that fixes it.
    pub fn hint(&self, pki_dir: &std::path::Path) -> Option<String> {
        match self {
            Error::Pki(e) => e.hint(pki_dir),
            Error::Usage(UsageError::NoPassphraseSource { init: true }) => Some(
                "pass --passphrase-file FILE or set MTLSCTL_CA_PASSPHRASE to encrypt the CA keys, or pass --no-passphrase to store them unencrypted (mode 0600)".into(),
            ),
            Error::Usage(UsageError::NoPassphraseSource { init: false }) => {
                Some("the CA key is encrypted: pass --passphrase-file FILE or set MTLSCTL_CA_PASSPHRASE".into())
            }
            Error::Usage(UsageError::EmptyPassphrase) => Some("use a non-empty passphrase".into()),
            Error::Usage(UsageError::NoPasswordSource) => Some(
                "pass --password-file FILE or set MTLSCTL_P12_PASSWORD (the PKCS#12 file is encrypted with it)".into(),
            ),
            Error::Usage(UsageError::EmptyPassword) => Some("use a non-empty password".into()),
            Error::Usage(UsageError::TrustNeedsPem) => {
                Some("e.g. `mtlsctl bundle NAME --format p12` or `mtlsctl bundle --format pem --trust`".into())
            }
            Error::Usage(UsageError::PemTakesNoPassword) => {
                Some("drop them, or use --format p12 (a PEM bundle's key is protected by mode 0600)".into())
            }
            Error::Usage(UsageError::CaddyNeedsOut) => Some(
                "e.g. `mtlsctl export-config caddy --out /etc/caddy/Caddyfile` (the leaves go to /etc/caddy/Caddyfile.leaves/)".into(),
            ),
            Error::Usage(UsageError::PassphraseConflict) => {
                Some("unset MTLSCTL_CA_PASSPHRASE or drop --no-passphrase".into())
            }
            Error::Usage(UsageError::Prompt(_)) => Some("run the command again and type the same passphrase twice".into()),
            Error::SecretFile(FsError::TooLarge { .. }) => Some(
                "a passphrase or password file holds one line (up to 4 KiB, read up to its first newline): check the path".into(),
            ),
            Error::InputFile(FsError::TooLarge { .. }) => Some(
                "certificates, chains, CSRs, CRLs and PKCS#12 files are far smaller: check the path".into(),
            ),
            Error::SecretFile(_) => Some("check the path and permissions of the passphrase or password file".into()),
            Error::InputFile(_) => Some("check the path and permissions of the file".into()),
            Error::Inspect { source: InspectError::Pkcs12(_), .. } => {
                Some("give the PKCS#12 password with --password-file FILE or MTLSCTL_P12_PASSWORD".into())
            }
            Error::Inspect { .. } => {
                Some("inspect reads PEM or DER certificates, chains, CSRs, CRLs and PKCS#12 files".into())
            }
            Error::CheckFailed(failure) => Some(failure.hint()),
            Error::Gateway(crate::gateway::GatewayError::Snapshot(
                crate::pki::snapshot::SnapshotError::ServerCert { name, .. },
            )) => Some(format!(
                "run `mtlsctl revoke {name}` and start the gateway again (it issues a server certificate for its names), or pass other --server-name values"
            )),
            Error::Gateway(crate::gateway::GatewayError::Snapshot(
                crate::pki::snapshot::SnapshotError::ClientCert { .. },
            )) => None,
            Error::Gateway(crate::gateway::GatewayError::Snapshot(_)) => Some(
                "the gateway does not start without valid trust and CRLs: run `mtlsctl check` and `mtlsctl crl`, or restore the PKI".into(),
            ),
            Error::Gateway(crate::gateway::GatewayError::Config(_)) => Some(
                "fix that line (docs/gateway.md lists every key, rule kind and value), then check it with `mtlsctl serve --check-config --config FILE`".into(),
            ),
            Error::Gateway(crate::gateway::GatewayError::Bind { .. }) => {
                Some("pick another --listen address, or stop what is using it".into())
            }
            Error::Gateway(_) => None,
            Error::Harden(_) => Some(
                "mtlsctl does not hold keys in a process that can dump core: allow prctl(PR_SET_DUMPABLE) and setrlimit(RLIMIT_CORE) in the sandbox".into(),
            ),
            Error::Output(_) | Error::BrokenPipe => None,
        }
    }
}

/// The exit code of a PKI error. Exhaustive down to the nested errors that
/// decide a code, so a new variant must be given one here.
fn pki_exit_code(e: &PkiError) -> i32 {
    match e {
        PkiError::NotFound(_)
        | PkiError::NotAPki(_)
        | PkiError::UnknownCert(_)
        | PkiError::UnknownName(_)
        | PkiError::UnknownGeneration(_) => exit::NOT_FOUND,
        PkiError::AlreadyExists(_)
        | PkiError::NameTaken { .. }
        | PkiError::RotateRevoked { .. }
        | PkiError::GrantToRevoked { .. }
        | PkiError::BundleRevoked(_)
        | PkiError::AlreadyRetired(_)
        | PkiError::GenerationInUse { .. }
        | PkiError::OutputExists(_)
        | PkiError::ChangedMeanwhile(_) => exit::CONFLICT,
        PkiError::RetireCurrent(_)
        | PkiError::SingleTierRotate
        | PkiError::RotateNeedsCsr(_)
        | PkiError::BundleNoKey(_)
        | PkiError::ServerNeedsSan(_)
        | PkiError::ValidityPastCa { .. }
        | PkiError::OutsideConstraints { .. }
        | PkiError::NameLooksLikeSerial(_) => exit::USAGE,
        PkiError::Snapshot(_) => exit::DAMAGED,
        PkiError::Verify(VerifyError::Read(_) | VerifyError::NoCertificate(_))
        | PkiError::CsrUnreadable { .. }
        | PkiError::CsrTooLarge(_)
        | PkiError::CsrSignature(_)
        | PkiError::CsrKeyUnsupported { .. } => exit::BAD_INPUT,
        PkiError::Key { source, .. } => match source {
            KeyError::WrongPassphrase | KeyError::PassphraseNeeded => exit::BAD_INPUT,
            KeyError::Generate(..)
            | KeyError::Malformed(_)
            | KeyError::Encode(_)
            | KeyError::Encrypt(_) => exit::FAILURE,
        },
        PkiError::Inventory(e) => match e {
            InventoryError::Lock(LockError::Timeout { .. }) => exit::BUSY,
            InventoryError::Lock(LockError::NotWritable { .. }) | InventoryError::Sqlite { .. } => {
                exit::FAILURE
            }
            InventoryError::Lock(LockError::Io(e)) | InventoryError::File(e) => fs_exit_code(e),
            InventoryError::Corrupt { .. }
            | InventoryError::Missing(_)
            | InventoryError::Version { .. } => exit::DAMAGED,
        },
        PkiError::Settings(e) => match e {
            // Encode was reported as Syntax before it had a name: kept at 7.
            SettingsError::Syntax { .. }
            | SettingsError::Value { .. }
            | SettingsError::Encode { .. } => exit::DAMAGED,
            // A symlinked mtlsctl.toml is read like any file: 1, not 7.
            SettingsError::Io(_) => exit::FAILURE,
        },
        PkiError::DirOpenToOthers { .. } | PkiError::KeyOpenToOthers { .. } => exit::DAMAGED,
        PkiError::Fs(e) => fs_exit_code(e),
        PkiError::KeyGen(_)
        | PkiError::Sign(_)
        | PkiError::P12Build(_)
        | PkiError::P12Label(_)
        | PkiError::FileUnreadable { .. }
        | PkiError::NotPemCert { .. }
        | PkiError::NotPemCrl { .. }
        | PkiError::CrlMalformed { .. }
        | PkiError::CrlNumberMissing(_)
        | PkiError::NoCertificate(_)
        | PkiError::CertMalformed { .. }
        | PkiError::CaKeyMismatch(_)
        | PkiError::IntermediateSerial { .. }
        | PkiError::NoActiveGeneration(_) => exit::FAILURE,
    }
}

/// A file operation inside the PKI: a symlink where mtlsctl writes makes
/// the PKI unsafe to use; anything else is a failure to complete.
fn fs_exit_code(e: &FsError) -> i32 {
    match e {
        FsError::Symlink(_) => exit::DAMAGED,
        FsError::Io { .. } | FsError::TooLarge { .. } => exit::FAILURE,
    }
}
