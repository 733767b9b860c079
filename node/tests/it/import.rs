//! CSV import of service records with the `linli` binary, locally and through the daemon:
//! batched, idempotent (a file imported again — whole, or after an interrupted run — adds
//! nothing twice), and every row reported with its right line whatever the line ends.

use std::path::{Path, PathBuf};
use std::process::Command;

use linli_core::ledger::LedgerRules;
use linli_core::{DocId, NewDoc};
use linli_node::Node;
use serde_json::Value;

use crate::cli::{BIN, Run, linli, stop};
use crate::util::{District, community_node, opts, org};

/// A community node (dianye) in `<tmp>/dianye` with a ledger for 2026, closed again so the
/// `linli` binary can open it.
struct Community {
    tmp: tempfile::TempDir,
    dir: PathBuf,
    ledger: DocId,
}

fn community() -> Community {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dianye");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ledger = rt.block_on(async {
        let mut district = District::new();
        let (node, _) = community_node(&mut district, &dir).await;
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
        node.shutdown().await.unwrap();
        ledger
    });
    Community { tmp, dir, ledger }
}

impl Community {
    /// Writes `text` to a file in the temporary directory.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `linli --json import --format csv FILE` (to the daemon if one runs).
    fn import(&self, file: &Path) -> (Run, Value) {
        let r = linli(
            &self.dir,
            &[
                "--json",
                "import",
                "--format",
                "csv",
                file.to_str().unwrap(),
            ],
        );
        let v = if r.code == 0 || r.code == 6 {
            r.json()
        } else {
            Value::Null
        };
        (r, v)
    }

    /// The ledger's entries: (source, volunteer) in id order, and the number of changes of
    /// the ledger (the store opened directly: no daemon may run).
    fn entries(&self) -> (Vec<(Option<String>, String)>, usize) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let node = Node::open(&self.dir, opts()).await.unwrap();
            let doc = self.ledger;
            let entries = node
                .read(move |r| {
                    r.ledger(doc)
                        .unwrap()
                        .entries()
                        .into_iter()
                        .map(|(_, e)| (e.source, e.volunteer.to_string()))
                        .collect::<Vec<_>>()
                })
                .await
                .unwrap();
            let changes = node.changes(doc, vec![]).await.unwrap().len();
            node.shutdown().await.unwrap();
            (entries, changes)
        })
    }
}

const HEADER: &str = "volunteer,activity,team,date,hours,evidence";

/// `n` valid rows (no two alike), joined by `eol`.
fn rows(n: usize, eol: &str) -> String {
    let mut s = String::from(HEADER);
    for i in 0..n {
        s.push_str(eol);
        s.push_str(&format!(
            "dianye:{},patrol,night,2026-{:02}-{:02},{},sheet {i}",
            i % 40 + 1,
            i % 12 + 1,
            i % 28 + 1,
            1 + i % 3
        ));
    }
    s.push_str(eol);
    s
}

fn counts(v: &Value) -> (u64, u64, usize) {
    (
        v["imported"].as_u64().unwrap(),
        v["already_imported"].as_u64().unwrap(),
        v["rejected"].as_array().unwrap().len(),
    )
}

#[test]
fn import_again_adds_nothing_and_an_interrupted_import_completes() {
    let c = community();
    let all = rows(1_200, "\n");
    // An import cut off after 700 rows (the file as far as it got: a prefix of whole lines).
    let cut: String = all.split_inclusive('\n').take(701).collect();
    let part = c.file("part.csv", &cut);
    let full = c.file("hours.csv", &all);
    let (r, v) = c.import(&part);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&v), (700, 0, 0));
    let (entries, changes_part) = c.entries();
    assert_eq!(entries.len(), 700);
    // Batches, not a change per row: genesis + 2 batches.
    assert_eq!(changes_part, 3);
    // The whole file: the 700 rows written before are already imported, the rest is added.
    let (r, v) = c.import(&full);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&v), (500, 700, 0));
    assert!(
        r.stderr.contains("line 2: already imported (entry dianye@"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("line 702: recorded"), "{}", r.stderr);
    // Once more: nothing to add, nothing written, exit 0.
    let r = linli(
        &c.dir,
        &["import", "--format", "csv", full.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("imported 0 service records, rejected 0, already imported 1200"),
        "{}",
        r.stdout
    );
    let (entries, changes) = c.entries();
    assert_eq!(entries.len(), 1_200);
    // Rows 1–500 were all imported before (no change), 501–1000 and 1001–1200 one each.
    assert_eq!(changes, changes_part + 2);
    // Every entry carries its row's identity, each once.
    let mut sources: Vec<&str> = entries
        .iter()
        .map(|(s, _)| s.as_deref().expect("an imported entry has a source"))
        .collect();
    sources.sort_unstable();
    sources.dedup();
    assert_eq!(sources.len(), 1_200);
    // The same rows saved with other line ends (e.g. by Excel) are the same rows.
    let crlf = c.file("hours-crlf.csv", &rows(1_200, "\r\n"));
    let (r, v) = c.import(&crlf);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&v), (0, 1_200, 0));
}

