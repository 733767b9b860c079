//! Time: instants are stored in UTC (milliseconds since the Unix epoch); rules that depend on
//! the wall clock (opening hours, cut-offs, blackout dates) are evaluated in the resource's
//! time zone, resolved from the time-zone database bundled into the binary (no file access).
//!
//! linli-core never reads the clock: every operation takes `now` as an argument.

use std::fmt;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Errors about times, dates and time zones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The time-zone name is not in the bundled database.
    #[error("unknown time zone {0:?} (use an IANA name such as \"Asia/Shanghai\")")]
    UnknownZone(String),
    /// A slot ends at or before its start.
    #[error("slot ends ({end}) at or before it starts ({start})")]
    EndBeforeStart {
        /// Start of the slot.
        start: Timestamp,
        /// End of the slot.
        end: Timestamp,
    },
    /// A timestamp or date is outside the supported range.
    #[error("time out of range: {0}")]
    OutOfRange(String),
}

/// An instant in UTC, in milliseconds since the Unix epoch.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds in a minute.
    pub const MINUTE: i64 = 60_000;
    /// Milliseconds in an hour.
    pub const HOUR: i64 = 3_600_000;
    /// Milliseconds in a day.
    pub const DAY: i64 = 86_400_000;

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }
    /// This instant plus `ms` milliseconds (saturating).
    pub fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }
    fn to_jiff(self) -> Result<jiff::Timestamp, TimeError> {
        jiff::Timestamp::from_millisecond(self.0)
            .map_err(|e| TimeError::OutOfRange(format!("{} ms: {e}", self.0)))
    }
    /// Parses an RFC 3339 / ISO 8601 instant with an offset, e.g. `2026-11-25T20:00:00+08:00`.
    pub fn parse(s: &str) -> Result<Self, TimeError> {
        let ts: jiff::Timestamp = s
            .parse()
            .map_err(|e| TimeError::OutOfRange(format!("{s:?}: {e}")))?;
        Ok(Self(ts.as_millisecond()))
    }
    /// The local date and time of this instant in `zone`.
    pub fn local(self, zone: &Zone) -> Result<(Date, Time), TimeError> {
        let z = self.to_jiff()?.to_zoned_datetime(zone.tz.clone());
        Ok((z.date(), z.time()))
    }
    /// The instant of a local date and time in `zone` (the earlier one in a DST fold).
    pub fn from_local(date: Date, time: Time, zone: &Zone) -> Result<Self, TimeError> {
        let z = date
            .to_datetime(time)
            .to_zoned_datetime(zone.tz.clone())
            .map_err(|e| TimeError::OutOfRange(format!("{date} {time}: {e}")))?;
        Ok(Self(z.timestamp().as_millisecond()))
    }
    /// Formats the instant as local time in `zone`, e.g. `2026-11-25 19:30`.
    pub fn display_in(self, zone: &Zone) -> String {
        match self.local(zone) {
            Ok((d, t)) => format!("{d} {:02}:{:02}", t.hour(), t.minute()),
            Err(_) => format!("@{}ms", self.0),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_jiff() {
            Ok(t) => write!(f, "{t}"),
            Err(_) => write!(f, "@{}ms", self.0),
        }
    }
}
impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// A validated IANA time zone. Serialized as its name.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// The default zone of linli's users.
    pub const DEFAULT: &'static str = "Asia/Shanghai";

    /// Looks up a zone in the bundled database.
    pub fn new(name: &str) -> Result<Self, TimeError> {
        let tz = jiff::tz::db()
            .get(name)
            .map_err(|_| TimeError::UnknownZone(name.to_string()))?;
        Ok(Self {
            name: name.to_string(),
            tz,
        })
    }
    /// Asia/Shanghai.
    pub fn shanghai() -> Self {
        // Invariant: the database is bundled into the binary (feature `tzdb-bundle-always`)
        // and always contains Asia/Shanghai; the fallback keeps the offset right anyway.
        Self::new(Self::DEFAULT).unwrap_or_else(|_| Self {
            name: Self::DEFAULT.to_string(),
            tz: TimeZone::fixed(jiff::tz::offset(8)),
        })
    }
    /// The IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }
}
impl Default for Zone {
    fn default() -> Self {
        Self::shanghai()
    }
}
impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Zone {}
impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({})", self.name)
    }
}
impl schemars::JsonSchema for Zone {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Zone".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An IANA time zone name, e.g. `Asia/Shanghai`.",
        })
    }
}

impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}
impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A half-open interval `[start, end)` of UTC instants.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Slot {
    /// Inclusive start.
    pub start: Timestamp,
    /// Exclusive end.
    pub end: Timestamp,
}

impl Slot {
    /// A slot; fails when `end <= start`.
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, TimeError> {
        let s = Self { start, end };
        s.check()?;
        Ok(s)
    }
    /// A slot from a local date, start and end time in `zone`.
    pub fn local(date: Date, from: Time, to: Time, zone: &Zone) -> Result<Self, TimeError> {
        Self::new(
            Timestamp::from_local(date, from, zone)?,
            Timestamp::from_local(date, to, zone)?,
        )
    }
    /// Checks `end > start` (slots decoded from documents are re-checked).
    pub fn check(&self) -> Result<(), TimeError> {
        if self.end <= self.start {
            return Err(TimeError::EndBeforeStart {
                start: self.start,
                end: self.end,
            });
        }
        Ok(())
    }
    /// Length in minutes.
    pub fn minutes(&self) -> i64 {
        (self.end.0 - self.start.0) / Timestamp::MINUTE
    }
    /// Whether two half-open slots share any instant.
    pub fn overlaps(&self, other: &Slot) -> bool {
        self.start < other.end && other.start < self.end
    }
    /// The same local times `weeks` weeks later in `zone` (keeps wall-clock times across DST).
    pub fn shifted_weeks(&self, weeks: u32, zone: &Zone) -> Result<Slot, TimeError> {
        if weeks == 0 {
            return Ok(*self);
        }
        let shift = |t: Timestamp| -> Result<Timestamp, TimeError> {
            let (d, tm) = t.local(zone)?;
            let d = d
                .checked_add(jiff::Span::new().days(i64::from(weeks) * 7))
                .map_err(|e| TimeError::OutOfRange(e.to_string()))?;
            Timestamp::from_local(d, tm, zone)
        };
        Slot::new(shift(self.start)?, shift(self.end)?)
    }
    /// Formats the slot in local time, e.g. `2026-11-26 19:00–21:00`.
    pub fn display_in(&self, zone: &Zone) -> String {
        let start = self.start.display_in(zone);
        let end = self.end.display_in(zone);
        match (start.split_once(' '), end.split_once(' ')) {
            (Some((d1, _)), Some((d2, t2))) if d1 == d2 => format!("{start}–{t2}"),
            _ => format!("{start} – {end}"),
        }
    }
}
impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} .. {})", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_round_trip_in_shanghai() {
        let z = Zone::shanghai();
        let d = Date::new(2026, 11, 25).unwrap();
        let t = Time::new(20, 0, 0, 0).unwrap();
        let ts = Timestamp::from_local(d, t, &z).unwrap();
        assert_eq!(ts, Timestamp::parse("2026-11-25T12:00:00Z").unwrap());
        assert_eq!(ts.local(&z).unwrap(), (d, t));
        assert_eq!(ts.display_in(&z), "2026-11-25 20:00");
    }

    #[test]
    fn unknown_zone_is_an_error() {
        assert_eq!(
            Zone::new("Mars/Olympus").unwrap_err(),
            TimeError::UnknownZone("Mars/Olympus".into())
        );
        assert!(serde_json::from_str::<Zone>("\"Nowhere\"").is_err());
    }

    #[test]
    fn slots_reject_end_before_start_and_detect_overlap() {
        let a = Slot::new(Timestamp(0), Timestamp(10)).unwrap();
        let b = Slot::new(Timestamp(10), Timestamp(20)).unwrap();
        let c = Slot::new(Timestamp(5), Timestamp(15)).unwrap();
        assert!(!a.overlaps(&b));
        assert!(a.overlaps(&c) && c.overlaps(&b));
        assert!(matches!(
            Slot::new(Timestamp(10), Timestamp(10)),
            Err(TimeError::EndBeforeStart { .. })
        ));
    }

    #[test]
    fn weekly_shift_keeps_wall_clock() {
        let z = Zone::new("Europe/Berlin").unwrap();
        // 2026-10-20 is before the end of DST in Europe, 2026-10-27 after.
        let s = Slot::local(
            Date::new(2026, 10, 20).unwrap(),
            Time::new(18, 0, 0, 0).unwrap(),
            Time::new(20, 0, 0, 0).unwrap(),
            &z,
        )
        .unwrap();
        let later = s.shifted_weeks(1, &z).unwrap();
        assert_eq!(later.display_in(&z), "2026-10-27 18:00–20:00");
        assert_eq!(
            later.start.0 - s.start.0,
            7 * Timestamp::DAY + Timestamp::HOUR
        );
    }
}
