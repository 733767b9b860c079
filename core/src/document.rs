//! The document layer shared by every kind.
//!
//! # Layout
//!
//! Every linli document is an automerge document whose root holds a fixed set of maps, all
//! created by the signed genesis change and never re-created:
//!
//! * `meta` — `header` (the [`DocHeader`], immutable) and kind settings (resource spec,
//!   ledger rules),
//! * one map per record family of the kind (e.g. `requests`, `decisions` for a resource).
//!
//! Each value in those maps is one **record**: a scalar string holding canonical JSON of a
//! typed Rust value, under a key built from typed ids (e.g. `dianye:12` or
//! `dianye:12/heping:3`). Every record path has exactly one authority that writes it
//! (DOMAIN.md §4), so a record is replaced as a whole (last writer wins among that
//! authority's own sequential writes) and concurrent writes by *different* authorities never
//! meet at the same key — except where the domain wants a conflict made visible (two
//! concurrent property-firm appointments), which is read with [`Document::get_all`].
//!
//! A change that does anything else — create objects after genesis, delete, write non-string
//! values, write outside the kind's maps, or write a value that does not decode as the
//! record type of its map — is refused by [`Document::writes_of`]. Because of this flat
//! layout every operation resolves to a `(map, key, value)` triple, which is what write
//! policies check.

use std::collections::BTreeMap;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, Change, ChangeHash, ObjType, ROOT, ReadDoc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ids::{DocId, NodeId, OrgId, RecordId};
use crate::time::{Timestamp, Zone};

/// Current schema version of all document kinds.
pub const SCHEMA_VERSION: u32 = 1;

/// Largest raw change accepted from outside (bytes).
pub const MAX_CHANGE_BYTES: usize = 256 * 1024;

/// Largest single record value (bytes of JSON).
pub const MAX_RECORD_BYTES: usize = 32 * 1024;

/// Generates [`DocKind`] and its labels from the list of kinds.
macro_rules! doc_kind {
    ($($variant:ident, $module:ident, $op:ident, $err:ident, $doc:literal, $label:literal,
       $opdoc:literal, { $($new:tt)* };)*) => {
        /// The kinds of documents.
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            Serialize,
            Deserialize,
            schemars::JsonSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum DocKind {
            $(
                #[doc = $doc]
                $variant,
            )*
        }

        impl DocKind {
            /// Human name.
            pub fn label(self) -> &'static str {
                match self {
                    $(DocKind::$variant => $label,)*
                }
            }
        }
    };
}
crate::kind_list::with_kinds!(doc_kind);

/// The immutable header written by the genesis change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocHeader {
    /// Kind of document.
    pub kind: DocKind,
    /// Schema version of the kind.
    pub schema: u32,
    /// The organisation that owns the document (community, or a resource's owner).
    pub owner: OrgId,
    /// The street the document belongs to.
    pub street: OrgId,
    /// The community the document belongs to, if any.
    pub community: Option<OrgId>,
    /// Year, for ledgers.
    pub year: Option<i16>,
    /// Title shown to people.
    pub title: String,
    /// Time zone in which local rules are evaluated.
    pub zone: Zone,
    /// Creation time (the genesis change's time).
    pub created: Timestamp,
    /// Distinguishes documents created with otherwise identical headers.
    pub nonce: u64,
}

/// What a kind's `genesis` gives: the header of a new document (its time and nonce set by
/// the replica) and its initial records.
pub(crate) type Genesis = (DocHeader, Vec<Put>);

/// The genesis of a document of `kind` belonging to `community` (of `street`), titled
/// `title`, on China Standard Time, with no initial records (a registry, a wishes
/// document, a volunteer registry …); `owner` is the creating organisation, which the
/// kind's creation rule requires to be the community.
pub(crate) fn community_genesis(
    kind: DocKind,
    owner: OrgId,
    street: OrgId,
    community: OrgId,
    title: String,
) -> Genesis {
    let header = DocHeader::new(
        kind,
        owner,
        street,
        Some(community),
        None,
        title,
        Zone::shanghai(),
    );
    (header, vec![])
}

impl DocHeader {
    /// A header for a new document of `kind` (time and nonce are set by the replica).
    pub(crate) fn new(
        kind: DocKind,
        owner: OrgId,
        street: OrgId,
        community: Option<OrgId>,
        year: Option<i16>,
        title: String,
        zone: Zone,
    ) -> DocHeader {
        DocHeader {
            kind,
            schema: SCHEMA_VERSION,
            owner,
            street,
            community,
            year,
            title,
            zone,
            created: Timestamp(0),
            nonce: 0,
        }
    }

