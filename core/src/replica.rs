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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use automerge::{Change, ChangeHash};
use crate::cert::{CertError, Principal, Revocation, TrustStore, Withdrawn};
use crate::document::{Author, DocError, DocHeader, DocKind, Document, Put, Write};
use crate::federation::{self, FederationOp};
use crate::identity::Keypair;
use crate::ids::*;
use crate::kinds;
use crate::policy::PolicyError;
pub use crate::district::DistrictConfig;
pub use crate::kind::{Ctx, Effect};
pub use crate::kinds::{Error, NewDoc, Op};
pub use crate::outcome::{Applied, Equivocation, RejectReason, Rejection, WaitLimit};
use crate::signed::{SignedChange, Verified};
use crate::time::Timestamp;

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
}

/// One accepted change with what rebuilds and revocations need to know about it.
#[derive(Debug, Clone)]
struct Logged {
    /// The signed change; `None` when it is read back from the change source on demand.
    signed: Option<SignedChange>,
    signer: NodeId,
    hash: ChangeHash,
    actor: Vec<u8>,
    seq: u64,
    time: i64,
    deps: Vec<ChangeHash>,
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
    keypair: Keypair,
    author: Author,
    district: DistrictConfig,
    docs: BTreeMap<DocId, Document>,
    /// Accepted changes per document, in the order they were applied (causal).
    log: BTreeMap<DocId, Vec<Logged>>,
    /// Index of accepted changes: hash → document.
    index: HashMap<ChangeHash, DocId>,
    /// The timestamp of every accepted change (a change may not be older than its
    /// dependencies).
    times: HashMap<ChangeHash, i64>,
    /// The catalog: every document's heads digest, kept current on every change, so sync can
    /// reconcile without loading documents.
    catalog: BTreeMap<DocId, [u8; 32]>,
    /// Documents carried for others (relay role): verified envelopes, never applied.
    carried: BTreeMap<DocId, Carried>,
    /// Accepted changes by (document, actor, seq), to detect equivocation.
    seqs: BTreeMap<SlotKey, ChangeHash>,
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
    /// Refused changes; never applied, never forwarded.
    rejected: BTreeMap<ChangeHash, Rejection>,
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
    /// Bound of the pending and awaiting sets (default [`MAX_PENDING`]).
    pub max_pending: usize,
    /// Where logged changes not kept in memory are read back from.
    source: Option<Arc<dyn ChangeSource>>,
    /// Personal records held here (this node is in their audience), by (document, record).
    personal: BTreeMap<(DocId, String), crate::personal::PersonalRecord>,
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
        Self {
            keypair,
            author,
            district: DistrictConfig::default(),
            docs: BTreeMap::new(),
            log: BTreeMap::new(),
            index: HashMap::default(),
            times: HashMap::default(),
            catalog: BTreeMap::new(),
            carried: BTreeMap::new(),
            seqs: BTreeMap::new(),
            contested: BTreeMap::new(),
            equivocators: BTreeMap::new(),
            pending: BTreeMap::new(),
            draining: None,
            awaiting: BTreeMap::new(),
            waiting_by: BTreeMap::new(),
            quarantine: BTreeMap::new(),
            rejected: BTreeMap::new(),
            trust: TrustStore::new(root),
            records: BTreeMap::new(),
            in_force: BTreeMap::new(),
            resolved: None,
            revisable: BTreeMap::new(),
            refused: BTreeMap::new(),
            withdrawn: 0,
            created: 0,
            max_pending: MAX_PENDING,
            source: None,
            personal: BTreeMap::new(),
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
    /// All documents.
    pub fn docs(&self) -> &BTreeMap<DocId, Document> {
        &self.docs
    }
    /// One document.
    pub fn doc(&self, id: DocId) -> Result<&Document, Error> {
        self.docs.get(&id).ok_or(Error::UnknownDocument(id))
    }
    /// Ids of the documents of one kind.
    pub fn ids_of(&self, kind: DocKind) -> Vec<DocId> {
        self.docs
            .values()
            .filter(|d| d.kind() == kind)
            .map(Document::id)
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
    /// Whether an accepted change is held.
    pub fn has_change(&self, hash: &ChangeHash) -> bool {
        self.index.contains_key(hash)
    }

    pub(crate) fn doc_of_kind(&self, id: DocId, kind: DocKind) -> Result<&Document, Error> {
        let d = self.doc(id)?;
        if d.kind() != kind {
            return Err(Error::WrongKind {
                doc: id,
                expected: kind.label(),
                actual: d.kind().label(),
            });
        }
        Ok(d)
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

    /// Creates a document owned by this node's organisation and returns its signed genesis.
    /// Registries, ledgers and wishes belong to a community and only it creates them; the
    /// federation document is created by the root.
    pub fn create(&mut self, new: NewDoc, now: Timestamp) -> Result<SignedChange, Error> {
        let me = self.me(now)?;
        self.created += 1;
        let owner = self.author.org.clone();
        let (header, initial) = new.genesis(owner, &me)?;
        let mut header = DocHeader {
            created: now,
            nonce: self.created,
            ..header
        };
        crate::kind::authorize_genesis(kinds::of(header.kind), &header, &me)?;
        // A replica rebuilt from a log restarts the counter, and a caller may reuse an
        // incarnation: never reuse a genesis (the same id would silently replace the
        // existing document).
        let (doc, change) = loop {
            let (doc, change) = Document::create(&self.author, header.clone(), &initial, crate::kinds::layout)?;
            if !self.docs.contains_key(&doc.id()) && !self.carried.contains_key(&doc.id()) {
                break (doc, change);
            }
            self.created += 1;
            header.nonce = self.created;
        };
        let id = doc.id();
        let signed = SignedChange::sign(&self.keypair, id, change.raw_bytes())?;
        self.docs.insert(id, doc);
        self.record(id, &signed, &change);
        if self
            .docs
            .get(&id)
            .is_some_and(|d| d.kind() == DocKind::Federation)
        {
            self.federation_changed();
        }
        Ok(signed)
    }

    /// Validates `op` against document `id` and, if valid and allowed by the write policy,
    /// commits it as one signed change.
    pub fn execute(&mut self, id: DocId, op: Op, now: Timestamp) -> Result<Written, Error> {
        let kind = op.kind();
        let (op, personal) = op.split_personal();
        let (puts, effect, message) = self.prepare(id, op, now)?;
        if let Some(p) = &personal {
            p.check()?;
        }
        let doc = self.doc_of_kind(id, kind)?;
        let author = self.author.clone();
        // Never older than what it builds on (receivers refuse backdated changes): a clock
        // behind another node's dates the change at its newest dependency instead.
        let stamp = doc
            .heads()
            .iter()
            .filter_map(|h| self.times.get(h))
            .fold(now, |t, d| t.max(Timestamp(*d)));
        let doc = self.docs.get_mut(&id).ok_or(Error::UnknownDocument(id))?;
        doc.set_author(&author);
        let change = doc.commit(stamp, &message, &puts)?;
        let signed = SignedChange::sign(&self.keypair, id, change.raw_bytes())?;
        self.record(id, &signed, &change);
        if kind == DocKind::Federation {
            self.federation_changed();
        }
        let personal = personal
            .zip(effect.personal_record())
            .map(|(data, record)| self.keep_own(id, record, data, stamp));
        Ok(Written {
            effect,
            change: signed,
            personal,
        })
    }

    /// What `op` would do on document `id` at `now` — validated and authorized exactly as
    /// [`Replica::execute`] does — without writing anything (a dry run).
    pub fn check(&self, id: DocId, op: Op, now: Timestamp) -> Result<Effect, Error> {
        let (op, personal) = op.split_personal();
        let effect = self.prepare(id, op, now).map(|(_, effect, _)| effect)?;
        if let Some(p) = &personal {
            p.check()?;
        }
        Ok(effect)
    }

    /// Plans `op` and checks it against the write policy, under each principal this node's
    /// key holds (a unit may be certified by two communities): the first that allows it
    /// wins; when none does, the first principal's error is returned.
    fn prepare(
        &self,
        id: DocId,
        op: Op,
        now: Timestamp,
    ) -> Result<(Vec<Put>, Effect, String), Error> {
        let principals = self.my_principals(now)?;
        let mut first_err = None;
        for me in &principals {
            match self.prepare_as(id, op.clone(), now, me) {
                Ok(planned) => return Ok(planned),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(
            first_err.unwrap_or(Error::NotCertified(CertError::NoCertificate {
                node: self.author.node.short(),
                root: self.trust.root().short(),
            })),
        )
    }

    fn prepare_as(
        &self,
        id: DocId,
        op: Op,
        now: Timestamp,
        me: &Principal,
    ) -> Result<(Vec<Put>, Effect, String), Error> {
        let kind = op.kind();
        let doc = self.doc_of_kind(id, kind)?;
        let ctx = Ctx {
            author: &self.author,
            scope: &me.scope,
            now,
            district: &self.district,
            docs: &self.docs,
        };
        let (puts, effect, message) =
            op.plan(doc, &ctx, |op| self.plan_federation(id, op, now))?;
        let writes: Vec<Write> = puts
            .iter()
            .map(|p| Write {
                map: p.map.to_string(),
                key: p.key.clone(),
                value: p.value.clone(),
            })
            .collect();
        crate::kind::authorize(kinds::of(kind), doc, &doc.heads(), me, &self.trust, now, &writes)?;
        Ok((puts, effect, message))
    }

    /// Every principal this node's key holds at `now` for its organisation (without the
    /// certificates revoked from it), shortest chain first.
    fn my_principals(&self, now: Timestamp) -> Result<Vec<Principal>, Error> {
        let first = self.me(now)?;
        let mut all: Vec<Principal> = self
            .trust
            .principals_without(&self.author.node, now, &self.my_withdrawn())
            .into_iter()
            .filter(|p| p.is_root() || p.org.as_ref() == Some(&self.author.org))
            .collect();
        if all.is_empty() {
            all.push(first);
        }
        Ok(all)
    }

    fn plan_federation(
        &self,
        id: DocId,
        op: FederationOp,
        now: Timestamp,
    ) -> Result<(Vec<Put>, Effect, String), Error> {
        let deny = |reason: String| {
            Error::Policy(PolicyError::Denied {
                who: self.author.org.to_string(),
                kind: DocKind::Federation.label(),
                map: "certs".into(),
                key: String::new(),
                reason,
            })
        };
        Ok(match op {
            FederationOp::Issue {
                subject,
                role,
                org,
                parent,
                name,
                not_before,
                not_after,
            } => {
                if not_after <= not_before {
                    return Err(deny("validity ends before it starts".into()));
                }
                let cert = crate::cert::Certificate::issue(
                    &self.keypair,
                    subject,
                    role,
                    org,
                    parent,
                    name,
                    not_before,
                    not_after,
                );
                let msg = format!("certify {} as {} {}", subject.short(), cert.role, cert.org);
                (
                    vec![Put::new("certs", federation::cert_key(&cert), &cert)],
                    Effect::Done,
                    msg,
                )
            }
            FederationOp::Revoke {
                subject,
                reason,
                certs,
            } => {
                let rev = Revocation {
                    subject,
                    certs: self.certs_to_revoke(id, subject, certs, now)?,
                    cutoff: self.cutoff_of(&subject),
                    reason,
                    by: self.author.node,
                    at: now,
                };
                let msg = format!(
                    "revoke {} certificate(s) of {} ({} cut-off entries)",
                    rev.certs.len(),
                    subject.short(),
                    rev.cutoff.len()
                );
                (
                    vec![Put::new(
                        "revocations",
                        federation::revocation_key(&rev),
                        &rev,
                    )],
                    Effect::Done,
                    msg,
                )
            }
            FederationOp::SetConfig(config) => {
                let _ = id;
                (
                    vec![Put::new("meta", "config", &config)],
                    Effect::Done,
                    "district settings".into(),
                )
            }
        })
    }

    /// The certificates of `subject` a revocation by this node withdraws: those named (each
    /// must be a certificate of `subject` in federation document `id` that this node may
    /// withdraw), or with `None` every such certificate this node may withdraw. Certificates
    /// this node already withdrew are left out; nothing left is an error.
    fn certs_to_revoke(
        &self,
        id: DocId,
        subject: NodeId,
        named: Option<Vec<CertId>>,
        now: Timestamp,
    ) -> Result<Vec<CertId>, Error> {
        let me = self.author.node;
        let deny = |reason: String| {
            Error::Policy(PolicyError::Denied {
                who: self.author.org.to_string(),
                kind: DocKind::Federation.label(),
                map: "revocations".into(),
                key: subject.to_string(),
                reason,
            })
        };
        if subject == *self.trust.root() {
            return Err(deny(
                "the root key cannot be revoked (a compromised root means a new district)".into(),
            ));
        }
        let view = federation::Federation::new(self.doc_of_kind(id, DocKind::Federation)?);
        let of_subject = view.certificates_of(&subject);
        let done: BTreeSet<CertId> = view
            .revocation_records()
            .into_iter()
            .filter(|(_, r)| r.by == me && r.subject == subject)
            .flat_map(|(_, r)| r.certs)
            .collect();
        let chosen: BTreeSet<CertId> = match named {
            Some(list) => {
                if list.is_empty() {
                    return Err(deny("name at least one certificate to revoke".into()));
                }
                for c in &list {
                    let Some(cert) = of_subject.iter().find(|x| x.id() == *c) else {
                        let other = view.certificates().into_iter().find(|x| x.id() == *c);
                        return Err(deny(match other {
                            Some(o) => format!(
                                "certificate {} is a certificate of key {}, not of key {}",
                                c.short(),
                                o.subject.short(),
                                subject.short()
                            ),
                            None => {
                                format!("no certificate {} in the federation document", c.short())
                            }
                        }));
                    };
                    self.trust.may_withdraw(&me, cert, now).map_err(deny)?;
                }
                list.into_iter().collect()
            }
            None => {
                let mine: BTreeSet<CertId> = of_subject
                    .iter()
                    .filter(|c| self.trust.may_withdraw(&me, c, now).is_ok())
                    .map(crate::cert::Certificate::id)
                    .collect();
                if mine.is_empty() {
                    return Err(deny(format!(
                        "key {} may not revoke key {}: it issued none of its certificates and \
                         is above none of them",
                        me.short(),
                        subject.short()
                    )));
                }
                mine
            }
        };
        let new: Vec<CertId> = chosen.difference(&done).copied().collect();
        if new.is_empty() {
            return Err(deny(format!(
                "key {} already revoked {} of key {}",
                me.short(),
                if chosen.len() == 1 {
                    "this certificate"
                } else {
                    "these certificates"
                },
                subject.short()
            )));
        }
        Ok(new)
    }

    /// What this replica has accepted from `subject`: per document and actor, the last seq
    /// and its hash.
    fn cutoff_of(&self, subject: &NodeId) -> Vec<crate::cert::CutoffEntry> {
        let mut last: BTreeMap<(DocId, Vec<u8>), (u64, [u8; 32])> = BTreeMap::new();
        for (doc, entries) in &self.log {
            for e in entries {
                if e.actor.len() == 40 && e.actor[..32] == subject.0 {
                    let slot = last.entry((*doc, e.actor.clone())).or_insert((0, [0; 32]));
                    if e.seq >= slot.0 {
                        *slot = (e.seq, e.signed_hash().0);
                    }
                }
            }
        }
        last.into_iter()
            .map(|((doc, actor), (seq, hash))| crate::cert::CutoffEntry {
                doc,
                actor,
                seq,
                hash,
            })
            .collect()
    }

    fn record(&mut self, id: DocId, signed: &SignedChange, change: &Change) {
        self.index.insert(change.hash(), id);
        self.times.insert(change.hash(), change.timestamp());
        self.refresh_catalog(id);
        self.seqs.insert(
            (id, change.actor_id().to_bytes().to_vec(), change.seq()),
            change.hash(),
        );
        self.log.entry(id).or_default().push(Logged {
            signed: Some(signed.clone()),
            signer: signed.signer,
            hash: change.hash(),
            actor: change.actor_id().to_bytes().to_vec(),
            seq: change.seq(),
            time: change.timestamp(),
            deps: change.deps().to_vec(),
        });
    }

    fn refresh_catalog(&mut self, id: DocId) {
        match self.docs.get(&id) {
            Some(d) => {
                self.catalog.insert(id, heads_digest(&d.heads()));
            }
            None => {
                self.catalog.remove(&id);
            }
        }
    }

    /// The header of a document held or carried.
    pub fn header(&self, id: DocId) -> Result<&DocHeader, Error> {
        match (self.docs.get(&id), self.carried.get(&id)) {
            (Some(d), _) => Ok(d.header()),
            (None, Some(c)) => Ok(&c.header),
            (None, None) => Err(Error::UnknownDocument(id)),
        }
    }

    /// Whether a document is carried for others rather than held.
    pub fn is_carried(&self, id: DocId) -> bool {
        self.carried.contains_key(&id)
    }

    /// Relay role: keeps a signed change of a document this node may not read, to pass it
    /// on. The envelope (signature, actor binding) and the signer's certificate chain are
    /// verified; the change is not applied and its content is not read. Changes must arrive
    /// in causal order (as sync sends them), the genesis first. Returns whether it was new.
    pub fn carry(&mut self, sc: SignedChange) -> Result<bool, Error> {
        if self.docs.contains_key(&sc.doc) {
            return Err(Error::WrongKind {
                doc: sc.doc,
                expected: "carried document",
                actual: "document held by this replica",
            });
        }
        let change = sc.verify()?;
        let hash = change.hash();
        if let Some(c) = self.carried.get(&sc.doc)
            && c.log.iter().any(|e| e.hash == hash)
        {
            return Ok(false);
        }
        let at = Timestamp(change.timestamp());
        self.trust
            .principal(&sc.signer, at)
            .map_err(Error::NotCertified)?;
        let entry = Logged {
            signed: Some(sc.clone()),
            signer: sc.signer,
            hash,
            actor: change.actor_id().to_bytes().to_vec(),
            seq: change.seq(),
            time: change.timestamp(),
            deps: change.deps().to_vec(),
        };
        let carried = match self.carried.get_mut(&sc.doc) {
            Some(c) => c,
            None => {
                if !change.deps().is_empty() || DocId::from(hash) != sc.doc {
                    return Err(Error::UnknownDocument(sc.doc));
                }
                let header = Document::from_genesis(change.clone(), crate::kinds::layout)?.header().clone();
                self.carried.entry(sc.doc).or_insert(Carried {
                    header,
                    log: Vec::new(),
                    heads: BTreeSet::new(),
                })
            }
        };
        if let Some(missing) = entry
            .deps
            .iter()
            .find(|d| !carried.log.iter().any(|e| e.hash == **d))
        {
            return Err(Error::Doc(DocError::MalformedChange(format!(
                "carried change depends on {} which was not carried before it",
                hex::encode(&missing.0[..4])
            ))));
        }
        for d in &entry.deps {
            carried.heads.remove(d);
        }
        carried.heads.insert(hash);
        carried.log.push(entry);
        let heads: Vec<ChangeHash> = carried.heads.iter().copied().collect();
        self.catalog.insert(sc.doc, heads_digest(&heads));
        Ok(true)
    }

    /// The catalog: each document's heads digest ([`heads_digest`]).
    pub fn catalog(&self) -> &BTreeMap<DocId, [u8; 32]> {
        &self.catalog
    }

    /// Current heads of a document held or carried.
    pub fn heads(&self, id: DocId) -> Result<Vec<ChangeHash>, Error> {
        if let Some(c) = self.carried.get(&id) {
            return Ok(c.heads.iter().copied().collect());
        }
        Ok(self.doc(id)?.heads())
    }

    /// All accepted changes of a document that are not `have` or their ancestors (all if
    /// `have` is empty), in causal order. Unknown hashes in `have` are ignored.
    pub fn changes(&self, id: DocId, have: &[ChangeHash]) -> Result<Vec<SignedChange>, Error> {
        let log = match (self.log.get(&id), self.carried.get(&id)) {
            (Some(l), _) => l.as_slice(),
            (None, Some(c)) => c.log.as_slice(),
            (None, None) => return Err(Error::UnknownDocument(id)),
        };
        let mut known: BTreeSet<ChangeHash> = BTreeSet::new();
        if !have.is_empty() {
            let deps: BTreeMap<ChangeHash, &[ChangeHash]> =
                log.iter().map(|e| (e.hash, e.deps.as_slice())).collect();
            let mut stack: Vec<ChangeHash> = have
                .iter()
                .filter(|h| deps.contains_key(h))
                .copied()
                .collect();
            while let Some(h) = stack.pop() {
                if known.insert(h) {
                    stack.extend(deps.get(&h).copied().unwrap_or_default());
                }
            }
        }
        let wanted: Vec<&Logged> = log.iter().filter(|e| !known.contains(&e.hash)).collect();
        self.signed_of(id, &wanted)
    }

    /// How many accepted changes of `doc` are logged (0 for a document not held).
    pub fn logged(&self, doc: DocId) -> usize {
        self.log.get(&doc).map_or(0, Vec::len)
    }

    /// Reads logged changes not kept in memory from this source from now on; set it before
    /// restoring with [`LoadedSnapshot::prepare_lazy`].
    pub fn set_source(&mut self, source: Arc<dyn ChangeSource>) {
        self.source = Some(source);
    }

    /// The signed changes of log entries, from memory or (one batch) from the source.
    fn signed_of(&self, doc: DocId, entries: &[&Logged]) -> Result<Vec<SignedChange>, Error> {
        let missing: Vec<ChangeHash> = entries
            .iter()
            .filter(|e| e.signed.is_none())
            .map(|e| e.hash)
            .collect();
        let mut loaded = if missing.is_empty() {
            Vec::new()
        } else {
            let source = self.source.as_ref().ok_or_else(|| Error::Source {
                doc,
                reason: "no change source is set".into(),
            })?;
            let got = source
                .load(doc, &missing)
                .map_err(|reason| Error::Source { doc, reason })?;
            if got.len() != missing.len() || got.iter().any(|sc| sc.doc != doc) {
                return Err(Error::Source {
                    doc,
                    reason: format!("asked for {} changes, got {}", missing.len(), got.len()),
                });
            }
            got
        }
        .into_iter();
        Ok(entries
            .iter()
            .filter_map(|e| match &e.signed {
                Some(sc) => Some(sc.clone()),
                None => loaded.next(),
            })
            .collect())
    }

    /// Decodes an encoded [`SignedChange`] and applies it.
    pub fn apply_bytes(&mut self, bytes: &[u8]) -> Result<Applied, Error> {
        let sc = SignedChange::decode(bytes)?;
        self.apply(sc)
    }

    /// Verifies and applies a signed change from another replica.
    ///
    /// Errors leave every document unchanged. [`Error::Rejected`] is final for that change
    /// (it is recorded and never forwarded); [`Error::Envelope`] is not recorded, because a
    /// forged envelope must not block the genuine change with the same hash.
    pub fn apply(&mut self, sc: SignedChange) -> Result<Applied, Error> {
        // Replays are the common case in sync: recognise them before checking signatures.
        let change = sc.parse()?;
        if self.index.contains_key(&change.hash()) {
            return Ok(Applied::Duplicate);
        }
        let verified = sc.verify_parsed(change)?;
        self.apply_verified(verified)
    }

    /// [`Replica::apply`] of a change whose envelope (signature, actor binding, canonical
    /// bytes) was already checked by [`SignedChange::verified`], e.g. on another thread:
    /// everything else (duplicates, dependencies, certificate chain, revocations, layout,
    /// write policy) is checked here as in `apply`.
    pub fn apply_verified(&mut self, verified: Verified) -> Result<Applied, Error> {
        let outcome = self.apply_one_verified(verified)?;
        if let Applied::Applied(hashes) = &outcome
            && hashes.iter().any(|h| {
                self.index
                    .get(h)
                    .and_then(|d| self.docs.get(d))
                    .is_some_and(|d| d.kind() == DocKind::Federation)
            })
        {
            self.federation_changed();
        }
        Ok(outcome)
    }

    fn apply_one(&mut self, sc: SignedChange) -> Result<Applied, Error> {
        // Replays are the common case in sync: recognise them before checking signatures.
        let change = sc.parse()?;
        if self.index.contains_key(&change.hash()) {
            return Ok(Applied::Duplicate);
        }
        let verified = sc.verify_parsed(change)?;
        self.apply_one_verified(verified)
    }

    fn apply_one_verified(&mut self, verified: Verified) -> Result<Applied, Error> {
        let (sc, change) = verified.into_parts();
        let hash = change.hash();
        if self.index.contains_key(&hash) {
            return Ok(Applied::Duplicate);
        }
        let id = sc.doc;
        if let Some(r) = self.rejected.get(&hash) {
            return Err(Error::Rejected(Box::new(r.clone())));
        }
        if !self.docs.contains_key(&id) && !change.deps().is_empty() {
            if self.rejected.contains_key(&ChangeHash(id.0)) {
                return self.reject_dependent(&sc, hash, ChangeHash(id.0));
            }
            let at = Timestamp(change.timestamp());
            return self.park(id, sc, vec![ChangeHash(id.0)], at);
        }
        if let Some(doc) = self.docs.get(&id) {
            if change.deps().is_empty() {
                return self.reject(
                    &sc,
                    hash,
                    RejectReason::WrongDocument("a second genesis for an existing document".into()),
                );
            }
            let missing = doc.missing_deps(&change);
            if !missing.is_empty() {
                if let Some(bad) = missing.iter().find(|m| self.rejected.contains_key(m)) {
                    return self.reject_dependent(&sc, hash, *bad);
                }
                return self.park(id, sc, missing, Timestamp(change.timestamp()));
            }
        }
        let at = Timestamp(change.timestamp());
        if let Some((dep, t)) = change
            .deps()
            .iter()
            .filter_map(|d| self.times.get(d).map(|t| (d, *t)))
            .find(|(_, t)| *t > at.0)
        {
            // A change cannot be older than what it builds on: otherwise a key could write
            // onto newer history with a time inside its (expired) certificate's validity.
            let reason = RejectReason::Backdated {
                at,
                dep: hex::encode(&dep.0[..4]),
                dep_at: Timestamp(t),
            };
            return self.reject(&sc, hash, reason);
        }
        let actor = change.actor_id().to_bytes().to_vec();
        let standing = self.standing(&id, &sc.signer, &actor, change.seq(), &hash, at, || {
            // Only a federation change can write revocations.
            self.docs
                .get(&id)
                .filter(|d| d.kind() == DocKind::Federation && !change.deps().is_empty())
                .and_then(|d| d.writes_of(&change).ok())
                .and_then(|w| self.rank_of_writes(&w))
        });
        let (principal, full, revoked) = match standing {
            Standing::Stands {
                principal,
                full,
                revoked,
            } => (principal, full, revoked),
            Standing::Revoked(reason) => return self.reject(&sc, hash, reason),
            Standing::NoChain(e) => {
                if self.awaiting.contains_key(&hash) {
                    return Ok(Applied::AwaitingCertificate(e));
                }
                // Uncertified keys must not crowd out honest changes waiting for their
                // dependencies: changes without a chain get half of the bound, and one key at
                // most a tenth of it (its parked changes included).
                let limits = [
                    (
                        self.waiting_of(&sc.signer),
                        self.signer_share(),
                        WaitLimit::Signer,
                    ),
                    (
                        self.awaiting.len(),
                        self.max_pending / 2,
                        WaitLimit::Awaiting,
                    ),
                    (self.pending_len(), self.max_pending, WaitLimit::All),
                ];
                if let Some(&(_, limit, bound)) = limits.iter().find(|(n, l, _)| n >= l) {
                    return Err(Self::full(limit, bound, &sc.signer, hash));
                }
                self.count_waiting(sc.signer);
                self.awaiting.insert(hash, sc);
                return Ok(Applied::AwaitingCertificate(e));
            }
        };
        // A refusal under the authority a revocation left, where the full authority would
        // allow the change, is reported as caused by that revocation.
        let denied = |e: PolicyError, full_allows: bool| match &revoked {
            Some(r) if full_allows => r.clone(),
            _ => RejectReason::Policy(e),
        };
        if change.deps().is_empty() {
            if DocId::from(hash) != id {
                // Not recorded by hash: the same genesis is valid for its own document.
                return Err(Error::Rejected(Box::new(Rejection {
                    doc: id,
                    hash,
                    signer: sc.signer,
                    reason: RejectReason::WrongDocument(format!(
                        "genesis {} does not create document {id}",
                        DocId::from(hash)
                    )),
                })));
            }
            let doc = match Document::from_genesis(change.clone(), crate::kinds::layout) {
                Ok(d) => d,
                Err(e) => return self.reject(&sc, hash, RejectReason::Layout(e)),
            };
            if let Err(e) = crate::kind::authorize_genesis_any(kinds::of(doc.kind()), doc.header(), &principal) {
                let full_allows = crate::kind::authorize_genesis_any(kinds::of(doc.kind()), doc.header(), &full).is_ok();
                return self.reject(&sc, hash, denied(e, full_allows));
            }
            let mut doc = doc;
            doc.set_author(&self.author);
            self.docs.insert(id, doc);
        } else {
            let Some(doc) = self.docs.get(&id) else {
                return Err(Error::UnknownDocument(id));
            };
            let writes = match doc.writes_of(&change) {
                Ok(w) => w,
                Err(e) => return self.reject(&sc, hash, RejectReason::Layout(e)),
            };
            if let Err(e) =
                crate::kind::authorize_any(kinds::of(doc.kind()), doc, change.deps(), &principal, &self.trust, at, &writes)
            {
                let full_allows = revoked.is_some()
                    && crate::kind::authorize_any(kinds::of(doc.kind()), doc, change.deps(), &full, &self.trust, at, &writes)
                        .is_ok();
                return self.reject(&sc, hash, denied(e, full_allows));
            }
            let seq = change.seq();
            let prev = seq.checked_sub(1).filter(|p| *p > 0);
            if let Some(prev) = prev
                && !self
                    .seqs
                    .get(&(id, actor.clone(), prev))
                    .is_some_and(|h| change.deps().contains(h))
            {
                return self.reject(&sc, hash, RejectReason::BrokenSequence { seq, prev });
            }
            let slot = (id, actor, seq);
            if let Some(occupant) = self.seqs.get(&slot).copied() {
                return self.equivocation(sc, &change, slot, occupant);
            }
            let doc = self.docs.get_mut(&id).ok_or(Error::UnknownDocument(id))?;
            if let Err(e) = doc.apply_checked(change.clone()) {
                return self.reject(&sc, hash, RejectReason::Layout(e));
            }
        }
        self.record(id, &sc, &change);
        let mut applied = vec![hash];
        if self.draining != Some(id) {
            applied.extend(self.drain_pending(id));
        }
        Ok(Applied::Applied(applied))
    }

    /// How a change by `signer` — `actor`'s `seq`-th in `doc`, with hash `hash`, made at
    /// `at` — stands with the revocations in force. The revocations applied are those of the
    /// signer's certificates whose cut-off the change is after and, when the change itself
    /// writes revocations (`rank`, computed only when needed, is their seniority), only the
    /// more senior ones: a revocation never falls to a junior one.
    #[expect(clippy::too_many_arguments, reason = "the change's coordinates")]
    fn standing(
        &self,
        doc: &DocId,
        signer: &NodeId,
        actor: &[u8],
        seq: u64,
        hash: &ChangeHash,
        at: Timestamp,
        rank: impl FnOnce() -> Option<Seniority>,
    ) -> Standing {
        // Every principal the key holds (a unit may be certified by two communities): a
        // change stands when one of them allows it.
        let full = match self.trust.principal(signer, at) {
            Ok(_) => self.trust.principals(signer, at),
            Err(e) => return Standing::NoChain(e),
        };
        let mut applicable: Vec<&Active> = self
            .in_force
            .get(signer)
            .into_iter()
            .flatten()
            .filter(|a| !a.rev.allows(doc, actor, seq, &hash.0))
            .collect();
        if !applicable.is_empty()
            && let Some(rank) = rank()
        {
            applicable.retain(|a| a.rank < rank);
        }
        if applicable.is_empty() {
            return Standing::Stands {
                principal: full.clone(),
                full,
                revoked: None,
            };
        }
        applicable.sort_by(|a, b| a.rank.cmp(&b.rank));
        let withdrawn = withdrawn_by(&applicable);
        // Name the revocations that cut a chain of the signer.
        let mut causes: Vec<&Active> = applicable
            .iter()
            .copied()
            .filter(|a| self.trust.cuts_any(signer, at, &withdrawn_by(&[a])))
            .collect();
        if causes.is_empty() {
            causes = applicable;
        }
        let join = |f: &dyn Fn(&Active) -> String, sep: &str| {
            causes.iter().map(|a| f(a)).collect::<Vec<_>>().join(sep)
        };
        let reason = RejectReason::Revoked {
            signer: signer.short(),
            revocation: join(&|a| a.rev.short_id(), ", "),
            by: join(&|a| a.rev.by.short(), ", "),
            reason: join(&|a| a.rev.reason.clone(), "; "),
        };
        match self.trust.principal_without(signer, at, &withdrawn) {
            Ok(_) => {
                let principal = self.trust.principals_without(signer, at, &withdrawn);
                let revoked = (principal != full).then_some(reason);
                Standing::Stands {
                    principal,
                    full,
                    revoked,
                }
            }
            Err(CertError::Withdrawn { .. }) => Standing::Revoked(reason),
            Err(e) => Standing::NoChain(e),
        }
    }

    /// Seniority of the most senior revocation among `writes` (`None` if they write none).
    fn rank_of_writes(&self, writes: &[Write]) -> Option<Seniority> {
        writes
            .iter()
            .filter(|w| w.map == "revocations")
            .filter_map(|w| {
                serde_json::from_str::<Revocation>(&w.value)
                    .ok()
                    .map(|r| self.seniority(&w.key, &r))
            })
            .min()
    }

    /// Seniority of revocation `r` stored at `key`: the one it took effect with when it is
    /// in force, else as the trust store says now.
    fn seniority(&self, key: &str, r: &Revocation) -> Seniority {
        if let Some(a) = self
            .in_force
            .get(&r.subject)
            .and_then(|v| v.iter().find(|a| a.key == key))
        {
            return a.rank.clone();
        }
        let len = self
            .trust
            .principal(&r.by, r.at)
            .map_or(usize::MAX, |p| p.chain_len);
        (len, r.by, key.to_string())
    }

    fn reject(
        &mut self,
        sc: &SignedChange,
        hash: ChangeHash,
        reason: RejectReason,
    ) -> Result<Applied, Error> {
        if matches!(reason, RejectReason::Revoked { .. }) {
            self.revisable.insert(hash, sc.clone());
        }
        self.refused.insert(hash, sc.clone());
        let r = Rejection {
            doc: sc.doc,
            hash,
            signer: sc.signer,
            reason,
        };
        self.record_rejection(r.clone());
        Err(Error::Rejected(Box::new(r)))
    }

    /// Refuses a change because its dependency `bad` was refused; judged again with `bad`
    /// when that refusal came from a revocation.
    fn reject_dependent(
        &mut self,
        sc: &SignedChange,
        hash: ChangeHash,
        bad: ChangeHash,
    ) -> Result<Applied, Error> {
        if self.revisable.contains_key(&bad) {
            self.revisable.insert(hash, sc.clone());
        }
        let label = if bad.0 == sc.doc.0 {
            sc.doc.short()
        } else {
            hex::encode(&bad.0[..4])
        };
        self.reject(sc, hash, RejectReason::DependsOnRejected(label))
    }

    /// Records a refused change, and refuses every waiting change that depends on it
    /// (directly or through other waiting changes), so the set of refused changes does not
    /// depend on the order in which a change and its dependents arrived.
    fn record_rejection(&mut self, r: Rejection) {
        let mut queue = vec![r];
        while let Some(r) = queue.pop() {
            let bad = r.hash;
            let doc = r.doc;
            self.rejected.insert(bad, r);
            let Some(waiting) = self.pending.get(&doc) else {
                continue;
            };
            let genesis = bad == ChangeHash(doc.0);
            let dependents: Vec<ChangeHash> = waiting
                .iter()
                .filter(|(_, sc)| genesis || sc.verify().is_ok_and(|c| c.deps().contains(&bad)))
                .map(|(h, _)| *h)
                .collect();
            let revisable = self.revisable.contains_key(&bad);
            for h in dependents {
                if let Some(sc) = self.unpark(doc, &h) {
                    if revisable {
                        self.revisable.insert(h, sc.clone());
                    }
                    self.refused.insert(h, sc.clone());
                    queue.push(Rejection {
                        doc,
                        hash: h,
                        signer: sc.signer,
                        reason: RejectReason::DependsOnRejected(hex::encode(&bad.0[..4])),
                    });
                }
            }
        }
    }

    /// Parks a change whose dependencies are missing, within the bounds of the waiting sets
    /// (see [`MAX_PENDING`]). Whether its signer is certified is judged at the change's time
    /// `at`: a key without a chain can name made-up dependencies at no cost, so it only gets
    /// the small quarantine. Nothing already parked is ever evicted.
    fn park(
        &mut self,
        id: DocId,
        sc: SignedChange,
        missing: Vec<ChangeHash>,
        at: Timestamp,
    ) -> Result<Applied, Error> {
        let hash = sc.change_hash()?;
        if self.pending.get(&id).is_some_and(|m| m.contains_key(&hash)) {
            return Ok(Applied::Pending(missing));
        }
        let signer = sc.signer;
        let certified = self.trust.principal(&signer, at).is_ok();
        let mut limits = Vec::with_capacity(4);
        if !certified {
            let of_key = self.quarantine.values().filter(|k| **k == signer).count();
            limits.push((of_key, QUARANTINE_PER_KEY, WaitLimit::QuarantinePerKey));
            limits.push((
                self.quarantine.len(),
                (self.max_pending / 10).max(1),
                WaitLimit::Quarantine,
            ));
        }
        limits.push((
            self.waiting_of(&signer),
            self.signer_share(),
            WaitLimit::Signer,
        ));
        limits.push((self.pending_len(), self.max_pending, WaitLimit::All));
        if let Some(&(_, limit, bound)) = limits.iter().find(|(n, l, _)| n >= l) {
            return Err(Self::full(limit, bound, &signer, hash));
        }
        if !certified {
            self.quarantine.insert((id, hash), signer);
        }
        self.count_waiting(signer);
        self.pending.entry(id).or_default().insert(hash, sc);
        Ok(Applied::Pending(missing))
    }

    /// Takes a parked change out of the pending set.
    fn unpark(&mut self, id: DocId, hash: &ChangeHash) -> Option<SignedChange> {
        let sc = self.pending.get_mut(&id)?.remove(hash)?;
        self.quarantine.remove(&(id, *hash));
        self.uncount_waiting(&sc.signer);
        Some(sc)
    }

    /// Takes every parked change of document `id` out of the pending set.
    fn unpark_all(&mut self, id: DocId) {
        for (hash, sc) in self.pending.remove(&id).unwrap_or_default() {
            self.quarantine.remove(&(id, hash));
            self.uncount_waiting(&sc.signer);
        }
    }

    /// One signer's share of the waiting sets.
    fn signer_share(&self) -> usize {
        (self.max_pending / 10).max(1)
    }

    /// Changes of `signer` waiting for dependencies or a certificate.
    fn waiting_of(&self, signer: &NodeId) -> usize {
        self.waiting_by.get(signer).copied().unwrap_or(0)
    }

    fn count_waiting(&mut self, signer: NodeId) {
        *self.waiting_by.entry(signer).or_default() += 1;
    }

    fn uncount_waiting(&mut self, signer: &NodeId) {
        if let Some(n) = self.waiting_by.get_mut(signer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.waiting_by.remove(signer);
            }
        }
    }

    fn full(limit: usize, bound: WaitLimit, signer: &NodeId, hash: ChangeHash) -> Error {
        Error::PendingFull {
            limit,
            bound,
            signer: signer.short(),
            change: hex::encode(hash.0),
        }
    }

    /// Applies waiting changes of `id` whose dependencies are now present, repeatedly.
    fn drain_pending(&mut self, id: DocId) -> Vec<ChangeHash> {
        let outer = self.draining.replace(id);
        let applied = self.drain_loop(id);
        self.draining = outer;
        applied
    }

    /// A change that passed every check but whose (document, actor, seq) slot already holds
    /// the accepted change `occupant`: its signer equivocated. The change with the smaller
    /// hash is kept and the other refused with its dependents, so every replica ends with the
    /// same one whatever the order of arrival. A newcomer that holds the occupant in its own
    /// history cannot stand in a document beside it nor without it (it is refused wherever
    /// it is considered, since it is only considered once its history is present), so it is
    /// refused whatever its hash.
    fn equivocation(
        &mut self,
        sc: SignedChange,
        change: &Change,
        slot: SlotKey,
        occupant: ChangeHash,
    ) -> Result<Applied, Error> {
        let hash = change.hash();
        let id = slot.0;
        let seq = slot.2;
        let reason = |kept: &ChangeHash| RejectReason::Equivocation {
            signer: sc.signer.short(),
            seq,
            kept: hex::encode(&kept.0[..4]),
        };
        if occupant < hash || self.in_history(id, &occupant, change.deps()) {
            self.contest(sc.signer, &slot, occupant, hash);
            return self.reject(&sc, hash, reason(&occupant));
        }
        // The newcomer wins: the document is rebuilt without the occupant and its
        // dependents, then the newcomer goes through `apply` again (from the start: the
        // rebuild may have changed what it finds, e.g. certificates the occupant wrote).
        let federation = self
            .docs
            .get(&id)
            .is_some_and(|d| d.kind() == DocKind::Federation);
        let bad = BTreeMap::from([(occupant, Some(reason(&hash)))]);
        self.rebuild(id, &bad);
        if self.seqs.get(&slot) == Some(&occupant) {
            return Err(Error::Source {
                doc: id,
                reason: format!(
                    "cannot rebuild the document without equivocating change {}",
                    hex::encode(&occupant.0[..4])
                ),
            });
        }
        self.contest(sc.signer, &slot, hash, occupant);
        if federation {
            // Certificates the occupant wrote are gone: re-check what they authorized.
            self.reload_federation_with(true);
            while self.enforce() {}
        }
        self.apply_one(sc)
    }

    /// Whether `target` is `deps` or one of their ancestors in document `id`'s log.
    fn in_history(&self, id: DocId, target: &ChangeHash, deps: &[ChangeHash]) -> bool {
        let Some(log) = self.log.get(&id) else {
            return false;
        };
        let graph: HashMap<ChangeHash, &[ChangeHash]> =
            log.iter().map(|e| (e.hash, e.deps.as_slice())).collect();
        let mut seen: BTreeSet<ChangeHash> = BTreeSet::new();
        let mut stack: Vec<ChangeHash> = deps.to_vec();
        while let Some(h) = stack.pop() {
            if h == *target {
                return true;
            }
            if seen.insert(h) {
                stack.extend(graph.get(&h).copied().unwrap_or_default());
            }
        }
        false
    }

    /// Records that `slot` keeps `kept` and refuses `refused`, flags the signer, and points
    /// the reasons of the slot's earlier refusals at the change kept now.
    fn contest(&mut self, signer: NodeId, slot: &SlotKey, kept: ChangeHash, refused: ChangeHash) {
        let c = self.contested.entry(slot.clone()).or_insert(Contested {
            signer,
            kept,
            refused: BTreeSet::new(),
        });
        if c.kept != kept {
            let before = std::mem::replace(&mut c.kept, kept);
            c.refused.insert(before);
        }
        c.refused.insert(refused);
        c.refused.remove(&kept);
        let short = hex::encode(&kept.0[..4]);
        for h in &c.refused {
            if let Some(Rejection {
                reason: RejectReason::Equivocation { kept: k, .. },
                ..
            }) = self.rejected.get_mut(h)
            {
                k.clone_from(&short);
            }
        }
        // The signer's lowest contested slot, so every replica reports the same one.
        self.flag_lowest_contest(signer);
    }

    /// Applies the pending changes of `id` whose dependencies are present, in dependency
    /// order: each waiting change is decoded once, and applying one releases exactly the
    /// changes that waited for it (no rescans, so a long chain received backwards costs
    /// linear time).
    fn drain_loop(&mut self, id: DocId) -> Vec<ChangeHash> {
        let mut applied = Vec::new();
        let (Some(doc), Some(waiting)) = (self.docs.get(&id), self.pending.get(&id)) else {
            return applied;
        };
        let mut missing: BTreeMap<ChangeHash, usize> = BTreeMap::new();
        let mut dependents: BTreeMap<ChangeHash, Vec<ChangeHash>> = BTreeMap::new();
        let mut ready: std::collections::VecDeque<ChangeHash> = Default::default();
        for (h, sc) in waiting {
            // A change whose bytes do not decode is tried (and refused) at once.
            let lacking = sc
                .verify()
                .map(|c| doc.missing_deps(&c))
                .unwrap_or_default();
            if lacking.is_empty() {
                ready.push_back(*h);
            } else {
                missing.insert(*h, lacking.len());
                for d in lacking {
                    dependents.entry(d).or_default().push(*h);
                }
            }
        }
        while let Some(h) = ready.pop_front() {
            let Some(sc) = self.unpark(id, &h) else {
                continue;
            };
            let Ok(Applied::Applied(more)) = self.apply_one(sc) else {
                continue;
            };
            for a in &more {
                for dep in dependents.remove(a).unwrap_or_default() {
                    if let Some(n) = missing.get_mut(&dep) {
                        *n -= 1;
                        if *n == 0 {
                            missing.remove(&dep);
                            ready.push_back(dep);
                        }
                    }
                }
            }
            applied.extend(more);
        }
        if self.pending.get(&id).is_some_and(BTreeMap::is_empty) {
            self.pending.remove(&id);
        }
        applied
    }

    /// Rebuilds the trust store, revocation records and district settings from the
    /// federation documents; resolves the revocations in force again when the records or the
    /// certificates changed; retries changes awaiting a certificate.
    fn federation_changed(&mut self) {
        loop {
            self.reload_federation();
            let mut progress = false;
            let involved =
                !self.records.is_empty() || !self.in_force.is_empty() || !self.revisable.is_empty();
            if involved && self.resolved.as_ref() != Some(&self.resolution_key()) {
                self.resolve_revocations();
                progress = true;
            }
            progress |= self.retry_awaiting();
            if !progress {
                return;
            }
        }
    }

    /// What resolving the revocations depends on besides the changes it judges: the
    /// revocation records (a signer may rewrite its own record) and the certificates.
    fn resolution_key(&self) -> (BTreeMap<String, Revocation>, BTreeSet<CertId>) {
        (self.records.clone(), self.trust.ids())
    }

    /// Decides which revocations are in force, as a function of the set of changes held
    /// (never of their arrival order), and refuses what they invalidate.
    ///
    /// 1. Every change refused because of a revocation is judged again with no revocation
    ///    in force: the state the revocations then act on.
    /// 2. Revocations take effect one at a time, most senior first ([`Seniority`]: the
    ///    signer's chain length — the root 0 —, then its key, then the record key). Each
    ///    refuses the changes after its cut-off that no remaining chain allows, with their
    ///    dependents; a revocation among them (its signer's authority withdrawn by a more
    ///    senior revocation that did not see it) never takes effect. A revocation that took
    ///    effect is judged only against those before it, so a junior one never undoes it.
    ///
    /// Authority flows down the chains, so two keys can only take each other's last chain
    /// if each is above the other, which no chain allows: the most senior revocation always
    /// stands, the root (which cannot be revoked) always writes, and the district never
    /// freezes.
    fn resolve_revocations(&mut self) {
        self.in_force.clear();
        let again = std::mem::take(&mut self.revisable);
        for h in again.keys() {
            if self.rejected.remove(h).is_some() {
                self.withdrawn += 1;
            }
            self.refused.remove(h);
        }
        for sc in again.into_values() {
            let _ = self.apply_one(sc);
        }
        loop {
            self.reload_federation();
            if !self.retry_awaiting() {
                break;
            }
        }
        loop {
            let next = self
                .records
                .iter()
                .filter(|(k, r)| {
                    !self
                        .in_force
                        .get(&r.subject)
                        .is_some_and(|v| v.iter().any(|a| a.key == **k))
                })
                .map(|(k, r)| (self.seniority(k, r), k.clone(), r.clone()))
                .min_by(|a, b| a.0.cmp(&b.0));
            let Some((rank, key, rev)) = next else {
                break;
            };
            self.in_force
                .entry(rev.subject)
                .or_default()
                .push(Active { rev, key, rank });
            while self.enforce() {}
        }
        self.resolved = Some(self.resolution_key());
    }

    /// Reads certificates, revocation records and settings from the federation documents.
    /// New certificates are added to the trust store (whose signature checks are done once
    /// per certificate); with `fresh`, the store is rebuilt from scratch (after a rebuild
    /// removed certificates).
    fn reload_federation_with(&mut self, fresh: bool) {
        if fresh {
            self.trust = TrustStore::new(*self.trust.root());
        }
        let feds: Vec<&Document> = self
            .docs
            .values()
            .filter(|d| d.kind() == DocKind::Federation)
            .collect();
        federation::fill_trust(&mut self.trust, feds.iter().copied());
        let mut records = BTreeMap::new();
        let mut config = None;
        for d in &feds {
            let f = federation::Federation::new(d);
            for (k, r) in f.revocation_records() {
                records.entry(k).or_insert(r);
            }
            config = config.or_else(|| f.config());
        }
        self.records = records;
        self.district = config.unwrap_or_default();
    }

    fn reload_federation(&mut self) {
        self.reload_federation_with(false);
    }

    fn retry_awaiting(&mut self) -> bool {
        let waiting = std::mem::take(&mut self.awaiting);
        for sc in waiting.values() {
            self.uncount_waiting(&sc.signer);
        }
        let mut progress = false;
        for (_, sc) in waiting {
            if let Ok(Applied::Applied(hashes)) = self.apply_one(sc) {
                progress = true;
                if hashes.iter().any(|h| {
                    self.index
                        .get(h)
                        .and_then(|d| self.docs.get(d))
                        .is_some_and(|d| d.kind() == DocKind::Federation)
                }) {
                    self.reload_federation();
                }
            }
        }
        progress
    }

    /// Re-checks every accepted change against the current certificates and the
    /// revocations in force; rebuilds documents without the changes that no longer stand
    /// and their dependents. Returns whether anything was removed.
    fn enforce(&mut self) -> bool {
        let mut removed_any = false;
        let ids: Vec<DocId> = self.log.keys().copied().collect();
        for id in ids {
            let bad = self.judge_log(id);
            if bad.is_empty() {
                continue;
            }
            removed_any = true;
            self.rebuild(id, &bad);
        }
        if removed_any {
            self.reload_federation_with(true);
        }
        removed_any
    }

    /// The accepted changes of `id` that no longer stand: with a reason when a revocation
    /// refuses them, without one when their signer lost every chain (they wait for a
    /// certificate again) or a dependency goes.
    fn judge_log(&self, id: DocId) -> BTreeMap<ChangeHash, Option<RejectReason>> {
        let mut bad: BTreeMap<ChangeHash, Option<RejectReason>> = BTreeMap::new();
        let (Some(entries), Some(doc)) = (self.log.get(&id), self.docs.get(&id)) else {
            return bad;
        };
        let fed = doc.kind() == DocKind::Federation;
        for e in entries {
            let h = e.signed_hash();
            if e.deps.iter().any(|d| bad.contains_key(d)) {
                bad.insert(h, None);
                continue;
            }
            let at = Timestamp(e.time);
            // The change itself, read only when a revocation applies to it. (If the store
            // cannot give it back, it is left as it is: its next open re-checks it.)
            let change = || {
                self.signed_of(id, &[e])
                    .ok()
                    .and_then(|v| v.into_iter().next())
                    .and_then(|sc| sc.verify().ok())
            };
            let rank = || {
                if fed {
                    change()
                        .and_then(|c| doc.writes_of(&c).ok())
                        .and_then(|w| self.rank_of_writes(&w))
                } else {
                    None
                }
            };
            match self.standing(&id, &e.signer, &e.actor, e.seq, &h, at, rank) {
                // The chain disappeared (e.g. its certificate was written after its
                // issuer's cut-off): the change waits for a certificate again.
                Standing::NoChain(_) => {
                    bad.insert(h, None);
                }
                Standing::Revoked(r) => {
                    bad.insert(h, Some(r));
                }
                // Judged again under the authority the revocations left.
                Standing::Stands {
                    principal,
                    revoked: Some(r),
                    ..
                } => {
                    let allowed = change().is_none_or(|c| {
                        if c.deps().is_empty() {
                            crate::kind::authorize_genesis_any(kinds::of(doc.kind()), doc.header(), &principal).is_ok()
                        } else {
                            doc.writes_of(&c).is_ok_and(|w| {
                                crate::kind::authorize_any(
                                    kinds::of(doc.kind()),
                                    doc,
                                    c.deps(),
                                    &principal,
                                    &self.trust,
                                    at,
                                    &w,
                                )
                                .is_ok()
                            })
                        }
                    });
                    if !allowed {
                        bad.insert(h, Some(r));
                    }
                }
                Standing::Stands { revoked: None, .. } => {}
            }
        }
        bad
    }

    /// Rebuilds document `id` from its log without the changes in `bad`; changes with a
    /// reason are recorded as refused, the others are re-submitted (they are refused as
    /// dependents of refused changes, or wait for a certificate).
    fn rebuild(&mut self, id: DocId, bad: &BTreeMap<ChangeHash, Option<RejectReason>>) {
        let mut entries = self.log.remove(&id).unwrap_or_default();
        // Every change's bytes are needed to replay the rest and re-submit the removed.
        let all: Vec<&Logged> = entries.iter().collect();
        match self.signed_of(id, &all) {
            Ok(signed) => {
                for (e, sc) in entries.iter_mut().zip(signed) {
                    e.signed = Some(sc);
                }
            }
            Err(_) => {
                // The store cannot give them back: the document stays as it was (its next
                // open re-checks every change against the revocations).
                self.log.insert(id, entries);
                return;
            }
        }
        self.docs.remove(&id);
        self.seqs.retain(|(d, _, _), _| *d != id);
        // Dependents of removed changes go too (the log is in causal order).
        let mut bad = bad.clone();
        for e in &entries {
            if !bad.contains_key(&e.hash) && e.deps.iter().any(|d| bad.contains_key(d)) {
                bad.insert(e.hash, None);
            }
        }
        // Refusals judged while a removed change stood are judged again, as if it had never
        // been accepted (they wait for it, or are refused as its dependents): the outcome
        // must not depend on whether they arrived before or after its removal. That holds
        // for the losers of an equivocation contest too: a slot is contested only among
        // changes that otherwise count, so when the change kept in a slot is removed for
        // another reason (a revocation, a dependency gone), its contest dissolves and the
        // losers are judged again.
        let mut gone: BTreeSet<ChangeHash> = bad.keys().copied().collect();
        let removed: BTreeSet<ChangeHash> = bad
            .iter()
            .filter(|(_, r)| !matches!(r, Some(RejectReason::Equivocation { .. })))
            .map(|(h, _)| *h)
            .collect();
        let mut resubmit = self.dissolve_contests(id, &removed, &mut gone);
        resubmit.extend(self.unrefuse_dependents_of(id, gone));
        let mut rejections = Vec::new();
        for e in &entries {
            self.index.remove(&e.hash);
            self.times.remove(&e.hash);
            match bad.get(&e.hash) {
                Some(Some(reason)) => {
                    if let Some(sc) = &e.signed {
                        if matches!(reason, RejectReason::Revoked { .. }) {
                            self.revisable.insert(e.hash, sc.clone());
                        }
                        self.refused.insert(e.hash, sc.clone());
                    }
                    rejections.push(Rejection {
                        doc: id,
                        hash: e.hash,
                        signer: e.signer,
                        reason: reason.clone(),
                    })
                }
                Some(None) => resubmit.extend(e.signed.clone()),
                None => {}
            }
        }
        let kept: Vec<Logged> = entries
            .into_iter()
            .filter(|e| !bad.contains_key(&e.hash))
            .collect();
        if let Some(doc) = self.replay(&kept) {
            for e in &kept {
                self.index.insert(e.hash, id);
                self.times.insert(e.hash, e.time);
                self.seqs.insert((id, e.actor.clone(), e.seq), e.hash);
            }
            self.docs.insert(id, doc);
            self.log.insert(id, kept);
        }
        self.refresh_catalog(id);
        for r in rejections {
            self.record_rejection(r);
        }
        for sc in resubmit {
            let _ = self.apply_one(sc);
        }
    }

    /// Dissolves the contests of `doc` whose kept change is in `removed`: withdraws their
    /// losers' equivocation refusals (added to `gone`, so their dependents are judged again
    /// too), updates the signers' flags, and returns the losers to be submitted again.
    fn dissolve_contests(
        &mut self,
        doc: DocId,
        removed: &BTreeSet<ChangeHash>,
        gone: &mut BTreeSet<ChangeHash>,
    ) -> Vec<SignedChange> {
        let slots: Vec<SlotKey> = self
            .contested
            .iter()
            .filter(|(k, c)| k.0 == doc && removed.contains(&c.kept))
            .map(|(k, _)| k.clone())
            .collect();
        let mut again = Vec::new();
        for slot in slots {
            let Some(c) = self.contested.remove(&slot) else {
                continue;
            };
            for h in c.refused {
                if gone.contains(&h) {
                    continue;
                }
                let equivocation = matches!(
                    self.rejected.get(&h),
                    Some(Rejection {
                        reason: RejectReason::Equivocation { .. },
                        ..
                    })
                );
                if !equivocation {
                    continue;
                }
                self.rejected.remove(&h);
                self.withdrawn += 1;
                self.revisable.remove(&h);
                if let Some(sc) = self.refused.remove(&h) {
                    gone.insert(h);
                    again.push(sc);
                }
            }
            self.flag_lowest_contest(c.signer);
        }
        again
    }

    /// Sets `signer`'s equivocation flag to its lowest contested slot, or clears it when it
    /// has none left.
    fn flag_lowest_contest(&mut self, signer: NodeId) {
        match self.contested.iter().find(|(_, c)| c.signer == signer) {
            Some((key, c)) => {
                self.equivocators.insert(
                    signer,
                    Equivocation {
                        doc: key.0,
                        seq: key.2,
                        kept: c.kept,
                        refused: c.refused.clone(),
                    },
                );
            }
            None => {
                self.equivocators.remove(&signer);
            }
        }
    }

    /// Withdraws the refusals of changes of `doc` that depend, directly or through other
    /// refused changes, on a change in `gone`, and returns them to be submitted again.
    fn unrefuse_dependents_of(
        &mut self,
        doc: DocId,
        mut gone: BTreeSet<ChangeHash>,
    ) -> Vec<SignedChange> {
        let mut again = Vec::new();
        loop {
            let more: Vec<ChangeHash> = self
                .refused
                .iter()
                .filter(|(h, sc)| {
                    sc.doc == doc
                        && !gone.contains(h)
                        && sc
                            .parse()
                            .is_ok_and(|c| c.deps().iter().any(|d| gone.contains(d)))
                })
                .map(|(h, _)| *h)
                .collect();
            if more.is_empty() {
                return again;
            }
            for h in more {
                gone.insert(h);
                if self.rejected.remove(&h).is_some() {
                    self.withdrawn += 1;
                }
                self.revisable.remove(&h);
                again.extend(self.refused.remove(&h));
            }
        }
    }

    /// Rebuilds a document from logged changes in causal order (the first is its genesis).
    fn replay(&self, kept: &[Logged]) -> Option<Document> {
        let genesis = kept.first()?.signed.as_ref()?.verify().ok()?;
        let mut doc = Document::from_genesis(genesis, crate::kinds::layout).ok()?;
        doc.set_author(&self.author);
        for e in &kept[1..] {
            // Invariant: these changes were verified and applied before, in this order.
            let c = e.signed.as_ref()?.verify().ok()?;
            doc.apply_checked(c).ok()?;
        }
        Some(doc)
    }

    /// A copy of this replica for another node identity (tests build many nodes from one
    /// replica that already holds the federation document).
    #[cfg(test)]
    pub(crate) fn for_node(&self, keypair: Keypair, incarnation: [u8; 8], org: OrgId) -> Replica {
        let mut r = self.clone();
        r.author = Author {
            node: keypair.node_id(),
            incarnation,
            org,
        };
        r.keypair = keypair;
        let author = r.author.clone();
        for d in r.docs.values_mut() {
            d.set_author(&author);
        }
        r
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
        forged.signature.0[0] ^= 1;
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
#[path = "replica_restore.rs"]
mod restore;
pub use restore::{LoadedSnapshot, PreparedRestore};

#[path = "replica_batch.rs"]
mod batch;
pub use batch::{BatchHooks, NoHooks};

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


