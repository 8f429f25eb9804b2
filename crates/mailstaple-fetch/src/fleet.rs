//! The fleet protocol: many hosts, one shared store, one responder request per certificate per
//! window.
//!
//! Each host runs its own fetcher (`mailstaple fetch --daemon` or the one inside `serve`) for
//! the same certificates, and all of them share a [`Store`] (Redis or Valkey, through
//! `mailstaple-store`). For one certificate, when its refresh is due on a node:
//!
//! 1. **Read.** The node reads the stored proof and verifies it with `mailstaple-verify`
//!    exactly as one from the network. A stored proof that is authentic, current, for this
//!    certificate and newer than the node's own is installed locally; if it is also still in
//!    the first half of its window, nothing more is done and the responder is not asked.
//! 2. **Lease.** Otherwise the node takes the certificate's lease (`SET NX PX`; the holder id is
//!    the node name and a per-process token; the TTL is the fetch timeout plus a margin). A node
//!    that does not get it waits: a change notice wakes it, or it polls the store again after
//!    [`FleetOptions::poll`]; a holder that dies loses its lease at its TTL, and the next poll
//!    of another node takes it.
//! 3. **Re-read, fetch, publish.** The holder reads the store once more (a proof may have
//!    landed between the read and the lease), then asks the responder, verifies and installs
//!    the answer as the one-host fetcher does, and writes it to the store only if the stored
//!    value is still the one it read (an atomic compare-and-set; a Lua script on Redis), with a
//!    TTL at the proof's effective expiry; the same script publishes a notice. When the store
//!    changed meanwhile, the holder judges the new value: a newer authentic proof is installed
//!    instead of its own, anything else is replaced (at most three tries). Then it releases the
//!    lease.
//! 4. **Notices.** A node that hears of a change, or (re)subscribes after an outage, reads the
//!    store for the certificates concerned, installs what is newer, and writes its own proof
//!    back when the store holds nothing, something older or something it refused: an emptied or
//!    vandalised store is repopulated by the fleet.
//!
//! **The store is never trusted**: every value read from it goes through [`Target::check`]
//! (`mailstaple_verify::verify`); a forged, foreign, expired or older proof is never installed,
//! and the reason is logged once per distinct value. An authentic revocation in the store is
//! handled as the one-host fetcher handles one from the responder: it replaces the good proof.
//!
//! **A store that fails is not an outage**: any store error makes the node fetch directly, as
//! without a store; the daemon logs the store's state once per change and uses it again when it
//! answers. Every store operation is bounded by a timeout.
//!
//! The decisions are pure ([`decide`]) so that they can be simulated (the `sim` module) and
//! tested without a store; the daemon drives them over a real [`Store`].

use std::sync::Arc;
use std::time::Duration;

use mailstaple_ocsp::Time;
use mailstaple_store::{Lease, Put, Store, StoreKey};
use mailstaple_verify::{Status, verify};
use rustls_pki_types::UnixTime;

use crate::Error;
use crate::fetch::{Checked, FetchOptions, Target, install_answer};
use crate::http::exchange;
use crate::schedule::Validity;

/// Why a node looks at the store for a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Why {
    /// Its refresh is due (the scheduler's [`crate::Action::Fetch`]).
    Due,
    /// Another node announced a new proof, or the subscription was re-established.
    Notice,
}

/// What the stored value turned out to be, after `mailstaple-verify`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stored {
    /// Nothing is stored.
    Absent,
    /// Something is stored that is not an authentic, current proof for this certificate (or
    /// could not be read); the reason.
    Refused(String),
    /// An authentic, current, good proof with this window.
    Good(Validity),
    /// An authentic, current proof that the certificate is revoked (or unknown), with its
    /// thisUpdate.
    NotGood {
        /// Its thisUpdate.
        this_update: i64,
    },
}

/// What the node holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Own {
    /// The installed good proof's window, if one is usable.
    pub validity: Option<Validity>,
    /// The installed proof is an authentic revocation.
    pub revoked: bool,
}

impl Own {
    /// A node's holding.
    pub fn new(validity: Option<Validity>, revoked: bool) -> Own {
        Own { validity, revoked }
    }
}

