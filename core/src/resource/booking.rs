//! Planning of delegation, booking and bar operations.

use super::{
    Bar, Barred, BookingForm, BookingRequest, BookingStatus, BookingView, Cancellation, Decision,
    Delegation, Planned, Resource, ResourceError, Verdict, WeeklyBlock,
};
use crate::document::Put;
use crate::ids::{BookingId, DelegationId, Scope};
use crate::kind::{Ctx, Effect};
use crate::time::Slot;

fn non_empty(field: &'static str, text: &str) -> Result<(), ResourceError> {
    if text.trim().is_empty() {
        return Err(ResourceError::EmptyField { field });
    }
    Ok(())
}

fn decision(ctx: &Ctx<'_>, booking: &BookingId, verdict: Verdict) -> Put {
    let d = Decision {
        verdict,
        by: ctx.scope.clone(),
        at: ctx.now,
    };
    Put::new("decisions", booking.to_string(), &d)
}

/// The booking, unless unknown or final.
fn open<'r>(r: &'r Resource<'_>, booking: &BookingId) -> Result<&'r BookingView, ResourceError> {
    let b = r
        .booking(booking)
        .ok_or_else(|| ResourceError::UnknownBooking(booking.clone()))?;
    if b.status.is_final() {
        return Err(ResourceError::Final {
            booking: booking.clone(),
            status: b.status.label(),
        });
    }
    Ok(b)
}

fn wrong_status(b: &BookingView, action: &'static str) -> ResourceError {
    ResourceError::WrongStatus {
        booking: b.id.clone(),
        action,
        status: b.status.label(),
    }
}

fn barred(r: &Resource<'_>, org: &Scope, form: &BookingForm) -> Result<(), ResourceError> {
    match r.bar_for(org, form) {
        Some(bar) => Err(ResourceError::Barred {
            who: bar.who.to_string(),
            reason: bar.reason.clone(),
        }),
        None => Ok(()),
    }
}

fn describe(arbiter: Option<&Scope>) -> String {
    match arbiter {
        Some(a) => format!("its arbiter is {a}"),
        None => {
            "it touches a delegated block without lying inside it, so nobody may decide it".into()
        }
    }
}

pub(super) fn delegate(
    r: &Resource<'_>,
    ctx: &Ctx<'_>,
    delegate: Scope,
    block: WeeklyBlock,
) -> Planned {
    let me = ctx.scope;
    r.require_owner(me, "delegate a block")?;
    block.validate().map_err(ResourceError::InvalidDelegation)?;
    if delegate == r.owner_scope() {
        return Err(ResourceError::InvalidDelegation(format!(
            "{delegate} owns the resource and cannot be its own delegate"
        )));
    }
    if let Some((other, d)) = r
        .delegations()
        .iter()
        .find(|(_, d)| d.block.intersects_block(&block))
    {
        return Err(ResourceError::DelegationOverlap {
            block: block.to_string(),
            other: other.clone(),
            other_block: d.block.to_string(),
        });
    }
    let id = DelegationId(ctx.author.next_id(r.document(), "delegations", ""));
    let msg = format!("delegate {block} to {delegate}");
    let d = Delegation {
        delegate,
        block,
        at: ctx.now,
    };
    Ok((
        vec![Put::new("delegations", id.to_string(), &d)],
        Effect::Delegation(id),
        msg,
    ))
}

pub(super) fn request(r: &Resource<'_>, ctx: &Ctx<'_>, form: BookingForm) -> Planned {
    let me = ctx.scope;
    let spec = r.spec();
    form.check_shape()?;
    form.check_exceptions(&spec.zone)?;
    spec.check_attendees(form.attendees)?;
    barred(r, me, &form)?;
    for cand in form.candidates() {
        let occ = form.occurrences(&cand, &spec.zone)?;
        for o in &occ {
            spec.check_occurrence(o)?;
        }
        if let Some(first) = occ.first() {
            spec.check_lead(first, ctx.now)?;
        }
    }
    let id = BookingId(ctx.author.next_id(r.document(), "requests", ""));
    let msg = format!("request {id} for {}", form.slot.display_in(&spec.zone));
    let req = BookingRequest {
        form,
        requested_at: ctx.now,
        by: me.clone(),
    };
    Ok((
        vec![Put::new("requests", id.to_string(), &req)],
        Effect::Booking(id),
        msg,
    ))
}

