//! Joining with a code (`linli join`): the join request (request type 5 of
//! `/linli/sync/1`) and its answer on the issuer.
//!
//! The new node has no certificate yet, so it does not start a [`Network`](super::Network)
//! (whose sync sessions the issuer would refuse, and drop it for): it dials the issuer
//! with a swarm that only *sends* requests ([`request_join`]) and asks once. The issuer's
//! own sync session to it then fails for want of the protocol — not a refusal, so nothing
//! is banned — and only the join request is answered. Once the certificate is issued the new
//! node starts its network as any node does.

use std::time::Duration;

use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId, Swarm, request_response};
use linli_core::document::DocKind;
use linli_core::federation::FederationOp;
use linli_core::{DocId, NodeId, Op};

use super::codec::{self, Request, Response, SyncCodec};
use super::session::{Ctx, Fault, peer_of};
use super::{CONNECTION_TIMEOUT, NetError, Transport};
use crate::invite::{Claim, Invite, JoinCode, SECRET_LEN, secret_hash};

/// The joining swarm: join requests out, and relayed connections for an issuer behind NAT.
#[derive(libp2p::swarm::NetworkBehaviour)]
#[behaviour(prelude = "libp2p::swarm::derive_prelude")]
struct JoinBehaviour {
    rr: request_response::Behaviour<SyncCodec>,
    relay: libp2p::relay::client::Behaviour,
}

/// Refused join requests a peer may send before it is dropped (and banned for
/// [`BAN`](super::BAN)).
pub const MAX_JOIN_FAILURES: u32 = 3;

/// Why a join request did not bring a certificate.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// No address of the code answered.
    #[error("cannot reach the issuer {issuer} at {addrs}: {reason}")]
    Unreachable {
        /// The issuer's key.
        issuer: String,
        /// The addresses tried.
        addrs: String,
        /// The last error.
        reason: String,
    },
    /// The issuer refused the code.
    #[error("the issuer refused the join code: {0}")]
    Refused(String),
    /// The request failed after the connection was made.
    #[error("the join request failed: {0}")]
    Failed(String),
    /// No answer within the deadline.
    #[error("no answer from the issuer within {0} s")]
    Timeout(u64),
    /// The code or the transport cannot be used.
    #[error("{0}")]
    Net(#[from] NetError),
}

/// Sends the join request of `code` from the node whose libp2p identity is `key` (its own
/// key: the issuer certifies the key the connection authenticated) over `transport`, and
/// returns the federation document the certificate was written to.
pub async fn request_join(
    key: libp2p::identity::Keypair,
    transport: Transport,
    code: &JoinCode,
    timeout: Duration,
) -> Result<DocId, JoinError> {
    use libp2p::Transport as _;
    let issuer = peer_of(&code.issuer).ok_or_else(|| {
        JoinError::Failed(format!(
            "the code's issuer {} is not an ed25519 key",
            crate::ops::ln(&code.issuer)
        ))
    })?;
    let mut addrs = Vec::new();
    for a in &code.addrs {
        let m: Multiaddr = a.parse().map_err(|e| {
            JoinError::Net(NetError::Transport(format!(
                "the code's address {a:?} is not a multiaddr: {e}"
            )))
        })?;
        addrs.push(m);
    }
    let shown = code.addrs.join(", ");
    let rr = request_response::Behaviour::<SyncCodec>::new(
        [(codec::PROTOCOL, request_response::ProtocolSupport::Outbound)],
        request_response::Config::default().with_request_timeout(timeout),
    );
    let peer_id = key.public().to_peer_id();
    // An issuer behind NAT is reached through its relay (`…/p2p-circuit` addresses).
    let (transport, relay) = super::with_relay_client(&key, transport)?;
    let transport =
        libp2p::core::transport::timeout::TransportTimeout::new(transport, CONNECTION_TIMEOUT)
            .boxed();
    let mut swarm = Swarm::new(
        transport,
        JoinBehaviour { rr, relay },
        peer_id,
        libp2p::swarm::Config::with_tokio_executor()
            .with_idle_connection_timeout(Duration::from_secs(10)),
    );
    swarm
        .dial(DialOpts::peer_id(issuer).addresses(addrs).build())
        .map_err(|e| JoinError::Unreachable {
            issuer: crate::ops::ln(&code.issuer),
            addrs: shown.clone(),
            reason: e.to_string(),
        })?;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut sent = false;
    let result = loop {
        let Ok(ev) = tokio::time::timeout_at(deadline, swarm.select_next_some()).await else {
            break Err(JoinError::Timeout(timeout.as_secs()));
        };
        match ev {
            SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == issuer && !sent => {
                sent = true;
                swarm.behaviour_mut().rr.send_request(
                    &issuer,
                    Request::Join {
                        secret: code.secret.to_vec(),
                    },
                );
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(p),
                error,
                ..
            } if p == issuer && !sent => {
                break Err(JoinError::Unreachable {
                    issuer: crate::ops::ln(&code.issuer),
                    addrs: shown.clone(),
                    reason: error.to_string(),
                });
            }
            SwarmEvent::Behaviour(JoinBehaviourEvent::Rr(request_response::Event::Message {
                message: request_response::Message::Response { response, .. },
                ..
            })) => {
                break match response {
                    Response::Refused(reason) => Err(JoinError::Refused(reason)),
                    Response::Msgs { msgs, .. } => msgs
                        .first()
                        .and_then(|m| <[u8; 32]>::try_from(m.as_slice()).ok())
                        .map(DocId)
                        .ok_or_else(|| {
                            JoinError::Failed("the issuer's answer names no document".into())
                        }),
                };
            }
            SwarmEvent::Behaviour(JoinBehaviourEvent::Rr(
                request_response::Event::OutboundFailure { error, .. },
            )) => {
                break Err(JoinError::Failed(error.to_string()));
            }
            SwarmEvent::ConnectionClosed { peer_id, cause, .. } if peer_id == issuer && sent => {
                break Err(JoinError::Failed(format!(
                    "the issuer closed the connection before answering{}",
                    cause.map(|c| format!(": {c}")).unwrap_or_default()
                )));
            }
            _ => {}
        }
    };
    let _ = swarm.disconnect_peer_id(issuer);
    result
}

