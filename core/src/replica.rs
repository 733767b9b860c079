//! A replica: a set of documents, typed writes that produce automerge changes, and `apply`
//! for changes that arrive from other replicas.
//!
//! Writes go through [`Replica::execute`] with an [`Op`]: the operation is validated against
//! the typed state of the document (and, for redemptions, the balances across the replica's
//! ledgers); only if it is valid is it turned into record puts committed as one change. An
//! invalid operation returns an [`Error`] and leaves every document unchanged.
//!
//! Changes from elsewhere go through [`Replica::apply`]: size limit, decoding, layout and
//! record-schema checks, then automerge. A change whose dependencies are missing waits in a
//! bounded pending set and is applied when they arrive; a duplicate is a no-op.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{Change, ChangeHash};
use serde::{Deserialize, Serialize};

use crate::document::{self, Author, DocError, DocHeader, DocKind, Document, Put, SCHEMA_VERSION};
use crate::ids::*;
use crate::ledger::{self, LedgerError, LedgerOp, LedgerRules, Points};
use crate::registry::{self, ChecklistTemplate, RegistryError, RegistryOp, ScoringConfig};
use crate::resource::{self, ResourceError, ResourceOp, ResourceSpec};
use crate::time::{Slot, TimeError, Timestamp, Zone};
use crate::wishes::{self, WishesError, WishesOp};

/// Largest number of changes waiting for dependencies, across all documents.
pub const MAX_PENDING: usize = 10_000;

/// District-wide settings that validation and queries need: the checklist template and the
/// scoring weights. (They move into the federation document with the federation layer.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistrictConfig {
    /// The compound quality checklist.
    pub checklist: ChecklistTemplate,
    /// Weights and pass mark of the annual scoring.
    pub scoring: ScoringConfig,
}

/// Everything an operation may look at besides its own document.
pub struct Ctx<'a> {
    /// Who writes.
    pub author: &'a Author,
    /// The writer's clock, passed in (linli-core never reads the clock).
    pub now: Timestamp,
    /// District settings.
    pub district: &'a DistrictConfig,
    /// All documents of the replica, for cross-document reads (balances).
    pub docs: &'a BTreeMap<DocId, Document>,
}

/// What a successful operation produced besides the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Nothing beyond the change itself.
    Done,
    /// A compound was registered or updated.
    Compound(CompoundId),
    /// An inspection was recorded.
    Inspection(InspectionId),
    /// A ledger entry was appended.
    Entry(EntryId),
    /// A delegation was created.
    Delegation(DelegationId),
    /// A booking request was made.
    Booking(BookingId),
    /// A booking was confirmed on `slot` (index 0 = the requested slot, then alternates).
    Confirmed {
        /// The booking.
        booking: BookingId,
        /// Which candidate slot was free.
        slot_index: usize,
        /// The confirmed slot (first occurrence).
        slot: Slot,
    },
    /// Waitlisted bookings confirmed after a cancellation.
    Promoted(Vec<BookingId>),
    /// A meal order was placed.
    Order(OrderId),
    /// A wish, offer, suggestion or problem was posted.
    Wish(WishId),
    /// A claim was offered.
    Claim(ClaimId),
}

/// A typed write on one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "op")]
pub enum Op {
    /// Compound registry operation.
    Registry(RegistryOp),
    /// Service ledger operation.
    Ledger(LedgerOp),
    /// Resource and booking operation.
    Resource(ResourceOp),
    /// Wishes operation.
    Wishes(WishesOp),
}

impl Op {
    fn kind(&self) -> DocKind {
        match self {
            Op::Registry(_) => DocKind::Registry,
            Op::Ledger(_) => DocKind::Ledger,
            Op::Resource(_) => DocKind::Resource,
            Op::Wishes(_) => DocKind::Wishes,
        }
    }
}