    /// The certified scope of the document's owner: a community's documents belong to
    /// `street/community`; a resource to `street/community` when the community owns it,
    /// `street/community/unit` when a unit of that community does, `owner` when a street
    /// (or a body certified by the root) does. Write policies compare a signer's scope with
    /// it, since organisation codes are only unique within their parent.
    pub fn owner_scope(&self) -> crate::ids::Scope {
        let orgs = match &self.community {
            Some(c) if *c == self.owner => vec![self.street.clone(), c.clone()],
            Some(c) => vec![self.street.clone(), c.clone(), self.owner.clone()],
            None => vec![self.owner.clone()],
        };
        // Invariant: at most three codes, within MAX_SCOPE_LEN.
        crate::ids::Scope::new(orgs).unwrap_or_default()
    }
    /// The scope of the street the document belongs to.
    pub fn street_scope(&self) -> crate::ids::Scope {
        // Invariant: one code.
        crate::ids::Scope::new(vec![self.street.clone()]).unwrap_or_default()
    }
}

/// Errors of the document layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocError {
    /// Bytes were not an automerge change.
    #[error("malformed change bytes: {0}")]
    MalformedChange(String),
    /// Bytes were not a saved automerge document.
    #[error("malformed document bytes: {0}")]
    MalformedDocument(String),
    /// A change is bigger than [`MAX_CHANGE_BYTES`].
    #[error("change of {size} bytes exceeds the limit of {limit} bytes")]
    Oversized {
        /// Size of the change.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The genesis change is not a valid linli genesis.
    #[error("invalid genesis change: {0}")]
    BadGenesis(String),
    /// A change does something the document layout forbids.
    #[error("change {change} is not a valid {kind} change: {reason}")]
    BadShape {
        /// Hash of the change (hex, shortened).
        change: String,
        /// Kind of the target document.
        kind: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The change's actor is not a linli actor id (32-byte key + 8-byte incarnation).
    #[error("actor id of {0} bytes is not a linli actor (expected 40)")]
    BadActor(usize),
    /// Automerge refused the change.
    #[error("automerge refused the change: {0}")]
    Automerge(String),
    /// A record stored in the document does not decode.
    #[error("record {map}/{key} does not decode: {reason}")]
    BadRecord {
        /// The map.
        map: String,
        /// The key.
        key: String,
        /// Decoder message.
        reason: String,
    },
}

/// Who is writing: the node's key, its incarnation and the organisation it acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// The node's public key.
    pub node: NodeId,
    /// Random per start of a store, so `(actor, seq)` is never reused after data loss.
    pub incarnation: [u8; 8],
    /// The organisation this node acts for (from its certificate).
    pub org: OrgId,
}

impl Author {
    /// The automerge actor id: public key ‖ incarnation.
    pub fn actor(&self) -> ActorId {
        let mut b = Vec::with_capacity(40);
        b.extend_from_slice(self.node.as_bytes());
        b.extend_from_slice(&self.incarnation);
        ActorId::from(b)
    }
}

impl Author {
    /// The tag of the ids this node incarnation numbers: the key's first
    /// [`TAG_KEY_BYTES`](crate::ids::TAG_KEY_BYTES) bytes, then the incarnation's, so a node
    /// restored from a backup (a new incarnation) never reuses an id it numbered before.
    pub fn tag(&self) -> [u8; crate::ids::TAG_LEN] {
        use crate::ids::{TAG_KEY_BYTES, TAG_LEN};
        let mut t = [0u8; TAG_LEN];
        t[..TAG_KEY_BYTES].copy_from_slice(&self.node.as_bytes()[..TAG_KEY_BYTES]);
        t[TAG_KEY_BYTES..].copy_from_slice(&self.incarnation[..TAG_LEN - TAG_KEY_BYTES]);
        t
    }
    /// The next record id this node numbers in `map` (keys `<prefix><org>@<tag>:<n>[/…]`).
    pub fn next_id(&self, doc: &Document, map: &str, prefix: &str) -> RecordId {
        let writer = format!("{}@{}", self.org, hex::encode(self.tag()));
        RecordId {
            org: self.org.clone(),
            tag: Some(self.tag()),
            n: doc.next_counter_for(map, prefix, &writer),
        }
    }
}

