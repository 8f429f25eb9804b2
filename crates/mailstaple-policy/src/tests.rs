//! Unit tests: options and decisions, the trust store, the delivery mapping, the pure judge and
//! the fuzz harness.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::IpAddr;

use mailstaple_hostlist::{Env, Host, NamedLists, Resolution, StaticResolver, Verdict};
use mailstaple_testpki::{DAY, KeyAlg, NOW, Pki, Status};
use proptest::prelude::*;
use rustls_pki_types::UnixTime;

use crate::*;

fn now() -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(NOW))
}

fn pki() -> &'static Pki {
    Pki::shared(KeyAlg::EcdsaP256)
}

fn options(require: Option<&str>, request: Option<&str>, tls: Option<&str>) -> Options {
    Options {
        hosts_require_ocsp: require.map(str::to_owned),
        hosts_request_ocsp: request.map(str::to_owned),
        hosts_require_tls: tls.map(str::to_owned),
        ..Options::default()
    }
}

fn decide(opts: &Options, ip: &str, name: &str) -> Decision {
    let mut resolver = StaticResolver::new();
    resolver
        .insert(
            "mx.example.net",
            Resolution::Found(vec!["192.0.2.25".parse().unwrap()]),
        )
        .insert("slow.example.net", Resolution::TryAgain("timeout".into()));
    let env = Env::new().with_resolver(&resolver);
    let policy = ClientPolicy::new(opts, &NamedLists::new()).unwrap();
    let ip: IpAddr = ip.parse().unwrap();
    policy.decide(&Host::new(ip).with_name(name), &env)
}

#[test]
fn defaults_are_exims() {
    let o = Options::default();
    assert_eq!(o.hosts_require_ocsp, None);
    assert_eq!(o.hosts_request_ocsp.as_deref(), Some("*"));
    assert_eq!(o.hosts_require_tls, None);
    assert!(o.tls_tempfail_tryclear);
    assert_eq!(o.tls_verify_certificates, "system");
    let d = decide(&o, "192.0.2.25", "mx.example.net");
    assert_eq!(d.mode, Mode::Request);
    assert!(!d.tls_required);
    assert!(d.clear_text_fallback);
    assert!(d.require_ocsp.is_none() && d.require_tls.is_none());
}

#[test]
fn empty_or_colon_request_list_means_never() {
    for list in ["", ":"] {
        let d = decide(&options(None, Some(list), None), "192.0.2.25", "mx");
        assert_eq!(d.mode, Mode::NotRequested, "{list:?}");
    }
    let d = decide(&options(None, None, None), "192.0.2.25", "mx");
    assert_eq!(d.mode, Mode::NotRequested);
}

#[test]
fn require_implies_request_and_tls() {
    let o = options(Some("192.0.2.0/24"), Some(":"), None);
    let d = decide(&o, "192.0.2.25", "mx");
    assert_eq!(d.mode, Mode::Require);
    assert!(d.tls_required);
    assert!(!d.clear_text_fallback);
    assert!(d.request_ocsp.is_none(), "request list not consulted");
    // Another host: not required, and with request `:` not requested.
    let d = decide(&o, "198.51.100.1", "mx");
    assert_eq!(d.mode, Mode::NotRequested);
    assert!(!d.tls_required);
    assert!(d.clear_text_fallback);
}

#[test]
fn defer_in_require_list_fails_closed() {
    let o = options(Some("slow.example.net"), Some(":"), None);
    let d = decide(&o, "192.0.2.25", "mx");
    assert_eq!(d.require_ocsp.as_ref().unwrap().verdict, Verdict::Defer);
    assert_eq!(d.mode, Mode::Require);
    assert!(d.tls_required && !d.clear_text_fallback);
    // A name that resolves to another address is a plain no.
    let o = options(Some("mx.example.net"), Some(":"), None);
    assert_eq!(decide(&o, "192.0.2.26", "x").mode, Mode::NotRequested);
    assert_eq!(decide(&o, "192.0.2.25", "x").mode, Mode::Require);
}

#[test]
fn require_tls_and_tryclear() {
    let o = options(None, Some("*"), Some("*.example.net"));
    let d = decide(&o, "192.0.2.25", "mx.example.net");
    assert!(d.tls_required && !d.clear_text_fallback);
    let d = decide(&o, "192.0.2.25", "mx.example.org");
    assert!(!d.tls_required && d.clear_text_fallback);
    let o = Options {
        tls_tempfail_tryclear: false,
        ..Options::default()
    };
    assert!(!decide(&o, "192.0.2.25", "mx").clear_text_fallback);
    // A defer in hosts_require_tls also requires TLS.
    let o = options(None, Some("*"), Some("slow.example.net"));
    assert!(decide(&o, "192.0.2.25", "mx").tls_required);
}

