//! The probe against in-process SMTP servers over loopback: rustls servers stapling test-PKI
//! proofs (good, none, revoked, out of date, another certificate's, by an expired delegated
//! signer, must-staple without one, an untrusted chain, implicit TLS), and hostile servers
//! (silent, a megabyte banner, a multiline reply that never ends, STARTTLS refused, garbage
//! instead of TLS, a 100 KB certificate chain), each a clear per-host result within the
//! deadline. Judged at the test PKI's fixed instant.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailstaple_policy::TrustStore;
use mailstaple_probe::{
    ProbeConfig, Prober, Report, Severity, Spec, Stage, Target, Thresholds, Verdict, probe_all,
};
use mailstaple_testpki::{DAY, HOUR, KeyAlg, NOW, Pki, PkiOptions, Signer, Status};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(NOW))
}

fn pki() -> &'static Pki {
    Pki::shared(KeyAlg::EcdsaP256)
}

fn prober_trusting(root: &[u8], deadline: Duration) -> Prober {
    let mut config = ProbeConfig::new("probe.example.test");
    config.deadline = deadline;
    config.step_timeout = deadline;
    Prober::new(TrustStore::from_der([root.to_vec()]), config).unwrap()
}

fn prober(pki: &Pki) -> Prober {
    prober_trusting(&pki.root.der, Duration::from_secs(10))
}

fn tls_config(chain: Vec<Vec<u8>>, key: &[u8], ocsp: Vec<u8>) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certs = chain.into_iter().map(CertificateDer::from).collect();
    let key = PrivateKeyDer::try_from(key.to_vec()).unwrap();
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert_with_ocsp(certs, key, ocsp)
            .unwrap(),
    )
}

/// The leaf's PKCS#8 key.
fn leaf_key(pki: &Pki) -> Vec<u8> {
    pki.leaf.key.serialized_der().to_vec()
}

fn chain(pki: &Pki) -> Vec<Vec<u8>> {
    vec![pki.leaf.der.clone(), pki.intermediate.der.clone()]
}

/// A server that greets, offers STARTTLS, hands the connection to rustls with `config`, and
/// answers EHLO and QUIT under TLS; `implicit` does the handshake first.
async fn smtp_server(config: Arc<rustls::ServerConfig>, implicit: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let config = config.clone();
            tokio::spawn(async move {
                let acceptor = tokio_rustls::TlsAcceptor::from(config);
                if implicit {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = dialogue(tls, true).await;
                    }
                    return;
                }
                let mut tcp = BufReader::new(tcp);
                if plain_dialogue(&mut tcp).await.is_none() {
                    return;
                }
                if let Ok(tls) = acceptor.accept(tcp.into_inner()).await {
                    let _ = dialogue(tls, false).await;
                }
            });
        }
    });
    addr
}

/// Greeting, EHLO with STARTTLS, 220 to STARTTLS; `None` when the client went away.
async fn plain_dialogue(tcp: &mut BufReader<TcpStream>) -> Option<()> {
    tcp.get_mut()
        .write_all(b"220 mail.example.test ESMTP\r\n")
        .await
        .ok()?;
    loop {
        let mut line = String::new();
        if tcp.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if cmd.starts_with("EHLO") {
            b"250-mail.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
        } else if cmd == "STARTTLS" {
            tcp.get_mut()
                .write_all(b"220 2.0.0 go ahead\r\n")
                .await
                .ok()?;
            return Some(());
        } else {
            b"500 what\r\n"
        };
        tcp.get_mut().write_all(reply).await.ok()?;
    }
}

async fn dialogue<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: S,
    greet: bool,
) -> Option<()> {
    let mut stream = BufReader::new(stream);
    if greet {
        stream
            .get_mut()
            .write_all(b"220 mail.example.test ESMTP\r\n")
            .await
            .ok()?;
    }
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        if cmd.starts_with("EHLO") {
            stream
                .get_mut()
                .write_all(b"250-mail.example.test\r\n250 SIZE 1000\r\n")
                .await
                .ok()?;
        } else if cmd == "QUIT" {
            stream.get_mut().write_all(b"221 bye\r\n").await.ok()?;
            return Some(());
        } else {
            stream.get_mut().write_all(b"503 not now\r\n").await.ok()?;
        }
    }
}

