//! Batched receive: [`Replica::apply_batch`] decides every change exactly as
//! [`Replica::apply`] would, one after the other in the batch's order, but applies a
//! document's run of changes to automerge in one call.
//!
//! A *run* is a document's changes in the batch's order (a sync session sends a document's
//! changes together, in causal order) that each pass, against the replica's state plus the
//! run's earlier changes, every check that does not read the document's records: not held or
//! refused, dependencies present, not backdated, a standing signer, the layout, the sequence
//! and no equivocation. A run looks past changes of other documents between its changes
//! (up to [`LOOKAHEAD`] of them) when deciding those after the run's cannot change any decision:
//! changes of documents held here that are not federation documents (whose changes rebuild
//! the trust store) and are not one of the run's changes sent again for another document —
//! every check of a change reads only its own document, its own hash and the trust store.
//!
//! The run is applied to a copy of the document in one `apply_changes` call, then each change
//! is authorized on that copy *as of its own dependencies* — every rule reads records at the
//! change's history (`get_all_at`, `exists_at`), and a copy holding later changes answers
//! those reads exactly as the document holding only that history does. Changes whose rules
//! need the whole typed view of the history (booking decisions, wish fulfilment) end a run
//! and are decided one by one, as is everything that does not fit a run: genesis, federation
//! changes, changes waiting or refused, duplicates, documents with waiting changes.
//!
//! The run's longest prefix of authorized changes is kept — each of them would have been
//! accepted by `apply` in its place, with the same result (`Applied` of itself alone: nothing
//! of the document is waiting) — and the rest of the run stays in the batch, decided one by
//! one in its place, so every refusal is decided and worded by the same code as before.

use std::collections::{HashMap, HashSet, VecDeque};

use automerge::ChangeHash;

use super::{Applied, Error, Replica, SlotKey, Standing};
use crate::cert::Principal;
use crate::document::{DocKind, Document, Write};
use crate::ids::DocId;
use crate::signed::{self, Checked, SignedChange, Verified};
use crate::time::Timestamp;

/// Fewest changes in a run worth applying in bulk: copying the document costs about what
/// applying a few changes one by one does.
const MIN_RUN: usize = 4;

/// How many other documents' changes a run looks past for its document's next ones.
const LOOKAHEAD: usize = 1024;

/// What the caller of [`Replica::apply_batch`] does around each change, where one-by-one
/// [`Replica::apply_verified`] calls would do it: in the batch's order for the changes of one
/// document. A run may settle its changes before other documents' changes that precede them
/// in the batch (module docs), so a caller that keeps the batch's order places what it
/// learns by `index`.
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

/// What a change was judged under in the checks before the policy.
pub(super) struct Judged {
    pub(super) principal: Vec<Principal>,
    pub(super) at: Timestamp,
    pub(super) writes: Vec<Write>,
}

/// A change of a run with what it was judged under.
struct Planned {
    /// Its place in the queue.
    pos: usize,
    judged: Judged,
}

/// What the changes of a run so far would have recorded in `apply`, besides the replica's
/// own state: hashes, times and (document, actor, seq) slots.
#[derive(Default)]
pub(super) struct SoFar {
    pub(super) held: HashSet<ChangeHash>,
    times: HashMap<ChangeHash, i64>,
    seqs: HashMap<SlotKey, ChangeHash>,
}

impl SoFar {
    /// Records `v`, a change of document `id`, as accepted.
    pub(super) fn record(&mut self, id: DocId, v: &Verified) {
        let change = v.change();
        let hash = change.hash();
        self.held.insert(hash);
        self.times.insert(hash, change.timestamp());
        self.seqs.insert(
            (id, change.actor_id().to_bytes().to_vec(), change.seq()),
            hash,
        );
    }
}

/// A change of a batch waiting to be decided.
struct Item {
    /// Its place in the batch (the index of its result).
    index: usize,
    checked: Checked,
    /// Its hash, when its bytes decode.
    hash: Option<ChangeHash>,
    /// Cut from a run: decided one by one.
    slow: bool,
}

