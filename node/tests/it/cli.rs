//! The `linli` binary end to end: a district built with CLI commands only (local mode and
//! through the daemon), error paths with their exit codes and messages.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_linli");
const DEADLINE: Duration = Duration::from_secs(30);

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}): {}\n{}", self.stdout, self.stderr)
        })
    }
    pub(crate) fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

fn cmd(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--dir")
        .arg(dir)
        .env_remove("RUST_LOG")
        .env_remove("LINLI_DIR");
    c
}

pub(crate) fn from(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

pub(crate) fn linli(dir: &Path, args: &[&str]) -> Run {
    from(cmd(dir).args(args).output().unwrap())
}

/// A district of three nodes built with the CLI: root (heping), street (beishi), community
/// (dianye); certificates travel by export files.
pub(crate) struct District {
    pub(crate) _tmp: tempfile::TempDir,
    pub(crate) root: PathBuf,
    pub(crate) street: PathBuf,
    pub(crate) community: PathBuf,
    pub(crate) root_id: String,
}

pub(crate) fn district() -> District {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let street = tmp.path().join("street");
    let community = tmp.path().join("dianye");
    let root_id = linli(&root, &["init", "--org", "heping", "--new-root"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert!(root_id.starts_with("ln"), "{root_id}");
    let street_id = linli(&street, &["init", "--org", "beishi", "--root", &root_id])
        .ok()
        .stdout
        .trim()
        .to_string();
    let community_id = linli(&community, &["init", "--org", "dianye", "--root", &root_id])
        .ok()
        .stdout
        .trim()
        .to_string();
    let created = linli(&root, &["--json", "federation", "create"])
        .ok()
        .json();
    assert_eq!(created["kind"], "federation");
    linli(
        &root,
        &[
            "federation",
            "issue",
            "--subject",
            &street_id,
            "--role",
            "street",
            "--org",
            "beishi",
        ],
    )
    .ok();
    let exp = tmp.path().join("root.linli");
    linli(&root, &["export", exp.to_str().unwrap()]).ok();
    let imp = linli(&street, &["--json", "import", exp.to_str().unwrap()])
        .ok()
        .json();
    assert_eq!(imp["applied"], 2, "{imp}");
    linli(
        &street,
        &[
            "federation",
            "issue",
            "--subject",
            &community_id,
            "--role",
            "community",
            "--org",
            "dianye",
            "--parent",
            "beishi",
        ],
    )
    .ok();
    let exp = tmp.path().join("street.linli");
    linli(&street, &["export", exp.to_str().unwrap()]).ok();
    linli(&community, &["import", exp.to_str().unwrap()]).ok();
    District {
        _tmp: tmp,
        root,
        street,
        community,
        root_id,
    }
}

/// Polls `done` until it holds; fails after [`DEADLINE`] naming `what`. Only for what
/// another process does (a `linli run` daemon child writing its files, answering, syncing
/// with another daemon, exiting): no event of this process reports those, so they are
/// polled, within a deadline.
pub(crate) fn poll(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `linli run` on loopback with free ports; returns once `api.addr` exists.
pub(crate) fn daemon(dir: &Path, extra: &[&str]) -> Child {
    daemon_from(cmd(dir), dir, extra)
}

/// [`daemon`] from a prepared command (`linli --dir DIR`, perhaps wrapped, e.g. under
/// another umask).
pub(crate) fn daemon_from(mut linli: Command, dir: &Path, extra: &[&str]) -> Child {
    let mut child = linli
        .args(extra)
        .args([
            "run",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--api",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr_file = dir.join("api.addr");
    poll("the daemon's api.addr", || {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                e.read_to_string(&mut err).unwrap();
            }
            panic!("daemon exited with {status}: {err}");
        }
        addr_file.exists()
    });
    child
}

/// Sends SIGTERM and waits for the daemon to exit; returns its status, stdout and stderr.
pub(crate) fn stop(mut child: Child) -> (std::process::ExitStatus, String, String) {
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    poll("the daemon to exit after SIGTERM", || {
        child.try_wait().unwrap().is_some()
    });
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn changes(dir: &Path) -> u64 {
    linli(dir, &["--json", "status"]).ok().json()["changes"]
        .as_u64()
        .unwrap()
}

#[test]
fn cli_district_flow_in_local_mode() {
    let d = district();
    let c = &d.community;
    let certs = linli(c, &["--json", "federation", "certs"]).ok().json();
    let orgs: Vec<&str> = certs
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["org"].as_str().unwrap())
        .collect();
    assert_eq!(orgs.len(), 2);
    assert!(
        orgs.contains(&"beishi") && orgs.contains(&"dianye"),
        "{orgs:?}"
    );

    // A room, a booking request and its confirmation by the owner.
    let room = linli(
        c,
        &[
            "--json",
            "resource",
            "publish",
            "--name",
            "Dianye activity room",
            "--capacity",
            "60",
        ],
    )
    .ok()
    .json();
    assert_eq!(room["kind"], "resource");
    let req = linli(
        c,
        &[
            "--json",
            "booking",
            "request",
            "--booker",
            "Li Wei",
            "--purpose",
            "reading club",
            "--start",
            "2031-03-04T19:00",
            "--end",
            "2031-03-04T20:30",
            "--attendees",
            "25",
        ],
    )
    .ok()
    .json();
    let booking = req["effect"]["booking"].as_str().unwrap().to_string();
    assert!(booking.starts_with("dianye@"), "{booking}");
    let human = linli(c, &["booking", "list"]).ok().stdout;
    assert!(
        human.contains(&booking) && human.contains("tentative"),
        "{human}"
    );
    let conf = linli(c, &["--json", "booking", "confirm", &booking])
        .ok()
        .json();
    assert_eq!(conf["effect"]["confirmed"]["booking"], booking.as_str());
    assert!(
        conf["slot"]
            .as_str()
            .unwrap()
            .starts_with("2031-03-04 19:00"),
        "{conf}"
    );
    let list = linli(c, &["--json", "booking", "list"]).ok().json();
    assert_eq!(list[0]["status"], "confirmed");
    assert_eq!(list[0]["start"], "2031-03-04 19:00");

    // Service hours in the community's ledger show up in the balance.
    linli(c, &["ledger", "create", "--year", "2026", "--hand-points"]).ok();
    linli(
        c,
        &[
            "service",
            "record",
            "dianye:7",
            "--activity",
            "security patrol",
            "--date",
            "2026-11-21",
            "--hours",
            "2.5",
            "--team",
            "patrol",
        ],
    )
    .ok();
    let bal = linli(c, &["--json", "balance", "dianye:7"]).ok().json();
    assert_eq!(bal["balance"], "2.50");
    let human = linli(c, &["balance", "dianye:7"]).ok().stdout;
    assert!(human.contains("2.50"), "{human}");

    // A redemption above the balance is refused by linli-core.
    let r = linli(
        c,
        &[
            "redeem", "dianye:7", "--item", "rice", "--cost", "4", "--outlet", "store",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("overdraw"), "{}", r.stderr);

    // CSV export of balances.
    let csv = d._tmp.path().join("balances.csv");
    linli(
        c,
        &[
            "export",
            "--format",
            "csv",
            "--what",
            "balances",
            csv.to_str().unwrap(),
        ],
    )
    .ok();
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("volunteer,earned,balance,hours,stars"));
    assert_eq!(lines.next(), Some("dianye:7,2.50,2.50,2.50,0"));

    let st = linli(c, &["--json", "status"]).ok().json();
    assert_eq!(st["documents"]["resource"], 1);
    assert_eq!(st["documents"]["ledger"], 1);
    assert_eq!(st["refused"], 0);
    assert_eq!(st["root"], d.root_id.as_str());
}

#[test]
fn cli_invalid_booking_is_refused_and_leaves_the_store_unchanged() {
    let d = district();
    let c = &d.community;
    linli(
        c,
        &["resource", "publish", "--name", "Room", "--capacity", "10"],
    )
    .ok();
    let before = changes(c);
    let r = linli(
        c,
        &[
            "booking",
            "request",
            "--booker",
            "Li Wei",
            "--purpose",
            "club",
            "--start",
            "2031-03-04T19:00",
            "--end",
            "2031-03-04T18:00",
            "--attendees",
            "5",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.starts_with("linli: booking slot"), "{}", r.stderr);
    assert!(r.stderr.contains("at or before it starts"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert_eq!(changes(c), before);
    let r = linli(
        c,
        &[
            "booking",
            "request",
            "--booker",
            "Li Wei",
            "--purpose",
            "club",
            "--start",
            "next tuesday",
            "--end",
            "2031-03-04T18:00",
            "--attendees",
            "5",
        ],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("start \"next tuesday\" is not a time"),
        "{}",
        r.stderr
    );
    // Unknown booking: named in the message.
    let r = linli(c, &["booking", "confirm", "dianye@abcdef0123456789:9"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("dianye@abcdef0123456789:9"),
        "{}",
        r.stderr
    );
    assert_eq!(changes(c), before);
    // The street may not write into the community's resource: it does not hold it.
    let r = linli(&d.street, &["booking", "list"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no resource document"), "{}", r.stderr);
}

#[test]
fn cli_csv_import_reports_rejected_rows() {
    let d = district();
    let c = &d.community;
    linli(c, &["ledger", "create", "--year", "2026", "--hand-points"]).ok();
    let csv = d._tmp.path().join("hours.csv");
    std::fs::write(
        &csv,
        "volunteer,activity,team,date,hours,evidence\n\
         dianye:7,patrol,patrol,2026-11-21,2,photo 1\n\
         dianye:8,patrol,,2026-11-21,30,\n\
         nobody,patrol,,2026-11-21,1,\n\
         dianye:8,elder visits,,2026-11-22,1.5,\n",
    )
    .unwrap();
    let r = linli(c, &["import", "--format", "csv", csv.to_str().unwrap()]);
    assert_eq!(r.code, 6, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("imported 2 service records, rejected 2"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains("line 3: rejected: hours must be more than 0 and at most 24"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("line 4: rejected: volunteer \"nobody\""),
        "{}",
        r.stderr
    );
    let bal = linli(c, &["--json", "balance"]).ok().json();
    let rows = bal.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["volunteer"], "dianye:7");
    assert_eq!(rows[0]["balance"], "2");
    assert_eq!(rows[1]["balance"], "1.50");
}

#[test]
fn cli_run_serves_commands_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("root");
    let root = linli(&dir, &["init", "--org", "heping", "--new-root"]).ok();
    let root_id = root.stdout.trim().to_string();
    linli(&dir, &["federation", "create"]).ok();
    let child = daemon(&dir, &["--log-format", "json"]);
    let addr_file = dir.join("api.addr");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("api.token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let token = std::fs::read_to_string(dir.join("api.token")).unwrap();
    let token = token.trim().to_string();
    assert_eq!(token.len(), 64, "{token}");
    // Commands now go through the daemon: its status carries the network's addresses.
    let st = linli(&dir, &["--json", "status"]).ok().json();
    assert_eq!(st["node"], root_id.as_str());
    let listen = st["listen"]
        .as_array()
        .expect("status through the daemon lists addresses");
    assert!(
        listen[0]
            .as_str()
            .unwrap()
            .starts_with("/ip4/127.0.0.1/tcp/"),
        "{st}"
    );
    // A write through the daemon.
    let street = tempfile::tempdir().unwrap();
    let street_id = linli(
        street.path(),
        &["init", "--org", "beishi", "--root", &root_id],
    )
    .ok()
    .stdout
    .trim()
    .to_string();
    linli(
        &dir,
        &[
            "federation",
            "issue",
            "--subject",
            &street_id,
            "--role",
            "street",
            "--org",
            "beishi",
        ],
    )
    .ok();
    let metrics = linli(&dir, &["metrics"]).ok().stdout;
    assert!(
        metrics.contains("linli_documents{kind=\"federation\"} 1"),
        "{metrics}"
    );
    // A domain refusal through the daemon: exit 1, the core's message.
    let r = linli(&dir, &["booking", "list"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no resource document"), "{}", r.stderr);

    // A second daemon on the same directory is refused.
    let r = linli(&dir, &["run", "--no-network", "--api", "127.0.0.1:0"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("a daemon is already running"),
        "{}",
        r.stderr
    );

    let (status, stdout, stderr) = stop(child);
    assert!(status.success(), "{status}: {stderr}");
    assert!(stdout.contains(&format!("node    {root_id}")), "{stdout}");
    assert!(stdout.contains("api     http://127.0.0.1:"), "{stdout}");
    // stdout is a pipe: the dashboard line names the address without its token.
    assert!(stdout.contains("dashboard http://127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("dashboard.url"), "{stdout}");
    for out in [&stdout, &stderr] {
        assert!(!out.contains("#token=") && !out.contains(&token), "{out}");
    }
    assert!(!addr_file.exists(), "api.addr left behind");
    assert!(!dir.join("api.token").exists(), "api.token left behind");
    // Logs went to stderr as JSON lines.
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for l in &lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(v["level"].is_string(), "{l}");
    }
    assert!(stderr.contains("linli daemon running"), "{stderr}");
    // The write is in the store (opened directly now).
    let certs = linli(&dir, &["--json", "federation", "certs"]).ok().json();
    assert_eq!(certs[0]["subject"], street_id.as_str());
}

#[test]
fn cli_broken_config_is_named_with_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    linli(dir, &["init", "--org", "dianye", "--new-root"]).ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("node.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let cfg = dir.join("linli.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("# listen = \"127.0.0.1:4711\""), "{text}");
    assert!(text.contains("\norg = \"dianye\"\n"), "{text}");

    std::fs::write(
        &cfg,
        "[network]\nmdns = true\nlisten = [\"/ip4/0.0.0.0/tcp/1\"\n",
    )
    .unwrap();
    let r = linli(dir, &["status"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let prefix = format!("linli: configuration: {}:", cfg.display());
    assert!(r.stderr.starts_with(&prefix), "{}", r.stderr);

    std::fs::write(&cfg, "[network]\nmdns = true\nmdnss = false\n").unwrap();
    let r = linli(dir, &["status"]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains(&format!(
            "{}:3: key `network.mdnss`: unknown field",
            cfg.display()
        )),
        "{}",
        r.stderr
    );

    std::fs::write(&cfg, "[api]\nlisten = \"everywhere\"\n").unwrap();
    let r = linli(dir, &["status"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains(":2: key `api.listen`"), "{}", r.stderr);
}

#[test]
fn cli_usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let r = linli(tmp.path(), &["frobnicate"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unrecognized subcommand 'frobnicate'"),
        "{}",
        r.stderr
    );
    let r = linli(tmp.path(), &["status", "--bogus"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unexpected argument '--bogus'"),
        "{}",
        r.stderr
    );
    let r = linli(tmp.path(), &["booking", "confirm", "not-a-booking-id"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not-a-booking-id"), "{}", r.stderr);
    let r = linli(tmp.path(), &["init", "--org", "dianye"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = linli(tmp.path(), &["call", "{\"cmd\":\"fly\"}"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("bad request JSON") && r.stderr.contains("fly"),
        "{}",
        r.stderr
    );
}

#[test]
fn cli_missing_data_dir_and_store() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nowhere");
    let r = linli(&missing, &["status"]);
    assert_eq!(r.code, 4);
    assert!(
        r.stderr.contains(&format!(
            "data directory {} does not exist",
            missing.display()
        )),
        "{}",
        r.stderr
    );
    assert!(!missing.exists());
    // An existing directory without a store.
    let r = linli(tmp.path(), &["status"]);
    assert_eq!(r.code, 4);
    assert!(r.stderr.contains("no linli store"), "{}", r.stderr);
    // A second init on the same directory.
    linli(tmp.path(), &["init", "--org", "dianye", "--new-root"]).ok();
    let r = linli(tmp.path(), &["init", "--org", "dianye", "--new-root"]);
    assert_eq!(r.code, 4);
    assert!(
        r.stderr.contains("already holds a linli store"),
        "{}",
        r.stderr
    );
}

#[test]
fn cli_metrics_needs_the_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    linli(tmp.path(), &["init", "--org", "dianye", "--new-root"]).ok();
    let r = linli(tmp.path(), &["metrics"]);
    assert_eq!(r.code, 5);
    assert!(
        r.stderr.contains("the daemon is not running"),
        "{}",
        r.stderr
    );
    // A stale api.addr (nothing listens there) is ignored by ordinary commands.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    std::fs::write(tmp.path().join("api.addr"), port.to_string()).unwrap();
    std::fs::write(tmp.path().join("api.token"), "x").unwrap();
    let st = linli(tmp.path(), &["--json", "status"]).ok().json();
    assert_eq!(st["org"], "dianye");
    let r = linli(tmp.path(), &["metrics"]);
    assert_eq!(r.code, 5);
}

#[test]
fn cli_join_records_root_and_peer() {
    let d = district();
    let r = linli(
        &d.community,
        &[
            "federation",
            "join",
            "--root",
            &d.root_id,
            "--peer",
            "/ip4/127.0.0.1/tcp/4710",
        ],
    )
    .ok();
    assert!(r.stdout.contains("/ip4/127.0.0.1/tcp/4710"), "{}", r.stdout);
    let text = std::fs::read_to_string(d.community.join("linli.toml")).unwrap();
    assert!(
        text.contains("\nbootstrap = [\"/ip4/127.0.0.1/tcp/4710\"]\n"),
        "{text}"
    );
    // The config still loads.
    linli(&d.community, &["status"]).ok();
    // Another district's root is refused.
    let other = linli(&d.root, &["--json", "status"]).ok().json()["node"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(other, d.root_id);
    let street = linli(&d.street, &["--json", "status"]).ok().json()["node"]
        .as_str()
        .unwrap()
        .to_string();
    let r = linli(&d.community, &["federation", "join", "--root", &street]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("initialised trusting root"),
        "{}",
        r.stderr
    );
}

#[test]
fn cli_every_subcommand_help_has_an_example() {
    let tmp = tempfile::tempdir().unwrap();
    let top = linli(tmp.path(), &["--help"]).ok().stdout;
    assert!(
        top.contains("Exit codes:") && top.contains("3  the configuration file"),
        "{top}"
    );
    let paths: &[&[&str]] = &[
        &["federation"],
        &["registry"],
        &["compound"],
        &["resource"],
        &["booking"],
        &["order"],
        &["ledger"],
        &["service"],
        &["wish"],
        &["init"],
        &["run"],
        &["status"],
        &["documents"],
        &["rejected"],
        &["peers"],
        &["metrics"],
        &["redeem"],
        &["correct"],
        &["balance"],
        &["leaderboard"],
        &["export"],
        &["import"],
        &["call"],
        &["federation", "create"],
        &["federation", "issue"],
        &["federation", "revoke"],
        &["federation", "join"],
        &["federation", "certs"],
        &["registry", "create"],
        &["compound", "add"],
        &["compound", "list"],
        &["compound", "appoint"],
        &["compound", "inspect"],
        &["compound", "score"],
        &["compound", "scores"],
        &["resource", "publish"],
        &["resource", "list"],
        &["booking", "request"],
        &["booking", "confirm"],
        &["booking", "reject"],
        &["booking", "waitlist"],
        &["booking", "revoke"],
        &["booking", "cancel"],
        &["booking", "list"],
        &["order", "place"],
        &["order", "accept"],
        &["order", "refuse"],
        &["order", "collected"],
        &["order", "cancel"],
        &["order", "list"],
        &["ledger", "create"],
        &["ledger", "entries"],
        &["service", "record"],
        &["wish", "create"],
        &["wish", "post"],
        &["wish", "claim"],
        &["wish", "assign"],
        &["wish", "release"],
        &["wish", "fulfil"],
        &["wish", "step"],
        &["wish", "list"],
    ];
    for p in paths {
        let mut args = p.to_vec();
        args.push("--help");
        let r = linli(tmp.path(), &args).ok();
        assert!(r.stdout.contains("Example: linli"), "{p:?}: {}", r.stdout);
    }
}

#[test]
fn cli_wishes_and_kitchen_orders() {
    let d = district();
    let c = &d.community;
    linli(c, &["wish", "create"]).ok();
    let w = linli(
        c,
        &[
            "--json",
            "wish",
            "post",
            "--title",
            "Walking frame",
            "--category",
            "elder care",
            "--channel",
            "home_visit",
        ],
    )
    .ok()
    .json();
    let wish = w["effect"]["wish"].as_str().unwrap().to_string();
    let cl = linli(
        c,
        &["--json", "wish", "claim", &wish, "--volunteer", "dianye:7"],
    )
    .ok()
    .json();
    let claim = cl["effect"]["claim"].as_str().unwrap().to_string();
    linli(c, &["wish", "assign", &wish, "--claim", &claim]).ok();
    // One assignee per wish: a second assignment is refused by linli-core.
    let r = linli(c, &["wish", "assign", &wish, "--claim", &claim]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("already assigned"), "{}", r.stderr);
    linli(c, &["wish", "fulfil", &wish, "--note", "delivered"]).ok();
    let list = linli(c, &["--json", "wish", "list"]).ok().json();
    assert_eq!(list[0]["status"], "fulfilled");
    assert_eq!(list[0]["channel"], Value::Null);
    let r = linli(c, &["wish", "step", &wish, "--stage", "teleported"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not a stage"), "{}", r.stderr);

    linli(
        c,
        &[
            "resource",
            "publish",
            "--name",
            "Liyuan kitchen",
            "--kind",
            "kitchen",
            "--capacity",
            "30",
            "--daily-capacity",
            "5",
        ],
    )
    .ok();
    let o = linli(
        c,
        &[
            "--json",
            "order",
            "place",
            "--household",
            "2-1-301",
            "--date",
            "2031-03-05",
            "--portions",
            "3",
            "--item",
            "dumplings",
        ],
    )
    .ok()
    .json();
    let order = o["effect"]["order"].as_str().unwrap().to_string();
    linli(c, &["order", "accept", &order]).ok();
    // 3 + 3 portions exceed the daily capacity of 5: refused with the core's message.
    let r = linli(
        c,
        &[
            "order",
            "place",
            "--household",
            "5-2-602",
            "--date",
            "2031-03-05",
            "--portions",
            "3",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("would exceed the daily capacity"),
        "{}",
        r.stderr
    );
    let day = linli(c, &["--json", "order", "list", "--date", "2031-03-05"])
        .ok()
        .json();
    assert_eq!(day["accepted_portions"], 3);
    assert_eq!(day["capacity"], 5);
    assert_eq!(day["orders"][0]["status"], "accepted");
    assert_eq!(day["orders"].as_array().unwrap().len(), 1);
    let human = linli(c, &["order", "list", "--date", "2031-03-05"])
        .ok()
        .stdout;
    assert!(
        human.contains("2-1-301") && human.contains("dumplings"),
        "{human}"
    );
}

#[test]
fn cli_every_core_operation_runs_by_name_with_checked_fields() {
    let d = district();
    let c = &d.community;
    // The catalogue needs no node; every operation has help text.
    let list = linli(&d.root, &["--json", "op", "list"]).ok().json();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["op"].as_str().unwrap())
        .collect();
    for id in [
        "resource.delegate",
        "resource.bar",
        "registry.update_compound",
        "ledger.set_rules",
    ] {
        assert!(ids.contains(&id), "{id} not in {ids:?}");
    }
    let show = linli(c, &["op", "show", "resource.bar"]).ok().stdout;
    assert!(show.contains("who") && show.contains("required"), "{show}");
    let r = linli(c, &["op", "show", "resource.teleport"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    linli(
        c,
        &[
            "resource",
            "publish",
            "--name",
            "Dianye hall",
            "--capacity",
            "30",
        ],
    )
    .ok();
    // Wrong fields are usage errors naming the field; nothing is written.
    let before = changes(c);
    let r = linli(c, &["op", "run", "resource.bar", "colour=red"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no field \"colour\""), "{}", r.stderr);
    let r = linli(c, &["op", "run", "resource.bar", "who={\"group\":\"x\"}"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("needs reason"), "{}", r.stderr);
    let r = linli(
        c,
        &["op", "run", "resource.bar", "who={not json", "reason=x"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("who takes"), "{}", r.stderr);
    assert_eq!(changes(c), before);
    // A bar (no typed command exists for it) then refuses the group's request.
    let w = linli(
        c,
        &[
            "--json",
            "op",
            "run",
            "resource.bar",
            "who={\"group\":\"Noisy troupe\"}",
            "reason=noise after 22:00",
        ],
    )
    .ok()
    .json();
    assert_eq!(w["effect"], "done");
    let r = linli(
        c,
        &[
            "booking",
            "request",
            "--booker",
            "Li Wei",
            "--organisation",
            "Noisy troupe",
            "--purpose",
            "dance",
            "--start",
            "2031-03-05T19:00",
            "--end",
            "2031-03-05T20:00",
            "--attendees",
            "10",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("noise after 22:00"), "{}", r.stderr);
    // A domain refusal through `op run` is exit 1 with the core's message.
    let r = linli(c, &["op", "run", "resource.promote_waitlist"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // Both refusals are in the audit, oldest first, with their class; the barred request's
    // values (the booker's name) are not kept.
    let audit = linli(c, &["--json", "audit"]).ok().json();
    let rows = audit.as_array().unwrap();
    let ops: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["op"].as_str().unwrap(), r["class"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ops,
        [
            ("resource.request", "unauthorized"),
            ("resource.promote_waitlist", "conflict")
        ],
        "{audit}"
    );
    assert!(!audit.to_string().contains("Li Wei"), "{audit}");
    assert!(
        rows[0]["error"]
            .as_str()
            .unwrap()
            .contains("noise after 22:00")
    );
}

#[test]
fn cli_booking_with_alternates_and_a_weekly_series_lists_every_occurrence() {
    let d = district();
    let c = &d.community;
    linli(
        c,
        &[
            "resource",
            "publish",
            "--name",
            "Dianye hall",
            "--capacity",
            "30",
        ],
    )
    .ok();
    let args = |alt: &str| {
        vec![
            "--json".to_string(),
            "booking".into(),
            "request".into(),
            "--booker".into(),
            "Li Wei".into(),
            "--purpose".into(),
            "choir".into(),
            "--start".into(),
            "2031-03-05T19:00".into(),
            "--end".into(),
            "2031-03-05T20:00".into(),
            "--attendees".into(),
            "10".into(),
            "--weeks".into(),
            "3".into(),
            "--alternate".into(),
            alt.to_string(),
        ]
    };
    let run = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        linli(c, &refs)
    };
    let r = run(args("2031-03-06T19:00"));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("is not START/END"), "{}", r.stderr);
    run(args("2031-03-06T19:00/2031-03-06T20:00")).ok();
    let list = linli(c, &["--json", "booking", "list"]).ok().json();
    let b = &list[0];
    assert_eq!(b["weeks"], 3);
    let occ: Vec<&str> = b["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert_eq!(occ.len(), 3, "{b}");
    assert!(occ[2].starts_with("2031-03-19 19:00"), "{occ:?}");
    assert!(
        b["alternates"][0]
            .as_str()
            .unwrap()
            .starts_with("2031-03-06 19:00"),
        "{b}"
    );
    let id = b["id"].as_str().unwrap().to_string();
    // The requested slot is free: confirmed on it (candidate 0), the alternate unused.
    let w = linli(c, &["--json", "booking", "confirm", &id]).ok().json();
    assert_eq!(w["effect"]["confirmed"]["slot_index"], 0, "{w}");
}

/// Whether any file of the data directory holds `needle`'s bytes.
fn dir_holds(dir: &Path, needle: &str) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|e| {
        std::fs::read(e.path())
            .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
    })
}

#[test]
fn cli_personal_data_is_listed_kept_out_of_documents_and_erased() {
    let d = district();
    let c = &d.community;
    linli(c, &["wish", "create"]).ok();
    let ledger = linli(c, &["--json", "ledger", "create", "--year", "2026"])
        .ok()
        .json()["doc"]
        .as_str()
        .unwrap()
        .to_string();
    // A contact needs a name (clap), and bad identities are refused naming what is wrong.
    let r = linli(
        c,
        &["wish", "post", "--title", "x", "--resident-contact", "1"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    linli(
        c,
        &[
            "wish",
            "post",
            "--title",
            "Walking frame",
            "--resident-name",
            "赵大爷",
            "--resident-contact",
            "13700001111",
        ],
    )
    .ok();
    linli(
        c,
        &[
            "personal",
            "volunteer",
            "dianye:7",
            "--name",
            "王小红",
            "--phone",
            "13800138000",
        ],
    )
    .ok();
    let r = linli(c, &["personal", "volunteer", "hongqi:3", "--name", "李四"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not of community dianye"), "{}", r.stderr);
    let r = linli(c, &["personal", "volunteer", "dianye:8", "--name", " "]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("name may not be empty"), "{}", r.stderr);
    let r = linli(
        c,
        &[
            "personal",
            "erase",
            "--doc",
            &ledger,
            "--record",
            "volunteers/dianye:99",
        ],
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("holds no personal data"), "{}", r.stderr);

    let list = linli(c, &["--json", "personal", "list"]).ok().json();
    let kinds: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{list}");
    assert!(
        kinds.contains(&"resident") && kinds.contains(&"volunteer"),
        "{list}"
    );
    let wishes = linli(c, &["--json", "wish", "list"]).ok().json();
    assert_eq!(wishes[0]["resident"]["name"], "赵大爷");
    // The store holds the data (in the personal table), the export file of the change log
    // does not.
    let exp = c.join("out.linli");
    linli(c, &["export", exp.to_str().unwrap()]).ok();
    let exported = std::fs::read(&exp).unwrap();
    for needle in ["赵大爷", "13700001111", "王小红", "13800138000"] {
        assert!(
            !exported
                .windows(needle.len())
                .any(|w| w == needle.as_bytes()),
            "{needle} in the export"
        );
    }
    assert!(dir_holds(c, "13800138000"));

    linli(
        c,
        &[
            "personal",
            "erase",
            "--doc",
            &ledger,
            "--record",
            "volunteers/dianye:7",
        ],
    )
    .ok();
    let list = linli(c, &["--json", "personal", "list", "--doc", &ledger])
        .ok()
        .json();
    assert_eq!(list[0]["kind"], "erased");
    assert_eq!(list[0]["data"], Value::Null);
    assert!(
        !dir_holds(c, "13800138000"),
        "an erased phone stays in a file"
    );
    assert!(!dir_holds(c, "王小红"), "an erased name stays in a file");
    let r = linli(
        c,
        &["personal", "volunteer", "dianye:7", "--name", "王小红"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("was erased"), "{}", r.stderr);
}

#[test]
fn cli_two_daemons_sync_over_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let street = tmp.path().join("street");
    let root_id = linli(&root, &["init", "--org", "heping", "--new-root"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let street_id = linli(&street, &["init", "--org", "beishi", "--root", &root_id])
        .ok()
        .stdout
        .trim()
        .to_string();
    linli(&root, &["federation", "create"]).ok();
    linli(
        &root,
        &[
            "federation",
            "issue",
            "--subject",
            &street_id,
            "--role",
            "street",
            "--org",
            "beishi",
        ],
    )
    .ok();
    let root_daemon = daemon(&root, &[]);
    let listen = linli(&root, &["--json", "status"]).ok().json()["listen"][0]
        .as_str()
        .unwrap()
        .to_string();
    linli(
        &street,
        &["federation", "join", "--root", &root_id, "--peer", &listen],
    )
    .ok();
    let street_daemon = daemon(&street, &[]);
    poll("the federation document to reach the street", || {
        let st = linli(&street, &["--json", "status"]).ok().json();
        st["documents"]["federation"] == 1
    });
    // A later write on the root travels too.
    let unit = tempfile::tempdir().unwrap();
    let unit_id = linli(
        unit.path(),
        &["init", "--org", "dianye", "--root", &root_id],
    )
    .ok()
    .stdout
    .trim()
    .to_string();
    linli(
        &root,
        &[
            "federation",
            "issue",
            "--subject",
            &unit_id,
            "--role",
            "community",
            "--org",
            "dianye",
            "--parent",
            "beishi",
        ],
    )
    .ok();
    poll("the second certificate to reach the street", || {
        let certs = linli(&street, &["--json", "federation", "certs"])
            .ok()
            .json();
        certs.as_array().unwrap().len() == 2
    });
    let peers = linli(&street, &["--json", "peers"]).ok().json();
    assert_eq!(peers[0]["node"], root_id.as_str());
    let (s1, _, e1) = stop(street_daemon);
    let (s2, _, e2) = stop(root_daemon);
    assert!(s1.success(), "{e1}");
    assert!(s2.success(), "{e2}");
}

fn listen_of(dir: &Path) -> String {
    linli(dir, &["--json", "status"]).ok().json()["listen"][0]
        .as_str()
        .unwrap()
        .to_string()
}

fn doc_count(dir: &Path) -> u64 {
    let docs = linli(dir, &["--json", "documents"]).ok().json();
    docs.as_array().unwrap().len() as u64
}

fn compounds_in(dir: &Path, registry: &str) -> usize {
    let r = linli(dir, &["--json", "compound", "list", "--doc", registry]);
    if r.code != 0 {
        return 0;
    }
    r.json().as_array().map_or(0, Vec::len)
}

/// Four daemons (root, street, two communities) as separate processes: they converge, a
/// daemon killed with SIGKILL restarts and catches up, and a daemon of another district is
/// refused by the street and receives nothing.
#[test]
fn cli_daemons_converge_restart_and_refuse_a_foreign_node() {
    let d = district();
    let hongqi = d._tmp.path().join("hongqi");
    let hongqi_id = linli(&hongqi, &["init", "--org", "hongqi", "--root", &d.root_id])
        .ok()
        .stdout
        .trim()
        .to_string();
    linli(
        &d.street,
        &[
            "federation",
            "issue",
            "--subject",
            &hongqi_id,
            "--role",
            "community",
            "--org",
            "hongqi",
            "--parent",
            "beishi",
        ],
    )
    .ok();
    let fast = ["--sync-interval", "1"];
    let street_daemon = daemon(&d.street, &[]);
    let street_addr = listen_of(&d.street);
    let with_boot = |extra: &str| -> Vec<String> {
        vec![
            "run".into(),
            "--listen".into(),
            "/ip4/127.0.0.1/tcp/0".into(),
            "--api".into(),
            "127.0.0.1:0".into(),
            "--bootstrap".into(),
            extra.to_string(),
            fast[0].into(),
            fast[1].into(),
        ]
    };
    let start = |dir: &Path| -> Child {
        let args = with_boot(&street_addr);
        // After a SIGKILL the old api.addr is still there: wait for the new daemon's.
        let stale = std::fs::read_to_string(dir.join("api.addr")).ok();
        let mut child = cmd(dir)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        poll("the daemon's api.addr", || {
            assert!(child.try_wait().unwrap().is_none(), "the daemon exited");
            std::fs::read_to_string(dir.join("api.addr")).is_ok_and(|a| Some(&a) != stale.as_ref())
        });
        child
    };
    let root_daemon = start(&d.root);
    let dianye_daemon = start(&d.community);
    let mut hongqi_daemon = start(&hongqi);
    // Hongqi got its certificate only from the street's federation document.
    poll("Hongqi receives the federation document", || {
        doc_count(&hongqi) == 1
    });

    // Writes through each daemon's API.
    let reg_d = linli(&d.community, &["--json", "registry", "create"])
        .ok()
        .json()["doc"]
        .as_str()
        .unwrap()
        .to_string();
    let reg_h = linli(&hongqi, &["--json", "registry", "create"])
        .ok()
        .json()["doc"]
        .as_str()
        .unwrap()
        .to_string();
    for (dir, name) in [(&d.community, "Shimalu compound"), (&hongqi, "Hongqi yard")] {
        linli(
            dir,
            &[
                "compound",
                "add",
                "--name",
                name,
                "--address",
                "1 road",
                "--households",
                "157",
                "--mode",
                "unmanaged",
            ],
        )
        .ok();
    }
    poll(
        "all four daemons hold the federation and both registries",
        || {
            [&d.root, &d.street, &d.community, &hongqi]
                .iter()
                .all(|dir| doc_count(dir) == 3)
                && compounds_in(&hongqi, &reg_d) == 1
                && compounds_in(&d.community, &reg_h) == 1
                && compounds_in(&d.root, &reg_h) == 1
        },
    );

    // Kill Hongqi's daemon outright; Dianye writes meanwhile; Hongqi restarts and catches up.
    hongqi_daemon.kill().unwrap();
    hongqi_daemon.wait().unwrap();
    linli(
        &d.community,
        &[
            "compound",
            "add",
            "--name",
            "Chidixiang courtyard",
            "--address",
            "12 Chidi lane",
            "--households",
            "180",
            "--mode",
            "self_managed",
        ],
    )
    .ok();
    let hongqi_daemon = start(&hongqi);
    poll("restarted Hongqi catches up", || {
        compounds_in(&hongqi, &reg_d) == 2
    });

    // A node of another district is refused by the street and receives nothing.
    let foreign = d._tmp.path().join("foreign");
    linli(&foreign, &["init", "--org", "intruder", "--new-root"]).ok();
    linli(&foreign, &["federation", "create"]).ok();
    let foreign_daemon = start(&foreign);
    // Each side finds that the other's key does not chain to its root; whichever checks
    // first drops the connection.
    let refused = |dir: &Path| {
        let peers = linli(dir, &["--json", "peers"]).ok().json();
        peers
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["dropped"].as_str().is_some_and(|r| r.contains("root")))
    };
    poll("the street and the foreign node refuse each other", || {
        refused(&d.street) || refused(&foreign)
    });
    assert_eq!(
        doc_count(&d.street),
        3,
        "the street took nothing from the foreign node"
    );
    assert_eq!(
        doc_count(&foreign),
        1,
        "the foreign node holds only its own federation"
    );

    for child in [
        foreign_daemon,
        hongqi_daemon,
        dianye_daemon,
        root_daemon,
        street_daemon,
    ] {
        let (status, _, err) = stop(child);
        assert!(status.success(), "{err}");
    }
}

/// `linli run --training-clock TIME` at `time`, on loopback with free ports; returns once
/// `api.addr` exists.
pub(crate) fn training_daemon(dir: &Path, time: &str) -> Child {
    let mut child = cmd(dir)
        .args([
            "run",
            "--training-clock",
            time,
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--api",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr_file = dir.join("api.addr");
    poll("the training daemon's api.addr", || {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the training daemon exited"
        );
        addr_file.exists()
    });
    child
}

/// The kitchen's cut-off (20:00 the evening before) shown with a training clock through the
/// public surface: an order at 19:59 is accepted, one at 20:01 refused; `linli status` marks
/// the simulated time.
#[test]
fn cli_training_clock_shows_the_kitchen_cut_off() {
    let d = district();
    let c = &d.community;
    linli(
        c,
        &[
            "resource",
            "publish",
            "--name",
            "Liyuan kitchen",
            "--kind",
            "kitchen",
            "--capacity",
            "30",
            "--daily-capacity",
            "20",
        ],
    )
    .ok();
    // Anything but RFC 3339 with an offset is a usage error.
    let r = linli(c, &["run", "--training-clock", "2027-03-04T19:59"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("RFC 3339"), "{}", r.stderr);

    let order = |household: &str| {
        linli(
            c,
            &[
                "order",
                "place",
                "--household",
                household,
                "--date",
                "2027-03-05",
                "--portions",
                "2",
                "--item",
                "dumplings",
            ],
        )
    };
    let child = training_daemon(c, "2027-03-04T19:59:00+08:00");
    let st = linli(c, &["--json", "status"]).ok().json();
    assert_eq!(st["clock"], "training", "{st}");
    let time = st["time"].as_str().unwrap();
    assert!(time.starts_with("2027-03-04 19:59:"), "{time}");
    assert!(time.ends_with("+08:00"), "{time}");
    let human = linli(c, &["status"]).ok().stdout;
    assert!(
        human.starts_with("TRAINING CLOCK (simulated time): 2027-03-04 19:59:"),
        "{human}"
    );
    // 19:59 the evening before: accepted.
    order("2-1-301").ok();
    let (status, _, _) = stop(child);
    assert!(status.success());

    // 20:01: refused with the cut-off.
    let child = training_daemon(c, "2027-03-04T20:01:00+08:00");
    let r = order("5-2-602");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("after the cut-off"), "{}", r.stderr);
    let day = linli(c, &["--json", "order", "list", "--date", "2027-03-05"])
        .ok()
        .json();
    assert_eq!(day["orders"].as_array().unwrap().len(), 1, "{day}");
    let (status, _, _) = stop(child);
    assert!(status.success());

    // The directory holds simulated times now: the daemon refuses to run it on real time.
    let r = linli(c, &["run", "--api", "127.0.0.1:0", "--no-network"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("ran on a training clock"), "{}", r.stderr);

    // A local-mode command without a daemon continues the simulated time (a simulated
    // document never gets a real time): still the evening of 2027-03-04, past the cut-off.
    let st = linli(c, &["--json", "status"]).ok().json();
    assert_eq!(st["clock"], "training", "{st}");
    let time = st["time"].as_str().unwrap();
    assert!(time.starts_with("2027-03-04 20:"), "{time}");
    let r = order("7-1-101");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("after the cut-off"), "{}", r.stderr);
    // A damaged mark is an error naming the file, and changes nothing.
    std::fs::write(c.join("training-clock"), "yesterday\n").unwrap();
    let r = linli(c, &["status"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("training-clock is damaged"),
        "{}",
        r.stderr
    );
}

#[test]
fn cli_volunteer_registry_registers_refuses_and_lists() {
    let d = district();
    let c = &d.community;
    linli(c, &["volunteers", "create"]).ok();
    linli(
        c,
        &[
            "op",
            "run",
            "volunteers.add_team",
            "code=patrol",
            "name=Security patrol",
        ],
    )
    .ok();
    let register = |phone: &str| {
        linli(
            c,
            &[
                "--json",
                "op",
                "run",
                "volunteers.register",
                "name=李志愿",
                &format!("phone={phone}"),
                "kind=resident",
                "teams=[\"patrol\"]",
            ],
        )
    };
    let w = register("13987654321").ok().json();
    let id = w["effect"]["volunteer"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(id.starts_with("dianye@"), "{w}");
    // Refusals: exit 1, the class in the audit, nothing written.
    let before = changes(c);
    let r = register("139 8765 4321");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("phone already registered"),
        "{}",
        r.stderr
    );
    let r = linli(
        c,
        &[
            "op",
            "run",
            "volunteers.register",
            "name=张三",
            "kind=resident",
            "teams=[\"choir\"]",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("unknown team"), "{}", r.stderr);
    let r = linli(
        c,
        &[
            "op",
            "run",
            "volunteers.set_status",
            "volunteer=dianye:99",
            "status=paused",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(changes(c), before);
    let audit = linli(c, &["--json", "audit"]).ok().json();
    let classes: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["class"].as_str().unwrap())
        .collect();
    assert_eq!(classes, ["conflict", "not_found", "not_found"], "{audit}");
    assert!(!audit.to_string().contains("13987654321"), "{audit}");
    // The home community lists the full identity.
    let list = linli(c, &["--json", "volunteers", "list"]).ok().json();
    assert_eq!(list[0]["id"], id.as_str(), "{list}");
    assert_eq!(list[0]["name"], "李志愿");
    assert_eq!(list[0]["phone"], "13987654321");
    assert_eq!(list[0]["status"], "active");
    assert_eq!(list[0]["teams"], "patrol");
    // `personal volunteer` updates a registered volunteer's identity in the registry.
    linli(
        c,
        &[
            "personal",
            "volunteer",
            &id,
            "--name",
            "李志愿",
            "--phone",
            "13700001111",
        ],
    )
    .ok();
    let list = linli(c, &["--json", "volunteers", "list"]).ok().json();
    assert_eq!(list[0]["phone"], "13700001111", "{list}");
}
