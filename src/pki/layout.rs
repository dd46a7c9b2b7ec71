//! Every path inside the PKI directory, in one place. Nothing else in the
//! crate joins file names onto the PKI root.
//!
//! ```text
//! pki/
//!   mtlsctl.toml            settings
//!   inventory.db            every certificate ever issued (SQLite)
//!   audit.log               JSON lines, append-only
//!   trust.pem               the roots relying parties should trust now
//!   crls.pem                every CRL relying parties need now
//!   .lock                   cross-process lock for writers
//!   .staging/<serial>/      a certificate's files before they move to certs/
//!   ca/<gen>/root.pem root.key root.crl
//!   ca/<gen>/intermediate.pem intermediate.key intermediate.crl   (two-tier)
//!   certs/<name>/cert.pem key.pem chain.pem
//! ```

use std::path::{Path, PathBuf};

use crate::pki::model::{CertName, Serial};

/// The two CA levels a generation may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaLevel {
    /// The self-signed root.
    Root,
    /// The issuing intermediate (absent with `--single-tier`).
    Intermediate,
}

impl CaLevel {
    /// File stem and display name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaLevel::Root => "root",
            CaLevel::Intermediate => "intermediate",
        }
    }
}

/// The paths of one PKI directory.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout of the PKI rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The PKI directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `mtlsctl.toml`: settings.
    pub fn settings(&self) -> PathBuf {
        self.root.join("mtlsctl.toml")
    }

    /// `inventory.db`: the certificate records.
    pub fn inventory(&self) -> PathBuf {
        self.root.join("inventory.db")
    }

    /// `audit.log`: JSON lines, one per change.
    pub fn audit_log(&self) -> PathBuf {
        self.root.join("audit.log")
    }

    /// `trust.pem`: the current roots.
    pub fn trust(&self) -> PathBuf {
        self.root.join("trust.pem")
    }

    /// `crls.pem`: every CRL relying parties need now, concatenated
    /// (nginx `ssl_crl`, the gateway).
    pub fn crls(&self) -> PathBuf {
        self.root.join("crls.pem")
    }

    /// `.lock`: the writers' lock file.
    pub fn lock(&self) -> PathBuf {
        self.root.join(".lock")
    }

    /// `.staging/`: where a certificate's directory is assembled before it
    /// is renamed into `certs/` (mode 0700: it holds keys).
    pub fn staging_root(&self) -> PathBuf {
        self.root.join(".staging")
    }

    /// The staging directory of the certificate with `serial`.
    pub fn staging(&self, serial: &Serial) -> PathBuf {
        self.staging_root().join(serial.as_str())
    }

    /// Where a name's previous directory waits while a new one is moved in
    /// on a filesystem without `RENAME_EXCHANGE`.
    pub fn staging_previous(&self, serial: &Serial) -> PathBuf {
        self.staging_root()
            .join(format!("{}.previous", serial.as_str()))
    }

    /// `ca/`: the CA generations (mode 0700, as is each `ca/<gen>/`).
    pub fn generations_dir(&self) -> PathBuf {
        self.root.join("ca")
    }

    /// `ca/<gen>/`: one CA generation.
    pub fn ca_dir(&self, generation: u32) -> PathBuf {
        self.generations_dir().join(generation.to_string())
    }

    /// The CA certificate of a level in a generation.
    pub fn ca_cert(&self, generation: u32, level: CaLevel) -> PathBuf {
        self.ca_dir(generation)
            .join(format!("{}.pem", level.as_str()))
    }

    /// The CA private key of a level in a generation.
    pub fn ca_key(&self, generation: u32, level: CaLevel) -> PathBuf {
        self.ca_dir(generation)
            .join(format!("{}.key", level.as_str()))
    }

    /// The CRL (PEM) a level of a generation signs.
    pub fn ca_crl(&self, generation: u32, level: CaLevel) -> PathBuf {
        self.ca_dir(generation)
            .join(format!("{}.crl", level.as_str()))
    }

    /// `certs/`: the named certificates (mode 0750, as is each
    /// `certs/<name>/`).
    pub fn certs_dir(&self) -> PathBuf {
        self.root.join("certs")
    }

    /// `certs/<name>/`: the files of a named certificate.
    pub fn leaf_dir(&self, name: &CertName) -> PathBuf {
        self.certs_dir().join(name.as_str())
    }

    /// The leaf certificate (PEM).
    pub fn leaf_cert(&self, name: &CertName) -> PathBuf {
        self.leaf_dir(name).join("cert.pem")
    }

    /// The leaf private key (PEM, PKCS#8, mode 0600).
    pub fn leaf_key(&self, name: &CertName) -> PathBuf {
        self.leaf_dir(name).join("key.pem")
    }

    /// Leaf plus intermediates (PEM).
    pub fn leaf_chain(&self, name: &CertName) -> PathBuf {
        self.leaf_dir(name).join("chain.pem")
    }

    /// The CA generations that have a directory under `ca/`, in order.
    /// Entries whose name is not a number are not generations.
    pub fn ca_generations(&self) -> Vec<u32> {
        let mut generations: Vec<u32> = std::fs::read_dir(self.generations_dir())
            .map(|dirs| {
                dirs.flatten()
                    .filter_map(|d| d.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        generations.sort_unstable();
        generations
    }

    /// Every file the gateway's snapshot is built from, with the server
    /// credential of `server`: trust.pem, crls.pem, the inventory, each CA
    /// generation's certificates (listed from `ca/` now, so a new
    /// generation joins the set), and the server's chain and key.
    pub fn snapshot_sources(&self, server: &CertName) -> Vec<PathBuf> {
        let mut files = vec![self.trust(), self.crls(), self.inventory()];
        for generation in self.ca_generations() {
            for level in [CaLevel::Root, CaLevel::Intermediate] {
                files.push(self.ca_cert(generation, level));
            }
        }
        files.push(self.leaf_chain(server));
        files.push(self.leaf_key(server));
        files
    }
}
