//! The fleet benchmark the issue asks for: three daemons, 10,000 certificates, a local
//! responder and Redis. Two arms run in the same process, on the same machine, leaves and
//! responder:
//!
//! - **fleet**: three `mailstaple fetch --daemon` processes sharing one `redis-server`
//!   (`[fetch] store`);
//! - **peers**: three daemons without a store, each asking the responder itself: what Exim,
//!   nginx and HAProxy do today, and mailstaple without a store.
//!
//! For each arm it prints the time from the daemons' start until every node's status file lists
//! every certificate with a good proof, the responder requests per certificate, the Redis
//! commands per certificate (`INFO` before and after, less the benchmark's own `INFO`), and each
//! daemon's peak memory (`VmHWM`) per certificate. It fails if the fleet asks the responder more
//! than 1.05 times per certificate, or if any node's proof does not verify, or if the fleet's
//! nodes do not hold the same bytes.
//!
//! ```text
//! cargo test --release -p mailstaple --test fleet_bench -- --ignored --nocapture
//! ```
//!
//! Skipped when `redis-server` is missing, unless `MAILSTAPLE_REQUIRE_PEERS=1`. The daemons'
//! clocks start at the test PKI's fixed instant (`--now`); the benchmark measures elapsed time
//! with `Instant`, which is its result, never an input to a decision.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailstaple_ocsp::OcspRequest;
use mailstaple_testpki::{Cert, DAY, HOUR, KeyAlg, NOW, Pki};
use rustls_pki_types::UnixTime;
use serde_json::Value;

/// Certificates per node.
const CERTS: usize = 10_000;
/// The nodes of each arm.
const NODES: [&str; 3] = ["n1", "n2", "n3"];
/// `[fetch] concurrency`.
const CONCURRENCY: u32 = 64;
/// `[fetch] timeout` in seconds (the lease TTL is this plus 5).
const TIMEOUT: u64 = 10;
/// `[fetch] store_poll` in seconds (the default).
const STORE_POLL: u64 = 5;
/// The longest an arm may take to converge.
const CONVERGE_LIMIT: Duration = Duration::from_secs(20 * 60);
/// The fleet's budget of responder requests per certificate.
const MAX_REQUESTS_PER_CERT: f64 = 1.05;

// ---------------------------------------------------------------------------------------------
// Certificates

/// The P-256 test PKI and [`CERTS`] leaves of its intermediate, their PEM files written once
/// per run under the temporary directory.
struct Leaves {
    pki: &'static Pki,
    certs: Vec<Cert>,
    by_serial: HashMap<Vec<u8>, usize>,
    /// `DIR/certs`: `issuer.pem` and `cNNNNN.pem`.
    dir: PathBuf,
}

impl Leaves {
    fn issue(dir: &Path) -> Leaves {
        let pki = Pki::shared(KeyAlg::EcdsaP256);
        let certs: Vec<Cert> = (0..CERTS)
            .map(|i| {
                let i = u16::try_from(i).unwrap().to_be_bytes();
                pki.issue_leaf(&[0x5b, i[0], i[1]], None)
            })
            .collect();
        let by_serial = certs
            .iter()
            .enumerate()
            .map(|(i, c)| (c.serial().to_vec(), i))
            .collect();
        let dir = dir.join("certs");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("issuer.pem"), pki.intermediate.pem()).unwrap();
        for (i, c) in certs.iter().enumerate() {
            std::fs::write(dir.join(format!("{}.pem", cert_name(i))), c.pem()).unwrap();
        }
        Leaves {
            pki,
            certs,
            by_serial,
            dir,
        }
    }

    /// The thisUpdate of `bytes` if it is a proof of certificate `i` that verifies at NOW.
    fn verify(&self, i: usize, bytes: &[u8]) -> Result<i64, String> {
        mailstaple_verify::verify(
            bytes,
            &self.certs[i].der,
            &self.pki.intermediate.der,
            UnixTime::since_unix_epoch(Duration::from_secs(NOW)),
            &mailstaple_verify::Policy::default(),
        )
        .map(|s| s.this_update().unix())
        .map_err(|e| format!("{} does not verify: {e}", cert_name(i)))
    }
}

