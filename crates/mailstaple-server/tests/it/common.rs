//! Shared test helpers: a settable clock, a fixture directory with atomic replacement, a log
//! capture, and an in-memory rustls client/server handshake that reports what was stapled.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use mailstaple_server::{Config, StapleProvider};
use mailstaple_testpki::{DAY, NOW, Pki};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, ServerConfig, ServerConnection,
    SignatureScheme,
};

/// A clock the test sets; starts at the test PKI's NOW.
#[derive(Clone)]
pub(crate) struct TestClock(pub(crate) Arc<AtomicU64>);

impl TestClock {
    pub(crate) fn at_now() -> TestClock {
        TestClock(Arc::new(AtomicU64::new(NOW)))
    }

    pub(crate) fn set(&self, secs: u64) {
        self.0.store(secs, Ordering::SeqCst);
    }

    pub(crate) fn clock(&self) -> impl Fn() -> UnixTime + Send + Sync + 'static {
        let secs = Arc::clone(&self.0);
        move || UnixTime::since_unix_epoch(Duration::from_secs(secs.load(Ordering::SeqCst)))
    }
}

/// A temporary directory for one test.
pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A string form of [`Fixture::path`] for configuration text.
    pub(crate) fn p(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }

    pub(crate) fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Writes a temporary file in the same directory and renames it over `name`.
    pub(crate) fn replace(&self, name: &str, bytes: impl AsRef<[u8]>) {
        let path = self.path(name);
        let tmp = path.with_extension("tmp-replace");
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }

    /// `{prefix}chain.pem` (leaf + intermediate), `{prefix}leaf.key`, `{prefix}issuer.pem`.
    pub(crate) fn leaf_files(&self, pki: &Pki, prefix: &str) {
        self.write(
            &format!("{prefix}chain.pem"),
            pki.leaf.pem() + &pki.intermediate.pem(),
        );
        self.write(&format!("{prefix}leaf.key"), pki.leaf.key_pem());
        self.write(&format!("{prefix}issuer.pem"), pki.intermediate.pem());
    }

    /// The same for `other_leaf` (`other.example.test`).
    pub(crate) fn other_leaf_files(&self, pki: &Pki, prefix: &str) {
        self.write(
            &format!("{prefix}chain.pem"),
            pki.other_leaf.pem() + &pki.intermediate.pem(),
        );
        self.write(&format!("{prefix}leaf.key"), pki.other_leaf.key_pem());
    }
}

/// Builds a provider at the clock's time.
pub(crate) fn provider(config: &str, clock: &TestClock, names: &[&str]) -> Arc<StapleProvider> {
    let config = Config::parse(config).unwrap_or_else(|e| panic!("{e}"));
    StapleProvider::builder(config, clock.clock())
        .sni_names(names.iter().copied())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A proof valid around NOW and around the real date the external clients use
/// (NOW−400 d .. NOW+3650 d), computed from NOW only; produced the day before NOW, while the
/// leaf is valid (a producedAt outside the certificate's validity is refused).
pub(crate) fn wide_proof(pki: &Pki) -> Vec<u8> {
    pki.response()
        .produced_at(NOW - DAY)
        .this_update(NOW - 400 * DAY)
        .next_update(Some(NOW + 3650 * DAY))
        .build()
}

// ---- log capture ----

struct Capture;

static RECORDS: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        if record.target().starts_with("mailstaple_server") {
            RECORDS
                .lock()
                .unwrap()
                .push((record.level(), record.args().to_string()));
        }
    }

    fn flush(&self) {}
}

/// Installs the capture (once per test binary).
pub(crate) fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        static LOGGER: Capture = Capture;
        log::set_logger(&LOGGER).unwrap();
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// The captured messages mentioning `needle` (tests use their fixture path).
pub(crate) fn logs_mentioning(needle: &str) -> Vec<(log::Level, String)> {
    RECORDS
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, m)| m.contains(needle))
        .cloned()
        .collect()
}

// ---- in-memory handshakes ----

/// What the client saw.
#[derive(Default, Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) end_entity: Vec<u8>,
    pub(crate) ocsp: Vec<u8>,
}

/// Accepts any certificate and records it and the staple; handshake signatures are checked
/// only when `check_signatures` (the race test and the bench skip that cost).
#[derive(Debug)]
pub(crate) struct Recorder {
    pub(crate) seen: Mutex<Seen>,
    schemes: Vec<SignatureScheme>,
    check_signatures: bool,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap() = Seen {
            end_entity: end_entity.to_vec(),
            ocsp: ocsp_response.to_vec(),
        };
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if !self.check_signatures {
            return Ok(HandshakeSignatureValid::assertion());
        }
        let algs = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if !self.check_signatures {
            return Ok(HandshakeSignatureValid::assertion());
        }
        let algs = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// TLS versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    Tls12,
    Tls13,
}

/// A client configuration offering only `schemes` (all when empty), without resumption.
pub(crate) fn client(
    version: Version,
    schemes: &[SignatureScheme],
    check_signatures: bool,
) -> (Arc<ClientConfig>, Arc<Recorder>) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let all = provider
        .signature_verification_algorithms
        .supported_schemes();
    let schemes = if schemes.is_empty() {
        all
    } else {
        schemes.to_vec()
    };
    let recorder = Arc::new(Recorder {
        seen: Mutex::new(Seen::default()),
        schemes,
        check_signatures,
    });
    let versions: &[&rustls::SupportedProtocolVersion] = match version {
        Version::Tls12 => &[&rustls::version::TLS12],
        Version::Tls13 => &[&rustls::version::TLS13],
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    (Arc::new(config), recorder)
}

/// A server configuration using `resolver`.
pub(crate) fn server(resolver: Arc<dyn rustls::server::ResolvesServerCert>) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(resolver),
    )
}

/// Runs one handshake in memory. `sni` `None` sends no server name.
pub(crate) fn handshake(
    server: &Arc<ServerConfig>,
    client: &(Arc<ClientConfig>, Arc<Recorder>),
    sni: Option<&str>,
) -> Result<Seen, rustls::Error> {
    let name = match sni {
        Some(n) => ServerName::try_from(n.to_owned()).unwrap(),
        None => ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
    };
    let mut c = ClientConnection::new(Arc::clone(&client.0), name)?;
    let mut s = ServerConnection::new(Arc::clone(server))?;
    let mut buf = Vec::new();
    for _ in 0..20 {
        buf.clear();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            s.read_tls(&mut rd).unwrap();
        }
        s.process_new_packets()?;
        buf.clear();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            c.read_tls(&mut rd).unwrap();
        }
        c.process_new_packets()?;
        if !c.is_handshaking() && !s.is_handshaking() {
            return Ok(std::mem::take(&mut *client.1.seen.lock().unwrap()));
        }
    }
    panic!("handshake did not finish");
}

/// The set of byte strings, for membership checks.
pub(crate) fn set(items: &[Vec<u8>]) -> HashSet<Vec<u8>> {
    items.iter().cloned().collect()
}
