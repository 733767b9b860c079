//! Compound registry: one document per community.
//!
//! # Records and who writes them
//!
//! | map | key | record | written by |
//! |---|---|---|---|
//! | `compounds` | `<compound>` | [`Compound`] (profile, mode, lifecycle) | the owning community |
//! | `appointments` | `<compound>` | [`Appointment`] | the street of the community |
//! | `inspections` | `<compound>/<inspection>` | [`Inspection`] | the owning community |
//! | `scores` | `<compound>/<year>/<role>` | [`ScoreSheet`] | the scorer of that role |
//!
//! # Merge behaviour
//!
//! * A compound profile is one record written by its community only: the latest write of
//!   that single writer wins; nothing is ever deleted (lifecycle `archived` instead).
//! * An appointment is one record per compound written by the street. If two appointments
//!   are made concurrently (neither writer saw the other), automerge keeps both values at the
//!   key and [`Registry::appointment`] reports [`AppointmentView::Contested`] listing both —
//!   a concurrent second appointment is never silently lost. The next appointment written by
//!   a street that has seen both resolves the contest.
//! * Inspections are append-only records with their own ids.
//! * Each score sheet has its own key per year and scorer role, so sheets from different
//!   scorers never conflict; the composite score and the below-threshold flag are computed
//!   on read from the sheets present and the district's weights, never stored.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::cert::Role;
pub use crate::district::{
    ChecklistItem, ChecklistTemplate, DistrictConfig, ItemKind, ScorerRole, ScoringConfig,
};
use crate::document::Write;
use crate::document::{Document, Put};
use crate::ids::{CompoundId, InspectionId, OrgId, Scope};
use crate::kind::{Ctx, Effect};
use crate::policy;
use crate::schema::{decode, id, key_parts};
use crate::time::Timestamp;

/// The record maps of a registry.
pub const MAPS: &[&str] = &["appointments", "compounds", "inspections", "scores"];
/// Record maps added after the kind's first version (none).
pub const LATE_MAPS: &[&str] = &[];

/// How a compound is managed (extensible: `Other` carries models such as "red property").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ManagementMode {
    /// A property firm chosen by the owners.
    PropertyFirm,
    /// A guarantee-type (publicly backed, basic) property firm, 保障型物业.
    GuaranteeFirm,
    /// The property-rights unit manages the compound itself, 产权单位.
    PropertyRightsUnit,
    /// Residents manage it themselves (自管会, self-governance team).
    SelfManaged,
    /// No managing body (无主管 / 弃管).
    Unmanaged,
    /// Any other model, e.g. street-backed interim or "red property" management.
    Other(String),
}

impl ManagementMode {
    /// Short label for tables.
    pub fn label(&self) -> String {
        match self {
            ManagementMode::PropertyFirm => "property firm".into(),
            ManagementMode::GuaranteeFirm => "guarantee firm".into(),
            ManagementMode::PropertyRightsUnit => "property-rights unit".into(),
            ManagementMode::SelfManaged => "self-managed".into(),
            ManagementMode::Unmanaged => "unmanaged".into(),
            ManagementMode::Other(s) => s.clone(),
        }
    }
}

/// Lifecycle of a registry entry; entries are never deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// Registered, not yet active.
    Registered,
    /// Under renovation.
    UnderRenovation,
    /// Active.
    Active,
    /// Archived (final).
    Archived,
}

/// A building of a compound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Building {
    /// Building number or name, e.g. "3".
    pub name: String,
    /// Stairwell units.
    pub units: u32,
    /// Households.
    pub households: u32,
}

/// A compound's profile as kept by its community.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Compound {
    /// Name, e.g. "Shimalu compound".
    pub name: String,
    /// Street address.
    pub address: String,
    /// Grid (网格) code, if the community uses grids.
    pub grid: Option<String>,
    /// Year built.
    pub year_built: Option<i16>,
    /// Buildings; may be empty when only the total is known.
    pub buildings: Vec<Building>,
    /// Total households.
    pub households: u32,
    /// How the compound is managed.
    pub mode: ManagementMode,
    /// Whether an owners' committee exists.
    pub owners_committee: bool,
    /// Facilities (fire box, cameras, e-bike charging …).
    pub facilities: Vec<String>,
    /// Lifecycle state.
    pub status: Lifecycle,
}

