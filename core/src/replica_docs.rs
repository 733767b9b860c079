//! Eviction (see [`crate::docs`]): which documents may leave memory, and how an evicted
//! document is loaded back from the replica's [`ChangeSource`] — the same trusted restore as
//! a node's open.
//!
//! An evicted document's change log and its indexes (times, (actor, seq) slots) go with it
//! and load back with it. What stays resident besides every document's header and heads: a
//! [`LogSummary`](crate::docs::LogSummary) of its log (change count, each actor's last
//! (seq, hash), its signers), the waiting sets, refusals, equivocation evidence, the trust
//! store and revocations, the catalog. The federation document, documents with waiting or
//! contested changes and carried documents are never evicted.

use std::collections::BTreeMap;
use std::sync::Arc;

use automerge::ChangeHash;

use super::{ChangeSource, Error, Replica};
use crate::docs::{DocLog, DocSource, LoadError};
use crate::document::{DocKind, Document};
use crate::ids::DocId;

/// What a store holds of one document, for loading it again ([`ChangeSource::document`]):
/// its snapshot (if any), whether the snapshot folds the changes it holds (they are then not
/// among `accepted`), and its accepted changes outside the snapshot with their stored hashes.
#[derive(Debug, Clone, Default)]
pub struct StoredDocument {
    /// `Document::save()` bytes, if the store keeps a snapshot.
    pub snapshot: Option<Vec<u8>>,
    /// Whether the snapshot's changes are kept only in it.
    pub folded: bool,
    /// The accepted changes the store keeps beside the snapshot (all of them without one).
    pub accepted: Vec<(ChangeHash, crate::signed::SignedChange)>,
}

/// The replica's change source as the documents' [`DocSource`].
pub(super) struct FromSource(pub(super) Arc<dyn ChangeSource>);

impl DocSource for FromSource {
    fn load_document(&self, doc: DocId) -> Result<(Document, DocLog), String> {
        let stored = self.0.document(doc)?;
        restore_with_log(doc, stored).map_err(|e| e.to_string())
    }
}

impl From<LoadError> for Error {
    fn from(e: LoadError) -> Self {
        Error::Source {
            doc: e.doc,
            reason: e.reason,
        }
    }
}

/// A document restored from what the store holds of it (trusted: no signature or policy is
/// checked again, as on open).
pub fn restore_document(id: DocId, stored: StoredDocument) -> Result<Document, Error> {
    Ok(restore_with_log(id, stored)?.0)
}

/// [`restore_document`] with the document's change log.
fn restore_with_log(id: DocId, stored: StoredDocument) -> Result<(Document, DocLog), Error> {
    let StoredDocument {
        snapshot,
        folded,
        accepted,
    } = stored;
    let snapshot = match snapshot {
        Some(s) => s,
        None => {
            // No snapshot: the genesis alone is the snapshot, every accepted change the tail.
            let genesis =
                accepted
                    .iter()
                    .find(|(h, _)| h.0 == id.0)
                    .ok_or_else(|| Error::Source {
                        doc: id,
                        reason: "neither a snapshot nor the genesis is stored".into(),
                    })?;
            let change = automerge::Change::from_bytes(genesis.1.change.clone()).map_err(|e| {
                Error::Doc(crate::document::DocError::MalformedChange(e.to_string()))
            })?;
            Document::from_genesis(change, crate::kinds::layout)?.save()
        }
    };
    let loaded = Replica::load_snapshot(id, &snapshot)?;
    let prepared = if folded {
        loaded.prepare_folded(accepted)?
    } else {
        loaded.prepare_lazy(accepted)?
    };
    let (doc, entries) = prepared.into_parts();
    Ok((doc, DocLog::new(entries)))
}

impl Replica {
    /// Whether document `id` could be evicted now: held, resident, not the federation
    /// document (certificates and revocations are read by every decision), no change of it
    /// waiting (for dependencies or a certificate), no (actor, seq) slot of it contested
    /// (equivocation), not being drained, and a source to load it from again.
    pub fn evictable(&self, id: &DocId) -> bool {
        self.source.is_some()
            && self.docs.is_resident(id)
            && self.docs.kind(id) != Some(DocKind::Federation)
            && self.draining != Some(*id)
            && self.pending.get(id).is_none_or(BTreeMap::is_empty)
            && !self.awaiting.values().any(|sc| sc.doc == *id)
            && !self.carried.contains_key(id)
            && self
                .contested
                .range((*id, Vec::new(), 0)..)
                .next()
                .is_none_or(|((d, _, _), _)| d != id)
    }