async fn probe_with(prober: &Prober, addr: SocketAddr) -> Report {
    prober.probe(addr, "mail.example.test", now()).await
}

fn severity(report: &Report, require: bool) -> Severity {
    report.severity(&Thresholds::new(25, require)).0
}

fn good_proof(pki: &Pki) -> Vec<u8> {
    pki.response()
        .this_update(NOW - HOUR)
        .next_update(Some(NOW + 7 * DAY - HOUR))
        .build()
}

#[tokio::test]
async fn a_good_staple_would_be_delivered_to() {
    let pki = pki();
    let addr = smtp_server(
        tls_config(chain(pki), &leaf_key(pki), good_proof(pki)),
        false,
    )
    .await;
    let report = probe_with(&prober(pki), addr).await;
    let o = report.result.as_ref().unwrap();
    assert_eq!(o.tls_version, "TLSv1.3");
    assert!(o.cipher_suite.starts_with("TLS13_"), "{}", o.cipher_suite);
    let cert = o.certificate.as_ref().unwrap();
    assert_eq!(cert.names, ["mail.example.test"]);
    assert_eq!(cert.serial, "10:01");
    assert!(
        cert.subject.contains("CN=mail.example.test"),
        "{}",
        cert.subject
    );
    assert!(
        cert.issuer.contains("mailstaple test intermediate"),
        "{}",
        cert.issuer
    );
    assert_eq!(cert.ocsp_urls, ["http://127.0.0.1:8888/"]);
    assert!(!cert.must_staple);
    assert_eq!(
        cert.not_after.unix(),
        i64::try_from(NOW + 90 * DAY).unwrap()
    );
    assert_eq!(o.chain, Ok(()));
    assert_eq!(o.chain_length, 2);
    assert_eq!(o.staple.verdict, Verdict::Good);
    assert_eq!(
        o.staple.this_update.unwrap().unix(),
        i64::try_from(NOW - HOUR).unwrap()
    );
    assert_eq!(
        o.staple.seconds_left(report.now),
        Some(i64::try_from(7 * DAY - HOUR).unwrap())
    );
    assert_eq!(o.exim.tls_out_ocsp, 4);
    assert!(o.exim.deliver);
    assert_eq!(o.exim.defer, None);
    assert_eq!(o.after_tls, Ok(()));
    assert_eq!(severity(&report, true), Severity::Ok);
}

#[tokio::test]
async fn little_time_left_is_a_warning() {
    let pki = pki();
    // 1 hour left of a 7-day window.
    let proof = pki
        .response()
        .this_update(NOW - 7 * DAY + 2 * HOUR)
        .next_update(Some(NOW + HOUR))
        .build();
    let addr = smtp_server(tls_config(chain(pki), &leaf_key(pki), proof), false).await;
    let report = probe_with(&prober(pki), addr).await;
    let (sev, why) = report.severity(&Thresholds::new(25, true));
    assert_eq!(sev, Severity::Warning, "{why}");
    assert!(why.contains("1h 0m left"), "{why}");
    assert!(report.result.as_ref().unwrap().exim.deliver);
}

#[tokio::test]
async fn no_staple_defers_with_exims_text() {
    let pki = pki();
    let addr = smtp_server(tls_config(chain(pki), &leaf_key(pki), Vec::new()), false).await;
    let report = probe_with(&prober(pki), addr).await;
    let o = report.result.as_ref().unwrap();
    assert_eq!(o.staple.verdict, Verdict::None);
    assert_eq!(o.exim.tls_out_ocsp, 1);
    assert!(!o.exim.deliver);
    assert_eq!(
        o.exim.defer.as_deref(),
        Some("TLS session: (SSL_connect) Required TLS certificate status not received")
    );
    assert_eq!(severity(&report, true), Severity::Critical);
    assert_eq!(severity(&report, false), Severity::Warning);
}

