//! `ca init` and `ca show`.

use std::path::Path;

use serde::Serialize;

use crate::cli::{CaInitArgs, CaRetireArgs, CaRotateArgs, CaSetArgs, CaSetKey};
use crate::commands::{PASSPHRASE_ENV, ca_passphrase, secret_from_file};
use crate::error::{Error, UsageError};
use crate::output::json::CertInfoJson;
use crate::output::{Printer, prompt, table};
use crate::pki::ca::{self, CaInitRequest};
use crate::pki::distribution::{self, Distribution, UrlSetting};
use crate::pki::inspect::CertInfo;
use crate::pki::inventory::Inventory;
use crate::pki::keys::Passphrase;
use crate::pki::layout::CaLevel;
use crate::pki::{Pki, PkiError};

#[derive(Serialize)]
struct CaJson {
    pki: String,
    generation: u32,
    single_tier: bool,
    encrypted: bool,
    trust_path: String,
    root: CertInfoJson,
    intermediate: Option<CertInfoJson>,
}

pub fn init(dir: &Path, args: CaInitArgs, printer: Printer) -> Result<(), Error> {
    let passphrase = init_passphrase(&args)?;
    let report = ca::init(
        dir,
        CaInitRequest {
            name: args.name,
            key_type: args.key_type,
            validity: args.validity,
            single_tier: args.single_tier,
            permit_dns: args.permit_dns,
            permit_ip: args.permit_ip,
            passphrase,
            distribution: Distribution {
                crl_url: args.crl_url,
                aia_url: args.aia_url,
            },
        },
    )?;
    let json = CaJson {
        pki: report.dir.display().to_string(),
        generation: 1,
        single_tier: report.intermediate.is_none(),
        encrypted: report.encrypted,
        trust_path: report.trust_path.display().to_string(),
        root: (&report.root).into(),
        intermediate: report.intermediate.as_ref().map(Into::into),
    };
    printer.emit(&json, || {
        let mut rows = vec![
            ("PKI", report.dir.display().to_string()),
            (
                "root",
                format!("{} (serial {})", report.root.subject, report.root.serial),
            ),
        ];
        if let Some(i) = &report.intermediate {
            rows.push((
                "intermediate",
                format!("{} (serial {})", i.subject, i.serial),
            ));
        }
        rows.push(("expires", crate::pki::time::rfc3339(report.root.not_after)));
        rows.push((
            "keys",
            if report.encrypted {
                "encrypted (PKCS#8 PBES2)".into()
            } else {
                "unencrypted, mode 0600".into()
            },
        ));
        rows.push(("trust bundle", report.trust_path.display().to_string()));
        let mut out = table::details(&rows);
        out.push_str(
            "\nnext: mtlsctl issue NAME   (add --profile server --dns HOST for a server)\n",
        );
        out
    })
}

fn init_passphrase(args: &CaInitArgs) -> Result<Option<Passphrase>, Error> {
    let env = std::env::var(PASSPHRASE_ENV).ok();
    if args.no_passphrase {
        return if env.is_some() && args.passphrase_file.is_none() {
            Err(UsageError::PassphraseConflict.into())
        } else {
            Ok(None)
        };
    }
    if let Some(path) = &args.passphrase_file {
        return secret_from_file(path).map(Some);
    }
    if let Some(text) = env {
        return Passphrase::new(text)
            .map(Some)
            .ok_or(Error::Usage(UsageError::EmptyPassphrase));
    }
    if prompt::interactive() {
        let text = prompt::secret("Passphrase for the new CA keys", true)?;
        return Passphrase::new(text)
            .map(Some)
            .ok_or(Error::Usage(UsageError::EmptyPassphrase));
    }
    Err(UsageError::NoPassphraseSource { init: true }.into())
}

#[derive(Serialize)]
struct GenerationJson {
    generation: u32,
    current: bool,
    retired_at: Option<String>,
    root_generation: u32,
    root: CertInfoJson,
    intermediate: Option<CertInfoJson>,
}

#[derive(Serialize)]
struct ShowJson {
    pki: String,
    name: String,
    current_generation: u32,
    single_tier: bool,
    encrypted: bool,
    trust_path: String,
    crls_path: String,
    crl_url: Option<String>,
    aia_url: Option<String>,
    generations: Vec<GenerationJson>,
}

