//! The tokio drivers: they move bytes between sockets and the sans-IO [`crate::session`] and
//! [`crate::client`] state machines, run the TLS handshakes, apply timeouts, store messages and
//! write Exim-style log lines. This is the only module that does network I/O.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::client::{Action, Client, Message, Outcome, TlsMode};
use crate::session::{Event, Limits, Session, SessionConfig};
use crate::spool::Spool;

/// A byte stream, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Describes the TLS parameters of a session in Exim's `X=` form, e.g. `TLS1.3:TLS13_AES_256_GCM_SHA384:256`.
fn tls_description(conn: &rustls::CommonState) -> String {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS1.2",
        _ => "TLS",
    };
    let suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    let bits = if suite.contains("256") || suite.contains("CHACHA20") {
        256
    } else {
        128
    };
    format!("{version}:{suite}:{bits}")
}

/// Called after a server-side TLS handshake with its connection; returns text to add to the
/// reception log line (for example what the staple provider did on that connection).
pub type TlsReporter = Box<dyn FnOnce(&rustls::ServerConnection) -> String + Send>;

/// Where the server's TLS configuration comes from: one per connection, so that a staple
/// provider can record what it did on each (Exim's `$tls_in_ocsp`).
pub trait ServerTls: Send + Sync {
    /// The configuration for one new connection, and its reporter.
    fn for_connection(&self) -> (Arc<rustls::ServerConfig>, Option<TlsReporter>);
}

impl ServerTls for Arc<rustls::ServerConfig> {
    fn for_connection(&self) -> (Arc<rustls::ServerConfig>, Option<TlsReporter>) {
        (Arc::clone(self), None)
    }
}

/// Exim's default `smtp_receive_timeout`: how long to wait for each command or data chunk.
pub const DEFAULT_RECEIVE_TIMEOUT: Duration = Duration::from_secs(300);
/// mailstaple's default `smtp_accept_max` (Exim's is 20): connections served at once.
pub const DEFAULT_ACCEPT_MAX: usize = 100;
/// mailstaple's default `smtp_accept_max_per_host` (Exim's is unlimited): connections served at
/// once from one client address, so that one host cannot take every slot.
pub const DEFAULT_ACCEPT_MAX_PER_HOST: usize = 20;

/// Server options.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Our host name.
    pub hostname: String,
    /// Session limits.
    pub limits: Limits,
    /// Where messages go.
    pub spool: Arc<Spool>,
    /// The TLS configuration for STARTTLS (with the staple provider as its certificate
    /// resolver); `None` disables STARTTLS.
    pub tls: Option<Arc<dyn ServerTls>>,
    /// Exim's `smtp_receive_timeout`: how long to wait for each command or data chunk
    /// ([`DEFAULT_RECEIVE_TIMEOUT`]); on expiry the client gets a 421 and is disconnected.
    pub read_timeout: Duration,
    /// Exim's `smtp_accept_max`: most connections served at once ([`DEFAULT_ACCEPT_MAX`]; 0
    /// for no limit). One more is answered `421` at once and closed.
    pub max_connections: usize,
    /// Exim's `smtp_accept_max_per_host`: most connections served at once from one client
    /// address ([`DEFAULT_ACCEPT_MAX_PER_HOST`]; 0 for no limit). One more from that address is
    /// answered `421` at once and closed, while other addresses are still served.
    pub max_connections_per_host: usize,
    /// Counters of what the server did, for metrics.
    pub stats: Arc<ServerStats>,
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("hostname", &self.hostname)
            .field("tls", &self.tls.is_some())
            .field("read_timeout", &self.read_timeout)
            .field("max_connections", &self.max_connections)
            .field("max_connections_per_host", &self.max_connections_per_host)
            .finish_non_exhaustive()
    }
}

