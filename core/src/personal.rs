//! Personal data: kept out of replicated documents, held and served only within its audience.
//!
//! A booker's name and contact, a household, a resident named in a wish or problem and a
//! volunteer's name, phone and ID number are **personal records**, not document records.
//! The document holds only a public view (a masked name such as `王**`, a masked household
//! such as `3-*-*`); the personal record sits beside it, keyed by the document and the
//! record it belongs to (`requests/<booking>`, `orders/<order>`, `items/<wish>`,
//! `volunteers/<volunteer>`), signed by its writer.
//!
//! * **Audience.** Who may read a record is derived from the document it belongs to, never
//!   from what a peer claims ([`crate::kind::Kind::audience`]): the resource owner and the requesting
//!   organisation for a booker; the kitchen operator and the placing organisation for a
//!   household; the posting community and the organisations assigned to the wish for a
//!   resident; the home community for a volunteer. Streets and the root are *not* in the
//!   audience.
//! * **Held only by the audience.** A node stores a record only when one of its own
//!   principals is in the audience ([`crate::Replica::accept_personal`]) and serves one
//!   only to a peer whose current (unrevoked, unexpired) principal is
//!   ([`crate::Replica::personal_for`]). Relays never carry personal records.
//! * **Erasable.** Any audience member may erase a record: the erasure is a signed record
//!   without data that supersedes every version, travels like one, and stays erased.
//!   The document's history — ids, statuses, balances — is untouched, as it never held the
//!   data.

use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::identity::{Keypair, Signature, verify};
use crate::ids::{DocId, NodeId, Scope};
use crate::time::Timestamp;

/// Longest field of personal data, in characters.
pub const MAX_FIELD_CHARS: usize = 200;
/// Largest encoded personal record.
pub const MAX_RECORD_BYTES: usize = 4096;

/// The personal data of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PersonalData {
    /// A booking's responsible person (at `requests/<booking>` of a resource).
    Booker {
        /// Full name.
        name: String,
        /// Phone or other contact.
        contact: Option<String>,
    },
    /// A kitchen order's household (at `orders/<order>` of a kitchen).
    Household {
        /// E.g. "3-2-401" (building-unit-flat).
        household: String,
    },
    /// The resident a wish, offer, suggestion or problem is about (at `items/<wish>`).
    Resident {
        /// Full name.
        name: String,
        /// Phone or other contact.
        contact: Option<String>,
        /// Home address.
        address: Option<String>,
    },
    /// A volunteer's identity (at `volunteers/<volunteer>` of the home community's volunteer
    /// registry — or, for a volunteer registered before the registry, of its ledger).
    Volunteer {
        /// Full name.
        name: String,
        /// Phone.
        phone: Option<String>,
        /// Resident ID number.
        id_number: Option<String>,
    },
}