impl Compound {
    /// A new compound with the essentials; other fields empty.
    pub fn new(name: &str, address: &str, households: u32, mode: ManagementMode) -> Self {
        Self {
            name: name.into(),
            address: address.into(),
            grid: None,
            year_built: None,
            buildings: Vec::new(),
            households,
            mode,
            owners_committee: false,
            facilities: Vec::new(),
            status: Lifecycle::Registered,
        }
    }

    fn validate(&self) -> Result<(), RegistryError> {
        let invalid = |reason: String| Err(RegistryError::InvalidCompound(reason));
        if self.name.trim().is_empty() {
            return invalid("name is empty".into());
        }
        if self.address.trim().is_empty() {
            return invalid("address is empty".into());
        }
        let in_buildings: u32 = self.buildings.iter().map(|b| b.households).sum();
        if !self.buildings.is_empty() && in_buildings != self.households {
            return invalid(format!(
                "buildings hold {in_buildings} households but the total says {}",
                self.households
            ));
        }
        if let ManagementMode::Other(s) = &self.mode
            && s.trim().is_empty()
        {
            return invalid("management mode 'other' needs a name".into());
        }
        Ok(())
    }
}

/// Status of a property-management appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    /// Proposed, not yet signed.
    Proposed,
    /// Appointed.
    Appointed,
    /// Renewed for a further term.
    Renewed,
    /// Dismissed (解聘), e.g. after failing the annual score.
    Dismissed,
    /// Ended at the end of its term.
    Ended,
}

/// How the manager was selected (e.g. owners' meetings and a door-to-door vote).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Selection {
    /// Candidate firms.
    pub candidates: Vec<String>,
    /// Votes per candidate.
    pub tally: BTreeMap<String, u32>,
    /// Dates of owners' general meetings.
    #[schemars(with = "Vec<String>")]
    pub meetings: Vec<Date>,
}

/// A property-management appointment, signed by the street.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    /// The manager: firm, unit or self-management team.
    pub manager: String,
    /// Mode under which it manages.
    pub mode: ManagementMode,
    /// Selection record.
    pub selection: Option<Selection>,
    /// Start of the term.
    pub start: Date,
    /// End of the term, if fixed.
    pub end: Option<Date>,
    /// Status.
    pub status: AppointmentStatus,
    /// The street that signed.
    pub by: Scope,
    /// When it was signed.
    pub at: Timestamp,
}

/// Whom a compound's appointment record currently names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppointmentView {
    /// No appointment recorded.
    Vacant,
    /// One appointment.
    Current(Appointment),
    /// Concurrent appointments by different writers: all are shown, none is dropped.
    Contested(Vec<Appointment>),
}

/// An inspection of a compound against the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    /// Template id the inspection used.
    pub template: String,
    /// Date of the inspection.
    pub date: Date,
    /// Item id → compliant?
    pub results: BTreeMap<String, bool>,
    /// Points scored (computed from the template at write time).
    pub points: u32,
    /// Out of.
    pub max_points: u32,
    /// Note.
    pub note: String,
    /// Who inspected.
    pub by: Scope,
}

/// One scorer's yearly sheet for a compound's manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreSheet {
    /// Manager scored (as named in the appointment).
    pub manager: String,
    /// Per-item marks; their sum is the sheet total (0–100).
    pub marks: BTreeMap<String, u32>,
    /// Comment.
    pub comment: String,
    /// Scoring organisation.
    pub by: Scope,
    /// When it was written.
    pub at: Timestamp,
}

impl ScoreSheet {
    /// Sum of marks.
    pub fn total(&self) -> u32 {
        self.marks.values().sum()
    }
}

