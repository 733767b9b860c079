//! The axum server.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request as HttpRequest, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use linli_core::{DocId, DocKind};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::Node;
use crate::net::Network;
use crate::ops::{self, OpsError, Request};

/// File in the data directory holding the running daemon's API address.
pub const ADDR_FILE: &str = "api.addr";
/// File in the data directory holding the running daemon's dashboard address with its
/// token (`http://127.0.0.1:PORT/#token=…`, mode 0600): kept out of logs, printed only to a
/// terminal.
pub const DASHBOARD_FILE: &str = "dashboard.url";

/// Errors starting or stopping the API server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding the address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("API server: {0}")]
    Server(std::io::Error),
    /// The server task panicked or was cancelled.
    #[error("API server task failed: {0}")]
    Task(String),
}

/// A running API server: its bound address and a shutdown handle.
#[derive(Debug)]
pub struct ApiServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl ApiServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets open requests finish, and waits for the server.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r.map_err(ServeError::Server),
            Err(e) => Err(ServeError::Task(e.to_string())),
        }
    }
}

struct AppState {
    node: Node,
    net: Option<Network>,
    token: String,
    /// Becomes `true` when the server stops: open event streams end, so the graceful
    /// shutdown does not wait for them.
    closing: tokio::sync::watch::Receiver<bool>,
}

type Shared = Arc<AppState>;

/// Starts the API server for `node` (and its network, if running) on `addr` (port 0 picks a
/// free port); every request must carry `Authorization: Bearer <token>`.
pub async fn serve(
    node: Node,
    net: Option<Network>,
    addr: SocketAddr,
    token: String,
) -> Result<ApiServer, ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let (close, closing) = tokio::sync::watch::channel(false);
    let state: Shared = Arc::new(AppState {
        node,
        net,
        token,
        closing,
    });
    let app = router(state);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
                let _ = close.send(true);
            })
            .await
    });
    tracing::info!(addr = %bound, "HTTP API listening");
    Ok(ApiServer {
        addr: bound,
        stop: Some(stop),
        task,
    })
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/v1/call", post(call))
        .route("/api/v1/status", get(status))
        .route("/api/v1/catalogue", get(catalogue))
        .route("/api/v1/documents", get(documents))
        .route("/api/v1/bookings", get(bookings))
        .route("/api/v1/leaderboard", get(leaderboard))
        .route("/api/v1/balances", get(balances))
        .route("/api/v1/compounds", get(compounds))
        .route("/api/v1/wishes", get(wishes))
        .route("/api/v1/volunteers", get(volunteers))
        .route("/api/v1/resources", get(resources))
        .route("/api/v1/orders", get(orders))
        .route("/api/v1/peers", get(peers))
        .route("/api/v1/rejected", get(rejected))
        .route("/api/v1/events", get(events))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route("/calendar/{file}", get(calendar))
        .route("/checkin/{token}", get(checkin_page).post(checkin_post))
        .route("/", get(dashboard_page))
        .route("/index.html", get(dashboard_page))
        .route("/dashboard.js", get(dashboard_js))
        .route("/forms.js", get(forms_js))
        .route("/dashboard.css", get(dashboard_css))
        .route("/favicon.ico", get(favicon))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .with_state(state)
}

/// A JSON error response.
fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = json!({ "error": message.into(), "kind": kind });
    (status, axum::Json(body)).into_response()
}

fn ops_error(e: OpsError) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = json!({ "error": e.to_string(), "kind": e.kind() });
    if let Some(zh) = e.zh() {
        body["message_zh"] = Value::String(zh);
    }
    (status, axum::Json(body)).into_response()
}

fn answer(r: Result<Value, OpsError>) -> Response {
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => ops_error(e),
    }
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Paths served without a token: the dashboard's static files, which hold no data (the
/// page reads the token from its URL fragment and sends it with every data request).
const PUBLIC: [&str; 6] = [
    "/",
    "/index.html",
    "/dashboard.js",
    "/forms.js",
    "/dashboard.css",
    "/favicon.ico",
];

