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

#[allow(dead_code)] // Its `main` is the command line; the test calls `check`.
#[path = "../examples/verify_proof.rs"]
mod verify_proof;

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

    let report = verify_proof::check([&path("direct.der"), &cert, &issuer], Some(NOW)).unwrap();
    assert_eq!(
        report,
        format!(
            "Good, signed by the issuer\nthis update {}, effective expiry {}",
            time(NOW - HOUR),
            time(NOW + 7 * DAY)
        )
    );

    // The signer expires a day after NOW, before nextUpdate (NOW + 7 d): that is the expiry.
    let report = verify_proof::check([&path("short.der"), &cert, &issuer], Some(NOW)).unwrap();
    let (first, second) = report.split_once('\n').unwrap();
    assert!(
        first.starts_with("Good, signed by delegated responder "),
        "{report}"
    );
    assert!(
        second.ends_with(&format!("effective expiry {}", time(NOW + DAY))),
        "{report}"
    );

    let err = verify_proof::check([&path("direct.der"), &other, &issuer], Some(NOW)).unwrap_err();
    assert!(
        err.to_string().contains("no response for certificate"),
        "{err}"
    );
}