impl PersonalData {
    /// The kind's label, as in the serialized `kind`.
    pub fn label(&self) -> &'static str {
        match self {
            PersonalData::Booker { .. } => "booker",
            PersonalData::Household { .. } => "household",
            PersonalData::Resident { .. } => "resident",
            PersonalData::Volunteer { .. } => "volunteer",
        }
    }

    /// Checks required fields and lengths.
    pub fn check(&self) -> Result<(), PersonalError> {
        let fields: Vec<(&'static str, Option<&String>, bool)> = match self {
            PersonalData::Booker { name, contact } => {
                vec![
                    ("name", Some(name), true),
                    ("contact", contact.as_ref(), false),
                ]
            }
            PersonalData::Household { household } => vec![("household", Some(household), true)],
            PersonalData::Resident {
                name,
                contact,
                address,
            } => vec![
                ("name", Some(name), true),
                ("contact", contact.as_ref(), false),
                ("address", address.as_ref(), false),
            ],
            PersonalData::Volunteer {
                name,
                phone,
                id_number,
            } => vec![
                ("name", Some(name), true),
                ("phone", phone.as_ref(), false),
                ("id_number", id_number.as_ref(), false),
            ],
        };
        for (field, v, required) in fields {
            match v {
                Some(v) if required && v.trim().is_empty() => {
                    return Err(PersonalError::EmptyField { field });
                }
                Some(v) if v.chars().count() > MAX_FIELD_CHARS => {
                    return Err(PersonalError::FieldTooLong {
                        field,
                        max: MAX_FIELD_CHARS,
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A name's public view: its first character, the rest masked — `王小红` → `王**`,
/// `Li Ming` → `L. M.` (each word's initial). Masked views are fixed points
/// (`mask_name(mask_name(x)) == mask_name(x)`), which lets receivers check that a document
/// holds only the public view.
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    let latin = name
        .chars()
        .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '.' || c == '-' || c == '\'');
    if latin && !name.is_empty() {
        return name
            .split_whitespace()
            .filter_map(|w| w.chars().find(|c| c.is_ascii_alphabetic()))
            .map(|c| format!("{}.", c.to_ascii_uppercase()))
            .collect::<Vec<_>>()
            .join(" ");
    }
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first)
            .chain(chars.filter(|c| !c.is_whitespace()).map(|_| '*'))
            .collect(),
        None => String::new(),
    }
}

/// A household's public view: the building kept, the rest masked — `3-2-401` → `3-*-*`.
/// A fixed point like [`mask_name`].
pub fn mask_household(household: &str) -> String {
    let mut parts = household.trim().split('-');
    let first = parts.next().unwrap_or_default();
    std::iter::once(first.to_string())
        .chain(parts.map(|_| "*".to_string()))
        .collect::<Vec<_>>()
        .join("-")
}

/// Who reads a personal record and who writes its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience {
    /// The organisations that may read (and erase) it.
    pub readers: Vec<Scope>,
    /// The organisation whose nodes write its data.
    pub writer: Scope,
    /// The kind of data the record holds.
    pub kind: &'static str,
}

impl Audience {
    pub(crate) fn new(mut readers: Vec<Scope>, writer: Scope, kind: &'static str) -> Self {
        readers.sort();
        readers.dedup();
        Audience {
            readers,
            writer,
            kind,
        }
    }
    /// A resource owner and the organisation `by` that writes the record.
    pub(crate) fn owner_and(owner: Scope, by: Scope, kind: &'static str) -> Self {
        Audience::new(vec![owner, by.clone()], by, kind)
    }
    /// Whether `scope` is in the audience.
    pub fn reads(&self, scope: &Scope) -> bool {
        self.readers.contains(scope)
    }
}

/// The error for a record `map/key` of `doc` that holds no personal data.
pub(crate) fn unknown_record(doc: &Document, map: &str, key: &str) -> PersonalError {
    PersonalError::UnknownRecord {
        doc: doc.id(),
        record: format!("{map}/{key}").chars().take(120).collect(),
    }
}

/// `key` parsed as `K` when it is `K`'s canonical form (one record has one key).
pub(crate) fn canonical<K: std::str::FromStr + std::fmt::Display>(key: &str) -> Option<K> {
    key.parse::<K>().ok().filter(|k| k.to_string() == key)
}

/// A signed personal record; `data: None` is an erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalRecord {
    /// The document it belongs to.
    pub doc: DocId,
    /// The record of that document, `map/key`.
    pub record: String,
    /// The data; `None` once erased.
    pub data: Option<PersonalData>,
    /// The signing key.
    pub by: NodeId,
    /// The signer's clock.
    pub at: Timestamp,
    /// Signature of `by` over [`PersonalRecord::signed_bytes`].
    pub sig: Signature,
}

#[derive(Serialize)]
struct Unsigned<'a> {
    doc: &'a DocId,
    record: &'a str,
    data: &'a Option<PersonalData>,
    by: &'a NodeId,
    at: Timestamp,
}

impl PersonalRecord {
    /// Signs a record as `keypair`.
    pub fn sign(
        keypair: &Keypair,
        doc: DocId,
        record: String,
        data: Option<PersonalData>,
        at: Timestamp,
    ) -> Self {
        let by = keypair.node_id();
        let bytes = Self::signed_bytes_of(&doc, &record, &data, &by, at);
        let sig = keypair.sign(&bytes);
        PersonalRecord {
            doc,
            record,
            data,
            by,
            at,
            sig,
        }
    }

