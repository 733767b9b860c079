//! Roster import and volunteer reports with the `linli` binary, locally and through the
//! daemon: every row reported with its right line whatever the line ends, a file imported
//! again registers nobody twice, identities stay in the personal records, and the report
//! CSVs hold the numbers worked out here from the rows written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use linli_core::ledger::LedgerRules;
use linli_core::volunteers::VolunteersOp;
use linli_core::{DocId, NewDoc, Op};
use linli_node::Node;
use serde_json::Value;

use crate::cli::{BIN, Run, linli, stop};
use crate::util::{District, community_node, opts, org};

/// A community node (dianye) in `<tmp>/dianye` with its volunteer registry (teams `care`
/// and `patrol`) and a 2026 ledger, closed again so the `linli` binary can open it.
struct Community {
    tmp: tempfile::TempDir,
    dir: PathBuf,
    registry: DocId,
}

fn community() -> Community {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dianye");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let registry = rt.block_on(async {
        let mut district = District::new();
        let (node, _) = community_node(&mut district, &dir).await;
        let registry = node
            .create(NewDoc::Volunteers {
                street: org("beishi"),
                community: org("dianye"),
                title: "dianye volunteers".into(),
            })
            .await
            .unwrap()
            .doc;
        for (code, name) in [("care", "助老服务队"), ("patrol", "治安巡逻队")] {
            node.execute(
                registry,
                Op::Volunteers(VolunteersOp::AddTeam {
                    code: code.into(),
                    name: name.into(),
                }),
            )
            .await
            .unwrap();
        }
        node.create(NewDoc::Ledger {
            street: org("beishi"),
            community: org("dianye"),
            year: 2026,
            // The test records hours by hand and counts their points.
            rules: LedgerRules {
                hand_points: true,
                ..LedgerRules::default()
            },
        })
        .await
        .unwrap();
        node.shutdown().await.unwrap();
        registry
    });
    Community { tmp, dir, registry }
}

impl Community {
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `linli --json volunteers import FILE` (to the daemon if one runs).
    fn import(&self, file: &Path) -> (Run, Value) {
        let r = linli(
            &self.dir,
            &["--json", "volunteers", "import", file.to_str().unwrap()],
        );
        let v = if r.code == 0 || r.code == 6 {
            r.json()
        } else {
            Value::Null
        };
        (r, v)
    }

    /// The registry's volunteers (id → masked name), the identities held (record → name),
    /// and the number of changes of the registry (the store opened directly).
    fn registry(&self) -> (BTreeMap<String, String>, BTreeMap<String, String>, usize) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let node = Node::open(&self.dir, opts()).await.unwrap();
            let doc = self.registry;
            let (vols, held) = node
                .read(move |r| {
                    let vols = r
                        .volunteers(doc)
                        .unwrap()
                        .volunteers()
                        .into_iter()
                        .map(|(id, v)| (id.to_string(), v.display))
                        .collect::<BTreeMap<_, _>>();
                    let held = r
                        .personal_records()
                        .filter_map(|p| match &p.data {
                            Some(linli_core::personal::PersonalData::Volunteer {
                                name, ..
                            }) => Some((p.record.clone(), name.clone())),
                            _ => None,
                        })
                        .collect::<BTreeMap<_, _>>();
                    (vols, held)
                })
                .await
                .unwrap();
            let changes = node.changes(doc, vec![]).await.unwrap().len();
            node.shutdown().await.unwrap();
            (vols, held, changes)
        })
    }
}

fn counts(v: &Value) -> (u64, u64, Vec<(u64, String)>) {
    (
        v["registered"].as_u64().unwrap(),
        v["already_registered"].as_u64().unwrap(),
        v["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["line"].as_u64().unwrap(),
                    b["error"].as_str().unwrap().to_string(),
                )
            })
            .collect(),
    )
}

