//! The `linli.Node` class: a handle to a running node, with a tokio runtime of its own.
//!
//! Every method goes through the Rust [`linli::node::Node`] handle (no domain logic here);
//! every wait happens with the GIL released.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use linli::core::Error as CoreError;
use linli::core::cert::Role;
use linli::core::federation::FederationOp;
use linli::core::identity::Keypair;
use linli::core::ids::IdError;
use linli::core::ledger::{LedgerOp, LedgerRules, Points, leaderboard_across};
use linli::core::personal::{PersonalData, Resident};
use linli::core::registry::{
    AppointmentStatus, ChecklistItem, ChecklistTemplate, Compound, ManagementMode, RegistryOp,
    ScorerRole,
};
use linli::core::resource::{BookingForm, ResourceOp, ResourceSpec};
use linli::core::wishes::{Channel, ItemKind, Stage, WishesOp};
use linli::core::{
    BookingId, ClaimId, CompoundId, DistrictConfig, DocId, Effect, EntryId, NewDoc, NodeId, Op,
    OrderId, OrgId, Replica, Slot, Timestamp, VolunteerId, WishId,
};
use linli::node::{Durability, InitOptions, NodeError, OpenOptions};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use tokio::sync::broadcast;

use crate::errors::{
    NotFoundError, ValidationError, map_core_error, map_net_error, map_node_error,
};
use crate::types::{
    AppointmentState, Booking, CertificateInfo, Claim, CompositeScore, CompoundInfo, DocumentInfo,
    Event, ExportSummary, ImportReport, Inspection, KitchenDay, LedgerEntry, MealOrder, NodeStatus,
    Peer, Rejected, ScoreSheet, Standing, SyncReport, Wish, points,
};
use linli::node::net::NetConfig;

/// A linli node: a data directory served by a background actor, with its own identity.
///
/// Create one with `Node.init(...)` or `Node.open(...)`; use it as a context manager or
/// call `close()` when done.
#[pyclass(frozen, module = "linli")]
pub struct Node {
    rt: tokio::runtime::Runtime,
    node: linli::node::Node,
    closed: AtomicBool,
    /// The configuration file given to `open`, if any.
    config: Option<PathBuf>,
    /// The node's network, once `listen` or `sync_with` started it.
    network: std::sync::Mutex<Option<linli::node::net::Network>>,
}

fn runtime() -> PyResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("linli-python")
        .enable_all()
        .build()
        .map_err(|e| crate::errors::StorageError::new_err(format!("cannot start runtime: {e}")))
}

fn validation<E: std::fmt::Display>(e: E) -> PyErr {
    ValidationError::new_err(e.to_string())
}

pub(crate) fn parse_org(s: &str) -> PyResult<OrgId> {
    OrgId::new(s).map_err(|e| map_core_error(e.into()))
}

/// A JSON value as the Python value `json.loads` makes of it.
fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (v.to_string(),))
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

/// A typed record id (`org:n` or `org@tag:n`).
fn parse_id<T: std::str::FromStr<Err = IdError>>(s: &str) -> PyResult<T> {
    s.parse::<T>().map_err(|e| map_core_error(e.into()))
}

fn parse_scorer(s: &str) -> PyResult<ScorerRole> {
    parse_enum(
        "scorer role (expected owners, community, street or department)",
        s,
        false,
    )
}

