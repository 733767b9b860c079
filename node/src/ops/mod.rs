//! The operations layer: every domain command the `linli` CLI and the local HTTP API offer,
//! as one serde [`Request`] enum and one [`execute`] function.
//!
//! The CLI (in local mode) and the HTTP API both call [`execute`]; nothing here decides a
//! domain rule — requests are turned into [`linli_core::Op`]s or [`NewDoc`]s and linli-core
//! validates them. What this layer adds is input handling: finding the one document of a
//! kind when none is named, parsing local times in a resource's time zone, and shaping
//! results as JSON rows for tables.
//!
//! Requests are JSON objects tagged with `cmd`, e.g.
//! `{"cmd": "booking_confirm", "doc": "…", "booking": "dianye@a1b2c3d4e5f60718:1"}`; every write
//! answers `{"doc", "effect", "change"}`, every list an array of flat rows.

use std::collections::BTreeMap;

use jiff::civil::Date;
use linli_core::SessionId;
use linli_core::catalogue;
use linli_core::cert::Role;
use linli_core::class::ErrorClass;
use linli_core::federation::FederationOp;
use linli_core::ledger::{
    LedgerError, LedgerOp, LedgerRules, Points, RowOutcome, ServiceRow, leaderboard_across,
};
use linli_core::personal::{PersonalData, Resident};
use linli_core::registry::{
    AppointmentStatus, AppointmentView, Compound, ManagementMode, RegistryOp, ScorerRole,
};
use linli_core::resource::{BookingForm, BookingStatus, ResourceKind, ResourceOp, ResourceSpec};
use linli_core::volunteers::VolunteersOp;
use linli_core::wishes::{Channel, ItemKind, Stage, WishesOp};
use linli_core::{
    BookingId, ClaimId, CompoundId, DistrictConfig, DocId, DocKind, EntryId, NewDoc, NodeId, Op,
    OrderId, OrgId, Replica, Slot, Timestamp, VolunteerId, WishId, Zone,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::net::Network;
use crate::{Node, NodeError};

mod error;
mod invite;
mod parse;
mod points;
pub mod roster;
mod rotas;
pub(crate) mod rows;
pub mod sessions;

pub use error::{CLASSES, ClassRow, OpsError, class_row};
pub use invite::{DEFAULT_EXPIRY, parse_expiry};
use parse::*;
pub use parse::{ln, parse_instant, parse_node_id, parse_points, resolve};
pub use rows::operation_row;
use rows::*;

/// Default validity of a certificate issued without `days` (decided in linli-core).
pub use linli_core::replica::DEFAULT_CERT_DAYS;

/// One command of the CLI and the HTTP API (JSON tagged with `cmd`).
///
/// `doc` fields are optional where a node usually holds one document of the kind: when
/// omitted, the only document of that kind is used (an error lists them if there are
/// several). Times (`start`, `end`) are RFC 3339 with an offset, or a local date-time
/// (`2026-12-01T19:00`) in the resource's time zone; dates are `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    // ---- node ---------------------------------------------------------------------
    /// Identity, document counts, pending and refused changes.
    Status,
    /// Documents held (optionally of one kind).
    Documents {
        /// Only this kind.
        kind: Option<DocKind>,
    },
    /// Changes refused, with reasons.
    Rejected,
    /// Local operations linli-core refused (what was tried, when, why), newest last.
    Audit {
        /// How many (default 100).
        limit: Option<u32>,
    },
    /// Peers (from the network when the daemon runs, else the stored sync state).
    Peers,

    // ---- federation ---------------------------------------------------------------
    /// Create the district's federation document (the root only).
    FederationCreate {
        /// District settings (default: the built-in ones).
        config: Option<DistrictConfig>,
    },
    /// Issue a certificate.
    FederationIssue {
        /// Federation document.
        doc: Option<DocId>,
        /// Key certified (`ln…` or hex).
        subject: String,
        /// Role.
        role: Role,
        /// Organisation the key acts for.
        org: OrgId,
        /// Organisation `org` belongs to (a community's street, a unit's community).
        parent: Option<OrgId>,
        /// Name shown to people (default "ORG office").
        name: Option<String>,
        /// Days of validity from now (default three years).
        days: Option<i64>,
    },
    /// Revoke a key: withdraw every certificate of it this node issued or is above.
    FederationRevoke {
        /// Federation document.
        doc: Option<DocId>,
        /// The key (`ln…` or hex).
        subject: String,
        /// Why.
        reason: String,
    },
    /// Make a join code (`linli join <code>` on the new node): a one-time code that lets
    /// the node holding it be certified by this node as `role` of `org`.
    Invite {
        /// Role invited.
        role: Role,
        /// Organisation invited.
        org: OrgId,
        /// Organisation `org` belongs to (default: this node's, except for a street).
        parent: Option<OrgId>,
        /// Name shown to people (default "ORG office").
        name: Option<String>,
        /// Life of the code: `90s`, `30m`, `24h`, `7d` (default 24h, at most 30 days).
        expires: Option<String>,
        /// Addresses the new node dials (multiaddrs; default: the daemon's listening ones).
        addrs: Option<Vec<String>>,
    },
    /// Certificates of the federation document.
    Certificates {
        /// Federation document.
        doc: Option<DocId>,
    },

    // ---- compound registry ----------------------------------------------------------
    /// Create this community's compound registry.
    RegistryCreate {
        /// Street (default: the parent in this node's certificate).
        street: Option<OrgId>,
        /// Title.
        title: Option<String>,
    },
    /// Register a compound.
    CompoundAdd {
        /// Registry.
        doc: Option<DocId>,
        /// Name.
        name: String,
        /// Address.
        address: String,
        /// Households.
        households: u32,
        /// Management mode.
        mode: ManagementMode,
    },
    /// Compounds with their appointment and a year's composite score.
    CompoundList {
        /// Registry.
        doc: Option<DocId>,
        /// Year of the score column (default: this year).
        year: Option<i16>,
    },
    /// Appoint a property manager (the street).
    CompoundAppoint {
        /// Registry.
        doc: Option<DocId>,
        /// Compound.
        compound: CompoundId,
        /// Manager.
        manager: String,
        /// Mode.
        mode: ManagementMode,
        /// Term start.
        #[schemars(with = "String")]
        start: Date,
        /// Term end.
        #[schemars(with = "Option<String>")]
        end: Option<Date>,
        /// Status (default appointed).
        status: Option<AppointmentStatus>,
    },
    /// Record an inspection (the community).
    CompoundInspect {
        /// Registry.
        doc: Option<DocId>,
        /// Compound.
        compound: CompoundId,
        /// Date.
        #[schemars(with = "String")]
        date: Date,
        /// Checklist item id → compliant.
        results: BTreeMap<String, bool>,
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// Write this organisation's score sheet.
    CompoundScore {
        /// Registry.
        doc: Option<DocId>,
        /// Compound.
        compound: CompoundId,
        /// Year.
        year: i16,
        /// Role scored as.
        role: ScorerRole,
        /// Marks per item.
        marks: BTreeMap<String, u32>,
        /// Comment.
        #[serde(default)]
        comment: String,
    },
    /// Annual composite scores of every compound.
    AnnualScores {
        /// Registry.
        doc: Option<DocId>,
        /// Year.
        year: i16,
    },

    // ---- resources, bookings, kitchen ---------------------------------------------------
    /// Publish a room or kitchen owned by this organisation.
    ResourcePublish {
        /// Street (default: from this node's certificate).
        street: Option<OrgId>,
        /// Community where it is (default: this organisation if it is a community).
        community: Option<OrgId>,
        /// Name.
        name: String,
        /// `activity_room` or `kitchen` (default room).
        kind: Option<ResourceKind>,
        /// Persons at once.
        capacity: u32,
        /// Kitchen: portions per day (default 100).
        daily_capacity: Option<u32>,
        /// Floor area.
        area_m2: Option<u32>,
        /// Full specification (overrides the fields above except the name).
        spec: Option<ResourceSpec>,
    },
    /// Resources held.
    ResourceList,
    /// The secret address of a room's calendar feed (iCalendar, served by the daemon's HTTP
    /// API without a token), created on first use. Only for the resource's owner.
    CalendarUrl {
        /// Resource (default: the only one).
        doc: Option<DocId>,
    },
    /// A new secret address for a room's calendar feed: the old one stops answering (404).
    CalendarRotate {
        /// Resource (default: the only one).
        doc: Option<DocId>,
    },
    /// Request a booking.
    BookingRequest {
        /// Resource.
        doc: Option<DocId>,
        /// Responsible person.
        booker: String,
        /// Purpose.
        purpose: String,
        /// Start.
        start: String,
        /// End.
        end: String,
        /// Expected attendance.
        attendees: u32,
        /// Organising group.
        organisation: Option<String>,
        /// Contact.
        contact: Option<String>,
        /// Weekly repetitions (1 = once).
        weeks: Option<u32>,
        /// Acceptable other slots, in order of preference (at most 5), each
        /// `START/END` in the same forms as `start` and `end`.
        #[serde(default)]
        alternates: Vec<String>,
    },
    /// Confirm a booking (the arbiter).
    BookingConfirm {
        /// Resource.
        doc: Option<DocId>,
        /// Booking.
        booking: BookingId,
    },
    /// Reject a booking (the arbiter).
    BookingReject {
        /// Resource.
        doc: Option<DocId>,
        /// Booking.
        booking: BookingId,
        /// Why.
        reason: String,
    },
    /// Waitlist a booking (the arbiter).
    BookingWaitlist {
        /// Resource.
        doc: Option<DocId>,
        /// Booking.
        booking: BookingId,
    },
    /// Revoke a confirmed booking (owner or arbiter).
    BookingRevoke {
        /// Resource.
        doc: Option<DocId>,
        /// Booking.
        booking: BookingId,
        /// Why.
        reason: String,
    },
    /// Cancel a booking (the requesting organisation).
    BookingCancel {
        /// Resource.
        doc: Option<DocId>,
        /// Booking.
        booking: BookingId,
        /// Why.
        #[serde(default)]
        reason: String,
    },
    /// Bookings of a resource.
    BookingList {
        /// Resource.
        doc: Option<DocId>,
    },
    /// Order meals from a kitchen.
    OrderPlace {
        /// Kitchen.
        doc: Option<DocId>,
        /// Household, e.g. "3-2-401".
        household: String,
        /// Service date.
        #[schemars(with = "String")]
        date: Date,
        /// Portions.
        portions: u32,
        /// Dishes.
        #[serde(default)]
        items: Vec<String>,
    },
    /// Accept an order (the kitchen operator).
    OrderAccept {
        /// Kitchen.
        doc: Option<DocId>,
        /// Order.
        order: OrderId,
    },
    /// Refuse an order (the kitchen operator).
    OrderRefuse {
        /// Kitchen.
        doc: Option<DocId>,
        /// Order.
        order: OrderId,
        /// Why.
        reason: String,
    },
    /// Record whether an accepted order was collected.
    OrderCollected {
        /// Kitchen.
        doc: Option<DocId>,
        /// Order.
        order: OrderId,
        /// Collected or not.
        collected: bool,
    },
    /// Cancel an order (the placing organisation).
    OrderCancel {
        /// Kitchen.
        doc: Option<DocId>,
        /// Order.
        order: OrderId,
    },
    /// Orders of one service day.
    OrderList {
        /// Kitchen.
        doc: Option<DocId>,
        /// Service date.
        #[schemars(with = "String")]
        date: Date,
    },

    // ---- service ledger ---------------------------------------------------------------
    /// Create this community's service ledger for a year.
    LedgerCreate {
        /// Street (default: from this node's certificate).
        street: Option<OrgId>,
        /// Year (default this year).
        year: Option<i16>,
        /// Points rule (default 1 point per hour).
        rules: Option<LedgerRules>,
    },
    /// Record service hours.
    ServiceRecord {
        /// Ledger.
        doc: Option<DocId>,
        /// Volunteer (`org:n`).
        volunteer: VolunteerId,
        /// Activity.
        activity: String,
        /// Team.
        team: Option<String>,
        /// Date.
        #[schemars(with = "String")]
        date: Date,
        /// Hours.
        hours: f64,
        /// Evidence reference.
        evidence: Option<String>,
    },
    /// Record many service records at once (an import): at most
    /// [`MAX_BATCH_ROWS`](linli_core::ledger::MAX_BATCH_ROWS) rows, written as one change
    /// (more only if their records exceed a change's size). Each row is validated on its own
    /// and answered in order — `recorded` (with its entry), `already_imported` (its `source`
    /// was recorded by this organisation before: nothing written), or `rejected` (with the
    /// error) — so a bad row does not stop the others, and importing a file again adds
    /// nothing twice.
    ServiceImport {
        /// Ledger.
        doc: Option<DocId>,
        /// The rows, each with its source id (see `linli import --help`).
        rows: Vec<ServiceRow>,
    },
    /// Redeem points (the volunteer's home community).
    Redeem {
        /// Ledger.
        doc: Option<DocId>,
        /// Volunteer.
        volunteer: VolunteerId,
        /// Item.
        item: String,
        /// Cost in points (`4`, `1.5`).
        cost: String,
        /// Outlet.
        outlet: String,
    },
    /// Correct points.
    Correct {
        /// Ledger.
        doc: Option<DocId>,
        /// Volunteer.
        volunteer: VolunteerId,
        /// Entry corrected.
        corrects: Option<EntryId>,
        /// Points to add (negative removes).
        delta: String,
        /// Why.
        reason: String,
    },
    /// Entries of a ledger.
    Entries {
        /// Ledger.
        doc: Option<DocId>,
    },
    /// A volunteer's balance over every ledger held.
    Balance {
        /// Volunteer.
        volunteer: VolunteerId,
    },
    /// Every volunteer's earned points and balance over every ledger held.
    Balances,
    /// Leaderboard of one ledger.
    Leaderboard {
        /// Ledger.
        doc: Option<DocId>,
        /// Only this team.
        team: Option<String>,
    },
    /// Open a check-in session (the community or an organiser): volunteers check in and
    /// out with the code shown on this node (`session_code`) at its check-in page.
    SessionOpen {
        /// Ledger.
        doc: Option<DocId>,
        /// Activity or post.
        activity: String,
        /// Team.
        team: Option<String>,
        /// Where.
        place: String,
        /// Planned start (RFC 3339, or a local date-time in the ledger's zone).
        start: String,
        /// Planned end.
        end: String,
    },
    /// The current check-in code of a session this node opened, and its check-in page.
    SessionCode {
        /// Ledger.
        doc: Option<DocId>,
        /// Session.
        session: SessionId,
        /// The address volunteers reach this node's API at (`http://host:port`): the
        /// answer then carries the check-in page's full URL and its QR code.
        #[serde(default)]
        base: Option<String>,
    },
    /// Check a volunteer in with the session's current code.
    SessionCheckin {
        /// Ledger.
        doc: Option<DocId>,
        /// Session.
        session: SessionId,
        /// Volunteer.
        volunteer: VolunteerId,
        /// The six-digit code shown.
        code: String,
    },
    /// Check a volunteer out with the session's current code.
    SessionCheckout {
        /// Ledger.
        doc: Option<DocId>,
        /// Session.
        session: SessionId,
        /// Volunteer.
        volunteer: VolunteerId,
        /// The six-digit code shown.
        code: String,
    },
    /// Close a session: who is still checked in is checked out, and one verified service
    /// record per volunteer written.
    SessionClose {
        /// Ledger.
        doc: Option<DocId>,
        /// Session.
        session: SessionId,
    },
    /// The check-in sessions of a ledger with their check-ins.
    SessionList {
        /// Ledger.
        doc: Option<DocId>,
    },

    // ---- wishes -------------------------------------------------------------------------
    /// Create this community's wishes document.
    WishesCreate {
        /// Street (default: from this node's certificate).
        street: Option<OrgId>,
        /// Title.
        title: Option<String>,
    },
    /// Post a wish, offer, suggestion or problem.
    WishPost {
        /// Wishes document.
        doc: Option<DocId>,
        /// Kind (default wish).
        kind: Option<ItemKind>,
        /// Title.
        title: String,
        /// Text.
        #[serde(default)]
        text: String,
        /// Category.
        #[serde(default)]
        category: String,
        /// Channel (default app).
        channel: Option<Channel>,
        /// Place.
        place: Option<String>,
        /// The resident it is about: personal data, held only by the posting community and
        /// the organisations assigned to the wish (never in the document).
        resident: Option<Resident>,
    },
    /// Claim a wish.
    WishClaim {
        /// Wishes document.
        doc: Option<DocId>,
        /// Wish.
        wish: WishId,
        /// Volunteer, if an individual.
        volunteer: Option<VolunteerId>,
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// Assign a claim (the community).
    WishAssign {
        /// Wishes document.
        doc: Option<DocId>,
        /// Wish.
        wish: WishId,
        /// Claim.
        claim: ClaimId,
    },
    /// Release an assignment (the community).
    WishRelease {
        /// Wishes document.
        doc: Option<DocId>,
        /// Wish.
        wish: WishId,
        /// Claim.
        claim: ClaimId,
    },
    /// Record a lifecycle step (fulfilled, confirmed, withdrawn, routed, resolved, declined).
    WishAdvance {
        /// Wishes document.
        doc: Option<DocId>,
        /// Wish.
        wish: WishId,
        /// The step.
        stage: Stage,
    },
    /// Items with status and claims.
    WishList {
        /// Wishes document.
        doc: Option<DocId>,
    },

    // ---- volunteer registry ---------------------------------------------------------------
    /// Create this community's volunteer registry (its operations: `linli op list volunteers`).
    VolunteersCreate {
        /// Street (default: from this node's certificate).
        street: Option<OrgId>,
        /// Title.
        title: Option<String>,
    },
    /// The volunteer registry: volunteers with type, unit, teams, posts and status (name,
    /// phone and ID number where this node holds them: the home community), teams and
    /// paired units.
    VolunteerList {
        /// Volunteer registry.
        doc: Option<DocId>,
    },
    /// A registry's duty rotas from `from` to `to` (at most 92 days): every shift occurrence
    /// with who covers it, or only the coverage gaps.
    Rota {
        /// Volunteer registry.
        doc: Option<DocId>,
        /// Only this rota (its code).
        rota: Option<String>,
        /// First local date.
        #[schemars(with = "String")]
        from: jiff::civil::Date,
        /// Last local date.
        #[schemars(with = "String")]
        to: jiff::civil::Date,
        /// Only occurrences with fewer volunteers than needed.
        #[serde(default)]
        gaps: bool,
    },
    /// Write the shifts of `year` marked served as service records in the community's
    /// ledger of that year (source `rota:<rota>/<date>/<shift>/<volunteer>`: a shift
    /// already recorded is not written again).
    RotaRecord {
        /// Volunteer registry.
        doc: Option<DocId>,
        /// Ledger (default: the registry's community's ledger of `year`).
        ledger: Option<DocId>,
        /// Year.
        year: i16,
    },
    /// Plan a duty rota (create it, or change it keeping its shifts' numbers): recurring
    /// shifts in local time, shift 0 first (the community).
    RotaPlan {
        /// Volunteer registry.
        doc: Option<DocId>,
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
        /// The shifts, numbered from 0 in this order.
        shifts: Vec<linli_core::volunteers::Shift>,
    },
    /// Put an active volunteer on a rota's shift (every occurrence, or one date), or take
    /// them off (`off`).
    RotaAssign {
        /// Volunteer registry.
        doc: Option<DocId>,
        /// Rota code.
        rota: String,
        /// Shift number (from 0).
        shift: usize,
        /// One occurrence's date (none: every occurrence).
        #[serde(default)]
        #[schemars(with = "Option<String>")]
        date: Option<jiff::civil::Date>,
        /// The volunteer.
        volunteer: VolunteerId,
        /// Take the volunteer off instead.
        #[serde(default)]
        off: bool,
    },
    /// Record a request to hand one occurrence from a volunteer covering it to another,
    /// active one; the answer names the swap's id (`swap`) for `rota_decide`.
    RotaSwap {
        /// Volunteer registry.
        doc: Option<DocId>,
        /// Rota code.
        rota: String,
        /// Shift number.
        shift: usize,
        /// The occurrence's date.
        #[schemars(with = "String")]
        date: jiff::civil::Date,
        /// Who gives it away.
        from: VolunteerId,
        /// Who takes it (active).
        to: VolunteerId,
    },
    /// Approve or decline a swap request (the community, once).
    RotaDecide {
        /// Volunteer registry.
        doc: Option<DocId>,
        /// Rota code (none: the one rota with a swap of this id).
        #[serde(default)]
        rota: Option<String>,
        /// The swap's id.
        swap: String,
        /// Approve (true) or decline.
        approve: bool,
    },
    /// Mark an ended occurrence served by these volunteers (then `rota_record` writes their
    /// service records).
    RotaServed {
        /// Volunteer registry.
        doc: Option<DocId>,
        /// Rota code.
        rota: String,
        /// Shift number.
        shift: usize,
        /// The occurrence's date.
        #[schemars(with = "String")]
        date: jiff::civil::Date,
        /// Who served.
        volunteers: Vec<VolunteerId>,
    },
    /// Register a volunteer (the community). Name, phone and ID number are kept at home only
    /// (the registry keeps the masked name).
    VolunteerRegister {
        /// Volunteer registry.
        doc: Option<DocId>,
        /// Full name.
        name: String,
        /// Phone (unique among the community's current volunteers).
        #[serde(default)]
        phone: Option<String>,
        /// Resident ID number.
        #[serde(default)]
        id_number: Option<String>,
        /// Resident or in-service party member.
        kind: linli_core::volunteers::VolunteerType,
        /// The reporting unit of an in-service member (a paired unit).
        #[serde(default)]
        unit: Option<linli_core::Scope>,
        /// Team codes.
        #[serde(default)]
        teams: Vec<String>,
        /// Posts (an in-service member holds at least one).
        #[serde(default)]
        posts: Vec<linli_core::volunteers::Post>,
    },
    /// Pair a unit with the community (双报到).
    VolunteerPair {
        /// Volunteer registry.
        doc: Option<DocId>,
        /// The unit, by its certified scope.
        unit: linli_core::Scope,
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// Open or change the activity on a confirmed booking (its requester): places,
    /// waitlist length and the sign-up deadline.
    ActivitySet {
        /// Resource.
        doc: Option<DocId>,
        /// The booking.
        booking: BookingId,
        /// Title, e.g. "Paper-cutting class".
        title: String,
        /// Places (1..=10000).
        capacity: u32,
        /// How many more sign-ups may wait once the places are full.
        #[serde(default)]
        waitlist: u32,
        /// Sign-ups close then: RFC 3339 with an offset, or local time in the resource's
        /// zone (`2026-12-09T18:00`).
        deadline: String,
    },
    /// Sign a household (`dianye:h301`) or a volunteer up for a booking's activity, or
    /// cancel the sign-up (`cancel`: the first waitlisted takes the place).
    SignUp {
        /// Resource.
        doc: Option<DocId>,
        /// The booking.
        booking: BookingId,
        /// Who: a household pseudonym or a volunteer id.
        participant: linli_core::resource::Participant,
        /// Cancel instead.
        #[serde(default)]
        cancel: bool,
    },
    /// The swap requests of a registry's rotas, with their decisions.
    RotaSwaps {
        /// Volunteer registry.
        doc: Option<DocId>,
        /// Only this rota.
        #[serde(default)]
        rota: Option<String>,
    },
    /// The activities on a resource's bookings with their sign-ups and waitlists.
    Activities {
        /// Resource.
        doc: Option<DocId>,
        /// Only this booking's activity.
        booking: Option<BookingId>,
    },

    // ---- personal data ------------------------------------------------------------------
    /// Read a roster CSV (columns `name, phone, id_number, type, unit, teams, posts, id`;
    /// see `linli volunteers import --help`): each record with its line, as a row for
    /// `roster_import` or the reason it cannot be one.
    RosterCsv {
        /// The file's text.
        text: String,
    },
    /// Register the volunteers of roster rows (as `roster_csv` reads them) in batches of one
    /// change each: every row `registered`, `already_registered` (its id, or the same person
    /// by phone or ID number) or `rejected` with the error. Identities stay at home.
    RosterImport {
        /// Volunteer registry.
        doc: Option<DocId>,
        /// The rows.
        rows: Vec<linli_core::volunteers::RosterRow>,
    },

    // ---- personal data (continued) --------------------------------------------------------
    /// Record a volunteer's identity (name, phone, ID number): personal data held only by
    /// the home community's nodes; every other node knows the volunteer by its id alone.
    VolunteerIdentify {
        /// The home community's volunteer registry that lists the volunteer, or (for a
        /// volunteer registered before the registry) its ledger; default: the registry
        /// held here that knows the volunteer, else the only ledger.
        doc: Option<DocId>,
        /// The volunteer (`community:n`).
        volunteer: VolunteerId,
        /// Full name.
        name: String,
        /// Phone.
        phone: Option<String>,
        /// Resident ID number.
        id_number: Option<String>,
    },
    /// The personal data this node holds (bookers, households, residents, volunteers),
    /// with each record's audience.
    PersonalList {
        /// Only this document.
        doc: Option<DocId>,
    },
    /// Erase a person's data at their request, here and on every node of its audience;
    /// ids, statuses and balances stay.
    PersonalErase {
        /// The document the record belongs to.
        doc: DocId,
        /// The record, e.g. `requests/dianye@…:3` or `volunteers/dianye:7`.
        record: String,
    },

    // ---- files ----------------------------------------------------------------------------
    /// Write the whole signed change log to an export file (a path on the node's machine).
    ExportFile {
        /// Absolute path of the file to write.
        path: std::path::PathBuf,
    },
    /// Apply every change of an export file (idempotent).
    ImportFile {
        /// Absolute path of the file to read.
        path: std::path::PathBuf,
    },

    // ---- any operation ------------------------------------------------------------------
    /// Every operation of the catalogue (`linli_core::catalogue`): id (`kind.name`), help
    /// text and fields (name, required, type, help).
    Operations {
        /// Only operations of this kind.
        kind: Option<DocKind>,
    },
    /// What this node may do, for forms built from the schema (the dashboard's): its role
    /// and scope; every operation of the catalogue with its fields' schemas, who may
    /// perform it (linli-core's standings) and the documents held here on which this
    /// node's certificate gives it one of them; the documents it may create (judged by
    /// linli-core as a dry run) with their commands' fields; the schemas' definitions.
    Catalogue,
    /// Reads a service-records CSV (the `linli import --format csv` format) into the rows of
    /// `ledger.record_services`, each with its source id and the line it starts on, or why
    /// it cannot be imported (the dashboard's import sends the rows in batches). Writes
    /// nothing.
    ServiceCsv {
        /// The file's text.
        text: String,
    },
    /// Any operation of the catalogue by its id (`resource.bar`, `ledger.set_rules` …) with
    /// its fields by name; checked as linli-core checks it.
    Operation {
        /// The operation: `kind.name`.
        op: String,
        /// Document (default: the only one of the operation's kind).
        doc: Option<DocId>,
        /// The fields, by name.
        #[serde(default)]
        fields: serde_json::Map<String, Value>,
    },
    /// Create a document from its full specification (linli-core's `NewDoc`), as the
    /// language bindings do.
    Create {
        /// The new document.
        new: NewDoc,
    },
    /// A typed read of the language bindings (`linli_node::results::Read`): answers the JSON
    /// of a result type, the same on an opened store and through this API.
    Read {
        /// The read.
        read: crate::results::Read,
    },
    /// Any linli-core operation on a document (for operations without a command).
    Execute {
        /// Document.
        doc: DocId,
        /// The operation, `{"kind": "ledger", "op": {...}}`.
        op: Op,
    },

    // ---- points and team claims (ops/points.rs) -------------------------------------------
    /// Add an item to the points store of a ledger (the community).
    StoreAdd {
        /// Ledger.
        doc: Option<DocId>,
        /// Name.
        name: String,
        /// Cost in points (`4`, `1.5`).
        cost: String,
        /// Units in stock.
        stock: u32,
    },
    /// Add units to a store item (the community).
    StoreRestock {
        /// Ledger.
        doc: Option<DocId>,
        /// The item.
        item: linli_core::StoreItemId,
        /// Units added.
        quantity: u32,
    },
    /// Redeem a volunteer's points for a store item (the home community): one unit out of
    /// stock.
    StoreRedeem {
        /// Ledger.
        doc: Option<DocId>,
        /// Volunteer.
        volunteer: VolunteerId,
        /// The item.
        item: linli_core::StoreItemId,
        /// Outlet (default "points store").
        outlet: Option<String>,
    },
    /// The points store of a ledger, with stock.
    StoreList {
        /// Ledger.
        doc: Option<DocId>,
    },
    /// A volunteer's star certificate (this node's community's volunteers).
    Certificate {
        /// Volunteer.
        volunteer: VolunteerId,
    },
    /// Claim a wish or offer as a team with one accountable lead.
    WishClaimTeam {
        /// Wishes document.
        doc: Option<DocId>,
        /// Wish.
        wish: WishId,
        /// The accountable volunteer (one of the members).
        lead: VolunteerId,
        /// The members.
        members: Vec<VolunteerId>,
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// Claims per claimant in a year (a team claim counts once).
    WishStats {
        /// Wishes document.
        doc: Option<DocId>,
        /// Year (default this year).
        year: Option<i16>,
    },
}

impl Request {
    /// Whether the request only reads.
    pub fn is_read(&self) -> bool {
        matches!(
            self,
            Request::Status
                | Request::Documents { .. }
                | Request::Rejected
                | Request::Audit { .. }
                | Request::Peers
                | Request::Certificates { .. }
                | Request::CompoundList { .. }
                | Request::AnnualScores { .. }
                | Request::ResourceList
                | Request::BookingList { .. }
                | Request::OrderList { .. }
                | Request::Entries { .. }
                | Request::Balance { .. }
                | Request::Balances
                | Request::Leaderboard { .. }
                | Request::SessionCode { .. }
                | Request::SessionList { .. }
                | Request::WishList { .. }
                | Request::VolunteerList { .. }
                | Request::Rota { .. }
                | Request::RotaSwaps { .. }
                | Request::Activities { .. }
                | Request::PersonalList { .. }
                | Request::Operations { .. }
                | Request::Read { .. }
                | Request::Catalogue
                | Request::ServiceCsv { .. }
                | Request::RosterCsv { .. }
                | Request::StoreList { .. }
                | Request::Certificate { .. }
                | Request::WishStats { .. }
        )
    }
}

/// `calendar_url` / `calendar_rotate`: the feed's path (`/calendar/<secret>.ics`).
async fn calendar_feed(node: &Node, doc: Option<DocId>, rotate: bool) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Resource, doc).await?;
    let (owner, name) = node
        .read(move |r| {
            r.resource(doc)
                .map(|res| (res.owner().clone(), res.spec().name.clone()))
        })
        .await??;
    if &owner != node.org() {
        return Err(OpsError::Invalid(format!(
            "resource {doc} ({name}) belongs to {owner}; only its owner's node serves its \
             calendar feed (this node acts for {})",
            node.org()
        )));
    }
    let secret = node.calendar_feed(doc, rotate).await?;
    Ok(rows::calendar_feed(
        doc,
        &name,
        &crate::calendar::feed_path(&secret),
        rotate,
    ))
}

/// Executes `req` on `node` (no network: `peers` answers from the stored sync state).
pub async fn execute(node: &Node, req: Request) -> Result<Value, OpsError> {
    execute_with(node, None, req).await
}

/// Executes `req` on `node`, with the running network for `peers` and `status`.
pub async fn execute_with(
    node: &Node,
    net: Option<&Network>,
    req: Request,
) -> Result<Value, OpsError> {
    match req {
        Request::Status => status(node, net).await,
        Request::Documents { kind } => documents(node, kind).await,
        Request::Audit { limit } => {
            let rows: Vec<Value> = node
                .audit(limit.unwrap_or(100))
                .await?
                .iter()
                .map(rows::audit)
                .collect();
            Ok(Value::Array(rows))
        }
        Request::Rejected => {
            let rows: Vec<Value> = node.rejected().await?.iter().map(rows::rejected).collect();
            Ok(Value::Array(rows))
        }
        Request::Peers => peers(node, net).await,

        Request::FederationCreate { config } => {
            let sc = node
                .create(NewDoc::Federation {
                    config: config.unwrap_or_default(),
                })
                .await?;
            Ok(rows::created(sc.doc, DocKind::Federation))
        }
        Request::FederationIssue {
            doc,
            subject,
            role,
            org,
            parent,
            name,
            days,
        } => {
            let doc = resolve(node, DocKind::Federation, doc).await?;
            let subject = parse_node_id(&subject)?;
            let now = node.now();
            let not_after = match days {
                Some(d) if d <= 0 => {
                    return Err(OpsError::Invalid(format!("days must be positive, got {d}")));
                }
                Some(d) => now.plus_millis(d.saturating_mul(Timestamp::DAY)),
                None => node.read(move |r| r.default_cert_end(doc, now)).await??,
            };
            let name = name.unwrap_or_else(|| linli_core::replica::default_cert_name(&org));
            let op = Op::Federation(FederationOp::Issue {
                subject,
                role,
                org,
                parent,
                name,
                not_before: now,
                not_after,
            });
            write(node, doc, op).await
        }
        Request::Invite {
            role,
            org,
            parent,
            name,
            expires,
            addrs,
        } => invite::invite(node, net, role, org, parent, name, expires, addrs).await,
        Request::FederationRevoke {
            doc,
            subject,
            reason,
        } => {
            let doc = resolve(node, DocKind::Federation, doc).await?;
            let subject = parse_node_id(&subject)?;
            write(
                node,
                doc,
                Op::Federation(FederationOp::Revoke {
                    subject,
                    reason,
                    certs: None,
                }),
            )
            .await
        }
        Request::Certificates { doc } => {
            let doc = resolve(node, DocKind::Federation, doc).await?;
            let rows = node
                .read(move |r| -> Result<Vec<Value>, linli_core::Error> {
                    let fed = r.federation(doc)?;
                    // Certificates some revocation withdraws.
                    let revoked: std::collections::BTreeSet<linli_core::CertId> = fed
                        .revocations()
                        .into_values()
                        .flatten()
                        .flat_map(|r| r.certs)
                        .collect();
                    Ok(fed
                        .certificates()
                        .iter()
                        .map(|c| rows::certificate(c, revoked.contains(&c.id())))
                        .collect())
                })
                .await??;
            Ok(Value::Array(rows))
        }

        Request::RegistryCreate { street, title } => {
            let (street, community) = community_scope(node, street).await?;
            let title = title.unwrap_or_else(|| format!("{community} compound registry"));
            let sc = node
                .create(NewDoc::Registry {
                    street,
                    community,
                    title,
                })
                .await?;
            Ok(rows::created(sc.doc, DocKind::Registry))
        }
        Request::CompoundAdd {
            doc,
            name,
            address,
            households,
            mode,
        } => {
            let doc = resolve(node, DocKind::Registry, doc).await?;
            let c = Compound::new(&name, &address, households, mode);
            write(node, doc, Op::Registry(RegistryOp::AddCompound(c))).await
        }
        Request::CompoundList { doc, year } => {
            let doc = resolve(node, DocKind::Registry, doc).await?;
            let year = match year {
                Some(y) => y,
                None => this_year(node)?,
            };
            compound_rows(node, doc, year).await
        }
        Request::AnnualScores { doc, year } => {
            let doc = resolve(node, DocKind::Registry, doc).await?;
            compound_rows(node, doc, year).await
        }
        Request::CompoundAppoint {
            doc,
            compound,
            manager,
            mode,
            start,
            end,
            status,
        } => {
            let doc = resolve(node, DocKind::Registry, doc).await?;
            let op = Op::Registry(RegistryOp::Appoint {
                compound,
                manager,
                mode,
                selection: None,
                start,
                end,
                status: status.unwrap_or(AppointmentStatus::Appointed),
            });
            write(node, doc, op).await
        }
        Request::CompoundInspect {
            doc,
            compound,
            date,
            results,
            note,
        } => {
            let doc = resolve(node, DocKind::Registry, doc).await?;
            let op = Op::Registry(RegistryOp::Inspect {
                compound,
                date,
                results,
                note,
            });
            write(node, doc, op).await
        }
        Request::CompoundScore {
            doc,
            compound,
            year,
            role,
            marks,
            comment,
        } => {
            let doc = resolve(node, DocKind::Registry, doc).await?;
            let op = Op::Registry(RegistryOp::Score {
                compound,
                year,
                role,
                marks,
                comment,
            });
            write(node, doc, op).await
        }

        Request::ResourcePublish {
            street,
            community,
            name,
            kind,
            capacity,
            daily_capacity,
            area_m2,
            spec,
        } => {
            let (street, mine) = scope(node, street).await?;
            let community = community.or(mine);
            let spec = match spec {
                Some(mut s) => {
                    s.name = name;
                    s
                }
                None => {
                    let mut s = match kind.unwrap_or(ResourceKind::ActivityRoom) {
                        ResourceKind::Kitchen => {
                            ResourceSpec::kitchen(&name, capacity, daily_capacity.unwrap_or(100))
                        }
                        other => {
                            let mut s = ResourceSpec::room(&name, capacity);
                            s.kind = other;
                            s
                        }
                    };
                    s.area_m2 = area_m2;
                    s
                }
            };
            let sc = node
                .create(NewDoc::Resource {
                    street,
                    community,
                    spec,
                })
                .await?;
            Ok(rows::created(sc.doc, DocKind::Resource))
        }
        Request::CalendarUrl { doc } => calendar_feed(node, doc, false).await,
        Request::CalendarRotate { doc } => calendar_feed(node, doc, true).await,
        Request::ResourceList => {
            let rows = node
                .read(|r| {
                    r.ids_of(DocKind::Resource)
                        .into_iter()
                        .filter_map(|id| {
                            let res = r.resource(id).ok()?;
                            let h = r.header(id).ok()?;
                            Some(rows::resource(
                                id,
                                res.spec(),
                                &h.owner,
                                res.bookings().len(),
                            ))
                        })
                        .collect::<Vec<_>>()
                })
                .await?;
            Ok(Value::Array(rows))
        }
        Request::BookingRequest {
            doc,
            booker,
            purpose,
            start,
            end,
            attendees,
            organisation,
            contact,
            weeks,
            alternates,
        } => {
            let doc = resolve(node, DocKind::Resource, doc).await?;
            let zone = doc_zone(node, doc).await?;
            let start = parse_instant(&start, &zone, "start")?;
            let end = parse_instant(&end, &zone, "end")?;
            let slot = Slot::new(start, end)
                .map_err(|e| OpsError::Invalid(format!("booking slot {start} – {end}: {e}")))?;
            let mut form = BookingForm::new(&booker, &purpose, slot, attendees);
            if let Some(o) = organisation {
                form = form.with_organisation(&o);
            }
            if let Some(c) = contact {
                form = form.with_contact(&c);
            }
            if let Some(w) = weeks.filter(|w| *w > 1) {
                form = form.weekly(w);
            }
            let mut alts = Vec::new();
            for (i, a) in alternates.iter().enumerate() {
                let what = format!("alternate {}", i + 1);
                let (s, e) = a
                    .split_once('/')
                    .ok_or_else(|| OpsError::Invalid(format!("{what} {a:?} is not START/END")))?;
                let (s, e) = (
                    parse_instant(s, &zone, &what)?,
                    parse_instant(e, &zone, &what)?,
                );
                alts.push(
                    Slot::new(s, e)
                        .map_err(|x| OpsError::Invalid(format!("{what} {s} – {e}: {x}")))?,
                );
            }
            if !alts.is_empty() {
                form = form.with_alternates(alts);
            }
            write(node, doc, Op::Resource(ResourceOp::Request(form))).await
        }
        Request::BookingConfirm { doc, booking } => {
            resource_op(node, doc, ResourceOp::Confirm { booking }).await
        }
        Request::BookingReject {
            doc,
            booking,
            reason,
        } => resource_op(node, doc, ResourceOp::Reject { booking, reason }).await,
        Request::BookingWaitlist { doc, booking } => {
            resource_op(node, doc, ResourceOp::Waitlist { booking }).await
        }
        Request::BookingRevoke {
            doc,
            booking,
            reason,
        } => resource_op(node, doc, ResourceOp::Revoke { booking, reason }).await,
        Request::BookingCancel {
            doc,
            booking,
            reason,
        } => resource_op(node, doc, ResourceOp::Cancel { booking, reason }).await,
        Request::BookingList { doc } => {
            let doc = resolve(node, DocKind::Resource, doc).await?;
            booking_rows(node, doc).await
        }
        Request::OrderPlace {
            doc,
            household,
            date,
            portions,
            items,
        } => {
            let op = ResourceOp::PlaceOrder {
                household,
                date,
                portions,
                items,
            };
            resource_op(node, doc, op).await
        }
        Request::OrderAccept { doc, order } => {
            resource_op(node, doc, ResourceOp::AcceptOrder { order }).await
        }
        Request::OrderRefuse { doc, order, reason } => {
            resource_op(node, doc, ResourceOp::RefuseOrder { order, reason }).await
        }
        Request::OrderCollected {
            doc,
            order,
            collected,
        } => resource_op(node, doc, ResourceOp::MarkCollected { order, collected }).await,
        Request::OrderCancel { doc, order } => {
            resource_op(node, doc, ResourceOp::CancelOrder { order }).await
        }
        Request::OrderList { doc, date } => {
            let doc = resolve(node, DocKind::Resource, doc).await?;
            let v = node
                .read(move |r| -> Result<Value, linli_core::Error> {
                    let res = r.resource(doc)?;
                    let zone = res.spec().zone.clone();
                    let day = res.kitchen_day(date)?;
                    Ok(rows::kitchen_day(&day, &zone, |o| {
                        // The full household where this node is in its audience.
                        match r.personal_data(doc, &format!("orders/{}", o.id)) {
                            Some(PersonalData::Household { household }) => household.clone(),
                            _ => o.order.household.clone(),
                        }
                    }))
                })
                .await??;
            Ok(v)
        }

        Request::LedgerCreate {
            street,
            year,
            rules,
        } => {
            let (street, community) = community_scope(node, street).await?;
            let year = match year {
                Some(y) => y,
                None => this_year(node)?,
            };
            let sc = node
                .create(NewDoc::Ledger {
                    street,
                    community,
                    year,
                    rules: rules.unwrap_or_default(),
                })
                .await?;
            Ok(rows::created(sc.doc, DocKind::Ledger))
        }
        Request::ServiceRecord {
            doc,
            volunteer,
            activity,
            team,
            date,
            hours,
            evidence,
        } => {
            let doc = resolve(node, DocKind::Ledger, doc).await?;
            let op = Op::Ledger(LedgerOp::RecordService {
                volunteer,
                activity,
                team,
                date,
                hours,
                evidence,
            });
            write(node, doc, op).await
        }
        Request::ServiceImport { doc, rows } => service_import(node, doc, rows).await,
        Request::SessionOpen {
            doc,
            activity,
            team,
            place,
            start,
            end,
        } => sessions::open(node, doc, activity, team, place, start, end).await,
        Request::SessionCode { doc, session, base } => {
            sessions::code(node, doc, session, base).await
        }
        Request::SessionCheckin {
            doc,
            session,
            volunteer,
            code,
        } => sessions::check(node, doc, session, volunteer, code, false).await,
        Request::SessionCheckout {
            doc,
            session,
            volunteer,
            code,
        } => sessions::check(node, doc, session, volunteer, code, true).await,
        Request::SessionClose { doc, session } => sessions::close(node, doc, session).await,
        Request::SessionList { doc } => {
            sessions::close_ended(node).await;
            sessions::list(node, doc).await
        }
        Request::Redeem {
            doc,
            volunteer,
            item,
            cost,
            outlet,
        } => {
            let doc = resolve(node, DocKind::Ledger, doc).await?;
            let cost = parse_points(&cost, "cost")?;
            let op = Op::Ledger(LedgerOp::Redeem {
                volunteer,
                item,
                cost,
                outlet,
            });
            write(node, doc, op).await
        }
        Request::Correct {
            doc,
            volunteer,
            corrects,
            delta,
            reason,
        } => {
            let doc = resolve(node, DocKind::Ledger, doc).await?;
            let delta = parse_points(&delta, "delta")?;
            let op = Op::Ledger(LedgerOp::Correct {
                volunteer,
                corrects,
                delta,
                reason,
            });
            write(node, doc, op).await
        }
        Request::Entries { doc } => {
            let doc = resolve(node, DocKind::Ledger, doc).await?;
            let rows = node
                .read(move |r| -> Result<Vec<Value>, linli_core::Error> {
                    let l = r.ledger(doc)?;
                    Ok(l.entries()
                        .into_iter()
                        .map(|(id, e)| {
                            let mut row = entry_row(&id, &e);
                            // A declined entry is listed with its reason (counted nowhere).
                            if let (Some(d), Value::Object(m)) = (l.decline(&id), &mut row) {
                                m.insert("declined".into(), Value::String(d.reason));
                            }
                            row
                        })
                        .collect())
                })
                .await??;
            Ok(Value::Array(rows))
        }
        Request::Balance { volunteer } => {
            let v = volunteer.clone();
            let p = node.balance(volunteer).await?;
            Ok(rows::balance(&v, p))
        }
        Request::Balances => {
            let now = node.now();
            let rows = node.read(move |r| balance_rows(r, now)).await?;
            Ok(Value::Array(rows))
        }
        Request::Leaderboard { doc, team } => {
            let doc = resolve(node, DocKind::Ledger, doc).await?;
            let rows: Vec<Value> = node
                .leaderboard(doc, team)
                .await?
                .into_iter()
                .enumerate()
                .map(|(i, s)| rows::leaderboard(i + 1, &s))
                .collect();
            Ok(Value::Array(rows))
        }

        Request::WishesCreate { street, title } => {
            let (street, community) = community_scope(node, street).await?;
            let title = title.unwrap_or_else(|| format!("{community} wishes"));
            let sc = node
                .create(NewDoc::Wishes {
                    street,
                    community,
                    title,
                })
                .await?;
            Ok(rows::created(sc.doc, DocKind::Wishes))
        }
        Request::WishPost {
            doc,
            kind,
            title,
            text,
            category,
            channel,
            place,
            resident,
        } => {
            let op = WishesOp::Post {
                kind: kind.unwrap_or(ItemKind::Wish),
                title,
                text,
                category,
                channel: channel.unwrap_or(Channel::App),
                place,
                resident,
            };
            wishes_op(node, doc, op).await
        }
        Request::WishClaim {
            doc,
            wish,
            volunteer,
            note,
        } => {
            wishes_op(
                node,
                doc,
                WishesOp::Claim {
                    wish,
                    volunteer,
                    note,
                },
            )
            .await
        }
        Request::WishAssign { doc, wish, claim } => {
            wishes_op(node, doc, WishesOp::Assign { wish, claim }).await
        }
        Request::WishRelease { doc, wish, claim } => {
            wishes_op(node, doc, WishesOp::Release { wish, claim }).await
        }
        Request::WishAdvance { doc, wish, stage } => {
            wishes_op(node, doc, WishesOp::Advance { wish, stage }).await
        }
        Request::WishList { doc } => {
            let doc = resolve(node, DocKind::Wishes, doc).await?;
            let rows = node
                .read(move |r| -> Result<Vec<Value>, linli_core::Error> {
                    let ws = r.wishes(doc)?;
                    Ok(ws
                        .items()
                        .into_iter()
                        .map(|(id, item)| {
                            let status = ws.status(&id).map(|s| s.label()).unwrap_or("?");
                            let claims: Vec<String> = ws
                                .claims(&id)
                                .into_iter()
                                .map(|(c, _)| c.to_string())
                                .collect();
                            let resident = r.personal_data(doc, &format!("items/{id}"));
                            rows::wish(&id, &item, status, &claims, resident)
                        })
                        .collect())
                })
                .await??;
            Ok(Value::Array(rows))
        }

        Request::VolunteersCreate { street, title } => {
            let (street, community) = community_scope(node, street).await?;
            let title = title.unwrap_or_else(|| format!("{community} volunteers"));
            let sc = node
                .create(NewDoc::Volunteers {
                    street,
                    community,
                    title,
                })
                .await?;
            Ok(rows::created(sc.doc, DocKind::Volunteers))
        }
        Request::VolunteerList { doc } => {
            let doc = resolve(node, DocKind::Volunteers, doc).await?;
            let rows = node
                .read(move |r| -> Result<Vec<Value>, linli_core::Error> {
                    let reg = r.volunteers(doc)?;
                    Ok(reg
                        .volunteers()
                        .into_iter()
                        .map(|(id, v)| {
                            let identity = r.personal_data(doc, &format!("volunteers/{id}"));
                            let history = reg.history(&id);
                            let release = reg.release(&id);
                            rows::volunteer(&id, &v, &history, release.as_ref(), identity)
                        })
                        .collect())
                })
                .await??;
            Ok(Value::Array(rows))
        }

        Request::ExportFile { path } => {
            let s = node.export(&path).await?;
            Ok(rows::export(&s))
        }
        Request::ImportFile { path } => {
            let r = node.import(&path).await?;
            Ok(rows::import(&path, &r))
        }
        Request::Execute { doc, op } => write(node, doc, op).await,
        req @ (Request::StoreAdd { .. }
        | Request::StoreRestock { .. }
        | Request::StoreRedeem { .. }
        | Request::StoreList { .. }
        | Request::Certificate { .. }
        | Request::WishClaimTeam { .. }
        | Request::WishStats { .. }) => points::execute(node, req).await,
        Request::Create { new } => {
            let kind = new.kind();
            let sc = node.create(new).await?;
            Ok(rows::created(sc.doc, kind))
        }
        Request::Read { read } => crate::results::answer(node, read).await,
        Request::Operations { kind } => Ok(Value::Array(
            catalogue::operations()
                .iter()
                .filter(|o| kind.is_none_or(|k| k == o.kind))
                .map(operation_row)
                .collect(),
        )),
        Request::Catalogue => rows::catalogue(node).await,
        Request::RosterCsv { text } => roster::parsed(&text),
        Request::RosterImport { doc, rows } => roster::import(node, doc, rows).await,
        Request::ServiceCsv { text } => {
            let rows = crate::cli::service_rows(text.as_bytes()).map_err(OpsError::Invalid)?;
            Ok(rows::service_csv(&rows))
        }
        Request::Operation { op, doc, fields } => {
            let found = catalogue::find(&op).map_err(|e| OpsError::Invalid(e.to_string()))?;
            let typed = found
                .build(fields)
                .map_err(|e| OpsError::Invalid(e.to_string()))?;
            let doc = resolve(node, found.kind, doc).await?;
            write(node, doc, typed).await
        }
        Request::Rota {
            doc,
            rota,
            from,
            to,
            gaps,
        } => rotas::rota(node, doc, rota, from, to, gaps).await,
        Request::RotaRecord { doc, ledger, year } => rotas::record(node, doc, ledger, year).await,
        Request::RotaPlan {
            doc,
            code,
            title,
            team,
            from,
            until,
            shifts,
        } => {
            let op = VolunteersOp::SetRota {
                code,
                title,
                team,
                from,
                until,
                shifts,
            };
            rotas::write_op(node, doc, op).await
        }
        Request::RotaAssign {
            doc,
            rota,
            shift,
            date,
            volunteer,
            off,
        } => {
            let op = if off {
                VolunteersOp::UnassignShift {
                    rota,
                    shift,
                    date,
                    volunteer,
                }
            } else {
                VolunteersOp::AssignShift {
                    rota,
                    shift,
                    date,
                    volunteer,
                }
            };
            rotas::write_op(node, doc, op).await
        }
        Request::RotaSwap {
            doc,
            rota,
            shift,
            date,
            from,
            to,
        } => rotas::swap(node, doc, rota, shift, date, from, to).await,
        Request::RotaDecide {
            doc,
            rota,
            swap,
            approve,
        } => rotas::decide(node, doc, rota, swap, approve).await,
        Request::RotaServed {
            doc,
            rota,
            shift,
            date,
            volunteers,
        } => {
            let op = VolunteersOp::MarkServed {
                rota,
                shift,
                date,
                volunteers,
            };
            rotas::write_op(node, doc, op).await
        }
        Request::RotaSwaps { doc, rota } => rotas::swaps(node, doc, rota).await,
        Request::VolunteerRegister {
            doc,
            name,
            phone,
            id_number,
            kind,
            unit,
            teams,
            posts,
        } => {
            let op = VolunteersOp::Register {
                name,
                phone,
                id_number,
                kind,
                unit,
                teams,
                posts,
            };
            rotas::write_op(node, doc, op).await
        }
        Request::VolunteerPair { doc, unit, note } => {
            rotas::write_op(node, doc, VolunteersOp::Pair { unit, note }).await
        }
        Request::ActivitySet {
            doc,
            booking,
            title,
            capacity,
            waitlist,
            deadline,
        } => {
            let doc = resolve(node, DocKind::Resource, doc).await?;
            let zone = doc_zone(node, doc).await?;
            let deadline = parse_instant(&deadline, &zone, "deadline")?;
            let op = ResourceOp::SetActivity {
                booking,
                title,
                capacity,
                waitlist,
                deadline,
            };
            write(node, doc, Op::Resource(op)).await
        }
        Request::SignUp {
            doc,
            booking,
            participant,
            cancel,
        } => {
            let doc = resolve(node, DocKind::Resource, doc).await?;
            let op = if cancel {
                ResourceOp::CancelSignUp {
                    booking,
                    participant,
                }
            } else {
                ResourceOp::SignUp {
                    booking,
                    participant,
                }
            };
            write(node, doc, Op::Resource(op)).await
        }
        Request::Activities { doc, booking } => rotas::activities(node, doc, booking).await,
        Request::VolunteerIdentify {
            doc,
            volunteer,
            name,
            phone,
            id_number,
        } => {
            let doc = match doc {
                Some(d) => d,
                None => {
                    let v = volunteer.clone();
                    let listed = node
                        .read(move |r| {
                            r.ids_of(DocKind::Volunteers)
                                .into_iter()
                                .find(|d| r.volunteers(*d).is_ok_and(|reg| reg.knows(&v)))
                        })
                        .await?;
                    match listed {
                        Some(d) => d,
                        None => resolve(node, DocKind::Ledger, None).await?,
                    }
                }
            };
            let data = PersonalData::Volunteer {
                name,
                phone,
                id_number,
            };
            let rec = node
                .write_personal(doc, &format!("volunteers/{volunteer}"), Some(data))
                .await?;
            Ok(personal_row_of(&rec, None))
        }
        Request::PersonalErase { doc, record } => {
            let rec = node.erase_personal(doc, &record).await?;
            Ok(personal_row_of(&rec, None))
        }
        Request::PersonalList { doc } => {
            let rows = node
                .read(move |r| {
                    r.personal_records()
                        .filter(|p| doc.is_none_or(|d| d == p.doc))
                        .map(|p| {
                            let aud = r.personal_audience(p.doc, &p.record).ok();
                            personal_row_of(p, aud.as_ref())
                        })
                        .collect::<Vec<_>>()
                })
                .await?;
            Ok(Value::Array(rows))
        }
    }
}

// ---- helpers ------------------------------------------------------------------------------

async fn write(node: &Node, doc: DocId, op: Op) -> Result<Value, OpsError> {
    let w = node.execute(doc, op).await?;
    let change = w
        .change
        .change_hash()
        .map(|h| h.to_string())
        .unwrap_or_default();
    // The confirmed slot in the resource's local time, for people.
    let slot = match &w.effect {
        linli_core::Effect::Confirmed { slot, .. } => doc_zone(node, doc)
            .await
            .ok()
            .map(|zone| slot.display_in(&zone)),
        _ => None,
    };
    Ok(rows::written(doc, &w.effect, change, slot))
}

/// [`Request::ServiceImport`]: the rows as one change (rows a full change deferred go into
/// the next), each row's outcome in order.
async fn service_import(
    node: &Node,
    doc: Option<DocId>,
    rows: Vec<ServiceRow>,
) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Ledger, doc).await?;
    let (out, changes) = in_rounds(
        node,
        doc,
        &rows,
        |batch| Op::Ledger(LedgerOp::RecordServices { rows: batch }),
        |r| match r {
            Ok(linli_core::Effect::Imported(o)) => Ok(o),
            Ok(other) => Err(OpsError::Invalid(format!(
                "linli-core answered an import with {other:?}"
            ))),
            Err(NodeError::Core(linli_core::Error::Ledger(LedgerError::NothingToWrite(o)))) => {
                Ok(o)
            }
            Err(e) => Err(e.into()),
        },
        |o| matches!(o, RowOutcome::Deferred),
    )
    .await?;
    let mut counts = (0u64, 0u64, 0u64);
    let rows: Vec<Value> = out
        .into_iter()
        .map(|o| {
            let o = o.unwrap_or(RowOutcome::Deferred);
            match &o {
                RowOutcome::Recorded { .. } => counts.0 += 1,
                RowOutcome::AlreadyImported { .. } => counts.1 += 1,
                RowOutcome::Rejected { .. } | RowOutcome::Deferred => counts.2 += 1,
            }
            serde_json::to_value(&o).unwrap_or(Value::Null)
        })
        .collect();
    Ok(rows::service_import(doc, &changes, counts, rows))
}