/// A roster: three good rows (the second's teams cell quoted over lines 3–4), then a row
/// without a name (line 5), a bad phone (6), an unknown team (7), an in-service member
/// without a post (8), a good resident holding a post (9, no line end after it).
fn roster(eol: &str) -> String {
    [
        "姓名,电话,身份证号,类型,报到单位,队伍,岗位".to_string(),
        "王小红,139 0000 0001,,居民,,care,".into(),
        format!("李四,13900000002,210102199001011234,resident,,\"care{eol}patrol\","),
        " ,13900000003,,resident,,care,".into(),
        "赵六,12ab,,resident,,care,".into(),
        "钱七,13900000005,,resident,,chess,".into(),
        "孙八,13900000006,,in_service,beishi/dianye/state-grid,,".into(),
        "周九,13900000007,,resident,,patrol,patrol:night patrol".into(),
    ]
    .join(eol)
}

#[test]
fn roster_import_reports_every_line_and_importing_again_registers_nobody_twice() {
    let c = community();
    let (_, _, genesis) = c.registry();
    for (i, (name, eol)) in [("crlf", "\r\n"), ("lf", "\n"), ("cr", "\r")]
        .into_iter()
        .enumerate()
    {
        let (r, v) = c.import(&c.file(&format!("{name}.csv"), &roster(eol)));
        assert_eq!(r.code, 6, "{name}: {}", r.stderr);
        let (registered, already, bad) = counts(&v);
        // The first file registers the three good rows; the same rows with other line ends
        // are the same people.
        assert_eq!(
            (registered, already),
            if i == 0 { (3, 0) } else { (0, 3) },
            "{name}: {v}"
        );
        let lines: Vec<u64> = bad.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [5, 6, 7, 8], "{name}: {bad:?}");
        assert!(bad[0].1.contains("name must not be empty"), "{bad:?}");
        assert!(bad[1].1.contains("phone \"12ab\""), "{bad:?}");
        assert!(bad[2].1.contains("unknown team \"chess\""), "{bad:?}");
        assert!(bad[3].1.contains("at least one post"), "{bad:?}");
        if i == 0 {
            assert!(
                r.stderr.contains("line 3: registered dianye@"),
                "{}",
                r.stderr
            );
            assert!(
                r.stderr.contains("line 9: registered dianye@"),
                "{}",
                r.stderr
            );
        } else {
            assert!(
                r.stderr.contains("line 3: already registered (dianye@"),
                "{}",
                r.stderr
            );
        }
    }
    let (vols, held, changes) = c.registry();
    // One change for the first file's batch; nothing written by the two others.
    assert_eq!(changes, genesis + 1);
    assert_eq!(vols.len(), 3);
    let mut masked: Vec<&str> = vols.values().map(String::as_str).collect();
    masked.sort_unstable();
    let mut want = vec!["周*", "李*", "王**"];
    want.sort_unstable();
    assert_eq!(masked, want);
    // The full names are personal records of the volunteers, one each.
    let mut names: Vec<&str> = held.values().map(String::as_str).collect();
    names.sort_unstable();
    let mut want = vec!["周九", "李四", "王小红"];
    want.sort_unstable();
    assert_eq!(names, want);
    for id in vols.keys() {
        assert!(
            held.contains_key(&format!("volunteers/{id}")),
            "{id}: {held:?}"
        );
    }
    // A file without a name column is refused whole.
    let (r, _) = c.import(&c.file("bad.csv", "phone,teams\n139,care\n"));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("no `name` column"), "{}", r.stderr);
}

