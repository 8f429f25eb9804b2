//! A deterministic simulation of the fleet protocol, for tests and the numbers in
//! ARCHITECTURE.md.
//!
//! It drives the real decision logic with simulated time: one [`Scheduler`] per node,
//! [`fleet::decide`](crate::fleet::decide) on every store read, and the steps of
//! [`crate::fleet`]'s driver one event at a time: read (install what is newer), lease (`SET NX`
//! with a TTL; skipped when the node has waited longer than two TTLs and a poll), re-read,
//! ask the responder, install, compare-and-set publish (no write of bytes already stored; a
//! newer proof found instead is installed), release; a store that fails sends the node to the
//! responder directly. Outcomes reach the scheduler as the daemon hands them over: installed,
//! `handle_success`; failed, `handle_failure`; lease held, `handle_deferred` after `poll` (at
//! once when a notice came meanwhile) with only a proof installed during that turn; a notice,
//! `trigger`, and `handle_deferred` back to the refresh time the entry had when it changed
//! nothing; a new subscription, or the store answering after failing for a poll, triggers every
//! entry, at most once a minute. No tokio, no files, no clock: a seeded splitmix64 decides
//! everything, so a [`SimConfig`] always gives the same [`SimReport`].
//!
//! The model:
//! - `certificates` certificates on `nodes` nodes; the store holds, per certificate, a proof
//!   (`this_update`, `end`, `valid`: a forged value is not) with a TTL at its end, and a lease
//!   (holder: node and incarnation, expiry). Store operations take `store_latency` (0 s by
//!   default, but each is its own event, so other nodes' steps interleave).
//! - The responder answers a request at `t` with `this_update = t` rounded down to
//!   `signing_period` (a CA that signs once per period) and `end = this_update + window`; a fetch
//!   takes `fetch_latency`, or `fail_latency` and fails when the node cannot reach the responder.
//! - Outages come from a plan drawn from the seed before the run: node crashes (the node stops,
//!   its runs die, its lease stays until its TTL, it restarts with the files it had and a fresh
//!   scheduler, and reads the store for everything once subscribed), crashes in the middle of a
//!   fetch (`crash_in_fetch`), store outages (every operation fails), forged values written into
//!   the store, and responder outages, full or partial (`partial_share` of them; then each node
//!   reaches the responder with probability `reach_share`, at least one does). With
//!   [`SimConfig::compare_lone`] the same plan is replayed without a store: every node alone, as
//!   the one-host fetcher, for the availability a lone node would have had.
//! - Availability is measured over live node-time: the share of it in which a (node,
//!   certificate) pair holds a proof with `now < end`.
//! - Simplifications: time is in whole seconds; the daemon learns a certificate's store key on
//!   its first turn, here every node knows every key from the start; a warm start (the default)
//!   is a fleet that has been running, so it gets no initial `Resubscribed`.
//!
//! Reading the numbers: a *refresh period* is half a proof's window, the one-host fetcher's
//! refresh interval less its jitter (up to 10 % of the window, so a lone node asks about 1.12
//! times per period). *Requests per proof published* is what the lease buys: 1 when exactly one
//! node asks each time the fleet refreshes a certificate.
//!
//! What the simulation shows about the protocol as it stands:
//! - The lease works: one request per proof published (1.0000 with 10 nodes and no outage), and
//!   a cold start of 10 nodes asks once per certificate (8 times without the lease).
//! - But the fleet refreshes a certificate when its *first* node is due: the earliest of
//!   `nodes` jittered refresh times, about `0.5 / (0.5 - 0.1 * M / (M + 1))` periods apart, so
//!   1.23 to 1.25 requests per certificate per period for 10 nodes and 1.25 to 1.28 for 50: more
//!   than a lone node's 1.12, short of the one request per period the protocol aims at (the ignored
//!   test `one_request_per_certificate_per_refresh_period`). An earlier `decide`, under which a
//!   due node that found its own proof in the store before the midpoint did nothing, measured
//!   1.00 here once that node was deferred to the midpoint (every node then read the store in
//!   the same second); jitter drawn per certificate rather than per node and certificate would
//!   keep the spread without the bias (not simulated).
//! - In the steady state the lease is seldom contended: the first node publishes before the
//!   next is due. It matters when nodes are due together: a cold start, a full re-read, a
//!   responder that comes back.
//! - A store outage sends every node to the responder for the certificates due meanwhile (the
//!   lone rate times the node count); crashes, crashed lease holders and forged values cost no
//!   staple. A partial responder outage costs the fleet nothing while one node reaches the
//!   responder, where the nodes alone lose the proofs of those that cannot.
//!
//! Measured (`cargo run --release -p mailstaple-fetch --example fleet_sim`, seed 1, 7-day
//! proofs signed per hour, 45 s leases, 5 s polls, default scheduler):
//!
//! - `big`: 100,000 certificates on 50 nodes for 4 weeks, with 206 node crashes (each node
//!   about weekly, down 1 min to 4 h; 4 of them while holding a lease) and 4 store outages
//!   (1 min to 6 h, 0.9 % of the time): 1,027,900 responder requests, 1.285 per certificate per
//!   refresh period (2.57 per window) and 1.022 per proof published (the store outages' direct
//!   fetches); peak 460 a minute; 93.8 million store operations, 117 per certificate per
//!   refresh period (2.3 per node), 48.6 million notices; availability 100 % on every node.
//!   145 million events in 14 minutes and 2.1 GB: the 50 real schedulers (entries and timers in
//!   B-trees, about 350 bytes per node and certificate, every access a cache miss) are the
//!   cost; 4 weeks is the shortest span asked for, not a few minutes' worth on this machine.
//! - `year`: 2,000 certificates on 20 nodes for 365 days, with 15 responder outages (1 h to
//!   10 days, mean 20 days apart; 9 partial, each node reaching the responder with probability
//!   1/2), 728 node crashes and 6 store outages: availability 98.51 % (worst node 98.50 %, worst
//!   pair 97.94 %) against 98.33 % (97.97 %, 96.34 %) for the same nodes alone; 18.8 million
//!   requests, 98.7 % of them failed retries during outages, against 33.8 million alone; 103 s.
//!   The fleet's losses are the full outages longer than what is left of a proof: with
//!   `--partial 1` (every outage partial) it keeps 100 % against 99.14 % alone (worst node
//!   98.13 %); with `--partial 0` (every outage full) 98.58 % against 98.14 %, still ahead
//!   (likely because the first node through after an outage publishes for all, and the fleet
//!   refreshes earlier; not isolated).
//! - The tests' fleet, 200 certificates on 10 nodes for 3 weeks: 1.23 requests per certificate
//!   per refresh period, 1.0000 per proof published, 17 store operations per certificate per
//!   refresh period; each node alone 1.12 per period.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;

use crate::fleet::{Next, Own, Stored, Why, decide};
use crate::schedule::{Action, Config, EntryId, Scheduler, Validity};

/// One day in seconds.
pub const DAY: i64 = 86_400;
/// One hour in seconds.
pub const HOUR: i64 = 3_600;
/// When every simulation starts: 2026-06-01T00:00:00Z, the test PKI's instant.
pub const START: i64 = 1_780_272_000;

/// splitmix64: tiny, reproducible, good enough for a simulation.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    /// A generator for one purpose (`stream`), independent of the others drawn from `seed`.
    fn stream(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xd1b5_4a32_d192_ed03));
        Rng(r.next_u64())
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `lo..=hi` (`lo` when the range is empty).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.abs_diff(lo).saturating_add(1);
        lo.saturating_add_unsigned(self.below(span))
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Exponentially distributed with this mean.
    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

