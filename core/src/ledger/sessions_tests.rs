#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::DocId;
use crate::document::Author;
use crate::ledger::{LedgerError, LedgerOp, LedgerRules, Points};
use crate::replica::{Error, NewDoc, Op, Replica};
use crate::signed::SignedChange;
use crate::testutil::{date, key, node, org, rejection, replica, send, sync, t};

fn opened() -> Timestamp {
    t("2026-06-01T08:00:00+08:00")
}

fn vol(s: &str) -> VolunteerId {
    s.parse().unwrap()
}

fn ledger_of(r: &mut Replica, community: &str, rules: LedgerRules) -> DocId {
    r.create(
        NewDoc::Ledger {
            street: org("beishi"),
            community: org(community),
            year: 2026,
            rules,
        },
        t("2026-05-01T08:00:00+08:00"),
    )
    .unwrap()
    .doc
}

/// Opens the session 09:00–11:00 on 1 June 2026.
fn open(r: &mut Replica, doc: DocId) -> SessionId {
    let w = r
        .execute(
            doc,
            Op::Ledger(LedgerOp::OpenSession {
                activity: "elder care rota".into(),
                team: Some("elder care".into()),
                place: "activity room".into(),
                start: t("2026-06-01T09:00:00+08:00"),
                end: t("2026-06-01T11:00:00+08:00"),
            }),
            opened(),
        )
        .unwrap();
    match w.effect {
        Effect::Session(id) => id,
        other => panic!("unexpected effect {other:?}"),
    }
}

fn code(r: &Replica, doc: DocId, s: &SessionId, at: Timestamp) -> String {
    r.session_code(doc, s, at).unwrap().0
}

fn check_in(r: &mut Replica, doc: DocId, s: &SessionId, v: &str, at: &str) -> Result<(), Error> {
    let at = t(at);
    let code = code(r, doc, s, at);
    r.execute(
        doc,
        Op::Ledger(LedgerOp::CheckIn {
            session: s.clone(),
            volunteer: vol(v),
            code,
        }),
        at,
    )
    .map(drop)
}

fn check_out(r: &mut Replica, doc: DocId, s: &SessionId, v: &str, at: &str) -> Result<(), Error> {
    let at = t(at);
    let code = code(r, doc, s, at);
    r.execute(
        doc,
        Op::Ledger(LedgerOp::CheckOut {
            session: s.clone(),
            volunteer: vol(v),
            code,
        }),
        at,
    )
    .map(drop)
}

fn close(r: &mut Replica, doc: DocId, s: &SessionId, at: &str) -> Result<Vec<RowOutcome>, Error> {
    let w = r.execute(
        doc,
        Op::Ledger(LedgerOp::CloseSession { session: s.clone() }),
        t(at),
    )?;
    match w.effect {
        Effect::Imported(o) => Ok(o),
        other => panic!("unexpected effect {other:?}"),
    }
}

/// Runs `op` at `at`, which must fail and leave the document unchanged.
fn refused(r: &mut Replica, doc: DocId, op: LedgerOp, at: &str) -> Error {
    let before = r.doc(doc).unwrap().heads();
    let err = r.execute(doc, Op::Ledger(op), t(at)).unwrap_err();
    assert_eq!(r.doc(doc).unwrap().heads(), before, "changed by {err}");
    err
}

fn session_err(e: Error) -> SessionError {
    match e {
        Error::Ledger(LedgerError::Session(s)) => *s,
        other => panic!("expected a session error, got {other}"),
    }
}

#[test]
fn a_code_holds_for_its_step_and_the_next_only() {
    let secret = session_secret(&key("dianye", 1), &"dianye@0102030405060708:1".parse().unwrap());
    let now = t("2026-06-01T09:00:10+08:00");
    let c = code_at(&secret, now);
    assert_eq!(c.len(), 6);
    assert!(c.chars().all(|ch| ch.is_ascii_digit()));
    assert!(code_valid(&secret, now, &c));
    // Later in the same step, and during the next step.
    assert!(code_valid(&secret, t("2026-06-01T09:00:59.999+08:00"), &c));
    assert!(code_valid(&secret, t("2026-06-01T09:01:59.999+08:00"), &c));
    // Two steps on, and before its step: refused.
    assert!(!code_valid(&secret, t("2026-06-01T09:02:00+08:00"), &c));
    assert!(!code_valid(&secret, t("2026-06-01T08:59:59.999+08:00"), &c));
    // Another session's secret, another key: other codes.
    let other = session_secret(&key("dianye", 2), &"dianye@0102030405060708:1".parse().unwrap());
    assert_ne!(other, secret);
    for bad in ["", "12345", "1234567", "abcdef"] {
        assert!(!code_valid(&secret, now, bad), "{bad}");
    }
    assert_eq!(code_changes_at(now), t("2026-06-01T09:01:00+08:00"));
}

