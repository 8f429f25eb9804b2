//! The fleet tests' real peers: `redis-server` (one server or a local three-master Cluster) and
//! `redis-cli`, an OCSP responder in this process that counts requests per certificate, many
//! leaves of one issuer, and `mailstaple fetch --daemon` nodes as child processes.
//!
//! Every child is killed when its guard is dropped, so a failed assertion leaves nothing running.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mailstaple_ocsp::{CertId, CertView, HashAlgorithm, OcspRequest, hex};
use mailstaple_testpki::{Cert, DAY, HOUR, KeyAlg, NOW, Pki};
use rustls_pki_types::UnixTime;
use serde_json::Value;

/// The most certificates a test uses; one more leaf is kept as "another certificate".
pub(crate) const MAX_CERTS: usize = 200;

/// `true` when `redis-server` and `redis-cli` run; otherwise fails under
/// `MAILSTAPLE_REQUIRE_PEERS=1`, or prints a skip line and returns `false`.
pub(crate) fn redis_present() -> bool {
    let runs = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let ok = runs("redis-server") && runs("redis-cli");
    if !ok {
        assert!(
            std::env::var("MAILSTAPLE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "redis-server and redis-cli are required (MAILSTAPLE_REQUIRE_PEERS=1) but not installed"
        );
        eprintln!("skipped: redis-server or redis-cli not installed");
    }
    ok
}

/// One fleet test at a time: each runs three daemons and Redis, and the lease and poll bounds
/// they check should not depend on how many other fleets share two cores.
pub(crate) fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A port free now on 127.0.0.1 (and, with `bus`, port + 10000 too: a Cluster node's bus).
pub(crate) fn free_port(bus: bool) -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !bus {
            return port;
        }
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// Polls `check` every 50 ms until it is `Ok` or `limit` has passed; panics with `what` and
/// the last reason.
pub(crate) fn wait_until<T>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return v,
            Err(why) => assert!(
                start.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}: {why}"
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

// ---------------------------------------------------------------------------------------------
// Redis

/// A `redis-server` on 127.0.0.1 with no persistence, killed when dropped.
pub(crate) struct Redis {
    child: Option<Child>,
    /// Its port.
    pub(crate) port: u16,
    dir: PathBuf,
    extra: Vec<String>,
}

impl Redis {
    /// Starts a server on `port` with its files in `dir`, and waits until it answers PING.
    pub(crate) fn start(dir: &Path, port: u16, extra: &[String]) -> Redis {
        std::fs::create_dir_all(dir).unwrap();
        let mut r = Redis {
            child: None,
            port,
            dir: dir.to_path_buf(),
            extra: extra.to_vec(),
        };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.join("redis.log"))
            .unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.child = Some(child);
        let port = self.port;
        wait_until(
            "redis-server to answer PING",
            Duration::from_secs(10),
            || {
                let o = self.cli(&["PING"]);
                if String::from_utf8_lossy(&o.stdout).trim() == "PONG" {
                    Ok(())
                } else {
                    Err(format!("port {port}: {o:?}"))
                }
            },
        );
    }

    /// `redis://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL): its contents are gone.
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `redis-cli -p PORT ARGS` (raw output).
    pub(crate) fn cli(&self, args: &[&str]) -> Output {
        redis_cli(self.port, false, args, None)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `redis-cli` against 127.0.0.1:`port` (`-c`: follow Cluster redirections), with `stdin`
/// as the last argument (`-x`) when given.
pub(crate) fn redis_cli(port: u16, cluster: bool, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new("redis-cli");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "--raw"]);
    if cluster {
        cmd.arg("-c");
    }
    if stdin.is_some() {
        cmd.arg("-x");
    }
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// A local Redis Cluster of three masters and no replicas.
pub(crate) struct Cluster {
    nodes: Vec<Redis>,
}

impl Cluster {
    /// Starts three cluster-enabled servers under `dir`, creates the Cluster with
    /// `redis-cli --cluster create` and waits until every node says `cluster_state:ok`.
    pub(crate) fn start(dir: &Path) -> Cluster {
        let mut nodes: Vec<Redis> = Vec::new();
        while nodes.len() < 3 {
            let port = free_port(true);
            if nodes.iter().any(|n| n.port == port) {
                continue;
            }
            let extra = [
                "--cluster-enabled".to_owned(),
                "yes".to_owned(),
                "--cluster-config-file".to_owned(),
                format!("nodes-{port}.conf"),
                "--cluster-node-timeout".to_owned(),
                "2000".to_owned(),
            ];
            nodes.push(Redis::start(
                &dir.join(format!("node-{port}")),
                port,
                &extra,
            ));
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let o = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "redis-cli --cluster create: {o:?}");
        let cluster = Cluster { nodes };
        wait_until(
            "every Cluster node to say cluster_state:ok",
            Duration::from_secs(30),
            || {
                for n in &cluster.nodes {
                    let o = n.cli(&["CLUSTER", "INFO"]);
                    let text = String::from_utf8_lossy(&o.stdout).into_owned();
                    if !text.contains("cluster_state:ok") {
                        return Err(format!("{}: {text}", n.port));
                    }
                }
                Ok(())
            },
        );
        cluster
    }

    /// `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`.
    pub(crate) fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }

    /// Every master's port.
    pub(crate) fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// The first node's port (redis-cli -c follows redirections from there).
    pub(crate) fn port(&self) -> u16 {
        self.nodes.first().unwrap().port
    }
}

/// How a test reaches the store with `redis-cli`: one server or a Cluster.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cli {
    /// A server's port (any node of a Cluster).
    pub(crate) port: u16,
    /// Follow Cluster redirections.
    pub(crate) cluster: bool,
}

