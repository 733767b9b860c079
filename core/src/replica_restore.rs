//! Trusted restore of a document from this node's own store: a saved document plus its
//! accepted signed changes, without checking signatures or policies again.

use std::collections::{HashMap, HashSet};

use automerge::{Change, ChangeHash};

use super::{Error, Replica};
use crate::docs::{DocLog, Logged};
use crate::document::{DocError, DocKind, Document};
use crate::ids::DocId;
use crate::signed::SignedChange;

/// What the change log of a replica keeps of one change besides its envelope.
struct Meta {
    actor: Vec<u8>,
    seq: u64,
    time: i64,
    deps: Vec<ChangeHash>,
}

impl Meta {
    fn of(change: &Change) -> Meta {
        Meta {
            actor: change.actor_id().to_bytes().to_vec(),
            seq: change.seq(),
            time: change.timestamp(),
            deps: change.deps().to_vec(),
        }
    }
}

/// A snapshot loaded by [`Replica::load_snapshot`], to be restored by
/// [`Replica::restore_loaded`].
pub struct LoadedSnapshot {
    doc: Document,
    /// Log metadata of the changes the snapshot holds, by hash.
    held: HashMap<ChangeHash, Meta>,
    /// The hashes of `held` in the snapshot's (causal) order.
    order: Vec<ChangeHash>,
}

impl LoadedSnapshot {
    /// The loaded document.
    pub fn document(&self) -> &Document {
        &self.doc
    }

    /// How many changes the snapshot holds.
    pub fn held(&self) -> usize {
        self.order.len()
    }

    /// The signer of the document's genesis (the key in its actor id), when the snapshot
    /// holds it.
    pub fn creator(&self) -> Option<crate::ids::NodeId> {
        let genesis = ChangeHash(self.doc.id().0);
        let meta = self.held.get(&genesis)?;
        let key: [u8; 32] = meta.actor.get(..32)?.try_into().ok()?;
        Some(crate::ids::NodeId(key))
    }
}

/// A restore checked by [`LoadedSnapshot::prepare`], to be installed by
/// [`Replica::restore_prepared`].
pub struct PreparedRestore {
    doc: Document,
    entries: Vec<Logged>,
}

impl PreparedRestore {
    /// The document as it will be installed.
    pub fn document(&self) -> &Document {
        &self.doc
    }

    /// How many accepted changes it restores.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it restores no change.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The restored document alone (for loading an evicted document again: the replica
    /// still holds its change log).
    pub fn into_document(self) -> Document {
        self.doc
    }

    /// The document and its log entries.
    pub(super) fn into_parts(self) -> (Document, Vec<Logged>) {
        (self.doc, self.entries)
    }
}

/// One accepted change to restore; `change` is set (decoded) only for changes that the
/// snapshot does not hold.
struct Item {
    signed: Option<SignedChange>,
    signer: crate::ids::NodeId,
    hash: ChangeHash,
    meta: Meta,
    change: Option<Change>,
}

impl Replica {
    /// Trusted restore from this node's own store (no re-verification): the document from
    /// `Document::save()` bytes plus its accepted signed changes in causal order.
    ///
    /// Accepted changes that the snapshot does not hold yet (the log tail) are applied to the
    /// document. Every accepted change must be held afterwards, and every head of the
    /// snapshot must be among the accepted changes, or the restore fails with
    /// [`DocError::MalformedDocument`] and the replica is unchanged. A document already held
    /// is replaced. Restoring a federation document reloads certificates, revocations and
    /// district settings.
    pub fn restore(
        &mut self,
        doc: DocId,
        snapshot: &[u8],
        accepted: Vec<SignedChange>,
    ) -> Result<(), Error> {
        let mut stored = Vec::with_capacity(accepted.len());
        for sc in accepted {
            let hash = Change::from_bytes(sc.change.clone())
                .map_err(|e| Error::Doc(DocError::MalformedChange(e.to_string())))?
                .hash();
            stored.push((hash, sc));
        }
        self.restore_stored(doc, snapshot, stored)
    }

