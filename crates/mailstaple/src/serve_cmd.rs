//! `mailstaple serve`: an SMTP server whose STARTTLS staples verified OCSP proofs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use mailstaple_ocsp::Time;
use mailstaple_server::{Config, DEFAULT_POLL_INTERVAL, Options, StapleProvider, TlsInOcsp};
use mailstaple_smtp::net::{ServerOptions, ServerTls, TlsReporter, serve};
use mailstaple_smtp::spool::Spool;
use rustls::pki_types::UnixTime;

/// Receive mail over SMTP, stapling OCSP proofs in STARTTLS as Exim's `tls_ocsp_file` does,
/// done right.
///
/// Every proof is verified against its certificate and issuer when its file is loaded and
/// checked against the clock at each handshake: an expired, revoked, unknown or foreign proof is
/// never stapled. A proof file atomically replaced (as `mailstaple fetch` does) is picked up
/// within a second, without a restart. Messages are acknowledged only once written and fsynced
/// to the spool directory. Options take Exim's list syntax (`:` separated, `<X` changes the
/// separator) and `$tls_sni` for per-name files.
///
/// With --config, the `[server]` section of the TOML file supplies `listen`, `hostname`,
/// `spool` and the TLS options (see `mailstaple config check --help`); a flag given on the
/// command line overrides the file's value. The whole file is checked first: any error stops the
/// server (exit 2) with the option and the problem.
#[derive(clap::Args, Debug)]
pub(crate) struct ServeArgs {
    /// The TOML configuration file (its `[server]` section; flags override it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where to listen [default: 127.0.0.1:25].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Exim `tls_certificate`: PEM chain files (leaf first, then its issuer), one per key type.
    #[arg(long)]
    tls_certificate: Option<String>,
    /// Exim `tls_privatekey`: the PEM keys, paired by position with the certificates.
    #[arg(long)]
    tls_privatekey: Option<String>,
    /// Exim `tls_ocsp_file`: the OCSP proofs, paired by position (`PEM `/`DER ` prefixes).
    #[arg(long)]
    tls_ocsp_file: Option<String>,
    /// The issuer certificates when the chain files lack them (mailstaple's own option).
    #[arg(long)]
    tls_ocsp_issuer: Option<String>,
    /// Server names to load `$tls_sni` files for (repeatable).
    #[arg(long = "sni-name")]
    sni_names: Vec<String>,
    /// The spool directory [default: spool].
    #[arg(long)]
    spool: Option<PathBuf>,
    /// Our host name in the greeting (default: this machine's host name).
    #[arg(long)]
    hostname: Option<String>,
    /// Exim's `smtp_accept_max`: connections served at once; one more gets `421` at once
    /// (0: no limit) [default: 100].
    #[arg(long)]
    smtp_accept_max: Option<usize>,
    /// Exim's `smtp_accept_max_per_host`: connections served at once from one client address;
    /// one more from it gets `421` at once while others are served (0: no limit) [default: 20].
    #[arg(long)]
    smtp_accept_max_per_host: Option<usize>,
    /// Exim's `smtp_receive_timeout`: how long to wait for each command or data chunk, in
    /// seconds or Exim's time syntax (`5m`, `1h30m`) [default: 5m].
    #[arg(long, value_parser = parse_exim_time)]
    smtp_receive_timeout: Option<u64>,
    /// The longest message line accepted, in octets with its CRLF (at least RFC 5321's 1000):
    /// longer lines are stored as received, not folded; a message with a line beyond this is
    /// refused with 500 5.5.2 [default: 8192].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1000..=1_048_576))]
    data_line_limit: Option<u64>,
    /// Judge proofs at this time instead of the clock (RFC 3339 or seconds).
    #[arg(long, hide = true, value_parser = crate::input::parse_time)]
    now: Option<Time>,
}

/// The staple provider as the SMTP server's TLS source: one configuration per connection, so the
/// log line can say what was stapled on it.
struct ProviderTls {
    provider: Arc<StapleProvider>,
    template: rustls::ServerConfig,
}

