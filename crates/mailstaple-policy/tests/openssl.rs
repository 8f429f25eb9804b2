//! Against a real server: `openssl s_server -status_file FILE` with a good, a revoked and no
//! staple, TLS 1.2 and 1.3, through a std `TcpStream` on loopback with the client clock at NOW.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{SERVER_NAME, pki, standard_client};
use mailstaple_policy::{Decision, Delivery, Mode, OcspStatus};
use mailstaple_testpki::{DAY, NOW, Status};
use rustls::ClientConnection;
use rustls::pki_types::ServerName;

/// Whether `openssl` runs; when it does not, fails under MAILSTAPLE_REQUIRE_PEERS=1 and skips
/// (with a message) otherwise.
fn openssl_or_skip() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("MAILSTAPLE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "openssl not installed and MAILSTAPLE_REQUIRE_PEERS=1"
        );
        eprintln!("skipped: openssl not installed");
    }
    ok
}

/// An `openssl s_server` child, killed (by its own handle) when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, staple: Option<&[u8]>, tls_flag: &str) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new("openssl");
    cmd.arg("s_server")
        .arg("-accept")
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(dir.join("leaf.pem"))
        .arg("-key")
        .arg(dir.join("leaf.key"))
        .arg("-cert_chain")
        .arg(dir.join("issuer.pem"))
        .arg(tls_flag)
        .arg("-www")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(staple) = staple {
        let file = dir.join(format!("staple-{port}.der"));
        std::fs::write(&file, staple).unwrap();
        cmd.arg("-status_file").arg(file);
    }
    let child = cmd.spawn().unwrap();
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn deliver(server: &Server, mode: Mode) -> Delivery {
    let conn = standard_client().connect(Decision::fixed(mode)).unwrap();
    let mut tls =
        ClientConnection::new(conn.config(), ServerName::try_from(SERVER_NAME).unwrap()).unwrap();
    let mut sock = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    while tls.is_handshaking() {
        if let Err(e) = tls.complete_io(&mut sock) {
            return conn.conclude(Err(&e));
        }
    }
    conn.conclude(Ok(()))
}

fn defer(value: OcspStatus, text: &str) -> Delivery {
    Delivery::Defer {
        tls_out_ocsp: value,
        message: format!("TLS session: (SSL_connect) {text}"),
        clear_text_fallback: false,
    }
}

#[test]
fn openssl_s_server_good_revoked_none() {
    if !openssl_or_skip() {
        return;
    }
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    p.write_pem_files(dir.path()).unwrap();
    let good = p.response().build();
    let revoked = p
        .response()
        .status(Status::Revoked {
            time: NOW - DAY,
            reason: Some(1),
        })
        .build();
    let revoked_text = "Server certificate revoked; reason: keyCompromise";
    for flag in ["-tls1_2", "-tls1_3"] {
        let server = start(dir.path(), Some(&good), flag);
        for mode in [Mode::Request, Mode::Require] {
            assert_eq!(
                deliver(&server, mode),
                Delivery::Proceed {
                    tls_out_ocsp: OcspStatus::Verified
                },
                "{flag} good {mode}"
            );
        }
        assert_eq!(
            deliver(&server, Mode::NotRequested),
            Delivery::Proceed {
                tls_out_ocsp: OcspStatus::NotRequested
            }
        );
        drop(server);

        let server = start(dir.path(), Some(&revoked), flag);
        for mode in [Mode::Request, Mode::Require] {
            assert_eq!(
                deliver(&server, mode),
                defer(OcspStatus::Failed, revoked_text),
                "{flag} revoked {mode}"
            );
        }
        drop(server);

        let server = start(dir.path(), None, flag);
        assert_eq!(
            deliver(&server, Mode::Request),
            Delivery::Proceed {
                tls_out_ocsp: OcspStatus::NotResponded
            },
            "{flag} none request"
        );
        assert_eq!(
            deliver(&server, Mode::Require),
            defer(
                OcspStatus::NotResponded,
                "Required TLS certificate status not received"
            ),
            "{flag} none require"
        );
    }
}
