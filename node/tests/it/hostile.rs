//! A hostile peer speaking raw bytes on the sync protocol: a well-framed request whose sync
//! message is garbage, and a frame announcing an absurd length. The node answers with a
//! refusal or drops the stream, disconnects and bans the peer, records why, and keeps
//! syncing with honest peers.

use std::io;
use std::time::Duration;

use automerge::ChangeHash;
use futures::prelude::*;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, StreamProtocol, gossipsub, noise, tcp, yamux};
use linli_core::DocId;
use linli_core::sync::{Message, Session, wire};
use linli_node::Node;
use linli_node::net::Network;
use tempfile::TempDir;

use crate::net::{eventually_on, loopback};
use crate::util::{District, add_compound, community_node, compound_names};

/// Raw bytes both ways: the test writes whatever frame it likes.
#[derive(Clone, Default)]
struct Raw;

impl request_response::Codec for Raw {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut b = Vec::new();
        io.read_to_end(&mut b).await?;
        Ok(b)
    }
    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut b = Vec::new();
        io.take(16 << 20).read_to_end(&mut b).await?;
        Ok(b)
    }
    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&req).await?;
        io.close().await
    }
    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&res).await?;
        io.close().await
    }
}

/// A frame: `u32` length, then the body.
fn frame(body: Vec<u8>) -> Vec<u8> {
    let mut f = (body.len() as u32).to_le_bytes().to_vec();
    f.extend(body);
    f
}

/// Messages: a `u32` count, then each with its `u32` length.
fn put_msgs(body: &mut Vec<u8>, msgs: &[Vec<u8>]) {
    body.extend((msgs.len() as u32).to_le_bytes());
    for m in msgs {
        body.extend((m.len() as u32).to_le_bytes());
        body.extend(m);
    }
}

/// A Session request (tag 1, id, messages).
fn session_request(id: u64, msgs: &[Vec<u8>]) -> Vec<u8> {
    let mut body = vec![1u8];
    body.extend(id.to_le_bytes());
    put_msgs(&mut body, msgs);
    frame(body)
}

/// A Session request with id 7 and one message.
fn session_frame(msg: &[u8]) -> Vec<u8> {
    session_request(7, &[msg.to_vec()])
}

/// A Messages response (tag 1) without messages: "nothing for you".
fn empty_answer() -> Vec<u8> {
    let mut body = vec![1u8, 0];
    put_msgs(&mut body, &[]);
    frame(body)
}

/// Reads a response frame: `Ok((more, messages))`, or `Err(reason)` for a refusal.
fn read_answer(b: &[u8]) -> Result<(bool, Vec<Vec<u8>>), String> {
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap()) as usize;
    assert_eq!(u32_at(0), b.len() - 4, "frame length");
    if b[4] == 2 {
        return Err(String::from_utf8_lossy(&b[5..]).into_owned());
    }
    assert_eq!(b[4], 1, "response type");
    let more = b[5] == 1;
    let (n, mut i) = (u32_at(6), 10);
    let mut msgs = Vec::new();
    for _ in 0..n {
        let len = u32_at(i);
        msgs.push(b[i + 4..i + 4 + len].to_vec());
        i += 4 + len;
    }
    Ok((more, msgs))
}

/// A libp2p client with key `secret` that speaks raw bytes on the sync protocol.
fn raw_swarm(secret: [u8; 32]) -> libp2p::Swarm<request_response::Behaviour<Raw>> {
    let mut s = secret;
    let kp = libp2p::identity::Keypair::ed25519_from_bytes(&mut s).unwrap();
    libp2p::SwarmBuilder::with_existing_identity(kp)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| {
            request_response::Behaviour::<Raw>::new(
                [(StreamProtocol::new("/linli/sync/1"), ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
            )
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(30)))
        .build()
}

/// Why the node dropped `node` (waits until it did).
/// The node's own reason for dropping `node`: a raw peer may also refuse the node's
/// session requests ("it refused us: busy"), which is recorded on the same entry until the
/// node's drop replaces it, so that is waited past.
async fn dropped_reason(on: &Node, net: &Network, node: linli_core::NodeId, what: &str) -> String {
    // Woken by the node's `PeerDropped` events.
    eventually_on(&[on], what, 60, || async {
        net.peers()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.node == node)
            .and_then(|p| p.dropped)
            .filter(|d| !d.starts_with("it refused us"))
    })
    .await
}

