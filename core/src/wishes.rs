//! Wishes and requests: one document per community holding micro-wishes (微心愿),
//! service-menu offers (服务菜单), suggestions and problems.
//!
//! # Records and who writes them
//!
//! | map | key | record | written by |
//! |---|---|---|---|
//! | `items` | `<item>` | [`Item`] | the community (offers also its street) |
//! | `claims` | `<item>/<claim>` | [`Claim`] (a team claim: members and one lead, [`team`]) | any organisation, under its own id |
//! | `assignments` | `<item>/<claim>` | [`Assignment`] | the community |
//! | `progress` | `<item>/<stage>` | [`Progress`] | the community; `fulfilled` also the assignee |
//!
//! # Merge behaviour
//!
//! Many organisations may claim the same wish concurrently: each claim has its own key, so
//! all claims survive a merge. Only the community assigns, so exactly one claim of a wish is
//! assigned at a time; releasing the assignment returns the wish to *published*/*claimed*.
//! A service-menu offer is a standing offer: several claims may each get an assignment.
//! Lifecycle steps are separate keys, and the status is derived with a fixed precedence
//! (withdrawn > confirmed > fulfilled > assigned > claimed > published; for suggestions
//! declined/resolved > routed > received), so any merge order yields the same status.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cert::Principal;
use crate::document::Write;
use crate::document::{Document, Put};
use crate::ids::{ClaimId, OrgId, Scope, VolunteerId, WishId};
use crate::kind::{Ctx, Effect};
use crate::policy;
use crate::schema::{decode, id, key_parts};
use crate::time::Timestamp;

pub mod team;
pub use team::*;

/// The record maps of a wishes document.
pub const MAPS: &[&str] = &["assignments", "claims", "items", "progress"];
/// Record maps added after the kind's first version (none).
pub const LATE_MAPS: &[&str] = &[];

/// What an item is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A resident's micro-wish: exactly one claimant is assigned.
    Wish,
    /// A service-menu offer: a standing offer several claimants may take up.
    Offer,
    /// A resident's suggestion.
    Suggestion,
    /// A problem to route and resolve.
    Problem,
}

impl ItemKind {
    fn claimable(self) -> bool {
        matches!(self, ItemKind::Wish | ItemKind::Offer)
    }
}

/// Where an item came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Residents' forum.
    Forum,
    /// City reporting app.
    App,
    /// Home visit.
    HomeVisit,
    /// Questionnaire.
    Questionnaire,
    /// QR code.
    QrCode,
    /// Anything else.
    Other(String),
}

/// A posted item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Kind.
    pub kind: ItemKind,
    /// Short title.
    pub title: String,
    /// Text (no personal data: residents are named by the community's own records only).
    pub text: String,
    /// Category, e.g. "elder care".
    pub category: String,
    /// Channel.
    pub channel: Channel,
    /// Compound or building concerned.
    pub place: Option<String>,
    /// Who posted.
    pub by: Scope,
    /// When.
    pub at: Timestamp,
}

/// An offer to take up an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// Claiming organisation (unit, community, partner).
    pub claimant: Scope,
    /// Volunteer who will do it, if an individual.
    pub volunteer: Option<VolunteerId>,
    /// Note.
    pub note: String,
    /// When.
    pub at: Timestamp,
    /// A team claim's members and its one lead (the `volunteer` above); see [`team`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Team>,
}

/// The community's assignment of a claim (inactive after release).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// Whether the assignment stands.
    pub active: bool,
    /// Who decided.
    pub by: Scope,
    /// When.
    pub at: Timestamp,
}

/// A lifecycle step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "stage")]
pub enum Stage {
    /// Done by the assignee.
    Fulfilled {
        /// Note.
        note: String,
    },
    /// Confirmed by the community.
    Confirmed,
    /// Withdrawn by the community.
    Withdrawn {
        /// Why.
        reason: String,
    },
    /// Routed to someone (suggestions, problems).
    Routed {
        /// To whom (community, station, unit or an outside office).
        to: String,
    },
    /// Resolved.
    Resolved {
        /// Resolution.
        resolution: String,
    },
    /// Declined.
    Declined {
        /// Why.
        reason: String,
    },
}