impl ServerOptions {
    /// Options with the documented defaults ([`DEFAULT_RECEIVE_TIMEOUT`],
    /// [`DEFAULT_ACCEPT_MAX`], [`DEFAULT_ACCEPT_MAX_PER_HOST`], [`Limits::default`]).
    pub fn new(
        hostname: impl Into<String>,
        spool: Arc<Spool>,
        tls: Option<Arc<dyn ServerTls>>,
    ) -> Self {
        ServerOptions {
            hostname: hostname.into(),
            limits: Limits::default(),
            spool,
            tls,
            read_timeout: DEFAULT_RECEIVE_TIMEOUT,
            max_connections: DEFAULT_ACCEPT_MAX,
            max_connections_per_host: DEFAULT_ACCEPT_MAX_PER_HOST,
            stats: Arc::new(ServerStats::default()),
        }
    }
}

/// Counters of a running server, read at any time (for example by a metrics endpoint).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ServerStats {
    /// SMTP sessions served (greeted).
    pub sessions: AtomicU64,
    /// Sessions open now.
    pub sessions_open: AtomicU64,
    /// Connections refused because `smtp_accept_max` connections were open.
    pub refused_accept_max: AtomicU64,
    /// Connections refused because `smtp_accept_max_per_host` connections from the address were
    /// open.
    pub refused_accept_max_per_host: AtomicU64,
    /// Sessions closed by `smtp_receive_timeout`.
    pub receive_timeouts: AtomicU64,
    /// Messages stored and acknowledged with 250.
    pub messages_accepted: AtomicU64,
    /// Messages answered 451 because they could not be stored.
    pub messages_deferred: AtomicU64,
    /// TLS handshakes completed after STARTTLS.
    pub tls_handshakes: AtomicU64,
    /// TLS handshakes that failed.
    pub tls_failures: AtomicU64,
}

impl ServerStats {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why a connection is refused before its greeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    AcceptMax,
    AcceptMaxPerHost,
}

/// Open connections, in total and per client address.
#[derive(Debug, Default)]
struct Slots {
    total: usize,
    per_host: HashMap<IpAddr, usize>,
}

/// One connection's place in [`Slots`], given back when dropped.
struct Slot {
    slots: Arc<Mutex<Slots>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut s = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        s.total = s.total.saturating_sub(1);
        if let Some(n) = s.per_host.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                s.per_host.remove(&self.ip);
            }
        }
    }
}

/// Takes a slot for a connection from `ip`, or says which limit refuses it (0 = no limit).
fn take_slot(
    slots: &Arc<Mutex<Slots>>,
    ip: IpAddr,
    max: usize,
    max_per_host: usize,
) -> Result<Slot, Refusal> {
    let mut s = slots.lock().unwrap_or_else(PoisonError::into_inner);
    if max > 0 && s.total >= max {
        return Err(Refusal::AcceptMax);
    }
    let from_host = s.per_host.get(&ip).copied().unwrap_or(0);
    if max_per_host > 0 && from_host >= max_per_host {
        return Err(Refusal::AcceptMaxPerHost);
    }
    s.total += 1;
    s.per_host.insert(ip, from_host + 1);
    Ok(Slot {
        slots: Arc::clone(slots),
        ip,
    })
}

/// Serves SMTP on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    options: ServerOptions,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let options = Arc::new(options);
    let slots = Arc::new(Mutex::new(Slots::default()));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let options = options.clone();
        match take_slot(
            &slots,
            peer.ip(),
            options.max_connections,
            options.max_connections_per_host,
        ) {
            Ok(slot) => {
                tokio::spawn(async move {
                    ServerStats::add(&options.stats.sessions);
                    options.stats.sessions_open.fetch_add(1, Ordering::Relaxed);
                    handle(stream, peer, &options).await;
                    options.stats.sessions_open.fetch_sub(1, Ordering::Relaxed);
                    drop(slot);
                });
            }
            Err(refusal) => {
                // Exim's texts; the reply goes out at once and the connection is closed.
                let (text, counter, why) = match refusal {
                    Refusal::AcceptMax => (
                        "421 4.3.2 Too many concurrent SMTP connections; please try again later\r\n",
                        &options.stats.refused_accept_max,
                        format!("smtp_accept_max ({}) reached", options.max_connections),
                    ),
                    Refusal::AcceptMaxPerHost => (
                        "421 4.3.2 Too many concurrent SMTP connections from this IP address; \
                         please try again later\r\n",
                        &options.stats.refused_accept_max_per_host,
                        format!(
                            "smtp_accept_max_per_host ({}) reached for this address",
                            options.max_connections_per_host
                        ),
                    ),
                };
                ServerStats::add(counter);
                log::warn!("SMTP connection from [{}] refused: {why}", peer.ip());
                tokio::spawn(async move {
                    let mut stream = stream;
                    let _ = tokio::time::timeout(Duration::from_secs(5), async {
                        let _ = stream.write_all(text.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    })
                    .await;
                });
            }
        }
    }
}

