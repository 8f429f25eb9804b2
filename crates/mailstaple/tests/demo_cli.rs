//! `mailstaple demo` runs the whole story on its embedded default, and what it leaves with
//! `--out` is usable by the other commands.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Command;

fn mailstaple(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mailstaple"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn demo_tells_the_whole_story_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = mailstaple(&["demo", "--out", d]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("ok: "))
            .count(),
        7,
        "{stdout}"
    );
    assert!(stdout.contains("CV=yes OCSP=4"), "{stdout}");
    assert!(
        stdout.contains(
            "defer (-37): TLS session: (SSL_connect) Required TLS certificate status not received"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("Every step behaved as expected"));
    // The proof left installed is the authentic revocation the fetcher installed.
    let verify = mailstaple(&[
        "ocsp",
        "verify",
        "--response",
        &format!("{d}/mail.ocsp.der"),
        "--issuer",
        &format!("{d}/ca.pem"),
        "--cert",
        &format!("{d}/chain.pem"),
    ]);
    assert_eq!(
        verify.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    // One message was delivered, before the revocation.
    assert_eq!(
        std::fs::read_dir(dir.path().join("spool")).unwrap().count(),
        1
    );
}
