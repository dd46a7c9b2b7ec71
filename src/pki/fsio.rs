//! The one way mtlsctl writes files: to a temporary file in the same
//! directory, fsync, rename over the target, fsync the directory. A crash
//! leaves either the old file or the new one, never half of either. Private
//! keys are created with mode 0600 from the first byte. The cross-process
//! lock that serialises writers also lives here.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// A failed file operation, with the path it concerned.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
pub struct FsError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: io::Error,
}

impl FsError {
    /// Wraps an I/O error with what was being done to which path.
    pub fn new(action: &'static str, path: &Path, source: io::Error) -> Self {
        Self {
            action,
            path: path.to_owned(),
            source,
        }
    }

    /// The underlying error kind.
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
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

/// Creates a directory and any missing parents (mode 0755), fsyncing the
/// parent so the new entry survives a crash.
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

/// Creates a directory only its owner may enter (0700 whatever the umask),
/// if it does not exist.
pub fn create_private_dir(path: &Path) -> Result<(), FsError> {
    create_dir_all(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
        .map_err(|e| FsError::new("set permissions on", path, e))
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
/// `write` on an `O_APPEND` descriptor, then fsyncs it.
pub fn append_line(path: &Path, line: &str) -> Result<(), FsError> {
    let mut file = open_append(path)?;
    let mut buf = line.as_bytes().to_vec();
    buf.push(b'\n');
    file.write_all(&buf)
        .map_err(|e| FsError::new("append to", path, e))?;
    file.sync_data().map_err(|e| FsError::new("fsync", path, e))
}

/// Opens a log file to append to (created 0600 if missing).
pub fn open_append(path: &Path) -> Result<File, FsError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(Mode::Secret.bits())
        .open(path)
        .map_err(|e| FsError::new("open", path, e))
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

/// Reads a passphrase or password file up to its first newline, as openssl
/// does (`-passin file:`). A trailing `\r` is dropped too.
pub fn read_first_line(path: &Path) -> Result<String, FsError> {
    let bytes = fs::read(path).map_err(|e| FsError::new("read", path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        FsError::new(
            "read",
            path,
            io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text"),
        )
    })?;
    let line = text.split('\n').next().unwrap_or("");
    Ok(line.strip_suffix('\r').unwrap_or(line).to_owned())
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
#[derive(Debug)]
pub struct Lock {
    _file: File,
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
    /// The lock file could not be opened or locked.
    #[error(transparent)]
    Io(#[from] FsError),
}

impl Lock {
    /// Takes the lock exclusively, waiting at most `timeout`.
    pub fn exclusive(path: &Path, timeout: Duration) -> Result<Lock, LockError> {
        Self::take(path, timeout, true)
    }

    /// Takes the lock shared, waiting at most `timeout`.
    pub fn shared(path: &Path, timeout: Duration) -> Result<Lock, LockError> {
        Self::take(path, timeout, false)
    }

    fn take(path: &Path, timeout: Duration, exclusive: bool) -> Result<Lock, LockError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(Mode::Public.bits())
            .open(path)
            .map_err(|e| FsError::new("open lock file", path, e))?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            let attempt = if exclusive {
                file.try_lock()
            } else {
                file.try_lock_shared()
            };
            match attempt {
                Ok(()) => return Ok(Lock { _file: file }),
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
        assert_eq!(read_first_line(&path)?, "secret");
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
