//! Networking on loopback, in one process: nodes with their own keys and certificates sync
//! over libp2p (a session when they connect, live announcements after a write), and a node
//! of another district is refused.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use linli_core::cert::Role;
use linli_core::{DocId, NewDoc};
use linli_node::net::{NetConfig, Network};
use linli_node::{InitOptions, Node};
use tempfile::TempDir;

use crate::util::{District, add_compound, compound_names, opts, org, secret};

/// Polls `check` until it returns `Some`, failing after `secs` seconds.
pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn loopback(bootstrap: Vec<String>) -> NetConfig {
    NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap,
        mdns: false,
        // Only the session at connection time and live announcements: a test that passes
        // does not rely on the periodic round.
        sync_interval_secs: 3600,
        max_peers: 16,
    }
}

/// A certified community node of street beishi with its own registry.
async fn community(district: &mut District, dir: &Path, o: &str) -> (Node, DocId) {
    let mut init = InitOptions::new(org(o), district.root_id());
    init.secret = Some(secret(o, 1));
    let node = Node::init(dir, init, opts()).await.unwrap();
    district.certify(node.node_id(), Role::Community, o, Some("beishi"));
    for r in node.apply_batch(district.fed_changes()).await.unwrap() {
        r.unwrap();
    }
    let reg = node
        .create(NewDoc::Registry {
            street: org("beishi"),
            community: org(o),
            title: format!("{o} compounds"),
        })
        .await
        .unwrap()
        .doc;
    (node, reg)
}

