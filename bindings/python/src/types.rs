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
    /// Incarnation of this open of the store (hex; drawn anew on every open).
    incarnation: String,
    /// Keys (hex) seen signing two different changes in one slot (equivocation).
    equivocating: Vec<String>,
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
            incarnation: s.incarnation.iter().map(|b| format!("{b:02x}")).collect(),
            equivocating: s.equivocators.keys().map(|k| k.to_string()).collect(),
        }
    }
}

#[pymethods]
impl NodeStatus {
    fn __repr__(&self) -> String {
        format!(
            "NodeStatus(node_id={:?}, org={:?}, documents={:?}, log={}, accepted={}, pending={}, refused={}, snapshots={}, equivocating={:?})",
            self.node_id,
            self.org,
            self.documents,
            self.log,
            self.accepted,
            self.pending,
            self.refused,
            self.snapshots,
            self.equivocating
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
        let mode = mode_str(&c.mode);
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
    /// End of the confirmed slot, if confirmed.
    confirmed_end: Option<Py<PyAny>>,
    /// Why it was rejected, revoked, cancelled or is contested, if so.
    status_reason: Option<String>,
}

impl Booking {
    pub(crate) fn from_rust(
        py: Python<'_>,
        b: linli::core::resource::BookingView,
    ) -> PyResult<Self> {
        use linli::core::resource::BookingStatus as S;
        let confirmed = b.confirmed_slot();
        let status_reason = match &b.status {
            S::Rejected { reason }
            | S::Revoked { reason }
            | S::Cancelled { reason }
            | S::Contested { reason, .. } => Some(reason.clone()),
            _ => None,
        };
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
            confirmed_end: confirmed
                .map(|s| timestamp_to_py(py, s.end).map(Bound::unbind))
                .transpose()?,
            status_reason,
        })
    }
}

#[pymethods]
impl Booking {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Booking(id={:?}, booker={:?}, purpose={:?}, attendees={}, start={}, end={}, status={:?}, status_reason={})",
            self.id,
            self.booker,
            self.purpose,
            self.attendees,
            self.start.bind(py).repr()?,
            self.end.bind(py).repr()?,
            self.status,
            opt_repr(&self.status_reason)
        ))
    }
}

/// Something that happened in a node (see `Node.subscribe()`).
#[pyclass(frozen, get_all, module = "linli")]
pub struct Event {
    /// `document_changed`, `change_rejected`, `equivocation`, `peer_updated`,
    /// `quota_exceeded`, `peer_connected`, `peer_disconnected`, `peer_dropped`,
    /// `pull_ended`, `announcement_broken`, `personal_changed` or `personal_erased` (the
    /// record named in `reason`, never its data).
    kind: String,
    /// The document, for document events.
    doc: Option<String>,
    /// Where the change came from (`local`, `remote`, `import`), for `document_changed`.
    origin: Option<String>,
    /// Why a change was refused, for `change_rejected`; what the key did, for `equivocation`.
    reason: Option<String>,
    /// The peer, for `peer_updated`; the key that equivocated, for `equivocation`.
    peer: Option<String>,
}

