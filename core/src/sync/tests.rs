use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::*;
use crate::ledger::{LedgerOp, Points};
use crate::registry::{Compound, ManagementMode, RegistryOp};
use crate::replica::{NewDoc, Op};
use crate::resource::{BookingForm, ResourceOp, ResourceSpec};
use crate::testutil::{date, org, replica, t};
use crate::time::Slot;

pub(super) fn now() -> Timestamp {
    t("2026-11-20T09:00:00+08:00")
}

/// Drives a session between `a` (initiator) and `b` until both are done, or until
/// `cut` messages were delivered (a broken connection). Returns (round trips after hello,
/// messages delivered, initiator, responder).
fn run(a: &mut Replica, b: &mut Replica, cut: Option<usize>) -> (u32, usize, Session, Session) {
    run_sessions(
        a,
        b,
        cut,
        Session::initiator(false),
        Session::responder(false),
    )
}

/// [`run`] with the given sessions.
fn run_sessions(
    a: &mut Replica,
    b: &mut Replica,
    cut: Option<usize>,
    mut sa: Session,
    mut sb: Session,
) -> (u32, usize, Session, Session) {
    let mut to_b: VecDeque<Vec<u8>> = sa.start(a, now()).into();
    let mut to_a: VecDeque<Vec<u8>> = VecDeque::new();
    let mut delivered = 0;
    let mut a_sends = 0u32;
    loop {
        if cut.is_some_and(|c| delivered >= c) {
            break;
        }
        if let Some(m) = to_b.pop_front() {
            delivered += 1;
            to_a.extend(sb.handle(b, &m, now()).unwrap());
        } else if let Some(m) = to_a.pop_front() {
            delivered += 1;
            let out = sa.handle(a, &m, now()).unwrap();
            if !out.is_empty() && !sa.is_done() {
                a_sends += 1;
            }
            to_b.extend(out);
        } else {
            break;
        }
        assert!(delivered < 10_000, "session does not end");
    }
    // Round trips after hello: each initiator send after the first (hello) that the
    // responder answers; the initiator's last message (changes + done) needs no answer.
    (a_sends, delivered, sa, sb)
}

fn ledger(r: &mut Replica, community: &str) -> crate::DocId {
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

pub(super) fn service(r: &mut Replica, doc: crate::DocId, v: &str) {
    r.execute(
        doc,
        Op::Ledger(LedgerOp::RecordService {
            volunteer: v.parse().unwrap(),
            activity: "patrol".into(),
            team: None,
            date: date(2026, 5, 1),
            hours: 1.0,
            evidence: None,
        }),
        now(),
    )
    .unwrap();
}

fn same(a: &Replica, b: &Replica) -> bool {
    a.catalog() == b.catalog()
}

#[test]
fn a_session_makes_two_replicas_identical() {
    let mut a = replica("dianye", 1);
    let mut b = replica("hongqi", 2);
    let la = ledger(&mut a, "dianye");
    let lb = ledger(&mut b, "hongqi");
    for i in 1..=3 {
        service(&mut a, la, &format!("dianye:{i}"));
    }
    service(&mut b, lb, "hongqi:1");
    let (_, _, sa, sb) = run(&mut a, &mut b, None);
    assert!(sa.is_done() && sb.is_done());
    assert!(same(&a, &b));
    assert_eq!(
        a.balance(&"hongqi:1".parse().unwrap(), crate::testutil::now()),
        Points::whole(1)
    );
    assert_eq!(
        b.balance(&"dianye:2".parse().unwrap(), crate::testutil::now()),
        Points::whole(1)
    );
    // Nothing was sent twice: every change sent was new to its receiver.
    assert_eq!(sb.stats().changes_out, sa.stats().changes_applied);
    assert_eq!(sa.stats().changes_out, sb.stats().changes_applied);
    // A second session finds nothing to do in one round trip.
    let (rts, delivered, sa, _) = run(&mut a, &mut b, None);
    assert_eq!(
        (rts, delivered),
        (1, 5),
        "hello, hello, reconcile, reconcile, done"
    );
    assert_eq!(sa.stats().changes_out, 0);
}

#[test]
fn partial_replication_keeps_ledgers_from_other_communities_units() {
    let mut a = replica("dianye", 1);
    let la = ledger(&mut a, "dianye");
    service(&mut a, la, "dianye:1");
    let reg = a
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("dianye"),
                title: "r".into(),
            },
            now(),
        )
        .unwrap()
        .doc;
    // tech-college is a unit of hongqi: it gets the public registry, not dianye's ledger.
    let mut unit = replica("tech-college", 1);
    run(&mut unit, &mut a, None);
    assert!(unit.doc(reg).is_ok());
    assert!(unit.doc(la).is_err());
    // power-co is an organiser certified by dianye: it gets the ledger.
    let mut organiser = replica("power-co", 1);
    run(&mut organiser, &mut a, None);
    assert!(organiser.doc(la).is_ok());
    // …and a node with no certificate gets only the federation document.
    let stranger_key = crate::identity::Keypair::from_secret(&[0x42; 32]);
    let mut stranger = Replica::new(stranger_key, [1; 8], org("nobody"), *a.root());
    run(&mut stranger, &mut a, None);
    assert_eq!(stranger.docs().len(), 1);
    assert!(stranger.doc(crate::testutil::fed_id()).is_ok());
}

