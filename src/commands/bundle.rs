//! `bundle NAME [--format p12|pem] [--out FILE] [--password-file F] [--legacy]`
//! and `bundle --format pem --trust`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{BundleArgs, BundleFormat};
use crate::error::{Error, UsageError};
use crate::output::{Printer, prompt};
use crate::pki::Pki;
use crate::pki::bundle::{self, BundleKind, P12Password};
use crate::pki::fsio;

/// The environment variable scripts use for a PKCS#12 password.
pub const P12_PASSWORD_ENV: &str = "MTLSCTL_P12_PASSWORD";

#[derive(Serialize)]
struct BundleJson {
    out: String,
    format: &'static str,
    name: Option<String>,
    serial: Option<String>,
    certificates: usize,
    includes_private_key: bool,
}

pub fn run(dir: &Path, args: BundleArgs, printer: Printer, overwrite: bool) -> Result<(), Error> {
    let pki = Pki::open(dir)?;
    if args.trust {
        if args.format != BundleFormat::Pem {
            return Err(UsageError::TrustNeedsPem.into());
        }
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("trust.pem"));
        let count = bundle::trust_bundle(&pki, &out, overwrite)?;
        let json = BundleJson {
            out: out.display().to_string(),
            format: "pem-trust",
            name: None,
            serial: None,
            certificates: count,
            includes_private_key: false,
        };
        return printer.emit(&json, || {
            format!("wrote {} ({count} root(s))\n", out.display())
        });
    }
    let Some(name) = args.name.clone() else {
        return Err(UsageError::TrustNeedsPem.into());
    };
    // Exporting a key is audited: a write into the PKI.
    pki.check_modes()?;
    let kind = match args.format {
        BundleFormat::P12 => BundleKind::P12 {
            password: p12_password(args.password_file.as_deref())?,
            legacy: args.legacy,
        },
        BundleFormat::Pem => {
            if args.legacy || args.password_file.is_some() {
                return Err(UsageError::PemTakesNoPassword.into());
            }
            BundleKind::Pem
        }
    };
    let ext = if args.format == BundleFormat::P12 {
        "p12"
    } else {
        "pem"
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{name}.{ext}")));
    let report = bundle::bundle(&pki, &name, kind, &out, overwrite)?;
    let json = BundleJson {
        out: report.path.display().to_string(),
        format: report.format,
        name: Some(report.record.name.to_string()),
        serial: Some(report.record.serial.to_string()),
        certificates: report.certificates,
        includes_private_key: true,
    };
    printer.emit(&json, || {
        format!(
            "wrote {} ({}: private key + {} certificate(s), mode 0600)\n",
            report.path.display(),
            report.format,
            report.certificates
        )
    })
}

fn p12_password(file: Option<&Path>) -> Result<P12Password, Error> {
    if let Some(path) = file {
        let text = fsio::read_first_line(path).map_err(Error::SecretFile)?;
        return P12Password::new(text).ok_or(Error::Usage(UsageError::EmptyPassword));
    }
    if let Ok(text) = std::env::var(P12_PASSWORD_ENV) {
        return P12Password::new(text).ok_or(Error::Usage(UsageError::EmptyPassword));
    }
    if prompt::interactive() {
        let text = prompt::secret("Password for the PKCS#12 file", true)?;
        return P12Password::new(text).ok_or(Error::Usage(UsageError::EmptyPassword));
    }
    Err(Error::Usage(UsageError::NoPasswordSource))
}
