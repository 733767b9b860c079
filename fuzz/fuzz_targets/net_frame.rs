//! Request/response frames of the `/linli/sync/1` protocol: never panic, never allocate
//! beyond the frame.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = linli_node::net::decode_frame_body(data);
});
