//! Volunteer service ledger: one document per community per year.
//!
//! # Records and who writes them
//!
//! | map | key | record | written by |
//! |---|---|---|---|
//! | `meta` | `rules` | [`LedgerRules`] (points rule, star thresholds) | the community |
//! | `entries` | `<issuer>:<counter>` | [`Entry`] | service records and corrections: the issuing community (the ledger's owner); redemptions: the volunteer's home community, in its own ledger |
//! | `meta` | `store/<item>`, `restock/<item>/<n>` | [`StoreItem`], [`Restock`]: the points store ([`store`]) | the community |
//!
//! Points may expire ([`LedgerRules::expiry`]); balances with expiry, the points store with
//! its stock and the star certificate are in [`store`].
//!
//! # One points computation, on every surface
//!
//! A declined entry ([`sessions`]: `meta/declines/<entry>`) counts nowhere: not in a
//! balance, an earned total, hours, a leaderboard, a certificate or the redemption check
//! (every sum reads the ledger through `counted`, which leaves declined entries out).
//!
//! *Spendable* points — the replica's `balance` / `balance_of` ([`balance_across`],
//! [`balance_at_home`]), the node's `balance` read (`linli balance`, the dashboard's
//! statement, Python `node.balance`), the balances table and the points read — are all
//! [`points_at`]: the
//! balance after expiry on the home community's local day (its newest ledger's zone), the
//! very number a redemption is checked against (`store::check_balance`). So a balance is a
//! function of the entries *and the time asked*, and every reader passes its `now`.
//!
//! *Earned* points — leaderboards ([`leaderboard_across`]), stars and the star certificate's
//! `earned` — keep expired points, as the real schemes do: 志愿汇's and the time banks'
//! star levels and rankings follow the hours and points ever earned (service and
//! corrections; redemptions never lower them), while expiry (e.g. at year end) only takes
//! points out of what can still be spent at the points store. The certificate shows both:
//! `earned` (with expired points) beside `balance` and `expired`.
//!
//! Volunteers appear only as pseudonymous [`VolunteerId`]s (`home:n`); names and phone
//! numbers never enter a replicated document.
//!
//! # Merge behaviour
//!
//! Entries are append-only and each has its own key (`issuer + counter`), so concurrent
//! entries never conflict and every replica ends with the union. Balances, star levels and
//! leaderboards are computed on read from all ledgers a replica holds, never stored; sums are
//! integer (hundredths of a point), so every replica computes the same numbers from the same
//! entries. A redemption is only written by the volunteer's home community after checking
//! the balance it knows, and only the home community writes redemptions, so redemptions
//! alone never take a balance below zero. A later correction can; the balance then shows as
//! owed and further redemptions are refused until it is positive again.
//!
//! # Imports
//!
//! [`LedgerOp::RecordServices`] writes up to [`MAX_BATCH_ROWS`] service records as one change,
//! each row validated on its own. A row carries its identity in its source (a spreadsheet's
//! id, or a digest of the row) as [`Entry::source`]; a row whose source the same issuer
//! already recorded in the ledger is skipped, so importing a file again adds nothing twice.
//! The lookups go through an [`EntryIndex`] kept with the document, so a row costs the same
//! whatever the ledger's size. Receivers check a source's shape (bounded, no control
//! characters, service records only), not its novelty: like a redemption's balance, that is
//! the writer's check.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use automerge::ChangeHash;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::cert::Role;
use crate::document::Write;
use crate::document::{DocKind, Document, MAX_CHANGE_BYTES, MAX_RECORD_BYTES, Put};
use crate::ids::{EntryId, OrgId, RecordId, Scope, StoreItemId, VolunteerId};
use crate::kind::{Ctx, Effect};
use crate::policy;
use crate::schema::{decode, id, key_parts};
use crate::time::Timestamp;

pub mod store;
pub use store::*;
pub mod sessions;
pub use sessions::{Checkin, Decline, Method, Session, SessionError};

/// The record maps of a ledger.
pub const MAPS: &[&str] = &["entries"];
/// Record maps added after the kind's first version (none).
pub const LATE_MAPS: &[&str] = &[];

/// Longest source id of an entry ([`Entry::source`]), in bytes.
pub const MAX_SOURCE_LEN: usize = 128;

/// Most rows one [`LedgerOp::RecordServices`] takes.
pub const MAX_BATCH_ROWS: usize = 500;

/// Bytes of records (keys and JSON) one [`LedgerOp::RecordServices`] change carries at most;
/// rows beyond are [`RowOutcome::Deferred`] to the next change. Well below
/// [`MAX_CHANGE_BYTES`], so the change (with automerge's per-operation overhead) is
/// accepted by every receiver.
pub const BATCH_BYTES: usize = MAX_CHANGE_BYTES * 5 / 8;

/// Points in hundredths (1 point = `Points(100)`), so sums are exact.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Points(pub i64);

impl Points {
    /// Whole points.
    pub fn whole(n: i64) -> Self {
        Self(n * 100)
    }
}
impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        if a.is_multiple_of(100) {
            write!(f, "{sign}{}", a / 100)
        } else {
            write!(f, "{sign}{}.{:02}", a / 100, a % 100)
        }
    }
}
impl std::ops::Add for Points {
    type Output = Points;
    fn add(self, o: Points) -> Points {
        Points(self.0.saturating_add(o.0))
    }
}
impl std::ops::Sub for Points {
    type Output = Points;
    fn sub(self, o: Points) -> Points {
        Points(self.0.saturating_sub(o.0))
    }
}

/// Points rule and star thresholds of a ledger (configurable; default 1 hour = 1 point).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LedgerRules {
    /// Points per hour of service.
    pub points_per_hour: Points,
    /// Earned points needed for 1, 2, 3 … stars (ascending).
    pub star_thresholds: Vec<Points>,
    /// When earned points expire (default never; see [`store`]).
    #[serde(default, skip_serializing_if = "Expiry::is_never")]
    pub expiry: Expiry,
    /// Whether hours recorded by hand (not verified by a session's check-in) earn points:
    /// false for a new ledger; rules written before this rule existed read as true, so
    /// their entries stay valid ([`sessions`]).
    #[serde(default = "legacy_hand_points")]
    pub hand_points: bool,
}

fn legacy_hand_points() -> bool {
    true
}

impl Default for LedgerRules {
    fn default() -> Self {
        Self {
            points_per_hour: Points::whole(1),
            star_thresholds: [10, 50, 100, 200, 500].map(Points::whole).to_vec(),
            expiry: Expiry::Never,
            hand_points: false,
        }
    }
}

