//! `linli backup` and `linli restore`: one file holding a consistent copy of a node's store,
//! its secret key and its configuration, and its checked restore into a new data directory.
//!
//! **Backup.** The database is copied with SQLite's online backup API in one step, inside one
//! read transaction of a connection of its own: in WAL mode a reader never blocks the
//! writer, so a running daemon keeps writing, and the copy is the database as of one commit
//! (every acknowledged write up to it, nothing half-written). The backup does not take the
//! data directory's lock (`node.lock`, held by the running node) and issues no write on the
//! store (`PRAGMA query_only`, no checkpoint on close). The copy is checked
//! (`integrity_check`, schema, the key belongs to the store) before the file is written.
//!
//! **File format** (version 1), written to `<file>.tmp` (mode 0600), fsynced, renamed:
//!
//! ```text
//! "LINLIBAK" | version u8 = 1 | taken_at i64 (ms, UTC) | node id [32] | secret key [32]
//! | config_len u32 | linli.toml bytes | db_len u64 | database bytes | BLAKE3 of all before [32]
//! ```
//! (integers big-endian). The file holds the node's **secret key**: whoever reads it can sign
//! as the node, so it is created 0600 and must be kept like `node.key` (docs/SECURITY.md).
//!
//! **Restore** checks everything before it changes anything: header, version, length (a
//! truncated file), the BLAKE3 trailer (a damaged file), the key against the store's node id,
//! then, in a staging directory beside the target, SQLite's `integrity_check`, the schema
//! (a linli store of a version this build reads), the configuration, and the store itself:
//! it is opened as a node (every change of the log replayed or restored from its snapshots,
//! exactly as `linli run` will). Only then is the staging directory renamed into place; a
//! non-empty target is refused unless forced, and then moved aside, never deleted.
//!
//! The restored node opens with a **fresh incarnation**, as every open of a store does (see
//! ARCHITECTURE.md, *Identity*): its automerge actor is new, so its writes never reuse an
//! (actor, seq) pair of the original's changes made after the backup, and are never taken
//! for equivocation.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use linli_core::identity::Keypair;
use linli_core::{NodeId, Timestamp};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use crate::config::{CONFIG_FILE, Config};
use crate::store::{self, DB_FILE, LOCK_FILE, keyfile, schema};
use crate::{Node, NodeError, OpenOptions, StoreError};

/// First bytes of a backup file.
pub const MAGIC: &[u8; 8] = b"LINLIBAK";
/// The format version this build writes and reads.
pub const VERSION: u8 = 1;
/// File name extension of backups named by `linli backup`.
pub const EXTENSION: &str = "linlibak";
/// Largest configuration file a backup carries.
const MAX_CONFIG: u32 = 1 << 20;
/// Fixed header: magic, version, time, node id, key, config length.
const HEADER: u64 = 8 + 1 + 8 + 32 + 32 + 4;
/// How long the copy waits for a moment when the database is not locked by a checkpoint.
const BUSY_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// What went wrong in a backup or a restore. Every message names the file or directory.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// No store in the data directory.
    #[error("no linli store in {0} (nothing to back up)")]
    NoStore(PathBuf),
    /// The store could not be read.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The backup file to write is there already.
    #[error("{0} already exists; choose another file or remove it")]
    Exists(PathBuf),
    /// The backup runs as another user than the store's owner.
    #[error(
        "{path} belongs to uid {owner} and this process runs as uid {me}: run the backup as the node's user (e.g. `sudo -u linli linli backup …`), so that no file of the store gets another owner"
    )]
    Owner {
        /// The database.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's user.
        me: u32,
    },
    /// The file is not a linli backup.
    #[error("{path} is not a linli backup: {reason}")]
    NotABackup {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file was written by a newer version.
    #[error(
        "{path} is a linli backup of format version {found}; this linli reads version {VERSION} (upgrade linli)"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u8,
    },
    /// The file is shorter than its header says.
    #[error(
        "{path} is truncated: {found} bytes, its header announces {expected} (copy the whole file again)"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Announced length.
        expected: u64,
        /// Actual length.
        found: u64,
    },
    /// The file's bytes do not match its checksum, or its parts do not fit together.
    #[error("{path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The store inside the backup fails a check.
    #[error("the store in backup {path} fails its checks: {reason}")]
    BadStore {
        /// The backup file.
        path: PathBuf,
        /// The check and what it found.
        reason: String,
    },
    /// The restore target holds something and `--force` was not given.
    #[error(
        "{0} is not empty; restore into a new directory, or give --force to move what is there aside"
    )]
    TargetNotEmpty(PathBuf),
    /// The restore target is not a directory.
    #[error("{0} exists and is not a directory")]
    TargetNotDir(PathBuf),
    /// The restore target is a symbolic link.
    #[error("{0} is a symbolic link; restore into the directory it points to")]
    TargetIsLink(PathBuf),
    /// A node runs on the restore target.
    #[error("a node is running on {0} (its node.lock is held); stop it before restoring over it")]
    TargetInUse(PathBuf),
}