/// The next step after a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Next {
    /// Nothing more to do.
    Done,
    /// Take the lease and, holding it, ask the responder.
    Lease,
    /// Write the node's own proof to the store (it holds nothing, something older, or
    /// something refused).
    Publish,
}

/// The decision on a stored value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// Install the stored proof locally first.
    pub install: bool,
    /// Then this.
    pub next: Next,
}

/// The fleet's decision for one certificate on one node at `now`; `same_bytes` says whether
/// the stored value is byte for byte the installed file (equal thisUpdates then need nothing).
///
/// A stored good proof is installed when it is newer than the node's (or as new but different
/// bytes: the store breaks ties, so that the fleet staples identical bytes); a stored
/// revocation when it is not older than the node's good proof. When the refresh is due, the
/// responder is asked (through the lease) unless the proof just installed is still in the
/// first half of its window. On a notice, the node publishes its own usable proof when the
/// store holds nothing, something refused, or something older.
pub fn decide(stored: &Stored, own: Own, now: i64, why: Why, same_bytes: bool) -> Decision {
    let own_tu = own.validity.map(|v| v.this_update);
    let install = match stored {
        // Only the responder (through the lease) can lift a revocation: a good proof in the
        // store may be the one the revocation replaced, written back by anyone.
        Stored::Good(v) => !same_bytes && !own.revoked && own_tu.is_none_or(|o| v.this_update >= o),
        Stored::NotGood { this_update } => {
            !same_bytes && !own.revoked && own_tu.is_none_or(|o| *this_update >= o)
        }
        Stored::Absent | Stored::Refused(_) => false,
    };
    let next = match why {
        Why::Due => match stored {
            Stored::Good(v) if install && now < v.midpoint() => Next::Done,
            // A stored revocation: like a revocation from the responder, the scheduler retries.
            Stored::NotGood { .. } if install || same_bytes => Next::Done,
            _ => Next::Lease,
        },
        Why::Notice => {
            let usable = own.validity.filter(|v| now < v.end);
            match (stored, usable) {
                (_, None) => Next::Done,
                (Stored::Absent | Stored::Refused(_), Some(_)) => Next::Publish,
                (Stored::Good(s), Some(o)) if s.this_update < o.this_update => Next::Publish,
                _ => Next::Done,
            }
        }
    };
    Decision { install, next }
}

/// Settings of a node of the fleet.
#[derive(Clone)]
#[non_exhaustive]
pub struct FleetOptions {
    /// The shared store.
    pub store: Arc<dyn Store>,
    /// This node's name (`node` in `[fetch]`; the host name by default).
    pub node: String,
    /// The lease holder id: the node name and a per-process token, so that a restarted node
    /// does not mistake its dead predecessor's lease for its own.
    pub holder: String,
    /// The lease's TTL (the fetch timeout plus a margin).
    pub lease_ttl: Duration,
    /// How long a node that did not get the lease waits before reading the store again.
    pub poll: Duration,
    /// The key prefix.
    pub prefix: String,
}

impl FleetOptions {
    /// Options for `node` on `store`; `token` makes the holder id unique to this process.
    pub fn new(store: Arc<dyn Store>, node: String, token: u64, prefix: String) -> FleetOptions {
        FleetOptions {
            store,
            holder: format!("{node}#{token:016x}"),
            node,
            lease_ttl: Duration::from_secs(45),
            poll: Duration::from_secs(5),
            prefix,
        }
    }
}

impl std::fmt::Debug for FleetOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetOptions")
            .field("store", &self.store.describe())
            .field("node", &self.node)
            .field("lease_ttl", &self.lease_ttl)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

/// Where an installed proof came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// The shared store (another node fetched it).
    Store,
    /// The responder.
    Responder,
}

impl Source {
    /// A short lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Source::Store => "store",
            Source::Responder => "responder",
        }
    }
}

/// The outcome of one [`refresh`].
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) result: RunResult,
    /// The store's last error in this run, if any (the run fell back to the responder).
    pub(crate) store_error: Option<String>,
    /// The store answered at least once.
    pub(crate) store_ok: bool,
    /// The stored value was refused: why, and a digest of it (to log each value once).
    pub(crate) refused: Option<(String, u64)>,
}

