//! `mailstaple serve`: an SMTP server whose STARTTLS staples verified OCSP proofs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result, anyhow};
use mailstaple_config::FetchSelection;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};

use crate::metrics;
use mailstaple_fetch::Target;
use mailstaple_fetch::daemon::{DaemonConfig, DaemonEnv, EntryConfig, Level};
use mailstaple_ocsp::Time;
use mailstaple_server::{
    Config, DEFAULT_POLL_INTERVAL, OcspFormat, Options, StapleProvider, TlsInOcsp,
};
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
    /// Whose proofs `serve` fetches itself: `true` (every certificate whose `tls_ocsp_file`
    /// item is a DER file and which names an OCSP responder, or has a `[[fetch.certificate]]`
    /// entry writing that file), `false` (another fetcher writes them), or an Exim list of
    /// `tls_certificate` files [default: true].
    #[arg(long, value_name = "true|false|LIST")]
    fetch: Option<String>,
    /// Answer `/metrics` (Prometheus) and `/status` (JSON) over HTTP here: a port on
    /// 127.0.0.1, or an address and port (`metrics_listen` in `[server]`).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,
    /// The maximum age of a proof, in seconds or Exim's time syntax (`7d`): a proof whose
    /// thisUpdate is older is not stapled (nor installed by serve's own fetcher) even before its
    /// nextUpdate, and a proof without nextUpdate is stapled until thisUpdate plus this, as
    /// browsers judge (Chromium: a week) (`tls_ocsp_max_age` in `[server]`) [default: none].
    #[arg(long, value_name = "AGE", value_parser = crate::input::parse_max_age)]
    tls_ocsp_max_age: Option<u64>,
    /// Print what the running server staples for each certificate (as HAProxy's `show ssl
    /// ocsp-response`), from its `/status` at --metrics-listen or the file's `metrics_listen`,
    /// and exit: 0 every certificate stapled, 1 otherwise.
    #[arg(long)]
    status: bool,
    /// Judge proofs at this time instead of the clock (RFC 3339 or seconds).
    #[arg(long, hide = true, value_parser = crate::input::parse_time)]
    now: Option<Time>,
    /// Start the clock at this time and let it run (RFC 3339 or seconds); for tests.
    #[arg(long, hide = true, value_parser = crate::input::parse_time, conflicts_with = "now")]
    clock_start: Option<Time>,
    /// The configuration file, as loaded (its `[fetch]` settings and entries).
    #[arg(skip)]
    file: Box<mailstaple_config::File>,
}

/// The staple provider as the SMTP server's TLS source: one configuration per connection, so the
/// log line can say what was stapled on it.
struct ProviderTls {
    provider: Arc<StapleProvider>,
    template: rustls::ServerConfig,
    /// Handshakes by TLS version and whether a proof went with the certificate.
    handshakes: Family<metrics::Labels, Counter>,
}

impl ServerTls for ProviderTls {
    fn for_connection(&self) -> (Arc<rustls::ServerConfig>, Option<TlsReporter>) {
        let (config, record) = self.provider.connection_config(&self.template);
        let handshakes = self.handshakes.clone();
        let report: TlsReporter = Box::new(move |conn: &rustls::ServerConnection| {
            let version = match conn.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
                _ => "other",
            };
            let ocsp = record.tls_in_ocsp();
            let stapled = if ocsp == TlsInOcsp::Offered {
                "yes"
            } else {
                "no"
            };
            handshakes
                .get_or_create(&metrics::labels(&[
                    ("version", version),
                    ("stapled", stapled),
                ]))
                .inc();
            match ocsp {
                TlsInOcsp::Offered => "OCSP=stapled".to_string(),
                TlsInOcsp::NoProof => "OCSP=none".to_string(),
                _ => String::new(),
            }
        });
        (config, Some(report))
    }
}

