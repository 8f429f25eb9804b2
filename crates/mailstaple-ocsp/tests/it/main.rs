//! The decoder against the independent test-PKI encoder, against rasn-ocsp, and under mutation.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use mailstaple_ocsp::{
    CertId, CertStatus, CertView, CrlReason, HashAlgorithm, OcspResponse, ResponderId,
    ResponseStatus, Time, hex,
};
use mailstaple_testpki::{
    DAY, Defect, HOUR, HashAlg, KeyAlg, NOW, Pki, PkiOptions, ResponderIdKind, Signer, Status,
};
use proptest::prelude::*;

fn t(secs: u64) -> Time {
    Time::from_unix(secs as i64)
}

#[test]
fn decodes_what_the_test_pki_builds() {
    for alg in KeyAlg::ALL {
        let pki = Pki::shared(alg);
        let leaf = CertView::parse(&pki.leaf.der).unwrap();
        let issuer = CertView::parse(&pki.intermediate.der).unwrap();
        let signer = CertView::parse(&pki.signer.der).unwrap();
        for (kind, delegated) in [
            (ResponderIdKind::ByKeyHash, false),
            (ResponderIdKind::ByName, true),
        ] {
            let mut b = pki.response().responder_id(kind).nonce(vec![5; 16]);
            if delegated {
                b = b.signer(Signer::Delegated(&pki.signer));
            }
            let der = b.build();
            let basic = OcspResponse::parse(&der).unwrap().into_basic().unwrap();
            assert_eq!(basic.version, 0);
            assert_eq!(basic.produced_at, t(NOW - HOUR));
            assert_eq!(basic.certs.len(), usize::from(delegated));
            if delegated {
                assert_eq!(basic.certs[0], pki.signer.der.as_slice());
                assert_eq!(basic.responder_id, ResponderId::ByName(signer.subject));
            } else {
                let key_hash = HashAlgorithm::Sha1.digest(issuer.public_key);
                assert_eq!(basic.responder_id, ResponderId::ByKeyHash(&key_hash));
            }
            assert_eq!(basic.nonce(), Some(&[5u8; 16][..]));
            assert_eq!(basic.responses.len(), 1);
            let single = &basic.responses[0];
            assert_eq!(single.status, CertStatus::Good);
            assert_eq!(single.this_update, t(NOW - HOUR));
            assert_eq!(single.next_update, Some(t(NOW + 7 * DAY)));
            assert!(single.cert_id.matches(&leaf, &issuer).unwrap());
            assert!(
                single
                    .cert_id
                    .matches_id(&CertId::new(&leaf, &issuer, HashAlgorithm::Sha1))
            );
            assert!(!single.cert_id.matches_id(&CertId::new(
                &leaf,
                &issuer,
                HashAlgorithm::Sha256
            )));
            // The tbs bytes are exactly the first element of the BasicOCSPResponse.
            let pos = der
                .windows(basic.tbs_raw.len())
                .position(|w| w == basic.tbs_raw)
                .unwrap();
            assert!(pos > 0);
        }
    }
}

#[test]
fn statuses_hashes_and_several_responses() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let leaf = CertView::parse(&pki.leaf.der).unwrap();
    let issuer = CertView::parse(&pki.intermediate.der).unwrap();
    let der = pki
        .response()
        .hash(HashAlg::Sha256)
        .status(Status::Revoked {
            time: NOW - DAY,
            reason: Some(4),
        })
        .extra_single(vec![0x10, 0x02], Status::Unknown)
        .extra_single(
            vec![0x00, 0x99],
            Status::Revoked {
                time: NOW - 2 * DAY,
                reason: None,
            },
        )
        .next_update(None)
        .build();
    let basic = OcspResponse::parse(&der).unwrap().into_basic().unwrap();
    assert_eq!(basic.responses.len(), 3);
    let main = &basic.responses[0];
    assert_eq!(main.cert_id.hash(), Some(HashAlgorithm::Sha256));
    assert!(main.cert_id.matches(&leaf, &issuer).unwrap());
    assert_eq!(
        main.status,
        CertStatus::Revoked {
            time: t(NOW - DAY),
            reason: Some(CrlReason(4))
        }
    );
    assert_eq!(CrlReason(4).to_string(), "superseded");
    assert_eq!(main.next_update, None);
    assert_eq!(basic.responses[1].status, CertStatus::Unknown);
    assert_eq!(hex(basic.responses[1].cert_id.serial), "1002");
    assert_eq!(
        basic.responses[2].status,
        CertStatus::Revoked {
            time: t(NOW - 2 * DAY),
            reason: None
        }
    );
    assert_eq!(hex(basic.responses[2].cert_id.serial), "0099");
}

