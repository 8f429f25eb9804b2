//! RSA and ECDSA certificates for one name, each with its own proof. The two test PKIs give
//! both leaves serial 1001: a provider matching by serial alone (as Exim does) would mix them.

use mailstaple_server::StapleState;
use mailstaple_testpki::{KeyAlg, Pki};
use rustls::SignatureScheme;

use crate::common::{
    Fixture, TestClock, Version, capture_logs, client, handshake, provider, server,
};

const ECDSA: &[SignatureScheme] = &[SignatureScheme::ECDSA_NISTP256_SHA256];
const RSA: &[SignatureScheme] = &[
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PKCS1_SHA256,
];

pub(crate) fn two_key_fixture() -> (Fixture, Vec<u8>, Vec<u8>) {
    let rsa = Pki::shared(KeyAlg::Rsa2048);
    let ec = Pki::shared(KeyAlg::EcdsaP256);
    assert_eq!(
        rsa.leaf.serial(),
        ec.leaf.serial(),
        "the test relies on equal serials"
    );
    let f = Fixture::new();
    f.leaf_files(rsa, "rsa-");
    f.leaf_files(ec, "ec-");
    let (rsa_proof, ec_proof) = (
        crate::common::wide_proof(rsa),
        crate::common::wide_proof(ec),
    );
    f.write("rsa-ocsp.der", &rsa_proof);
    f.write("ec-ocsp.der", &ec_proof);
    (f, rsa_proof, ec_proof)
}

pub(crate) fn two_key_config(f: &Fixture, ocsp: [&str; 2]) -> String {
    format!(
        "tls_certificate = {} : {}\ntls_privatekey = {} : {}\ntls_ocsp_file = {} : {}\n",
        f.p("rsa-chain.pem"),
        f.p("ec-chain.pem"),
        f.p("rsa-leaf.key"),
        f.p("ec-leaf.key"),
        f.p(ocsp[0]),
        f.p(ocsp[1]),
    )
}

#[test]
fn each_client_gets_the_proof_of_the_certificate_it_got() {
    capture_logs();
    let (f, rsa_proof, ec_proof) = two_key_fixture();
    let clock = TestClock::at_now();
    let p = provider(
        &two_key_config(&f, ["rsa-ocsp.der", "ec-ocsp.der"]),
        &clock,
        &[],
    );
    let server = server(p.clone());
    let rsa_leaf = &Pki::shared(KeyAlg::Rsa2048).leaf.der;
    let ec_leaf = &Pki::shared(KeyAlg::EcdsaP256).leaf.der;
    for version in [Version::Tls12, Version::Tls13] {
        let seen = handshake(
            &server,
            &client(version, ECDSA, true),
            Some("mail.example.test"),
        )
        .unwrap();
        assert_eq!(&seen.end_entity, ec_leaf, "{version:?}");
        assert_eq!(seen.ocsp, ec_proof, "{version:?}");
        let seen = handshake(
            &server,
            &client(version, RSA, true),
            Some("mail.example.test"),
        )
        .unwrap();
        assert_eq!(&seen.end_entity, rsa_leaf, "{version:?}");
        assert_eq!(seen.ocsp, rsa_proof, "{version:?}");
        // A client accepting both gets the first listed (RSA), with its proof.
        let seen = handshake(
            &server,
            &client(version, &[], true),
            Some("mail.example.test"),
        )
        .unwrap();
        assert_eq!(&seen.end_entity, rsa_leaf, "{version:?}");
        assert_eq!(seen.ocsp, rsa_proof, "{version:?}");
    }
    let st = p.status();
    assert_eq!(st.len(), 2);
    assert!(
        st.iter()
            .all(|s| s.state == StapleState::Serving && s.serial == "1001")
    );
    assert_eq!(st[0].stapled_handshakes, 4);
    assert_eq!(st[1].stapled_handshakes, 2);
}

#[test]
fn swapped_proofs_with_equal_serials_are_refused() {
    capture_logs();
    let (f, _, _) = two_key_fixture();
    let clock = TestClock::at_now();
    let p = provider(
        &two_key_config(&f, ["ec-ocsp.der", "rsa-ocsp.der"]),
        &clock,
        &[],
    );
    let server = server(p.clone());
    for schemes in [ECDSA, RSA] {
        let seen = handshake(
            &server,
            &client(Version::Tls13, schemes, true),
            Some("mail.example.test"),
        )
        .unwrap();
        assert!(seen.ocsp.is_empty());
    }
    for s in p.status() {
        assert_eq!(s.state, StapleState::NoValidProof);
        let why = s.last_rejection.unwrap();
        assert!(why.contains("issued by") || why.contains("issuer"), "{why}");
    }
}
