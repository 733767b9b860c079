//! Activity sign-ups on a confirmed booking (报名): the organisation holding the booking —
//! its requester — opens an activity with a capacity and a sign-up deadline, and takes
//! sign-ups from residents (by household pseudonym, [`HouseholdId`]) and volunteers
//! ([`VolunteerId`]). No name enters the document: a participant is a pseudonymous id.
//!
//! # Records and who writes them
//!
//! | map | key | record | written by |
//! |---|---|---|---|
//! | `activities` | `<booking>` | [`Activity`] (title, capacity, waitlist length, deadline) | the booking's requester, while the booking is confirmed |
//! | `signups` | `<booking>/<participant>` | [`SignUp`] (its time; cancelled or not) | the booking's requester, before the deadline |
//!
//! # The organiser is the single arbiter
//!
//! Only the requester's scope writes an activity's settings and its sign-up records, so no
//! other organisation can fill or empty the list. Receivers check, on every change: the
//! signer's scope is the requester the booking request names (as of the change's history);
//! an activity is set only on a booking confirmed as of that history; a sign-up names an
//! activity in its history, is not dated after its change, and is dated before the
//! activity's deadline (every value of `activities/<booking>` in the history) — so nobody
//! holding a certificate of its own adds a sign-up, and the organiser cannot add one after
//! the deadline without dating it after its change. Whether *now* is before the deadline is
//! the writer's check (its clock), like the kitchen's cut-off.
//!
//! # Places and the waitlist are derived on read
//!
//! The active sign-ups (not cancelled) are ordered by their time, then by participant id;
//! the first `capacity` hold a place, the rest are waitlisted. A cancellation (a rewrite of
//! the record with `cancelled` set) therefore promotes the first waitlisted sign-up — the
//! earliest, then the smallest id — with no further record. The writer refuses a sign-up
//! when places and waitlist are full ([`ResourceError::ActivityFull`]) and after the
//! deadline ([`ResourceError::SignupsClosed`]).
//!
//! Two workstations of the organiser may both give away the last place before they see each
//! other's change. Both records survive (different keys); on every replica the merged list
//! is ordered the same way, so the later sign-up (by time, then id) is shown waitlisted —
//! possibly beyond the waitlist's length, which bounds only what the writer accepts. So the
//! places never exceed the capacity on any replica, and replicas that hold the same changes
//! show the same list. The same participant written concurrently by two workstations is one
//! key: automerge's deterministic winner counts. Lowering the capacity moves the latest
//! places to the waitlist the same way.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{BookingStatus, Planned, Resource, ResourceError};
use crate::document::{Put, Write};
use crate::ids::{BookingId, OrgId, Scope, VolunteerId};
use crate::kind::{Ctx, Effect};
use crate::policy;
use crate::time::Timestamp;

/// Why a sign-up operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignupError {
    /// The booking is not confirmed (an activity needs a confirmed booking).
    #[error("booking {booking} is {status}: an activity takes sign-ups only on a confirmed booking")]
    NotConfirmed {
        /// The booking.
        booking: BookingId,
        /// Its status.
        status: &'static str,
    },
    /// No activity was set on the booking.
    #[error("booking {0} has no activity: its organiser sets one first (resource.set_activity)")]
    NoActivity(BookingId),
    /// Capacity or waitlist out of bounds.
    #[error("an activity has 1 to {max} places and at most {max} on its waitlist (got {capacity} places, waitlist {waitlist})", max = MAX_PLACES)]
    BadPlaces {
        /// Places asked for.
        capacity: u32,
        /// Waitlist asked for.
        waitlist: u32,
    },
    /// The deadline is after the activity starts.
    #[error("the sign-up deadline {deadline} is after the activity starts ({start})")]
    DeadlineAfterStart {
        /// The deadline, local time.
        deadline: String,
        /// The start, local time.
        start: String,
    },
    /// Sign-ups are closed.
    #[error("sign-ups for {booking} closed at {deadline}")]
    SignupsClosed {
        /// The booking.
        booking: BookingId,
        /// The deadline, local time.
        deadline: String,
    },
    /// Places and waitlist are full.
    #[error("activity on {booking} is full: {capacity} places and {waitlist} on the waitlist taken")]
    ActivityFull {
        /// The booking.
        booking: BookingId,
        /// Places.
        capacity: u32,
        /// Waitlist length.
        waitlist: u32,
    },
    /// The participant already holds a place or waits for one.
    #[error("{participant} is already signed up for {booking}")]
    AlreadySignedUp {
        /// The booking.
        booking: BookingId,
        /// The participant.
        participant: String,
    },
    /// Cancelling a sign-up that does not stand.
    #[error("{participant} is not signed up for {booking}")]
    NotSignedUp {
        /// The booking.
        booking: BookingId,
        /// The participant.
        participant: String,
    },
}

