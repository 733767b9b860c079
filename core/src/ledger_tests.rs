use super::*;
use crate::DocId;
use crate::replica::{Error, NewDoc, Op, Replica};
use crate::testutil::{date, org, replica, send, sync, t};

fn now() -> Timestamp {
    t("2026-06-01T10:00:00+08:00")
}

fn ledger_of(r: &mut Replica, community: &str) -> DocId {
    r.create(
        NewDoc::Ledger {
            street: org("beishi"),
            community: org(community),
            year: 2026,
            rules: crate::testutil::hand_rules(),
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
    assert_eq!(a.balance(&vol("dianye:1"), crate::testutil::now()), Points(350));
    a.execute(
        doc,
        Op::Ledger(LedgerOp::SetRules(LedgerRules {
            points_per_hour: Points::whole(2),
            star_thresholds: vec![Points::whole(1), Points::whole(10)],
            expiry: Default::default(),
            hand_points: true,
        })),
        now(),
    )
    .unwrap();
    service(&mut a, doc, "dianye:1", 0.5, None).unwrap();
    assert_eq!(a.balance(&vol("dianye:1"), crate::testutil::now()), Points(450));
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
    assert_eq!(home.balance(&vol("dianye:7"), crate::testutil::now()), Points::whole(1));
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
    assert_eq!(home.balance(&vol("dianye:3"), crate::testutil::now()), Points::whole(-1));
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
                    expiry: Default::default(),
                    hand_points: true,
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

// ---- batches (imports) ----------------------------------------------------------------------

fn row(v: &str, hours: f64, source: Option<&str>) -> ServiceRow {
    ServiceRow {
        volunteer: vol(v),
        activity: "patrol".into(),
        team: None,
        date: date(2026, 5, 30),
        hours,
        evidence: None,
        source: source.map(Into::into),
    }
}

/// Runs a batch; the outcomes, and whether a change was written (a batch with nothing to
/// write must leave the document unchanged).
fn import(r: &mut Replica, doc: DocId, rows: Vec<ServiceRow>) -> (Vec<RowOutcome>, bool) {
    let before = r.doc(doc).unwrap().heads();
    match r.execute(doc, Op::Ledger(LedgerOp::RecordServices { rows }), now()) {
        Ok(w) => match w.effect {
            Effect::Imported(o) => (o, true),
            other => panic!("unexpected effect {other:?}"),
        },
        Err(Error::Ledger(LedgerError::NothingToWrite(o))) => {
            assert_eq!(
                r.doc(doc).unwrap().heads(),
                before,
                "nothing to write, but written"
            );
            (o, false)
        }
        Err(e) => panic!("{e}"),
    }
}

fn recorded(o: &[RowOutcome]) -> Vec<EntryId> {
    o.iter()
        .filter_map(|o| match o {
            RowOutcome::Recorded { entry } => Some(entry.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_batch_is_one_change_and_a_bad_row_does_not_stop_the_others() {
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye");
    let changes = a.changes(doc, &[]).unwrap().len();
    let mut wrong_year = row("dianye:3", 1.0, Some("s4"));
    wrong_year.date = date(2025, 12, 31);
    let mut no_activity = row("dianye:4", 1.0, Some("s5"));
    no_activity.activity = " ".into();
    let rows = vec![
        row("dianye:1", 2.0, Some("s1")),
        row("dianye:2", 30.0, Some("s2")),
        row("dianye:1", 1.5, Some("s3")),
        wrong_year,
        no_activity,
        row("dianye:2", 1.0, Some(&"x".repeat(MAX_SOURCE_LEN + 1))),
        row("dianye:2", 1.0, None),
    ];
    let (out, written) = import(&mut a, doc, rows);
    assert!(written);
    assert_eq!(
        a.changes(doc, &[]).unwrap().len(),
        changes + 1,
        "one change"
    );
    let rejected: Vec<String> = out
        .iter()
        .filter_map(|o| match o {
            RowOutcome::Rejected { error } => Some(error.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(rejected.len(), 4, "{out:?}");
    assert!(matches!(out[1], RowOutcome::Rejected { .. }), "{out:?}");
    assert!(
        rejected[0].contains("hours must be more than 0"),
        "{rejected:?}"
    );
    assert!(
        rejected[1].contains("not in this ledger's year 2026"),
        "{rejected:?}"
    );
    assert!(
        rejected[2].contains("activity must not be empty"),
        "{rejected:?}"
    );
    assert!(rejected[3].contains("invalid source id"), "{rejected:?}");
    // Numbered in order, from the writer's next counter; a later write follows them.
    let ids = recorded(&out);
    let w = crate::testutil::writer("dianye", 1);
    let names: Vec<String> = ids.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [format!("{w}:1"), format!("{w}:2"), format!("{w}:3")]
    );
    assert_eq!(
        service(&mut a, doc, "dianye:9", 1.0, None)
            .unwrap()
            .to_string(),
        format!("{w}:4")
    );
    assert_eq!(a.balance(&vol("dianye:1"), crate::testutil::now()), Points(350));
    assert_eq!(a.balance(&vol("dianye:2"), crate::testutil::now()), Points(100));
    let view = a.ledger(doc).unwrap();
    let scope = crate::testutil::scope("dianye");
    assert_eq!(view.imported(&scope, "s1"), Some(ids[0].clone()));
    assert_eq!(
        view.imported(&scope, "s2"),
        None,
        "a rejected row is not imported"
    );
    let entries = view.entries();
    assert_eq!(entries[0].1.source.as_deref(), Some("s1"));
    assert_eq!(entries[2].1.source, None);
    // A receiver accepts the batch as it is.
    let mut b = replica("hongqi", 2);
    send(&a, &mut b);
    assert_eq!(b.balance(&vol("dianye:1"), crate::testutil::now()), Points(350));
}

#[test]
fn a_repeated_source_is_already_imported_and_adds_nothing() {
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye");
    let rows: Vec<ServiceRow> = (1..=6)
        .map(|i| row(&format!("dianye:{i}"), 1.0, Some(&format!("file:{i}"))))
        .collect();
    // An interrupted import: the first half was written.
    let (first, _) = import(&mut a, doc, rows[..3].to_vec());
    let first = recorded(&first);
    assert_eq!(first.len(), 3);
    // The whole file again: the first half is skipped, naming the entries, the rest written.
    let (out, written) = import(&mut a, doc, rows.clone());
    assert!(written);
    for (i, id) in first.iter().enumerate() {
        assert_eq!(out[i], RowOutcome::AlreadyImported { entry: id.clone() });
    }
    assert_eq!(recorded(&out).len(), 3);
    // Once more: nothing to write, nothing changed.
    let (again, written) = import(&mut a, doc, rows.clone());
    assert!(!written);
    assert!(
        again
            .iter()
            .all(|o| matches!(o, RowOutcome::AlreadyImported { .. })),
        "{again:?}"
    );
    assert_eq!(a.ledger(doc).unwrap().entries().len(), 6);
    // A source repeated within one batch is written once.
    let (dup, _) = import(
        &mut a,
        doc,
        vec![
            row("dianye:1", 1.0, Some("id-7")),
            row("dianye:1", 1.0, Some("id-7")),
        ],
    );
    let id = recorded(&dup);
    assert_eq!(id.len(), 1);
    assert_eq!(
        dup[1],
        RowOutcome::AlreadyImported {
            entry: id[0].clone()
        }
    );
    // Another node of the community, having received the ledger, skips the same rows.
    let mut b = replica("dianye", 2);
    send(&a, &mut b);
    let (out, written) = import(&mut b, doc, rows);
    assert!(!written, "{out:?}");
    assert_eq!(b.ledger(doc).unwrap().entries().len(), 7);
}

#[test]
fn the_source_index_follows_received_changes() {
    let mut a = replica("dianye", 1);
    let mut b = replica("dianye", 2);
    let doc = ledger_of(&mut a, "dianye");
    send(&a, &mut b);
    // b builds its index, then receives a's import.
    assert_eq!(
        import(&mut b, doc, vec![row("dianye:1", 1.0, Some("b-1"))])
            .0
            .len(),
        1
    );
    import(&mut a, doc, vec![row("dianye:1", 1.0, Some("a-1"))]);
    send(&a, &mut b);
    let (out, written) = import(
        &mut b,
        doc,
        vec![
            row("dianye:1", 1.0, Some("a-1")),
            row("dianye:1", 1.0, Some("b-1")),
        ],
    );
    assert!(!written, "{out:?}");
    // The index's counters are what a scan of the keys finds, for every writer.
    let d = b.doc(doc).unwrap();
    for w in [
        crate::testutil::writer("dianye", 1),
        crate::testutil::writer("dianye", 2),
    ] {
        assert_eq!(
            d.with_index(
                crate::ledger::EntryIndex::build,
                |ix: &crate::ledger::EntryIndex| ix.next_counter(&w)
            ),
            d.next_counter_for("entries", "", &w)
        );
        assert_eq!(d.next_counter_for("entries", "", &w), 2);
    }
}

#[test]
fn another_issuers_source_does_not_block_a_row() {
    let mut grid = replica("state-grid", 1);
    let mut dy = replica("dianye", 1);
    let doc = ledger_of(&mut dy, "dianye");
    send(&dy, &mut grid);
    // An organiser of the community records a row under a source id first …
    let (out, _) = import(&mut grid, doc, vec![row("dianye:1", 1.0, Some("sheet:1"))]);
    assert_eq!(recorded(&out).len(), 1);
    send(&grid, &mut dy);
    // … which does not make the community's own row with that id "already imported".
    let (out, written) = import(&mut dy, doc, vec![row("dianye:2", 1.0, Some("sheet:1"))]);
    assert!(written);
    assert_eq!(recorded(&out).len(), 1);
    // A community of another street may not import into the ledger at all.
    let mut other = replica("xianghe", 1);
    send(&dy, &mut other);
    let err = other
        .execute(
            doc,
            Op::Ledger(LedgerOp::RecordServices {
                rows: vec![row("dianye:1", 1.0, None)],
            }),
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Ledger(LedgerError::NotAllowed { .. })),
        "{err}"
    );
}

#[test]
fn a_full_batch_defers_its_last_rows_and_stays_within_the_change_limit() {
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye");
    let long = |i: usize| {
        let mut r = row("dianye:1", 1.0, Some(&format!("{i:0>120}")));
        r.activity = "a".repeat(1_000);
        r.evidence = Some("e".repeat(1_000));
        r
    };
    let rows: Vec<ServiceRow> = (0..MAX_BATCH_ROWS).map(long).collect();
    let (out, written) = import(&mut a, doc, rows.clone());
    assert!(written);
    let n = recorded(&out).len();
    assert!(n > 10 && n < MAX_BATCH_ROWS, "{n}");
    assert!(out[n..].iter().all(|o| *o == RowOutcome::Deferred));
    let last = a.changes(doc, &[]).unwrap().pop().unwrap();
    assert!(
        last.change.len() <= crate::document::MAX_CHANGE_BYTES,
        "{} bytes",
        last.change.len()
    );
    // Receivers accept it; the deferred rows go in the next change.
    let mut b = replica("dianye", 2);
    send(&a, &mut b);
    let (out2, _) = import(&mut a, doc, rows[n..].to_vec());
    assert!(recorded(&out2).len() > 10);
    send(&a, &mut b);
    assert_eq!(
        b.ledger(doc).unwrap().entries().len(),
        n + recorded(&out2).len()
    );
    // Batch sizes are bounded.
    for rows in [vec![], (0..=MAX_BATCH_ROWS).map(long).collect()] {
        let err = a
            .execute(doc, Op::Ledger(LedgerOp::RecordServices { rows }), now())
            .unwrap_err();
        assert!(
            matches!(err, Error::Ledger(LedgerError::BatchSize { .. })),
            "{err}"
        );
    }
}
