//! `ca init`: root, intermediate, CRLs, trust bundle, settings and
//! inventory, all staged in a hidden sibling directory and renamed into
//! place, so a failed or killed init leaves nothing behind (and the next
//! one removes a dead run's staging, which holds CA keys).

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::Issuer;

use super::BACKDATE;
use super::crl::publish;
use super::params::{NewCa, make_ca, name_constraints};
use crate::pki::PkiError;
use crate::pki::audit::{self, AuditEvent};
use crate::pki::distribution::{Distribution, IssuerFiles};
use crate::pki::fsio::{self, DirMode, Lock, Mode};
use crate::pki::inspect::CertInfo;
use crate::pki::inventory::{Generation, Inventory, lock_timeout};
use crate::pki::keys::Passphrase;
use crate::pki::layout::{CaLevel, Layout};
use crate::pki::model::{DnsName, IpNet, KeyType, Validity};
use crate::pki::settings::{CaSettings, Settings};

/// What `ca init` is asked to make.
pub struct CaInitRequest {
    /// Display name; the CAs' common names derive from it.
    pub name: String,
    /// Key type of the CA keys.
    pub key_type: KeyType,
    /// Root validity (the intermediate ends with the root).
    pub validity: Validity,
    /// Root only, issuing leaves itself.
    pub single_tier: bool,
    /// Permitted DNS subtrees.
    pub permit_dns: Vec<DnsName>,
    /// Permitted IP subtrees.
    pub permit_ip: Vec<IpNet>,
    /// Encrypts the CA keys when present.
    pub passphrase: Option<Passphrase>,
    /// CRL and CA certificate URLs for issued certificates (`--crl-url`,
    /// `--aia-url`).
    pub distribution: Distribution,
}

/// What `ca init` made.
#[derive(Debug)]
pub struct CaInitReport {
    /// The PKI directory.
    pub dir: PathBuf,
    /// The root certificate.
    pub root: CertInfo,
    /// The intermediate, unless single-tier.
    pub intermediate: Option<CertInfo>,
    /// True when the keys are encrypted.
    pub encrypted: bool,
    /// `trust.pem`.
    pub trust_path: PathBuf,
}

