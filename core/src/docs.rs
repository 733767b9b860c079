//! The documents of a replica, each resident (its automerge document and its change log with
//! the log's indexes in memory) or evicted (only its header, heads and a [`LogSummary`] kept;
//! loaded again through a [`DocSource`] on first use).
//!
//! Eviction never changes a decision: every decision reads documents through [`Docs`], which
//! loads an evicted document before handing it out, and whatever else a decision reads
//! stays resident (see `replica_docs.rs`). A document that loads with other heads than it
//! was evicted with is refused ([`LoadError`]), never used.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use automerge::ChangeHash;

use crate::document::{Author, DocHeader, DocKind, Document};
use crate::ids::{DocId, NodeId};
use crate::signed::SignedChange;

/// Where evicted documents are loaded from (the replica's change source, through the store).
pub(crate) trait DocSource: Send + Sync {
    /// Document `doc` as stored, restored (trusted), with its change log.
    fn load_document(&self, doc: DocId) -> Result<(Document, DocLog), String>;
}

/// One accepted change with what rebuilds and revocations need to know about it.
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    /// The signed change; `None` when it is read back from the change source on demand.
    pub(crate) signed: Option<SignedChange>,
    pub(crate) signer: NodeId,
    pub(crate) hash: ChangeHash,
    pub(crate) actor: Vec<u8>,
    pub(crate) seq: u64,
    pub(crate) time: i64,
    pub(crate) deps: Vec<ChangeHash>,
}

/// A document's accepted changes, in the order they were applied or restored (causal), with
/// their indexes: resident with the document, dropped with it on eviction. A change's
/// dependencies are always changes of its own document, so every lookup is per document.
#[derive(Debug, Clone, Default)]
pub(crate) struct DocLog {
    entries: Vec<Logged>,
    /// The timestamp of every accepted change (a change may not be older than its
    /// dependencies); doubles as the set of accepted hashes.
    times: HashMap<ChangeHash, i64>,
    /// Accepted changes by (actor, seq), to detect equivocation.
    seqs: BTreeMap<(Vec<u8>, u64), ChangeHash>,
}

impl DocLog {
    /// The log of these entries (in causal order).
    pub(crate) fn new(entries: Vec<Logged>) -> Self {
        let mut log = DocLog {
            entries: Vec::with_capacity(entries.len()),
            times: HashMap::with_capacity(entries.len()),
            seqs: BTreeMap::new(),
        };
        for e in entries {
            log.push(e);
        }
        log
    }
    /// Appends an accepted change (its dependencies before it).
    pub(crate) fn push(&mut self, e: Logged) {
        self.times.insert(e.hash, e.time);
        self.seqs.insert((e.actor.clone(), e.seq), e.hash);
        self.entries.push(e);
    }
    /// The entries, in causal order.
    pub(crate) fn entries(&self) -> &[Logged] {
        &self.entries
    }
    /// Whether change `hash` is accepted in this document.
    pub(crate) fn contains(&self, hash: &ChangeHash) -> bool {
        self.times.contains_key(hash)
    }
    /// The timestamp of accepted change `hash`.
    pub(crate) fn time(&self, hash: &ChangeHash) -> Option<i64> {
        self.times.get(hash).copied()
    }
    /// The accepted change in slot (`actor`, `seq`).
    pub(crate) fn seq(&self, actor: &[u8], seq: u64) -> Option<ChangeHash> {
        self.seqs.get(&(actor.to_vec(), seq)).copied()
    }
    /// The (actor, seq) slots with their changes, in order.
    #[cfg(test)]
    pub(crate) fn slots(&self) -> &BTreeMap<(Vec<u8>, u64), ChangeHash> {
        &self.seqs
    }
    /// How many changes are logged.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
    /// What stays in memory of this log while its document is evicted.
    fn summary(&self, epoch: u64) -> LogSummary {
        let mut signers: BTreeSet<NodeId> = BTreeSet::new();
        let mut last: BTreeMap<&[u8], (u64, ChangeHash)> = BTreeMap::new();
        for e in &self.entries {
            signers.insert(e.signer);
            let l = last.entry(e.actor.as_slice()).or_insert((e.seq, e.hash));
            if e.seq >= l.0 {
                *l = (e.seq, e.hash);
            }
        }
        LogSummary {
            count: self.entries.len(),
            last: last
                .into_iter()
                .map(|(actor, (seq, hash))| (Box::from(actor), seq, hash))
                .collect(),
            signers: signers.into_iter().collect(),
            epoch,
        }
    }
}

/// An actor's last change in a document: actor, seq, hash.
pub(crate) type LastOf = (Box<[u8]>, u64, ChangeHash);

