//! The fleet protocol in-process: daemons sharing a `MemoryStore` (the Redis store's semantics,
//! in memory) and counting responders. The same scenarios run against real Redis processes in
//! `crates/mailstaple/tests/fleet_redis.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Reply, Responder};
use mailstaple_fetch::daemon::{DaemonConfig, DaemonEnv, EntryConfig, Level, run_blocking};
use mailstaple_fetch::fleet::FleetOptions;
use mailstaple_store::{MemoryStore, Store, StoreKey};
use mailstaple_testpki::{DAY, KeyAlg, NOW, Pki};

type Log = Arc<Mutex<Vec<(Level, String)>>>;

/// A clock that starts at the test PKI's instant and advances with the monotonic clock.
fn clock() -> Arc<dyn Fn() -> i64 + Send + Sync> {
    let start = Instant::now();
    Arc::new(move || NOW as i64 + start.elapsed().as_secs() as i64)
}

fn store() -> MemoryStore {
    let start = Instant::now();
    MemoryStore::new(Arc::new(move || start.elapsed().as_millis() as i64))
}

fn env(node: &str, store: &MemoryStore, log: Log) -> DaemonEnv {
    let mut e = DaemonEnv::new(
        clock(),
        7,
        Arc::new(move |level, msg: &str| log.lock().unwrap().push((level, msg.to_owned()))),
    );
    e.signals = false;
    let mut f = FleetOptions::new(
        Arc::new(store.clone()),
        node.into(),
        node.len() as u64,
        "t".into(),
    );
    f.poll = Duration::from_secs(1);
    f.lease_ttl = Duration::from_secs(10);
    e.fleet = Some(f);
    e
}

fn pki_dir(dir: &Path) -> &'static Pki {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    pki.write_pem_files(dir).unwrap();
    std::fs::write(dir.join("other.pem"), pki.other_leaf.pem()).unwrap();
    pki
}

fn config(dir: &Path, node_dir: &Path, leaf_url: &str, other_url: &str) -> DaemonConfig {
    std::fs::create_dir_all(node_dir).unwrap();
    let mut cfg = DaemonConfig::default();
    cfg.exit_after_first_round = true;
    cfg.http.total_timeout = Duration::from_secs(5);
    cfg.status_file = Some(node_dir.join("status.json"));
    cfg.entries = vec![
        EntryConfig::new(
            "leaf".into(),
            dir.join("leaf.pem"),
            dir.join("issuer.pem"),
            node_dir.join("leaf.der"),
            Some(leaf_url.into()),
        ),
        EntryConfig::new(
            "other".into(),
            dir.join("other.pem"),
            dir.join("issuer.pem"),
            node_dir.join("other.der"),
            Some(other_url.into()),
        ),
    ];
    cfg
}

fn run_nodes(cfgs: Vec<(String, DaemonConfig)>, store: &MemoryStore, log: &Log) {
    let handles: Vec<_> = cfgs
        .into_iter()
        .map(|(node, cfg)| {
            let e = env(&node, store, Arc::clone(log));
            std::thread::spawn(move || run_blocking(cfg, None, e).unwrap())
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn three_nodes_ask_the_responder_once_and_staple_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki_dir(dir.path());
    let leaf_proof = pki.response().build();
    let other_proof = pki.response().cert(&pki.other_leaf).build();
    let leaf_r = Responder::fixed(Reply::Ok(leaf_proof.clone()));
    let other_r = Responder::fixed(Reply::Ok(other_proof.clone()));
    let store = store();
    let log: Log = Arc::default();
    let nodes: Vec<(String, PathBuf)> = (1..=3)
        .map(|i| (format!("n{i}"), dir.path().join(format!("n{i}"))))
        .collect();
    let cfgs = nodes
        .iter()
        .map(|(n, d)| {
            (
                n.clone(),
                config(dir.path(), d, &leaf_r.url(), &other_r.url()),
            )
        })
        .collect();
    run_nodes(cfgs, &store, &log);

    assert_eq!(leaf_r.requests().len(), 1, "{:?}", log.lock().unwrap());
    assert_eq!(other_r.requests().len(), 1);
    let mut sources = Vec::new();
    for (_, d) in &nodes {
        assert_eq!(std::fs::read(d.join("leaf.der")).unwrap(), leaf_proof);
        assert_eq!(std::fs::read(d.join("other.der")).unwrap(), other_proof);
        let status: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("status.json")).unwrap()).unwrap();
        assert_eq!(status["store"]["url"], "memory");
        assert_eq!(status["store"]["health"], "up");
        for c in status["certificates"].as_array().unwrap() {
            sources.push(c["source"].as_str().unwrap().to_owned());
        }
    }
    sources.sort();
    assert_eq!(
        sources,
        ["responder", "responder", "store", "store", "store", "store"]
    );
    let key = StoreKey::for_certificate("t", &pki.leaf.der, &pki.intermediate.der).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(
        rt.block_on(store.get(&key)).unwrap().as_deref(),
        Some(&leaf_proof[..])
    );
}

