//! The one list of document kinds, and what is derived from it.
//!
//! A kind is a module (`federation`, `registry`, `ledger`, `resource`, `wishes`) with a
//! value implementing [`crate::kind::Kind`], listed once in `kind_list`. From
//! that list this module generates `ALL`, [`of`], [`layout`] and [`Op`]; what differs per
//! kind beyond a line — planning (`Op::plan`: federation operations need the replica's
//! keys), the parameters of a new document ([`NewDoc`]) and the errors ([`Error`]) — is
//! written here, and the compiler names each arm a new kind needs. Everything above the
//! kinds (replica, sync, catalogue, the node) reaches a kind through [`of`] or these types.

use serde::{Deserialize, Serialize};

use crate::cert::{CertError, Principal};
use crate::district::DistrictConfig;
use crate::document::{DocError, DocHeader, DocKind, Document, Layout, Put, SCHEMA_VERSION};
use crate::federation::FederationOp;
use crate::ids::{DocId, IdError, OrgId};
use crate::kind::Kind;
use crate::kind::{Ctx, Effect};
use crate::ledger::{LedgerError, LedgerRules};
use crate::outcome::{Rejection, WaitLimit};
use crate::personal::{PersonalData, mask_household, mask_name};
use crate::policy::PolicyError;
use crate::registry::RegistryError;
use crate::resource::ResourceOp;
use crate::resource::{ResourceError, ResourceSpec};
use crate::signed::SignedError;
use crate::time::{TimeError, Timestamp, Zone};
use crate::volunteers::VolunteersError;
use crate::wishes::WishesError;
use crate::wishes::WishesOp;

/// Generates the lists derived from `kind_list`: `ALL`, `of`, `layout`, `Op`.
macro_rules! kind_list {
    ($($variant:ident, $module:ident, $op:ident, $doc:literal, $label:literal, $opdoc:literal;)*) => {
        /// Every kind, in catalogue order.
        pub const ALL: &[DocKind] = &[$(DocKind::$variant),*];

        /// The module that implements `kind`.
        pub fn of(kind: DocKind) -> &'static dyn Kind {
            match kind {
                $(DocKind::$variant => &crate::$module::KIND,)*
            }
        }

        /// The layout of `kind`, for the document layer ([`crate::document::Layouts`]).
        pub fn layout(kind: DocKind) -> &'static dyn Layout {
            match kind {
                $(DocKind::$variant => &crate::$module::KIND,)*
            }
        }

        /// A typed write on one document.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(rename_all = "snake_case", tag = "kind", content = "op")]
        pub enum Op {
            $(
                #[doc = $opdoc]
                $variant(crate::$module::$op),
            )*
        }

        impl Op {
            /// The kind of document the operation writes.
            pub fn kind(&self) -> DocKind {
                match self {
                    $(Op::$variant(_) => DocKind::$variant,)*
                }
            }
        }
    };
}
crate::kind_list::with_kinds!(kind_list);

impl Op {
    /// Splits the personal data out of the operation: the operation keeps the public view
    /// (masked name, no contact, masked household) and the data is returned, to be kept
    /// in the record the operation's effect names ([`crate::Effect::personal_record`]).
    pub fn split_personal(self) -> (Op, Option<PersonalData>) {
        match self {
            Op::Resource(ResourceOp::Request(mut form)) => {
                let data = PersonalData::Booker {
                    name: form.booker.trim().to_string(),
                    contact: form.contact.take().filter(|c| !c.trim().is_empty()),
                };
                form.booker = mask_name(&form.booker);
                (Op::Resource(ResourceOp::Request(form)), Some(data))
            }
            Op::Resource(ResourceOp::PlaceOrder {
                household,
                date,
                portions,
                items,
            }) => {
                let data = PersonalData::Household {
                    household: household.trim().to_string(),
                };
                let op = Op::Resource(ResourceOp::PlaceOrder {
                    household: mask_household(&household),
                    date,
                    portions,
                    items,
                });
                (op, Some(data))
            }
            Op::Wishes(WishesOp::Post {
                kind,
                title,
                text,
                category,
                channel,
                place,
                resident,
            }) => {
                let op = Op::Wishes(WishesOp::Post {
                    kind,
                    title,
                    text,
                    category,
                    channel,
                    place,
                    resident: None,
                });
                (op, resident.map(PersonalData::from))
            }
            Op::Volunteers(op) => {
                let (op, data) = op.split_personal();
                (Op::Volunteers(op), data)
            }
            op => (op, None),
        }
    }
}

/// Whether the volunteer registry of `home`, if `docs` holds it, knows `volunteer`
/// (`None`: no registry of `home` here) — the ledger's check of a service record, given to
/// it through [`Ctx`].
pub(crate) fn volunteer_known(
    docs: &std::collections::BTreeMap<DocId, Document>,
    home: &crate::ids::Scope,
    volunteer: &crate::ids::VolunteerId,
) -> Option<bool> {
    crate::volunteers::registry_of(docs.values(), home)
        .map(|d| crate::volunteers::knows(d, volunteer))
}

