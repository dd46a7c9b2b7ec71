//! `show NAME|SERIAL`.

use std::path::Path;

use crate::cli::ShowArgs;
use crate::error::Error;
use crate::output::json::CertJson;
use crate::output::{Printer, table};
use crate::pki::inventory::Inventory;
use crate::pki::{Pki, PkiError};

pub fn run(dir: &Path, args: ShowArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open(dir)?;
    let layout = pki.layout();
    let inventory = Inventory::open_for_read(layout).map_err(PkiError::from)?;
    let record = inventory.find(&args.target).map_err(PkiError::from)?;
    drop(inventory);
    let record = record.ok_or_else(|| PkiError::UnknownCert(args.target.clone()))?;
    let now = crate::pki::time::now();
    let json = CertJson::new(&record, now, layout);
    printer.emit(&json, || table::cert_details(&json, now, record.not_after))
}
