//! The `mailstaple fetch` command-line contract: one-shot exit codes 0-4, `--check` 0/1/2, and
//! the daemon (SIGHUP reload, SIGTERM stop, `--status` as text and JSON), against a loopback
//! responder in this process. Time is fixed with the hidden `--now`.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailstaple_testpki::{DAY, HOUR, KeyAlg, NOW, Pki, PkiOptions, Status};
use serde_json::Value;

/// A loopback HTTP responder answering every request with (status, content type, body).
struct Responder {
    port: u16,
}

impl Responder {
    fn start(status: u16, body: Vec<u8>) -> Responder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let body = Arc::new(body);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let body = Arc::clone(&body);
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 2048];
                    // Read the head and any Content-Length body.
                    loop {
                        let n = s.read(&mut chunk).unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                            let len: usize = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .map_or(0, |v| v.trim().parse().unwrap_or(0));
                            if buf.len() >= end + 4 + len {
                                break;
                            }
                        }
                    }
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/ocsp-response\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(head.as_bytes());
                    let _ = s.write_all(&body);
                });
            }
        });
        Responder { port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

fn pki() -> &'static Pki {
    Pki::shared(KeyAlg::EcdsaP256)
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    pki().write_pem_files(dir.path()).unwrap();
    dir
}

fn mailstaple(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailstaple"));
    c.args(args)
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY");
    c
}