/// Writes `rows` as batches of `op`, in as few changes as linli-core takes them: each round
/// submits again the rows a full change deferred (a change always takes its first row, so
/// every round makes progress). Returns each row's outcome (`None`: still deferred) and the
/// changes written. `outcomes` reads a round's answer: the written change's effect, or the
/// error that says nothing was to be written (with each row's outcome).
pub(super) async fn in_rounds<R: Clone, O>(
    node: &Node,
    doc: DocId,
    rows: &[R],
    op: impl Fn(Vec<R>) -> Op,
    outcomes: impl Fn(Result<linli_core::Effect, NodeError>) -> Result<Vec<O>, OpsError>,
    deferred: impl Fn(&O) -> bool,
) -> Result<(Vec<Option<O>>, Vec<String>), OpsError> {
    let mut out: Vec<Option<O>> = rows.iter().map(|_| None).collect();
    let mut todo: Vec<usize> = (0..rows.len()).collect();
    let mut changes = Vec::new();
    loop {
        let batch: Vec<R> = todo.iter().map(|&i| rows[i].clone()).collect();
        let answer = match node.execute(doc, op(batch)).await {
            Ok(w) => {
                changes.push(
                    w.change
                        .change_hash()
                        .map(|h| h.to_string())
                        .unwrap_or_default(),
                );
                outcomes(Ok(w.effect))?
            }
            Err(e) => outcomes(Err(e))?,
        };
        let mut again = Vec::new();
        for (&i, o) in todo.iter().zip(answer) {
            if deferred(&o) {
                again.push(i);
            } else {
                out[i] = Some(o);
            }
        }
        if again.is_empty() || again.len() == todo.len() {
            break;
        }
        todo = again;
    }
    Ok((out, changes))
}

