//! Revocations in force and what they withdraw: resolving them, retrying waiting
//! changes, and rebuilding documents without the changes a revocation cut off.

use super::*;

impl Replica {
    /// Rebuilds the trust store, revocation records and district settings from the
    /// federation documents; resolves the revocations in force again when the records or the
    /// certificates changed; retries changes awaiting a certificate.
    pub(super) fn federation_changed(&mut self) {
        loop {
            let known = self.trust.ids();
            self.reload_federation();
            let mut progress = false;
            // New certificates: a write policy may now allow what it refused.
            if !self.trust.ids().is_subset(&known) {
                progress |= self.rejudge_policy_refusals();
            }
            let involved =
                !self.records.is_empty() || !self.in_force.is_empty() || !self.revisable.is_empty();
            if involved && self.resolved.as_ref() != Some(&self.resolution_key()) {
                self.resolve_revocations();
                progress = true;
            }
            progress |= self.retry_awaiting();
            if !progress {
                return;
            }
        }
    }

    /// Judges again every change a write policy refused: a certificate that arrived since
    /// (a unit certified by a second community, say) may allow it, and where it arrived
    /// first the change was accepted. Returns whether any was refused before.
    pub(super) fn rejudge_policy_refusals(&mut self) -> bool {
        let hs: Vec<ChangeHash> = self
            .rejected
            .iter()
            .filter(|(_, r)| matches!(r.reason, RejectReason::Policy(_)))
            .map(|(h, _)| *h)
            .collect();
        if hs.is_empty() {
            return false;
        }
        let mut again = Vec::new();
        let mut by_doc: BTreeMap<DocId, BTreeSet<ChangeHash>> = BTreeMap::new();
        for h in hs {
            let Some(sc) = self.refused.remove(&h) else {
                continue;
            };
            if let Some(r) = self.rejected.remove(&h) {
                self.touch(h, r.doc);
                self.withdrawn += 1;
                by_doc.entry(r.doc).or_default().insert(h);
            }
            again.push(sc);
        }
        for (doc, gone) in by_doc {
            again.extend(self.unrefuse_dependents_of(doc, gone));
        }
        for sc in again {
            let _ = self.apply_one(sc);
        }
        true
    }

    /// What resolving the revocations depends on besides the changes it judges: the
    /// revocation records (a signer may rewrite its own record) and the certificates.
    pub(super) fn resolution_key(&self) -> (BTreeMap<String, Revocation>, BTreeSet<CertId>) {
        (self.records.clone(), self.trust.ids())
    }

    /// Decides which revocations are in force, as a function of the set of changes held
    /// (never of their arrival order), and refuses what they invalidate.
    ///
    /// 1. Every change refused because of a revocation is judged again with no revocation
    ///    in force: the state the revocations then act on.
    /// 2. Revocations take effect one at a time, most senior first ([`Seniority`]: the
    ///    signer's chain length — the root 0 —, then its key, then the record key). Each
    ///    refuses the changes after its cut-off that no remaining chain allows, with their
    ///    dependents; a revocation among them (its signer's authority withdrawn by a more
    ///    senior revocation that did not see it) never takes effect. A revocation that took
    ///    effect is judged only against those before it, so a junior one never undoes it.
    ///
    /// Authority flows down the chains, so two keys can only take each other's last chain
    /// if each is above the other, which no chain allows: the most senior revocation always
    /// stands, the root (which cannot be revoked) always writes, and the district never
    /// freezes.
    pub(super) fn resolve_revocations(&mut self) {
        self.in_force.clear();
        let again = std::mem::take(&mut self.revisable);
        for h in again.keys() {
            if let Some(r) = self.rejected.remove(h) {
                self.touch(*h, r.doc);
                self.withdrawn += 1;
            }
            self.refused.remove(h);
        }
        for sc in again.into_values() {
            let _ = self.apply_one(sc);
        }
        loop {
            self.reload_federation();
            if !self.retry_awaiting() {
                break;
            }
        }
        loop {
            let next = self
                .records
                .iter()
                .filter(|(k, r)| {
                    !self
                        .in_force
                        .get(&r.subject)
                        .is_some_and(|v| v.iter().any(|a| a.key == **k))
                })
                .map(|(k, r)| (self.seniority(k, r), k.clone(), r.clone()))
                .min_by(|a, b| a.0.cmp(&b.0));
            let Some((rank, key, rev)) = next else {
                break;
            };
            self.in_force
                .entry(rev.subject)
                .or_default()
                .push(Active { rev, key, rank });
            while self.enforce() {}
            self.rejudge_contests_of_revoked();
        }
        self.resolved = Some(self.resolution_key());
    }