/// What stays in memory of an evicted document's change log: enough to count its changes,
/// compute revocation cut-offs and tell whether re-judging its changes needs it loaded.
/// (Boxed slices, not maps: a map's first node costs more than a document's few actors.)
#[derive(Debug, Clone, Default)]
pub(crate) struct LogSummary {
    /// How many changes are logged.
    pub(crate) count: usize,
    /// Per actor (in order), its last (highest) seq and that change's hash.
    pub(crate) last: Box<[LastOf]>,
    /// Every signer of a logged change, in order.
    pub(crate) signers: Box<[NodeId]>,
    /// The replica's trust epoch when the document was evicted (see `Replica::enforce`).
    pub(crate) epoch: u64,
}

/// A document's change log as held now, without loading it.
pub(crate) enum LogState<'a> {
    /// The document is in memory: its whole log.
    Resident(&'a DocLog),
    /// The document is evicted: what stays of its log.
    Evicted(&'a LogSummary),
}

/// A document in memory with its change log.
#[derive(Clone)]
struct Resident {
    doc: Document,
    log: DocLog,
}

/// An evicted document that did not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot load document {doc} back: {reason}")]
pub struct LoadError {
    /// The document.
    pub doc: DocId,
    /// Why.
    pub reason: String,
}

/// One document's place: its header, the heads and log summary it had when it was evicted,
/// and the document with its log while resident.
struct Slot {
    header: DocHeader,
    /// The heads at eviction (meaningful only while `doc` is empty).
    heads: Vec<ChangeHash>,
    /// The log's summary at eviction (meaningful only while `doc` is empty).
    summary: LogSummary,
    doc: OnceLock<Resident>,
    /// The use counter's value at the document's last use (for least-recently-used
    /// eviction).
    used: AtomicU64,
}

impl Clone for Slot {
    fn clone(&self) -> Self {
        Slot {
            header: self.header.clone(),
            heads: self.heads.clone(),
            summary: self.summary.clone(),
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
    source: Option<Arc<dyn DocSource>>,
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
    pub(crate) fn new(author: Author) -> Self {
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

    pub(crate) fn set_source(&mut self, source: Arc<dyn DocSource>) {
        self.source = Some(source);
    }

    /// Sets the actor of local writes on every document (and on those loaded later).
    #[cfg(test)]
    pub(crate) fn set_author(&mut self, author: &Author) {
        self.author = author.clone();
        for s in self.slots.values_mut() {
            if let Some(r) = s.doc.get_mut() {
                r.doc.set_author(author);
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
    fn load(&self, id: DocId, slot: &Slot) -> Result<Resident, LoadError> {
        let fail = |reason: String| LoadError { doc: id, reason };
        let source = self
            .source
            .as_ref()
            .ok_or_else(|| fail("evicted, and no change source is set".into()))?;
        let (mut d, log) = source.load_document(id).map_err(fail)?;
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
        if log.len() != slot.summary.count {
            return Err(fail(format!(
                "the store holds {} accepted changes, not the {} it was evicted with",
                log.len(),
                slot.summary.count
            )));
        }
        d.set_author(&self.author);
        self.loads.fetch_add(1, Ordering::Relaxed);
        Ok(Resident { doc: d, log })
    }

    fn record_failure(&self, id: DocId, e: &LoadError) {
        if let Ok(mut f) = self.failed.lock()
            && f.is_none()
        {
            *f = Some((id, e.reason.clone()));
        }
    }

    /// What a `try_` read gave, with a failed load kept for [`Docs::take_failure`] as `None`.
    fn or_record<T>(&self, id: &DocId, read: Result<Option<T>, LoadError>) -> Option<T> {
        read.unwrap_or_else(|e| {
            self.record_failure(*id, &e);
            None
        })
    }

    /// The document `id`, loaded if evicted: `Ok(None)` if it is not held, an error if it
    /// does not load.
    pub fn try_get(&self, id: &DocId) -> Result<Option<&Document>, LoadError> {
        Ok(self.try_resident(id)?.map(|r| &r.doc))
    }

    /// The document `id` with its log, loaded if evicted.
    fn try_resident(&self, id: &DocId) -> Result<Option<&Resident>, LoadError> {
        let Some(slot) = self.slots.get(id) else {
            return Ok(None);
        };
        self.touch(slot);
        if let Some(r) = slot.doc.get() {
            return Ok(Some(r));
        }
        let r = self.load(*id, slot)?;
        // Set unless another thread loaded it meanwhile (the same document either way).
        if slot.doc.set(r).is_ok() {
            self.resident.fetch_add(1, Ordering::Relaxed);
        }
        Ok(slot.doc.get())
    }

    /// The change log of document `id`, loaded (with the document) if evicted: `Ok(None)` if
    /// it is not held, an error if it does not load.
    pub(crate) fn try_log(&self, id: &DocId) -> Result<Option<&DocLog>, LoadError> {
        Ok(self.try_resident(id)?.map(|r| &r.log))
    }

    /// The change log of document `id`, loaded if evicted; `None` if it is not held or does
    /// not load (kept for [`Docs::take_failure`], as [`Docs::get`]).
    pub(crate) fn log(&self, id: &DocId) -> Option<&DocLog> {
        self.or_record(id, self.try_log(id))
    }

    /// The change log of document `id` to append to, loaded if evicted.
    pub(crate) fn try_log_mut(&mut self, id: &DocId) -> Result<Option<&mut DocLog>, LoadError> {
        Ok(self.try_resident_mut(id)?.map(|r| &mut r.log))
    }

    /// The resident part of document `id` to change, loaded if evicted.
    fn try_resident_mut(&mut self, id: &DocId) -> Result<Option<&mut Resident>, LoadError> {
        if !self.ensure(id)? {
            return Ok(None);
        }
        Ok(self.slots.get_mut(id).and_then(|s| s.doc.get_mut()))
    }

    /// Document `id`'s change log as held now, without loading it.
    pub(crate) fn log_state(&self, id: &DocId) -> Option<LogState<'_>> {
        let slot = self.slots.get(id)?;
        Some(match slot.doc.get() {
            Some(r) => LogState::Resident(&r.log),
            None => LogState::Evicted(&slot.summary),
        })
    }

    /// How many accepted changes document `id` has (0 if not held), without loading it.
    pub(crate) fn logged(&self, id: &DocId) -> usize {
        match self.log_state(id) {
            Some(LogState::Resident(l)) => l.len(),
            Some(LogState::Evicted(s)) => s.count,
            None => 0,
        }
    }

    /// The document `id`, loaded if evicted; `None` if it is not held — or if it does not
    /// load, which is then kept for [`Docs::take_failure`] (use [`Docs::try_get`] where an
    /// error can be returned).
    pub fn get(&self, id: &DocId) -> Option<&Document> {
        self.or_record(id, self.try_get(id))
    }

    /// The document `id` to change, loaded if evicted.
    pub(crate) fn try_get_mut(&mut self, id: &DocId) -> Result<Option<&mut Document>, LoadError> {
        Ok(self.try_resident_mut(id)?.map(|r| &mut r.doc))
    }

    /// Loads `id` if it is held and evicted; whether it is held.
    pub(crate) fn ensure(&self, id: &DocId) -> Result<bool, LoadError> {
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
            Some(r) => r.doc.heads(),
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
    /// The documents whose ids lie in `range`, with their ids, in order, loaded if evicted
    /// (as [`Docs::values`]).
    pub fn range(
        &self,
        range: impl std::ops::RangeBounds<DocId>,
    ) -> impl Iterator<Item = (&DocId, &Document)> {
        self.slots
            .range(range)
            .filter_map(|(id, _)| self.get(id).map(|d| (id, d)))
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

    /// Holds `doc` as document `id`, keeping the log of the document it replaces if that is
    /// resident (a batch's changed copy of it), else with an empty log (a new document: its
    /// genesis is logged next).
    pub(crate) fn insert(&mut self, id: DocId, doc: Document) {
        let log = self
            .slots
            .get_mut(&id)
            .and_then(|s| s.doc.get_mut())
            .map(|r| std::mem::take(&mut r.log))
            .unwrap_or_default();
        self.insert_with_log(id, doc, log);
    }

    /// Holds `doc` with its log, replacing whatever was held for `id`.
    pub(crate) fn insert_with_log(&mut self, id: DocId, doc: Document, log: DocLog) {
        let used = AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed) + 1);
        let slot = Slot {
            header: doc.header().clone(),
            heads: Vec::new(),
            summary: LogSummary::default(),
            doc: OnceLock::from(Resident { doc, log }),
            used,
        };
        let was = self.slots.insert(id, slot);
        if was.is_none_or(|s| s.doc.get().is_none()) {
            self.resident.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn remove(&mut self, id: &DocId) -> bool {
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

    /// Drops the document and its log from memory, keeping its header, heads and the log's
    /// [`LogSummary`] (with the replica's trust `epoch`); whether it was resident.
    pub(crate) fn evict(&mut self, id: &DocId, epoch: u64) -> bool {
        let Some(slot) = self.slots.get_mut(id) else {
            return false;
        };
        match slot.doc.take() {
            Some(r) => {
                slot.heads = r.doc.heads();
                slot.summary = r.log.summary(epoch);
                self.resident.fetch_sub(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// The resident documents, least recently used first, with their last use.
    pub(crate) fn by_use(&self) -> Vec<(u64, DocId)> {
        let mut v: Vec<(u64, DocId)> = self
            .slots
            .iter()
            .filter(|(_, s)| s.doc.get().is_some())
            .map(|(id, s)| (s.used.load(Ordering::Relaxed), *id))
            .collect();
        v.sort();
        v
    }

    /// The use counter now (see `Replica::evict_unused_since`).
    pub fn clock(&self) -> u64 {
        self.clock.load(Ordering::Relaxed)
    }
}
