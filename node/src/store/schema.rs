//! The store's SQL schema and its forward migrations.
//!
//! The schema version is SQLite's `PRAGMA user_version`; `PRAGMA application_id` marks the
//! file as a linli store. [`MIGRATIONS`] is the ordered list of forward migrations: entry
//! `i` takes the schema from version `i` to `i + 1`, so the current version is its length.
//! Each migration runs in one transaction together with the new `user_version`.

use std::path::Path;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, ffi::ErrorCode};

use crate::error::StoreError;

/// `PRAGMA application_id` of a linli store: the bytes `LNLI`.
pub(crate) const APPLICATION_ID: i32 = 0x4C4E_4C49;

/// Schema version 1: the received-change log, settings, snapshots and peers.
const V1: &str = "
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

-- The received-change log: every signed change this node made or received, in arrival
-- order. The source of truth: the replica is rebuilt from it.
CREATE TABLE changes (
    pos         INTEGER PRIMARY KEY,   -- arrival order
    hash        BLOB NOT NULL,         -- automerge change hash (32 bytes)
    doc         BLOB NOT NULL,         -- document id (32 bytes)
    signer      BLOB NOT NULL,         -- signing key (32 bytes)
    bytes       BLOB NOT NULL,         -- SignedChange::encode()
    status      INTEGER NOT NULL,      -- 0 accepted, 1 pending, 2 refused
    reason      TEXT,                  -- why refused (or what a pending change waits for)
    origin      INTEGER NOT NULL,      -- 0 made here, 1 received from a peer, 2 imported
    received_at INTEGER NOT NULL,      -- wall clock of this node, ms since the epoch (UTC)
    UNIQUE (doc, hash)
) STRICT;
CREATE INDEX changes_by_hash ON changes (hash);
CREATE INDEX changes_not_accepted ON changes (status) WHERE status != 0;

-- Refused changes with their reasons (a view over the log: one truth).
CREATE VIEW rejected AS
    SELECT pos, hash, doc, signer, reason, received_at FROM changes WHERE status = 2;

-- Saved documents (Document::save) with the log position they include.
CREATE TABLE snapshots (
    doc      BLOB PRIMARY KEY,
    pos      INTEGER NOT NULL,   -- last log position applied when the snapshot was taken
    changes  INTEGER NOT NULL,   -- accepted changes of the document in the snapshot
    heads    BLOB NOT NULL,      -- concatenated 32-byte change hashes
    bytes    BLOB NOT NULL,
    taken_at INTEGER NOT NULL
) STRICT;

-- Peers and their (opaque, sync-layer defined) sync state.
CREATE TABLE peers (
    node       BLOB PRIMARY KEY,
    sync_state BLOB NOT NULL,
    last_seen  INTEGER NOT NULL
) STRICT;
";

/// Schema version 2: personal records (linli_core::personal), kept beside the documents and
/// only on nodes of their audience. `PRAGMA secure_delete` (set on every connection) zeroes
/// what an erasure or a newer version replaces.
const V2: &str = "
CREATE TABLE personal (
    doc    BLOB NOT NULL,      -- document id (32 bytes)
    record TEXT NOT NULL,      -- map/key of the record the data belongs to
    bytes  BLOB NOT NULL,      -- PersonalRecord::encode()
    erased INTEGER NOT NULL,   -- 1 once erased (bytes hold no data then)
    PRIMARY KEY (doc, record)
) STRICT;
";

/// Schema version 3: the audit of refused local operations (what was tried, when, why;
/// never the operation's values, which may hold personal data).
const V3: &str = "
CREATE TABLE audit (
    pos   INTEGER PRIMARY KEY,
    at    INTEGER NOT NULL,      -- this node's clock, ms since the epoch (UTC)
    doc   BLOB NOT NULL,         -- document id (32 bytes)
    op    TEXT NOT NULL,         -- the operation, kind.name
    class TEXT NOT NULL,         -- the refusal's class (linli_core::class::ErrorClass)
    error TEXT NOT NULL          -- linli-core's message
) STRICT;
";

/// Schema version 4: the secrets of the per-resource calendar feeds (`/calendar/<secret>.ics`).
/// Local to this node, never replicated; rotating a feed replaces its secret.
const V4: &str = "
CREATE TABLE calendar_feeds (
    doc        BLOB PRIMARY KEY,      -- the resource document (32 bytes)
    secret     BLOB NOT NULL UNIQUE,  -- 16 random bytes, the feed's URL
    created_at INTEGER NOT NULL       -- this node's clock, ms since the epoch (UTC)
) STRICT;
";