/// A new honest community node in `dir` connects to `addr` and gets the registry with its
/// one compound.
async fn an_honest_peer_syncs(
    district: &mut District,
    a: &linli_node::Node,
    dir: &std::path::Path,
    addr: &str,
    reg: DocId,
) {
    let (b, _) = crate::net::community(district, dir, "shengli").await;
    a.apply_batch(district.fed_changes()).await.unwrap();
    let net_b = Network::start(b.clone(), loopback(vec![addr.to_string()]))
        .await
        .unwrap();
    eventually_on(&[&b], "an honest peer still syncs", 60, || async {
        (b.compounds(reg).await.is_ok() && compound_names(&b, reg).await.len() == 1).then_some(())
    })
    .await;
    net_b.shutdown().await.unwrap();
}

/// The peer id at the end of `addr`.
fn peer_in(addr: &Multiaddr) -> libp2p::PeerId {
    let Some(libp2p::multiaddr::Protocol::P2p(peer)) = addr.iter().last() else {
        panic!("no peer id in {addr}");
    };
    peer
}

/// Connects a raw libp2p client with `secret` as its key to `addr`, sends `frame`, and
/// returns what came back (or the failure) once the exchange ends.
async fn hostile_exchange(secret: [u8; 32], addr: &str, frame: Vec<u8>) -> String {
    let mut raw = match RawPeer::connect(secret, addr).await {
        Ok(raw) => raw,
        Err(e) => return format!("failure: {e}"),
    };
    match raw.ask(frame).await {
        Ok(answer) => String::from_utf8_lossy(&answer).into_owned(),
        Err(e) => e,
    }
}

