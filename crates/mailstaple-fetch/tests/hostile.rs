//! The fetcher against an in-process hostile responder on loopback, one fault at a time: the
//! installed file is never replaced by an invalid proof and the previous good one stays.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{Reply, Responder, closed_port};
use mailstaple_fetch::{Error, ErrorClass, FetchOptions, OneShot, Target, one_shot};
use mailstaple_ocsp::{OcspRequest, ResponseStatus, Time};
use mailstaple_testpki::{DAY, Defect, HOUR, KeyAlg, NOW, Pki, Signer, Status};
use rustls_pki_types::UnixTime;

fn pki() -> &'static Pki {
    Pki::shared(KeyAlg::EcdsaP256)
}

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

struct Case {
    _dir: tempfile::TempDir,
    target: Target,
    previous: Vec<u8>,
}

/// A target whose out file already holds a good proof (thisUpdate NOW−2h, nextUpdate NOW+1h:
/// past the middle of its window, so a refresh is due).
fn case(url: String) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("leaf.ocsp.der");
    let previous = pki()
        .response()
        .this_update(NOW - 2 * HOUR)
        .next_update(Some(NOW + HOUR))
        .build();
    std::fs::write(&out, &previous).unwrap();
    let target = Target::new(
        pki().leaf.der.clone(),
        pki().intermediate.der.clone(),
        out,
        Some(url),
    );
    Case {
        _dir: dir,
        target,
        previous,
    }
}

fn opts() -> FetchOptions {
    let mut o = FetchOptions::default();
    o.http.connect_timeout = Duration::from_secs(2);
    o.http.total_timeout = Duration::from_millis(1500);
    o
}

fn out_bytes(c: &Case) -> Vec<u8> {
    std::fs::read(&c.target.out).unwrap()
}

/// Runs a fetch that must fail with `class`, leaving the previous proof in place.
fn must_fail(reply: Reply, class: ErrorClass, check: impl Fn(&Error) -> bool) {
    let r = Responder::fixed(reply.clone());
    let c = case(r.url());
    let e = one_shot(&c.target, &opts(), at(NOW), None, false).expect_err("must fail");
    assert_eq!(e.class(), class, "{reply:?}: {e}");
    assert!(check(&e), "{reply:?}: unexpected error {e:?}");
    assert_eq!(
        out_bytes(&c),
        c.previous,
        "{reply:?}: installed file changed"
    );
    // Nothing else in the directory: no temporary file left behind.
    assert_eq!(
        std::fs::read_dir(c.target.out.parent().unwrap())
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn good_proof_is_installed_by_get_with_host_header() {
    let proof = pki().response().build();
    let r = Responder::fixed(Reply::Ok(proof.clone()));
    let c = case(r.url());
    match one_shot(&c.target, &opts(), at(NOW), None, false).unwrap() {
        OneShot::Installed(checked) => {
            assert_eq!(checked.this_update(), Time::from_unix((NOW - HOUR) as i64));
            assert_eq!(checked.validity().end, (NOW + 7 * DAY) as i64);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(out_bytes(&c), proof);
    let seen = r.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].host.as_deref(), Some(r.addr.to_string().as_str()));
    // The GET path is the URL path, a slash and the escaped base64 request (RFC 5019).
    let enc = seen[0].target.strip_prefix("/ocsp/").unwrap();
    let b64 = enc
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    assert!(!b64.contains('%'));
    let der = base64_decode(&b64);
    assert_eq!(der, c.target.request(None).unwrap());
    OcspRequest::parse(&der).unwrap();
}

#[test]
fn post_when_forced_and_content_type_sent() {
    let proof = pki().response().build();
    let r = Responder::fixed(Reply::Ok(proof.clone()));
    let c = case(r.url());
    let mut o = opts();
    o.http.force_post = true;
    one_shot(&c.target, &o, at(NOW), None, false).unwrap();
    let seen = r.requests();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].target, "/ocsp");
    assert_eq!(
        seen[0].content_type.as_deref(),
        Some("application/ocsp-request")
    );
    assert_eq!(seen[0].body, c.target.request(None).unwrap());
    assert_eq!(out_bytes(&c), proof);
}

#[test]
fn still_fresh_proof_is_not_refetched_unless_forced() {
    let r = Responder::fixed(Reply::Ok(pki().response().build()));
    let c = case(r.url());
    // The installed proof (NOW−2h .. NOW+1h) is fresh until its midpoint NOW−30min.
    let early = NOW - HOUR;
    let fresh = pki()
        .response()
        .this_update(NOW - 2 * HOUR)
        .next_update(Some(NOW + HOUR))
        .build();
    std::fs::write(&c.target.out, &fresh).unwrap();
    assert!(matches!(
        one_shot(&c.target, &opts(), at(early), None, false).unwrap(),
        OneShot::StillFresh(_)
    ));
    assert!(r.requests().is_empty());
    // Forced: fetched; the responder's proof (thisUpdate NOW−1h) is newer, so it is installed.
    assert!(matches!(
        one_shot(&c.target, &opts(), at(early), None, true).unwrap(),
        OneShot::Installed(_)
    ));
    assert_eq!(r.requests().len(), 1);
}

