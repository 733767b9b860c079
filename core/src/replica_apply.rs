//! Applying changes from elsewhere: envelope, certificate chain, revocation standing,
//! layout and write policy; waiting sets, refusals and equivocation.

use super::*;

impl Replica {
    /// Decodes an encoded [`SignedChange`] and applies it.
    pub fn apply_bytes(&mut self, bytes: &[u8]) -> Result<Applied, Error> {
        let sc = SignedChange::decode(bytes)?;
        self.apply(sc)
    }

    /// Verifies and applies a signed change from another replica.
    ///
    /// Errors leave every document unchanged. [`Error::Rejected`] is final for that change
    /// (it is recorded and never forwarded); [`Error::Envelope`] is not recorded, because a
    /// forged envelope must not block the genuine change with the same hash.
    pub fn apply(&mut self, sc: SignedChange) -> Result<Applied, Error> {
        // Replays are the common case in sync: recognise them before checking signatures.
        let change = sc.parse()?;
        if self.holds(sc.doc, &change.hash())? {
            return Ok(Applied::Duplicate);
        }
        let verified = self.authenticate(sc, change)?;
        self.apply_verified(verified)
    }

    /// The envelope check of a change decoded from its bytes: its signature, or — for a
    /// covered change — a cover seen before (it was vouched for in an earlier batch and has
    /// not been accepted since); a covered change alone is [`Error::Uncovered`].
    pub(super) fn authenticate(
        &self,
        sc: SignedChange,
        change: automerge::Change,
    ) -> Result<Verified, Error> {
        if sc.signature.is_some() {
            return Ok(sc.verify_parsed(change)?);
        }
        sc.check_author(&change)?;
        if self.vouched.contains(&change.hash()) {
            return Ok(Verified::vouched(sc, change));
        }
        Err(Self::uncovered(&sc, change.hash()))
    }

    /// The error of a covered change that nothing covers.
    pub(super) fn uncovered(sc: &SignedChange, hash: ChangeHash) -> Error {
        Error::Uncovered {
            change: hex::encode(&hash.0[..4]),
            signer: sc.signer.short(),
        }
    }

    /// Covered changes read back from this node's own store, which keeps a covered change only
    /// once its cover was checked (like a snapshot, the store is trusted): taken again by
    /// [`Replica::apply`] without their cover.
    pub fn vouch_stored(&mut self, hashes: impl IntoIterator<Item = ChangeHash>) {
        self.vouch(hashes);
    }

    /// Remembers that covered changes were shown authentic (see `vouched`).
    pub(super) fn vouch(&mut self, hashes: impl IntoIterator<Item = ChangeHash>) {
        self.vouched.extend(hashes);
    }

    /// [`Replica::apply`] of a change whose envelope (signature, actor binding, canonical
    /// bytes) was already checked by [`SignedChange::verified`], e.g. on another thread:
    /// everything else (duplicates, dependencies, certificate chain, revocations, layout,
    /// write policy) is checked here as in `apply`.
    pub fn apply_verified(&mut self, verified: Verified) -> Result<Applied, Error> {
        let doc = verified.signed().doc;
        let outcome = self.apply_one_verified(verified)?;
        if let Applied::Applied(hashes) = &outcome
            && self.in_federation(doc, hashes)
        {
            self.federation_changed();
        }
        Ok(outcome)
    }

    pub(super) fn apply_one(&mut self, sc: SignedChange) -> Result<Applied, Error> {
        // Replays are the common case in sync: recognise them before checking signatures.
        let change = sc.parse()?;
        if self.holds(sc.doc, &change.hash())? {
            return Ok(Applied::Duplicate);
        }
        let verified = self.authenticate(sc, change)?;
        self.apply_one_verified(verified)
    }

