//! "Who receives what" (ARCHITECTURE.md), cell by cell: for the documents of community
//! dianye of street beishi, every relation of the table and every kind, through whole
//! sessions between the owner's replica and a fresh replica of the receiver, in both
//! directions (the sending side decides, whichever side starts).

use std::collections::VecDeque;

use super::tests::{now, service};
use super::*;
use crate::cert::Role;
use crate::federation::FederationOp;
use crate::identity::Keypair;
use crate::registry::{Compound, ManagementMode, RegistryOp};
use crate::replica::{NewDoc, Op};
use crate::resource::{BookingForm, ResourceOp, ResourceSpec};
use crate::testutil::{
    fed_id, key, node, org, replica, root_key, scope, t, valid_from, valid_until,
};
use crate::time::Slot;
use crate::wishes::{Channel, ItemKind, WishesOp};

/// The columns checked: the table's kinds, and a room owned by a unit of dianye.
const COLUMNS: [&str; 6] = [
    "federation",
    "registry",
    "ledger",
    "resource (dianye's room)",
    "wishes",
    "resource (room of power-co, a unit of dianye)",
];

/// The owners' replicas and the documents, in the order of [`COLUMNS`].
struct World {
    /// Node 1 of dianye: owner of the registry, ledger, room and wishes.
    dianye: Replica,
    /// Node 1 of power-co: owner of the unit's room.
    power_co: Replica,
    docs: [DocId; 6],
}

fn add_compound(r: &mut Replica, doc: DocId, name: &str) {
    r.execute(
        doc,
        Op::Registry(RegistryOp::AddCompound(Compound::new(
            name,
            "1 Shimalu",
            157,
            ManagementMode::Unmanaged,
        ))),
        now(),
    )
    .unwrap();
}

fn post(r: &mut Replica, doc: DocId, title: &str) {
    r.execute(
        doc,
        Op::Wishes(WishesOp::Post {
            kind: ItemKind::Wish,
            title: title.into(),
            text: "text".into(),
            category: "elder care".into(),
            channel: Channel::QrCode,
            place: Some("Building 3".into()),
            resident: None,
        }),
        now(),
    )
    .unwrap();
}

fn request(r: &mut Replica, doc: DocId) {
    let slot = Slot::new(
        t("2026-11-26T19:00:00+08:00"),
        t("2026-11-26T21:00:00+08:00"),
    )
    .unwrap();
    r.execute(
        doc,
        Op::Resource(ResourceOp::Request(BookingForm::new(
            "Wang Fang",
            "reading",
            slot,
            12,
        ))),
        now(),
    )
    .unwrap();
}

fn room(r: &mut Replica, name: &str) -> DocId {
    r.create(
        NewDoc::Resource {
            street: org("beishi"),
            community: Some(org("dianye")),
            spec: ResourceSpec::room(name, 30),
        },
        now(),
    )
    .unwrap()
    .doc
}

fn ledger(r: &mut Replica, year: i16) -> DocId {
    r.create(
        NewDoc::Ledger {
            street: org("beishi"),
            community: org("dianye"),
            year,
            rules: crate::testutil::hand_rules(),
        },
        now(),
    )
    .unwrap()
    .doc
}

fn world() -> World {
    let mut dianye = replica("dianye", 1);
    let registry = dianye
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("dianye"),
                title: "Dianye compounds".into(),
            },
            now(),
        )
        .unwrap()
        .doc;
    add_compound(&mut dianye, registry, "Shimalu");
    let ledger = ledger(&mut dianye, 2026);
    service(&mut dianye, ledger, "dianye:1");
    let dianye_room = room(&mut dianye, "Dianye activity room");
    let wishes = dianye
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
    post(&mut dianye, wishes, "Fix the stairwell light");
    let mut power_co = replica("power-co", 1);
    let unit_room = room(&mut power_co, "Power-co hall");
    let h = power_co.header(unit_room).unwrap();
    assert_eq!(
        (h.owner_scope(), h.street_scope()),
        (scope("power-co"), scope("beishi")),
        "the unit's room belongs to power-co within dianye"
    );
    World {
        dianye,
        power_co,
        docs: [fed_id(), registry, ledger, dianye_room, wishes, unit_room],
    }
}

/// An empty replica (not even the federation document) of `k`, acting for `o`.
fn fresh(k: Keypair, o: &str) -> Replica {
    Replica::new(k, [7; 8], org(o), root_key().node_id())
}

