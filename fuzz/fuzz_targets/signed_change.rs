//! Signed changes from a peer: decoding and verification must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use linli_core::SignedChange;

fuzz_target!(|data: &[u8]| {
    if let Ok(sc) = SignedChange::decode(data) {
        let _ = sc.verify();
        let _ = sc.change_hash();
        assert_eq!(SignedChange::decode(&sc.encode()).ok(), Some(sc));
    }
});