    /// [`Replica::restore`] with each accepted change given with its change hash as stored
    /// beside it (trusted, like the rest of the input): the changes the snapshot holds are not
    /// decoded at all — their actor, sequence number, time and dependencies for the change
    /// log come from the snapshot's change graph — only the log tail is decoded (and its
    /// hashes checked) to be applied. The result is the same as `restore`'s.
    pub fn restore_stored(
        &mut self,
        doc: DocId,
        snapshot: &[u8],
        accepted: Vec<(ChangeHash, SignedChange)>,
    ) -> Result<(), Error> {
        let loaded = Replica::load_snapshot(doc, snapshot)?;
        self.restore_loaded(loaded, accepted)
    }

    /// The first half of [`Replica::restore_stored`]: loads the snapshot of `doc` and reads
    /// its change graph. Needs no replica, so snapshots can be loaded on other threads (while
    /// the store reads the log) and restored with [`Replica::restore_loaded`].
    pub fn load_snapshot(doc: DocId, snapshot: &[u8]) -> Result<LoadedSnapshot, Error> {
        let d = Document::load(doc, snapshot, crate::kinds::layout)?;
        let metas = d.automerge().get_changes_meta(&[]);
        let order: Vec<ChangeHash> = metas.iter().map(|m| m.hash).collect();
        let held: HashMap<ChangeHash, Meta> = metas
            .into_iter()
            .map(|m| {
                let meta = Meta {
                    actor: m.actor.to_bytes().to_vec(),
                    seq: m.seq,
                    time: m.timestamp,
                    deps: m.deps,
                };
                (m.hash, meta)
            })
            .collect();
        Ok(LoadedSnapshot {
            doc: d,
            held,
            order,
        })
    }
}

impl LoadedSnapshot {
    /// Checks a loaded snapshot against the document's accepted changes (with their stored
    /// hashes), applies the log tail and builds the change log. Needs no replica either (so
    /// it can run on other threads); [`Replica::restore_prepared`] installs the result.
    pub fn prepare(
        self,
        accepted: Vec<(ChangeHash, SignedChange)>,
    ) -> Result<PreparedRestore, Error> {
        self.prepare_with(accepted, false, false)
    }

    /// Like [`prepare`](Self::prepare), but the change log keeps no bytes of the changes the
    /// snapshot holds: they are read back from the replica's
    /// [`ChangeSource`](super::ChangeSource) when needed (sync, export, rebuilds), so an
    /// open node holds each stored change once, in its document. The replica must have a
    /// source ([`Replica::set_source`]) when the result is installed.
    pub fn prepare_lazy(
        self,
        accepted: Vec<(ChangeHash, SignedChange)>,
    ) -> Result<PreparedRestore, Error> {
        self.prepare_with(accepted, true, false)
    }

    /// Like [`prepare_lazy`](Self::prepare_lazy) for a store that keeps no log entry of the
    /// changes a snapshot holds (they are folded into it): every change the snapshot holds
    /// is taken as accepted, its signer being the key in its actor id (which verification
    /// checked before it was stored), and `tail` holds only the accepted changes after it.
    pub fn prepare_folded(
        self,
        tail: Vec<(ChangeHash, SignedChange)>,
    ) -> Result<PreparedRestore, Error> {
        self.prepare_with(tail, true, true)
    }