/// Schema version 5: join codes this node issued (`linli invite`): the BLAKE3 hash of each
/// code's one-time secret (never the secret), what it invites, its expiry, and who used it.
/// Local to this node, never replicated.
const V5: &str = "
CREATE TABLE invites (
    hash       BLOB PRIMARY KEY,      -- BLAKE3 of the code's 16-byte secret (32 bytes)
    role       TEXT NOT NULL,         -- street, community, unit or partner
    org        TEXT NOT NULL,         -- the organisation invited
    parent     TEXT,                  -- its parent organisation
    name       TEXT,                  -- name shown to people (default: ORG office)
    created_at INTEGER NOT NULL,      -- this node's clock, ms since the epoch (UTC)
    expires_at INTEGER NOT NULL,      -- the code is refused from then on
    used_by    BLOB,                  -- the key certified with it (32 bytes), once used
    used_at    INTEGER
) STRICT;
";

/// Schema version 6: snapshots fold the log. `sigs` holds the signatures (64 bytes each, in
/// ascending order of change hash) of every change the snapshot holds, whose log rows were
/// then deleted: the saved document gives their change bytes back (see `store::fold`). NULL
/// for a snapshot that folds nothing (the log still holds its changes). Every lookup of the
/// log names the document, so the index by hash alone goes (UNIQUE (doc, hash) serves them).
const V6: &str = "
ALTER TABLE snapshots ADD COLUMN sigs BLOB;
DROP INDEX IF EXISTS changes_by_hash;
";

/// Schema version 7: documents restored from a peer's snapshot (fast join) and not yet
/// verified, with the peer that sent them. Their snapshot row folds their changes like any
/// other; a row here keeps them provisional across restarts (never served, verified again
/// on open).
const V7: &str = "
CREATE TABLE provisional (
    doc         BLOB PRIMARY KEY,     -- the document (32 bytes)
    source      BLOB NOT NULL,        -- the peer whose snapshot it came from (32 bytes)
    received_at INTEGER NOT NULL      -- this node's clock, ms since the epoch (UTC)
) STRICT;
";

/// Schema version 8: a snapshot keeps only the signatures a store needs (covered changes,
/// `linli_core::signed::signatures_to_keep`), so `snapshots.sigs` is packed: a bitmap of the
/// changes (in ascending order of hash) whose signature is there, then those signatures
/// (`signed::pack_signatures`). The dense columns of schemas 6 and 7 are packed by
/// [`migrate`] (every signature kept; the next snapshot of a document drops the covered ones).
const V8: &str = "
-- snapshots.sigs is packed (see schema.rs, V8); the rows are converted by migrate().
SELECT 1;
";

/// Forward migrations, oldest first.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8];

/// The schema version this build writes.
pub(crate) fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// What a read-only look at a database file found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    /// An empty database (e.g. a file of zero bytes): nothing was ever written.
    Empty,
    /// A linli store at this schema version (≤ the current one).
    Linli(i64),
}

/// A SQLite error on the store at `path`; a store that cannot be written names the path.
pub(crate) fn named(path: &Path, e: rusqlite::Error) -> StoreError {
    match StoreError::from(e) {
        StoreError::ReadOnly(why) => StoreError::ReadOnly(format!("{}: {why}", path.display())),
        other => other,
    }
}

