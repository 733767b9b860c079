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

use linli::core::cert::Role;
use linli::core::federation::FederationOp;
use linli::core::identity::Keypair;
use linli::core::ids::IdError;
use linli::core::ledger::{LedgerOp, LedgerRules, Points};
use linli::core::personal::Resident;
use linli::core::registry::{
    AppointmentStatus, ChecklistItem, ChecklistTemplate, Compound, ManagementMode, RegistryOp,
    ScorerRole,
};
use linli::core::resource::{BookingForm, ResourceOp, ResourceSpec};
use linli::core::wishes::{Channel, ItemKind, Stage, WishesOp};
use linli::core::{
    BookingId, ClaimId, CompoundId, DistrictConfig, DocId, Effect, EntryId, NewDoc, NodeId, Op,
    OrderId, OrgId, Slot, Timestamp, VolunteerId, WishId,
};
use linli::node::{Durability, InitOptions, NodeError, OpenOptions};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use tokio::sync::broadcast;

use crate::errors::{ValidationError, map_core_error, map_net_error, map_node_error};
use crate::types::{build, build_list, decode, json_to_py};
use linli::node::api::ApiClient;
use linli::node::net::NetConfig;
use linli::node::ops::Request;
use linli::node::results::{self as results, Read};
use serde_json::Value;

mod catalogue;
mod federation;
mod ledger;
mod points;
mod registry;
mod reports;
mod resource;
mod wishes;

/// Where a `Node`'s calls go: the store opened in this process, or the running daemon of a
/// data directory (its local HTTP API, with the token from the data directory). Both take
/// the node's operations layer's requests (`linli_node::ops::Request`) and answer the same
/// JSON, so methods, result classes and exceptions are the same.
enum Backend {
    Local(linli::node::Node),
    Remote(ApiClient),
}

/// Who the node is (read once: from the store, or from the daemon's status).
struct Ident {
    node_id: NodeId,
    org: OrgId,
    root: NodeId,
    dir: PathBuf,
}

/// A linli node: a data directory served by a background actor, with its own identity.
///
/// Create one with `Node.init(...)` or `Node.open(...)`, or reach a running daemon with
/// `Node.connect(...)`; use it as a context manager or call `close()` when done.
#[pyclass(frozen, module = "linli")]
pub struct Node {
    rt: tokio::runtime::Runtime,
    backend: Backend,
    ident: Ident,
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

/// The result object of `class` for a result value of this side (`linli_node::results`).
fn result<'py, T: serde::Serialize>(
    py: Python<'py>,
    class: &str,
    v: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let v = serde_json::to_value(v)
        .map_err(|e| crate::errors::LinliError::new_err(format!("cannot encode {class}: {e}")))?;
    build(py, class, &v)
}

impl Node {
    /// The opened store, or an error naming `what` cannot be done through a daemon.
    fn local(&self, what: &str) -> PyResult<linli::node::Node> {
        match &self.backend {
            Backend::Local(n) => Ok(n.clone()),
            Backend::Remote(c) => Err(crate::errors::LinliError::new_err(format!(
                "{what} is not available through a running daemon (this node is connected to \
                 the daemon at {} by linli.connect): it needs the store opened in this \
                 process (stop the daemon and use Node.open)",
                c.addr()
            ))),
        }
    }

    /// Runs `f(node)` on the opened store to completion on the runtime, with the GIL
    /// released (`what` names the call in the error raised through a daemon).
    fn run<T, Fut>(
        &self,
        py: Python<'_>,
        what: &str,
        f: impl FnOnce(linli::node::Node) -> Fut + Send,
    ) -> PyResult<T>
    where
        T: Send,
        Fut: Future<Output = Result<T, NodeError>>,
    {
        let node = self.local(what)?;
        py.detach(|| self.rt.block_on(f(node)))
            .map_err(map_node_error)
    }

    fn started(
        rt: tokio::runtime::Runtime,
        node: linli::node::Node,
        config: Option<PathBuf>,
    ) -> Node {
        let ident = Ident {
            node_id: node.node_id(),
            org: node.org().clone(),
            root: node.root(),
            dir: node.dir().to_path_buf(),
        };
        Node {
            rt,
            backend: Backend::Local(node),
            ident,
            closed: AtomicBool::new(false),
            config,
            network: std::sync::Mutex::new(None),
        }
    }