impl LedgerRules {
    /// Checks the rule is usable.
    pub fn validate(&self) -> Result<(), LedgerError> {
        if self.points_per_hour.0 <= 0 {
            return Err(LedgerError::InvalidRules(format!(
                "points per hour must be positive, got {}",
                self.points_per_hour
            )));
        }
        if self.star_thresholds.windows(2).any(|w| w[0] >= w[1])
            || self.star_thresholds.first().is_some_and(|p| p.0 <= 0)
        {
            return Err(LedgerError::InvalidRules(
                "star thresholds must be positive and strictly ascending".into(),
            ));
        }
        self.expiry.validate()
    }
    /// The most one correction may add or remove: a full day (24 hours) of service under
    /// this rule. Larger amends take several corrections, each with its reason.
    pub fn max_correction(&self) -> Points {
        self.points_for(24 * 60)
    }
    /// Points for a number of minutes (rounded down to a hundredth).
    pub fn points_for(&self, minutes: u32) -> Points {
        Points(i64::from(minutes) * self.points_per_hour.0 / 60)
    }
    /// Stars for an earned total.
    pub fn stars(&self, earned: Points) -> u8 {
        let n = self
            .star_thresholds
            .iter()
            .filter(|t| earned >= **t)
            .count();
        u8::try_from(n).unwrap_or(u8::MAX)
    }
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum EntryBody {
    /// Service done.
    Service {
        /// Activity or post, e.g. "elder care rota".
        activity: String,
        /// Volunteer team, if any.
        team: Option<String>,
        /// Local date of the service.
        date: Date,
        /// Duration in minutes.
        minutes: u32,
        /// Points credited (from the rule at write time).
        points: Points,
        /// Evidence reference, e.g. a duty photo id.
        evidence: Option<String>,
    },
    /// Points spent at a points store (积分超市).
    Redemption {
        /// Item redeemed.
        item: String,
        /// Cost.
        cost: Points,
        /// Outlet.
        outlet: String,
        /// The points-store item taken (absent: a free-text redemption).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        store_item: Option<StoreItemId>,
    },
    /// A correction (positive or negative) by the issuer.
    Correction {
        /// Entry corrected, if any.
        corrects: Option<EntryId>,
        /// Points added (negative: removed).
        delta: Points,
        /// Why.
        reason: String,
    },
}

/// A ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The volunteer (pseudonymous).
    pub volunteer: VolunteerId,
    /// The volunteer's home community, by its certified scope (its code is the
    /// volunteer id's): only it redeems the points, against entries naming it.
    pub home: Scope,
    /// What it records.
    pub body: EntryBody,
    /// The organisation that wrote it.
    pub issuer: Scope,
    /// When it was written.
    pub at: Timestamp,
    /// Where the entry comes from, for an imported row: its identity in the source (an id
    /// column, or a digest of the row), at most [`MAX_SOURCE_LEN`] bytes without control
    /// characters. An issuer records each source at most once in a ledger:
    /// [`LedgerOp::RecordServices`] skips a row whose source it already recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Entry {
    /// Effect on the balance.
    pub fn balance_delta(&self) -> Points {
        match &self.body {
            EntryBody::Service { points, .. } => *points,
            EntryBody::Redemption { cost, .. } => Points(-cost.0),
            EntryBody::Correction { delta, .. } => *delta,
        }
    }
    /// Effect on earned points (stars, leaderboards): redemptions don't reduce them.
    pub fn earned_delta(&self) -> Points {
        match &self.body {
            EntryBody::Redemption { .. } => Points(0),
            _ => self.balance_delta(),
        }
    }
    fn team(&self) -> Option<&str> {
        match &self.body {
            EntryBody::Service { team, .. } => team.as_deref(),
            _ => None,
        }
    }
}

/// One service record of a [`LedgerOp::RecordServices`] batch (an imported row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceRow {
    /// Volunteer.
    pub volunteer: VolunteerId,
    /// Activity or post.
    pub activity: String,
    /// Team.
    #[serde(default)]
    pub team: Option<String>,
    /// Local date (must be in the ledger's year).
    #[schemars(with = "String")]
    pub date: Date,
    /// Hours (> 0, ≤ 24), rounded to the minute.
    pub hours: f64,
    /// Evidence reference.
    #[serde(default)]
    pub evidence: Option<String>,
    /// The row's identity in its source ([`Entry::source`]): a row whose source the writer
    /// already recorded in this ledger is not written again.
    #[serde(default)]
    pub source: Option<String>,
}

pub use crate::kind::RowOutcome;

/// Checks an entry's source id: 1 to [`MAX_SOURCE_LEN`] bytes, no control characters.
pub fn check_source(source: &str) -> Result<(), LedgerError> {
    if source.is_empty() || source.len() > MAX_SOURCE_LEN {
        return Err(LedgerError::InvalidSource(format!(
            "it must have 1 to {MAX_SOURCE_LEN} bytes, not {}",
            source.len()
        )));
    }
    // Control characters and bidirectional overrides would garble (or disguise) the
    // reports and tables that show a source.
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if source.chars().any(|c| c.is_control() || bidi(c)) {
        return Err(LedgerError::InvalidSource(format!(
            "{source:?} holds control characters"
        )));
    }
    Ok(())
}

/// What [`LedgerOp::RecordServices`] looks up in a ledger's entries, so a row costs the
/// same whatever the ledger's size: the source ids by issuer (see [`Entry::source`]) and the
/// largest counter of each numbering writer (`org@tag`). Built from the document once;
/// valid at `heads` and carried forward by local commits (`Document::with_entry_index`).
#[derive(Debug, Default)]
pub struct EntryIndex {
    heads: Vec<ChangeHash>,
    /// The issuers seen (a ledger has few), indexed by `by`'s keys.
    issuers: Vec<Scope>,
    /// (issuer, source id) → the entry's key.
    by: HashMap<(u32, Box<str>), Box<str>>,
    /// Writer (`org@tag`, the key before `:n`) → the largest `n`.
    counters: HashMap<Box<str>, u64>,
}

