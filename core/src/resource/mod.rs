//! Shared resources and bookings: one document per resource (activity room, hall, court,
//! shared kitchen …).
//!
//! # Records and who writes them
//!
//! | map | key | record | written by |
//! |---|---|---|---|
//! | `meta` | `spec` | [`ResourceSpec`] | the owner, at genesis |
//! | `delegations` | `<delegation>` | [`Delegation`] | the owner |
//! | `requests` | `<booking>` | [`BookingRequest`] | the requesting organisation (its own ids) |
//! | `decisions` | `<booking>` | [`Decision`] | the arbiter of the slot (owner or delegate); the owner may also revoke |
//! | `cancellations` | `<booking>` | [`Cancellation`] | the requesting organisation |
//! | `bars` | `<owner:n>` | [`Bar`] | the owner |
//! | `orders` | `<order>` | [`Order`] | the placing organisation (its own ids) |
//! | `order_days` | `<date>/<order>` | `{}` (lists an order under its service date) | the placing organisation |
//! | `order_decisions` | `<order>` | [`OrderDecision`] | the kitchen operator (the owner) |
//! | `order_cancellations` | `<order>` | [`OrderCancellation`] | the placing organisation |
//!
//! # Arbiters
//!
//! A request is *tentative* until an arbiter decides it. The arbiter of a candidate slot
//! (with all its weekly occurrences) is the delegate whose block contains every occurrence;
//! otherwise the owner — except that the owner may not decide a slot that intersects any
//! delegated block. Delegated blocks never intersect each other, so the arbiters' domains
//! are disjoint and confirmations made concurrently by different arbiters can never overlap.
//! Each arbiter confirms only slots that overlap no confirmation it has seen, so confirmed
//! bookings never overlap and never exceed capacity (a single arbiter per domain, as in
//! Bayou's committed writes). Time rules (lead time, kitchen cut-off) are evaluated with the
//! arbiter's clock when it decides; the checks on the requesting side only give early
//! errors.
//!
//! Rejecting and waitlisting is for an arbiter of any candidate of the booking (the owner
//! when no candidate has an arbiter); revoking is for the arbiter of the confirmed slot or
//! the owner. Delegations are permanent: no operation ends one, since ending a block would
//! let the owner and the former delegate confirm in it concurrently. Every node is assumed
//! to act for one organisation and each organisation to decide from one node.
//!
//! # Merge rules
//!
//! The status of a booking is derived from its records, in this order:
//!
//! 1. **cancelled** if a `cancellations` record exists — a cancellation beats everything,
//!    including a concurrent confirmation;
//! 2. **revoked** if *any* of the concurrent values at `decisions/<booking>`
//!    ([`Document::get_all`]) is a revocation — a revocation beats a concurrent decision;
//! 3. otherwise the winning decision value: **confirmed**, **rejected** or **waitlisted**
//!    (two arbiters can decide one booking concurrently when its candidates lie in
//!    different domains; automerge's deterministic winner then counts, and either value
//!    keeps the invariant because each was checked within its own arbiter's domain);
//! 4. otherwise **tentative**.
//!
//! Cancelled and revoked are final: every later operation on such a booking is refused.
//! As a last line of defence the derivation re-checks confirmations in the order of their
//! decision time (then booking id): a confirmation that overlaps an earlier one, or breaks
//! the resource's standing rules, is shown as [`BookingStatus::Contested`]: it holds no
//! room, but nothing new is confirmed over its slot until the arbiter revokes it. Validated
//! operations by one node per arbiter never produce one (it takes a writer that bypassed
//! validation, or two nodes confirming for the same arbiter concurrently);
//! [`Resource::check_invariants`] reports it.
//!
//! Meal orders: cancelled if an `order_cancellations` record exists, else the operator's
//! decision (accepted, refused, collected, uncollected), else placed. Only the operator
//! accepts, so accepted portions of a date never exceed the daily capacity.

mod booking;
mod error;
mod kitchen;
mod records;
mod signups;
mod spec;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cert::Principal;
use crate::document::Write;
use crate::document::{Document, Put};
use crate::ids::{BookingId, DelegationId, OrderId, OrgId, RecordId, Scope};
use crate::kind::{Ctx, Effect};
use crate::policy;
use crate::schema::{decode, id, key_parts};
use crate::time::{Slot, Timestamp, Zone};

pub(crate) use booking::authorize_decision;
pub use error::ResourceError;
pub use records::{
    Bar, Barred, BookingForm, BookingRequest, BookingStatus, BookingView, CalendarEntry,
    Cancellation, Decision, Delegation, KitchenDay, MAX_ALTERNATES, MAX_WEEKS, Order,
    OrderCancellation, OrderDecision, OrderStatus, OrderVerdict, OrderView, Recurrence, Verdict,
};
pub use signups::{
    Activity, ActivityView, HouseholdId, MAX_PLACES, Participant, SignUp, SignUpStatus, SignupError,
};
pub use spec::{KitchenSpec, ResourceKind, ResourceSpec, WeeklyBlock};

