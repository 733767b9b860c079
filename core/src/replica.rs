//! A replica: a set of documents, typed writes that produce automerge changes, and `apply`
//! for changes that arrive from other replicas.
//!
//! Writes go through [`Replica::execute`] with an [`Op`]: the operation is validated against
//! the typed state of the document (and, for redemptions, the balances across the replica's
//! ledgers); only if it is valid is it turned into record puts committed as one change. An
//! invalid operation returns an [`Error`] and leaves every document unchanged.
//!
//! Every change is a [`SignedChange`]. Changes from elsewhere go through [`Replica::apply`],
//! which checks, before the change touches any document: the envelope (size, decoding,
//! signature, actor ↔ signer binding), the signer's certificate chain at the change's time,
//! the revocation cut-off, the document layout and record schemas, and the kind's write
//! policy for every operation. A change whose dependencies are missing waits in a bounded
//! pending set; a change whose signer has no valid chain (yet) waits until the federation
//! document changes; a duplicate is a no-op; anything else refused is recorded with its
//! reason, kept out of the documents and never offered to peers. When a revocation arrives
//! after changes beyond its cut-off were applied, the affected documents are rebuilt from
//! the change log without them and their dependents.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::cert::{CertError, Principal, Revocation, TrustStore, Withdrawn};
pub use crate::district::DistrictConfig;
use crate::docs::{DocLog, LogState, Logged};
use crate::document::{Author, DocError, DocHeader, DocKind, Document, Put, Write};
use crate::federation::{self, FederationOp};
use crate::identity::Keypair;
use crate::ids::*;
pub use crate::kind::{Ctx, Effect};
use crate::kinds;
pub use crate::kinds::{Error, NewDoc, Op};
pub use crate::outcome::{
    Applied, Decision, Equivocation, RejectReason, Rejection, WaitLimit, WaitingOn,
};
use crate::policy::PolicyError;
use crate::signed::{SignedChange, Verified};
use crate::time::Timestamp;
use automerge::{Change, ChangeHash};

/// Largest number of changes waiting for dependencies or a certificate, across all
/// documents.
///
/// Within it (see [`WaitLimit`]): one signer's waiting changes take at most a tenth; changes
/// waiting for a certificate at most half; changes parked for missing dependencies by keys
/// with no valid certificate chain at the change's time (the quarantine) at most a tenth,
/// and [`QUARANTINE_PER_KEY`] per key. So keys without a certificate, and any one certified
/// key, leave room for everyone else's out-of-order changes.
pub const MAX_PENDING: usize = 10_000;

/// Most changes one key without a valid certificate chain (at the change's time) may have
/// parked for missing dependencies: such a key cannot be checked until a certificate
/// arrives, and anyone can make one.
pub const QUARANTINE_PER_KEY: usize = 16;

/// Result of a successful write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// What the operation did.
    pub effect: Effect,
    /// The signed change to replicate.
    pub change: SignedChange,
    /// The personal data the operation carried, as a signed record kept beside the
    /// document (never in it); store it with the change.
    pub personal: Option<crate::personal::PersonalRecord>,
    /// The personal data of the rows a batch registered (a roster import), as signed
    /// records kept beside the document; store them with the change.
    pub personal_rows: Vec<crate::personal::PersonalRecord>,
}

/// A (document, actor, seq) slot.
type SlotKey = (DocId, Vec<u8>, u64);

/// What a replica saw in a slot used by more than one change.
#[derive(Debug, Clone)]
struct Contested {
    signer: NodeId,
    kept: ChangeHash,
    refused: BTreeSet<ChangeHash>,
}

/// Where a replica reads back the signed bytes of logged changes it does not keep in memory
/// (see [`LoadedSnapshot::prepare_lazy`]): the node's store.
pub trait ChangeSource: Send + Sync + std::fmt::Debug {
    /// The signed changes of `doc` with these hashes, in the same order.
    fn load(&self, doc: DocId, hashes: &[ChangeHash]) -> Result<Vec<SignedChange>, String>;

