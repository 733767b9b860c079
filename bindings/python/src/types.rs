//! Immutable result objects returned by `linli.Node`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use linli::core::ledger::Points;
use linli::core::registry::Compound;
use linli::core::{CompoundId, Timestamp};
use linli::node::DocSummary;
use pyo3::prelude::*;

/// The snake_case serde name of an enum value (its JSON text if it is not a plain string).
pub(crate) fn enum_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(e) => format!("<{e}>"),
    }
}

/// Points (hundredths) as an exact `decimal.Decimal`.
pub(crate) fn points(py: Python<'_>, p: Points) -> PyResult<Bound<'_, PyAny>> {
    py.import("decimal")?
        .getattr("Decimal")?
        .call1((p.to_string(),))
}

/// A timestamp as a timezone-aware (UTC) `datetime.datetime`.
pub(crate) fn timestamp_to_py(py: Python<'_>, t: Timestamp) -> PyResult<Bound<'_, PyAny>> {
    let dt = py.import("datetime")?;
    let utc = dt.getattr("timezone")?.getattr("utc")?;
    let epoch = dt
        .getattr("datetime")?
        .call1((1970, 1, 1, 0, 0, 0, 0, utc))?;
    let delta = dt.getattr("timedelta")?.call1((0, 0, 0, t.0))?; // (days, seconds, microseconds, milliseconds)
    epoch.call_method1("__add__", (delta,))
}

fn opt_repr(v: &Option<String>) -> String {
    match v {
        Some(s) => format!("{s:?}"),
        None => "None".into(),
    }
}

/// Identity and counts of a node, as returned by `Node.status()`.
#[pyclass(frozen, get_all, module = "linli")]
pub struct NodeStatus {
    /// This node's key (hex).
    node_id: String,
    /// The organisation it acts for.
    org: String,
    /// The root key it trusts (hex).
    root: String,
    /// Data directory.
    path: PathBuf,
    /// Documents held, by kind.
    documents: BTreeMap<String, usize>,
    /// Changes in the log.
    log: u64,
    /// Changes in the log that are applied.
    accepted: u64,
    /// Changes in the log that wait for dependencies or a certificate.
    pending: u64,
    /// Changes in the log refused for good.
    refused: u64,
    /// Document snapshots stored.
    snapshots: u64,
}

impl NodeStatus {
    pub(crate) fn from_rust(s: linli::node::NodeStatus) -> Self {
        NodeStatus {
            node_id: s.node.to_string(),
            org: s.org.to_string(),
            root: s.root.to_string(),
            path: s.dir,
            documents: s
                .documents
                .into_iter()
                .map(|(k, n)| (enum_str(&k), n))
                .collect(),
            log: s.log,
            accepted: s.accepted,
            pending: s.pending,
            refused: s.refused,
            snapshots: s.snapshots,
        }
    }
}

#[pymethods]
impl NodeStatus {
    fn __repr__(&self) -> String {
        format!(
            "NodeStatus(node_id={:?}, org={:?}, documents={:?}, log={}, accepted={}, pending={}, refused={}, snapshots={})",
            self.node_id,
            self.org,
            self.documents,
            self.log,
            self.accepted,
            self.pending,
            self.refused,
            self.snapshots
        )
    }
}

/// One document held by a node, as listed by `Node.documents()`.
#[pyclass(frozen, get_all, module = "linli")]
pub struct DocumentInfo {
    /// Its id (hex).
    id: String,
    /// Its kind: federation, registry, ledger, resource or wishes.
    kind: String,
    /// The organisation that owns it.
    owner: String,
    /// The street it belongs to.
    street: String,
    /// The community it belongs to, if any.
    community: Option<String>,
    /// Year, for ledgers.
    year: Option<i16>,
    /// Title shown to people.
    title: String,
    /// Creation time (UTC).
    created: Py<PyAny>,
}

impl DocumentInfo {
    pub(crate) fn from_rust(py: Python<'_>, d: DocSummary) -> PyResult<Self> {
        let h = d.header;
        Ok(DocumentInfo {
            id: d.id.to_string(),
            kind: enum_str(&h.kind),
            owner: h.owner.to_string(),
            street: h.street.to_string(),
            community: h.community.map(|c| c.to_string()),
            year: h.year,
            title: h.title,
            created: timestamp_to_py(py, h.created)?.unbind(),
        })
    }
}

#[pymethods]
impl DocumentInfo {
    fn __repr__(&self) -> String {
        format!(
            "DocumentInfo(id={:?}, kind={:?}, owner={:?}, street={:?}, community={}, year={}, title={:?})",
            self.id,
            self.kind,
            self.owner,
            self.street,
            opt_repr(&self.community),
            self.year.map_or("None".into(), |y| y.to_string()),
            self.title
        )
    }
}

/// A row of a ledger's leaderboard.
#[pyclass(frozen, get_all, module = "linli")]
pub struct Standing {
    /// Volunteer id (`org:n`).
    volunteer: String,
    /// Points earned (`Decimal`).
    earned: Py<PyAny>,
    /// Minutes served.
    minutes: u64,
    /// Star level.
    stars: u8,
}

impl Standing {
    pub(crate) fn from_rust(py: Python<'_>, s: linli::core::ledger::Standing) -> PyResult<Self> {
        Ok(Standing {
            volunteer: s.volunteer.to_string(),
            earned: points(py, s.earned)?.unbind(),
            minutes: s.minutes,
            stars: s.stars,
        })
    }
}

#[pymethods]
impl Standing {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Standing(volunteer={:?}, earned={}, minutes={}, stars={})",
            self.volunteer,
            self.earned.bind(py).repr()?,
            self.minutes,
            self.stars
        ))
    }
}

