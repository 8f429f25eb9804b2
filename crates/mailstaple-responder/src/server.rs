//! The thin I/O layer: HTTP/1.1 over tokio and hyper, index reloading, signals.
//!
//! Robustness, each bounded by a [`ServerConfig`] field:
//! - at most `max_connections` connections at once; past that, new connections wait in the
//!   kernel's backlog until one closes (nobody is refused while a slot can free up);
//! - the request head (and, on a kept-alive connection, the wait for the next one) must arrive
//!   within `header_timeout`, the body within `body_timeout`, and every write must make progress
//!   within `write_timeout`, so slow clients (slowloris, slow readers) lose their slot;
//! - heads over 8 KiB get `431` and bodies over `max_request_size` get `413`, without reading
//!   them;
//! - a failure on one connection (garbage, a reset, a timeout) ends that connection only; an
//!   accept error (such as running out of file descriptors) is logged and retried after a pause.
//!
//! [`ServerHandle::shutdown`] (or SIGTERM / SIGINT through [`forward_signals`]) stops accepting,
//! lets requests in progress finish and closes idle connections, waiting at most
//! `shutdown_grace`. The index file is polled every `reload_interval` and reloaded once a change
//! has settled (the same size, mtime and inode on two polls in a row, so a file being written in
//! place is not read half-way); [`ServerHandle::reload`] (or SIGHUP) reloads at once. A file that
//! no longer parses is reported and the previous index kept. Connections are never dropped by a
//! reload.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HeaderName, HeaderValue, IF_NONE_MATCH};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use mailstaple_ocsp::Time;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::http::{self, HttpAnswer};
use crate::{Error, Index, Responders};

/// The largest request head (request line and headers) read.
const MAX_HEAD: usize = 8 * 1024;

/// Where the responder gets the time from.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Time;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Time {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Time::from_unix(i64::try_from(secs).unwrap_or(i64::MAX))
    }
}

/// A clock that reads `start` when made and then advances with the monotonic clock (for tests
/// and demonstrations that must run at a fixed date).
#[derive(Clone, Copy, Debug)]
pub struct ShiftedClock {
    start: Time,
    origin: Instant,
}

impl ShiftedClock {
    /// A clock that reads `start` now.
    pub fn starting_at(start: Time) -> ShiftedClock {
        ShiftedClock {
            start,
            origin: Instant::now(),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Time {
        let elapsed = i64::try_from(self.origin.elapsed().as_secs()).unwrap_or(i64::MAX);
        Time::from_unix(self.start.unix().saturating_add(elapsed))
    }
}

/// Limits and timeouts of the HTTP layer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Connections served at once. Default 512.
    pub max_connections: usize,
    /// Time allowed for a request head, including the wait for the next request on a kept-alive
    /// connection. Default 10 s.
    pub header_timeout: Duration,
    /// Time allowed for a request body. Default 10 s.
    pub body_timeout: Duration,
    /// Time a write may stall. Default 10 s.
    pub write_timeout: Duration,
    /// The largest request body accepted, in bytes. Default 16 KiB.
    pub max_request_size: usize,
    /// How long shutdown waits for requests in progress. Default 5 s.
    pub shutdown_grace: Duration,
    /// How often the index file is checked for changes. Default 1 s.
    pub reload_interval: Duration,
    /// Sign ahead in the background: answers for every serial of every CA's index, for the
    /// current window and, from its middle, the next one (see [`crate::Responder::presign`]). Default on.
    pub presign: bool,
    /// Told about every answered request (metrics). Default none.
    pub observer: Option<RequestObserver>,
}

/// Told about every answered request: its HTTP status, the body sent (an OCSP response when
/// the status is 200) and how long the answer took. It runs on the request's task: keep it
/// short.
#[derive(Clone)]
pub struct RequestObserver(Arc<ObserverFn>);

/// The function inside a [`RequestObserver`].
type ObserverFn = dyn Fn(u16, &[u8], Duration) + Send + Sync;

impl RequestObserver {
    /// An observer calling `f(status, body, duration)`.
    pub fn new(f: impl Fn(u16, &[u8], Duration) + Send + Sync + 'static) -> Self {
        RequestObserver(Arc::new(f))
    }
}

impl std::fmt::Debug for RequestObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestObserver")
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            max_request_size: 16 * 1024,
            shutdown_grace: Duration::from_secs(5),
            reload_interval: Duration::from_secs(1),
            presign: true,
            observer: None,
        }
    }
}

/// Counters, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections accepted.
    pub connections: u64,
    /// Connections open now.
    pub open_connections: u64,
    /// Requests answered (any status).
    pub requests: u64,
    /// Successful index reloads.
    pub reloads: u64,
    /// Index reloads refused because the file did not read or parse.
    pub reload_failures: u64,
    /// Answers signed ahead, in total.
    pub presigned: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    open: AtomicU64,
    requests: AtomicU64,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
    presigned: AtomicU64,
}

