//! Typed identifiers.
//!
//! Keys and hashes are fixed-size byte arrays with a hex text form; organisations are short
//! validated codes; records inside documents are named by the organisation that created them
//! plus a counter ([`RecordId`]), wrapped in one newtype per record kind so a booking id can
//! never be passed where a ledger entry id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a text form of an identifier could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// A hex identifier had the wrong length or a non-hex character.
    #[error("{what} must be {len} hex characters, got {got:?}")]
    BadHex {
        /// Which identifier was being parsed.
        what: &'static str,
        /// Expected number of hex characters.
        len: usize,
        /// The offending text (shortened).
        got: String,
    },
    /// An organisation code was empty, too long or had a forbidden character.
    #[error(
        "organisation code {0:?} is invalid: use 1-48 characters from a-z, 0-9, '-' and '_', starting with a letter or digit"
    )]
    BadOrg(String),
    /// A scope was not of the form `street/community[/unit]` (or `root`).
    #[error(
        "scope {0:?} is invalid: expected up to four organisation codes from the root down, e.g. `beishi/dianye`"
    )]
    BadScope(String),
    /// A record id was not of the form `org:counter`.
    #[error("record id {0:?} is invalid: expected `org:counter`, e.g. `dianye:12`")]
    BadRecord(String),
}

fn parse_hex32(what: &'static str, s: &str) -> Result<[u8; 32], IdError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| IdError::BadHex {
        what,
        len: 64,
        got: s.chars().take(70).collect(),
    })?;
    Ok(out)
}

/// A JSON schema for a type that serializes as a string in a given form.
macro_rules! string_schema {
    ($name:ident, $desc:expr, $pattern:expr) => {
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "description": $desc,
                    "pattern": $pattern,
                })
            }
        }
    };
}

macro_rules! hex_id {
    ($(#[$m:meta])* $name:ident, $what:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
            /// First 8 hex characters, for logs and tables.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }
        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                parse_hex32($what, s).map(Self)
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
        string_schema!($name, concat!("A ", $what, ": 64 hex digits."), "^[0-9a-f]{64}$");
    };
}

hex_id!(
    /// A node's ed25519 public key: the identity of a node.
    NodeId,
    "node id"
);
hex_id!(
    /// A document's id: the hash of its genesis change.
    DocId,
    "document id"
);

hex_id!(
    /// A certificate's id: BLAKE3 of its signed bytes followed by its signature
    /// ([`crate::cert::Certificate::id`]). Revocations name the certificates they withdraw by
    /// it.
    CertId,
    "certificate id"
);

impl From<automerge::ChangeHash> for DocId {
    fn from(h: automerge::ChangeHash) -> Self {
        DocId(h.0)
    }
}

/// Code of an organisation: a street, community, co-building unit or partner
/// (e.g. `heping`, `dianye`, `state-grid-ln`). Lower-case ASCII so that it is safe inside
/// record keys and file names.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrgId(String);

impl OrgId {
    /// Validates and wraps an organisation code.
    pub fn new(code: impl Into<String>) -> Result<Self, IdError> {
        let code = code.into();
        let ok = !code.is_empty()
            && code.len() <= 48
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && code
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(code))
        } else {
            Err(IdError::BadOrg(code))
        }
    }
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgId({})", self.0)
    }
}
impl FromStr for OrgId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::new(s)
    }
}
string_schema!(
    OrgId,
    "An organisation code, unique within its parent: lowercase letters, digits, '-' and '_' (e.g. `dianye`, `state-grid`).",
    "^[a-z0-9][a-z0-9_-]*$"
);
string_schema!(
    Scope,
    "A certified organisation by its whole chain: codes joined by '/' (e.g. `beishi/dianye/state-grid`).",
    "^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$"
);

impl Serialize for OrgId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
impl<'de> Deserialize<'de> for OrgId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Length of a record id's tag: [`TAG_KEY_BYTES`] of the numbering node's key, then bytes of
/// its incarnation.
pub const TAG_LEN: usize = 8;
/// How many bytes of a tag are the numbering node's key (checked by the write policy: finding
/// a second key with the same 48-bit prefix is out of reach).
pub const TAG_KEY_BYTES: usize = 6;

