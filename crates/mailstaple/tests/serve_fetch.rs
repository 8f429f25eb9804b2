//! Issue 14: `mailstaple serve` keeps its own proofs fresh, against `mailstaple respond` on
//! loopback, with no fetch configuration at all (the certificate's AIA URL and a writable
//! `tls_ocsp_file` path): it staples within seconds of start, stops stapling at the refresh after
//! the responder revokes the certificate, and keeps the previous good proof while the responder
//! is down. `openssl s_client -status` and `gnutls-cli --ocsp` are the clients that look; the
//! real `openssl ocsp` responder (under `faketime`) is a second source of proofs.
//!
//! Both processes run on clocks that start at the test PKI's instant and advance (the hidden
//! `serve --clock-start` and `respond --now`), with proofs valid for seconds so that refreshes
//! happen within the test; the tests themselves read no clock beyond measuring waits.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailstaple_testpki::{KeyAlg, NOW, Pki, PkiOptions};

/// The leaf (serial 1001) valid; the same, revoked.
const GOOD: &str =
    "V\t260830000000Z\t\t1001\tunknown\t/O=mailstaple test PKI/CN=mail.example.test\n";
const REVOKED: &str = "R\t260830000000Z\t260601000000Z,keyCompromise\t1001\tunknown\t/O=mailstaple test PKI/CN=mail.example.test\n";

/// Whether `openssl` is there (required under `MAILSTAPLE_REQUIRE_PEERS`).
fn openssl() -> bool {
    if Command::new("openssl").arg("version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var("MAILSTAPLE_REQUIRE_PEERS").is_err(),
        "openssl is required but not installed"
    );
    eprintln!("skipped: openssl not installed");
    false
}

/// A port free now on 127.0.0.1, for the responder whose URL goes into the certificate.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped; its standard error goes to a file.
struct Proc {
    child: Child,
    log: PathBuf,
    stopped: bool,
}

impl Proc {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts `mailstaple ARGS` in `dir` and waits for its first line on standard output.
fn start(dir: &Path, log: &str, args: &[String]) -> (Proc, String) {
    let log = dir.join(log);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailstaple"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (
        Proc {
            child,
            log,
            stopped: false,
        },
        line.trim().to_owned(),
    )
}

/// A directory with a PKI whose leaf names `http://127.0.0.1:PORT/` as its responder.
fn setup() -> (tempfile::TempDir, u16) {
    let port = free_port();
    let mut opts = PkiOptions::new(KeyAlg::EcdsaP256);
    opts.ocsp_url = Some(format!("http://127.0.0.1:{port}/"));
    let pki = Pki::with_options(opts);
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    std::fs::write(dir.path().join("index.txt"), GOOD).unwrap();
    (dir, port)
}

/// `mailstaple respond` on `port`, signing with the issuer itself, proofs valid `validity`.
fn respond(dir: &Path, port: u16, validity: &str) -> Proc {
    let args: Vec<String> = [
        "respond",
        "--index",
        "index.txt",
        "--ca",
        "issuer.pem",
        "--signer-key",
        "issuer.key",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--validity",
        validity,
        "--now",
        &NOW.to_string(),
    ]
    .map(String::from)
    .to_vec();
    let (proc, line) = start(dir, "respond.log", &args);
    assert!(
        line.starts_with("listening on http://"),
        "{line}: {}",
        proc.log()
    );
    proc
}

/// `mailstaple serve` with the certificate, its key and a proof file that does not exist yet,
/// and nothing about fetching: it fetches by default.
fn serve(dir: &Path, extra: &[&str]) -> (Proc, u16) {
    let mut args: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--hostname",
        "mail.example.test",
        "--spool",
        "spool",
        "--tls-certificate",
        "chain.pem",
        "--tls-privatekey",
        "leaf.key",
        "--tls-ocsp-file",
        "leaf.ocsp.der",
        "--clock-start",
        &NOW.to_string(),
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let (proc, line) = start(dir, "serve.log", &args);
    let port = line
        .strip_prefix("listening on smtp://127.0.0.1:")
        .and_then(|r| r.strip_suffix('/'))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{line:?}: {}", proc.log()));
    (proc, port)
}