impl Cli {
    /// The bytes stored under `key`, `None` when it does not exist.
    pub(crate) fn get(&self, key: &str) -> Option<Vec<u8>> {
        let exists = redis_cli(self.port, self.cluster, &["EXISTS", key], None);
        if String::from_utf8_lossy(&exists.stdout).trim() != "1" {
            return None;
        }
        let o = redis_cli(self.port, self.cluster, &["GET", key], None);
        assert!(o.status.success(), "GET {key}: {o:?}");
        let mut v = o.stdout;
        // --raw ends the value with a newline.
        assert_eq!(v.pop(), Some(b'\n'), "GET {key}");
        Some(v)
    }

    /// A string value (a lease holder), `None` when absent.
    pub(crate) fn get_string(&self, key: &str) -> Option<String> {
        self.get(key)
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    /// `SET key value` (binary-safe, through stdin).
    pub(crate) fn set(&self, key: &str, value: &[u8]) {
        let o = redis_cli(self.port, self.cluster, &["SET", key], Some(value));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "OK", "{o:?}");
    }

    /// `PUBLISH channel message`.
    pub(crate) fn publish(&self, channel: &str, message: &str) {
        let o = redis_cli(
            self.port,
            self.cluster,
            &["PUBLISH", channel, message],
            None,
        );
        assert!(o.status.success(), "{o:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// The shared test PKI (P-256) and [`MAX_CERTS`] + 1 leaves of its intermediate.
pub(crate) struct Leaves {
    /// The PKI whose intermediate issued every leaf and signs every response.
    pub(crate) pki: &'static Pki,
    /// The leaves, serials `5a 00 00` upwards.
    pub(crate) certs: Vec<Cert>,
}

/// The leaves, issued on first use.
pub(crate) fn leaves() -> &'static Leaves {
    static LEAVES: OnceLock<Leaves> = OnceLock::new();
    LEAVES.get_or_init(|| {
        let pki = Pki::shared(KeyAlg::EcdsaP256);
        let certs = (0..=MAX_CERTS)
            .map(|i| {
                let i = u16::try_from(i).unwrap().to_be_bytes();
                pki.issue_leaf(&[0x5a, i[0], i[1]], None)
            })
            .collect();
        Leaves { pki, certs }
    })
}

/// The name of certificate `i` in the configuration and the logs.
pub(crate) fn cert_name(i: usize) -> String {
    format!("c{i:03}")
}

/// The store key of certificate `i`'s `what` (`proof` or `lease`) under `prefix`, computed as
/// mailstaple-store documents it: `PREFIX:{ISSUERKEYHASH.SERIAL}:WHAT` from the SHA-1 CertID.
pub(crate) fn store_key(prefix: &str, i: usize, what: &str) -> String {
    format!("{prefix}:{{{}}}:{what}", key_id(i))
}

/// `ISSUERKEYHASH.SERIAL` of certificate `i` (what notices carry).
pub(crate) fn key_id(i: usize) -> String {
    let l = leaves();
    let cert = CertView::parse(&l.certs[i].der).unwrap();
    let issuer = CertView::parse(&l.pki.intermediate.der).unwrap();
    let id = CertId::new(&cert, &issuer, HashAlgorithm::Sha1);
    format!("{}.{}", hex(&id.issuer_key_hash), hex(&id.serial))
}

/// The thisUpdate of a proof of certificate `i`, if it verifies at `now`.
pub(crate) fn verify_proof(i: usize, bytes: &[u8], now: u64) -> Result<i64, String> {
    let l = leaves();
    let at = UnixTime::since_unix_epoch(Duration::from_secs(now));
    mailstaple_verify::verify(
        bytes,
        &l.certs[i].der,
        &l.pki.intermediate.der,
        at,
        &mailstaple_verify::Policy::default(),
    )
    .map(|s| s.this_update().unix())
    .map_err(|e| format!("{} does not verify: {e}", cert_name(i)))
}

// ---------------------------------------------------------------------------------------------
// The OCSP responder

/// The clock of the daemons of round `round` (1, 2, ...): NOW, then four days later each round,
/// past the midpoint of the previous round's proofs (thisUpdate − 1 h .. + 7 d).
pub(crate) fn round_now(round: u32) -> u64 {
    NOW + u64::from(round - 1) * 4 * DAY
}

/// How the responder dates its proofs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Timing {
    /// thisUpdate = producedAt = `round_now(round)` − 1 h, nextUpdate seven days later.
    Round(u32),
    /// A clock running from NOW when the responder started: thisUpdate its time − 2 s,
    /// nextUpdate `window` seconds later, so that running daemons refresh every half window.
    Live {
        /// The validity window in seconds.
        window: u64,
    },
}

struct Shared {
    by_serial: HashMap<Vec<u8>, usize>,
    timing: Mutex<Timing>,
    stalled: Mutex<bool>,
    unstall: Condvar,
    stop: AtomicBool,
    started: Instant,
    /// (round, certificate) → requests; the round is 0 in live mode.
    counts: Mutex<HashMap<(u32, usize), u32>>,
    /// When each request arrived: (certificate, instant).
    arrivals: Mutex<Vec<(usize, Instant)>>,
    served: Mutex<HashSet<Vec<u8>>>,
}

/// An OCSP responder on 127.0.0.1 for the leaves, answering RFC 5019 GET and POST, signing a
/// new response for each request (ECDSA: never the same bytes twice), counting requests per
/// certificate and round, remembering every body it served, and able to stall.
pub(crate) struct Responder {
    port: u16,
    shared: Arc<Shared>,
}

impl Responder {
    /// Starts the responder for the first `n` leaves with `timing`.
    pub(crate) fn start(n: usize, timing: Timing) -> Responder {
        let l = leaves();
        let by_serial = (0..n).map(|i| (l.certs[i].serial().to_vec(), i)).collect();
        let shared = Arc::new(Shared {
            by_serial,
            timing: Mutex::new(timing),
            stalled: Mutex::new(false),
            unstall: Condvar::new(),
            stop: AtomicBool::new(false),
            started: Instant::now(),
            counts: Mutex::new(HashMap::new()),
            arrivals: Mutex::new(Vec::new()),
            served: Mutex::new(HashSet::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let s = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let s = Arc::clone(&s);
                std::thread::spawn(move || handle(stream, &s));
            }
        });
        Responder { port, shared }
    }

