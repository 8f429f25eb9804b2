//! Fuzz harness logic for `responder_request`; the target under `fuzz/` is a one-line shim.
//!
//! The harness needs no fixture: on first use it makes a CA certificate with a fixed public key
//! (so CertIDs, and the seeds, are the same in every run), a delegated signer certificate for a
//! fresh P-256 key, and an index with a good, a revoked and an expired serial. The certificates
//! are minimal and their signatures are not valid, which no part of the responder checks.

use std::sync::OnceLock;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use mailstaple_ocsp::{
    CertId, CertView, HashAlgorithm, OcspRequest, OcspResponse, ResponseStatus, Time, build_request,
};

use crate::{Index, Responder, ResponderConfig, SigningKey, http};

/// 2026-06-01T00:00:00Z.
const NOW: i64 = 1_780_272_000;
const CACHE: usize = 4096;
const CA: &[u8] = b"mailstaple fuzz CA";

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn name(cn: &[u8]) -> Vec<u8> {
    let cn = tlv(
        0x30,
        &[tlv(0x06, &[0x55, 0x04, 0x03]), tlv(0x0c, cn)].concat(),
    );
    tlv(0x30, &tlv(0x31, &cn))
}

/// A certificate that `CertView` accepts (its signature is not valid: nothing in the responder
/// checks it), with `public_key` as its subjectPublicKey and, for a signer, the
/// id-kp-OCSPSigning extended key usage.
fn certificate(subject: &[u8], issuer: &[u8], public_key: &[u8], ocsp_signer: bool) -> Vec<u8> {
    let ec_alg = tlv(
        0x30,
        &[
            tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
            tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
        ]
        .concat(),
    );
    let sig_alg = tlv(
        0x30,
        &tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
    );
    let validity = tlv(
        0x30,
        &[tlv(0x17, b"260101000000Z"), tlv(0x17, b"360101000000Z")].concat(),
    );
    let spki = tlv(
        0x30,
        &[ec_alg, tlv(0x03, &[&[0][..], public_key].concat())].concat(),
    );
    let mut fields = vec![
        tlv(0xa0, &tlv(0x02, &[2])),
        tlv(0x02, &[1]),
        sig_alg.clone(),
        name(issuer),
        validity,
        name(subject),
        spki,
    ];
    if ocsp_signer {
        let eku = tlv(0x30, &tlv(0x06, mailstaple_ocsp::OID_KP_OCSP_SIGNING));
        let ext = tlv(
            0x30,
            &[tlv(0x06, &[0x55, 0x1d, 0x25]), tlv(0x04, &eku)].concat(),
        );
        fields.push(tlv(0xa3, &tlv(0x30, &ext)));
    }
    let tbs = tlv(0x30, &fields.concat());
    tlv(0x30, &[tbs, sig_alg, tlv(0x03, &[0, 0x30, 0])].concat())
}

pub(crate) struct Fixture {
    pub(crate) responder: Responder,
    ca: Vec<u8>,
}

pub(crate) fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).ok()?;
            let key = SigningKey::from_der(pkcs8.as_ref()).ok()?;
            // The CA's key is never used, so a fixed one keeps the CertIDs, and with them the
            // committed seeds, the same from run to run; only the delegated signer's key is new.
            let ca = certificate(CA, CA, &[0x04; 65], false);
            let signer = certificate(b"mailstaple fuzz signer", CA, key.public_key(), true);
            let index = Index::parse(
                b"V\t270601000000Z\t\t01\tunknown\t/CN=a\n\
                  R\t270601000000Z\t260501000000Z,keyCompromise\t02\tunknown\t/CN=b\n\
                  E\t260101000000Z\t\t03\tunknown\t/CN=c\n",
            )
            .ok()?;
            let config = ResponderConfig {
                cache_capacity: CACHE,
                ..ResponderConfig::default()
            };
            let responder = Responder::new(
                &ca,
                Some(&signer),
                key,
                index,
                &config,
                Time::from_unix(NOW),
            )
            .ok()?;
            Some(Fixture { responder, ca })
        })
        .as_ref()
}

/// Seed inputs for the target: POST and GET forms of requests for good, revoked, expired and
/// unknown serials, SHA-1 and SHA-256 CertIDs, several CertIDs, with and without a nonce.
pub fn seeds() -> Vec<Vec<u8>> {
    let Some(f) = fixture() else {
        return Vec::new();
    };
    let Ok(ca) = CertView::parse(&f.ca) else {
        return Vec::new();
    };
    let id = |serial: u8, hash| {
        let mut id = CertId::new(&ca, &ca, hash);
        id.serial = vec![serial];
        id
    };
    let requests = [
        build_request(&[id(1, HashAlgorithm::Sha1)], None),
        build_request(&[id(2, HashAlgorithm::Sha1)], Some(&[7; 16])),
        build_request(&[id(3, HashAlgorithm::Sha256)], None),
        build_request(
            &[
                id(1, HashAlgorithm::Sha256),
                id(2, HashAlgorithm::Sha1),
                id(9, HashAlgorithm::Sha1),
            ],
            Some(&[1; 32]),
        ),
    ];
    let mut out = Vec::new();
    for r in requests {
        out.push([&[0u8][..], &r].concat());
        out.push(
            [
                &b"\x01/"[..],
                mailstaple_ocsp::base64::encode(&r).as_bytes(),
            ]
            .concat(),
        );
    }
    out
}