#[test]
fn connection_refused() {
    let c = case(format!("http://127.0.0.1:{}/", closed_port()));
    let e = one_shot(&c.target, &opts(), at(NOW), None, false).unwrap_err();
    assert!(matches!(e, Error::Connect(_)), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Network);
    assert_eq!(out_bytes(&c), c.previous);
}

#[test]
fn timeout() {
    must_fail(Reply::Hang, ErrorClass::Network, |e| {
        matches!(e, Error::Timeout("total"))
    });
}

#[test]
fn slow_body() {
    let proof = pki().response().build();
    must_fail(Reply::SlowBody(proof), ErrorClass::Network, |e| {
        matches!(e, Error::Timeout(_))
    });
}

#[test]
fn http_500() {
    must_fail(Reply::Status(500), ErrorClass::Network, |e| {
        matches!(e, Error::HttpStatus(500))
    });
}

#[test]
fn try_later() {
    let body = pki().response().response_status(3).build();
    must_fail(Reply::Ok(body), ErrorClass::Network, |e| {
        matches!(e, Error::ResponderStatus(ResponseStatus::TryLater))
    });
}

#[test]
fn unauthorized() {
    let body = pki().response().response_status(6).build();
    must_fail(Reply::Ok(body), ErrorClass::Network, |e| {
        matches!(e, Error::ResponderStatus(ResponseStatus::Unauthorized))
    });
}

#[test]
fn garbage() {
    must_fail(
        Reply::Ok(b"<html>hello</html>".to_vec()),
        ErrorClass::Invalid,
        |e| matches!(e, Error::Invalid(mailstaple_verify::Error::Malformed(_))),
    );
}

#[test]
fn oversized_body() {
    for with_length in [true, false] {
        must_fail(
            Reply::Oversized {
                len: 200_000,
                with_length,
            },
            ErrorClass::Network,
            |e| matches!(e, Error::TooLarge(65536)),
        );
    }
}

#[test]
fn wrong_content_type() {
    let proof = pki().response().build();
    must_fail(
        Reply::ContentType("text/html".into(), proof),
        ErrorClass::Network,
        |e| matches!(e, Error::ContentType(ct) if ct == "text/html"),
    );
}

#[test]
fn proof_for_another_certificate() {
    let body = pki().response().cert(&pki().other_leaf).build();
    must_fail(Reply::Ok(body), ErrorClass::Invalid, |e| {
        matches!(
            e,
            Error::Invalid(mailstaple_verify::Error::NoResponseForCertificate { .. })
        )
    });
}

#[test]
fn bad_signature() {
    let body = pki().response().defect(Defect::BadSignature).build();
    must_fail(Reply::Ok(body), ErrorClass::Invalid, |e| {
        matches!(e, Error::Invalid(mailstaple_verify::Error::BadSignature))
    });
}

#[test]
fn expired_signer() {
    let body = pki()
        .response()
        .signer(Signer::Delegated(&pki().signer_expired))
        .build();
    must_fail(Reply::Ok(body), ErrorClass::Invalid, |e| {
        matches!(
            e,
            Error::Invalid(mailstaple_verify::Error::SignerExpired { .. })
        )
    });
}

#[test]
fn proof_older_than_installed() {
    let body = pki().response().this_update(NOW - 3 * HOUR).build();
    must_fail(Reply::Ok(body), ErrorClass::Invalid, |e| {
        matches!(e, Error::OlderThanInstalled { .. })
    });
}

#[test]
fn revoked_replaces_the_good_proof_and_unknown_does_not() {
    // An authentic, current revocation newer than the installed proof is installed: the server
    // must stop stapling the withdrawn good proof (it never staples a revoked one).
    let body = pki()
        .response()
        .status(Status::Revoked {
            time: NOW - DAY,
            reason: Some(1),
        })
        .build();
    let r = Responder::fixed(Reply::Ok(body.clone()));
    let c = case(r.url());
    let e = one_shot(&c.target, &opts(), at(NOW), None, false).expect_err("revoked");
    assert!(matches!(e, Error::RevokedInstalled(_)), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Invalid);
    assert!(e.to_string().contains("REVOKED"), "{e}");
    assert_eq!(out_bytes(&c), body);
    // A revocation older than the installed proof is not news: refused, file untouched.
    let stale = pki()
        .response()
        .this_update(NOW - 3 * HOUR)
        .status(Status::Revoked {
            time: NOW - DAY,
            reason: Some(1),
        })
        .build();
    must_fail(Reply::Ok(stale), ErrorClass::Invalid, |e| {
        matches!(e, Error::NotGood(_))
    });
    let body = pki().response().status(Status::Unknown).build();
    must_fail(Reply::Ok(body), ErrorClass::Invalid, |e| {
        matches!(e, Error::NotGood(_))
    });
}

