//! The HTTP server in process, over loopback, with short timeouts: keep-alive, GET and POST,
//! slow and oversized clients, the connection limit, index reloads and graceful shutdown.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailstaple_ocsp::{
    CertId, CertStatus, CertView, HashAlgorithm, OcspResponse, Time, build_request,
};
use mailstaple_responder::{
    Responder, ResponderConfig, Server, ServerConfig, ServerHandle, ShiftedClock, SigningKey,
};
use mailstaple_testpki::{KeyAlg, NOW, Pki};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const GOOD: &str = "V\t260830000000Z\t\t1001\tunknown\t/CN=mail.example.test\n";
const REVOKED: &str =
    "R\t260830000000Z\t260520000000Z,keyCompromise\t1001\tunknown\t/CN=mail.example.test\n";

struct Running {
    addr: SocketAddr,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
    index_path: std::path::PathBuf,
}

fn config() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.header_timeout = Duration::from_millis(400);
    c.body_timeout = Duration::from_millis(400);
    c.write_timeout = Duration::from_millis(400);
    c.reload_interval = Duration::from_millis(50);
    c.shutdown_grace = Duration::from_secs(2);
    c
}

async fn start(config: ServerConfig) -> Running {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = tempfile::tempdir().unwrap();
    let index_path = dir.path().join("index.txt");
    std::fs::write(&index_path, GOOD).unwrap();
    let now = Time::from_unix(NOW as i64);
    let key = SigningKey::from_file_contents(pki.signer.key_pem().as_bytes()).unwrap();
    let index = mailstaple_responder::load_index(&index_path).unwrap();
    let responder = Responder::new(
        &pki.intermediate.der,
        Some(&pki.signer.der),
        key,
        index,
        &ResponderConfig::default(),
        now,
    )
    .unwrap();
    let server = Server::new(
        Arc::new(responder),
        config,
        Arc::new(ShiftedClock::starting_at(now)),
    )
    .watch_index(index_path.clone());
    let handle = server.handle();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(server.serve(listener));
    Running {
        addr,
        handle,
        task,
        _dir: dir,
        index_path,
    }
}

fn request(nonce: bool) -> Vec<u8> {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let id = CertId::new(
        &CertView::parse(&pki.leaf.der).unwrap(),
        &CertView::parse(&pki.intermediate.der).unwrap(),
        HashAlgorithm::Sha1,
    );
    build_request(&[id], nonce.then_some(&[3u8; 16][..]))
}

fn post(req: &[u8]) -> Vec<u8> {
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\nContent-Length: {}\r\n\r\n",
        req.len()
    );
    [head.as_bytes(), req].concat()
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = c.iter().fold(0u32, |a, &b| a << 8 | u32::from(b)) << (8 * (3 - c.len()));
        for i in 0..4 {
            s.push(if i <= c.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    s
}

fn get(req: &[u8]) -> Vec<u8> {
    let path = b64(req)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!("GET /{path} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes()
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn status_of_leaf(&self) -> CertStatus {
        let resp = OcspResponse::parse(&self.body).unwrap();
        resp.basic.unwrap().responses[0].status
    }
}

/// Reads one response (head, then Content-Length bytes) from `s`; `None` if the connection closes
/// first.
async fn read_reply(s: &mut TcpStream) -> Option<Reply> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(": ")
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Reply {
        status,
        headers,
        body,
    })
}

async fn exchange(addr: SocketAddr, raw: &[u8]) -> Option<Reply> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.ok()?;
    read_reply(&mut s).await
}

