//! The defect matrix: every knob of the test PKI's response builder against `verify`.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use mailstaple_ocsp::{CertView, CrlReason, Time};
use mailstaple_testpki::{
    DAY, Defect, HOUR, HashAlg, KeyAlg, NOW, Pki, ResponderIdKind, ResponseBuilder, SigAlg,
    Signer as TSigner, Status as TStatus,
};
use mailstaple_verify::{
    Error, KNOWN_EXTENSIONS, Policy, SignedPart, Signer, Status, verify, verify_for_issuer,
};
use rustls_pki_types::UnixTime;

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

fn t(secs: u64) -> Time {
    Time::from_unix(secs as i64)
}

/// What a case must produce.
#[derive(Debug)]
enum Expect {
    Good,
    Revoked(Option<u8>),
    Unknown,
    Err(fn(&Error) -> bool),
}

/// The single check helper: build, verify at `now` with `policy`, compare.
fn check_with(
    pki: &Pki,
    name: &str,
    b: ResponseBuilder<'_>,
    now: u64,
    policy: &Policy,
    expect: Expect,
) {
    let der = b.build();
    let got = verify(&der, &pki.leaf.der, &pki.intermediate.der, at(now), policy);
    match (&expect, &got) {
        (Expect::Good, Ok(s)) if s.status() == Status::Good => {}
        (Expect::Unknown, Ok(s)) if s.status() == Status::Unknown => {}
        (Expect::Revoked(r), Ok(s)) if matches!(s.status(), Status::Revoked { reason, .. } if reason == r.map(CrlReason)) =>
            {}
        (Expect::Err(f), Err(e)) if f(e) => {}
        _ => panic!(
            "{name} ({:?}): expected {expect:?}, got {got:?}",
            pki.leaf.alg
        ),
    }
    if let Ok(s) = &got {
        assert_eq!(
            s.der(),
            der.as_slice(),
            "{name}: stapled bytes are the input"
        );
        assert!(s.check_current(at(now)).is_ok(), "{name}");
    }
}

fn check(pki: &Pki, name: &str, b: ResponseBuilder<'_>, expect: Expect) {
    check_with(pki, name, b, NOW, &Policy::default(), expect);
}

#[test]
fn every_algorithm_issuer_and_delegated() {
    for alg in KeyAlg::ALL {
        let pki = Pki::shared(alg);
        check(pki, "issuer good", pki.response(), Expect::Good);
        check(
            pki,
            "issuer by name",
            pki.response().responder_id(ResponderIdKind::ByName),
            Expect::Good,
        );
        check(
            pki,
            "delegated good",
            pki.response().signer(TSigner::Delegated(&pki.signer)),
            Expect::Good,
        );
        check(
            pki,
            "delegated by name",
            pki.response()
                .signer(TSigner::Delegated(&pki.signer))
                .responder_id(ResponderIdKind::ByName),
            Expect::Good,
        );
        check(
            pki,
            "revoked",
            pki.response().status(TStatus::Revoked {
                time: NOW - DAY,
                reason: Some(1),
            }),
            Expect::Revoked(Some(1)),
        );
        check(
            pki,
            "revoked without reason",
            pki.response().status(TStatus::Revoked {
                time: NOW - DAY,
                reason: None,
            }),
            Expect::Revoked(None),
        );
        check(
            pki,
            "unknown",
            pki.response().status(TStatus::Unknown),
            Expect::Unknown,
        );
        check(
            pki,
            "sha256 certid",
            pki.response().hash(HashAlg::Sha256),
            Expect::Good,
        );
        check(
            pki,
            "bad signature",
            pki.response().defect(Defect::BadSignature),
            Expect::Err(|e| *e == Error::BadSignature),
        );
    }
}