impl Op {
    /// Plans the operation on `doc` (its kind's `plan`): the records to put, the effect and
    /// the change message. Federation operations need the replica's keys and trust store:
    /// `federation` plans them.
    pub(crate) fn plan(
        self,
        doc: &Document,
        ctx: &Ctx<'_>,
        federation: impl FnOnce(FederationOp) -> Result<Planned, Error>,
    ) -> Result<Planned, Error> {
        fn plan<E: Into<Error>>(r: Result<Planned, E>) -> Result<Planned, Error> {
            r.map_err(Into::into)
        }
        match self {
            Op::Federation(op) => federation(op),
            Op::Registry(op) => plan(crate::registry::plan(doc, ctx, op)),
            Op::Ledger(op) => plan(crate::ledger::plan(doc, ctx, op)),
            Op::Resource(op) => plan(crate::resource::plan(doc, ctx, op)),
            Op::Wishes(op) => plan(crate::wishes::plan(doc, ctx, op)),
            Op::Volunteers(op) => plan(crate::volunteers::plan(doc, ctx, op)),
        }
    }
}

/// What planning an operation gives: the records to put, the effect, the change message.
pub(crate) type Planned = (Vec<Put>, Effect, String);

/// Errors of linli-core operations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Document layer (bytes, layout, automerge).
    #[error(transparent)]
    Doc(#[from] DocError),
    /// Times and time zones.
    #[error(transparent)]
    Time(#[from] TimeError),
    /// Identifier syntax.
    #[error(transparent)]
    Id(#[from] IdError),
    /// Compound registry rule.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Service ledger rule.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Resource and booking rule.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// Wishes rule.
    #[error(transparent)]
    Wishes(#[from] WishesError),
    /// Volunteer registry rule.
    #[error(transparent)]
    Volunteers(#[from] VolunteersError),
    /// No document with this id in the replica.
    #[error("unknown document {0}")]
    UnknownDocument(DocId),
    /// The operation is for another kind of document.
    #[error("document {doc} is a {actual}, not a {expected}")]
    WrongKind {
        /// The document.
        doc: DocId,
        /// What the operation needs.
        expected: &'static str,
        /// What the document is.
        actual: &'static str,
    },
    /// A change from elsewhere was refused; it is kept out of every document.
    #[error("change refused: {0}")]
    Rejected(Box<Rejection>),
    /// The signed envelope of a change is invalid (bytes, signature, actor binding).
    #[error("invalid signed change: {0}")]
    Envelope(#[from] SignedError),
    /// This node has no valid certificate chain for a write at this time.
    #[error("this node cannot write: {0}")]
    NotCertified(CertError),
    /// This node's key has been revoked.
    #[error("this node's key has been revoked and may no longer write")]
    SelfRevoked,
    /// A local write breaks the write policy of the document kind.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The signed bytes of logged changes could not be read back from the change source.
    #[error("cannot read stored changes of {doc}: {reason}")]
    Source {
        /// The document.
        doc: DocId,
        /// Why.
        reason: String,
    },
    /// A bound of the changes waiting for dependencies or a certificate was reached: the
    /// change is dropped, not refused (it is not recorded and may come again by sync).
    #[error(
        "pending set full: the limit of {limit} {bound} is reached (signer {signer}); change \
         {change} dropped, it may come again by sync"
    )]
    PendingFull {
        /// The limit.
        limit: usize,
        /// Which bound it is.
        bound: WaitLimit,
        /// Short form of the signer of the dropped change.
        signer: String,
        /// The dropped change (hex).
        change: String,
    },
    /// A received change does not fit in its signer's write quota for the day (checked by
    /// the node, see [`crate::quota`]); it is not recorded and may come again another day.
    #[error(transparent)]
    Quota(#[from] crate::quota::QuotaError),
    /// Personal records.
    #[error(transparent)]
    Personal(#[from] crate::personal::PersonalError),
}

/// Specification of a new document.
#[derive(Debug, Clone, PartialEq)]
pub enum NewDoc {
    /// The district's federation document (created by the root).
    Federation {
        /// Initial district settings.
        config: DistrictConfig,
    },
    /// The compound registry of `community` (owned by it).
    Registry {
        /// Street of the community.
        street: OrgId,
        /// The community.
        community: OrgId,
        /// Title.
        title: String,
    },
    /// The service ledger of `community` for `year`.
    Ledger {
        /// Street of the community.
        street: OrgId,
        /// The community.
        community: OrgId,
        /// Calendar year.
        year: i16,
        /// Points rule and star thresholds.
        rules: LedgerRules,
    },
    /// A resource owned by the author's organisation.
    Resource {
        /// Street where the resource is.
        street: OrgId,
        /// Community where the resource is.
        community: Option<OrgId>,
        /// Its description and rules.
        spec: ResourceSpec,
    },
    /// The wishes document of `community`.
    Wishes {
        /// Street of the community.
        street: OrgId,
        /// The community.
        community: OrgId,
        /// Title.
        title: String,
    },
    /// The volunteer registry of `community`.
    Volunteers {
        /// Street of the community.
        street: OrgId,
        /// The community.
        community: OrgId,
        /// Title.
        title: String,
    },
}

impl NewDoc {
    /// The header (without time and nonce) and initial records of the new document, owned
    /// by `owner` and created by `me`.
    pub(crate) fn genesis(
        self,
        owner: OrgId,
        me: &Principal,
    ) -> Result<(DocHeader, Vec<Put>), Error> {
        let zone = Zone::shanghai();
        let (header, initial) = match self {
            NewDoc::Federation { config } => (
                header(
                    DocKind::Federation,
                    owner.clone(),
                    owner,
                    None,
                    None,
                    "federation".into(),
                    zone,
                ),
                vec![Put::new("meta", "config", &config)],
            ),
            NewDoc::Registry {
                street,
                community,
                title,
            } => (
                header(
                    DocKind::Registry,
                    owner,
                    street,
                    Some(community),
                    None,
                    title,
                    zone,
                ),
                vec![],
            ),
            NewDoc::Ledger {
                street,
                community,
                year,
                rules,
            } => {
                rules.validate()?;
                let title = format!("{community} service ledger {year}");
                (
                    header(
                        DocKind::Ledger,
                        owner,
                        street,
                        Some(community),
                        Some(year),
                        title,
                        zone,
                    ),
                    vec![Put::new("meta", "rules", &rules)],
                )
            }
            NewDoc::Resource {
                street,
                community,
                spec,
            } => {
                spec.validate()?;
                let zone = spec.zone.clone();
                let title = spec.name.clone();
                (
                    header(
                        DocKind::Resource,
                        owner,
                        street,
                        community,
                        None,
                        title,
                        zone,
                    ),
                    vec![Put::new("meta", "spec", &spec)],
                )
            }
            NewDoc::Wishes {
                street,
                community,
                title,
            } => (
                header(
                    DocKind::Wishes,
                    owner,
                    street,
                    Some(community),
                    None,
                    title,
                    zone,
                ),
                vec![],
            ),
            NewDoc::Volunteers {
                street,
                community,
                title,
            } => (
                header(
                    DocKind::Volunteers,
                    owner,
                    street,
                    Some(community),
                    None,
                    title,
                    zone,
                ),
                vec![],
            ),
        };
        if let Some(c) = &header.community
            && header.kind != DocKind::Resource
            && *c != header.owner
        {
            return Err(Error::Registry(RegistryError::NotOwner {
                who: me.scope.clone(),
                owner: me.scope.parent().unwrap_or_default().child(c.clone()),
            }));
        }
        Ok((header, initial))
    }
}

/// A header of `kind` (time and nonce are set by the replica).
fn header(
    kind: DocKind,
    owner: OrgId,
    street: OrgId,
    community: Option<OrgId>,
    year: Option<i16>,
    title: String,
    zone: Zone,
) -> DocHeader {
    DocHeader {
        kind,
        schema: SCHEMA_VERSION,
        owner,
        street,
        community,
        year,
        title,
        zone,
        created: Timestamp(0),
        nonce: 0,
    }
}

impl Error {
    /// The class of this error.
    pub fn class(&self) -> crate::class::ErrorClass {
        match self {
            Error::Registry(e) => e.class(),
            Error::Ledger(e) => e.class(),
            Error::Resource(e) => e.class(),
            Error::Wishes(e) => e.class(),
            Error::Volunteers(e) => e.class(),
            Error::Personal(e) => e.class(),
            Error::Time(_) | Error::Id(_) | Error::Envelope(_) | Error::Doc(_) => {
                crate::class::ErrorClass::Malformed
            }
            Error::UnknownDocument(_) => crate::class::ErrorClass::NotFound,
            Error::WrongKind { .. } => crate::class::ErrorClass::Invalid,
            Error::NotCertified(_) | Error::SelfRevoked | Error::Policy(_) => {
                crate::class::ErrorClass::Unauthorized
            }
            Error::Rejected(_) | Error::PendingFull { .. } | Error::Quota(_) => {
                crate::class::ErrorClass::Conflict
            }
            Error::Source { .. } => crate::class::ErrorClass::Storage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_each_kind_once_and_each_module_is_its_kind() {
        for &k in ALL {
            assert_eq!(of(k).kind(), k);
            assert_eq!(of(k).maps(), layout(k).maps());
            assert!(of(k).operations().get("oneOf").is_some(), "{k:?}");
        }
        let unique: std::collections::BTreeSet<_> = ALL.iter().collect();
        assert_eq!(unique.len(), ALL.len());
    }
}
