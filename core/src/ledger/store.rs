//! Points that behave like the real schemes: expiry, the points store (积分超市) with
//! stock, and the star certificate — part of the service ledger kind.
//!
//! # Expiry
//!
//! [`LedgerRules::expiry`] ([`Expiry`]): `never` (the default, so documents written before
//! expiry existed decode unchanged), `year_end` (points earned in a year expire when the
//! next year begins) or `after_years: N` (points earned on a date expire N years later, on
//! the same month and day — 29 February falls to 28 February). Only points expire; the
//! hours, the entries and the earned total (stars) are kept forever.
//!
//! A volunteer's points are computed on read ([`points_state`]) over every ledger the
//! replica holds, from the entries naming the volunteer's home community, in integer
//! hundredths, as a function of the set of entries and the day asked for:
//!
//! * each credit (a service's points, dated by its service date; a positive correction,
//!   dated by the local day it was written) is a *lot*, expiring by the rule of the home
//!   community's ledger of the lot's year (if that ledger is not held here, the home's
//!   newest ledger held; with none, never);
//! * each debit (a redemption, a negative correction; dated by the local day it was
//!   written) consumes the oldest unexpired lots first (earliest date, then entry id);
//!   what it cannot cover is *owed* and paid by the next credits;
//! * events are taken in date order, credits before debits on one day, then by entry id
//!   and ledger; a lot is expired from its expiry day on (a `year_end` point earned on
//!   31 December is spendable that day and expired on 1 January);
//! * `expired` = what lots held when they expired; `balance` = what unexpired lots hold
//!   minus what is owed. With `never` this is exactly the sum of the entries' deltas.
//!
//! Redeeming more than the balance when expired points would have covered it is refused
//! with [`LedgerError::PointsExpired`], naming how many expired.
//!
//! # The points store
//!
//! Each ledger holds its year's store in its `meta` map (the kind's maps are fixed by its
//! genesis, so existing ledgers take the store without a new map):
//!
//! | key | record | written by |
//! |---|---|---|
//! | `store/<item>` | [`StoreItem`] (name, cost, initial stock) | the community, write-once |
//! | `restock/<item>/<restock>` | [`Restock`] (quantity) | the community, write-once |
//!
//! A store redemption ([`LedgerOp::RedeemItem`]) is an ordinary redemption entry naming the
//! item ([`EntryBody::Redemption`]'s `store_item`), its name and cost copied from the item;
//! free-text redemptions (`store_item` absent) decode and count as before. Stock = initial
//! stock + restocks − redemptions naming the item, all in the same ledger.
//!
//! **Receivers check** what a change's history shows: a store record, a restock or a store
//! redemption is written by the ledger's community (the volunteer's home, the only
//! arbiter); the item of a restock or redemption exists in the change's history; the
//! redemption's cost and name are the item's. **The writer checks** the stock and the
//! balance (both need every entry, including ones in other ledgers): a single writer never
//! takes stock or a balance below zero. Two workstations of one community that redeem the
//! last item concurrently (neither has seen the other's change) both pass their check;
//! after the merge the stock reads −1, and further redemptions of the item are refused
//! until restocks bring it above zero again (a restock of 1 reads 0). The same holds for a
//! balance overdrawn that way: it reads as owed, and redemptions are refused until it is
//! positive again.
//!
//! # The star certificate
//!
//! [`certificate`]: a volunteer's stars (the home community's newest ledger's thresholds
//! applied to the points earned over every ledger held), earned points, balance, expired
//! points and hours by year, issued by the home community.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{
    Entry, EntryBody, LedgerError, LedgerRules, Points, counted, entries_of, ledgers, non_empty,
};
use crate::document::{Document, Put, Write};
use crate::ids::{DocId, RecordId, Scope, StoreItemId, VolunteerId};
use crate::kind::{Ctx, Effect};
use crate::policy;
use crate::schema::decode;
use crate::time::Timestamp;

/// Longest store item name, in characters.
pub const MAX_ITEM_NAME: usize = 200;
/// Most units one store record or restock adds.
pub const MAX_STOCK: u32 = 100_000;
/// Longest `after_years` expiry.
pub const MAX_EXPIRY_YEARS: u8 = 50;