/// The computed yearly result of a compound.
#[derive(Debug, Clone, PartialEq)]
pub struct Composite {
    /// Year.
    pub year: i16,
    /// Sheet totals present, per role.
    pub totals: BTreeMap<ScorerRole, u32>,
    /// Weighted mean of present sheets (0–100), `None` without sheets.
    pub score: Option<f64>,
    /// Whether all four roles have scored.
    pub complete: bool,
    /// `score < pass_mark`.
    pub below_threshold: bool,
}

/// Operations on a registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistryOp {
    /// Register a new compound.
    AddCompound(Compound),
    /// Replace a compound's profile.
    UpdateCompound {
        /// Which compound.
        id: CompoundId,
        /// The new profile.
        compound: Compound,
    },
    /// Write the compound's appointment (street only).
    Appoint {
        /// Which compound.
        compound: CompoundId,
        /// Manager.
        manager: String,
        /// Mode.
        mode: ManagementMode,
        /// Selection record.
        selection: Option<Selection>,
        /// Term start.
        #[schemars(with = "String")]
        start: Date,
        /// Term end.
        #[schemars(with = "Option<String>")]
        end: Option<Date>,
        /// Status.
        status: AppointmentStatus,
    },
    /// Record an inspection (community).
    Inspect {
        /// Which compound.
        compound: CompoundId,
        /// Date.
        #[schemars(with = "String")]
        date: Date,
        /// Item id → compliant.
        results: BTreeMap<String, bool>,
        /// Note.
        note: String,
    },
    /// Write the author's own score sheet for a year.
    Score {
        /// Which compound.
        compound: CompoundId,
        /// Year.
        year: i16,
        /// The role the author scores as.
        role: ScorerRole,
        /// Marks per item.
        marks: BTreeMap<String, u32>,
        /// Comment.
        comment: String,
    },
}

/// Errors of registry operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The writer is not the organisation that may write this.
    #[error("{who} may not write here: only {owner} may")]
    NotOwner {
        /// The writer.
        who: Scope,
        /// Who may.
        owner: Scope,
    },
    /// No such compound.
    #[error("unknown compound {0}")]
    UnknownCompound(CompoundId),
    /// The profile is invalid.
    #[error("invalid compound: {0}")]
    InvalidCompound(String),
    /// Archived entries are final.
    #[error("compound {0} is archived and can no longer change")]
    Archived(CompoundId),
    /// An appointment is invalid.
    #[error("invalid appointment: {0}")]
    InvalidAppointment(String),
    /// Inspection results do not match the checklist template.
    #[error("inspection does not match checklist {template}: {reason}")]
    ChecklistMismatch {
        /// Template id.
        template: String,
        /// What did not match.
        reason: String,
    },
    /// A score sheet is invalid.
    #[error("invalid score sheet: {0}")]
    InvalidScore(String),
}

/// Read view of a compound registry.
pub struct Registry<'a> {
    doc: &'a Document,
    district: &'a DistrictConfig,
}