    /// What the store holds of document `doc`, to load it again after it was evicted from
    /// memory ([`Replica::evict`]): its snapshot and accepted changes. A source that keeps no
    /// documents answers with an error (the default), and documents are then never loaded
    /// back: do not evict.
    fn document(&self, doc: DocId) -> Result<StoredDocument, String> {
        Err(format!(
            "this change source keeps no documents (asked for {doc})"
        ))
    }
}

/// Seniority of a revocation: its signer's chain length at the revocation's time (the root
/// 0; no chain: `usize::MAX`), then the signer's key, then the record key. Smaller is more
/// senior.
type Seniority = (usize, NodeId, String);

/// A revocation in force, with the seniority it had when it took effect.
#[derive(Debug, Clone)]
struct Active {
    rev: Revocation,
    key: String,
    rank: Seniority,
}

/// How a change stands with the revocations in force.
enum Standing {
    /// The signer has a chain left: the principals to judge the change under. `revoked` is
    /// the refusal to report if the write policy refuses under that principal although it
    /// would allow the signer's full principal (a revocation took the authority needed).
    Stands {
        principal: Vec<Principal>,
        full: Vec<Principal>,
        revoked: Option<RejectReason>,
    },
    /// Revocations withdrew every chain of the signer.
    Revoked(RejectReason),
    /// The signer has no valid chain at all (the change waits for a certificate).
    NoChain(CertError),
}

/// Changes of a document this replica carries for others without reading it (relay role).
#[derive(Debug, Clone)]
struct Carried {
    header: DocHeader,
    log: Vec<Logged>,
    heads: BTreeSet<ChangeHash>,
}

/// An in-memory set of documents with their signed change logs.
#[derive(Debug, Clone)]
pub struct Replica {
    pub(crate) keypair: Keypair,
    author: Author,
    district: DistrictConfig,
    /// Every document held, resident or evicted (see [`Docs`]), each with its change log
    /// (accepted changes in causal order, their times and (actor, seq) slots: see
    /// [`DocLog`]), which is evicted and loaded with the document.
    docs: Docs,
    /// The catalog: every document's heads digest, kept current on every change, so sync can
    /// reconcile without loading documents.
    catalog: BTreeMap<DocId, [u8; 32]>,
    /// Documents carried for others (relay role): verified envelopes, never applied.
    carried: BTreeMap<DocId, Carried>,
    /// Slots used by two or more different changes (equivocation): the one kept (the
    /// smallest hash, so the outcome does not depend on which arrived first) and the ones
    /// refused.
    contested: BTreeMap<SlotKey, Contested>,
    /// Keys that equivocated, with their lowest contested slot.
    equivocators: BTreeMap<NodeId, Equivocation>,
    /// Changes waiting for dependencies: doc → change hash → change.
    pending: BTreeMap<DocId, BTreeMap<ChangeHash, SignedChange>>,
    /// The document whose pending changes are being drained (its applies do not drain
    /// again: the drain loop picks up what they unblock, so depth stays constant).
    draining: Option<DocId>,
    /// Changes whose signer has no valid chain yet, retried when the federation changes.
    awaiting: BTreeMap<ChangeHash, SignedChange>,
    /// Changes in `pending` and `awaiting` per signer (so per-signer bounds cost no scan).
    waiting_by: BTreeMap<NodeId, usize>,
    /// Changes in `pending` whose signer had no valid chain at the change's time when they
    /// were parked (the quarantine): (document, hash) → signer.
    quarantine: BTreeMap<(DocId, ChangeHash), NodeId>,
    /// Refused changes; never applied, never forwarded (not even as the cover of a covered
    /// change, see ARCHITECTURE.md, "Covered changes").
    rejected: BTreeMap<ChangeHash, Rejection>,
    /// Covered changes (no signature of their own) shown authentic by a batch that covered
    /// them ([`signed::cover`]) and not accepted yet — waiting, refused, or being judged
    /// again — so they are taken again without their cover. Dropped when accepted.
    vouched: HashSet<ChangeHash>,
    trust: TrustStore,
    /// Every revocation record of the federation documents, by record key.
    records: BTreeMap<String, Revocation>,
    /// The revocations in force, by subject (see [`Replica::resolve_revocations`]).
    in_force: BTreeMap<NodeId, Vec<Active>>,
    /// What the revocations in force were last resolved for: the revocation records and the
    /// certificate ids then held.
    resolved: Option<(BTreeMap<String, Revocation>, BTreeSet<CertId>)>,
    /// Changes refused because of a revocation, directly or as dependents: judged again
    /// whenever the revocations in force are resolved again (the revocation may since have
    /// lost to a more senior one, or another certificate may have arrived).
    revisable: BTreeMap<ChangeHash, SignedChange>,
    /// The bytes of every refused change: a refusal judged while a dependency stood is judged
    /// again when that dependency is removed (see [`Replica::rebuild`]).
    refused: BTreeMap<ChangeHash, SignedChange>,
    /// Refusals withdrawn to be judged again so far (see [`Replica::refusals_withdrawn`]).
    withdrawn: u64,
    /// Documents created by this replica (part of each new header, so ids differ).
    created: u64,
    /// Counts the times the trust store was rebuilt from scratch (certificates may have gone):
    /// an evicted document's changes all had a chain at the epoch it was evicted in.
    trust_epoch: u64,
    /// Bound of the pending and awaiting sets (default [`MAX_PENDING`]).
    pub max_pending: usize,
    /// Where logged changes not kept in memory are read back from.
    source: Option<Arc<dyn ChangeSource>>,
    /// Personal records held here (this node is in their audience), by (document, record).
    personal: BTreeMap<(DocId, String), crate::personal::PersonalRecord>,
    /// Changes whose standing changed since [`Replica::take_decisions`] was last called,
    /// with their document.
    touched: BTreeMap<ChangeHash, DocId>,
    /// Keys whose equivocation was reported by [`Replica::take_decisions`].
    reported_equivocators: BTreeSet<NodeId>,
    /// Documents restored from a peer's snapshot and not yet verified (fast join): readable
    /// and writable here, never served to peers (see [`Replica::mark_provisional`]).
    provisional: BTreeSet<DocId>,
}