async fn handle(tcp: TcpStream, peer: SocketAddr, options: &ServerOptions) {
    let mut config = SessionConfig::new(options.hostname.clone(), options.tls.is_some());
    config.limits = options.limits.clone();
    let mut session = Session::new(config);
    let mut stream: Box<dyn Stream> = Box::new(tcp);
    let mut tls_info = String::new();
    let mut ocsp_info = String::new();
    if stream
        .write_all(session.greeting().to_wire().as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let mut buf = vec![0u8; 16 * 1024];
    // Set after a message is stored: commands the client sent meanwhile wait in the session.
    let mut drain = false;
    'conn: loop {
        let events = if !std::mem::take(&mut drain) {
            let n = match tokio::time::timeout(options.read_timeout, stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => n,
                Err(_) => {
                    ServerStats::add(&options.stats.receive_timeouts);
                    let _ = stream
                        .write_all(b"421 4.4.2 Timeout, closing connection\r\n")
                        .await;
                    log::info!("SMTP command timeout on connection from [{}]", peer.ip());
                    break;
                }
            };
            session.receive(buf.get(..n).unwrap_or_default())
        } else {
            session.receive(&[])
        };
        for event in events {
            match event {
                Event::Reply(r) => {
                    if stream.write_all(r.to_wire().as_bytes()).await.is_err() {
                        break 'conn;
                    }
                }
                Event::Close(r) => {
                    let _ = stream.write_all(r.to_wire().as_bytes()).await;
                    break 'conn;
                }
                Event::StartTls(r) => {
                    let Some(source) = options.tls.as_ref() else {
                        break 'conn;
                    };
                    let (tls, reporter) = source.for_connection();
                    if stream.write_all(r.to_wire().as_bytes()).await.is_err() {
                        break 'conn;
                    }
                    // The stream is the plain TCP stream here: STARTTLS is refused under TLS.
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                    let tcp = stream;
                    match tokio::time::timeout(options.read_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(tls_stream)) => {
                            let (_, conn) = tls_stream.get_ref();
                            tls_info = tls_description(conn);
                            if let Some(report) = reporter {
                                ocsp_info = report(conn);
                            }
                            stream = Box::new(tls_stream);
                            session.tls_started();
                            ServerStats::add(&options.stats.tls_handshakes);
                        }
                        Ok(Err(e)) => {
                            ServerStats::add(&options.stats.tls_failures);
                            log::info!(
                                "TLS error on connection from [{}] (SSL_accept): {e}",
                                peer.ip()
                            );
                            return;
                        }
                        Err(_) => {
                            log::info!("TLS handshake timeout on connection from [{}]", peer.ip());
                            return;
                        }
                    }
                }
                Event::Store(envelope) => {
                    let now = SystemTime::now()
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    let with = if tls_info.is_empty() {
                        "ESMTP".to_string()
                    } else {
                        format!("ESMTPS ({tls_info})")
                    };
                    let received = format!(
                        "from {} ([{}]) by {} with {with}",
                        envelope.helo,
                        peer.ip(),
                        options.hostname
                    );
                    let spool = options.spool.clone();
                    let env2 = envelope.clone();
                    let stored =
                        tokio::task::spawn_blocking(move || spool.store(&env2, now, &received))
                            .await
                            .map_err(|e| e.to_string())
                            .and_then(|r| r.map_err(|e| e.to_string()));
                    if let Ok(id) = &stored {
                        let x = if tls_info.is_empty() {
                            String::new()
                        } else {
                            format!(" X={tls_info}")
                        };
                        let o = if ocsp_info.is_empty() {
                            String::new()
                        } else {
                            format!(" {ocsp_info}")
                        };
                        log::info!(
                            "<= {} H=({}) [{}] P={}{x}{o} S={} id={id}",
                            if envelope.mail_from.is_empty() {
                                "<>"
                            } else {
                                &envelope.mail_from
                            },
                            envelope.helo,
                            peer.ip(),
                            if tls_info.is_empty() {
                                "esmtp"
                            } else {
                                "esmtps"
                            },
                            envelope.data.len(),
                        );
                    }
                    ServerStats::add(if stored.is_ok() {
                        &options.stats.messages_accepted
                    } else {
                        &options.stats.messages_deferred
                    });
                    let reply = session.stored(stored);
                    if stream.write_all(reply.to_wire().as_bytes()).await.is_err() {
                        break 'conn;
                    }
                    drain = true;
                }
            }
        }
        if session.is_done() {
            break;
        }
    }
    let _ = stream.shutdown().await;
}

