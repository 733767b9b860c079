//! The write quota per signer, document and day on changes received from peers: a change
//! beyond it is not stored (neither accepted nor refused for good) and comes again another
//! day; other signers and the node's own writes are not affected; a peer relaying such
//! changes is not dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use linli_core::quota::{Quota, QuotaError};
use linli_core::registry::{Compound, ManagementMode, RegistryOp};
use linli_core::{
    Applied, DocId, Error as CoreError, NewDoc, Op, Replica, SignedChange, Timestamp,
};
use linli_node::api::{self, ApiClient};
use linli_node::net::Network;
use linli_node::{NodeError, NodeEvent, OpenOptions};
use tempfile::TempDir;

use crate::net::{community, eventually_on, loopback};
use crate::util::*;

/// A quota of 20 changes per signer, document and day, on a clock the test moves.
fn small_quota(offset: &Arc<AtomicI64>) -> OpenOptions {
    let offset = offset.clone();
    OpenOptions {
        quota: Quota {
            changes_per_day: 20,
            ..Quota::default()
        },
        clock: Some(Arc::new(move || {
            Timestamp(linli_node::system_clock().0 + offset.load(Ordering::Relaxed))
        })),
        ..opts()
    }
}

/// Community `o`'s replica writing its registry: the genesis and `n - 1` compounds.
fn registry_changes(
    district: &mut District,
    o: &str,
    n: usize,
) -> (Replica, DocId, Vec<SignedChange>) {
    registry_changes_at(district, o, n, |_| linli_node::system_clock())
}

/// [`registry_changes`] with change `i` dated `at(i)`.
fn registry_changes_at(
    district: &mut District,
    o: &str,
    n: usize,
    at: impl Fn(usize) -> Timestamp,
) -> (Replica, DocId, Vec<SignedChange>) {
    let mut r = district.replica(o, 1);
    let genesis = r
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org(o),
                title: format!("{o} compounds"),
            },
            at(0),
        )
        .unwrap();
    let doc = genesis.doc;
    let mut changes = vec![genesis];
    for i in 1..n {
        let op = Op::Registry(RegistryOp::AddCompound(Compound::new(
            &format!("{o} {i:02}"),
            "2 Hongqi Street",
            80,
            ManagementMode::SelfManaged,
        )));
        changes.push(r.execute(doc, op, at(i)).unwrap().change);
    }
    (r, doc, changes)
}

fn is_quota_error(r: &Result<Applied, CoreError>, signer: &str, doc: DocId) -> bool {
    match r {
        Err(CoreError::Quota(e @ QuotaError::Changes { limit: 20, .. })) => {
            let text = e.to_string();
            assert!(
                text.contains(&format!(
                    "signer {signer} exceeded its quota of 20 changes per document per day on \
                     document {doc}"
                )),
                "{text}"
            );
            true
        }
        _ => false,
    }
}

