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

/// Waits until `check` returns `Some`, checking again on every event of `nodes` (a
/// document changed, personal data written, a peer's state stored) and at least every
/// 250 ms (for what no event reports, such as network counters); fails after `secs`.
pub async fn eventually_on<T, F, Fut>(nodes: &[&Node], what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    use futures::FutureExt as _;
    let mut subs: Vec<_> = nodes.iter().map(|n| n.subscribe()).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        let now = tokio::time::Instant::now();
        assert!(now < deadline, "{what}: not within {secs} s");
        let any = futures::future::select_all(subs.iter_mut().map(|s| s.recv().boxed()));
        let wake = deadline.min(now + Duration::from_millis(250));
        let _ = tokio::time::timeout_at(wake, any).await;
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

/// Like [`loopback`], with a sync session every second: gossip only shortens the way;
/// sessions are what guarantees convergence (a peer that subscribed after an announcement
/// never hears it).
pub fn periodic(bootstrap: Vec<String>) -> NetConfig {
    NetConfig {
        sync_interval_secs: 1,
        ..loopback(bootstrap)
    }
}

/// Like [`periodic`], over libp2p's in-process memory transport (`/memory/<n>`): no ports,
/// the same noise and yamux upgrades and the same protocols as TCP.
pub fn in_memory(bootstrap: Vec<String>) -> NetConfig {
    NetConfig {
        listen: vec!["/memory/0".into()],
        ..periodic(bootstrap)
    }
}

/// A certified community node of street beishi with its own registry.
pub async fn community(district: &mut District, dir: &Path, o: &str) -> (Node, DocId) {
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
    eventually_on(&[&b], "B has A's registry", 20, || async {
        names_on(&b, reg_a)
            .await
            .filter(|n| n == &["Dianye No. 1".to_string()])
    })
    .await;
    eventually_on(&[&a], "A has B's registry", 20, || async {
        names_on(&a, reg_b)
            .await
            .filter(|n| n == &["Hongqi Yard".to_string()])
    })
    .await;

    // A later write reaches the other side by announcement + pull (no periodic sync runs).
    add_compound(&a, reg_a, "Dianye No. 2").await;
    eventually_on(&[&b], "B sees A's new compound live", 20, || async {
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
    eventually_on(&[&b], "B stored A's sync state", 10, || async {
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

    // Whichever side checks the other's chain first refuses and closes the connection. Its
    // answer can lose the race with the close, so the other side may learn nothing (and
    // the refusing side does not dial a banned peer again): one of the two records it.
    let a_id = a.node_id();
    let dropped = eventually("one side drops the other", 60, || async {
        let on = |peers: Vec<linli_node::net::PeerInfo>, who| {
            peers
                .into_iter()
                .find(|p| p.node == who)
                .and_then(|p| p.dropped)
        };
        on(net_a.peers().await.unwrap(), x.node_id()).or(on(net_x.peers().await.unwrap(), a_id))
    })
    .await;
    assert!(dropped.contains("root"), "{dropped}");
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

/// Waits until every node holds the same heads for every document both hold, and each
/// holds `docs` documents; returns the catalogs.
async fn converge(nodes: &[&Node], docs: &[usize]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut cats = Vec::new();
        for n in nodes {
            cats.push(n.read(|r| r.catalog().clone()).await.unwrap());
        }
        let sizes: Vec<usize> = cats.iter().map(|c| c.len()).collect();
        let agree = cats.iter().all(|a| {
            cats.iter()
                .all(|b| a.iter().all(|(d, dig)| b.get(d).is_none_or(|x| x == dig)))
        });
        if agree && sizes == docs {
            return;
        }
        if !agree && tokio::time::Instant::now() + Duration::from_millis(25) >= deadline {
            for (i, a) in cats.iter().enumerate() {
                for (j, b) in cats.iter().enumerate() {
                    for (d, dig) in a {
                        if b.get(d).is_some_and(|x| x != dig) {
                            let ha = nodes[i].heads(*d).await.unwrap();
                            let hb = nodes[j].heads(*d).await.unwrap();
                            let st_a = nodes[i].status().await.unwrap();
                            eprintln!(
                                "doc {} differs between {i} and {j}: {ha:?} vs {hb:?}; {i}: pending {} waiting {}",
                                d.short(),
                                st_a.pending,
                                st_a.waiting_in_replica
                            );
                        }
                    }
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no convergence within 30 s: documents held {sizes:?} (want {docs:?}), heads agree: {agree}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn ledger_of(node: &Node, o: &str) -> DocId {
    node.create(NewDoc::Ledger {
        street: org("beishi"),
        community: org(o),
        year: 2026,
        rules: linli_core::ledger::LedgerRules::default(),
    })
    .await
    .unwrap()
    .doc
}

async fn serve(node: &Node, ledger: DocId, volunteer: &str, hours: f64) {
    node.execute(
        ledger,
        linli_core::Op::Ledger(linli_core::ledger::LedgerOp::RecordService {
            volunteer: volunteer.parse().unwrap(),
            activity: "patrol".into(),
            team: None,
            date: jiff::civil::date(2026, 5, 1),
            hours,
            evidence: None,
        }),
    )
    .await
    .unwrap();
}

/// A unit of `parent` (a co-building unit certified by a community).
async fn unit(district: &mut District, dir: &Path, o: &str, parent: &str) -> Node {
    let mut init = InitOptions::new(org(o), district.root_id());
    init.secret = Some(secret(o, 1));
    let node = Node::init(dir, init, opts()).await.unwrap();
    district.certify_by(parent, node.node_id(), Role::Unit, o, parent);
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_converge_and_a_late_joiner_gets_only_what_it_may_see() {
    let mut district = District::new();
    let dirs: Vec<TempDir> = (0..6).map(|_| TempDir::new().unwrap()).collect();
    let names = ["dianye", "hongqi", "xianghe", "shengli"];
    let mut nodes = Vec::new();
    let mut ledgers = Vec::new();
    for (d, o) in dirs.iter().zip(names) {
        let (n, reg) = community(&mut district, d.path(), o).await;
        add_compound(&n, reg, &format!("{o} No. 1")).await;
        let l = ledger_of(&n, o).await;
        serve(&n, l, &format!("{o}:1"), 2.0).await;
        ledgers.push(l);
        nodes.push(n);
    }
    // The fifth: a unit certified by Dianye (the certificate is in the federation document
    // the communities hold; the unit itself starts empty).
    let u = unit(&mut district, dirs[4].path(), "power-co", "dianye").await;
    for n in &nodes {
        n.apply_batch(district.fed_changes()).await.unwrap();
    }
    nodes.push(u);
    // A chain: each node knows only the one before it.
    let mut nets = Vec::new();
    let mut prev: Vec<String> = Vec::new();
    for n in &nodes {
        let net = Network::start(n.clone(), periodic(prev.clone()))
            .await
            .unwrap();
        prev = net.listen_addrs().await.unwrap();
        nets.push(net);
    }
    // 1 federation + 4 registries + 4 ledgers for communities; the unit of Dianye gets
    // Dianye's ledger but not the other communities' ledgers.
    let all: Vec<&Node> = nodes.iter().collect();
    converge(&all, &[9, 9, 9, 9, 6]).await;
    let unit_cat = nodes[4].read(|r| r.catalog().clone()).await.unwrap();
    assert!(
        unit_cat.contains_key(&ledgers[0]),
        "Dianye's unit holds Dianye's ledger"
    );
    for l in &ledgers[1..] {
        assert!(
            !unit_cat.contains_key(l),
            "a unit holds another community's ledger"
        );
    }
    // Balances agree across the communities.
    for n in &nodes[..4] {
        assert_eq!(
            n.balance("hongqi:1".parse().unwrap()).await.unwrap(),
            linli_core::ledger::Points::whole(2)
        );
    }

    // A late joiner: a unit of Hongqi, knowing only Xianghe's node (which holds every
    // ledger, and must give it only Hongqi's).
    let dl = TempDir::new().unwrap();
    let late = unit(&mut district, dl.path(), "water-co", "hongqi").await;
    nodes[1].apply_batch(district.fed_changes()).await.unwrap();
    converge(&all, &[9, 9, 9, 9, 6]).await;
    let xianghe_addr = nets[2].listen_addrs().await.unwrap();
    let net_late = Network::start(late.clone(), periodic(xianghe_addr))
        .await
        .unwrap();
    eventually_on(&[&late], "the late joiner syncs", 30, || async {
        let c = late.read(|r| r.catalog().clone()).await.unwrap();
        (c.len() == 6 && c.contains_key(&ledgers[1])).then_some(())
    })
    .await;
    let c = late.read(|r| r.catalog().clone()).await.unwrap();
    assert!(!c.contains_key(&ledgers[0]) && !c.contains_key(&ledgers[2]));
    assert!(!c.contains_key(&ledgers[3]));
    net_late.shutdown().await.unwrap();
    for n in &nets {
        n.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_heals_with_writes_on_both_sides_and_a_restarted_node_catches_up() {
    let mut district = District::new();
    let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new().unwrap()).collect();
    let mut nodes = Vec::new();
    let mut regs = Vec::new();
    for (d, o) in dirs.iter().zip(["dianye", "hongqi", "xianghe"]) {
        let (n, reg) = community(&mut district, d.path(), o).await;
        nodes.push(n);
        regs.push(reg);
    }
    for n in &nodes {
        n.apply_batch(district.fed_changes()).await.unwrap();
    }
    let l_dianye = ledger_of(&nodes[0], "dianye").await;
    let mut nets = Vec::new();
    let mut boot = Vec::new();
    for n in &nodes {
        let net = Network::start(n.clone(), periodic(boot.clone()))
            .await
            .unwrap();
        boot.extend(net.listen_addrs().await.unwrap());
        nets.push(net);
    }
    let all: Vec<&Node> = nodes.iter().collect();
    converge(&all, &[5, 5, 5]).await;

    // Cut Xianghe off; both sides keep writing to their own and to shared documents.
    for i in 0..2 {
        nets[i].block(nodes[2].node_id()).await.unwrap();
        nets[2].block(nodes[i].node_id()).await.unwrap();
    }
    eventually("xianghe is alone", 10, || async {
        (nets[2].stats().peers == 0).then_some(())
    })
    .await;
    for k in 0..5 {
        add_compound(&nodes[0], regs[0], &format!("Dianye {k}")).await;
        add_compound(&nodes[2], regs[2], &format!("Xianghe {k}")).await;
        serve(&nodes[0], l_dianye, "dianye:1", 1.0).await;
    }
    // Xianghe cannot write into Dianye's ledger, but records its own volunteers.
    let l_xianghe = ledger_of(&nodes[2], "xianghe").await;
    serve(&nodes[2], l_xianghe, "dianye:1", 3.0).await;
    // Apart, they differ.
    assert_eq!(names_on(&nodes[1], regs[2]).await.unwrap().len(), 0);
    // Heal.
    for i in 0..2 {
        nets[i].unblock(nodes[2].node_id()).await.unwrap();
        nets[2].unblock(nodes[i].node_id()).await.unwrap();
        nets[2]
            .dial(&nets[i].listen_addrs().await.unwrap()[0])
            .await
            .unwrap();
    }
    converge(&all, &[6, 6, 6]).await;
    for n in &nodes {
        assert_eq!(names_on(n, regs[0]).await.unwrap().len(), 5);
        assert_eq!(names_on(n, regs[2]).await.unwrap().len(), 5);
        // Invariant: the balance is the same everywhere: 5 h at home + 3 h in Xianghe.
        assert_eq!(
            n.balance("dianye:1".parse().unwrap()).await.unwrap(),
            linli_core::ledger::Points::whole(8)
        );
    }

    // Restart Hongqi: stop its network and node, write meanwhile, reopen, catch up.
    nets[1].shutdown().await.unwrap();
    nodes[1].shutdown().await.unwrap();
    for k in 0..3 {
        add_compound(&nodes[0], regs[0], &format!("While Hongqi slept {k}")).await;
    }
    let hongqi = Node::open(dirs[1].path(), opts()).await.unwrap();
    let net_h = Network::start(hongqi.clone(), periodic(vec![boot[0].clone()]))
        .await
        .unwrap();
    eventually_on(&[&hongqi], "restarted Hongqi catches up", 30, || async {
        names_on(&hongqi, regs[0]).await.filter(|n| n.len() == 8)
    })
    .await;
    net_h.shutdown().await.unwrap();
    nets[0].shutdown().await.unwrap();
    nets[2].shutdown().await.unwrap();
}

/// Issue 18, item 3 (in part): a unit revoked by its community while connected is
/// disconnected with the reason, and receives nothing written after the revocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_revoked_while_connected_is_dropped_and_reads_nothing_new() {
    let mut district = District::new();
    let (da, du) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (a, _) = community(&mut district, da.path(), "dianye").await;
    let l = ledger_of(&a, "dianye").await;
    serve(&a, l, "dianye:1", 1.0).await;
    let u = unit(&mut district, du.path(), "power-co", "dianye").await;
    a.apply_batch(district.fed_changes()).await.unwrap();
    let net_a = Network::start(a.clone(), periodic(vec![])).await.unwrap();
    let addrs = net_a.listen_addrs().await.unwrap();
    let net_u = Network::start(u.clone(), periodic(addrs.clone()))
        .await
        .unwrap();
    eventually_on(
        &[&u],
        "the unit receives its community's ledger",
        60,
        || async {
            u.balance("dianye:1".parse().unwrap())
                .await
                .ok()
                .filter(|p| *p == linli_core::ledger::Points::whole(1))
        },
    )
    .await;
    // Dianye revokes its unit's certificate, then records more service.
    a.execute(
        district.fed,
        linli_core::Op::Federation(linli_core::federation::FederationOp::Revoke {
            subject: u.node_id(),
            reason: "co-building ended".into(),
            certs: None,
        }),
    )
    .await
    .unwrap();
    let dropped = eventually("dianye drops its revoked unit", 60, || async {
        net_a
            .peers()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.node == u.node_id())
            .and_then(|p| p.dropped)
    })
    .await;
    // Dropped at once on the revocation (not only refused at its next hello).
    assert!(
        dropped.contains("its certificates were revoked: it may read nothing more")
            || dropped.contains("or its certificates were revoked"),
        "{dropped}"
    );
    // Another community joins and receives the entry written after the revocation: by
    // then the unit, had it still been served, would have had it too.
    let dh = TempDir::new().unwrap();
    let (h, _) = community(&mut district, dh.path(), "hongqi").await;
    a.apply_batch(district.fed_changes()).await.unwrap();
    serve(&a, l, "dianye:2", 1.0).await;
    let net_h = Network::start(h.clone(), periodic(addrs.clone()))
        .await
        .unwrap();
    eventually_on(&[&h], "hongqi receives the new entry", 60, || async {
        h.balance("dianye:2".parse().unwrap())
            .await
            .ok()
            .filter(|p| *p == linli_core::ledger::Points::whole(1))
    })
    .await;
    assert_eq!(
        u.balance("dianye:2".parse().unwrap()).await.unwrap(),
        linli_core::ledger::Points(0),
        "the revoked unit read an entry written after its revocation"
    );
    net_h.shutdown().await.unwrap();
    net_a.shutdown().await.unwrap();
    net_u.shutdown().await.unwrap();
}