/// The occurrences of candidate `slot` if the author may confirm it now: standing rules,
/// lead time against the author's clock, the author is its arbiter, and no occurrence
/// overlaps a confirmed booking, a contested claim or one of `extra` (confirmations planned
/// in the same change).
fn fit(
    r: &Resource<'_>,
    ctx: &Ctx<'_>,
    form: &BookingForm,
    slot: &Slot,
    extra: &[(BookingId, Slot)],
) -> Result<Vec<Slot>, ResourceError> {
    let spec = r.spec();
    let occ = form.occurrences(slot, &spec.zone)?;
    for o in &occ {
        spec.check_occurrence(o)?;
    }
    if let Some(first) = occ.first() {
        spec.check_lead(first, ctx.now)?;
    }
    let me = ctx.scope;
    let arbiter = r.arbiter(&occ)?;
    if arbiter.as_ref() != Some(me) {
        return Err(ResourceError::NotArbiter {
            who: me.clone(),
            slot: slot.display_in(&spec.zone),
            arbiter: describe(arbiter.as_ref()),
        });
    }
    for o in &occ {
        let clash = r
            .overlapping(o)
            .map(|(id, s)| (id.clone(), *s))
            .or_else(|| {
                extra
                    .iter()
                    .chain(&r.claims)
                    .find(|(_, s)| s.overlaps(o))
                    .cloned()
            });
        if let Some((other, s)) = clash {
            return Err(ResourceError::Overlap {
                slot: o.display_in(&spec.zone),
                other,
                other_slot: s.display_in(&spec.zone),
            });
        }
    }
    Ok(occ)
}

/// The first candidate of a booking the author can confirm, with its occurrences. With one
/// candidate its failure is returned as is; with several, all failures are listed.
fn choose(
    r: &Resource<'_>,
    ctx: &Ctx<'_>,
    b: &BookingView,
    extra: &[(BookingId, Slot)],
) -> Result<(usize, Vec<Slot>), ResourceError> {
    let form = &b.request.form;
    barred(r, &b.request.by, form)?;
    r.spec().check_attendees(form.attendees)?;
    let mut failures = Vec::new();
    for (i, cand) in form.candidates().iter().enumerate() {
        match fit(r, ctx, form, cand, extra) {
            Ok(occ) => return Ok((i, occ)),
            Err(e) => failures.push((i, e)),
        }
    }
    match failures.pop() {
        Some((_, e)) if failures.is_empty() => Err(e),
        last => Err(ResourceError::NoCandidateFits {
            booking: b.id.clone(),
            failures: failures.into_iter().chain(last).collect(),
        }),
    }
}

pub(super) fn confirm(r: &Resource<'_>, ctx: &Ctx<'_>, booking: BookingId) -> Planned {
    let b = open(r, &booking)?;
    if !matches!(
        b.status,
        BookingStatus::Tentative | BookingStatus::Waitlisted
    ) {
        return Err(wrong_status(b, "confirm"));
    }
    let (slot_index, occ) = choose(r, ctx, b, &[])?;
    let slot = occ.first().copied().unwrap_or(b.request.form.slot);
    let msg = format!("confirm {booking} on {}", slot.display_in(r.zone()));
    Ok((
        vec![decision(ctx, &booking, Verdict::Confirmed { slot_index })],
        Effect::Confirmed {
            booking,
            slot_index,
            slot,
        },
        msg,
    ))
}