impl crate::document::DerivedIndex for EntryIndex {
    fn is_at(&self, heads: &[ChangeHash]) -> bool {
        EntryIndex::is_at(self, heads)
    }
    fn advance(&mut self, before: &[ChangeHash], after: Vec<ChangeHash>, puts: &[Put]) -> bool {
        EntryIndex::advance(self, before, after, puts)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl EntryIndex {
    /// Reads every entry with a source of `doc` (at `heads`, its current heads).
    pub(crate) fn build(doc: &Document, mut heads: Vec<ChangeHash>) -> Self {
        heads.sort_unstable();
        let mut ix = EntryIndex {
            heads,
            ..EntryIndex::default()
        };
        if doc.kind() == DocKind::Ledger {
            doc.for_each_raw("entries", |key, json| ix.note(key, json));
        }
        ix
    }

    /// Whether the index describes the document at `heads`.
    pub(crate) fn is_at(&self, heads: &[ChangeHash]) -> bool {
        let mut h = heads.to_vec();
        h.sort_unstable();
        h == self.heads
    }

    /// Carries the index from `before` to `after` over a local commit of `puts`; false if
    /// it was not at `before` (it must then be rebuilt).
    pub(crate) fn advance(
        &mut self,
        before: &[ChangeHash],
        mut after: Vec<ChangeHash>,
        puts: &[Put],
    ) -> bool {
        if !self.is_at(before) {
            return false;
        }
        for p in puts.iter().filter(|p| p.map == "entries") {
            self.note(&p.key, &p.value);
        }
        after.sort_unstable();
        self.heads = after;
        true
    }

    fn note(&mut self, key: &str, json: &str) {
        if let Some((writer, n)) = key.rsplit_once(':')
            && let Ok(n) = n.parse::<u64>()
        {
            let max = self.counters.entry(writer.into()).or_default();
            *max = (*max).max(n);
        }
        // Most entries have no source: skip them without decoding.
        if !json.contains("\"source\"") {
            return;
        }
        let Ok(e) = serde_json::from_str::<Entry>(json) else {
            return;
        };
        let Some(source) = e.source else {
            return;
        };
        let issuer = match self.issuers.iter().position(|s| *s == e.issuer) {
            Some(i) => i,
            None => {
                self.issuers.push(e.issuer);
                self.issuers.len() - 1
            }
        };
        // Invariant: fewer issuers than u32::MAX (each is a certified organisation).
        let issuer = u32::try_from(issuer).unwrap_or(u32::MAX);
        self.by
            .entry((issuer, source.into_boxed_str()))
            .or_insert_with(|| key.into());
    }

    /// The entry in which `issuer` recorded `source`, if any.
    pub fn get(&self, issuer: &Scope, source: &str) -> Option<EntryId> {
        let i = self.issuers.iter().position(|s| s == issuer)?;
        let i = u32::try_from(i).ok()?;
        self.by.get(&(i, source.into()))?.parse().ok()
    }

    /// 1 + the largest counter of `writer` (`org@tag`) in the entries' keys: what
    /// [`Document::next_counter_for`] finds by scanning the writer's keys.
    pub fn next_counter(&self, writer: &str) -> u64 {
        self.counters.get(writer).copied().unwrap_or(0) + 1
    }

    /// Number of (issuer, source id) pairs recorded.
    pub fn len(&self) -> usize {
        self.by.len()
    }

    /// Whether no entry has a source.
    pub fn is_empty(&self) -> bool {
        self.by.is_empty()
    }
}

/// Operations on a ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LedgerOp {
    /// Record service done (by the issuing community).
    RecordService {
        /// Volunteer.
        volunteer: VolunteerId,
        /// Activity or post.
        activity: String,
        /// Team.
        team: Option<String>,
        /// Local date (must be in the ledger's year).
        #[schemars(with = "String")]
        date: Date,
        /// Hours (> 0, ≤ 24), rounded to the minute.
        hours: f64,
        /// Evidence reference.
        evidence: Option<String>,
    },
    /// Redeem points (by the volunteer's home community, in its own ledger).
    Redeem {
        /// Volunteer.
        volunteer: VolunteerId,
        /// Item.
        item: String,
        /// Cost (> 0).
        cost: Points,
        /// Outlet.
        outlet: String,
    },
    /// Correct points (by the issuing community).
    Correct {
        /// Volunteer.
        volunteer: VolunteerId,
        /// Entry corrected.
        corrects: Option<EntryId>,
        /// Points to add (negative removes).
        delta: Points,
        /// Why.
        reason: String,
    },
    /// Replace the points rule and star thresholds (the community).
    SetRules(LedgerRules),
    /// Record many services as one change (an import; by the issuing community or an
    /// organiser): at most [`MAX_BATCH_ROWS`] rows, each validated on its own — an invalid
    /// row is reported and the others are written; a row whose source the writer already
    /// recorded in this ledger is skipped; rows past [`BATCH_BYTES`] are deferred. The
    /// effect is [`Effect::Imported`] with one [`RowOutcome`] per row, in order; when no row
    /// is to be written, the error [`LedgerError::NothingToWrite`] carries them.
    RecordServices {
        /// The rows.
        rows: Vec<ServiceRow>,
    },
    /// Add an item to this ledger's points store (the community).
    StoreAdd {
        /// Name, e.g. "5 kg rice".
        name: String,
        /// Cost in points (> 0).
        cost: Points,
        /// Units in stock (≤ 100000).
        stock: u32,
    },
    /// Add units to a store item (the community).
    StoreRestock {
        /// The item.
        item: StoreItemId,
        /// Units added (1 to 100000).
        quantity: u32,
    },
    /// Redeem a volunteer's points for a store item (the home community, in its own
    /// ledger): takes one unit out of stock; refused when out of stock or when the balance
    /// (with expiry) does not cover the item's cost.
    RedeemItem {
        /// Volunteer.
        volunteer: VolunteerId,
        /// The item.
        item: StoreItemId,
        /// Outlet (default "points store").
        #[serde(default)]
        outlet: Option<String>,
    },
    /// Open a check-in session of an activity or post (the community or an organiser):
    /// volunteers check in and out with the code shown on the organiser's screen
    /// ([`sessions`]).
    OpenSession {
        /// Activity or post.
        activity: String,
        /// Team.
        team: Option<String>,
        /// Where.
        place: String,
        /// Planned start.
        start: Timestamp,
        /// Planned end (1 minute to 24 hours after the start).
        end: Timestamp,
    },
    /// Check a volunteer in with the session's current code (on the node that opened it).
    CheckIn {
        /// Session.
        session: crate::ids::SessionId,
        /// Volunteer.
        volunteer: VolunteerId,
        /// The six-digit code shown.
        code: String,
    },
    /// Check a volunteer out with the session's current code.
    CheckOut {
        /// Session.
        session: crate::ids::SessionId,
        /// Volunteer.
        volunteer: VolunteerId,
        /// The six-digit code shown.
        code: String,
    },
    /// Close a session: check out who is still in and write one verified service record
    /// per volunteer (again: only the records still missing).
    CloseSession {
        /// Session.
        session: crate::ids::SessionId,
    },
    /// Record hours by hand for a session (labelled by hand, at most its planned duration).
    RecordSessionHours {
        /// Session.
        session: crate::ids::SessionId,
        /// Volunteer.
        volunteer: VolunteerId,
        /// Hours (> 0, ≤ the planned duration).
        hours: f64,
        /// Evidence reference.
        evidence: Option<String>,
    },
    /// Decline a wrong service record with a reason (the entry's issuer or the community):
    /// kept and shown, counted nowhere.
    Decline {
        /// The entry.
        entry: EntryId,
        /// Why.
        reason: String,
    },
}

/// Errors of ledger operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// Writer is not allowed.
    #[error("{who} may not {what}: only {allowed} may")]
    NotAllowed {
        /// The writer.
        who: Scope,
        /// What it tried.
        what: &'static str,
        /// Who may.
        allowed: Scope,
    },
    /// A redemption of a volunteer of another community.
    #[error(
        "volunteer {volunteer} is not a volunteer of {community}: only the home community redeems"
    )]
    NotHome {
        /// Volunteer.
        volunteer: VolunteerId,
        /// This ledger's community.
        community: Scope,
    },
    /// A correction beyond what one correction may change.
    #[error("a correction may change at most {max} points, got {delta}")]
    CorrectionTooLarge {
        /// The limit (a day of service under the ledger's rule).
        max: Points,
        /// The correction asked for.
        delta: Points,
    },
    /// Hours are not a positive number up to 24.
    #[error("hours must be more than 0 and at most 24, got {0}")]
    InvalidHours(String),
    /// The service date is outside the ledger's year.
    #[error("date {date} is not in this ledger's year {year}")]
    WrongYear {
        /// Date given.
        date: Date,
        /// Ledger year.
        year: i16,
    },
    /// Redemption above the known balance.
    #[error(
        "volunteer {volunteer} has {balance} points known here; redeeming {cost} would overdraw"
    )]
    InsufficientBalance {
        /// Volunteer.
        volunteer: VolunteerId,
        /// Known balance.
        balance: Points,
        /// Requested cost.
        cost: Points,
    },
    /// Zero or negative amounts where positive ones are needed.
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    /// Text field empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// Unknown entry.
    #[error("unknown entry {0}")]
    UnknownEntry(EntryId),
    /// A correction names an entry of another volunteer.
    #[error("entry {entry} belongs to {owner}, not {volunteer}")]
    WrongVolunteer {
        /// The entry.
        entry: Box<EntryId>,
        /// Its volunteer.
        owner: Box<VolunteerId>,
        /// The volunteer named.
        volunteer: Box<VolunteerId>,
    },
    /// Invalid rules.
    #[error("invalid ledger rules: {0}")]
    InvalidRules(String),
    /// An invalid source id.
    #[error("invalid source id: {0}")]
    InvalidSource(String),
    /// A batch with no rows or too many.
    #[error("a batch takes 1 to {max} rows, got {rows}")]
    BatchSize {
        /// Rows given.
        rows: usize,
        /// The limit ([`MAX_BATCH_ROWS`]).
        max: usize,
    },
    /// A record larger than a change may carry.
    #[error("the entry's record has {bytes} bytes, more than {max}")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A service record for a volunteer the home community's registry (held here) does
    /// not know.
    #[error("volunteer {volunteer} is not in {home}'s volunteer registry: register them first")]
    UnknownVolunteer {
        /// The volunteer.
        volunteer: VolunteerId,
        /// Its home community.
        home: Scope,
    },
    /// A service record dated after today (the ledger's zone).
    #[error("service date {date} is in the future (today is {today})")]
    FutureDate {
        /// Date given.
        date: Date,
        /// Today in the ledger's zone.
        today: Date,
    },
    /// A batch of which no row is to be written (every row already imported or invalid):
    /// nothing changed. Carries each row's outcome.
    #[error("nothing to write: every row of the batch was already imported or invalid")]
    NothingToWrite(Vec<RowOutcome>),
    /// A redemption the balance would cover but for points that expired.
    #[error(
        "volunteer {volunteer} has {balance} points; {expired} points expired; redeeming {cost} would overdraw"
    )]
    PointsExpired {
        /// Volunteer.
        volunteer: VolunteerId,
        /// Spendable balance.
        balance: Points,
        /// Points expired unspent.
        expired: Points,
        /// Requested cost.
        cost: Points,
    },
    /// A store item with no unit in stock.
    #[error("store item {item} ({name}) is out of stock ({stock} in stock): restock it first")]
    OutOfStock {
        /// The item.
        item: StoreItemId,
        /// Its name.
        name: String,
        /// Its stock (below zero after concurrent redemptions).
        stock: i64,
    },
    /// No such store item in this ledger.
    #[error("unknown store item {0} in this ledger's points store")]
    UnknownStoreItem(StoreItemId),
    /// A certificate of a volunteer no entry names.
    #[error("no ledger held here names volunteer {volunteer} of {home}")]
    NoService {
        /// Volunteer.
        volunteer: VolunteerId,
        /// Home community.
        home: Scope,
    },
    /// A check-in session refused the operation.
    #[error(transparent)]
    Session(Box<SessionError>),
}

