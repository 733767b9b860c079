//! `Request::Invite`: a join code made on this node (see [`crate::invite`]).

use linli_core::cert::Role;
use linli_core::federation::FederationOp;
use linli_core::identity::Keypair;
use linli_core::{DocKind, Op, OrgId, Timestamp};
use serde_json::Value;

use super::{OpsError, resolve};
use crate::Node;
use crate::invite::{Invite, JoinCode, MAX_ADDRS, SECRET_LEN, secret_hash};
use crate::net::Network;

/// Default life of a join code.
pub const DEFAULT_EXPIRY: &str = "24h";
/// Longest life of a join code.
const MAX_EXPIRY_MS: i64 = 30 * Timestamp::DAY;

/// A duration such as `90s`, `30m`, `24h` or `7d`, in milliseconds.
pub fn parse_expiry(s: &str) -> Result<i64, OpsError> {
    let t = s.trim();
    let bad = || {
        OpsError::Invalid(format!(
            "expiry {s:?} is not a duration: a number followed by s, m, h or d (e.g. 24h, 7d)"
        ))
    };
    let unit = t.chars().last().ok_or_else(bad)?;
    let per: i64 = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => Timestamp::DAY,
        _ => return Err(bad()),
    };
    let n: i64 = t[..t.len() - 1].parse().map_err(|_| bad())?;
    let ms = n.checked_mul(per).ok_or_else(bad)?;
    if ms <= 0 {
        return Err(OpsError::Invalid(format!("expiry {s:?} must be positive")));
    }
    if ms > MAX_EXPIRY_MS {
        return Err(OpsError::Invalid(format!(
            "expiry {s:?} is longer than 30 days; make a new code when it is needed"
        )));
    }
    Ok(ms)
}

/// The addresses put in a code: `given`, else the running network's (without the trailing
/// `/p2p/<this node>`, so an address through a relay keeps the relay's id and
/// `/p2p-circuit`; loopback ones only when there is nothing else).
async fn addresses(
    net: Option<&Network>,
    given: Option<Vec<String>>,
) -> Result<Vec<String>, OpsError> {
    let strip = |a: &str| match a.rfind("/p2p/") {
        Some(i) if !a[i + 5..].contains('/') => a[..i].to_string(),
        _ => a.to_string(),
    };
    let mut out: Vec<String> = match given {
        Some(g) if !g.is_empty() => {
            for a in &g {
                a.parse::<libp2p::Multiaddr>().map_err(|e| {
                    OpsError::Invalid(format!("address {a:?} is not a multiaddr: {e}"))
                })?;
            }
            g.iter().map(|a| strip(a)).collect()
        }
        _ => {
            let Some(net) = net else {
                return Err(OpsError::Invalid(
                    "no address to put in the join code: run the daemon (`linli run`), whose \
                     listening addresses are used, or give the addresses others reach this \
                     node at (--addr /ip4/…/tcp/…)"
                        .into(),
                ));
            };
            let all: Vec<String> = net
                .listen_addrs()
                .await
                .map_err(|e| OpsError::Network(e.to_string()))?
                .iter()
                .map(|a| strip(a))
                .collect();
            let local = |a: &String| a.starts_with("/ip4/127.") || a.starts_with("/ip6/::1/");
            let outside: Vec<String> = all.iter().filter(|a| !local(a)).cloned().collect();
            if outside.is_empty() { all } else { outside }
        }
    };
    out.dedup();
    if out.is_empty() {
        return Err(OpsError::Invalid(
            "the network listens on no address to put in the join code; give --addr".into(),
        ));
    }
    if out.len() > MAX_ADDRS {
        out.truncate(MAX_ADDRS);
    }
    Ok(out)
}

/// The code as a QR code (SVG), for the issuer's dashboard: upper case, which QR's
/// alphanumeric mode stores compactly (`linli join` takes either case).
pub(super) fn qr_svg(code: &str) -> Result<String, OpsError> {
    let qr = qrcode::QrCode::new(code.to_ascii_uppercase().as_bytes())
        .map_err(|e| OpsError::Invalid(format!("the join code does not fit a QR code: {e}")))?;
    Ok(qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Makes a join code: checks that this node may issue the certificate it invites (a dry
/// run of the `Issue` operation), stores the secret's hash and returns the code's row.
#[allow(clippy::too_many_arguments)]
pub(super) async fn invite(
    node: &Node,
    net: Option<&Network>,
    role: Role,
    org: OrgId,
    parent: Option<OrgId>,
    name: Option<String>,
    expires: Option<String>,
    addrs: Option<Vec<String>>,
) -> Result<Value, OpsError> {
    let ttl = parse_expiry(expires.as_deref().unwrap_or(DEFAULT_EXPIRY))?;
    let parent = match (parent, role) {
        (Some(p), _) => Some(p),
        (None, Role::Street) => None,
        (None, _) => Some(node.org().clone()),
    };
    let doc = resolve(node, DocKind::Federation, None).await?;
    let now = node.now();
    // Would this node be allowed to certify such a key? Asked of linli-core with a key
    // nobody holds, so a code that could never work is refused now, not at the join.
    let probe = Keypair::from_secret(&[0x5a; 32]).node_id();
    let op = Op::Federation(FederationOp::Issue {
        subject: probe,
        role,
        org: org.clone(),
        parent: parent.clone(),
        name: name
            .clone()
            .unwrap_or_else(|| linli_core::replica::default_cert_name(&org)),
        not_before: now,
        not_after: now.plus_millis(Timestamp::DAY),
    });
    node.read(move |r| r.check(doc, op, now)).await??;
    let addrs = addresses(net, addrs).await?;
    let mut secret = [0u8; SECRET_LEN];
    getrandom::fill(&mut secret)
        .map_err(|e| OpsError::Invalid(format!("no OS randomness for the code's secret: {e}")))?;
    let expires = now.plus_millis(ttl);
    let code = JoinCode {
        root: node.root(),
        issuer: node.node_id(),
        addrs,
        secret,
        role,
        org: org.clone(),
        parent: parent.clone(),
        expires,
    };
    let text = code
        .encode()
        .map_err(|e| OpsError::Invalid(e.to_string()))?;
    node.invite_add(Invite {
        hash: secret_hash(&secret),
        role,
        org,
        parent,
        name,
        created: now,
        expires,
    })
    .await?;
    Ok(super::rows::invite_row(&code, &text, &qr_svg(&text)?))
}
