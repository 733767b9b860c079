//! Check-in sessions: hours verified where they happen.
//!
//! An organiser (the ledger's community, or a unit or partner it certified) opens a
//! *session* of an activity or post (activity, team, place, planned start and end).
//! Volunteers check in and out by giving the short code shown on the organiser's screen;
//! the organiser's node writes the check-in records, and closing the session (or its end
//! passing: the node closes its sessions whose end passed) writes one service entry per
//! volunteer, its hours from check-in to check-out (anyone still checked in is checked out
//! at the session's end, or at the close when it comes earlier), capped at the planned
//! duration. Such an entry is *verified by check-in*; every other service entry is
//! *recorded by hand* ([`Method`]).
//!
//! # Records (in the ledger's `meta` map)
//!
//! | key | record | written by |
//! |---|---|---|
//! | `sessions/<session>` | [`Session`] | the node that opened it (the id is numbered by its key), naming its organiser's scope; rewritten only to close it |
//! | `checkins/<session>/<volunteer>` | [`Checkin`] | the session's organiser (its scope, any of its nodes) while the session is open |
//! | `declines/<entry>` | [`Decline`] | the entry's issuer or the ledger's community; final once written |
//!
//! The records live under prefixed keys of `meta` rather than in new maps because a
//! document's maps are fixed by its genesis: a ledger created before sessions existed has
//! no other map to write them to, and a new map would make every existing ledger
//! unreadable to an upgraded node (the genesis check compares the map list).
//!
//! # The code
//!
//! A six-digit code from a per-session secret and the time in 60-second steps (like TOTP,
//! RFC 6238): [`code_at`]; a code is accepted during its step and the next
//! ([`code_valid`]), so one shown just before the step changes still works. The secret is
//! derived from the opening node's signing key and the session id ([`session_secret`]):
//! it never leaves that node, needs no table of its own, survives a restore from backup
//! (same key) and dies with a key rotation. The check-in page's address carries another
//! value derived the same way ([`url_token`]): unguessable, so the page needs no login.
//! linli-core stays pure: the key and the time are arguments.
//!
//! Only the opening node can check a code, so the code is the writer's check: a receiver
//! cannot verify it (it lacks the secret). What receivers do check, on every change
//! ([`authorize`]): a session is written by an owner or organiser of the ledger under its
//! own number and names the signer; its window is 1 minute to 24 hours within the ledger's
//! year, and only its `closed` field ever changes (once). A check-in is written by the
//! session's organiser, while the session is not closed (as of the change's history), at a
//! time within the session's window widened by [`TOLERANCE_MS`], its check-out not before
//! its check-in nor after the window, and a rewrite keeps its check-in time. A service
//! entry whose source is `session:<session>/<volunteer>` is written by the session's
//! organiser for a volunteer with a check-in, with at most the minutes that check-in
//! verifies (to the check-out, or the session's end while none is recorded) and never
//! more than the planned duration; an entry with source `hand:<session>/<volunteer>`
//! (hours entered by hand for a session) has at most the planned duration.
//!
//! # Points
//!
//! Verified hours earn points by the ledger's rule. Hours recorded by hand earn points only
//! if [`LedgerRules::hand_points`] says so — false for a new ledger (志愿汇 counts only
//! in-app sign-in/out as credit hours and keeps admin-added "honor hours" apart), true for
//! a ledger whose rules were written before the rule existed, so its entries stay valid.
//! The hours stay visible either way (leaderboards count minutes).
//!
//! # Declines
//!
//! A wrong service record is never deleted: its issuer (or the ledger's community) writes
//! a [`Decline`] with a reason. A declined entry stays listed with its reason and counts in
//! no balance, star level or leaderboard.
//!
//! # Offline
//!
//! Everything here is ordinary signed changes: a node that takes check-ins without network
//! keeps them and its peers receive them when it reconnects; the rules above depend only on
//! the change and its history, so every receiver reaches the same verdict in any order.

use serde::{Deserialize, Serialize};

use crate::document::{Document, MAX_RECORD_BYTES, Put, Write};
use crate::identity::Keypair;
use crate::ids::{EntryId, RecordId, Scope, SessionId, VolunteerId};
use crate::kind::{Ctx, Effect, RowOutcome};
use crate::policy;
use crate::time::Timestamp;

use super::{
    Entry, EntryBody, EntryIndex, Ledger, LedgerError, LedgerOp, LedgerRules, is_organiser,
    served,
};

/// Steps of the check-in code, in milliseconds.
pub const CODE_STEP_MS: i64 = 60_000;
/// How early a check-in may come before a session's planned start, and how late a
/// check-out after its end, in milliseconds (30 minutes).
pub const TOLERANCE_MS: i64 = 30 * Timestamp::MINUTE;
/// Longest session (24 hours).
pub const MAX_SESSION_MS: i64 = Timestamp::DAY;

