//! Unit tests: the DER encoder and walker, PEM, the signing paths (checked with aws-lc-rs
//! verification), the certificates, and the structure of built responses.

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use sha1::Digest as _;

use crate::der::{self, Tlv};
use crate::{
    Cert, DAY, Defect, HOUR, HashAlg, KeyAlg, NOW, Pki, PkiOptions, ResponderIdKind, SigAlg,
    Signer, Status,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// DER encoder

#[test]
fn length_is_minimal() {
    let cases: [(usize, &str); 8] = [
        (0, "00"),
        (1, "01"),
        (127, "7f"),
        (128, "81 80"),
        (255, "81 ff"),
        (256, "82 01 00"),
        (65535, "82 ff ff"),
        (65536, "83 01 00 00"),
    ];
    for (len, expected) in cases {
        assert_eq!(der::length(len), hex(expected), "length {len}");
    }
}

#[test]
fn tlv_header_and_contents() {
    assert_eq!(der::tlv(0x04, &[]), hex("04 00"));
    assert_eq!(der::tlv(0x04, &[0xaa]), hex("04 01 aa"));
    let long = vec![0x55; 300];
    let enc = der::tlv(0x30, &long);
    assert_eq!(&enc[..4], &hex("30 82 01 2c")[..]);
    assert_eq!(&enc[4..], &long[..]);
}

#[test]
fn primitives_known_answers() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (der::oid(&[1, 3, 14, 3, 2, 26]), "06 05 2b 0e 03 02 1a"),
        (
            der::oid(&[2, 16, 840, 1, 101, 3, 4, 2, 1]),
            "06 09 60 86 48 01 65 03 04 02 01",
        ),
        (
            der::oid(&[1, 2, 840, 113549, 1, 1, 11]),
            "06 09 2a 86 48 86 f7 0d 01 01 0b",
        ),
        (
            der::oid(&[1, 3, 6, 1, 5, 5, 7, 48, 1, 1]),
            "06 09 2b 06 01 05 05 07 30 01 01",
        ),
        (
            der::oid(&[1, 2, 840, 10045, 4, 3, 2]),
            "06 08 2a 86 48 ce 3d 04 03 02",
        ),
        (der::oid(&[1, 3, 101, 112]), "06 03 2b 65 70"),
        (der::uint(&[]), "02 01 00"),
        (der::uint(&[0, 0, 5]), "02 01 05"),
        (der::uint(&[0x80]), "02 02 00 80"),
        (der::uint(&[0x00, 0x00, 0xff, 0x01]), "02 03 00 ff 01"),
        (der::uint(&[0x10, 0x01]), "02 02 10 01"),
        (der::small_uint(0), "02 01 00"),
        (der::small_uint(32), "02 01 20"),
        (der::small_uint(256), "02 02 01 00"),
        (der::enumerated(1), "0a 01 01"),
        (der::enumerated(0), "0a 01 00"),
        (der::null(), "05 00"),
        (der::octet_string(&[1, 2]), "04 02 01 02"),
        (der::bit_string(&[1, 2]), "03 03 00 01 02"),
        (der::context(0, &der::null()), "a0 02 05 00"),
        (der::context(2, &[]), "a2 00"),
        (der::context_primitive(0, &[]), "80 00"),
        (der::context_primitive(6, b"x"), "86 01 78"),
        (der::seq(&[&der::null(), &der::null()]), "30 04 05 00 05 00"),
    ];
    for (got, expected) in cases {
        assert_eq!(got, hex(expected), "expected {expected}");
    }
}

#[test]
fn generalized_time_known_answers() {
    assert_eq!(der::generalized_time_string(NOW, None), "20260601000000Z");
    assert_eq!(
        der::generalized_time_string(NOW - HOUR, None),
        "20260531230000Z"
    );
    assert_eq!(
        der::generalized_time_string(NOW + 7 * DAY, None),
        "20260608000000Z"
    );
    assert_eq!(
        der::generalized_time_string(1_709_210_096, None),
        "20240229123456Z"
    );
    assert_eq!(der::generalized_time_string(0, None), "19700101000000Z");
    assert_eq!(
        der::generalized_time_string(NOW, Some("5")),
        "20260601000000.5Z"
    );
    let enc = der::generalized_time(NOW, None);
    assert_eq!(&enc[..2], &[0x18, 15]);
    assert_eq!(&enc[2..], b"20260601000000Z");
}

// ---------------------------------------------------------------------------------------------
// DER walker

#[test]
fn read_round_trips_every_length_form() {
    for len in [0usize, 1, 127, 128, 255, 256, 300, 65_535, 70_000] {
        let contents: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut enc = der::tlv(0x04, &contents);
        enc.extend_from_slice(&[0xde, 0xad]);
        let (tlv, rest) = der::read(&enc).unwrap();
        assert_eq!(tlv.tag, 0x04);
        assert_eq!(tlv.content, &contents[..]);
        assert_eq!(tlv.full, &enc[..enc.len() - 2]);
        assert_eq!(rest, &[0xde, 0xad]);
    }
}