impl Stage {
    fn key(&self) -> &'static str {
        match self {
            Stage::Fulfilled { .. } => "fulfilled",
            Stage::Confirmed => "confirmed",
            Stage::Withdrawn { .. } => "withdrawn",
            Stage::Routed { .. } => "routed",
            Stage::Resolved { .. } => "resolved",
            Stage::Declined { .. } => "declined",
        }
    }
}

/// A lifecycle record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The step.
    pub stage: Stage,
    /// Who wrote it.
    pub by: Scope,
    /// When.
    pub at: Timestamp,
}

/// Derived status of an item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Posted, nobody claimed yet (wishes, offers).
    Published,
    /// Claimed by this many, none assigned.
    Claimed(usize),
    /// Assigned to these claims (one for a wish; any number for an offer).
    Assigned(Vec<ClaimId>),
    /// Fulfilled, awaiting confirmation.
    Fulfilled,
    /// Confirmed by the community.
    Confirmed,
    /// Received (suggestions, problems).
    Received,
    /// Routed.
    Routed(String),
    /// Resolved.
    Resolved,
    /// Declined.
    Declined,
    /// Withdrawn.
    Withdrawn,
}

impl Status {
    /// Short label for reports.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Published => "published",
            Status::Claimed(_) => "claimed",
            Status::Assigned(_) => "assigned",
            Status::Fulfilled => "fulfilled",
            Status::Confirmed => "confirmed",
            Status::Received => "received",
            Status::Routed(_) => "routed",
            Status::Resolved => "resolved",
            Status::Declined => "declined",
            Status::Withdrawn => "withdrawn",
        }
    }
}

/// Operations on a wishes document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WishesOp {
    /// Post an item.
    Post {
        /// Kind.
        kind: ItemKind,
        /// Title.
        title: String,
        /// Text.
        text: String,
        /// Category.
        category: String,
        /// Channel.
        channel: Channel,
        /// Place.
        place: Option<String>,
        /// The resident it is about (personal data: kept out of the document, held only by
        /// the posting community and the organisations assigned to it).
        #[serde(default)]
        resident: Option<crate::personal::Resident>,
    },
    /// Offer to take up a wish or offer.
    Claim {
        /// The item.
        wish: WishId,
        /// Volunteer, if an individual.
        volunteer: Option<VolunteerId>,
        /// Note.
        note: String,
    },
    /// Assign a claim (the community).
    Assign {
        /// The item.
        wish: WishId,
        /// The claim.
        claim: ClaimId,
    },
    /// Release an assignment (the community); the item returns to published/claimed.
    Release {
        /// The item.
        wish: WishId,
        /// The claim.
        claim: ClaimId,
    },
    /// Record a lifecycle step.
    Advance {
        /// The item.
        wish: WishId,
        /// The step.
        stage: Stage,
    },
    /// Offer to take up a wish or offer as a team of volunteers with one accountable lead
    /// (counted once in the yearly counts).
    ClaimTeam {
        /// The item.
        wish: WishId,
        /// The accountable volunteer (one of the members).
        lead: VolunteerId,
        /// The members (2 to 50, distinct).
        members: Vec<VolunteerId>,
        /// Note.
        #[serde(default)]
        note: String,
    },
}

/// Errors of wishes operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WishesError {
    /// Writer not allowed.
    #[error("{who} may not {what}")]
    NotAllowed {
        /// Writer.
        who: Scope,
        /// What it tried.
        what: String,
    },
    /// No such item.
    #[error("unknown wish {0}")]
    UnknownWish(WishId),
    /// No such claim on the item.
    #[error("wish {wish} has no claim {claim}: assign only a claim that was offered")]
    NotClaimed {
        /// The item.
        wish: WishId,
        /// The claim.
        claim: ClaimId,
    },
    /// A wish already has its one assignee.
    #[error("wish {wish} is already assigned to {current}; release it first")]
    AlreadyAssigned {
        /// The item.
        wish: WishId,
        /// Current assignee claim.
        current: ClaimId,
    },
    /// The step does not fit the item's kind or status.
    #[error("wish {wish} is {status}: cannot {what}")]
    BadTransition {
        /// The item.
        wish: WishId,
        /// Current status label.
        status: &'static str,
        /// Attempted step.
        what: String,
    },
    /// Text empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// A team claim's team is malformed.
    #[error("invalid team: {0}")]
    BadTeam(String),
}