/// A check-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Session {
    /// The organiser (its certified scope): the only writer of the session's check-ins.
    pub organiser: Scope,
    /// Activity or post.
    pub activity: String,
    /// Volunteer team, if any.
    #[serde(default)]
    pub team: Option<String>,
    /// Where it happens.
    pub place: String,
    /// Planned start.
    pub start: Timestamp,
    /// Planned end.
    pub end: Timestamp,
    /// When it was closed (its service entries written), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Timestamp>,
}

impl Session {
    /// Planned duration in minutes.
    pub fn planned_minutes(&self) -> u32 {
        minutes_between(self.start, self.end)
    }
    /// Minutes a check-in verifies: from check-in to check-out (the end while there is
    /// none), both clamped to the planned window.
    pub fn verified_minutes(&self, c: &Checkin) -> u32 {
        let from = c.checked_in.max(self.start);
        let to = c.checked_out.unwrap_or(self.end).min(self.end);
        minutes_between(from, to)
    }
}

fn minutes_between(a: Timestamp, b: Timestamp) -> u32 {
    let m = (b.0 - a.0).max(0) / Timestamp::MINUTE;
    u32::try_from(m).unwrap_or(u32::MAX)
}

/// A volunteer's check-in to a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Checkin {
    /// When they checked in.
    pub checked_in: Timestamp,
    /// When they checked out, if they did (or were checked out at the close).
    #[serde(default)]
    pub checked_out: Option<Timestamp>,
    /// Whether the check-out was written by the close, not by the volunteer.
    #[serde(default)]
    pub auto: bool,
}

/// A service entry declined as wrong, with the reason (the entry is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Decline {
    /// Who declined it (the entry's issuer or the ledger's community).
    pub by: Scope,
    /// Why.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// How a service entry's hours were recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum Method {
    /// Computed from check-in and check-out of a session.
    CheckIn {
        /// The session.
        session: SessionId,
    },
    /// Entered by staff, for a session if one is named.
    ByHand {
        /// The session, if the hours are for one.
        session: Option<SessionId>,
    },
}

impl Method {
    /// Whether the hours were verified by check-in.
    pub fn verified(&self) -> bool {
        matches!(self, Method::CheckIn { .. })
    }
}

const SESSION_SOURCE: &str = "session:";
const HAND_SOURCE: &str = "hand:";

/// The source of the service entry a session's close writes for a volunteer.
pub fn session_source(session: &SessionId, volunteer: &VolunteerId) -> String {
    format!("{SESSION_SOURCE}{session}/{volunteer}")
}

fn hand_source(session: &SessionId, volunteer: &VolunteerId) -> String {
    format!("{HAND_SOURCE}{session}/{volunteer}")
}

/// Whether a source is one of the forms sessions reserve (`session:…`, `hand:…`).
pub fn reserved_source(source: &str) -> bool {
    source.starts_with(SESSION_SOURCE) || source.starts_with(HAND_SOURCE)
}

/// The session and volunteer a reserved source names, and whether by check-in.
fn parse_source(source: &str) -> Option<Result<(bool, SessionId, VolunteerId), String>> {
    let (verified, rest) = if let Some(r) = source.strip_prefix(SESSION_SOURCE) {
        (true, r)
    } else {
        (false, source.strip_prefix(HAND_SOURCE)?)
    };
    Some((|| {
        let (s, v) = rest
            .split_once('/')
            .ok_or_else(|| format!("source {source:?} must be <session>/<volunteer>"))?;
        let s: SessionId = s.parse().map_err(|e| format!("source {source:?}: {e}"))?;
        let v: VolunteerId = v.parse().map_err(|e| format!("source {source:?}: {e}"))?;
        Ok((verified, s, v))
    })())
}

impl Entry {
    /// How the entry's hours were recorded (service entries; others are by hand).
    pub fn method(&self) -> Method {
        match self.source.as_deref().and_then(parse_source) {
            Some(Ok((true, session, _))) => Method::CheckIn { session },
            Some(Ok((false, session, _))) => Method::ByHand {
                session: Some(session),
            },
            _ => Method::ByHand { session: None },
        }
    }
}

// ---------------------------------------------------------------- the code

/// The secret of a session's codes: derived from the opening node's key and the session id,
/// never stored or replicated.
pub fn session_secret(keys: &Keypair, session: &SessionId) -> [u8; 32] {
    let mut m = keys.secret_bytes().to_vec();
    m.extend_from_slice(session.to_string().as_bytes());
    blake3::derive_key("linli 2026-12 session check-in code v1", &m)
}

/// The unguessable token of a session's check-in page address (32 hex digits).
pub fn url_token(keys: &Keypair, session: &SessionId) -> String {
    let mut m = keys.secret_bytes().to_vec();
    m.extend_from_slice(session.to_string().as_bytes());
    let k = blake3::derive_key("linli 2026-12 session check-in page v1", &m);
    hex::encode(&k[..16])
}

/// The six-digit code of `secret` at `now` (its 60-second step).
pub fn code_at(secret: &[u8; 32], now: Timestamp) -> String {
    let step = now.0.div_euclid(CODE_STEP_MS);
    let h = blake3::keyed_hash(secret, &step.to_be_bytes());
    let b = h.as_bytes();
    let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) % 1_000_000;
    format!("{n:06}")
}

