//! The inventory: one record per certificate ever issued, in SQLite.
//!
//! Concurrency: every writer holds the PKI's exclusive `.lock` for the whole
//! read-check-write of a change, so two `issue` processes never both see a
//! name as free. Readers hold the lock shared. SQLite runs in rollback-journal
//! mode with `synchronous=FULL`, so a crash mid-commit is rolled back by the
//! next open. Every lookup is by an index, so one `issue` costs the same with
//! ten certificates or a million.
//!
//! Corruption: before use, the file's header is checked against its length
//! (a truncated file is refused) and the schema's application id and version
//! are checked (a foreign or garbage file is refused). A damaged inventory is
//! never rewritten: the error says so and how to restore it.
//!
//! Read-only PKIs: a reader opens the file read-write (only such a
//! connection can roll back a hot journal a crashed writer left), and falls
//! back to a read-only connection when the directory or the file cannot be
//! written (a read-only mount, another user's PKI), which reads fine as
//! long as there is no hot journal. The file may be a symlink for readers
//! (a Kubernetes volume's `inventory.db -> ..data/inventory.db`), never for
//! writers. It is created 0600, and SQLite gives its `-journal` the same
//! mode.
//!
//! Long (about 1,060 lines) because the schema, its checks and every query
//! are kept beside each other: a change to a table and to the queries that
//! read it is one diff. A second backend would be the moment to split it
//! (queries behind a trait, SQLite in its own file).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use time::OffsetDateTime;

use crate::pki::fsio::{FsError, Lock, LockError};
use crate::pki::journal::JOURNAL_SCHEMA;
use crate::pki::layout::Layout;
use crate::pki::model::ParseError;
use crate::pki::model::{
    CertName, DnValue, Fingerprint, KeyType, Profile, Role, Serial, Status, Validity,
};
use crate::pki::time::from_unix;

/// "mtls" in ASCII: marks a SQLite file as an mtlsctl inventory.
const APPLICATION_ID: i32 = 0x6d74_6c73;
/// The schema version this build writes. Version 1 (no crash journal)
/// is read as it is and upgraded by the first writer.
const SCHEMA_VERSION: i32 = 2;

const SCHEMA: &str = "
CREATE TABLE certificates (
    serial            TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    profile           TEXT NOT NULL,
    key_type          TEXT,
    subject           TEXT NOT NULL,
    cn                TEXT NOT NULL,
    org               TEXT,
    ou                TEXT,
    lifetime          INTEGER NOT NULL,
    issuer            TEXT NOT NULL,
    sans              TEXT NOT NULL,
    not_before        INTEGER NOT NULL,
    not_after         INTEGER NOT NULL,
    fingerprint       TEXT NOT NULL UNIQUE,
    ca_generation     INTEGER NOT NULL,
    key_held          INTEGER NOT NULL,
    current           INTEGER NOT NULL,
    issued_at         INTEGER NOT NULL,
    revoked_at        INTEGER,
    revocation_reason TEXT
);
CREATE INDEX certificates_name ON certificates(name);
CREATE UNIQUE INDEX certificates_current_name ON certificates(name) WHERE current = 1;
CREATE INDEX certificates_not_after ON certificates(not_after);
CREATE INDEX certificates_revoked ON certificates(ca_generation, revoked_at, serial, not_after, revocation_reason);
CREATE TABLE generations (
    generation         INTEGER PRIMARY KEY,
    root_generation    INTEGER NOT NULL,
    single_tier        INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    retired_at         INTEGER,
    intermediate_serial TEXT,
    intermediate_revoked_at INTEGER
);
CREATE TABLE roles (
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (name, role)
);
";

