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
use crate::ids::{BookingId, CertId, ClaimId, EntryId, OrderId, OrgId, Scope, WishId};
use crate::ledger::{Entry, EntryBody};
use crate::registry::ScoreSheet;
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

/// Checks that `who` may create a document with `header`.
pub(crate) fn authorize_genesis(header: &DocHeader, who: &Principal) -> Result<(), PolicyError> {
    let deny = |reason: String| PolicyError::Genesis {
        who: describe(who),
        kind: header.kind.label(),
        reason,
    };
    match header.kind {
        DocKind::Federation => {
            if !who.is_root() {
                return Err(deny(
                    "only the district root creates the federation document".into(),
                ));
            }
        }
        DocKind::Registry | DocKind::Ledger | DocKind::Wishes => {
            if who.role != Some(Role::Community)
                || header.community.as_ref() != Some(&header.owner)
                || !is_owner(header, who)
            {
                return Err(deny(format!(
                    "it belongs to community {} of street {}; only that community creates it",
                    header.owner, header.street
                )));
            }
        }
        DocKind::Resource => {
            if !is_owner(header, who) {
                return Err(deny(format!(
                    "its owner is {} (scope {})",
                    header.owner,
                    owner_scope(header)
                )));
            }
        }
    }
    Ok(())
}

/// Checks every write of a change by `who` to `doc`. `deps` are the change's dependencies.
pub(crate) fn authorize(
    doc: &Document,
    deps: &[ChangeHash],
    who: &Principal,
    trust: &TrustStore,
    at: Timestamp,
    writes: &[Write],
) -> Result<(), PolicyError> {
    // The document as of the change's dependencies, built only when a rule needs it; when
    // the change was made on the current state (the common case) that is the document.
    let mut current = doc.heads();
    current.sort();
    let mut wanted = deps.to_vec();
    wanted.sort();
    let at_current = current == wanted;
    let needs_history = writes.iter().any(|w| {
        (doc.kind() == DocKind::Resource
            && matches!(
                w.map.as_str(),
                "decisions" | "cancellations" | "order_cancellations"
            ))
            || (doc.kind() == DocKind::Wishes
                && w.map == "progress"
                && w.key.ends_with("/fulfilled"))
            || (doc.kind() == DocKind::Federation && w.map == "revocations")
    });
    let past = if needs_history && !at_current {
        Some(doc.at(deps).map_err(|e| PolicyError::Genesis {
            who: describe(who),
            kind: doc.kind().label(),
            reason: format!("the change's history cannot be read: {e}"),
        })?)
    } else {
        None
    };
    let history: &Document = past.as_ref().unwrap_or(doc);
    for w in writes {
        let deny = |reason: String| PolicyError::Denied {
            who: describe(who),
            kind: doc.kind().label(),
            map: w.map.clone(),
            key: w.key.clone(),
            reason,
        };
        let r = match doc.kind() {
            DocKind::Federation => federation(history, who, trust, at, w),
            DocKind::Registry => registry(doc.header(), who, w),
            DocKind::Ledger => ledger(doc.header(), who, w),
            DocKind::Resource => {
                if w.map == "decisions" {
                    resource_decision(history, who, w)
                } else if w.map == "cancellations" || w.map == "order_cancellations" {
                    resource(doc.header(), who, w)
                        .and_then(|()| same_writer(history, who, trust, at, w))
                } else {
                    resource(doc.header(), who, w)
                }
            }
            DocKind::Wishes => {
                if w.map == "progress" && w.key.ends_with("/fulfilled") {
                    wishes_fulfil(history, who, w)
                } else {
                    wishes(doc.header(), who, w)
                }
            }
        };
        r.map_err(deny)?;
    }
    Ok(())
}

type Rule = Result<(), String>;

fn require(ok: bool, reason: impl FnOnce() -> String) -> Rule {
    if ok { Ok(()) } else { Err(reason()) }
}