/// A record inside a document: the organisation that created it, the node incarnation that
/// numbered it (a tag: the first [`TAG_KEY_BYTES`] bytes of the node's key, which the write
/// policy checks against the signer, then the first bytes of the store incarnation, so two
/// workstations of one office — or one node before and after a restore from a backup —
/// never pick the same number), and that incarnation's counter: `org@tag:n`, or `org:n` for
/// ids written by hand (volunteers, test fixtures).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId {
    /// The organisation that created the record.
    pub org: OrgId,
    /// The first bytes of the numbering node's key.
    pub tag: Option<[u8; TAG_LEN]>,
    /// Its counter, starting at 1.
    pub n: u64,
}

impl RecordId {
    /// Builds an untagged record id (`org:n`).
    pub fn new(org: OrgId, n: u64) -> Self {
        Self { org, tag: None, n }
    }
    /// Whether this id was numbered by the node with key `node` (its tag starts with the
    /// key's first [`TAG_KEY_BYTES`] bytes). Untagged ids belong to no node.
    pub fn numbered_by(&self, node: &NodeId) -> bool {
        self.tag
            .is_some_and(|t| t[..TAG_KEY_BYTES] == node.as_bytes()[..TAG_KEY_BYTES])
    }
    /// The `org` or `org@tag` part.
    pub fn writer(&self) -> String {
        match &self.tag {
            Some(t) => format!("{}@{}", self.org, hex::encode(t)),
            None => self.org.to_string(),
        }
    }
}
impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.writer(), self.n)
    }
}
impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}
impl FromStr for RecordId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let bad = || IdError::BadRecord(s.chars().take(80).collect());
        let (writer, n) = s.split_once(':').ok_or_else(bad)?;
        let (org, tag) = match writer.split_once('@') {
            Some((o, t)) => {
                let lower = t
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                let mut tag = [0u8; TAG_LEN];
                if !lower || hex::decode_to_slice(t, &mut tag).is_err() {
                    return Err(bad());
                }
                (o, Some(tag))
            }
            None => (writer, None),
        };
        let org = OrgId::new(org).map_err(|_| bad())?;
        if n.is_empty() || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n = n.parse().map_err(|_| bad())?;
        Ok(Self { org, tag, n })
    }
}

/// A certified organisation named by its whole chain of organisation codes, from the one the
/// district root certified down to it: `beishi` (a street), `beishi/dianye` (a community),
/// `beishi/dianye/state-grid` (a unit of that community), `heping-civil` (a body the root
/// certified for the district). Codes are unique only within their parent, so every write
/// policy compares scopes — never an [`OrgId`] alone — and records that name an
/// organisation for authority (a decision's arbiter, a delegate, a request's requester …)
/// name it by its scope. The root's scope is empty (text form `root`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Scope(Vec<OrgId>);

/// Longest scope: a chain of three certificates, the first of which (the root's) may name a
/// parent as well.
pub const MAX_SCOPE_LEN: usize = 4;

