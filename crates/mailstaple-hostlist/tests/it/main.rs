//! Integration tests of the public API: table-driven cases from Exim's documentation and test
//! suite, and compiled-versus-reference property tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod example;
mod props;
mod table;
