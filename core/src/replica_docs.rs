//! The documents of a replica, each resident (its automerge document in memory) or evicted
//! (only its header and heads kept; loaded again from the replica's [`ChangeSource`] on first
//! use).
//!
//! Eviction never changes a decision: every decision reads documents through [`Docs`], which
//! loads an evicted document before handing it out (the same trusted restore as a node's
//! open), and the change log, the indexes of accepted changes, the waiting sets and the
//! catalog stay resident. A document that loads with other heads than it was evicted with is
//! refused ([`Error::Source`]), never used.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use automerge::ChangeHash;

use super::{ChangeSource, Error, Replica};
use crate::document::{Author, DocHeader, DocKind, Document};
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

/// One document's place: its header, the heads it had when it was evicted, and the document
/// while resident.
struct Slot {
    header: DocHeader,
    /// The heads at eviction (meaningful only while `doc` is empty).
    heads: Vec<ChangeHash>,
    doc: OnceLock<Document>,
    /// The use counter's value at the document's last use (for least-recently-used
    /// eviction).
    used: AtomicU64,
}

impl Clone for Slot {
    fn clone(&self) -> Self {
        Slot {
            header: self.header.clone(),
            heads: self.heads.clone(),
            doc: self.doc.clone(),
            used: AtomicU64::new(self.used.load(Ordering::Relaxed)),
        }
    }
}

/// The documents of a replica (see the module docs): a map from id to document whose
/// evicted entries load on first use.
pub struct Docs {
    slots: BTreeMap<DocId, Slot>,
    author: Author,
    source: Option<Arc<dyn ChangeSource>>,
    /// Counts uses; a slot's `used` is its value at the slot's last use.
    clock: AtomicU64,
    /// The first load that failed where no error could be returned (an iterator, a lookup
    /// answering `Option`), until taken by [`Docs::take_failure`].
    failed: Mutex<Option<(DocId, String)>>,
    /// Documents loaded again so far.
    loads: AtomicU64,
    /// Documents in memory.
    resident: AtomicUsize,
}

impl Clone for Docs {
    fn clone(&self) -> Self {
        Docs {
            slots: self.slots.clone(),
            author: self.author.clone(),
            source: self.source.clone(),
            clock: AtomicU64::new(self.clock.load(Ordering::Relaxed)),
            failed: Mutex::new(self.failed.lock().map(|f| f.clone()).unwrap_or(None)),
            loads: AtomicU64::new(self.loads.load(Ordering::Relaxed)),
            resident: AtomicUsize::new(self.resident.load(Ordering::Relaxed)),
        }
    }
}

impl std::fmt::Debug for Docs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Docs")
            .field("held", &self.slots.len())
            .field("resident", &self.resident_len())
            .finish()
    }
}

impl Docs {
    pub(super) fn new(author: Author) -> Self {
        Docs {
            slots: BTreeMap::new(),
            author,
            source: None,
            clock: AtomicU64::new(0),
            failed: Mutex::new(None),
            loads: AtomicU64::new(0),
            resident: AtomicUsize::new(0),
        }
    }

    pub(super) fn set_source(&mut self, source: Arc<dyn ChangeSource>) {
        self.source = Some(source);
    }

    /// Sets the actor of local writes on every document (and on those loaded later).
    #[cfg(test)]
    pub(super) fn set_author(&mut self, author: &Author) {
        self.author = author.clone();
        for s in self.slots.values_mut() {
            if let Some(d) = s.doc.get_mut() {
                d.set_author(author);
            }
        }
    }

    fn touch(&self, slot: &Slot) {
        slot.used.store(
            self.clock.fetch_add(1, Ordering::Relaxed) + 1,
            Ordering::Relaxed,
        );
    }

    /// Loads an evicted document from the source (trusted restore), checking it has the
    /// heads it was evicted with.
    fn load(&self, id: DocId, slot: &Slot) -> Result<Document, Error> {
        let fail = |reason: String| Error::Source { doc: id, reason };
        let source = self
            .source
            .as_ref()
            .ok_or_else(|| fail("evicted, and no change source is set".into()))?;
        let stored = source.document(id).map_err(fail)?;
        let mut d = restore_document(id, stored).map_err(|e| fail(e.to_string()))?;
        let mut want = slot.heads.clone();
        let mut got = d.heads();
        want.sort();
        got.sort();
        if want != got {
            return Err(fail(format!(
                "the stored document has {} heads other than the {} it was evicted with",
                got.len(),
                want.len()
            )));
        }
        d.set_author(&self.author);
        self.loads.fetch_add(1, Ordering::Relaxed);
        Ok(d)
    }