fn cert_name(i: usize) -> String {
    format!("c{i:05}")
}

// ---------------------------------------------------------------------------------------------
// The OCSP responder

/// An OCSP responder on 127.0.0.1 in this process (one thread per connection, as the
/// daemons close each connection), signing a new response for each request (thisUpdate
/// NOW − 1 h, nextUpdate seven days later), counting requests per certificate and remembering
/// every body it served.
struct Responder {
    port: u16,
    shared: Arc<Shared>,
}

struct Shared {
    leaves: Arc<Leaves>,
    counts: Vec<AtomicU32>,
    served: Mutex<HashSet<Vec<u8>>>,
    stop: AtomicBool,
}

impl Responder {
    fn start(leaves: Arc<Leaves>) -> Responder {
        let shared = Arc::new(Shared {
            counts: (0..leaves.certs.len()).map(|_| AtomicU32::new(0)).collect(),
            leaves,
            served: Mutex::new(HashSet::new()),
            stop: AtomicBool::new(false),
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

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Requests per certificate so far.
    fn counts(&self) -> Vec<u32> {
        self.shared
            .counts
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .collect()
    }

    fn total(&self) -> u64 {
        self.counts().iter().map(|&c| u64::from(c)).sum()
    }

    /// Zeroes the counts and forgets the bodies served (between arms).
    fn reset(&self) {
        for c in &self.shared.counts {
            c.store(0, Ordering::SeqCst);
        }
        self.shared.served.lock().unwrap().clear();
    }

    fn served(&self, body: &[u8]) -> bool {
        self.shared.served.lock().unwrap().contains(body)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
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
    let body = der.map_or_else(|| ocsp_error(1), |der| shared.answer(&der));
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
            .and_then(|id| self.leaves.by_serial.get(id.serial))
        else {
            return ocsp_error(6);
        };
        self.counts[i].fetch_add(1, Ordering::SeqCst);
        let t = NOW - HOUR;
        let body = self
            .leaves
            .pki
            .response()
            .cert(&self.leaves.certs[i])
            .this_update(t)
            .produced_at(t)
            .next_update(Some(t + 7 * DAY))
            .build();
        self.served.lock().unwrap().insert(body.clone());
        body
    }
}

// ---------------------------------------------------------------------------------------------
// Redis

/// `true` when `redis-server` and `redis-cli` run; otherwise fails under
/// `MAILSTAPLE_REQUIRE_PEERS=1`, or prints a skip line and returns `false`.
fn redis_present() -> bool {
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

/// A `redis-server` on 127.0.0.1 without persistence, killed when dropped.
struct Redis {
    child: Child,
    port: u16,
}

/// What `INFO all` says at one moment.
struct RedisInfo {
    total_commands: u64,
    used_memory: u64,
    /// Calls per command (`cmdstat_get` → `get`).
    calls: BTreeMap<String, u64>,
}

impl Redis {
    fn start(dir: &Path) -> Redis {
        std::fs::create_dir_all(dir).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = File::create(dir.join("redis.log")).unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let redis = Redis { child, port };
        let start = Instant::now();
        loop {
            let o = redis.cli(&["PING"]);
            if o.trim() == "PONG" {
                return redis;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server on {port} does not answer PING: {o}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn cli(&self, args: &[&str]) -> String {
        let o = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// One `INFO all` (one command).
    fn info(&self) -> RedisInfo {
        let text = self.cli(&["INFO", "all"]);
        let mut fields = HashMap::new();
        let mut calls = BTreeMap::new();
        for line in text.lines() {
            let Some((k, v)) = line.trim().split_once(':') else {
                continue;
            };
            if let Some(cmd) = k.strip_prefix("cmdstat_") {
                let n = v
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("calls="))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                calls.insert(cmd.to_owned(), n);
            } else {
                fields.insert(k.to_owned(), v.to_owned());
            }
        }
        let num = |k: &str| -> u64 {
            fields
                .get(k)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("INFO all without {k}: {text}"))
        };
        RedisInfo {
            total_commands: num("total_commands_processed"),
            used_memory: num("used_memory"),
            calls,
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Daemons

/// One `mailstaple fetch --daemon`: its directory holds its configuration, proofs, status file
/// and log; killed when dropped.
struct Node {
    name: String,
    dir: PathBuf,
    child: Option<Child>,
}

impl Node {
    /// Writes the configuration: every leaf, the responder, and the store when given.
    fn new(root: &Path, name: &str, leaves: &Leaves, responder: &str, store: Option<&str>) -> Node {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let q = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
        let s = |v: &str| toml::Value::String(v.to_owned()).to_string();
        let mut text = format!(
            "[fetch]\ntimeout = {TIMEOUT}\nconnect_timeout = 2\nconcurrency = {CONCURRENCY}\n\
             status = {}\n",
            q(&dir.join("status.json")),
        );
        if let Some(store) = store {
            text.push_str(&format!(
                "store = {}\nstore_prefix = \"msb\"\nnode = {}\nstore_poll = {STORE_POLL}\n",
                s(store),
                s(name)
            ));
        }
        let issuer = q(&leaves.dir.join("issuer.pem"));
        let url = s(responder);
        for i in 0..leaves.certs.len() {
            text.push_str(&format!(
                "\n[[fetch.certificate]]\nname = {}\ncert = {}\nissuer = {issuer}\nout = {}\n\
                 url = {url}\n",
                s(&cert_name(i)),
                q(&leaves.dir.join(format!("{}.pem", cert_name(i)))),
                q(&dir.join(format!("{}.der", cert_name(i)))),
            ));
        }
        std::fs::write(dir.join("mailstaple.toml"), text).unwrap();
        Node {
            name: name.to_owned(),
            dir,
            child: None,
        }
    }

    fn out(&self, i: usize) -> PathBuf {
        self.dir.join(format!("{}.der", cert_name(i)))
    }

    fn start(&mut self) {
        let log = File::create(self.dir.join("stderr.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mailstaple"))
            .args(["fetch", "--daemon", "--config"])
            .arg(self.dir.join("mailstaple.toml"))
            .args(["--now", &NOW.to_string()])
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn status(&self) -> Option<Value> {
        std::fs::read(self.dir.join("status.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// `VmHWM` and `VmRSS` in KiB.
    fn memory(&mut self) -> (u64, u64) {
        let child = self.child.as_mut().unwrap();
        assert!(
            child.try_wait().unwrap().is_none(),
            "{} exited:\n{}",
            self.name,
            tail(&self.log(), 20)
        );
        let text = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        let kib = |key: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or_else(|| panic!("no {key} in /proc/PID/status"))
        };
        (kib("VmHWM:"), kib("VmRSS:"))
    }

    /// SIGTERM, then its exit code (SIGKILL after 30 s).
    fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let start = Instant::now();
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s.code();
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not stop on SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// How many certificates a status lists, and how many of them with a good proof, counted in
/// the file's compact JSON without parsing it: a cheap look every poll, so that the benchmark
/// takes little of the CPU the daemons share with it ([`good`] confirms).
fn good_quick(status: &[u8]) -> (usize, usize) {
    let count = |pat: &[u8]| status.windows(pat.len()).filter(|w| *w == pat).count();
    (count(b"\"proof\":"), count(b"\"proof\":\"good\""))
}

/// How many certificates a status lists, and how many of them with a good proof.
fn good(status: &Value) -> (usize, usize) {
    let certs = status["certificates"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let good = certs.iter().filter(|c| c["proof"] == "good").count();
    (certs.len(), good)
}

// ---------------------------------------------------------------------------------------------
// The arms

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Arm {
    Fleet,
    Peers,
}

/// What one arm measured.
struct Measured {
    arm: Arm,
    wall: Duration,
    /// Responder requests: total, and the most for one certificate.
    requests: u64,
    max_requests: u32,
    /// Redis: commands by the daemons, calls per command, used_memory growth.
    redis_commands: Option<u64>,
    redis_calls: BTreeMap<String, u64>,
    redis_memory: i64,
    /// Per node: (name, VmHWM KiB, VmRSS KiB, installs from the responder, from the store).
    nodes: Vec<(String, u64, u64, usize, usize)>,
    /// Per node: when its configuration was loaded ("daemon started"), VmHWM and VmRSS (KiB)
    /// then.
    loaded: Vec<(Duration, u64, u64)>,
    /// Per node: warning and error lines in its log, and the first few.
    log_problems: Vec<(usize, Vec<String>)>,
    /// Files that do not verify (or were never served by the responder).
    bad_files: Vec<String>,
    /// Certificates whose bytes differ between nodes.
    differing: Vec<String>,
}

fn per_cert(n: u64) -> f64 {
    n as f64 / CERTS as f64
}

fn run_arm(arm: Arm, root: &Path, leaves: &Leaves, responder: &Responder) -> Measured {
    let redis = (arm == Arm::Fleet).then(|| Redis::start(&root.join("redis")));
    let store = redis.as_ref().map(Redis::url);
    let mut nodes: Vec<Node> = NODES
        .iter()
        .map(|name| Node::new(root, name, leaves, &responder.url(), store.as_deref()))
        .collect();
    // The benchmark's own commands between two snapshots (the INFO that opens the window).
    let own = redis.as_ref().map_or(0, |r| {
        let (a, b) = (r.info(), r.info());
        b.total_commands - a.total_commands
    });
    let before = redis.as_ref().map(Redis::info);
    assert_eq!(responder.total(), 0, "{arm:?}: the responder was not reset");

    let started = Instant::now();
    for n in &mut nodes {
        n.start();
    }
    let mut last_report = Instant::now();
    // When each node had loaded its configuration ("daemon started"), with its memory then.
    let mut loaded: Vec<Option<(Duration, u64, u64)>> = vec![None; nodes.len()];
    loop {
        for (n, l) in nodes.iter_mut().zip(&mut loaded) {
            if let Some(code) = n.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!(
                    "{arm:?}: {} exited ({code}):\n{}",
                    n.name,
                    tail(&n.log(), 20)
                );
            }
            if l.is_none() && n.log().contains("daemon started with") {
                let (hwm, rss) = n.memory();
                *l = Some((started.elapsed(), hwm, rss));
            }
        }
        let seen: Vec<(usize, usize)> = nodes
            .iter()
            .map(|n| std::fs::read(n.dir.join("status.json")).map_or((0, 0), |b| good_quick(&b)))
            .collect();
        let all = |seen: &[(usize, usize)]| {
            seen.iter()
                .all(|&(listed, good)| listed == CERTS && good == CERTS)
        };
        if all(&seen)
            && all(&nodes
                .iter()
                .map(|n| n.status().as_ref().map_or((0, 0), good))
                .collect::<Vec<_>>())
        {
            break;
        }
        if started.elapsed() > CONVERGE_LIMIT {
            for n in &nodes {
                eprintln!("--- {} log (tail)\n{}", n.name, tail(&n.log(), 30));
                if let Some(s) = n.status() {
                    let not_good: Vec<&Value> = s["certificates"]
                        .as_array()
                        .map(|c| c.iter().filter(|c| c["proof"] != "good").take(3).collect())
                        .unwrap_or_default();
                    eprintln!("--- {} not good (first 3): {not_good:?}", n.name);
                }
            }
            panic!(
                "{arm:?}: not converged after {CONVERGE_LIMIT:?}: (listed, good) per node \
                 {seen:?}, {} responder requests",
                responder.total()
            );
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            eprintln!(
                "  {arm:?} after {:.0?}: (listed, good) per node {seen:?}, {} responder requests",
                started.elapsed(),
                responder.total()
            );
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let wall = started.elapsed();
    let loaded: Vec<(Duration, u64, u64)> = loaded
        .into_iter()
        .map(|l| l.expect("a node converged before its log said it started"))
        .collect();

    let after = redis.as_ref().map(Redis::info);
    let counts = responder.counts();
    let requests = counts.iter().map(|&c| u64::from(c)).sum();
    let max_requests = counts.iter().copied().max().unwrap_or(0);
    let (redis_commands, redis_calls, redis_memory) = match (&before, &after) {
        (Some(b), Some(a)) => {
            let mut calls: BTreeMap<String, u64> = a
                .calls
                .iter()
                .map(|(k, &v)| (k.clone(), v - b.calls.get(k).copied().unwrap_or(0)))
                .filter(|&(_, v)| v > 0)
                .collect();
            if let Some(info) = calls.get_mut("info") {
                *info = info.saturating_sub(own);
            }
            calls.retain(|_, v| *v > 0);
            (
                Some(a.total_commands - b.total_commands - own),
                calls,
                i64::try_from(a.used_memory).unwrap() - i64::try_from(b.used_memory).unwrap(),
            )
        }
        _ => (None, BTreeMap::new(), 0),
    };
    let mut per_node = Vec::new();
    for n in &mut nodes {
        let (hwm, rss) = n.memory();
        let status = n.status().unwrap();
        let certs = status["certificates"].as_array().unwrap();
        let from = |source: &str| certs.iter().filter(|c| c["source"] == source).count();
        per_node.push((n.name.clone(), hwm, rss, from("responder"), from("store")));
    }

    // Every file verifies; the fleet's are the responder's bytes, the same on every node.
    let mut bad_files = Vec::new();
    let mut differing = Vec::new();
    for i in 0..CERTS {
        let mut first: Option<Vec<u8>> = None;
        for n in &nodes {
            let bytes = match std::fs::read(n.out(i)) {
                Ok(b) => b,
                Err(e) => {
                    bad_files.push(format!("{}: {}: {e}", n.name, cert_name(i)));
                    continue;
                }
            };
            match leaves.verify(i, &bytes) {
                Ok(tu) if tu == i64::try_from(NOW - HOUR).unwrap() => {}
                Ok(tu) => bad_files.push(format!("{}: {}: thisUpdate {tu}", n.name, cert_name(i))),
                Err(e) => bad_files.push(format!("{}: {e}", n.name)),
            }
            if !responder.served(&bytes) {
                bad_files.push(format!(
                    "{}: {}: bytes the responder never served",
                    n.name,
                    cert_name(i)
                ));
            }
            match &first {
                None => first = Some(bytes),
                Some(f) if *f != bytes => {
                    differing.push(format!("{}: {}", n.name, cert_name(i)));
                }
                Some(_) => {}
            }
        }
    }

    let mut log_problems = Vec::new();
    for n in &mut nodes {
        assert_eq!(n.stop(), Some(0), "{arm:?}: {} did not exit 0", n.name);
        let log = n.log();
        let problems: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("warning: ") || l.contains("error: "))
            .collect();
        log_problems.push((
            problems.len(),
            problems.iter().take(5).map(|l| (*l).to_owned()).collect(),
        ));
    }
    Measured {
        arm,
        wall,
        requests,
        max_requests,
        redis_commands,
        redis_calls,
        redis_memory,
        nodes: per_node,
        loaded,
        log_problems,
        bad_files,
        differing,
    }
}

fn report(m: &Measured) {
    let name = match m.arm {
        Arm::Fleet => "fleet (three daemons, one redis-server)",
        Arm::Peers => "peers (three daemons, no store)",
    };
    println!("{name}:");
    let last_loaded = m.loaded.iter().map(|l| l.0).max().unwrap_or_default();
    println!(
        "  converged: every node lists {CERTS} certificates with a good proof after {:.1} s \
         (the last node had loaded its configuration after {:.1} s: {:.1} s of fetching after \
         that)",
        m.wall.as_secs_f64(),
        last_loaded.as_secs_f64(),
        (m.wall.saturating_sub(last_loaded)).as_secs_f64()
    );
    println!(
        "  responder requests: {} ({:.3} per certificate; at most {} for one certificate)",
        m.requests,
        per_cert(m.requests),
        m.max_requests
    );
    match m.redis_commands {
        Some(c) => {
            let calls: Vec<String> = m
                .redis_calls
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            // What clients send; the rest run inside the Lua scripts (EVALSHA).
            let sent: u64 = m
                .redis_calls
                .iter()
                .filter(|(k, _)| {
                    k.starts_with("eval")
                        || k.starts_with("script")
                        || k.starts_with("fcall")
                        || k.contains("subscribe")
                        || k.starts_with("client")
                        || ["ping", "hello", "auth", "select", "readonly"].contains(&k.as_str())
                })
                .map(|(_, v)| v)
                .sum();
            println!(
                "  Redis commands: {c} ({:.2} per certificate: {}), of which {sent} sent by the \
                 nodes ({:.2} per certificate) and the rest run by their Lua scripts; \
                 used_memory {:+} bytes ({:.0} per certificate)",
                per_cert(c),
                calls.join(", "),
                per_cert(sent),
                m.redis_memory,
                m.redis_memory as f64 / CERTS as f64
            );
        }
        None => println!("  Redis commands: none (no store)"),
    }
    for (((name, hwm, rss, responder, store), (problems, first)), (at, hwm0, rss0)) in
        m.nodes.iter().zip(&m.log_problems).zip(&m.loaded)
    {
        println!(
            "  {name}: VmHWM {hwm} KiB ({:.0} bytes per certificate), VmRSS {rss} KiB \
             (configuration loaded after {:.1} s with VmHWM {hwm0} KiB, VmRSS {rss0} KiB); \
             installed {responder} from the responder, {store} from the store; {problems} \
             warning or error lines",
            (*hwm * 1024) as f64 / CERTS as f64,
            at.as_secs_f64()
        );
        for line in first {
            println!("    {line}");
        }
    }
    println!(
        "  files: {} bad, {} differing between nodes",
        m.bad_files.len(),
        m.differing.len()
    );
}

#[test]
#[ignore = "a benchmark of minutes: cargo test --release -p mailstaple --test fleet_bench -- --ignored --nocapture"]
fn three_daemons_ten_thousand_certificates() {
    if !redis_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // MAILSTAPLE_BENCH_KEEP=1 keeps the nodes' configurations, logs and status files.
    let (root, _tmp) = if std::env::var_os("MAILSTAPLE_BENCH_KEEP").is_some() {
        let root = tmp.keep();
        eprintln!("keeping {}", root.display());
        (root, None)
    } else {
        (tmp.path().to_path_buf(), Some(tmp))
    };
    let t = Instant::now();
    let leaves = Arc::new(Leaves::issue(&root));
    eprintln!(
        "issued and wrote {CERTS} P-256 leaves in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let responder = Responder::start(Arc::clone(&leaves));

    let fleet = run_arm(Arm::Fleet, &root.join("fleet"), &leaves, &responder);
    report(&fleet);
    responder.reset();
    let peers = run_arm(Arm::Peers, &root.join("peers"), &leaves, &responder);
    report(&peers);
    println!(
        "fleet / peers: {:.2}x the time, {:.3}x the responder requests",
        fleet.wall.as_secs_f64() / peers.wall.as_secs_f64(),
        fleet.requests as f64 / peers.requests as f64
    );

    for m in [&fleet, &peers] {
        assert!(
            m.bad_files.is_empty(),
            "{:?}: {} files do not verify, first: {:?}",
            m.arm,
            m.bad_files.len(),
            &m.bad_files[..m.bad_files.len().min(5)]
        );
    }
    assert!(
        per_cert(fleet.requests) <= MAX_REQUESTS_PER_CERT,
        "fleet: {} responder requests for {CERTS} certificates ({:.3} per certificate, target \
         {MAX_REQUESTS_PER_CERT})",
        fleet.requests,
        per_cert(fleet.requests)
    );
    assert!(
        fleet.differing.is_empty(),
        "fleet: {} proofs differ between nodes, first: {:?}",
        fleet.differing.len(),
        &fleet.differing[..fleet.differing.len().min(5)]
    );
    let installs: usize = fleet.nodes.iter().map(|n| n.3 + n.4).sum();
    assert_eq!(
        installs,
        NODES.len() * CERTS,
        "fleet: every proof has a source"
    );
    assert!(
        fleet.redis_commands.is_some_and(|c| c >= CERTS as u64),
        "fleet: {:?} Redis commands for {CERTS} certificates",
        fleet.redis_commands
    );
}