impl Replica {
    /// An empty replica for the node with `keypair`, acting for `org`, trusting `root`.
    /// `incarnation` must be fresh random bytes each time the replica is built for a store
    /// (linli-node draws them on every open), so an (actor, seq) pair is never reused, not
    /// even by a node restored from a copy of its data directory.
    pub fn new(keypair: Keypair, incarnation: [u8; 8], org: OrgId, root: NodeId) -> Self {
        let author = Author {
            node: keypair.node_id(),
            incarnation,
            org,
        };
        let docs = Docs::new(author.clone());
        Self {
            keypair,
            author,
            district: DistrictConfig::default(),
            docs,
            catalog: BTreeMap::new(),
            carried: BTreeMap::new(),
            contested: BTreeMap::new(),
            equivocators: BTreeMap::new(),
            pending: BTreeMap::new(),
            draining: None,
            awaiting: BTreeMap::new(),
            waiting_by: BTreeMap::new(),
            quarantine: BTreeMap::new(),
            rejected: BTreeMap::new(),
            vouched: HashSet::new(),
            trust: TrustStore::new(root),
            records: BTreeMap::new(),
            in_force: BTreeMap::new(),
            resolved: None,
            revisable: BTreeMap::new(),
            refused: BTreeMap::new(),
            withdrawn: 0,
            created: 0,
            trust_epoch: 0,
            max_pending: MAX_PENDING,
            source: None,
            personal: BTreeMap::new(),
            touched: BTreeMap::new(),
            reported_equivocators: BTreeSet::new(),
            provisional: BTreeSet::new(),
        }
    }

