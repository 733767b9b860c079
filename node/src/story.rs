//! The district story, written once: who the offices are, who certifies whom, which
//! documents they keep and what they do in them, in order, as data.
//!
//! Two runners play it. [`crate::demo`] (`linli demo`) plays it on six real nodes on
//! loopback, waiting for the network to agree between scenes and adding what only a network
//! can show (a partition that heals, a forged change arriving from a peer). The `district`
//! example plays it on in-memory [`Replica`]s that edit offline and merge by exchanging
//! changes. Both print the same tables ([`Table`]), read from a [`Replica`].
//!
//! A [`Step`] names its actor ([`Who`]) and its document ([`DocRef`]); ids that exist only
//! once the story runs (document ids, nodes' keys, the compound or booking an earlier step
//! made) are looked up in [`Ids`] when the step is [resolved](Step::resolve), and what a step
//! made is recorded there by [`Ids::settle`].

use std::collections::BTreeMap;
use std::fmt;

pub mod volunteers;

use linli_core::cert::Role;
use linli_core::federation::FederationOp;
use linli_core::identity::Keypair;
use linli_core::ledger::{LedgerOp, LedgerRules, Points};
use linli_core::registry::{
    AppointmentStatus, AppointmentView, ChecklistTemplate, Compound, ManagementMode, RegistryOp,
    ScorerRole,
};
use linli_core::resource::{BookingForm, ResourceOp, ResourceSpec};
use linli_core::wishes::{Channel, ItemKind, WishesOp};
use linli_core::{
    BookingId, DistrictConfig, DocId, Effect, NewDoc, NodeId, Op, OrgId, Put, Replica,
    SignedChange, Slot, Timestamp, VolunteerId, Zone,
};

/// Something in the story did not go as written.
#[derive(Debug, thiserror::Error)]
pub enum StoryError {
    /// linli-core refused something.
    #[error(transparent)]
    Core(#[from] linli_core::Error),
    /// A step's outcome was not the one the story expects.
    #[error("{0}")]
    Plot(String),
}

fn plot(s: impl Into<String>) -> StoryError {
    StoryError::Plot(s.into())
}

/// An organisation code.
pub fn org(s: &str) -> Result<OrgId, StoryError> {
    OrgId::new(s).map_err(|e| linli_core::Error::from(e).into())
}

/// A point in time, e.g. `2026-11-20T09:00:00+08:00`.
pub fn at(s: &str) -> Result<Timestamp, StoryError> {
    Timestamp::parse(s).map_err(|e| linli_core::Error::from(e).into())
}

/// A slot on `day` (`2026-12-01`) from `from` to `to` (`19:00`), Shenyang time.
pub fn slot(day: &str, from: &str, to: &str) -> Result<Slot, StoryError> {
    Slot::new(
        at(&format!("{day}T{from}:00+08:00"))?,
        at(&format!("{day}T{to}:00+08:00"))?,
    )
    .map_err(|e| linli_core::Error::from(e).into())
}

/// A volunteer id, e.g. `dianye:7`.
pub fn volunteer(s: &str) -> Result<VolunteerId, StoryError> {
    s.parse()
        .map_err(|e: linli_core::IdError| linli_core::Error::from(e).into())
}

/// Where the story's clock starts: Friday 20 November 2026, 09:00 in Shenyang.
pub const START: &str = "2026-11-20T09:00:00+08:00";
/// While two communities are cut off.
pub const APART: &str = "2026-11-20T10:00:00+08:00";
/// After the link healed.
pub const LATER: &str = "2026-11-20T11:00:00+08:00";
/// The dinner the kitchen takes orders for (cut-off the evening before).
pub const DINNER: (i16, i8, i8) = (2026, 11, 21);
/// The year the registry is scored for.
pub const YEAR: i16 = 2026;

/// The date of [`DINNER`].
pub fn dinner() -> jiff::civil::Date {
    jiff::civil::date(DINNER.0, DINNER.1, DINNER.2)
}

/// The offices of the district.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Who {
    /// The Heping district root.
    Heping,
    /// The Beishi street office.
    Beishi,
    /// Dianye community.
    Dianye,
    /// Hongqi community.
    Hongqi,
    /// Xianghe community.
    Xianghe,
    /// State Grid, a co-building unit certified by Dianye.
    StateGrid,
}

impl Who {
    /// Every office, the root first.
    pub const ALL: [Who; 6] = [
        Who::Heping,
        Who::Beishi,
        Who::Dianye,
        Who::Hongqi,
        Who::Xianghe,
        Who::StateGrid,
    ];
    /// The communities.
    pub const COMMUNITIES: [Who; 3] = [Who::Dianye, Who::Hongqi, Who::Xianghe];