#[test]
fn tolerated_and_refused_defects() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let explicit = pki
        .response()
        .defect(Defect::ExplicitDefaultVersion)
        .build();
    let basic = OcspResponse::parse(&explicit)
        .unwrap()
        .into_basic()
        .unwrap();
    assert_eq!(basic.version, 0);
    // The explicit version stays in the signed bytes: [0] { INTEGER 0 } right after the header.
    assert!(
        basic
            .tbs_raw
            .windows(5)
            .any(|w| w == [0xa0, 0x03, 0x02, 0x01, 0x00])
    );

    let fraction = pki.response().defect(Defect::FractionalSeconds).build();
    let basic = OcspResponse::parse(&fraction)
        .unwrap()
        .into_basic()
        .unwrap();
    assert_eq!(basic.produced_at, t(NOW - HOUR), "fraction truncated");
    assert_eq!(basic.responses[0].this_update, t(NOW - HOUR));

    for d in [Defect::MalformedDer, Defect::TrailingData] {
        assert!(
            OcspResponse::parse(&pki.response().defect(d).build()).is_err(),
            "{d:?}"
        );
    }
    for s in [1u8, 2, 3, 5, 6] {
        let der = pki.response().response_status(s).build();
        let r = OcspResponse::parse(&der).unwrap();
        assert_eq!(r.status.value(), s);
        assert!(r.basic.is_none());
    }
    assert_eq!(
        OcspResponse::parse(&pki.response().response_status(3).build())
            .unwrap()
            .status,
        ResponseStatus::TryLater
    );
}