/// A community node holding a registry with one compound, networked on loopback: the
/// node, its registry, its network and its address.
async fn victim(district: &mut District, dir: &std::path::Path) -> (Node, DocId, Network, String) {
    let (a, reg) = community_node(district, dir).await;
    add_compound(&a, reg, "Dianye No. 1").await;
    let net = Network::start(a.clone(), loopback(vec![])).await.unwrap();
    let addr = net.listen_addrs().await.unwrap().remove(0);
    (a, reg, net, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_sending_garbage_is_dropped_and_honest_peers_keep_syncing() {
    let mut district = District::new();
    let (da, db) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (a, reg, net_a, addr) = victim(&mut district, da.path()).await;

    // A certified key, so the refusal is about the data, not the certificate.
    let evil = crate::util::secret("hongqi", 9);
    let evil_node = linli_core::identity::Keypair::from_secret(&evil).node_id();
    district.certify(
        evil_node,
        linli_core::cert::Role::Community,
        "hongqi",
        Some("beishi"),
    );
    a.apply_batch(district.fed_changes()).await.unwrap();

    // 1. A well-framed request whose sync message is garbage: refused, then dropped.
    // (The refusal is answered before the disconnect; the answer can still lose the race
    // with the connection's close, so the test checks what the node recorded.)
    let answer = hostile_exchange(evil, &addr, session_frame(b"\xffnot a sync message")).await;
    assert!(
        answer.contains("invalid data") || answer.starts_with("failure"),
        "{answer}"
    );
    let dropped = dropped_reason(&a, &net_a, evil_node, "the node drops the garbage sender").await;
    // The first byte (0xff) reads as an unknown protocol version.
    assert!(dropped.contains("version 255"), "{dropped}");
    // Banned: a second attempt gets nowhere.
    let again = hostile_exchange(evil, &addr, session_frame(b"hello?")).await;
    assert!(again.starts_with("failure"), "{again}");

    // 2. A frame announcing 1 GiB from another hostile key: refused before anything is
    // allocated, and that peer is dropped too.
    let evil2 = crate::util::secret("xianghe", 9);
    let mut huge = (1u32 << 30).to_le_bytes().to_vec();
    huge.extend([1u8; 64]);
    let answer = hostile_exchange(evil2, &addr, huge).await;
    assert!(
        answer.contains("exceeds the limit") || answer.starts_with("failure"),
        "{answer}"
    );
    // `peers_dropped` is counted before the node's `PeerDropped` event.
    eventually_on(&[&a], "the node drops the oversized sender", 60, || async {
        (net_a.stats().peers_dropped >= 2).then_some(())
    })
    .await;

    // 3. Honest peers are unaffected.
    an_honest_peer_syncs(&mut district, &a, db.path(), &addr, reg).await;
    net_a.shutdown().await.unwrap();
}

/// A peer that floods cheap, valid requests is dropped once it passes the per-peer limit;
/// the node keeps answering others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_peer_is_dropped_at_the_request_limit() {
    let mut district = District::new();
    let da = TempDir::new().unwrap();
    let (a, reg, net_a, addr) = victim(&mut district, da.path()).await;
    let flood = crate::util::secret("shengli", 9);
    let flood_node = linli_core::identity::Keypair::from_secret(&flood).node_id();

    // An empty live request (type 3, no messages): valid and cheap to answer.
    let mut frame = 5u32.to_le_bytes().to_vec();
    frame.extend([3u8, 0, 0, 0, 0]);
    let mut swarm = raw_swarm(flood);
    let ma: Multiaddr = addr.parse().unwrap();
    let peer = peer_in(&ma);
    swarm.dial(ma).unwrap();
    let limit = linli_node::net::REQUESTS_PER_WINDOW as usize;
    let mut answered = 0usize;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let failure = loop {
        let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .expect("the flood ends");
        match ev {
            SwarmEvent::ConnectionEstablished { .. } => {
                // Eight requests in flight at any time.
                for _ in 0..8 {
                    swarm.behaviour_mut().send_request(&peer, frame.clone());
                }
            }
            SwarmEvent::Behaviour(request_response::Event::Message {
                message: request_response::Message::Response { .. },
                ..
            }) => {
                answered += 1;
                assert!(answered <= limit, "the node answered past its limit");
                swarm.behaviour_mut().send_request(&peer, frame.clone());
            }
            SwarmEvent::Behaviour(request_response::Event::OutboundFailure { error, .. }) => {
                break error.to_string();
            }
            SwarmEvent::ConnectionClosed { cause, .. } => break format!("closed: {cause:?}"),
            _ => {}
        }
    };
    assert!(
        answered >= limit - 8,
        "dropped after {answered} answers ({failure})"
    );
    let dropped =
        dropped_reason(&a, &net_a, flood_node, "the flooder is recorded as dropped").await;
    assert!(dropped.contains("requests in 10 s"), "{dropped}");
    // The node's data is intact and an honest peer syncs.
    assert_eq!(compound_names(&a, reg).await, ["Dianye No. 1"]);
    let db = TempDir::new().unwrap();
    an_honest_peer_syncs(&mut district, &a, db.path(), &addr, reg).await;
    net_a.shutdown().await.unwrap();
}

/// A raw client keeping one connection: sends frames and waits for each answer.
struct RawPeer {
    swarm: libp2p::Swarm<request_response::Behaviour<Raw>>,
    peer: libp2p::PeerId,
}

impl RawPeer {
    async fn connect(secret: [u8; 32], addr: &str) -> Result<RawPeer, String> {
        let mut swarm = raw_swarm(secret);
        let addr: Multiaddr = addr.parse().unwrap();
        let peer = peer_in(&addr);
        swarm.dial(addr).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
                .await
                .expect("connected");
            match ev {
                SwarmEvent::ConnectionEstablished { .. } => return Ok(RawPeer { swarm, peer }),
                SwarmEvent::OutgoingConnectionError { error, .. } => {
                    return Err(format!("dial: {error}"));
                }
                _ => {}
            }
        }
    }

    /// Sends `frame`; the answer's bytes, or the failure. Requests from the node (its own
    /// session at connection time) are refused meanwhile.
    async fn ask(&mut self, req: Vec<u8>) -> Result<Vec<u8>, String> {
        let id = self.swarm.behaviour_mut().send_request(&self.peer, req);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let ev = tokio::time::timeout_at(deadline, self.swarm.select_next_some())
                .await
                .expect("an answer");
            match ev {
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message:
                        request_response::Message::Response {
                            request_id,
                            response,
                        },
                    ..
                }) if request_id == id => return Ok(response),
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message: request_response::Message::Request { channel, .. },
                    ..
                }) => {
                    let mut no = vec![2u8];
                    no.extend(b"busy");
                    let _ = self.swarm.behaviour_mut().send_response(channel, frame(no));
                }
                SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                    request_id,
                    error,
                    ..
                }) if request_id == id => return Err(format!("failure: {error}")),
                _ => {}
            }
        }
    }
}