#[test]
fn read_rejects_what_it_cannot_handle() {
    let rejects: [&str; 7] = [
        "",                        // nothing
        "04",                      // no length
        "04 02 00",                // truncated contents
        "04 80",                   // indefinite length
        "04 85 00 00 00 00 01 00", // five length octets
        "1f 01 00",                // high tag number
        "04 82 01",                // truncated length
    ];
    for r in rejects {
        assert_eq!(der::read(&hex(r)), None, "{r}");
    }
    assert!(der::expect(&hex("05 00"), 0x04).is_none());
    assert_eq!(
        der::children(&hex("05 00 04 01 aa")).unwrap(),
        vec![
            Tlv {
                tag: 5,
                full: &[5, 0],
                content: &[]
            },
            Tlv {
                tag: 4,
                full: &[4, 1, 0xaa],
                content: &[0xaa]
            }
        ]
    );
    assert!(der::children(&hex("05 00 04")).is_none());
}

// ---------------------------------------------------------------------------------------------
// PEM

#[test]
fn base64_rfc4648_vectors() {
    let vectors = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];
    for (input, expected) in vectors {
        assert_eq!(crate::pem::base64(input.as_bytes()), expected);
    }
    assert_eq!(crate::pem::base64(&[0xfb, 0xff]), "+/8=");
}

#[test]
fn pem_wraps_at_64_columns() {
    let pem = crate::pem::encode("TEST", &[0u8; 100]);
    let lines: Vec<&str> = pem.lines().collect();
    assert_eq!(lines[0], "-----BEGIN TEST-----");
    assert_eq!(lines[1].len(), 64);
    assert_eq!(lines[2].len(), 64);
    assert_eq!(lines[3].len(), 136 - 128);
    assert_eq!(lines[4], "-----END TEST-----");
    assert_eq!(lines.len(), 5);
    assert!(pem.ends_with("-----END TEST-----\n"));
}

// ---------------------------------------------------------------------------------------------
// Signatures

#[test]
fn pss_algorithm_identifier_matches_webpki() {
    // rustls-pki-types data/alg-rsa-pss-sha256.der, wrapped in its SEQUENCE header.
    let expected = hex(
        "30 41 06 09 2a 86 48 86 f7 0d 01 01 0a 30 34 a0 0f 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00
         a1 1c 30 1a 06 09 2a 86 48 86 f7 0d 01 01 08 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00
         a2 03 02 01 20",
    );
    assert_eq!(SigAlg::RsaPssSha256.algorithm_identifier(), expected);
    assert_eq!(
        SigAlg::RsaPkcs1Sha256.algorithm_identifier(),
        hex("30 0d 06 09 2a 86 48 86 f7 0d 01 01 0b 05 00")
    );
    assert_eq!(
        SigAlg::EcdsaSha384.algorithm_identifier(),
        hex("30 0a 06 08 2a 86 48 ce 3d 04 03 03")
    );
    assert_eq!(
        SigAlg::Ed25519.algorithm_identifier(),
        hex("30 05 06 03 2b 65 70")
    );
}

#[test]
fn modexp_small_and_multi_limb() {
    use crate::sign::{Nat, modexp};
    let r = modexp(&Nat(vec![4]), &Nat(vec![13]), &Nat(vec![497]));
    assert_eq!(r, Nat(vec![445]));
    // (2^64 + 3)^3 mod (2^127 - 1), computed independently with u128 arithmetic identities:
    // (2^64 + 3)^2 = 2^128 + 6*2^64 + 9 ≡ 2 + 6*2^64 + 9 (mod 2^127 - 1).
    let n = (1u128 << 127) - 1;
    let sq = (6u128 << 64) + 11;
    // sq * (2^64 + 3) = 6*2^128 + 11*2^64 + 18*2^64 + 33 ≡ 12 + 29*2^64 + 33.
    let cube = ((29u128 << 64) + 45) % n;
    let to_nat = |v: u128| Nat(vec![v as u64, (v >> 64) as u64]);
    assert_eq!(
        modexp(&to_nat((1u128 << 64) + 3), &Nat(vec![2, 0]), &to_nat(n)),
        to_nat(sq)
    );
    assert_eq!(
        modexp(&to_nat((1u128 << 64) + 3), &Nat(vec![3, 0]), &to_nat(n)),
        to_nat(cube)
    );
    assert_eq!(Nat::from_be(&[1, 2, 3], 1).to_be(4), vec![0, 1, 2, 3]);
}