/// Why the inventory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The file is missing although the PKI exists.
    #[error("the inventory {0} is missing")]
    Missing(PathBuf),
    /// The file is damaged or not an mtlsctl inventory. Nothing was written.
    #[error("the inventory {path} is damaged: {why}; it was left untouched")]
    Corrupt {
        /// The inventory file.
        path: PathBuf,
        /// What is wrong with it.
        why: Corruption,
    },
    /// A newer mtlsctl wrote this inventory.
    #[error(
        "the inventory {path} has schema version {found}; this mtlsctl reads version {SCHEMA_VERSION}"
    )]
    Version {
        /// The inventory file.
        path: PathBuf,
        /// The version found.
        found: i32,
    },
    /// The PKI lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The file could not be created, or a writer found a symlink in its
    /// place.
    #[error(transparent)]
    File(#[from] FsError),
    /// SQLite failed for another reason (disk full, permissions).
    #[error("inventory {path}: {source}")]
    Sqlite {
        /// The inventory file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

/// What is wrong with a damaged inventory ([`InventoryError::Corrupt`]).
#[derive(Debug, thiserror::Error)]
pub enum Corruption {
    /// SQLite found the file damaged, or not a database.
    #[error(transparent)]
    Sqlite(rusqlite::Error),
    /// The file could not be opened to check its header.
    #[error(transparent)]
    Unreadable(std::io::Error),
    /// Shorter than an SQLite header.
    #[error("the file is only {0} bytes long")]
    TooShort(u64),
    /// No SQLite header.
    #[error("it is not a SQLite database")]
    NotSqlite,
    /// The header describes another length than the file has.
    #[error(
        "it is {len} bytes long but its header describes {described} bytes (truncated or overwritten)"
    )]
    LengthMismatch {
        /// The file's length.
        len: u64,
        /// The length its header describes.
        described: u64,
    },
    /// An SQLite database of another application.
    #[error("it is not an mtlsctl inventory (wrong application id)")]
    WrongApplicationId,
    /// A stored value that does not parse.
    #[error("bad {what} '{value}': {source}")]
    BadValue {
        /// Which column: `serial`, `role`, `pending name`.
        what: &'static str,
        /// The value stored.
        value: String,
        /// Why it does not parse.
        source: ParseError,
    },
    /// A certificate record with a field that does not parse.
    #[error("record {serial}: bad {what}: {problem}")]
    BadRecord {
        /// The record's serial, as stored.
        serial: String,
        /// Which field.
        what: &'static str,
        /// Why it does not parse.
        problem: FieldProblem,
    },
    /// A certificate record with a SAN that does not parse.
    #[error("record {serial} has an unreadable SAN '{san}'")]
    UnreadableSan {
        /// The record's serial.
        serial: Serial,
        /// The SAN as stored (`DNS:…`, `IP:…`).
        san: String,
    },
}

/// Why a stored record field does not parse ([`Corruption::BadRecord`]).
#[derive(Debug, thiserror::Error)]
pub enum FieldProblem {
    /// A domain value.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The JSON list of SANs.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A lifetime in seconds that no validity can hold.
    #[error("{0}")]
    Lifetime(i64),
}

/// One certificate as the inventory records it.
#[derive(Debug, Clone)]
pub struct Record {
    /// Serial number.
    pub serial: Serial,
    /// The name it was issued under.
    pub name: CertName,
    /// Its profile.
    pub profile: Profile,
    /// Key type; `None` only for a CSR key of a kind mtlsctl does not name.
    pub key_type: Option<KeyType>,
    /// Subject DN (RFC 4514 style).
    pub subject: String,
    /// The subject's common name, as requested.
    pub cn: DnValue,
    /// The subject's organization, as requested.
    pub org: Option<DnValue>,
    /// The subject's organizational unit, as requested.
    pub ou: Option<DnValue>,
    /// The validity that was asked for (rotation reuses it).
    pub lifetime: Validity,
    /// Issuer DN.
    pub issuer: String,
    /// SANs as `DNS:…`, `IP:…`, `URI:…`, `email:…`.
    pub sans: Vec<String>,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// SHA-256 of the DER.
    pub fingerprint: Fingerprint,
    /// The CA generation that issued it.
    pub ca_generation: u32,
    /// True when mtlsctl made (and keeps) the private key; false for `--csr`.
    pub key_held: bool,
    /// True when `certs/<name>/` holds this certificate.
    pub current: bool,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// The RFC 5280 reason given on revocation.
    pub revocation_reason: Option<String>,
    /// Roles held by its name, on the name's current certificate only (an
    /// older certificate of the name holds none).
    pub roles: Vec<Role>,
}

/// What [`Inventory::live_identities`] returns: for each unrevoked,
/// unexpired certificate (serial as big-endian bytes), its name, and the
/// roles of those that are current.
#[derive(Debug, Default)]
pub struct LiveIdentities {
    /// The inventory name of each certificate.
    pub names: HashMap<Vec<u8>, String>,
    /// The roles of each current certificate whose name holds some, sorted.
    pub roles: HashMap<Vec<u8>, Vec<String>>,
}

