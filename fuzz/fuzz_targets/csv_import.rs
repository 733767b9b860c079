//! A partner's CSV of service hours: parsing never panics; every row is a request or a
//! reason.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = linli_node::cli::service_rows(data);
});
