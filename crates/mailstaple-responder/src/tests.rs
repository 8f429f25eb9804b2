//! Tests of the sans-IO core and the HTTP mapping against the test PKI, at its fixed now.
//! Signatures are checked with aws-lc-rs directly, independently of the code under test.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use mailstaple_ocsp::{
    BasicResponse, CertId, CertStatus, CertView, CrlReason, HashAlgorithm, OcspResponse,
    ResponderId, ResponseStatus, Time, build_request,
};
use mailstaple_testpki::{Cert, DAY, HOUR, KeyAlg, NOW, Pki};

use super::*;
use crate::http;
use mailstaple_ocsp::base64;
use std::sync::Arc;

fn now() -> Time {
    Time::from_unix(NOW as i64)
}

fn at(secs: u64) -> Time {
    Time::from_unix(secs as i64)
}

/// leaf (1001) good, other_leaf (1002) revoked with keyCompromise, 0FFE expired.
const INDEX: &[u8] = b"V\t260830000000Z\t\t1001\tunknown\t/O=mailstaple test PKI/CN=mail.example.test\n\
    R\t260830000000Z\t260520000000Z,keyCompromise\t1002\tunknown\t/O=mailstaple test PKI/CN=other.example.test\n\
    E\t250101000000Z\t\t0FFE\tunknown\t/CN=old\n";

fn key_of(cert: &Cert) -> SigningKey {
    SigningKey::from_file_contents(cert.key_pem().as_bytes()).unwrap()
}

fn delegated(pki: &Pki, config: &ResponderConfig) -> Responder {
    Responder::new(
        &pki.intermediate.der,
        Some(&pki.signer.der),
        key_of(&pki.signer),
        Index::parse(INDEX).unwrap(),
        config,
        now(),
    )
    .unwrap()
}

fn by_ca(pki: &Pki) -> Responder {
    Responder::new(
        &pki.intermediate.der,
        None,
        key_of(&pki.intermediate),
        Index::parse(INDEX).unwrap(),
        &ResponderConfig::default(),
        now(),
    )
    .unwrap()
}

fn id(pki: &Pki, cert: &Cert, hash: HashAlgorithm) -> CertId {
    CertId::new(
        &CertView::parse(&cert.der).unwrap(),
        &CertView::parse(&pki.intermediate.der).unwrap(),
        hash,
    )
}

fn id_serial(pki: &Pki, serial: &[u8]) -> CertId {
    let mut id = id(pki, &pki.leaf, HashAlgorithm::Sha1);
    id.serial = serial.to_vec();
    id
}

fn basic(der: &[u8]) -> BasicResponse<'_> {
    let resp = OcspResponse::parse(der).unwrap();
    assert_eq!(resp.status, ResponseStatus::Successful);
    resp.basic.unwrap()
}

fn verification_alg(alg: KeyAlg) -> &'static dyn VerificationAlgorithm {
    match alg {
        KeyAlg::Rsa2048 => &signature::RSA_PKCS1_2048_8192_SHA256,
        KeyAlg::EcdsaP256 => &signature::ECDSA_P256_SHA256_ASN1,
        KeyAlg::EcdsaP384 => &signature::ECDSA_P384_SHA384_ASN1,
        KeyAlg::EcdsaP521 => &signature::ECDSA_P521_SHA512_ASN1,
        KeyAlg::Ed25519 => &signature::ED25519,
    }
}

/// The signature over the tbs bytes verifies with the responder's own (P-256) key.
fn assert_signed_by_key(b: &BasicResponse<'_>, r: &Responder) {
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, r.key.public_key())
        .verify(b.tbs_raw, b.signature)
        .unwrap();
}

/// The signature over the tbs bytes verifies with `signer`'s public key.
fn assert_signed_by(b: &BasicResponse<'_>, signer: &Cert) {
    let view = CertView::parse(&signer.der).unwrap();
    UnparsedPublicKey::new(verification_alg(signer.alg), view.public_key)
        .verify(b.tbs_raw, b.signature)
        .unwrap_or_else(|_| panic!("signature by {:?} does not verify", signer.alg));
}

