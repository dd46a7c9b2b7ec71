//! `issue NAME`.

use std::path::Path;

use crate::cli::IssueArgs;
use crate::commands::ca_passphrase;
use crate::error::Error;
use crate::output::json::CertJson;
use crate::output::{Printer, table};
use crate::pki::Pki;
use crate::pki::ca;
use crate::pki::issue::{self, IssueRequest, KeySource};

pub fn run(dir: &Path, args: IssueArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open_strict(dir)?;
    let passphrase = ca_passphrase(&pki, args.passphrase.passphrase_file.as_deref())?;
    let issuing = ca::load_issuing_ca(&pki, passphrase.as_ref())?;
    let key = match args.csr {
        Some(path) => KeySource::Csr(path),
        None => KeySource::Generate(args.key_type),
    };
    let issued = issue::issue(
        &pki,
        IssueRequest {
            name: args.name,
            profile: args.profile,
            cn: args.cn,
            org: args.org,
            ou: args.ou,
            dns: args.dns,
            ips: args.ip,
            uris: args.uri,
            emails: args.email,
            validity: args.validity,
            key,
            roles: args.role,
        },
        &issuing,
    )?;
    let now = crate::pki::time::now();
    let layout = pki.layout();
    let json = CertJson::new(&issued.record, now, layout);
    printer.emit(&json, || {
        table::cert_details(&json, now, issued.record.not_after)
    })
}
