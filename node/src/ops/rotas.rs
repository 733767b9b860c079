//! Requests on duty rotas and activity sign-ups: the reads (`results::Read::Rota`,
//! `Read::Activities`, with the implied document) and writing served shifts to the ledger
//! (`Request::RotaRecord`, through the service import, so doing it twice writes nothing
//! twice), and the named rota writes (`Request::RotaPlan`, `RotaAssign`, `RotaSwap`,
//! `RotaDecide`, `RotaServed`: `linli volunteers rota plan|assign|unassign|swap|approve|
//! decline|served`), each one registry operation checked by linli-core.

use jiff::civil::Date;
use linli_core::ledger::{MAX_BATCH_ROWS, ServiceRow};
use linli_core::volunteers::{Rotas, VolunteersOp};
use linli_core::{BookingId, DocId, DocKind, Op, VolunteerId};
use serde::Serialize;
use serde_json::Value;

use super::{OpsError, resolve, write};
use crate::Node;
use crate::results::{self, Read};

/// `Request::Rota`.
pub(super) async fn rota(
    node: &Node,
    doc: Option<DocId>,
    rota: Option<String>,
    from: Date,
    to: Date,
    gaps: bool,
) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Volunteers, doc).await?;
    results::answer(
        node,
        Read::Rota {
            doc,
            rota,
            from,
            to,
            gaps,
        },
    )
    .await
}

/// `Request::Activities`.
pub(super) async fn activities(
    node: &Node,
    doc: Option<DocId>,
    booking: Option<BookingId>,
) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Resource, doc).await?;
    results::answer(node, Read::Activities { doc, booking }).await
}

/// `Request::RotaRecord`: the served shifts of `year` as service records in the
/// community's ledger of that year (or `ledger`), each row's outcome in order.
pub(super) async fn record(
    node: &Node,
    doc: Option<DocId>,
    ledger: Option<DocId>,
    year: i16,
) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Volunteers, doc).await?;
    let (rows, found) = node
        .read(move |r| -> Result<_, linli_core::Error> {
            r.volunteers(doc)?;
            let d = r.doc(doc)?;
            let owner = d.header().owner_scope();
            let rows: Vec<ServiceRow> = Rotas::new(d)
                .served_shifts(year)
                .into_iter()
                .map(|s| ServiceRow {
                    volunteer: s.volunteer,
                    activity: s.activity,
                    team: s.team,
                    date: s.date,
                    hours: s.hours,
                    evidence: Some(s.evidence),
                    source: Some(s.source),
                })
                .collect();
            let found: Vec<DocId> = r
                .ids_of(DocKind::Ledger)
                .into_iter()
                .filter(|id| {
                    r.header(*id)
                        .is_ok_and(|h| h.owner_scope() == owner && h.year == Some(year))
                })
                .collect();
            Ok((rows, found))
        })
        .await??;
    let ledger = match (ledger, found.as_slice()) {
        (Some(l), _) => l,
        (None, [one]) => *one,
        (None, []) => {
            return Err(OpsError::NotFound(format!(
                "this node holds no ledger of the registry's community for {year}: create it \
                 first (linli ledger create --year {year})"
            )));
        }
        (None, _) => {
            return Err(OpsError::Invalid(format!(
                "several ledgers for {year}; name one with --ledger"
            )));
        }
    };
    if rows.is_empty() {
        return Err(OpsError::NotFound(format!(
            "no shift of {year} is marked served (volunteers.mark_served)"
        )));
    }
    let mut out = Vec::new();
    for chunk in rows.chunks(MAX_BATCH_ROWS) {
        out.push(super::service_import(node, Some(ledger), chunk.to_vec()).await?);
    }
    Ok(if out.len() == 1 {
        out.remove(0)
    } else {
        Value::Array(out)
    })
}

/// A write on the volunteer registry (`doc`, default: the one this node holds).
pub(super) async fn write_op(
    node: &Node,
    doc: Option<DocId>,
    op: VolunteersOp,
) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Volunteers, doc).await?;
    write(node, doc, Op::Volunteers(op)).await
}