#[test]
fn good_revoked_unknown_expired_in_one_request_in_order() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let r = delegated(pki, &ResponderConfig::default());
    let ids = [
        id(pki, &pki.leaf, HashAlgorithm::Sha1),
        id(pki, &pki.other_leaf, HashAlgorithm::Sha256),
        id_serial(pki, &[0x77]),
        id_serial(pki, &[0x0f, 0xfe]),
    ];
    let answer = r.respond(&build_request(&ids, None), now());
    assert_eq!(answer.status, ResponseStatus::Successful);
    let b = basic(&answer.der);
    assert_signed_by(&b, &pki.signer);
    assert_eq!(
        b.certs,
        vec![pki.signer.der.as_slice()],
        "the delegated signer is embedded"
    );
    let ResponderId::ByKeyHash(key_hash) = b.responder_id else {
        panic!("{:?}", b.responder_id)
    };
    assert_eq!(
        key_hash,
        HashAlgorithm::Sha1
            .digest(pki.signer.spki_bits())
            .as_slice()
    );
    assert_eq!(b.produced_at, now());
    let statuses: Vec<CertStatus> = b.responses.iter().map(|s| s.status).collect();
    let revoked = Time::from_civil(2026, 5, 20, 0, 0, 0).unwrap();
    assert_eq!(
        statuses,
        [
            CertStatus::Good,
            CertStatus::Revoked {
                time: revoked,
                reason: Some(CrlReason(1))
            },
            CertStatus::Unknown,
            CertStatus::Good
        ]
    );
    for (single, asked) in b.responses.iter().zip(&ids) {
        assert!(single.cert_id.matches_id(asked));
        assert_eq!(single.cert_id.hash(), Some(asked.hash));
        // thisUpdate is the start of the window or the load time, whichever is later: here both NOW.
        assert_eq!(single.this_update, now());
        assert_eq!(single.next_update, Some(at(NOW + DAY)));
    }
    assert!(b.nonce().is_none());
    let c = answer.cacheable.unwrap();
    assert_eq!((c.this_update, c.next_update), (now(), at(NOW + DAY)));
    assert!(c.etag.starts_with('"') && c.etag.ends_with('"') && c.etag.len() == 34);
}

#[test]
fn every_key_algorithm_signs_verifiably_as_ca_and_as_delegate() {
    for alg in KeyAlg::ALL {
        let pki = Pki::shared(alg);
        for (r, signer) in [
            (by_ca(pki), &pki.intermediate),
            (delegated(pki, &ResponderConfig::default()), &pki.signer),
        ] {
            let answer = r.respond(
                &build_request(&[id(pki, &pki.leaf, HashAlgorithm::Sha256)], Some(&[9; 16])),
                now(),
            );
            let b = basic(&answer.der);
            assert_signed_by(&b, signer);
            let expected = r.key.signature_algorithm();
            assert_eq!(b.signature_algorithm.value, &expected[2..], "{alg:?}");
            assert_eq!(b.certs.is_empty(), !r.is_delegated());
            assert_eq!(b.responses[0].status, CertStatus::Good);
        }
    }
}

#[test]
fn responder_id_by_name() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let config = ResponderConfig {
        responder_id: ResponderIdKind::ByName,
        ..ResponderConfig::default()
    };
    let r = delegated(pki, &config);
    let answer = r.respond(
        &build_request(&[id(pki, &pki.leaf, HashAlgorithm::Sha1)], None),
        now(),
    );
    assert_eq!(
        basic(&answer.der).responder_id,
        ResponderId::ByName(pki.signer.subject_der())
    );
}

#[test]
fn nonce_is_echoed_and_never_cached() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let r = delegated(pki, &ResponderConfig::default());
    let ids = [id(pki, &pki.leaf, HashAlgorithm::Sha1)];
    let first = r.respond(&build_request(&ids, Some(b"0123456789abcdef")), now());
    let second = r.respond(&build_request(&ids, Some(b"0123456789abcdef")), now());
    assert_eq!(basic(&first.der).nonce(), Some(&b"0123456789abcdef"[..]));
    assert!(first.cacheable.is_none() && !first.from_cache && !second.from_cache);
    assert_ne!(first.der, second.der, "ECDSA signs afresh");
    assert_eq!(r.cache_len(), 0);
    // 1 and 32 octets are echoed; 33 are ignored, and the answer is the cached nonce-less one.
    for n in [1, 32] {
        let a = r.respond(&build_request(&ids, Some(&vec![5; n])), now());
        assert_eq!(basic(&a.der).nonce().map(<[u8]>::len), Some(n));
    }
    let plain = r.respond(&build_request(&ids, None), now());
    let long = r.respond(&build_request(&ids, Some(&[5; 33])), now());
    assert!(long.from_cache);
    assert_eq!(long.der, plain.der);
    assert!(basic(&long.der).nonce().is_none());
}