#[test]
fn every_truncation_and_extension_is_refused() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let der = pki
        .response()
        .signer(Signer::Delegated(&pki.signer))
        .nonce(vec![1; 8])
        .build();
    for cut in 0..der.len() {
        assert!(OcspResponse::parse(&der[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = der.clone();
    longer.push(0);
    assert!(OcspResponse::parse(&longer).is_err());
}

#[test]
fn certificate_view() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let leaf = CertView::parse(&pki.leaf.der).unwrap();
    assert_eq!(leaf.ocsp_urls().unwrap(), vec!["http://127.0.0.1:8888/"]);
    assert!(!leaf.must_staple().unwrap());
    assert_eq!(hex(leaf.serial), "1001");
    assert_eq!(leaf.not_before, t(NOW - 30 * DAY));
    assert_eq!(leaf.not_after, t(NOW + 90 * DAY));
    assert!(
        mailstaple_ocsp::name_to_string(leaf.subject)
            .unwrap()
            .contains("CN=mail.example.test")
    );
    let signer = CertView::parse(&pki.signer.der).unwrap();
    assert!(signer.is_ocsp_signer().unwrap());
    assert!(signer.has_ocsp_nocheck());
    assert!(
        !CertView::parse(&pki.signer_no_eku.der)
            .unwrap()
            .is_ocsp_signer()
            .unwrap()
    );

    let mut opts = PkiOptions::new(KeyAlg::Ed25519);
    opts.must_staple = true;
    opts.ocsp_url = None;
    let quiet = Pki::with_options(opts);
    let leaf = CertView::parse(&quiet.leaf.der).unwrap();
    assert!(leaf.must_staple().unwrap());
    assert!(
        leaf.ocsp_urls().unwrap().is_empty(),
        "no OCSP URL is a normal, quiet case"
    );
}

/// rasn-ocsp, decoding the same bytes, must agree on every field we expose.
#[test]
fn agrees_with_rasn_ocsp() {
    for alg in KeyAlg::ALL {
        let pki = Pki::shared(alg);
        let variants = [
            pki.response().build(),
            pki.response()
                .signer(Signer::Delegated(&pki.signer))
                .responder_id(ResponderIdKind::ByName)
                .build(),
            pki.response()
                .status(Status::Revoked {
                    time: NOW - DAY,
                    reason: Some(1),
                })
                .hash(HashAlg::Sha256)
                .build(),
            pki.response()
                .status(Status::Unknown)
                .next_update(None)
                .extra_single(vec![0x42], Status::Good)
                .build(),
        ];
        for der in variants {
            compare_with_rasn(&der);
        }
    }
}

fn rasn_int_contents(i: &rasn::types::Integer) -> Vec<u8> {
    let tlv = rasn::der::encode(i).unwrap();
    tlv[2..].to_vec()
}

fn compare_with_rasn(der: &[u8]) {
    let ours = OcspResponse::parse(der).unwrap();
    let theirs: rasn_ocsp::OcspResponse = rasn::der::decode(der).unwrap();
    assert_eq!(ours.status.value(), theirs.status as u8);
    let basic = ours.into_basic().unwrap();
    let rb = theirs.bytes.unwrap();
    let tb: rasn_ocsp::BasicOcspResponse = rasn::der::decode(&rb.response).unwrap();
    assert_eq!(basic.signature, tb.signature.as_raw_slice());
    assert_eq!(basic.certs.len(), tb.certs.as_ref().map_or(0, Vec::len));
    assert_eq!(
        basic.produced_at.unix(),
        tb.tbs_response_data.produced_at.timestamp()
    );
    assert_eq!(
        basic.tbs_raw,
        rasn::der::encode(&tb.tbs_response_data).unwrap().as_slice()
    );
    let theirs_singles = &tb.tbs_response_data.responses;
    assert_eq!(basic.responses.len(), theirs_singles.len());
    for (a, b) in basic.responses.iter().zip(theirs_singles) {
        assert_eq!(
            a.cert_id.serial,
            rasn_int_contents(&b.cert_id.serial_number).as_slice()
        );
        assert_eq!(a.cert_id.issuer_name_hash, &b.cert_id.issuer_name_hash[..]);
        assert_eq!(a.cert_id.issuer_key_hash, &b.cert_id.issuer_key_hash[..]);
        assert_eq!(a.this_update.unix(), b.this_update.timestamp());
        assert_eq!(
            a.next_update.map(Time::unix),
            b.next_update.map(|n| n.timestamp())
        );
        match (&a.status, &b.cert_status) {
            (CertStatus::Good, rasn_ocsp::CertStatus::Good) => {}
            (CertStatus::Unknown, rasn_ocsp::CertStatus::Unknown(_)) => {}
            (CertStatus::Revoked { time, reason }, rasn_ocsp::CertStatus::Revoked(info)) => {
                assert_eq!(time.unix(), info.revocation_time.timestamp());
                assert_eq!(reason.map(|r| r.0), info.revocation_reason.map(|r| r as u8));
            }
            (x, y) => panic!("status differs: {x:?} vs {y:?}"),
        }
    }
}

fn arb_status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Good),
        Just(Status::Unknown),
        (
            0u64..10 * DAY,
            proptest::option::of(prop_oneof![0u8..=6, 8u8..=10])
        )
            .prop_map(|(ago, reason)| Status::Revoked {
                time: NOW - ago,
                reason
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Build with arbitrary knobs, parse, and get every knob back.
    #[test]
    fn build_then_parse_round_trips(
        status in arb_status(),
        this_ago in 0u64..30 * DAY,
        validity in proptest::option::of(1u64..30 * DAY),
        sha256 in any::<bool>(),
        by_name in any::<bool>(),
        // Positive serials with a minimal encoding: first octet 0x01..=0x7f.
        extra in proptest::collection::vec(((1u8..0x80, proptest::collection::vec(any::<u8>(), 0..19)), arb_status()), 0..4),
        nonce in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..33)),
    ) {
        let pki = Pki::shared(KeyAlg::EcdsaP256);
        let this_update = NOW - this_ago;
        let next_update = validity.map(|v| this_update + v);
        let mut b = pki.response()
            .status(status)
            .this_update(this_update)
            .next_update(next_update)
            .hash(if sha256 { HashAlg::Sha256 } else { HashAlg::Sha1 })
            .responder_id(if by_name { ResponderIdKind::ByName } else { ResponderIdKind::ByKeyHash });
        let extra: Vec<(Vec<u8>, Status)> = extra.into_iter().map(|((first, rest), st)| ([vec![first], rest].concat(), st)).collect();
        for (serial, st) in &extra {
            b = b.extra_single(serial.clone(), *st);
        }
        if let Some(n) = &nonce {
            b = b.nonce(n.clone());
        }
        let der = b.build();
        let basic = OcspResponse::parse(&der).unwrap().into_basic().unwrap();
        prop_assert_eq!(basic.responses.len(), 1 + extra.len());
        prop_assert_eq!(basic.nonce(), nonce.as_deref());
        let main = &basic.responses[0];
        prop_assert_eq!(main.this_update, t(this_update));
        prop_assert_eq!(main.next_update, next_update.map(t));
        prop_assert_eq!(main.status, convert(status));
        for ((serial, st), single) in extra.iter().zip(&basic.responses[1..]) {
            prop_assert!(mailstaple_ocsp::serial_eq(single.cert_id.serial, serial));
            prop_assert_eq!(single.status, convert(*st));
        }
        compare_with_rasn(&der);
    }

    /// Mutated bytes never panic (and whatever still parses is self-consistent).
    #[test]
    fn mutations_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let pki = Pki::shared(KeyAlg::EcdsaP256);
        let mut der = pki.response().signer(Signer::Delegated(&pki.signer)).nonce(vec![3; 8]).build();
        for (at, byte) in flips {
            let i = at.index(der.len());
            der[i] ^= byte;
        }
        if truncate {
            der.truncate(cut.index(der.len() + 1));
        }
        mailstaple_ocsp::fuzzing::parse(&der);
    }
}

