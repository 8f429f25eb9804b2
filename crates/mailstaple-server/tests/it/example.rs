//! The `tls_server` example run against the test PKI: a client over loopback gets the proof
//! file stapled, and after the file is replaced, the new proof.

use std::time::{Duration, Instant};

use mailstaple_testpki::{KeyAlg, NOW, Pki};
use rustls::pki_types::ServerName;
use tokio::io::AsyncReadExt as _;

use crate::common::{Fixture, Version, client};

#[allow(dead_code)] // Its `main` reads the process arguments; the test passes them to `run`.
#[path = "../../examples/tls_server.rs"]
mod tls_server;

/// Connects once and returns the stapled bytes and the greeting.
async fn staple(addr: std::net::SocketAddr) -> (Vec<u8>, String) {
    let (config, recorder) = client(Version::Tls13, &[], true);
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("mail.example.test").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .unwrap();
    let mut greeting = String::new();
    tls.read_to_string(&mut greeting).await.unwrap();
    let ocsp = recorder.seen.lock().unwrap().ocsp.clone();
    (ocsp, greeting)
}

#[test]
fn tls_server_staples_the_file_and_its_replacement() {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let fx = Fixture::new();
    fx.leaf_files(pki, "");
    let first = pki.response().this_update(NOW - 3600).build();
    fx.write("proof.der", &first);
    let args = [
        "127.0.0.1:0".to_owned(),
        fx.p("chain.pem"),
        fx.p("leaf.key"),
        fx.p("proof.der"),
        NOW.to_string(),
    ];

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (ready, bound) = std::sync::mpsc::channel();
        let server = tokio::spawn(async move {
            let ready = move |addr| ready.send(addr).unwrap();
            tls_server::run(&args, ready)
                .await
                .map_err(|e| e.to_string())
        });
        let addr = bound.recv_timeout(Duration::from_secs(10)).unwrap();

        let (ocsp, greeting) = staple(addr).await;
        assert_eq!(ocsp, first);
        assert!(greeting.starts_with("hello"), "{greeting:?}");

        // A newer proof renamed over the file is stapled once the watcher has seen it.
        let second = pki.response().this_update(NOW - 60).build();
        assert_ne!(first, second);
        fx.replace("proof.der", &second);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (ocsp, _) = staple(addr).await;
            if ocsp == second {
                break;
            }
            assert_eq!(ocsp, first, "neither the old nor the new proof was stapled");
            assert!(
                Instant::now() < deadline,
                "the replacement was never stapled"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!server.is_finished(), "{:?}", server.await);
    });
}