/// `linli --json volunteers list`: name → id.
fn ids(dir: &Path) -> BTreeMap<String, String> {
    let v = linli(dir, &["--json", "volunteers", "list"]).ok().json();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Rows of a CSV text as maps from column to cell.
fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let head: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    rdr.records()
        .map(|r| {
            head.iter()
                .cloned()
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn roster_import_and_reports_through_the_daemon() {
    let c = community();
    let mut cmd = Command::new(BIN);
    cmd.arg("--dir")
        .arg(&c.dir)
        .env_remove("RUST_LOG")
        .env_remove("LINLI_DIR");
    let daemon = crate::cli::daemon_from(cmd, &c.dir, &[]);
    let text = "name,phone,teams\n王小红,13900000001,care\n李四,13900000002,patrol\n张三,13900000003,care;patrol\n";
    let file = c.file("roster.csv", text);
    let (r, v) = c.import(&file);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&v), (3, 0, vec![]));
    let (r, v) = c.import(&file);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&v), (0, 3, vec![]));
    let id = ids(&c.dir);
    assert_eq!(id.len(), 3, "{id:?}");
    // Service in November (and one in October), with and without a team.
    let services = [
        ("王小红", Some("care"), "2026-11-03", 2.0),
        ("王小红", None, "2026-11-10", 1.5),
        ("李四", Some("patrol"), "2026-11-12", 3.0),
        ("张三", Some("patrol"), "2026-11-20", 0.5),
        ("李四", Some("patrol"), "2026-10-01", 4.0),
    ];
    let mut hours = String::from("volunteer,activity,team,date,hours\n");
    for (who, team, date, h) in services {
        hours.push_str(&format!(
            "{},duty,{},{date},{h}\n",
            id[who],
            team.unwrap_or("")
        ));
    }
    let r = linli(
        &c.dir,
        &[
            "import",
            "--format",
            "csv",
            c.file("hours.csv", &hours).to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The numbers, worked out from the rows above: a row without a team counts under the
    // volunteer's first team; points are 1 per hour.
    let mut want: BTreeMap<&str, (u64, BTreeMap<&str, ()>, u32)> = BTreeMap::new();
    for (who, team, date, h) in services {
        if !date.starts_with("2026-11") {
            continue;
        }
        let first = if who == "李四" { "patrol" } else { "care" };
        let t = team.unwrap_or(first);
        for key in [t, "*"] {
            let e = want.entry(key).or_default();
            e.0 += (h * 60.0) as u64;
            e.1.insert(who, ());
            e.2 += 1;
        }
    }
    let r = linli(&c.dir, &["report", "monthly", "--month", "2026-11"]).ok();
    let rows = csv_rows(&r.stdout);
    assert_eq!(rows.len(), 3, "{}", r.stdout);
    for row in &rows {
        let (minutes, served, services) = &want[row["team"].as_str()];
        assert_eq!(row["month"], "2026-11");
        assert_eq!(row["community"], "beishi/dianye");
        assert_eq!(row["minutes"], minutes.to_string(), "{row:?}");
        assert_eq!(row["served"], served.len().to_string(), "{row:?}");
        assert_eq!(row["services"], services.to_string(), "{row:?}");
        let h = *minutes as f64 / 60.0;
        assert_eq!(row["hours"].parse::<f64>().unwrap(), h, "{row:?}");
        assert_eq!(row["points"].parse::<f64>().unwrap(), h, "{row:?}");
    }
    let total = rows.iter().find(|r| r["team"] == "*").unwrap();
    assert_eq!(total["members"], "3");
    // The yearly report into a file: October counted too.
    let out = c.tmp.path().join("2026.csv");
    linli(
        &c.dir,
        &[
            "report",
            "yearly",
            "--year",
            "2026",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .ok();
    let yearly = csv_rows(&std::fs::read_to_string(&out).unwrap());
    let total = yearly.iter().find(|r| r["team"] == "*").unwrap();
    assert_eq!(total["minutes"], "660", "{total:?}");
    assert_eq!(total["volunteers"], "3");
    assert_eq!(total["matters_received"], "0");
    // No identity in a report.
    for text in [r.stdout.as_str(), &std::fs::read_to_string(&out).unwrap()] {
        for needle in ["王小红", "1390000", "王**"] {
            assert!(!text.contains(needle), "{needle} in {text}");
        }
    }
    // A bad month is refused with its reason.
    let r = linli(&c.dir, &["report", "monthly", "--month", "2026-13"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("expected YYYY-MM"), "{}", r.stderr);
    let (status, _, stderr) = stop(daemon);
    assert!(status.success(), "{stderr}");
}
