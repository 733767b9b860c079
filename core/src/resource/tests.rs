use jiff::civil::Time;

use super::*;
use crate::document::DocKind;
use crate::ids::DocId;
use crate::replica::{Error, NewDoc, Op, Replica};
use crate::testutil::{date, org, replica, scope, send, sync, t};
use crate::time::{TimeError, Timestamp};

mod kitchen;
mod props;

const OWNER: &str = "dianye";

fn hm(h: i8, m: i8) -> Time {
    Time::new(h, m, 0, 0).unwrap()
}

/// A slot on a local date in Asia/Shanghai, e.g. `slot("2026-11-26", "19:00", "21:00")`.
fn slot(day: &str, from: &str, to: &str) -> Slot {
    Slot::new(
        t(&format!("{day}T{from}:00+08:00")),
        t(&format!("{day}T{to}:00+08:00")),
    )
    .unwrap()
}

/// The writers' clock in most tests: Friday 2026-11-20 09:00 in Shanghai.
fn now() -> Timestamp {
    t("2026-11-20T09:00:00+08:00")
}

fn room() -> ResourceSpec {
    ResourceSpec::room("Dianye activity room", 30)
}

/// The owner's replica with a new resource.
fn setup(spec: ResourceSpec) -> (Replica, DocId) {
    let mut owner = replica(OWNER, 1);
    let doc = owner
        .create(
            NewDoc::Resource {
                street: org("beishi"),
                community: Some(org(OWNER)),
                spec,
            },
            now(),
        )
        .unwrap()
        .doc;
    (owner, doc)
}

/// A replica of another organisation holding the document.
fn joined(from: &Replica, o: &str, n: u8) -> Replica {
    let mut r = replica(o, n);
    send(from, &mut r);
    r
}

fn exec(r: &mut Replica, doc: DocId, op: ResourceOp, at: Timestamp) -> Effect {
    r.execute(doc, Op::Resource(op), at).unwrap().effect
}

/// Runs an operation that must fail; checks that the document did not change.
fn fail(r: &mut Replica, doc: DocId, op: ResourceOp, at: Timestamp) -> ResourceError {
    let heads = r.doc(doc).unwrap().heads();
    let err = r.execute(doc, Op::Resource(op), at).unwrap_err();
    assert_eq!(
        r.doc(doc).unwrap().heads(),
        heads,
        "a failed op changed the document"
    );
    match err {
        Error::Resource(e) => e,
        other => panic!("expected a resource error, got {other}"),
    }
}

fn request(r: &mut Replica, doc: DocId, form: BookingForm) -> BookingId {
    match exec(r, doc, ResourceOp::Request(form), now()) {
        Effect::Booking(id) => id,
        e => panic!("unexpected effect {e:?}"),
    }
}

fn form(s: Slot) -> BookingForm {
    BookingForm::new("Wang Fang", "reading club", s, 12).with_contact("139 0000 0000")
}

fn confirm(r: &mut Replica, doc: DocId, b: &BookingId) -> (usize, Slot) {
    match exec(r, doc, ResourceOp::Confirm { booking: b.clone() }, now()) {
        Effect::Confirmed {
            booking,
            slot_index,
            slot,
        } => {
            assert_eq!(&booking, b);
            (slot_index, slot)
        }
        e => panic!("unexpected effect {e:?}"),
    }
}

fn status(r: &Replica, doc: DocId, b: &BookingId) -> BookingStatus {
    r.resource(doc).unwrap().status(b).unwrap().clone()
}

fn thursday() -> Slot {
    slot("2026-11-26", "19:00", "21:00")
}

// ---- specification and record schema ------------------------------------------------------

#[test]
fn the_owner_changes_the_rules_and_new_requests_follow_them() {
    let (mut owner, doc) = setup(room());
    let before = request(&mut owner, doc, form(thursday()));
    // Thursday evenings close; a blackout date is added.
    let mut spec = room();
    spec.opening = vec![WeeklyBlock::new(&[1, 2, 3, 5, 6, 7], hm(8, 0), hm(21, 0))];
    spec.blackout = vec![date(2026, 11, 24)];
    spec.capacity = 20;
    exec(
        &mut owner,
        doc,
        ResourceOp::SetSpec { spec: spec.clone() },
        now(),
    );
    assert_eq!(owner.resource(doc).unwrap().spec(), &spec);
    // The request made before stands; a new one on Thursday evening is outside the hours.
    assert!(owner.resource(doc).unwrap().status(&before).is_some());
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Request(form(thursday())),
        now(),
    );
    assert!(
        matches!(e, ResourceError::OutsideOpeningHours { .. }),
        "{e}"
    );
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Request(form(slot("2026-11-24", "19:00", "20:00"))),
        now(),
    );
    assert!(matches!(e, ResourceError::Blackout { .. }), "{e}");
    // Another replica receives the rules with the change (the owner writes `meta`).
    let mut other = joined(&owner, "hongqi", 2);
    assert_eq!(other.resource(doc).unwrap().spec(), &spec);
    // Only the owner changes them; the kind and the zone stay; an invalid spec is refused.
    let e = fail(&mut other, doc, ResourceOp::SetSpec { spec: room() }, now());
    assert!(matches!(e, ResourceError::NotAllowed { .. }), "{e}");
    let mut hall = spec.clone();
    hall.kind = ResourceKind::Hall;
    let e = fail(&mut owner, doc, ResourceOp::SetSpec { spec: hall }, now());
    assert!(e.to_string().contains("kind stays"), "{e}");
    let mut berlin = spec.clone();
    berlin.zone = Zone::new("Europe/Berlin").unwrap();
    let e = fail(&mut owner, doc, ResourceOp::SetSpec { spec: berlin }, now());
    assert!(
        e.to_string().contains("time zone stays Asia/Shanghai"),
        "{e}"
    );
    let mut empty = spec;
    empty.name = " ".into();
    let e = fail(&mut owner, doc, ResourceOp::SetSpec { spec: empty }, now());
    assert!(matches!(e, ResourceError::InvalidSpec(_)), "{e}");
}