/// When the code shown at `now` stops being shown (the next step starts).
pub fn code_changes_at(now: Timestamp) -> Timestamp {
    Timestamp((now.0.div_euclid(CODE_STEP_MS) + 1) * CODE_STEP_MS)
}

/// Whether `code` is the code of the current step or of the previous one.
pub fn code_valid(secret: &[u8; 32], now: Timestamp, code: &str) -> bool {
    let code = code.trim();
    code.len() == 6
        && (code == code_at(secret, now)
            || code == code_at(secret, now.plus_millis(-CODE_STEP_MS)))
}

// ---------------------------------------------------------------- errors

/// Errors of session operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// No such session in this ledger.
    #[error("unknown session {0}")]
    Unknown(SessionId),
    /// The writer is not the session's organiser.
    #[error("{who} may not {what} session {session}: only its organiser {organiser} may")]
    NotOrganiser {
        /// The writer.
        who: Scope,
        /// What it tried.
        what: &'static str,
        /// The session.
        session: SessionId,
        /// Its organiser.
        organiser: Scope,
    },
    /// The codes of a session are checked only on the node that opened it.
    #[error("session {0} was opened on another node: check-ins are taken where it was opened")]
    OtherNode(SessionId),
    /// A planned window that is not 1 minute to 24 hours in the ledger's year.
    #[error("invalid session window: {0}")]
    InvalidWindow(String),
    /// The code is not the one shown (or has expired).
    #[error("wrong or expired check-in code {code:?} for session {session}")]
    WrongCode {
        /// The session.
        session: SessionId,
        /// The code given.
        code: String,
    },
    /// The session does not take check-ins yet.
    #[error("session {session} opens for check-in at {opens}")]
    NotYetOpen {
        /// The session.
        session: SessionId,
        /// When check-in opens.
        opens: Timestamp,
    },
    /// The session was closed or its end passed.
    #[error("session {session} is closed: it ended at {end}")]
    Closed {
        /// The session.
        session: SessionId,
        /// Its planned end.
        end: Timestamp,
    },
    /// The volunteer already checked in.
    #[error("volunteer {volunteer} already checked in to session {session} at {at}")]
    AlreadyCheckedIn {
        /// The session.
        session: SessionId,
        /// The volunteer.
        volunteer: VolunteerId,
        /// When.
        at: Timestamp,
    },
    /// Check-out without a check-in.
    #[error("volunteer {volunteer} has not checked in to session {session}: check in first")]
    NotCheckedIn {
        /// The session.
        session: SessionId,
        /// The volunteer.
        volunteer: VolunteerId,
    },
    /// The volunteer already checked out.
    #[error("volunteer {volunteer} already checked out of session {session} at {at}")]
    AlreadyCheckedOut {
        /// The session.
        session: SessionId,
        /// The volunteer.
        volunteer: VolunteerId,
        /// When.
        at: Timestamp,
    },
    /// Hours entered by hand beyond the session's planned duration.
    #[error("{minutes} minutes exceed session {session}'s planned {planned} minutes")]
    OverPlanned {
        /// The session.
        session: SessionId,
        /// Minutes asked for.
        minutes: u32,
        /// Planned minutes.
        planned: u32,
    },
    /// Hours for this volunteer and session are already recorded.
    #[error("hours of volunteer {volunteer} for session {session} are already entry {entry}")]
    AlreadyRecorded {
        /// The session.
        session: SessionId,
        /// The volunteer.
        volunteer: VolunteerId,
        /// The entry.
        entry: EntryId,
    },
    /// A volunteer the home registry (held here) lists as paused, moved or left.
    #[error("volunteer {volunteer} is not active in {home}'s volunteer registry")]
    Inactive {
        /// The volunteer.
        volunteer: VolunteerId,
        /// Its home community.
        home: Scope,
    },
    /// Closing a session already closed whose entries are all written.
    #[error("session {0} is already closed and its entries written")]
    AlreadyClosed(SessionId),
    /// Only service entries are declined.
    #[error("entry {0} is not a service record: only service records are declined")]
    NotDeclinable(EntryId),
    /// The entry was already declined.
    #[error("entry {entry} was already declined: {reason}")]
    AlreadyDeclined {
        /// The entry.
        entry: EntryId,
        /// The reason given then.
        reason: String,
    },
}

impl SessionError {
    /// The class of this error.
    pub fn class(&self) -> crate::class::ErrorClass {
        use crate::class::ErrorClass as C;
        match self {
            SessionError::Unknown(_) => C::NotFound,
            SessionError::NotOrganiser { .. } | SessionError::OtherNode(_) => C::Unauthorized,
            SessionError::InvalidWindow(_)
            | SessionError::WrongCode { .. }
            | SessionError::OverPlanned { .. }
            | SessionError::Inactive { .. }
            | SessionError::NotDeclinable(_) => C::Invalid,
            SessionError::NotYetOpen { .. }
            | SessionError::Closed { .. }
            | SessionError::AlreadyCheckedIn { .. }
            | SessionError::NotCheckedIn { .. }
            | SessionError::AlreadyCheckedOut { .. }
            | SessionError::AlreadyRecorded { .. }
            | SessionError::AlreadyClosed(_)
            | SessionError::AlreadyDeclined { .. } => C::Conflict,
        }
    }
}