#[test]
fn byte_stable_within_a_window_and_new_in_the_next() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let config = ResponderConfig {
        validity_secs: 2 * HOUR,
        ..ResponderConfig::default()
    };
    let r = delegated(pki, &config);
    let req = build_request(&[id(pki, &pki.leaf, HashAlgorithm::Sha1)], None);
    let first = r.respond(&req, now());
    assert!(!first.from_cache);
    // Same window (an hour long): same bytes, from the cache, whatever the encoding of the request.
    let later = r.respond(&req, at(NOW + HOUR - 1));
    assert!(later.from_cache);
    assert_eq!(later.der, first.der);
    assert_eq!(later.cacheable, first.cacheable);
    // Next window: new thisUpdate at the window start, nextUpdate two hours later.
    let next = r.respond(&req, at(NOW + HOUR + 5));
    assert!(!next.from_cache);
    let single = &basic(&next.der).responses[0];
    assert_eq!(
        (single.this_update, single.next_update),
        (at(NOW + HOUR), Some(at(NOW + 3 * HOUR)))
    );
    assert_eq!(basic(&next.der).produced_at, at(NOW + HOUR + 5));
    // SHA-1 and SHA-256 CertIDs for the same certificate are different cache entries.
    let sha256 = r.respond(
        &build_request(&[id(pki, &pki.leaf, HashAlgorithm::Sha256)], None),
        at(NOW + HOUR + 6),
    );
    assert_eq!(
        basic(&sha256.der).responses[0].cert_id.hash(),
        Some(HashAlgorithm::Sha256)
    );
    assert_eq!(r.cache_len(), 2);
}

#[test]
fn a_new_index_is_visible_at_once() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let r = delegated(pki, &ResponderConfig::default());
    let req = build_request(&[id(pki, &pki.leaf, HashAlgorithm::Sha1)], None);
    assert_eq!(
        basic(&r.respond(&req, at(NOW + 10)).der).responses[0].status,
        CertStatus::Good
    );
    let revoked =
        b"R\t260830000000Z\t260601000100Z,superseded\t1001\tunknown\t/CN=mail.example.test\n";
    r.replace_index(Index::parse(revoked).unwrap(), at(NOW + 100));
    assert_eq!(r.generation(), 1);
    let answer = r.respond(&req, at(NOW + 120));
    assert!(!answer.from_cache);
    let single = &basic(&answer.der).responses[0];
    assert_eq!(
        single.status,
        CertStatus::Revoked {
            time: at(NOW + 60),
            reason: Some(CrlReason(4))
        }
    );
    // thisUpdate is the load time, later than the window start.
    assert_eq!(single.this_update, at(NOW + 100));
    assert_eq!(single.next_update, Some(at(NOW + 100 + DAY)));
}

#[test]
fn next_update_never_outlives_the_signer() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let config = ResponderConfig {
        validity_secs: 7 * DAY,
        ..ResponderConfig::default()
    };
    let r = Responder::new(
        &pki.intermediate.der,
        Some(&pki.signer_short.der),
        key_of(&pki.signer_short),
        Index::parse(INDEX).unwrap(),
        &config,
        now(),
    )
    .unwrap();
    let answer = r.respond(
        &build_request(&[id(pki, &pki.leaf, HashAlgorithm::Sha1)], None),
        now(),
    );
    let not_after = CertView::parse(&pki.signer_short.der).unwrap().not_after;
    assert_eq!(r.signer_not_after(), not_after);
    assert_eq!(basic(&answer.der).responses[0].next_update, Some(not_after));
}

