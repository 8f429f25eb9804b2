//! `mailstaple config check` on valid, broken and weak files, and `serve --config` /
//! `send --config` really using the file (flags overriding it).

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::{Command, Output};

use mailstaple_testpki::{DAY, HOUR, KeyAlg, NOW, Pki, PkiOptions};

use common::{Serve, send_command, serve_with};

mod common;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mailstaple"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A directory with the test PKI's PEM files and a long-lived good proof for the leaf.
fn setup(pki: &Pki) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    pki.write_pem_files(dir.path()).unwrap();
    let proof = pki
        .response()
        .this_update(NOW - HOUR)
        .next_update(Some(NOW + 3650 * DAY))
        .build();
    std::fs::write(dir.path().join("leaf.der"), proof).unwrap();
    dir
}

/// A complete, consistent configuration in `dir`.
fn valid_config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"# mailstaple configuration
[server]
listen = "127.0.0.1:0"
hostname = "mail.example.test"
spool = "{d}/spool"
tls_certificate = "{d}/chain.pem"
tls_privatekey = "{d}/leaf.key"
tls_ocsp_file = "{d}/leaf.der"

[client]
hosts_require_ocsp = "+relays"
hosts_request_ocsp = "*"
hosts_require_tls = "+relays"
tls_verify_certificates = "{d}/root.pem"

[hostlists]
relays = "127.0.0.1 : mail.example.test"

[[fetch.certificate]]
cert = "{d}/leaf.pem"
issuer = "{d}/issuer.pem"
out = "{d}/leaf.der"
url = "http://127.0.0.1:8888/"
"#
    )
}

fn check(dir: &Path, name: &str, contents: &str) -> (i32, String) {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    let out = bin().args(["config", "check"]).arg(&path).output().unwrap();
    (out.status.code().unwrap(), text(&out))
}

#[test]
fn a_valid_file_checks_clean() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = setup(pki);
    let (code, out) = check(dir.path(), "ok.toml", &valid_config(dir.path()));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK, 0 warning(s), 0 note(s)"), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn each_error_names_the_option_and_the_problem() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = setup(pki);
    let good = valid_config(dir.path());
    let d = dir.path().display().to_string();
    let cases: Vec<(String, &[&str])> = vec![
        (
            good.replace("hosts_require_tls =", "hosts_requre_tls ="),
            &[
                "line 13: error",
                "[client] hosts_requre_tls: unknown option",
                "did you mean hosts_require_tls?",
            ],
        ),
        (
            good.replace("[client]", "[cleint]"),
            &["[cleint]: unknown section", "did you mean client?"],
        ),
        (
            good.replace(
                "relays = \"127.0.0.1 : mail.example.test\"",
                "relays = \"127.0.0.1 : ^mail(\"",
            ),
            &[
                "[hostlists] relays",
                "item 1 \"^mail(\"",
                "invalid regular expression",
            ],
        ),
        (
            good.replace(
                "hosts_require_ocsp = \"+relays\"",
                "hosts_require_ocsp = \"+relay\"",
            ),
            &[
                "[client] hosts_require_ocsp",
                "item \"+relay\" names no list of [hostlists]",
            ],
        ),
        (
            good.replace(
                &format!("tls_certificate = \"{d}/chain.pem\""),
                &format!("tls_certificate = \"{d}/missing.pem\""),
            ),
            &["[server] tls_certificate", "missing.pem", "No such file"],
        ),
        (
            good.replace(
                &format!("tls_privatekey = \"{d}/leaf.key\""),
                &format!("tls_privatekey = \"{d}/leaf.key : {d}/leaf.key\""),
            ),
            &["[server] tls_privatekey lists 2 key(s) for the 1 certificate(s)"],
        ),
        (
            good.replace("listen = \"127.0.0.1:0\"", "listen = 25"),
            &["[server] listen: expected a string, not a TOML integer"],
        ),
        (
            good.replace("listen = \"127.0.0.1:0\"", "listen = \"localhost\""),
            &["[server] listen \"localhost\": not an address and port"],
        ),
        (
            good.replace(
                &format!("tls_verify_certificates = \"{d}/root.pem\""),
                "tls_verify_certificates = \"\"",
            ),
            &["[client] tls_verify_certificates: empty"],
        ),
        (
            good.replace(
                &format!("tls_verify_certificates = \"{d}/root.pem\""),
                &format!("tls_verify_certificates = \"{d}/nothere.pem\""),
            ),
            &["tls_verify_certificates: cannot read", "nothere.pem"],
        ),
        (
            good.replace(&format!("issuer = \"{d}/issuer.pem\"\n"), ""),
            &["[[fetch.certificate]]: issuer is missing"],
        ),
        (
            good.replace("url = \"http://127.0.0.1:8888/\"", "uri = \"http://x/\""),
            &[
                "[[fetch.certificate]] uri: unknown option",
                "did you mean url?",
            ],
        ),
        (
            good.replace("[server]", "[server"),
            &["line 2: error: not valid TOML"],
        ),
    ];
    for (i, (contents, wanted)) in cases.iter().enumerate() {
        assert_ne!(contents, &good, "case {i} changed nothing");
        let (code, out) = check(dir.path(), &format!("bad{i}.toml"), contents);
        assert_eq!(code, 1, "case {i}: {out}");
        for w in *wanted {
            assert!(out.contains(w), "case {i}: {w:?} not in:\n{out}");
        }
        assert!(out.contains("error(s)"), "case {i}: {out}");
    }
}

