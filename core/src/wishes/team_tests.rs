use super::*;
use crate::DocId;
use crate::document::Author;
use crate::replica::{Error, NewDoc, Op, Replica};
use crate::signed::SignedChange;
use crate::testutil::{key, node, org, replica, scope, send, sync, t};
use crate::wishes::{Channel, WishesOp};
use proptest::prelude::*;

fn now() -> crate::time::Timestamp {
    t("2026-03-05T09:00:00+08:00")
}

fn vol(s: &str) -> VolunteerId {
    s.parse().unwrap()
}

fn setup() -> (Replica, DocId, WishId) {
    let mut c = replica("dianye", 1);
    let doc = c
        .create(
            NewDoc::Wishes {
                street: org("beishi"),
                community: org("dianye"),
                title: "Dianye wishes".into(),
            },
            now(),
        )
        .unwrap()
        .doc;
    let w = c
        .execute(
            doc,
            Op::Wishes(WishesOp::Post {
                kind: ItemKind::Wish,
                title: "Walking frame".into(),
                text: String::new(),
                category: "elder care".into(),
                channel: Channel::App,
                place: None,
                resident: None,
            }),
            now(),
        )
        .unwrap();
    let Effect::Wish(wish) = w.effect else {
        panic!()
    };
    (c, doc, wish)
}

fn team_claim(lead: &str, members: &[&str], wish: &WishId) -> WishesOp {
    WishesOp::ClaimTeam {
        wish: wish.clone(),
        lead: vol(lead),
        members: members.iter().map(|m| vol(m)).collect(),
        note: "party members of the unit".into(),
    }
}

#[test]
fn a_team_claims_with_one_lead_and_counts_once() {
    let (mut c, doc, wish) = setup();
    let mut unit = replica("power-co", 1);
    sync(&mut c, &mut unit);
    let w = unit
        .execute(
            doc,
            Op::Wishes(team_claim("dianye:2", &["dianye:1", "dianye:2", "dianye:3"], &wish)),
            now(),
        )
        .unwrap();
    let Effect::Claim(claim) = w.effect else {
        panic!()
    };
    sync(&mut c, &mut unit);
    let view = c.wishes(doc).unwrap();
    let (_, cl) = view.claims(&wish).pop().unwrap();
    assert_eq!(cl.volunteer, Some(vol("dianye:2")));
    assert_eq!(cl.team.as_ref().unwrap().members.len(), 3);
    c.execute(
        doc,
        Op::Wishes(WishesOp::Assign {
            wish: wish.clone(),
            claim,
        }),
        now(),
    )
    .unwrap();
    sync(&mut c, &mut unit);
    unit.execute(
        doc,
        Op::Wishes(WishesOp::Advance {
            wish: wish.clone(),
            stage: crate::wishes::Stage::Fulfilled {
                note: "delivered".into(),
            },
        }),
        now(),
    )
    .unwrap();
    sync(&mut c, &mut unit);
    let counts = c.wishes(doc).unwrap().claim_counts(2026);
    let row = &counts[&scope("power-co")];
    assert_eq!(
        (row.claims, row.team_claims, row.fulfilled, row.volunteers),
        (1, 1, 1, 3),
        "one claim, one fulfilled wish, three volunteers"
    );
    assert!(c.wishes(doc).unwrap().claim_counts(2025).is_empty());
}

