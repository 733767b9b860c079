//! The local HTTP API: authentication, bad requests, calls, read routes, metrics.

use std::net::SocketAddr;

use linli_node::api::{self, ApiClient, ApiError};
use linli_node::core::{DocId, NewDoc};
use linli_node::ops::Request;
use linli_node::results::{self, Read};
use linli_node::{InitOptions, Node, OpenOptions};
use serde_json::Value;

use crate::util::{org, root_key};

const TOKEN: &str = "0123456789abcdef-test-token";

/// A root node with its federation document, served on a free port.
async fn served() -> (tempfile::TempDir, Node, api::ApiServer) {
    let tmp = tempfile::tempdir().unwrap();
    let mut init = InitOptions::new(org("heping"), root_key().node_id());
    init.secret = Some([0xAA; 32]);
    let node = Node::init(tmp.path(), init, OpenOptions::default())
        .await
        .unwrap();
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = api::serve(node.clone(), None, addr, TOKEN.to_string())
        .await
        .unwrap();
    assert!(server.addr().ip().is_loopback());
    assert_ne!(server.addr().port(), 0);
    (tmp, node, server)
}

fn error_of(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).expect("error bodies are JSON");
    v["error"].as_str().expect("an error message").to_string()
}

#[tokio::test]
async fn api_requires_the_token() {
    let (_tmp, node, server) = served().await;
    let c = ApiClient::new(server.addr(), TOKEN.into());
    for path in [
        "/api/v1/status",
        "/metrics",
        "/api/v1/documents",
        "/nowhere",
    ] {
        let r = c.request("GET", path, None, None).await.unwrap();
        assert_eq!(r.status, 401, "{path}");
        assert!(
            error_of(&r.body).contains("missing Authorization header"),
            "{}",
            r.text()
        );
        let r = c.request("GET", path, None, Some("wrong")).await.unwrap();
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(error_of(&r.body), "wrong API token");
    }
    let body = br#"{"cmd":"federation_create"}"#;
    let r = c
        .request("POST", "/api/v1/call", Some(body), Some("wrong"))
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    // Nothing was written by the refused call.
    assert_eq!(node.documents().await.unwrap().len(), 0);
    server.shutdown().await.unwrap();
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn api_bad_json_is_400_naming_the_problem() {
    let (_tmp, node, server) = served().await;
    let c = ApiClient::new(server.addr(), TOKEN.into());
    let call = |body: &'static [u8]| {
        let c = c.clone();
        async move {
            c.request("POST", "/api/v1/call", Some(body), Some(TOKEN))
                .await
                .unwrap()
        }
    };
    let r = call(b"{not json").await;
    assert_eq!(r.status, 400);
    assert!(
        error_of(&r.body).starts_with("bad request JSON: "),
        "{}",
        r.text()
    );
    let r = call(br#"{"cmd":"balance"}"#).await;
    assert_eq!(r.status, 400);
    assert!(
        error_of(&r.body).contains("missing field `volunteer`"),
        "{}",
        r.text()
    );
    let r = call(br#"{"cmd":"teleport"}"#).await;
    assert_eq!(r.status, 400);
    assert!(
        error_of(&r.body).contains("unknown variant `teleport`"),
        "{}",
        r.text()
    );
    let r = call(br#"{"cmd":"balance","volunteer":"not an id"}"#).await;
    assert_eq!(r.status, 400);
    assert!(error_of(&r.body).contains("not an id"), "{}", r.text());
    let r = c
        .request("GET", "/api/v1/bookings?doc=xyz", None, Some(TOKEN))
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(
        error_of(&r.body).contains("bad query string"),
        "{}",
        r.text()
    );
    server.shutdown().await.unwrap();
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn api_calls_and_read_routes() {
    let (_tmp, node, server) = served().await;
    let c = ApiClient::new(server.addr(), TOKEN.into());
    let created = c
        .call(&Request::FederationCreate { config: None })
        .await
        .unwrap();
    assert_eq!(created["kind"], "federation");
    let fed = created["doc"].as_str().unwrap().to_string();
    // The write is in the node.
    let docs = node.documents().await.unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].id.to_string(), fed);

    let st = c.get_json("/api/v1/status").await.unwrap();
    assert_eq!(st["org"], "heping");
    assert_eq!(st["documents"]["federation"], 1);
    let docs = c.get_json("/api/v1/documents").await.unwrap();
    assert_eq!(docs[0]["id"], fed.as_str());
    assert_eq!(docs[0]["kind"], "federation");
    assert_eq!(
        c.get_json("/api/v1/peers").await.unwrap(),
        Value::Array(vec![])
    );
    assert_eq!(
        c.get_json("/api/v1/balances").await.unwrap(),
        Value::Array(vec![])
    );

    assert_eq!(
        c.get_json("/api/v1/resources").await.unwrap(),
        Value::Array(vec![])
    );
    let e = c.get_json("/api/v1/orders").await.unwrap_err();
    match e {
        ApiError::Status {
            status, message, ..
        } => {
            assert_eq!(status, 400);
            assert!(message.contains("date"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let e = c
        .get_json("/api/v1/orders?date=2031-03-05")
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Status { status: 404, .. }), "{e:?}");

    // Unknown document: 404 with the core's message.
    let unknown = "00".repeat(32);
    let e = c
        .get_json(&format!("/api/v1/bookings?doc={unknown}"))
        .await
        .unwrap_err();
    match e {
        ApiError::Status {
            status,
            kind,
            message,
        } => {
            assert_eq!((status, kind.as_str()), (404, "not_found"));
            assert!(message.contains(&unknown), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // No document of the kind: 404 too.
    let e = c.get_json("/api/v1/wishes").await.unwrap_err();
    assert!(matches!(e, ApiError::Status { status: 404, .. }), "{e:?}");
    // A refusal by linli-core: 4xx with its message.
    let e = c
        .call(&Request::ServiceRecord {
            doc: Some(created["doc"].as_str().unwrap().parse().unwrap()),
            volunteer: "dianye:7".parse().unwrap(),
            activity: "patrol".into(),
            team: None,
            date: jiff::civil::date(2026, 11, 21),
            hours: 2.0,
            evidence: None,
        })
        .await
        .unwrap_err();
    match e {
        ApiError::Status {
            status, message, ..
        } => {
            assert!((400..500).contains(&status), "{status}");
            assert!(
                message.contains("is a federation document, not a service ledger"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }

    let m = c.get("/metrics").await.unwrap();
    assert_eq!(m.status, 200);
    let text = m.text();
    assert!(
        text.contains("linli_documents{kind=\"federation\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("\nlinli_changes 1\n"), "{text}");
    assert!(text.contains("\nlinli_peers 0\n"), "{text}");

    let addr = server.addr();
    server.shutdown().await.unwrap();
    let e = ApiClient::new(addr, TOKEN.into())
        .get_json("/api/v1/status")
        .await
        .unwrap_err();
    // Usually nothing listens any more (Unreachable); tests run in parallel, so another
    // test may already have bound the port (reset, or 401 from another server's token).
    assert!(
        matches!(
            e,
            ApiError::Unreachable { .. } | ApiError::Protocol { .. } | ApiError::Status { .. }
        ),
        "{e:?}"
    );
    node.shutdown().await.unwrap();
}

/// The bindings' document creation and typed reads go through the API as `create` and
/// `read`, and answer exactly what `results::answer` answers on the node itself (what
/// `linli.connect` relies on); their errors keep their class.
#[tokio::test]
async fn bindings_creates_and_reads_answer_the_result_types_over_http() {
    let (_tmp, node, server) = served().await;
    let c = ApiClient::new(server.addr(), TOKEN.into());
    let new = NewDoc::Federation {
        config: Default::default(),
    };
    let created = c.call(&Request::Create { new }).await.unwrap();
    assert_eq!(created["kind"], "federation");
    let fed: DocId = created["doc"].as_str().unwrap().parse().unwrap();
    for read in [
        Read::Status,
        Read::Documents,
        Read::Heads { doc: fed },
        Read::Certificates { doc: fed },
        Read::Rejected,
    ] {
        let remote = c.call(&Request::Read { read: read.clone() }).await.unwrap();
        let local = results::answer(&node, read.clone()).await.unwrap();
        assert_eq!(remote, local, "{read:?}");
    }
    let docs = c
        .call(&Request::Read {
            read: Read::Documents,
        })
        .await
        .unwrap();
    assert_eq!(docs[0]["id"], fed.to_string().as_str());
    // Times are RFC 3339 in UTC with milliseconds.
    let created_at = docs[0]["created"].as_str().unwrap();
    assert!(
        created_at.len() == 24 && created_at.ends_with('Z') && created_at.as_bytes()[19] == b'.',
        "{created_at}"
    );

    let missing: DocId = "00".repeat(32).parse().unwrap();
    let bad = [
        (Read::Bookings { doc: missing }, 404, "not_found"),
        (
            Read::LedgerPage {
                doc: fed,
                after: None,
                limit: 0,
                volunteer: None,
            },
            400,
            "malformed",
        ),
    ];
    for (read, want_status, want_kind) in bad {
        match c.call(&Request::Read { read }).await.unwrap_err() {
            ApiError::Status { status, kind, .. } => {
                assert_eq!((status, kind.as_str()), (want_status, want_kind));
            }
            other => panic!("{other}"),
        }
    }
    // A read of the wrong kind of document is the core's refusal, as on the node.
    let e = c
        .call(&Request::Read {
            read: Read::Wishes { doc: fed },
        })
        .await
        .unwrap_err();
    let local = results::answer(&node, Read::Wishes { doc: fed })
        .await
        .unwrap_err();
    match e {
        ApiError::Status { status, kind, .. } => {
            assert_eq!(status, local.http_status());
            assert_eq!(kind, local.kind());
        }
        other => panic!("{other}"),
    }
    // The refusal also comes in Chinese (linli-core's `zh`), for the dashboard; a malformed
    // request, which linli-core did not decide, has none.
    let body = serde_json::to_vec(&Request::Read {
        read: Read::Wishes { doc: fed },
    })
    .unwrap();
    let r = c
        .request("POST", "/api/v1/call", Some(&body), Some(TOKEN))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let zh = v["message_zh"].as_str().unwrap_or_default();
    assert!(
        zh.contains(&fed.to_string()) && zh.contains("是联盟文档，不是微心愿清单"),
        "{v}"
    );
    let r = c
        .request("POST", "/api/v1/call", Some(b"{not json"), Some(TOKEN))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(v.get("message_zh").is_none(), "{v}");
}

fn header<'a>(r: &'a api::HttpResponse, name: &str) -> &'a str {
    r.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header"))
}

/// Every GET route the dashboard reads, with a query that is valid.
const DATA_ROUTES: [&str; 14] = [
    "/api/v1/status",
    "/api/v1/catalogue",
    "/api/v1/documents",
    "/api/v1/bookings?doc=0000000000000000000000000000000000000000000000000000000000000000",
    "/api/v1/leaderboard",
    "/api/v1/balances",
    "/api/v1/compounds?year=2026",
    "/api/v1/wishes",
    "/api/v1/resources",
    "/api/v1/orders?date=2026-11-27",
    "/api/v1/peers",
    "/api/v1/rejected",
    "/api/v1/openapi.json",
    "/metrics",
];

#[tokio::test]
async fn dashboard_page_loads_without_token_but_its_data_does_not() {
    let (_tmp, node, server) = served().await;
    let c = ApiClient::new(server.addr(), TOKEN.into());
    for (path, ctype, needle) in [
        ("/", "text/html; charset=utf-8", "/dashboard.js"),
        ("/index.html", "text/html; charset=utf-8", "/dashboard.css"),
        (
            "/dashboard.js",
            "text/javascript; charset=utf-8",
            "Authorization",
        ),
        (
            "/forms.js",
            "text/javascript; charset=utf-8",
            "/api/v1/catalogue",
        ),
        ("/dashboard.css", "text/css; charset=utf-8", ".cal"),
        ("/favicon.ico", "image/svg+xml", "<svg"),
    ] {
        let r = c.request("GET", path, None, None).await.unwrap();
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(header(&r, "content-type"), ctype, "{path}");
        assert!(r.text().contains(needle), "{path}");
        let csp = header(&r, "content-security-policy");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert_eq!(header(&r, "x-frame-options"), "DENY");
        // The page holds no data, so a wrong token changes nothing either.
        let r = c.request("GET", path, None, Some("wrong")).await.unwrap();
        assert_eq!(r.status, 200, "{path}");
    }
    // Only GET and HEAD are public: anything else at a static path needs the token.
    let r = c.request("POST", "/", Some(b"{}"), None).await.unwrap();
    assert_eq!(r.status, 401);

    for path in DATA_ROUTES {
        let r = c.request("GET", path, None, None).await.unwrap();
        assert_eq!(r.status, 401, "{path}");
        assert!(
            error_of(&r.body).contains("api.token"),
            "{path}: {}",
            r.text()
        );
        let r = c.request("GET", path, None, Some("wrong")).await.unwrap();
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(error_of(&r.body), "wrong API token", "{path}");
        // A token in the query string (where a page URL would carry it) is not accepted.
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = c
            .request("GET", &format!("{path}{sep}token={TOKEN}"), None, None)
            .await
            .unwrap();
        assert_eq!(r.status, 401, "{path}");
    }
    for body in [
        br#"{"cmd":"booking_confirm","booking":"dianye@abcdef0123456789:1"}"#.as_slice(),
        br#"{"cmd":"booking_reject","booking":"dianye@abcdef0123456789:1","reason":"x"}"#,
        br#"{"cmd":"booking_revoke","booking":"dianye@abcdef0123456789:1","reason":"x"}"#,
    ] {
        let r = c
            .request("POST", "/api/v1/call", Some(body), None)
            .await
            .unwrap();
        assert_eq!(r.status, 401);
    }
    server.shutdown().await.unwrap();
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn dashboard_data_routes_answer_json_with_the_token() {
    let (_tmp, node, server) = served().await;
    let c = ApiClient::new(server.addr(), TOKEN.into());
    c.call(&Request::FederationCreate { config: None })
        .await
        .unwrap();
    for path in DATA_ROUTES {
        let r = c.get(path).await.unwrap();
        // 404 where the node holds no document of the kind (a root node holds only the
        // federation document): still JSON with a message.
        assert!(matches!(r.status, 200 | 404), "{path}: {}", r.status);
        if path == "/metrics" {
            continue;
        }
        assert!(
            header(&r, "content-type").starts_with("application/json"),
            "{path}"
        );
        let v = r.json().expect("JSON");
        if r.status == 404 {
            assert_eq!(v["kind"], "not_found", "{path}");
            assert!(!v["error"].as_str().unwrap().is_empty(), "{path}");
        }
    }
    server.shutdown().await.unwrap();
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn dashboard_bad_input_is_400_with_a_message() {
    let (_tmp, node, server) = served().await;
    let c = ApiClient::new(server.addr(), TOKEN.into());
    for (path, needle) in [
        ("/api/v1/compounds?year=soon", "year"),
        ("/api/v1/orders?date=2026-13-45", "date"),
        ("/api/v1/leaderboard?doc=42", "doc"),
        ("/api/v1/documents?kind=castle", "kind"),
    ] {
        let r = c.get(path).await.unwrap();
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        let msg = error_of(&r.body);
        assert!(
            msg.starts_with("bad query string") && msg.contains(needle),
            "{path}: {msg}"
        );
    }
    // The dashboard's decisions with a missing reason or a malformed booking id.
    for (body, needle) in [
        (
            br#"{"cmd":"booking_reject","booking":"dianye@abcdef0123456789:1"}"#.as_slice(),
            "missing field `reason`",
        ),
        (
            br#"{"cmd":"booking_confirm","booking":"no booking"}"#,
            "no booking",
        ),
    ] {
        let r = c
            .request("POST", "/api/v1/call", Some(body), Some(TOKEN))
            .await
            .unwrap();
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(error_of(&r.body).contains(needle), "{}", r.text());
    }
    // An unknown route under the token: 404 JSON naming it.
    let r = c.get("/api/v1/nothing").await.unwrap();
    assert_eq!(r.status, 404);
    assert!(error_of(&r.body).contains("/api/v1/nothing"));
    server.shutdown().await.unwrap();
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let (_tmp, node, server) = served().await;
    let c = ApiClient::new(server.addr(), TOKEN.into());
    let spec = c.get_json("/api/v1/openapi.json").await.unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().unwrap();
    for route in DATA_ROUTES
        .iter()
        .map(|p| p.split('?').next().unwrap())
        .chain(["/api/v1/call", "/"])
    {
        assert!(paths.contains_key(route), "{route} is not described");
    }
    // … and nothing that is not served (a 404 may only say that no document of the kind
    // is held, not that the route is unknown).
    for route in paths.keys() {
        if route == "/api/v1/events" {
            // A stream that stays open: `events_stream_pushes_node_events` reads it.
            continue;
        }
        let r = c.get(route).await.unwrap();
        if r.status == 404 {
            assert!(!error_of(&r.body).starts_with("no route"), "{route}");
        }
    }
    server.shutdown().await.unwrap();
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn metrics_cover_network_store_and_changes() {
    let (_tmp, node, server) = served().await;
    let c = ApiClient::new(server.addr(), TOKEN.into());
    c.call(&Request::FederationCreate { config: None })
        .await
        .unwrap();
    let text = c.get("/metrics").await.unwrap().text();
    for series in [
        "linli_peers 0",
        "linli_sync_sessions_open 0",
        "linli_sync_sessions_queued_bytes 0",
        "linli_pulls_pending 0",
        "linli_sync_sessions_ok 0",
        "linli_sync_sessions_failed 0",
        "linli_sync_sessions_answered 0",
        "linli_net_bytes_in 0",
        "linli_net_bytes_out 0",
        "linli_sync_changes_applied 0",
        "linli_sync_changes_refused 0",
        "linli_peers_dropped 0",
        "linli_announcements 0",
        "linli_announcements_deferred 0",
        "linli_announcements_broken 0",
        "linli_quota_refused_total 0",
        "linli_changes_pending 0",
        "linli_changes_rejected 0",
        "linli_equivocating_keys 0",
        "linli_changes_accepted 1",
    ] {
        assert!(text.contains(&format!("\n{series}\n")), "{series}: {text}");
    }
    let size: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("linli_store_bytes "))
        .expect("linli_store_bytes")
        .parse()
        .unwrap();
    assert!(size > 0, "{text}");
    server.shutdown().await.unwrap();
    node.shutdown().await.unwrap();
}

/// The request schemas in openapi.json are what the types give (`ops::Request` and core's
/// operations, doc comments as descriptions); `LINLI_BLESS=1` rewrites the file.
#[test]
fn openapi_schemas_are_generated_from_the_types() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api/openapi.json");
    let current = std::fs::read_to_string(&path).unwrap();
    let fresh = linli_node::api::schema::regenerate(&current).unwrap();
    if std::env::var_os("LINLI_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    assert!(
        current == fresh,
        "node/src/api/openapi.json is stale: run LINLI_BLESS=1 cargo test -p linli-node --test it openapi_schemas"
    );
    let doc: serde_json::Value = serde_json::from_str(&current).unwrap();
    let request = &doc["components"]["schemas"]["Request"];
    let cmds: Vec<&str> = request["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["properties"]["cmd"]["const"].as_str())
        .collect();
    for cmd in [
        "booking_request",
        "operation",
        "operations",
        "personal_erase",
    ] {
        assert!(cmds.contains(&cmd), "{cmd} not in {cmds:?}");
    }
    assert!(doc["components"]["schemas"]["ResourceOp"].is_object());
}

/// `linli.ops` (bindings/python/python/linli/ops.py) is what the operation catalogue gives;
/// `LINLI_BLESS=1` rewrites it.
#[test]
fn python_ops_module_is_generated_from_the_catalogue() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bindings/python/python/linli/ops.py");
    let fresh = linli_node::codegen::python_ops();
    if std::env::var_os("LINLI_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "bindings/python/python/linli/ops.py is stale: run LINLI_BLESS=1 cargo test -p linli-node --test it python_ops"
    );
    for id in [
        "resource_bar",
        "ledger_set_rules",
        "registry_update_compound",
    ] {
        assert!(current.contains(&format!("def {id}(")), "{id}");
    }
}

#[test]
fn python_results_module_is_generated_from_the_result_types() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bindings/python/python/linli/results.py");
    let fresh = linli_node::codegen::python_results();
    if std::env::var_os("LINLI_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "bindings/python/python/linli/results.py is stale: run LINLI_BLESS=1 cargo test -p linli-node --test it python_results"
    );
    // Every result type is a class, with its fields typed from the schema.
    for (name, _) in linli_node::results::schemas() {
        assert!(current.contains(&format!("class {name}:")), "{name}");
    }
    for line in [
        "    requested_at: datetime.datetime",
        "    confirmed_start: Optional[datetime.datetime]",
        "    earned: Decimal",
        "    date: Optional[datetime.date]",
        "    orders: tuple[MealOrder, ...]",
        "    invalid: list[tuple[int, str]]",
        "    documents: dict[str, int]",
        "    sync_state: bytes",
        "    path: Path",
    ] {
        assert!(current.contains(line), "{line}");
    }
}

/// Reads the event stream until `want` appears in it (or fails after a deadline).
async fn read_until(
    s: &mut tokio::net::TcpStream,
    buf: &mut String,
    want: &str,
) -> Result<(), String> {
    use tokio::io::AsyncReadExt;
    let deadline = std::time::Duration::from_secs(30);
    tokio::time::timeout(deadline, async {
        let mut chunk = [0u8; 4096];
        while !buf.contains(want) {
            let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!("the stream ended before {want:?}: {buf}"));
            }
            buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
        Ok(())
    })
    .await
    .map_err(|_| format!("no {want:?} within {deadline:?}: {buf}"))?
}

#[tokio::test]
async fn events_stream_pushes_node_events() {
    use tokio::io::AsyncWriteExt;
    let (_tmp, node, server) = served().await;
    // Without the token: refused like every data route.
    let c = ApiClient::new(server.addr(), TOKEN.into());
    let r = c
        .request("GET", "/api/v1/events", None, Some("wrong"))
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let req = format!(
        "GET /api/v1/events HTTP/1.1\r\nHost: linli\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = String::new();
    read_until(&mut s, &mut buf, "\r\n\r\n").await.unwrap();
    assert!(buf.starts_with("HTTP/1.1 200"), "{buf}");
    assert!(
        buf.to_lowercase()
            .contains("content-type: text/event-stream"),
        "{buf}"
    );
    // A write on the node is pushed as it is committed.
    let body = br#"{"cmd":"federation_create"}"#;
    let r = c
        .request("POST", "/api/v1/call", Some(body), Some(TOKEN))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    read_until(&mut s, &mut buf, "event: document_changed")
        .await
        .unwrap();
    read_until(&mut s, &mut buf, "\"origin\":\"local\"")
        .await
        .unwrap();
    let doc = node.documents().await.unwrap()[0].id.to_string();
    assert!(buf.contains(&doc), "{buf}");
    // Stopping the server ends open streams instead of waiting for them.
    tokio::time::timeout(std::time::Duration::from_secs(30), server.shutdown())
        .await
        .expect("the server stops while a stream is open")
        .unwrap();
    node.shutdown().await.unwrap();
}

/// `GET /api/v1/catalogue` offers each node what its certificate allows, judged by
/// linli-core: the community registers compounds in its registry and may create documents;
/// the street, holding the same registry, may appoint but not register, nor create a
/// registry; every operation names who may perform it.
#[tokio::test]
async fn catalogue_offers_what_the_certificate_allows() {
    use crate::util::{District, community_node, opts, secret};
    use linli_core::cert::Role;
    let tmp = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (comm, registry) = community_node(&mut district, &tmp.path().join("dianye")).await;
    let mut init = InitOptions::new(org("beishi"), district.root_id());
    init.secret = Some(secret("beishi", 1));
    let street = Node::init(&tmp.path().join("beishi"), init, opts())
        .await
        .unwrap();
    district.certify(street.node_id(), Role::Street, "beishi", None);
    for r in street.apply_batch(district.fed_changes()).await.unwrap() {
        r.unwrap();
    }
    let changes = comm.changes(registry, vec![]).await.unwrap();
    for r in street.apply_batch(changes).await.unwrap() {
        r.unwrap();
    }
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let serve = |n: &Node| api::serve(n.clone(), None, addr, TOKEN.to_string());
    let (cs, ss) = (serve(&comm).await.unwrap(), serve(&street).await.unwrap());
    let get = |s: &api::ApiServer| {
        let c = ApiClient::new(s.addr(), TOKEN.into());
        async move { c.get_json("/api/v1/catalogue").await.unwrap() }
    };
    let (cc, sc) = (get(&cs).await, get(&ss).await);
    let reg = Value::String(registry.to_string());
    let docs = |cat: &Value, op: &str| -> Vec<Value> {
        let o = cat["operations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["op"] == op)
            .unwrap_or_else(|| panic!("{op} missing"));
        o["docs"].as_array().unwrap().clone()
    };
    let create = |cat: &Value, cmd: &str| -> Value {
        cat["create"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["cmd"] == cmd)
            .unwrap_or_else(|| panic!("{cmd} missing"))
            .clone()
    };
    assert_eq!(
        (&cc["role"], &cc["scope"]),
        (&"community".into(), &"beishi/dianye".into())
    );
    assert_eq!(
        (&sc["role"], &sc["scope"]),
        (&"street".into(), &"beishi".into())
    );
    assert_eq!(docs(&cc, "registry.add_compound"), vec![reg.clone()]);
    assert_eq!(docs(&cc, "registry.appoint"), Vec::<Value>::new());
    assert_eq!(docs(&sc, "registry.add_compound"), Vec::<Value>::new());
    assert_eq!(docs(&sc, "registry.appoint"), vec![reg.clone()]);
    assert_eq!(cc["manages"]["registry"], Value::Array(vec![reg.clone()]));
    assert_eq!(sc["manages"]["registry"], Value::Array(vec![reg.clone()]));
    assert_eq!(sc["manages"]["resource"], Value::Array(vec![]));
    // Creating: the community may make its registry (and a room); the street may not make a
    // registry, and says why (linli-core's creation rule).
    assert_eq!(create(&cc, "registry_create")["allowed"], true);
    assert_eq!(create(&cc, "resource_publish")["allowed"], true);
    let refused = create(&sc, "registry_create");
    assert_eq!(refused["allowed"], false);
    assert!(
        refused["refused"]
            .as_str()
            .unwrap()
            .contains("only that community creates it"),
        "{refused}"
    );
    // Every operation with who may perform it and its fields' schemas; the definitions they
    // refer to come along.
    for o in cc["operations"].as_array().unwrap() {
        assert!(!o["performers"].as_array().unwrap().is_empty(), "{o}");
        for f in o["fields"].as_array().unwrap() {
            assert!(f["schema"].is_object(), "{o}");
        }
    }
    assert!(cc["defs"]["resource"]["WeeklyBlock"].is_object());
    let publish = create(&cc, "resource_publish");
    assert!(
        publish["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "capacity" && f["required"] == true)
    );
    // What is not offered is what the core refuses: the street registering a compound.
    let c = ApiClient::new(ss.addr(), TOKEN.into());
    let body = serde_json::json!({"cmd": "operation", "op": "registry.add_compound", "doc": registry.to_string(),
        "fields": {"name": "X", "address": "Y", "households": 1, "mode": "unmanaged", "buildings": [],
        "facilities": [], "owners_committee": false, "status": "active"}});
    let r = c
        .request(
            "POST",
            "/api/v1/call",
            Some(body.to_string().as_bytes()),
            Some(TOKEN),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403, "{}", r.text());
    // A service-records CSV is read into rows (each with its line and source id) or refused
    // naming the missing column; nothing is written either way.
    let cc_client = ApiClient::new(cs.addr(), TOKEN.into());
    let rows = cc_client
        .call(&Request::ServiceCsv {
            text: "volunteer,activity,date,hours\ndianye:7,patrol,2026-01-05,2\ndianye:8,patrol,2026-01-06,lots\n".into(),
        })
        .await
        .unwrap();
    assert_eq!(rows[0]["line"], 2);
    assert_eq!(rows[0]["row"]["volunteer"], "dianye:7");
    assert!(rows[0]["row"]["source"].is_string(), "{rows}");
    assert_eq!(rows[1]["line"], 3);
    assert!(
        rows[1]["error"].as_str().unwrap().contains("lots"),
        "{rows}"
    );
    let body = br#"{"cmd":"service_csv","text":"volunteer,activity,date\n"}"#;
    let r = cc_client
        .request("POST", "/api/v1/call", Some(body), Some(TOKEN))
        .await
        .unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        error_of(&r.body).contains("no `hours` column"),
        "{}",
        r.text()
    );
    // The status names the role and scope too.
    let st = ApiClient::new(cs.addr(), TOKEN.into())
        .get_json("/api/v1/status")
        .await
        .unwrap();
    assert_eq!(
        (&st["role"], &st["scope"]),
        (&"community".into(), &"beishi/dianye".into())
    );
    cs.shutdown().await.unwrap();
    ss.shutdown().await.unwrap();
    comm.shutdown().await.unwrap();
    street.shutdown().await.unwrap();
}