#[test]
fn unauthorized_and_malformed() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let other = Pki::shared(KeyAlg::EcdsaP384);
    let r = delegated(pki, &ResponderConfig::default());
    let status = |der: &[u8]| {
        let a = r.respond(der, now());
        let parsed = OcspResponse::parse(&a.der).unwrap();
        assert_eq!(parsed.status, a.status);
        assert_eq!(
            a.cacheable.is_none(),
            a.status != ResponseStatus::Successful
        );
        a.status
    };
    let foreign = CertId::new(
        &CertView::parse(&other.leaf.der).unwrap(),
        &CertView::parse(&other.intermediate.der).unwrap(),
        HashAlgorithm::Sha1,
    );
    let ours = id(pki, &pki.leaf, HashAlgorithm::Sha1);
    assert_eq!(
        status(&build_request(std::slice::from_ref(&foreign), None)),
        ResponseStatus::Unauthorized
    );
    assert_eq!(
        status(&build_request(&[ours.clone(), foreign], None)),
        ResponseStatus::Unauthorized
    );
    // The root is not the issuer either.
    let by_root = CertId::new(
        &CertView::parse(&pki.leaf.der).unwrap(),
        &CertView::parse(&pki.root.der).unwrap(),
        HashAlgorithm::Sha1,
    );
    assert_eq!(
        status(&build_request(&[by_root], None)),
        ResponseStatus::Unauthorized
    );
    // An MD5 CertID (1.2.840.113549.2.5) cannot be checked: unauthorized.
    let good = build_request(std::slice::from_ref(&ours), None);
    let sha1_alg = [0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a];
    let at_alg = good
        .windows(sha1_alg.len())
        .position(|w| w == sha1_alg)
        .unwrap();
    let md5 = [
        &good[..at_alg],
        &[0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05],
        &good[at_alg + sha1_alg.len()..],
    ]
    .concat();
    let md5 = fix_lengths(&md5, 3);
    assert_eq!(status(&md5), ResponseStatus::Unauthorized);
    for garbage in [
        &b""[..],
        b"\x30\x00",
        b"GET / HTTP/1.1\r\n\r\n",
        &good[..good.len() - 1],
        &[&good[..], &[0]].concat(),
    ] {
        assert_eq!(status(garbage), ResponseStatus::MalformedRequest);
    }
    assert_eq!(status(&good), ResponseStatus::Successful);
}

/// Adds `extra` to the one-octet lengths of the four SEQUENCEs that enclose the CertID's
/// algorithm in a small request (OCSPRequest, TBSRequest, requestList, Request, CertID, AlgorithmIdentifier).
fn fix_lengths(der: &[u8], extra: u8) -> Vec<u8> {
    let mut out = der.to_vec();
    for at in [1, 3, 5, 7, 9, 11] {
        out[at] += extra;
    }
    out
}

#[test]
fn refuses_a_misconfigured_signer() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let index = || Index::parse(INDEX).unwrap();
    let config = ResponderConfig::default();
    let ca = &pki.intermediate.der;
    let err = |signer: Option<&Cert>, key: &Cert, config: &ResponderConfig| {
        Responder::new(
            ca,
            signer.map(|c| c.der.as_slice()),
            key_of(key),
            index(),
            config,
            now(),
        )
        .unwrap_err()
    };
    assert!(matches!(
        err(Some(&pki.signer), &pki.leaf, &config),
        Error::KeyMismatch
    ));
    assert!(matches!(
        err(None, &pki.signer, &config),
        Error::KeyMismatch
    ));
    assert!(matches!(
        err(Some(&pki.rogue_signer), &pki.rogue_signer, &config),
        Error::SignerNotIssuedByCa
    ));
    assert!(matches!(
        err(Some(&pki.signer_no_eku), &pki.signer_no_eku, &config),
        Error::SignerNotAuthorized
    ));
    let short = ResponderConfig {
        validity_secs: 1,
        ..ResponderConfig::default()
    };
    assert!(matches!(
        err(Some(&pki.signer), &pki.signer, &short),
        Error::Config(_)
    ));
    let bad = Responder::new(
        b"not a certificate",
        None,
        key_of(&pki.intermediate),
        index(),
        &config,
        now(),
    )
    .unwrap_err();
    assert!(matches!(bad, Error::Certificate { which: "CA", .. }));
    // The CA certificate given as the signer too means the CA signs.
    let r = Responder::new(
        ca,
        Some(ca),
        key_of(&pki.intermediate),
        index(),
        &config,
        now(),
    )
    .unwrap();
    assert!(!r.is_delegated());
}

