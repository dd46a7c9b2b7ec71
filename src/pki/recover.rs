//! Every change to the PKI starts here: [`open_for_change`] takes the lock,
//! refuses early when `audit.log` cannot be written, and finishes or undoes
//! whatever a writer killed mid-change left behind, before the new change
//! begins. That is what keeps the first PKI invariant ("nothing signed that
//! the inventory does not know") true after a `kill -9` or a full disk:
//!
//! - a pending certificate (recorded, files maybe not in place) is rolled
//!   forward when `certs/NAME/cert.pem` already holds it, and rolled back
//!   otherwise: its staging directory is removed first, then its record;
//!   a name's previous directory parked by the two-step swap is put back;
//! - `.staging/` entries and temp files (`.NAME.tmp.PID.RAND`) in the PKI
//!   directory and `ca/<gen>/` are removed: no other writer can own them
//!   while the exclusive lock is held;
//! - audit lines committed but not yet in `audit.log` are appended.
//!
//! What it did is said in one line on stderr. Publication (CRLs,
//! `crls.pem`, `trust.pem`) is repaired separately by
//! [`crate::pki::publish::repair`], which needs the CA key.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::pki::PkiError;
use crate::pki::audit;
use crate::pki::ca;
use crate::pki::fsio::{self, FsError};
use crate::pki::inventory::Inventory;
use crate::pki::journal::Pending;
use crate::pki::layout::Layout;
use crate::pki::model::Serial;

/// Opens the inventory for a change, holding the PKI lock, with whatever a
/// killed writer left finished or rolled back.
pub fn open_for_change(layout: &Layout) -> Result<Inventory, PkiError> {
    let mut inventory = Inventory::open_for_write(layout)?;
    audit::check_writable(layout)?;
    let mut done: Vec<String> = Vec::new();
    for pending in inventory.pending()? {
        done.push(settle(layout, &mut inventory, &pending)?);
    }
    let swept = sweep(layout)?;
    if swept > 0 {
        done.push(format!("removed {swept} leftover temp or staging file(s)"));
    }
    let appended = flush_audit(layout, &inventory)?;
    if appended > 0 {
        done.push(format!("appended {appended} missing audit line(s)"));
    }
    if !done.is_empty() {
        // One line: through the gateway's JSON log when `serve` renews its
        // certificate, on stderr for a command (stdout stays clean; a
        // closed or broken stderr is ignored: the repair is done either way).
        let done = done.join("; ");
        if tracing::dispatcher::has_been_set() {
            tracing::warn!(target: "mtlsctl::recover", message = "finished what an interrupted mtlsctl left", done);
        } else {
            let _ = writeln!(
                std::io::stderr().lock(),
                "note: finished what an interrupted mtlsctl left: {done}"
            );
        }
    }
    Ok(inventory)
}

/// Rolls one pending certificate forward or back; says which.
fn settle(
    layout: &Layout,
    inventory: &mut Inventory,
    pending: &Pending,
) -> Result<String, PkiError> {
    if serial_on_disk(&layout.leaf_cert(&pending.name)).as_ref() == Some(&pending.serial) {
        let mut event = audit::AuditEvent::new(
            "issue",
            serde_json::json!({ "recovered": "rolled forward after an interrupted issue or rotate" }),
        );
        event.name = Some(pending.name.as_str());
        event.serial = Some(pending.serial.as_str());
        inventory.finish_issue(&pending.serial, &event.line())?;
        remove_dir(&layout.staging(&pending.serial))?;
        remove_dir(&layout.staging_previous(&pending.serial))?;
        return Ok(format!(
            "made {} (serial {}) current",
            pending.name, pending.serial
        ));
    }
    roll_back(layout, inventory, pending)?;
    Ok(format!(
        "dropped the unfinished certificate for {} (serial {})",
        pending.name, pending.serial
    ))
}