impl<'a> Registry<'a> {
    /// Wraps a registry document.
    pub fn new(doc: &'a Document, district: &'a DistrictConfig) -> Self {
        Self { doc, district }
    }
    /// The owning community.
    pub fn community(&self) -> &OrgId {
        &self.doc.header().owner
    }
    /// All compounds in id order.
    pub fn compounds(&self) -> Vec<(CompoundId, Compound)> {
        self.doc
            .records::<Compound>("compounds")
            .into_iter()
            .filter_map(|(k, c)| k.parse().ok().map(|id| (id, c)))
            .collect()
    }
    /// One compound.
    pub fn compound(&self, id: &CompoundId) -> Result<Compound, RegistryError> {
        self.doc
            .get::<Compound>("compounds", &id.to_string())
            .ok()
            .flatten()
            .ok_or_else(|| RegistryError::UnknownCompound(id.clone()))
    }
    /// The appointment of a compound, showing concurrent appointments as contested.
    pub fn appointment(&self, id: &CompoundId) -> AppointmentView {
        let mut all: Vec<Appointment> = self
            .doc
            .get_all("appointments", &id.to_string())
            .unwrap_or_default();
        match all.len() {
            0 => AppointmentView::Vacant,
            1 => AppointmentView::Current(all.remove(0)),
            _ => AppointmentView::Contested(all),
        }
    }
    /// Inspections of a compound, oldest id first.
    pub fn inspections(&self, id: &CompoundId) -> Vec<(InspectionId, Inspection)> {
        self.doc
            .records_with_prefix::<Inspection>("inspections", &format!("{id}/"))
            .into_iter()
            .filter_map(|(k, v)| {
                let (_, i) = k.split_once('/')?;
                i.parse().ok().map(|i| (i, v))
            })
            .collect()
    }
    /// Score sheets of a compound for a year.
    pub fn sheets(&self, id: &CompoundId, year: i16) -> BTreeMap<ScorerRole, ScoreSheet> {
        self.doc
            .records_with_prefix::<ScoreSheet>("scores", &format!("{id}/{year}/"))
            .into_iter()
            .filter_map(|(k, v)| ScorerRole::parse(k.rsplit('/').next()?).map(|r| (r, v)))
            .collect()
    }
    /// The composite score of a compound for a year, from the sheets present and the
    /// district weights (weights of missing sheets are left out of the mean).
    pub fn composite(&self, id: &CompoundId, year: i16) -> Composite {
        let cfg = &self.district.scoring;
        let totals: BTreeMap<ScorerRole, u32> = self
            .sheets(id, year)
            .into_iter()
            .map(|(r, s)| (r, s.total()))
            .collect();
        let (mut num, mut den) = (0u64, 0u64);
        for (role, total) in &totals {
            let w = u64::from(cfg.weights.get(role).copied().unwrap_or(0));
            num += w * u64::from(*total);
            den += w;
        }
        let score = (den > 0).then(|| num as f64 / den as f64);
        Composite {
            year,
            complete: ScorerRole::ALL.iter().all(|r| totals.contains_key(r)),
            below_threshold: score.is_some_and(|s| s < f64::from(cfg.pass_mark)),
            totals,
            score,
        }
    }
}

fn key_of(id: &CompoundId) -> String {
    id.to_string()
}

/// A new registry of `community` (owned by it; `owner` is the creating organisation, which
/// the genesis policy requires to be the community).
pub(crate) fn genesis(
    owner: OrgId,
    street: OrgId,
    community: OrgId,
    title: String,
) -> Result<crate::document::Genesis, RegistryError> {
    Ok(crate::document::community_genesis(
        crate::document::DocKind::Registry,
        owner,
        street,
        community,
        title,
    ))
}

impl crate::kind::KindOp for RegistryOp {
    fn split_personal(self) -> (Self, Option<crate::personal::PersonalData>) {
        // No operation of this kind carries personal data.
        (self, None)
    }
}