#[test]
fn spec_validation_names_the_problem() {
    assert_eq!(room().validate(), Ok(()));
    assert_eq!(ResourceSpec::kitchen("Canteen", 40, 140).validate(), Ok(()));
    let cases: Vec<(ResourceSpec, &str)> = vec![
        (
            ResourceSpec {
                capacity: 0,
                ..room()
            },
            "capacity must be at least 1 person (got 0)",
        ),
        (
            ResourceSpec {
                name: " ".into(),
                ..room()
            },
            "name is empty",
        ),
        (
            ResourceSpec {
                opening: vec![],
                ..room()
            },
            "no opening hours",
        ),
        (
            ResourceSpec {
                opening: vec![WeeklyBlock::new(&[1], hm(21, 0), hm(8, 0))],
                ..room()
            },
            "opens at 21:00 but closes at 08:00",
        ),
        (
            ResourceSpec {
                opening: vec![WeeklyBlock::new(&[8], hm(8, 0), hm(9, 0))],
                ..room()
            },
            "weekday 8 is not 1 (Monday) to 7 (Sunday)",
        ),
        (
            ResourceSpec {
                max_minutes: 0,
                ..room()
            },
            "maximum duration",
        ),
        (
            ResourceSpec {
                area_m2: Some(0),
                ..room()
            },
            "area",
        ),
        (
            ResourceSpec {
                kitchen: Some(KitchenSpec::dinner(0)),
                ..room()
            },
            "daily capacity must be at least 1 portion",
        ),
    ];
    for (spec, text) in cases {
        let err = spec.validate().unwrap_err();
        assert!(matches!(err, ResourceError::InvalidSpec(_)), "{err}");
        assert!(err.to_string().contains(text), "{err} lacks {text:?}");
    }
    // The replica refuses to create a resource with an invalid spec.
    let mut r = replica(OWNER, 1);
    let err = r
        .create(
            NewDoc::Resource {
                street: org("beishi"),
                community: None,
                spec: ResourceSpec {
                    capacity: 0,
                    ..room()
                },
            },
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Resource(ResourceError::InvalidSpec(_))),
        "{err}"
    );
    assert!(r.ids_of(crate::DocKind::Resource).is_empty());
}

#[test]
fn spec_round_trips_and_is_readable_from_the_document() {
    let spec = ResourceSpec {
        area_m2: Some(565),
        blackout: vec![date(2026, 10, 1)],
        rules: vec!["no fundraising".into()],
        ..room()
    };
    let json = serde_json::to_string(&spec).unwrap();
    assert_eq!(serde_json::from_str::<ResourceSpec>(&json).unwrap(), spec);
    let (owner, doc) = setup(spec.clone());
    let r = owner.resource(doc).unwrap();
    assert_eq!(r.spec(), &spec);
    assert_eq!(r.owner(), &org(OWNER));
    assert_eq!(owner.doc(doc).unwrap().kind(), DocKind::Resource);
    assert_eq!(spec.opening_text(), "Mon–Sun 08:00–21:00");
    let b = WeeklyBlock::new(&[2, 4, 6, 7], hm(19, 0), hm(21, 30));
    assert_eq!(b.to_string(), "Tue, Thu, Sat, Sun 19:00–21:30");
}

#[test]
fn check_record_refuses_wrong_keys_maps_and_values() {
    let req = BookingRequest {
        form: BookingForm::new("W. F.", "reading club", thursday(), 12),
        requested_at: now(),
        by: scope("club"),
    };
    let good = serde_json::to_string(&req).unwrap();
    assert_eq!(check_record("requests", "club:1", &good), Ok(()));
    assert!(check_record("requests", "club", &good).is_err());
    assert!(check_record("requests", "club:1/x:2", &good).is_err());
    assert!(check_record("nope", "club:1", &good).is_err());
    assert!(check_record("decisions", "club:1", &good).is_err());
    let empty_booker = BookingRequest {
        form: BookingForm {
            booker: "".into(),
            ..form(thursday())
        },
        ..req.clone()
    };
    let bad = serde_json::to_string(&empty_booker).unwrap();
    assert!(
        check_record("requests", "club:1", &bad)
            .unwrap_err()
            .contains("booker")
    );
    // Personal data never sits in a document: a full name, a contact or a full household
    // in a received change is refused (crate::personal).
    for form in [
        BookingForm::new("Wang Fang", "reading club", thursday(), 12),
        BookingForm::new("W. F.", "reading club", thursday(), 12).with_contact("13900000000"),
        BookingForm::new("王芳", "reading club", thursday(), 12),
    ] {
        let leaky = BookingRequest {
            form,
            ..req.clone()
        };
        let e = check_record(
            "requests",
            "club:1",
            &serde_json::to_string(&leaky).unwrap(),
        )
        .unwrap_err();
        assert!(e.contains("contact") || e.contains("masked"), "{e}");
    }
    let masked = BookingRequest {
        form: BookingForm::new("王*", "reading club", thursday(), 12),
        ..req.clone()
    };
    let masked = serde_json::to_string(&masked).unwrap();
    assert_eq!(check_record("requests", "club:1", &masked), Ok(()));
    let order = |household: &str| {
        serde_json::to_string(&crate::resource::Order {
            household: household.into(),
            date: jiff::civil::date(2026, 11, 26),
            portions: 1,
            items: vec![],
            placed_at: now(),
            by: scope("club"),
        })
        .unwrap()
    };
    assert_eq!(check_record("orders", "club:1", &order("3-*-*")), Ok(()));
    assert!(
        check_record("orders", "club:1", &order("3-2-401"))
            .unwrap_err()
            .contains("masked")
    );
    let spec = serde_json::to_string(&room()).unwrap();
    assert_eq!(check_record("meta", "spec", &spec), Ok(()));
    assert!(check_record("meta", "other", &spec).is_err());
    let zero = serde_json::to_string(&ResourceSpec {
        capacity: 0,
        ..room()
    })
    .unwrap();
    assert!(check_record("meta", "spec", &zero).is_err());
    let deleg = Delegation {
        delegate: scope("choir"),
        block: WeeklyBlock::new(&[], hm(8, 0), hm(9, 0)),
        at: now(),
    };
    let deleg = serde_json::to_string(&deleg).unwrap();
    assert!(check_record("delegations", "dianye:1", &deleg).is_err());
    let d = Decision {
        verdict: Verdict::Waitlisted,
        by: scope(OWNER),
        at: now(),
    };
    assert_eq!(
        check_record("decisions", "club:1", &serde_json::to_string(&d).unwrap()),
        Ok(())
    );
    let bar = Bar {
        who: Barred::Org(scope("troupe")),
        reason: "x".into(),
        at: now(),
    };
    let bar = serde_json::to_string(&bar).unwrap();
    assert_eq!(check_record("bars", "dianye:1", &bar), Ok(()));
    // A bar is not a cancellation even though it has a reason and a time.
    assert!(check_record("cancellations", "club:1", &bar).is_err());
    for map in MAPS {
        assert!(check_record(map, "club:1", "not json").is_err(), "{map}");
    }
}

