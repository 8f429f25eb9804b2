//! Signed OCSP responses per second from the sans-IO core: from the cache, and signed afresh
//! (nonce requests, which are never cached), for each key algorithm of the test PKI.

// Benchmarks run on the test PKI's own data: a failure is a broken fixture, not peer input.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mailstaple_ocsp::{CertId, CertView, HashAlgorithm, Time, build_request};
use mailstaple_responder::{Index, Responder, ResponderConfig, SigningKey, http};
use mailstaple_testpki::{KeyAlg, NOW, Pki};

fn responder(pki: &Pki) -> Responder {
    let index =
        Index::parse(b"V\t270601000000Z\t\t1001\tunknown\t/CN=mail.example.test\n").unwrap();
    let key = SigningKey::from_file_contents(pki.signer.key_pem().as_bytes()).unwrap();
    let now = Time::from_unix(NOW as i64);
    Responder::new(
        &pki.intermediate.der,
        Some(&pki.signer.der),
        key,
        index,
        &ResponderConfig::default(),
        now,
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let now = Time::from_unix(NOW as i64);
    let mut group = c.benchmark_group("respond");
    group.throughput(Throughput::Elements(1));
    for alg in [KeyAlg::EcdsaP256, KeyAlg::Rsa2048, KeyAlg::Ed25519] {
        let pki = Pki::shared(alg);
        let r = responder(pki);
        let id = CertId::new(
            &CertView::parse(&pki.leaf.der).unwrap(),
            &CertView::parse(&pki.intermediate.der).unwrap(),
            HashAlgorithm::Sha1,
        );
        let plain = build_request(std::slice::from_ref(&id), None);
        let nonced = build_request(std::slice::from_ref(&id), Some(&[7; 16]));
        assert!(!r.respond(&plain, now).from_cache);
        assert!(r.respond(&plain, now).from_cache);
        group.bench_function(format!("cached/{}", alg.name()), |b| {
            b.iter(|| r.respond(black_box(&plain), now))
        });
        group.bench_function(format!("cached-http-post/{}", alg.name()), |b| {
            b.iter(|| http::post(&r, black_box(&plain), now))
        });
        group.bench_function(format!("signed/{}", alg.name()), |b| {
            b.iter(|| r.respond(black_box(&nonced), now))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