impl ServerTls for ProviderTls {
    fn for_connection(&self) -> (Arc<rustls::ServerConfig>, Option<TlsReporter>) {
        let (config, record) = self.provider.connection_config(&self.template);
        let report: TlsReporter =
            Box::new(
                move |_conn: &rustls::ServerConnection| match record.tls_in_ocsp() {
                    TlsInOcsp::Offered => "OCSP=stapled".to_string(),
                    TlsInOcsp::NoProof => "OCSP=none".to_string(),
                    _ => String::new(),
                },
            );
        (config, Some(report))
    }
}

pub(crate) fn run(mut args: ServeArgs) -> i32 {
    crate::init_logging("serve");
    if let Err(e) = apply_config(&mut args) {
        return crate::usage_error(&e);
    }
    let listen = args.listen.unwrap_or(DEFAULT_LISTEN);
    let prepared = match prepare(&args) {
        Ok(p) => p,
        Err(e) => return crate::usage_error(&e),
    };
    let (options, provider) = prepared;
    let _watcher = match provider
        .as_ref()
        .map(|p| p.watch(DEFAULT_POLL_INTERVAL))
        .transpose()
    {
        Ok(w) => w,
        Err(e) => return crate::usage_error(&anyhow!("cannot watch the proof files: {e}")),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return crate::usage_error(&anyhow!("cannot start the runtime: {e}")),
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("mailstaple serve: cannot listen on {listen}: {e}");
                return 1;
            }
        };
        let addr = listener.local_addr().map_or(listen, |a| a);
        println!("listening on smtp://{addr}/");
        log::info!(
            "listening on {addr}; STARTTLS {}",
            if options.tls.is_some() { "on" } else { "off" }
        );
        serve(listener, options, shutdown_signal()).await;
        log::info!("stopped");
        0
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

/// Where `serve` listens when neither a flag nor the file says.
const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 25);

/// Fills the options not given as flags from the configuration file's `[server]` section.
fn apply_config(args: &mut ServeArgs) -> Result<()> {
    let Some(path) = &args.config else {
        return Ok(());
    };
    let file = crate::config::load(path, "serve")?;
    let s = file.server;
    let value = |v: Option<mailstaple_config::Value>| v.map(|v| v.value);
    if args.listen.is_none()
        && let Some(l) = value(s.listen)
    {
        // load_checked has refused an unparseable address.
        args.listen = l.parse().ok();
    }
    if args.spool.is_none() {
        args.spool = value(s.spool).map(PathBuf::from);
    }
    if args.hostname.is_none() {
        args.hostname = value(s.hostname);
    }
    let number = |v: Option<mailstaple_config::Value<u64>>| v.map(|v| v.value);
    if args.smtp_accept_max.is_none() {
        args.smtp_accept_max =
            number(s.smtp_accept_max).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    }
    if args.smtp_accept_max_per_host.is_none() {
        args.smtp_accept_max_per_host =
            number(s.smtp_accept_max_per_host).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    }
    if args.smtp_receive_timeout.is_none() {
        args.smtp_receive_timeout = number(s.smtp_receive_timeout);
    }
    if args.data_line_limit.is_none() {
        args.data_line_limit = number(s.data_line_limit);
    }
    for (flag, from_file) in [
        (&mut args.tls_certificate, s.tls_certificate),
        (&mut args.tls_privatekey, s.tls_privatekey),
        (&mut args.tls_ocsp_file, s.tls_ocsp_file),
        (&mut args.tls_ocsp_issuer, s.tls_ocsp_issuer),
    ] {
        if flag.is_none() {
            *flag = value(from_file);
        }
    }
    Ok(())
}

/// `--smtp-receive-timeout`: seconds or an Exim time (`5m`, `1h30m`), from 1 s to a day.
fn parse_exim_time(text: &str) -> Result<u64, String> {
    mailstaple_config::exim_time(text)
        .filter(|s| (1..=86_400).contains(s))
        .ok_or_else(|| format!("{text:?}: not seconds or an Exim time such as 5m, from 1 s to 1d"))
}