/// Random outages, one after another: a gap, an outage, a gap, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outages {
    /// The mean gap between two outages, in seconds (exponentially distributed, added to
    /// `min_gap`).
    pub mean_gap: i64,
    /// The shortest gap, in seconds.
    pub min_gap: i64,
    /// The shortest outage, in seconds.
    pub min_len: i64,
    /// The longest outage, in seconds; lengths are uniform between the two.
    pub max_len: i64,
}

impl Outages {
    /// Outages `mean_gap` apart on average, each `min_len..=max_len` seconds long.
    pub fn new(mean_gap: i64, min_len: i64, max_len: i64) -> Outages {
        Outages {
            mean_gap,
            min_gap: 0,
            min_len,
            max_len,
        }
    }

    /// The same with gaps of at least `min_gap` seconds.
    pub fn with_min_gap(self, min_gap: i64) -> Outages {
        Outages { min_gap, ..self }
    }

    /// The outages between `from` and `to`, as `[start, end)` intervals.
    fn draw(&self, rng: &mut Rng, from: i64, to: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let mut t = from;
        loop {
            let gap = self.min_gap.max(0) + rng.exp(self.mean_gap.max(1) as f64) as i64;
            t = t.saturating_add(gap);
            if t >= to {
                return out;
            }
            let min = self.min_len.max(1);
            let len = rng.range(min, self.max_len.max(min));
            out.push((t, t.saturating_add(len)));
            t = t.saturating_add(len);
        }
    }
}

/// The simulation's settings; times are in seconds.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SimConfig {
    /// Certificates, each on every node.
    pub certificates: u32,
    /// Nodes.
    pub nodes: u32,
    /// The simulated span.
    pub span: i64,
    /// Seeds every random choice: the outage plan, latencies, the schedulers' jitter.
    pub seed: u64,
    /// A proof's window, thisUpdate to end (7 days).
    pub window: i64,
    /// The responder signs once per this period: thisUpdate is the request time rounded down
    /// (1 hour).
    pub signing_period: i64,
    /// Whether the nodes share a store (false: every node alone).
    pub store: bool,
    /// Whether leases exclude (false: `try_lease` always succeeds, as if the lease were ignored).
    pub lease: bool,
    /// The lease's TTL (45 s).
    pub lease_ttl: i64,
    /// How long a node that saw the lease held waits before reading again (5 s).
    pub poll: i64,
    /// A successful fetch takes between these (1 to 3 s).
    pub fetch_latency: (i64, i64),
    /// A fetch from a node that cannot reach the responder fails after this (10 s).
    pub fail_latency: i64,
    /// A notice reaches the other nodes after this (1 s).
    pub notice_delay: i64,
    /// Each store operation takes this (0 s: still one event each, so others interleave).
    pub store_latency: i64,
    /// The scheduler settings of every node.
    pub schedule: Config,
    /// The nodes start as a fleet that has been running (true): every certificate's proof in
    /// the store and on every node, their ages spread evenly over half a window less the
    /// largest jitter, so that no refresh is overdue; or with nothing anywhere (false).
    pub warm_start: bool,
    /// Node crashes (each node draws its own).
    pub node_crashes: Option<Outages>,
    /// The probability that a node crashes while it holds a lease, right after asking the
    /// responder (it restarts 1 to 60 minutes later): leases left behind.
    pub crash_in_fetch: f64,
    /// Store outages.
    pub store_outages: Option<Outages>,
    /// Responder outages.
    pub responder_outages: Option<Outages>,
    /// The share of responder outages that are partial.
    pub partial_share: f64,
    /// During a partial outage, the probability that a node still reaches the responder (at
    /// least one always does).
    pub reach_share: f64,
    /// Forged values written straight into the store per day (a random certificate each).
    pub forgeries_per_day: f64,
    /// Also replay the plan with every node alone (no store) and report it as
    /// [`SimReport::lone`].
    pub compare_lone: bool,
    /// Stop after this many events (the report says so).
    pub max_events: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            certificates: 200,
            nodes: 10,
            span: 21 * DAY,
            seed: 1,
            window: 7 * DAY,
            signing_period: HOUR,
            store: true,
            lease: true,
            lease_ttl: 45,
            poll: 5,
            fetch_latency: (1, 3),
            fail_latency: 10,
            notice_delay: 1,
            store_latency: 0,
            schedule: Config::default(),
            warm_start: true,
            node_crashes: None,
            crash_in_fetch: 0.0,
            store_outages: None,
            responder_outages: None,
            partial_share: 0.0,
            reach_share: 0.5,
            forgeries_per_day: 0.0,
            compare_lone: false,
            max_events: u64::MAX,
        }
    }
}

/// How much of the live node-time the (node, certificate) pairs held a usable proof.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Availability {
    /// Over every pair.
    pub mean: f64,
    /// The worst node, over its certificates.
    pub min_node: f64,
    /// The worst pair.
    pub min_pair: f64,
    /// Live seconds without a usable proof, summed over pairs.
    pub gap_seconds: i64,
    /// Pairs that were ever without a usable proof while their node ran.
    pub pairs_with_gaps: u64,
}

/// What a run measured.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SimReport {
    /// Certificates.
    pub certificates: u32,
    /// Nodes.
    pub nodes: u32,
    /// Whether the nodes shared a store.
    pub store: bool,
    /// The simulated span in seconds (shorter than asked when the event cap was hit).
    pub span: i64,
    /// The span in proof windows.
    pub windows: f64,
    /// The span in refresh periods (half windows).
    pub refresh_periods: f64,
    /// Requests to the responder, failed ones included.
    pub requests: u64,
    /// Of which failed (the node could not reach the responder).
    pub requests_failed: u64,
    /// Requests per certificate per proof window.
    pub requests_per_cert_per_window: f64,
    /// Requests per certificate per refresh period (half a window): 1 is the fleet's target.
    pub requests_per_cert_per_refresh: f64,
    /// The most requests in one minute.
    pub peak_requests_per_minute: u64,
    /// When that minute began, in seconds after the start.
    pub peak_minute_at: i64,
    /// Proofs written to the store (compare-and-set successes): the fleet's refreshes.
    pub publishes: u64,
    /// Requests per proof written to the store: what the lease saves (1 when it lets exactly
    /// one node ask; the node count without it).
    pub requests_per_publish: f64,
    /// Store operations served (reads, leases, compare-and-set tries, releases).
    pub store_ops: u64,
    /// Store operations that failed (the store was down).
    pub store_ops_failed: u64,
    /// Store operations per certificate per proof window.
    pub store_ops_per_cert_per_window: f64,
    /// Store operations per certificate per refresh period.
    pub store_ops_per_cert_per_refresh: f64,
    /// Notices sent to the other live nodes.
    pub notices: u64,
    /// Node crashes that happened during the span.
    pub node_crashes: u64,
    /// Of which while the node held a lease.
    pub holder_crashes: u64,
    /// Store outages that began during the span.
    pub store_outages: u64,
    /// Seconds of the span during which the store was down.
    pub store_down_seconds: i64,
    /// Responder outages that began during the span.
    pub responder_outages: u64,
    /// Of which partial.
    pub partial_responder_outages: u64,
    /// Forged values written into the store.
    pub forgeries: u64,
    /// `Action::Expired` from the schedulers: a proof in hand ran out.
    pub expired_actions: u64,
    /// Staple availability.
    pub availability: Availability,
    /// The same plan with every node alone, when asked ([`SimConfig::compare_lone`]).
    pub lone: Option<Box<SimReport>>,
    /// Events processed.
    pub events: u64,
    /// The event cap stopped the run early.
    pub truncated: bool,
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mean {:.6}%, worst node {:.6}%, worst pair {:.4}%, {} pairs with gaps, {} s without a proof",
            self.mean * 100.0,
            self.min_node * 100.0,
            self.min_pair * 100.0,
            self.pairs_with_gaps,
            self.gap_seconds
        )
    }
}