#[test]
fn defect_matrix() {
    for alg in [KeyAlg::EcdsaP256, KeyAlg::Rsa2048] {
        let pki = Pki::shared(alg);
        let delegated = |c| pki.response().signer(TSigner::Delegated(c));
        let cases: Vec<(&str, ResponseBuilder<'_>, Expect)> = vec![
            (
                "wrong responder id",
                pki.response().defect(Defect::WrongResponderId),
                Expect::Err(|e| matches!(e, Error::UnknownResponder { .. })),
            ),
            (
                "wrong issuer name hash",
                pki.response().defect(Defect::WrongIssuerNameHash),
                Expect::Err(
                    |e| matches!(e, Error::NoResponseForCertificate { detail, .. } if detail.contains("issuerNameHash")),
                ),
            ),
            (
                "wrong issuer key hash",
                pki.response().defect(Defect::WrongIssuerKeyHash),
                Expect::Err(
                    |e| matches!(e, Error::NoResponseForCertificate { detail, .. } if detail.contains("issuerKeyHash")),
                ),
            ),
            (
                "wrong serial",
                pki.response().defect(Defect::WrongSerial),
                Expect::Err(|e| matches!(e, Error::NoResponseForCertificate { .. })),
            ),
            (
                "signer without EKU",
                delegated(&pki.signer_no_eku),
                Expect::Err(|e| matches!(e, Error::SignerNotAuthorized { .. })),
            ),
            (
                "signer from another CA",
                delegated(&pki.rogue_signer),
                Expect::Err(|e| matches!(e, Error::SignerNotIssuedByIssuer { .. })),
            ),
            (
                "signer signed with another key",
                delegated(&pki.signer).defect(Defect::SignerOtherKey),
                Expect::Err(|e| *e == Error::BadSignature),
            ),
            (
                "delegated without embedded cert",
                delegated(&pki.signer).defect(Defect::NoEmbeddedSigner),
                Expect::Err(|e| matches!(e, Error::UnknownResponder { embedded: 0, .. })),
            ),
            (
                "signer expired",
                delegated(&pki.signer_expired),
                Expect::Err(|e| matches!(e, Error::SignerExpired { .. })),
            ),
            (
                "signer not yet valid",
                delegated(&pki.signer_not_yet_valid),
                Expect::Err(|e| matches!(e, Error::SignerNotYetValid { .. })),
            ),
            (
                "not yet valid",
                pki.response().this_update(NOW + HOUR),
                Expect::Err(|e| matches!(e, Error::NotYetValid { .. })),
            ),
            (
                "not yet valid within skew",
                pki.response().this_update(NOW + 200),
                Expect::Good,
            ),
            (
                "expired",
                pki.response()
                    .this_update(NOW - 8 * DAY)
                    .next_update(Some(NOW - HOUR)),
                Expect::Err(|e| matches!(e, Error::Expired { .. })),
            ),
            (
                "expired within skew",
                pki.response()
                    .this_update(NOW - 8 * DAY)
                    .next_update(Some(NOW - 200)),
                Expect::Good,
            ),
            (
                "no nextUpdate",
                pki.response().next_update(None),
                Expect::Err(|e| *e == Error::NoNextUpdate),
            ),
            (
                "nextUpdate before thisUpdate",
                pki.response()
                    .this_update(NOW - HOUR)
                    .next_update(Some(NOW - 2 * HOUR)),
                Expect::Err(|e| *e == Error::NextUpdateBeforeThisUpdate),
            ),
            (
                "malformed DER",
                pki.response().defect(Defect::MalformedDer),
                Expect::Err(|e| matches!(e, Error::Malformed(_))),
            ),
            (
                "trailing data",
                pki.response().defect(Defect::TrailingData),
                Expect::Err(|e| matches!(e, Error::Malformed(_))),
            ),
            (
                "explicit DEFAULT version",
                pki.response().defect(Defect::ExplicitDefaultVersion),
                Expect::Good,
            ),
            (
                "fractional seconds",
                pki.response().defect(Defect::FractionalSeconds),
                Expect::Good,
            ),
            (
                "several single responses",
                pki.response()
                    .extra_single(vec![0x10, 0x02], TStatus::Good)
                    .extra_single(vec![0x33], TStatus::Unknown),
                Expect::Good,
            ),
            ("nonce", pki.response().nonce(vec![9; 16]), Expect::Good),
        ];
        for (name, builder, expect) in cases {
            check(pki, name, builder, expect);
        }
        for status in [1u8, 2, 3, 5, 6] {
            check(
                pki,
                "not successful",
                pki.response().response_status(status),
                Expect::Err(|e| matches!(e, Error::NotSuccessful(_))),
            );
        }
    }
}