    /// The writing identity.
    pub fn author(&self) -> &Author {
        &self.author
    }
    /// The configured root key.
    pub fn root(&self) -> &NodeId {
        self.trust.root()
    }
    /// District settings (from the federation document; defaults until one arrives).
    pub fn district(&self) -> &DistrictConfig {
        &self.district
    }
    /// The trust store built from the federation documents.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }
    /// The revocations in force, most senior first (see ARCHITECTURE.md, "Revocation").
    pub fn revocations_in_force(&self) -> Vec<&Revocation> {
        let mut all: Vec<&Active> = self.in_force.values().flatten().collect();
        all.sort_by(|a, b| a.rank.cmp(&b.rank));
        all.into_iter().map(|a| &a.rev).collect()
    }
    /// The principal of a key at a time, per the federation documents held.
    pub fn principal(&self, node: &NodeId, at: Timestamp) -> Result<Principal, CertError> {
        self.trust.principal(node, at)
    }
    /// All documents (evicted ones load on use: see [`Docs`]).
    pub fn docs(&self) -> &Docs {
        &self.docs
    }
    /// One document (loaded if it was evicted).
    pub fn doc(&self, id: DocId) -> Result<&Document, Error> {
        self.docs.try_get(&id)?.ok_or(Error::UnknownDocument(id))
    }
    /// Ids of the documents of one kind.
    pub fn ids_of(&self, kind: DocKind) -> Vec<DocId> {
        self.docs
            .keys()
            .filter(|id| self.docs.kind(id) == Some(kind))
            .copied()
            .collect()
    }
    /// Number of changes waiting for dependencies or for a certificate.
    pub fn pending_len(&self) -> usize {
        self.pending.values().map(BTreeMap::len).sum::<usize>() + self.awaiting.len()
    }
    /// Refused changes with their reasons.
    pub fn rejected(&self) -> &BTreeMap<ChangeHash, Rejection> {
        &self.rejected
    }
    /// How many refusals were withdrawn to be judged again since the replica was built (the
    /// revocations were resolved again, or a dependency a refusal was judged on was removed):
    /// each then stands refused again, accepted, or waiting. [`Replica::rejected`] can only
    /// lose an entry when this grows, so a caller mirroring it compares its copy for
    /// withdrawn refusals only then.
    pub fn refusals_withdrawn(&self) -> u64 {
        self.withdrawn
    }
    /// Keys seen signing two different changes in one (document, actor, seq) slot, each with
    /// its lowest such slot (by document, actor, seq: the same on every replica that saw the
    /// same changes).
    pub fn equivocators(&self) -> &BTreeMap<NodeId, Equivocation> {
        &self.equivocators
    }
    /// Changes waiting for a valid certificate chain.
    pub fn awaiting(&self) -> impl Iterator<Item = &ChangeHash> {
        self.awaiting.keys()
    }
    /// Hashes of changes waiting for dependencies in document `id`.
    pub fn pending_of(&self, id: DocId) -> BTreeSet<ChangeHash> {
        self.pending
            .get(&id)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }
    /// Whether an accepted change is held, in any document: resident documents are looked at
    /// first, then evicted ones are loaded until it is found. Prefer
    /// [`Replica::has_change_in`] where the document is known.
    pub fn has_change(&self, hash: &ChangeHash) -> bool {
        let resident = |id: &&DocId| self.docs.is_resident(id);
        self.docs
            .keys()
            .filter(resident)
            .chain(self.docs.keys().filter(|id| !resident(id)))
            .any(|id| self.has_change_in(*id, hash))
    }

    /// Whether change `hash` is accepted in document `doc` (loaded if it was evicted; a
    /// document that does not load answers `false`, kept for [`Docs::take_failure`]).
    pub fn has_change_in(&self, doc: DocId, hash: &ChangeHash) -> bool {
        self.docs.log(&doc).is_some_and(|l| l.contains(hash))
    }

    /// Whether change `hash` is accepted in document `doc`, loading it if it was evicted (an
    /// error if it does not load).
    pub(crate) fn holds(&self, doc: DocId, hash: &ChangeHash) -> Result<bool, Error> {
        Ok(self.docs.try_log(&doc)?.is_some_and(|l| l.contains(hash)))
    }

    /// The timestamp of accepted change `hash` of document `doc` (dependencies are always in
    /// their change's document), loading it if it was evicted.
    pub(crate) fn time_of(&self, doc: DocId, hash: &ChangeHash) -> Option<i64> {
        self.docs.log(&doc).and_then(|l| l.time(hash))
    }

    /// The accepted change in a (document, actor, seq) slot, loading the document if it was
    /// evicted.
    pub(crate) fn slot(&self, slot: &SlotKey) -> Option<ChangeHash> {
        self.docs.log(&slot.0).and_then(|l| l.seq(&slot.1, slot.2))
    }