    /// The organisation code.
    pub fn code(self) -> &'static str {
        match self {
            Who::Heping => "heping",
            Who::Beishi => "beishi",
            Who::Dianye => "dianye",
            Who::Hongqi => "hongqi",
            Who::Xianghe => "xianghe",
            Who::StateGrid => "state-grid",
        }
    }

    /// The organisation.
    pub fn org(self) -> Result<OrgId, StoryError> {
        org(self.code())
    }
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A document of the story, named before it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DocRef {
    /// The district's federation document.
    Federation,
    /// A community's compound registry.
    Registry(Who),
    /// A community's volunteer ledger.
    Ledger(Who),
    /// A community's micro-wishes.
    Wishes(Who),
    /// Dianye's co-built hall.
    Hall,
    /// One of Dianye's small rooms.
    Room(u8),
    /// The street's shared kitchen.
    Kitchen,
    /// A community's volunteer registry.
    Volunteers(Who),
}

/// A certificate the story issues.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// Who signs it.
    pub issuer: Who,
    /// Who gets it.
    pub subject: Who,
    /// As what.
    pub role: Role,
    /// The subject's parent organisation.
    pub parent: Option<Who>,
}

impl Certificate {
    /// The step issuing it.
    pub fn step(&self) -> Step {
        let c = self.clone();
        Step::op(self.issuer, DocRef::Federation, START, move |ids| {
            c.issue(ids.node(c.subject)?)
        })
    }

    /// The operation issuing it to `subject` (a node of the subject's office), valid three
    /// years from [`START`].
    pub fn issue(&self, subject: NodeId) -> Result<Op, StoryError> {
        let from = at(START)?;
        Ok(Op::Federation(FederationOp::Issue {
            subject,
            role: self.role,
            org: self.subject.org()?,
            parent: self.parent.map(Who::org).transpose()?,
            name: format!("{} office", self.subject),
            not_before: from,
            not_after: Timestamp(from.0 + 3 * 365 * Timestamp::DAY),
        }))
    }
}

/// Builds a step's operation from the ids known when it runs.
pub type OpFn = Box<dyn Fn(&Ids) -> Result<Op, StoryError> + Send + Sync>;

/// What a step does.
pub enum Action {
    /// Creates a document.
    Create(
        DocRef,
        Box<dyn Fn() -> Result<NewDoc, StoryError> + Send + Sync>,
    ),
    /// Executes an operation on a document.
    Execute(DocRef, OpFn),
}

/// How a step should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Accepted.
    Accepted,
    /// Refused (the story shows a rule at work).
    Refused,
    /// Either (e.g. a kitchen order beyond capacity).
    Either,
}

/// One step of the story.
pub struct Step {
    /// The office acting.
    pub actor: Who,
    /// What it does.
    pub action: Action,
    /// When (in-memory replicas; real nodes use their own clock).
    pub at: &'static str,
    /// What the step made is recorded under this name in [`Ids`].
    pub save: Option<String>,
    /// How it should end.
    pub expect: Expect,
    /// Told when it is refused.
    pub note: &'static str,
}

impl Step {
    /// `actor` executes the operation `op` builds on `doc`.
    pub fn op(
        actor: Who,
        doc: DocRef,
        at: &'static str,
        op: impl Fn(&Ids) -> Result<Op, StoryError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            actor,
            action: Action::Execute(doc, Box::new(op)),
            at,
            save: None,
            expect: Expect::Accepted,
            note: "",
        }
    }

    /// `actor` creates `doc`.
    pub fn create(
        actor: Who,
        doc: DocRef,
        new: impl Fn() -> Result<NewDoc, StoryError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            actor,
            action: Action::Create(doc, Box::new(new)),
            at: START,
            save: None,
            expect: Expect::Accepted,
            note: "",
        }
    }

    /// Records what the step made under `name`.
    pub fn save(mut self, name: impl Into<String>) -> Self {
        self.save = Some(name.into());
        self
    }

    /// The step must be refused; `note` tells what was tried.
    pub fn refused(mut self, note: &'static str) -> Self {
        self.expect = Expect::Refused;
        self.note = note;
        self
    }

    /// The step may be refused; `note` tells what was tried.
    pub fn tolerated(mut self, note: &'static str) -> Self {
        self.expect = Expect::Either;
        self.note = note;
        self
    }

    /// When the step happens.
    pub fn time(&self) -> Result<Timestamp, StoryError> {
        at(self.at)
    }

    /// The step with its ids filled in, ready for a replica or a node.
    pub fn resolve(&self, ids: &Ids) -> Result<Resolved, StoryError> {
        Ok(match &self.action {
            Action::Create(d, new) => Resolved::Create(*d, new()?),
            Action::Execute(d, op) => Resolved::Execute(ids.doc(*d)?, op(ids)?),
        })
    }
}