use spec::LocalSpan;

/// The record maps of a resource (besides `meta`).
pub const MAPS: &[&str] = &[
    "activities",
    "bars",
    "cancellations",
    "decisions",
    "delegations",
    "order_cancellations",
    "order_days",
    "order_decisions",
    "orders",
    "requests",
    "signups",
];
/// Record maps added after the kind's first version: the activities' sign-ups (a resource
/// published before them lacks them, and takes no sign-ups until published anew).
pub const LATE_MAPS: &[&str] = &["activities", "signups"];

/// A write on a resource document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceOp {
    /// Owner: hand a weekly block to a delegate, who then decides the slots inside it.
    Delegate {
        /// The delegate, by its certified scope (e.g. `beishi/dianye/state-grid`).
        delegate: Scope,
        /// The block; it must not intersect another delegated block.
        block: WeeklyBlock,
    },
    /// Anyone: request a booking (numbered with the author's organisation).
    Request(BookingForm),
    /// Arbiter: confirm the first candidate slot that fits.
    Confirm {
        /// The booking.
        booking: BookingId,
    },
    /// Arbiter: decline.
    Reject {
        /// The booking.
        booking: BookingId,
        /// Why.
        reason: String,
    },
    /// Arbiter: keep waiting; [`ResourceOp::PromoteWaitlist`] confirms it when a slot frees.
    Waitlist {
        /// The booking.
        booking: BookingId,
    },
    /// Arbiter of the confirmed slot, or the owner: withdraw a confirmation; final.
    Revoke {
        /// The booking.
        booking: BookingId,
        /// Why (e.g. misuse of the room).
        reason: String,
    },
    /// Requesting organisation: cancel; final.
    Cancel {
        /// The booking.
        booking: BookingId,
        /// Why (may be empty).
        reason: String,
    },
    /// Owner: bar an organisation or a named booker or group.
    Bar {
        /// Who.
        who: Barred,
        /// Why.
        reason: String,
    },
    /// Arbiter: confirm waitlisted requests, oldest first, where a slot is now free.
    PromoteWaitlist,
    /// Anyone (kitchens only): order meals for a service date before its cut-off.
    PlaceOrder {
        /// The household, e.g. "3-2-401".
        household: String,
        /// The local service date.
        #[schemars(with = "String")]
        date: jiff::civil::Date,
        /// Portions.
        portions: u32,
        /// Dishes.
        items: Vec<String>,
    },
    /// Kitchen operator: accept an order placed before the cut-off, within daily capacity.
    AcceptOrder {
        /// The order.
        order: OrderId,
    },
    /// Kitchen operator: refuse a placed order.
    RefuseOrder {
        /// The order.
        order: OrderId,
        /// Why.
        reason: String,
    },
    /// Kitchen operator: record whether an accepted order was collected.
    MarkCollected {
        /// The order.
        order: OrderId,
        /// Collected or not.
        collected: bool,
    },
    /// Placing organisation: cancel an order before the cut-off; final.
    CancelOrder {
        /// The order.
        order: OrderId,
    },
    /// Owner: change the resource's rules — name, capacity, opening hours, blackout dates,
    /// lead time, longest booking, house rules, a kitchen's menu and cut-off. Its kind and
    /// time zone stay (they are the resource's identity and the meaning of every slot);
    /// bookings already decided stand, new requests are checked against the new rules.
    SetSpec {
        /// The new rules.
        spec: ResourceSpec,
    },
    /// Organiser (the booking's requester): open or change the activity on a confirmed
    /// booking — its title, places, waitlist length and sign-up deadline (at the latest its
    /// start).
    SetActivity {
        /// The booking.
        booking: BookingId,
        /// Title, e.g. "Paper-cutting class".
        title: String,
        /// Places (1..=10000).
        capacity: u32,
        /// How many more sign-ups wait for a place once the places are full.
        #[serde(default)]
        waitlist: u32,
        /// Sign-ups close at this instant.
        deadline: Timestamp,
    },
    /// Organiser: sign a household (`dianye:h301`) or a volunteer (`dianye:7`) up for the
    /// activity: a place while there is one, else the waitlist; refused after the deadline
    /// or when places and waitlist are full.
    SignUp {
        /// The booking.
        booking: BookingId,
        /// Who: a household pseudonym or a volunteer id (no names).
        participant: Participant,
    },
    /// Organiser: cancel a sign-up; the first on the waitlist (earliest, then smallest id)
    /// takes the place.
    CancelSignUp {
        /// The booking.
        booking: BookingId,
        /// Who.
        participant: Participant,
    },
}

