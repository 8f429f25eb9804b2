//! Atomic installation of a file: readers see the old bytes or the new bytes, never a mix, even
//! if the process is killed or the machine loses power at any moment.
//!
//! A temporary file is created in the same directory (so the rename cannot cross file systems),
//! written, given the installed file's mode (and owner, when allowed), `fsync`ed, renamed over the
//! target, and the directory is `fsync`ed so the rename itself is durable. The file's times are
//! left alone: the schedule lives in the proof, not in an mtime.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Error;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Mode of a newly created file when there is no previous one to copy: `0644`.
pub const DEFAULT_MODE: u32 = 0o644;

/// Replaces `path` with `bytes` atomically and durably (see the module documentation).
pub fn install_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    install_with(path, |f| f.write_all(bytes))
}

/// [`install_atomic`] with the writing of the new contents into the temporary file as an
/// argument, so that a test can make it fail part-way as a full disk would.
fn install_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::io(path, std::io::Error::other("not a file name")))?;
    let previous = fs::metadata(path).ok();
    let mode = previous
        .as_ref()
        .map_or(DEFAULT_MODE, |m| m.mode() & 0o7777);
    let tmp = dir.join(format!(
        ".{}.tmp.{}.{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_then_rename(&tmp, path, &dir, write, mode, previous.as_ref());
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_then_rename(
    tmp: &Path,
    path: &Path,
    dir: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
    mode: u32,
    previous: Option<&fs::Metadata>,
) -> Result<(), Error> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .map_err(|e| Error::io(tmp, e))?;
    write(&mut f).map_err(|e| Error::io(tmp, e))?;
    if let Some(m) = previous {
        // Keep the owner when we may (root installing for an MTA user); ignore refusal.
        let _ = std::os::unix::fs::fchown(&f, Some(m.uid()), Some(m.gid()));
    }
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(tmp, e))?;
    f.sync_all().map_err(|e| Error::io(tmp, e))?;
    drop(f);
    fs::rename(tmp, path).map_err(|e| Error::io(path, e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_and_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("staple.der");
        install_atomic(&p, b"one").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, DEFAULT_MODE);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        install_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o640);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// The names in `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn failure_leaves_target_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("staple.der");
        let old = b"the proof installed yesterday".to_vec();
        fs::write(&target, &old).unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();

        // The disk fills up half-way through the new contents.
        let result = install_with(&target, |f| {
            f.write_all(b"half of the new pro")?;
            Err(std::io::Error::other("no space left on device"))
        });
        assert!(
            matches!(&result, Err(Error::Io { error, .. }) if error.to_string().contains("no space")),
            "{result:?}"
        );
        assert_eq!(fs::read(&target).unwrap(), old);
        assert_eq!(fs::metadata(&target).unwrap().mode() & 0o777, 0o640);
        assert_eq!(
            listing(dir.path()),
            ["staple.der"],
            "a temporary file is left"
        );

        // A real refusal from the file system: the target's name fits, the temporary one's does not.
        let long = dir.path().join("x".repeat(250));
        fs::write(&long, &old).unwrap();
        assert!(matches!(
            install_atomic(&long, b"new"),
            Err(Error::Io { .. })
        ));
        assert_eq!(fs::read(&long).unwrap(), old);
        assert_eq!(
            listing(dir.path()),
            ["staple.der".to_owned(), "x".repeat(250)]
        );

        // And the directory is missing altogether.
        let missing = dir.path().join("no/such/dir/staple.der");
        assert!(matches!(
            install_atomic(&missing, b"x"),
            Err(Error::Io { .. })
        ));
        assert_eq!(listing(dir.path()).len(), 2);
    }
}