#[derive(Debug)]
pub(crate) enum RunResult {
    /// A proof was installed.
    Installed {
        checked_validity: Validity,
        this_update: Time,
        source: Source,
    },
    /// Nothing changed.
    Unchanged,
    /// Another node holds the lease; a proof may have been installed from the store meanwhile.
    Wait {
        holder: String,
        installed: Option<(Validity, Time)>,
    },
    /// The fetch failed as the one-host fetcher's would (an authentic revocation installed from
    /// the store or the responder included).
    Failed(Error, Source),
}

fn at(now: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now).unwrap_or(0)))
}

/// A stored value's verdict, with the checked proof when it is good.
pub(crate) fn judge(
    target: &Target,
    bytes: &[u8],
    now: i64,
    opts: &FetchOptions,
) -> (Stored, Option<Checked>) {
    match verify(bytes, &target.cert, &target.issuer, at(now), &opts.policy) {
        Ok(s) if s.is_good() => {
            let c = target.checked(s);
            (Stored::Good(c.validity()), Some(c))
        }
        Ok(s) => match s.status() {
            Status::Revoked { .. } => (
                Stored::NotGood {
                    this_update: s.this_update().unix(),
                },
                None,
            ),
            // "unknown" from the store is never installed: it could be a replay from before
            // the certificate was known to the responder.
            other => (
                Stored::Refused(format!("the stored proof says {}", other.name())),
                None,
            ),
        },
        Err(e) => (Stored::Refused(format!("proof rejected: {e}")), None),
    }
}

fn digest(bytes: &[u8]) -> u64 {
    // FNV-1a: only to recognise a value already logged, not a security boundary.
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn ttl_until(end: i64, now: i64) -> Duration {
    Duration::from_secs(u64::try_from(end.saturating_sub(now)).unwrap_or(0).max(1))
}

struct Ctx<'a> {
    target: &'a Target,
    key: &'a StoreKey,
    fleet: &'a FleetOptions,
    opts: &'a FetchOptions,
    now: i64,
    run: Run,
    /// A stored proof installed during this turn.
    installed_now: Option<(Validity, Time)>,
}

impl Ctx<'_> {
    fn store_failed(&mut self, e: &mailstaple_store::Error) {
        self.run.store_error = Some(e.to_string());
    }

    /// Reads and judges the stored value; `None` when the store failed.
    async fn read(&mut self) -> Option<(Option<Vec<u8>>, Stored, Option<Checked>)> {
        match self.fleet.store.get(self.key).await {
            Ok(None) => {
                self.run.store_ok = true;
                Some((None, Stored::Absent, None))
            }
            Ok(Some(bytes)) => {
                self.run.store_ok = true;
                let (stored, checked) = judge(self.target, &bytes, self.now, self.opts);
                if let Stored::Refused(why) = &stored {
                    self.run.refused = Some((why.clone(), digest(&bytes)));
                }
                Some((Some(bytes), stored, checked))
            }
            // Vandalism of one key, not an outage: refuse the value, go on with the protocol
            // (the compare-and-set replaces such a value as if nothing were stored).
            Err(
                e @ (mailstaple_store::Error::TooLarge(_)
                | mailstaple_store::Error::Unexpected(_)
                | mailstaple_store::Error::Command(_)),
            ) => {
                self.run.store_ok = true;
                let why = e.to_string();
                self.run.refused = Some((why.clone(), digest(why.as_bytes())));
                Some((None, Stored::Refused(why), None))
            }
            Err(e) => {
                self.store_failed(&e);
                None
            }
        }
    }

    /// Installs a stored value that [`decide`] chose.
    async fn install_stored(
        &mut self,
        bytes: Vec<u8>,
        installed: Option<Time>,
    ) -> Result<Checked, Error> {
        install_answer(self.target, self.opts, at(self.now), None, installed, bytes).await
    }

    /// Writes `proof` (valid until `end`) unless the store changed since `expected`; a newer
    /// authentic proof found there instead is returned for installation.
    async fn publish(
        &mut self,
        mut expected: Option<Vec<u8>>,
        proof: &[u8],
        this_update: i64,
        end: i64,
    ) -> Option<Vec<u8>> {
        if expected.as_deref() == Some(proof) {
            // Already stored: a write would only wake every node for nothing.
            return None;
        }
        for _ in 0..3 {
            let put = self
                .fleet
                .store
                .put_if(
                    self.key,
                    expected.as_deref(),
                    proof,
                    ttl_until(end, self.now),
                    &self.fleet.node,
                )
                .await;
            match put {
                Ok(Put::Written) => return None,
                Ok(Put::Conflict(current)) => {
                    let Some(cur) = current else {
                        expected = None;
                        continue;
                    };
                    if cur == proof {
                        return None;
                    }
                    match judge(self.target, &cur, self.now, self.opts).0 {
                        Stored::Good(v) if v.this_update > this_update => return Some(cur),
                        Stored::NotGood { this_update: t } if t >= this_update => return Some(cur),
                        _ => expected = Some(cur),
                    }
                }
                Ok(_) => return None,
                Err(e) => {
                    self.store_failed(&e);
                    return None;
                }
            }
        }
        None
    }
}