#[test]
fn a_broken_session_resumes_without_resending_what_was_stored() {
    let mut a = replica("dianye", 1);
    let la = ledger(&mut a, "dianye");
    for i in 1..=40 {
        service(&mut a, la, &format!("dianye:{}", i % 7 + 1));
    }
    let total = a.changes(la, &[]).unwrap().len() as u64;
    // Break the session after every possible number of delivered messages.
    for cut in 0..8 {
        let mut b = replica("hongqi", 2);
        let (_, _, _, first) = run(&mut b, &mut a, Some(cut));
        let got = b.catalog().get(&la).is_some();
        let (_, _, _, second) = run(&mut b, &mut a, None);
        assert!(same(&a, &b), "cut {cut}");
        // The second session sends only what b did not store in the first.
        let already = if got { first.stats().changes_out } else { 0 };
        assert_eq!(second.stats().changes_out + already, total, "cut {cut}");
    }
}

#[test]
fn malformed_oversized_and_out_of_order_messages_end_the_session_cleanly() {
    let mut a = replica("dianye", 1);
    let la = ledger(&mut a, "dianye");
    service(&mut a, la, "dianye:1");
    let before = a.catalog().clone();
    let good = wire::encode(&Message::Done);
    let huge = vec![1u8; wire::MAX_MESSAGE_BYTES + 1];
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "malformed"),
        (vec![9, 1], "version"),
        (vec![1, 99], "unknown message tag"),
        (good[..1].to_vec(), "malformed"),
        (huge, "exceeds the limit"),
        ([&good[..], &[0u8]].concat(), "trailing"),
        (wire::encode(&Message::Done), "unexpected done"),
        (
            wire::encode(&Message::Reconcile(vec![1, 2, 3])),
            "unexpected reconcile",
        ),
        (
            [vec![1u8, 3], (u32::MAX).to_le_bytes().to_vec()].concat(),
            "exceeds the limit",
        ),
    ];
    for (bytes, expect) in cases {
        let mut s = Session::responder(false);
        let err = s.handle(&mut a, &bytes, now()).unwrap_err();
        assert!(err.to_string().contains(expect), "{expect}: {err}");
        assert!(!s.is_done());
        assert_eq!(a.catalog(), &before);
    }
    // A hello of another version.
    let mut s = Session::responder(false);
    let hello = wire::encode(&Message::Hello {
        version: 99,
        node: a.author().node,
        chain: vec![],
        live: false,
        relay: false,
    });
    let err = s.handle(&mut a, &hello, now()).unwrap_err();
    assert!(matches!(err, SyncError::Version { got: 99, .. }), "{err}");
    // Every truncation of valid messages fails cleanly.
    let mut b = replica("hongqi", 2);
    let mut sa = Session::initiator(false);
    let first = sa.start(&b, now()).remove(0);
    for n in 0..first.len() {
        let mut s = Session::responder(false);
        assert!(s.handle(&mut a, &first[..n], now()).is_err());
    }
    // Changes with a garbage change inside: the session ends, nothing is applied.
    let bad = Message::Changes {
        changes: vec![],
        want: vec![],
        more: false,
    };
    let mut enc = wire::encode(&bad);
    enc[2] = 1; // claims one change that is not there
    assert!(wire::decode(&enc).is_err());
    let _ = &mut b;
}

#[test]
fn live_announcements_pull_just_the_changed_document() {
    let mut a = replica("dianye", 1);
    let mut b = replica("hongqi", 2);
    let la = ledger(&mut a, "dianye");
    run(&mut b, &mut a, None);
    service(&mut a, la, "dianye:5");
    let ann = announce(&a, la).unwrap();
    assert!(
        ann.len() < 120,
        "an announcement is compact: {} bytes",
        ann.len()
    );
    let pa = b.principal(&a.author().node, now()).ok();
    let pb = a.principal(&b.author().node, now()).ok();
    let (pull, _) = on_message(&mut b, pa.as_ref(), &ann).unwrap();
    assert_eq!(pull.len(), 1);
    let (push, _) = on_message(&mut a, pb.as_ref(), &pull[0]).unwrap();
    let (back, applied) = on_message(&mut b, pa.as_ref(), &push[0]).unwrap();
    assert_eq!((applied, back.len()), (1, 0));
    assert!(same(&a, &b));
    // Announcing what the peer already has asks for nothing.
    let (pull, _) = on_message(&mut b, pa.as_ref(), &announce(&a, la).unwrap()).unwrap();
    assert!(pull.is_empty());
}