/// Read view of a wishes document.
pub struct Wishes<'a> {
    doc: &'a Document,
}

impl<'a> Wishes<'a> {
    /// Wraps a wishes document.
    pub fn new(doc: &'a Document) -> Self {
        Self { doc }
    }
    /// The owning community.
    pub fn community(&self) -> &OrgId {
        &self.doc.header().owner
    }
    /// All items in id order.
    pub fn items(&self) -> Vec<(WishId, Item)> {
        self.doc
            .records::<Item>("items")
            .into_iter()
            .filter_map(|(k, v)| k.parse().ok().map(|id| (id, v)))
            .collect()
    }
    /// One item.
    pub fn item(&self, id: &WishId) -> Result<Item, WishesError> {
        self.doc
            .get::<Item>("items", &id.to_string())
            .ok()
            .flatten()
            .ok_or_else(|| WishesError::UnknownWish(id.clone()))
    }
    /// Claims of an item.
    pub fn claims(&self, id: &WishId) -> Vec<(ClaimId, Claim)> {
        sub_records(self.doc, "claims", id)
    }
    /// Active assignments of an item.
    pub fn assigned(&self, id: &WishId) -> Vec<ClaimId> {
        sub_records::<Assignment>(self.doc, "assignments", id)
            .into_iter()
            .filter(|(_, a)| a.active)
            .map(|(c, _)| c)
            .collect()
    }
    /// Lifecycle steps of an item.
    pub fn progress(&self, id: &WishId) -> BTreeMap<String, Progress> {
        self.doc
            .records_with_prefix::<Progress>("progress", &format!("{id}/"))
            .into_iter()
            .filter_map(|(k, v)| Some((k.rsplit_once('/')?.1.to_string(), v)))
            .collect()
    }
    /// Derived status.
    pub fn status(&self, id: &WishId) -> Result<Status, WishesError> {
        let item = self.item(id)?;
        let p = self.progress(id);
        let has = |s: &str| p.contains_key(s);
        if has("withdrawn") {
            return Ok(Status::Withdrawn);
        }
        Ok(match item.kind {
            ItemKind::Wish | ItemKind::Offer => {
                if has("confirmed") {
                    Status::Confirmed
                } else if has("fulfilled") {
                    Status::Fulfilled
                } else {
                    let a = self.assigned(id);
                    if !a.is_empty() {
                        Status::Assigned(a)
                    } else {
                        match self.claims(id).len() {
                            0 => Status::Published,
                            n => Status::Claimed(n),
                        }
                    }
                }
            }
            ItemKind::Suggestion | ItemKind::Problem => {
                if has("declined") {
                    Status::Declined
                } else if has("resolved") {
                    Status::Resolved
                } else if let Some(Progress {
                    stage: Stage::Routed { to },
                    ..
                }) = p.get("routed")
                {
                    Status::Routed(to.clone())
                } else {
                    Status::Received
                }
            }
        })
    }
    /// Counts of items posted in `year` (local time of the document's zone), per kind and
    /// status label, for the yearly public report.
    pub fn yearly_counts(&self, year: i16) -> BTreeMap<(ItemKind, &'static str), u32> {
        let zone = &self.doc.header().zone;
        let mut out = BTreeMap::new();
        for (id, item) in self.items() {
            let in_year = item.at.local(zone).is_ok_and(|(d, _)| d.year() == year);
            if !in_year {
                continue;
            }
            if let Ok(s) = self.status(&id) {
                *out.entry((item.kind, s.label())).or_insert(0) += 1;
            }
        }
        out
    }
}

fn sub_records<T: serde::de::DeserializeOwned>(
    doc: &Document,
    map: &str,
    wish: &WishId,
) -> Vec<(ClaimId, T)> {
    doc.records_with_prefix::<T>(map, &format!("{wish}/"))
        .into_iter()
        .filter_map(|(k, v)| k.rsplit_once('/')?.1.parse().ok().map(|c| (c, v)))
        .collect()
}

