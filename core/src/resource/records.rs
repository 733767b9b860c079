//! The records stored in a resource document and the statuses derived from them.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{ResourceError, WeeklyBlock};
use crate::ids::{BookingId, OrderId, Scope};
use crate::time::{Slot, TimeError, Timestamp, Zone};

/// Most alternate slots a request may list.
pub const MAX_ALTERNATES: usize = 5;
/// Most weeks a weekly recurrence may span.
pub const MAX_WEEKS: u32 = 52;

/// A weekly recurrence: the slot repeats at the same local time for `weeks` weeks in a row
/// (`weeks = 1` is a single occurrence), except on the local dates in `except`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recurrence {
    /// Number of weekly occurrences, 1..=52.
    pub weeks: u32,
    /// Local dates on which the series does not meet (a holiday, the room needed for
    /// something else): each the date of an occurrence of the requested slot or of an
    /// alternate, fewer than `weeks` of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<String>")]
    pub except: Vec<Date>,
}

/// What a requester fills in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingForm {
    /// The named responsible person (required). Personal data: in a document only its
    /// masked public view ([`crate::personal::mask_name`]); the full name is kept in a
    /// personal record read by the resource owner and the requesting organisation.
    pub booker: String,
    /// How to reach the booker. Personal data: never in a document (see `booker`).
    pub contact: Option<String>,
    /// The organising group, e.g. "Dianye reading club".
    pub organisation: Option<String>,
    /// What the room is for (required).
    pub purpose: String,
    /// The wished slot (first occurrence).
    pub slot: Slot,
    /// Expected attendance.
    pub attendees: u32,
    /// Acceptable other slots, in order of preference (at most [`MAX_ALTERNATES`]).
    pub alternates: Vec<Slot>,
    /// Weekly repetition of whichever slot is confirmed.
    pub recurrence: Option<Recurrence>,
}

