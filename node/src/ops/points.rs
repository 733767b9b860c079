//! Requests of points (the points store, the star certificate) and team claims: each
//! resolves its implied document and runs a core operation or a typed read.

use linli_core::ledger::LedgerOp;
use linli_core::wishes::WishesOp;
use linli_core::{DocKind, Op};
use serde_json::Value;

use super::{OpsError, Request, parse_points, resolve, this_year, wishes_op, write};
use crate::Node;
use crate::results::{Read, answer};

/// Executes the requests of points and team claims ([`Request::StoreAdd`] …).
pub(super) async fn execute(node: &Node, req: Request) -> Result<Value, OpsError> {
    let ledger = |doc| resolve(node, DocKind::Ledger, doc);
    match req {
        Request::StoreAdd {
            doc,
            name,
            cost,
            stock,
        } => {
            let doc = ledger(doc).await?;
            let cost = parse_points(&cost, "cost")?;
            write(
                node,
                doc,
                Op::Ledger(LedgerOp::StoreAdd { name, cost, stock }),
            )
            .await
        }
        Request::StoreRestock {
            doc,
            item,
            quantity,
        } => {
            let doc = ledger(doc).await?;
            write(
                node,
                doc,
                Op::Ledger(LedgerOp::StoreRestock { item, quantity }),
            )
            .await
        }
        Request::StoreRedeem {
            doc,
            volunteer,
            item,
            outlet,
        } => {
            let doc = ledger(doc).await?;
            let op = LedgerOp::RedeemItem {
                volunteer,
                item,
                outlet,
            };
            write(node, doc, Op::Ledger(op)).await
        }
        Request::StoreList { doc } => {
            let doc = ledger(doc).await?;
            answer(node, Read::Store { doc }).await
        }
        Request::Certificate { volunteer } => answer(node, Read::Certificate { volunteer }).await,
        Request::WishClaimTeam {
            doc,
            wish,
            lead,
            members,
            note,
        } => {
            let op = WishesOp::ClaimTeam {
                wish,
                lead,
                members,
                note,
            };
            wishes_op(node, doc, op).await
        }
        Request::WishStats { doc, year } => {
            let doc = resolve(node, DocKind::Wishes, doc).await?;
            let year = match year {
                Some(y) => y,
                None => this_year(node)?,
            };
            answer(node, Read::ClaimCounts { doc, year }).await
        }
        other => Err(OpsError::Invalid(format!(
            "not a request of points or team claims: {other:?}"
        ))),
    }
}
