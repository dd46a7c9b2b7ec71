//! The one way mtlsctl writes files: to a temporary file in the same
//! directory, fsync, rename over the target, fsync the directory. A crash
//! leaves either the old file or the new one, never half of either. Private
//! keys are created with mode 0600 from the first byte. The cross-process
//! lock that serialises writers also lives here.
//!
//! Modes are set explicitly (create, then chmod), never left to the umask:
//! with `umask 000` a directory would otherwise be 0777 and any local user
//! could swap `trust.pem` under the gateway. Nothing here writes through a
//! symlink: temp files are `create_new`, the audit log, the lock file and
//! private keys are opened `O_NOFOLLOW`, and [`ensure_dir`] refuses a
//! symlinked directory, so a link planted in the PKI cannot redirect a
//! write (or a key read) elsewhere. Following symlinks to *public* files
//! stays allowed: a Kubernetes volume is made of them.
//!
//! Long (about 650 lines, 70 of them tests) on purpose: every write, read of
//! a secret and the lock share the same open flags and modes, and keeping
//! the one path to disk in one file is what makes it reviewable.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

/// File modes mtlsctl writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 0644: certificates, CRLs, settings, anything public.
    Public,
    /// 0600: private keys and anything else secret.
    Secret,
}

impl Mode {
    fn bits(self) -> u32 {
        match self {
            Mode::Public => 0o644,
            Mode::Secret => 0o600,
        }
    }
}

/// Directory modes mtlsctl creates, whatever the umask. The one place
/// they are decided: every directory inside the PKI is made by
/// [`create_dir`] or [`ensure_dir`] with one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirMode {
    /// 0700: `ca/` and `ca/<gen>/`, which hold the CA keys.
    Private,
    /// 0750: the PKI directory, `certs/` and `certs/<name>/`, whose public
    /// files a group (the one nginx runs as, say) may read.
    Shared,
}

impl DirMode {
    fn bits(self) -> u32 {
        match self {
            DirMode::Private => 0o700,
            DirMode::Shared => 0o750,
        }
    }
}

/// A failed file operation, with the path it concerned.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// An I/O error.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// To which path.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// A file given to mtlsctl is larger than it reads.
    #[error(
        "{}: {what} is longer than {}, the most mtlsctl reads from it (is it the right file?)",
        path.display(),
        size_text(*limit)
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What was too long: `the file`, `its first line`.
        what: &'static str,
        /// The cap, in bytes.
        limit: u64,
    },
    /// A symlink where mtlsctl writes, or in place of a private key.
    #[error(
        "{0} is a symlink; mtlsctl does not write through symlinks inside the PKI directory, nor read private keys through them"
    )]
    Symlink(PathBuf),
}

impl FsError {
    /// Wraps an I/O error with what was being done to which path.
    pub fn new(action: &'static str, path: &Path, source: io::Error) -> Self {
        FsError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    /// Like [`FsError::new`] for an `O_NOFOLLOW` open, where `ELOOP` means
    /// the path is a symlink.
    fn nofollow(action: &'static str, path: &Path, source: io::Error) -> Self {
        if source.raw_os_error() == Some(libc::ELOOP) {
            FsError::Symlink(path.to_owned())
        } else {
            Self::new(action, path, source)
        }
    }

    /// The underlying error kind.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            FsError::Io { source, .. } => source.kind(),
            FsError::Symlink(_) => io::ErrorKind::InvalidInput,
            FsError::TooLarge { .. } => io::ErrorKind::FileTooLarge,
        }
    }
}

/// Writes `bytes` to `path` atomically with the given mode.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Mode) -> Result<(), FsError> {
    write_atomic_all(&[(path, bytes, mode)])
}

