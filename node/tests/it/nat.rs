//! Offices behind NAT, in network namespaces this test creates and removes.
//!
//! ```text
//!                 ns pub (the "internet"): R, a street node serving as relay
//!          10.201.1.1 /              \ 10.201.2.1
//!   ns r1 (router, masquerade)     ns r2 (router, masquerade)
//!          192.168.51.1 |                | 192.168.52.1
//!   ns a: community dianye           ns b: street beishi
//! ```
//!
//! A and B can dial out but nobody can dial them. A learns so from AutoNAT, reserves a slot
//! on R and is reachable at `<R>/p2p-circuit/p2p/<A>`; B dials that address and the two sync
//! over the relay: B receives A's compound registry, which R (another street) never holds.
//! Then they punch a direct connection through both NATs (DCUtR), B is refused a
//! reservation of its own by R's bound (one), and a new node behind B's NAT joins with a
//! code A made, whose address is A's through the relay.
//!
//! Needs root, `ip` and `nft` (scripts/test installs nftables): without them the test says
//! so and passes, unless `LINLI_REQUIRE_NETNS=1` (set by scripts/test when it runs as
//! root), where it fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use linli_core::NewDoc;
use linli_core::cert::Role;
use linli_node::{InitOptions, Node};
use serde_json::Value;
use tempfile::TempDir;

use crate::util::{District, add_compound, opts, org, secret};

/// Generous: probes, reservations and sessions on a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(90);