/// A row of a leaderboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// Volunteer.
    pub volunteer: VolunteerId,
    /// Points earned.
    pub earned: Points,
    /// Minutes served.
    pub minutes: u64,
    /// Star level.
    pub stars: u8,
}

/// Read view of a ledger.
pub struct Ledger<'a> {
    doc: &'a Document,
}

impl<'a> Ledger<'a> {
    /// Wraps a ledger document.
    pub fn new(doc: &'a Document) -> Self {
        Self { doc }
    }
    /// The owning (issuing) community.
    pub fn community(&self) -> &OrgId {
        &self.doc.header().owner
    }
    /// The year.
    pub fn year(&self) -> Option<i16> {
        self.doc.header().year
    }
    /// The rules (default if unreadable).
    pub fn rules(&self) -> LedgerRules {
        self.doc
            .get::<LedgerRules>("meta", "rules")
            .ok()
            .flatten()
            .unwrap_or_default()
    }
    /// The entry in which `issuer` recorded source id `source` ([`Entry::source`]), if any.
    pub fn imported(&self, issuer: &Scope, source: &str) -> Option<EntryId> {
        self.doc
            .with_index(EntryIndex::build, |ix: &EntryIndex| ix.get(issuer, source))
    }
    /// All entries in id order.
    pub fn entries(&self) -> Vec<(EntryId, Entry)> {
        entries_of(self.doc)
    }
    /// A page of entries: at most `limit`, with ids after `after` in key order (the order
    /// of [`entries`](Self::entries)); reads only that page.
    pub fn entries_after(&self, after: Option<&EntryId>, limit: usize) -> Vec<(EntryId, Entry)> {
        let after = after.map(ToString::to_string);
        self.doc
            .records_after::<Entry>("entries", after.as_deref(), limit)
            .into_iter()
            .filter_map(|(k, e)| k.parse().ok().map(|id| (id, e)))
            .collect()
    }
    /// Spendable balance at `now` from this ledger alone (expiry applied, declines excluded).
    pub fn balance(&self, v: &VolunteerId, now: Timestamp) -> Points {
        balance_across(std::iter::once(self.doc), v, now)
    }
    /// Leaderboard of this ledger: volunteers by points earned here, optionally only service
    /// in `team`, highest first (ties by id).
    pub fn leaderboard(&self, team: Option<&str>) -> Vec<Standing> {
        leaderboard_across(std::iter::once(self.doc), &self.rules(), |_| true, team)
    }
}

/// The entries that count in balances, stars, leaderboards, certificates and the
/// redemption check: all but the declined (a declined entry counts nowhere).
pub(crate) fn counted(doc: &Document) -> Vec<(EntryId, Entry)> {
    let declined = sessions::declined_set(doc);
    let mut all = entries_of(doc);
    if !declined.is_empty() {
        all.retain(|(id, _)| !declined.contains(id));
    }
    all
}

fn entries_of(doc: &Document) -> Vec<(EntryId, Entry)> {
    doc.records::<Entry>("entries")
        .into_iter()
        .filter_map(|(k, e)| k.parse().ok().map(|id| (id, e)))
        .collect()
}

fn ledgers<'a>(docs: impl IntoIterator<Item = &'a Document>) -> impl Iterator<Item = &'a Document> {
    docs.into_iter().filter(|d| d.kind() == DocKind::Ledger)
}