    /// Judges again the losers of the equivocation contests of keys a revocation in force
    /// names. A slot is contested only among changes that otherwise count, so a loser the
    /// revocation refuses anyway is refused for the revocation (and judged again with it),
    /// as where it arrived after the revocation; a loser that still counts re-forms the
    /// contest. The outcome does not depend on whether the twins or the revocation came
    /// first.
    pub(super) fn rejudge_contests_of_revoked(&mut self) {
        let slots: Vec<(SlotKey, ChangeHash)> = self
            .contested
            .iter()
            .filter(|(_, c)| self.in_force.contains_key(&c.signer))
            .map(|(k, c)| (k.clone(), c.kept))
            .collect();
        for (slot, kept) in slots {
            let mut gone = BTreeSet::new();
            let mut again = self.dissolve_contests(slot.0, &BTreeSet::from([kept]), &mut gone);
            again.extend(self.unrefuse_dependents_of(slot.0, gone));
            for sc in again {
                let _ = self.apply_one(sc);
            }
        }
    }

    /// Reads certificates, revocation records and settings from the federation documents.
    /// New certificates are added to the trust store (whose signature checks are done once
    /// per certificate); with `fresh`, the store is rebuilt from scratch (after a rebuild
    /// removed certificates).
    pub(super) fn reload_federation_with(&mut self, fresh: bool) {
        if fresh {
            self.trust = TrustStore::new(*self.trust.root());
            self.trust_epoch += 1;
        }
        // (Federation documents are never evicted: this loads nothing.)
        let feds: Vec<&Document> = self.docs.of_kind(DocKind::Federation).collect();
        federation::fill_trust(&mut self.trust, feds.iter().copied());
        let mut records = BTreeMap::new();
        let mut config = None;
        for d in &feds {
            let f = federation::Federation::new(d);
            for (k, r) in f.revocation_records() {
                records.entry(k).or_insert(r);
            }
            config = config.or_else(|| f.config());
        }
        self.records = records;
        self.district = config.unwrap_or_default();
    }

    pub(super) fn reload_federation(&mut self) {
        self.reload_federation_with(false);
    }

    pub(super) fn retry_awaiting(&mut self) -> bool {
        let waiting = std::mem::take(&mut self.awaiting);
        for sc in waiting.values() {
            self.uncount_waiting(&sc.signer);
        }
        let mut progress = false;
        for (_, sc) in waiting {
            let doc = sc.doc;
            if let Ok(Applied::Applied(hashes)) = self.apply_one(sc) {
                progress = true;
                if self.in_federation(doc, &hashes) {
                    self.reload_federation();
                }
            }
        }
        progress
    }