async fn auth(State(st): State<Shared>, req: HttpRequest, next: Next) -> Response {
    let method = req.method();
    // Calendar feeds are named by their own secret (128 random bits in the path).
    if (method == axum::http::Method::GET || method == axum::http::Method::HEAD)
        && (PUBLIC.contains(&req.uri().path()) || req.uri().path().starts_with(CALENDAR))
    {
        return next.run(req).await;
    }
    // Check-in pages are named by their session's unguessable token (and take check-ins
    // only with the session's current code).
    if req.uri().path().starts_with(ops::sessions::CHECKIN_PATH) {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    match given {
        None => error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing Authorization header: send `Authorization: Bearer <token>` (the token is in the data directory's api.token)",
        ),
        Some(v) => match v.strip_prefix("Bearer ") {
            Some(t) if same(t.trim().as_bytes(), st.token.as_bytes()) => next.run(req).await,
            _ => error(StatusCode::UNAUTHORIZED, "unauthorized", "wrong API token"),
        },
    }
}

/// Prefix of the calendar feeds' paths, served without the API token.
const CALENDAR: &str = "/calendar/";

/// `GET /calendar/<secret>.ics`: a room's bookings as iCalendar (see [`crate::calendar`]).
/// An unknown or rotated secret is a plain 404, the same as a malformed one.
async fn calendar(
    State(st): State<Shared>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Response {
    let missing = || error(StatusCode::NOT_FOUND, "not_found", "no such calendar feed");
    let Some(secret) = crate::calendar::parse_feed_file(&file) else {
        return missing();
    };
    let doc = match st.node.calendar_lookup(secret).await {
        Ok(Some(doc)) => doc,
        Ok(None) => return missing(),
        Err(e) => return ops_error(e.into()),
    };
    let now = st.node.now();
    match st
        .node
        .read(move |r| crate::calendar::feed(r, doc, now))
        .await
    {
        Ok(Ok(text)) => (
            [
                (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            text,
        )
            .into_response(),
        // The resource is gone from this node (its store was replaced).
        Ok(Err(e)) => error(StatusCode::NOT_FOUND, "not_found", e),
        Err(e) => ops_error(e.into()),
    }
}

/// The session of a check-in page's token (ending sessions closed first), or a 404.
async fn checkin_session(
    st: &AppState,
    token: &str,
) -> Result<(linli_core::DocId, linli_core::SessionId), Response> {
    ops::sessions::close_ended(&st.node).await;
    match ops::sessions::by_token(&st.node, token).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such check-in page",
        )),
        Err(e) => Err(ops_error(e)),
    }
}

/// `GET /checkin/<token>`: the check-in page of a session opened on this node.
async fn checkin_page(
    State(st): State<Shared>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    let (doc, session) = match checkin_session(&st, &token).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let info = match ops::sessions::page_session(&st.node, doc, session).await {
        Ok(v) => v,
        Err(e) => return ops_error(e),
    };
    let field = |k: &str| html_escape(info.get(k).and_then(Value::as_str).unwrap_or(""));
    let page = CHECKIN_HTML
        .replace("{{activity}}", &field("activity"))
        .replace("{{place}}", &field("place"))
        .replace("{{start}}", &field("start"))
        .replace("{{end}}", &field("end"));
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        page,
    )
        .into_response()
}

const CHECKIN_HTML: &str = include_str!("checkin/checkin.html");

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// What the check-in page posts.
#[derive(serde::Deserialize)]
struct CheckinForm {
    volunteer: String,
    code: String,
    /// `in` or `out`.
    action: String,
}

/// `POST /checkin/<token>`: a check-in or check-out with the session's current code.
async fn checkin_post(
    State(st): State<Shared>,
    axum::extract::Path(token): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    let (doc, session) = match checkin_session(&st, &token).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let form: CheckinForm = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("bad check-in JSON: {e}"),
            );
        }
    };
    let volunteer: linli_core::VolunteerId = match form.volunteer.trim().parse() {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("volunteer id {:?}: {e}", form.volunteer),
            );
        }
    };
    let req = match form.action.as_str() {
        "in" => Request::SessionCheckin {
            doc: Some(doc),
            session,
            volunteer,
            code: form.code,
        },
        "out" => Request::SessionCheckout {
            doc: Some(doc),
            session,
            volunteer,
            code: form.code,
        },
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("action must be in or out, not {other:?}"),
            );
        }
    };
    run(&st, req).await
}

async fn not_found(req: HttpRequest) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route {} {}", req.method(), req.uri().path()),
    )
}

async fn call(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| t.starts_with("application/json"));
    if !json_type {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid",
            "the request body must be JSON (Content-Type: application/json)",
        );
    }
    let req: Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("bad request JSON: {e}"),
            );
        }
    };
    answer(ops::execute_with(&st.node, st.net.as_ref(), req).await)
}

async fn run(st: &AppState, req: Request) -> Response {
    answer(ops::execute_with(&st.node, st.net.as_ref(), req).await)
}

async fn status(State(st): State<Shared>) -> Response {
    run(&st, Request::Status).await
}

/// `GET /api/v1/catalogue`: what this node may do, for the dashboard's generated forms.
async fn catalogue(State(st): State<Shared>) -> Response {
    run(&st, Request::Catalogue).await
}

#[derive(Deserialize)]
struct DocsQuery {
    kind: Option<DocKind>,
}

async fn documents(
    State(st): State<Shared>,
    q: Result<Query<DocsQuery>, QueryRejection>,
) -> Response {
    match q {
        Ok(Query(q)) => run(&st, Request::Documents { kind: q.kind }).await,
        Err(e) => bad_query(e),
    }
}

