//! `mailstaple demo`: the whole story on an embedded default, in one process, over loopback.
//!
//! In a scratch directory: a test PKI (CA, delegated OCSP signer, must-staple mail server
//! certificate whose AIA names the responder), the OCSP responder answering from an OpenSSL
//! `index.txt`, the fetcher installing a verified proof, the SMTP server stapling it, and a client
//! with `hosts_require_ocsp = *` delivering a message. Then the certificate is revoked in the
//! index, the fetcher refreshes and installs the authentic revocation, the server stops stapling,
//! and the next delivery is deferred with Exim's reason. Each step's result is compared with the
//! expected one; the exit status is 0 only if all agree.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, anyhow, bail};
use mailstaple_fetch::{Error as FetchError, FetchOptions, Target, fetch_and_install};
use mailstaple_hostlist::{Env, Host, NamedLists};
use mailstaple_ocsp::Time;
use mailstaple_policy::tls::PolicyClient;
use mailstaple_policy::{ClientPolicy, Options as PolicyOptions, TrustStore};
use mailstaple_responder::{
    Index, Responder, ResponderConfig, Server as OcspServer, ServerConfig, SigningKey, SystemClock,
};
use mailstaple_server::{Config, Options as ServerTlsOptions, StapleProvider};
use mailstaple_smtp::client::{Message, Outcome, TlsMode};
use mailstaple_smtp::net::{ClientTls, ServerOptions, ServerTls, deliver, log_line, serve};
use mailstaple_smtp::spool::Spool;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{ServerName, UnixTime};

/// Options of `mailstaple demo`.
#[derive(clap::Args, Debug)]
pub(crate) struct DemoArgs {
    /// Keep the scratch files here (certificates, keys, index.txt, proofs, spool) instead of a
    /// temporary directory that is removed afterwards.
    #[arg(long)]
    out: Option<PathBuf>,
}

const DAY: i64 = 86_400;
const SERIAL: u64 = 0x1001;

struct Party {
    der: Vec<u8>,
    key: KeyPair,
}