    /// Runs a request of the node's operations layer (the CLI's and the HTTP API's path):
    /// on the opened store, or sent to the daemon.
    fn call(&self, py: Python<'_>, req: Request) -> PyResult<Value> {
        match &self.backend {
            Backend::Local(n) => {
                let node = n.clone();
                py.detach(|| {
                    self.rt
                        .block_on(async move { linli::node::ops::execute(&node, req).await })
                })
                .map_err(crate::errors::map_ops_error)
            }
            Backend::Remote(c) => {
                if self.closed.load(Ordering::SeqCst) {
                    return Err(map_node_error(NodeError::Shutdown));
                }
                py.detach(|| self.rt.block_on(c.call(&req)))
                    .map_err(crate::errors::map_api_error)
            }
        }
    }

    /// Answers a typed read (`linli_node::results::answer`, linli-core's typed views) with
    /// the GIL released: the JSON of its result type.
    fn read(&self, py: Python<'_>, read: Read) -> PyResult<Value> {
        match &self.backend {
            Backend::Local(n) => {
                let node = n.clone();
                py.detach(|| {
                    self.rt
                        .block_on(async move { results::answer(&node, read).await })
                })
                .map_err(crate::errors::map_ops_error)
            }
            Backend::Remote(_) => self.call(py, Request::Read { read }),
        }
    }

    /// A read whose answer is one result object of `class`.
    fn read_one<'py>(
        &self,
        py: Python<'py>,
        class: &str,
        read: Read,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = self.read(py, read)?;
        build(py, class, &v)
    }

    /// A read whose answer is a list of result objects of `class`.
    fn read_list<'py>(
        &self,
        py: Python<'py>,
        class: &str,
        read: Read,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let v = self.read(py, read)?;
        build_list(py, class, &v)
    }

    /// The owning community for a new document: `community` if given, else this node's
    /// organisation.
    fn community_or_own(&self, community: Option<&str>) -> PyResult<OrgId> {
        match community {
            Some(c) => parse_org(c),
            None => Ok(self.ident.org.clone()),
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
        let node = self.local("the network (listen, sync_with)")?;
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
        if let Backend::Remote(_) = self.backend {
            let v = self.call(py, Request::Create { new })?;
            return decode("created document", v["doc"].clone());
        }
        let change = self.run(py, "create", |n| async move { n.create(new).await })?;
        Ok(change.doc.to_string())
    }

    /// Runs a request of the node's operations layer (the CLI's and the HTTP API's path).
    fn ops(&self, py: Python<'_>, req: Request) -> PyResult<Value> {
        self.call(py, req)
    }

    fn execute_op(&self, py: Python<'_>, doc: &str, op: Op) -> PyResult<Effect> {
        let doc = parse_doc(doc)?;
        if let Backend::Remote(_) = self.backend {
            let v = self.call(py, Request::Execute { doc, op })?;
            return decode("effect", v["effect"].clone());
        }
        let written = self.run(py, "execute", |n| async move { n.execute(doc, op).await })?;
        Ok(written.effect)
    }
}

