//! Duty rotas (排班) in a community's volunteer registry: recurring shifts (daily 07:00–08:00
//! bike tidying, round-the-clock monitoring in 4-hour shifts), volunteers assigned to the
//! recurring shift or to one occurrence, swaps between two volunteers approved by the
//! community, coverage gaps, and served shifts turned into service records.
//!
//! # Records and who writes them
//!
//! Every record is the community's (the registry's owner), like the rest of the registry.
//!
//! | map | key | record | notes |
//! |---|---|---|---|
//! | `rotas` | `<rota>` (a code, e.g. `bikes`) | [`Rota`]: title, team, first and last date, shifts (local start, end, weekdays, volunteers needed) | rewritten to change it |
//! | `rota_assignments` | `<rota>/<shift>/<date or *>/<volunteer>` | [`Assignment`] (on or off) | `*`: every occurrence; a date: that occurrence (off removes a recurring one) |
//! | `rota_swaps` | `<rota>/<swap>` | [`Swap`]: one occurrence, from one volunteer to another | numbered by the signer; write-once |
//! | `rota_swap_decisions` | `<rota>/<swap>` | [`SwapDecision`] (approved or declined) | write-once |
//! | `rota_served` | `<rota>/<shift>/<date>/<volunteer>` | [`Served`] | write-once |
//!
//! Times are local, in the registry's zone (its header's); an occurrence's instants are
//! computed on read ([`Rota::slot`]). A shift ends after it starts on the same day (`24:00`
//! is the end of the day).
//!
//! # Receivers check
//!
//! The owner rule of the registry (only the community's scope writes it, so a swap approved
//! by anyone else is refused), and, as of the change's history: an assignment names a rota
//! and shift in it and a volunteer the registry knows, active when assigned; a swap and its
//! approval name a known volunteer to swap to who is active; a served record names a rota
//! occurrence that had ended at the record's time, which is not after its change. Whether the
//! occurrence has ended *now* is the writer's clock.
//!
//! # Merge behaviour
//!
//! One writer (the community), so concurrent writes are two of its workstations: a rota or
//! an assignment is last-writer-wins (automerge's deterministic pick); swaps, decisions and
//! served records are write-once under their own keys. Who covers an occurrence is derived on
//! read: the recurring assignments, then that date's (on adds, off removes), then the approved
//! swaps of the occurrence in order of time then id (each replaces its `from` by its `to`
//! when `from` still covers it); only active volunteers count. A gap is an occurrence covered
//! by fewer volunteers than the shift needs.
//!
//! # Service records
//!
//! [`Rotas::served_shifts`] lists served records as [`ServedShift`]s, each with its source
//! `rota:<rota>/<date>/<shift>/<volunteer>`: the rows a caller writes to the community's ledger
//! of that year with the ledger's `RecordServices` (the node does: `Request::RotaRecord`),
//! which skips a source already recorded, so doing it twice writes nothing twice. (The kind
//! does not name the ledger: the node joins the two.)

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, Time};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Status, Volunteer, VolunteersError, VolunteersOp};
use crate::document::{Document, Put, Write};
use crate::ids::{OrgId, RecordId, Scope, VolunteerId};
use crate::kind::{Ctx, Effect};
use crate::policy;
use crate::schema::{decode, id, key_parts};
use crate::time::{Slot, TimeError, Timestamp, Zone};

/// The record maps of rotas (part of the registry's `MAPS`).
pub(super) const ROTA_MAPS: &[&str] = &[
    "rota_assignments",
    "rota_served",
    "rota_swap_decisions",
    "rota_swaps",
    "rotas",
];

/// Most shifts a rota has.
pub const MAX_SHIFTS: usize = 24;
/// Most volunteers a shift needs.
pub const MAX_NEEDED: u32 = 100;
/// Longest date range read at once (days).
pub const MAX_RANGE_DAYS: i32 = 92;

/// A local clock time `HH:MM`, from `00:00` to `24:00` (the end of the day).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime(u16);

impl ClockTime {
    /// `h:m`, if it is a time of day (or 24:00).
    pub fn new(h: u16, m: u16) -> Option<Self> {
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(Self(h * 60 + m))
    }
    /// Minutes after midnight.
    pub fn minutes(self) -> u16 {
        self.0
    }
    /// The instant of this time on `date` in `zone` (24:00 is the next day's 00:00).
    fn on(self, date: Date, zone: &Zone) -> Result<Timestamp, TimeError> {
        let (day, m) = if self.0 >= 24 * 60 {
            let next = date
                .tomorrow()
                .map_err(|e| TimeError::OutOfRange(format!("{date}: {e}")))?;
            (next, 0)
        } else {
            (date, self.0)
        };
        let t = Time::new(
            i8::try_from(m / 60).unwrap_or(0),
            i8::try_from(m % 60).unwrap_or(0),
            0,
            0,
        )
        .map_err(|e| TimeError::OutOfRange(format!("{self}: {e}")))?;
        Timestamp::from_local(day, t, zone)
    }
}
impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}
impl fmt::Debug for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}
impl FromStr for ClockTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("time {s:?}: expected HH:MM from 00:00 to 24:00");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        Self::new(h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?).ok_or_else(bad)
    }
}
impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}
impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
impl schemars::JsonSchema for ClockTime {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ClockTime".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A local time HH:MM, from 00:00 to 24:00 (the end of the day).",
            "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        })
    }
}