#[test]
fn reconciliation_cost_grows_with_the_difference_not_the_catalog() {
    let item = |i: u64| *blake3::hash(&i.to_le_bytes()).as_bytes();
    let n = 10_000u64;
    let base: Vec<[u8; 32]> = (0..n).map(item).collect();
    let changed = |base: &[[u8; 32]], d: u64, salt: u64, stride: u64| {
        let mut c = base.to_vec();
        for i in 0..d {
            c[((i * stride) % base.len() as u64) as usize] = item(salt + i);
        }
        c
    };
    // Equal catalogs: one round trip, a few dozen bytes, whatever N.
    let equal = reconcile_items(&base, &base).unwrap();
    assert_eq!((equal.round_trips, equal.have, equal.need), (1, 0, 0));
    assert!(equal.bytes < 64, "{equal:?}");
    // 10 documents changed on one side: their items differ on both sides; one round trip
    // with the table, about a kilobyte.
    let d10 = reconcile_items(&changed(&base, 10, n, 997), &base).unwrap();
    assert_eq!(
        (d10.have, d10.need, d10.round_trips),
        (10, 10, 1),
        "{d10:?}"
    );
    assert!(d10.bytes < 1_200, "{d10:?}");
    // Bytes grow with d, not N: ten times the documents, same cost.
    let big: Vec<[u8; 32]> = (0..10 * n).map(item).collect();
    let d10_big = reconcile_items(&changed(&big, 10, 20 * n, 9973), &big).unwrap();
    assert_eq!(d10_big.bytes, d10.bytes, "{d10_big:?} vs {d10:?}");
    let equal_big = reconcile_items(&big, &big).unwrap();
    assert_eq!(equal_big.bytes, equal.bytes);
    // 1,000 documents changed overflow the first table: the initiator sends an estimator of
    // the difference, the responder a table sized for it — two round trips, bytes growing
    // with d (≈ 35 bytes per differing item). About one estimate in a hundred is too low
    // for its table to peel, and a table twice as large follows (a third round trip). Ten
    // sets, each far below range reconciliation alone.
    let mut sized = Vec::new();
    for salt in 0..10 {
        let stride = [7, 3, 11, 13, 17, 19, 23, 29, 31, 37][salt as usize];
        let items = changed(&base, 1000, (2 + salt) * n, stride);
        let r = reconcile_items(&items, &base).unwrap();
        assert_eq!((r.have, r.need), (1000, 1000), "{r:?}");
        assert!(d10.bytes * 50 < r.bytes, "{d10:?} vs {r:?}");
        let neg = reconcile_negentropy(&items, &base, FRAME_LIMIT).unwrap();
        let neg_whole = reconcile_negentropy(&items, &base, 0).unwrap();
        assert_eq!((neg.have, neg.need, neg_whole.have), (1000, 1000, 1000));
        assert!(r.bytes < neg_whole.bytes, "{r:?} vs {neg_whole:?}");
        assert!(neg_whole.round_trips <= neg.round_trips);
        sized.push(r);
    }
    let two = sized.iter().filter(|r| r.round_trips == 2).count();
    assert!(
        two >= 9 && sized.iter().all(|r| r.round_trips <= 3),
        "{sized:?}"
    );
    let mean = sized.iter().map(|r| r.bytes).sum::<u64>() / 10;
    assert!(mean < 2_000 * 40, "{sized:?}");
    // Ten times the catalog, the same difference: about the same cost (the estimate, hence
    // the table, varies a little with which items differ).
    let d1000_big = reconcile_items(&changed(&big, 1000, 20 * n, 7919), &big).unwrap();
    assert_eq!(d1000_big.round_trips, 2, "{d1000_big:?}");
    assert!(d1000_big.bytes < 2_000 * 60, "{d1000_big:?}");
    // Everything differs: too many differences for a sized table (past its bound, range
    // reconciliation), or a table within it; either way the sets reconcile.
    let other: Vec<[u8; 32]> = (0..n).map(|i| item(50 * n + i)).collect();
    let all = reconcile_items(&other, &base).unwrap();
    assert_eq!((all.have, all.need), (10_000, 10_000), "{all:?}");
}

#[test]
fn sessions_between_real_replicas_cost_round_trips_by_difference() {
    let mut a = replica("dianye", 1);
    let docs: Vec<_> = (0..120).map(|_| ledger(&mut a, "dianye")).collect();
    let mut b = replica("hongqi", 2);
    run(&mut b, &mut a, None);
    // Idle: one round trip after hello.
    let (rts, _, sb, _) = run(&mut b, &mut a, None);
    assert_eq!(rts, 1);
    assert!(
        sb.stats().bytes_out - sb.stats().hello_bytes < 64,
        "{:?}",
        sb.stats()
    );
    // Ten documents changed: two round trips after hello (table, then want/changes), and
    // only the ten changes travel.
    for d in &docs[..10] {
        service(&mut a, *d, "dianye:1");
    }
    let (rts, _, sb, sa) = run(&mut b, &mut a, None);
    assert_eq!(rts, 2, "{:?} {:?}", sb.stats(), sa.stats());
    assert_eq!(sa.stats().changes_out, 10);
    assert!(same(&a, &b));
    // A hundred documents changed overflow the first table: three round trips after hello
    // (table, estimator and sized table, want/changes).
    for d in &docs[..100] {
        service(&mut a, *d, "dianye:2");
    }
    let (rts, _, sb, sa) = run(&mut b, &mut a, None);
    assert_eq!(rts, 3, "{:?} {:?}", sb.stats(), sa.stats());
    assert_eq!(sa.stats().changes_out, 100);
    assert!(same(&a, &b));
    // An initiator of protocol version 1 (no sized tables) is served: past the first
    // table it falls back to range reconciliation.
    for d in &docs[..100] {
        service(&mut a, *d, "dianye:3");
    }
    let mut old = Session::initiator(false);
    old.version = 1;
    let (rts, _, sb, sa) = run_sessions(&mut b, &mut a, None, old, Session::responder(false));
    assert!(rts >= 3, "{:?} {:?}", sb.stats(), sa.stats());
    assert_eq!((sa.version, sa.stats().changes_out), (1, 100));
    assert!(same(&a, &b));
}