pub(crate) fn run(args: DemoArgs) -> i32 {
    crate::init_logging("demo");
    let (dir, temporary) = match &args.out {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("mailstaple-demo-{}", std::process::id())),
            true,
        ),
    };
    let started = Instant::now();
    let result = std::fs::create_dir_all(&dir)
        .context("cannot create the scratch directory")
        .and_then(|()| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("cannot start the runtime")
        })
        .and_then(|rt| rt.block_on(story(&dir)));
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    match result {
        Ok(()) => {
            println!(
                "\nEvery step behaved as expected ({:.1} s).",
                started.elapsed().as_secs_f64()
            );
            0
        }
        Err(e) => {
            eprintln!("\nmailstaple demo: FAILED: {e:#}");
            1
        }
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

fn unix(secs: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

fn step(n: u32, text: &str) {
    println!("\n[{n}/6] {text}");
}

fn ok(text: &str) {
    println!("      ok: {text}");
}

async fn story(dir: &Path) -> Result<()> {
    println!(
        "mailstaple demo: OCSP stapling for mail, end to end, in {}",
        dir.display()
    );
    let now = now_secs();

    step(1, "A test PKI and an OCSP responder");
    let responder_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let ocsp_url = format!("http://{}/", responder_listener.local_addr()?);
    let (ca, signer, leaf) = make_pki(now, &ocsp_url)?;
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).with_context(|| format!("cannot write {name}"))
    };
    write("ca.pem", pem("CERTIFICATE", &ca.der).as_bytes())?;
    write(
        "chain.pem",
        format!(
            "{}{}",
            pem("CERTIFICATE", &leaf.der),
            pem("CERTIFICATE", &ca.der)
        )
        .as_bytes(),
    )?;
    write("leaf.key", leaf.key.serialize_pem().as_bytes())?;
    write("signer.pem", pem("CERTIFICATE", &signer.der).as_bytes())?;
    let index_path = dir.join("index.txt");
    write("index.txt", index_line(now, None).as_bytes())?;
    let index = Index::parse(&std::fs::read(&index_path)?).map_err(|e| anyhow!("{e}"))?;
    let key = SigningKey::from_der(&signer.key.serialize_der()).map_err(|e| anyhow!("{e}"))?;
    let responder = Arc::new(
        Responder::new(
            &ca.der,
            Some(&signer.der),
            key,
            index,
            &ResponderConfig::default(),
            Time::from_unix(now),
        )
        .map_err(|e| anyhow!("{e}"))?,
    );
    let ocsp = OcspServer::new(responder, ServerConfig::default(), Arc::new(SystemClock))
        .watch_index(index_path.clone());
    let ocsp_handle = ocsp.handle();
    tokio::spawn(ocsp.serve(responder_listener));
    ok(&format!(
        "CA, delegated OCSP signer and must-staple certificate mail.example.test (serial {SERIAL:x}); responder at {ocsp_url}"
    ));

    step(
        2,
        "The fetcher asks the responder (URL from the certificate) and installs a verified proof",
    );
    let proof_path = dir.join("mail.ocsp.der");
    let target = Target::new(leaf.der.clone(), ca.der.clone(), proof_path.clone(), None);
    let opts = FetchOptions::default();
    let checked = fetch_and_install(&target, &opts, unix(now), None, None)
        .await
        .map_err(|e| anyhow!("fetch: {e}"))?;
    ok(&format!(
        "installed {} ({}, refresh window until {})",
        proof_path.display(),
        checked.staple().status().name(),
        Time::from_unix(checked.validity().end)
    ));

    step(
        3,
        "The SMTP server staples it in STARTTLS; the client requires a verified proof",
    );
    let mut tls_opts = ServerTlsOptions::new();
    let set = |o: &mut ServerTlsOptions, k: &str, v: &Path| {
        o.set(k, &v.display().to_string())
            .map_err(|e| anyhow!("{e}"))
    };
    set(&mut tls_opts, "tls_certificate", &dir.join("chain.pem"))?;
    set(&mut tls_opts, "tls_privatekey", &dir.join("leaf.key"))?;
    set(&mut tls_opts, "tls_ocsp_file", &proof_path)?;
    let crypto = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let provider = StapleProvider::builder(
        Config::new(&tls_opts).map_err(|e| anyhow!("{e}"))?,
        UnixTime::now,
    )
    .crypto_provider(crypto.clone())
    .build()
    .map_err(|e| anyhow!("{e}"))?;
    let tls_config = rustls::ServerConfig::builder_with_provider(crypto.clone())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(provider.clone());
    let tls: Arc<dyn ServerTls> = Arc::new(Arc::new(tls_config));
    let spool = Arc::new(Spool::open(dir.join("spool"))?);
    let smtp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let smtp = smtp_listener.local_addr()?;
    tokio::spawn(serve(
        smtp_listener,
        ServerOptions::new("mail.example.test", spool, Some(tls)),
        std::future::pending(),
    ));
    let outcome = send(&ca, smtp, crypto.clone()).await?;
    match &outcome {
        (Outcome::Delivered { .. }, info) if info.ocsp == Some(4) => {
            ok("delivered with a verified staple (OCSP=4)")
        }
        (o, _) => bail!("the first delivery should succeed with OCSP=4: {o}"),
    }

    step(
        4,
        "The CA revokes the certificate in index.txt (keyCompromise)",
    );
    write("index.txt", index_line(now, Some(now)).as_bytes())?;
    ocsp_handle.reload();
    ok("index.txt rewritten; the responder reloads it (as on SIGHUP)");

    step(
        5,
        "The fetcher refreshes: the authentic revocation replaces the good proof",
    );
    let mut revoked = None;
    for _ in 0..50 {
        match fetch_and_install(&target, &opts, unix(now_secs()), None, None).await {
            Err(FetchError::RevokedInstalled(s)) => {
                revoked = Some(s);
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => bail!("refresh: {e}"),
        }
    }
    let status = revoked.ok_or_else(|| anyhow!("the responder never answered revoked"))?;
    ok(&format!(
        "fetcher: certificate {}; revoked proof installed",
        status.name()
    ));
    let report = tokio::task::spawn_blocking({
        let provider = provider.clone();
        move || provider.poll()
    })
    .await?;
    if report.revoked != 1 {
        bail!("the server should have read one revocation: {report:?}");
    }
    ok("server: read the revocation and stopped stapling (logged at error level)");

    step(
        6,
        "The next delivery with hosts_require_ocsp = * is deferred",
    );
    let (outcome, _) = send(&ca, smtp, crypto).await?;
    match &outcome {
        Outcome::Deferred { text, .. }
            if text.contains("Required TLS certificate status not received") =>
        {
            ok(
                "deferred: the server no longer staples, and the client refuses to go on without a proof",
            );
        }
        o => bail!("the second delivery should be deferred for want of a staple: {o}"),
    }
    ocsp_handle.shutdown();
    Ok(())
}

/// One delivery from a@x.test to b@y.test with `hosts_require_ocsp = *`, printing Exim's line.
async fn send(
    ca: &Party,
    addr: SocketAddr,
    crypto: Arc<rustls::crypto::CryptoProvider>,
) -> Result<(Outcome, mailstaple_smtp::net::DeliveryInfo)> {
    let mut options = PolicyOptions::default();
    options.hosts_require_ocsp = Some("*".into());
    let policy = ClientPolicy::new(&options, &NamedLists::new()).map_err(|e| anyhow!("{e}"))?;
    let decision = policy.decide(
        &Host::new(addr.ip()).with_name("mail.example.test"),
        &Env::new(),
    );
    let client = PolicyClient::new(
        TrustStore::from_der([ca.der.clone()]),
        crypto,
        Arc::new(rustls::time_provider::DefaultTimeProvider),
    )
    .map_err(|e| anyhow!("{e}"))?;
    let connection = client.connect(decision).map_err(|e| anyhow!("{e}"))?;
    let tls = ClientTls::new(connection, ServerName::try_from("mail.example.test")?);
    let message = Message::new(
        "a@x.test",
        vec!["b@y.test".into()],
        b"Subject: demo\n\nHello over verified TLS.\n".to_vec(),
    );
    let (outcome, info) = deliver(
        addr,
        "client.test",
        TlsMode::Required,
        Some(tls),
        message,
        Duration::from_secs(10),
    )
    .await;
    println!(
        "      {}",
        log_line("b@y.test", "mail.example.test", addr, &outcome, &info)
    );
    Ok((outcome, info))
}

fn index_line(now: i64, revoked_at: Option<i64>) -> String {
    let utc = |t: i64| {
        let (y, mo, d, h, mi, s) = Time::from_unix(t).to_civil();
        format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100)
    };
    let expiry = utc(now + 90 * DAY);
    match revoked_at {
        None => format!("V\t{expiry}\t\t{SERIAL:X}\tunknown\t/CN=mail.example.test\n"),
        Some(t) => format!(
            "R\t{expiry}\t{},keyCompromise\t{SERIAL:X}\tunknown\t/CN=mail.example.test\n",
            utc(t)
        ),
    }
}