#[test]
fn an_id_column_is_the_identity_and_identical_rows_without_one_are_distinct() {
    let c = community();
    // The help says so.
    let help = linli(&c.dir, &["import", "--help"]).ok().stdout;
    for needle in [
        "optionally team, evidence and id",
        "idempotent",
        "already imported",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
    let text = "id,volunteer,activity,date,hours\n\
                A-1,dianye:1,patrol,2026-03-01,1\n\
                A-2,dianye:2,patrol,2026-03-01,1\n\
                ,dianye:3,patrol,2026-03-01,1\n\
                ,dianye:3,patrol,2026-03-01,1\n";
    let (r, v) = c.import(&c.file("a.csv", text));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Two identical rows without an id are two services (occurrences 1 and 2).
    assert_eq!(counts(&v), (4, 0, 0));
    // The ids name rows whatever else changed in them (a corrected activity, hours).
    let edited = "id,volunteer,activity,date,hours\n\
                  A-2,dianye:2,patrol (corrected),2026-03-01,2\n\
                  A-1,dianye:1,patrol,2026-03-01,1\n\
                  A-3,dianye:4,patrol,2026-03-01,1\n";
    let (r, v) = c.import(&c.file("b.csv", edited));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&v), (1, 2, 0));
    let (entries, _) = c.entries();
    let mut sources: Vec<String> = entries.iter().filter_map(|(s, _)| s.clone()).collect();
    sources.sort();
    assert_eq!(&sources[..3], ["A-1", "A-2", "A-3"]);
    assert_eq!(sources.len(), 5);
    // An id too long for a source is rejected with its line; the rest is imported.
    let long = format!(
        "id,volunteer,activity,date,hours\n{},dianye:5,patrol,2026-03-02,1\nA-9,dianye:5,patrol,2026-03-02,1\n",
        "x".repeat(200)
    );
    let (r, v) = c.import(&c.file("c.csv", &long));
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert_eq!(counts(&v), (1, 0, 1));
    assert_eq!(v["rejected"][0]["line"], 2);
    assert!(
        r.stderr
            .contains("line 2: rejected: invalid source id: it must have 1 to 128 bytes"),
        "{}",
        r.stderr
    );
}

/// A file with a quoted field over two lines (lines 3–4), bad rows on line 101 (hours) and on
/// the last line, 203 (no line end after it), and 199 good rows, joined by `eol`.
fn with_bad_rows(eol: &str) -> String {
    let mut lines = vec![HEADER.to_string()];
    lines.push("dianye:1,patrol,,2026-05-01,1,".into());
    lines.push(format!("dianye:2,\"night{eol}patrol\",,2026-05-01,1,"));
    let mut i = 0;
    while lines.len() < 99 {
        i += 1;
        lines.push(format!("dianye:{},patrol,,2026-05-02,1,row {i}", i % 9 + 1));
    }
    // The quoted field spans two lines, so this record (the hundredth) is on line 101.
    lines.push("dianye:3,patrol,,2026-05-03,30,".into());
    while lines.len() < 201 {
        i += 1;
        lines.push(format!("dianye:{},patrol,,2026-05-04,1,row {i}", i % 9 + 1));
    }
    lines.push("nobody,patrol,,2026-05-05,1,".into());
    lines.join(eol)
}

#[test]
fn the_report_names_the_right_line_whatever_the_line_ends() {
    let c = community();
    for (name, eol) in [("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")] {
        let file = c.file(&format!("{name}.csv"), &with_bad_rows(eol));
        let (r, v) = c.import(&file);
        assert_eq!(r.code, 6, "{name}: {}", r.stderr);
        let bad: Vec<(u64, String)> = v["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["line"].as_u64().unwrap(),
                    b["error"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(bad.len(), 2, "{name}: {bad:?}");
        assert_eq!(bad[0].0, 101, "{name}: {bad:?}");
        assert!(bad[0].1.contains("hours must be more than 0"), "{bad:?}");
        assert_eq!(bad[1].0, 203, "{name}: {bad:?}");
        assert!(bad[1].1.contains("volunteer \"nobody\""), "{bad:?}");
        assert!(
            r.stderr
                .contains("line 101: rejected: hours must be more than 0 and at most 24"),
            "{name}: {}",
            r.stderr
        );
        assert!(r.stderr.contains("line 102: "), "{name}: {}", r.stderr);
        // The other rows are imported (the first file) or already were (the same rows
        // with other line ends).
        let (imported, already, _) = counts(&v);
        assert_eq!(imported + already, 199, "{name}: {v}");
        assert_eq!(already > 0, name != "lf", "{name}: {v}");
    }
    let (entries, _) = c.entries();
    assert_eq!(entries.len(), 199);
}

#[test]
fn import_through_the_daemon_is_batched_and_idempotent() {
    let c = community();
    let all = rows(1_100, "\r\n");
    let cut: String = all.split_inclusive('\n').take(601).collect();
    let part = c.file("part.csv", &cut);
    let full = c.file("hours.csv", &all);
    let mut cmd = Command::new(BIN);
    cmd.arg("--dir")
        .arg(&c.dir)
        .env_remove("RUST_LOG")
        .env_remove("LINLI_DIR");
    let daemon = crate::cli::daemon_from(cmd, &c.dir, &[]);
    let (r, v) = c.import(&part);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&v), (600, 0, 0));
    let (r, v) = c.import(&full);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&v), (500, 600, 0));
    assert!(
        r.stderr.contains("line 601: already imported"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("line 602: recorded"), "{}", r.stderr);
    let (r, v) = c.import(&full);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&v), (0, 1_100, 0));
    let (status, _, stderr) = stop(daemon);
    assert!(status.success(), "{stderr}");
    let (entries, changes) = c.entries();
    assert_eq!(entries.len(), 1_100);
    // Genesis, 2 batches for the first 600 rows, 2 for the other 500 (rows 501–1000 and
    // 1001–1100; rows 1–500 were all imported before).
    assert_eq!(changes, 5);
}