/// One recurring shift of a rota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    /// Local start, e.g. `07:00`.
    pub start: ClockTime,
    /// Local end, after the start on the same day (`24:00` ends the day).
    pub end: ClockTime,
    /// Volunteers needed (1..=100).
    pub needed: u32,
    /// ISO weekdays it runs on, 1 = Monday … 7 = Sunday; empty: every day.
    #[serde(default)]
    pub weekdays: Vec<u8>,
}

impl Shift {
    fn runs_on(&self, date: Date) -> bool {
        let wd = u8::try_from(date.weekday().to_monday_one_offset()).unwrap_or(0);
        self.weekdays.is_empty() || self.weekdays.contains(&wd)
    }
    /// Minutes of one occurrence.
    pub fn minutes(&self) -> u16 {
        self.end.minutes().saturating_sub(self.start.minutes())
    }
}

/// A rota (`rotas/<rota>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rota {
    /// Title, e.g. "Bike tidying".
    pub title: String,
    /// The team serving it, if any (a team of the registry).
    pub team: Option<String>,
    /// First local date.
    pub from: Date,
    /// Last local date, if it ends.
    pub until: Option<Date>,
    /// The shifts (indexes from 0 name them in keys).
    pub shifts: Vec<Shift>,
    /// Who wrote it.
    pub by: Scope,
    /// When.
    pub at: Timestamp,
}

impl Rota {
    /// The shape every rota keeps (checked by the writer and every receiver).
    pub fn validate(&self) -> Result<(), RotaError> {
        if self.title.trim().is_empty() {
            return Err(RotaError::Empty("title"));
        }
        if self.shifts.is_empty() || self.shifts.len() > MAX_SHIFTS {
            return Err(RotaError::Shifts {
                got: self.shifts.len(),
                max: MAX_SHIFTS,
            });
        }
        if let Some(until) = self.until
            && until < self.from
        {
            return Err(RotaError::UntilBeforeFrom {
                from: self.from,
                until,
            });
        }
        for (i, s) in self.shifts.iter().enumerate() {
            if s.end <= s.start {
                return Err(RotaError::EndBeforeStart {
                    shift: i,
                    start: s.start.to_string(),
                    end: s.end.to_string(),
                });
            }
            if s.needed == 0 || s.needed > MAX_NEEDED {
                return Err(RotaError::Needed {
                    shift: i,
                    needed: s.needed,
                });
            }
            if let Some(d) = s.weekdays.iter().find(|d| !(1..=7).contains(*d)) {
                return Err(RotaError::Weekday { shift: i, day: *d });
            }
        }
        Ok(())
    }
    /// Whether shift `shift` has an occurrence on `date`.
    pub fn occurs(&self, shift: usize, date: Date) -> bool {
        date >= self.from
            && self.until.is_none_or(|u| date <= u)
            && self.shifts.get(shift).is_some_and(|s| s.runs_on(date))
    }
    /// The instants of shift `shift` on `date` in `zone`.
    pub fn slot(&self, shift: usize, date: Date, zone: &Zone) -> Result<Slot, TimeError> {
        let s = self
            .shifts
            .get(shift)
            .ok_or_else(|| TimeError::OutOfRange(format!("no shift {shift}")))?;
        Slot::new(s.start.on(date, zone)?, s.end.on(date, zone)?)
    }
}

/// An assignment (`rota_assignments/<rota>/<shift>/<date or *>/<volunteer>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// Assigned (true) or taken off (false).
    pub on: bool,
    /// Who wrote it.
    pub by: Scope,
    /// When.
    pub at: Timestamp,
}

/// A swap of one occurrence between two volunteers (`rota_swaps/<rota>/<swap>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Swap {
    /// The shift.
    pub shift: usize,
    /// The occurrence's date.
    pub date: Date,
    /// Who gives the occurrence away.
    pub from: VolunteerId,
    /// Who takes it (active).
    pub to: VolunteerId,
    /// Who recorded the request.
    pub by: Scope,
    /// When.
    pub at: Timestamp,
}

/// The community's decision on a swap (`rota_swap_decisions/<rota>/<swap>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwapDecision {
    /// Approved or declined.
    pub approved: bool,
    /// Who decided (the community).
    pub by: Scope,
    /// When.
    pub at: Timestamp,
}

/// A served occurrence (`rota_served/<rota>/<shift>/<date>/<volunteer>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Served {
    /// Who recorded it.
    pub by: Scope,
    /// When (not before the occurrence ended).
    pub at: Timestamp,
}