#[tokio::test]
async fn changes_beyond_a_signers_daily_quota_are_not_stored_and_come_again_another_day() {
    let dir = TempDir::new().unwrap();
    let offset = Arc::new(AtomicI64::new(0));
    let mut district = District::new();
    let (node, own) = community_node_with(&mut district, dir.path(), small_quota(&offset)).await;
    let (h, hdoc, hongqi) = registry_changes(&mut district, "hongqi", 25);
    let (_, xdoc, xianghe) = registry_changes(&mut district, "xianghe", 6);
    // The certificates of hongqi and xianghe first.
    for r in node.apply_batch(district.fed_changes()).await.unwrap() {
        r.unwrap();
    }
    let before = node.status().await.unwrap();

    // One batch, as sync delivers it: hongqi's 25 changes interleaved with xianghe's 6.
    let mut batch = hongqi.clone();
    batch.splice(10..10, xianghe.clone());
    let mut events = node.subscribe();
    let mut hq = node.apply_batch(batch).await.unwrap();
    let xh: Vec<_> = hq.drain(10..16).collect();
    let signer = h.author().node.short();
    for (i, r) in hq.iter().enumerate() {
        if i < 20 {
            assert!(matches!(r, Ok(Applied::Applied(_))), "change {i}: {r:?}");
        } else {
            assert!(is_quota_error(r, &signer, hdoc), "change {i}: {r:?}");
        }
    }
    for (i, r) in xh.iter().enumerate() {
        assert!(matches!(r, Ok(Applied::Applied(_))), "change {i}: {r:?}");
    }

    // 20 of hongqi's changes stored and applied (its genesis and 19 compounds); the other
    // 5 are neither stored nor refused for good. Xianghe's data is intact.
    let names = compound_names(&node, hdoc).await;
    assert_eq!(names.len(), 19, "{names:?}");
    assert_eq!(names.last().unwrap(), "hongqi 19");
    assert_eq!(compound_names(&node, xdoc).await.len(), 5);
    let st = node.status().await.unwrap();
    assert_eq!(st.log, before.log + 20 + 6);
    assert_eq!((st.refused, st.pending), (0, 0));
    assert_eq!(st.quota_refused, 5);
    assert!(node.rejected().await.unwrap().is_empty());
    // Reported as one event for the batch: hongqi's 5 changes to its registry.
    let ev = crate::util::wait_for(&mut events, "QuotaExceeded", |e| {
        matches!(e, NodeEvent::QuotaExceeded { .. })
    })
    .await;
    assert_eq!(
        ev,
        NodeEvent::QuotaExceeded {
            doc: hdoc,
            signer: h.author().node,
            changes: 5
        }
    );
    // Counted in the metrics.
    let server = api::serve(
        node.clone(),
        None,
        "127.0.0.1:0".parse().unwrap(),
        "t".repeat(32),
    )
    .await
    .unwrap();
    let text = ApiClient::new(server.addr(), "t".repeat(32))
        .get("/metrics")
        .await
        .unwrap()
        .text();
    assert!(text.contains("\nlinli_quota_refused_total 5\n"), "{text}");
    assert!(text.contains("\nlinli_changes_rejected 0\n"), "{text}");
    server.shutdown().await.unwrap();

    // The node's own writes are not limited.
    for i in 0..25 {
        add_compound(&node, own, &format!("Dianye {i:02}")).await;
    }
    assert_eq!(compound_names(&node, own).await.len(), 25);

    // Sent again the same day (as the next sync would): still over the quota, and held
    // changes are duplicates, which do not count.
    let again = node.apply_batch(hongqi.clone()).await.unwrap();
    assert!(
        again[..20]
            .iter()
            .all(|r| matches!(r, Ok(Applied::Duplicate)))
    );
    assert!(again[20..].iter().all(|r| is_quota_error(r, &signer, hdoc)));
    let e = node.apply(hongqi[20].clone()).await.unwrap_err();
    assert!(matches!(e, NodeError::Core(CoreError::Quota(_))), "{e:?}");
    assert_eq!(node.status().await.unwrap().log, st.log + 25);

    // The next day they fit.
    offset.store(Timestamp::DAY, Ordering::Relaxed);
    for r in node.apply_batch(hongqi[20..].to_vec()).await.unwrap() {
        assert!(matches!(r, Ok(Applied::Applied(_))), "{r:?}");
    }
    assert_eq!(compound_names(&node, hdoc).await.len(), 24);
    let st = node.status().await.unwrap();
    assert_eq!(st.quota_refused, 5 + 5 + 1);
    assert_eq!((st.refused, st.pending), (0, 0));
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn history_dated_on_earlier_days_counts_on_those_days() {
    // A node catching up with a document receives days of one signer's writes at once:
    // each counts on the day it was written, so catching up is not throttled.
    let dir = TempDir::new().unwrap();
    let offset = Arc::new(AtomicI64::new(0));
    let mut district = District::new();
    let (node, _) = community_node_with(&mut district, dir.path(), small_quota(&offset)).await;
    let now = linli_node::system_clock().0;
    // 45 changes: 15 dated on each of the three days before today.
    let (_, doc, history) = registry_changes_at(&mut district, "hongqi", 45, |i| {
        Timestamp(now - (3 - (i / 15) as i64) * Timestamp::DAY + i as i64)
    });
    // 25 changes dated from today on, a day apart.
    let (h, xdoc, today) = registry_changes_at(&mut district, "xianghe", 25, |i| {
        Timestamp(now + (i as i64) * Timestamp::DAY)
    });
    for r in node.apply_batch(district.fed_changes()).await.unwrap() {
        r.unwrap();
    }
    for r in node.apply_batch(history).await.unwrap() {
        assert!(matches!(r, Ok(Applied::Applied(_))), "{r:?}");
    }
    assert_eq!(compound_names(&node, doc).await.len(), 44);
    // Dated today or later, they share today's quota.
    let results = node.apply_batch(today).await.unwrap();
    let signer = h.author().node.short();
    assert!(
        results[..20]
            .iter()
            .all(|r| matches!(r, Ok(Applied::Applied(_))))
    );
    assert!(
        results[20..]
            .iter()
            .all(|r| is_quota_error(r, &signer, xdoc))
    );
    assert_eq!(node.status().await.unwrap().quota_refused, 5);
    node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_relaying_changes_beyond_the_quota_is_not_dropped() {
    let mut district = District::new();
    let (da, db) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    // A writes 24 compounds on its own node (its own writes are not limited there).
    let (a, reg_a) = community(&mut district, da.path(), "hongqi").await;
    for i in 0..24 {
        add_compound(&a, reg_a, &format!("Hongqi {i:02}")).await;
    }
    let offset = Arc::new(AtomicI64::new(0));
    let (b, _) = community_node_with(&mut district, db.path(), small_quota(&offset)).await;
    for r in a.apply_batch(district.fed_changes()).await.unwrap() {
        r.unwrap();
    }
    let net_a = Network::start(a.clone(), loopback(vec![])).await.unwrap();
    let net_b = Network::start(b.clone(), loopback(vec![])).await.unwrap();
    let addr = net_a.listen_addrs().await.unwrap().remove(0);

    net_b
        .sync_with(&addr, Duration::from_secs(20))
        .await
        .unwrap();
    // B stored 20 of A's 25 changes to its registry.
    // Woken by B's `DocumentChanged` (the 19 compounds) and `QuotaExceeded` (the rest).
    eventually_on(&[&b], "20 of A's changes on B", 60, || async {
        let n = b.compounds(reg_a).await.map(|c| c.len()).unwrap_or(0);
        (n == 19 && b.status().await.unwrap().quota_refused >= 5).then_some(())
    })
    .await;
    // A is neither dropped nor banned: another session with it succeeds.
    net_b
        .sync_with(&addr, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(net_b.stats().peers_dropped, 0, "{:?}", net_b.stats());
    assert_eq!(net_a.stats().peers_dropped, 0, "{:?}", net_a.stats());
    assert_eq!(b.compounds(reg_a).await.unwrap().len(), 19);
    assert!(b.rejected().await.unwrap().is_empty());

    // The next day the rest comes with the next session.
    offset.store(Timestamp::DAY, Ordering::Relaxed);
    net_b
        .sync_with(&addr, Duration::from_secs(20))
        .await
        .unwrap();
    eventually_on(&[&b], "the rest of A's changes on B", 60, || async {
        (b.compounds(reg_a).await.unwrap().len() == 24).then_some(())
    })
    .await;
    net_a.shutdown().await.unwrap();
    net_b.shutdown().await.unwrap();
}

/// `linli init` writes the quota keys commented with their defaults; a bad value stops every
/// command with an error naming the file, the line and the key.
#[test]
fn cli_quota_keys_are_written_by_init_and_bad_values_are_named() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let linli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_linli"))
            .arg("--dir")
            .arg(dir)
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("LINLI_DIR")
            .output()
            .unwrap()
    };
    let out = linli(&["init", "--org", "dianye", "--new-root"]);
    assert!(out.status.success(), "{out:?}");
    let cfg = dir.join("linli.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        text.contains("\n# quota_changes_per_day = 10000\n"),
        "{text}"
    );
    assert!(
        text.contains("\n# quota_bytes_per_day = 16777216\n"),
        "{text}"
    );

    let set = |from: &str, to: &str| {
        let changed = text.replace(from, to);
        assert_ne!(changed, text);
        std::fs::write(&cfg, changed).unwrap();
    };
    set(
        "# quota_changes_per_day = 10000",
        "quota_changes_per_day = 20",
    );
    let out = linli(&["status"]);
    assert!(out.status.success(), "{out:?}");

    set(
        "# quota_changes_per_day = 10000",
        "quota_changes_per_day = 0",
    );
    let line = std::fs::read_to_string(&cfg)
        .unwrap()
        .lines()
        .position(|l| l == "quota_changes_per_day = 0")
        .unwrap()
        + 1;
    let out = linli(&["status"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:{line}: key `node.quota_changes_per_day`: 0 is not between 1 and",
            cfg.display()
        )),
        "{stderr}"
    );

    set(
        "# quota_bytes_per_day = 16777216",
        "quota_bytes_per_day = \"lots\"",
    );
    let out = linli(&["status"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("key `node.quota_bytes_per_day`"),
        "{stderr}"
    );
}
