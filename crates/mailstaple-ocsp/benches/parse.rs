//! Parsing: ours against rasn-ocsp's decoder, in the same run.
//!
//! Both sides decode the outer response, the basic response, and walk every SingleResponse.

// Benchmarks run on the test PKI's own data: a failure is a broken fixture, not peer input.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};
use mailstaple_ocsp::OcspResponse;
use mailstaple_testpki::{KeyAlg, Pki, Signer};
use std::hint::black_box;

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for alg in [KeyAlg::EcdsaP256, KeyAlg::Rsa2048] {
        let pki = Pki::shared(alg);
        out.push((format!("{}-issuer", alg.name()), pki.response().build()));
        out.push((
            format!("{}-delegated-with-cert", alg.name()),
            pki.response()
                .signer(Signer::Delegated(&pki.signer))
                .build(),
        ));
    }
    out
}

fn ours(der: &[u8]) -> usize {
    let basic = OcspResponse::parse(der).unwrap().into_basic().unwrap();
    basic
        .responses
        .iter()
        .map(|s| s.cert_id.serial.len())
        .sum::<usize>()
        + basic.tbs_raw.len()
}

fn rasn(der: &[u8]) -> usize {
    let outer: rasn_ocsp::OcspResponse = rasn::der::decode(der).unwrap();
    let bytes = outer.bytes.unwrap();
    let basic: rasn_ocsp::BasicOcspResponse = rasn::der::decode(&bytes.response).unwrap();
    basic
        .tbs_response_data
        .responses
        .iter()
        .map(|s| s.cert_id.issuer_key_hash.len())
        .sum::<usize>()
        + basic.certs.map_or(0, |c| c.len())
}

fn bench(c: &mut Criterion) {
    for (name, der) in fixtures() {
        let mut g = c.benchmark_group(format!("parse/{name}/{}B", der.len()));
        g.bench_function("mailstaple", |b| b.iter(|| ours(black_box(&der))));
        g.bench_function("rasn-ocsp", |b| b.iter(|| rasn(black_box(&der))));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