impl Drop for Node {
    /// A node dropped without `close()` is shut down here, so that its store is unlocked
    /// as soon as the Python object is gone (not a moment later).
    fn drop(&mut self) {
        if !self.closed.swap(true, Ordering::SeqCst)
            && let Backend::Local(n) = &self.backend
        {
            let _ = self.rt.block_on(n.shutdown());
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
        let served = path.join(linli::node::api::ADDR_FILE).exists();
        let shown = path.display().to_string();
        let node = py
            .detach(|| rt.block_on(linli::node::Node::open(path, opts)))
            .map_err(|e| {
                let err = map_node_error(e);
                if !served {
                    return err;
                }
                // The store is the daemon's: say how to reach it instead.
                let msg = format!(
                    "{}; a daemon (`linli run`) serves {shown}: use linli.connect({shown:?}) \
                     to work through it",
                    err.value(py)
                );
                PyErr::from_type(err.get_type(py), msg)
            })?;
        Ok(Node::started(rt, node, config))
    }

    /// Connects to the daemon (`linli run`) serving the data directory `path`: every call
    /// goes to it through its local HTTP API, with the address and token it wrote into the
    /// data directory (`api.addr`, the token file), and answers the same result classes
    /// and raises the same exceptions as a node opened here (export files are written and
    /// read by the daemon, on its machine). Events and the network (`listen`, `sync_with`)
    /// need the store opened in this process and raise `LinliError` saying so. `close()` closes this handle; the daemon runs on.
    #[staticmethod]
    #[pyo3(signature = (path, *, timeout = 120.0))]
    fn connect(py: Python<'_>, path: PathBuf, timeout: f64) -> PyResult<Node> {
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(validation(format!(
                "timeout must be a positive number of seconds, not {timeout}"
            )));
        }
        let cfg = linli::node::config::Config::load_dir(&path)
            .map_err(|e| crate::errors::StorageError::new_err(e.to_string()))?;
        let client = ApiClient::from_dir(&path, &cfg)
            .map_err(crate::errors::map_api_error)?
            .ok_or_else(|| {
                crate::errors::LinliError::new_err(format!(
                    "no daemon runs for {}: it has no {} (start one with `linli --dir {} run`, \
                     or open the store with Node.open)",
                    path.display(),
                    linli::node::api::ADDR_FILE,
                    path.display()
                ))
            })?
            .with_timeout(std::time::Duration::from_secs_f64(timeout));
        let rt = runtime()?;
        let status = py
            .detach(|| rt.block_on(client.call(&Request::Read { read: Read::Status })))
            .map_err(crate::errors::map_api_error)?;
        let field = |name: &str| -> PyResult<String> {
            decode(&format!("status field {name}"), status[name].clone())
        };
        let ident = Ident {
            node_id: parse_node_id(&field("node_id")?)?,
            org: parse_org(&field("org")?)?,
            root: parse_node_id(&field("root")?)?,
            dir: PathBuf::from(field("path")?),
        };
        Ok(Node {
            rt,
            backend: Backend::Remote(client),
            ident,
            closed: AtomicBool::new(false),
            config: None,
            network: std::sync::Mutex::new(None),
        })
    }

    /// Whether this handle talks to a running daemon (`Node.connect`) rather than a store
    /// opened in this process.
    #[getter]
    fn remote(&self) -> bool {
        matches!(self.backend, Backend::Remote(_))
    }

    /// The configuration file given to `open`, if any.
    #[getter]
    fn config_path(&self) -> Option<PathBuf> {
        self.config.clone()
    }

    /// This node's key (hex).
    #[getter]
    fn node_id(&self) -> String {
        self.ident.node_id.to_string()
    }

    /// The organisation this node acts for.
    #[getter]
    fn org(&self) -> String {
        self.ident.org.to_string()
    }

    /// The district root key this node trusts (hex).
    #[getter]
    fn root(&self) -> String {
        self.ident.root.to_string()
    }

    /// The data directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.ident.dir.clone()
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
        match &self.backend {
            Backend::Local(n) => {
                let n = n.clone();
                py.detach(|| self.rt.block_on(n.shutdown()))
                    .map_err(map_node_error)
            }
            // The daemon keeps running: only this handle is closed.
            Backend::Remote(_) => Ok(()),
        }
    }

    /// Starts this node's network: listens on `addrs` (multiaddrs; default any free port on
    /// 127.0.0.1), keeps connected to the `bootstrap` peers and syncs with every peer every
    /// `sync_interval` seconds and after each local write. Returns the addresses to give
    /// other nodes, e.g. `/ip4/127.0.0.1/tcp/40123/p2p/12D3Koo…`.
    #[pyo3(signature = (addrs = None, *, bootstrap = None, sync_interval = 120))]
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
    fn sync_with<'py>(
        &self,
        py: Python<'py>,
        addr: &str,
        timeout: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
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
        result(py, "SyncReport", &results::SyncReport::from(r))
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
            self.ident.node_id.short(),
            self.ident.org.as_str(),
            self.ident.dir.display().to_string(),
            if self.closed() { ", closed" } else { "" }
        )
    }

    /// Identity, counts of documents and changes of the node.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.read_one(py, "NodeStatus", Read::Status)
    }

    /// Every document held, in id order.
    fn documents<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.read_list(py, "DocumentInfo", Read::Documents)
    }

    // ---- events ---------------------------------------------------------------------

    /// Events of this node from now on, as an iterator (`for ev in node.subscribe()`
    /// blocks; `events.next(timeout=…)` returns `None` after `timeout` seconds).
    fn subscribe(slf: &Bound<'_, Self>) -> PyResult<Events> {
        let node = slf.get().local("subscribe (events)")?;
        Ok(Events {
            node: slf.clone().unbind(),
            rx: Mutex::new(node.subscribe()),
        })
    }

    /// The same as `subscribe()`: events of this node from now on.
    fn events(slf: &Bound<'_, Self>) -> PyResult<Events> {
        Self::subscribe(slf)
    }

    // ---- export / import ------------------------------------------------------------

    /// Writes the whole signed change log to a portable export file (through a daemon: a
    /// path on the daemon's machine, made absolute here).
    fn export<'py>(&self, py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        if let Backend::Remote(_) = self.backend {
            let path = absolute(path)?;
            let v = self.call(py, Request::ExportFile { path })?;
            return build(py, "ExportSummary", &v);
        }
        let s = self.run(py, "export", |n| async move { n.export(path).await })?;
        result(py, "ExportSummary", &results::ExportSummary::from(s))
    }

    /// Applies every change of an export file (idempotent).
    fn import_<'py>(&self, py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        if let Backend::Remote(_) = self.backend {
            let path = absolute(path)?;
            let mut v = self.call(py, Request::ImportFile { path })?;
            // The API's row names each invalid entry as `{entry, error}`; the result type
            // holds `(entry, error)` pairs.
            if let Some(Value::Array(invalid)) = v.get_mut("invalid") {
                for item in invalid.iter_mut() {
                    let pair = Value::Array(vec![item["entry"].clone(), item["error"].clone()]);
                    *item = pair;
                }
            }
            return build(py, "ImportReport", &v);
        }
        let r = self.run(py, "import_", |n| async move { n.import(path).await })?;
        result(py, "ImportReport", &results::ImportReport::from(r))
    }
}

