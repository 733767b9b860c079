use super::*;
use crate::DocId;
use crate::replica::{Error, NewDoc, Op, Replica};
use crate::testutil::{date, org, replica, sync, t};

fn now() -> Timestamp {
    t("2026-06-01T10:00:00+08:00")
}

fn ledger_of(r: &mut Replica, community: &str) -> DocId {
    r.create(
        NewDoc::Ledger {
            street: org("beishi"),
            community: org(community),
            year: 2026,
            rules: LedgerRules::default(),
        },
        now(),
    )
    .unwrap()
    .doc
}

fn vol(s: &str) -> VolunteerId {
    s.parse().unwrap()
}

fn service(
    r: &mut Replica,
    doc: DocId,
    v: &str,
    hours: f64,
    team: Option<&str>,
) -> Result<EntryId, Error> {
    let w = r.execute(
        doc,
        Op::Ledger(LedgerOp::RecordService {
            volunteer: vol(v),
            activity: "elder care rota".into(),
            team: team.map(Into::into),
            date: date(2026, 5, 30),
            hours,
            evidence: Some("photo-1".into()),
        }),
        now(),
    )?;
    match w.effect {
        Effect::Entry(id) => Ok(id),
        other => panic!("unexpected effect {other:?}"),
    }
}

fn redeem(r: &mut Replica, doc: DocId, v: &str, cost: i64) -> Result<(), Error> {
    r.execute(
        doc,
        Op::Ledger(LedgerOp::Redeem {
            volunteer: vol(v),
            item: "rice 5kg".into(),
            cost: Points::whole(cost),
            outlet: "points store".into(),
        }),
        now(),
    )
    .map(drop)
}

fn refused(r: &mut Replica, doc: DocId, op: LedgerOp) -> Error {
    let before = r.doc(doc).unwrap().heads();
    let err = r.execute(doc, Op::Ledger(op), now()).unwrap_err();
    assert_eq!(
        r.doc(doc).unwrap().heads(),
        before,
        "document changed by {err}"
    );
    err
}

#[test]
fn service_earns_points_by_the_rule_and_ids_are_issuer_plus_counter() {
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye");
    let e1 = service(&mut a, doc, "dianye:1", 2.5, None).unwrap();
    let e2 = service(&mut a, doc, "dianye:1", 1.0, None).unwrap();
    assert_eq!(
        (e1.to_string(), e2.to_string()),
        (
            format!("{}:1", crate::testutil::writer("dianye", 1)),
            format!("{}:2", crate::testutil::writer("dianye", 1))
        )
    );
    assert_eq!(a.balance(&vol("dianye:1")), Points(350));
    a.execute(
        doc,
        Op::Ledger(LedgerOp::SetRules(LedgerRules {
            points_per_hour: Points::whole(2),
            star_thresholds: vec![Points::whole(1), Points::whole(10)],
        })),
        now(),
    )
    .unwrap();
    service(&mut a, doc, "dianye:1", 0.5, None).unwrap();
    assert_eq!(a.balance(&vol("dianye:1")), Points(450));
    let board = a.ledger(doc).unwrap().leaderboard(None);
    assert_eq!(board[0].stars, 1);
    assert_eq!(board[0].minutes, 240);
}

#[test]
fn bad_hours_and_dates_are_refused() {
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye");
    for h in [-1.0, 0.0, 24.5, f64::NAN] {
        let err = refused(
            &mut a,
            doc,
            LedgerOp::RecordService {
                volunteer: vol("dianye:1"),
                activity: "patrol".into(),
                team: None,
                date: date(2026, 5, 1),
                hours: h,
                evidence: None,
            },
        );
        assert!(
            matches!(err, Error::Ledger(LedgerError::InvalidHours(_))),
            "{h}: {err}"
        );
    }
    let err = refused(
        &mut a,
        doc,
        LedgerOp::RecordService {
            volunteer: vol("dianye:1"),
            activity: "patrol".into(),
            team: None,
            date: date(2025, 12, 31),
            hours: 1.0,
            evidence: None,
        },
    );
    assert!(
        matches!(
            err,
            Error::Ledger(LedgerError::WrongYear { year: 2026, .. })
        ),
        "{err}"
    );
}

