//! Volunteer registry: one document per community listing its volunteers (志愿者), its
//! volunteer teams and the units paired with it (双报到: in-service party members report to
//! the community through their unit).
//!
//! # Records and who writes them
//!
//! | map | key | record | written by |
//! |---|---|---|---|
//! | `teams` | `<team>` | [`Team`] | the community |
//! | `pairings` | `<unit scope, '/' as '+'>` | [`Pairing`] (a unit reporting to the community) | the community |
//! | `volunteers` | `<volunteer>` | [`Volunteer`] (public fields only) | the community; a new id numbered by the signer |
//! | `history` | `<volunteer>/<event>` | [`Event`] | the community, numbered by the signer; write-once |
//! | `releases` | `<volunteer>` | [`SignedRelease`] (the community lets a volunteer move to another) | the community; write-once |
//!
//! A volunteer's name, phone and ID number are a personal record (`volunteers/<volunteer>`,
//! [`crate::personal::PersonalData::Volunteer`]) held only by the home community's nodes;
//! the document holds the masked name ([`crate::personal::mask_name`]) and the public
//! fields, and receivers refuse an unmasked name.
//!
//! # Moving home
//!
//! Needs both communities' signatures without any cross-document lookup on receive: the
//! origin writes a [`SignedRelease`] (signed by its node's key over the release: volunteer,
//! origin, destination, time) in `releases/<volunteer>` and sets the volunteer `moved`; the
//! destination registers the volunteer under a new id of its own whose record carries that
//! release ([`Volunteer::arrived`]). Receivers of the destination's registry verify the
//! release's signature and that its signer was certified for the origin community at the
//! release's time (the trust store), that it names this registry's community as
//! destination, and that it is not dated after the change.
//!
//! # Merge behaviour
//!
//! Only the community writes, so concurrent edits are two nodes of one community: a
//! volunteer record is last-writer-wins (automerge's deterministic choice), history events
//! each have their own key and all survive, releases are write-once. Duplicate phones are
//! checked by the home node, which alone holds the phones (like a redemption's balance,
//! that is the writer's check).

use std::collections::BTreeMap;

mod rotas;

pub use rotas::{
    Assignment, ClockTime, MAX_NEEDED, MAX_RANGE_DAYS, MAX_SHIFTS, Occurrence, Rota, RotaError,
    Rotas, Served, ServedShift, Shift, Swap, SwapDecision, SwapView,
};

use serde::{Deserialize, Serialize};

use crate::document::{DocKind, Document, Put, Write};
use crate::identity::{Keypair, Signature, verify};
use crate::ids::{NodeId, OrgId, RecordId, Scope, VolunteerId};
use crate::kind::{Ctx, Effect};
use crate::personal::{PersonalData, mask_name};
use crate::policy;
use crate::schema::{decode, id, key_parts};
use crate::time::Timestamp;

pub mod import;
pub use import::{MAX_ROSTER_ROWS, RosterOutcome, RosterRow};

/// The record maps of a volunteer registry.
pub const MAPS: &[&str] = &[
    "history",
    "pairings",
    "releases",
    "teams",
    "volunteers",
    // Duty rotas (volunteers/rotas.rs, `rotas::ROTA_MAPS`).
    "rota_assignments",
    "rota_served",
    "rota_swap_decisions",
    "rota_swaps",
    "rotas",
];
/// Record maps added after the kind's first version: the duty rotas' (a registry created
/// before them lacks them, and takes no rota until a new registry is made).
pub const LATE_MAPS: &[&str] = &[
    "rota_assignments",
    "rota_served",
    "rota_swap_decisions",
    "rota_swaps",
    "rotas",
];

/// Most teams or posts one volunteer holds.
pub const MAX_POSTS: usize = 16;

/// A volunteer team (e.g. security patrol, dispute mediation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// Display name.
    pub name: String,
    /// Who wrote it.
    pub by: Scope,
    /// When.
    pub at: Timestamp,
}

/// A unit reporting to the community (its in-service party members register here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pairing {
    /// The unit, by its certified scope.
    pub unit: Scope,
    /// Whether the pairing stands.
    pub active: bool,
    /// Note (the agreement, its date …).
    pub note: String,
    /// Who wrote it.
    pub by: Scope,
    /// When.
    pub at: Timestamp,
}

/// What kind of volunteer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum VolunteerType {
    /// A resident of the community.
    Resident,
    /// An in-service party member reporting through a paired unit (双报到): holds at least
    /// one post.
    InService,
}

/// A post a volunteer holds in a team.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Post {
    /// The team (its code).
    pub team: String,
    /// The duty, e.g. "party class", "night patrol".
    pub duty: String,
}

/// A volunteer's status.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Serving.
    Active,
    /// Paused for a while.
    Paused,
    /// Moved to another community (only by a release).
    Moved,
    /// Left.
    Left,
}

impl Status {
    /// Label for reports.
    pub fn label(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Moved => "moved",
            Status::Left => "left",
        }
    }
}

/// A volunteer's public record (the name only masked; phone and ID number never here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volunteer {
    /// Masked name, e.g. `李**`.
    pub display: String,
    /// Resident or in-service party member.
    pub kind: VolunteerType,
    /// The reporting unit of an in-service member.
    pub unit: Option<Scope>,
    /// Teams (codes).
    pub teams: Vec<String>,
    /// Posts.
    pub posts: Vec<Post>,
    /// Status.
    pub status: Status,
    /// The origin's release, for a volunteer who moved here from another community.
    pub arrived: Option<SignedRelease>,
    /// Who wrote it.
    pub by: Scope,
    /// When.
    pub at: Timestamp,
}

