//! The tokio driver: connect, run the [`Session`] over the socket, do the TLS handshake with a
//! certificate verifier that records what the server presents, and [`analyze`] it.
//!
//! The verifier never fails the handshake over the chain or the staple (it still checks the
//! handshake signatures): a probe wants to see everything a server shows, also when Exim would
//! refuse it. Exim's answer is then computed from what was recorded, with the same functions
//! `mailstaple-policy`'s verifier uses. Every step has a timeout, and the whole probe of one
//! address a deadline, so a silent host costs at most the deadline.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mailstaple_ocsp::Time;
use mailstaple_policy::{TrustStore, VerifyPolicy};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::report::{MAX_CHAIN, Observed, Presented, Report, Stage, analyze};
use crate::session::{Session, Step};
use crate::{Error, Failure, escape};

/// How to probe.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProbeConfig {
    /// The name sent with EHLO.
    pub helo: String,
    /// Implicit TLS (port 465): the handshake comes first, no STARTTLS.
    pub tls_on_connect: bool,
    /// The most any one step (connect, a reply, the handshake) may take. Default 10 s.
    pub step_timeout: Duration,
    /// The most the whole probe of one address may take. Default 30 s.
    pub deadline: Duration,
    /// How staples are verified (skew, maximum age, SHA-1). Default: Exim's 300 s skew.
    pub verify_policy: VerifyPolicy,
}

impl ProbeConfig {
    /// The defaults, greeting as `helo`.
    pub fn new(helo: impl Into<String>) -> ProbeConfig {
        ProbeConfig {
            helo: helo.into(),
            tls_on_connect: false,
            step_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(30),
            verify_policy: VerifyPolicy::default(),
        }
    }
}

/// What every probe shares: the configuration, the trust anchors and the webpki verifier.
pub struct Prober {
    config: ProbeConfig,
    anchors: TrustStore,
    webpki: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for Prober {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prober")
            .field("config", &self.config)
            .field("anchors", &self.anchors.len())
            .finish_non_exhaustive()
    }
}