    /// Drops document `id` and its change log from memory (see [`Docs`]) if
    /// [`Replica::evictable`]: the caller must have stored every change accepted into it (the
    /// source must give the document back with the same heads and changes). Returns whether
    /// it was evicted.
    pub fn evict(&mut self, id: &DocId) -> bool {
        self.evictable(id) && self.docs.evict(id, self.trust_epoch)
    }

    /// Evicts least recently used documents until at most `keep` are resident (the ones that
    /// cannot be evicted stay and count). Returns how many were evicted.
    pub fn evict_beyond(&mut self, keep: usize) -> usize {
        let resident = self.docs.by_use();
        let mut over = resident.len().saturating_sub(keep);
        let mut n = 0;
        for (_, id) in resident {
            if over == 0 {
                break;
            }
            if self.evict(&id) {
                n += 1;
                over -= 1;
            }
        }
        n
    }

    /// Evicts every document not used since the use counter read `mark`
    /// ([`Docs::clock`]). Returns how many were evicted.
    pub fn evict_unused_since(&mut self, mark: u64) -> usize {
        let stale: Vec<DocId> = self
            .docs
            .by_use()
            .into_iter()
            .take_while(|(used, _)| *used <= mark)
            .map(|(_, id)| id)
            .collect();
        stale.into_iter().filter(|id| self.evict(id)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::federation::FederationOp;
    use crate::replica::Applied;
    use crate::replica::Op;
    use crate::testutil::{MemStore, fed_id, ledger_of, node, now, patrol, replica, root, send};

    #[test]
    fn an_evicted_document_loads_back_for_reads_writes_and_received_changes() {
        let mut a = replica("dianye", 1);
        let store = MemStore::attach(&mut a);
        let doc = ledger_of(&mut a, "dianye");
        for i in 0..3 {
            patrol(&mut a, doc, &format!("dianye:{}", i + 1));
        }
        let mut b = replica("dianye", 2);
        for sc in a.changes(doc, &[]).unwrap() {
            b.apply(sc).unwrap();
        }
        let entries = a.ledger(doc).unwrap().entries();
        let heads = a.heads(doc).unwrap();
        let catalog = a.catalog().clone();
        let volunteer = "dianye:1".parse().unwrap();
        let balance = a.balance(&volunteer, crate::testutil::now());

        // Evicted: heads, header, catalog and the change log without loading.
        assert!(store.evict(&mut a, doc));
        assert!(!a.docs().is_resident(&doc));
        assert!(a.docs().contains_key(&doc));
        assert_eq!(a.heads(doc).unwrap(), heads);
        assert_eq!(a.header(doc).unwrap().kind, DocKind::Ledger);
        assert_eq!(a.catalog(), &catalog);
        assert_eq!(a.ids_of(DocKind::Ledger), vec![doc]);
        assert_eq!(a.logged(doc), 4);
        assert_eq!(a.docs().loads(), 0);
        // Serving its changes loads it (the log went with it).
        assert_eq!(a.changes(doc, &[]).unwrap(), b.changes(doc, &[]).unwrap());
        assert_eq!(a.docs().loads(), 1);
        assert!(store.evict(&mut a, doc));

        // A read loads it.
        assert_eq!(a.ledger(doc).unwrap().entries(), entries);
        assert!(a.docs().is_resident(&doc));
        assert_eq!(a.docs().loads(), 2);
        assert!(store.evict(&mut a, doc));
        assert_eq!(a.balance(&volunteer, crate::testutil::now()), balance);
        assert_eq!(a.docs().loads(), 3);

        // A write.
        assert!(store.evict(&mut a, doc));
        let mine = patrol(&mut a, doc, "dianye:4");
        assert!(matches!(b.apply(mine).unwrap(), Applied::Applied(_)));
        assert_eq!(a.docs().loads(), 4);

        // A received change, and a duplicate.
        assert!(store.evict(&mut a, doc));
        let theirs = patrol(&mut b, doc, "dianye:5");
        assert!(matches!(
            a.apply(theirs.clone()).unwrap(),
            Applied::Applied(_)
        ));
        assert!(store.evict(&mut a, doc));
        assert_eq!(a.apply(theirs).unwrap(), Applied::Duplicate);
        assert_eq!(a.heads(doc).unwrap(), b.heads(doc).unwrap());
        assert_eq!(a.catalog(), b.catalog());
        assert_eq!(
            a.ledger(doc).unwrap().entries(),
            b.ledger(doc).unwrap().entries()
        );
        assert!(a.docs().take_failure().is_none());
    }

    #[test]
    fn the_federation_and_documents_with_waiting_changes_stay() {
        let mut a = replica("dianye", 1);
        // Without a source nothing is evicted.
        let doc = ledger_of(&mut a, "dianye");
        assert!(!a.evict(&doc));
        let store = MemStore::attach(&mut a);
        assert!(!store.evict(&mut a, fed_id()));
        assert!(a.docs().is_resident(&fed_id()));
        // A change whose dependency is missing waits: its document stays.
        let mut b = replica("dianye", 2);
        for sc in a.changes(doc, &[]).unwrap() {
            b.apply(sc).unwrap();
        }
        patrol(&mut b, doc, "dianye:1");
        let second = patrol(&mut b, doc, "dianye:2");
        assert!(matches!(a.apply(second).unwrap(), Applied::Pending(_)));
        assert!(!a.evictable(&doc));
        assert!(!store.evict(&mut a, doc));
        assert_eq!(a.evict_beyond(0), 0);
        // Once it is applied, the document may go.
        for sc in b.changes(doc, &[]).unwrap() {
            a.apply(sc).unwrap();
        }
        assert_eq!(a.pending_len(), 0);
        assert!(store.evict(&mut a, doc));
    }

    #[test]
    fn least_recently_used_and_unused_documents_go_first() {
        let mut a = replica("dianye", 1);
        let store = MemStore::attach(&mut a);
        let docs: Vec<DocId> = (0..4).map(|_| ledger_of(&mut a, "dianye")).collect();
        // Saved in the store as they are, and used again.
        for d in &docs {
            assert!(store.evict(&mut a, *d));
            a.doc(*d).unwrap();
        }
        let mark = a.docs().clock();
        a.doc(docs[3]).unwrap();
        a.doc(docs[1]).unwrap();
        // Unused since the mark: docs[0] and docs[2] (the federation is never evicted).
        assert_eq!(a.evict_unused_since(mark), 2);
        assert!(!a.docs().is_resident(&docs[0]) && !a.docs().is_resident(&docs[2]));
        assert!(a.docs().is_resident(&docs[1]) && a.docs().is_resident(&docs[3]));
        // Beyond a count: the least recently used go (docs[3] was used before docs[1]).
        assert_eq!(a.evict_beyond(2), 1);
        assert!(a.docs().is_resident(&docs[1]) && !a.docs().is_resident(&docs[3]));
        assert!(a.docs().is_resident(&fed_id()));
        assert_eq!(a.docs().resident_len(), 2);
        // Every one loads back.
        for d in &docs {
            assert_eq!(a.doc(*d).unwrap().id(), *d);
        }
    }

    #[test]
    fn a_document_that_loads_wrong_is_an_error_and_decides_nothing() {
        let mut a = replica("dianye", 1);
        let store = MemStore::attach(&mut a);
        let doc = ledger_of(&mut a, "dianye");
        let other = ledger_of(&mut a, "dianye");
        patrol(&mut a, doc, "dianye:1");
        let mut b = replica("dianye", 2);
        for sc in a.changes(doc, &[]).unwrap() {
            b.apply(sc).unwrap();
        }
        let theirs = patrol(&mut b, doc, "dianye:2");
        assert!(store.evict(&mut a, doc));
        // The store gives back another document's bytes.
        *store.swap.lock().unwrap() = Some(a.doc(other).unwrap().save());
        let heads = a.heads(doc).unwrap();
        let e = a.doc(doc).unwrap_err();
        assert!(matches!(e, Error::Source { .. }), "{e}");
        let e = a.apply(theirs.clone()).unwrap_err();
        assert!(matches!(e, Error::Source { .. }), "{e}");
        assert_eq!(a.heads(doc).unwrap(), heads);
        assert_eq!(a.pending_len(), 0);
        assert!(a.rejected().is_empty());
        assert!(!a.has_change(&theirs.change_hash().unwrap()));
        // A read that cannot return the error leaves it to be taken.
        let _ = a.balance(&"dianye:1".parse().unwrap(), crate::testutil::now());
        let (failed, why) = a.docs().take_failure().unwrap();
        assert_eq!(failed, doc);
        assert!(!why.is_empty());
        assert!(a.docs().take_failure().is_none());
        // Repaired: it loads and the change applies.
        *store.swap.lock().unwrap() = None;
        assert!(matches!(a.apply(theirs).unwrap(), Applied::Applied(_)));
    }

    /// An evicted document's log goes with it: its change count and the cut-off of a
    /// revocation are read from what stays, a revocation loads only the evicted documents
    /// its subject signed in, and a duplicate of an evicted document's change is known.
    #[test]
    fn an_evicted_log_answers_counts_cut_offs_revocations_and_duplicates() {
        let mut w2 = replica("dianye", 2);
        let mut w3 = replica("dianye", 3);
        let l2 = ledger_of(&mut w2, "dianye");
        patrol(&mut w2, l2, "dianye:1");
        let dup = patrol(&mut w2, l2, "dianye:2");
        let l3 = ledger_of(&mut w3, "dianye");
        let other = patrol(&mut w3, l3, "dianye:1");
        let mut r = root();
        send(&w2, &mut r);
        send(&w3, &mut r);
        let mut plain = r.clone();
        // (Reporting a decision on an accepted change reads its document's log.)
        assert_eq!(r.take_decisions(), plain.take_decisions());
        let store = MemStore::attach(&mut r);
        assert!(store.evict(&mut r, l2) && store.evict(&mut r, l3));
        let subject = node("dianye", 2);

        // Counted and cut off without loading.
        assert_eq!((r.logged(l2), r.logged(l3)), (3, 2));
        assert_eq!(r.cutoff_of(&subject), plain.cutoff_of(&subject));
        assert_eq!(r.cutoff_of(&subject).len(), 1);
        assert_eq!(r.docs().loads(), 0);

        // The revocation: l2 (its subject's) is loaded and judged, l3 stays evicted.
        let revoke = |x: &mut Replica| {
            x.execute(
                fed_id(),
                Op::Federation(FederationOp::Revoke {
                    subject,
                    reason: "lost key".into(),
                    certs: None,
                }),
                now(),
            )
            .unwrap()
            .change
        };
        assert_eq!(revoke(&mut r), revoke(&mut plain));
        assert!(r.docs().is_resident(&l2));
        assert!(!r.docs().is_resident(&l3));
        assert_eq!(r.docs().loads(), 1);
        // A change after the cut-off is refused as without eviction.
        assert!(store.evict(&mut r, l2));
        let late = patrol(&mut w2, l2, "dianye:3");
        assert_eq!(
            format!("{:?}", r.apply(late.clone())),
            format!("{:?}", plain.apply(late))
        );
        assert_eq!(r.rejected().len(), 1);
        assert_eq!(r.take_decisions(), plain.take_decisions());

        // Duplicates of evicted documents' changes are known as such.
        assert!(store.evict(&mut r, l2));
        for sc in [dup, other] {
            assert!(!r.docs().is_resident(&sc.doc));
            assert!(r.has_change_in(sc.doc, &sc.change_hash().unwrap()));
            assert!(store.evict(&mut r, sc.doc));
            assert_eq!(r.apply(sc.clone()).unwrap(), Applied::Duplicate);
            assert!(r.docs().is_resident(&sc.doc));
        }
        assert_eq!(r.catalog(), plain.catalog());
        assert!(r.docs().take_failure().is_none());
    }
}