/// What happened to a volunteer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Change {
    /// Registered.
    Registered,
    /// Teams, posts or type changed.
    Updated,
    /// Status set.
    Status {
        /// The new status.
        to: Status,
        /// Why.
        reason: String,
    },
    /// Released to another community.
    MovedOut {
        /// The destination.
        to: Scope,
    },
    /// Arrived from another community.
    MovedIn {
        /// The origin.
        from: Scope,
        /// The id it had there.
        previous: VolunteerId,
    },
}

/// One history event of a volunteer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What happened.
    pub change: Change,
    /// Who wrote it.
    pub by: Scope,
    /// When.
    pub at: Timestamp,
}

/// The origin community's consent to a volunteer moving home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The volunteer (its id at the origin).
    pub volunteer: VolunteerId,
    /// The origin community.
    pub from: Scope,
    /// The destination community.
    pub to: Scope,
    /// When.
    pub at: Timestamp,
}

/// A [`Release`] signed by a node of the origin community.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRelease {
    /// The release.
    pub release: Release,
    /// The signing key.
    pub by: NodeId,
    /// Signature over [`SignedRelease::signed_bytes`].
    pub sig: Signature,
}

impl SignedRelease {
    fn bytes_of(release: &Release, by: &NodeId) -> Vec<u8> {
        let mut out = b"linli/release/1\0".to_vec();
        // Invariant: serializing ids, scopes and a timestamp to JSON cannot fail.
        out.extend(serde_json::to_vec(&(release, by)).unwrap_or_default());
        out
    }
    /// Signs `release` with `key`.
    pub fn sign(key: &Keypair, release: Release) -> Self {
        let by = key.node_id();
        let sig = key.sign(&Self::bytes_of(&release, &by));
        SignedRelease { release, by, sig }
    }
    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        Self::bytes_of(&self.release, &self.by)
    }
    /// Checks the signature (not who signed: see [`check_release`]).
    pub fn verify(&self) -> Result<(), String> {
        verify(&self.by, &self.signed_bytes(), &self.sig).map_err(|_| {
            format!(
                "the release of {} has a bad signature",
                self.release.volunteer
            )
        })
    }
}

/// The pairing key of a unit (`/` of its scope as `+`).
pub fn pairing_key(unit: &Scope) -> String {
    unit.to_string().replace('/', "+")
}

/// Operations on a volunteer registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VolunteersOp {
    /// Add or rename a volunteer team (the community).
    AddTeam {
        /// Team code: lowercase letters, digits, '-' and '_' (e.g. `patrol`).
        code: String,
        /// Display name.
        name: String,
    },
    /// Pair a unit with the community: its in-service party members report here (双报到).
    Pair {
        /// The unit, by its certified scope (e.g. `beishi/dianye/state-grid`).
        unit: Scope,
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// End a unit's pairing.
    Unpair {
        /// The unit.
        unit: Scope,
    },
    /// Register a volunteer (the community). Name, phone and ID number are personal data,
    /// held only by this community's nodes; the document keeps the masked name.
    Register {
        /// Full name.
        name: String,
        /// Phone (unique among the community's current volunteers).
        phone: Option<String>,
        /// Resident ID number.
        id_number: Option<String>,
        /// Resident or in-service party member.
        kind: VolunteerType,
        /// The reporting unit (in-service members; a paired unit).
        unit: Option<Scope>,
        /// Teams (codes of known teams).
        #[serde(default)]
        teams: Vec<String>,
        /// Posts (an in-service member holds at least one).
        #[serde(default)]
        posts: Vec<Post>,
    },
    /// Change a volunteer's type, teams and posts.
    Update {
        /// The volunteer.
        volunteer: VolunteerId,
        /// Resident or in-service party member.
        kind: VolunteerType,
        /// The reporting unit (in-service members).
        unit: Option<Scope>,
        /// Teams.
        #[serde(default)]
        teams: Vec<String>,
        /// Posts.
        #[serde(default)]
        posts: Vec<Post>,
    },
    /// Set a volunteer's status: active, paused or left (moving is `release`).
    SetStatus {
        /// The volunteer.
        volunteer: VolunteerId,
        /// The new status.
        status: Status,
        /// Why.
        #[serde(default)]
        reason: String,
    },
    /// Let a volunteer move to another community (the origin): writes the signed release
    /// and sets the volunteer `moved`. The destination then runs `move_in`.
    Release {
        /// The volunteer.
        volunteer: VolunteerId,
        /// The destination community (`street/community`).
        to: Scope,
    },
    /// Register a volunteer arriving from another community (the destination), under the
    /// origin's release: found in the origin's registry when held here, else given as
    /// `release` (its JSON, as `volunteers release` prints it).
    MoveIn {
        /// The volunteer's id at the origin.
        from: VolunteerId,
        /// The origin's signed release as JSON (default: from the origin's registry).
        release: Option<String>,
        /// Full name.
        name: String,
        /// Phone.
        phone: Option<String>,
        /// Resident ID number.
        id_number: Option<String>,
        /// Resident or in-service party member.
        kind: VolunteerType,
        /// The reporting unit (in-service members).
        unit: Option<Scope>,
        /// Teams.
        #[serde(default)]
        teams: Vec<String>,
        /// Posts.
        #[serde(default)]
        posts: Vec<Post>,
    },
    /// Register the volunteers of a roster (a spreadsheet's rows) as one change, each row
    /// validated on its own like `register` (identity kept at home only); a row naming a
    /// volunteer already registered (its id, or the same person by phone or ID number) is
    /// skipped. See [`import`].
    ImportRoster {
        /// The rows, at most [`MAX_ROSTER_ROWS`].
        rows: Vec<RosterRow>,
    },
    /// Create or change a duty rota (the community): recurring shifts in local time with
    /// weekdays and volunteers needed, e.g. daily 07:00–08:00 bike tidying or 24 h
    /// monitoring in six 4-hour shifts. Shifts are named by their index (from 0).
    SetRota {
        /// Rota code: lowercase letters, digits, '-' and '_' (e.g. `bikes`).
        code: String,
        /// Title, e.g. "Bike tidying".
        title: String,
        /// The team serving it (a team of the registry).
        #[serde(default)]
        team: Option<String>,
        /// First local date.
        #[schemars(with = "String")]
        from: jiff::civil::Date,
        /// Last local date (none: open-ended).
        #[serde(default)]
        #[schemars(with = "Option<String>")]
        until: Option<jiff::civil::Date>,
        /// The shifts.
        shifts: Vec<Shift>,
    },
    /// Assign an active volunteer to a shift: every occurrence, or one date.
    AssignShift {
        /// Rota code.
        rota: String,
        /// Shift index (from 0).
        shift: usize,
        /// One occurrence's date (none: every occurrence).
        #[serde(default)]
        #[schemars(with = "Option<String>")]
        date: Option<jiff::civil::Date>,
        /// The volunteer.
        volunteer: VolunteerId,
    },
    /// Take a volunteer off a shift: every occurrence, or one date.
    UnassignShift {
        /// Rota code.
        rota: String,
        /// Shift index (from 0).
        shift: usize,
        /// One occurrence's date (none: the recurring assignment).
        #[serde(default)]
        #[schemars(with = "Option<String>")]
        date: Option<jiff::civil::Date>,
        /// The volunteer.
        volunteer: VolunteerId,
    },
    /// Record a volunteer's request to hand one occurrence to another, active volunteer;
    /// it takes effect when the community approves it (`decide_swap`).
    RequestSwap {
        /// Rota code.
        rota: String,
        /// Shift index.
        shift: usize,
        /// The occurrence's date.
        #[schemars(with = "String")]
        date: jiff::civil::Date,
        /// Who gives it away (covers the occurrence).
        from: VolunteerId,
        /// Who takes it (active).
        to: VolunteerId,
    },
    /// Approve or decline a swap request (the community, once).
    DecideSwap {
        /// Rota code.
        rota: String,
        /// The swap's id (as `request_swap` reported it).
        swap: String,
        /// Approve (true) or decline.
        approve: bool,
    },
    /// Mark an ended occurrence served by these volunteers; `linli volunteers rota record`
    /// then writes their service records to the ledger.
    MarkServed {
        /// Rota code.
        rota: String,
        /// Shift index.
        shift: usize,
        /// The occurrence's date.
        #[schemars(with = "String")]
        date: jiff::civil::Date,
        /// Who served.
        volunteers: Vec<VolunteerId>,
    },
}

