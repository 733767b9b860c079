use super::*;
use crate::DocId;
use crate::ids::EntryId;
use crate::document::Author;
use crate::ledger::{LedgerOp, Ledger};
use crate::replica::{Error, NewDoc, Op, Replica};
use crate::signed::SignedChange;
use crate::testutil::{date, key, node, org, replica, scope, sync, t};
use proptest::prelude::*;

fn at(d: Date) -> Timestamp {
    t(&format!("{d}T10:00:00+08:00"))
}

fn vol(s: &str) -> VolunteerId {
    s.parse().unwrap()
}

fn ledger(r: &mut Replica, community: &str, year: i16, expiry: Expiry) -> DocId {
    r.create(
        NewDoc::Ledger {
            street: org("beishi"),
            community: org(community),
            year,
            rules: LedgerRules {
                expiry,
                // These tests record hours by hand and count their points.
                hand_points: true,
                ..LedgerRules::default()
            },
        },
        at(date(2026, 1, 1)),
    )
    .unwrap()
    .doc
}

fn serve(r: &mut Replica, doc: DocId, v: &str, day: Date, hours: f64) {
    r.execute(
        doc,
        Op::Ledger(LedgerOp::RecordService {
            volunteer: vol(v),
            activity: "patrol".into(),
            team: None,
            date: day,
            hours,
            evidence: None,
        }),
        at(day),
    )
    .unwrap();
}

fn exec(r: &mut Replica, doc: DocId, op: LedgerOp, day: Date) -> Result<Effect, Error> {
    r.execute(doc, Op::Ledger(op), at(day)).map(|w| w.effect)
}

/// The operation is refused with a ledger error, and the document is unchanged.
fn refused(r: &mut Replica, doc: DocId, op: LedgerOp, day: Date) -> LedgerError {
    let before = r.doc(doc).unwrap().heads();
    let err = exec(r, doc, op, day).unwrap_err();
    assert_eq!(r.doc(doc).unwrap().heads(), before, "changed by {err}");
    match err {
        Error::Ledger(e) => e,
        other => panic!("expected a ledger error, got {other}"),
    }
}

fn add(r: &mut Replica, doc: DocId, name: &str, cost: i64, stock: u32) -> StoreItemId {
    match exec(
        r,
        doc,
        LedgerOp::StoreAdd {
            name: name.into(),
            cost: Points::whole(cost),
            stock,
        },
        date(2026, 6, 1),
    )
    .unwrap()
    {
        Effect::StoreItem(id) => id,
        e => panic!("{e:?}"),
    }
}

fn take(item: &StoreItemId, v: &str) -> LedgerOp {
    LedgerOp::RedeemItem {
        volunteer: vol(v),
        item: item.clone(),
        outlet: None,
    }
}

fn state(r: &Replica, v: &str, day: Date) -> PointsState {
    points_state(r.docs().values(), &scope("dianye"), &vol(v), day)
}

fn stock(r: &Replica, doc: DocId, item: &StoreItemId) -> i64 {
    store_line(r.doc(doc).unwrap(), item).unwrap().stock
}

