//! The sans-IO refresh scheduler: which certificate to fetch when, and what to tell the operator.
//!
//! The [`Scheduler`] owns no clock, socket or file. The driver feeds it the current time and
//! events ([`Scheduler::insert`], [`Scheduler::handle_success`], [`Scheduler::handle_failure`],
//! [`Scheduler::handle_timeout`]) and drains what it wants done ([`Scheduler::poll_action`]) and
//! when it next wants to be woken ([`Scheduler::poll_timeout`]), in the style of `quinn-proto`.
//!
//! Rules:
//! - a proof's window runs from thisUpdate to [`Validity::end`] (the earliest of nextUpdate, a
//!   delegated signer's notAfter and the leaf's notAfter); the refresh is due at half the window,
//!   moved earlier by a random jitter of at most [`Config::jitter_percent`] of the window;
//! - a failed fetch is retried after 60 s, doubling to 1 h (both configurable), less a random
//!   jitter, and never later than half the remaining validity of the proof in hand (but not sooner
//!   than [`Config::min_retry`]);
//! - [`Action::Warn`] once when less than [`Config::warn_percent`] of the window is left,
//!   [`Action::Expired`] once when the window has ended, both reset by a successful fetch;
//! - at most [`Config::max_concurrent`] fetches are outstanding; due entries wait their turn in
//!   order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A caller-chosen identifier for one certificate. Identifiers should not be reused: a result
/// that arrives for a removed entry is dropped.
pub type EntryId = u64;

/// The usable window of a proof, in seconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Validity {
    /// The proof's thisUpdate.
    pub this_update: i64,
    /// When it stops being usable: the earliest of nextUpdate, a delegated signer's notAfter and
    /// the leaf certificate's notAfter.
    pub end: i64,
}

impl Validity {
    /// A window; `end` before `this_update` is clamped to an empty window.
    pub fn new(this_update: i64, end: i64) -> Self {
        Validity {
            this_update,
            end: end.max(this_update),
        }
    }

    /// The window's length in seconds.
    pub fn length(&self) -> i64 {
        self.end.saturating_sub(self.this_update)
    }

    /// The midpoint: the un-jittered refresh time.
    pub fn midpoint(&self) -> i64 {
        self.this_update.saturating_add(self.length() / 2)
    }

    /// The instant after which less than `percent` of the window is left.
    pub fn warn_at(&self, percent: u8) -> i64 {
        let left = mul_percent(self.length(), percent);
        self.end.saturating_sub(left)
    }
}

fn mul_percent(v: i64, percent: u8) -> i64 {
    // i128 so that the multiplication cannot overflow.
    let r = i128::from(v) * i128::from(percent.min(100)) / 100;
    i64::try_from(r).unwrap_or(i64::MAX)
}

/// Scheduler settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The most fetches outstanding at once (at least 1).
    pub max_concurrent: usize,
    /// The first retry delay after a failure, in seconds (default 60).
    pub backoff_initial: u64,
    /// The longest retry delay, in seconds (default 3600).
    pub backoff_max: u64,
    /// The largest jitter, as a percentage of the window (refresh) or of the delay (retry);
    /// jitter only ever moves a fetch earlier. Default 10.
    pub jitter_percent: u8,
    /// Warn when less than this percentage of the window is left (default 25).
    pub warn_percent: u8,
    /// The shortest retry delay when the remaining validity is short, in seconds (default 10).
    pub min_retry: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_concurrent: 16,
            backoff_initial: 60,
            backoff_max: 3600,
            jitter_percent: 10,
            warn_percent: 25,
            min_retry: 10,
        }
    }
}

impl Config {
    /// The un-jittered delay before retry number `failures` (1 for the first failure).
    pub fn backoff(&self, failures: u32) -> u64 {
        let shift = failures.saturating_sub(1).min(63);
        let delay = self.backoff_initial.saturating_mul(1u64 << shift);
        delay.min(self.backoff_max).max(1)
    }
}

/// Something the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Fetch a new proof for this entry, then report with [`Scheduler::handle_success`] or
    /// [`Scheduler::handle_failure`].
    Fetch(EntryId),
    /// Less than the warning share of the proof's window is left and no fresh proof was installed.
    Warn {
        /// The entry.
        id: EntryId,
        /// When the proof in hand stops being usable.
        end: i64,
    },
    /// The proof in hand is no longer usable and no fresh proof was installed.
    Expired {
        /// The entry.
        id: EntryId,
        /// When it stopped being usable.
        end: i64,
    },
}