/// In Chinese, for the people who read refusals ([`crate::zh`]).
impl crate::zh::Chinese for SignupError {
    fn zh(&self) -> String {
        use crate::zh::word;
        match self {
            SignupError::NotConfirmed { booking, status } => format!(
                "预约 {booking} 状态为{}：只有已确认的预约上的活动才能报名",
                word(status)
            ),
            SignupError::NoActivity(b) => {
                format!("预约 {b} 还没有活动：请组织方先设置（resource.set_activity）")
            }
            SignupError::BadPlaces { capacity, waitlist } => format!(
                "活动名额须为 1 到 {MAX_PLACES} 个，候补最多 {MAX_PLACES} 个（收到名额 {capacity}，候补 {waitlist}）"
            ),
            SignupError::DeadlineAfterStart { deadline, start } => {
                format!("报名截止时间 {deadline} 晚于活动开始时间（{start}）")
            }
            SignupError::SignupsClosed { booking, deadline } => {
                format!("{booking} 的报名已于 {deadline} 截止")
            }
            SignupError::ActivityFull {
                booking,
                capacity,
                waitlist,
            } => format!("{booking} 的活动已满：{capacity} 个名额和 {waitlist} 个候补均已报满"),
            SignupError::AlreadySignedUp {
                booking,
                participant,
            } => format!("{participant} 已报名 {booking}"),
            SignupError::NotSignedUp {
                booking,
                participant,
            } => format!("{participant} 没有报名 {booking}"),
        }
    }
}

impl SignupError {
    /// The class of this error.
    pub fn class(&self) -> crate::class::ErrorClass {
        use crate::class::ErrorClass as C;
        match self {
            SignupError::NoActivity(_) | SignupError::NotSignedUp { .. } => C::NotFound,
            SignupError::BadPlaces { .. } | SignupError::DeadlineAfterStart { .. } => C::Invalid,
            SignupError::NotConfirmed { .. }
            | SignupError::SignupsClosed { .. }
            | SignupError::ActivityFull { .. }
            | SignupError::AlreadySignedUp { .. } => C::Conflict,
        }
    }
}

/// Largest capacity or waitlist length of an activity.
pub const MAX_PLACES: u32 = 10_000;

/// A household by pseudonym: the community's code and a number it gives the household
/// (`dianye:h301`). Only digits follow the `h`, so no name or address fits in it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HouseholdId {
    /// The community that numbers its households.
    pub org: OrgId,
    /// The household's number.
    pub n: u64,
}

impl fmt::Display for HouseholdId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:h{}", self.org, self.n)
    }
}
impl fmt::Debug for HouseholdId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HouseholdId({self})")
    }
}
impl FromStr for HouseholdId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("household {s:?}: expected `community:h<number>`, e.g. `dianye:h301`");
        let (org, n) = s.split_once(":h").ok_or_else(bad)?;
        if n.is_empty() || n.len() > 12 || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        Ok(Self {
            org: OrgId::new(org).map_err(|_| bad())?,
            n: n.parse().map_err(|_| bad())?,
        })
    }
}

/// Who signs up: a household (resident) or a volunteer. Written as its id: `dianye:h301`
/// for a household, `dianye:7` (or `dianye@…:7`) for a volunteer.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Participant {
    /// A resident household, by pseudonym.
    Household(HouseholdId),
    /// A registered volunteer.
    Volunteer(VolunteerId),
}