impl BookingForm {
    /// A single-occurrence request without alternates, contact or organisation.
    pub fn new(booker: &str, purpose: &str, slot: Slot, attendees: u32) -> Self {
        Self {
            booker: booker.into(),
            contact: None,
            organisation: None,
            purpose: purpose.into(),
            slot,
            attendees,
            alternates: Vec::new(),
            recurrence: None,
        }
    }
    /// With alternate slots.
    pub fn with_alternates(mut self, alternates: Vec<Slot>) -> Self {
        self.alternates = alternates;
        self
    }
    /// Repeating weekly for `weeks` weeks.
    pub fn weekly(mut self, weeks: u32) -> Self {
        self.recurrence = Some(Recurrence {
            weeks,
            except: Vec::new(),
        });
        self
    }
    /// Skipping the occurrences on these local dates (a weekly series with exceptions).
    pub fn except(mut self, dates: Vec<Date>) -> Self {
        if let Some(r) = &mut self.recurrence {
            r.except = dates;
        }
        self
    }
    /// With the organising group.
    pub fn with_organisation(mut self, organisation: &str) -> Self {
        self.organisation = Some(organisation.into());
        self
    }
    /// With a contact.
    pub fn with_contact(mut self, contact: &str) -> Self {
        self.contact = Some(contact.into());
        self
    }
    /// Number of weekly occurrences (1 without recurrence).
    pub fn weeks(&self) -> u32 {
        self.recurrence.as_ref().map_or(1, |r| r.weeks)
    }
    /// The local dates the series skips.
    pub fn exceptions(&self) -> &[Date] {
        self.recurrence.as_ref().map_or(&[], |r| &r.except)
    }
    /// The candidate slots: the requested slot, then the alternates.
    pub fn candidates(&self) -> Vec<Slot> {
        std::iter::once(self.slot)
            .chain(self.alternates.iter().copied())
            .collect()
    }
    /// The whole weekly series of candidate `slot`, exceptions included: shifted by
    /// 0 … weeks−1 weeks in `zone`.
    pub fn series(&self, slot: &Slot, zone: &Zone) -> Result<Vec<Slot>, TimeError> {
        slot.check()?;
        (0..self.weeks())
            .map(|k| slot.shifted_weeks(k, zone))
            .collect()
    }
    /// Whether the series skips the occurrence `slot` (its local start date is an exception).
    pub fn skips(&self, slot: &Slot, zone: &Zone) -> Result<bool, TimeError> {
        let except = self.exceptions();
        Ok(!except.is_empty() && except.contains(&slot.start.local(zone)?.0))
    }
    /// The occurrences of candidate `slot`: its series without the exceptions.
    pub fn occurrences(&self, slot: &Slot, zone: &Zone) -> Result<Vec<Slot>, TimeError> {
        let mut kept = Vec::new();
        for s in self.series(slot, zone)? {
            if !self.skips(&s, zone)? {
                kept.push(s);
            }
        }
        Ok(kept)
    }
    /// Checks the exceptions against the series (needs the resource's zone, so the writer
    /// checks it): each is the local date of an occurrence of some candidate. A receiver
    /// checks the rest in [`Self::check_shape`]; an exception on no occurrence's date would
    /// skip nothing.
    pub fn check_exceptions(&self, zone: &Zone) -> Result<(), ResourceError> {
        let except = self.exceptions();
        if except.is_empty() {
            return Ok(());
        }
        let mut dates = std::collections::BTreeSet::new();
        for cand in self.candidates() {
            for s in self.series(&cand, zone)? {
                dates.insert(s.start.local(zone)?.0);
            }
        }
        match except.iter().find(|d| !dates.contains(d)) {
            Some(&date) => Err(ResourceError::BadException {
                date,
                reason: "no occurrence of the series falls on it".into(),
            }),
            None => Ok(()),
        }
    }
    /// The exceptions' shape: none twice, fewer than the weeks (so a series always meets).
    fn check_exception_shape(&self) -> Result<(), ResourceError> {
        let except = self.exceptions();
        let weeks = self.weeks();
        let mut seen = std::collections::BTreeSet::new();
        for &date in except {
            if !seen.insert(date) {
                return Err(ResourceError::BadException {
                    date,
                    reason: "given twice".into(),
                });
            }
        }
        if !except.is_empty() && except.len() >= weeks as usize {
            return Err(ResourceError::BadException {
                date: except[0],
                reason: format!(
                    "{} exceptions leave none of the {weeks} weekly occurrences",
                    except.len()
                ),
            });
        }
        Ok(())
    }
    /// Checks the parts that do not depend on the resource: required fields, counts,
    /// recurrence range and that every slot ends after it starts.
    pub fn check_shape(&self) -> Result<(), ResourceError> {
        if self.booker.trim().is_empty() {
            return Err(ResourceError::EmptyField { field: "booker" });
        }
        if self.purpose.trim().is_empty() {
            return Err(ResourceError::EmptyField { field: "purpose" });
        }
        if self.attendees == 0 {
            return Err(ResourceError::NoAttendees);
        }
        if self.alternates.len() > MAX_ALTERNATES {
            return Err(ResourceError::TooManyAlternates {
                count: self.alternates.len(),
                max: MAX_ALTERNATES,
            });
        }
        let weeks = self.weeks();
        if !(1..=MAX_WEEKS).contains(&weeks) {
            return Err(ResourceError::BadRecurrence { weeks });
        }
        for s in self.candidates() {
            s.check()?;
        }
        self.check_exception_shape()
    }
}

/// A booking request as stored at `requests/<booking>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingRequest {
    /// What the requester asked for.
    pub form: BookingForm,
    /// The requesting organisation (the signer's certified scope; the write policy checks
    /// it, and only it may cancel).
    pub by: Scope,
    /// The requester's clock when asking (orders the waitlist).
    pub requested_at: Timestamp,
}