/// A step ready to run.
pub enum Resolved {
    /// Create this document.
    Create(DocRef, NewDoc),
    /// Execute this operation on this document.
    Execute(DocId, Op),
}

/// What running a step did.
#[derive(Debug)]
pub enum Done {
    /// A document was created.
    Created(DocRef, DocId),
    /// An operation was executed.
    Executed(Effect),
}

/// How a step ended.
#[derive(Debug)]
pub enum Outcome {
    /// As written; what it made.
    Done(Effect),
    /// Refused with this reason (and the story expected it might be).
    Refused(String),
}

/// The ids the story learns as it runs.
#[derive(Debug, Default)]
pub struct Ids {
    /// The offices' node ids.
    pub nodes: BTreeMap<Who, NodeId>,
    /// The documents created.
    pub docs: BTreeMap<DocRef, DocId>,
    /// What saved steps made.
    pub saved: BTreeMap<String, Effect>,
}

impl Ids {
    /// An office's node.
    pub fn node(&self, w: Who) -> Result<NodeId, StoryError> {
        self.nodes
            .get(&w)
            .copied()
            .ok_or_else(|| plot(format!("no node for {w}")))
    }

    /// A document.
    pub fn doc(&self, d: DocRef) -> Result<DocId, StoryError> {
        self.docs
            .get(&d)
            .copied()
            .ok_or_else(|| plot(format!("{d:?} was not created")))
    }

    fn saved(&self, name: &str) -> Result<&Effect, StoryError> {
        self.saved
            .get(name)
            .ok_or_else(|| plot(format!("nothing saved as {name:?}")))
    }

    /// A booking a step made.
    pub fn booking(&self, name: &str) -> Result<BookingId, StoryError> {
        match self.saved(name)? {
            Effect::Booking(b) => Ok(b.clone()),
            other => Err(plot(format!("{name} is not a booking: {other:?}"))),
        }
    }

    fn compound(&self, name: &str) -> Result<linli_core::CompoundId, StoryError> {
        match self.saved(name)? {
            Effect::Compound(c) => Ok(c.clone()),
            other => Err(plot(format!("{name} is not a compound: {other:?}"))),
        }
    }

    /// Records how `step` ended; errs when that is not what the story expects.
    pub fn settle<E: fmt::Display>(
        &mut self,
        step: &Step,
        result: Result<Done, E>,
    ) -> Result<Outcome, StoryError> {
        match (result, step.expect) {
            (Ok(_), Expect::Refused) => Err(plot(format!("not refused: {}", step.note))),
            (Ok(Done::Created(d, id)), _) => {
                self.docs.insert(d, id);
                Ok(Outcome::Done(Effect::Done))
            }
            (Ok(Done::Executed(e)), _) => {
                if let Some(name) = &step.save {
                    self.saved.insert(name.clone(), e.clone());
                }
                Ok(Outcome::Done(e))
            }
            (Err(e), Expect::Accepted) => Err(plot(format!("{} failed: {e}", step.actor))),
            (Err(e), _) => Ok(Outcome::Refused(e.to_string())),
        }
    }
}

/// How big the seeded district is.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Volunteers per community (each gets a service record).
    pub volunteers: usize,
    /// Compounds per community.
    pub compounds: usize,
    /// Kitchen orders for tomorrow's dinner.
    pub orders: usize,
}

/// The scenes of the story, in order. Runners do their own work between them (wait for the
/// network to agree, or exchange changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    /// Each community's registry, ledger and wishes; Dianye's rooms; the street's kitchen.
    Seed,
    /// Households order tomorrow's dinner through their community's node.
    Orders,
    /// Hongqi and Xianghe are cut off: both ask for Dianye's hall on Tuesday evening, and
    /// everyone keeps working.
    Apart,
    /// Dianye confirms both requests: the second gets its alternate slot.
    Confirm,
    /// Volunteer dianye:7 serves at home and in Hongqi; State Grid and the street offer to
    /// grant a Dianye wish.
    Serve,
    /// dianye:7 redeems at home; Hongqi cannot spend the points; Dianye assigns the wish.
    Redeem,
    /// Dianye revokes the choir's confirmed booking.
    Revoke,
    /// A unit tries to write into a community's registry; the street scores a firm; the
    /// kitchen accepts orders.
    Settle,
    /// Dianye registers a volunteer in its registry: name and phone kept at home.
    Register,
    /// Hongqi records that volunteer's service at its event; Dianye credits the points.
    Abroad,
}

