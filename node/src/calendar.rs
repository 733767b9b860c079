//! Calendar feeds: a room's bookings as an iCalendar (RFC 5545) feed, written with the
//! `icalendar` crate.
//!
//! One VEVENT per booking that holds (or held) the room: a confirmed booking, or a confirmed
//! booking that was later revoked or cancelled. Times are local times of the resource's
//! zone (`DTSTART;TZID=Asia/Shanghai:…`, the zone's definition in a VTIMEZONE); a weekly
//! series is one VEVENT with `RRULE:FREQ=WEEKLY;COUNT=n`. A series revoked or cancelled
//! after some of its occurrences began keeps those and lists the others as `EXDATE`s; a
//! booking revoked or cancelled before its first occurrence is `STATUS:CANCELLED` (its
//! `SEQUENCE` raised so that subscribed calendars update it).
//!
//! Only what the replicated document shows publicly goes in: purpose, organising group,
//! the room's name. Never the booker (not even the masked name), contact or attendance, and
//! no reasons of revocations or cancellations.
//!
//! Feeds are served at `/calendar/<secret>.ics` (see `api/server.rs`): the secret is 128
//! random bits kept in this node's store, never replicated, and rotated with
//! `linli calendar rotate`.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use icalendar::{
    Calendar, CalendarComponent, CalendarDateTime, Component, DatePerhapsTime, Event, EventLike,
    EventStatus,
};
use linli_core::resource::{BookingStatus, BookingView, Cancellation, Decision, Resource, Verdict};
use linli_core::{DocId, Replica, Slot, Timestamp, Zone};

/// The product identifier of linli's feeds.
const PRODID: &str = "-//linli//calendar feed//ZH";

/// The feed path of a secret: `/calendar/<32 hex digits>.ics`.
pub fn feed_path(secret: &[u8; 16]) -> String {
    format!("/calendar/{}.ics", hex::encode(secret))
}

/// The secret named by the last segment of a feed path (`<32 hex digits>.ics`).
pub fn parse_feed_file(file: &str) -> Option<[u8; 16]> {
    let hexed = file.strip_suffix(".ics")?;
    let mut secret = [0u8; 16];
    hex::decode_to_slice(hexed, &mut secret).ok()?;
    Some(secret)
}

/// The local date-time of `t` in `zone`, as chrono's naive date-time.
fn local(t: Timestamp, zone: &Zone) -> Option<NaiveDateTime> {
    let (d, tm) = t.local(zone).ok()?;
    let date = NaiveDate::from_ymd_opt(i32::from(d.year()), d.month() as u32, d.day() as u32)?;
    let time = NaiveTime::from_hms_opt(tm.hour() as u32, tm.minute() as u32, tm.second() as u32)?;
    Some(NaiveDateTime::new(date, time))
}

fn zoned(t: Timestamp, zone: &Zone) -> Option<DatePerhapsTime> {
    Some(DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone {
        date_time: local(t, zone)?,
        tzid: zone.name().to_string(),
    }))
}

fn utc(t: Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(t.0)
}

/// What the feed shows of a booking: its held slot and, for a final booking, when it ended.
struct Shown {
    slot: Slot,
    /// When it was revoked or cancelled.
    ended: Option<Timestamp>,
}

/// The slot a booking holds or held, and when it was revoked or cancelled; `None` when it
/// never held the room (tentative, waitlisted, rejected, contested, or cancelled before a
/// confirmation).
fn shown(r: &Resource<'_>, b: &BookingView) -> Option<Shown> {
    let key = b.id.to_string();
    let candidates = b.request.form.candidates();
    let decisions: Vec<Decision> = r
        .document()
        .get_all::<Decision>("decisions", &key)
        .unwrap_or_default();
    match &b.status {
        BookingStatus::Confirmed { slot_index } => Some(Shown {
            slot: *candidates.get(*slot_index)?,
            ended: None,
        }),
        BookingStatus::Revoked { .. } => decisions.iter().find_map(|d| match d.verdict {
            Verdict::Revoked {
                slot_index: Some(i),
                ..
            } => Some(Shown {
                slot: *candidates.get(i)?,
                ended: Some(d.at),
            }),
            _ => None,
        }),
        BookingStatus::Cancelled { .. } => {
            let slot = decisions.iter().find_map(|d| match d.verdict {
                Verdict::Confirmed { slot_index }
                | Verdict::Revoked {
                    slot_index: Some(slot_index),
                    ..
                } => candidates.get(slot_index).copied(),
                _ => None,
            })?;
            let at = r
                .document()
                .get::<Cancellation>("cancellations", &key)
                .ok()
                .flatten()
                .map(|c| c.at)?;
            Some(Shown {
                slot,
                ended: Some(at),
            })
        }
        _ => None,
    }
}