impl Prober {
    /// A prober trusting `trust` (`tls_verify_certificates`), with aws-lc-rs for TLS.
    pub fn new(trust: TrustStore, config: ProbeConfig) -> Result<Prober, Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(trust.certs().iter().cloned());
        if added == 0 {
            return Err(Error::NoTrustAnchors { count: trust.len() });
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| Error::Tls(e.to_string()))?;
        Ok(Prober {
            config,
            anchors: trust,
            webpki,
            provider,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ProbeConfig {
        &self.config
    }

    /// Probes `address`, checking the certificate against `name` (a DNS name, or an address
    /// literal), judging everything at `now`. Never fails: problems are in the report.
    pub async fn probe(&self, address: SocketAddr, name: &str, now: UnixTime) -> Report {
        let started = Instant::now();
        let deadline = started + self.config.deadline;
        let result = self.run(address, name, now, deadline).await;
        Report {
            name: escape(name),
            address: Some(address),
            mx_preference: None,
            now: Time::from_unix(i64::try_from(now.as_secs()).unwrap_or(i64::MAX)),
            elapsed: started.elapsed(),
            result,
        }
    }

    async fn run(
        &self,
        address: SocketAddr,
        name: &str,
        now: UnixTime,
        deadline: Instant,
    ) -> Result<Observed, Failure> {
        let server_name = ServerName::try_from(name.to_owned())
            .unwrap_or_else(|_| ServerName::IpAddress(address.ip().into()));
        let recorder = Arc::new(Recorder {
            webpki: self.webpki.clone(),
            presented: Mutex::new(None),
        });
        let config = self.tls_config(recorder.clone(), now)?;
        let step = self.config.step_timeout;
        let tcp = within(deadline, step, TcpStream::connect(address))
            .await
            .map_err(|t| t.failure(Stage::Connect))?
            .map_err(|e| Failure {
                stage: Stage::Connect,
                message: escape(&e.to_string()),
            })?;
        let _ = tcp.set_nodelay(true);
        let mut session = Session::new(&self.config.helo, self.config.tls_on_connect);
        let mut tcp = tcp;
        if !self.config.tls_on_connect {
            match converse(&mut tcp, &mut session, deadline, step).await? {
                Ended::StartTls => {}
                Ended::Ready => {
                    return Err(Failure {
                        stage: Stage::StartTls,
                        message: "the dialogue ended without TLS".into(),
                    });
                }
            }
        }
        let connector = tokio_rustls::TlsConnector::from(config);
        let mut tls = within(deadline, step, connector.connect(server_name, tcp))
            .await
            .map_err(|t| t.failure(Stage::Handshake))?
            .map_err(|e| Failure {
                stage: Stage::Handshake,
                message: escape(&tls_error(&e)),
            })?;
        let (tls_version, cipher_suite) = {
            let (_, conn) = tls.get_ref();
            (
                conn.protocol_version()
                    .map(|v| v.as_str().unwrap_or("unknown").replace("TLSv1_", "TLSv1."))
                    .unwrap_or_default(),
                conn.negotiated_cipher_suite()
                    .map(|s| s.suite().as_str().unwrap_or("unknown").to_owned())
                    .unwrap_or_default(),
            )
        };
        let presented = recorder.take().ok_or_else(|| Failure {
            stage: Stage::Handshake,
            message: "the handshake completed without a certificate to verify".into(),
        })?;
        let mut after_tls = Ok(());
        if !self.config.tls_on_connect {
            after_tls = greet_again(&mut session, &mut tls, deadline, step).await;
        }
        if after_tls.is_ok() {
            after_tls = converse(&mut tls, &mut session, deadline, step)
                .await
                .and_then(|ended| match ended {
                    Ended::Ready => Ok(()),
                    Ended::StartTls => Err(Failure {
                        stage: Stage::SmtpTls,
                        message: "the server offered STARTTLS under TLS".into(),
                    }),
                });
        }
        let anchors: Vec<&[u8]> = self.anchors.certs().iter().map(|c| c.as_ref()).collect();
        let (certificate, staple, exim) =
            analyze(&presented, &anchors, now, &self.config.verify_policy);
        Ok(Observed {
            tls_version,
            cipher_suite,
            certificate,
            chain_length: presented.chain_length,
            chain: presented.chain.clone(),
            staple,
            exim,
            after_tls,
        })
    }

    fn tls_config(
        &self,
        recorder: Arc<Recorder>,
        now: UnixTime,
    ) -> Result<Arc<ClientConfig>, Failure> {
        let mut config =
            ClientConfig::builder_with_details(self.provider.clone(), Arc::new(FixedTime(now)))
                .with_safe_default_protocol_versions()
                .map_err(|e| Failure {
                    stage: Stage::Handshake,
                    message: format!("TLS client configuration refused: {e}"),
                })?
                .dangerous()
                .with_custom_certificate_verifier(recorder)
                .with_no_client_auth();
        config.resumption = Resumption::disabled();
        Ok(Arc::new(config))
    }
}

/// After STARTTLS: greet again, sending what the session asks for.
async fn greet_again<S: AsyncRead + AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    deadline: Instant,
    step: Duration,
) -> Result<(), Failure> {
    for s in session.tls_started() {
        match s {
            Step::Send(bytes) => send(stream, &bytes, deadline, step, Stage::SmtpTls).await?,
            Step::Failed(f) => return Err(f),
            _ => {}
        }
    }
    Ok(())
}

/// How a stretch of dialogue ended.
enum Ended {
    StartTls,
    Ready,
}

/// Runs the dialogue until the session asks for TLS, is ready, or fails.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    session: &mut Session,
    deadline: Instant,
    step: Duration,
) -> Result<Ended, Failure> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let stage = session.stage();
        let n = match within(deadline, step, stream.read(&mut buf)).await {
            Err(t) => return Err(t.failure(stage)),
            Ok(Ok(0)) => {
                return Err(session
                    .connection_lost("end of stream")
                    .unwrap_or_else(|| closed(stage)));
            }
            Ok(Err(e)) => {
                return Err(session
                    .connection_lost(&e.to_string())
                    .unwrap_or_else(|| closed(stage)));
            }
            Ok(Ok(n)) => n,
        };
        for s in session.receive(buf.get(..n).unwrap_or_default()) {
            match s {
                Step::Send(bytes) => send(stream, &bytes, deadline, step, stage).await?,
                Step::StartTls => return Ok(Ended::StartTls),
                Step::Ready => {
                    // Politely, but never waiting long for a server that does not listen.
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        let _ = stream.write_all(b"QUIT\r\n").await;
                        let _ = stream.shutdown().await;
                    })
                    .await;
                    return Ok(Ended::Ready);
                }
                Step::Failed(f) => return Err(f),
            }
        }
    }
}

