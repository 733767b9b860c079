//! The `linli.Node` class: a handle to a running node, with a tokio runtime of its own.
//!
//! Every method goes through the Rust [`linli::node::Node`] handle (no domain logic here);
//! every wait happens with the GIL released.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use linli::core::cert::Role;
use linli::core::federation::FederationOp;
use linli::core::identity::Keypair;
use linli::core::ledger::{LedgerOp, LedgerRules, Points};
use linli::core::registry::{Compound, ManagementMode, RegistryOp};
use linli::core::resource::{BookingForm, ResourceOp, ResourceSpec};
use linli::core::wishes::{Channel, ItemKind, WishesOp};
use linli::core::{
    BookingId, DistrictConfig, DocId, Effect, NewDoc, NodeId, Op, OrgId, Slot, Timestamp,
    VolunteerId,
};
use linli::node::{Durability, InitOptions, NodeError, OpenOptions};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use tokio::sync::broadcast;

use crate::errors::{ValidationError, map_core_error, map_node_error};
use crate::types::{
    Booking, CertificateInfo, CompoundInfo, DocumentInfo, Event, ExportSummary, ImportReport,
    NodeStatus, Rejected, Standing, Wish, points,
};

/// One year in milliseconds (default validity of a certificate).
const YEAR_MS: i64 = 365 * 24 * 60 * 60 * 1000;

/// A linli node: a data directory served by a background actor, with its own identity.
///
/// Create one with `Node.init(...)` or `Node.open(...)`; use it as a context manager or
/// call `close()` when done.
#[pyclass(frozen, module = "linli")]
pub struct Node {
    rt: tokio::runtime::Runtime,
    node: linli::node::Node,
    closed: AtomicBool,
}

fn runtime() -> PyResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("linli-python")
        .enable_time()
        .build()
        .map_err(|e| crate::errors::StorageError::new_err(format!("cannot start runtime: {e}")))
}

fn validation<E: std::fmt::Display>(e: E) -> PyErr {
    ValidationError::new_err(e.to_string())
}

pub(crate) fn parse_org(s: &str) -> PyResult<OrgId> {
    OrgId::new(s).map_err(|e| map_core_error(e.into()))
}

fn parse_doc(s: &str) -> PyResult<DocId> {
    s.parse::<DocId>().map_err(|e| map_core_error(e.into()))
}

fn parse_node_id(s: &str) -> PyResult<NodeId> {
    s.parse::<NodeId>().map_err(|e| map_core_error(e.into()))
}

fn parse_volunteer(s: &str) -> PyResult<VolunteerId> {
    s.parse::<VolunteerId>()
        .map_err(|e| map_core_error(e.into()))
}

fn parse_role(s: &str) -> PyResult<Role> {
    parse_enum(
        "role (expected street, community, unit or partner)",
        s,
        false,
    )
}

/// A serde snake_case enum value from its name (`{"other": text}` for other names when
/// `other` is allowed).
fn parse_enum<T: serde::de::DeserializeOwned>(what: &str, s: &str, other: bool) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .or_else(|e| {
            if other {
                serde_json::from_value(serde_json::json!({ "other": s }))
            } else {
                Err(e)
            }
        })
        .map_err(|_| ValidationError::new_err(format!("unknown {what} {s:?}")))
}

/// A number of points (`Decimal`, `int`, `float` or numeric text) in hundredths, exactly.
fn parse_points(v: &Bound<'_, PyAny>) -> PyResult<Points> {
    let py = v.py();
    let text = v.str()?;
    let dec = py
        .import("decimal")?
        .getattr("Decimal")?
        .call1((text.clone(),))
        .map_err(|_| ValidationError::new_err(format!("invalid number of points {text}")))?;
    let hundredths = dec.call_method1("__mul__", (100,))?;
    let whole = hundredths.call_method0("to_integral_value")?;
    if !hundredths.eq(&whole)? {
        return Err(ValidationError::new_err(format!(
            "points have at most two decimals, got {text}"
        )));
    }
    let n: i64 = py
        .get_type::<pyo3::types::PyInt>()
        .call1((whole,))?
        .extract()
        .map_err(|_| ValidationError::new_err(format!("invalid number of points {text}")))?;
    Ok(Points(n))
}