/// The node key inside a linli actor id.
pub fn actor_node(actor: &ActorId) -> Result<NodeId, DocError> {
    let b = actor.to_bytes();
    if b.len() != 40 {
        return Err(DocError::BadActor(b.len()));
    }
    let mut k = [0u8; 32];
    k.copy_from_slice(&b[..32]);
    Ok(NodeId(k))
}

/// One record write: `map/key = json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Put {
    /// Root map name.
    pub map: &'static str,
    /// Record key.
    pub key: String,
    /// Canonical JSON of the record.
    pub value: String,
}

impl Put {
    /// Serializes `value` as the record at `map/key`.
    pub fn new<T: Serialize>(map: &'static str, key: impl Into<String>, value: &T) -> Self {
        Self {
            map,
            key: key.into(),
            value: to_json(value),
        }
    }
}

/// Serializes a record. Record types are plain structs and enums of strings, numbers,
/// vectors and string-keyed maps, for which serde_json cannot fail.
pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"unserializable\":\"{e}\"}}"))
}

/// A write decoded from a change: which map and key it targets and the JSON it stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Root map name.
    pub map: String,
    /// Record key.
    pub key: String,
    /// JSON text of the record.
    pub value: String,
}

/// What the document layer needs of a kind: its record maps and the check of a record.
/// Kinds implement it (as part of [`crate::kind::Kind`]); the layer itself names no kind and
/// gets a kind's layout from the [`Layouts`] its caller passes ([`crate::kinds::layout`]).
pub trait Layout: Sync {
    /// The record maps of the kind (besides `meta`).
    fn maps(&self) -> &'static [&'static str];
    /// The record maps (among [`Layout::maps`]) added in a later version of the kind: a
    /// document created by an older build lacks them, and still loads and replicates; a
    /// write to a map it lacks is refused, naming why. New documents create every map.
    fn late_maps(&self) -> &'static [&'static str];
    /// Checks a record's key shape and that its value decodes as the map's record type.
    fn check_record(&self, map: &str, key: &str, value: &str) -> Result<(), String>;
}

/// Where the document layer finds a kind's [`Layout`].
pub type Layouts = fn(DocKind) -> &'static dyn Layout;

/// A kind's layout, kept by each document.
#[derive(Clone, Copy)]
struct LayoutRef(&'static dyn Layout);

impl std::fmt::Debug for LayoutRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Layout")
    }
}

/// A document: header, automerge state and the ids of its root maps.
#[derive(Debug, Clone)]
pub struct Document {
    id: DocId,
    header: DocHeader,
    layout: LayoutRef,
    am: Automerge,
    /// root map name → (op counter, actor) of the genesis op that created it.
    maps: BTreeMap<String, (u64, ActorId)>,
    /// Indexes derived from the records, built on first use (see [`Derived`]).
    derived: Derived,
}

/// Indexes derived from a document's records, built on first use and valid only at the
/// heads they were built at: a local [`Document::commit`] brings them forward, anything
/// else that moves the heads (a received change, a rebuild) makes the next use rebuild
/// them. A clone starts without them.
#[derive(Default)]
struct Derived(std::sync::Mutex<Option<Box<dyn DerivedIndex>>>);

/// An index a kind derives from a document's records (e.g. a ledger's entries by source),
/// kept with the document by [`Document::with_index`].
pub(crate) trait DerivedIndex: std::any::Any + Send {
    /// Whether it was built at exactly `heads`.
    fn is_at(&self, heads: &[ChangeHash]) -> bool;
    /// Brings it forward over a local commit of `puts` from `before` to `after`; `false`
    /// when it cannot (it is then rebuilt on next use).
    fn advance(&mut self, before: &[ChangeHash], after: Vec<ChangeHash>, puts: &[Put]) -> bool;
    /// For the typed read.
    fn as_any(&self) -> &dyn std::any::Any;
}

impl Clone for Derived {
    fn clone(&self) -> Self {
        Derived::default()
    }
}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Derived")
    }
}

