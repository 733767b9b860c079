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

/// Waits until `check` returns `Some`: checks once, then again after every event of `nodes`
/// (a document changed, a change refused or over quota, personal data written, a peer's
/// state stored, a peer connected, disconnected or dropped); fails after `secs` seconds.
/// No polling: whatever `check` reads must change only with an event of one of `nodes`
/// (network counters are updated before the network's peer event).
pub async fn eventually_on<T, F, Fut>(nodes: &[&Node], what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    use futures::FutureExt as _;
    use tokio::sync::broadcast::error::RecvError;
    // Subscribed before the first check: nothing that happens after it is missed.
    let mut subs: Vec<_> = nodes.iter().map(|n| n.subscribe()).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        let any = futures::future::select_all(subs.iter_mut().map(|s| s.recv().boxed()));
        match tokio::time::timeout_at(deadline, any).await {
            Err(_) => {
                // One last look: what the last event brought may just have landed.
                if let Some(v) = check().await {
                    return v;
                }
                panic!("{what}: not within {secs} s");
            }
            Ok((Err(RecvError::Closed), i, _)) => {
                panic!("{what}: node {i} stopped while waiting")
            }
            // An event, or events missed (lagged): look again.
            Ok(_) => {}
        }
    }
}

/// Starts `node`'s network over libp2p's in-process memory transport, passed in with the
/// node's own key (`cfg` listens on `/memory/0`: see [`in_memory`]).
pub async fn start_in_memory(node: &Node, cfg: NetConfig) -> Network {
    let key = linli_node::net::keypair(node).unwrap();
    let transport = linli_node::net::memory_transport(&key).unwrap();
    Network::new(node.clone(), cfg, key, transport)
        .await
        .unwrap()
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
        relay: Default::default(),
        fast_join: true,
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

/// Like [`periodic`], listening on libp2p's in-process memory transport (`/memory/<n>`): no
/// ports, the same noise and yamux upgrades and the same protocols as TCP. For a network
/// started with the memory transport ([`start_in_memory`]).
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

    // The sessions at connection time have ended on both sides (each stored its end:
    // `PeerUpdated`), so a later write can reach the other side only by announcement +
    // pull (no periodic sync runs).
    for (net, node, other) in [(&net_a, &a, b.node_id()), (&net_b, &b, a.node_id())] {
        eventually_on(&[node], "the sessions at connection ended", 30, || async {
            net.peers()
                .await
                .unwrap()
                .into_iter()
                .find(|p| p.node == other && p.sessions_ok >= 1)
                .map(|_| ())
        })
        .await;
    }
    add_compound(&a, reg_a, "Dianye No. 2").await;
    eventually_on(&[&b], "B sees A's new compound live", 20, || async {
        names_on(&b, reg_a).await.filter(|n| n.len() == 2)
    })
    .await;
    assert!(net_a.stats().announcements >= 1, "{:?}", net_a.stats());

    // B lists A as a connected peer with a completed session. (A's changes may reach B by
    // A's session and the pull before B's own session ends: its end is stored and reported,
    // `PeerUpdated`.)
    let a_id = a.node_id();
    eventually_on(
        &[&b],
        "B lists A as connected with a completed session",
        30,
        || async {
            net_b
                .peers()
                .await
                .unwrap()
                .into_iter()
                .find(|p| p.node == a_id)
                .filter(|pa| pa.connected && pa.sessions_ok >= 1 && pa.last_sync.is_some())
        },
    )
    .await;
    // The counter moves after the changes were applied (and their `DocumentChanged` sent);
    // the pull's or session's own event follows it.
    eventually_on(&[&b], "B counted the changes it applied", 30, || async {
        (net_b.stats().changes_applied >= 3).then_some(())
    })
    .await;
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
    let dropped = eventually_on(&[&a, &x], "one side drops the other", 60, || async {
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
/// holds `docs` documents (looking again after every event of a node).
async fn converge(nodes: &[&Node], docs: &[usize]) {
    use futures::FutureExt as _;
    let mut subs: Vec<_> = nodes.iter().map(|n| n.subscribe()).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
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
        let any = futures::future::select_all(subs.iter_mut().map(|s| s.recv().boxed()));
        match tokio::time::timeout_at(deadline, any).await {
            Ok((Err(tokio::sync::broadcast::error::RecvError::Closed), i, _)) => {
                panic!("node {i} stopped before convergence")
            }
            Ok(_) => continue,
            Err(_) => {}
        }
        // The deadline passed: say where they differ.
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
        panic!(
            "no convergence within 60 s: documents held {sizes:?} (want {docs:?}), heads agree: {agree}"
        );
    }
}

async fn ledger_of(node: &Node, o: &str) -> DocId {
    node.create(NewDoc::Ledger {
        street: org("beishi"),
        community: org(o),
        year: 2026,
        // Hours recorded by hand earn points in these ledgers.
        rules: linli_core::ledger::LedgerRules {
            hand_points: true,
            ..Default::default()
        },
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
    eventually_on(&[&nodes[2]], "xianghe is alone", 30, || async {
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
    let dropped = eventually_on(&[&a], "dianye drops its revoked unit", 60, || async {
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

/// libp2p's memory transport, built here the way any caller may build a transport, and
/// authenticated with `key`.
fn memory_transport_of(key: &libp2p::identity::Keypair) -> linli_node::net::Transport {
    use libp2p::Transport as _;
    libp2p::core::transport::MemoryTransport::default()
        .upgrade(libp2p::core::upgrade::Version::V1)
        .authenticate(libp2p::noise::Config::new(key).unwrap())
        .multiplex(libp2p::yamux::Config::default())
        .map(|(peer, muxer), _| (peer, libp2p::core::muxing::StreamMuxerBox::new(muxer)))
        .boxed()
}

/// Issue "One kind, one module", item 5: the network runs on the transport and key it is
/// given. Three nodes on libp2p's memory transport (no ports, no TCP) connect, and a write
/// on one reaches the other two, each step awaited as an event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_sync_a_write_over_a_memory_transport_passed_in() {
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
        for r in n.apply_batch(district.fed_changes()).await.unwrap() {
            r.unwrap();
        }
    }
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);

    // The transport is the one passed: it has no TCP to listen on.
    let key = linli_node::net::keypair(a).unwrap();
    let e = Network::new(
        a.clone(),
        loopback(vec![]),
        key.clone(),
        memory_transport_of(&key),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("listen"), "{e}");
    // And the key must be the node's own (a peer id is a node id).
    let other = linli_node::net::keypair(b).unwrap();
    let e = Network::new(
        a.clone(),
        in_memory(vec![]),
        other.clone(),
        memory_transport_of(&other),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("key"), "{e}");

    let mut a_events = a.subscribe();
    let net_a = Network::new(
        a.clone(),
        in_memory(vec![]),
        key.clone(),
        memory_transport_of(&key),
    )
    .await
    .unwrap();
    let addrs = net_a.listen_addrs().await.unwrap();
    assert!(addrs[0].starts_with("/memory/"), "{addrs:?}");
    let mut nets = vec![net_a];
    for n in [b, c] {
        let k = linli_node::net::keypair(n).unwrap();
        let t = memory_transport_of(&k);
        nets.push(
            Network::new(n.clone(), in_memory(addrs.clone()), k, t)
                .await
                .unwrap(),
        );
    }
    // A sees both connect (its `PeerConnected` events, in either order).
    let mut unseen = vec![b.node_id(), c.node_id()];
    while !unseen.is_empty() {
        crate::util::wait_for(&mut a_events, "B and C connected", |e| match e {
            linli_node::NodeEvent::PeerConnected { peer } if unseen.contains(peer) => {
                unseen.retain(|p| p != peer);
                true
            }
            _ => false,
        })
        .await;
    }
    // Each holds the others' registries after the sessions at connection time (B and C
    // reach each other's through A).
    for n in &nodes {
        eventually_on(&[n], "every registry everywhere", 60, || async {
            let mut all = true;
            for r in &regs {
                all &= n.compounds(*r).await.is_ok();
            }
            all.then_some(())
        })
        .await;
    }

    // A write on A reaches B and C, live or by the next session.
    add_compound(a, regs[0], "Dianye over memory").await;
    for n in [b, c] {
        eventually_on(&[n], "A's write on B and C", 60, || async {
            names_on(n, regs[0])
                .await
                .filter(|names| names == &["Dianye over memory".to_string()])
        })
        .await;
    }
    // And back: a write on C reaches A and B.
    add_compound(c, regs[2], "Xianghe over memory").await;
    eventually_on(&[a, b], "C's write on A and B", 60, || async {
        let on_a = names_on(a, regs[2]).await?;
        let on_b = names_on(b, regs[2]).await?;
        (on_a == ["Xianghe over memory"] && on_b == on_a).then_some(())
    })
    .await;
    for net in &nets {
        assert!(
            net.listen_addrs()
                .await
                .unwrap()
                .iter()
                .all(|a| a.starts_with("/memory/")),
            "only memory addresses"
        );
        net.shutdown().await.unwrap();
    }
}

/// The network's peer events: a peer connecting and going away is reported on the node's
/// event stream, after the counters `stats` reads were updated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_connecting_and_leaving_are_node_events() {
    use linli_node::NodeEvent;
    let mut district = District::new();
    let (da, db) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (a, _) = community(&mut district, da.path(), "dianye").await;
    let (b, _) = community(&mut district, db.path(), "hongqi").await;
    let mut events = a.subscribe();
    let net_a = start_in_memory(&a, in_memory(vec![])).await;
    let addrs = net_a.listen_addrs().await.unwrap();
    let net_b = start_in_memory(&b, in_memory(addrs)).await;
    let b_id = b.node_id();
    crate::util::wait_for(
        &mut events,
        "B connected",
        |e| matches!(e, NodeEvent::PeerConnected { peer } if *peer == b_id),
    )
    .await;
    assert_eq!(net_a.stats().peers, 1, "{:?}", net_a.stats());
    net_b.shutdown().await.unwrap();
    crate::util::wait_for(
        &mut events,
        "B disconnected",
        |e| matches!(e, NodeEvent::PeerDisconnected { peer } if *peer == b_id),
    )
    .await;
    assert_eq!(net_a.stats().peers, 0, "{:?}", net_a.stats());
    let peers = net_a.peers().await.unwrap();
    let pb = peers.iter().find(|p| p.node == b_id).expect("B is known");
    assert!(!pb.connected && pb.dropped.is_none(), "{pb:?}");
    net_a.shutdown().await.unwrap();
}

/// A node on a training clock (simulated time) and a node on real time never sync: they
/// speak other protocols, each drops the other once identify tells it the other kind, and a
/// write on either never reaches the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_training_clock_node_never_syncs_with_a_real_time_node() {
    use linli_node::{NodeEvent, OpenOptions};
    let mut district = District::new();
    let (da, db) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (real, reg_real) = community(&mut district, da.path(), "dianye").await;
    let start = linli_core::Timestamp::parse("2027-03-04T19:59:00+08:00").unwrap();
    let mut init = InitOptions::new(org("hongqi"), district.root_id());
    init.secret = Some(secret("hongqi", 1));
    let training = Node::init(
        db.path(),
        init,
        OpenOptions {
            training_clock: Some(start),
            ..opts()
        },
    )
    .await
    .unwrap();
    assert_eq!(training.training_clock(), Some(start));
    assert!(real.training_clock().is_none());
    // The training node's clock starts at `start` and advances with real time.
    let now = training.now();
    assert!(
        now >= start && now.millis() - start.millis() < 60_000,
        "{now}"
    );
    district.certify(
        training.node_id(),
        Role::Community,
        "hongqi",
        Some("beishi"),
    );
    for r in training.apply_batch(district.fed_changes()).await.unwrap() {
        r.unwrap();
    }
    let reg_training = training
        .create(NewDoc::Registry {
            street: org("beishi"),
            community: org("hongqi"),
            title: "hongqi compounds".into(),
        })
        .await
        .unwrap()
        .doc;
    add_compound(&real, reg_real, "Dianye No. 1").await;
    add_compound(&training, reg_training, "Hongqi Yard").await;

    // Subscribed before the networks start: no drop is missed.
    let mut real_events = real.subscribe();
    let mut training_events = training.subscribe();
    let net_real = start_in_memory(&real, in_memory(vec![])).await;
    let addrs = net_real.listen_addrs().await.unwrap();
    let net_training = start_in_memory(&training, in_memory(addrs)).await;

    // The first side whose identify tells it the other kind drops the other with the reason
    // (the other side may see the connection close before it hears the identify: it need
    // not drop in turn). Woken by the nodes' events.
    let (real_id, training_id) = (real.node_id(), training.node_id());
    let mut reasons: Vec<String> = Vec::new();
    eventually_on(&[&real, &training], "a side dropped the other", 20, || {
        use tokio::sync::broadcast::error::TryRecvError;
        for (rx, other) in [
            (&mut real_events, training_id),
            (&mut training_events, real_id),
        ] {
            loop {
                match rx.try_recv() {
                    Ok(NodeEvent::PeerDropped { peer, reason }) if peer == other => {
                        reasons.push(reason);
                    }
                    Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                    Err(_) => break,
                }
            }
        }
        let done = !reasons.is_empty();
        async move { done.then_some(()) }
    })
    .await;
    for reason in &reasons {
        assert!(
            reason.contains("training clock") && reason.contains("never sync"),
            "{reason}"
        );
    }

    // After the drop, neither holds the other's registry, and a new write stays home.
    add_compound(&training, reg_training, "Hongqi Yard 2").await;
    add_compound(&real, reg_real, "Dianye No. 2").await;
    assert!(names_on(&real, reg_training).await.is_none());
    assert!(names_on(&training, reg_real).await.is_none());
    assert_eq!(
        net_real.stats().changes_applied,
        0,
        "{:?}",
        net_real.stats()
    );
    assert_eq!(
        net_training.stats().changes_applied,
        0,
        "{:?}",
        net_training.stats()
    );

    net_real.shutdown().await.unwrap();
    net_training.shutdown().await.unwrap();
    real.shutdown().await.unwrap();
    training.shutdown().await.unwrap();
}
