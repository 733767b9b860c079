#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::*;
use crate::DocId;
use crate::document::Author;
use crate::ledger::{LedgerError, LedgerOp, RowOutcome};
use crate::replica::{Error, NewDoc, Op, Replica};
use crate::signed::SignedChange;
use crate::testutil::{date, key, ledger_of, node, org, rejection, replica, scope, send, t};
use crate::volunteers::VolunteerType;

fn now() -> Timestamp {
    t("2026-06-01T10:00:00+08:00")
}

fn registry(r: &mut Replica) -> DocId {
    r.create(
        NewDoc::Volunteers {
            street: org("beishi"),
            community: org("dianye"),
            title: "dianye volunteers".into(),
        },
        now(),
    )
    .unwrap()
    .doc
}

fn exec(r: &mut Replica, doc: DocId, op: VolunteersOp, at: Timestamp) -> Result<Effect, Error> {
    r.execute(doc, Op::Volunteers(op), at).map(|w| w.effect)
}

/// Runs an operation that must fail with a rota error; nothing is written.
fn fail(r: &mut Replica, doc: DocId, op: VolunteersOp, at: Timestamp) -> VolunteersError {
    let heads = r.doc(doc).unwrap().heads();
    let err = exec(r, doc, op, at).unwrap_err();
    assert_eq!(r.doc(doc).unwrap().heads(), heads, "{err} changed the document");
    match err {
        Error::Volunteers(e) => e,
        other => panic!("expected a registry error, got {other}"),
    }
}

fn volunteer(r: &mut Replica, doc: DocId, name: &str) -> VolunteerId {
    let op = VolunteersOp::Register {
        name: name.into(),
        phone: None,
        id_number: None,
        kind: VolunteerType::Resident,
        unit: None,
        teams: vec![],
        posts: vec![],
    };
    match exec(r, doc, op, now()).unwrap() {
        Effect::Volunteer(id) => id,
        e => panic!("{e:?}"),
    }
}

fn hm(s: &str) -> ClockTime {
    s.parse().unwrap()
}

fn shift(start: &str, end: &str, needed: u32, weekdays: &[u8]) -> Shift {
    Shift {
        start: hm(start),
        end: hm(end),
        needed,
        weekdays: weekdays.to_vec(),
    }
}

/// Daily 07:00–08:00 bike tidying by two volunteers, from Monday 1 June 2026.
fn bikes() -> VolunteersOp {
    VolunteersOp::SetRota {
        code: "bikes".into(),
        title: "Bike tidying".into(),
        team: None,
        from: date(2026, 6, 1),
        until: None,
        shifts: vec![shift("07:00", "08:00", 2, &[])],
    }
}

/// Round-the-clock monitoring in six 4-hour shifts, one volunteer each.
fn monitoring() -> VolunteersOp {
    VolunteersOp::SetRota {
        code: "monitor".into(),
        title: "Monitoring room".into(),
        team: None,
        from: date(2026, 6, 1),
        until: Some(date(2026, 6, 30)),
        shifts: ["00:00", "04:00", "08:00", "12:00", "16:00", "20:00"]
            .iter()
            .zip(["04:00", "08:00", "12:00", "16:00", "20:00", "24:00"])
            .map(|(a, b)| shift(a, b, 1, &[]))
            .collect(),
    }
}

fn assign(rota: &str, shift: usize, day: Option<jiff::civil::Date>, v: &VolunteerId) -> VolunteersOp {
    VolunteersOp::AssignShift {
        rota: rota.into(),
        shift,
        date: day,
        volunteer: v.clone(),
    }
}

fn setup() -> (Replica, DocId, [VolunteerId; 3]) {
    let mut r = replica("dianye", 1);
    let doc = registry(&mut r);
    let a = volunteer(&mut r, doc, "Li Ming");
    let b = volunteer(&mut r, doc, "Zhang Hua");
    let c = volunteer(&mut r, doc, "Wang Fang");
    (r, doc, [a, b, c])
}