/// Splits the personal data out of a registration or a move-in: the operation keeps the
/// masked name and no phone or ID number.
impl crate::kind::KindOp for VolunteersOp {
    fn split_personal(self) -> (Self, Option<PersonalData>) {
        let data = |name: &str, phone: Option<String>, id_number: Option<String>| {
            PersonalData::Volunteer {
                name: name.trim().to_string(),
                phone: phone.filter(|p| !p.trim().is_empty()),
                id_number: id_number.filter(|p| !p.trim().is_empty()),
            }
        };
        match self {
            VolunteersOp::Register {
                name,
                phone,
                id_number,
                kind,
                unit,
                teams,
                posts,
            } => {
                let d = data(&name, phone, id_number);
                let op = VolunteersOp::Register {
                    name: mask_name(&name),
                    phone: None,
                    id_number: None,
                    kind,
                    unit,
                    teams,
                    posts,
                };
                (op, Some(d))
            }
            VolunteersOp::MoveIn {
                from,
                release,
                name,
                phone,
                id_number,
                kind,
                unit,
                teams,
                posts,
            } => {
                let d = data(&name, phone, id_number);
                let op = VolunteersOp::MoveIn {
                    from,
                    release,
                    name: mask_name(&name),
                    phone: None,
                    id_number: None,
                    kind,
                    unit,
                    teams,
                    posts,
                };
                (op, Some(d))
            }
            op => (op, None),
        }
    }
}

