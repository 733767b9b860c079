//! Certificates (JSON records of the federation document and hello chains): parsing and
//! signature checks must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use linli_core::cert::Certificate;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = serde_json::from_slice::<Certificate>(data) {
        let _ = c.verify_signature();
        let _ = c.canonical_bytes();
    }
});