#[test]
fn malformed_remote_records_are_refused_and_a_missing_spec_is_an_error() {
    let (mut owner, doc) = setup(room());
    let mut forged = owner.doc(doc).unwrap().clone();
    forged.set_author(&crate::testutil::author("club", 2));
    let heads = owner.doc(doc).unwrap().heads();
    for (map, key, value) in [
        ("requests", "club:1", "\"garbage\"".to_string()),
        (
            "requests",
            "club",
            serde_json::to_string(&BookingRequest {
                form: form(thursday()),
                requested_at: now(),
                by: scope("club"),
            })
            .unwrap(),
        ),
        (
            "meta",
            "spec",
            serde_json::to_string(&ResourceSpec {
                capacity: 0,
                ..room()
            })
            .unwrap(),
        ),
    ] {
        let put = crate::document::Put {
            map: if map == "meta" { "meta" } else { "requests" },
            key: key.into(),
            value,
        };
        let change = forged.clone().commit(now(), "forged", &[put]).unwrap();
        let signed = crate::signed::SignedChange::sign(
            &crate::testutil::key("club", 2),
            doc,
            change.raw_bytes(),
        )
        .unwrap();
        let err = owner.apply(signed).unwrap_err();
        assert!(
            matches!(&err, Error::Rejected(r) if matches!(r.reason, crate::replica::RejectReason::Layout(crate::document::DocError::BadShape { .. }))),
            "{err}"
        );
        assert_eq!(owner.doc(doc).unwrap().heads(), heads);
    }
    // A resource document without its spec cannot be read.
    let header = owner.doc(doc).unwrap().header().clone();
    let (bare, _) =
        crate::document::Document::create(owner.author(), header, &[], crate::kinds::layout)
            .unwrap();
    assert_eq!(
        Resource::new(&bare).unwrap_err(),
        ResourceError::MissingSpec
    );
}

// ---- requests ---------------------------------------------------------------------------

#[test]
fn requests_are_tentative_and_numbered_per_organisation() {
    let (owner, doc) = setup(room());
    let mut club = joined(&owner, "club", 2);
    let a = request(
        &mut club,
        doc,
        form(thursday()).with_organisation("Dianye reading club"),
    );
    let b = request(&mut club, doc, form(slot("2026-11-27", "09:00", "10:00")));
    let club_id = crate::testutil::writer("club", 2);
    assert_eq!(a, format!("{club_id}:1").parse().unwrap());
    assert_eq!(b, format!("{club_id}:2").parse().unwrap());
    let r = club.resource(doc).unwrap();
    assert_eq!(r.status(&a), Some(&BookingStatus::Tentative));
    let v = r.booking(&a).unwrap();
    assert_eq!(v.request.requested_at, now());
    assert_eq!(
        v.request.form.organisation.as_deref(),
        Some("Dianye reading club")
    );
    assert_eq!(v.confirmed_slot(), None);
    assert_eq!(r.bookings().len(), 2);
}