impl Document {
    /// Creates a document: builds and commits the genesis change as `author` at `now`.
    /// `initial` puts (e.g. the resource spec) go into the same change.
    pub fn create(
        author: &Author,
        header: DocHeader,
        initial: &[Put],
        layouts: Layouts,
    ) -> Result<(Document, Change), DocError> {
        let mut am = Automerge::new();
        am.set_actor(author.actor());
        let mut tx = am.transaction();
        let mut ids = BTreeMap::new();
        for name in std::iter::once("meta").chain(layouts(header.kind).maps().iter().copied()) {
            let id = tx
                .put_object(ROOT, name, ObjType::Map)
                .map_err(|e| DocError::Automerge(e.to_string()))?;
            ids.insert(name, id);
        }
        let meta = ids
            .get("meta")
            .ok_or_else(|| DocError::BadGenesis("meta map missing".into()))?
            .clone();
        tx.put(&meta, "header", to_json(&header))
            .map_err(|e| DocError::Automerge(e.to_string()))?;
        for p in initial {
            let obj = ids
                .get(p.map)
                .ok_or_else(|| DocError::BadGenesis(format!("unknown map {}", p.map)))?;
            tx.put(obj, p.key.as_str(), p.value.as_str())
                .map_err(|e| DocError::Automerge(e.to_string()))?;
        }
        let (hash, _) = tx.commit_with(
            CommitOptions::default()
                .with_time(header.created.0)
                .with_message("genesis"),
        );
        let hash = hash.ok_or_else(|| DocError::BadGenesis("empty genesis".into()))?;
        let change = am
            .get_change_by_hash(&hash)
            .ok_or_else(|| DocError::BadGenesis("genesis change not found after commit".into()))?;
        let mut doc = Self::from_genesis(change.clone(), layouts)?;
        doc.am.set_actor(author.actor());
        Ok((doc, change))
    }

    /// Builds a document from its genesis change, checking that it is a linli genesis:
    /// no dependencies, creates exactly `meta` and the kind's maps at the root, and writes a
    /// valid header whose time equals the change's time. The id is the change hash.
    pub fn from_genesis(change: Change, layouts: Layouts) -> Result<Document, DocError> {
        let bad = |s: &str| DocError::BadGenesis(s.to_string());
        if !change.deps().is_empty() {
            return Err(bad("a genesis change has no dependencies"));
        }
        actor_node(change.actor_id())?;
        let ex = change.decode();
        let mut made: BTreeMap<String, (u64, ActorId)> = BTreeMap::new();
        let mut meta_puts: Vec<(String, String)> = Vec::new();
        let mut header: Option<DocHeader> = None;
        let mut other_puts: Vec<(automerge::legacy::OpId, String, String)> = Vec::new();
        for (i, op) in ex.operations.iter().enumerate() {
            let ctr = ex.start_op.get() + i as u64;
            use automerge::legacy::{Key, ObjectId, OpType};
            match (&op.obj, &op.key, &op.action) {
                (ObjectId::Root, Key::Map(k), OpType::Make(ObjType::Map)) if !op.insert => {
                    if made
                        .insert(k.to_string(), (ctr, ex.actor_id.clone()))
                        .is_some()
                    {
                        return Err(bad("root map created twice"));
                    }
                }
                (ObjectId::Id(obj), Key::Map(k), OpType::Put(automerge::ScalarValue::Str(v)))
                    if !op.insert =>
                {
                    other_puts.push((obj.clone(), k.to_string(), v.to_string()));
                }
                _ => return Err(bad("genesis may only create root maps and put strings")),
            }
        }
        let meta_id = made.get("meta").ok_or_else(|| bad("no meta map"))?.clone();
        for (obj, k, v) in other_puts {
            if (obj.0, obj.1.clone()) == meta_id && k == "header" {
                let h: DocHeader = serde_json::from_str(&v)
                    .map_err(|e| DocError::BadGenesis(format!("header: {e}")))?;
                header = Some(h);
            } else {
                meta_puts.push((k, v));
            }
        }
        let header = header.ok_or_else(|| bad("no header"))?;
        if header.schema != SCHEMA_VERSION {
            return Err(DocError::BadGenesis(format!(
                "schema version {} is not supported (this build reads {SCHEMA_VERSION})",
                header.schema
            )));
        }
        if header.created.0 != change.timestamp() {
            return Err(bad("header time differs from the change time"));
        }
        let mut expected: Vec<&str> = vec!["meta"];
        let layout = layouts(header.kind);
        expected.extend(layout.maps());
        expected.sort_unstable();
        let got: Vec<&str> = made.keys().map(String::as_str).collect();
        // A document of an older build may lack the maps added since (never others).
        let late = layout.late_maps();
        let fits = got.iter().all(|m| expected.contains(m))
            && expected.iter().all(|m| late.contains(m) || got.contains(m));
        if !fits {
            return Err(DocError::BadGenesis(format!(
                "a {} must create maps {expected:?}, this one creates {got:?}",
                header.kind.label()
            )));
        }
        let id = DocId::from(change.hash());
        let mut am = Automerge::new();
        am.apply_changes([change])
            .map_err(|e| DocError::Automerge(e.to_string()))?;
        let doc = Document {
            id,
            header,
            layout: LayoutRef(layout),
            am,
            maps: made,
            derived: Derived::default(),
        };
        // Initial puts other than the header must be valid records too.
        for (k, v) in meta_puts {
            doc.check_record("meta", &k, &v)
                .map_err(|e| DocError::BadGenesis(e.to_string()))?;
        }
        Ok(doc)
    }

