//! The local HTTP API: authentication, bad requests, calls, read routes, metrics.

use std::net::SocketAddr;

use linli_node::api::{self, ApiClient, ApiError};
use linli_node::ops::Request;
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
