//! Check-in sessions end to end between two nodes: Dianye's node opens a session through the
//! HTTP API, volunteers check in and out on its check-in page (no API token: the page's
//! address is the session's secret token) while it has no network, wrong codes and
//! check-outs before check-ins are refused with nothing written, the close writes verified
//! service records once, and the street's node receives all of it when they connect.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use linli_core::cert::Role;
use linli_core::{SessionId, Timestamp};
use linli_node::api::{self, ApiClient};
use linli_node::ops::Request;
use linli_node::{InitOptions, Node, OpenOptions};

use crate::net::{eventually_on, in_memory, start_in_memory};
use crate::util::{District, opts, org, secret};

const TOKEN: &str = "checkin-test-token-0123456789";

/// A node of `o` on a clock the test moves.
async fn node_at(
    district: &mut District,
    dir: &std::path::Path,
    o: &str,
    role: Role,
    parent: Option<&str>,
    clock: &Arc<AtomicI64>,
) -> Node {
    let mut init = InitOptions::new(org(o), district.root_id());
    init.secret = Some(secret(o, 1));
    let c = clock.clone();
    let options = OpenOptions {
        clock: Some(Arc::new(move || Timestamp(c.load(Ordering::SeqCst)))),
        ..opts()
    };
    let node = Node::init(dir, init, options).await.unwrap();
    district.certify(node.node_id(), role, o, parent);
    for r in node.apply_batch(district.fed_changes()).await.unwrap() {
        r.unwrap();
    }
    node
}