/// The iCalendar text of resource `doc`'s feed, as of `now`. Errors name what is wrong
/// (not a resource, a time outside the calendar's range).
pub fn feed(replica: &Replica, doc: DocId, now: Timestamp) -> Result<String, String> {
    let r = replica.resource(doc).map_err(|e| e.to_string())?;
    let spec = r.spec();
    let zone = r.zone();
    let stamp = utc(now).ok_or("the clock is outside the calendar's range")?;
    let mut cal = Calendar::empty();
    cal.append_property(("VERSION", "2.0"));
    cal.append_property(("PRODID", PRODID));
    cal.append_property(("CALSCALE", "GREGORIAN"));
    cal.append_property(("METHOD", "PUBLISH"));
    cal.name(&spec.name);
    cal.timezone(zone.name());
    let mut events = Vec::new();
    let mut range: Option<(Timestamp, Timestamp)> = None;
    for b in r.bookings() {
        let Some(shown) = shown(&r, &b) else {
            continue;
        };
        let form = &b.request.form;
        // The whole weekly series: RRULE counts it, its exceptions are EXDATEs.
        let occurrences = form
            .series(&shown.slot, zone)
            .map_err(|e| format!("booking {}: {e}", b.id))?;
        let mut skipped = Vec::new();
        for o in &occurrences {
            if form
                .skips(o, zone)
                .map_err(|e| format!("booking {}: {e}", b.id))?
            {
                skipped.push(*o);
            }
        }
        let (Some(first), Some(last)) = (occurrences.first(), occurrences.last()) else {
            continue;
        };
        range = Some(match range {
            None => (first.start, last.end),
            Some((a, z)) => (a.min(first.start), z.max(last.end)),
        });
        let bad = || format!("booking {}: a time outside the calendar's range", b.id);
        let mut ev = Event::new();
        ev.uid(&format!("{}@{}.linli", b.id, doc))
            .timestamp(stamp)
            .summary(&match &form.organisation {
                Some(o) if !o.trim().is_empty() => format!("{} ({o})", form.purpose),
                _ => form.purpose.clone(),
            })
            .location(&spec.name)
            .starts(zoned(shown.slot.start, zone).ok_or_else(bad)?)
            .ends(zoned(shown.slot.end, zone).ok_or_else(bad)?);
        if occurrences.len() > 1 {
            ev.add_property("RRULE", format!("FREQ=WEEKLY;COUNT={}", occurrences.len()));
        }
        for o in &skipped {
            ev.exdate(zoned(o.start, zone).ok_or_else(bad)?);
        }
        match shown.ended {
            None => {
                ev.status(EventStatus::Confirmed).sequence(0);
            }
            Some(ended) => {
                // Occurrences that began before the revocation or cancellation took place.
                let (kept, dropped): (Vec<&Slot>, Vec<&Slot>) = occurrences
                    .iter()
                    .filter(|o| !skipped.contains(o))
                    .partition(|o| o.start < ended);
                ev.sequence(1);
                if kept.is_empty() {
                    ev.status(EventStatus::Cancelled);
                } else {
                    ev.status(EventStatus::Confirmed);
                    for o in dropped {
                        ev.exdate(zoned(o.start, zone).ok_or_else(bad)?);
                    }
                }
            }
        }
        events.push(ev.done());
    }
    if let Some((from, to)) = range {
        cal.push(timezone(zone, from, to)?);
    }
    for ev in events {
        cal.push(ev);
    }
    Ok(without_stamps_in_timezones(&cal.done().to_string()))
}

