//! The `linli` command (placeholder while the CLI is written).
fn main() {}