/// Errors of volunteer registry operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VolunteersError {
    /// Writer not allowed.
    #[error("{who} may not {what}: only {owner} writes its volunteer registry")]
    NotAllowed {
        /// Writer.
        who: Scope,
        /// What it tried.
        what: &'static str,
        /// The registry's community.
        owner: Scope,
    },
    /// A registration without a name.
    #[error("a volunteer's {0} must not be empty")]
    Empty(&'static str),
    /// The phone is already registered to a current volunteer of this community.
    #[error("phone already registered here to volunteer {existing}")]
    DuplicatePhone {
        /// The volunteer holding it.
        existing: VolunteerId,
    },
    /// A team or post names a team the registry does not have.
    #[error("unknown team {0:?}: add it first (volunteers.add_team)")]
    UnknownTeam(String),
    /// A team code of the wrong shape.
    #[error("team code {0:?}: lowercase letters, digits, '-' and '_' only")]
    BadTeamCode(String),
    /// An in-service member without a post.
    #[error("an in-service party member must hold at least one post")]
    NoPost,
    /// An in-service member without a reporting unit.
    #[error("an in-service party member must name the unit that reports them")]
    NoUnit,
    /// A resident named with a unit.
    #[error("a resident volunteer has no reporting unit (got {0})")]
    UnitForResident(Scope),
    /// The unit is not paired with the community.
    #[error("unit {0} is not paired with this community: pair it first (volunteers.pair)")]
    NotPaired(Scope),
    /// Too many teams or posts.
    #[error("at most {max} teams and {max} posts, got {got}")]
    TooMany {
        /// How many given.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// No such volunteer in the registry.
    #[error("unknown volunteer {0}")]
    UnknownVolunteer(VolunteerId),
    /// The volunteer's status forbids the change.
    #[error("volunteer {volunteer} is {status}: cannot {what}")]
    BadTransition {
        /// The volunteer.
        volunteer: VolunteerId,
        /// Its status.
        status: &'static str,
        /// What was tried.
        what: String,
    },
    /// The release is missing, malformed, forged or for another move.
    #[error("release of {volunteer}: {reason}")]
    BadRelease {
        /// The volunteer named.
        volunteer: VolunteerId,
        /// What is wrong.
        reason: String,
    },
    /// A roster import of no rows or too many.
    #[error("a roster import takes 1 to {max} rows, got {rows}")]
    BatchSize {
        /// Rows given.
        rows: usize,
        /// The limit ([`MAX_ROSTER_ROWS`]).
        max: usize,
    },
    /// No row of a roster import is to be written: each row's outcome.
    #[error("nothing to write: no row of the roster is new and valid")]
    NothingToWrite(Vec<RosterOutcome>),
    /// A duty rota operation was refused (`volunteers/rotas.rs`; boxed: errors stay small).
    #[error(transparent)]
    Rota(Box<RotaError>),
}

impl From<RotaError> for VolunteersError {
    fn from(e: RotaError) -> Self {
        VolunteersError::Rota(Box::new(e))
    }
}

impl VolunteersError {
    /// The class of this error.
    pub fn class(&self) -> crate::class::ErrorClass {
        use crate::class::ErrorClass as C;
        use VolunteersError as E;
        match self {
            E::NotAllowed { .. } => C::Unauthorized,
            E::Rota(e) => e.class(),
            E::UnknownVolunteer(_) | E::UnknownTeam(_) => C::NotFound,
            E::DuplicatePhone { .. } | E::BadTransition { .. } => C::Conflict,
            E::Empty(_)
            | E::BadTeamCode(_)
            | E::NoPost
            | E::NoUnit
            | E::UnitForResident(_)
            | E::NotPaired(_)
            | E::TooMany { .. }
            | E::BadRelease { .. }
            | E::BatchSize { .. } => C::Invalid,
            E::NothingToWrite(_) => C::Conflict,
        }
    }
}

/// Read view of a volunteer registry.
pub struct Volunteers<'a> {
    doc: &'a Document,
}

impl<'a> Volunteers<'a> {
    /// Wraps a registry document.
    pub fn new(doc: &'a Document) -> Self {
        Self { doc }
    }
    /// The community, by scope.
    pub fn community(&self) -> Scope {
        self.doc.header().owner_scope()
    }
    /// Teams by code.
    pub fn teams(&self) -> BTreeMap<String, Team> {
        self.doc.records::<Team>("teams").into_iter().collect()
    }
    /// Pairings (active or ended).
    pub fn pairings(&self) -> Vec<Pairing> {
        self.doc
            .records::<Pairing>("pairings")
            .into_iter()
            .map(|(_, p)| p)
            .collect()
    }
    /// Whether `unit` is paired (and the pairing stands).
    pub fn paired(&self, unit: &Scope) -> bool {
        self.pairings().iter().any(|p| p.active && p.unit == *unit)
    }
    /// Every volunteer in id order.
    pub fn volunteers(&self) -> Vec<(VolunteerId, Volunteer)> {
        self.doc
            .records::<Volunteer>("volunteers")
            .into_iter()
            .filter_map(|(k, v)| k.parse().ok().map(|id| (id, v)))
            .collect()
    }
    /// One volunteer.
    pub fn volunteer(&self, id: &VolunteerId) -> Result<Volunteer, VolunteersError> {
        self.doc
            .get::<Volunteer>("volunteers", &id.to_string())
            .ok()
            .flatten()
            .ok_or_else(|| VolunteersError::UnknownVolunteer(id.clone()))
    }
    /// Whether the registry knows `id` (any status).
    pub fn knows(&self, id: &VolunteerId) -> bool {
        self.doc
            .exists_at("volunteers", &id.to_string(), &self.doc.heads())
    }
    /// A volunteer's history, oldest first (ties by event id).
    pub fn history(&self, id: &VolunteerId) -> Vec<Event> {
        let mut h: Vec<(Timestamp, String, Event)> = self
            .doc
            .records_with_prefix::<Event>("history", &format!("{id}/"))
            .into_iter()
            .map(|(k, e)| (e.at, k, e))
            .collect();
        h.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        h.into_iter().map(|(_, _, e)| e).collect()
    }
    /// The signed release of a volunteer who moved away.
    pub fn release(&self, id: &VolunteerId) -> Option<SignedRelease> {
        self.doc.get("releases", &id.to_string()).ok().flatten()
    }
    /// The in-service members `unit` reports (what a unit sees of its members).
    pub fn members_of(&self, unit: &Scope) -> Vec<(VolunteerId, Volunteer)> {
        self.volunteers()
            .into_iter()
            .filter(|(_, v)| v.unit.as_ref() == Some(unit))
            .collect()
    }
}

/// Whether the registry `doc` knows `volunteer` (for other kinds, through the list).
pub(crate) fn knows(doc: &Document, volunteer: &VolunteerId) -> bool {
    Volunteers::new(doc).knows(volunteer)
}

/// Whether `volunteer` is in the registry `doc` with status active.
pub(crate) fn is_active(doc: &Document, volunteer: &VolunteerId) -> bool {
    Volunteers::new(doc)
        .volunteer(volunteer)
        .is_ok_and(|v| v.status == Status::Active)
}

/// Digits of a phone number (so `139 8765 4321` and `13987654321` are one phone).
fn phone_digits(p: &str) -> String {
    p.chars().filter(char::is_ascii_digit).collect()
}