#[test]
fn hand_made_pkcs1_matches_aws_lc() {
    // PKCS#1 v1.5 is deterministic, so the hand-made path must equal aws-lc-rs byte for byte.
    let pki = Pki::shared(KeyAlg::Rsa2048);
    let msg = b"tbsResponseData stand-in";
    let mut digest_info = hex("30 31 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20");
    digest_info.extend_from_slice(&sha2::Sha256::digest(msg));
    let pkcs8 = pki.signer.key.serialized_der();
    let ours = crate::sign::rsa_pkcs1_sign_digest_info(pkcs8, &digest_info);
    let theirs = crate::sign::sign(pkcs8, KeyAlg::Rsa2048, SigAlg::RsaPkcs1Sha256, msg);
    assert_eq!(ours, theirs);
}

fn verification_alg(key: KeyAlg, alg: SigAlg) -> &'static dyn VerificationAlgorithm {
    match (key, alg) {
        (_, SigAlg::RsaPkcs1Sha1) => &sig::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        (_, SigAlg::RsaPkcs1Sha256) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (_, SigAlg::RsaPkcs1Sha384) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (_, SigAlg::RsaPkcs1Sha512) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (_, SigAlg::RsaPssSha256) => &sig::RSA_PSS_2048_8192_SHA256,
        (_, SigAlg::RsaPssSha384) => &sig::RSA_PSS_2048_8192_SHA384,
        (_, SigAlg::RsaPssSha512) => &sig::RSA_PSS_2048_8192_SHA512,
        (KeyAlg::EcdsaP256, SigAlg::EcdsaSha256) => &sig::ECDSA_P256_SHA256_ASN1,
        (KeyAlg::EcdsaP256, SigAlg::EcdsaSha384) => &sig::ECDSA_P256_SHA384_ASN1,
        (KeyAlg::EcdsaP256, SigAlg::EcdsaSha512) => &sig::ECDSA_P256_SHA512_ASN1,
        (KeyAlg::EcdsaP384, SigAlg::EcdsaSha256) => &sig::ECDSA_P384_SHA256_ASN1,
        (KeyAlg::EcdsaP384, SigAlg::EcdsaSha384) => &sig::ECDSA_P384_SHA384_ASN1,
        (KeyAlg::EcdsaP384, SigAlg::EcdsaSha512) => &sig::ECDSA_P384_SHA512_ASN1,
        (KeyAlg::EcdsaP521, SigAlg::EcdsaSha256) => &sig::ECDSA_P521_SHA256_ASN1,
        (KeyAlg::EcdsaP521, SigAlg::EcdsaSha384) => &sig::ECDSA_P521_SHA384_ASN1,
        (KeyAlg::EcdsaP521, SigAlg::EcdsaSha512) => &sig::ECDSA_P521_SHA512_ASN1,
        (KeyAlg::Ed25519, SigAlg::Ed25519) => &sig::ED25519,
        other => panic!("no verification algorithm for {other:?}"),
    }
}

fn verifies(cert: &Cert, alg: SigAlg, msg: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(verification_alg(cert.alg, alg), cert.spki_bits())
        .verify(msg, signature)
        .is_ok()
}

#[test]
fn every_compatible_signature_verifies_with_aws_lc() {
    let msg = b"the exact tbsResponseData bytes";
    let mut checked = 0;
    for key in KeyAlg::ALL {
        let pki = Pki::shared(key);
        for alg in SigAlg::ALL {
            assert_eq!(alg.usable_with(key), crate::sign::compatible(key, alg));
            if !alg.usable_with(key) {
                continue;
            }
            let s = crate::sign::sign(pki.signer.key.serialized_der(), key, alg, msg);
            assert!(verifies(&pki.signer, alg, msg, &s), "{key:?} {alg:?}");
            assert!(
                !verifies(&pki.signer, alg, b"another message", &s),
                "{key:?} {alg:?}"
            );
            assert!(!verifies(&pki.other_ca, alg, msg, &s), "{key:?} {alg:?}");
            checked += 1;
        }
        assert!(key.default_sig_alg().usable_with(key));
    }
    assert_eq!(checked, 7 + 3 + 3 + 3 + 1);
}

#[test]
fn sign_panics_on_an_incompatible_algorithm() {
    let key = Pki::shared(KeyAlg::Ed25519)
        .signer
        .key
        .serialized_der()
        .to_vec();
    let result = std::panic::catch_unwind(move || {
        crate::sign::sign(&key, KeyAlg::Ed25519, SigAlg::EcdsaSha256, b"x")
    });
    assert!(result.is_err());
}

