//! The tokio drivers over loopback: STARTTLS with rustls on both sides (the OCSP policy's
//! verifier on the client), durable spooling, outcomes and Exim-style log lines.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::Duration;

use mailstaple_policy::tls::PolicyClient;
use mailstaple_policy::{Decision, Mode, TrustStore};
use mailstaple_smtp::client::{Message, Outcome, TlsMode};
use mailstaple_smtp::net::{
    ClientTls, DeliveryInfo, ServerOptions, ServerTls, deliver, log_line, serve,
};
use mailstaple_smtp::spool::Spool;
use mailstaple_testpki::{KeyAlg, NOW, Pki, Status};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};

#[derive(Debug)]
struct FixedTime;
impl rustls::time_provider::TimeProvider for FixedTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(Duration::from_secs(NOW)))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn server_tls(pki: &Pki, staple: Option<Vec<u8>>) -> Arc<rustls::ServerConfig> {
    let chain = vec![
        CertificateDer::from(pki.leaf.der.clone()),
        CertificateDer::from(pki.intermediate.der.clone()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.leaf.key.serialize_der()));
    let cfg = rustls::ServerConfig::builder_with_details(provider(), Arc::new(FixedTime))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert_with_ocsp(chain, key, staple.unwrap_or_default())
        .unwrap();
    Arc::new(cfg)
}

fn client_tls(pki: &Pki, mode: Mode) -> ClientTls {
    let trust = TrustStore::from_der([pki.root.der.clone()]);
    let client = PolicyClient::new(trust, provider(), Arc::new(FixedTime)).unwrap();
    let connection = client.connect(Decision::fixed(mode)).unwrap();
    ClientTls::new(
        connection,
        ServerName::try_from("mail.example.test").unwrap(),
    )
}