#[test]
fn clock_times_and_shapes() {
    assert_eq!(hm("07:00").minutes(), 420);
    assert_eq!(hm("24:00").to_string(), "24:00");
    for bad in ["24:01", "7:00", "25:00", "07:60", "0700"] {
        assert!(bad.parse::<ClockTime>().is_err(), "{bad}");
    }
}

#[test]
fn a_rota_lists_occurrences_coverage_and_gaps() {
    let (mut r, doc, [a, b, c]) = setup();
    exec(&mut r, doc, bikes(), now()).unwrap();
    exec(&mut r, doc, monitoring(), now()).unwrap();
    exec(&mut r, doc, assign("bikes", 0, None, &a), now()).unwrap();
    exec(&mut r, doc, assign("bikes", 0, None, &b), now()).unwrap();
    // B is off on 3 June; C covers 4 June in addition.
    exec(
        &mut r,
        doc,
        VolunteersOp::UnassignShift {
            rota: "bikes".into(),
            shift: 0,
            date: Some(date(2026, 6, 3)),
            volunteer: b.clone(),
        },
        now(),
    )
    .unwrap();
    exec(&mut r, doc, assign("bikes", 0, Some(date(2026, 6, 4)), &c), now()).unwrap();
    let d = r.doc(doc).unwrap();
    let rotas = Rotas::new(d);
    let occ = rotas
        .occurrences(Some("bikes"), date(2026, 6, 2), date(2026, 6, 4))
        .unwrap();
    assert_eq!(occ.len(), 3);
    assert_eq!(occ[0].assigned, [a.clone(), b.clone()]);
    assert_eq!(occ[1].assigned, std::slice::from_ref(&a));
    assert_eq!(occ[1].missing(), 1);
    assert_eq!(occ[2].assigned.len(), 3);
    assert_eq!(occ[0].slot.start, t("2026-06-02T07:00:00+08:00"));
    assert_eq!(occ[0].slot.end, t("2026-06-02T08:00:00+08:00"));
    let gaps = rotas
        .gaps(Some("bikes"), date(2026, 6, 2), date(2026, 6, 4))
        .unwrap();
    assert_eq!(gaps.iter().map(|o| o.date).collect::<Vec<_>>(), [date(2026, 6, 3)]);
    // Monitoring: six shifts a day, the last ending at midnight; nobody assigned yet.
    let m = rotas
        .gaps(Some("monitor"), date(2026, 6, 1), date(2026, 6, 1))
        .unwrap();
    assert_eq!(m.len(), 6);
    assert_eq!(m[5].slot.end, t("2026-06-02T00:00:00+08:00"));
    // A paused volunteer no longer covers: a gap appears.
    exec(
        &mut r,
        doc,
        VolunteersOp::SetStatus {
            volunteer: a.clone(),
            status: Status::Paused,
            reason: "travelling".into(),
        },
        now(),
    )
    .unwrap();
    let d = r.doc(doc).unwrap();
    let gaps = Rotas::new(d)
        .gaps(Some("bikes"), date(2026, 6, 2), date(2026, 6, 2))
        .unwrap();
    assert_eq!(gaps[0].assigned, std::slice::from_ref(&b));
}