/// A volunteer's spendable balance at `now` over every ledger in `docs`, whatever home the
/// entries name: for each home community named, [`points_state`]'s balance (expiry
/// applied, declined entries excluded) on that home's local day, summed.
pub fn balance_across<'a>(
    docs: impl IntoIterator<Item = &'a Document> + Clone,
    volunteer: &VolunteerId,
    now: Timestamp,
) -> Points {
    let mut homes: Vec<Scope> = ledgers(docs.clone())
        .flat_map(counted)
        .filter(|(_, e)| &e.volunteer == volunteer)
        .map(|(_, e)| e.home)
        .collect();
    homes.sort();
    homes.dedup();
    homes.iter().fold(Points(0), |acc, home| {
        acc + balance_at_home(docs.clone(), home, volunteer, now)
    })
}

/// The spendable balance at `now` of `volunteer` of home community `home` over every ledger
/// in `docs` — exactly what a redemption is checked against ([`points_at`]: expiry
/// applied on the home's local day, declined entries excluded; only entries naming that
/// home count, as a same-code community elsewhere has other volunteers).
pub fn balance_at_home<'a>(
    docs: impl IntoIterator<Item = &'a Document> + Clone,
    home: &Scope,
    volunteer: &VolunteerId,
    now: Timestamp,
) -> Points {
    points_at(docs, home, volunteer, now).balance
}

/// Leaderboard over every ledger in `docs` of volunteers that pass `who` (e.g. a home
/// community), counting only service in `team` if given. Highest earned first.
pub fn leaderboard_across<'a>(
    docs: impl IntoIterator<Item = &'a Document>,
    rules: &LedgerRules,
    who: impl Fn(&VolunteerId) -> bool,
    team: Option<&str>,
) -> Vec<Standing> {
    let mut by: BTreeMap<VolunteerId, (Points, u64)> = BTreeMap::new();
    for (_, e) in ledgers(docs).flat_map(counted) {
        if !who(&e.volunteer) || team.is_some_and(|t| e.team() != Some(t)) {
            continue;
        }
        let slot = by.entry(e.volunteer.clone()).or_default();
        slot.0 = slot.0 + e.earned_delta();
        if let EntryBody::Service { minutes, .. } = e.body {
            slot.1 += u64::from(minutes);
        }
    }
    let mut rows: Vec<Standing> = by
        .into_iter()
        .map(|(volunteer, (earned, minutes))| Standing {
            stars: rules.stars(earned),
            volunteer,
            earned,
            minutes,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.earned
            .cmp(&a.earned)
            .then_with(|| a.volunteer.cmp(&b.volunteer))
    });
    rows
}

fn non_empty(s: &str, what: &'static str) -> Result<(), LedgerError> {
    if s.trim().is_empty() {
        Err(LedgerError::Empty(what))
    } else {
        Ok(())
    }
}

/// A new service ledger of `community` for `year` under `rules` (owned by it; `owner` is
/// the creating organisation, which the genesis policy requires to be the community).
pub(crate) fn genesis(
    owner: OrgId,
    street: OrgId,
    community: OrgId,
    year: i16,
    rules: LedgerRules,
) -> Result<crate::document::Genesis, LedgerError> {
    rules.validate()?;
    let title = format!("{community} service ledger {year}");
    let header = crate::document::DocHeader::new(
        DocKind::Ledger,
        owner,
        street,
        Some(community),
        Some(year),
        title,
        crate::time::Zone::shanghai(),
    );
    Ok((header, vec![Put::new("meta", "rules", &rules)]))
}

impl crate::kind::KindOp for LedgerOp {
    fn split_personal(self) -> (Self, Option<crate::personal::PersonalData>) {
        // No operation of this kind carries personal data.
        (self, None)
    }
}