/// Why a rota operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotaError {
    /// A rota code of the wrong shape.
    #[error("rota code {0:?}: lowercase letters, digits, '-' and '_' only")]
    BadCode(String),
    /// An empty field.
    #[error("a rota's {0} must not be empty")]
    Empty(&'static str),
    /// No shifts, or too many.
    #[error("a rota has 1 to {max} shifts (got {got})")]
    Shifts {
        /// How many given.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A shift ending at or before its start.
    #[error("shift {shift} ends at {end}, not after its start {start} (a shift ends on its day; 24:00 is midnight)")]
    EndBeforeStart {
        /// The shift's index.
        shift: usize,
        /// Its start.
        start: String,
        /// Its end.
        end: String,
    },
    /// Volunteers needed out of bounds.
    #[error("shift {shift} needs 1 to {max} volunteers (got {needed})", max = MAX_NEEDED)]
    Needed {
        /// The shift's index.
        shift: usize,
        /// Given.
        needed: u32,
    },
    /// A weekday outside 1..=7.
    #[error("shift {shift}: weekday {day} is not 1 (Monday) to 7 (Sunday)")]
    Weekday {
        /// The shift's index.
        shift: usize,
        /// Given.
        day: u8,
    },
    /// The last date before the first.
    #[error("the rota ends on {until}, before it starts on {from}")]
    UntilBeforeFrom {
        /// First date.
        from: Date,
        /// Last date.
        until: Date,
    },
    /// No such rota.
    #[error("unknown rota {0:?}")]
    UnknownRota(String),
    /// No such shift in the rota.
    #[error("rota {rota} has no shift {shift}")]
    UnknownShift {
        /// The rota.
        rota: String,
        /// The shift asked for.
        shift: usize,
    },
    /// The shift does not run on that date.
    #[error("rota {rota} shift {shift} does not run on {date}")]
    NoOccurrence {
        /// The rota.
        rota: String,
        /// The shift.
        shift: usize,
        /// The date.
        date: Date,
    },
    /// The registry does not know the volunteer.
    #[error("unknown volunteer {0}: register them first")]
    UnknownVolunteer(VolunteerId),
    /// The volunteer is not active.
    #[error("volunteer {volunteer} is {status}, not active: cannot {what}")]
    NotActive {
        /// The volunteer.
        volunteer: VolunteerId,
        /// Its status.
        status: &'static str,
        /// What was tried.
        what: &'static str,
    },
    /// The volunteer does not cover the occurrence (a swap from them, or taking them off).
    #[error("volunteer {volunteer} is not on rota {rota} shift {shift} {when}")]
    NotAssigned {
        /// The volunteer.
        volunteer: VolunteerId,
        /// The rota.
        rota: String,
        /// The shift.
        shift: usize,
        /// The date, or "every day".
        when: String,
    },
    /// A swap with oneself.
    #[error("a swap needs two different volunteers (got {0} twice)")]
    SameVolunteer(VolunteerId),
    /// The volunteer already covers it.
    #[error("volunteer {volunteer} is already on rota {rota} shift {shift} {when}")]
    AlreadyAssigned {
        /// The volunteer.
        volunteer: VolunteerId,
        /// The rota.
        rota: String,
        /// The shift.
        shift: usize,
        /// The date, or "every day".
        when: String,
    },
    /// No such swap.
    #[error("unknown swap {0} on this rota")]
    UnknownSwap(String),
    /// The swap was decided already.
    #[error("swap {0} was already decided")]
    SwapDecided(String),
    /// Marking served before the occurrence ended.
    #[error("rota {rota} shift {shift} on {date} ends at {end}: it cannot be marked served before")]
    NotEnded {
        /// The rota.
        rota: String,
        /// The shift.
        shift: usize,
        /// The date.
        date: Date,
        /// Its end, local time.
        end: String,
    },
    /// Every volunteer named was already marked served.
    #[error("rota {rota} shift {shift} on {date}: already marked served for everyone named")]
    AlreadyServed {
        /// The rota.
        rota: String,
        /// The shift.
        shift: usize,
        /// The date.
        date: Date,
    },
    /// No volunteers, or too many, named.
    #[error("name 1 to {max} volunteers (got {got})", max = MAX_NEEDED)]
    Volunteers {
        /// How many named.
        got: usize,
    },
    /// A date range too long or reversed.
    #[error("date range {from} to {to}: at most {max} days, not reversed", max = MAX_RANGE_DAYS)]
    Range {
        /// First date.
        from: Date,
        /// Last date.
        to: Date,
    },
    /// Time arithmetic.
    #[error(transparent)]
    Time(#[from] TimeError),
}

/// In Chinese, for the people who read refusals ([`crate::zh`]).
impl crate::zh::Chinese for RotaError {
    fn zh(&self) -> String {
        use crate::zh::word;
        match self {
            RotaError::BadCode(c) => format!("排班代码 {c:?}：只能用小写字母、数字、'-' 和 '_'"),
            RotaError::Empty(f) => format!("排班的{}不能为空", word(f)),
            RotaError::Shifts { got, max } => format!("一个排班有 1 到 {max} 个班次（收到 {got} 个）"),
            RotaError::EndBeforeStart { shift, start, end } => format!(
                "班次 {shift} 结束于 {end}，不晚于开始时间 {start}（班次在当天结束；24:00 为午夜）"
            ),
            RotaError::Needed { shift, needed } => {
                format!("班次 {shift} 需要 1 到 {MAX_NEEDED} 名志愿者（收到 {needed}）")
            }
            RotaError::Weekday { shift, day } => {
                format!("班次 {shift}：星期 {day} 不在 1（周一）到 7（周日）之间")
            }
            RotaError::UntilBeforeFrom { from, until } => {
                format!("排班结束于 {until}，早于开始日期 {from}")
            }
            RotaError::UnknownRota(r) => format!("未知的排班 {r:?}"),
            RotaError::UnknownShift { rota, shift } => format!("排班 {rota} 没有班次 {shift}"),
            RotaError::NoOccurrence { rota, shift, date } => {
                format!("排班 {rota} 的班次 {shift} 在 {date} 不上班")
            }
            RotaError::UnknownVolunteer(v) => format!("未知的志愿者 {v}：请先登记"),
            RotaError::NotActive {
                volunteer,
                status,
                what,
            } => format!(
                "志愿者 {volunteer} 状态为{}，不在册：不能{}",
                word(status),
                word(what)
            ),
            RotaError::NotAssigned {
                volunteer,
                rota,
                shift,
                when,
            } => format!("志愿者 {volunteer} 不在排班 {rota} 班次 {shift}（{when}）上"),
            RotaError::SameVolunteer(v) => format!("换班需要两名不同的志愿者（{v} 出现了两次）"),
            RotaError::AlreadyAssigned {
                volunteer,
                rota,
                shift,
                when,
            } => format!("志愿者 {volunteer} 已在排班 {rota} 班次 {shift}（{when}）上"),
            RotaError::UnknownSwap(s) => format!("本排班没有换班申请 {s}"),
            RotaError::SwapDecided(s) => format!("换班申请 {s} 已处理"),
            RotaError::NotEnded {
                rota,
                shift,
                date,
                end,
            } => format!("排班 {rota} 班次 {shift} 于 {date} {end} 结束：结束前不能记为已值班"),
            RotaError::AlreadyServed { rota, shift, date } => {
                format!("排班 {rota} 班次 {shift} {date}：所列志愿者均已记为已值班")
            }
            RotaError::Volunteers { got } => {
                format!("请列出 1 到 {MAX_NEEDED} 名志愿者（收到 {got} 名）")
            }
            RotaError::Range { from, to } => format!(
                "日期范围 {from} 至 {to}：最多 {MAX_RANGE_DAYS} 天，且不能颠倒"
            ),
            RotaError::Time(e) => crate::zh::Chinese::zh(e),
        }
    }
}

impl RotaError {
    /// The class of this error.
    pub fn class(&self) -> crate::class::ErrorClass {
        use RotaError as E;
        use crate::class::ErrorClass as C;
        match self {
            E::UnknownRota(_)
            | E::UnknownShift { .. }
            | E::UnknownVolunteer(_)
            | E::UnknownSwap(_)
            | E::NoOccurrence { .. } => C::NotFound,
            E::NotActive { .. }
            | E::NotAssigned { .. }
            | E::AlreadyAssigned { .. }
            | E::SwapDecided(_)
            | E::NotEnded { .. }
            | E::AlreadyServed { .. } => C::Conflict,
            E::BadCode(_)
            | E::Empty(_)
            | E::Shifts { .. }
            | E::EndBeforeStart { .. }
            | E::Needed { .. }
            | E::Weekday { .. }
            | E::UntilBeforeFrom { .. }
            | E::SameVolunteer(_)
            | E::Volunteers { .. }
            | E::Range { .. } => C::Invalid,
            E::Time(_) => C::Malformed,
        }
    }
}

/// One occurrence of a shift with who covers it (derived on read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The rota's code.
    pub rota: String,
    /// Its title.
    pub title: String,
    /// The shift's index.
    pub shift: usize,
    /// The local date.
    pub date: Date,
    /// Start and end instants.
    pub slot: Slot,
    /// Volunteers needed.
    pub needed: u32,
    /// Active volunteers covering it (after date assignments and approved swaps).
    pub assigned: Vec<VolunteerId>,
    /// Volunteers marked as having served it.
    pub served: Vec<VolunteerId>,
}

impl Occurrence {
    /// Volunteers missing (0 when covered).
    pub fn missing(&self) -> u32 {
        self.needed
            .saturating_sub(u32::try_from(self.assigned.len()).unwrap_or(u32::MAX))
    }
}

/// A served occurrence as a service record to write (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct ServedShift {
    /// Who served.
    pub volunteer: VolunteerId,
    /// The rota's title (the service's activity).
    pub activity: String,
    /// The rota's team, if any.
    pub team: Option<String>,
    /// The local date.
    pub date: Date,
    /// Hours of the shift.
    pub hours: f64,
    /// Evidence: rota, shift and times.
    pub evidence: String,
    /// `rota:<rota>/<date>/<shift>/<volunteer>`.
    pub source: String,
}

