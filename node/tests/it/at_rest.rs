//! Data at rest: the data directory is 0700 and every file linli writes in it — database,
//! WAL, key, lock, config, API token and address, dashboard URL — 0600, also under a umask
//! that would leave files world-writable; an older store with loose modes is tightened on
//! open; export files are 0600; `linli run`'s output (not a terminal) holds no token.
//!
//! Every process here runs with umask 000, so a file created without an explicit mode
//! would be 0644 (SQLite) or 0666, and a directory 0777.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command};

use serde_json::Value;

use crate::cli::{BIN, Run, from, linli, stop};

/// `linli --dir DIR …` under umask 000.
fn loose(dir: &Path) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("umask 000 && exec \"$@\"")
        .arg("sh")
        .arg(BIN)
        .arg("--dir")
        .arg(dir)
        .env_remove("RUST_LOG")
        .env_remove("LINLI_DIR");
    c
}

fn linli_loose(dir: &Path, args: &[&str]) -> Run {
    from(loose(dir).args(args).output().unwrap())
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn chmod(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

/// Every entry of `dir` with its mode.
fn modes(dir: &Path) -> BTreeMap<String, u32> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                mode(&e.path()),
            )
        })
        .collect()
}

/// The directory is 0700, holds at least `expected`, and every entry is a file with 0600.
fn assert_private(dir: &Path, expected: &[&str], when: &str) {
    assert_eq!(mode(dir), 0o700, "{when}: mode of {}", dir.display());
    let m = modes(dir);
    for name in expected {
        assert!(m.contains_key(*name), "{when}: no {name} in {m:?}");
    }
    for (name, mode) in &m {
        assert!(dir.join(name).is_file(), "{when}: {name} is not a file");
        assert_eq!(*mode, 0o600, "{when}: {name} has mode {mode:o} ({m:?})");
    }
}

const STORE: [&str; 4] = ["linli.db", "node.key", "node.lock", "linli.toml"];

/// `linli run` under umask 000 with piped output; returns once `api.addr` exists.
fn daemon(dir: &Path, extra: &[&str]) -> Child {
    crate::cli::daemon_from(loose(dir), dir, extra)
}

#[test]
fn at_rest_init_and_run_keep_the_data_directory_private() {
    let tmp = tempfile::tempdir().unwrap();
    // Parents that do not exist yet: created too, the data directory itself 0700.
    let dir = tmp.path().join("srv/linli/node");
    linli_loose(&dir, &["init", "--org", "heping", "--new-root"]).ok();
    assert_private(&dir, &STORE, "after init");
    linli_loose(&dir, &["federation", "create"]).ok();
    assert_private(&dir, &STORE, "after a write in local mode");

    // The daemon holds the database open: its -wal and -shm files exist now.
    let child = daemon(&dir, &[]);
    let mut running = STORE.to_vec();
    running.extend([
        "linli.db-wal",
        "linli.db-shm",
        "api.token",
        "api.addr",
        "dashboard.url",
    ]);
    assert_private(&dir, &running, "while `linli run` runs");
    // An export through the daemon: written by the daemon's process.
    let out = tmp.path().join("through-daemon.linli");
    linli_loose(&dir, &["export", out.to_str().unwrap()]).ok();
    assert_eq!(mode(&out), 0o600, "export written by the daemon");
    let (status, _, stderr) = stop(child);
    assert!(status.success(), "{status}: {stderr}");
    assert_private(&dir, &STORE, "after the daemon stopped");
}