#[test]
fn hostile_store_contents_are_refused_logged_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki_dir(dir.path());
    let leaf_proof = pki.response().build();
    let other_proof = pki.response().cert(&pki.other_leaf).build();
    let expired = pki
        .response()
        .this_update(NOW - 10 * DAY)
        .next_update(Some(NOW - 3 * DAY))
        .produced_at(NOW - 10 * DAY)
        .build();
    let mut forged = pki.response().this_update(NOW + 60).build();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let store = store();
    let key = StoreKey::for_certificate("t", &pki.leaf.der, &pki.intermediate.der).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (what, hostile) in [
        ("garbage", b"not a proof at all".to_vec()),
        ("another certificate's proof", other_proof.clone()),
        ("an expired proof", expired),
        ("a bad signature", forged),
    ] {
        let leaf_r = Responder::fixed(Reply::Ok(leaf_proof.clone()));
        let other_r = Responder::fixed(Reply::Ok(other_proof.clone()));
        store.raw_set(key.proof(), hostile.clone());
        let node_dir = dir.path().join(what.replace(' ', "_"));
        let log: Log = Arc::default();
        let cfg = config(dir.path(), &node_dir, &leaf_r.url(), &other_r.url());
        run_nodes(vec![("n1".into(), cfg)], &store, &log);
        // Never installed; the responder was asked; the store now holds the good proof.
        assert_eq!(
            std::fs::read(node_dir.join("leaf.der")).unwrap(),
            leaf_proof,
            "{what}"
        );
        assert_eq!(leaf_r.requests().len(), 1, "{what}");
        assert_eq!(
            rt.block_on(store.get(&key)).unwrap().as_deref(),
            Some(&leaf_proof[..]),
            "{what}"
        );
        let log = log.lock().unwrap();
        assert!(
            log.iter()
                .any(|(l, m)| *l == Level::Warn && m.contains("[leaf] store: refused")),
            "{what}: {log:?}"
        );
    }
}

#[test]
fn an_older_stored_proof_is_not_installed_over_a_newer_one() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki_dir(dir.path());
    // The node holds a proof past its midpoint; the store holds an older authentic one; the
    // responder gives a fresh one.
    let held = pki
        .response()
        .this_update(NOW - 4 * DAY)
        .next_update(Some(NOW + 3 * DAY))
        .produced_at(NOW - 4 * DAY)
        .build();
    let older = pki
        .response()
        .this_update(NOW - 5 * DAY)
        .next_update(Some(NOW + 2 * DAY))
        .produced_at(NOW - 5 * DAY)
        .build();
    let fresh = pki.response().build();
    let leaf_r = Responder::fixed(Reply::Ok(fresh.clone()));
    let other_r = Responder::fixed(Reply::Ok(pki.response().cert(&pki.other_leaf).build()));
    let store = store();
    let key = StoreKey::for_certificate("t", &pki.leaf.der, &pki.intermediate.der).unwrap();
    store.raw_set(key.proof(), older);
    let node_dir = dir.path().join("n1");
    std::fs::create_dir_all(&node_dir).unwrap();
    std::fs::write(node_dir.join("leaf.der"), &held).unwrap();
    let log: Log = Arc::default();
    let cfg = config(dir.path(), &node_dir, &leaf_r.url(), &other_r.url());
    run_nodes(vec![("n1".into(), cfg)], &store, &log);
    assert_eq!(std::fs::read(node_dir.join("leaf.der")).unwrap(), fresh);
    assert_eq!(leaf_r.requests().len(), 1);
}

#[test]
fn a_store_that_is_down_is_not_an_outage() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki_dir(dir.path());
    let leaf_proof = pki.response().build();
    let leaf_r = Responder::fixed(Reply::Ok(leaf_proof.clone()));
    let other_r = Responder::fixed(Reply::Ok(pki.response().cert(&pki.other_leaf).build()));
    let store = store();
    store.set_down(true);
    let log: Log = Arc::default();
    let nodes: Vec<(String, DaemonConfig)> = (1..=2)
        .map(|i| {
            let d = dir.path().join(format!("n{i}"));
            (
                format!("n{i}"),
                config(dir.path(), &d, &leaf_r.url(), &other_r.url()),
            )
        })
        .collect();
    run_nodes(nodes, &store, &log);
    for i in 1..=2 {
        let d = dir.path().join(format!("n{i}"));
        assert_eq!(std::fs::read(d.join("leaf.der")).unwrap(), leaf_proof);
        let status: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("status.json")).unwrap()).unwrap();
        assert_eq!(status["store"]["health"], "down");
    }
    // Each node asked on its own, as without a store.
    assert_eq!(leaf_r.requests().len(), 2);
    let log = log.lock().unwrap();
    let down: Vec<_> = log
        .iter()
        .filter(|(l, m)| *l == Level::Warn && m.contains("fetching directly"))
        .collect();
    // Logged once per node, not once per certificate.
    assert_eq!(down.len(), 2, "{log:?}");
}

#[test]
fn a_lease_nobody_releases_does_not_stop_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki_dir(dir.path());
    let leaf_proof = pki.response().build();
    let leaf_r = Responder::fixed(Reply::Ok(leaf_proof.clone()));
    let other_r = Responder::fixed(Reply::Ok(pki.response().cert(&pki.other_leaf).build()));
    let store = store();
    let key = StoreKey::for_certificate("t", &pki.leaf.der, &pki.intermediate.der).unwrap();
    // An intruder's lease without a TTL.
    store.raw_set(key.lease(), b"intruder".to_vec());
    let node_dir = dir.path().join("n1");
    let cfg = config(dir.path(), &node_dir, &leaf_r.url(), &other_r.url());
    let log: Log = Arc::default();
    let mut e = env("n1", &store, Arc::clone(&log));
    if let Some(f) = e.fleet.as_mut() {
        f.lease_ttl = Duration::from_secs(1);
    }
    let started = Instant::now();
    run_blocking(cfg, None, e).unwrap();
    // It waited for the "holder" a few polls (two TTLs and a poll), then fetched without it.
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        std::fs::read(node_dir.join("leaf.der")).unwrap(),
        leaf_proof
    );
    assert_eq!(leaf_r.requests().len(), 1);
}
