//! `list`.

use std::path::Path;

use crate::cli::{ListArgs, StatusFilter};
use crate::error::Error;
use crate::output::json::CertJson;
use crate::output::{Printer, table};
use crate::pki::Pki;
use crate::pki::inventory::Inventory;
use crate::pki::model::Status;

pub fn run(dir: &Path, args: ListArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open(dir)?;
    let layout = pki.layout();
    let now = crate::pki::time::now();
    let horizon = args.expiring_within.map(|d| now + d.duration());
    let records = Inventory::open_for_read(layout)
        .and_then(|inv| inv.all(horizon))
        .map_err(crate::pki::PkiError::from)?;
    let wanted = |status: Status| match args.status {
        StatusFilter::All => true,
        StatusFilter::Valid => status == Status::Valid,
        StatusFilter::Revoked => status == Status::Revoked,
        StatusFilter::Expired => status == Status::Expired,
    };
    let certs: Vec<(CertJson, time::OffsetDateTime)> = records
        .iter()
        .filter(|r| wanted(r.status(now)))
        .filter(|r| horizon.is_none() || r.status(now) == Status::Valid)
        .map(|r| {
            let json = CertJson::new(r, now, layout);
            (json, r.not_after)
        })
        .collect();
    let only_json: Vec<&CertJson> = certs.iter().map(|(c, _)| c).collect();
    printer.emit(&only_json, || table::cert_table(&certs, now))
}
