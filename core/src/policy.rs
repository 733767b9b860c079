//! Write policies: which principal may write which record of which document kind.
//!
//! Every operation of a change resolves to a `(map, key, value)` write (see
//! [`crate::document::Document::writes_of`]); each write is checked here against the
//! signer's [`Principal`] (role and organisation from its certificate chain) and the
//! document's immutable header. Rules that depend on other records (a delegate's time block,
//! who holds an assignment) are evaluated on the document *as of the change's dependencies*,
//! so the verdict depends only on the change and its causal history — never on arrival
//! order.
//!
//! The table of rules is in ARCHITECTURE.md ("Write policies").

use automerge::ChangeHash;

use crate::cert::{Certificate, Principal, Revocation, Role, TrustStore};
use crate::document::{DocHeader, DocKind, Document, Write};
use crate::ids::{
    BookingId, CertId, ClaimId, CompoundId, EntryId, InspectionId, OrderId, RecordId, Scope, WishId,
};
use crate::ledger::{self, Entry, EntryBody, LedgerRules};
use crate::registry::{Appointment, Inspection, ScoreSheet};
use crate::resource;
use crate::time::Timestamp;
use crate::wishes::{self, Progress, Stage};

/// Why a change was refused by a write policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A write to a record the signer may not write.
    #[error("{who} may not write {map}/{key} of this {kind}: {reason}")]
    Denied {
        /// The signer, as `org (role)` or `root`.
        who: String,
        /// Kind of document.
        kind: &'static str,
        /// Map written.
        map: String,
        /// Key written.
        key: String,
        /// The rule.
        reason: String,
    },
    /// The signer may not create this document.
    #[error("{who} may not create this {kind}: {reason}")]
    Genesis {
        /// The signer.
        who: String,
        /// Kind of document.
        kind: &'static str,
        /// The rule.
        reason: String,
    },
}

/// Short description of a principal for messages.
pub fn describe(p: &Principal) -> String {
    match (&p.org, p.role) {
        (Some(o), Some(r)) => format!("{o} ({r})"),
        _ => "the root".to_string(),
    }
}

/// Checks that `who` may create a document with `header` (each kind says:
/// [`crate::kind::Kind::may_create`]).
pub(crate) fn authorize_genesis(header: &DocHeader, who: &Principal) -> Result<(), PolicyError> {
    crate::kinds::of(header.kind)
        .may_create(header, who)
        .map_err(|reason| PolicyError::Genesis {
            who: describe(who),
            kind: header.kind.label(),
            reason,
        })
}

/// The creation rule of the documents a community owns (registry, ledger, wishes): only
/// that community, by its whole certified scope.
pub(crate) fn community_creates(header: &DocHeader, who: &Principal) -> Result<(), String> {
    require(
        who.role == Some(Role::Community)
            && header.community.as_ref() == Some(&header.owner)
            && is_owner(header, who),
        || {
            format!(
                "it belongs to community {} of street {}; only that community creates it",
                header.owner, header.street
            )
        },
    )
}

/// The creation rule of a resource: only its owner.
pub(crate) fn owner_creates(header: &DocHeader, who: &Principal) -> Result<(), String> {
    require(is_owner(header, who), || {
        format!(
            "its owner is {} (scope {})",
            header.owner,
            header.owner_scope()
        )
    })
}

/// [`authorize_genesis`] under any of the signer's principals (a key may hold certificates
/// from several issuers); when none allows it, the first principal's refusal.
pub(crate) fn authorize_genesis_any(
    header: &DocHeader,
    who: &[Principal],
) -> Result<(), PolicyError> {
    first_ok(who.iter().map(|p| authorize_genesis(header, p)))
}