    /// Whether changes just applied to document `doc` (the change sent for it and those it
    /// released from waiting: all of `doc`) changed a federation document.
    pub(crate) fn in_federation(&self, doc: DocId, applied: &[ChangeHash]) -> bool {
        self.docs.kind(&doc) == Some(DocKind::Federation)
            && applied.iter().any(|h| self.has_change_in(doc, h))
    }

    /// Notes that the standing of change `hash` of `doc` may have changed, for
    /// [`Replica::take_decisions`].
    pub(crate) fn touch(&mut self, hash: ChangeHash, doc: DocId) {
        self.touched.insert(hash, doc);
    }

    /// Every decision made since the last call: each change whose standing changed
    /// (accepted, waiting, refused, or a refusal withdrawn and judged again) with where it
    /// stands now, and each key newly found equivocating. A node stores exactly these
    /// instead of comparing states; the order is by change hash, then keys.
    pub fn take_decisions(&mut self) -> Vec<Decision> {
        let touched = std::mem::take(&mut self.touched);
        let mut out = Vec::with_capacity(touched.len());
        for (hash, doc) in touched {
            out.push(if let Some(r) = self.rejected.get(&hash) {
                Decision::Refused(r.clone())
            } else if let Some(d) = self
                .pending
                .iter()
                .find(|(_, m)| m.contains_key(&hash))
                .map(|(d, _)| *d)
            {
                Decision::Waiting {
                    doc: d,
                    hash,
                    on: WaitingOn::Dependencies,
                }
            } else if self.awaiting.contains_key(&hash) {
                Decision::Waiting {
                    doc,
                    hash,
                    on: WaitingOn::Certificate,
                }
            } else if self.has_change_in(doc, &hash) {
                Decision::Accepted { doc, hash }
            } else {
                Decision::Waiting {
                    doc,
                    hash,
                    on: WaitingOn::Dropped,
                }
            });
        }
        for (signer, e) in &self.equivocators {
            if self.reported_equivocators.insert(*signer) {
                out.push(Decision::Equivocated {
                    signer: *signer,
                    equivocation: e.clone(),
                });
            }
        }
        out
    }

    pub(crate) fn doc_of_kind(&self, id: DocId, kind: DocKind) -> Result<&Document, Error> {
        let actual = self.docs.kind(&id).ok_or(Error::UnknownDocument(id))?;
        if actual != kind {
            return Err(Error::WrongKind {
                doc: id,
                expected: kind.label(),
                actual: actual.label(),
            });
        }
        self.doc(id)
    }

    /// The certificates revoked from this node's key: a new change is after every cut-off
    /// of a revocation of it.
    fn my_withdrawn(&self) -> crate::cert::Withdrawn {
        self.withdrawn_of(&self.author.node)
    }

    /// The certificates of `node` that revocations in force withdrew (from now on: what a
    /// key may read or write next is judged without them).
    pub fn withdrawn_of(&self, node: &NodeId) -> crate::cert::Withdrawn {
        let revs: Vec<&Active> = self.in_force.get(node).into_iter().flatten().collect();
        withdrawn_by(&revs)
    }

    /// Who `node` is as a reader at `now`: its principal without the certificates revoked
    /// from it; `None` when no chain is left (it then receives only the federation
    /// document). Sync decides what a peer receives on this.
    pub fn reader(&self, node: &NodeId, now: Timestamp) -> Option<Principal> {
        self.trust
            .principal_without(node, now, &self.withdrawn_of(node))
            .ok()
    }

    /// This node's principal for a write at `now`.
    fn me(&self, now: Timestamp) -> Result<Principal, Error> {
        let withdrawn = self.my_withdrawn();
        let p = match self
            .trust
            .principal_without(&self.author.node, now, &withdrawn)
        {
            Ok(p) => p,
            Err(CertError::Withdrawn { .. }) => return Err(Error::SelfRevoked),
            Err(e) => return Err(Error::NotCertified(e)),
        };
        if !p.is_root() && p.org.as_ref() != Some(&self.author.org) {
            return Err(Error::NotCertified(CertError::NoCertificate {
                node: format!("{} as {}", self.author.node.short(), self.author.org),
                root: self.trust.root().short(),
            }));
        }
        Ok(p)
    }

    // ---- typed read views -------------------------------------------------------------