    /// Re-checks every accepted change against the current certificates and the
    /// revocations in force; rebuilds documents without the changes that no longer stand
    /// and their dependents. Returns whether anything was removed.
    ///
    /// An evicted document is loaded only if one of its signers is the subject of a
    /// revocation in force, or the trust store was rebuilt from scratch since it was evicted.
    /// Otherwise its changes stand as they did at eviction: each had a chain then (the
    /// enforcement that follows every rebuild of the trust store left only such changes), the
    /// trust store has only gained certificates since, and with no revocation of their signer
    /// in force nothing else can refuse them.
    pub(super) fn enforce(&mut self) -> bool {
        let mut removed_any = false;
        let ids: Vec<DocId> = self
            .docs
            .keys()
            .filter(|id| match self.docs.log_state(id) {
                Some(LogState::Evicted(s)) => {
                    s.epoch != self.trust_epoch
                        || s.signers.iter().any(|k| self.in_force.contains_key(k))
                }
                _ => true,
            })
            .copied()
            .collect();
        for id in ids {
            let bad = self.judge_log(id);
            if bad.is_empty() {
                continue;
            }
            removed_any = true;
            self.rebuild(id, &bad);
        }
        if removed_any {
            self.reload_federation_with(true);
        }
        removed_any
    }

    /// The accepted changes of `id` that no longer stand: with a reason when a revocation
    /// refuses them, without one when their signer lost every chain (they wait for a
    /// certificate again) or a dependency goes.
    pub(super) fn judge_log(&self, id: DocId) -> BTreeMap<ChangeHash, Option<RejectReason>> {
        let mut bad: BTreeMap<ChangeHash, Option<RejectReason>> = BTreeMap::new();
        let (Some(log), Some(kind)) = (self.docs.log(&id), self.docs.kind(&id)) else {
            return bad;
        };
        let entries = log.entries();
        let fed = kind == DocKind::Federation;
        // The document, read (loaded, if it was evicted) only when a revocation applies to
        // one of its changes.
        let doc = || self.docs.get(&id);
        for e in entries {
            let h = e.signed_hash();
            if e.deps.iter().any(|d| bad.contains_key(d)) {
                bad.insert(h, None);
                continue;
            }
            let at = Timestamp(e.time);
            // The change itself, read only when a revocation applies to it. (If the store
            // cannot give it back, it is left as it is: its next open re-checks it.)
            let change = || {
                self.signed_of(id, &[e])
                    .ok()
                    .and_then(|v| v.into_iter().next())
                    .and_then(|sc| sc.parse().ok())
            };
            let rank = || {
                if fed {
                    change()
                        .and_then(|c| doc()?.writes_of(&c).ok())
                        .and_then(|w| self.rank_of_writes(&w))
                } else {
                    None
                }
            };
            match self.standing(&id, &e.signer, &e.actor, e.seq, &h, at, rank) {
                // The chain disappeared (e.g. its certificate was written after its
                // issuer's cut-off): the change waits for a certificate again.
                Standing::NoChain(_) => {
                    bad.insert(h, None);
                }
                Standing::Revoked(r) => {
                    bad.insert(h, Some(r));
                }
                // Judged again under the authority the revocations left.
                Standing::Stands {
                    principal,
                    revoked: Some(r),
                    ..
                } => {
                    // (A document that cannot be read back is left as it is, like a
                    // change: its next open re-checks it.)
                    let allowed = change().zip(doc()).is_none_or(|(c, doc)| {
                        if c.deps().is_empty() {
                            crate::kind::authorize_genesis_any(
                                kinds::of(doc.kind()),
                                doc.header(),
                                &principal,
                            )
                            .is_ok()
                        } else {
                            doc.writes_of(&c).is_ok_and(|w| {
                                crate::kind::authorize_any(
                                    kinds::of(doc.kind()),
                                    doc,
                                    c.deps(),
                                    &principal,
                                    &self.trust,
                                    at,
                                    &w,
                                )
                                .is_ok()
                            })
                        }
                    });
                    if !allowed {
                        bad.insert(h, Some(r));
                    }
                }
                Standing::Stands { revoked: None, .. } => {}
            }
        }
        bad
    }

