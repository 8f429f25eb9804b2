//! The fetcher against the real `openssl ocsp -index ... -port` responder: good, revoked,
//! unknown; GET and POST.
//!
//! OpenSSL 3.0's responder cannot be bound to one address: `-port` (like `-url`) listens on every
//! interface. It lives only for the test, and the fetcher talks to it over 127.0.0.1.
//!
//! The responder stamps thisUpdate and producedAt with its clock, so it runs under libfaketime
//! with the clock starting at the test PKI's NOW (while the test certificates are valid: a
//! proof produced after the leaf's notAfter is refused); the test first asks it once, reads that
//! answer's thisUpdate, and verifies at that instant (later answers are seconds newer, well
//! inside the 300 s skew). The tests read no clock themselves.
//!
//! If `openssl` is missing the tests print "skipped: openssl not installed" and pass, unless
//! `MAILSTAPLE_REQUIRE_PEERS=1`, in which case they fail.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mailstaple_fetch::{Error, ErrorClass, FetchOptions, OneShot, Target, exchange, one_shot};
use mailstaple_ocsp::{CertStatus, OcspResponse};
use mailstaple_testpki::{KeyAlg, Pki};
use rustls_pki_types::UnixTime;

fn openssl_available() -> bool {
    for (program, arg) in [("openssl", "version"), ("faketime", "--version")] {
        match Command::new(program).arg(arg).output() {
            Ok(o) if o.status.success() => {}
            _ => {
                if std::env::var("MAILSTAPLE_REQUIRE_PEERS").as_deref() == Ok("1") {
                    panic!("{program} is not installed and MAILSTAPLE_REQUIRE_PEERS=1");
                }
                eprintln!("skipped: {program} not installed");
                return false;
            }
        }
    }
    true
}

/// `@YYYY-MM-DD hh:mm:ss` for libfaketime: the clock starts at the test PKI's NOW and runs.
fn faketime_start() -> String {
    let at = mailstaple_ocsp::Time::from_unix(mailstaple_testpki::NOW as i64).to_string();
    format!("@{}", at.trim_end_matches('Z').replace('T', " "))
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path) -> Server {
    // Leaf (serial 1001) good, other_leaf (1002) revoked; signer (2001) is not in the index:
    // unknown.
    let index = "V\t301231235959Z\t\t1001\tunknown\t/CN=mail.example.test\n\
                 R\t301231235959Z\t260501000000Z,keyCompromise\t1002\tunknown\t/CN=other.example.test\n";
    std::fs::write(dir.join("index.txt"), index).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // libfaketime preloaded into openssl itself (not through the faketime wrapper, which forks:
    // killing the wrapper would leave the responder running).
    let mut child = Command::new("openssl")
        .current_dir(dir)
        .env("TZ", "UTC")
        .env("LD_PRELOAD", "/usr/$LIB/faketime/libfaketime.so.1")
        .env("FAKETIME", faketime_start())
        .args(["ocsp", "-index", "index.txt", "-port", &port.to_string()])
        .args([
            "-rsigner",
            "issuer.pem",
            "-rkey",
            "issuer.key",
            "-CA",
            "issuer.pem",
        ])
        .args(["-ndays", "3650", "-ignore_err"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for its "waiting for OCSP client connections" line. A probe connection would not do:
    // openssl's responder then hangs on the empty connection and never serves another.
    let stderr = child.stderr.take().unwrap();
    let mut server = Server { child, port };
    let mut lines = BufReader::new(stderr).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("waiting for OCSP client connections"));
    assert!(ready, "openssl ocsp did not start on port {port}");
    // Keep draining its log so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    server.port = port;
    server
}

fn target(dir: &Path, cert: &[u8], port: u16, name: &str) -> Target {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    Target::new(
        cert.to_vec(),
        pki.intermediate.der.clone(),
        dir.join(name),
        Some(format!("http://127.0.0.1:{port}/")),
    )
}

/// Asks the responder once and returns its thisUpdate plus one second as the test's "now".
fn responder_now(t: &Target, opts: &FetchOptions) -> UnixTime {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = rt
        .block_on(exchange(
            &t.responder_url().unwrap(),
            &t.request(None).unwrap(),
            &opts.http,
        ))
        .unwrap();
    let resp = OcspResponse::parse(&body).unwrap();
    let this_update = resp.basic.unwrap().responses[0].this_update.unix();
    UnixTime::since_unix_epoch(Duration::from_secs(this_update as u64 + 1))
}

#[test]
fn good_revoked_unknown_by_get_and_post() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    let server = start(dir.path());

    for post in [false, true] {
        let mut opts = FetchOptions::default();
        opts.http.force_post = post;
        opts.http.total_timeout = Duration::from_secs(10);

        let good = target(
            dir.path(),
            &pki.leaf.der,
            server.port,
            &format!("good-{post}.der"),
        );
        let now = responder_now(&good, &opts);
        let got = one_shot(&good, &opts, now, None, false).unwrap();
        let OneShot::Installed(checked) = got else {
            panic!("{got:?}")
        };
        assert_eq!(checked.staple().status(), CertStatus::Good);
        assert!(checked.staple().next_update().is_some());
        // What was written is what verifies.
        let written = std::fs::read(&good.out).unwrap();
        assert_eq!(written, checked.staple().der());
        mailstaple_verify::verify(
            &written,
            &pki.leaf.der,
            &pki.intermediate.der,
            now,
            &Default::default(),
        )
        .unwrap();

        // The responder says ten years (-ndays 3650); the window is cut at the leaf's notAfter
        // (NOW+90d), and the proof is fresh: a second run fetches nothing, a forced one does.
        let leaf_end = mailstaple_ocsp::CertView::parse(&pki.leaf.der)
            .unwrap()
            .not_after
            .unix();
        let v = checked.validity();
        assert_eq!(v.end, leaf_end);
        assert!(matches!(
            one_shot(&good, &opts, now, None, false).unwrap(),
            OneShot::StillFresh(_)
        ));
        assert!(matches!(
            one_shot(&good, &opts, now, None, true).unwrap(),
            OneShot::Installed(_)
        ));

        let revoked = target(
            dir.path(),
            &pki.other_leaf.der,
            server.port,
            &format!("revoked-{post}.der"),
        );
        let e = one_shot(&revoked, &opts, now, None, false).unwrap_err();
        assert!(
            matches!(e, Error::RevokedInstalled(CertStatus::Revoked { .. })),
            "{e:?}"
        );
        assert_eq!(e.class(), ErrorClass::Invalid);
        // The authentic revocation is installed, so that a server stops stapling.
        assert!(revoked.out.exists());

        let unknown = target(
            dir.path(),
            &pki.signer.der,
            server.port,
            &format!("unknown-{post}.der"),
        );
        let e = one_shot(&unknown, &opts, now, None, false).unwrap_err();
        assert!(matches!(e, Error::NotGood(CertStatus::Unknown)), "{e:?}");
        assert!(!unknown.out.exists());
    }
}

#[test]
fn nonce_echoed_by_openssl() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    let server = start(dir.path());
    let opts = FetchOptions::default();
    let good = target(dir.path(), &pki.leaf.der, server.port, "good.der");
    let now = responder_now(&good, &opts);
    let nonce = [0x5au8; 16];
    let OneShot::Installed(checked) = one_shot(&good, &opts, now, Some(&nonce), true).unwrap()
    else {
        panic!()
    };
    assert_eq!(checked.staple().nonce(), Some(&nonce[..]));
}
