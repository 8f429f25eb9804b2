//! Real clients against a tokio-rustls listener on 127.0.0.1 using the provider:
//! `openssl s_client -status` and `gnutls-cli --ocsp --save-ocsp`, TLS 1.2 and 1.3.
//!
//! The provider runs at the test PKI's fixed NOW; the clients run at the real date. The proofs
//! therefore span NOW−400 d .. NOW+3650 d (computed from NOW, the test reads no wall clock), and
//! the clients do not verify the certificates (`s_client` only reports; `gnutls-cli --insecure`).
//! GnuTLS saves a staple even when it judges it stale; with these proofs it also accepts them
//! ("OCSP status request," without "[ignored]"), which the tests check.
//!
//! A missing tool fails the test when `MAILSTAPLE_REQUIRE_PEERS=1`, and is skipped otherwise.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailstaple_server::{StapleProvider, TlsInOcsp};
use mailstaple_testpki::{KeyAlg, Pki};
use tokio::io::AsyncWriteExt as _;

use crate::common::{Fixture, TestClock, Version, capture_logs, provider, server, wide_proof};
use crate::rsa_ecdsa::{two_key_config, two_key_fixture};
use crate::sni::{sni_fixture, sni_provider};

fn peer(tool: &str, version_arg: &str) -> bool {
    let ok = Command::new(tool)
        .arg(version_arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("MAILSTAPLE_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("{tool} is required (MAILSTAPLE_REQUIRE_PEERS=1) but not installed");
        }
        eprintln!("skipped: {tool} not installed");
    }
    ok
}

/// Runs a command with stdin closed; stdout and stderr together; killed after 30 s.
fn run(cmd: &mut Command) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("{cmd:?} timed out");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::read_to_string(out).unwrap() + &std::fs::read_to_string(err).unwrap()
}

/// A tokio-rustls listener; each connection gets its own resolver, and its `$tls_in_ocsp`
/// record is kept.
struct Listener {
    port: u16,
    records: Arc<Mutex<Vec<TlsInOcsp>>>,
    _rt: tokio::runtime::Runtime,
}

fn listen(p: Arc<StapleProvider>) -> Listener {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let template = server(p.clone());
    let records = Arc::new(Mutex::new(Vec::new()));
    let recs = Arc::clone(&records);
    rt.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (config, record) = p.connection_config(&template);
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            let recs = Arc::clone(&recs);
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    recs.lock().unwrap().push(record.tls_in_ocsp());
                    let _ = tls.write_all(b"220 mailstaple test\r\n").await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    Listener {
        port,
        records,
        _rt: rt,
    }
}

fn s_client(port: u16, version: Version, sni: &str, extra: &[&str]) -> String {
    let v = match version {
        Version::Tls12 => "-tls1_2",
        Version::Tls13 => "-tls1_3",
    };
    run(Command::new("openssl")
        .args([
            "s_client",
            "-status",
            v,
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            sni,
        ])
        .args(extra))
}

/// The response s_client printed between its `=====` lines, or `None` ("no response sent").
fn s_client_block(out: &str) -> Option<String> {
    let start = out.find("OCSP response: \n")?;
    let rest = &out[start..];
    let mut parts = rest.split("======================================\n");
    parts.next()?;
    let block = parts.next()?;
    parts.next()?;
    Some(block.to_owned())
}

/// What `openssl ocsp` prints for a file: the same text s_client prints for the staple.
fn resp_text(path: &Path) -> String {
    run(Command::new("openssl")
        .args(["ocsp", "-noverify", "-resp_text", "-respin"])
        .arg(path))
}

struct Gnutls {
    out: String,
    ocsp: Option<Vec<u8>>,
    cert: String,
}

