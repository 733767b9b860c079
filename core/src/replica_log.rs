//! The change log a replica serves: catalog, heads, changes after a set of heads, and
//! documents carried for others (relay role).

use super::*;

impl Replica {
    /// The header of a document held or carried.
    pub fn header(&self, id: DocId) -> Result<&DocHeader, Error> {
        match (self.docs.header(&id), self.carried.get(&id)) {
            (Some(h), _) => Ok(h),
            (None, Some(c)) => Ok(&c.header),
            (None, None) => Err(Error::UnknownDocument(id)),
        }
    }

    /// Whether a document is carried for others rather than held.
    pub fn is_carried(&self, id: DocId) -> bool {
        self.carried.contains_key(&id)
    }

    /// Relay role: keeps a signed change of a document this node may not read, to pass it
    /// on. The envelope (signature, actor binding) and the signer's certificate chain are
    /// verified; the change is not applied and its content is not read. Changes must arrive
    /// in causal order (as sync sends them), the genesis first. Returns whether it was new.
    pub fn carry(&mut self, sc: SignedChange) -> Result<bool, Error> {
        self.carry_checked(sc.checked())
    }

    /// [`Replica::carry`] of a change whose envelope was checked ([`crate::signed::check_all`],
    /// covered changes verified by [`crate::signed::cover`] over their batch).
    pub fn carry_checked(&mut self, checked: crate::signed::Checked) -> Result<bool, Error> {
        use crate::signed::Checked;
        let (sc, change) = match checked {
            Checked::Verified(v) => v.into_parts(),
            Checked::Covered(v) => return Err(Self::uncovered(v.signed(), v.hash())),
            Checked::Unverified(sc) => {
                sc.verify()?;
                // Unreachable in practice (the check failed before); refuse anyway.
                return Err(Error::Envelope(crate::signed::SignedError::BadSignature));
            }
        };
        if self.docs.contains_key(&sc.doc) {
            return Err(Error::WrongKind {
                doc: sc.doc,
                expected: "carried document",
                actual: "document held by this replica",
            });
        }
        let hash = change.hash();
        if let Some(c) = self.carried.get(&sc.doc)
            && c.log.iter().any(|e| e.hash == hash)
        {
            return Ok(false);
        }
        let at = Timestamp(change.timestamp());
        self.trust
            .principal(&sc.signer, at)
            .map_err(Error::NotCertified)?;
        let entry = Logged {
            signed: Some(sc.clone()),
            signer: sc.signer,
            hash,
            actor: change.actor_id().to_bytes().to_vec(),
            seq: change.seq(),
            time: change.timestamp(),
            deps: change.deps().to_vec(),
        };
        let carried = match self.carried.get_mut(&sc.doc) {
            Some(c) => c,
            None => {
                if !change.deps().is_empty() || DocId::from(hash) != sc.doc {
                    return Err(Error::UnknownDocument(sc.doc));
                }
                let header = Document::from_genesis(change.clone(), crate::kinds::layout)?
                    .header()
                    .clone();
                self.carried.entry(sc.doc).or_insert(Carried {
                    header,
                    log: Vec::new(),
                    heads: BTreeSet::new(),
                })
            }
        };
        if let Some(missing) = entry
            .deps
            .iter()
            .find(|d| !carried.log.iter().any(|e| e.hash == **d))
        {
            return Err(Error::Doc(DocError::MalformedChange(format!(
                "carried change depends on {} which was not carried before it",
                hex::encode(&missing.0[..4])
            ))));
        }
        for d in &entry.deps {
            carried.heads.remove(d);
        }
        carried.heads.insert(hash);
        carried.log.push(entry);
        let heads: Vec<ChangeHash> = carried.heads.iter().copied().collect();
        self.catalog.insert(sc.doc, heads_digest(&heads));
        Ok(true)
    }

    /// The catalog: each document's heads digest ([`heads_digest`]).
    pub fn catalog(&self) -> &BTreeMap<DocId, [u8; 32]> {
        &self.catalog
    }

    /// Current heads of a document held or carried.
    pub fn heads(&self, id: DocId) -> Result<Vec<ChangeHash>, Error> {
        if let Some(c) = self.carried.get(&id) {
            return Ok(c.heads.iter().copied().collect());
        }
        self.docs.heads(&id).ok_or(Error::UnknownDocument(id))
    }

    /// All accepted changes of a document that are not `have` or their ancestors (all if
    /// `have` is empty), in causal order. Unknown hashes in `have` are ignored. An evicted
    /// document is loaded (with its log) first.
    pub fn changes(&self, id: DocId, have: &[ChangeHash]) -> Result<Vec<SignedChange>, Error> {
        let log = match (self.docs.try_log(&id)?, self.carried.get(&id)) {
            (Some(l), _) => l.entries(),
            (None, Some(c)) => c.log.as_slice(),
            (None, None) => return Err(Error::UnknownDocument(id)),
        };
        let mut known: BTreeSet<ChangeHash> = BTreeSet::new();
        if !have.is_empty() {
            let deps: BTreeMap<ChangeHash, &[ChangeHash]> =
                log.iter().map(|e| (e.hash, e.deps.as_slice())).collect();
            let mut stack: Vec<ChangeHash> = have
                .iter()
                .filter(|h| deps.contains_key(h))
                .copied()
                .collect();
            while let Some(h) = stack.pop() {
                if known.insert(h) {
                    stack.extend(deps.get(&h).copied().unwrap_or_default());
                }
            }
        }
        let wanted: Vec<&Logged> = log.iter().filter(|e| !known.contains(&e.hash)).collect();
        self.signed_of(id, &wanted)
    }