/// Errors of linli-core operations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Document layer (bytes, layout, automerge).
    #[error(transparent)]
    Doc(#[from] DocError),
    /// Times and time zones.
    #[error(transparent)]
    Time(#[from] TimeError),
    /// Identifier syntax.
    #[error(transparent)]
    Id(#[from] IdError),
    /// Compound registry rule.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Service ledger rule.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Resource and booking rule.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// Wishes rule.
    #[error(transparent)]
    Wishes(#[from] WishesError),
    /// No document with this id in the replica.
    #[error("unknown document {0}")]
    UnknownDocument(DocId),
    /// The operation is for another kind of document.
    #[error("document {doc} is a {actual}, not a {expected}")]
    WrongKind {
        /// The document.
        doc: DocId,
        /// What the operation needs.
        expected: &'static str,
        /// What the document is.
        actual: &'static str,
    },
    /// Too many changes wait for missing dependencies.
    #[error("pending set full ({limit} changes wait for dependencies); change {change} dropped")]
    PendingFull {
        /// The limit.
        limit: usize,
        /// The dropped change (hex).
        change: String,
    },
}

/// A change produced by a local write: the document it belongs to and its raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalChange {
    /// The document.
    pub doc: DocId,
    /// The change hash.
    pub hash: ChangeHash,
    /// Raw automerge change bytes, ready to ship.
    pub bytes: Vec<u8>,
}

/// Result of a successful write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// What the operation did.
    pub effect: Effect,
    /// The change to replicate.
    pub change: LocalChange,
}

/// Outcome of applying a remote change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The change (and possibly waiting dependents, listed in causal order) was applied.
    Applied(Vec<ChangeHash>),
    /// Already held: nothing changed.
    Duplicate,
    /// Waits for these missing dependencies.
    Pending(Vec<ChangeHash>),
}

/// Specification of a new document.
#[derive(Debug, Clone, PartialEq)]
pub enum NewDoc {
    /// The compound registry of `community` (owned by it).
    Registry {
        /// Street of the community.
        street: OrgId,
        /// The community.
        community: OrgId,
        /// Title.
        title: String,
    },
    /// The service ledger of `community` for `year`.
    Ledger {
        /// Street of the community.
        street: OrgId,
        /// The community.
        community: OrgId,
        /// Calendar year.
        year: i16,
        /// Points rule and star thresholds.
        rules: LedgerRules,
    },
    /// A resource owned by the author's organisation.
    Resource {
        /// Street where the resource is.
        street: OrgId,
        /// Community where the resource is.
        community: Option<OrgId>,
        /// Its description and rules.
        spec: ResourceSpec,
    },
    /// The wishes document of `community`.
    Wishes {
        /// Street of the community.
        street: OrgId,
        /// The community.
        community: OrgId,
        /// Title.
        title: String,
    },
}

/// An in-memory set of documents.
#[derive(Debug, Clone)]
pub struct Replica {
    author: Author,
    district: DistrictConfig,
    docs: BTreeMap<DocId, Document>,
    /// Changes waiting for dependencies: doc → change hash → change.
    pending: BTreeMap<DocId, BTreeMap<ChangeHash, Change>>,
    /// Documents created by this replica (part of each new header, so ids differ).
    created: u64,
    /// Bound of the pending set (default [`MAX_PENDING`]).
    pub max_pending: usize,
}

impl Replica {
    /// An empty replica writing as `author`.
    pub fn new(author: Author, district: DistrictConfig) -> Self {
        Self {
            author,
            district,
            docs: BTreeMap::new(),
            pending: BTreeMap::new(),
            created: 0,
            max_pending: MAX_PENDING,
        }
    }