/// `responder_request`: the first byte picks POST (even) or GET (odd), the rest is the body or
/// the path. Whatever the bytes, the answer is a well-formed `OCSPResponse`, and it is the right
/// kind: `malformedRequest` exactly when the request does not decode, one SingleResponse per
/// CertID in request order when successful, the nonce echoed when one of 1 to 32 octets was
/// sent, and the same bytes again for a repeated nonce-less request while the cache has room.
///
/// A first byte of `0xff` makes the rest an `index.txt` instead (see [`index_file`]).
pub fn responder_request(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector == 0xff {
        index_file(rest);
        return;
    }
    let Some(Fixture { responder, .. }) = fixture() else {
        return;
    };
    let now = Time::from_unix(NOW);
    let (answer, request) = if selector % 2 == 0 {
        (http::post(responder, rest, now), rest.to_vec())
    } else {
        let path = String::from_utf8_lossy(rest);
        (
            http::get(responder, &path, None, now),
            http::decode_get_path(&path).unwrap_or_default(),
        )
    };
    assert_eq!(answer.status, 200);
    let response = OcspResponse::parse(&answer.body);
    assert!(
        response.is_ok(),
        "the responder's answer must decode: {response:?}"
    );
    let Ok(response) = response else { return };
    let Ok(parsed) = OcspRequest::parse(&request) else {
        assert_eq!(response.status, ResponseStatus::MalformedRequest);
        return;
    };
    let Some(basic) = response.basic else {
        assert_eq!(response.status, ResponseStatus::Unauthorized);
        return;
    };
    assert_eq!(basic.responses.len(), parsed.cert_ids.len());
    for (single, asked) in basic.responses.iter().zip(&parsed.cert_ids) {
        assert_eq!(single.cert_id.serial, asked.serial);
        assert_eq!(single.cert_id.issuer_key_hash, asked.issuer_key_hash);
        assert!(single.next_update.is_some_and(|n| n > single.this_update));
    }
    let asked_nonce = parsed.nonce_extension().map(|e| e.value);
    let echoed = basic
        .extensions
        .iter()
        .find(|e| e.oid == mailstaple_ocsp::OID_OCSP_NONCE)
        .map(|e| e.value);
    match echoed {
        Some(value) => assert_eq!(Some(value), asked_nonce),
        None => {
            let room = responder.cache_len() < CACHE;
            let again = responder.respond(&request, now);
            if room {
                assert_eq!(
                    again.der, answer.body,
                    "a nonce-less answer is stable within its window"
                );
            }
        }
    }
}

/// An arbitrary `index.txt`: parsing never panics, and a file that parses lists exactly its
/// non-blank lines, each found again by the serial in its fourth field (decoded here
/// independently, as a CertID would carry it: big-endian, a 0x00 before a high bit).
pub fn index_file(text: &[u8]) {
    let Ok(index) = Index::parse(text) else {
        return;
    };
    let mut listed = 0;
    for (n, raw) in text.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        listed += 1;
        let hex = raw.split(|&b| b == b'\t').nth(3).unwrap_or_default();
        let mut value: Vec<u8> = Vec::new();
        let digits: Vec<u8> = hex
            .iter()
            .filter_map(|&c| {
                char::from(c)
                    .to_digit(16)
                    .and_then(|d| u8::try_from(d).ok())
            })
            .collect();
        assert_eq!(
            digits.len(),
            hex.len(),
            "line {}: accepted a non-hex serial",
            n + 1
        );
        let pad = usize::from(digits.len() % 2 == 1);
        for (i, d) in std::iter::repeat_n(0, pad).chain(digits).enumerate() {
            if i % 2 == 0 {
                value.push(d << 4);
            } else if let Some(last) = value.last_mut() {
                *last |= d;
            }
        }
        let start = value.iter().position(|&b| b != 0).unwrap_or(value.len());
        let mut serial = value.split_off(start);
        if serial.first().is_none_or(|&b| b & 0x80 != 0) {
            serial.insert(0, 0);
        }
        let entry = index.lookup(&serial);
        assert_eq!(
            entry.map(|e| e.line),
            Some(n + 1),
            "line {} not found by its serial",
            n + 1
        );
    }
    assert_eq!(index.len(), listed);
}

/// An `index.txt` seed for [`index_file`]: every status, a reason with an argument, an odd-length
/// serial, a CRLF and a blank line.
pub const SEED_INDEX: &[u8] = b"V\t270601000000Z\t\t1001\tunknown\t/CN=mail.example.test\r\n\n\
    R\t270601000000Z\t260520000000Z,keyCompromise\t00FF\tunknown\t/CN=other\n\
    R\t270601000000Z\t260520000000Z,holdInstruction,1.2.840.10040.2.2\t0A\tunknown\t/CN=x\n\
    E\t250101000000Z\t\tabc\tunknown\t/CN=old.example.test\n";

#[cfg(test)]
mod tests {
    use super::{SEED_INDEX, index_file, responder_request};

    #[test]
    fn the_index_seed_parses_and_passes_the_harness() {
        assert_eq!(
            crate::Index::parse(SEED_INDEX).map(|i| i.len()).ok(),
            Some(4)
        );
        index_file(SEED_INDEX);
        responder_request(&[&[0xff][..], SEED_INDEX].concat());
    }
}
