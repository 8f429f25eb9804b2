//! Unit tests for the reader, times, OIDs and requests.

use crate::reader::{Reader, tag};
use crate::*;

fn gt(s: &str) -> Result<Time, Error> {
    Time::parse_generalized(s.as_bytes(), "t")
}

#[test]
fn generalized_time_strict_and_fraction() {
    assert_eq!(gt("20260601000000Z").unwrap().unix(), 1_780_272_000);
    assert_eq!(gt("19700101000000Z").unwrap().unix(), 0);
    assert_eq!(
        gt("20000229235959Z").unwrap().to_string(),
        "2000-02-29T23:59:59Z"
    );
    // Fractions are truncated to the whole second.
    assert_eq!(gt("20260601000000.5Z").unwrap().unix(), 1_780_272_000);
    assert_eq!(
        gt("20260601000059.999999999Z").unwrap().unix(),
        1_780_272_059
    );
    for bad in [
        "20260601000000",
        "202606010000Z",
        "20260601000000+0000",
        "20260601000000.Z",
        "20260601000000.50Z",
        "20260601000000.1234567891Z",
        "20261301000000Z",
        "20260230000000Z",
        "20260601240000Z",
        "20260601000060Z",
        "2026060100000aZ",
        "19000229000000Z",
    ] {
        assert!(gt(bad).is_err(), "{bad} must be refused");
    }
}

#[test]
fn utc_time_window() {
    let t = |s: &str| Time::parse_utc(s.as_bytes(), "t").unwrap().to_string();
    assert_eq!(t("500101000000Z"), "1950-01-01T00:00:00Z");
    assert_eq!(t("491231235959Z"), "2049-12-31T23:59:59Z");
    assert!(Time::parse_utc(b"5001010000Z", "t").is_err());
}

#[test]
fn time_round_trips_through_civil() {
    for secs in [
        -86_400 * 365 * 70,
        -1,
        0,
        1,
        951_782_400,
        1_780_272_000,
        253_402_300_799,
    ] {
        let s = Time::from_unix(secs).to_string();
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        assert_eq!(gt(&format!("{digits}Z")).unwrap().unix(), secs, "{s}");
    }
}

#[test]
fn reader_refuses_non_der_lengths() {
    let check = |bytes: &[u8]| Reader::new(bytes).any("x").map(|t| t.value.len());
    assert_eq!(check(&[0x04, 0x01, 0xaa]), Ok(1));
    assert!(matches!(
        check(&[0x04, 0x81, 0x01, 0xaa]),
        Err(Error::BadEncoding { .. })
    ));
    assert!(matches!(
        check(&[0x30, 0x80, 0x00, 0x00]),
        Err(Error::BadEncoding { .. })
    ));
    assert!(matches!(
        check(&[0x04, 0x82, 0x00, 0x80]),
        Err(Error::BadEncoding { .. })
    ));
    assert!(matches!(
        check(&[0x04, 0x85, 1, 1, 1, 1, 1]),
        Err(Error::BadEncoding { .. })
    ));
    assert!(matches!(
        check(&[0x04, 0x02, 0xaa]),
        Err(Error::Truncated { .. })
    ));
    assert!(matches!(check(&[0x04]), Err(Error::Truncated { .. })));
    assert!(matches!(
        check(&[0x1f, 0x01, 0x00]),
        Err(Error::BadEncoding { .. })
    ));
    let long = [&[0x04, 0x81, 0x80][..], &[0u8; 0x80]].concat();
    assert_eq!(check(&long), Ok(0x80));
}

#[test]
fn integers_must_be_minimal() {
    let int = |v: &[u8]| {
        Reader::new(&[&[tag::INTEGER, v.len() as u8][..], v].concat())
            .integer("i")
            .map(<[u8]>::to_vec)
    };
    assert!(int(&[0x00, 0x7f]).is_err());
    assert!(int(&[0xff, 0x80]).is_err());
    assert!(int(&[]).is_err());
    assert_eq!(int(&[0x00, 0x80]).unwrap(), vec![0x00, 0x80]);
    assert!(serial_eq(&[0x00, 0x10], &[0x10]));
    assert!(serial_eq(&[0x00, 0x80], &[0x00, 0x80]));
    assert!(!serial_eq(&[0x00, 0x80], &[0x80]));
    assert!(!serial_eq(&[0x10, 0x01], &[0x10, 0x02]));
}

#[test]
fn oids_render_dotted() {
    assert_eq!(oid_to_string(OID_OCSP_BASIC), "1.3.6.1.5.5.7.48.1.1");
    assert_eq!(
        oid_to_string(HashAlgorithm::Sha256.oid()),
        "2.16.840.1.101.3.4.2.1"
    );
    assert_eq!(
        oid_to_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
        "1.2.840.113549"
    );
    // Malformed contents render as hex rather than failing.
    assert_eq!(oid_to_string(&[0x2a, 0x86]), "2a86");
}