#[test]
fn check_ins_give_verified_hours_capped_and_closed_once() {
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye", LedgerRules::default());
    let s = open(&mut a, doc);

    // Too early (before 08:30), wrong code, check-out without check-in: refused.
    let early = code(&a, doc, &s, t("2026-06-01T08:20:00+08:00"));
    let e = session_err(refused(
        &mut a,
        doc,
        LedgerOp::CheckIn {
            session: s.clone(),
            volunteer: vol("dianye:1"),
            code: early,
        },
        "2026-06-01T08:20:00+08:00",
    ));
    assert!(matches!(e, SessionError::NotYetOpen { .. }), "{e}");
    let right = code(&a, doc, &s, t("2026-06-01T09:05:00+08:00"));
    let wrong = if right == "000000" { "000001" } else { "000000" };
    let e = session_err(refused(
        &mut a,
        doc,
        LedgerOp::CheckIn {
            session: s.clone(),
            volunteer: vol("dianye:1"),
            code: wrong.into(),
        },
        "2026-06-01T09:05:00+08:00",
    ));
    assert!(matches!(e, SessionError::WrongCode { .. }), "{e}");
    // The code of 09:05 has expired at 09:07.
    let e = session_err(refused(
        &mut a,
        doc,
        LedgerOp::CheckIn {
            session: s.clone(),
            volunteer: vol("dianye:1"),
            code: right,
        },
        "2026-06-01T09:07:00+08:00",
    ));
    assert!(matches!(e, SessionError::WrongCode { .. }), "{e}");
    let c = code(&a, doc, &s, t("2026-06-01T09:05:00+08:00"));
    let e = session_err(refused(
        &mut a,
        doc,
        LedgerOp::CheckOut {
            session: s.clone(),
            volunteer: vol("dianye:1"),
            code: c,
        },
        "2026-06-01T09:05:00+08:00",
    ));
    assert!(matches!(e, SessionError::NotCheckedIn { .. }), "{e}");

    // 1: 09:10–10:10; 2: from 09:30, never checks out; 3: from 08:45 (early), never out.
    check_in(&mut a, doc, &s, "dianye:1", "2026-06-01T09:10:00+08:00").unwrap();
    check_in(&mut a, doc, &s, "dianye:2", "2026-06-01T09:30:00+08:00").unwrap();
    check_in(&mut a, doc, &s, "dianye:3", "2026-06-01T08:45:00+08:00").unwrap();
    let e = session_err(check_in(&mut a, doc, &s, "dianye:1", "2026-06-01T09:40:00+08:00").unwrap_err());
    assert!(matches!(e, SessionError::AlreadyCheckedIn { .. }), "{e}");
    check_out(&mut a, doc, &s, "dianye:1", "2026-06-01T10:10:00+08:00").unwrap();
    let e = session_err(check_out(&mut a, doc, &s, "dianye:1", "2026-06-01T10:20:00+08:00").unwrap_err());
    assert!(matches!(e, SessionError::AlreadyCheckedOut { .. }), "{e}");
    // After the end, no more check-ins.
    let e = session_err(check_in(&mut a, doc, &s, "dianye:4", "2026-06-01T11:00:00+08:00").unwrap_err());
    assert!(matches!(e, SessionError::Closed { .. }), "{e}");

    // Closed after the end: 2 and 3 checked out at the end; 3's early minutes not counted.
    let out = close(&mut a, doc, &s, "2026-06-01T11:30:00+08:00").unwrap();
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|o| matches!(o, RowOutcome::Recorded { .. })));
    let l = a.ledger(doc).unwrap();
    let checkins: std::collections::BTreeMap<_, _> = l.checkins(&s).into_iter().collect();
    assert_eq!(
        checkins[&vol("dianye:2")].checked_out,
        Some(t("2026-06-01T11:00:00+08:00"))
    );
    assert!(checkins[&vol("dianye:2")].auto);
    assert!(!checkins[&vol("dianye:1")].auto);
    let minutes: Vec<(String, u32, Points, Method)> = l
        .entries()
        .into_iter()
        .map(|(_, e)| match &e.body {
            EntryBody::Service {
                minutes, points, ..
            } => (e.volunteer.to_string(), *minutes, *points, e.method()),
            _ => panic!(),
        })
        .collect();
    let verified = Method::CheckIn { session: s.clone() };
    assert_eq!(
        minutes,
        vec![
            ("dianye:1".into(), 60, Points::whole(1), verified.clone()),
            ("dianye:2".into(), 90, Points(150), verified.clone()),
            ("dianye:3".into(), 120, Points::whole(2), verified.clone()),
        ]
    );
    assert!(l.session(&s).unwrap().closed.is_some());
    // Closing again writes nothing; a check-in to the closed session is refused.
    let e = session_err(refused(
        &mut a,
        doc,
        LedgerOp::CloseSession { session: s.clone() },
        "2026-06-01T12:00:00+08:00",
    ));
    assert_eq!(e, SessionError::AlreadyClosed(s.clone()));
    let e = session_err(check_out(&mut a, doc, &s, "dianye:2", "2026-06-01T11:05:00+08:00").unwrap_err());
    assert!(matches!(e, SessionError::Closed { .. }), "{e}");
}

