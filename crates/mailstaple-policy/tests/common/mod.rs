//! Shared test helpers: a fixed clock, a rustls server stapling whatever the test says, and an
//! in-memory handshake between a rustls client and server (no sockets).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use mailstaple_policy::tls::PolicyClient;
use mailstaple_policy::{Decision, Delivery, TrustStore};
use mailstaple_testpki::{KeyAlg, NOW, Pki};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::time_provider::TimeProvider;
use rustls::{
    ClientConnection, HandshakeKind, ServerConfig, ServerConnection, SupportedProtocolVersion,
};

pub const SERVER_NAME: &str = "mail.example.test";

pub fn pki() -> &'static Pki {
    Pki::shared(KeyAlg::EcdsaP256)
}

/// rustls' clock, fixed at `secs`.
#[derive(Debug)]
pub struct FixedTime(pub u64);

impl TimeProvider for FixedTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            self.0,
        )))
    }
}

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

pub fn fixed_now() -> Arc<dyn TimeProvider> {
    Arc::new(FixedTime(NOW))
}

/// Always serves the same certified key.
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A server with the leaf's key, presenting `chain`, stapling `staple`, speaking only `version`,
/// with its clock at NOW.
pub fn server_config(
    chain: &[&[u8]],
    staple: Option<Vec<u8>>,
    version: &'static SupportedProtocolVersion,
) -> Arc<ServerConfig> {
    let provider = provider();
    let key = PrivateKeyDer::Pkcs8(pki().leaf.key.serialize_der().into());
    let chain = chain
        .iter()
        .map(|c| CertificateDer::from(c.to_vec()))
        .collect();
    let mut certified = CertifiedKey::from_der(chain, key, &provider).unwrap();
    certified.ocsp = staple;
    let config = ServerConfig::builder_with_details(provider, fixed_now())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(Arc::new(certified))));
    Arc::new(config)
}

/// The usual server: leaf and intermediate.
pub fn standard_server(
    staple: Option<Vec<u8>>,
    version: &'static SupportedProtocolVersion,
) -> Arc<ServerConfig> {
    let p = pki();
    server_config(&[&p.leaf.der, &p.intermediate.der], staple, version)
}

/// A client trusting the test root, its clock at NOW.
pub fn standard_client() -> PolicyClient {
    PolicyClient::new(
        TrustStore::from_der([pki().root.der.clone()]),
        provider(),
        fixed_now(),
    )
    .unwrap()
}

fn feed(
    from: &mut dyn FnMut(&mut Vec<u8>),
    to: &mut dyn FnMut(&mut &[u8]) -> Result<(), rustls::Error>,
) -> Result<bool, rustls::Error> {
    let mut buf = Vec::new();
    from(&mut buf);
    let moved = !buf.is_empty();
    let mut rd = &buf[..];
    while !rd.is_empty() {
        to(&mut rd)?;
    }
    Ok(moved)
}

/// Runs a handshake in memory; returns the client's result and the kind of handshake.
pub fn handshake(
    client_config: Arc<rustls::ClientConfig>,
    server_config: Arc<ServerConfig>,
) -> (Result<(), rustls::Error>, Option<HandshakeKind>) {
    let name = ServerName::try_from(SERVER_NAME).unwrap();
    let mut client = ClientConnection::new(client_config, name).unwrap();
    let mut server = ServerConnection::new(server_config).unwrap();
    let mut server_failed = false;
    for _ in 0..50 {
        let c2s = feed(
            &mut |buf| {
                while client.wants_write() {
                    client.write_tls(buf).unwrap();
                }
            },
            &mut |rd| {
                server.read_tls(rd).unwrap();
                if server.process_new_packets().is_err() {
                    server_failed = true;
                }
                Ok(())
            },
        )
        .unwrap();
        let s2c = feed(
            &mut |buf| {
                while server.wants_write() {
                    server.write_tls(buf).unwrap();
                }
            },
            &mut |rd| {
                client.read_tls(rd).unwrap();
                client.process_new_packets().map(|_| ())
            },
        );
        match s2c {
            Err(e) => return (Err(e), client.handshake_kind()),
            Ok(s2c) => {
                if !c2s && !s2c {
                    break;
                }
            }
        }
    }
    if client.is_handshaking() {
        let why = if server_failed {
            "server failed the handshake"
        } else {
            "handshake did not finish"
        };
        return (
            Err(rustls::Error::General(why.into())),
            client.handshake_kind(),
        );
    }
    (Ok(()), client.handshake_kind())
}

/// One connection with `decision` through the policy client, concluded.
pub fn connect(
    client: &PolicyClient,
    decision: Decision,
    server: Arc<ServerConfig>,
) -> (Delivery, Option<HandshakeKind>) {
    let conn = client.connect(decision).unwrap();
    let (result, kind) = handshake(conn.config(), server);
    let delivery = match &result {
        Ok(()) => conn.conclude(Ok(())),
        Err(e) => conn.conclude(Err(e)),
    };
    (delivery, kind)
}
