//! The PKI domain: a certificate authority run from a directory on disk.
//! No tokio, no hyper; the command line and (later) the gateway call in.

pub mod audit;
pub mod bundle;
pub mod ca;
pub mod crl_refresh;
pub mod distribution;
pub mod dn;
mod error;
pub mod expiry;
pub mod fsio;
pub mod hooks;
pub mod inspect;
pub mod inventory;
pub mod issue;
pub mod journal;
pub mod keys;
pub mod layout;
pub mod model;
mod p12_label;
pub mod publish;
pub mod recover;
pub mod refusal;
pub mod renew;
pub mod revoke;
pub mod roles;
pub mod rotate;
pub mod settings;
pub mod snapshot;
pub mod stamp;
pub mod time;
pub mod verify;

pub use error::{CaFileKind, CsrProblem, PkiError};

use std::path::Path;

use crate::pki::fsio::FsError;
use crate::pki::layout::Layout;
use crate::pki::settings::Settings;

/// Refuses a directory that group or others may write to: they could
/// replace what mtlsctl trusts or signs with. A symlink is refused too
/// unless `follow` (the PKI directory itself may be one). A directory on a
/// read-only mount passes whatever its mode (a Kubernetes volume's root is
/// 1777, yet no one can write to it).
pub(crate) fn refuse_dir_open_to_others(path: &Path, follow: bool) -> Result<(), PkiError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = if follow {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    };
    let meta = match meta {
        Ok(meta) => meta,
        // Missing: whoever reads or writes in it next says so.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(FsError::new("inspect", path, e).into()),
    };
    if meta.file_type().is_symlink() {
        return Err(FsError::Symlink(path.to_owned()).into());
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 && !fsio::on_read_only_mount(path) {
        return Err(PkiError::DirOpenToOthers {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
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

    /// Opens the PKI for a command that changes it, or for `serve`, which
    /// trusts what it reads from it: as [`Pki::open`], then
    /// [`Pki::check_modes`]. Pure readers (`list`, `show`, `check`,
    /// `verify`) use [`Pki::open`] and work on any directory they can read.
    pub fn open_strict(dir: &Path) -> Result<Pki, PkiError> {
        let pki = Self::open(dir)?;
        pki.check_modes()?;
        Ok(pki)
    }

    /// Refuses a PKI directory that users other than its owner may write
    /// to, as ssh refuses such a `~/.ssh`.
    pub fn check_modes(&self) -> Result<(), PkiError> {
        refuse_dir_open_to_others(self.layout.root(), true)
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
