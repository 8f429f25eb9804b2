//! `mailstaple probe` against real servers over loopback: `mailstaple serve` (a good proof, no
//! proof, an expired proof file, a must-staple certificate without a proof, a chain the probe
//! does not trust), `openssl s_server -status_file` stapling another certificate's proof, and
//! `--domain` against Debian's `dnsmasq` serving two MX hosts of different preference. The
//! verdicts, Exim's `$tls_out_ocsp` and the exit codes are asserted; everything is judged at the
//! test PKI's fixed instant (hidden `--now`).
//!
//! A missing peer (`openssl`, `dnsmasq`) fails the test when `MAILSTAPLE_REQUIRE_PEERS=1`, and
//! skips it otherwise.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mailstaple_testpki::{DAY, HOUR, KeyAlg, NOW, Pki, PkiOptions};
use serde_json::Value;

use common::serve;

mod common;

fn pki() -> &'static Pki {
    Pki::shared(KeyAlg::EcdsaP256)
}

fn setup(pki: &Pki) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    dir
}

fn good_proof(pki: &Pki) -> Vec<u8> {
    pki.response()
        .this_update(NOW - HOUR)
        .next_update(Some(NOW + 7 * DAY - HOUR))
        .build()
}

/// `mailstaple probe --now NOW --helo probe.example.test ARGS`, with
/// `--tls-verify-certificates DIR/root.pem` and `--deadline 10` unless ARGS say otherwise.
fn probe(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailstaple"));
    cmd.arg("probe")
        .args(["--now", &NOW.to_string()])
        .args(["--helo", "probe.example.test"]);
    if !args.contains(&"--tls-verify-certificates") {
        cmd.arg("--tls-verify-certificates")
            .arg(dir.join("root.pem"));
    }
    if !args.contains(&"--deadline") {
        cmd.args(["--deadline", "10"]);
    }
    cmd.args(args).output().unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn one(dir: &Path, port: u16, extra: &[&str]) -> (i32, Value) {
    let target = format!("127.0.0.1:{port}");
    let mut args = vec!["--json", "--name", "mail.example.test", target.as_str()];
    args.extend_from_slice(extra);
    let out = probe(dir, &args);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{out:?}");
    (out.status.code().unwrap(), lines[0].clone())
}

#[test]
fn a_good_proof_from_serve_is_ok_and_exim_would_deliver() {
    let pki = pki();
    let dir = setup(pki);
    std::fs::write(dir.path().join("leaf.ocsp.der"), good_proof(pki)).unwrap();
    let server = serve(dir.path(), Some("leaf.ocsp.der"));
    let (code, v) = one(dir.path(), server.port, &["--require"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["severity"], "ok");
    assert_eq!(v["name"], "mail.example.test");
    assert_eq!(v["address"], format!("127.0.0.1:{}", server.port));
    assert_eq!(v["error"], Value::Null);
    assert!(v["tls"]["version"].as_str().unwrap().starts_with("TLSv1."));
    assert_eq!(v["certificate"]["names"][0], "mail.example.test");
    assert_eq!(v["certificate"]["serial"], "10:01");
    assert_eq!(v["certificate"]["must_staple"], false);
    assert_eq!(v["certificate"]["ocsp_urls"][0], "http://127.0.0.1:8888/");
    assert_eq!(v["chain"]["verified"], true);
    assert_eq!(v["chain"]["length"], 2);
    assert_eq!(v["staple"]["verdict"], "good");
    assert_eq!(v["staple"]["seconds_left"], 7 * DAY - HOUR);
    assert_eq!(v["staple"]["percent_left"], 99);
    assert_eq!(v["exim"]["tls_out_ocsp"], 4);
    assert_eq!(v["exim"]["hosts_require_ocsp"], "deliver");
    assert_eq!(v["exim"]["defer_text"], Value::Null);

    // The text block, without colour when not on a terminal.
    let out = probe(
        dir.path(),
        &[
            "--name",
            "mail.example.test",
            &format!("127.0.0.1:{}", server.port),
        ],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains('\x1b'), "{text}");
    for expected in [
        "result       OK: good, 6d 23h left (99% of its window)",
        "chain        verified (2 certificates)",
        "staple       good",
        "$tls_out_ocsp 4; hosts_require_ocsp would deliver",
        "names      mail.example.test",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }

    // --warn above the share left makes it a warning.
    let (code, v) = one(dir.path(), server.port, &["--warn", "100"]);
    assert_eq!((code, v["severity"].as_str()), (1, Some("warning")));
}

#[test]
fn no_proof_is_a_warning_or_critical_with_require() {
    let pki = pki();
    let dir = setup(pki);
    let server = serve(dir.path(), None);
    let (code, v) = one(dir.path(), server.port, &[]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["staple"]["verdict"], "none");
    assert_eq!(v["exim"]["tls_out_ocsp"], 1);
    assert_eq!(v["exim"]["hosts_require_ocsp"], "defer");
    assert_eq!(
        v["exim"]["defer_text"],
        "TLS session: (SSL_connect) Required TLS certificate status not received"
    );
    let (code, v) = one(dir.path(), server.port, &["--require"]);
    assert_eq!((code, v["severity"].as_str()), (2, Some("critical")));
}

#[test]
fn an_expired_proof_file_is_not_stapled_by_serve() {
    let pki = pki();
    let dir = setup(pki);
    let expired = pki
        .response()
        .this_update(NOW - 10 * DAY)
        .next_update(Some(NOW - 3 * DAY))
        .build();
    std::fs::write(dir.path().join("leaf.ocsp.der"), expired).unwrap();
    let server = serve(dir.path(), Some("leaf.ocsp.der"));
    let (code, v) = one(dir.path(), server.port, &["--require"]);
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(v["staple"]["verdict"], "none");
    assert_eq!(v["exim"]["tls_out_ocsp"], 1);
}

#[test]
fn must_staple_without_a_proof_is_critical() {
    let mut options = PkiOptions::new(KeyAlg::EcdsaP256);
    options.must_staple = true;
    let pki = Pki::with_options(options);
    let dir = setup(&pki);
    let server = serve(dir.path(), None);
    let (code, v) = one(dir.path(), server.port, &[]);
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(v["certificate"]["must_staple"], true);
    assert_eq!(v["staple"]["verdict"], "none");
    assert!(
        v["summary"].as_str().unwrap().contains("must-staple"),
        "{v:#}"
    );
}

#[test]
fn an_untrusted_chain_is_critical_with_the_reason() {
    let pki = pki();
    let dir = setup(pki);
    std::fs::write(dir.path().join("leaf.ocsp.der"), good_proof(pki)).unwrap();
    let server = serve(dir.path(), Some("leaf.ocsp.der"));
    let out = probe(
        dir.path(),
        &[
            "--json",
            "--name",
            "mail.example.test",
            "--tls-verify-certificates",
            dir.path().join("other_ca.pem").to_str().unwrap(),
            &format!("127.0.0.1:{}", server.port),
        ],
    );
    let v = &json_lines(&out)[0];
    assert_eq!(out.status.code(), Some(2), "{v:#}");
    assert_eq!(v["chain"]["verified"], false);
    assert_eq!(v["chain"]["error"], "UnknownIssuer");
    assert_eq!(v["staple"]["verdict"], "good");
    assert_eq!(v["exim"]["hosts_require_ocsp"], "defer");
    assert_eq!(v["exim"]["defer_text"], "TLS session: UnknownIssuer");

    // The wrong name is a chain failure too.
    let out = probe(
        dir.path(),
        &[
            "--json",
            "--name",
            "other.example.test",
            &format!("127.0.0.1:{}", server.port),
        ],
    );
    let v = &json_lines(&out)[0];
    assert_eq!(out.status.code(), Some(2), "{v:#}");
    assert_eq!(v["chain"]["verified"], false);
    assert!(
        v["chain"]["error"]
            .as_str()
            .unwrap()
            .contains("not valid for name"),
        "{v:#}"
    );
}

#[test]
fn unreachable_hosts_exit_3_and_the_worst_wins() {
    let pki = pki();
    let dir = setup(pki);
    std::fs::write(dir.path().join("leaf.ocsp.der"), good_proof(pki)).unwrap();
    let server = serve(dir.path(), Some("leaf.ocsp.der"));
    // A port nobody listens on: bind one, then free it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let good = format!("127.0.0.1:{}", server.port);
    let refused = format!("127.0.0.1:{closed}");
    let out = probe(
        dir.path(),
        &["--json", "--name", "mail.example.test", &good, &refused],
    );
    let lines = json_lines(&out);
    assert_eq!(out.status.code(), Some(3), "{lines:#?}");
    assert_eq!(lines[0]["severity"], "ok");
    assert_eq!(lines[1]["severity"], "unreachable");
    assert_eq!(lines[1]["error"]["stage"], "connect");
    assert_eq!(lines[1]["exim"]["hosts_require_ocsp"], "defer");

    // Bad targets are usage errors.
    let out = probe(dir.path(), &["mail.example.test:0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("port"));
    let out = probe(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
}

/// `true` when `program` runs; otherwise fails under `MAILSTAPLE_REQUIRE_PEERS=1`, or prints a
/// skip line and returns `false`.
fn peer(program: &str, arg: &str) -> bool {
    let ok = Command::new(program)
        .arg(arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("MAILSTAPLE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "{program} is required (MAILSTAPLE_REQUIRE_PEERS=1) but not installed"
        );
        eprintln!("skipped: {program} not installed");
    }
    ok
}

/// A child process killed when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on 127.0.0.1:`port`, without connecting to it (the port
/// cannot be bound any more).
fn wait_for_listener(port: u16) {
    let started = Instant::now();
    while std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "port {port} never opened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_for_tcp(port: u16) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "port {port} never opened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn openssl_s_server_stapling_another_certificates_proof_is_invalid() {
    if !peer("openssl", "version") {
        return;
    }
    let pki = pki();
    let dir = setup(pki);
    let other = pki
        .response()
        .cert(&pki.other_leaf)
        .this_update(NOW - HOUR)
        .next_update(Some(NOW + DAY))
        .build();
    std::fs::write(dir.path().join("other.ocsp.der"), other).unwrap();
    let port = free_port();
    // s_server has no SMTP: with implicit TLS it relays its standard input to the client, so
    // the greeting and the EHLO reply are written there in advance.
    let mut child = Command::new("openssl")
        .args(["s_server", "-quiet", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(dir.path().join("leaf.pem"))
        .arg("-key")
        .arg(dir.path().join("leaf.key"))
        .arg("-cert_chain")
        .arg(dir.path().join("issuer.pem"))
        .arg("-status_file")
        .arg(dir.path().join("other.ocsp.der"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _server = Peer(child);
    wait_for_listener(port);
    stdin
        .write_all(b"220 s_server ESMTP\r\n250 s_server\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (code, v) = one(dir.path(), port, &["--tls-on-connect"]);
    drop(stdin);
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(v["chain"]["verified"], true, "{v:#}");
    assert_eq!(v["staple"]["verdict"], "invalid", "{v:#}");
    assert_eq!(v["exim"]["tls_out_ocsp"], 3);
    assert!(
        v["exim"]["defer_text"].as_str().unwrap().starts_with(
            "TLS session: (SSL_connect) Server certificate status response itself unverifiable"
        ),
        "{v:#}"
    );
}

#[test]
fn domain_mx_hosts_in_preference_order_from_dnsmasq() {
    // Debian installs it in /usr/sbin, which a user's PATH may lack.
    let dnsmasq = ["/usr/sbin/dnsmasq", "/usr/local/sbin/dnsmasq"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap_or("dnsmasq");
    if !peer(dnsmasq, "--version") {
        return;
    }
    let pki = pki();
    let dir = setup(pki);
    std::fs::write(dir.path().join("leaf.ocsp.der"), good_proof(pki)).unwrap();
    let server = serve(dir.path(), Some("leaf.ocsp.der"));
    let dns_port = free_port();
    let dnsmasq = Command::new(dnsmasq)
        .args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            "--user=root",
            "--pid-file",
            // Authoritative for the test domain: NODATA and NXDOMAIN rather than REFUSED.
            "--local=/example.test/",
        ])
        .arg(format!("--port={dns_port}"))
        // Listed backwards: the order must come from the preferences.
        .arg("--mx-host=example.test,backup.example.test,20")
        .arg("--mx-host=example.test,mail.example.test,10")
        .arg("--host-record=mail.example.test,127.0.0.1,::1")
        .arg("--host-record=plain.example.test,127.0.0.1")
        .arg("--host-record=backup.example.test,127.0.0.2")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _dnsmasq = Peer(dnsmasq);
    wait_for_tcp(dns_port);
    let resolver = format!("127.0.0.1:{dns_port}");
    let port = server.port.to_string();
    let out = probe(
        dir.path(),
        &[
            "--json",
            "--resolver",
            &resolver,
            "--domain",
            "example.test",
            "--port",
            &port,
            "--deadline",
            "3",
        ],
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    // The preferred host first, its IPv4 address before its IPv6 one (serve listens on
    // 127.0.0.1 only).
    assert_eq!(lines[0]["name"], "mail.example.test");
    assert_eq!(lines[0]["mx_preference"], 10);
    assert_eq!(lines[0]["address"], format!("127.0.0.1:{port}"));
    assert_eq!(lines[0]["severity"], "ok", "{:#}", lines[0]);
    assert_eq!(lines[1]["name"], "mail.example.test");
    assert_eq!(lines[1]["address"], format!("[::1]:{port}"));
    assert_eq!(lines[1]["severity"], "unreachable");
    assert_eq!(lines[2]["name"], "backup.example.test");
    assert_eq!(lines[2]["mx_preference"], 20);
    assert_eq!(lines[2]["address"], format!("127.0.0.2:{port}"));
    assert_eq!(lines[2]["severity"], "unreachable");
    assert_eq!(out.status.code(), Some(3));

    // A domain without MX records is its own mail exchanger (RFC 5321 §5.1), at preference 0;
    // a domain that does not exist is unreachable at the resolve stage.
    let out = probe(
        dir.path(),
        &[
            "--json",
            "--resolver",
            &resolver,
            "--domain",
            "plain.example.test",
            "--domain",
            "nowhere.example.test",
            "--port",
            &port,
        ],
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(lines[0]["name"], "plain.example.test");
    assert_eq!(lines[0]["mx_preference"], 0);
    assert_eq!(lines[0]["address"], format!("127.0.0.1:{port}"));
    // The certificate is for mail.example.test.
    assert_eq!(lines[0]["chain"]["verified"], false, "{:#}", lines[0]);
    assert_eq!(lines[1]["error"]["stage"], "resolve", "{:#}", lines[1]);
    assert_eq!(out.status.code(), Some(3));

    // A host name target resolves through the same server; a name that does not exist is
    // unreachable at the resolve stage.
    let out = probe(
        dir.path(),
        &[
            "--json",
            "--resolver",
            &resolver,
            &format!("mail.example.test:{port}"),
            "nowhere.example.test",
        ],
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(lines[0]["severity"], "ok", "{:#}", lines[0]);
    assert_eq!(lines[1]["address"], format!("[::1]:{port}"));
    assert_eq!(lines[2]["error"]["stage"], "resolve", "{:#}", lines[2]);
    assert_eq!(lines[2]["address"], Value::Null);
    assert_eq!(out.status.code(), Some(3));
}

/// The Exim binary: `$MAILSTAPLE_EXIM`, else `exim4` or `exim` in `/usr/sbin` or on `PATH`.
fn exim() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("MAILSTAPLE_EXIM")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect())
                .unwrap_or_default();
            dirs.push("/usr/sbin".into());
            dirs.iter()
                .flat_map(|d| [d.join("exim4"), d.join("exim")])
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| "exim".into());
    peer(found.to_str().unwrap(), "-bV").then_some(found)
}

/// Exim as an SMTP server on 127.0.0.1 offering STARTTLS with the test chain and the proof
/// file `dir/<ocsp>` (`tls_ocsp_file`); as root, with everything in `dir`.
fn exim_server(exim: &Path, dir: &Path, ocsp: &str) -> (Peer, u16) {
    let port = free_port();
    let conf = dir.join("exim-server.conf");
    let d = dir.display();
    std::fs::write(
        &conf,
        format!(
            "exim_user = root\nexim_group = root\nspool_directory = {d}/exim-spool\n\
             log_file_path = {d}/exim-log/%slog\nprimary_hostname = mail.example.test\n\
             keep_environment =\nlocal_interfaces = 127.0.0.1\ndaemon_smtp_ports = {port}\n\
             tls_advertise_hosts = *\ntls_certificate = {d}/chain.pem\n\
             tls_privatekey = {d}/leaf.key\ntls_ocsp_file = {d}/{ocsp}\n\
             acl_smtp_rcpt = accept_all\n\nbegin acl\n\naccept_all:\n  accept\n\
             \nbegin routers\n\ndiscard:\n  driver = redirect\n  data = :blackhole:\n"
        ),
    )
    .unwrap();
    let child = Command::new(exim)
        .arg("-C")
        .arg(&conf)
        .arg("-bdf")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Peer(child);
    wait_for_listener(port);
    (server, port)
}

/// Exim 4 (Debian's GnuTLS build) with `tls_ocsp_file`: a good proof is stapled and verifies;
/// with a revoked one GnuTLS refuses to load it when the client asks for STARTTLS, so Exim
/// answers 454 and a `hosts_require_ocsp` client defers.
#[test]
fn exim_with_tls_ocsp_file_good_and_revoked() {
    let Some(exim) = exim() else { return };
    let pki = pki();
    let dir = setup(pki);
    // Valid at the test PKI's instant and at the real date (Exim's clock), produced within the
    // certificate's validity.
    let wide = |status| {
        pki.response()
            .this_update(NOW - 400 * DAY)
            .produced_at(NOW - DAY)
            .next_update(Some(NOW + 3650 * DAY))
            .status(status)
            .build()
    };
    std::fs::write(
        dir.path().join("good.der"),
        wide(mailstaple_testpki::Status::Good),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("revoked.der"),
        wide(mailstaple_testpki::Status::Revoked {
            time: NOW - 400 * DAY + HOUR,
            reason: Some(1),
        }),
    )
    .unwrap();

    let (_server, port) = exim_server(&exim, dir.path(), "good.der");
    let (code, v) = one(dir.path(), port, &["--require"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["staple"]["verdict"], "good");
    assert_eq!(v["exim"]["tls_out_ocsp"], 4);
    assert_eq!(v["exim"]["hosts_require_ocsp"], "deliver");
    drop(_server);

    let (_server, port) = exim_server(&exim, dir.path(), "revoked.der");
    let (code, v) = one(dir.path(), port, &["--require"]);
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(v["error"]["stage"], "starttls", "{v:#}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("454"),
        "{v:#}"
    );
    assert_eq!(v["exim"]["tls_out_ocsp"], 0);
    assert_eq!(v["exim"]["hosts_require_ocsp"], "defer");
}

/// Runs `mailstaple probe ARGS` on a terminal (util-linux `script` gives it a pty) and returns
/// what the terminal showed.
fn probe_on_terminal(dir: &Path, args: &[&str], no_color: bool) -> String {
    let mut line = format!(
        "{} probe --now {NOW} --helo probe.example.test --deadline 5 --tls-verify-certificates {}",
        env!("CARGO_BIN_EXE_mailstaple"),
        dir.join("root.pem").display()
    );
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"]);
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_only_on_a_terminal_and_remote_text_never_raw() {
    if !peer("script", "--version") {
        return;
    }
    let pki = pki();
    let dir = setup(pki);
    std::fs::write(dir.path().join("leaf.ocsp.der"), good_proof(pki)).unwrap();
    let server = serve(dir.path(), Some("leaf.ocsp.der"));
    let target = format!("127.0.0.1:{}", server.port);
    let shown = probe_on_terminal(dir.path(), &["--name", "mail.example.test", &target], false);
    assert!(shown.contains("\x1b[1;32mOK\x1b[0m: good"), "{shown:?}");
    let shown = probe_on_terminal(dir.path(), &["--name", "mail.example.test", &target], true);
    assert!(shown.contains("result       OK: good"), "{shown:?}");
    assert!(!shown.contains('\x1b'), "{shown:?}");

    // A server whose greeting tries to clear the screen and recolour the terminal.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut tcp, _)) = listener.accept() {
            let _ = tcp.write_all(b"554 \x1b[2J\x1b[31mgo away\x07\r\n");
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let shown = probe_on_terminal(dir.path(), &[&format!("127.0.0.1:{port}")], true);
    assert!(
        shown.contains("554 \\u{1b}[2J\\u{1b}[31mgo away\\u{7}"),
        "{shown:?}"
    );
    assert!(
        !shown.contains('\x1b') && !shown.contains('\x07'),
        "{shown:?}"
    );
}

/// Silent hosts (they accept and say nothing) cost their deadline in a slot of --concurrency,
/// never the others' time: 4 silent and 20 good addresses with 5 slots and a 2 s deadline end
/// in about the deadline (one at a time they would take 8 s).
#[test]
fn silent_hosts_do_not_hold_up_the_others() {
    let pki = pki();
    let dir = setup(pki);
    std::fs::write(dir.path().join("leaf.ocsp.der"), good_proof(pki)).unwrap();
    let server = serve(dir.path(), Some("leaf.ocsp.der"));
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = silent.accept() {
            held.push(tcp);
        }
    });
    let silent_target = format!("127.0.0.1:{silent_port}");
    let good = format!("127.0.0.1:{}", server.port);
    let mut args = vec![
        "--json",
        "--name",
        "mail.example.test",
        "--concurrency",
        "5",
        "--deadline",
        "2",
    ];
    args.extend(std::iter::repeat_n(silent_target.as_str(), 4));
    args.extend(std::iter::repeat_n(good.as_str(), 20));
    let started = Instant::now();
    let out = probe(dir.path(), &args);
    let took = started.elapsed();
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 24);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(out.status.code(), Some(3));
    for silent in &lines[..4] {
        assert_eq!(silent["severity"], "unreachable", "{silent:#}");
        assert_eq!(silent["error"]["stage"], "smtp", "{silent:#}");
    }
    assert!(
        lines[4..].iter().all(|l| l["severity"] == "ok"),
        "{lines:#?}"
    );
}