/// What `openssl s_client -status` says about the staple: `Some(true)` for a good one,
/// `Some(false)` for none.
fn stapled(port: u16) -> Option<bool> {
    let out = Command::new("openssl")
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
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Cert Status: good") {
        Some(true)
    } else if text.contains("OCSP response: no response sent") {
        Some(false)
    } else {
        None
    }
}

/// Waits up to `limit` for `s_client` to see `want`; returns how long it took.
fn wait_for(port: u16, want: bool, limit: Duration, what: &str, logs: &[&Proc]) -> Duration {
    let start = Instant::now();
    loop {
        if stapled(port) == Some(want) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{what} not within {limit:?}; logs:\n{}",
            logs.iter()
                .map(|p| p.log())
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn r14_serve_staples_within_seconds_with_no_fetch_configuration() {
    if !openssl() {
        return;
    }
    let (dir, port) = setup();
    let responder = respond(dir.path(), port, "1h");
    let (server, smtp) = serve(dir.path(), &[]);
    let took = wait_for(
        smtp,
        true,
        Duration::from_secs(5),
        "a good staple",
        &[&server, &responder],
    );
    eprintln!("stapled {took:?} after start");
    assert!(dir.path().join("leaf.ocsp.der").exists());
    let log = server.log();
    assert!(
        log.contains("keeping the proofs of 1 certificate(s) fresh itself"),
        "{log}"
    );
    // The start-up status is a sentence with readable times, not a Debug dump.
    assert!(log.contains("no valid proof in leaf.ocsp.der yet"), "{log}");
    assert!(!log.contains("CertificateStatus {"), "{log}");

    // gnutls-cli sees the same proof, byte for byte.
    if Command::new("gnutls-cli").arg("--version").output().is_ok() {
        let saved = dir.path().join("saved.der");
        let out = Command::new("gnutls-cli")
            .args(["--starttls-proto=smtp", "--ocsp", "--insecure"])
            .arg(format!("--save-ocsp={}", saved.display()))
            .args(["-p", &smtp.to_string(), "127.0.0.1"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(
            std::fs::read(&saved).ok(),
            std::fs::read(dir.path().join("leaf.ocsp.der")).ok(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    } else {
        assert!(
            std::env::var("MAILSTAPLE_REQUIRE_PEERS").is_err(),
            "gnutls-cli is required but not installed"
        );
    }

    // --fetch false: nothing fetched, nothing stapled.
    let other = tempfile::tempdir().unwrap();
    for f in ["chain.pem", "leaf.key"] {
        std::fs::copy(dir.path().join(f), other.path().join(f)).unwrap();
    }
    let (quiet, smtp) = serve(other.path(), &["--fetch", "false"]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(stapled(smtp), Some(false), "{}", quiet.log());
    assert!(!other.path().join("leaf.ocsp.der").exists());
}

#[test]
fn r14_a_revocation_stops_the_staple_at_the_next_refresh() {
    if !openssl() {
        return;
    }
    let (dir, port) = setup();
    // Six-second proofs: refreshed about every three seconds.
    let responder = respond(dir.path(), port, "6s");
    let (server, smtp) = serve(dir.path(), &[]);
    wait_for(
        smtp,
        true,
        Duration::from_secs(5),
        "a good staple",
        &[&server, &responder],
    );
    std::fs::write(dir.path().join("index.txt"), REVOKED).unwrap();
    let took = wait_for(
        smtp,
        false,
        Duration::from_secs(15),
        "the end of stapling after the revocation",
        &[&server, &responder],
    );
    eprintln!("stopped stapling {took:?} after the revocation");
    let log = server.log();
    eprintln!("{log}");
    assert!(log.contains("revoked") || log.contains("REVOKED"), "{log}");
}

#[test]
fn r14_the_previous_proof_stays_while_the_responder_is_down() {
    if !openssl() {
        return;
    }
    let (dir, port) = setup();
    // Ten-second proofs: the first refresh falls about five seconds after the install.
    let mut responder = respond(dir.path(), port, "10s");
    let (server, smtp) = serve(dir.path(), &[]);
    wait_for(
        smtp,
        true,
        Duration::from_secs(5),
        "a good staple",
        &[&server, &responder],
    );
    let installed = std::fs::read(dir.path().join("leaf.ocsp.der")).unwrap();
    responder.stop();
    // Wait for the failed refresh, then look again: the same proof, still stapled.
    let start = Instant::now();
    while !server.log().contains("fetch failed") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no refresh attempt: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(stapled(smtp), Some(true), "{}", server.log());
    assert_eq!(
        std::fs::read(dir.path().join("leaf.ocsp.der")).unwrap(),
        installed
    );
}

/// Waits for `marker` in the log of `p` and returns the address after it up to the next `/`.
fn logged_addr(p: &Proc, marker: &str) -> String {
    let start = Instant::now();
    loop {
        let log = p.log();
        if let Some(rest) = log.split(marker).nth(1) {
            return rest.split('/').next().unwrap_or_default().to_owned();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{marker:?} not in {log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `GET http://ADDR/PATH`: the body.
fn get(addr: &str, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The samples of `/metrics`, parsed by a Prometheus text parser (`prometheus-parse`).
fn scrape(addr: &str) -> prometheus_parse::Scrape {
    let text = get(addr, "/metrics");
    prometheus_parse::Scrape::parse_at(text.lines().map(|l| Ok(l.to_owned())), Default::default())
        .unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The value of the sample `metric` whose labels include `labels` (0 when there is none).
fn value(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map_or(0.0, |s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(counts) => {
                counts.iter().map(|c| c.count).fold(0.0, f64::max)
            }
            prometheus_parse::Value::Summary(_) => f64::NAN,
        })
}

/// One plain SMTP delivery to `port`, read reply by reply.
fn smtp_deliver(port: u16) {
    use std::io::Write as _;
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut reply = || {
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.len() < 4 || line.as_bytes()[3] == b' ' {
                return line;
            }
        }
    };
    assert!(reply().starts_with("220"));
    for (command, code) in [
        ("EHLO client.test", "250"),
        ("MAIL FROM:<a@x.test>", "250"),
        ("RCPT TO:<b@y.test>", "250"),
        ("DATA", "354"),
        ("Subject: metrics\r\n\r\nhello\r\n.", "250"),
        ("QUIT", "221"),
    ] {
        write!(writer, "{command}\r\n").unwrap();
        let r = reply();
        assert!(r.starts_with(code), "{command}: {r}");
    }
}

/// Issue 14: the metrics endpoints of `serve` and `respond`, scraped during a run and parsed
/// with a Prometheus text parser: the values move as fetches, handshakes and deliveries happen;
/// `serve --status` prints what is stapled.
#[test]
fn r14_metrics_are_scraped_and_move() {
    if !openssl() {
        return;
    }
    let (dir, port) = setup();
    let responder = {
        let args: Vec<String> = [
            "respond",
            "--index",
            "index.txt",
            "--ca",
            "issuer.pem",
            "--signer-key",
            "issuer.key",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--validity",
            "1h",
            "--now",
            &NOW.to_string(),
            "--metrics-listen",
            "0",
        ]
        .map(String::from)
        .to_vec();
        start(dir.path(), "respond.log", &args).0
    };
    let (server, smtp) = serve(dir.path(), &["--metrics-listen", "0"]);
    let m = logged_addr(&server, "metrics on http://");
    let r = logged_addr(&responder, "metrics on http://");
    assert!(m.starts_with("127.0.0.1:"), "loopback by default: {m}");
    wait_for(
        smtp,
        true,
        Duration::from_secs(5),
        "a good staple",
        &[&server],
    );

    let before = scrape(&m);
    let cert = [("certificate", "chain.pem"), ("state", "good")];
    assert_eq!(value(&before, "mailstaple_proof_state", &cert), 1.0);
    let expiry = value(
        &before,
        "mailstaple_proof_expiry_seconds",
        &[("certificate", "chain.pem")],
    );
    assert!(expiry > 3000.0 && expiry <= 3600.0, "{expiry}");
    // The fetcher's figures come once its status is out (at most a second after the install).
    let start = Instant::now();
    let with_fetch = loop {
        let s = scrape(&m);
        if value(
            &s,
            "mailstaple_fetch_next_refresh_seconds",
            &[("certificate", "chain.pem")],
        ) > 0.0
        {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "no fetch metrics");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        value(
            &with_fetch,
            "mailstaple_fetch_consecutive_failures",
            &[("certificate", "chain.pem")]
        ),
        0.0
    );

    let stapled = [("version", "TLSv1.3"), ("stapled", "yes")];
    let handshakes = value(&before, "mailstaple_tls_handshakes_total", &stapled);
    let sessions = value(&before, "mailstaple_smtp_sessions_total", &[]);
    assert_eq!(stapled_now(smtp), Some(true));
    smtp_deliver(smtp);
    let after = scrape(&m);
    assert_eq!(
        value(&after, "mailstaple_tls_handshakes_total", &stapled),
        handshakes + 1.0
    );
    assert_eq!(
        value(&after, "mailstaple_smtp_sessions_total", &[]),
        sessions + 2.0
    );
    assert_eq!(
        value(
            &after,
            "mailstaple_smtp_messages_total",
            &[("outcome", "accepted")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "mailstaple_smtp_refused_connections_total",
            &[("limit", "smtp_accept_max")]
        ),
        0.0
    );

    // The responder answered the fetch: one good answer, timed.
    let resp = scrape(&r);
    assert!(
        value(
            &resp,
            "mailstaple_responder_requests_total",
            &[("outcome", "good")]
        ) >= 1.0
    );
    assert!(value(&resp, "mailstaple_responder_request_duration_seconds", &[]) >= 1.0);

    // /status and serve --status.
    let status: serde_json::Value = serde_json::from_str(&get(&m, "/status")).unwrap();
    assert_eq!(status["certificates"][0]["state"], "good");
    let out = Command::new(env!("CARGO_BIN_EXE_mailstaple"))
        .args(["serve", "--status", "--metrics-listen", &m])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Certificate: chain.pem"), "{text}");
    assert!(text.contains("Cert Status: good, stapled"), "{text}");
    assert!(text.contains("Next Refresh: "), "{text}");
}

/// [`stapled`], under the name the metrics test reads better with.
fn stapled_now(port: u16) -> Option<bool> {
    stapled(port)
}

/// Issue 14: `fetch --daemon` reads `[fetch] metrics_listen` from the one TOML file and its
/// `/metrics` says per certificate what it keeps.
#[test]
fn r14_the_fetch_daemon_has_metrics_too() {
    let (dir, port) = setup();
    let _responder = respond(dir.path(), port, "1h");
    let d = dir.path().display();
    let config = dir.path().join("mailstaple.toml");
    std::fs::write(
        &config,
        format!(
            "[fetch]\nmetrics_listen = \"0\"\n\n[[fetch.certificate]]\nname = \"mx\"\n\
             cert = \"{d}/leaf.pem\"\nissuer = \"{d}/issuer.pem\"\nout = \"{d}/mx.der\"\n"
        ),
    )
    .unwrap();
    let log = dir.path().join("daemon.log");
    let child = Command::new(env!("CARGO_BIN_EXE_mailstaple"))
        .args(["fetch", "--daemon", "--config"])
        .arg(&config)
        .args(["--now", &NOW.to_string()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let daemon = Proc {
        child,
        log,
        stopped: false,
    };
    let m = logged_addr(&daemon, "metrics on http://");
    let start = Instant::now();
    loop {
        let s = scrape(&m);
        let good = [("certificate", "mx"), ("state", "good")];
        if value(&s, "mailstaple_proof_state", &good) == 1.0 {
            let expiry = value(
                &s,
                "mailstaple_proof_expiry_seconds",
                &[("certificate", "mx")],
            );
            assert!(expiry > 3000.0, "{expiry}");
            assert_eq!(
                value(
                    &s,
                    "mailstaple_fetch_consecutive_failures",
                    &[("certificate", "mx")]
                ),
                0.0
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no good proof in the metrics: {}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status: serde_json::Value = serde_json::from_str(&get(&m, "/status")).unwrap();
    assert_eq!(status["certificates"][0]["proof"], "good");
}

/// Issue 14: the same with the real `openssl ocsp` responder (its clock started at the test
/// PKI's instant by `faketime`): `serve` staples its answer within five seconds.
#[test]
fn r14_serve_staples_from_the_real_openssl_ocsp_responder() {
    if !openssl() {
        return;
    }
    if Command::new("faketime").arg("--version").output().is_err() {
        assert!(
            std::env::var("MAILSTAPLE_REQUIRE_PEERS").is_err(),
            "faketime is required but not installed"
        );
        return;
    }
    let (dir, port) = setup();
    let log = dir.path().join("openssl-ocsp.log");
    // faketime's "@YYYY-MM-DD hh:mm:ss": a clock that starts at the PKI's instant and runs.
    let at = mailstaple_ocsp::Time::from_unix(i64::try_from(NOW).unwrap()).to_string();
    let start_at = format!("@{}", at.trim_end_matches('Z').replace('T', " "));
    // libfaketime preloaded into openssl itself: the faketime wrapper forks, and killing it
    // would leave the responder running.
    let child = Command::new("openssl")
        .env("TZ", "UTC")
        .env("LD_PRELOAD", "/usr/$LIB/faketime/libfaketime.so.1")
        .env("FAKETIME", &start_at)
        .arg("ocsp")
        .args(["-index", "index.txt", "-port", &port.to_string()])
        .args([
            "-rsigner",
            "issuer.pem",
            "-rkey",
            "issuer.key",
            "-CA",
            "issuer.pem",
        ])
        .args(["-nmin", "60", "-ignore_err"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let responder = Proc {
        child,
        log,
        stopped: false,
    };
    // Its "waiting" line, not a probe connection: openssl's responder hangs on an empty one.
    let start = Instant::now();
    while !responder
        .log()
        .contains("waiting for OCSP client connections")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "openssl ocsp did not start: {}",
            responder.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (server, smtp) = serve(dir.path(), &[]);
    let took = wait_for(
        smtp,
        true,
        Duration::from_secs(5),
        "a good staple from openssl ocsp",
        &[&server, &responder],
    );
    eprintln!("stapled {took:?} after start");
}

/// Issue 14: one TOML file drives `config check`, and `serve` with self-fetch: a certificate
/// that names no responder is fetched for because a `[[fetch.certificate]]` entry writes its
/// `tls_ocsp_file` and gives the URL; `[fetch]` settings apply to `serve`'s own fetcher.
#[test]
fn r14_one_toml_file_drives_serve_with_its_fetch_entries() {
    if !openssl() {
        return;
    }
    let port = free_port();
    let mut opts = PkiOptions::new(KeyAlg::EcdsaP256);
    opts.ocsp_url = None;
    let pki = Pki::with_options(opts);
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    std::fs::write(dir.path().join("index.txt"), GOOD).unwrap();
    let d = dir.path().display();
    let config = dir.path().join("mailstaple.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nhostname = \"mail.example.test\"\n\
             spool = \"{d}/spool\"\ntls_certificate = \"{d}/chain.pem\"\n\
             tls_privatekey = \"{d}/leaf.key\"\ntls_ocsp_file = \"{d}/leaf.ocsp.der\"\n\n\
             [fetch]\ntimeout = 5\nstatus = \"{d}/fetch-status.json\"\n\n\
             [[fetch.certificate]]\nname = \"mx\"\ncert = \"{d}/leaf.pem\"\n\
             issuer = \"{d}/issuer.pem\"\nout = \"{d}/leaf.ocsp.der\"\n\
             url = \"http://127.0.0.1:{port}/\"\n"
        ),
    )
    .unwrap();
    let checked = Command::new(env!("CARGO_BIN_EXE_mailstaple"))
        .args(["config", "check"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&checked.stdout);
    assert!(text.contains("OK, 0 warning(s), 0 note(s)"), "{text}");
    let responder = respond(dir.path(), port, "1h");
    let (server, smtp) = {
        let args: Vec<String> = [
            "serve",
            "--config",
            &config.display().to_string(),
            "--clock-start",
            &NOW.to_string(),
        ]
        .map(String::from)
        .to_vec();
        let (proc, line) = start(dir.path(), "serve.log", &args);
        let port = line
            .strip_prefix("listening on smtp://127.0.0.1:")
            .and_then(|r| r.strip_suffix('/'))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{line:?}: {}", proc.log()));
        (proc, port)
    };
    wait_for(
        smtp,
        true,
        Duration::from_secs(5),
        "a good staple through the fetch entry",
        &[&server, &responder],
    );
    assert!(server.log().contains("mx into"), "{}", server.log());
    // The daemon's status file, written by serve's own fetcher.
    let start = Instant::now();
    while !dir.path().join("fetch-status.json").exists() {
        assert!(start.elapsed() < Duration::from_secs(5), "no status file");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether `redis-server` is there (required under `MAILSTAPLE_REQUIRE_PEERS`).
fn redis() -> bool {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok()
    {
        return true;
    }
    assert!(
        std::env::var("MAILSTAPLE_REQUIRE_PEERS").is_err(),
        "redis-server is required but not installed"
    );
    eprintln!("skipped: redis-server not installed");
    false
}

/// Issue 15: two `serve` processes of one fleet (one TOML file each, the same `[fetch] store`,
/// different `node`) staple the same proof, fetched once: serve's own fetcher shares through
/// the store as `fetch --daemon` does.
#[test]
fn r15_two_servers_of_a_fleet_fetch_once_through_redis() {
    if !openssl() || !redis() {
        return;
    }
    let (dir, port) = setup();
    let redis_port = free_port();
    let mut redis = Proc {
        child: Command::new("redis-server")
            .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        log: dir.path().join("redis.log"),
        stopped: false,
    };
    let responder = {
        let args: Vec<String> = [
            "respond",
            "--index",
            "index.txt",
            "--ca",
            "issuer.pem",
            "--signer-key",
            "issuer.key",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--validity",
            "1h",
            "--now",
            &NOW.to_string(),
            "--metrics-listen",
            "0",
        ]
        .map(String::from)
        .to_vec();
        start(dir.path(), "respond.log", &args).0
    };
    let r = logged_addr(&responder, "metrics on http://");
    let d = dir.path().display();
    let mut servers = Vec::new();
    for node in ["mx1", "mx2"] {
        std::fs::create_dir_all(dir.path().join(node)).unwrap();
        let config = dir.path().join(node).join("mailstaple.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\nlisten = \"127.0.0.1:0\"\nhostname = \"mail.example.test\"\n\
                 spool = \"{d}/{node}/spool\"\ntls_certificate = \"{d}/chain.pem\"\n\
                 tls_privatekey = \"{d}/leaf.key\"\ntls_ocsp_file = \"{d}/{node}/leaf.ocsp.der\"\n\n\
                 [fetch]\ntimeout = 5\nstore = \"redis://127.0.0.1:{redis_port}\"\n\
                 node = \"{node}\"\nstore_poll = 1\nstatus = \"{d}/{node}/fetch-status.json\"\n"
            ),
        )
        .unwrap();
        let args: Vec<String> = [
            "serve",
            "--config",
            &config.display().to_string(),
            "--clock-start",
            &NOW.to_string(),
        ]
        .map(String::from)
        .to_vec();
        let (proc, line) = start(dir.path(), &format!("serve-{node}.log"), &args);
        let smtp: u16 = line
            .strip_prefix("listening on smtp://127.0.0.1:")
            .and_then(|r| r.strip_suffix('/'))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{line:?}: {}", proc.log()));
        servers.push((proc, smtp, node));
    }
    for (proc, smtp, node) in &servers {
        wait_for(
            *smtp,
            true,
            Duration::from_secs(10),
            &format!("{node} staples"),
            &[proc, &responder],
        );
    }
    let a = std::fs::read(dir.path().join("mx1/leaf.ocsp.der")).unwrap();
    let b = std::fs::read(dir.path().join("mx2/leaf.ocsp.der")).unwrap();
    assert_eq!(a, b, "the fleet staples the same bytes");
    let good = value(
        &scrape(&r),
        "mailstaple_responder_requests_total",
        &[("outcome", "good")],
    );
    assert!(
        (good - 1.0).abs() < f64::EPSILON,
        "responder asked {good} times"
    );
    let logs: String = servers.iter().map(|(p, _, _)| p.log()).collect();
    assert!(logs.contains("(from the store)"), "{logs}");
    assert!(logs.contains("(from the responder)"), "{logs}");
    drop(servers);
    redis.stop();
}
