//! The daemon: many certificates, one [`Scheduler`], fetches run concurrently under a limit.
//!
//! Its configuration ([`DaemonConfig`]) comes from the caller: `mailstaple fetch --daemon` reads
//! the `[fetch]` section and `[[fetch.certificate]]` entries of the one TOML file through
//! `mailstaple-config`, and SIGHUP calls the caller's [`Reload`] to read it again.
//!
//! The driver is thin: the clock, the jitter seed and the log sink come from the caller
//! ([`DaemonEnv`]); SIGHUP reloads the file (entries whose settings did not change keep their
//! state), SIGTERM and SIGINT stop cleanly (an interrupted fetch never installs half a file).
//! The certificate and issuer are re-read before each fetch, so a renewed certificate is picked
//! up without a reload.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mailstaple_ocsp::Time;
use mailstaple_verify::Policy;
use rustls_pki_types::UnixTime;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::Error;
use crate::fetch::{FetchOptions, Target, fetch_and_install};
use crate::http::HttpOptions;
use crate::install::install_atomic;
use crate::schedule::{Action, Config, EntryId, Health, Scheduler, Validity};

/// One certificate of the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryConfig {
    /// Its name in logs and the status.
    pub name: String,
    /// Certificate file (PEM or DER).
    pub cert: PathBuf,
    /// Issuer certificate file (PEM or DER).
    pub issuer: PathBuf,
    /// Where the proof is installed.
    pub out: PathBuf,
    /// Responder URL override.
    pub url: Option<String>,
}

impl EntryConfig {
    /// An entry.
    pub fn new(
        name: String,
        cert: PathBuf,
        issuer: PathBuf,
        out: PathBuf,
        url: Option<String>,
    ) -> Self {
        EntryConfig {
            name,
            cert,
            issuer,
            out,
            url,
        }
    }
}

/// The daemon's configuration.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DaemonConfig {
    /// Scheduler settings (`concurrency` sets `max_concurrent`).
    pub schedule: Config,
    /// Where to write the JSON status, if anywhere.
    pub status_file: Option<PathBuf>,
    /// HTTP settings (the proxy comes from [`DaemonEnv::proxy`]).
    pub http: HttpOptions,
    /// The certificates.
    pub entries: Vec<EntryConfig>,
    /// Stop once every entry has had one fetch outcome (benchmarks, tests).
    pub exit_after_first_round: bool,
}

/// Severity of a daemon message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Level {
    /// Routine: installed, reloaded.
    Info,
    /// Attention: a fetch failed, little validity left.
    Warn,
    /// Trouble: a proof expired, a configuration could not be used.
    Error,
}

/// The clock, in seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;
/// Where messages go.
pub type LogSink = Arc<dyn Fn(Level, &str) + Send + Sync>;
/// Reads the configuration again (on SIGHUP); the error is the reason, logged as it is.
pub type Reload = Arc<dyn Fn() -> Result<DaemonConfig, String> + Send + Sync>;

/// What the daemon gets from its caller: it reads no clock, environment or randomness itself.
#[derive(Clone)]
#[non_exhaustive]
pub struct DaemonEnv {
    /// The wall clock.
    pub clock: Clock,
    /// The jitter seed.
    pub seed: u64,
    /// Where messages go.
    pub log: LogSink,
    /// An HTTP proxy for `http` URLs (from `http_proxy`).
    pub proxy: Option<String>,
    /// Hosts reached without the proxy (from `no_proxy`); see [`HttpOptions::no_proxy`].
    pub no_proxy: Vec<String>,
    /// Verification settings.
    pub policy: Policy,
    /// Handle SIGHUP (reload) and SIGTERM/SIGINT (stop).
    pub signals: bool,
    /// Also handed the JSON status each time it is recomputed (at most once a second), with or
    /// without a status file: a metrics endpoint's source.
    pub status_sink: Option<StatusSink>,
}

/// Receives the daemon's JSON status (the status file's contents).
pub type StatusSink = Arc<dyn Fn(&Value) + Send + Sync>;

impl DaemonEnv {
    /// An environment with the default policy, no proxy and signal handling on.
    pub fn new(clock: Clock, seed: u64, log: LogSink) -> Self {
        DaemonEnv {
            clock,
            seed,
            log,
            proxy: None,
            no_proxy: Vec::new(),
            policy: Policy::default(),
            signals: true,
            status_sink: None,
        }
    }
}

impl std::fmt::Debug for DaemonEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonEnv")
            .field("seed", &self.seed)
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

