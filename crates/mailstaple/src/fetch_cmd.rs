//! `mailstaple fetch`: keep OCSP proofs fresh, once (cron, replacing `ocsp_fetch.pl`), as a
//! check (monitoring), or as a daemon for many certificates.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mailstaple_fetch::daemon::{DaemonConfig, DaemonEnv, EntryConfig, Level, Reload, run_blocking};
use mailstaple_fetch::{Checked, Error, ErrorClass, FetchOptions, OneShot, Target, one_shot};
use mailstaple_ocsp::{CertStatus, Time};
use rustls_pki_types::UnixTime;
use serde_json::Value;

use crate::input::parse_time;

/// Fetch, verify and atomically install OCSP proofs.
///
/// One-shot (default): exit 0 a new proof was written or the installed one is still fresh;
/// 1 the responder answered but the proof is invalid or not good (installed file untouched,
/// except that an authentic, current revocation replaces it, so the server stops stapling);
/// 2 usage error or local file problem; 3 network or responder failure (untouched);
/// 4 the certificate has no OCSP URL and none was given.
///
/// `--check`: 0 ok, 1 warning, 2 critical. `--daemon --config FILE`: many certificates, from
/// the `[fetch]` section and `[[fetch.certificate]]` entries of the TOML file that `serve`,
/// `send` and `config check` read (see `mailstaple config check --help`); SIGHUP reloads,
/// SIGTERM stops; with `[fetch] store` the hosts of a fleet share proofs through Redis or Valkey,
/// one responder request per certificate per window. `--status`: the daemon's status file (and
/// the store's health, each proof's source and lease holder), 0 ok, 1 warning, 2 critical.
#[derive(clap::Args, Debug)]
pub(crate) struct FetchArgs {
    /// The certificate (PEM, first block, or DER).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Its issuer (PEM or DER).
    #[arg(long)]
    issuer: Option<PathBuf>,
    /// The proof file to install (DER), as Exim's `tls_ocsp_file`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The responder URL (default: from the certificate's AIA extension).
    #[arg(long)]
    url: Option<String>,
    /// Fetch even if the installed proof is still fresh.
    #[arg(long)]
    force: bool,
    /// Send a random nonce and require it in the answer.
    #[arg(long)]
    nonce: bool,
    /// Always POST (default: GET for requests of at most 255 encoded bytes).
    #[arg(long)]
    post: bool,
    /// Report the installed proof's state instead of fetching (0 ok, 1 warning, 2 critical).
    #[arg(long)]
    check: bool,
    /// With --check: warn when less than this percentage of the proof's window is left.
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u8).range(1..=100))]
    warn: u8,
    /// Run as a daemon for the certificates of --config.
    #[arg(long)]
    daemon: bool,
    /// The TOML configuration file (its `[fetch]` section and `[[fetch.certificate]]` entries).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Show the daemon's status file (from --status-file or `[fetch] status` of --config).
    #[arg(long)]
    status: bool,
    /// The status file to read with --status.
    #[arg(long)]
    status_file: Option<PathBuf>,
    /// With --daemon: answer `/metrics` (Prometheus) and `/status` (JSON) over HTTP here, a
    /// port on 127.0.0.1 or an address and port (`metrics_listen` in `[fetch]`).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,
    /// With --status or --check: print JSON.
    #[arg(long)]
    json: bool,
    /// Connect timeout in seconds.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
    /// Total timeout of one exchange in seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Largest response accepted, in bytes.
    #[arg(long, default_value_t = 65536)]
    max_body: usize,
    /// The maximum age of a proof, in seconds or Exim's time syntax (`7d`): one whose
    /// thisUpdate is older is not installed (and counts as critical for --check) even before
    /// its nextUpdate; one without nextUpdate is usable until thisUpdate plus this
    /// (`tls_ocsp_max_age` in `[fetch]` for --daemon) [default: none].
    #[arg(long, value_name = "AGE", value_parser = crate::input::parse_max_age)]
    max_age: Option<u64>,
    /// Act as if the time were this (RFC 3339 or epoch seconds); for tests.
    #[arg(long, hide = true, value_parser = parse_time)]
    now: Option<Time>,
}

/// Runs the command and returns the exit code.
pub(crate) fn run(args: FetchArgs) -> i32 {
    let modes = [args.check, args.daemon, args.status]
        .iter()
        .filter(|m| **m)
        .count();
    if modes > 1 {
        return usage("--check, --daemon and --status are exclusive");
    }
    if args.daemon {
        daemon(&args)
    } else if args.status {
        status(&args)
    } else if args.check {
        check(&args)
    } else {
        fetch_once(&args)
    }
}

