//! Personal records held by a replica (see [`crate::personal`]): written by typed
//! operations or directly, received from peers of the audience, served only to them.

use crate::cert::Principal;
use crate::document::Document;
use crate::ids::{DocId, NodeId};
use crate::personal::{
    self, Accepted, Audience, PersonalData, PersonalError, PersonalRecord, scopes,
};
use crate::time::Timestamp;

use super::{Error, Replica};

impl Replica {
    /// The personal record kept for record `record` of `doc`, if this node holds one.
    pub fn personal(&self, doc: DocId, record: &str) -> Option<&PersonalRecord> {
        self.personal.get(&(doc, record.to_string()))
    }

    /// The personal data of `record` of `doc`, if held and not erased.
    pub fn personal_data(&self, doc: DocId, record: &str) -> Option<&PersonalData> {
        self.personal(doc, record).and_then(|r| r.data.as_ref())
    }

    /// Every personal record held, erasures included.
    pub fn personal_records(&self) -> impl Iterator<Item = &PersonalRecord> {
        self.personal.values()
    }

    /// Who reads record `record` of `doc` and who writes it, from the document's content.
    pub fn personal_audience(&self, doc: DocId, record: &str) -> Result<Audience, Error> {
        Ok(audience(self.doc(doc)?, record)?)
    }

    /// Every current principal of `node` at `now`: certificates that chain to the root,
    /// valid at `now` and not withdrawn by a revocation in force.
    pub fn readers(&self, node: &NodeId, now: Timestamp) -> Vec<Principal> {
        self.trust
            .principals_without(node, now, &self.withdrawn_of(node))
    }

    /// Keeps the personal data of a record this node just wrote (its own request, order or
    /// wish: this node's organisation is the writer by construction).
    pub(super) fn keep_own(
        &mut self,
        doc: DocId,
        record: String,
        data: PersonalData,
        at: Timestamp,
    ) -> PersonalRecord {
        let rec = PersonalRecord::sign(&self.keypair, doc, record.clone(), Some(data), at);
        self.personal.insert((doc, record), rec.clone());
        rec
    }

    /// Writes (`Some`) or erases (`None`) the personal data of `record` of `doc` as this
    /// node: data only by the record's writer organisation, an erasure by any organisation
    /// of the audience. An erased record stays erased.
    pub fn write_personal(
        &mut self,
        doc: DocId,
        record: &str,
        data: Option<PersonalData>,
        now: Timestamp,
    ) -> Result<PersonalRecord, Error> {
        let aud = self.personal_audience(doc, record)?;
        let mine: Vec<_> = self
            .my_principals(now)?
            .into_iter()
            .map(|p| p.scope)
            .collect();
        let what = if data.is_some() { "write" } else { "erase" };
        let allowed = match &data {
            Some(d) => {
                d.check()?;
                if d.label() != aud.kind {
                    return Err(PersonalError::WrongKind {
                        record: record.into(),
                        expected: aud.kind,
                        got: d.label(),
                    }
                    .into());
                }
                mine.contains(&aud.writer)
            }
            None => mine.iter().any(|s| aud.reads(s)),
        };
        if !allowed {
            return Err(PersonalError::NotAllowed {
                who: scopes(&mine),
                what,
                record: record.into(),
                audience: scopes(&aud.readers),
            }
            .into());
        }
        let key = (doc, record.to_string());
        if data.is_none() && !self.personal.contains_key(&key) {
            return Err(PersonalError::NotHeld {
                doc,
                record: record.into(),
            }
            .into());
        }
        let mut at = now;
        if let Some(old) = self.personal.get(&key) {
            if old.is_erased() {
                return Err(PersonalError::Erased {
                    record: record.into(),
                }
                .into());
            }
            // A new version is later than the one it replaces, whatever the clock says.
            at = at.max(Timestamp(old.at.0.saturating_add(1)));
        }
        let rec = PersonalRecord::sign(&self.keypair, doc, record.to_string(), data, at);
        self.personal.insert(key, rec.clone());
        Ok(rec)
    }