impl Event {
    pub(crate) fn from_rust(e: linli::node::NodeEvent) -> Self {
        use linli::node::NodeEvent as E;
        // The node names each kind once (`NodeEvent::kind`); this fills in what it carries.
        let mut ev = Event {
            kind: e.kind().to_string(),
            doc: None,
            origin: None,
            reason: None,
            peer: None,
        };
        match e {
            E::DocumentChanged { doc, origin, .. } => {
                ev.doc = Some(doc.to_string());
                ev.origin = Some(format!("{origin:?}").to_lowercase());
            }
            E::ChangeRejected { doc, reason, .. } => {
                ev.doc = Some(doc.to_string());
                ev.reason = Some(reason);
            }
            E::Equivocation { signer, doc, seq } => {
                ev.doc = Some(doc.to_string());
                ev.reason = Some(format!(
                    "key {} signed two different changes as seq {seq} of one actor",
                    signer.short()
                ));
                ev.peer = Some(signer.to_string());
            }
            E::PeerUpdated { peer }
            | E::PeerConnected { peer }
            | E::PeerDisconnected { peer }
            | E::AnnouncementBroken { peer } => {
                ev.peer = Some(peer.to_string());
            }
            E::QuotaExceeded {
                doc,
                signer,
                changes,
            } => {
                ev.doc = Some(doc.to_string());
                ev.reason = Some(format!(
                    "{changes} change(s) of key {} over its daily write quota were not stored",
                    signer.short()
                ));
                ev.peer = Some(signer.to_string());
            }
            E::PullEnded { doc } => {
                ev.doc = Some(doc.to_string());
            }
            E::PeerDropped { peer, reason } => {
                ev.peer = Some(peer.to_string());
                ev.reason = Some(reason);
            }
            E::PersonalChanged {
                doc,
                record,
                origin,
                ..
            } => {
                ev.doc = Some(doc.to_string());
                ev.origin = Some(format!("{origin:?}").to_lowercase());
                // The record's name, never its data.
                ev.reason = Some(record);
            }
            // A kind added to the node later: its name, and its fields once they are mapped
            // here.
            _ => {}
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
    /// Derived status: published, claimed, assigned, fulfilled, confirmed, received,
    /// routed, resolved, declined or withdrawn.
    status: String,
}

impl Wish {
    pub(crate) fn from_rust(
        py: Python<'_>,
        id: linli::core::WishId,
        i: linli::core::wishes::Item,
        status: &'static str,
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
            status: status.to_owned(),
        })
    }
}

#[pymethods]
impl Wish {
    fn __repr__(&self) -> String {
        format!(
            "Wish(id={:?}, kind={:?}, title={:?}, category={:?}, channel={:?}, by={:?}, status={:?})",
            self.id, self.kind, self.title, self.category, self.channel, self.by, self.status
        )
    }
}

/// A change refused, as listed by `Node.rejected()`.
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