fn usage(msg: &str) -> i32 {
    eprintln!("mailstaple fetch: {msg}");
    2
}

fn now_secs(args: &FetchArgs) -> i64 {
    match args.now {
        Some(t) => t.unix(),
        None => SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    }
}

fn unix(secs: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

fn env_var(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok())
        .filter(|v| !v.is_empty())
}

fn options(args: &FetchArgs) -> FetchOptions {
    let mut o = FetchOptions::default();
    o.http.connect_timeout = Duration::from_secs(args.connect_timeout.max(1));
    o.http.total_timeout = Duration::from_secs(args.timeout.max(1));
    o.http.max_body = args.max_body;
    o.http.force_post = args.post;
    o.http.proxy = env_var(&["http_proxy", "HTTP_PROXY"]);
    o.http.no_proxy = no_proxy();
    o.policy.max_age_secs = args.max_age;
    o
}

fn no_proxy() -> Vec<String> {
    env_var(&["no_proxy", "NO_PROXY"])
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The three files of one-shot and check modes, or a usage error.
fn target(args: &FetchArgs) -> Result<Target, i32> {
    let (Some(cert), Some(issuer), Some(out)) = (&args.cert, &args.issuer, &args.out) else {
        return Err(usage("--cert, --issuer and --out are required"));
    };
    if args.config.is_some() || args.status_file.is_some() {
        return Err(usage(
            "--config and --status-file go with --daemon or --status",
        ));
    }
    Target::load(cert, issuer, out.clone(), args.url.clone()).map_err(|e| usage(&e.to_string()))
}

fn describe(c: &Checked) -> String {
    let v = c.validity();
    format!(
        "thisUpdate {}, valid until {}, refresh due after {}",
        c.this_update(),
        Time::from_unix(v.end),
        Time::from_unix(v.midpoint())
    )
}

fn fetch_once(args: &FetchArgs) -> i32 {
    if args.json {
        return usage("--json goes with --check or --status");
    }
    let target = match target(args) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let nonce = if args.nonce {
        match crate::random_bytes::<16>() {
            Ok(n) => Some(n),
            Err(e) => return crate::usage_error(&e),
        }
    } else {
        None
    };
    let out = target.out.display().to_string();
    match one_shot(
        &target,
        &options(args),
        unix(now_secs(args)),
        nonce.as_ref().map(|n| &n[..]),
        args.force,
    ) {
        Ok(OneShot::Installed(c)) => {
            println!("installed: a new proof in {out}: {}", describe(&c));
            0
        }
        Ok(OneShot::StillFresh(c)) => {
            println!(
                "fresh: the proof in {out} is still fresh, nothing fetched: {}",
                describe(&c)
            );
            0
        }
        Err(e) => report_error(&e, args),
    }
}

fn report_error(e: &Error, args: &FetchArgs) -> i32 {
    match e.class() {
        ErrorClass::NoUrl => {
            let cert = args.cert.as_deref().map(Path::display);
            println!(
                "no OCSP URL in {}: nothing to fetch (normal since public CAs retired OCSP)",
                cert.map_or_else(String::new, |c| c.to_string())
            );
            4
        }
        ErrorClass::Invalid => {
            eprintln!("mailstaple fetch: {e}; the installed proof is unchanged");
            1
        }
        ErrorClass::Network => {
            eprintln!("mailstaple fetch: {e}; the installed proof is unchanged");
            3
        }
        _ => usage(&e.to_string()),
    }
}

fn check(args: &FetchArgs) -> i32 {
    if args.force || args.nonce || args.post {
        return usage("--force, --nonce and --post do not go with --check");
    }
    let target = match target(args) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let now = now_secs(args);
    let out = target.out.display().to_string();
    let (code, text, fields): (i32, String, Value) = match std::fs::read(&target.out) {
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && matches!(target.responder_url(), Err(Error::NoOcspUrl)) =>
        {
            (
                0,
                format!("no OCSP URL in the certificate and no proof in {out}: nothing to staple"),
                Value::Null,
            )
        }
        Err(e) => (2, format!("cannot read {out}: {e}"), Value::Null),
        Ok(bytes) => match target.check(&bytes, unix(now), &options(args).policy, None) {
            Err(Error::NotGood(s)) => (
                2,
                format!("{out}: the certificate is {}", status_name(&s)),
                Value::Null,
            ),
            Err(e) => (2, format!("{out}: {e}"), Value::Null),
            Ok(c) => {
                let v = c.validity();
                let left = v.end.saturating_sub(now);
                let pct = if v.length() > 0 {
                    left.saturating_mul(100) / v.length()
                } else {
                    0
                };
                let fields = serde_json::json!({
                    "this_update": c.this_update().to_string(),
                    "valid_until": Time::from_unix(v.end).to_string(),
                    "seconds_left": left.max(0),
                    "percent_left": pct.max(0),
                });
                if left <= 0 {
                    (
                        2,
                        format!("{out}: the proof expired at {}", Time::from_unix(v.end)),
                        fields,
                    )
                } else if pct < i64::from(args.warn) {
                    (
                        1,
                        format!(
                            "{out}: {} left ({pct}% of its window), until {}",
                            span(left),
                            Time::from_unix(v.end)
                        ),
                        fields,
                    )
                } else {
                    (
                        0,
                        format!(
                            "{out}: good, {} left ({pct}% of its window), until {}",
                            span(left),
                            Time::from_unix(v.end)
                        ),
                        fields,
                    )
                }
            }
        },
    };
    let label = ["OK", "WARNING", "CRITICAL"]
        .get(usize::try_from(code).unwrap_or(2))
        .copied()
        .unwrap_or("CRITICAL");
    if args.json {
        let mut obj =
            serde_json::json!({ "state": label.to_lowercase(), "message": text, "file": out });
        if let (Some(o), Value::Object(f)) = (obj.as_object_mut(), fields) {
            o.extend(f);
        }
        println!("{obj}");
    } else {
        println!("OCSP {label} - {text}");
    }
    code
}

fn status_name(s: &CertStatus) -> &'static str {
    s.name()
}