/// Checks type, unit, teams and posts against the registry.
fn check_membership(
    v: &Volunteers<'_>,
    kind: VolunteerType,
    unit: &Option<Scope>,
    teams: &[String],
    posts: &[Post],
) -> Result<(), VolunteersError> {
    let most = teams.len().max(posts.len());
    if most > MAX_POSTS {
        return Err(VolunteersError::TooMany {
            got: most,
            max: MAX_POSTS,
        });
    }
    let known = v.teams();
    for t in teams.iter().chain(posts.iter().map(|p| &p.team)) {
        if !known.contains_key(t) {
            return Err(VolunteersError::UnknownTeam(t.clone()));
        }
    }
    if posts.iter().any(|p| p.duty.trim().is_empty()) {
        return Err(VolunteersError::Empty("post duty"));
    }
    match (kind, unit) {
        (VolunteerType::Resident, None) => Ok(()),
        (VolunteerType::Resident, Some(u)) => Err(VolunteersError::UnitForResident(u.clone())),
        (VolunteerType::InService, None) => Err(VolunteersError::NoUnit),
        (VolunteerType::InService, Some(u)) => {
            if posts.is_empty() {
                return Err(VolunteersError::NoPost);
            }
            if !v.paired(u) {
                return Err(VolunteersError::NotPaired(u.clone()));
            }
            Ok(())
        }
    }
}

/// The release `op` names, parsed or found in a registry held here.
fn find_release(
    ctx: &Ctx<'_>,
    from: &VolunteerId,
    text: Option<String>,
) -> Result<SignedRelease, VolunteersError> {
    let bad = |reason: String| VolunteersError::BadRelease {
        volunteer: from.clone(),
        reason,
    };
    if let Some(t) = text {
        return serde_json::from_str(&t).map_err(|e| bad(format!("does not decode: {e}")));
    }
    ctx.docs
        .matching(|h| h.kind == DocKind::Volunteers && h.owner == *from.org())
        .find_map(|d| Volunteers::new(d).release(from))
        .ok_or_else(|| {
            bad("no registry held here has it: give the release's JSON (volunteers release)".into())
        })
}

/// Checks a release for a move into the community `to` (who signed it is checked by the
/// receivers against the trust store, and by the plan through its authorization).
fn check_release_shape(r: &SignedRelease, from: &VolunteerId, to: &Scope) -> Result<(), String> {
    r.verify()?;
    let rel = &r.release;
    policy::require(rel.volunteer == *from, || {
        format!("it releases {}, not {from}", rel.volunteer)
    })?;
    policy::require(rel.to == *to, || {
        format!("it lets the volunteer move to {}, not {to}", rel.to)
    })?;
    policy::require(rel.from.org() == Some(rel.volunteer.org()), || {
        format!("{} is not a volunteer of {}", rel.volunteer, rel.from)
    })
}

/// A new volunteer registry of `community` (owned by it; `owner` is the creating
/// organisation, which the genesis policy requires to be the community).
pub(crate) fn genesis(
    owner: OrgId,
    street: OrgId,
    community: OrgId,
    title: String,
) -> Result<crate::document::Genesis, VolunteersError> {
    Ok(crate::document::community_genesis(
        crate::document::DocKind::Volunteers,
        owner,
        street,
        community,
        title,
    ))
}

