//! The full matrix through real rustls handshakes in memory, TLS 1.2 and 1.3:
//! mode (not requested, request, require) x staple (none, good, revoked, unknown, expired, not yet
//! valid, another certificate's, bad signature, unauthorized signer, signer expired, garbage)
//! -> `$tls_out_ocsp`, pass or fail, and message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{connect, pki, server_config, standard_client, standard_server};
use mailstaple_policy::tls::PolicyClient;
use mailstaple_policy::{Decision, Delivery, Mode, OcspStatus, TrustStore};
use mailstaple_testpki::{DAY, Defect, NOW, Signer, Status};
use rustls::SupportedProtocolVersion;
use rustls::version::{TLS12, TLS13};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Staple {
    None,
    Good,
    Revoked,
    Unknown,
    Expired,
    NotYetValid,
    OtherCertificate,
    BadSignature,
    UnauthorizedSigner,
    SignerExpired,
    Garbage,
}

const STAPLES: [Staple; 11] = [
    Staple::None,
    Staple::Good,
    Staple::Revoked,
    Staple::Unknown,
    Staple::Expired,
    Staple::NotYetValid,
    Staple::OtherCertificate,
    Staple::BadSignature,
    Staple::UnauthorizedSigner,
    Staple::SignerExpired,
    Staple::Garbage,
];

const MODES: [Mode; 3] = [Mode::NotRequested, Mode::Request, Mode::Require];

fn bytes(staple: Staple) -> Option<Vec<u8>> {
    let p = pki();
    let r = p.response();
    Some(match staple {
        Staple::None => return None,
        Staple::Good => r.build(),
        Staple::Revoked => r
            .status(Status::Revoked {
                time: NOW - DAY,
                reason: Some(1),
            })
            .build(),
        Staple::Unknown => r.status(Status::Unknown).build(),
        Staple::Expired => r
            .this_update(NOW - 10 * DAY)
            .next_update(Some(NOW - 2 * DAY))
            .build(),
        Staple::NotYetValid => r
            .this_update(NOW + DAY)
            .next_update(Some(NOW + 8 * DAY))
            .build(),
        Staple::OtherCertificate => r.cert(&p.other_leaf).build(),
        Staple::BadSignature => r.defect(Defect::BadSignature).build(),
        Staple::UnauthorizedSigner => r.signer(Signer::Delegated(&p.signer_no_eku)).build(),
        Staple::SignerExpired => r.signer(Signer::Delegated(&p.signer_expired)).build(),
        Staple::Garbage => b"this is not an OCSP response \x30\x03\x02\x01".to_vec(),
    })
}

/// The specification: `$tls_out_ocsp`, whether the delivery proceeds, and the start of the defer
/// message (with a fragment of the detail for unverifiable proofs).
fn expected(mode: Mode, staple: Staple) -> (u8, bool, &'static str, &'static str) {
    const UNVERIFIABLE: &str =
        "TLS session: (SSL_connect) Server certificate status response itself unverifiable: ";
    const STALE: &str = "TLS session: (SSL_connect) Server certificate status is out-of-date";
    let revoked = (
        3,
        false,
        "TLS session: (SSL_connect) Server certificate revoked; reason: keyCompromise",
        "",
    );
    match (mode, staple) {
        (Mode::NotRequested, _) => (0, true, "", ""),
        (_, Staple::Good) => (4, true, "", ""),
        (_, Staple::Revoked) => revoked,
        (Mode::Request, Staple::None) => (1, true, "", ""),
        (Mode::Request, _) => (3, true, "", ""),
        (_, Staple::None) => (
            1,
            false,
            "TLS session: (SSL_connect) Required TLS certificate status not received",
            "",
        ),
        (_, Staple::Unknown) => (
            3,
            false,
            "TLS session: (SSL_connect) Server certificate has unknown status",
            "",
        ),
        (_, Staple::Expired | Staple::NotYetValid) => (3, false, STALE, ""),
        (_, Staple::OtherCertificate) => {
            (3, false, UNVERIFIABLE, "no response for certificate serial")
        }
        (_, Staple::BadSignature) => (3, false, UNVERIFIABLE, "signature does not verify"),
        (_, Staple::UnauthorizedSigner) => (3, false, UNVERIFIABLE, "lacks the OCSPSigning"),
        (_, Staple::SignerExpired) => (3, false, UNVERIFIABLE, "responder certificate expired"),
        (_, Staple::Garbage) => (3, false, UNVERIFIABLE, "malformed OCSP response"),
    }
}

fn check(got: &Delivery, mode: Mode, staple: Staple, what: &str) {
    let (value, pass, prefix, fragment) = expected(mode, staple);
    assert_eq!(got.tls_out_ocsp().value(), value, "{what}: {got:?}");
    assert_eq!(got.is_proceed(), pass, "{what}: {got:?}");
    if let Delivery::Defer {
        message,
        clear_text_fallback,
        ..
    } = got
    {
        assert!(message.starts_with(prefix), "{what}: {message}");
        assert!(message.contains(fragment), "{what}: {message}");
        if prefix.ends_with(": ") {
            assert!(message.len() > prefix.len(), "{what}: no detail: {message}");
        } else {
            assert_eq!(message, prefix, "{what}");
        }
        assert!(
            !clear_text_fallback,
            "{what}: fixed decisions never fall back"
        );
    }
}