impl BackupError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> BackupError + '_ {
        move |source| BackupError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What `linli backup` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The backup file.
    pub file: PathBuf,
    /// The node backed up.
    pub node: NodeId,
    /// Size of the copied database.
    pub db_bytes: u64,
    /// Size of the backup file.
    pub file_bytes: u64,
    /// Changes in the copied log.
    pub changes: u64,
    /// When the copy was taken.
    pub taken_at: Timestamp,
}

/// What `linli restore` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSummary {
    /// The restored data directory.
    pub dir: PathBuf,
    /// Where the directory's previous content went (`--force`), if it held something.
    pub moved_aside: Option<PathBuf>,
    /// The restored node.
    pub node: NodeId,
    /// Its organisation.
    pub org: String,
    /// Changes in its log.
    pub changes: u64,
    /// Documents it holds.
    pub documents: usize,
    /// When the backup was taken.
    pub taken_at: Timestamp,
    /// The fresh incarnation the restored store opened with (hex).
    pub incarnation: String,
}

/// The default backup file in `dir`: `linli-<UTC time>.linlibak`.
pub fn default_name(now: Timestamp) -> String {
    let stamp = jiff::Timestamp::from_millisecond(now.0)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|_| now.0.to_string());
    format!("linli-{stamp}.{EXTENSION}")
}

/// Where a backup of `data_dir` goes: `to` itself, or a dated file in `to` when it is a
/// directory (or ends with `/`: then created 0700 if needed), or in `<data_dir>/backups`
/// when no `to` is given (created 0700).
pub fn target_file(
    data_dir: &Path,
    to: Option<&Path>,
    now: Timestamp,
) -> Result<PathBuf, BackupError> {
    let dir = match to {
        // `DIR/`: a directory, created (0700) if needed.
        Some(t) if t.as_os_str().to_string_lossy().ends_with('/') => {
            crate::private::create_dir(t).map_err(BackupError::io(t))?;
            t.to_path_buf()
        }
        Some(t) if !t.is_dir() => return Ok(t.to_path_buf()),
        Some(t) => t.to_path_buf(),
        None => {
            let d = data_dir.join("backups");
            crate::private::create_dir(&d).map_err(BackupError::io(&d))?;
            d
        }
    };
    Ok(dir.join(default_name(now)))
}