/// Validates a volunteer registry operation and returns the record puts.
pub fn plan(
    doc: &Document,
    ctx: &Ctx<'_>,
    op: VolunteersOp,
) -> Result<(Vec<Put>, Effect, String), VolunteersError> {
    let v = Volunteers::new(doc);
    let me = ctx.scope;
    let owner = doc.header().owner_scope();
    let allowed = |what: &'static str| {
        if *me != owner {
            return Err(VolunteersError::NotAllowed {
                who: me.clone(),
                what,
                owner: owner.clone(),
            });
        }
        Ok(())
    };
    let event = |id: &VolunteerId, change: Change| {
        let eid = ctx.author.next_id(doc, "history", &format!("{id}/"));
        Put::new(
            "history",
            format!("{id}/{eid}"),
            &Event {
                change,
                by: me.clone(),
                at: ctx.now,
            },
        )
    };
    match op {
        op @ (VolunteersOp::SetRota { .. }
        | VolunteersOp::AssignShift { .. }
        | VolunteersOp::UnassignShift { .. }
        | VolunteersOp::RequestSwap { .. }
        | VolunteersOp::DecideSwap { .. }
        | VolunteersOp::MarkServed { .. }) => {
            allowed("write duty rotas")?;
            rotas::plan(doc, ctx, op)
        }
        VolunteersOp::AddTeam { code, name } => {
            allowed("add teams")?;
            if OrgId::new(&code).is_err() {
                return Err(VolunteersError::BadTeamCode(code));
            }
            if name.trim().is_empty() {
                return Err(VolunteersError::Empty("team name"));
            }
            let team = Team {
                name,
                by: me.clone(),
                at: ctx.now,
            };
            Ok((
                vec![Put::new("teams", code.clone(), &team)],
                Effect::Done,
                format!("team {code}: {}", team.name),
            ))
        }
        VolunteersOp::Pair { unit, note } => {
            allowed("pair units")?;
            let p = Pairing {
                unit: unit.clone(),
                active: true,
                note,
                by: me.clone(),
                at: ctx.now,
            };
            Ok((
                vec![Put::new("pairings", pairing_key(&unit), &p)],
                Effect::Done,
                format!("pair {unit}"),
            ))
        }
        VolunteersOp::Unpair { unit } => {
            allowed("pair units")?;
            if !v.paired(&unit) {
                return Err(VolunteersError::NotPaired(unit));
            }
            let p = Pairing {
                unit: unit.clone(),
                active: false,
                note: String::new(),
                by: me.clone(),
                at: ctx.now,
            };
            Ok((
                vec![Put::new("pairings", pairing_key(&unit), &p)],
                Effect::Done,
                format!("unpair {unit}"),
            ))
        }
        VolunteersOp::Register {
            name,
            kind,
            unit,
            teams,
            posts,
            ..
        } => {
            allowed("register volunteers")?;
            register(doc, ctx, &v, name, kind, unit, teams, posts, None)
        }
        VolunteersOp::ImportRoster { rows } => {
            allowed("register volunteers")?;
            import::plan(doc, ctx, &v, rows)
        }
        VolunteersOp::MoveIn {
            from,
            release,
            name,
            kind,
            unit,
            teams,
            posts,
            ..
        } => {
            allowed("register volunteers")?;
            let r = find_release(ctx, &from, release)?;
            check_release_shape(&r, &from, &owner).map_err(|reason| {
                VolunteersError::BadRelease {
                    volunteer: from.clone(),
                    reason,
                }
            })?;
            if v.volunteers()
                .iter()
                .any(|(_, x)| x.arrived.as_ref().map(|a| &a.release.volunteer) == Some(&from))
            {
                return Err(VolunteersError::BadRelease {
                    volunteer: from,
                    reason: "it was already used: the volunteer moved in".into(),
                });
            }
            register(doc, ctx, &v, name, kind, unit, teams, posts, Some(r))
        }
        VolunteersOp::Update {
            volunteer,
            kind,
            unit,
            teams,
            posts,
        } => {
            allowed("update volunteers")?;
            let mut rec = v.volunteer(&volunteer)?;
            if matches!(rec.status, Status::Moved | Status::Left) {
                return Err(VolunteersError::BadTransition {
                    volunteer,
                    status: rec.status.label(),
                    what: "change teams or posts".into(),
                });
            }
            check_membership(&v, kind, &unit, &teams, &posts)?;
            rec.kind = kind;
            rec.unit = unit;
            rec.teams = teams;
            rec.posts = posts;
            rec.by = me.clone();
            rec.at = ctx.now;
            Ok((
                vec![
                    Put::new("volunteers", volunteer.to_string(), &rec),
                    event(&volunteer, Change::Updated),
                ],
                Effect::Volunteer(volunteer.clone()),
                format!("update volunteer {volunteer}"),
            ))
        }
        VolunteersOp::SetStatus {
            volunteer,
            status,
            reason,
        } => {
            allowed("set volunteers' status")?;
            let mut rec = v.volunteer(&volunteer)?;
            let what = format!("set it {}", status.label());
            if status == Status::Moved || matches!(rec.status, Status::Moved) {
                return Err(VolunteersError::BadTransition {
                    volunteer,
                    status: rec.status.label(),
                    what: if status == Status::Moved {
                        "set it moved: a move is a release (volunteers.release)".into()
                    } else {
                        what
                    },
                });
            }
            rec.status = status;
            rec.by = me.clone();
            rec.at = ctx.now;
            Ok((
                vec![
                    Put::new("volunteers", volunteer.to_string(), &rec),
                    event(&volunteer, Change::Status { to: status, reason }),
                ],
                Effect::Volunteer(volunteer.clone()),
                format!("volunteer {volunteer}: {what}"),
            ))
        }
        VolunteersOp::Release { volunteer, to } => {
            allowed("release volunteers")?;
            let mut rec = v.volunteer(&volunteer)?;
            if matches!(rec.status, Status::Moved | Status::Left) {
                return Err(VolunteersError::BadTransition {
                    volunteer,
                    status: rec.status.label(),
                    what: format!("release it to {to}"),
                });
            }
            if to == owner || to.len() != 2 {
                return Err(VolunteersError::BadRelease {
                    volunteer,
                    reason: format!("{to} is not another community (street/community)"),
                });
            }
            let signed = SignedRelease::sign(
                ctx.keys,
                Release {
                    volunteer: volunteer.clone(),
                    from: owner.clone(),
                    to: to.clone(),
                    at: ctx.now,
                },
            );
            rec.status = Status::Moved;
            rec.by = me.clone();
            rec.at = ctx.now;
            Ok((
                vec![
                    Put::new("volunteers", volunteer.to_string(), &rec),
                    Put::new("releases", volunteer.to_string(), &signed),
                    event(&volunteer, Change::MovedOut { to: to.clone() }),
                ],
                Effect::Volunteer(volunteer.clone()),
                format!("release volunteer {volunteer} to {to}"),
            ))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn register(
    doc: &Document,
    ctx: &Ctx<'_>,
    v: &Volunteers<'_>,
    name: String,
    kind: VolunteerType,
    unit: Option<Scope>,
    teams: Vec<String>,
    posts: Vec<Post>,
    arrived: Option<SignedRelease>,
) -> Result<(Vec<Put>, Effect, String), VolunteersError> {
    // The name was masked by `split_personal`: empty stays empty.
    if name.trim().is_empty() {
        return Err(VolunteersError::Empty("name"));
    }
    check_membership(v, kind, &unit, &teams, &posts)?;
    // A duplicate phone among the current volunteers, as far as this node holds phones
    // (only the home community's nodes do).
    if let Some(PersonalData::Volunteer {
        phone: Some(phone), ..
    }) = ctx.personal
    {
        let mine = phone_digits(phone);
        for (id, rec) in v.volunteers() {
            if matches!(rec.status, Status::Moved | Status::Left) {
                continue;
            }
            let held = ctx.held.get(&(doc.id(), format!("volunteers/{id}")));
            if let Some(PersonalData::Volunteer { phone: Some(p), .. }) =
                held.and_then(|r| r.data.as_ref())
                && !mine.is_empty()
                && phone_digits(p) == mine
            {
                return Err(VolunteersError::DuplicatePhone { existing: id });
            }
        }
    }
    let id = VolunteerId(ctx.author.next_id(doc, "volunteers", ""));
    let change = match &arrived {
        Some(r) => Change::MovedIn {
            from: r.release.from.clone(),
            previous: r.release.volunteer.clone(),
        },
        None => Change::Registered,
    };
    let rec = Volunteer {
        display: mask_name(&name),
        kind,
        unit,
        teams,
        posts,
        status: Status::Active,
        arrived,
        by: ctx.scope.clone(),
        at: ctx.now,
    };
    let eid = ctx.author.next_id(doc, "history", &format!("{id}/"));
    let ev = Event {
        change,
        by: ctx.scope.clone(),
        at: ctx.now,
    };
    Ok((
        vec![
            Put::new("volunteers", id.to_string(), &rec),
            Put::new("history", format!("{id}/{eid}"), &ev),
        ],
        Effect::Volunteer(id.clone()),
        format!("register volunteer {id}"),
    ))
}

/// Key shape and record type per map.
pub(crate) fn check_record(map: &str, key: &str, value: &str) -> Result<(), String> {
    match map {
        "teams" => {
            let [k] = key_parts::<1>(key)?;
            OrgId::new(k).map_err(|e| e.to_string())?;
            decode::<Team>(value).map(drop)
        }
        "pairings" => {
            let [k] = key_parts::<1>(key)?;
            let p = decode::<Pairing>(value)?;
            policy::require(pairing_key(&p.unit) == k, || {
                format!("pairing of {} stored under {k:?}", p.unit)
            })
        }
        "volunteers" => {
            let [k] = key_parts::<1>(key)?;
            let vid = id::<VolunteerId>(k)?;
            let v = decode::<Volunteer>(value)?;
            policy::require(v.by.org() == Some(vid.org()), || {
                format!("volunteer {vid} written by {}", v.by)
            })?;
            // Masks are fixed points: an unmasked name is refused.
            policy::require(
                !v.display.is_empty() && mask_name(&v.display) == v.display,
                || format!("volunteer {vid}: the document holds only a masked name"),
            )?;
            match (v.kind, &v.unit) {
                (VolunteerType::Resident, None) => {}
                (VolunteerType::InService, Some(_)) if !v.posts.is_empty() => {}
                _ => {
                    return Err(format!(
                        "volunteer {vid}: an in-service member names its unit and holds a post; a resident names no unit"
                    ));
                }
            }
            policy::require(
                v.teams.len() <= MAX_POSTS && v.posts.len() <= MAX_POSTS,
                || format!("volunteer {vid}: too many teams or posts"),
            )
        }
        "history" => {
            let [vk, ek] = key_parts::<2>(key)?;
            id::<VolunteerId>(vk)?;
            id::<RecordId>(ek)?;
            decode::<Event>(value).map(drop)
        }
        "releases" => {
            let [k] = key_parts::<1>(key)?;
            let vid = id::<VolunteerId>(k)?;
            let r = decode::<SignedRelease>(value)?;
            policy::require(r.release.volunteer == vid, || {
                format!("release of {} stored under {vid}", r.release.volunteer)
            })
        }
        m if rotas::ROTA_MAPS.contains(&m) => rotas::check_record(map, key, value),
        _ => Err(format!("a volunteer registry has no record map {map:?}")),
    }
}

/// The volunteer registry kind's contract (see [`crate::kind`]).
pub struct VolunteersContract;

/// This module's [`crate::kind::Kind`].
pub static KIND: VolunteersContract = VolunteersContract;

crate::kind::kind_basics!(Volunteers, VolunteersContract, VolunteersOp);

impl crate::kind::Kind for VolunteersContract {
    crate::kind::kind_basics!(Volunteers, VolunteersOp);
    /// Every operation is the community's own (the owner of the registry).
    fn performers(&self, op: &str) -> Option<&'static [crate::policy::Standing]> {
        use crate::policy::Standing::*;
        Some(match op {
            "add_team" | "pair" | "unpair" | "register" | "update" | "set_status" | "release"
            | "move_in" | "import_roster" => &[Owner],
            "set_rota" | "assign_shift" | "unassign_shift" | "request_swap" | "decide_swap"
            | "mark_served" => &[Owner],
            _ => return None,
        })
    }
    /// Nothing in the registry lets the volunteers or units it names write it.
    fn named(&self, _doc: &Document, _who: &crate::cert::Principal) -> bool {
        false
    }
    /// Receivers: its community and the units and partners within it, its street and the
    /// communities of that street (they record service of its volunteers and take in those
    /// who move); paired units elsewhere through `receives_for_content`.
    fn receives(&self, r: &crate::kind::Relation) -> bool {
        r.own || r.its_street || r.community_of_street
    }
    fn write_once(&self, map: &str, _key: &str) -> bool {
        matches!(
            map,
            "history" | "releases" | "rota_swaps" | "rota_swap_decisions" | "rota_served"
        )
    }
    fn needs_history(&self, _map: &str, _key: &str) -> bool {
        false
    }
    fn authorize(
        &self,
        rules: &crate::policy::Rules<'_>,
        w: &crate::document::Write,
    ) -> Result<(), String> {
        rules.volunteers(w)
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
        use crate::personal::{Audience, canonical, unknown_record};
        // A volunteer's identity: the home community (the registry's) only.
        (map == "volunteers").then(|| {
            let id: VolunteerId = canonical(key).ok_or_else(|| unknown_record(doc, map, key))?;
            if !Volunteers::new(doc).knows(&id) {
                return Err(unknown_record(doc, map, key));
            }
            let home = doc.header().owner_scope();
            Ok(Audience::new(vec![home.clone()], home, "volunteer"))
        })
    }
    fn receives_for_content(&self, doc: &Document, who: &crate::cert::Principal) -> bool {
        // A unit paired with the community sees its reporting members (public fields).
        Volunteers::new(doc)
            .pairings()
            .iter()
            .any(|p| p.active && p.unit == who.scope)
    }
}

/// This kind's write policy (reached through [`Kind::authorize`](crate::kind::Kind::authorize)).
impl policy::Rules<'_> {
    pub(crate) fn volunteers(&self, w: &Write) -> policy::Rule {
        self.owner("write the volunteer registry")?;
        match w.map.as_str() {
            "teams" => {
                let t: Team = policy::decode(w)?;
                self.names_signer(&t.by, "writer")
            }
            "pairings" => {
                let p: Pairing = policy::decode(w)?;
                self.names_signer(&p.by, "writer")
            }
            "history" => {
                let e: Event = policy::decode(w)?;
                self.names_signer(&e.by, "writer")?;
                let eid: RecordId = w
                    .key
                    .split('/')
                    .nth(1)
                    .and_then(|k| k.parse().ok())
                    .ok_or_else(|| format!("malformed key {:?}", w.key))?;
                self.own_number(&eid)
            }
            "releases" => {
                let r: SignedRelease = policy::decode(w)?;
                r.verify()?;
                policy::require(r.by == self.who.node, || {
                    "a release is signed by the key that writes it".to_string()
                })?;
                policy::require(r.release.from == self.h.owner_scope(), || {
                    format!("the release names origin {}", r.release.from)
                })?;
                policy::require(r.release.at <= self.at, || {
                    "the release is dated after its change".to_string()
                })?;
                policy::require(self.doc.exists_at("volunteers", &w.key, self.deps), || {
                    format!("volunteer {} is not in the change's history", w.key)
                })
            }
            "volunteers" => {
                let id: VolunteerId = policy::first_id(&w.key)?;
                let v: Volunteer = policy::decode(w)?;
                self.names_signer(&v.by, "writer")?;
                if !self.doc.exists_at("volunteers", &w.key, self.deps) {
                    // A new volunteer: numbered by the signer.
                    self.own_number(&id.0)?;
                }
                for t in v.teams.iter().chain(v.posts.iter().map(|p| &p.team)) {
                    policy::require(self.doc.exists_at("teams", t, self.deps), || {
                        format!("team {t} is not in the change's history")
                    })?;
                }
                if let Some(unit) = &v.unit {
                    let paired = self
                        .doc
                        .get_all_at::<Pairing>("pairings", &pairing_key(unit), self.deps)
                        .iter()
                        .any(|p| p.active);
                    policy::require(paired, || {
                        format!("unit {unit} is not paired as of the change's history")
                    })?;
                }
                if let Some(r) = &v.arrived {
                    self.check_arrival(r)?;
                }
                Ok(())
            }
            m if rotas::ROTA_MAPS.contains(&m) => self.rotas(w),
            _ => Err("unknown map".into()),
        }
    }

    /// A move-in's release: signed, by a key certified for the origin community at the
    /// release's time, letting the volunteer move to this registry's community, not dated
    /// after the change. Judged on the release and the trust store alone.
    fn check_arrival(&self, r: &SignedRelease) -> policy::Rule {
        let rel = &r.release;
        check_release_shape(r, &rel.volunteer, &self.h.owner_scope())?;
        let origin = self
            .trust
            .principals(&r.by, rel.at)
            .into_iter()
            .any(|p| p.scope == rel.from && p.role == Some(crate::cert::Role::Community));
        policy::require(origin, || {
            format!(
                "the release is not signed by a node of {} (key {})",
                rel.from,
                r.by.short()
            )
        })?;
        policy::require(rel.at <= self.at, || {
            "the release is dated after the move-in".to_string()
        })
    }
}

