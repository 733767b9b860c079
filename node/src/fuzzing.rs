//! The bodies of the fuzz targets in `fuzz/`, shared with the replay test of the normal
//! suite (`node/tests/it/fuzz_replay.rs`), which runs every committed seed and regression
//! input through them.
//!
//! Each function takes arbitrary bytes and checks the properties its target is about:
//! nothing panics on hostile input, and what decodes re-encodes to the same value. A
//! property violation **panics by design** (through `assert!` / `assert_eq!`), because a
//! panic is what libFuzzer reports as a finding. Not an API for applications.

use linli_core::SignedChange;
use linli_core::cert::Certificate;
use linli_core::sync::wire;

/// Sync messages from a peer: decoding must never panic, and what decodes re-encodes.
pub fn sync_message(data: &[u8]) {
    if let Ok(m) = wire::decode(data) {
        let again = wire::encode(&m);
        assert_eq!(wire::decode(&again).ok(), Some(m));
    }
}

/// Signed changes from a peer: decoding and verification must never panic, and what
/// decodes re-encodes.
pub fn signed_change(data: &[u8]) {
    if let Ok(sc) = SignedChange::decode(data) {
        let _ = sc.verify();
        let _ = sc.change_hash();
        assert_eq!(SignedChange::decode(&sc.encode()).ok(), Some(sc));
    }
}

/// Request/response frames of the `/linli/sync/1` protocol: never panic, never allocate
/// beyond the frame.
pub fn net_frame(data: &[u8]) {
    let _ = crate::net::decode_frame_body(data);
}

/// Certificates (JSON records of the federation document and hello chains): parsing and
/// signature checks must never panic.
pub fn certificate(data: &[u8]) {
    if let Ok(c) = serde_json::from_slice::<Certificate>(data) {
        let _ = c.verify_signature();
        let _ = c.canonical_bytes();
    }
}

/// The TOML config file: parsing never panics; errors name the file.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let path = std::path::Path::new("linli.toml");
        if let Err(e) = crate::config::Config::parse(path, text) {
            assert!(e.to_string().contains("linli.toml"), "{e}");
        }
    }
}

/// A partner's CSV of service hours: parsing never panics; every row is a service row with
/// its identity, or a reason; identities are a function of the bytes.
pub fn csv_import(data: &[u8]) {
    let Ok(rows) = crate::cli::service_rows(data) else {
        return;
    };
    let sources: Vec<Option<String>> = rows
        .iter()
        .map(|(_, r)| {
            r.as_ref()
                .ok()
                .map(|r| r.source.clone().unwrap_or_default())
        })
        .collect();
    assert!(sources.iter().flatten().all(|s| !s.is_empty()));
    let again: Vec<Option<String>> = crate::cli::service_rows(data)
        .map(|rows| {
            rows.into_iter()
                .map(|(_, r)| r.ok().map(|r| r.source.unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(sources, again);
}