fn is_org(who: &Principal, org: &OrgId) -> bool {
    who.org.as_ref() == Some(org)
}

/// The scope (chain of organisations) of a document's owner, from its header: a
/// community's documents belong to `[street, community]`; a resource to
/// `[street, community]` when the community owns it, `[street, community, unit]` when a unit
/// of that community does, `[owner]` when a street (or a root-certified body) does.
pub(crate) fn owner_scope(h: &DocHeader) -> Scope {
    let orgs = match &h.community {
        Some(c) if *c == h.owner => vec![h.street.clone(), c.clone()],
        Some(c) => vec![h.street.clone(), c.clone(), h.owner.clone()],
        None => vec![h.owner.clone()],
    };
    // Invariant: at most three codes, within MAX_SCOPE_LEN.
    Scope::new(orgs).unwrap_or_default()
}

/// Whether `who` is the owner of the document: same organisation code *and* the same
/// scope, since codes are only unique within their parent.
fn is_owner(h: &DocHeader, who: &Principal) -> bool {
    is_org(who, &h.owner) && who.scope == owner_scope(h)
}

/// Whether `who` is the street of the document (certified by the root as a street).
fn is_street(h: &DocHeader, who: &Principal) -> bool {
    who.role == Some(Role::Street) && who.scope.orgs() == [h.street.clone()]
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

/// The federation rules. Revocations are judged on the document as of the change's history
/// (`past`): the certificates they name and the chains that give the signer authority over
/// them must be ones the signer could see.
fn federation(
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

fn registry(h: &DocHeader, who: &Principal, w: &Write) -> Rule {
    let community = || {
        require(
            is_owner(h, who) && who.role == Some(Role::Community),
            || format!("only community {} writes its compounds", h.owner),
        )
    };
    match w.map.as_str() {
        "compounds" | "inspections" => community(),
        "appointments" => require(is_street(h, who), || {
            format!(
                "only street {} appoints and dismisses property managers",
                h.street
            )
        }),
        "scores" => {
            let role = w.key.rsplit('/').next().unwrap_or_default();
            let sheet: ScoreSheet = decode(w)?;
            require(is_org(who, &sheet.by), || {
                "the sheet names another scorer".into()
            })?;
            match role {
                "owners" | "community" => community(),
                "street" => require(is_street(h, who), || {
                    format!("only street {} writes the street's sheet", h.street)
                }),
                "department" => require(
                    matches!(who.role, Some(Role::Unit | Role::Partner)) && who.scope.len() == 1,
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

fn ledger(h: &DocHeader, who: &Principal, w: &Write) -> Rule {
    match w.map.as_str() {
        "meta" => require(is_owner(h, who), || {
            format!("only {} sets the rules", h.owner)
        }),
        "entries" => {
            let id: EntryId = first_id(&w.key)?;
            let e: Entry = decode(w)?;
            require(is_org(who, id.org()) && is_org(who, &e.issuer), || {
                "entries are numbered and signed by their issuer's own organisation".into()
            })?;
            match e.body {
                EntryBody::Service { .. } | EntryBody::Correction { .. } => {
                    let organiser = matches!(who.role, Some(Role::Unit | Role::Partner))
                        && who.scope.len() == 3
                        && who.scope.parent().as_ref() == Some(&owner_scope(h));
                    require(is_owner(h, who) || organiser, || {
                        format!(
                            "service records in {}'s ledger come from {} or an organiser it certified",
                            h.owner, h.owner
                        )
                    })
                }
                EntryBody::Redemption { .. } => {
                    require(is_owner(h, who) && e.volunteer.org() == &h.owner, || {
                        format!(
                            "only the home community {} redeems points of volunteer {}",
                            e.volunteer.org(),
                            e.volunteer
                        )
                    })
                }
            }
        }
        _ => Err("unknown map".into()),
    }
}

fn resource(h: &DocHeader, who: &Principal, w: &Write) -> Rule {
    let owner = || {
        require(is_owner(h, who), || {
            format!("only the owner {} may", h.owner)
        })
    };
    let own_id = |org: &OrgId| {
        require(is_org(who, org), || {
            format!("this record belongs to {org}; write only under your own organisation")
        })
    };
    match w.map.as_str() {
        "meta" | "delegations" | "bars" | "order_decisions" => owner(),
        "requests" | "cancellations" => own_id(first_id::<BookingId>(&w.key)?.org()),
        "orders" | "order_cancellations" => own_id(first_id::<OrderId>(&w.key)?.org()),
        "order_days" => {
            let order: OrderId = w
                .key
                .rsplit('/')
                .next()
                .and_then(|k| k.parse().ok())
                .ok_or_else(|| format!("malformed key {:?}", w.key))?;
            own_id(order.org())
        }
        _ => Err("unknown map".into()),
    }
}

/// A cancellation must come from the organisation that wrote the request or order — the
/// same code *and* scope, checked on the writer's key, since codes repeat across scopes.
fn same_writer(
    past: &Document,
    who: &Principal,
    trust: &TrustStore,
    at: Timestamp,
    w: &Write,
) -> Rule {
    let map = if w.map == "cancellations" {
        "requests"
    } else {
        "orders"
    };
    let key = w.key.split('/').next().unwrap_or_default();
    let writers = past.writers(map, key);
    if writers.is_empty() {
        return Err(format!("{map}/{key} is not in this change's history"));
    }
    let ok = writers
        .iter()
        .any(|n| trust.principal(n, at).is_ok_and(|p| p.scope == who.scope));
    require(ok, || {
        format!(
            "{map}/{key} was written by another organisation than {}",
            describe(who)
        )
    })
}

fn resource_decision(past: &Document, who: &Principal, w: &Write) -> Rule {
    let booking: BookingId = first_id(&w.key)?;
    let d: resource::Decision = decode(w)?;
    let org = who
        .org
        .as_ref()
        .ok_or("the root does not decide bookings")?;
    require(&d.by == org, || "the decision names another arbiter".into())?;
    let r = resource::Resource::new(past).map_err(|e| e.to_string())?;
    resource::authorize_decision(&r, org, &booking, &d.verdict)
}

fn wishes(h: &DocHeader, who: &Principal, w: &Write) -> Rule {
    let community = || {
        require(is_org(who, &h.owner), || {
            format!("only community {} may", h.owner)
        })
    };
    match w.map.as_str() {
        "items" => {
            let id: WishId = first_id(&w.key)?;
            let item: wishes::Item = decode(w)?;
            require(is_org(who, id.org()) && is_org(who, &item.by), || {
                "items are numbered under the poster's own organisation".into()
            })?;
            let street_offer = item.kind == wishes::ItemKind::Offer && is_street(h, who);
            require(is_owner(h, who) || street_offer, || {
                format!(
                    "only {} posts here (and street {} its service-menu offers)",
                    h.owner, h.street
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
            require(is_org(who, claim.org()), || {
                "claims are made under the claimant's own organisation".into()
            })
        }
        "assignments" | "progress" => community(),
        _ => Err("unknown map".into()),
    }
}

fn wishes_fulfil(past: &Document, who: &Principal, w: &Write) -> Rule {
    let p: Progress = decode(w)?;
    if !matches!(p.stage, Stage::Fulfilled { .. }) {
        return Err("stage does not match its key".into());
    }
    let wish: WishId = first_id(&w.key)?;
    let view = wishes::Wishes::new(past);
    if is_org(who, view.community()) {
        return Ok(());
    }
    let assigned = view.assigned(&wish);
    let holder = view
        .claims(&wish)
        .into_iter()
        .any(|(c, claim)| assigned.contains(&c) && is_org(who, &claim.claimant));
    require(holder, || {
        format!("only the community or the assigned claimant marks {wish} fulfilled")
    })
}