#[test]
fn at_rest_an_old_store_with_loose_modes_is_tightened_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("old");
    linli(&dir, &["init", "--org", "heping", "--new-root"]).ok();
    linli(&dir, &["federation", "create"]).ok();
    // As an older linli (or a careless copy) left it.
    chmod(&dir, 0o755);
    chmod(&dir.join("linli.db"), 0o644);
    chmod(&dir.join("node.key"), 0o644);
    chmod(&dir.join("node.lock"), 0o666);
    chmod(&dir.join("linli.toml"), 0o755);
    std::fs::write(dir.join("api.token"), "stale").unwrap();
    chmod(&dir.join("api.token"), 0o644);
    let m = modes(&dir);
    assert!(m.values().any(|m| *m != 0o600), "{m:?}");

    // Any command that opens the store tightens it; the info line names what changed.
    let r = linli(&dir, &["-v", "--json", "status"]).ok();
    assert_eq!(r.json()["org"], "heping");
    assert_private(&dir, &STORE, "after opening an old store");
    assert!(
        r.stderr.contains("made readable by their owner only") && r.stderr.contains("node.key"),
        "{}",
        r.stderr
    );
    // Nothing left to tighten: no second info line.
    let r = linli(&dir, &["-v", "status"]).ok();
    assert!(
        !r.stderr.contains("made readable by their owner only"),
        "{}",
        r.stderr
    );
    // A file that is not linli's keeps its mode; the directory is tightened again.
    let other = dir.join("notes.sh");
    std::fs::write(&other, "#!/bin/sh\n").unwrap();
    chmod(&other, 0o755);
    chmod(&dir, 0o750);
    linli(&dir, &["status"]).ok();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&other), 0o755);
}

#[test]
fn at_rest_export_files_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    linli_loose(&dir, &["init", "--org", "heping", "--new-root"]).ok();
    linli_loose(&dir, &["federation", "create"]).ok();
    let log = tmp.path().join("node.linli");
    let r = linli_loose(&dir, &["--json", "export", log.to_str().unwrap()])
        .ok()
        .json();
    assert_eq!(r["changes"], 1, "{r}");
    assert_eq!(mode(&log), 0o600, "the LINLIEXP change log");
    let csv = tmp.path().join("documents.csv");
    linli_loose(
        &dir,
        &[
            "export",
            "--format",
            "csv",
            "--what",
            "documents",
            csv.to_str().unwrap(),
        ],
    )
    .ok();
    assert_eq!(mode(&csv), 0o600, "the CSV table");
    assert!(
        std::fs::read_to_string(&csv)
            .unwrap()
            .contains("federation")
    );
    // Over files that were there with loose modes: replaced, and private.
    for f in [&log, &csv] {
        chmod(f, 0o666);
    }
    linli_loose(&dir, &["export", log.to_str().unwrap()]).ok();
    linli_loose(
        &dir,
        &[
            "export",
            "--format",
            "csv",
            "--what",
            "documents",
            csv.to_str().unwrap(),
        ],
    )
    .ok();
    assert_eq!(mode(&log), 0o600);
    assert_eq!(mode(&csv), 0o600);
    let leftovers: Vec<_> = modes(tmp.path())
        .into_keys()
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn at_rest_the_output_of_linli_run_holds_no_token() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    linli(&dir, &["init", "--org", "heping", "--new-root"]).ok();
    // Debug logs, JSON on stdout, neither a terminal.
    let child = daemon(&dir, &["-v", "--json"]);
    let token = std::fs::read_to_string(dir.join("api.token")).unwrap();
    let token = token.trim().to_string();
    assert_eq!(token.len(), 64, "{token}");
    let addr = std::fs::read_to_string(dir.join("api.addr")).unwrap();
    let url_file = dir.join("dashboard.url");
    assert_eq!(mode(&url_file), 0o600);
    assert_eq!(
        std::fs::read_to_string(&url_file).unwrap().trim(),
        format!("http://{}/#token={token}", addr.trim())
    );
    // Requests through the daemon's API, logged at debug level.
    linli(&dir, &["federation", "create"]).ok();
    linli(&dir, &["status"]).ok();

    let (status, stdout, stderr) = stop(child);
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("linli daemon running"), "{stderr}");
    for (name, out) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!out.contains("#token="), "{name}: {out}");
        assert!(!out.contains(&token), "{name} holds the token: {out}");
    }
    let info: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        info["dashboard"],
        format!("http://{}/", addr.trim()),
        "{info}"
    );
    assert_eq!(
        info["dashboard_file"],
        url_file.display().to_string(),
        "{info}"
    );
    assert!(!url_file.exists(), "dashboard.url left behind");
}
