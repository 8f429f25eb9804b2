//! The `verify_proof` example run against the test PKI: a good proof signed by the issuer, a
//! delegated proof whose signer expires first, and another certificate's proof.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use mailstaple_ocsp::Time;
use mailstaple_testpki::{DAY, HOUR, KeyAlg, NOW, Pki, Signer};

#[allow(dead_code)] // Its `main` reads the process arguments; the test passes them to `run`.
#[path = "../examples/verify_proof.rs"]
mod verify_proof;

fn run(args: &[String]) -> Result<String, Box<dyn std::error::Error>> {
    verify_proof::run(args)
}

fn time(secs: u64) -> Time {
    Time::from_unix(i64::try_from(secs).unwrap())
}

#[test]
fn verify_proof_prints_status_signer_and_effective_expiry() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    // Certificates as PEM, proofs as DER: the example reads either.
    std::fs::write(path("cert.pem"), pki.leaf.pem()).unwrap();
    std::fs::write(path("issuer.pem"), pki.intermediate.pem()).unwrap();
    std::fs::write(path("other.pem"), pki.other_leaf.pem()).unwrap();
    std::fs::write(path("direct.der"), pki.response().build()).unwrap();
    let delegated = pki.response().signer(Signer::Delegated(&pki.signer_short));
    std::fs::write(path("short.der"), delegated.build()).unwrap();
    let [cert, issuer, other] = [path("cert.pem"), path("issuer.pem"), path("other.pem")];

    let report = run(&[
        path("direct.der"),
        cert.clone(),
        issuer.clone(),
        NOW.to_string(),
    ])
    .unwrap();
    assert_eq!(
        report,
        format!(
            "Good, signed by the issuer\nthis update {}, effective expiry {}",
            time(NOW - HOUR),
            time(NOW + 7 * DAY)
        )
    );

    // The signer expires a day after NOW, before nextUpdate (NOW + 7 d): that is the expiry.
    let report = run(&[
        path("short.der"),
        cert.clone(),
        issuer.clone(),
        NOW.to_string(),
    ])
    .unwrap();
    let (first, second) = report.split_once('\n').unwrap();
    assert!(
        first.starts_with("Good, signed by delegated responder "),
        "{report}"
    );
    assert!(
        second.ends_with(&format!("effective expiry {}", time(NOW + DAY))),
        "{report}"
    );

    let err = run(&[path("direct.der"), other, issuer.clone(), NOW.to_string()]).unwrap_err();
    assert!(
        err.to_string().contains("no response for certificate"),
        "{err}"
    );
}