impl fmt::Display for SimReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} certificates on {} nodes {}, {:.1} days ({:.2} windows){}",
            self.certificates,
            self.nodes,
            if self.store {
                "sharing a store"
            } else {
                "each alone"
            },
            self.span as f64 / DAY as f64,
            self.windows,
            if self.truncated {
                ", STOPPED at the event cap"
            } else {
                ""
            }
        )?;
        writeln!(
            f,
            "  events: {} node crashes ({} holding a lease), {} store outages ({:.1} % of the time), {} responder outages ({} partial), {} forged values",
            self.node_crashes,
            self.holder_crashes,
            self.store_outages,
            self.store_down_seconds as f64 * 100.0 / self.span.max(1) as f64,
            self.responder_outages,
            self.partial_responder_outages,
            self.forgeries
        )?;
        writeln!(
            f,
            "  responder: {} requests ({} failed), {:.4} per certificate per refresh period, {:.4} per window, peak {} per minute (at {:.2} days)",
            self.requests,
            self.requests_failed,
            self.requests_per_cert_per_refresh,
            self.requests_per_cert_per_window,
            self.peak_requests_per_minute,
            self.peak_minute_at as f64 / DAY as f64
        )?;
        if self.store {
            writeln!(
                f,
                "  fleet: {} proofs published, {:.4} requests per proof published",
                self.publishes, self.requests_per_publish
            )?;
            writeln!(
                f,
                "  store: {} operations ({} failed), {:.2} per certificate per refresh period, {:.2} per window; {} notices",
                self.store_ops,
                self.store_ops_failed,
                self.store_ops_per_cert_per_refresh,
                self.store_ops_per_cert_per_window,
                self.notices
            )?;
        }
        writeln!(f, "  availability: {}", self.availability)?;
        writeln!(
            f,
            "  expired proofs reported by the schedulers: {}; {} simulation events",
            self.expired_actions, self.events
        )?;
        if let Some(lone) = &self.lone {
            write!(f, "  the same plan, each node alone:\n  {lone}")?;
        }
        Ok(())
    }
}

/// Runs the simulation (and, with [`SimConfig::compare_lone`], the lone replay).
pub fn run(config: &SimConfig) -> SimReport {
    let plan = Plan::draw(config);
    let mut report = Sim::new(config, &plan).run();
    if config.compare_lone {
        let lone = SimConfig {
            store: false,
            compare_lone: false,
            ..config.clone()
        };
        report.lone = Some(Box::new(Sim::new(&lone, &plan).run()));
    }
    report
}

/// A responder outage: who still reaches it (`None`: nobody).
#[derive(Debug)]
struct ResponderOutage {
    start: i64,
    end: i64,
    reach: Option<Vec<bool>>,
}

/// Everything that goes wrong, drawn before the run so that a replay sees the same.
#[derive(Debug)]
struct Plan {
    responder: Vec<ResponderOutage>,
    store: Vec<(i64, i64)>,
    crashes: Vec<Vec<(i64, i64)>>,
    forgeries: Vec<(i64, u32)>,
}

impl Plan {
    fn draw(c: &SimConfig) -> Plan {
        let end = START.saturating_add(c.span);
        let mut rng = Rng::stream(c.seed, 1);
        let responder = match c.responder_outages {
            None => Vec::new(),
            Some(o) => o
                .draw(&mut rng, START, end)
                .into_iter()
                .map(|(start, end)| {
                    let reach = rng.chance(c.partial_share).then(|| {
                        let mut r: Vec<bool> =
                            (0..c.nodes).map(|_| rng.chance(c.reach_share)).collect();
                        if !r.contains(&true) {
                            let lucky = rng.below(u64::from(c.nodes));
                            if let Some(x) = usize::try_from(lucky).ok().and_then(|i| r.get_mut(i))
                            {
                                *x = true;
                            }
                        }
                        r
                    });
                    ResponderOutage { start, end, reach }
                })
                .collect(),
        };
        let mut rng = Rng::stream(c.seed, 2);
        let store = c
            .store_outages
            .map(|o| o.draw(&mut rng, START, end))
            .unwrap_or_default();
        let crashes = (0..c.nodes)
            .map(|n| {
                let mut rng = Rng::stream(c.seed, 1000 + u64::from(n));
                c.node_crashes
                    .map(|o| o.draw(&mut rng, START, end))
                    .unwrap_or_default()
            })
            .collect();
        let mut rng = Rng::stream(c.seed, 3);
        let mut forgeries = Vec::new();
        if c.forgeries_per_day > 0.0 && c.certificates > 0 {
            let mut t = START;
            loop {
                t = t.saturating_add(rng.exp(DAY as f64 / c.forgeries_per_day) as i64 + 1);
                if t >= end {
                    break;
                }
                let cert = rng.below(u64::from(c.certificates));
                forgeries.push((t, u32::try_from(cert).unwrap_or(0)));
            }
        }
        Plan {
            responder,
            store,
            crashes,
            forgeries,
        }
    }

    /// Whether `node` reaches the responder at `t`.
    fn reachable(&self, node: u32, t: i64) -> bool {
        let i = self.responder.partition_point(|o| o.start <= t);
        let Some(o) = i.checked_sub(1).and_then(|i| self.responder.get(i)) else {
            return true;
        };
        if t >= o.end {
            return true;
        }
        o.reach
            .as_ref()
            .and_then(|r| usize::try_from(node).ok().and_then(|n| r.get(n)))
            .copied()
            .unwrap_or(false)
    }
}

/// A proof, as the simulation sees it: its window and whether it is authentic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Proof {
    this_update: i64,
    end: i64,
    valid: bool,
}

impl Proof {
    fn validity(self) -> Validity {
        Validity::new(self.this_update, self.end)
    }
}

/// What `mailstaple-verify` would make of a stored value at `now`.
fn judge(value: Option<Proof>, now: i64) -> Stored {
    match value {
        None => Stored::Absent,
        Some(p) if !p.valid => Stored::Refused("forged".into()),
        Some(p) if now >= p.end || now < p.this_update => Stored::Refused("not current".into()),
        Some(p) => Stored::Good(p.validity()),
    }
}

/// One certificate's entry in the store.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// The value and when its TTL ends.
    value: Option<(Proof, i64)>,
    /// The lease's holder (node and incarnation) and expiry.
    lease: Option<(u64, i64)>,
}

/// The outcome of a run, before the daemon maps it onto the scheduler.
#[derive(Clone, Copy, Debug)]
enum Res {
    Unchanged,
    Installed(Validity),
    Failed,
    Wait(Option<Validity>),
}

#[derive(Clone, Copy, Debug)]
enum Stage {
    Read,
    Lease,
    Reread,
    Fetched {
        ok: bool,
        proof: Proof,
        direct: bool,
    },
    Put {
        proof: Proof,
        tries: u8,
        release: bool,
    },
    Release,
}

