//! Simulated-clock tests of the scheduler.

use crate::schedule::{Action, Config, Health, Scheduler, State, Validity};

const T0: i64 = 1_780_272_000;
const H: i64 = 3_600;
const D: i64 = 86_400;

fn no_jitter() -> Config {
    Config {
        jitter_percent: 0,
        max_concurrent: 2,
        ..Config::default()
    }
}

fn drain(s: &mut Scheduler) -> Vec<Action> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

#[test]
fn missing_proof_is_fetched_at_once() {
    let mut s = Scheduler::new(no_jitter(), 1);
    s.insert(T0, 7, None);
    assert_eq!(drain(&mut s), vec![Action::Fetch(7)]);
    assert_eq!(s.status(T0, 7).unwrap().health, Health::Missing);
    assert_eq!(s.status(T0, 7).unwrap().state, State::Fetching);
}

#[test]
fn refresh_at_half_the_window() {
    let mut s = Scheduler::new(no_jitter(), 1);
    // A 7-day proof produced an hour ago: refresh 3.5 days after thisUpdate.
    let v = Validity::new(T0 - H, T0 - H + 7 * D);
    s.insert(T0, 1, Some(v));
    assert!(drain(&mut s).is_empty());
    let due = T0 - H + 7 * D / 2;
    assert_eq!(s.poll_timeout(), Some(due));
    s.handle_timeout(due - 1);
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(due);
    assert_eq!(drain(&mut s), vec![Action::Fetch(1)]);
    // Success with a new window: the next refresh is at its midpoint.
    let v2 = Validity::new(due - 60, due - 60 + 4 * D);
    s.handle_success(due, 1, v2);
    assert_eq!(s.status(due, 1).unwrap().next_refresh, Some(v2.midpoint()));
}

#[test]
fn window_past_half_is_refreshed_now() {
    let mut s = Scheduler::new(no_jitter(), 1);
    s.insert(T0, 1, Some(Validity::new(T0 - 5 * D, T0 + 2 * D)));
    assert_eq!(drain(&mut s), vec![Action::Fetch(1)]);
}

#[test]
fn jitter_only_moves_earlier_and_stays_bounded() {
    let v = Validity::new(T0, T0 + 10 * D);
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let mut s = Scheduler::new(Config::default(), seed);
        s.insert(T0, 1, Some(v));
        let at = s.poll_timeout().unwrap();
        // Timers: refresh, warn, expire; the refresh is the earliest.
        assert!(at <= v.midpoint(), "seed {seed}: {at} after the midpoint");
        assert!(
            at >= v.midpoint() - D,
            "seed {seed}: {at} more than 10% early"
        );
        seen.insert(at);
    }
    assert!(
        seen.len() > 100,
        "jitter does not spread: {} distinct times",
        seen.len()
    );
}

