//! What the files behind a snapshot looked like when it was read, so that a
//! reload can tell cheaply whether anything changed.
//!
//! Why stat, and not only inotify: a watch is tied to an inode, so it is
//! lost when the PKI directory is replaced as a whole (restored from a
//! backup, `mv` of a new directory into place, a Kubernetes volume's
//! `..data` symlink swap), and inotify reports paths that need not match
//! the path the gateway was given. A stamp follows the paths as they
//! resolve *now*: each file's device, inode, size, mtime and ctime after
//! following every symlink, so a replaced file, a re-pointed symlink (at any
//! depth) and an in-place edit all change it. SQLite rewrites
//! `inventory.db` in place, possibly several times within one clock tick,
//! so its header's file change counter (bumped by every commit in
//! rollback-journal mode) is part of its stamp as well.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::pki::layout::Layout;
use crate::pki::model::CertName;

/// The stamps of every file a snapshot is built from (see
/// [`Layout::snapshot_sources`]). Two stamps are equal when no file was
/// added, removed, replaced or written in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStamp(Vec<(PathBuf, Option<FileStamp>)>);

/// One file as `stat(2)` (following symlinks) saw it; `None` in
/// [`SourceStamp`] when it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    sqlite_changes: Option<[u8; 4]>,
}

impl SourceStamp {
    /// Stamps the snapshot sources of the PKI at `layout` with the server
    /// credential `server`, as they are now.
    pub fn take(layout: &Layout, server: &CertName, extra: &[PathBuf]) -> SourceStamp {
        let inventory = layout.inventory();
        SourceStamp(
            layout
                .snapshot_sources(server)
                .into_iter()
                .chain(extra.iter().cloned())
                .map(|path| {
                    let stamp = FileStamp::of(&path, path == inventory);
                    (path, stamp)
                })
                .collect(),
        )
    }

    /// The directories holding the sources (each once, in order), for a
    /// file watcher to watch.
    pub fn directories(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (path, _) in &self.0 {
            if let Some(dir) = path.parent()
                && !dirs.iter().any(|d| d == dir)
            {
                dirs.push(dir.to_owned());
            }
        }
        dirs
    }
}

impl FileStamp {
    pub(crate) fn of(path: &Path, sqlite: bool) -> Option<FileStamp> {
        let meta = std::fs::metadata(path).ok()?;
        let sqlite_changes = if sqlite { change_counter(path) } else { None };
        Some(FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            sqlite_changes,
        })
    }
}

/// Bytes 24..28 of a SQLite database header: the file change counter.
fn change_counter(path: &Path) -> Option<[u8; 4]> {
    let mut header = [0u8; 28];
    File::open(path).ok()?.read_exact(&mut header).ok()?;
    let mut counter = [0u8; 4];
    counter.copy_from_slice(&header[24..28]);
    Some(counter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Result<(tempfile::TempDir, Layout, CertName), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let layout = Layout::new(dir.path().join("pki"));
        let server: CertName = "gw".parse()?;
        std::fs::create_dir_all(layout.leaf_dir(&server))?;
        std::fs::create_dir_all(layout.ca_dir(1))?;
        for path in layout.snapshot_sources(&server) {
            std::fs::write(path, "x")?;
        }
        Ok((dir, layout, server))
    }

    #[test]
    fn replacing_a_file_by_rename_changes_the_stamp() -> Result<(), Box<dyn std::error::Error>> {
        let (dir, layout, server) = setup()?;
        let before = SourceStamp::take(&layout, &server, &[]);
        assert_eq!(before, SourceStamp::take(&layout, &server, &[]));
        let tmp = dir.path().join("crls.new");
        std::fs::write(&tmp, "x")?;
        std::fs::rename(&tmp, layout.crls())?;
        assert_ne!(before, SourceStamp::take(&layout, &server, &[]));
        Ok(())
    }

    #[test]
    fn a_new_generation_and_a_swapped_directory_change_the_stamp()
    -> Result<(), Box<dyn std::error::Error>> {
        let (dir, layout, server) = setup()?;
        let before = SourceStamp::take(&layout, &server, &[]);
        std::fs::create_dir_all(layout.ca_dir(2))?;
        std::fs::write(layout.ca_cert(2, crate::pki::layout::CaLevel::Root), "x")?;
        let with_two = SourceStamp::take(&layout, &server, &[]);
        assert_ne!(before, with_two);
        // The whole directory replaced by an identical copy: new inodes.
        let copy = dir.path().join("copy");
        std::fs::rename(layout.root(), &copy)?;
        std::fs::create_dir_all(layout.leaf_dir(&server))?;
        std::fs::create_dir_all(layout.ca_dir(1))?;
        std::fs::create_dir_all(layout.ca_dir(2))?;
        for path in layout.snapshot_sources(&server) {
            std::fs::write(path, "x")?;
        }
        assert_ne!(with_two, SourceStamp::take(&layout, &server, &[]));
        Ok(())
    }
}