    fn record_failure(&self, id: DocId, e: &Error) {
        if let Ok(mut f) = self.failed.lock()
            && f.is_none()
        {
            *f = Some((id, e.to_string()));
        }
    }

    /// The document `id`, loaded if evicted: `Ok(None)` if it is not held, an error if it
    /// does not load.
    pub fn try_get(&self, id: &DocId) -> Result<Option<&Document>, Error> {
        let Some(slot) = self.slots.get(id) else {
            return Ok(None);
        };
        self.touch(slot);
        if let Some(d) = slot.doc.get() {
            return Ok(Some(d));
        }
        let d = self.load(*id, slot)?;
        // Set unless another thread loaded it meanwhile (the same document either way).
        if slot.doc.set(d).is_ok() {
            self.resident.fetch_add(1, Ordering::Relaxed);
        }
        Ok(slot.doc.get())
    }

    /// The document `id`, loaded if evicted; `None` if it is not held — or if it does not
    /// load, which is then kept for [`Docs::take_failure`] (use [`Docs::try_get`] where an
    /// error can be returned).
    pub fn get(&self, id: &DocId) -> Option<&Document> {
        match self.try_get(id) {
            Ok(d) => d,
            Err(e) => {
                self.record_failure(*id, &e);
                None
            }
        }
    }

    /// The document `id` to change, loaded if evicted.
    pub(super) fn try_get_mut(&mut self, id: &DocId) -> Result<Option<&mut Document>, Error> {
        if !self.ensure(id)? {
            return Ok(None);
        }
        Ok(self.slots.get_mut(id).and_then(|s| s.doc.get_mut()))
    }

    /// Loads `id` if it is held and evicted; whether it is held.
    pub(super) fn ensure(&self, id: &DocId) -> Result<bool, Error> {
        Ok(self.try_get(id)?.is_some())
    }