#[test]
fn crafted_reconciliation_frames_end_the_session_cleanly() {
    let mut a = replica("dianye", 1);
    let docs: Vec<_> = (0..60).map(|_| ledger(&mut a, "dianye")).collect();
    let mut b = replica("hongqi", 2);
    run(&mut b, &mut a, None);
    for d in &docs {
        service(&mut a, *d, "dianye:1");
    }
    let before = (a.catalog().clone(), b.catalog().clone());
    let frame = |f: Vec<u8>| wire::encode(&Message::Reconcile(f));
    // A responder that has answered the hello (of the given version).
    let responder = |a: &mut Replica, b: &Replica, version: u16| {
        let mut i = Session::initiator(false);
        i.version = version;
        let hello = i.start(b, now()).remove(0);
        let mut s = Session::responder(false);
        s.handle(a, &hello, now()).unwrap();
        s
    };
    // An initiator that has sent its probe.
    let initiator = |a: &mut Replica, b: &mut Replica| {
        let mut i = Session::initiator(false);
        let hello = i.start(b, now()).remove(0);
        let mut s = Session::responder(false);
        let back = s.handle(a, &hello, now()).unwrap().remove(0);
        i.handle(b, &back, now()).unwrap();
        i
    };
    let estimator = {
        let keys: Vec<[u8; 12]> = (0..10u32)
            .map(|i| iblt::key_of(blake3::hash(&i.to_le_bytes()).as_bytes()))
            .collect();
        [vec![ESTIMATE], iblt::Strata::of(&keys).encode()].concat()
    };
    let table = |m: u16, cells: usize| {
        let mut f = vec![TABLE];
        f.extend(m.to_le_bytes());
        f.extend(std::iter::repeat_n([0u8; 17], cells).flatten());
        f
    };
    let to_responder: Vec<(u16, Vec<u8>, &str)> = vec![
        (
            2,
            frame(estimator[..estimator.len() - 1].to_vec()),
            "bad difference estimator",
        ),
        (
            2,
            frame([&estimator[..], &[0]].concat()),
            "bad difference estimator",
        ),
        (2, frame(vec![ESTIMATE]), "bad difference estimator"),
        // A version-1 session knows no estimator; no table was sent to grow.
        (1, frame(estimator.clone()), "unknown reconciliation frame"),
        (2, frame(vec![GROW]), "unknown reconciliation frame"),
        (2, frame(vec![GROW, 0]), "unknown reconciliation frame"),
        (2, frame(vec![TOO_MANY]), "unknown reconciliation frame"),
        // An estimator before any probe.
        (
            2,
            frame(estimator.clone()),
            "estimator before the probe or twice",
        ),
    ];
    let probe = frame(
        [
            vec![1u8],
            1_000_000u64.to_le_bytes().to_vec(),
            vec![7u8; 16],
        ]
        .concat(),
    );
    for (i, (version, bytes, expect)) in to_responder.into_iter().enumerate() {
        let mut s = responder(&mut a, &b, version);
        if !expect.contains("before the probe") {
            s.handle(&mut a, &probe, now()).unwrap();
        }
        let err = s.handle(&mut a, &bytes, now()).unwrap_err();
        assert!(err.to_string().contains(expect), "{i} {expect}: {err}");
    }
    // One estimator per session: a second, however well formed, ends it; and the
    // difference it claims is bounded by both sets (the probe's count and the
    // responder's items), so the table answered stays within that.
    let mut s = responder(&mut a, &b, 2);
    s.handle(&mut a, &probe, now()).unwrap();
    let empty = [vec![ESTIMATE], iblt::Strata::of(&[]).encode()].concat();
    let answer = s.handle(&mut a, &frame(empty.clone()), now()).unwrap();
    let Ok(Message::Reconcile(t)) = wire::decode(&answer[0]) else {
        panic!("a table")
    };
    assert_eq!(t[0], TABLE);
    assert!(iblt::Iblt::<12>::decode_bytes(&t[1..], iblt::MAX_CELLS).is_some());
    let err = s.handle(&mut a, &frame(empty), now()).unwrap_err();
    assert!(
        err.to_string().contains("unknown reconciliation frame"),
        "{err}"
    );
    let mut s = responder(&mut a, &b, 2);
    let small = frame([vec![1u8], 3u64.to_le_bytes().to_vec(), vec![7u8; 16]].concat());
    s.handle(&mut a, &small, now()).unwrap();
    let claims_all: Vec<[u8; 12]> = (0..100_000u32)
        .map(|i| iblt::key_of(blake3::hash(&i.to_le_bytes()).as_bytes()))
        .collect();
    let hostile = [vec![ESTIMATE], iblt::Strata::of(&claims_all).encode()].concat();
    let answer = s.handle(&mut a, &frame(hostile), now()).unwrap();
    let Ok(Message::Reconcile(t)) = wire::decode(&answer[0]) else {
        panic!("a table")
    };
    let cells = iblt::Iblt::<12>::decode_bytes(&t[1..], iblt::MAX_CELLS)
        .unwrap()
        .len();
    assert!(
        cells <= iblt::cells_for(3 + s.by_key.len()).unwrap(),
        "{cells}"
    );
    let to_initiator: Vec<(Vec<u8>, &str)> = vec![
        // The first table has 48 cells: a larger one, however well formed, is refused.
        (frame(table(51, 51)), "bad reconciliation table"),
        (frame(table(65_535, 65_535)), "bad reconciliation table"),
        // An absurd size the frame cannot hold, a size not a multiple of 3, none.
        (frame(table(48, 3)), "bad reconciliation table"),
        (frame(table(47, 47)), "bad reconciliation table"),
        (frame(table(0, 0)), "bad reconciliation table"),
        // Answers to questions not asked.
        (frame(vec![TOO_MANY]), "unknown reconciliation frame"),
        (frame(vec![ESTIMATE]), "unknown reconciliation frame"),
        (frame(vec![GROW]), "unknown reconciliation frame"),
    ];
    for (bytes, expect) in to_initiator {
        let mut s = initiator(&mut a, &mut b);
        let err = s.handle(&mut b, &bytes, now()).unwrap_err();
        assert!(err.to_string().contains(expect), "{expect}: {err}");
    }
    // After the estimator, a sized table may be larger than the first, up to MAX_CELLS
    // (a u16 can say no more), but still not malformed.
    let mut s = initiator(&mut a, &mut b);
    let first = frame(table(48, 48));
    let ask = s.handle(&mut b, &first, now()).unwrap();
    assert_eq!(wire::decode(&ask[0]).unwrap(), {
        let keys: Vec<[u8; 12]> = s.by_key.keys().copied().collect();
        Message::Reconcile([vec![ESTIMATE], iblt::Strata::of(&keys).encode()].concat())
    });
    let err = s
        .handle(&mut b, &frame(table(65_535, 100)), now())
        .unwrap_err();
    assert!(
        err.to_string().contains("bad reconciliation table"),
        "{err}"
    );
    assert_eq!((a.catalog().clone(), b.catalog().clone()), before);
}

