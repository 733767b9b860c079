//! Typed results of check-in sessions (`linli_core::ledger::sessions`) and the read that
//! answers them: `Node.sessions()` in Python, `linli volunteers session list` rows.

use linli_core::ledger::sessions::session_source;
use linli_core::ledger::{Checkin, EntryBody};
use linli_core::{DocId, Replica};
use schemars::JsonSchema;
use serde::Serialize;

use super::Time;

/// A volunteer's check-in at a session.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckinInfo {
    /// The volunteer's pseudonymous id.
    pub volunteer: String,
    /// When they checked in.
    pub checked_in: Time,
    /// When they checked out (absent: still checked in).
    pub checked_out: Option<Time>,
    /// Whether the check-out was written by the session's close, not by the volunteer.
    pub auto: bool,
    /// The verified service entry the close wrote for them, once closed.
    pub entry: Option<String>,
    /// Minutes that entry verifies.
    pub minutes: Option<u32>,
}

/// A check-in session of an activity or post, with its check-ins, as `Node.sessions()`
/// lists them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SessionInfo {
    /// The ledger it belongs to.
    pub doc: String,
    /// Its id (`org@tag:n`).
    pub id: String,
    /// The organiser's scope.
    pub organiser: String,
    /// Activity or post.
    pub activity: String,
    /// The team, if any.
    pub team: Option<String>,
    /// Where.
    pub place: String,
    /// Planned start.
    pub start: Time,
    /// Planned end.
    pub end: Time,
    /// Planned minutes (the cap of hours recorded by hand).
    pub planned_minutes: u32,
    /// When it was closed (absent: open).
    pub closed: Option<Time>,
    /// Whether this node opened it (only it shows the code and takes check-ins).
    pub here: bool,
    /// The check-ins, by volunteer.
    pub checkins: Vec<CheckinInfo>,
}

/// `[SessionInfo]` of ledger `doc`, by session id.
pub(super) fn sessions(r: &Replica, doc: DocId) -> Result<Vec<SessionInfo>, linli_core::Error> {
    let me = r.author().node;
    let l = r.ledger(doc)?;
    let entries = l.entries();
    Ok(l.sessions()
        .into_iter()
        .map(|(id, s)| {
            let checkin = |(v, c): (linli_core::VolunteerId, Checkin)| {
                let source = session_source(&id, &v);
                let entry = entries
                    .iter()
                    .find(|(_, e)| e.source.as_deref() == Some(source.as_str()));
                CheckinInfo {
                    volunteer: v.to_string(),
                    checked_in: Time(c.checked_in),
                    checked_out: c.checked_out.map(Time),
                    auto: c.auto,
                    entry: entry.map(|(eid, _)| eid.to_string()),
                    minutes: entry.and_then(|(_, e)| match e.body {
                        EntryBody::Service { minutes, .. } => Some(minutes),
                        _ => None,
                    }),
                }
            };
            SessionInfo {
                doc: doc.to_string(),
                id: id.to_string(),
                organiser: s.organiser.to_string(),
                planned_minutes: s.planned_minutes(),
                activity: s.activity,
                team: s.team,
                place: s.place,
                start: Time(s.start),
                end: Time(s.end),
                closed: s.closed.map(Time),
                here: id.0.numbered_by(&me),
                checkins: l.checkins(&id).into_iter().map(checkin).collect(),
            }
        })
        .collect())
}
