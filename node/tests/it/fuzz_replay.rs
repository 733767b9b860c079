//! Replays the committed fuzz inputs through the fuzz targets' bodies
//! (`linli_node::fuzzing`): every file of `fuzz/seeds/<target>/` (the minimized corpus) and
//! of `fuzz/regressions/<target>/` (inputs that once crashed a fuzz run; see
//! `fuzz/regressions/README.md`). Each input runs under `catch_unwind`, so a failure names
//! the target and the file, and every failing input of a target is reported at once.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The `fuzz/` directory of the repository.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The input files of `dir`, sorted; none if the directory does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    files
}

/// Runs every seed and regression input of `target` through `body`.
fn replay(target: &str, body: fn(&[u8])) {
    let seeds = inputs(&fuzz_dir().join("seeds").join(target));
    assert!(
        !seeds.is_empty(),
        "fuzz/seeds/{target}/ is empty or missing: the seed corpus must be committed"
    );
    let regressions = inputs(&fuzz_dir().join("regressions").join(target));
    let mut failures = Vec::new();
    for path in seeds.iter().chain(&regressions) {
        let data = std::fs::read(path).unwrap();
        if let Err(e) = panic::catch_unwind(AssertUnwindSafe(|| body(&data))) {
            let msg = e
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| e.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            failures.push(format!("{target}: {}: {msg}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs failed:\n{}",
        failures.len(),
        seeds.len() + regressions.len(),
        failures.join("\n")
    );
}

#[test]
fn sync_message() {
    replay("sync_message", linli_node::fuzzing::sync_message);
}

#[test]
fn signed_change() {
    replay("signed_change", linli_node::fuzzing::signed_change);
}

#[test]
fn net_frame() {
    replay("net_frame", linli_node::fuzzing::net_frame);
}

#[test]
fn certificate() {
    replay("certificate", linli_node::fuzzing::certificate);
}

#[test]
fn config() {
    replay("config", linli_node::fuzzing::config);
}

#[test]
fn csv_import() {
    replay("csv_import", linli_node::fuzzing::csv_import);
}