/// An arbiter's decision on a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Confirmed on candidate `slot_index` (0 = the requested slot, then alternates).
    Confirmed {
        /// Which candidate.
        slot_index: usize,
    },
    /// Declined.
    Rejected {
        /// Why.
        reason: String,
    },
    /// Kept waiting for a slot to become free.
    Waitlisted,
    /// A confirmed booking withdrawn by the arbiter or owner; final.
    Revoked {
        /// Why (e.g. misuse of the room).
        reason: String,
        /// The candidate that had been confirmed.
        slot_index: Option<usize>,
    },
}

/// A decision as stored at `decisions/<booking>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// What was decided.
    pub verdict: Verdict,
    /// The deciding organisation (owner or delegate), by its certified scope.
    pub by: Scope,
    /// The arbiter's clock.
    pub at: Timestamp,
}

/// A cancellation by the requesting organisation, at `cancellations/<booking>`; final.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cancellation {
    /// Why (may be empty).
    pub reason: String,
    /// The requester's clock.
    pub at: Timestamp,
}

/// A weekly block handed by the owner to a delegate, at `delegations/<delegation>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delegation {
    /// The organisation that decides bookings inside the block, by its certified scope.
    pub delegate: Scope,
    /// The block.
    pub block: WeeklyBlock,
    /// The owner's clock.
    pub at: Timestamp,
}

/// Who is barred from booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Barred {
    /// A requesting organisation, by its certified scope.
    Org(Scope),
    /// An organising group, matched by the request's `organisation` (trimmed,
    /// case-insensitive). Not a person: a bar naming a person would put the name in the
    /// replicated document, where personal data never goes (see [`crate::personal`]).
    #[serde(alias = "booker")]
    Group(String),
}

impl Barred {
    /// Whether a request by `org` with the organising group in `form` is covered.
    pub fn covers(&self, org: &Scope, form: &BookingForm) -> bool {
        let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
        match self {
            Barred::Org(o) => o == org,
            Barred::Group(name) => form.organisation.as_deref().is_some_and(|g| same(name, g)),
        }
    }
}

impl std::fmt::Display for Barred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Barred::Org(o) => write!(f, "organisation {o}"),
            Barred::Group(n) => write!(f, "{n:?}"),
        }
    }
}

/// A bar written by the owner, at `bars/<owner:n>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bar {
    /// Who is barred.
    pub who: Barred,
    /// Why.
    pub reason: String,
    /// The owner's clock.
    pub at: Timestamp,
}

/// The derived status of a booking (see the module docs for the merge rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// Requested, not decided yet.
    Tentative,
    /// Waiting for a slot to become free.
    Waitlisted,
    /// Confirmed on candidate `slot_index`.
    Confirmed {
        /// Which candidate (0 = the requested slot).
        slot_index: usize,
    },
    /// Declined by the arbiter.
    Rejected {
        /// Why.
        reason: String,
    },
    /// Withdrawn by the arbiter or owner after confirmation; final.
    Revoked {
        /// Why.
        reason: String,
    },
    /// Cancelled by the requester; final.
    Cancelled {
        /// Why.
        reason: String,
    },
    /// A confirmation that breaks the invariant (it overlaps an earlier confirmation or
    /// breaks the resource's rules) and therefore does not hold the room. Never produced by
    /// [`super::plan`]; only a writer that bypassed validation, or two nodes deciding for one
    /// arbiter concurrently, can cause it. The arbiter resolves it by revoking.
    Contested {
        /// The candidate that was confirmed.
        slot_index: usize,
        /// What is wrong with it.
        reason: String,
    },
}

impl BookingStatus {
    /// Short name, e.g. "tentative".
    pub fn label(&self) -> &'static str {
        match self {
            BookingStatus::Tentative => "tentative",
            BookingStatus::Waitlisted => "waitlisted",
            BookingStatus::Confirmed { .. } => "confirmed",
            BookingStatus::Rejected { .. } => "rejected",
            BookingStatus::Revoked { .. } => "revoked",
            BookingStatus::Cancelled { .. } => "cancelled",
            BookingStatus::Contested { .. } => "contested",
        }
    }
    /// Revoked and cancelled are final.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            BookingStatus::Revoked { .. } | BookingStatus::Cancelled { .. }
        )
    }
}