impl Scope {
    /// The root's (empty) scope.
    pub fn root() -> Self {
        Self(Vec::new())
    }
    /// A scope from its organisations, outermost first (at most [`MAX_SCOPE_LEN`]).
    pub fn new(orgs: Vec<OrgId>) -> Result<Self, IdError> {
        if orgs.len() > MAX_SCOPE_LEN {
            return Err(IdError::BadScope(
                orgs.iter().map(OrgId::as_str).collect::<Vec<_>>().join("/"),
            ));
        }
        Ok(Self(orgs))
    }
    /// Whether this is the root's scope.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
    /// The organisation itself (the last code); `None` for the root.
    pub fn org(&self) -> Option<&OrgId> {
        self.0.last()
    }
    /// The organisations, outermost first.
    pub fn orgs(&self) -> &[OrgId] {
        &self.0
    }
    /// Number of organisations.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether it names no organisation (the root).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The scope of the organisation above this one (`beishi/dianye` → `beishi`).
    pub fn parent(&self) -> Option<Scope> {
        (!self.0.is_empty()).then(|| Scope(self.0[..self.0.len() - 1].to_vec()))
    }
    /// The scope of `org` inside this one (`beishi` + `dianye` → `beishi/dianye`).
    pub fn child(&self, org: OrgId) -> Scope {
        let mut v = self.0.clone();
        v.push(org);
        Scope(v)
    }
    /// Whether `self` is `other` or lies below it (`beishi/dianye/x` is within
    /// `beishi/dianye`); everything is within the root.
    pub fn is_within(&self, other: &Scope) -> bool {
        self.0.len() >= other.0.len() && self.0[..other.0.len()] == other.0[..]
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("root");
        }
        for (i, o) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(o.as_str())?;
        }
        Ok(())
    }
}
impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({self})")
    }
}
impl FromStr for Scope {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        if s == "root" {
            return Ok(Self::root());
        }
        let bad = || IdError::BadScope(s.chars().take(160).collect());
        let orgs = s
            .split('/')
            .map(|o| OrgId::new(o).map_err(|_| bad()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(orgs).map_err(|_| bad())
    }
}
impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}
impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

macro_rules! record_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub RecordId);

        impl $name {
            /// Builds the id from an organisation and its counter.
            pub fn new(org: OrgId, n: u64) -> Self {
                Self(RecordId::new(org, n))
            }
            /// The organisation that created the record.
            pub fn org(&self) -> &OrgId {
                &self.0.org
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                s.parse().map(Self)
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
            }
        }
        string_schema!(
            $name,
            concat!(
                "A ",
                stringify!($name),
                ": `org@tag:n` (numbered by a node) or `org:n`, e.g. `dianye:7`."
            ),
            "^[a-z0-9-]+(@[0-9a-f]{16})?:[0-9]+$"
        );
    };
}

record_id!(
    /// A compound (小区 / 院落) in a community's registry.
    CompoundId
);
record_id!(
    /// An inspection of a compound against the district checklist.
    InspectionId
);
record_id!(
    /// A ledger entry: `issuer:counter`.
    EntryId
);
record_id!(
    /// A volunteer: the home community and its counter. Only the pseudonymous id travels;
    /// name and phone stay on the home community's node.
    VolunteerId
);
record_id!(
    /// A booking request on a resource, numbered by the requesting organisation.
    BookingId
);
record_id!(
    /// A delegation of a time block of a resource.
    DelegationId
);
record_id!(
    /// A kitchen meal order.
    OrderId
);
record_id!(
    /// A micro-wish, service-menu offer, suggestion or problem.
    WishId
);
record_id!(
    /// A claim on a wish or offer, numbered by the claiming organisation.
    ClaimId
);
record_id!(
    /// An item of a ledger's points store, numbered by the keeping community.
    StoreItemId
);
record_id!(
    /// A check-in session of a service ledger, numbered by the organiser's node.
    SessionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_codes_are_validated() {
        assert!(OrgId::new("dianye").is_ok());
        assert!(OrgId::new("state-grid_1").is_ok());
        for bad in ["", "Dianye", "a b", "-x", "a:b", &"x".repeat(49)] {
            assert!(
                matches!(OrgId::new(bad), Err(IdError::BadOrg(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn record_ids_round_trip_and_reject_garbage() {
        let id: BookingId = "dianye:12".parse().unwrap();
        assert_eq!(id.org().as_str(), "dianye");
        assert_eq!(id.0.n, 12);
        assert_eq!(id.to_string(), "dianye:12");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<BookingId>(&json).unwrap(), id);
        for bad in [
            "dianye",
            "dianye:",
            "dianye:01",
            ":3",
            "Dianye:3",
            "d:3x",
            "d:-1",
        ] {
            assert!(bad.parse::<BookingId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hex_ids_round_trip_and_reject_garbage() {
        let id = NodeId([7; 32]);
        assert_eq!(id.to_string().parse::<NodeId>().unwrap(), id);
        assert!("abc".parse::<NodeId>().is_err());
        assert!("zz".repeat(32).parse::<DocId>().is_err());
    }
}