/// Where an entry is in its cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Waiting for its refresh or retry time.
    Waiting,
    /// Due, waiting for a free fetch slot.
    Queued,
    /// A fetch is outstanding.
    Fetching,
}

impl State {
    /// A short lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Queued => "queued",
            State::Fetching => "fetching",
        }
    }
}

/// How usable the proof in hand is at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// No usable proof at all.
    Missing,
    /// Usable, more than the warning share left.
    Ok,
    /// Usable, less than the warning share left.
    Warning,
    /// The window has ended.
    Expired,
}

impl Health {
    /// A short lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Health::Missing => "missing",
            Health::Ok => "ok",
            Health::Warning => "warning",
            Health::Expired => "expired",
        }
    }
}

/// One entry's state, for status reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryStatus {
    /// The entry.
    pub id: EntryId,
    /// Where it is in its cycle.
    pub state: State,
    /// How usable its proof is.
    pub health: Health,
    /// The proof in hand, if any.
    pub validity: Option<Validity>,
    /// When the next fetch is due (set while waiting).
    pub next_refresh: Option<i64>,
    /// The last fetch error since the last success.
    pub last_error: Option<String>,
    /// Failed fetches since the last success.
    pub consecutive_failures: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Refresh,
    Warn,
    Expire,
}

#[derive(Debug)]
struct Entry {
    validity: Option<Validity>,
    state: State,
    refresh_at: Option<i64>,
    warn_at: Option<i64>,
    expire_at: Option<i64>,
    failures: u32,
    last_error: Option<String>,
}

/// The refresh scheduler. See the module documentation for the rules.
#[derive(Debug)]
pub struct Scheduler {
    config: Config,
    rng: u64,
    entries: BTreeMap<EntryId, Entry>,
    timers: BTreeSet<(i64, EntryId, Timer)>,
    queue: VecDeque<EntryId>,
    in_flight: usize,
    orphans: BTreeSet<EntryId>,
    notices: VecDeque<Action>,
}

