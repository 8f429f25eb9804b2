//! `mailstaple respond` as a process on loopback: `openssl ocsp` as its client (good, revoked with
//! its reason, unknown; with and without a nonce; POST, and GET through a raw HTTP client with
//! OpenSSL checking the bytes), misconfigurations, SIGHUP and SIGTERM, and the hostile load test.
//!
//! The responder runs with the hidden `--now` at the test PKI's fixed now. `openssl ocsp` is told
//! the same time for the signer's chain (`-attime`) and a ten-year `-validity_period`, because it
//! checks thisUpdate and nextUpdate against the wall clock; the tests themselves read no clock.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mailstaple_ocsp::{
    CertId, CertStatus, CertView, CrlReason, HashAlgorithm, OcspResponse, ResponseStatus,
    build_request,
};
use mailstaple_testpki::{KeyAlg, NOW, Pki};
use mailstaple_verify::{Policy, verify};
use rustls_pki_types::UnixTime;

/// leaf (1001) valid, other_leaf (1002) revoked for keyCompromise; the signer (2001) is not listed.
const INDEX: &str = "V\t260830000000Z\t\t1001\tunknown\t/O=mailstaple test PKI/CN=mail.example.test\n\
R\t260830000000Z\t260520120000Z,keyCompromise\t1002\tunknown\t/O=mailstaple test PKI/CN=other.example.test\n";

fn now_arg() -> String {
    NOW.to_string()
}

fn unix_now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(NOW))
}