    /// Marks a held document *provisional*: restored from a peer's snapshot without
    /// verification (fast join). It reads and takes local writes like any other, but sync
    /// never offers, sends or announces it ([`Replica::is_provisional`]) until
    /// [`Replica::mark_verified`]. Returns whether the document is held.
    pub fn mark_provisional(&mut self, doc: DocId) -> bool {
        if !self.docs.contains_key(&doc) {
            return false;
        }
        self.provisional.insert(doc);
        true
    }

    /// Ends the provisional state of a document (its verification accepted everything it
    /// held). Returns whether it was provisional.
    pub fn mark_verified(&mut self, doc: DocId) -> bool {
        self.provisional.remove(&doc)
    }

    /// Whether a document is provisional (not yet verified): never served to peers.
    pub fn is_provisional(&self, doc: DocId) -> bool {
        self.provisional.contains(&doc)
    }

    /// Documents awaiting verification.
    pub fn provisional(&self) -> &BTreeSet<DocId> {
        &self.provisional
    }

    /// A document in the store's snapshot form, for a peer's fast join: its saved automerge
    /// document and the signatures a store keeps of the changes it holds
    /// ([`crate::signed::signatures_to_keep`]: the others are covered), in ascending order of
    /// change hash, packed by [`crate::signed::pack_signatures`]. A provisional document has
    /// none (it is not served).
    pub fn snapshot_of(&self, id: DocId) -> Result<(Vec<u8>, Vec<u8>), Error> {
        if self.is_provisional(id) {
            return Err(Error::UnknownDocument(id));
        }
        let doc = self.doc(id)?;
        let log = self.docs.try_log(&id)?.ok_or(Error::UnknownDocument(id))?;
        let mut entries: Vec<&Logged> = log.entries().iter().collect();
        entries.sort_unstable_by_key(|e| e.hash);
        let signed = self.signed_of(id, &entries)?;
        // Only the signatures a store keeps: the others are covered by them.
        let at_hand: HashMap<ChangeHash, bool> = entries
            .iter()
            .zip(&signed)
            .map(|(e, sc)| (e.hash, sc.signature.is_some()))
            .collect();
        let history: Vec<crate::signed::HistoryEntry> = log
            .entries()
            .iter()
            .map(|e| crate::signed::HistoryEntry {
                hash: e.hash,
                signer: e.signer,
                seq: e.seq,
                deps: e.deps.clone(),
                signed: at_hand.get(&e.hash).copied().unwrap_or(false),
            })
            .collect();
        let keep = crate::signed::signatures_to_keep(&history);
        let sigs: Vec<Option<crate::identity::Signature>> = entries
            .iter()
            .zip(signed)
            .map(|(e, sc)| sc.signature.filter(|_| keep.contains(&e.hash)))
            .collect();
        Ok((doc.save(), crate::signed::pack_signatures(&sigs)))
    }

    /// How many accepted changes of `doc` are logged (0 for a document not held), without
    /// loading it if it was evicted.
    pub fn logged(&self, doc: DocId) -> usize {
        self.docs.logged(&doc)
    }

    /// Reads logged changes not kept in memory from this source from now on; set it before
    /// restoring with [`LoadedSnapshot::prepare_lazy`].
    pub fn set_source(&mut self, source: Arc<dyn ChangeSource>) {
        self.docs
            .set_source(Arc::new(docs::FromSource(source.clone())));
        self.source = Some(source);
    }

    /// The signed changes of log entries, from memory or (one batch) from the source.
    pub(super) fn signed_of(
        &self,
        doc: DocId,
        entries: &[&Logged],
    ) -> Result<Vec<SignedChange>, Error> {
        let missing: Vec<ChangeHash> = entries
            .iter()
            .filter(|e| e.signed.is_none())
            .map(|e| e.hash)
            .collect();
        let mut loaded = if missing.is_empty() {
            Vec::new()
        } else {
            let source = self.source.as_ref().ok_or_else(|| Error::Source {
                doc,
                reason: "no change source is set".into(),
            })?;
            let got = source
                .load(doc, &missing)
                .map_err(|reason| Error::Source { doc, reason })?;
            if got.len() != missing.len() || got.iter().any(|sc| sc.doc != doc) {
                return Err(Error::Source {
                    doc,
                    reason: format!("asked for {} changes, got {}", missing.len(), got.len()),
                });
            }
            got
        }
        .into_iter();
        Ok(entries
            .iter()
            .filter_map(|e| match &e.signed {
                Some(sc) => Some(sc.clone()),
                None => loaded.next(),
            })
            .collect())
    }
}