// ---- simulated network -----------------------------------------------------------------

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A message in flight: (deliver at, session id, to initiator?, bytes).
type Flight = (u64, usize, bool, Vec<u8>);

fn simulate(seed: u64, peers: usize) {
    let mut rng = Rng(seed | 1);
    let names = [
        ("dianye", 1),
        ("hongqi", 2),
        ("beishi", 3),
        ("power-co", 4),
        ("dianye", 2),
        ("xianghe", 1),
        ("tech-college", 3),
        ("jianzhong", 1),
        ("hospital", 4),
        ("state-grid", 5),
    ];
    let mut rs: Vec<Replica> = names[..peers].iter().map(|(o, n)| replica(o, *n)).collect();
    let room = rs[0]
        .create(
            NewDoc::Resource {
                street: org("beishi"),
                community: Some(org("dianye")),
                spec: ResourceSpec::room("room", 30),
            },
            now(),
        )
        .unwrap()
        .doc;
    let la = ledger(&mut rs[0], "dianye");
    let reg = rs[0]
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("dianye"),
                title: "r".into(),
            },
            now(),
        )
        .unwrap()
        .doc;
    let mut sessions: Vec<(usize, usize, Session, Session)> = Vec::new();
    let mut flights: Vec<Flight> = Vec::new();
    let mut clock = 0u64;
    for _step in 0..400 {
        clock += 1;
        match rng.below(10) {
            // Local writes.
            0..=2 => {
                let who = rng.below(peers as u64) as usize;
                let day = 1 + rng.below(5);
                let s = Slot::new(
                    t(&format!("2026-12-0{day}T19:00:00+08:00")),
                    t(&format!("2026-12-0{day}T20:00:00+08:00")),
                )
                .unwrap();
                let _ = rs[who].execute(
                    room,
                    Op::Resource(ResourceOp::Request(BookingForm::new("b", "p", s, 5))),
                    now(),
                );
                if who == 0 {
                    let ids: Vec<_> = rs[0]
                        .resource(room)
                        .map(|r| r.bookings().into_iter().map(|b| b.id).collect())
                        .unwrap_or_default();
                    if !ids.is_empty() {
                        let b = ids[rng.below(ids.len() as u64) as usize].clone();
                        let _ = rs[0].execute(
                            room,
                            Op::Resource(ResourceOp::Confirm { booking: b }),
                            now(),
                        );
                    }
                    service(&mut rs[0], la, &format!("dianye:{}", 1 + rng.below(3)));
                    let _ = rs[0].execute(
                        reg,
                        Op::Registry(RegistryOp::AddCompound(Compound::new(
                            "c",
                            "a",
                            10,
                            ManagementMode::SelfManaged,
                        ))),
                        now(),
                    );
                }
                if rs[who].doc(la).is_ok() && rng.below(3) == 0 {
                    let _ = rs[who].execute(
                        la,
                        Op::Ledger(LedgerOp::Redeem {
                            volunteer: "dianye:1".parse().unwrap(),
                            item: "x".into(),
                            cost: Points::whole(1),
                            outlet: "o".into(),
                        }),
                        now(),
                    );
                }
            }
            // Start a session between two peers.
            3..=5 => {
                let a = rng.below(peers as u64) as usize;
                let b = rng.below(peers as u64) as usize;
                if a != b {
                    let mut sa = Session::initiator(false);
                    let out = sa.start(&rs[a], now());
                    let id = sessions.len();
                    for m in out {
                        flights.push((clock + 1 + rng.below(5), id, false, m));
                    }
                    sessions.push((a, b, sa, Session::responder(false)));
                }
            }
            // Deliver messages that are due, with random drops and duplicates.
            _ => {
                flights.sort_by_key(|f| (f.0, f.1));
                let due: Vec<Flight> = flights.iter().filter(|f| f.0 <= clock).cloned().collect();
                flights.retain(|f| f.0 > clock);
                for (_, sid, to_initiator, bytes) in due {
                    let roll = rng.below(20);
                    if roll == 0 {
                        continue; // dropped: the session stalls (a broken connection)
                    }
                    let copies = if roll == 1 { 2 } else { 1 };
                    for _ in 0..copies {
                        let (a, b, sa, sb) = &mut sessions[sid];
                        let (who, sess, back) = if to_initiator {
                            (*a, sa, false)
                        } else {
                            (*b, sb, true)
                        };
                        // A duplicate or a message after a failure ends the session with an
                        // error and changes nothing else.
                        if let Ok(out) = sess.handle(&mut rs[who], &bytes, now()) {
                            for m in out {
                                flights.push((clock + 1 + rng.below(5), sid, back, m));
                            }
                        }
                    }
                }
            }
        }
    }
    // Heal: clean sessions between every pair until nothing moves.
    for _round in 0..3 {
        for a in 0..peers {
            for b in 0..peers {
                if a != b {
                    let (x, y) = if a < b {
                        let (l, r) = rs.split_at_mut(b);
                        (&mut l[a], &mut r[0])
                    } else {
                        let (l, r) = rs.split_at_mut(a);
                        (&mut r[0], &mut l[b])
                    };
                    let (_, _, sa, sb) = run(x, y, None);
                    assert!(sa.is_done() && sb.is_done());
                }
            }
        }
    }
    // Convergence on every document each peer may hold, and the invariants.
    for r in &rs {
        for (doc, digest) in r.catalog() {
            for other in &rs {
                if let Some(d) = other.catalog().get(doc) {
                    assert_eq!(d, digest, "seed {seed}: peers disagree on {doc:?}");
                }
            }
        }
        if let Ok(v) = r.resource(room) {
            assert!(
                v.check_invariants().is_ok(),
                "seed {seed}: {:?}",
                v.check_invariants()
            );
        }
        if r.doc(la).is_ok() {
            for i in 1..=3 {
                let v: crate::VolunteerId = format!("dianye:{i}").parse().unwrap();
                assert!(
                    r.balance(&v, crate::testutil::now()).0 >= 0,
                    "seed {seed}: negative balance"
                );
            }
        }
        let refused: BTreeSet<_> = r.rejected().keys().copied().collect();
        for other in &rs {
            for doc in other.docs().keys() {
                for sc in other.changes(*doc, &[]).unwrap() {
                    assert!(
                        !refused.contains(&sc.change_hash().unwrap()),
                        "refused change held elsewhere"
                    );
                }
            }
        }
    }
    // Everyone who may hold the room holds it, and nobody else does.
    let h = rs[0].header(room).unwrap().clone();
    for r in &rs {
        let p = r.principal(&r.author().node, now()).ok();
        assert_eq!(
            r.doc(room).is_ok(),
            may_receive(p.as_ref(), &h),
            "seed {seed}: {} and the room",
            r.author().org
        );
    }
    let _: BTreeMap<u8, u8> = BTreeMap::new();
}