/// Validates a registry operation and returns the record puts.
pub fn plan(
    doc: &Document,
    ctx: &Ctx<'_>,
    op: RegistryOp,
) -> Result<(Vec<Put>, Effect, String), RegistryError> {
    let reg = Registry::new(doc, ctx.district);
    let me = ctx.scope;
    let community = doc.header().owner_scope();
    let require_community = || {
        if *me != community {
            return Err(RegistryError::NotOwner {
                who: me.clone(),
                owner: community.clone(),
            });
        }
        Ok(())
    };
    let existing = |id: &CompoundId| -> Result<Compound, RegistryError> {
        let c = reg.compound(id)?;
        if c.status == Lifecycle::Archived {
            return Err(RegistryError::Archived(id.clone()));
        }
        Ok(c)
    };
    match op {
        RegistryOp::AddCompound(c) => {
            require_community()?;
            c.validate()?;
            let id = CompoundId(ctx.author.next_id(doc, "compounds", ""));
            let msg = format!("register compound {id} {}", c.name);
            Ok((
                vec![Put::new("compounds", key_of(&id), &c)],
                Effect::Compound(id),
                msg,
            ))
        }
        RegistryOp::UpdateCompound { id, compound } => {
            require_community()?;
            existing(&id)?;
            compound.validate()?;
            Ok((
                vec![Put::new("compounds", key_of(&id), &compound)],
                Effect::Compound(id.clone()),
                format!("update compound {id}"),
            ))
        }
        RegistryOp::Appoint {
            compound,
            manager,
            mode,
            selection,
            start,
            end,
            status,
        } => {
            let street = &doc.header().street_scope();
            if me != street {
                return Err(RegistryError::NotOwner {
                    who: me.clone(),
                    owner: street.clone(),
                });
            }
            existing(&compound)?;
            if manager.trim().is_empty() {
                return Err(RegistryError::InvalidAppointment("manager is empty".into()));
            }
            if let Some(end) = end
                && end <= start
            {
                return Err(RegistryError::InvalidAppointment(format!(
                    "term ends {end}, not after it starts {start}"
                )));
            }
            if let Some(sel) = &selection
                && let Some(unknown) = sel.tally.keys().find(|k| !sel.candidates.contains(k))
            {
                return Err(RegistryError::InvalidAppointment(format!(
                    "tally names {unknown:?}, who is not a candidate"
                )));
            }
            let a = Appointment {
                manager,
                mode,
                selection,
                start,
                end,
                status,
                by: me.clone(),
                at: ctx.now,
            };
            let msg = format!("appointment of {compound}: {} ({:?})", a.manager, a.status);
            Ok((
                vec![Put::new("appointments", key_of(&compound), &a)],
                Effect::Done,
                msg,
            ))
        }
        RegistryOp::Inspect {
            compound,
            date,
            results,
            note,
        } => {
            require_community()?;
            existing(&compound)?;
            let t = &ctx.district.checklist;
            let mismatch = |reason: String| RegistryError::ChecklistMismatch {
                template: t.id.clone(),
                reason,
            };
            if t.items.is_empty() {
                return Err(mismatch(
                    "the district has not configured a checklist".into(),
                ));
            }
            if let Some(extra) = results
                .keys()
                .find(|k| !t.items.iter().any(|i| &i.id == *k))
            {
                return Err(mismatch(format!("unknown item {extra:?}")));
            }
            if let Some(missing) = t.items.iter().find(|i| !results.contains_key(&i.id)) {
                return Err(mismatch(format!("no result for item {:?}", missing.id)));
            }
            let points = t
                .items
                .iter()
                .filter(|i| results.get(&i.id).copied().unwrap_or(false))
                .map(|i| i.points)
                .sum();
            let ins = Inspection {
                template: t.id.clone(),
                date,
                results,
                points,
                max_points: t.max_points(),
                note,
                by: me.clone(),
            };
            let id = InspectionId(
                ctx.author
                    .next_id(doc, "inspections", &format!("{compound}/")),
            );
            Ok((
                vec![Put::new("inspections", format!("{compound}/{id}"), &ins)],
                Effect::Inspection(id),
                format!("inspection of {compound}: {points}/{}", ins.max_points),
            ))
        }
        RegistryOp::Score {
            compound,
            year,
            role,
            marks,
            comment,
        } => {
            let h = doc.header();
            let allowed = match role {
                ScorerRole::Community | ScorerRole::Owners => *me == h.owner_scope(),
                ScorerRole::Street => *me == h.street_scope(),
                // The competent department is a body the root certified for the district
                // (a scope of one code that is not a street's: the write policy checks its
                // certificate role).
                ScorerRole::Department => me.len() == 1 && *me != h.street_scope(),
            };
            if !allowed {
                return Err(RegistryError::InvalidScore(format!(
                    "{me} may not write the {} sheet",
                    role.as_str()
                )));
            }
            existing(&compound)?;
            let manager = match reg.appointment(&compound) {
                AppointmentView::Current(a) => a.manager,
                AppointmentView::Vacant => {
                    return Err(RegistryError::InvalidScore(format!(
                        "compound {compound} has no appointed manager to score"
                    )));
                }
                AppointmentView::Contested(_) => {
                    return Err(RegistryError::InvalidScore(format!(
                        "the appointment of {compound} is contested; the street must resolve it first"
                    )));
                }
            };
            let total: u32 = marks.values().sum();
            if total > 100 {
                return Err(RegistryError::InvalidScore(format!(
                    "marks sum to {total}, above 100"
                )));
            }
            if !(1900..=2200).contains(&year) {
                return Err(RegistryError::InvalidScore(format!(
                    "year {year} is out of range"
                )));
            }
            let sheet = ScoreSheet {
                manager,
                marks,
                comment,
                by: me.clone(),
                at: ctx.now,
            };
            Ok((
                vec![Put::new(
                    "scores",
                    format!("{compound}/{year}/{}", role.as_str()),
                    &sheet,
                )],
                Effect::Done,
                format!("{} score {year} of {compound}: {total}", role.as_str()),
            ))
        }
    }
}