#[test]
fn signer_expiring_before_next_update_bounds_the_window() {
    // Valid at NOW, but the delegated signer expires at NOW+1d, before nextUpdate (NOW+7d):
    // installed, and its window ends with the signer, not with nextUpdate.
    let body = pki()
        .response()
        .signer(Signer::Delegated(&pki().signer_short))
        .build();
    let r = Responder::fixed(Reply::Ok(body.clone()));
    let c = case(r.url());
    let OneShot::Installed(checked) = one_shot(&c.target, &opts(), at(NOW), None, false).unwrap()
    else {
        panic!("not installed")
    };
    let signer_end = mailstaple_ocsp::CertView::parse(&pki().signer_short.der)
        .unwrap()
        .not_after;
    assert_eq!(checked.validity().end, signer_end.unix());
    assert!(checked.validity().end < (NOW + 7 * DAY) as i64);
    assert_eq!(out_bytes(&c), body);
}

#[test]
fn nonce_is_required_when_sent() {
    // Without the nonce in the answer: rejected.
    let body = pki().response().build();
    let r = Responder::fixed(Reply::Ok(body));
    let c = case(r.url());
    let e = one_shot(&c.target, &opts(), at(NOW), Some(&[7u8; 16]), false).unwrap_err();
    assert!(matches!(e, Error::NonceMismatch), "{e:?}");
    assert_eq!(out_bytes(&c), c.previous);

    // A responder that echoes the request's nonce: accepted.
    let echo = Responder::start(Arc::new(|seen: &common::Seen| {
        let der = if seen.method == "POST" {
            seen.body.clone()
        } else {
            let enc = seen.target.rsplit('/').next().unwrap();
            base64_decode(
                &enc.replace("%2B", "+")
                    .replace("%2F", "/")
                    .replace("%3D", "="),
            )
        };
        let req = OcspRequest::parse(&der).unwrap();
        let ext = req.nonce_extension().unwrap();
        // extnValue holds an OCTET STRING holding the nonce.
        let nonce = ext.value[2..].to_vec();
        Reply::Ok(pki().response().nonce(nonce).build())
    }));
    let c = case(echo.url());
    let got = one_shot(&c.target, &opts(), at(NOW), Some(&[7u8; 16]), false).unwrap();
    let OneShot::Installed(checked) = got else {
        panic!()
    };
    assert_eq!(checked.staple().nonce(), Some(&[7u8; 16][..]));
}

#[test]
fn no_ocsp_url_is_quiet_class() {
    let mut opts_pki = mailstaple_testpki::PkiOptions::new(KeyAlg::EcdsaP256);
    opts_pki.ocsp_url = None;
    let p = Pki::with_options(opts_pki);
    let dir = tempfile::tempdir().unwrap();
    let t = Target::new(
        p.leaf.der.clone(),
        p.intermediate.der.clone(),
        dir.path().join("o"),
        None,
    );
    let e = one_shot(&t, &opts(), at(NOW), None, false).unwrap_err();
    assert!(matches!(e, Error::NoOcspUrl));
    assert_eq!(e.class(), ErrorClass::NoUrl);
    assert!(!dir.path().join("o").exists());
}

#[test]
fn aia_url_is_used_when_none_given() {
    let t = Target::new(
        pki().leaf.der.clone(),
        pki().intermediate.der.clone(),
        PathBuf::from("x"),
        None,
    );
    assert_eq!(t.responder_url().unwrap(), "http://127.0.0.1:8888/");
}

fn base64_decode(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().take_while(|c| *c != b'=') {
        acc = (acc << 6) | alphabet.iter().position(|a| *a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn http_proxy_gets_the_absolute_url_and_no_proxy_bypasses_it() {
    let proof = pki().response().build();
    let proxy = Responder::fixed(Reply::Ok(proof.clone()));
    // The responder's name does not resolve: only the proxy can reach it.
    let c = case("http://ocsp.invalid:8080/base".into());
    let mut o = opts();
    o.http.proxy = Some(format!("http://{}", proxy.addr));
    one_shot(&c.target, &o, at(NOW), None, false).unwrap();
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].target.starts_with("http://ocsp.invalid:8080/base/"),
        "{}",
        seen[0].target
    );
    assert_eq!(seen[0].host.as_deref(), Some("ocsp.invalid:8080"));
    assert_eq!(out_bytes(&c), proof);

    // no_proxy: the loopback responder is reached directly, the proxy sees nothing more.
    let direct = Responder::fixed(Reply::Ok(proof.clone()));
    let c = case(direct.url());
    o.http.no_proxy = vec!["localhost".into(), "127.0.0.1".into()];
    one_shot(&c.target, &o, at(NOW), None, false).unwrap();
    assert_eq!(direct.requests().len(), 1);
    assert_eq!(proxy.requests().len(), 1);
}
