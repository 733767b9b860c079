//! Team claims: a micro-wish or service-menu offer taken up jointly by a team of
//! volunteers (e.g. the party members a unit reports to the community) with exactly one
//! accountable lead — part of the wishes kind.
//!
//! A team claim is an ordinary claim ([`Claim`], keyed `<wish>/<claim>`, write-once,
//! written by the claiming organisation under its own number and naming it) whose `team`
//! holds the members and the lead; its `volunteer` is the lead, so readers that know only
//! single claims see the accountable volunteer. Assignment, release and fulfilment treat it
//! like any claim.
//!
//! **Receivers check** (`check_record`, on every remote change): a team has
//! 2 to [`MAX_TEAM`] distinct members, exactly one lead, the lead among the members, and
//! the claim's volunteer is the lead; who may write it is the rule of every claim (any
//! certified organisation, naming itself). A claim is write-once, so no later write can
//! give a team a second lead: every replica reads one lead per team claim whatever the
//! merge order. **The writer checks** besides, where the members' home registries are held,
//! that each member is a volunteer they know (another document: receivers cannot).
//!
//! **Counting** ([`Wishes::claim_counts`]): per claimant and year, a team claim counts once
//! (one claim, one fulfilled wish), however many members it has; its members are counted
//! among the claimant's volunteers.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Claim, ItemKind, Status, Wishes, WishesError};
use crate::document::{Document, Put};
use crate::ids::{ClaimId, Scope, VolunteerId, WishId};
use crate::kind::{Ctx, Effect};

/// Most members of a team claim.
pub const MAX_TEAM: usize = 50;

/// The team of a team claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// The one accountable volunteer (one of the members).
    pub lead: VolunteerId,
    /// The members (2 to 50, distinct, the lead among them).
    pub members: Vec<VolunteerId>,
}

impl Team {
    /// Checks the team's shape: 2 to [`MAX_TEAM`] distinct members, the lead among them.
    pub fn validate(&self) -> Result<(), WishesError> {
        let n = self.members.len();
        if !(2..=MAX_TEAM).contains(&n) {
            return Err(WishesError::BadTeam(format!(
                "a team has 2 to {MAX_TEAM} members, got {n}"
            )));
        }
        let distinct: BTreeSet<&VolunteerId> = self.members.iter().collect();
        if distinct.len() != n {
            return Err(WishesError::BadTeam(
                "a team names each member once".into(),
            ));
        }
        if !distinct.contains(&self.lead) {
            return Err(WishesError::BadTeam(format!(
                "the lead {} is not among the members",
                self.lead
            )));
        }
        Ok(())
    }
}

/// A claimant's claims of a year ([`Wishes::claim_counts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimCount {
    /// Claims offered (a team claim once).
    pub claims: u32,
    /// Of which team claims.
    pub team_claims: u32,
    /// Claims whose wish was fulfilled (or confirmed) under their assignment.
    pub fulfilled: u32,
    /// Distinct volunteers named (single claims' volunteers, teams' members).
    pub volunteers: u32,
}

impl Wishes<'_> {
    /// Per claimant, the claims offered in `year` (local time of the document's zone) on
    /// wishes and offers: a team claim counts once.
    pub fn claim_counts(&self, year: i16) -> BTreeMap<Scope, ClaimCount> {
        let zone = &self.doc.header().zone;
        let mut out: BTreeMap<Scope, ClaimCount> = BTreeMap::new();
        let mut people: BTreeMap<Scope, BTreeSet<VolunteerId>> = BTreeMap::new();
        for (wish, item) in self.items() {
            if !matches!(item.kind, ItemKind::Wish | ItemKind::Offer) {
                continue;
            }
            let done = matches!(
                self.status(&wish),
                Ok(Status::Fulfilled | Status::Confirmed)
            );
            let assigned = self.assigned(&wish);
            for (id, c) in self.claims(&wish) {
                if !c.at.local(zone).is_ok_and(|(d, _)| d.year() == year) {
                    continue;
                }
                let row = out.entry(c.claimant.clone()).or_default();
                row.claims += 1;
                if done && assigned.contains(&id) {
                    row.fulfilled += 1;
                }
                let who = people.entry(c.claimant.clone()).or_default();
                match &c.team {
                    Some(t) => {
                        row.team_claims += 1;
                        who.extend(t.members.iter().cloned());
                    }
                    None => who.extend(c.volunteer.iter().cloned()),
                }
            }
        }
        for (s, who) in people {
            if let Some(row) = out.get_mut(&s) {
                row.volunteers = u32::try_from(who.len()).unwrap_or(u32::MAX);
            }
        }
        out
    }
}

/// [`WishesOp::ClaimTeam`](super::WishesOp::ClaimTeam): the item open to claims (checked by
/// the caller), the team's shape, its members known where their registries are held.
pub(super) fn plan_claim(
    doc: &Document,
    ctx: &Ctx<'_>,
    wish: WishId,
    team: Team,
    note: String,
) -> Result<(Vec<Put>, Effect, String), WishesError> {
    team.validate()?;
    let street = doc.header().street_scope();
    for m in &team.members {
        let home = if Some(m.org()) == doc.header().owner_scope().org() {
            doc.header().owner_scope()
        } else {
            street.child(m.org().clone())
        };
        if (ctx.volunteer_known)(ctx.docs, &home, m) == Some(false) {
            return Err(WishesError::BadTeam(format!(
                "{m} is not in {home}'s volunteer registry"
            )));
        }
    }
    let n = team.members.len();
    let lead = team.lead.clone();
    let claim = Claim {
        claimant: ctx.scope.clone(),
        volunteer: Some(team.lead.clone()),
        note,
        at: ctx.now,
        team: Some(team),
    };
    let id = ClaimId(ctx.author.next_id(doc, "claims", &format!("{wish}/")));
    Ok((
        vec![Put::new("claims", format!("{wish}/{id}"), &claim)],
        Effect::Claim(id.clone()),
        format!("team claim {id} on {wish}: {n} members, lead {lead}"),
    ))
}

/// The receivers' check of a claim's team (see the module doc).
pub(super) fn check_claim(claim: &Claim) -> Result<(), String> {
    let Some(team) = &claim.team else {
        return Ok(());
    };
    team.validate().map_err(|e| e.to_string())?;
    if claim.volunteer.as_ref() != Some(&team.lead) {
        return Err(format!(
            "a team claim names its lead {} as its volunteer",
            team.lead
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "team_tests.rs"]
mod tests;