    /// Rebuilds document `id` from its log without the changes in `bad`; changes with a
    /// reason are recorded as refused, the others are re-submitted (they are refused as
    /// dependents of refused changes, or wait for a certificate).
    pub(super) fn rebuild(&mut self, id: DocId, bad: &BTreeMap<ChangeHash, Option<RejectReason>>) {
        // (A document that does not load stays as it is, like one whose changes the store
        // cannot give back below.)
        let Ok(log) = self.docs.try_log(&id) else {
            return;
        };
        let mut entries = log.map(|l| l.entries().to_vec()).unwrap_or_default();
        // Every change's bytes are needed to replay the rest and re-submit the removed.
        let all: Vec<&Logged> = entries.iter().collect();
        match self.signed_of(id, &all) {
            Ok(signed) => {
                for (e, sc) in entries.iter_mut().zip(signed) {
                    e.signed = Some(sc);
                }
            }
            Err(_) => {
                // The store cannot give them back: the document stays as it was (its next
                // open re-checks every change against the revocations).
                return;
            }
        }
        // The document goes with its log and indexes; it comes back rebuilt below.
        self.docs.remove(&id);
        // Dependents of removed changes go too (the log is in causal order).
        let mut bad = bad.clone();
        for e in &entries {
            if !bad.contains_key(&e.hash) && e.deps.iter().any(|d| bad.contains_key(d)) {
                bad.insert(e.hash, None);
            }
        }
        // Refusals judged while a removed change stood are judged again, as if it had never
        // been accepted (they wait for it, or are refused as its dependents): the outcome
        // must not depend on whether they arrived before or after its removal. That holds
        // for the losers of an equivocation contest too: a slot is contested only among
        // changes that otherwise count, so when the change kept in a slot is removed for
        // another reason (a revocation, a dependency gone), its contest dissolves and the
        // losers are judged again.
        let mut gone: BTreeSet<ChangeHash> = bad.keys().copied().collect();
        let removed: BTreeSet<ChangeHash> = bad
            .iter()
            .filter(|(_, r)| !matches!(r, Some(RejectReason::Equivocation { .. })))
            .map(|(h, _)| *h)
            .collect();
        let mut resubmit = self.dissolve_contests(id, &removed, &mut gone);
        resubmit.extend(self.unrefuse_dependents_of(id, gone));
        let mut rejections = Vec::new();
        for e in &entries {
            if bad.contains_key(&e.hash) {
                self.touch(e.hash, id);
                // Accepted before: a covered one is taken again (refused, judged again or
                // re-submitted) without its cover.
                if e.signed.as_ref().is_some_and(|sc| sc.signature.is_none()) {
                    self.vouched.insert(e.hash);
                }
            }
            match bad.get(&e.hash) {
                Some(Some(reason)) => {
                    if let Some(sc) = &e.signed {
                        if matches!(reason, RejectReason::Revoked { .. }) {
                            self.revisable.insert(e.hash, sc.clone());
                        }
                        self.refused.insert(e.hash, sc.clone());
                    }
                    rejections.push(Rejection {
                        doc: id,
                        hash: e.hash,
                        signer: e.signer,
                        reason: reason.clone(),
                    })
                }
                Some(None) => resubmit.extend(e.signed.clone()),
                None => {}
            }
        }
        let kept: Vec<Logged> = entries
            .into_iter()
            .filter(|e| !bad.contains_key(&e.hash))
            .collect();
        if let Some(doc) = self.replay(&kept) {
            self.docs.insert_with_log(id, doc, DocLog::new(kept));
        }
        self.refresh_catalog(id);
        for r in rejections {
            self.record_rejection(r);
        }
        for sc in resubmit {
            let _ = self.apply_one(sc);
        }
    }

