//! A hostile peer speaking raw bytes on the sync protocol: a well-framed request whose sync
//! message is garbage, and a frame announcing an absurd length. The node answers with a
//! refusal or drops the stream, disconnects and bans the peer, records why, and keeps
//! syncing with honest peers.

use std::io;
use std::time::Duration;

use futures::prelude::*;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, StreamProtocol, noise, tcp, yamux};
use linli_node::net::Network;
use tempfile::TempDir;

use crate::net::{eventually, loopback};
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
        io.take(1 << 20).read_to_end(&mut b).await?;
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

/// A frame: `u32` length, then a Session request (tag 1, id, one message).
fn session_frame(msg: &[u8]) -> Vec<u8> {
    let mut body = vec![1u8];
    body.extend(7u64.to_le_bytes());
    body.extend(1u32.to_le_bytes());
    body.extend((msg.len() as u32).to_le_bytes());
    body.extend(msg);
    let mut frame = (body.len() as u32).to_le_bytes().to_vec();
    frame.extend(body);
    frame
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

/// Connects a raw libp2p client with `secret` as its key to `addr`, sends `frame`, and
/// returns what came back (or the failure) once the exchange ends.
async fn hostile_exchange(secret: [u8; 32], addr: &str, frame: Vec<u8>) -> String {
    let mut swarm = raw_swarm(secret);
    let addr: Multiaddr = addr.parse().unwrap();
    let Some(libp2p::multiaddr::Protocol::P2p(peer)) = addr.iter().last() else {
        panic!("no peer id in {addr}");
    };
    swarm.dial(addr).unwrap();
    let mut sent = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .expect("the exchange ends");
        match ev {
            SwarmEvent::ConnectionEstablished { .. } if !sent => {
                swarm.behaviour_mut().send_request(&peer, frame.clone());
                sent = true;
            }
            SwarmEvent::Behaviour(request_response::Event::Message {
                message: request_response::Message::Response { response, .. },
                ..
            }) => return String::from_utf8_lossy(&response).into_owned(),
            SwarmEvent::Behaviour(request_response::Event::OutboundFailure { error, .. }) => {
                return format!("failure: {error}");
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_sending_garbage_is_dropped_and_honest_peers_keep_syncing() {
    let mut district = District::new();
    let (da, db) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (a, reg) = community_node(&mut district, da.path()).await;
    add_compound(&a, reg, "Dianye No. 1").await;
    let net_a = Network::start(a.clone(), loopback(vec![])).await.unwrap();
    let addr = net_a.listen_addrs().await.unwrap().remove(0);

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
    let dropped = eventually("the node drops the garbage sender", 10, || async {
        net_a
            .peers()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.node == evil_node)
            .and_then(|p| p.dropped)
    })
    .await;
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
    eventually("the node drops the oversized sender", 10, || async {
        (net_a.stats().peers_dropped >= 2).then_some(())
    })
    .await;

    // 3. Honest peers are unaffected.
    let (b, _) = crate::net::community(&mut district, db.path(), "shengli").await;
    a.apply_batch(district.fed_changes()).await.unwrap();
    let net_b = Network::start(b.clone(), loopback(vec![addr.clone()]))
        .await
        .unwrap();
    eventually("an honest peer still syncs", 20, || async {
        (b.compounds(reg).await.is_ok() && compound_names(&b, reg).await.len() == 1).then_some(())
    })
    .await;
    net_b.shutdown().await.unwrap();
    net_a.shutdown().await.unwrap();
}

/// A peer that floods cheap, valid requests is dropped once it passes the per-peer limit;
/// the node keeps answering others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_peer_is_dropped_at_the_request_limit() {
    let mut district = District::new();
    let da = TempDir::new().unwrap();
    let (a, reg) = community_node(&mut district, da.path()).await;
    add_compound(&a, reg, "Dianye No. 1").await;
    let net_a = Network::start(a.clone(), loopback(vec![])).await.unwrap();
    let addr = net_a.listen_addrs().await.unwrap().remove(0);
    let flood = crate::util::secret("shengli", 9);
    let flood_node = linli_core::identity::Keypair::from_secret(&flood).node_id();

    // An empty live request (type 3, no messages): valid and cheap to answer.
    let mut frame = 5u32.to_le_bytes().to_vec();
    frame.extend([3u8, 0, 0, 0, 0]);
    let mut swarm = raw_swarm(flood);
    let ma: Multiaddr = addr.parse().unwrap();
    let Some(libp2p::multiaddr::Protocol::P2p(peer)) = ma.iter().last() else {
        panic!("no peer id");
    };
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
    let dropped = eventually("the flooder is recorded as dropped", 10, || async {
        net_a
            .peers()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.node == flood_node)
            .and_then(|p| p.dropped)
    })
    .await;
    assert!(dropped.contains("requests in 10 s"), "{dropped}");
    // The node still serves: its own data is intact and it answers a status read.
    assert_eq!(compound_names(&a, reg).await, ["Dianye No. 1"]);
    net_a.shutdown().await.unwrap();
}
