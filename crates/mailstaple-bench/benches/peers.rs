//! Parsing and verification, ours against OpenSSL and rasn-ocsp, in one run.

// Benchmarks run on the test PKI's own data: a failure is a broken fixture, not peer input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mailstaple_ocsp::{CertView, OcspResponse};
use mailstaple_testpki::{DAY, HOUR, KeyAlg, NOW, Pki, Signer};
use mailstaple_verify::{Policy, verify};
use openssl::ocsp::{OcspCertId, OcspFlag, OcspResponse as SslResponse};
use openssl::stack::Stack;
use openssl::x509::X509;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use rustls_pki_types::UnixTime;

/// Responses valid from an hour before the test PKI's instant for ten years, so that OpenSSL's
/// `OCSP_check_validity`, which reads the wall clock, accepts them too.
fn response(pki: &Pki, delegated: bool) -> Vec<u8> {
    let b = pki
        .response()
        .this_update(NOW - HOUR)
        .next_update(Some(NOW + 3650 * DAY));
    if delegated {
        b.signer(Signer::Delegated(&pki.signer)).build()
    } else {
        b.build()
    }
}

fn parse(c: &mut Criterion) {
    for alg in [KeyAlg::EcdsaP256, KeyAlg::Rsa2048] {
        let pki = Pki::shared(alg);
        for (kind, der) in [
            ("issuer", response(pki, false)),
            ("delegated-with-cert", response(pki, true)),
        ] {
            let mut g = c.benchmark_group(format!("parse/{}/{kind}/{}B", alg.name(), der.len()));
            g.bench_function("mailstaple", |b| {
                b.iter(|| {
                    let basic = OcspResponse::parse(black_box(&der))
                        .unwrap()
                        .into_basic()
                        .unwrap();
                    basic.responses.len() + basic.certs.len()
                })
            });
            g.bench_function("rasn-ocsp", |b| {
                b.iter(|| {
                    let outer: rasn_ocsp::OcspResponse =
                        rasn::der::decode(black_box(&der)).unwrap();
                    let basic: rasn_ocsp::BasicOcspResponse =
                        rasn::der::decode(&outer.bytes.unwrap().response).unwrap();
                    basic.tbs_response_data.responses.len() + basic.certs.map_or(0, |c| c.len())
                })
            });
            g.bench_function("openssl", |b| {
                b.iter(|| {
                    let resp = SslResponse::from_der(black_box(&der)).unwrap();
                    resp.basic().unwrap()
                })
            });
            g.finish();
        }
    }
}