/// One certificate's turn on a node: the state of [`crate::fleet`]'s `refresh` between steps.
#[derive(Debug)]
struct Run {
    node: u32,
    life: u32,
    cert: u32,
    why: Why,
    stage: Stage,
    /// The stored value read, for the compare-and-set.
    expected: Option<Proof>,
    /// A stored proof installed during this turn.
    installed_now: Option<Validity>,
    /// The node has waited for this lease longer than two TTLs and a poll: it goes on
    /// without it (the daemon's `lease_overdue`).
    overdue: bool,
    store_error: bool,
    store_ok: bool,
    result: Res,
}

#[derive(Debug)]
enum Kind {
    Wake { node: u32, life: u32 },
    Step(Box<Run>),
    Notice { node: u32, life: u32, cert: u32 },
    Resubscribed { node: u32, life: u32 },
    Crash(u32),
    Restart(u32),
    StoreDown,
    StoreUp,
    Forge(u32),
}

#[derive(Debug)]
struct Event {
    at: i64,
    seq: u64,
    kind: Kind,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Event {}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Event {
    /// Reversed: the heap's greatest is the earliest event (first come, first served).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

struct Node {
    live: bool,
    life: u32,
    sched: Option<Scheduler>,
    /// The earliest wake-up event pending.
    wake: Option<i64>,
    /// The installed proof per certificate (kept across crashes).
    files: Vec<Option<Proof>>,
    /// Why the next run of an entry happens: a notice, with the refresh time it had.
    notice: Vec<Option<i64>>,
    /// A notice came while the entry was busy (the daemon's `missed_notice`).
    missed: Vec<bool>,
    /// Since when the entry has waited for a lease held by another node.
    waiting_since: Vec<Option<i64>>,
    /// The store's health as this node last saw it, and since when (the daemon's
    /// `StoreState`).
    store_up: Option<bool>,
    store_since: i64,
    /// The last full re-read of the store (at most one a minute).
    last_sync: Option<i64>,
    /// Availability: accounted up to, and live seconds without a usable proof, per certificate.
    acct: Vec<i64>,
    gap: Vec<i64>,
    live_since: i64,
    live_time: i64,
}

impl Node {
    /// Adds the time since the last accounting to the certificate's gap if it had no usable
    /// proof.
    fn account(&mut self, cert: usize, t: i64) {
        let end = self
            .files
            .get(cert)
            .copied()
            .flatten()
            .map_or(i64::MIN, |p| p.end);
        if let (Some(a), Some(g)) = (self.acct.get_mut(cert), self.gap.get_mut(cert)) {
            let from = (*a).max(end);
            if t > from {
                *g += t - from;
            }
            *a = t;
        }
    }

    fn account_all(&mut self, t: i64) {
        for c in 0..self.files.len() {
            self.account(c, t);
        }
    }
}

struct Sim<'a> {
    cfg: &'a SimConfig,
    plan: &'a Plan,
    end: i64,
    now: i64,
    seq: u64,
    queue: BinaryHeap<Event>,
    nodes: Vec<Node>,
    slots: Vec<Slot>,
    store_down: bool,
    /// When the current store outage began, and the seconds of the finished ones.
    store_down_since: i64,
    store_down_total: i64,
    rng: Rng,
    events: u64,
    requests: u64,
    requests_failed: u64,
    minute: i64,
    in_minute: u64,
    peak: u64,
    peak_at: i64,
    store_ops: u64,
    store_ops_failed: u64,
    publishes: u64,
    notices: u64,
    crashes: u64,
    holder_crashes: u64,
    store_outages: u64,
    forgeries: u64,
    expired: u64,
    /// Runs started by one `pump` (kept to spare an allocation per event).
    started: Vec<Run>,
}

fn idx(i: u32) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

fn holder(node: u32, life: u32) -> u64 {
    (u64::from(node) << 32) | u64::from(life)
}

impl<'a> Sim<'a> {
    fn new(cfg: &'a SimConfig, plan: &'a Plan) -> Sim<'a> {
        let n = idx(cfg.certificates);
        let mut rng = Rng::stream(cfg.seed, 4);
        // Ages spread evenly over the fleet's refresh cycle (half a window less the largest
        // jitter), so that no refresh is overdue at the start.
        let jitter = cfg.window / 100 * i64::from(cfg.schedule.jitter_percent.min(100));
        let cycle = (cfg.window / 2 - jitter).max(1);
        let initial: Vec<Option<Proof>> = (0..n)
            .map(|_| {
                cfg.warm_start.then(|| {
                    let back = rng.range(0, cycle - 1);
                    let this_update = round_down(START - back, cfg.signing_period);
                    Proof {
                        this_update,
                        end: this_update + cfg.window,
                        valid: true,
                    }
                })
            })
            .collect();
        let slots = initial
            .iter()
            .map(|p| Slot {
                value: p.filter(|_| cfg.store).map(|p| (p, p.end)),
                lease: None,
            })
            .collect();
        let nodes = (0..cfg.nodes)
            .map(|_| Node {
                live: false,
                life: 0,
                sched: None,
                wake: None,
                files: initial.clone(),
                notice: vec![None; n],
                missed: vec![false; n],
                waiting_since: vec![None; n],
                store_up: None,
                store_since: START,
                last_sync: None,
                acct: vec![START; n],
                gap: vec![0; n],
                live_since: START,
                live_time: 0,
            })
            .collect();
        Sim {
            cfg,
            plan,
            end: START.saturating_add(cfg.span),
            now: START,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes,
            slots,
            store_down: false,
            store_down_since: START,
            store_down_total: 0,
            rng,
            events: 0,
            requests: 0,
            requests_failed: 0,
            minute: i64::MIN,
            in_minute: 0,
            peak: 0,
            peak_at: 0,
            store_ops: 0,
            store_ops_failed: 0,
            publishes: 0,
            notices: 0,
            crashes: 0,
            holder_crashes: 0,
            store_outages: 0,
            forgeries: 0,
            expired: 0,
            started: Vec::new(),
        }
    }

    fn push(&mut self, at: i64, kind: Kind) {
        self.seq += 1;
        self.queue.push(Event {
            at,
            seq: self.seq,
            kind,
        });
    }