fn span(secs: i64) -> String {
    if secs >= 86_400 {
        format!("{}d{}h", secs / 86_400, secs % 86_400 / 3_600)
    } else if secs >= 3_600 {
        format!("{}h{}m", secs / 3_600, secs % 3_600 / 60)
    } else {
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

fn daemon(args: &FetchArgs) -> i32 {
    if args.cert.is_some() || args.issuer.is_some() || args.out.is_some() || args.url.is_some() {
        return usage("--daemon takes its certificates from --config");
    }
    let Some(path) = &args.config else {
        return usage("--daemon needs --config FILE");
    };
    let file = match crate::config::load(path, "fetch") {
        Ok(f) => f,
        Err(e) => return crate::usage_error(&e),
    };
    let (config, file_listen, file_max_age) =
        settings_of(&file, args.connect_timeout, args.timeout, args.max_body);
    let reload: Reload = {
        let (path, connect_timeout, timeout, max_body) = (
            path.clone(),
            args.connect_timeout,
            args.timeout,
            args.max_body,
        );
        Arc::new(move || {
            daemon_settings(&path, connect_timeout, timeout, max_body)
                .map(|(c, _, _)| c)
                .map_err(|e| format!("{e:#}"))
        })
    };
    // A test's --now starts the clock there; it then advances with real time, so that leases,
    // polls and retries behave as in production.
    let fixed = args.now.map(Time::unix);
    let started = std::time::Instant::now();
    let clock: mailstaple_fetch::daemon::Clock = Arc::new(move || match fixed {
        Some(t) => t.saturating_add(i64::try_from(started.elapsed().as_secs()).unwrap_or(0)),
        None => SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    });
    let log: mailstaple_fetch::daemon::LogSink = Arc::new(|level, msg: &str| {
        let tag = match level {
            Level::Info => "",
            Level::Warn => "warning: ",
            _ => "error: ",
        };
        eprintln!("mailstaple fetch: {tag}{msg}");
    });
    let mut env = match fetcher_env(Arc::clone(&clock), log, &file, &config) {
        Ok(env) => env,
        Err(e) => return crate::usage_error(&e),
    };
    env.policy.max_age_secs = args.max_age.or(file_max_age);
    if let Some(listen) = args.metrics_listen.as_ref().or(file_listen.as_ref()) {
        let status = crate::metrics::FetchStatus::default();
        env.status_sink = Some(status.sink());
        let addr = match crate::metrics::parse_listen(listen) {
            Ok(a) => a,
            Err(e) => return usage(&format!("metrics_listen {e}")),
        };
        let snapshot: crate::metrics::Snapshot = Arc::new(move || {
            let mut registry = prometheus_client::registry::Registry::default();
            let name = |c: &Value| {
                crate::metrics::labels(&[(
                    "certificate",
                    c.get("name").and_then(Value::as_str).unwrap_or_default(),
                )])
            };
            crate::metrics::fetch_metrics(&mut registry, &status, clock(), name, true);
            (registry, status.get())
        });
        match crate::metrics::start(addr, snapshot) {
            Ok(bound) => eprintln!(
                "mailstaple fetch: metrics on http://{bound}/metrics, status on \
                 http://{bound}/status"
            ),
            Err(e) => return usage(&format!("cannot serve metrics on {addr}: {e}")),
        }
    }
    eprintln!(
        "mailstaple fetch: daemon started with {} certificates",
        config.entries.len()
    );
    match run_blocking(config, Some(reload), env) {
        Ok(s) => {
            eprintln!(
                "mailstaple fetch: stopped ({} installed, {} failed fetches)",
                s.installed, s.failed
            );
            0
        }
        Err(e) => {
            eprintln!("mailstaple fetch: {e}");
            if e.class() == ErrorClass::Local { 2 } else { 3 }
        }
    }
}

fn status(args: &FetchArgs) -> i32 {
    let path = match (&args.status_file, &args.config) {
        (Some(p), _) => p.clone(),
        (None, Some(c)) => match crate::config::load(c, "fetch") {
            Ok(file) => match file.fetch_status_file() {
                Some(p) => p.to_path_buf(),
                None => return usage(&format!("{} sets no [fetch] status file", c.display())),
            },
            Err(e) => return crate::usage_error(&e),
        },
        (None, None) => return usage("--status needs --status-file or --config"),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => return usage(&format!("cannot read {}: {e}", path.display())),
    };
    let v: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return usage(&format!("{}: not a status file: {e}", path.display())),
    };
    let code = match v.get("worst").and_then(Value::as_str) {
        Some("ok") => 0,
        Some("warning") => 1,
        _ => 2,
    };
    if args.json {
        println!("{v}");
        return code;
    }
    println!(
        "status at {}",
        v.get("generated_at").and_then(Value::as_str).unwrap_or("?")
    );
    let s = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).unwrap_or("-").to_owned();
    let fleet = v.get("store").filter(|st| !st.is_null());
    if let Some(st) = fleet {
        println!(
            "store {} as node {}: {}{}{}",
            s(st, "url"),
            s(st, "node"),
            s(st, "health"),
            st.get("since")
                .and_then(Value::as_str)
                .map(|t| format!(" since {t}"))
                .unwrap_or_default(),
            st.get("last_error")
                .and_then(Value::as_str)
                .filter(|_| st.get("health").and_then(Value::as_str) == Some("down"))
                .map(|e| format!(" ({e})"))
                .unwrap_or_default(),
        );
    }
    println!(
        "{:<20} {:<8} {:<9} {:<21} {:<21} {:>5}  {}LAST ERROR",
        "NAME",
        "HEALTH",
        "STATE",
        "VALID UNTIL",
        "NEXT REFRESH",
        "FAILS",
        if fleet.is_some() {
            "SOURCE     LEASE HOLDER          "
        } else {
            ""
        }
    );
    for c in v
        .get("certificates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let fleet_cols = if fleet.is_some() {
            format!("{:<10} {:<21} ", s(c, "source"), s(c, "lease_holder"))
        } else {
            String::new()
        };
        println!(
            "{:<20} {:<8} {:<9} {:<21} {:<21} {:>5}  {fleet_cols}{}",
            s(c, "name"),
            s(c, "health"),
            s(c, "state"),
            s(c, "valid_until"),
            s(c, "next_refresh"),
            c.get("consecutive_failures")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            s(c, "last_error"),
        );
    }
    code
}