/// When earned points expire (see the module doc).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Expiry {
    /// Points never expire.
    #[default]
    Never,
    /// Points earned in a year expire when the next year begins (1 January).
    YearEnd,
    /// Points earned on a date expire that many years later (1 to 50).
    AfterYears(u8),
}

impl Expiry {
    /// Whether this is [`Expiry::Never`] (the serde default, left out of the record).
    pub fn is_never(&self) -> bool {
        *self == Expiry::Never
    }
    /// Checks the rule.
    pub fn validate(&self) -> Result<(), LedgerError> {
        match self {
            Expiry::AfterYears(n) if *n == 0 || *n > MAX_EXPIRY_YEARS => {
                Err(LedgerError::InvalidRules(format!(
                    "points expire after 1 to {MAX_EXPIRY_YEARS} years, not {n}"
                )))
            }
            _ => Ok(()),
        }
    }
    /// The first day on which points earned on `earned` are expired; `None`: never.
    pub fn expires_on(&self, earned: Date) -> Option<Date> {
        match self {
            Expiry::Never => None,
            Expiry::YearEnd => Date::new(earned.year().checked_add(1)?, 1, 1).ok(),
            Expiry::AfterYears(n) => earned
                .checked_add(jiff::Span::new().years(i64::from(*n)))
                .ok(),
        }
    }
}

/// An item of a ledger's points store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreItem {
    /// Name, e.g. "5 kg rice".
    pub name: String,
    /// Cost in points (> 0).
    pub cost: Points,
    /// Units put in at creation.
    pub stock: u32,
    /// The community that keeps the store.
    pub by: Scope,
    /// When.
    pub at: Timestamp,
}

/// Units added to a store item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restock {
    /// Units added (> 0).
    pub quantity: u32,
    /// The community.
    pub by: Scope,
    /// When.
    pub at: Timestamp,
}

/// A store item as read: its record, the units added and taken, and the stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLine {
    /// The item.
    pub id: StoreItemId,
    /// Its record.
    pub item: StoreItem,
    /// Units added by restocks.
    pub restocked: u64,
    /// Redemptions naming it.
    pub redeemed: u64,
    /// Initial stock + restocks − redemptions (below zero only after concurrent
    /// redemptions of the last units by two workstations: see the module doc).
    pub stock: i64,
}

fn item_key(id: &StoreItemId) -> String {
    format!("store/{id}")
}

/// The store of ledger `doc`, in item id order.
pub fn store_lines(doc: &Document) -> Vec<StoreLine> {
    let mut lines: Vec<StoreLine> = doc
        .records_with_prefix::<StoreItem>("meta", "store/")
        .into_iter()
        .filter_map(|(k, item)| {
            let id: StoreItemId = k.strip_prefix("store/")?.parse().ok()?;
            Some(StoreLine {
                id,
                restocked: 0,
                redeemed: 0,
                stock: i64::from(item.stock),
                item,
            })
        })
        .collect();
    // Few items: a linear lookup per record is fine.
    for (k, r) in doc.records_with_prefix::<Restock>("meta", "restock/") {
        if let Some((item, _)) = k.strip_prefix("restock/").and_then(|s| s.split_once('/'))
            && let Some(i) = lines.iter().position(|l| l.id.to_string() == item)
        {
            lines[i].restocked += u64::from(r.quantity);
            lines[i].stock += i64::from(r.quantity);
        }
    }
    for (_, e) in entries_of(doc) {
        if let EntryBody::Redemption {
            store_item: Some(id),
            ..
        } = &e.body
            && let Some(i) = lines.iter().position(|l| l.id == *id)
        {
            lines[i].redeemed += 1;
            lines[i].stock -= 1;
        }
    }
    lines
}

/// One store item of ledger `doc`.
pub fn store_line(doc: &Document, id: &StoreItemId) -> Result<StoreLine, LedgerError> {
    store_lines(doc)
        .into_iter()
        .find(|l| l.id == *id)
        .ok_or_else(|| LedgerError::UnknownStoreItem(id.clone()))
}

