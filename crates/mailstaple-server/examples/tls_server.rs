//! A tokio-rustls TLS server that staples the proof in a `tls_ocsp_file` and picks up its
//! replacements (a fetcher may rename a new proof over it at any time).
//!
//! ```text
//! cargo run -p mailstaple-server --example tls_server -- LISTEN CHAIN KEY PROOF [UNIX-TIME]
//! ```
//!
//! CHAIN holds the certificate then its issuer (PEM), KEY its private key, PROOF a DER OCSP
//! response. UNIX-TIME fixes the clock (handy with a test PKI); the default is the system clock.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use mailstaple_server::rustls::{self, pki_types::UnixTime};
use mailstaple_server::{Config, DEFAULT_POLL_INTERVAL, StapleProvider};
use tokio::{io::AsyncWriteExt as _, net::TcpListener};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ready = |addr| println!("listening on {addr}");
    tokio::runtime::Runtime::new()?.block_on(run(&args, ready))
}

/// The command line without the program name; `ready` is told the address it listens on.
pub(crate) async fn run(
    args: &[String],
    ready: impl FnOnce(SocketAddr),
) -> Result<(), Box<dyn std::error::Error>> {
    let [listen, chain, key, proof, rest @ ..] = args else {
        return Err("usage: tls_server LISTEN CHAIN KEY PROOF [UNIX-TIME]".into());
    };
    let at = rest.first().map(|t| t.parse::<u64>()).transpose()?;
    let listener = TcpListener::bind(listen.as_str()).await?;
    ready(listener.local_addr()?);
    serve(listener, [chain, key, proof], at).await
}

/// Serves TLS on `listener` with the CHAIN, KEY and PROOF files, stapling at every handshake.
async fn serve(
    listener: TcpListener,
    [chain, key, proof]: [&str; 3],
    at: Option<u64>,
) -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::parse(&format!(
        "tls_certificate = {chain}\ntls_privatekey = {key}\ntls_ocsp_file = {proof}\n"
    ))?;
    let clock = move || {
        at.map_or_else(UnixTime::now, |s| {
            UnixTime::since_unix_epoch(Duration::from_secs(s))
        })
    };
    let provider = StapleProvider::builder(config, clock).build()?;
    let _watcher = provider.watch(DEFAULT_POLL_INTERVAL)?; // re-reads PROOF when it changes
    let tls = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(provider);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    loop {
        let (tcp, peer) = listener.accept().await?;
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor.accept(tcp).await {
                Ok(mut tls) => {
                    let _ = tls
                        .write_all(b"hello; the handshake carried the current proof, if any\n")
                        .await;
                    let _ = tls.shutdown().await;
                }
                Err(e) => eprintln!("{peer}: {e}"),
            }
        });
    }
}