fn verification(c: &mut Criterion) {
    let now = UnixTime::since_unix_epoch(Duration::from_secs(NOW));
    let policy = Policy::default();
    for alg in [KeyAlg::Rsa2048, KeyAlg::EcdsaP256] {
        let pki = Pki::shared(alg);
        let issuer = X509::from_der(&pki.intermediate.der).unwrap();
        let root = X509::from_der(&pki.root.der).unwrap();
        let leaf = X509::from_der(&pki.leaf.der).unwrap();
        // Equal work: the issuer is the trust anchor, as it is for ours, so OpenSSL checks the
        // same signatures (the response's, and a delegated signer's certificate).
        let anchored = openssl_store(&issuer, X509VerifyFlags::PARTIAL_CHAIN);
        // As Exim configures it (tls_verify_certificates): the root, so OpenSSL also checks the
        // issuer's certificate against it, one more signature than ours.
        let to_root = openssl_store(&root, X509VerifyFlags::empty());
        // Without PARTIAL_CHAIN the issuer alone is no anchor: the flag is what makes it one.
        let unanchored = openssl_store(&issuer, X509VerifyFlags::empty());
        let mut chain = Stack::new().unwrap();
        chain.push(issuer.clone()).unwrap();
        for (kind, delegated) in [("issuer", false), ("delegated", true)] {
            let der = response(pki, delegated);
            let basic = OcspResponse::parse(&der).unwrap().into_basic().unwrap();
            let signer = if delegated {
                &pki.signer.der
            } else {
                &pki.intermediate.der
            };
            let key = CertView::parse(signer).unwrap().public_key.to_vec();
            let (tbs, sig) = (basic.tbs_raw.to_vec(), basic.signature.to_vec());
            // A delegated proof costs two signatures: the response's, and the issuer's over the
            // signer certificate (test data is DER, so re-encoding the tbs gives its bytes).
            let signer_cert = {
                use der::{Decode as _, Encode as _};
                let cert = x509_cert::Certificate::from_der(&pki.signer.der).unwrap();
                let issuer_key = CertView::parse(&pki.intermediate.der)
                    .unwrap()
                    .public_key
                    .to_vec();
                let tbs = cert.tbs_certificate().to_der().unwrap();
                let sig = cert.signature().raw_bytes().to_vec();
                bare_verify(alg, &issuer_key, &tbs, &sig);
                (issuer_key, tbs, sig)
            };
            assert!(
                verify(&der, &pki.leaf.der, &pki.intermediate.der, now, &policy)
                    .unwrap()
                    .is_good()
            );
            // OpenSSL agrees before we time it, with either anchor.
            let ssl = SslResponse::from_der(&der).unwrap().basic().unwrap();
            ssl.verify(&chain, &anchored, OcspFlag::empty()).unwrap();
            ssl.verify(&chain, &to_root, OcspFlag::empty()).unwrap();
            assert!(ssl.verify(&chain, &unanchored, OcspFlag::empty()).is_err());

            let mut g = c.benchmark_group(format!("verify/{}/{kind}", alg.name()));
            g.bench_function("mailstaple", |b| {
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
                b.iter(|| bare_verify(alg, &key, black_box(&tbs), &sig))
            });
            if delegated {
                let (issuer_key, signer_tbs, signer_sig) = &signer_cert;
                g.bench_function("bare signatures (response + signer cert)", |b| {
                    b.iter(|| {
                        bare_verify(alg, &key, black_box(&tbs), &sig);
                        bare_verify(alg, issuer_key, black_box(signer_tbs), signer_sig);
                    })
                });
            }
            let openssl_verify = |store: &X509Store| {
                let resp = SslResponse::from_der(black_box(&der))
                    .unwrap()
                    .basic()
                    .unwrap();
                resp.verify(&chain, store, OcspFlag::empty()).unwrap();
                let id =
                    OcspCertId::from_cert(openssl::hash::MessageDigest::sha1(), &leaf, &issuer)
                        .unwrap();
                let status = resp.find_status(&id).unwrap();
                status.check_validity(300, None).unwrap();
            };
            g.bench_function("openssl", |b| b.iter(|| openssl_verify(&anchored)));
            g.bench_function("openssl as Exim configures it, chain to the root", |b| {
                b.iter(|| openssl_verify(&to_root))
            });
            g.finish();
        }
    }
}

/// An OpenSSL store trusting `anchor` alone, at the test PKI's instant, with `flags`.
fn openssl_store(anchor: &X509, flags: X509VerifyFlags) -> X509Store {
    let mut store = X509StoreBuilder::new().unwrap();
    store.add_cert(anchor.clone()).unwrap();
    let mut param = X509VerifyParam::new().unwrap();
    param.set_time(NOW as i64);
    param.set_flags(flags).unwrap();
    store.set_param(&param).unwrap();
    store.build()
}

/// The bare signature check with aws-lc-rs, the provider `mailstaple-verify` uses.
fn bare_verify(alg: KeyAlg, key: &[u8], msg: &[u8], sig: &[u8]) {
    use aws_lc_rs::signature::{self, UnparsedPublicKey};
    let algorithm: &dyn signature::VerificationAlgorithm = match alg {
        KeyAlg::Rsa2048 => &signature::RSA_PKCS1_2048_8192_SHA256,
        _ => &signature::ECDSA_P256_SHA256_ASN1,
    };
    UnparsedPublicKey::new(algorithm, key)
        .verify(msg, sig)
        .unwrap();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = parse, verification
}
criterion_main!(benches);