// ---- points with expiry ----------------------------------------------------------------

/// A volunteer's points on a day (see the module doc for how they are computed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointsState {
    /// Points earned (service and corrections, never reduced by redemptions or expiry).
    pub earned: Points,
    /// Points spent on redemptions.
    pub redeemed: Points,
    /// Points that expired unspent.
    pub expired: Points,
    /// Points spendable (negative: owed).
    pub balance: Points,
    /// The next expiry after the day: its first day and the points it takes.
    pub next_expiry: Option<(Date, Points)>,
}

struct Lot {
    earned: Date,
    expires: Option<Date>,
    left: i64,
}

/// The expiry rule of each year of `home`'s ledgers held, and the newest.
fn expiry_rules<'a>(
    docs: impl IntoIterator<Item = &'a Document>,
    home: &Scope,
) -> (BTreeMap<i16, Expiry>, Option<Expiry>) {
    let mut by_year = BTreeMap::new();
    for d in ledgers(docs) {
        if d.header().owner_scope() == *home
            && let Some(y) = d.header().year
        {
            by_year.insert(y, super::Ledger::new(d).rules().expiry);
        }
    }
    let newest = by_year.values().next_back().copied();
    (by_year, newest)
}

/// `volunteer`'s points at home community `home` on `today`, over every ledger in `docs`.
pub fn points_state<'a>(
    docs: impl IntoIterator<Item = &'a Document> + Clone,
    home: &Scope,
    volunteer: &VolunteerId,
    today: Date,
) -> PointsState {
    let (rules, newest) = expiry_rules(docs.clone(), home);
    let rule_for = |y: i16| {
        rules
            .get(&y)
            .copied()
            .or(newest)
            .unwrap_or(Expiry::Never)
    };
    // (date, 0 credit / 1 debit, entry id, ledger, amount, is redemption)
    let mut events: Vec<(Date, u8, String, DocId, i64, bool)> = Vec::new();
    for d in ledgers(docs) {
        let zone = &d.header().zone;
        for (id, e) in counted(d) {
            if e.volunteer != *volunteer || e.home != *home {
                continue;
            }
            let written = e.at.local(zone).map(|(day, _)| day).unwrap_or(today);
            let (date, amount, redemption) = match &e.body {
                EntryBody::Service { date, points, .. } => (*date, points.0, false),
                EntryBody::Correction { delta, .. } => (written, delta.0, false),
                EntryBody::Redemption { cost, .. } => (written, -cost.0, true),
            };
            let order = u8::from(amount < 0);
            events.push((date, order, id.to_string(), d.id(), amount, redemption));
        }
    }
    events.sort();
    let mut out = PointsState::default();
    let mut lots: Vec<Lot> = Vec::new();
    let mut owed: i64 = 0;
    let mut expired: i64 = 0;
    let expire = |lots: &mut Vec<Lot>, day: Date, expired: &mut i64| {
        for l in lots.iter_mut() {
            if l.left > 0 && l.expires.is_some_and(|x| x <= day) {
                *expired += l.left;
                l.left = 0;
            }
        }
        lots.retain(|l| l.left > 0);
    };
    for (date, _, _, _, amount, redemption) in events {
        expire(&mut lots, date, &mut expired);
        if amount >= 0 {
            out.earned = out.earned + Points(amount);
            let pay = owed.min(amount);
            owed -= pay;
            let left = amount - pay;
            if left > 0 {
                let lot = Lot {
                    earned: date,
                    expires: rule_for(date.year()).expires_on(date),
                    left,
                };
                // Oldest first: events come in date order, so pushing keeps the order.
                let at = lots.partition_point(|l| l.earned <= date);
                lots.insert(at, lot);
            }
        } else {
            if redemption {
                out.redeemed = out.redeemed + Points(-amount);
            } else {
                out.earned = out.earned + Points(amount);
            }
            let mut need = -amount;
            for l in lots.iter_mut() {
                let take = l.left.min(need);
                l.left -= take;
                need -= take;
                if need == 0 {
                    break;
                }
            }
            lots.retain(|l| l.left > 0);
            owed = owed.saturating_add(need);
        }
    }
    expire(&mut lots, today, &mut expired);
    let held: i64 = lots.iter().map(|l| l.left).sum();
    out.expired = Points(expired);
    out.balance = Points(held - owed);
    out.next_expiry = lots
        .iter()
        .filter_map(|l| l.expires.map(|x| (x, l.left)))
        .fold(None, |acc: Option<(Date, i64)>, (x, n)| match acc {
            Some((d, m)) if d < x => Some((d, m)),
            Some((d, m)) if d == x => Some((d, m + n)),
            _ => Some((x, n)),
        })
        .map(|(d, n)| (d, Points(n)));
    out
}