    fn signed_bytes_of(
        doc: &DocId,
        record: &str,
        data: &Option<PersonalData>,
        by: &NodeId,
        at: Timestamp,
    ) -> Vec<u8> {
        let mut out = b"linli/personal/1\0".to_vec();
        // Invariant: serializing plain strings, ids and enums to JSON cannot fail.
        out.extend(
            serde_json::to_vec(&Unsigned {
                doc,
                record,
                data,
                by,
                at,
            })
            .unwrap_or_default(),
        );
        out
    }

    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        Self::signed_bytes_of(&self.doc, &self.record, &self.data, &self.by, self.at)
    }

    /// Checks the signature, the record key's length and the data's shape.
    pub fn verify(&self) -> Result<(), PersonalError> {
        if self.record.len() > 200 {
            return Err(PersonalError::Malformed("record key too long".into()));
        }
        if let Some(d) = &self.data {
            d.check()?;
        }
        verify(&self.by, &self.signed_bytes(), &self.sig).map_err(|_| PersonalError::BadSignature {
            record: self.record.clone(),
            by: self.by.short(),
        })
    }

    /// Whether this is an erasure.
    pub fn is_erased(&self) -> bool {
        self.data.is_none()
    }

    /// The encoding on the wire and in the store.
    pub fn encode(&self) -> Vec<u8> {
        // Invariant: as in `signed_bytes_of`.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes (bounded); the signature is not checked here.
    pub fn decode(bytes: &[u8]) -> Result<Self, PersonalError> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(PersonalError::Malformed(format!(
                "a personal record of {} bytes exceeds {MAX_RECORD_BYTES}",
                bytes.len()
            )));
        }
        serde_json::from_slice(bytes).map_err(|e| PersonalError::Malformed(e.to_string()))
    }

    /// A digest of the encoded record (what peers compare).
    pub fn digest(&self) -> [u8; 32] {
        *blake3::hash(&self.encode()).as_bytes()
    }

    /// Whether this version replaces `other` of the same record: an erasure replaces any
    /// data and is never replaced by data; otherwise the later one, ties broken by digest.
    pub fn supersedes(&self, other: &PersonalRecord) -> bool {
        match (self.is_erased(), other.is_erased()) {
            (true, false) => true,
            (false, true) => false,
            _ => (self.at, self.digest()) > (other.at, other.digest()),
        }
    }
}

/// What became of a received personal record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Stored (new, or replacing an older version).
    Stored,
    /// Already held, or older than what is held (or data after an erasure).
    Known,
}

/// Errors of personal records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonalError {
    /// A required field is empty.
    #[error("{field} may not be empty")]
    EmptyField {
        /// Which.
        field: &'static str,
    },
    /// A field is too long.
    #[error("{field} is longer than {max} characters")]
    FieldTooLong {
        /// Which.
        field: &'static str,
        /// The limit.
        max: usize,
    },
    /// The document holds no such record, or its kind holds no personal data there.
    #[error("document {doc} has no record {record:?} that personal data belongs to")]
    UnknownRecord {
        /// The document.
        doc: DocId,
        /// The record asked for.
        record: String,
    },
    /// A volunteer's identity belongs to its home community's ledger.
    #[error("volunteer {volunteer} is not of community {community}")]
    NotHome {
        /// The volunteer.
        volunteer: String,
        /// The ledger's community.
        community: String,
    },
    /// The data is of another kind than the record holds.
    #[error("record {record} holds {expected} data, not {got}")]
    WrongKind {
        /// The record.
        record: String,
        /// What it holds.
        expected: &'static str,
        /// What was given.
        got: &'static str,
    },
    /// The signature does not verify.
    #[error("personal record {record} has a bad signature (key {by})")]
    BadSignature {
        /// The record.
        record: String,
        /// The claimed signer.
        by: String,
    },
    /// The signer may not write this record.
    #[error("{who} may not {what} personal record {record} (audience: {audience})")]
    NotAllowed {
        /// The signer, by scope or key.
        who: String,
        /// "write" or "erase".
        what: &'static str,
        /// The record.
        record: String,
        /// Its audience.
        audience: String,
    },
    /// This node is not in the record's audience: it may not hold it.
    #[error("this node is not in the audience of personal record {record} ({audience})")]
    NotAudience {
        /// The record.
        record: String,
        /// Its audience.
        audience: String,
    },
    /// This node holds no personal data for the record (nothing to erase).
    #[error("this node holds no personal data for record {record} of document {doc}")]
    NotHeld {
        /// The document.
        doc: DocId,
        /// The record.
        record: String,
    },
    /// The record is erased; it cannot be written again.
    #[error("personal record {record} was erased")]
    Erased {
        /// The record.
        record: String,
    },
    /// Bytes that do not decode.
    #[error("malformed personal record: {0}")]
    Malformed(String),
}

