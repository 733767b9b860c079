//! The write transaction of one command: appending to the change log, status updates,
//! snapshots, peers.

use std::collections::HashMap;

use automerge::ChangeHash;
use linli_core::identity::Signature;
use linli_core::{DocId, NodeId, SignedChange, Timestamp};
use rusqlite::{OptionalExtension, params};

use super::{ChangeStatus, Origin, blob32, fold};
use crate::error::StoreError;

/// The write transaction of one command.
pub(crate) struct Tx<'a> {
    pub(super) tx: rusqlite::Transaction<'a>,
}

/// A change to append to the log.
pub(crate) struct NewRow<'a> {
    pub(crate) change: &'a SignedChange,
    pub(crate) hash: ChangeHash,
    pub(crate) status: ChangeStatus,
    pub(crate) reason: Option<&'a str>,
    pub(crate) origin: Origin,
    pub(crate) received_at: Timestamp,
}

impl Tx<'_> {
    /// Appends a change to the log; `None` if the log already holds it (same document and
    /// hash), else its position.
    pub(crate) fn append(&self, row: &NewRow<'_>) -> Result<Option<i64>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO changes
                 (hash, doc, signer, bytes, status, reason, origin, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let n = stmt.execute(params![
            row.hash.0.as_slice(),
            row.change.doc.as_bytes().as_slice(),
            row.change.signer.as_bytes().as_slice(),
            row.change.encode(),
            row.status.code(),
            row.reason,
            row.origin.code(),
            row.received_at.0,
        ])?;
        Ok((n == 1).then(|| self.tx.last_insert_rowid()))
    }

    /// Sets the status of the rows with `hash` (of `doc` if given) that are not refused;
    /// returns the documents of rows that were accepted before.
    pub(crate) fn set_status(
        &self,
        doc: Option<&DocId>,
        hash: &ChangeHash,
        status: ChangeStatus,
        reason: Option<&str>,
    ) -> Result<Vec<DocId>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT pos, doc, status FROM changes
             WHERE hash = ?1 AND status != 2 AND (?2 IS NULL OR doc = ?2)",
        )?;
        let rows: Vec<(i64, DocId, i64)> = stmt
            .query_map(
                params![hash.0.as_slice(), doc.map(|d| d.as_bytes().to_vec())],
                |r| Ok((r.get(0)?, DocId(blob32(r, 1)?), r.get(2)?)),
            )?
            .collect::<Result<_, _>>()?;
        let mut update = self
            .tx
            .prepare_cached("UPDATE changes SET status = ?2, reason = ?3 WHERE pos = ?1")?;
        let mut was_accepted = Vec::new();
        for (pos, d, old) in rows {
            update.execute(params![pos, status.code(), reason])?;
            if old == ChangeStatus::Accepted.code() {
                was_accepted.push(d);
            }
        }
        Ok(was_accepted)
    }

    /// Sets the status of the row of `hash` in `doc`, whatever it was; returns the status it
    /// had, or `None` when the log does not hold it.
    pub(crate) fn put_status(
        &self,
        doc: &DocId,
        hash: &ChangeHash,
        status: ChangeStatus,
        reason: Option<&str>,
    ) -> Result<Option<ChangeStatus>, StoreError> {
        let before: Option<i64> = self
            .tx
            .prepare_cached("SELECT status FROM changes WHERE doc = ?1 AND hash = ?2")?
            .query_row(params![doc.as_bytes().as_slice(), hash.0.as_slice()], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(before) = before else {
            return Ok(None);
        };
        self.tx
            .prepare_cached(
                "UPDATE changes SET status = ?3, reason = ?4 WHERE doc = ?1 AND hash = ?2",
            )?
            .execute(params![
                doc.as_bytes().as_slice(),
                hash.0.as_slice(),
                status.code(),
                reason
            ])?;
        Ok(ChangeStatus::from_code(before))
    }

    /// Sets the status of one row by position.
    pub(crate) fn set_status_at(
        &self,
        pos: i64,
        status: ChangeStatus,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE changes SET status = ?2, reason = ?3 WHERE pos = ?1")?
            .execute(params![pos, status.code(), reason])?;
        Ok(())
    }

    /// The last position of the log (0 if empty).
    pub(crate) fn last_pos(&self) -> Result<i64, StoreError> {
        Ok(self
            .tx
            .query_row("SELECT coalesce(max(pos), 0) FROM changes", [], |r| {
                r.get(0)
            })?)
    }

    /// Stores (replaces) the snapshot of a document. With `history` (its accepted changes in
    /// causal order), the snapshot holds the signatures a store keeps of the changes in it and
    /// the log rows of its accepted changes are deleted (see [`fold`]); without, an earlier
    /// folded snapshot is
    /// unfolded first (its changes written back to the log), so the log holds every change.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn put_snapshot(
        &self,
        doc: &DocId,
        pos: i64,
        changes: u64,
        heads: &[ChangeHash],
        bytes: &[u8],
        now: Timestamp,
        history: Option<Vec<linli_core::signed::HistoryEntry>>,
        verified: bool,
        me: &NodeId,
    ) -> Result<(), StoreError> {
        let mut sigs = None;
        if let Some(history) = history {
            let rows = self.accepted_signatures(doc)?;
            let old = self.folded_sigs(doc)?.unwrap_or_default();
            match fold::signatures(history, &rows, &old, verified) {
                Ok(all) => {
                    let mut delete = self
                        .tx
                        .prepare_cached("DELETE FROM changes WHERE doc = ?1 AND hash = ?2")?;
                    for hash in rows.keys() {
                        delete.execute(params![doc.as_bytes().as_slice(), hash.0.as_slice()])?;
                    }
                    sigs = Some(all);
                }
                // The log and the document disagree: keep every change in the log (an
                // unfolded snapshot is only a cache of it).
                Err(e) => tracing::warn!("not folding the log of {}: {e}", doc.short()),
            }
        }
        if sigs.is_none() {
            self.unfold(doc, me)?;
        }
        self.snapshot_row(doc, pos, changes, heads, bytes, now, sigs.as_deref())?;
        Ok(())
    }

    /// The signatures a document's snapshot folds (`None`: no snapshot, or one that folds
    /// nothing).
    fn folded_sigs(&self, doc: &DocId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT sigs FROM snapshots WHERE doc = ?1")?
            .query_row([doc.as_bytes().as_slice()], |r| {
                r.get::<_, Option<Vec<u8>>>(0)
            })
            .optional()?
            .flatten())
    }

    /// The signatures of the accepted log rows of a document, by change hash.
    fn accepted_signatures(
        &self,
        doc: &DocId,
    ) -> Result<HashMap<ChangeHash, Option<Signature>>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT pos, hash, bytes FROM changes WHERE doc = ?1 AND status = 0")?;
        let mut rows = stmt.query([doc.as_bytes().as_slice()])?;
        let mut out = HashMap::new();
        while let Some(r) = rows.next()? {
            let pos: i64 = r.get(0)?;
            let corrupt = |detail: String| StoreError::CorruptChange { pos, detail };
            let hash = ChangeHash(blob32(r, 1).map_err(|e| corrupt(e.to_string()))?);
            let bytes = r.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?;
            let sc = SignedChange::decode(bytes).map_err(|e| corrupt(e.to_string()))?;
            out.insert(hash, sc.signature);
        }
        Ok(out)
    }

    /// Writes the changes a folded snapshot of `doc` holds back to the log (accepted; made
    /// here when `me` signed them) and marks the snapshot as folding nothing, so the log holds
    /// every change of the document again. They take positions before the first row of the
    /// log (in causal order), so the log stays in causal order for a replay and no other
    /// row moves. Returns whether there was anything to unfold.
    pub(crate) fn unfold(&self, doc: &DocId, me: &NodeId) -> Result<bool, StoreError> {
        let found: Option<(Vec<u8>, Vec<u8>, i64)> = self
            .tx
            .prepare_cached(
                "SELECT bytes, sigs, taken_at FROM snapshots WHERE doc = ?1 AND sigs IS NOT NULL",
            )?
            .query_row([doc.as_bytes().as_slice()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let Some((bytes, sigs, taken_at)) = found else {
            return Ok(false);
        };
        let changes = fold::regenerate(*doc, &bytes, &sigs)
            .map_err(|e| StoreError::Corrupt(format!("document {}: {e}", doc.short())))?;
        // Before every row of the log: the folded changes came before the document's rows
        // still in the log (its tail, waiting and refused changes), whose positions stay.
        let first: i64 =
            self.tx
                .query_row("SELECT coalesce(min(pos), 1) FROM changes", [], |r| {
                    r.get(0)
                })?;
        let count = i64::try_from(changes.len()).unwrap_or(i64::MAX);
        let mut insert = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO changes
                 (pos, hash, doc, signer, bytes, status, reason, origin, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for (i, (hash, sc)) in changes.iter().enumerate() {
            let origin = if sc.signer == *me {
                Origin::Local
            } else {
                Origin::Remote
            };
            insert.execute(params![
                first.saturating_sub(count) + i64::try_from(i).unwrap_or(0),
                hash.0.as_slice(),
                doc.as_bytes().as_slice(),
                sc.signer.as_bytes().as_slice(),
                sc.encode(),
                ChangeStatus::Accepted.code(),
                None::<String>,
                origin.code(),
                taken_at,
            ])?;
        }
        self.tx
            .prepare_cached("UPDATE snapshots SET sigs = NULL WHERE doc = ?1")?
            .execute([doc.as_bytes().as_slice()])?;
        Ok(true)
    }

    /// Writes (or replaces) the snapshot row of `doc`; `sigs` folds its changes (see
    /// [`Tx::put_snapshot`]).
    #[allow(clippy::too_many_arguments)]
    fn snapshot_row(
        &self,
        doc: &DocId,
        pos: i64,
        changes: u64,
        heads: &[ChangeHash],
        bytes: &[u8],
        now: Timestamp,
        sigs: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let heads: Vec<u8> = heads.iter().flat_map(|h| h.0).collect();
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO snapshots (doc, pos, changes, heads, bytes, taken_at, sigs)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                doc.as_bytes().as_slice(),
                pos,
                i64::try_from(changes).unwrap_or(i64::MAX),
                heads,
                bytes,
                now.0,
                sigs
            ])?;
        Ok(())
    }

    /// Stores a peer's snapshot of a document this node does not hold (fast join): the
    /// snapshot row folds its changes (`sigs`, in order of change hash) and the document is
    /// marked provisional, naming `source`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn put_provisional(
        &self,
        doc: &DocId,
        changes: u64,
        heads: &[ChangeHash],
        bytes: &[u8],
        sigs: &[u8],
        source: &NodeId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let pos = self.last_pos()?;
        self.snapshot_row(doc, pos, changes, heads, bytes, now, Some(sigs))?;
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO provisional (doc, source, received_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                doc.as_bytes().as_slice(),
                source.as_bytes().as_slice(),
                now.0
            ])?;
        Ok(())
    }

    /// Ends the provisional state of a document (verified).
    pub(crate) fn drop_provisional(&self, doc: &DocId) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("DELETE FROM provisional WHERE doc = ?1")?
            .execute([doc.as_bytes().as_slice()])?;
        Ok(())
    }

    /// Rolls a provisional document back to what full verification decides: its snapshot's
    /// changes are written back to the log (like [`Tx::unfold`]) and the snapshot dropped,
    /// except those that are not authentic (`forged`: a bad signature, or a covered change
    /// nothing valid covers, never enters the log, as on the live path), so the next load
    /// replays the document through `Replica::apply` — every change authorized, every
    /// signature checked (a covered change's cover was checked by the verifier, and the log
    /// is trusted for it as for a snapshot) — together with whatever arrived for it
    /// meanwhile.
    pub(crate) fn roll_back(
        &self,
        doc: &DocId,
        forged: &[ChangeHash],
        me: &NodeId,
    ) -> Result<(), StoreError> {
        self.unfold(doc, me)?;
        let mut delete = self
            .tx
            .prepare_cached("DELETE FROM changes WHERE doc = ?1 AND hash = ?2")?;
        for hash in forged {
            delete.execute(params![doc.as_bytes().as_slice(), hash.0.as_slice()])?;
        }
        self.delete_snapshot(doc)?;
        self.drop_provisional(doc)
    }

    /// Drops the snapshot of a document (its accepted changes were rebuilt).
    pub(crate) fn delete_snapshot(&self, doc: &DocId) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("DELETE FROM snapshots WHERE doc = ?1")?
            .execute([doc.as_bytes().as_slice()])?;
        Ok(())
    }

    /// Records a peer's sync state.
    pub(crate) fn set_peer(
        &self,
        node: &NodeId,
        sync_state: &[u8],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO peers (node, sync_state, last_seen) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![node.as_bytes().as_slice(), sync_state, now.0])?;
        Ok(())
    }

    /// Stores a personal record, replacing the version held for the same record.
    pub(crate) fn put_personal(
        &self,
        rec: &linli_core::personal::PersonalRecord,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO personal (doc, record, bytes, erased) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                rec.doc.as_bytes().as_slice(),
                rec.record,
                rec.encode(),
                rec.is_erased()
            ])?;
        Ok(())
    }

    /// Commits: after this returns, the command's writes are durable (per [`Durability`]).
    pub(crate) fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit()?)
    }
}
