//! The `require_staple` example run against the test PKI: a rustls server on loopback staples
//! a good proof, a revoked one or nothing, and the example reports Exim's value and reason.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::TcpListener;

use common::{pki, standard_server};
use mailstaple_testpki::{NOW, Status};

#[allow(dead_code)] // Its `main` reads the process arguments; the test passes them to `run`.
#[path = "../examples/require_staple.rs"]
mod require_staple;

/// Serves one handshake stapling `staple`, runs the example against it with `list`.
fn check(staple: Option<Vec<u8>>, list: &str, want: &str, proceeds: bool) {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, pki().root.pem()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        let config = standard_server(staple, &rustls::version::TLS13);
        let mut tls = rustls::ServerConnection::new(config).unwrap();
        while tls.is_handshaking() {
            if tls.complete_io(&mut tcp).is_err() {
                break;
            }
        }
    });

    let args = [
        addr.to_string(),
        common::SERVER_NAME.to_owned(),
        ca.to_str().unwrap().to_owned(),
        list.to_owned(),
        NOW.to_string(),
    ];
    let (report, delivery) = require_staple::run(&args).unwrap();
    server.join().unwrap();
    assert_eq!(report, want);
    assert_eq!(delivery.is_proceed(), proceeds, "{report}");
}

#[test]
fn require_staple_reports_exims_value_and_reason() {
    let good = pki().response().build();
    check(
        Some(good),
        "*",
        "tls_out_ocsp=4 proceed: Server certificate status verified good",
        true,
    );
    check(
        None,
        "127.0.0.1",
        "tls_out_ocsp=1 defer: TLS session: (SSL_connect) Required TLS certificate status not received",
        false,
    );
    // Not in the list: requested only (hosts_request_ocsp = *), so a missing staple is reported.
    check(
        None,
        "192.0.2.0/24",
        "tls_out_ocsp=1 proceed: TLS certificate status requested, none received",
        true,
    );
    let revoked = pki()
        .response()
        .status(Status::Revoked {
            time: NOW - 60,
            reason: Some(1),
        })
        .build();
    check(
        Some(revoked),
        "*",
        "tls_out_ocsp=3 defer: TLS session: (SSL_connect) Server certificate revoked; reason: keyCompromise",
        false,
    );
}
