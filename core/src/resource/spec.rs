//! The resource specification (fixed at genesis) and the slot rules derived from it.

use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};

use super::ResourceError;
use crate::time::{Slot, TimeError, Timestamp, Zone};

/// Longest booking a default room allows (minutes).
const DEFAULT_MAX_MINUTES: u32 = 240;
/// Default lead time of a room (minutes).
const DEFAULT_LEAD_MINUTES: u32 = 60;
const OPEN: Time = jiff::civil::time(8, 0, 0, 0);
const CLOSE: Time = jiff::civil::time(21, 0, 0, 0);
const CUTOFF: Time = jiff::civil::time(20, 0, 0, 0);
const WEEKDAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// What kind of place a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// An activity room (活动室).
    ActivityRoom,
    /// A hall.
    Hall,
    /// A sports court (e.g. the basketball court).
    SportsCourt,
    /// A pavilion.
    Pavilion,
    /// A book bar.
    BookBar,
    /// A shared kitchen.
    Kitchen,
    /// Anything else.
    Other,
}

/// A weekly time block: some weekdays (1 = Monday … 7 = Sunday) from one local time to a
/// later one on the same day. Used for opening hours and delegated blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklyBlock {
    /// ISO weekdays, 1 = Monday … 7 = Sunday.
    pub weekdays: Vec<u8>,
    /// Local start time (inclusive).
    #[schemars(with = "String")]
    pub from: Time,
    /// Local end time (exclusive), after `from`.
    #[schemars(with = "String")]
    pub to: Time,
}

/// An occurrence in local time: start and end date and time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalSpan {
    start: (Date, Time),
    end: (Date, Time),
}

impl LocalSpan {
    pub(crate) fn of(slot: &Slot, zone: &Zone) -> Result<Self, TimeError> {
        Ok(Self {
            start: slot.start.local(zone)?,
            end: slot.end.local(zone)?,
        })
    }
    /// The local dates the occurrence touches (at most 8: a week plus one covers every
    /// weekday, which is all a weekly rule can tell apart).
    fn days(&self) -> impl Iterator<Item = Date> + '_ {
        std::iter::successors(Some(self.start.0), |d| d.tomorrow().ok())
            .take_while(|d| *d <= self.end.0)
            .take(8)
    }
}

fn weekday(date: Date) -> u8 {
    // `to_monday_one_offset` is 1..=7, so the conversion cannot fail.
    u8::try_from(date.weekday().to_monday_one_offset()).unwrap_or(0)
}

impl WeeklyBlock {
    /// A block on `weekdays` from `from` to `to` (validated by [`WeeklyBlock::validate`]).
    pub fn new(weekdays: &[u8], from: Time, to: Time) -> Self {
        Self {
            weekdays: weekdays.to_vec(),
            from,
            to,
        }
    }
    /// Every day of the week from `from` to `to`.
    pub fn daily(from: Time, to: Time) -> Self {
        Self::new(&[1, 2, 3, 4, 5, 6, 7], from, to)
    }
    /// Checks weekdays (non-empty, 1..=7, no repeats) and `from < to`.
    pub fn validate(&self) -> Result<(), String> {
        if self.weekdays.is_empty() {
            return Err(format!("block {self} has no weekdays"));
        }
        for (i, d) in self.weekdays.iter().enumerate() {
            if !(1..=7).contains(d) {
                return Err(format!("weekday {d} is not 1 (Monday) to 7 (Sunday)"));
            }
            if self.weekdays[..i].contains(d) {
                return Err(format!("weekday {d} is listed twice"));
            }
        }
        if self.from >= self.to {
            return Err(format!(
                "block opens at {} but closes at {}, which is not later",
                hm(self.from),
                hm(self.to)
            ));
        }
        Ok(())
    }
    /// Whether the occurrence lies entirely inside this block on its local day.
    pub(crate) fn contains(&self, span: &LocalSpan) -> bool {
        span.start.0 == span.end.0
            && self.weekdays.contains(&weekday(span.start.0))
            && self.from <= span.start.1
            && span.end.1 <= self.to
    }
    /// Whether the occurrence shares any instant with this block.
    pub(crate) fn intersects(&self, span: &LocalSpan) -> bool {
        span.days().any(|d| {
            let from = if d == span.start.0 {
                span.start.1
            } else {
                Time::MIN
            };
            // `None` stands for midnight at the end of the day.
            let to = (d == span.end.0).then_some(span.end.1);
            if to == Some(from) {
                return false;
            }
            self.weekdays.contains(&weekday(d))
                && from < self.to
                && to.is_none_or(|to| self.from < to)
        })
    }
    /// Whether two blocks share a weekday and overlapping times.
    pub fn intersects_block(&self, other: &WeeklyBlock) -> bool {
        self.weekdays.iter().any(|d| other.weekdays.contains(d))
            && self.from < other.to
            && other.from < self.to
    }
}