#[test]
fn bad_rota_input_is_a_typed_error_and_writes_nothing() {
    let (mut r, doc, [a, b, _]) = setup();
    // A shift ending before it starts.
    let op = VolunteersOp::SetRota {
        code: "bikes".into(),
        title: "Bike tidying".into(),
        team: None,
        from: date(2026, 6, 1),
        until: None,
        shifts: vec![shift("08:00", "07:00", 1, &[])],
    };
    let e = fail(&mut r, doc, op, now());
    assert!(matches!(rota_err(&e), RotaError::EndBeforeStart { shift: 0, .. }), "{e}");
    assert_eq!(e.class(), crate::class::ErrorClass::Invalid);
    let op = VolunteersOp::SetRota {
        code: "Bikes!".into(),
        title: "x".into(),
        team: None,
        from: date(2026, 6, 1),
        until: None,
        shifts: vec![shift("07:00", "08:00", 1, &[8])],
    };
    assert!(matches!(rota_err(&fail(&mut r, doc, op, now())), RotaError::BadCode(_)));
    let op = VolunteersOp::SetRota {
        code: "bikes".into(),
        title: "x".into(),
        team: Some("nosuch".into()),
        from: date(2026, 6, 1),
        until: None,
        shifts: vec![shift("07:00", "08:00", 1, &[])],
    };
    assert!(matches!(fail(&mut r, doc, op, now()), VolunteersError::UnknownTeam(_)));
    exec(&mut r, doc, bikes(), now()).unwrap();
    // Assigning an unknown volunteer, to an unknown rota or shift.
    let ghost: VolunteerId = "dianye:99".parse().unwrap();
    let e = fail(&mut r, doc, assign("bikes", 0, None, &ghost), now());
    assert!(matches!(rota_err(&e), RotaError::UnknownVolunteer(_)), "{e}");
    assert_eq!(e.class(), crate::class::ErrorClass::NotFound);
    let e = fail(&mut r, doc, assign("nosuch", 0, None, &a), now());
    assert!(matches!(rota_err(&e), RotaError::UnknownRota(_)), "{e}");
    let e = fail(&mut r, doc, assign("bikes", 3, None, &a), now());
    assert!(matches!(rota_err(&e), RotaError::UnknownShift { .. }), "{e}");
    let e = fail(&mut r, doc, assign("bikes", 0, Some(date(2026, 5, 1)), &a), now());
    assert!(matches!(rota_err(&e), RotaError::NoOccurrence { .. }), "{e}");
    exec(&mut r, doc, assign("bikes", 0, None, &a), now()).unwrap();
    let e = fail(&mut r, doc, assign("bikes", 0, None, &a), now());
    assert!(matches!(rota_err(&e), RotaError::AlreadyAssigned { .. }), "{e}");
    // A swap to a volunteer who is not active.
    exec(
        &mut r,
        doc,
        VolunteersOp::SetStatus {
            volunteer: b.clone(),
            status: Status::Left,
            reason: String::new(),
        },
        now(),
    )
    .unwrap();
    let swap = VolunteersOp::RequestSwap {
        rota: "bikes".into(),
        shift: 0,
        date: date(2026, 6, 5),
        from: a.clone(),
        to: b.clone(),
    };
    let e = fail(&mut r, doc, swap, now());
    assert!(matches!(rota_err(&e), RotaError::NotActive { .. }), "{e}");
    assert_eq!(e.class(), crate::class::ErrorClass::Conflict);
    // Assigning an inactive volunteer.
    let e = fail(&mut r, doc, assign("bikes", 0, None, &b), now());
    assert!(matches!(rota_err(&e), RotaError::NotActive { .. }), "{e}");
    // Marking an occurrence served before it ends.
    let e = fail(
        &mut r,
        doc,
        VolunteersOp::MarkServed {
            rota: "bikes".into(),
            shift: 0,
            date: date(2026, 6, 1),
            volunteers: vec![a.clone()],
        },
        t("2026-06-01T07:30:00+08:00"),
    );
    assert!(matches!(rota_err(&e), RotaError::NotEnded { .. }), "{e}");
    // Another organisation may not write rotas.
    let mut other = replica("hongqi", 1);
    send(&r, &mut other);
    let e = fail(&mut other, doc, bikes(), now());
    assert!(matches!(e, VolunteersError::NotAllowed { .. }), "{e}");
}