/// The story: certificates, then scenes of steps.
pub struct Story {
    /// Who certifies whom, in order (the root creates the federation first).
    pub certificates: Vec<Certificate>,
    /// The scenes.
    pub scenes: Vec<(Scene, Vec<Step>)>,
}

/// The compounds of the story: Dianye's first three are the seed reports'.
fn compound(c: Who, k: usize) -> Compound {
    const DIANYE: [(&str, &str, u32, ManagementMode); 3] = [
        (
            "Shimalu compound",
            "3 Shimalu",
            157,
            ManagementMode::Unmanaged,
        ),
        (
            "Chidixiang courtyard",
            "12 Chidi lane",
            180,
            ManagementMode::SelfManaged,
        ),
        (
            "Dianye staff quarters",
            "88 Dianye road",
            420,
            ManagementMode::PropertyRightsUnit,
        ),
    ];
    const MODES: [ManagementMode; 4] = [
        ManagementMode::PropertyFirm,
        ManagementMode::Unmanaged,
        ManagementMode::SelfManaged,
        ManagementMode::PropertyRightsUnit,
    ];
    match DIANYE.get(k) {
        Some((name, addr, hh, mode)) if c == Who::Dianye => {
            Compound::new(name, addr, *hh, mode.clone())
        }
        _ => Compound::new(
            &format!("{c} compound {}", k + 1),
            &format!("{} {c} road", 10 + k),
            157 + (k as u32 * 37) % 440,
            MODES[k % MODES.len()].clone(),
        ),
    }
}

/// The name under which community `c`'s `k`th compound is saved.
pub fn compound_key(c: Who, k: usize) -> String {
    format!("compound/{c}/{k}")
}

/// `actor` records in its ledger that `volunteer_id` served `hours` (on 19 November).
pub fn service(
    actor: Who,
    at: &'static str,
    volunteer_id: &'static str,
    activity: &'static str,
    team: &'static str,
    hours: f64,
) -> Step {
    service_of(actor, at, volunteer_id.to_string(), activity, team, hours)
}

fn service_of(
    actor: Who,
    at: &'static str,
    v: String,
    activity: &'static str,
    team: &'static str,
    hours: f64,
) -> Step {
    Step::op(actor, DocRef::Ledger(actor), at, move |_| {
        Ok(Op::Ledger(LedgerOp::RecordService {
            volunteer: volunteer(&v)?,
            activity: activity.into(),
            team: Some(team.into()),
            date: jiff::civil::date(2026, 11, 19),
            hours,
            evidence: Some("duty photo in the group chat".into()),
        }))
    })
}

/// A household's order for [`dinner`], placed through `actor`'s node.
pub fn order(actor: Who, at: &'static str, household: String, portions: u32) -> Step {
    Step::op(actor, DocRef::Kitchen, at, move |_| {
        Ok(Op::Resource(ResourceOp::PlaceOrder {
            household: household.clone(),
            date: dinner(),
            portions,
            items: vec!["four dishes and a soup".into()],
        }))
    })
}

/// The street appoints `manager` for Dianye's `k`th compound.
pub fn appoint(actor: Who, at: &'static str, k: usize, manager: &'static str) -> Step {
    Step::op(actor, DocRef::Registry(Who::Dianye), at, move |ids| {
        let guarantee = k == 0;
        Ok(Op::Registry(RegistryOp::Appoint {
            compound: ids.compound(&compound_key(Who::Dianye, k))?,
            manager: manager.into(),
            mode: if guarantee {
                ManagementMode::GuaranteeFirm
            } else {
                ManagementMode::PropertyRightsUnit
            },
            selection: None,
            start: jiff::civil::date(if guarantee { 2027 } else { 2026 }, 1, 1),
            end: guarantee.then(|| jiff::civil::date(2029, 12, 31)),
            status: AppointmentStatus::Appointed,
        }))
    })
}