impl crate::kind::KindOp for ResourceOp {
    fn split_personal(self) -> (Self, Option<crate::personal::PersonalData>) {
        use crate::personal::{PersonalData, mask_household, mask_name};
        match self {
            ResourceOp::Request(mut form) => {
                let data = PersonalData::Booker {
                    name: form.booker.trim().to_string(),
                    contact: form.contact.take().filter(|c| !c.trim().is_empty()),
                };
                form.booker = mask_name(&form.booker);
                (ResourceOp::Request(form), Some(data))
            }
            ResourceOp::PlaceOrder {
                household,
                date,
                portions,
                items,
            } => {
                let data = PersonalData::Household {
                    household: household.trim().to_string(),
                };
                let op = ResourceOp::PlaceOrder {
                    household: mask_household(&household),
                    date,
                    portions,
                    items,
                };
                (op, Some(data))
            }
            op => (op, None),
        }
    }
}

/// A new resource described by `spec`, owned by the creating organisation `owner`, in
/// `street` (and `community`), in the spec's time zone.
pub(crate) fn genesis(
    owner: OrgId,
    street: OrgId,
    community: Option<OrgId>,
    spec: ResourceSpec,
) -> Result<crate::document::Genesis, ResourceError> {
    spec.validate()?;
    let header = crate::document::DocHeader::new(
        crate::document::DocKind::Resource,
        owner,
        street,
        community,
        None,
        spec.name.clone(),
        spec.zone.clone(),
    );
    Ok((header, vec![Put::new("meta", "spec", &spec)]))
}

/// Validates `op` against the current state of the resource document and returns the record
/// puts, the effect and a change message. Nothing is written here; an error means no puts.
pub fn plan(
    doc: &Document,
    ctx: &Ctx<'_>,
    op: ResourceOp,
) -> Result<(Vec<Put>, Effect, String), ResourceError> {
    let r = Resource::new(doc)?;
    match op {
        ResourceOp::Delegate { delegate, block } => booking::delegate(&r, ctx, delegate, block),
        ResourceOp::Request(form) => booking::request(&r, ctx, form),
        ResourceOp::Confirm { booking } => booking::confirm(&r, ctx, booking),
        ResourceOp::Reject { booking, reason } => booking::reject(&r, ctx, booking, reason),
        ResourceOp::Waitlist { booking } => booking::waitlist(&r, ctx, booking),
        ResourceOp::Revoke { booking, reason } => booking::revoke(&r, ctx, booking, reason),
        ResourceOp::Cancel { booking, reason } => booking::cancel(&r, ctx, booking, reason),
        ResourceOp::Bar { who, reason } => booking::bar(&r, ctx, who, reason),
        ResourceOp::PromoteWaitlist => booking::promote(&r, ctx),
        ResourceOp::PlaceOrder {
            household,
            date,
            portions,
            items,
        } => kitchen::place(&r, ctx, household, date, portions, items),
        ResourceOp::AcceptOrder { order } => kitchen::accept(&r, ctx, order),
        ResourceOp::RefuseOrder { order, reason } => kitchen::refuse(&r, ctx, order, reason),
        ResourceOp::MarkCollected { order, collected } => {
            kitchen::collected(&r, ctx, order, collected)
        }
        ResourceOp::CancelOrder { order } => kitchen::cancel(&r, ctx, order),
        ResourceOp::SetSpec { spec } => set_spec(&r, ctx, spec),
        ResourceOp::SetActivity {
            booking,
            title,
            capacity,
            waitlist,
            deadline,
        } => signups::set_activity(&r, ctx, booking, title, capacity, waitlist, deadline),
        ResourceOp::SignUp {
            booking,
            participant,
        } => signups::sign_up(&r, ctx, booking, participant),
        ResourceOp::CancelSignUp {
            booking,
            participant,
        } => signups::cancel_sign_up(&r, ctx, booking, participant),
    }
}

fn set_spec(r: &Resource<'_>, ctx: &Ctx<'_>, spec: ResourceSpec) -> Planned {
    r.require_owner(ctx.scope, "change the resource's rules")?;
    spec.validate()?;
    let old = r.spec();
    if spec.kind != old.kind {
        return Err(ResourceError::InvalidSpec(format!(
            "the kind stays {:?}: create a new resource for a {:?}",
            old.kind, spec.kind
        )));
    }
    if spec.zone != old.zone {
        return Err(ResourceError::InvalidSpec(format!(
            "the time zone stays {} (every slot of the resource is read in it)",
            old.zone.name()
        )));
    }
    let msg = format!("rules of {}", spec.name);
    Ok((vec![Put::new("meta", "spec", &spec)], Effect::Done, msg))
}

/// What [`plan`] returns.
type Planned = Result<(Vec<Put>, Effect, String), ResourceError>;

