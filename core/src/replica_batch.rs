//! Batched receive: [`Replica::apply_batch`] decides every change exactly as
//! [`Replica::apply`] would, one after the other in the batch's order, but applies a
//! document's run of changes to automerge in one call.
//!
//! A *run* is a stretch of consecutive changes of one document (a sync session sends a
//! document's changes together, in causal order) that each pass, against the replica's state
//! plus the run's earlier changes, every check that does not read the document's records:
//! not held or refused, dependencies present, not backdated, a standing signer, the layout,
//! the sequence and no equivocation. The run is applied to a copy of the document in one
//! `apply_changes` call, then each change is authorized on that copy *as of its own
//! dependencies* — every rule reads records at the change's history (`get_all_at`,
//! `exists_at`), and a copy holding later changes answers those reads exactly as the document
//! holding only that history does. Changes whose rules need the whole typed view of the
//! history (booking decisions, wish fulfilment) end a run and are decided one by one, as is
//! everything that does not fit a run: genesis, federation changes (they change the trust
//! store), changes waiting or refused, duplicates, documents with waiting changes.
//!
//! The run's longest prefix of authorized changes is kept — each of them would have been
//! accepted by `apply` in its place, with the same result (`Applied` of itself alone: nothing
//! of the document is waiting) — and the rest of the run goes through `apply` one by one, so
//! every refusal is decided and worded by the same code as before.

use std::collections::{HashMap, HashSet, VecDeque};

use automerge::ChangeHash;

use super::{Applied, Error, Replica, SlotKey, Standing};
use crate::cert::Principal;
use crate::document::{DocKind, Write};
use crate::policy;
use crate::signed::{self, Checked, SignedChange, Verified};
use crate::time::Timestamp;

/// Fewest changes in a run worth applying in bulk: copying the document costs about what
/// applying a few changes one by one does.
const MIN_RUN: usize = 4;

/// What the caller of [`Replica::apply_batch`] does around each change, in the batch's
/// order, exactly where one-by-one [`Replica::apply_verified`] calls would do it.
pub trait BatchHooks {
    /// Called before a verified change is decided, once per verified change. An error is
    /// that change's result and it is not applied (e.g. a write quota). For a change applied
    /// in bulk, the replica passed does not hold the earlier changes of its run yet (none of
    /// them is the change itself).
    fn admit(&mut self, replica: &Replica, change: &Verified) -> Result<(), Error>;
    /// Called with the result of the change at `index` in the batch, after its `admit`, for
    /// every change. For changes applied in bulk the replica passed may not hold them yet
    /// (they are then all `Applied`); a change decided one by one was decided on it.
    fn settled(&mut self, replica: &Replica, index: usize, result: &Result<Applied, Error>);
}

/// Hooks that admit everything and watch nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl BatchHooks for NoHooks {
    fn admit(&mut self, _: &Replica, _: &Verified) -> Result<(), Error> {
        Ok(())
    }
    fn settled(&mut self, _: &Replica, _: usize, _: &Result<Applied, Error>) {}
}

/// What a change of a run was judged under in the checks before the policy.
struct Planned {
    principal: Vec<Principal>,
    at: Timestamp,
    writes: Vec<Write>,
}

impl Replica {
    /// Verifies (on 2 threads) and applies received changes: the same results, refusals,
    /// reasons and state as [`Replica::apply`] on each in turn (see [`Replica::apply_batch`]).
    pub fn receive_batch(&mut self, changes: Vec<SignedChange>) -> Vec<Result<Applied, Error>> {
        let checked = signed::check_all(changes, 2);
        self.apply_batch(checked, &mut NoHooks)
    }

    /// Applies a batch of received changes whose envelopes were checked
    /// ([`signed::check_all`]): the results, in the batch's order, the refusals and their
    /// reasons and the state reached are those of [`Replica::apply_verified`] (or
    /// [`Replica::apply`] for an envelope that failed) on each change in turn, with
    /// `hooks.admit` before each verified change; but runs of one document's changes are
    /// applied to automerge in one call and authorized against one state (module docs).
    pub fn apply_batch(
        &mut self,
        batch: Vec<Checked>,
        hooks: &mut impl BatchHooks,
    ) -> Vec<Result<Applied, Error>> {
        let mut results = Vec::with_capacity(batch.len());
        let mut rest: VecDeque<Checked> = batch.into();
        while !rest.is_empty() {
            let plans = self.plan_run(&rest);
            if plans.len() < MIN_RUN {
                // A short run (or none: the first change does not fit one) one by one.
                for _ in 0..plans.len().max(1) {
                    if let Some(c) = rest.pop_front() {
                        self.one(c, hooks, &mut results);
                    }
                }
                continue;
            }
            let run: Vec<Verified> = rest
                .drain(..plans.len())
                .filter_map(|c| match c {
                    Checked::Verified(v) => Some(v),
                    Checked::Unverified(_) => None,
                })
                .collect();
            self.run(run, plans, hooks, &mut results);
        }
        results
    }

    /// One change decided as `apply` decides it, with its hooks.
    fn one(
        &mut self,
        c: Checked,
        hooks: &mut impl BatchHooks,
        results: &mut Vec<Result<Applied, Error>>,
    ) {
        let result = match c {
            Checked::Verified(v) => match hooks.admit(self, &v) {
                Ok(()) => self.apply_verified(v),
                Err(e) => Err(e),
            },
            Checked::Unverified(sc) => self.apply(sc),
        };
        hooks.settled(self, results.len(), &result);
        results.push(result);
    }

