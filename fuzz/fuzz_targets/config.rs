//! The TOML config file: parsing never panics; errors name the file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let path = std::path::Path::new("linli.toml");
        if let Err(e) = linli_node::config::Config::parse(path, text) {
            assert!(e.to_string().contains("linli.toml"), "{e}");
        }
    }
});