async fn names_on(node: &Node, reg: DocId) -> Option<Vec<String>> {
    if node.compounds(reg).await.is_err() {
        return None;
    }
    Some(compound_names(node, reg).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_sync_on_connect_and_then_live() {
    let mut district = District::new();
    let (da, db) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (a, reg_a) = community(&mut district, da.path(), "dianye").await;
    let (b, reg_b) = community(&mut district, db.path(), "hongqi").await;
    // B learns of A's certificate only through A.
    add_compound(&a, reg_a, "Dianye No. 1").await;
    add_compound(&b, reg_b, "Hongqi Yard").await;

    let net_a = Network::start(a.clone(), loopback(vec![])).await.unwrap();
    let addrs = net_a.listen_addrs().await.unwrap();
    assert!(addrs[0].starts_with("/ip4/127.0.0.1/tcp/"), "{addrs:?}");
    let net_b = Network::start(b.clone(), loopback(addrs)).await.unwrap();

    // The session at connection time brings each side the other's registry.
    eventually("B has A's registry", 20, || async {
        names_on(&b, reg_a)
            .await
            .filter(|n| n == &["Dianye No. 1".to_string()])
    })
    .await;
    eventually("A has B's registry", 20, || async {
        names_on(&a, reg_b)
            .await
            .filter(|n| n == &["Hongqi Yard".to_string()])
    })
    .await;

    // A later write reaches the other side by announcement + pull (no periodic sync runs).
    add_compound(&a, reg_a, "Dianye No. 2").await;
    eventually("B sees A's new compound live", 20, || async {
        names_on(&b, reg_a).await.filter(|n| n.len() == 2)
    })
    .await;
    assert!(net_a.stats().announcements >= 1, "{:?}", net_a.stats());

    // Both list the other as a connected peer with a completed session.
    let peers = net_b.peers().await.unwrap();
    let pa = peers
        .iter()
        .find(|p| p.node == a.node_id())
        .expect("A is a peer of B");
    assert!(
        pa.connected && pa.sessions_ok >= 1 && pa.last_sync.is_some(),
        "{pa:?}"
    );
    assert!(net_b.stats().changes_applied >= 3, "{:?}", net_b.stats());
    // Sync state is recorded in the store.
    eventually("B stored A's sync state", 10, || async {
        let peers = b.peers().await.unwrap();
        peers.iter().any(|p| p.node == a.node_id()).then_some(())
    })
    .await;

    net_a.shutdown().await.unwrap();
    net_b.shutdown().await.unwrap();
    assert!(
        net_a.peers().await.is_err(),
        "a stopped network answers with an error"
    );
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_of_another_district_is_refused() {
    let mut district = District::new();
    let (da, dx) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (a, reg_a) = community(&mut district, da.path(), "dianye").await;
    add_compound(&a, reg_a, "Dianye No. 1").await;
    // A node with its own root: its certificate chains to another district.
    let mut other = District::new_with_root([0xBB; 32]);
    let (x, reg_x) = community(&mut other, dx.path(), "intruder").await;

    let net_a = Network::start(a.clone(), loopback(vec![])).await.unwrap();
    let addrs = net_a.listen_addrs().await.unwrap();
    let net_x = Network::start(x.clone(), loopback(addrs)).await.unwrap();

    let dropped = eventually("A drops the foreign node", 20, || async {
        let peers = net_a.peers().await.unwrap();
        peers
            .into_iter()
            .find(|p| p.node == x.node_id())
            .and_then(|p| p.dropped)
    })
    .await;
    assert!(dropped.contains("root"), "{dropped}");
    assert!(net_a.stats().peers_dropped >= 1);
    // Nothing crossed: neither side holds the other's registry.
    assert!(x.compounds(reg_a).await.is_err());
    assert!(a.compounds(reg_x).await.is_err());
    net_a.shutdown().await.unwrap();
    net_x.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_addresses_are_named() {
    let mut district = District::new();
    let d = TempDir::new().unwrap();
    let (a, _) = community(&mut district, d.path(), "dianye").await;
    let mut cfg = loopback(vec!["not-an-address".into()]);
    let e = Network::start(a.clone(), cfg.clone()).await.unwrap_err();
    assert!(e.to_string().contains("not-an-address"), "{e}");
    cfg.bootstrap.clear();
    cfg.listen = vec!["/ip4/127.0.0.1/udp/9/quic-v1".into()];
    let e = Network::start(a.clone(), cfg).await.unwrap_err();
    assert!(e.to_string().contains("listen"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_with_a_given_peer_reports_what_moved() {
    let mut district = District::new();
    let (da, db) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (a, reg_a) = community(&mut district, da.path(), "dianye").await;
    let (b, _) = community(&mut district, db.path(), "hongqi").await;
    add_compound(&a, reg_a, "Dianye No. 1").await;
    let net_a = Network::start(a.clone(), loopback(vec![])).await.unwrap();
    let net_b = Network::start(b.clone(), loopback(vec![])).await.unwrap();
    let addr = net_a.listen_addrs().await.unwrap().remove(0);

    // Without the peer id the address is refused with a hint.
    let bare = addr.split("/p2p/").next().unwrap().to_string();
    let e = net_b
        .sync_with(&bare, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("/p2p/"), "{e}");

    let report = net_b
        .sync_with(&addr, Duration::from_secs(20))
        .await
        .unwrap();
    // When it returns, B holds what A held (the session that starts on connection may have
    // carried it first; then this one had nothing left to move).
    assert!(report.bytes_in > 0 && report.bytes_out > 0, "{report:?}");
    assert_eq!(names_on(&b, reg_a).await.unwrap(), ["Dianye No. 1"]);
    assert!(net_b.stats().changes_applied >= 2, "{:?}", net_b.stats());
    // A second session finds nothing new.
    let again = net_b
        .sync_with(&addr, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!((again.received, again.sent), (0, 0), "{again:?}");

    // An unreachable peer fails within the timeout, with the address in the message.
    let dc = TempDir::new().unwrap();
    let (c, _) = community(&mut district, dc.path(), "xianghe").await;
    let net_c = Network::start(c.clone(), loopback(vec![])).await.unwrap();
    let dead = format!("/ip4/127.0.0.1/tcp/9/p2p/{}", net_c.peer_id());
    net_c.shutdown().await.unwrap();
    let e = net_b
        .sync_with(&dead, Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("could not connect"), "{e}");
    net_a.shutdown().await.unwrap();
    net_b.shutdown().await.unwrap();
}