    /// The leading changes of `rest` that form a run (module docs), with what each was judged
    /// under; empty when the first does not fit one.
    fn plan_run(&self, rest: &VecDeque<Checked>) -> Vec<Planned> {
        let mut plans = Vec::new();
        let Some(Checked::Verified(first)) = rest.front() else {
            return plans;
        };
        let id = first.signed().doc;
        let Some(doc) = self.docs.get(&id) else {
            return plans;
        };
        if doc.kind() == DocKind::Federation || self.pending.get(&id).is_some_and(|p| !p.is_empty())
        {
            return plans;
        }
        // The run's changes so far, as `apply` would have recorded them.
        let mut held: HashSet<ChangeHash> = HashSet::new();
        let mut times: HashMap<ChangeHash, i64> = HashMap::new();
        let mut seqs: HashMap<SlotKey, ChangeHash> = HashMap::new();
        for c in rest {
            let Checked::Verified(v) = c else { break };
            if v.signed().doc != id {
                break;
            }
            let (sc, change) = (v.signed(), v.change());
            let hash = change.hash();
            let deps = change.deps();
            if deps.is_empty()
                || self.index.contains_key(&hash)
                || held.contains(&hash)
                || self.rejected.contains_key(&hash)
                || !deps.iter().all(|d| held.contains(d) || doc.has_change(d))
            {
                break;
            }
            let at = Timestamp(change.timestamp());
            let backdated = deps
                .iter()
                .filter_map(|d| self.times.get(d).or_else(|| times.get(d)))
                .any(|t| *t > at.0);
            if backdated {
                break;
            }
            let actor = change.actor_id().to_bytes().to_vec();
            let seq = change.seq();
            // Not a federation document: no revocation is written, so no rank is needed.
            let principal = match self.standing(&id, &sc.signer, &actor, seq, &hash, at, || None) {
                Standing::Stands { principal, .. } => principal,
                Standing::Revoked(_) | Standing::NoChain(_) => break,
            };
            let Ok(writes) = doc.writes_of(change) else {
                break;
            };
            if policy::needs_history(doc.kind(), &writes) {
                break;
            }
            let slot_of = |s: u64| (id, actor.clone(), s);
            let lookup = |k: &SlotKey| self.seqs.get(k).or_else(|| seqs.get(k)).copied();
            if let Some(prev) = seq.checked_sub(1).filter(|p| *p > 0)
                && !lookup(&slot_of(prev)).is_some_and(|h| deps.contains(&h))
            {
                break;
            }
            let slot = slot_of(seq);
            if lookup(&slot).is_some() {
                break;
            }
            held.insert(hash);
            times.insert(hash, at.0);
            seqs.insert(slot, hash);
            plans.push(Planned {
                principal,
                at,
                writes,
            });
        }
        plans
    }

    /// Applies a run (module docs): in bulk its prefix of changes the policy allows, the rest
    /// one by one.
    fn run(
        &mut self,
        run: Vec<Verified>,
        plans: Vec<Planned>,
        hooks: &mut impl BatchHooks,
        results: &mut Vec<Result<Applied, Error>>,
    ) {
        let Some(id) = run.first().map(|v| v.signed().doc) else {
            return;
        };
        let one_by_one = |me: &mut Replica,
                          rest: Vec<Verified>,
                          hooks: &mut _,
                          results: &mut Vec<Result<Applied, Error>>| {
            for v in rest {
                me.one(Checked::Verified(v), hooks, results);
            }
        };
        let Some(mut all) = self.docs.get(&id).cloned() else {
            return one_by_one(self, run, hooks, results);
        };
        if all
            .apply_bulk(run.iter().map(|v| v.change().clone()).collect())
            .is_err()
        {
            return one_by_one(self, run, hooks, results);
        }
        // Each change judged as of its own dependencies, which `all` holds with exactly the
        // history they have in the document `apply` would judge it on.
        let allowed = run
            .iter()
            .zip(&plans)
            .take_while(|(v, p)| {
                policy::authorize_any(
                    &all,
                    v.change().deps(),
                    &p.principal,
                    &self.trust,
                    p.at,
                    &p.writes,
                )
                .is_ok()
            })
            .count();
        let mut run = run.into_iter();
        let mut kept: Vec<Verified> = Vec::with_capacity(allowed);
        let mut refused_admission = None;
        for v in run.by_ref().take(allowed) {
            if let Err(e) = hooks.admit(self, &v) {
                refused_admission = Some(e);
                break;
            }
            let result = Ok(Applied::Applied(vec![v.hash()]));
            hooks.settled(self, results.len(), &result);
            results.push(result);
            kept.push(v);
        }
        let doc = if kept.is_empty() {
            None
        } else if kept.len() == plans.len() {
            Some(all)
        } else {
            self.docs.get(&id).cloned().and_then(|mut d| {
                d.apply_bulk(kept.iter().map(|v| v.change().clone()).collect())
                    .ok()
                    .map(|()| d)
            })
        };
        match doc {
            Some(doc) => {
                self.docs.insert(id, doc);
                for v in kept {
                    let (sc, change) = v.into_parts();
                    self.record(id, &sc, &change);
                }
            }
            None => {
                // None kept; or automerge, which took these changes with more of them a
                // moment ago, refused them now — which does not happen; should it, they are
                // applied one by one, which accepts each exactly as reported (the checks
                // above are `apply`'s).
                for v in kept {
                    let _ = self.apply_verified(v);
                }
            }
        }
        if let Some(e) = refused_admission {
            let result = Err(e);
            hooks.settled(self, results.len(), &result);
            results.push(result);
        }
        one_by_one(self, run.collect(), hooks, results);
    }
}
