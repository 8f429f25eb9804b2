//! The metrics endpoint of `serve`, `fetch --daemon` and `respond` (`--metrics-listen ADDR`):
//! `/metrics` in the Prometheus text format, encoded by the `prometheus-client` crate, and
//! `/status` as JSON. Each scrape builds a registry from the running parts' counters and states
//! (the libraries keep plain counters and statuses; only the binary names Prometheus types).
//!
//! Metric names have the `mailstaple_` prefix and base units; counters end in `_total`.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::Value;

/// Labels of a family: name and value pairs.
pub(crate) type Labels = Vec<(String, String)>;

/// What one scrape shows: the registry for `/metrics` and the JSON for `/status`.
pub(crate) type Snapshot = Arc<dyn Fn() -> (Registry, Value) + Send + Sync>;

/// The proof states a certificate can be in, one series each (1 for the current one).
pub(crate) const PROOF_STATES: [&str; 5] = ["good", "missing", "expired", "revoked", "invalid"];

/// `--metrics-listen`: `HOST:PORT`, `[V6]:PORT`, or a bare `PORT` on loopback (127.0.0.1).
pub(crate) fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    text.parse()
        .map_err(|_| format!("{text:?}: not a port or an address and port such as 127.0.0.1:9325"))
}

/// Serves `/metrics` and `/status` on `listener` for as long as the task runs.
pub(crate) async fn serve(listener: tokio::net::TcpListener, snapshot: Snapshot) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let snapshot = Arc::clone(&snapshot);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let snapshot = Arc::clone(&snapshot);
                async move { Ok::<_, Infallible>(answer(req.uri().path(), &snapshot)) }
            });
            let io = TokioIo::new(stream);
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .serve_connection(io, service);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(30), conn).await;
        });
    }
}

fn answer(path: &str, snapshot: &Snapshot) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match path {
        "/metrics" => {
            let (registry, _) = snapshot();
            let mut text = String::new();
            match encode(&mut text, &registry) {
                Ok(()) => (
                    StatusCode::OK,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    text,
                ),
                Err(e) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain",
                    format!("encoding failed: {e}\n"),
                ),
            }
        }
        "/status" => {
            let (_, status) = snapshot();
            let mut text = status.to_string();
            text.push('\n');
            (StatusCode::OK, "application/json", text)
        }
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: /metrics or /status\n".to_owned(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, v);
    }
    response
}

/// Binds `addr` and serves it from a thread of its own (a small runtime, apart from the
/// command's); logs where. Returns the bound address.
pub(crate) fn start(addr: SocketAddr, snapshot: Snapshot) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => serve(l, snapshot).await,
                    Err(e) => log::error!("metrics endpoint: {e}"),
                }
            });
        })?;
    if !bound.ip().is_loopback() {
        log::warn!("the metrics endpoint listens on {bound}, which is not a loopback address");
    }
    log::info!("metrics on http://{bound}/metrics, status on http://{bound}/status");
    Ok(bound)
}

