//! The daemon driver in-process, with a fixed clock: concurrent fetches under a limit, a slow
//! responder not stalling the others, installs, the status file, and files loaded at start.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Reply, Responder};
use mailstaple_fetch::daemon::{DaemonConfig, DaemonEnv, EntryConfig, Level, run_blocking};
use mailstaple_testpki::{DAY, KeyAlg, NOW, Pki};

fn write_pki(dir: &Path) -> &'static Pki {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    pki.write_pem_files(dir).unwrap();
    pki
}

fn env(log: Arc<Mutex<Vec<(Level, String)>>>) -> DaemonEnv {
    let mut e = DaemonEnv::new(
        Arc::new(|| NOW as i64),
        42,
        Arc::new(move |level, msg: &str| log.lock().unwrap().push((level, msg.to_owned()))),
    );
    e.signals = false;
    e
}

fn entry(dir: &Path, name: &str, url: &str) -> EntryConfig {
    EntryConfig::new(
        name.into(),
        dir.join("leaf.pem"),
        dir.join("issuer.pem"),
        dir.join(format!("{name}.der")),
        Some(url.into()),
    )
}

#[test]
fn slow_responder_does_not_stall_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let pki = write_pki(dir.path());
    let proof = pki.response().build();
    let good = Responder::fixed(Reply::Ok(proof.clone()));
    let slow = Responder::fixed(Reply::Hang);
    let mut cfg = DaemonConfig::default();
    cfg.schedule.max_concurrent = 2;
    cfg.http.total_timeout = Duration::from_secs(3);
    cfg.exit_after_first_round = true;
    cfg.status_file = Some(dir.path().join("status.json"));
    cfg.entries = vec![entry(dir.path(), "slow", &slow.url())];
    for i in 0..6 {
        cfg.entries
            .push(entry(dir.path(), &format!("good{i}"), &good.url()));
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let summary = run_blocking(cfg, None, env(Arc::clone(&log))).unwrap();
    let took = started.elapsed();
    assert_eq!((summary.installed, summary.failed), (6, 1));
    // The six good ones went through the second slot while the slow one held the first; the
    // run ends when the slow one times out, not six timeouts later.
    assert!(took < Duration::from_secs(6), "took {took:?}");
    for i in 0..6 {
        assert_eq!(
            std::fs::read(dir.path().join(format!("good{i}.der"))).unwrap(),
            proof
        );
    }
    assert!(!dir.path().join("slow.der").exists());

    let status: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("status.json")).unwrap()).unwrap();
    let certs = status["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 7);
    let slow_st = certs.iter().find(|c| c["name"] == "slow").unwrap();
    assert_eq!(slow_st["health"], "missing");
    assert_eq!(slow_st["consecutive_failures"], 1);
    assert!(
        slow_st["last_error"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );
    let good_st = certs.iter().find(|c| c["name"] == "good0").unwrap();
    assert_eq!(good_st["health"], "ok");
    assert_eq!(good_st["state"], "waiting");
    assert_eq!(good_st["valid_until"], "2026-06-08T00:00:00Z");
    assert_eq!(status["worst"], "critical");
    let log = log.lock().unwrap();
    assert!(
        log.iter()
            .any(|(l, m)| *l == Level::Warn && m.contains("[slow] fetch failed"))
    );
}

#[test]
fn installed_proofs_are_loaded_and_not_refetched() {
    let dir = tempfile::tempdir().unwrap();
    let pki = write_pki(dir.path());
    let proof = pki.response().build();
    let r = Responder::fixed(Reply::Ok(proof.clone()));
    // "fresh" already holds a proof in the first half of its window; "stale" holds one past it.
    std::fs::write(dir.path().join("fresh.der"), pki.response().build()).unwrap();
    let stale = pki
        .response()
        .this_update(NOW - 6 * DAY)
        .next_update(Some(NOW + DAY))
        .build();
    std::fs::write(dir.path().join("stale.der"), &stale).unwrap();
    let mut cfg = DaemonConfig::default();
    cfg.exit_after_first_round = true;
    cfg.entries = vec![
        entry(dir.path(), "fresh", &r.url()),
        entry(dir.path(), "stale", &r.url()),
    ];
    let summary = run_blocking(cfg, None, env(Arc::default())).unwrap();
    assert_eq!((summary.installed, summary.failed), (1, 0));
    assert_eq!(r.requests().len(), 1);
    assert_eq!(std::fs::read(dir.path().join("stale.der")).unwrap(), proof);
}