/// The writer's check of a redemption of `cost`: the balance at home community `home` on
/// its local day ([`points_at`], the same number every balance surface shows) covers it.
pub(super) fn check_balance(
    ctx: &Ctx<'_>,
    home: &Scope,
    volunteer: &VolunteerId,
    cost: Points,
) -> Result<(), LedgerError> {
    let s = points_at(ctx.docs.of_kind(crate::document::DocKind::Ledger), home, volunteer, ctx.now);
    if s.balance >= cost {
        return Ok(());
    }
    if s.expired.0 > 0 && s.balance + s.expired >= cost {
        return Err(LedgerError::PointsExpired {
            volunteer: volunteer.clone(),
            balance: s.balance,
            expired: s.expired,
            cost,
        });
    }
    Err(LedgerError::InsufficientBalance {
        volunteer: volunteer.clone(),
        balance: s.balance,
        cost,
    })
}

/// The local day of `now` at home community `home`: in the zone of its newest ledger in
/// `docs` (the district's default zone if none is held).
pub fn home_today<'a>(
    docs: impl IntoIterator<Item = &'a Document>,
    home: &Scope,
    now: Timestamp,
) -> Date {
    let zone = ledgers(docs)
        .filter(|d| d.header().owner_scope() == *home)
        .max_by_key(|d| d.header().year)
        .map(|d| d.header().zone.clone())
        .unwrap_or_default();
    // Invariant: a timestamp a node writes is within jiff's range; the epoch otherwise.
    now.local(&zone)
        .map(|(d, _)| d)
        .unwrap_or(Date::constant(1970, 1, 1))
}

/// `volunteer`'s points at home community `home` at `now` ([`points_state`] on the home's
/// local day, [`home_today`]): what the redemption check, balances and the statement use.
pub fn points_at<'a>(
    docs: impl IntoIterator<Item = &'a Document> + Clone,
    home: &Scope,
    volunteer: &VolunteerId,
    now: Timestamp,
) -> PointsState {
    let today = home_today(docs.clone(), home, now);
    points_state(docs, home, volunteer, today)
}

// ---- the star certificate --------------------------------------------------------------

/// A volunteer's star certificate, issued by the home community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarCertificate {
    /// The volunteer (pseudonymous).
    pub volunteer: VolunteerId,
    /// The home community, which issues it.
    pub home: Scope,
    /// Star level (the home's newest ledger's thresholds).
    pub stars: u8,
    /// The thresholds applied.
    pub thresholds: Vec<Points>,
    /// Points earned over every ledger held.
    pub earned: Points,
    /// Points spendable on the day.
    pub balance: Points,
    /// Points expired unspent.
    pub expired: Points,
    /// Minutes of service by year of service.
    pub minutes_by_year: BTreeMap<i16, u64>,
    /// The day it describes.
    pub on: Date,
}

