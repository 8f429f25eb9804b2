//! Serve, require and verify a staple across the three crates, with files from the test PKI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::IpAddr;

use mailstaple_downstream::{check, require, serve};
use mailstaple_policy::{Delivery, OcspStatus};
use mailstaple_testpki::{KeyAlg, NOW, Pki, Status};

const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
const NAME: &str = "mail.example.test";

#[test]
fn serve_require_and_verify_a_staple() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("proof.der"), pki.response().build()).unwrap();
    let roots = pki.root.pem();

    let staple = check(
        &path("proof.der"),
        &path("leaf.pem"),
        &path("issuer.pem"),
        NOW,
    )
    .unwrap();
    assert!(staple.is_good());

    let server = serve(
        &path("chain.pem"),
        &path("leaf.key"),
        &path("proof.der"),
        NOW,
    )
    .unwrap();
    let delivery = require(server.clone(), roots.as_bytes(), "*", NAME, IP, NOW).unwrap();
    assert_eq!(
        delivery,
        Delivery::Proceed {
            tls_out_ocsp: OcspStatus::Verified
        }
    );

    // Past the proof's effective expiry the server stops stapling it, and the requirement defers.
    let later = u64::try_from(staple.effective_expiry().unix()).unwrap() + 3600;
    let server = serve(
        &path("chain.pem"),
        &path("leaf.key"),
        &path("proof.der"),
        later,
    )
    .unwrap();
    let delivery = require(server, roots.as_bytes(), "*", NAME, IP, later).unwrap();
    assert!(!delivery.is_proceed(), "{delivery:?}");
    assert_eq!(delivery.tls_out_ocsp(), OcspStatus::NotResponded);

    // A revoked proof is not stapled either; a host that only requests a staple proceeds.
    let revoked = pki.response().status(Status::Revoked {
        time: NOW - 60,
        reason: Some(1),
    });
    std::fs::write(path("revoked.der"), revoked.build()).unwrap();
    let checked = check(
        &path("revoked.der"),
        &path("leaf.pem"),
        &path("issuer.pem"),
        NOW,
    )
    .unwrap();
    assert!(!checked.is_good());
    let server = serve(
        &path("chain.pem"),
        &path("leaf.key"),
        &path("revoked.der"),
        NOW,
    )
    .unwrap();
    let delivery = require(server, roots.as_bytes(), "192.0.2.0/24", NAME, IP, NOW).unwrap();
    assert_eq!(
        delivery,
        Delivery::Proceed {
            tls_out_ocsp: OcspStatus::NotResponded
        }
    );
}
