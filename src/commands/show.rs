//! `show NAME|SERIAL`.

use std::path::Path;

use crate::cli::ShowArgs;
use crate::error::Error;
use crate::output::json::CertJson;
use crate::output::{Printer, table};
use crate::pki::inventory::Inventory;
use crate::pki::model::{CertName, Serial};
use crate::pki::{Pki, PkiError};

pub fn run(dir: &Path, args: ShowArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open(dir)?;
    let layout = pki.layout();
    let inventory = Inventory::open_for_read(layout).map_err(PkiError::from)?;
    let by_name = match args.target.parse::<CertName>() {
        Ok(name) => inventory.current(&name).map_err(PkiError::from)?,
        Err(_) => None,
    };
    let record = match by_name {
        Some(r) => Some(r),
        None => match args.target.parse::<Serial>() {
            Ok(serial) => inventory.by_serial(&serial).map_err(PkiError::from)?,
            Err(_) => None,
        },
    };
    drop(inventory);
    let record = record.ok_or_else(|| PkiError::UnknownCert(args.target.clone()))?;
    let now = crate::pki::time::now();
    let json = CertJson::new(
        &record,
        now,
        &layout.leaf_cert(&record.name),
        &layout.leaf_key(&record.name),
        &layout.leaf_chain(&record.name),
    );
    printer.emit(&json, || table::cert_details(&json, now, record.not_after))
}