fn run_matrix(version: &'static SupportedProtocolVersion, name: &str) {
    let client = standard_client();
    let mut rows = Vec::new();
    for staple in STAPLES {
        let server = standard_server(bytes(staple), version);
        for mode in MODES {
            let (got, _) = connect(&client, Decision::fixed(mode), server.clone());
            let what = format!("{name} {mode} {staple:?}");
            rows.push(format!(
                "{name:7} {:13} {:18} ocsp {} {:7} {}",
                mode.to_string(),
                format!("{staple:?}"),
                got.tls_out_ocsp().value(),
                if got.is_proceed() { "pass" } else { "FAIL" },
                match &got {
                    Delivery::Defer { message, .. } => message.as_str(),
                    _ => "",
                }
            ));
            check(&got, mode, staple, &what);
        }
    }
    eprintln!("{}", rows.join("\n"));
}

#[test]
fn matrix_tls12() {
    run_matrix(&TLS12, "TLS1.2");
}

#[test]
fn matrix_tls13() {
    run_matrix(&TLS13, "TLS1.3");
}

/// A leaf issued directly by a trust anchor: the issuer comes from the trust store, as the
/// server presents no intermediate.
#[test]
fn issuer_from_trust_anchor() {
    let p = pki();
    let client = PolicyClient::new(
        TrustStore::from_der([p.intermediate.der.clone()]),
        common::provider(),
        common::fixed_now(),
    )
    .unwrap();
    for version in [&TLS12, &TLS13] {
        let server = server_config(&[&p.leaf.der], bytes(Staple::Good), version);
        let (got, _) = connect(&client, Decision::fixed(Mode::Require), server);
        assert_eq!(
            got,
            Delivery::Proceed {
                tls_out_ocsp: OcspStatus::Verified
            }
        );
        let server = server_config(&[&p.leaf.der], bytes(Staple::Revoked), version);
        let (got, _) = connect(&client, Decision::fixed(Mode::Request), server);
        check(
            &got,
            Mode::Request,
            Staple::Revoked,
            "anchor-issued revoked",
        );
    }
}

/// A proof signed by a delegated responder with the OCSPSigning EKU is good.
#[test]
fn delegated_signer_is_accepted() {
    let p = pki();
    let staple = p.response().signer(Signer::Delegated(&p.signer)).build();
    let (got, _) = connect(
        &standard_client(),
        Decision::fixed(Mode::Require),
        standard_server(Some(staple), &TLS13),
    );
    assert_eq!(got.tls_out_ocsp(), OcspStatus::Verified);
    assert!(got.is_proceed());
}

/// The clock is rustls' time provider: the same good proof is out-of-date when the client's
/// clock is 30 days later (chain still valid).
#[test]
fn now_comes_from_the_time_provider() {
    let p = pki();
    let later = PolicyClient::new(
        TrustStore::from_der([p.root.der.clone()]),
        common::provider(),
        std::sync::Arc::new(common::FixedTime(NOW + 30 * DAY)),
    )
    .unwrap();
    let (got, _) = connect(
        &later,
        Decision::fixed(Mode::Require),
        standard_server(bytes(Staple::Good), &TLS12),
    );
    assert_eq!(
        got,
        Delivery::Defer {
            tls_out_ocsp: OcspStatus::Failed,
            message: "TLS session: (SSL_connect) Server certificate status is out-of-date".into(),
            clear_text_fallback: false,
        }
    );
}

/// A chain the client does not trust fails before any staple is looked at, in every mode, and
/// the message is the TLS error, not an OCSP text.
#[test]
fn untrusted_chain_fails_first() {
    let p = pki();
    let client = PolicyClient::new(
        TrustStore::from_der([p.other_ca.der.clone()]),
        common::provider(),
        common::fixed_now(),
    )
    .unwrap();
    for mode in MODES {
        let (got, _) = connect(
            &client,
            Decision::fixed(mode),
            standard_server(bytes(Staple::Good), &TLS13),
        );
        match got {
            Delivery::Defer { message, .. } => {
                assert!(message.starts_with("TLS session: "), "{message}");
                assert!(!message.contains("(SSL_connect)"), "{message}");
            }
            other => panic!("{mode}: {other:?}"),
        }
    }
}

/// A server that adds a look-alike "issuer" (the intermediate's exact subject, a key the server
/// holds) and staples a proof signed by that key: webpki still builds the chain through the real
/// intermediate, and the look-alike is refused as the OCSP issuer because its key did not sign
/// the leaf. A lookup by subject alone would have accepted the proof as `good`.
#[test]
fn look_alike_issuer_is_refused() {
    let p = pki();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "mailstaple test PKI");
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "mailstaple test intermediate (p256)",
    );
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let der = params.self_signed(&key).unwrap().der().to_vec();
    let fake = mailstaple_testpki::Cert {
        der,
        key,
        alg: mailstaple_testpki::KeyAlg::EcdsaP256,
    };
    assert_eq!(fake.subject_der(), p.intermediate.subject_der());
    let staple = p.response().issuer(&fake).build();
    // The attack works against a subject-only issuer lookup ...
    let now = rustls::pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(NOW));
    let forged = mailstaple_verify::verify(
        &staple,
        &p.leaf.der,
        &fake.der,
        now,
        &mailstaple_verify::Policy::default(),
    )
    .unwrap();
    assert!(forged.is_good());
    // ... and not here.
    for version in [&TLS12, &TLS13] {
        let server = server_config(
            &[&p.leaf.der, &fake.der, &p.intermediate.der],
            Some(staple.clone()),
            version,
        );
        let (got, _) = connect(&standard_client(), Decision::fixed(Mode::Require), server);
        match got {
            Delivery::Defer {
                tls_out_ocsp,
                message,
                ..
            } => {
                assert_eq!(tls_out_ocsp, OcspStatus::Failed);
                assert!(
                    message.starts_with(
                        "TLS session: (SSL_connect) Server certificate status response itself unverifiable: "
                    ),
                    "{message}"
                );
            }
            other => panic!("{version:?}: {other:?}"),
        }
    }
}