/// Client TLS parameters for one delivery: the OCSP policy's per-connection configuration (its
/// verifier checks the chain, the name and the staple) and the name to check.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientTls {
    /// The policy's connection: its rustls configuration, and after the handshake its verdict.
    pub connection: Arc<mailstaple_policy::tls::PolicyConnection>,
    /// The name the certificate must match.
    pub server_name: ServerName<'static>,
}

impl ClientTls {
    /// TLS parameters.
    pub fn new(
        connection: mailstaple_policy::tls::PolicyConnection,
        server_name: ServerName<'static>,
    ) -> Self {
        ClientTls {
            connection: Arc::new(connection),
            server_name,
        }
    }
}

/// What a delivery reports besides its outcome.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DeliveryInfo {
    /// Exim's `X=` field when TLS was used.
    pub tls: Option<String>,
    /// Exim's `$tls_out_ocsp` (0, 1, 3, 4) when TLS was attempted.
    pub ocsp: Option<u8>,
    /// Whether the certificate was verified (`CV=yes`).
    pub cert_verified: bool,
    /// Whether the failure was a TLS failure (Exim's errno -37).
    pub tls_failure: bool,
}

/// Delivers `message` to `addr` over SMTP, with STARTTLS per `mode` and `tls`.
pub async fn deliver(
    addr: SocketAddr,
    helo: &str,
    mode: TlsMode,
    tls: Option<ClientTls>,
    message: Message,
    timeout: Duration,
) -> (Outcome, DeliveryInfo) {
    let mut info = DeliveryInfo::default();
    let mode = if tls.is_none() && mode == TlsMode::Opportunistic {
        TlsMode::Never
    } else {
        mode
    };
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return (
                Outcome::Deferred {
                    code: None,
                    text: format!("Connection refused: {e}"),
                },
                info,
            );
        }
        Err(_) => {
            return (
                Outcome::Deferred {
                    code: None,
                    text: "Connection timed out".into(),
                },
                info,
            );
        }
    };
    let mut client = Client::new(helo, mode, message);
    let mut stream: Box<dyn Stream> = Box::new(tcp);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match tokio::time::timeout(timeout, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                let o = client.connection_lost().unwrap_or(Outcome::Deferred {
                    code: None,
                    text: "connection lost".into(),
                });
                return (o, info);
            }
            Ok(Ok(n)) => n,
            Err(_) => {
                return (
                    Outcome::Deferred {
                        code: None,
                        text: "SMTP timeout".into(),
                    },
                    info,
                );
            }
        };
        let mut queue = client.receive(buf.get(..n).unwrap_or_default());
        while !queue.is_empty() {
            let action = queue.remove(0);
            match action {
                Action::Send(bytes) => {
                    if let Err(e) = stream.write_all(&bytes).await {
                        return (
                            Outcome::Deferred {
                                code: None,
                                text: format!("send failed: {e}"),
                            },
                            info,
                        );
                    }
                }
                Action::Done(outcome) => {
                    let _ = stream.write_all(b"QUIT\r\n").await;
                    let _ = stream.shutdown().await;
                    return (outcome, info);
                }
                Action::StartTls => {
                    let Some(tls) = tls.clone() else {
                        return (client.tls_failed("no TLS configuration"), info);
                    };
                    let connector = tokio_rustls::TlsConnector::from(tls.connection.config());
                    let handshake =
                        tokio::time::timeout(timeout, connector.connect(tls.server_name, stream))
                            .await;
                    let (result, tls_stream) = match handshake {
                        Ok(Ok(s)) => (Ok(()), Some(s)),
                        Ok(Err(e)) => (Err(strip_rustls_prefix(&e.to_string())), None),
                        Err(_) => (Err("(SSL_connect) timed out".to_string()), None),
                    };
                    // The policy turns the handshake and the staple into go-on or defer: the
                    // one place OCSP decides the delivery.
                    let verdict = tls.connection.conclude(
                        result
                            .as_ref()
                            .map(|_| ())
                            .map_err(|e| e as &dyn std::fmt::Display),
                    );
                    info.ocsp = Some(verdict.tls_out_ocsp().value());
                    match (verdict, tls_stream) {
                        (mailstaple_policy::Delivery::Proceed { .. }, Some(tls_stream)) => {
                            info.tls = Some(tls_description(tls_stream.get_ref().1));
                            info.cert_verified = true;
                            stream = Box::new(tls_stream);
                            queue.extend(client.tls_started());
                        }
                        (mailstaple_policy::Delivery::Defer { message, .. }, _) => {
                            info.tls_failure = true;
                            let text = message
                                .strip_prefix("TLS session: ")
                                .unwrap_or(&message)
                                .to_string();
                            return (client.tls_failed(text), info);
                        }
                        (_, None) => {
                            info.tls_failure = true;
                            return (client.tls_failed(result.err().unwrap_or_default()), info);
                        }
                        _ => {
                            info.tls_failure = true;
                            return (client.tls_failed("unexpected TLS state"), info);
                        }
                    }
                }
            }
        }
    }
}