#[test]
fn weak_combinations_are_warned_about() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = setup(pki);
    let good = valid_config(dir.path());
    let d = dir.path().display().to_string();

    // hosts_require_ocsp without tls_verify_certificates.
    let (code, out) = check(
        dir.path(),
        "w1.toml",
        &good.replace(&format!("tls_verify_certificates = \"{d}/root.pem\"\n"), ""),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "warning: [client] hosts_require_ocsp is set but tls_verify_certificates is not"
        ),
        "{out}"
    );

    // hosts_require_ocsp hosts not in hosts_require_tls: informational.
    let (code, out) = check(
        dir.path(),
        "w2.toml",
        &good.replace(
            "hosts_require_tls = \"+relays\"",
            "hosts_require_tls = \"192.0.2.1\"",
        ),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("note: [client] hosts in hosts_require_ocsp are not all in hosts_require_tls"),
        "{out}"
    );
    assert!(out.contains("0 warning(s), 1 note(s)"), "{out}");

    // A fetch entry whose proof no tls_ocsp_file serves.
    let (code, out) = check(
        dir.path(),
        "w3.toml",
        &good.replace(
            &format!("out = \"{d}/leaf.der\""),
            &format!("out = \"{d}/elsewhere.der\""),
        ),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "elsewhere.der: not any [server] tls_ocsp_file, so the server would never serve it"
        ),
        "{out}"
    );
}