/// Undoes a pending certificate whose files never became visible: puts
/// back a previous directory the two-step swap parked, removes the staging
/// directory, then forgets the record. Also `issue`'s own undo when writing
/// its files fails.
pub(crate) fn roll_back(
    layout: &Layout,
    inventory: &mut Inventory,
    pending: &Pending,
) -> Result<(), PkiError> {
    let parked = layout.staging_previous(&pending.serial);
    let target = layout.leaf_dir(&pending.name);
    if fs::symlink_metadata(&target).is_err() && parked.is_dir() {
        fs::rename(&parked, &target)
            .map_err(|e| FsError::new("put back the previous directory", &target, e))?;
        fsio::sync_dir(&layout.certs_dir())?;
    }
    remove_dir(&layout.staging(&pending.serial))?;
    remove_dir(&parked)?;
    inventory.abandon_issue(&pending.serial)?;
    Ok(())
}

/// The serial of the certificate in `path`, if it holds a readable one.
pub(crate) fn serial_on_disk(path: &Path) -> Option<Serial> {
    let der = ca::read_cert(path).ok()?;
    crate::pki::inspect::cert_info(der.as_ref())
        .ok()
        .map(|info| info.serial)
}

fn remove_dir(path: &Path) -> Result<(), PkiError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FsError::new("remove", path, e).into()),
    }
}

/// Removes what no writer owns any more (every pending certificate is
/// settled by now, and the exclusive lock is held): see [`leftovers`].
/// Returns how many entries went.
fn sweep(layout: &Layout) -> Result<usize, PkiError> {
    let found = leftovers(layout, false);
    for path in &found {
        let gone = match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
            Ok(_) => fs::remove_file(path),
            Err(e) => Err(e),
        };
        match gone {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(FsError::new("remove", path, e).into()),
        }
    }
    Ok(found.len())
}

/// What only an interrupted writer leaves: every entry of `.staging/`, and
/// temp files (`.NAME.tmp.PID.RAND`) in the PKI directory and each
/// `ca/<gen>/`; with `leaf_dirs`, in each `certs/NAME/` too (older builds
/// wrote there; `check` looks, writers do not, so that their cost does not
/// grow with the number of certificates).
pub(crate) fn leftovers(layout: &Layout, leaf_dirs: bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(layout.staging_root())
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    let mut dirs = vec![layout.root().to_owned()];
    dirs.extend(
        layout
            .ca_generations()
            .into_iter()
            .map(|g| layout.ca_dir(g)),
    );
    if leaf_dirs && let Ok(names) = fs::read_dir(layout.certs_dir()) {
        dirs.extend(names.flatten().map(|e| e.path()));
    }
    for dir in dirs {
        if let Ok(entries) = fs::read_dir(&dir) {
            out.extend(
                entries
                    .flatten()
                    .filter(|e| fsio::is_temp_name(&e.file_name().to_string_lossy()))
                    .map(|e| e.path()),
            );
        }
    }
    out
}

/// Appends committed audit lines that `audit.log` lacks, then drops them
/// from the outbox. A line already at the log's end (the append happened,
/// the drop did not) is not written twice.
pub fn flush_audit(layout: &Layout, inventory: &Inventory) -> Result<usize, PkiError> {
    let outbox = inventory.audit_outbox()?;
    if outbox.is_empty() {
        return Ok(0);
    }
    let tail = log_tail(&layout.audit_log());
    let mut appended = 0;
    for (id, line) in outbox {
        if !tail.contains(&line) {
            fsio::append_line(&layout.audit_log(), &line)?;
            appended += 1;
        }
        inventory.audit_done(id)?;
    }
    Ok(appended)
}

/// The last 256 KiB of the audit log (lines carry their time and pid, so
/// a committed line is unique).
fn log_tail(path: &Path) -> String {
    const TAIL: u64 = 256 * 1024;
    let Ok(mut file) = fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(TAIL)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}
