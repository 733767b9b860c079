//! The contract every document kind fulfils, and the one list of kinds.
//!
//! A kind is a module (`federation`, `registry`, `ledger`, `resource`, `wishes`) with a
//! value implementing [`Kind`]: its record maps, the check of a record's key and value, its
//! replication policy (who receives a document of the kind) and the schema of its
//! operations. The shared layer (document layout, record schema checks, sync, the
//! operation catalogue) reaches a kind only through [`crate::kinds::of`], the one place
//! that lists them. The methods have no default bodies, so a new kind must decide each.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use automerge::ChangeHash;

use crate::cert::{Principal, TrustStore};
use crate::district::DistrictConfig;
use crate::document::{Author, DocHeader, DocKind, Document, Layout, Write};
use crate::ids::{
    BookingId, ClaimId, CompoundId, DelegationId, DocId, EntryId, InspectionId, OrderId, Scope,
    VolunteerId, WishId,
};
use crate::policy::{PolicyError, Rules, describe};
use crate::time::{Slot, Timestamp};

/// How a receiver stands to a document, for the replication policy (computed by
/// `sync::may_receive` from the receiver's certified principal and the document's header).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relation {
    /// The owner, or a unit or partner within it.
    pub own: bool,
    /// The document's street itself.
    pub its_street: bool,
    /// A community of the document's street.
    pub community_of_street: bool,
    /// A unit or partner of the document's community.
    pub in_community: bool,
    /// A body the root certified directly that is not a street (a district department).
    pub department: bool,
    /// Any organisation within the document's street.
    pub in_street: bool,
}

/// Everything an operation may look at besides its own document.
pub struct Ctx<'a> {
    /// Who writes.
    pub author: &'a Author,
    /// The writer's certified scope (from its certificate chain): what records that name
    /// an organisation for authority record, and what the plans compare.
    pub scope: &'a Scope,
    /// The writer's clock, passed in (linli-core never reads the clock).
    pub now: Timestamp,
    /// District settings.
    pub district: &'a DistrictConfig,
    /// All documents of the replica, for cross-document reads (balances).
    pub docs: &'a crate::docs::Docs,
    /// The writer's key, for records that carry a signature of their own (a volunteer's
    /// release, which another community's registry checks).
    pub(crate) keys: &'a crate::identity::Keypair,
    /// The operation's personal data, split off before planning (`Op::split_personal`).
    pub personal: Option<&'a crate::personal::PersonalData>,
    /// The personal records this replica holds (for checks only the audience can make,
    /// such as a duplicate phone).
    pub(crate) held: &'a BTreeMap<(DocId, String), crate::personal::PersonalRecord>,
    /// Whether the volunteer registry of a home community (a scope), if held here, knows
    /// a volunteer: `None` when no registry of that community is held (answered by the
    /// list, `kinds::volunteer_known`).
    pub(crate) volunteer_known: fn(&crate::docs::Docs, &Scope, &VolunteerId) -> Option<bool>,
    /// Whether the volunteer registry of a home community, if held here, lists a volunteer
    /// as active (`None` when no registry of that community is held; `kinds::volunteer_active`).
    pub(crate) volunteer_active: fn(&crate::docs::Docs, &Scope, &VolunteerId) -> Option<bool>,
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
    /// A batch of service records was written: each row's outcome, in order.
    Imported(Vec<RowOutcome>),
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
    /// A volunteer was registered, moved in, updated or released.
    Volunteer(VolunteerId),
    /// A check-in session was opened.
    Session(crate::ids::SessionId),
    /// A points-store item was added or restocked.
    StoreItem(crate::ids::StoreItemId),
    /// A batch of roster rows was written (a registry's `import_roster`): each row's
    /// outcome, in order.
    Roster(Vec<RosterOutcome>),
}

/// What became of one row of a roster import (a volunteer registry's `import_roster`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum RosterOutcome {
    /// Registered as this volunteer.
    Registered {
        /// The new volunteer.
        volunteer: VolunteerId,
        /// The row's identity (name, phone, ID number), to be kept as the volunteer's
        /// personal record at home: taken out by the replica before the effect is returned
        /// ([`Effect::take_personal_rows`]), never serialized.
        #[serde(skip)]
        personal: Option<crate::personal::PersonalData>,
    },
    /// The row's volunteer is registered already (its id, or the same person by phone or
    /// ID number): not written again.
    AlreadyRegistered {
        /// The volunteer.
        volunteer: VolunteerId,
    },
    /// Invalid: not written.
    Rejected {
        /// Why.
        error: String,
    },
    /// Not written because the change was full: submit it again.
    Deferred,
}

/// What became of one row of a batch (a ledger's `record_services`) batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum RowOutcome {
    /// Written as this entry.
    Recorded {
        /// The new entry.
        entry: EntryId,
    },
    /// The writer already recorded the row's source in this ledger (an earlier import, or
    /// an earlier row of this batch): not written again.
    AlreadyImported {
        /// The entry holding the source.
        entry: EntryId,
    },
    /// Invalid: not written.
    Rejected {
        /// Why.
        error: String,
    },
    /// Not written because the change was full (`ledger::BATCH_BYTES`): submit it again.
    Deferred,
}