/// The contents of the OCTET STRING that ends a PKCS#8 `PrivateKeyInfo` of this test PKI: the
/// SEC1 `ECPrivateKey` or PKCS#1 `RSAPrivateKey` inside.
fn inner_key(pkcs8: &[u8]) -> Vec<u8> {
    fn tlv(d: &[u8]) -> (u8, &[u8], &[u8]) {
        let (len, head) = match d[1] {
            n if n < 0x80 => (n as usize, 2),
            0x81 => (d[2] as usize, 3),
            0x82 => ((d[2] as usize) << 8 | d[3] as usize, 4),
            n => panic!("length form {n:#x}"),
        };
        (d[0], &d[head..head + len], &d[head + len..])
    }
    let (_, seq, _) = tlv(pkcs8);
    let (_, _, rest) = tlv(seq); // version
    let (_, _, rest) = tlv(rest); // algorithm
    let (tag, key, _) = tlv(rest);
    assert_eq!(tag, 0x04);
    key.to_vec()
}

#[test]
fn key_formats() {
    let pem = |label: &str, der: &[u8]| {
        format!(
            "junk before\n-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            base64::encode(der)
        )
    };
    for alg in KeyAlg::ALL {
        let cert = &Pki::shared(alg).signer;
        let pkcs8 = cert.key.serialized_der();
        let expected = CertView::parse(&cert.der).unwrap().public_key.to_vec();
        let text = pem("PRIVATE KEY", pkcs8);
        assert_eq!(
            SigningKey::from_file_contents(text.as_bytes())
                .unwrap()
                .public_key(),
            expected,
            "{alg:?}"
        );
        assert_eq!(
            SigningKey::from_file_contents(pkcs8).unwrap().public_key(),
            expected,
            "{alg:?} DER"
        );
        match alg {
            KeyAlg::Rsa2048 => {
                let pkcs1 = inner_key(pkcs8);
                assert_eq!(
                    SigningKey::from_file_contents(pem("RSA PRIVATE KEY", &pkcs1).as_bytes())
                        .unwrap()
                        .public_key(),
                    expected
                );
                assert_eq!(
                    SigningKey::from_der(&pkcs1).unwrap().algorithm_name(),
                    "RSA-SHA256"
                );
            }
            KeyAlg::EcdsaP256 | KeyAlg::EcdsaP384 | KeyAlg::EcdsaP521 => {
                let sec1 = inner_key(pkcs8);
                let text = format!(
                    "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
                    pem("EC PRIVATE KEY", &sec1)
                );
                let key = SigningKey::from_file_contents(text.as_bytes()).unwrap();
                assert_eq!(key.public_key(), expected, "{alg:?} SEC1");
                let name = match alg {
                    KeyAlg::EcdsaP256 => "ECDSA-SHA256",
                    KeyAlg::EcdsaP384 => "ECDSA-SHA384",
                    _ => "ECDSA-SHA512",
                };
                assert_eq!(key.algorithm_name(), name);
            }
            KeyAlg::Ed25519 => assert_eq!(
                SigningKey::from_der(pkcs8).unwrap().algorithm_name(),
                "Ed25519"
            ),
        }
    }
    assert!(matches!(
        SigningKey::from_file_contents(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAA==\n-----END ENCRYPTED PRIVATE KEY-----\n"
        ),
        Err(Error::Pem { .. })
    ));
    assert!(matches!(
        SigningKey::from_file_contents(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        ),
        Err(Error::UnsupportedKey)
    ));
    assert!(matches!(
        SigningKey::from_file_contents(
            b"-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n"
        ),
        Err(Error::Pem { .. })
    ));
    assert!(matches!(
        SigningKey::from_der(b"\x30\x03\x02\x01\x00"),
        Err(Error::UnsupportedKey)
    ));
}

