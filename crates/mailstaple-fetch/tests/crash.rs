//! Crash safety: a child process installs proofs in a loop and is killed with SIGKILL at random
//! moments; after every kill the output file must parse and verify.
//!
//! The child is this test binary itself, re-run with `--exact crash_child` and an environment
//! variable naming the files. Each round waits for 0 to 3 completed installs, then kills the
//! child after a random 0-8 ms, so the kills land all over the install cycle and the run makes
//! progress however loaded the machine is (a fixed delay alone once gave 592 installs in 60 s
//! next to three fuzzers). The run stops after 1,000 installs and 150 kills (a few seconds here);
//! ten minutes without getting there is a failure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailstaple_fetch::install_atomic;
use mailstaple_testpki::{DAY, HOUR, KeyAlg, NOW, Pki, Signer};
use rustls_pki_types::UnixTime;

const CHILD_ENV: &str = "MAILSTAPLE_FETCH_CRASH_CHILD";
const PROOFS: usize = 4;

fn proof_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("proof{i}.der"))
}

/// Not a test on its own: the child's body, which does nothing unless started by
/// `kill_9_during_installs`.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let proofs: Vec<Vec<u8>> = (0..PROOFS)
        .map(|i| std::fs::read(proof_path(&dir, i)).unwrap())
        .collect();
    let out = dir.join("staple.der");
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "ready").unwrap();
    stdout.flush().unwrap();
    for i in 0.. {
        install_atomic(&out, &proofs[i % PROOFS]).unwrap();
        writeln!(stdout, "i").unwrap();
        stdout.flush().unwrap();
    }
}

#[test]
fn kill_9_during_installs() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = tempfile::tempdir().unwrap();
    // Proofs of different sizes and signers, so a torn write could not pass for a whole one.
    let proofs = [
        pki.response().build(),
        pki.response()
            .this_update(NOW - 2 * HOUR)
            .signer(Signer::Delegated(&pki.signer))
            .build(),
        pki.response()
            .next_update(Some(NOW + 3 * DAY))
            .nonce(vec![9; 32])
            .build(),
        pki.response()
            .this_update(NOW - 3 * HOUR)
            .signer(Signer::Delegated(&pki.signer))
            .nonce(vec![1; 8])
            .build(),
    ];
    for (i, p) in proofs.iter().enumerate() {
        std::fs::write(proof_path(dir.path(), i), p).unwrap();
    }
    let out = dir.path().join("staple.der");
    install_atomic(&out, &proofs[0]).unwrap();

    let exe = std::env::current_exe().unwrap();
    let now = UnixTime::since_unix_epoch(Duration::from_secs(NOW));
    let started = Instant::now();
    let (mut installs, mut kills) = (0usize, 0usize);
    let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
    while installs < 1000 || kills < 150 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "only {installs} installs and {kills} kills in 10 minutes"
        );
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert!(
            lines.by_ref().map_while(Result::ok).any(|l| l == "ready"),
            "child did not start"
        );
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let wait_for = rng % 4;
        let mut seen = 0;
        while seen < wait_for {
            match lines.next() {
                Some(Ok(l)) if l == "i" => seen += 1,
                Some(Ok(_)) => {}
                _ => panic!("the child stopped before being killed"),
            }
        }
        installs += usize::try_from(seen).unwrap();
        std::thread::sleep(Duration::from_micros((rng >> 8) % 8_000));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        installs += lines.map_while(Result::ok).filter(|l| l == "i").count();

        let bytes = std::fs::read(&out).unwrap();
        assert!(
            proofs.contains(&bytes),
            "after kill {kills}: the file is not one of the proofs"
        );
        mailstaple_verify::verify(
            &bytes,
            &pki.leaf.der,
            &pki.intermediate.der,
            now,
            &Default::default(),
        )
        .unwrap_or_else(|e| panic!("after kill {kills}: {e}"));
    }
    eprintln!(
        "crash test: {installs} installs, {kills} kills in {:?}",
        started.elapsed()
    );
}