fn revoked_at() -> mailstaple_ocsp::Time {
    mailstaple_ocsp::Time::from_civil(2026, 5, 20, 12, 0, 0).unwrap()
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        Pki::shared(KeyAlg::EcdsaP256)
            .write_pem_files(dir.path())
            .unwrap();
        std::fs::write(dir.path().join("index.txt"), INDEX).unwrap();
        Env { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts the responder with the delegated signer and `extra` arguments.
    fn start(&self, extra: &[&str]) -> Daemon {
        let mut args: Vec<String> = [
            "--index",
            "index.txt",
            "--ca",
            "issuer.pem",
            "--listen",
            "127.0.0.1:0",
            "--now",
        ]
        .map(String::from)
        .to_vec();
        args.push(now_arg());
        if !extra.contains(&"--signer-key") {
            args.extend(
                ["--signer-cert", "signer.pem", "--signer-key", "signer.key"].map(String::from),
            );
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        Daemon::start(self.dir.path(), &args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs the binary to completion (for configurations that must be refused).
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_mailstaple"))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }
}

/// A running `mailstaple respond`; killed when dropped.
struct Daemon {
    child: Child,
    addr: SocketAddr,
    stderr: PathBuf,
}

impl Daemon {
    fn start(dir: &Path, args: &[String]) -> Result<Daemon, String> {
        Daemon::start_with_env(dir, args, &[])
    }

    fn start_with_env(
        dir: &Path,
        args: &[String],
        env: &[(&str, &Path)],
    ) -> Result<Daemon, String> {
        let stderr = dir.join(format!(
            "respond-{}.log",
            args.len() + std::process::id() as usize
        ));
        let mut child = Command::new(env!("CARGO_BIN_EXE_mailstaple"))
            .arg("respond")
            .args(args)
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let _ = tx.send(line.unwrap_or_default());
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).map_err(|_| {
            let _ = child.kill();
            let _ = child.wait();
            format!(
                "no listening line; stderr: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            )
        })?;
        let addr = line
            .strip_prefix("listening on http://")
            .and_then(|r| r.strip_suffix('/'))
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("unexpected first line {line:?}"))?;
        Ok(Daemon {
            child,
            addr,
            stderr,
        })
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Peak resident memory, from /proc, in KiB.
    fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// SIGTERM, then the exit code (within ten seconds).
    fn stop(mut self) -> i32 {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "no exit after SIGTERM; log: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn openssl() -> Option<()> {
    if Command::new("openssl").arg("version").output().is_ok() {
        return Some(());
    }
    assert!(
        std::env::var("MAILSTAPLE_REQUIRE_PEERS").is_err(),
        "openssl is required but not installed"
    );
    eprintln!("skipped: openssl not installed");
    None
}

/// `openssl ocsp` as a client of `url` (or with `-respin`), trusting the test root, judging the
/// signer's chain at the fixed now.
fn openssl_ocsp(env: &Env, args: &[&str]) -> (String, String) {
    let out = Command::new("openssl")
        .args([
            "ocsp",
            "-issuer",
            "issuer.pem",
            "-CAfile",
            "root.pem",
            "-verify_other",
            "issuer.pem",
        ])
        .args([
            "-attime",
            &now_arg(),
            "-validity_period",
            "315360000",
            "-timeout",
            "20",
        ])
        .args(args)
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "openssl ocsp {args:?} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

fn assert_verified(stderr: &str, nonce: bool) {
    assert!(stderr.contains("Response verify OK"), "{stderr}");
    assert!(!stderr.contains("WARNING"), "{stderr}");
    assert!(!stderr.contains("Nonce Verify error"), "{stderr}");
    if nonce {
        assert!(!stderr.contains("no nonce"), "{stderr}");
    }
}

#[test]
fn openssl_client_post_good_revoked_unknown_with_and_without_nonce() {
    let Some(()) = openssl() else { return };
    let env = Env::new();
    let daemon = env.start(&[]);
    let url = daemon.url();
    for nonce in [true, false] {
        let mut args = vec![
            "-url",
            &url,
            "-cert",
            "leaf.pem",
            "-cert",
            "other_leaf.pem",
            "-cert",
            "signer.pem",
            "-respout",
            "resp.der",
        ];
        if !nonce {
            args.push("-no_nonce");
        }
        let (stdout, stderr) = openssl_ocsp(&env, &args);
        assert_verified(&stderr, nonce);
        assert!(stdout.contains("leaf.pem: good"), "{stdout}");
        assert!(stdout.contains("other_leaf.pem: revoked"), "{stdout}");
        assert!(stdout.contains("Reason: keyCompromise"), "{stdout}");
        assert!(
            stdout.contains("Revocation Time: May 20 12:00:00 2026 GMT"),
            "{stdout}"
        );
        assert!(stdout.contains("signer.pem: unknown"), "{stdout}");
        // The same bytes, judged by mailstaple-verify for each certificate.
        let der = std::fs::read(env.path("resp.der")).unwrap();
        let pki = Pki::shared(KeyAlg::EcdsaP256);
        let judge = |cert: &[u8]| {
            verify(
                &der,
                cert,
                &pki.intermediate.der,
                unix_now(),
                &Policy::default(),
            )
            .unwrap()
        };
        assert_eq!(judge(&pki.leaf.der).status(), CertStatus::Good);
        assert_eq!(
            judge(&pki.other_leaf.der).status(),
            CertStatus::Revoked {
                time: revoked_at(),
                reason: Some(CrlReason(1))
            }
        );
        assert_eq!(judge(&pki.signer.der).status(), CertStatus::Unknown);
        assert_eq!(judge(&pki.leaf.der).nonce().is_some(), nonce);
    }
    // SHA-256 CertIDs.
    let (stdout, stderr) = openssl_ocsp(&env, &["-url", &url, "-sha256", "-cert", "leaf.pem"]);
    assert_verified(&stderr, true);
    assert!(stdout.contains("leaf.pem: good"), "{stdout}");
    // A certificate of another CA: unauthorized, and the responder carries on.
    let out = Command::new("openssl")
        .args([
            "ocsp",
            "-issuer",
            "other_ca.pem",
            "-cert",
            "leaf.pem",
            "-url",
            &url,
            "-timeout",
            "20",
        ])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("unauthorized"), "{text}");
    assert_eq!(daemon.stop(), 0);
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = c.iter().fold(0u32, |a, &b| a << 8 | u32::from(b)) << (8 * (3 - c.len()));
        for i in 0..4 {
            s.push(if i <= c.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    s
}

fn url_path(request: &[u8]) -> String {
    format!(
        "/{}",
        b64(request)
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    )
}

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(": ")?;
            n.eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }
}

/// One request on a new connection; `None` if the server closes it without a full answer.
fn http(addr: SocketAddr, raw: &[u8]) -> Option<Reply> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(raw).ok()?;
    read_reply(&mut s)
}

fn read_reply(s: &mut TcpStream) -> Option<Reply> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let mut reply = Reply {
        status,
        head,
        body: buf[head_end..].to_vec(),
    };
    let len: usize = reply
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while reply.body.len() < len {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => reply.body.extend_from_slice(&chunk[..n]),
        }
    }
    Some(reply)
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").into_bytes()
}

fn post(body: &[u8]) -> Vec<u8> {
    let head = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    [head.as_bytes(), body].concat()
}

#[test]
fn get_answers_are_byte_stable_cacheable_and_openssl_accepts_them() {
    let Some(()) = openssl() else { return };
    let env = Env::new();
    let daemon = env.start(&[]);
    // OpenSSL writes the request (SHA-1 CertID, no nonce): the RFC 5019 form.
    openssl_ocsp(
        &env,
        &["-cert", "leaf.pem", "-no_nonce", "-reqout", "req.der"],
    );
    let req = std::fs::read(env.path("req.der")).unwrap();
    let first = http(daemon.addr, &get(&url_path(&req))).unwrap();
    let second = http(daemon.addr, &get(&format!("/ocsp{}", url_path(&req)))).unwrap();
    let by_post = http(daemon.addr, &post(&req)).unwrap();
    assert_eq!(
        (first.status, second.status, by_post.status),
        (200, 200, 200)
    );
    assert_eq!(first.body, second.body, "byte-stable within the window");
    assert_eq!(first.body, by_post.body);
    assert_eq!(
        first.header("content-type"),
        Some("application/ocsp-response")
    );
    assert_eq!(
        first.header("last-modified"),
        Some("Mon, 01 Jun 2026 00:00:00 GMT")
    );
    assert_eq!(
        first.header("expires"),
        Some("Tue, 02 Jun 2026 00:00:00 GMT")
    );
    let cache_control = first.header("cache-control").unwrap();
    assert!(
        cache_control.starts_with("max-age=")
            && cache_control.ends_with(", public, no-transform, must-revalidate"),
        "{cache_control}"
    );
    let etag = first.header("etag").unwrap();
    assert_eq!(second.header("etag"), Some(etag));
    let conditional = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n",
        url_path(&req)
    );
    assert_eq!(
        http(daemon.addr, conditional.as_bytes()).unwrap().status,
        304
    );
    // OpenSSL checks the GET bytes.
    std::fs::write(env.path("get.der"), &first.body).unwrap();
    let (stdout, stderr) = openssl_ocsp(
        &env,
        &["-cert", "leaf.pem", "-no_nonce", "-respin", "get.der"],
    );
    assert_verified(&stderr, false);
    assert!(stdout.contains("leaf.pem: good"), "{stdout}");
    // Bad base64 in a GET path: malformedRequest, and the responder carries on.
    let bad = http(daemon.addr, &get("/MEow%%%not-base64")).unwrap();
    assert_eq!(
        OcspResponse::parse(&bad.body).unwrap().status,
        ResponseStatus::MalformedRequest
    );
    assert_eq!(
        http(daemon.addr, &get(&url_path(&req))).unwrap().body,
        first.body
    );
    assert_eq!(daemon.stop(), 0);
}

#[test]
fn the_ca_itself_can_sign_and_keys_may_be_sec1() {
    let Some(()) = openssl() else { return };
    let env = Env::new();
    // A SEC1 ("EC PRIVATE KEY") copy of the CA key, as `openssl ec` writes it.
    let out = Command::new("openssl")
        .args(["ec", "-in", "issuer.key", "-out", "issuer-sec1.key"])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(env.path("issuer-sec1.key"))
            .unwrap()
            .contains("BEGIN EC PRIVATE KEY")
    );
    let daemon = env.start(&[
        "--signer-key",
        "issuer-sec1.key",
        "--responder-id-by-name",
        "--validity",
        "2h",
    ]);
    let (stdout, stderr) = openssl_ocsp(
        &env,
        &[
            "-url",
            &daemon.url(),
            "-cert",
            "other_leaf.pem",
            "-respout",
            "resp.der",
        ],
    );
    assert_verified(&stderr, true);
    assert!(stdout.contains("other_leaf.pem: revoked"), "{stdout}");
    let der = std::fs::read(env.path("resp.der")).unwrap();
    let basic = OcspResponse::parse(&der).unwrap().basic.unwrap();
    assert!(
        basic.certs.is_empty(),
        "the CA's own responses embed no certificate"
    );
    assert!(matches!(
        basic.responder_id,
        mailstaple_ocsp::ResponderId::ByName(_)
    ));
    let single = &basic.responses[0];
    assert_eq!(
        single.next_update.unwrap().unix() - single.this_update.unix(),
        7200
    );
    assert!(daemon.log().contains("the CA itself"), "{}", daemon.log());
    assert_eq!(daemon.stop(), 0);
}