/// One certificate's turn on a node of the fleet (see the module documentation). `installed`
/// is the node's proof: its window and thisUpdate (`None` when it has no usable good proof),
/// and whether it is an authentic revocation.
#[allow(clippy::too_many_arguments)] // each is one fact of the turn; a struct would only rename them
pub(crate) async fn refresh(
    target: &Target,
    key: &StoreKey,
    fleet: &FleetOptions,
    opts: &FetchOptions,
    now: i64,
    installed: Option<(Validity, Time)>,
    revoked: bool,
    why: Why,
    lease_overdue: bool,
) -> Run {
    let mut ctx = Ctx {
        target,
        key,
        fleet,
        opts,
        now,
        installed_now: None,
        run: Run {
            result: RunResult::Unchanged,
            store_error: None,
            store_ok: false,
            refused: None,
        },
    };
    let own = Own::new(installed.map(|i| i.0), revoked);
    let own_tu = installed.map(|i| i.1);
    let own_bytes = std::fs::read(&target.out).ok();

    let Some((bytes, stored, _)) = ctx.read().await else {
        return direct(ctx, installed, why).await;
    };
    let same = bytes.is_some() && bytes == own_bytes;
    let d = decide(&stored, own, now, why, same);
    let mut held = installed;
    if d.install
        && let Some(b) = bytes.clone()
    {
        match ctx.install_stored(b, own_tu).await {
            Ok(c) => {
                held = Some((c.validity(), c.this_update()));
                ctx.installed_now = held;
                if d.next == Next::Done {
                    ctx.run.result = RunResult::Installed {
                        checked_validity: c.validity(),
                        this_update: c.this_update(),
                        source: Source::Store,
                    };
                    return ctx.run;
                }
            }
            Err(e) => {
                ctx.run.result = RunResult::Failed(e, Source::Store);
                return ctx.run;
            }
        }
    }
    match d.next {
        Next::Done => {
            if let (Stored::NotGood { .. }, Why::Due) = (&stored, why) {
                // The revocation is installed (same bytes): report it as the fetcher would.
                if let Ok(s) = verify(
                    bytes.as_deref().unwrap_or_default(),
                    &target.cert,
                    &target.issuer,
                    at(now),
                    &opts.policy,
                ) {
                    ctx.run.result = RunResult::Failed(Error::NotGood(s.status()), Source::Store);
                }
            }
            ctx.run
        }
        Next::Publish => {
            if let (Some(own_bytes), Some((v, _))) = (own_bytes, installed)
                && let Some(newer) = ctx.publish(bytes, &own_bytes, v.this_update, v.end).await
            {
                match ctx.install_stored(newer, own_tu).await {
                    Ok(c) => {
                        ctx.run.result = RunResult::Installed {
                            checked_validity: c.validity(),
                            this_update: c.this_update(),
                            source: Source::Store,
                        };
                    }
                    Err(e) => ctx.run.result = RunResult::Failed(e, Source::Store),
                }
            }
            ctx.run
        }
        Next::Lease => lease_and_fetch(ctx, held, revoked, lease_overdue).await,
    }
}

