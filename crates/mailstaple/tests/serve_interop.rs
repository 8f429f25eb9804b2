//! `mailstaple serve` against real clients: `openssl s_client -starttls smtp -status`, swaks, and
//! `mailstaple send` with `hosts_require_ocsp`; hot replacement of the proof file.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailstaple_testpki::{DAY, HOUR, KeyAlg, NOW, Pki, Status};

use common::{send_command, serve};

mod common;

/// A proof valid from an hour before the test PKI's instant for ten years, so that clients
/// checking it against the real clock accept its times.
fn long_proof(pki: &Pki) -> Vec<u8> {
    pki.response()
        .this_update(NOW - HOUR)
        .next_update(Some(NOW + 3650 * DAY))
        .build()
}

fn setup() -> (tempfile::TempDir, &'static Pki) {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    std::fs::write(dir.path().join("leaf.ocsp.der"), long_proof(pki)).unwrap();
    (dir, pki)
}

fn peer(name: &str) -> bool {
    if Command::new(name).arg("--version").output().is_ok()
        || Command::new(name).arg("version").output().is_ok()
    {
        return true;
    }
    assert!(
        std::env::var("MAILSTAPLE_REQUIRE_PEERS").is_err(),
        "{name} is required but not installed"
    );
    eprintln!("skipped: {name} not installed");
    false
}

fn s_client(port: u16, extra: &[&str]) -> String {
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-starttls",
            "smtp",
            "-status",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "mail.example.test",
        ])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn openssl_s_client_gets_the_staple_in_tls12_and_tls13() {
    if !peer("openssl") {
        return;
    }
    let (dir, _pki) = setup();
    let server = serve(dir.path(), Some("leaf.ocsp.der"));
    for version in ["-tls1_2", "-tls1_3"] {
        let out = s_client(server.port, &[version]);
        assert!(
            out.contains("OCSP Response Status: successful"),
            "{version}: {out}"
        );
        assert!(out.contains("Cert Status: good"), "{version}: {out}");
    }
}

#[test]
fn no_proof_file_means_no_staple() {
    if !peer("openssl") {
        return;
    }
    let (dir, _pki) = setup();
    let server = serve(dir.path(), None);
    let out = s_client(server.port, &[]);
    assert!(out.contains("OCSP response: no response sent"), "{out}");
}

#[test]
fn a_replaced_proof_file_is_served_without_restart_and_a_revoked_one_never() {
    if !peer("openssl") {
        return;
    }
    let (dir, pki) = setup();
    let server = serve(dir.path(), Some("leaf.ocsp.der"));
    assert!(s_client(server.port, &[]).contains("Cert Status: good"));
    // Atomically replace the proof with an authentic revocation.
    let revoked = pki
        .response()
        .this_update(NOW)
        .next_update(Some(NOW + 3650 * DAY))
        .status(Status::Revoked {
            time: NOW - HOUR,
            reason: Some(1),
        })
        .build();
    let tmp = dir.path().join("leaf.ocsp.der.tmp");
    std::fs::write(&tmp, &revoked).unwrap();
    std::fs::rename(&tmp, dir.path().join("leaf.ocsp.der")).unwrap();
    let start = Instant::now();
    loop {
        let out = s_client(server.port, &[]);
        if out.contains("OCSP response: no response sent") {
            break;
        }
        assert!(
            !out.contains("Cert Status: revoked"),
            "a revoked proof must never be stapled: {out}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "still stapling the withdrawn proof: {out}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // A newer good proof brings stapling back.
    let newer = pki
        .response()
        .this_update(NOW + 60)
        .next_update(Some(NOW + 3650 * DAY))
        .build();
    std::fs::write(&tmp, &newer).unwrap();
    std::fs::rename(&tmp, dir.path().join("leaf.ocsp.der")).unwrap();
    let start = Instant::now();
    while !s_client(server.port, &[]).contains("Cert Status: good") {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the newer good proof is not served"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn swaks_delivers_in_clear_and_with_starttls() {
    if !peer("swaks") {
        return;
    }
    let (dir, _pki) = setup();
    let server = serve(dir.path(), Some("leaf.ocsp.der"));
    for tls in [false, true] {
        let mut cmd = Command::new("swaks");
        cmd.args([
            "--server",
            &format!("127.0.0.1:{}", server.port),
            "--from",
            "a@x.test",
            "--to",
            "b@y.test",
            "--helo",
            "client.test",
            "--silent",
            "2",
        ]);
        if tls {
            cmd.arg("--tls");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "tls={tls}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("spool")).unwrap().count(),
        2
    );
}

#[test]
fn mailstaple_send_requires_and_gets_the_staple() {
    let (dir, _pki) = setup();
    let stapling = serve(dir.path(), Some("leaf.ocsp.der"));
    let bare = serve(dir.path(), None);
    std::fs::write(dir.path().join("msg"), "Subject: hi\n\nhello\n").unwrap();
    let send = |port: u16| {
        send_command(port)
            .args(["--hosts-require-ocsp", "*", "--tls-verify-certificates"])
            .arg(dir.path().join("root.pem"))
            .arg(dir.path().join("msg"))
            .output()
            .unwrap()
    };
    let out = send(stapling.port);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("OCSP=4"), "{text}");
    let out = send(bare.port);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(75), "{text}");
    assert!(
        text.contains("Required TLS certificate status not received"),
        "{text}"
    );
}

/// Issue 13: `serve --tls-ocsp-max-age` (and `tls_ocsp_max_age` in `[server]`): a proof whose
/// thisUpdate is eight days old, nextUpdate still ahead, is stapled without it and not with a
/// week, so a client requiring the staple defers.
#[test]
fn a_maximum_age_stops_stapling_an_old_proof() {
    let (dir, pki) = setup();
    let old = pki
        .response()
        .this_update(NOW - 8 * DAY)
        .produced_at(NOW - 8 * DAY)
        .next_update(Some(NOW + DAY))
        .build();
    std::fs::write(dir.path().join("old.der"), old).unwrap();
    std::fs::write(dir.path().join("msg"), "Subject: hi\n\nhello\n").unwrap();
    let with = |extra: &[&str]| {
        let mut args: Vec<std::ffi::OsString> = vec![
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--spool".into(),
            dir.path().join("spool").into(),
            "--tls-certificate".into(),
            dir.path().join("chain.pem").into(),
            "--tls-privatekey".into(),
            dir.path().join("leaf.key").into(),
            "--tls-ocsp-file".into(),
            dir.path().join("old.der").into(),
            "--fetch".into(),
            "false".into(),
            "--now".into(),
            NOW.to_string().into(),
        ];
        args.extend(extra.iter().map(Into::into));
        common::serve_with(args)
    };
    let send = |port: u16| {
        send_command(port)
            .args(["--hosts-require-ocsp", "*", "--tls-verify-certificates"])
            .arg(dir.path().join("root.pem"))
            .arg(dir.path().join("msg"))
            .output()
            .unwrap()
    };
    let plain = with(&[]);
    let out = send(plain.port);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let bounded = with(&["--tls-ocsp-max-age", "7d"]);
    let out = send(bounded.port);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(75), "{text}");
    assert!(
        text.contains("Required TLS certificate status not received"),
        "{text}"
    );
    let config = dir.path().join("mailstaple.toml");
    std::fs::write(&config, "[server]\ntls_ocsp_max_age = \"7d\"\n").unwrap();
    let from_file = with(&["--config", config.to_str().unwrap()]);
    assert_eq!(send(from_file.port).status.code(), Some(75));
}
