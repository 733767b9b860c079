//! The node's store: one SQLite database (`linli.db`, WAL mode) plus the key file
//! (`node.key`) and a lock file (`node.lock`) in the data directory.
//!
//! The data directory is 0700 and its files 0600 (see [`crate::private`]): `init` creates
//! the database file 0600 before SQLite opens it (SQLite gives `-wal` and `-shm` the
//! database file's mode); `open` tightens a directory with looser modes first.
//!
//! The **received-change log** (table `changes`) is the source of truth: every signed change
//! the node made or received, in arrival order, with its hash, document, signer, encoded
//! bytes, status (`accepted | pending | refused`) and, for refused changes, the reason. On
//! open the replica is rebuilt by applying the log in order; since acceptance in linli-core is
//! a pure function of the set of changes, the same state comes back. Besides the log: local
//! settings (identity), document snapshots, peers with their sync state. The schema and its
//! migrations are in [`schema`]. Since schema 6 a snapshot folds the log: the accepted
//! changes it holds keep only their signatures beside it and leave the log (see [`fold`]),
//! so the log and the folded snapshots together are the source of truth.
//!
//! Only the node actor holds a [`Store`]; every command is one write transaction.

pub(crate) mod fold;
pub(crate) mod keyfile;
pub(crate) mod schema;
mod tx;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use automerge::ChangeHash;
use linli_core::identity::Keypair;
use linli_core::{DocId, NodeId, OrgId, SignedChange, Timestamp};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::error::StoreError;
use crate::node::SnapshotInfo;
use schema::Probe;
pub(crate) use tx::{NewRow, Tx};

/// File name of the database in the data directory.
pub(crate) const DB_FILE: &str = "linli.db";
/// File name of the lock file in the data directory.
pub(crate) const LOCK_FILE: &str = "node.lock";

/// How hard a commit tries to reach the disk before a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous = FULL`: every commit is fsynced before it is acknowledged, so an
    /// acknowledged write survives `kill -9` and also a power cut or OS crash. The default.
    #[default]
    Full,
    /// `synchronous = NORMAL`: an acknowledged write survives `kill -9` (the WAL is in the
    /// OS's page cache), but the last commits may be lost on a power cut. For bulk imports
    /// and benchmarks.
    Normal,
}

/// Status of a change in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeStatus {
    /// Applied to its document.
    Accepted,
    /// Waits for dependencies or for a certificate of its signer.
    Pending,
    /// Refused (the reason is stored); never applied, never forwarded. A refusal caused by a
    /// revocation, or judged while a dependency stood that a rebuild later removed, is judged
    /// again by linli-core: the change may then be accepted or wait.
    Refused,
}

impl ChangeStatus {
    pub(super) fn code(self) -> i64 {
        match self {
            ChangeStatus::Accepted => 0,
            ChangeStatus::Pending => 1,
            ChangeStatus::Refused => 2,
        }
    }
    pub(super) fn from_code(c: i64) -> Option<Self> {
        match c {
            0 => Some(ChangeStatus::Accepted),
            1 => Some(ChangeStatus::Pending),
            2 => Some(ChangeStatus::Refused),
            _ => None,
        }
    }
}

/// Where a change in the log came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Made by this node.
    Local,
    /// Received from a peer (or passed in by the caller of `apply`).
    Remote,
    /// Read from an export file.
    Import,
}

impl Origin {
    pub(super) fn code(self) -> i64 {
        match self {
            Origin::Local => 0,
            Origin::Remote => 1,
            Origin::Import => 2,
        }
    }
}

/// Identity settings of a store.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) node: NodeId,
    pub(crate) org: OrgId,
    pub(crate) root: NodeId,
    /// The incarnation of this open of the store: drawn anew by every [`Store::open`] (and
    /// [`Store::init`]), so a store reopened — or restored from a copy of its data directory
    /// — never reuses an (actor, seq) pair that its changes already carry.
    pub(crate) incarnation: [u8; 8],
}

/// One row of the log, as read back.
pub(crate) struct LogRow<'a> {
    pub(crate) pos: i64,
    pub(crate) doc: DocId,
    pub(crate) hash: ChangeHash,
    pub(crate) signer: NodeId,
    pub(crate) bytes: &'a [u8],
    /// The stored status (`None` if the column holds an unknown code).
    pub(crate) status: Option<ChangeStatus>,
}

/// A folded snapshot: saved bytes and signatures (see [`fold`]).
pub(crate) type Folded = (Vec<u8>, Vec<u8>);

