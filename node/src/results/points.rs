//! The typed results of points (expiry, the points store, the star certificate) and team
//! claims' yearly counts, and the reads that answer them.

use linli_core::ledger::{self, StoreLine};
use linli_core::{DocId, DocKind, Scope, VolunteerId};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::{Day, Dec, json};
use crate::Node;
use crate::ops::OpsError;

/// An item of a ledger's points store with its stock.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StoreItem {
    /// Its id (`org@tag:n`).
    pub id: String,
    /// Name.
    pub name: String,
    /// Cost in points.
    pub cost: Dec,
    /// Units in stock: initial + restocked − redeemed (below zero only after two
    /// workstations redeemed the last unit concurrently; then refused until restocked).
    pub stock: i64,
    /// Units put in when the item was added.
    pub initial: u32,
    /// Units added by restocks.
    pub restocked: u64,
    /// Units redeemed.
    pub redeemed: u64,
}

impl From<StoreLine> for StoreItem {
    fn from(l: StoreLine) -> Self {
        StoreItem {
            id: l.id.to_string(),
            name: l.item.name,
            cost: Dec(l.item.cost),
            stock: l.stock,
            initial: l.item.stock,
            restocked: l.restocked,
            redeemed: l.redeemed,
        }
    }
}

/// Hours served in one year.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct YearHours {
    /// The year.
    pub year: i16,
    /// Minutes served.
    pub minutes: u64,
    /// Hours served, as text with two decimals.
    pub hours: String,
}

/// A volunteer's star certificate, issued by the home community.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StarCertificate {
    /// The volunteer's pseudonymous id.
    pub volunteer: String,
    /// The masked name, where the home community's volunteer registry is held.
    pub name: Option<String>,
    /// The issuing (home) community's scope.
    pub issued_by: String,
    /// Star level.
    pub stars: u8,
    /// Earned points needed for each star.
    pub thresholds: Vec<Dec>,
    /// Points earned over every ledger held (never reduced by redemptions or expiry).
    pub earned: Dec,
    /// Points spendable today.
    pub balance: Dec,
    /// Points that expired unspent.
    pub expired: Dec,
    /// Hours by year of service.
    pub hours: Vec<YearHours>,
    /// The day it describes.
    pub on: Day,
}

/// A volunteer's points today, with expiry.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PointsInfo {
    /// The volunteer.
    pub volunteer: String,
    /// Points earned.
    pub earned: Dec,
    /// Points redeemed.
    pub redeemed: Dec,
    /// Points expired unspent.
    pub expired: Dec,
    /// Points spendable (negative: owed).
    pub balance: Dec,
    /// The next day points expire, if any.
    pub next_expiry: Option<Day>,
    /// How many expire then.
    pub expiring: Option<Dec>,
}

/// A claimant's claims of a year: a team claim counts once.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ClaimCount {
    /// The claiming organisation.
    pub claimant: String,
    /// Claims offered.
    pub claims: u32,
    /// Of which team claims.
    pub team_claims: u32,
    /// Claims fulfilled under their assignment.
    pub fulfilled: u32,
    /// Distinct volunteers named (teams' members included).
    pub volunteers: u32,
}

/// `[StoreItem]` of a ledger.
pub(super) async fn store(node: &Node, doc: DocId) -> Result<Value, OpsError> {
    let rows = node
        .read(move |r| -> Result<Vec<StoreItem>, linli_core::Error> {
            r.ledger(doc)?;
            let d = r.doc(doc)?;
            Ok(ledger::store_lines(d).into_iter().map(Into::into).collect())
        })
        .await??;
    json(&rows)
}

