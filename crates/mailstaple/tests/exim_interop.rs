//! mailstaple against the real Exim (Debian `exim4-daemon-heavy`, the GnuTLS build) and
//! `gnutls-cli`, over loopback.
//!
//! - Exim as the client, with `hosts_require_ocsp = *`, delivering to `mailstaple serve`:
//!   delivered when serve staples a good proof, deferred (and kept in Exim's queue) when it
//!   has none.
//! - Exim as the server with `tls_ocsp_file`, and `mailstaple send --hosts-require-ocsp '*'`:
//!   exit 0 with a good proof, 75 with none, a revoked or a stale one.
//! - `gnutls-cli --starttls-proto=smtp --ocsp --save-ocsp` against `mailstaple serve`: the saved
//!   staple is the proof file, byte for byte.
//!
//! `mailstaple` runs at the test PKI's fixed NOW (hidden `--now`); Exim and GnuTLS run at the
//! real date, at which the test leaf certificate has expired. The proofs therefore span
//! NOW−400 d .. NOW+3650 d (computed from NOW: the tests read no wall clock), and the Exim client
//! only *tries* to verify the certificate (`tls_try_verify_hosts`), so that what decides the
//! delivery is the OCSP requirement alone. Exim runs as root with a private configuration,
//! spool and log directory in a temporary directory.
//!
//! A missing peer fails the test when `MAILSTAPLE_REQUIRE_PEERS=1`, and skips it otherwise.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mailstaple_testpki::{DAY, HOUR, KeyAlg, NOW, Pki, Status};

use common::{send_command, serve};

mod common;

/// How long any single peer command may run.
const LIMIT: Duration = Duration::from_secs(20);

/// `true` when `tool` is usable; otherwise fails under `MAILSTAPLE_REQUIRE_PEERS=1`, or prints
/// a skip line and returns `false`.
fn peer(tool: &Path, version_arg: &str) -> bool {
    let ok = Command::new(tool)
        .arg(version_arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("MAILSTAPLE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "{} is required (MAILSTAPLE_REQUIRE_PEERS=1) but not installed",
            tool.display()
        );
        eprintln!("skipped: {} not installed", tool.display());
    }
    ok
}