/// A peer that replays a session it ran before (same session id) is dropped and banned; the
/// node's data is intact and honest peers keep syncing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_replaying_an_old_session_is_dropped() {
    let mut district = District::new();
    let (da, db) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (a, reg) = community_node(&mut district, da.path()).await;
    add_compound(&a, reg, "Dianye No. 1").await;
    // A certified peer whose replica drives a genuine session through raw frames.
    let mut evil = district.replica("hongqi", 9);
    let evil_secret = crate::util::secret("hongqi", 9);
    let evil_node = linli_core::identity::Keypair::from_secret(&evil_secret).node_id();
    a.apply_batch(district.fed_changes()).await.unwrap();
    let net_a = Network::start(a.clone(), loopback(vec![])).await.unwrap();
    let addr = net_a.listen_addrs().await.unwrap().remove(0);

    let mut raw = RawPeer::connect(evil_secret, &addr).await.unwrap();
    let (session, sent) = raw_session(&mut raw, &mut evil, 4242, a.now(), false).await;
    assert!(session.is_done(), "the genuine session completes");
    assert!(
        evil.docs().contains_key(&reg),
        "the session brought the registry"
    );
    assert!(sent.len() >= 2, "{} requests", sent.len());

    // Replaying the session's requests, same id: refused and dropped.
    let replay = raw.ask(sent[0].clone()).await;
    if let Ok(b) = &replay {
        let refusal = read_answer(b).expect_err("a replay is refused");
        assert!(refusal.contains("replayed sync session 4242"), "{refusal}");
    }
    let dropped = dropped_reason(&a, &net_a, evil_node, "the replaying peer is dropped").await;
    assert!(dropped.contains("replayed sync session"), "{dropped}");
    // Banned: the rest of the replay gets nowhere.
    for req in &sent[1..] {
        let again = hostile_exchange(evil_secret, &addr, req.clone()).await;
        assert!(again.starts_with("failure"), "{again}");
    }

    // Nothing changed on the node, and an honest peer syncs.
    assert_eq!(compound_names(&a, reg).await, ["Dianye No. 1"]);
    an_honest_peer_syncs(&mut district, &a, db.path(), &addr, reg).await;
    net_a.shutdown().await.unwrap();
}

/// Runs a genuine session from `replica` over raw frames with session id `id`; with
/// `stop_at_more`, stops (without asking for the rest) once the node says more follows.
/// Returns the session and the requests sent.
async fn raw_session(
    raw: &mut RawPeer,
    replica: &mut linli_core::Replica,
    id: u64,
    now: linli_core::Timestamp,
    stop_at_more: bool,
) -> (Session, Vec<Vec<u8>>) {
    let mut session = Session::initiator(false);
    let mut outbox = session.start(replica, now);
    let mut sent: Vec<Vec<u8>> = Vec::new();
    for _ in 0..50 {
        if outbox.is_empty() {
            break;
        }
        let req = session_request(id, &std::mem::take(&mut outbox));
        sent.push(req.clone());
        let mut answer = read_answer(&raw.ask(req).await.unwrap()).unwrap();
        loop {
            if stop_at_more && answer.0 {
                // Left unread (and nothing applied, so the next session asks for as much).
                return (session, sent);
            }
            for m in &answer.1 {
                outbox.extend(session.handle(replica, m, now).unwrap());
            }
            if !answer.0 {
                break;
            }
            let mut cont = vec![2u8];
            cont.extend(id.to_le_bytes());
            answer = read_answer(&raw.ask(frame(cont)).await.unwrap()).unwrap();
        }
    }
    (session, sent)
}