/// The daemon's configuration from the TOML file: `[fetch]` settings over the flags' values
/// (the flags' defaults are the file's defaults), and the `[[fetch.certificate]]` entries.
fn daemon_settings(
    path: &Path,
    connect_timeout: u64,
    timeout: u64,
    max_body: usize,
) -> anyhow::Result<(DaemonConfig, Option<String>, Option<u64>)> {
    let file = crate::config::load(path, "fetch")?;
    Ok(settings_of(&file, connect_timeout, timeout, max_body))
}

/// [`daemon_settings`] of a file already loaded.
fn settings_of(
    file: &mailstaple_config::File,
    connect_timeout: u64,
    timeout: u64,
    max_body: usize,
) -> (DaemonConfig, Option<String>, Option<u64>) {
    let mut config = fetcher_settings(file, connect_timeout, timeout, max_body);
    config.entries = file
        .fetch_certificates()
        .into_iter()
        .map(|c| EntryConfig::new(c.name, c.cert, c.issuer, c.out, c.url))
        .collect();
    let listen = file.fetch.metrics_listen.as_ref().map(|v| v.value.clone());
    let max_age = file.fetch.tls_ocsp_max_age.as_ref().map(|v| v.value);
    (config, listen, max_age)
}

/// The `[fetch]` settings of a file (over the given defaults), without certificates: shared by
/// the daemon and `serve`'s own fetcher.
pub(crate) fn fetcher_settings(
    file: &mailstaple_config::File,
    connect_timeout: u64,
    timeout: u64,
    max_body: usize,
) -> DaemonConfig {
    let f = &file.fetch;
    let mut config = DaemonConfig::default();
    let secs = |v: &Option<mailstaple_config::Value<u64>>, default: u64| {
        Duration::from_secs(v.as_ref().map_or(default, |v| v.value).max(1))
    };
    config.http.connect_timeout = secs(&f.connect_timeout, connect_timeout);
    config.http.total_timeout = secs(&f.timeout, timeout);
    config.http.max_body = f
        .max_body
        .as_ref()
        .map_or(max_body, |v| usize::try_from(v.value).unwrap_or(usize::MAX));
    if let Some(c) = &f.concurrency {
        config.schedule.max_concurrent = usize::try_from(c.value).unwrap_or(usize::MAX);
    }
    config.status_file = file.fetch_status_file().map(Path::to_path_buf);
    config
}

