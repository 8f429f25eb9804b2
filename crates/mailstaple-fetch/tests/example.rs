//! The `fetch` example against the test PKI and a loopback responder: one proof fetched and
//! installed, then the scheduler driving two certificates until both have fresh proofs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Reply, Responder};
use mailstaple_testpki::{KeyAlg, NOW, Pki, Status};

#[allow(dead_code)] // Its `main` reads the process arguments; the test passes them to `run`.
#[path = "../examples/fetch.rs"]
mod fetch;

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
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let run = |rest: &[String]| {
        let mut args = vec!["--url".to_owned(), responder.url(), "--at".to_owned()];
        args.push(NOW.to_string());
        args.extend_from_slice(rest);
        fetch::run(args)
    };
    let once = [
        "once".to_owned(),
        path("leaf.pem"),
        path("issuer.pem"),
        path("one.der"),
    ];
    let report = run(&once).unwrap();
    assert!(report.contains("one.der: Good until"), "{report}");
    assert_eq!(std::fs::read(path("one.der")).unwrap(), proof);
    // The same proof again is not older than the installed one: installed again, no error.
    run(&once).unwrap();

    let schedule = [
        "schedule".to_owned(),
        path("leaf.pem"),
        path("issuer.pem"),
        path("a.der"),
        path("other_leaf.pem"),
        path("issuer.pem"),
        path("b.der"),
    ];
    let report = run(&schedule).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 2, "{report}");
    assert!(lines[0].starts_with("0: refresh at Some("), "{report}");
    assert!(lines[1].starts_with("1: refresh at Some("), "{report}");
    for out in ["a.der", "b.der"] {
        assert_eq!(std::fs::read(path(out)).unwrap(), proof);
    }
    // Files come in threes, and `once` takes one certificate.
    assert!(run(&schedule[..3]).is_err());
    let twice: Vec<String> = once.iter().chain(&once[1..]).cloned().collect();
    assert!(run(&twice).is_err());
    assert_eq!(responder.requests().len(), 4);
}