/// Lists scopes for messages.
pub(crate) fn scopes(s: &[Scope]) -> String {
    s.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A resident as given with a posted wish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resident {
    /// Full name.
    pub name: String,
    /// Phone or other contact.
    #[serde(default)]
    pub contact: Option<String>,
    /// Home address.
    #[serde(default)]
    pub address: Option<String>,
}

impl From<Resident> for PersonalData {
    fn from(r: Resident) -> Self {
        PersonalData::Resident {
            name: r.name,
            contact: r.contact,
            address: r.address,
        }
    }
}

/// Most digests or records in one exchange message.
pub const MAX_EXCHANGE_ITEMS: usize = 100_000;

/// One step of the personal-record exchange between two nodes (carried as messages of the
/// node's request-response protocol). Each side offers only what the other may read; a
/// responder answers a want only with records the initiator may read, whatever it asks.
///
/// 1. initiator → `Summary` of the records it holds that the responder may read;
/// 2. responder → `Same` when its own set for the initiator has that summary (nothing to
///    do), else `Digests` of that set;
/// 3. initiator → `Trade`: the digests it lacks, and the records the responder lacks;
/// 4. responder → `Records` wanted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum Exchange {
    /// The summary (hex) of a set of digests ([`summary`]).
    Summary {
        /// Hex of the summary.
        summary: String,
    },
    /// Both sides hold the same set.
    Same,
    /// The digests (hex) of the responder's set.
    Digests {
        /// Hex digests.
        digests: Vec<String>,
    },
    /// What the initiator wants, and what it gives.
    Trade {
        /// Hex digests of records wanted.
        want: Vec<String>,
        /// Records the responder lacks.
        push: Vec<PersonalRecord>,
    },
    /// Records answering a want.
    Records {
        /// The records.
        records: Vec<PersonalRecord>,
    },
}

impl Exchange {
    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        // Invariant: as in `PersonalRecord::encode`.
        serde_json::to_vec(self).unwrap_or_default()
    }
    /// Decodes, bounding the number of items and each record's size.
    pub fn decode(bytes: &[u8]) -> Result<Self, PersonalError> {
        let m: Exchange =
            serde_json::from_slice(bytes).map_err(|e| PersonalError::Malformed(e.to_string()))?;
        let n = match &m {
            Exchange::Digests { digests } => digests.len(),
            Exchange::Trade { want, push } => want.len() + push.len(),
            Exchange::Records { records } => records.len(),
            _ => 0,
        };
        if n > MAX_EXCHANGE_ITEMS {
            return Err(PersonalError::Malformed(format!(
                "{n} items in one exchange message (limit {MAX_EXCHANGE_ITEMS})"
            )));
        }
        let records = match &m {
            Exchange::Trade { push, .. } => push.as_slice(),
            Exchange::Records { records } => records.as_slice(),
            _ => &[],
        };
        if let Some(r) = records.iter().find(|r| r.encode().len() > MAX_RECORD_BYTES) {
            return Err(PersonalError::Malformed(format!(
                "personal record {} exceeds {MAX_RECORD_BYTES} bytes",
                r.record.chars().take(80).collect::<String>()
            )));
        }
        Ok(m)
    }
}

/// The hex digest of a record, as exchanged.
pub fn digest_hex(r: &PersonalRecord) -> String {
    hex::encode(r.digest())
}