/// Counts for a finished run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Proofs installed.
    pub installed: u64,
    /// Fetches that failed.
    pub failed: u64,
}

struct Slot {
    entry: EntryConfig,
    installed: Option<Time>,
    last_success: Option<i64>,
    first_outcome: bool,
    /// The last authentic verdict on the certificate was "revoked" (or "unknown").
    revoked: bool,
    /// The last answer was refused as not authentic, not current or not for the certificate.
    invalid: bool,
}

type Outcome = (EntryId, Result<(Validity, Time), Error>);

/// Runs the daemon on a multi-threaded tokio runtime until SIGTERM/SIGINT (or, with
/// [`DaemonConfig::exit_after_first_round`], until every entry had one outcome). With
/// `reload`, SIGHUP replaces the configuration with what it returns.
pub fn run_blocking(
    config: DaemonConfig,
    reload: Option<Reload>,
    env: DaemonEnv,
) -> Result<Summary, Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(format!("I/O runtime: {e}")))?;
    rt.block_on(run(config, reload, env))
}

/// The daemon loop; see [`run_blocking`].
pub async fn run(
    mut config: DaemonConfig,
    reload_config: Option<Reload>,
    env: DaemonEnv,
) -> Result<Summary, Error> {
    // Handlers first: loading many certificates takes a while, and an early SIGHUP must not kill.
    let mut signals = Signals::new(env.signals)?;
    let now = (env.clock)();
    let mut sched = Scheduler::new(config.schedule.clone(), env.seed);
    let mut slots: BTreeMap<EntryId, Slot> = BTreeMap::new();
    let mut next_id: EntryId = 0;
    for entry in config.entries.clone() {
        add_entry(&mut sched, &mut slots, &mut next_id, entry, now, &env);
    }
    let mut opts = FetchOptions {
        http: config.http.clone(),
        policy: env.policy.clone(),
    };
    opts.http.proxy.clone_from(&env.proxy);
    opts.http.no_proxy.clone_from(&env.no_proxy);
    let mut opts = Arc::new(opts);
    let mut tasks: JoinSet<Outcome> = JoinSet::new();
    let mut summary = Summary::default();
    let mut pending_first = sched
        .statuses(now)
        .iter()
        .filter(|s| s.state != crate::schedule::State::Waiting)
        .count();
    let mut task_ids: BTreeMap<tokio::task::Id, EntryId> = BTreeMap::new();
    let mut status_dirty = true;
    let mut last_status = tokio::time::Instant::now();

    loop {
        let now = (env.clock)();
        sched.handle_timeout(now);
        while let Some(action) = sched.poll_action() {
            match action {
                Action::Fetch(id) => {
                    let Some(slot) = slots.get(&id) else { continue };
                    let entry = slot.entry.clone();
                    let installed = slot.installed;
                    let opts = Arc::clone(&opts);
                    let clock = Arc::clone(&env.clock);
                    let handle = tasks.spawn(async move {
                        (id, fetch_entry(&entry, &opts, clock(), installed).await)
                    });
                    task_ids.insert(handle.id(), id);
                }
                Action::Warn { id, end } => {
                    if let Some(slot) = slots.get(&id) {
                        (env.log)(
                            Level::Warn,
                            &format!(
                                "[{}] less than {}% of the proof's validity left (until {})",
                                slot.entry.name,
                                sched.config().warn_percent,
                                Time::from_unix(end)
                            ),
                        );
                    }
                }
                Action::Expired { id, end } => {
                    if let Some(slot) = slots.get(&id) {
                        (env.log)(
                            Level::Error,
                            &format!(
                                "[{}] the installed proof expired at {}; no fresh proof",
                                slot.entry.name,
                                Time::from_unix(end)
                            ),
                        );
                    }
                }
            }
            status_dirty = true;
        }
        if config.exit_after_first_round && pending_first == 0 {
            break;
        }
        if status_dirty && last_status.elapsed() >= Duration::from_secs(1) {
            write_status(&config, &sched, &slots, (env.clock)(), &env);
            status_dirty = false;
            last_status = tokio::time::Instant::now();
        }
        let wait = match sched.poll_timeout() {
            Some(t) => u64::try_from(t.saturating_sub(now))
                .unwrap_or(0)
                .clamp(1, 60),
            None => 60,
        };
        let wait = if status_dirty { wait.min(1) } else { wait };
        tokio::select! {
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let now = (env.clock)();
                let (id, result) = match joined {
                    Ok((task, outcome)) => {
                        task_ids.remove(&task);
                        outcome
                    }
                    Err(e) => {
                        // A fetch task panicked or was cancelled: free its slot and retry later.
                        let Some(id) = task_ids.remove(&e.id()) else { continue };
                        (id, Err(Error::Runtime(format!("fetch task failed: {e}"))))
                    }
                };
                let Some(slot) = slots.get_mut(&id) else {
                    sched.handle_failure(now, id, String::new());
                    continue;
                };
                if !slot.first_outcome {
                    slot.first_outcome = true;
                    pending_first = pending_first.saturating_sub(1);
                }
                match result {
                    Ok((validity, this_update)) => {
                        summary.installed += 1;
                        slot.revoked = false;
                        slot.invalid = false;
                        slot.installed = Some(this_update);
                        slot.last_success = Some(now);
                        if !config.exit_after_first_round {
                            (env.log)(Level::Info, &format!("[{}] installed a proof valid until {}", slot.entry.name, Time::from_unix(validity.end)));
                        }
                        sched.handle_success(now, id, validity);
                    }
                    Err(e) => {
                        summary.failed += 1;
                        match e.class() {
                            crate::ErrorClass::Invalid => {
                                slot.revoked = matches!(e, Error::NotGood(_) | Error::RevokedInstalled(_));
                                slot.invalid = !slot.revoked;
                            }
                            _ => slot.invalid = false,
                        }
                        let level = match e {
                            Error::NoOcspUrl => Level::Info,
                            // An authentic "revoked" or "unknown" needs the operator now.
                            Error::NotGood(_) | Error::RevokedInstalled(_) => Level::Error,
                            _ => Level::Warn,
                        };
                        (env.log)(level, &format!("[{}] fetch failed: {e}", slot.entry.name));
                        sched.handle_failure(now, id, e.to_string());
                    }
                }
                status_dirty = true;
            }
            () = tokio::time::sleep(Duration::from_secs(wait)) => {}
            sig = signals.next() => match sig {
                Sig::Reload => {
                    let Some(read) = reload_config.as_ref() else { continue };
                    match read() {
                        Ok(new) => {
                            let now = (env.clock)();
                            reload(&mut sched, &mut slots, &mut next_id, &new, now, &env);
                            let mut o = FetchOptions { http: new.http.clone(), policy: env.policy.clone() };
                            o.http.proxy.clone_from(&env.proxy);
                            o.http.no_proxy.clone_from(&env.no_proxy);
                            opts = Arc::new(o);
                            config = new;
                            (env.log)(Level::Info, &format!("reloaded the configuration ({} certificates)", slots.len()));
                            status_dirty = true;
                        }
                        Err(e) => (env.log)(Level::Error, &format!("reload failed, keeping the old configuration: {e}")),
                    }
                }
                Sig::Stop => break,
            },
        }
    }
    tasks.abort_all();
    write_status(&config, &sched, &slots, (env.clock)(), &env);
    Ok(summary)
}