struct Control {
    shutdown: watch::Sender<bool>,
    /// Bumped to ask every index watcher to reload now.
    reload: watch::Sender<u64>,
    counters: Counters,
}

/// Controls a running [`Server`] from elsewhere (a signal handler, a test).
#[derive(Clone)]
pub struct ServerHandle(Arc<Control>);

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ServerHandle").field(&self.stats()).finish()
    }
}

impl ServerHandle {
    /// Starts a graceful shutdown: [`Server::serve`] returns once connections have finished or
    /// the grace period is over.
    pub fn shutdown(&self) {
        self.0.shutdown.send_replace(true);
    }

    /// Reloads the index files now.
    pub fn reload(&self) {
        self.0.reload.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        let c = &self.0.counters;
        Stats {
            connections: c.connections.load(Ordering::Relaxed),
            open_connections: c.open.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
            reloads: c.reloads.load(Ordering::Relaxed),
            reload_failures: c.reload_failures.load(Ordering::Relaxed),
            presigned: c.presigned.load(Ordering::Relaxed),
        }
    }
}

/// Everything a connection task needs.
struct Shared {
    responder: Arc<Responders>,
    clock: Arc<dyn Clock>,
    config: ServerConfig,
    control: Arc<Control>,
}

/// An OCSP responder server: one or several CAs ([`Responders`]) behind HTTP/1.1.
pub struct Server {
    shared: Arc<Shared>,
    /// (CA position in the set, index file).
    index_paths: Vec<(usize, PathBuf)>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.shared.config)
            .field("indexes", &self.index_paths)
            .finish()
    }
}

impl Server {
    /// A server for `responders` (one [`crate::Responder`], in an `Arc` or not, or a
    /// [`Responders`] set), reading the time from `clock`.
    pub fn new(
        responders: impl Into<Responders>,
        config: ServerConfig,
        clock: Arc<dyn Clock>,
    ) -> Server {
        let (shutdown, _) = watch::channel(false);
        let (reload, _) = watch::channel(0);
        let control = Arc::new(Control {
            shutdown,
            reload,
            counters: Counters::default(),
        });
        Server {
            shared: Arc::new(Shared {
                responder: Arc::new(responders.into()),
                clock,
                config,
                control,
            }),
            index_paths: Vec::new(),
        }
    }

    /// Watches `path`, the file the (first) CA's index was loaded from, and reloads it when it
    /// changes or when asked.
    pub fn watch_index(self, path: PathBuf) -> Server {
        self.watch_ca_index(0, path)
    }

    /// Watches `path`, the index file of the CA at position `ca` in the set, and reloads that
    /// CA's index alone when it changes or when asked. A position outside the set is ignored.
    pub fn watch_ca_index(mut self, ca: usize, path: PathBuf) -> Server {
        if ca < self.shared.responder.cas().len() {
            self.index_paths.push((ca, path));
        }
        self
    }

    /// A handle to shut the server down or reload its index.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle(Arc::clone(&self.shared.control))
    }

    /// Serves connections from `listener` until shut down. Never returns early because of a
    /// client; returns `Ok` after a graceful shutdown.
    pub async fn serve(self, listener: TcpListener) -> io::Result<()> {
        let shared = self.shared;
        let mut stop = shared.control.shutdown.subscribe();
        let watchers: Vec<_> = self
            .index_paths
            .into_iter()
            .map(|(ca, path)| {
                tokio::spawn(watch_index(
                    Arc::clone(&shared),
                    ca,
                    path,
                    shared.control.shutdown.subscribe(),
                ))
            })
            .collect();
        let presigner = shared.config.presign.then(|| {
            tokio::spawn(presign_ahead(
                Arc::clone(&shared),
                shared.control.shutdown.subscribe(),
            ))
        });
        let max = shared
            .config
            .max_connections
            .clamp(1, Semaphore::MAX_PERMITS);
        let slots = Arc::new(Semaphore::new(max));
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(shared.config.header_timeout)
            .max_buf_size(4 * MAX_HEAD)
            .max_header_size(MAX_HEAD)
            .keep_alive(true);
        let builder = Arc::new(builder);
        loop {
            let permit = tokio::select! {
                p = Arc::clone(&slots).acquire_owned() => p,
                () = stopped(&mut stop) => break,
            };
            let Ok(permit) = permit else { break };
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = stopped(&mut stop) => break,
            };
            let stream = match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // EMFILE, ENFILE, ECONNABORTED...: never fatal.
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            shared
                .control
                .counters
                .connections
                .fetch_add(1, Ordering::Relaxed);
            let shared = Arc::clone(&shared);
            let builder = Arc::clone(&builder);
            let stop = shared.control.shutdown.subscribe();
            tokio::spawn(async move {
                shared.control.counters.open.fetch_add(1, Ordering::Relaxed);
                connection(stream, &builder, &shared, stop).await;
                shared.control.counters.open.fetch_sub(1, Ordering::Relaxed);
                drop(permit);
            });
        }
        drop(listener);
        let max = u32::try_from(max).unwrap_or(u32::MAX);
        if tokio::time::timeout(shared.config.shutdown_grace, slots.acquire_many(max))
            .await
            .is_err()
        {
            log::warn!("shutdown: connections still open after the grace period are dropped");
        }
        for w in watchers {
            w.abort();
        }
        if let Some(p) = presigner {
            p.abort();
        }
        Ok(())
    }
}