    fn run(mut self) -> SimReport {
        if self.cfg.store {
            for &(a, b) in &self.plan.store {
                self.push(a, Kind::StoreDown);
                self.push(b, Kind::StoreUp);
            }
            for &(t, c) in &self.plan.forgeries {
                self.push(t, Kind::Forge(c));
            }
        }
        for (n, crashes) in self.plan.crashes.iter().enumerate() {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            for &(a, b) in crashes {
                self.push(a, Kind::Crash(n));
                self.push(b, Kind::Restart(n));
            }
        }
        for n in 0..self.cfg.nodes {
            self.boot(n, !self.cfg.warm_start);
        }
        let mut truncated = false;
        while let Some(ev) = self.queue.pop() {
            if ev.at >= self.end {
                break;
            }
            if self.events >= self.cfg.max_events {
                truncated = true;
                break;
            }
            self.events += 1;
            self.now = ev.at;
            match ev.kind {
                Kind::Wake { node, life } => {
                    if let Some(n) = self.live_node(node, life)
                        && n.wake == Some(ev.at)
                    {
                        n.wake = None;
                        self.pump(node);
                    }
                }
                Kind::Step(run) => {
                    if self.live_node(run.node, run.life).is_some() {
                        self.step(run);
                    }
                }
                Kind::Notice { node, life, cert } => {
                    if let Some(n) = self.live_node(node, life) {
                        let c = idx(cert);
                        match n
                            .sched
                            .as_mut()
                            .and_then(|s| s.trigger(ev.at, EntryId::from(cert)))
                        {
                            Some(had) => {
                                if let Some(slot) = n.notice.get_mut(c) {
                                    *slot = Some(had);
                                }
                            }
                            None => {
                                if let Some(m) = n.missed.get_mut(c) {
                                    *m = true;
                                }
                            }
                        }
                        self.pump(node);
                    }
                }
                Kind::Resubscribed { node, life } => {
                    let up = !self.store_down;
                    if let Some(n) = self.live_node(node, life)
                        && up
                        && sync_due(&mut n.last_sync, ev.at)
                    {
                        self.trigger_all(node);
                    }
                }
                Kind::Crash(node) => self.crash(node),
                Kind::Restart(node) => {
                    if self.nodes.get(idx(node)).is_some_and(|n| !n.live) {
                        self.boot(node, true);
                    }
                }
                Kind::StoreDown => {
                    self.store_down = true;
                    self.store_down_since = ev.at;
                    self.store_outages += 1;
                }
                Kind::StoreUp => {
                    self.store_down = false;
                    self.store_down_total += ev.at - self.store_down_since;
                    // Every subscriber reconnects and hears `Resubscribed`.
                    for node in 0..self.cfg.nodes {
                        if let Some(n) = self.nodes.get(idx(node))
                            && n.live
                        {
                            let life = n.life;
                            let at = self.now + self.cfg.notice_delay;
                            self.push(at, Kind::Resubscribed { node, life });
                        }
                    }
                }
                Kind::Forge(cert) => {
                    if !self.store_down
                        && let Some(s) = self.slots.get_mut(idx(cert))
                    {
                        // Future-dated, long-lived and not authentic: nobody may install it.
                        let forged = Proof {
                            this_update: ev.at + DAY,
                            end: ev.at + 30 * DAY,
                            valid: false,
                        };
                        s.value = Some((forged, i64::MAX));
                        self.forgeries += 1;
                    }
                }
            }
        }
        let end = if truncated { self.now } else { self.end };
        if self.store_down {
            self.store_down_total += end - self.store_down_since;
        }
        for n in &mut self.nodes {
            if n.live {
                n.account_all(end);
                n.live_time += end - n.live_since;
            }
        }
        self.report(end - START, truncated)
    }

    fn live_node(&mut self, node: u32, life: u32) -> Option<&mut Node> {
        self.nodes
            .get_mut(idx(node))
            .filter(|n| n.live && n.life == life)
    }

    /// Starts (or restarts) a node with the files it has; `subscribe`: it hears `Resubscribed`
    /// once the store answers.
    fn boot(&mut self, node: u32, subscribe: bool) {
        let now = self.now;
        let seed = self.rng.next_u64();
        let store_down = self.store_down;
        let cfg = self.cfg;
        let Some(n) = self.nodes.get_mut(idx(node)) else {
            return;
        };
        n.live = true;
        n.life += 1;
        n.wake = None;
        n.live_since = now;
        n.acct.fill(now);
        n.notice.fill(None);
        n.missed.fill(false);
        n.waiting_since.fill(None);
        // A warm start is a fleet that has been running: it knows the store answers.
        n.store_up = (!subscribe && cfg.store && !store_down).then_some(true);
        n.store_since = now;
        n.last_sync = None;
        let mut sched = Scheduler::new(cfg.schedule.clone(), seed);
        for (c, f) in n.files.iter().enumerate() {
            let usable = f.filter(|p| p.valid && now < p.end).map(Proof::validity);
            sched.insert(now, EntryId::try_from(c).unwrap_or(EntryId::MAX), usable);
        }
        n.sched = Some(sched);
        let life = n.life;
        if subscribe && cfg.store && !store_down {
            self.push(now + cfg.notice_delay, Kind::Resubscribed { node, life });
        }
        self.pump(node);
    }

    fn crash(&mut self, node: u32) {
        let now = self.now;
        let Some(n) = self.nodes.get_mut(idx(node)) else {
            return;
        };
        if !n.live {
            return;
        }
        n.account_all(now);
        n.live_time += now - n.live_since;
        n.live = false;
        n.sched = None;
        n.wake = None;
        self.crashes += 1;
        let who = holder(node, n.life);
        if self
            .slots
            .iter()
            .any(|s| s.lease.is_some_and(|(h, exp)| h == who && exp > now))
        {
            self.holder_crashes += 1;
        }
    }

    /// The daemon's loop body: due timers, then every action, then the next wake-up.
    fn pump(&mut self, node: u32) {
        let now = self.now;
        let latency = if self.cfg.store {
            self.cfg.store_latency
        } else {
            0
        };
        let overdue_after = 2 * self.cfg.lease_ttl.max(1) + self.cfg.poll.max(1);
        let mut runs = std::mem::take(&mut self.started);
        let Some(n) = self.nodes.get_mut(idx(node)) else {
            return;
        };
        let life = n.life;
        let Some(sched) = n.sched.as_mut() else {
            return;
        };
        sched.handle_timeout(now);
        while let Some(action) = sched.poll_action() {
            match action {
                Action::Fetch(id) => {
                    let cert = u32::try_from(id).unwrap_or(u32::MAX);
                    let notice = n.notice.get(idx(cert)).copied().flatten();
                    let overdue = n
                        .waiting_since
                        .get(idx(cert))
                        .copied()
                        .flatten()
                        .is_some_and(|t| now - t > overdue_after);
                    runs.push(Run {
                        node,
                        life,
                        cert,
                        why: if notice.is_some() {
                            Why::Notice
                        } else {
                            Why::Due
                        },
                        stage: Stage::Read,
                        expected: None,
                        installed_now: None,
                        overdue,
                        store_error: false,
                        store_ok: false,
                        result: Res::Unchanged,
                    });
                }
                Action::Expired { .. } => self.expired += 1,
                _ => {}
            }
        }
        let next = sched.poll_timeout();
        let rearm = next.filter(|t| n.wake.is_none_or(|w| *t < w));
        if let Some(t) = rearm {
            n.wake = Some(t);
        }
        for run in runs.drain(..) {
            self.push(now + latency, Kind::Step(Box::new(run)));
        }
        self.started = runs;
        if let Some(t) = rearm {
            self.push(t.max(now), Kind::Wake { node, life });
        }
    }

    fn trigger_all(&mut self, node: u32) {
        let now = self.now;
        let Some(n) = self.nodes.get_mut(idx(node)) else {
            return;
        };
        if let Some(s) = n.sched.as_mut() {
            for (c, slot) in n.notice.iter_mut().enumerate() {
                if let Some(had) = s.trigger(now, EntryId::try_from(c).unwrap_or(EntryId::MAX)) {
                    *slot = Some(had);
                }
            }
        }
        self.pump(node);
    }

    fn file(&self, node: u32, cert: u32) -> Option<Proof> {
        self.nodes
            .get(idx(node))
            .and_then(|n| n.files.get(idx(cert)))
            .copied()
            .flatten()
    }

    fn install(&mut self, node: u32, cert: u32, proof: Proof) {
        let now = self.now;
        if let Some(n) = self.nodes.get_mut(idx(node)) {
            n.account(idx(cert), now);
            if let Some(f) = n.files.get_mut(idx(cert)) {
                *f = Some(proof);
            }
        }
    }

    // The store. Each operation fails while it is down, and counts.

    fn store_op(&mut self) -> bool {
        if self.store_down {
            self.store_ops_failed += 1;
            false
        } else {
            self.store_ops += 1;
            true
        }
    }