fn closed(stage: Stage) -> Failure {
    Failure {
        stage,
        message: "connection closed".into(),
    }
}

async fn send<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    deadline: Instant,
    step: Duration,
    stage: Stage,
) -> Result<(), Failure> {
    within(deadline, step, stream.write_all(bytes))
        .await
        .map_err(|t| t.failure(stage))?
        .map_err(|e| Failure {
            stage,
            message: format!("send failed: {}", escape(&e.to_string())),
        })
}

/// Which limit ran out.
enum TimedOut {
    Step(Duration),
    Deadline,
}

impl TimedOut {
    fn failure(&self, stage: Stage) -> Failure {
        let message = match self {
            TimedOut::Step(d) => format!("no answer within {} s", d.as_secs_f64()),
            TimedOut::Deadline => "the probe's deadline passed".to_owned(),
        };
        Failure { stage, message }
    }
}

/// `fut`, bounded by the step timeout and the deadline, whichever comes first.
async fn within<F: std::future::Future>(
    deadline: Instant,
    step: Duration,
    fut: F,
) -> Result<F::Output, TimedOut> {
    let left = deadline.saturating_duration_since(Instant::now());
    let (limit, which) = if left < step {
        (left, TimedOut::Deadline)
    } else {
        (step, TimedOut::Step(step))
    };
    tokio::time::timeout(limit, fut).await.map_err(|_| which)
}

/// rustls' error text as `mailstaple send` logs it: verifier errors without rustls' wrapping.
fn tls_error(e: &std::io::Error) -> String {
    let text = strip_rustls_prefix(&e.to_string());
    if text.contains("HandshakePayloadTooLarge") {
        return format!(
            "the server sent a handshake message over 64 KiB, rustls' limit (a certificate chain \
             that long?): {text}"
        );
    }
    text
}

fn strip_rustls_prefix(s: &str) -> String {
    s.strip_prefix("invalid peer certificate: ")
        .unwrap_or(s)
        .to_owned()
}

#[derive(Debug)]
struct FixedTime(UnixTime);

impl rustls::time_provider::TimeProvider for FixedTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(self.0)
    }
}

/// The certificate verifier of a probe: records the chain, the staple and webpki's verdict on
/// the chain and name, and lets the handshake go on.
#[derive(Debug)]
struct Recorder {
    webpki: Arc<WebPkiServerVerifier>,
    presented: Mutex<Option<Presented>>,
}

impl Recorder {
    fn take(&self) -> Option<Presented> {
        self.presented
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, &[], now)
            .map(|_| ())
            .map_err(|e| escape(&strip_rustls_prefix(&e.to_string())));
        let presented = Presented {
            leaf: end_entity.to_vec(),
            intermediates: intermediates
                .iter()
                .take(MAX_CHAIN - 1)
                .map(|c| c.to_vec())
                .collect(),
            chain_length: intermediates.len().saturating_add(1),
            staple: ocsp_response.to_vec(),
            chain,
        };
        *self
            .presented
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(presented);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