/// Validates a ledger operation and returns the record puts.
pub fn plan(
    doc: &Document,
    ctx: &Ctx<'_>,
    op: LedgerOp,
) -> Result<(Vec<Put>, Effect, String), LedgerError> {
    let ledger = Ledger::new(doc);
    let me = ctx.scope;
    let owner = doc.header().owner_scope();
    let require = |what: &'static str, allowed: &Scope| {
        if me != allowed {
            return Err(LedgerError::NotAllowed {
                who: me.clone(),
                what,
                allowed: allowed.clone(),
            });
        }
        Ok(())
    };
    // A volunteer of another community of the same street, unless it is this one's.
    let home_of = |v: &VolunteerId| {
        if Some(v.org()) == owner.org() {
            owner.clone()
        } else {
            doc.header().street_scope().child(v.org().clone())
        }
    };
    let entry = |volunteer: VolunteerId, body: EntryBody| Entry {
        home: home_of(&volunteer),
        volunteer,
        body,
        issuer: me.clone(),
        at: ctx.now,
        source: None,
    };
    let append = |e: Entry, msg: String| {
        let id = EntryId(ctx.author.next_id(doc, "entries", ""));
        Ok((
            vec![Put::new("entries", id.to_string(), &e)],
            Effect::Entry(id),
            msg,
        ))
    };
    match op {
        LedgerOp::RecordService {
            volunteer,
            activity,
            team,
            date,
            hours,
            evidence,
        } => {
            if !is_organiser(doc.header(), me) {
                require("record service in this ledger", &owner)?;
            }
            let minutes = service_minutes(&ledger, &activity, date, hours)?;
            served(ctx, doc, &home_of(&volunteer), &volunteer, date)?;
            let points = sessions::hand_points(&ledger.rules(), minutes);
            let msg = format!("service {volunteer}: {activity} {minutes} min = {points} pts");
            append(
                entry(
                    volunteer,
                    EntryBody::Service {
                        activity,
                        team,
                        date,
                        minutes,
                        points,
                        evidence,
                    },
                ),
                msg,
            )
        }
        LedgerOp::Redeem {
            volunteer,
            item,
            cost,
            outlet,
        } => {
            require("write redemptions in this ledger", &owner)?;
            if volunteer.org() != ledger.community() {
                return Err(LedgerError::NotHome {
                    volunteer,
                    community: owner,
                });
            }
            non_empty(&item, "item")?;
            if cost.0 <= 0 {
                return Err(LedgerError::InvalidAmount(format!(
                    "redemption cost must be positive, got {cost}"
                )));
            }
            store::check_balance(ctx, &owner, &volunteer, cost)?;
            let msg = format!("redeem {volunteer}: {item} for {cost} pts");
            let store_item = None;
            let body = EntryBody::Redemption {
                item,
                cost,
                outlet,
                store_item,
            };
            append(entry(volunteer, body), msg)
        }
        LedgerOp::StoreAdd { name, cost, stock } => {
            require("keep the points store of this ledger", &owner)?;
            store::plan_add(doc, ctx, name, cost, stock)
        }
        LedgerOp::StoreRestock { item, quantity } => {
            require("keep the points store of this ledger", &owner)?;
            store::plan_restock(doc, ctx, item, quantity)
        }
        LedgerOp::RedeemItem {
            volunteer,
            item,
            outlet,
        } => {
            require("write redemptions in this ledger", &owner)?;
            if volunteer.org() != ledger.community() {
                return Err(LedgerError::NotHome {
                    volunteer,
                    community: owner,
                });
            }
            let it = store::in_stock(doc, &item)?;
            store::check_balance(ctx, &owner, &volunteer, it.cost)?;
            let msg = format!("redeem {volunteer}: {} ({item}) for {} pts", it.name, it.cost);
            let body = EntryBody::Redemption {
                item: it.name,
                cost: it.cost,
                outlet: outlet.unwrap_or_else(|| "points store".into()),
                store_item: Some(item),
            };
            append(entry(volunteer, body), msg)
        }
        LedgerOp::Correct {
            volunteer,
            corrects,
            delta,
            reason,
        } => {
            require("correct entries in this ledger", &owner)?;
            non_empty(&reason, "reason")?;
            if delta.0 == 0 {
                return Err(LedgerError::InvalidAmount(
                    "a correction of 0 points".into(),
                ));
            }
            let max = ledger.rules().max_correction();
            if delta.0.abs() > max.0 {
                return Err(LedgerError::CorrectionTooLarge { max, delta });
            }
            if let Some(target) = &corrects {
                let e: Entry = doc
                    .get("entries", &target.to_string())
                    .ok()
                    .flatten()
                    .ok_or_else(|| LedgerError::UnknownEntry(target.clone()))?;
                if e.volunteer != volunteer {
                    return Err(LedgerError::WrongVolunteer {
                        entry: Box::new(target.clone()),
                        owner: Box::new(e.volunteer),
                        volunteer: Box::new(volunteer),
                    });
                }
            }
            let msg = format!("correct {volunteer}: {delta} pts ({reason})");
            append(
                entry(
                    volunteer,
                    EntryBody::Correction {
                        corrects,
                        delta,
                        reason,
                    },
                ),
                msg,
            )
        }
        LedgerOp::RecordServices { rows } => {
            if !is_organiser(doc.header(), me) {
                require("record service in this ledger", &owner)?;
            }
            if rows.is_empty() || rows.len() > MAX_BATCH_ROWS {
                return Err(LedgerError::BatchSize {
                    rows: rows.len(),
                    max: MAX_BATCH_ROWS,
                });
            }
            let rules = ledger.rules();
            let mut puts = Vec::new();
            let mut outcomes = Vec::with_capacity(rows.len());
            // Sources written by this batch (an id repeated in the file).
            let mut here: HashMap<String, EntryId> = HashMap::new();
            let mut bytes = 0usize;
            let mut full = false;
            doc.with_index(EntryIndex::build, |known: &EntryIndex| {
                // Numbered from the index's counter of this writer, then counted up.
                let first = RecordId {
                    org: ctx.author.org.clone(),
                    tag: Some(ctx.author.tag()),
                    n: 0,
                };
                let mut next = known.next_counter(&first.writer());
                for row in rows {
                    if full {
                        outcomes.push(RowOutcome::Deferred);
                        continue;
                    }
                    let minutes = match service_minutes(&ledger, &row.activity, row.date, row.hours)
                        .and_then(|m| {
                            served(ctx, doc, &home_of(&row.volunteer), &row.volunteer, row.date)
                                .map(|()| m)
                        })
                        .and_then(|m| {
                            row.source
                                .as_deref()
                                .map_or(Ok(()), check_source)
                                .map(|()| m)
                        })
                        .and_then(|m| match row.source.as_deref() {
                            Some(s) if sessions::reserved_source(s) => {
                                Err(LedgerError::InvalidSource(format!(
                                    "{s:?}: sources starting session: or hand: are written by check-in sessions"
                                )))
                            }
                            _ => Ok(m),
                        }) {
                        Ok(m) => m,
                        Err(e) => {
                            outcomes.push(RowOutcome::Rejected {
                                error: e.to_string(),
                            });
                            continue;
                        }
                    };
                    if let Some(src) = &row.source
                        && let Some(id) = here.get(src).cloned().or_else(|| known.get(me, src))
                    {
                        outcomes.push(RowOutcome::AlreadyImported { entry: id });
                        continue;
                    }
                    let mut e = entry(
                        row.volunteer,
                        EntryBody::Service {
                            activity: row.activity,
                            team: row.team,
                            date: row.date,
                            minutes,
                            points: sessions::hand_points(&rules, minutes),
                            evidence: row.evidence,
                        },
                    );
                    e.source = row.source;
                    let id = EntryId(RecordId {
                        org: first.org.clone(),
                        tag: first.tag,
                        n: next,
                    });
                    let put = Put::new("entries", id.to_string(), &e);
                    if put.value.len() > MAX_RECORD_BYTES {
                        outcomes.push(RowOutcome::Rejected {
                            error: LedgerError::TooLarge {
                                bytes: put.value.len(),
                                max: MAX_RECORD_BYTES,
                            }
                            .to_string(),
                        });
                        continue;
                    }
                    let size = put.key.len() + put.value.len();
                    if !puts.is_empty() && bytes + size > BATCH_BYTES {
                        full = true;
                        outcomes.push(RowOutcome::Deferred);
                        continue;
                    }
                    bytes += size;
                    next += 1;
                    if let Some(src) = e.source {
                        here.insert(src, id.clone());
                    }
                    puts.push(put);
                    outcomes.push(RowOutcome::Recorded { entry: id });
                }
            });
            if puts.is_empty() {
                return Err(LedgerError::NothingToWrite(outcomes));
            }
            let count = |f: fn(&RowOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
            let msg = format!(
                "import {} service records ({} already imported, {} rejected, {} deferred)",
                puts.len(),
                count(|o| matches!(o, RowOutcome::AlreadyImported { .. })),
                count(|o| matches!(o, RowOutcome::Rejected { .. })),
                count(|o| matches!(o, RowOutcome::Deferred)),
            );
            Ok((puts, Effect::Imported(outcomes), msg))
        }
        op @ (LedgerOp::OpenSession { .. }
        | LedgerOp::CheckIn { .. }
        | LedgerOp::CheckOut { .. }
        | LedgerOp::CloseSession { .. }
        | LedgerOp::RecordSessionHours { .. }
        | LedgerOp::Decline { .. }) => sessions::plan(doc, ctx, op, &entry),
        LedgerOp::SetRules(rules) => {
            require("change the rules of this ledger", &owner)?;
            rules.validate()?;
            Ok((
                vec![Put::new("meta", "rules", &rules)],
                Effect::Done,
                "ledger rules".into(),
            ))
        }
    }
}

/// Checks a service's activity, hours and date; its minutes (hours rounded to the minute).
fn service_minutes(
    ledger: &Ledger<'_>,
    activity: &str,
    date: Date,
    hours: f64,
) -> Result<u32, LedgerError> {
    non_empty(activity, "activity")?;
    if !hours.is_finite() || hours <= 0.0 || hours > 24.0 {
        return Err(LedgerError::InvalidHours(hours.to_string()));
    }
    if let Some(year) = ledger.year()
        && date.year() != year
    {
        return Err(LedgerError::WrongYear { date, year });
    }
    // Invariant: 0 < hours ≤ 24, so minutes fit easily in u32.
    Ok((hours * 60.0).round() as u32)
}

