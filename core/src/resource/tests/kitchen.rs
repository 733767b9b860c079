use super::*;
use crate::document::Put;
use crate::testutil::author;

fn canteen() -> ResourceSpec {
    let mut spec = ResourceSpec::kitchen("Heping canteen", 40, 140);
    spec.blackout = vec![date(2026, 11, 28)];
    if let Some(k) = spec.kitchen.as_mut() {
        k.menu = vec!["rice".into(), "noodles".into(), "dumplings".into()];
    }
    spec
}

fn thursday_date() -> jiff::civil::Date {
    date(2026, 11, 26)
}

/// Wednesday evening before Thursday's dinner, local time.
fn eve(hh_mm_ss: &str) -> Timestamp {
    t(&format!("2026-11-25T{hh_mm_ss}+08:00"))
}

fn place_op(household: &str, portions: u32) -> ResourceOp {
    ResourceOp::PlaceOrder {
        household: household.into(),
        date: thursday_date(),
        portions,
        items: vec!["rice".into()],
    }
}

fn place(r: &mut Replica, doc: DocId, household: &str, portions: u32, at: Timestamp) -> OrderId {
    match exec(r, doc, place_op(household, portions), at) {
        Effect::Order(id) => id,
        e => panic!("unexpected effect {e:?}"),
    }
}

fn accept(order: &OrderId) -> ResourceOp {
    ResourceOp::AcceptOrder {
        order: order.clone(),
    }
}

