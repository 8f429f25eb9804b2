//! The `fetch` example against the test PKI and a loopback responder: one proof fetched and
//! installed, then the scheduler driving two certificates until both have fresh proofs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Duration;

use common::{Reply, Responder};
use mailstaple_fetch::Target;
use mailstaple_fetch::pki_types::UnixTime;
use mailstaple_testpki::{KeyAlg, NOW, Pki, Status};

#[allow(dead_code)] // Its `main` is the command line; the test calls `once` and `run_scheduler`.
#[path = "../examples/fetch.rs"]
mod fetch;

fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(NOW))
}

#[test]
fn fetch_installs_one_proof_and_schedules_several() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    // One proof answering for both leaves, so one responder serves every request.
    let proof = pki
        .response()
        .extra_single(pki.other_leaf.serial().to_vec(), Status::Good)
        .build();
    let responder = Responder::fixed(Reply::Ok(proof.clone()));
    let target = |leaf: &str, out: &str| {
        let (leaf, issuer) = (dir.path().join(leaf), dir.path().join("issuer.pem"));
        Target::load(&leaf, &issuer, dir.path().join(out), Some(responder.url())).unwrap()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let one = target("leaf.pem", "one.der");
    let report = runtime.block_on(fetch::once(&one, now())).unwrap();
    assert!(report.contains("one.der: Good until"), "{report}");
    assert_eq!(std::fs::read(dir.path().join("one.der")).unwrap(), proof);
    // The same proof again is not older than the installed one: installed again, no error.
    runtime.block_on(fetch::once(&one, now())).unwrap();

    let targets = vec![
        target("leaf.pem", "a.der"),
        target("other_leaf.pem", "b.der"),
    ];
    let report = runtime
        .block_on(fetch::run_scheduler(targets, now))
        .unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 2, "{report}");
    assert!(lines[0].starts_with("0: refresh at Some("), "{report}");
    assert!(lines[1].starts_with("1: refresh at Some("), "{report}");
    for out in ["a.der", "b.der"] {
        assert_eq!(std::fs::read(dir.path().join(out)).unwrap(), proof);
    }
    assert_eq!(responder.requests().len(), 4);
}