/// In Chinese, for the people who read refusals ([`crate::zh`]).
impl crate::zh::Chinese for SessionError {
    fn zh(&self) -> String {
        use crate::zh::word;
        match self {
            SessionError::Unknown(s) => format!("未知的签到活动 {s}"),
            SessionError::NotOrganiser {
                who,
                what,
                session,
                organiser,
            } => format!(
                "{who} 无权{}签到活动 {session}：只有其组织方 {organiser} 可以",
                word(what)
            ),
            SessionError::OtherNode(s) => {
                format!("签到活动 {s} 是在另一个节点上开启的：只能在开启它的节点上签到")
            }
            SessionError::InvalidWindow(m) => format!("签到活动的时间段无效：{m}"),
            SessionError::WrongCode { session, code } => {
                format!("签到码 {code:?} 错误或已过期（签到活动 {session}）")
            }
            SessionError::NotYetOpen { session, opens } => {
                format!("签到活动 {session} 于 {opens} 开放签到")
            }
            SessionError::Closed { session, end } => {
                format!("签到活动 {session} 已结束：结束于 {end}")
            }
            SessionError::AlreadyCheckedIn {
                session,
                volunteer,
                at,
            } => format!("志愿者 {volunteer} 已于 {at} 签到签到活动 {session}"),
            SessionError::NotCheckedIn { session, volunteer } => {
                format!("志愿者 {volunteer} 尚未签到签到活动 {session}：请先签到")
            }
            SessionError::AlreadyCheckedOut {
                session,
                volunteer,
                at,
            } => format!("志愿者 {volunteer} 已于 {at} 签退签到活动 {session}"),
            SessionError::OverPlanned {
                session,
                minutes,
                planned,
            } => format!("{minutes} 分钟超过签到活动 {session} 计划的 {planned} 分钟"),
            SessionError::AlreadyRecorded {
                session,
                volunteer,
                entry,
            } => format!("志愿者 {volunteer} 在签到活动 {session} 的时长已记为 {entry}"),
            SessionError::Inactive { volunteer, home } => {
                format!("志愿者 {volunteer} 在 {home} 的志愿者名册中不是在册状态")
            }
            SessionError::AlreadyClosed(s) => format!("签到活动 {s} 已结束，时长已记录"),
            SessionError::NotDeclinable(e) => {
                format!("记录 {e} 不是服务记录：只能驳回服务记录")
            }
            SessionError::AlreadyDeclined { entry, reason } => {
                format!("记录 {entry} 已被驳回：{reason}")
            }
        }
    }
}

impl From<SessionError> for LedgerError {
    fn from(e: SessionError) -> Self {
        LedgerError::Session(Box::new(e))
    }
}

// ---------------------------------------------------------------- read view

fn session_key(s: &SessionId) -> String {
    format!("sessions/{s}")
}
fn checkin_key(s: &SessionId, v: &VolunteerId) -> String {
    format!("checkins/{s}/{v}")
}
fn decline_key(e: &EntryId) -> String {
    format!("declines/{e}")
}

impl Ledger<'_> {
    /// A session.
    pub fn session(&self, id: &SessionId) -> Option<Session> {
        self.doc.get("meta", &session_key(id)).ok().flatten()
    }
    /// Every session, by id.
    pub fn sessions(&self) -> Vec<(SessionId, Session)> {
        self.doc
            .records_with_prefix::<Session>("meta", "sessions/")
            .into_iter()
            .filter_map(|(k, s)| Some((k.strip_prefix("sessions/")?.parse().ok()?, s)))
            .collect()
    }
    /// A session's check-ins, by volunteer.
    pub fn checkins(&self, id: &SessionId) -> Vec<(VolunteerId, Checkin)> {
        let prefix = format!("checkins/{id}/");
        self.doc
            .records_with_prefix::<Checkin>("meta", &prefix)
            .into_iter()
            .filter_map(|(k, c)| Some((k.strip_prefix(&prefix)?.parse().ok()?, c)))
            .collect()
    }
    /// The decline of an entry, if it was declined.
    pub fn decline(&self, entry: &EntryId) -> Option<Decline> {
        self.doc.get("meta", &decline_key(entry)).ok().flatten()
    }
    /// Every decline, by entry.
    pub fn declines(&self) -> Vec<(EntryId, Decline)> {
        declines_of(self.doc)
    }
}

pub(super) fn declines_of(doc: &Document) -> Vec<(EntryId, Decline)> {
    doc.records_with_prefix::<Decline>("meta", "declines/")
        .into_iter()
        .filter_map(|(k, d)| Some((k.strip_prefix("declines/")?.parse().ok()?, d)))
        .collect()
}