// ---------------------------------------------------------------------------------------------
// Certificates

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn certificates_have_the_documented_shape() {
    let pki = Pki::shared(KeyAlg::Ed25519);
    let all = [
        (&pki.root, "01", &pki.root),
        (&pki.intermediate, "02", &pki.root),
        (&pki.other_ca, "03", &pki.other_ca),
        (&pki.leaf, "1001", &pki.intermediate),
        (&pki.other_leaf, "1002", &pki.intermediate),
        (&pki.signer, "2001", &pki.intermediate),
        (&pki.signer_no_eku, "2002", &pki.intermediate),
        (&pki.signer_expired, "2003", &pki.intermediate),
        (&pki.signer_not_yet_valid, "2004", &pki.intermediate),
        (&pki.signer_short, "2005", &pki.intermediate),
        (&pki.rogue_signer, "3001", &pki.other_ca),
    ];
    for (i, (cert, serial, issuer)) in all.iter().enumerate() {
        assert_eq!(cert.serial(), &hex(serial)[..], "serial of cert {i}");
        assert_eq!(
            cert.issuer_der(),
            issuer.subject_der(),
            "issuer of cert {i}"
        );
        assert_eq!(cert.spki_bits().len(), 32, "Ed25519 key of cert {i}");
        assert_eq!(cert.alg, KeyAlg::Ed25519);
        for (j, (other, _, _)) in all.iter().enumerate() {
            if i != j {
                assert_ne!(
                    cert.spki_bits(),
                    other.spki_bits(),
                    "keys of {i} and {j} differ"
                );
                assert_ne!(
                    cert.subject_der(),
                    other.subject_der(),
                    "names of {i} and {j} differ"
                );
            }
        }
    }
    let aia = crate::pki::aia_ocsp("http://127.0.0.1:8888/");
    assert!(contains(&pki.leaf.der, &aia));
    assert!(contains(&pki.other_leaf.der, &aia));
    assert!(contains(&pki.leaf.der, b"mail.example.test"));
    let tls_feature = der::oid(&[1, 3, 6, 1, 5, 5, 7, 1, 24]);
    assert!(!contains(&pki.leaf.der, &tls_feature));
    let ocsp_signing = der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 9]);
    let nocheck = der::oid(&[1, 3, 6, 1, 5, 5, 7, 48, 1, 5]);
    for s in [
        &pki.signer,
        &pki.signer_expired,
        &pki.signer_not_yet_valid,
        &pki.signer_short,
        &pki.rogue_signer,
    ] {
        assert!(contains(&s.der, &ocsp_signing));
        assert!(contains(&s.der, &nocheck));
    }
    assert!(!contains(&pki.signer_no_eku.der, &ocsp_signing));
    assert!(!contains(&pki.leaf.der, &ocsp_signing));
}

#[test]
fn aia_is_authority_info_access_syntax() {
    let aia = crate::pki::aia_ocsp("http://x/");
    let (outer, rest) = der::expect(&aia, der::tag::SEQUENCE).unwrap();
    assert!(rest.is_empty());
    let descriptions = der::children(outer.content).unwrap();
    assert_eq!(descriptions.len(), 1);
    let fields = der::children(descriptions[0].content).unwrap();
    assert_eq!(fields[0].full, &der::oid(&[1, 3, 6, 1, 5, 5, 7, 48, 1])[..]);
    assert_eq!(fields[1].tag, 0x86);
    assert_eq!(fields[1].content, b"http://x/");
}

#[test]
fn options_change_the_leaf() {
    let mut opts = PkiOptions::new(KeyAlg::Ed25519);
    opts.must_staple = true;
    opts.ocsp_url = None;
    opts.leaf_serial = vec![0x00, 0x9a, 0xbc];
    let pki = Pki::with_options(opts);
    let mut must_staple = der::oid(&[1, 3, 6, 1, 5, 5, 7, 1, 24]);
    must_staple.extend_from_slice(&hex("04 05 30 03 02 01 05"));
    assert!(contains(&pki.leaf.der, &must_staple));
    assert!(!contains(
        &pki.leaf.der,
        &der::oid(&[1, 3, 6, 1, 5, 5, 7, 1, 1])
    ));
    assert_eq!(pki.leaf.serial(), &hex("00 9a bc")[..]);
    let resp = parse(&pki.response().build());
    assert_eq!(resp.serial, hex("00 9a bc"));
}