#[test]
fn named_lists_and_bad_lists() {
    let mut named = NamedLists::new();
    named.define("secure", "192.0.2.0/24").unwrap();
    let o = options(Some("+secure"), None, None);
    let policy = ClientPolicy::new(&o, &named).unwrap();
    let host = Host::new("192.0.2.9".parse().unwrap());
    assert_eq!(policy.decide(&host, &Env::new()).mode, Mode::Require);
    // An unknown named list defers: fail closed.
    let policy = ClientPolicy::new(&o, &NamedLists::new()).unwrap();
    assert_eq!(policy.decide(&host, &Env::new()).mode, Mode::Require);
    let err = ClientPolicy::new(&options(None, None, Some("^(")), &named).unwrap_err();
    assert!(
        matches!(
            err,
            Error::HostList {
                option: "hosts_require_tls",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().starts_with("hosts_require_tls: "), "{err}");
}

#[test]
fn status_values() {
    let v: Vec<u8> = [
        OcspStatus::NotRequested,
        OcspStatus::NotResponded,
        OcspStatus::Failed,
        OcspStatus::Verified,
    ]
    .iter()
    .map(|s| s.value())
    .collect();
    assert_eq!(v, [0, 1, 3, 4]);
}

fn judge_at(mode: Mode, staple: &[u8]) -> OcspOutcome {
    let p = pki();
    judge(
        mode,
        staple,
        &p.leaf.der,
        &[p.intermediate.der.as_slice()],
        &[p.root.der.as_slice()],
        now(),
        &VerifyPolicy::default(),
    )
}

#[test]
fn judge_without_tls() {
    let p = pki();
    let good = p.response().build();
    assert_eq!(
        judge_at(Mode::NotRequested, &good).finding,
        Finding::NotRequested {
            staple_ignored: true
        }
    );
    assert_eq!(judge_at(Mode::Request, &[]).finding, Finding::NoStaple);
    assert!(matches!(
        judge_at(Mode::Require, &good).finding,
        Finding::Good { .. }
    ));
    let revoked = p
        .response()
        .status(Status::Revoked {
            time: NOW - DAY,
            reason: None,
        })
        .build();
    let o = judge_at(Mode::Request, &revoked);
    assert!(o.aborts());
    assert_eq!(o.message(), "Server certificate revoked");
    // A proof with no nextUpdate is out-of-date under the default policy.
    let o = judge_at(Mode::Require, &p.response().next_update(None).build());
    assert!(matches!(o.finding, Finding::OutOfDate(_)), "{o}");
    assert!(
        o.to_string()
            .starts_with("ocsp 3 (require): Server certificate status is out-of-date (")
    );
}

#[test]
fn issuer_must_have_signed_the_leaf() {
    let p = pki();
    let leaf = p.leaf.der.as_slice();
    let int = p.intermediate.der.as_slice();
    assert_eq!(find_issuer(leaf, &[int], &[], now()), vec![int]);
    assert_eq!(find_issuer(leaf, &[], &[int], now()), vec![int]);
    // Root and unrelated CAs are not the leaf's issuer.
    let others = [p.root.der.as_slice(), p.other_ca.der.as_slice()];
    assert!(find_issuer(leaf, &others, &others, now()).is_empty());
    assert!(find_issuer(b"junk", &[int], &[], now()).is_empty());
    // No issuer at all: unverifiable, never good.
    let o = judge(
        Mode::Require,
        &p.response().build(),
        leaf,
        &[],
        &others,
        now(),
        &VerifyPolicy::default(),
    );
    assert_eq!(o.finding, Finding::IssuerNotFound);
    assert!(o.aborts());
    assert!(
        o.message()
            .starts_with("Server certificate status response itself unverifiable: issuer")
    );
}

#[test]
fn delivery_is_the_one_mapping() {
    let require = Decision::fixed(Mode::Require);
    let request = Decision::fixed(Mode::Request);
    let not_req = Decision::fixed(Mode::NotRequested);
    // The verifier never ran and no error: not checked.
    assert_eq!(
        delivery(&require, None, None),
        Delivery::Defer {
            tls_out_ocsp: OcspStatus::NotResponded,
            message: "TLS session: (SSL_connect) Required TLS certificate status not received"
                .into(),
            clear_text_fallback: false,
        }
    );
    assert_eq!(
        delivery(&request, None, None),
        Delivery::Proceed {
            tls_out_ocsp: OcspStatus::NotResponded
        }
    );
    assert_eq!(
        delivery(&not_req, None, None),
        Delivery::Proceed {
            tls_out_ocsp: OcspStatus::NotRequested
        }
    );
    // Another TLS failure keeps its own text; fallback follows the decision.
    let d = decide(&Options::default(), "192.0.2.25", "mx");
    assert_eq!(
        delivery(&d, None, Some("invalid peer certificate: UnknownIssuer")),
        Delivery::Defer {
            tls_out_ocsp: OcspStatus::NotResponded,
            message: "TLS session: invalid peer certificate: UnknownIssuer".into(),
            clear_text_fallback: true,
        }
    );
    // A revoked request-only host defers without clear-text fallback, even when other TLS
    // failures to it may fall back.
    let d = decide(&Options::default(), "192.0.2.25", "mx");
    assert!(d.clear_text_fallback);
    let revoked = pki()
        .response()
        .status(Status::Revoked {
            time: NOW - DAY,
            reason: Some(4),
        })
        .build();
    assert_eq!(
        delivery(&d, Some(&judge_at(Mode::Request, &revoked)), Some("alert")),
        Delivery::Defer {
            tls_out_ocsp: OcspStatus::Failed,
            message: "TLS session: (SSL_connect) Server certificate revoked; reason: superseded"
                .into(),
            clear_text_fallback: false,
        }
    );
    // A verified outcome followed by a later TLS failure still defers.
    let good = judge_at(Mode::Require, &pki().response().build());
    assert!(!delivery(&require, Some(&good), Some("peer closed")).is_proceed());
    assert!(delivery(&require, Some(&good), None).is_proceed());
    assert_eq!(TLS_FAILURE_ERRNO, -37);
}

#[test]
fn trust_store_sources() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    p.write_pem_files(dir.path()).unwrap();
    let file = dir.path().join("chain.pem");
    let store = TrustStore::load(file.to_str().unwrap()).unwrap();
    assert_eq!(store.len(), 2);
    assert_eq!(store.certs()[1].as_ref(), p.intermediate.der.as_slice());
    // A directory: every PEM file (chain.pem counts 2); key files hold no certificate and add nothing.
    let store = TrustStore::load(dir.path().to_str().unwrap()).unwrap();
    assert_eq!(store.len(), 8);
    // Missing, empty, malformed.
    let missing = dir.path().join("nope.pem");
    assert!(matches!(
        TrustStore::load(missing.to_str().unwrap()),
        Err(Error::TrustRead { .. })
    ));
    let empty = dir.path().join("leaf.key");
    assert!(matches!(
        TrustStore::load(empty.to_str().unwrap()),
        Err(Error::NoTrustAnchors { .. })
    ));
    let bad = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        TrustStore::from_pem(bad, "bad"),
        Err(Error::TrustPem { .. })
    ));
    assert_eq!(TrustSource::parse(" system "), TrustSource::System);
    assert_eq!(
        TrustSource::parse("/etc/ssl/certs"),
        TrustSource::Path("/etc/ssl/certs".into())
    );
    if std::path::Path::new(SYSTEM_BUNDLE).exists() {
        assert!(TrustStore::load("system").unwrap().len() > 10);
    } else {
        eprintln!("skipped: {SYSTEM_BUNDLE} not present");
    }
}