/// A peer that opens sessions asking for everything and never reads the answers: each
/// open session holds about one frame (answers are read lazily), not the whole store; an
/// honest peer gets everything meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_left_unread_hold_one_frame_each() {
    let mut district = District::new();
    let (da, db) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (a, _) = community_node(&mut district, da.path()).await;
    // About 6 MB: 240 service records with long evidence notes (25 KB each).
    let ledger = a
        .create(linli_core::NewDoc::Ledger {
            street: crate::util::org("beishi"),
            community: crate::util::org("dianye"),
            year: 2030,
            rules: linli_core::ledger::LedgerRules::default(),
        })
        .await
        .unwrap()
        .doc;
    let records: Vec<(DocId, linli_core::Op)> = (1..=240)
        .map(|i| {
            (
                ledger,
                linli_core::Op::Ledger(linli_core::ledger::LedgerOp::RecordService {
                    volunteer: format!("dianye:{i}").parse().unwrap(),
                    activity: "patrol".into(),
                    team: None,
                    date: jiff::civil::date(2030, 5, 1),
                    hours: 1.0,
                    evidence: Some("x".repeat(25_000)),
                }),
            )
        })
        .collect();
    for (doc, op) in records {
        a.execute(doc, op).await.unwrap();
    }
    let mut evil = district.replica("hongqi", 9);
    let evil_secret = crate::util::secret("hongqi", 9);
    a.apply_batch(district.fed_changes()).await.unwrap();
    let net_a = Network::start(a.clone(), loopback(vec![])).await.unwrap();
    let addr = net_a.listen_addrs().await.unwrap().remove(0);

    let mut raw = RawPeer::connect(evil_secret, &addr).await.unwrap();
    for id in 1..=4u64 {
        let (s, _) = raw_session(&mut raw, &mut evil, id, a.now(), true).await;
        assert!(!s.is_done());
    }
    let st = net_a.stats();
    assert_eq!(st.sessions_open, 4, "{st:?}");
    let frame_and_batch = (2 << 20) + (1 << 20);
    assert!(
        st.sessions_queued_bytes <= 4 * frame_and_batch,
        "{} bytes waiting in 4 sessions",
        st.sessions_queued_bytes
    );
    // An honest peer syncs all 6 MB meanwhile.
    let (b, _) = crate::net::community(&mut district, db.path(), "shengli").await;
    a.apply_batch(district.fed_changes()).await.unwrap();
    let net_b = Network::start(b.clone(), loopback(vec![addr.clone()]))
        .await
        .unwrap();
    eventually_on(
        &[&b],
        "the honest peer gets the whole ledger",
        60,
        || async {
            let n = b
                .read(move |r| r.ledger(ledger).map(|l| l.entries().len()))
                .await
                .ok()?
                .ok()?;
            (n == 240).then_some(())
        },
    )
    .await;
    net_b.shutdown().await.unwrap();
    net_a.shutdown().await.unwrap();
}

/// Gossip and raw sync frames together: a peer that announces heads it never delivers.
#[derive(libp2p::swarm::NetworkBehaviour)]
struct Liar {
    rr: request_response::Behaviour<Raw>,
    gossip: gossipsub::Behaviour,
}

