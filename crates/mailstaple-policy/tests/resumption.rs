//! Resumption: rustls does not call the verifier on a resumed session, so a resumed connection
//! must never count as verified, and the configs this crate builds never resume.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::Arc;

use common::{handshake, pki, standard_client, standard_server};
use mailstaple_policy::tls::PolicyConnection;
use mailstaple_policy::{Decision, Delivery, Mode, OcspStatus};
use rustls::HandshakeKind;
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::version::{TLS12, TLS13};

fn good() -> Option<Vec<u8>> {
    Some(pki().response().build())
}

const VERIFIED: Delivery = Delivery::Proceed {
    tls_out_ocsp: OcspStatus::Verified,
};

/// The config with resumption forced on (what a careless caller might do).
fn forced(conn: &PolicyConnection) -> Arc<rustls::ClientConfig> {
    let mut config = (*conn.config()).clone();
    config.resumption = Resumption::store(Arc::new(ClientSessionMemoryCache::new(8)));
    Arc::new(config)
}

/// Two handshakes through one (forced) config: the first full, the second resumed.
fn twice(mode: Mode, version: &'static rustls::SupportedProtocolVersion) -> (Delivery, Delivery) {
    let client = standard_client();
    let server = standard_server(good(), version);
    let conn = client.connect(Decision::fixed(mode)).unwrap();
    let config = forced(&conn);
    let (result, kind) = handshake(config.clone(), server.clone());
    result.unwrap();
    assert_eq!(kind, Some(HandshakeKind::Full));
    let first = conn.conclude(Ok(()));
    let (result, kind) = handshake(config, server);
    result.unwrap();
    assert_eq!(kind, Some(HandshakeKind::Resumed), "{version:?}");
    (first, conn.conclude(Ok(())))
}

/// Even with resumption forced on, a resumed Require connection (no verifier call, no staple)
/// defers with Exim's "not received" text.
#[test]
fn resumed_require_connection_never_passes() {
    for version in [&TLS12, &TLS13] {
        let (first, second) = twice(Mode::Require, version);
        assert_eq!(first, VERIFIED);
        assert_eq!(
            second,
            Delivery::Defer {
                tls_out_ocsp: OcspStatus::NotResponded,
                message: "TLS session: (SSL_connect) Required TLS certificate status not received"
                    .into(),
                clear_text_fallback: false,
            }
        );
    }
}

/// A resumed Request connection reports 1, not an inherited 4.
#[test]
fn resumed_request_connection_reports_not_responded() {
    for version in [&TLS12, &TLS13] {
        let (first, second) = twice(Mode::Request, version);
        assert_eq!(first, VERIFIED);
        assert_eq!(
            second,
            Delivery::Proceed {
                tls_out_ocsp: OcspStatus::NotResponded
            }
        );
    }
}

/// The configs this crate builds never resume: the same connection config used twice gives two
/// full handshakes, each with a verified staple.
#[test]
fn policy_configs_never_resume() {
    for version in [&TLS12, &TLS13] {
        let client = standard_client();
        let server = standard_server(good(), version);
        for mode in [Mode::Require, Mode::Request] {
            let conn = client.connect(Decision::fixed(mode)).unwrap();
            for _ in 0..2 {
                let (result, kind) = handshake(conn.config(), server.clone());
                result.unwrap();
                assert_eq!(kind, Some(HandshakeKind::Full), "{version:?} {mode}");
                assert_eq!(conn.conclude(Ok(())), VERIFIED);
            }
        }
    }
}
