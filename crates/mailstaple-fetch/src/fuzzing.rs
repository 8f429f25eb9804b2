//! Fuzzing entry points (not a stable API): arbitrary operation sequences against the
//! [`Scheduler`], asserting its invariants after every step.

// Panicking on a broken invariant is this module's job; its input is the fuzzer's, not a peer's.
#![allow(clippy::panic)]

use crate::schedule::{Action, Config, EntryId, Scheduler, State, Validity};

/// Reads bytes as operations on a scheduler with a simulated clock and panics if an invariant
/// breaks: fetch slots never exceed the limit and match the fetches handed out, a refresh is
/// never scheduled past the proof's end, refresh and backoff times stay inside their jitter
/// bounds, notices come only when due, and no timer is left overdue after `handle_timeout`.
pub fn fetch_schedule(data: &[u8]) {
    let mut bytes = data.iter().copied();
    let mut next = || bytes.next();
    let Some(limit) = next() else { return };
    let config = Config {
        max_concurrent: usize::from(limit % 4) + 1,
        ..Config::default()
    };
    let max = config.max_concurrent;
    let mut sched = Scheduler::new(config.clone(), u64::from(limit));
    let mut now: i64 = 1_780_272_000;
    let mut outstanding: Vec<EntryId> = Vec::new();
    let mut validity: std::collections::BTreeMap<EntryId, Option<Validity>> = Default::default();

    while let Some(op) = next() {
        let arg = next().unwrap_or(0);
        let id = EntryId::from(arg % 8);
        match op % 7 {
            0 => {
                let v = (arg & 8 != 0).then(|| {
                    let age = i64::from(next().unwrap_or(0)) * 3_600;
                    let len = i64::from(next().unwrap_or(1)) * 3_600;
                    Validity::new(now - age, now - age + len)
                });
                sched.insert(now, id, v);
                validity.insert(id, v);
            }
            1 => {
                sched.remove(id);
                validity.remove(&id);
            }
            2 => {
                now += i64::from(arg) * i64::from(next().unwrap_or(1)) * 7;
                sched.handle_timeout(now);
                if let Some(t) = sched.poll_timeout() {
                    assert!(t > now, "timer {t} overdue at {now}");
                }
            }
            3 => {
                while let Some(a) = sched.poll_action() {
                    match a {
                        Action::Fetch(id) => {
                            assert!(!outstanding.contains(&id), "two fetches for {id}");
                            assert!(validity.contains_key(&id), "fetch for unknown {id}");
                            outstanding.push(id);
                        }
                        Action::Warn { id, end } => {
                            let v = validity.get(&id).copied().flatten();
                            let v = v.unwrap_or_else(|| panic!("warning for {id} without a proof"));
                            assert_eq!(v.end, end);
                            assert!(v.warn_at(config.warn_percent) <= now, "early warning");
                        }
                        Action::Expired { id, end } => {
                            let v = validity.get(&id).copied().flatten();
                            assert_eq!(v.map(|v| v.end), Some(end));
                            assert!(end <= now, "expiry reported early");
                        }
                    }
                }
            }
            4 | 5 => {
                if outstanding.is_empty() {
                    continue;
                }
                let i = usize::from(arg) % outstanding.len();
                let id = outstanding.swap_remove(i);
                let known = validity.contains_key(&id);
                if op % 7 == 4 {
                    let len = i64::from(next().unwrap_or(0)) * 600;
                    let v = Validity::new(now - 60, now - 60 + len);
                    sched.handle_success(now, id, v);
                    if known {
                        validity.insert(id, Some(v));
                        check_refresh(&sched, &config, now, id, v);
                    }
                } else {
                    sched.handle_failure(now, id, "boom".into());
                    if known {
                        check_retry(
                            &sched,
                            &config,
                            now,
                            id,
                            validity.get(&id).copied().flatten(),
                        );
                    }
                }
            }
            _ => {
                // Duplicate or stray completions must be ignored.
                let before = sched.in_flight();
                if !outstanding.contains(&id) {
                    sched.handle_failure(now, id, "stray".into());
                    sched.handle_success(now, id, Validity::new(now, now + 100));
                    assert_eq!(before, sched.in_flight());
                }
            }
        }
        assert!(sched.in_flight() <= max, "too many fetches");
        assert_eq!(sched.in_flight(), outstanding.len(), "slots out of step");
        assert_eq!(sched.len(), validity.len());
        for st in sched.statuses(now) {
            if let (Some(at), Some(v)) = (st.next_refresh, st.validity)
                && v.end > now.saturating_add(2 * i64::try_from(config.min_retry).unwrap_or(0))
            {
                assert!(at <= v.end, "refresh {at} scheduled past the end {}", v.end);
            }
        }
    }
}