#[test]
fn simulated_networks_with_drops_duplicates_and_delays_converge() {
    let seed = std::env::var("SEED").ok().and_then(|s| s.parse().ok());
    let seeds: Vec<u64> = match seed {
        Some(s) => vec![s],
        None => (1..=7).collect(),
    };
    for s in seeds {
        // 7, 3, 8, 4, 9, 5 and 10 peers.
        let peers = 2 + (s as usize * 5) % 9;
        simulate(s, peers);
    }
}

#[test]
fn another_street_neither_reads_nor_carries_a_streets_ledger() {
    // jianzhong is another street: it may neither read beishi's ledgers nor carry them
    // (a carried document lies on its disk all the same); beishi's own street relays them.
    let mut dianye = replica("dianye", 1);
    let la = ledger(&mut dianye, "dianye");
    service(&mut dianye, la, "dianye:4");
    let mut other = replica("jianzhong", 1);
    let mut hongqi = replica("hongqi", 2);
    let relay_session = |relay: &mut Replica, from: &mut Replica| {
        let mut sr = Session::initiator(false).relaying();
        let mut sd = Session::responder(false);
        let mut to_d: VecDeque<Vec<u8>> = sr.start(relay, now()).into();
        let mut to_r: VecDeque<Vec<u8>> = VecDeque::new();
        while !(to_d.is_empty() && to_r.is_empty()) {
            if let Some(m) = to_d.pop_front() {
                to_r.extend(sd.handle(from, &m, now()).unwrap());
            } else if let Some(m) = to_r.pop_front() {
                to_d.extend(sr.handle(relay, &m, now()).unwrap());
            }
        }
    };
    relay_session(&mut other, &mut dianye);
    assert!(
        !other.is_carried(la),
        "another street carries nothing of beishi's"
    );
    assert!(other.doc(la).is_err());
    run(&mut hongqi, &mut other, None);
    assert!(hongqi.doc(la).is_err());
    // Through its own street.
    let mut street = replica("beishi", 1);
    relay_session(&mut street, &mut dianye);
    assert!(
        street.doc(la).is_ok(),
        "the street reads its communities' ledgers"
    );
    run(&mut hongqi, &mut street, None);
    assert_eq!(
        hongqi.balance(&"dianye:4".parse().unwrap(), crate::testutil::now()),
        Points::whole(1)
    );
    assert_eq!(hongqi.catalog().get(&la), dianye.catalog().get(&la));
    // A forged change cannot be carried: the envelope is verified.
    let mut bad = dianye.changes(la, &[]).unwrap().pop().unwrap();
    bad.signature.as_mut().expect("signed").0[0] ^= 1;
    let mut relay2 = replica("jianzhong", 2);
    assert!(relay2.carry(bad).is_err());
}