#[test]
fn a_proof_file_for_a_certificate_without_responder_is_a_quiet_note() {
    let mut opts = PkiOptions::new(KeyAlg::EcdsaP256);
    opts.ocsp_url = None;
    let pki = Pki::with_options(opts);
    let dir = setup(&pki);
    let good = valid_config(dir.path());
    // No fetch entry: the certificate names no responder, so nothing here could fetch a proof.
    let no_fetch = good
        .split("[[fetch.certificate]]")
        .next()
        .unwrap()
        .to_owned();
    let (code, out) = check(dir.path(), "n1.toml", &no_fetch);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("note: [server] tls_ocsp_file")
            && out.contains("names no OCSP responder")
            && out.contains("0 warning(s), 1 note(s)"),
        "{out}"
    );
    // With a fetch entry giving the URL, nothing to say.
    let (code, out) = check(dir.path(), "n2.toml", &good);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 warning(s), 0 note(s)"), "{out}");
    // The same certificate with a responder URL (the shared PKI) and no fetch entry: no note.
    let shared = setup(Pki::shared(KeyAlg::EcdsaP256));
    let with_url = valid_config(shared.path());
    let with_url = with_url.split("[[fetch.certificate]]").next().unwrap();
    let (code, out) = check(shared.path(), "n3.toml", with_url);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 warning(s), 0 note(s)"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let out = bin()
        .args(["config", "check", "/nonexistent/mailstaple.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("cannot read configuration file"));
    let out = bin().args(["config", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `mailstaple serve --config FILE` with only the hidden clock as a flag.
fn serve(config: &Path) -> Serve {
    let args: Vec<std::ffi::OsString> = vec![
        "--config".into(),
        config.into(),
        "--now".into(),
        NOW.to_string().into(),
    ];
    serve_with(args)
}

fn send(config: &Path, port: u16, msg: &Path, extra: &[&str]) -> (i32, String) {
    let out = send_command(port)
        .arg("--config")
        .arg(config)
        .args(extra)
        .arg(msg)
        .output()
        .unwrap();
    (out.status.code().unwrap(), text(&out))
}

#[test]
fn serve_and_send_use_the_file_and_flags_override_it() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = setup(pki);
    let d = dir.path().display().to_string();
    let msg = dir.path().join("msg.eml");
    std::fs::write(&msg, "Subject: hi\n\nhello\n").unwrap();

    let stapling_cfg = dir.path().join("stapling.toml");
    std::fs::write(&stapling_cfg, valid_config(dir.path())).unwrap();
    let bare_cfg = dir.path().join("bare.toml");
    std::fs::write(
        &bare_cfg,
        valid_config(dir.path())
            .replace(&format!("tls_ocsp_file = \"{d}/leaf.der\"\n"), "")
            .replace(
                &format!("spool = \"{d}/spool\""),
                &format!("spool = \"{d}/spool-bare\""),
            )
            .split("[[fetch.certificate]]")
            .next()
            .unwrap(),
    )
    .unwrap();
    let stapling = serve(&stapling_cfg);
    let bare = serve(&bare_cfg);

    // The file's [client] requires OCSP from +relays (127.0.0.1) and names the trust anchors.
    let (code, out) = send(&stapling_cfg, stapling.port, &msg, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("CV=yes OCSP=4"), "{out}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("spool")).unwrap().count(),
        1,
        "the [server] spool was used"
    );
    let (code, out) = send(&stapling_cfg, bare.port, &msg, &[]);
    assert_eq!(code, 75, "{out}");
    assert!(
        out.contains("Required TLS certificate status not received"),
        "{out}"
    );

    // A flag overrides the file: OCSP required only from another host, so delivered.
    let (code, out) = send(
        &stapling_cfg,
        bare.port,
        &msg,
        &["--hosts-require-ocsp", "192.0.2.1"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OCSP=1"), "{out}");

    // Named lists come from the file: +relays not matching this host means no requirement
    // (an undefined list would defer and so require).
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&stapling_cfg).unwrap().replace(
            "relays = \"127.0.0.1 : mail.example.test\"",
            "relays = \"192.0.2.1\"",
        ),
    )
    .unwrap();
    let (code, out) = send(&other, bare.port, &msg, &[]);
    assert_eq!(code, 0, "{out}");

    // A broken file stops both commands before anything happens, naming the option.
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        valid_config(dir.path()).replace("hosts_require_ocsp", "hosts_require_oscp"),
    )
    .unwrap();
    let (code, out) = send(&broken, stapling.port, &msg, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("hosts_require_oscp: unknown option (did you mean hosts_require_ocsp?)"),
        "{out}"
    );
    let out = bin()
        .args(["serve", "--config"])
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("hosts_require_oscp: unknown option"));
}

/// Issue 14: one file for every command. The file `config check` approves (with `[server]`,
/// `[fetch]` and `[[fetch.certificate]]`) starts the fetch daemon too; a file one command
/// refuses, every command and `config check` refuse with the same message.
#[test]
fn r14_every_command_reads_the_same_file_with_the_same_messages() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = setup(pki);
    let d = dir.path().display().to_string();
    let good = valid_config(dir.path()).replace(
        "[[fetch.certificate]]",
        &format!("[fetch]\nconcurrency = 2\nstatus = \"{d}/status.json\"\n\n[[fetch.certificate]]"),
    );
    let (code, out) = check(dir.path(), "all.toml", &good);
    assert_eq!(code, 0, "{out}");
    let path = dir.path().join("all.toml");

    // The daemon accepts it and starts on its one certificate.
    let mut daemon = bin()
        .args(["fetch", "--daemon", "--config"])
        .arg(&path)
        .args(["--now", &NOW.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(daemon.stderr.take().unwrap()),
        &mut first,
    )
    .unwrap();
    let _ = Command::new("kill").arg(daemon.id().to_string()).status();
    let _ = daemon.wait();
    assert!(
        first.contains("daemon started with 1 certificates"),
        "{first}"
    );

    // Broken files: the same error line from every command.
    let msg = dir.path().join("msg.eml");
    std::fs::write(&msg, "Subject: hi\n\nhello\n").unwrap();
    for (i, broken) in [
        good.replace("concurrency = 2", "concurrency = \"two\""),
        good.replace("hostname =", "host_name ="),
        good.replace("[[fetch.certificate]]", "[[fetch.certificates]]"),
        good.replace(&format!("{d}/chain.pem"), &format!("{d}/gone.pem")),
    ]
    .iter()
    .enumerate()
    {
        let path = dir.path().join(format!("broken{i}.toml"));
        std::fs::write(&path, broken).unwrap();
        let (code, checked) = check(dir.path(), &format!("broken{i}.toml"), broken);
        assert_eq!(code, 1, "{checked}");
        let error_line = checked
            .lines()
            .find(|l| l.contains(": error: "))
            .unwrap()
            .to_owned();
        let outputs = [
            bin()
                .args(["fetch", "--daemon", "--config"])
                .arg(&path)
                .output()
                .unwrap(),
            bin()
                .args(["fetch", "--status", "--config"])
                .arg(&path)
                .output()
                .unwrap(),
            bin()
                .args(["serve", "--config"])
                .arg(&path)
                .output()
                .unwrap(),
            send_command(1)
                .arg("--config")
                .arg(&path)
                .arg(&msg)
                .output()
                .unwrap(),
        ];
        for (j, out) in outputs.iter().enumerate() {
            assert_eq!(
                out.status.code(),
                Some(2),
                "case {i}, command {j}: {}",
                text(out)
            );
            assert!(
                text(out).contains(&error_line),
                "case {i}, command {j}: {error_line:?} not in {}",
                text(out)
            );
        }
    }
}

/// Issue 14: Exim's connection limits come from the file (`smtp_accept_max`,
/// `smtp_receive_timeout` in Exim's time syntax).
#[test]
fn r14_serve_takes_the_smtp_limits_from_the_file() {
    use std::io::{BufRead as _, BufReader};
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = setup(pki);
    let path = dir.path().join("limits.toml");
    std::fs::write(
        &path,
        valid_config(dir.path()).replace(
            "[client]",
            "smtp_accept_max = 1\nsmtp_receive_timeout = \"1s\"\n\n[client]",
        ),
    )
    .unwrap();
    let server = serve(&path);
    let first_line = |s: &std::net::TcpStream| {
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        line
    };
    let first = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    first
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    assert!(first_line(&first).starts_with("220 "));
    let second = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    assert!(
        first_line(&second).starts_with("421 4.3.2 Too many concurrent SMTP connections;"),
        "smtp_accept_max = 1"
    );
    // Silent for more than smtp_receive_timeout: closed with a 421.
    let start = std::time::Instant::now();
    assert!(first_line(&first).starts_with("421 4.4.2 Timeout"));
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}