/// Read view of a resource document: its specification, bookings with derived statuses,
/// delegations, bars and kitchen orders.
#[derive(Debug, Clone)]
pub struct Resource<'a> {
    doc: &'a Document,
    spec: ResourceSpec,
    bookings: BTreeMap<BookingId, BookingView>,
    /// Occurrences held by effectively confirmed bookings, by start. They are pairwise
    /// disjoint (that is what the derivation enforces), so starts are unique and the only
    /// held occurrence that can overlap a slot is the last one starting before its end.
    held: BTreeMap<Timestamp, (BookingId, Slot)>,
    /// Occurrences claimed by contested confirmations: nothing new is confirmed over them
    /// until they are revoked, so a contest never spreads to a later confirmation.
    claims: Vec<(BookingId, Slot)>,
    delegations: Vec<(DelegationId, Delegation)>,
    bars: Vec<(RecordId, Bar)>,
}

impl<'a> Resource<'a> {
    /// Reads a resource document and derives every booking's status.
    pub fn new(doc: &'a Document) -> Result<Self, ResourceError> {
        let spec: ResourceSpec = doc.get("meta", "spec")?.ok_or(ResourceError::MissingSpec)?;
        let cancels: BTreeMap<BookingId, Cancellation> = keyed(doc, "cancellations");
        let mut decided: BTreeMap<BookingId, Vec<Decision>> = BTreeMap::new();
        for (id, winner) in keyed::<BookingId, Decision>(doc, "decisions") {
            let all = doc
                .get_all::<Decision>("decisions", &id.to_string())
                .unwrap_or_else(|_| vec![winner]);
            decided.insert(id, all);
        }
        let mut bookings = BTreeMap::new();
        let mut confirmed = Vec::new();
        for (id, request) in keyed::<BookingId, BookingRequest>(doc, "requests") {
            let all = decided.remove(&id).unwrap_or_default();
            let status = merged_status(&all, cancels.get(&id));
            if let (BookingStatus::Confirmed { slot_index }, Some(d)) = (&status, all.last()) {
                confirmed.push((d.at, id.clone(), *slot_index));
            }
            bookings.insert(
                id.clone(),
                BookingView {
                    id,
                    request,
                    status,
                },
            );
        }
        let mut r = Self {
            doc,
            spec,
            bookings,
            held: BTreeMap::new(),
            claims: Vec::new(),
            delegations: keyed(doc, "delegations").into_iter().collect(),
            bars: keyed(doc, "bars").into_iter().collect(),
        };
        // Last line of defence: earlier confirmations keep the room (see module docs).
        confirmed.sort();
        for (_, id, slot_index) in confirmed {
            match r.effective(&id, slot_index) {
                Ok(occ) => {
                    for s in occ {
                        r.held.insert(s.start, (id.clone(), s));
                    }
                }
                Err(reason) => {
                    let Some(b) = r.bookings.get_mut(&id) else {
                        continue;
                    };
                    b.status = BookingStatus::Contested { slot_index, reason };
                    let form = &b.request.form;
                    let slot = form.candidates().get(slot_index).copied();
                    let occ = slot.and_then(|s| form.occurrences(&s, &r.spec.zone).ok());
                    r.claims
                        .extend(occ.unwrap_or_default().into_iter().map(|s| (id.clone(), s)));
                }
            }
        }
        Ok(r)
    }

    /// Occurrences of a recorded confirmation if it keeps the invariant against `held`.
    fn effective(&self, id: &BookingId, slot_index: usize) -> Result<Vec<Slot>, String> {
        let form = &self
            .bookings
            .get(id)
            .ok_or_else(|| format!("unknown booking {id}"))?
            .request
            .form;
        let slot = *form
            .candidates()
            .get(slot_index)
            .ok_or_else(|| format!("candidate {slot_index} does not exist"))?;
        let occ = form
            .occurrences(&slot, &self.spec.zone)
            .map_err(|e| e.to_string())?;
        self.spec
            .check_attendees(form.attendees)
            .map_err(|e| e.to_string())?;
        for o in &occ {
            self.spec.check_occurrence(o).map_err(|e| e.to_string())?;
            if let Some((other, s)) = self.overlapping(o) {
                return Err(format!(
                    "overlaps booking {other} ({}) confirmed earlier",
                    s.display_in(&self.spec.zone)
                ));
            }
        }
        Ok(occ)
    }

    /// A held occurrence overlapping `slot`, if any (logarithmic, see `held`).
    fn overlapping(&self, slot: &Slot) -> Option<(&BookingId, &Slot)> {
        let (_, (id, s)) = self.held.range(..slot.end).next_back()?;
        s.overlaps(slot).then_some((id, s))
    }

    /// Refuses unless `who` is the owner.
    fn require_owner(&self, who: &Scope, action: &str) -> Result<(), ResourceError> {
        if *who != self.owner_scope() {
            return Err(ResourceError::NotAllowed {
                who: who.clone(),
                action: action.to_string(),
                allowed: format!("the owner {}", self.owner_scope()),
            });
        }
        Ok(())
    }