/// Checks a service record's volunteer and date on a node that holds a volunteer registry
/// (the ledger's community's, or the volunteer's home's): the date not after today (the
/// ledger's zone, at the writer's clock), and the volunteer known to its home community's
/// registry when that one is held here. Where neither registry is held, the earlier rule
/// stands (any well-formed id, any date in the ledger's year).
fn served(
    ctx: &Ctx<'_>,
    doc: &Document,
    home: &Scope,
    volunteer: &VolunteerId,
    date: Date,
) -> Result<(), LedgerError> {
    let at_home = (ctx.volunteer_known)(ctx.docs, home, volunteer);
    let here = (ctx.volunteer_known)(ctx.docs, &doc.header().owner_scope(), volunteer);
    if at_home.is_none() && here.is_none() {
        return Ok(());
    }
    if let Ok((today, _)) = ctx.now.local(&doc.header().zone)
        && date > today
    {
        return Err(LedgerError::FutureDate { date, today });
    }
    if at_home == Some(false) {
        return Err(LedgerError::UnknownVolunteer {
            volunteer: volunteer.clone(),
            home: home.clone(),
        });
    }
    Ok(())
}

/// Whether `who` is an organiser of the ledger's community: a unit or partner it certified
/// (a scope one below the community's), who may record service in its ledger.
pub(crate) fn is_organiser(h: &crate::document::DocHeader, who: &Scope) -> bool {
    policy::is_organiser_scope(h, who)
}

/// Key shape and record type per map.
pub(crate) fn check_record(map: &str, key: &str, value: &str) -> Result<(), String> {
    match (map, key) {
        ("meta", "rules") => decode::<LedgerRules>(value)?
            .validate()
            .map_err(|e| e.to_string()),
        ("meta", k) if store::is_store_key(k) => store::check_record(k, value),
        ("meta", _) => sessions::check_record(key, value)
            .unwrap_or_else(|| Err(format!("a ledger has no record {map}/{key}"))),
        ("entries", _) => {
            let [k] = key_parts::<1>(key)?;
            let entry_id = id::<EntryId>(k)?;
            let e = decode::<Entry>(value)?;
            if e.issuer.org() != Some(entry_id.org()) {
                return Err(format!("entry {entry_id} names issuer {}", e.issuer));
            }
            if e.home.org() != Some(e.volunteer.org()) {
                return Err(format!(
                    "entry {entry_id} names home {} for volunteer {}",
                    e.home, e.volunteer
                ));
            }
            if let Some(source) = &e.source {
                if !matches!(e.body, EntryBody::Service { .. }) {
                    return Err(format!(
                        "entry {entry_id}: only service records carry a source id"
                    ));
                }
                check_source(source).map_err(|err| format!("entry {entry_id}: {err}"))?;
            }
            match &e.body {
                EntryBody::Service {
                    minutes, points, ..
                } if *minutes == 0 || *minutes > 24 * 60 || points.0 < 0 => {
                    return Err("service must be 1 minute to 24 hours with points ≥ 0".into());
                }
                EntryBody::Redemption { cost, .. } if cost.0 <= 0 => {
                    return Err("redemption cost must be positive".into());
                }
                _ => {}
            }
            Ok(())
        }
        _ => Err(format!("a ledger has no record {map}/{key}")),
    }
}

/// The ledger kind's contract (see [`crate::kind`]).
pub struct LedgerContract;

/// This module's [`crate::kind::Kind`].
pub static KIND: LedgerContract = LedgerContract;

crate::kind::kind_basics!(Ledger, LedgerContract, LedgerOp);

impl crate::kind::Kind for LedgerContract {
    crate::kind::kind_basics!(Ledger, LedgerOp);
    /// Performers, as its rules below: service records the community or an organiser it
    /// certified; redemptions, corrections and rules the community.
    fn performers(&self, op: &str) -> Option<&'static [crate::policy::Standing]> {
        use crate::policy::Standing::*;
        Some(match op {
            "record_service" | "record_services" => &[Owner, Organiser],
            "open_session" | "check_in" | "check_out" | "close_session"
            | "record_session_hours" | "decline" => &[Owner, Organiser],
            "redeem" | "correct" | "set_rules" => &[Owner],
            "store_add" | "store_restock" | "redeem_item" => &[Owner],
            _ => return None,
        })
    }
    /// No operation of a ledger is performed by whom its records name.
    fn named(&self, _: &Document, _: &crate::cert::Principal) -> bool {
        false
    }
    /// Receivers: its community and organisers, its street and the communities of that street.
    fn receives(&self, r: &crate::kind::Relation) -> bool {
        r.own || r.its_street || r.community_of_street
    }
    fn write_once(&self, map: &str, key: &str) -> bool {
        map == "entries"
            || (map == "meta" && (store::is_store_key(key) || key.starts_with("declines/")))
    }
    fn needs_history(&self, _map: &str, _key: &str) -> bool {
        false
    }
    fn authorize(
        &self,
        rules: &crate::policy::Rules<'_>,
        w: &crate::document::Write,
    ) -> Result<(), String> {
        rules.ledger(w)
    }
    fn may_create(
        &self,
        header: &crate::document::DocHeader,
        who: &crate::cert::Principal,
    ) -> Result<(), String> {
        crate::policy::community_creates(header, who)
    }
    fn audience(
        &self,
        doc: &Document,
        map: &str,
        key: &str,
    ) -> Option<Result<crate::personal::Audience, crate::personal::PersonalError>> {
        use crate::personal::{Audience, PersonalError, canonical, unknown_record};
        // A volunteer's identity: the home community (the ledger's) only.
        (map == "volunteers").then(|| {
            let id: VolunteerId = canonical(key).ok_or_else(|| unknown_record(doc, map, key))?;
            let h = doc.header();
            if id.org() != &h.owner {
                return Err(PersonalError::NotHome {
                    volunteer: id.to_string(),
                    community: h.owner.to_string(),
                });
            }
            let home = h.owner_scope();
            Ok(Audience::new(vec![home.clone()], home, "volunteer"))
        })
    }
    fn receives_for_content(&self, _doc: &Document, _who: &crate::cert::Principal) -> bool {
        // Nothing in this kind's documents grants more than the relation.
        false
    }
}