/// A compound of a registry.
#[pyclass(frozen, get_all, module = "linli")]
pub struct CompoundInfo {
    /// Its id (`org@tag:n`).
    id: String,
    /// Name.
    name: String,
    /// Street address.
    address: String,
    /// Total households.
    households: u32,
    /// How it is managed (`property_firm`, …, or the text of another model).
    mode: String,
    /// Lifecycle state (`active`, …).
    status: String,
}

impl CompoundInfo {
    pub(crate) fn from_rust(id: CompoundId, c: Compound) -> Self {
        let mode = match &c.mode {
            linli::core::registry::ManagementMode::Other(s) => s.clone(),
            m => enum_str(m),
        };
        CompoundInfo {
            id: id.to_string(),
            name: c.name,
            address: c.address,
            households: c.households,
            mode,
            status: enum_str(&c.status),
        }
    }
}

#[pymethods]
impl CompoundInfo {
    fn __repr__(&self) -> String {
        format!(
            "CompoundInfo(id={:?}, name={:?}, address={:?}, households={}, mode={:?}, status={:?})",
            self.id, self.name, self.address, self.households, self.mode, self.status
        )
    }
}

/// What `Node.export()` wrote.
#[pyclass(frozen, get_all, module = "linli")]
pub struct ExportSummary {
    /// The file written.
    path: PathBuf,
    /// Number of signed changes in it.
    changes: u64,
    /// Size of the file in bytes.
    bytes: u64,
}

impl ExportSummary {
    pub(crate) fn from_rust(s: linli::node::ExportSummary) -> Self {
        ExportSummary {
            path: s.path,
            changes: s.changes,
            bytes: s.bytes,
        }
    }
}

#[pymethods]
impl ExportSummary {
    fn __repr__(&self) -> String {
        format!(
            "ExportSummary(path={:?}, changes={}, bytes={})",
            self.path.display().to_string(),
            self.changes,
            self.bytes
        )
    }
}

/// What `Node.import_()` did.
#[pyclass(frozen, get_all, module = "linli")]
pub struct ImportReport {
    /// Whole entries read from the file.
    entries: u64,
    /// Changes newly applied.
    applied: u64,
    /// Changes the node already held.
    duplicates: u64,
    /// Changes stored that wait for dependencies or certificates.
    pending: u64,
    /// Changes stored as refused.
    refused: u64,
    /// Entries that could not be used: (entry index from 0, what was wrong).
    invalid: Vec<(u64, String)>,
    /// Whether the file ended with an intact end part.
    complete: bool,
    /// Why the file could not be read to its end, if it could not.
    problem: Option<String>,
}

impl ImportReport {
    pub(crate) fn from_rust(r: linli::node::ImportReport) -> Self {
        ImportReport {
            entries: r.entries,
            applied: r.applied,
            duplicates: r.duplicates,
            pending: r.pending,
            refused: r.refused,
            invalid: r.invalid,
            complete: r.complete,
            problem: r.problem,
        }
    }
}