/// A civil date as a `datetime.date`.
pub(crate) fn date_to_py(py: Python<'_>, d: jiff::civil::Date) -> PyResult<Bound<'_, PyAny>> {
    py.import("datetime")?
        .getattr("date")?
        .call1((d.year(), d.month(), d.day()))
}

/// The text of a management mode (`property_firm`, …, or the text of another model).
fn mode_str(m: &linli::core::registry::ManagementMode) -> String {
    match m {
        linli::core::registry::ManagementMode::Other(s) => s.clone(),
        m => enum_str(m),
    }
}

fn repr_of(py: Python<'_>, v: &Py<PyAny>) -> PyResult<String> {
    Ok(v.bind(py).repr()?.to_string())
}

fn opt_repr_py(py: Python<'_>, v: &Option<Py<PyAny>>) -> PyResult<String> {
    match v {
        Some(v) => repr_of(py, v),
        None => Ok("None".into()),
    }
}

/// An entry of a service ledger, as yielded by `Node.ledger_entries()`.
#[pyclass(frozen, get_all, module = "linli")]
pub struct LedgerEntry {
    /// Its id (`org@tag:n`).
    id: String,
    /// The volunteer (`org:n`).
    volunteer: String,
    /// `service`, `redemption` or `correction`.
    kind: String,
    /// The organisation that wrote it.
    issuer: String,
    /// When it was written (UTC).
    at: Py<PyAny>,
    /// Effect on the volunteer's balance (`Decimal`; negative for redemptions).
    points: Py<PyAny>,
    /// Service: the activity.
    activity: Option<String>,
    /// Service: the team, if any.
    team: Option<String>,
    /// Service: the local date of the service.
    date: Option<Py<PyAny>>,
    /// Service: minutes served.
    minutes: Option<u32>,
    /// Service: evidence reference, if any.
    evidence: Option<String>,
    /// Redemption: the item.
    item: Option<String>,
    /// Redemption: the outlet.
    outlet: Option<String>,
    /// Correction: the entry corrected, if any.
    corrects: Option<String>,
    /// Correction: why.
    reason: Option<String>,
}

impl LedgerEntry {
    pub(crate) fn from_rust(
        py: Python<'_>,
        id: linli::core::EntryId,
        e: linli::core::ledger::Entry,
    ) -> PyResult<Self> {
        use linli::core::ledger::EntryBody;
        let mut out = LedgerEntry {
            id: id.to_string(),
            volunteer: e.volunteer.to_string(),
            kind: String::new(),
            issuer: e.issuer.to_string(),
            at: timestamp_to_py(py, e.at)?.unbind(),
            points: points(py, e.balance_delta())?.unbind(),
            activity: None,
            team: None,
            date: None,
            minutes: None,
            evidence: None,
            item: None,
            outlet: None,
            corrects: None,
            reason: None,
        };
        match e.body {
            EntryBody::Service {
                activity,
                team,
                date,
                minutes,
                evidence,
                ..
            } => {
                out.kind = "service".into();
                out.activity = Some(activity);
                out.team = team;
                out.date = Some(date_to_py(py, date)?.unbind());
                out.minutes = Some(minutes);
                out.evidence = evidence;
            }
            EntryBody::Redemption { item, outlet, .. } => {
                out.kind = "redemption".into();
                out.item = Some(item);
                out.outlet = Some(outlet);
            }
            EntryBody::Correction {
                corrects, reason, ..
            } => {
                out.kind = "correction".into();
                out.corrects = corrects.map(|c| c.to_string());
                out.reason = Some(reason);
            }
        }
        Ok(out)
    }
}

#[pymethods]
impl LedgerEntry {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "LedgerEntry(id={:?}, volunteer={:?}, kind={:?}, points={}, issuer={:?}, at={})",
            self.id,
            self.volunteer,
            self.kind,
            repr_of(py, &self.points)?,
            self.issuer,
            repr_of(py, &self.at)?
        ))
    }
}

/// A meal order of a shared kitchen.
#[pyclass(frozen, get_all, module = "linli")]
pub struct MealOrder {
    /// Its id (`org@tag:n`).
    id: String,
    /// The household, e.g. "3-2-401".
    household: String,
    /// The service date.
    date: Py<PyAny>,
    /// Portions.
    portions: u32,
    /// Dishes.
    items: Vec<String>,
    /// When it was placed (UTC).
    placed_at: Py<PyAny>,
    /// placed, accepted, refused, collected, uncollected or cancelled.
    status: String,
    /// Why it was refused, if it was.
    reason: Option<String>,
}

impl MealOrder {
    pub(crate) fn from_rust(py: Python<'_>, o: linli::core::resource::OrderView) -> PyResult<Self> {
        let reason = match &o.status {
            linli::core::resource::OrderStatus::Refused { reason } => Some(reason.clone()),
            _ => None,
        };
        Ok(MealOrder {
            id: o.id.to_string(),
            household: o.order.household,
            date: date_to_py(py, o.order.date)?.unbind(),
            portions: o.order.portions,
            items: o.order.items,
            placed_at: timestamp_to_py(py, o.order.placed_at)?.unbind(),
            status: o.status.label().to_owned(),
            reason,
        })
    }
}

#[pymethods]
impl MealOrder {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "MealOrder(id={:?}, household={:?}, date={}, portions={}, status={:?})",
            self.id,
            self.household,
            repr_of(py, &self.date)?,
            self.portions,
            self.status
        ))
    }
}

/// One service day of a shared kitchen: its orders against the daily capacity.
#[pyclass(frozen, get_all, module = "linli")]
pub struct KitchenDay {
    /// The service date.
    date: Py<PyAny>,
    /// The service, e.g. "dinner".
    service: String,
    /// When ordering for the date closes (UTC).
    cutoff: Py<PyAny>,
    /// Daily capacity in portions.
    capacity: u32,
    /// Portions accepted (accepted, collected or uncollected orders).
    accepted_portions: u32,
    /// Portions placed and not yet decided.
    waiting_portions: u32,
    /// The orders of the date, in id order.
    orders: Py<pyo3::types::PyTuple>,
}