fn check_refresh(sched: &Scheduler, config: &Config, now: i64, id: EntryId, v: Validity) {
    let Some(st) = sched.status(now, id) else {
        return;
    };
    match st.next_refresh {
        // A window already past its (jittered) midpoint is asked again after a retry delay,
        // never at once: a responder that hands out the same proof is not looped on.
        Some(at) if at > v.midpoint() => {
            let delay = i64::try_from(config.backoff(1)).unwrap_or(i64::MAX);
            assert!(
                at > now && at - now <= delay,
                "refresh {at} of a proof past its midpoint {} is no retry delay after {now}",
                v.midpoint()
            );
        }
        Some(at) => {
            let jitter = v.length() * i64::from(config.jitter_percent) / 100;
            assert!(
                at >= v.midpoint() - jitter - 1,
                "refresh {at} outside the jitter bounds"
            );
        }
        None => assert!(st.state != State::Waiting || v.midpoint() <= now),
    }
}

fn check_retry(sched: &Scheduler, config: &Config, now: i64, id: EntryId, v: Option<Validity>) {
    let Some(st) = sched.status(now, id) else {
        return;
    };
    assert!(st.consecutive_failures >= 1);
    let Some(at) = st.next_refresh else { return };
    let delay = i64::try_from(config.backoff(st.consecutive_failures)).unwrap_or(i64::MAX);
    let jitter = delay * i64::from(config.jitter_percent) / 100;
    let waited = at - now;
    assert!(
        waited >= 1 && waited <= delay,
        "retry after {waited}s, backoff {delay}s"
    );
    match v {
        Some(v) if v.end > now => {
            let cap = ((v.end - now) / 2).max(i64::try_from(config.min_retry).unwrap_or(0));
            assert!(
                waited <= cap.max(1),
                "retry after {waited}s, past half the remaining {}s",
                v.end - now
            );
            if delay - jitter <= cap {
                assert!(waited >= (delay - jitter).min(cap));
            }
        }
        _ => assert!(
            waited >= delay - jitter,
            "retry after {waited}s, below the jitter bound of {delay}s"
        ),
    }
}

/// `fetch_url`: an arbitrary responder URL, as a CA writes it into a certificate's AIA
/// extension or an operator into a configuration file. Parsing never panics, and a URL it
/// accepts has a host without white space, control characters or `/`, a path that starts with
/// `/` and holds neither, an authority without those either (it becomes the `Host` header), and
/// it reads back the same from `http://{authority}{path}`.
pub fn fetch_url(data: &[u8]) {
    checked_url(&String::from_utf8_lossy(data));
}

/// [`fetch_url`]'s checks on `text`, returning the URL when the parser accepts it.
fn checked_url(text: &str) -> Option<crate::http::HttpUrl> {
    let url = crate::http::HttpUrl::parse(text).ok()?;
    let clean = |s: &str| !s.bytes().any(|b| b <= b' ' || b == 0x7f);
    assert!(!url.host.is_empty() && clean(&url.host) && !url.host.contains('/'));
    assert!(
        url.path.starts_with('/') && clean(&url.path),
        "path {:?}",
        url.path
    );
    assert!(clean(&url.authority), "authority {:?}", url.authority);
    let again = crate::http::HttpUrl::parse(&format!("http://{}{}", url.authority, url.path));
    assert_eq!(
        again.as_ref().ok(),
        Some(&url),
        "{text:?} does not read back"
    );
    Some(url)
}

#[cfg(test)]
mod url_tests {
    use super::{checked_url, fetch_url};

    #[test]
    fn urls_pass_the_harness() {
        // (URL, host, port, authority, path) of URLs the harness must accept.
        for (text, host, port, authority, path) in [
            (
                "http://ocsp.example.test",
                "ocsp.example.test",
                80,
                "ocsp.example.test",
                "/",
            ),
            (
                "HTTP://ocsp.example.test:8080/path?q#frag",
                "ocsp.example.test",
                8080,
                "ocsp.example.test:8080",
                "/path?q",
            ),
            (
                "http://[2001:db8::1]:80/",
                "2001:db8::1",
                80,
                "[2001:db8::1]:80",
                "/",
            ),
            ("http://[::1]", "::1", 80, "[::1]", "/"),
            (
                "http://r3.o.lencr.org?x=1",
                "r3.o.lencr.org",
                80,
                "r3.o.lencr.org",
                "/?x=1",
            ),
        ] {
            fetch_url(text.as_bytes());
            let url = checked_url(text).unwrap_or_else(|| panic!("{text:?} is refused"));
            assert_eq!(
                (
                    url.host.as_str(),
                    url.port,
                    url.authority.as_str(),
                    url.path.as_str()
                ),
                (host, port, authority, path),
                "{text:?}"
            );
        }
        for text in [
            "https://no",
            "ftp://ocsp.example.test/",
            "http://",
            "http:///path",
            "http://a b/",
            "http://x@y/",
            "http://ocsp.example.test:99999/",
            "http://ocsp.example.test:port/",
            "http://[::1/",
            "http://[::1]x/",
            "http://ocsp.example.test/a b",
            "http://ocsp.example.test/\x7f",
        ] {
            fetch_url(text.as_bytes());
            assert_eq!(checked_url(text), None, "{text:?} is accepted");
        }
    }
}