    pub(super) fn apply_one_verified(&mut self, verified: Verified) -> Result<Applied, Error> {
        let (sc, change) = verified.into_parts();
        let hash = change.hash();
        let id = sc.doc;
        if self.holds(id, &hash)? {
            return Ok(Applied::Duplicate);
        }
        if let Some(r) = self.rejected.get(&hash) {
            return Err(Error::Rejected(Box::new(r.clone())));
        }
        // An evicted document is loaded first (an error if it does not load: nothing is
        // decided on a document that is not there).
        self.docs.ensure(&id)?;
        if !self.docs.contains_key(&id) && !change.deps().is_empty() {
            if self.rejected.contains_key(&ChangeHash(id.0)) {
                return self.reject_dependent(&sc, hash, ChangeHash(id.0));
            }
            let at = Timestamp(change.timestamp());
            return self.park(id, sc, vec![ChangeHash(id.0)], at);
        }
        if let Some(doc) = self.docs.get(&id) {
            if change.deps().is_empty() {
                return self.reject(
                    &sc,
                    hash,
                    RejectReason::WrongDocument("a second genesis for an existing document".into()),
                );
            }
            let missing = doc.missing_deps(&change);
            if !missing.is_empty() {
                if let Some(bad) = missing.iter().find(|m| self.rejected.contains_key(m)) {
                    return self.reject_dependent(&sc, hash, *bad);
                }
                return self.park(id, sc, missing, Timestamp(change.timestamp()));
            }
        }
        let at = Timestamp(change.timestamp());
        if let Some((dep, t)) = change
            .deps()
            .iter()
            .filter_map(|d| self.time_of(id, d).map(|t| (d, t)))
            .find(|(_, t)| *t > at.0)
        {
            // A change cannot be older than what it builds on: otherwise a key could write
            // onto newer history with a time inside its (expired) certificate's validity.
            let reason = RejectReason::Backdated {
                at,
                dep: hex::encode(&dep.0[..4]),
                dep_at: Timestamp(t),
            };
            return self.reject(&sc, hash, reason);
        }
        let actor = change.actor_id().to_bytes().to_vec();
        let standing = self.standing(&id, &sc.signer, &actor, change.seq(), &hash, at, || {
            // Only a federation change can write revocations.
            self.docs
                .get(&id)
                .filter(|d| d.kind() == DocKind::Federation && !change.deps().is_empty())
                .and_then(|d| d.writes_of(&change).ok())
                .and_then(|w| self.rank_of_writes(&w))
        });
        let (principal, full, revoked) = match standing {
            Standing::Stands {
                principal,
                full,
                revoked,
            } => (principal, full, revoked),
            Standing::Revoked(reason) => return self.reject(&sc, hash, reason),
            Standing::NoChain(e) => {
                if self.awaiting.contains_key(&hash) {
                    return Ok(Applied::AwaitingCertificate(e));
                }
                // Uncertified keys must not crowd out honest changes waiting for their
                // dependencies: changes without a chain get half of the bound, and one key at
                // most a tenth of it (its parked changes included).
                let limits = [
                    (
                        self.waiting_of(&sc.signer),
                        self.signer_share(),
                        WaitLimit::Signer,
                    ),
                    (
                        self.awaiting.len(),
                        self.max_pending / 2,
                        WaitLimit::Awaiting,
                    ),
                    (self.pending_len(), self.max_pending, WaitLimit::All),
                ];
                if let Some(&(_, limit, bound)) = limits.iter().find(|(n, l, _)| n >= l) {
                    return Err(Self::full(limit, bound, &sc.signer, hash));
                }
                self.count_waiting(sc.signer);
                self.touch(hash, sc.doc);
                self.awaiting.insert(hash, sc);
                return Ok(Applied::AwaitingCertificate(e));
            }
        };
        // A refusal under the authority a revocation left, where the full authority would
        // allow the change, is reported as caused by that revocation.
        let denied = |e: PolicyError, full_allows: bool| match &revoked {
            Some(r) if full_allows => r.clone(),
            _ => RejectReason::Policy(e),
        };
        if change.deps().is_empty() {
            if DocId::from(hash) != id {
                // Not recorded by hash: the same genesis is valid for its own document.
                return Err(Error::Rejected(Box::new(Rejection {
                    doc: id,
                    hash,
                    signer: sc.signer,
                    reason: RejectReason::WrongDocument(format!(
                        "genesis {} does not create document {id}",
                        DocId::from(hash)
                    )),
                })));
            }
            let doc = match Document::from_genesis(change.clone(), crate::kinds::layout) {
                Ok(d) => d,
                Err(e) => return self.reject(&sc, hash, RejectReason::Layout(e)),
            };
            if let Err(e) =
                crate::kind::authorize_genesis_any(kinds::of(doc.kind()), doc.header(), &principal)
            {
                let full_allows =
                    crate::kind::authorize_genesis_any(kinds::of(doc.kind()), doc.header(), &full)
                        .is_ok();
                return self.reject(&sc, hash, denied(e, full_allows));
            }
            let mut doc = doc;
            doc.set_author(&self.author);
            self.docs.insert(id, doc);
        } else {
            let Some(doc) = self.docs.get(&id) else {
                return Err(Error::UnknownDocument(id));
            };
            let writes = match doc.writes_of(&change) {
                Ok(w) => w,
                Err(e) => return self.reject(&sc, hash, RejectReason::Layout(e)),
            };
            if let Err(e) = crate::kind::authorize_any(
                kinds::of(doc.kind()),
                doc,
                change.deps(),
                &principal,
                &self.trust,
                at,
                &writes,
            ) {
                let full_allows = revoked.is_some()
                    && crate::kind::authorize_any(
                        kinds::of(doc.kind()),
                        doc,
                        change.deps(),
                        &full,
                        &self.trust,
                        at,
                        &writes,
                    )
                    .is_ok();
                return self.reject(&sc, hash, denied(e, full_allows));
            }
            let seq = change.seq();
            let prev = seq.checked_sub(1).filter(|p| *p > 0);
            if let Some(prev) = prev
                && !self
                    .slot(&(id, actor.clone(), prev))
                    .is_some_and(|h| change.deps().contains(&h))
            {
                return self.reject(&sc, hash, RejectReason::BrokenSequence { seq, prev });
            }
            let slot = (id, actor, seq);
            if let Some(occupant) = self.slot(&slot) {
                return self.equivocation(sc, &change, slot, occupant);
            }
            let doc = self
                .docs
                .try_get_mut(&id)?
                .ok_or(Error::UnknownDocument(id))?;
            if let Err(e) = doc.apply_checked(change.clone()) {
                return self.reject(&sc, hash, RejectReason::Layout(e));
            }
        }
        self.record(id, &sc, &change);
        let mut applied = vec![hash];
        if self.draining != Some(id) {
            applied.extend(self.drain_pending(id));
        }
        Ok(Applied::Applied(applied))
    }

