//! The actor's side of fast join (see [`crate::fastjoin`]): restoring peers' snapshots as
//! provisional documents, starting the verifier, and acting on its verdicts.

use linli_core::document::DocKind;
use linli_core::replica::PreparedRestore;
use linli_core::{DocId, NodeId};

use super::{Actor, Command, log};
use crate::error::NodeError;
use crate::fastjoin::{self, Verdict, VerifyJob};
use crate::node::NodeEvent;
use crate::store::Origin;

/// What a provisional restore did: the documents restored, and those left out with why.
pub(crate) type Restored = (Vec<DocId>, Vec<(DocId, String)>);

/// One snapshot ready to install: checked against its signatures' count and prepared
/// (`LoadedSnapshot::prepare_folded`) off the actor thread.
pub(crate) struct Restorable {
    pub(crate) prepared: PreparedRestore,
    pub(crate) bytes: Vec<u8>,
    pub(crate) sigs: Vec<u8>,
}

impl Actor {
    /// Restores prepared snapshots from `source` as provisional documents: each one this
    /// node does not hold (nor waits for) and may receive, in one transaction; the rest are
    /// left out with the reason (outside the audience: reported as the source's fault).
    pub(super) fn restore_provisional(
        &mut self,
        source: NodeId,
        items: Vec<Restorable>,
    ) -> Result<Restored, NodeError> {
        self.check_failed()?;
        let now = self.now();
        let me = self.replica.principal(&self.settings.node, now).ok();
        let mut take = Vec::new();
        let mut left_out = Vec::new();
        for it in items {
            let d = it.prepared.document();
            let doc = d.id();
            if self.replica.docs().contains_key(&doc)
                || !self.replica.pending_of(doc).is_empty()
                || self.tracker_has(doc)
            {
                left_out.push((doc, "held already".to_string()));
            } else if d.kind() == DocKind::Federation {
                left_out.push((doc, "a federation document is never provisional".into()));
            } else if !linli_core::sync::may_receive_doc(me.as_ref(), d) {
                let reason = format!(
                    "it sent document {} ({:?}), which this node may not receive",
                    doc.short(),
                    d.kind()
                );
                let _ = self.events.send(NodeEvent::SnapshotRefused {
                    doc,
                    source,
                    reason: reason.clone(),
                });
                left_out.push((doc, reason));
            } else {
                take.push(it);
            }
        }
        let tx = self.store.tx()?;
        for it in &take {
            let d = it.prepared.document();
            tx.put_provisional(
                &d.id(),
                it.prepared.len() as u64,
                &d.heads(),
                &it.bytes,
                &it.sigs,
                &source,
                now,
            )?;
        }
        if let Err(e) = tx.commit() {
            return Err(self.recover(e));
        }
        let mut restored = Vec::new();
        for it in take {
            let doc = it.prepared.document().id();
            let held = it.prepared.len() as u64;
            self.replica.restore_prepared(it.prepared);
            self.replica.mark_provisional(doc);
            self.tracker.restored(doc, held);
            restored.push(doc);
        }
        for doc in &restored {
            let heads = self.replica.heads(*doc).unwrap_or_default();
            let _ = self.events.send(NodeEvent::DocumentChanged {
                doc: *doc,
                heads,
                origin: Origin::Remote,
            });
        }
        self.start_verifier();
        Ok((restored, left_out))
    }

    fn tracker_has(&self, doc: DocId) -> bool {
        self.tracker.holds(doc)
    }