    /// The writing identity.
    pub fn author(&self) -> &Author {
        &self.author
    }
    /// District settings.
    pub fn district(&self) -> &DistrictConfig {
        &self.district
    }
    /// Replaces the district settings.
    pub fn set_district(&mut self, district: DistrictConfig) {
        self.district = district;
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
    /// Number of changes waiting for dependencies.
    pub fn pending_len(&self) -> usize {
        self.pending.values().map(BTreeMap::len).sum()
    }

    fn doc_of_kind(&self, id: DocId, kind: DocKind) -> Result<&Document, Error> {
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

    /// Creates a document owned by the author's organisation (for a registry, ledger or
    /// wishes document the author must be that community). Returns the genesis change.
    pub fn create(&mut self, new: NewDoc, now: Timestamp) -> Result<LocalChange, Error> {
        self.created += 1;
        let owner = self.author.org.clone();
        let zone = Zone::shanghai();
        let (header, initial) = match new {
            NewDoc::Registry {
                street,
                community,
                title,
            } => (
                header(
                    DocKind::Registry,
                    owner,
                    street,
                    Some(community),
                    None,
                    title,
                    zone,
                ),
                vec![],
            ),
            NewDoc::Ledger {
                street,
                community,
                year,
                rules,
            } => {
                rules.validate()?;
                let title = format!("{community} service ledger {year}");
                (
                    header(
                        DocKind::Ledger,
                        owner,
                        street,
                        Some(community),
                        Some(year),
                        title,
                        zone,
                    ),
                    vec![Put::new("meta", "rules", &rules)],
                )
            }
            NewDoc::Resource {
                street,
                community,
                spec,
            } => {
                spec.validate()?;
                let zone = spec.zone.clone();
                let title = spec.name.clone();
                (
                    header(
                        DocKind::Resource,
                        owner,
                        street,
                        community,
                        None,
                        title,
                        zone,
                    ),
                    vec![Put::new("meta", "spec", &spec)],
                )
            }
            NewDoc::Wishes {
                street,
                community,
                title,
            } => (
                header(
                    DocKind::Wishes,
                    owner,
                    street,
                    Some(community),
                    None,
                    title,
                    zone,
                ),
                vec![],
            ),
        };
        if let Some(c) = &header.community
            && header.kind != DocKind::Resource
            && *c != header.owner
        {
            return Err(Error::Registry(RegistryError::NotOwner {
                who: header.owner.clone(),
                owner: c.clone(),
            }));
        }
        let header = DocHeader {
            created: now,
            nonce: self.created,
            ..header
        };
        let (doc, change) = Document::create(&self.author, header, &initial)?;
        let id = doc.id();
        self.docs.insert(id, doc);
        Ok(LocalChange {
            doc: id,
            hash: change.hash(),
            bytes: change.raw_bytes().to_vec(),
        })
    }

    /// Validates `op` against document `id` and, if valid, commits it as one change.
    pub fn execute(&mut self, id: DocId, op: Op, now: Timestamp) -> Result<Written, Error> {
        let kind = op.kind();
        let doc = self.doc_of_kind(id, kind)?;
        let ctx = Ctx {
            author: &self.author,
            now,
            district: &self.district,
            docs: &self.docs,
        };
        let (puts, effect, message) = match op {
            Op::Registry(op) => plan(registry::plan(doc, &ctx, op))?,
            Op::Ledger(op) => plan(ledger::plan(doc, &ctx, op))?,
            Op::Resource(op) => plan(resource::plan(doc, &ctx, op))?,
            Op::Wishes(op) => plan(wishes::plan(doc, &ctx, op))?,
        };
        let author = self.author.clone();
        let doc = self.docs.get_mut(&id).ok_or(Error::UnknownDocument(id))?;
        doc.set_author(&author);
        let change = doc.commit(now, &message, &puts)?;
        Ok(Written {
            effect,
            change: LocalChange {
                doc: id,
                hash: change.hash(),
                bytes: change.raw_bytes().to_vec(),
            },
        })
    }

    /// All changes of a document after `have` (all if empty), raw, in causal order.
    pub fn changes(&self, id: DocId, have: &[ChangeHash]) -> Result<Vec<Vec<u8>>, Error> {
        Ok(self
            .doc(id)?
            .changes_after(have)
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect())
    }

    /// Applies a change from another replica to document `id`.
    ///
    /// A genesis change creates the document (its hash must equal `id`). Otherwise the
    /// change is decoded and checked against the document's layout and record schemas; if a
    /// dependency is missing it waits (bounded by [`MAX_PENDING`]); when it applies, waiting
    /// changes that now have their dependencies apply too. Errors leave the replica
    /// unchanged.
    pub fn apply(&mut self, id: DocId, bytes: &[u8]) -> Result<Applied, Error> {
        let change = document::parse_change(bytes)?;
        let hash = change.hash();
        if !self.docs.contains_key(&id) {
            if change.deps().is_empty() {
                if DocId::from(hash) != id {
                    return Err(DocError::BadGenesis(format!(
                        "genesis {} does not match document id {id}",
                        DocId::from(hash)
                    ))
                    .into());
                }
                let mut doc = Document::from_genesis(change)?;
                doc.set_author(&self.author);
                self.docs.insert(id, doc);
                let mut applied = vec![hash];
                applied.extend(self.drain_pending(id));
                return Ok(Applied::Applied(applied));
            }
            return self.park(id, change, vec![ChangeHash(id.0)]);
        }
        let doc = self.doc(id)?;
        if doc.has_change(&hash) {
            return Ok(Applied::Duplicate);
        }
        if change.deps().is_empty() {
            return Err(
                DocError::BadGenesis("a second genesis for an existing document".into()).into(),
            );
        }
        let missing = doc.missing_deps(&change);
        if !missing.is_empty() {
            return self.park(id, change, missing);
        }
        self.apply_ready(id, change)?;
        let mut applied = vec![hash];
        applied.extend(self.drain_pending(id));
        Ok(Applied::Applied(applied))
    }

    fn park(
        &mut self,
        id: DocId,
        change: Change,
        missing: Vec<ChangeHash>,
    ) -> Result<Applied, Error> {
        let hash = change.hash();
        let slot = self.pending.entry(id).or_default();
        if slot.contains_key(&hash) {
            return Ok(Applied::Pending(missing));
        }
        if self.pending_len() >= self.max_pending {
            return Err(Error::PendingFull {
                limit: self.max_pending,
                change: hex::encode(hash.0),
            });
        }
        self.pending.entry(id).or_default().insert(hash, change);
        Ok(Applied::Pending(missing))
    }

    fn apply_ready(&mut self, id: DocId, change: Change) -> Result<(), Error> {
        let doc = self.docs.get_mut(&id).ok_or(Error::UnknownDocument(id))?;
        doc.writes_of(&change)?;
        doc.apply_checked(change)?;
        Ok(())
    }

    /// Applies waiting changes of `id` whose dependencies are now present, repeatedly.
    /// Waiting changes that turn out invalid are dropped.
    fn drain_pending(&mut self, id: DocId) -> Vec<ChangeHash> {
        let mut applied = Vec::new();
        loop {
            let Some(doc) = self.docs.get(&id) else {
                return applied;
            };
            let Some(waiting) = self.pending.get(&id) else {
                return applied;
            };
            let ready: Vec<ChangeHash> = waiting
                .iter()
                .filter(|(_, c)| doc.missing_deps(c).is_empty())
                .map(|(h, _)| *h)
                .collect();
            if ready.is_empty() {
                return applied;
            }
            for h in ready {
                let Some(c) = self.pending.get_mut(&id).and_then(|m| m.remove(&h)) else {
                    continue;
                };
                let dup = self.docs.get(&id).is_some_and(|d| d.has_change(&h));
                if !dup && self.apply_ready(id, c).is_ok() {
                    applied.push(h);
                }
            }
            if self.pending.get(&id).is_some_and(BTreeMap::is_empty) {
                self.pending.remove(&id);
            }
        }
    }

    /// Hashes of changes waiting for dependencies in document `id`.
    pub fn pending_of(&self, id: DocId) -> BTreeSet<ChangeHash> {
        self.pending
            .get(&id)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Inserts a document loaded from a snapshot.
    pub fn insert_loaded(&mut self, mut doc: Document) {
        doc.set_author(&self.author);
        self.docs.insert(doc.id(), doc);
    }

    // ---- typed read views -------------------------------------------------------------

    /// Read view of a compound registry.
    pub fn registry(&self, id: DocId) -> Result<registry::Registry<'_>, Error> {
        Ok(registry::Registry::new(
            self.doc_of_kind(id, DocKind::Registry)?,
            &self.district,
        ))
    }
    /// Read view of a service ledger.
    pub fn ledger(&self, id: DocId) -> Result<ledger::Ledger<'_>, Error> {
        Ok(ledger::Ledger::new(self.doc_of_kind(id, DocKind::Ledger)?))
    }
    /// Read view of a resource and its bookings.
    pub fn resource(&self, id: DocId) -> Result<resource::Resource<'_>, Error> {
        Ok(resource::Resource::new(
            self.doc_of_kind(id, DocKind::Resource)?,
        )?)
    }
    /// Read view of a wishes document.
    pub fn wishes(&self, id: DocId) -> Result<wishes::Wishes<'_>, Error> {
        Ok(wishes::Wishes::new(self.doc_of_kind(id, DocKind::Wishes)?))
    }
    /// Balance of a volunteer across every ledger this replica holds.
    pub fn balance(&self, volunteer: &VolunteerId) -> Points {
        ledger::balance_across(self.docs.values(), volunteer)
    }
}

#[cfg(test)]
#[path = "replica_tests.rs"]
mod tests;

fn header(
    kind: DocKind,
    owner: OrgId,
    street: OrgId,
    community: Option<OrgId>,
    year: Option<i16>,
    title: String,
    zone: Zone,
) -> DocHeader {
    DocHeader {
        kind,
        schema: SCHEMA_VERSION,
        owner,
        street,
        community,
        year,
        title,
        zone,
        created: Timestamp(0),
        nonce: 0,
    }
}

fn plan<E: Into<Error>>(
    r: Result<(Vec<Put>, Effect, String), E>,
) -> Result<(Vec<Put>, Effect, String), Error> {
    r.map_err(Into::into)
}