/// `GET http://ADDR/status` (for `serve --status`): the JSON.
pub(crate) fn fetch_status(addr: SocketAddr) -> anyhow::Result<Value> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5))
        .map_err(|e| anyhow::anyhow!("cannot reach the metrics endpoint {addr}: {e}"))?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    stream.write_all(
        format!("GET /status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    let text = String::from_utf8_lossy(&reply);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("{addr}: not an HTTP answer"))?;
    if !head.starts_with("HTTP/1.1 200") {
        anyhow::bail!("{addr}: {}", head.lines().next().unwrap_or_default());
    }
    serde_json::from_str(body).map_err(|e| anyhow::anyhow!("{addr}/status: not JSON: {e}"))
}

/// A label set from pairs.
pub(crate) fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A gauge family registered under `name`.
pub(crate) fn gauges(registry: &mut Registry, name: &str, help: &str) -> Family<Labels, Gauge> {
    let family = Family::<Labels, Gauge>::default();
    registry.register(name, help, family.clone());
    family
}

/// A counter family registered under `name` (exposed as `name_total`).
pub(crate) fn counters(registry: &mut Registry, name: &str, help: &str) -> Family<Labels, Counter> {
    let family = Family::<Labels, Counter>::default();
    registry.register(name, help, family.clone());
    family
}

/// Sets a counter, built fresh for this scrape, to a running total.
pub(crate) fn count(family: &Family<Labels, Counter>, labels: &Labels, total: u64) {
    family.get_or_create(labels).inc_by(total);
}

/// Sets a gauge.
pub(crate) fn set(family: &Family<Labels, Gauge>, labels: &Labels, value: i64) {
    family.get_or_create(labels).set(value);
}

/// The latest JSON status of a fetcher (`mailstaple_fetch::daemon`'s status sink).
#[derive(Clone, Default)]
pub(crate) struct FetchStatus(Arc<Mutex<Value>>);

impl FetchStatus {
    /// The sink to hand the fetcher.
    pub(crate) fn sink(&self) -> mailstaple_fetch::daemon::StatusSink {
        let cell = Arc::clone(&self.0);
        Arc::new(move |v: &Value| {
            *cell.lock().unwrap_or_else(PoisonError::into_inner) = v.clone();
        })
    }

    /// The latest status (`null` before the first).
    pub(crate) fn get(&self) -> Value {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The certificates of the latest status.
    pub(crate) fn certificates(&self) -> Vec<Value> {
        self.get()
            .get("certificates")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }
}

/// The fetcher's families: per certificate (`label` names it from a status entry) the proof
/// state, seconds to its expiry and to the next refresh, and consecutive failures.
pub(crate) fn fetch_metrics(
    registry: &mut Registry,
    status: &FetchStatus,
    now: i64,
    label: impl Fn(&Value) -> Labels,
    with_state: bool,
) {
    let state = with_state.then(|| {
        gauges(
            registry,
            "mailstaple_proof_state",
            "The proof's state per certificate: 1 for the current one of good, missing, expired, revoked, invalid",
        )
    });
    let expiry = with_state.then(|| {
        gauges(
            registry,
            "mailstaple_proof_expiry_seconds",
            "Seconds until the proof's effective expiry (negative once past)",
        )
    });
    let refresh = gauges(
        registry,
        "mailstaple_fetch_next_refresh_seconds",
        "Seconds until the fetcher's next attempt for the certificate",
    );
    let failures = gauges(
        registry,
        "mailstaple_fetch_consecutive_failures",
        "Fetches that failed in a row for the certificate",
    );
    for c in status.certificates() {
        let l = label(&c);
        let int = |k: &str| c.get(k).and_then(Value::as_i64);
        if let Some(t) = int("next_refresh_unix") {
            set(&refresh, &l, t.saturating_sub(now));
        }
        set(&failures, &l, int("consecutive_failures").unwrap_or(0));
        if let (Some(state), Some(expiry)) = (&state, &expiry) {
            let current = c.get("proof").and_then(Value::as_str).unwrap_or("missing");
            for s in PROOF_STATES {
                let mut ls = l.clone();
                ls.push(("state".to_owned(), s.to_owned()));
                set(state, &ls, i64::from(s == current));
            }
            if let Some(t) = int("valid_until_unix") {
                set(expiry, &l, t.saturating_sub(now));
            }
        }
    }
    // The fleet's store, when one is configured: its health, and where each proof came from.
    let whole = status.get();
    if let Some(st) = whole.get("store").filter(|v| !v.is_null()) {
        let up = gauges(
            registry,
            "mailstaple_fetch_store_up",
            "1 when the fleet's shared store answered last, 0 when it failed (the fetcher then asks the responders directly)",
        );
        let url = st.get("url").and_then(Value::as_str).unwrap_or_default();
        set(
            &up,
            &labels(&[("store", url)]),
            i64::from(st.get("health").and_then(Value::as_str) == Some("up")),
        );
        let source = gauges(
            registry,
            "mailstaple_proof_source",
            "Where the installed proof came from per certificate: 1 for the current one of store, responder",
        );
        for c in status.certificates() {
            let current = c.get("source").and_then(Value::as_str);
            for s in ["store", "responder"] {
                let mut ls = label(&c);
                ls.push(("source".to_owned(), s.to_owned()));
                set(&source, &ls, i64::from(current == Some(s)));
            }
        }
    }
}