    /// How a change by `signer` — `actor`'s `seq`-th in `doc`, with hash `hash`, made at
    /// `at` — stands with the revocations in force. The revocations applied are those of the
    /// signer's certificates whose cut-off the change is after and, when the change itself
    /// writes revocations (`rank`, computed only when needed, is their seniority), only the
    /// more senior ones: a revocation never falls to a junior one.
    #[expect(clippy::too_many_arguments, reason = "the change's coordinates")]
    pub(super) fn standing(
        &self,
        doc: &DocId,
        signer: &NodeId,
        actor: &[u8],
        seq: u64,
        hash: &ChangeHash,
        at: Timestamp,
        rank: impl FnOnce() -> Option<Seniority>,
    ) -> Standing {
        // Every principal the key holds (a unit may be certified by two communities): a
        // change stands when one of them allows it.
        let full = match self.trust.principal(signer, at) {
            Ok(_) => self.trust.principals(signer, at),
            Err(e) => return Standing::NoChain(e),
        };
        let mut applicable: Vec<&Active> = self
            .in_force
            .get(signer)
            .into_iter()
            .flatten()
            .filter(|a| !a.rev.allows(doc, actor, seq, &hash.0))
            .collect();
        if !applicable.is_empty()
            && let Some(rank) = rank()
        {
            applicable.retain(|a| a.rank < rank);
        }
        if applicable.is_empty() {
            return Standing::Stands {
                principal: full.clone(),
                full,
                revoked: None,
            };
        }
        applicable.sort_by(|a, b| a.rank.cmp(&b.rank));
        let withdrawn = withdrawn_by(&applicable);
        // Name the revocations that cut a chain of the signer.
        let mut causes: Vec<&Active> = applicable
            .iter()
            .copied()
            .filter(|a| self.trust.cuts_any(signer, at, &withdrawn_by(&[a])))
            .collect();
        if causes.is_empty() {
            causes = applicable;
        }
        let join = |f: &dyn Fn(&Active) -> String, sep: &str| {
            causes.iter().map(|a| f(a)).collect::<Vec<_>>().join(sep)
        };
        let reason = RejectReason::Revoked {
            signer: signer.short(),
            revocation: join(&|a| a.rev.short_id(), ", "),
            by: join(&|a| a.rev.by.short(), ", "),
            reason: join(&|a| a.rev.reason.clone(), "; "),
        };
        match self.trust.principal_without(signer, at, &withdrawn) {
            Ok(_) => {
                let principal = self.trust.principals_without(signer, at, &withdrawn);
                let revoked = (principal != full).then_some(reason);
                Standing::Stands {
                    principal,
                    full,
                    revoked,
                }
            }
            Err(CertError::Withdrawn { .. }) => Standing::Revoked(reason),
            Err(e) => Standing::NoChain(e),
        }
    }