    /// Loads a document saved with [`Document::save`]; `id` is checked against the genesis.
    pub fn load(id: DocId, bytes: &[u8], layouts: Layouts) -> Result<Document, DocError> {
        let am = Automerge::load(bytes).map_err(|e| DocError::MalformedDocument(e.to_string()))?;
        // Look the genesis up by its hash (the document id) instead of rebuilding every
        // change to find it.
        let genesis = match am.get_change_by_hash(&automerge::ChangeHash(id.0)) {
            Some(c) if c.deps().is_empty() => c.clone(),
            Some(_) => {
                return Err(DocError::MalformedDocument(format!(
                    "change {id} of the saved document is not a genesis change"
                )));
            }
            None => {
                let found = am
                    .get_changes(&[])
                    .into_iter()
                    .find(|c| c.deps().is_empty())
                    .map(|c| DocId::from(c.hash()));
                return Err(DocError::MalformedDocument(match found {
                    Some(other) => format!("saved document is {other}, expected {id}"),
                    None => "no genesis change".into(),
                }));
            }
        };
        let mut doc = Self::from_genesis(genesis, layouts)?;
        doc.am = am;
        Ok(doc)
    }

    /// Saves the whole document (compressed automerge format).
    pub fn save(&self) -> Vec<u8> {
        self.am.save()
    }

    /// The document id.
    pub fn id(&self) -> DocId {
        self.id
    }
    /// The immutable header.
    pub fn header(&self) -> &DocHeader {
        &self.header
    }
    /// The kind.
    pub fn kind(&self) -> DocKind {
        self.header.kind
    }
    /// Current heads.
    pub fn heads(&self) -> Vec<ChangeHash> {
        self.am.get_heads()
    }
    /// The underlying automerge document (read-only).
    pub fn automerge(&self) -> &Automerge {
        &self.am
    }
    /// The document as it was at `heads` (e.g. a change's dependencies), for judging a
    /// change on its causal history.
    pub fn at(&self, heads: &[ChangeHash]) -> Result<Document, DocError> {
        let am = self
            .am
            .fork_at(heads)
            .map_err(|e| DocError::Automerge(e.to_string()))?;
        Ok(Document {
            id: self.id,
            header: self.header.clone(),
            layout: self.layout,
            am,
            maps: self.maps.clone(),
            derived: Derived::default(),
        })
    }

    /// Sets the actor used for local writes.
    pub fn set_author(&mut self, author: &Author) {
        self.am.set_actor(author.actor());
    }
    /// Whether the document holds the change.
    pub fn has_change(&self, hash: &ChangeHash) -> bool {
        // `get_change_by_hash` rebuilds the change from the op set; asking for missing
        // dependencies only looks the hash up in the change graph.
        let missing = self.am.get_missing_deps(&[*hash]);
        if missing.contains(hash) {
            return false;
        }
        // Changes waiting in automerge's queue (missing dependencies) are not held.
        missing.is_empty() || self.am.get_change_by_hash(hash).is_some()
    }
    /// All changes after `have` (all changes if empty), in causal order.
    pub fn changes_after(&self, have: &[ChangeHash]) -> Vec<Change> {
        self.am.get_changes(have)
    }
    /// Dependencies of `change` that this document does not hold yet.
    pub fn missing_deps(&self, change: &Change) -> Vec<ChangeHash> {
        change
            .deps()
            .iter()
            .filter(|d| !self.has_change(d))
            .copied()
            .collect()
    }