fn gnutls_cli(port: u16, version: Version, sni: &str, sign: Option<&str>) -> Gnutls {
    let dir = tempfile::tempdir().unwrap();
    let (ocsp, cert) = (dir.path().join("staple.der"), dir.path().join("cert.pem"));
    let mut priority = match version {
        Version::Tls12 => "NORMAL:-VERS-ALL:+VERS-TLS1.2".to_owned(),
        Version::Tls13 => "NORMAL:-VERS-ALL:+VERS-TLS1.3".to_owned(),
    };
    if let Some(s) = sign {
        priority += ":-SIGN-ALL:";
        priority += s;
    }
    let out = run(Command::new("gnutls-cli")
        .args([
            "--insecure",
            "--ocsp",
            "-p",
            &port.to_string(),
            "--sni-hostname",
            sni,
        ])
        .arg(format!("--priority={priority}"))
        .arg(format!("--save-ocsp={}", ocsp.display()))
        .arg(format!("--save-cert={}", cert.display()))
        .arg("127.0.0.1"));
    Gnutls {
        ocsp: std::fs::read(&ocsp).ok().filter(|b| !b.is_empty()),
        cert: std::fs::read_to_string(&cert).unwrap_or_default(),
        out,
    }
}

fn single_ecdsa() -> (Fixture, Vec<u8>, Arc<StapleProvider>) {
    capture_logs();
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let f = Fixture::new();
    f.leaf_files(pki, "");
    let proof = wide_proof(pki);
    f.write("ocsp.der", &proof);
    let config = format!(
        "tls_certificate = {}\ntls_privatekey = {}\ntls_ocsp_file = {}\n",
        f.p("chain.pem"),
        f.p("leaf.key"),
        f.p("ocsp.der")
    );
    let p = provider(&config, &TestClock::at_now(), &[]);
    (f, proof, p)
}

#[test]
fn openssl_s_client_gets_the_file_in_tls12_and_tls13() {
    if !peer("openssl", "version") {
        return;
    }
    let (f, _proof, p) = single_ecdsa();
    let l = listen(p.clone());
    let want = resp_text(&f.path("ocsp.der"));
    assert!(want.contains("Cert Status: good"), "{want}");
    for version in [Version::Tls12, Version::Tls13] {
        let out = s_client(l.port, version, "mail.example.test", &[]);
        assert!(
            out.contains("OCSP Response Status: successful"),
            "{version:?}: {out}"
        );
        assert_eq!(
            s_client_block(&out).as_deref(),
            Some(want.as_str()),
            "{version:?}: {out}"
        );
    }
    assert_eq!(
        *l.records.lock().unwrap(),
        [TlsInOcsp::Offered, TlsInOcsp::Offered]
    );
    assert_eq!(p.counters().stapled, 2);
}

#[test]
fn gnutls_cli_saves_the_file_byte_for_byte() {
    if !peer("gnutls-cli", "--version") {
        return;
    }
    let (_f, proof, p) = single_ecdsa();
    let l = listen(p);
    for version in [Version::Tls12, Version::Tls13] {
        let g = gnutls_cli(l.port, version, "mail.example.test", None);
        assert_eq!(
            g.ocsp.as_deref(),
            Some(proof.as_slice()),
            "{version:?}: {}",
            g.out
        );
        assert!(
            g.out.contains("OCSP status request,"),
            "{version:?}: GnuTLS did not accept the staple: {}",
            g.out
        );
    }
}

