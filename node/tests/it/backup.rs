//! A node restored from a copy of its data directory, and equivocation seen by a node: fresh
//! incarnations on every open, so a restored node's writes never collide with the changes its
//! original made after the copy; a key that does equivocate is flagged and only what built on
//! its refused change goes.

use std::path::Path;

use linli_core::cert::Role;
use linli_core::resource::{BookingForm, ResourceOp, ResourceSpec};
use linli_core::{
    Applied, BookingId, DocId, Effect, Error as CoreError, NewDoc, Op, Slot, Timestamp,
};
use linli_node::api::{self, ApiClient};
use linli_node::ops::ln;
use linli_node::{InitOptions, Node, NodeEvent, files};

use crate::util::*;

/// An evening slot in December 2030 (inside the default opening hours).
fn evening(day: i64) -> Slot {
    let base = Timestamp::parse("2030-12-02T19:00:00+08:00").unwrap();
    let start = Timestamp(base.0 + day * 24 * 3600 * 1000);
    Slot::new(start, Timestamp(start.0 + 2 * 3600 * 1000)).unwrap()
}

/// A second community (`hongqi`), certified by the district, holding the federation document.
async fn hongqi_node(district: &mut District, dir: &Path) -> Node {
    let mut init = InitOptions::new(org("hongqi"), district.root_id());
    init.secret = Some(secret("hongqi", 1));
    let node = Node::init(dir, init, opts()).await.unwrap();
    district.certify(node.node_id(), Role::Community, "hongqi", Some("beishi"));
    node
}

async fn request(node: &Node, room: DocId, day: i64) -> BookingId {
    let form = BookingForm::new("Li Hua", "choir practice", evening(day), 12);
    let w = node
        .execute(room, Op::Resource(ResourceOp::Request(form)))
        .await
        .unwrap();
    let Effect::Booking(b) = w.effect else {
        panic!("expected a booking, got {:?}", w.effect)
    };
    b
}

async fn confirm(node: &Node, room: DocId, booking: &BookingId) {
    let op = ResourceOp::Confirm {
        booking: booking.clone(),
    };
    let w = node.execute(room, Op::Resource(op)).await.unwrap();
    assert!(
        matches!(w.effect, Effect::Confirmed { .. }),
        "{:?}",
        w.effect
    );
}

/// Sends every change of every document `from` holds to `to`; every one must be applied or
/// already held there (nothing refused, nothing left waiting).
async fn send(from: &Node, to: &Node) {
    for d in from.documents().await.unwrap() {
        let changes = from.changes(d.id, vec![]).await.unwrap();
        for r in to.apply_batch(changes).await.unwrap() {
            match r {
                Ok(Applied::Applied(_) | Applied::Duplicate) => {}
                other => panic!("a change of {} was not taken: {other:?}", d.id.short()),
            }
        }
    }
}

async fn exchange(a: &Node, b: &Node) {
    send(a, b).await;
    send(b, a).await;
}

/// Status of every booking of a room, sorted by id.
async fn bookings(node: &Node, room: DocId) -> Vec<(String, &'static str)> {
    let mut v: Vec<(String, &'static str)> = node
        .bookings(room)
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.id.to_string(), b.status.label()))
        .collect();
    v.sort();
    v
}