// ---------------------------------------------------------------- planning

/// Plans a session operation (the session variants of [`LedgerOp`]).
pub(super) fn plan(
    doc: &Document,
    ctx: &Ctx<'_>,
    op: LedgerOp,
    entry: &dyn Fn(VolunteerId, EntryBody) -> Entry,
) -> Result<(Vec<Put>, Effect, String), LedgerError> {
    let ledger = Ledger::new(doc);
    let me = ctx.scope;
    let owner = doc.header().owner_scope();
    let zone = &doc.header().zone;
    let get = |id: &SessionId| {
        ledger
            .session(id)
            .ok_or_else(|| LedgerError::from(SessionError::Unknown(id.clone())))
    };
    let organiser_only =
        |s: &Session, id: &SessionId, what: &'static str| -> Result<(), LedgerError> {
            if &s.organiser != me {
                return Err(SessionError::NotOrganiser {
                    who: me.clone(),
                    what,
                    session: id.clone(),
                    organiser: s.organiser.clone(),
                }
                .into());
            }
            if !id.0.numbered_by(&ctx.author.node) {
                return Err(SessionError::OtherNode(id.clone()).into());
            }
            Ok(())
        };
    let code_ok = |id: &SessionId, code: &str| -> Result<(), LedgerError> {
        if code_valid(&session_secret(ctx.keys, id), ctx.now, code) {
            Ok(())
        } else {
            Err(SessionError::WrongCode {
                session: id.clone(),
                code: code.chars().take(12).collect(),
            }
            .into())
        }
    };
    match op {
        LedgerOp::OpenSession {
            activity,
            team,
            place,
            start,
            end,
        } => {
            if me != &owner && !is_organiser(doc.header(), me) {
                return Err(LedgerError::NotAllowed {
                    who: me.clone(),
                    what: "open sessions in this ledger",
                    allowed: owner,
                });
            }
            super::non_empty(&activity, "activity")?;
            super::non_empty(&place, "place")?;
            let s = Session {
                organiser: me.clone(),
                activity,
                team,
                place,
                start,
                end,
                closed: None,
            };
            check_window(&s, doc.header().year, zone).map_err(SessionError::InvalidWindow)?;
            let id = SessionId(ctx.author.next_id(doc, "meta", "sessions/"));
            let put = Put::new("meta", session_key(&id), &s);
            if put.value.len() > MAX_RECORD_BYTES {
                return Err(LedgerError::TooLarge {
                    bytes: put.value.len(),
                    max: MAX_RECORD_BYTES,
                });
            }
            let msg = format!(
                "open session {id}: {} at {}, {} to {}",
                s.activity,
                s.place,
                s.start.display_in(zone),
                s.end.display_in(zone)
            );
            Ok((vec![put], Effect::Session(id), msg))
        }
        LedgerOp::CheckIn {
            session,
            volunteer,
            code,
        } => {
            let s = get(&session)?;
            organiser_only(&s, &session, "take check-ins of")?;
            open_now(&s, &session, ctx.now)?;
            code_ok(&session, &code)?;
            if let Some(c) = ledger.checkins(&session).into_iter().find(|(v, _)| *v == volunteer)
            {
                return Err(SessionError::AlreadyCheckedIn {
                    session,
                    volunteer,
                    at: c.1.checked_in,
                }
                .into());
            }
            let home = home_of(doc, &volunteer);
            let (date, _) = ctx
                .now
                .local(zone)
                .map_err(|e| SessionError::InvalidWindow(e.to_string()))?;
            served(ctx, doc, &home, &volunteer, date)?;
            if (ctx.volunteer_active)(ctx.docs, &home, &volunteer) == Some(false) {
                return Err(SessionError::Inactive { volunteer, home }.into());
            }
            let c = Checkin {
                checked_in: ctx.now,
                checked_out: None,
                auto: false,
            };
            let msg = format!("check-in {volunteer} to session {session}");
            Ok((
                vec![Put::new("meta", checkin_key(&session, &volunteer), &c)],
                Effect::Done,
                msg,
            ))
        }
        LedgerOp::CheckOut {
            session,
            volunteer,
            code,
        } => {
            let s = get(&session)?;
            organiser_only(&s, &session, "take check-outs of")?;
            if s.closed.is_some() {
                return Err(SessionError::Closed {
                    session,
                    end: s.end,
                }
                .into());
            }
            let Some((_, mut c)) = ledger
                .checkins(&session)
                .into_iter()
                .find(|(v, _)| *v == volunteer)
            else {
                return Err(SessionError::NotCheckedIn { session, volunteer }.into());
            };
            if let Some(at) = c.checked_out {
                return Err(SessionError::AlreadyCheckedOut {
                    session,
                    volunteer,
                    at,
                }
                .into());
            }
            if ctx.now > s.end.plus_millis(TOLERANCE_MS) {
                return Err(SessionError::Closed {
                    session,
                    end: s.end,
                }
                .into());
            }
            code_ok(&session, &code)?;
            c.checked_out = Some(ctx.now.max(c.checked_in));
            let msg = format!("check-out {volunteer} of session {session}");
            Ok((
                vec![Put::new("meta", checkin_key(&session, &volunteer), &c)],
                Effect::Done,
                msg,
            ))
        }
        LedgerOp::CloseSession { session } => {
            let mut s = get(&session)?;
            organiser_only(&s, &session, "close")?;
            let rules = ledger.rules();
            let (date, _) = s
                .start
                .local(zone)
                .map_err(|e| SessionError::InvalidWindow(e.to_string()))?;
            let mut puts = Vec::new();
            let mut outcomes = Vec::new();
            let closing = s.closed.is_none();
            let out_at = ctx.now.min(s.end);
            if closing {
                s.closed = Some(ctx.now);
                puts.push(Put::new("meta", session_key(&session), &s));
            }
            doc.with_index(EntryIndex::build, |ix: &EntryIndex| {
                let mut next = ix.next_counter(&format!(
                    "{}@{}",
                    ctx.author.org,
                    hex::encode(ctx.author.tag())
                ));
                for (volunteer, mut c) in ledger.checkins(&session) {
                    if c.checked_out.is_none() && closing {
                        c.checked_out = Some(out_at.max(c.checked_in));
                        c.auto = true;
                        puts.push(Put::new("meta", checkin_key(&session, &volunteer), &c));
                    }
                    let source = session_source(&session, &volunteer);
                    if let Some(id) = ix.get(me, &source) {
                        outcomes.push(RowOutcome::AlreadyImported { entry: id });
                        continue;
                    }
                    let minutes = s.verified_minutes(&c);
                    if minutes == 0 {
                        outcomes.push(RowOutcome::Rejected {
                            error: format!("{volunteer} served less than a minute"),
                        });
                        continue;
                    }
                    let mut e = entry(
                        volunteer,
                        EntryBody::Service {
                            activity: s.activity.clone(),
                            team: s.team.clone(),
                            date,
                            minutes,
                            points: rules.points_for(minutes),
                            evidence: Some(format!("check-in session {session}")),
                        },
                    );
                    e.source = Some(source);
                    let id = EntryId(RecordId {
                        org: ctx.author.org.clone(),
                        tag: Some(ctx.author.tag()),
                        n: next,
                    });
                    next += 1;
                    puts.push(Put::new("entries", id.to_string(), &e));
                    outcomes.push(RowOutcome::Recorded { entry: id });
                }
            });
            if puts.is_empty() {
                return Err(SessionError::AlreadyClosed(session).into());
            }
            let n = outcomes
                .iter()
                .filter(|o| matches!(o, RowOutcome::Recorded { .. }))
                .count();
            let msg = format!("close session {session}: {n} verified service records");
            Ok((puts, Effect::Imported(outcomes), msg))
        }
        LedgerOp::RecordSessionHours {
            session,
            volunteer,
            hours,
            evidence,
        } => {
            let s = get(&session)?;
            if me != &owner && me != &s.organiser {
                return Err(SessionError::NotOrganiser {
                    who: me.clone(),
                    what: "record hours by hand for",
                    session,
                    organiser: s.organiser,
                }
                .into());
            }
            let (date, _) = s
                .start
                .local(zone)
                .map_err(|e| SessionError::InvalidWindow(e.to_string()))?;
            let minutes = super::service_minutes(&ledger, &s.activity, date, hours)?;
            let planned = s.planned_minutes();
            if minutes > planned {
                return Err(SessionError::OverPlanned {
                    session,
                    minutes,
                    planned,
                }
                .into());
            }
            let home = home_of(doc, &volunteer);
            served(ctx, doc, &home, &volunteer, date)?;
            for src in [
                hand_source(&session, &volunteer),
                session_source(&session, &volunteer),
            ] {
                if let Some(entry) = ledger.imported(me, &src) {
                    return Err(SessionError::AlreadyRecorded {
                        session,
                        volunteer,
                        entry,
                    }
                    .into());
                }
            }
            let rules = ledger.rules();
            let points = hand_points(&rules, minutes);
            let msg = format!(
                "service by hand {volunteer}: session {session} {minutes} min = {points} pts"
            );
            let mut e = entry(
                volunteer.clone(),
                EntryBody::Service {
                    activity: s.activity,
                    team: s.team,
                    date,
                    minutes,
                    points,
                    evidence,
                },
            );
            e.source = Some(hand_source(&session, &volunteer));
            let id = EntryId(ctx.author.next_id(doc, "entries", ""));
            Ok((
                vec![Put::new("entries", id.to_string(), &e)],
                Effect::Entry(id),
                msg,
            ))
        }
        LedgerOp::Decline { entry, reason } => {
            super::non_empty(&reason, "reason")?;
            let e: Entry = doc
                .get("entries", &entry.to_string())
                .ok()
                .flatten()
                .ok_or_else(|| LedgerError::UnknownEntry(entry.clone()))?;
            if !matches!(e.body, EntryBody::Service { .. }) {
                return Err(SessionError::NotDeclinable(entry).into());
            }
            if me != &e.issuer && me != &owner {
                return Err(LedgerError::NotAllowed {
                    who: me.clone(),
                    what: "decline this entry",
                    allowed: e.issuer,
                });
            }
            if let Some(d) = ledger.decline(&entry) {
                return Err(SessionError::AlreadyDeclined {
                    entry,
                    reason: d.reason,
                }
                .into());
            }
            let d = Decline {
                by: me.clone(),
                reason,
                at: ctx.now,
            };
            let put = Put::new("meta", decline_key(&entry), &d);
            if put.value.len() > MAX_RECORD_BYTES {
                return Err(LedgerError::TooLarge {
                    bytes: put.value.len(),
                    max: MAX_RECORD_BYTES,
                });
            }
            let msg = format!("decline {entry}: {}", d.reason);
            Ok((vec![put], Effect::Entry(entry), msg))
        }
        other => Err(LedgerError::InvalidAmount(format!(
            "not a session operation: {other:?}"
        ))),
    }
}