#[test]
fn cut_off_is_20_00_the_previous_evening_in_shanghai() {
    let (owner, doc) = setup(canteen());
    let mut b3 = joined(&owner, "bldg3", 2);
    let view = owner.resource(doc).unwrap();
    assert_eq!(view.cutoff(thursday_date()).unwrap(), eve("20:00:00"));
    assert_eq!(
        view.cutoff(thursday_date()).unwrap(),
        t("2026-11-25T12:00:00Z")
    );
    let id = place(&mut b3, doc, "3-2-401", 2, eve("19:59:00"));
    assert_eq!(
        id,
        format!("{}:1", crate::testutil::writer("bldg3", 2))
            .parse()
            .unwrap()
    );
    for at in ["20:00:00", "20:01:00", "23:00:00"] {
        let e = fail(&mut b3, doc, place_op("3-2-402", 1), eve(at));
        assert!(matches!(e, ResourceError::AfterCutoff { .. }), "{e}");
    }
    let e = fail(&mut b3, doc, place_op("3-2-402", 1), eve("20:00:00"));
    assert_eq!(
        e.to_string(),
        "placing an order at 2026-11-25 20:00 is after the cut-off 2026-11-25 20:00 for 2026-11-26"
    );
    // Cancelling closes at the cut-off too.
    let e = fail(
        &mut b3,
        doc,
        ResourceOp::CancelOrder { order: id.clone() },
        eve("20:30:00"),
    );
    assert!(
        matches!(
            e,
            ResourceError::AfterCutoff {
                action: "cancelling an order",
                ..
            }
        ),
        "{e}"
    );
    exec(
        &mut b3,
        doc,
        ResourceOp::CancelOrder { order: id.clone() },
        eve("19:59:30"),
    );
    let v = b3.resource(doc).unwrap();
    assert_eq!(v.order(&id).unwrap().status, OrderStatus::Cancelled);
    let e = fail(
        &mut b3,
        doc,
        ResourceOp::CancelOrder { order: id.clone() },
        eve("19:59:40"),
    );
    assert!(
        matches!(
            e,
            ResourceError::OrderStatus {
                status: "cancelled",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn daily_capacity_of_140_portions_is_never_exceeded() {
    let (mut owner, doc) = setup(canteen());
    let mut b3 = joined(&owner, "bldg3", 2);
    let mut b5 = joined(&owner, "bldg5", 3);
    // 141 households order one portion each before the cut-off, from two nodes.
    let mut ids = Vec::new();
    for i in 0..100 {
        ids.push(place(
            &mut b3,
            doc,
            &format!("3-{}-{}", i / 20 + 1, 101 + i % 20),
            1,
            eve("18:00:00"),
        ));
    }
    for i in 0..41 {
        ids.push(place(
            &mut b5,
            doc,
            &format!("5-1-{}", 101 + i),
            1,
            eve("19:00:00"),
        ));
    }
    send(&b3, &mut owner);
    send(&b5, &mut owner);
    // The operator accepts after the cut-off, in order.
    let later = eve("20:30:00");
    for id in &ids[..140] {
        exec(&mut owner, doc, accept(id), later);
    }
    let e = fail(&mut owner, doc, accept(&ids[140]), later);
    assert_eq!(
        e,
        ResourceError::OverDailyCapacity {
            date: thursday_date(),
            accepted: 140,
            portions: 1,
            capacity: 140
        }
    );
    let day = owner
        .resource(doc)
        .unwrap()
        .kitchen_day(thursday_date())
        .unwrap();
    assert_eq!(
        (day.accepted_portions, day.waiting_portions, day.capacity),
        (140, 1, 140)
    );
    assert_eq!(day.orders.len(), 141);
    assert_eq!(day.service, "dinner");
    assert_eq!(day.cutoff, eve("20:00:00"));
    // A full day refuses new orders early.
    sync(&mut owner, &mut b3);
    let e = fail(&mut b3, doc, place_op("3-9-901", 1), eve("19:00:00"));
    assert!(
        matches!(e, ResourceError::OverDailyCapacity { accepted: 140, .. }),
        "{e}"
    );
    // A cancellation before the cut-off frees a portion for the waiting order.
    exec(
        &mut b3,
        doc,
        ResourceOp::CancelOrder {
            order: ids[0].clone(),
        },
        eve("19:30:00"),
    );
    send(&b3, &mut owner);
    exec(&mut owner, doc, accept(&ids[140]), later);
    let view = owner.resource(doc).unwrap();
    assert_eq!(view.accepted_portions(thursday_date()), 140);
    view.check_invariants().unwrap();
}

#[test]
fn order_errors_are_typed_and_change_nothing() {
    let (mut owner, doc) = setup(canteen());
    let mut b3 = joined(&owner, "bldg3", 2);
    let at = eve("10:00:00");
    let e = fail(&mut b3, doc, place_op(" ", 1), at);
    assert_eq!(e, ResourceError::EmptyField { field: "household" });
    assert_eq!(
        fail(&mut b3, doc, place_op("3-2-401", 0), at),
        ResourceError::NoPortions
    );
    let pizza = ResourceOp::PlaceOrder {
        household: "3-2-401".into(),
        date: thursday_date(),
        portions: 1,
        items: vec!["pizza".into()],
    };
    let e = fail(&mut b3, doc, pizza, at);
    assert_eq!(
        e.to_string(),
        "\"pizza\" is not on the menu (rice, noodles, dumplings)"
    );
    let saturday = ResourceOp::PlaceOrder {
        household: "3-2-401".into(),
        date: date(2026, 11, 28),
        portions: 1,
        items: vec![],
    };
    let e = fail(&mut b3, doc, saturday, at);
    assert_eq!(
        e,
        ResourceError::KitchenClosed {
            date: date(2026, 11, 28)
        }
    );
    let a = place(&mut b3, doc, "3-2-401", 3, at);
    let b = place(&mut b3, doc, "3-2-402", 2, at);
    let c = place(&mut b3, doc, "3-2-403", 1, at);
    send(&b3, &mut owner);
    let ghost: OrderId = "bldg3:9".parse().unwrap();
    assert_eq!(
        fail(&mut owner, doc, accept(&ghost), at),
        ResourceError::UnknownOrder(ghost)
    );
    let e = fail(&mut b3, doc, accept(&a), at);
    assert!(matches!(e, ResourceError::NotAllowed { .. }), "{e}");
    let refuse = |reason: &str| ResourceOp::RefuseOrder {
        order: b.clone(),
        reason: reason.into(),
    };
    assert_eq!(
        fail(&mut owner, doc, refuse(""), at),
        ResourceError::EmptyField { field: "reason" }
    );
    exec(&mut owner, doc, refuse("no halal option that day"), at);
    let e = fail(&mut owner, doc, accept(&b), at);
    assert!(
        matches!(
            e,
            ResourceError::OrderStatus {
                action: "accept",
                status: "refused",
                ..
            }
        ),
        "{e}"
    );
    let mark = |order: &OrderId, collected: bool| ResourceOp::MarkCollected {
        order: order.clone(),
        collected,
    };
    let e = fail(&mut owner, doc, mark(&a, true), at);
    assert!(
        matches!(
            e,
            ResourceError::OrderStatus {
                status: "placed",
                ..
            }
        ),
        "{e}"
    );
    exec(&mut owner, doc, accept(&a), at);
    exec(&mut owner, doc, accept(&c), at);
    exec(
        &mut owner,
        doc,
        mark(&a, true),
        t("2026-11-26T18:30:00+08:00"),
    );
    exec(
        &mut owner,
        doc,
        mark(&c, false),
        t("2026-11-26T20:00:00+08:00"),
    );
    sync(&mut owner, &mut b3);
    let mut other = joined(&owner, "bldg5", 3);
    let e = fail(
        &mut other,
        doc,
        ResourceOp::CancelOrder { order: a.clone() },
        at,
    );
    assert!(matches!(e, ResourceError::NotAllowed { .. }), "{e}");
    let e = fail(
        &mut b3,
        doc,
        ResourceOp::CancelOrder { order: a.clone() },
        at,
    );
    assert!(
        matches!(
            e,
            ResourceError::OrderStatus {
                status: "collected",
                ..
            }
        ),
        "{e}"
    );
    let view = b3.resource(doc).unwrap();
    let statuses: Vec<OrderStatus> = view
        .orders(thursday_date())
        .into_iter()
        .map(|o| o.status)
        .collect();
    assert_eq!(
        statuses,
        vec![
            OrderStatus::Collected,
            OrderStatus::Refused {
                reason: "no halal option that day".into()
            },
            OrderStatus::Uncollected
        ]
    );
    assert_eq!(view.accepted_portions(thursday_date()), 4);
    view.check_invariants().unwrap();
}

#[test]
fn kitchen_ops_on_a_room_are_refused() {
    let (mut owner, doc) = setup(room());
    let order: OrderId = "dianye:1".parse().unwrap();
    let not_kitchen = ResourceError::NotAKitchen {
        resource: "Dianye activity room".into(),
    };
    for op in [
        place_op("3-2-401", 1),
        accept(&order),
        ResourceOp::CancelOrder {
            order: order.clone(),
        },
        ResourceOp::MarkCollected {
            order,
            collected: true,
        },
    ] {
        assert_eq!(fail(&mut owner, doc, op, now()), not_kitchen);
    }
    let view = owner.resource(doc).unwrap();
    assert_eq!(view.cutoff(thursday_date()), Err(not_kitchen));
    assert!(view.all_orders().is_empty());
}

#[test]
fn forged_orders_after_the_cut_off_or_unlisted_are_never_accepted() {
    // A placing node that bypassed validation (or had a wrong clock) wrote orders after the
    // cut-off; the operator's acceptance check refuses them.
    let (mut owner, doc) = setup(canteen());
    let mut forged = owner.doc(doc).unwrap().clone();
    forged.set_author(&author("bldg3", 2));
    let late = Order {
        household: "3-*-*".into(),
        date: thursday_date(),
        portions: 1,
        items: vec![],
        placed_at: eve("21:00:00"),
        by: crate::testutil::scope("bldg3"),
    };
    let listing = serde_json::from_str::<serde_json::Value>("{}").unwrap();
    let tag = hex::encode(author("bldg3", 2).tag());
    let (o1, o2) = (format!("bldg3@{tag}:1"), format!("bldg3@{tag}:2"));
    let puts = [
        Put::new("orders", o1.as_str(), &late),
        Put::new("order_days", format!("2026-11-26/{o1}"), &listing),
        // An order without its listing under the service date.
        Put::new(
            "orders",
            o2.as_str(),
            &Order {
                placed_at: eve("10:00:00"),
                ..late.clone()
            },
        ),
    ];
    let change = forged
        .commit(eve("21:00:00"), "late orders", &puts)
        .unwrap();
    let signed = crate::signed::SignedChange::sign(
        &crate::testutil::key("bldg3", 2),
        doc,
        change.raw_bytes(),
    )
    .unwrap();
    owner.apply(signed).unwrap();
    let id: OrderId = o1.parse().unwrap();
    let e = fail(&mut owner, doc, accept(&id), eve("21:30:00"));
    assert!(
        matches!(
            e,
            ResourceError::AfterCutoff {
                action: "placing the order",
                ..
            }
        ),
        "{e}"
    );
    let view = owner.resource(doc).unwrap();
    assert_eq!(view.order(&id).unwrap().status, OrderStatus::Placed);
    assert_eq!(view.orders(thursday_date()).len(), 1);
    let unlisted: OrderId = o2.parse().unwrap();
    assert_eq!(view.order(&unlisted), None);
    let e = fail(&mut owner, doc, accept(&unlisted), eve("21:30:00"));
    assert_eq!(e, ResourceError::UnknownOrder(unlisted));
    // Listings are checked like any record.
    assert_eq!(
        check_record("order_days", "2026-11-26/bldg3:1", "{}"),
        Ok(())
    );
    for key in ["bldg3:1", "2026-11-31/bldg3:1", "2026-11-26/bldg3"] {
        assert!(check_record("order_days", key, "{}").is_err(), "{key}");
    }
    assert!(check_record("order_days", "2026-11-26/bldg3:1", "{\"x\":1}").is_err());
}

#[test]
fn a_decided_order_is_final_on_receipt() {
    // The operator's node refuses an order, then a crafted change of the same operator flips
    // it to accepted: every receiver refuses the rewrite (the typed operation only decides a
    // placed order), and only an accepted order is marked collected.
    let (mut owner, doc) = setup(canteen());
    let mut b3 = joined(&owner, "bldg3", 2);
    let order = place(&mut b3, doc, "3-2-401", 2, eve("10:00:00"));
    send(&b3, &mut owner);
    let refuse = ResourceOp::RefuseOrder {
        order: order.clone(),
        reason: "kitchen closed".into(),
    };
    exec(&mut owner, doc, refuse, eve("21:00:00"));
    let mut rx = joined(&owner, "bldg3", 3);
    let mut forged = owner.doc(doc).unwrap().clone();
    forged.set_author(&author("dianye", 1));
    let flip = |verdict: OrderVerdict| {
        Put::new(
            "order_decisions",
            order.to_string(),
            &OrderDecision {
                verdict,
                at: eve("21:05:00"),
            },
        )
    };
    for verdict in [OrderVerdict::Accepted, OrderVerdict::Collected] {
        let mut f = forged.clone();
        let change = f.commit(eve("21:05:00"), "flip", &[flip(verdict)]).unwrap();
        let signed = crate::signed::SignedChange::sign(
            &crate::testutil::key("dianye", 1),
            doc,
            change.raw_bytes(),
        )
        .unwrap();
        let err = rx.apply(signed).unwrap_err();
        assert!(err.to_string().contains(&format!("order {order}")), "{err}");
    }
    let view = rx.resource(doc).unwrap();
    assert!(matches!(
        view.order(&order).unwrap().status,
        OrderStatus::Refused { .. }
    ));
}