    /// Whether document `id` is held (resident or evicted).
    pub fn contains_key(&self, id: &DocId) -> bool {
        self.slots.contains_key(id)
    }
    /// Whether document `id` is held and in memory.
    pub fn is_resident(&self, id: &DocId) -> bool {
        self.slots.get(id).is_some_and(|s| s.doc.get().is_some())
    }
    /// How many documents are held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }
    /// Whether no document is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
    /// How many documents are in memory.
    pub fn resident_len(&self) -> usize {
        self.resident.load(Ordering::Relaxed)
    }
    /// How many evicted documents were loaded again so far.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }
    /// The ids of the documents held, in order.
    pub fn keys(&self) -> impl Iterator<Item = &DocId> {
        self.slots.keys()
    }
    /// The header of document `id` (kept while evicted).
    pub fn header(&self, id: &DocId) -> Option<&DocHeader> {
        self.slots.get(id).map(|s| &s.header)
    }
    /// The kind of document `id`.
    pub fn kind(&self, id: &DocId) -> Option<DocKind> {
        self.header(id).map(|h| h.kind)
    }
    /// The current heads of document `id`, without loading it.
    pub fn heads(&self, id: &DocId) -> Option<Vec<ChangeHash>> {
        let slot = self.slots.get(id)?;
        Some(match slot.doc.get() {
            Some(d) => d.heads(),
            None => slot.heads.clone(),
        })
    }
    /// Every document, loaded if evicted (a document that does not load is skipped and kept
    /// for [`Docs::take_failure`]). Prefer [`Docs::matching`] where the header decides.
    pub fn values(&self) -> impl Iterator<Item = &Document> + Clone {
        self.slots.keys().filter_map(|id| self.get(id))
    }
    /// Every document with its id, loaded if evicted (as [`Docs::values`]).
    pub fn iter(&self) -> impl Iterator<Item = (&DocId, &Document)> {
        self.slots
            .keys()
            .filter_map(|id| self.get(id).map(|d| (id, d)))
    }
    /// The documents whose header passes `keep`, loaded if evicted (only those).
    pub fn matching<'a>(
        &'a self,
        keep: impl Fn(&DocHeader) -> bool + Clone + 'a,
    ) -> impl Iterator<Item = &'a Document> + Clone + 'a {
        self.slots
            .iter()
            .filter(move |(_, s)| keep(&s.header))
            .filter_map(|(id, _)| self.get(id))
    }
    /// The documents of one kind, loaded if evicted (only those).
    pub fn of_kind(&self, kind: DocKind) -> impl Iterator<Item = &Document> + Clone {
        self.matching(move |h| h.kind == kind)
    }
    /// The first document that did not load where no error could be returned since the
    /// last call, with why.
    pub fn take_failure(&self) -> Option<(DocId, String)> {
        self.failed.lock().ok().and_then(|mut f| f.take())
    }

    pub(super) fn insert(&mut self, id: DocId, doc: Document) {
        let used = AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed) + 1);
        let slot = Slot {
            header: doc.header().clone(),
            heads: Vec::new(),
            doc: OnceLock::from(doc),
            used,
        };
        let was = self.slots.insert(id, slot);
        if was.is_none_or(|s| s.doc.get().is_none()) {
            self.resident.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn remove(&mut self, id: &DocId) -> bool {
        match self.slots.remove(id) {
            Some(s) => {
                if s.doc.get().is_some() {
                    self.resident.fetch_sub(1, Ordering::Relaxed);
                }
                true
            }
            None => false,
        }
    }

    /// Drops the document from memory, keeping its header and heads; whether it was
    /// resident.
    fn evict(&mut self, id: &DocId) -> bool {
        let Some(slot) = self.slots.get_mut(id) else {
            return false;
        };
        match slot.doc.take() {
            Some(d) => {
                slot.heads = d.heads();
                self.resident.fetch_sub(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// The resident documents, least recently used first, with their last use.
    fn by_use(&self) -> Vec<(u64, DocId)> {
        let mut v: Vec<(u64, DocId)> = self
            .slots
            .iter()
            .filter(|(_, s)| s.doc.get().is_some())
            .map(|(id, s)| (s.used.load(Ordering::Relaxed), *id))
            .collect();
        v.sort();
        v
    }

    /// The use counter now (see [`Replica::evict_unused_since`]).
    pub fn clock(&self) -> u64 {
        self.clock.load(Ordering::Relaxed)
    }
}

/// A document restored from what the store holds of it (trusted: no signature or policy is
/// checked again, as on open).
pub fn restore_document(id: DocId, stored: StoredDocument) -> Result<Document, Error> {
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
    Ok(prepared.into_document())
}

impl Replica {
    /// Whether document `id` could be evicted now: held, resident, not the federation
    /// document (certificates and revocations are read by every decision), no change of it
    /// waiting (for dependencies or a certificate), not being drained, and a source to load
    /// it from again.
    pub fn evictable(&self, id: &DocId) -> bool {
        self.source.is_some()
            && self.docs.is_resident(id)
            && self.docs.kind(id) != Some(DocKind::Federation)
            && self.draining != Some(*id)
            && self.pending.get(id).is_none_or(BTreeMap::is_empty)
            && !self.awaiting.values().any(|sc| sc.doc == *id)
            && !self.carried.contains_key(id)
    }

    /// Drops document `id` from memory (see [`Docs`]) if [`Replica::evictable`]: the caller
    /// must have stored every change accepted into it (the source must give the document
    /// back with the same heads). Returns whether it was evicted.
    pub fn evict(&mut self, id: &DocId) -> bool {
        self.evictable(id) && self.docs.evict(id)
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
    use crate::replica::Applied;
    use crate::testutil::{MemStore, fed_id, ledger_of, patrol, replica};

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
        let balance = a.balance(&volunteer);

        // Evicted: heads, header, catalog and the change log without loading.
        assert!(store.evict(&mut a, doc));
        assert!(!a.docs().is_resident(&doc));
        assert!(a.docs().contains_key(&doc));
        assert_eq!(a.heads(doc).unwrap(), heads);
        assert_eq!(a.header(doc).unwrap().kind, DocKind::Ledger);
        assert_eq!(a.catalog(), &catalog);
        assert_eq!(a.ids_of(DocKind::Ledger), vec![doc]);
        assert_eq!(a.changes(doc, &[]).unwrap(), b.changes(doc, &[]).unwrap());
        assert_eq!(a.docs().loads(), 0);

        // A read loads it.
        assert_eq!(a.ledger(doc).unwrap().entries(), entries);
        assert!(a.docs().is_resident(&doc));
        assert_eq!(a.docs().loads(), 1);
        assert!(store.evict(&mut a, doc));
        assert_eq!(a.balance(&volunteer), balance);
        assert_eq!(a.docs().loads(), 2);

        // A write.
        assert!(store.evict(&mut a, doc));
        let mine = patrol(&mut a, doc, "dianye:4");
        assert!(matches!(b.apply(mine).unwrap(), Applied::Applied(_)));
        assert_eq!(a.docs().loads(), 3);

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
        let _ = a.balance(&"dianye:1".parse().unwrap());
        let (failed, why) = a.docs().take_failure().unwrap();
        assert_eq!(failed, doc);
        assert!(why.contains("cannot read"), "{why}");
        assert!(a.docs().take_failure().is_none());
        // Repaired: it loads and the change applies.
        *store.swap.lock().unwrap() = None;
        assert!(matches!(a.apply(theirs).unwrap(), Applied::Applied(_)));
    }
}