/// The home community of `volunteer` as the ledgers held know it: the community of a
/// ledger its code owns, else the home an entry names.
fn home_of(r: &linli_core::Replica, volunteer: &VolunteerId) -> Option<Scope> {
    let ledgers = || r.docs().of_kind(DocKind::Ledger);
    ledgers()
        .find(|d| &d.header().owner == volunteer.org())
        .map(|d| d.header().owner_scope())
        .or_else(|| {
            ledgers().find_map(|d| {
                r.ledger(d.id())
                    .ok()?
                    .entries()
                    .into_iter()
                    .find(|(_, e)| &e.volunteer == volunteer)
                    .map(|(_, e)| e.home)
            })
        })
}

/// `StarCertificate` of a volunteer of this node's community.
pub(super) async fn certificate(node: &Node, volunteer: VolunteerId) -> Result<Value, OpsError> {
    if volunteer.org() != node.org() {
        return Err(OpsError::Invalid(format!(
            "volunteer {volunteer} belongs to {}: only the home community issues its star \
             certificate (this node acts for {})",
            volunteer.org(),
            node.org()
        )));
    }
    let now = node.now();
    let cert = node
        .read(move |r| -> Result<StarCertificate, linli_core::Error> {
            let home = home_of(r, &volunteer).ok_or_else(|| {
                linli_core::Error::Ledger(ledger::LedgerError::NoService {
                    volunteer: volunteer.clone(),
                    home: Scope::root().child(volunteer.org().clone()),
                })
            })?;
            let on = ledger::home_today(r.docs().of_kind(DocKind::Ledger), &home, now);
            let c = ledger::certificate(r.docs().of_kind(DocKind::Ledger), &home, &volunteer, on)
                .map_err(linli_core::Error::Ledger)?;
            let name = r
                .docs()
                .matching(|h| h.kind == DocKind::Volunteers && h.owner_scope() == home)
                .find_map(|d| r.volunteers(d.id()).ok()?.volunteer(&volunteer).ok())
                .map(|v| v.display);
            Ok(StarCertificate {
                volunteer: c.volunteer.to_string(),
                name,
                issued_by: c.home.to_string(),
                stars: c.stars,
                thresholds: c.thresholds.into_iter().map(Dec).collect(),
                earned: Dec(c.earned),
                balance: Dec(c.balance),
                expired: Dec(c.expired),
                hours: c
                    .minutes_by_year
                    .into_iter()
                    .map(|(year, minutes)| YearHours {
                        year,
                        minutes,
                        hours: format!("{:.2}", minutes as f64 / 60.0),
                    })
                    .collect(),
                on: Day(c.on),
            })
        })
        .await??;
    json(&cert)
}

/// `PointsInfo` of a volunteer now (on the home's local day: the state the redemption
/// check and the balance read use).
pub(super) async fn points(node: &Node, volunteer: VolunteerId) -> Result<Value, OpsError> {
    let now = node.now();
    let info = node
        .read(move |r| {
            let home = home_of(r, &volunteer);
            let s = home
                .map(|h| ledger::points_at(r.docs().of_kind(DocKind::Ledger), &h, &volunteer, now))
                .unwrap_or_default();
            PointsInfo {
                volunteer: volunteer.to_string(),
                earned: Dec(s.earned),
                redeemed: Dec(s.redeemed),
                expired: Dec(s.expired),
                balance: Dec(s.balance),
                next_expiry: s.next_expiry.map(|(d, _)| Day(d)),
                expiring: s.next_expiry.map(|(_, p)| Dec(p)),
            }
        })
        .await?;
    json(&info)
}

/// `[ClaimCount]` of a wishes document for a year, by claimant.
pub(super) async fn claim_counts(node: &Node, doc: DocId, year: i16) -> Result<Value, OpsError> {
    let rows = node
        .read(move |r| -> Result<Vec<ClaimCount>, linli_core::Error> {
            Ok(r.wishes(doc)?
                .claim_counts(year)
                .into_iter()
                .map(|(s, c)| ClaimCount {
                    claimant: s.to_string(),
                    claims: c.claims,
                    team_claims: c.team_claims,
                    fulfilled: c.fulfilled,
                    volunteers: c.volunteers,
                })
                .collect())
        })
        .await??;
    json(&rows)
}
