//! An office install: `linli backup` while the node writes, `linli restore` (checked first,
//! fresh incarnation, writes accepted by other nodes), refusals of bad backup files and
//! targets, the systemd units of `linli install` (`systemd-analyze verify`), and the
//! iCalendar feed of a room at its secret URL.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use linli_core::cert::Role;
use linli_core::resource::{BookingForm, ResourceOp, ResourceSpec};
use linli_core::{Applied, BookingId, DocId, Effect, NewDoc, Op, Slot, Timestamp};
use linli_node::backup::{self, BackupError};
use linli_node::ops::{self, Request};
use linli_node::{InitOptions, Node, OpenOptions, files};

use crate::cli::linli;
use crate::util::*;

const DEADLINE: Duration = Duration::from_secs(60);

/// An evening slot in December 2030, `day` days after Monday 2 December (19:00–21:00 in
/// Shanghai, inside the default opening hours).
fn evening(day: i64) -> Slot {
    let base = Timestamp::parse("2030-12-02T19:00:00+08:00").unwrap();
    let start = Timestamp(base.0 + day * 24 * 3600 * 1000);
    Slot::new(start, Timestamp(start.0 + 2 * 3600 * 1000)).unwrap()
}

/// A second community (`hongqi`), certified by the district, holding the federation document.
async fn hongqi_node(district: &mut District, dir: &Path, options: OpenOptions) -> Node {
    let mut init = InitOptions::new(org("hongqi"), district.root_id());
    init.secret = Some(secret("hongqi", 1));
    let node = Node::init(dir, init, options).await.unwrap();
    district.certify(node.node_id(), Role::Community, "hongqi", Some("beishi"));
    node
}

async fn room(node: &Node) -> DocId {
    node.create(NewDoc::Resource {
        street: org("beishi"),
        community: Some(org("dianye")),
        spec: ResourceSpec::room("Dianye activity room", 30),
    })
    .await
    .unwrap()
    .doc
}

async fn request(node: &Node, room: DocId, form: BookingForm) -> BookingId {
    let w = node
        .execute(room, Op::Resource(ResourceOp::Request(form)))
        .await
        .unwrap();
    let Effect::Booking(b) = w.effect else {
        panic!("expected a booking, got {:?}", w.effect)
    };
    b
}

async fn decide(node: &Node, room: DocId, op: ResourceOp) {
    node.execute(room, Op::Resource(op)).await.unwrap();
}

fn confirm(booking: &BookingId) -> ResourceOp {
    ResourceOp::Confirm {
        booking: booking.clone(),
    }
}

/// Sends every change of every document `from` holds to `to`; each must be applied or
/// already held there (nothing refused, nothing waiting).
async fn send(from: &Node, to: &Node) {
    for d in from.documents().await.unwrap() {
        let changes = from.changes(d.id, vec![]).await.unwrap();
        for r in to.apply_batch(changes).await.unwrap() {
            match r {
                Ok(Applied::Applied(_) | Applied::Duplicate) => {}
                other => panic!("a change of {} was not taken: {other:?}", d.id.short()),
            }
        }
    }
}

async fn exchange(a: &Node, b: &Node) {
    send(a, b).await;
    send(b, a).await;
}