    /// The document.
    pub fn document(&self) -> &'a Document {
        self.doc
    }
    /// The specification.
    pub fn spec(&self) -> &ResourceSpec {
        &self.spec
    }
    /// The owner's code (from the document header).
    pub fn owner(&self) -> &OrgId {
        &self.doc.header().owner
    }
    /// The owner's certified scope (from the document header): the principal that owns it.
    pub fn owner_scope(&self) -> Scope {
        self.doc.header().owner_scope()
    }
    /// The time zone of the resource's rules.
    pub fn zone(&self) -> &Zone {
        &self.spec.zone
    }
    /// All bookings in id order.
    pub fn bookings(&self) -> Vec<BookingView> {
        self.bookings.values().cloned().collect()
    }
    /// One booking.
    pub fn booking(&self, id: &BookingId) -> Option<&BookingView> {
        self.bookings.get(id)
    }
    /// The status of one booking.
    pub fn status(&self, id: &BookingId) -> Option<&BookingStatus> {
        self.bookings.get(id).map(|b| &b.status)
    }
    /// Occurrences of tentative, waitlisted, confirmed and contested bookings overlapping
    /// `range` (e.g. one week), by start: confirmed ones at their confirmed candidate,
    /// the others at their requested slot.
    pub fn bookings_in(&self, range: Slot) -> Vec<CalendarEntry> {
        let mut out = Vec::new();
        for b in self.bookings.values() {
            let form = &b.request.form;
            let slot = match &b.status {
                BookingStatus::Tentative | BookingStatus::Waitlisted => Some(form.slot),
                BookingStatus::Confirmed { slot_index }
                | BookingStatus::Contested { slot_index, .. } => {
                    form.candidates().get(*slot_index).copied()
                }
                _ => None,
            };
            let occ = slot.and_then(|s| form.occurrences(&s, &self.spec.zone).ok());
            for slot in occ
                .unwrap_or_default()
                .into_iter()
                .filter(|s| s.overlaps(&range))
            {
                out.push(CalendarEntry {
                    booking: b.id.clone(),
                    slot,
                    status: b.status.clone(),
                    purpose: form.purpose.clone(),
                    organisation: form.organisation.clone(),
                });
            }
        }
        out.sort_by(|a, b| (a.slot, &a.booking).cmp(&(b.slot, &b.booking)));
        out
    }
    /// Waitlisted bookings in promotion order: by request time, then id.
    pub fn waitlist(&self) -> Vec<BookingView> {
        let mut v: Vec<BookingView> = self
            .bookings
            .values()
            .filter(|b| b.status == BookingStatus::Waitlisted)
            .cloned()
            .collect();
        v.sort_by(|a, b| (a.request.requested_at, &a.id).cmp(&(b.request.requested_at, &b.id)));
        v
    }
    /// Every occurrence of every confirmed booking, by start.
    pub fn confirmed_occurrences(&self) -> Vec<(BookingId, Slot)> {
        self.held.values().cloned().collect()
    }
    /// Delegations in id order.
    pub fn delegations(&self) -> &[(DelegationId, Delegation)] {
        &self.delegations
    }
    /// Bars in id order.
    pub fn bars(&self) -> &[(RecordId, Bar)] {
        &self.bars
    }
    /// The bar covering a request by `org` with this form, if any.
    pub fn bar_for(&self, org: &Scope, form: &BookingForm) -> Option<&Bar> {
        self.bars
            .iter()
            .map(|(_, b)| b)
            .find(|b| b.who.covers(org, form))
    }
    /// Who decides a slot repeated for `weeks` weeks: the delegate whose block contains every
    /// occurrence, else the owner if no occurrence touches a delegated block, else nobody.
    pub fn arbiter_of(&self, slot: &Slot, weeks: u32) -> Result<Option<Scope>, ResourceError> {
        let occ: Vec<Slot> = (0..weeks.max(1))
            .map(|k| slot.shifted_weeks(k, &self.spec.zone))
            .collect::<Result<_, _>>()?;
        self.arbiter(&occ)
    }
    fn arbiter(&self, occurrences: &[Slot]) -> Result<Option<Scope>, ResourceError> {
        let spans: Vec<LocalSpan> = occurrences
            .iter()
            .map(|s| LocalSpan::of(s, &self.spec.zone))
            .collect::<Result<_, _>>()?;
        for (_, d) in &self.delegations {
            if spans.iter().all(|s| d.block.contains(s)) {
                return Ok(Some(d.delegate.clone()));
            }
        }
        let touches = |s: &LocalSpan| self.delegations.iter().any(|(_, d)| d.block.intersects(s));
        Ok((!spans.iter().any(touches)).then(|| self.owner_scope()))
    }

    /// Checks the booking invariant on the derived state: no contested confirmation, and the
    /// confirmed occurrences never overlap, stay within the rules and capacity; and for a
    /// kitchen, accepted portions of every date stay within the daily capacity and every
    /// accepted order was placed before its cut-off. Returns the first violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        for b in self.bookings.values() {
            if let BookingStatus::Contested { reason, .. } = &b.status {
                return Err(format!("booking {} is contested: {reason}", b.id));
            }
        }
        // Sorted by start, so disjoint means each ends before the next starts.
        let occ = self.confirmed_occurrences();
        for w in occ.windows(2) {
            if let [(a, sa), (b, sb)] = w
                && sa.overlaps(sb)
            {
                return Err(format!("confirmed bookings {a} and {b} overlap"));
            }
        }
        for (a, sa) in &occ {
            self.spec
                .check_occurrence(sa)
                .map_err(|e| format!("{a}: {e}"))?;
            let attendees = self.bookings.get(a).map_or(0, |v| v.request.form.attendees);
            self.spec
                .check_attendees(attendees)
                .map_err(|e| format!("{a}: {e}"))?;
        }
        self.check_kitchen_invariants()
    }
}