/// A peer that announces changes it never delivers: announcements of documents the node
/// lacks cost at most 64 pulls at a time (the rest wait for a session); announcing new
/// heads of a document the node holds and then answering the pull with nothing gets the
/// peer dropped after five times. The node's data is intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_announcing_heads_it_never_delivers_is_dropped() {
    let mut district = District::new();
    let da = TempDir::new().unwrap();
    let (a, reg) = community_node(&mut district, da.path()).await;
    add_compound(&a, reg, "Dianye No. 1").await;
    let liar_secret = crate::util::secret("xianghe", 9);
    let liar_node = linli_core::identity::Keypair::from_secret(&liar_secret).node_id();
    district.certify(
        liar_node,
        linli_core::cert::Role::Community,
        "xianghe",
        Some("beishi"),
    );
    a.apply_batch(district.fed_changes()).await.unwrap();
    let net_a = Network::start(a.clone(), loopback(vec![])).await.unwrap();
    let addr: Multiaddr = net_a
        .listen_addrs()
        .await
        .unwrap()
        .remove(0)
        .parse()
        .unwrap();
    let victim = peer_in(&addr);

    let mut s = liar_secret;
    let kp = libp2p::identity::Keypair::ed25519_from_bytes(&mut s).unwrap();
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(kp)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|key| Liar {
            rr: request_response::Behaviour::<Raw>::new(
                [(StreamProtocol::new("/linli/sync/1"), ProtocolSupport::Full)],
                request_response::Config::default(),
            ),
            gossip: gossipsub::Behaviour::new(
                gossipsub::MessageAuthenticity::Signed(key.clone()),
                gossipsub::Config::default(),
            )
            .unwrap(),
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    let root = district.root_id();
    let topic =
        gossipsub::IdentTopic::new(format!("linli/{}/street/beishi", hex::encode(&root.0[..6])));
    swarm.behaviour_mut().gossip.subscribe(&topic).unwrap();
    swarm.dial(addr.clone()).unwrap();

    let mut rng = crate::util::Rng::new("liar");
    let mut random32 = move || {
        let mut b = [0u8; 32];
        for c in b.chunks_mut(8) {
            c.copy_from_slice(&rng.next().to_le_bytes());
        }
        b
    };
    let announce = |doc: DocId, head: [u8; 32]| {
        wire::encode(&Message::Announce {
            doc,
            heads: vec![ChangeHash(head)],
        })
    };
    // Phases: 0 wait for the node's subscription, 1 announce 300 unknown documents,
    // 2 wait for those pulls to drain, 3 lie about the registry until dropped.
    let mut phase = 0;
    let mut lies = 0u32;
    let mut live_asks = 0usize;
    let mut max_pending = 0usize;
    // The counters read below change with an event of the node (`PullEnded`,
    // `AnnouncementBroken`, `PeerDropped`) or of this raw peer: they are looked at again
    // after each, never polled.
    let mut node_events = a.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "phase {phase}: {:?}",
            net_a.stats()
        );
        let st = net_a.stats();
        max_pending = max_pending.max(st.pulls_pending);
        match phase {
            1 => {
                for _ in 0..300 {
                    let data = announce(DocId(random32()), random32());
                    swarm
                        .behaviour_mut()
                        .gossip
                        .publish(topic.clone(), data)
                        .unwrap();
                }
                phase = 2;
            }
            2 if st.announcements_deferred > 0 && st.pulls_pending == 0 => {
                phase = 3;
                continue;
            }
            3 if st.peers_dropped > 0 => break,
            3 if st.announcements_broken >= lies as u64
                && lies < linli_node::net::BROKEN_ANNOUNCEMENTS =>
            {
                lies += 1;
                let data = announce(reg, random32());
                swarm
                    .behaviour_mut()
                    .gossip
                    .publish(topic.clone(), data)
                    .unwrap();
            }
            _ => {}
        }
        let ev = tokio::select! {
            ev = swarm.select_next_some() => ev,
            ev = node_events.recv() => {
                use tokio::sync::broadcast::error::RecvError;
                assert!(!matches!(ev, Err(RecvError::Closed)), "the node stopped");
                continue;
            }
            // The check at the top fails then.
            _ = tokio::time::sleep_until(deadline) => continue,
        };
        match ev {
            SwarmEvent::Behaviour(LiarEvent::Gossip(gossipsub::Event::Subscribed {
                peer_id,
                ..
            })) if peer_id == victim && phase == 0 => phase = 1,
            SwarmEvent::Behaviour(LiarEvent::Rr(request_response::Event::Message {
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            })) => {
                // Live pulls (type 3) get nothing; the node's own sessions are refused.
                let answer = if request.get(4) == Some(&3) {
                    live_asks += 1;
                    empty_answer()
                } else {
                    let mut no = vec![2u8];
                    no.extend(b"busy");
                    frame(no)
                };
                let _ = swarm.behaviour_mut().rr.send_response(channel, answer);
            }
            _ => {}
        }
    }
    let st = net_a.stats();
    assert!(
        max_pending <= linli_node::net::MAX_PULLS,
        "{max_pending} pulls at once"
    );
    assert!(st.announcements_deferred > 0, "{st:?}");
    assert!(live_asks > 0);
    assert_eq!(
        st.announcements_broken,
        linli_node::net::BROKEN_ANNOUNCEMENTS as u64,
        "{st:?}"
    );
    let dropped = dropped_reason(&a, &net_a, liar_node, "the liar is recorded as dropped").await;
    assert!(dropped.contains("did not deliver"), "{dropped}");
    assert_eq!(compound_names(&a, reg).await, ["Dianye No. 1"]);
    let db = TempDir::new().unwrap();
    an_honest_peer_syncs(&mut district, &a, db.path(), &addr.to_string(), reg).await;
    net_a.shutdown().await.unwrap();
}