impl fmt::Display for Participant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Participant::Household(h) => h.fmt(f),
            Participant::Volunteer(v) => v.fmt(f),
        }
    }
}
impl fmt::Debug for Participant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Participant({self})")
    }
}
impl FromStr for Participant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.contains(":h") {
            return s.parse().map(Participant::Household);
        }
        s.parse().map(Participant::Volunteer).map_err(|_| {
            format!(
                "participant {s:?}: a household `community:h<number>` (e.g. `dianye:h301`) \
                 or a volunteer `community:n` (e.g. `dianye:7`)"
            )
        })
    }
}
impl Serialize for Participant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}
impl<'de> Deserialize<'de> for Participant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
impl schemars::JsonSchema for Participant {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Participant".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A participant: a household by pseudonym `community:h<number>` (e.g. `dianye:h301`) or a volunteer `community:n` (e.g. `dianye:7`).",
            "pattern": "^[a-z0-9][a-z0-9_-]*(:h[0-9]{1,12}|(@[0-9a-f]{16})?:[0-9]+)$",
        })
    }
}

/// An activity's settings (`activities/<booking>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// Title, e.g. "Paper-cutting class".
    pub title: String,
    /// Places (1..=[`MAX_PLACES`]).
    pub capacity: u32,
    /// How many more sign-ups the writer takes once the places are full.
    pub waitlist: u32,
    /// Sign-ups close at this instant.
    pub deadline: Timestamp,
    /// The organiser (the booking's requester, the signer's scope).
    pub by: Scope,
    /// When written.
    pub at: Timestamp,
}

impl Activity {
    fn check_shape(&self) -> Result<(), String> {
        if self.title.trim().is_empty() {
            return Err("an activity's title must not be empty".into());
        }
        if self.capacity == 0 || self.capacity > MAX_PLACES || self.waitlist > MAX_PLACES {
            return Err(format!(
                "an activity has 1 to {MAX_PLACES} places and at most {MAX_PLACES} on its \
                 waitlist (got {} and {})",
                self.capacity, self.waitlist
            ));
        }
        Ok(())
    }
}

/// One sign-up (`signups/<booking>/<participant>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    /// Who signed up.
    pub participant: Participant,
    /// When (orders places and the waitlist; before the deadline).
    pub at: Timestamp,
    /// When cancelled, if cancelled.
    pub cancelled: Option<Timestamp>,
    /// The organiser that wrote it.
    pub by: Scope,
}

/// Where a sign-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignUpStatus {
    /// Holds a place.
    Placed,
    /// Waiting for a place (position from 1 in [`ActivityView::waitlist`]).
    Waitlisted,
    /// Cancelled.
    Cancelled,
}

/// An activity with its sign-ups, as derived on read (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityView {
    /// The booking.
    pub booking: BookingId,
    /// Its settings.
    pub activity: Activity,
    /// The booking's status now (sign-ups are taken only while it is confirmed).
    pub booking_status: BookingStatus,
    /// Sign-ups holding a place, in order (never more than the capacity).
    pub placed: Vec<SignUp>,
    /// Waitlisted sign-ups, in promotion order.
    pub waitlist: Vec<SignUp>,
    /// Cancelled sign-ups, by participant.
    pub cancelled: Vec<SignUp>,
}

impl ActivityView {
    /// The status of one participant's sign-up, if any.
    pub fn status_of(&self, p: &Participant) -> Option<SignUpStatus> {
        let has = |v: &[SignUp]| v.iter().any(|s| s.participant == *p);
        if has(&self.placed) {
            Some(SignUpStatus::Placed)
        } else if has(&self.waitlist) {
            Some(SignUpStatus::Waitlisted)
        } else if has(&self.cancelled) {
            Some(SignUpStatus::Cancelled)
        } else {
            None
        }
    }
}