#[pymethods]
impl ImportReport {
    fn __repr__(&self) -> String {
        format!(
            "ImportReport(entries={}, applied={}, duplicates={}, pending={}, refused={}, invalid={:?}, complete={}, problem={})",
            self.entries,
            self.applied,
            self.duplicates,
            self.pending,
            self.refused,
            self.invalid,
            if self.complete { "True" } else { "False" },
            opt_repr(&self.problem)
        )
    }
}

/// The variant name of a serde enum value (`confirmed` for `{"confirmed": {...}}`).
pub(crate) fn variant_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(m)) => m.keys().next().cloned().unwrap_or_default(),
        Ok(other) => other.to_string(),
        Err(e) => format!("<{e}>"),
    }
}

/// A booking of a resource, as listed by `Node.bookings()`.
#[pyclass(frozen, get_all, module = "linli")]
pub struct Booking {
    /// Its id (`org@tag:n`).
    id: String,
    /// The named responsible person.
    booker: String,
    /// The organising group, if given.
    organisation: Option<String>,
    /// How to reach the booker, if given.
    contact: Option<String>,
    /// What the room is for.
    purpose: String,
    /// Expected attendance.
    attendees: u32,
    /// Start of the wished slot (UTC).
    start: Py<PyAny>,
    /// End of the wished slot (UTC, exclusive).
    end: Py<PyAny>,
    /// When it was requested (UTC).
    requested_at: Py<PyAny>,
    /// Status: tentative, waitlisted, confirmed, rejected, revoked, cancelled, …
    status: String,
    /// Start of the confirmed slot, if confirmed.
    confirmed_start: Option<Py<PyAny>>,
}

impl Booking {
    pub(crate) fn from_rust(
        py: Python<'_>,
        b: linli::core::resource::BookingView,
    ) -> PyResult<Self> {
        let confirmed = b.confirmed_slot();
        let f = b.request.form;
        Ok(Booking {
            id: b.id.to_string(),
            booker: f.booker,
            organisation: f.organisation,
            contact: f.contact,
            purpose: f.purpose,
            attendees: f.attendees,
            start: timestamp_to_py(py, f.slot.start)?.unbind(),
            end: timestamp_to_py(py, f.slot.end)?.unbind(),
            requested_at: timestamp_to_py(py, b.request.requested_at)?.unbind(),
            status: variant_str(&b.status),
            confirmed_start: confirmed
                .map(|s| timestamp_to_py(py, s.start).map(Bound::unbind))
                .transpose()?,
        })
    }
}

#[pymethods]
impl Booking {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Booking(id={:?}, booker={:?}, purpose={:?}, attendees={}, start={}, end={}, status={:?})",
            self.id,
            self.booker,
            self.purpose,
            self.attendees,
            self.start.bind(py).repr()?,
            self.end.bind(py).repr()?,
            self.status
        ))
    }
}

/// Something that happened in a node (see `Node.subscribe()`).
#[pyclass(frozen, get_all, module = "linli")]
pub struct Event {
    /// `document_changed`, `change_rejected` or `peer_updated`.
    kind: String,
    /// The document, for document events.
    doc: Option<String>,
    /// Where the change came from (`local`, `remote`, `import`), for `document_changed`.
    origin: Option<String>,
    /// Why a change was refused, for `change_rejected`.
    reason: Option<String>,
    /// The peer, for `peer_updated`.
    peer: Option<String>,
}

impl Event {
    pub(crate) fn from_rust(e: linli::node::NodeEvent) -> Self {
        use linli::node::NodeEvent as E;
        let mut ev = Event {
            kind: String::new(),
            doc: None,
            origin: None,
            reason: None,
            peer: None,
        };
        match e {
            E::DocumentChanged { doc, origin, .. } => {
                ev.kind = "document_changed".into();
                ev.doc = Some(doc.to_string());
                ev.origin = Some(format!("{origin:?}").to_lowercase());
            }
            E::ChangeRejected { doc, reason, .. } => {
                ev.kind = "change_rejected".into();
                ev.doc = Some(doc.to_string());
                ev.reason = Some(reason);
            }
            E::PeerUpdated { peer } => {
                ev.kind = "peer_updated".into();
                ev.peer = Some(peer.to_string());
            }
            other => {
                ev.kind = format!("{other:?}");
            }
        }
        ev
    }
}

