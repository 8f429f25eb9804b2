//! A downstream user of mailstaple, outside its workspace: serve a staple with
//! `mailstaple-server`, require it with `mailstaple-policy`, verify it with `mailstaple-verify`,
//! naming rustls only through the crates' re-exports. If this needs anything hidden, the public
//! API is incomplete.

#![forbid(unsafe_code)]

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mailstaple_policy::hostlist::{Env, Host, NamedLists};
use mailstaple_policy::tls::PolicyClient;
use mailstaple_policy::{ClientPolicy, Delivery, Options, TrustStore};
use mailstaple_server::rustls::pki_types::pem::PemObject as _;
use mailstaple_server::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use mailstaple_server::rustls::{self, ClientConnection, ServerConfig, ServerConnection};
use mailstaple_server::{Config, StapleProvider};
use mailstaple_verify::{Policy, VerifiedStaple, verify};

/// Any error, for the caller to print.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

/// Serve: a rustls server configuration for the `chain` and `key` files that staples the proof
/// in `proof` (an Exim `tls_ocsp_file`) while it is current at `now`.
pub fn serve(chain: &Path, key: &Path, proof: &Path, now: u64) -> Result<Arc<ServerConfig>, Error> {
    let config = Config::parse(&format!(
        "tls_certificate = {}\ntls_privatekey = {}\ntls_ocsp_file = {}\n",
        chain.display(),
        key.display(),
        proof.display()
    ))?;
    let provider = StapleProvider::builder(config, move || at(now)).build()?;
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(provider);
    Ok(Arc::new(config))
}

/// rustls' clock, fixed.
#[derive(Debug)]
struct Fixed(u64);

impl rustls::time_provider::TimeProvider for Fixed {
    fn current_time(&self) -> Option<UnixTime> {
        Some(at(self.0))
    }
}

/// Require: connects to `server` (in memory) as the host `name` at `ip`, trusting `roots_pem`,
/// requiring a verified staple when the host is in the host list `require`; returns what the
/// transport must do.
pub fn require(
    server: Arc<ServerConfig>,
    roots_pem: &[u8],
    require: &str,
    name: &str,
    ip: IpAddr,
    now: u64,
) -> Result<Delivery, Error> {
    let mut options = Options::default();
    options.hosts_require_ocsp = Some(require.to_owned());
    let policy = ClientPolicy::new(&options, &NamedLists::new())?;
    let decision = policy.decide(&Host::new(ip).with_name(name), &Env::new());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let trust = TrustStore::from_pem(roots_pem, "roots")?;
    let client = PolicyClient::new(trust, provider, Arc::new(Fixed(now)))?;
    let connection = client.connect(decision)?;

    let server_name = ServerName::try_from(name.to_owned())?;
    let mut client = ClientConnection::new(connection.config(), server_name)?;
    let mut server = ServerConnection::new(server)?;
    let handshake = in_memory_handshake(&mut client, &mut server);
    Ok(connection.conclude(handshake.as_ref().map_err(|e| e as _).copied()))
}

/// Moves bytes between the two ends until the client's handshake is over or fails.
fn in_memory_handshake(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
) -> Result<(), rustls::Error> {
    for _ in 0..20 {
        if !client.is_handshaking() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        while client.wants_write() {
            client
                .write_tls(&mut bytes)
                .map_err(|e| rustls::Error::General(e.to_string()))?;
        }
        let mut rd = bytes.as_slice();
        while !rd.is_empty() {
            server
                .read_tls(&mut rd)
                .map_err(|e| rustls::Error::General(e.to_string()))?;
        }
        // A server-side failure shows up as the alert it sends to the client.
        let _ = server.process_new_packets();
        bytes.clear();
        while server.wants_write() {
            server
                .write_tls(&mut bytes)
                .map_err(|e| rustls::Error::General(e.to_string()))?;
        }
        let mut rd = bytes.as_slice();
        while !rd.is_empty() {
            client
                .read_tls(&mut rd)
                .map_err(|e| rustls::Error::General(e.to_string()))?;
        }
        client.process_new_packets()?;
    }
    Err(rustls::Error::General(
        "the handshake did not finish".to_owned(),
    ))
}

/// Verify: the proof in `proof` (DER) for the certificate in `cert` issued by `issuer` (PEM)
/// at `now`.
pub fn check(proof: &Path, cert: &Path, issuer: &Path, now: u64) -> Result<VerifiedStaple, Error> {
    let proof = std::fs::read(proof)?;
    let cert = CertificateDer::from_pem_file(cert)?;
    let issuer = CertificateDer::from_pem_file(issuer)?;
    Ok(verify(&proof, &cert, &issuer, at(now), &Policy::default())?)
}
