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

use std::collections::{BTreeMap, HashMap};
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
use crate::fleet::{FleetOptions, Run, RunResult, Source, Why};
use crate::http::HttpOptions;
use crate::install::install_atomic;
use crate::schedule::{Action, Config, EntryId, Health, Scheduler, Validity};
use mailstaple_store::{Notice, StoreKey};

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
    /// The fleet's shared store, if any (`store` in `[fetch]`); see [`crate::fleet`]. Read once
    /// at start: a reload keeps it.
    pub fleet: Option<FleetOptions>,
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
            fleet: None,
        }
    }
}

impl std::fmt::Debug for DaemonEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonEnv")
            .field("seed", &self.seed)
            .field("proxy", &self.proxy)
            .field("fleet", &self.fleet)
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
    /// Where the installed proof came from (fleet: the store or the responder).
    source: Option<Source>,
    /// The node holding the lease the last time this node waited for one.
    lease_holder: Option<String>,
    /// The certificate's store key, once known.
    key: Option<StoreKey>,
    /// Why the next fetch runs, when not because it is due: a notice, and the refresh time
    /// the entry had before the notice made it due.
    notice: Option<i64>,
    /// The last stored value refused (a digest), so that each is logged once.
    refused_seen: Option<u64>,
    /// A notice arrived while a fetch was outstanding: if that fetch ends waiting for another
    /// node's lease, read the store again at once rather than after a poll.
    missed_notice: bool,
    /// Since when this node waits for another's lease (for a refresh that is due).
    waiting_since: Option<i64>,
}

/// What a fetch task reports.
enum Done {
    /// A proof was installed.
    Installed(Validity, Time, Source),
    /// The fetch failed.
    Failed(Error, Source),
    /// Another node holds the lease; maybe a proof was installed from the store meanwhile.
    Wait(String, Option<(Validity, Time)>),
    /// Nothing changed.
    Unchanged,
}

struct TaskOut {
    done: Done,
    key: Option<StoreKey>,
    store_error: Option<String>,
    store_ok: bool,
    refused: Option<(String, u64)>,
}

type Outcome = (EntryId, TaskOut);