impl crate::kind::KindOp for WishesOp {
    fn split_personal(self) -> (Self, Option<crate::personal::PersonalData>) {
        match self {
            WishesOp::Post {
                kind,
                title,
                text,
                category,
                channel,
                place,
                resident,
            } => {
                let op = WishesOp::Post {
                    kind,
                    title,
                    text,
                    category,
                    channel,
                    place,
                    resident: None,
                };
                (op, resident.map(crate::personal::PersonalData::from))
            }
            op => (op, None),
        }
    }
}

/// A new wishes document of `community` (owned by it; `owner` is the creating
/// organisation, which the genesis policy requires to be the community).
pub(crate) fn genesis(
    owner: OrgId,
    street: OrgId,
    community: OrgId,
    title: String,
) -> Result<crate::document::Genesis, WishesError> {
    Ok(crate::document::community_genesis(
        crate::document::DocKind::Wishes,
        owner,
        street,
        community,
        title,
    ))
}

/// Validates a wishes operation and returns the record puts.
pub fn plan(
    doc: &Document,
    ctx: &Ctx<'_>,
    op: WishesOp,
) -> Result<(Vec<Put>, Effect, String), WishesError> {
    let w = Wishes::new(doc);
    let me = ctx.scope;
    let community = doc.header().owner_scope();
    let not_allowed = |what: String| WishesError::NotAllowed {
        who: me.clone(),
        what,
    };
    let bad = |wish: &WishId, status: &Status, what: &str| WishesError::BadTransition {
        wish: wish.clone(),
        status: status.label(),
        what: what.to_string(),
    };
    match op {
        WishesOp::Post {
            kind,
            title,
            text,
            category,
            channel,
            place,
            resident: _,
        } => {
            let may =
                *me == community || (kind == ItemKind::Offer && *me == doc.header().street_scope());
            if !may {
                return Err(not_allowed(format!("post in {community}'s wishes")));
            }
            if title.trim().is_empty() {
                return Err(WishesError::Empty("title"));
            }
            let item = Item {
                kind,
                title,
                text,
                category,
                channel,
                place,
                by: me.clone(),
                at: ctx.now,
            };
            let id = WishId(ctx.author.next_id(doc, "items", ""));
            let msg = format!("post {kind:?} {id}: {}", item.title);
            Ok((
                vec![Put::new("items", id.to_string(), &item)],
                Effect::Wish(id),
                msg,
            ))
        }
        WishesOp::Claim {
            wish,
            volunteer,
            note,
        } => {
            let item = w.item(&wish)?;
            let status = w.status(&wish)?;
            let open = matches!(
                (&item.kind, &status),
                (
                    ItemKind::Offer,
                    Status::Published | Status::Claimed(_) | Status::Assigned(_)
                ) | (ItemKind::Wish, Status::Published | Status::Claimed(_))
            );
            if !item.kind.claimable() || !open {
                return Err(bad(&wish, &status, "claim"));
            }
            let claim = Claim {
                claimant: me.clone(),
                volunteer,
                note,
                at: ctx.now,
                team: None,
            };
            let id = ClaimId(ctx.author.next_id(doc, "claims", &format!("{wish}/")));
            Ok((
                vec![Put::new("claims", format!("{wish}/{id}"), &claim)],
                Effect::Claim(id.clone()),
                format!("claim {id} on {wish}"),
            ))
        }
        WishesOp::ClaimTeam {
            wish,
            lead,
            members,
            note,
        } => {
            let item = w.item(&wish)?;
            let status = w.status(&wish)?;
            let open = matches!(
                (&item.kind, &status),
                (
                    ItemKind::Offer,
                    Status::Published | Status::Claimed(_) | Status::Assigned(_)
                ) | (ItemKind::Wish, Status::Published | Status::Claimed(_))
            );
            if !open {
                return Err(bad(&wish, &status, "claim"));
            }
            team::plan_claim(doc, ctx, wish, Team { lead, members }, note)
        }
        WishesOp::Assign { wish, claim } => {
            if *me != community {
                return Err(not_allowed(format!("assign {wish}")));
            }
            let item = w.item(&wish)?;
            let status = w.status(&wish)?;
            if !w.claims(&wish).iter().any(|(c, _)| *c == claim) {
                return Err(WishesError::NotClaimed { wish, claim });
            }
            match (&item.kind, &status) {
                (ItemKind::Wish, Status::Assigned(cur)) => {
                    return Err(WishesError::AlreadyAssigned {
                        wish: wish.clone(),
                        current: cur[0].clone(),
                    });
                }
                (ItemKind::Wish, Status::Claimed(_)) => {}
                (ItemKind::Offer, Status::Claimed(_) | Status::Assigned(_)) => {
                    if w.assigned(&wish).contains(&claim) {
                        return Err(bad(&wish, &status, "assign the same claim twice"));
                    }
                }
                _ => return Err(bad(&wish, &status, "assign")),
            }
            let a = Assignment {
                active: true,
                by: me.clone(),
                at: ctx.now,
            };
            Ok((
                vec![Put::new("assignments", format!("{wish}/{claim}"), &a)],
                Effect::Done,
                format!("assign {wish} to {claim}"),
            ))
        }
        WishesOp::Release { wish, claim } => {
            if *me != community {
                return Err(not_allowed(format!("release {wish}")));
            }
            let status = w.status(&wish)?;
            if !w.assigned(&wish).contains(&claim) || !matches!(status, Status::Assigned(_)) {
                return Err(bad(&wish, &status, &format!("release {claim}")));
            }
            let a = Assignment {
                active: false,
                by: me.clone(),
                at: ctx.now,
            };
            Ok((
                vec![Put::new("assignments", format!("{wish}/{claim}"), &a)],
                Effect::Done,
                format!("release {claim} from {wish}"),
            ))
        }
        WishesOp::Advance { wish, stage } => {
            let item = w.item(&wish)?;
            let status = w.status(&wish)?;
            let what = format!("mark it {}", stage.key());
            let assignee_orgs: Vec<Scope> = w
                .claims(&wish)
                .into_iter()
                .filter(|(c, _)| w.assigned(&wish).contains(c))
                .map(|(_, c)| c.claimant)
                .collect();
            let ok_writer = match &stage {
                Stage::Fulfilled { .. } => *me == community || assignee_orgs.contains(me),
                _ => *me == community,
            };
            if !ok_writer {
                return Err(not_allowed(format!("{what} ({wish})")));
            }
            let ok = match (&stage, item.kind, &status) {
                (
                    _,
                    _,
                    Status::Withdrawn | Status::Confirmed | Status::Declined | Status::Resolved,
                ) => false,
                (Stage::Withdrawn { .. }, _, _) => true,
                (Stage::Fulfilled { .. }, ItemKind::Wish, Status::Assigned(_)) => true,
                (Stage::Confirmed, ItemKind::Wish, Status::Fulfilled) => true,
                (
                    Stage::Routed { .. },
                    ItemKind::Suggestion | ItemKind::Problem,
                    Status::Received | Status::Routed(_),
                ) => true,
                (
                    Stage::Resolved { .. } | Stage::Declined { .. },
                    ItemKind::Suggestion | ItemKind::Problem,
                    Status::Received | Status::Routed(_),
                ) => true,
                _ => false,
            };
            if !ok {
                return Err(bad(&wish, &status, &what));
            }
            let p = Progress {
                stage,
                by: me.clone(),
                at: ctx.now,
            };
            let key = format!("{wish}/{}", p.stage.key());
            Ok((
                vec![Put::new("progress", key, &p)],
                Effect::Done,
                format!("{wish}: {what}"),
            ))
        }
    }
}

