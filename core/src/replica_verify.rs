//! Verifying a restored document (a fast join's provisional snapshot): deciding its changes
//! exactly as [`Replica::receive_batch`] of all of them would from this replica's state,
//! without building the document a second time.
//!
//! The restored document already holds every change, and every rule of the write policy
//! reads records *as of the change's dependencies* (the batched receive's argument,
//! `replica_batch.rs`): a document holding a change's history plus later changes answers
//! those reads exactly as the document holding that history alone. So each change is
//! authorized on the restored document as of its own dependencies (a rule that needs the
//! whole typed view forks it at them: `kind::authorize`), after the same checks of
//! everything else `apply` checks — envelope ([`signed::check_all`]), held or refused,
//! dependencies, backdating, the signer's standing at the change's time, layout, sequence,
//! equivocation — made by the receive path's own function (`Replica::judge_unread`) in the
//! snapshot's causal order. The genesis is applied as `apply` applies it.
//!
//! Only the verdict *verified* is reached this way: when every change passes, `apply` on each
//! in that order would have accepted each, so the replica ends holding the restored document
//! and records every change as `apply` would have. When anything does not pass (a forged
//! envelope, a refusal, a change that would wait, a change not in causal order, a federation
//! document…), the remaining changes go through [`Replica::apply_batch`] from where the
//! replica stands — the receive path itself, which decides and words every refusal — so the
//! verdict, its reason and the replica's state are those of
//! [`Replica::verify_by_receive`], the full receive of the same changes.

use std::collections::HashSet;

use automerge::ChangeHash;

use super::batch::SoFar;
use super::{Applied, Error, NoHooks, Replica};
use crate::document::{DocKind, Document};
use crate::ids::DocId;
use crate::signed::{self, Checked, SignedChange};

/// Threads checking signatures, as [`Replica::receive_batch`] uses.
const WORKERS: usize = 2;

/// What deciding a restored document's changes gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoredVerdict {
    /// Every change it holds is accepted.
    Verified,
    /// Something is refused or waits.
    Refused {
        /// The changes that are not authentic: their envelope failed, or they are covered
        /// changes nothing valid covers.
        forged: Vec<ChangeHash>,
        /// The first change refused and why, or that some wait.
        reason: String,
    },
}

impl Replica {
    /// Loads a saved document (`Document::save`) of `doc` to verify it with
    /// [`Replica::verify_restored`]; the id is checked against its genesis.
    pub fn load_restored(doc: DocId, snapshot: &[u8]) -> Result<Document, Error> {
        Ok(Document::load(doc, snapshot, crate::kinds::layout)?)
    }

    /// Decides the changes of `restored`, given with their signatures as `changes` (every
    /// change it holds, with its hash, in the document's causal order: `get_changes(&[])`),
    /// exactly as [`Replica::verify_by_receive`] of the same changes and heads would — the
    /// verdict, its reason and the state reached — but without applying them to a document
    /// again when all are accepted (module docs).
    pub fn verify_restored(
        &mut self,
        restored: Document,
        changes: Vec<(ChangeHash, SignedChange)>,
    ) -> RestoredVerdict {
        let id = restored.id();
        let want = restored.heads();
        let (hashes, signed): (Vec<ChangeHash>, Vec<SignedChange>) = changes.into_iter().unzip();
        let mut checked = signed::check_all(signed, WORKERS);
        // Covered changes are verified by their covers among the document's changes (those
        // nothing covers stay `Covered`: the receive path below drops them).
        signed::cover(&mut checked);
        let genesis_fits = matches!(checked.first(), Some(Checked::Verified(g))
            if g.hash() == ChangeHash(id.0) && g.change().deps().is_empty());
        let fits = genesis_fits
            && restored.kind() != DocKind::Federation
            && !self.docs.contains_key(&id)
            && !self.carried.contains_key(&id)
            && !self.pending.contains_key(&id)
            && checked
                .iter()
                .all(|c| matches!(c, Checked::Verified(_)) && c.signed().doc == id);
        if !fits {
            let results = self.apply_batch(checked, &mut NoHooks);
            return self.verdict(id, &hashes, &results, want);
        }
        let rest = checked.split_off(1);
        let mut results = Vec::with_capacity(hashes.len());
        for c in checked {
            results.push(match c {
                Checked::Verified(v) => self.apply_verified(v),
                Checked::Unverified(sc) => self.apply(sc),
                Checked::Covered(v) => Err(Self::uncovered(v.signed(), v.hash())),
            });
        }
        let genesis_applied = matches!(results.first(), Some(Ok(Applied::Applied(_))))
            && self.pending.get(&id).is_none_or(|p| p.is_empty());
        if genesis_applied && self.all_accepted(id, &restored, &rest, &want) {
            let mut doc = restored;
            doc.set_author(&self.author);
            self.docs.insert(id, doc);
            for c in rest {
                if let Checked::Verified(v) = c {
                    let (sc, change) = v.into_parts();
                    self.record(id, &sc, &change);
                }
            }
            return RestoredVerdict::Verified;
        }
        results.extend(self.apply_batch(rest, &mut NoHooks));
        self.verdict(id, &hashes, &results, want)
    }