    /// `http://127.0.0.1:PORT/`.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Dates the next proofs with `timing`.
    pub(crate) fn set_timing(&self, timing: Timing) {
        *self.shared.timing.lock().unwrap() = timing;
    }

    /// Holds every request (counted on arrival) until [`Responder::resume`].
    pub(crate) fn stall(&self) {
        *self.shared.stalled.lock().unwrap() = true;
    }

    /// Answers the held requests and the next ones at once.
    pub(crate) fn resume(&self) {
        *self.shared.stalled.lock().unwrap() = false;
        self.shared.unstall.notify_all();
    }

    /// Requests in `round` (0 in live mode): the total and the largest count of one certificate.
    pub(crate) fn requests(&self, round: u32) -> (u32, u32) {
        let counts = self.shared.counts.lock().unwrap();
        let per: Vec<u32> = counts
            .iter()
            .filter(|((r, _), _)| *r == round)
            .map(|(_, c)| *c)
            .collect();
        (per.iter().sum(), per.iter().copied().max().unwrap_or(0))
    }

    /// Requests for certificate `i` in `round` (0 in live mode).
    pub(crate) fn count(&self, round: u32, i: usize) -> u32 {
        self.shared
            .counts
            .lock()
            .unwrap()
            .get(&(round, i))
            .copied()
            .unwrap_or(0)
    }

