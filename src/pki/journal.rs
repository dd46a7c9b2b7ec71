//! The inventory's crash journal (schema version 2): what a writer intends
//! before it does it, so that the next writer can finish or undo whatever
//! a `kill -9` or a full disk interrupted.
//!
//! - `pending`: a certificate that was signed and recorded (so it can be
//!   revoked by serial) but whose files are not yet known to be in place.
//!   [`Inventory::begin_issue`] records it before any file is visible;
//!   [`Inventory::finish_issue`] makes it current once they are.
//! - `crl_state`: per CA level, the last CRL number and two counters:
//!   `wanted` grows in the same transaction as every revocation the CRL
//!   must carry, `signed` is the `wanted` value the file on disk was signed
//!   with. `signed < wanted` means a revocation is not published yet, found
//!   without parsing a 100,000-entry CRL.
//! - `audit_outbox`: the audit line of a change, written in the change's
//!   own transaction, then appended to `audit.log` and deleted.

use rusqlite::{OptionalExtension, params};

use crate::pki::inventory::{Corruption, Inventory, InventoryError, Record, classify};
use crate::pki::layout::CaLevel;
use crate::pki::model::{CertName, Serial};

/// The tables schema version 2 adds (idempotent: also the upgrade).
pub(crate) const JOURNAL_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pending (
    serial     TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    replaces   TEXT,
    roles      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS crl_state (
    generation INTEGER NOT NULL,
    level      TEXT NOT NULL,
    number     INTEGER NOT NULL DEFAULT 0,
    signed     INTEGER NOT NULL DEFAULT 0,
    wanted     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (generation, level)
);
CREATE TABLE IF NOT EXISTS audit_outbox (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    line TEXT NOT NULL
);
";

/// A certificate recorded but not yet made current.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Its serial.
    pub serial: Serial,
    /// The name its files go under.
    pub name: CertName,
}

/// What the inventory knows of one CA level's CRL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrlState {
    /// The number of the last CRL signed (0: none recorded yet).
    pub number: u64,
    /// The revocation count the CRL on disk was signed with.
    pub signed: u64,
    /// The revocation count the CRL must carry.
    pub wanted: u64,
}