/// `actor` redeems `cost` of dianye:7's points for `item`.
fn redeem(actor: Who, item: &'static str, cost: i64, outlet: &'static str) -> Step {
    Step::op(actor, DocRef::Ledger(actor), LATER, move |_| {
        Ok(Op::Ledger(LedgerOp::Redeem {
            volunteer: volunteer("dianye:7")?,
            item: item.into(),
            cost: Points::whole(cost),
            outlet: outlet.into(),
        }))
    })
}

impl Story {
    /// The district story at `scale`.
    pub fn new(scale: Scale) -> Self {
        use Who::*;
        let cert = |issuer, subject, role, parent| Certificate {
            issuer,
            subject,
            role,
            parent,
        };
        let certificates = vec![
            cert(Heping, Beishi, Role::Street, None),
            cert(Beishi, Dianye, Role::Community, Some(Beishi)),
            cert(Beishi, Hongqi, Role::Community, Some(Beishi)),
            cert(Beishi, Xianghe, Role::Community, Some(Beishi)),
            cert(Dianye, StateGrid, Role::Unit, Some(Dianye)),
        ];

        let mut seed = Vec::new();
        for c in Who::COMMUNITIES {
            seed.push(Step::create(c, DocRef::Registry(c), move || {
                Ok(NewDoc::Registry {
                    street: Beishi.org()?,
                    community: c.org()?,
                    title: format!("{c} compound registry"),
                })
            }));
            for k in 0..scale.compounds {
                seed.push(
                    Step::op(c, DocRef::Registry(c), START, move |_| {
                        Ok(Op::Registry(RegistryOp::AddCompound(compound(c, k))))
                    })
                    .save(compound_key(c, k)),
                );
            }
            seed.push(Step::create(c, DocRef::Ledger(c), move || {
                Ok(NewDoc::Ledger {
                    street: Beishi.org()?,
                    community: c.org()?,
                    year: 2026,
                    // The story's communities credit duty-photo hours recorded by hand
                    // (a new ledger's default does not: `ledger::sessions`).
                    rules: LedgerRules {
                        hand_points: true,
                        ..LedgerRules::default()
                    },
                })
            }));
            for v in 1..=scale.volunteers {
                seed.push(service_of(
                    c,
                    START,
                    format!("{c}:{v}"),
                    "neighbourhood patrol",
                    "patrol",
                    1.0 + (v % 4) as f64,
                ));
            }
            seed.push(Step::create(c, DocRef::Wishes(c), move || {
                Ok(NewDoc::Wishes {
                    street: Beishi.org()?,
                    community: c.org()?,
                    title: format!("{c} micro-wishes"),
                })
            }));
            for (i, (title, category)) in [
                ("Walking frame for an elder in Building 3", "elder care"),
                ("Fix the stairwell light in Building 2", "repairs"),
                ("Homework help for two pupils", "children"),
            ]
            .into_iter()
            .enumerate()
            {
                seed.push(
                    Step::op(c, DocRef::Wishes(c), START, move |_| {
                        Ok(Op::Wishes(WishesOp::Post {
                            kind: ItemKind::Wish,
                            title: title.into(),
                            text: "recorded at a home visit".into(),
                            category: category.into(),
                            channel: Channel::HomeVisit,
                            place: None,
                            resident: None,
                        }))
                    })
                    .save(format!("wish/{c}/{i}")),
                );
            }
        }
        seed.push(Step::create(Dianye, DocRef::Hall, || {
            let mut spec =
                ResourceSpec::room("Dianye activity building, hall (565 m², co-built)", 60);
            spec.area_m2 = Some(565);
            Ok(NewDoc::Resource {
                street: Beishi.org()?,
                community: Some(Dianye.org()?),
                spec,
            })
        }));
        for (i, name) in ["reading room", "dance room", "counselling room"]
            .into_iter()
            .enumerate()
        {
            seed.push(Step::create(Dianye, DocRef::Room(i as u8), move || {
                Ok(NewDoc::Resource {
                    street: Beishi.org()?,
                    community: Some(Dianye.org()?),
                    spec: ResourceSpec::room(&format!("Dianye {name}"), 20),
                })
            }));
        }
        seed.push(Step::create(Beishi, DocRef::Kitchen, || {
            Ok(NewDoc::Resource {
                street: Beishi.org()?,
                community: None,
                spec: ResourceSpec::kitchen("Liyuan shared kitchen", 40, 140),
            })
        }));

        let orders = (0..scale.orders)
            .map(|k| {
                order(
                    Who::COMMUNITIES[k % 3],
                    START,
                    format!("{}-{}-{}0{}", 1 + k % 9, 1 + k % 3, 1 + k % 6, 1 + k % 4),
                    1 + (k % 3) as u32,
                )
            })
            .collect();

        let apart = vec![
            Step::op(Hongqi, DocRef::Hall, APART, |_| {
                Ok(Op::Resource(ResourceOp::Request(
                    BookingForm::new(
                        "Li Wei",
                        "reading club weekly session",
                        slot("2026-12-01", "19:00", "21:00")?,
                        25,
                    )
                    .with_organisation("Hongqi reading club")
                    .with_contact("138 0013 8000")
                    .with_alternates(vec![slot(
                        "2026-12-02",
                        "19:00",
                        "21:00",
                    )?]),
                )))
            })
            .save("club"),
            Step::op(Xianghe, DocRef::Hall, APART, |_| {
                Ok(Op::Resource(ResourceOp::Request(
                    BookingForm::new(
                        "Zhang Min",
                        "retirees' choir rehearsal",
                        slot("2026-12-01", "18:30", "20:30")?,
                        40,
                    )
                    .with_organisation("Xianghe retirees' choir"),
                )))
            })
            .save("choir"),
            service(
                Xianghe,
                APART,
                "xianghe:1",
                "snow clearing",
                "street tidy",
                2.0,
            ),
            service(
                Dianye,
                APART,
                "dianye:2",
                "snow clearing",
                "street tidy",
                2.0,
            ),
            appoint(Beishi, APART, 0, "Anju Property Services"),
            appoint(Beishi, APART, 2, "State Grid Liaoning logistics"),
        ];

        let confirm = ["choir", "club"]
            .into_iter()
            .map(|b| {
                Step::op(Dianye, DocRef::Hall, LATER, move |ids| {
                    Ok(Op::Resource(ResourceOp::Confirm {
                        booking: ids.booking(b)?,
                    }))
                })
            })
            .collect();

        let wish = || format!("wish/{Dianye}/0");
        let serve = vec![
            service(Dianye, LATER, "dianye:7", "security patrol", "patrol", 2.0),
            service(
                Hongqi,
                LATER,
                "dianye:7",
                "elder visits in Hongqi",
                "elder care",
                3.0,
            ),
            Step::op(StateGrid, DocRef::Wishes(Dianye), LATER, move |ids| {
                Ok(Op::Wishes(WishesOp::Claim {
                    wish: ids.wish(&wish())?,
                    volunteer: None,
                    note: "We can buy one".into(),
                }))
            }),
            Step::op(Beishi, DocRef::Wishes(Dianye), LATER, move |ids| {
                Ok(Op::Wishes(WishesOp::Claim {
                    wish: ids.wish(&wish())?,
                    volunteer: Some(volunteer("hongqi:3")?),
                    note: "Hongqi's volunteer hongqi:3 can deliver".into(),
                }))
            })
            .save("claim"),
        ];

        let redeem = vec![
            redeem(Dianye, "5 kg rice", 4, "Dianye points store"),
            redeem(Hongqi, "soap", 1, "Hongqi store")
                .refused("Hongqi tries to spend a Dianye volunteer's points"),
            Step::op(Dianye, DocRef::Wishes(Dianye), LATER, move |ids| {
                Ok(Op::Wishes(WishesOp::Assign {
                    wish: ids.wish(&wish())?,
                    claim: ids.claim("claim")?,
                }))
            }),
        ];

        let revoke = vec![Step::op(Dianye, DocRef::Hall, LATER, |ids| {
            Ok(Op::Resource(ResourceOp::Revoke {
                booking: ids.booking("choir")?,
                reason: "hall needed for the flu vaccination day".into(),
            }))
        })];

        let mut settle = vec![
            Step::op(StateGrid, DocRef::Registry(Dianye), LATER, |_| {
                Ok(Op::Registry(RegistryOp::AddCompound(Compound::new(
                    "State Grid staff quarters (annex)",
                    "88 Dianye road",
                    40,
                    ManagementMode::PropertyRightsUnit,
                ))))
            })
            .refused("State Grid tries to add a compound to Dianye's registry"),
        ];
        if scale.compounds > 2 {
            settle.push(Step::op(Beishi, DocRef::Registry(Dianye), LATER, |ids| {
                Ok(Op::Registry(RegistryOp::Score {
                    compound: ids.compound(&compound_key(Dianye, 2))?,
                    year: YEAR,
                    role: ScorerRole::Street,
                    marks: BTreeMap::from([
                        ("stair handrails wiped daily".to_string(), 30),
                        ("bins".to_string(), 25),
                    ]),
                    comment: "handrails not wiped on two visits".into(),
                }))
            }));
        }
        // The kitchen's operator accepts tomorrow's orders up to capacity.
        for k in 0..scale.orders {
            settle.push(
                Step::op(Beishi, DocRef::Kitchen, LATER, move |ids| {
                    match ids.saved(&format!("order/{k}"))? {
                        Effect::Order(o) => {
                            Ok(Op::Resource(ResourceOp::AcceptOrder { order: o.clone() }))
                        }
                        other => Err(plot(format!("order {k} is {other:?}"))),
                    }
                })
                .tolerated("order not accepted"),
            );
        }

        Story {
            certificates,
            scenes: vec![
                (Scene::Seed, seed),
                (Scene::Orders, number(orders, |k| format!("order/{k}"))),
                (Scene::Apart, apart),
                (Scene::Confirm, confirm),
                (Scene::Serve, serve),
                (Scene::Redeem, redeem),
                (Scene::Revoke, revoke),
                (Scene::Settle, settle),
                (Scene::Register, volunteers::register()),
                (Scene::Abroad, volunteers::abroad()),
            ],
        }
    }

