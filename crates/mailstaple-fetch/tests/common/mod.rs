//! Shared test helpers: an in-process HTTP/1.1 OCSP responder on loopback whose every answer is
//! chosen by the test, faults included.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// What the responder saw.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub host: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What the responder does.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200, `application/ocsp-response`, these bytes.
    Ok(Vec<u8>),
    /// This status code, empty body.
    Status(u16),
    /// 200 with this content type.
    ContentType(String, Vec<u8>),
    /// Accept, read the request, never answer.
    Hang,
    /// Headers at once, then the body one byte every 200 ms.
    SlowBody(Vec<u8>),
    /// 200 with a body of this many bytes; `with_length` says whether Content-Length is sent.
    Oversized { len: usize, with_length: bool },
}

pub type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A loopback responder running on its own thread and runtime.
pub struct Responder {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Responder {
    pub fn start(handler: Handler) -> Responder {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let seen2 = Arc::clone(&seen);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        acc = listener.accept() => {
                            let Ok((sock, _)) = acc else { continue };
                            let handler = Arc::clone(&handler);
                            let seen = Arc::clone(&seen2);
                            tokio::spawn(async move { let _ = serve(sock, handler, seen).await; });
                        }
                    }
                }
            });
        });
        let addr = rx.recv().unwrap();
        Responder {
            addr,
            seen,
            shutdown: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn fixed(reply: Reply) -> Responder {
        Responder::start(Arc::new(move |_| reply.clone()))
    }

    pub fn url(&self) -> String {
        format!("http://{}/ocsp", self.addr)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    mut sock: TcpStream,
    handler: Handler,
    seen: Arc<Mutex<Vec<Seen>>>,
) -> std::io::Result<()> {
    let _ = sock.set_nodelay(true);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await?;
        if n == 0 || buf.len() > 65536 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let mut req = Seen {
        method: first.next().unwrap_or_default().to_owned(),
        target: first.next().unwrap_or_default().to_owned(),
        ..Seen::default()
    };
    let mut len = 0usize;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let v = v.trim().to_owned();
            match k.to_ascii_lowercase().as_str() {
                "host" => req.host = Some(v),
                "content-type" => req.content_type = Some(v),
                "content-length" => len = v.parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    req.body = body;
    let reply = handler(&req);
    seen.lock().unwrap().push(req);
    let head = |status: &str, ct: &str, len: Option<usize>| {
        let mut h = format!("HTTP/1.1 {status}\r\nContent-Type: {ct}\r\nConnection: close\r\n");
        if let Some(l) = len {
            h.push_str(&format!("Content-Length: {l}\r\n"));
        }
        h.push_str("\r\n");
        h.into_bytes()
    };
    match reply {
        Reply::Ok(b) => {
            sock.write_all(&head("200 OK", "application/ocsp-response", Some(b.len())))
                .await?;
            sock.write_all(&b).await?;
        }
        Reply::Status(code) => {
            sock.write_all(&head(&format!("{code} Oops"), "text/plain", Some(0)))
                .await?;
        }
        Reply::ContentType(ct, b) => {
            sock.write_all(&head("200 OK", &ct, Some(b.len()))).await?;
            sock.write_all(&b).await?;
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Reply::SlowBody(b) => {
            sock.write_all(&head("200 OK", "application/ocsp-response", Some(b.len())))
                .await?;
            for byte in b {
                sock.write_all(&[byte]).await?;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Reply::Oversized { len, with_length } => {
            sock.write_all(&head(
                "200 OK",
                "application/ocsp-response",
                with_length.then_some(len),
            ))
            .await?;
            let block = vec![0x30u8; 8192];
            let mut left = len;
            while left > 0 {
                let n = left.min(block.len());
                sock.write_all(&block[..n]).await?;
                left -= n;
            }
        }
    }
    sock.shutdown().await?;
    Ok(())
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