    /// Dissolves the contests of `doc` whose kept change is in `removed`: withdraws their
    /// losers' equivocation refusals (added to `gone`, so their dependents are judged again
    /// too), updates the signers' flags, and returns the losers to be submitted again.
    pub(super) fn dissolve_contests(
        &mut self,
        doc: DocId,
        removed: &BTreeSet<ChangeHash>,
        gone: &mut BTreeSet<ChangeHash>,
    ) -> Vec<SignedChange> {
        let slots: Vec<SlotKey> = self
            .contested
            .iter()
            .filter(|(k, c)| k.0 == doc && removed.contains(&c.kept))
            .map(|(k, _)| k.clone())
            .collect();
        let mut again = Vec::new();
        for slot in slots {
            let Some(c) = self.contested.remove(&slot) else {
                continue;
            };
            for h in c.refused {
                if gone.contains(&h) {
                    continue;
                }
                let equivocation = matches!(
                    self.rejected.get(&h),
                    Some(Rejection {
                        reason: RejectReason::Equivocation { .. },
                        ..
                    })
                );
                if !equivocation {
                    continue;
                }
                if let Some(r) = self.rejected.remove(&h) {
                    self.touch(h, r.doc);
                }
                self.withdrawn += 1;
                self.revisable.remove(&h);
                if let Some(sc) = self.refused.remove(&h) {
                    gone.insert(h);
                    again.push(sc);
                }
            }
            self.flag_lowest_contest(c.signer);
        }
        again
    }

    /// Sets `signer`'s equivocation flag to its lowest contested slot, or clears it when it
    /// has none left.
    pub(super) fn flag_lowest_contest(&mut self, signer: NodeId) {
        match self.contested.iter().find(|(_, c)| c.signer == signer) {
            Some((key, c)) => {
                self.equivocators.insert(
                    signer,
                    Equivocation {
                        doc: key.0,
                        seq: key.2,
                        kept: c.kept,
                        refused: c.refused.clone(),
                    },
                );
            }
            None => {
                self.equivocators.remove(&signer);
            }
        }
    }

    /// Withdraws the refusals of changes of `doc` that depend, directly or through other
    /// refused changes, on a change in `gone`, and returns them to be submitted again.
    pub(super) fn unrefuse_dependents_of(
        &mut self,
        doc: DocId,
        mut gone: BTreeSet<ChangeHash>,
    ) -> Vec<SignedChange> {
        let mut again = Vec::new();
        loop {
            let more: Vec<ChangeHash> = self
                .refused
                .iter()
                .filter(|(h, sc)| {
                    sc.doc == doc
                        && !gone.contains(h)
                        && sc
                            .parse()
                            .is_ok_and(|c| c.deps().iter().any(|d| gone.contains(d)))
                })
                .map(|(h, _)| *h)
                .collect();
            if more.is_empty() {
                return again;
            }
            for h in more {
                gone.insert(h);
                if let Some(r) = self.rejected.remove(&h) {
                    self.touch(h, r.doc);
                    self.withdrawn += 1;
                }
                self.revisable.remove(&h);
                again.extend(self.refused.remove(&h));
            }
        }
    }

    /// Rebuilds a document from logged changes in causal order (the first is its genesis).
    pub(super) fn replay(&self, kept: &[Logged]) -> Option<Document> {
        let genesis = kept.first()?.signed.as_ref()?.parse().ok()?;
        let mut doc = Document::from_genesis(genesis, crate::kinds::layout).ok()?;
        doc.set_author(&self.author);
        for e in &kept[1..] {
            // Invariant: these changes were verified and applied before, in this order.
            let c = e.signed.as_ref()?.parse().ok()?;
            doc.apply_checked(c).ok()?;
        }
        Some(doc)
    }

    /// A copy of this replica for another node identity (tests build many nodes from one
    /// replica that already holds the federation document).
    #[cfg(test)]
    pub(crate) fn for_node(&self, keypair: Keypair, incarnation: [u8; 8], org: OrgId) -> Replica {
        let mut r = self.clone();
        r.author = Author {
            node: keypair.node_id(),
            incarnation,
            org,
        };
        r.keypair = keypair;
        let author = r.author.clone();
        r.docs.set_author(&author);
        r
    }
}