    /// The district's settings, for the federation document the root creates.
    pub fn federation() -> NewDoc {
        NewDoc::Federation {
            config: DistrictConfig {
                checklist: ChecklistTemplate::synthetic_7_7("heping-2026"),
                ..DistrictConfig::default()
            },
        }
    }
}

fn number(steps: Vec<Step>, name: impl Fn(usize) -> String) -> Vec<Step> {
    steps
        .into_iter()
        .enumerate()
        .map(|(k, s)| s.save(name(k)))
        .collect()
}

impl Ids {
    fn wish(&self, name: &str) -> Result<linli_core::WishId, StoryError> {
        match self.saved(name)? {
            Effect::Wish(w) => Ok(w.clone()),
            other => Err(plot(format!("{name} is not a wish: {other:?}"))),
        }
    }

    fn claim(&self, name: &str) -> Result<linli_core::ClaimId, StoryError> {
        match self.saved(name)? {
            Effect::Claim(c) => Ok(c.clone()),
            other => Err(plot(format!("{name} is not a claim: {other:?}"))),
        }
    }
}

/// How a confirmation reads: `booking … on its alternate #1: Wed 2 Dec 19:00–21:00`.
pub fn confirmation(e: &Effect, zone: &Zone) -> Option<String> {
    match e {
        Effect::Confirmed {
            booking,
            slot_index,
            slot,
        } => {
            let which = if *slot_index == 0 {
                "its requested slot".to_string()
            } else {
                format!("its alternate #{slot_index}")
            };
            Some(format!("{booking} on {which}: {}", slot.display_in(zone)))
        }
        _ => None,
    }
}