#[test]
fn request_side_checks_give_early_typed_errors() {
    let spec = ResourceSpec {
        opening: vec![WeeklyBlock::new(&[1, 2, 3, 4, 5], hm(8, 0), hm(21, 0))],
        blackout: vec![date(2026, 12, 1)],
        ..room()
    };
    let (owner, doc) = setup(spec);
    let mut c = joined(&owner, "club", 2);
    let ok = form(thursday());
    let e = fail(
        &mut c,
        doc,
        ResourceOp::Request(BookingForm {
            booker: " ".into(),
            ..ok.clone()
        }),
        now(),
    );
    assert_eq!(e, ResourceError::EmptyField { field: "booker" });
    let e = fail(
        &mut c,
        doc,
        ResourceOp::Request(BookingForm {
            purpose: "".into(),
            ..ok.clone()
        }),
        now(),
    );
    assert_eq!(e, ResourceError::EmptyField { field: "purpose" });
    let e = fail(
        &mut c,
        doc,
        ResourceOp::Request(BookingForm {
            attendees: 0,
            ..ok.clone()
        }),
        now(),
    );
    assert_eq!(e, ResourceError::NoAttendees);
    let e = fail(
        &mut c,
        doc,
        ResourceOp::Request(BookingForm {
            attendees: 31,
            ..ok.clone()
        }),
        now(),
    );
    assert_eq!(
        e,
        ResourceError::OverCapacity {
            attendees: 31,
            capacity: 30
        }
    );
    assert_eq!(
        e.to_string(),
        "31 attendees exceed the capacity of 30 persons"
    );
    let backwards = Slot {
        start: thursday().end,
        end: thursday().start,
    };
    let e = fail(&mut c, doc, ResourceOp::Request(form(backwards)), now());
    assert!(
        matches!(e, ResourceError::Time(TimeError::EndBeforeStart { .. })),
        "{e}"
    );
    let e = fail(
        &mut c,
        doc,
        ResourceOp::Request(form(slot("2026-11-26", "22:00", "23:00"))),
        now(),
    );
    assert!(
        matches!(e, ResourceError::OutsideOpeningHours { .. }),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "slot 2026-11-26 22:00–23:00 is outside opening hours (Mon–Fri 08:00–21:00)"
    );
    // Saturday is closed; a slot running past closing time is outside too.
    let e = fail(
        &mut c,
        doc,
        ResourceOp::Request(form(slot("2026-11-28", "09:00", "10:00"))),
        now(),
    );
    assert!(
        matches!(e, ResourceError::OutsideOpeningHours { .. }),
        "{e}"
    );
    let e = fail(
        &mut c,
        doc,
        ResourceOp::Request(form(slot("2026-11-26", "20:00", "21:30"))),
        now(),
    );
    assert!(
        matches!(e, ResourceError::OutsideOpeningHours { .. }),
        "{e}"
    );
    let e = fail(
        &mut c,
        doc,
        ResourceOp::Request(form(slot("2026-12-01", "09:00", "10:00"))),
        now(),
    );
    assert_eq!(
        e,
        ResourceError::Blackout {
            slot: "2026-12-01 09:00–10:00".into(),
            date: date(2026, 12, 1)
        }
    );
    let e = fail(
        &mut c,
        doc,
        ResourceOp::Request(form(slot("2026-11-26", "08:00", "12:30"))),
        now(),
    );
    assert_eq!(
        e,
        ResourceError::TooLong {
            slot: "2026-11-26 08:00–12:30".into(),
            minutes: 270,
            max: 240
        }
    );
    let e = fail(
        &mut c,
        doc,
        ResourceOp::Request(form(thursday())),
        t("2026-11-26T18:30:00+08:00"),
    );
    assert!(
        matches!(
            e,
            ResourceError::LeadTime {
                lead_minutes: 60,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "slot 2026-11-26 19:00–21:00 starts less than 60 minutes after now (2026-11-26 18:30)"
    );
    let many = ok.clone().with_alternates(vec![thursday(); 6]);
    let e = fail(&mut c, doc, ResourceOp::Request(many), now());
    assert_eq!(e, ResourceError::TooManyAlternates { count: 6, max: 5 });
    for weeks in [0, 53] {
        let e = fail(
            &mut c,
            doc,
            ResourceOp::Request(ok.clone().weekly(weeks)),
            now(),
        );
        assert_eq!(e, ResourceError::BadRecurrence { weeks });
    }
    // Alternates are checked too; a recurrence that reaches a blackout date is refused.
    let bad_alt = ok
        .clone()
        .with_alternates(vec![slot("2026-11-28", "09:00", "10:00")]);
    let e = fail(&mut c, doc, ResourceOp::Request(bad_alt), now());
    assert!(
        matches!(e, ResourceError::OutsideOpeningHours { .. }),
        "{e}"
    );
    let tuesdays = form(slot("2026-11-24", "19:00", "20:00")).weekly(2);
    let e = fail(&mut c, doc, ResourceOp::Request(tuesdays), now());
    assert!(matches!(e, ResourceError::Blackout { .. }), "{e}");
    assert!(c.resource(doc).unwrap().bookings().is_empty());
}

// ---- confirmations ------------------------------------------------------------------------

#[test]
fn disconnected_requests_for_one_slot_merge_and_the_owner_confirms_one() {
    let (mut owner, doc) = setup(room());
    let mut club = joined(&owner, "club", 2);
    let mut choir = joined(&owner, "choir", 3);
    // Both ask for Thursday evening while disconnected; the choir names an alternate.
    let a = request(&mut club, doc, form(thursday()));
    let alt = slot("2026-11-27", "19:00", "21:00");
    let b = request(
        &mut choir,
        doc,
        BookingForm::new("Li Na", "choir practice", thursday(), 20).with_alternates(vec![alt]),
    );
    send(&club, &mut owner);
    send(&choir, &mut owner);
    assert_eq!(owner.resource(doc).unwrap().bookings().len(), 2);
    assert_eq!(confirm(&mut owner, doc, &a), (0, thursday()));
    assert_eq!(confirm(&mut owner, doc, &b), (1, alt));
    for r in [&mut club, &mut choir] {
        sync(&mut owner, r);
    }
    for r in [&owner, &club, &choir] {
        let view = r.resource(doc).unwrap();
        assert_eq!(
            view.status(&a),
            Some(&BookingStatus::Confirmed { slot_index: 0 })
        );
        assert_eq!(
            view.status(&b),
            Some(&BookingStatus::Confirmed { slot_index: 1 })
        );
        assert_eq!(view.booking(&b).unwrap().confirmed_slot(), Some(alt));
        assert_eq!(
            view.confirmed_occurrences(),
            vec![(a.clone(), thursday()), (b.clone(), alt)]
        );
        view.check_invariants().unwrap();
        assert_eq!(r.doc(doc).unwrap().heads(), owner.doc(doc).unwrap().heads());
    }
}

#[test]
fn confirmation_errors_are_typed_and_change_nothing() {
    let (mut owner, doc) = setup(room());
    let mut club = joined(&owner, "club", 2);
    let a = request(&mut club, doc, form(thursday()));
    let b = request(&mut club, doc, form(slot("2026-11-26", "20:00", "21:00")));
    let c = request(
        &mut club,
        doc,
        form(slot("2026-11-26", "18:00", "20:00")).with_alternates(vec![slot(
            "2026-11-26",
            "20:30",
            "21:00",
        )]),
    );
    send(&club, &mut owner);
    let ghost: BookingId = "club:99".parse().unwrap();
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Confirm {
            booking: ghost.clone(),
        },
        now(),
    );
    assert_eq!(e, ResourceError::UnknownBooking(ghost));
    // Only the arbiter confirms.
    let e = fail(
        &mut club,
        doc,
        ResourceOp::Confirm { booking: a.clone() },
        now(),
    );
    assert_eq!(
        e,
        ResourceError::NotArbiter {
            who: scope("club"),
            slot: "2026-11-26 19:00–21:00".into(),
            arbiter: "its arbiter is beishi/dianye".into()
        }
    );
    // The arbiter's clock decides the lead time.
    let late = t("2026-11-26T18:30:00+08:00");
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Confirm { booking: a.clone() },
        late,
    );
    assert!(matches!(e, ResourceError::LeadTime { .. }), "{e}");
    confirm(&mut owner, doc, &a);
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Confirm { booking: a.clone() },
        now(),
    );
    assert_eq!(
        e,
        ResourceError::WrongStatus {
            booking: a.clone(),
            action: "confirm",
            status: "confirmed"
        }
    );
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Confirm { booking: b.clone() },
        now(),
    );
    assert_eq!(
        e,
        ResourceError::Overlap {
            slot: "2026-11-26 20:00–21:00".into(),
            other: a.clone(),
            other_slot: "2026-11-26 19:00–21:00".into()
        }
    );
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Confirm { booking: c.clone() },
        now(),
    );
    let ResourceError::NoCandidateFits { booking, failures } = &e else {
        panic!("{e}")
    };
    assert_eq!(booking, &c);
    assert_eq!(failures.len(), 2);
    assert!(
        failures
            .iter()
            .all(|(_, f)| matches!(f, ResourceError::Overlap { .. }))
    );
    assert!(
        e.to_string()
            .contains("requested slot: slot 2026-11-26 18:00–20:00 overlaps"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("alternate 1: slot 2026-11-26 20:30–21:00 overlaps"),
        "{e}"
    );
    owner.resource(doc).unwrap().check_invariants().unwrap();
}