impl Item {
    fn verified(&self) -> Option<&Verified> {
        match &self.checked {
            Checked::Verified(v) => Some(v),
            Checked::Unverified(_) | Checked::Covered(_) => None,
        }
    }
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
    ///
    /// Covered changes (no signature of their own) are verified by a later signed change of
    /// their signer in the batch ([`signed::cover`]), or by a cover seen before; one that
    /// nothing covers is [`Error::Uncovered`] in its place (dropped, not recorded).
    pub fn apply_batch(
        &mut self,
        mut batch: Vec<Checked>,
        hooks: &mut impl BatchHooks,
    ) -> Vec<Result<Applied, Error>> {
        let mut results: Vec<Option<Result<Applied, Error>>> =
            (0..batch.len()).map(|_| None).collect();
        signed::cover(&mut batch);
        let vouched: Vec<ChangeHash> = batch
            .iter_mut()
            .filter_map(|c| match c {
                Checked::Verified(v) if v.signed().signature.is_none() => Some(v.hash()),
                Checked::Covered(v) if self.vouched.contains(&v.hash()) => {
                    let h = v.hash();
                    *c = Checked::Verified(v.clone());
                    Some(h)
                }
                _ => None,
            })
            .collect();
        self.vouch(vouched);
        let mut queue: VecDeque<Item> = batch
            .into_iter()
            .enumerate()
            .map(|(index, checked)| {
                let hash = match &checked {
                    Checked::Verified(v) | Checked::Covered(v) => Some(v.hash()),
                    Checked::Unverified(sc) => sc.change_hash().ok(),
                };
                Item {
                    index,
                    checked,
                    hash,
                    slow: false,
                }
            })
            .collect();
        // Changes of each document still in the queue: a document with fewer than a run's
        // worth is not looked for.
        let mut left: HashMap<DocId, usize> = HashMap::new();
        for item in &queue {
            *left.entry(item.checked.signed().doc).or_default() += 1;
        }
        while let Some(front) = queue.front() {
            let doc = front.checked.signed().doc;
            let of_doc = left.get(&doc).copied().unwrap_or(0);
            let plans = if front.slow || of_doc < MIN_RUN {
                Vec::new()
            } else {
                self.plan_run(&queue, of_doc)
            };
            let before = queue.len();
            if plans.len() < MIN_RUN {
                // No run, or a short one: the first change one by one.
                if let Some(item) = queue.pop_front() {
                    self.one(item, hooks, &mut results);
                }
            } else {
                self.run(&mut queue, plans, hooks, &mut results);
            }
            // Only changes of `doc` leave the queue.
            if let Some(n) = left.get_mut(&doc) {
                *n = n.saturating_sub(before - queue.len());
            }
        }
        // Every change of the batch was settled exactly once.
        results.into_iter().flatten().collect()
    }

    /// One change decided as `apply` decides it, with its hooks.
    fn one(
        &mut self,
        item: Item,
        hooks: &mut impl BatchHooks,
        results: &mut [Option<Result<Applied, Error>>],
    ) {
        let result = match item.checked {
            Checked::Verified(v) => match hooks.admit(self, &v) {
                Ok(()) => self.apply_verified(v),
                Err(e) => Err(e),
            },
            Checked::Unverified(sc) => self.apply(sc),
            Checked::Covered(v) => match item.hash {
                Some(h) if self.has_change_in(v.signed().doc, &h) => Ok(Applied::Duplicate),
                _ => Err(Self::uncovered(v.signed(), v.hash())),
            },
        };
        hooks.settled(self, item.index, &result);
        if let Some(slot) = results.get_mut(item.index) {
            *slot = Some(result);
        }
    }