fn parse_mode(s: &str) -> PyResult<ManagementMode> {
    parse_enum("management mode", s, true)
}

/// A `datetime.date` (or an ISO `YYYY-MM-DD` string) as a civil date.
fn parse_date(d: &Bound<'_, PyAny>) -> PyResult<jiff::civil::Date> {
    if let Ok(s) = d.cast::<PyString>() {
        let s = s.to_cow()?;
        let s: &str = &s;
        return s
            .parse::<jiff::civil::Date>()
            .map_err(|e| ValidationError::new_err(format!("invalid date {s:?}: {e}")));
    }
    let py = d.py();
    let dt = py.import("datetime")?;
    if d.is_instance(&dt.getattr("datetime")?)? || !d.is_instance(&dt.getattr("date")?)? {
        return Err(ValidationError::new_err(format!(
            "expected a datetime.date or an ISO date string, got {}",
            d.get_type().name()?
        )));
    }
    let y: i16 = d.getattr("year")?.extract()?;
    let m: i8 = d.getattr("month")?.extract()?;
    let day: i8 = d.getattr("day")?.extract()?;
    jiff::civil::Date::new(y, m, day).map_err(validation)
}

/// A timezone-aware `datetime` as a timestamp.
fn parse_datetime(d: &Bound<'_, PyAny>) -> PyResult<Timestamp> {
    if d.getattr("tzinfo")?.is_none() {
        return Err(ValidationError::new_err(
            "datetime must be timezone-aware (e.g. tzinfo=timezone.utc)",
        ));
    }
    let secs: f64 = d.call_method0("timestamp")?.extract()?;
    Ok(Timestamp((secs * 1000.0).round() as i64))
}

/// The node options given as keyword arguments.
fn open_options(
    durability: &str,
    snapshot_every: Option<u64>,
    max_size_bytes: Option<u64>,
    check_integrity: bool,
) -> PyResult<OpenOptions> {
    let durability = match durability {
        "full" => Durability::Full,
        "normal" => Durability::Normal,
        other => {
            return Err(ValidationError::new_err(format!(
                "durability must be \"full\" or \"normal\", got {other:?}"
            )));
        }
    };
    let defaults = OpenOptions::default();
    Ok(OpenOptions {
        durability,
        snapshot_every: snapshot_every.unwrap_or(defaults.snapshot_every),
        max_size_bytes,
        check_integrity,
        ..defaults
    })
}

fn secret_bytes(b: &[u8]) -> PyResult<[u8; 32]> {
    <[u8; 32]>::try_from(b)
        .map_err(|_| ValidationError::new_err(format!("secret must be 32 bytes, got {}", b.len())))
}

fn now() -> Timestamp {
    linli::node::system_clock()
}

impl Node {
    /// Runs `f(node)` to completion on the runtime, with the GIL released.
    fn run<T, Fut>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(linli::node::Node) -> Fut + Send,
    ) -> PyResult<T>
    where
        T: Send,
        Fut: Future<Output = Result<T, NodeError>>,
    {
        let node = self.node.clone();
        py.detach(|| self.rt.block_on(f(node)))
            .map_err(map_node_error)
    }

    fn started(rt: tokio::runtime::Runtime, node: linli::node::Node) -> Node {
        Node {
            rt,
            node,
            closed: AtomicBool::new(false),
        }
    }

    fn create_doc(&self, py: Python<'_>, new: NewDoc) -> PyResult<String> {
        let change = self.run(py, |n| async move { n.create(new).await })?;
        Ok(change.doc.to_string())
    }

    fn execute_op(&self, py: Python<'_>, doc: &str, op: Op) -> PyResult<Effect> {
        let doc = parse_doc(doc)?;
        let written = self.run(py, |n| async move { n.execute(doc, op).await })?;
        Ok(written.effect)
    }
}