/// Copies the files of a data directory (the node being shut down).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() && e.file_name() != files::LOCK {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The incarnation stored in a data directory's settings.
fn stored_incarnation(dir: &Path) -> Vec<u8> {
    let c = rusqlite::Connection::open(dir.join(files::DB)).unwrap();
    c.query_row(
        "SELECT value FROM settings WHERE key = 'incarnation'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn the_incarnation_is_new_on_every_open_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, registry) = community_node(&mut district, dir.path()).await;
    let mut seen = vec![node.status().await.unwrap().incarnation];
    node.shutdown().await.unwrap();
    assert_eq!(stored_incarnation(dir.path()), seen[0]);
    for i in 0..3 {
        let node = Node::open(dir.path(), opts()).await.unwrap();
        let inc = node.status().await.unwrap().incarnation;
        assert!(!seen.contains(&inc), "open {i} reused an incarnation");
        assert_eq!(stored_incarnation(dir.path()), inc);
        seen.push(inc);
        // Each open writes under its own actor: the changes carry the new incarnation.
        let w = node
            .execute(registry, compound(&format!("C{i}")))
            .await
            .unwrap();
        let change = w.change.verify().unwrap();
        assert_eq!(&change.actor_id().to_bytes()[32..], inc.as_slice());
        node.shutdown().await.unwrap();
    }
    let node = Node::open(dir.path(), opts()).await.unwrap();
    assert_eq!(compound_names(&node, registry).await, ["C0", "C1", "C2"]);
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_node_restored_from_a_backup_writes_without_refusals() {
    let (dir, backup, other) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let mut district = District::new();
    let (a, registry) = community_node(&mut district, dir.path()).await;
    let b = hongqi_node(&mut district, other.path()).await;
    for n in [&a, &b] {
        n.apply_batch(district.fed_changes()).await.unwrap();
    }
    let room = a
        .create(NewDoc::Resource {
            street: org("beishi"),
            community: Some(org("dianye")),
            spec: ResourceSpec::room("Dianye activity room", 30),
        })
        .await
        .unwrap()
        .doc;
    add_compound(&a, registry, "Before backup").await;
    exchange(&a, &b).await;
    let b1 = request(&b, room, 0).await;
    let b3 = request(&b, room, 2).await;
    exchange(&a, &b).await;
    confirm(&a, room, &b1).await;
    exchange(&a, &b).await;

    // The backup: a copy of the data directory while the node is shut down.
    let before = a.status().await.unwrap().incarnation;
    a.shutdown().await.unwrap();
    copy_dir(dir.path(), backup.path());

    // The original writes on (in the room and in its registry) and syncs with b.
    let a = Node::open(dir.path(), opts()).await.unwrap();
    let original = a.status().await.unwrap().incarnation;
    let b2 = request(&b, room, 1).await;
    exchange(&a, &b).await;
    confirm(&a, room, &b2).await;
    add_compound(&a, registry, "After backup").await;
    exchange(&a, &b).await;
    a.shutdown().await.unwrap();
    drop(a);

    // The original is lost; the copy is restored and writes before it syncs.
    let r = Node::open(backup.path(), opts()).await.unwrap();
    let restored = r.status().await.unwrap().incarnation;
    assert!(before != original && original != restored && before != restored);
    confirm(&r, room, &b3).await;
    add_compound(&r, registry, "Restored").await;
    let b4 = request(&b, room, 3).await;
    exchange(&r, &b).await;
    confirm(&r, room, &b4).await;
    exchange(&r, &b).await;

    // Nothing refused anywhere, every write on both nodes.
    for n in [&r, &b] {
        let st = n.status().await.unwrap();
        assert_eq!((st.refused, st.pending), (0, 0), "{st:?}");
        assert!(st.equivocators.is_empty(), "{st:?}");
        assert!(n.rejected().await.unwrap().is_empty());
        let mut confirmed: Vec<(String, &str)> = [&b1, &b2, &b3, &b4]
            .iter()
            .map(|id| (id.to_string(), "confirmed"))
            .collect();
        confirmed.sort();
        assert_eq!(bookings(n, room).await, confirmed);
        assert_eq!(
            compound_names(n, registry).await,
            ["After backup", "Before backup", "Restored"]
        );
    }
    assert_eq!(r.documents().await.unwrap(), b.documents().await.unwrap());
    r.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_equivocating_key_is_flagged_and_only_its_refused_change_goes() {
    // Two copies of one replica of hongqi (same actor) write different changes with one seq.
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, _) = community_node(&mut district, dir.path()).await;
    let mut h = district.replica("hongqi", 1);
    node.apply_batch(district.fed_changes()).await.unwrap();
    let now = linli_node::system_clock();
    let genesis = h
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("hongqi"),
                title: "Hongqi compounds".into(),
            },
            now,
        )
        .unwrap();
    let doc = genesis.doc;
    let first = h.execute(doc, compound("First"), now).unwrap().change;
    let mut copy = h.clone();
    let x = h.execute(doc, compound("Original"), now).unwrap().change;
    let y = copy.execute(doc, compound("Copy"), now).unwrap().change;
    let after_y = copy.execute(doc, compound("Copy 2"), now).unwrap().change;
    let (hx, hy) = (x.change_hash().unwrap(), y.change_hash().unwrap());
    let (kept, lost) = if hx < hy {
        ("Original", "Copy")
    } else {
        ("Copy", "Original")
    };
    let mut events = node.subscribe();
    for r in node
        .apply_batch(vec![genesis, first, x, y, after_y])
        .await
        .unwrap()
    {
        match r {
            Ok(_) | Err(CoreError::Rejected(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    let ev = wait_for(&mut events, "equivocation flagged", |e| {
        matches!(e, NodeEvent::Equivocation { .. })
    })
    .await;
    let NodeEvent::Equivocation {
        signer,
        doc: d,
        seq,
    } = ev
    else {
        unreachable!()
    };
    assert_eq!((signer, d), (h.author().node, doc));
    let st = node.status().await.unwrap();
    let flagged = &st.equivocators[&h.author().node];
    assert_eq!((flagged.doc, flagged.seq), (doc, seq));
    assert_eq!(flagged.kept, hx.min(hy));
    assert_eq!(
        flagged.refused.iter().copied().collect::<Vec<_>>(),
        [hx.max(hy)]
    );
    let names = compound_names(&node, doc).await;
    let mut expected = vec!["First", kept];
    if kept == "Copy" {
        expected.push("Copy 2");
    }
    expected.sort();
    assert_eq!(names, expected);
    assert!(!names.iter().any(|n| n == lost));
    // The refused change, and (if the copy lost) its follower, are stored as refused.
    assert_eq!(st.refused, if kept == "Copy" { 1 } else { 2 });
    let rejected = node.rejected().await.unwrap();
    assert!(
        rejected
            .iter()
            .any(|r| r.reason.contains("two different changes")),
        "{rejected:?}"
    );
    // The status route and the metrics show the key.
    const TOKEN: &str = "equivocation-test-token";
    let addr = "127.0.0.1:0".parse().unwrap();
    let server = api::serve(node.clone(), None, addr, TOKEN.into())
        .await
        .unwrap();
    let c = ApiClient::new(server.addr(), TOKEN.into());
    let metrics = c.get("/metrics").await.unwrap().text();
    assert!(
        metrics.contains("\nlinli_equivocating_keys 1\n"),
        "{metrics}"
    );
    let json = c.get_json("/api/v1/status").await.unwrap();
    assert_eq!(json["equivocating_keys"], 1);
    let row = &json["equivocating"][0];
    assert_eq!(row["signer"], ln(&signer).as_str());
    assert_eq!(row["doc"], doc.short().as_str());
    assert_eq!(row["seq"], seq);
    assert_eq!(row["kept"], hex::encode(&hx.min(hy).0[..4]).as_str());
    server.shutdown().await.unwrap();
    node.shutdown().await.unwrap();

    // Flagged again from the store on open (here by `linli status`, which opens the store).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_linli"))
        .arg("--dir")
        .arg(dir.path())
        .arg("status")
        .env_remove("RUST_LOG")
        .env_remove("LINLI_DIR")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["equivocating_keys", "1"]),
        "{text}"
    );
    assert!(text.contains(&ln(&signer)), "{text}");
    let node = Node::open(dir.path(), opts()).await.unwrap();
    let again = node.status().await.unwrap();
    assert_eq!(again.equivocators, st.equivocators);
    assert_eq!(compound_names(&node, doc).await, names);
    node.shutdown().await.unwrap();
}