/// Runs a whole session between `owner` and `receiver` (the receiver starts it if
/// `receiver_starts`); `hello`, if given, replaces the hello the receiver sends. Returns
/// the owner's side of the session.
fn session(
    owner: &mut Replica,
    receiver: &mut Replica,
    receiver_starts: bool,
    hello: Option<&Message>,
) -> Session {
    let (mut so, mut sr) = if receiver_starts {
        (Session::responder(false), Session::initiator(false))
    } else {
        (Session::initiator(false), Session::responder(false))
    };
    let tamper = |out: Vec<Vec<u8>>| -> Vec<Vec<u8>> {
        out.into_iter()
            .map(|m| match (hello, wire::decode(&m)) {
                (Some(h), Ok(Message::Hello { .. })) => wire::encode(h),
                _ => m,
            })
            .collect()
    };
    let mut to_owner: VecDeque<Vec<u8>> = tamper(sr.start(receiver, now())).into();
    let mut to_receiver: VecDeque<Vec<u8>> = so.start(owner, now()).into();
    let mut delivered = 0;
    loop {
        if let Some(m) = to_owner.pop_front() {
            to_receiver.extend(so.handle(owner, &m, now()).unwrap());
        } else if let Some(m) = to_receiver.pop_front() {
            to_owner.extend(tamper(sr.handle(receiver, &m, now()).unwrap()));
        } else {
            break;
        }
        delivered += 1;
        assert!(delivered < 10_000, "session does not end");
    }
    assert!(so.is_done() && sr.is_done(), "the session completes");
    so
}

/// The cells where `receiver` disagrees with `expect` (a document it holds but should not,
/// or should hold but lacks or holds only part of), one line each naming the relation and
/// the kind.
fn check(
    relation: &str,
    w: &World,
    receiver: &Replica,
    expect: [bool; 6],
    seen: &str,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for (i, id) in w.docs.iter().enumerate() {
        let owner = if i == 5 { &w.power_co } else { &w.dianye };
        let held = receiver.catalog().get(id);
        let complete = held.is_some() && held == owner.catalog().get(id);
        let cell = |b| if b { "✓" } else { "—" };
        if held.is_some() != expect[i] || (expect[i] && !complete) {
            wrong.push(format!(
                "{relation} × {}: table says {}, the receiver {} (the owner saw the peer as {seen})",
                COLUMNS[i],
                cell(expect[i]),
                match (held.is_some(), complete) {
                    (false, _) => "did not receive it",
                    (true, true) => "received it",
                    (true, false) => "received part of it",
                }
            ));
        }
    }
    wrong
}

/// Who the owner's side of a session took the peer for.
fn seen(s: &Session) -> String {
    match s.peer_principal() {
        None => "no principal".into(),
        Some(p) if p.is_root() => "the root".into(),
        Some(p) => format!("{:?} {}", p.role, p.scope),
    }
}