/// The Exim binary: `$MAILSTAPLE_EXIM`, else `exim4` or `exim` on `PATH` or in `/usr/sbin`.
fn exim() -> Option<PathBuf> {
    let found = if let Some(p) = std::env::var_os("MAILSTAPLE_EXIM") {
        Some(PathBuf::from(p))
    } else {
        let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        dirs.extend([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")]);
        dirs.iter()
            .flat_map(|d| [d.join("exim4"), d.join("exim")])
            .find(|p| p.is_file())
    };
    let exim = found.unwrap_or_else(|| PathBuf::from("exim"));
    peer(&exim, "-bV").then_some(exim)
}

/// Runs a command to completion with `input` on stdin; killed (and the test failed) after
/// [`LIMIT`].
fn run(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > LIMIT {
            child.kill().unwrap();
            panic!("{cmd:?} timed out");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// A proof about the leaf with the given status, valid from NOW−400 d to NOW+3650 d, which
/// covers both the test PKI's instant and the real date; produced the day before NOW, while
/// the leaf is valid (the verifier refuses a producedAt outside the certificate's validity).
fn wide(pki: &Pki, status: Status) -> Vec<u8> {
    pki.response()
        .produced_at(NOW - DAY)
        .this_update(NOW - 400 * DAY)
        .next_update(Some(NOW + 3650 * DAY))
        .status(status)
        .build()
}

/// A good proof whose nextUpdate has passed, at NOW and at the real date.
fn stale(pki: &Pki) -> Vec<u8> {
    pki.response()
        .this_update(NOW - 20 * DAY)
        .next_update(Some(NOW - 10 * DAY))
        .build()
}

fn revoked() -> Status {
    Status::Revoked {
        time: NOW - 400 * DAY + HOUR,
        reason: Some(1),
    }
}

/// A temporary directory holding the test PKI's PEM files.
fn setup() -> (tempfile::TempDir, &'static Pki) {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    // The Exim client's transport runs as `nobody` (Debian's Exim never runs one as root),
    // and reads `root.pem` from here.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, pki)
}

/// The number of messages in `mailstaple serve`'s spool.
fn spooled(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("spool")).map_or(0, Iterator::count)
}

/// The settings every Exim configuration here shares: root, and everything in `dir`.
fn exim_main(dir: &Path, hostname: &str) -> String {
    format!(
        "exim_user = root\n\
         exim_group = root\n\
         spool_directory = {d}/exim-spool\n\
         log_file_path = {d}/exim-log/%slog\n\
         primary_hostname = {hostname}\n\
         keep_environment =\n\
         log_selector = +tls_peerdn\n",
        d = dir.display()
    )
}

fn mainlog(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("exim-log/mainlog")).unwrap_or_default()
}

/// Writes an Exim client configuration that sends everything to 127.0.0.1:`port` and requires
/// a verified OCSP staple (and TLS, so that no clear-text retry hides a failure).
///
/// The certificate is only *tried* (`tls_try_verify_hosts`): with `tls_verify_hosts = *` this
/// Exim defers every delivery here with `TLS session: (certificate verification failed):
/// certificate invalid`, since the leaf has expired at the real date. GnuTLS still checks the
/// staple against the issuer in the sent chain and the real clock, and Exim's
/// `hosts_require_ocsp` check asks GnuTLS whether it did so successfully.
///
/// The transport runs as `nobody` because Debian's Exim refuses root (`fixed_never_users`); it
/// then cannot lock the root-owned hints databases and logs `failed to open database lock
/// file …: Permission denied`, which does not affect delivery.
fn exim_client_conf(dir: &Path, port: u16) -> PathBuf {
    let conf = dir.join("exim-client.conf");
    let text = format!(
        "{main}\
         \nbegin routers\n\n\
         to_serve:\n  driver = manualroute\n  route_list = * 127.0.0.1\n  self = send\n  transport = remote\n\
         \nbegin transports\n\n\
         remote:\n  driver = smtp\n  user = nobody\n  port = {port}\n  allow_localhost\n  hosts_require_tls = *\n  \
         hosts_require_ocsp = *\n  tls_verify_certificates = {d}/root.pem\n  tls_try_verify_hosts = *\n  \
         tls_verify_cert_hostnames =\n  tls_sni = mail.example.test\n\
         \nbegin retry\n\n* * F,1h,15m\n",
        main = exim_main(dir, "client.example.test"),
        d = dir.display()
    );
    std::fs::write(&conf, text).unwrap();
    conf
}

/// Submits one message to the Exim client and delivers it in the foreground (`-odi`).
fn exim_submit(exim: &Path, conf: &Path) -> Output {
    run(
        Command::new(exim)
            .arg("-C")
            .arg(conf)
            .args(["-odi", "rcpt@example.test"]),
        b"Subject: exim to mailstaple\n\nhello\n",
    )
}

/// The number of messages in Exim's queue.
fn exim_queue(exim: &Path, conf: &Path) -> usize {
    let out = run(Command::new(exim).arg("-C").arg(conf).arg("-bpc"), b"");
    text(&out)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}", text(&out)))
}

#[test]
fn exim_client_delivers_with_a_good_staple() {
    let Some(exim) = exim() else { return };
    let (dir, pki) = setup();
    std::fs::write(dir.path().join("good.der"), wide(pki, Status::Good)).unwrap();
    let server = serve(dir.path(), Some("good.der"));
    let conf = exim_client_conf(dir.path(), server.port);
    let out = exim_submit(&exim, &conf);
    let log = mainlog(dir.path());
    assert!(out.status.success(), "{}\n{log}", text(&out));
    assert!(
        log.contains("=> rcpt@example.test R=to_serve T=remote"),
        "{log}"
    );
    // The certificate did not verify (expired at the real date), only the staple did.
    assert!(log.contains(" CV=no "), "{log}");
    assert!(log.contains("Completed"), "{log}");
    assert_eq!(exim_queue(&exim, &conf), 0, "{log}");
    assert_eq!(spooled(dir.path()), 1, "{log}");
}

#[test]
fn exim_client_defers_without_a_staple() {
    let Some(exim) = exim() else { return };
    let (dir, _pki) = setup();
    let server = serve(dir.path(), None);
    let conf = exim_client_conf(dir.path(), server.port);
    let out = exim_submit(&exim, &conf);
    let log = mainlog(dir.path());
    assert!(out.status.success(), "{}\n{log}", text(&out));
    assert!(
        log.contains("== rcpt@example.test R=to_serve T=remote defer (-37)"),
        "{log}"
    );
    assert!(
        log.contains("TLS session: (certificate status check failed)"),
        "{log}"
    );
    assert!(!log.contains("=> rcpt@example.test"), "{log}");
    assert_eq!(exim_queue(&exim, &conf), 1, "{log}");
    assert_eq!(spooled(dir.path()), 0, "{log}");
}

/// `mailstaple serve` (at NOW) staples a proof that is fresh at NOW but stale at the real date,
/// Exim's clock: GnuTLS rejects it during certificate verification and Exim defers.
#[test]
fn exim_client_defers_with_a_staple_stale_at_its_clock() {
    let Some(exim) = exim() else { return };
    let (dir, pki) = setup();
    let proof = pki
        .response()
        .this_update(NOW - DAY)
        .next_update(Some(NOW + 7 * DAY))
        .build();
    std::fs::write(dir.path().join("short.der"), proof).unwrap();
    let server = serve(dir.path(), Some("short.der"));
    let conf = exim_client_conf(dir.path(), server.port);
    let out = exim_submit(&exim, &conf);
    let log = mainlog(dir.path());
    assert!(out.status.success(), "{}\n{log}", text(&out));
    // Under `tls_try_verify_hosts` the failed verification does not end the handshake; Exim's
    // later check that the staple was verified gives the same text as a missing staple.
    assert!(
        log.contains(
            "== rcpt@example.test R=to_serve T=remote defer (-37) H=127.0.0.1 [127.0.0.1]: \
             TLS session: (certificate status check failed)"
        ),
        "{log}"
    );
    assert_eq!(exim_queue(&exim, &conf), 1, "{log}");
    assert_eq!(spooled(dir.path()), 0, "{log}");
}

/// A running Exim daemon (`-bdf`, foreground); killed when dropped.
struct EximServer {
    child: Child,
    port: u16,
}

impl Drop for EximServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Exim as an SMTP server on 127.0.0.1 offering STARTTLS with the test chain and, if
/// given, the proof file `dir/<ocsp>`; every message is accepted and discarded.
fn exim_server(exim: &Path, dir: &Path, ocsp: Option<&str>) -> EximServer {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ocsp_line = ocsp.map_or(String::new(), |f| {
        format!("tls_ocsp_file = {}\n", dir.join(f).display())
    });
    let conf = dir.join("exim-server.conf");
    let text = format!(
        "{main}\
         local_interfaces = 127.0.0.1\n\
         daemon_smtp_ports = {port}\n\
         tls_advertise_hosts = *\n\
         tls_certificate = {d}/chain.pem\n\
         tls_privatekey = {d}/leaf.key\n\
         {ocsp_line}\
         acl_smtp_rcpt = accept_all\n\
         \nbegin acl\n\naccept_all:\n  accept\n\
         \nbegin routers\n\ndiscard:\n  driver = redirect\n  data = :blackhole:\n",
        main = exim_main(dir, "mail.example.test"),
        d = dir.display()
    );
    std::fs::write(&conf, text).unwrap();
    let child = Command::new(exim)
        .arg("-C")
        .arg(&conf)
        .arg("-bdf")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = EximServer { child, port };
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < LIMIT,
            "Exim does not listen: {}",
            mainlog(dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// `mailstaple send` to 127.0.0.1:`port`, requiring a verified staple.
fn send(dir: &Path, port: u16) -> Output {
    std::fs::write(dir.join("msg"), "Subject: hi\n\nhello\n").unwrap();
    run(
        send_command(port)
            .args(["--hosts-require-ocsp", "*", "--tls-verify-certificates"])
            .arg(dir.join("root.pem"))
            .arg(dir.join("msg")),
        b"",
    )
}

#[test]
fn mailstaple_send_to_exim_delivers_with_a_good_proof() {
    let Some(exim) = exim() else { return };
    let (dir, pki) = setup();
    std::fs::write(dir.path().join("good.der"), wide(pki, Status::Good)).unwrap();
    let server = exim_server(&exim, dir.path(), Some("good.der"));
    let out = send(dir.path(), server.port);
    let log = mainlog(dir.path());
    assert_eq!(out.status.code(), Some(0), "{}\n{log}", text(&out));
    assert!(text(&out).contains("OCSP=4"), "{}", text(&out));
}

#[test]
fn mailstaple_send_to_exim_defers_without_a_proof() {
    let Some(exim) = exim() else { return };
    let (dir, _pki) = setup();
    let server = exim_server(&exim, dir.path(), None);
    let out = send(dir.path(), server.port);
    let log = mainlog(dir.path());
    assert_eq!(out.status.code(), Some(75), "{}\n{log}", text(&out));
    assert!(
        text(&out).contains("Required TLS certificate status not received"),
        "{}",
        text(&out)
    );
}

/// Debian's Exim is the GnuTLS build: it hands the proof file to
/// `gnutls_certificate_set_ocsp_status_request_file2` when a client asks for STARTTLS, and a
/// revoked or stale proof makes that fail, so Exim answers `454 TLS currently unavailable`
/// instead of starting TLS without a staple (the OpenSSL build would). The client, which
/// requires TLS, defers either way.
fn assert_refused_at_load(out: &Output, log: &str) {
    assert!(
        text(out).contains("after STARTTLS: 454 TLS currently unavailable"),
        "{}",
        text(out)
    );
    assert!(
        log.contains(
            "TLS error on connection from (" 
        ) && log.contains(
            "(gnutls_certificate_set_ocsp_status_request_file2): The session or certificate has expired."
        ),
        "{log}"
    );
}

#[test]
fn mailstaple_send_to_exim_defers_with_a_revoked_proof() {
    let Some(exim) = exim() else { return };
    let (dir, pki) = setup();
    std::fs::write(dir.path().join("revoked.der"), wide(pki, revoked())).unwrap();
    let server = exim_server(&exim, dir.path(), Some("revoked.der"));
    let out = send(dir.path(), server.port);
    let log = mainlog(dir.path());
    assert_eq!(out.status.code(), Some(75), "{}\n{log}", text(&out));
    assert_refused_at_load(&out, &log);
}

#[test]
fn mailstaple_send_to_exim_defers_with_a_stale_proof() {
    let Some(exim) = exim() else { return };
    let (dir, pki) = setup();
    std::fs::write(dir.path().join("stale.der"), stale(pki)).unwrap();
    let server = exim_server(&exim, dir.path(), Some("stale.der"));
    let out = send(dir.path(), server.port);
    let log = mainlog(dir.path());
    assert_eq!(out.status.code(), Some(75), "{}\n{log}", text(&out));
    assert_refused_at_load(&out, &log);
}

#[test]
fn gnutls_cli_starttls_saves_the_staple_byte_for_byte() {
    if !peer(Path::new("gnutls-cli"), "--version") {
        return;
    }
    let (dir, pki) = setup();
    let proof = wide(pki, Status::Good);
    std::fs::write(dir.path().join("good.der"), &proof).unwrap();
    let server = serve(dir.path(), Some("good.der"));
    let saved = dir.path().join("saved.der");
    let out = run(
        Command::new("gnutls-cli")
            .args(["--starttls-proto=smtp", "--ocsp", "--insecure"])
            .arg(format!("--save-ocsp={}", saved.display()))
            .args(["-p", &server.port.to_string(), "127.0.0.1"]),
        b"",
    );
    assert_eq!(
        std::fs::read(&saved).ok().as_deref(),
        Some(proof.as_slice()),
        "{}",
        text(&out)
    );
}
