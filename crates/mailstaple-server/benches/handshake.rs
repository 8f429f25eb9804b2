//! Handshake throughput with and without stapling, and the cost of choosing a certificate and
//! its proof with one server name against 10,000.
//!
//! Handshakes are full (no resumption) in-memory rustls client/server pairs, ECDSA P-256, the
//! client checking the handshake signature; "stapled" and "unstapled" use the same
//! [`StapleProvider`] setup, the second without `tls_ocsp_file`. The lookup bench calls
//! [`StapleProvider::select`], the whole handshake-time path (map lookup, key choice, clock
//! read, proof re-check, counters), for a fixed name and for names taken in turn from all
//! 10,000 (cache-cold).

// Benchmarks run on the test PKI's own data: a failure is a broken fixture, not peer input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mailstaple_server::{Config, StapleProvider};
use mailstaple_testpki::{KeyAlg, NOW, Pki};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, ServerConfig, ServerConnection,
    SignatureScheme,
};

const NAMES: usize = 10_000;

fn clock() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(NOW))
}

/// Accepts the certificate, checks the handshake signature, and asserts on the staple so a
/// broken setup cannot produce numbers.
#[derive(Debug)]
struct Client {
    want_staple: bool,
}

impl ServerCertVerifier for Client {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        ocsp: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        assert_eq!(!ocsp.is_empty(), self.want_staple);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(m, c, d, &algs)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(m, c, d, &algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn client(tls13: bool, want_staple: bool) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if tls13 {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS12]
    };
    let mut c = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Client { want_staple }))
        .with_no_client_auth();
    c.resumption = rustls::client::Resumption::disabled();
    Arc::new(c)
}

fn server(p: Arc<StapleProvider>) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(p),
    )
}

fn handshake(server: &Arc<ServerConfig>, client: &Arc<ClientConfig>, buf: &mut Vec<u8>) {
    let name = ServerName::try_from("mail.example.test").unwrap();
    let mut c = ClientConnection::new(Arc::clone(client), name).unwrap();
    let mut s = ServerConnection::new(Arc::clone(server)).unwrap();
    while c.is_handshaking() || s.is_handshaking() {
        buf.clear();
        while c.wants_write() {
            c.write_tls(buf).unwrap();
        }
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            s.read_tls(&mut rd).unwrap();
        }
        s.process_new_packets().unwrap();
        buf.clear();
        while s.wants_write() {
            s.write_tls(buf).unwrap();
        }
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            c.read_tls(&mut rd).unwrap();
        }
        c.process_new_packets().unwrap();
    }
}

fn build(config: String, names: impl IntoIterator<Item = String>) -> Arc<StapleProvider> {
    StapleProvider::builder(Config::parse(&config).unwrap(), clock)
        .sni_names(names)
        .build()
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_owned();
    std::fs::write(path("chain.pem"), pki.leaf.pem() + &pki.intermediate.pem()).unwrap();
    std::fs::write(path("leaf.key"), pki.leaf.key_pem()).unwrap();
    std::fs::write(path("ocsp.der"), pki.response().build()).unwrap();
    let base = format!(
        "tls_certificate = {}\ntls_privatekey = {}\n",
        path("chain.pem"),
        path("leaf.key")
    );

    let with = build(format!("{base}tls_ocsp_file = {}\n", path("ocsp.der")), []);
    let without = build(base.clone(), []);

    let mut g = c.benchmark_group("handshake");
    g.sample_size(40).measurement_time(Duration::from_secs(6));
    for (version, tls13) in [("tls13", true), ("tls12", false)] {
        for (label, provider, staple) in [("stapled", &with, true), ("unstapled", &without, false)]
        {
            let (s, cl) = (server(Arc::clone(provider)), client(tls13, staple));
            let mut buf = Vec::with_capacity(8192);
            g.bench_function(format!("{version}/{label}"), |b| {
                b.iter(|| handshake(&s, &cl, &mut buf))
            });
        }
    }
    g.finish();
    paired_throughput(&with, &without);

    // Per-SNI: the certificate is shared, each name has its own proof file (hard links).
    std::fs::create_dir(path("ocsp")).unwrap();
    let names: Vec<String> = (0..NAMES).map(|i| format!("n{i}.example.test")).collect();
    for n in &names {
        std::fs::hard_link(path("ocsp.der"), path(&format!("ocsp/{n}.der"))).unwrap();
    }
    let sni_config = format!("{base}tls_ocsp_file = {}/${{tls_sni}}.der\n", path("ocsp"));
    let one = build(sni_config.clone(), [names[NAMES / 2].clone()]);
    let many = build(sni_config, names.iter().cloned());
    let schemes = [
        SignatureScheme::ECDSA_NISTP256_SHA256,
        SignatureScheme::RSA_PSS_SHA256,
    ];

    let mut g = c.benchmark_group("lookup");
    g.sample_size(60).measurement_time(Duration::from_secs(4));
    let target = names[NAMES / 2].as_str();
    for (label, p) in [("1 name", &one), ("10000 names", &many)] {
        assert!(p.select(Some(target), &schemes).unwrap().stapled);
        g.bench_function(label, |b| {
            b.iter(|| black_box(p.select(black_box(Some(target)), &schemes)))
        });
    }
    let mut i = 0usize;
    g.bench_function("10000 names, each in turn", |b| {
        b.iter(|| {
            i = (i + 7919) % NAMES;
            black_box(many.select(Some(names[i].as_str()), &schemes))
        })
    });
    g.finish();
}

/// On a shared machine separate criterion runs drift by more than the 3 % the target allows, so
/// the throughput ratio is also measured paired: rounds of 100 stapled and 100 unstapled
/// handshakes, alternating which goes first, and the median of the per-round ratios.
fn paired_throughput(with: &Arc<StapleProvider>, without: &Arc<StapleProvider>) {
    const ROUNDS: usize = 31;
    const PER_ROUND: usize = 100;
    for (version, tls13) in [("tls13", true), ("tls12", false)] {
        let stapled = (server(Arc::clone(with)), client(tls13, true));
        let unstapled = (server(Arc::clone(without)), client(tls13, false));
        let mut buf = Vec::with_capacity(8192);
        let mut time = |(s, c): &(Arc<ServerConfig>, Arc<ClientConfig>)| {
            let start = std::time::Instant::now();
            for _ in 0..PER_ROUND {
                handshake(s, c, &mut buf);
            }
            start.elapsed().as_secs_f64()
        };
        let mut ratios: Vec<f64> = (0..ROUNDS)
            .map(|r| {
                let (st, un) = if r % 2 == 0 {
                    let st = time(&stapled);
                    (st, time(&unstapled))
                } else {
                    let un = time(&unstapled);
                    (time(&stapled), un)
                };
                un / st
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "paired {version}: throughput stapled / unstapled = {:.3} (median of {ROUNDS} rounds of \
             {PER_ROUND}; range {:.3} .. {:.3})",
            ratios[ROUNDS / 2],
            ratios[0],
            ratios[ROUNDS - 1]
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