/// Writes several files atomically, each by temp file + fsync + rename,
/// then fsyncs each directory involved once (a certificate's key, cert and
/// chain share one directory sync instead of three). Each file is either
/// old or new after a crash; files are replaced in the order given.
pub fn write_atomic_all(files: &[(&Path, &[u8], Mode)]) -> Result<(), FsError> {
    let mut dirs: Vec<&Path> = Vec::new();
    for (path, bytes, mode) in files {
        let dir = path.parent().unwrap_or(Path::new("."));
        replace(path, dir, bytes, *mode)?;
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    for dir in dirs {
        sync_dir(dir)?;
    }
    Ok(())
}

fn replace(path: &Path, dir: &Path, bytes: &[u8], mode: Mode) -> Result<(), FsError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{file_name}.tmp.{}.{}",
        std::process::id(),
        random_suffix()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode.bits())
            .open(&tmp)
            .map_err(|e| FsError::new("write", path, e))?;
        // The umask may have cleared bits we asked for; set exactly.
        file.set_permissions(fs::Permissions::from_mode(mode.bits()))
            .map_err(|e| FsError::new("set permissions on", &tmp, e))?;
        file.write_all(bytes)
            .map_err(|e| FsError::new("write", &tmp, e))?;
        file.sync_all()
            .map_err(|e| FsError::new("fsync", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| FsError::new("rename into place", path, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates a directory and any missing parents (modes from the umask),
/// fsyncing the parent so the new entry survives a crash. Only for
/// directories outside the PKI (the parent of a new one); inside it, use
/// [`create_dir`] or [`ensure_dir`].
pub fn create_dir_all(path: &Path) -> Result<(), FsError> {
    if path.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(path).map_err(|e| FsError::new("create directory", path, e))?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Creates a new directory (its parent must exist) with exactly `mode`,
/// and fsyncs the parent. Fails if anything exists at `path`.
pub fn create_dir(path: &Path, mode: DirMode) -> Result<(), FsError> {
    use std::os::unix::fs::DirBuilderExt;
    // Created no wider than `mode` (the umask can only narrow it), then set
    // exactly: there is no moment when the directory is open to others.
    fs::DirBuilder::new()
        .mode(mode.bits())
        .create(path)
        .map_err(|e| FsError::new("create directory", path, e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode.bits()))
        .map_err(|e| FsError::new("set permissions on", path, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Makes sure `path` is a real directory before mtlsctl writes into it:
/// creates it with `mode` when missing, accepts an existing directory as it
/// is, and refuses a symlink (which could point outside the PKI).
pub fn ensure_dir(path: &Path, mode: DirMode) -> Result<(), FsError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(FsError::Symlink(path.to_owned())),
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(FsError::new(
            "use directory",
            path,
            io::Error::new(io::ErrorKind::NotADirectory, "it is not a directory"),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_dir(path, mode),
        Err(e) => Err(FsError::new("inspect", path, e)),
    }
}

/// fsyncs a directory so that renames and creations in it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), FsError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| FsError::new("fsync directory", dir, e))
}

/// Appends one line to a log file (created 0600 if missing) with a single
/// `write` on an `O_APPEND` descriptor, then fsyncs it. A symlink in its
/// place is refused.
pub fn append_line(path: &Path, line: &str) -> Result<(), FsError> {
    let mut file = open_append(path)?;
    let mut buf = line.as_bytes().to_vec();
    buf.push(b'\n');
    file.write_all(&buf)
        .map_err(|e| FsError::new("append to", path, e))?;
    file.sync_data().map_err(|e| FsError::new("fsync", path, e))
}

/// Opens a log file to append to (created 0600 if missing), never through
/// a symlink.
pub fn open_append(path: &Path) -> Result<File, FsError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(Mode::Secret.bits())
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| FsError::nofollow("open", path, e))
}

/// True for the name of a temp file [`write_atomic`] makes
/// (`.NAME.tmp.PID.RAND`), which a crash may leave behind.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp.")
}

/// Swaps two directory entries atomically (`renameat2(RENAME_EXCHANGE)`).
/// Fails with `Unsupported` where the filesystem cannot.
pub fn exchange(a: &Path, b: &Path) -> Result<(), FsError> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| FsError::new("exchange", p, io::Error::from(io::ErrorKind::InvalidInput)))
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: two valid NUL-terminated paths, relative to the cwd.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    let e = match e.raw_os_error() {
        Some(libc::EINVAL | libc::ENOSYS) => io::Error::new(io::ErrorKind::Unsupported, e),
        _ => e,
    };
    Err(FsError::new("exchange", b, e))
}

/// The longest first line read from a passphrase or password file.
pub const SECRET_LINE_MAX: usize = 4 * 1024;

/// The largest file mtlsctl reads when one is named on the command line
/// (`inspect`, `issue --csr`, `verify`): far above any certificate, chain,
/// CRL, CSR or PKCS#12 file, far below what exhausts memory.
pub const INPUT_FILE_MAX: u64 = 16 * 1024 * 1024;

/// Reads a passphrase or password file up to its first newline, as openssl
/// does (`-passin file:`). A trailing `\r` is dropped too. Reading stops at
/// the first newline (a FIFO need not be closed) and after
/// [`SECRET_LINE_MAX`] bytes without one (`/dev/zero` is refused, not read
/// forever). Every buffer that held the secret is zeroized.
pub fn read_first_line(path: &Path) -> Result<Zeroizing<String>, FsError> {
    use std::io::Read;
    let mut file = File::open(path).map_err(|e| FsError::new("read", path, e))?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(SECRET_LINE_MAX + 512));
    let mut chunk = Zeroizing::new([0u8; 512]);
    let end = loop {
        let n = match file.read(&mut chunk[..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FsError::new("read", path, e)),
        };
        let start = bytes.len();
        bytes.extend_from_slice(&chunk[..n]);
        if let Some(i) = bytes[start..].iter().position(|&b| b == b'\n') {
            break start + i;
        }
        if n == 0 {
            break bytes.len();
        }
        if bytes.len() > SECRET_LINE_MAX {
            break bytes.len();
        }
    };
    if end > SECRET_LINE_MAX {
        return Err(FsError::TooLarge {
            path: path.to_owned(),
            what: "its first line",
            limit: SECRET_LINE_MAX as u64,
        });
    }
    let line = &bytes[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|_| {
        FsError::new(
            "read",
            path,
            io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text"),
        )
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Reads a file named on the command line, refusing one larger than
/// [`INPUT_FILE_MAX`] (a regular file by its size, anything else, such as
/// `/dev/zero` or a pipe, after reading one byte past the cap).
pub fn read_input(path: &Path) -> Result<Vec<u8>, FsError> {
    use std::io::Read;
    let file = File::open(path).map_err(|e| FsError::new("read", path, e))?;
    let too_large = || FsError::TooLarge {
        path: path.to_owned(),
        what: "the file",
        limit: INPUT_FILE_MAX,
    };
    let meta = file.metadata().map_err(|e| FsError::new("read", path, e))?;
    if meta.is_file() && meta.len() > INPUT_FILE_MAX {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(INPUT_FILE_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FsError::new("read", path, e))?;
    if bytes.len() as u64 > INPUT_FILE_MAX {
        return Err(too_large());
    }
    Ok(bytes)
}

/// `4 KiB`, `16 MiB`: a byte count for an error message.
fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1024 * 1024 && b % (1024 * 1024) == 0 => format!("{} MiB", b / (1024 * 1024)),
        b if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b / 1024),
        b => format!("{b} bytes"),
    }
}

/// Reads a private key, refusing a symlink in its place, and returns its
/// bytes (zeroized on drop) with its permission bits (from the same
/// descriptor, so the mode checked is the mode of the file read).
pub fn read_secret(path: &Path) -> Result<(Zeroizing<Vec<u8>>, u32), FsError> {
    use std::io::Read;
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| FsError::nofollow("read", path, e))?;
    let mode = file
        .metadata()
        .map_err(|e| FsError::new("read", path, e))?
        .permissions()
        .mode()
        & 0o7777;
    // Sized up front, so read_to_end does not leave copies behind in
    // reallocated (and unzeroized) buffers.
    let len = file
        .metadata()
        .map(|m| usize::try_from(m.len()).unwrap_or(0))
        .unwrap_or(0);
    let mut bytes = Zeroizing::new(Vec::with_capacity(len.saturating_add(1)));
    file.read_to_end(&mut bytes)
        .map_err(|e| FsError::new("read", path, e))?;
    Ok((bytes, mode))
}

