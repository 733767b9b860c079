//! Property tests: replicas applying random operations and exchanging changes in random
//! orders converge to identical documents, and the invariants hold in every merged state.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::ids::{CompoundId, VolunteerId, WishId};
use crate::ledger::{self, LedgerOp, Points};
use crate::registry::{AppointmentStatus, Compound, ManagementMode, RegistryOp, ScorerRole};
use crate::replica::{NewDoc, Op, Replica};
use crate::testutil::{date, org, replica, send, t};
use crate::time::Timestamp;
use crate::wishes::{Channel, ItemKind, Stage, WishesOp};
use crate::{DocId, DocKind};

/// Replicas: 0 community `dianye`, 1 and 2 two nodes of street `beishi`, 3 unit `power-co`.
fn district() -> (Vec<Replica>, [DocId; 3]) {
    let mut c = replica("dianye", 1);
    let at = t("2026-01-02T09:00:00+08:00");
    let reg = c
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("dianye"),
                title: "r".into(),
            },
            at,
        )
        .unwrap()
        .doc;
    let led = c
        .create(
            NewDoc::Ledger {
                street: org("beishi"),
                community: org("dianye"),
                year: 2026,
                rules: crate::testutil::hand_rules(),
            },
            at,
        )
        .unwrap()
        .doc;
    let wish = c
        .create(
            NewDoc::Wishes {
                street: org("beishi"),
                community: org("dianye"),
                title: "w".into(),
            },
            at,
        )
        .unwrap()
        .doc;
    let mut rs = vec![
        c,
        replica("beishi", 2),
        replica("beishi", 3),
        replica("power-co", 4),
    ];
    for i in 1..rs.len() {
        let (a, b) = rs.split_at_mut(i);
        send(&a[0], &mut b[0]);
    }
    (rs, [reg, led, wish])
}

#[derive(Debug, Clone)]
enum Action {
    Op { who: usize, what: u8, a: u8, b: u8 },
    Deliver { from: usize, to: usize, seed: u64 },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0..4usize, 0..10u8, any::<u8>(), any::<u8>())
            .prop_map(|(who, what, a, b)| Action::Op { who, what, a, b }),
        1 => (0..4usize, 0..4usize, any::<u64>()).prop_map(|(from, to, seed)| Action::Deliver { from, to, seed }),
    ]
}

fn pick<T: Clone>(v: &[T], i: u8) -> Option<T> {
    (!v.is_empty()).then(|| v[usize::from(i) % v.len()].clone())
}

fn run_op(r: &mut Replica, docs: [DocId; 3], what: u8, a: u8, b: u8, now: Timestamp) {
    let [reg, led, wis] = docs;
    let compounds: Vec<CompoundId> = r
        .registry(reg)
        .unwrap()
        .compounds()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let wishes: Vec<WishId> = r
        .wishes(wis)
        .unwrap()
        .items()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let vol: VolunteerId = format!("dianye:{}", a % 5 + 1).parse().unwrap();
    let (doc, op) = match what {
        0 => (
            reg,
            Op::Registry(RegistryOp::AddCompound(Compound::new(
                &format!("compound {a}"),
                "road",
                u32::from(b) + 1,
                ManagementMode::SelfManaged,
            ))),
        ),
        1 => {
            let Some(c) = pick(&compounds, a) else { return };
            (
                reg,
                Op::Registry(RegistryOp::Appoint {
                    compound: c,
                    manager: format!("firm {}", b % 3),
                    mode: ManagementMode::PropertyFirm,
                    selection: None,
                    start: date(2026, 1, 1),
                    end: None,
                    status: AppointmentStatus::Appointed,
                }),
            )
        }
        2 => {
            let Some(c) = pick(&compounds, a) else { return };
            let role = ScorerRole::ALL[usize::from(b) % 4];
            (
                reg,
                Op::Registry(RegistryOp::Score {
                    compound: c,
                    year: 2026,
                    role,
                    marks: BTreeMap::from([("all".to_string(), u32::from(b % 101))]),
                    comment: String::new(),
                }),
            )
        }
        3 => (
            led,
            Op::Ledger(LedgerOp::RecordService {
                volunteer: vol,
                activity: "patrol".into(),
                team: Some(format!("team {}", b % 2)),
                date: date(2026, 3, 1),
                hours: f64::from(b % 8 + 1) / 2.0,
                evidence: None,
            }),
        ),
        4 => (
            led,
            Op::Ledger(LedgerOp::Redeem {
                volunteer: vol,
                item: "soap".into(),
                cost: Points::whole(i64::from(b % 4) + 1),
                outlet: "store".into(),
            }),
        ),
        5 => (
            wis,
            Op::Wishes(WishesOp::Post {
                kind: if b.is_multiple_of(3) {
                    ItemKind::Offer
                } else {
                    ItemKind::Wish
                },
                title: format!("wish {a}"),
                text: String::new(),
                category: "c".into(),
                channel: Channel::Forum,
                place: None,
                resident: None,
            }),
        ),
        6 => {
            let Some(w) = pick(&wishes, a) else { return };
            (
                wis,
                Op::Wishes(WishesOp::Claim {
                    wish: w,
                    volunteer: None,
                    note: String::new(),
                }),
            )
        }
        7 => {
            let Some(w) = pick(&wishes, a) else { return };
            let claims: Vec<_> = r
                .wishes(wis)
                .unwrap()
                .claims(&w)
                .into_iter()
                .map(|(c, _)| c)
                .collect();
            let Some(c) = pick(&claims, b) else { return };
            (wis, Op::Wishes(WishesOp::Assign { wish: w, claim: c }))
        }
        8 => {
            let Some(w) = pick(&wishes, a) else { return };
            let stage = if b.is_multiple_of(2) {
                Stage::Fulfilled { note: "ok".into() }
            } else {
                Stage::Confirmed
            };
            (wis, Op::Wishes(WishesOp::Advance { wish: w, stage }))
        }
        _ => (
            led,
            Op::Ledger(LedgerOp::Correct {
                volunteer: vol,
                corrects: None,
                delta: Points::whole(i64::from(b % 3) + 1),
                reason: "late entry".into(),
            }),
        ),
    };
    let before = r.doc(doc).unwrap().heads();
    if let Err(e) = r.execute(doc, op, now) {
        // Refused operations leave the document unchanged.
        assert_eq!(r.doc(doc).unwrap().heads(), before, "{e}");
    }
}