/// Removes the oldest dated backups (`linli-<UTC time>.linlibak`, the names
/// [`default_name`] gives) in `dir` beyond the newest `keep`; other files are left alone.
/// Returns the files removed, oldest first.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let mut dated: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(BackupError::io(dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.strip_prefix("linli-")
                        .and_then(|n| n.strip_suffix(&format!(".{EXTENSION}")))
                        .is_some_and(|stamp| {
                            stamp.len() == 16
                                && stamp.ends_with('Z')
                                && stamp.chars().nth(8) == Some('T')
                        })
                })
        })
        .collect();
    // The UTC stamps sort as the times they name.
    dated.sort();
    let excess = dated.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for p in dated.into_iter().take(excess) {
        std::fs::remove_file(&p).map_err(BackupError::io(&p))?;
        removed.push(p);
    }
    Ok(removed)
}

/// Copies the store of `data_dir` (which may be in use by a running node) into the backup
/// file `to`, which must not exist. See the module docs.
pub fn backup(data_dir: &Path, to: &Path, now: Timestamp) -> Result<BackupSummary, BackupError> {
    let db = data_dir.join(DB_FILE);
    if !db.is_file() {
        return Err(BackupError::NoStore(data_dir.to_path_buf()));
    }
    if to.exists() {
        return Err(BackupError::Exists(to.to_path_buf()));
    }
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(BackupError::io(to)(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "directory {} does not exist (end --to with / to have it created)",
                parent.display()
            ),
        )));
    }
    let secret = keyfile::read(data_dir)?.ok_or_else(|| StoreError::Key {
        path: data_dir.join(keyfile::KEY_FILE),
        reason: "missing (a backup without the key could not be restored)".into(),
    })?;
    let config = match std::fs::read(Config::path_in(data_dir)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(BackupError::io(&Config::path_in(data_dir))(e)),
    };
    if config.len() > MAX_CONFIG as usize {
        return Err(BackupError::Damaged {
            path: Config::path_in(data_dir),
            reason: format!("larger than {MAX_CONFIG} bytes"),
        });
    }
    // The copy of the database, beside the backup file (same file system, private).
    let copy = sibling(to, ".db.tmp");
    let tmp = crate::private::tmp_of(to);
    let result = (|| {
        let _ = std::fs::remove_file(&copy);
        drop(crate::private::create(&copy).map_err(BackupError::io(&copy))?);
        same_owner(&db, &copy)?;
        match schema::probe(&db)? {
            schema::Probe::Empty => return Err(BackupError::NoStore(data_dir.to_path_buf())),
            schema::Probe::Linli(_) => {}
        }
        copy_database(&db, &copy)?;
        let keypair = Keypair::from_secret(&secret);
        let changes = check_copy(&copy, &keypair.node_id())
            .map_err(|reason| BackupError::Store(StoreError::Corrupt(reason)))?;
        let db_bytes = std::fs::metadata(&copy)
            .map_err(BackupError::io(&copy))?
            .len();
        let file_bytes = write_file(
            &tmp,
            &copy,
            db_bytes,
            now,
            &keypair.node_id(),
            &secret,
            &config,
        )?;
        if to.exists() {
            return Err(BackupError::Exists(to.to_path_buf()));
        }
        std::fs::rename(&tmp, to).map_err(BackupError::io(to))?;
        if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
            keyfile::sync_dir(parent)?;
        }
        Ok(BackupSummary {
            file: to.to_path_buf(),
            node: keypair.node_id(),
            db_bytes,
            file_bytes,
            changes,
            taken_at: now,
        })
    })();
    let _ = std::fs::remove_file(&copy);
    let _ = std::fs::remove_file(sibling(&copy, "-journal"));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The backup must run as the store's owner: SQLite may create the database's `-wal` and