/// Whether the server closes `s` within `within` (reading and discarding anything it sends).
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_post_on_one_kept_alive_connection() {
    let srv = start(config()).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(&post(&request(false))).await.unwrap();
    let first = read_reply(&mut s).await.unwrap();
    s.write_all(&get(&request(false))).await.unwrap();
    let second = read_reply(&mut s).await.unwrap();
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(
        first.body, second.body,
        "cached: the same bytes by POST and GET"
    );
    assert_eq!(first.status_of_leaf(), CertStatus::Good);
    assert_eq!(
        second.header("content-type"),
        Some("application/ocsp-response")
    );
    assert_eq!(
        second.header("last-modified"),
        Some("Mon, 01 Jun 2026 00:00:00 GMT")
    );
    assert!(second.header("etag").is_some() && second.header("expires").is_some());
    assert!(
        second
            .header("cache-control")
            .unwrap()
            .starts_with("max-age=")
    );
    // A nonce request on the same connection: fresh bytes, nonce echoed.
    s.write_all(&post(&request(true))).await.unwrap();
    let third = read_reply(&mut s).await.unwrap();
    let resp = OcspResponse::parse(&third.body).unwrap();
    assert_eq!(resp.basic.unwrap().nonce(), Some(&[3u8; 16][..]));
    assert_eq!(third.header("cache-control"), Some("no-store"));
    // Other methods.
    s.write_all(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .await
        .unwrap();
    let put = read_reply(&mut s).await.unwrap();
    assert_eq!((put.status, put.header("allow")), (405, Some("GET, POST")));
    assert_eq!(srv.handle.stats().requests, 4);
    srv.handle.shutdown();
    srv.task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_oversized_clients_lose_their_connection_not_the_server() {
    let srv = start(config()).await;
    // Slowloris: a head that never ends is cut off after the head timeout.
    let mut slow = TcpStream::connect(srv.addr).await.unwrap();
    slow.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut slow, Duration::from_secs(3)).await);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // An idle kept-alive connection too.
    let mut idle = TcpStream::connect(srv.addr).await.unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(3)).await);
    // A body that stops short: 408 after the body timeout.
    let mut short = TcpStream::connect(srv.addr).await.unwrap();
    short
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .unwrap();
    assert_eq!(read_reply(&mut short).await.unwrap().status, 408);
    // A declared oversized body: 413 at once, without reading it.
    let big = exchange(
        srv.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n",
    )
    .await
    .unwrap();
    assert_eq!((big.status, big.header("connection")), (413, Some("close")));
    // A chunked body that grows past the limit.
    let chunk = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4000\r\n{}\r\n4000\r\n{}\r\n0\r\n\r\n",
        "a".repeat(0x4000),
        "b".repeat(0x4000)
    );
    assert_eq!(
        exchange(srv.addr, chunk.as_bytes()).await.unwrap().status,
        413
    );
    // A head over 8 KiB.
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "A".repeat(20_000));
    assert_eq!(
        exchange(srv.addr, long.as_bytes()).await.map(|r| r.status),
        Some(431)
    );
    // Garbage that is not HTTP.
    let garbage = exchange(
        srv.addr,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
    )
    .await;
    assert!(garbage.is_none_or(|r| r.status == 400));
    // Through all of it, the server answers.
    let ok = exchange(srv.addr, &post(&request(false))).await.unwrap();
    assert_eq!((ok.status, ok.status_of_leaf()), (200, CertStatus::Good));
    srv.handle.shutdown();
    srv.task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_limit_queues_and_slow_clients_free_their_slots() {
    let mut c = config();
    c.max_connections = 2;
    let srv = start(c).await;
    let mut hogs = Vec::new();
    for _ in 0..2 {
        let mut h = TcpStream::connect(srv.addr).await.unwrap();
        h.write_all(b"GET / HT").await.unwrap();
        hogs.push(h);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(srv.handle.stats().open_connections, 2);
    // The third client waits in the backlog until a slow one times out, then is served.
    let started = Instant::now();
    let reply = exchange(srv.addr, &post(&request(false))).await.unwrap();
    assert_eq!(reply.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "served only once a slot freed"
    );
    assert!(srv.handle.stats().open_connections <= 2);
    srv.handle.shutdown();
    srv.task.await.unwrap().unwrap();
}

async fn leaf_status(addr: SocketAddr) -> CertStatus {
    exchange(addr, &post(&request(false)))
        .await
        .unwrap()
        .status_of_leaf()
}

async fn wait_for_status(addr: SocketAddr, want: CertStatus) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while leaf_status(addr).await != want {
        assert!(Instant::now() < deadline, "still not {want:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_is_reloaded_on_change_and_on_request_and_a_bad_one_is_refused() {
    let srv = start(config()).await;
    // A connection kept open across reloads.
    let mut kept = TcpStream::connect(srv.addr).await.unwrap();
    assert_eq!(leaf_status(srv.addr).await, CertStatus::Good);
    replace(&srv.index_path, REVOKED);
    wait_for_status(
        srv.addr,
        CertStatus::Revoked {
            time: Time::from_civil(2026, 5, 20, 0, 0, 0).unwrap(),
            reason: Some(mailstaple_ocsp::CrlReason(1)),
        },
    )
    .await;
    assert_eq!(srv.handle.stats().reloads, 1);
    // A broken file is refused; the revocation stays in force.
    replace(&srv.index_path, "R\tgarbage\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    while srv.handle.stats().reload_failures == 0 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(matches!(
        leaf_status(srv.addr).await,
        CertStatus::Revoked { .. }
    ));
    // Asked to reload (as on SIGHUP), it reloads even when nothing seems to have changed.
    std::fs::write(&srv.index_path, GOOD).unwrap();
    srv.handle.reload();
    wait_for_status(srv.addr, CertStatus::Good).await;
    kept.write_all(&get(&request(false))).await.unwrap();
    assert_eq!(
        read_reply(&mut kept).await.unwrap().status_of_leaf(),
        CertStatus::Good
    );
    srv.handle.shutdown();
    srv.task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_graceful_and_prompt() {
    let mut c = config();
    c.header_timeout = Duration::from_secs(30);
    let srv = start(c).await;
    let mut idle = TcpStream::connect(srv.addr).await.unwrap();
    idle.write_all(&post(&request(false))).await.unwrap();
    assert_eq!(read_reply(&mut idle).await.unwrap().status, 200);
    let started = Instant::now();
    srv.handle.shutdown();
    srv.task.await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "idle keep-alive connections are closed, not waited for"
    );
    assert!(closed_within(&mut idle, Duration::from_secs(1)).await);
    assert!(
        TcpStream::connect(srv.addr).await.is_err(),
        "no longer listening"
    );
}
