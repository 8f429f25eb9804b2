//! `mailstaple demo` runs on its embedded default, and what it writes is usable by the other
//! commands.

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
fn demo_runs_and_its_files_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let now = "2026-06-01T00:00:00Z";
    let out = mailstaple(&["demo", "--now", now, "--out", d]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        7,
        "{stdout}"
    );
    assert!(!stdout.contains("FAIL"));
    assert!(stdout.contains("REVOKED"));
    let verify = |proof: &str, at: &str| {
        mailstaple(&[
            "ocsp",
            "verify",
            "--response",
            &format!("{d}/{proof}"),
            "--issuer",
            &format!("{d}/ca.pem"),
            "--cert",
            &format!("{d}/leaf.pem"),
            "--at",
            at,
        ])
        .status
        .code()
    };
    assert_eq!(verify("proof-1.der", now), Some(0));
    assert_eq!(verify("proof-2.der", now), Some(3));
    assert_eq!(verify("proof-3.der", now), Some(1));
    assert_eq!(verify("proof-6.der", now), Some(0));
    assert_eq!(verify("proof-6.der", "2026-06-04T00:00:00Z"), Some(1));
}