/// `-shm` files (when no node has the store open), and files of another owner there (root's,
/// after a `sudo linli backup`) would keep the node from opening its store. `ours` is a file
/// this process just created.
fn same_owner(db: &Path, ours: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(db).map_err(BackupError::io(db))?.uid();
        let me = std::fs::metadata(ours)
            .map_err(BackupError::io(ours))?
            .uid();
        if owner != me {
            return Err(BackupError::Owner {
                path: db.to_path_buf(),
                owner,
                me,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (db, ours);
    Ok(())
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The online backup of `db` into `copy`, in one step (one read transaction, so one commit's
/// state). The source connection writes nothing.
fn copy_database(db: &Path, copy: &Path) -> Result<(), BackupError> {
    // Read-write without create, as `schema::probe`: a read-only connection could fail to
    // read a WAL store that needs recovery. `query_only` refuses every write statement and
    // closing it does not checkpoint.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let src = Connection::open_with_flags(db, flags).map_err(|e| schema::named(db, e))?;
    src.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(StoreError::from)?;
    src.pragma_update(None, "query_only", true)
        .map_err(StoreError::from)?;
    src.busy_timeout(BUSY_FOR).map_err(StoreError::from)?;
    let mut dst = Connection::open(copy).map_err(|e| schema::named(copy, e))?;
    {
        use rusqlite::backup::{Backup, StepResult};
        let b = Backup::new(&src, &mut dst).map_err(StoreError::from)?;
        let deadline = std::time::Instant::now() + BUSY_FOR;
        loop {
            match b.step(-1).map_err(StoreError::from)? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                _ => {
                    return Err(StoreError::Corrupt(format!(
                        "{} stayed locked for {} s; try again",
                        db.display(),
                        BUSY_FOR.as_secs()
                    ))
                    .into());
                }
            }
        }
    }
    // A standalone file: no WAL beside it.
    let _: String = dst
        .pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))
        .map_err(StoreError::from)?;
    dst.close().map_err(|(_, e)| StoreError::from(e))?;
    Ok(())
}

/// Checks a database file that is to become (or came from) a backup: SQLite's full
/// `integrity_check`, a linli store of a schema this build reads, whose node is `node`.
/// Returns the number of changes in its log (those folded into snapshots included).
fn check_copy(path: &Path, node: &NodeId) -> Result<u64, String> {
    match schema::probe(path).map_err(|e| e.to_string())? {
        schema::Probe::Empty => return Err("the database is empty".into()),
        schema::Probe::Linli(_) => {}
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    store::integrity_check(&conn, true).map_err(|e| e.to_string())?;
    let stored: Vec<u8> = conn
        .query_row("SELECT value FROM settings WHERE key = 'node'", [], |r| {
            r.get(0)
        })
        .map_err(|e| format!("its settings have no node id: {e}"))?;
    if stored.as_slice() != node.as_bytes().as_slice() {
        return Err("the store belongs to another node than the key".into());
    }
    let n: i64 = conn
        .query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    // Changes folded into snapshots (schema 6; an older store has no such column).
    let folded: i64 = conn
        .query_row(
            "SELECT coalesce(sum(CASE WHEN sigs IS NULL THEN 0 ELSE changes END), 0) FROM snapshots",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0);
    let n = n + folded;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Writes the backup file (see the module docs) to `tmp` and fsyncs it; returns its size.
fn write_file(
    tmp: &Path,
    db: &Path,
    db_bytes: u64,
    now: Timestamp,
    node: &NodeId,
    secret: &[u8; 32],
    config: &[u8],
) -> Result<u64, BackupError> {
    let io = BackupError::io(tmp);
    let f = crate::private::create(tmp).map_err(BackupError::io(tmp))?;
    let mut w = Hashing {
        inner: BufWriter::new(f),
        hasher: blake3::Hasher::new(),
        written: 0,
    };
    let config_len = u32::try_from(config.len()).unwrap_or(u32::MAX);
    (|| -> io::Result<()> {
        w.write_all(MAGIC)?;
        w.write_all(&[VERSION])?;
        w.write_all(&now.0.to_be_bytes())?;
        w.write_all(node.as_bytes())?;
        w.write_all(secret)?;
        w.write_all(&config_len.to_be_bytes())?;
        w.write_all(config)?;
        w.write_all(&db_bytes.to_be_bytes())?;
        let mut src = File::open(db)?;
        let copied = io::copy(&mut src, &mut w)?;
        if copied != db_bytes {
            return Err(io::Error::other(format!(
                "the database copy changed size while written ({copied} of {db_bytes} bytes)"
            )));
        }
        let digest = w.hasher.finalize();
        w.inner.write_all(digest.as_bytes())?;
        w.written += 32;
        w.inner.flush()?;
        w.inner.get_ref().sync_all()
    })()
    .map_err(io)?;
    Ok(w.written)
}

/// A writer that hashes what it writes.
struct Hashing {
    inner: BufWriter<File>,
    hasher: blake3::Hasher,
    written: u64,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The parts of a backup file, its checksum verified; the database written to `db_out`.
struct Unpacked {
    taken_at: Timestamp,
    node: NodeId,
    secret: [u8; 32],
    config: Vec<u8>,
}

/// Reads and verifies the backup file `from`, writing its database to `db_out`.
fn unpack(from: &Path, db_out: &Path) -> Result<Unpacked, BackupError> {
    let not = |reason: &str| BackupError::NotABackup {
        path: from.to_path_buf(),
        reason: reason.into(),
    };
    let damaged = |reason: String| BackupError::Damaged {
        path: from.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(from).map_err(BackupError::io(from))?;
    if !meta.is_file() {
        return Err(not("not a regular file"));
    }
    let len = meta.len();
    let mut r = BufReader::new(File::open(from).map_err(BackupError::io(from))?);
    let mut hasher = blake3::Hasher::new();
    let mut magic = [0u8; 8];
    let got = read_up_to(&mut r, &mut magic).map_err(BackupError::io(from))?;
    if got < magic.len() || &magic != MAGIC {
        if magic.starts_with(b"SQLite f") {
            return Err(not(
                "it is an SQLite database (a store file?), not a file written by `linli backup`",
            ));
        }
        if magic.starts_with(b"LINLIEXP") {
            return Err(not(
                "it is an export file (`linli export`); bring it in with `linli import`",
            ));
        }
        return Err(not("it does not start with LINLIBAK"));
    }
    if len < HEADER + 8 + 32 {
        return Err(BackupError::Truncated {
            path: from.to_path_buf(),
            expected: HEADER + 8 + 32,
            found: len,
        });
    }
    hasher.update(&magic);
    let mut fixed = [0u8; (HEADER - 8) as usize];
    r.read_exact(&mut fixed).map_err(BackupError::io(from))?;
    hasher.update(&fixed);
    let version = fixed[0];
    if version != VERSION {
        return Err(BackupError::Version {
            path: from.to_path_buf(),
            found: version,
        });
    }
    let taken_at = Timestamp(i64::from_be_bytes(take(&fixed[1..9])));
    let node = NodeId(take(&fixed[9..41]));
    let secret: [u8; 32] = take(&fixed[41..73]);
    let config_len = u32::from_be_bytes(take(&fixed[73..77]));
    if config_len > MAX_CONFIG {
        return Err(damaged(format!(
            "it announces a configuration of {config_len} bytes (at most {MAX_CONFIG})"
        )));
    }
    let truncated = |expected: u64| BackupError::Truncated {
        path: from.to_path_buf(),
        expected,
        found: len,
    };
    let before_db = HEADER + u64::from(config_len) + 8;
    if len < before_db + 32 {
        return Err(truncated(before_db + 32));
    }
    let mut config = vec![0u8; config_len as usize];
    r.read_exact(&mut config).map_err(BackupError::io(from))?;
    hasher.update(&config);
    let mut dblen = [0u8; 8];
    r.read_exact(&mut dblen).map_err(BackupError::io(from))?;
    hasher.update(&dblen);
    let db_len = u64::from_be_bytes(dblen);
    let expected = before_db.saturating_add(db_len).saturating_add(32);
    if len < expected {
        return Err(truncated(expected));
    }
    if len > expected {
        return Err(damaged(format!(
            "{} bytes follow its end (it announces {expected} bytes)",
            len - expected
        )));
    }
    {
        let out = crate::private::create(db_out).map_err(BackupError::io(db_out))?;
        let mut out = BufWriter::new(out);
        let mut left = db_len;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let chunk = &mut buf[..n];
            r.read_exact(chunk).map_err(BackupError::io(from))?;
            hasher.update(chunk);
            out.write_all(chunk).map_err(BackupError::io(db_out))?;
            left -= n as u64;
        }
        out.flush().map_err(BackupError::io(db_out))?;
        out.get_ref().sync_all().map_err(BackupError::io(db_out))?;
    }
    let mut trailer = [0u8; 32];
    r.read_exact(&mut trailer).map_err(BackupError::io(from))?;
    if hasher.finalize().as_bytes() != &trailer {
        return Err(damaged(
            "its BLAKE3 checksum does not match its bytes (changed or corrupted since it was written)"
                .into(),
        ));
    }
    if Keypair::from_secret(&secret).node_id() != node {
        return Err(damaged(
            "its secret key does not belong to the node it names".into(),
        ));
    }
    Ok(Unpacked {
        taken_at,
        node,
        secret,
        config,
    })
}

/// The fixed-size prefix of `bytes` (the callers slice exactly `N` bytes).
fn take<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = bytes.len().min(N);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What is at the restore target.
enum Target {
    /// Nothing, or an empty directory: restore there.
    Free,
    /// A directory with content (only with `force`).
    Occupied,
}

fn inspect_target(dir: &Path, force: bool) -> Result<Target, BackupError> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Target::Free),
        Err(e) => Err(BackupError::io(dir)(e)),
        // Renaming a link would put the restore beside the directory it names.
        Ok(m) if m.file_type().is_symlink() => Err(BackupError::TargetIsLink(dir.to_path_buf())),
        Ok(m) if !m.is_dir() => Err(BackupError::TargetNotDir(dir.to_path_buf())),
        Ok(_) => {
            let mut entries = std::fs::read_dir(dir).map_err(BackupError::io(dir))?;
            if entries.next().is_none() {
                Ok(Target::Free)
            } else if force {
                Ok(Target::Occupied)
            } else {
                Err(BackupError::TargetNotEmpty(dir.to_path_buf()))
            }
        }
    }
}

/// Restores the backup file `from` into the data directory `dir` (see the module docs).
/// With `force`, a directory that holds something is moved aside to
/// `<dir>.before-restore-<time>` once the backup passed every check.
pub async fn restore(
    from: &Path,
    dir: &Path,
    force: bool,
    now: Timestamp,
) -> Result<RestoreSummary, BackupError> {
    inspect_target(dir, force)?;
    let name = dir
        .file_name()
        .ok_or_else(|| BackupError::TargetNotDir(dir.to_path_buf()))?
        .to_string_lossy()
        .into_owned();
    let parent = match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from("."),
    };
    // Parents created here are removed again if the restore fails.
    let mut created = Vec::new();
    let mut p = parent.as_path();
    while !p.exists() {
        created.push(p.to_path_buf());
        match p.parent() {
            Some(up) if !up.as_os_str().is_empty() => p = up,
            _ => break,
        }
    }
    let undo = |staging: &Path| {
        let _ = std::fs::remove_dir_all(staging);
        for d in &created {
            let _ = std::fs::remove_dir(d);
        }
    };
    std::fs::create_dir_all(&parent).map_err(BackupError::io(&parent))?;
    let random: [u8; 4] = store::random()?;
    let staging = parent.join(format!(".{name}.restoring-{}", hex::encode(random)));
    if let Err(e) = crate::private::create_dir(&staging) {
        undo(&staging);
        return Err(BackupError::io(&staging)(e));
    }
    let result = stage(from, &staging).await;
    let (unpacked, status, documents) = match result {
        Ok(v) => v,
        Err(e) => {
            undo(&staging);
            return Err(e);
        }
    };
    // Everything checked: put it in place.
    let placed = (|| {
        let moved_aside = match inspect_target(dir, force)? {
            Target::Free => {
                // An empty directory is replaced by the staged one.
                if dir.exists() {
                    std::fs::remove_dir(dir).map_err(BackupError::io(dir))?;
                }
                None
            }
            Target::Occupied => {
                let _lock = lock_target(dir)?;
                let stamp = default_name(now);
                let stamp = stamp
                    .trim_start_matches("linli-")
                    .trim_end_matches(&format!(".{EXTENSION}"));
                let aside = parent.join(format!("{name}.before-restore-{stamp}"));
                if aside.exists() {
                    return Err(BackupError::Exists(aside));
                }
                std::fs::rename(dir, &aside).map_err(BackupError::io(dir))?;
                Some(aside)
            }
        };
        std::fs::rename(&staging, dir).map_err(BackupError::io(dir))?;
        keyfile::sync_dir(&parent)?;
        Ok(moved_aside)
    })();
    let moved_aside = match placed {
        Ok(m) => m,
        Err(e) => {
            undo(&staging);
            return Err(e);
        }
    };
    Ok(RestoreSummary {
        dir: dir.to_path_buf(),
        moved_aside,
        node: unpacked.node,
        org: status.org.to_string(),
        changes: status.log,
        documents,
        taken_at: unpacked.taken_at,
        incarnation: hex::encode(status.incarnation),
    })
}

/// Takes the lock of a data directory about to be moved aside (refused while a node runs).
fn lock_target(dir: &Path) -> Result<Option<File>, BackupError> {
    let path = dir.join(LOCK_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(BackupError::io(&path))?;
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) => Err(BackupError::TargetInUse(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(BackupError::io(&path)(e)),
    }
}

/// Unpacks and checks the backup into `staging`: the file, SQLite's integrity check and
/// schema, the configuration, and the store opened as a node.
async fn stage(
    from: &Path,
    staging: &Path,
) -> Result<(Unpacked, crate::NodeStatus, usize), BackupError> {
    let db = staging.join(DB_FILE);
    let unpacked = {
        let (file, db) = (from.to_path_buf(), db.clone());
        tokio::task::spawn_blocking(move || unpack(&file, &db))
            .await
            .map_err(|e| BackupError::io(from)(io::Error::other(e.to_string())))??
    };
    let bad = |reason: String| BackupError::BadStore {
        path: from.to_path_buf(),
        reason,
    };
    {
        let (db, node) = (db.clone(), unpacked.node);
        tokio::task::spawn_blocking(move || check_copy(&db, &node))
            .await
            .map_err(|e| bad(e.to_string()))?
            .map_err(bad)?;
    }
    keyfile::write(staging, &unpacked.secret)?;
    if !unpacked.config.is_empty() {
        let path = staging.join(CONFIG_FILE);
        crate::private::write(&path, &unpacked.config).map_err(BackupError::io(&path))?;
        Config::load(&path).map_err(|e| bad(format!("its configuration: {e}")))?;
    }
    // The store's own checks: opened as a node, its log replayed as `linli run` will. This
    // open draws the restored node's fresh incarnation.
    let node = Node::open(staging, OpenOptions::default())
        .await
        .map_err(|e| bad(format!("it does not open as a node: {e}")))?;
    let checked = async {
        node.check_integrity().await?;
        let status = node.status().await?;
        let documents = node.documents().await?.len();
        Ok::<_, NodeError>((status, documents))
    }
    .await;
    let closed = node.shutdown().await;
    let (status, documents) = checked.map_err(|e| bad(e.to_string()))?;
    closed.map_err(|e| bad(format!("closing it: {e}")))?;
    Ok((unpacked, status, documents))
}