/// Compound names `W<n>` written by the loop, as numbers, sorted.
async fn written(node: &Node, registry: DocId) -> Vec<u64> {
    let mut v: Vec<u64> = compound_names(node, registry)
        .await
        .into_iter()
        .filter_map(|n| n.strip_prefix('W').and_then(|k| k.parse().ok()))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_node_writes_restores_into_a_node_whose_writes_are_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, other, restored_dir) = (
        tmp.path().join("dianye"),
        tmp.path().join("hongqi"),
        tmp.path().join("restored"),
    );
    let mut district = District::new();
    let (a, registry) = community_node(&mut district, &dir).await;
    let b = hongqi_node(&mut district, &other, opts()).await;
    b.apply_batch(district.fed_changes()).await.unwrap();
    a.apply_batch(district.fed_changes()).await.unwrap();
    let room = room(&a).await;
    exchange(&a, &b).await;
    let early = request(
        &b,
        room,
        BookingForm::new("王小明", "choir", evening(0), 12),
    )
    .await;
    exchange(&a, &b).await;

    // The node writes in a loop; every acknowledged write is counted.
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (a, acked, stop) = (a.clone(), acked.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                a.execute(registry, compound(&format!("W{i}")))
                    .await
                    .unwrap();
                i += 1;
                acked.store(i, Ordering::SeqCst);
            }
        })
    };
    let wait_until = |n: u64| {
        let acked = acked.clone();
        async move {
            let deadline = Instant::now() + DEADLINE;
            while acked.load(Ordering::SeqCst) < n {
                assert!(Instant::now() < deadline, "the writer did not write {n}");
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    wait_until(20).await;
    let file = tmp.path().join("dianye.linlibak");
    let before = acked.load(Ordering::SeqCst);
    let summary = {
        let (dir, file) = (dir.clone(), file.clone());
        tokio::task::spawn_blocking(move || backup::backup(&dir, &file, linli_node::system_clock()))
            .await
            .unwrap()
            .unwrap()
    };
    let after = acked.load(Ordering::SeqCst);
    wait_until(after + 10).await;
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    assert_eq!(summary.node, a.node_id());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the backup holds the secret key");
    }

    // The original goes on, and b gets all of it; then the original is lost.
    let original_incarnation = a.status().await.unwrap().incarnation;
    add_compound(&a, registry, "After backup").await;
    decide(&a, room, confirm(&early)).await;
    exchange(&a, &b).await;
    a.shutdown().await.unwrap();
    drop(a);
    std::fs::remove_dir_all(&dir).unwrap();

    let s = backup::restore(&file, &restored_dir, false, linli_node::system_clock())
        .await
        .unwrap();
    assert_eq!(s.node, summary.node);
    assert_eq!(s.moved_aside, None);
    let r = Node::open(&restored_dir, opts()).await.unwrap();
    // A consistent copy: the writes acknowledged before the backup began, then a prefix of
    // those made during it, nothing half-written.
    let got = written(&r, registry).await;
    let n = got.len() as u64;
    assert!(
        // (One write may be committed, and so copied, before its acknowledgement counts.)
        (before..=after + 1).contains(&n),
        "{n} writes in the copy, {before} acknowledged before it began, {after} when it ended"
    );
    assert_eq!(got, (0..n).collect::<Vec<_>>(), "a prefix of the writes");
    let st = r.status().await.unwrap();
    assert_ne!(st.incarnation, original_incarnation);
    assert_ne!(
        hex::encode(st.incarnation),
        s.incarnation,
        "fresh on every open"
    );
    assert_eq!((st.refused, st.pending), (0, 0), "{st:?}");

    // The restored node writes before it hears of what the original did after the backup,
    // then both ways: b takes all of it, and the restored node takes the original's writes.
    add_compound(&r, registry, "Restored").await;
    let late = request(&b, room, BookingForm::new("李华", "dance", evening(3), 8)).await;
    exchange(&r, &b).await;
    decide(&r, room, confirm(&late)).await;
    exchange(&r, &b).await;
    for n in [&r, &b] {
        let st = n.status().await.unwrap();
        assert_eq!((st.refused, st.pending), (0, 0), "{st:?}");
        assert!(st.equivocators.is_empty(), "{st:?}");
        assert!(n.rejected().await.unwrap().is_empty());
        let names = compound_names(n, registry).await;
        for want in ["After backup", "Restored"] {
            assert!(names.iter().any(|x| x == want), "{want} missing: {names:?}");
        }
        let all = written(n, registry).await;
        assert_eq!(all.len() as u64, acked.load(Ordering::SeqCst));
        let confirmed = n
            .bookings(room)
            .await
            .unwrap()
            .into_iter()
            .filter(|v| v.status.label() == "confirmed")
            .count();
        assert_eq!(confirmed, 2);
    }
    assert_eq!(r.documents().await.unwrap(), b.documents().await.unwrap());
    r.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

/// Every file under `dir` with its bytes, sorted (to show nothing changed).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if !dir.exists() {
        return out;
    }
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(snapshot(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

/// Directory entries of `dir` (to show no staging directory was left behind).
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn the_cli_backs_up_and_restores_and_refuses_bad_files_and_targets_changing_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let mut district = District::new();
    let (node, registry) = community_node(&mut district, &dir).await;
    add_compound(&node, registry, "Kept").await;
    node.shutdown().await.unwrap();

    // Backup into a directory: a dated file in it.
    let backups = tmp.path().join("backups");
    let run = linli(
        &dir,
        &[
            "--json",
            "backup",
            "--to",
            &format!("{}/", backups.display()),
        ],
    )
    .ok();
    let v = run.json();
    let file = PathBuf::from(v["file"].as_str().unwrap());
    assert!(file.starts_with(&backups), "{v}");
    // --keep: older dated backups beyond the newest N go; other files stay.
    for old in ["20200101T000000Z", "20210101T000000Z", "20220101T000000Z"] {
        std::fs::write(backups.join(format!("linli-{old}.linlibak")), b"old").unwrap();
    }
    std::fs::write(backups.join("linli-keep-me.linlibak"), b"mine").unwrap();
    let run = linli(
        &dir,
        &[
            "--json",
            "backup",
            "--to",
            backups
                .join("linli-20230101T000000Z.linlibak")
                .to_str()
                .unwrap(),
            "--keep",
            "2",
        ],
    )
    .ok()
    .json();
    assert_eq!(run["removed"].as_array().unwrap().len(), 3, "{run}");
    let mut left = entries(&backups);
    left.retain(|e| e != file.file_name().unwrap().to_str().unwrap());
    assert_eq!(
        left,
        ["linli-20230101T000000Z.linlibak", "linli-keep-me.linlibak"]
    );
    std::fs::remove_file(backups.join("linli-20230101T000000Z.linlibak")).unwrap();
    let zero = linli(&dir, &["backup", "--keep", "0"]);
    assert_eq!(zero.code, 2, "{}", zero.stderr);
    assert!(file.to_string_lossy().ends_with(".linlibak"), "{v}");
    // A second backup to the same file is refused.
    let again = linli(&dir, &["backup", "--to", file.to_str().unwrap()]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    // Into a directory that does not exist.
    let nowhere = tmp.path().join("nowhere").join("x.linlibak");
    let run = linli(&dir, &["backup", "--to", nowhere.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    assert!(!tmp.path().join("nowhere").exists());
    // Without a store.
    let none = linli(&tmp.path().join("backups"), &["backup"]);
    assert_ne!(none.code, 0);
    assert!(none.stderr.contains("no linli store"), "{}", none.stderr);

    let bytes = std::fs::read(&file).unwrap();
    let bad = |name: &str, content: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    };
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let mut trailing = bytes.clone();
    trailing.extend_from_slice(b"junk");
    let mut newer = bytes.clone();
    newer[8] = 9;
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            bad("truncated.linlibak", &bytes[..bytes.len() - 1000]),
            "is truncated",
        ),
        (bad("header.linlibak", &bytes[..40]), "is truncated"),
        (bad("flipped.linlibak", &flipped), "checksum does not match"),
        (bad("trailing.linlibak", &trailing), "follow its end"),
        (bad("newer.linlibak", &newer), "format version 9"),
        (bad("empty.linlibak", b""), "does not start with LINLIBAK"),
        (
            bad("text.linlibak", b"hello, this is not a backup"),
            "does not start with LINLIBAK",
        ),
        (dir.join(files::DB), "is an SQLite database"),
        (tmp.path().join("missing.linlibak"), "No such file"),
    ];
    // The target's parent does not exist either: nothing is created.
    let target = tmp.path().join("new").join("target");
    for (path, why) in &cases {
        let run = linli(&target, &["restore", "--from", path.to_str().unwrap()]);
        assert_eq!(run.code, 1, "{}: {}", path.display(), run.stderr);
        assert!(
            run.stderr.contains(why) && run.stderr.contains("nothing was changed"),
            "{}: {}",
            path.display(),
            run.stderr
        );
        assert!(
            !target.exists(),
            "{}: the target was created",
            path.display()
        );
    }
    // No staging directory left behind by any of them.
    assert!(
        !entries(tmp.path()).iter().any(|e| e.contains("restoring")),
        "{:?}",
        entries(tmp.path())
    );

    // Without --data-dir: a usage error.
    let run = crate::cli::from(
        std::process::Command::new(crate::cli::BIN)
            .args(["restore", "--from", file.to_str().unwrap()])
            .env("HOME", tmp.path())
            .env_remove("LINLI_DIR")
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--data-dir"), "{}", run.stderr);

    // A non-empty target is refused without --force, and left as it was.
    let before = snapshot(&dir);
    let run = linli(&dir, &["restore", "--from", file.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("is not empty"), "{}", run.stderr);
    assert_eq!(snapshot(&dir), before);

    // Into a new directory (spelled --data-dir), then the restored node opens.
    let restored = tmp.path().join("restored");
    let run = crate::cli::from(
        std::process::Command::new(crate::cli::BIN)
            .arg("--json")
            .arg("restore")
            .arg("--from")
            .arg(&file)
            .arg("--data-dir")
            .arg(&restored)
            .env_remove("LINLI_DIR")
            .output()
            .unwrap(),
    )
    .ok();
    let v = run.json();
    assert_eq!(v["org"], "dianye", "{v}");
    assert!(v["moved_aside"].is_null(), "{v}");
    let status = linli(&restored, &["--json", "status"]).ok().json();
    assert_eq!(status["org"], "dianye");
    assert_ne!(status["incarnation"], v["incarnation"]);

    // With --force over the old directory: checked first, then the old one moved aside.
    let run = linli(
        &dir,
        &[
            "--json",
            "restore",
            "--from",
            file.to_str().unwrap(),
            "--force",
        ],
    )
    .ok();
    let v = run.json();
    let aside = PathBuf::from(v["moved_aside"].as_str().unwrap());
    assert!(aside.to_string_lossy().contains("before-restore"), "{v}");
    assert_eq!(snapshot(&aside).len(), before.len());
    let node = Node::open(&dir, opts()).await.unwrap();
    assert_eq!(compound_names(&node, registry).await, ["Kept"]);
    // Not while a node runs on it.
    let run = linli(
        &dir,
        &["restore", "--from", file.to_str().unwrap(), "--force"],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("is running"), "{}", run.stderr);
    node.shutdown().await.unwrap();

    // A backup whose store is damaged inside (checksum recomputed): SQLite's check refuses it.
    let mut inner = bytes.clone();
    let body = inner.len() - 32;
    // Page 2 of the database (the root of its first table) overwritten: the database starts
    // after the 85-byte header, the configuration and its 8-byte length.
    let config_len = u32::from_be_bytes(inner[81..85].try_into().unwrap()) as usize;
    let db = 85 + config_len + 8;
    for b in &mut inner[db + 4096..db + 8192] {
        *b = 0xA5;
    }
    let digest = blake3::hash(&inner[..body]);
    inner[body..].copy_from_slice(digest.as_bytes());
    let p = bad("inner.linlibak", &inner);
    let run = linli(&target, &["restore", "--from", p.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("fails its checks"), "{}", run.stderr);
    assert!(!target.exists());
    // A store of a newer schema (user_version, at byte 60 of the database header).
    let mut newer_store = bytes.clone();
    newer_store[db + 60..db + 64].copy_from_slice(&99u32.to_be_bytes());
    let digest = blake3::hash(&newer_store[..body]);
    newer_store[body..].copy_from_slice(digest.as_bytes());
    let p = bad("newer-store.linlibak", &newer_store);
    let run = linli(&target, &["restore", "--from", p.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("fails its checks") && run.stderr.contains("newer linli"),
        "{}",
        run.stderr
    );
    assert!(!target.exists());
}

/// A backup run as another user than the store's owner (root after `sudo`) is refused
/// before SQLite could leave files of that user in the data directory.
#[cfg(unix)]
#[tokio::test]
async fn a_backup_by_another_user_than_the_stores_owner_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let mut district = District::new();
    let (node, _) = community_node(&mut district, &dir).await;
    node.shutdown().await.unwrap();
    let db = dir.join(files::DB);
    let me = std::fs::metadata(&db).unwrap().uid();
    if me != 0 {
        // Giving a file away takes root.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED a_backup_by_another_user_than_the_stores_owner_is_refused: not root"
        );
        return;
    }
    std::os::unix::fs::chown(&db, Some(4242), None).unwrap();
    let before = entries(&dir);
    let e = backup::backup(&dir, &tmp.path().join("x.linlibak"), Timestamp(0)).unwrap_err();
    assert!(
        e.to_string().contains("uid 4242") && e.to_string().contains("sudo -u"),
        "{e}"
    );
    assert_eq!(entries(&dir), before, "no -wal or -shm left behind");
    assert_eq!(entries(tmp.path()), ["node"]);
}

#[tokio::test]
async fn restore_refuses_a_target_that_is_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("file");
    std::fs::write(&target, b"x").unwrap();
    let e = backup::restore(
        &tmp.path().join("none.linlibak"),
        &target,
        true,
        Timestamp(0),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, BackupError::TargetNotDir(_)), "{e}");
    assert_eq!(std::fs::read(&target).unwrap(), b"x");
    #[cfg(unix)]
    {
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = backup::restore(&tmp.path().join("none.linlibak"), &link, true, Timestamp(0))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(link.exists() && real.exists());
    }
}

/// The generated units pass `systemd-analyze verify` without a warning.
#[test]
fn install_writes_units_that_systemd_analyze_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("var-lib-linli");
    let dest = tmp.path().join("units");
    std::fs::create_dir_all(&dest).unwrap();
    let run = linli(
        &data,
        &[
            "install",
            "--user",
            "linli",
            "--dest",
            dest.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(
        run.stderr
            .contains("systemctl enable --now linli.service linli-backup.timer")
    );
    let unit = |n: &str| std::fs::read_to_string(dest.join(n)).unwrap();
    let daemon = unit("linli.service");
    let data_s = data.to_str().unwrap();
    for want in [
        "User=linli".to_string(),
        format!(
            "ExecStart={} --dir {data_s} run",
            std::fs::canonicalize(crate::cli::BIN).unwrap().display()
        ),
        "Restart=on-failure".into(),
        "ProtectSystem=strict".into(),
        format!("ReadWritePaths={data_s}"),
        "NoNewPrivileges=yes".into(),
        "PrivateTmp=yes".into(),
        "ProtectHome=".into(),
    ] {
        assert!(daemon.contains(&want), "{want} missing:\n{daemon}");
    }
    assert!(unit("linli-backup.service").contains(&format!("--dir {data_s} backup")));
    assert!(unit("linli-backup.timer").contains("OnCalendar=daily"));
    // --print gives the same text.
    let printed = linli(&data, &["install", "--print"]).ok().stdout;
    assert!(printed.contains(&daemon), "{printed}");
    // Bad arguments are named.
    for (args, why) in [
        (vec!["install", "--user", "root"], "must not run as root"),
        (vec!["install", "--user", "Bad User"], "user name"),
        (vec!["install", "--name", "a/b"], "unit name"),
        (
            vec!["install", "--bin", "/nonexistent/linli"],
            "no such file",
        ),
        (
            vec!["install", "--dest", "/nonexistent/dir"],
            "not a directory",
        ),
    ] {
        let run = linli(&data, &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(why), "{args:?}: {}", run.stderr);
    }
    let spaced = tmp.path().join("with space");
    let run = linli(&spaced, &["install"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("plain path"), "{}", run.stderr);

    let analyze = match std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    {
        Ok(o) if o.status.success() => "systemd-analyze",
        _ => {
            // Straight to the process's stderr (the harness captures `eprintln!` of a
            // passing test): the skip is always seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED install_writes_units_that_systemd_analyze_verifies: systemd-analyze \
                 is not installed (apt-get install systemd); the units were not verified"
            );
            return;
        }
    };
    // A second set: another name and a backup directory of its own.
    let backups = tmp.path().join("srv-backups");
    linli(
        &data,
        &[
            "install",
            "--name",
            "office2",
            "--backup-dir",
            backups.to_str().unwrap(),
            "--dest",
            dest.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(
        unit("office2-backup.service").contains(&format!("backup --to {}/", backups.display()))
    );
    let out = std::process::Command::new(analyze)
        .arg("verify")
        .args(
            [
                "linli.service",
                "linli-backup.service",
                "linli-backup.timer",
                "office2.service",
                "office2-backup.service",
                "office2-backup.timer",
            ]
            .map(|n| dest.join(n)),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // verify exits 0 on unknown keys and bad values (it ignores them): every line about
    // our files is a finding.
    let findings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(dest.to_str().unwrap()) || l.contains("linli"))
        .collect();
    assert!(findings.is_empty(), "{stderr}");
}

/// A clock the test moves.
fn clock(at: &Arc<AtomicI64>) -> linli_node::Clock {
    let at = at.clone();
    Arc::new(move || Timestamp(at.load(Ordering::SeqCst)))
}

/// `GET path` on `addr` without any header but Host: (status, body).
async fn plain_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, body.to_string())
    })
    .await
    .unwrap()
}

/// The property `name` of a parsed component: (value, parameters as `K=V`).
fn prop(c: &icalendar::parser::Component<'_>, name: &str) -> Vec<(String, Vec<String>)> {
    c.properties
        .iter()
        .filter(|p| p.name.as_str() == name)
        .map(|p| {
            (
                p.val.as_str().to_string(),
                p.params
                    .iter()
                    .map(|x| {
                        format!(
                            "{}={}",
                            x.key.as_str(),
                            x.val.as_ref().map(|v| v.as_str()).unwrap_or_default()
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_rooms_calendar_feed_shows_series_exceptions_and_cancellations_without_personal_data() {
    let tmp = tempfile::tempdir().unwrap();
    let now = Arc::new(AtomicI64::new(
        Timestamp::parse("2030-11-20T10:00:00+08:00").unwrap().0,
    ));
    let options = OpenOptions {
        clock: Some(clock(&now)),
        ..opts()
    };
    let mut district = District::new();
    let (node, _) = community_node_with(&mut district, tmp.path(), options).await;
    let room = room(&node).await;
    let form = |purpose: &str, day: i64| {
        BookingForm::new("王小明", purpose, evening(day), 10)
            .with_contact("13800138000")
            .with_organisation("Dianye reading club")
    };
    let single = request(&node, room, form("reading", 0)).await;
    let series = request(&node, room, form("choir", 1).weekly(4)).await;
    let cancelled = request(&node, room, form("dance", 2)).await;
    let tentative = request(&node, room, form("chess", 4)).await;
    // Weekly from 7 December for 3 weeks, except 14 December.
    let holiday: jiff::civil::Date = "2030-12-14".parse().unwrap();
    let yoga = request(&node, room, form("yoga", 5).weekly(3).except(vec![holiday])).await;
    for b in [&single, &series, &cancelled, &yoga] {
        decide(&node, room, confirm(b)).await;
    }
    decide(
        &node,
        room,
        ResourceOp::Cancel {
            booking: cancelled.clone(),
            reason: "the group 王小明 leads is away".into(),
        },
    )
    .await;
    // After the series' second occurrence (3 and 10 December), the owner revokes it.
    now.store(
        Timestamp::parse("2030-12-11T12:00:00+08:00").unwrap().0,
        Ordering::SeqCst,
    );
    decide(
        &node,
        room,
        ResourceOp::Revoke {
            booking: series.clone(),
            reason: "renovation".into(),
        },
    )
    .await;

    // The owner's URL, served without the API token.
    let v = ops::execute(&node, Request::CalendarUrl { doc: Some(room) })
        .await
        .unwrap();
    let path = v["path"].as_str().unwrap().to_string();
    assert!(
        path.starts_with("/calendar/") && path.ends_with(".ics"),
        "{v}"
    );
    assert_eq!(
        path.len(),
        "/calendar/".len() + 32 + ".ics".len(),
        "128 bits: {path}"
    );
    let again = ops::execute(&node, Request::CalendarUrl { doc: None })
        .await
        .unwrap();
    assert_eq!(again["path"], v["path"], "stable until rotated");
    let server = linli_node::api::serve(
        node.clone(),
        None,
        "127.0.0.1:0".parse().unwrap(),
        "the-token".into(),
    )
    .await
    .unwrap();
    let (status, text) = plain_get(server.addr(), &path).await;
    assert_eq!(status, 200, "{text}");

    // No personal data: not the booker (not even masked), not the contact, not reasons.
    for secret in ["王小明", "王**", "13800138000", "away", "renovation"] {
        assert!(!text.contains(secret), "{secret} is in the feed:\n{text}");
    }

    // Parsed back.
    let unfolded = icalendar::parser::unfold(&text);
    let cal = icalendar::parser::read_calendar(&unfolded).unwrap();
    let events: Vec<_> = cal
        .components
        .iter()
        .filter(|c| c.name.as_str() == "VEVENT")
        .collect();
    let by_uid = |b: &BookingId| {
        events
            .iter()
            .find(|e| prop(e, "UID")[0].0.starts_with(&b.to_string()))
            .unwrap_or_else(|| panic!("no event for {b}:\n{text}"))
    };
    assert_eq!(
        events.len(),
        4,
        "the tentative booking is not shown:\n{text}"
    );
    assert!(
        !events
            .iter()
            .any(|e| prop(e, "UID")[0].0.starts_with(&tentative.to_string()))
    );
    let tz = ["TZID=Asia/Shanghai".to_string()];
    let e = by_uid(&single);
    assert_eq!(prop(e, "STATUS")[0].0, "CONFIRMED");
    assert_eq!(
        prop(e, "DTSTART"),
        [("20301202T190000".into(), tz.to_vec())]
    );
    assert_eq!(prop(e, "DTEND"), [("20301202T210000".into(), tz.to_vec())]);
    assert_eq!(prop(e, "SUMMARY")[0].0, "reading (Dianye reading club)");
    assert!(prop(e, "RRULE").is_empty());
    let e = by_uid(&series);
    assert_eq!(prop(e, "STATUS")[0].0, "CONFIRMED");
    assert_eq!(
        prop(e, "DTSTART"),
        [("20301203T190000".into(), tz.to_vec())]
    );
    assert_eq!(prop(e, "RRULE")[0].0, "FREQ=WEEKLY;COUNT=4");
    let mut exdates = prop(e, "EXDATE");
    exdates.sort();
    assert_eq!(
        exdates,
        [
            ("20301217T190000".to_string(), tz.to_vec()),
            ("20301224T190000".to_string(), tz.to_vec()),
        ]
    );
    // A series' exception is an EXDATE of its whole series.
    let e = by_uid(&yoga);
    assert_eq!(prop(e, "RRULE")[0].0, "FREQ=WEEKLY;COUNT=3");
    assert_eq!(
        prop(e, "EXDATE"),
        [("20301214T190000".to_string(), tz.to_vec())]
    );
    let e = by_uid(&cancelled);
    assert_eq!(prop(e, "STATUS")[0].0, "CANCELLED");
    assert_eq!(prop(e, "SEQUENCE")[0].0, "1");
    let vtz = cal
        .components
        .iter()
        .find(|c| c.name.as_str() == "VTIMEZONE")
        .unwrap_or_else(|| panic!("no VTIMEZONE:\n{text}"));
    assert_eq!(prop(vtz, "TZID")[0].0, "Asia/Shanghai");
    assert!(prop(vtz, "DTSTAMP").is_empty() && prop(vtz, "UID").is_empty());
    let standard = &vtz.components[0];
    assert_eq!(standard.name.as_str(), "STANDARD");
    assert_eq!(prop(standard, "TZOFFSETTO")[0].0, "+0800");

    // Rotation: the old URL answers 404, the new one the feed; a made-up one 404 too.
    let rotated = ops::execute(&node, Request::CalendarRotate { doc: Some(room) })
        .await
        .unwrap();
    let new_path = rotated["path"].as_str().unwrap().to_string();
    assert_ne!(new_path, path);
    assert_eq!(plain_get(server.addr(), &path).await.0, 404);
    assert_eq!(plain_get(server.addr(), &new_path).await.0, 200);
    for bad in [
        "/calendar/00000000000000000000000000000000.ics",
        "/calendar/nothex.ics",
        "/calendar/",
    ] {
        assert_eq!(plain_get(server.addr(), bad).await.0, 404, "{bad}");
    }
    // The API itself still wants its token.
    assert_eq!(plain_get(server.addr(), "/api/v1/status").await.0, 401);
    server.shutdown().await.unwrap();

    // Only for a resource this node owns; a missing one is named.
    let registry_like = DocId([7; 32]);
    let e = ops::execute(
        &node,
        Request::CalendarUrl {
            doc: Some(registry_like),
        },
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains(&registry_like.short()) || e.to_string().contains("not"),
        "{e}"
    );
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_feed_secret_survives_a_restart_and_is_only_for_the_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, other) = (tmp.path().join("dianye"), tmp.path().join("hongqi"));
    let mut district = District::new();
    let (a, _) = community_node(&mut district, &dir).await;
    let room = room(&a).await;
    let path = ops::execute(&a, Request::CalendarUrl { doc: Some(room) })
        .await
        .unwrap()["path"]
        .clone();
    a.shutdown().await.unwrap();
    let a = Node::open(&dir, opts()).await.unwrap();
    let again = ops::execute(&a, Request::CalendarUrl { doc: Some(room) })
        .await
        .unwrap();
    assert_eq!(again["path"], path);
    // Another community holding the room gets no feed of it.
    let b = hongqi_node(&mut district, &other, opts()).await;
    b.apply_batch(district.fed_changes()).await.unwrap();
    send(&a, &b).await;
    let e = ops::execute(&b, Request::CalendarUrl { doc: Some(room) })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("only its owner"), "{e}");
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_feed_in_a_zone_with_daylight_saving_keeps_local_times_and_describes_the_change() {
    let tmp = tempfile::tempdir().unwrap();
    let now = Arc::new(AtomicI64::new(
        Timestamp::parse("2030-10-01T10:00:00+02:00").unwrap().0,
    ));
    let options = OpenOptions {
        clock: Some(clock(&now)),
        ..opts()
    };
    let mut district = District::new();
    let (node, _) = community_node_with(&mut district, tmp.path(), options).await;
    let mut spec = ResourceSpec::room("Partner hall", 30);
    spec.zone = linli_core::Zone::new("Europe/Berlin").unwrap();
    let room = node
        .create(NewDoc::Resource {
            street: org("beishi"),
            community: Some(org("dianye")),
            spec,
        })
        .await
        .unwrap()
        .doc;
    // 20 October (summer time), 27 October (the day it ends, at 03:00) and 3 November.
    let start = Timestamp::parse("2030-10-20T19:00:00+02:00").unwrap();
    let slot = Slot::new(start, Timestamp(start.0 + 2 * 3600 * 1000)).unwrap();
    let series = request(
        &node,
        room,
        BookingForm::new("Anna Schmidt", "twinning choir", slot, 10).weekly(3),
    )
    .await;
    decide(&node, room, confirm(&series)).await;
    let now_ts = node.now();
    let text = node
        .read(move |r| linli_node::calendar::feed(r, room, now_ts))
        .await
        .unwrap()
        .unwrap();
    assert!(!text.contains("Anna") && !text.contains("A. S."), "{text}");
    let unfolded = icalendar::parser::unfold(&text);
    let cal = icalendar::parser::read_calendar(&unfolded).unwrap();
    let ev = cal
        .components
        .iter()
        .find(|c| c.name.as_str() == "VEVENT")
        .unwrap();
    let tz = vec!["TZID=Europe/Berlin".to_string()];
    assert_eq!(prop(ev, "DTSTART"), [("20301020T190000".to_string(), tz)]);
    assert_eq!(prop(ev, "RRULE")[0].0, "FREQ=WEEKLY;COUNT=3");
    let vtz = cal
        .components
        .iter()
        .find(|c| c.name.as_str() == "VTIMEZONE")
        .unwrap();
    assert_eq!(prop(vtz, "TZID")[0].0, "Europe/Berlin");
    let observances: Vec<(String, String, String, String)> = vtz
        .components
        .iter()
        .map(|o| {
            (
                o.name.as_str().to_string(),
                prop(o, "DTSTART")[0].0.clone(),
                prop(o, "TZOFFSETFROM")[0].0.clone(),
                prop(o, "TZOFFSETTO")[0].0.clone(),
            )
        })
        .collect();
    let o = |k: &str, s: &str, f: &str, t: &str| (k.into(), s.into(), f.into(), t.into());
    assert_eq!(
        observances,
        [
            o("DAYLIGHT", "20301019T190000", "+0200", "+0200"),
            o("STANDARD", "20301027T030000", "+0200", "+0100"),
        ],
        "{text}"
    );
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_cli_prints_and_rotates_a_feed_address_and_names_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dianye");
    let mut district = District::new();
    let (node, _) = community_node(&mut district, &dir).await;
    // No room yet.
    node.shutdown().await.unwrap();
    let run = linli(&dir, &["calendar", "url"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("no resource document"),
        "{}",
        run.stderr
    );
    let node = Node::open(&dir, opts()).await.unwrap();
    let room = room(&node).await;
    node.shutdown().await.unwrap();

    let first = linli(&dir, &["calendar", "url"]).ok();
    let url = first.stdout.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(url.contains("/calendar/") && url.ends_with(".ics"), "{url}");
    assert!(first.stderr.contains("not running"), "{}", first.stderr);
    let v = linli(&dir, &["--json", "calendar", "url", &room.to_string()])
        .ok()
        .json();
    assert_eq!(v["url"], url.as_str());
    let rotated = linli(&dir, &["calendar", "rotate", &room.to_string()]).ok();
    assert_ne!(rotated.stdout.trim(), url);
    assert!(
        rotated.stderr.contains("no longer answers"),
        "{}",
        rotated.stderr
    );
    let bad = linli(&dir, &["calendar", "url", "nothex"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

/// Against a running `linli run` (another process holding the store's lock): the feed's
/// address is the daemon's, served without the token and rotated; a backup is taken
/// without the lock and restores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_running_daemon_the_feed_is_served_and_a_backup_needs_no_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dianye");
    let mut district = District::new();
    let (node, _) = community_node(&mut district, &dir).await;
    let room = room(&node).await;
    let b = request(
        &node,
        room,
        BookingForm::new("王小明", "choir", evening(0), 10),
    )
    .await;
    decide(&node, room, confirm(&b)).await;
    node.shutdown().await.unwrap();

    let mut linli_cmd = std::process::Command::new(crate::cli::BIN);
    linli_cmd
        .arg("--dir")
        .arg(&dir)
        .env_remove("RUST_LOG")
        .env_remove("LINLI_DIR");
    let child = crate::cli::daemon_from(linli_cmd, &dir, &[]);
    let addr: std::net::SocketAddr = std::fs::read_to_string(dir.join("api.addr"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let url = linli(&dir, &["calendar", "url"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let path = url
        .strip_prefix(&format!("http://{addr}"))
        .unwrap_or_else(|| panic!("{url} is not on the daemon's address {addr}"))
        .to_string();
    let (status, text) = plain_get(addr, &path).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("SUMMARY:choir") && !text.contains("王"),
        "{text}"
    );

    // The daemon holds node.lock; the backup does not need it.
    let file = tmp.path().join("live.linlibak");
    linli(&dir, &["backup", "--to", file.to_str().unwrap()]).ok();
    let restored = tmp.path().join("restored");
    linli(&restored, &["restore", "--from", file.to_str().unwrap()]).ok();
    // Restoring over the running node's directory is refused, even forced.
    let run = linli(
        &dir,
        &["restore", "--from", file.to_str().unwrap(), "--force"],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);

    let rotated = linli(&dir, &["calendar", "rotate"]).ok().stdout;
    assert_ne!(rotated.trim(), url);
    assert_eq!(plain_get(addr, &path).await.0, 404);
    let (status, _, _) = crate::cli::stop(child);
    assert!(status.success(), "{status}");

    let v = linli(&restored, &["--json", "booking", "list"]).ok().json();
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
}
