//! Signed changes from a peer: decoding and verification must never panic.
//!
//! The body is `linli_node::fuzzing::signed_change`, shared with the replay test of the normal suite
//! (`node/tests/it/fuzz_replay.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| linli_node::fuzzing::signed_change(data));