/// The Exim-style main-log line for one recipient of a delivery: `=>` delivered, `==` deferred,
/// `**` failed, e.g. `=> b@y.test H=mx.test [127.0.0.1] X=TLS1.3:...:256 CV=yes OCSP=4 C="250 OK"`
/// or `== b@y.test H=mx.test [127.0.0.1] defer (-37): TLS session: (SSL_connect) Required TLS
/// certificate status not received`.
pub fn log_line(
    rcpt: &str,
    host: &str,
    addr: SocketAddr,
    outcome: &Outcome,
    info: &DeliveryInfo,
) -> String {
    let h = format!("H={host} [{}]", addr.ip());
    let ocsp = info.ocsp.map(|o| format!(" OCSP={o}")).unwrap_or_default();
    match outcome {
        Outcome::Delivered { reply, .. } => {
            let x = info
                .tls
                .as_ref()
                .map(|t| {
                    format!(
                        " X={t} CV={}",
                        if info.cert_verified { "yes" } else { "no" }
                    )
                })
                .unwrap_or_default();
            format!("=> {rcpt} {h}{x}{ocsp} C=\"{reply}\"")
        }
        Outcome::Deferred { text, .. } if info.tls_failure => {
            format!("== {rcpt} {h} defer (-37): {text}")
        }
        Outcome::Deferred { text, .. } => format!("== {rcpt} {h}: {text}"),
        Outcome::Failed { text, .. } => format!("** {rcpt} {h}: {text}"),
    }
}

/// rustls wraps verifier errors as "invalid peer certificate: Other(...)" / "...: General(...)";
/// keep the verifier's own words, which carry Exim's texts.
fn strip_rustls_prefix(s: &str) -> String {
    for prefix in [
        "invalid peer certificate: Other(OtherError(",
        "invalid peer certificate: ",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return rest.trim_end_matches("))").to_string();
        }
    }
    s.to_string()
}