fn have(tool: &str, version: &str) -> bool {
    Command::new(tool)
        .arg(version)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs `cmd`, failing the test with its output if it fails.
fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

fn in_ns(ns: &str, args: &[&str]) {
    run(Command::new("ip").args(["netns", "exec", ns]).args(args));
}

/// The namespaces of one run, removed (with their veths and processes' sockets) on drop;
/// the daemons are killed first, by their pids.
struct Net {
    tag: String,
    namespaces: Vec<String>,
    daemons: Vec<Child>,
    /// The daemons' logs, shown when a command fails.
    logs: Vec<std::path::PathBuf>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for d in &mut self.daemons {
            let _ = d.kill();
            let _ = d.wait();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

impl Net {
    fn ns(&self, name: &str) -> String {
        format!("ln{}{name}", self.tag)
    }

    /// Builds the topology above.
    fn build() -> Net {
        let tag = format!("{:04x}", std::process::id() & 0xffff);
        let mut net = Net {
            tag,
            namespaces: Vec::new(),
            daemons: Vec::new(),
            logs: Vec::new(),
        };
        for n in ["pub", "r1", "a", "r2", "b"] {
            let ns = net.ns(n);
            let _ = Command::new("ip")
                .args(["netns", "del", &ns])
                .stderr(Stdio::null())
                .status();
            ip(&["netns", "add", &ns]);
            net.namespaces.push(ns.clone());
            in_ns(&ns, &["ip", "link", "set", "lo", "up"]);
        }
        let t = net.tag.clone();
        // (ns, veth, address) pairs of each link.
        let links = [
            (
                ("pub", "p1", "10.201.1.1/24"),
                ("r1", "u1", "10.201.1.2/24"),
            ),
            (
                ("r1", "d1", "192.168.51.1/24"),
                ("a", "a1", "192.168.51.2/24"),
            ),
            (
                ("pub", "p2", "10.201.2.1/24"),
                ("r2", "u2", "10.201.2.2/24"),
            ),
            (
                ("r2", "d2", "192.168.52.1/24"),
                ("b", "b1", "192.168.52.2/24"),
            ),
        ];
        for ((ns1, if1, a1), (ns2, if2, a2)) in links {
            let (if1, if2) = (format!("v{t}{if1}"), format!("v{t}{if2}"));
            let (ns1, ns2) = (net.ns(ns1), net.ns(ns2));
            ip(&[
                "link", "add", &if1, "netns", &ns1, "type", "veth", "peer", "name", &if2, "netns",
                &ns2,
            ]);
            for (ns, ifc, a) in [(&ns1, &if1, a1), (&ns2, &if2, a2)] {
                in_ns(ns, &["ip", "addr", "add", a, "dev", ifc]);
                in_ns(ns, &["ip", "link", "set", ifc, "up"]);
            }
        }
        for (ns, gw) in [
            ("r1", "10.201.1.1"),
            ("a", "192.168.51.1"),
            ("r2", "10.201.2.1"),
            ("b", "192.168.52.1"),
        ] {
            in_ns(&net.ns(ns), &["ip", "route", "add", "default", "via", gw]);
        }
        for ns in ["pub", "r1", "r2"] {
            in_ns(
                &net.ns(ns),
                &["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
            );
        }
        // The routers masquerade what leaves on their upstream link and let nothing in
        // that is not an answer, silently (as home routers do: no reset that would end a
        // simultaneous open).
        for (r, up) in [("r1", "u1"), ("r2", "u2")] {
            let rules = format!(
                "table ip nat {{
  chain post {{
    type nat hook postrouting priority 100;
    oifname \"v{t}{up}\" masquerade
  }}
}}
table ip filter {{
  chain forwarding {{
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname != \"v{t}{up}\" accept
  }}
  chain inbound {{
    type filter hook input priority 0; policy accept;
    iifname \"v{t}{up}\" ct state new drop
  }}
}}
"
            );
            let mut child = Command::new("ip")
                .args(["netns", "exec", &net.ns(r), "nft", "-f", "-"])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(rules.as_bytes())
                .unwrap();
            assert!(child.wait().unwrap().success(), "nft rules for {r}");
        }
        net
    }

    /// The last lines of every daemon's log, for a failure's message.
    fn log_tails(&self) -> String {
        let mut out = String::new();
        for p in &self.logs {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- {} (last 40 lines)\n", p.display()));
            for l in &lines[lines.len().saturating_sub(40)..] {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    /// `linli --dir dir` run inside namespace `ns`.
    fn command(&self, ns: &str, dir: &Path) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(ns)])
            .arg(env!("CARGO_BIN_EXE_linli"))
            .arg("--dir")
            .arg(dir);
        cmd
    }

    /// Starts `linli run` on `dir` in namespace `ns`, dialling `bootstrap`.
    fn start(&mut self, ns: &str, dir: &Path, bootstrap: &[String]) {
        let log = std::fs::File::create(dir.with_extension("log")).unwrap();
        self.logs.push(dir.with_extension("log"));
        let mut cmd = self.command(ns, dir);
        cmd.args([
            "run",
            "--listen",
            "/ip4/0.0.0.0/tcp/0",
            "--api",
            "127.0.0.1:0",
            "--sync-interval",
            "1",
        ]);
        for b in bootstrap {
            cmd.args(["--bootstrap", b]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.daemons.push(child);
    }

    /// Runs `linli --dir dir args…` in `ns` and returns its standard output; fails the test
    /// with its output if it fails.
    fn linli(&self, ns: &str, dir: &Path, args: &[&str]) -> String {
        let out = self.command(ns, dir).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "linli {args:?} in {ns}: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log_tails()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `linli --json status` of the daemon on `dir` in `ns` (through its local API), if it
    /// answers.
    fn status(&self, ns: &str, dir: &Path) -> Option<Value> {
        let out = self
            .command(ns, dir)
            .args(["--json", "status"])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// Polls the status of `dir` until `pred` holds (the daemons are other processes in
    /// other namespaces: no event of ours reaches here), or fails with the logs.
    fn wait(&self, ns: &str, dir: &Path, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            if let Some(st) = self.status(ns, dir)
                && pred(&st)
            {
                return st;
            }
            if start.elapsed() > DEADLINE {
                let logs: Vec<String> = ["r", "a", "b"]
                    .iter()
                    .map(|n| {
                        let p = dir.with_file_name(n).with_extension("log");
                        let text = std::fs::read_to_string(&p).unwrap_or_default();
                        let tail: Vec<&str> = text.lines().rev().take(40).collect();
                        format!(
                            "--- {}\n{}",
                            p.display(),
                            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                        )
                    })
                    .collect();
                panic!(
                    "{what}: not within {DEADLINE:?}; last status {:?}\n{}",
                    self.status(ns, dir),
                    logs.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn listen(st: &Value) -> Vec<String> {
    st["listen"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn registries(st: &Value) -> u64 {
    st["documents"]["registry"].as_u64().unwrap_or(0)
}

/// Creates a node in `dir` for `o` with `role` (parent `parent`), certified by the
/// district, holding the federation document; `relay` lines go to its config file.
async fn node(
    district: &mut District,
    dir: &Path,
    o: &str,
    role: Role,
    parent: Option<&str>,
    relay: &str,
) -> Node {
    let mut init = InitOptions::new(org(o), district.root_id());
    init.secret = Some(secret(o, 1));
    let node = Node::init(dir, init, opts()).await.unwrap();
    district.certify(node.node_id(), role, o, parent);
    for r in node.apply_batch(district.fed_changes()).await.unwrap() {
        r.unwrap();
    }
    std::fs::write(
        dir.join("linli.toml"),
        format!(
            "[log]\nlevel = \"info,linli_node::net=debug,libp2p_autonat=debug,libp2p_relay=debug,\
             libp2p_dcutr=debug\"\n\n[network.relay]\nprobe_secs = 1\n{relay}"
        ),
    )
    .unwrap();
    node
}

#[tokio::test(flavor = "multi_thread")]
async fn an_office_behind_nat_is_reached_through_a_relay() {
    let required = std::env::var_os("LINLI_REQUIRE_NETNS").is_some();
    if !(is_root() && have("ip", "-V") && have("nft", "--version")) {
        assert!(
            !required,
            "LINLI_REQUIRE_NETNS is set but this needs root, `ip` and `nft`"
        );
        eprintln!("skipped: needs root, `ip` and `nft` (network namespaces with NAT)");
        return;
    }
    let tmp = TempDir::new().unwrap();
    let (dir_r, dir_a, dir_b): (PathBuf, PathBuf, PathBuf) = (
        tmp.path().join("r"),
        tmp.path().join("a"),
        tmp.path().join("b"),
    );
    let mut district = District::new();
    // R holds one reservation: A's. B, behind NAT too, is refused one.
    let r = node(
        &mut district,
        &dir_r,
        "xinhua",
        Role::Street,
        None,
        "serve = true\nmax_reservations = 1\n",
    )
    .await;
    let a = node(
        &mut district,
        &dir_a,
        "dianye",
        Role::Community,
        Some("beishi"),
        "",
    )
    .await;
    let b = node(&mut district, &dir_b, "beishi", Role::Street, None, "").await;
    // Every node knows every certificate (as after a first sync with the root).
    for n in [&r, &a, &b] {
        for res in n.apply_batch(district.fed_changes()).await.unwrap() {
            res.unwrap();
        }
    }
    let registry = a
        .create(NewDoc::Registry {
            street: org("beishi"),
            community: org("dianye"),
            title: "Dianye compounds".into(),
        })
        .await
        .unwrap()
        .doc;
    add_compound(&a, registry, "Dianye Garden").await;
    let (rid, aid) = (r.node_id(), a.node_id());
    for n in [r, a, b] {
        n.shutdown().await.unwrap();
    }

    let mut net = Net::build();
    net.start("pub", &dir_r, &[]);
    let st = net.wait("pub", &dir_r, "the relay answers", |st| {
        !listen(st).is_empty()
    });
    let relay_at = |net: &str| {
        listen(&st)
            .into_iter()
            .find(|a| a.starts_with(&format!("/ip4/{net}/")))
            .unwrap_or_else(|| panic!("no address on {net}: {st}"))
    };
    let (r_for_a, r_for_b) = (relay_at("10.201.1.1"), relay_at("10.201.2.1"));

    net.start("a", &dir_a, std::slice::from_ref(&r_for_a));
    // A finds itself unreachable and reserves a slot on R.
    let st = net.wait("a", &dir_a, "A reachable through the relay", |st| {
        st["network"]["reachability"] == "private"
            && st["network"]["relay_reservations"].as_u64() == Some(1)
            && listen(st).iter().any(|l| l.contains("/p2p-circuit"))
    });
    let circuit = listen(&st)
        .into_iter()
        .find(|l| l.contains("/p2p-circuit"))
        .unwrap();
    assert!(
        circuit.contains(&linli_node::net::peer_id_of(&rid).unwrap())
            && circuit.ends_with(&linli_node::net::peer_id_of(&aid).unwrap()),
        "{circuit}"
    );

    // B, behind another NAT, dials A through R and receives A's registry.
    net.start("b", &dir_b, &[r_for_b, circuit.clone()]);
    net.wait("b", &dir_b, "B holds A's registry", |st| {
        registries(st) == 1
    });
    // They met over the relay and then punched through both NATs (the routers drop what
    // they do not expect, as home routers do, so a simultaneous open gets through).
    net.wait("b", &dir_b, "B connected to A directly", |st| {
        st["network"]["direct_upgrades"].as_u64() >= Some(1)
    });
    // The relay's bound holds: its one reservation is A's.
    let st = net.wait("b", &dir_b, "B refused a reservation", |st| {
        st["network"]["reachability"] == "private"
            && st["network"]["relay_reservations_refused"].as_u64() >= Some(1)
    });
    assert_eq!(st["network"]["relay_reservations"], 0, "{st}");
    // A new unit office behind B's NAT joins with a code A made: the code carries A's
    // address through the relay, and the certificate comes back over it.
    let invite = net.linli(
        "a",
        &dir_a,
        &["invite", "--role", "unit", "--org", "kaiyuan"],
    );
    let code = invite.trim().to_string();
    assert!(code.starts_with("lj1"), "{code}");
    let dir_c = tmp.path().join("c");
    let joined: Value =
        serde_json::from_str(&net.linli("b", &dir_c, &["--json", "join", &code])).unwrap();
    assert_eq!(joined["role"], "unit", "{joined}");
    assert_eq!(joined["org"], "kaiyuan", "{joined}");
    // The relay only carried it: R, another street, does not hold it.
    let st = net.wait("pub", &dir_r, "R found reachable", |st| {
        st["network"]["reachability"] == "public"
    });
    assert_eq!(registries(&st), 0, "{st}");
}