#[tokio::test]
async fn must_staple_without_a_staple_is_critical_even_unrequired() {
    let mut options = PkiOptions::new(KeyAlg::EcdsaP256);
    options.must_staple = true;
    let pki = Pki::with_options(options);
    let addr = smtp_server(tls_config(chain(&pki), &leaf_key(&pki), Vec::new()), false).await;
    let report = probe_with(&prober(&pki), addr).await;
    let o = report.result.as_ref().unwrap();
    assert!(o.certificate.as_ref().unwrap().must_staple);
    let (sev, why) = report.severity(&Thresholds::new(25, false));
    assert_eq!(sev, Severity::Critical);
    assert!(why.contains("must-staple"), "{why}");
}

#[tokio::test]
async fn verdicts_of_bad_staples() {
    let pki = pki();
    let revoked = pki
        .response()
        .this_update(NOW - HOUR)
        .next_update(Some(NOW + DAY))
        .status(Status::Revoked {
            time: NOW - 2 * DAY,
            reason: Some(1),
        })
        .build();
    let unknown = pki
        .response()
        .this_update(NOW - HOUR)
        .next_update(Some(NOW + DAY))
        .status(Status::Unknown)
        .build();
    let stale = pki
        .response()
        .this_update(NOW - 10 * DAY)
        .next_update(Some(NOW - 3 * DAY))
        .build();
    let other = pki
        .response()
        .cert(&pki.other_leaf)
        .this_update(NOW - HOUR)
        .next_update(Some(NOW + DAY))
        .build();
    let expired_signer = pki
        .response()
        .this_update(NOW - HOUR)
        .next_update(Some(NOW + DAY))
        .signer(Signer::Delegated(&pki.signer_expired))
        .build();
    let cases: [(&str, Vec<u8>, &str, &str); 5] = [
        (
            "revoked",
            revoked,
            "revoked",
            "Server certificate revoked; reason: keyCompromise",
        ),
        (
            "unknown",
            unknown,
            "unknown",
            "Server certificate has unknown status",
        ),
        (
            "stale",
            stale,
            "out-of-date",
            "Server certificate status is out-of-date",
        ),
        (
            "other",
            other,
            "invalid",
            "Server certificate status response itself unverifiable",
        ),
        (
            "expired signer",
            expired_signer,
            "invalid",
            "Server certificate status response itself unverifiable",
        ),
    ];
    for (what, proof, verdict, defer) in cases {
        let addr = smtp_server(tls_config(chain(pki), &leaf_key(pki), proof), false).await;
        let report = probe_with(&prober(pki), addr).await;
        let o = report.result.as_ref().unwrap();
        assert_eq!(o.staple.verdict.name(), verdict, "{what}: {:?}", o.staple);
        assert_eq!(o.exim.tls_out_ocsp, 3, "{what}");
        assert!(!o.exim.deliver, "{what}");
        let text = o.exim.defer.as_deref().unwrap();
        assert!(
            text.starts_with(&format!("TLS session: (SSL_connect) {defer}")),
            "{what}: {text}"
        );
        assert_eq!(severity(&report, false), Severity::Critical, "{what}");
        match &o.staple.verdict {
            Verdict::Revoked { time, reason } => {
                assert_eq!(time.unix(), i64::try_from(NOW - 2 * DAY).unwrap());
                assert_eq!(reason.as_deref(), Some("keyCompromise"));
            }
            Verdict::OutOfDate { reason } => {
                assert!(
                    reason.contains("expired") || reason.contains("nextUpdate"),
                    "{reason}"
                );
                assert_eq!(
                    o.staple.next_update.unwrap().unix(),
                    i64::try_from(NOW - 3 * DAY).unwrap()
                );
            }
            Verdict::Invalid { reason } if what == "expired signer" => {
                assert!(reason.contains("expired"), "{reason}");
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn an_untrusted_chain_is_reported_with_the_staple_still_judged() {
    let pki = pki();
    let addr = smtp_server(
        tls_config(chain(pki), &leaf_key(pki), good_proof(pki)),
        false,
    )
    .await;
    let prober = prober_trusting(&pki.other_ca.der, Duration::from_secs(10));
    let report = probe_with(&prober, addr).await;
    let o = report.result.as_ref().unwrap();
    assert_eq!(o.chain, Err("UnknownIssuer".to_owned()));
    assert_eq!(o.staple.verdict, Verdict::Good);
    assert!(!o.exim.deliver);
    assert_eq!(o.exim.defer.as_deref(), Some("TLS session: UnknownIssuer"));
    let (sev, why) = report.severity(&Thresholds::new(25, false));
    assert_eq!(sev, Severity::Critical);
    assert!(why.contains("UnknownIssuer"), "{why}");
}

#[tokio::test]
async fn implicit_tls_works_as_on_port_465() {
    let pki = pki();
    let addr = smtp_server(
        tls_config(chain(pki), &leaf_key(pki), good_proof(pki)),
        true,
    )
    .await;
    let mut config = ProbeConfig::new("probe.example.test");
    config.tls_on_connect = true;
    let implicit = Prober::new(TrustStore::from_der([pki.root.der.clone()]), config).unwrap();
    let report = probe_with(&implicit, addr).await;
    let o = report.result.as_ref().unwrap();
    assert_eq!(o.staple.verdict, Verdict::Good);
    assert_eq!(o.after_tls, Ok(()));
    // Without implicit TLS the client waits for a greeting the server never sends in clear.
    let plain = prober_trusting(&pki.root.der, Duration::from_millis(500));
    let report = probe_with(&plain, addr).await;
    assert_eq!(report.result.unwrap_err().stage, Stage::Smtp);
}

/// A server that runs `behave` on each connection.
async fn hostile<F, Fut>(behave: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let behave = Arc::new(behave);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(behave(tcp));
        }
    });
    addr
}

/// Reads lines until one starts with `prefix` (case-insensitive).
async fn until(tcp: &mut BufReader<TcpStream>, prefix: &str) {
    loop {
        let mut line = String::new();
        if tcp.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        if line.to_ascii_uppercase().starts_with(prefix) {
            return;
        }
    }
}

fn failure_within(report: &Report, started: Instant, limit: Duration) -> (Stage, String) {
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    let f = report
        .result
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("{report:?}"));
    assert!(!f.message.chars().any(char::is_control), "{f}");
    (f.stage, f.message.clone())
}