#[test]
fn response_status_values() {
    for (bytes, expect) in [
        (
            &[0x30, 0x03, 0x0a, 0x01, 0x01][..],
            Ok(ResponseStatus::MalformedRequest),
        ),
        (
            &[0x30, 0x03, 0x0a, 0x01, 0x03],
            Ok(ResponseStatus::TryLater),
        ),
        (
            &[0x30, 0x03, 0x0a, 0x01, 0x06],
            Ok(ResponseStatus::Unauthorized),
        ),
        (
            &[0x30, 0x03, 0x0a, 0x01, 0x04],
            Err(Error::UnknownResponseStatus(4)),
        ),
        (
            &[0x30, 0x03, 0x0a, 0x01, 0x00],
            Err(Error::MissingResponseBytes),
        ),
    ] {
        assert_eq!(OcspResponse::parse(bytes).map(|r| r.status), expect);
    }
    assert!(matches!(
        OcspResponse::parse(&[0x30, 0x03, 0x0a, 0x01, 0x01, 0x00]),
        Err(Error::TrailingData { .. })
    ));
    assert!(matches!(
        OcspResponse::parse(&[0x30, 0x03, 0x0a, 0x01, 0x01])
            .unwrap()
            .into_basic(),
        Err(Error::NotSuccessful(ResponseStatus::MalformedRequest))
    ));
}

#[test]
fn unknown_response_type_is_named() {
    // successful, responseBytes { 1.2.3, OCTET STRING {} }
    let bytes = [
        0x30, 0x0c, 0x0a, 0x01, 0x00, 0xa0, 0x07, 0x30, 0x05, 0x06, 0x01, 0x2a, 0x04, 0x00,
    ];
    assert_eq!(
        OcspResponse::parse(&bytes).err(),
        Some(Error::UnknownResponseType("1.2".into()))
    );
}

#[test]
fn request_round_trip() {
    let id = CertId {
        hash: HashAlgorithm::Sha256,
        issuer_name_hash: vec![1; 32],
        issuer_key_hash: vec![2; 32],
        serial: vec![0x00, 0x99],
    };
    let id1 = CertId {
        hash: HashAlgorithm::Sha1,
        issuer_name_hash: vec![3; 20],
        ..id.clone()
    };
    let der = build_request(&[id.clone(), id1.clone()], Some(&[7; 16]));
    let req = OcspRequest::parse(&der).unwrap();
    assert_eq!(req.cert_ids.len(), 2);
    assert!(req.cert_ids[0].matches_id(&id));
    assert!(req.cert_ids[1].matches_id(&id1));
    assert!(!req.cert_ids[0].matches_id(&id1));
    let nonce = req.nonce_extension().unwrap();
    assert_eq!(nonce.value, [&[0x04, 16][..], &[7; 16]].concat());
    assert!(!req.signed);
    let plain = build_request(&[id], None);
    assert!(
        OcspRequest::parse(&plain)
            .unwrap()
            .nonce_extension()
            .is_none()
    );
    assert!(OcspRequest::parse(&build_request(&[], None)).is_err());
}

#[test]
fn every_truncation_of_a_request_is_refused() {
    let id = CertId {
        hash: HashAlgorithm::Sha1,
        issuer_name_hash: vec![1; 20],
        issuer_key_hash: vec![2; 20],
        serial: vec![0x10, 0x01],
    };
    let der = build_request(&[id], Some(&[9; 8]));
    for cut in 0..der.len() {
        assert!(OcspRequest::parse(&der[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn encoded_responses_decode_back() {
    let id = CertId {
        hash: HashAlgorithm::Sha1,
        issuer_name_hash: vec![1; 20],
        issuer_key_hash: vec![2; 20],
        serial: vec![0x10, 0x01],
    };
    let t0 = Time::from_unix(1_780_272_000);
    let t1 = Time::from_unix(1_780_272_000 + 86_400);
    let revoked = CertStatus::Revoked {
        time: t0,
        reason: Some(CrlReason(1)),
    };
    let singles = [
        SingleSpec::new(&id, CertStatus::Good, t0, Some(t1)),
        SingleSpec::new(&id, revoked, t0, None),
    ];
    let name = [0x30, 0x00];
    let tbs = encode_response_data(
        ResponderIdSpec::ByName(&name),
        t0,
        &singles,
        Some(&[0x04, 0x02, 9, 9]),
    );
    let alg = [
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
    ];
    let cert = [0x30, 0x00];
    let der = encode_response(&encode_basic_response(&tbs, &alg, &[0xaa; 8], &[&cert]));
    let basic = OcspResponse::parse(&der).unwrap().into_basic().unwrap();
    assert_eq!(basic.tbs_raw, tbs.as_slice());
    assert_eq!(basic.responder_id, ResponderId::ByName(&name));
    assert_eq!(basic.produced_at, t0);
    assert_eq!(basic.signature, &[0xaa; 8]);
    assert_eq!(
        basic.signature_algorithm.oid_string(),
        "1.2.840.10045.4.3.2"
    );
    assert_eq!(basic.certs, vec![&cert[..]]);
    assert_eq!(basic.nonce(), Some(&[9u8, 9][..]));
    assert_eq!(basic.responses.len(), 2);
    assert!(basic.responses[0].cert_id.matches_id(&id));
    assert_eq!(basic.responses[0].next_update, Some(t1));
    assert_eq!(basic.responses[1].status, revoked);
    assert_eq!(basic.responses[1].next_update, None);
    let err = encode_error_response(ResponseStatus::MalformedRequest);
    assert_eq!(
        OcspResponse::parse(&err).unwrap().status,
        ResponseStatus::MalformedRequest
    );
}