/// A booking: its id, request and derived status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingView {
    /// The booking.
    pub id: BookingId,
    /// The request.
    pub request: BookingRequest,
    /// The derived status.
    pub status: BookingStatus,
}

impl BookingView {
    /// The confirmed candidate index, if confirmed.
    pub fn confirmed_index(&self) -> Option<usize> {
        match self.status {
            BookingStatus::Confirmed { slot_index } => Some(slot_index),
            _ => None,
        }
    }
    /// The confirmed slot (first occurrence), if confirmed.
    pub fn confirmed_slot(&self) -> Option<Slot> {
        self.confirmed_index()
            .and_then(|i| self.request.form.candidates().get(i).copied())
    }
}

/// One occurrence on a calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEntry {
    /// The booking.
    pub booking: BookingId,
    /// The occurrence (the confirmed candidate if confirmed, else the requested slot).
    pub slot: Slot,
    /// The booking's status.
    pub status: BookingStatus,
    /// Purpose of the booking.
    pub purpose: String,
    /// Organising group, if given.
    pub organisation: Option<String>,
}

/// A meal order as stored at `orders/<order>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// The household, e.g. "3-2-401" (building-unit-flat). Personal data: in a document
    /// only masked ([`crate::personal::mask_household`], "3-*-*"); the full household is kept
    /// in a personal record read by the kitchen operator and the placing organisation.
    pub household: String,
    /// The local service date.
    pub date: Date,
    /// Portions.
    pub portions: u32,
    /// Ordered dishes.
    pub items: Vec<String>,
    /// The placing node's clock.
    pub placed_at: Timestamp,
    /// The placing organisation (the signer's certified scope; only it may cancel).
    pub by: Scope,
}

/// The kitchen operator's decision on an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderVerdict {
    /// Accepted within capacity.
    Accepted,
    /// Refused.
    Refused {
        /// Why.
        reason: String,
    },
    /// Accepted and collected.
    Collected,
    /// Accepted but not collected.
    Uncollected,
}

/// A decision as stored at `order_decisions/<order>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderDecision {
    /// What was decided.
    pub verdict: OrderVerdict,
    /// The operator's clock.
    pub at: Timestamp,
}

/// A cancellation by the placing organisation, at `order_cancellations/<order>`; final.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderCancellation {
    /// The placing node's clock.
    pub at: Timestamp,
}

/// The derived status of a meal order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed, not decided yet.
    Placed,
    /// Accepted.
    Accepted,
    /// Refused.
    Refused {
        /// Why.
        reason: String,
    },
    /// Collected.
    Collected,
    /// Not collected.
    Uncollected,
    /// Cancelled by the household's organisation; final.
    Cancelled,
}

impl OrderStatus {
    /// Short name, e.g. "placed".
    pub fn label(&self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Accepted => "accepted",
            OrderStatus::Refused { .. } => "refused",
            OrderStatus::Collected => "collected",
            OrderStatus::Uncollected => "uncollected",
            OrderStatus::Cancelled => "cancelled",
        }
    }
    /// Whether the order's portions count against the daily capacity.
    pub fn holds_portions(&self) -> bool {
        matches!(
            self,
            OrderStatus::Accepted | OrderStatus::Collected | OrderStatus::Uncollected
        )
    }
}

/// A meal order with its derived status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    /// The order.
    pub id: OrderId,
    /// What was ordered.
    pub order: Order,
    /// The derived status.
    pub status: OrderStatus,
}

/// One service day of a kitchen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KitchenDay {
    /// The service date.
    pub date: Date,
    /// The service, e.g. "dinner".
    pub service: String,
    /// When ordering for the date closes.
    pub cutoff: Timestamp,
    /// Daily capacity in portions.
    pub capacity: u32,
    /// Portions accepted (accepted, collected or uncollected orders).
    pub accepted_portions: u32,
    /// Portions placed and not yet decided.
    pub waiting_portions: u32,
    /// The orders of the date, in id order.
    pub orders: Vec<OrderView>,
}