/// Points of hours recorded by hand under `rules`.
pub(super) fn hand_points(rules: &LedgerRules, minutes: u32) -> super::Points {
    if rules.hand_points {
        rules.points_for(minutes)
    } else {
        super::Points(0)
    }
}

fn home_of(doc: &Document, v: &VolunteerId) -> Scope {
    let owner = doc.header().owner_scope();
    if Some(v.org()) == owner.org() {
        owner
    } else {
        doc.header().street_scope().child(v.org().clone())
    }
}

fn open_now(s: &Session, id: &SessionId, now: Timestamp) -> Result<(), LedgerError> {
    let opens = s.start.plus_millis(-TOLERANCE_MS);
    if now < opens {
        return Err(SessionError::NotYetOpen {
            session: id.clone(),
            opens,
        }
        .into());
    }
    if s.closed.is_some() || now >= s.end {
        return Err(SessionError::Closed {
            session: id.clone(),
            end: s.end,
        }
        .into());
    }
    Ok(())
}

fn check_window(s: &Session, year: Option<i16>, zone: &crate::time::Zone) -> Result<(), String> {
    let len = s.end.0 - s.start.0;
    if !(Timestamp::MINUTE..=MAX_SESSION_MS).contains(&len) {
        return Err(format!(
            "a session lasts 1 minute to 24 hours: {} to {}",
            s.start, s.end
        ));
    }
    let (date, _) = s.start.local(zone).map_err(|e| e.to_string())?;
    if year.is_some_and(|y| date.year() != y) {
        return Err(format!(
            "session starts on {date}, outside the ledger's year {}",
            year.unwrap_or_default()
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- receivers

/// Key shape and record type of a session record in `meta` (`None`: not a session key).
pub(super) fn check_record(key: &str, value: &str) -> Option<Result<(), String>> {
    let parts: Vec<&str> = key.split('/').collect();
    let r = match parts.as_slice() {
        ["sessions", s] => (|| {
            s.parse::<SessionId>().map_err(|e| e.to_string())?;
            let v: Session = crate::schema::decode(value)?;
            if v.end <= v.start {
                return Err(format!("session {s} ends before it starts"));
            }
            Ok(())
        })(),
        ["checkins", s, v] => (|| {
            s.parse::<SessionId>().map_err(|e| e.to_string())?;
            v.parse::<VolunteerId>().map_err(|e| e.to_string())?;
            let c: Checkin = crate::schema::decode(value)?;
            if c.checked_out.is_some_and(|o| o < c.checked_in) {
                return Err(format!("check-in {key} checks out before it checks in"));
            }
            Ok(())
        })(),
        ["declines", e] => (|| {
            e.parse::<EntryId>().map_err(|e| e.to_string())?;
            let d: Decline = crate::schema::decode(value)?;
            if d.reason.trim().is_empty() {
                return Err(format!("decline {e} gives no reason"));
            }
            Ok(())
        })(),
        [first, ..] if ["sessions", "checkins", "declines"].contains(first) => {
            Err(format!("malformed key {key:?}"))
        }
        _ => return None,
    };
    Some(r)
}

/// The write rule of a session record in `meta` (see the module doc).
pub(super) fn authorize(rules: &policy::Rules<'_>, w: &Write) -> policy::Rule {
    let (h, who) = (rules.h, rules.who);
    let session_at = |id: &SessionId| -> Result<Session, String> {
        rules
            .doc
            .get_all_at::<Session>("meta", &session_key(id), rules.deps)
            .pop()
            .ok_or_else(|| format!("session {id} is not in the change's history"))
    };
    let parts: Vec<&str> = w.key.split('/').collect();
    match parts.as_slice() {
        ["sessions", id] => {
            let id: SessionId = id.parse().map_err(|e| format!("{e}"))?;
            rules.own_number(&id.0)?;
            let s: Session = policy::decode(w)?;
            rules.names_signer(&s.organiser, "organiser")?;
            let organiser = matches!(who.role, Some(crate::cert::Role::Unit | crate::cert::Role::Partner))
                && is_organiser(h, &who.scope);
            policy::require(policy::is_owner(h, who) || organiser, || {
                format!(
                    "sessions in {}'s ledger are opened by it or an organiser it certified",
                    h.owner_scope()
                )
            })?;
            check_window(&s, h.year, &h.zone)?;
            if let Some(before) = rules
                .doc
                .get_all_at::<Session>("meta", &w.key, rules.deps)
                .pop()
            {
                policy::require(before.closed.is_none(), || {
                    format!("session {id} is closed and final")
                })?;
                let mut same = s.clone();
                same.closed = None;
                policy::require(same == before, || {
                    format!("session {id}: only its closing may rewrite it")
                })?;
            }
            Ok(())
        }
        ["checkins", s, v] => {
            let id: SessionId = s.parse().map_err(|e| format!("{e}"))?;
            let _: VolunteerId = v.parse().map_err(|e| format!("{e}"))?;
            let s = session_at(&id)?;
            rules.names_signer(&s.organiser, "session's organiser")?;
            policy::require(s.closed.is_none(), || {
                format!("session {id} was closed: its check-ins are final")
            })?;
            let c: Checkin = policy::decode(w)?;
            let from = s.start.plus_millis(-TOLERANCE_MS);
            let to = s.end.plus_millis(TOLERANCE_MS);
            policy::require(c.checked_in >= from && c.checked_in <= s.end, || {
                format!(
                    "check-in at {} is outside session {id}'s window {} to {}",
                    c.checked_in, from, s.end
                )
            })?;
            if let Some(out) = c.checked_out {
                policy::require(out >= c.checked_in && out <= to, || {
                    format!(
                        "check-out at {out} is before the check-in at {} or after session {id}'s window (to {to})",
                        c.checked_in
                    )
                })?;
            }
            if let Some(before) = rules
                .doc
                .get_all_at::<Checkin>("meta", &w.key, rules.deps)
                .pop()
            {
                policy::require(before.checked_in == c.checked_in, || {
                    format!("{}: a check-in's time is never rewritten", w.key)
                })?;
                policy::require(
                    before.checked_out.is_none() || before.checked_out == c.checked_out,
                    || format!("{}: a check-out is never rewritten", w.key),
                )?;
            }
            Ok(())
        }
        ["declines", entry] => {
            let d: Decline = policy::decode(w)?;
            rules.names_signer(&d.by, "decliner")?;
            let e = rules
                .doc
                .get_all_at::<Entry>("entries", entry, rules.deps)
                .pop()
                .ok_or_else(|| format!("declined entry {entry} is not in the change's history"))?;
            policy::require(matches!(e.body, EntryBody::Service { .. }), || {
                format!("entry {entry} is not a service record")
            })?;
            policy::require(e.issuer == who.scope || policy::is_owner(h, who), || {
                format!(
                    "entry {entry} is declined by its issuer {} or by {}",
                    e.issuer,
                    h.owner_scope()
                )
            })
        }
        _ => Err(format!("a ledger has no record meta/{}", w.key)),
    }
}

/// The points a service entry must carry under `rules`, after checking what a session
/// source claims (see the module doc); `minutes` are the entry's.
pub(super) fn due_points(
    rules: &policy::Rules<'_>,
    ledger_rules: &LedgerRules,
    e: &Entry,
    minutes: u32,
) -> Result<super::Points, String> {
    let Some(parsed) = e.source.as_deref().and_then(parse_source) else {
        return Ok(hand_points(ledger_rules, minutes));
    };
    let (verified, id, volunteer) = parsed?;
    policy::require(volunteer == e.volunteer, || {
        format!("source names {volunteer}, the entry {}", e.volunteer)
    })?;
    let s = rules
        .doc
        .get_all_at::<Session>("meta", &session_key(&id), rules.deps)
        .pop()
        .ok_or_else(|| format!("session {id} is not in the change's history"))?;
    if !verified {
        let planned = s.planned_minutes();
        policy::require(minutes <= planned, || {
            format!("{minutes} minutes exceed session {id}'s planned {planned}")
        })?;
        return Ok(hand_points(ledger_rules, minutes));
    }
    rules.names_signer(&s.organiser, "session's organiser")?;
    let c = rules
        .doc
        .get_all_at::<Checkin>("meta", &checkin_key(&id, &volunteer), rules.deps)
        .pop()
        .ok_or_else(|| format!("{volunteer} has no check-in to session {id}"))?;
    let max = s.verified_minutes(&c);
    policy::require(minutes <= max, || {
        format!("{minutes} minutes exceed the {max} that {volunteer}'s check-in to session {id} verifies")
    })?;
    Ok(ledger_rules.points_for(minutes))
}

/// The entries declined in `doc` — left out of the balance and leaderboard sums.
pub(super) fn declined_set(doc: &Document) -> std::collections::BTreeSet<EntryId> {
    declines_of(doc).into_iter().map(|(e, _)| e).collect()
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;