#[test]
fn old_rules_and_redemptions_decode_and_default_rules_are_written_as_before() {
    let rules: LedgerRules =
        serde_json::from_str(r#"{"points_per_hour":100,"star_thresholds":[1000]}"#).unwrap();
    assert_eq!(rules.expiry, Expiry::Never);
    assert!(!serde_json::to_string(&LedgerRules::default())
        .unwrap()
        .contains("expiry"));
    let r: LedgerRules =
        serde_json::from_str(r#"{"points_per_hour":100,"star_thresholds":[],"expiry":{"after_years":2}}"#)
            .unwrap();
    assert_eq!(r.expiry, Expiry::AfterYears(2));
    let body: EntryBody = serde_json::from_str(
        r#"{"type":"redemption","item":"tea","cost":100,"outlet":"store"}"#,
    )
    .unwrap();
    assert!(matches!(body, EntryBody::Redemption { store_item: None, .. }));
    for bad in [Expiry::AfterYears(0), Expiry::AfterYears(51)] {
        let rules = LedgerRules {
            expiry: bad,
            ..LedgerRules::default()
        };
        assert!(matches!(rules.validate(), Err(LedgerError::InvalidRules(_))));
    }
}

#[test]
fn expiry_days_at_year_end_and_after_n_years() {
    assert_eq!(Expiry::Never.expires_on(date(2026, 12, 31)), None);
    assert_eq!(
        Expiry::YearEnd.expires_on(date(2026, 12, 31)),
        Some(date(2027, 1, 1))
    );
    assert_eq!(
        Expiry::YearEnd.expires_on(date(2026, 1, 1)),
        Some(date(2027, 1, 1))
    );
    assert_eq!(
        Expiry::AfterYears(2).expires_on(date(2026, 3, 5)),
        Some(date(2028, 3, 5))
    );
    // 29 February falls to 28 February.
    assert_eq!(
        Expiry::AfterYears(1).expires_on(date(2028, 2, 29)),
        Some(date(2029, 2, 28))
    );
}

#[test]
fn year_end_points_are_spendable_on_31_december_and_expired_on_1_january() {
    let mut r = replica("dianye", 1);
    let l26 = ledger(&mut r, "dianye", 2026, Expiry::YearEnd);
    let l27 = ledger(&mut r, "dianye", 2027, Expiry::Never);
    serve(&mut r, l26, "dianye:1", date(2026, 12, 31), 2.0);
    let eve = state(&r, "dianye:1", date(2026, 12, 31));
    assert_eq!((eve.balance, eve.expired), (Points::whole(2), Points(0)));
    assert_eq!(eve.next_expiry, Some((date(2027, 1, 1), Points::whole(2))));
    let jan = state(&r, "dianye:1", date(2027, 1, 1));
    assert_eq!((jan.balance, jan.expired), (Points(0), Points::whole(2)));
    assert_eq!(jan.earned, Points::whole(2), "earned points never expire");
    // Redeeming them on 1 January is refused, naming how many expired.
    let op = LedgerOp::Redeem {
        volunteer: vol("dianye:1"),
        item: "tea".into(),
        cost: Points::whole(1),
        outlet: "store".into(),
    };
    let e = refused(&mut r, l27, op.clone(), date(2027, 1, 1));
    assert_eq!(
        e,
        LedgerError::PointsExpired {
            volunteer: vol("dianye:1"),
            balance: Points(0),
            expired: Points::whole(2),
            cost: Points::whole(1),
        }
    );
    assert!(e.to_string().contains("2 points expired"), "{e}");
    // On 31 December the same redemption goes through.
    exec(&mut r, l26, op, date(2026, 12, 31)).unwrap();
    let jan = state(&r, "dianye:1", date(2027, 1, 1));
    assert_eq!(
        (jan.balance, jan.expired, jan.redeemed),
        (Points(0), Points::whole(1), Points::whole(1))
    );
    // A redemption beyond even the expired points is an ordinary overdraft.
    let e = refused(
        &mut r,
        l27,
        LedgerOp::Redeem {
            volunteer: vol("dianye:1"),
            item: "tv".into(),
            cost: Points::whole(50),
            outlet: "store".into(),
        },
        date(2027, 1, 2),
    );
    assert!(matches!(e, LedgerError::InsufficientBalance { .. }), "{e}");
}

#[test]
fn redemptions_take_the_oldest_points_first_and_lots_expire_after_n_years() {
    let mut r = replica("dianye", 1);
    let l = ledger(&mut r, "dianye", 2026, Expiry::AfterYears(1));
    serve(&mut r, l, "dianye:1", date(2026, 1, 10), 3.0);
    serve(&mut r, l, "dianye:1", date(2026, 6, 1), 2.0);
    exec(
        &mut r,
        l,
        LedgerOp::Redeem {
            volunteer: vol("dianye:1"),
            item: "tea".into(),
            cost: Points::whole(2),
            outlet: "store".into(),
        },
        date(2026, 7, 1),
    )
    .unwrap();
    // 1 point left of January's 3, all of June's 2.
    let s = state(&r, "dianye:1", date(2027, 1, 9));
    assert_eq!((s.balance, s.expired), (Points::whole(3), Points(0)));
    let s = state(&r, "dianye:1", date(2027, 1, 10));
    assert_eq!((s.balance, s.expired), (Points::whole(2), Points::whole(1)));
    assert_eq!(s.next_expiry, Some((date(2027, 6, 1), Points::whole(2))));
    let s = state(&r, "dianye:1", date(2027, 6, 1));
    assert_eq!((s.balance, s.expired), (Points(0), Points::whole(3)));
}

#[test]
fn without_expiry_the_state_is_the_sum_of_the_entries() {
    let mut r = replica("dianye", 1);
    let l = ledger(&mut r, "dianye", 2026, Expiry::Never);
    serve(&mut r, l, "dianye:1", date(2026, 1, 10), 3.0);
    let s = state(&r, "dianye:1", date(2040, 1, 1));
    assert_eq!(s.balance, r.balance_of(&scope("dianye"), &vol("dianye:1"), crate::testutil::now()));
    assert_eq!((s.balance, s.expired), (Points::whole(3), Points(0)));
}

#[test]
fn the_store_takes_one_unit_per_redemption_and_refuses_when_out_of_stock() {
    let mut r = replica("dianye", 1);
    let l = ledger(&mut r, "dianye", 2026, Expiry::Never);
    serve(&mut r, l, "dianye:1", date(2026, 5, 1), 10.0);
    let rice = add(&mut r, l, "5 kg rice", 2, 2);
    let day = date(2026, 6, 2);
    exec(&mut r, l, take(&rice, "dianye:1"), day).unwrap();
    exec(&mut r, l, take(&rice, "dianye:1"), day).unwrap();
    assert_eq!(stock(&r, l, &rice), 0);
    let e = refused(&mut r, l, take(&rice, "dianye:1"), day);
    assert_eq!(
        e,
        LedgerError::OutOfStock {
            item: rice.clone(),
            name: "5 kg rice".into(),
            stock: 0
        }
    );
    assert!(e.to_string().contains("out of stock"));
    exec(
        &mut r,
        l,
        LedgerOp::StoreRestock {
            item: rice.clone(),
            quantity: 1,
        },
        day,
    )
    .unwrap();
    exec(&mut r, l, take(&rice, "dianye:1"), day).unwrap();
    let line = store_line(r.doc(l).unwrap(), &rice).unwrap();
    assert_eq!((line.restocked, line.redeemed, line.stock), (1, 3, 0));
    assert_eq!(state(&r, "dianye:1", day).balance, Points::whole(4));
    // The entries are redemptions naming the item, with its name and cost.
    let entries = Ledger::new(r.doc(l).unwrap()).entries();
    let (_, last) = entries.last().unwrap();
    assert!(matches!(
        &last.body,
        EntryBody::Redemption { item, cost, store_item: Some(id), .. }
            if item == "5 kg rice" && *cost == Points::whole(2) && *id == rice
    ));
}

#[test]
fn bad_store_operations_are_refused_with_what_was_wrong() {
    let mut r = replica("dianye", 1);
    let l = ledger(&mut r, "dianye", 2026, Expiry::Never);
    serve(&mut r, l, "dianye:1", date(2026, 5, 1), 1.0);
    let day = date(2026, 6, 2);
    let tv = add(&mut r, l, "television", 50, 1);
    // Too dear for the balance: stock untouched.
    let e = refused(&mut r, l, take(&tv, "dianye:1"), day);
    assert!(matches!(e, LedgerError::InsufficientBalance { .. }), "{e}");
    assert_eq!(stock(&r, l, &tv), 1);
    // Unknown item, another community's volunteer, bad amounts and names.
    let ghost: StoreItemId = "dianye:99".parse().unwrap();
    let e = refused(&mut r, l, take(&ghost, "dianye:1"), day);
    assert_eq!(e, LedgerError::UnknownStoreItem(ghost.clone()));
    let e = refused(
        &mut r,
        l,
        LedgerOp::StoreRestock {
            item: ghost,
            quantity: 1,
        },
        day,
    );
    assert!(matches!(e, LedgerError::UnknownStoreItem(_)));
    let e = refused(&mut r, l, take(&tv, "hongqi:1"), day);
    assert!(matches!(e, LedgerError::NotHome { .. }), "{e}");
    for (name, cost, stock) in [("", 1, 1), ("tea", 0, 1), ("tea", 1, MAX_STOCK + 1)] {
        let op = LedgerOp::StoreAdd {
            name: name.into(),
            cost: Points::whole(cost),
            stock,
        };
        let e = refused(&mut r, l, op, day);
        assert!(
            matches!(e, LedgerError::Empty(_) | LedgerError::InvalidAmount(_)),
            "{e}"
        );
    }
    let e = refused(
        &mut r,
        l,
        LedgerOp::StoreRestock {
            item: tv.clone(),
            quantity: 0,
        },
        day,
    );
    assert!(matches!(e, LedgerError::InvalidAmount(_)), "{e}");
    // Only the community keeps its store.
    let mut u = replica("power-co", 1);
    sync(&mut r, &mut u);
    let e = refused(
        &mut u,
        l,
        LedgerOp::StoreAdd {
            name: "tea".into(),
            cost: Points::whole(1),
            stock: 1,
        },
        day,
    );
    assert!(matches!(e, LedgerError::NotAllowed { .. }), "{e}");
}

#[test]
fn two_workstations_taking_the_last_unit_concurrently_read_minus_one_until_restocked() {
    let mut a = replica("dianye", 1);
    let l = ledger(&mut a, "dianye", 2026, Expiry::Never);
    serve(&mut a, l, "dianye:1", date(2026, 5, 1), 10.0);
    serve(&mut a, l, "dianye:2", date(2026, 5, 1), 10.0);
    let rice = add(&mut a, l, "5 kg rice", 2, 1);
    let mut b = replica("dianye", 2);
    sync(&mut a, &mut b);
    let day = date(2026, 6, 2);
    exec(&mut a, l, take(&rice, "dianye:1"), day).unwrap();
    exec(&mut b, l, take(&rice, "dianye:2"), day).unwrap();
    sync(&mut a, &mut b);
    assert_eq!(stock(&a, l, &rice), -1);
    assert_eq!(stock(&b, l, &rice), -1);
    let e = refused(&mut a, l, take(&rice, "dianye:1"), day);
    assert!(matches!(e, LedgerError::OutOfStock { stock: -1, .. }), "{e}");
    let restock = LedgerOp::StoreRestock {
        item: rice.clone(),
        quantity: 1,
    };
    exec(&mut a, l, restock.clone(), day).unwrap();
    let e = refused(&mut a, l, take(&rice, "dianye:1"), day);
    assert!(matches!(e, LedgerError::OutOfStock { stock: 0, .. }), "{e}");
    exec(&mut a, l, restock, day).unwrap();
    exec(&mut a, l, take(&rice, "dianye:1"), day).unwrap();
}

/// A change by node `n` of `o` on top of `base`, signed with its key (a forger's own copy).
fn forge(base: &crate::document::Document, o: &str, n: u8, day: Date, puts: &[Put]) -> SignedChange {
    let mut doc = base.clone();
    doc.set_author(&Author {
        node: node(o, n),
        incarnation: [0xEE; 8],
        org: org(o),
    });
    let c = doc.commit(at(day), "forged", puts).unwrap();
    SignedChange::sign(&key(o, n), doc.id(), c.raw_bytes()).unwrap()
}

fn own(o: &str, n: u8, k: u64) -> String {
    let a = Author {
        node: node(o, n),
        incarnation: [0xEE; 8],
        org: org(o),
    };
    format!("{o}@{}:{k}", hex::encode(a.tag()))
}

#[test]
fn crafted_store_changes_are_refused_by_receivers() {
    let mut dy = replica("dianye", 1);
    let l = ledger(&mut dy, "dianye", 2026, Expiry::Never);
    serve(&mut dy, l, "dianye:1", date(2026, 5, 1), 10.0);
    let rice = add(&mut dy, l, "5 kg rice", 2, 1);
    let mut receiver = replica("beishi", 1);
    sync(&mut dy, &mut receiver);
    let base = dy.doc(l).unwrap().clone();
    let day = date(2026, 6, 2);
    let item = |by: &str, cost: i64| StoreItem {
        name: "tea".into(),
        cost: Points::whole(cost),
        stock: 5,
        by: scope(by),
        at: at(day),
    };
    let redemption = |name: &str, cost: i64, id: &StoreItemId| Entry {
        volunteer: vol("dianye:1"),
        home: scope("dianye"),
        body: EntryBody::Redemption {
            item: name.into(),
            cost: Points::whole(cost),
            outlet: "points store".into(),
            store_item: Some(id.clone()),
        },
        issuer: scope("dianye"),
        at: at(day),
        source: None,
    };
    let ghost: StoreItemId = own("dianye", 3, 40).parse().unwrap();
    let cases: Vec<(&str, SignedChange)> = vec![
        (
            "a unit keeps another's store",
            forge(
                &base,
                "power-co",
                1,
                day,
                &[Put::new("meta", format!("store/{}", own("power-co", 1, 1)), &item("beishi/dianye/power-co", 1))],
            ),
        ),
        (
            "a store item costing nothing",
            forge(
                &base,
                "dianye",
                3,
                day,
                &[Put::new("meta", format!("store/{}", own("dianye", 3, 1)), &item("beishi/dianye", 0))],
            ),
        ),
        (
            "a redemption below the item's cost",
            forge(
                &base,
                "dianye",
                3,
                day,
                &[Put::new("entries", own("dianye", 3, 1), &redemption("5 kg rice", 1, &rice))],
            ),
        ),
        (
            "a redemption under another item's name",
            forge(
                &base,
                "dianye",
                3,
                day,
                &[Put::new("entries", own("dianye", 3, 1), &redemption("television", 2, &rice))],
            ),
        ),
        (
            "a redemption of an item not in the history",
            forge(
                &base,
                "dianye",
                3,
                day,
                &[Put::new("entries", own("dianye", 3, 1), &redemption("tea", 2, &ghost))],
            ),
        ),
        (
            "a restock of an item not in the history",
            forge(
                &base,
                "dianye",
                3,
                day,
                &[Put::new(
                    "meta",
                    format!("restock/{ghost}/{}", own("dianye", 3, 1)),
                    &Restock {
                        quantity: 1,
                        by: scope("dianye"),
                        at: at(day),
                    },
                )],
            ),
        ),
        (
            "a restock by a unit",
            forge(
                &base,
                "power-co",
                1,
                day,
                &[Put::new(
                    "meta",
                    format!("restock/{rice}/{}", own("power-co", 1, 1)),
                    &Restock {
                        quantity: 1,
                        by: scope("beishi/dianye/power-co"),
                        at: at(day),
                    },
                )],
            ),
        ),
    ];
    let before = receiver.doc(l).unwrap().heads();
    let reasons = [
        "only the owner beishi/dianye may keep the points store",
        "cost must be positive",
        "is 5 kg rice for 2 points, not 5 kg rice for 1",
        "is 5 kg rice for 2 points, not television for 2",
        "is not in the change's history",
        "restocked item",
        "only the owner beishi/dianye may keep the points store",
    ];
    for ((what, sc), reason) in cases.into_iter().zip(reasons) {
        let e = receiver.apply(sc).expect_err(what).to_string();
        assert!(e.contains(reason), "{what}: {e}");
        assert_eq!(receiver.doc(l).unwrap().heads(), before, "{what}");
    }
    // The honest redemption of the same item is accepted.
    exec(&mut dy, l, take(&rice, "dianye:1"), day).unwrap();
    sync(&mut dy, &mut receiver);
    assert_eq!(stock(&receiver, l, &rice), 0);
}

#[test]
fn the_star_certificate_counts_earned_points_and_hours_by_year() {
    let mut r = replica("dianye", 1);
    let l26 = ledger(&mut r, "dianye", 2026, Expiry::YearEnd);
    let l27 = ledger(&mut r, "dianye", 2027, Expiry::YearEnd);
    serve(&mut r, l26, "dianye:1", date(2026, 5, 1), 8.0);
    serve(&mut r, l27, "dianye:1", date(2027, 2, 1), 3.5);
    let c = certificate(
        r.docs().values(),
        &scope("dianye"),
        &vol("dianye:1"),
        date(2027, 3, 1),
    )
    .unwrap();
    assert_eq!(c.earned, Points(1150));
    assert_eq!(c.stars, 1, "thresholds 10, 50, …");
    assert_eq!(c.balance, Points(350));
    assert_eq!(c.expired, Points::whole(8));
    assert_eq!(
        c.minutes_by_year.into_iter().collect::<Vec<_>>(),
        vec![(2026, 480), (2027, 210)]
    );
    let e = certificate(
        r.docs().values(),
        &scope("dianye"),
        &vol("dianye:9"),
        date(2027, 3, 1),
    )
    .unwrap_err();
    assert!(matches!(e, LedgerError::NoService { .. }), "{e}");
}

#[derive(Debug, Clone)]
enum Step {
    Serve(u8, u8),
    Add(u8, u8),
    Restock(u8, u8),
    Take(u8, u8),
    Redeem(u8, u8),
    Wait(u16),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..3, 1u8..5).prop_map(|(v, h)| Step::Serve(v, h)),
        (1u8..6, 0u8..3).prop_map(|(c, s)| Step::Add(c, s)),
        (0u8..4, 1u8..3).prop_map(|(i, q)| Step::Restock(i, q)),
        (0u8..4, 0u8..3).prop_map(|(i, v)| Step::Take(i, v)),
        (0u8..3, 1u8..6).prop_map(|(v, c)| Step::Redeem(v, c)),
        (1u16..90).prop_map(Step::Wait),
    ]
}