/// The connection and line limits of the flags and the file over the defaults.
fn limits(args: &ServeArgs, mut options: ServerOptions) -> ServerOptions {
    if let Some(n) = args.smtp_accept_max {
        options.max_connections = n;
    }
    if let Some(n) = args.smtp_accept_max_per_host {
        options.max_connections_per_host = n;
    }
    if let Some(s) = args.smtp_receive_timeout {
        options.read_timeout = Duration::from_secs(s);
    }
    if let Some(n) = args.data_line_limit {
        options.limits.max_data_line = usize::try_from(n).unwrap_or(usize::MAX);
    }
    options
}

fn prepare(args: &ServeArgs) -> Result<(ServerOptions, Option<Arc<StapleProvider>>)> {
    let spool_dir = args.spool.clone().unwrap_or_else(|| PathBuf::from("spool"));
    let spool = Arc::new(
        Spool::open(&spool_dir)
            .with_context(|| format!("spool directory {}", spool_dir.display()))?,
    );
    let hostname = args
        .hostname
        .clone()
        .or_else(crate::hostlist_cmd::kernel_hostname)
        .unwrap_or_else(|| "localhost".into());
    let Some(cert) = &args.tls_certificate else {
        if args.tls_privatekey.is_some() || args.tls_ocsp_file.is_some() {
            anyhow::bail!("tls_privatekey and tls_ocsp_file need tls_certificate");
        }
        return Ok((
            limits(args, ServerOptions::new(hostname, spool, None)),
            None,
        ));
    };
    let mut opts = Options::new();
    opts.set("tls_certificate", cert)
        .map_err(|e| anyhow!("{e}"))?;
    let key = args.tls_privatekey.as_deref().unwrap_or(cert);
    opts.set("tls_privatekey", key)
        .map_err(|e| anyhow!("{e}"))?;
    if let Some(f) = &args.tls_ocsp_file {
        opts.set("tls_ocsp_file", f).map_err(|e| anyhow!("{e}"))?;
    }
    if let Some(i) = &args.tls_ocsp_issuer {
        opts.set("tls_ocsp_issuer", i).map_err(|e| anyhow!("{e}"))?;
    }
    let config = Config::new(&opts).map_err(|e| anyhow!("{e}"))?;
    let crypto = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let provider = match args.now {
        Some(t) => {
            let fixed = UnixTime::since_unix_epoch(Duration::from_secs(
                u64::try_from(t.unix()).unwrap_or(0),
            ));
            StapleProvider::builder(config, move || fixed)
        }
        None => StapleProvider::builder(config, UnixTime::now),
    }
    .sni_names(args.sni_names.iter().cloned())
    .crypto_provider(crypto.clone())
    .build()
    .map_err(|e| anyhow!("{e}"))?;
    for status in provider.status() {
        log::info!("{status:?}");
    }
    let template = rustls::ServerConfig::builder_with_provider(crypto)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("{e}"))?
        .with_no_client_auth()
        .with_cert_resolver(provider.clone());
    let tls: Arc<dyn ServerTls> = Arc::new(ProviderTls {
        provider: provider.clone(),
        template,
    });
    Ok((
        limits(args, ServerOptions::new(hostname, spool, Some(tls))),
        Some(provider),
    ))
}

/// What `run` does with `--config FILE` before it listens: the file applied and everything it
/// names loaded (for the agreement test with `config check`).
#[cfg(test)]
pub(crate) fn accepts(config: &std::path::Path) -> Result<()> {
    let mut args = ServeArgs {
        config: Some(config.to_path_buf()),
        listen: None,
        tls_certificate: None,
        tls_privatekey: None,
        tls_ocsp_file: None,
        tls_ocsp_issuer: None,
        sni_names: Vec::new(),
        spool: None,
        hostname: None,
        smtp_accept_max: None,
        smtp_accept_max_per_host: None,
        smtp_receive_timeout: None,
        data_line_limit: None,
        now: None,
    };
    apply_config(&mut args)?;
    prepare(&args).map(|_| ())
}