/// Deferred mode (what a node does): received changes are handed to the caller, applied in
/// chunks, and the initiator's last answer is chosen only after they were applied — so a
/// document both sides changed costs no more than with immediate application.
#[test]
fn deferred_sessions_answer_after_the_received_changes_are_applied() {
    let mut a = replica("dianye", 1);
    let mut b = replica("dianye", 2);
    let doc = ledger(&mut a, "dianye");
    service(&mut a, doc, "dianye:1");
    crate::testutil::sync(&mut a, &mut b);
    // Both sides write to the same document while apart.
    service(&mut a, doc, "dianye:2");
    service(&mut b, doc, "dianye:3");
    service(&mut b, doc, "dianye:4");
    let mut sa = Session::initiator(false);
    let mut sb = Session::responder(false);
    let mut to_b: VecDeque<Vec<u8>> = sa.start(&a, now()).into();
    let mut to_a: VecDeque<Vec<u8>> = VecDeque::new();
    let apply = |r: &mut Replica, s: &mut Session, got: Vec<SignedChange>| {
        let mut n = 0;
        for chunk in got.chunks(1) {
            for sc in chunk {
                if let Ok(crate::replica::Applied::Applied(h)) = r.apply(sc.clone()) {
                    n += h.len() as u64;
                }
            }
        }
        s.note_applied(n, 0);
    };
    for _ in 0..100 {
        if let Some(m) = to_b.pop_front() {
            let (out, got) = sb.handle_deferred(&b, &m, now()).unwrap();
            apply(&mut b, &mut sb, got);
            to_a.extend(out);
        } else if let Some(m) = to_a.pop_front() {
            let (out, got) = sa.handle_deferred(&a, &m, now()).unwrap();
            assert!(sa.is_settling() || got.is_empty() || !sa.is_done());
            apply(&mut a, &mut sa, got);
            to_b.extend(out);
            to_b.extend(sa.settle(&a));
        } else {
            break;
        }
    }
    assert!(sa.is_done() && sb.is_done());
    assert!(same(&a, &b));
    // The responder cannot place the initiator's unknown head, so it sends the document's
    // history (4 changes, 2 new); the initiator answers after applying them: just its one.
    assert_eq!((sb.stats().changes_out, sa.stats().changes_applied), (4, 2));
    assert_eq!((sa.stats().changes_out, sb.stats().changes_applied), (1, 1));
    // Settling twice sends nothing more.
    assert!(sa.settle(&a).is_empty());
}

#[test]
fn a_lazy_responder_holds_one_batch_and_sends_the_same_answer() {
    let mut b = replica("dianye", 2);
    let doc = ledger(&mut b, "dianye");
    // About 2.4 MB of changes: three batches.
    for i in 1..=120 {
        b.execute(
            doc,
            Op::Ledger(LedgerOp::RecordService {
                volunteer: format!("dianye:{i}").parse().unwrap(),
                activity: "patrol".into(),
                team: None,
                date: date(2026, 5, 1),
                hours: 1.0,
                evidence: Some("x".repeat(20_000)),
            }),
            now(),
        )
        .unwrap();
    }
    let mut answers = Vec::new();
    for lazy in [false, true] {
        let mut a = replica("dianye", 1);
        let mut sa = Session::initiator(false);
        let mut sb = Session::responder(false);
        if lazy {
            sb = sb.lazy();
        }
        let mut to_b: VecDeque<Vec<u8>> = sa.start(&a, now()).into();
        let mut to_a: VecDeque<Vec<u8>> = VecDeque::new();
        let mut most_held = 0usize;
        let mut sent = Vec::new();
        for _ in 0..100 {
            if let Some(m) = to_b.pop_front() {
                to_a.extend(sb.handle(&mut b, &m, now()).unwrap());
            } else if to_a.is_empty() && sb.has_more_out() {
                // The transport asks for the next part once the last went out.
                to_a.extend(sb.next_out(&b));
            } else if let Some(m) = to_a.pop_front() {
                sent.push(m.clone());
                to_b.extend(sa.handle(&mut a, &m, now()).unwrap());
            } else {
                break;
            }
            most_held = most_held.max(to_a.iter().map(Vec::len).sum());
        }
        assert!(sa.is_done() && sb.is_done(), "lazy: {lazy}");
        assert!(same(&a, &b), "lazy: {lazy}");
        assert!(!sb.has_more_out());
        if lazy {
            assert!(most_held <= 2 * BATCH_BYTES, "held {most_held}");
        } else {
            assert!(most_held > 2 * BATCH_BYTES, "held {most_held}");
        }
        answers.push(sent);
    }
    assert_eq!(answers[0], answers[1], "the same messages either way");
}

