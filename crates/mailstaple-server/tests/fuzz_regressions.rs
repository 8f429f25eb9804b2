//! Every minimised fuzz finding for `tls_ocsp_file` is replayed here by plain `cargo test`.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use mailstaple_server::{Config, Options};

#[test]
fn fuzz_regressions_replay() {
    for (_, data) in mailstaple_testpki::fuzz_regressions("tls_ocsp_file") {
        mailstaple_server::fuzzing::tls_ocsp_file(&data);
    }
}

/// Regression (fuzzing): an empty `tls_certificate` item is an error naming its position, not
/// an empty file name paired with an empty key.
#[test]
fn r_fuzz_empty_certificate_item() {
    let config =
        Config::new(&Options::parse("tls_certificate = :/etc/mail/ec.pem\n").unwrap()).unwrap();
    let err = config.files(None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tls_certificate item 1 is empty: a file name is needed"
    );
}