#[test]
fn reject_and_waitlist_follow_the_status_rules() {
    let (mut owner, doc) = setup(room());
    let mut club = joined(&owner, "club", 2);
    let a = request(&mut club, doc, form(thursday()));
    let b = request(&mut club, doc, form(slot("2026-11-27", "19:00", "21:00")));
    send(&club, &mut owner);
    let reject = |booking: &BookingId, reason: &str| ResourceOp::Reject {
        booking: booking.clone(),
        reason: reason.into(),
    };
    assert_eq!(
        fail(&mut owner, doc, reject(&a, " "), now()),
        ResourceError::EmptyField { field: "reason" }
    );
    let e = fail(&mut club, doc, reject(&a, "no"), now());
    assert!(matches!(e, ResourceError::NotArbiter { .. }), "{e}");
    exec(
        &mut owner,
        doc,
        reject(&a, "the room is being painted"),
        now(),
    );
    assert_eq!(
        status(&owner, doc, &a),
        BookingStatus::Rejected {
            reason: "the room is being painted".into()
        }
    );
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Confirm { booking: a.clone() },
        now(),
    );
    assert!(
        matches!(
            e,
            ResourceError::WrongStatus {
                status: "rejected",
                ..
            }
        ),
        "{e}"
    );
    exec(
        &mut owner,
        doc,
        ResourceOp::Waitlist { booking: b.clone() },
        now(),
    );
    assert_eq!(status(&owner, doc, &b), BookingStatus::Waitlisted);
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Waitlist { booking: b.clone() },
        now(),
    );
    assert!(
        matches!(
            e,
            ResourceError::WrongStatus {
                action: "waitlist",
                ..
            }
        ),
        "{e}"
    );
    // A waitlisted booking can still be confirmed or rejected directly.
    confirm(&mut owner, doc, &b);
    assert_eq!(
        status(&owner, doc, &b),
        BookingStatus::Confirmed { slot_index: 0 }
    );
}

#[test]
fn revocation_is_final_and_frees_the_slot() {
    let (mut owner, doc) = setup(room());
    let mut troupe = joined(&owner, "troupe", 2);
    let mut club = joined(&owner, "club", 3);
    let a = request(
        &mut troupe,
        doc,
        BookingForm::new("Zhao Lei", "opera rehearsal", thursday(), 15),
    );
    let b = request(&mut club, doc, form(thursday()));
    send(&troupe, &mut owner);
    send(&club, &mut owner);
    let revoke = |reason: &str| ResourceOp::Revoke {
        booking: a.clone(),
        reason: reason.into(),
    };
    let e = fail(&mut owner, doc, revoke("x"), now());
    assert!(
        matches!(
            e,
            ResourceError::WrongStatus {
                action: "revoke",
                status: "tentative",
                ..
            }
        ),
        "{e}"
    );
    confirm(&mut owner, doc, &a);
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Confirm { booking: b.clone() },
        now(),
    );
    assert!(matches!(e, ResourceError::Overlap { .. }), "{e}");
    send(&owner, &mut club);
    let e = fail(&mut club, doc, revoke("mine"), now());
    assert!(matches!(e, ResourceError::NotArbiter { .. }), "{e}");
    exec(
        &mut owner,
        doc,
        revoke("illegal fundraising during rehearsals"),
        now(),
    );
    assert_eq!(
        status(&owner, doc, &a),
        BookingStatus::Revoked {
            reason: "illegal fundraising during rehearsals".into()
        }
    );
    for op in [
        revoke("again"),
        ResourceOp::Confirm { booking: a.clone() },
        ResourceOp::Waitlist { booking: a.clone() },
    ] {
        let e = fail(&mut owner, doc, op, now());
        assert_eq!(
            e,
            ResourceError::Final {
                booking: a.clone(),
                status: "revoked"
            }
        );
    }
    sync(&mut owner, &mut troupe);
    let e = fail(
        &mut troupe,
        doc,
        ResourceOp::Cancel {
            booking: a.clone(),
            reason: "".into(),
        },
        now(),
    );
    assert_eq!(
        e,
        ResourceError::Final {
            booking: a.clone(),
            status: "revoked"
        }
    );
    assert_eq!(confirm(&mut owner, doc, &b), (0, thursday()));
    owner.resource(doc).unwrap().check_invariants().unwrap();
}

#[test]
fn cancellation_beats_a_concurrent_confirmation() {
    let (mut owner, doc) = setup(room());
    let mut club = joined(&owner, "club", 2);
    let mut other = joined(&owner, "choir", 3);
    let a = request(&mut club, doc, form(thursday()));
    send(&club, &mut owner);
    send(&club, &mut other);
    let cancel = ResourceOp::Cancel {
        booking: a.clone(),
        reason: "the teacher is ill".into(),
    };
    let e = fail(&mut other, doc, cancel.clone(), now());
    assert!(matches!(e, ResourceError::NotAllowed { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "beishi/dianye/choir may not cancel booking {a}: only the requesting organisation beishi/dianye/club may"
        )
    );
    // Concurrently: the owner confirms, the club cancels.
    confirm(&mut owner, doc, &a);
    exec(&mut club, doc, cancel.clone(), now());
    sync(&mut owner, &mut club);
    for r in [&owner, &club] {
        let view = r.resource(doc).unwrap();
        assert_eq!(
            view.status(&a),
            Some(&BookingStatus::Cancelled {
                reason: "the teacher is ill".into()
            })
        );
        assert!(view.confirmed_occurrences().is_empty());
    }
    let e = fail(&mut club, doc, cancel, now());
    assert_eq!(
        e,
        ResourceError::Final {
            booking: a.clone(),
            status: "cancelled"
        }
    );
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Revoke {
            booking: a.clone(),
            reason: "x".into(),
        },
        now(),
    );
    assert_eq!(
        e,
        ResourceError::Final {
            booking: a,
            status: "cancelled"
        }
    );
}