/// Key shape and record type per map.
pub(crate) fn check_record(map: &str, key: &str, value: &str) -> Result<(), String> {
    match map {
        "items" => {
            let [k] = key_parts::<1>(key)?;
            let wid = id::<WishId>(k)?;
            let item = decode::<Item>(value)?;
            if item.by.org() != Some(wid.org()) {
                return Err(format!("item {wid} names author {}", item.by));
            }
            Ok(())
        }
        "claims" => {
            let [w, c] = key_parts::<2>(key)?;
            id::<WishId>(w)?;
            let cid = id::<ClaimId>(c)?;
            let claim = decode::<Claim>(value)?;
            if claim.claimant.org() != Some(cid.org()) {
                return Err(format!("claim {cid} names claimant {}", claim.claimant));
            }
            team::check_claim(&claim).map_err(|e| format!("claim {cid}: {e}"))
        }
        "assignments" => {
            let [w, c] = key_parts::<2>(key)?;
            id::<WishId>(w)?;
            id::<ClaimId>(c)?;
            decode::<Assignment>(value).map(drop)
        }
        "progress" => {
            let [w, s] = key_parts::<2>(key)?;
            id::<WishId>(w)?;
            let p = decode::<Progress>(value)?;
            if p.stage.key() != s {
                return Err(format!("stage {} stored under {s:?}", p.stage.key()));
            }
            Ok(())
        }
        _ => Err(format!("a wishes document has no record map {map:?}")),
    }
}