/// The issuer's answer to a join request of `peer` (key `subject`): the certificate the
/// code invites, issued in the federation document by this node, or the refusal. Wrong,
/// used and expired codes are counted per peer; at [`MAX_JOIN_FAILURES`] the peer is
/// dropped.
pub(crate) async fn answer(
    ctx: &Ctx,
    peer: PeerId,
    subject: NodeId,
    secret: Vec<u8>,
) -> Result<Response, Fault> {
    if secret.len() != SECRET_LEN {
        return Err(Fault::Invalid(format!(
            "a join secret of {} bytes, not {SECRET_LEN}",
            secret.len()
        )));
    }
    let hash = secret_hash(&secret);
    let refusal = match ctx.node.invite_claim(hash, subject).await? {
        Claim::Granted(inv) => {
            return match issue(ctx, subject, &inv).await {
                Ok(doc) => {
                    tracing::info!(
                        subject = %crate::ops::ln(&subject),
                        role = %inv.role,
                        org = %inv.org,
                        "certified a node that joined with a code"
                    );
                    Ok(granted(doc))
                }
                Err(e) => {
                    // Not the peer's fault: the code stays usable.
                    ctx.node.invite_release(inv.hash).await?;
                    Ok(Response::Refused(format!(
                        "the issuer could not write the certificate: {e}"
                    )))
                }
            };
        }
        Claim::Again(_) => {
            // A retried join (the first answer was lost): the certificate is there.
            let doc = crate::ops::resolve(&ctx.node, DocKind::Federation, None)
                .await
                .map_err(|e| Fault::Failed(e.to_string()))?;
            return Ok(granted(doc));
        }
        Claim::Unknown => "this node made no such join code (a wrong or altered code, or one \
                           made by another node)"
            .to_string(),
        Claim::Used { at } => format!("the join code was already used (at {at})"),
        Claim::Expired { at } => format!("the join code expired at {at}"),
    };
    let n = {
        let mut f = ctx
            .join_failures
            .lock()
            .map_err(|_| Fault::Failed("poisoned".into()))?;
        let n = f.entry(peer).or_default();
        *n += 1;
        *n
    };
    if n >= MAX_JOIN_FAILURES {
        return Err(Fault::Refused(format!(
            "{refusal}; {n} refused join requests from this key: dropped"
        )));
    }
    Ok(Response::Refused(refusal))
}

fn granted(doc: DocId) -> Response {
    Response::Msgs {
        msgs: vec![doc.0.to_vec()],
        more: false,
    }
}

/// Writes the certificate `inv` invites for `subject` into the federation document.
async fn issue(ctx: &Ctx, subject: NodeId, inv: &Invite) -> Result<DocId, String> {
    let node = &ctx.node;
    let doc = crate::ops::resolve(node, DocKind::Federation, None)
        .await
        .map_err(|e| e.to_string())?;
    let now = node.now();
    let not_after = node
        .read(move |r| r.default_cert_end(doc, now))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let op = Op::Federation(FederationOp::Issue {
        subject,
        role: inv.role,
        org: inv.org.clone(),
        parent: inv.parent.clone(),
        name: inv
            .name
            .clone()
            .unwrap_or_else(|| linli_core::replica::default_cert_name(&inv.org)),
        not_before: now,
        not_after,
    });
    node.execute(doc, op).await.map_err(|e| e.to_string())?;
    Ok(doc)
}