    fn map_obj(&self, map: &str) -> Option<automerge::ObjId> {
        match self.am.get(ROOT, map) {
            Ok(Some((automerge::Value::Object(ObjType::Map), id))) => Some(id),
            _ => None,
        }
    }

    /// The record at `map/key`, decoded. `None` if absent.
    pub fn get<T: DeserializeOwned>(&self, map: &str, key: &str) -> Result<Option<T>, DocError> {
        let Some(obj) = self.map_obj(map) else {
            return Ok(None);
        };
        match self.am.get(&obj, key) {
            Ok(Some((v, _))) => decode_value(map, key, &v).map(Some),
            _ => Ok(None),
        }
    }

    /// The values `map/key` held as of `heads` (e.g. a change's dependencies; each a change
    /// of this document): empty if the key was not written in that history. Values that do
    /// not decode as `T` are skipped.
    pub fn get_all_at<T: DeserializeOwned>(
        &self,
        map: &str,
        key: &str,
        heads: &[ChangeHash],
    ) -> Vec<T> {
        let Some(obj) = self.map_obj(map) else {
            return Vec::new();
        };
        self.am
            .get_all_at(&obj, key, heads)
            .unwrap_or_default()
            .iter()
            .filter_map(|(v, _)| decode_value(map, key, v).ok())
            .collect()
    }

    /// Whether `map/key` held a value as of `heads`.
    pub fn exists_at(&self, map: &str, key: &str, heads: &[ChangeHash]) -> bool {
        let Some(obj) = self.map_obj(map) else {
            return false;
        };
        self.am
            .get_all_at(&obj, key, heads)
            .is_ok_and(|v| !v.is_empty())
    }

    /// All concurrent values at `map/key` (more than one only after concurrent writes),
    /// in automerge's deterministic order, the winner last.
    pub fn get_all<T: DeserializeOwned>(&self, map: &str, key: &str) -> Result<Vec<T>, DocError> {
        let Some(obj) = self.map_obj(map) else {
            return Ok(Vec::new());
        };
        let vals = self.am.get_all(&obj, key).unwrap_or_default();
        vals.iter()
            .map(|(v, _)| decode_value(map, key, v))
            .collect()
    }

    /// All records of a map in key order. Records that fail to decode are skipped: they can
    /// only exist if a writer bypassed validation, and a read must not fail because of them.
    pub fn records<T: DeserializeOwned>(&self, map: &str) -> Vec<(String, T)> {
        self.records_with_prefix(map, "")
    }

    /// At most `limit` records of a map whose key comes after `after` (all keys if `None`),
    /// in key order: a page, read without touching the records before it.
    pub fn records_after<T: DeserializeOwned>(
        &self,
        map: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Vec<(String, T)> {
        use std::ops::Bound;
        let Some(obj) = self.map_obj(map) else {
            return Vec::new();
        };
        let start = match after {
            Some(a) => Bound::Excluded(a.to_string()),
            None => Bound::Unbounded,
        };
        self.am
            .map_range(&obj, (start, Bound::<String>::Unbounded))
            .filter_map(|item| {
                let automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(v)) = &item.value
                else {
                    return None;
                };
                serde_json::from_str(v)
                    .ok()
                    .map(|t| (item.key.to_string(), t))
            })
            .take(limit)
            .collect()
    }

