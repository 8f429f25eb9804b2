//! Signing ahead for a large CA: the time to pre-sign an answer for every serial of a 100,000-line
//! index (P-256 and RSA-2048 signers), and the memory each pre-signed answer takes.
//!
//! Run with `cargo bench -p mailstaple-responder --bench presign`; `PRESIGN_BENCH_N` changes the
//! number of serials. Under `cargo test --benches` (no `--bench` argument) it runs with 200
//! serials, to show that it works. It prints `presign: ...` lines, which `cargo xtask bench`
//! puts into BENCHMARKS.md. Memory is the growth of the process's resident set while the answers
//! are made, divided by their number: the DER, the map entry and the entity tag, as the
//! responder keeps them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::fmt::Write as _;
use std::time::Instant;

use mailstaple_ocsp::Time;
use mailstaple_responder::{Index, Responder, ResponderConfig, SigningKey};
use mailstaple_testpki::{KeyAlg, NOW, Pki};

fn proc_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// An `index.txt` with `n` valid certificates, one in ten revoked.
fn index(n: usize) -> Index {
    let mut text = String::with_capacity(n * 64);
    for i in 0..n {
        let serial = 0x10_0000 + i;
        if i % 10 == 0 {
            let _ = writeln!(
                text,
                "R\t270601000000Z\t260501000000Z,keyCompromise\t{serial:06X}\tunknown\t/CN=c{i}"
            );
        } else {
            let _ = writeln!(text, "V\t270601000000Z\t\t{serial:06X}\tunknown\t/CN=c{i}");
        }
    }
    Index::parse(text.as_bytes()).unwrap()
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("PRESIGN_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if measuring { 100_000 } else { 200 });
    let now = Time::from_unix(NOW as i64);
    for alg in [KeyAlg::EcdsaP256, KeyAlg::Rsa2048] {
        let pki = Pki::shared(alg);
        let key = SigningKey::from_file_contents(pki.signer.key_pem().as_bytes()).unwrap();
        let responder = Responder::new(
            &pki.intermediate.der,
            Some(&pki.signer.der),
            key,
            index(n),
            &ResponderConfig::default(),
            now,
        )
        .unwrap();
        let rss_before = proc_kib("VmRSS:");
        let started = Instant::now();
        let report = responder.presign(now).unwrap();
        let took = started.elapsed();
        let rss_after = proc_kib("VmRSS:");
        assert_eq!(report.responses, n);
        assert_eq!(report.failures, 0);
        assert_eq!(responder.presigned_len(), n);
        let per_sec = n as f64 / took.as_secs_f64().max(f64::EPSILON);
        let rss_per = (rss_after.saturating_sub(rss_before) * 1024) as f64 / n as f64;
        println!(
            "presign: {} signer, {n} serials: {:.2} s, {per_sec:.0} answers/s; {} bytes of DER per answer, {rss_per:.0} bytes of memory per answer",
            alg.name(),
            took.as_secs_f64(),
            report.bytes / n.max(1),
        );
    }
}