fn fixture() {
    let p = pki();
    fuzzing::set_fixture(
        p.leaf.der.clone(),
        p.intermediate.der.clone(),
        vec![p.root.der.clone()],
        NOW,
    );
}

fn fuzz_input(lists: [&str; 5], flags: u8, staple: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    for l in lists {
        data.extend_from_slice(l.as_bytes());
        data.push(0xff);
    }
    data.push(flags);
    data.push(0xff);
    data.extend_from_slice(staple);
    data
}

#[test]
fn fuzz_harness_seeds() {
    fixture();
    let p = pki();
    let staples = [
        Vec::new(),
        p.response().build(),
        p.response()
            .status(Status::Revoked {
                time: NOW - DAY,
                reason: Some(1),
            })
            .build(),
        p.response().status(Status::Unknown).build(),
        b"\x30\x03\x0a\x01\x00".to_vec(),
    ];
    let lists = [
        ["*", "*", "", "mx.test", "192.0.2.25"],
        ["defer.test", ":", "", "mx", "192.0.2.1"],
        [":", "*", "+relays", "defer.test", "192.0.2.1"],
        ["/list", "", "!*", "mx.test", "::1"],
        ["^(", "*", "", "", ""],
    ];
    for l in lists {
        for s in &staples {
            for flags in [0u8, 1, 2, 4, 8, 15] {
                fuzzing::policy_decide(&fuzz_input(l, flags, s));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn fuzz_harness_random(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        fixture();
        fuzzing::policy_decide(&data);
    }

    #[test]
    fn fuzz_harness_mutated_good_staple(pos in 0usize..400, byte in any::<u8>(), mode in 0u8..3) {
        fixture();
        let mut staple = pki().response().build();
        let i = pos % staple.len();
        staple[i] = byte;
        let require = if mode == 2 { "*" } else { ":" };
        let request = if mode == 0 { ":" } else { "*" };
        fuzzing::policy_decide(&fuzz_input([require, request, "", "mx", "192.0.2.1"], 0, &staple));
    }
}