#[test]
fn signature_algorithms() {
    let rsa = Pki::shared(KeyAlg::Rsa2048);
    for sig in [
        SigAlg::RsaPkcs1Sha1,
        SigAlg::RsaPkcs1Sha256,
        SigAlg::RsaPkcs1Sha384,
        SigAlg::RsaPkcs1Sha512,
        SigAlg::RsaPssSha256,
        SigAlg::RsaPssSha384,
        SigAlg::RsaPssSha512,
    ] {
        check(
            rsa,
            &format!("{sig:?}"),
            rsa.response().sig_alg(sig),
            Expect::Good,
        );
    }
    let mut no_sha1 = Policy::default();
    no_sha1.allow_sha1 = false;
    check_with(
        rsa,
        "sha1 refused",
        rsa.response().sig_alg(SigAlg::RsaPkcs1Sha1),
        NOW,
        &no_sha1,
        Expect::Err(|e| *e == Error::Sha1Refused(SignedPart::Response)),
    );
    for (alg, sigs) in [
        (
            KeyAlg::EcdsaP256,
            [
                SigAlg::EcdsaSha256,
                SigAlg::EcdsaSha384,
                SigAlg::EcdsaSha512,
            ],
        ),
        (
            KeyAlg::EcdsaP384,
            [
                SigAlg::EcdsaSha256,
                SigAlg::EcdsaSha384,
                SigAlg::EcdsaSha512,
            ],
        ),
        (
            KeyAlg::EcdsaP521,
            [
                SigAlg::EcdsaSha256,
                SigAlg::EcdsaSha384,
                SigAlg::EcdsaSha512,
            ],
        ),
    ] {
        let pki = Pki::shared(alg);
        for sig in sigs {
            check(
                pki,
                &format!("{alg:?} {sig:?}"),
                pki.response().sig_alg(sig),
                Expect::Good,
            );
        }
    }
}

#[test]
fn signer_expiring_before_next_update_is_visible_and_then_invalid() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let der = pki
        .response()
        .signer(TSigner::Delegated(&pki.signer_short))
        .build();
    let signer_end = CertView::parse(&pki.signer_short.der).unwrap().not_after;
    let staple = verify(
        &der,
        &pki.leaf.der,
        &pki.intermediate.der,
        at(NOW),
        &Policy::default(),
    )
    .unwrap();
    assert_eq!(staple.next_update(), Some(t(NOW + 7 * DAY)));
    assert_eq!(staple.effective_expiry(), signer_end);
    assert!(staple.effective_expiry() < staple.next_update().unwrap());
    assert!(
        matches!(staple.signer(), Signer::Delegated { not_after, .. } if *not_after == signer_end)
    );
    // Served two days later: the proof's nextUpdate is still ahead, but its signer is gone.
    let later = NOW + 2 * DAY;
    assert!(matches!(
        staple.check_current(at(later)),
        Err(Error::SignerExpired { .. })
    ));
    let again = verify(
        &der,
        &pki.leaf.der,
        &pki.intermediate.der,
        at(later),
        &Policy::default(),
    );
    assert!(
        matches!(again, Err(Error::SignerExpired { .. })),
        "{again:?}"
    );
}

#[test]
fn effective_expiry_is_next_update_for_issuer_signed() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let der = pki.response().build();
    let staple = verify(
        &der,
        &pki.leaf.der,
        &pki.intermediate.der,
        at(NOW),
        &Policy::default(),
    )
    .unwrap();
    assert_eq!(staple.signer(), &Signer::Issuer);
    assert_eq!(staple.effective_expiry(), t(NOW + 7 * DAY));
    assert_eq!(staple.this_update(), t(NOW - HOUR));
    assert!(staple.check_current(at(NOW + 7 * DAY + 300)).is_ok());
    assert!(matches!(
        staple.check_current(at(NOW + 7 * DAY + 301)),
        Err(Error::Expired { .. })
    ));
    assert!(matches!(
        staple.check_current(at(NOW - HOUR - 301)),
        Err(Error::NotYetValid { .. })
    ));
}

#[test]
fn max_age_policy_for_responses_without_next_update() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let mut policy = Policy::default();
    policy.max_age_secs = Some(DAY);
    check_with(
        pki,
        "within max age",
        pki.response().next_update(None),
        NOW,
        &policy,
        Expect::Good,
    );
    policy.max_age_secs = Some(600);
    check_with(
        pki,
        "beyond max age",
        pki.response().next_update(None),
        NOW,
        &policy,
        Expect::Err(|e| matches!(e, Error::TooOld { .. })),
    );
}

#[test]
fn nonce_is_exposed() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let der = pki.response().nonce(vec![7; 16]).build();
    let staple = verify(
        &der,
        &pki.leaf.der,
        &pki.intermediate.der,
        at(NOW),
        &Policy::default(),
    )
    .unwrap();
    assert_eq!(staple.nonce(), Some(&[7u8; 16][..]));
}