#[test]
fn revocation_beats_concurrent_decisions_in_the_merge_rule() {
    let dec = |verdict: Verdict| Decision {
        verdict,
        by: scope(OWNER),
        at: now(),
    };
    let revoked = dec(Verdict::Revoked {
        reason: "misuse".into(),
        slot_index: Some(0),
    });
    let confirmed = dec(Verdict::Confirmed { slot_index: 1 });
    assert_eq!(
        merged_status(&[revoked.clone(), confirmed.clone()], None),
        BookingStatus::Revoked {
            reason: "misuse".into()
        }
    );
    assert_eq!(
        merged_status(std::slice::from_ref(&confirmed), None),
        BookingStatus::Confirmed { slot_index: 1 }
    );
    assert_eq!(merged_status(&[], None), BookingStatus::Tentative);
    let c = Cancellation {
        reason: "".into(),
        at: now(),
    };
    assert_eq!(
        merged_status(&[revoked, confirmed], Some(&c)),
        BookingStatus::Cancelled { reason: "".into() }
    );
}

#[test]
fn concurrent_confirmations_by_two_nodes_of_the_owner_show_as_contested() {
    // Two nodes acting for the same owner break the single-arbiter assumption; the
    // derivation keeps the earlier confirmation and shows the later one as contested.
    let (mut owner, doc) = setup(room());
    let mut twin = joined(&owner, OWNER, 9);
    let mut club = joined(&owner, "club", 2);
    let early = slot("2026-11-26", "19:00", "20:30");
    let a = request(&mut club, doc, form(early));
    let b = request(&mut club, doc, form(slot("2026-11-26", "20:00", "21:00")));
    let c = request(&mut club, doc, form(slot("2026-11-26", "20:30", "21:00")));
    send(&club, &mut owner);
    send(&club, &mut twin);
    confirm(&mut owner, doc, &a);
    let op = Op::Resource(ResourceOp::Confirm { booking: b.clone() });
    twin.execute(doc, op, now().plus_millis(1)).unwrap();
    sync(&mut owner, &mut twin);
    let view = owner.resource(doc).unwrap();
    assert_eq!(
        view.status(&a),
        Some(&BookingStatus::Confirmed { slot_index: 0 })
    );
    let Some(BookingStatus::Contested {
        slot_index: 0,
        reason,
    }) = view.status(&b)
    else {
        panic!("{:?}", view.status(&b))
    };
    assert_eq!(
        *reason,
        format!(
            "overlaps booking {}:1 (2026-11-26 19:00–20:30) confirmed earlier",
            crate::testutil::writer("club", 2)
        )
    );
    assert_eq!(view.confirmed_occurrences(), vec![(a.clone(), early)]);
    assert!(view.check_invariants().unwrap_err().contains("contested"));
    // Nothing new is confirmed over the contested claim until it is revoked.
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Confirm { booking: c.clone() },
        now(),
    );
    assert!(
        matches!(&e, ResourceError::Overlap { other, .. } if *other == b),
        "{e}"
    );
    let revoke = ResourceOp::Revoke {
        booking: b,
        reason: "double booking".into(),
    };
    exec(&mut owner, doc, revoke, now());
    confirm(&mut owner, doc, &c);
    owner.resource(doc).unwrap().check_invariants().unwrap();
}

// ---- waitlist -----------------------------------------------------------------------------

#[test]
fn waitlisted_requests_are_promoted_in_order_after_a_cancellation() {
    let (mut owner, doc) = setup(room());
    let mut club = joined(&owner, "club", 2);
    let mut choir = joined(&owner, "choir", 3);
    let a = request(&mut club, doc, form(thursday()));
    // The choir asks first (earlier clock), the club second, both for the same slot.
    let b = match exec(
        &mut choir,
        doc,
        ResourceOp::Request(form(thursday())),
        now().plus_millis(-5),
    ) {
        Effect::Booking(id) => id,
        e => panic!("{e:?}"),
    };
    let c = request(&mut club, doc, form(thursday()));
    send(&club, &mut owner);
    send(&choir, &mut owner);
    confirm(&mut owner, doc, &a);
    for id in [&c, &b] {
        exec(
            &mut owner,
            doc,
            ResourceOp::Waitlist {
                booking: id.clone(),
            },
            now(),
        );
    }
    let order: Vec<BookingId> = owner
        .resource(doc)
        .unwrap()
        .waitlist()
        .into_iter()
        .map(|v| v.id)
        .collect();
    assert_eq!(order, vec![b.clone(), c.clone()]);
    let e = fail(&mut owner, doc, ResourceOp::PromoteWaitlist, now());
    assert_eq!(
        e,
        ResourceError::NothingToPromote {
            who: scope(OWNER),
            waiting: 2
        }
    );
    let e = fail(&mut club, doc, ResourceOp::PromoteWaitlist, now());
    assert!(matches!(e, ResourceError::NotAllowed { .. }), "{e}");
    exec(
        &mut club,
        doc,
        ResourceOp::Cancel {
            booking: a.clone(),
            reason: "".into(),
        },
        now(),
    );
    send(&club, &mut owner);
    let effect = exec(&mut owner, doc, ResourceOp::PromoteWaitlist, now());
    assert_eq!(effect, Effect::Promoted(vec![b.clone()]));
    let view = owner.resource(doc).unwrap();
    assert_eq!(
        view.status(&b),
        Some(&BookingStatus::Confirmed { slot_index: 0 })
    );
    assert_eq!(view.status(&c), Some(&BookingStatus::Waitlisted));
    view.check_invariants().unwrap();
}

// ---- recurrence and calendar --------------------------------------------------------------