#[test]
fn volunteer_earns_elsewhere_and_redeems_at_home() {
    let mut home = replica("dianye", 1);
    let mut other = replica("hongqi", 2);
    let home_ledger = ledger_of(&mut home, "dianye");
    let other_ledger = ledger_of(&mut other, "hongqi");
    service(&mut other, other_ledger, "dianye:7", 3.0, Some("choir")).unwrap();
    // Before the other community's ledger arrives, the home node knows a balance of 0.
    let err = redeem(&mut home, home_ledger, "dianye:7", 2).unwrap_err();
    assert_eq!(
        err,
        Error::Ledger(LedgerError::InsufficientBalance {
            volunteer: vol("dianye:7"),
            balance: Points(0),
            cost: Points::whole(2),
        })
    );
    sync(&mut home, &mut other);
    redeem(&mut home, home_ledger, "dianye:7", 2).unwrap();
    assert_eq!(home.balance(&vol("dianye:7")), Points::whole(1));
    let err = redeem(&mut home, home_ledger, "dianye:7", 2).unwrap_err();
    assert!(
        err.to_string()
            .contains("has 1 points known here; redeeming 2"),
        "{err}"
    );
    // Another community may not redeem a dianye volunteer's points.
    let err = redeem(&mut other, other_ledger, "dianye:7", 1).unwrap_err();
    assert!(
        matches!(err, Error::Ledger(LedgerError::NotHome { .. })),
        "{err}"
    );
    // …nor may the home community write service records in another community's ledger.
    let err = service(&mut home, other_ledger, "dianye:7", 1.0, None).unwrap_err();
    assert!(
        matches!(err, Error::Ledger(LedgerError::NotAllowed { .. })),
        "{err}"
    );
    // Stars and leaderboards count earned points, not what was spent.
    let board = leaderboard_across(
        home.docs().values(),
        &LedgerRules::default(),
        |v| v.org() == &org("dianye"),
        None,
    );
    assert_eq!(board[0].earned, Points::whole(3));
    let team = leaderboard_across(
        home.docs().values(),
        &LedgerRules::default(),
        |_| true,
        Some("choir"),
    );
    assert_eq!(team.len(), 1);
}

#[test]
fn corrections_can_make_a_balance_owed_and_block_redemption() {
    let mut home = replica("dianye", 1);
    let doc = ledger_of(&mut home, "dianye");
    let e = service(&mut home, doc, "dianye:3", 4.0, None).unwrap();
    redeem(&mut home, doc, "dianye:3", 3).unwrap();
    home.execute(
        doc,
        Op::Ledger(LedgerOp::Correct {
            volunteer: vol("dianye:3"),
            corrects: Some(e.clone()),
            delta: Points::whole(-2),
            reason: "double-counted shift".into(),
        }),
        now(),
    )
    .unwrap();
    assert_eq!(home.balance(&vol("dianye:3")), Points::whole(-1));
    let err = redeem(&mut home, doc, "dianye:3", 1).unwrap_err();
    assert!(matches!(
        err,
        Error::Ledger(LedgerError::InsufficientBalance { .. })
    ));
    let err = refused(
        &mut home,
        doc,
        LedgerOp::Correct {
            volunteer: vol("dianye:4"),
            corrects: Some(e),
            delta: Points::whole(1),
            reason: "x".into(),
        },
    );
    assert!(
        matches!(err, Error::Ledger(LedgerError::WrongVolunteer { .. })),
        "{err}"
    );
    let err = refused(
        &mut home,
        doc,
        LedgerOp::Correct {
            volunteer: vol("dianye:3"),
            corrects: Some("dianye:99".parse().unwrap()),
            delta: Points::whole(1),
            reason: "x".into(),
        },
    );
    assert!(
        matches!(err, Error::Ledger(LedgerError::UnknownEntry(_))),
        "{err}"
    );
    let err = refused(
        &mut home,
        doc,
        LedgerOp::Redeem {
            volunteer: vol("dianye:3"),
            item: "tea".into(),
            cost: Points(0),
            outlet: "store".into(),
        },
    );
    assert!(
        matches!(err, Error::Ledger(LedgerError::InvalidAmount(_))),
        "{err}"
    );
}

#[test]
fn invalid_rules_are_refused() {
    let mut a = replica("dianye", 1);
    let err = a
        .create(
            NewDoc::Ledger {
                street: org("beishi"),
                community: org("dianye"),
                year: 2026,
                rules: LedgerRules {
                    points_per_hour: Points(0),
                    star_thresholds: vec![],
                },
            },
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Ledger(LedgerError::InvalidRules(_))),
        "{err}"
    );
    assert!(a.ids_of(crate::DocKind::Ledger).is_empty());
}

#[test]
fn points_display_and_stars() {
    assert_eq!(Points(1250).to_string(), "12.50");
    assert_eq!(Points(-300).to_string(), "-3");
    let r = LedgerRules::default();
    assert_eq!(r.stars(Points::whole(9)), 0);
    assert_eq!(r.stars(Points::whole(50)), 2);
    assert_eq!(r.stars(Points::whole(10_000)), 5);
    assert_eq!(r.points_for(90), Points(150));
}

#[test]
fn entries_read_in_pages_equal_all_entries() {
    let mut r = replica("dianye", 1);
    let doc = ledger_of(&mut r, "dianye");
    for i in 0..23 {
        service(&mut r, doc, &format!("dianye:{}", i % 5 + 1), 1.0, None).unwrap();
    }
    let view = r.ledger(doc).unwrap();
    let all = view.entries();
    assert_eq!(all.len(), 23);
    let mut paged = Vec::new();
    let mut after: Option<EntryId> = None;
    loop {
        let page = view.entries_after(after.as_ref(), 5);
        assert!(page.len() <= 5);
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        paged.extend(page);
    }
    assert_eq!(paged, all);
    assert!(view.entries_after(Some(&all[22].0), 5).is_empty());
    assert_eq!(view.entries_after(None, 0), Vec::new());
}