/// A swap with its decision, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapView {
    /// The rota.
    pub rota: String,
    /// The swap's id.
    pub id: RecordId,
    /// The request.
    pub swap: Swap,
    /// The community's decision, if any.
    pub decision: Option<SwapDecision>,
}

/// Read view of the rotas of a registry.
pub struct Rotas<'a> {
    doc: &'a Document,
}

impl<'a> Rotas<'a> {
    /// Wraps a registry document.
    pub fn new(doc: &'a Document) -> Self {
        Self { doc }
    }
    /// Rotas by code.
    pub fn rotas(&self) -> BTreeMap<String, Rota> {
        self.doc.records("rotas").into_iter().collect()
    }
    /// One rota.
    pub fn rota(&self, code: &str) -> Result<Rota, RotaError> {
        self.doc
            .get("rotas", code)
            .ok()
            .flatten()
            .ok_or_else(|| RotaError::UnknownRota(code.to_string()))
    }
    /// Swaps of a rota (every rota when `None`), by rota then id.
    pub fn swaps(&self, code: Option<&str>) -> Vec<SwapView> {
        let prefix = code.map(|c| format!("{c}/")).unwrap_or_default();
        self.doc
            .records_with_prefix::<Swap>("rota_swaps", &prefix)
            .into_iter()
            .filter_map(|(k, swap)| {
                let (rota, id) = k.split_once('/')?;
                Some(SwapView {
                    rota: rota.to_string(),
                    id: id.parse().ok()?,
                    decision: self.doc.get("rota_swap_decisions", &k).ok().flatten(),
                    swap,
                })
            })
            .collect()
    }
    /// Every occurrence from `from` to `to` (inclusive, at most [`MAX_RANGE_DAYS`] days) of
    /// one rota or all, by date, rota and shift, with who covers it.
    pub fn occurrences(
        &self,
        code: Option<&str>,
        from: Date,
        to: Date,
    ) -> Result<Vec<Occurrence>, RotaError> {
        let days = from.until(to).map(|s| s.get_days()).unwrap_or(-1);
        if to < from || days >= MAX_RANGE_DAYS {
            return Err(RotaError::Range { from, to });
        }
        let rotas = match code {
            Some(c) => BTreeMap::from([(c.to_string(), self.rota(c)?)]),
            None => self.rotas(),
        };
        let zone = &self.doc.header().zone;
        let active: BTreeSet<VolunteerId> = self
            .doc
            .records::<Volunteer>("volunteers")
            .into_iter()
            .filter(|(_, v)| v.status == Status::Active)
            .filter_map(|(k, _)| k.parse().ok())
            .collect();
        let mut out = Vec::new();
        for (code, rota) in &rotas {
            let assignments = self
                .doc
                .records_with_prefix::<Assignment>("rota_assignments", &format!("{code}/"));
            let mut swaps: Vec<SwapView> = self
                .swaps(Some(code))
                .into_iter()
                .filter(|s| s.decision.as_ref().is_some_and(|d| d.approved))
                .collect();
            swaps.sort_by(|a, b| (a.swap.at, &a.id).cmp(&(b.swap.at, &b.id)));
            let served = self
                .doc
                .records_with_prefix::<Served>("rota_served", &format!("{code}/"));
            let mut date = from;
            loop {
                for (i, shift) in rota.shifts.iter().enumerate() {
                    if !rota.occurs(i, date) {
                        continue;
                    }
                    let on = |when: &str| {
                        let p = format!("{code}/{i}/{when}/");
                        assignments
                            .iter()
                            .filter_map(move |(k, a)| {
                                let v: VolunteerId = k.strip_prefix(&p)?.parse().ok()?;
                                Some((v, a.on))
                            })
                            .collect::<Vec<_>>()
                    };
                    let mut cover: BTreeSet<VolunteerId> = on("*")
                        .into_iter()
                        .filter(|(_, on)| *on)
                        .map(|(v, _)| v)
                        .collect();
                    for (v, is_on) in on(&date.to_string()) {
                        if is_on {
                            cover.insert(v);
                        } else {
                            cover.remove(&v);
                        }
                    }
                    for s in &swaps {
                        if s.swap.shift == i && s.swap.date == date && cover.remove(&s.swap.from) {
                            cover.insert(s.swap.to.clone());
                        }
                    }
                    let p = format!("{code}/{i}/{date}/");
                    out.push(Occurrence {
                        rota: code.clone(),
                        title: rota.title.clone(),
                        shift: i,
                        date,
                        slot: rota.slot(i, date, zone)?,
                        needed: shift.needed,
                        assigned: cover.into_iter().filter(|v| active.contains(v)).collect(),
                        served: served
                            .iter()
                            .filter_map(|(k, _)| k.strip_prefix(&p)?.parse().ok())
                            .collect(),
                    });
                }
                if date >= to {
                    break;
                }
                date = date
                    .tomorrow()
                    .map_err(|e| TimeError::OutOfRange(format!("{date}: {e}")))?;
            }
        }
        out.sort_by(|a, b| (a.slot.start, &a.rota, a.shift).cmp(&(b.slot.start, &b.rota, b.shift)));
        Ok(out)
    }
    /// The occurrences from `from` to `to` covered by fewer volunteers than needed.
    pub fn gaps(
        &self,
        code: Option<&str>,
        from: Date,
        to: Date,
    ) -> Result<Vec<Occurrence>, RotaError> {
        let mut v = self.occurrences(code, from, to)?;
        v.retain(|o| o.missing() > 0);
        Ok(v)
    }
    /// Every served occurrence dated in `year`, each with its source
    /// `rota:<rota>/<date>/<shift>/<volunteer>` (see the module docs), in key order.
    pub fn served_shifts(&self, year: i16) -> Vec<ServedShift> {
        let rotas = self.rotas();
        self.doc
            .records::<Served>("rota_served")
            .into_iter()
            .filter_map(|(k, _)| {
                let [code, shift, date, v] = key_parts::<4>(&k).ok()?;
                let rota = rotas.get(code)?;
                let i: usize = shift.parse().ok()?;
                let s = rota.shifts.get(i)?;
                let date: Date = date.parse().ok()?;
                if date.year() != year {
                    return None;
                }
                Some(ServedShift {
                    volunteer: v.parse().ok()?,
                    activity: rota.title.clone(),
                    team: rota.team.clone(),
                    date,
                    hours: f64::from(s.minutes()) / 60.0,
                    evidence: format!("rota {code} shift {i} {}–{}", s.start, s.end),
                    source: format!("rota:{code}/{date}/{i}/{v}"),
                })
            })
            .collect()
    }
}

