//! Refreshing 10,000 certificates against a local (in-process, loopback) responder with the
//! daemon driver: certificates per second and peak memory per certificate.
//!
//! Run with `cargo bench -p mailstaple-fetch --bench refresh`. Every entry is the test PKI's leaf
//! with its own output file: the work per certificate (request, HTTP exchange, verification,
//! atomic install with two fsyncs) is the same as for distinct certificates. The responder runs
//! in the same process, so its memory is counted too (an overestimate).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{Reply, Responder};
use mailstaple_fetch::daemon::{DaemonConfig, DaemonEnv, EntryConfig, run_blocking};
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

fn main() {
    let n: usize = std::env::var("FETCH_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let concurrency: usize = std::env::var("FETCH_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    let responder = Responder::fixed(Reply::Ok(pki.response().build()));
    let mut cfg = DaemonConfig::default();
    cfg.schedule.max_concurrent = concurrency;
    cfg.exit_after_first_round = true;
    cfg.entries = (0..n)
        .map(|i| {
            EntryConfig::new(
                format!("c{i}"),
                dir.path().join("leaf.pem"),
                dir.path().join("issuer.pem"),
                dir.path().join(format!("c{i}.der")),
                Some(responder.url()),
            )
        })
        .collect();
    let mut env = DaemonEnv::new(
        Arc::new(|| NOW as i64),
        7,
        Arc::new(|_, m: &str| eprintln!("{m}")),
    );
    env.signals = false;

    let rss_before = proc_kib("VmRSS:");
    let started = Instant::now();
    let summary = run_blocking(cfg, None, env).unwrap();
    let took = started.elapsed();
    let peak = proc_kib("VmHWM:");
    assert_eq!(summary.installed as usize, n, "{summary:?}");
    let per_sec = n as f64 / took.as_secs_f64().max(f64::EPSILON);
    let per_cert = (peak.saturating_sub(rss_before) * 1024) as f64 / n as f64;
    println!(
        "refresh: {n} certificates, concurrency {concurrency}: {:.2} s, {per_sec:.0} certificates/s; \
         RSS before {rss_before} KiB, peak {peak} KiB, {per_cert:.0} bytes per certificate",
        took.as_secs_f64()
    );
    let cleanup = Instant::now();
    drop(responder);
    let responder_stop = cleanup.elapsed();
    drop(dir);
    println!(
        "(teardown, not measured: responder {responder_stop:?}, removing the files {:?})",
        cleanup.elapsed() - responder_stop
    );
}