#[test]
fn weekly_recurrences_conflict_on_every_occurrence() {
    let (mut owner, doc) = setup(room());
    let mut club = joined(&owner, "club", 2);
    let tue = slot("2026-11-24", "19:00", "21:00");
    let a = request(&mut club, doc, form(tue).weekly(4));
    // Third Tuesday overlaps; the fifth does not.
    let b = request(&mut club, doc, form(slot("2026-12-08", "20:00", "21:00")));
    let c = request(&mut club, doc, form(slot("2026-12-22", "19:00", "21:00")));
    // Weekly from the Monday before: no overlap at all.
    let d = request(
        &mut club,
        doc,
        form(slot("2026-11-23", "19:00", "21:00")).weekly(8),
    );
    send(&club, &mut owner);
    assert_eq!(confirm(&mut owner, doc, &a), (0, tue));
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Confirm { booking: b.clone() },
        now(),
    );
    assert_eq!(
        e,
        ResourceError::Overlap {
            slot: "2026-12-08 20:00–21:00".into(),
            other: a.clone(),
            other_slot: "2026-12-08 19:00–21:00".into()
        }
    );
    confirm(&mut owner, doc, &c);
    confirm(&mut owner, doc, &d);
    let view = owner.resource(doc).unwrap();
    let occ: Vec<Slot> = view
        .confirmed_occurrences()
        .into_iter()
        .filter(|(id, _)| *id == a)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(occ.len(), 4);
    assert_eq!(occ[3], slot("2026-12-15", "19:00", "21:00"));
    view.check_invariants().unwrap();
    // A week calendar: Monday 2026-12-07 to Monday 2026-12-14.
    let week = Slot::new(
        t("2026-12-07T00:00:00+08:00"),
        t("2026-12-14T00:00:00+08:00"),
    )
    .unwrap();
    let cal = view.bookings_in(week);
    let got: Vec<(BookingId, Slot, &str)> = cal
        .iter()
        .map(|e| (e.booking.clone(), e.slot, e.status.label()))
        .collect();
    assert_eq!(
        got,
        vec![
            (d.clone(), slot("2026-12-07", "19:00", "21:00"), "confirmed"),
            (a.clone(), slot("2026-12-08", "19:00", "21:00"), "confirmed"),
            (b.clone(), slot("2026-12-08", "20:00", "21:00"), "tentative"),
        ]
    );
    assert_eq!(cal[0].purpose, "reading club");
}

#[test]
fn a_weekly_series_skips_its_exceptions() {
    let (mut owner, doc) = setup(room());
    let mut club = joined(&owner, "club", 2);
    let tue = slot("2026-11-24", "19:00", "21:00");
    let date = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
    // Four Tuesdays without the second (a holiday).
    let a = request(
        &mut club,
        doc,
        form(tue).weekly(4).except(vec![date("2026-12-01")]),
    );
    // The skipped Tuesday is free for someone else.
    let b = request(&mut club, doc, form(slot("2026-12-01", "19:30", "20:30")));
    send(&club, &mut owner);
    confirm(&mut owner, doc, &a);
    confirm(&mut owner, doc, &b);
    let view = owner.resource(doc).unwrap();
    let of_a: Vec<Slot> = view
        .confirmed_occurrences()
        .into_iter()
        .filter(|(id, _)| *id == a)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(
        of_a,
        vec![
            tue,
            slot("2026-12-08", "19:00", "21:00"),
            slot("2026-12-15", "19:00", "21:00")
        ]
    );
    view.check_invariants().unwrap();

    // Refused, nothing written: a date that is no Tuesday of the series, one given twice,
    // and exceptions that leave no occurrence.
    let e = fail(
        &mut club,
        doc,
        ResourceOp::Request(form(tue).weekly(4).except(vec![date("2026-12-02")])),
        now(),
    );
    assert_eq!(
        e,
        ResourceError::BadException {
            date: date("2026-12-02"),
            reason: "no occurrence of the series falls on it".into()
        }
    );
    let twice = vec![date("2026-12-01"), date("2026-12-01")];
    let e = fail(
        &mut club,
        doc,
        ResourceOp::Request(form(tue).weekly(4).except(twice)),
        now(),
    );
    assert!(matches!(e, ResourceError::BadException { .. }), "{e}");
    let all = vec![date("2026-11-24"), date("2026-12-01")];
    let e = fail(
        &mut club,
        doc,
        ResourceOp::Request(form(tue).weekly(2).except(all)),
        now(),
    );
    assert!(e.to_string().contains("leave none of the 2"), "{e}");
}

// ---- delegation ---------------------------------------------------------------------------

