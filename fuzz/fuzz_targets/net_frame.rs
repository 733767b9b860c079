//! Request/response frames of the `/linli/sync/1` protocol: never panic, never allocate
//! beyond the frame.
//!
//! The body is `linli_node::fuzzing::net_frame`, shared with the replay test of the normal suite
//! (`node/tests/it/fuzz_replay.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| linli_node::fuzzing::net_frame(data));