/// Which way [`Inventory::change_roles`] changes a name's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    /// Add roles (`role grant`).
    Grant,
    /// Remove roles (`role revoke`).
    Revoke,
}

/// A revoked certificate as a CRL lists it.
#[derive(Debug, Clone)]
pub struct Revoked {
    /// Serial number.
    pub serial: Serial,
    /// When it was revoked.
    pub revoked_at: OffsetDateTime,
    /// RFC 5280 reason name.
    pub reason: Option<String>,
}

/// One CA generation: an issuing CA (intermediate, or the root itself when
/// single-tier) and the root it chains to.
#[derive(Debug, Clone)]
pub struct Generation {
    /// Its number (a directory under `ca/`).
    pub generation: u32,
    /// The generation whose root it chains to (itself for a new root).
    pub root_generation: u32,
    /// True when the root issues leaves directly.
    pub single_tier: bool,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it was retired, if it was.
    pub retired_at: Option<OffsetDateTime>,
    /// The intermediate's serial (two-tier).
    pub intermediate_serial: Option<String>,
    /// When the intermediate was revoked (on retirement).
    pub intermediate_revoked_at: Option<OffsetDateTime>,
}

impl Record {
    /// Valid, revoked or expired, as of `now`.
    pub fn status(&self, now: OffsetDateTime) -> Status {
        if self.revoked_at.is_some() {
            Status::Revoked
        } else if self.not_after < now {
            Status::Expired
        } else {
            Status::Valid
        }
    }
}

/// An SQLite error about the inventory at `path`, with corruption named as
/// such.
pub(crate) fn classify(path: &Path, source: rusqlite::Error) -> InventoryError {
    match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
            InventoryError::Corrupt {
                path: path.to_owned(),
                why: Corruption::Sqlite(source),
            }
        }
        _ => InventoryError::Sqlite {
            path: path.to_owned(),
            source,
        },
    }
}

/// An open inventory, holding the PKI lock for as long as it lives.
pub struct Inventory {
    conn: Connection,
    path: PathBuf,
    version: i32,
    _lock: Lock,
}