#[tokio::test]
async fn hostile_servers_get_clear_errors_within_the_deadline() {
    let pki = pki();
    let deadline = Duration::from_secs(2);
    let prober = prober_trusting(&pki.root.der, deadline);
    let limit = deadline + Duration::from_secs(2);

    // Silent after accepting.
    let addr = hostile(|tcp| async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(tcp);
    })
    .await;
    let t = Instant::now();
    let report = probe_with(&prober, addr).await;
    let (stage, msg) = failure_within(&report, t, limit);
    assert_eq!(stage, Stage::Smtp);
    assert!(
        msg.contains("no answer within") || msg.contains("deadline"),
        "{msg}"
    );
    assert_eq!(severity(&report, false), Severity::Unreachable);

    // A banner of a megabyte.
    let addr = hostile(|mut tcp| async move {
        let banner = [b"220 ".as_slice(), &vec![b'x'; 1 << 20], b"\r\n"].concat();
        let _ = tcp.write_all(&banner).await;
    })
    .await;
    let t = Instant::now();
    let report = probe_with(&prober, addr).await;
    let (stage, msg) = failure_within(&report, t, limit);
    assert_eq!(stage, Stage::Smtp);
    assert!(
        msg.contains("more than") || msg.contains("too long"),
        "{msg}"
    );
    assert!(msg.len() < 1000, "{} bytes", msg.len());

    // A multiline reply that never ends.
    let addr = hostile(|mut tcp| async move {
        loop {
            if tcp.write_all(b"220-and another line\r\n").await.is_err() {
                return;
            }
        }
    })
    .await;
    let t = Instant::now();
    let report = probe_with(&prober, addr).await;
    let (stage, msg) = failure_within(&report, t, limit);
    assert_eq!(stage, Stage::Smtp);
    assert!(msg.contains("more than"), "{msg}");

    // STARTTLS refused.
    let addr = hostile(|tcp| async move {
        let mut tcp = BufReader::new(tcp);
        let _ = tcp.get_mut().write_all(b"220 hi\r\n").await;
        until(&mut tcp, "EHLO").await;
        let _ = tcp.get_mut().write_all(b"250-hi\r\n250 STARTTLS\r\n").await;
        until(&mut tcp, "STARTTLS").await;
        let _ = tcp
            .get_mut()
            .write_all(b"454 4.7.0 TLS not available due to \x1b[31mlocal problem\r\n")
            .await;
        until(&mut tcp, "QUIT").await;
    })
    .await;
    let t = Instant::now();
    let report = probe_with(&prober, addr).await;
    let (stage, msg) = failure_within(&report, t, limit);
    assert_eq!(stage, Stage::StartTls);
    assert!(
        msg.contains("454 4.7.0 TLS not available due to \\u{1b}[31mlocal problem"),
        "{msg}"
    );
    assert_eq!(severity(&report, false), Severity::Critical);

    // Garbage instead of a TLS handshake.
    let addr = hostile(|tcp| async move {
        let mut tcp = BufReader::new(tcp);
        let _ = tcp.get_mut().write_all(b"220 hi\r\n").await;
        until(&mut tcp, "EHLO").await;
        let _ = tcp.get_mut().write_all(b"250 STARTTLS\r\n").await;
        until(&mut tcp, "STARTTLS").await;
        let _ = tcp.get_mut().write_all(b"220 go\r\n").await;
        let mut buf = [0u8; 512];
        let _ = tcp.read(&mut buf).await;
        let _ = tcp
            .get_mut()
            .write_all(b"this is not TLS at all\r\n\x1b[2J")
            .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let t = Instant::now();
    let report = probe_with(&prober, addr).await;
    let (stage, msg) = failure_within(&report, t, limit);
    assert_eq!(stage, Stage::Handshake);
    assert!(msg.contains("corrupt") || msg.contains("invalid"), "{msg}");
    assert_eq!(severity(&report, false), Severity::Critical);

    // A 100 KB certificate chain.
    let mut big = chain(pki);
    while big.iter().map(Vec::len).sum::<usize>() < 100 * 1024 {
        big.push(pki.root.der.clone());
    }
    let addr = smtp_server(tls_config(big, &leaf_key(pki), good_proof(pki)), false).await;
    let t = Instant::now();
    let report = probe_with(&prober, addr).await;
    let (stage, msg) = failure_within(&report, t, limit);
    assert_eq!(stage, Stage::Handshake);
    assert!(
        msg.contains("over 64 KiB") && msg.contains("HandshakePayloadTooLarge"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_silent_host_does_not_block_the_others() {
    let pki = pki();
    let good = smtp_server(
        tls_config(chain(pki), &leaf_key(pki), good_proof(pki)),
        false,
    )
    .await;
    let silent = hostile(|tcp| async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(tcp);
    })
    .await;
    let deadline = Duration::from_secs(2);
    let prober = Arc::new(prober_trusting(&pki.root.der, deadline));
    let target = |a: SocketAddr| Spec::Target(Target::parse(&a.to_string()).unwrap());
    let mut specs = vec![target(silent), target(silent)];
    specs.extend((0..20).map(|_| target(good)));
    #[derive(Debug)]
    struct Fixed;
    impl rustls::time_provider::TimeProvider for Fixed {
        fn current_time(&self) -> Option<UnixTime> {
            Some(now())
        }
    }
    let t = Instant::now();
    let reports = probe_all(
        prober,
        None,
        specs,
        Some("mail.example.test".into()),
        4,
        Arc::new(Fixed),
    )
    .await;
    // The two silent hosts hold two slots for the deadline; the 20 good ones go through the
    // other two meanwhile.
    assert!(
        t.elapsed() < deadline + Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(reports.len(), 22);
    assert!(reports[..2].iter().all(|r| r.result.is_err()));
    assert!(
        reports[2..]
            .iter()
            .all(|r| r.result.as_ref().is_ok_and(|o| o.exim.deliver))
    );
}
