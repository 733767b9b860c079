//! Cross-crate integration tests through the `linli` facade.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod district;
mod unit_service;