/// A change signed with `key` that writes a compound into `registry` — which the key's
/// office does not own, so every node refuses it.
pub fn forge(
    r: &Replica,
    key: &Keypair,
    registry: DocId,
    now: Timestamp,
) -> Result<SignedChange, StoryError> {
    let mut doc = r.doc(registry)?.clone();
    doc.set_author(r.author());
    let change = doc
        .commit(
            now,
            "annex a compound",
            &[Put::new(
                "compounds",
                "hongqi:999",
                &Compound::new(
                    "Annexed compound",
                    "1 Nowhere road",
                    10,
                    ManagementMode::Unmanaged,
                ),
            )],
        )
        .map_err(linli_core::Error::from)?;
    SignedChange::sign(key, registry, change.raw_bytes()).map_err(|e| plot(format!("signing: {e}")))
}

/// A table to print.
#[derive(Debug, Clone)]
pub struct Table {
    /// Its title.
    pub title: String,
    /// Column names.
    pub header: Vec<&'static str>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The lines to print: a blank line, the title, the header, a rule, the rows.
    pub fn lines(&self) -> Vec<String> {
        let width = |s: &str| s.chars().count();
        let mut w: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                if let Some(x) = w.get_mut(i) {
                    *x = (*x).max(width(c));
                }
            }
        }
        let line = |cells: &[String]| {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let pad = w.get(i).copied().unwrap_or(0).saturating_sub(width(c));
                    format!("{c}{}", " ".repeat(pad))
                })
                .collect();
            format!("  {}", parts.join("  ").trim_end())
        };
        let mut out = vec![String::new(), format!("  {}", self.title)];
        out.push(line(
            &self
                .header
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>(),
        ));
        out.push(line(&w.iter().map(|n| "─".repeat(*n)).collect::<Vec<_>>()));
        out.extend(self.rows.iter().map(|r| line(r)));
        out
    }
}

