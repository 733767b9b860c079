//! CSV import benchmark (not a test): service records imported from a CSV file against the
//! node's local write rate (`Node::execute`, one service record per change) measured in the
//! same run, the rate of the first 1,000 rows against the last 1,000, a second import into
//! the filled ledger, a re-run that finds every row already imported, and the `linli` binary
//! end to end (locally and through a running daemon).
//!
//! `cargo bench -p linli-node --bench import`. Environment: `BENCH_IMPORT_ROWS` rows of the
//! file (default 10,000), `BENCH_WRITES` local writes of the baseline (default 2,000),
//! `BENCH_CLI=0` skips the runs of the binary. Every node uses the default durability
//! (`synchronous=FULL`), as `linli` does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use linli_core::cert::Role;
use linli_core::federation::FederationOp;
use linli_core::identity::Keypair;
use linli_core::ledger::{LedgerOp, LedgerRules, MAX_BATCH_ROWS};
use linli_core::{
    DistrictConfig, DocId, NewDoc, Op, OrgId, Replica, SignedChange, Timestamp, VolunteerId,
};
use linli_node::ops::{self, Request};
use linli_node::{InitOptions, Node, OpenOptions};

const BIN: &str = env!("CARGO_BIN_EXE_linli");

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap()
}

fn valid_from() -> Timestamp {
    Timestamp::parse("2020-01-01T00:00:00Z").unwrap()
}

const NODE_SECRET: [u8; 32] = [1; 32];

/// The federation document's changes: the root certifies the node as community dianye.
fn federation() -> (Keypair, Vec<SignedChange>) {
    let rk = Keypair::from_secret(&[0xAA; 32]);
    let mut root = Replica::new(rk.clone(), [0; 8], org("heping"), rk.node_id());
    let fed = root
        .create(
            NewDoc::Federation {
                config: DistrictConfig::default(),
            },
            valid_from(),
        )
        .unwrap()
        .doc;
    root.execute(
        fed,
        Op::Federation(FederationOp::Issue {
            subject: Keypair::from_secret(&NODE_SECRET).node_id(),
            role: Role::Community,
            org: org("dianye"),
            parent: Some(org("beishi")),
            name: "dianye node".into(),
            not_before: valid_from(),
            not_after: Timestamp::parse("2100-01-01T00:00:00Z").unwrap(),
        }),
        valid_from(),
    )
    .unwrap();
    let changes = root.changes(fed, &[]).unwrap();
    (rk, changes)
}

/// A community node in `dir` with a 2026 ledger.
async fn node(dir: &Path, root: &Keypair, fed: &[SignedChange]) -> (Node, DocId) {
    let mut init = InitOptions::new(org("dianye"), root.node_id());
    init.secret = Some(NODE_SECRET);
    let node = Node::init(dir, init, OpenOptions::default()).await.unwrap();
    for r in node.apply_batch(fed.to_vec()).await.unwrap() {
        r.unwrap();
    }
    let ledger = node
        .create(NewDoc::Ledger {
            street: org("beishi"),
            community: org("dianye"),
            year: 2026,
            rules: LedgerRules::default(),
        })
        .await
        .unwrap()
        .doc;
    (node, ledger)
}

fn day(i: usize) -> jiff::civil::Date {
    jiff::civil::Date::new(2026, 1, 1)
        .unwrap()
        .checked_add(jiff::Span::new().days((i % 365) as i64))
        .unwrap()
}

/// A service-records CSV of `n` rows (no two alike; `tag` makes files differ), CRLF.
fn csv(n: usize, tag: &str) -> Vec<u8> {
    let mut s = String::from("volunteer,activity,team,date,hours,evidence\r\n");
    for i in 0..n {
        s.push_str(&format!(
            "dianye:{},patrol,night,{},{},{tag} {i}\r\n",
            i % 500 + 1,
            day(i),
            1 + i % 4
        ));
    }
    s.into_bytes()
}

/// Imports `data` the way `linli import --format csv` does in local mode (parse, batches of
/// 500 rows through the ops layer); returns the time after each row was written, and the
/// rows recorded and already imported.
async fn import(node: &Node, doc: DocId, data: &[u8]) -> (Vec<Duration>, u64, u64) {
    let t = Instant::now();
    let rows: Vec<_> = linli_node::cli::service_rows(data)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r.unwrap())
        .collect();
    let mut done = Vec::with_capacity(rows.len());
    let (mut recorded, mut already) = (0, 0);
    for batch in rows.chunks(MAX_BATCH_ROWS) {
        let v = ops::execute(
            node,
            Request::ServiceImport {
                doc: Some(doc),
                rows: batch.to_vec(),
            },
        )
        .await
        .unwrap();
        recorded += v["recorded"].as_u64().unwrap();
        already += v["already_imported"].as_u64().unwrap();
        assert_eq!(v["rejected"], 0, "{v}");
        let now = t.elapsed();
        done.extend(std::iter::repeat_n(now, batch.len()));
    }
    (done, recorded, already)
}

/// Rows per second of rows `from..to`, given the time each row was done.
fn rate(done: &[Duration], from: usize, to: usize) -> f64 {
    let start = if from == 0 {
        Duration::ZERO
    } else {
        done[from - 1]
    };
    (to - from) as f64 / (done[to - 1] - start).as_secs_f64()
}