/// `path` made absolute against this process's working directory (the daemon has its own).
fn absolute(path: PathBuf) -> PyResult<PathBuf> {
    std::path::absolute(&path)
        .map_err(|e| ValidationError::new_err(format!("path {}: {e}", path.display())))
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
    fn recv<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
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
        let ev = py.detach(|| -> PyResult<Option<linli::node::NodeEvent>> {
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
                    Ok(Ok(ev)) => return Ok(Some(ev)),
                    // A slow subscriber missed events: go on with the next ones.
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                    Ok(Err(broadcast::error::RecvError::Closed)) => return Ok(None),
                    Err(_) => Python::attach(|py| py.check_signals())?,
                }
            }
        })?;
        ev.map(|e| result(py, "Event", &results::Event::from(e)))
            .transpose()
    }
}

#[pymethods]
impl Events {
    /// The next event, or `None` after `timeout` seconds (default: wait) or once the node
    /// is closed.
    #[pyo3(signature = (timeout = None))]
    fn next<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.recv(py, timeout)
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.recv(py, None)
    }
}

/// Where a `LedgerEntries` iterator is: entries read but not yet yielded (`LedgerEntry`
/// objects), and the key of the last entry read.
#[derive(Default)]
struct PageState {
    buffer: VecDeque<Py<PyAny>>,
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

/// A page of ledger entries as `Read::LedgerPage` answers it.
#[derive(serde::Deserialize)]
struct Page {
    entries: Vec<Value>,
    last: Option<EntryId>,
    exhausted: bool,
}

impl LedgerEntries {
    /// Reads the next page (`page_size` entries after `after`, in key order): the entries
    /// that pass the volunteer filter, the last id read, and whether the ledger is exhausted.
    fn fetch(&self, py: Python<'_>, after: Option<EntryId>) -> PyResult<Page> {
        let read = Read::LedgerPage {
            doc: self.doc,
            after,
            limit: self.page_size,
            volunteer: self.volunteer.clone(),
        };
        decode("ledger page", self.node.get().read(py, read)?)
    }
}

#[pymethods]
impl LedgerEntries {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
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
                if let Some(e) = state.buffer.pop_front() {
                    return Ok(Some(e.into_bound(py)));
                }
                if state.done {
                    return Ok(None);
                }
                state.after.clone()
            };
            let page = self.fetch(py, after.clone())?;
            let entries = build_list(py, "LedgerEntry", &Value::Array(page.entries))?;
            let mut state = lock()?;
            if state.after != after || !state.buffer.is_empty() {
                continue; // another thread read this page meanwhile
            }
            state.done = page.exhausted;
            if page.last.is_some() {
                state.after = page.last;
            }
            state.buffer.extend(entries.into_iter().map(Bound::unbind));
        }
    }

    fn __repr__(&self) -> String {
        format!("LedgerEntries(ledger={:?})", self.doc.to_string())
    }
}