fn odt(secs: i64) -> Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(secs).context("time out of range")
}

fn params(cn: &str, from: i64, until: i64) -> Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "mailstaple demo");
    p.not_before = odt(from)?;
    p.not_after = odt(until)?;
    Ok(p)
}

/// `SEQUENCE OF AccessDescription { id-ad-ocsp, uniformResourceIdentifier }` for a short URL.
fn aia(url: &str) -> Vec<u8> {
    let oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
    let mut uri = vec![0x86, url.len() as u8];
    uri.extend_from_slice(url.as_bytes());
    let mut ad = vec![0x30, (oid.len() + uri.len()) as u8];
    ad.extend_from_slice(&oid);
    ad.extend_from_slice(&uri);
    let mut out = vec![0x30, ad.len() as u8];
    out.extend(ad);
    out
}

/// (CA, delegated OCSP signer, leaf), ECDSA P-256, valid around `now`.
fn make_pki(now: i64, ocsp_url: &str) -> Result<(Party, Party, Party)> {
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    let ca_key = KeyPair::generate_for(alg)?;
    let mut ca_params = params("mailstaple demo CA", now - DAY, now + 365 * DAY)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_der = ca_params.self_signed(&ca_key)?.der().to_vec();
    let issuer = Issuer::new(ca_params, &ca_key);

    let signer_key = KeyPair::generate_for(alg)?;
    let mut sp = params("mailstaple demo OCSP signer", now - DAY, now + 180 * DAY)?;
    sp.serial_number = Some(0x2001u64.into());
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
    sp.custom_extensions.push(CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5],
        vec![0x05, 0x00],
    ));
    let signer = Party {
        der: sp.signed_by(&signer_key, &issuer)?.der().to_vec(),
        key: signer_key,
    };

    let leaf_key = KeyPair::generate_for(alg)?;
    let mut lp = params("mail.example.test", now - DAY, now + 90 * DAY)?;
    lp.subject_alt_names = vec![rcgen::SanType::DnsName("mail.example.test".try_into()?)];
    lp.serial_number = Some(SERIAL.into());
    lp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    lp.custom_extensions.push(CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 1],
        aia(ocsp_url),
    ));
    // TLS Feature status_request: must-staple.
    lp.custom_extensions.push(CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 24],
        vec![0x30, 0x03, 0x02, 0x01, 0x05],
    ));
    let leaf = Party {
        der: lp.signed_by(&leaf_key, &issuer)?.der().to_vec(),
        key: leaf_key,
    };
    Ok((
        Party {
            der: ca_der,
            key: ca_key,
        },
        signer,
        leaf,
    ))
}

fn pem(label: &str, der: &[u8]) -> String {
    mailstaple_ocsp::pem::encode(label, der)
}