fn convert(s: Status) -> CertStatus {
    match s {
        Status::Good => CertStatus::Good,
        Status::Unknown => CertStatus::Unknown,
        Status::Revoked { time, reason } => CertStatus::Revoked {
            time: t(time),
            reason: reason.map(CrlReason),
        },
    }
}

/// Every minimised fuzz finding for `ocsp_parse` is replayed here by plain `cargo test`.
#[test]
fn fuzz_regressions_replay() {
    for (_, data) in mailstaple_testpki::fuzz_regressions("ocsp_parse") {
        mailstaple_ocsp::fuzzing::parse(&data);
    }
}

/// Regression (fuzzing): a certificate serial with a redundant leading zero must still give a
/// request that decodes, with the minimal serial.
#[test]
fn r_fuzz_non_minimal_certificate_serial() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let issuer = CertView::parse(&pki.intermediate.der).unwrap();
    let mut leaf = CertView::parse(&pki.leaf.der).unwrap();
    let padded = [0x00, 0x10, 0x01];
    leaf.serial = &padded;
    let id = CertId::new(&leaf, &issuer, HashAlgorithm::Sha1);
    assert_eq!(id.serial, vec![0x10, 0x01]);
    let req = mailstaple_ocsp::build_request(std::slice::from_ref(&id), None);
    assert!(mailstaple_ocsp::OcspRequest::parse(&req).unwrap().cert_ids[0].matches_id(&id));

    // Found by the campaign: a negative serial with a redundant leading 0xff (RFC 5280 forbids
    // negative serials; certificates in the wild have them) is minimised the same way.
    for (padded, minimal) in [
        (&[0xff, 0xff][..], &[0xff][..]),
        (&[0xff, 0xff, 0x80, 0x01], &[0x80, 0x01]),
        (&[0xff, 0x7f], &[0xff, 0x7f]),
        (&[0x00, 0x80], &[0x00, 0x80]),
        (&[0x00], &[0x00]),
    ] {
        leaf.serial = padded;
        let id = CertId::new(&leaf, &issuer, HashAlgorithm::Sha1);
        assert_eq!(id.serial, minimal, "{padded:02x?}");
        let req = mailstaple_ocsp::build_request(std::slice::from_ref(&id), None);
        assert!(
            mailstaple_ocsp::OcspRequest::parse(&req).unwrap().cert_ids[0].matches_id(&id),
            "{padded:02x?}"
        );
    }
}