impl KitchenDay {
    pub(crate) fn from_rust(
        py: Python<'_>,
        d: linli::core::resource::KitchenDay,
    ) -> PyResult<Self> {
        let orders = d
            .orders
            .into_iter()
            .map(|o| Py::new(py, MealOrder::from_rust(py, o)?))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(KitchenDay {
            date: date_to_py(py, d.date)?.unbind(),
            service: d.service,
            cutoff: timestamp_to_py(py, d.cutoff)?.unbind(),
            capacity: d.capacity,
            accepted_portions: d.accepted_portions,
            waiting_portions: d.waiting_portions,
            orders: pyo3::types::PyTuple::new(py, orders)?.unbind(),
        })
    }
}

#[pymethods]
impl KitchenDay {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "KitchenDay(date={}, service={:?}, capacity={}, accepted_portions={}, waiting_portions={}, orders={})",
            repr_of(py, &self.date)?,
            self.service,
            self.capacity,
            self.accepted_portions,
            self.waiting_portions,
            self.orders.bind(py).len()
        ))
    }
}

/// A property-management appointment of a compound, written by the street.
#[pyclass(frozen, get_all, module = "linli")]
pub struct Appointment {
    /// The manager: firm, unit or self-management team.
    manager: String,
    /// How it manages (`property_firm`, …, or the text of another model).
    mode: String,
    /// Start of the term.
    start: Py<PyAny>,
    /// End of the term, if fixed.
    end: Option<Py<PyAny>>,
    /// proposed, appointed, renewed, dismissed or ended.
    status: String,
    /// The street that signed it.
    by: String,
    /// When it was signed (UTC).
    at: Py<PyAny>,
}

impl Appointment {
    pub(crate) fn from_rust(
        py: Python<'_>,
        a: linli::core::registry::Appointment,
    ) -> PyResult<Self> {
        Ok(Appointment {
            manager: a.manager,
            mode: mode_str(&a.mode),
            start: date_to_py(py, a.start)?.unbind(),
            end: a
                .end
                .map(|d| date_to_py(py, d).map(Bound::unbind))
                .transpose()?,
            status: enum_str(&a.status),
            by: a.by.to_string(),
            at: timestamp_to_py(py, a.at)?.unbind(),
        })
    }
}

#[pymethods]
impl Appointment {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Appointment(manager={:?}, mode={:?}, start={}, end={}, status={:?}, by={:?})",
            self.manager,
            self.mode,
            repr_of(py, &self.start)?,
            opt_repr_py(py, &self.end)?,
            self.status,
            self.by
        ))
    }
}

/// Whom a compound's appointment record names: `vacant`, `current` (one appointment) or
/// `contested` (concurrent appointments, all shown).
#[pyclass(frozen, get_all, module = "linli")]
pub struct AppointmentState {
    /// The compound.
    compound: String,
    /// vacant, current or contested.
    state: String,
    /// The appointments (none, one, or all contested ones).
    appointments: Py<pyo3::types::PyTuple>,
}

impl AppointmentState {
    pub(crate) fn from_rust(
        py: Python<'_>,
        compound: String,
        v: linli::core::registry::AppointmentView,
    ) -> PyResult<Self> {
        use linli::core::registry::AppointmentView as V;
        let (state, all) = match v {
            V::Vacant => ("vacant", Vec::new()),
            V::Current(a) => ("current", vec![a]),
            V::Contested(all) => ("contested", all),
        };
        let all = all
            .into_iter()
            .map(|a| Py::new(py, Appointment::from_rust(py, a)?))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(AppointmentState {
            compound,
            state: state.into(),
            appointments: pyo3::types::PyTuple::new(py, all)?.unbind(),
        })
    }
}