#[test]
fn misconfigurations_are_refused_with_exit_2_naming_the_problem() {
    let env = Env::new();
    std::fs::write(env.path("bad-index.txt"), "V\t270101000000Z\t\t1001\tunknown\t/CN=a\nR\t270101000000Z\t260101000000Z,sleepy\t1002\tunknown\t/CN=b\n").unwrap();
    let base = ["respond", "--ca", "issuer.pem", "--listen", "127.0.0.1:0"];
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "--index",
                "index.txt",
                "--signer-cert",
                "signer.pem",
                "--signer-key",
                "leaf.key",
            ],
            "does not match",
        ),
        (
            &[
                "--index",
                "index.txt",
                "--signer-cert",
                "signer.pem",
                "--signer-key",
                "missing.key",
            ],
            "missing.key",
        ),
        (
            &[
                "--index",
                "bad-index.txt",
                "--signer-cert",
                "signer.pem",
                "--signer-key",
                "signer.key",
            ],
            "bad-index.txt: index line 2: unknown revocation reason",
        ),
        (
            &[
                "--index",
                "index.txt",
                "--signer-cert",
                "leaf.pem",
                "--signer-key",
                "leaf.key",
            ],
            "OCSPSigning",
        ),
        (
            &[
                "--index",
                "index.txt",
                "--signer-cert",
                "signer.pem",
                "--signer-key",
                "root.pem",
            ],
            "no PEM block labelled PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY",
        ),
        (
            &[
                "--index",
                "index.txt",
                "--signer-cert",
                "signer.pem",
                "--signer-key",
                "signer.key",
                "--validity",
                "1s",
            ],
            "validity",
        ),
    ];
    for (args, message) in cases {
        let out = env.run(&[&base[..], args].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    let out = env.run(&[
        "respond",
        "--index",
        "index.txt",
        "--ca",
        "issuer.pem",
        "--signer-key",
        "issuer.key",
        "--validity",
        "1w",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

fn leaf_request(pki: &Pki, nonce: Option<&[u8]>) -> Vec<u8> {
    let id = CertId::new(
        &CertView::parse(&pki.leaf.der).unwrap(),
        &CertView::parse(&pki.intermediate.der).unwrap(),
        HashAlgorithm::Sha1,
    );
    build_request(&[id], nonce)
}

fn leaf_status(daemon: &Daemon) -> CertStatus {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let reply = http(daemon.addr, &post(&leaf_request(pki, None))).unwrap();
    verify(
        &reply.body,
        &pki.leaf.der,
        &pki.intermediate.der,
        unix_now(),
        &Policy::default(),
    )
    .unwrap()
    .status()
}

#[test]
fn sighup_and_file_changes_reload_the_index_and_sigterm_exits_cleanly() {
    let env = Env::new();
    let daemon = env.start(&[]);
    assert_eq!(leaf_status(&daemon), CertStatus::Good);
    // Written in place (no rename), then SIGHUP: reloaded at once.
    std::fs::write(
        env.path("index.txt"),
        INDEX.replace(
            "V\t260830000000Z\t\t1001",
            "R\t260830000000Z\t260601000000Z,superseded\t1001",
        ),
    )
    .unwrap();
    daemon.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !matches!(
        leaf_status(&daemon),
        CertStatus::Revoked {
            reason: Some(CrlReason(4)),
            ..
        }
    ) {
        assert!(
            Instant::now() < deadline,
            "not reloaded; log: {}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Replaced by rename, no signal: picked up by polling.
    let tmp = env.path("index.txt.new");
    std::fs::write(&tmp, INDEX).unwrap();
    std::fs::rename(&tmp, env.path("index.txt")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while leaf_status(&daemon) != CertStatus::Good {
        assert!(
            Instant::now() < deadline,
            "not reloaded; log: {}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = daemon.log();
    assert!(log.contains("reloaded"), "{log}");
    assert_eq!(daemon.stop(), 0);
}

/// What each hostile connection does.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    ConnectClose,
    Garbage,
    ShortSlowloris,
    Oversized,
    HalfRequest,
    BadBase64Get,
    HugeHead,
    BadDer,
    BadMethod,
    ResetMidBody,
}

const HOSTILE: [Hostile; 10] = [
    Hostile::ConnectClose,
    Hostile::Garbage,
    Hostile::ShortSlowloris,
    Hostile::Oversized,
    Hostile::HalfRequest,
    Hostile::BadBase64Get,
    Hostile::HugeHead,
    Hostile::BadDer,
    Hostile::BadMethod,
    Hostile::ResetMidBody,
];

fn hostile(addr: SocketAddr, kind: Hostile, n: usize) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let junk: Vec<u8> = (0..64 + n % 512).map(|i| (i * 31 + n * 7) as u8).collect();
    let _ = match kind {
        Hostile::ConnectClose => Ok(()),
        Hostile::Garbage => s.write_all(&junk),
        Hostile::ShortSlowloris => {
            for b in b"POST / HTTP/1.1\r\nHo" {
                if s.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(())
        }
        Hostile::Oversized => s
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n")
            .and_then(|()| s.write_all(&vec![0x30; 64 * 1024])),
        Hostile::HalfRequest => s.write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n\x30\x81\xc5\x30",
        ),
        Hostile::BadBase64Get => s.write_all(
            format!(
                "GET /MEow{}%%%{n}==== HTTP/1.1\r\nHost: x\r\n\r\n",
                "*".repeat(n % 50)
            )
            .as_bytes(),
        ),
        Hostile::HugeHead => s.write_all(
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\n\r\n",
                "j".repeat(40_000)
            )
            .as_bytes(),
        ),
        Hostile::BadDer => s.write_all(&post(&junk)),
        Hostile::BadMethod => s.write_all(b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"),
        Hostile::ResetMidBody => s.write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffff\r\n0000",
        ),
    };
    // Where the server has something to say (400, 405, 413, 431, malformedRequest), wait for it;
    // otherwise hang up at once, as such clients do.
    let answered = matches!(
        kind,
        Hostile::Garbage
            | Hostile::Oversized
            | Hostile::BadBase64Get
            | Hostile::HugeHead
            | Hostile::BadDer
            | Hostile::BadMethod
    );
    if answered {
        let mut sink = [0u8; 4096];
        let _ = s.read(&mut sink);
    }
}

/// The load test: 10,000 hostile connections interleaved with 1,000 valid requests from
/// eight client threads, plus 50 slow-drip connections held open meanwhile. Every valid request
/// must get the right, verifiable answer; the responder must stay up with bounded memory and
/// exit cleanly on SIGTERM. Loopback only, bounded in count and time.
#[test]
fn hostile_load_does_not_stop_the_responder() {
    let env = Env::new();
    hostile_load(env.start(&["--timeout", "2s"]));
}

/// The hostile load against a running responder (of the test PKI's P-256 issuer, with the
/// usual index), which must survive it and exit cleanly.
fn hostile_load(mut daemon: Daemon) {
    const HOSTILE_COUNT: usize = 10_000;
    const VALID_COUNT: usize = 1_000;
    const THREADS: usize = 8;
    let addr = daemon.addr;
    let started = Instant::now();

    // Slow drips: a byte every 300 ms; the 2 s head timeout must cut every one of them off.
    let drips: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                let began = Instant::now();
                for b in b"GET /MEowMA0wCzAJMAcGBSsOAwIaBBQ HTTP/1.1\r\nHost: x\r\n"
                    .iter()
                    .cycle()
                {
                    if s.write_all(&[*b]).is_err() || began.elapsed() > Duration::from_secs(20) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(300));
                }
                began.elapsed()
            })
        })
        .collect();

    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let total = HOSTILE_COUNT + VALID_COUNT;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                let mut valid = 0;
                for job in (t..total).step_by(THREADS) {
                    if job % (total / VALID_COUNT) != 0 {
                        hostile(addr, HOSTILE[job % HOSTILE.len()], job);
                        continue;
                    }
                    valid += 1;
                    let (cert, expected) = match job % 3 {
                        0 => (&pki.leaf, CertStatus::Good),
                        1 => (
                            &pki.other_leaf,
                            CertStatus::Revoked {
                                time: revoked_at(),
                                reason: Some(CrlReason(1)),
                            },
                        ),
                        _ => (&pki.signer, CertStatus::Unknown),
                    };
                    let id = CertId::new(
                        &CertView::parse(&cert.der).unwrap(),
                        &CertView::parse(&pki.intermediate.der).unwrap(),
                        HashAlgorithm::Sha1,
                    );
                    let nonce = (job % 2 == 0).then(|| (job as u64).to_be_bytes().repeat(2));
                    let req = build_request(&[id], nonce.as_deref());
                    let raw = if job % 4 < 2 {
                        post(&req)
                    } else {
                        get(&url_path(&req))
                    };
                    let reply = http(addr, &raw)
                        .unwrap_or_else(|| panic!("valid request {job} got no answer"));
                    assert_eq!(reply.status, 200, "job {job}");
                    let staple = verify(
                        &reply.body,
                        &cert.der,
                        &pki.intermediate.der,
                        unix_now(),
                        &Policy::default(),
                    )
                    .unwrap_or_else(|e| panic!("job {job}: {e}"));
                    assert_eq!(staple.status(), expected, "job {job}");
                    assert_eq!(staple.nonce(), nonce.as_deref(), "job {job}");
                }
                valid
            })
        })
        .collect();
    let answered: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(answered, VALID_COUNT);
    for d in drips {
        let held = d.join().unwrap();
        assert!(
            held < Duration::from_secs(15),
            "a slow drip was held {held:?}"
        );
    }
    assert!(daemon.alive(), "the responder died; log: {}", daemon.log());
    let peak = daemon.peak_rss_kib();
    eprintln!(
        "hostile load: {total} connections in {:?}, peak RSS {peak:?} KiB",
        started.elapsed()
    );
    if let Some(kib) = peak {
        assert!(kib < 200 * 1024, "peak RSS {kib} KiB");
    }
    // Still answering, then a clean exit.
    assert_eq!(leaf_status(&daemon), CertStatus::Good);
    assert_eq!(daemon.stop(), 0);
}