async fn fetch_entry(
    entry: &EntryConfig,
    opts: &FetchOptions,
    now: i64,
    installed: Option<Time>,
) -> Result<(Validity, Time), Error> {
    let target = Target::load(
        &entry.cert,
        &entry.issuer,
        entry.out.clone(),
        entry.url.clone(),
    )?;
    let at = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now).unwrap_or(0)));
    let checked = fetch_and_install(&target, opts, at, None, installed).await?;
    Ok((checked.validity(), checked.this_update()))
}

fn add_entry(
    sched: &mut Scheduler,
    slots: &mut BTreeMap<EntryId, Slot>,
    next_id: &mut EntryId,
    entry: EntryConfig,
    now: i64,
    env: &DaemonEnv,
) {
    let at = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now).unwrap_or(0)));
    let installed = Target::load(
        &entry.cert,
        &entry.issuer,
        entry.out.clone(),
        entry.url.clone(),
    )
    .ok()
    .and_then(|t| t.installed(at, &env.policy));
    let id = *next_id;
    *next_id += 1;
    let validity = installed.as_ref().map(|c| c.validity());
    sched.insert(now, id, validity);
    let due = sched
        .status(now, id)
        .is_some_and(|s| s.state != crate::schedule::State::Waiting);
    slots.insert(
        id,
        Slot {
            entry,
            installed: installed.map(|c| c.this_update()),
            last_success: None,
            first_outcome: !due,
            revoked: false,
            invalid: false,
        },
    );
}