async fn start(
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (
    std::net::SocketAddr,
    tempfile::TempDir,
    tokio::sync::oneshot::Sender<()>,
) {
    let dir = tempfile::tempdir().unwrap();
    let spool = Arc::new(Spool::open(dir.path().join("spool")).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let options = ServerOptions::new(
        "mx.test",
        spool,
        tls.map(|t| Arc::new(t) as Arc<dyn ServerTls>),
    );
    tokio::spawn(serve(listener, options, async move {
        let _ = rx.await;
    }));
    (addr, dir, tx)
}

fn message() -> Message {
    Message::new(
        "a@x.test",
        vec!["b@y.test".into()],
        b"Subject: test\n\n.hello\n".to_vec(),
    )
}

fn spooled(dir: &tempfile::TempDir) -> Vec<String> {
    std::fs::read_dir(dir.path().join("spool"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

async fn send(
    addr: std::net::SocketAddr,
    mode: TlsMode,
    tls: Option<ClientTls>,
) -> (Outcome, DeliveryInfo) {
    deliver(
        addr,
        "client.test",
        mode,
        tls,
        message(),
        Duration::from_secs(10),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_delivery_with_a_good_staple_is_spooled() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let (addr, dir, _stop) = start(Some(server_tls(pki, Some(pki.response().build())))).await;
    let (outcome, info) = send(
        addr,
        TlsMode::Required,
        Some(client_tls(pki, Mode::Require)),
    )
    .await;
    assert!(
        matches!(outcome, Outcome::Delivered { tls: true, .. }),
        "{outcome:?}"
    );
    let line = log_line("b@y.test", "mail.example.test", addr, &outcome, &info);
    assert!(
        line.starts_with("=> b@y.test H=mail.example.test [127.0.0.1] X=TLS1.3:"),
        "{line}"
    );
    assert!(line.contains(" CV=yes OCSP=4 C=\"250 OK id="), "{line}");
    let files = spooled(&dir);
    assert_eq!(files.len(), 1);
    assert!(files[0].contains("with ESMTPS (TLS1.3:"), "{}", files[0]);
    assert!(
        files[0].ends_with("Subject: test\r\n\r\n.hello\r\n"),
        "{}",
        files[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_ocsp_without_staple_defers_with_exims_text() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let (addr, dir, _stop) = start(Some(server_tls(pki, None))).await;
    let (outcome, info) = send(
        addr,
        TlsMode::Required,
        Some(client_tls(pki, Mode::Require)),
    )
    .await;
    assert_eq!(
        log_line("b@y.test", "mail.example.test", addr, &outcome, &info),
        "== b@y.test H=mail.example.test [127.0.0.1] defer (-37): TLS session: (SSL_connect) Required TLS certificate status not received"
    );
    assert_eq!(info.ocsp, Some(1));
    assert!(spooled(&dir).is_empty());
    // Request only: the same server gets the message, with OCSP=1.
    let (outcome, info) = send(
        addr,
        TlsMode::Required,
        Some(client_tls(pki, Mode::Request)),
    )
    .await;
    assert!(
        matches!(outcome, Outcome::Delivered { tls: true, .. }),
        "{outcome:?}"
    );
    assert_eq!(info.ocsp, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_staple_aborts_even_request_only() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let revoked = pki
        .response()
        .status(Status::Revoked {
            time: NOW - 3600,
            reason: Some(1),
        })
        .build();
    let (addr, dir, _stop) = start(Some(server_tls(pki, Some(revoked)))).await;
    let (outcome, info) = send(
        addr,
        TlsMode::Required,
        Some(client_tls(pki, Mode::Request)),
    )
    .await;
    let line = log_line("b@y.test", "mx", addr, &outcome, &info);
    assert!(
        line.ends_with(
            "TLS session: (SSL_connect) Server certificate revoked; reason: keyCompromise"
        ),
        "{line}"
    );
    assert_eq!(info.ocsp, Some(3));
    assert!(spooled(&dir).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_tls_defers_against_a_plain_server() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let (addr, dir, _stop) = start(None).await;
    let (outcome, _) = send(
        addr,
        TlsMode::Required,
        Some(client_tls(pki, Mode::Require)),
    )
    .await;
    assert!(
        matches!(&outcome, Outcome::Deferred { text, .. } if text.contains("TLS")),
        "{outcome:?}"
    );
    assert!(spooled(&dir).is_empty());
    let (outcome, _) = send(
        addr,
        TlsMode::Opportunistic,
        Some(client_tls(pki, Mode::Request)),
    )
    .await;
    assert!(
        matches!(outcome, Outcome::Delivered { tls: false, .. }),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_the_client_does_not_trust_defers() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let other = Pki::shared(KeyAlg::EcdsaP384);
    let (addr, dir, _stop) = start(Some(server_tls(pki, Some(pki.response().build())))).await;
    let (outcome, info) = send(
        addr,
        TlsMode::Required,
        Some(client_tls(other, Mode::Request)),
    )
    .await;
    assert!(
        matches!(&outcome, Outcome::Deferred { code: None, text } if text.starts_with("TLS session: ")),
        "{outcome:?}"
    );
    assert!(info.tls_failure);
    assert!(spooled(&dir).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_defers() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (outcome, _) = send(addr, TlsMode::Never, None).await;
    assert!(
        matches!(outcome, Outcome::Deferred { code: None, .. }),
        "{outcome:?}"
    );
}

/// A server with connection limits; `options` adjusts the defaults.
async fn start_with(
    adjust: impl FnOnce(&mut ServerOptions),
) -> (
    std::net::SocketAddr,
    tempfile::TempDir,
    tokio::sync::oneshot::Sender<()>,
    Arc<mailstaple_smtp::net::ServerStats>,
) {
    let dir = tempfile::tempdir().unwrap();
    let spool = Arc::new(Spool::open(dir.path().join("spool")).unwrap());
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let mut options = ServerOptions::new("mx.test", spool, None);
    adjust(&mut options);
    let stats = Arc::clone(&options.stats);
    tokio::spawn(serve(listener, options, async move {
        let _ = rx.await;
    }));
    (([127, 0, 0, 1], port).into(), dir, tx, stats)
}

/// Connects from `from` (a loopback address) and reads the first reply line.
async fn greeted(from: [u8; 4], to: std::net::SocketAddr) -> (tokio::net::TcpStream, String) {
    use tokio::io::AsyncBufReadExt as _;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((from, 0).into()).unwrap();
    let mut stream = socket.connect(to).await.unwrap();
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(&mut stream);
    tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line))
        .await
        .expect("the reply comes at once")
        .unwrap();
    (stream, line)
}

async fn quit(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    stream.write_all(b"QUIT\r\n").await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
}

/// Issue 14: `smtp_accept_max = 5`: a sixth concurrent client gets the 421 line at once, and a
/// client after the five leave is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r14_smtp_accept_max_refuses_the_sixth_at_once() {
    let (addr, _dir, stop, stats) = start_with(|o| {
        o.max_connections = 5;
        o.max_connections_per_host = 0;
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..5 {
        let (stream, line) = greeted([127, 0, 0, 1], addr).await;
        assert!(line.starts_with("220 "), "{line}");
        open.push(stream);
    }
    let (_, line) = greeted([127, 0, 0, 1], addr).await;
    assert!(
        line.starts_with("421 4.3.2 Too many concurrent SMTP connections;"),
        "{line}"
    );
    assert_eq!(
        stats
            .refused_accept_max
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    for stream in open {
        quit(stream).await;
    }
    // The slots are given back when the sessions end.
    let start = std::time::Instant::now();
    loop {
        let (stream, line) = greeted([127, 0, 0, 1], addr).await;
        if line.starts_with("220 ") {
            quit(stream).await;
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{line}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(());
}

/// Issue 14: `smtp_accept_max_per_host = 2`: a third connection from one address gets a 421
/// while another address is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r14_smtp_accept_max_per_host_refuses_one_address_only() {
    let (addr, _dir, stop, stats) = start_with(|o| o.max_connections_per_host = 2).await;
    let (a1, l1) = greeted([127, 0, 0, 1], addr).await;
    let (a2, l2) = greeted([127, 0, 0, 1], addr).await;
    assert!(l1.starts_with("220 ") && l2.starts_with("220 "), "{l1}{l2}");
    let (_, third) = greeted([127, 0, 0, 1], addr).await;
    assert!(
        third.starts_with("421 4.3.2 Too many concurrent SMTP connections from this IP address"),
        "{third}"
    );
    let (b1, other) = greeted([127, 0, 0, 2], addr).await;
    assert!(other.starts_with("220 "), "{other}");
    assert_eq!(
        stats
            .refused_accept_max_per_host
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    for s in [a1, a2, b1] {
        quit(s).await;
    }
    let _ = stop.send(());
}

/// Issue 14: a message with a 2,000-octet line is accepted and stored as received; one with a
/// line over the limit is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r14_a_2000_octet_line_is_stored_intact() {
    let (addr, dir, stop, stats) = start_with(|_| {}).await;
    let long = "x".repeat(2000);
    let body = format!("Subject: long\r\n\r\n{long}\r\nend\r\n");
    let message = Message::new("a@x.test", vec!["b@y.test".into()], body.into_bytes());
    let (outcome, _) = deliver(
        addr,
        "client.test",
        TlsMode::Never,
        None,
        message,
        Duration::from_secs(10),
    )
    .await;
    assert!(matches!(outcome, Outcome::Delivered { .. }), "{outcome:?}");
    let stored = spooled(&dir);
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].contains(&format!("\r\n{long}\r\nend\r\n")),
        "folded or cut"
    );
    assert_eq!(
        stats
            .messages_accepted
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    let too_long = "y".repeat(mailstaple_smtp::session::DEFAULT_DATA_LINE_LIMIT);
    let body = format!("Subject: long\r\n\r\n{too_long}\r\n");
    let message = Message::new("a@x.test", vec!["b@y.test".into()], body.into_bytes());
    let (outcome, _) = deliver(
        addr,
        "client.test",
        TlsMode::Never,
        None,
        message,
        Duration::from_secs(10),
    )
    .await;
    let text = format!("{outcome:?}");
    assert!(
        text.contains("Line too long in message (more than 8192 octets)"),
        "{text}"
    );
    assert_eq!(spooled(&dir).len(), 1);
    let _ = stop.send(());
}