#[test]
fn issued_leaves_are_signed_by_the_intermediate() {
    let pki = Pki::shared(KeyAlg::Ed25519);
    let a = pki.issue_leaf(&[0x40, 0x01], Some("http://127.0.0.1:9/"));
    let b = pki.issue_leaf(&[0x40, 0x02], None);
    for (leaf, serial) in [(&a, "4001"), (&b, "4002")] {
        assert_eq!(leaf.serial(), &hex(serial)[..]);
        assert_eq!(leaf.issuer_der(), pki.intermediate.subject_der());
        // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
        let (outer, _) = der::expect(&leaf.der, der::tag::SEQUENCE).unwrap();
        let (tbs, rest) = der::expect(outer.content, der::tag::SEQUENCE).unwrap();
        let (_alg, rest) = der::expect(rest, der::tag::SEQUENCE).unwrap();
        let (bits, _) = der::expect(rest, der::tag::BIT_STRING).unwrap();
        let signature = &bits.content[1..];
        assert!(verifies(
            &pki.intermediate,
            SigAlg::Ed25519,
            tbs.full,
            signature
        ));
        assert!(!verifies(
            &pki.other_ca,
            SigAlg::Ed25519,
            tbs.full,
            signature
        ));
        assert!(contains(
            &leaf.der,
            format!("leaf-{serial}.example.test").as_bytes()
        ));
    }
    assert_ne!(a.spki_bits(), b.spki_bits());
    assert!(contains(
        &a.der,
        &crate::pki::aia_ocsp("http://127.0.0.1:9/")
    ));
    assert!(!contains(&b.der, &der::oid(&[1, 3, 6, 1, 5, 5, 7, 1, 1])));
    // The intermediate's key identifier, as in the table's leaves.
    let aki = |c: &Cert| {
        let oid = der::oid(&[2, 5, 29, 35]);
        let at = c.der.windows(oid.len()).position(|w| w == oid).unwrap();
        c.der[at..at + oid.len() + 26].to_vec()
    };
    assert_eq!(aki(&a), aki(&pki.other_leaf));
    let resp = parse(&pki.response().cert(&a).build());
    assert_eq!(resp.serial, hex("4001"));
}

#[test]
fn shared_is_cached() {
    assert!(std::ptr::eq(
        Pki::shared(KeyAlg::Ed25519),
        Pki::shared(KeyAlg::Ed25519)
    ));
    assert!(!std::ptr::eq(
        Pki::shared(KeyAlg::Ed25519),
        Pki::shared(KeyAlg::EcdsaP256)
    ));
    assert_eq!(Pki::shared(KeyAlg::EcdsaP256).root.alg, KeyAlg::EcdsaP256);
}

#[test]
fn key_alg_names() {
    let names: Vec<&str> = KeyAlg::ALL.iter().map(|a| a.name()).collect();
    assert_eq!(names, ["rsa2048", "p256", "p384", "p521", "ed25519"]);
}

