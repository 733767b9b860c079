//! The `unit_service` example (a co-building unit's service embedding linli), run through
//! its own logic: the unit's rule, and the whole story on loopback, checked on the
//! *requesting* node after sync.

#[path = "../../examples/unit_service/logic.rs"]
mod logic;

use jiff::civil::{Time, date, time};
use linli::core::resource::{BookingForm, BookingStatus, BookingView};
use linli::core::{Slot, Zone};

use logic::{HouseRule, Outcome, Scratch};

fn form(day: jiff::civil::Date, from: Time, to: Time, attendees: u32) -> BookingForm {
    let slot = Slot::local(day, from, to, &Zone::shanghai()).unwrap();
    BookingForm::new("Wang Fang", "calligraphy class", slot, attendees)
}

#[test]
fn the_house_rule_judges_attendees_and_staff_hours() {
    let rule = HouseRule::state_grid();
    let zone = Zone::shanghai();
    let wednesday = date(2026, 12, 2);
    let h = |hh: i8, mm: i8| time(hh, mm, 0, 0);

    assert_eq!(
        rule.judge(&form(wednesday, h(14, 0), h(16, 0), 20), &zone),
        Ok(())
    );
    // The edges of the staff hours and of the attendee limit are inside.
    assert_eq!(
        rule.judge(&form(wednesday, h(9, 0), h(18, 0), 30), &zone),
        Ok(())
    );

    let too_many = rule.judge(&form(wednesday, h(14, 0), h(16, 0), 31), &zone);
    assert_eq!(
        too_many.unwrap_err(),
        "31 attendees, but the unit's staff supervise at most 30 in this room"
    );
    let evening = rule
        .judge(&form(wednesday, h(17, 0), h(19, 0), 10), &zone)
        .unwrap_err();
    assert!(
        evening.contains("17:00–19:00 is outside the unit's staff hours (Mon–Fri 09:00–18:00)"),
        "{evening}"
    );
    let saturday = rule
        .judge(&form(date(2026, 12, 5), h(10, 0), h(12, 0), 10), &zone)
        .unwrap_err();
    assert!(saturday.contains("2026-12-05 10:00–12:00"), "{saturday}");
    // Any candidate the arbiter might confirm must be staffed, alternates included.
    let alternate = Slot::local(wednesday, h(19, 0), h(20, 0), &zone).unwrap();
    let with_alt = form(wednesday, h(14, 0), h(16, 0), 10).with_alternates(vec![alternate]);
    assert!(rule.judge(&with_alt, &zone).is_err());
}

fn status_of<'a>(out: &'a Outcome, purpose: &str) -> &'a BookingStatus {
    let b: &BookingView = out
        .requests
        .iter()
        .find(|b| b.request.form.purpose == purpose)
        .unwrap_or_else(|| panic!("no request {purpose:?} in {:?}", out.requests));
    &b.status
}

fn rejection<'a>(out: &'a Outcome, purpose: &str) -> &'a str {
    match status_of(out, purpose) {
        BookingStatus::Rejected { reason } => reason,
        other => panic!("{purpose}: expected a rejection, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unit_confirms_within_its_rule_and_rejects_the_rest_with_reasons_seen_by_the_requester()
{
    let out = logic::run(None).await.unwrap();
    assert!(out.fresh);
    assert_eq!(out.requests.len(), 3, "{:?}", out.requests);
    assert_eq!(
        status_of(&out, "elders' calligraphy class"),
        &BookingStatus::Confirmed { slot_index: 0 }
    );
    assert_eq!(
        rejection(&out, "New Year gala rehearsal"),
        "45 attendees, but the unit's staff supervise at most 30 in this room"
    );
    let evening = rejection(&out, "evening choir practice");
    assert!(
        evening.ends_with("19:00–20:30 is outside the unit's staff hours (Mon–Fri 09:00–18:00)"),
        "{evening}"
    );
    // The service decided exactly these three, once each, and the requester sees what it
    // decided: the confirmed slot, or the rejection's reason.
    assert_eq!(out.decided.len(), 3, "{:?}", out.decided);
    for b in &out.requests {
        let d = out
            .decided
            .iter()
            .find(|d| d.booking == b.id)
            .unwrap_or_else(|| panic!("{} was not decided by the service", b.id));
        match (&d.outcome, &b.status) {
            (Ok(slot), BookingStatus::Confirmed { .. }) => {
                assert_eq!(Some(*slot), b.confirmed_slot())
            }
            (Err(why), BookingStatus::Rejected { reason }) => assert_eq!(why, reason),
            other => panic!("{}: service and requester disagree: {other:?}", b.id),
        }
    }
    logic::print_answers(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_unit_keeps_its_key_and_room_and_rejects_a_taken_slot_with_the_reason() {
    let keep = Scratch::new("unit-service-test").unwrap();
    let dir = keep.path().join("unit");
    let first = logic::run(Some(dir.clone())).await.unwrap();
    let second = logic::run(Some(dir)).await.unwrap();
    assert!(first.fresh && !second.fresh);
    assert_eq!(first.unit, second.unit, "the unit keeps its own key");
    assert_eq!(
        first.room, second.room,
        "the unit serves the room it published"
    );
    // The same requests again: the slot confirmed in the first run is taken, and the
    // rejection carries linli-core's reason.
    let taken = rejection(&second, "elders' calligraphy class");
    assert!(
        taken.starts_with("cannot be confirmed:") && taken.contains("overlaps"),
        "{taken}"
    );
    assert!(rejection(&second, "New Year gala rehearsal").contains("at most 30"));
    assert_eq!(second.decided.len(), 3);
}