async fn lease_and_fetch(
    mut ctx: Ctx<'_>,
    held: Option<(Validity, Time)>,
    revoked: bool,
    lease_overdue: bool,
) -> Run {
    let fleet = ctx.fleet;
    // A lease that outlives every TTL the fleet sets (written by hand, or by a node whose
    // clock or configuration is far off) must not stop this node: it goes on without it.
    let lease = if lease_overdue {
        Ok(Lease::Acquired)
    } else {
        fleet
            .store
            .try_lease(ctx.key, &fleet.holder, fleet.lease_ttl)
            .await
    };
    match lease {
        Err(e) => {
            ctx.store_failed(&e);
            return direct(ctx, held, Why::Due).await;
        }
        Ok(Lease::HeldBy(holder)) => {
            ctx.run.result = RunResult::Wait {
                holder,
                installed: ctx.installed_now,
            };
            return ctx.run;
        }
        Ok(_) => {}
    }
    // Holding the lease: read once more, a proof may have landed since the first read.
    let own_bytes = std::fs::read(&ctx.target.out).ok();
    let own = Own::new(held.map(|h| h.0), revoked);
    let (expected, mut held) = match ctx.read().await {
        Some((bytes, stored, _)) => {
            let same = bytes.is_some() && bytes == own_bytes;
            let d = decide(&stored, own, ctx.now, Why::Due, same);
            if d.install
                && let Some(b) = bytes.clone()
            {
                match ctx.install_stored(b, held.map(|h| h.1)).await {
                    Ok(c) if d.next == Next::Done => {
                        ctx.run.result = RunResult::Installed {
                            checked_validity: c.validity(),
                            this_update: c.this_update(),
                            source: Source::Store,
                        };
                        release(&mut ctx).await;
                        return ctx.run;
                    }
                    Ok(c) => (bytes, Some((c.validity(), c.this_update()))),
                    Err(e) => {
                        ctx.run.result = RunResult::Failed(e, Source::Store);
                        release(&mut ctx).await;
                        return ctx.run;
                    }
                }
            } else {
                (bytes, held)
            }
        }
        None => (None, held),
    };
    // Ask the responder, judge and install as the one-host fetcher does.
    let answer = async {
        let url = ctx.target.responder_url()?;
        let request = ctx.target.request(None)?;
        exchange(&url, &request, &ctx.opts.http).await
    }
    .await;
    let body = match answer {
        Ok(b) => b,
        Err(e) => {
            ctx.run.result = RunResult::Failed(e, Source::Responder);
            release(&mut ctx).await;
            return ctx.run;
        }
    };
    let outcome = install_answer(
        ctx.target,
        ctx.opts,
        at(ctx.now),
        None,
        held.map(|h| h.1),
        body.clone(),
    )
    .await;
    let published = match &outcome {
        Ok(c) => Some((c.this_update().unix(), c.validity().end)),
        Err(Error::RevokedInstalled(_)) => verify(
            &body,
            &ctx.target.cert,
            &ctx.target.issuer,
            at(ctx.now),
            &ctx.opts.policy,
        )
        .ok()
        .map(|s| (s.this_update().unix(), s.effective_expiry().unix())),
        Err(_) => None,
    };
    ctx.run.result = match outcome {
        Ok(c) => {
            held = Some((c.validity(), c.this_update()));
            RunResult::Installed {
                checked_validity: c.validity(),
                this_update: c.this_update(),
                source: Source::Responder,
            }
        }
        Err(e) => RunResult::Failed(e, Source::Responder),
    };
    if ctx.run.store_error.is_none()
        && let Some((tu, end)) = published
        && let Some(newer) = ctx.publish(expected, &body, tu, end).await
        && let Ok(c) = ctx.install_stored(newer, held.map(|h| h.1)).await
    {
        ctx.run.result = RunResult::Installed {
            checked_validity: c.validity(),
            this_update: c.this_update(),
            source: Source::Store,
        };
    }
    release(&mut ctx).await;
    ctx.run
}

async fn release(ctx: &mut Ctx<'_>) {
    // Tried even after a store error: that error may have been one key's, and a lease left
    // behind makes the others wait for its TTL.
    if let Err(e) = ctx.fleet.store.release(ctx.key, &ctx.fleet.holder).await {
        ctx.store_failed(&e);
    }
}