#[pymethods]
impl AppointmentState {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "AppointmentState(compound={:?}, state={:?}, appointments={})",
            self.compound,
            self.state,
            self.appointments.bind(py).repr()?
        ))
    }
}

/// An inspection of a compound against the district checklist.
#[pyclass(frozen, get_all, module = "linli")]
pub struct Inspection {
    /// Its id.
    id: String,
    /// The compound.
    compound: String,
    /// The checklist template used.
    template: String,
    /// Date of the inspection.
    date: Py<PyAny>,
    /// Checklist item id → compliant.
    results: BTreeMap<String, bool>,
    /// Points scored.
    points: u32,
    /// Out of.
    max_points: u32,
    /// Note.
    note: String,
    /// The inspecting organisation.
    by: String,
}

impl Inspection {
    pub(crate) fn from_rust(
        py: Python<'_>,
        compound: String,
        id: linli::core::InspectionId,
        i: linli::core::registry::Inspection,
    ) -> PyResult<Self> {
        Ok(Inspection {
            id: id.to_string(),
            compound,
            template: i.template,
            date: date_to_py(py, i.date)?.unbind(),
            results: i.results,
            points: i.points,
            max_points: i.max_points,
            note: i.note,
            by: i.by.to_string(),
        })
    }
}

#[pymethods]
impl Inspection {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Inspection(id={:?}, compound={:?}, date={}, points={}, max_points={}, by={:?})",
            self.id,
            self.compound,
            repr_of(py, &self.date)?,
            self.points,
            self.max_points,
            self.by
        ))
    }
}

/// One scorer's yearly sheet for a compound's manager.
#[pyclass(frozen, get_all, module = "linli")]
pub struct ScoreSheet {
    /// The compound.
    compound: String,
    /// The year scored.
    year: i16,
    /// owners, community, street or department.
    role: String,
    /// The manager scored.
    manager: String,
    /// Per-item marks.
    marks: BTreeMap<String, u32>,
    /// Sum of the marks (0–100).
    total: u32,
    /// Comment.
    comment: String,
    /// The scoring organisation.
    by: String,
    /// When it was written (UTC).
    at: Py<PyAny>,
}

impl ScoreSheet {
    pub(crate) fn from_rust(
        py: Python<'_>,
        compound: String,
        year: i16,
        role: linli::core::registry::ScorerRole,
        s: linli::core::registry::ScoreSheet,
    ) -> PyResult<Self> {
        Ok(ScoreSheet {
            compound,
            year,
            role: role.as_str().to_owned(),
            total: s.total(),
            manager: s.manager,
            marks: s.marks,
            comment: s.comment,
            by: s.by.to_string(),
            at: timestamp_to_py(py, s.at)?.unbind(),
        })
    }
}

#[pymethods]
impl ScoreSheet {
    fn __repr__(&self) -> String {
        format!(
            "ScoreSheet(compound={:?}, year={}, role={:?}, manager={:?}, total={}, by={:?})",
            self.compound, self.year, self.role, self.manager, self.total, self.by
        )
    }
}

/// The yearly composite score of a compound's manager, computed from the sheets present
/// with the district's weights.
#[pyclass(frozen, get_all, module = "linli")]
pub struct CompositeScore {
    /// The compound.
    compound: String,
    /// The year.
    year: i16,
    /// Sheet totals present, per scorer role.
    totals: BTreeMap<String, u32>,
    /// Weighted mean of the sheets present (0–100), `None` without sheets.
    score: Option<f64>,
    /// Whether all four roles have scored.
    complete: bool,
    /// Whether the score is below the district's pass mark.
    below_threshold: bool,
}

impl CompositeScore {
    pub(crate) fn from_rust(compound: String, c: linli::core::registry::Composite) -> Self {
        CompositeScore {
            compound,
            year: c.year,
            totals: c
                .totals
                .into_iter()
                .map(|(r, t)| (r.as_str().to_owned(), t))
                .collect(),
            score: c.score,
            complete: c.complete,
            below_threshold: c.below_threshold,
        }
    }
}