fn status_of(doc: &Document, v: &VolunteerId) -> Result<Status, RotaError> {
    doc.get::<Volunteer>("volunteers", &v.to_string())
        .ok()
        .flatten()
        .map(|x| x.status)
        .ok_or_else(|| RotaError::UnknownVolunteer(v.clone()))
}

fn require_active(doc: &Document, v: &VolunteerId, what: &'static str) -> Result<(), RotaError> {
    match status_of(doc, v)? {
        Status::Active => Ok(()),
        s => Err(RotaError::NotActive {
            volunteer: v.clone(),
            status: s.label(),
            what,
        }),
    }
}

fn occurrence(rotas: &Rotas<'_>, code: &str, shift: usize, date: Date) -> Result<Rota, RotaError> {
    let rota = rotas.rota(code)?;
    if shift >= rota.shifts.len() {
        return Err(RotaError::UnknownShift {
            rota: code.to_string(),
            shift,
        });
    }
    if !rota.occurs(shift, date) {
        return Err(RotaError::NoOccurrence {
            rota: code.to_string(),
            shift,
            date,
        });
    }
    Ok(rota)
}

/// Plans a rota operation of the registry (the community's; checked by the caller).
pub(super) fn plan(
    doc: &Document,
    ctx: &Ctx<'_>,
    op: VolunteersOp,
) -> Result<(Vec<Put>, Effect, String), VolunteersError> {
    let me = ctx.scope.clone();
    let rotas = Rotas::new(doc);
    let done = |puts: Vec<Put>, msg: String| Ok((puts, Effect::Done, msg));
    match op {
        VolunteersOp::SetRota {
            code,
            title,
            team,
            from,
            until,
            shifts,
        } => {
            if OrgId::new(&code).is_err() {
                return Err(RotaError::BadCode(code).into());
            }
            if let Some(t) = &team
                && doc.get::<super::Team>("teams", t).ok().flatten().is_none()
            {
                return Err(VolunteersError::UnknownTeam(t.clone()));
            }
            let rota = Rota {
                title,
                team,
                from,
                until,
                shifts,
                by: me,
                at: ctx.now,
            };
            rota.validate()?;
            // Shifts are named by index: a rewrite keeps the old ones' meaning.
            if let Ok(old) = rotas.rota(&code)
                && rota.shifts.len() < old.shifts.len()
            {
                return Err(RotaError::Shifts {
                    got: rota.shifts.len(),
                    max: MAX_SHIFTS,
                }
                .into());
            }
            let msg = format!("rota {code}: {}", rota.title);
            done(vec![Put::new("rotas", code, &rota)], msg)
        }
        VolunteersOp::AssignShift {
            rota: code,
            shift,
            date,
            volunteer,
        } => {
            let rota = rotas.rota(&code)?;
            check_target(&rota, &code, shift, date)?;
            require_active(doc, &volunteer, "be assigned a shift")?;
            let when = date.map_or("*".to_string(), |d| d.to_string());
            let key = format!("{code}/{shift}/{when}/{volunteer}");
            let current: Option<Assignment> = doc.get("rota_assignments", &key).ok().flatten();
            let covered = date.is_some_and(|d| {
                rotas
                    .occurrences(Some(&code), d, d)
                    .is_ok_and(|o| o.iter().any(|o| o.shift == shift && o.assigned.contains(&volunteer)))
            });
            if current.is_some_and(|a| a.on) || covered {
                return Err(RotaError::AlreadyAssigned {
                    volunteer,
                    rota: code,
                    shift,
                    when: when_text(date),
                }
                .into());
            }
            let a = Assignment {
                on: true,
                by: me,
                at: ctx.now,
            };
            let msg = format!("assign {volunteer} to rota {code} shift {shift} {}", when_text(date));
            done(vec![Put::new("rota_assignments", key, &a)], msg)
        }
        VolunteersOp::UnassignShift {
            rota: code,
            shift,
            date,
            volunteer,
        } => {
            let rota = rotas.rota(&code)?;
            check_target(&rota, &code, shift, date)?;
            status_of(doc, &volunteer)?;
            let when = date.map_or("*".to_string(), |d| d.to_string());
            let key = format!("{code}/{shift}/{when}/{volunteer}");
            let assigned = match date {
                // One occurrence: take the volunteer off it, whatever assigned them.
                Some(d) => rotas.occurrences(Some(&code), d, d)?.iter().any(|o| {
                    o.shift == shift && o.assigned.contains(&volunteer)
                }),
                None => doc
                    .get::<Assignment>("rota_assignments", &key)
                    .ok()
                    .flatten()
                    .is_some_and(|a| a.on),
            };
            if !assigned {
                return Err(not_assigned(&volunteer, &code, shift, date).into());
            }
            let a = Assignment {
                on: false,
                by: me,
                at: ctx.now,
            };
            let msg = format!("take {volunteer} off rota {code} shift {shift} {}", when_text(date));
            done(vec![Put::new("rota_assignments", key, &a)], msg)
        }
        VolunteersOp::RequestSwap {
            rota: code,
            shift,
            date,
            from,
            to,
        } => {
            occurrence(&rotas, &code, shift, date)?;
            if from == to {
                return Err(RotaError::SameVolunteer(from).into());
            }
            status_of(doc, &from)?;
            require_active(doc, &to, "take a swapped shift")?;
            let covers = |v: &VolunteerId| -> Result<bool, RotaError> {
                Ok(rotas
                    .occurrences(Some(&code), date, date)?
                    .iter()
                    .any(|o| o.shift == shift && o.assigned.contains(v)))
            };
            if !covers(&from)? {
                return Err(not_assigned(&from, &code, shift, Some(date)).into());
            }
            if covers(&to)? {
                return Err(RotaError::AlreadyAssigned {
                    volunteer: to,
                    rota: code,
                    shift,
                    when: when_text(Some(date)),
                }
                .into());
            }
            let id = ctx.author.next_id(doc, "rota_swaps", &format!("{code}/"));
            let swap = Swap {
                shift,
                date,
                from,
                to,
                by: me,
                at: ctx.now,
            };
            let msg = format!(
                "swap request {id}: rota {code} shift {shift} {date} from {} to {}",
                swap.from, swap.to
            );
            done(vec![Put::new("rota_swaps", format!("{code}/{id}"), &swap)], msg)
        }
        VolunteersOp::DecideSwap {
            rota: code,
            swap,
            approve,
        } => {
            let key = format!("{code}/{swap}");
            let s: Swap = doc
                .get("rota_swaps", &key)
                .ok()
                .flatten()
                .ok_or_else(|| RotaError::UnknownSwap(swap.to_string()))?;
            if doc.get::<SwapDecision>("rota_swap_decisions", &key).ok().flatten().is_some() {
                return Err(RotaError::SwapDecided(swap.to_string()).into());
            }
            if approve {
                require_active(doc, &s.to, "take a swapped shift")?;
            }
            let d = SwapDecision {
                approved: approve,
                by: me,
                at: ctx.now,
            };
            let verb = if approve { "approve" } else { "decline" };
            done(
                vec![Put::new("rota_swap_decisions", key, &d)],
                format!("{verb} swap {swap} on rota {code}"),
            )
        }
        VolunteersOp::MarkServed {
            rota: code,
            shift,
            date,
            volunteers,
        } => {
            let rota = occurrence(&rotas, &code, shift, date)?;
            if volunteers.is_empty() || volunteers.len() > MAX_NEEDED as usize {
                return Err(RotaError::Volunteers {
                    got: volunteers.len(),
                }
                .into());
            }
            let zone = &doc.header().zone;
            let slot = rota.slot(shift, date, zone).map_err(RotaError::from)?;
            if ctx.now < slot.end {
                return Err(RotaError::NotEnded {
                    rota: code,
                    shift,
                    date,
                    end: slot.end.display_in(zone),
                }
                .into());
            }
            let mut puts = Vec::new();
            let mut seen = BTreeSet::new();
            for v in volunteers {
                status_of(doc, &v)?;
                let key = format!("{code}/{shift}/{date}/{v}");
                if !seen.insert(v) || doc.get::<Served>("rota_served", &key).ok().flatten().is_some()
                {
                    continue;
                }
                puts.push(Put::new(
                    "rota_served",
                    key,
                    &Served {
                        by: me.clone(),
                        at: ctx.now,
                    },
                ));
            }
            if puts.is_empty() {
                return Err(RotaError::AlreadyServed {
                    rota: code,
                    shift,
                    date,
                }
                .into());
            }
            let msg = format!("rota {code} shift {shift} {date}: {} served", puts.len());
            done(puts, msg)
        }
        _ => Err(VolunteersError::Empty("rota operation")),
    }
}

