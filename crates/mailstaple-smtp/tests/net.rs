//! The tokio drivers over loopback: STARTTLS with rustls on both sides, durable spooling, and
//! outcomes.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::Duration;

use mailstaple_smtp::client::{Message, Outcome, TlsMode};
use mailstaple_smtp::net::{ClientTls, ServerOptions, deliver, serve};
use mailstaple_smtp::spool::Spool;
use mailstaple_testpki::{KeyAlg, NOW, Pki};
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

fn server_tls(pki: &Pki) -> Arc<rustls::ServerConfig> {
    let chain = vec![
        CertificateDer::from(pki.leaf.der.clone()),
        CertificateDer::from(pki.intermediate.der.clone()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.leaf.key.serialize_der()));
    let cfg = rustls::ServerConfig::builder_with_details(provider(), Arc::new(FixedTime))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert_with_ocsp(chain, key, pki.response().build())
        .unwrap();
    Arc::new(cfg)
}

fn client_tls(pki: &Pki) -> ClientTls {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki.root.der.clone()))
        .unwrap();
    let cfg = rustls::ClientConfig::builder_with_details(provider(), Arc::new(FixedTime))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    ClientTls::new(
        Arc::new(cfg),
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
    let options = ServerOptions::new("mx.test", spool, tls);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_delivery_is_spooled_before_250() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let (addr, dir, _stop) = start(Some(server_tls(pki))).await;
    let (outcome, info) = deliver(
        addr,
        "client.test",
        TlsMode::Required,
        Some(client_tls(pki)),
        message(),
        Duration::from_secs(10),
    )
    .await;
    assert!(
        matches!(outcome, Outcome::Delivered { tls: true, .. }),
        "{outcome:?}"
    );
    assert!(info.tls.unwrap().starts_with("TLS1.3:"));
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
async fn required_tls_defers_against_a_plain_server() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let (addr, dir, _stop) = start(None).await;
    let (outcome, _) = deliver(
        addr,
        "client.test",
        TlsMode::Required,
        Some(client_tls(pki)),
        message(),
        Duration::from_secs(10),
    )
    .await;
    assert!(
        matches!(&outcome, Outcome::Deferred { text, .. } if text.contains("TLS")),
        "{outcome:?}"
    );
    assert!(spooled(&dir).is_empty());
    let (outcome, _) = deliver(
        addr,
        "client.test",
        TlsMode::Opportunistic,
        Some(client_tls(pki)),
        message(),
        Duration::from_secs(10),
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
    let (addr, dir, _stop) = start(Some(server_tls(pki))).await;
    let (outcome, _) = deliver(
        addr,
        "client.test",
        TlsMode::Required,
        Some(client_tls(other)),
        message(),
        Duration::from_secs(10),
    )
    .await;
    assert!(
        matches!(&outcome, Outcome::Deferred { code: None, text } if text.starts_with("TLS session: (SSL_connect)")),
        "{outcome:?}"
    );
    assert!(spooled(&dir).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_defers() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (outcome, _) = deliver(
        addr,
        "c",
        TlsMode::Never,
        None,
        message(),
        Duration::from_secs(5),
    )
    .await;
    assert!(
        matches!(outcome, Outcome::Deferred { code: None, .. }),
        "{outcome:?}"
    );
}