#[pymethods]
impl Event {
    fn __repr__(&self) -> String {
        format!(
            "Event(kind={:?}, doc={}, origin={}, reason={}, peer={})",
            self.kind,
            opt_repr(&self.doc),
            opt_repr(&self.origin),
            opt_repr(&self.reason),
            opt_repr(&self.peer)
        )
    }
}

/// An item of a wishes document.
#[pyclass(frozen, get_all, module = "linli")]
pub struct Wish {
    /// Its id.
    id: String,
    /// wish, offer, suggestion or problem.
    kind: String,
    /// Short title.
    title: String,
    /// Text.
    text: String,
    /// Category.
    category: String,
    /// Channel it came in by (`app`, …, or the text of another channel).
    channel: String,
    /// Compound or building concerned.
    place: Option<String>,
    /// The organisation that posted it.
    by: String,
    /// When it was posted (UTC).
    at: Py<PyAny>,
}

impl Wish {
    pub(crate) fn from_rust(
        py: Python<'_>,
        id: linli::core::WishId,
        i: linli::core::wishes::Item,
    ) -> PyResult<Self> {
        let channel = match &i.channel {
            linli::core::wishes::Channel::Other(s) => s.clone(),
            c => enum_str(c),
        };
        Ok(Wish {
            id: id.to_string(),
            kind: enum_str(&i.kind),
            title: i.title,
            text: i.text,
            category: i.category,
            channel,
            place: i.place,
            by: i.by.to_string(),
            at: timestamp_to_py(py, i.at)?.unbind(),
        })
    }
}

#[pymethods]
impl Wish {
    fn __repr__(&self) -> String {
        format!(
            "Wish(id={:?}, kind={:?}, title={:?}, category={:?}, channel={:?}, by={:?})",
            self.id, self.kind, self.title, self.category, self.channel, self.by
        )
    }
}

/// A change refused for good, as listed by `Node.rejected()`.
#[pyclass(frozen, get_all, module = "linli")]
pub struct Rejected {
    /// The document it was sent for.
    doc: String,
    /// Its change hash (hex).
    hash: String,
    /// Its signer (hex).
    signer: String,
    /// Why it was refused.
    reason: String,
    /// When this node received it (UTC).
    received_at: Py<PyAny>,
}

impl Rejected {
    pub(crate) fn from_rust(py: Python<'_>, r: linli::node::RejectedChange) -> PyResult<Self> {
        Ok(Rejected {
            doc: r.doc.to_string(),
            hash: r.hash.to_string(),
            signer: r.signer.to_string(),
            reason: r.reason,
            received_at: timestamp_to_py(py, r.received_at)?.unbind(),
        })
    }
}

#[pymethods]
impl Rejected {
    fn __repr__(&self) -> String {
        format!(
            "Rejected(doc={:?}, hash={:?}, signer={:?}, reason={:?})",
            self.doc, self.hash, self.signer, self.reason
        )
    }
}

/// A certificate of the federation document.
#[pyclass(frozen, get_all, module = "linli")]
pub struct CertificateInfo {
    /// The key certified (hex).
    subject: String,
    /// Its role: street, community, unit or partner.
    role: String,
    /// The organisation it acts for.
    org: String,
    /// The organisation `org` belongs to, if any.
    parent: Option<String>,
    /// Name shown to people.
    name: String,
    /// Start of validity (UTC).
    not_before: Py<PyAny>,
    /// End of validity (UTC, exclusive).
    not_after: Py<PyAny>,
    /// The issuing key (hex).
    issuer: String,
}

impl CertificateInfo {
    pub(crate) fn from_rust(py: Python<'_>, c: linli::core::cert::Certificate) -> PyResult<Self> {
        Ok(CertificateInfo {
            subject: c.subject.to_string(),
            role: c.role.as_str().to_owned(),
            org: c.org.to_string(),
            parent: c.parent.map(|p| p.to_string()),
            name: c.name,
            not_before: timestamp_to_py(py, c.not_before)?.unbind(),
            not_after: timestamp_to_py(py, c.not_after)?.unbind(),
            issuer: c.issuer.to_string(),
        })
    }
}

#[pymethods]
impl CertificateInfo {
    fn __repr__(&self) -> String {
        format!(
            "CertificateInfo(subject={:?}, role={:?}, org={:?}, parent={}, name={:?})",
            self.subject,
            self.role,
            self.org,
            opt_repr(&self.parent),
            self.name
        )
    }
}
