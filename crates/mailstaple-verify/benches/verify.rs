//! Verification: the whole of `verify` against its signature check alone, in the same run.
//!
//! "Bare signature" is aws-lc-rs verifying the response signature over the tbs bytes with the
//! signer's public key, with all parsing done outside the timed loop: the floor any verifier pays.

// Benchmarks run on the test PKI's own data: a failure is a broken fixture, not peer input.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use criterion::{Criterion, criterion_group, criterion_main};
use mailstaple_ocsp::{CertView, OcspResponse};
use mailstaple_testpki::{KeyAlg, NOW, Pki, Signer};
use mailstaple_verify::{Policy, verify};
use rustls_pki_types::UnixTime;

fn bench(c: &mut Criterion) {
    let now = UnixTime::since_unix_epoch(Duration::from_secs(NOW));
    let policy = Policy::default();
    for alg in [KeyAlg::Rsa2048, KeyAlg::EcdsaP256] {
        let pki = Pki::shared(alg);
        let algorithm: &'static dyn signature::VerificationAlgorithm = match alg {
            KeyAlg::Rsa2048 => &signature::RSA_PKCS1_2048_8192_SHA256,
            _ => &signature::ECDSA_P256_SHA256_ASN1,
        };
        for (kind, der) in [
            ("issuer", pki.response().build()),
            (
                "delegated",
                pki.response()
                    .signer(Signer::Delegated(&pki.signer))
                    .build(),
            ),
        ] {
            let basic = OcspResponse::parse(&der).unwrap().into_basic().unwrap();
            let signer_der = if kind == "issuer" {
                &pki.intermediate.der
            } else {
                &pki.signer.der
            };
            let key = CertView::parse(signer_der).unwrap().public_key.to_vec();
            let (tbs, sig) = (basic.tbs_raw.to_vec(), basic.signature.to_vec());
            let issuer_key = CertView::parse(&pki.intermediate.der)
                .unwrap()
                .public_key
                .to_vec();
            let (signer_tbs, signer_sig) = split_cert(&pki.signer.der);
            assert!(
                verify(&der, &pki.leaf.der, &pki.intermediate.der, now, &policy)
                    .unwrap()
                    .is_good()
            );
            let mut g = c.benchmark_group(format!("verify/{}/{kind}", alg.name()));
            g.bench_function("mailstaple verify", |b| {
                b.iter(|| {
                    verify(
                        black_box(&der),
                        &pki.leaf.der,
                        &pki.intermediate.der,
                        now,
                        &policy,
                    )
                    .unwrap()
                })
            });
            g.bench_function("bare signature", |b| {
                b.iter(|| {
                    UnparsedPublicKey::new(algorithm, &key)
                        .verify(black_box(&tbs), &sig)
                        .unwrap()
                })
            });
            if kind == "delegated" {
                // A delegated proof needs two signatures: the response's and the issuer's over the
                // signer certificate. This is their bare cost together.
                g.bench_function("bare signatures (response + signer cert)", |b| {
                    b.iter(|| {
                        UnparsedPublicKey::new(algorithm, &key)
                            .verify(black_box(&tbs), &sig)
                            .unwrap();
                        UnparsedPublicKey::new(algorithm, &issuer_key)
                            .verify(black_box(&signer_tbs), &signer_sig)
                            .unwrap();
                    })
                });
            }
            g.finish();
        }
    }
}

/// (tbsCertificate TLV, signature bits) of a certificate, by a minimal DER walk of test data.
fn split_cert(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn tlv(b: &[u8]) -> (usize, usize) {
        let (len, hdr) = match b[1] {
            l if l < 0x80 => (l as usize, 2),
            0x81 => (b[2] as usize, 3),
            0x82 => (((b[2] as usize) << 8) | b[3] as usize, 4),
            _ => panic!("test certificate too large"),
        };
        (hdr, len)
    }
    let (hdr, _) = tlv(der);
    let body = &der[hdr..];
    let (h1, l1) = tlv(body);
    let tbs = body[..h1 + l1].to_vec();
    let rest = &body[h1 + l1..];
    let (h2, l2) = tlv(rest);
    let rest = &rest[h2 + l2..];
    let (h3, l3) = tlv(rest);
    let sig = rest[h3 + 1..h3 + l3].to_vec();
    (tbs, sig)
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