/// Refuses unless the author arbitrates at least one candidate of the booking (or, when no
/// candidate has an arbiter, is the owner).
fn may_decide(r: &Resource<'_>, me: &Scope, b: &BookingView) -> Result<(), ResourceError> {
    let form = &b.request.form;
    let mut arbiters: Vec<Scope> = Vec::new();
    for cand in form.candidates() {
        let occ = form.occurrences(&cand, r.zone())?;
        if let Some(a) = r.arbiter(&occ)?
            && !arbiters.contains(&a)
        {
            arbiters.push(a);
        }
    }
    let ok = if arbiters.is_empty() {
        *me == r.owner_scope()
    } else {
        arbiters.contains(me)
    };
    if ok {
        return Ok(());
    }
    let names: Vec<String> = arbiters.iter().map(ToString::to_string).collect();
    Err(ResourceError::NotArbiter {
        who: me.clone(),
        slot: form.slot.display_in(r.zone()),
        arbiter: match names.len() {
            0 => format!(
                "no candidate has an arbiter, so only the owner {} decides",
                r.owner_scope()
            ),
            _ => format!("its candidates are decided by {}", names.join(", ")),
        },
    })
}

pub(super) fn reject(
    r: &Resource<'_>,
    ctx: &Ctx<'_>,
    booking: BookingId,
    reason: String,
) -> Planned {
    non_empty("reason", &reason)?;
    let b = open(r, &booking)?;
    if !matches!(
        b.status,
        BookingStatus::Tentative | BookingStatus::Waitlisted
    ) {
        return Err(wrong_status(b, "reject"));
    }
    may_decide(r, ctx.scope, b)?;
    let msg = format!("reject {booking}: {reason}");
    Ok((
        vec![decision(ctx, &booking, Verdict::Rejected { reason })],
        Effect::Done,
        msg,
    ))
}

pub(super) fn waitlist(r: &Resource<'_>, ctx: &Ctx<'_>, booking: BookingId) -> Planned {
    let b = open(r, &booking)?;
    if b.status != BookingStatus::Tentative {
        return Err(wrong_status(b, "waitlist"));
    }
    may_decide(r, ctx.scope, b)?;
    let msg = format!("waitlist {booking}");
    Ok((
        vec![decision(ctx, &booking, Verdict::Waitlisted)],
        Effect::Done,
        msg,
    ))
}

pub(super) fn revoke(
    r: &Resource<'_>,
    ctx: &Ctx<'_>,
    booking: BookingId,
    reason: String,
) -> Planned {
    non_empty("reason", &reason)?;
    let b = open(r, &booking)?;
    let slot_index = match &b.status {
        BookingStatus::Confirmed { slot_index } | BookingStatus::Contested { slot_index, .. } => {
            *slot_index
        }
        _ => return Err(wrong_status(b, "revoke")),
    };
    may_revoke(r, ctx.scope, b, slot_index)?;
    let msg = format!("revoke {booking}: {reason}");
    let verdict = Verdict::Revoked {
        reason,
        slot_index: Some(slot_index),
    };
    Ok((vec![decision(ctx, &booking, verdict)], Effect::Done, msg))
}

pub(super) fn cancel(
    r: &Resource<'_>,
    ctx: &Ctx<'_>,
    booking: BookingId,
    reason: String,
) -> Planned {
    let me = ctx.scope;
    let b = open(r, &booking)?;
    if b.request.by != *me {
        return Err(ResourceError::NotAllowed {
            who: me.clone(),
            action: format!("cancel booking {booking}"),
            allowed: format!("the requesting organisation {}", b.request.by),
        });
    }
    let msg = format!("cancel {booking}");
    let c = Cancellation {
        reason,
        at: ctx.now,
    };
    Ok((
        vec![Put::new("cancellations", booking.to_string(), &c)],
        Effect::Done,
        msg,
    ))
}

fn same_target(a: &Barred, b: &Barred) -> bool {
    match (a, b) {
        (Barred::Org(x), Barred::Org(y)) => x == y,
        (Barred::Group(x), Barred::Group(y)) => x.trim().to_lowercase() == y.trim().to_lowercase(),
        _ => false,
    }
}