#[test]
fn an_approved_swap_moves_one_occurrence() {
    let (mut r, doc, [a, _, c]) = setup();
    exec(&mut r, doc, bikes(), now()).unwrap();
    exec(&mut r, doc, assign("bikes", 0, None, &a), now()).unwrap();
    let swap = |from: &VolunteerId, to: &VolunteerId| VolunteersOp::RequestSwap {
        rota: "bikes".into(),
        shift: 0,
        date: date(2026, 6, 5),
        from: from.clone(),
        to: to.clone(),
    };
    exec(&mut r, doc, swap(&a, &c), now()).unwrap();
    let d = r.doc(doc).unwrap();
    let swaps = Rotas::new(d).swaps(Some("bikes"));
    assert_eq!(swaps.len(), 1);
    assert!(swaps[0].decision.is_none());
    let id = swaps[0].id.to_string();
    // Not yet approved: A still covers 5 June.
    let on = |r: &Replica, day| {
        Rotas::new(r.doc(doc).unwrap())
            .occurrences(Some("bikes"), day, day)
            .unwrap()[0]
            .assigned
            .clone()
    };
    assert_eq!(on(&r, date(2026, 6, 5)), std::slice::from_ref(&a));
    let decide = |approve| VolunteersOp::DecideSwap {
        rota: "bikes".into(),
        swap: id.clone(),
        approve,
    };
    exec(&mut r, doc, decide(true), now()).unwrap();
    assert_eq!(on(&r, date(2026, 6, 5)), std::slice::from_ref(&c));
    assert_eq!(on(&r, date(2026, 6, 6)), std::slice::from_ref(&a));
    let e = fail(&mut r, doc, decide(false), now());
    assert!(matches!(rota_err(&e), RotaError::SwapDecided(_)), "{e}");
    let e = fail(&mut r, doc, swap(&a, &c), now());
    assert!(matches!(rota_err(&e), RotaError::NotAssigned { .. }), "{e}");
}

#[test]
fn served_shifts_become_service_records_once() {
    let (mut r, doc, [a, b, _]) = setup();
    exec(&mut r, doc, bikes(), now()).unwrap();
    let after = t("2026-06-02T09:00:00+08:00");
    let served = VolunteersOp::MarkServed {
        rota: "bikes".into(),
        shift: 0,
        date: date(2026, 6, 2),
        volunteers: vec![a.clone(), b.clone()],
    };
    exec(&mut r, doc, served.clone(), after).unwrap();
    let e = fail(&mut r, doc, served, after);
    assert!(matches!(rota_err(&e), RotaError::AlreadyServed { .. }), "{e}");
    let shifts = Rotas::new(r.doc(doc).unwrap()).served_shifts(2026);
    assert_eq!(shifts.len(), 2);
    assert_eq!(shifts[0].hours, 1.0);
    assert_eq!(shifts[0].activity, "Bike tidying");
    assert_eq!(shifts[0].source, format!("rota:bikes/2026-06-02/0/{a}"));
    assert!(Rotas::new(r.doc(doc).unwrap()).served_shifts(2027).is_empty());
    let rows: Vec<crate::ledger::ServiceRow> = shifts
        .into_iter()
        .map(|s| crate::ledger::ServiceRow {
            volunteer: s.volunteer,
            activity: s.activity,
            team: s.team,
            date: s.date,
            hours: s.hours,
            evidence: Some(s.evidence),
            source: Some(s.source),
        })
        .collect();
    // Written with the ledger's batch: twice writes nothing twice.
    let ledger = ledger_of(&mut r, "dianye");
    let w = r
        .execute(ledger, Op::Ledger(LedgerOp::RecordServices { rows: rows.clone() }), after)
        .unwrap();
    let Effect::Imported(out) = w.effect else { panic!() };
    assert!(out.iter().all(|o| matches!(o, RowOutcome::Recorded { .. })), "{out:?}");
    let again = r
        .execute(ledger, Op::Ledger(LedgerOp::RecordServices { rows }), after)
        .unwrap_err();
    let Error::Ledger(LedgerError::NothingToWrite(out)) = again else { panic!("{again}") };
    assert!(out.iter().all(|o| matches!(o, RowOutcome::AlreadyImported { .. })));
    assert_eq!(r.ledger(ledger).unwrap().entries().len(), 2);
}

/// The rota error inside a registry error.
fn rota_err(e: &VolunteersError) -> &RotaError {
    match e {
        VolunteersError::Rota(r) => r,
        other => panic!("expected a rota error, got {other}"),
    }
}

// ---- crafted remote changes ----------------------------------------------------------------

fn forge(r: &Replica, doc: DocId, o: &str, n: u8, at: Timestamp, puts: &[Put]) -> SignedChange {
    let mut d = r.doc(doc).unwrap().clone();
    d.set_author(&Author {
        node: node(o, n),
        incarnation: [0xEE; 8],
        org: org(o),
    });
    let c = d.commit(at, "forged", puts).unwrap();
    SignedChange::sign(&key(o, n), d.id(), c.raw_bytes()).unwrap()
}