/// The fetcher's environment: `clock`, a random jitter seed, the proxy from the environment,
/// `log` for its messages, and the fleet's store when `[fetch] store` is set (its lease TTL is
/// `config`'s exchange timeout plus 5 s). Signal handling is left to the caller.
pub(crate) fn fetcher_env(
    clock: mailstaple_fetch::daemon::Clock,
    log: mailstaple_fetch::daemon::LogSink,
    file: &mailstaple_config::File,
    config: &DaemonConfig,
) -> anyhow::Result<DaemonEnv> {
    let seed = u64::from_le_bytes(crate::random_bytes::<8>()?);
    let mut env = DaemonEnv::new(clock, seed, log);
    env.proxy = env_var(&["http_proxy", "HTTP_PROXY"]);
    env.no_proxy = no_proxy();
    env.fleet = fleet_options(file, config)?;
    Ok(env)
}

/// The fleet's store from `[fetch]`: the password from `store_password_file`, else the systemd
/// credential `store-password`, else the URL; the node name from `node`, else the host name.
fn fleet_options(
    file: &mailstaple_config::File,
    config: &DaemonConfig,
) -> anyhow::Result<Option<mailstaple_fetch::fleet::FleetOptions>> {
    use anyhow::Context as _;
    let Some(store) = file.fetch_store() else {
        return Ok(None);
    };
    let password = match &store.password_file {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("store_password_file {}", p.display()))?,
        ),
        None => std::env::var_os("CREDENTIALS_DIRECTORY")
            .map(|d| PathBuf::from(d).join("store-password"))
            .and_then(|p| std::fs::read_to_string(p).ok()),
    }
    .map(|p| p.trim_end_matches(['\n', '\r']).to_owned())
    .filter(|p| !p.is_empty());
    let ca_pem = match &store.ca {
        Some(p) => Some(std::fs::read(p).with_context(|| format!("store_ca {}", p.display()))?),
        None => None,
    };
    let url = store.url.with_password(password);
    let mut opts = mailstaple_store::RedisOptions::default();
    opts.prefix.clone_from(&store.prefix);
    opts.ca_pem = ca_pem;
    let redis = mailstaple_store::RedisStore::new(url, opts).context("[fetch] store")?;
    let node = store.node.clone().unwrap_or_else(host_name);
    let token = u64::from_le_bytes(crate::random_bytes::<8>()?);
    let mut fleet =
        mailstaple_fetch::fleet::FleetOptions::new(Arc::new(redis), node, token, store.prefix);
    fleet.lease_ttl = config.http.total_timeout + Duration::from_secs(5);
    fleet.poll = Duration::from_secs(store.poll.max(1));
    Ok(Some(fleet))
}

/// The host name (the fleet's default node name).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().replace(char::is_whitespace, "_"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// What `fetch --daemon --config FILE` does before it starts: the daemon's configuration read,
/// and every certificate's files loaded as the first fetch loads them (for the agreement test
/// with `config check`).
#[cfg(test)]
pub(crate) fn accepts(config: &Path) -> anyhow::Result<()> {
    let (daemon, _, _) = daemon_settings(config, 10, 30, 65536)?;
    for e in &daemon.entries {
        match Target::load(&e.cert, &e.issuer, e.out.clone(), e.url.clone()) {
            Ok(_) | Err(Error::NoOcspUrl) => {}
            Err(err) => anyhow::bail!("{}: {err}", e.name),
        }
    }
    Ok(())
}
