//! Requests on duty rotas and activity sign-ups: the reads (`results::Read::Rota`,
//! `Read::Activities`, with the implied document) and writing served shifts to the ledger
//! (`Request::RotaRecord`, through the service import, so doing it twice writes nothing
//! twice).

use jiff::civil::Date;
use linli_core::ledger::{MAX_BATCH_ROWS, ServiceRow};
use linli_core::volunteers::Rotas;
use linli_core::{BookingId, DocId, DocKind};
use serde_json::Value;

use super::{OpsError, resolve};
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