/// District settings from the keyword arguments of `create_federation` /
/// `set_district_config`.
fn district_config(
    checklist_id: Option<String>,
    checklist: Option<Vec<(String, String, String, u32)>>,
    weights: Option<BTreeMap<String, u32>>,
    pass_mark: Option<u32>,
) -> PyResult<DistrictConfig> {
    let mut config = DistrictConfig::default();
    if let Some(items) = checklist {
        let items = items
            .into_iter()
            .map(|(id, label, kind, points)| {
                Ok(ChecklistItem {
                    id,
                    label,
                    kind: parse_enum(
                        "checklist item kind (expected must_have, must_not_have or other)",
                        &kind,
                        false,
                    )?,
                    points,
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        config.checklist = ChecklistTemplate {
            id: checklist_id.unwrap_or_else(|| "district".into()),
            items,
        };
    } else if checklist_id.is_some() {
        return Err(ValidationError::new_err(
            "checklist_id names a checklist: pass checklist too",
        ));
    }
    if let Some(w) = weights {
        for (role, weight) in w {
            config.scoring.weights.insert(parse_scorer(&role)?, weight);
        }
    }
    if let Some(p) = pass_mark {
        config.scoring.pass_mark = p;
    }
    Ok(config)
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

    fn started(
        rt: tokio::runtime::Runtime,
        node: linli::node::Node,
        config: Option<PathBuf>,
    ) -> Node {
        Node {
            rt,
            node,
            closed: AtomicBool::new(false),
            config,
            network: std::sync::Mutex::new(None),
        }
    }

    /// Runs `f` on the replica (on the node's actor thread) with the GIL released: a read
    /// through linli-core's typed views.
    fn query<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Replica) -> Result<T, CoreError> + Send + 'static,
    {
        self.run(
            py,
            |n| async move { n.read(f).await?.map_err(NodeError::from) },
        )
    }

    /// The owning community for a new document: `community` if given, else this node's
    /// organisation.
    fn community_or_own(&self, community: Option<&str>) -> PyResult<OrgId> {
        match community {
            Some(c) => parse_org(c),
            None => Ok(self.node.org().clone()),
        }
    }

    /// The running network, started on `listen` (loopback, any port) if there is none.
    fn network(
        &self,
        py: Python<'_>,
        cfg: Option<NetConfig>,
    ) -> PyResult<linli::node::net::Network> {
        let mut guard = self
            .network
            .lock()
            .map_err(|_| crate::errors::SyncError::new_err("the network handle is poisoned"))?;
        if let Some(net) = guard.as_ref() {
            if cfg.is_some() {
                return Err(crate::errors::ValidationError::new_err(
                    "the network is already running (call listen() once, before sync_with())",
                ));
            }
            return Ok(net.clone());
        }
        if self.closed.load(Ordering::SeqCst) {
            return Err(map_node_error(NodeError::Shutdown));
        }
        let cfg = cfg.unwrap_or_else(|| NetConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
            mdns: false,
            ..NetConfig::default()
        });
        let node = self.node.clone();
        let net = py
            .detach(|| {
                self.rt
                    .block_on(linli::node::net::Network::start(node, cfg))
            })
            .map_err(map_net_error)?;
        *guard = Some(net.clone());
        Ok(net)
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
        Ok(Node::started(rt, node, None))
    }

    /// Opens the node stored in `path` (options as for `init`).
    ///
    /// `config` is the path of the node's TOML configuration file (`linli.toml`), if any;
    /// it must exist. It is kept as `config_path` (the networking settings in it are not
    /// used by the bindings yet).
    #[staticmethod]
    #[pyo3(signature = (path, *, config = None, durability = "full", snapshot_every = None, max_size_bytes = None, check_integrity = true))]
    #[allow(clippy::too_many_arguments)]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        config: Option<PathBuf>,
        durability: &str,
        snapshot_every: Option<u64>,
        max_size_bytes: Option<u64>,
        check_integrity: bool,
    ) -> PyResult<Node> {
        let opts = open_options(durability, snapshot_every, max_size_bytes, check_integrity)?;
        if let Some(c) = &config {
            if !c.exists() {
                return Err(ValidationError::new_err(format!(
                    "config file {} does not exist",
                    c.display()
                )));
            }
            if !c.is_file() {
                return Err(ValidationError::new_err(format!(
                    "config file {} is not a file",
                    c.display()
                )));
            }
        }
        let rt = runtime()?;
        let node = py
            .detach(|| rt.block_on(linli::node::Node::open(path, opts)))
            .map_err(map_node_error)?;
        Ok(Node::started(rt, node, config))
    }

    /// The configuration file given to `open`, if any.
    #[getter]
    fn config_path(&self) -> Option<PathBuf> {
        self.config.clone()
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

    /// Stops the node (and its network) and closes its store (idempotent).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let net = self.network.lock().ok().and_then(|mut g| g.take());
        if let Some(net) = net {
            let _ = py.detach(|| self.rt.block_on(net.shutdown()));
        }
        self.run(py, |n| async move { n.shutdown().await })
    }

    /// Starts this node's network: listens on `addrs` (multiaddrs; default any free port on
    /// 127.0.0.1), keeps connected to the `bootstrap` peers and syncs with every peer every
    /// `sync_interval` seconds and after each local write. Returns the addresses to give
    /// other nodes, e.g. `/ip4/127.0.0.1/tcp/40123/p2p/12D3Koo…`.
    #[pyo3(signature = (addrs = None, *, bootstrap = None, sync_interval = 30))]
    fn listen(
        &self,
        py: Python<'_>,
        addrs: Option<Vec<String>>,
        bootstrap: Option<Vec<String>>,
        sync_interval: u64,
    ) -> PyResult<Vec<String>> {
        let cfg = NetConfig {
            listen: addrs.unwrap_or_else(|| vec!["/ip4/127.0.0.1/tcp/0".into()]),
            bootstrap: bootstrap.unwrap_or_default(),
            mdns: false,
            sync_interval_secs: sync_interval,
            ..NetConfig::default()
        };
        let net = self.network(py, Some(cfg))?;
        py.detach(|| self.rt.block_on(net.listen_addrs()))
            .map_err(map_net_error)
    }

    /// Syncs with the peer at `addr` (as returned by its `listen()`): connects, runs one
    /// sync session, and returns what moved. Starts this node's network on loopback if
    /// `listen()` was not called. Raises `SyncError` if the peer cannot be reached within
    /// `timeout` seconds or refuses this node.
    #[pyo3(signature = (addr, *, timeout = 30.0))]
    fn sync_with(&self, py: Python<'_>, addr: &str, timeout: f64) -> PyResult<SyncReport> {
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(validation(format!(
                "timeout must be a positive number of seconds, not {timeout}"
            )));
        }
        let net = self.network(py, None)?;
        let t = std::time::Duration::from_secs_f64(timeout);
        let r = py
            .detach(|| self.rt.block_on(net.sync_with(addr, t)))
            .map_err(map_net_error)?;
        Ok(SyncReport::from_rust(r))
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

    /// Creates the district's federation document (root node only) with the district
    /// settings (as for `set_district_config`; default: none). Returns its id.
    #[pyo3(signature = (*, checklist_id = None, checklist = None, weights = None, pass_mark = None))]
    fn create_federation(
        &self,
        py: Python<'_>,
        checklist_id: Option<String>,
        checklist: Option<Vec<(String, String, String, u32)>>,
        weights: Option<BTreeMap<String, u32>>,
        pass_mark: Option<u32>,
    ) -> PyResult<String> {
        let config = district_config(checklist_id, checklist, weights, pass_mark)?;
        self.create_doc(py, NewDoc::Federation { config })
    }

    /// Certifies the key `subject` (hex) as `role` (`street`, `community`, `unit`,
    /// `partner`) of organisation `org` in the federation document `federation` (root node
    /// only). Validity defaults to now until three years on, within this node's own
    /// certificate (linli-core's default, the same as the CLI's and the HTTP API's).
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
        let not_after = match not_after.map(parse_datetime).transpose()? {
            Some(t) => t,
            // The same default as every surface: linli-core's.
            None => {
                let fed = parse_doc(federation)?;
                let at = not_before;
                self.query(py, move |r| r.default_cert_end(fed, at))?
            }
        };
        let op = Op::Federation(FederationOp::Issue {
            subject: parse_node_id(subject)?,
            role: parse_role(role)?,
            name: name.unwrap_or_else(|| linli::core::replica::default_cert_name(&org)),
            org,
            parent: parent.map(parse_org).transpose()?,
            not_before,
            not_after,
        });
        self.execute_op(py, federation, op)?;
        Ok(())
    }

    /// Revokes the key `subject` (hex) in the federation document: withdraws every
    /// certificate of it this node issued or is above in its chain (the root: all); its
    /// changes after what this node has accepted from it so far no longer count on them.
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
            certs: None,
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
        let community = self.community_or_own(community)?;
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
    ///
    /// With `dry_run=True` nothing is written: the service record is only checked against
    /// the ledger's rules (linli-core's `ledger::plan`; the certificate chain and write
    /// policy are checked when writing) and the id it would get is returned.
    #[pyo3(signature = (ledger, volunteer, activity, date, hours, team = None, evidence = None, *, dry_run = false))]
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
        dry_run: bool,
    ) -> PyResult<String> {
        let op = LedgerOp::RecordService {
            volunteer: parse_volunteer(volunteer)?,
            activity,
            team,
            date: parse_date(date)?,
            hours,
            evidence,
        };
        let effect = if dry_run {
            let doc = parse_doc(ledger)?;
            let now = now();
            self.query(py, move |r| r.check(doc, Op::Ledger(op), now))?
        } else {
            self.execute_op(py, ledger, Op::Ledger(op))?
        };
        Ok(match effect {
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

    /// The leaderboard of `ledger`, optionally of one team, highest first.
    ///
    /// With `across=True` it counts every ledger this node holds (stars by the rules of
    /// `ledger`), optionally only volunteers of the home community `home`.
    #[pyo3(signature = (ledger, team = None, *, across = false, home = None))]
    fn leaderboard(
        &self,
        py: Python<'_>,
        ledger: &str,
        team: Option<String>,
        across: bool,
        home: Option<&str>,
    ) -> PyResult<Vec<Standing>> {
        let doc = parse_doc(ledger)?;
        let home = home.map(parse_org).transpose()?;
        if home.is_some() && !across {
            return Err(ValidationError::new_err(
                "home filters the leaderboard across ledgers: pass across=True",
            ));
        }
        let rows = if across {
            self.query(py, move |r| {
                let rules = r.ledger(doc)?.rules();
                let who = |v: &VolunteerId| home.as_ref().is_none_or(|h| v.org() == h);
                Ok(leaderboard_across(
                    r.docs().values(),
                    &rules,
                    who,
                    team.as_deref(),
                ))
            })?
        } else {
            self.run(py, |n| async move { n.leaderboard(doc, team).await })?
        };
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
        let community = self.community_or_own(community)?;
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
        let community = Some(self.community_or_own(community)?);
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
    /// `alternates` are acceptable other slots as `(start, end)` pairs, in order of
    /// preference; `weeks` repeats the confirmed slot weekly. Returns the booking's id.
    #[pyo3(signature = (resource, booker, purpose, start, end, attendees, *, organisation = None, contact = None, alternates = None, weeks = None))]
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
        alternates: Option<Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)>>,
        weeks: Option<u32>,
    ) -> PyResult<String> {
        let slot = Slot::new(parse_datetime(start)?, parse_datetime(end)?)
            .map_err(|e| map_core_error(e.into()))?;
        let mut form = BookingForm::new(booker, purpose, slot, attendees);
        form.organisation = organisation;
        form.contact = contact;
        for (s, e) in alternates.unwrap_or_default() {
            let alt = Slot::new(parse_datetime(&s)?, parse_datetime(&e)?)
                .map_err(|e| map_core_error(e.into()))?;
            form.alternates.push(alt);
        }
        if let Some(w) = weeks {
            form = form.weekly(w);
        }
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
        let community = self.community_or_own(community)?;
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
    ///
    /// `resident_name` (with `resident_contact`, `resident_address`) names the resident it is
    /// about: personal data, kept out of the document and held only by the posting
    /// community and the organisations assigned to the wish.
    #[pyo3(signature = (wishes, kind, title, text, category, channel = "app", place = None, *, resident_name = None, resident_contact = None, resident_address = None))]
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
        resident_name: Option<String>,
        resident_contact: Option<String>,
        resident_address: Option<String>,
    ) -> PyResult<String> {
        let resident = match resident_name {
            Some(name) => Some(Resident {
                name,
                contact: resident_contact,
                address: resident_address,
            }),
            None if resident_contact.is_some() || resident_address.is_some() => {
                return Err(ValidationError::new_err(
                    "resident_contact and resident_address need resident_name",
                ));
            }
            None => None,
        };
        let op = Op::Wishes(WishesOp::Post {
            kind: parse_enum::<ItemKind>("item kind", kind, false)?,
            title,
            text,
            category,
            channel: parse_enum::<Channel>("channel", channel, true)?,
            place,
            resident,
        });
        Ok(match self.execute_op(py, wishes, op)? {
            Effect::Wish(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// The items of a wishes document, with their derived status.
    fn wishes(&self, py: Python<'_>, wishes: &str) -> PyResult<Vec<Wish>> {
        let doc = parse_doc(wishes)?;
        let rows = self.query(py, move |r| {
            let w = r.wishes(doc)?;
            w.items()
                .into_iter()
                .map(|(id, item)| {
                    let status = w.status(&id)?.label();
                    Ok((id, item, status))
                })
                .collect::<Result<Vec<_>, CoreError>>()
        })?;
        rows.into_iter()
            .map(|(id, item, status)| Wish::from_rust(py, id, item, status))
            .collect()
    }

    /// Changes refused, with their reasons, in arrival order (a refusal linli-core later
    /// withdraws leaves the list).
    fn rejected(&self, py: Python<'_>) -> PyResult<Vec<Rejected>> {
        let rows = self.run(py, |n| async move { n.rejected().await })?;
        rows.into_iter()
            .map(|r| Rejected::from_rust(py, r))
            .collect()
    }

    /// Current heads of a document (hex change hashes, sorted): they change exactly when
    /// the document does.
    fn heads(&self, py: Python<'_>, doc: &str) -> PyResult<Vec<String>> {
        let doc = parse_doc(doc)?;
        let heads = self.run(py, |n| async move { n.heads(doc).await })?;
        let mut out: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
        out.sort();
        Ok(out)
    }

    /// Peers this node has synchronised with, with their sync state.
    fn peers(&self, py: Python<'_>) -> PyResult<Vec<Peer>> {
        let rows = self.run(py, |n| async move { n.peers().await })?;
        rows.into_iter().map(|p| Peer::from_rust(py, p)).collect()
    }

    /// Replaces the district settings in the federation document (root node only): the
    /// compound checklist (`(item id, label, kind, points)` with kind `must_have`,
    /// `must_not_have` or `other`), the scoring weights per role (`owners`, `community`,
    /// `street`, `department`) and the pass mark (0–100). Omitted settings keep their
    /// defaults (no checklist, weight 1 each, pass mark 60).
    #[pyo3(signature = (federation, *, checklist_id = None, checklist = None, weights = None, pass_mark = None))]
    fn set_district_config(
        &self,
        py: Python<'_>,
        federation: &str,
        checklist_id: Option<String>,
        checklist: Option<Vec<(String, String, String, u32)>>,
        weights: Option<BTreeMap<String, u32>>,
        pass_mark: Option<u32>,
    ) -> PyResult<()> {
        let config = district_config(checklist_id, checklist, weights, pass_mark)?;
        let op = Op::Federation(FederationOp::SetConfig(config));
        self.execute_op(py, federation, op)?;
        Ok(())
    }

    // ---- service ledger: corrections, entries, leaderboards -------------------------

    /// Corrects the points of `volunteer` by `delta` (`Decimal`, `int` or text; negative
    /// removes), optionally naming the entry corrected. Returns the new entry's id.
    #[pyo3(signature = (ledger, volunteer, delta, reason, corrects = None))]
    fn correct(
        &self,
        py: Python<'_>,
        ledger: &str,
        volunteer: &str,
        delta: &Bound<'_, PyAny>,
        reason: String,
        corrects: Option<&str>,
    ) -> PyResult<String> {
        let op = Op::Ledger(LedgerOp::Correct {
            volunteer: parse_volunteer(volunteer)?,
            corrects: corrects.map(parse_id::<EntryId>).transpose()?,
            delta: parse_points(delta)?,
            reason,
        });
        Ok(match self.execute_op(py, ledger, op)? {
            Effect::Entry(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// The entries of `ledger` in id order, optionally of one volunteer, as an iterator
    /// that reads `page_size` entries at a time from the node.
    #[pyo3(signature = (ledger, *, volunteer = None, page_size = 256))]
    fn ledger_entries(
        slf: &Bound<'_, Self>,
        ledger: &str,
        volunteer: Option<&str>,
        page_size: usize,
    ) -> PyResult<LedgerEntries> {
        if page_size == 0 {
            return Err(ValidationError::new_err("page_size must be at least 1"));
        }
        let doc = parse_doc(ledger)?;
        let volunteer = volunteer.map(parse_volunteer).transpose()?;
        // Fail early on an unknown document or one of another kind.
        slf.get()
            .query(slf.py(), move |r| r.ledger(doc).map(drop))?;
        Ok(LedgerEntries {
            node: slf.clone().unbind(),
            doc,
            volunteer,
            page_size,
            state: Mutex::new(PageState::default()),
        })
    }

    // ---- compound registry: appointments, inspections, scores -----------------------

    /// Appoints `manager` for `compound` (the street of the registry's community only).
    /// `start` and `end` are dates (`datetime.date` or `YYYY-MM-DD`); `status` is
    /// proposed, appointed, renewed, dismissed or ended.
    #[pyo3(signature = (registry, compound, manager, start, *, end = None, mode = "property_firm", status = "appointed"))]
    #[allow(clippy::too_many_arguments)]
    fn appoint(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
        manager: String,
        start: &Bound<'_, PyAny>,
        end: Option<&Bound<'_, PyAny>>,
        mode: &str,
        status: &str,
    ) -> PyResult<()> {
        let op = Op::Registry(RegistryOp::Appoint {
            compound: parse_id::<CompoundId>(compound)?,
            manager,
            mode: parse_mode(mode)?,
            selection: None,
            start: parse_date(start)?,
            end: end.map(parse_date).transpose()?,
            status: parse_enum::<AppointmentStatus>("appointment status", status, false)?,
        });
        self.execute_op(py, registry, op)?;
        Ok(())
    }

    /// Whom the appointment record of `compound` names (contested appointments all shown).
    fn appointment(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
    ) -> PyResult<AppointmentState> {
        let doc = parse_doc(registry)?;
        let id = parse_id::<CompoundId>(compound)?;
        let view = self.query(py, move |r| {
            let reg = r.registry(doc)?;
            reg.compound(&id)?;
            Ok(reg.appointment(&id))
        })?;
        AppointmentState::from_rust(py, compound.to_owned(), view)
    }

    /// Records an inspection of `compound` against the district checklist: `results` maps
    /// every checklist item id to whether the compound complies. Returns its id.
    #[pyo3(signature = (registry, compound, date, results, note = ""))]
    fn inspect(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
        date: &Bound<'_, PyAny>,
        results: BTreeMap<String, bool>,
        note: &str,
    ) -> PyResult<String> {
        let op = Op::Registry(RegistryOp::Inspect {
            compound: parse_id::<CompoundId>(compound)?,
            date: parse_date(date)?,
            results,
            note: note.to_owned(),
        });
        Ok(match self.execute_op(py, registry, op)? {
            Effect::Inspection(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// The inspections of `compound`, oldest id first.
    fn inspections(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
    ) -> PyResult<Vec<Inspection>> {
        let doc = parse_doc(registry)?;
        let id = parse_id::<CompoundId>(compound)?;
        let rows = self.query(py, move |r| {
            let reg = r.registry(doc)?;
            reg.compound(&id)?;
            Ok(reg.inspections(&id))
        })?;
        rows.into_iter()
            .map(|(i, v)| Inspection::from_rust(py, compound.to_owned(), i, v))
            .collect()
    }

    /// Writes this organisation's score sheet of `compound`'s manager for `year` as
    /// `role` (owners, community, street or department); `marks` (item → marks) sum to at
    /// most 100.
    #[pyo3(signature = (registry, compound, year, role, marks, comment = ""))]
    #[allow(clippy::too_many_arguments)]
    fn score(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
        year: i16,
        role: &str,
        marks: BTreeMap<String, u32>,
        comment: &str,
    ) -> PyResult<()> {
        let op = Op::Registry(RegistryOp::Score {
            compound: parse_id::<CompoundId>(compound)?,
            year,
            role: parse_scorer(role)?,
            marks,
            comment: comment.to_owned(),
        });
        self.execute_op(py, registry, op)?;
        Ok(())
    }

    /// The score sheets of `compound` for `year`, in role order.
    fn score_sheets(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
        year: i16,
    ) -> PyResult<Vec<ScoreSheet>> {
        let doc = parse_doc(registry)?;
        let id = parse_id::<CompoundId>(compound)?;
        let rows = self.query(py, move |r| {
            let reg = r.registry(doc)?;
            reg.compound(&id)?;
            Ok(reg.sheets(&id, year))
        })?;
        rows.into_iter()
            .map(|(role, s)| ScoreSheet::from_rust(py, compound.to_owned(), year, role, s))
            .collect()
    }

    /// The composite score of `compound` for `year` (weighted by the district's weights)
    /// and whether it is below the pass mark.
    fn composite_score(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
        year: i16,
    ) -> PyResult<CompositeScore> {
        let doc = parse_doc(registry)?;
        let id = parse_id::<CompoundId>(compound)?;
        let c = self.query(py, move |r| {
            let reg = r.registry(doc)?;
            reg.compound(&id)?;
            Ok(reg.composite(&id, year))
        })?;
        Ok(CompositeScore::from_rust(compound.to_owned(), c))
    }

    // ---- bookings: decisions and cancellations --------------------------------------

    /// Rejects a booking (an arbiter of one of its candidate slots).
    fn reject_booking(
        &self,
        py: Python<'_>,
        resource: &str,
        booking: &str,
        reason: String,
    ) -> PyResult<()> {
        let booking = parse_id::<BookingId>(booking)?;
        let op = Op::Resource(ResourceOp::Reject { booking, reason });
        self.execute_op(py, resource, op)?;
        Ok(())
    }

    /// Puts a booking on the waitlist (an arbiter); `promote_waitlist` confirms it when a
    /// slot frees.
    fn waitlist_booking(&self, py: Python<'_>, resource: &str, booking: &str) -> PyResult<()> {
        let booking = parse_id::<BookingId>(booking)?;
        let op = Op::Resource(ResourceOp::Waitlist { booking });
        self.execute_op(py, resource, op)?;
        Ok(())
    }

    /// Revokes a confirmed booking (the arbiter of its slot or the owner); final.
    fn revoke_booking(
        &self,
        py: Python<'_>,
        resource: &str,
        booking: &str,
        reason: String,
    ) -> PyResult<()> {
        let booking = parse_id::<BookingId>(booking)?;
        let op = Op::Resource(ResourceOp::Revoke { booking, reason });
        self.execute_op(py, resource, op)?;
        Ok(())
    }

    /// Cancels a booking (the organisation that requested it); final.
    #[pyo3(signature = (resource, booking, reason = ""))]
    fn cancel_booking(
        &self,
        py: Python<'_>,
        resource: &str,
        booking: &str,
        reason: &str,
    ) -> PyResult<()> {
        let booking = parse_id::<BookingId>(booking)?;
        let op = Op::Resource(ResourceOp::Cancel {
            booking,
            reason: reason.to_owned(),
        });
        self.execute_op(py, resource, op)?;
        Ok(())
    }

    /// Confirms waitlisted bookings, oldest first, where a slot is now free (an arbiter).
    /// Returns the ids of the bookings confirmed.
    fn promote_waitlist(&self, py: Python<'_>, resource: &str) -> PyResult<Vec<String>> {
        let op = Op::Resource(ResourceOp::PromoteWaitlist);
        Ok(match self.execute_op(py, resource, op)? {
            Effect::Promoted(ids) => ids.iter().map(ToString::to_string).collect(),
            _ => Vec::new(),
        })
    }

    /// Waitlisted bookings of `resource` in promotion order.
    fn waitlist(&self, py: Python<'_>, resource: &str) -> PyResult<Vec<Booking>> {
        let doc = parse_doc(resource)?;
        let rows = self.query(py, move |r| {
            Ok(r.resource(doc)?
                .waitlist()
                .into_iter()
                .map(|b| r.with_personal(doc, b))
                .collect::<Vec<_>>())
        })?;
        rows.into_iter()
            .map(|b| Booking::from_rust(py, b))
            .collect()
    }

    // ---- shared kitchens ------------------------------------------------------------

    /// Creates a shared kitchen owned by this node's organisation: a dinner service of
    /// `daily_capacity` portions, orders closing at 20:00 the evening before, its dining
    /// room seating `capacity` (Asia/Shanghai). Returns its id.
    #[pyo3(signature = (street, name, capacity, daily_capacity, community = None))]
    fn create_kitchen(
        &self,
        py: Python<'_>,
        street: &str,
        name: &str,
        capacity: u32,
        daily_capacity: u32,
        community: Option<&str>,
    ) -> PyResult<String> {
        let community = Some(self.community_or_own(community)?);
        self.create_doc(
            py,
            NewDoc::Resource {
                street: parse_org(street)?,
                community,
                spec: ResourceSpec::kitchen(name, capacity, daily_capacity),
            },
        )
    }

    /// Orders `portions` of `items` for `household` on service date `date` (before the
    /// cut-off). Returns the order's id.
    fn place_order(
        &self,
        py: Python<'_>,
        kitchen: &str,
        household: String,
        date: &Bound<'_, PyAny>,
        portions: u32,
        items: Vec<String>,
    ) -> PyResult<String> {
        let op = Op::Resource(ResourceOp::PlaceOrder {
            household,
            date: parse_date(date)?,
            portions,
            items,
        });
        Ok(match self.execute_op(py, kitchen, op)? {
            Effect::Order(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// Accepts an order within the daily capacity (the kitchen operator).
    fn accept_order(&self, py: Python<'_>, kitchen: &str, order: &str) -> PyResult<()> {
        let order = parse_id::<OrderId>(order)?;
        self.execute_op(py, kitchen, Op::Resource(ResourceOp::AcceptOrder { order }))?;
        Ok(())
    }

    /// Refuses an order (the kitchen operator).
    fn refuse_order(
        &self,
        py: Python<'_>,
        kitchen: &str,
        order: &str,
        reason: String,
    ) -> PyResult<()> {
        let order = parse_id::<OrderId>(order)?;
        let op = Op::Resource(ResourceOp::RefuseOrder { order, reason });
        self.execute_op(py, kitchen, op)?;
        Ok(())
    }

    /// Records whether an accepted order was collected (the kitchen operator).
    #[pyo3(signature = (kitchen, order, collected = true))]
    fn mark_collected(
        &self,
        py: Python<'_>,
        kitchen: &str,
        order: &str,
        collected: bool,
    ) -> PyResult<()> {
        let order = parse_id::<OrderId>(order)?;
        let op = Op::Resource(ResourceOp::MarkCollected { order, collected });
        self.execute_op(py, kitchen, op)?;
        Ok(())
    }

    /// Cancels an order before the cut-off (the organisation that placed it); final.
    fn cancel_order(&self, py: Python<'_>, kitchen: &str, order: &str) -> PyResult<()> {
        let order = parse_id::<OrderId>(order)?;
        self.execute_op(py, kitchen, Op::Resource(ResourceOp::CancelOrder { order }))?;
        Ok(())
    }

    /// One service day of a kitchen: cut-off, capacity, accepted and waiting portions and
    /// the orders.
    fn kitchen_day(
        &self,
        py: Python<'_>,
        kitchen: &str,
        date: &Bound<'_, PyAny>,
    ) -> PyResult<KitchenDay> {
        let doc = parse_doc(kitchen)?;
        let date = parse_date(date)?;
        let day = self.query(py, move |r| {
            let mut day = r.resource(doc)?.kitchen_day(date)?;
            day.orders = std::mem::take(&mut day.orders)
                .into_iter()
                .map(|o| r.order_with_personal(doc, o))
                .collect();
            Ok(day)
        })?;
        KitchenDay::from_rust(py, day)
    }

    /// Every meal order of a kitchen, in id order.
    fn orders(&self, py: Python<'_>, kitchen: &str) -> PyResult<Vec<MealOrder>> {
        let doc = parse_doc(kitchen)?;
        let rows = self.query(py, move |r| {
            Ok(r.resource(doc)?
                .all_orders()
                .into_iter()
                .map(|o| r.order_with_personal(doc, o))
                .collect::<Vec<_>>())
        })?;
        rows.into_iter()
            .map(|o| MealOrder::from_rust(py, o))
            .collect()
    }

    // ---- any operation of the catalogue ------------------------------------------------

    /// Every operation of linli-core's catalogue (optionally of one `kind`) as dicts: `op`
    /// (`kind.name`), `kind`, `doc` (help text) and `fields` (each with `name`,
    /// `required`, `type`, `doc` and its JSON `schema`).
    #[pyo3(signature = (kind = None))]
    fn operations<'py>(&self, py: Python<'py>, kind: Option<&str>) -> PyResult<Bound<'py, PyAny>> {
        let kind = kind
            .map(|k| parse_enum::<linli::core::DocKind>("document kind", k, false))
            .transpose()?;
        let rows: Vec<serde_json::Value> = linli::core::catalogue::operations()
            .iter()
            .filter(|o| kind.is_none_or(|k| k == o.kind))
            .map(linli::node::ops::operation_row)
            .collect();
        json_to_py(py, &serde_json::Value::Array(rows))
    }

    /// Runs any operation of the catalogue by its id (`resource.bar`, `ledger.set_rules`,
    /// see `operations()`) with its fields as keyword arguments (JSON-compatible values:
    /// dates and times as strings); `doc` defaults to the only document of the operation's
    /// kind. Returns the effect as a dict (or a string for effects without data).
    #[pyo3(signature = (op, doc = None, **fields))]
    fn operation<'py>(
        &self,
        py: Python<'py>,
        op: &str,
        doc: Option<&str>,
        fields: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let found = linli::core::catalogue::find(op)
            .map_err(|e| ValidationError::new_err(e.to_string()))?;
        let values: serde_json::Map<String, serde_json::Value> = match fields {
            Some(f) => {
                let text: String = py.import("json")?.call_method1("dumps", (f,))?.extract()?;
                serde_json::from_str(&text)
                    .map_err(|e| ValidationError::new_err(format!("fields: {e}")))?
            }
            None => serde_json::Map::new(),
        };
        let typed = found
            .build(values)
            .map_err(|e| ValidationError::new_err(e.to_string()))?;
        let kind = found.kind;
        let doc = match doc {
            Some(d) => parse_doc(d)?,
            None => {
                let ids = self.run(
                    py,
                    move |n| async move { n.read(move |r| r.ids_of(kind)).await },
                )?;
                match ids.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(NotFoundError::new_err(format!(
                            "this node holds no {} document",
                            kind.label()
                        )));
                    }
                    many => {
                        return Err(ValidationError::new_err(format!(
                            "this node holds {} {} documents: name one with doc=",
                            many.len(),
                            kind.label()
                        )));
                    }
                }
            }
        };
        let written = self.run(py, move |n| async move { n.execute(doc, typed).await })?;
        let effect = serde_json::to_value(&written.effect)
            .map_err(|e| ValidationError::new_err(format!("effect: {e}")))?;
        json_to_py(py, &effect)
    }

    // ---- personal data ----------------------------------------------------------------

    /// Records volunteer `volunteer`'s identity in its home community's `ledger`: held only
    /// by that community's nodes; every other node knows the volunteer by its id alone.
    #[pyo3(signature = (ledger, volunteer, name, phone = None, id_number = None))]
    fn identify_volunteer(
        &self,
        py: Python<'_>,
        ledger: &str,
        volunteer: &str,
        name: String,
        phone: Option<String>,
        id_number: Option<String>,
    ) -> PyResult<()> {
        let doc = parse_doc(ledger)?;
        let record = format!("volunteers/{}", parse_volunteer(volunteer)?);
        let data = PersonalData::Volunteer {
            name,
            phone,
            id_number,
        };
        self.run(py, move |n| async move {
            n.write_personal(doc, &record, Some(data)).await
        })?;
        Ok(())
    }

    /// Erases the personal data of `record` (e.g. `requests/<booking>`,
    /// `volunteers/dianye:7`) of document `doc`, here and on every node of its audience;
    /// ids, statuses and balances stay.
    fn erase_personal(&self, py: Python<'_>, doc: &str, record: String) -> PyResult<()> {
        let doc = parse_doc(doc)?;
        self.run(
            py,
            move |n| async move { n.erase_personal(doc, &record).await },
        )?;
        Ok(())
    }

    /// The personal data this node holds, as dicts: `doc`, `record`, `kind` (booker,
    /// household, resident, volunteer or erased), `data` (a dict, or None once erased) and
    /// `audience` (the organisations that may read it).
    #[pyo3(signature = (doc = None))]
    fn personal_records<'py>(
        &self,
        py: Python<'py>,
        doc: Option<&str>,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let doc = doc.map(parse_doc).transpose()?;
        let rows = self.query(py, move |r| {
            Ok(r.personal_records()
                .filter(|p| doc.is_none_or(|d| d == p.doc))
                .map(|p| {
                    let audience = r
                        .personal_audience(p.doc, &p.record)
                        .map(|a| a.readers.iter().map(ToString::to_string).collect())
                        .unwrap_or_default();
                    (p.clone(), audience)
                })
                .collect::<Vec<(_, Vec<String>)>>())
        })?;
        rows.into_iter()
            .map(|(p, audience)| {
                let d = PyDict::new(py);
                d.set_item("doc", p.doc.to_string())?;
                d.set_item("record", &p.record)?;
                d.set_item(
                    "kind",
                    p.data.as_ref().map_or("erased", PersonalData::label),
                )?;
                let data = match &p.data {
                    None => None,
                    Some(data) => {
                        let fields = PyDict::new(py);
                        let v = serde_json::to_value(data).map_err(|e| {
                            ValidationError::new_err(format!("personal record: {e}"))
                        })?;
                        if let serde_json::Value::Object(m) = v {
                            for (k, v) in m {
                                if k != "kind" {
                                    fields.set_item(k, v.as_str().map(str::to_string))?;
                                }
                            }
                        }
                        Some(fields)
                    }
                };
                d.set_item("data", data)?;
                d.set_item("audience", audience)?;
                Ok(d)
            })
            .collect()
    }

    // ---- wishes: claims and lifecycle -----------------------------------------------

    /// Offers to take up a wish or an offer, optionally naming the volunteer who will do
    /// it. Returns the claim's id.
    #[pyo3(signature = (wishes, wish, note = "", volunteer = None))]
    fn claim_wish(
        &self,
        py: Python<'_>,
        wishes: &str,
        wish: &str,
        note: &str,
        volunteer: Option<&str>,
    ) -> PyResult<String> {
        let op = Op::Wishes(WishesOp::Claim {
            wish: parse_id::<WishId>(wish)?,
            volunteer: volunteer.map(parse_volunteer).transpose()?,
            note: note.to_owned(),
        });
        Ok(match self.execute_op(py, wishes, op)? {
            Effect::Claim(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// Assigns a claim of a wish (the community).
    fn assign_claim(&self, py: Python<'_>, wishes: &str, wish: &str, claim: &str) -> PyResult<()> {
        let op = Op::Wishes(WishesOp::Assign {
            wish: parse_id::<WishId>(wish)?,
            claim: parse_id::<ClaimId>(claim)?,
        });
        self.execute_op(py, wishes, op)?;
        Ok(())
    }

    /// Releases the assignment of a claim (the community).
    fn release_claim(&self, py: Python<'_>, wishes: &str, wish: &str, claim: &str) -> PyResult<()> {
        let op = Op::Wishes(WishesOp::Release {
            wish: parse_id::<WishId>(wish)?,
            claim: parse_id::<ClaimId>(claim)?,
        });
        self.execute_op(py, wishes, op)?;
        Ok(())
    }

    /// Records a lifecycle step of an item: `fulfilled` (text: note), `confirmed`,
    /// `withdrawn` (text: reason), `routed` (text: to whom), `resolved` (text: resolution)
    /// or `declined` (text: reason).
    #[pyo3(signature = (wishes, wish, stage, text = ""))]
    fn advance_wish(
        &self,
        py: Python<'_>,
        wishes: &str,
        wish: &str,
        stage: &str,
        text: &str,
    ) -> PyResult<()> {
        let stage = match stage {
            "fulfilled" => Stage::Fulfilled {
                note: text.to_owned(),
            },
            "confirmed" => Stage::Confirmed,
            "withdrawn" => Stage::Withdrawn {
                reason: text.to_owned(),
            },
            "routed" => Stage::Routed {
                to: text.to_owned(),
            },
            "resolved" => Stage::Resolved {
                resolution: text.to_owned(),
            },
            "declined" => Stage::Declined {
                reason: text.to_owned(),
            },
            other => {
                return Err(ValidationError::new_err(format!(
                    "unknown stage {other:?} (expected fulfilled, confirmed, withdrawn, routed, resolved or declined)"
                )));
            }
        };
        let op = Op::Wishes(WishesOp::Advance {
            wish: parse_id::<WishId>(wish)?,
            stage,
        });
        self.execute_op(py, wishes, op)?;
        Ok(())
    }

    /// The claims of an item, with whether each is assigned.
    fn claims(&self, py: Python<'_>, wishes: &str, wish: &str) -> PyResult<Vec<Claim>> {
        let doc = parse_doc(wishes)?;
        let id = parse_id::<WishId>(wish)?;
        let rows = self.query(py, move |r| {
            let w = r.wishes(doc)?;
            w.item(&id)?;
            let assigned = w.assigned(&id);
            Ok(w.claims(&id)
                .into_iter()
                .map(|(c, claim)| {
                    let a = assigned.contains(&c);
                    (c, claim, a)
                })
                .collect::<Vec<_>>())
        })?;
        rows.into_iter()
            .map(|(c, claim, a)| Claim::from_rust(py, wish.to_owned(), c, claim, a))
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

    /// The same as `subscribe()`: events of this node from now on.
    fn events(slf: &Bound<'_, Self>) -> Events {
        Self::subscribe(slf)
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

/// Where a `LedgerEntries` iterator is: entries read but not yet yielded, and the key of
/// the last entry read.
#[derive(Default)]
struct PageState {
    buffer: VecDeque<(EntryId, linli::core::ledger::Entry)>,
    after: Option<EntryId>,
    done: bool,
}

/// An iterator over the entries of a ledger that reads them from the node a page at a
/// time (see `Node.ledger_entries()`). Entries written while iterating appear if their id
/// comes after the last one read.
#[pyclass(frozen, module = "linli")]
pub struct LedgerEntries {
    node: Py<Node>,
    doc: DocId,
    volunteer: Option<VolunteerId>,
    page_size: usize,
    state: Mutex<PageState>,
}

impl LedgerEntries {
    /// Reads the next page after `after` (ids in key order, the order of the ledger's
    /// entry map; linli-core's `Ledger::entries` lists them in that order).
    /// Reads the next page (`page_size` entries after `after`, in key order): the entries
    /// that pass the volunteer filter, the last id read, and whether the ledger is exhausted.
    fn fetch(&self, py: Python<'_>, after: Option<EntryId>) -> PyResult<Page> {
        let (doc, limit, volunteer) = (self.doc, self.page_size, self.volunteer.clone());
        self.node.get().query(py, move |r| {
            let page = r.ledger(doc)?.entries_after(after.as_ref(), limit);
            let exhausted = page.len() < limit;
            let last = page.last().map(|(id, _)| id.clone());
            let kept = page
                .into_iter()
                .filter(|(_, e)| volunteer.as_ref().is_none_or(|v| &e.volunteer == v))
                .collect();
            Ok((kept, last, exhausted))
        })
    }
}

/// A page of ledger entries: kept entries, last id read, exhausted.
type Page = (
    Vec<(EntryId, linli::core::ledger::Entry)>,
    Option<EntryId>,
    bool,
);

#[pymethods]
impl LedgerEntries {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<LedgerEntry>> {
        let lock = || {
            self.state
                .lock()
                .map_err(|_| crate::errors::LinliError::new_err("ledger iterator poisoned"))
        };
        loop {
            // The lock is never held while the GIL is released (a thread waiting for it
            // holds the GIL), so the page is read without it.
            let after = {
                let mut state = lock()?;
                if let Some((id, e)) = state.buffer.pop_front() {
                    drop(state);
                    return LedgerEntry::from_rust(py, id, e).map(Some);
                }
                if state.done {
                    return Ok(None);
                }
                state.after.clone()
            };
            let (page, last, exhausted) = self.fetch(py, after.clone())?;
            let mut state = lock()?;
            if state.after != after || !state.buffer.is_empty() {
                continue; // another thread read this page meanwhile
            }
            state.done = exhausted;
            if last.is_some() {
                state.after = last;
            }
            state.buffer.extend(page);
        }
    }

    fn __repr__(&self) -> String {
        format!("LedgerEntries(ledger={:?})", self.doc.to_string())
    }
}