impl Scheduler {
    /// A scheduler with no entries; `seed` drives the jitter (pass randomness in production,
    /// a constant in tests).
    pub fn new(config: Config, seed: u64) -> Self {
        let config = Config {
            max_concurrent: config.max_concurrent.max(1),
            ..config
        };
        Scheduler {
            config,
            rng: seed,
            entries: BTreeMap::new(),
            timers: BTreeSet::new(),
            queue: VecDeque::new(),
            in_flight: 0,
            orphans: BTreeSet::new(),
            notices: VecDeque::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Adds (or replaces) an entry whose installed proof, if any usable one, has window
    /// `installed`. Its first fetch is scheduled at once when it has no proof in hand.
    pub fn insert(&mut self, now: i64, id: EntryId, installed: Option<Validity>) {
        // A fetch outstanding for the old entry (or an earlier removed one) leaves an orphan.
        self.remove(id);
        let was_in_flight = self.orphans.remove(&id);
        let mut entry = Entry {
            validity: installed,
            state: State::Waiting,
            refresh_at: None,
            warn_at: None,
            expire_at: None,
            failures: 0,
            last_error: None,
        };
        if was_in_flight {
            // The outstanding fetch now reports for the new entry; the slot stays taken.
            entry.state = State::Fetching;
            self.entries.insert(id, entry);
            self.arm_health_timers(now, id);
        } else {
            self.entries.insert(id, entry);
            self.arm_health_timers(now, id);
            let at = self.refresh_time(now, installed);
            self.schedule(now, id, at);
        }
        self.handle_timeout(now);
    }

    /// Removes an entry; returns whether a fetch for it was outstanding (its result will be
    /// dropped, and its slot freed when it arrives).
    pub fn remove(&mut self, id: EntryId) -> bool {
        let Some(entry) = self.entries.remove(&id) else {
            return false;
        };
        self.clear_timers(id, &entry);
        self.drop_notices(id);
        match entry.state {
            State::Queued => self.queue.retain(|q| *q != id),
            State::Fetching => {
                self.orphans.insert(id);
                return true;
            }
            State::Waiting => {}
        }
        false
    }

    /// A fetch for `id` installed a proof with window `validity`.
    pub fn handle_success(&mut self, now: i64, id: EntryId, validity: Validity) {
        if !self.finish_fetch(id) {
            return;
        }
        self.drop_notices(id);
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.validity = Some(validity);
            entry.failures = 0;
            entry.last_error = None;
            entry.state = State::Waiting;
        }
        self.arm_health_timers(now, id);
        let mut at = self.refresh_time(now, Some(validity));
        if at <= now {
            // The new proof is already past its midpoint (a responder that signs once per
            // period, a cache in front of it): ask again after a retry delay, not at once, or
            // the entry would loop on the responder.
            at = self.retry_time(now, 1, Some(validity));
        }
        self.schedule(now, id, at);
        self.handle_timeout(now);
    }

    /// A fetch for `id` failed; the proof in hand (if any) is kept.
    pub fn handle_failure(&mut self, now: i64, id: EntryId, error: String) {
        if !self.finish_fetch(id) {
            return;
        }
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        entry.failures = entry.failures.saturating_add(1);
        entry.last_error = Some(error);
        entry.state = State::Waiting;
        let failures = entry.failures;
        let validity = entry.validity;
        let at = self.retry_time(now, failures, validity);
        self.schedule(now, id, at);
        self.handle_timeout(now);
    }

    /// A fetch for `id` ended without a verdict from the responder: another node of the fleet
    /// holds the lease, or a store read left nothing to do. The entry waits until `at` (no
    /// failure is counted, no backoff grows); `validity` is the proof in hand now, if one was
    /// installed meanwhile (from the store).
    pub fn handle_deferred(&mut self, now: i64, id: EntryId, at: i64, validity: Option<Validity>) {
        if !self.finish_fetch(id) {
            return;
        }
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        entry.state = State::Waiting;
        if let Some(v) = validity
            && entry
                .validity
                .is_none_or(|old| v.this_update > old.this_update)
        {
            entry.validity = Some(v);
            entry.failures = 0;
            entry.last_error = None;
            self.drop_notices(id);
            self.arm_health_timers(now, id);
        }
        self.schedule(now, id, at);
        self.handle_timeout(now);
    }

    /// Makes a waiting entry due now (a change notice from the fleet): its refresh timer is
    /// dropped and it joins the fetch queue. Returns the refresh time it had, or `None` when the
    /// entry is not waiting (already queued or fetching, or unknown) and nothing changed.
    pub fn trigger(&mut self, now: i64, id: EntryId) -> Option<i64> {
        let entry = self.entries.get_mut(&id)?;
        if entry.state != State::Waiting {
            return None;
        }
        let had = entry.refresh_at.unwrap_or(now);
        self.schedule(now, id, now);
        Some(had)
    }

    /// Processes every timer due at `now`.
    pub fn handle_timeout(&mut self, now: i64) {
        while let Some(&(at, id, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, id, timer));
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            match timer {
                Timer::Refresh => {
                    entry.refresh_at = None;
                    entry.state = State::Queued;
                    self.queue.push_back(id);
                }
                Timer::Warn => {
                    entry.warn_at = None;
                    if let Some(v) = entry.validity {
                        self.notices.push_back(Action::Warn { id, end: v.end });
                    }
                }
                Timer::Expire => {
                    entry.expire_at = None;
                    if let Some(v) = entry.validity {
                        self.notices.push_back(Action::Expired { id, end: v.end });
                    }
                }
            }
        }
    }

    /// The next thing to do, if any: notices first, then fetches while a slot is free.
    pub fn poll_action(&mut self) -> Option<Action> {
        if let Some(n) = self.notices.pop_front() {
            return Some(n);
        }
        if self.in_flight >= self.config.max_concurrent {
            return None;
        }
        while let Some(id) = self.queue.pop_front() {
            if let Some(entry) = self.entries.get_mut(&id)
                && entry.state == State::Queued
            {
                entry.state = State::Fetching;
                self.in_flight += 1;
                return Some(Action::Fetch(id));
            }
        }
        None
    }

    /// When [`Scheduler::handle_timeout`] should next be called, if ever.
    pub fn poll_timeout(&self) -> Option<i64> {
        self.timers.first().map(|t| t.0)
    }