/// True when `path` lies on a file system mounted read-only (a read-only
/// bind mount, a Kubernetes volume), where mode bits cannot let anyone
/// change anything.
pub fn on_read_only_mount(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a NUL-terminated string that outlives the call,
    // and `stat` points to writable memory of the right type.
    if unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: statvfs returned 0, so it filled `stat` in.
    let stat = unsafe { stat.assume_init() };
    stat.f_flag & libc::ST_RDONLY != 0
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 6];
    // A failure here leaves zeros; the pid and create_new still keep the
    // name unique within this process's single writer.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// A held cross-process lock on the PKI (an `flock` on `.lock`), released
/// when dropped. Writers hold it exclusively; readers that must see a
/// consistent inventory hold it shared.
///
/// A reader on a PKI it cannot write (a read-only mount, another user's
/// directory) holds no lock when `.lock` cannot be opened: on a read-only
/// mount no writer can run, and otherwise SQLite's own locking still keeps
/// each read consistent.
#[derive(Debug)]
pub struct Lock {
    _file: Option<File>,
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process held the lock for the whole wait.
    #[error("another mtlsctl process held the PKI lock {path} for {waited:?}")]
    Timeout {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited: Duration,
    },
    /// A writer cannot open the lock file for writing: the PKI directory
    /// is on a read-only mount, or this user may not write to it.
    #[error("the PKI directory {} is {}: cannot open {} for writing ({source})", dir.display(), if *read_only { "read-only" } else { "not writable by this user" }, path.display())]
    NotWritable {
        /// The PKI directory.
        dir: PathBuf,
        /// The lock file.
        path: PathBuf,
        /// True for a read-only file system, false for a permission error.
        read_only: bool,
        /// The system's error.
        source: io::Error,
    },
    /// The lock file could not be opened or locked.
    #[error(transparent)]
    Io(#[from] FsError),
}

impl Lock {
    /// Takes the lock exclusively, waiting at most `timeout`.
    pub fn exclusive(path: &Path, timeout: Duration) -> Result<Lock, LockError> {
        let file = open_lock_file(path).map_err(|e| {
            let read_only = e.kind() == io::ErrorKind::ReadOnlyFilesystem;
            if read_only || e.kind() == io::ErrorKind::PermissionDenied {
                LockError::NotWritable {
                    dir: path.parent().unwrap_or(Path::new(".")).to_owned(),
                    path: path.to_owned(),
                    read_only,
                    source: e,
                }
            } else {
                FsError::nofollow("open lock file", path, e).into()
            }
        })?;
        Self::take(file, path, timeout, true)
    }