fn post_checkin(volunteer: &str, code: &str, action: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "volunteer": volunteer, "code": code, "action": action,
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_ins_on_the_page_become_verified_hours_and_reach_the_street() {
    let tmp = tempfile::tempdir().unwrap();
    let t0 = Timestamp::parse("2026-06-01T08:50:00+08:00").unwrap();
    let clock = Arc::new(AtomicI64::new(t0.0));
    let set = |at: &str| clock.store(Timestamp::parse(at).unwrap().0, Ordering::SeqCst);
    let mut d = District::new();
    let dianye = node_at(
        &mut d,
        &tmp.path().join("dianye"),
        "dianye",
        Role::Community,
        Some("beishi"),
        &clock,
    )
    .await;
    let street = node_at(
        &mut d,
        &tmp.path().join("beishi"),
        "beishi",
        Role::Street,
        None,
        &clock,
    )
    .await;

    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = api::serve(dianye.clone(), None, addr, TOKEN.to_string())
        .await
        .unwrap();
    let c = ApiClient::new(server.addr(), TOKEN.into());
    let ledger = c
        .call(&Request::LedgerCreate {
            street: None,
            year: Some(2026),
            rules: None,
        })
        .await
        .unwrap();
    let ledger = ledger["doc"].as_str().unwrap().to_string();
    let w = c
        .call(&Request::SessionOpen {
            doc: None,
            activity: "elder care rota".into(),
            team: Some("elder care".into()),
            place: "activity room".into(),
            start: "2026-06-01T09:00".into(),
            end: "2026-06-01T11:00".into(),
        })
        .await
        .unwrap();
    let session: SessionId = w["effect"]["session"].as_str().unwrap().parse().unwrap();
    // A session outside the ledger's year: a typed error.
    let err = c
        .call(&Request::SessionOpen {
            doc: None,
            activity: "patrol".into(),
            team: None,
            place: "gate".into(),
            start: "2027-06-01T09:00".into(),
            end: "2027-06-01T11:00".into(),
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("outside the ledger's year"),
        "{err}"
    );

    set("2026-06-01T09:00:00+08:00");
    let code_of = || async {
        let v = c
            .call(&Request::SessionCode {
                doc: None,
                session: session.clone(),
                base: Some("http://192.0.2.1:8080/".into()),
            })
            .await
            .unwrap();
        let page = v["page"].as_str().unwrap().to_string();
        assert_eq!(
            v["url"].as_str().unwrap(),
            format!("http://192.0.2.1:8080{page}")
        );
        assert!(v["qr_svg"].as_str().unwrap().contains("<svg"));
        (v["code"].as_str().unwrap().to_string(), page)
    };
    let (code, page) = code_of().await;
    assert_eq!(code.len(), 6);
    assert!(
        page.starts_with("/checkin/") && page.len() == "/checkin/".len() + 32,
        "{page}"
    );

    // The page, without the API token; an unknown token is a 404.
    let r = c.request("GET", &page, None, None).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("elder care rota") && r.text().contains("签到"));
    let bad_page = format!("/checkin/{}", "0".repeat(32));
    let r = c.request("GET", &bad_page, None, None).await.unwrap();
    assert_eq!(r.status, 404);
    let r = c
        .request(
            "POST",
            &bad_page,
            Some(&post_checkin("dianye:7", &code, "in")),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 404);

    let sessions =
        |c: ApiClient| async move { c.call(&Request::SessionList { doc: None }).await.unwrap() };
    let before = sessions(c.clone()).await;
    // A wrong code, a malformed volunteer id, a check-out before the check-in: refused,
    // nothing written.
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for (body, status, needle) in [
        (
            post_checkin("dianye:7", wrong, "in"),
            422,
            "wrong or expired check-in code",
        ),
        (post_checkin("7", &code, "in"), 422, "volunteer id"),
        (
            post_checkin("dianye:7", &code, "out"),
            409,
            "has not checked in",
        ),
        (post_checkin("dianye:7", &code, "sideways"), 400, "action"),
    ] {
        let r = c.request("POST", &page, Some(&body), None).await.unwrap();
        assert_eq!(r.status, status, "{}", r.text());
        assert!(r.text().contains(needle), "{}", r.text());
    }
    assert_eq!(sessions(c.clone()).await, before);

    // Dianye:7 checks in at 09:00 and out at 10:30; dianye:8 checks in at 09:30 and forgets
    // to check out.
    let r = c
        .request(
            "POST",
            &page,
            Some(&post_checkin("dianye:7", &code, "in")),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    set("2026-06-01T09:30:00+08:00");
    let (code, _) = code_of().await;
    let r = c
        .request(
            "POST",
            &page,
            Some(&post_checkin("dianye:8", &code, "in")),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    // The code of 09:30 has expired two minutes later.
    set("2026-06-01T09:32:00+08:00");
    let r = c
        .request(
            "POST",
            &page,
            Some(&post_checkin("dianye:9", &code, "in")),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 422, "{}", r.text());
    set("2026-06-01T10:30:00+08:00");
    let (code, _) = code_of().await;
    // Through the API too (what `linli volunteers session checkout` sends).
    c.call(&Request::SessionCheckout {
        doc: None,
        session: session.clone(),
        volunteer: "dianye:7".parse().unwrap(),
        code,
    })
    .await
    .unwrap();

    // The end (and the check-out tolerance) passes: the next session request closes it.
    set("2026-06-01T11:40:00+08:00");
    let list = sessions(c.clone()).await;
    assert!(list[0]["closed"].is_string(), "{list}");
    let err = c
        .call(&Request::SessionClose {
            doc: None,
            session: session.clone(),
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already closed"), "{err}");
    let entries = |n: Node| async move {
        linli_node::ops::execute(&n, Request::Entries { doc: None })
            .await
            .ok()
    };
    let mine = entries(dianye.clone()).await.unwrap();
    let hours: Vec<(String, String, String)> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["volunteer"].as_str().unwrap().to_string(),
                e["hours"].as_str().unwrap().to_string(),
                e["method"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        hours,
        vec![
            ("dianye:7".into(), "1.50".into(), "check_in".into()),
            ("dianye:8".into(), "1.50".into(), "check_in".into()),
        ]
    );

    // All of it was taken without network; the street gets it when they connect.
    assert!(entries(street.clone()).await.is_none());
    let mut nets = Vec::new();
    let mut boot: Vec<String> = Vec::new();
    for n in [&dianye, &street] {
        let net = start_in_memory(n, in_memory(boot.clone())).await;
        boot.extend(net.listen_addrs().await.unwrap());
        nets.push(net);
    }
    let got = eventually_on(
        &[&street],
        "the street receives the verified hours",
        60,
        || {
            let (street, mine) = (street.clone(), mine.clone());
            async move { entries(street).await.filter(|e| *e == mine) }
        },
    )
    .await;
    assert_eq!(got.as_array().unwrap().len(), 2);
    let balance = linli_node::ops::execute(
        &street,
        Request::Balance {
            volunteer: "dianye:7".parse().unwrap(),
        },
    )
    .await
    .unwrap();
    assert!(balance.to_string().contains("1.50"), "{balance}");
    assert_eq!(got[0]["id"], mine[0]["id"], "ledger {ledger}");
    for n in nets {
        n.shutdown().await.unwrap();
    }
}