fn reload(
    sched: &mut Scheduler,
    slots: &mut BTreeMap<EntryId, Slot>,
    next_id: &mut EntryId,
    new: &DaemonConfig,
    now: i64,
    env: &DaemonEnv,
) {
    let stale: Vec<EntryId> = slots
        .iter()
        .filter(|(_, s)| !new.entries.contains(&s.entry))
        .map(|(id, _)| *id)
        .collect();
    for id in stale {
        slots.remove(&id);
        sched.remove(id);
    }
    for entry in &new.entries {
        if !slots.values().any(|s| s.entry == *entry) {
            add_entry(sched, slots, next_id, entry.clone(), now, env);
        }
    }
}

/// The status of every entry as JSON (what the status file holds).
fn status_json(sched: &Scheduler, slots: &BTreeMap<EntryId, Slot>, now: i64) -> Value {
    let t = |v: Option<i64>| {
        v.map_or(Value::Null, |s| {
            Value::String(Time::from_unix(s).to_string())
        })
    };
    let certs: Vec<Value> = sched
        .statuses(now)
        .into_iter()
        .filter_map(|st| {
            let slot = slots.get(&st.id)?;
            // The proof's state: good, missing, expired, revoked, invalid.
            let proof = match st.validity {
                _ if slot.revoked => "revoked",
                Some(v) if v.end <= now => "expired",
                Some(_) if slot.invalid => "invalid",
                Some(_) => "good",
                None if slot.invalid => "invalid",
                None => "missing",
            };
            Some(json!({
                "name": slot.entry.name,
                "proof": proof,
                "valid_until_unix": st.validity.map(|v| v.end),
                "next_refresh_unix": st.next_refresh,
                "cert": slot.entry.cert.display().to_string(),
                "out": slot.entry.out.display().to_string(),
                "state": st.state.name(),
                "health": st.health.name(),
                "this_update": t(st.validity.map(|v| v.this_update)),
                "valid_until": t(st.validity.map(|v| v.end)),
                "seconds_left": st.validity.map(|v| v.end.saturating_sub(now).max(0)),
                "next_refresh": t(st.next_refresh),
                "last_success": t(slot.last_success),
                "last_error": st.last_error,
                "consecutive_failures": st.consecutive_failures,
            }))
        })
        .collect();
    let worst = sched
        .statuses(now)
        .iter()
        .map(|s| match s.health {
            Health::Ok => 0,
            Health::Warning => 1,
            _ => 2,
        })
        .max()
        .unwrap_or(0);
    let worst = ["ok", "warning", "critical"]
        .get(worst)
        .copied()
        .unwrap_or("critical");
    json!({
        "generated_at": Time::from_unix(now).to_string(),
        "worst": worst,
        "certificates": certs,
    })
}

fn write_status(
    config: &DaemonConfig,
    sched: &Scheduler,
    slots: &BTreeMap<EntryId, Slot>,
    now: i64,
    env: &DaemonEnv,
) {
    if config.status_file.is_none() && env.status_sink.is_none() {
        return;
    }
    let status = status_json(sched, slots, now);
    if let Some(sink) = &env.status_sink {
        sink(&status);
    }
    let Some(path) = &config.status_file else {
        return;
    };
    let mut text = status.to_string();
    text.push('\n');
    if let Err(e) = install_atomic(path, text.as_bytes()) {
        (env.log)(Level::Error, &format!("cannot write the status file: {e}"));
    }
}

enum Sig {
    Reload,
    Stop,
}

struct Signals {
    inner: Option<(
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
    )>,
}

impl Signals {
    fn new(enabled: bool) -> Result<Self, Error> {
        if !enabled {
            return Ok(Signals { inner: None });
        }
        use tokio::signal::unix::{SignalKind, signal};
        let mk = |k| signal(k).map_err(|e| Error::Runtime(format!("signal handler: {e}")));
        Ok(Signals {
            inner: Some((
                mk(SignalKind::hangup())?,
                mk(SignalKind::terminate())?,
                mk(SignalKind::interrupt())?,
            )),
        })
    }

    async fn next(&mut self) -> Sig {
        match self.inner.as_mut() {
            None => std::future::pending().await,
            Some((hup, term, int)) => tokio::select! {
                _ = hup.recv() => Sig::Reload,
                _ = term.recv() => Sig::Stop,
                _ = int.recv() => Sig::Stop,
            },
        }
    }
}
