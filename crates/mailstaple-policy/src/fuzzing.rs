//! Fuzz harness logic for `policy_decide`; a target under `fuzz/` is a shim that calls
//! [`set_fixture`] once (from the test PKI) and then [`policy_decide`] for each input.

use std::net::IpAddr;
use std::sync::OnceLock;

use mailstaple_hostlist::{Env, Host, MemoryFiles, NamedLists, Resolution, StaticResolver};
use rustls_pki_types::UnixTime;

use crate::{
    ClientPolicy, Finding, Mode, OcspOutcome, OcspStatus, Options, VerifyPolicy, delivery, judge,
};

/// The certificates a staple is judged against.
struct Fixture {
    leaf: Vec<u8>,
    issuer: Vec<u8>,
    anchors: Vec<Vec<u8>>,
    now: UnixTime,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

/// Sets the leaf, its issuing intermediate (presented by the "server"), the trust anchors and
/// the time (unix seconds) at which staples are judged.
pub fn set_fixture(leaf: Vec<u8>, issuer: Vec<u8>, anchors: Vec<Vec<u8>>, now_secs: u64) {
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now_secs));
    let _ = FIXTURE.set(Fixture {
        leaf,
        issuer,
        anchors,
        now,
    });
}

/// `policy_decide`: arbitrary host lists, host and staple bytes never make the decision or the
/// judgement panic, and the policy's promises hold:
/// - a `hosts_require_ocsp` that matches or defers gives Require, which requires TLS with no
///   clear-text fallback;
/// - NotRequested always proceeds with status 0; Request proceeds unless authentically revoked;
/// - Require proceeds only with status 4, and status 4 only with a staple that
///   `mailstaple_verify::verify` independently finds authentic, current and `good`;
/// - a Require connection on which the verifier never ran does not proceed.
///
/// Input layout: fields separated by `0xff`: `hosts_require_ocsp`, `hosts_request_ocsp`,
/// `hosts_require_tls`, host name, host address, flags (bit 0..2: the three lists unset, bit 3:
/// `tls_tempfail_tryclear` off), then the staple bytes.
pub fn policy_decide(data: &[u8]) {
    let mut parts = data.splitn(7, |&b| b == 0xff);
    let mut text = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (require, request, require_tls, name, address) = (text(), text(), text(), text(), text());
    let flags = parts.next().and_then(|f| f.first().copied()).unwrap_or(0);
    let staple = parts.next().unwrap_or_default();

    let unset = |bit: u8, list: String| (flags & (1 << bit) == 0).then_some(list);
    let options = Options {
        hosts_require_ocsp: unset(0, require),
        hosts_request_ocsp: unset(1, request),
        hosts_require_tls: unset(2, require_tls),
        tls_tempfail_tryclear: flags & 8 == 0,
        ..Options::default()
    };
    let mut named = NamedLists::new();
    if named.define("relays", "192.0.2.0/24 : defer.test").is_err() {
        return;
    }
    let Ok(policy) = ClientPolicy::new(&options, &named) else {
        return;
    };

    let mut resolver = StaticResolver::new();
    resolver
        .insert(
            "mx.test",
            Resolution::Found(vec![IpAddr::from([192, 0, 2, 25])]),
        )
        .insert("defer.test", Resolution::TryAgain("fuzz".to_owned()));
    let mut files = MemoryFiles::new();
    files.insert("/list", "192.0.2.0/24\n!defer.test\nmx.test\n");
    let env = Env::new().with_resolver(&resolver).with_files(&files);
    let ip = address
        .parse::<IpAddr>()
        .unwrap_or(IpAddr::from([192, 0, 2, 25]));
    let host = Host::new(ip).with_name(&name);
    let decision = policy.decide(&host, &env);

    if decision
        .require_ocsp
        .as_ref()
        .is_some_and(|o| o.is_match_or_defer())
    {
        assert_eq!(decision.mode, Mode::Require);
    }
    if decision.mode == Mode::Require {
        assert!(decision.tls_required && !decision.clear_text_fallback);
        assert!(!delivery(&decision, None, None).is_proceed());
    }
    assert!(!delivery(&decision, None, Some("handshake failed")).is_proceed());

    let Some(fx) = FIXTURE.get() else {
        return;
    };
    let anchors: Vec<&[u8]> = fx.anchors.iter().map(Vec::as_slice).collect();
    let verify_policy = VerifyPolicy::default();
    let outcome = judge(
        decision.mode,
        staple,
        &fx.leaf,
        &[fx.issuer.as_slice()],
        &anchors,
        fx.now,
        &verify_policy,
    );
    check(&decision, &outcome, staple, fx, &verify_policy);
}

fn check(
    decision: &crate::Decision,
    outcome: &OcspOutcome,
    staple: &[u8],
    fx: &Fixture,
    verify_policy: &VerifyPolicy,
) {
    let proceeds = delivery(decision, Some(outcome), None).is_proceed();
    let authentic_good = || {
        mailstaple_verify::verify(staple, &fx.leaf, &fx.issuer, fx.now, verify_policy)
            .is_ok_and(|v| v.is_good())
    };
    if outcome.status() == OcspStatus::Verified {
        assert!(matches!(outcome.finding, Finding::Good { .. }));
        assert!(authentic_good());
    }
    match decision.mode {
        Mode::NotRequested => {
            assert_eq!(outcome.status(), OcspStatus::NotRequested);
            assert!(proceeds);
        }
        Mode::Request => {
            assert_eq!(
                proceeds,
                !matches!(outcome.finding, Finding::Revoked { .. })
            );
        }
        _ => {
            assert_eq!(proceeds, outcome.status() == OcspStatus::Verified);
            if proceeds {
                assert!(authentic_good());
            }
        }
    }
}