fn expiry() -> impl Strategy<Value = Expiry> {
    prop_oneof![
        Just(Expiry::Never),
        Just(Expiry::YearEnd),
        (1u8..3).prop_map(Expiry::AfterYears),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A single writer never takes a store item's stock or a balance below zero, whatever
    /// it tries (refused operations leave everything as it was).
    #[test]
    fn a_single_writer_never_takes_stock_or_a_balance_below_zero(
        rules in (expiry(), expiry()),
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let mut r = replica("dianye", 1);
        let ledgers = [
            ledger(&mut r, "dianye", 2026, rules.0),
            ledger(&mut r, "dianye", 2027, rules.1),
        ];
        let mut day = date(2026, 1, 1);
        let mut items: Vec<(DocId, StoreItemId)> = Vec::new();
        let v = |n: u8| format!("dianye:{}", n + 1);
        for s in steps {
            let l = ledgers[usize::from(day.year() != 2026)];
            let item = |i: u8| items.get(usize::from(i)).cloned();
            let op = match s {
                Step::Serve(n, h) => Some((l, LedgerOp::RecordService {
                    volunteer: vol(&v(n)),
                    activity: "patrol".into(),
                    team: None,
                    date: day,
                    hours: f64::from(h),
                    evidence: None,
                })),
                Step::Add(c, s) => Some((l, LedgerOp::StoreAdd {
                    name: format!("item {c}"),
                    cost: Points::whole(i64::from(c)),
                    stock: u32::from(s),
                })),
                Step::Restock(i, q) => item(i).map(|(d, id)| (d, LedgerOp::StoreRestock {
                    item: id,
                    quantity: u32::from(q),
                })),
                Step::Take(i, n) => item(i).map(|(d, id)| (d, take(&id, &v(n)))),
                Step::Redeem(n, c) => Some((l, LedgerOp::Redeem {
                    volunteer: vol(&v(n)),
                    item: "tea".into(),
                    cost: Points::whole(i64::from(c)),
                    outlet: "store".into(),
                })),
                Step::Wait(n) => {
                    day = day
                        .checked_add(jiff::Span::new().days(i64::from(n)))
                        .unwrap()
                        .min(date(2027, 12, 31));
                    None
                }
            };
            if let Some((d, op)) = op {
                let before = r.doc(d).unwrap().heads();
                match exec(&mut r, d, op, day) {
                    Ok(Effect::StoreItem(id)) if !items.iter().any(|(_, x)| *x == id) => {
                        items.push((d, id));
                    }
                    Ok(_) => {}
                    Err(_) => prop_assert_eq!(r.doc(d).unwrap().heads(), before),
                }
            }
            for l in ledgers {
                for line in store_lines(r.doc(l).unwrap()) {
                    prop_assert!(line.stock >= 0, "{:?}", line);
                }
            }
            for n in 0..3 {
                let s = state(&r, &v(n), day);
                prop_assert!(s.balance.0 >= 0, "{} on {}: {:?}", v(n), day, s);
            }
        }
    }
}

/// Records `hours` of service and returns the entry.
fn serve_entry(r: &mut Replica, doc: DocId, v: &str, day: Date, hours: f64) -> EntryId {
    let op = LedgerOp::RecordService {
        volunteer: vol(v),
        activity: "patrol".into(),
        team: Some("patrol".into()),
        date: day,
        hours,
        evidence: None,
    };
    match exec(r, doc, op, day).unwrap() {
        Effect::Entry(id) => id,
        e => panic!("{e:?}"),
    }
}

#[test]
fn balance_leaderboard_certificate_and_the_redemption_check_agree_on_expiry_and_declines() {
    let mut r = replica("dianye", 1);
    let l26 = ledger(&mut r, "dianye", 2026, Expiry::YearEnd);
    let l27 = ledger(&mut r, "dianye", 2027, Expiry::YearEnd);
    // 3 points in 2026 (expired on 1 January 2027), 1 point in 2027, 2 hours in 2027
    // declined as a wrong record, then 1 point redeemed.
    serve_entry(&mut r, l26, "dianye:1", date(2026, 3, 1), 3.0);
    serve_entry(&mut r, l27, "dianye:1", date(2027, 1, 5), 1.0);
    let wrong = serve_entry(&mut r, l27, "dianye:1", date(2027, 1, 6), 2.0);
    let decline = LedgerOp::Decline {
        entry: wrong.clone(),
        reason: "the volunteer was not there".into(),
    };
    exec(&mut r, l27, decline, date(2027, 1, 7)).unwrap();
    let redeem = |cost: i64| LedgerOp::Redeem {
        volunteer: vol("dianye:1"),
        item: "tea".into(),
        cost: Points::whole(cost),
        outlet: "store".into(),
    };
    // The declined 2 points cannot be spent: only 1 is spendable on 8 January.
    let e = refused(&mut r, l27, redeem(2), date(2027, 1, 8));
    assert_eq!(
        e,
        LedgerError::PointsExpired {
            volunteer: vol("dianye:1"),
            balance: Points::whole(1),
            expired: Points::whole(3),
            cost: Points::whole(2),
        }
    );
    exec(&mut r, l27, redeem(1), date(2027, 1, 8)).unwrap();

    let now = at(date(2027, 1, 10));
    let home = scope("dianye");
    let v = vol("dianye:1");
    let s = r.points_of(&home, &v, now);
    assert_eq!(
        (s.earned, s.redeemed, s.expired, s.balance),
        (
            Points::whole(4),
            Points::whole(1),
            Points::whole(3),
            Points(0)
        ),
        "declined points earn nothing, expired ones stay earned"
    );
    // Every spendable balance is the redemption check's.
    assert_eq!(r.balance(&v, now), s.balance, "balance (linli balance, statement)");
    assert_eq!(r.balance_of(&home, &v, now), s.balance, "balance at home");
    assert_eq!(
        crate::ledger::balance_across(r.docs().values(), &v, now),
        s.balance
    );
    // Leaderboards count points earned: expired ones kept, the declined entry left out.
    let board = crate::ledger::leaderboard_across(
        r.docs().values(),
        &LedgerRules::default(),
        |_| true,
        None,
    );
    assert_eq!(board.len(), 1);
    assert_eq!((board[0].earned, board[0].minutes), (s.earned, 4 * 60));
    let team = Ledger::new(r.doc(l27).unwrap()).leaderboard(Some("patrol"));
    assert_eq!((team[0].earned, team[0].minutes), (Points::whole(1), 60));
    // The certificate: earned as the leaderboard, balance and expired as the check.
    let c = certificate(r.docs().values(), &home, &v, date(2027, 1, 10)).unwrap();
    assert_eq!(
        (c.earned, c.balance, c.expired),
        (s.earned, s.balance, s.expired)
    );
    assert_eq!(
        c.minutes_by_year.into_iter().collect::<Vec<_>>(),
        vec![(2026, 180), (2027, 60)],
        "declined hours are not served hours"
    );
    // A redemption of the expired points: refused with the typed error, nothing written.
    let before: Vec<_> = [l26, l27].map(|d| r.doc(d).unwrap().heads()).to_vec();
    let e = refused(&mut r, l27, redeem(3), date(2027, 1, 10));
    assert_eq!(
        e,
        LedgerError::PointsExpired {
            volunteer: vol("dianye:1"),
            balance: Points(0),
            expired: Points::whole(3),
            cost: Points::whole(3),
        }
    );
    let after: Vec<_> = [l26, l27].map(|d| r.doc(d).unwrap().heads()).to_vec();
    assert_eq!(before, after);
    assert_eq!(r.balance(&v, now), Points(0));
}
