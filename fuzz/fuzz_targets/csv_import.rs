//! A partner's CSV of service hours: parsing never panics; every row is a service row with
//! its identity, or a reason.
//!
//! The body is `linli_node::fuzzing::csv_import`, shared with the replay test of the normal suite
//! (`node/tests/it/fuzz_replay.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| linli_node::fuzzing::csv_import(data));