    /// Fetches outstanding.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// One entry's state at `now`.
    pub fn status(&self, now: i64, id: EntryId) -> Option<EntryStatus> {
        let e = self.entries.get(&id)?;
        let health = match e.validity {
            None => Health::Missing,
            Some(v) if now >= v.end => Health::Expired,
            Some(v) if now >= v.warn_at(self.config.warn_percent) => Health::Warning,
            Some(_) => Health::Ok,
        };
        Some(EntryStatus {
            id,
            state: e.state,
            health,
            validity: e.validity,
            next_refresh: e.refresh_at,
            last_error: e.last_error.clone(),
            consecutive_failures: e.failures,
        })
    }

    /// Every entry's state at `now`, in identifier order.
    pub fn statuses(&self, now: i64) -> Vec<EntryStatus> {
        self.entries
            .keys()
            .filter_map(|id| self.status(now, *id))
            .collect()
    }

    /// Frees the slot of a finished fetch; false when the result must be dropped.
    fn finish_fetch(&mut self, id: EntryId) -> bool {
        if self.orphans.remove(&id) {
            self.in_flight = self.in_flight.saturating_sub(1);
            return false;
        }
        match self.entries.get(&id) {
            Some(e) if e.state == State::Fetching => {
                self.in_flight = self.in_flight.saturating_sub(1);
                true
            }
            _ => false,
        }
    }

    /// Drops queued warnings about a proof that was replaced or removed.
    fn drop_notices(&mut self, id: EntryId) {
        self.notices.retain(|a| match a {
            Action::Warn { id: n, .. } | Action::Expired { id: n, .. } => *n != id,
            Action::Fetch(_) => true,
        });
    }

    fn random_below(&mut self, bound: u64) -> u64 {
        // splitmix64: tiny, good enough for jitter, deterministic for a seed.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        if bound == 0 { 0 } else { z % bound }
    }

    /// When to refresh a proof with window `v` (now if none or if already past the midpoint).
    fn refresh_time(&mut self, now: i64, v: Option<Validity>) -> i64 {
        let Some(v) = v else { return now };
        if now >= v.end {
            return now;
        }
        let span = u64::try_from(mul_percent(v.length(), self.config.jitter_percent)).unwrap_or(0);
        let jitter = i64::try_from(self.random_below(span.saturating_add(1))).unwrap_or(0);
        v.midpoint().saturating_sub(jitter).max(now)
    }

    /// When to retry after failure number `failures`.
    fn retry_time(&mut self, now: i64, failures: u32, v: Option<Validity>) -> i64 {
        let delay = self.config.backoff(failures);
        let span = delay.saturating_mul(u64::from(self.config.jitter_percent.min(100))) / 100;
        let mut delay = delay
            .saturating_sub(self.random_below(span.saturating_add(1)))
            .max(1);
        if let Some(v) = v
            && v.end > now
        {
            let half_left = u64::try_from((v.end - now) / 2).unwrap_or(0);
            delay = delay.min(half_left.max(self.config.min_retry).max(1));
        }
        now.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX))
    }

    fn schedule(&mut self, now: i64, id: EntryId, at: i64) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        if let Some(old) = entry.refresh_at.take() {
            self.timers.remove(&(old, id, Timer::Refresh));
        }
        if at <= now {
            entry.state = State::Queued;
            self.queue.push_back(id);
        } else {
            entry.state = State::Waiting;
            entry.refresh_at = Some(at);
            self.timers.insert((at, id, Timer::Refresh));
        }
    }

    fn arm_health_timers(&mut self, now: i64, id: EntryId) {
        let warn_percent = self.config.warn_percent;
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        for (slot, timer) in [
            (&mut entry.warn_at, Timer::Warn),
            (&mut entry.expire_at, Timer::Expire),
        ] {
            if let Some(old) = slot.take() {
                self.timers.remove(&(old, id, timer));
            }
        }
        let Some(v) = entry.validity else { return };
        let warn = v.warn_at(warn_percent);
        if warn < v.end {
            entry.warn_at = Some(warn.max(now));
            self.timers.insert((warn.max(now), id, Timer::Warn));
        }
        entry.expire_at = Some(v.end.max(now));
        self.timers.insert((v.end.max(now), id, Timer::Expire));
    }

    fn clear_timers(&mut self, id: EntryId, entry: &Entry) {
        if let Some(at) = entry.refresh_at {
            self.timers.remove(&(at, id, Timer::Refresh));
        }
        if let Some(at) = entry.warn_at {
            self.timers.remove(&(at, id, Timer::Warn));
        }
        if let Some(at) = entry.expire_at {
            self.timers.remove(&(at, id, Timer::Expire));
        }
    }
}