/// Delivers every change `from` holds to `to`, in a shuffled order.
fn deliver(rs: &mut [Replica], from: usize, to: usize, seed: u64) {
    if from == to {
        return;
    }
    let mut all: Vec<crate::signed::SignedChange> = Vec::new();
    for id in rs[from].docs().keys() {
        for c in rs[from].changes(*id, &[]).unwrap() {
            all.push(c);
        }
    }
    // Fisher–Yates with a small deterministic generator.
    let mut x = seed | 1;
    for i in (1..all.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        all.swap(i, (x % (i as u64 + 1)) as usize);
    }
    for sc in all {
        rs[to].apply(sc).unwrap();
    }
}

fn check_invariants(r: &Replica, docs: [DocId; 3]) {
    let [_, led, wis] = docs;
    // Balances equal the sum of entries, and redemptions never overdraw (no negative
    // corrections are generated here).
    let entries = r.ledger(led).unwrap().entries();
    let mut sums: BTreeMap<VolunteerId, Points> = BTreeMap::new();
    for (_, e) in &entries {
        let s = sums.entry(e.volunteer.clone()).or_default();
        *s = *s + e.balance_delta();
    }
    for (v, s) in &sums {
        assert_eq!(r.balance(v, crate::testutil::now()), *s);
        assert_eq!(
            ledger::balance_across(r.docs().values(), v, crate::testutil::now()),
            *s
        );
        assert!(s.0 >= 0, "negative balance for {v}: {s}");
    }
    // Exactly one assignee per micro-wish.
    let w = r.wishes(wis).unwrap();
    for (id, item) in w.items() {
        if item.kind == ItemKind::Wish {
            assert!(
                w.assigned(&id).len() <= 1,
                "wish {id} has several assignees"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_whatever_the_delivery_order(
        actions in proptest::collection::vec(action(), 1..40),
        final_seed in any::<u64>(),
    ) {
        let (mut rs, docs) = district();
        let mut now = t("2026-03-01T09:00:00+08:00");
        for act in actions {
            now = now.plus_millis(60_000);
            match act {
                Action::Op { who, what, a, b } => run_op(&mut rs[who], docs, what, a, b, now),
                Action::Deliver { from, to, seed } => deliver(&mut rs, from, to, seed),
            }
            for r in &rs {
                check_invariants(r, docs);
            }
        }
        // Heal: everyone sends to everyone, in random orders, twice.
        for round in 0..2u64 {
            for from in 0..rs.len() {
                for to in 0..rs.len() {
                    deliver(&mut rs, from, to, final_seed ^ (round * 31 + (from * 7 + to) as u64));
                }
            }
        }
        for r in &rs {
            prop_assert_eq!(r.pending_len(), 0);
            check_invariants(r, docs);
        }
        for id in docs {
            let heads = rs[0].doc(id).unwrap().heads();
            let save = rs[0].doc(id).unwrap().automerge().hydrate(None);
            for r in &rs[1..] {
                prop_assert_eq!(&r.doc(id).unwrap().heads(), &heads);
                prop_assert_eq!(&r.doc(id).unwrap().automerge().hydrate(None), &save);
            }
        }
        // Typed reads agree too (appointments may be contested, identically everywhere).
        let reg = docs[0];
        let views: Vec<_> = rs.iter().map(|r| {
            let g = r.registry(reg).unwrap();
            g.compounds().into_iter().map(|(c, _)| (format!("{:?}", g.appointment(&c)), g.composite(&c, 2026).score.map(f64::to_bits))).collect::<Vec<_>>()
        }).collect();
        for v in &views[1..] {
            prop_assert_eq!(v, &views[0]);
        }
        prop_assert!(rs.iter().all(|r| r.ids_of(DocKind::Ledger).len() == 1));
    }
}