    /// The run starting with the first change of `queue` (module docs): that change and the
    /// next ones of its document, looking past other documents' changes that may be decided
    /// after it, with what each was judged under; empty when the first does not fit one.
    /// `of_doc`: how many changes of that document the queue holds.
    fn plan_run(&self, queue: &VecDeque<Item>, of_doc: usize) -> Vec<Planned> {
        let mut plans = Vec::new();
        let Some(first) = queue.front().and_then(Item::verified) else {
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
        let mut so_far = SoFar::default();
        // Other documents' changes the run passes over.
        let mut passed: HashSet<ChangeHash> = HashSet::new();
        let mut passed_over = 0;
        let mut seen = 0;
        for (pos, item) in queue.iter().enumerate() {
            let other = item.checked.signed().doc;
            if other != id {
                if passed_over == LOOKAHEAD {
                    break;
                }
                passed_over += 1;
                // Decided after the run's later changes instead of before them: only a change
                // of another document held here, not a federation document (its changes
                // rebuild the trust store), and not one of the run's changes sent for another
                // document, neither of which reads nor writes anything the run's changes do.
                let independent = self
                    .docs
                    .get(&other)
                    .is_some_and(|d| d.kind() != DocKind::Federation)
                    && item.hash.is_none_or(|h| !so_far.held.contains(&h));
                if !independent {
                    break;
                }
                passed.extend(item.hash);
                continue;
            }
            seen += 1;
            let Some(v) = item.verified().filter(|_| !item.slow) else {
                break;
            };
            if passed.contains(&v.hash()) {
                break;
            }
            let Some(judged) = self.judge_unread(id, doc, v, &so_far) else {
                break;
            };
            if crate::kind::needs_history(crate::kinds::of(doc.kind()), &judged.writes) {
                break;
            }
            so_far.record(id, v);
            plans.push(Planned { pos, judged });
            if seen == of_doc {
                // The document's last change in the queue.
                break;
            }
        }
        plans
    }

    /// Every check `apply` makes of `v`, a change of non-genesis document `id` held as
    /// `doc` (not a federation document, nothing of it waiting), that does not read the
    /// document's records — not held nor refused, its dependencies held, not backdated, a
    /// standing signer, the layout, the actor's sequence, no equivocation — against the
    /// replica plus `so_far`, the changes accepted before it that the replica does not
    /// record yet. What it is judged under, or `None` when one of them does not pass (`apply`
    /// then decides it).
    pub(super) fn judge_unread(
        &self,
        id: DocId,
        doc: &Document,
        v: &Verified,
        so_far: &SoFar,
    ) -> Option<Judged> {
        let (sc, change) = (v.signed(), v.change());
        let hash = change.hash();
        let deps = change.deps();
        if deps.is_empty()
            || self.has_change_in(id, &hash)
            || so_far.held.contains(&hash)
            || self.rejected.contains_key(&hash)
            || !deps
                .iter()
                .all(|d| so_far.held.contains(d) || doc.has_change(d))
        {
            return None;
        }
        let at = Timestamp(change.timestamp());
        let backdated = deps
            .iter()
            .filter_map(|d| self.time_of(id, d).or_else(|| so_far.times.get(d).copied()))
            .any(|t| t > at.0);
        if backdated {
            return None;
        }
        let actor = change.actor_id().to_bytes().to_vec();
        let seq = change.seq();
        // Not a federation document: no revocation is written, so no rank is needed.
        let principal = match self.standing(&id, &sc.signer, &actor, seq, &hash, at, || None) {
            Standing::Stands { principal, .. } => principal,
            Standing::Revoked(_) | Standing::NoChain(_) => return None,
        };
        let writes = doc.writes_of(change).ok()?;
        let slot_of = |s: u64| (id, actor.clone(), s);
        let lookup = |k: &SlotKey| self.slot(k).or_else(|| so_far.seqs.get(k).copied());
        if let Some(prev) = seq.checked_sub(1).filter(|p| *p > 0)
            && !lookup(&slot_of(prev)).is_some_and(|h| deps.contains(&h))
        {
            return None;
        }
        if lookup(&slot_of(seq)).is_some() {
            return None;
        }
        Some(Judged {
            principal,
            at,
            writes,
        })
    }

    /// Applies a run (module docs): in bulk its prefix of changes the policy allows; the
    /// rest stays in the queue, to be decided one by one in its place.
    fn run(
        &mut self,
        queue: &mut VecDeque<Item>,
        plans: Vec<Planned>,
        hooks: &mut impl BatchHooks,
        results: &mut [Option<Result<Applied, Error>>],
    ) {
        let members: Vec<&Verified> = plans
            .iter()
            .filter_map(|p| queue.get(p.pos).and_then(Item::verified))
            .collect();
        let id = members.first().map(|v| v.signed().doc);
        let original = id.and_then(|id| self.docs.get(&id));
        let mut all = original.cloned();
        let applied = members.len() == plans.len()
            && all.as_mut().is_some_and(|d| {
                d.apply_bulk(members.iter().map(|v| v.change().clone()).collect())
                    .is_ok()
            });
        // Each change judged as of its own dependencies, which `all` holds with exactly the
        // history they have in the document `apply` would judge it on.
        let allowed = match (&all, applied) {
            (Some(all), true) => members
                .iter()
                .zip(&plans)
                .take_while(|(v, p)| {
                    crate::kind::authorize_any(
                        crate::kinds::of(all.kind()),
                        all,
                        v.change().deps(),
                        &p.judged.principal,
                        &self.trust,
                        p.judged.at,
                        &p.judged.writes,
                    )
                    .is_ok()
                })
                .count(),
            _ => 0,
        };
        let mut kept = 0;
        let mut settled = 0;
        for (p, v) in plans.iter().zip(&members).take(allowed) {
            let Some(index) = queue.get(p.pos).map(|i| i.index) else {
                break;
            };
            let result = hooks
                .admit(self, v)
                .map(|()| Applied::Applied(vec![v.hash()]));
            let admitted = result.is_ok();
            hooks.settled(self, index, &result);
            if let Some(slot) = results.get_mut(index) {
                *slot = Some(result);
            }
            settled += 1;
            if !admitted {
                break;
            }
            kept += 1;
        }
        let doc = match (id, all) {
            (Some(_), Some(all)) if kept > 0 && kept == plans.len() => Some(all),
            (Some(id), _) if kept > 0 => self.docs.get(&id).cloned().and_then(|mut d| {
                d.apply_bulk(members[..kept].iter().map(|v| v.change().clone()).collect())
                    .ok()
                    .map(|()| d)
            }),
            _ => None,
        };
        // Out of the queue: the changes settled; the rest of the run is decided one by one.
        let done: HashSet<usize> = plans.iter().take(settled).map(|p| p.pos).collect();
        let cut: HashSet<usize> = plans.iter().skip(settled).map(|p| p.pos).collect();
        let mut taken = Vec::with_capacity(kept);
        for (pos, mut item) in std::mem::take(queue).into_iter().enumerate() {
            if done.contains(&pos) {
                taken.push(item);
            } else {
                item.slow |= cut.contains(&pos);
                queue.push_back(item);
            }
        }
        let kept_changes = taken
            .into_iter()
            .take(kept)
            .filter_map(|i| match i.checked {
                Checked::Verified(v) => Some(v),
                Checked::Unverified(_) | Checked::Covered(_) => None,
            });
        match (id, doc) {
            (Some(id), Some(doc)) => {
                self.docs.insert(id, doc);
                for v in kept_changes {
                    let (sc, change) = v.into_parts();
                    self.record(id, &sc, &change);
                }
            }
            _ => {
                // None kept; or automerge, which took these changes with more of them a
                // moment ago, refused them now — which does not happen; should it, they are
                // applied one by one, which accepts each exactly as reported (the checks
                // above are `apply`'s).
                for v in kept_changes {
                    let _ = self.apply_verified(v);
                }
            }
        }
    }
}