    fn store_get(&mut self, cert: u32) -> Result<Option<Proof>, ()> {
        if !self.store_op() {
            return Err(());
        }
        let now = self.now;
        let slot = self.slots.get_mut(idx(cert)).ok_or(())?;
        if slot.value.is_some_and(|(_, exp)| exp <= now) {
            slot.value = None;
        }
        Ok(slot.value.map(|(p, _)| p))
    }

    fn store_lease(&mut self, cert: u32, who: u64) -> Result<bool, ()> {
        if !self.store_op() {
            return Err(());
        }
        let (now, ttl, nx) = (self.now, self.cfg.lease_ttl, self.cfg.lease);
        let slot = self.slots.get_mut(idx(cert)).ok_or(())?;
        if nx && slot.lease.is_some_and(|(_, exp)| exp > now) {
            return Ok(false);
        }
        slot.lease = Some((who, now + ttl.max(1)));
        Ok(true)
    }

    fn store_release(&mut self, cert: u32, who: u64) -> Result<(), ()> {
        if !self.store_op() {
            return Err(());
        }
        let slot = self.slots.get_mut(idx(cert)).ok_or(())?;
        if slot.lease.is_some_and(|(h, _)| h == who) {
            slot.lease = None;
        }
        Ok(())
    }

    /// Compare-and-set: `Ok(None)` when written, `Ok(Some(current))` on a conflict.
    #[allow(clippy::type_complexity)]
    fn store_put_if(
        &mut self,
        cert: u32,
        expected: Option<Proof>,
        proof: Proof,
        writer: u32,
    ) -> Result<Option<Option<Proof>>, ()> {
        if !self.store_op() {
            return Err(());
        }
        let now = self.now;
        let slot = self.slots.get_mut(idx(cert)).ok_or(())?;
        if slot.value.is_some_and(|(_, exp)| exp <= now) {
            slot.value = None;
        }
        let current = slot.value.map(|(p, _)| p);
        if current != expected {
            return Ok(Some(current));
        }
        slot.value = Some((proof, proof.end.max(now + 1)));
        self.publishes += 1;
        // The notice: every other live node hears it (a node ignores its own).
        let at = now + self.cfg.notice_delay;
        for node in 0..self.cfg.nodes {
            if node == writer {
                continue;
            }
            if let Some(n) = self.nodes.get(idx(node))
                && n.live
            {
                let life = n.life;
                self.notices += 1;
                self.push(at, Kind::Notice { node, life, cert });
            }
        }
        Ok(None)
    }

    // The steps of `fleet::refresh`.

    fn next(&mut self, mut run: Box<Run>, stage: Stage) {
        run.stage = stage;
        let at = self.now + self.cfg.store_latency;
        self.push(at, Kind::Step(run));
    }

    fn step(&mut self, run: Box<Run>) {
        match run.stage {
            Stage::Read => self.read(run),
            Stage::Lease => self.lease(run),
            Stage::Reread => self.reread(run),
            Stage::Fetched { ok, proof, direct } => self.fetched(run, ok, proof, direct),
            Stage::Put {
                proof,
                tries,
                release,
            } => self.put(run, proof, tries, release),
            Stage::Release => self.release(run),
        }
    }

    fn read(&mut self, mut run: Box<Run>) {
        if !self.cfg.store {
            return self.request(run, true);
        }
        let now = self.now;
        let file = self.file(run.node, run.cert);
        let value = match self.store_get(run.cert) {
            Ok(v) => v,
            Err(()) => {
                run.store_error = true;
                let why = run.why;
                return self.direct(run, why);
            }
        };
        run.store_ok = true;
        let stored = judge(value, now);
        let same = value.is_some() && value == file;
        let own = Own::new(file.map(Proof::validity), false);
        let d = decide(&stored, own, now, run.why, same);
        if d.install
            && let Some(p) = value
        {
            self.install(run.node, run.cert, p);
            run.installed_now = Some(p.validity());
            if d.next == Next::Done {
                run.result = Res::Installed(p.validity());
                return self.finish(&run);
            }
        }
        match d.next {
            Next::Done => self.finish(&run),
            Next::Publish => match file {
                Some(own) => {
                    run.expected = value;
                    let stage = Stage::Put {
                        proof: own,
                        tries: 0,
                        release: false,
                    };
                    self.next(run, stage);
                }
                None => self.finish(&run),
            },
            Next::Lease => self.next(run, Stage::Lease),
        }
    }

    fn lease(&mut self, mut run: Box<Run>) {
        let lease = if run.overdue {
            Ok(true)
        } else {
            self.store_lease(run.cert, holder(run.node, run.life))
        };
        match lease {
            Err(()) => {
                run.store_error = true;
                self.direct(run, Why::Due);
            }
            Ok(false) => {
                run.result = Res::Wait(run.installed_now);
                self.finish(&run);
            }
            Ok(true) => self.next(run, Stage::Reread),
        }
    }

    fn reread(&mut self, mut run: Box<Run>) {
        let now = self.now;
        let file = self.file(run.node, run.cert);
        match self.store_get(run.cert) {
            Err(()) => {
                run.store_error = true;
                run.expected = None;
            }
            Ok(value) => {
                run.store_ok = true;
                let stored = judge(value, now);
                let same = value.is_some() && value == file;
                let own = Own::new(file.map(Proof::validity), false);
                let d = decide(&stored, own, now, Why::Due, same);
                if d.install
                    && let Some(p) = value
                {
                    self.install(run.node, run.cert, p);
                    if d.next == Next::Done {
                        run.result = Res::Installed(p.validity());
                        return self.next(run, Stage::Release);
                    }
                }
                run.expected = value;
            }
        }
        self.request(run, false);
    }

    /// The store failed: do what a node without a store does.
    fn direct(&mut self, run: Box<Run>, why: Why) {
        if why == Why::Due {
            self.request(run, true);
        } else {
            self.finish(&run);
        }
    }

    /// Asks the responder.
    fn request(&mut self, run: Box<Run>, direct: bool) {
        let now = self.now;
        self.requests += 1;
        let minute = now.div_euclid(60);
        if minute == self.minute {
            self.in_minute += 1;
        } else {
            self.minute = minute;
            self.in_minute = 1;
        }
        if self.in_minute > self.peak {
            self.peak = self.in_minute;
            self.peak_at = minute * 60 - START;
        }
        let ok = self.plan.reachable(run.node, now);
        let this_update = round_down(now, self.cfg.signing_period);
        let proof = Proof {
            this_update,
            end: this_update + self.cfg.window,
            valid: true,
        };
        let delay = if ok {
            let (lo, hi) = self.cfg.fetch_latency;
            self.rng.range(lo, hi)
        } else {
            self.requests_failed += 1;
            self.cfg.fail_latency
        };
        let node = run.node;
        let mut run = run;
        run.stage = Stage::Fetched { ok, proof, direct };
        self.push(now + delay.max(0), Kind::Step(run));
        if !direct && self.cfg.crash_in_fetch > 0.0 && self.rng.chance(self.cfg.crash_in_fetch) {
            let back = now + self.rng.range(60, HOUR);
            self.push(now, Kind::Crash(node));
            self.push(back, Kind::Restart(node));
        }
    }

    fn fetched(&mut self, mut run: Box<Run>, ok: bool, proof: Proof, direct: bool) {
        let older = self
            .file(run.node, run.cert)
            .is_some_and(|f| proof.this_update < f.this_update);
        if !ok || older {
            run.result = Res::Failed;
        } else {
            self.install(run.node, run.cert, proof);
            run.result = Res::Installed(proof.validity());
        }
        if direct {
            return self.finish(&run);
        }
        if ok && !older && !run.store_error {
            let stage = Stage::Put {
                proof,
                tries: 0,
                release: true,
            };
            return self.next(run, stage);
        }
        self.next(run, Stage::Release);
    }

