//! Typed results of duty rotas (the volunteer registry's, `linli_core::volunteers::Rotas`)
//! and activity sign-ups (a resource's, `linli_core::resource::ActivityView`), and the reads
//! that answer them.

use jiff::civil::Date;
use linli_core::resource::{ActivityView, Participant, SignUp};
use linli_core::volunteers::{Occurrence, Rotas};
use linli_core::{BookingId, DocId, Replica};
use schemars::JsonSchema;
use serde::Serialize;

use super::{Day, Time};

/// One occurrence of a rota's shift with who covers it, as listed by `Node.rota()`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RotaShift {
    /// The rota's code, e.g. `bikes`.
    pub rota: String,
    /// Its title.
    pub title: String,
    /// The shift's index (from 0).
    pub shift: usize,
    /// The local date.
    pub date: Day,
    /// Start (UTC).
    pub start: Time,
    /// End (UTC, exclusive).
    pub end: Time,
    /// Volunteers needed.
    pub needed: u32,
    /// Active volunteers covering it (after one-day assignments and approved swaps).
    pub assigned: Vec<String>,
    /// Volunteers missing (0: covered; more: a coverage gap).
    pub missing: u32,
    /// Volunteers marked as having served it.
    pub served: Vec<String>,
}

impl From<Occurrence> for RotaShift {
    fn from(o: Occurrence) -> Self {
        Self {
            missing: o.missing(),
            rota: o.rota,
            title: o.title,
            shift: o.shift,
            date: Day(o.date),
            start: Time(o.slot.start),
            end: Time(o.slot.end),
            needed: o.needed,
            assigned: o.assigned.iter().map(ToString::to_string).collect(),
            served: o.served.iter().map(ToString::to_string).collect(),
        }
    }
}

/// One sign-up of an activity.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ActivitySignUp {
    /// The participant: a household pseudonym (`dianye:h301`) or a volunteer (`dianye:7`).
    pub participant: String,
    /// `household` or `volunteer`.
    pub kind: String,
    /// When signed up (UTC).
    pub at: Time,
    /// `placed`, `waitlisted` or `cancelled`.
    pub status: String,
    /// Position on the waitlist (from 1), if waitlisted.
    pub position: Option<usize>,
}

fn row(s: &SignUp, status: &str, position: Option<usize>) -> ActivitySignUp {
    ActivitySignUp {
        participant: s.participant.to_string(),
        kind: match s.participant {
            Participant::Household(_) => "household",
            Participant::Volunteer(_) => "volunteer",
        }
        .into(),
        at: Time(s.at),
        status: status.into(),
        position,
    }
}

/// An activity on a booking with its sign-ups, as listed by `Node.activities()`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Activity {
    /// The booking (`org@tag:n`).
    pub booking: String,
    /// Title.
    pub title: String,
    /// Places.
    pub capacity: u32,
    /// Waitlist length the organiser takes.
    pub waitlist_length: u32,
    /// Sign-ups close at (UTC).
    pub deadline: Time,
    /// The organiser (the booking's requester).
    pub organiser: String,
    /// The booking's status (sign-ups are taken while it is confirmed).
    pub booking_status: String,
    /// Places taken.
    pub placed: usize,
    /// Sign-ups: placed in order, then waitlisted in promotion order, then cancelled.
    pub signups: Vec<ActivitySignUp>,
}

impl From<ActivityView> for Activity {
    fn from(v: ActivityView) -> Self {
        let mut signups: Vec<ActivitySignUp> =
            v.placed.iter().map(|s| row(s, "placed", None)).collect();
        signups.extend(
            v.waitlist
                .iter()
                .enumerate()
                .map(|(i, s)| row(s, "waitlisted", Some(i + 1))),
        );
        signups.extend(v.cancelled.iter().map(|s| row(s, "cancelled", None)));
        Self {
            booking: v.booking.to_string(),
            title: v.activity.title,
            capacity: v.activity.capacity,
            waitlist_length: v.activity.waitlist,
            deadline: Time(v.activity.deadline),
            organiser: v.activity.by.to_string(),
            booking_status: v.booking_status.label().to_string(),
            placed: v.placed.len(),
            signups,
        }
    }
}

/// The occurrences of a registry's rotas (one rota or all) from `from` to `to`, only the
/// gaps when `gaps`.
pub(super) fn rota(
    r: &Replica,
    doc: DocId,
    rota: Option<&str>,
    from: Date,
    to: Date,
    gaps: bool,
) -> Result<Vec<RotaShift>, linli_core::Error> {
    r.volunteers(doc)?;
    let d = r.doc(doc)?;
    let rotas = Rotas::new(d);
    let occ = if gaps {
        rotas.gaps(rota, from, to)
    } else {
        rotas.occurrences(rota, from, to)
    };
    let occ = occ.map_err(|e| linli_core::Error::Volunteers(e.into()))?;
    Ok(occ.into_iter().map(Into::into).collect())
}

/// The activities of a resource (one booking's, or all).
pub(super) fn activities(
    r: &Replica,
    doc: DocId,
    booking: Option<&BookingId>,
) -> Result<Vec<Activity>, linli_core::Error> {
    let res = r.resource(doc)?;
    let views = match booking {
        Some(b) => res.activity(b).into_iter().collect(),
        None => res.activities(),
    };
    Ok(views.into_iter().map(Into::into).collect())
}