/// The bookings of a resource as `r` reads them.
pub fn bookings_table(r: &Replica, doc: DocId, zone: &Zone) -> Result<Table, StoryError> {
    let name = r.resource(doc)?.spec().name.clone();
    Ok(Table {
        title: format!("Bookings — {name}"),
        header: vec!["booking", "organisation", "responsible", "slot", "status"],
        rows: r
            .bookings_as_read(doc)?
            .into_iter()
            .map(|b| {
                let s = b.confirmed_slot().unwrap_or(b.request.form.slot);
                vec![
                    b.id.to_string(),
                    b.request.form.organisation.clone().unwrap_or_default(),
                    b.request.form.booker.clone(),
                    s.display_in(zone),
                    b.status.label().to_string(),
                ]
            })
            .collect(),
    })
}

/// A registry's first `limit` compounds: managers (contested appointments listed) and scores.
pub fn registry_table(
    r: &Replica,
    doc: DocId,
    title: &str,
    limit: usize,
) -> Result<Table, StoryError> {
    let reg = r.registry(doc)?;
    let rows = reg
        .compounds()
        .into_iter()
        .take(limit)
        .map(|(id, c)| {
            let manager = match reg.appointment(&id) {
                AppointmentView::Vacant => "—".to_string(),
                AppointmentView::Current(a) => a.manager,
                AppointmentView::Contested(all) => format!(
                    "CONTESTED: {}",
                    all.iter()
                        .map(|a| a.manager.as_str())
                        .collect::<Vec<_>>()
                        .join(" / ")
                ),
            };
            let comp = reg.composite(&id, YEAR);
            let score = match comp.score {
                Some(s) => format!(
                    "{s:.0}{}{}",
                    if comp.complete { "" } else { " (partial)" },
                    if comp.below_threshold {
                        " below pass mark"
                    } else {
                        ""
                    }
                ),
                None => "—".into(),
            };
            vec![
                c.name,
                c.households.to_string(),
                c.mode.label(),
                manager,
                score,
            ]
        })
        .collect();
    Ok(Table {
        title: title.into(),
        header: vec!["compound", "households", "mode", "manager", "2026 score"],
        rows,
    })
}

/// The kitchen's orders for [`dinner`].
pub fn kitchen_table(r: &Replica, doc: DocId, zone: &Zone) -> Result<Table, StoryError> {
    let day = r
        .resource(doc)?
        .kitchen_day(dinner())
        .map_err(linli_core::Error::from)?;
    Ok(Table {
        title: format!(
            "Liyuan kitchen — {} {}: {} orders, {} of {} portions accepted, orders closed {}",
            day.service,
            day.date,
            day.orders.len(),
            day.accepted_portions,
            day.capacity,
            day.cutoff.display_in(zone)
        ),
        header: vec!["order", "household", "portions", "placed", "status"],
        rows: day
            .orders
            .iter()
            .map(|o| {
                vec![
                    o.id.to_string(),
                    o.order.household.clone(),
                    o.order.portions.to_string(),
                    o.order.placed_at.display_in(zone),
                    o.status.label().into(),
                ]
            })
            .collect(),
    })
}

/// The volunteers the story follows.
pub const FOLLOWED: [&str; 4] = ["dianye:7", "dianye:2", "hongqi:3", "xianghe:1"];

/// Spendable balances at `now` over every ledger `r` holds.
pub fn balances_table(
    r: &Replica,
    volunteers: &[&str],
    now: Timestamp,
) -> Result<Table, StoryError> {
    let mut rows = Vec::new();
    for v in volunteers {
        rows.push(vec![
            v.to_string(),
            r.balance(&volunteer(v)?, now).to_string(),
        ]);
    }
    Ok(Table {
        title: "Volunteer balances (all ledgers)".into(),
        header: vec!["volunteer", "points"],
        rows,
    })
}

/// A community's micro-wishes: claims and status.
pub fn wishes_table(r: &Replica, doc: DocId, title: &str) -> Result<Table, StoryError> {
    let ws = r.wishes(doc)?;
    Ok(Table {
        title: title.into(),
        header: vec!["wish", "claims", "status"],
        rows: ws
            .items()
            .into_iter()
            .map(|(id, item)| {
                let status = ws.status(&id).map(|s| s.label()).unwrap_or("?");
                vec![item.title, ws.claims(&id).len().to_string(), status.into()]
            })
            .collect(),
    })
}