    /// Seniority of the most senior revocation among `writes` (`None` if they write none).
    pub(super) fn rank_of_writes(&self, writes: &[Write]) -> Option<Seniority> {
        writes
            .iter()
            .filter(|w| w.map == "revocations")
            .filter_map(|w| {
                serde_json::from_str::<Revocation>(&w.value)
                    .ok()
                    .map(|r| self.seniority(&w.key, &r))
            })
            .min()
    }

    /// Seniority of revocation `r` stored at `key`: the one it took effect with when it is
    /// in force, else as the trust store says now.
    pub(super) fn seniority(&self, key: &str, r: &Revocation) -> Seniority {
        if let Some(a) = self
            .in_force
            .get(&r.subject)
            .and_then(|v| v.iter().find(|a| a.key == key))
        {
            return a.rank.clone();
        }
        let len = self
            .trust
            .principal(&r.by, r.at)
            .map_or(usize::MAX, |p| p.chain_len);
        (len, r.by, key.to_string())
    }

    pub(super) fn reject(
        &mut self,
        sc: &SignedChange,
        hash: ChangeHash,
        reason: RejectReason,
    ) -> Result<Applied, Error> {
        if matches!(reason, RejectReason::Revoked { .. }) {
            self.revisable.insert(hash, sc.clone());
        }
        self.refused.insert(hash, sc.clone());
        let r = Rejection {
            doc: sc.doc,
            hash,
            signer: sc.signer,
            reason,
        };
        self.record_rejection(r.clone());
        Err(Error::Rejected(Box::new(r)))
    }

    /// Refuses a change because its dependency `bad` was refused; judged again with `bad`
    /// when that refusal came from a revocation.
    pub(super) fn reject_dependent(
        &mut self,
        sc: &SignedChange,
        hash: ChangeHash,
        bad: ChangeHash,
    ) -> Result<Applied, Error> {
        if self.revisable.contains_key(&bad) {
            self.revisable.insert(hash, sc.clone());
        }
        let label = if bad.0 == sc.doc.0 {
            sc.doc.short()
        } else {
            hex::encode(&bad.0[..4])
        };
        self.reject(sc, hash, RejectReason::DependsOnRejected(label))
    }

    /// Records a refused change, and refuses every waiting change that depends on it
    /// (directly or through other waiting changes), so the set of refused changes does not
    /// depend on the order in which a change and its dependents arrived.
    pub(super) fn record_rejection(&mut self, r: Rejection) {
        let mut queue = vec![r];
        while let Some(r) = queue.pop() {
            let bad = r.hash;
            let doc = r.doc;
            self.touch(bad, doc);
            self.rejected.insert(bad, r);
            let Some(waiting) = self.pending.get(&doc) else {
                continue;
            };
            let genesis = bad == ChangeHash(doc.0);
            let dependents: Vec<ChangeHash> = waiting
                .iter()
                .filter(|(_, sc)| genesis || sc.parse().is_ok_and(|c| c.deps().contains(&bad)))
                .map(|(h, _)| *h)
                .collect();
            let revisable = self.revisable.contains_key(&bad);
            for h in dependents {
                if let Some(sc) = self.unpark(doc, &h) {
                    if revisable {
                        self.revisable.insert(h, sc.clone());
                    }
                    self.refused.insert(h, sc.clone());
                    queue.push(Rejection {
                        doc,
                        hash: h,
                        signer: sc.signer,
                        reason: RejectReason::DependsOnRejected(hex::encode(&bad.0[..4])),
                    });
                }
            }
        }
    }