#[test]
fn pem_files_are_written() {
    let pki = Pki::shared(KeyAlg::Ed25519);
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
    assert_eq!(read("root.pem"), pki.root.pem());
    assert_eq!(read("issuer.pem"), pki.intermediate.pem());
    assert_eq!(read("chain.pem"), pki.leaf.pem() + &pki.intermediate.pem());
    assert!(read("leaf.key").starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(read("signer.key").starts_with("-----BEGIN PRIVATE KEY-----\n"));
    for n in [
        "leaf.pem",
        "signer.pem",
        "other_ca.pem",
        "other_leaf.pem",
        "issuer.key",
    ] {
        assert!(dir.path().join(n).exists(), "{n}");
    }
}

// ---------------------------------------------------------------------------------------------
// Responses, walked with the private DER reader

/// The fields of a built response that the tests look at.
#[derive(Debug)]
struct Parsed {
    status: u8,
    tbs: Vec<u8>,
    tbs_children: Vec<Vec<u8>>,
    responder_tag: u8,
    responder_value: Vec<u8>,
    produced_at: String,
    hash_alg: Vec<u8>,
    name_hash: Vec<u8>,
    key_hash: Vec<u8>,
    serial: Vec<u8>,
    cert_status: Vec<u8>,
    this_update: String,
    next_update: Option<String>,
    single_count: usize,
    sig_alg: Vec<u8>,
    signature: Vec<u8>,
    certs: Option<Vec<Vec<u8>>>,
}

fn parse(resp: &[u8]) -> Parsed {
    let (outer, rest) = der::expect(resp, der::tag::SEQUENCE).unwrap();
    assert!(rest.is_empty(), "trailing data");
    let top = der::children(outer.content).unwrap();
    assert_eq!(top[0].tag, der::tag::ENUMERATED);
    let status = top[0].content[0];
    assert_eq!(top.len(), 2);
    assert_eq!(top[1].tag, 0xa0);
    let (rb, _) = der::expect(top[1].content, der::tag::SEQUENCE).unwrap();
    let rb = der::children(rb.content).unwrap();
    assert_eq!(rb[0].full, &der::oid(&[1, 3, 6, 1, 5, 5, 7, 48, 1, 1])[..]);
    assert_eq!(rb[1].tag, der::tag::OCTET_STRING);
    let (basic, rest) = der::expect(rb[1].content, der::tag::SEQUENCE).unwrap();
    assert!(rest.is_empty());
    let basic = der::children(basic.content).unwrap();
    let tbs = basic[0];
    let tbs_children = der::children(tbs.content).unwrap();
    let mut i = 0;
    if tbs_children[0].tag == 0xa0 {
        i = 1;
    }
    let responder = tbs_children[i];
    let responder_value = match responder.tag {
        0xa1 => responder.content.to_vec(),
        0xa2 => der::expect(responder.content, der::tag::OCTET_STRING)
            .unwrap()
            .0
            .content
            .to_vec(),
        t => panic!("responderID tag {t:#x}"),
    };
    let produced = tbs_children[i + 1];
    assert_eq!(produced.tag, der::tag::GENERALIZED_TIME);
    let singles = der::children(tbs_children[i + 2].content).unwrap();
    let single = der::children(singles[0].content).unwrap();
    let cert_id = der::children(single[0].content).unwrap();
    let next_update = single.get(3).map(|t| {
        assert_eq!(t.tag, 0xa0);
        String::from_utf8(
            der::expect(t.content, der::tag::GENERALIZED_TIME)
                .unwrap()
                .0
                .content
                .to_vec(),
        )
        .unwrap()
    });
    let (bits, _) = der::expect(basic[2].full, der::tag::BIT_STRING).unwrap();
    assert_eq!(bits.content[0], 0);
    let certs = basic.get(3).map(|c| {
        assert_eq!(c.tag, 0xa0);
        let (list, _) = der::expect(c.content, der::tag::SEQUENCE).unwrap();
        der::children(list.content)
            .unwrap()
            .iter()
            .map(|t| t.full.to_vec())
            .collect()
    });
    Parsed {
        status,
        tbs: tbs.full.to_vec(),
        tbs_children: tbs_children.iter().map(|t| t.full.to_vec()).collect(),
        responder_tag: responder.tag,
        responder_value,
        produced_at: String::from_utf8(produced.content.to_vec()).unwrap(),
        hash_alg: cert_id[0].full.to_vec(),
        name_hash: cert_id[1].content.to_vec(),
        key_hash: cert_id[2].content.to_vec(),
        serial: cert_id[3].content.to_vec(),
        cert_status: single[1].full.to_vec(),
        this_update: String::from_utf8(single[2].content.to_vec()).unwrap(),
        next_update,
        single_count: singles.len(),
        sig_alg: basic[1].full.to_vec(),
        signature: bits.content[1..].to_vec(),
        certs,
    }
}

fn sha1(data: &[u8]) -> Vec<u8> {
    sha1::Sha1::digest(data).to_vec()
}

#[test]
fn default_response_fields() {
    let pki = Pki::shared(KeyAlg::Ed25519);
    let r = parse(&pki.response().build());
    assert_eq!(r.status, 0);
    assert_eq!(r.responder_tag, 0xa2);
    assert_eq!(r.responder_value, sha1(pki.intermediate.spki_bits()));
    assert_eq!(r.produced_at, "20260531230000Z");
    assert_eq!(r.this_update, "20260531230000Z");
    assert_eq!(r.next_update.as_deref(), Some("20260608000000Z"));
    assert_eq!(r.hash_alg, hex("30 09 06 05 2b 0e 03 02 1a 05 00"));
    assert_eq!(r.name_hash, sha1(pki.intermediate.subject_der()));
    assert_eq!(r.key_hash, sha1(pki.intermediate.spki_bits()));
    assert_eq!(r.serial, hex("10 01"));
    assert_eq!(r.cert_status, hex("80 00"));
    assert_eq!(r.single_count, 1);
    assert_eq!(r.sig_alg, SigAlg::Ed25519.algorithm_identifier());
    assert!(r.certs.is_none());
    assert!(verifies(
        &pki.intermediate,
        SigAlg::Ed25519,
        &r.tbs,
        &r.signature
    ));
    // tbsResponseData: responderID, producedAt, responses; no version, no extensions.
    assert_eq!(r.tbs_children.len(), 3);
    assert_eq!(pki.response().tbs_response_data(), r.tbs);
}

#[test]
fn setters_reach_the_encoding() {
    let pki = Pki::shared(KeyAlg::Ed25519);
    let r = parse(
        &pki.response()
            .cert(&pki.other_leaf)
            .status(Status::Revoked {
                time: NOW - DAY,
                reason: Some(1),
            })
            .this_update(NOW - 2 * HOUR)
            .next_update(None)
            .produced_at(NOW - 90)
            .responder_id(ResponderIdKind::ByName)
            .hash(HashAlg::Sha256)
            .extra_single(vec![0x99], Status::Unknown)
            .extra_single(vec![0x10, 0x01], Status::Good)
            .nonce(vec![0xab; 16])
            .build(),
    );
    assert_eq!(r.serial, hex("10 02"));
    let mut revoked = hex("a1 16 18 0f");
    revoked.extend_from_slice(b"20260531000000Z");
    revoked.extend_from_slice(&hex("a0 03 0a 01 01"));
    assert_eq!(r.cert_status, revoked);
    assert_eq!(r.this_update, "20260531220000Z");
    assert_eq!(r.next_update, None);
    assert_eq!(r.produced_at, "20260531235830Z");
    assert_eq!(r.responder_tag, 0xa1);
    assert_eq!(r.responder_value, pki.intermediate.subject_der());
    assert_eq!(
        r.hash_alg,
        hex("30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00")
    );
    assert_eq!(
        r.name_hash,
        sha2::Sha256::digest(pki.intermediate.subject_der()).to_vec()
    );
    assert_eq!(r.single_count, 3);
    let mut nonce_ext = hex("a1 23 30 21 30 1f 06 09 2b 06 01 05 05 07 30 01 02 04 12 04 10");
    nonce_ext.extend_from_slice(&[0xab; 16]);
    assert_eq!(r.tbs_children.last().unwrap(), &nonce_ext);

    // The extra SingleResponses, in order, with the INTEGER encoding of an unsigned serial.
    let tbs = der::children(der::read(&r.tbs).unwrap().0.content).unwrap();
    let singles = der::children(tbs[2].content).unwrap();
    let second = der::children(singles[1].content).unwrap();
    let second_id = der::children(second[0].content).unwrap();
    assert_eq!(second_id[3].full, &hex("02 02 00 99")[..]);
    assert_eq!(second[1].full, &hex("82 00")[..]);
    let third = der::children(singles[2].content).unwrap();
    assert_eq!(
        der::children(third[0].content).unwrap()[3].full,
        &hex("02 02 10 01")[..]
    );
}

#[test]
fn delegated_signer_is_embedded_and_identified() {
    let pki = Pki::shared(KeyAlg::EcdsaP384);
    let r = parse(
        &pki.response()
            .signer(Signer::Delegated(&pki.signer))
            .build(),
    );
    assert_eq!(r.responder_value, sha1(pki.signer.spki_bits()));
    assert_eq!(r.certs, Some(vec![pki.signer.der.clone()]));
    assert_eq!(r.sig_alg, SigAlg::EcdsaSha384.algorithm_identifier());
    assert!(verifies(
        &pki.signer,
        SigAlg::EcdsaSha384,
        &r.tbs,
        &r.signature
    ));
    // CertID still names the intermediate.
    assert_eq!(r.key_hash, sha1(pki.intermediate.spki_bits()));

    let r = parse(
        &pki.response()
            .signer(Signer::Delegated(&pki.signer))
            .embed(vec![&pki.signer, &pki.intermediate])
            .sig_alg(SigAlg::EcdsaSha256)
            .build(),
    );
    assert_eq!(
        r.certs,
        Some(vec![pki.signer.der.clone(), pki.intermediate.der.clone()])
    );
    assert!(verifies(
        &pki.signer,
        SigAlg::EcdsaSha256,
        &r.tbs,
        &r.signature
    ));
    let r = parse(
        &pki.response()
            .signer(Signer::Delegated(&pki.signer))
            .embed(vec![])
            .build(),
    );
    assert!(r.certs.is_none());
    let r = parse(&pki.response().embed(vec![&pki.intermediate]).build());
    assert_eq!(r.certs, Some(vec![pki.intermediate.der.clone()]));
}

#[test]
fn issuer_override_changes_cert_id_and_signer() {
    let pki = Pki::shared(KeyAlg::Ed25519);
    let r = parse(
        &pki.response()
            .cert(&pki.rogue_signer)
            .issuer(&pki.other_ca)
            .build(),
    );
    assert_eq!(r.key_hash, sha1(pki.other_ca.spki_bits()));
    assert_eq!(r.name_hash, sha1(pki.other_ca.subject_der()));
    assert_eq!(r.responder_value, sha1(pki.other_ca.spki_bits()));
    assert_eq!(r.serial, hex("30 01"));
    assert!(verifies(
        &pki.other_ca,
        SigAlg::Ed25519,
        &r.tbs,
        &r.signature
    ));
}

#[test]
fn non_successful_status_has_no_response_bytes() {
    let pki = Pki::shared(KeyAlg::Ed25519);
    for s in [1u8, 2, 3, 5, 6] {
        assert_eq!(
            pki.response().response_status(s).build(),
            vec![0x30, 0x03, 0x0a, 0x01, s]
        );
    }
}

#[test]
fn each_defect_does_what_it_says() {
    // Ed25519 signatures are deterministic, so whole encodings can be compared.
    let pki = Pki::shared(KeyAlg::Ed25519);
    let delegated = || pki.response().signer(Signer::Delegated(&pki.signer));
    let base = delegated().build();
    let good = parse(&base);
    assert!(verifies(
        &pki.signer,
        SigAlg::Ed25519,
        &good.tbs,
        &good.signature
    ));
    assert_eq!(
        pki.response().build(),
        pki.response().build(),
        "deterministic"
    );

    for d in Defect::ALL {
        let bytes = delegated().defect(d).build();
        assert_ne!(bytes, base, "{d:?} changes the encoding");
        match d {
            Defect::BadSignature => {
                let r = parse(&bytes);
                assert_eq!(r.tbs, good.tbs);
                assert!(!verifies(
                    &pki.signer,
                    SigAlg::Ed25519,
                    &r.tbs,
                    &r.signature
                ));
            }
            Defect::WrongResponderId => {
                let r = parse(&bytes);
                assert_eq!(r.responder_value, sha1(pki.other_ca.spki_bits()));
                assert!(verifies(&pki.signer, SigAlg::Ed25519, &r.tbs, &r.signature));
                let by_name = parse(
                    &delegated()
                        .responder_id(ResponderIdKind::ByName)
                        .defect(Defect::WrongResponderId)
                        .build(),
                );
                assert_eq!(by_name.responder_value, pki.other_ca.subject_der());
            }
            Defect::WrongIssuerNameHash => {
                let r = parse(&bytes);
                assert_ne!(r.name_hash, good.name_hash);
                assert_eq!(r.name_hash[1..], good.name_hash[1..]);
                assert_eq!(r.key_hash, good.key_hash);
                assert!(verifies(&pki.signer, SigAlg::Ed25519, &r.tbs, &r.signature));
            }
            Defect::WrongIssuerKeyHash => {
                let r = parse(&bytes);
                assert_ne!(r.key_hash, good.key_hash);
                assert_eq!(r.name_hash, good.name_hash);
            }
            Defect::WrongSerial => {
                let r = parse(&bytes);
                assert_eq!(r.serial, hex("10 00"));
                assert!(verifies(&pki.signer, SigAlg::Ed25519, &r.tbs, &r.signature));
            }
            Defect::SignerOtherKey => {
                let r = parse(&bytes);
                assert_eq!(r.responder_value, good.responder_value);
                assert_eq!(r.certs, good.certs);
                assert!(!verifies(
                    &pki.signer,
                    SigAlg::Ed25519,
                    &r.tbs,
                    &r.signature
                ));
                assert!(verifies(
                    &pki.other_ca,
                    SigAlg::Ed25519,
                    &r.tbs,
                    &r.signature
                ));
            }
            Defect::NoEmbeddedSigner => {
                let r = parse(&bytes);
                assert!(r.certs.is_none());
                assert_eq!(r.tbs, good.tbs);
                assert_eq!(r.signature, good.signature);
            }
            Defect::MalformedDer => {
                assert_eq!(bytes, base[..base.len() - 3]);
                assert!(der::read(&bytes).is_none());
            }
            Defect::TrailingData => {
                assert_eq!(bytes[..base.len()], base[..]);
                assert_eq!(bytes[base.len()..], [0x05, 0x00]);
            }
            Defect::ExplicitDefaultVersion => {
                let r = parse(&bytes);
                assert_eq!(r.tbs_children[0], hex("a0 03 02 01 00"));
                assert_eq!(r.tbs_children[1..], good.tbs_children[..]);
                assert!(verifies(&pki.signer, SigAlg::Ed25519, &r.tbs, &r.signature));
            }
            Defect::FractionalSeconds => {
                let r = parse(&bytes);
                assert_eq!(r.produced_at, "20260531230000.5Z");
                assert_eq!(r.this_update, "20260531230000.5Z");
                assert_eq!(r.next_update.as_deref(), Some("20260608000000Z"));
                assert!(verifies(&pki.signer, SigAlg::Ed25519, &r.tbs, &r.signature));
            }
        }
    }

    // Defects combine.
    let both = parse(
        &delegated()
            .defect(Defect::WrongSerial)
            .defect(Defect::NoEmbeddedSigner)
            .build(),
    );
    assert_eq!(both.serial, hex("10 00"));
    assert!(both.certs.is_none());
    // CertID defects touch only the first SingleResponse.
    let pki_resp = pki
        .response()
        .extra_single(vec![0x10, 0x02], Status::Good)
        .defect(Defect::WrongIssuerKeyHash);
    let r = pki_resp.tbs_response_data();
    let tbs = der::children(der::read(&r).unwrap().0.content).unwrap();
    let singles = der::children(tbs[2].content).unwrap();
    let second_id = der::children(der::children(singles[1].content).unwrap()[0].content).unwrap();
    assert_eq!(
        second_id[2].content,
        &sha1(pki.intermediate.spki_bits())[..]
    );
}

#[test]
fn signer_other_key_when_the_signer_is_other_ca() {
    let pki = Pki::shared(KeyAlg::Ed25519);
    let r = parse(
        &pki.response()
            .issuer(&pki.other_ca)
            .defect(Defect::SignerOtherKey)
            .defect(Defect::WrongResponderId)
            .build(),
    );
    assert!(verifies(&pki.root, SigAlg::Ed25519, &r.tbs, &r.signature));
    assert_eq!(r.responder_value, sha1(pki.root.spki_bits()));
}