    /// Read view of the federation document `id`.
    pub fn federation(&self, id: DocId) -> Result<federation::Federation<'_>, Error> {
        Ok(federation::Federation::new(
            self.doc_of_kind(id, DocKind::Federation)?,
        ))
    }
}

impl Logged {
    fn signed_hash(&self) -> ChangeHash {
        self.hash
    }
}

#[cfg(test)]
#[path = "replica_tests.rs"]
mod tests;

#[cfg(test)]
mod verified_tests {
    use crate::signed::SignedError;
    use crate::testutil::{ledger_of, patrol, replica};

    #[test]
    fn apply_verified_decides_like_apply() {
        let mut a = replica("dianye", 1);
        let doc = ledger_of(&mut a, "dianye");
        patrol(&mut a, doc, "dianye:1");
        patrol(&mut a, doc, "dianye:2");
        let changes = a.changes(doc, &[]).unwrap();
        let mut by_apply = replica("dianye", 2);
        let mut by_verified = replica("dianye", 2);
        // Out of order (a pending change), then everything again (duplicates).
        let order = [2, 0, 1, 0, 1, 2];
        for i in order {
            let expected = by_apply.apply(changes[i].clone()).unwrap();
            let verified = changes[i].clone().verified().unwrap();
            assert_eq!(verified.hash(), changes[i].change_hash().unwrap());
            let got = by_verified.apply_verified(verified).unwrap();
            assert_eq!(format!("{got:?}"), format!("{expected:?}"));
        }
        assert_eq!(
            by_apply.changes(doc, &[]).unwrap(),
            by_verified.changes(doc, &[]).unwrap()
        );
        assert_eq!(by_apply.catalog(), by_verified.catalog());
    }

    #[test]
    fn a_forged_change_never_becomes_verified() {
        let mut a = replica("dianye", 1);
        let doc = ledger_of(&mut a, "dianye");
        let sc = patrol(&mut a, doc, "dianye:1");
        let mut forged = sc.clone();
        forged.signature.as_mut().expect("signed").0[0] ^= 1;
        let (back, err) = forged.clone().verified().unwrap_err();
        assert_eq!(back, forged);
        assert_eq!(err, SignedError::BadSignature);
        let mut wrong_signer = sc.clone();
        wrong_signer.signer = replica("dianye", 2).author().node;
        assert!(matches!(
            wrong_signer.verified(),
            Err((_, SignedError::ActorMismatch { .. }))
        ));
        let mut garbage = sc;
        garbage.change.truncate(20);
        assert!(matches!(
            garbage.verified(),
            Err((_, SignedError::MalformedChange(_)))
        ));
    }
}

#[path = "replica_defaults.rs"]
mod defaults;
#[path = "replica_personal.rs"]
mod personal_records;
pub use defaults::{DEFAULT_CERT_DAYS, default_cert_name};
#[path = "replica_docs.rs"]
mod docs;
pub use crate::docs::Docs;
pub use docs::{StoredDocument, restore_document};
#[path = "replica_restore.rs"]
mod restore;
pub use restore::{LoadedSnapshot, PreparedRestore};

#[path = "replica_apply.rs"]
mod apply;
#[path = "replica_batch.rs"]
mod batch;
#[path = "replica_log.rs"]
mod log;
#[path = "replica_revoke.rs"]
mod revoke;
#[path = "replica_write.rs"]
mod write;
pub use batch::{BatchHooks, NoHooks};
#[path = "replica_verify.rs"]
mod verify;
pub use verify::RestoredVerdict;

/// The certificates the revocations `active` withdraw, with who withdrew them.
fn withdrawn_by(active: &[&Active]) -> Withdrawn {
    let mut w = Withdrawn::new();
    for a in active {
        for c in &a.rev.certs {
            w.add(*c, a.rev.by);
        }
    }
    w
}

/// Digest of a set of heads (order-independent): what the catalog records per document.
pub fn heads_digest(heads: &[ChangeHash]) -> [u8; 32] {
    let mut sorted = heads.to_vec();
    sorted.sort();
    let mut h = blake3::Hasher::new();
    h.update(b"linli/heads/v1");
    for x in &sorted {
        h.update(&x.0);
    }
    *h.finalize().as_bytes()
}
