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
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/fuzz-regressions/tls_ocsp_file");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        mailstaple_server::fuzzing::tls_ocsp_file(&std::fs::read(&path).unwrap());
        count += 1;
    }
    assert!(count > 0, "no regression inputs in {}", dir.display());
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