/// The summary of a set of hex digests: BLAKE3 over them in sorted order.
pub fn summary<'a>(digests: impl IntoIterator<Item = &'a String>) -> String {
    let mut all: Vec<&String> = digests.into_iter().collect();
    all.sort();
    all.dedup();
    let mut h = blake3::Hasher::new();
    for d in all {
        h.update(d.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize().as_bytes())
}

impl PersonalError {
    /// Whether the error proves the sender forged or misbehaved (as opposed to a record this
    /// node cannot judge yet, e.g. its document has not arrived).
    pub fn is_forgery(&self) -> bool {
        matches!(
            self,
            PersonalError::BadSignature { .. }
                | PersonalError::NotAllowed { .. }
                | PersonalError::Malformed(_)
                | PersonalError::WrongKind { .. }
                | PersonalError::EmptyField { .. }
                | PersonalError::FieldTooLong { .. }
        )
    }
}

impl PersonalError {
    /// The class of this error.
    pub fn class(&self) -> crate::class::ErrorClass {
        use PersonalError as E;
        match self {
            E::Malformed(_) | E::BadSignature { .. } => crate::class::ErrorClass::Malformed,
            E::UnknownRecord { .. } | E::NotHeld { .. } => crate::class::ErrorClass::NotFound,
            E::NotAllowed { .. } | E::NotAudience { .. } => crate::class::ErrorClass::Unauthorized,
            E::Erased { .. } => crate::class::ErrorClass::Conflict,
            E::EmptyField { .. }
            | E::FieldTooLong { .. }
            | E::WrongKind { .. }
            | E::NotHome { .. } => crate::class::ErrorClass::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_are_fixed_points_and_hide_the_rest() {
        for (name, masked) in [
            ("王小红", "王**"),
            ("李明", "李*"),
            ("Li Ming", "L. M."),
            ("  Zhang  ", "Z."),
            ("欧阳 娜娜", "欧***"),
        ] {
            assert_eq!(mask_name(name), masked, "{name}");
            assert_eq!(mask_name(masked), masked, "{masked}");
        }
        assert_eq!(mask_household("3-2-401"), "3-*-*");
        assert_eq!(mask_household("3-*-*"), "3-*-*");
        assert_eq!(mask_household("401"), "401");
    }

    #[test]
    fn signature_covers_every_field() {
        let kp = Keypair::from_secret(&[7; 32]);
        let rec = PersonalRecord::sign(
            &kp,
            DocId([1; 32]),
            "requests/dianye:1".into(),
            Some(PersonalData::Booker {
                name: "王小红".into(),
                contact: Some("13800138000".into()),
            }),
            Timestamp(5),
        );
        rec.verify().expect("valid");
        let decoded = PersonalRecord::decode(&rec.encode()).expect("decodes");
        assert_eq!(decoded, rec);
        let mut other = rec.clone();
        other.record = "requests/dianye:2".into();
        assert!(matches!(
            other.verify(),
            Err(PersonalError::BadSignature { .. })
        ));
        let mut other = rec.clone();
        other.data = Some(PersonalData::Booker {
            name: "王小红".into(),
            contact: Some("13900000000".into()),
        });
        assert!(other.verify().is_err());
        let mut other = rec.clone();
        other.at = Timestamp(6);
        assert!(other.verify().is_err());
        let erased = PersonalRecord::sign(&kp, rec.doc, rec.record.clone(), None, Timestamp(1));
        assert!(erased.supersedes(&rec), "an erasure wins even when older");
        assert!(!rec.supersedes(&erased));
        assert!(PersonalRecord::decode(&vec![b' '; MAX_RECORD_BYTES + 1]).is_err());
    }

    #[test]
    fn data_shape_is_checked() {
        let long = "x".repeat(MAX_FIELD_CHARS + 1);
        assert!(matches!(
            PersonalData::Booker {
                name: " ".into(),
                contact: None
            }
            .check(),
            Err(PersonalError::EmptyField { field: "name" })
        ));
        assert!(matches!(
            PersonalData::Volunteer {
                name: "a".into(),
                phone: Some(long),
                id_number: None
            }
            .check(),
            Err(PersonalError::FieldTooLong { field: "phone", .. })
        ));
    }
}