#[test]
fn wrong_issuer_is_the_callers_fault() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let der = pki.response().build();
    let got = verify(
        &der,
        &pki.leaf.der,
        &pki.other_ca.der,
        at(NOW),
        &Policy::default(),
    );
    assert!(matches!(got, Err(Error::IssuerMismatch { .. })), "{got:?}");
    let got = verify(
        &der,
        b"not a certificate",
        &pki.intermediate.der,
        at(NOW),
        &Policy::default(),
    );
    assert!(matches!(got, Err(Error::BadCertificate(_))), "{got:?}");
}

#[test]
fn proof_for_another_certificate_of_the_same_issuer() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let der = pki.response().cert(&pki.other_leaf).build();
    let got = verify(
        &der,
        &pki.leaf.der,
        &pki.intermediate.der,
        at(NOW),
        &Policy::default(),
    );
    assert!(
        matches!(got, Err(Error::NoResponseForCertificate { .. })),
        "{got:?}"
    );
    assert!(
        verify(
            &der,
            &pki.other_leaf.der,
            &pki.intermediate.der,
            at(NOW),
            &Policy::default()
        )
        .is_ok()
    );
}

#[test]
fn worst_matching_single_response_wins() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let serial = CertView::parse(&pki.leaf.der).unwrap().serial.to_vec();
    let der = pki
        .response()
        .extra_single(
            serial,
            TStatus::Revoked {
                time: NOW - DAY,
                reason: Some(4),
            },
        )
        .build();
    let staple = verify(
        &der,
        &pki.leaf.der,
        &pki.intermediate.der,
        at(NOW),
        &Policy::default(),
    )
    .unwrap();
    assert!(matches!(
        staple.status(),
        Status::Revoked {
            reason: Some(CrlReason(4)),
            ..
        }
    ));
}

#[test]
fn issuer_mode_judges_every_response_naming_the_issuer() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let good = pki
        .response()
        .extra_single(vec![0x10, 0x02], TStatus::Good)
        .build();
    let v = verify_for_issuer(&good, &pki.intermediate.der, at(NOW), &Policy::default()).unwrap();
    assert_eq!(v.entries.len(), 2);
    assert_eq!(v.worst, Status::Good);
    let mixed = pki
        .response()
        .extra_single(vec![0x44], TStatus::Unknown)
        .build();
    assert_eq!(
        verify_for_issuer(&mixed, &pki.intermediate.der, at(NOW), &Policy::default())
            .unwrap()
            .worst,
        Status::Unknown
    );
    // Another issuer: the proof's responder is not that issuer, so nothing is authentic for it.
    let other = Pki::shared(KeyAlg::EcdsaP384);
    let got = verify_for_issuer(&good, &other.intermediate.der, at(NOW), &Policy::default());
    assert!(
        matches!(got, Err(Error::UnknownResponder { .. })),
        "{got:?}"
    );
}

/// Issue 13: a delegated responder certificate signed with sha1WithRSAEncryption (NULL or absent
/// parameters) is accepted by default, as OpenSSL and Exim accept it, and refused with the same
/// error as a SHA-1 response signature, naming which signature, when SHA-1 is off.
#[test]
fn sha1_signed_responder_certificate_follows_the_policy() {
    let rsa = Pki::shared(KeyAlg::Rsa2048);
    let mut no_sha1 = Policy::default();
    no_sha1.allow_sha1 = false;
    for absent in [false, true] {
        let signer = rsa
            .signer
            .resigned(&rsa.intermediate, SigAlg::RsaPkcs1Sha1, absent);
        let name = format!("sha1-signed responder certificate, absent params {absent}");
        check(
            rsa,
            &name,
            rsa.response().signer(TSigner::Delegated(&signer)),
            Expect::Good,
        );
        check_with(
            rsa,
            &name,
            rsa.response().signer(TSigner::Delegated(&signer)),
            NOW,
            &no_sha1,
            Expect::Err(|e| *e == Error::Sha1Refused(SignedPart::ResponderCertificate)),
        );
        // Both signatures SHA-1: the responder certificate is checked first and named.
        check_with(
            rsa,
            &name,
            rsa.response()
                .signer(TSigner::Delegated(&signer))
                .sig_alg(SigAlg::RsaPkcs1Sha1),
            NOW,
            &no_sha1,
            Expect::Err(|e| *e == Error::Sha1Refused(SignedPart::ResponderCertificate)),
        );
        // A bad issuer signature on a SHA-1 responder certificate is still caught.
        let forged = rsa
            .signer
            .resigned(&rsa.other_ca, SigAlg::RsaPkcs1Sha1, absent);
        check(
            rsa,
            &format!("{name}, signed by another CA's key"),
            rsa.response().signer(TSigner::Delegated(&forged)),
            Expect::Err(|e| matches!(e, Error::SignerNotIssuedByIssuer { .. })),
        );
    }
    // SHA-256-signed responder certificate with absent parameters (RFC 4055 §5).
    let signer = rsa
        .signer
        .resigned(&rsa.intermediate, SigAlg::RsaPkcs1Sha256, true);
    check(
        rsa,
        "sha256 responder certificate, absent params",
        rsa.response().signer(TSigner::Delegated(&signer)),
        Expect::Good,
    );
}

