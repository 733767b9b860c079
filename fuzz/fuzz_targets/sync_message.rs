//! Sync messages from a peer: decoding must never panic, and what decodes re-encodes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use linli_core::sync::wire;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = wire::decode(data) {
        let again = wire::encode(&m);
        assert_eq!(wire::decode(&again).ok(), Some(m));
    }
});