fn not_linli(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::NotALinliStore {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn foreign(path: &Path, app: i32) -> StoreError {
    not_linli(
        path,
        format!(
            "it is an SQLite database of another application (application_id {app:#x}, a \
             linli store has {APPLICATION_ID:#x})"
        ),
    )
}

/// Looks at `path` without changing it: is it empty, a linli store this build can open,
/// or something else (typed error)?
///
/// The 100-byte SQLite header is read first, so a file that is not SQLite, or another
/// application's database, is never opened by SQLite. SQLite itself is asked only when the
/// header carries the linli application id, or when a WAL file beside it may hold newer
/// pages (a linli store killed right after `init` has its header only in the WAL).
pub(crate) fn probe(path: &Path) -> Result<Probe, StoreError> {
    let mut header = [0u8; 100];
    let len = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
        let mut n = 0;
        loop {
            match f.read(&mut header[n..]) {
                Ok(0) => break,
                Ok(k) => {
                    n += k;
                    if n == header.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(StoreError::io(path, e)),
            }
        }
        n
    };
    if len == 0 {
        return Ok(Probe::Empty);
    }
    if len < header.len() || &header[..16] != b"SQLite format 3\0" {
        return Err(not_linli(path, "the file is not an SQLite database"));
    }
    let be32 = |at: usize| {
        i32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let (app, schema_cookie) = (be32(68), be32(40));
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_pages = std::fs::metadata(std::path::PathBuf::from(wal)).is_ok_and(|m| m.len() > 0);
    if app != APPLICATION_ID && !wal_pages {
        if app == 0 && schema_cookie == 0 {
            // A database created but never given a table (e.g. `init` stopped early).
            return Ok(Probe::Empty);
        }
        return Err(foreign(path, app));
    }
    // Read-write without create: only reads are issued; a read-only connection could fail
    // to read a WAL store that needs recovery after a crash.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| named(path, e))?;
    if app != APPLICATION_ID {
        // Closing the last connection to a WAL database checkpoints it by default: a write
        // to the main file of a database that may not be ours.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    }
    let read = |conn: &Connection| -> rusqlite::Result<(i32, i64, i64)> {
        let app: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let objects: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        Ok((app, version, objects))
    };
    let (app, version, objects) = match read(&conn) {
        Ok(v) => v,
        Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == ErrorCode::NotADatabase => {
            return Err(not_linli(path, "the file is not an SQLite database"));
        }
        Err(e) => return Err(named(path, e)),
    };
    if app == 0 && version == 0 && objects == 0 {
        return Ok(Probe::Empty);
    }
    if app != APPLICATION_ID {
        return Err(foreign(path, app));
    }
    if version > current_version() {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: current_version(),
        });
    }
    if version <= 0 {
        return Err(StoreError::Corrupt(format!(
            "{} has the linli application id but schema version {version}",
            path.display()
        )));
    }
    Ok(Probe::Linli(version))
}

/// Brings the schema from version `from` up to the current version inside `tx` (the caller
/// commits, so a crash leaves either the old or the new schema).
pub(crate) fn migrate(tx: &rusqlite::Transaction<'_>, from: i64) -> Result<(), StoreError> {
    for sql in MIGRATIONS.iter().skip(usize::try_from(from).unwrap_or(0)) {
        tx.execute_batch(sql)?;
    }
    if (6..8).contains(&from) {
        pack_dense_signatures(tx)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", current_version())?;
    Ok(())
}

/// Schema 8: packs the dense `snapshots.sigs` of schemas 6 and 7 (see [`V8`]). A column that
/// is not a whole number of signatures is an error naming the document: nothing is changed.
fn pack_dense_signatures(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    let rows: Vec<(Vec<u8>, Vec<u8>)> = tx
        .prepare("SELECT doc, sigs FROM snapshots WHERE sigs IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut update = tx.prepare("UPDATE snapshots SET sigs = ?2 WHERE doc = ?1")?;
    for (doc, dense) in rows {
        let packed = super::fold::pack_dense(&dense).map_err(|e| {
            StoreError::Corrupt(format!(
                "the snapshot of document {}: {e}",
                hex::encode(doc.get(..4).unwrap_or_default())
            ))
        })?;
        update.execute(rusqlite::params![doc, packed])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_core::identity::Signature;

    #[test]
    fn dense_signatures_of_schema_7_are_packed_and_a_bad_column_is_named() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE snapshots (doc BLOB PRIMARY KEY, sigs BLOB) STRICT;")
            .unwrap();
        let dense: Vec<u8> = (0u8..3).flat_map(|i| [i; 64]).collect();
        conn.execute(
            "INSERT INTO snapshots VALUES (?1, ?2), (?3, NULL)",
            rusqlite::params![[1u8; 32].to_vec(), dense, [2u8; 32].to_vec()],
        )
        .unwrap();
        let tx = conn.transaction().unwrap();
        pack_dense_signatures(&tx).unwrap();
        tx.commit().unwrap();
        let packed: Vec<u8> = conn
            .query_row(
                "SELECT sigs FROM snapshots WHERE doc = ?1",
                [[1u8; 32].to_vec()],
                |r| r.get(0),
            )
            .unwrap();
        let want: Vec<Option<Signature>> = (0u8..3).map(|i| Some(Signature([i; 64]))).collect();
        assert_eq!(
            linli_core::signed::unpack_signatures(&packed, 3).unwrap(),
            want
        );
        // A column that is not whole signatures: an error naming the document, nothing changed.
        conn.execute("DELETE FROM snapshots WHERE doc = ?1", [[1u8; 32].to_vec()])
            .unwrap();
        conn.execute(
            "UPDATE snapshots SET sigs = x'0102' WHERE doc = ?1",
            [[2u8; 32].to_vec()],
        )
        .unwrap();
        let tx = conn.transaction().unwrap();
        let e = pack_dense_signatures(&tx).unwrap_err().to_string();
        assert!(
            e.contains("02020202") && e.contains("multiple of 64"),
            "{e}"
        );
    }
}
