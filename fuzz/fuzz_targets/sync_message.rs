//! Sync messages from a peer: decoding must never panic, and what decodes re-encodes.
//!
//! The body is `linli_node::fuzzing::sync_message`, shared with the replay test of the normal suite
//! (`node/tests/it/fuzz_replay.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| linli_node::fuzzing::sync_message(data));