/// `Request::RotaSwap`: the written change, with the new swap's id as `swap` (what
/// `rota_decide` names).
pub(super) async fn swap(
    node: &Node,
    doc: Option<DocId>,
    rota: String,
    shift: usize,
    date: Date,
    from: VolunteerId,
    to: VolunteerId,
) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Volunteers, doc).await?;
    let code = rota.clone();
    let before: Vec<String> = node
        .read(move |r| -> Result<_, linli_core::Error> {
            r.volunteers(doc)?;
            Ok(Rotas::new(r.doc(doc)?)
                .swaps(Some(&code))
                .into_iter()
                .map(|s| s.id.to_string())
                .collect())
        })
        .await??;
    let op = VolunteersOp::RequestSwap {
        rota: rota.clone(),
        shift,
        date,
        from,
        to,
    };
    let mut out = write(node, doc, Op::Volunteers(op)).await?;
    let new = node
        .read(move |r| -> Result<_, linli_core::Error> {
            Ok(Rotas::new(r.doc(doc)?)
                .swaps(Some(&rota))
                .into_iter()
                .map(|s| s.id.to_string())
                .find(|id| !before.contains(id)))
        })
        .await??;
    if let (Value::Object(m), Some(id)) = (&mut out, new) {
        m.insert("swap".into(), Value::String(id));
    }
    Ok(out)
}

/// `Request::RotaDecide`: without a rota, the one rota holding a swap of that id.
pub(super) async fn decide(
    node: &Node,
    doc: Option<DocId>,
    rota: Option<String>,
    swap: String,
    approve: bool,
) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Volunteers, doc).await?;
    let rota = match rota {
        Some(r) => r,
        None => {
            let id = swap.clone();
            let mut found: Vec<String> = node
                .read(move |r| -> Result<_, linli_core::Error> {
                    r.volunteers(doc)?;
                    Ok(Rotas::new(r.doc(doc)?)
                        .swaps(None)
                        .into_iter()
                        .filter(|s| s.id.to_string() == id)
                        .map(|s| s.rota)
                        .collect())
                })
                .await??;
            match found.len() {
                0 => {
                    return Err(OpsError::NotFound(format!(
                        "no rota of registry {doc} has a swap request {swap} (list them: linli \
                         volunteers rota swaps)"
                    )));
                }
                1 => found.remove(0),
                _ => {
                    return Err(OpsError::Invalid(format!(
                        "swap {swap} exists on rotas {}: name one with --rota",
                        found.join(", ")
                    )));
                }
            }
        }
    };
    let op = VolunteersOp::DecideSwap {
        rota,
        swap,
        approve,
    };
    write(node, doc, Op::Volunteers(op)).await
}

#[derive(Serialize)]
struct SwapRow {
    rota: String,
    swap: String,
    shift: usize,
    date: String,
    from: String,
    to: String,
    /// `pending`, `approved` or `declined`.
    status: &'static str,
}

/// `Request::RotaSwaps`: swap requests by rota and id, with their decisions.
pub(super) async fn swaps(
    node: &Node,
    doc: Option<DocId>,
    rota: Option<String>,
) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Volunteers, doc).await?;
    let rows = node
        .read(move |r| -> Result<Vec<SwapRow>, linli_core::Error> {
            r.volunteers(doc)?;
            Ok(Rotas::new(r.doc(doc)?)
                .swaps(rota.as_deref())
                .into_iter()
                .map(|s| SwapRow {
                    rota: s.rota,
                    swap: s.id.to_string(),
                    shift: s.swap.shift,
                    date: s.swap.date.to_string(),
                    from: s.swap.from.to_string(),
                    to: s.swap.to.to_string(),
                    status: match s.decision {
                        None => "pending",
                        Some(d) if d.approved => "approved",
                        Some(_) => "declined",
                    },
                })
                .collect())
        })
        .await??;
    Ok(serde_json::to_value(rows).unwrap_or(Value::Null))
}