/// The wishes kind's contract (see [`crate::kind`]).
pub struct WishesContract;

/// This module's [`crate::kind::Kind`].
pub static KIND: WishesContract = WishesContract;

crate::kind::kind_basics!(Wishes, WishesContract, WishesOp);

impl crate::kind::Kind for WishesContract {
    crate::kind::kind_basics!(Wishes, WishesOp);
    /// Performers, as its rules below: items the community (service-menu offers also its
    /// street); claims anyone certified; assignments the community; progress the community
    /// (fulfilment also the assignee its assignment names).
    fn performers(&self, op: &str) -> Option<&'static [crate::policy::Standing]> {
        use crate::policy::Standing::*;
        Some(match op {
            "post" => &[Owner, Street],
            "claim" | "claim_team" => &[Certified],
            "assign" | "release" => &[Owner],
            "advance" => &[Owner, Named],
            _ => return None,
        })
    }
    /// Named: a claimant (fulfilment is written by the assignee its assignment names).
    fn named(&self, doc: &Document, who: &crate::cert::Principal) -> bool {
        doc.records::<Claim>("claims")
            .iter()
            .any(|(_, c)| c.claimant == who.scope)
    }
    /// Receivers: its community and the units and partners within it, and its street.
    fn receives(&self, r: &crate::kind::Relation) -> bool {
        r.own || r.its_street
    }
    fn write_once(&self, map: &str, key: &str) -> bool {
        matches!(map, "items" | "claims") || (map == "progress" && !key.ends_with("/routed"))
    }
    fn needs_history(&self, map: &str, key: &str) -> bool {
        map == "progress" && key.ends_with("/fulfilled")
    }
    fn authorize(
        &self,
        rules: &crate::policy::Rules<'_>,
        w: &crate::document::Write,
    ) -> Result<(), String> {
        // A fulfilment is judged on the whole item as of its history.
        if w.map == "progress" && w.key.ends_with("/fulfilled") {
            wishes_fulfil(rules.history, rules.who, w)
        } else {
            rules.wishes(w)
        }
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
        // The posting community, plus the organisations whose claim is assigned.
        (map == "items").then(|| {
            let unknown = || unknown_record(doc, map, key);
            let id: WishId = canonical(key).ok_or_else(unknown)?;
            let w = Wishes::new(doc);
            let item = w.item(&id).map_err(|_| unknown())?;
            let claims = w.claims(&id);
            let mut readers = vec![item.by.clone()];
            for c in w.assigned(&id) {
                if let Some((_, claim)) = claims.iter().find(|(k, _)| *k == c) {
                    readers.push(claim.claimant.clone());
                }
            }
            Ok(Audience::new(readers, item.by, "resident"))
        })
    }
    fn receives_for_content(&self, _doc: &Document, _who: &crate::cert::Principal) -> bool {
        // Nothing in this kind's documents grants more than the relation.
        false
    }
}