/// How long a process waits for another's lock before giving up: 60 s, or
/// `MTLSCTL_LOCK_TIMEOUT` (a duration such as `5s`).
pub fn lock_timeout() -> Duration {
    std::env::var("MTLSCTL_LOCK_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<crate::pki::model::Validity>().ok())
        .map(crate::pki::model::Validity::std_duration)
        .unwrap_or(Duration::from_secs(60))
}

impl Inventory {
    /// Creates a new, empty inventory at `path` (used by `ca init`, inside
    /// its staging directory, under `lock`).
    pub fn create(path: &Path, lock: Lock) -> Result<Inventory, InventoryError> {
        let sql = |source| InventoryError::Sqlite {
            path: path.to_owned(),
            source,
        };
        // An empty file is an empty database: made here, it is 0600 from
        // the first byte whatever the umask, and so is every journal.
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| FsError::new("create", path, e))?;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| FsError::new("set permissions on", path, e))?;
        }
        let conn = Connection::open(path).map_err(sql)?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = DELETE;
             PRAGMA synchronous = FULL;
             PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = {SCHEMA_VERSION};
             BEGIN; {SCHEMA} {JOURNAL_SCHEMA} COMMIT;"
        ))
        .map_err(sql)?;
        Ok(Inventory {
            conn,
            path: path.to_owned(),
            version: SCHEMA_VERSION,
            _lock: lock,
        })
    }

    /// Opens the inventory for a change, holding the PKI lock exclusively.
    /// A symlink in place of `inventory.db` or `audit.log` (the files a
    /// change writes in place) is refused here, before anything changes.
    /// (Not with SQLITE_OPEN_NOFOLLOW: it refuses a symlink anywhere in the
    /// path, and the PKI directory itself may be one.)
    pub fn open_for_write(layout: &Layout) -> Result<Inventory, InventoryError> {
        let lock = Lock::exclusive(&layout.lock(), lock_timeout())?;
        for file in [layout.inventory(), layout.audit_log()] {
            if std::fs::symlink_metadata(&file).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(FsError::Symlink(file).into());
            }
        }
        let connected = Self::connect(&layout.inventory(), OpenFlags::SQLITE_OPEN_READ_WRITE);
        let inventory = Self::open(layout, lock, connected)?;
        if inventory.version < SCHEMA_VERSION {
            inventory
                .conn
                .execute_batch(&format!(
                    "BEGIN; {JOURNAL_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))
                .map_err(|e| inventory.err(e))?;
        }
        Ok(inventory)
    }

    /// Opens the inventory to read, holding the PKI lock shared (when the
    /// directory allows it, see [`Lock::shared`]).
    pub fn open_for_read(layout: &Layout) -> Result<Inventory, InventoryError> {
        let lock = Lock::shared(&layout.lock(), lock_timeout())?;
        // Read-write even for readers: a hot journal left by a crash can
        // only be rolled back by a connection that may write. Read-only
        // when the directory or file cannot be written.
        let path = layout.inventory();
        match Self::connect(&path, OpenFlags::SQLITE_OPEN_READ_WRITE) {
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(
                        rusqlite::ErrorCode::ReadOnly
                            | rusqlite::ErrorCode::CannotOpen
                            | rusqlite::ErrorCode::PermissionDenied
                    )
                ) => {}
            connected => return Self::open(layout, lock, connected),
        }
        let connected = Self::connect(&path, OpenFlags::SQLITE_OPEN_READ_ONLY);
        Self::open(layout, lock, connected)
    }

    /// Opens a connection and makes the first read, which rolls back a hot
    /// journal from a crashed writer and fails on a file that is not SQLite
    /// at all. Returns the connection with the application id and schema
    /// version.
    fn connect(path: &Path, flags: OpenFlags) -> rusqlite::Result<(Connection, i32, i32)> {
        let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(lock_timeout())?;
        let (app_id, version): (i32, i32) = conn.query_row(
            "SELECT (SELECT application_id FROM pragma_application_id),
                    (SELECT user_version FROM pragma_user_version)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok((conn, app_id, version))
    }

    fn open(
        layout: &Layout,
        lock: Lock,
        connected: rusqlite::Result<(Connection, i32, i32)>,
    ) -> Result<Inventory, InventoryError> {
        let path = layout.inventory();
        if !path.is_file() {
            return Err(InventoryError::Missing(path));
        }
        let corrupt = |why: Corruption| InventoryError::Corrupt {
            path: path.clone(),
            why,
        };
        let (conn, app_id, version) = connected.map_err(|e| corrupt(Corruption::Sqlite(e)))?;
        check_length(&path).map_err(corrupt)?;
        if app_id != APPLICATION_ID {
            return Err(corrupt(Corruption::WrongApplicationId));
        }
        if !(1..=SCHEMA_VERSION).contains(&version) {
            return Err(InventoryError::Version {
                path,
                found: version,
            });
        }
        conn.execute_batch("PRAGMA synchronous = FULL;")
            .map_err(|e| corrupt(Corruption::Sqlite(e)))?;
        Ok(Inventory {
            conn,
            path,
            version,
            _lock: lock,
        })
    }

    /// The connection, for the crash journal's tables (journal.rs).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, to open a transaction.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// True when the inventory has the crash journal's tables (schema 2).
    pub(crate) fn has_journal(&self) -> bool {
        self.version >= 2
    }

    /// An SQLite error as an inventory error (corruption named as such).
    pub(crate) fn err(&self, source: rusqlite::Error) -> InventoryError {
        classify(&self.path, source)
    }

    /// The inventory file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A damaged-inventory error about this file.
    pub(crate) fn corrupt(&self, why: Corruption) -> InventoryError {
        InventoryError::Corrupt {
            path: self.path.clone(),
            why,
        }
    }

    /// The certificate `certs/<name>/` currently holds, if any.
    pub fn current(&self, name: &CertName) -> Result<Option<Record>, InventoryError> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM certificates WHERE name = ?1 AND current = 1"),
                params![name.as_str()],
                read_row,
            )
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|r| self.finish(r)).transpose()
    }

    /// Reads `NAME|SERIAL` as the user typed it: `serial:HEX` is always a
    /// serial; otherwise the current certificate of that name when there is
    /// one, else the certificate with that serial.
    pub fn find(&self, text: &str) -> Result<Option<Record>, InventoryError> {
        if let Some(hex) = text.strip_prefix("serial:") {
            return match hex.parse::<Serial>() {
                Ok(serial) => self.by_serial(&serial),
                Err(_) => Ok(None),
            };
        }
        if let Ok(name) = text.parse::<CertName>()
            && let Some(record) = self.current(&name)?
        {
            return Ok(Some(record));
        }
        match text.parse::<Serial>() {
            Ok(serial) => self.by_serial(&serial),
            Err(_) => Ok(None),
        }
    }

    /// The certificate with this serial, if any.
    pub fn by_serial(&self, serial: &Serial) -> Result<Option<Record>, InventoryError> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM certificates WHERE serial = ?1"),
                params![serial.as_str()],
                read_row,
            )
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|r| self.finish(r)).transpose()
    }

    /// Every certificate, oldest first, optionally only those whose notAfter
    /// falls before `not_after_before`.
    pub fn all(
        &self,
        not_after_before: Option<OffsetDateTime>,
    ) -> Result<Vec<Record>, InventoryError> {
        let limit = not_after_before
            .map(|t| t.unix_timestamp())
            .unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM certificates WHERE not_after <= ?1 ORDER BY issued_at, rowid"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![limit], read_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let roles = self.role_holders(None, None)?;
        rows.into_iter()
            .map(|raw| {
                let mut record = raw.into_record().map_err(|why| self.corrupt(why))?;
                if record.current {
                    record.roles = roles.get(record.name.as_str()).cloned().unwrap_or_default();
                }
                Ok(record)
            })
            .collect()
    }

    /// Records a newly issued certificate as the current one for its name,
    /// with its roles, in one transaction. `replaces` (the name's previous
    /// certificate, on rotation or re-issue after revocation) stops being
    /// current in the same transaction.
    pub fn insert(
        &mut self,
        record: &Record,
        replaces: Option<&Serial>,
    ) -> Result<(), InventoryError> {
        let path = self.path.clone();
        let sql = |source| classify(&path, source);
        let tx = self.conn.transaction().map_err(sql)?;
        if let Some(old) = replaces {
            tx.execute(
                "UPDATE certificates SET current = 0 WHERE serial = ?1",
                params![old.as_str()],
            )
            .map_err(sql)?;
        }
        Inventory::insert_row(&tx, record).map_err(sql)?;
        for role in &record.roles {
            tx.execute(
                "INSERT OR IGNORE INTO roles (name, role) VALUES (?1, ?2)",
                params![record.name.as_str(), role.as_str()],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }

    /// Inserts one certificate row (not its roles).
    pub(crate) fn insert_row(tx: &Connection, record: &Record) -> rusqlite::Result<usize> {
        tx.execute(
            "INSERT INTO certificates (serial, name, profile, key_type, subject, issuer, sans,
                 not_before, not_after, fingerprint, ca_generation, key_held, current, issued_at,
                 revoked_at, revocation_reason, cn, org, ou, lifetime)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            params![
                record.serial.as_str(),
                record.name.as_str(),
                record.profile.as_str(),
                record.key_type.map(KeyType::as_str),
                record.subject,
                record.issuer,
                serde_json::to_string(&record.sans).unwrap_or_else(|_| "[]".into()),
                record.not_before.unix_timestamp(),
                record.not_after.unix_timestamp(),
                record.fingerprint.as_str(),
                record.ca_generation,
                record.key_held,
                record.current,
                record.issued_at.unix_timestamp(),
                record.revoked_at.map(|t| t.unix_timestamp()),
                record.revocation_reason,
                record.cn.as_str(),
                record.org.as_ref().map(DnValue::as_str),
                record.ou.as_ref().map(DnValue::as_str),
                record.lifetime.seconds(),
            ],
        )
    }

    /// Marks a certificate revoked. Returns false when it already was.
    pub fn revoke(
        &mut self,
        serial: &Serial,
        at: OffsetDateTime,
        reason: &str,
    ) -> Result<bool, InventoryError> {
        let changed = self
            .conn
            .execute(
                "UPDATE certificates SET revoked_at = ?2, revocation_reason = ?3
                 WHERE serial = ?1 AND revoked_at IS NULL",
                params![serial.as_str(), at.unix_timestamp(), reason],
            )
            .map_err(|e| self.err(e))?;
        Ok(changed == 1)
    }

    /// Revoked certificates a CA generation issued that have not expired by
    /// `now` (expired entries may leave the CRL, RFC 5280 section 3.3).
    pub fn revoked_by(
        &self,
        generation: u32,
        now: OffsetDateTime,
    ) -> Result<Vec<Revoked>, InventoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT serial, revoked_at, revocation_reason FROM certificates
                 WHERE ca_generation = ?1 AND revoked_at IS NOT NULL AND not_after >= ?2
                 ORDER BY revoked_at",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![generation, now.unix_timestamp()], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(serial, at, reason)| {
                Ok(Revoked {
                    serial: serial.parse().map_err(|source| {
                        self.corrupt(Corruption::BadValue {
                            what: "serial",
                            value: serial.clone(),
                            source,
                        })
                    })?,
                    revoked_at: from_unix(at),
                    reason,
                })
            })
            .collect()
    }

    /// Every revoked certificate: (CA generation, serial as big-endian bytes).
    pub fn revoked_serials(&self) -> Result<Vec<(u32, Vec<u8>)>, InventoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT ca_generation, serial FROM certificates WHERE revoked_at IS NOT NULL")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok((row.get::<_, u32>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(g, serial)| {
                let parsed: Serial = serial.parse().map_err(|source| {
                    self.corrupt(Corruption::BadValue {
                        what: "serial",
                        value: serial.clone(),
                        source,
                    })
                })?;
                Ok((g, parsed.to_be_bytes()))
            })
            .collect()
    }

    /// Current, unrevoked, unexpired certificates issued by a generation.
    pub fn live_from(
        &self,
        generation: u32,
        now: OffsetDateTime,
    ) -> Result<Vec<Record>, InventoryError> {
        Ok(self
            .all(None)?
            .into_iter()
            .filter(|r| {
                r.ca_generation == generation && r.revoked_at.is_none() && r.not_after >= now
            })
            .collect())
    }

    /// The inventory name of every certificate that is neither revoked nor
    /// expired at `now`, and the roles of those that are their name's
    /// current certificate, keyed by serial (big-endian bytes, no leading
    /// zeros), in one query. A rotated-away or revoked certificate carries
    /// no roles: the gateway gives roles only to the certificate
    /// `certs/NAME/` holds.
    pub fn live_identities(&self, now: OffsetDateTime) -> Result<LiveIdentities, InventoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.serial, c.name, r.role FROM certificates c
                 LEFT JOIN roles r ON c.current = 1 AND r.name = c.name
                 WHERE c.revoked_at IS NULL AND c.not_after >= ?1
                 ORDER BY c.serial, r.role",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![now.unix_timestamp()], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let mut out = LiveIdentities::default();
        for (serial, name, role) in rows {
            let mut bytes = serial
                .parse::<Serial>()
                .map_err(|source| {
                    self.corrupt(Corruption::BadValue {
                        what: "serial",
                        value: serial.clone(),
                        source,
                    })
                })?
                .to_be_bytes();
            // A serial's DER integer may carry a leading zero octet; the
            // gateway looks serials up without it.
            let zeros = bytes.iter().take_while(|b| **b == 0).count();
            bytes.drain(..zeros);
            if let Some(role) = role {
                out.roles.entry(bytes.clone()).or_default().push(role);
            }
            out.names.entry(bytes).or_insert(name);
        }
        Ok(out)
    }

    /// Every name that holds roles, with them, optionally only `name` and
    /// only names holding `role`; by name.
    pub fn role_holders(
        &self,
        name: Option<&CertName>,
        role: Option<&Role>,
    ) -> Result<BTreeMap<String, Vec<Role>>, InventoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, role FROM roles
                 WHERE (?1 IS NULL OR name = ?1)
                   AND (?2 IS NULL OR name IN (SELECT name FROM roles WHERE role = ?2))
                 ORDER BY name, role",
            )
            .map_err(|e| self.err(e))?;
        let pairs = stmt
            .query_map(
                params![name.map(CertName::as_str), role.map(Role::as_str)],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
            )
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let mut map: BTreeMap<String, Vec<Role>> = BTreeMap::new();
        for (name, role) in pairs {
            let role = self.parse_roles(vec![role])?;
            map.entry(name).or_default().extend(role);
        }
        Ok(map)
    }

    /// Grants (`grant`) or takes away roles of `name`, in one transaction
    /// with the audit line `audit` builds from the roles that changed.
    /// Roles already held (granting) or not held (revoking) are left
    /// alone; when none changed, nothing is written and the result is
    /// empty.
    pub fn change_roles(
        &mut self,
        name: &CertName,
        change: RoleChange,
        roles: &[Role],
        audit: impl FnOnce(&[Role]) -> String,
    ) -> Result<Vec<Role>, InventoryError> {
        let path = self.path.clone();
        let sql = |source| classify(&path, source);
        let tx = self.conn.transaction().map_err(sql)?;
        let mut changed = Vec::new();
        for role in roles {
            let n = match change {
                RoleChange::Grant => tx.execute(
                    "INSERT OR IGNORE INTO roles (name, role) VALUES (?1, ?2)",
                    params![name.as_str(), role.as_str()],
                ),
                RoleChange::Revoke => tx.execute(
                    "DELETE FROM roles WHERE name = ?1 AND role = ?2",
                    params![name.as_str(), role.as_str()],
                ),
            }
            .map_err(sql)?;
            if n > 0 {
                changed.push(role.clone());
            }
        }
        if changed.is_empty() {
            return Ok(changed);
        }
        tx.execute(
            "INSERT INTO audit_outbox (line) VALUES (?1)",
            params![audit(&changed)],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(changed)
    }

    /// Every CA generation, oldest first.
    pub fn generations(&self) -> Result<Vec<Generation>, InventoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT generation, root_generation, single_tier, created_at, retired_at,
                        intermediate_serial, intermediate_revoked_at
                 FROM generations ORDER BY generation",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok(Generation {
                    generation: row.get(0)?,
                    root_generation: row.get(1)?,
                    single_tier: row.get(2)?,
                    created_at: from_unix(row.get(3)?),
                    retired_at: row.get::<_, Option<i64>>(4)?.map(from_unix),
                    intermediate_serial: row.get(5)?,
                    intermediate_revoked_at: row.get::<_, Option<i64>>(6)?.map(from_unix),
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Records a new CA generation.
    pub fn add_generation(&mut self, g: &Generation) -> Result<(), InventoryError> {
        self.conn
            .execute(
                "INSERT INTO generations (generation, root_generation, single_tier, created_at,
                     retired_at, intermediate_serial, intermediate_revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    g.generation,
                    g.root_generation,
                    g.single_tier,
                    g.created_at.unix_timestamp(),
                    g.retired_at.map(|t| t.unix_timestamp()),
                    g.intermediate_serial,
                    g.intermediate_revoked_at.map(|t| t.unix_timestamp()),
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Marks a generation retired (and its intermediate revoked, if it had
    /// one), and records that the CRL of `covering` (its root) must list
    /// the intermediate, in one transaction.
    pub fn retire_generation(
        &mut self,
        generation: u32,
        at: OffsetDateTime,
        covering: (u32, crate::pki::layout::CaLevel),
    ) -> Result<(), InventoryError> {
        let path = self.path.clone();
        let sql = |source| classify(&path, source);
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "UPDATE generations SET retired_at = ?2,
                 intermediate_revoked_at = CASE WHEN intermediate_serial IS NULL THEN NULL ELSE ?2 END
             WHERE generation = ?1",
            params![generation, at.unix_timestamp()],
        )
        .map_err(sql)?;
        crate::pki::journal::want_crl(&tx, covering).map_err(sql)?;
        tx.commit().map_err(sql)
    }

    fn roles(&self, name: &str) -> Result<Vec<Role>, InventoryError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT role FROM roles WHERE name = ?1 ORDER BY role")
            .map_err(|e| self.err(e))?;
        let roles = stmt
            .query_map(params![name], |row| row.get::<_, String>(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        self.parse_roles(roles)
    }

    fn parse_roles(&self, roles: Vec<String>) -> Result<Vec<Role>, InventoryError> {
        roles
            .into_iter()
            .map(|r| {
                r.parse().map_err(|source| {
                    self.corrupt(Corruption::BadValue {
                        what: "role",
                        value: r.clone(),
                        source,
                    })
                })
            })
            .collect()
    }

    fn finish(&self, raw: RawRecord) -> Result<Record, InventoryError> {
        let mut record = raw.into_record().map_err(|why| self.corrupt(why))?;
        if record.current {
            record.roles = self.roles(record.name.as_str())?;
        }
        Ok(record)
    }
}

/// Checks the SQLite header's page count against the file's length, which
/// catches a truncated (or padded) file before SQLite trusts it.
fn check_length(path: &Path) -> Result<(), Corruption> {
    use std::io::Read;
    let mut header = [0u8; 100];
    let mut file = std::fs::File::open(path).map_err(Corruption::Unreadable)?;
    let len = file.metadata().map_err(Corruption::Unreadable)?.len();
    file.read_exact(&mut header)
        .map_err(|_| Corruption::TooShort(len))?;
    if &header[..16] != b"SQLite format 3\0" {
        return Err(Corruption::NotSqlite);
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let change_counter = &header[24..28];
    let valid_for = &header[92..96];
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    if change_counter == valid_for && pages > 0 && pages * page_size != len {
        return Err(Corruption::LengthMismatch {
            len,
            described: pages * page_size,
        });
    }
    Ok(())
}

const COLUMNS: &str =
    "serial, name, profile, key_type, subject, issuer, sans, not_before, not_after,
    fingerprint, ca_generation, key_held, current, issued_at, revoked_at, revocation_reason, cn, org,
    ou, lifetime";

struct RawRecord {
    serial: String,
    name: String,
    profile: String,
    key_type: Option<String>,
    subject: String,
    issuer: String,
    sans: String,
    not_before: i64,
    not_after: i64,
    fingerprint: String,
    ca_generation: u32,
    key_held: bool,
    current: bool,
    issued_at: i64,
    revoked_at: Option<i64>,
    revocation_reason: Option<String>,
    cn: String,
    org: Option<String>,
    ou: Option<String>,
    lifetime: i64,
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok(RawRecord {
        serial: row.get(0)?,
        name: row.get(1)?,
        profile: row.get(2)?,
        key_type: row.get(3)?,
        subject: row.get(4)?,
        issuer: row.get(5)?,
        sans: row.get(6)?,
        not_before: row.get(7)?,
        not_after: row.get(8)?,
        fingerprint: row.get(9)?,
        ca_generation: row.get(10)?,
        key_held: row.get(11)?,
        current: row.get(12)?,
        issued_at: row.get(13)?,
        revoked_at: row.get(14)?,
        revocation_reason: row.get(15)?,
        cn: row.get(16)?,
        org: row.get(17)?,
        ou: row.get(18)?,
        lifetime: row.get(19)?,
    })
}

impl RawRecord {
    fn into_record(self) -> Result<Record, Corruption> {
        let bad = |what: &'static str, problem: FieldProblem| Corruption::BadRecord {
            serial: self.serial.clone(),
            what,
            problem,
        };
        Ok(Record {
            serial: self
                .serial
                .parse()
                .map_err(|e| bad("serial", FieldProblem::Parse(e)))?,
            name: self
                .name
                .parse()
                .map_err(|e| bad("name", FieldProblem::Parse(e)))?,
            profile: self
                .profile
                .parse()
                .map_err(|e| bad("profile", FieldProblem::Parse(e)))?,
            key_type: self
                .key_type
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| bad("key type", FieldProblem::Parse(e)))?,
            subject: self.subject.clone(),
            cn: self
                .cn
                .parse()
                .map_err(|e| bad("cn", FieldProblem::Parse(e)))?,
            org: self
                .org
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| bad("org", FieldProblem::Parse(e)))?,
            ou: self
                .ou
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| bad("ou", FieldProblem::Parse(e)))?,
            lifetime: Validity::from_seconds(self.lifetime)
                .ok_or_else(|| bad("lifetime", FieldProblem::Lifetime(self.lifetime)))?,
            issuer: self.issuer.clone(),
            sans: serde_json::from_str(&self.sans)
                .map_err(|e| bad("SAN list", FieldProblem::Json(e)))?,
            not_before: from_unix(self.not_before),
            not_after: from_unix(self.not_after),
            fingerprint: Fingerprint::from_stored(self.fingerprint.clone()),
            ca_generation: self.ca_generation,
            key_held: self.key_held,
            current: self.current,
            issued_at: from_unix(self.issued_at),
            revoked_at: self.revoked_at.map(from_unix),
            revocation_reason: self.revocation_reason.clone(),
            roles: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn inventory_and_its_journal_are_0600() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("inventory.db");
        let lock = Lock::exclusive(&dir.path().join(".lock"), Duration::from_secs(1))?;
        let inventory = Inventory::create(&path, lock)?;
        let mode = |p: &Path| -> std::io::Result<u32> {
            Ok(std::fs::metadata(p)?.permissions().mode() & 0o777)
        };
        assert_eq!(mode(&path)?, 0o600);
        // A write transaction holds a rollback journal open; SQLite gives it
        // the database's mode, not its default 0644.
        inventory
            .conn
            .execute_batch("BEGIN; INSERT INTO roles (name, role) VALUES ('a', 'b');")?;
        assert_eq!(mode(&dir.path().join("inventory.db-journal"))?, 0o600);
        inventory.conn.execute_batch("ROLLBACK;")?;
        Ok(())
    }
}
