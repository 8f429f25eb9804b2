//! `mailstaple send` against an SMTP server in the test process that staples what the test
//! chooses: the exit codes and the Exim-style lines of the CLI contract.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use mailstaple_smtp::net::{ServerOptions, ServerTls, serve};
use mailstaple_smtp::spool::Spool;
use mailstaple_testpki::{KeyAlg, NOW, Pki, Status};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Starts a server stapling `staple` on a thread of its own; returns its address.
fn server(pki: &'static Pki, staple: Option<Vec<u8>>, spool: &std::path::Path) -> SocketAddr {
    let chain = vec![
        CertificateDer::from(pki.leaf.der.clone()),
        CertificateDer::from(pki.intermediate.der.clone()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.leaf.key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert_with_ocsp(chain, key, staple.unwrap_or_default())
        .unwrap();
    let spool = Arc::new(Spool::open(spool).unwrap());
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    std_listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            serve(
                listener,
                ServerOptions::new(
                    "mx.test",
                    spool,
                    Some(Arc::new(Arc::new(cfg)) as Arc<dyn ServerTls>),
                ),
                std::future::pending(),
            )
            .await;
        });
    });
    addr
}

fn send(addr: SocketAddr, dir: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let msg = dir.join("msg.eml");
    std::fs::write(&msg, "Subject: hello\n\nbody\n").unwrap();
    let port = addr.port().to_string();
    let root = dir.join("root.pem");
    let mut args = vec![
        "send",
        "--host",
        "mail.example.test",
        "--address",
        "127.0.0.1",
        "--port",
        &port,
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--tls-verify-certificates",
        root.to_str().unwrap(),
        "--now",
        "1780272000",
    ];
    args.extend_from_slice(extra);
    args.push(msg.to_str().unwrap());
    let out = Command::new(env!("CARGO_BIN_EXE_mailstaple"))
        .args(&args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn send_exit_codes_and_log_lines() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    let good = server(
        pki,
        Some(pki.response().build()),
        &dir.path().join("spool-good"),
    );
    let none = server(pki, None, &dir.path().join("spool-none"));
    let revoked = pki
        .response()
        .status(Status::Revoked {
            time: NOW - 60,
            reason: Some(1),
        })
        .build();
    let revoked = server(pki, Some(revoked), &dir.path().join("spool-revoked"));

    let (code, out) = send(good, dir.path(), &["--hosts-require-ocsp", "*"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("=> b@y.test H=mail.example.test [127.0.0.1] X=TLS1.3:"),
        "{out}"
    );
    assert!(out.contains("CV=yes OCSP=4"), "{out}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("spool-good"))
            .unwrap()
            .count(),
        1
    );

    let (code, out) = send(none, dir.path(), &["--hosts-require-ocsp", "*"]);
    assert_eq!(code, 75, "{out}");
    assert_eq!(
        out.trim(),
        "== b@y.test H=mail.example.test [127.0.0.1] defer (-37): TLS session: (SSL_connect) Required TLS certificate status not received"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("spool-none"))
            .unwrap()
            .count(),
        0
    );

    // Request only (the default `*`): delivered without a staple, OCSP=1.
    let (code, out) = send(none, dir.path(), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OCSP=1"), "{out}");

    // Not requested for this host: OCSP=0.
    let (code, out) = send(good, dir.path(), &["--hosts-request-ocsp", "192.0.2.1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OCSP=0"), "{out}");

    let (code, out) = send(
        revoked,
        dir.path(),
        &["--hosts-require-ocsp", "127.0.0.1/8"],
    );
    assert_eq!(code, 75, "{out}");
    assert!(
        out.contains("Server certificate revoked; reason: keyCompromise"),
        "{out}"
    );

    // A usage error: no recipient.
    let out = Command::new(env!("CARGO_BIN_EXE_mailstaple"))
        .args(["send", "--host", "x", "--from", "a@x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Issue 13: `tls_ocsp_max_age` on the client, from the flag or the file's `[client]`: a staple
/// whose thisUpdate is eight days old (nextUpdate still ahead) is delivered to without it and
/// deferred with a week; the flag overrides the file.
#[test]
fn a_maximum_age_refuses_an_old_staple() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    let old = pki
        .response()
        .this_update(NOW - 8 * mailstaple_testpki::DAY)
        .produced_at(NOW - 8 * mailstaple_testpki::DAY)
        .next_update(Some(NOW + mailstaple_testpki::DAY))
        .build();
    let addr = server(pki, Some(old), &dir.path().join("spool"));
    let (code, out) = send(addr, dir.path(), &["--hosts-require-ocsp", "*"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = send(
        addr,
        dir.path(),
        &["--hosts-require-ocsp", "*", "--tls-ocsp-max-age", "7d"],
    );
    assert_eq!(code, 75, "{out}");
    assert!(out.contains("defer (-37)"), "{out}");
    // The same from the file; a flag says otherwise and wins.
    let config = dir.path().join("mailstaple.toml");
    std::fs::write(&config, "[client]\ntls_ocsp_max_age = \"7d\"\n").unwrap();
    let config_arg = config.to_str().unwrap().to_owned();
    let (code, out) = send(
        addr,
        dir.path(),
        &["--hosts-require-ocsp", "*", "--config", &config_arg],
    );
    assert_eq!(code, 75, "{out}");
    let (code, out) = send(
        addr,
        dir.path(),
        &[
            "--hosts-require-ocsp",
            "*",
            "--config",
            &config_arg,
            "--tls-ocsp-max-age",
            "10d",
        ],
    );
    assert_eq!(code, 0, "{out}");
    // A maximum age out of range is a usage error.
    let (code, _) = send(addr, dir.path(), &["--tls-ocsp-max-age", "5s"]);
    assert_eq!(code, 2);
}