/// This kind's write policy (reached through [`Kind::authorize`](crate::kind::Kind::authorize)).
impl policy::Rules<'_> {
    pub(crate) fn ledger(&self, w: &Write) -> policy::Rule {
        let (h, who) = (self.h, self.who);
        match w.map.as_str() {
            "meta" if store::is_store_key(&w.key) => store::authorize(self, w),
            "meta" if w.key != "rules" => sessions::authorize(self, w),
            "meta" => self.owner("set the rules"),
            "entries" => {
                let id: EntryId = policy::first_id(&w.key)?;
                self.own_number(&id.0)?;
                let e: Entry = policy::decode(w)?;
                self.names_signer(&e.issuer, "issuer")?;
                let rules: LedgerRules = self
                    .doc
                    .get_all_at::<LedgerRules>("meta", "rules", self.deps)
                    .pop()
                    .ok_or("the ledger's rules are not in the change's history")?;
                match &e.body {
                    EntryBody::Service {
                        minutes,
                        points,
                        date,
                        ..
                    } => {
                        let organiser = matches!(who.role, Some(Role::Unit | Role::Partner))
                            && is_organiser(h, &who.scope);
                        policy::require(policy::is_owner(h, who) || organiser, || {
                            format!(
                                "service records in {}'s ledger come from {} or an organiser it certified",
                                h.owner_scope(),
                                h.owner_scope()
                            )
                        })?;
                        let due = sessions::due_points(self, &rules, &e, *minutes)?;
                        policy::require(*points == due, || {
                            format!(
                                "{minutes} minutes earn {due} points under the ledger's rule, not {points}"
                            )
                        })?;
                        policy::require(h.year.is_none_or(|y| date.year() == y), || {
                            format!(
                                "date {date} is not in this ledger's year {}",
                                h.year.unwrap_or_default()
                            )
                        })
                    }
                    EntryBody::Correction {
                        corrects, delta, ..
                    } => {
                        policy::require(policy::is_owner(h, who), || {
                            format!("only {} corrects entries of its ledger", h.owner_scope())
                        })?;
                        let max = rules.max_correction();
                        policy::require(delta.0 != 0 && delta.0.abs() <= max.0, || {
                            format!("a correction must change 1 to {max} points, got {delta}")
                        })?;
                        if let Some(target) = corrects {
                            let t = self
                                .doc
                                .get_all_at::<Entry>("entries", &target.to_string(), self.deps)
                                .pop()
                                .ok_or_else(|| {
                                    format!(
                                        "corrected entry {target} is not in the change's history"
                                    )
                                })?;
                            policy::require(t.volunteer == e.volunteer, || {
                                format!(
                                    "entry {target} belongs to {}, not {}",
                                    t.volunteer, e.volunteer
                                )
                            })?;
                        }
                        Ok(())
                    }
                    EntryBody::Redemption { .. } => {
                        policy::require(
                            policy::is_owner(h, who) && e.home == h.owner_scope(),
                            || {
                                format!(
                                    "only the home community {} redeems points of volunteer {}, in its own ledger",
                                    e.home, e.volunteer
                                )
                            },
                        )?;
                        store::check_redemption(self, &e)
                    }
                }
            }
            _ => Err("unknown map".into()),
        }
    }
}

impl LedgerError {
    /// The class of this error.
    pub fn class(&self) -> crate::class::ErrorClass {
        use LedgerError as E;
        match self {
            E::NotAllowed { .. } | E::NotHome { .. } => crate::class::ErrorClass::Unauthorized,
            E::UnknownEntry(_) | E::UnknownVolunteer { .. } => crate::class::ErrorClass::NotFound,
            E::UnknownStoreItem(_) | E::NoService { .. } => crate::class::ErrorClass::NotFound,
            E::InsufficientBalance { .. } | E::NothingToWrite(_) => {
                crate::class::ErrorClass::Conflict
            }
            E::PointsExpired { .. } | E::OutOfStock { .. } => crate::class::ErrorClass::Conflict,
            E::CorrectionTooLarge { .. }
            | E::InvalidHours(_)
            | E::WrongYear { .. }
            | E::InvalidAmount(_)
            | E::Empty(_)
            | E::WrongVolunteer { .. }
            | E::InvalidRules(_)
            | E::InvalidSource(_)
            | E::FutureDate { .. }
            | E::BatchSize { .. }
            | E::TooLarge { .. } => crate::class::ErrorClass::Invalid,
            E::Session(e) => e.class(),
        }
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;

/// In Chinese, for the people who read refusals ([`crate::zh`]).
impl crate::zh::Chinese for LedgerError {
    fn zh(&self) -> String {
        match self {
            LedgerError::NotAllowed { who, what, allowed } => {
                format!("{who} 无权{}：只有 {allowed} 可以", crate::zh::word(what))
            }
            LedgerError::NotHome {
                volunteer,
                community,
            } => format!("志愿者 {volunteer} 不是 {community} 的志愿者：只有所属社区可以兑换积分"),
            LedgerError::CorrectionTooLarge { max, delta } => {
                format!("一次更正最多改动 {max} 积分，收到 {delta}")
            }
            LedgerError::InvalidHours(h) => format!("服务时长须大于 0 且不超过 24 小时，收到 {h}"),
            LedgerError::WrongYear { date, year } => {
                format!("日期 {date} 不在本账本的年度 {year} 内")
            }
            LedgerError::InsufficientBalance {
                volunteer,
                balance,
                cost,
            } => format!(
                "志愿者 {volunteer} 在本节点可见的积分为 {balance}；兑换 {cost} 积分将透支"
            ),
            LedgerError::InvalidAmount(m) => format!("数额无效：{m}"),
            LedgerError::Empty(f) => format!("{}不能为空", crate::zh::word(f)),
            LedgerError::UnknownEntry(e) => format!("未知的记录 {e}"),
            LedgerError::WrongVolunteer {
                entry,
                owner,
                volunteer,
            } => format!("记录 {entry} 属于 {owner}，不是 {volunteer}"),
            LedgerError::InvalidRules(m) => format!("积分规则无效：{m}"),
            LedgerError::InvalidSource(m) => format!("来源编号无效：{m}"),
            LedgerError::BatchSize { rows, max } => {
                format!("一批可写 1 到 {max} 行，收到 {rows} 行")
            }
            LedgerError::TooLarge { bytes, max } => {
                format!("该记录有 {bytes} 字节，超过 {max} 字节")
            }
            LedgerError::UnknownVolunteer { volunteer, home } => {
                format!("志愿者 {volunteer} 不在 {home} 的志愿者名册中：请先登记")
            }
            LedgerError::FutureDate { date, today } => {
                format!("服务日期 {date} 在将来（今天是 {today}）")
            }
            LedgerError::NothingToWrite(_) => {
                "没有可写入的内容：这批的每一行都已导入过或无效".to_string()
            }
            LedgerError::PointsExpired {
                volunteer,
                balance,
                expired,
                cost,
            } => format!(
                "志愿者 {volunteer} 可用积分 {balance}；已过期 {expired} 积分；兑换 {cost} 积分将透支"
            ),
            LedgerError::OutOfStock { item, name, stock } => {
                format!("积分超市商品 {item}（{name}）已无库存（库存 {stock}）：请先补货")
            }
            LedgerError::Session(e) => crate::zh::Chinese::zh(e.as_ref()),
            LedgerError::UnknownStoreItem(item) => {
                format!("本台账的积分超市中没有商品 {item}")
            }
            LedgerError::NoService { volunteer, home } => {
                format!("本节点所持台账中没有 {home} 的志愿者 {volunteer} 的记录")
            }
        }
    }
}