fn when_text(date: Option<Date>) -> String {
    date.map_or("every day".to_string(), |d| format!("on {d}"))
}

fn not_assigned(v: &VolunteerId, code: &str, shift: usize, date: Option<Date>) -> RotaError {
    RotaError::NotAssigned {
        volunteer: v.clone(),
        rota: code.to_string(),
        shift,
        when: when_text(date),
    }
}

/// The shift exists, and the date (if any) is one of its occurrences.
fn check_target(rota: &Rota, code: &str, shift: usize, date: Option<Date>) -> Result<(), RotaError> {
    if shift >= rota.shifts.len() {
        return Err(RotaError::UnknownShift {
            rota: code.to_string(),
            shift,
        });
    }
    match date {
        Some(d) if !rota.occurs(shift, d) => Err(RotaError::NoOccurrence {
            rota: code.to_string(),
            shift,
            date: d,
        }),
        _ => Ok(()),
    }
}

/// Key shape and record type of the rota maps.
pub(super) fn check_record(map: &str, key: &str, value: &str) -> Result<(), String> {
    let shift = |s: &str| -> Result<usize, String> {
        let i: usize = id(s)?;
        policy::require(i < MAX_SHIFTS, || format!("shift {i} out of range"))?;
        Ok(i)
    };
    let code = |s: &str| OrgId::new(s).map(drop).map_err(|e| e.to_string());
    match map {
        "rotas" => {
            let [k] = key_parts::<1>(key)?;
            code(k)?;
            decode::<Rota>(value)?.validate().map_err(|e| e.to_string())
        }
        "rota_assignments" => {
            let [r, s, d, v] = key_parts::<4>(key)?;
            code(r)?;
            shift(s)?;
            if d != "*" {
                id::<Date>(d)?;
            }
            id::<VolunteerId>(v)?;
            decode::<Assignment>(value).map(drop)
        }
        "rota_swaps" => {
            let [r, k] = key_parts::<2>(key)?;
            code(r)?;
            id::<RecordId>(k)?;
            let s = decode::<Swap>(value)?;
            policy::require(s.shift < MAX_SHIFTS && s.from != s.to, || {
                format!("swap {k}: a shift in range between two volunteers")
            })
        }
        "rota_swap_decisions" => {
            let [r, k] = key_parts::<2>(key)?;
            code(r)?;
            id::<RecordId>(k)?;
            decode::<SwapDecision>(value).map(drop)
        }
        "rota_served" => {
            let [r, s, d, v] = key_parts::<4>(key)?;
            code(r)?;
            shift(s)?;
            id::<Date>(d)?;
            id::<VolunteerId>(v)?;
            decode::<Served>(value).map(drop)
        }
        _ => Err(format!("a volunteer registry has no record map {map:?}")),
    }
}