/// Issue 18, item 3 (in part): a unit whose certificate its community revoked reads nothing
/// new — its next session offers it only the federation document (where the revocation
/// is), not the ledger written after the revocation.
#[test]
fn a_revoked_unit_receives_nothing_written_after_the_revocation() {
    let mut dy = replica("dianye", 1);
    let la = ledger(&mut dy, "dianye");
    service(&mut dy, la, "dianye:1");
    let mut unit = replica("power-co", 1);
    run(&mut unit, &mut dy, None);
    assert!(
        unit.doc(la).is_ok(),
        "an organiser receives its community's ledger"
    );
    let subject = unit.author().node;
    dy.execute(
        crate::testutil::fed_id(),
        Op::Federation(crate::federation::FederationOp::Revoke {
            subject,
            reason: "co-building ended".into(),
            certs: None,
        }),
        now(),
    )
    .unwrap();
    assert!(dy.reader(&subject, now()).is_none());
    service(&mut dy, la, "dianye:2");
    let before = unit.heads(la).unwrap();
    run(&mut unit, &mut dy, None);
    assert_eq!(
        unit.heads(la).unwrap(),
        before,
        "nothing new reached the revoked unit"
    );
    assert_eq!(
        unit.federation(crate::testutil::fed_id())
            .unwrap()
            .revocations()
            .get(&subject)
            .map(Vec::len),
        Some(1),
        "it learns of its revocation"
    );
    assert_eq!(
        unit.balance(&"dianye:2".parse().unwrap(), crate::testutil::now()),
        Points(0)
    );
}

/// Issue 18, item 1 (a unit sees the resources it is delegated): a unit of another
/// community gets a room only once its owner delegated a block of it to the unit.
#[test]
fn a_unit_of_another_community_receives_a_room_delegated_to_it() {
    let mut dy = replica("dianye", 1);
    let room = dy
        .create(
            NewDoc::Resource {
                street: org("beishi"),
                community: Some(org("dianye")),
                spec: ResourceSpec::room("Dianye hall", 30),
            },
            now(),
        )
        .unwrap()
        .doc;
    let mut college = replica("tech-college", 1);
    run(&mut college, &mut dy, None);
    assert!(
        college.doc(room).is_err(),
        "a unit of hongqi gets dianye's room"
    );
    dy.execute(
        room,
        Op::Resource(ResourceOp::Delegate {
            delegate: crate::testutil::scope("tech-college"),
            block: crate::resource::WeeklyBlock::new(
                &[2, 4],
                jiff::civil::time(19, 0, 0, 0),
                jiff::civil::time(21, 0, 0, 0),
            ),
        }),
        now(),
    )
    .unwrap();
    run(&mut college, &mut dy, None);
    assert_eq!(
        college.heads(room).unwrap(),
        dy.heads(room).unwrap(),
        "the delegate holds the room"
    );
    // Another unit of hongqi still gets nothing.
    let mut other = replica("org-c", 1);
    run(&mut other, &mut dy, None);
    assert!(other.doc(room).is_err());
}

#[test]
fn a_provisional_document_is_neither_sent_nor_announced_until_verified() {
    let mut a = replica("dianye", 1);
    let mut b = replica("hongqi", 2);
    let la = ledger(&mut a, "dianye");
    service(&mut a, la, "dianye:1");
    assert!(a.mark_provisional(la));
    assert!(!a.mark_provisional(crate::DocId([9; 32])), "not held");
    assert!(a.snapshot_of(la).is_err(), "no snapshot of it is served");
    assert!(announce(&a, la).is_none());
    // A session sends nothing of it (nor a live pull's answer).
    run(&mut a, &mut b, None);
    assert!(b.doc(la).is_err());
    let pb = a.principal(&b.author().node, now()).ok();
    let pull = wire::encode(&Message::Changes {
        changes: Vec::new(),
        want: vec![WantDoc {
            doc: la,
            heads: Vec::new(),
        }],
        more: false,
    });
    let (out, _) = on_message_deferred(&a, pb.as_ref(), &pull).unwrap();
    assert!(
        out.is_empty(),
        "a pull of a provisional document is answered with nothing"
    );
    // Verified, it is served like any other.
    assert!(a.mark_verified(la));
    assert!(!a.is_provisional(la));
    run(&mut a, &mut b, None);
    assert!(same(&a, &b));
    assert_eq!(b.heads(la).unwrap(), a.heads(la).unwrap());
    let (bytes, sigs) = a.snapshot_of(la).unwrap();
    // A one-byte bitmap, then the signature of the newest change, which covers the genesis.
    assert_eq!(sigs.len(), 1 + 64);
    let unpacked = crate::signed::unpack_signatures(&sigs, 2).unwrap();
    assert_eq!(unpacked.iter().flatten().count(), 1);
    assert!(!bytes.is_empty());
}