impl Drop for Node {
    /// A node dropped without `close()` is shut down here, so that its store is unlocked
    /// as soon as the Python object is gone (not a moment later).
    fn drop(&mut self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            let _ = self.rt.block_on(self.node.shutdown());
        }
    }
}

#[pymethods]
impl Node {
    /// Creates a node in `path` (created if needed) and opens it.
    ///
    /// `org` is the organisation the node acts for; `root` the district root key it trusts
    /// (hex). Without `root` the node is the district root itself: its own key is the root
    /// (then `create_federation()` and `issue_certificate()` make the district). `secret` is
    /// the node's 32-byte secret key (default: a fresh random key).
    ///
    /// The options (also of `open`): `durability` (`"full"`: every commit is fsynced, the
    /// default; `"normal"`: faster, the last commits may be lost on a power cut),
    /// `snapshot_every` (accepted changes between document snapshots), `max_size_bytes`
    /// (size limit of the store) and `check_integrity` (check the store when opening).
    #[staticmethod]
    #[pyo3(signature = (path, *, org, root = None, secret = None, durability = "full", snapshot_every = None, max_size_bytes = None, check_integrity = true))]
    #[allow(clippy::too_many_arguments)]
    fn init(
        py: Python<'_>,
        path: PathBuf,
        org: &str,
        root: Option<&str>,
        secret: Option<&[u8]>,
        durability: &str,
        snapshot_every: Option<u64>,
        max_size_bytes: Option<u64>,
        check_integrity: bool,
    ) -> PyResult<Node> {
        let opts = open_options(durability, snapshot_every, max_size_bytes, check_integrity)?;
        let org = parse_org(org)?;
        let mut secret = secret.map(secret_bytes).transpose()?;
        let root = match root {
            Some(r) => parse_node_id(r)?,
            None => {
                let s = match secret {
                    Some(s) => s,
                    None => {
                        let os = py.import("os")?;
                        let b = os.call_method1("urandom", (32,))?;
                        let b = b.cast::<PyBytes>()?;
                        secret_bytes(b.as_bytes())?
                    }
                };
                secret = Some(s);
                Keypair::from_secret(&s).node_id()
            }
        };
        let mut init = InitOptions::new(org, root);
        init.secret = secret;
        let rt = runtime()?;
        let node = py
            .detach(|| rt.block_on(linli::node::Node::init(path, init, opts)))
            .map_err(map_node_error)?;
        Ok(Node::started(rt, node))
    }