fn hm(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

impl std::fmt::Display for WeeklyBlock {
    /// E.g. `Mon–Fri 08:00–21:00` or `Tue, Thu 19:00–21:00`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut days: Vec<u8> = self.weekdays.clone();
        days.sort_unstable();
        days.dedup();
        let name = |d: u8| {
            WEEKDAY_NAMES
                .get(usize::from(d).wrapping_sub(1))
                .copied()
                .unwrap_or("?")
        };
        let mut parts = Vec::new();
        let mut i = 0;
        while i < days.len() {
            let mut j = i;
            while j + 1 < days.len() && days[j + 1] == days[j] + 1 {
                j += 1;
            }
            parts.push(match j - i {
                0 => name(days[i]).to_string(),
                1 => format!("{}, {}", name(days[i]), name(days[j])),
                _ => format!("{}–{}", name(days[i]), name(days[j])),
            });
            i = j + 1;
        }
        write!(f, "{} {}–{}", parts.join(", "), hm(self.from), hm(self.to))
    }
}

/// A shared kitchen's service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KitchenSpec {
    /// Portions the kitchen can serve per service day.
    pub daily_capacity: u32,
    /// Local time on the previous evening when ordering for a day closes.
    #[schemars(with = "String")]
    pub cutoff: Time,
    /// The service, e.g. "dinner".
    pub service: String,
    /// Dishes that may be ordered; empty means free-text items.
    pub menu: Vec<String>,
}

impl KitchenSpec {
    /// A dinner service of `daily_capacity` portions with the cut-off at 20:00 the evening
    /// before and no fixed menu.
    pub fn dinner(daily_capacity: u32) -> Self {
        Self {
            daily_capacity,
            cutoff: CUTOFF,
            service: "dinner".into(),
            menu: Vec::new(),
        }
    }
}

/// Description and rules of a resource, written once at genesis (`meta/spec`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// Name shown to people, e.g. "Dianye activity room".
    pub name: String,
    /// What kind of place it is.
    pub kind: ResourceKind,
    /// Floor area in m², if known.
    pub area_m2: Option<u32>,
    /// Most persons allowed at once.
    pub capacity: u32,
    /// Time zone of the opening hours, blackout dates and kitchen cut-off.
    pub zone: Zone,
    /// Opening hours: a slot must lie inside one block on its local day.
    pub opening: Vec<WeeklyBlock>,
    /// Minimum minutes between the arbiter's `now` and the start of a slot.
    pub lead_minutes: u32,
    /// Longest allowed booking (minutes, per occurrence).
    pub max_minutes: u32,
    /// Local dates on which nothing may be booked or served.
    #[schemars(with = "Vec<String>")]
    pub blackout: Vec<Date>,
    /// House rules shown to bookers.
    #[serde(default)]
    pub rules: Vec<String>,
    /// The kitchen service, if this resource is a shared kitchen.
    pub kitchen: Option<KitchenSpec>,
}