#[test]
fn a_session_is_run_only_by_its_organiser_on_its_node() {
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye", LedgerRules::default());
    // A unit dianye certified opens a session in dianye's ledger.
    let mut u = replica("power-co", 1);
    send(&a, &mut u);
    let s = open(&mut u, doc);
    check_in(&mut u, doc, &s, "dianye:1", "2026-06-01T09:00:00+08:00").unwrap();
    send(&u, &mut a);
    // The community holds the ledger, but the session is the unit's: it neither shows the
    // code nor takes check-ins.
    assert!(matches!(
        a.session_code(doc, &s, t("2026-06-01T09:00:00+08:00")),
        Err(Error::Ledger(LedgerError::Session(e))) if matches!(*e, SessionError::OtherNode(_))
    ));
    let e = session_err(refused(
        &mut a,
        doc,
        LedgerOp::CheckIn {
            session: s.clone(),
            volunteer: vol("dianye:2"),
            code: "123456".into(),
        },
        "2026-06-01T09:10:00+08:00",
    ));
    assert!(matches!(e, SessionError::NotOrganiser { .. }), "{e}");
    // Another node of the unit has the records but not the secret.
    let mut u2 = replica("power-co", 2);
    send(&a, &mut u2);
    let e = session_err(refused(
        &mut u2,
        doc,
        LedgerOp::CloseSession { session: s.clone() },
        "2026-06-01T12:00:00+08:00",
    ));
    assert_eq!(e, SessionError::OtherNode(s.clone()));
    // A session of an unknown id, a window of zero length, a session outside the year.
    let e = session_err(refused(
        &mut a,
        doc,
        LedgerOp::CloseSession {
            session: "dianye:99".parse().unwrap(),
        },
        "2026-06-01T12:00:00+08:00",
    ));
    assert!(matches!(e, SessionError::Unknown(_)), "{e}");
    for (start, end) in [
        ("2026-06-01T09:00:00+08:00", "2026-06-01T09:00:00+08:00"),
        ("2026-06-01T09:00:00+08:00", "2026-06-02T09:00:01+08:00"),
        ("2027-01-01T09:00:00+08:00", "2027-01-01T10:00:00+08:00"),
    ] {
        let e = session_err(refused(
            &mut a,
            doc,
            LedgerOp::OpenSession {
                activity: "patrol".into(),
                team: None,
                place: "gate".into(),
                start: t(start),
                end: t(end),
            },
            "2026-06-01T08:00:00+08:00",
        ));
        assert!(matches!(e, SessionError::InvalidWindow(_)), "{e}");
    }
    // Another community cannot open a session in dianye's ledger.
    let mut h = replica("hongqi", 1);
    send(&a, &mut h);
    let err = refused(
        &mut h,
        doc,
        LedgerOp::OpenSession {
            activity: "patrol".into(),
            team: None,
            place: "gate".into(),
            start: t("2026-06-01T09:00:00+08:00"),
            end: t("2026-06-01T10:00:00+08:00"),
        },
        "2026-06-01T08:00:00+08:00",
    );
    assert!(matches!(err, Error::Ledger(LedgerError::NotAllowed { .. })), "{err}");
}