    /// Parks a change whose dependencies are missing, within the bounds of the waiting sets
    /// (see [`MAX_PENDING`]). Whether its signer is certified is judged at the change's time
    /// `at`: a key without a chain can name made-up dependencies at no cost, so it only gets
    /// the small quarantine. Nothing already parked is ever evicted.
    pub(super) fn park(
        &mut self,
        id: DocId,
        sc: SignedChange,
        missing: Vec<ChangeHash>,
        at: Timestamp,
    ) -> Result<Applied, Error> {
        let hash = sc.change_hash()?;
        if self.pending.get(&id).is_some_and(|m| m.contains_key(&hash)) {
            return Ok(Applied::Pending(missing));
        }
        let signer = sc.signer;
        let certified = self.trust.principal(&signer, at).is_ok();
        let mut limits = Vec::with_capacity(4);
        if !certified {
            let of_key = self.quarantine.values().filter(|k| **k == signer).count();
            limits.push((of_key, QUARANTINE_PER_KEY, WaitLimit::QuarantinePerKey));
            limits.push((
                self.quarantine.len(),
                (self.max_pending / 10).max(1),
                WaitLimit::Quarantine,
            ));
        }
        limits.push((
            self.waiting_of(&signer),
            self.signer_share(),
            WaitLimit::Signer,
        ));
        limits.push((self.pending_len(), self.max_pending, WaitLimit::All));
        if let Some(&(_, limit, bound)) = limits.iter().find(|(n, l, _)| n >= l) {
            return Err(Self::full(limit, bound, &signer, hash));
        }
        if !certified {
            self.quarantine.insert((id, hash), signer);
        }
        self.count_waiting(signer);
        self.touch(hash, id);
        self.pending.entry(id).or_default().insert(hash, sc);
        Ok(Applied::Pending(missing))
    }

    /// Takes a parked change out of the pending set.
    pub(super) fn unpark(&mut self, id: DocId, hash: &ChangeHash) -> Option<SignedChange> {
        let sc = self.pending.get_mut(&id)?.remove(hash)?;
        self.touch(*hash, id);
        self.quarantine.remove(&(id, *hash));
        self.uncount_waiting(&sc.signer);
        Some(sc)
    }

    /// Takes every parked change of document `id` out of the pending set.
    pub(super) fn unpark_all(&mut self, id: DocId) {
        for (hash, sc) in self.pending.remove(&id).unwrap_or_default() {
            self.touch(hash, id);
            self.quarantine.remove(&(id, hash));
            self.uncount_waiting(&sc.signer);
        }
    }

    /// One signer's share of the waiting sets.
    pub(super) fn signer_share(&self) -> usize {
        (self.max_pending / 10).max(1)
    }

    /// Changes of `signer` waiting for dependencies or a certificate.
    pub(super) fn waiting_of(&self, signer: &NodeId) -> usize {
        self.waiting_by.get(signer).copied().unwrap_or(0)
    }

    pub(super) fn count_waiting(&mut self, signer: NodeId) {
        *self.waiting_by.entry(signer).or_default() += 1;
    }