    fn prepare_with(
        self,
        accepted: Vec<(ChangeHash, SignedChange)>,
        lazy: bool,
        folded: bool,
    ) -> Result<PreparedRestore, Error> {
        let bad = |s: String| Error::Doc(DocError::MalformedDocument(s));
        let LoadedSnapshot {
            doc: mut d,
            mut held,
            order,
        } = self;
        let doc = d.id();
        let snapshot_heads = d.heads();
        let mut items = Vec::with_capacity(accepted.len() + if folded { order.len() } else { 0 });
        let mut hashes = HashSet::with_capacity(items.capacity());
        if folded {
            // The snapshot's own changes first, in its causal order.
            for hash in order {
                let Some(meta) = held.remove(&hash) else {
                    continue;
                };
                let key: [u8; 32] = meta
                    .actor
                    .get(..32)
                    .and_then(|k| k.try_into().ok())
                    .filter(|_| meta.actor.len() == 40)
                    .ok_or_else(|| {
                        bad(format!(
                            "change {} has an actor id of {} bytes",
                            hex::encode(&hash.0[..4]),
                            meta.actor.len()
                        ))
                    })?;
                hashes.insert(hash);
                items.push(Item {
                    signed: None,
                    signer: crate::ids::NodeId(key),
                    hash,
                    meta,
                    change: None,
                });
            }
        }
        for (hash, sc) in accepted {
            if sc.doc != doc {
                return Err(bad(format!(
                    "a change of {} restored into {doc}",
                    sc.doc.short()
                )));
            }
            if !hashes.insert(hash) {
                continue;
            }
            let item = match held.remove(&hash) {
                Some(meta) => Item {
                    signer: sc.signer,
                    signed: (!lazy).then_some(sc),
                    hash,
                    meta,
                    change: None,
                },
                None => {
                    let change = Change::from_bytes(sc.change.clone())
                        .map_err(|e| Error::Doc(DocError::MalformedChange(e.to_string())))?;
                    if change.hash() != hash {
                        return Err(bad(format!(
                            "change stored as {} has hash {}",
                            hex::encode(&hash.0[..4]),
                            hex::encode(&change.hash().0[..4])
                        )));
                    }
                    Item {
                        signer: sc.signer,
                        signed: Some(sc),
                        hash,
                        meta: Meta::of(&change),
                        change: Some(change),
                    }
                }
            };
            items.push(item);
        }
        let mut entries = Vec::with_capacity(items.len());
        let mut tail = Vec::new();
        for item in causal_order(items) {
            if let Some(change) = item.change {
                if !d.has_change(&item.hash) {
                    d.apply_checked(change)?;
                }
                tail.push(item.hash);
            }
            entries.push(Logged {
                signed: item.signed,
                signer: item.signer,
                hash: item.hash,
                actor: item.meta.actor,
                seq: item.meta.seq,
                time: item.meta.time,
                deps: item.meta.deps,
            });
        }
        // The changes taken from the snapshot's graph are held; the tail must be too.
        if let Some(h) = tail.iter().find(|h| !d.has_change(h)) {
            return Err(bad(format!(
                "accepted change {} misses dependencies in the snapshot",
                hex::encode(&h.0[..4])
            )));
        }
        if let Some(h) = snapshot_heads.iter().find(|h| !hashes.contains(h)) {
            return Err(bad(format!(
                "snapshot head {} is not among the accepted changes",
                hex::encode(&h.0[..4])
            )));
        }
        if entries.first().map(|e| e.hash) != Some(ChangeHash(doc.0)) {
            return Err(bad(
                "the accepted changes do not start with the genesis".into()
            ));
        }
        Ok(PreparedRestore { doc: d, entries })
    }
}

impl Replica {
    /// The second half of [`Replica::restore_stored`]: restores a loaded snapshot with the
    /// document's accepted changes and their stored hashes.
    pub fn restore_loaded(
        &mut self,
        loaded: LoadedSnapshot,
        accepted: Vec<(ChangeHash, SignedChange)>,
    ) -> Result<(), Error> {
        let prepared = loaded.prepare(accepted)?;
        self.restore_prepared(prepared);
        Ok(())
    }

    /// Installs a restore checked by [`LoadedSnapshot::prepare`]: the document, its change
    /// log and indexes replace whatever was held for it.
    pub fn restore_prepared(&mut self, prepared: PreparedRestore) {
        let PreparedRestore {
            doc: mut d,
            entries,
        } = prepared;
        let doc = d.id();
        d.set_author(&self.author);
        // Replaces whatever was held for this document (its log goes with it).
        self.unpark_all(doc);
        // Documents this node created keep their nonces: a new one gets a later nonce.
        if entries
            .first()
            .is_some_and(|e| e.signer == self.author.node)
        {
            self.created = self.created.max(d.header().nonce);
        }
        let federation = d.kind() == DocKind::Federation;
        self.docs.insert_with_log(doc, d, DocLog::new(entries));
        self.refresh_catalog(doc);
        if federation {
            self.federation_changed();
        }
    }
}