impl Resource<'_> {
    /// The activity on `booking` with its places and waitlist, if one was set.
    pub fn activity(&self, booking: &BookingId) -> Option<ActivityView> {
        let doc = self.document();
        let activity: Activity = doc.get("activities", &booking.to_string()).ok()??;
        let booking_status = self.status(booking)?.clone();
        let mut active = Vec::new();
        let mut cancelled = Vec::new();
        for (_, s) in doc.records_with_prefix::<SignUp>("signups", &format!("{booking}/")) {
            if s.cancelled.is_some() {
                cancelled.push(s);
            } else {
                active.push(s);
            }
        }
        active.sort_by(|a, b| (a.at, &a.participant).cmp(&(b.at, &b.participant)));
        let places = usize::try_from(activity.capacity).unwrap_or(usize::MAX);
        let waitlist = active.split_off(places.min(active.len()));
        Some(ActivityView {
            booking: booking.clone(),
            activity,
            booking_status,
            placed: active,
            waitlist,
            cancelled,
        })
    }

    /// Every activity of the resource, by booking.
    pub fn activities(&self) -> Vec<ActivityView> {
        self.document()
            .records::<Activity>("activities")
            .into_iter()
            .filter_map(|(k, _)| self.activity(&k.parse().ok()?))
            .collect()
    }

    /// The requester of a booking, refusing anyone else as organiser of its activity.
    fn require_organiser(&self, who: &Scope, booking: &BookingId) -> Result<(), ResourceError> {
        let b = self
            .booking(booking)
            .ok_or_else(|| ResourceError::UnknownBooking(booking.clone()))?;
        if b.request.by != *who {
            return Err(ResourceError::NotAllowed {
                who: who.clone(),
                action: format!("take sign-ups for booking {booking}"),
                allowed: format!("its organiser {}", b.request.by),
            });
        }
        Ok(())
    }
}

/// Organiser: set (or change) the activity on a confirmed booking.
pub(super) fn set_activity(
    r: &Resource<'_>,
    ctx: &Ctx<'_>,
    booking: BookingId,
    title: String,
    capacity: u32,
    waitlist: u32,
    deadline: Timestamp,
) -> Planned {
    r.require_organiser(ctx.scope, &booking)?;
    let b = r
        .booking(&booking)
        .ok_or_else(|| ResourceError::UnknownBooking(booking.clone()))?;
    let BookingStatus::Confirmed { slot_index } = b.status else {
        return Err(SignupError::NotConfirmed {
            booking,
            status: b.status.label(),
        }
        .into());
    };
    if title.trim().is_empty() {
        return Err(ResourceError::EmptyField { field: "title" });
    }
    if capacity == 0 || capacity > MAX_PLACES || waitlist > MAX_PLACES {
        return Err(SignupError::BadPlaces { capacity, waitlist }.into());
    }
    // Sign-ups close at the latest when the activity starts.
    if let Some(start) = b.request.form.candidates().get(slot_index).map(|s| s.start)
        && deadline > start
    {
        return Err(SignupError::DeadlineAfterStart {
            deadline: deadline.display_in(r.zone()),
            start: start.display_in(r.zone()),
        }.into());
    }
    let a = Activity {
        title,
        capacity,
        waitlist,
        deadline,
        by: ctx.scope.clone(),
        at: ctx.now,
    };
    let msg = format!(
        "activity {} on {booking}: {capacity} places",
        a.title.trim()
    );
    Ok((
        vec![Put::new("activities", booking.to_string(), &a)],
        Effect::Done,
        msg,
    ))
}

/// Organiser: sign a participant up (a place, else the waitlist).
pub(super) fn sign_up(
    r: &Resource<'_>,
    ctx: &Ctx<'_>,
    booking: BookingId,
    participant: Participant,
) -> Planned {
    r.require_organiser(ctx.scope, &booking)?;
    let view = r
        .activity(&booking)
        .ok_or_else(|| ResourceError::from(SignupError::NoActivity(booking.clone())))?;
    if !matches!(view.booking_status, BookingStatus::Confirmed { .. }) {
        return Err(SignupError::NotConfirmed {
            booking,
            status: view.booking_status.label(),
        }
        .into());
    }
    if ctx.now >= view.activity.deadline {
        return Err(SignupError::SignupsClosed {
            booking,
            deadline: view.activity.deadline.display_in(r.zone()),
        }.into());
    }
    if matches!(
        view.status_of(&participant),
        Some(SignUpStatus::Placed | SignUpStatus::Waitlisted)
    ) {
        return Err(SignupError::AlreadySignedUp {
            booking,
            participant: participant.to_string(),
        }
        .into());
    }
    let full = view.placed.len() >= usize::try_from(view.activity.capacity).unwrap_or(0);
    if full && view.waitlist.len() >= usize::try_from(view.activity.waitlist).unwrap_or(0) {
        return Err(SignupError::ActivityFull {
            booking,
            capacity: view.activity.capacity,
            waitlist: view.activity.waitlist,
        }.into());
    }
    let s = SignUp {
        participant: participant.clone(),
        at: ctx.now,
        cancelled: None,
        by: ctx.scope.clone(),
    };
    let msg = format!(
        "sign up {participant} for {booking}{}",
        if full { " (waitlisted)" } else { "" }
    );
    Ok((
        vec![Put::new("signups", format!("{booking}/{participant}"), &s)],
        Effect::Done,
        msg,
    ))
}