/// A personal-exchange request (tag 4) carrying one step.
fn personal_frame(step: &linli_core::personal::Exchange) -> Vec<u8> {
    let mut body = vec![4u8];
    put_msgs(&mut body, &[step.encode()]);
    frame(body)
}

/// A certified peer outside a booker's audience asks for the record by its digest and gets
/// nothing; pushing a booker record it may not write drops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_outside_the_audience_reads_no_personal_record_and_a_forger_is_dropped() {
    use linli_core::personal::{self, Exchange, PersonalData, PersonalRecord};
    use linli_core::resource::{BookingForm, ResourceOp, ResourceSpec};
    use linli_core::{Effect, NewDoc, Op, Slot, Timestamp};

    let mut district = District::new();
    let da = TempDir::new().unwrap();
    let (a, _reg, net_a, addr) = victim(&mut district, da.path()).await;
    let room = a
        .create(NewDoc::Resource {
            street: crate::util::org("beishi"),
            community: Some(crate::util::org("dianye")),
            spec: ResourceSpec::room("Dianye hall", 40),
        })
        .await
        .unwrap()
        .doc;
    let start = Timestamp::parse("2030-12-02T19:00:00+08:00").unwrap();
    let slot = Slot::new(start, Timestamp(start.0 + 3_600_000)).unwrap();
    let form = BookingForm::new("王小红", "dance", slot, 10).with_contact("13812345678");
    let w = a
        .execute(room, Op::Resource(ResourceOp::Request(form)))
        .await
        .unwrap();
    let Effect::Booking(b) = w.effect else {
        panic!("{:?}", w.effect)
    };
    let digest = personal::digest_hex(&w.personal.unwrap());

    // A community of the same street: it receives the room, not the booker.
    let evil = crate::util::secret("hongqi", 9);
    let evil_key = linli_core::identity::Keypair::from_secret(&evil);
    district.certify(
        evil_key.node_id(),
        linli_core::cert::Role::Community,
        "hongqi",
        Some("beishi"),
    );
    a.apply_batch(district.fed_changes()).await.unwrap();
    let mut raw = RawPeer::connect(evil, &addr).await.unwrap();
    let ask = |step: Exchange| personal_frame(&step);
    let answer = raw
        .ask(ask(Exchange::Summary {
            summary: "0".repeat(64),
        }))
        .await
        .unwrap();
    let (_, msgs) = read_answer(&answer).unwrap();
    assert_eq!(
        Exchange::decode(&msgs[0]).unwrap(),
        Exchange::Digests { digests: vec![] }
    );
    let answer = raw
        .ask(ask(Exchange::Trade {
            want: vec![digest],
            push: vec![],
        }))
        .await
        .unwrap();
    let (_, msgs) = read_answer(&answer).unwrap();
    assert_eq!(
        Exchange::decode(&msgs[0]).unwrap(),
        Exchange::Records { records: vec![] },
        "a want outside the audience is answered with nothing"
    );
    // Pushing a booker for Dianye's request, which only Dianye writes.
    let forged = PersonalRecord::sign(
        &evil_key,
        room,
        format!("requests/{b}"),
        Some(PersonalData::Booker {
            name: "李四".into(),
            contact: None,
        }),
        linli_node::system_clock(),
    );
    let _ = raw
        .ask(ask(Exchange::Trade {
            want: vec![],
            push: vec![forged],
        }))
        .await;
    let dropped = dropped_reason(&a, &net_a, evil_key.node_id(), "the forger is dropped").await;
    assert!(dropped.contains("may not write"), "{dropped}");
    let (name, contact) = {
        let v = a.bookings(room).await.unwrap();
        (
            v[0].request.form.booker.clone(),
            v[0].request.form.contact.clone(),
        )
    };
    assert_eq!(
        (name.as_str(), contact.as_deref()),
        ("王小红", Some("13812345678"))
    );
    net_a.shutdown().await.unwrap();
}
