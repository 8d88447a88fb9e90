//! Atomic file replacement: readers (and a crash) see the old file or the new one, never half.
//!
//! The new content goes to a temporary file in the same directory (a rename across file systems
//! is not atomic), is flushed to disk, gets its final mode, and is renamed over the target; the
//! directory is then synced so the rename itself survives a crash.

use std::fs::{self, File, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("cannot write {}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Replaces `path` with `contents`, giving it `mode` (e.g. `0o600`).
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // tempfile creates the file with mode 0600, so a secret is never readable by others, even
    // for the moment before the final mode is set.
    let mut tmp = tempfile::Builder::new()
        .prefix(".tools-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(contents).map_err(err)?;
    tmp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    // Best effort: some file systems do not support syncing a directory.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Checks that [`write_atomic`] could create its temporary file next to `path`, without
/// changing anything: callers about to do something irreversible (create a Stripe endpoint)
/// check first that they will be able to record the result.
pub fn check_writable(path: &Path) -> Result<(), WriteError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(".tools-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|source| WriteError {
            path: path.to_path_buf(),
            source,
        })
}

/// The permission bits of an existing file (to keep them when replacing it).
pub fn mode_of(path: &Path) -> std::io::Result<u32> {
    Ok(fs::metadata(path)?.permissions().mode() & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_with_the_given_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.json");
        fs::write(&path, "old").expect("write");
        write_atomic(&path, b"new", 0o600).expect("atomic write");
        assert_eq!(fs::read_to_string(&path).expect("read"), "new");
        assert_eq!(mode_of(&path).expect("mode"), 0o600);
        write_atomic(&path, b"newer", 0o644).expect("atomic write");
        assert_eq!(mode_of(&path).expect("mode"), 0o644);
        // No temporary files left behind.
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn writability_check_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        check_writable(&dir.path().join("store.json")).expect("writable");
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 0);
        assert!(check_writable(Path::new("/nonexistent-dir/x.json")).is_err());
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_file() {
        let err = write_atomic(Path::new("/nonexistent-dir/x.json"), b"x", 0o600)
            .expect_err("no such dir");
        assert!(err.to_string().contains("/nonexistent-dir/x.json"));
    }
}