/// The registry of `home` among `docs`, if held (for the ledger's check, through the list).
pub(crate) fn registry_of<'a>(
    docs: &'a crate::docs::Docs,
    home: &Scope,
) -> Option<&'a Document> {
    let home = home.clone();
    docs.matching(move |h| h.kind == DocKind::Volunteers && h.owner_scope() == home)
        .next()
}

#[cfg(test)]
#[path = "volunteers_tests.rs"]
mod tests;

/// In Chinese, for the people who read refusals ([`crate::zh`]).
impl crate::zh::Chinese for VolunteersError {
    fn zh(&self) -> String {
        match self {
            VolunteersError::NotAllowed { who, what, owner } => {
                format!("{who} 无权{}：只有 {owner} 可以写自己的志愿者名册", crate::zh::word(what))
            }
            VolunteersError::Empty(f) => format!("志愿者的{}不能为空", crate::zh::word(f)),
            VolunteersError::DuplicatePhone { existing } => {
                format!("该电话已在本社区登记给志愿者 {existing}")
            }
            VolunteersError::UnknownTeam(t) => {
                format!("未知的志愿队伍 {t:?}：请先添加（volunteers.add_team）")
            }
            VolunteersError::BadTeamCode(t) => {
                format!("队伍代码 {t:?}：只能用小写字母、数字、'-' 和 '_'")
            }
            VolunteersError::NoPost => "在职党员须至少认领一个岗位".to_string(),
            VolunteersError::NoUnit => "在职党员须写明其报到的单位".to_string(),
            VolunteersError::UnitForResident(u) => {
                format!("居民志愿者没有报到单位（收到 {u}）")
            }
            VolunteersError::NotPaired(u) => {
                format!("单位 {u} 未与本社区结对：请先结对（volunteers.pair）")
            }
            VolunteersError::TooMany { got, max } => {
                format!("队伍和岗位各最多 {max} 个，收到 {got} 个")
            }
            VolunteersError::UnknownVolunteer(v) => format!("未知的志愿者 {v}"),
            VolunteersError::BadTransition {
                volunteer,
                status,
                what,
            } => format!("志愿者 {volunteer} 状态为{}：不能{}", crate::zh::word(status), crate::zh::word(what)),
            VolunteersError::BadRelease { volunteer, reason } => {
                format!("志愿者 {volunteer} 的迁出证明：{reason}")
            }
            VolunteersError::Rota(e) => crate::zh::Chinese::zh(e.as_ref()),
            VolunteersError::BatchSize { rows, max } => {
                format!("名册导入每批 1 到 {max} 行，收到 {rows} 行")
            }
            VolunteersError::NothingToWrite(_) => {
                "没有可写入的内容：名册中没有新的有效行".to_string()
            }
        }
    }
}