impl Server {
    /// Runs the server on its own multi-threaded tokio runtime until SIGTERM or SIGINT: binds
    /// `addr`, calls `ready` with the bound address (port 0 picks a free one), turns SIGHUP into
    /// index reloads, and returns after a graceful shutdown. For programs without a runtime of
    /// their own, such as the `mailstaple respond` command.
    #[cfg(unix)]
    pub fn run_blocking(
        self,
        addr: std::net::SocketAddr,
        ready: impl FnOnce(std::net::SocketAddr),
    ) -> io::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let signals = Signals::install()?;
            let listener = TcpListener::bind(addr).await?;
            ready(listener.local_addr()?);
            let signals = tokio::spawn(signals.forward(self.handle()));
            let served = self.serve(listener).await;
            signals.abort();
            served
        })
    }
}

/// Resolves once shutdown has been asked for (or the sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|&v| v).await;
}

async fn connection(
    stream: TcpStream,
    builder: &hyper::server::conn::http1::Builder,
    shared: &Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(WriteTimeout::new(stream, shared.config.write_timeout));
    let service_shared = Arc::clone(shared);
    let service = hyper::service::service_fn(move |req| {
        let shared = Arc::clone(&service_shared);
        async move { Ok::<_, Infallible>(handle(req, &shared).await) }
    });
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    log::debug!("connection ended: {e}");
                }
                return;
            }
            () = stopped(&mut stop), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

async fn handle(req: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let started = std::time::Instant::now();
    shared
        .control
        .counters
        .requests
        .fetch_add(1, Ordering::Relaxed);
    let answer = match *req.method() {
        Method::GET => {
            let tags = req
                .headers()
                .get(IF_NONE_MATCH)
                .map(|v| v.as_bytes().to_vec());
            http::get(
                shared.responder.as_ref(),
                req.uri().path(),
                tags.as_deref(),
                shared.clock.now(),
            )
        }
        Method::POST => post(req, shared).await,
        _ => http::method_not_allowed(),
    };
    if let Some(observer) = &shared.config.observer {
        (observer.0)(answer.status, &answer.body, started.elapsed());
    }
    to_response(answer)
}

async fn post(req: Request<Incoming>, shared: &Shared) -> HttpAnswer {
    let limit = shared.config.max_request_size;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return HttpAnswer::error(413, "request too large");
    }
    let body = Limited::new(req.into_body(), limit);
    match tokio::time::timeout(shared.config.body_timeout, body.collect()).await {
        Err(_) => HttpAnswer::error(408, "request body too slow"),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            HttpAnswer::error(413, "request too large")
        }
        Ok(Err(_)) => HttpAnswer::error(400, "unreadable request body"),
        Ok(Ok(collected)) => http::post(
            shared.responder.as_ref(),
            &collected.to_bytes(),
            shared.clock.now(),
        ),
    }
}

fn to_response(answer: HttpAnswer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(answer.body));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::try_from(value) {
            response
                .headers_mut()
                .append(HeaderName::from_static(name), value);
        }
    }
    response
}

/// A stream whose writes fail with `TimedOut` when they make no progress for a while.
struct WriteTimeout<S> {
    inner: S,
    timeout: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> WriteTimeout<S> {
    fn new(inner: S, timeout: Duration) -> Self {
        WriteTimeout {
            inner,
            timeout,
            timer: None,
        }
    }

    /// Arms the timer on `Pending`, disarms it on progress, fails once it fires.
    fn check<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(r) => {
                self.timer = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let timer = self
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        self.timer = None;
                        Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "write stalled",
                        )))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.check(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.check(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.check(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.check(cx, poll)
    }
}

/// What identifies a version of the index file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fingerprint {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Fingerprint {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode,
    })
}

/// Reads and parses an index file.
pub fn load_index(path: &Path) -> Result<Index, Error> {
    let text = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    Index::parse(&text)
}