#[test]
fn malformed_teams_are_refused_and_nothing_is_written() {
    let (mut c, doc, wish) = setup();
    let before = c.doc(doc).unwrap().heads();
    let many: Vec<String> = (1..=51).map(|n| format!("dianye:{n}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for (op, what) in [
        (team_claim("dianye:9", &["dianye:1", "dianye:2"], &wish), "not among"),
        (team_claim("dianye:1", &["dianye:1"], &wish), "2 to 50"),
        (team_claim("dianye:1", &["dianye:1", "dianye:1"], &wish), "once"),
        (team_claim("dianye:1", &many, &wish), "2 to 50"),
    ] {
        let e = c.execute(doc, Op::Wishes(op), now()).unwrap_err();
        assert!(
            matches!(&e, Error::Wishes(WishesError::BadTeam(m)) if m.contains(what)),
            "{e}"
        );
        assert_eq!(c.doc(doc).unwrap().heads(), before);
    }
    // A closed wish takes no team claim either.
    c.execute(
        doc,
        Op::Wishes(WishesOp::Advance {
            wish: wish.clone(),
            stage: crate::wishes::Stage::Withdrawn {
                reason: "duplicate".into(),
            },
        }),
        now(),
    )
    .unwrap();
    let e = c
        .execute(
            doc,
            Op::Wishes(team_claim("dianye:1", &["dianye:1", "dianye:2"], &wish)),
            now(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Wishes(WishesError::BadTransition { .. })), "{e}");
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
fn crafted_team_claims_are_refused_by_receivers() {
    let (c, doc, wish) = setup();
    let mut receiver = replica("beishi", 1);
    send(&c, &mut receiver);
    let before = receiver.doc(doc).unwrap().heads();
    let claim = |lead: &str, volunteer: Option<&str>, members: &[&str], claimant: &str| Claim {
        claimant: scope(claimant),
        volunteer: volunteer.map(vol),
        note: String::new(),
        at: now(),
        team: Some(Team {
            lead: vol(lead),
            members: members.iter().map(|m| vol(m)).collect(),
        }),
    };
    let forged = |o: &str, c: &Claim| {
        let mut d = receiver.doc(doc).unwrap().clone();
        d.set_author(&Author {
            node: node(o, 1),
            incarnation: [0xEE; 8],
            org: org(o),
        });
        let ch = d
            .commit(
                now(),
                "forged",
                &[Put::new("claims", format!("{wish}/{}", own(o, 1, 1)), c)],
            )
            .unwrap();
        SignedChange::sign(&key(o, 1), d.id(), ch.raw_bytes()).unwrap()
    };
    let unit = "beishi/dianye/power-co";
    for (what, sc, reason) in [
        (
            "a lead outside the team",
            forged("power-co", &claim("dianye:9", Some("dianye:9"), &["dianye:1", "dianye:2"], unit)),
            "not among the members",
        ),
        (
            "a volunteer other than the lead",
            forged("power-co", &claim("dianye:1", Some("dianye:2"), &["dianye:1", "dianye:2"], unit)),
            "names its lead dianye:1 as its volunteer",
        ),
        (
            "a team of one",
            forged("power-co", &claim("dianye:1", Some("dianye:1"), &["dianye:1"], unit)),
            "2 to 50 members",
        ),
        (
            "a claim in another's name",
            forged("power-co", &claim("dianye:1", Some("dianye:1"), &["dianye:1", "dianye:2"], "beishi/dianye/state-grid")),
            "names claimant beishi/dianye/state-grid",
        ),
    ] {
        let e = receiver.apply(sc).expect_err(what).to_string();
        assert!(e.contains(reason), "{what}: {e}");
        assert_eq!(receiver.doc(doc).unwrap().heads(), before, "{what}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Team claims written concurrently by several organisations, delivered in random
    /// orders: every replica ends with the same claims, each team claim with exactly one
    /// lead, among its members.
    #[test]
    fn one_lead_per_team_claim_in_every_replica_after_random_merge(
        claims in proptest::collection::vec((0usize..3, 0usize..4, 2usize..5), 1..8),
        orders in proptest::collection::vec(proptest::collection::vec(any::<u32>(), 40), 3),
    ) {
        let (c, doc, wish) = setup();
        let orgs = ["power-co", "state-grid", "reading-club"];
        let mut writers: Vec<Replica> = orgs.iter().map(|o| {
            let mut r = replica(o, 1);
            send(&c, &mut r);
            r
        }).collect();
        let mut changes = Vec::new();
        for (w, lead, n) in claims {
            let members: Vec<String> = (1..=n).map(|m| format!("dianye:{m}")).collect();
            let lead = members[lead % n].clone();
            let m: Vec<&str> = members.iter().map(String::as_str).collect();
            let sc = writers[w]
                .execute(doc, Op::Wishes(team_claim(&lead, &m, &wish)), now())
                .unwrap()
                .change;
            changes.push(sc);
        }
        let mut results = Vec::new();
        for order in orders {
            let mut r = replica("beishi", 2);
            send(&c, &mut r);
            let mut pending = changes.clone();
            // Random order; a change waiting for its dependency is held and retried.
            let mut keys: Vec<(u32, usize)> = order.iter().copied().zip(0..).collect();
            keys.truncate(pending.len());
            keys.sort();
            let perm: Vec<usize> = keys.into_iter().map(|(_, i)| i).collect();
            let mut ordered: Vec<_> = perm.iter().map(|&i| pending[i].clone()).collect();
            ordered.extend(pending.drain(..).skip(perm.len()));
            for sc in ordered {
                r.apply(sc).unwrap();
            }
            let view = r.wishes(doc).unwrap();
            let cl = view.claims(&wish);
            prop_assert_eq!(cl.len(), changes.len());
            for (_, c) in &cl {
                let t = c.team.as_ref().unwrap();
                prop_assert_eq!(t.members.iter().filter(|m| **m == t.lead).count(), 1);
                prop_assert_eq!(c.volunteer.as_ref(), Some(&t.lead));
            }
            results.push(cl);
        }
        prop_assert!(results.windows(2).all(|w| w[0] == w[1]));
    }
}
