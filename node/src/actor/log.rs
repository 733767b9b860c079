//! Keeping the stored status of changes in line with linli-core's decisions: the status
//! tracker, [`persist`] (what one command writes: the new rows, then every decision
//! linli-core reports, [`Replica::take_decisions`]) and [`load`] (rebuilding the replica
//! from the log on open).
//!
//! linli-core can change a decision later in every direction: a waiting change is applied
//! or refused, an accepted one is refused or waits again (a revocation, a rebuild), and a
//! refusal is withdrawn — a change refused because of a revocation is judged again when the
//! revocations are resolved again, one refused while a dependency stood when a rebuild
//! removes that dependency — so a refused change may become accepted or pending. Each
//! command stores every such transition in its own transaction, as linli-core reports it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use automerge::ChangeHash;
use linli_core::document::{DocKind, Document};
use linli_core::identity::Keypair;
use linli_core::replica::{Decision, LoadedSnapshot, PreparedRestore};
use linli_core::{DocId, Error as CoreError, NodeId, Replica, SignedChange, Timestamp};

use crate::error::StoreError;
use crate::node::NodeEvent;
use crate::store::{ChangeStatus, NewRow, Origin, Settings, Store, Tx};

/// The stored status of changes, mirrored so each command only touches what changed.
#[derive(Default)]
pub(super) struct Tracker {
    /// Hashes of changes stored as pending.
    pending: HashSet<ChangeHash>,
    /// Hashes of changes stored as refused.
    pub(super) refused: HashSet<ChangeHash>,
    /// Hashes of changes stored as refused that linli-core did not record (e.g. a genesis
    /// sent for another document): refused for good.
    unrecorded: HashSet<ChangeHash>,
    /// Every document id in the log.
    docs: BTreeSet<DocId>,
    /// Accepted changes per document.
    accepted: HashMap<DocId, u64>,
    /// Accepted changes per document at its last snapshot.
    marks: HashMap<DocId, u64>,
    /// Keys flagged for equivocation (an event was sent, or they were flagged on open).
    equivocators: BTreeSet<NodeId>,
}

impl Tracker {
    /// Records a document restored from a peer's snapshot (fast join) holding `held`
    /// accepted changes, all folded into its stored snapshot.
    pub(super) fn restored(&mut self, doc: DocId, held: u64) {
        self.docs.insert(doc);
        self.accepted.insert(doc, held);
        self.marks.insert(doc, held);
    }

    /// Whether the log or a snapshot has anything of `doc`.
    pub(super) fn holds(&self, doc: DocId) -> bool {
        self.docs.contains(&doc)
    }

    /// Whether the change is in the log as waiting or refused.
    pub(super) fn stored(&self, hash: &ChangeHash) -> bool {
        self.pending.contains(hash) || self.refused.contains(hash)
    }
}

/// The status the row of `hash` in document `doc` has by linli-core's current decisions, for
/// a change that linli-core did not refuse without recording it (those stay refused):
/// refused when recorded as refused for that document; pending when it waits (`waits`) or
/// is not held (dropped from linli-core's bounded waiting set: applied again on the next
/// open); else accepted. The one rule of both [`load`] and [`persist`], so a store reopened
/// says what the live node said.
fn status_now(
    replica: &Replica,
    doc: DocId,
    hash: &ChangeHash,
    waits: bool,
) -> (ChangeStatus, Option<String>) {
    if let Some(r) = replica.rejected().get(hash).filter(|r| r.doc == doc) {
        (ChangeStatus::Refused, Some(r.reason.to_string()))
    } else if waits || !replica.has_change_in(doc, hash) {
        (ChangeStatus::Pending, None)
    } else {
        (ChangeStatus::Accepted, None)
    }
}

/// What linli-core said about one change of a command.
pub(super) enum Outcome {
    /// Applied now (the hash of the change itself first).
    Accepted,
    /// Stored, waiting.
    Pending(String),
    /// Stored as refused; `recorded` when linli-core recorded the refusal (in
    /// `Replica::rejected`, for the change's document) as it made it.
    Refused { reason: String, recorded: bool },
    /// Not stored: already held, or not a valid envelope.
    Skip,
}

pub(super) struct Received {
    pub(super) change: SignedChange,
    pub(super) hash: ChangeHash,
    pub(super) outcome: Outcome,
}