#[test]
fn real_clients_get_the_proof_of_the_rsa_or_ecdsa_certificate_they_got() {
    let (have_openssl, have_gnutls) = (peer("openssl", "version"), peer("gnutls-cli", "--version"));
    capture_logs();
    let (f, rsa_proof, ec_proof) = two_key_fixture();
    let p = provider(
        &two_key_config(&f, ["rsa-ocsp.der", "ec-ocsp.der"]),
        &TestClock::at_now(),
        &[],
    );
    let l = listen(p);
    let rsa_pem = Pki::shared(KeyAlg::Rsa2048).leaf.pem();
    let ec_pem = Pki::shared(KeyAlg::EcdsaP256).leaf.pem();
    if have_openssl {
        let (rsa_text, ec_text) = (
            resp_text(&f.path("rsa-ocsp.der")),
            resp_text(&f.path("ec-ocsp.der")),
        );
        assert_ne!(rsa_text, ec_text);
        for version in [Version::Tls12, Version::Tls13] {
            let (ec_args, rsa_args): (&[&str], &[&str]) = match version {
                Version::Tls12 => (
                    &[
                        "-cipher",
                        "ECDHE-ECDSA-AES128-GCM-SHA256",
                        "-sigalgs",
                        "ECDSA+SHA256",
                    ],
                    &[
                        "-cipher",
                        "ECDHE-RSA-AES128-GCM-SHA256",
                        "-sigalgs",
                        "rsa_pss_rsae_sha256:RSA+SHA256",
                    ],
                ),
                Version::Tls13 => (
                    &["-sigalgs", "ECDSA+SHA256"],
                    &["-sigalgs", "rsa_pss_rsae_sha256"],
                ),
            };
            let out = s_client(l.port, version, "mail.example.test", ec_args);
            assert!(out.contains("a:PKEY: id-ecPublicKey"), "{version:?}: {out}");
            assert_eq!(
                s_client_block(&out).as_deref(),
                Some(ec_text.as_str()),
                "{version:?} ECDSA: {out}"
            );
            let out = s_client(l.port, version, "mail.example.test", rsa_args);
            assert!(out.contains("a:PKEY: rsaEncryption"), "{version:?}: {out}");
            assert_eq!(
                s_client_block(&out).as_deref(),
                Some(rsa_text.as_str()),
                "{version:?} RSA: {out}"
            );
        }
    }
    if have_gnutls {
        for version in [Version::Tls12, Version::Tls13] {
            let g = gnutls_cli(
                l.port,
                version,
                "mail.example.test",
                Some("+SIGN-ECDSA-SHA256:+SIGN-ECDSA-SECP256R1-SHA256"),
            );
            assert!(g.cert.starts_with(&ec_pem), "{version:?}: {}", g.out);
            assert_eq!(
                g.ocsp.as_deref(),
                Some(ec_proof.as_slice()),
                "{version:?}: {}",
                g.out
            );
            let g = gnutls_cli(
                l.port,
                version,
                "mail.example.test",
                Some("+SIGN-RSA-PSS-RSAE-SHA256:+SIGN-RSA-SHA256"),
            );
            assert!(g.cert.starts_with(&rsa_pem), "{version:?}: {}", g.out);
            assert_eq!(
                g.ocsp.as_deref(),
                Some(rsa_proof.as_slice()),
                "{version:?}: {}",
                g.out
            );
        }
    }
}

#[test]
fn real_clients_get_per_sni_proofs_and_none_for_an_unknown_name() {
    let (have_openssl, have_gnutls) = (peer("openssl", "version"), peer("gnutls-cli", "--version"));
    capture_logs();
    let (f, config, mail, other) = sni_fixture();
    let p = sni_provider(&config, &TestClock::at_now());
    let l = listen(p);
    if have_openssl {
        for version in [Version::Tls12, Version::Tls13] {
            for name in ["mail.example.test", "other.example.test"] {
                let out = s_client(l.port, version, name, &[]);
                let want = resp_text(&f.path(&format!("{name}/ocsp.der")));
                assert_eq!(
                    s_client_block(&out).as_deref(),
                    Some(want.as_str()),
                    "{version:?} {name}: {out}"
                );
            }
            let out = s_client(l.port, version, "unknown.example.test", &[]);
            assert!(
                out.contains("OCSP response: no response sent"),
                "{version:?}: {out}"
            );
        }
    }
    if have_gnutls {
        for version in [Version::Tls12, Version::Tls13] {
            assert_eq!(
                gnutls_cli(l.port, version, "mail.example.test", None)
                    .ocsp
                    .as_ref(),
                Some(&mail)
            );
            assert_eq!(
                gnutls_cli(l.port, version, "other.example.test", None)
                    .ocsp
                    .as_ref(),
                Some(&other)
            );
            let g = gnutls_cli(l.port, version, "unknown.example.test", None);
            assert_eq!(g.ocsp, None, "{version:?}: {}", g.out);
            assert!(
                g.cert
                    .starts_with(&Pki::shared(KeyAlg::EcdsaP256).leaf.pem()),
                "{}",
                g.out
            );
        }
    }
    let records = l.records.lock().unwrap();
    assert!(records.contains(&TlsInOcsp::NoProof) || (!have_openssl && !have_gnutls));
}
