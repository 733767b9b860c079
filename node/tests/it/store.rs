//! The store: acknowledged writes survive a reopen, bad store files give typed errors and
//! stay unchanged, locking, disk full, snapshots.

use linli_core::{DocKind, Document};
use linli_node::{InitOptions, Node, NodeError, OpenOptions, StoreError, files};

use crate::util::*;

#[tokio::test]
async fn acknowledged_write_is_there_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, registry) = community_node(&mut district, dir.path()).await;
    let id = node.node_id();
    add_compound(&node, registry, "Jinxiu Garden").await;
    add_compound(&node, registry, "Hongqi Yard").await;
    let before = node.status().await.unwrap();
    node.shutdown().await.unwrap();
    assert!(matches!(node.status().await, Err(NodeError::Shutdown)));

    let node = Node::open(dir.path(), opts()).await.unwrap();
    assert_eq!(node.node_id(), id);
    assert_eq!(
        compound_names(&node, registry).await,
        ["Hongqi Yard", "Jinxiu Garden"]
    );
    let after = node.status().await.unwrap();
    assert_ne!(after.incarnation, before.incarnation);
    assert_eq!(settled(after.clone()), settled(before));
    assert_eq!(after.documents.get(&DocKind::Registry), Some(&1));
    assert_eq!(after.documents.get(&DocKind::Federation), Some(&1));
    assert_eq!(after.refused, 0);
    assert_eq!(after.pending, 0);
    assert_eq!(after.accepted, after.log);
    // The node can keep writing after a restart (a new incarnation: a new actor).
    add_compound(&node, registry, "Third").await;
    node.check_integrity().await.unwrap();
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn documents_created_after_restart_get_new_ids() {
    // A fixed clock: the node must still never repeat a genesis after a restart.
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let fixed = OpenOptions {
        clock: Some(std::sync::Arc::new(|| {
            linli_core::Timestamp::parse("2026-11-25T10:00:00Z").unwrap()
        })),
        ..opts()
    };
    let mut init = InitOptions::new(org("dianye"), district.root_id());
    init.secret = Some(secret("dianye", 1));
    let node = Node::init(dir.path(), init, fixed.clone()).await.unwrap();
    district.certify(
        node.node_id(),
        linli_core::cert::Role::Community,
        "dianye",
        Some("beishi"),
    );
    node.apply_batch(district.fed_changes()).await.unwrap();
    let new = || linli_core::NewDoc::Wishes {
        street: org("beishi"),
        community: org("dianye"),
        title: "wishes".into(),
    };
    let a = node.create(new()).await.unwrap().doc;
    node.shutdown().await.unwrap();
    let node = Node::open(dir.path(), fixed).await.unwrap();
    let b = node.create(new()).await.unwrap().doc;
    assert_ne!(a, b);
    assert_eq!(node.status().await.unwrap().documents[&DocKind::Wishes], 2);
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn open_without_store_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let err = Node::open(dir.path(), opts()).await.unwrap_err();
    assert!(
        matches!(err, NodeError::Store(StoreError::NotInitialized(_))),
        "{err}"
    );
    assert!(err.to_string().contains("init"), "{err}");
    // Nothing was created.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Files of `dir` with their contents.
fn snapshot_dir(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn garbage_file_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let garbage: Vec<u8> = (0..10_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(dir.path().join(files::DB), &garbage).unwrap();
    let before = snapshot_dir(dir.path());
    let err = Node::open(dir.path(), opts()).await.unwrap_err();
    assert!(
        matches!(err, NodeError::Store(StoreError::NotALinliStore { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("not an SQLite database"), "{err}");
    assert_eq!(snapshot_dir(dir.path()), before);
    // init refuses to overwrite it too.
    let init = InitOptions::new(org("dianye"), root_key().node_id());
    let err = Node::init(dir.path(), init, opts()).await.unwrap_err();
    assert!(
        matches!(err, NodeError::Store(StoreError::NotALinliStore { .. })),
        "{err}"
    );
    assert_eq!(snapshot_dir(dir.path()), before);
}

#[tokio::test]
async fn other_sqlite_database_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = rusqlite::Connection::open(dir.path().join(files::DB)).unwrap();
        c.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);")
            .unwrap();
        c.execute("INSERT INTO invoices (total) VALUES (12.5)", [])
            .unwrap();
    }
    let before = snapshot_dir(dir.path());
    let err = Node::open(dir.path(), opts()).await.unwrap_err();
    assert!(
        matches!(err, NodeError::Store(StoreError::NotALinliStore { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("another application"), "{err}");
    assert_eq!(snapshot_dir(dir.path()), before);
}

#[tokio::test]
async fn other_wal_database_is_not_checkpointed() {
    // Another application's WAL database with commits still in its WAL file: looking at
    // it must not move them into the main file.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(files::DB);
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.pragma_update(None, "journal_mode", "WAL").unwrap();
        c.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .unwrap();
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    let wal = dir.path().join(format!("{}-wal", files::DB));
    let (main_before, wal_before) = (std::fs::read(&db).unwrap(), std::fs::read(&wal).unwrap());
    assert!(!wal_before.is_empty());
    let err = Node::open(dir.path(), opts()).await.unwrap_err();
    assert!(
        matches!(err, NodeError::Store(StoreError::NotALinliStore { .. })),
        "{err}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), main_before);
    assert_eq!(std::fs::read(&wal).unwrap(), wal_before);
}

#[tokio::test]
async fn newer_schema_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, registry) = community_node(&mut district, dir.path()).await;
    add_compound(&node, registry, "Jinxiu Garden").await;
    node.shutdown().await.unwrap();
    {
        let c = rusqlite::Connection::open(dir.path().join(files::DB)).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let before = snapshot_dir(dir.path());
    let err = Node::open(dir.path(), opts()).await.unwrap_err();
    match &err {
        NodeError::Store(StoreError::NewerSchema {
            found, supported, ..
        }) => {
            assert_eq!(*found, 99);
            assert!(*supported < 99);
        }
        other => panic!("expected NewerSchema, got {other}"),
    }
    assert!(err.to_string().contains("newer linli"), "{err}");
    assert_eq!(snapshot_dir(dir.path()), before);
}

#[tokio::test]
async fn init_twice_and_open_twice_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, _) = community_node(&mut district, dir.path()).await;
    let second = Node::open(dir.path(), opts()).await.unwrap_err();
    assert!(
        matches!(second, NodeError::Store(StoreError::Locked(_))),
        "{second}"
    );
    let init = InitOptions::new(org("dianye"), district.root_id());
    let again = Node::init(dir.path(), init.clone(), opts())
        .await
        .unwrap_err();
    assert!(
        matches!(again, NodeError::Store(StoreError::AlreadyInitialized(_))),
        "{again}"
    );
    node.shutdown().await.unwrap();
    let again = Node::init(dir.path(), init, opts()).await.unwrap_err();
    assert!(
        matches!(again, NodeError::Store(StoreError::AlreadyInitialized(_))),
        "{again}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn key_file_is_private_and_kept_on_reinit() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let init = InitOptions::new(org("dianye"), root_key().node_id());
    let node = Node::init(dir.path(), init.clone(), opts()).await.unwrap();
    let id = node.node_id();
    let inc = node.status().await.unwrap().incarnation;
    node.shutdown().await.unwrap();
    let mode = std::fs::metadata(dir.path().join(files::KEY))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The database is lost; the key stays: the new store keeps the identity and gets a new
    // incarnation, so no (actor, seq) pair is reused.
    for f in ["linli.db", "linli.db-wal", "linli.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    let node = Node::init(dir.path(), init, opts()).await.unwrap();
    assert_eq!(node.node_id(), id);
    assert_ne!(node.status().await.unwrap().incarnation, inc);
    node.shutdown().await.unwrap();
}

/// `init` and `open` in a place that cannot be written give a typed store error that names
/// the path, never a panic. A path under a regular file fails for every user; a read-only
/// directory (mode 0555) only for users without the privilege to ignore permissions (not
/// root), so that half is skipped when a probe write into it succeeds.
#[cfg(unix)]
#[tokio::test]
async fn unwritable_place_gives_an_error_naming_the_path() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let init = InitOptions::new(org("dianye"), root_key().node_id());
    let names = |err: &NodeError, path: &std::path::Path| {
        err.to_string().contains(&*path.to_string_lossy())
    };

    // The parent is a regular file.
    let file = tmp.path().join("plain-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let under_file = file.join("store");
    let err = Node::init(&under_file, init.clone(), opts())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NodeError::Store(StoreError::Io { path, .. }) if path == &under_file),
        "{err}"
    );
    assert!(names(&err, &under_file), "{err}");
    let err = Node::open(&under_file, opts()).await.unwrap_err();
    assert!(
        matches!(err, NodeError::Store(StoreError::NotInitialized(_))),
        "{err}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory");

    // A read-only directory: for a new store and for an existing one.
    let ro = tmp.path().join("read-only");
    let node = Node::init(&ro, init.clone(), opts()).await.unwrap();
    node.shutdown().await.unwrap();
    let empty = tmp.path().join("read-only-empty");
    std::fs::create_dir(&empty).unwrap();
    for d in [&ro, &empty] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let privileged = std::fs::write(empty.join("probe"), b"").is_ok();
    if !privileged {
        let err = Node::init(&empty, init.clone(), opts()).await.unwrap_err();
        assert!(
            matches!(
                &err,
                NodeError::Store(StoreError::Io { .. } | StoreError::ReadOnly(_))
            ),
            "{err}"
        );
        assert!(names(&err, &empty), "{err}");
        assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
        let err = Node::init(empty.join("sub"), init.clone(), opts())
            .await
            .unwrap_err();
        assert!(names(&err, &empty.join("sub")), "{err}");
        let err = Node::open(&ro, opts()).await.unwrap_err();
        assert!(
            matches!(
                &err,
                NodeError::Store(StoreError::Io { .. } | StoreError::ReadOnly(_))
            ),
            "{err}"
        );
        assert!(names(&err, &ro), "{err}");
    }
    for d in [&ro, &empty] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // Writable again: the store opens as before.
    let node = Node::open(&ro, opts()).await.unwrap();
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn wrong_key_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let init = InitOptions::new(org("dianye"), root_key().node_id());
    let node = Node::init(dir.path(), init, opts()).await.unwrap();
    node.shutdown().await.unwrap();
    let text = format!("linli-node-key v1\n{}\n", hex::encode([7u8; 32]));
    std::fs::write(dir.path().join(files::KEY), text).unwrap();
    let err = Node::open(dir.path(), opts()).await.unwrap_err();
    assert!(
        matches!(err, NodeError::Store(StoreError::Key { .. })),
        "{err}"
    );
}

/// A store with enough writes to span many pages.
async fn populated_store(dir: &std::path::Path) {
    let mut district = District::new();
    let (node, registry) = community_node(&mut district, dir).await;
    for i in 0..60 {
        add_compound(
            &node,
            registry,
            &format!("Compound {i:03} with a long enough name"),
        )
        .await;
    }
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn truncated_store_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    populated_store(dir.path()).await;
    let db = dir.path().join(files::DB);
    let len = std::fs::metadata(&db).unwrap().len();
    assert!(len > 16 * 4096, "store too small for the test: {len}");
    let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let err = Node::open(dir.path(), opts()).await.unwrap_err();
    eprintln!("truncated store: {err}");
    assert!(
        matches!(
            err,
            NodeError::Store(
                StoreError::Corrupt(_)
                    | StoreError::Integrity(_)
                    | StoreError::CorruptChange { .. }
            )
        ),
        "{err}"
    );
    assert!(err.to_string().contains("damaged") || err.to_string().contains("integrity"));
}

#[tokio::test]
async fn damaged_page_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    populated_store(dir.path()).await;
    let db = dir.path().join(files::DB);
    let mut bytes = std::fs::read(&db).unwrap();
    let pages = bytes.len() / 4096;
    // Scribble over a page in the middle (a b-tree page of the log).
    let p = pages / 2;
    for b in &mut bytes[p * 4096..p * 4096 + 4096] {
        *b = 0x5A;
    }
    std::fs::write(&db, &bytes).unwrap();
    let err = Node::open(dir.path(), opts()).await.unwrap_err();
    eprintln!("damaged store: {err}");
    assert!(
        matches!(
            err,
            NodeError::Store(
                StoreError::Corrupt(_)
                    | StoreError::Integrity(_)
                    | StoreError::CorruptChange { .. }
            )
        ),
        "{err}"
    );
}

#[tokio::test]
async fn disk_full_is_a_clear_error_and_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, registry) = community_node(&mut district, dir.path()).await;
    node.shutdown().await.unwrap();
    let size = std::fs::metadata(dir.path().join(files::DB)).unwrap().len();
    let limited = OpenOptions {
        max_size_bytes: Some(size + 64 * 1024),
        ..opts()
    };
    let node = Node::open(dir.path(), limited).await.unwrap();
    let mut acked = Vec::new();
    let mut full = None;
    for i in 0..2000 {
        let name = format!("Compound {i:04} {}", "x".repeat(200));
        match node.execute(registry, compound(&name)).await {
            Ok(_) => acked.push(name),
            Err(e) => {
                full = Some(e);
                break;
            }
        }
    }
    let err = full.expect("the size limit was never reached");
    assert!(
        matches!(err, NodeError::Store(StoreError::DiskFull(_))),
        "{err}"
    );
    assert!(err.to_string().contains("disk full"), "{err}");
    // The refused write is not visible; every acknowledged one is.
    acked.sort();
    assert_eq!(compound_names(&node, registry).await, acked);
    node.shutdown().await.unwrap();
    let node = Node::open(dir.path(), opts()).await.unwrap();
    assert_eq!(compound_names(&node, registry).await, acked);
    // Without the limit, writing works again.
    add_compound(&node, registry, "After").await;
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn snapshots_are_taken_by_policy_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, registry) = community_node(&mut district, dir.path()).await;
    assert!(node.snapshot(registry).await.unwrap().is_none());
    for i in 0..55 {
        add_compound(&node, registry, &format!("C{i}")).await;
    }
    // 56 accepted changes (genesis + 55) ≥ 50: one snapshot.
    let snap = node.snapshot(registry).await.unwrap().expect("a snapshot");
    assert!(snap.changes >= 50, "{}", snap.changes);
    let doc = Document::load(registry, &snap.bytes, linli_core::kinds::layout).unwrap();
    let mut heads = doc.heads();
    heads.sort();
    let mut want = snap.heads.clone();
    want.sort();
    assert_eq!(heads, want);
    assert_eq!(doc.automerge().get_changes(&[]).len() as u64, snap.changes);
    assert_eq!(node.status().await.unwrap().snapshots, 1);
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn concurrent_readers_while_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, registry) = community_node(&mut district, dir.path()).await;
    let writer = {
        let node = node.clone();
        tokio::spawn(async move {
            for i in 0..30 {
                add_compound(&node, registry, &format!("W{i:02}")).await;
            }
        })
    };
    let mut readers = Vec::new();
    for _ in 0..3 {
        let node = node.clone();
        readers.push(tokio::spawn(async move {
            let mut last = 0;
            let mut reads = 0;
            loop {
                let n = node.compounds(registry).await.unwrap().len();
                assert!(
                    n >= last,
                    "a reader saw the count go back from {last} to {n}"
                );
                last = n;
                reads += 1;
                if n == 30 {
                    return reads;
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    writer.await.unwrap();
    for r in readers {
        assert!(r.await.unwrap() >= 1);
    }
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn stored_statuses_are_checked_and_repaired_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, registry) = community_node(&mut district, dir.path()).await;
    add_compound(&node, registry, "Jinxiu Garden").await;
    let before = node.status().await.unwrap();
    node.shutdown().await.unwrap();
    {
        // Damage the status column (as a write cut short between two statements could).
        let c = rusqlite::Connection::open(dir.path().join(files::DB)).unwrap();
        c.execute("UPDATE changes SET status = 1, reason = 'bogus'", [])
            .unwrap();
    }
    let node = Node::open(dir.path(), opts()).await.unwrap();
    assert_eq!(settled(node.status().await.unwrap()), settled(before));
    node.shutdown().await.unwrap();
}