/// Key shape and record type per map.
pub(crate) fn check_record(map: &str, key: &str, value: &str) -> Result<(), String> {
    match map {
        "compounds" => {
            let [c] = key_parts::<1>(key)?;
            id::<CompoundId>(c)?;
            decode::<Compound>(value)?
                .validate()
                .map_err(|e| e.to_string())
        }
        "appointments" => {
            let [c] = key_parts::<1>(key)?;
            id::<CompoundId>(c)?;
            decode::<Appointment>(value).map(drop)
        }
        "inspections" => {
            let [c, i] = key_parts::<2>(key)?;
            id::<CompoundId>(c)?;
            id::<InspectionId>(i)?;
            decode::<Inspection>(value).map(drop)
        }
        "scores" => {
            let [c, y, r] = key_parts::<3>(key)?;
            id::<CompoundId>(c)?;
            id::<i16>(y)?;
            ScorerRole::parse(r).ok_or_else(|| format!("unknown scorer role {r:?}"))?;
            let s = decode::<ScoreSheet>(value)?;
            if s.total() > 100 {
                return Err(format!("marks sum to {}, above 100", s.total()));
            }
            Ok(())
        }
        _ => Err(format!("a registry has no record map {map:?}")),
    }
}

/// The registry kind's contract (see [`crate::kind`]).
pub struct RegistryContract;

/// This module's [`crate::kind::Kind`].
pub static KIND: RegistryContract = RegistryContract;

crate::kind::kind_basics!(Registry, RegistryContract, RegistryOp);

impl crate::kind::Kind for RegistryContract {
    crate::kind::kind_basics!(Registry, RegistryOp);
    /// Performers, as its rules below: the community its compounds and inspections, the
    /// street appointments; a score sheet its scorer (owners' and community's sheets the
    /// community, the street's the street, the department's a department).
    fn performers(&self, op: &str) -> Option<&'static [crate::policy::Standing]> {
        use crate::policy::Standing::*;
        Some(match op {
            "add_compound" | "update_compound" | "inspect" => &[Owner],
            "appoint" => &[Street],
            "score" => &[Owner, Street, Department],
            _ => return None,
        })
    }
    /// No operation of the registry is performed by whom its records name.
    fn named(&self, _: &Document, _: &crate::cert::Principal) -> bool {
        false
    }
    /// Receivers: public governance data: its street (all within it) and the district departments.
    fn receives(&self, r: &crate::kind::Relation) -> bool {
        r.own || r.in_street || r.department
    }
    fn write_once(&self, map: &str, _key: &str) -> bool {
        map == "inspections"
    }
    fn needs_history(&self, _map: &str, _key: &str) -> bool {
        false
    }
    fn authorize(
        &self,
        rules: &crate::policy::Rules<'_>,
        w: &crate::document::Write,
    ) -> Result<(), String> {
        rules.registry(w)
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
        _doc: &Document,
        _map: &str,
        _key: &str,
    ) -> Option<Result<crate::personal::Audience, crate::personal::PersonalError>> {
        // No record of this kind carries personal data.
        None
    }
    fn receives_for_content(&self, _doc: &Document, _who: &crate::cert::Principal) -> bool {
        // Nothing in this kind's documents grants more than the relation.
        false
    }
}