/// The star certificate of `volunteer` of `home` on `today`, over every ledger in `docs`;
/// [`LedgerError::NoService`] if no entry names the volunteer at that home.
pub fn certificate<'a>(
    docs: impl IntoIterator<Item = &'a Document> + Clone,
    home: &Scope,
    volunteer: &VolunteerId,
    today: Date,
) -> Result<StarCertificate, LedgerError> {
    let mut minutes_by_year: BTreeMap<i16, u64> = BTreeMap::new();
    let mut any = false;
    let mut newest: Option<(i16, LedgerRules)> = None;
    for d in ledgers(docs.clone()) {
        if d.header().owner_scope() == *home
            && let Some(y) = d.header().year
            && newest.as_ref().is_none_or(|(n, _)| y > *n)
        {
            newest = Some((y, super::Ledger::new(d).rules()));
        }
        for (_, e) in counted(d) {
            if e.volunteer != *volunteer || e.home != *home {
                continue;
            }
            any = true;
            if let EntryBody::Service { date, minutes, .. } = e.body {
                *minutes_by_year.entry(date.year()).or_default() += u64::from(minutes);
            }
        }
    }
    if !any {
        return Err(LedgerError::NoService {
            volunteer: volunteer.clone(),
            home: home.clone(),
        });
    }
    let rules = newest.map(|(_, r)| r).unwrap_or_default();
    let s = points_state(docs, home, volunteer, today);
    Ok(StarCertificate {
        volunteer: volunteer.clone(),
        home: home.clone(),
        stars: rules.stars(s.earned),
        thresholds: rules.star_thresholds,
        earned: s.earned,
        balance: s.balance,
        expired: s.expired,
        minutes_by_year,
        on: today,
    })
}

// ---- the store's operations -----------------------------------------------------------