/// This kind's write policy (reached through [`Kind::authorize`](crate::kind::Kind::authorize)).
impl policy::Rules<'_> {
    pub(crate) fn wishes(&self, w: &Write) -> policy::Rule {
        let (h, who) = (self.h, self.who);
        match w.map.as_str() {
            "items" => {
                let id: WishId = policy::first_id(&w.key)?;
                self.own_number(&id.0)?;
                let item: Item = policy::decode(w)?;
                self.names_signer(&item.by, "poster")?;
                let street_offer = item.kind == ItemKind::Offer && policy::is_street(h, who);
                policy::require(policy::is_owner(h, who) || street_offer, || {
                    format!(
                        "only {} posts here (and street {} its service-menu offers)",
                        h.owner_scope(),
                        h.street_scope()
                    )
                })
            }
            "claims" => {
                let claim: ClaimId = w
                    .key
                    .split('/')
                    .nth(1)
                    .and_then(|k| k.parse().ok())
                    .ok_or_else(|| format!("malformed key {:?}", w.key))?;
                self.own_number(&claim.0)?;
                let c: Claim = policy::decode(w)?;
                self.names_signer(&c.claimant, "claimant")
            }
            "assignments" => {
                self.owner("assign wishes")?;
                let a: Assignment = policy::decode(w)?;
                self.names_signer(&a.by, "assigner")
            }
            "progress" => {
                self.owner("record a wish's progress")?;
                let p: Progress = policy::decode(w)?;
                self.names_signer(&p.by, "writer")
            }
            _ => Err("unknown map".into()),
        }
    }
}

pub(crate) fn wishes_fulfil(past: &Document, who: &Principal, w: &Write) -> policy::Rule {
    let p: Progress = policy::decode(w)?;
    if !matches!(p.stage, Stage::Fulfilled { .. }) {
        return Err("stage does not match its key".into());
    }
    policy::require(p.by == who.scope, || {
        format!(
            "the record names {}, not the signer's scope {}",
            p.by, who.scope
        )
    })?;
    let wish: WishId = policy::first_id(&w.key)?;
    if policy::is_owner(past.header(), who) {
        return Ok(());
    }
    let view = Wishes::new(past);
    let assigned = view.assigned(&wish);
    let holder = view
        .claims(&wish)
        .into_iter()
        .any(|(c, claim)| assigned.contains(&c) && claim.claimant == who.scope);
    policy::require(holder, || {
        format!("only the community or the assigned claimant marks {wish} fulfilled")
    })
}

impl WishesError {
    /// The class of this error.
    pub fn class(&self) -> crate::class::ErrorClass {
        use WishesError as E;
        match self {
            E::NotAllowed { .. } => crate::class::ErrorClass::Unauthorized,
            E::UnknownWish(_) => crate::class::ErrorClass::NotFound,
            E::AlreadyAssigned { .. } | E::BadTransition { .. } => {
                crate::class::ErrorClass::Conflict
            }
            E::NotClaimed { .. } | E::Empty(_) | E::BadTeam(_) => {
                crate::class::ErrorClass::Invalid
            }
        }
    }
}

#[cfg(test)]
#[path = "wishes_tests.rs"]
mod tests;

/// In Chinese, for the people who read refusals ([`crate::zh`]).
impl crate::zh::Chinese for WishesError {
    fn zh(&self) -> String {
        match self {
            WishesError::NotAllowed { who, what } => format!("{who} 无权{}", crate::zh::word(what)),
            WishesError::UnknownWish(w) => format!("未知的心愿 {w}"),
            WishesError::NotClaimed { wish, claim } => {
                format!("心愿 {wish} 没有认领 {claim}：只能指派已提出的认领")
            }
            WishesError::AlreadyAssigned { wish, current } => {
                format!("心愿 {wish} 已指派给 {current}；请先释放")
            }
            WishesError::BadTransition { wish, status, what } => {
                format!("心愿 {wish} 状态为{}：不能{}", crate::zh::word(status), crate::zh::word(what))
            }
            WishesError::BadTeam(m) => format!("认领团队无效：{m}"),
            WishesError::Empty(f) => format!("{}不能为空", crate::zh::word(f)),
        }
    }
}
