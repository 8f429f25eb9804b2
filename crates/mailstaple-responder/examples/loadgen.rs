//! A small closed-loop HTTP load generator for OCSP responders, to compare `mailstaple respond`
//! with `openssl ocsp -port` under the same client load. Loopback use only.
//!
//! ```text
//! cargo run --release -p mailstaple-responder --example loadgen -- setup DIR [SERIALS]
//! cargo run --release -p mailstaple-responder --example loadgen -- \
//!     ADDR REQUEST.der CONNECTIONS SECONDS [post|get] [close|keepalive]
//! ```
//!
//! `setup` writes the test PKI (ECDSA P-256) as PEM files into DIR, an `index.txt` listing the
//! leaf as valid and the other leaf as revoked (and SERIALS more valid lines, for a large CA's
//! index), and two requests for the leaf: `req.der` (SHA-1
//! CertID, no nonce) and `req-nonce.der` (with a 16-octet nonce).
//!
//! Each of CONNECTIONS threads sends the request again and again for SECONDS seconds (bounded),
//! on a new connection each time (`close`, as `openssl ocsp` clients do) or on one kept-alive
//! connection, checks that every answer is a successful `OCSPResponse`, and the totals are
//! printed as requests per second.

// A benchmark tool run by hand: a failure is reported by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use mailstaple_ocsp::{
    CertId, CertView, HashAlgorithm, OcspResponse, ResponseStatus, build_request,
};
use mailstaple_testpki::{KeyAlg, Pki};

fn setup(dir: &std::path::Path, extra: usize) {
    use std::fmt::Write as _;
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    pki.write_pem_files(dir).unwrap();
    let mut index = String::from(
        "V\t260830000000Z\t\t1001\tunknown\t/CN=mail.example.test\n\
         R\t260830000000Z\t260520120000Z,keyCompromise\t1002\tunknown\t/CN=other.example.test\n",
    );
    for i in 0..extra {
        let _ = writeln!(
            index,
            "V\t270601000000Z\t\t{:06X}\tunknown\t/CN=c{i}",
            0x10_0000 + i
        );
    }
    std::fs::write(dir.join("index.txt"), index).unwrap();
    let id = CertId::new(
        &CertView::parse(&pki.leaf.der).unwrap(),
        &CertView::parse(&pki.intermediate.der).unwrap(),
        HashAlgorithm::Sha1,
    );
    std::fs::write(
        dir.join("req.der"),
        build_request(std::slice::from_ref(&id), None),
    )
    .unwrap();
    std::fs::write(
        dir.join("req-nonce.der"),
        build_request(&[id], Some(&[0x5a; 16])),
    )
    .unwrap();
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

/// Reads one response; returns its body, or `None` when the connection ends first.
fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse::<usize>().unwrap());
            match len {
                Some(len) if buf.len() >= end + 4 + len => {
                    let body = buf[end + 4..end + 4 + len].to_vec();
                    buf.drain(..end + 4 + len);
                    return Some(body);
                }
                None if buf.len() > end + 4 => {
                    // No length: the body runs to the end of the connection.
                    while let Ok(n) = s.read(&mut chunk) {
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = buf[end + 4..].to_vec();
                    buf.clear();
                    return Some(body);
                }
                _ => {}
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if (3..=4).contains(&args.len()) && args[1] == "setup" {
        let extra = args
            .get(3)
            .map_or(0, |n| n.parse().expect("SERIALS is a number"));
        setup(std::path::Path::new(&args[2]), extra);
        return;
    }
    if args.len() < 5 {
        eprintln!(
            "usage: loadgen ADDR REQUEST.der CONNECTIONS SECONDS [post|get] [close|keepalive]"
        );
        std::process::exit(2);
    }
    let addr: SocketAddr = args[1].parse().expect("ADDR is IP:PORT");
    assert!(addr.ip().is_loopback(), "loopback only");
    let request = std::fs::read(&args[2]).expect("readable request");
    let connections: usize = args[3].parse().expect("CONNECTIONS");
    let seconds: u64 = args[4].parse::<u64>().expect("SECONDS").min(120);
    let get = args.get(5).is_some_and(|m| m == "get");
    let keepalive = args.get(6).is_some_and(|m| m == "keepalive");
    let connection = if keepalive { "keep-alive" } else { "close" };
    let raw: Vec<u8> = if get {
        let path = b64(&request)
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        format!("GET /{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: {connection}\r\n\r\n")
            .into_bytes()
    } else {
        let head = format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/ocsp-request\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n",
            request.len()
        );
        [head.as_bytes(), &request].concat()
    };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let raw = raw.clone();
            std::thread::spawn(move || {
                let (mut ok, mut failed) = (0u64, 0u64);
                let mut stream: Option<TcpStream> = None;
                let mut buf = Vec::new();
                while Instant::now() < deadline {
                    if stream.is_none() {
                        buf.clear();
                        stream = TcpStream::connect(addr).ok();
                        if let Some(s) = &stream {
                            s.set_nodelay(true).unwrap();
                            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                        }
                    }
                    let Some(s) = stream.as_mut() else {
                        failed += 1;
                        continue;
                    };
                    let body = s
                        .write_all(&raw)
                        .ok()
                        .and_then(|()| read_response(s, &mut buf));
                    match body.as_deref().map(OcspResponse::parse) {
                        Some(Ok(r)) if r.status == ResponseStatus::Successful => ok += 1,
                        _ => {
                            failed += 1;
                            stream = None;
                        }
                    }
                    if !keepalive {
                        stream = None;
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    let (ok, failed) = workers
        .into_iter()
        .map(|w| w.join().unwrap())
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} {} {connections} connections: {ok} ok, {failed} failed in {secs:.1}s = {:.0} responses/s",
        if get { "GET" } else { "POST" },
        connection,
        ok as f64 / secs
    );
}