#[test]
fn delegates_decide_inside_their_block_and_the_owner_outside() {
    let (mut owner, doc) = setup(room());
    let mut choir = joined(&owner, "choir", 3);
    let mut club = joined(&owner, "club", 2);
    let block = WeeklyBlock::new(&[2, 4], hm(18, 0), hm(21, 0));
    let delegate = |who: &str, block: WeeklyBlock| ResourceOp::Delegate {
        delegate: scope(who),
        block,
    };
    let e = fail(&mut choir, doc, delegate("choir", block.clone()), now());
    assert!(matches!(e, ResourceError::NotAllowed { .. }), "{e}");
    let e = fail(&mut owner, doc, delegate(OWNER, block.clone()), now());
    assert!(matches!(e, ResourceError::InvalidDelegation(_)), "{e}");
    let e = fail(
        &mut owner,
        doc,
        delegate("choir", WeeklyBlock::new(&[2], hm(9, 0), hm(9, 0))),
        now(),
    );
    assert!(matches!(e, ResourceError::InvalidDelegation(_)), "{e}");
    let Effect::Delegation(did) = exec(&mut owner, doc, delegate("choir", block.clone()), now())
    else {
        panic!()
    };
    let e = fail(
        &mut owner,
        doc,
        delegate("club", WeeklyBlock::new(&[4, 5], hm(20, 0), hm(22, 0))),
        now(),
    );
    assert_eq!(
        e,
        ResourceError::DelegationOverlap {
            block: "Thu, Fri 20:00–22:00".into(),
            other: did.clone(),
            other_block: "Tue, Thu 18:00–21:00".into()
        }
    );
    // Disjoint blocks are fine.
    exec(
        &mut owner,
        doc,
        delegate("club", WeeklyBlock::new(&[6], hm(8, 0), hm(12, 0))),
        now(),
    );
    let inside = request(&mut club, doc, form(thursday()).weekly(2));
    let outside = request(&mut club, doc, form(slot("2026-11-26", "09:00", "10:00")));
    let across = request(&mut club, doc, form(slot("2026-11-26", "17:00", "19:00")));
    for r in [&mut club, &mut choir] {
        sync(&mut owner, r);
    }
    let view = owner.resource(doc).unwrap();
    assert_eq!(view.delegations().len(), 2);
    assert_eq!(
        view.arbiter_of(&thursday(), 2).unwrap(),
        Some(scope("choir"))
    );
    assert_eq!(
        view.arbiter_of(&slot("2026-11-26", "09:00", "10:00"), 1)
            .unwrap(),
        Some(scope(OWNER))
    );
    assert_eq!(
        view.arbiter_of(&slot("2026-11-26", "17:00", "19:00"), 1)
            .unwrap(),
        None
    );
    // Owner may not decide inside the delegated block, the delegate may not outside.
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Confirm {
            booking: inside.clone(),
        },
        now(),
    );
    assert_eq!(
        e,
        ResourceError::NotArbiter {
            who: scope(OWNER),
            slot: "2026-11-26 19:00–21:00".into(),
            arbiter: "its arbiter is beishi/dianye/choir".into()
        }
    );
    let e = fail(
        &mut choir,
        doc,
        ResourceOp::Confirm {
            booking: outside.clone(),
        },
        now(),
    );
    assert!(matches!(e, ResourceError::NotArbiter { .. }), "{e}");
    let e = fail(
        &mut choir,
        doc,
        ResourceOp::Reject {
            booking: outside.clone(),
            reason: "x".into(),
        },
        now(),
    );
    assert!(matches!(e, ResourceError::NotArbiter { .. }), "{e}");
    // A slot crossing the block boundary has no arbiter; only the owner may reject it.
    for r in [&mut owner, &mut choir] {
        let e = fail(
            r,
            doc,
            ResourceOp::Confirm {
                booking: across.clone(),
            },
            now(),
        );
        assert!(
            matches!(&e, ResourceError::NotArbiter { arbiter, .. } if arbiter.contains("nobody")),
            "{e}"
        );
    }
    exec(
        &mut owner,
        doc,
        ResourceOp::Reject {
            booking: across.clone(),
            reason: "crosses the choir's block".into(),
        },
        now(),
    );
    // Concurrent confirmations by the two arbiters cannot overlap.
    assert_eq!(confirm(&mut choir, doc, &inside), (0, thursday()));
    confirm(&mut owner, doc, &outside);
    sync(&mut owner, &mut choir);
    let view = owner.resource(doc).unwrap();
    assert_eq!(view.confirmed_occurrences().len(), 3);
    view.check_invariants().unwrap();
    // The delegate may revoke what it confirmed; so may the owner.
    exec(
        &mut choir,
        doc,
        ResourceOp::Revoke {
            booking: inside,
            reason: "no-show twice".into(),
        },
        now(),
    );
}

// ---- bars ---------------------------------------------------------------------------------

#[test]
fn barred_organisations_and_groups_cannot_book() {
    let (mut owner, doc) = setup(room());
    let mut troupe = joined(&owner, "troupe", 2);
    let mut club = joined(&owner, "club", 3);
    let pending = request(
        &mut club,
        doc,
        BookingForm::new("Zhang San", "dance", thursday(), 10)
            .with_organisation("Zhang San's troupe"),
    );
    send(&club, &mut owner);
    let bar = |who: Barred, reason: &str| ResourceOp::Bar {
        who,
        reason: reason.into(),
    };
    let e = fail(
        &mut club,
        doc,
        bar(Barred::Org(scope("troupe")), "x"),
        now(),
    );
    assert!(matches!(e, ResourceError::NotAllowed { .. }), "{e}");
    let e = fail(
        &mut owner,
        doc,
        bar(Barred::Org(scope("troupe")), ""),
        now(),
    );
    assert_eq!(e, ResourceError::EmptyField { field: "reason" });
    let e = fail(&mut owner, doc, bar(Barred::Group("  ".into()), "x"), now());
    assert_eq!(e, ResourceError::EmptyField { field: "who" });
    exec(
        &mut owner,
        doc,
        bar(Barred::Org(scope("troupe")), "illegal fundraising"),
        now(),
    );
    exec(
        &mut owner,
        doc,
        bar(
            Barred::Group("zhang san's troupe".into()),
            "damaged the piano",
        ),
        now(),
    );
    let e = fail(
        &mut owner,
        doc,
        bar(Barred::Group(" Zhang San's Troupe ".into()), "again"),
        now(),
    );
    assert_eq!(
        e,
        ResourceError::AlreadyBarred {
            who: "\" Zhang San's Troupe \"".into()
        }
    );
    assert_eq!(owner.resource(doc).unwrap().bars().len(), 2);
    // The pending request of a barred booker cannot be confirmed.
    let e = fail(
        &mut owner,
        doc,
        ResourceOp::Confirm { booking: pending },
        now(),
    );
    assert_eq!(
        e,
        ResourceError::Barred {
            who: "\"zhang san's troupe\"".into(),
            reason: "damaged the piano".into()
        }
    );
    for r in [&mut troupe, &mut club] {
        sync(&mut owner, r);
    }
    let e = fail(
        &mut troupe,
        doc,
        ResourceOp::Request(form(thursday())),
        now(),
    );
    assert_eq!(
        e,
        ResourceError::Barred {
            who: "organisation beishi/dianye/troupe".into(),
            reason: "illegal fundraising".into()
        }
    );
    // A group is matched by name, not by who leads it (a person's name never sits in a bar).
    request(
        &mut club,
        doc,
        BookingForm::new("Zhang San", "dance", thursday(), 3),
    );
    let grouped = form(thursday()).with_organisation("ZHANG SAN'S TROUPE");
    let e = fail(&mut club, doc, ResourceOp::Request(grouped), now());
    assert!(matches!(e, ResourceError::Barred { .. }), "{e}");
    request(&mut club, doc, form(thursday()));
}