    /// Whether `apply` on each of `rest` in turn — the changes after the genesis of document
    /// `id`, which this replica holds with its genesis alone — would accept every one, and
    /// they are all of `restored`'s changes (their heads are `want`). `restored` holds them
    /// all: each is authorized on it as of its own dependencies.
    fn all_accepted(
        &self,
        id: DocId,
        restored: &Document,
        rest: &[Checked],
        want: &[ChangeHash],
    ) -> bool {
        let Some(genesis) = self.docs.get(&id) else {
            return false;
        };
        let kind = crate::kinds::of(restored.kind());
        let mut so_far = SoFar::default();
        let mut depended: HashSet<ChangeHash> = HashSet::new();
        for c in rest {
            let Checked::Verified(v) = c else {
                return false;
            };
            let Some(judged) = self.judge_unread(id, genesis, v, &so_far) else {
                return false;
            };
            let deps = v.change().deps();
            let allowed = crate::kind::authorize_any(
                kind,
                restored,
                deps,
                &judged.principal,
                &self.trust,
                judged.at,
                &judged.writes,
            )
            .is_ok();
            if !allowed {
                return false;
            }
            depended.extend(deps.iter().copied());
            so_far.record(id, v);
        }
        // The changes' heads: the genesis when it is alone.
        let mut heads: Vec<ChangeHash> = if rest.is_empty() {
            vec![ChangeHash(id.0)]
        } else {
            so_far
                .held
                .iter()
                .filter(|h| !depended.contains(h))
                .copied()
                .collect()
        };
        heads.sort_unstable();
        let mut want = want.to_vec();
        want.sort_unstable();
        heads == want
    }

    /// The full receive of a document's `changes` (with their hashes) through
    /// [`Replica::receive_batch`]: verified when every change is accepted and the document's
    /// heads are then `heads` (those of the snapshot the changes came from).
    pub fn verify_by_receive(
        &mut self,
        doc: DocId,
        changes: Vec<(ChangeHash, SignedChange)>,
        heads: Vec<ChangeHash>,
    ) -> RestoredVerdict {
        let (hashes, signed): (Vec<ChangeHash>, Vec<SignedChange>) = changes.into_iter().unzip();
        let results = self.receive_batch(signed);
        self.verdict(doc, &hashes, &results, heads)
    }

    /// The verdict on document `doc` after its changes (`hashes`) were decided as `results`:
    /// the first refusal, else whether its heads are `want`.
    fn verdict(
        &self,
        doc: DocId,
        hashes: &[ChangeHash],
        results: &[Result<Applied, Error>],
        mut want: Vec<ChangeHash>,
    ) -> RestoredVerdict {
        let mut forged = Vec::new();
        let mut reason = None;
        for (hash, r) in hashes.iter().zip(results) {
            if let Err(e) = r {
                // Not authentic: a broken envelope, or a covered change nothing valid covers.
                if matches!(e, Error::Envelope(_) | Error::Uncovered { .. }) {
                    forged.push(*hash);
                }
                reason.get_or_insert_with(|| format!("change {hash}: {e}"));
            }
        }
        let mut got = self.heads(doc).unwrap_or_default();
        got.sort_unstable();
        want.sort_unstable();
        if reason.is_none() && got == want {
            return RestoredVerdict::Verified;
        }
        RestoredVerdict::Refused {
            forged,
            reason: reason.unwrap_or_else(|| {
                "not every change it holds is accepted (some wait for dependencies or a certificate)"
                    .into()
            }),
        }
    }
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