impl Effect {
    /// The record (`map/key`) an operation's personal data belongs to, named by its effect.
    pub fn personal_record(&self) -> Option<String> {
        match self {
            Effect::Booking(id) => Some(format!("requests/{id}")),
            Effect::Order(id) => Some(format!("orders/{id}")),
            Effect::Wish(id) => Some(format!("items/{id}")),
            Effect::Volunteer(id) => Some(format!("volunteers/{id}")),
            _ => None,
        }
    }

    /// The personal data of the rows a batch registered, each with its record
    /// (`volunteers/<volunteer>`), taken out of the effect (which then holds none).
    pub fn take_personal_rows(&mut self) -> Vec<(String, crate::personal::PersonalData)> {
        let Effect::Roster(rows) = self else {
            return Vec::new();
        };
        rows.iter_mut()
            .filter_map(|o| match o {
                RosterOutcome::Registered {
                    volunteer,
                    personal,
                } => personal
                    .take()
                    .map(|d| (format!("volunteers/{volunteer}"), d)),
                _ => None,
            })
            .collect()
    }
}

/// What a document kind decides for itself.
pub trait Kind: Layout {
    /// Which kind.
    fn kind(&self) -> DocKind;
    /// Whether a receiver standing in `relation` to a document of the kind receives it
    /// (the root and the federation document's everyone are decided before).
    fn receives(&self, relation: &Relation) -> bool;
    /// Whether `who`, who does not receive the kind's documents by its relation, receives
    /// `doc` for what the document holds (a resource's delegation or booking request
    /// naming it).
    fn receives_for_content(&self, doc: &Document, who: &Principal) -> bool;
    /// The JSON schema of the kind's operations (its `…Op` enum).
    fn operations(&self) -> serde_json::Value;
    /// Who may perform the operation named `op` (its serde name): the standings towards a
    /// document of the kind that the kind's write rules allow for the records it writes
    /// (see [`crate::policy::Standing`]); `None` for a name that is not an operation of the
    /// kind. The operation catalogue serves them (`catalogue::Operation::performers`).
    fn performers(&self, op: &str) -> Option<&'static [crate::policy::Standing]>;
    /// Whether `doc`'s records name `who` for an operation whose performers include
    /// [`crate::policy::Standing::Named`] (a booking's or order's requester, a delegate, a
    /// claimant of a wish); the operation's rule still judges the record it writes.
    fn named(&self, doc: &Document, who: &Principal) -> bool;
    /// Whether record `map/key` is final once written: a second write of the key — by
    /// anyone, the first writer included — is refused when the first is in the change's
    /// history (the list is in ARCHITECTURE.md, "Write policies").
    fn write_once(&self, map: &str, key: &str) -> bool;
    /// Whether the rule for a write of `map/key` judges it on the whole typed view of the
    /// document as of the change's history (rather than on single records read as of it).
    fn needs_history(&self, map: &str, key: &str) -> bool;
    /// Judges one write of a change under the change's rules (signer, history, trust);
    /// `Err` says why it is refused. (Write-once records are checked before.)
    fn authorize(
        &self,
        rules: &crate::policy::Rules<'_>,
        w: &crate::document::Write,
    ) -> Result<(), String>;
    /// The audience of the personal data of record `map/key` of `doc`, derived from the
    /// document's content (never from what a peer claims); `None` when records of `map`
    /// carry no personal data.
    fn audience(
        &self,
        doc: &Document,
        map: &str,
        key: &str,
    ) -> Option<Result<crate::personal::Audience, crate::personal::PersonalError>>;
    /// Whether `who` may create a document with `header` (its genesis); `Err` says why not.
    fn may_create(
        &self,
        header: &crate::document::DocHeader,
        who: &crate::cert::Principal,
    ) -> Result<(), String>;
}

/// What the list asks of every kind's operation enum (no default body: each kind decides).
pub trait KindOp: Sized {
    /// Splits the personal data out of the operation: the operation keeps the public view
    /// (masked name, no contact, masked household) and the data is returned, to be kept in
    /// the record the operation's effect names ([`Effect::personal_record`]); `None` when
    /// the operation carries none.
    fn split_personal(self) -> (Self, Option<crate::personal::PersonalData>);
}