    /// When requests for certificate `i` arrived, in order.
    pub(crate) fn arrivals(&self, i: usize) -> Vec<Instant> {
        self.shared
            .arrivals
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _)| *c == i)
            .map(|(_, t)| *t)
            .collect()
    }

    /// Whether this responder served exactly these bytes.
    pub(crate) fn served(&self, body: &[u8]) -> bool {
        self.shared.served.lock().unwrap().contains(body)
    }

    /// The responder's clock in live mode (NOW when it started, advancing in real time): the
    /// instant at which its proofs are judged.
    pub(crate) fn live_now(&self) -> u64 {
        NOW + self.shared.started.elapsed().as_secs()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.resume();
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// `OCSPResponse { responseStatus }` without a body (1 malformedRequest, 6 unauthorized).
fn ocsp_error(status: u8) -> Vec<u8> {
    vec![0x30, 0x03, 0x0a, 0x01, status]
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or(""), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn handle(mut s: TcpStream, shared: &Shared) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (end, len) = loop {
        let n = match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap_or(0));
            if buf.len() >= end + 4 + len {
                break (end, len);
            }
        }
        if buf.len() > 1 << 20 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut line = head.lines().next().unwrap_or_default().split(' ');
    let (method, path) = (line.next().unwrap_or(""), line.next().unwrap_or(""));
    let der = match method {
        "POST" => Some(buf[end + 4..end + 4 + len].to_vec()),
        "GET" => {
            let encoded = path.rsplit('/').next().unwrap_or("");
            mailstaple_ocsp::base64::decode(&percent_decode(encoded), false)
        }
        _ => None,
    };
    let body = match der {
        Some(der) => shared.answer(&der),
        None => ocsp_error(1),
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(&body);
}

impl Shared {
    fn answer(&self, der: &[u8]) -> Vec<u8> {
        let Ok(req) = OcspRequest::parse(der) else {
            return ocsp_error(1);
        };
        let Some(&i) = req
            .cert_ids
            .first()
            .and_then(|id| self.by_serial.get(id.serial))
        else {
            return ocsp_error(6);
        };
        let timing = *self.timing.lock().unwrap();
        let round = match timing {
            Timing::Round(r) => r,
            Timing::Live { .. } => 0,
        };
        *self.counts.lock().unwrap().entry((round, i)).or_default() += 1;
        self.arrivals.lock().unwrap().push((i, Instant::now()));
        let mut stalled = self.stalled.lock().unwrap();
        while *stalled && !self.stop.load(Ordering::SeqCst) {
            stalled = self
                .unstall
                .wait_timeout(stalled, Duration::from_millis(100))
                .unwrap()
                .0;
        }
        drop(stalled);
        let (this_update, next_update) = match timing {
            Timing::Round(r) => {
                let t = round_now(r) - HOUR;
                (t, t + 7 * DAY)
            }
            Timing::Live { window } => {
                let t = NOW + self.started.elapsed().as_secs() - 2;
                (t, t + window)
            }
        };
        let l = leaves();
        let body = l
            .pki
            .response()
            .cert(&l.certs[i])
            .this_update(this_update)
            .produced_at(this_update)
            .next_update(Some(next_update))
            .build();
        self.served.lock().unwrap().insert(body.clone());
        body
    }
}

// ---------------------------------------------------------------------------------------------
// Daemons

/// What every node of a fleet shares.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    /// Certificates `0..certs`.
    pub(crate) certs: usize,
    /// The `store` URL.
    pub(crate) store: String,
    /// `store_prefix`.
    pub(crate) prefix: String,
    /// `[fetch] timeout`, seconds (the lease TTL is this plus 5).
    pub(crate) timeout: u64,
    /// `store_poll`, seconds.
    pub(crate) poll: u64,
}