/// The merge rule of the module docs, on the concurrent decision values (winner last).
fn merged_status(decisions: &[Decision], cancel: Option<&Cancellation>) -> BookingStatus {
    if let Some(c) = cancel {
        return BookingStatus::Cancelled {
            reason: c.reason.clone(),
        };
    }
    let revoked = decisions.iter().find_map(|d| match &d.verdict {
        Verdict::Revoked { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    if let Some(reason) = revoked {
        return BookingStatus::Revoked { reason };
    }
    match decisions.last().map(|d| &d.verdict) {
        None => BookingStatus::Tentative,
        Some(Verdict::Confirmed { slot_index }) => BookingStatus::Confirmed {
            slot_index: *slot_index,
        },
        Some(Verdict::Rejected { reason }) => BookingStatus::Rejected {
            reason: reason.clone(),
        },
        Some(Verdict::Waitlisted) => BookingStatus::Waitlisted,
        Some(Verdict::Revoked { reason, .. }) => BookingStatus::Revoked {
            reason: reason.clone(),
        },
    }
}

/// Records of a map whose keys parse as `K`, in key order.
fn keyed<K: std::str::FromStr + Ord, V: serde::de::DeserializeOwned>(
    doc: &Document,
    map: &str,
) -> BTreeMap<K, V> {
    doc.records::<V>(map)
        .into_iter()
        .filter_map(|(k, v)| k.parse().ok().map(|k| (k, v)))
        .collect()
}

/// Key shape and record type per map (used to refuse malformed remote changes).
pub(crate) fn check_record(map: &str, key: &str, value: &str) -> Result<(), String> {
    fn one<K: std::str::FromStr>(key: &str) -> Result<K, String>
    where
        K::Err: std::fmt::Display,
    {
        let [k] = key_parts::<1>(key)?;
        id::<K>(k)
    }
    match map {
        "meta" if key == "spec" => decode::<ResourceSpec>(value)?
            .validate()
            .map_err(|e| e.to_string()),
        "meta" => Err(format!("a resource has no meta record {key:?}")),
        "requests" => {
            one::<BookingId>(key)?;
            let form = decode::<BookingRequest>(value)?.form;
            form.check_shape().map_err(|e| e.to_string())?;
            // Personal data stays out of replicated documents (crate::personal).
            if form.contact.is_some() {
                return Err("a booking request in a document may not hold a contact \
                            (personal data travels only to its audience)"
                    .into());
            }
            if form.booker != crate::personal::mask_name(&form.booker) {
                return Err(format!(
                    "a booking request in a document names its booker only masked ({:?}), \
                     not in full",
                    crate::personal::mask_name(&form.booker)
                ));
            }
            Ok(())
        }
        "decisions" => one::<BookingId>(key).and(decode::<Decision>(value).map(drop)),
        "cancellations" => one::<BookingId>(key).and(decode::<Cancellation>(value).map(drop)),
        "delegations" => {
            one::<DelegationId>(key)?;
            decode::<Delegation>(value)?.block.validate()
        }
        "bars" => one::<RecordId>(key).and(decode::<Bar>(value).map(drop)),
        "orders" => {
            one::<OrderId>(key)?;
            let order = decode::<Order>(value)?;
            if order.household != crate::personal::mask_household(&order.household) {
                return Err(format!(
                    "an order in a document names its household only masked ({:?}), not in full",
                    crate::personal::mask_household(&order.household)
                ));
            }
            Ok(())
        }
        "order_decisions" => one::<OrderId>(key).and(decode::<OrderDecision>(value).map(drop)),
        "order_days" => {
            let [d, o] = key_parts::<2>(key)?;
            id::<jiff::civil::Date>(d)?;
            id::<OrderId>(o)?;
            decode::<kitchen::OrderListing>(value).map(drop)
        }
        "order_cancellations" => {
            one::<OrderId>(key).and(decode::<OrderCancellation>(value).map(drop))
        }
        "activities" | "signups" => signups::check_record(map, key, value),
        _ => Err(format!("a resource has no record map {map:?}")),
    }
}

/// The resource kind's contract (see [`crate::kind`]).
pub struct ResourceContract;

/// This module's [`crate::kind::Kind`].
pub static KIND: ResourceContract = ResourceContract;

crate::kind::kind_basics!(Resource, ResourceContract, ResourceOp);

impl crate::kind::Kind for ResourceContract {
    crate::kind::kind_basics!(Resource, ResourceOp);
    /// Performers, as its rules below: rules, delegations, bars and meal-order decisions
    /// the owner; requests and orders anyone certified; decisions the arbiter (the owner,
    /// or a delegate its delegation names); cancellations the requester the record names.
    fn performers(&self, op: &str) -> Option<&'static [crate::policy::Standing]> {
        use crate::policy::Standing::*;
        Some(match op {
            "set_spec" | "delegate" | "bar" | "accept_order" | "refuse_order"
            | "mark_collected" => &[Owner],
            "request" | "place_order" => &[Certified],
            "confirm" | "reject" | "waitlist" | "revoke" | "promote_waitlist" => &[Owner, Named],
            "cancel" | "cancel_order" => &[Named],
            "set_activity" | "sign_up" | "cancel_sign_up" => &[Named],
            _ => return None,
        })
    }
    /// Named: a delegate of a block, the requester of a booking or of a meal order.
    fn named(&self, doc: &Document, who: &crate::cert::Principal) -> bool {
        Resource::new(doc).is_ok_and(|r| {
            r.delegations().iter().any(|(_, d)| d.delegate == who.scope)
                || r.bookings().iter().any(|b| b.request.by == who.scope)
        }) || doc
            .records::<Order>("orders")
            .iter()
            .any(|(_, o)| o.by == who.scope)
    }
    /// Receivers: the owner and what lies within it, its street, the communities of that street, and the units and partners of its community.
    fn receives(&self, r: &crate::kind::Relation) -> bool {
        r.own || r.its_street || r.community_of_street || r.in_community
    }
    fn write_once(&self, map: &str, _key: &str) -> bool {
        matches!(
            map,
            "requests"
                | "cancellations"
                | "orders"
                | "order_days"
                | "order_cancellations"
                | "delegations"
                | "bars"
        )
    }
    fn needs_history(&self, map: &str, _key: &str) -> bool {
        // An activity is set only on a booking confirmed as of its history.
        map == "decisions" || map == "activities"
    }
    fn authorize(
        &self,
        rules: &crate::policy::Rules<'_>,
        w: &crate::document::Write,
    ) -> Result<(), String> {
        // A decision is judged on the whole booking view as of its history.
        if w.map == "decisions" {
            resource_decision(rules.history, rules.who, w)
        } else {
            rules.resource(w)
        }
    }
    fn may_create(
        &self,
        header: &crate::document::DocHeader,
        who: &crate::cert::Principal,
    ) -> Result<(), String> {
        crate::policy::owner_creates(header, who)
    }
    fn audience(
        &self,
        doc: &Document,
        map: &str,
        key: &str,
    ) -> Option<Result<crate::personal::Audience, crate::personal::PersonalError>> {
        use crate::personal::{Audience, canonical, unknown_record};
        // The resource owner and the organisation that wrote the record, which alone
        // writes its data.
        let unknown = || unknown_record(doc, map, key);
        let owner = doc.header().owner_scope();
        match map {
            "requests" => Some((|| {
                let _: BookingId = canonical(key).ok_or_else(unknown)?;
                let req: BookingRequest = doc.get(map, key).ok().flatten().ok_or_else(unknown)?;
                Ok(Audience::owner_and(owner, req.by, "booker"))
            })()),
            "orders" => Some((|| {
                let _: OrderId = canonical(key).ok_or_else(unknown)?;
                let order: Order = doc.get(map, key).ok().flatten().ok_or_else(unknown)?;
                Ok(Audience::owner_and(owner, order.by, "household"))
            })()),
            _ => None,
        }
    }
    fn receives_for_content(&self, doc: &Document, who: &crate::cert::Principal) -> bool {
        // A unit or partner of another community to which the owner delegated a block, or
        // whose booking request the resource holds (it decides or follows bookings there).
        matches!(
            who.role,
            Some(crate::cert::Role::Unit | crate::cert::Role::Partner)
        ) && Resource::new(doc).is_ok_and(|r| {
            r.delegations().iter().any(|(_, d)| d.delegate == who.scope)
                || r.bookings().iter().any(|b| b.request.by == who.scope)
        })
    }
}

/// This kind's write policy (reached through [`Kind::authorize`](crate::kind::Kind::authorize)).
impl policy::Rules<'_> {
    pub(crate) fn resource(&self, w: &Write) -> policy::Rule {
        match w.map.as_str() {
            "meta" => self.owner("change the resource's rules"),
            "delegations" => {
                self.owner("delegate blocks")?;
                let d: Delegation = policy::decode(w)?;
                policy::require(d.delegate != self.h.owner_scope(), || {
                    "the owner cannot be its own delegate".into()
                })
            }
            "bars" => self.owner("bar bookers"),
            "order_decisions" => {
                self.owner("decide meal orders")?;
                self.order_decision(w)
            }
            "requests" => {
                self.own_number(&policy::first_id::<BookingId>(&w.key)?.0)?;
                let req: BookingRequest = policy::decode(w)?;
                self.names_signer(&req.by, "requester")
            }
            "orders" => {
                self.own_number(&policy::first_id::<OrderId>(&w.key)?.0)?;
                let order: Order = policy::decode(w)?;
                self.names_signer(&order.by, "placing organisation")
            }
            "order_days" => {
                let order: OrderId = w
                    .key
                    .rsplit('/')
                    .next()
                    .and_then(|k| k.parse().ok())
                    .ok_or_else(|| format!("malformed key {:?}", w.key))?;
                self.own_number(&order.0)
            }
            "cancellations" => {
                let key = w.key.split('/').next().unwrap_or_default();
                let requests = self
                    .doc
                    .get_all_at::<BookingRequest>("requests", key, self.deps);
                self.same_writer("requests", key, requests.iter().map(|r| &r.by))
            }
            "activities" | "signups" => self.signups(w),
            "order_cancellations" => {
                let key = w.key.split('/').next().unwrap_or_default();
                let orders = self.doc.get_all_at::<Order>("orders", key, self.deps);
                self.same_writer("orders", key, orders.iter().map(|o| &o.by))
            }
            _ => Err("unknown map".into()),
        }
    }

    /// An order is accepted or refused once, while placed (not cancelled); only an accepted
    /// order is then marked collected or not — the typed operation's transitions, judged
    /// on the change's history.
    fn order_decision(&self, w: &Write) -> policy::Rule {
        use {OrderDecision, OrderVerdict};
        let key = w.key.split('/').next().unwrap_or_default();
        let d: OrderDecision = policy::decode(w)?;
        if !self.doc.exists_at("orders", key, self.deps) {
            return Err(format!("order {key} is not in this change's history"));
        }
        let before = self
            .doc
            .get_all_at::<OrderDecision>("order_decisions", key, self.deps);
        let cancelled = self.doc.exists_at("order_cancellations", key, self.deps);
        let accepted = !before.is_empty()
            && before.iter().all(|b| {
                matches!(
                    b.verdict,
                    OrderVerdict::Accepted | OrderVerdict::Collected | OrderVerdict::Uncollected
                )
            });
        match d.verdict {
            OrderVerdict::Accepted | OrderVerdict::Refused { .. } => {
                policy::require(before.is_empty() && !cancelled, || {
                    format!("order {key} was already decided or cancelled; a decision is final")
                })
            }
            OrderVerdict::Collected | OrderVerdict::Uncollected => {
                policy::require(accepted, || {
                    format!("order {key} is not accepted, so it cannot be marked collected or not")
                })
            }
        }
    }

    /// A cancellation comes from the organisation that wrote the request or order: the
    /// scope the record names (which its write policy checked against its signer).
    fn same_writer<'s>(
        &self,
        map: &str,
        key: &str,
        mut writers: impl Iterator<Item = &'s Scope>,
    ) -> policy::Rule {
        let first = writers
            .next()
            .ok_or_else(|| format!("{map}/{key} is not in this change's history"))?;
        policy::require(
            *first == self.who.scope && writers.all(|s| *s == self.who.scope),
            || {
                format!(
                    "{map}/{key} was written by {first}, not by {}",
                    self.who.scope
                )
            },
        )
    }
}

pub(crate) fn resource_decision(past: &Document, who: &Principal, w: &Write) -> policy::Rule {
    let booking: BookingId = policy::first_id(&w.key)?;
    let d: Decision = policy::decode(w)?;
    if who.is_root() {
        return Err("the root does not decide bookings".into());
    }
    policy::require(d.by == who.scope, || {
        format!(
            "the decision names arbiter {}, not the signer's scope {}",
            d.by, who.scope
        )
    })?;
    let r = Resource::new(past).map_err(|e| e.to_string())?;
    authorize_decision(&r, &who.scope, &booking, &d.verdict)
}

#[cfg(test)]
mod tests;