/// This kind's write policy (reached through [`Kind::authorize`](crate::kind::Kind::authorize)).
impl policy::Rules<'_> {
    pub(crate) fn registry(&self, w: &Write) -> policy::Rule {
        let (h, who) = (self.h, self.who);
        let community = || {
            policy::require(
                policy::is_owner(h, who) && who.role == Some(Role::Community),
                || format!("only community {} writes its compounds", h.owner_scope()),
            )
        };
        match w.map.as_str() {
            "compounds" => {
                community()?;
                if !self.doc.exists_at("compounds", &w.key, self.deps) {
                    self.own_number(&policy::first_id::<CompoundId>(&w.key)?.0)?;
                }
                Ok(())
            }
            "inspections" => {
                community()?;
                let id: InspectionId = w
                    .key
                    .split('/')
                    .nth(1)
                    .and_then(|k| k.parse().ok())
                    .ok_or_else(|| format!("malformed key {:?}", w.key))?;
                self.own_number(&id.0)?;
                let ins: Inspection = policy::decode(w)?;
                self.names_signer(&ins.by, "inspector")
            }
            "appointments" => {
                policy::require(policy::is_street(h, who), || {
                    format!(
                        "only street {} appoints and dismisses property managers",
                        h.street_scope()
                    )
                })?;
                let a: Appointment = policy::decode(w)?;
                self.names_signer(&a.by, "signing street")
            }
            "scores" => {
                let role = w.key.rsplit('/').next().unwrap_or_default();
                let sheet: ScoreSheet = policy::decode(w)?;
                self.names_signer(&sheet.by, "scorer")?;
                match role {
                    "owners" | "community" => community(),
                    "street" => policy::require(policy::is_street(h, who), || {
                        format!("only street {} writes the street's sheet", h.street_scope())
                    }),
                    "department" => policy::require(policy::is_department(who), || {
                        "the department's sheet is written by a department certified by the district root".into()
                    }),
                    other => Err(format!("unknown scorer role {other:?}")),
                }
            }
            _ => Err("unknown map".into()),
        }
    }
}

impl RegistryError {
    /// The class of this error.
    pub fn class(&self) -> crate::class::ErrorClass {
        use RegistryError as E;
        match self {
            E::NotOwner { .. } => crate::class::ErrorClass::Unauthorized,
            E::UnknownCompound(_) => crate::class::ErrorClass::NotFound,
            E::Archived(_) => crate::class::ErrorClass::Conflict,
            E::InvalidCompound(_)
            | E::InvalidAppointment(_)
            | E::ChecklistMismatch { .. }
            | E::InvalidScore(_) => crate::class::ErrorClass::Invalid,
        }
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;

/// In Chinese, for the people who read refusals ([`crate::zh`]).
impl crate::zh::Chinese for RegistryError {
    fn zh(&self) -> String {
        match self {
            RegistryError::NotOwner { who, owner } => {
                format!("{who} 无权在此写入：只有 {owner} 可以")
            }
            RegistryError::UnknownCompound(c) => format!("未知的小区 {c}"),
            RegistryError::InvalidCompound(m) => format!("小区信息无效：{m}"),
            RegistryError::Archived(c) => format!("小区 {c} 已归档，不能再修改"),
            RegistryError::InvalidAppointment(m) => format!("物业选聘无效：{m}"),
            RegistryError::ChecklistMismatch { template, reason } => {
                format!("检查记录与检查表 {template} 不符：{reason}")
            }
            RegistryError::InvalidScore(m) => format!("评分表无效：{m}"),
        }
    }
}