/// One `mailstaple fetch --daemon` node: its directory holds its configuration, proofs,
/// status file and log (stderr, appended across restarts).
pub(crate) struct Node {
    /// `node` in its configuration.
    pub(crate) name: String,
    dir: PathBuf,
    child: Option<Child>,
}

impl Node {
    fn config(&self) -> PathBuf {
        self.dir.join("mailstaple.toml")
    }

    /// Where its proof of certificate `i` is installed.
    pub(crate) fn out(&self, i: usize) -> PathBuf {
        self.dir.join(format!("{}.der", cert_name(i)))
    }

    /// Its status file, parsed (`None` before the first write).
    pub(crate) fn status(&self) -> Option<Value> {
        std::fs::read(self.dir.join("status.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// Everything it logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// Starts the daemon with its clock at `now` (advancing in real time).
    pub(crate) fn start(&mut self, now: u64) {
        assert!(self.child.is_none(), "{} is running", self.name);
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.join("stderr.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mailstaple"))
            .args(["fetch", "--daemon", "--config"])
            .arg(self.config())
            .args(["--now", &now.to_string()])
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Whether it was started and not stopped or killed since.
    pub(crate) fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Stops it with SIGTERM and returns its exit code (SIGKILL after 15 s).
    pub(crate) fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        signal(child.id(), "-TERM");
        let start = Instant::now();
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s.code();
            }
            if start.elapsed() > Duration::from_secs(15) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not stop on SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// kill -9.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Nodes sharing certificates, a responder and a store.
pub(crate) struct Fleet {
    /// The nodes, in the order of the names given.
    pub(crate) nodes: Vec<Node>,
    /// Their settings.
    pub(crate) spec: Spec,
}

impl Fleet {
    /// Writes the certificates under `dir/certs` and one directory and configuration per node.
    pub(crate) fn new(dir: &Path, spec: Spec, responder: &Responder, names: &[&str]) -> Fleet {
        let l = leaves();
        let certs = dir.join("certs");
        std::fs::create_dir_all(&certs).unwrap();
        std::fs::write(certs.join("issuer.pem"), l.pki.intermediate.pem()).unwrap();
        for i in 0..spec.certs {
            std::fs::write(
                certs.join(format!("{}.pem", cert_name(i))),
                l.certs[i].pem(),
            )
            .unwrap();
        }
        let q = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
        let s = |v: &str| toml::Value::String(v.to_owned()).to_string();
        let nodes = names
            .iter()
            .map(|name| {
                let ndir = dir.join(name);
                std::fs::create_dir_all(&ndir).unwrap();
                let mut text = format!(
                    "[fetch]\ntimeout = {}\nconnect_timeout = 2\nconcurrency = 32\nstatus = {}\n\
                     store = {}\nstore_prefix = {}\nnode = {}\nstore_poll = {}\n",
                    spec.timeout,
                    q(&ndir.join("status.json")),
                    s(&spec.store),
                    s(&spec.prefix),
                    s(name),
                    spec.poll,
                );
                for i in 0..spec.certs {
                    text.push_str(&format!(
                        "\n[[fetch.certificate]]\nname = {}\ncert = {}\nissuer = {}\nout = {}\n\
                         url = {}\n",
                        s(&cert_name(i)),
                        q(&certs.join(format!("{}.pem", cert_name(i)))),
                        q(&certs.join("issuer.pem")),
                        q(&ndir.join(format!("{}.der", cert_name(i)))),
                        s(&responder.url()),
                    ));
                }
                std::fs::write(ndir.join("mailstaple.toml"), text).unwrap();
                Node {
                    name: (*name).to_owned(),
                    dir: ndir,
                    child: None,
                }
            })
            .collect();
        Fleet { nodes, spec }
    }

    /// Starts every node with its clock at `now`.
    pub(crate) fn start_all(&mut self, now: u64) {
        for n in &mut self.nodes {
            n.start(now);
        }
    }

    /// Stops every running node with SIGTERM; each must exit 0.
    pub(crate) fn stop_all(&mut self) {
        for n in &mut self.nodes {
            if n.running() {
                assert_eq!(n.stop(), Some(0), "{} did not exit 0", n.name);
            }
        }
    }

    /// The store key of certificate `i`'s `what`.
    pub(crate) fn key(&self, i: usize, what: &str) -> String {
        store_key(&self.spec.prefix, i, what)
    }

    /// `Ok` when, on every node of `on` (indices), every certificate's file is the same bytes
    /// as on the others and passes `check`; the reason otherwise.
    pub(crate) fn converged(
        &self,
        on: &[usize],
        check: impl Fn(usize, &[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        for i in 0..self.spec.certs {
            let mut first: Option<Vec<u8>> = None;
            for &k in on {
                let node = &self.nodes[k];
                let bytes = std::fs::read(node.out(i))
                    .map_err(|e| format!("{}: {}: {e}", node.name, cert_name(i)))?;
                check(i, &bytes).map_err(|e| format!("{}: {e}", node.name))?;
                match &first {
                    None => first = Some(bytes),
                    Some(f) if *f != bytes => {
                        return Err(format!(
                            "{}: {} differs from the first node's",
                            node.name,
                            cert_name(i)
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Torn files

/// Reads proof files over and over in a thread, checking each read: absent or empty, or a
/// complete proof that `check` accepts.
pub(crate) struct Watcher {
    stop: Arc<AtomicBool>,
    reads: Arc<AtomicU64>,
    handle: Option<JoinHandle<Vec<String>>>,
}

/// A check of one read of certificate `i`'s file.
pub(crate) type Check = Arc<dyn Fn(usize, &[u8]) -> Result<(), String> + Send + Sync>;

impl Watcher {
    /// Watches `files` (path, certificate).
    pub(crate) fn start(files: Vec<(PathBuf, usize)>, check: Check) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let reads = Arc::new(AtomicU64::new(0));
        let (s, r) = (Arc::clone(&stop), Arc::clone(&reads));
        let handle = std::thread::spawn(move || {
            let mut bad = Vec::new();
            while !s.load(Ordering::SeqCst) {
                for (path, i) in &files {
                    let Ok(bytes) = std::fs::read(path) else {
                        continue;
                    };
                    r.fetch_add(1, Ordering::Relaxed);
                    if bytes.is_empty() {
                        continue;
                    }
                    if let Err(e) = check(*i, &bytes)
                        && bad.len() < 20
                    {
                        bad.push(format!("{}: {e}", path.display()));
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            bad
        });
        Watcher {
            stop,
            reads,
            handle: Some(handle),
        }
    }

    /// Stops and returns (the number of reads, the bad ones).
    pub(crate) fn finish(mut self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        let bad = self.handle.take().unwrap().join().unwrap();
        (self.reads.load(Ordering::SeqCst), bad)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