    fn put(&mut self, mut run: Box<Run>, proof: Proof, tries: u8, release: bool) {
        let now = self.now;
        if run.expected == Some(proof) {
            // Already stored: a write would only wake every node for nothing.
            return self.after_put(run, release);
        }
        let again = match self.store_put_if(run.cert, run.expected, proof, run.node) {
            Err(()) => {
                run.store_error = true;
                false
            }
            Ok(None) => false,
            Ok(Some(None)) => {
                run.expected = None;
                true
            }
            Ok(Some(Some(cur))) if cur == proof => false,
            Ok(Some(Some(cur))) => match judge(Some(cur), now) {
                Stored::Good(v) if v.this_update > proof.this_update => {
                    self.install(run.node, run.cert, cur);
                    run.result = Res::Installed(v);
                    false
                }
                _ => {
                    run.expected = Some(cur);
                    true
                }
            },
        };
        if again && tries < 2 {
            let stage = Stage::Put {
                proof,
                tries: tries + 1,
                release,
            };
            return self.next(run, stage);
        }
        self.after_put(run, release);
    }

    fn after_put(&mut self, run: Box<Run>, release: bool) {
        if release {
            self.next(run, Stage::Release);
        } else {
            self.finish(&run);
        }
    }

    fn release(&mut self, mut run: Box<Run>) {
        if self
            .store_release(run.cert, holder(run.node, run.life))
            .is_err()
        {
            run.store_error = true;
        }
        self.finish(&run);
    }

    /// The daemon's handling of a finished run.
    fn finish(&mut self, run: &Run) {
        let now = self.now;
        let poll = self.cfg.poll.max(1);
        let Some(n) = self.nodes.get_mut(idx(run.node)) else {
            return;
        };
        // The daemon's `store_health`: the store answers again after failing for at least a
        // poll: re-read it all (at most once a minute).
        let mut again = false;
        if run.store_error {
            if n.store_up != Some(false) {
                n.store_up = Some(false);
                n.store_since = now;
            }
        } else if run.store_ok && n.store_up != Some(true) {
            again = n.store_up == Some(false) && now - n.store_since >= poll;
            n.store_up = Some(true);
            n.store_since = now;
        }
        let again = again && sync_due(&mut n.last_sync, now);
        let c = idx(run.cert);
        let notice = n.notice.get_mut(c).and_then(Option::take);
        let missed = n.missed.get_mut(c).is_some_and(std::mem::take);
        let waiting = n.waiting_since.get_mut(c);
        match run.result {
            Res::Installed(_) | Res::Failed => {
                if let Some(w) = waiting {
                    *w = None;
                }
            }
            Res::Wait(_) => {
                if let Some(w) = waiting {
                    w.get_or_insert(now);
                }
            }
            Res::Unchanged => {}
        }
        let id = EntryId::from(run.cert);
        if let Some(s) = n.sched.as_mut() {
            match run.result {
                Res::Installed(v) => s.handle_success(now, id, v),
                Res::Failed => s.handle_failure(now, id, String::new()),
                Res::Wait(held) => {
                    let at = if missed { now } else { now + poll };
                    s.handle_deferred(now, id, at, held);
                }
                Res::Unchanged => {
                    let at = notice.unwrap_or(now + poll).max(now);
                    s.handle_deferred(now, id, at, None);
                }
            }
        }
        if again {
            self.trigger_all(run.node);
        } else {
            self.pump(run.node);
        }
    }

    fn report(&self, span: i64, truncated: bool) -> SimReport {
        let cfg = self.cfg;
        let certs = f64::from(cfg.certificates.max(1));
        let windows = span as f64 / cfg.window.max(1) as f64;
        let periods = span as f64 / (cfg.window / 2).max(1) as f64;
        let per = |x: u64, n: f64| if n > 0.0 { x as f64 / (certs * n) } else { 0.0 };
        let mut gap_seconds = 0;
        let mut pairs_with_gaps = 0;
        let mut live_pairs = 0.0;
        let mut min_node = 1.0_f64;
        let mut min_pair = 1.0_f64;
        for n in &self.nodes {
            let node_gap: i64 = n.gap.iter().sum();
            gap_seconds += node_gap;
            if n.live_time > 0 {
                let live = n.live_time as f64;
                live_pairs += live * certs;
                min_node = min_node.min(1.0 - node_gap as f64 / (live * certs));
                for g in n.gap.iter().filter(|g| **g > 0) {
                    pairs_with_gaps += 1;
                    min_pair = min_pair.min(1.0 - *g as f64 / live);
                }
            }
        }
        let mean = if live_pairs > 0.0 {
            1.0 - gap_seconds as f64 / live_pairs
        } else {
            1.0
        };
        let in_span = |t: i64| (START..START + span).contains(&t);
        SimReport {
            certificates: cfg.certificates,
            nodes: cfg.nodes,
            store: cfg.store,
            span,
            windows,
            refresh_periods: periods,
            requests: self.requests,
            requests_failed: self.requests_failed,
            requests_per_cert_per_window: per(self.requests, windows),
            requests_per_cert_per_refresh: per(self.requests, periods),
            peak_requests_per_minute: self.peak,
            peak_minute_at: self.peak_at,
            publishes: self.publishes,
            requests_per_publish: if self.publishes > 0 {
                self.requests as f64 / self.publishes as f64
            } else {
                0.0
            },
            store_ops: self.store_ops,
            store_ops_failed: self.store_ops_failed,
            store_ops_per_cert_per_window: per(self.store_ops, windows),
            store_ops_per_cert_per_refresh: per(self.store_ops, periods),
            notices: self.notices,
            node_crashes: self.crashes,
            holder_crashes: self.holder_crashes,
            store_outages: self.store_outages,
            store_down_seconds: self.store_down_total,
            responder_outages: self
                .plan
                .responder
                .iter()
                .filter(|o| in_span(o.start))
                .count() as u64,
            partial_responder_outages: self
                .plan
                .responder
                .iter()
                .filter(|o| in_span(o.start) && o.reach.is_some())
                .count() as u64,
            forgeries: self.forgeries,
            expired_actions: self.expired,
            availability: Availability {
                mean,
                min_node,
                min_pair,
                gap_seconds,
                pairs_with_gaps,
            },
            lone: None,
            events: self.events,
            truncated,
        }
    }
}

/// The daemon's `sync_due`: whether a full re-read may run now (at most one a minute).
fn sync_due(last: &mut Option<i64>, now: i64) -> bool {
    if last.is_some_and(|t| now - t < 60) {
        return false;
    }
    *last = Some(now);
    true
}

