//! Local writes: creating documents and executing typed operations (planned by each
//! kind, authorized by its write policy, signed and recorded).

use super::*;

impl Replica {
    /// Creates a document owned by this node's organisation and returns its signed genesis.
    /// Registries, ledgers and wishes belong to a community and only it creates them; the
    /// federation document is created by the root.
    pub fn create(&mut self, new: NewDoc, now: Timestamp) -> Result<SignedChange, Error> {
        let me = self.me(now)?;
        self.created += 1;
        let owner = self.author.org.clone();
        let (header, initial) = new.genesis(owner)?;
        let mut header = DocHeader {
            created: now,
            nonce: self.created,
            ..header
        };
        crate::kind::authorize_genesis(kinds::of(header.kind), &header, &me)?;
        // A replica rebuilt from a log restarts the counter, and a caller may reuse an
        // incarnation: never reuse a genesis (the same id would silently replace the
        // existing document).
        let (doc, change) = loop {
            let (doc, change) =
                Document::create(&self.author, header.clone(), &initial, crate::kinds::layout)?;
            if !self.docs.contains_key(&doc.id()) && !self.carried.contains_key(&doc.id()) {
                break (doc, change);
            }
            self.created += 1;
            header.nonce = self.created;
        };
        let id = doc.id();
        let signed = SignedChange::sign(&self.keypair, id, change.raw_bytes())?;
        self.docs.insert(id, doc);
        self.record(id, &signed, &change);
        if self
            .docs
            .get(&id)
            .is_some_and(|d| d.kind() == DocKind::Federation)
        {
            self.federation_changed();
        }
        Ok(signed)
    }

    /// Whether [`Replica::create`] would create `new` at `now` — the same genesis and
    /// creation rule — without creating anything (a dry run).
    pub fn check_create(&self, new: NewDoc, now: Timestamp) -> Result<(), Error> {
        let me = self.me(now)?;
        let (header, _) = new.genesis(self.author.org.clone())?;
        let header = DocHeader {
            created: now,
            ..header
        };
        crate::kind::authorize_genesis(kinds::of(header.kind), &header, &me)?;
        Ok(())
    }

    /// Validates `op` against document `id` and, if valid and allowed by the write policy,
    /// commits it as one signed change.
    pub fn execute(&mut self, id: DocId, op: Op, now: Timestamp) -> Result<Written, Error> {
        let kind = op.kind();
        let (op, personal) = op.split_personal();
        let (puts, mut effect, message) = self.prepare(id, op, now, personal.as_ref())?;
        if let Some(p) = &personal {
            p.check()?;
        }
        let rows = effect.take_personal_rows();
        let doc = self.doc_of_kind(id, kind)?;
        let author = self.author.clone();
        // Never older than what it builds on (receivers refuse backdated changes): a clock
        // behind another node's dates the change at its newest dependency instead.
        let stamp = doc
            .heads()
            .iter()
            .filter_map(|h| self.time_of(id, h))
            .fold(now, |t, d| t.max(Timestamp(d)));
        let doc = self
            .docs
            .try_get_mut(&id)?
            .ok_or(Error::UnknownDocument(id))?;
        doc.set_author(&author);
        let change = doc.commit(stamp, &message, &puts)?;
        let signed = SignedChange::sign(&self.keypair, id, change.raw_bytes())?;
        self.record(id, &signed, &change);
        if kind == DocKind::Federation {
            self.federation_changed();
        }
        let personal = personal
            .zip(effect.personal_record())
            .map(|(data, record)| self.keep_own(id, record, data, stamp));
        let personal_rows = rows
            .into_iter()
            .map(|(record, data)| self.keep_own(id, record, data, stamp))
            .collect();
        Ok(Written {
            effect,
            change: signed,
            personal,
            personal_rows,
        })
    }

    /// What `op` would do on document `id` at `now` — validated and authorized exactly as
    /// [`Replica::execute`] does — without writing anything (a dry run).
    pub fn check(&self, id: DocId, op: Op, now: Timestamp) -> Result<Effect, Error> {
        let (op, personal) = op.split_personal();
        let mut effect = self
            .prepare(id, op, now, personal.as_ref())
            .map(|(_, effect, _)| effect)?;
        effect.take_personal_rows();
        if let Some(p) = &personal {
            p.check()?;
        }
        Ok(effect)
    }