    /// Takes the lock shared, waiting at most `timeout`. Opens `.lock`
    /// read-only when it exists (flock works on a read-only descriptor),
    /// and proceeds unlocked when it can neither be read nor created
    /// because the directory is read-only or not ours.
    pub fn shared(path: &Path, timeout: Duration) -> Result<Lock, LockError> {
        let unwritable = |e: &io::Error| {
            matches!(
                e.kind(),
                io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied
            )
        };
        // Following a symlink here writes nothing (a Kubernetes volume may
        // hold `.lock -> ..data/.lock`); creating one never follows.
        let opened = OpenOptions::new().read(true).open(path);
        let file = match opened {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => match open_lock_file(path) {
                Ok(file) => file,
                Err(e) if unwritable(&e) => return Ok(Lock { _file: None }),
                Err(e) => return Err(FsError::nofollow("open lock file", path, e).into()),
            },
            Err(e) if unwritable(&e) => return Ok(Lock { _file: None }),
            Err(e) => return Err(FsError::new("open lock file", path, e).into()),
        };
        Self::take(file, path, timeout, false)
    }

    fn take(
        file: File,
        path: &Path,
        timeout: Duration,
        exclusive: bool,
    ) -> Result<Lock, LockError> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            let attempt = if exclusive {
                file.try_lock()
            } else {
                file.try_lock_shared()
            };
            match attempt {
                Ok(()) => return Ok(Lock { _file: Some(file) }),
                Err(TryLockError::WouldBlock) => {
                    if start.elapsed() >= timeout {
                        return Err(LockError::Timeout {
                            path: path.to_owned(),
                            waited: start.elapsed(),
                        });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(FsError::new("lock", path, e).into());
                }
            }
        }
    }
}

/// Opens (creating if needed) the lock file for writing, never through a
/// symlink.
fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(Mode::Public.bits())
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_sets_mode_and_replaces() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("key.pem");
        write_atomic(&path, b"one", Mode::Secret)?;
        write_atomic(&path, b"two", Mode::Secret)?;
        assert_eq!(fs::read(&path)?, b"two");
        assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            fs::read_dir(dir.path())?.count(),
            1,
            "no temp file left behind"
        );
        Ok(())
    }

    #[test]
    fn first_line_only() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("pass");
        fs::write(&path, "secret\r\nignored\n")?;
        assert_eq!(read_first_line(&path)?.as_str(), "secret");
        Ok(())
    }

    #[test]
    fn directories_get_their_mode_and_symlinks_are_refused()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let private = dir.path().join("ca");
        ensure_dir(&private, DirMode::Private)?;
        ensure_dir(&private, DirMode::Private)?;
        assert_eq!(fs::metadata(&private)?.permissions().mode() & 0o7777, 0o700);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&private, &link)?;
        assert!(matches!(
            ensure_dir(&link, DirMode::Shared),
            Err(FsError::Symlink(_))
        ));
        let key = private.join("key");
        write_atomic(&key, b"secret", Mode::Secret)?;
        let key_link = dir.path().join("key-link");
        std::os::unix::fs::symlink(&key, &key_link)?;
        assert!(matches!(read_secret(&key_link), Err(FsError::Symlink(_))));
        let (bytes, mode) = read_secret(&key)?;
        assert_eq!((bytes.as_slice(), mode), (&b"secret"[..], 0o600));
        assert!(matches!(
            append_line(&key_link, "line"),
            Err(FsError::Symlink(_))
        ));
        assert_eq!(fs::read(&key)?, b"secret");
        Ok(())
    }

    #[test]
    fn second_exclusive_lock_times_out() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join(".lock");
        let _held = Lock::exclusive(&path, Duration::from_secs(1))?;
        let second = Lock::exclusive(&path, Duration::from_millis(50));
        assert!(matches!(second, Err(LockError::Timeout { .. })));
        Ok(())
    }
}