pub(crate) fn run(mut args: ServeArgs) -> i32 {
    crate::init_logging("serve");
    if let Err(e) = apply_config(&mut args) {
        return crate::usage_error(&e);
    }
    if args.status {
        return show_status(&args);
    }
    let listen = args.listen.unwrap_or(DEFAULT_LISTEN);
    let prepared = match prepare(&args) {
        Ok(p) => p,
        Err(e) => return crate::usage_error(&e),
    };
    let Prepared {
        options,
        provider,
        fetcher,
        handshakes,
        clock,
    } = prepared;
    let fetch_status = metrics::FetchStatus::default();
    let fetcher = fetcher.map(|(config, mut env)| {
        env.status_sink = Some(fetch_status.sink());
        (config, env)
    });
    if let Some(listen) = &args.metrics_listen {
        let snapshot = serve_snapshot(
            provider.clone(),
            Arc::clone(&options.stats),
            handshakes,
            fetch_status,
            clock,
        );
        let addr = match metrics::parse_listen(listen) {
            Ok(a) => a,
            Err(e) => return crate::usage_error(&anyhow!("--metrics-listen {e}")),
        };
        if let Err(e) = metrics::start(addr, snapshot) {
            return crate::usage_error(&anyhow!("cannot serve metrics on {addr}: {e}"));
        }
    }
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
        let fetching = fetcher.map(|(config, env)| {
            log::info!(
                "keeping the proofs of {} certificate(s) fresh itself: {}",
                config.entries.len(),
                config
                    .entries
                    .iter()
                    .map(|e| format!("{} into {}", e.name, e.out.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            tokio::spawn(mailstaple_fetch::daemon::run(config, None, env))
        });
        serve(listener, options, shutdown_signal()).await;
        if let Some(task) = fetching {
            task.abort();
        }
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
    *args.file = file.clone();
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
    if args.metrics_listen.is_none() {
        args.metrics_listen = value(s.metrics_listen);
    }
    if args.tls_ocsp_max_age.is_none() {
        args.tls_ocsp_max_age = number(s.tls_ocsp_max_age);
    }
    if args.fetch.is_none() {
        args.fetch = s.fetch.map(|f| match f.value {
            mailstaple_config::FetchSelection::All => "true".to_owned(),
            mailstaple_config::FetchSelection::None => "false".to_owned(),
            other => other.files().join(" : "),
        });
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

/// What `run` needs: the server's options, its staple provider, and its own fetcher (the
/// configuration and environment of `mailstaple_fetch::daemon::run`) when it fetches any proof.
struct Prepared {
    options: ServerOptions,
    provider: Option<Arc<StapleProvider>>,
    fetcher: Option<(DaemonConfig, DaemonEnv)>,
    handshakes: Family<metrics::Labels, Counter>,
    clock: mailstaple_fetch::daemon::Clock,
}

/// The clock of `serve`: the system's, fixed at `--now`, or running from `--clock-start`.
fn clock(args: &ServeArgs) -> mailstaple_fetch::daemon::Clock {
    let system = || {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    };
    match (args.now, args.clock_start) {
        (Some(t), _) => {
            let fixed = t.unix();
            Arc::new(move || fixed)
        }
        (None, Some(t)) => {
            let (start, at) = (t.unix(), std::time::Instant::now());
            Arc::new(move || {
                start.saturating_add(i64::try_from(at.elapsed().as_secs()).unwrap_or(i64::MAX))
            })
        }
        (None, None) => Arc::new(system),
    }
}

/// The fetcher entries of the certificates `serve` keeps fresh itself (see `--fetch`): each
/// DER `tls_ocsp_file` item of a selected certificate, with the `[[fetch.certificate]]` entry
/// that writes the same file if there is one, else the certificate file (its chain) or
/// `tls_ocsp_issuer` as the issuer and its own responder URL. A certificate naming no responder
/// is left out with one line of log, as one with a PEM proof file (the fetcher writes DER).
fn self_fetch_entries(args: &ServeArgs, config: &Config) -> Vec<EntryConfig> {
    let selection = args
        .fetch
        .as_deref()
        .map_or(FetchSelection::All, FetchSelection::parse);
    if selection == FetchSelection::None {
        return Vec::new();
    }
    let names: Vec<Option<&str>> = if config.depends_on_sni() {
        std::iter::once(None)
            .chain(args.sni_names.iter().map(|n| Some(n.as_str())))
            .collect()
    } else {
        vec![None]
    };
    let from_file = args.file.fetch_certificates();
    let mut entries: Vec<EntryConfig> = Vec::new();
    for sni in names {
        let Ok(files) = config.files(sni) else {
            continue;
        };
        for f in files {
            let Some(ocsp) = &f.ocsp else { continue };
            if !selection.includes(&f.certificate) || entries.iter().any(|e| e.out == ocsp.path) {
                continue;
            }
            if ocsp.format != OcspFormat::Der {
                log::info!(
                    "not fetching the proof of {} myself: its tls_ocsp_file {} is PEM and the \
                     fetcher writes DER",
                    f.certificate.display(),
                    ocsp.path.display()
                );
                continue;
            }
            if let Some(c) = from_file.iter().find(|c| c.out == ocsp.path) {
                entries.push(EntryConfig::new(
                    c.name.clone(),
                    c.cert.clone(),
                    c.issuer.clone(),
                    c.out.clone(),
                    c.url.clone(),
                ));
                continue;
            }
            let issuer = f
                .issuer_file
                .clone()
                .unwrap_or_else(|| f.certificate.clone());
            match Target::load(&f.certificate, &issuer, ocsp.path.clone(), None)
                .and_then(|t| t.responder_url())
            {
                Ok(_) => {}
                Err(mailstaple_fetch::Error::NoOcspUrl) => {
                    log::info!(
                        "not fetching a proof for {}: it names no OCSP responder (usual since \
                         public CAs retired OCSP); its proof in {} must come from elsewhere",
                        f.certificate.display(),
                        ocsp.path.display()
                    );
                    continue;
                }
                Err(e) => {
                    log::warn!("not fetching a proof for {}: {e}", f.certificate.display());
                    continue;
                }
            }
            let stem = f.certificate.file_stem().map_or_else(
                || format!("certificate {}", f.index),
                |s| s.to_string_lossy().into_owned(),
            );
            let name = match sni {
                Some(n) => format!("{stem} ({n})"),
                None => stem,
            };
            entries.push(EntryConfig::new(
                name,
                f.certificate.clone(),
                issuer,
                ocsp.path.clone(),
                None,
            ));
        }
    }
    entries
}

/// The verification policy of the staples: the defaults, with `tls_ocsp_max_age`.
fn verify_policy(args: &ServeArgs) -> mailstaple_verify::Policy {
    let mut policy = mailstaple_verify::Policy::default();
    policy.max_age_secs = args.tls_ocsp_max_age;
    policy
}

fn prepare(args: &ServeArgs) -> Result<Prepared> {
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
        return Ok(Prepared {
            options: limits(args, ServerOptions::new(hostname, spool, None)),
            provider: None,
            fetcher: None,
            handshakes: Family::default(),
            clock: clock(args),
        });
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
    let now = clock(args);
    let entries = self_fetch_entries(args, &config);
    let provider_clock = Arc::clone(&now);
    let provider = StapleProvider::builder(config, move || {
        UnixTime::since_unix_epoch(Duration::from_secs(
            u64::try_from(provider_clock()).unwrap_or(0),
        ))
    })
    .sni_names(args.sni_names.iter().cloned())
    .crypto_provider(crypto.clone())
    .policy(verify_policy(args))
    .build()
    .map_err(|e| anyhow!("{e}"))?;
    let at = now();
    for status in provider.status() {
        log::info!("{}", describe(&status, at));
    }
    let template = rustls::ServerConfig::builder_with_provider(crypto)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("{e}"))?
        .with_no_client_auth()
        .with_cert_resolver(provider.clone());
    let handshakes = Family::<metrics::Labels, Counter>::default();
    let tls: Arc<dyn ServerTls> = Arc::new(ProviderTls {
        provider: provider.clone(),
        template,
        handshakes: handshakes.clone(),
    });
    let fetcher = if entries.is_empty() {
        None
    } else {
        let mut config = crate::fetch_cmd::fetcher_settings(&args.file, 10, 30, 65536);
        config.entries = entries;
        let log: mailstaple_fetch::daemon::LogSink = Arc::new(|level, msg: &str| match level {
            Level::Info => log::info!("fetch: {msg}"),
            Level::Warn => log::warn!("fetch: {msg}"),
            _ => log::error!("fetch: {msg}"),
        });
        let mut env = crate::fetch_cmd::fetcher_env(Arc::clone(&now), log, &args.file, &config)?;
        env.signals = false;
        env.policy = verify_policy(args);
        Some((config, env))
    };
    Ok(Prepared {
        options: limits(args, ServerOptions::new(hostname, spool, Some(tls))),
        provider: Some(provider),
        fetcher,
        handshakes,
        clock: now,
    })
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
        fetch: None,
        metrics_listen: None,
        tls_ocsp_max_age: None,
        status: false,
        now: None,
        clock_start: None,
        file: Box::default(),
    };
    apply_config(&mut args)?;
    prepare(&args).map(|_| ())
}

/// A duration in words: `3d4h`, `2h5m`, `4m10s`.
pub(crate) fn span(secs: i64) -> String {
    let secs = secs.max(0);
    if secs >= 86_400 {
        format!("{}d{}h", secs / 86_400, secs % 86_400 / 3_600)
    } else if secs >= 3_600 {
        format!("{}h{}m", secs / 3_600, secs % 3_600 / 60)
    } else {
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

/// One certificate's stapling as a sentence, with readable times (`now` in seconds).
pub(crate) fn describe(s: &mailstaple_server::CertificateStatus, now: i64) -> String {
    use mailstaple_server::StapleState;
    let sni = s
        .sni
        .as_deref()
        .map(|n| format!(" for SNI {n:?}"))
        .unwrap_or_default();
    let must = if s.must_staple { ", must-staple" } else { "" };
    let who = format!(
        "certificate {} (\"{}\", serial {}{must}){sni}",
        s.certificate_file.display(),
        s.subject,
        s.serial
    );
    let file = s
        .ocsp_file
        .as_ref()
        .map_or_else(|| "-".to_owned(), |p| p.display().to_string());
    match &s.state {
        StapleState::Serving => match &s.proof {
            Some(p) => format!(
                "{who}: stapling the proof in {file}: good, thisUpdate {}, valid until {} ({} left)",
                p.this_update,
                p.effective_expiry,
                span(p.effective_expiry.unix().saturating_sub(now))
            ),
            None => format!("{who}: stapling the proof in {file}"),
        },
        StapleState::NotConfigured => {
            format!("{who}: no tls_ocsp_file item for it, so nothing is stapled")
        }
        StapleState::NoValidProof => format!(
            "{who}: no valid proof in {file} yet{}; nothing is stapled until one is installed",
            s.last_rejection
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
        StapleState::NotCurrent { reason } => format!(
            "{who}: the proof in {file} is no longer current ({reason}); nothing is stapled"
        ),
        StapleState::Revoked { time, reason } => format!(
            "{who}: REVOKED at {time}{} according to the proof in {file}; nothing is stapled",
            reason.map(|r| format!(" ({r})")).unwrap_or_default()
        ),
        other => format!("{who}: {other:?}"),
    }
}

/// The proof state of a served certificate, as the metrics name it.
fn proof_state(s: &mailstaple_server::CertificateStatus) -> &'static str {
    use mailstaple_server::StapleState;
    match &s.state {
        StapleState::Serving => "good",
        StapleState::NotCurrent { .. } => "expired",
        StapleState::Revoked { .. } => "revoked",
        StapleState::NoValidProof if s.proof.is_some() => "invalid",
        StapleState::NoValidProof
            if s.last_rejection
                .as_deref()
                .is_some_and(|r| !r.contains("cannot open")) =>
        {
            "invalid"
        }
        _ => "missing",
    }
}

/// What `/metrics` and `/status` show for `serve`.
fn serve_snapshot(
    provider: Option<Arc<StapleProvider>>,
    stats: Arc<mailstaple_smtp::net::ServerStats>,
    handshakes: Family<metrics::Labels, Counter>,
    fetch: metrics::FetchStatus,
    clock: mailstaple_fetch::daemon::Clock,
) -> metrics::Snapshot {
    use std::sync::atomic::Ordering::Relaxed;
    Arc::new(move || {
        let now = clock();
        let mut registry = Registry::default();
        let statuses = provider.as_ref().map(|p| p.status()).unwrap_or_default();
        let label = |s: &mailstaple_server::CertificateStatus| {
            metrics::labels(&[
                ("certificate", &s.certificate_file.display().to_string()),
                ("sni", s.sni.as_deref().unwrap_or("")),
            ])
        };
        let state = metrics::gauges(
            &mut registry,
            "mailstaple_proof_state",
            "The proof's state per certificate: 1 for the current one of good, missing, expired, revoked, invalid",
        );
        let expiry = metrics::gauges(
            &mut registry,
            "mailstaple_proof_expiry_seconds",
            "Seconds until the stapled proof's effective expiry (negative once past)",
        );
        for s in &statuses {
            let l = label(s);
            let current = proof_state(s);
            for st in metrics::PROOF_STATES {
                let mut ls = l.clone();
                ls.push(("state".to_owned(), st.to_owned()));
                metrics::set(&state, &ls, i64::from(st == current));
            }
            if let Some(p) = &s.proof {
                metrics::set(&expiry, &l, p.effective_expiry.unix().saturating_sub(now));
            }
        }
        let by_out = |c: &Value| {
            let out = c.get("out").and_then(Value::as_str).unwrap_or_default();
            statuses
                .iter()
                .find(|s| s.ocsp_file.as_deref() == Some(std::path::Path::new(out)))
                .map_or_else(
                    || metrics::labels(&[("certificate", out), ("sni", "")]),
                    &label,
                )
        };
        metrics::fetch_metrics(&mut registry, &fetch, now, by_out, false);
        registry.register(
            "mailstaple_tls_handshakes",
            "TLS handshakes after STARTTLS by version, with or without a stapled proof",
            handshakes.clone(),
        );
        let smtp = |name: &str, help: &str, value: u64, registry: &mut Registry| {
            let c = Counter::<u64>::default();
            c.inc_by(value);
            registry.register(name, help, c);
        };
        smtp(
            "mailstaple_smtp_sessions",
            "SMTP sessions served",
            stats.sessions.load(Relaxed),
            &mut registry,
        );
        let open = prometheus_client::metrics::gauge::Gauge::<i64>::default();
        open.set(i64::try_from(stats.sessions_open.load(Relaxed)).unwrap_or(i64::MAX));
        registry.register(
            "mailstaple_smtp_sessions_open",
            "SMTP sessions open now",
            open,
        );
        let messages = metrics::counters(
            &mut registry,
            "mailstaple_smtp_messages",
            "Messages by outcome: accepted (stored, 250) or deferred (451, not stored)",
        );
        metrics::count(
            &messages,
            &metrics::labels(&[("outcome", "accepted")]),
            stats.messages_accepted.load(Relaxed),
        );
        metrics::count(
            &messages,
            &metrics::labels(&[("outcome", "deferred")]),
            stats.messages_deferred.load(Relaxed),
        );
        let refused = metrics::counters(
            &mut registry,
            "mailstaple_smtp_refused_connections",
            "Connections answered 421 at once, by the limit reached",
        );
        metrics::count(
            &refused,
            &metrics::labels(&[("limit", "smtp_accept_max")]),
            stats.refused_accept_max.load(Relaxed),
        );
        metrics::count(
            &refused,
            &metrics::labels(&[("limit", "smtp_accept_max_per_host")]),
            stats.refused_accept_max_per_host.load(Relaxed),
        );
        smtp(
            "mailstaple_smtp_receive_timeouts",
            "Sessions closed by smtp_receive_timeout",
            stats.receive_timeouts.load(Relaxed),
            &mut registry,
        );
        let fetched: Vec<Value> = fetch.certificates();
        let certificates: Vec<Value> = statuses
            .iter()
            .map(|s| {
                let f = fetched.iter().find(|c| {
                    c.get("out").and_then(Value::as_str).map(std::path::Path::new)
                        == s.ocsp_file.as_deref()
                });
                json!({
                    "certificate": s.certificate_file.display().to_string(),
                    "sni": s.sni,
                    "subject": s.subject,
                    "serial": s.serial,
                    "must_staple": s.must_staple,
                    "ocsp_file": s.ocsp_file.as_ref().map(|p| p.display().to_string()),
                    "state": proof_state(s),
                    "stapling": s.state == mailstaple_server::StapleState::Serving,
                    "this_update": s.proof.as_ref().map(|p| p.this_update.to_string()),
                    "valid_until": s.proof.as_ref().map(|p| p.effective_expiry.to_string()),
                    "seconds_left": s.proof.as_ref().map(|p| p.effective_expiry.unix().saturating_sub(now)),
                    "last_rejection": s.last_rejection,
                    "stapled_handshakes": s.stapled_handshakes,
                    "unstapled_handshakes": s.unstapled_handshakes,
                    "fetch": f.map(|c| json!({
                        "next_refresh": c.get("next_refresh"),
                        "consecutive_failures": c.get("consecutive_failures"),
                        "last_error": c.get("last_error"),
                    })),
                })
            })
            .collect();
        let status = json!({
            "generated_at": Time::from_unix(now).to_string(),
            "certificates": certificates,
            "smtp": {
                "sessions": stats.sessions.load(Relaxed),
                "sessions_open": stats.sessions_open.load(Relaxed),
                "messages_accepted": stats.messages_accepted.load(Relaxed),
                "messages_deferred": stats.messages_deferred.load(Relaxed),
                "refused_smtp_accept_max": stats.refused_accept_max.load(Relaxed),
                "refused_smtp_accept_max_per_host": stats.refused_accept_max_per_host.load(Relaxed),
            },
        });
        (registry, status)
    })
}

/// `serve --status`: what the running server staples, per certificate, from its `/status`.
fn show_status(args: &ServeArgs) -> i32 {
    let Some(listen) = &args.metrics_listen else {
        return crate::usage_error(&anyhow!(
            "--status reads the running server's /status: give --metrics-listen ADDR (or \
             --config with metrics_listen)"
        ));
    };
    let status = match metrics::parse_listen(listen)
        .map_err(|e| anyhow!("--metrics-listen {e}"))
        .and_then(metrics::fetch_status)
    {
        Ok(s) => s,
        Err(e) => return crate::usage_error(&e),
    };
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("-").to_owned();
    println!("status at {}", text(&status, "generated_at"));
    let mut all_stapled = true;
    for c in status
        .get("certificates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let stapling = c.get("stapling").and_then(Value::as_bool).unwrap_or(false);
        all_stapled &= stapling;
        let sni = c
            .get("sni")
            .and_then(Value::as_str)
            .map(|n| format!(" (SNI {n})"))
            .unwrap_or_default();
        println!();
        println!("Certificate: {}{sni}", text(c, "certificate"));
        println!(
            "  Subject: {}, serial {}",
            text(c, "subject"),
            text(c, "serial")
        );
        println!("  Proof file: {}", text(c, "ocsp_file"));
        println!(
            "  Cert Status: {}{}",
            text(c, "state"),
            if stapling {
                ", stapled"
            } else {
                ", not stapled"
            }
        );
        println!("  This Update: {}", text(c, "this_update"));
        let left = c
            .get("seconds_left")
            .and_then(Value::as_i64)
            .map(|s| format!(" ({} left)", span(s)))
            .unwrap_or_default();
        println!("  Valid Until: {}{left}", text(c, "valid_until"));
        if let Some(f) = c.get("fetch").filter(|f| !f.is_null()) {
            println!(
                "  Next Refresh: {} ({} failure(s) in a row{})",
                text(f, "next_refresh"),
                f.get("consecutive_failures")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                f.get("last_error")
                    .and_then(Value::as_str)
                    .map(|e| format!(", last: {e}"))
                    .unwrap_or_default()
            );
        }
        if let Some(r) = c.get("last_rejection").and_then(Value::as_str) {
            println!("  Last Rejection: {r}");
        }
        println!(
            "  Handshakes: {} with the proof, {} without",
            c.get("stapled_handshakes")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            c.get("unstapled_handshakes")
                .and_then(Value::as_u64)
                .unwrap_or(0)
        );
    }
    i32::from(!all_stapled)
}