#[test]
fn crafted_rota_changes_are_refused_by_receivers() {
    let (mut r, doc, [a, b, c]) = setup();
    exec(&mut r, doc, bikes(), now()).unwrap();
    exec(&mut r, doc, assign("bikes", 0, None, &a), now()).unwrap();
    exec(
        &mut r,
        doc,
        VolunteersOp::RequestSwap {
            rota: "bikes".into(),
            shift: 0,
            date: date(2026, 6, 5),
            from: a.clone(),
            to: c.clone(),
        },
        now(),
    )
    .unwrap();
    exec(
        &mut r,
        doc,
        VolunteersOp::SetStatus {
            volunteer: b.clone(),
            status: Status::Left,
            reason: String::new(),
        },
        now(),
    )
    .unwrap();
    let mut other = replica("dianye", 2);
    send(&r, &mut other);
    let swap_key = Rotas::new(r.doc(doc).unwrap()).swaps(None)[0].id.to_string();
    // A swap approved by someone other than the community (a unit of the community).
    let approval = |by: &str| {
        Put::new(
            "rota_swap_decisions",
            format!("bikes/{swap_key}"),
            &SwapDecision {
                approved: true,
                by: scope(by),
                at: now(),
            },
        )
    };
    let sc = forge(&r, doc, "power-co", 1, now(), &[approval("beishi/dianye/power-co")]);
    let reason = rejection(other.apply(sc).unwrap_err());
    assert!(reason.contains("only the owner"), "{reason}");
    // The street neither.
    let sc = forge(&r, doc, "beishi", 1, now(), &[approval("beishi")]);
    assert!(rejection(other.apply(sc).unwrap_err()).contains("only the owner"));
    // The community, swapping to a volunteer who left.
    let mut sid = Author {
        node: node("dianye", 1),
        incarnation: [0xEE; 8],
        org: org("dianye"),
    }
    .next_id(r.doc(doc).unwrap(), "rota_swaps", "bikes/");
    sid.n += 10;
    let bad_swap = Put::new(
        "rota_swaps",
        format!("bikes/{sid}"),
        &Swap {
            shift: 0,
            date: date(2026, 6, 6),
            from: a.clone(),
            to: b.clone(),
            by: scope("beishi/dianye"),
            at: now(),
        },
    );
    let sc = forge(&r, doc, "dianye", 1, now(), &[bad_swap]);
    assert!(rejection(other.apply(sc).unwrap_err()).contains("not active"));
    // An assignment of a volunteer the registry does not know.
    let ghost = Put::new(
        "rota_assignments",
        "bikes/0/*/dianye:99",
        &Assignment {
            on: true,
            by: scope("beishi/dianye"),
            at: now(),
        },
    );
    let sc = forge(&r, doc, "dianye", 1, now(), &[ghost]);
    assert!(rejection(other.apply(sc).unwrap_err()).contains("not in the change's history"));
    // A rota whose shift ends before it starts.
    let bad = Put::new(
        "rotas",
        "night",
        &Rota {
            title: "Night".into(),
            team: None,
            from: date(2026, 6, 1),
            until: None,
            shifts: vec![shift("22:00", "06:00", 1, &[])],
            by: scope("beishi/dianye"),
            at: now(),
        },
    );
    let sc = forge(&r, doc, "dianye", 1, now(), &[bad]);
    assert!(other.apply(sc).is_err());
    // A shift marked served before it ended.
    let early = Put::new(
        "rota_served",
        format!("bikes/0/2026-06-10/{a}"),
        &Served {
            by: scope("beishi/dianye"),
            at: now(),
        },
    );
    let sc = forge(&r, doc, "dianye", 1, now(), &[early]);
    assert!(rejection(other.apply(sc).unwrap_err()).contains("had ended"));
    assert_eq!(other.doc(doc).unwrap().heads(), r.doc(doc).unwrap().heads());
}