/// Issue 18: encrypted PKCS#8 signer keys as OpenSSL writes them, decrypted once at start with a
/// passphrase from a file, a systemd credential or a terminal; refused clearly without one or
/// with a wrong one; the passphrase never appears in the output.
#[test]
fn encrypted_signer_keys() {
    if openssl().is_none() {
        return;
    }
    let env = Env::new();
    const PASS: &str = "correct horse battery staple";
    std::fs::write(env.path("pass.txt"), format!("{PASS}\n")).unwrap();
    std::fs::write(env.path("wrong.txt"), "not the passphrase\n").unwrap();
    let encrypt = |out: &str, args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .args([
                "-in",
                "signer.key",
                "-out",
                out,
                "-passout",
                "file:pass.txt",
            ])
            .current_dir(env.dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    encrypt(
        "pbkdf2-aes256cbc.key",
        &["pkcs8", "-topk8", "-v2", "aes-256-cbc"],
    );
    encrypt("pkey-aes256.key", &["pkey", "-aes256"]);
    encrypt("scrypt-aes256cbc.key", &["pkcs8", "-topk8", "-scrypt"]);
    encrypt(
        "pbkdf2-aes128cbc.der",
        &["pkcs8", "-topk8", "-v2", "aes-128-cbc", "-outform", "DER"],
    );
    let base = [
        "respond",
        "--index",
        "index.txt",
        "--ca",
        "issuer.pem",
        "--signer-cert",
        "signer.pem",
        "--listen",
        "127.0.0.1:0",
    ];
    for key in [
        "pbkdf2-aes256cbc.key",
        "pkey-aes256.key",
        "scrypt-aes256cbc.key",
        "pbkdf2-aes128cbc.der",
    ] {
        // No passphrase, no terminal: a clear refusal at start.
        let out = env.run(&[&base[..], &["--signer-key", key]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {stderr}");
        assert!(
            stderr.contains("encrypted and no passphrase"),
            "{key}: {stderr}"
        );
        // The wrong one.
        let out = env.run(
            &[
                &base[..],
                &[
                    "--signer-key",
                    key,
                    "--signer-key-passphrase-file",
                    "wrong.txt",
                ],
            ]
            .concat(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {stderr}");
        assert!(stderr.contains("does not decrypt"), "{key}: {stderr}");
        // The right one: the responder answers, signing with the decrypted key.
        let mut daemon = env.start(&[
            "--signer-cert",
            "signer.pem",
            "--signer-key",
            key,
            "--signer-key-passphrase-file",
            "pass.txt",
        ]);
        assert_eq!(leaf_status(&daemon), CertStatus::Good, "{key}");
        assert!(daemon.alive());
        assert!(!daemon.log().contains(PASS), "{key}: {}", daemon.log());
        assert_eq!(daemon.stop(), 0);
    }

    // A systemd credential (LoadCredential=signer-key-passphrase:...).
    let creds = env.path("credentials");
    std::fs::create_dir(&creds).unwrap();
    std::fs::copy(env.path("pass.txt"), creds.join("signer-key-passphrase")).unwrap();
    let mut args: Vec<String> = base[1..].iter().map(|s| (*s).to_owned()).collect();
    args.extend(["--signer-key", "pbkdf2-aes256cbc.key", "--now", &now_arg()].map(String::from));
    let daemon =
        Daemon::start_with_env(env.dir.path(), &args, &[("CREDENTIALS_DIRECTORY", &creds)])
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(leaf_status(&daemon), CertStatus::Good);
    assert_eq!(daemon.stop(), 0);

    // A terminal: `script` gives the responder a pty; the prompt appears, the passphrase is
    // typed once and not echoed.
    let mut command = vec![
        env!("CARGO_BIN_EXE_mailstaple").to_owned(),
        "respond".to_owned(),
    ];
    command.extend(args.iter().map(|a| format!("'{a}'")));
    let mut child = Command::new("script")
        .args(["-qfec", &command.join(" "), "/dev/null"])
        .current_dir(env.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let wait_for = |what: &str, seen: &mut String| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !seen.contains(what) {
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {what:?} from the pty; saw {seen:?}"));
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    wait_for("Passphrase for pbkdf2-aes256cbc.key: ", &mut seen);
    // The prompt is written just before echo is turned off: type as a person would, a moment
    // later, or the line discipline may echo what arrives in between.
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(format!("{PASS}\n").as_bytes()).unwrap();
    wait_for("listening on http://", &mut seen);
    wait_for("/\r\n", &mut seen);
    assert!(!seen.contains(PASS), "the passphrase was echoed: {seen:?}");
    let addr: SocketAddr = seen
        .split("listening on http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {seen:?}"));
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let reply = http(addr, &post(&leaf_request(pki, None))).unwrap();
    let status = verify(
        &reply.body,
        &pki.leaf.der,
        &pki.intermediate.der,
        unix_now(),
        &Policy::default(),
    )
    .unwrap()
    .status();
    assert_eq!(status, CertStatus::Good);
    // Closing the terminal (killing `script`) leaves the responder running, as a daemon should;
    // SIGTERM must still stop it, although its standard error is gone.
    let _ = child.kill();
    let _ = child.wait();
    let running = processes_in(env.dir.path());
    assert_eq!(running.len(), 1, "the responder under the pty: {running:?}");
    for pid in &running {
        let _ = Command::new("kill")
            .args(["-s", "TERM", &pid.to_string()])
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_in(env.dir.path()).is_empty() {
        assert!(
            Instant::now() < deadline,
            "SIGTERM did not stop the responder whose terminal closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The processes whose working directory is `dir` (from /proc).
fn processes_in(dir: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir))
        .collect()
}

/// SoftHSM2's module, where Debian installs it; `None` (the test skipped) when it is missing,
/// unless the peers are required.
fn softhsm() -> Option<PathBuf> {
    let module = PathBuf::from("/usr/lib/softhsm/libsofthsm2.so");
    if module.exists()
        && Command::new("softhsm2-util")
            .arg("--version")
            .output()
            .is_ok()
    {
        return Some(module);
    }
    assert!(
        std::env::var("MAILSTAPLE_REQUIRE_PEERS").is_err(),
        "softhsm2 is required but not installed"
    );
    eprintln!("skipped: softhsm2 not installed");
    None
}

/// Issue 18: the signer key inside a PKCS#11 token (SoftHSM2, initialised by the test): ECDSA
/// and RSA keys, `openssl ocsp` verifying the answers, a wrong PIN and a missing key refused at
/// start, and the hostile-client load with every on-demand signature made by the token.
#[test]
fn pkcs11_signer_key_in_softhsm() {
    let (Some(module), Some(())) = (softhsm(), openssl()) else {
        return;
    };
    let env = Env::new();
    let tokens = env.path("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = env.path("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let softhsm_util = |args: &[&str]| {
        let out = Command::new("softhsm2-util")
            .args(args)
            .env("SOFTHSM2_CONF", &conf)
            .current_dir(env.dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "softhsm2-util {args:?}: {out:?}");
    };
    softhsm_util(&[
        "--init-token",
        "--free",
        "--label",
        "mailstaple-test",
        "--pin",
        "1234",
        "--so-pin",
        "5678",
    ]);
    softhsm_util(&[
        "--import",
        "signer.key",
        "--token",
        "mailstaple-test",
        "--label",
        "ocsp-p256",
        "--id",
        "01",
        "--pin",
        "1234",
    ]);
    let rsa = Pki::shared(KeyAlg::Rsa2048);
    rsa.write_pem_files(&env.path("rsa")).unwrap();
    std::fs::write(env.path("rsa/index.txt"), INDEX).unwrap();
    softhsm_util(&[
        "--import",
        "rsa/signer.key",
        "--token",
        "mailstaple-test",
        "--label",
        "ocsp-rsa",
        "--id",
        "02",
        "--pin",
        "1234",
    ]);
    std::fs::write(env.path("pin.txt"), "1234\n").unwrap();
    std::fs::write(env.path("wrong-pin.txt"), "9999\n").unwrap();
    let module = module.to_str().unwrap().to_owned();
    let args = |dir: &str, object: &str, pin: &str| -> Vec<String> {
        let file = |name: &str| {
            if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            }
        };
        vec![
            "--index".into(),
            file("index.txt"),
            "--ca".into(),
            file("issuer.pem"),
            "--signer-cert".into(),
            file("signer.pem"),
            "--signer-key".into(),
            format!("pkcs11:token=mailstaple-test;object={object}"),
            "--pkcs11-module".into(),
            module.clone(),
            "--pkcs11-pin-file".into(),
            pin.into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--timeout".into(),
            "2s".into(),
            "--now".into(),
            now_arg(),
        ]
    };
    let env_vars = [("SOFTHSM2_CONF", conf.as_path())];

    // Refused at start, naming the problem.
    for (object, pin, message) in [
        ("ocsp-p256", "wrong-pin.txt", "C_Login"),
        (
            "no-such-key",
            "pin.txt",
            "no private key in the token matches",
        ),
        ("ocsp-rsa", "pin.txt", "PKCS#11: C_Sign"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_mailstaple"))
            .arg("respond")
            .args(args("", object, pin))
            .envs(env_vars)
            .current_dir(env.dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{object}: {stderr}");
        assert!(stderr.contains(message), "{object}: {stderr}");
    }

    // RSA in the token: openssl ocsp verifies the answer.
    let daemon = Daemon::start_with_env(
        env.dir.path(),
        &args("rsa", "ocsp-rsa", "pin.txt"),
        &env_vars,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let url = daemon.url();
    let rsa_dir = Env {
        dir: tempfile::tempdir_in(env.dir.path()).unwrap(),
    };
    rsa.write_pem_files(rsa_dir.dir.path()).unwrap();
    let (stdout, stderr) = openssl_ocsp(&rsa_dir, &["-url", &url, "-cert", "leaf.pem"]);
    assert_verified(&stderr, true);
    assert!(stdout.contains("leaf.pem: good"), "{stdout}");
    assert_eq!(daemon.stop(), 0);

    // ECDSA P-256 in the token: openssl ocsp, then the hostile load.
    let daemon =
        Daemon::start_with_env(env.dir.path(), &args("", "ocsp-p256", "pin.txt"), &env_vars)
            .unwrap_or_else(|e| panic!("{e}"));
    let url = daemon.url();
    let (stdout, stderr) = openssl_ocsp(
        &env,
        &["-url", &url, "-cert", "leaf.pem", "-cert", "other_leaf.pem"],
    );
    assert_verified(&stderr, true);
    assert!(stdout.contains("leaf.pem: good"), "{stdout}");
    assert!(stdout.contains("other_leaf.pem: revoked"), "{stdout}");

    // The token goes away: what is not signed ahead (a nonce request) gets tryLater, the
    // responder stays up; the token comes back: signatures resume without a restart.
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let nonced = |n: u8| post(&leaf_request(pki, Some(&[n; 16])));
    let status_of = |reply: &Reply| OcspResponse::parse(&reply.body).unwrap().status;
    softhsm_util(&["--delete-token", "--token", "mailstaple-test"]);
    let reply = http(daemon.addr, &nonced(1)).unwrap();
    assert_eq!(status_of(&reply), ResponseStatus::TryLater);
    assert_eq!(
        leaf_status(&daemon),
        CertStatus::Good,
        "signed ahead, still served"
    );
    softhsm_util(&[
        "--init-token",
        "--free",
        "--label",
        "mailstaple-test",
        "--pin",
        "1234",
        "--so-pin",
        "5678",
    ]);
    softhsm_util(&[
        "--import",
        "signer.key",
        "--token",
        "mailstaple-test",
        "--label",
        "ocsp-p256",
        "--id",
        "01",
        "--pin",
        "1234",
    ]);
    let mut back = None;
    for attempt in 0..50u8 {
        let reply = http(daemon.addr, &nonced(attempt)).unwrap();
        if status_of(&reply) == ResponseStatus::Successful {
            back = Some(reply);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let back =
        back.unwrap_or_else(|| panic!("the token's return went unnoticed: {}", daemon.log()));
    let staple = verify(
        &back.body,
        &pki.leaf.der,
        &pki.intermediate.der,
        unix_now(),
        &Policy::default(),
    )
    .unwrap();
    assert_eq!(staple.status(), CertStatus::Good);
    hostile_load(daemon);
}

/// Issue 18: two CAs in one process from the `[respond]` section (the root answering for the
/// issuing CA, signing itself; the issuing CA through its delegated signer): `openssl ocsp`
/// gets each answer signed by the right signer, a third issuer gets `unauthorized`; `config
/// check` accepts the file and refuses broken entries with the reason.
#[test]
fn several_cas_from_the_configuration_file() {
    if openssl().is_none() {
        return;
    }
    let env = Env::new();
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    std::fs::write(env.path("root.key"), pki.root.key_pem()).unwrap();
    std::fs::write(
        env.path("root-index.txt"),
        "V\t310101000000Z\t\t02\tunknown\t/CN=intermediate\n",
    )
    .unwrap();
    std::fs::write(env.path("rogue_signer.pem"), pki.rogue_signer.pem()).unwrap();
    let config = env.path("mailstaple.toml");
    std::fs::write(
        &config,
        "[respond]\nlisten = \"127.0.0.1:0\"\nvalidity = \"1d\"\n\n\
         [[respond.ca]]\nname = \"root\"\nindex = \"root-index.txt\"\nca = \"root.pem\"\n\
         signer_key = \"root.key\"\n\n\
         [[respond.ca]]\nname = \"issuing\"\nindex = \"index.txt\"\nca = \"issuer.pem\"\n\
         signer_cert = \"signer.pem\"\nsigner_key = \"signer.key\"\n",
    )
    .unwrap();
    let check = env.run(&["config", "check", "mailstaple.toml"]);
    assert_eq!(check.status.code(), Some(0), "{check:?}");
    let daemon = Daemon::start(
        env.dir.path(),
        &[
            "--config".into(),
            "mailstaple.toml".into(),
            "--now".into(),
            now_arg(),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        daemon.log().contains("root: signing as"),
        "{}",
        daemon.log()
    );
    assert!(
        daemon.log().contains("issuing: signing as"),
        "{}",
        daemon.log()
    );
    let url = daemon.url();
    // The issuing CA's leaf: signed by the delegated signer.
    let (stdout, stderr) = openssl_ocsp(&env, &["-url", &url, "-cert", "leaf.pem", "-resp_text"]);
    assert_verified(&stderr, true);
    assert!(stdout.contains("leaf.pem: good"), "{stdout}");
    assert!(stdout.contains("CN=mailstaple OCSP signer"), "{stdout}");
    // The root's certificate, the issuing CA: signed by the root itself.
    let out = Command::new("openssl")
        .args([
            "ocsp",
            "-issuer",
            "root.pem",
            "-cert",
            "issuer.pem",
            "-CAfile",
            "root.pem",
        ])
        .args([
            "-url",
            &url,
            "-attime",
            &now_arg(),
            "-validity_period",
            "315360000",
        ])
        .args(["-resp_text"])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stderr.contains("Response verify OK"), "{stdout}\n{stderr}");
    assert!(stdout.contains("issuer.pem: good"), "{stdout}");
    // Signed by the root itself: the responder's key hash is the issuer key hash.
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
    };
    assert_eq!(
        field("Responder Id:"),
        field("Issuer Key Hash:"),
        "{stdout}"
    );
    // A third issuer: unauthorized.
    let out = Command::new("openssl")
        .args([
            "ocsp",
            "-issuer",
            "other_ca.pem",
            "-cert",
            "rogue_signer.pem",
        ])
        .args(["-url", &url, "-no_nonce"])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("unauthorized"), "{text}");
    assert_eq!(daemon.stop(), 0);

    // The CA from the flags and from the file at once: refused.
    let out = env.run(&[
        "respond",
        "--config",
        "mailstaple.toml",
        "--index",
        "index.txt",
        "--ca",
        "issuer.pem",
        "--signer-key",
        "issuer.key",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not both"));

    // Broken entries, each refused by config check and by respond with the same reason.
    for (entry, wanted) in [
        (
            "index = \"index.txt\"\nca = \"issuer.pem\"\n",
            "[[respond.ca]]: signer_key is missing",
        ),
        (
            "index = \"index.txt\"\nca = \"issuer.pem\"\nsigner_cert = \"signer.pem\"\nsigner_key = \"leaf.key\"\n",
            "does not match",
        ),
        (
            "index = \"root.pem\"\nca = \"issuer.pem\"\nsigner_key = \"issuer.key\"\n",
            "[[respond.ca]] index root.pem: index line 1",
        ),
        (
            "index = \"index.txt\"\nca = \"issuer.pem\"\nsigner_key = \"pkcs11:object=k\"\n",
            "a pkcs11: key needs pkcs11_module",
        ),
        (
            "index = \"index.txt\"\nca = \"issuer.pem\"\nsigner_key = \"issuer.key\"\nsigner_kye = \"x\"\n",
            "(did you mean signer_key?)",
        ),
    ] {
        std::fs::write(env.path("bad.toml"), format!("[[respond.ca]]\n{entry}")).unwrap();
        for (args, code) in [
            (&["config", "check", "bad.toml"][..], 1),
            (&["respond", "--config", "bad.toml"][..], 2),
        ] {
            let out = env.run(args);
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{args:?} {entry}: {text}");
            assert!(text.contains(wanted), "{args:?} {entry}: {text}");
        }
    }
}
