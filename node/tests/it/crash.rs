//! Crash loop: a child process (this test binary, re-run on `child_writer`) writes in a loop
//! and prints each write once it is acknowledged; the test kills it with SIGKILL at a random
//! moment, then checks that the store opens, passes SQLite's integrity check and holds every
//! acknowledged write. `LINLI_CRASH_KILLS` sets the number of kills (default 30),
//! `LINLI_SEED` replays a run.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use linli_core::DocId;
use linli_node::Node;

use crate::util::*;

const DIR_VAR: &str = "LINLI_CRASH_DIR";
const ROUND_VAR: &str = "LINLI_CRASH_ROUND";

/// Not a test on its own: the body of the child process. Without the environment variable
/// it returns at once.
#[tokio::test]
async fn child_writer() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let round = std::env::var(ROUND_VAR).unwrap();
    let dir = std::path::PathBuf::from(dir);
    let registry: DocId = std::fs::read_to_string(dir.join("registry"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let node = Node::open(&dir, opts()).await.unwrap();
    println!("OPEN");
    for k in 0.. {
        let name = format!("r{round}-{k}");
        add_compound(&node, registry, &name).await;
        // Printed only after the write was acknowledged (committed).
        println!("ACK {name}");
    }
}

#[tokio::test]
async fn crash_loop_loses_no_acknowledged_write() {
    let kills: u32 = std::env::var("LINLI_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let mut rng = Rng::new("crash_loop");
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, registry) = community_node(&mut district, dir.path()).await;
    node.shutdown().await.unwrap();
    std::fs::write(dir.path().join("registry"), registry.to_string()).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<String> = Vec::new();
    let started = Instant::now();
    // Writes committed but killed before they were acknowledged (evidence that kills land
    // inside writes).
    let mut unacked = 0;
    for round in 0..kills {
        let mut child = Command::new(&exe)
            .args([
                "crash::child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, dir.path())
            .env(ROUND_VAR, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        // Kill after a random number of acknowledged writes (0: while opening the store),
        // plus a random delay, so the kill lands anywhere in a write.
        let wanted = rng.range(0, 6);
        let mut seen = 0;
        let mut line = String::new();
        while seen < wanted {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("child of round {round} ended early:\n{err}");
            }
            if let Some(name) = line.trim().strip_prefix("ACK ") {
                acked.push(name.to_string());
                seen += 1;
            }
        }
        let delay = rng.range(0, 3000);
        spin(Duration::from_micros(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        // Lines still in the pipe were acknowledged before the kill too.
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        acked.extend(
            rest.lines()
                .filter_map(|l| l.strip_prefix("ACK "))
                .map(str::to_string),
        );

        let node = Node::open(dir.path(), opts()).await.unwrap();
        node.check_integrity().await.unwrap();
        let names = compound_names(&node, registry).await;
        for a in &acked {
            assert!(
                names.binary_search(a).is_ok(),
                "round {round}: acknowledged write {a} is lost"
            );
        }
        // Nothing else than what the child tried: at most one unacknowledged write per round.
        assert!(names.len() <= acked.len() + round as usize + 1);
        unacked = names.len() - acked.len();
        let st = node.status().await.unwrap();
        assert_eq!((st.pending, st.refused), (0, 0));
        node.shutdown().await.unwrap();
    }
    eprintln!(
        "crash loop: {kills} kills, {} acknowledged writes, {unacked} committed but not \
         acknowledged, {:?}",
        acked.len(),
        started.elapsed()
    );
    assert!(!acked.is_empty());
}

/// Busy-waits (the point is a random kill moment, not waiting for something).
fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}