#[test]
fn hours_by_hand_are_labelled_capped_and_earn_points_only_by_the_rule() {
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye", LedgerRules::default());
    let s = open(&mut a, doc);
    let by_hand = |a: &mut Replica, v: &str| {
        a.execute(
            doc,
            Op::Ledger(LedgerOp::RecordService {
                volunteer: vol(v),
                activity: "patrol".into(),
                team: None,
                date: date(2026, 5, 30),
                hours: 2.0,
                evidence: None,
            }),
            opened(),
        )
        .unwrap();
    };
    by_hand(&mut a, "dianye:1");
    // Default rule: hand-recorded hours earn no points, but stay visible.
    assert_eq!(a.balance(&vol("dianye:1"), crate::testutil::now()), Points(0));
    let board = a.ledger(doc).unwrap().leaderboard(None);
    assert_eq!((board[0].minutes, board[0].earned), (120, Points(0)));
    let (_, e) = a.ledger(doc).unwrap().entries().pop().unwrap();
    assert_eq!(e.method(), Method::ByHand { session: None });

    // For a session: at most its planned 2 hours, once per volunteer.
    let hours = |h: f64| LedgerOp::RecordSessionHours {
        session: s.clone(),
        volunteer: vol("dianye:2"),
        hours: h,
        evidence: Some("sign-in sheet".into()),
    };
    let e = session_err(refused(&mut a, doc, hours(2.5), "2026-06-01T12:00:00+08:00"));
    assert!(matches!(e, SessionError::OverPlanned { minutes: 150, planned: 120, .. }), "{e}");
    a.execute(doc, Op::Ledger(hours(1.5)), t("2026-06-01T12:00:00+08:00"))
        .unwrap();
    let e = session_err(refused(&mut a, doc, hours(1.0), "2026-06-01T12:00:00+08:00"));
    assert!(matches!(e, SessionError::AlreadyRecorded { .. }), "{e}");
    let (_, e) = a.ledger(doc).unwrap().entries().pop().unwrap();
    assert_eq!(
        e.method(),
        Method::ByHand {
            session: Some(s.clone())
        }
    );
    assert_eq!(e.balance_delta(), Points(0));
    // An import row may not pose as a session's record.
    let err = refused(
        &mut a,
        doc,
        LedgerOp::RecordServices {
            rows: vec![crate::ledger::ServiceRow {
                volunteer: vol("dianye:3"),
                activity: "patrol".into(),
                team: None,
                date: date(2026, 5, 30),
                hours: 1.0,
                evidence: None,
                source: Some(session_source(&s, &vol("dianye:3"))),
            }],
        },
        "2026-06-01T12:00:00+08:00",
    );
    assert!(matches!(err, Error::Ledger(LedgerError::NothingToWrite(_))), "{err}");

    // The rule turned on: hand-recorded hours earn points.
    a.execute(
        doc,
        Op::Ledger(LedgerOp::SetRules(LedgerRules {
            hand_points: true,
            ..LedgerRules::default()
        })),
        opened(),
    )
    .unwrap();
    by_hand(&mut a, "dianye:1");
    assert_eq!(a.balance(&vol("dianye:1"), crate::testutil::now()), Points::whole(2));

    // Rules written before the rule existed read as earning (their entries stay valid).
    let old: LedgerRules =
        serde_json::from_str(r#"{"points_per_hour":100,"star_thresholds":[1000]}"#).unwrap();
    assert!(old.hand_points);
    assert!(!LedgerRules::default().hand_points);
}

#[test]
fn a_declined_entry_is_kept_with_its_reason_and_counts_nowhere() {
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye", LedgerRules::default());
    let s = open(&mut a, doc);
    check_in(&mut a, doc, &s, "dianye:1", "2026-06-01T09:00:00+08:00").unwrap();
    check_in(&mut a, doc, &s, "dianye:2", "2026-06-01T09:00:00+08:00").unwrap();
    let out = close(&mut a, doc, &s, "2026-06-01T11:00:00+08:00").unwrap();
    let RowOutcome::Recorded { entry } = out[0].clone() else {
        panic!()
    };
    assert_eq!(a.balance(&vol("dianye:1"), crate::testutil::now()), Points::whole(2));
    let decline = |reason: &str| LedgerOp::Decline {
        entry: entry.clone(),
        reason: reason.into(),
    };
    let err = refused(&mut a, doc, decline(" "), "2026-06-01T12:00:00+08:00");
    assert!(matches!(err, Error::Ledger(LedgerError::Empty("reason"))), "{err}");
    // Another community may not decline dianye's entry.
    let mut h = replica("hongqi", 1);
    send(&a, &mut h);
    let err = refused(&mut h, doc, decline("no"), "2026-06-01T12:00:00+08:00");
    assert!(matches!(err, Error::Ledger(LedgerError::NotAllowed { .. })), "{err}");

    a.execute(
        doc,
        Op::Ledger(decline("volunteer was on leave that day")),
        t("2026-06-01T12:00:00+08:00"),
    )
    .unwrap();
    assert_eq!(a.balance(&vol("dianye:1"), crate::testutil::now()), Points(0));
    assert_eq!(a.balance(&vol("dianye:2"), crate::testutil::now()), Points::whole(2));
    let l = a.ledger(doc).unwrap();
    assert_eq!(l.entries().len(), 2, "the entry is kept");
    assert_eq!(
        l.decline(&entry).unwrap().reason,
        "volunteer was on leave that day"
    );
    let board = l.leaderboard(None);
    assert_eq!(board.len(), 1);
    assert_eq!(board[0].volunteer, vol("dianye:2"));
    let e = session_err(refused(&mut a, doc, decline("again"), "2026-06-01T12:00:00+08:00"));
    assert!(matches!(e, SessionError::AlreadyDeclined { .. }), "{e}");
}

// ---- crafted changes from other nodes --------------------------------------------------

/// One change by node `n` of `o` on top of `base`, bypassing the typed checks.
fn forge(base: &Document, o: &str, n: u8, at: Timestamp, puts: &[Put]) -> SignedChange {
    let mut doc = base.clone();
    doc.set_author(&Author {
        node: node(o, n),
        incarnation: [0xEE; 8],
        org: org(o),
    });
    let c = doc.commit(at, "forged", puts).unwrap();
    SignedChange::sign(&key(o, n), doc.id(), c.raw_bytes()).unwrap()
}

fn refused_remote(r: &mut Replica, sc: SignedChange, needle: &str) {
    let doc = sc.doc;
    let before = r.doc(doc).unwrap().heads();
    let reason = rejection(r.apply(sc).unwrap_err());
    assert!(reason.contains(needle), "{reason}");
    assert_eq!(r.doc(doc).unwrap().heads(), before);
}

#[test]
fn crafted_session_records_are_refused_by_receivers() {
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye", LedgerRules::default());
    let s = open(&mut a, doc);
    check_in(&mut a, doc, &s, "dianye:1", "2026-06-01T09:00:00+08:00").unwrap();
    // The receiver: the street's node.
    let mut b = replica("beishi", 1);
    send(&a, &mut b);
    let base = a.doc(doc).unwrap().clone();
    let at = t("2026-06-01T09:30:00+08:00");
    let ci = |inn: &str, out: Option<&str>| Checkin {
        checked_in: t(inn),
        checked_out: out.map(t),
        auto: false,
    };

    // A check-in written by another organiser's node (a unit dianye certified).
    let key2 = format!("checkins/{s}/dianye:2");
    let f = forge(&base, "state-grid", 1, at, &[Put::new("meta", key2.clone(), &ci("2026-06-01T09:20:00+08:00", None))]);
    refused_remote(&mut b, f, "not the signer's scope");
    // A check-out before the check-in, by the organiser's own other node.
    let f = forge(&base, "dianye", 2, at, &[Put::new("meta", key2.clone(), &ci("2026-06-01T09:20:00+08:00", Some("2026-06-01T09:10:00+08:00")))]);
    refused_remote(&mut b, f, "checks out before it checks in");
    // A check-in far outside the window.
    let f = forge(&base, "dianye", 2, at, &[Put::new("meta", key2.clone(), &ci("2026-06-01T14:00:00+08:00", None))]);
    refused_remote(&mut b, f, "outside session");
    // A rewritten check-in time.
    let key1 = format!("checkins/{s}/dianye:1");
    let f = forge(&base, "dianye", 2, at, &[Put::new("meta", key1.clone(), &ci("2026-06-01T08:40:00+08:00", None))]);
    refused_remote(&mut b, f, "never rewritten");
    // Records of a bad shape.
    let f = forge(&base, "dianye", 1, at, &[Put::new("meta", format!("checkins/{s}"), &ci("2026-06-01T09:20:00+08:00", None))]);
    refused_remote(&mut b, f, "malformed key");
    let f = forge(&base, "dianye", 1, at, &[Put::new("meta", "sessions/garbage", &"x")]);
    refused_remote(&mut b, f, "");
    let f = forge(&base, "dianye", 1, at, &[Put::new("meta", "stuff", &"x")]);
    refused_remote(&mut b, f, "no record");
    // A verified service entry claiming more than the check-in verifies (09:00 to the
    // 11:00 end = 120 minutes), and one for a volunteer who never checked in.
    let entry = |v: &str, minutes: u32| Entry {
        volunteer: vol(v),
        home: crate::testutil::scope("dianye"),
        body: EntryBody::Service {
            activity: "elder care rota".into(),
            team: None,
            date: date(2026, 6, 1),
            minutes,
            points: LedgerRules::default().points_for(minutes),
            evidence: None,
        },
        issuer: crate::testutil::scope("dianye"),
        at,
        source: Some(session_source(&s, &vol(v))),
    };
    let own = |k: u64| {
        let au = Author {
            node: node("dianye", 2),
            incarnation: [0xEE; 8],
            org: org("dianye"),
        };
        format!("dianye@{}:{k}", hex::encode(au.tag()))
    };
    let f = forge(&base, "dianye", 2, at, &[Put::new("entries", own(1), &entry("dianye:1", 121))]);
    refused_remote(&mut b, f, "exceed the 120");
    let f = forge(&base, "dianye", 2, at, &[Put::new("entries", own(1), &entry("dianye:5", 30))]);
    refused_remote(&mut b, f, "no check-in");
    // Points for by-hand hours under a rule that gives none.
    let mut hand = entry("dianye:5", 60);
    hand.source = None;
    let f = forge(&base, "dianye", 2, at, &[Put::new("entries", own(1), &hand)]);
    refused_remote(&mut b, f, "points under the ledger's rule");
    // The genuine entry of the right size is accepted.
    let f = forge(&base, "dianye", 2, at, &[Put::new("entries", own(1), &entry("dianye:1", 120))]);
    b.apply(f).unwrap();

    // After the close: a late check-in is refused, a decline by a stranger too.
    close(&mut a, doc, &s, "2026-06-01T10:00:00+08:00").unwrap();
    send(&a, &mut b);
    let base = a.doc(doc).unwrap().clone();
    let at = t("2026-06-01T12:00:00+08:00");
    let f = forge(&base, "dianye", 2, at, &[Put::new("meta", key2, &ci("2026-06-01T09:20:00+08:00", None))]);
    refused_remote(&mut b, f, "was closed");
    let (eid, _) = a.ledger(doc).unwrap().entries().pop().unwrap();
    let d = Decline {
        by: crate::testutil::scope("state-grid"),
        reason: "no".into(),
        at,
    };
    let f = forge(&base, "state-grid", 1, at, &[Put::new("meta", format!("declines/{eid}"), &d)]);
    refused_remote(&mut b, f, "declined by its issuer");
    // A session reopened after its close.
    let mut reopened = a.ledger(doc).unwrap().session(&s).unwrap();
    reopened.closed = None;
    let f = Forger1::write(&base, &[Put::new("meta", format!("sessions/{s}"), &reopened)]);
    refused_remote(&mut b, f, "closed and final");
}

/// Writes as the organiser's own node (node 1 of dianye, its real incarnation), so the
/// session's number is its own.
struct Forger1;
impl Forger1 {
    fn write(base: &Document, puts: &[Put]) -> SignedChange {
        let mut doc = base.clone();
        doc.set_author(&crate::testutil::author("dianye", 1));
        let c = doc
            .commit(t("2026-06-01T12:00:00+08:00"), "forged", puts)
            .unwrap();
        SignedChange::sign(&key("dianye", 1), doc.id(), c.raw_bytes()).unwrap()
    }
}

#[test]
fn check_ins_taken_offline_reach_the_other_nodes_when_they_reconnect() {
    let mut a = replica("dianye", 1);
    let mut b = replica("dianye", 2);
    let mut street = replica("beishi", 1);
    let doc = ledger_of(&mut a, "dianye", LedgerRules::default());
    sync(&mut a, &mut b);
    // Disconnected: a takes check-ins and closes; b records hours by hand meanwhile.
    let s = open(&mut a, doc);
    check_in(&mut a, doc, &s, "dianye:1", "2026-06-01T09:00:00+08:00").unwrap();
    check_out(&mut a, doc, &s, "dianye:1", "2026-06-01T10:30:00+08:00").unwrap();
    close(&mut a, doc, &s, "2026-06-01T11:00:00+08:00").unwrap();
    b.execute(
        doc,
        Op::Ledger(LedgerOp::RecordService {
            volunteer: vol("dianye:2"),
            activity: "patrol".into(),
            team: None,
            date: date(2026, 5, 30),
            hours: 1.0,
            evidence: None,
        }),
        opened(),
    )
    .unwrap();
    assert_eq!(b.ledger(doc).unwrap().sessions().len(), 0);
    // Reconnected, in either order through the street.
    send(&b, &mut street);
    send(&a, &mut street);
    sync(&mut a, &mut b);
    for r in [&a, &b, &street] {
        let l = r.ledger(doc).unwrap();
        assert_eq!(l.checkins(&s).len(), 1);
        assert_eq!(l.entries().len(), 2);
        assert_eq!(r.balance(&vol("dianye:1"), crate::testutil::now()), Points(150));
    }
    let h = |r: &Replica| {
        let mut h = r.doc(doc).unwrap().heads();
        h.sort();
        h
    };
    assert_eq!(h(&a), h(&b));
    assert_eq!(h(&a), h(&street));
}

#[test]
fn unknown_and_inactive_volunteers_are_refused_where_the_registry_is_held() {
    use crate::volunteers::{Status, VolunteerType, VolunteersOp};
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye", LedgerRules::default());
    let reg = a
        .create(
            NewDoc::Volunteers {
                street: org("beishi"),
                community: org("dianye"),
                title: "dianye volunteers".into(),
            },
            t("2026-05-01T08:00:00+08:00"),
        )
        .unwrap()
        .doc;
    let w = a
        .execute(
            reg,
            Op::Volunteers(VolunteersOp::Register {
                name: "李志愿".into(),
                phone: None,
                id_number: None,
                kind: VolunteerType::Resident,
                unit: None,
                teams: vec![],
                posts: vec![],
            }),
            t("2026-05-02T08:00:00+08:00"),
        )
        .unwrap();
    let Effect::Volunteer(v) = w.effect else {
        panic!("{:?}", w.effect)
    };
    a.execute(
        reg,
        Op::Volunteers(VolunteersOp::SetStatus {
            volunteer: v.clone(),
            status: Status::Paused,
            reason: "abroad".into(),
        }),
        t("2026-05-03T08:00:00+08:00"),
    )
    .unwrap();
    let s = open(&mut a, doc);
    let at = t("2026-06-01T09:10:00+08:00");
    let code = code(&a, doc, &s, at);
    let try_in = |a: &mut Replica, who: &str| {
        let before = a.doc(doc).unwrap().heads();
        let err = a
            .execute(
                doc,
                Op::Ledger(LedgerOp::CheckIn {
                    session: s.clone(),
                    volunteer: vol(who),
                    code: code.clone(),
                }),
                at,
            )
            .unwrap_err();
        assert_eq!(a.doc(doc).unwrap().heads(), before);
        err
    };
    let err = try_in(&mut a, &v.to_string());
    assert!(
        matches!(session_err(err), SessionError::Inactive { .. }),
        "a paused volunteer checks in"
    );
    let err = try_in(&mut a, "dianye:999");
    assert!(
        matches!(err, Error::Ledger(LedgerError::UnknownVolunteer { .. })),
        "{err}"
    );
}