impl ResourceSpec {
    /// An activity room in Asia/Shanghai for `capacity` persons, open daily 08:00–21:00,
    /// bookable up to 240 minutes at least 60 minutes ahead, without blackout dates.
    pub fn room(name: &str, capacity: u32) -> Self {
        Self {
            name: name.into(),
            kind: ResourceKind::ActivityRoom,
            area_m2: None,
            capacity,
            zone: Zone::shanghai(),
            opening: vec![WeeklyBlock::daily(OPEN, CLOSE)],
            lead_minutes: DEFAULT_LEAD_MINUTES,
            max_minutes: DEFAULT_MAX_MINUTES,
            blackout: Vec::new(),
            rules: Vec::new(),
            kitchen: None,
        }
    }
    /// A shared kitchen with a dinner service of `daily_capacity` portions (cut-off 20:00
    /// the evening before); its dining room seats `capacity` persons and is a room like
    /// [`ResourceSpec::room`].
    pub fn kitchen(name: &str, capacity: u32, daily_capacity: u32) -> Self {
        Self {
            kind: ResourceKind::Kitchen,
            kitchen: Some(KitchenSpec::dinner(daily_capacity)),
            ..Self::room(name, capacity)
        }
    }

    /// Checks the specification: non-empty name, capacity and area above zero, valid
    /// opening blocks, positive maximum duration, sane kitchen settings.
    pub fn validate(&self) -> Result<(), ResourceError> {
        let bad = |s: String| Err(ResourceError::InvalidSpec(s));
        if self.name.trim().is_empty() {
            return bad("name is empty".into());
        }
        if self.capacity == 0 {
            return bad("capacity must be at least 1 person (got 0)".into());
        }
        if self.area_m2 == Some(0) {
            return bad("area must be above 0 m² when given".into());
        }
        if self.opening.is_empty() {
            return bad("no opening hours: add at least one weekly block".into());
        }
        for b in &self.opening {
            b.validate()
                .map_err(|e| ResourceError::InvalidSpec(format!("opening hours: {e}")))?;
        }
        if self.max_minutes == 0 {
            return bad("maximum duration must be at least 1 minute (got 0)".into());
        }
        if let Some(k) = &self.kitchen {
            if k.daily_capacity == 0 {
                return bad("kitchen daily capacity must be at least 1 portion (got 0)".into());
            }
            if k.service.trim().is_empty() {
                return bad("kitchen service name is empty".into());
            }
            if k.menu.iter().any(|m| m.trim().is_empty()) {
                return bad("kitchen menu has an empty item".into());
            }
        }
        Ok(())
    }

    /// The opening hours in words, e.g. `Mon–Fri 08:00–21:00; Sat 09:00–12:00`.
    pub fn opening_text(&self) -> String {
        let v: Vec<String> = self.opening.iter().map(ToString::to_string).collect();
        v.join("; ")
    }

    /// Whether `date` is a blackout date.
    pub fn is_blackout(&self, date: Date) -> bool {
        self.blackout.contains(&date)
    }

    /// Checks one occurrence against the standing rules: it must end after it starts, avoid
    /// blackout dates, last at most the maximum, and lie inside one opening block.
    pub fn check_occurrence(&self, slot: &Slot) -> Result<(), ResourceError> {
        slot.check()?;
        let text = || slot.display_in(&self.zone);
        let span = LocalSpan::of(slot, &self.zone)?;
        if let Some(date) = span.days().find(|d| self.is_blackout(*d)) {
            return Err(ResourceError::Blackout { slot: text(), date });
        }
        if slot.minutes() > i64::from(self.max_minutes) {
            return Err(ResourceError::TooLong {
                slot: text(),
                minutes: slot.minutes(),
                max: self.max_minutes,
            });
        }
        if !self.opening.iter().any(|b| b.contains(&span)) {
            return Err(ResourceError::OutsideOpeningHours {
                slot: text(),
                hours: self.opening_text(),
            });
        }
        Ok(())
    }

    /// Checks the lead time of a slot against `now`.
    pub fn check_lead(&self, slot: &Slot, now: Timestamp) -> Result<(), ResourceError> {
        if slot.start.0 - now.0 < i64::from(self.lead_minutes) * Timestamp::MINUTE {
            return Err(ResourceError::LeadTime {
                slot: slot.display_in(&self.zone),
                lead_minutes: self.lead_minutes,
                now: now.display_in(&self.zone),
            });
        }
        Ok(())
    }

    /// Checks attendance against capacity.
    pub fn check_attendees(&self, attendees: u32) -> Result<(), ResourceError> {
        if attendees == 0 {
            return Err(ResourceError::NoAttendees);
        }
        if attendees > self.capacity {
            return Err(ResourceError::OverCapacity {
                attendees,
                capacity: self.capacity,
            });
        }
        Ok(())
    }
}