/// The changes in causal order: a stable topological sort (a change keeps its place unless
/// one of its dependencies in the list comes later, which is then moved before it).
fn causal_order(changes: Vec<Item>) -> Vec<Item> {
    let at: HashMap<ChangeHash, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.hash, i))
        .collect();
    let mut done = vec![false; changes.len()];
    let mut order = Vec::with_capacity(changes.len());
    for start in 0..changes.len() {
        // Depth-first, emitting a change after all its dependencies in the list.
        let mut stack = vec![(start, 0usize)];
        while let Some((i, next)) = stack.pop() {
            if done[i] {
                continue;
            }
            let deps = &changes[i].meta.deps;
            match deps[next..]
                .iter()
                .position(|d| at.get(d).is_some_and(|&j| !done[j]))
            {
                Some(k) => {
                    let j = at[&deps[next + k]];
                    stack.push((i, next + k + 1));
                    stack.push((j, 0));
                }
                None => {
                    done[i] = true;
                    order.push(i);
                }
            }
        }
    }
    let mut slots: Vec<Option<Item>> = changes.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replica::Applied;
    use crate::testutil::{fed_id, key, node, org, replica, root, t};
    use crate::time::Timestamp;

    fn now() -> Timestamp {
        t("2026-06-01T10:00:00+08:00")
    }

    fn ledger(r: &mut Replica) -> DocId {
        crate::testutil::ledger_of(r, "dianye")
    }

    fn service(r: &mut Replica, doc: DocId, v: &str) -> SignedChange {
        crate::testutil::patrol(r, doc, v)
    }

    /// A fresh replica of the same node, restored from `from`'s documents: each saved once
    /// `snapshot_after` changes were in, the rest applied as the tail.
    fn restored(from: &Replica, fresh: Replica, snapshot_after: usize) -> Replica {
        let mut to = fresh;
        let mut ids: Vec<DocId> = from.docs().keys().copied().collect();
        ids.sort_by_key(|id| from.doc(*id).unwrap().kind() != DocKind::Federation);
        for id in ids {
            let changes = from.changes(id, &[]).unwrap();
            let n = snapshot_after.min(changes.len()).max(1);
            let mut partial =
                Document::from_genesis(changes[0].verify().unwrap(), crate::kinds::layout).unwrap();
            for c in &changes[1..n] {
                partial.apply_checked(c.verify().unwrap()).unwrap();
            }
            to.restore(id, &partial.save(), changes).unwrap();
        }
        to
    }

    /// The change log entries of a document, field by field.
    fn log_of(r: &Replica, doc: DocId) -> Vec<String> {
        r.docs
            .log(&doc)
            .unwrap()
            .entries()
            .iter()
            .map(|e| {
                format!(
                    "{:?} {} {} {} {:?} {}",
                    e.hash,
                    hex::encode(&e.actor),
                    e.seq,
                    e.time,
                    e.deps,
                    e.signed
                        .as_ref()
                        .map(|s| hex::encode(s.encode()))
                        .unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn restore_stored_takes_the_log_from_the_snapshot_and_matches_replay() {
        // Two writers, so the log has several actors and changes with two dependencies.
        let mut a = replica("dianye", 1);
        let doc = ledger(&mut a);
        let mut b = replica("dianye", 2);
        for sc in a.changes(doc, &[]).unwrap() {
            b.apply(sc).unwrap();
        }
        for i in 0..6 {
            let mine = service(&mut a, doc, &format!("dianye:{}", i % 3 + 1));
            let theirs = service(&mut b, doc, &format!("dianye:{}", i % 2 + 1));
            a.apply(theirs).unwrap();
            b.apply(mine).unwrap();
        }
        let changes = a.changes(doc, &[]).unwrap();
        let stored: Vec<(ChangeHash, SignedChange)> = changes
            .iter()
            .map(|sc| (sc.change_hash().unwrap(), sc.clone()))
            .collect();
        for snapshot_after in [1, 4, 9, changes.len()] {
            let mut partial =
                Document::from_genesis(changes[0].verify().unwrap(), crate::kinds::layout).unwrap();
            for c in &changes[1..snapshot_after] {
                partial.apply_checked(c.verify().unwrap()).unwrap();
            }
            let mut r = replica("dianye", 1);
            r.restore_stored(doc, &partial.save(), stored.clone())
                .unwrap();
            assert_eq!(log_of(&r, doc), log_of(&a, doc), "{snapshot_after}");
            let of_doc = |r: &Replica| r.docs.log(&doc).unwrap().slots().clone();
            assert!(of_doc(&r) == of_doc(&a));
            assert_eq!(r.catalog()[&doc], a.catalog()[&doc]);
            assert_eq!(r.heads(doc).unwrap(), a.heads(doc).unwrap());
            // The same through the two halves; in another order of the input, the same
            // entries (in another causal order where changes were concurrent).
            let loaded = Replica::load_snapshot(doc, &partial.save()).unwrap();
            let mut q = replica("dianye", 1);
            q.restore_loaded(loaded, stored.clone()).unwrap();
            assert_eq!(log_of(&q, doc), log_of(&a, doc));
            let mut reversed = stored.clone();
            reversed.reverse();
            let mut q = replica("dianye", 1);
            q.restore_stored(doc, &partial.save(), reversed).unwrap();
            let (mut got, mut want) = (log_of(&q, doc), log_of(&a, doc));
            got.sort();
            want.sort();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn prepare_folded_takes_every_held_change_from_the_snapshot() {
        let mut a = replica("dianye", 1);
        let doc = ledger(&mut a);
        let mut b = replica("dianye", 2);
        for sc in a.changes(doc, &[]).unwrap() {
            b.apply(sc).unwrap();
        }
        for i in 0..5 {
            let mine = service(&mut a, doc, &format!("dianye:{}", i % 3 + 1));
            let theirs = service(&mut b, doc, &format!("dianye:{}", i % 2 + 1));
            a.apply(theirs).unwrap();
            b.apply(mine).unwrap();
        }
        let changes = a.changes(doc, &[]).unwrap();
        let stored: Vec<(ChangeHash, SignedChange)> = changes
            .iter()
            .map(|sc| (sc.change_hash().unwrap(), sc.clone()))
            .collect();
        let sorted = |r: &Replica| {
            let mut v = log_of(r, doc);
            v.sort();
            v
        };
        for snapshot_after in [1, 5, changes.len()] {
            let mut partial =
                Document::from_genesis(changes[0].verify().unwrap(), crate::kinds::layout).unwrap();
            for c in &changes[1..snapshot_after] {
                partial.apply_checked(c.verify().unwrap()).unwrap();
            }
            let saved = partial.save();
            let loaded = Replica::load_snapshot(doc, &saved).unwrap();
            assert_eq!(loaded.held(), snapshot_after);
            assert_eq!(loaded.creator(), Some(a.author().node));
            let mut lazy = replica("dianye", 1);
            lazy.restore_prepared(loaded.prepare_lazy(stored.clone()).unwrap());
            // Only the tail is given: the same log, document and indexes.
            let tail = stored[snapshot_after..].to_vec();
            let loaded = Replica::load_snapshot(doc, &saved).unwrap();
            let mut folded = replica("dianye", 1);
            folded.restore_prepared(loaded.prepare_folded(tail.clone()).unwrap());
            assert_eq!(sorted(&folded), sorted(&lazy), "{snapshot_after}");
            assert_eq!(folded.heads(doc).unwrap(), a.heads(doc).unwrap());
            assert_eq!(folded.catalog()[&doc], a.catalog()[&doc]);
            assert_eq!(
                folded.docs.log(&doc).unwrap().slots(),
                lazy.docs.log(&doc).unwrap().slots()
            );
            // A tail missing one of its changes leaves a dependency out: refused.
            if tail.len() > 1 {
                let loaded = Replica::load_snapshot(doc, &saved).unwrap();
                let err = loaded.prepare_folded(tail[1..].to_vec()).err();
                assert!(
                    matches!(err, Some(Error::Doc(DocError::MalformedDocument(_)))),
                    "{err:?}"
                );
            }
        }
    }

    #[test]
    fn restore_stored_refuses_a_stored_hash_that_does_not_match_the_tail() {
        let mut a = replica("dianye", 1);
        let doc = ledger(&mut a);
        service(&mut a, doc, "dianye:1");
        service(&mut a, doc, "dianye:2");
        let changes = a.changes(doc, &[]).unwrap();
        let genesis =
            Document::from_genesis(changes[0].verify().unwrap(), crate::kinds::layout).unwrap();
        let mut stored: Vec<(ChangeHash, SignedChange)> = changes
            .iter()
            .map(|sc| (sc.change_hash().unwrap(), sc.clone()))
            .collect();
        stored[2].0 = stored[1].0;
        stored[1].0 = ChangeHash([9; 32]);
        let mut r = replica("dianye", 1);
        assert!(r.restore_stored(doc, &genesis.save(), stored).is_err());
        assert!(!r.docs().contains_key(&doc));
        assert!(r.catalog().is_empty() || !r.catalog().contains_key(&doc));
    }

    #[test]
    fn restore_gives_identical_state() {
        let mut a = replica("dianye", 1);
        let doc = ledger(&mut a);
        for i in 0..10 {
            service(&mut a, doc, &format!("dianye:{}", i % 3 + 1));
        }
        for snapshot_after in [1, 5, 11, 100] {
            let b = restored(&a, replica("dianye", 1), snapshot_after);
            for id in a.docs().keys() {
                let mut ha = a.heads(*id).unwrap();
                let mut hb = b.heads(*id).unwrap();
                ha.sort();
                hb.sort();
                assert_eq!(ha, hb);
                assert_eq!(a.changes(*id, &[]).unwrap(), b.changes(*id, &[]).unwrap());
            }
            assert_eq!(a.catalog(), b.catalog());
            // The accepted changes in any order give the same result.
            let mut c = replica("dianye", 1);
            let mut changes = a.changes(doc, &[]).unwrap();
            changes.reverse();
            c.restore(doc, &b.doc(doc).unwrap().save(), changes)
                .unwrap();
            assert_eq!(a.changes(doc, &[]).unwrap(), c.changes(doc, &[]).unwrap());
            let la = a.ledger(doc).unwrap();
            let lb = b.ledger(doc).unwrap();
            assert_eq!(la.entries(), lb.entries());
            assert_eq!(
                a.balance(&"dianye:1".parse().unwrap(), crate::testutil::now()),
                b.balance(&"dianye:1".parse().unwrap(), crate::testutil::now())
            );
        }
    }

    #[test]
    fn apply_execute_and_create_work_after_restore() {
        let mut a = replica("dianye", 1);
        let doc = ledger(&mut a);
        service(&mut a, doc, "dianye:1");
        let mut b = restored(&a, replica("dianye", 1), 2);
        // Known changes are duplicates.
        for c in a.changes(doc, &[]).unwrap() {
            assert_eq!(b.apply(c).unwrap(), Applied::Duplicate);
        }
        // A change from another node applies.
        let mut c = replica("dianye", 2);
        for sc in a.changes(doc, &[]).unwrap() {
            c.apply(sc).unwrap();
        }
        let theirs = service(&mut c, doc, "dianye:2");
        assert!(matches!(b.apply(theirs).unwrap(), Applied::Applied(_)));
        // This node writes on top.
        let mine = service(&mut b, doc, "dianye:3");
        assert!(matches!(c.apply(mine).unwrap(), Applied::Applied(_)));
        assert_eq!(b.ledger(doc).unwrap().entries().len(), 3);
        // A new document does not reuse the restored one's genesis.
        let other = ledger(&mut b);
        assert_ne!(other, doc);
        assert_eq!(b.docs().len(), a.docs().len() + 1);
    }

    #[test]
    fn restoring_the_federation_restores_trust() {
        let root = root();
        let fresh = Replica::new(key("dianye", 1), [1; 8], org("dianye"), *root.root());
        assert!(fresh.principal(&node("dianye", 2), now()).is_err());
        let mut b = restored(&root, fresh, 3);
        assert_eq!(b.district(), root.district());
        assert!(b.principal(&node("dianye", 2), now()).is_ok());
        // A change by a certified key is accepted.
        let mut c = replica("dianye", 2);
        let doc = ledger(&mut c);
        for sc in c.changes(doc, &[]).unwrap() {
            assert!(matches!(b.apply(sc).unwrap(), Applied::Applied(_)));
        }
        assert!(b.docs().contains_key(&fed_id()));
    }

    #[test]
    fn restore_refuses_mismatched_input() {
        let mut a = replica("dianye", 1);
        let doc = ledger(&mut a);
        service(&mut a, doc, "dianye:1");
        let changes = a.changes(doc, &[]).unwrap();
        let saved = a.doc(doc).unwrap().save();
        let mut b = replica("dianye", 1);
        // Garbage bytes.
        assert!(b.restore(doc, b"not a document", changes.clone()).is_err());
        // A snapshot head missing from the accepted changes.
        assert!(b.restore(doc, &saved, changes[..1].to_vec()).is_err());
        // The wrong document.
        assert!(b.restore(fed_id(), &saved, changes.clone()).is_err());
        assert!(!b.docs().contains_key(&doc));
        b.restore(doc, &saved, changes).unwrap();
        assert!(b.docs().contains_key(&doc));
    }

    /// A change source over a map, counting what it was asked for.
    #[derive(Debug, Default)]
    struct MapSource {
        changes: std::sync::Mutex<HashMap<ChangeHash, SignedChange>>,
        asked: std::sync::atomic::AtomicUsize,
    }

    impl super::super::ChangeSource for MapSource {
        fn load(&self, _: DocId, hashes: &[ChangeHash]) -> Result<Vec<SignedChange>, String> {
            self.asked
                .fetch_add(hashes.len(), std::sync::atomic::Ordering::Relaxed);
            let m = self.changes.lock().map_err(|e| e.to_string())?;
            hashes
                .iter()
                .map(|h| m.get(h).cloned().ok_or_else(|| format!("no change {h}")))
                .collect()
        }
    }

    #[test]
    fn a_lazy_restore_reads_covered_changes_back_from_the_source() {
        let mut a = replica("dianye", 1);
        let doc = ledger(&mut a);
        for i in 0..8 {
            service(&mut a, doc, &format!("dianye:{}", i % 3 + 1));
        }
        let changes = a.changes(doc, &[]).unwrap();
        let stored: Vec<(ChangeHash, SignedChange)> = changes
            .iter()
            .map(|sc| (sc.change_hash().unwrap(), sc.clone()))
            .collect();
        // A snapshot of the first 6 changes; 3 in the tail.
        let mut partial =
            Document::from_genesis(changes[0].verify().unwrap(), crate::kinds::layout).unwrap();
        for c in &changes[1..6] {
            partial.apply_checked(c.verify().unwrap()).unwrap();
        }
        let source = std::sync::Arc::new(MapSource::default());
        let prepared = Replica::load_snapshot(doc, &partial.save())
            .unwrap()
            .prepare_lazy(stored.clone())
            .unwrap();

        // Without a source the covered changes cannot be handed out: a clear error.
        let mut bare = replica("dianye", 1);
        bare.restore_prepared(prepared);
        let e = bare.changes(doc, &[]).unwrap_err();
        assert!(e.to_string().contains("no change source"), "{e}");

        // With one: the same log, the covered changes read back (only they), in order.
        let mut r = replica("dianye", 1);
        r.set_source(source.clone());
        let prepared = Replica::load_snapshot(doc, &partial.save())
            .unwrap()
            .prepare_lazy(stored.clone())
            .unwrap();
        r.restore_prepared(prepared);
        // The source is empty: the read fails and says so.
        let e = r.changes(doc, &[]).unwrap_err();
        assert!(e.to_string().contains("no change"), "{e}");
        source
            .changes
            .lock()
            .unwrap()
            .extend(stored.iter().cloned());
        source.asked.store(0, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(r.changes(doc, &[]).unwrap(), changes);
        assert_eq!(source.asked.load(std::sync::atomic::Ordering::Relaxed), 6);
        // Changes after given heads: the tail comes from memory, nothing is read.
        source.asked.store(0, std::sync::atomic::Ordering::Relaxed);
        let heads = [stored[5].0];
        assert_eq!(r.changes(doc, &heads).unwrap(), changes[6..].to_vec());
        assert_eq!(source.asked.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert_eq!(r.heads(doc).unwrap(), a.heads(doc).unwrap());
        // New writes go on as usual.
        let more = service(&mut r, doc, "dianye:2");
        assert_eq!(r.changes(doc, &[]).unwrap().last(), Some(&more));
    }
}