/// Issue 13: every RSA PKCS#1 response signature with its parameters absent verifies; SHA-1 only
/// while the policy allows it.
#[test]
fn rsa_pkcs1_with_absent_parameters() {
    let rsa = Pki::shared(KeyAlg::Rsa2048);
    for sig in [
        SigAlg::RsaPkcs1Sha1,
        SigAlg::RsaPkcs1Sha256,
        SigAlg::RsaPkcs1Sha384,
        SigAlg::RsaPkcs1Sha512,
    ] {
        let b = || rsa.response().sig_alg(sig).sig_alg_params_absent();
        assert_ne!(
            b().build(),
            rsa.response().sig_alg(sig).build(),
            "{sig:?}: the knob changes the encoding"
        );
        check(rsa, &format!("{sig:?} absent params"), b(), Expect::Good);
        check(
            rsa,
            &format!("{sig:?} absent params, bad signature"),
            b().defect(Defect::BadSignature),
            Expect::Err(|e| *e == Error::BadSignature),
        );
    }
    let mut no_sha1 = Policy::default();
    no_sha1.allow_sha1 = false;
    check_with(
        rsa,
        "sha1 absent params refused",
        rsa.response()
            .sig_alg(SigAlg::RsaPkcs1Sha1)
            .sig_alg_params_absent(),
        NOW,
        &no_sha1,
        Expect::Err(|e| *e == Error::Sha1Refused(SignedPart::Response)),
    );
}

/// Issue 13: the maximum age bounds responses with a nextUpdate too (Chromium's rule), and alone
/// bounds those without.
#[test]
fn max_age_bounds_every_response() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let mut week = Policy::default();
    week.max_age_secs = Some(7 * DAY);
    // thisUpdate 8 days ago, nextUpdate tomorrow: fine without max-age, too old with it.
    let old = || {
        pki.response()
            .this_update(NOW - 8 * DAY)
            .produced_at(NOW - 8 * DAY)
            .next_update(Some(NOW + DAY))
    };
    check(pki, "old but before nextUpdate", old(), Expect::Good);
    check_with(
        pki,
        "old, max-age a week",
        old(),
        NOW,
        &week,
        Expect::Err(|e| matches!(e, Error::TooOld { max_age, .. } if *max_age == 7 * DAY)),
    );
    // The skew applies: exactly max-age + skew is still fine, one second more is not.
    let edge = NOW - HOUR;
    check_with(
        pki,
        "at max-age plus skew",
        pki.response(),
        edge + 7 * DAY + 300,
        &week,
        Expect::Good,
    );
    check_with(
        pki,
        "one second beyond",
        pki.response(),
        edge + 7 * DAY + 301,
        &week,
        Expect::Err(|e| matches!(e, Error::TooOld { .. })),
    );
    // The effective expiry is the earlier of nextUpdate and thisUpdate + max-age.
    let mut day = Policy::default();
    day.max_age_secs = Some(DAY);
    let der = pki.response().build();
    let staple = verify(&der, &pki.leaf.der, &pki.intermediate.der, at(NOW), &day).unwrap();
    assert_eq!(staple.effective_expiry(), t(NOW - HOUR + DAY));
    assert!(staple.check_current(at(NOW - HOUR + DAY + 300)).is_ok());
    assert!(matches!(
        staple.check_current(at(NOW - HOUR + DAY + 301)),
        Err(Error::TooOld { .. })
    ));
    // Without nextUpdate: refused without max-age (the message names the setting), bounded
    // by it with.
    let err = verify(
        &pki.response().next_update(None).build(),
        &pki.leaf.der,
        &pki.intermediate.der,
        at(NOW),
        &Policy::default(),
    )
    .unwrap_err();
    assert_eq!(err, Error::NoNextUpdate);
    assert!(err.to_string().contains("max-age"), "{err}");
    let staple = verify(
        &pki.response().next_update(None).build(),
        &pki.leaf.der,
        &pki.intermediate.der,
        at(NOW),
        &day,
    )
    .unwrap();
    assert_eq!(staple.effective_expiry(), t(NOW - HOUR + DAY));
}