#[test]
fn certificate_files() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    assert_eq!(
        certificate_der(pki.intermediate.pem().as_bytes()).unwrap(),
        pki.intermediate.der
    );
    assert_eq!(
        certificate_der(&pki.intermediate.der).unwrap(),
        pki.intermediate.der
    );
    let chain = pki.leaf.pem() + &pki.intermediate.pem();
    assert_eq!(certificate_der(chain.as_bytes()).unwrap(), pki.leaf.der);
    assert!(certificate_der(b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n").is_err());
}

#[test]
fn cache_is_bounded() {
    let pki = Pki::shared(KeyAlg::Ed25519);
    let config = ResponderConfig {
        cache_capacity: 3,
        ..ResponderConfig::default()
    };
    let r = delegated(pki, &config);
    for serial in 0..10u8 {
        let a = r.respond(
            &build_request(&[id_serial(pki, &[serial + 1])], None),
            now(),
        );
        assert_eq!(a.status, ResponseStatus::Successful);
        assert!(a.cacheable.is_some());
    }
    assert_eq!(r.cache_len(), 3);
    // A cached one is still served from the cache; one that did not fit is signed again.
    assert!(
        r.respond(&build_request(&[id_serial(pki, &[1])], None), now())
            .from_cache
    );
    assert!(
        !r.respond(&build_request(&[id_serial(pki, &[9])], None), now())
            .from_cache
    );
}

mod http_mapping {
    use super::*;

    fn setup() -> (&'static Pki, Responder, Vec<u8>) {
        let pki = Pki::shared(KeyAlg::EcdsaP256);
        let r = delegated(pki, &ResponderConfig::default());
        let req = build_request(&[id(pki, &pki.leaf, HashAlgorithm::Sha1)], None);
        (pki, r, req)
    }

    #[test]
    fn get_forms_all_reach_the_same_answer() {
        let (_, r, req) = setup();
        let b64 = base64::encode(&req);
        let escaped = b64
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        let post = http::post(&r, &req, now());
        assert_eq!(post.status, 200);
        for path in [
            format!("/{b64}"),
            format!("/{escaped}"),
            format!("/{}", b64.trim_end_matches('=')),
            format!("/ocsp/{b64}"),
            format!("/a/b/ocsp/{escaped}"),
            format!("/{}", b64.replace('+', "-").replace('/', "_")),
        ] {
            let a = http::get(&r, &path, None, now());
            assert_eq!((a.status, &a.body), (200, &post.body), "{path}");
            assert_eq!(a.header("content-type"), Some("application/ocsp-response"));
        }
        for bad in [
            "/",
            "",
            "/%ZZ",
            "/MEow!!",
            "/health",
            &format!("/{}", &b64[..b64.len() - 8]),
        ] {
            let a = http::get(&r, bad, None, now());
            assert_eq!(a.status, 200);
            assert_eq!(
                OcspResponse::parse(&a.body).unwrap().status,
                ResponseStatus::MalformedRequest,
                "{bad}"
            );
            assert_eq!(a.header("cache-control"), Some("no-store"));
        }
    }

    #[test]
    fn rfc5019_headers_and_conditional_get() {
        let (pki, r, req) = setup();
        let path = format!("/{}", base64::encode(&req));
        let later = at(NOW + 600);
        let a = http::get(&r, &path, None, later);
        assert_eq!(
            a.header("last-modified"),
            Some("Mon, 01 Jun 2026 00:00:00 GMT")
        );
        assert_eq!(a.header("expires"), Some("Tue, 02 Jun 2026 00:00:00 GMT"));
        assert_eq!(
            a.header("cache-control"),
            Some("max-age=85800, public, no-transform, must-revalidate")
        );
        let etag = a.header("etag").unwrap().to_owned();
        let not_modified = http::get(&r, &path, Some(etag.as_bytes()), later);
        assert_eq!(not_modified.status, 304);
        assert!(not_modified.body.is_empty());
        assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
        assert_eq!(http::get(&r, &path, Some(b"\"other\""), later).status, 200);
        // Nonce answers are not for caches.
        let nonced = build_request(&[id_serial(pki, &[0x10, 0x01])], Some(&[1; 16]));
        let n = http::post(&r, &nonced, later);
        assert_eq!(n.header("cache-control"), Some("no-store"));
        assert!(n.header("etag").is_none() && n.header("expires").is_none());
        let m = http::method_not_allowed();
        assert_eq!(
            (m.status, m.header("allow"), m.header("connection")),
            (405, Some("GET, POST"), Some("close"))
        );
    }
}

#[test]
fn fuzz_harness_runs_its_seeds_and_garbage() {
    let seeds = crate::fuzzing::seeds();
    assert_eq!(seeds.len(), 8);
    let responder = &crate::fuzzing::fixture().unwrap().responder;
    assert!(responder.is_delegated());
    for seed in &seeds {
        crate::fuzzing::responder_request(seed);
        // Every seed reaches the signing path: a POST body or a GET path that decodes.
        let request = match seed.split_first().unwrap() {
            (0, body) => body.to_vec(),
            (_, path) => http::decode_get_path(std::str::from_utf8(path).unwrap()).unwrap(),
        };
        let answer = responder.respond(&request, now());
        assert_eq!(answer.status, ResponseStatus::Successful);
        assert_signed_by_key(&basic(&answer.der), responder);
    }
    use proptest::prelude::*;
    proptest!(ProptestConfig::with_cases(300), |(data in proptest::collection::vec(any::<u8>(), 0..300))| {
        crate::fuzzing::responder_request(&data);
    });
    // Mutations of the seeds reach deeper than random bytes.
    proptest!(ProptestConfig::with_cases(300), |(pick in 0..8usize, at in any::<prop::sample::Index>(), byte in any::<u8>())| {
        let mut input = seeds[pick].clone();
        let i = at.index(input.len());
        input[i] = byte;
        crate::fuzzing::responder_request(&input);
    });
}

/// Issue 18: two CAs in one process (the root and the issuing CA), each with its own index and
/// signer; the CertID picks the CA, a third issuer gets `unauthorized`, CertIDs of two CAs in
/// one request too, and reloading one CA's index leaves the other alone.
#[test]
fn several_cas_in_one_process() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    // The root answers for the intermediate (serial 02), signing itself.
    let root_index =
        b"R\t310101000000Z\t260501000000Z,cACompromise\t02\tunknown\t/CN=intermediate\n";
    let root = Arc::new(
        Responder::new(
            &pki.root.der,
            None,
            key_of(&pki.root),
            Index::parse(root_index).unwrap(),
            &ResponderConfig::default(),
            now(),
        )
        .unwrap(),
    );
    let issuing = Arc::new(delegated(pki, &ResponderConfig::default()));
    let set = Responders::new(vec![Arc::clone(&root), Arc::clone(&issuing)]).unwrap();

    let root_view = CertView::parse(&pki.root.der).unwrap();
    let int_view = CertView::parse(&pki.intermediate.der).unwrap();
    let int_id = CertId::new(&int_view, &root_view, HashAlgorithm::Sha256);
    let answer = set.respond(&build_request(std::slice::from_ref(&int_id), None), now());
    let b = basic(&answer.der);
    assert_signed_by(&b, &pki.root);
    assert!(matches!(
        b.responses[0].status,
        CertStatus::Revoked {
            reason: Some(CrlReason(2)),
            ..
        }
    ));
    let leaf_id = id(pki, &pki.leaf, HashAlgorithm::Sha1);
    let answer = set.respond(&build_request(std::slice::from_ref(&leaf_id), None), now());
    let b = basic(&answer.der);
    assert_signed_by(&b, &pki.signer);
    assert_eq!(b.responses[0].status, CertStatus::Good);

    // An issuer neither CA is: unauthorized. So is a request mixing the two CAs.
    let other = CertId::new(
        &CertView::parse(&pki.rogue_signer.der).unwrap(),
        &CertView::parse(&pki.other_ca.der).unwrap(),
        HashAlgorithm::Sha1,
    );
    for req in [
        build_request(&[other], None),
        build_request(&[leaf_id.clone(), int_id.clone()], None),
    ] {
        assert_eq!(
            set.respond(&req, now()).status,
            ResponseStatus::Unauthorized
        );
    }
    assert_eq!(
        set.respond(b"garbage", now()).status,
        ResponseStatus::MalformedRequest
    );

    // Reloading the issuing CA's index: the leaf is revoked now, the root's answer is the same
    // bytes as before (its cache untouched).
    let before = set.respond(&build_request(std::slice::from_ref(&int_id), None), now());
    issuing.replace_index(
        Index::parse(b"R\t260830000000Z\t260531000000Z,superseded\t1001\tunknown\t/CN=x\n")
            .unwrap(),
        now(),
    );
    let reloaded = set.respond(&build_request(&[leaf_id], None), now());
    let b = basic(&reloaded.der);
    assert!(matches!(b.responses[0].status, CertStatus::Revoked { .. }));
    let after = set.respond(&build_request(&[int_id], None), now());
    assert_eq!(before.der, after.der);
    assert!(after.from_cache);
    assert_eq!(root.generation(), 0);

    // Refused sets.
    assert!(Responders::new(Vec::new()).is_err());
    let err = Responders::new(vec![Arc::clone(&issuing), Arc::new(by_ca(pki))]).unwrap_err();
    assert!(err.to_string().contains("same CA"), "{err}");
}