/// A document to restore: its loaded snapshot, its accepted changes in the log with their
/// hashes, and whether the snapshot folds the changes it holds (they are not in the log).
type RestoreJob = (DocId, LoadedSnapshot, Vec<(ChangeHash, SignedChange)>, bool);

/// Whether a genesis change creates a federation document.
fn is_federation_genesis(sc: &SignedChange) -> bool {
    automerge::Change::from_bytes(sc.change.clone())
        .ok()
        .and_then(|c| Document::from_genesis(c, linli_core::kinds::layout).ok())
        .is_some_and(|d| d.kind() == DocKind::Federation)
}

/// Writes what a command did: new log rows, status changes of earlier rows, due snapshots.
/// Returns the events to broadcast after the commit.
#[allow(clippy::too_many_arguments)]
pub(super) fn persist(
    tx: &Tx<'_>,
    replica: &mut Replica,
    tracker: &mut Tracker,
    received: &[Received],
    origin: Origin,
    now: Timestamp,
    snapshot_every: u64,
    fold: bool,
) -> Result<Vec<NodeEvent>, StoreError> {
    let me = replica.author().node;
    let mut events = Vec::new();
    let mut changed: BTreeSet<DocId> = BTreeSet::new();
    // Rows appended by this command: their status is new, whatever was written with them.
    let mut fresh: HashSet<ChangeHash> = HashSet::new();
    for r in received {
        let (status, reason) = match &r.outcome {
            Outcome::Skip => continue,
            Outcome::Accepted => (ChangeStatus::Accepted, None),
            Outcome::Pending(why) => (ChangeStatus::Pending, Some(why.as_str())),
            Outcome::Refused { reason, .. } => (ChangeStatus::Refused, Some(reason.as_str())),
        };
        let doc = r.change.doc;
        tracker.docs.insert(doc);
        let row = NewRow {
            change: &r.change,
            hash: r.hash,
            status,
            reason,
            origin,
            received_at: now,
        };
        let inserted = tx.append(&row)?.is_some();
        if inserted {
            fresh.insert(r.hash);
        } else if status != ChangeStatus::Refused {
            // Held before (e.g. pending, now sent again): bring its status up to date.
            tx.set_status(Some(&doc), &r.hash, status, reason)?;
        }
        match &r.outcome {
            Outcome::Pending(_) => {
                tracker.pending.insert(r.hash);
            }
            Outcome::Refused {
                reason,
                recorded: false,
            } => {
                // Refused without a record in linli-core (e.g. a genesis sent for another
                // document): refused for good; no decision reports it.
                let new = tracker.unrecorded.insert(r.hash) || inserted;
                tracker.refused.insert(r.hash);
                if new {
                    tracker.pending.remove(&r.hash);
                    if !inserted {
                        tx.set_status(Some(&doc), &r.hash, ChangeStatus::Refused, Some(reason))?;
                    }
                    events.push(NodeEvent::ChangeRejected {
                        doc,
                        hash: r.hash,
                        signer: r.change.signer,
                        reason: reason.clone(),
                    });
                }
            }
            // Stored as linli-core's decisions report it, below.
            _ => {}
        }
    }
    // Everything linli-core decided during the command — the changes returned, and what
    // they caused: cascades, revocations resolved again, equivocations, rebuilds, waiting
    // changes applied — stored as it reports it (no comparison of states).
    let mut demoted: BTreeSet<DocId> = BTreeSet::new();
    for d in replica.take_decisions() {
        let (doc, hash, status, reason, signer) = match d {
            Decision::Accepted { doc, hash } => (doc, hash, ChangeStatus::Accepted, None, None),
            Decision::Waiting { doc, hash, on } => (
                doc,
                hash,
                ChangeStatus::Pending,
                Some(on.describe().to_string()),
                None,
            ),
            Decision::Refused(r) => (
                r.doc,
                r.hash,
                ChangeStatus::Refused,
                Some(r.reason.to_string()),
                Some(r.signer),
            ),
            Decision::Equivocated {
                signer,
                equivocation,
            } => {
                if tracker.equivocators.insert(signer) {
                    events.push(NodeEvent::Equivocation {
                        signer,
                        doc: equivocation.doc,
                        seq: equivocation.seq,
                    });
                }
                continue;
            }
        };
        if tracker.unrecorded.contains(&hash) {
            continue;
        }
        // Not in the log: folded into the document's snapshot (written back to the log
        // first), or dropped before it was stored (nothing to keep in line).
        let mut before = tx.put_status(&doc, &hash, status, reason.as_deref())?;
        if before.is_none() && tx.unfold(&doc, &me)? {
            before = tx.put_status(&doc, &hash, status, reason.as_deref())?;
        }
        let Some(before) = before else {
            continue;
        };
        let was_counted = before == ChangeStatus::Accepted && !fresh.contains(&hash);
        match status {
            ChangeStatus::Accepted => {
                tracker.pending.remove(&hash);
                tracker.refused.remove(&hash);
                if !was_counted {
                    *tracker.accepted.entry(doc).or_default() += 1;
                    changed.insert(doc);
                }
            }
            ChangeStatus::Pending => {
                tracker.refused.remove(&hash);
                tracker.pending.insert(hash);
            }
            ChangeStatus::Refused => {
                tracker.pending.remove(&hash);
                let new = tracker.refused.insert(hash) || fresh.contains(&hash);
                // (A refusal always names its signer.)
                if let Some(signer) = signer
                    && (new || before != ChangeStatus::Refused)
                {
                    events.push(NodeEvent::ChangeRejected {
                        doc,
                        hash,
                        signer,
                        reason: reason.clone().unwrap_or_default(),
                    });
                }
            }
        }
        if was_counted && status != ChangeStatus::Accepted {
            demoted.insert(doc);
        }
    }
    for doc in demoted {
        // The document was rebuilt without some changes: its snapshot no longer matches.
        tx.delete_snapshot(&doc)?;
        tracker.marks.remove(&doc);
        tracker.accepted.insert(doc, replica.logged(doc) as u64);
        changed.insert(doc);
    }
    // Snapshot policy: a document is saved once it has `snapshot_every` accepted changes
    // more than at its last snapshot, or a quarter more for large documents (so the cost of
    // saving stays proportional to the changes written).
    let due: Vec<DocId> = changed
        .iter()
        .filter(|doc| {
            let n = tracker.accepted.get(*doc).copied().unwrap_or(0);
            let mark = tracker.marks.get(*doc).copied().unwrap_or(0);
            n >= mark + snapshot_every.max(mark / 4)
        })
        .copied()
        .collect();
    snapshot(tx, replica, tracker, &due, now, fold)?;
    for doc in changed {
        let heads = replica.heads(doc).unwrap_or_default();
        events.push(NodeEvent::DocumentChanged { doc, heads, origin });
    }
    Ok(events)
}