/// A stored snapshot (see [`Store::snapshots`]).
pub(crate) struct StoredSnapshot {
    pub(crate) doc: DocId,
    pub(crate) bytes: Vec<u8>,
    /// The signatures of the changes it folds (their log rows were deleted); `None` when it
    /// folds nothing.
    pub(crate) sigs: Option<Vec<u8>>,
}

/// A refused change, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedChange {
    /// Position in the log.
    pub pos: i64,
    /// The document it was sent for.
    pub doc: DocId,
    /// Its change hash.
    pub hash: ChangeHash,
    /// Its signer.
    pub signer: NodeId,
    /// Why it was refused.
    pub reason: String,
    /// When this node received it (this node's clock).
    pub received_at: Timestamp,
}

/// Refused local operations kept in the audit.
pub(crate) const AUDIT_KEPT: i64 = 10_000;

/// A local operation linli-core refused, as the audit keeps it (`linli audit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Position in the audit.
    pub pos: i64,
    /// When (this node's clock).
    pub at: Timestamp,
    /// The document it was for.
    pub doc: DocId,
    /// The operation, `kind.name` (its values are not kept: they may hold personal data).
    pub op: String,
    /// The refusal's class (`invalid`, `unauthorized`, `conflict` …).
    pub class: String,
    /// Why, in linli-core's words.
    pub error: String,
}

/// A peer and its sync state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// The peer's key.
    pub node: NodeId,
    /// Opaque sync state (defined by the sync layer).
    pub sync_state: Vec<u8>,
    /// When this node last heard from it (this node's clock).
    pub last_seen: Timestamp,
}

/// Counts of log rows by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LogCounts {
    pub(crate) accepted: u64,
    pub(crate) pending: u64,
    pub(crate) refused: u64,
    pub(crate) snapshots: u64,
}

/// Knobs of [`Store::open`] / [`Store::init`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreOptions {
    pub(crate) durability: Durability,
    pub(crate) max_size_bytes: Option<u64>,
}

/// The SQLite store of one node. Owned by the node actor.
pub(crate) struct Store {
    conn: Connection,
    dir: PathBuf,
    /// Held (with an exclusive lock) for the store's lifetime.
    _lock: File,
}

pub(super) fn blob32(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<[u8; 32]> {
    // Read in place (no allocation: this runs for three columns of every row on open).
    let v = row.get_ref(i)?.as_blob()?;
    v.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Blob,
            format!("expected 32 bytes, found {}", v.len()).into(),
        )
    })
}

impl Store {
    /// Opens the store in `dir`. Fails with a typed error, changing nothing, when there is no
    /// store, the database is not a linli store or was written by a newer schema.
    pub(crate) fn open(
        dir: &Path,
        opts: StoreOptions,
    ) -> Result<(Store, Settings, Keypair), StoreError> {
        let path = dir.join(DB_FILE);
        if !path.exists() {
            return Err(StoreError::NotInitialized(dir.to_path_buf()));
        }
        let version = match schema::probe(&path)? {
            Probe::Empty => return Err(StoreError::NotInitialized(dir.to_path_buf())),
            Probe::Linli(v) => v,
        };
        // A linli store: make it private before the connection opens (or SQLite creates)
        // the -wal and -shm files, which take the database file's mode.
        crate::private::tighten_dir(dir);
        let lock = lock(dir)?;
        let mut conn = connect(&path, opts)?;
        if version < schema::current_version() {
            let tx = conn.transaction()?;
            schema::migrate(&tx, version)?;
            tx.commit()?;
            if version < 6 {
                // Schema 6 folds the log into snapshots: let the file give back the pages
                // that frees (`Store::close`), which needs auto_vacuum and one VACUUM to
                // switch it on.
                conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
                conn.execute_batch("VACUUM")?;
            }
        }
        let store = Store {
            conn,
            dir: dir.to_path_buf(),
            _lock: lock,
        };
        let mut settings = store.settings()?;
        // A fresh incarnation on every open: the stored one may already be on changes that
        // left this copy of the store. Written by `save_incarnation` once the store passed
        // its integrity check.
        settings.incarnation = random()?;
        let key_path = dir.join(keyfile::KEY_FILE);
        let secret = keyfile::read(dir)?.ok_or_else(|| StoreError::Key {
            path: key_path.clone(),
            reason: "missing (the store's identity key)".into(),
        })?;
        let keypair = Keypair::from_secret(&secret);
        if keypair.node_id() != settings.node {
            return Err(StoreError::Key {
                path: key_path,
                reason: format!(
                    "holds the key of node {}, but the store belongs to node {}",
                    keypair.node_id().short(),
                    settings.node.short()
                ),
            });
        }
        Ok((store, settings, keypair))
    }