    /// Judges a personal record received from a peer: a valid signature, a record the
    /// document holds, this node in its audience (else it is not kept: nothing is stored
    /// outside the audience), the signer's current certificate naming the writer (data) or
    /// an audience organisation (erasure). Keeps it if it supersedes what is held.
    pub fn accept_personal(
        &mut self,
        rec: PersonalRecord,
        now: Timestamp,
    ) -> Result<Accepted, PersonalError> {
        rec.verify()?;
        let doc = self
            .docs
            .get(&rec.doc)
            .ok_or(PersonalError::UnknownRecord {
                doc: rec.doc,
                record: rec.record.chars().take(120).collect(),
            })?;
        let aud = audience(doc, &rec.record)?;
        let mine: Vec<_> = self
            .my_principals(now)
            .map(|ps| ps.into_iter().map(|p| p.scope).collect())
            .unwrap_or_default();
        if !mine.iter().any(|s| aud.reads(s)) {
            return Err(PersonalError::NotAudience {
                record: rec.record,
                audience: scopes(&aud.readers),
            });
        }
        let signer: Vec<_> = self
            .trust
            .principals_without(&rec.by, rec.at, &self.withdrawn_of(&rec.by))
            .into_iter()
            .map(|p| p.scope)
            .collect();
        let allowed = match &rec.data {
            Some(d) => {
                if d.label() != aud.kind {
                    return Err(PersonalError::WrongKind {
                        record: rec.record,
                        expected: aud.kind,
                        got: d.label(),
                    });
                }
                signer.contains(&aud.writer)
            }
            None => signer.iter().any(|s| aud.reads(s)),
        };
        if !allowed {
            let who = if signer.is_empty() {
                format!("key {} (no current certificate)", rec.by.short())
            } else {
                scopes(&signer)
            };
            return Err(PersonalError::NotAllowed {
                who,
                what: if rec.is_erased() { "erase" } else { "write" },
                record: rec.record,
                audience: scopes(&aud.readers),
            });
        }
        Ok(self.keep(rec))
    }

    /// Keeps `rec` if it supersedes what is held (no checks: for records this node stored
    /// itself, read back from its store).
    pub fn restore_personal(&mut self, rec: PersonalRecord) -> Accepted {
        self.keep(rec)
    }

    fn keep(&mut self, rec: PersonalRecord) -> Accepted {
        let key = (rec.doc, rec.record.clone());
        match self.personal.get(&key) {
            Some(old) if !rec.supersedes(old) => Accepted::Known,
            _ => {
                self.personal.insert(key, rec);
                Accepted::Stored
            }
        }
    }

    /// The personal records peer `node` may read at `now`: those whose audience holds one
    /// of its current principals. A peer with no current certificate reads none.
    pub fn personal_for(&self, node: &NodeId, now: Timestamp) -> Vec<&PersonalRecord> {
        let theirs: Vec<_> = self
            .readers(node, now)
            .into_iter()
            .map(|p| p.scope)
            .collect();
        if theirs.is_empty() {
            return Vec::new();
        }
        self.personal
            .values()
            .filter(|r| {
                self.docs
                    .get(&r.doc)
                    .and_then(|d| audience(d, &r.record).ok())
                    .is_some_and(|a| theirs.iter().any(|s| a.reads(s)))
            })
            .collect()
    }
}

/// The audience of record `record` (`map/key`) of `doc`: its kind derives it from the
/// document's content ([`crate::kind::Kind::audience`]).
pub(crate) fn audience(doc: &Document, record: &str) -> Result<Audience, personal::PersonalError> {
    let (map, key) = record.split_once('/').unwrap_or((record, ""));
    crate::kinds::of(doc.kind())
        .audience(doc, map, key)
        .unwrap_or_else(|| Err(personal::unknown_record(doc, map, key)))
}