impl Inventory {
    /// Records a signed certificate as pending (not current) before any of
    /// its files exist, so that a crash from here on leaves a certificate
    /// the inventory knows. `replaces` stops being current when it is
    /// finished.
    pub fn begin_issue(
        &mut self,
        record: &Record,
        replaces: Option<&Serial>,
    ) -> Result<(), InventoryError> {
        let now = crate::pki::time::now().unix_timestamp();
        let path = self.path().to_owned();
        let sqlite = |source| classify(&path, source);
        let tx = self.conn_mut().transaction().map_err(sqlite)?;
        let mut pending = record.clone();
        pending.current = false;
        Inventory::insert_row(&tx, &pending).map_err(sqlite)?;
        tx.execute(
            "INSERT INTO pending (serial, name, replaces, roles, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                record.serial.as_str(),
                record.name.as_str(),
                replaces.map(Serial::as_str),
                record
                    .roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                now
            ],
        )
        .map_err(sqlite)?;
        tx.commit().map_err(sqlite)
    }

    /// Makes a pending certificate current for its name (its files are in
    /// place), with its audit line, in one transaction. An issue sets the
    /// name's roles to the ones it recorded; a rotation (replacing an
    /// unrevoked certificate) leaves the name's roles as they are.
    pub fn finish_issue(
        &mut self,
        serial: &Serial,
        audit_line: &str,
    ) -> Result<(), InventoryError> {
        let path = self.path().to_owned();
        let sqlite = |source| classify(&path, source);
        let tx = self.conn_mut().transaction().map_err(sqlite)?;
        let row: Option<(String, Option<String>, String)> = tx
            .query_row(
                "SELECT name, replaces, roles FROM pending WHERE serial = ?1",
                params![serial.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(sqlite)?;
        let Some((name, replaces, roles)) = row else {
            return Ok(());
        };
        // A rotation (the certificate replaced is not revoked) keeps the
        // name's roles as they are now, whatever the rotation read before
        // it took the lock. An issue (a new name, or a name whose
        // certificate was revoked) starts with exactly the roles it asked
        // for: nothing left over from an earlier holder of the name.
        let rotation = match &replaces {
            Some(old) => tx
                .query_row(
                    "SELECT revoked_at IS NULL FROM certificates WHERE serial = ?1",
                    params![old],
                    |r| r.get::<_, bool>(0),
                )
                .optional()
                .map_err(sqlite)?
                .unwrap_or(false),
            None => false,
        };
        if let Some(old) = replaces {
            tx.execute(
                "UPDATE certificates SET current = 0 WHERE serial = ?1",
                params![old],
            )
            .map_err(sqlite)?;
        }
        // Whatever else claims the name (a concurrent writer cannot: the
        // lock is held) stops being current.
        tx.execute(
            "UPDATE certificates SET current = 0 WHERE name = ?1 AND current = 1",
            params![name],
        )
        .map_err(sqlite)?;
        tx.execute(
            "UPDATE certificates SET current = 1 WHERE serial = ?1",
            params![serial.as_str()],
        )
        .map_err(sqlite)?;
        if !rotation {
            tx.execute("DELETE FROM roles WHERE name = ?1", params![name])
                .map_err(sqlite)?;
        }
        for role in roles.split_whitespace().filter(|_| !rotation) {
            tx.execute(
                "INSERT OR IGNORE INTO roles (name, role) VALUES (?1, ?2)",
                params![name, role],
            )
            .map_err(sqlite)?;
        }
        tx.execute(
            "DELETE FROM pending WHERE serial = ?1",
            params![serial.as_str()],
        )
        .map_err(sqlite)?;
        tx.execute(
            "INSERT INTO audit_outbox (line) VALUES (?1)",
            params![audit_line],
        )
        .map_err(sqlite)?;
        tx.commit().map_err(sqlite)
    }

    /// Forgets a pending certificate whose files never became visible (its
    /// staging directory is already gone).
    pub fn abandon_issue(&mut self, serial: &Serial) -> Result<(), InventoryError> {
        let path = self.path().to_owned();
        let sqlite = |source| classify(&path, source);
        let tx = self.conn_mut().transaction().map_err(sqlite)?;
        tx.execute(
            "DELETE FROM certificates WHERE serial = ?1 AND current = 0
               AND serial IN (SELECT serial FROM pending)",
            params![serial.as_str()],
        )
        .map_err(sqlite)?;
        tx.execute(
            "DELETE FROM pending WHERE serial = ?1",
            params![serial.as_str()],
        )
        .map_err(sqlite)?;
        tx.commit().map_err(sqlite)
    }

    /// Certificates recorded but not finished.
    pub fn pending(&self) -> Result<Vec<Pending>, InventoryError> {
        if !self.has_journal() {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn()
            .prepare("SELECT serial, name FROM pending ORDER BY created_at")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(serial, name)| {
                Ok(Pending {
                    serial: serial.parse().map_err(|source| {
                        self.corrupt(Corruption::BadValue {
                            what: "pending serial",
                            value: serial.clone(),
                            source,
                        })
                    })?,
                    name: name.parse().map_err(|source| {
                        self.corrupt(Corruption::BadValue {
                            what: "pending name",
                            value: name.clone(),
                            source,
                        })
                    })?,
                })
            })
            .collect()
    }

    /// Marks a certificate revoked, with the audit line, and records that
    /// the CRL of `covering` (files generation, level) must now list it, in
    /// one transaction; when it is its name's current certificate, the
    /// name's roles go in the same transaction. False when it already was
    /// revoked (nothing written).
    pub fn revoke_recorded(
        &mut self,
        serial: &Serial,
        at: time::OffsetDateTime,
        reason: &str,
        covering: (u32, CaLevel),
        audit_line: &str,
    ) -> Result<bool, InventoryError> {
        let path = self.path().to_owned();
        let sqlite = |source| classify(&path, source);
        let tx = self.conn_mut().transaction().map_err(sqlite)?;
        let changed = tx
            .execute(
                "UPDATE certificates SET revoked_at = ?2, revocation_reason = ?3
                 WHERE serial = ?1 AND revoked_at IS NULL",
                params![serial.as_str(), at.unix_timestamp(), reason],
            )
            .map_err(sqlite)?;
        if changed == 0 {
            return Ok(false);
        }
        // Roles belong to a name while its current certificate is good:
        // revoking that certificate takes them away (an older certificate
        // of the name held none).
        tx.execute(
            "DELETE FROM roles WHERE name IN
                 (SELECT name FROM certificates WHERE serial = ?1 AND current = 1)",
            params![serial.as_str()],
        )
        .map_err(sqlite)?;
        want_crl(&tx, covering).map_err(sqlite)?;
        tx.execute(
            "INSERT INTO audit_outbox (line) VALUES (?1)",
            params![audit_line],
        )
        .map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        Ok(true)
    }

    /// Records that the CRL of `covering` must be signed again (a CA
    /// revoked on retirement).
    pub fn want_crl(&mut self, covering: (u32, CaLevel)) -> Result<(), InventoryError> {
        want_crl(self.conn(), covering).map_err(|e| self.err(e))?;
        Ok(())
    }

    /// What the inventory knows of a level's CRL.
    pub fn crl_state(&self, generation: u32, level: CaLevel) -> Result<CrlState, InventoryError> {
        if !self.has_journal() {
            return Ok(CrlState::default());
        }
        let row: Option<(i64, i64, i64)> = self
            .conn()
            .query_row(
                "SELECT number, signed, wanted FROM crl_state WHERE generation = ?1 AND level = ?2",
                params![generation, level.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(
            row.map_or(CrlState::default(), |(number, signed, wanted)| CrlState {
                number: u64::try_from(number).unwrap_or(0),
                signed: u64::try_from(signed).unwrap_or(0),
                wanted: u64::try_from(wanted).unwrap_or(0),
            }),
        )
    }

    /// Records a CRL written to disk: its number and the `wanted` count it
    /// was signed with.
    pub fn record_crl(
        &self,
        generation: u32,
        level: CaLevel,
        number: u64,
        signed: u64,
    ) -> Result<(), InventoryError> {
        self.conn()
            .execute(
                "INSERT INTO crl_state (generation, level, number, signed) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (generation, level) DO UPDATE SET number = ?3, signed = ?4",
                params![
                    generation,
                    level.as_str(),
                    i64::try_from(number).unwrap_or(i64::MAX),
                    i64::try_from(signed).unwrap_or(i64::MAX)
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Queues an audit line (for a change committed on its own).
    pub fn queue_audit(&self, line: &str) -> Result<(), InventoryError> {
        self.conn()
            .execute("INSERT INTO audit_outbox (line) VALUES (?1)", params![line])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Audit lines committed but not yet known to be in `audit.log`.
    pub fn audit_outbox(&self) -> Result<Vec<(i64, String)>, InventoryError> {
        if !self.has_journal() {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn()
            .prepare("SELECT id, line FROM audit_outbox ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Drops an audit line once it is in `audit.log`.
    pub fn audit_done(&self, id: i64) -> Result<(), InventoryError> {
        self.conn()
            .execute("DELETE FROM audit_outbox WHERE id = ?1", params![id])
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

pub(crate) fn want_crl(
    conn: &rusqlite::Connection,
    (generation, level): (u32, CaLevel),
) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO crl_state (generation, level, wanted) VALUES (?1, ?2, 1)
         ON CONFLICT (generation, level) DO UPDATE SET wanted = wanted + 1",
        params![generation, level.as_str()],
    )
}