#[derive(Deserialize)]
struct DocQuery {
    doc: Option<DocId>,
}

fn bad_query(e: QueryRejection) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid",
        format!("bad query string: {}", e.body_text()),
    )
}

async fn bookings(
    State(st): State<Shared>,
    q: Result<Query<DocQuery>, QueryRejection>,
) -> Response {
    match q {
        Ok(Query(q)) => run(&st, Request::BookingList { doc: q.doc }).await,
        Err(e) => bad_query(e),
    }
}

#[derive(Deserialize)]
struct BoardQuery {
    doc: Option<DocId>,
    team: Option<String>,
}

async fn leaderboard(
    State(st): State<Shared>,
    q: Result<Query<BoardQuery>, QueryRejection>,
) -> Response {
    match q {
        Ok(Query(q)) => {
            run(
                &st,
                Request::Leaderboard {
                    doc: q.doc,
                    team: q.team,
                },
            )
            .await
        }
        Err(e) => bad_query(e),
    }
}

async fn balances(State(st): State<Shared>) -> Response {
    run(&st, Request::Balances).await
}

#[derive(Deserialize)]
struct CompoundsQuery {
    doc: Option<DocId>,
    year: Option<i16>,
}

async fn compounds(
    State(st): State<Shared>,
    q: Result<Query<CompoundsQuery>, QueryRejection>,
) -> Response {
    match q {
        Ok(Query(q)) => {
            run(
                &st,
                Request::CompoundList {
                    doc: q.doc,
                    year: q.year,
                },
            )
            .await
        }
        Err(e) => bad_query(e),
    }
}

async fn volunteers(
    State(st): State<Shared>,
    q: Result<Query<DocQuery>, QueryRejection>,
) -> Response {
    match q {
        Ok(Query(q)) => run(&st, Request::VolunteerList { doc: q.doc }).await,
        Err(e) => bad_query(e),
    }
}

async fn wishes(State(st): State<Shared>, q: Result<Query<DocQuery>, QueryRejection>) -> Response {
    match q {
        Ok(Query(q)) => run(&st, Request::WishList { doc: q.doc }).await,
        Err(e) => bad_query(e),
    }
}

async fn resources(State(st): State<Shared>) -> Response {
    run(&st, Request::ResourceList).await
}

#[derive(Deserialize)]
struct OrdersQuery {
    doc: Option<DocId>,
    date: jiff::civil::Date,
}

async fn orders(
    State(st): State<Shared>,
    q: Result<Query<OrdersQuery>, QueryRejection>,
) -> Response {
    match q {
        Ok(Query(q)) => {
            run(
                &st,
                Request::OrderList {
                    doc: q.doc,
                    date: q.date,
                },
            )
            .await
        }
        Err(e) => bad_query(e),
    }
}

async fn peers(State(st): State<Shared>) -> Response {
    run(&st, Request::Peers).await
}

async fn rejected(State(st): State<Shared>) -> Response {
    run(&st, Request::Rejected).await
}

/// The node's events as they happen (server-sent events, one JSON object each: `kind` and
/// the document, peer or reason it names — never personal data), so a page shows what
/// changes without polling. The stream ends when the server stops; a client that falls
/// behind gets a `lagged` event (it should reload) and the stream goes on.
async fn events(State(st): State<Shared>) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use tokio::sync::broadcast::error::RecvError;
    let rx = st.node.subscribe();
    let closing = st.closing.clone();
    let stream = futures::stream::unfold((rx, closing), |(mut rx, mut closing)| async move {
        if *closing.borrow() {
            return None;
        }
        let (kind, row) = tokio::select! {
            r = rx.recv() => match r {
                Ok(e) => (e.kind(), ops::rows::event(&e)),
                Err(RecvError::Lagged(n)) => ("lagged", ops::rows::lagged(n)),
                Err(RecvError::Closed) => return None,
            },
            _ = closing.changed() => return None,
        };
        let event = Event::default().event(kind).data(row.to_string());
        Some((Ok::<_, std::convert::Infallible>(event), (rx, closing)))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response()
}

/// The OpenAPI 3 description of this API (hand-written, checked by the API tests).
const OPENAPI: &str = include_str!("openapi.json");
const DASHBOARD_HTML: &str = include_str!("dashboard/index.html");
const DASHBOARD_JS: &str = include_str!("dashboard/dashboard.js");
const FORMS_JS: &str = include_str!("dashboard/forms.js");
const DASHBOARD_CSS: &str = include_str!("dashboard/dashboard.css");
const FAVICON_SVG: &str = include_str!("dashboard/favicon.svg");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// A static dashboard file: never cached stale (the binary may be upgraded), never framed,
/// scripts and styles only from this origin.
fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            ),
        ],
        body,
    )
        .into_response()
}