    /// Records of a map whose key starts with `prefix`, in key order.
    pub fn records_with_prefix<T: DeserializeOwned>(
        &self,
        map: &str,
        prefix: &str,
    ) -> Vec<(String, T)> {
        let Some(obj) = self.map_obj(map) else {
            return Vec::new();
        };
        self.am
            .map_range(&obj, prefix.to_string()..)
            .take_while(|item| item.key.starts_with(prefix))
            .filter_map(|item| {
                let automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(v)) = &item.value
                else {
                    return None;
                };
                serde_json::from_str(v)
                    .ok()
                    .map(|t| (item.key.to_string(), t))
            })
            .collect()
    }

    /// Calls `f(key, json)` for every string record of a map, in key order, without
    /// decoding them.
    pub(crate) fn for_each_raw(&self, map: &str, mut f: impl FnMut(&str, &str)) {
        let Some(obj) = self.map_obj(map) else {
            return;
        };
        for item in self.am.map_range(&obj, ..) {
            if let automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(v)) = &item.value {
                f(&item.key, v);
            }
        }
    }

    /// Runs `f` on the document's index of type `I`, built first with `build` — or rebuilt,
    /// when the document moved since by anything but a local commit.
    pub(crate) fn with_index<I: DerivedIndex, R>(
        &self,
        build: impl Fn(&Document, Vec<ChangeHash>) -> I,
        f: impl FnOnce(&I) -> R,
    ) -> R {
        let mut derived = self
            .derived
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let heads = self.am.get_heads();
        let fresh = derived
            .as_ref()
            .is_some_and(|ix| ix.is_at(&heads) && ix.as_any().is::<I>());
        if !fresh {
            *derived = Some(Box::new(build(self, heads)));
        }
        match derived
            .as_ref()
            .and_then(|ix| ix.as_any().downcast_ref::<I>())
        {
            Some(ix) => f(ix),
            // Not reached: the slot was just filled with an `I`.
            None => f(&build(self, self.am.get_heads())),
        }
    }

    /// Checks record `map/key` = `value` against the kind's layout.
    fn check_record(&self, map: &str, key: &str, value: &str) -> Result<(), SchemaError> {
        self.layout
            .0
            .check_record(map, key, value)
            .map_err(|reason| SchemaError {
                map: map.to_string(),
                key: key.to_string(),
                reason,
            })
    }

    /// 1 + the largest counter used by `writer` (`org` or `org@tag`) in keys
    /// `<prefix><writer>:<n>[/…]` of `map`.
    pub fn next_counter_for(&self, map: &str, prefix: &str, writer: &str) -> u64 {
        let Some(obj) = self.map_obj(map) else {
            return 1;
        };
        let start = format!("{prefix}{writer}:");
        self.am
            .map_range(&obj, start.clone()..)
            .take_while(|item| item.key.starts_with(&start))
            .filter_map(|item| {
                let rest = item.key.strip_prefix(prefix)?;
                let id = rest.split('/').next()?;
                id.parse::<RecordId>().ok().map(|r| r.n)
            })
            .max()
            .unwrap_or(0)
            + 1
    }

    /// Applies `puts` as one local change at `now`. The caller has validated them; nothing is
    /// written if any put fails.
    pub fn commit(
        &mut self,
        now: Timestamp,
        message: &str,
        puts: &[Put],
    ) -> Result<Change, DocError> {
        let objs: Vec<automerge::ObjId> = puts
            .iter()
            .map(|p| {
                self.map_obj(p.map).ok_or_else(|| DocError::BadShape {
                    change: "local".into(),
                    kind: self.header.kind.label(),
                    reason: format!(
                        "this document was created by an older linli, before its {} records \
                         existed; create a new {} to use them",
                        p.map,
                        self.header.kind.label()
                    ),
                })
            })
            .collect::<Result<_, _>>()?;
        // Writing a value equal to the current winner makes automerge emit nothing (no change
        // to sign) or, on a conflicted key, a *delete* of the losing values — and deletes are
        // outside the layout. A trailing space keeps the JSON equal while making it a put.
        let values: Vec<String> = puts
            .iter()
            .zip(&objs)
            .map(|(p, obj)| {
                let all = self.am.get_all(obj, p.key.as_str()).unwrap_or_default();
                let winner = all.last().and_then(|(v, _)| v.as_str().map(str::to_string));
                if winner.as_deref() == Some(p.value.as_str()) {
                    format!("{} ", p.value)
                } else {
                    p.value.clone()
                }
            })
            .collect();
        let derived = self
            .derived
            .0
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = derived.is_some().then(|| self.am.get_heads());
        let mut tx = self.am.transaction();
        for ((p, obj), value) in puts.iter().zip(&objs).zip(&values) {
            if let Err(e) = tx.put(obj, p.key.as_str(), value.as_str()) {
                tx.rollback();
                return Err(DocError::Automerge(e.to_string()));
            }
        }
        let (hash, _) = tx.commit_with(
            CommitOptions::default()
                .with_time(now.0)
                .with_message(message),
        );
        let hash = hash.ok_or_else(|| DocError::Automerge("nothing to commit".into()))?;
        if let Some(before) = before {
            let after = self.am.get_heads();
            let derived = self
                .derived
                .0
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(ix) = derived
                && !ix.advance(&before, after, puts)
            {
                *derived = None;
            }
        }
        self.am
            .get_change_by_hash(&hash)
            .ok_or_else(|| DocError::Automerge("committed change not found".into()))
    }

    /// Decodes what a (remote) change writes, refusing anything outside the layout: every
    /// operation must put a string at a key of one of this kind's maps (`meta/header` is
    /// immutable), and the string must decode as that map's record type.
    pub fn writes_of(&self, change: &Change) -> Result<Vec<Write>, DocError> {
        use automerge::legacy::{Key, ObjectId, OpType};
        let bad = |reason: String| DocError::BadShape {
            change: hex::encode(&change.hash().0[..4]),
            kind: self.header.kind.label(),
            reason,
        };
        let ex = change.decode();
        let mut out = Vec::with_capacity(ex.operations.len());
        for op in &ex.operations {
            let ObjectId::Id(obj) = &op.obj else {
                return Err(bad("writes to the document root".into()));
            };
            let map = self
                .maps
                .iter()
                .find(|(_, (ctr, actor))| *ctr == obj.0 && *actor == obj.1)
                .map(|(name, _)| name.clone())
                .ok_or_else(|| bad("writes to an object that is not a record map".into()))?;
            let Key::Map(key) = &op.key else {
                return Err(bad(format!("list operation in map {map}")));
            };
            let value = match &op.action {
                OpType::Put(automerge::ScalarValue::Str(s)) if !op.insert => s.to_string(),
                OpType::Delete => {
                    return Err(bad(format!(
                        "deletes {map}/{key}; records are never deleted"
                    )));
                }
                _ => {
                    return Err(bad(format!(
                        "{map}/{key}: only string records may be written"
                    )));
                }
            };
            if map == "meta" && key == "header" {
                return Err(bad("rewrites the immutable header".into()));
            }
            if value.len() > MAX_RECORD_BYTES {
                return Err(bad(format!(
                    "{map}/{key}: record of {} bytes exceeds {MAX_RECORD_BYTES}",
                    value.len()
                )));
            }
            self.check_record(&map, key, &value)
                .map_err(|e| bad(e.to_string()))?;
            out.push(Write {
                map,
                key: key.to_string(),
                value,
            });
        }
        Ok(out)
    }

    /// Applies, in one automerge call, changes whose dependencies are all present or among
    /// them. Fails, leaving the document in an unknown state (apply to a copy), when automerge
    /// refuses them or keeps one waiting for a missing dependency.
    pub fn apply_bulk(&mut self, changes: Vec<Change>) -> Result<(), DocError> {
        self.am
            .apply_changes(changes)
            .map_err(|e| DocError::Automerge(e.to_string()))?;
        let waiting = self.am.get_missing_deps(&[]);
        if waiting.is_empty() {
            Ok(())
        } else {
            Err(DocError::Automerge(format!(
                "{} change(s) wait for a missing dependency",
                waiting.len()
            )))
        }
    }

    /// Applies a change whose dependencies are all present and whose writes were checked.
    pub fn apply_checked(&mut self, change: Change) -> Result<(), DocError> {
        self.am
            .apply_changes([change])
            .map_err(|e| DocError::Automerge(e.to_string()))
    }
}

fn decode_value<T: DeserializeOwned>(
    map: &str,
    key: &str,
    v: &automerge::Value<'_>,
) -> Result<T, DocError> {
    let err = |reason: String| DocError::BadRecord {
        map: map.to_string(),
        key: key.to_string(),
        reason,
    };
    let s = v.as_str().ok_or_else(|| err("not a string".into()))?;
    serde_json::from_str(s).map_err(|e| err(e.to_string()))
}

/// Why a record does not fit its map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{map}/{key}: {reason}")]
pub(crate) struct SchemaError {
    pub(crate) map: String,
    pub(crate) key: String,
    pub(crate) reason: String,
}

/// Parses bytes into an automerge change with the size limit applied first.
pub fn parse_change(bytes: &[u8]) -> Result<Change, DocError> {
    if bytes.len() > MAX_CHANGE_BYTES {
        return Err(DocError::Oversized {
            size: bytes.len(),
            limit: MAX_CHANGE_BYTES,
        });
    }
    Change::from_bytes(bytes.to_vec()).map_err(|e| DocError::MalformedChange(e.to_string()))
}