/// Takes the snapshot of each of `docs` (held and resident or loadable), folding the log
/// into it when `fold` (see `store::fold`).
pub(super) fn snapshot(
    tx: &Tx<'_>,
    replica: &Replica,
    tracker: &mut Tracker,
    docs: &[DocId],
    now: Timestamp,
    fold: bool,
) -> Result<(), StoreError> {
    let me = replica.author().node;
    let mut last_pos = None;
    for doc in docs {
        let n = tracker.accepted.get(doc).copied().unwrap_or(0);
        let Ok(d) = replica.doc(*doc) else {
            continue;
        };
        let pos = match last_pos {
            Some(p) => p,
            None => {
                let p = tx.last_pos()?;
                last_pos = Some(p);
                p
            }
        };
        // Its accepted changes in causal order, for the signatures the store keeps (a change
        // whose actor is not a key was never accepted: then nothing is folded).
        let history = fold
            .then(|| {
                d.automerge()
                    .get_changes_meta(&[])
                    .into_iter()
                    .map(|m| {
                        Some(linli_core::signed::HistoryEntry {
                            hash: m.hash,
                            signer: linli_core::document::actor_node(&m.actor).ok()?,
                            seq: m.seq,
                            deps: m.deps,
                            signed: false,
                        })
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .flatten();
        let verified = !replica.is_provisional(*doc);
        tx.put_snapshot(
            doc,
            pos,
            n,
            &d.heads(),
            &d.save(),
            now,
            history,
            verified,
            &me,
        )?;
        tracker.marks.insert(*doc, n);
    }
    Ok(())
}

/// Documents whose accepted changes are not all in their snapshot (a log tail).
pub(super) fn with_tail(tracker: &Tracker) -> Vec<DocId> {
    tracker
        .accepted
        .iter()
        .filter(|(doc, n)| **n > tracker.marks.get(*doc).copied().unwrap_or(0))
        .map(|(doc, _)| *doc)
        .collect()
}

/// Rebuilds the replica: documents with a snapshot are restored from it and their accepted
/// changes (trusted, no re-verification; the changes the snapshot holds are not even
/// decoded); every other stored change is applied in arrival order. Federation documents go
/// first (restored, then their other changes applied), so certificates and revocations are
/// complete before the other documents are rebuilt. A snapshot that does not restore
/// (damaged) is deleted and its document replayed from the log. Then the stored status of
/// every change is brought in line with the result by the rule [`persist`] follows too
/// ([`status_now`]; it already is, unless a write was cut short); `before_write` is called
/// before that write, if one is needed.
///
/// The snapshots are loaded on other threads while this one reads the log.
/// Returns the replica, the status tracker and the creation time of the newest document this
/// node created.
pub(super) fn load(
    store: &mut Store,
    settings: &Settings,
    keypair: &Keypair,
    before_write: &mut dyn FnMut() -> Result<(), StoreError>,
) -> Result<(Replica, Tracker, i64), StoreError> {
    let mut replica = Replica::new(
        keypair.clone(),
        settings.incarnation,
        settings.org.clone(),
        settings.root,
    );
    // Restored documents keep no bytes of the changes their snapshots hold: they are read
    // back from the store when a peer or an export needs them.
    replica.set_source(std::sync::Arc::new(store.change_source()?));
    let snapshots = store.snapshots()?;
    let with_snapshot: HashSet<DocId> = snapshots.iter().map(|s| s.doc).collect();
    // Documents whose snapshots fold their changes, with the signatures they keep (packed).
    let folded: HashMap<DocId, Vec<u8>> = snapshots
        .iter()
        .filter_map(|s| Some((s.doc, s.sigs.clone()?)))
        .collect();
    // How many changes each folded snapshot holds.
    let mut folded_held: HashMap<DocId, u64> = HashMap::new();
    let damaged_fold = |doc: &DocId, why: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!(
            "the snapshot of {}, which holds changes the log does not, is damaged: {why}",
            doc.short()
        ))
    };
    // Refusals linli-core returns but does not record (a genesis sent for another document).
    let mut unrecorded: HashMap<i64, String> = HashMap::new();
    let mut own_docs = Vec::new();
    let mut tracker = Tracker::default();
    let mut federation: HashSet<DocId> = HashSet::new();
    // Accepted changes of documents with a snapshot (with their stored hashes), and every
    // other change (with positions).
    let mut restorable: HashMap<DocId, Vec<(ChangeHash, SignedChange)>> = HashMap::new();
    let mut replay: Vec<(i64, SignedChange)> = Vec::new();
    // Position, document, hash and stored status of every row, for the status pass.
    let mut rows: Vec<(i64, DocId, ChangeHash, Option<ChangeStatus>)> = Vec::new();
    let mut read_log = |store: &Store| {
        store.for_each_change(|row| {
            let corrupt = |detail: String| StoreError::CorruptChange {
                pos: row.pos,
                detail,
            };
            let sc = SignedChange::decode(row.bytes).map_err(|e| corrupt(e.to_string()))?;
            if sc.doc != row.doc || sc.signer != row.signer {
                return Err(corrupt("its columns do not match its bytes".into()));
            }
            if row.hash.0 == row.doc.0 {
                if row.signer == settings.node {
                    own_docs.push(row.doc);
                }
                if is_federation_genesis(&sc) {
                    federation.insert(row.doc);
                }
            }
            tracker.docs.insert(row.doc);
            rows.push((row.pos, row.doc, row.hash, row.status));
            if row.status == Some(ChangeStatus::Accepted) && with_snapshot.contains(&row.doc) {
                restorable.entry(row.doc).or_default().push((row.hash, sc));
            } else {
                replay.push((row.pos, sc));
            }
            Ok(())
        })
    };
    // Snapshots are loaded by worker threads while this one reads the log, then by this one
    // too (each takes the next snapshot not yet taken).
    let next = AtomicUsize::new(0);
    let load_snapshots = || {
        let mut out = Vec::new();
        while let Some(s) = snapshots.get(next.fetch_add(1, Ordering::Relaxed)) {
            out.push((s.doc, Replica::load_snapshot(s.doc, &s.bytes)));
        }
        out
    };
    let workers = if snapshots.len() > 1 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4)
    } else {
        0
    };
    let (read, mut loaded) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers).map(|_| s.spawn(load_snapshots)).collect();
        let read = read_log(store);
        let mut loaded: HashMap<DocId, Result<LoadedSnapshot, CoreError>> =
            load_snapshots().into_iter().collect();
        for h in handles {
            match h.join() {
                Ok(more) => loaded.extend(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        (read, loaded)
    });
    read?;
    drop(snapshots);
    // Folded snapshots are the only copy of their changes: one that does not load, or keeps
    // another number of signatures than it holds changes, is a damaged store (no replay).
    for (doc, sigs) in &folded {
        let fits = |held: usize| linli_core::signed::unpack_signatures(sigs, held);
        match loaded.get(doc) {
            Some(Ok(snapshot)) if fits(snapshot.held()).is_ok() => {
                folded_held.insert(*doc, snapshot.held() as u64);
                tracker.docs.insert(*doc);
                if snapshot.document().kind() == DocKind::Federation {
                    federation.insert(*doc);
                }
                if snapshot.creator() == Some(settings.node) {
                    own_docs.push(*doc);
                }
                restorable.entry(*doc).or_default();
            }
            Some(Ok(snapshot)) => {
                let why = fits(snapshot.held()).err().unwrap_or_default();
                return Err(damaged_fold(
                    doc,
                    &format!("it holds {} changes; {why}", snapshot.held()),
                ));
            }
            Some(Err(e)) => return Err(damaged_fold(doc, e)),
            None => return Err(damaged_fold(doc, &"not loaded")),
        }
    }
    let mut damaged: Vec<DocId> = with_snapshot
        .iter()
        .filter(|d| !restorable.contains_key(d))
        .copied()
        .collect();
    // Federation documents first (restored, then their other changes), so the certificates
    // and revocations are complete before the other documents are restored and replayed.
    let (mut fed_replay, mut other_replay): (Vec<_>, Vec<_>) = replay
        .into_iter()
        .partition(|(_, sc)| federation.contains(&sc.doc));
    let mut order: Vec<DocId> = restorable.keys().copied().collect();
    order.sort();
    // Each loaded snapshot is checked against its accepted changes and its change log built
    // on all threads (`prepare` needs no replica); they are installed below, in order.
    let mut shares: Vec<Vec<RestoreJob>> = (0..=workers).map(|_| Vec::new()).collect();
    for (i, doc) in order.iter().enumerate() {
        if let (Some(Ok(snapshot)), Some(changes)) = (loaded.remove(doc), restorable.remove(doc)) {
            let folds = folded.contains_key(doc);
            shares[i % (workers + 1)].push((*doc, snapshot, changes, folds));
        }
    }
    drop(loaded);
    let prepare = |share: Vec<RestoreJob>| {
        share
            .into_iter()
            .map(|(doc, snapshot, changes, folds)| {
                let prepared = if folds {
                    snapshot.prepare_folded(changes)
                } else {
                    snapshot.prepare_lazy(changes)
                };
                (doc, prepared)
            })
            .collect::<Vec<_>>()
    };
    let mut prepared: HashMap<DocId, Result<PreparedRestore, CoreError>> =
        std::thread::scope(|s| {
            let mut shares = shares.into_iter();
            let mine = shares.next().unwrap_or_default();
            let handles: Vec<_> = shares
                .map(|share| s.spawn(move || prepare(share)))
                .collect();
            let mut out: HashMap<_, _> = prepare(mine).into_iter().collect();
            for h in handles {
                match h.join() {
                    Ok(more) => out.extend(more),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            out
        });
    let (fed_docs, other_docs): (Vec<DocId>, Vec<DocId>) =
        order.into_iter().partition(|d| federation.contains(d));
    for (docs, rest) in [(fed_docs, &mut fed_replay), (other_docs, &mut other_replay)] {
        for doc in docs {
            let restored = match prepared.remove(&doc) {
                Some(Ok(p)) => {
                    replica.restore_prepared(p);
                    true
                }
                Some(Err(_)) if folded.contains_key(&doc) => {
                    // The log tail does not fit the snapshot (e.g. a stored status cut short):
                    // the snapshot alone, its tail replayed like changes without one.
                    let snapshot = store
                        .snapshot(&doc)?
                        .ok_or_else(|| damaged_fold(&doc, &"it is gone"))?;
                    let prepared = Replica::load_snapshot(doc, &snapshot.bytes)
                        .and_then(|l| l.prepare_folded(Vec::new()))
                        .map_err(|e| damaged_fold(&doc, &e))?;
                    replica.restore_prepared(prepared);
                    rest.extend(store.accepted_of(&doc)?);
                    true
                }
                _ => false,
            };
            if !restored {
                // Damaged: the document is replayed from its accepted changes (read again,
                // with their positions) like documents without a snapshot.
                damaged.push(doc);
                rest.extend(store.accepted_of(&doc)?);
            }
        }
        rest.sort_by_key(|(pos, _)| *pos);
        // Covered changes in the store had their cover checked when they arrived (an
        // uncovered one is never stored): they are taken again without it.
        replica.vouch_stored(
            rest.iter()
                .filter(|(_, sc)| sc.signature.is_none())
                .filter_map(|(_, sc)| sc.change_hash().ok()),
        );
        for (pos, sc) in rest.drain(..) {
            let doc = sc.doc;
            match replica.apply(sc) {
                Ok(_) => {}
                Err(CoreError::Rejected(r)) => {
                    // Refused without a record for this document: refused for good (the
                    // same test as the live path's).
                    if replica.rejected().get(&r.hash).is_none_or(|x| x.doc != doc) {
                        unrecorded.insert(pos, r.reason.to_string());
                    }
                }
                Err(CoreError::Envelope(e)) => {
                    return Err(StoreError::CorruptChange {
                        pos,
                        detail: e.to_string(),
                    });
                }
                // E.g. the pending set is full: the status pass below records it as pending.
                Err(_) => {}
            }
        }
    }
    let mut waiting: HashSet<ChangeHash> = replica.awaiting().copied().collect();
    for doc in &tracker.docs {
        waiting.extend(replica.pending_of(*doc));
    }
    // The status of every change (from the rows read above, no second pass over the log).
    let mut fixes: Vec<(i64, ChangeStatus, Option<String>)> = Vec::new();
    for (pos, doc, hash, stored) in rows {
        let (status, reason) = if let Some(why) = unrecorded.remove(&pos) {
            tracker.unrecorded.insert(hash);
            (ChangeStatus::Refused, Some(why))
        } else {
            status_now(&replica, doc, &hash, waiting.contains(&hash))
        };
        match status {
            ChangeStatus::Accepted => *tracker.accepted.entry(doc).or_default() += 1,
            ChangeStatus::Pending => {
                tracker.pending.insert(hash);
            }
            ChangeStatus::Refused => {
                tracker.refused.insert(hash);
            }
        }
        if stored != Some(status) {
            let reason = reason.or_else(|| {
                (status == ChangeStatus::Pending).then(|| "waits (found on open)".to_string())
            });
            fixes.push((pos, status, reason));
        }
    }
    if !fixes.is_empty() || !damaged.is_empty() {
        before_write()?;
        let tx = store.tx()?;
        for (pos, status, reason) in &fixes {
            tx.set_status_at(*pos, *status, reason.as_deref())?;
        }
        for doc in &damaged {
            tx.delete_snapshot(doc)?;
        }
        tx.commit()?;
    }
    for (doc, held) in &folded_held {
        *tracker.accepted.entry(*doc).or_default() += held;
    }
    tracker.refused.extend(replica.rejected().keys().copied());
    // The status pass above stored where every change stands: the decisions made while
    // loading are in it.
    replica.take_decisions();
    tracker.equivocators = replica.equivocators().keys().copied().collect();
    tracker.marks = store.snapshot_marks()?;
    for rec in store.personal_records()? {
        replica.restore_personal(rec);
    }
    // Documents restored from a peer's snapshot and not yet verified stay provisional:
    // never served, verified again (nothing unverified passes for verified after a restart).
    for (doc, _) in store.provisional()? {
        replica.mark_provisional(doc);
    }
    let last_create = own_docs
        .iter()
        .filter_map(|d| replica.doc(*d).ok())
        .map(|d| d.header().created.0)
        .max()
        .unwrap_or(i64::MIN);
    Ok((replica, tracker, last_create))
}
