//! Certificates (JSON records of the federation document and hello chains): parsing and
//! signature checks must never panic.
//!
//! The body is `linli_node::fuzzing::certificate`, shared with the replay test of the normal suite
//! (`node/tests/it/fuzz_replay.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| linli_node::fuzzing::certificate(data));