/// The store's health as the daemon last saw it.
#[derive(Default)]
struct StoreState {
    up: Option<bool>,
    last_error: Option<String>,
    since: Option<i64>,
}

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
    let mut store_state = StoreState::default();
    let mut notices = env.fleet.as_ref().and_then(|f| f.store.subscribe());
    let mut keys: HashMap<String, EntryId> = HashMap::new();
    let mut last_sync: Option<i64> = None;

    loop {
        let now = (env.clock)();
        sched.handle_timeout(now);
        while let Some(action) = sched.poll_action() {
            match action {
                Action::Fetch(id) => {
                    let Some(slot) = slots.get_mut(&id) else {
                        continue;
                    };
                    let entry = slot.entry.clone();
                    let why = if slot.notice.is_some() {
                        Why::Notice
                    } else {
                        Why::Due
                    };
                    let validity = sched.status(now, id).and_then(|st| st.validity);
                    let installed = slot.installed.zip(validity).map(|(t, v)| (v, t));
                    let revoked = slot.revoked;
                    let installed_tu = slot.installed;
                    // Waiting longer than two lease TTLs and a poll: the lease is not one the
                    // fleet's protocol keeps; fetch without it.
                    let overdue = env.fleet.as_ref().is_some_and(|f| {
                        let limit =
                            i64::try_from((f.lease_ttl * 2 + f.poll).as_secs()).unwrap_or(i64::MAX);
                        slot.waiting_since
                            .is_some_and(|t| now.saturating_sub(t) > limit)
                    });
                    let opts = Arc::clone(&opts);
                    let clock = Arc::clone(&env.clock);
                    let fleet = env.fleet.clone();
                    let handle = tasks.spawn(async move {
                        let now = clock();
                        let out = match fleet {
                            Some(f) => {
                                fleet_entry(
                                    &entry, &f, &opts, now, installed, revoked, why, overdue,
                                )
                                .await
                            }
                            None => TaskOut::from_direct(
                                fetch_entry(&entry, &opts, now, installed_tu).await,
                            ),
                        };
                        (id, out)
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
            write_status(&config, &sched, &slots, (env.clock)(), &env, &store_state);
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
                let (id, out) = match joined {
                    Ok((task, outcome)) => {
                        task_ids.remove(&task);
                        outcome
                    }
                    Err(e) => {
                        // A fetch task panicked or was cancelled: free its slot and retry later.
                        let Some(id) = task_ids.remove(&e.id()) else { continue };
                        (id, TaskOut::from_direct(Err(Error::Runtime(format!("fetch task failed: {e}")))))
                    }
                };
                if let Some(fleet) = &env.fleet
                    && store_health(&mut store_state, &out, now, fleet, &env)
                    && sync_due(&mut last_sync, now)
                {
                    // The store answers again after an outage: re-read it for every
                    // certificate, so that an emptied store is repopulated and the fleet
                    // converges.
                    trigger_all(&mut sched, &mut slots, now);
                }
                let Some(slot) = slots.get_mut(&id) else {
                    sched.handle_failure(now, id, String::new());
                    continue;
                };
                if let Some(key) = out.key {
                    keys.insert(key.id().to_owned(), id);
                    slot.key = Some(key);
                }
                if let Some((why, digest)) = out.refused
                    && slot.refused_seen != Some(digest)
                {
                    slot.refused_seen = Some(digest);
                    (env.log)(Level::Warn, &format!("[{}] store: refused the stored proof, not installed: {why}", slot.entry.name));
                }
                let notice = slot.notice.take();
                let missed_notice = std::mem::take(&mut slot.missed_notice);
                let counts = matches!(out.done, Done::Installed(..) | Done::Failed(..));
                if counts {
                    slot.waiting_since = None;
                }
                if counts && !slot.first_outcome {
                    slot.first_outcome = true;
                    pending_first = pending_first.saturating_sub(1);
                }
                match out.done {
                    Done::Installed(validity, this_update, source) => {
                        summary.installed += 1;
                        slot.revoked = false;
                        slot.invalid = false;
                        slot.installed = Some(this_update);
                        slot.last_success = Some(now);
                        slot.source = Some(source);
                        slot.lease_holder = None;
                        if !config.exit_after_first_round {
                            let from = if env.fleet.is_some() { format!(" (from the {})", source.name()) } else { String::new() };
                            (env.log)(Level::Info, &format!("[{}] installed a proof valid until {}{from}", slot.entry.name, Time::from_unix(validity.end)));
                        }
                        sched.handle_success(now, id, validity);
                    }
                    Done::Failed(e, source) => {
                        summary.failed += 1;
                        match e.class() {
                            crate::ErrorClass::Invalid => {
                                slot.revoked = matches!(e, Error::NotGood(_) | Error::RevokedInstalled(_));
                                slot.invalid = !slot.revoked;
                            }
                            _ => slot.invalid = false,
                        }
                        if matches!(e, Error::RevokedInstalled(_)) {
                            slot.source = Some(source);
                        }
                        let level = match e {
                            Error::NoOcspUrl => Level::Info,
                            // An authentic "revoked" or "unknown" needs the operator now.
                            Error::NotGood(_) | Error::RevokedInstalled(_) => Level::Error,
                            _ => Level::Warn,
                        };
                        let from = if source == Source::Store { "store proof refused" } else { "fetch failed" };
                        (env.log)(level, &format!("[{}] {from}: {e}", slot.entry.name));
                        sched.handle_failure(now, id, e.to_string());
                    }
                    Done::Wait(holder, installed) => {
                        if let Some((_, t)) = installed
                            && slot.installed != Some(t)
                        {
                            slot.installed = Some(t);
                            slot.source = Some(Source::Store);
                            slot.revoked = false;
                            slot.invalid = false;
                            slot.last_success = Some(now);
                        }
                        if slot.waiting_since.is_none() {
                            slot.waiting_since = Some(now);
                        }
                        slot.lease_holder = Some(holder);
                        let poll = env.fleet.as_ref().map_or(5, |f| f.poll.as_secs().max(1));
                        let at = if missed_notice {
                            now
                        } else {
                            now.saturating_add(i64::try_from(poll).unwrap_or(5))
                        };
                        sched.handle_deferred(now, id, at, installed.map(|i| i.0));
                    }
                    Done::Unchanged => {
                        // A notice that changed nothing: back to the refresh time it had.
                        let poll = env.fleet.as_ref().map_or(5, |f| f.poll.as_secs().max(1));
                        let at = notice.unwrap_or_else(|| now.saturating_add(i64::try_from(poll).unwrap_or(5)));
                        sched.handle_deferred(now, id, at.max(now), None);
                    }
                }
                status_dirty = true;
            }
            Some(n) = next_notice(&mut notices) => {
                let now = (env.clock)();
                match n {
                    Notice::Changed { key, node } => {
                        let ours = env.fleet.as_ref().is_some_and(|f| f.node == node);
                        if !ours
                            && let Some(id) = keys.get(&key).copied()
                            && let Some(slot) = slots.get_mut(&id)
                        {
                            match sched.trigger(now, id) {
                                Some(had) => slot.notice = Some(had),
                                None => slot.missed_notice = true,
                            }
                        }
                    }
                    Notice::Resubscribed if sync_due(&mut last_sync, now) => {
                        trigger_all(&mut sched, &mut slots, now);
                    }
                    _ => {}
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
    write_status(&config, &sched, &slots, (env.clock)(), &env, &store_state);
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

impl TaskOut {
    fn from_direct(r: Result<(Validity, Time), Error>) -> TaskOut {
        TaskOut {
            done: match r {
                Ok((v, t)) => Done::Installed(v, t, Source::Responder),
                Err(e) => Done::Failed(e, Source::Responder),
            },
            key: None,
            store_error: None,
            store_ok: false,
            refused: None,
        }
    }
}

#[allow(clippy::too_many_arguments)] // the facts of one turn, as fleet::refresh takes them
async fn fleet_entry(
    entry: &EntryConfig,
    fleet: &FleetOptions,
    opts: &FetchOptions,
    now: i64,
    installed: Option<(Validity, Time)>,
    revoked: bool,
    why: Why,
    lease_overdue: bool,
) -> TaskOut {
    let target = match Target::load(
        &entry.cert,
        &entry.issuer,
        entry.out.clone(),
        entry.url.clone(),
    ) {
        Ok(t) => t,
        Err(e) => return TaskOut::from_direct(Err(e)),
    };
    // "No OCSP URL" is the quiet normal case: nothing to share, nothing to fetch.
    if let Err(e) = target.responder_url() {
        return TaskOut::from_direct(Err(e));
    }
    let Some(key) = StoreKey::for_certificate(&fleet.prefix, &target.cert, &target.issuer) else {
        return TaskOut::from_direct(Err(Error::BadInput(format!(
            "{}: the certificate or issuer does not decode",
            entry.cert.display()
        ))));
    };
    let Run {
        result,
        store_error,
        store_ok,
        refused,
    } = crate::fleet::refresh(
        &target,
        &key,
        fleet,
        opts,
        now,
        installed,
        revoked,
        why,
        lease_overdue,
    )
    .await;
    let done = match result {
        RunResult::Installed {
            checked_validity,
            this_update,
            source,
        } => Done::Installed(checked_validity, this_update, source),
        RunResult::Failed(e, source) => Done::Failed(e, source),
        RunResult::Wait { holder, installed } => Done::Wait(holder, installed),
        RunResult::Unchanged => Done::Unchanged,
    };
    TaskOut {
        done,
        key: Some(key),
        store_error,
        store_ok,
        refused,
    }
}

/// Updates the store's health from a task's report and logs each change once; true when the
/// store came back (or answered for the first time after failing).
fn store_health(
    state: &mut StoreState,
    out: &TaskOut,
    now: i64,
    fleet: &FleetOptions,
    env: &DaemonEnv,
) -> bool {
    if let Some(e) = &out.store_error {
        state.last_error = Some(e.clone());
        if state.up != Some(false) {
            state.up = Some(false);
            state.since = Some(now);
            (env.log)(
                Level::Warn,
                &format!(
                    "store {}: {e}; fetching directly from the responders until it answers",
                    fleet.store.describe()
                ),
            );
        }
        return false;
    }
    if out.store_ok && state.up != Some(true) {
        let was_down = state.up == Some(false)
            && state.since.is_some_and(|t| {
                now.saturating_sub(t) >= i64::try_from(fleet.poll.as_secs()).unwrap_or(5)
            });
        state.up = Some(true);
        state.since = Some(now);
        (env.log)(
            Level::Info,
            &format!(
                "store {} answers{}; sharing proofs as node {}",
                fleet.store.describe(),
                if was_down { " again" } else { "" },
                fleet.node
            ),
        );
        return was_down;
    }
    false
}

/// Whether a full re-read of the store may run now: at most once a minute, so that a
/// flapping store or subscription cannot keep every certificate reading.
fn sync_due(last: &mut Option<i64>, now: i64) -> bool {
    if last.is_some_and(|t| now.saturating_sub(t) < 60) {
        return false;
    }
    *last = Some(now);
    true
}

/// Makes every waiting entry read the store (a notice for all of them).
fn trigger_all(sched: &mut Scheduler, slots: &mut BTreeMap<EntryId, Slot>, now: i64) {
    for (id, slot) in slots.iter_mut() {
        if let Some(had) = sched.trigger(now, *id) {
            slot.notice = Some(had);
        }
    }
}

/// The next notice; pending forever without a store or once its channel closed.
async fn next_notice(rx: &mut Option<tokio::sync::mpsc::Receiver<Notice>>) -> Option<Notice> {
    match rx {
        Some(r) => match r.recv().await {
            Some(n) => Some(n),
            None => {
                *rx = None;
                std::future::pending().await
            }
        },
        None => std::future::pending().await,
    }
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
            source: None,
            lease_holder: None,
            key: None,
            notice: None,
            refused_seen: None,
            missed_notice: false,
            waiting_since: None,
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
                "source": slot.source.map(Source::name),
                "lease_holder": slot.lease_holder,
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
    store: &StoreState,
) {
    if config.status_file.is_none() && env.status_sink.is_none() {
        return;
    }
    let mut status = status_json(sched, slots, now);
    if let Value::Object(map) = &mut status {
        let store = env.fleet.as_ref().map_or(Value::Null, |f| {
            json!({
                "url": f.store.describe(),
                "node": f.node,
                "holder": f.holder,
                "health": match store.up { Some(true) => "up", Some(false) => "down", None => "unknown" },
                "since": store.since.map(|s| Time::from_unix(s).to_string()),
                "last_error": store.last_error,
            })
        });
        map.insert("store".into(), store);
    }
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