/// The write rules of the rota maps, after the registry's owner rule (see the module docs).
impl policy::Rules<'_> {
    pub(super) fn rotas(&self, w: &Write) -> policy::Rule {
        let parts: Vec<&str> = w.key.split('/').collect();
        let code = parts.first().copied().unwrap_or_default();
        // Every value of the rota as of the change's history.
        let rotas = || self.doc.get_all_at::<Rota>("rotas", code, self.deps);
        let known = |v: &VolunteerId| -> policy::Rule {
            policy::require(
                self.doc.exists_at("volunteers", &v.to_string(), self.deps),
                || format!("volunteer {v} is not in the change's history"),
            )
        };
        let active = |v: &VolunteerId| -> policy::Rule {
            known(v)?;
            let all = self
                .doc
                .get_all_at::<Volunteer>("volunteers", &v.to_string(), self.deps);
            policy::require(all.iter().all(|x| x.status == Status::Active), || {
                format!("volunteer {v} is not active as of the change's history")
            })
        };
        let has_shift = |shift: usize| -> policy::Rule {
            policy::require(rotas().iter().any(|r| shift < r.shifts.len()), || {
                format!("rota {code} has no shift {shift} in the change's history")
            })
        };
        match w.map.as_str() {
            "rotas" => {
                let r: Rota = policy::decode(w)?;
                self.names_signer(&r.by, "writer")?;
                match &r.team {
                    Some(t) => policy::require(self.doc.exists_at("teams", t, self.deps), || {
                        format!("team {t} is not in the change's history")
                    }),
                    None => Ok(()),
                }
            }
            "rota_assignments" => {
                let a: Assignment = policy::decode(w)?;
                self.names_signer(&a.by, "writer")?;
                let shift: usize = id(parts.get(1).copied().unwrap_or_default())?;
                has_shift(shift)?;
                let v: VolunteerId = id(parts.get(3).copied().unwrap_or_default())?;
                if a.on { active(&v) } else { known(&v) }
            }
            "rota_swaps" => {
                let s: Swap = policy::decode(w)?;
                self.names_signer(&s.by, "writer")?;
                let sid: RecordId = id(parts.get(1).copied().unwrap_or_default())?;
                self.own_number(&sid)?;
                has_shift(s.shift)?;
                known(&s.from)?;
                active(&s.to)
            }
            "rota_swap_decisions" => {
                let d: SwapDecision = policy::decode(w)?;
                self.names_signer(&d.by, "decider")?;
                let swaps = self.doc.get_all_at::<Swap>("rota_swaps", &w.key, self.deps);
                let s = swaps
                    .first()
                    .ok_or_else(|| format!("swap {} is not in the change's history", w.key))?;
                if d.approved { active(&s.to) } else { Ok(()) }
            }
            "rota_served" => {
                let s: Served = policy::decode(w)?;
                self.names_signer(&s.by, "writer")?;
                policy::require(s.at <= self.at, || {
                    "the served record is dated after its change".to_string()
                })?;
                let shift: usize = id(parts.get(1).copied().unwrap_or_default())?;
                let date: Date = id(parts.get(2).copied().unwrap_or_default())?;
                let v: VolunteerId = id(parts.get(3).copied().unwrap_or_default())?;
                known(&v)?;
                let ended = rotas().iter().any(|r| {
                    r.occurs(shift, date)
                        && r.slot(shift, date, &self.h.zone).is_ok_and(|sl| sl.end <= s.at)
                });
                policy::require(ended, || {
                    format!(
                        "rota {code} shift {shift} on {date} is not an occurrence that had ended at {}",
                        s.at
                    )
                })
            }
            _ => Err("unknown map".into()),
        }
    }
}

#[cfg(test)]
#[path = "rotas_tests.rs"]
mod tests;