pub(super) fn bar(r: &Resource<'_>, ctx: &Ctx<'_>, who: Barred, reason: String) -> Planned {
    let me = ctx.scope;
    r.require_owner(me, "bar bookers")?;
    if let Barred::Group(name) = &who {
        non_empty("who", name)?;
    }
    non_empty("reason", &reason)?;
    if r.bars().iter().any(|(_, b)| same_target(&b.who, &who)) {
        return Err(ResourceError::AlreadyBarred {
            who: who.to_string(),
        });
    }
    let id = ctx.author.next_id(r.document(), "bars", "");
    let msg = format!("bar {who}: {reason}");
    let b = Bar {
        who,
        reason,
        at: ctx.now,
    };
    Ok((
        vec![Put::new("bars", id.to_string(), &b)],
        Effect::Done,
        msg,
    ))
}

pub(super) fn promote(r: &Resource<'_>, ctx: &Ctx<'_>) -> Planned {
    let me = ctx.scope;
    if *me != r.owner_scope() && !r.delegations().iter().any(|(_, d)| d.delegate == *me) {
        return Err(ResourceError::NotAllowed {
            who: me.clone(),
            action: "promote the waitlist".into(),
            allowed: format!("the owner {} or a delegate", r.owner_scope()),
        });
    }
    let waiting = r.waitlist();
    let mut extra: Vec<(BookingId, Slot)> = Vec::new();
    let mut puts = Vec::new();
    let mut promoted = Vec::new();
    for b in &waiting {
        if let Ok((slot_index, occ)) = choose(r, ctx, b, &extra) {
            extra.extend(occ.into_iter().map(|s| (b.id.clone(), s)));
            puts.push(decision(ctx, &b.id, Verdict::Confirmed { slot_index }));
            promoted.push(b.id.clone());
        }
    }
    if promoted.is_empty() {
        return Err(ResourceError::NothingToPromote {
            who: me.clone(),
            waiting: waiting.len(),
        });
    }
    let names: Vec<String> = promoted.iter().map(ToString::to_string).collect();
    let msg = format!("promote {}", names.join(", "));
    Ok((puts, Effect::Promoted(promoted), msg))
}

/// The owner, or the arbiter of the confirmed candidate, may revoke.
fn may_revoke(
    r: &Resource<'_>,
    me: &Scope,
    b: &BookingView,
    slot_index: usize,
) -> Result<(), ResourceError> {
    if *me == r.owner_scope() {
        return Ok(());
    }
    let form = &b.request.form;
    let slot = form
        .candidates()
        .get(slot_index)
        .copied()
        .unwrap_or(form.slot);
    let arbiter = r.arbiter(&form.occurrences(&slot, r.zone())?)?;
    if arbiter.as_ref() != Some(me) {
        return Err(ResourceError::NotArbiter {
            who: me.clone(),
            slot: slot.display_in(r.zone()),
            arbiter: describe(arbiter.as_ref()),
        });
    }
    Ok(())
}

/// Write policy of `decisions/<booking>`: whether `me` may record `verdict`, judged on the
/// resource as of the decision's causal history (the same rules [`super::plan`] applies).
pub(crate) fn authorize_decision(
    r: &Resource<'_>,
    me: &Scope,
    booking: &BookingId,
    verdict: &Verdict,
) -> Result<(), String> {
    let b = r
        .booking(booking)
        .ok_or_else(|| format!("booking {booking} is not in the decision's history"))?;
    let form = &b.request.form;
    let r2 = match verdict {
        Verdict::Confirmed { slot_index } => {
            let slot = form
                .candidates()
                .get(*slot_index)
                .copied()
                .ok_or_else(|| format!("booking {booking} has no candidate {slot_index}"))?;
            let occ = form
                .occurrences(&slot, r.zone())
                .map_err(|e| e.to_string())?;
            let arbiter = r.arbiter(&occ).map_err(|e| e.to_string())?;
            if arbiter.as_ref() == Some(me) {
                Ok(())
            } else {
                Err(ResourceError::NotArbiter {
                    who: me.clone(),
                    slot: slot.display_in(r.zone()),
                    arbiter: describe(arbiter.as_ref()),
                })
            }
        }
        Verdict::Rejected { .. } | Verdict::Waitlisted => may_decide(r, me, b),
        Verdict::Revoked { slot_index, .. } => may_revoke(r, me, b, slot_index.unwrap_or(0)),
    };
    r2.map_err(|e| e.to_string())
}
