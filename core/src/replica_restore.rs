//! Trusted restore of a document from this node's own store: a saved document plus its
//! accepted signed changes, without checking signatures or policies again.

use std::collections::{BTreeSet, HashMap};

use automerge::{Change, ChangeHash};

use super::{Error, Logged, Replica};
use crate::document::{DocError, DocKind, Document};
use crate::ids::DocId;
use crate::signed::SignedChange;

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
        let bad = |s: String| Error::Doc(DocError::MalformedDocument(s));
        let mut d = Document::load(doc, snapshot)?;
        d.set_author(&self.author);
        let snapshot_heads = d.heads();
        let mut decoded = Vec::with_capacity(accepted.len());
        let mut hashes = BTreeSet::new();
        for sc in accepted {
            if sc.doc != doc {
                return Err(bad(format!(
                    "a change of {} restored into {doc}",
                    sc.doc.short()
                )));
            }
            let change = Change::from_bytes(sc.change.clone())
                .map_err(|e| Error::Doc(DocError::MalformedChange(e.to_string())))?;
            if hashes.insert(change.hash()) {
                decoded.push((sc, change));
            }
        }
        let mut entries = Vec::with_capacity(decoded.len());
        for (sc, change) in causal_order(decoded) {
            let hash = change.hash();
            if !d.has_change(&hash) {
                d.apply_checked(change.clone())?;
            }
            entries.push(Logged {
                signed: sc,
                hash,
                actor: change.actor_id().to_bytes().to_vec(),
                seq: change.seq(),
                time: change.timestamp(),
                deps: change.deps().to_vec(),
            });
        }
        if let Some(e) = entries.iter().find(|e| !d.has_change(&e.hash)) {
            return Err(bad(format!(
                "accepted change {} misses dependencies in the snapshot",
                hex::encode(&e.hash.0[..4])
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
        // Replace whatever was held for this document.
        if let Some(old) = self.log.remove(&doc) {
            for e in &old {
                self.index.remove(&e.hash);
            }
        }
        self.seqs.retain(|(d, _, _), _| *d != doc);
        self.pending.remove(&doc);
        for e in &entries {
            self.index.insert(e.hash, doc);
            self.seqs.insert((doc, e.actor.clone(), e.seq), e.hash);
        }
        // Documents this node created keep their nonces: a new one gets a later nonce.
        if entries[0].signed.signer == self.author.node {
            self.created = self.created.max(d.header().nonce);
        }
        let federation = d.kind() == DocKind::Federation;
        self.docs.insert(doc, d);
        self.log.insert(doc, entries);
        self.refresh_catalog(doc);
        if federation {
            self.federation_changed();
        }
        Ok(())
    }
}

/// The changes in causal order: a stable topological sort (a change keeps its place unless
/// one of its dependencies in the list comes later, which is then moved before it).
fn causal_order(changes: Vec<(SignedChange, Change)>) -> Vec<(SignedChange, Change)> {
    let at: HashMap<ChangeHash, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, (_, c))| (c.hash(), i))
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
            let deps = changes[i].1.deps();
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
    let mut slots: Vec<Option<(SignedChange, Change)>> = changes.into_iter().map(Some).collect();
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
            let mut partial = Document::from_genesis(changes[0].verify().unwrap()).unwrap();
            for c in &changes[1..n] {
                partial.apply_checked(c.verify().unwrap()).unwrap();
            }
            to.restore(id, &partial.save(), changes).unwrap();
        }
        to
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
                a.balance(&"dianye:1".parse().unwrap()),
                b.balance(&"dianye:1".parse().unwrap())
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
}
