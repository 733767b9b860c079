//! Check-in sessions on this node (`linli volunteers session …`, `session_*` requests, the
//! check-in page `/checkin/<token>`): see `linli_core::ledger::sessions`.
//!
//! The codes' secret is derived from this node's key (linli-core), so only the node that
//! opened a session shows its code and takes its check-ins. Sessions whose end has passed
//! are closed (their verified service records written) by [`close_ended`], which runs
//! before every session request and check-in page visit on this node.

use linli_core::ledger::{LedgerOp, Session};
use linli_core::{DocId, Op, SessionId, Timestamp, VolunteerId};
use serde::Serialize;
use serde_json::Value;

use super::{OpsError, parse_instant, resolve, write};
use crate::Node;
use linli_core::DocKind;

/// Path prefix of the check-in pages (served without the API token).
pub const CHECKIN_PATH: &str = "/checkin/";

#[derive(Serialize)]
struct SessionRow {
    doc: String,
    id: String,
    organiser: String,
    activity: String,
    team: Option<String>,
    place: String,
    start: String,
    end: String,
    closed: Option<String>,
    /// Whether this node opened it (shows its code, takes its check-ins).
    here: bool,
    /// The check-in page's path, on the node that opened it.
    page: Option<String>,
    checkins: Vec<CheckinRow>,
}

#[derive(Serialize)]
struct CheckinRow {
    volunteer: String,
    checked_in: String,
    checked_out: Option<String>,
    auto: bool,
}

#[derive(Serialize)]
struct CodeRow {
    doc: String,
    session: String,
    activity: String,
    place: String,
    code: String,
    /// When the next code is shown (the one before stays valid one more minute).
    changes_at: String,
    page: String,
    /// The page's full URL and its QR code (SVG), when the request named the base address.
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qr_svg: Option<String>,
}

fn row<T: Serialize>(r: &T) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

/// `session_open`.
pub(super) async fn open(
    node: &Node,
    doc: Option<DocId>,
    activity: String,
    team: Option<String>,
    place: String,
    start: String,
    end: String,
) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Ledger, doc).await?;
    let zone = super::doc_zone(node, doc).await?;
    let start = parse_instant(&start, &zone, "start")?;
    let end = parse_instant(&end, &zone, "end")?;
    let op = Op::Ledger(LedgerOp::OpenSession {
        activity,
        team,
        place,
        start,
        end,
    });
    write(node, doc, op).await
}

/// `session_checkin` / `session_checkout`.
pub(super) async fn check(
    node: &Node,
    doc: Option<DocId>,
    session: SessionId,
    volunteer: VolunteerId,
    code: String,
    out: bool,
) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Ledger, doc).await?;
    close_ended(node).await;
    let op = if out {
        LedgerOp::CheckOut {
            session,
            volunteer,
            code,
        }
    } else {
        LedgerOp::CheckIn {
            session,
            volunteer,
            code,
        }
    };
    write(node, doc, Op::Ledger(op)).await
}

/// `session_close`.
pub(super) async fn close(
    node: &Node,
    doc: Option<DocId>,
    session: SessionId,
) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Ledger, doc).await?;
    write(node, doc, Op::Ledger(LedgerOp::CloseSession { session })).await
}

/// `session_code`: the current code of a session this node opened, and its page.
pub(super) async fn code(
    node: &Node,
    doc: Option<DocId>,
    session: SessionId,
    base: Option<String>,
) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Ledger, doc).await?;
    close_ended(node).await;
    let now = node.now();
    let r = node
        .read(move |r| -> Result<CodeRow, linli_core::Error> {
            let (code, changes_at) = r.session_code(doc, &session, now)?;
            let zone = r.doc(doc).map(|d| d.header().zone.clone())?;
            let s = r.ledger(doc)?.session(&session).ok_or_else(|| {
                linli_core::ledger::LedgerError::from(linli_core::ledger::SessionError::Unknown(
                    session.clone(),
                ))
            })?;
            Ok(CodeRow {
                doc: doc.to_string(),
                session: session.to_string(),
                activity: s.activity,
                place: s.place,
                code,
                changes_at: changes_at.display_in(&zone),
                page: format!("{CHECKIN_PATH}{}", r.session_token(&session)),
                url: None,
                qr_svg: None,
            })
        })
        .await??;
    let mut r = r;
    if let Some(base) = base {
        let base = base.trim().trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() > 200 {
            return Err(OpsError::Invalid(format!(
                "base {base:?} must be an http:// or https:// address"
            )));
        }
        let url = format!("{base}{}", r.page);
        r.qr_svg = Some(qr(&url)?);
        r.url = Some(url);
    }
    Ok(row(&r))
}

