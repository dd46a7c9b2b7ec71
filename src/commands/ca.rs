//! `ca init` and `ca show`.

use std::path::Path;

use serde::Serialize;

use crate::cli::CaInitArgs;
use crate::commands::{PASSPHRASE_ENV, secret_from_file};
use crate::error::{Error, UsageError};
use crate::output::json::CertInfoJson;
use crate::output::{Printer, prompt, table};
use crate::pki::ca::{self, CaInitRequest};
use crate::pki::inspect::cert_info;
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

pub fn show(dir: &Path, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open(dir)?;
    let settings = pki.settings();
    let generation = settings.ca.generation;
    let read = |level: CaLevel| -> Result<_, Error> {
        let path = pki.layout().ca_cert(generation, level);
        let der = ca::read_cert(&path)?;
        cert_info(&der).map_err(|e| {
            Error::Pki(PkiError::CaFile {
                path,
                why: e.to_string(),
            })
        })
    };
    let root = read(CaLevel::Root)?;
    let intermediate = if settings.ca.single_tier {
        None
    } else {
        Some(read(CaLevel::Intermediate)?)
    };
    let json = CaJson {
        pki: dir.display().to_string(),
        generation,
        single_tier: settings.ca.single_tier,
        encrypted: settings.ca.encrypted,
        trust_path: pki.layout().trust().display().to_string(),
        root: (&root).into(),
        intermediate: intermediate.as_ref().map(Into::into),
    };
    let now = crate::pki::time::now();
    printer.emit(&json, || {
        let mut out = format!(
            "CA '{}', generation {generation}\n\nroot:\n",
            settings.ca.name
        );
        out.push_str(&table::cert_info(&root, now));
        if let Some(i) = &intermediate {
            out.push_str("\nintermediate:\n");
            out.push_str(&table::cert_info(i, now));
        }
        out
    })
}