    /// Creates a store in `dir` (created if needed) for a node of `org` trusting `root`.
    /// An existing key file is kept (a node that lost its database keeps its identity); else
    /// `secret` or a fresh random key is written. The incarnation is always fresh.
    pub(crate) fn init(
        dir: &Path,
        org: &OrgId,
        root: &NodeId,
        secret: Option<[u8; 32]>,
        opts: StoreOptions,
    ) -> Result<(Store, Settings, Keypair), StoreError> {
        crate::private::create_dir(dir).map_err(|e| StoreError::io(dir, e))?;
        let path = dir.join(DB_FILE);
        if path.exists() {
            match schema::probe(&path)? {
                Probe::Empty => {}
                Probe::Linli(_) => return Err(StoreError::AlreadyInitialized(dir.to_path_buf())),
            }
        }
        // A key or configuration written before init is kept: make it private too.
        crate::private::tighten_dir(dir);
        let lock = lock(dir)?;
        let secret = match (keyfile::read(dir)?, secret) {
            (Some(existing), Some(wanted)) if existing != wanted => {
                return Err(StoreError::Key {
                    path: dir.join(keyfile::KEY_FILE),
                    reason: "a different key is already there; remove it to use another".into(),
                });
            }
            (Some(existing), _) => existing,
            (None, wanted) => {
                let secret = match wanted {
                    Some(s) => s,
                    None => random()?,
                };
                keyfile::write(dir, &secret)?;
                secret
            }
        };
        let keypair = Keypair::from_secret(&secret);
        let incarnation: [u8; 8] = random()?;
        // Created 0600 here rather than by SQLite (0644 less the umask).
        crate::private::options()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        let mut conn = connect(&path, opts)?;
        let tx = conn.transaction()?;
        schema::migrate(&tx, 0)?;
        {
            let mut put = tx.prepare("INSERT INTO settings (key, value) VALUES (?1, ?2)")?;
            put.execute(params!["node", keypair.node_id().as_bytes().as_slice()])?;
            put.execute(params!["org", org.as_str().as_bytes()])?;
            put.execute(params!["root", root.as_bytes().as_slice()])?;
            put.execute(params!["incarnation", incarnation.as_slice()])?;
        }
        tx.commit()?;
        keyfile::sync_dir(dir)?;
        let store = Store {
            conn,
            dir: dir.to_path_buf(),
            _lock: lock,
        };
        let settings = store.settings()?;
        Ok((store, settings, keypair))
    }