fn check_quantity(n: u32, what: &str) -> Result<(), LedgerError> {
    if n > MAX_STOCK {
        return Err(LedgerError::InvalidAmount(format!(
            "{what} must be at most {MAX_STOCK}, got {n}"
        )));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), LedgerError> {
    non_empty(name, "item name")?;
    let n = name.chars().count();
    if n > MAX_ITEM_NAME || name.chars().any(char::is_control) {
        return Err(LedgerError::InvalidAmount(format!(
            "an item name has 1 to {MAX_ITEM_NAME} characters without control characters, got {n}"
        )));
    }
    Ok(())
}

/// [`LedgerOp::StoreAdd`](super::LedgerOp::StoreAdd): the caller checked the writer is
/// the community.
pub(super) fn plan_add(
    doc: &Document,
    ctx: &Ctx<'_>,
    name: String,
    cost: Points,
    stock: u32,
) -> Result<(Vec<Put>, Effect, String), LedgerError> {
    check_name(&name)?;
    if cost.0 <= 0 {
        return Err(LedgerError::InvalidAmount(format!(
            "an item's cost must be positive, got {cost}"
        )));
    }
    check_quantity(stock, "stock")?;
    let id = StoreItemId(ctx.author.next_id(doc, "meta", "store/"));
    let item = StoreItem {
        name,
        cost,
        stock,
        by: ctx.scope.clone(),
        at: ctx.now,
    };
    let msg = format!("store item {id}: {} for {cost} pts, {stock} in stock", item.name);
    Ok((
        vec![Put::new("meta", item_key(&id), &item)],
        Effect::StoreItem(id),
        msg,
    ))
}

/// [`LedgerOp::StoreRestock`](super::LedgerOp::StoreRestock): the caller checked the
/// writer is the community.
pub(super) fn plan_restock(
    doc: &Document,
    ctx: &Ctx<'_>,
    item: StoreItemId,
    quantity: u32,
) -> Result<(Vec<Put>, Effect, String), LedgerError> {
    let line = store_line(doc, &item)?;
    if quantity == 0 {
        return Err(LedgerError::InvalidAmount("a restock of 0 units".into()));
    }
    check_quantity(quantity, "a restock")?;
    let rid = ctx.author.next_id(doc, "meta", &format!("restock/{item}/"));
    let r = Restock {
        quantity,
        by: ctx.scope.clone(),
        at: ctx.now,
    };
    let msg = format!(
        "restock {item} ({}): +{quantity}, {} in stock",
        line.item.name,
        line.stock + i64::from(quantity)
    );
    Ok((
        vec![Put::new("meta", format!("restock/{item}/{rid}"), &r)],
        Effect::StoreItem(item),
        msg,
    ))
}

/// [`LedgerOp::RedeemItem`](super::LedgerOp::RedeemItem)'s item: it exists and is in
/// stock; its name and cost.
pub(super) fn in_stock(doc: &Document, item: &StoreItemId) -> Result<StoreItem, LedgerError> {
    let line = store_line(doc, item)?;
    if line.stock <= 0 {
        return Err(LedgerError::OutOfStock {
            item: item.clone(),
            name: line.item.name,
            stock: line.stock,
        });
    }
    Ok(line.item)
}

// ---- receivers' checks ------------------------------------------------------------------

/// Whether `meta/<key>` is a store record (item or restock).
pub(super) fn is_store_key(key: &str) -> bool {
    key.starts_with("store/") || key.starts_with("restock/")
}

/// Key shape and record type of a store record.
pub(super) fn check_record(key: &str, value: &str) -> Result<(), String> {
    if let Some(k) = key.strip_prefix("store/") {
        let id: StoreItemId = k.parse().map_err(|e| format!("store item {k:?}: {e}"))?;
        let item = decode::<StoreItem>(value)?;
        if item.by.org() != Some(id.org()) {
            return Err(format!("store item {id} names keeper {}", item.by));
        }
        check_name(&item.name).map_err(|e| format!("store item {id}: {e}"))?;
        if item.cost.0 <= 0 || item.stock > MAX_STOCK {
            return Err(format!(
                "store item {id}: cost must be positive and stock at most {MAX_STOCK}"
            ));
        }
        return Ok(());
    }
    if let Some(k) = key.strip_prefix("restock/") {
        let (item, rid) = k
            .split_once('/')
            .ok_or_else(|| format!("malformed restock key {key:?}"))?;
        let _: StoreItemId = item.parse().map_err(|e| format!("restock {key:?}: {e}"))?;
        let rid: RecordId = rid.parse().map_err(|e| format!("restock {key:?}: {e}"))?;
        let r = decode::<Restock>(value)?;
        if r.by.org() != Some(&rid.org) {
            return Err(format!("restock {rid} names keeper {}", r.by));
        }
        if r.quantity == 0 || r.quantity > MAX_STOCK {
            return Err(format!("restock {rid}: 1 to {MAX_STOCK} units"));
        }
        return Ok(());
    }
    Err(format!("a ledger has no record meta/{key}"))
}

/// The write rule of a store record: the ledger's community, numbered by the signer, naming
/// it; a restock's item in the change's history.
pub(super) fn authorize(rules: &policy::Rules<'_>, w: &Write) -> policy::Rule {
    rules.owner("keep the points store")?;
    if let Some(k) = w.key.strip_prefix("store/") {
        let id: StoreItemId = k.parse().map_err(|e| format!("{e}"))?;
        rules.own_number(&id.0)?;
        let item: StoreItem = policy::decode(w)?;
        return rules.names_signer(&item.by, "keeper");
    }
    let (item, rid) = w
        .key
        .strip_prefix("restock/")
        .and_then(|k| k.split_once('/'))
        .ok_or_else(|| format!("malformed store key {:?}", w.key))?;
    let rid: RecordId = rid.parse().map_err(|e| format!("{e}"))?;
    rules.own_number(&rid)?;
    let r: Restock = policy::decode(w)?;
    rules.names_signer(&r.by, "keeper")?;
    policy::require(
        rules
            .doc
            .exists_at("meta", &format!("store/{item}"), rules.deps),
        || format!("restocked item {item} is not in the change's history"),
    )
}

/// A store redemption as receivers check it: its item in the change's history, with the
/// entry's name and cost (who writes it is checked with every redemption).
pub(super) fn check_redemption(rules: &policy::Rules<'_>, e: &Entry) -> policy::Rule {
    let EntryBody::Redemption {
        item,
        cost,
        store_item: Some(id),
        ..
    } = &e.body
    else {
        return Ok(());
    };
    let it = rules
        .doc
        .get_all_at::<StoreItem>("meta", &item_key(id), rules.deps)
        .pop()
        .ok_or_else(|| format!("store item {id} is not in the change's history"))?;
    policy::require(it.cost == *cost && it.name == *item, || {
        format!(
            "store item {id} is {} for {} points, not {item} for {cost}",
            it.name, it.cost
        )
    })
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