// ---- convergence ----------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Step {
    Assign(usize, usize, Option<u8>, usize),
    Unassign(usize, usize, Option<u8>, usize),
    Swap(usize, u8, usize, usize),
    Decide(usize, bool),
    Sync,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..2usize, 0..2usize, prop::option::of(1..8u8), 0..3usize)
            .prop_map(|(w, s, d, v)| Step::Assign(w, s, d, v)),
        2 => (0..2usize, 0..2usize, prop::option::of(1..8u8), 0..3usize)
            .prop_map(|(w, s, d, v)| Step::Unassign(w, s, d, v)),
        2 => (0..2usize, 1..8u8, 0..3usize, 0..3usize).prop_map(|(w, d, a, b)| Step::Swap(w, d, a, b)),
        2 => (0..2usize, any::<bool>()).prop_map(|(w, a)| Step::Decide(w, a)),
        2 => Just(Step::Sync),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Two workstations of the community edit the rota concurrently; whatever order the
    /// changes arrive in, replicas agree on every occurrence and gap.
    #[test]
    fn rota_replicas_agree_in_any_order(
        steps in prop::collection::vec(step(), 1..25),
        seed in any::<u64>(),
    ) {
        let (mut w0, doc, vs) = setup();
        let two = VolunteersOp::SetRota {
            code: "bikes".into(),
            title: "Bike tidying".into(),
            team: None,
            from: date(2026, 6, 1),
            until: None,
            shifts: vec![shift("07:00", "08:00", 2, &[]), shift("18:00", "19:00", 1, &[1, 3, 5])],
        };
        exec(&mut w0, doc, two, now()).unwrap();
        let mut w1 = replica("dianye", 2);
        send(&w0, &mut w1);
        let mut ws = [w0, w1];
        for s in steps {
            let day = |d: u8| date(2026, 6, i8::try_from(d).unwrap());
            let (w, op) = match s {
                Step::Sync => {
                    let [a, b] = &mut ws;
                    send(a, b);
                    send(b, a);
                    continue;
                }
                Step::Assign(w, s, d, v) => (w, assign("bikes", s, d.map(day), &vs[v])),
                Step::Unassign(w, s, d, v) => (w, VolunteersOp::UnassignShift {
                    rota: "bikes".into(), shift: s, date: d.map(day), volunteer: vs[v].clone(),
                }),
                Step::Swap(w, d, a, b) => (w, VolunteersOp::RequestSwap {
                    rota: "bikes".into(), shift: 0, date: day(d), from: vs[a].clone(), to: vs[b].clone(),
                }),
                Step::Decide(w, approve) => {
                    let Some(sw) = Rotas::new(ws[w].doc(doc).unwrap()).swaps(None).into_iter()
                        .find(|s| s.decision.is_none()) else { continue };
                    (w, VolunteersOp::DecideSwap { rota: "bikes".into(), swap: sw.id.to_string(), approve })
                }
            };
            let _ = exec(&mut ws[w], doc, op, now());
        }
        let mut all: Vec<SignedChange> = Vec::new();
        for w in &ws {
            for c in w.changes(doc, &[]).unwrap() {
                if !all.iter().any(|x| x.change_hash().unwrap() == c.change_hash().unwrap()) {
                    all.push(c);
                }
            }
        }
        // A deterministic shuffle from the seed.
        let mut x = seed | 1;
        let mut shuffled = all.clone();
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, usize::try_from(x % (i as u64 + 1)).unwrap());
        }
        let mut a = replica("beishi", 1);
        let mut b = replica("hongqi", 1);
        for sc in &shuffled { a.apply(sc.clone()).unwrap(); }
        for sc in all.iter().rev() { b.apply(sc.clone()).unwrap(); }
        let read = |r: &Replica| Rotas::new(r.doc(doc).unwrap())
            .occurrences(None, date(2026, 6, 1), date(2026, 6, 8)).unwrap();
        let oa = read(&a);
        prop_assert_eq!(&oa, &read(&b));
        prop_assert!(oa.iter().all(|o| o.assigned.len() <= 3));
        let [w0, w1] = &mut ws;
        send(w0, w1);
        send(w1, w0);
        prop_assert_eq!(&read(w0), &oa);
        prop_assert_eq!(&read(w1), &oa);
    }
}