/// Issue 13: producedAt outside the certificate's validity is refused, with the skew.
#[test]
fn produced_at_within_certificate_validity() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let leaf = CertView::parse(&pki.leaf.der).unwrap();
    let not_before = u64::try_from(leaf.not_before.unix()).unwrap();
    let not_after = u64::try_from(leaf.not_after.unix()).unwrap();
    check(
        pki,
        "produced at notBefore minus skew",
        pki.response()
            .produced_at(not_before - 300)
            .this_update(not_before - 300),
        Expect::Good,
    );
    check(
        pki,
        "produced before the certificate",
        pki.response()
            .produced_at(not_before - 301)
            .this_update(not_before - 301)
            .next_update(Some(NOW + DAY)),
        Expect::Err(|e| matches!(e, Error::ProducedBeforeCertificate { .. })),
    );
    // After notAfter: checked at a time when the response itself is current.
    let late = not_after + 301;
    check_with(
        pki,
        "produced after the certificate",
        pki.response()
            .produced_at(late)
            .this_update(late)
            .next_update(Some(late + DAY)),
        late + 60,
        &Policy::default(),
        Expect::Err(|e| matches!(e, Error::ProducedAfterCertificate { .. })),
    );
    check_with(
        pki,
        "produced at notAfter plus skew",
        pki.response()
            .produced_at(not_after + 300)
            .this_update(not_after + 300)
            .next_update(Some(not_after + DAY)),
        not_after + 360,
        &Policy::default(),
        Expect::Good,
    );
    let e = Error::ProducedBeforeCertificate {
        produced_at: t(not_before - 301),
        not_before: leaf.not_before,
    };
    assert!(
        e.to_string().contains("before the certificate's notBefore"),
        "{e}"
    );
}

/// Issue 13: the known extensions are accepted even when critical; anything else critical is
/// refused as before; non-critical unknown ones are ignored.
#[test]
fn known_extensions_accepted_when_critical() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let sct: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 5];
    // An SCT list's extnValue is an OCTET STRING wrapping the TLS-encoded list (RFC 6962 §3.3).
    let sct_value = vec![0x04, 0x02, 0x00, 0x00];
    check(
        pki,
        "critical SCT list in a SingleResponse",
        pki.response()
            .single_extension(sct, true, sct_value.clone()),
        Expect::Good,
    );
    check(
        pki,
        "critical archive cutoff in responseExtensions",
        pki.response().response_extension(
            &[1, 3, 6, 1, 5, 5, 7, 48, 1, 6],
            true,
            vec![
                0x18, 0x0f, b'2', b'0', b'2', b'0', b'0', b'1', b'0', b'1', b'0', b'0', b'0', b'0',
                b'0', b'0', b'Z',
            ],
        ),
        Expect::Good,
    );
    for (place, critical) in [("single", true), ("response", true)] {
        let unknown: &[u64] = &[1, 2, 3, 4];
        let b = if place == "single" {
            pki.response()
                .single_extension(unknown, critical, vec![0x05, 0x00])
        } else {
            pki.response()
                .response_extension(unknown, critical, vec![0x05, 0x00])
        };
        check(
            pki,
            &format!("critical unknown in {place}"),
            b,
            Expect::Err(|e| *e == Error::UnknownCriticalExtension("1.2.3.4".into())),
        );
    }
    check(
        pki,
        "non-critical unknown",
        pki.response()
            .single_extension(&[1, 2, 3, 4], false, vec![0x05, 0x00]),
        Expect::Good,
    );
    // The table holds what RFC 6960 §4.4 and RFC 6962 define, each with a name to show.
    assert_eq!(KNOWN_EXTENSIONS.len(), 9);
    for oid in KNOWN_EXTENSIONS {
        assert!(
            mailstaple_ocsp::oid_name(oid).is_some(),
            "{oid:?} has a name"
        );
    }
}