/// Issue 18: signing ahead. The current window is signed at once, the next one from the middle of
/// the current; the answers are served from memory with the times promised; a reloaded index
/// makes them unusable at once.
#[test]
fn signing_ahead() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let config = ResponderConfig {
        validity_secs: 2 * HOUR,
        ..ResponderConfig::default()
    };
    let r = delegated(pki, &config);
    let step = HOUR as i64;
    let window_start = |t: Time| Time::from_unix(t.unix().div_euclid(step) * step);
    let current = now().unix().div_euclid(step);
    assert_eq!(r.presign_due(now()), Some(current));
    let report = r.presign(now()).unwrap();
    assert_eq!(report.window, current);
    assert_eq!(report.responses, 3, "one per serial in the index");
    assert_eq!(report.failures, 0);
    assert!(report.bytes > 3 * 200, "{report:?}");
    assert_eq!(r.presigned_len(), 3);
    assert_eq!(
        r.presign_due(now()),
        None,
        "nothing more until the window is half over"
    );

    // Served from memory, not from the bounded cache.
    let leaf = build_request(&[id(pki, &pki.leaf, HashAlgorithm::Sha1)], None);
    let a = r.respond(&leaf, now());
    assert!(a.from_cache);
    assert_eq!(r.cache_len(), 0);
    let b = basic(&a.der);
    assert_signed_by(&b, &pki.signer);
    assert_eq!(b.responses[0].status, CertStatus::Good);
    let revoked = r.respond(
        &build_request(&[id(pki, &pki.other_leaf, HashAlgorithm::Sha1)], None),
        now(),
    );
    assert!(revoked.from_cache);
    assert!(matches!(
        basic(&revoked.der).responses[0].status,
        CertStatus::Revoked { .. }
    ));
    // SHA-256 CertIDs are signed on demand.
    let sha256 = r.respond(
        &build_request(&[id(pki, &pki.leaf, HashAlgorithm::Sha256)], None),
        now(),
    );
    assert!(!sha256.from_cache);

    // From the middle of the window, the next one is due; signed at that moment, served from
    // the next window's start with the nextUpdate an on-demand answer would get.
    let half = Time::from_unix(window_start(now()).unix() + step / 2);
    assert_eq!(r.presign_due(Time::from_unix(half.unix() - 1)), None);
    assert_eq!(r.presign_due(half), Some(current + 1));
    let report = r.presign(half).unwrap();
    assert_eq!(report.window, current + 1);
    assert_eq!(r.presigned_len(), 6);
    let next_start = Time::from_unix((current + 1) * step);
    let a = r.respond(&leaf, next_start);
    assert!(a.from_cache);
    let b = basic(&a.der);
    assert_eq!(b.responses[0].this_update, half);
    assert_eq!(b.produced_at, half);
    assert_eq!(
        b.responses[0].next_update,
        Some(Time::from_unix(next_start.unix() + 2 * step))
    );
    assert_eq!(a.cacheable.as_ref().unwrap().this_update, half);
    // In the next window the current one's set is dropped at the next signing.
    assert_eq!(r.presign_due(next_start), None);

    // A new index: the pre-signed answers are gone and the revocation is visible at once.
    r.replace_index(
        Index::parse(b"R\t260830000000Z\t260531000000Z,superseded\t1001\tunknown\t/CN=x\n")
            .unwrap(),
        now(),
    );
    assert_eq!(r.presigned_len(), 0);
    let a = r.respond(&leaf, now());
    assert!(!a.from_cache);
    assert!(matches!(
        basic(&a.der).responses[0].status,
        CertStatus::Revoked { .. }
    ));
    assert_eq!(r.presign_due(now()), Some(current));
}