    /// Opens the node stored in `path` (options as for `init`).
    #[staticmethod]
    #[pyo3(signature = (path, *, durability = "full", snapshot_every = None, max_size_bytes = None, check_integrity = true))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        durability: &str,
        snapshot_every: Option<u64>,
        max_size_bytes: Option<u64>,
        check_integrity: bool,
    ) -> PyResult<Node> {
        let opts = open_options(durability, snapshot_every, max_size_bytes, check_integrity)?;
        let rt = runtime()?;
        let node = py
            .detach(|| rt.block_on(linli::node::Node::open(path, opts)))
            .map_err(map_node_error)?;
        Ok(Node::started(rt, node))
    }

    /// This node's key (hex).
    #[getter]
    fn node_id(&self) -> String {
        self.node.node_id().to_string()
    }

    /// The organisation this node acts for.
    #[getter]
    fn org(&self) -> String {
        self.node.org().to_string()
    }

    /// The district root key this node trusts (hex).
    #[getter]
    fn root(&self) -> String {
        self.node.root().to_string()
    }

    /// The data directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.node.dir().to_path_buf()
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Stops the node and closes its store (idempotent).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.run(py, |n| async move { n.shutdown().await })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "Node(node_id={:?}, org={:?}, path={:?}{})",
            self.node.node_id().short(),
            self.node.org().as_str(),
            self.node.dir().display().to_string(),
            if self.closed() { ", closed" } else { "" }
        )
    }

    /// Identity, counts of documents and changes of the node.
    fn status(&self, py: Python<'_>) -> PyResult<NodeStatus> {
        let s = self.run(py, |n| async move { n.status().await })?;
        Ok(NodeStatus::from_rust(s))
    }

    /// Every document held, in id order.
    fn documents(&self, py: Python<'_>) -> PyResult<Vec<DocumentInfo>> {
        let docs = self.run(py, |n| async move { n.documents().await })?;
        docs.into_iter()
            .map(|d| DocumentInfo::from_rust(py, d))
            .collect()
    }

    // ---- district (root node) -------------------------------------------------------

    /// Creates the district's federation document (root node only; default settings).
    /// Returns its id.
    fn create_federation(&self, py: Python<'_>) -> PyResult<String> {
        self.create_doc(
            py,
            NewDoc::Federation {
                config: DistrictConfig::default(),
            },
        )
    }

    /// Certifies the key `subject` (hex) as `role` (`street`, `community`, `unit`,
    /// `partner`) of organisation `org` in the federation document `federation` (root node
    /// only). Validity defaults to now until a year from now.
    #[pyo3(signature = (federation, subject, role, org, parent = None, *, name = None, not_before = None, not_after = None))]
    #[allow(clippy::too_many_arguments)]
    fn issue_certificate(
        &self,
        py: Python<'_>,
        federation: &str,
        subject: &str,
        role: &str,
        org: &str,
        parent: Option<&str>,
        name: Option<String>,
        not_before: Option<&Bound<'_, PyAny>>,
        not_after: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let org = parse_org(org)?;
        let not_before = not_before
            .map(parse_datetime)
            .transpose()?
            .unwrap_or_else(now);
        let not_after = not_after
            .map(parse_datetime)
            .transpose()?
            .unwrap_or(Timestamp(not_before.0 + YEAR_MS));
        let op = Op::Federation(FederationOp::Issue {
            subject: parse_node_id(subject)?,
            role: parse_role(role)?,
            name: name.unwrap_or_else(|| format!("{org} node")),
            org,
            parent: parent.map(parse_org).transpose()?,
            not_before,
            not_after,
        });
        self.execute_op(py, federation, op)?;
        Ok(())
    }

    /// Revokes the key `subject` (hex) in the federation document (root node only): its
    /// changes after what this node has accepted from it so far are refused.
    fn revoke_certificate(
        &self,
        py: Python<'_>,
        federation: &str,
        subject: &str,
        reason: String,
    ) -> PyResult<()> {
        let op = Op::Federation(FederationOp::Revoke {
            subject: parse_node_id(subject)?,
            reason,
        });
        self.execute_op(py, federation, op)?;
        Ok(())
    }

    /// The certificates in the federation document.
    fn certificates(&self, py: Python<'_>, federation: &str) -> PyResult<Vec<CertificateInfo>> {
        let doc = parse_doc(federation)?;
        let rows = self.run(py, |n| async move { n.certificates(doc).await })?;
        rows.into_iter()
            .map(|c| CertificateInfo::from_rust(py, c))
            .collect()
    }

    // ---- service ledger -------------------------------------------------------------

    /// Creates the service ledger of `community` (default: this node's organisation) in
    /// `street` for `year`, with the default points rule. Returns its id.
    #[pyo3(signature = (year, street, community = None))]
    fn create_ledger(
        &self,
        py: Python<'_>,
        year: i16,
        street: &str,
        community: Option<&str>,
    ) -> PyResult<String> {
        let community = match community {
            Some(c) => parse_org(c)?,
            None => self.node.org().clone(),
        };
        self.create_doc(
            py,
            NewDoc::Ledger {
                street: parse_org(street)?,
                community,
                year,
                rules: LedgerRules::default(),
            },
        )
    }

    /// Records `hours` of service by `volunteer` (`org:n`) on `date` (a `datetime.date` or
    /// `YYYY-MM-DD`) in `ledger`. Returns the id of the new entry.
    #[pyo3(signature = (ledger, volunteer, activity, date, hours, team = None, evidence = None))]
    #[allow(clippy::too_many_arguments)]
    fn record_service(
        &self,
        py: Python<'_>,
        ledger: &str,
        volunteer: &str,
        activity: String,
        date: &Bound<'_, PyAny>,
        hours: f64,
        team: Option<String>,
        evidence: Option<String>,
    ) -> PyResult<String> {
        let op = Op::Ledger(LedgerOp::RecordService {
            volunteer: parse_volunteer(volunteer)?,
            activity,
            team,
            date: parse_date(date)?,
            hours,
            evidence,
        });
        Ok(match self.execute_op(py, ledger, op)? {
            Effect::Entry(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// Redeems `cost` points (`Decimal`, `int` or text) of `volunteer` for `item` at
    /// `outlet`, in the ledger of the volunteer's home community. Returns the entry's id.
    fn redeem(
        &self,
        py: Python<'_>,
        ledger: &str,
        volunteer: &str,
        item: String,
        cost: &Bound<'_, PyAny>,
        outlet: String,
    ) -> PyResult<String> {
        let op = Op::Ledger(LedgerOp::Redeem {
            volunteer: parse_volunteer(volunteer)?,
            item,
            cost: parse_points(cost)?,
            outlet,
        });
        Ok(match self.execute_op(py, ledger, op)? {
            Effect::Entry(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// A volunteer's balance in points over every ledger held (exact, as `Decimal`).
    fn balance<'py>(&self, py: Python<'py>, volunteer: &str) -> PyResult<Bound<'py, PyAny>> {
        let v = parse_volunteer(volunteer)?;
        let p = self.run(py, |n| async move { n.balance(v).await })?;
        points(py, p)
    }

    /// The leaderboard of `ledger`, optionally of one team.
    #[pyo3(signature = (ledger, team = None))]
    fn leaderboard(
        &self,
        py: Python<'_>,
        ledger: &str,
        team: Option<String>,
    ) -> PyResult<Vec<Standing>> {
        let doc = parse_doc(ledger)?;
        let rows = self.run(py, |n| async move { n.leaderboard(doc, team).await })?;
        rows.into_iter()
            .map(|s| Standing::from_rust(py, s))
            .collect()
    }

    // ---- compound registry ----------------------------------------------------------

    /// Creates the compound registry of `community` (default: this node's organisation) in
    /// `street`. Returns its id.
    #[pyo3(signature = (street, title, community = None))]
    fn create_registry(
        &self,
        py: Python<'_>,
        street: &str,
        title: String,
        community: Option<&str>,
    ) -> PyResult<String> {
        let community = match community {
            Some(c) => parse_org(c)?,
            None => self.node.org().clone(),
        };
        self.create_doc(
            py,
            NewDoc::Registry {
                street: parse_org(street)?,
                community,
                title,
            },
        )
    }

    /// Registers a compound in `registry`; `mode` is how it is managed (`property_firm`,
    /// `guarantee_firm`, `property_rights_unit`, `self_managed`, `unmanaged`, or any other
    /// text). Returns the compound's id.
    #[pyo3(signature = (registry, name, address, households, mode = "property_firm"))]
    fn add_compound(
        &self,
        py: Python<'_>,
        registry: &str,
        name: &str,
        address: &str,
        households: u32,
        mode: &str,
    ) -> PyResult<String> {
        let c = Compound::new(name, address, households, parse_mode(mode)?);
        let op = Op::Registry(RegistryOp::AddCompound(c));
        Ok(match self.execute_op(py, registry, op)? {
            Effect::Compound(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// The compounds of `registry`.
    fn compounds(&self, py: Python<'_>, registry: &str) -> PyResult<Vec<CompoundInfo>> {
        let doc = parse_doc(registry)?;
        let rows = self.run(py, |n| async move { n.compounds(doc).await })?;
        Ok(rows
            .into_iter()
            .map(|(id, c)| CompoundInfo::from_rust(id, c))
            .collect())
    }

    // ---- resources and bookings -----------------------------------------------------

    /// Creates an activity room owned by this node's organisation (Asia/Shanghai, open
    /// daily 08:00–21:00, bookable up to 4 hours at least an hour ahead). Returns its id.
    #[pyo3(signature = (street, name, capacity, community = None))]
    fn create_room(
        &self,
        py: Python<'_>,
        street: &str,
        name: &str,
        capacity: u32,
        community: Option<&str>,
    ) -> PyResult<String> {
        let community = match community {
            Some(c) => Some(parse_org(c)?),
            None => Some(self.node.org().clone()),
        };
        self.create_doc(
            py,
            NewDoc::Resource {
                street: parse_org(street)?,
                community,
                spec: ResourceSpec::room(name, capacity),
            },
        )
    }

    /// Requests a booking of `resource` from `start` to `end` (timezone-aware datetimes).
    /// Returns the booking's id.
    #[pyo3(signature = (resource, booker, purpose, start, end, attendees, *, organisation = None, contact = None))]
    #[allow(clippy::too_many_arguments)]
    fn request_booking(
        &self,
        py: Python<'_>,
        resource: &str,
        booker: &str,
        purpose: &str,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        attendees: u32,
        organisation: Option<String>,
        contact: Option<String>,
    ) -> PyResult<String> {
        let slot = Slot::new(parse_datetime(start)?, parse_datetime(end)?)
            .map_err(|e| map_core_error(e.into()))?;
        let mut form = BookingForm::new(booker, purpose, slot, attendees);
        form.organisation = organisation;
        form.contact = contact;
        let op = Op::Resource(ResourceOp::Request(form));
        Ok(match self.execute_op(py, resource, op)? {
            Effect::Booking(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// Confirms a booking on the first candidate slot that fits (the resource's arbiter).
    fn confirm_booking(&self, py: Python<'_>, resource: &str, booking: &str) -> PyResult<()> {
        let booking = booking
            .parse::<BookingId>()
            .map_err(|e| map_core_error(e.into()))?;
        self.execute_op(py, resource, Op::Resource(ResourceOp::Confirm { booking }))?;
        Ok(())
    }

    /// The bookings of `resource`.
    fn bookings(&self, py: Python<'_>, resource: &str) -> PyResult<Vec<Booking>> {
        let doc = parse_doc(resource)?;
        let rows = self.run(py, |n| async move { n.bookings(doc).await })?;
        rows.into_iter()
            .map(|b| Booking::from_rust(py, b))
            .collect()
    }

    // ---- wishes ---------------------------------------------------------------------

    /// Creates the wishes document of `community` (default: this node's organisation) in
    /// `street`. Returns its id.
    #[pyo3(signature = (street, title, community = None))]
    fn create_wishes(
        &self,
        py: Python<'_>,
        street: &str,
        title: String,
        community: Option<&str>,
    ) -> PyResult<String> {
        let community = match community {
            Some(c) => parse_org(c)?,
            None => self.node.org().clone(),
        };
        self.create_doc(
            py,
            NewDoc::Wishes {
                street: parse_org(street)?,
                community,
                title,
            },
        )
    }

    /// Posts an item (`kind`: wish, offer, suggestion or problem; `channel`: forum, app,
    /// home_visit, questionnaire, qr_code or any other text) in `wishes`. Returns its id.
    #[pyo3(signature = (wishes, kind, title, text, category, channel = "app", place = None))]
    #[allow(clippy::too_many_arguments)]
    fn post_wish(
        &self,
        py: Python<'_>,
        wishes: &str,
        kind: &str,
        title: String,
        text: String,
        category: String,
        channel: &str,
        place: Option<String>,
    ) -> PyResult<String> {
        let op = Op::Wishes(WishesOp::Post {
            kind: parse_enum::<ItemKind>("item kind", kind, false)?,
            title,
            text,
            category,
            channel: parse_enum::<Channel>("channel", channel, true)?,
            place,
        });
        Ok(match self.execute_op(py, wishes, op)? {
            Effect::Wish(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// The items of a wishes document.
    fn wishes(&self, py: Python<'_>, wishes: &str) -> PyResult<Vec<Wish>> {
        let doc = parse_doc(wishes)?;
        let rows = self.run(py, |n| async move { n.wishes(doc).await })?;
        rows.into_iter()
            .map(|(id, item)| Wish::from_rust(py, id, item))
            .collect()
    }

    /// Changes refused for good, with their reasons, in arrival order.
    fn rejected(&self, py: Python<'_>) -> PyResult<Vec<Rejected>> {
        let rows = self.run(py, |n| async move { n.rejected().await })?;
        rows.into_iter()
            .map(|r| Rejected::from_rust(py, r))
            .collect()
    }

    // ---- events ---------------------------------------------------------------------

    /// Events of this node from now on, as an iterator (`for ev in node.subscribe()`
    /// blocks; `events.next(timeout=…)` returns `None` after `timeout` seconds).
    fn subscribe(slf: &Bound<'_, Self>) -> Events {
        Events {
            node: slf.clone().unbind(),
            rx: Mutex::new(slf.get().node.subscribe()),
        }
    }

    // ---- export / import ------------------------------------------------------------

    /// Writes the whole signed change log to a portable export file.
    fn export(&self, py: Python<'_>, path: PathBuf) -> PyResult<ExportSummary> {
        let s = self.run(py, |n| async move { n.export(path).await })?;
        Ok(ExportSummary::from_rust(s))
    }

    /// Applies every change of an export file (idempotent).
    fn import_(&self, py: Python<'_>, path: PathBuf) -> PyResult<ImportReport> {
        let r = self.run(py, |n| async move { n.import(path).await })?;
        Ok(ImportReport::from_rust(r))
    }
}

/// How often a waiting event iterator checks for a closed node and for signals.
const POLL: Duration = Duration::from_millis(100);

/// An iterator over the events of a node (see `Node.subscribe()`).
#[pyclass(frozen, module = "linli")]
pub struct Events {
    node: Py<Node>,
    rx: Mutex<broadcast::Receiver<linli::node::NodeEvent>>,
}

impl Events {
    fn recv(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Event>> {
        let node = self.node.get();
        let timeout = match timeout {
            Some(t) if !(t >= 0.0 && t.is_finite()) => {
                return Err(ValidationError::new_err(format!(
                    "timeout must be a non-negative number of seconds, got {t}"
                )));
            }
            t => t.map(Duration::from_secs_f64),
        };
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        py.detach(|| {
            let mut rx = self
                .rx
                .lock()
                .map_err(|_| crate::errors::LinliError::new_err("event receiver poisoned"))?;
            // Wait in short slices, so that a closed node ends the iteration and Ctrl-C
            // (a pending signal) interrupts the wait.
            loop {
                if node.closed.load(Ordering::SeqCst) {
                    return Ok(None);
                }
                let mut slice = POLL;
                if let Some(d) = deadline {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    slice = slice.min(left);
                }
                let r = node
                    .rt
                    .block_on(async { tokio::time::timeout(slice, rx.recv()).await });
                match r {
                    Ok(Ok(ev)) => return Ok(Some(Event::from_rust(ev))),
                    // A slow subscriber missed events: go on with the next ones.
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                    Ok(Err(broadcast::error::RecvError::Closed)) => return Ok(None),
                    Err(_) => Python::attach(|py| py.check_signals())?,
                }
            }
        })
    }
}

#[pymethods]
impl Events {
    /// The next event, or `None` after `timeout` seconds (default: wait) or once the node
    /// is closed.
    #[pyo3(signature = (timeout = None))]
    fn next(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Event>> {
        self.recv(py, timeout)
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Event>> {
        self.recv(py, None)
    }
}
