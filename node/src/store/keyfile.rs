//! The node's secret key, in `node.key` beside the database (mode 0600).
//!
//! Format: the line `linli-node-key v1`, then the 32-byte ed25519 seed as 64 lower-case hex
//! characters on the second line. Kept out of the database so that a copy of the database
//! (or an export) never carries the key.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::StoreError;

/// File name of the key file in the data directory.
pub(crate) const KEY_FILE: &str = "node.key";
const HEADER: &str = "linli-node-key v1";

fn bad(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Key {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads the key of `dir`, or `None` if there is no key file.
pub(crate) fn read(dir: &Path) -> Result<Option<[u8; 32]>, StoreError> {
    let path = dir.join(KEY_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(&path, format!("cannot read it: {e}"))),
    };
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(bad(&path, format!("does not start with {HEADER:?}")));
    }
    let hexkey = lines.next().unwrap_or_default().trim();
    let mut secret = [0u8; 32];
    hex::decode_to_slice(hexkey, &mut secret)
        .map_err(|_| bad(&path, "the second line must be 64 hex characters"))?;
    Ok(Some(secret))
}

/// Writes the key of `dir` durably (temporary file, fsync, rename, fsync of the directory),
/// readable by the owner only.
pub(crate) fn write(dir: &Path, secret: &[u8; 32]) -> Result<PathBuf, StoreError> {
    let path = dir.join(KEY_FILE);
    let tmp = crate::private::tmp_of(&path);
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| StoreError::io(p, e)
    };
    let mut f = crate::private::create(&tmp).map_err(io(&tmp))?;
    let text = format!("{HEADER}\n{}\n", hex::encode(secret));
    f.write_all(text.as_bytes()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    fs::rename(&tmp, &path).map_err(io(&path))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Makes a rename or creation in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
