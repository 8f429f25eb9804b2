//! The race: 1,000 atomic replacements of the proof file (valid, expired, foreign and garbage
//! files mixed) while the watcher polls every millisecond and two threads run at least 10,000
//! in-memory handshakes (TLS 1.2 and 1.3 alternating). Every stapled response must be
//! byte-identical to a valid file: never expired, never another certificate's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use mailstaple_testpki::{DAY, HOUR, KeyAlg, NOW, Pki};
use mailstaple_verify::Policy;
use rustls::pki_types::UnixTime;

use crate::common::{
    Fixture, TestClock, Version, capture_logs, client, handshake, provider, server, set,
};

const REPLACEMENTS: usize = 1_000;
const MIN_HANDSHAKES: usize = 10_000;
const THREADS: usize = 2;

#[test]
fn every_stapled_response_is_a_valid_file_during_a_thousand_replacements() {
    capture_logs();
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let rsa = Pki::shared(KeyAlg::Rsa2048);
    let f = Fixture::new();
    f.leaf_files(pki, "");
    let first = pki.response().this_update(NOW - 2 * HOUR).build();
    f.write("ocsp.der", &first);

    // The files to install, generated before the race. Valid ones have increasing thisUpdate,
    // so each is newer than the one before it.
    let mut valid = vec![first];
    let mut files = Vec::with_capacity(REPLACEMENTS);
    for i in 0..REPLACEMENTS as u64 {
        let bytes = match i % 5 {
            0 | 1 => {
                let v = pki.response().this_update(NOW - 2 * HOUR + i + 1).build();
                valid.push(v.clone());
                v
            }
            2 => pki
                .response()
                .this_update(NOW - 10 * DAY)
                .next_update(Some(NOW - 9 * DAY + i))
                .build(),
            3 if i % 2 == 0 => pki.response().cert(&pki.other_leaf).build(),
            3 => rsa.response().build(), // same serial, another CA
            _ => {
                let mut g = pki.response().build();
                g.truncate((i as usize * 7) % g.len());
                g
            }
        };
        files.push(bytes);
    }
    let valid_set = set(&valid);
    assert!(files.iter().filter(|b| valid_set.contains(*b)).count() >= 400);

    let clock = TestClock::at_now();
    let p = provider(
        &format!(
            "tls_certificate = {}\ntls_privatekey = {}\ntls_ocsp_file = {}\n",
            f.p("chain.pem"),
            f.p("leaf.key"),
            f.p("ocsp.der")
        ),
        &clock,
        &[],
    );
    let watcher = p.watch(Duration::from_millis(1)).unwrap();
    let server = server(p.clone());
    let done = Arc::new(AtomicUsize::new(0));
    let writer_finished = Arc::new(AtomicBool::new(false));
    // Set when a worker panics, so that the writer does not wait for handshakes forever.
    let failed = AtomicBool::new(false);

    let observed = std::thread::scope(|scope| {
        let writer = {
            let (done, writer_finished, f, files, failed) =
                (&done, &writer_finished, &f, &files, &failed);
            scope.spawn(move || {
                for (j, bytes) in files.iter().enumerate() {
                    // Spread the replacements over the handshakes: one per ten.
                    while done.load(Ordering::Relaxed) < j * (MIN_HANDSHAKES / REPLACEMENTS) {
                        if failed.load(Ordering::SeqCst) {
                            writer_finished.store(true, Ordering::SeqCst);
                            return;
                        }
                        std::thread::yield_now();
                    }
                    f.replace("ocsp.der", bytes);
                }
                writer_finished.store(true, Ordering::SeqCst);
            })
        };
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (done, writer_finished, server, valid_set) = (&done, &writer_finished, &server, &valid_set);
                let failed = &failed;
                scope.spawn(move || {
                    let _guard = OnPanic(failed);
                    let clients = [client(Version::Tls12, &[], false), client(Version::Tls13, &[], false)];
                    let mut seen = Vec::new();
                    let mut n = 0usize;
                    while !(writer_finished.load(Ordering::SeqCst) && done.load(Ordering::Relaxed) >= MIN_HANDSHAKES) {
                        let got = handshake(server, &clients[(n + t) % 2], Some("mail.example.test")).unwrap().ocsp;
                        assert!(valid_set.contains(&got), "handshake {n} on thread {t} stapled {} bytes that are not a valid file", got.len());
                        seen.push(got);
                        n += 1;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    seen
                })
            })
            .collect();
        writer.join().unwrap();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect::<Vec<_>>()
    });
    watcher.stop();

    assert!(
        observed.len() >= MIN_HANDSHAKES,
        "{} handshakes",
        observed.len()
    );
    // Independent re-check of everything stapled: authentic, for this certificate, current.
    let now = UnixTime::since_unix_epoch(Duration::from_secs(NOW));
    let distinct = set(&observed);
    for der in &distinct {
        let v = mailstaple_verify::verify(
            der,
            &pki.leaf.der,
            &pki.intermediate.der,
            now,
            &Policy::default(),
        )
        .unwrap();
        assert!(v.is_good());
    }
    // The proof served moved forward through the replacements.
    assert!(
        distinct.len() > 10,
        "only {} distinct proofs were stapled",
        distinct.len()
    );
    let c = p.counters();
    assert_eq!(c.unstapled, 0, "a valid proof was always available");
    assert_eq!(c.stapled as usize, observed.len());
    // After the race the proof served is valid and at least as new as any stapled during it
    // (the watcher may have missed a valid file replaced again within a millisecond).
    p.poll();
    let index = |der: &Vec<u8>| valid.iter().position(|v| v == der).unwrap();
    let newest_seen = observed.iter().map(index).max().unwrap();
    let seen = handshake(
        &server,
        &client(Version::Tls13, &[], false),
        Some("mail.example.test"),
    )
    .unwrap();
    assert!(index(&seen.ocsp) >= newest_seen);
}

struct OnPanic<'a>(&'a AtomicBool);

impl Drop for OnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}
