//! `crl [--out FILE] [--der]`.

use std::path::Path;

use serde::Serialize;

use crate::cli::CrlArgs;
use crate::commands::ca_passphrase;
use crate::error::Error;
use crate::output::{Printer, table};
use crate::pki::fsio::{self, Mode};
use crate::pki::{Pki, PkiError, ca, revoke};

#[derive(Serialize)]
struct CrlJson {
    path: String,
    issuer: String,
    crl_number: u64,
    this_update: String,
    next_update: String,
    entries: usize,
}

#[derive(Serialize)]
struct ExportJson {
    out: String,
    format: &'static str,
}

pub fn run(dir: &Path, args: CrlArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open(dir)?;
    if let Some(out) = &args.out {
        let layout = pki.layout();
        let bytes = if args.der {
            let g = pki.settings().ca.generation;
            let level = ca::issuing_level(pki.settings());
            let path = layout.ca_crl(g, level);
            let pem = std::fs::read(&path)
                .map_err(|e| PkiError::Fs(fsio::FsError::new("read", &path, e)))?;
            use rustls_pki_types::pem::PemObject;
            rustls_pki_types::CertificateRevocationListDer::from_pem_slice(&pem)
                .map_err(|source| PkiError::NotPemCrl {
                    path: path.clone(),
                    source,
                })?
                .as_ref()
                .to_vec()
        } else {
            let path = layout.crls();
            std::fs::read(&path).map_err(|e| PkiError::Fs(fsio::FsError::new("read", &path, e)))?
        };
        fsio::write_atomic(out, &bytes, Mode::Public).map_err(PkiError::from)?;
        let json = ExportJson {
            out: out.display().to_string(),
            format: if args.der { "der" } else { "pem" },
        };
        return printer.emit(&json, || format!("wrote {}\n", out.display()));
    }
    pki.check_modes()?;
    let passphrase = ca_passphrase(&pki, args.passphrase.passphrase_file.as_deref())?;
    let signed = revoke::resign_all(&pki, passphrase.as_ref())?;
    let json: Vec<CrlJson> = signed
        .iter()
        .map(|c| CrlJson {
            path: c.path.display().to_string(),
            issuer: c.issuer.clone(),
            crl_number: c.number,
            this_update: crate::pki::time::rfc3339(c.this_update),
            next_update: crate::pki::time::rfc3339(c.next_update),
            entries: c.entries,
        })
        .collect();
    printer.emit(&json, || {
        let rows: Vec<Vec<String>> = json
            .iter()
            .map(|c| {
                vec![
                    c.path.clone(),
                    c.crl_number.to_string(),
                    c.entries.to_string(),
                    c.next_update.clone(),
                    c.issuer.clone(),
                ]
            })
            .collect();
        table::table(
            &["CRL", "NUMBER", "ENTRIES", "NEXT UPDATE", "ISSUER"],
            &rows,
        )
    })
}