    /// Starts the verifier on a thread of its own when documents await verification and none
    /// runs; its verdicts come back as [`Command::Verdicts`].
    pub(super) fn start_verifier(&mut self) {
        if !self.verify || self.verifying || self.replica.provisional().is_empty() {
            return;
        }
        let Some(back) = self.commands.clone() else {
            return;
        };
        let job = match self.verify_job() {
            Ok(job) => job,
            Err(e) => {
                tracing::warn!("cannot start verifying provisional documents: {e}");
                return;
            }
        };
        let fed_heads = job.fed_heads.clone();
        self.verifying = true;
        let spawned = std::thread::Builder::new()
            .name("linli-verify".into())
            .spawn(move || {
                let mut last = true;
                fastjoin::verify(job, |verdicts| {
                    let Some(tx) = back.upgrade() else {
                        return false;
                    };
                    last = tx
                        .blocking_send(Command::Verdicts {
                            fed_heads: fed_heads.clone(),
                            verdicts,
                            done: false,
                        })
                        .is_ok();
                    last
                });
                if last && let Some(tx) = back.upgrade() {
                    let _ = tx.blocking_send(Command::Verdicts {
                        fed_heads,
                        verdicts: Vec::new(),
                        done: true,
                    });
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the verifier thread: {e}");
            self.verifying = false;
        }
    }

    fn federation_heads(&self) -> Vec<(DocId, Vec<automerge::ChangeHash>)> {
        self.replica
            .ids_of(DocKind::Federation)
            .into_iter()
            .map(|d| {
                let mut h = self.replica.heads(d).unwrap_or_default();
                h.sort_unstable();
                (d, h)
            })
            .collect()
    }

    fn verify_job(&self) -> Result<VerifyJob, NodeError> {
        let mut federation = Vec::new();
        for d in self.replica.ids_of(DocKind::Federation) {
            federation.extend(self.replica.changes(d, &[])?);
        }
        let me = self
            .replica
            .principal(&self.settings.node, self.now())
            .ok()
            .map(|p| p.scope);
        let mut docs = Vec::new();
        for doc in self.replica.provisional().iter().copied() {
            let Some((bytes, sigs)) = self.store.folded(&doc)? else {
                continue;
            };
            let own = match (&me, self.replica.header(doc)) {
                (Some(scope), Ok(h)) => scope.is_within(&h.owner_scope()),
                _ => false,
            };
            docs.push((doc, own, bytes, sigs));
        }
        Ok(VerifyJob {
            keypair: self.keypair.clone(),
            org: self.settings.org.clone(),
            root: self.settings.root,
            federation,
            fed_heads: self.federation_heads(),
            docs,
        })
    }

    /// Acts on the verifier's verdicts: verified documents lose their mark; refused ones
    /// are rolled back (one transaction, then the replica rebuilt from the store) and their
    /// source reported. Verdicts reached against other federation heads than the current
    /// ones are dropped and the documents verified again.
    pub(super) fn verdicts(
        &mut self,
        fed_heads: Vec<(DocId, Vec<automerge::ChangeHash>)>,
        verdicts: Vec<(DocId, Verdict)>,
        done: bool,
    ) {
        if done {
            self.verifying = false;
            self.start_verifier();
            return;
        }
        if self.failed.is_some() || fed_heads != self.federation_heads() {
            // Judged against other certificates: `done` starts a new round.
            return;
        }
        let verdicts: Vec<(DocId, Verdict)> = verdicts
            .into_iter()
            .filter(|(d, _)| self.replica.is_provisional(*d))
            .collect();
        if verdicts.is_empty() {
            return;
        }
        let sources: std::collections::HashMap<DocId, NodeId> = match self.store.provisional() {
            Ok(p) => p.into_iter().collect(),
            Err(e) => {
                tracing::warn!("reading provisional documents: {e}");
                return;
            }
        };
        let me = self.settings.node;
        let result = self.store.tx().and_then(|tx| {
            for (doc, v) in &verdicts {
                match v {
                    Verdict::Verified => tx.drop_provisional(doc)?,
                    Verdict::Refused { forged, .. } => tx.roll_back(doc, forged, &me)?,
                }
            }
            tx.commit()
        });
        if let Err(e) = result {
            let _ = self.recover(e);
            return;
        }
        let mut rolled_back = false;
        for (doc, v) in &verdicts {
            match v {
                Verdict::Verified => {
                    self.replica.mark_verified(*doc);
                    let _ = self.events.send(NodeEvent::DocumentVerified { doc: *doc });
                }
                Verdict::Refused { reason, .. } => {
                    rolled_back = true;
                    if let Some(source) = sources.get(doc) {
                        let _ = self.events.send(NodeEvent::SnapshotRefused {
                            doc: *doc,
                            source: *source,
                            reason: reason.clone(),
                        });
                    }
                }
            }
        }
        if rolled_back {
            // The store decides now: the rolled-back documents are replayed through
            // `Replica::apply` with everything received or written meanwhile.
            match log::load(&mut self.store, &self.settings, &self.keypair, &mut || {
                Ok(())
            }) {
                Ok((replica, tracker, last_create)) => {
                    self.replica = replica;
                    self.tracker = tracker;
                    self.last_create = self.last_create.max(last_create);
                }
                Err(e) => {
                    self.failed = Some(format!("rebuilding after a rollback failed: {e}"));
                    return;
                }
            }
            for (doc, v) in &verdicts {
                if matches!(v, Verdict::Refused { .. }) {
                    let heads = self.replica.heads(*doc).unwrap_or_default();
                    let _ = self.events.send(NodeEvent::DocumentChanged {
                        doc: *doc,
                        heads,
                        origin: Origin::Remote,
                    });
                }
            }
        }
    }
}