async fn watch_index(
    shared: Arc<Shared>,
    ca: usize,
    path: PathBuf,
    mut stop: watch::Receiver<bool>,
) {
    let Some(responder) = shared.responder.cas().get(ca).cloned() else {
        return;
    };
    let mut reload = shared.control.reload.subscribe();
    let mut loaded = fingerprint(&path);
    let mut pending: Option<Fingerprint> = None;
    let mut ticker =
        tokio::time::interval(shared.config.reload_interval.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let forced = tokio::select! {
            _ = ticker.tick() => false,
            changed = reload.changed() => {
                if changed.is_err() {
                    return;
                }
                true
            }
            () = stopped(&mut stop) => return,
        };
        let now = fingerprint(&path);
        if !forced {
            if now == loaded || now.is_none() {
                pending = None;
                continue;
            }
            if pending != now {
                // Changed since the last poll: wait for it to settle.
                pending = now;
                continue;
            }
        }
        pending = None;
        loaded = now;
        let file = path.clone();
        let parsed = tokio::task::spawn_blocking(move || load_index(&file)).await;
        let counters = &shared.control.counters;
        match parsed {
            Ok(Ok(index)) => {
                let count = index.len();
                responder.replace_index(index, shared.clock.now());
                counters.reloads.fetch_add(1, Ordering::Relaxed);
                log::info!("reloaded {}: {count} certificates", path.display());
            }
            Ok(Err(e)) => {
                counters.reload_failures.fetch_add(1, Ordering::Relaxed);
                log::error!(
                    "not reloading {}: {e}; still serving the previous index",
                    path.display()
                );
            }
            Err(e) => {
                counters.reload_failures.fetch_add(1, Ordering::Relaxed);
                log::error!("index reload task failed: {e}");
            }
        }
    }
}

/// Signs ahead for every CA whenever [`crate::Responder::presign_due`] says so, polling once a second,
/// on a blocking thread so that answers never wait for it.
async fn presign_ahead(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stopped(&mut stop) => return,
        }
        for ca in shared.responder.cas() {
            if ca.presign_due(shared.clock.now()).is_none() {
                continue;
            }
            let (ca, clock) = (Arc::clone(ca), Arc::clone(&shared.clock));
            let started = std::time::Instant::now();
            let done = tokio::task::spawn_blocking(move || {
                let report = ca.presign(clock.now());
                (ca, report)
            })
            .await;
            match done {
                Ok((ca, Some(report))) => {
                    shared
                        .control
                        .counters
                        .presigned
                        .fetch_add(report.responses as u64, Ordering::Relaxed);
                    log::info!(
                        "signed ahead {} answers for \"{}\" ({} bytes) in {:.1}s{}",
                        report.responses,
                        ca.signer_subject(),
                        report.bytes,
                        started.elapsed().as_secs_f64(),
                        if report.failures > 0 {
                            format!(
                                "; {} signatures failed, answered on demand",
                                report.failures
                            )
                        } else {
                            String::new()
                        }
                    );
                }
                Ok((_, None)) => {}
                Err(e) => log::error!("signing ahead failed: {e}"),
            }
        }
    }
}

/// Turns SIGTERM and SIGINT into [`ServerHandle::shutdown`] and SIGHUP into
/// [`ServerHandle::reload`]; returns after the first shutdown signal. The handlers are installed
/// when the future is first polled.
#[cfg(unix)]
pub async fn forward_signals(handle: ServerHandle) -> io::Result<()> {
    Signals::install()?.forward(handle).await;
    Ok(())
}

/// Signal streams, installed (so the default action, termination, no longer applies) before
/// they are awaited.
#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn forward(mut self, handle: ServerHandle) {
        loop {
            tokio::select! {
                _ = self.term.recv() => break,
                _ = self.int.recv() => break,
                _ = self.hup.recv() => {
                    log::info!("SIGHUP: reloading the index");
                    handle.reload();
                }
            }
        }
        log::info!("shutting down");
        handle.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn a_stalled_write_times_out_and_progress_resets_the_timer() {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let mut io = WriteTimeout::new(ours, Duration::from_millis(200));
        // The peer reads slowly but steadily: every write makes progress within the timeout.
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let mut total = 0;
            while total < 1024 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                total += theirs.read(&mut buf).await.unwrap();
            }
            theirs
        });
        io.write_all(&[1; 1024]).await.unwrap();
        let _theirs = reader.await.unwrap();
        // Now nobody reads: the buffer fills and the write fails with TimedOut.
        let started = Instant::now();
        let err = io.write_all(&[2; 1024]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn clocks() {
        let c = ShiftedClock::starting_at(Time::from_unix(1_780_272_000));
        assert!((1_780_272_000..1_780_272_005).contains(&c.now().unix()));
    }
}