    /// Plans `op` and checks it against the write policy, under each principal this node's
    /// key holds (a unit may be certified by two communities): the first that allows it
    /// wins; when none does, the first principal's error is returned.
    pub(super) fn prepare(
        &self,
        id: DocId,
        op: Op,
        now: Timestamp,
        personal: Option<&crate::personal::PersonalData>,
    ) -> Result<(Vec<Put>, Effect, String), Error> {
        let principals = self.my_principals(now)?;
        let mut first_err = None;
        for me in &principals {
            match self.prepare_as(id, op.clone(), now, me, personal) {
                Ok(planned) => return Ok(planned),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(
            first_err.unwrap_or(Error::NotCertified(CertError::NoCertificate {
                node: self.author.node.short(),
                root: self.trust.root().short(),
            })),
        )
    }

    pub(super) fn prepare_as(
        &self,
        id: DocId,
        op: Op,
        now: Timestamp,
        me: &Principal,
        personal: Option<&crate::personal::PersonalData>,
    ) -> Result<(Vec<Put>, Effect, String), Error> {
        let kind = op.kind();
        let doc = self.doc_of_kind(id, kind)?;
        let ctx = Ctx {
            author: &self.author,
            scope: &me.scope,
            now,
            district: &self.district,
            docs: &self.docs,
            keys: &self.keypair,
            personal,
            held: &self.personal,
            volunteer_known: kinds::volunteer_known,
            volunteer_active: kinds::volunteer_active,
        };
        let (puts, effect, message) = op.plan(doc, &ctx, |op| self.plan_federation(id, op, now))?;
        let writes: Vec<Write> = puts
            .iter()
            .map(|p| Write {
                map: p.map.to_string(),
                key: p.key.clone(),
                value: p.value.clone(),
            })
            .collect();
        crate::kind::authorize(
            kinds::of(kind),
            doc,
            &doc.heads(),
            me,
            &self.trust,
            now,
            &writes,
        )?;
        Ok((puts, effect, message))
    }

    /// Every principal this node's key holds at `now` for its organisation (without the
    /// certificates revoked from it), shortest chain first.
    pub fn my_principals(&self, now: Timestamp) -> Result<Vec<Principal>, Error> {
        let first = self.me(now)?;
        let mut all: Vec<Principal> = self
            .trust
            .principals_without(&self.author.node, now, &self.my_withdrawn())
            .into_iter()
            .filter(|p| p.is_root() || p.org.as_ref() == Some(&self.author.org))
            .collect();
        if all.is_empty() {
            all.push(first);
        }
        Ok(all)
    }

    pub(super) fn plan_federation(
        &self,
        id: DocId,
        op: FederationOp,
        now: Timestamp,
    ) -> Result<(Vec<Put>, Effect, String), Error> {
        let deny = |reason: String| {
            Error::Policy(PolicyError::Denied {
                who: self.author.org.to_string(),
                kind: DocKind::Federation.label(),
                map: "certs".into(),
                key: String::new(),
                reason,
            })
        };
        Ok(match op {
            FederationOp::Issue {
                subject,
                role,
                org,
                parent,
                name,
                not_before,
                not_after,
            } => {
                if not_after <= not_before {
                    return Err(deny("validity ends before it starts".into()));
                }
                let cert = crate::cert::Certificate::issue(
                    &self.keypair,
                    subject,
                    role,
                    org,
                    parent,
                    name,
                    not_before,
                    not_after,
                );
                let msg = format!("certify {} as {} {}", subject.short(), cert.role, cert.org);
                (
                    vec![Put::new("certs", federation::cert_key(&cert), &cert)],
                    Effect::Done,
                    msg,
                )
            }
            FederationOp::Revoke {
                subject,
                reason,
                certs,
            } => {
                let rev = Revocation {
                    subject,
                    certs: self.certs_to_revoke(id, subject, certs, now)?,
                    cutoff: self.cutoff_of(&subject),
                    reason,
                    by: self.author.node,
                    at: now,
                };
                let msg = format!(
                    "revoke {} certificate(s) of {} ({} cut-off entries)",
                    rev.certs.len(),
                    subject.short(),
                    rev.cutoff.len()
                );
                (
                    vec![Put::new(
                        "revocations",
                        federation::revocation_key(&rev),
                        &rev,
                    )],
                    Effect::Done,
                    msg,
                )
            }
            FederationOp::SetConfig(config) => {
                let _ = id;
                (
                    vec![Put::new("meta", "config", &config)],
                    Effect::Done,
                    "district settings".into(),
                )
            }
        })
    }

    /// The certificates of `subject` a revocation by this node withdraws: those named (each
    /// must be a certificate of `subject` in federation document `id` that this node may
    /// withdraw), or with `None` every such certificate this node may withdraw. Certificates
    /// this node already withdrew are left out; nothing left is an error.
    pub(super) fn certs_to_revoke(
        &self,
        id: DocId,
        subject: NodeId,
        named: Option<Vec<CertId>>,
        now: Timestamp,
    ) -> Result<Vec<CertId>, Error> {
        let me = self.author.node;
        let deny = |reason: String| {
            Error::Policy(PolicyError::Denied {
                who: self.author.org.to_string(),
                kind: DocKind::Federation.label(),
                map: "revocations".into(),
                key: subject.to_string(),
                reason,
            })
        };
        if subject == *self.trust.root() {
            return Err(deny(
                "the root key cannot be revoked (a compromised root means a new district)".into(),
            ));
        }
        let view = federation::Federation::new(self.doc_of_kind(id, DocKind::Federation)?);
        let of_subject = view.certificates_of(&subject);
        let done: BTreeSet<CertId> = view
            .revocation_records()
            .into_iter()
            .filter(|(_, r)| r.by == me && r.subject == subject)
            .flat_map(|(_, r)| r.certs)
            .collect();
        let chosen: BTreeSet<CertId> = match named {
            Some(list) => {
                if list.is_empty() {
                    return Err(deny("name at least one certificate to revoke".into()));
                }
                for c in &list {
                    let Some(cert) = of_subject.iter().find(|x| x.id() == *c) else {
                        let other = view.certificates().into_iter().find(|x| x.id() == *c);
                        return Err(deny(match other {
                            Some(o) => format!(
                                "certificate {} is a certificate of key {}, not of key {}",
                                c.short(),
                                o.subject.short(),
                                subject.short()
                            ),
                            None => {
                                format!("no certificate {} in the federation document", c.short())
                            }
                        }));
                    };
                    self.trust.may_withdraw(&me, cert, now).map_err(deny)?;
                }
                list.into_iter().collect()
            }
            None => {
                let mine: BTreeSet<CertId> = of_subject
                    .iter()
                    .filter(|c| self.trust.may_withdraw(&me, c, now).is_ok())
                    .map(crate::cert::Certificate::id)
                    .collect();
                if mine.is_empty() {
                    return Err(deny(format!(
                        "key {} may not revoke key {}: it issued none of its certificates and \
                         is above none of them",
                        me.short(),
                        subject.short()
                    )));
                }
                mine
            }
        };
        let new: Vec<CertId> = chosen.difference(&done).copied().collect();
        if new.is_empty() {
            return Err(deny(format!(
                "key {} already revoked {} of key {}",
                me.short(),
                if chosen.len() == 1 {
                    "this certificate"
                } else {
                    "these certificates"
                },
                subject.short()
            )));
        }
        Ok(new)
    }

    /// What this replica has accepted from `subject`: per document and actor, the last seq
    /// and its hash.
    pub(super) fn cutoff_of(&self, subject: &NodeId) -> Vec<crate::cert::CutoffEntry> {
        let mut last: BTreeMap<(DocId, Vec<u8>), (u64, [u8; 32])> = BTreeMap::new();
        let of_subject = |actor: &[u8]| actor.len() == 40 && actor[..32] == subject.0;
        for doc in self.docs.keys() {
            // An evicted document is not loaded: its summary keeps each actor's last change.
            match self.docs.log_state(doc) {
                Some(LogState::Resident(log)) => {
                    for e in log.entries() {
                        if of_subject(&e.actor) {
                            let slot = last.entry((*doc, e.actor.clone())).or_insert((0, [0; 32]));
                            if e.seq >= slot.0 {
                                *slot = (e.seq, e.signed_hash().0);
                            }
                        }
                    }
                }
                Some(LogState::Evicted(summary)) => {
                    for (actor, seq, hash) in &summary.last {
                        if of_subject(actor) {
                            last.insert((*doc, actor.to_vec()), (*seq, hash.0));
                        }
                    }
                }
                None => {}
            }
        }
        last.into_iter()
            .map(|((doc, actor), (seq, hash))| crate::cert::CutoffEntry {
                doc,
                actor,
                seq,
                hash,
            })
            .collect()
    }

    /// Logs a change just applied to document `id` (held and resident: it was just changed).
    pub(super) fn record(&mut self, id: DocId, signed: &SignedChange, change: &Change) {
        self.vouched.remove(&change.hash());
        self.touch(change.hash(), id);
        self.refresh_catalog(id);
        let entry = Logged {
            signed: Some(signed.clone()),
            signer: signed.signer,
            hash: change.hash(),
            actor: change.actor_id().to_bytes().to_vec(),
            seq: change.seq(),
            time: change.timestamp(),
            deps: change.deps().to_vec(),
        };
        // The document was just changed, so it is held and resident: this cannot fail.
        if let Ok(Some(log)) = self.docs.try_log_mut(&id) {
            log.push(entry);
        }
    }

    pub(super) fn refresh_catalog(&mut self, id: DocId) {
        match self.docs.heads(&id) {
            Some(heads) => {
                self.catalog.insert(id, heads_digest(&heads));
            }
            None => {
                self.catalog.remove(&id);
            }
        }
    }
}
