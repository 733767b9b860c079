//! The TOML config file: parsing never panics; errors name the file.
//!
//! The body is `linli_node::fuzzing::config`, shared with the replay test of the normal suite
//! (`node/tests/it/fuzz_replay.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| linli_node::fuzzing::config(data));