/// [`authorize`] under any of the signer's principals: a change stands when one principal
/// allows every write of it; when none does, the first principal's refusal.
pub(crate) fn authorize_any(
    doc: &Document,
    deps: &[ChangeHash],
    who: &[Principal],
    trust: &TrustStore,
    at: Timestamp,
    writes: &[Write],
) -> Result<(), PolicyError> {
    first_ok(
        who.iter()
            .map(|p| authorize(doc, deps, p, trust, at, writes)),
    )
}

fn first_ok(mut results: impl Iterator<Item = Result<(), PolicyError>>) -> Result<(), PolicyError> {
    let mut first = None;
    for r in results.by_ref() {
        match r {
            Ok(()) => return Ok(()),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    first.map_or(
        Err(PolicyError::Genesis {
            who: "a key without principals".into(),
            kind: "document",
            reason: "no certificate chain".into(),
        }),
        Err,
    )
}

/// Whether a rule judges one of `writes` on the whole typed view of the document as of the
/// change's history (booking decisions, wish fulfilment, revocations: each kind says,
/// [`crate::kind::Kind::needs_history`]), rather than on single records read as of that
/// history.
pub(crate) fn needs_history(kind: DocKind, writes: &[Write]) -> bool {
    let k = crate::kinds::of(kind);
    writes.iter().any(|w| k.needs_history(&w.map, &w.key))
}

/// Checks every write of a change by `who` to `doc`. `deps` are the change's dependencies:
/// every rule that reads other records reads them as of that history, so the verdict is a
/// function of the change and its causal history only.
pub(crate) fn authorize(
    doc: &Document,
    deps: &[ChangeHash],
    who: &Principal,
    trust: &TrustStore,
    at: Timestamp,
    writes: &[Write],
) -> Result<(), PolicyError> {
    // The document as of the change's dependencies, built only when a rule needs the whole
    // typed view (booking decisions, wish fulfilment); when the change was made on the
    // current state (the common case) that is the document.
    let mut current = doc.heads();
    current.sort();
    let mut wanted = deps.to_vec();
    wanted.sort();
    let at_current = current == wanted;
    let past = if needs_history(doc.kind(), writes) && !at_current {
        Some(doc.at(deps).map_err(|e| PolicyError::Genesis {
            who: describe(who),
            kind: doc.kind().label(),
            reason: format!("the change's history cannot be read: {e}"),
        })?)
    } else {
        None
    };
    let history: &Document = past.as_ref().unwrap_or(doc);
    let ctx = Rules {
        h: doc.header(),
        doc,
        deps,
        who,
        history,
        trust,
        at,
    };
    let kind = crate::kinds::of(doc.kind());
    for w in writes {
        let deny = |reason: String| PolicyError::Denied {
            who: describe(who),
            kind: doc.kind().label(),
            map: w.map.clone(),
            key: w.key.clone(),
            reason,
        };
        // Each kind judges its writes (crate::kind::Kind::authorize; no default).
        let r = ctx.write_once(w).and_then(|()| kind.authorize(&ctx, w));
        r.map_err(deny)?;
    }
    Ok(())
}

type Rule = Result<(), String>;

fn require(ok: bool, reason: impl FnOnce() -> String) -> Rule {
    if ok { Ok(()) } else { Err(reason()) }
}

/// Whether `who` is the owner of the document: its whole certified scope, since codes are
/// only unique within their parent.
fn is_owner(h: &DocHeader, who: &Principal) -> bool {
    who.scope == h.owner_scope()
}

/// Whether `who` is the street of the document (certified by the root as a street).
fn is_street(h: &DocHeader, who: &Principal) -> bool {
    who.role == Some(Role::Street) && who.scope == h.street_scope()
}

fn first_id<T: std::str::FromStr>(key: &str) -> Result<T, String> {
    key.split('/')
        .next()
        .and_then(|k| k.parse().ok())
        .ok_or_else(|| format!("malformed key {key:?}"))
}

fn decode<T: serde::de::DeserializeOwned>(w: &Write) -> Result<T, String> {
    serde_json::from_str(&w.value).map_err(|e| format!("record does not decode: {e}"))
}

/// Records the domain treats as final once written (each kind says:
/// [`crate::kind::Kind::write_once`]).
fn is_write_once(kind: DocKind, map: &str, key: &str) -> bool {
    crate::kinds::of(kind).write_once(map, key)
}

/// What the rules of one change look at: the document (whose header never changes), the
/// change's history and its signer, the trust store and the change's time. A kind's
/// [`crate::kind::Kind::authorize`] judges each write with it.
pub struct Rules<'a> {
    pub(crate) h: &'a DocHeader,
    pub(crate) doc: &'a Document,
    pub(crate) deps: &'a [ChangeHash],
    pub(crate) who: &'a Principal,
    /// The document as of the change's dependencies (for rules on the whole typed view).
    pub(crate) history: &'a Document,
    pub(crate) trust: &'a TrustStore,
    pub(crate) at: Timestamp,
}

impl Rules<'_> {
    fn write_once(&self, w: &Write) -> Rule {
        if is_write_once(self.doc.kind(), &w.map, &w.key)
            && self.doc.exists_at(&w.map, &w.key, self.deps)
        {
            return Err(format!(
                "{}/{} was already written and is final: records of this kind are never rewritten",
                w.map, w.key
            ));
        }
        Ok(())
    }

    /// A record numbered by its writer (`org@tag:n`): the code must be the signer's own
    /// organisation and the tag the signer's key, so nobody can write under another's
    /// number, and records that name an organisation name the signer's whole scope.
    fn own_number(&self, id: &RecordId) -> Rule {
        require(
            self.who.scope.org() == Some(&id.org) && id.numbered_by(&self.who.node),
            || {
                format!(
                    "record {id} is not numbered by the signer: its key must start with {}@ and this key's tag",
                    self.who
                        .scope
                        .org()
                        .map_or("root".to_string(), ToString::to_string)
                )
            },
        )
    }

    fn names_signer(&self, named: &Scope, field: &str) -> Rule {
        require(*named == self.who.scope, || {
            format!(
                "the record's {field} is {named}, not the signer's scope {}",
                self.who.scope
            )
        })
    }

    fn owner(&self, what: &str) -> Rule {
        require(is_owner(self.h, self.who), || {
            format!("only the owner {} may {what}", self.h.owner_scope())
        })
    }

    pub(crate) fn registry(&self, w: &Write) -> Rule {
        let (h, who) = (self.h, self.who);
        let community = || {
            require(
                is_owner(h, who) && who.role == Some(Role::Community),
                || format!("only community {} writes its compounds", h.owner_scope()),
            )
        };
        match w.map.as_str() {
            "compounds" => {
                community()?;
                if !self.doc.exists_at("compounds", &w.key, self.deps) {
                    self.own_number(&first_id::<CompoundId>(&w.key)?.0)?;
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
                let ins: Inspection = decode(w)?;
                self.names_signer(&ins.by, "inspector")
            }
            "appointments" => {
                require(is_street(h, who), || {
                    format!(
                        "only street {} appoints and dismisses property managers",
                        h.street_scope()
                    )
                })?;
                let a: Appointment = decode(w)?;
                self.names_signer(&a.by, "signing street")
            }
            "scores" => {
                let role = w.key.rsplit('/').next().unwrap_or_default();
                let sheet: ScoreSheet = decode(w)?;
                self.names_signer(&sheet.by, "scorer")?;
                match role {
                    "owners" | "community" => community(),
                    "street" => require(is_street(h, who), || {
                        format!("only street {} writes the street's sheet", h.street_scope())
                    }),
                    "department" => require(
                        matches!(who.role, Some(Role::Unit | Role::Partner))
                            && who.scope.len() == 1,
                        || {
                            "the department's sheet is written by a department certified by the district root".into()
                        },
                    ),
                    other => Err(format!("unknown scorer role {other:?}")),
                }
            }
            _ => Err("unknown map".into()),
        }
    }

    pub(crate) fn ledger(&self, w: &Write) -> Rule {
        let (h, who) = (self.h, self.who);
        match w.map.as_str() {
            "meta" => self.owner("set the rules"),
            "entries" => {
                let id: EntryId = first_id(&w.key)?;
                self.own_number(&id.0)?;
                let e: Entry = decode(w)?;
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
                            && ledger::is_organiser(h, &who.scope);
                        require(is_owner(h, who) || organiser, || {
                            format!(
                                "service records in {}'s ledger come from {} or an organiser it certified",
                                h.owner_scope(),
                                h.owner_scope()
                            )
                        })?;
                        let due = rules.points_for(*minutes);
                        require(*points == due, || {
                            format!(
                                "{minutes} minutes earn {due} points under the ledger's rule, not {points}"
                            )
                        })?;
                        require(h.year.is_none_or(|y| date.year() == y), || {
                            format!(
                                "date {date} is not in this ledger's year {}",
                                h.year.unwrap_or_default()
                            )
                        })
                    }
                    EntryBody::Correction {
                        corrects, delta, ..
                    } => {
                        require(is_owner(h, who), || {
                            format!("only {} corrects entries of its ledger", h.owner_scope())
                        })?;
                        let max = rules.max_correction();
                        require(delta.0 != 0 && delta.0.abs() <= max.0, || {
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
                            require(t.volunteer == e.volunteer, || {
                                format!(
                                    "entry {target} belongs to {}, not {}",
                                    t.volunteer, e.volunteer
                                )
                            })?;
                        }
                        Ok(())
                    }
                    EntryBody::Redemption { .. } => {
                        require(is_owner(h, who) && e.home == h.owner_scope(), || {
                            format!(
                                "only the home community {} redeems points of volunteer {}, in its own ledger",
                                e.home, e.volunteer
                            )
                        })
                    }
                }
            }
            _ => Err("unknown map".into()),
        }
    }

    pub(crate) fn resource(&self, w: &Write) -> Rule {
        match w.map.as_str() {
            "meta" => self.owner("change the resource's rules"),
            "delegations" => {
                self.owner("delegate blocks")?;
                let d: resource::Delegation = decode(w)?;
                require(d.delegate != self.h.owner_scope(), || {
                    "the owner cannot be its own delegate".into()
                })
            }
            "bars" => self.owner("bar bookers"),
            "order_decisions" => {
                self.owner("decide meal orders")?;
                self.order_decision(w)
            }
            "requests" => {
                self.own_number(&first_id::<BookingId>(&w.key)?.0)?;
                let req: resource::BookingRequest = decode(w)?;
                self.names_signer(&req.by, "requester")
            }
            "orders" => {
                self.own_number(&first_id::<OrderId>(&w.key)?.0)?;
                let order: resource::Order = decode(w)?;
                self.names_signer(&order.by, "placing organisation")
            }
            "order_days" => {
                let order: OrderId = w
                    .key
                    .rsplit('/')
                    .next()
                    .and_then(|k| k.parse().ok())
                    .ok_or_else(|| format!("malformed key {:?}", w.key))?;
                self.own_number(&order.0)
            }
            "cancellations" => {
                let key = w.key.split('/').next().unwrap_or_default();
                let requests = self
                    .doc
                    .get_all_at::<resource::BookingRequest>("requests", key, self.deps);
                self.same_writer("requests", key, requests.iter().map(|r| &r.by))
            }
            "order_cancellations" => {
                let key = w.key.split('/').next().unwrap_or_default();
                let orders = self
                    .doc
                    .get_all_at::<resource::Order>("orders", key, self.deps);
                self.same_writer("orders", key, orders.iter().map(|o| &o.by))
            }
            _ => Err("unknown map".into()),
        }
    }

    /// An order is accepted or refused once, while placed (not cancelled); only an accepted
    /// order is then marked collected or not — the typed operation's transitions, judged
    /// on the change's history.
    fn order_decision(&self, w: &Write) -> Rule {
        use resource::{OrderDecision, OrderVerdict};
        let key = w.key.split('/').next().unwrap_or_default();
        let d: OrderDecision = decode(w)?;
        if !self.doc.exists_at("orders", key, self.deps) {
            return Err(format!("order {key} is not in this change's history"));
        }
        let before = self
            .doc
            .get_all_at::<OrderDecision>("order_decisions", key, self.deps);
        let cancelled = self.doc.exists_at("order_cancellations", key, self.deps);
        let accepted = !before.is_empty()
            && before.iter().all(|b| {
                matches!(
                    b.verdict,
                    OrderVerdict::Accepted | OrderVerdict::Collected | OrderVerdict::Uncollected
                )
            });
        match d.verdict {
            OrderVerdict::Accepted | OrderVerdict::Refused { .. } => {
                require(before.is_empty() && !cancelled, || {
                    format!("order {key} was already decided or cancelled; a decision is final")
                })
            }
            OrderVerdict::Collected | OrderVerdict::Uncollected => require(accepted, || {
                format!("order {key} is not accepted, so it cannot be marked collected or not")
            }),
        }
    }

    /// A cancellation comes from the organisation that wrote the request or order: the
    /// scope the record names (which its write policy checked against its signer).
    fn same_writer<'s>(
        &self,
        map: &str,
        key: &str,
        mut writers: impl Iterator<Item = &'s Scope>,
    ) -> Rule {
        let first = writers
            .next()
            .ok_or_else(|| format!("{map}/{key} is not in this change's history"))?;
        require(
            *first == self.who.scope && writers.all(|s| *s == self.who.scope),
            || {
                format!(
                    "{map}/{key} was written by {first}, not by {}",
                    self.who.scope
                )
            },
        )
    }

    pub(crate) fn wishes(&self, w: &Write) -> Rule {
        let (h, who) = (self.h, self.who);
        match w.map.as_str() {
            "items" => {
                let id: WishId = first_id(&w.key)?;
                self.own_number(&id.0)?;
                let item: wishes::Item = decode(w)?;
                self.names_signer(&item.by, "poster")?;
                let street_offer = item.kind == wishes::ItemKind::Offer && is_street(h, who);
                require(is_owner(h, who) || street_offer, || {
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
                let c: wishes::Claim = decode(w)?;
                self.names_signer(&c.claimant, "claimant")
            }
            "assignments" => {
                self.owner("assign wishes")?;
                let a: wishes::Assignment = decode(w)?;
                self.names_signer(&a.by, "assigner")
            }
            "progress" => {
                self.owner("record a wish's progress")?;
                let p: Progress = decode(w)?;
                self.names_signer(&p.by, "writer")
            }
            _ => Err("unknown map".into()),
        }
    }
}

/// The federation rules. Revocations are judged on the document as of the change's history
/// (`past`): the certificates they name and the chains that give the signer authority over
/// them must be ones the signer could see.
pub(crate) fn federation(
    past: &Document,
    who: &Principal,
    trust: &TrustStore,
    at: Timestamp,
    w: &Write,
) -> Rule {
    match w.map.as_str() {
        "meta" => require(who.is_root(), || {
            "only the root sets the district settings".into()
        }),
        "certs" => {
            let c: crate::cert::Certificate = decode(w)?;
            require(c.issuer == who.node, || {
                format!(
                    "the certificate names issuer {}, not the signer",
                    c.issuer.short()
                )
            })?;
            if who.is_root() {
                return Ok(());
            }
            let (role, org) = (who.role, who.org.as_ref());
            let ok = match (role, c.role) {
                (Some(Role::Street), Role::Community) => c.parent.as_ref() == org,
                (Some(Role::Community), Role::Unit | Role::Partner) => c.parent.as_ref() == org,
                _ => false,
            };
            require(ok, || {
                format!(
                    "a {} may not certify a {} of {}",
                    role.map_or("root".to_string(), |r| r.to_string()),
                    c.role,
                    c.parent
                        .as_ref()
                        .map_or("the district".to_string(), ToString::to_string)
                )
            })
        }
        "revocations" => {
            let r: crate::cert::Revocation = decode(w)?;
            require(r.by == who.node, || {
                "the revocation names another revoker".into()
            })?;
            require(r.at == at, || {
                format!(
                    "the revocation is dated {}, not at its change's time {at}",
                    r.at
                )
            })?;
            may_revoke(past, trust, &r)
        }
        _ => Err("unknown map".into()),
    }
}

/// Whether `r.by` may make revocation `r`, judged on the federation document `fed` (the
/// certificates named must be in it) and the certificates of `trust` that `fed` holds
/// (the chains giving authority): the subject is not the root, at least one certificate is
/// named, each is a certificate of the subject, and the signer may withdraw each
/// ([`TrustStore::may_withdraw`]: its issuer, a key above it in one of its chains, or the
/// root). Used by the write policy on every received revocation and by the typed operation.
pub(crate) fn may_revoke(fed: &Document, trust: &TrustStore, r: &Revocation) -> Rule {
    require(r.subject != *trust.root(), || {
        "the root key cannot be revoked (a compromised root means a new district)".into()
    })?;
    require(!r.certs.is_empty(), || {
        "a revocation must name the certificates it withdraws".into()
    })?;
    let view = crate::federation::Federation::new(fed);
    let held: Vec<(CertId, Certificate)> = view
        .certificates()
        .into_iter()
        .map(|c| (c.id(), c))
        .collect();
    let ids: std::collections::BTreeSet<CertId> = held.iter().map(|(i, _)| *i).collect();
    let chains = trust.subset(|i| ids.contains(i));
    for id in &r.certs {
        let Some((_, cert)) = held.iter().find(|(i, _)| i == id) else {
            return Err(format!(
                "key {} may not revoke certificate {}: no such certificate in the federation \
                 document as the revoker saw it",
                r.by.short(),
                id.short()
            ));
        };
        require(cert.subject == r.subject, || {
            format!(
                "key {} may not revoke certificate {} as one of key {}: it is a certificate of \
                 key {}",
                r.by.short(),
                id.short(),
                r.subject.short(),
                cert.subject.short()
            )
        })?;
        chains.may_withdraw(&r.by, cert, r.at)?;
    }
    Ok(())
}

pub(crate) fn resource_decision(past: &Document, who: &Principal, w: &Write) -> Rule {
    let booking: BookingId = first_id(&w.key)?;
    let d: resource::Decision = decode(w)?;
    if who.is_root() {
        return Err("the root does not decide bookings".into());
    }
    require(d.by == who.scope, || {
        format!(
            "the decision names arbiter {}, not the signer's scope {}",
            d.by, who.scope
        )
    })?;
    let r = resource::Resource::new(past).map_err(|e| e.to_string())?;
    resource::authorize_decision(&r, &who.scope, &booking, &d.verdict)
}

pub(crate) fn wishes_fulfil(past: &Document, who: &Principal, w: &Write) -> Rule {
    let p: Progress = decode(w)?;
    if !matches!(p.stage, Stage::Fulfilled { .. }) {
        return Err("stage does not match its key".into());
    }
    require(p.by == who.scope, || {
        format!(
            "the record names {}, not the signer's scope {}",
            p.by, who.scope
        )
    })?;
    let wish: WishId = first_id(&w.key)?;
    if is_owner(past.header(), who) {
        return Ok(());
    }
    let view = wishes::Wishes::new(past);
    let assigned = view.assigned(&wish);
    let holder = view
        .claims(&wish)
        .into_iter()
        .any(|(c, claim)| assigned.contains(&c) && claim.claimant == who.scope);
    require(holder, || {
        format!("only the community or the assigned claimant marks {wish} fulfilled")
    })
}