/// The part of a kind's contract that every kind module writes alike: its `DocKind`, its
/// `MAPS` and `check_record`, and the schema of its operation enum. Used inside
/// `impl Kind for …`.
macro_rules! kind_basics {
    ($kind:ident, $ty:ty, $op:ty) => {
        impl crate::document::Layout for $ty {
            fn maps(&self) -> &'static [&'static str] {
                MAPS
            }
            fn late_maps(&self) -> &'static [&'static str] {
                LATE_MAPS
            }
            fn check_record(&self, map: &str, key: &str, value: &str) -> Result<(), String> {
                check_record(map, key, value)
            }
        }
    };
    ($kind:ident, $op:ty) => {
        fn kind(&self) -> crate::document::DocKind {
            crate::document::DocKind::$kind
        }
        fn operations(&self) -> serde_json::Value {
            schemars::schema_for!($op).to_value()
        }
    };
}
pub(crate) use kind_basics;

// How a kind's write policy is applied to a change (the rules themselves are each kind's).

/// Checks that `who` may create a document with `header` (each kind says:
/// [`crate::kind::Kind::may_create`]).
pub(crate) fn authorize_genesis(
    kind: &dyn Kind,
    header: &DocHeader,
    who: &Principal,
) -> Result<(), PolicyError> {
    kind.may_create(header, who)
        .map_err(|reason| PolicyError::Genesis {
            who: describe(who),
            kind: header.kind.label(),
            reason,
        })
}

/// [`authorize_genesis`] under any of the signer's principals (a key may hold certificates
/// from several issuers); when none allows it, the first principal's refusal.
pub(crate) fn authorize_genesis_any(
    kind: &dyn Kind,
    header: &DocHeader,
    who: &[Principal],
) -> Result<(), PolicyError> {
    first_ok(who.iter().map(|p| authorize_genesis(kind, header, p)))
}

/// [`authorize`] under any of the signer's principals: a change stands when one principal
/// allows every write of it; when none does, the first principal's refusal.
pub(crate) fn authorize_any(
    kind: &dyn Kind,
    doc: &Document,
    deps: &[ChangeHash],
    who: &[Principal],
    trust: &TrustStore,
    at: Timestamp,
    writes: &[Write],
) -> Result<(), PolicyError> {
    first_ok(
        who.iter()
            .map(|p| authorize(kind, doc, deps, p, trust, at, writes)),
    )
}

fn first_ok(mut results: impl Iterator<Item = Result<(), PolicyError>>) -> Result<(), PolicyError> {
    let mut first = None;
    for r in results.by_ref() {
        match r {
            Ok(()) => return Ok(()),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    first.map_or(
        Err(PolicyError::Genesis {
            who: "a key without principals".into(),
            kind: "document",
            reason: "no certificate chain".into(),
        }),
        Err,
    )
}

/// Whether a rule judges one of `writes` on the whole typed view of the document as of the
/// change's history (booking decisions, wish fulfilment, revocations: each kind says,
/// [`crate::kind::Kind::needs_history`]), rather than on single records read as of that
/// history.
pub(crate) fn needs_history(kind: &dyn Kind, writes: &[Write]) -> bool {
    writes.iter().any(|w| kind.needs_history(&w.map, &w.key))
}

/// Checks every write of a change by `who` to `doc`. `deps` are the change's dependencies:
/// every rule that reads other records reads them as of that history, so the verdict is a
/// function of the change and its causal history only.
pub(crate) fn authorize(
    kind: &dyn Kind,
    doc: &Document,
    deps: &[ChangeHash],
    who: &Principal,
    trust: &TrustStore,
    at: Timestamp,
    writes: &[Write],
) -> Result<(), PolicyError> {
    // The document as of the change's dependencies, built only when a rule needs the whole
    // typed view (booking decisions, wish fulfilment); when the change was made on the
    // current state (the common case) that is the document.
    let mut current = doc.heads();
    current.sort();
    let mut wanted = deps.to_vec();
    wanted.sort();
    let at_current = current == wanted;
    let past = if needs_history(kind, writes) && !at_current {
        Some(doc.at(deps).map_err(|e| PolicyError::Genesis {
            who: describe(who),
            kind: doc.kind().label(),
            reason: format!("the change's history cannot be read: {e}"),
        })?)
    } else {
        None
    };
    let history: &Document = past.as_ref().unwrap_or(doc);
    let ctx = Rules {
        h: doc.header(),
        doc,
        deps,
        who,
        history,
        trust,
        at,
    };
    for w in writes {
        let deny = |reason: String| PolicyError::Denied {
            who: describe(who),
            kind: doc.kind().label(),
            map: w.map.clone(),
            key: w.key.clone(),
            reason,
        };
        // Each kind judges its writes (crate::kind::Kind::authorize; no default).
        let r = write_once(kind, &ctx, w).and_then(|()| kind.authorize(&ctx, w));
        r.map_err(deny)?;
    }
    Ok(())
}

fn write_once(kind: &dyn Kind, rules: &Rules<'_>, w: &Write) -> Result<(), String> {
    // Records the domain treats as final once written (each kind says).
    if kind.write_once(&w.map, &w.key) && rules.doc.exists_at(&w.map, &w.key, rules.deps) {
        return Err(format!(
            "{}/{} was already written and is final: records of this kind are never rewritten",
            w.map, w.key
        ));
    }
    Ok(())
}
