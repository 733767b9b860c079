//! Points that behave like the real schemes, through the CLI's requests and the HTTP API:
//! a points store with stock (add an item, redeem until out of stock, the refusal), the
//! star certificate, and a team claim.

use std::net::SocketAddr;

use clap::Parser;
use linli_node::api::{self, ApiClient, ApiError};
use linli_node::cli::args::Cli;
use linli_node::ops::Request;
use linli_node::results::Read;
use serde_json::Value;

use crate::util::{District, community_node};

const TOKEN: &str = "points-test-token-0123456789";

/// The request the command line `args` makes (as `linli` parses it).
fn cli(args: &[&str]) -> Request {
    let argv = std::iter::once("linli").chain(args.iter().copied());
    Cli::try_parse_from(argv)
        .unwrap()
        .command
        .request()
        .unwrap()
        .unwrap()
}

async fn ok(c: &ApiClient, args: &[&str]) -> Value {
    c.call(&cli(args))
        .await
        .unwrap_or_else(|e| panic!("linli {args:?}: {e}"))
}

#[tokio::test]
async fn a_store_item_is_redeemed_until_out_of_stock_and_a_certificate_is_issued() {
    let tmp = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, _registry) = community_node(&mut district, tmp.path()).await;
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = api::serve(node.clone(), None, addr, TOKEN.into())
        .await
        .unwrap();
    let c = ApiClient::new(server.addr(), TOKEN.into());

    let created = ok(&c, &["ledger", "create", "--year", "2026", "--hand-points"]).await;
    let ledger: linli_node::core::DocId = created["doc"].as_str().unwrap().parse().unwrap();
    ok(
        &c,
        &[
            "service",
            "record",
            "dianye:7",
            "--activity",
            "patrol",
            "--date",
            "2026-05-01",
            "--hours",
            "5",
        ],
    )
    .await;
    let added = ok(
        &c,
        &[
            "ledger",
            "store",
            "add",
            "5 kg rice",
            "--cost",
            "2",
            "--stock",
            "2",
        ],
    )
    .await;
    let item = added["effect"]["store_item"]
        .as_str()
        .unwrap_or_else(|| panic!("{added}"))
        .to_string();
    let redeem = ["ledger", "store", "redeem", "dianye:7", "--item", &item];
    ok(&c, &redeem).await;
    ok(&c, &redeem).await;
    let heads = node.heads(ledger).await.unwrap();
    let e = c.call(&cli(&redeem)).await.unwrap_err();
    match &e {
        ApiError::Status {
            status, message, ..
        } => {
            assert_eq!(*status, 409, "{e}");
            assert!(
                message.contains("out of stock") && message.contains("5 kg rice"),
                "{message}"
            );
        }
        other => panic!("expected a refusal, got {other}"),
    }
    assert_eq!(
        node.heads(ledger).await.unwrap(),
        heads,
        "a refused redemption writes nothing"
    );
    let list = ok(&c, &["ledger", "store", "list"]).await;
    assert_eq!(list[0]["stock"], 0, "{list}");
    assert_eq!(list[0]["redeemed"], 2, "{list}");
    assert_eq!(list[0]["cost"], "2", "{list}");
    // A bad amount is refused with what was wrong.
    let e = c
        .call(&cli(&["ledger", "store", "add", "tea", "--cost", "0"]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cost must be positive"), "{e}");

    // The star certificate: 5 points earned, 1 left, 5 hours in 2026.
    let cert = ok(&c, &["ledger", "certificate", "dianye:7"]).await;
    assert_eq!(cert["issued_by"], "beishi/dianye", "{cert}");
    assert_eq!(cert["earned"], "5", "{cert}");
    assert_eq!(cert["balance"], "1", "{cert}");
    assert_eq!(cert["stars"], 0, "{cert}");
    assert_eq!(cert["hours"][0]["year"], 2026, "{cert}");
    assert_eq!(cert["hours"][0]["hours"], "5.00", "{cert}");
    // The same through the typed read the bindings use.
    let read = c
        .call(&Request::Read {
            read: Read::Certificate {
                volunteer: "dianye:7".parse().unwrap(),
            },
        })
        .await
        .unwrap();
    assert_eq!(read, cert);
    let e = c
        .call(&cli(&["ledger", "certificate", "hongqi:1"]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("only the home community"), "{e}");

    // A team claim with one lead, counted once.
    ok(&c, &["wish", "create"]).await;
    let posted = ok(&c, &["wish", "post", "--title", "Walking frame"]).await;
    let wish = posted["effect"]["wish"].as_str().unwrap().to_string();
    let claimed = ok(
        &c,
        &[
            "wish",
            "claim",
            &wish,
            "--team",
            "dianye:1,dianye:2,dianye:7",
            "--lead",
            "dianye:7",
        ],
    )
    .await;
    assert!(claimed["effect"]["claim"].is_string(), "{claimed}");
    let e = c
        .call(&cli(&[
            "wish",
            "claim",
            &wish,
            "--team",
            "dianye:1,dianye:2",
            "--lead",
            "dianye:7",
        ]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not among the members"), "{e}");
    let stats = ok(&c, &["wish", "stats"]).await;
    assert_eq!(stats[0]["claims"], 1, "{stats}");
    assert_eq!(stats[0]["team_claims"], 1, "{stats}");
    assert_eq!(stats[0]["volunteers"], 3, "{stats}");
    server.shutdown().await.unwrap();
    node.shutdown().await.unwrap();
}