#[test]
fn backoff_doubles_to_an_hour() {
    let mut s = Scheduler::new(no_jitter(), 1);
    let mut now = T0;
    s.insert(now, 1, None);
    let mut delays = Vec::new();
    for _ in 0..9 {
        assert_eq!(drain(&mut s), vec![Action::Fetch(1)]);
        s.handle_failure(now, 1, "refused".into());
        let st = s.status(now, 1).unwrap();
        let at = st.next_refresh.unwrap();
        delays.push(at - now);
        now = at;
        s.handle_timeout(now);
    }
    assert_eq!(delays, vec![60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    assert_eq!(s.status(now, 1).unwrap().consecutive_failures, 9);
    assert_eq!(
        s.status(now, 1).unwrap().last_error.as_deref(),
        Some("refused")
    );
    // A success resets the count.
    assert_eq!(drain(&mut s), vec![Action::Fetch(1)]);
    s.handle_success(now, 1, Validity::new(now, now + D));
    let st = s.status(now, 1).unwrap();
    assert_eq!((st.consecutive_failures, st.last_error), (0, None));
}

#[test]
fn backoff_jitter_bounds() {
    for seed in 0..100 {
        let mut s = Scheduler::new(Config::default(), seed);
        s.insert(T0, 1, None);
        drain(&mut s);
        s.handle_failure(T0, 1, "x".into());
        let wait = s.status(T0, 1).unwrap().next_refresh.unwrap() - T0;
        assert!((54..=60).contains(&wait), "seed {seed}: {wait}");
    }
}

#[test]
fn backoff_never_past_the_remaining_validity() {
    let mut s = Scheduler::new(no_jitter(), 1);
    // The proof in hand ends in 10 minutes and the responder is down.
    let end = T0 + 600;
    s.insert(T0, 1, Some(Validity::new(T0 - 7 * D, end)));
    let mut now = T0;
    let mut waits = Vec::new();
    while now < end {
        let fetches: Vec<_> = drain(&mut s)
            .into_iter()
            .filter(|a| matches!(a, Action::Fetch(_)))
            .collect();
        assert_eq!(fetches, vec![Action::Fetch(1)]);
        s.handle_failure(now, 1, "x".into());
        let at = s.status(now, 1).unwrap().next_refresh.unwrap();
        if end - now >= 20 {
            assert!(
                at <= end && at - now <= (end - now) / 2,
                "retry at {at}, now {now}"
            );
        }
        waits.push(at - now);
        now = at;
        s.handle_timeout(now);
    }
    assert_eq!(waits, vec![60, 120, 210, 105, 52, 26, 13, 10, 10]);
}

#[test]
fn warning_then_expiry_once_each() {
    let mut s = Scheduler::new(no_jitter(), 1);
    let v = Validity::new(T0, T0 + 4 * D);
    s.insert(T0, 1, Some(v));
    let mut now = T0;
    let mut notices = Vec::new();
    // Every fetch fails; walk the clock through the window.
    while now < T0 + 5 * D {
        now = s.poll_timeout().unwrap().max(now + 1);
        s.handle_timeout(now);
        for a in drain(&mut s) {
            match a {
                Action::Fetch(id) => s.handle_failure(now, id, "down".into()),
                other => notices.push((now, other)),
            }
        }
        for a in drain(&mut s) {
            if let Action::Fetch(id) = a {
                s.handle_failure(now, id, "down".into());
            } else {
                notices.push((now, a));
            }
        }
    }
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert_eq!(notices[0], (T0 + 3 * D, Action::Warn { id: 1, end: v.end }));
    assert_eq!(
        notices[1],
        (T0 + 4 * D, Action::Expired { id: 1, end: v.end })
    );
    assert_eq!(s.status(now, 1).unwrap().health, Health::Expired);
    assert_eq!(s.status(T0 + 3 * D + 1, 1).unwrap().health, Health::Warning);
}

#[test]
fn concurrency_limit_and_fifo() {
    let mut s = Scheduler::new(no_jitter(), 1);
    for id in 0..5 {
        s.insert(T0, id, None);
    }
    assert_eq!(drain(&mut s), vec![Action::Fetch(0), Action::Fetch(1)]);
    assert_eq!(s.in_flight(), 2);
    // A slow responder holds its slot; the others still progress through the free one.
    s.handle_success(T0 + 1, 1, Validity::new(T0, T0 + D));
    assert_eq!(drain(&mut s), vec![Action::Fetch(2)]);
    s.handle_failure(T0 + 2, 2, "x".into());
    assert_eq!(drain(&mut s), vec![Action::Fetch(3)]);
    assert_eq!(s.status(T0, 4).unwrap().state, State::Queued);
}

#[test]
fn removal_while_fetching_frees_the_slot_later() {
    let mut s = Scheduler::new(
        Config {
            max_concurrent: 1,
            ..no_jitter()
        },
        1,
    );
    s.insert(T0, 1, None);
    s.insert(T0, 2, None);
    assert_eq!(drain(&mut s), vec![Action::Fetch(1)]);
    assert!(s.remove(1));
    assert!(
        drain(&mut s).is_empty(),
        "slot still held by the outstanding fetch"
    );
    s.handle_success(T0, 1, Validity::new(T0, T0 + D));
    assert!(s.status(T0, 1).is_none());
    assert_eq!(drain(&mut s), vec![Action::Fetch(2)]);
}

#[test]
fn fuzz_entry_runs_on_samples() {
    let mut data = Vec::new();
    let mut x: u32 = 12345;
    for round in 0..2000u32 {
        for _ in 0..(50 + round % 700) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            data.push((x >> 16) as u8);
        }
        crate::fuzzing::fetch_schedule(&data);
        data.clear();
    }
}

/// Sixty simulated days against a responder that issues 7-day proofs and goes down for 60 hours
/// from the first refresh after day 20: the proof never expires, exactly one warning is raised
/// during the outage (50-60 % of the window was left when it began, under 25 % at its end),
/// retries follow the capped backoff, and every other refresh falls at 40-50 % of the window.
#[test]
fn sixty_days_with_an_outage() {
    let mut s = Scheduler::new(Config::default(), 99);
    let mut now = T0;
    let proof = |now: i64| Validity::new(now - 60, now - 60 + 7 * D);
    let mut current = proof(now);
    s.insert(now, 1, Some(current));
    let mut outage: Option<std::ops::Range<i64>> = None;
    let (mut warns, mut expiries, mut outage_attempts, mut refreshes) = (0, 0, 0, 0);
    while now < T0 + 60 * D {
        now = s.poll_timeout().unwrap();
        s.handle_timeout(now);
        while let Some(a) = s.poll_action() {
            match a {
                Action::Fetch(1) => {
                    if outage.is_none() && now >= T0 + 20 * D {
                        outage = Some(now..now + 5 * D / 2);
                    }
                    if outage.as_ref().is_some_and(|o| o.contains(&now)) {
                        outage_attempts += 1;
                        s.handle_failure(now, 1, "down".into());
                        continue;
                    }
                    let at = (now - current.this_update) * 100 / current.length();
                    let after_outage = outage
                        .as_ref()
                        .is_some_and(|o| now >= o.end && current.this_update < o.start);
                    assert!(
                        (40..=50).contains(&at) || after_outage,
                        "refresh at {at}% of the window"
                    );
                    current = proof(now);
                    s.handle_success(now, 1, current);
                    refreshes += 1;
                }
                Action::Warn { .. } => warns += 1,
                Action::Expired { .. } => expiries += 1,
                other => panic!("{other:?}"),
            }
        }
        assert!(now < current.end, "the proof expired at {now}");
    }
    assert_eq!((warns, expiries), (1, 0));
    // 60 h down: 60 s doubling to about an hour (6 attempts), then hourly: about 65 attempts.
    assert!(
        (60..=72).contains(&outage_attempts),
        "{outage_attempts} attempts"
    );
    assert!(
        (15..=20).contains(&refreshes),
        "{refreshes} refreshes in 60 days"
    );
}

#[test]
fn a_success_past_its_midpoint_is_asked_again_after_a_retry_delay() {
    // A responder that signs once per period hands back the proof already held, past its
    // midpoint: the next fetch waits a retry delay instead of looping at once.
    let mut s = Scheduler::new(Config::default(), 3);
    s.insert(0, 1, None);
    assert_eq!(s.poll_action(), Some(Action::Fetch(1)));
    let stale = Validity::new(-6 * 3600, 4 * 3600);
    s.handle_success(0, 1, stale);
    assert_eq!(s.poll_action(), None, "no immediate refetch");
    let at = s.status(0, 1).unwrap().next_refresh.unwrap();
    assert!((1..=60).contains(&at), "{at}");
}