fn linli(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--dir")
        .arg(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    c
}

/// `linli import --format csv FILE` on `dir`; its wall time.
fn cli_import(dir: &Path, file: &Path) -> Duration {
    let t = Instant::now();
    let out = linli(dir)
        .args(["--json", "import", "--format", "csv"])
        .arg(file)
        .output()
        .unwrap();
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

async fn run() {
    let n = env("BENCH_IMPORT_ROWS", 10_000).max(2_000);
    let writes = env("BENCH_WRITES", 2_000).max(100);
    println!(
        "import benchmark: {n} rows of service records (CSV); baseline {writes} local writes (Node::execute); durability Full"
    );
    let (root, fed) = federation();

    // Baseline: the node's local write rate, one service record per change.
    let dir = tempfile::tempdir().unwrap();
    let (local, doc) = node(dir.path(), &root, &fed).await;
    let t = Instant::now();
    for i in 0..writes {
        local
            .execute(
                doc,
                Op::Ledger(LedgerOp::RecordService {
                    volunteer: format!("dianye:{}", i % 500 + 1)
                        .parse::<VolunteerId>()
                        .unwrap(),
                    activity: "patrol".into(),
                    team: Some("night".into()),
                    date: day(i),
                    hours: 1.0,
                    evidence: Some(format!("w {i}")),
                }),
            )
            .await
            .unwrap();
    }
    let write_rate = writes as f64 / t.elapsed().as_secs_f64();
    local.shutdown().await.unwrap();

    // The import, in process (the CLI's local path without process start and store open).
    let dir = tempfile::tempdir().unwrap();
    let (node_a, doc) = node(dir.path(), &root, &fed).await;
    let file = csv(n, "a");
    let (done, recorded, _) = import(&node_a, doc, &file).await;
    assert_eq!(recorded, n as u64);
    let import_rate = rate(&done, 0, n);
    let first = rate(&done, 0, 1_000);
    let last = rate(&done, n - 1_000, n);
    // A second file into the ledger now holding n entries, and the first file again.
    let (done2, recorded2, _) = import(&node_a, doc, &csv(n, "b")).await;
    assert_eq!(recorded2, n as u64);
    let second_rate = rate(&done2, 0, n);
    let (again, recorded3, already) = import(&node_a, doc, &file).await;
    assert_eq!((recorded3, already), (0, n as u64));
    let again_rate = rate(&again, 0, n);
    let changes = node_a.changes(doc, vec![]).await.unwrap().len();
    node_a.shutdown().await.unwrap();

    // The binary end to end: locally, and through a running daemon.
    let mut cli_rows = Vec::new();
    if env("BENCH_CLI", 1) != 0 {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("hours.csv");
        std::fs::write(&path, &file).unwrap();
        for daemon in [false, true] {
            let d = tmp.path().join(if daemon { "daemon" } else { "local" });
            let (nd, _) = node(&d, &root, &fed).await;
            nd.shutdown().await.unwrap();
            let child = daemon.then(|| {
                let child = linli(&d)
                    .args(["run", "--no-network", "--api", "127.0.0.1:0"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let deadline = Instant::now() + Duration::from_secs(30);
                while !d.join("api.addr").exists() {
                    assert!(Instant::now() < deadline, "the daemon did not start");
                    std::thread::sleep(Duration::from_millis(20));
                }
                child
            });
            let took = cli_import(&d, &path);
            let again = cli_import(&d, &path);
            if let Some(mut child) = child {
                Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status()
                    .unwrap();
                child.wait().unwrap();
            }
            cli_rows.push((daemon, took, again));
        }
    }

    println!();
    println!("| measurement | linli | baseline | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| import of {n} rows (parse, batches of {MAX_BATCH_ROWS}, ops layer; {changes} changes in all) | {import_rate:.0} rows/s | {write_rate:.0} writes/s (Node::execute, {writes} service records) | {:.2}× (target ≥ 0.5×) |",
        import_rate / write_rate
    );
    println!(
        "| rows 1–1,000 against rows {}–{n} of that import | {last:.0} rows/s (last) | {first:.0} rows/s (first) | {:.2}× (target ≈ 1) |",
        n - 999,
        last / first
    );
    println!(
        "| a second file of {n} rows into the ledger holding {n} | {second_rate:.0} rows/s | {import_rate:.0} rows/s (first file) | {:.2}× |",
        second_rate / import_rate
    );
    println!(
        "| the first file again (every row already imported) | {again_rate:.0} rows/s | {import_rate:.0} rows/s (first import) | {:.2}× |",
        again_rate / import_rate
    );
    for (daemon, took, again) in cli_rows {
        let how = if daemon {
            "through a running daemon (HTTP API)"
        } else {
            "locally (store opened by the command)"
        };
        let r = n as f64 / took.as_secs_f64();
        println!(
            "| `linli import --format csv`, {how}, {n} rows | {r:.0} rows/s ({:.2} s) | {write_rate:.0} writes/s | {:.2}× |",
            took.as_secs_f64(),
            r / write_rate
        );
        println!(
            "| the same command again (every row already imported), {how} | {:.0} rows/s ({:.2} s) | – | – |",
            n as f64 / again.as_secs_f64(),
            again.as_secs_f64()
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}