/// Organiser: cancel a sign-up; the first waitlisted sign-up takes the place.
pub(super) fn cancel_sign_up(
    r: &Resource<'_>,
    ctx: &Ctx<'_>,
    booking: BookingId,
    participant: Participant,
) -> Planned {
    r.require_organiser(ctx.scope, &booking)?;
    let key = format!("{booking}/{participant}");
    let current: Option<SignUp> = r.document().get("signups", &key)?;
    let Some(mut s) = current.filter(|s| s.cancelled.is_none()) else {
        return Err(SignupError::NotSignedUp {
            booking,
            participant: participant.to_string(),
        }.into());
    };
    s.cancelled = Some(ctx.now.max(s.at));
    s.by = ctx.scope.clone();
    Ok((
        vec![Put::new("signups", key, &s)],
        Effect::Done,
        format!("cancel sign-up of {participant} for {booking}"),
    ))
}

/// Key shape and record type of the sign-up maps.
pub(super) fn check_record(map: &str, key: &str, value: &str) -> Result<(), String> {
    use crate::schema::{decode, id, key_parts};
    match map {
        "activities" => {
            let [b] = key_parts::<1>(key)?;
            id::<BookingId>(b)?;
            decode::<Activity>(value)?.check_shape()
        }
        _ => {
            let [b, p] = key_parts::<2>(key)?;
            id::<BookingId>(b)?;
            let who = id::<Participant>(p)?;
            let s = decode::<SignUp>(value)?;
            policy::require(s.participant == who, || {
                format!("sign-up of {} stored under {who}", s.participant)
            })?;
            policy::require(s.cancelled.is_none_or(|c| c >= s.at), || {
                format!("sign-up of {who} cancelled before it was made")
            })
        }
    }
}

/// The write rules of the sign-up maps (see the module docs).
impl policy::Rules<'_> {
    pub(super) fn signups(&self, w: &Write) -> policy::Rule {
        let booking: BookingId = policy::first_id(&w.key)?;
        let key = booking.to_string();
        // The organiser: the requester the booking request names, as of the history.
        let requests = self
            .doc
            .get_all_at::<super::BookingRequest>("requests", &key, self.deps);
        let organiser = requests
            .first()
            .map(|r| r.by.clone())
            .ok_or_else(|| format!("booking {key} is not in this change's history"))?;
        policy::require(
            requests.iter().all(|r| r.by == self.who.scope) && organiser == self.who.scope,
            || {
                format!(
                    "only the organiser {organiser} of booking {key} writes its activity and \
                     sign-ups, not {}",
                    self.who.scope
                )
            },
        )?;
        if w.map == "activities" {
            let a: Activity = policy::decode(w)?;
            self.names_signer(&a.by, "organiser")?;
            policy::require(a.at <= self.at, || {
                "the activity is dated after its change".to_string()
            })?;
            // Only on a booking confirmed as of the change's history.
            let r = Resource::new(self.history).map_err(|e| e.to_string())?;
            return match r.status(&booking) {
                Some(BookingStatus::Confirmed { .. }) => Ok(()),
                other => Err(format!(
                    "booking {key} is not confirmed in this change's history ({})",
                    other.map_or("unknown", BookingStatus::label)
                )),
            };
        }
        let s: SignUp = policy::decode(w)?;
        self.names_signer(&s.by, "organiser")?;
        policy::require(s.at <= self.at && s.cancelled.is_none_or(|c| c <= self.at), || {
            "the sign-up is dated after its change".to_string()
        })?;
        let settings = self
            .doc
            .get_all_at::<Activity>("activities", &key, self.deps);
        policy::require(!settings.is_empty(), || {
            format!("booking {key} has no activity in this change's history")
        })?;
        match settings.iter().find(|a| s.at >= a.deadline) {
            Some(a) => Err(format!(
                "sign-up of {} at {} is after the deadline {}",
                s.participant, s.at, a.deadline
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "signups_tests.rs"]
mod tests;