    /// Records the incarnation of this open (shown by `status`).
    pub(crate) fn save_incarnation(&mut self, incarnation: &[u8; 8]) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE settings SET value = ?1 WHERE key = 'incarnation'",
            params![incarnation.as_slice()],
        )?;
        if n != 1 {
            return Err(StoreError::Setting {
                key: "incarnation",
                reason: "missing".into(),
            });
        }
        Ok(())
    }

    /// The data directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn setting(&self, key: &'static str) -> Result<Vec<u8>, StoreError> {
        self.conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()?
            .ok_or(StoreError::Setting {
                key,
                reason: "missing".into(),
            })
    }

    fn settings(&self) -> Result<Settings, StoreError> {
        let fixed = |key: &'static str, v: Vec<u8>| -> Result<[u8; 32], StoreError> {
            v.try_into().map_err(|_| StoreError::Setting {
                key,
                reason: "not 32 bytes".into(),
            })
        };
        let node = NodeId(fixed("node", self.setting("node")?)?);
        let root = NodeId(fixed("root", self.setting("root")?)?);
        let org = String::from_utf8(self.setting("org")?)
            .ok()
            .and_then(|s| OrgId::new(s).ok())
            .ok_or(StoreError::Setting {
                key: "org",
                reason: "not an organisation code".into(),
            })?;
        let incarnation: [u8; 8] =
            self.setting("incarnation")?
                .try_into()
                .map_err(|_| StoreError::Setting {
                    key: "incarnation",
                    reason: "not 8 bytes".into(),
                })?;
        Ok(Settings {
            node,
            org,
            root,
            incarnation,
        })
    }

    /// Calls `f` on every change of the log, in arrival order.
    pub(crate) fn for_each_change(
        &self,
        mut f: impl FnMut(LogRow<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT pos, doc, hash, signer, bytes, status FROM changes ORDER BY pos")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let pos: i64 = r.get(0)?;
            let corrupt = |detail: String| StoreError::CorruptChange { pos, detail };
            let row = LogRow {
                pos,
                doc: DocId(blob32(r, 1).map_err(|e| corrupt(e.to_string()))?),
                hash: ChangeHash(blob32(r, 2).map_err(|e| corrupt(e.to_string()))?),
                signer: NodeId(blob32(r, 3).map_err(|e| corrupt(e.to_string()))?),
                bytes: r.get_ref(4)?.as_blob().map_err(rusqlite::Error::from)?,
                status: ChangeStatus::from_code(r.get(5)?),
            };
            f(row)?;
        }
        Ok(())
    }

    /// The accepted changes of a document with their positions, in arrival order.
    pub(crate) fn accepted_of(&self, doc: &DocId) -> Result<Vec<(i64, SignedChange)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT pos, bytes FROM changes WHERE doc = ?1 AND status = 0 ORDER BY pos",
        )?;
        let mut rows = stmt.query([doc.as_bytes().as_slice()])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let pos: i64 = r.get(0)?;
            let bytes = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            let sc = SignedChange::decode(bytes).map_err(|e| StoreError::CorruptChange {
                pos,
                detail: e.to_string(),
            })?;
            out.push((pos, sc));
        }
        Ok(out)
    }

    /// Encoded changes of the log (for export): those folded into snapshots first (document
    /// by document in the order of their snapshots, each in causal order), then the log's
    /// rows in arrival order.
    pub(crate) fn for_each_encoded(
        &self,
        mut f: impl FnMut(&[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut folded = self.conn.prepare(
            "SELECT doc, bytes, sigs FROM snapshots WHERE sigs IS NOT NULL ORDER BY pos",
        )?;
        let mut rows = folded.query([])?;
        while let Some(r) = rows.next()? {
            let doc = DocId(blob32(r, 0)?);
            let bytes = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            let sigs = r.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?;
            let changes = fold::regenerate(doc, bytes, sigs)
                .map_err(|e| StoreError::Corrupt(format!("document {}: {e}", doc.short())))?;
            for (_, sc) in changes {
                f(&sc.encode())?;
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT bytes FROM changes ORDER BY pos")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let bytes = r.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
            f(bytes)?;
        }
        Ok(())
    }

    /// Refused changes with their reasons, in arrival order.
    pub(crate) fn rejected(&self) -> Result<Vec<RejectedChange>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT pos, doc, hash, signer, reason, received_at FROM rejected ORDER BY pos",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(RejectedChange {
                pos: r.get(0)?,
                doc: DocId(blob32(r, 1)?),
                hash: ChangeHash(blob32(r, 2)?),
                signer: NodeId(blob32(r, 3)?),
                reason: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                received_at: Timestamp(r.get(5)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The most recent `limit` refused local operations, oldest first.
    pub(crate) fn audit(&self, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT pos, at, doc, op, class, error FROM \
             (SELECT * FROM audit ORDER BY pos DESC LIMIT ?1) ORDER BY pos",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(AuditRow {
                pos: r.get(0)?,
                at: Timestamp(r.get(1)?),
                doc: DocId(blob32(r, 2)?),
                op: r.get(3)?,
                class: r.get(4)?,
                error: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a refused local operation, keeping the newest [`AUDIT_KEPT`] rows.
    pub(crate) fn record_refusal(&mut self, row: &AuditRow) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.prepare_cached(
            "INSERT INTO audit (at, doc, op, class, error) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            row.at.0,
            row.doc.as_bytes().as_slice(),
            row.op,
            row.class,
            row.error
        ])?;
        tx.prepare_cached("DELETE FROM audit WHERE pos <= (SELECT MAX(pos) FROM audit) - ?1")?
            .execute([AUDIT_KEPT])?;
        tx.commit()?;
        Ok(())
    }

    /// Number of log rows by status, and of snapshots.
    pub(crate) fn counts(&self) -> Result<LogCounts, StoreError> {
        let mut c = LogCounts::default();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status, count(*) FROM changes GROUP BY status")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let n = u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0);
            match ChangeStatus::from_code(r.get(0)?) {
                Some(ChangeStatus::Accepted) => c.accepted = n,
                Some(ChangeStatus::Pending) => c.pending = n,
                Some(ChangeStatus::Refused) => c.refused = n,
                None => {}
            }
        }
        let (snapshots, folded) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(CASE WHEN sigs IS NULL THEN 0 ELSE changes END), 0)
             FROM snapshots",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )?;
        c.snapshots = u64::try_from(snapshots).unwrap_or(0);
        // The changes folded into snapshots are accepted.
        c.accepted += u64::try_from(folded).unwrap_or(0);
        Ok(c)
    }

    /// Per document: accepted changes at its last snapshot (0 if none).
    pub(crate) fn snapshot_marks(&self) -> Result<HashMap<DocId, u64>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT doc, changes FROM snapshots")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                DocId(blob32(r, 0)?),
                u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every stored snapshot: document, saved bytes and the signatures it folds (see
    /// [`fold`]). A row whose columns do not have the right types is skipped (the document is
    /// then replayed from the log), unless it folds changes: the log no longer holds those,
    /// so that is a damaged store.
    pub(crate) fn snapshots(&self) -> Result<Vec<StoredSnapshot>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT doc, bytes, sigs FROM snapshots")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                blob32(r, 0),
                r.get::<_, Vec<u8>>(1).ok(),
                r.get::<_, Option<Vec<u8>>>(2),
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (doc, bytes, sigs) = row?;
            let folds = !matches!(sigs, Ok(None));
            match (doc, bytes, sigs) {
                (Ok(doc), Some(bytes), Ok(sigs)) => out.push(StoredSnapshot {
                    doc: DocId(doc),
                    bytes,
                    sigs,
                }),
                (doc, _, _) if folds => {
                    let doc = doc
                        .map(|d| DocId(d).short())
                        .unwrap_or_else(|e| e.to_string());
                    return Err(StoreError::Corrupt(format!(
                        "the snapshot of {doc}, which holds changes the log does not, is damaged"
                    )));
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Documents awaiting verification (fast join), with the peer each came from.
    pub(crate) fn provisional(&self) -> Result<Vec<(DocId, NodeId)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT doc, source FROM provisional ORDER BY doc")?;
        let rows = stmt.query_map([], |r| Ok((blob32(r, 0)?, blob32(r, 1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (doc, source) = row?;
            out.push((DocId(doc), NodeId(source)));
        }
        Ok(out)
    }

    /// The folded snapshot of a document: saved bytes and signatures (`None` if it has none
    /// that folds its changes).
    pub(crate) fn folded(&self, doc: &DocId) -> Result<Option<Folded>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT bytes, sigs FROM snapshots WHERE doc = ?1 AND sigs IS NOT NULL",
                [doc.as_bytes().as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The stored snapshot of a document.
    pub(crate) fn snapshot(&self, doc: &DocId) -> Result<Option<SnapshotInfo>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT pos, changes, heads, bytes FROM snapshots WHERE doc = ?1",
                [doc.as_bytes().as_slice()],
                |r| {
                    let heads: Vec<u8> = r.get(2)?;
                    let heads = heads
                        .chunks_exact(32)
                        .filter_map(|c| <[u8; 32]>::try_from(c).ok().map(ChangeHash))
                        .collect();
                    Ok(SnapshotInfo {
                        doc: *doc,
                        pos: r.get(0)?,
                        changes: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        heads,
                        bytes: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// All peers.
    pub(crate) fn peers(&self) -> Result<Vec<PeerRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT node, sync_state, last_seen FROM peers ORDER BY node")?;
        let rows = stmt.query_map([], |r| {
            Ok(PeerRecord {
                node: NodeId(blob32(r, 0)?),
                sync_state: r.get(1)?,
                last_seen: Timestamp(r.get(2)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `PRAGMA integrity_check` (`full`) or `quick_check` (no index/table cross-check,
    /// much faster): `Ok` or the problems SQLite found.
    pub(crate) fn integrity_check(&self, full: bool) -> Result<(), StoreError> {
        integrity_check(&self.conn, full)
    }

    /// `PRAGMA quick_check` on a connection of its own, so it can run on another thread
    /// while this store is used (WAL readers do not block the writer); the result is that of
    /// [`Store::integrity_check`].
    pub(crate) fn quick_check_elsewhere(
        &self,
    ) -> impl FnOnce() -> Result<(), StoreError> + Send + 'static {
        let path = self.dir.join(DB_FILE);
        move || {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(&path, flags)?;
            integrity_check(&conn, false)
        }
    }

    /// A reader of accepted changes by hash on a read-only connection of its own, for the
    /// replica's change log (see [`linli_core::ChangeSource`]).
    pub(crate) fn change_source(&self) -> Result<StoreSource, StoreError> {
        let path = self.dir.join(DB_FILE);
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(&path, flags).map_err(|e| schema::named(&path, e))?;
        Ok(StoreSource {
            conn: std::sync::Mutex::new(conn),
            path,
        })
    }

    /// Starts the write transaction of one command.
    /// Every personal record stored (those that no longer decode are skipped: they were
    /// checked when stored, so only a damaged file holds such).
    pub(crate) fn personal_records(
        &self,
    ) -> Result<Vec<linli_core::personal::PersonalRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT bytes FROM personal")?;
        let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for bytes in rows {
            match linli_core::personal::PersonalRecord::decode(&bytes?) {
                Ok(rec) => out.push(rec),
                Err(e) => tracing::warn!("skipping a stored personal record: {e}"),
            }
        }
        Ok(out)
    }

    /// The secret of the calendar feed of resource `doc`: the stored one, or a fresh one
    /// (16 random bytes) stored first when there is none or `rotate` is set — the old secret
    /// then no longer names a feed.
    pub(crate) fn calendar_feed(
        &mut self,
        doc: &DocId,
        rotate: bool,
        now: Timestamp,
    ) -> Result<[u8; 16], StoreError> {
        if !rotate {
            let stored: Option<Vec<u8>> = self
                .conn
                .query_row(
                    "SELECT secret FROM calendar_feeds WHERE doc = ?1",
                    [doc.as_bytes().as_slice()],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(secret) = stored.and_then(|s| <[u8; 16]>::try_from(s).ok()) {
                return Ok(secret);
            }
        }
        let secret: [u8; 16] = random()?;
        self.conn.execute(
            "INSERT INTO calendar_feeds (doc, secret, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (doc) DO UPDATE SET secret = excluded.secret, \
             created_at = excluded.created_at",
            params![doc.as_bytes().as_slice(), secret.as_slice(), now.0],
        )?;
        Ok(secret)
    }

    /// The resource whose calendar feed has `secret`, if any.
    pub(crate) fn calendar_doc(&self, secret: &[u8; 16]) -> Result<Option<DocId>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT doc FROM calendar_feeds WHERE secret = ?1",
                [secret.as_slice()],
                |r| blob32(r, 0),
            )
            .optional()?
            .map(DocId))
    }

    /// Stores a join code made by this node (its secret's hash, never the secret).
    pub(crate) fn invite_add(&mut self, inv: &crate::invite::Invite) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO invites (hash, role, org, parent, name, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                inv.hash.as_slice(),
                inv.role.to_string(),
                inv.org.as_str(),
                inv.parent.as_ref().map(|p| p.as_str().to_string()),
                inv.name,
                inv.created.0,
                inv.expires.0
            ],
        )?;
        Ok(())
    }

    /// Looks up the code whose secret hashes to `hash` (compared in constant time with
    /// every stored hash) and, when it is unused and unexpired, marks it used by `subject`
    /// in the same call — so two requests with one code never both get it.
    pub(crate) fn invite_claim(
        &mut self,
        hash: &[u8; 32],
        subject: &NodeId,
        now: Timestamp,
    ) -> Result<crate::invite::Claim, StoreError> {
        use crate::invite::{Claim, Invite, ct_eq};
        type Row = (
            [u8; 32],
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
            i64,
            Option<Vec<u8>>,
            Option<i64>,
        );
        let rows: Vec<Row> = {
            let mut st = self.conn.prepare(
                "SELECT hash, role, org, parent, name, created_at, expires_at, used_by, used_at \
                 FROM invites",
            )?;
            st.query_map([], |r| {
                Ok((
                    blob32(r, 0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })?
            .collect::<Result<_, _>>()?
        };
        // Every row is compared, so the time taken does not tell which row matched.
        let mut found = None;
        for row in rows {
            if ct_eq(&row.0, hash) {
                found = Some(row);
            }
        }
        let Some((h, role, org, parent, name, created, expires, used_by, used_at)) = found else {
            return Ok(Claim::Unknown);
        };
        let bad = |what: &str, v: &str| StoreError::Corrupt(format!("invite {what} {v:?}"));
        let inv = Invite {
            hash: h,
            role: serde_json::from_value(serde_json::Value::String(role.clone()))
                .map_err(|_| bad("role", &role))?,
            org: OrgId::new(org.clone()).map_err(|_| bad("organisation", &org))?,
            parent: match parent {
                Some(p) => Some(OrgId::new(p.clone()).map_err(|_| bad("parent", &p))?),
                None => None,
            },
            name,
            created: Timestamp(created),
            expires: Timestamp(expires),
        };
        if let Some(by) = used_by {
            if by.as_slice() == subject.0.as_slice() {
                return Ok(Claim::Again(inv));
            }
            return Ok(Claim::Used {
                at: Timestamp(used_at.unwrap_or(0)),
            });
        }
        if now >= inv.expires {
            return Ok(Claim::Expired { at: inv.expires });
        }
        let n = self.conn.execute(
            "UPDATE invites SET used_by = ?2, used_at = ?3 WHERE hash = ?1 AND used_by IS NULL",
            params![h.as_slice(), subject.0.as_slice(), now.0],
        )?;
        if n != 1 {
            return Ok(Claim::Used { at: now });
        }
        Ok(Claim::Granted(inv))
    }

    /// Makes a claimed code unused again (its certificate could not be issued).
    pub(crate) fn invite_release(&mut self, hash: &[u8; 32]) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE invites SET used_by = NULL, used_at = NULL WHERE hash = ?1",
            [hash.as_slice()],
        )?;
        Ok(())
    }

    /// Moves everything in the WAL into the database and truncates the WAL, so that pages
    /// holding erased personal data (zeroed in the database by `secure_delete`) leave no
    /// older copy in the WAL file.
    pub(crate) fn purge_wal(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    pub(crate) fn tx(&mut self) -> Result<Tx<'_>, StoreError> {
        Ok(Tx {
            tx: self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?,
        })
    }

    /// `PRAGMA incremental_vacuum`, stepped until done (each step may free a page).
    fn give_back_free_pages(&self) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare("PRAGMA incremental_vacuum")?;
        let mut rows = stmt.query([])?;
        while rows.next()?.is_some() {}
        Ok(())
    }

    /// Checkpoints the WAL into the database and closes it.
    pub(crate) fn close(self) -> Result<(), StoreError> {
        // Pages freed by folding the log go back to the file system (a failure loses
        // nothing: they stay free pages); a failed checkpoint loses nothing either (the WAL
        // is replayed on the next open).
        let _ = self.give_back_free_pages();
        let _ = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        self.conn.close().map_err(|(_, e)| StoreError::from(e))
    }
}

/// Writes every change that snapshots fold back to the log of the store in `dir` (see
/// [`fold`]), so its snapshots become a cache again (benchmarks and tests of the full replay
/// delete them afterwards). Returns the number of documents unfolded.
#[doc(hidden)]
pub fn unfold_snapshots(dir: &Path) -> Result<usize, StoreError> {
    let opts = StoreOptions {
        durability: Durability::Normal,
        max_size_bytes: None,
    };
    let (mut store, settings, _) = Store::open(dir, opts)?;
    let docs: Vec<DocId> = {
        let mut stmt = store
            .conn
            .prepare("SELECT doc FROM snapshots WHERE sigs IS NOT NULL")?;
        stmt.query_map([], |r| blob32(r, 0).map(DocId))?
            .collect::<Result<_, _>>()?
    };
    let tx = store.tx()?;
    for doc in &docs {
        tx.unfold(doc, &settings.node)?;
    }
    tx.commit()?;
    store.close()?;
    Ok(docs.len())
}

/// Reads accepted signed changes back by hash (the replica keeps no bytes of changes its
/// snapshots hold).
pub(crate) struct StoreSource {
    conn: std::sync::Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for StoreSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSource")
            .field("path", &self.path)
            .finish()
    }
}

impl linli_core::ChangeSource for StoreSource {
    fn load(&self, doc: DocId, hashes: &[ChangeHash]) -> Result<Vec<SignedChange>, String> {
        let place = |e: &dyn std::fmt::Display| format!("{}: {e}", self.path.display());
        let conn = self.conn.lock().map_err(|e| place(&e))?;
        // One read transaction: a snapshot that folds rows commits both at once, so every
        // change is found in one place or the other.
        let tx = conn.unchecked_transaction().map_err(|e| place(&e))?;
        let mut stmt = tx
            .prepare_cached(
                "SELECT bytes FROM changes WHERE hash = ?1 AND doc = ?2 AND status = 0 LIMIT 1",
            )
            .map_err(|e| place(&e))?;
        let mut folded: Option<HashMap<ChangeHash, SignedChange>> = None;
        let mut out = Vec::with_capacity(hashes.len());
        for h in hashes {
            let bytes: Option<Vec<u8>> = stmt
                .query_row(params![h.0.as_slice(), doc.as_bytes().as_slice()], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(|e| place(&e))?;
            if let Some(bytes) = bytes {
                out.push(SignedChange::decode(&bytes).map_err(|e| place(&e))?);
                continue;
            }
            if folded.is_none() {
                let snapshot: Option<(Vec<u8>, Vec<u8>)> = tx
                    .query_row(
                        "SELECT bytes, sigs FROM snapshots WHERE doc = ?1 AND sigs IS NOT NULL",
                        [doc.as_bytes().as_slice()],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(|e| place(&e))?;
                let map = match snapshot {
                    Some((bytes, sigs)) => fold::regenerate(doc, &bytes, &sigs)
                        .map_err(|e| place(&format!("document {}: {e}", doc.short())))?
                        .into_iter()
                        .collect(),
                    None => HashMap::new(),
                };
                folded = Some(map);
            }
            let sc = folded
                .as_ref()
                .and_then(|m| m.get(h).cloned())
                .ok_or_else(|| {
                    place(&format!(
                        "accepted change {} of {} is missing",
                        h,
                        doc.short()
                    ))
                })?;
            out.push(sc);
        }
        Ok(out)
    }

    fn document(&self, doc: DocId) -> Result<linli_core::replica::StoredDocument, String> {
        let place = |e: &dyn std::fmt::Display| format!("{}: {e}", self.path.display());
        let conn = self.conn.lock().map_err(|e| place(&e))?;
        // One read transaction: the snapshot and the log rows beside it as one commit left
        // them.
        let tx = conn.unchecked_transaction().map_err(|e| place(&e))?;
        let snapshot: Option<(Vec<u8>, bool)> = tx
            .query_row(
                "SELECT bytes, sigs IS NOT NULL FROM snapshots WHERE doc = ?1",
                [doc.as_bytes().as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| place(&e))?;
        let mut stmt = tx
            .prepare_cached(
                "SELECT pos, hash, bytes FROM changes WHERE doc = ?1 AND status = 0 ORDER BY pos",
            )
            .map_err(|e| place(&e))?;
        let mut rows = stmt
            .query([doc.as_bytes().as_slice()])
            .map_err(|e| place(&e))?;
        let mut accepted = Vec::new();
        while let Some(r) = rows.next().map_err(|e| place(&e))? {
            let pos: i64 = r.get(0).map_err(|e| place(&e))?;
            let hash = ChangeHash(blob32(r, 1).map_err(|e| place(&format!("row {pos}: {e}")))?);
            let bytes = r
                .get_ref(2)
                .and_then(|v| v.as_blob().map_err(rusqlite::Error::from))
                .map_err(|e| place(&e))?;
            let sc = SignedChange::decode(bytes).map_err(|e| place(&format!("row {pos}: {e}")))?;
            accepted.push((hash, sc));
        }
        let (snapshot, folded) = match snapshot {
            Some((bytes, folded)) => (Some(bytes), folded),
            None => (None, false),
        };
        Ok(linli_core::replica::StoredDocument {
            snapshot,
            folded,
            accepted,
        })
    }
}

/// `PRAGMA integrity_check` (`full`) or `quick_check` on `conn`: `Ok` or the problems.
pub(crate) fn integrity_check(conn: &Connection, full: bool) -> Result<(), StoreError> {
    let mut problems = Vec::new();
    let pragma = if full {
        "integrity_check"
    } else {
        "quick_check"
    };
    conn.pragma_query(None, pragma, |r| {
        let line: String = r.get(0)?;
        if line != "ok" {
            problems.push(line);
        }
        Ok(())
    })?;
    if problems.is_empty() {
        Ok(())
    } else {
        problems.truncate(20);
        Err(StoreError::Integrity(problems.join("; ")))
    }
}

/// Takes the exclusive lock of the data directory (released when the file is closed, also
/// when the process dies).
fn lock(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_FILE);
    let f = crate::private::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    // A process that forks while another thread holds this lock's file keeps a copy of the
    // descriptor until it execs (close-on-exec), holding the lock for a moment after we
    // released it. Retry briefly before reporting another node.
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(1000);
    loop {
        match f.try_lock() {
            Ok(()) => return Ok(f),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked(dir.to_path_buf()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(StoreError::io(&path, e)),
        }
    }
}

/// Opens the database read-write (creating it if needed) with the store's pragmas.
fn connect(path: &Path, opts: StoreOptions) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| schema::named(path, e))?;
    // Takes effect only in a database not yet written (`init`), before the WAL switch below
    // writes its header: pages freed by folding the log into snapshots are then given back
    // to the file system (`Store::close`). An existing store keeps its mode (schema 6's
    // migration switches it with one VACUUM).
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| schema::named(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::ReadOnly(format!(
            "{} could not be switched to WAL mode (journal mode is {mode})",
            path.display()
        )));
    }
    let sync = match opts.durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "foreign_keys", false)?;
    // Deleted and overwritten content is zeroed, so an erased personal record leaves no
    // copy in free pages (the WAL is truncated after an erasure: `Store::purge_wal`).
    conn.pragma_update(None, "secure_delete", true)?;
    if let Some(bytes) = opts.max_size_bytes {
        let page: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        let pages = i64::try_from(bytes).unwrap_or(i64::MAX) / page.max(512);
        conn.pragma_update(None, "max_page_count", pages.max(1))?;
    }
    Ok(conn)
}

/// Fresh bytes from the operating system's random source.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| StoreError::Io {
        path: PathBuf::from("<os random source>"),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(b)
}