fn run(args: &[&str]) -> Output {
    mailstaple(args).output().unwrap()
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

fn fetch(dir: &Path, url: &str, now: u64, extra: &[&str]) -> Output {
    let (cert, issuer, out) = (
        p(dir, "leaf.pem"),
        p(dir, "issuer.pem"),
        p(dir, "staple.der"),
    );
    let now = now.to_string();
    let mut args = vec![
        "fetch", "--cert", &cert, "--issuer", &issuer, "--out", &out, "--url", url, "--now", &now,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn one_shot_installs_then_reports_fresh() {
    let dir = setup();
    let proof = pki().response().build();
    let r = Responder::start(200, proof.clone());
    let o = fetch(dir.path(), &r.url(), NOW, &[]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout(&o).starts_with("installed:"), "{}", stdout(&o));
    assert_eq!(std::fs::read(dir.path().join("staple.der")).unwrap(), proof);
    let o = fetch(dir.path(), &r.url(), NOW, &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("fresh:"), "{}", stdout(&o));
    // --force fetches again (the same proof: not older, so installed).
    let o = fetch(dir.path(), &r.url(), NOW, &["--force", "--post"]);
    assert!(stdout(&o).starts_with("installed:"), "{}", stdout(&o));
}

#[test]
fn invalid_and_network_failures_leave_the_file_and_a_revocation_replaces_it() {
    let dir = setup();
    let previous = pki()
        .response()
        .this_update(NOW - 2 * HOUR)
        .next_update(Some(NOW + HOUR))
        .build();
    std::fs::write(dir.path().join("staple.der"), &previous).unwrap();

    let other = Responder::start(200, pki().response().cert(&pki().other_leaf).build());
    assert_eq!(
        fetch(dir.path(), &other.url(), NOW, &[]).status.code(),
        Some(1)
    );

    let broken = Responder::start(500, Vec::new());
    assert_eq!(
        fetch(dir.path(), &broken.url(), NOW, &[]).status.code(),
        Some(3)
    );

    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = fetch(
        dir.path(),
        &format!("http://127.0.0.1:{closed}/"),
        NOW,
        &["--timeout", "2"],
    );
    assert_eq!(o.status.code(), Some(3));

    assert_eq!(
        std::fs::read(dir.path().join("staple.der")).unwrap(),
        previous
    );

    // An authentic, current revocation is the exception: it replaces the good proof (exit 1),
    // so that the server stops stapling what the CA withdrew.
    let revocation = pki()
        .response()
        .status(Status::Revoked {
            time: NOW - DAY,
            reason: None,
        })
        .build();
    let revoked = Responder::start(200, revocation.clone());
    let o = fetch(dir.path(), &revoked.url(), NOW, &[]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("REVOKED"),
        "{o:?}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("staple.der")).unwrap(),
        revocation
    );
}

#[test]
fn no_ocsp_url_exits_4_quietly() {
    let mut opts = PkiOptions::new(KeyAlg::EcdsaP256);
    opts.ocsp_url = None;
    let pki = Pki::with_options(opts);
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    let (cert, issuer, out) = (
        p(dir.path(), "leaf.pem"),
        p(dir.path(), "issuer.pem"),
        p(dir.path(), "o.der"),
    );
    let o = run(&["fetch", "--cert", &cert, "--issuer", &issuer, "--out", &out]);
    assert_eq!(o.status.code(), Some(4), "{o:?}");
    assert!(stdout(&o).contains("no OCSP URL"));
    assert!(
        o.stderr.is_empty(),
        "not quiet: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // --check on such a certificate with no proof is not an alarm.
    let o = run(&[
        "fetch", "--check", "--cert", &cert, "--issuer", &issuer, "--out", &out,
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = setup();
    let (cert, issuer) = (p(dir.path(), "leaf.pem"), p(dir.path(), "issuer.pem"));
    assert_eq!(
        run(&["fetch", "--cert", &cert, "--issuer", &issuer])
            .status
            .code(),
        Some(2)
    );
    let o = run(&[
        "fetch", "--cert", "/no/such", "--issuer", &issuer, "--out", "/tmp/x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        run(&["fetch", "--check", "--daemon"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["fetch", "--daemon"]).status.code(), Some(2));
    assert_eq!(
        run(&["fetch", "--check", "--warn", "0"]).status.code(),
        Some(2)
    );
}

#[test]
fn check_is_ok_warning_critical() {
    let dir = setup();
    let (cert, issuer, out) = (
        p(dir.path(), "leaf.pem"),
        p(dir.path(), "issuer.pem"),
        p(dir.path(), "staple.der"),
    );
    let check = |now: u64, extra: &[&str]| {
        let now = now.to_string();
        let mut a = vec![
            "fetch", "--check", "--cert", &cert, "--issuer", &issuer, "--out", &out, "--now", &now,
        ];
        a.extend_from_slice(extra);
        run(&a)
    };
    // Missing file: critical.
    assert_eq!(check(NOW, &[]).status.code(), Some(2));
    // A proof NOW−1h .. NOW+7d.
    std::fs::write(dir.path().join("staple.der"), pki().response().build()).unwrap();
    let o = check(NOW, &[]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout(&o).starts_with("OCSP OK - "), "{}", stdout(&o));
    // Six days later: under 25 % left.
    let o = check(NOW + 6 * DAY, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).starts_with("OCSP WARNING - "));
    // Issue 13: with a maximum age of five days the same proof is too old six days later,
    // though its nextUpdate is a day away: critical.
    let too_old = check(NOW + 6 * DAY, &["--max-age", "5d"]);
    assert_eq!(too_old.status.code(), Some(2), "{}", stdout(&too_old));
    assert!(
        stdout(&too_old).contains("maximum age"),
        "{}",
        stdout(&too_old)
    );
    // ... but not under 10 %.
    assert_eq!(
        check(NOW + 6 * DAY, &["--warn", "10"]).status.code(),
        Some(0)
    );
    // Past nextUpdate: critical; JSON says so.
    let o = check(NOW + 8 * DAY, &["--json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["state"], "critical");
    // Revoked: critical.
    std::fs::write(
        dir.path().join("staple.der"),
        pki()
            .response()
            .status(Status::Revoked {
                time: NOW - DAY,
                reason: None,
            })
            .build(),
    )
    .unwrap();
    let o = check(NOW, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("revoked"), "{}", stdout(&o));
}

fn wait_for(path: &Path, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        if let Some(v) = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            && pred(&v)
        {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn installed_count(v: &Value) -> usize {
    v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["health"] == "ok")
        .count()
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid} failed");
}

#[test]
fn daemon_reloads_on_sighup_stops_on_sigterm_and_reports_status() {
    let dir = setup();
    let proof = pki().response().build();
    let r = Responder::start(200, proof.clone());
    let status_path = dir.path().join("status.json");
    // The one TOML file: `[fetch]` settings and `[[fetch.certificate]]` entries.
    let section = |name: &str, cert: &str| {
        format!(
            "[[fetch.certificate]]\nname = \"{name}\"\ncert = \"{}\"\nissuer = \"{}\"\n\
             out = \"{}\"\nurl = \"{}\"\n",
            p(dir.path(), cert),
            p(dir.path(), "issuer.pem"),
            p(dir.path(), &format!("{name}.der")),
            r.url()
        )
    };
    let config: PathBuf = dir.path().join("mailstaple.toml");
    let head = format!(
        "[fetch]\nconcurrency = 4\nstatus = \"{}\"\n\n",
        status_path.display()
    );
    std::fs::write(&config, format!("{head}{}", section("one", "leaf.pem"))).unwrap();

    let now = NOW.to_string();
    let mut child = mailstaple(&[
        "fetch",
        "--daemon",
        "--config",
        &config.display().to_string(),
        "--now",
        &now,
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let v = wait_for(&status_path, "the first install", |v| {
        installed_count(v) == 1
    });
    assert_eq!(v["certificates"][0]["name"], "one");
    assert_eq!(std::fs::read(dir.path().join("one.der")).unwrap(), proof);

    // Add a certificate whose responder answers for the wrong one, and reload.
    std::fs::write(
        &config,
        format!(
            "{head}{}{}",
            section("one", "leaf.pem"),
            section("two", "other_leaf.pem")
        ),
    )
    .unwrap();
    signal(child.id(), "-HUP");
    let v = wait_for(&status_path, "the reload", |v| {
        v["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "two" && c["consecutive_failures"] == 1)
    });
    assert_eq!(v["worst"], "critical");
    assert!(!dir.path().join("two.der").exists());

    // --status as JSON and text.
    let cfg = config.display().to_string();
    let o = run(&["fetch", "--status", "--config", &cfg, "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["certificates"].as_array().unwrap().len(), 2);
    let o = run(&[
        "fetch",
        "--status",
        "--status-file",
        &status_path.display().to_string(),
    ]);
    let text = stdout(&o);
    assert!(
        text.contains("NAME") && text.contains("one") && text.contains("two"),
        "{text}"
    );
    assert!(
        text.contains("no response for this certificate") || text.contains("proof rejected"),
        "{text}"
    );

    signal(child.id(), "-TERM");
    let start = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "daemon did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("reloaded"), "{err}");
    assert!(err.contains("stopped"), "{err}");
}