async fn dashboard_page() -> Response {
    static_file("text/html; charset=utf-8", DASHBOARD_HTML)
}

async fn dashboard_js() -> Response {
    static_file("text/javascript; charset=utf-8", DASHBOARD_JS)
}

async fn forms_js() -> Response {
    static_file("text/javascript; charset=utf-8", FORMS_JS)
}

async fn dashboard_css() -> Response {
    static_file("text/css; charset=utf-8", DASHBOARD_CSS)
}

async fn favicon() -> Response {
    static_file("image/svg+xml", FAVICON_SVG)
}

/// Bytes of the store on disk: the database and its write-ahead log.
fn store_bytes(dir: &Path) -> u64 {
    ["linli.db", "linli.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

async fn metrics(State(st): State<Shared>) -> Response {
    let s = match st.node.status().await {
        Ok(s) => s,
        Err(e) => return ops_error(e.into()),
    };
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, lines: Vec<(String, u64)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (labels, v) in lines {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    let mut docs = Vec::new();
    for &kind in linli_core::kinds::ALL {
        let n = s.documents.get(&kind).copied().unwrap_or(0);
        let k = serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        docs.push((format!("{{kind=\"{k}\"}}"), n as u64));
    }
    gauge("linli_documents", "Documents held, by kind.", docs);
    gauge(
        "linli_changes",
        "Changes in the log.",
        vec![(String::new(), s.log)],
    );
    gauge(
        "linli_changes_accepted",
        "Changes in the log that are applied.",
        vec![(String::new(), s.accepted)],
    );
    gauge(
        "linli_changes_pending",
        "Changes waiting for dependencies or a certificate.",
        vec![(String::new(), s.pending)],
    );
    gauge(
        "linli_changes_rejected",
        "Changes refused.",
        vec![(String::new(), s.refused)],
    );
    gauge(
        "linli_equivocating_keys",
        "Keys seen signing two different changes in one (document, actor, seq) slot.",
        vec![(String::new(), s.equivocators.len() as u64)],
    );
    gauge(
        "linli_store_bytes",
        "Size of the store on disk (linli.db and its write-ahead log).",
        vec![(String::new(), store_bytes(st.node.dir()))],
    );
    // Without networking (an API served for a node alone) the network series read 0.
    let t = st.net.as_ref().map(|n| n.stats()).unwrap_or_default();
    gauge(
        "linli_peers",
        "Connected peers.",
        vec![(String::new(), t.peers as u64)],
    );
    gauge(
        "linli_sync_sessions_open",
        "Sync sessions being answered now.",
        vec![(String::new(), t.sessions_open as u64)],
    );
    gauge(
        "linli_sync_sessions_queued_bytes",
        "Bytes of answers waiting in the sessions being answered.",
        vec![(String::new(), t.sessions_queued_bytes as u64)],
    );
    gauge(
        "linli_pulls_pending",
        "Documents being pulled after announcements (at most 64).",
        vec![(String::new(), t.pulls_pending as u64)],
    );
    for (name, help, v) in [
        (
            "linli_sync_sessions_ok",
            "Sync sessions started that completed.",
            t.sessions_ok,
        ),
        (
            "linli_sync_sessions_failed",
            "Sync sessions started that failed.",
            t.sessions_failed,
        ),
        (
            "linli_sync_sessions_answered",
            "Sync sessions answered.",
            t.sessions_answered,
        ),
        ("linli_net_bytes_in", "Bytes received by sync.", t.bytes_in),
        ("linli_net_bytes_out", "Bytes sent by sync.", t.bytes_out),
        (
            "linli_sync_changes_applied",
            "New changes received by sync and applied.",
            t.changes_applied,
        ),
        (
            "linli_sync_changes_refused",
            "Changes received by sync and refused by a write policy.",
            t.changes_refused,
        ),
        (
            "linli_peers_dropped",
            "Peers dropped for refusal, invalid data or flooding.",
            t.peers_dropped,
        ),
        (
            "linli_announcements",
            "Announcements of new heads published.",
            t.announcements,
        ),
        (
            "linli_announcements_deferred",
            "Announcements left to the next session (64 documents were being pulled).",
            t.announcements_deferred,
        ),
        (
            "linli_announcements_broken",
            "Announcements whose author, asked directly, delivered nothing.",
            t.announcements_broken,
        ),
        (
            "linli_quota_refused_total",
            "Received changes not stored because their signer exceeded its write quota for \
             the document and day (since the node started).",
            s.quota_refused,
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        let _ = writeln!(out, "{name} {v}");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// A fresh random API token (32 bytes, hex).
pub fn random_token() -> Result<String, std::io::Error> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex::encode(b))
}

/// Writes `text` to `path` readable by the owner only (mode 0600), replacing it atomically
/// (through `<path>.tmp`).
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    crate::private::write(path, text.as_bytes())
}