/// Creates a new PKI at `dir`. `dir` must not exist or be an empty directory.
pub fn init(dir: &Path, req: CaInitRequest) -> Result<CaInitReport, PkiError> {
    if dir.exists() {
        let empty = fs::read_dir(dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !dir.is_dir() || !empty {
            return Err(PkiError::AlreadyExists(dir.to_owned()));
        }
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fsio::create_dir_all(&parent)?;
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pki".into());
    remove_abandoned_staging(&parent, &base)?;
    let mut rand = [0u8; 6];
    let _ = aws_lc_rs::rand::fill(&mut rand);
    let staging = parent.join(format!(
        ".{base}.init.{}.{}",
        std::process::id(),
        hex::encode(rand)
    ));
    let result = build(&staging, &req).and_then(|report| {
        // Public files stay readable to a group (the one nginx runs as).
        fs::set_permissions(
            &staging,
            std::os::unix::fs::PermissionsExt::from_mode(0o750),
        )
        .map_err(|e| fsio::FsError::new("set permissions on", &staging, e))?;
        fs::rename(&staging, dir).map_err(|e| {
            if matches!(
                e.kind(),
                std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists
            ) || e.raw_os_error() == Some(39)
            {
                PkiError::AlreadyExists(dir.to_owned())
            } else {
                PkiError::Fs(fsio::FsError::new("move the new PKI into", dir, e))
            }
        })?;
        fsio::sync_dir(&parent)?;
        Ok(report)
    });
    match result {
        Ok(report) => Ok(CaInitReport {
            dir: dir.to_owned(),
            trust_path: Layout::new(dir).trust(),
            ..report
        }),
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

/// Removes the staging directories of `ca init` runs for the same target
/// whose process is gone (killed mid-init): they hold CA keys.
fn remove_abandoned_staging(parent: &Path, base: &str) -> Result<(), PkiError> {
    let prefix = format!(".{base}.init.");
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('.').next().unwrap_or("");
        let alive = !pid.is_empty() && Path::new("/proc").join(pid).exists();
        if !alive {
            let path = entry.path();
            fs::remove_dir_all(&path).map_err(|e| fsio::FsError::new("remove", &path, e))?;
        }
    }
    Ok(())
}

fn build(staging: &Path, req: &CaInitRequest) -> Result<CaInitReport, PkiError> {
    // Private while it is built: CA keys land here before the rename.
    fsio::create_dir(staging, DirMode::Private)?;
    let layout = Layout::new(staging);
    let generation = 1;
    fsio::create_dir(&layout.generations_dir(), DirMode::Private)?;
    fsio::create_dir(&layout.ca_dir(generation), DirMode::Private)?;
    fsio::create_dir(&layout.certs_dir(), DirMode::Shared)?;
    let lock = Lock::exclusive(&layout.lock(), lock_timeout())
        .map_err(crate::pki::inventory::InventoryError::from)?;

    let now = crate::pki::time::now();
    let not_before = now - BACKDATE;
    let not_after = now + req.validity.duration();
    let constraints = name_constraints(&req.permit_dns, &req.permit_ip);

    let settings = Settings::new(CaSettings {
        name: req.name.clone(),
        generation,
        single_tier: req.single_tier,
        key_type: req.key_type,
        encrypted: req.passphrase.is_some(),
        distribution: req.distribution.clone(),
    });
    let crl_next = now + settings.defaults.crl_lifetime.duration();
    let spec = |level: CaLevel, common_name: String, path_len: u8| NewCa {
        layout: &layout,
        generation,
        level,
        common_name,
        key_type: req.key_type,
        not_before,
        not_after,
        path_len,
        constraints: constraints.clone(),
        passphrase: req.passphrase.as_ref(),
        now,
        crl_next,
        distribution: &req.distribution,
    };
    let root = make_ca(
        spec(
            CaLevel::Root,
            format!("{} Root G{generation}", req.name),
            if req.single_tier { 0 } else { 1 },
        ),
        None,
    )?;
    fsio::write_atomic(&layout.trust(), root.cert.pem().as_bytes(), Mode::Public)?;
    let root_info = root.info.clone();
    let intermediate_info = if req.single_tier {
        None
    } else {
        let root_issuer = Issuer::from_ca_cert_der(root.cert.der(), root.key.pair())?;
        let made = make_ca(
            spec(
                CaLevel::Intermediate,
                format!("{} Intermediate G{generation}", req.name),
                0,
            ),
            Some((
                &root_issuer,
                IssuerFiles {
                    generation,
                    level: CaLevel::Root,
                },
            )),
        )?;
        Some(made.info)
    };

    settings.save(&layout.settings())?;
    let mut inventory = Inventory::create(&layout.inventory(), lock)?;
    inventory.add_generation(&Generation {
        generation,
        root_generation: generation,
        single_tier: req.single_tier,
        created_at: now,
        retired_at: None,
        intermediate_serial: intermediate_info.as_ref().map(|i| i.serial.to_string()),
        intermediate_revoked_at: None,
    })?;
    publish(&layout, &inventory)?;
    drop(inventory);
    let mut event = AuditEvent::new(
        "ca.init",
        serde_json::json!({
            "ca_name": req.name,
            "generation": generation,
            "key_type": req.key_type.as_str(),
            "single_tier": req.single_tier,
            "crl_url": req.distribution.crl_url.as_ref().map(|u| u.as_str()),
            "aia_url": req.distribution.aia_url.as_ref().map(|u| u.as_str()),
            "encrypted": req.passphrase.is_some(),
            "root_serial": root_info.serial.as_str(),
            "root_not_after": crate::pki::time::rfc3339(root_info.not_after),
            "intermediate_serial": intermediate_info.as_ref().map(|i| i.serial.as_str().to_owned()),
        }),
    );
    event.fingerprint_sha256 = Some(root_info.fingerprint.as_str());
    audit::append(&layout, &event)?;
    fsio::sync_dir(staging)?;
    Ok(CaInitReport {
        dir: staging.to_owned(),
        root: root_info,
        intermediate: intermediate_info,
        encrypted: req.passphrase.is_some(),
        trust_path: layout.trust(),
    })
}