/// Who receives.
enum Who {
    Root,
    Node(&'static str, u8),
    NoChain,
}

const Y: bool = true;
const N: bool = false;

/// The table of ARCHITECTURE.md, one receiver per row; columns as [`COLUMNS`].
const TABLE: &[(&str, Who, [bool; 6])] = &[
    ("the root", Who::Root, [Y, Y, Y, Y, Y, Y]),
    (
        "street S (beishi)",
        Who::Node("beishi", 2),
        [Y, Y, Y, Y, Y, Y],
    ),
    (
        "another street (jianzhong)",
        Who::Node("jianzhong", 2),
        [Y, N, N, N, N, N],
    ),
    (
        "community C, the owner (another node of dianye)",
        Who::Node("dianye", 2),
        [Y, Y, Y, Y, Y, Y],
    ),
    (
        "another community of S (hongqi)",
        Who::Node("hongqi", 2),
        [Y, Y, Y, Y, N, Y],
    ),
    (
        "a community of another street (xianghe of jianzhong)",
        Who::Node("xianghe", 2),
        [Y, N, N, N, N, N],
    ),
    (
        "a unit of C that owns the unit's room (power-co, another node)",
        Who::Node("power-co", 2),
        [Y, Y, Y, Y, Y, Y],
    ),
    (
        "a unit of C (state-grid)",
        Who::Node("state-grid", 2),
        [Y, Y, Y, Y, Y, Y],
    ),
    (
        "a partner of C (reading-club)",
        Who::Node("reading-club", 2),
        [Y, Y, Y, Y, Y, Y],
    ),
    (
        "a unit of another community of S (tech-college of hongqi)",
        Who::Node("tech-college", 2),
        [Y, Y, N, N, N, N],
    ),
    (
        "a partner of another community of S (bldg3 of hongqi)",
        Who::Node("bldg3", 2),
        [Y, Y, N, N, N, N],
    ),
    (
        "a partner elsewhere (hospital of xianghe)",
        Who::Node("hospital", 2),
        [Y, N, N, N, N, N],
    ),
    (
        "a body the root certified, a district department (housing-bureau)",
        Who::Node("housing-bureau", 2),
        [Y, Y, N, N, N, N],
    ),
    ("a key without a chain", Who::NoChain, [Y, N, N, N, N, N]),
];

fn receiver(who: &Who) -> Replica {
    match who {
        Who::Root => fresh(root_key(), "heping"),
        Who::Node(o, n) => fresh(key(o, *n), o),
        Who::NoChain => fresh(Keypair::from_secret(&[0x42; 32]), "nobody"),
    }
}

#[test]
fn every_relation_receives_exactly_the_kinds_the_table_gives_it() {
    // The test district is what the rows say it is.
    let role = |o: &str| {
        crate::testutil::ORGS
            .iter()
            .find(|(c, ..)| *c == o)
            .map(|(_, r, p)| (*r, *p))
    };
    assert_eq!(
        role("housing-bureau"),
        Some((Role::Unit, None)),
        "a department"
    );
    assert_eq!(role("bldg3"), Some((Role::Partner, Some("hongqi"))));
    assert_eq!(role("hospital"), Some((Role::Partner, Some("xianghe"))));
    assert_eq!(role("reading-club"), Some((Role::Partner, Some("dianye"))));
    let w = world();
    let mut wrong = Vec::new();
    for (relation, who, expect) in TABLE {
        for receiver_starts in [true, false] {
            let mut w = World {
                dianye: w.dianye.clone(),
                power_co: w.power_co.clone(),
                docs: w.docs,
            };
            let mut r = receiver(who);
            let relation = format!(
                "{relation} ({} starts)",
                if receiver_starts { "receiver" } else { "owner" }
            );
            let s = session(&mut w.dianye, &mut r, receiver_starts, None);
            let seen_dianye = seen(&s);
            let s = session(&mut w.power_co, &mut r, receiver_starts, None);
            assert_eq!(
                seen(&s),
                seen_dianye,
                "{relation}: both owners see the same peer"
            );
            wrong.extend(check(&relation, &w, &r, *expect, &seen_dianye));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ from the table:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_unit_its_community_revoked_receives_nothing_new_but_the_federation_document() {
    let mut w = world();
    let unit = node("state-grid", 2);
    let mut r = fresh(key("state-grid", 2), "state-grid");
    session(&mut w.dianye, &mut r, true, None);
    session(&mut w.power_co, &mut r, true, None);
    let before = check("a unit of C before its revocation", &w, &r, [Y; 6], "-");
    assert!(before.is_empty(), "{}", before.join("\n"));
    // Dianye revokes every certificate of the unit's key it may; power-co learns it.
    w.dianye
        .execute(
            fed_id(),
            Op::Federation(FederationOp::Revoke {
                subject: unit,
                reason: "key leaked".into(),
                certs: None,
            }),
            now(),
        )
        .unwrap();
    for c in w.dianye.changes(fed_id(), &[]).unwrap() {
        w.power_co.apply(c).unwrap();
    }
    assert_eq!(w.dianye.reader(&unit, now()), None);
    assert_eq!(w.power_co.reader(&unit, now()), None);
    let held = r.catalog().clone();
    // New changes in every document, and new documents of every kind.
    let [_, registry, ledger_2026, dianye_room, wishes, unit_room] = w.docs;
    add_compound(&mut w.dianye, registry, "Second compound");
    service(&mut w.dianye, ledger_2026, "dianye:2");
    request(&mut w.dianye, dianye_room);
    post(&mut w.dianye, wishes, "A bench by the gate");
    request(&mut w.power_co, unit_room);
    let new_docs = [
        ledger(&mut w.dianye, 2027),
        room(&mut w.dianye, "Dianye reading room"),
        room(&mut w.power_co, "Power-co canteen"),
    ];
    for (i, id) in w.docs.iter().enumerate().skip(1) {
        let owner = if i == 5 { &w.power_co } else { &w.dianye };
        assert_ne!(
            owner.catalog().get(id),
            held.get(id),
            "{} changed",
            COLUMNS[i]
        );
    }
    for receiver_starts in [true, false] {
        let seen_by = [
            session(&mut w.dianye, &mut r, receiver_starts, None),
            session(&mut w.power_co, &mut r, receiver_starts, None),
        ]
        .map(|s| seen(&s));
        assert_eq!(
            r.catalog().get(&fed_id()),
            w.dianye.catalog().get(&fed_id()),
            "the revoked unit receives the federation document with its revocation"
        );
        for (i, id) in w.docs.iter().enumerate().skip(1) {
            assert_eq!(
                r.catalog().get(id),
                held.get(id),
                "a unit of C revoked by C × {}: received changes made after its revocation",
                COLUMNS[i]
            );
        }
        for id in &new_docs {
            assert!(
                r.catalog().get(id).is_none(),
                "a unit of C revoked by C: received a document created after its revocation"
            );
        }
        assert_eq!(seen_by, ["no principal", "no principal"].map(String::from));
    }
    // Control: a unit of C not revoked receives all of it.
    let mut other = fresh(key("state-grid", 3), "state-grid");
    session(&mut w.dianye, &mut other, true, None);
    session(&mut w.power_co, &mut other, true, None);
    let control = check("a unit of C not revoked", &w, &other, [Y; 6], "-");
    assert!(control.is_empty(), "{}", control.join("\n"));
    for id in &new_docs {
        assert!(other.catalog().get(id).is_some());
    }
}

#[test]
fn the_sender_decides_a_forged_chain_gets_only_the_federation_document() {
    let w = world();
    let k = Keypair::from_secret(&[0x42; 32]);
    // A certificate for `k` as community dianye of beishi, signed by `issuer`.
    let claim = |issuer: &Keypair| {
        Certificate::issue(
            issuer,
            k.node_id(),
            Role::Community,
            org("dianye"),
            Some(org("beishi")),
            "dianye",
            valid_from(),
            valid_until(),
        )
    };
    let genuine = claim(&key("beishi", 1));
    let mut broken = genuine.clone();
    broken.signature.0[0] ^= 1;
    let fake_street = Keypair::from_secret(&[0x43; 32]);
    let fake_root = Keypair::from_secret(&[0x44; 32]);
    let fake_street_cert = Certificate::issue(
        &fake_root,
        fake_street.node_id(),
        Role::Street,
        org("beishi"),
        None,
        "beishi",
        valid_from(),
        valid_until(),
    );
    let mut root_named = claim(&fake_root);
    root_named.issuer = root_key().node_id();
    let dianye_1 = w
        .dianye
        .trust()
        .certificates_of(&node("dianye", 1))
        .next()
        .unwrap()
        .clone();
    let cases: Vec<(&str, Vec<Certificate>, bool)> = vec![
        (
            "a genuine certificate from street beishi (control)",
            vec![genuine],
            true,
        ),
        (
            "the same certificate with a broken signature",
            vec![broken],
            false,
        ),
        (
            "a certificate from a street key the district never certified",
            vec![claim(&fake_street), fake_street_cert],
            false,
        ),
        (
            "a certificate from a certified key without the right to issue it (unit power-co)",
            vec![claim(&key("power-co", 1))],
            false,
        ),
        (
            "a certificate naming the root as issuer, signed by another key",
            vec![root_named],
            false,
        ),
        (
            "another key's genuine chain (dianye node 1's certificate)",
            vec![dianye_1],
            false,
        ),
    ];
    let mut wrong = Vec::new();
    for (case, chain, accepted) in cases {
        let hello = Message::Hello {
            version: PROTOCOL_VERSION,
            node: k.node_id(),
            chain,
            live: false,
            relay: false,
        };
        for receiver_starts in [true, false] {
            let mut owner = w.dianye.clone();
            let mut r = fresh(k.clone(), "dianye");
            let s = session(&mut owner, &mut r, receiver_starts, Some(&hello));
            let relation = format!(
                "a key presenting {case} ({} starts)",
                if receiver_starts { "receiver" } else { "owner" }
            );
            let mut expect = [accepted; 6];
            expect[0] = true;
            expect[5] = false;
            wrong.extend(check(&relation, &w, &r, expect, &seen(&s)));
            let principal = s.peer_principal().map(|p| (p.role, p.scope.clone()));
            let want = accepted.then(|| (Some(Role::Community), scope("dianye")));
            if principal != want {
                wrong.push(format!(
                    "{relation}: the owner saw the peer as {}",
                    seen(&s)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