#[pymethods]
impl CompositeScore {
    fn __repr__(&self) -> String {
        format!(
            "CompositeScore(compound={:?}, year={}, totals={:?}, score={}, complete={}, below_threshold={})",
            self.compound,
            self.year,
            self.totals,
            self.score.map_or("None".into(), |s| format!("{s}")),
            py_bool(self.complete),
            py_bool(self.below_threshold)
        )
    }
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// An offer to take up a wish or an offer.
#[pyclass(frozen, get_all, module = "linli")]
pub struct Claim {
    /// Its id.
    id: String,
    /// The item claimed.
    wish: String,
    /// The claiming organisation.
    claimant: String,
    /// The volunteer who will do it, if an individual.
    volunteer: Option<String>,
    /// Note.
    note: String,
    /// When it was offered (UTC).
    at: Py<PyAny>,
    /// Whether the community's assignment of it stands.
    assigned: bool,
}

impl Claim {
    pub(crate) fn from_rust(
        py: Python<'_>,
        wish: String,
        id: linli::core::ClaimId,
        c: linli::core::wishes::Claim,
        assigned: bool,
    ) -> PyResult<Self> {
        Ok(Claim {
            id: id.to_string(),
            wish,
            claimant: c.claimant.to_string(),
            volunteer: c.volunteer.map(|v| v.to_string()),
            note: c.note,
            at: timestamp_to_py(py, c.at)?.unbind(),
            assigned,
        })
    }
}

#[pymethods]
impl Claim {
    fn __repr__(&self) -> String {
        format!(
            "Claim(id={:?}, wish={:?}, claimant={:?}, volunteer={}, assigned={})",
            self.id,
            self.wish,
            self.claimant,
            opt_repr(&self.volunteer),
            py_bool(self.assigned)
        )
    }
}

/// A peer this node has synchronised with.
#[pyclass(frozen, get_all, module = "linli")]
pub struct Peer {
    /// The peer's key (hex).
    node_id: String,
    /// When this node last heard from it (UTC).
    last_seen: Py<PyAny>,
    /// Opaque sync state.
    sync_state: Py<pyo3::types::PyBytes>,
}

impl Peer {
    pub(crate) fn from_rust(py: Python<'_>, p: linli::node::PeerRecord) -> PyResult<Self> {
        Ok(Peer {
            node_id: p.node.to_string(),
            last_seen: timestamp_to_py(py, p.last_seen)?.unbind(),
            sync_state: pyo3::types::PyBytes::new(py, &p.sync_state).unbind(),
        })
    }
}

#[pymethods]
impl Peer {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Peer(node_id={:?}, last_seen={})",
            self.node_id,
            repr_of(py, &self.last_seen)?
        ))
    }
}

/// What one sync session moved (`Node.sync_with`).
#[pyclass(frozen, get_all, module = "linli")]
pub struct SyncReport {
    /// New changes received and applied.
    received: u64,
    /// Received changes refused by a write policy (stored with their reasons).
    refused: u64,
    /// Changes sent.
    sent: u64,
    /// Bytes received.
    bytes_in: u64,
    /// Bytes sent.
    bytes_out: u64,
}

impl SyncReport {
    pub(crate) fn from_rust(r: linli::node::net::SyncReport) -> Self {
        SyncReport {
            received: r.received,
            refused: r.refused,
            sent: r.sent,
            bytes_in: r.bytes_in,
            bytes_out: r.bytes_out,
        }
    }
}

#[pymethods]
impl SyncReport {
    fn __repr__(&self) -> String {
        format!(
            "SyncReport(received={}, refused={}, sent={}, bytes_in={}, bytes_out={})",
            self.received, self.refused, self.sent, self.bytes_in, self.bytes_out
        )
    }
}