/// The store failed: do what a node without a store does.
async fn direct(mut ctx: Ctx<'_>, installed: Option<(Validity, Time)>, why: Why) -> Run {
    if why != Why::Due {
        return ctx.run;
    }
    ctx.run.result = match crate::fetch::fetch_and_install(
        ctx.target,
        ctx.opts,
        at(ctx.now),
        None,
        installed.map(|i| i.1),
    )
    .await
    {
        Ok(c) => RunResult::Installed {
            checked_validity: c.validity(),
            this_update: c.this_update(),
            source: Source::Responder,
        },
        Err(e) => RunResult::Failed(e, Source::Responder),
    };
    ctx.run
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(tu: i64, end: i64) -> Validity {
        Validity::new(tu, end)
    }

    #[test]
    fn a_fresh_newer_stored_proof_spares_the_responder() {
        let own = Own::new(Some(v(0, 100)), false);
        let d = decide(&Stored::Good(v(40, 140)), own, 60, Why::Due, false);
        assert_eq!(
            d,
            Decision {
                install: true,
                next: Next::Done
            }
        );
        // Newer but already past its own midpoint: install it and still refresh.
        let d = decide(&Stored::Good(v(10, 110)), own, 70, Why::Due, false);
        assert_eq!(
            d,
            Decision {
                install: true,
                next: Next::Lease
            }
        );
    }

    #[test]
    fn nothing_usable_in_the_store_means_the_lease() {
        let own = Own::new(Some(v(0, 100)), false);
        for stored in [
            Stored::Absent,
            Stored::Refused("forged".into()),
            Stored::Good(v(-50, 50)),
        ] {
            let d = decide(&stored, own, 60, Why::Due, false);
            assert_eq!(
                d,
                Decision {
                    install: false,
                    next: Next::Lease
                },
                "{stored:?}"
            );
        }
    }

    #[test]
    fn notices_install_newer_and_repopulate_older_or_empty() {
        let own = Own::new(Some(v(0, 100)), false);
        let d = decide(&Stored::Good(v(10, 110)), own, 20, Why::Notice, false);
        assert_eq!(
            d,
            Decision {
                install: true,
                next: Next::Done
            }
        );
        for stored in [
            Stored::Absent,
            Stored::Refused("x".into()),
            Stored::Good(v(-10, 90)),
        ] {
            let d = decide(&stored, own, 20, Why::Notice, false);
            assert_eq!(
                d,
                Decision {
                    install: false,
                    next: Next::Publish
                },
                "{stored:?}"
            );
        }
        // The same proof: nothing to do. An expired own proof is never published.
        let d = decide(&Stored::Good(v(0, 100)), own, 20, Why::Notice, true);
        assert_eq!(
            d,
            Decision {
                install: false,
                next: Next::Done
            }
        );
        let d = decide(&Stored::Absent, own, 120, Why::Notice, false);
        assert_eq!(d.next, Next::Done);
    }

    #[test]
    fn equal_this_update_different_bytes_follows_the_store() {
        let own = Own::new(Some(v(0, 100)), false);
        let d = decide(&Stored::Good(v(0, 100)), own, 20, Why::Notice, false);
        assert!(d.install);
    }

    #[test]
    fn only_the_responder_lifts_a_revocation() {
        // The node installed a revocation; the good proof it replaced is written back into
        // the store (a replay): never installed, on a notice or when due.
        let own = Own::new(Some(v(0, 100)), true);
        for why in [Why::Notice, Why::Due] {
            let d = decide(&Stored::Good(v(10, 110)), own, 20, why, false);
            assert!(!d.install, "{why:?}");
        }
        assert_eq!(
            decide(&Stored::Good(v(10, 110)), own, 20, Why::Due, false).next,
            Next::Lease
        );
    }

    #[test]
    fn revocations_replace_good_proofs_but_not_newer_ones() {
        let own = Own::new(Some(v(10, 100)), false);
        let d = decide(
            &Stored::NotGood { this_update: 20 },
            own,
            30,
            Why::Notice,
            false,
        );
        assert!(d.install);
        let d = decide(
            &Stored::NotGood { this_update: 5 },
            own,
            30,
            Why::Notice,
            false,
        );
        assert!(!d.install);
        let d = decide(
            &Stored::NotGood { this_update: 20 },
            own,
            30,
            Why::Due,
            false,
        );
        assert_eq!(
            d,
            Decision {
                install: true,
                next: Next::Done
            }
        );
    }
}