/// `session_list`: the sessions of a ledger with their check-ins.
pub(super) async fn list(node: &Node, doc: Option<DocId>) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Ledger, doc).await?;
    let rows = node
        .read(move |r| -> Result<Vec<Value>, linli_core::Error> {
            let me = r.author().node;
            let l = r.ledger(doc)?;
            let zone = r.doc(doc).map(|d| d.header().zone.clone())?;
            Ok(l.sessions()
                .into_iter()
                .map(|(id, s)| {
                    let here = id.0.numbered_by(&me);
                    row(&SessionRow {
                        doc: doc.to_string(),
                        id: id.to_string(),
                        organiser: s.organiser.to_string(),
                        activity: s.activity.clone(),
                        team: s.team.clone(),
                        place: s.place.clone(),
                        start: s.start.display_in(&zone),
                        end: s.end.display_in(&zone),
                        closed: s.closed.map(|t| t.display_in(&zone)),
                        here,
                        page: here.then(|| format!("{CHECKIN_PATH}{}", r.session_token(&id))),
                        checkins: l
                            .checkins(&id)
                            .into_iter()
                            .map(|(v, c)| CheckinRow {
                                volunteer: v.to_string(),
                                checked_in: c.checked_in.display_in(&zone),
                                checked_out: c.checked_out.map(|t| t.display_in(&zone)),
                                auto: c.auto,
                            })
                            .collect(),
                    })
                })
                .collect())
        })
        .await??;
    Ok(Value::Array(rows))
}

/// The sessions this node opened that are open and whose end passed at `now`.
fn ended(r: &linli_core::Replica, now: Timestamp) -> Vec<(DocId, SessionId)> {
    let me = r.author().node;
    let mut out = Vec::new();
    for doc in r.ids_of(DocKind::Ledger) {
        let Ok(l) = r.ledger(doc) else { continue };
        for (id, s) in l.sessions() {
            if id.0.numbered_by(&me) && s.closed.is_none() && ended_at(&s, now) {
                out.push((doc, id));
            }
        }
    }
    out
}

fn ended_at(s: &Session, now: Timestamp) -> bool {
    now >= s
        .end
        .plus_millis(linli_core::ledger::sessions::TOLERANCE_MS)
}

/// Closes the sessions this node opened whose end (and check-out tolerance) passed: anyone
/// still checked in is checked out at the end, and the verified service records written.
/// Failures are logged (the next request tries again).
pub async fn close_ended(node: &Node) {
    let now = node.now();
    let Ok(due) = node.read(move |r| ended(r, now)).await else {
        return;
    };
    for (doc, session) in due {
        let op = Op::Ledger(LedgerOp::CloseSession {
            session: session.clone(),
        });
        if let Err(e) = node.execute(doc, op).await {
            tracing::warn!(%session, error = %e, "closing an ended session failed");
        }
    }
}

/// The session of this node whose check-in page token is `token`.
pub async fn by_token(node: &Node, token: &str) -> Result<Option<(DocId, SessionId)>, OpsError> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let token = token.to_ascii_lowercase();
    let found = node
        .read(move |r| {
            let me = r.author().node;
            r.ids_of(DocKind::Ledger).into_iter().find_map(|doc| {
                let l = r.ledger(doc).ok()?;
                l.sessions()
                    .into_iter()
                    .map(|(id, _)| id)
                    .find(|id| id.0.numbered_by(&me) && r.session_token(id) == token)
                    .map(|id| (doc, id))
            })
        })
        .await?;
    Ok(found)
}

/// What the check-in page shows of its session.
#[derive(Serialize)]
struct PageSession {
    session: String,
    activity: String,
    place: String,
    start: String,
    end: String,
    closed: bool,
}

/// The check-in page's view of session `session` of `doc`.
pub async fn page_session(node: &Node, doc: DocId, session: SessionId) -> Result<Value, OpsError> {
    let v = node
        .read(move |r| -> Result<PageSession, linli_core::Error> {
            let zone = r.doc(doc).map(|d| d.header().zone.clone())?;
            let s = r.ledger(doc)?.session(&session).ok_or_else(|| {
                linli_core::ledger::LedgerError::from(linli_core::ledger::SessionError::Unknown(
                    session.clone(),
                ))
            })?;
            Ok(PageSession {
                session: session.to_string(),
                activity: s.activity,
                place: s.place,
                start: s.start.display_in(&zone),
                end: s.end.display_in(&zone),
                closed: s.closed.is_some(),
            })
        })
        .await??;
    Ok(row(&v))
}

/// The check-in page's URL as a QR code (SVG), byte mode (a URL is case-sensitive).
fn qr(url: &str) -> Result<String, OpsError> {
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| {
        OpsError::Invalid(format!("the check-in address does not fit a QR code: {e}"))
    })?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}
