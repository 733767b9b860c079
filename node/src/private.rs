//! Data at rest, readable by its owner only: the data directory is created 0700 and every
//! file linli writes — the database (SQLite gives its `-wal` and `-shm` files the database
//! file's mode), `node.key`, `node.lock`, `linli.toml`, `api.token`, `api.addr`,
//! `dashboard.url` and export files wherever they go — is created 0600. A data directory
//! made by an older version (or loosened by hand) is tightened when its store is opened:
//! the directory to 0700 and each of linli's files in it ([`STORE_FILES`], with their
//! `.tmp` siblings) to 0600 (bits are only ever removed). Other files someone put there are
//! left as they are (`init` may be pointed at a directory that holds other things).
//!
//! On other platforms than unix these are plain file operations.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Mode of the data directory.
pub(crate) const DIR_MODE: u32 = 0o700;
/// Mode of every file linli writes.
pub(crate) const FILE_MODE: u32 = 0o600;

/// The files linli keeps in a data directory (each also as `<name>.tmp` while it is being
/// replaced).
pub(crate) const STORE_FILES: [&str; 10] = [
    crate::store::DB_FILE,
    "linli.db-wal",
    "linli.db-shm",
    "linli.db-journal",
    crate::store::keyfile::KEY_FILE,
    crate::store::LOCK_FILE,
    crate::config::CONFIG_FILE,
    crate::config::DEFAULT_TOKEN_FILE,
    crate::api::ADDR_FILE,
    crate::api::DASHBOARD_FILE,
];

/// Open options that create a file with mode 0600 (the access flags are the caller's). An
/// existing file keeps its mode: see [`create`].
pub(crate) fn options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(FILE_MODE);
    }
    o
}

/// Creates `dir` and its parents; `dir` itself is created 0700, or tightened to 0700 if it
/// was there (the parents get the usual mode).
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(DIR_MODE);
    }
    match b.create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {
            tighten(dir, DIR_MODE).map(|_| ())
        }
        Err(e) => Err(e),
    }
}

/// Opens `path` for writing, truncated, created 0600; an existing regular file is set to
/// 0600 first-hand (through the open descriptor). Devices and pipes (`/dev/stdout`) are
/// written as they are.
pub(crate) fn create(path: &Path) -> io::Result<File> {
    let f = options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = f.metadata()?;
        if meta.is_file() && meta.permissions().mode() & 0o777 != FILE_MODE {
            f.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
        }
    }
    Ok(f)
}

/// Writes `bytes` to `path` with mode 0600, replacing it atomically: `<path>.tmp` written
/// and fsynced, then renamed over `path`.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = tmp_of(path);
    let _ = std::fs::remove_file(&tmp);
    let mut f = options().write(true).create_new(true).open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// `<path>.tmp`, beside `path`.
pub(crate) fn tmp_of(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    PathBuf::from(tmp)
}

/// Removes from the mode of `path` every bit outside `allowed` (never adds one); returns
/// whether it changed. Symbolic links are left alone.
pub(crate) fn tighten(path: &Path, allowed: u32) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::symlink_metadata(path)?;
        if meta.file_type().is_symlink() {
            return Ok(false);
        }
        let mode = meta.permissions().mode() & 0o7777;
        let tight = mode & allowed;
        if tight == mode {
            return Ok(false);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(tight))?;
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = (path, allowed);
        Ok(false)
    }
}

/// Tightens a data directory: the directory to 0700, linli's files in it
/// ([`STORE_FILES`] and their `.tmp` siblings, and `api.tmp` of older versions) to 0600.
/// Returns what was changed (logged at info level); a file that cannot be changed (another
/// owner, a file system without modes) is logged as a warning and left.
pub(crate) fn tighten_dir(dir: &Path) -> Vec<PathBuf> {
    let mut changed = Vec::new();
    let mut one = |path: &Path, allowed: u32| match tighten(path, allowed) {
        Ok(true) => changed.push(path.to_path_buf()),
        Ok(false) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(
            path = %path.display(),
            "cannot make it private to its owner: {e}"
        ),
    };
    one(dir, DIR_MODE);
    for name in STORE_FILES {
        let path = dir.join(name);
        one(&path, FILE_MODE);
        one(&tmp_of(&path), FILE_MODE);
    }
    one(&dir.join("api.tmp"), FILE_MODE);
    if !changed.is_empty() {
        let names: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
        tracing::info!(
            "made readable by their owner only (directory 0700, files 0600): {}",
            names.join(", ")
        );
    }
    changed
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    fn chmod(p: &Path, m: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }

    #[test]
    fn tightening_only_removes_bits() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        chmod(&dir, 0o755);
        let [a, b, c, other] =
            ["linli.db", "node.key.tmp", "api.token", "notes.sh"].map(|n| dir.join(n));
        for p in [&a, &b, &c, &other] {
            std::fs::write(p, "x").unwrap();
        }
        chmod(&a, 0o644);
        chmod(&b, 0o755);
        chmod(&c, 0o400);
        chmod(&other, 0o755);
        let changed = tighten_dir(&dir);
        assert_eq!(changed, vec![dir.clone(), a.clone(), b.clone()]);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&a), 0o600);
        assert_eq!(mode(&b), 0o600);
        assert_eq!(mode(&c), 0o400, "a read-only file stays read-only");
        assert_eq!(mode(&other), 0o755, "not a file of linli's");
        assert!(
            tighten_dir(&dir).is_empty(),
            "a second pass changes nothing"
        );
    }

    #[test]
    fn create_and_write_give_0600_also_over_a_loose_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        std::fs::write(&p, "old").unwrap();
        chmod(&p, 0o666);
        create(&p).unwrap().write_all(b"new").unwrap();
        assert_eq!(mode(&p), 0o600);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        let q = tmp.path().join("g");
        std::fs::write(tmp_of(&q), "stale").unwrap();
        chmod(&tmp_of(&q), 0o666);
        write(&q, b"text").unwrap();
        assert_eq!(mode(&q), 0o600);
        assert!(!tmp_of(&q).exists());
        let d = tmp.path().join("x/y/data");
        create_dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700);
        chmod(&d, 0o777);
        create_dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700);
    }
}