pub fn show(dir: &Path, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open(dir)?;
    let settings = pki.settings();
    let layout = pki.layout();
    let generations = Inventory::open_for_read(layout)
        .and_then(|inv| inv.generations())
        .map_err(PkiError::from)?;
    let read = |files: u32, level: CaLevel| -> Result<CertInfo, Error> {
        let path = layout.ca_cert(files, level);
        Ok(ca::read_cert_info(&path)?.1)
    };
    let mut rows = Vec::new();
    for g in &generations {
        let root = read(g.root_generation, CaLevel::Root)?;
        let intermediate = if g.single_tier {
            None
        } else {
            Some(read(g.generation, CaLevel::Intermediate)?)
        };
        rows.push((g.clone(), root, intermediate));
    }
    let json = ShowJson {
        pki: dir.display().to_string(),
        name: settings.ca.name.clone(),
        current_generation: settings.ca.generation,
        single_tier: settings.ca.single_tier,
        encrypted: settings.ca.encrypted,
        trust_path: layout.trust().display().to_string(),
        crls_path: layout.crls().display().to_string(),
        crl_url: settings
            .ca
            .distribution
            .crl_url
            .as_ref()
            .map(|u| u.to_string()),
        aia_url: settings
            .ca
            .distribution
            .aia_url
            .as_ref()
            .map(|u| u.to_string()),
        generations: rows
            .iter()
            .map(|(g, root, inter)| GenerationJson {
                generation: g.generation,
                current: g.generation == settings.ca.generation,
                retired_at: g.retired_at.map(crate::pki::time::rfc3339),
                root_generation: g.root_generation,
                root: root.into(),
                intermediate: inter.as_ref().map(Into::into),
            })
            .collect(),
    };
    let now = crate::pki::time::now();
    printer.emit(&json, || {
        let mut out = format!(
            "CA '{}': current generation {}, keys {}\ntrust: {}\ncrls:  {}\n",
            settings.ca.name,
            settings.ca.generation,
            if settings.ca.encrypted {
                "encrypted"
            } else {
                "unencrypted (0600)"
            },
            layout.trust().display(),
            layout.crls().display()
        );
        for (key, url) in [("crl url:", &json.crl_url), ("aia url:", &json.aia_url)] {
            if let Some(url) = url {
                out.push_str(&format!("{key} {url}/<generation>/<root|intermediate>\n"));
            }
        }
        for (g, root, inter) in &rows {
            let state = match (g.generation == settings.ca.generation, g.retired_at) {
                (true, _) => "current".to_owned(),
                (false, Some(at)) => format!("retired {}", crate::pki::time::rfc3339(at)),
                (false, None) => "active (not issuing)".to_owned(),
            };
            out.push_str(&format!(
                "\ngeneration {} ({state})\n  root:\n",
                g.generation
            ));
            for line in table::cert_info(root, now).lines() {
                out.push_str(&format!("    {line}\n"));
            }
            if let Some(i) = inter {
                out.push_str("  intermediate:\n");
                for line in table::cert_info(i, now).lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
        out
    })
}

#[derive(Serialize)]
struct RotateJson {
    generation: u32,
    previous_generation: u32,
    root: Option<CertInfoJson>,
    intermediate: Option<CertInfoJson>,
    trust_path: String,
}

pub fn rotate(dir: &Path, args: CaRotateArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open_strict(dir)?;
    let passphrase = ca_passphrase(&pki, args.passphrase.passphrase_file.as_deref())?;
    let report = ca::rotate(&pki, args.root, passphrase.as_ref())?;
    let json = RotateJson {
        generation: report.generation,
        previous_generation: report.previous,
        root: report.root.as_ref().map(Into::into),
        intermediate: report.intermediate.as_ref().map(Into::into),
        trust_path: pki.layout().trust().display().to_string(),
    };
    printer.emit(&json, || {
        let mut rows = vec![(
            "generation",
            format!("{} (was {})", report.generation, report.previous),
        )];
        if let Some(r) = &report.root {
            rows.push(("new root", format!("{} (serial {})", r.subject, r.serial)));
            rows.push((
                "trust.pem",
                "now holds the old and the new root: distribute it before retiring the old".into(),
            ));
        }
        if let Some(i) = &report.intermediate {
            rows.push((
                "new intermediate",
                format!("{} (serial {})", i.subject, i.serial),
            ));
        }
        rows.push((
            "next",
            format!(
                "rotate leaves (`mtlsctl rotate --all`), then `mtlsctl ca retire {}`",
                report.previous
            ),
        ));
        table::details(&rows)
    })
}

#[derive(Serialize)]
struct RetireJson {
    generation: u32,
    root_removed_from_trust: bool,
    intermediate_revoked: bool,
    forced_leaves: Vec<String>,
}

pub fn retire(dir: &Path, args: CaRetireArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open_strict(dir)?;
    let passphrase = ca_passphrase(&pki, args.passphrase.passphrase_file.as_deref())?;
    let report = ca::retire(&pki, args.generation, args.force, passphrase.as_ref())?;
    let json = RetireJson {
        generation: report.generation,
        root_removed_from_trust: report.root_removed,
        intermediate_revoked: report.intermediate_revoked,
        forced_leaves: report
            .forced_leaves
            .iter()
            .map(|r| format!("{} ({})", r.name, r.serial))
            .collect(),
    };
    printer.emit(&json, || {
        let mut out = format!("retired generation {}\n", report.generation);
        if report.root_removed {
            out.push_str("its root left trust.pem\n");
        }
        if report.intermediate_revoked {
            out.push_str("its intermediate is revoked in the root's CRL\n");
        }
        if !json.forced_leaves.is_empty() {
            out.push_str(&format!(
                "cut off (--force): {}\n",
                json.forced_leaves.join(", ")
            ));
        }
        out
    })
}

#[derive(Serialize)]
struct SetJson<'a> {
    key: &'static str,
    value: Option<&'a str>,
    previous: Option<&'a str>,
}

/// `ca set crl-url|aia-url URL` and `--clear`.
pub fn set(dir: &Path, args: CaSetArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open(dir)?;
    let which = match args.key {
        CaSetKey::CrlUrl => UrlSetting::CrlUrl,
        CaSetKey::AiaUrl => UrlSetting::AiaUrl,
    };
    let change = distribution::set_url(&pki, which, args.url)?;
    let json = SetJson {
        key: which.key(),
        value: change.current.as_ref().map(|u| u.as_str()),
        previous: change.previous.as_ref().map(|u| u.as_str()),
    };
    printer.emit(&json, || {
        let shown = |u: Option<&str>| u.unwrap_or("(none)").to_owned();
        let mut out = table::details(&[
            (which.key(), shown(json.value)),
            ("previous", shown(json.previous)),
        ]);
        out.push_str(
            "\ncertificates issued from now on follow this; those issued before keep what they carry \
             (`mtlsctl rotate --all` reissues them)\n",
        );
        out
    })
}