/// The crate writes a DTSTAMP and a UID into every component that lacks them, also into
/// VTIMEZONE and its observances, where RFC 5545 has neither: those lines are dropped.
fn without_stamps_in_timezones(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tz = false;
    for line in text.split_inclusive("\r\n") {
        if line.starts_with("BEGIN:VTIMEZONE") {
            in_tz = true;
        } else if line.starts_with("END:VTIMEZONE") {
            in_tz = false;
        } else if in_tz && (line.starts_with("DTSTAMP:") || line.starts_with("UID:")) {
            continue;
        }
        out.push_str(line);
    }
    out
}

/// The VTIMEZONE of `zone` covering `[from, to]`: the observance in force at `from`, then
/// one per transition up to `to` (each with its onset in local time and its offsets).
fn timezone(zone: &Zone, from: Timestamp, to: Timestamp) -> Result<CalendarComponent, String> {
    let tz = jiff::tz::db()
        .get(zone.name())
        .map_err(|e| format!("time zone {}: {e}", zone.name()))?;
    let ts = |t: Timestamp| {
        jiff::Timestamp::from_millisecond(t.0).map_err(|e| format!("a time out of range: {e}"))
    };
    let (from, to) = (ts(from)?, ts(to)?);
    // The crate builds components it has no type for (VTIMEZONE, STANDARD, DAYLIGHT) only
    // from text: a skeleton is parsed, then its properties are set through the builder.
    let skeleton = |kind: &str, prop: &str| -> Result<CalendarComponent, String> {
        format!("BEGIN:{kind}\r\n{prop}\r\nEND:{kind}\r\n").parse::<CalendarComponent>()
    };
    let CalendarComponent::Other(mut vtz) = skeleton("VTIMEZONE", "TZID:-")? else {
        return Err("VTIMEZONE did not parse as a component".into());
    };
    vtz.add_property("TZID", zone.name());
    let offset = |o: jiff::tz::Offset| {
        let s = o.seconds();
        let sign = if s < 0 { '-' } else { '+' };
        let a = s.unsigned_abs();
        if a.is_multiple_of(60) {
            format!("{sign}{:02}{:02}", a / 3600, a / 60 % 60)
        } else {
            format!("{sign}{:02}{:02}{:02}", a / 3600, a / 60 % 60, a % 60)
        }
    };
    let onset = |at: jiff::Timestamp, before: jiff::tz::Offset| {
        at.to_zoned_datetime(jiff::tz::TimeZone::fixed(before))
            .strftime("%Y%m%dT%H%M%S")
            .to_string()
    };
    let kind = |dst: bool| if dst { "DAYLIGHT" } else { "STANDARD" };
    let info = tz.to_offset_info(from);
    // The observance in force at the first event, from a day before it; then each
    // transition up to the last event.
    let before = from
        .checked_sub(jiff::SignedDuration::from_hours(24))
        .map_err(|e| e.to_string())?;
    let mut observances = vec![(
        kind(info.dst().is_dst()),
        onset(before, info.offset()),
        info.offset(),
        info.offset(),
        info.abbreviation().to_string(),
    )];
    let mut last = info.offset();
    for t in tz.following(from) {
        if t.timestamp() > to {
            break;
        }
        observances.push((
            kind(t.dst().is_dst()),
            onset(t.timestamp(), last),
            last,
            t.offset(),
            t.abbreviation().to_string(),
        ));
        last = t.offset();
    }
    for (kind, start, from_off, to_off, name) in observances {
        let CalendarComponent::Other(mut o) = skeleton(kind, "DTSTART:19700101T000000")? else {
            return Err(format!("{kind} did not parse as a component"));
        };
        o.add_property("DTSTART", start);
        o.add_property("TZOFFSETFROM", offset(from_off));
        o.add_property("TZOFFSETTO", offset(to_off));
        if !name.is_empty() {
            o.add_property("TZNAME", name);
        }
        vtz.append_component(o);
    }
    Ok(CalendarComponent::Other(vtz))
}