fn round_down(t: i64, period: i64) -> i64 {
    if period > 1 {
        t - t.rem_euclid(period)
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> SimConfig {
        SimConfig {
            certificates: 200,
            nodes: 10,
            span: 21 * DAY,
            ..SimConfig::default()
        }
    }

    /// The fleet refreshes a certificate when the first of its nodes is due: the earliest of
    /// `nodes` jitters of up to `jitter_percent` of the window before the midpoint.
    fn earliest_jitter_rate(c: &SimConfig) -> f64 {
        let nodes = f64::from(c.nodes);
        let jitter = f64::from(c.schedule.jitter_percent) / 100.0;
        0.5 / (0.5 - jitter * nodes / (nodes + 1.0))
    }

    #[test]
    fn one_request_per_fleet_refresh_and_the_lease_is_what_makes_it_so() {
        let r = run(&base());
        eprintln!("{r}");
        assert!(!r.truncated);
        // Exactly one node asks the responder each time the fleet refreshes a certificate.
        assert!(r.requests_per_publish <= 1.05, "{r}");
        assert!(r.requests_per_cert_per_refresh >= 0.95, "{r}");
        // And the fleet refreshes at its earliest node's jitter (1.22 periods for 10 nodes),
        // plus a little for thisUpdate rounded down to the hour.
        let rate = earliest_jitter_rate(&base());
        assert!(
            r.requests_per_cert_per_refresh <= rate * 1.03,
            "{r} (rate {rate})"
        );
        assert_eq!(r.availability.gap_seconds, 0, "{r}");
        assert_eq!(r.requests_failed, 0);
        // The store load: a handful of operations per node and refresh.
        assert!(r.store_ops_per_cert_per_refresh < 3.0 * 10.0, "{r}");

        // The lease matters when the nodes are due together, as in a cold start: with it, one
        // request per certificate; without its exclusion, nearly every node asks. (In the
        // steady state the jittered refresh times seldom meet: the first node due publishes
        // before the next one is.)
        let cold = SimConfig {
            warm_start: false,
            // Before the earliest refresh of the first proofs (3.5 days less a 10 % jitter).
            span: 2 * DAY,
            ..base()
        };
        let (on, off) = (
            run(&cold),
            run(&SimConfig {
                lease: false,
                ..cold.clone()
            }),
        );
        eprintln!("{on}\n{off}");
        assert_eq!(on.requests, 200, "{on}");
        assert!(off.requests >= 200 * 5, "{off}");

        // Each node alone asks once per its own jittered period.
        let lone = run(&SimConfig {
            store: false,
            ..base()
        });
        eprintln!("{lone}");
        assert!(lone.requests_per_cert_per_refresh > 10.0 * 1.05, "{lone}");
        assert_eq!(lone.store_ops, 0);
    }

    /// The target the fleet protocol states, one request per certificate per refresh period
    /// whatever the number of nodes: missed by the share of the window the earliest jitter
    /// takes (1.22 periods for 10 nodes, 1.24 for 50 with the default 10 % jitter; 1.23 measured
    /// here, thisUpdate being rounded down to the hour).
    #[test]
    #[ignore = "the fleet refreshes at its earliest node's jittered time: 1.23 requests per period"]
    fn one_request_per_certificate_per_refresh_period() {
        let r = run(&base());
        eprintln!("{r}");
        assert!(r.requests_per_cert_per_refresh <= 1.05, "{r}");
    }

    #[test]
    fn a_cold_fleet_asks_once_per_certificate_too() {
        let r = run(&SimConfig {
            warm_start: false,
            span: 14 * DAY,
            ..base()
        });
        eprintln!("{r}");
        // One request per certificate at the start, then one per fleet refresh.
        assert!(r.requests_per_publish <= 1.05, "{r}");
        let periods = r.refresh_periods;
        let rate = earliest_jitter_rate(&base());
        assert!(
            r.requests_per_cert_per_refresh <= (periods * rate + 1.0) / periods,
            "{r}"
        );
        assert_eq!(
            r.availability.pairs_with_gaps,
            200 * 10,
            "no proof before the first fetch"
        );
        assert!(r.availability.mean > 0.9999, "{r}");
    }

    #[test]
    fn crashes_store_outages_and_forgeries_cost_no_staple() {
        let c = SimConfig {
            span: 28 * DAY,
            node_crashes: Some(Outages::new(2 * DAY, 60, 6 * HOUR)),
            crash_in_fetch: 0.02,
            // Up to 6 days: longer than what is left of a proof at its refresh.
            store_outages: Some(Outages::new(2 * DAY, 60, 6 * DAY)),
            forgeries_per_day: 20.0,
            ..base()
        };
        let r = run(&c);
        eprintln!("{r}");
        assert!(r.node_crashes >= 50, "{r}");
        assert!(r.holder_crashes >= 10, "{r}");
        assert!(r.store_outages >= 3, "{r}");
        assert!(r.forgeries >= 300, "{r}");
        assert!(r.store_ops_failed > 0, "{r}");
        assert_eq!(r.availability.gap_seconds, 0, "{r}");
        assert_eq!(r.expired_actions, 0, "{r}");
        // Store outages send every node to the responder while they last (a lone node's rate,
        // 1.12 per period); the rest of the time the fleet keeps to its own rate.
        let down = r.store_down_seconds as f64 / r.span as f64;
        let bound = (1.0 - down) * earliest_jitter_rate(&c) * 1.03 + down * 10.0 * 1.15;
        assert!(
            r.requests_per_cert_per_refresh < bound,
            "{r} (bound {bound})"
        );
    }

    #[test]
    fn responder_outages_shorter_than_half_a_window_cost_no_staple() {
        let c = SimConfig {
            certificates: 40,
            nodes: 6,
            span: 56 * DAY,
            responder_outages: Some(
                Outages::new(5 * DAY, HOUR, 3 * DAY + 12 * HOUR - HOUR).with_min_gap(DAY),
            ),
            partial_share: 0.5,
            node_crashes: Some(Outages::new(5 * DAY, 60, 2 * HOUR)),
            compare_lone: true,
            ..base()
        };
        let r = run(&c);
        eprintln!("{r}");
        assert!(
            r.responder_outages >= 5 && r.partial_responder_outages >= 1,
            "{r}"
        );
        assert!(r.requests_failed > 0, "{r}");
        assert_eq!(r.availability.gap_seconds, 0, "{r}");
        let lone = r.lone.as_deref().unwrap();
        assert_eq!(lone.availability.gap_seconds, 0, "{lone}");

        // Longer outages do cost staples: the assertion above can fail.
        let longer = run(&SimConfig {
            responder_outages: Some(Outages::new(5 * DAY, 4 * DAY, 6 * DAY).with_min_gap(DAY)),
            ..c
        });
        eprintln!("{longer}");
        assert!(longer.availability.gap_seconds > 0, "{longer}");
    }

    #[test]
    fn a_fleet_outlasts_partial_responder_outages_that_a_lone_node_does_not() {
        let r = run(&SimConfig {
            certificates: 40,
            nodes: 6,
            span: 56 * DAY,
            responder_outages: Some(Outages::new(6 * DAY, 4 * DAY, 8 * DAY).with_min_gap(DAY)),
            partial_share: 1.0,
            reach_share: 0.3,
            compare_lone: true,
            ..base()
        });
        eprintln!("{r}");
        let lone = r.lone.as_deref().unwrap();
        assert!(r.partial_responder_outages >= 3, "{r}");
        assert!(lone.availability.mean < 0.99, "{r}");
        assert!(r.availability.mean > lone.availability.mean, "{r}");
        assert_eq!(r.availability.gap_seconds, 0, "{r}");
    }

    #[test]
    fn a_seed_gives_one_report() {
        let c = SimConfig {
            certificates: 30,
            nodes: 4,
            span: 10 * DAY,
            node_crashes: Some(Outages::new(DAY, 60, HOUR)),
            store_outages: Some(Outages::new(2 * DAY, 60, HOUR)),
            responder_outages: Some(Outages::new(2 * DAY, 60, DAY)),
            partial_share: 0.5,
            ..SimConfig::default()
        };
        assert_eq!(run(&c), run(&c));
        let other = run(&SimConfig {
            seed: 2,
            ..c.clone()
        });
        assert_ne!(run(&c), other);
    }
}