async fn resource_op(node: &Node, doc: Option<DocId>, op: ResourceOp) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Resource, doc).await?;
    write(node, doc, Op::Resource(op)).await
}

async fn wishes_op(node: &Node, doc: Option<DocId>, op: WishesOp) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Wishes, doc).await?;
    write(node, doc, Op::Wishes(op)).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_error_table_has_one_row_per_class_and_one_status_per_refusal() {
        for c in ErrorClass::ALL {
            assert_eq!(CLASSES.iter().filter(|r| r.class == c).count(), 1, "{c:?}");
            assert_eq!(class_row(c).class, c);
        }
        let statuses: std::collections::BTreeSet<u16> = CLASSES.iter().map(|r| r.http).collect();
        assert_eq!(statuses.len(), CLASSES.len(), "one status per class");
        // The same refusal reads the same through HTTP whichever error wraps it.
        use linli_core::resource::ResourceError;
        let not_arbiter = ResourceError::NotArbiter {
            who: "beishi/hongqi".parse().unwrap(),
            slot: "Tuesday 19:00".into(),
            arbiter: "Dianye".into(),
        };
        let e = OpsError::from(linli_core::Error::from(not_arbiter));
        assert_eq!((e.http_status(), e.kind()), (403, "unauthorized"));
        let unknown = ResourceError::UnknownBooking("dianye:1".parse().unwrap());
        let e = OpsError::from(linli_core::Error::from(unknown));
        assert_eq!((e.http_status(), e.kind()), (404, "not_found"));
    }

    #[test]
    fn points_parse() {
        assert_eq!(parse_points("4", "x").unwrap(), Points(400));
        assert_eq!(parse_points("1.5", "x").unwrap(), Points(150));
        assert_eq!(parse_points("-0.25", "x").unwrap(), Points(-25));
        assert!(parse_points("1.234", "x").is_err());
        assert!(parse_points("abc", "x").is_err());
        assert!(parse_points("", "x").is_err());
    }

    #[test]
    fn instants_parse_with_offset_or_in_zone() {
        let z = Zone::shanghai();
        let a = parse_instant("2026-12-01T19:00:00+08:00", &z, "start").unwrap();
        let b = parse_instant("2026-12-01T19:00", &z, "start").unwrap();
        assert_eq!(a, b);
        let e = parse_instant("tomorrow", &z, "start").unwrap_err();
        assert!(e.to_string().contains("start \"tomorrow\""), "{e}");
    }

    #[test]
    fn requests_are_tagged_json_and_refuse_unknown_fields() {
        let r: Request =
            serde_json::from_str(r#"{"cmd":"balance","volunteer":"dianye:7"}"#).unwrap();
        assert!(matches!(r, Request::Balance { .. }));
        let e =
            serde_json::from_str::<Request>(r#"{"cmd":"booking_list","dok":"ab"}"#).unwrap_err();
        assert!(e.to_string().contains("dok"), "{e}");
        let e = serde_json::from_str::<Request>(r#"{"cmd":"fly"}"#).unwrap_err();
        assert!(e.to_string().contains("fly"), "{e}");
    }
}