    pub(super) fn uncount_waiting(&mut self, signer: &NodeId) {
        if let Some(n) = self.waiting_by.get_mut(signer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.waiting_by.remove(signer);
            }
        }
    }

    pub(super) fn full(limit: usize, bound: WaitLimit, signer: &NodeId, hash: ChangeHash) -> Error {
        Error::PendingFull {
            limit,
            bound,
            signer: signer.short(),
            change: hex::encode(hash.0),
        }
    }

    /// Applies waiting changes of `id` whose dependencies are now present, repeatedly.
    pub(super) fn drain_pending(&mut self, id: DocId) -> Vec<ChangeHash> {
        let outer = self.draining.replace(id);
        let applied = self.drain_loop(id);
        self.draining = outer;
        applied
    }

    /// A change that passed every check but whose (document, actor, seq) slot already holds
    /// the accepted change `occupant`: its signer equivocated. The change with the smaller
    /// hash is kept and the other refused with its dependents, so every replica ends with the
    /// same one whatever the order of arrival. A newcomer that holds the occupant in its own
    /// history cannot stand in a document beside it nor without it (it is refused wherever
    /// it is considered, since it is only considered once its history is present), so it is
    /// refused whatever its hash.
    pub(super) fn equivocation(
        &mut self,
        sc: SignedChange,
        change: &Change,
        slot: SlotKey,
        occupant: ChangeHash,
    ) -> Result<Applied, Error> {
        let hash = change.hash();
        let id = slot.0;
        let seq = slot.2;
        let reason = |kept: &ChangeHash| RejectReason::Equivocation {
            signer: sc.signer.short(),
            seq,
            kept: hex::encode(&kept.0[..4]),
        };
        if occupant < hash || self.in_history(id, &occupant, change.deps()) {
            self.contest(sc.signer, &slot, occupant, hash);
            return self.reject(&sc, hash, reason(&occupant));
        }
        // The newcomer wins: the document is rebuilt without the occupant and its
        // dependents, then the newcomer goes through `apply` again (from the start: the
        // rebuild may have changed what it finds, e.g. certificates the occupant wrote).
        let federation = self
            .docs
            .get(&id)
            .is_some_and(|d| d.kind() == DocKind::Federation);
        let bad = BTreeMap::from([(occupant, Some(reason(&hash)))]);
        self.rebuild(id, &bad);
        if self.slot(&slot) == Some(occupant) {
            return Err(Error::Source {
                doc: id,
                reason: format!(
                    "cannot rebuild the document without equivocating change {}",
                    hex::encode(&occupant.0[..4])
                ),
            });
        }
        self.contest(sc.signer, &slot, hash, occupant);
        if federation {
            // Certificates the occupant wrote are gone: re-check what they authorized.
            self.reload_federation_with(true);
            while self.enforce() {}
        }
        self.apply_one(sc)
    }

    /// Whether `target` is `deps` or one of their ancestors in document `id`'s log.
    pub(super) fn in_history(&self, id: DocId, target: &ChangeHash, deps: &[ChangeHash]) -> bool {
        let Some(log) = self.docs.log(&id) else {
            return false;
        };
        let graph: HashMap<ChangeHash, &[ChangeHash]> = log
            .entries()
            .iter()
            .map(|e| (e.hash, e.deps.as_slice()))
            .collect();
        let mut seen: BTreeSet<ChangeHash> = BTreeSet::new();
        let mut stack: Vec<ChangeHash> = deps.to_vec();
        while let Some(h) = stack.pop() {
            if h == *target {
                return true;
            }
            if seen.insert(h) {
                stack.extend(graph.get(&h).copied().unwrap_or_default());
            }
        }
        false
    }

    /// Records that `slot` keeps `kept` and refuses `refused`, flags the signer, and points
    /// the reasons of the slot's earlier refusals at the change kept now.
    pub(super) fn contest(
        &mut self,
        signer: NodeId,
        slot: &SlotKey,
        kept: ChangeHash,
        refused: ChangeHash,
    ) {
        let c = self.contested.entry(slot.clone()).or_insert(Contested {
            signer,
            kept,
            refused: BTreeSet::new(),
        });
        if c.kept != kept {
            let before = std::mem::replace(&mut c.kept, kept);
            c.refused.insert(before);
        }
        c.refused.insert(refused);
        c.refused.remove(&kept);
        let short = hex::encode(&kept.0[..4]);
        for h in &c.refused {
            if let Some(Rejection {
                reason: RejectReason::Equivocation { kept: k, .. },
                ..
            }) = self.rejected.get_mut(h)
            {
                k.clone_from(&short);
            }
        }
        // The signer's lowest contested slot, so every replica reports the same one.
        self.flag_lowest_contest(signer);
    }

    /// Applies the pending changes of `id` whose dependencies are present, in dependency
    /// order: each waiting change is decoded once, and applying one releases exactly the
    /// changes that waited for it (no rescans, so a long chain received backwards costs
    /// linear time).
    pub(super) fn drain_loop(&mut self, id: DocId) -> Vec<ChangeHash> {
        let mut applied = Vec::new();
        let (Some(doc), Some(waiting)) = (self.docs.get(&id), self.pending.get(&id)) else {
            return applied;
        };
        let mut missing: BTreeMap<ChangeHash, usize> = BTreeMap::new();
        let mut dependents: BTreeMap<ChangeHash, Vec<ChangeHash>> = BTreeMap::new();
        let mut ready: std::collections::VecDeque<ChangeHash> = Default::default();
        for (h, sc) in waiting {
            // A change whose bytes do not decode is tried (and refused) at once.
            let lacking = sc.parse().map(|c| doc.missing_deps(&c)).unwrap_or_default();
            if lacking.is_empty() {
                ready.push_back(*h);
            } else {
                missing.insert(*h, lacking.len());
                for d in lacking {
                    dependents.entry(d).or_default().push(*h);
                }
            }
        }
        while let Some(h) = ready.pop_front() {
            let Some(sc) = self.unpark(id, &h) else {
                continue;
            };
            let Ok(Applied::Applied(more)) = self.apply_one(sc) else {
                continue;
            };
            for a in &more {
                for dep in dependents.remove(a).unwrap_or_default() {
                    if let Some(n) = missing.get_mut(&dep) {
                        *n -= 1;
                        if *n == 0 {
                            missing.remove(&dep);
                            ready.push_back(dep);
                        }
                    }
                }
            }
            applied.extend(more);
        }
        if self.pending.get(&id).is_some_and(BTreeMap::is_empty) {
            self.pending.remove(&id);
        }
        applied
    }
}
