//! The provider's rules, one ECDSA certificate, in-memory handshakes at a settable clock.

use std::time::{Duration, Instant};

use mailstaple_server::{Config, Error, StapleProvider, StapleState, TlsInOcsp};
use mailstaple_testpki::{DAY, Defect, HOUR, KeyAlg, NOW, Pki, PkiOptions, Signer, Status};

use crate::common::{
    Fixture, TestClock, Version, capture_logs, client, handshake, logs_mentioning, provider, server,
};

fn pki() -> &'static Pki {
    Pki::shared(KeyAlg::EcdsaP256)
}

fn one_cert_config(f: &Fixture, ocsp: &str) -> String {
    format!(
        "tls_certificate = {}\ntls_privatekey = {}\ntls_ocsp_file = {ocsp}\n",
        f.p("chain.pem"),
        f.p("leaf.key")
    )
}

/// A fixture with the leaf files and `ocsp.der` holding `proof`, and a provider on it.
fn setup(proof: Option<&[u8]>, clock: &TestClock) -> (Fixture, std::sync::Arc<StapleProvider>) {
    capture_logs();
    let f = Fixture::new();
    f.leaf_files(pki(), "");
    if let Some(p) = proof {
        f.write("ocsp.der", p);
    }
    let p = provider(&one_cert_config(&f, &f.p("ocsp.der")), clock, &[]);
    (f, p)
}

fn stapled(p: &std::sync::Arc<StapleProvider>, version: Version) -> Vec<u8> {
    handshake(
        &server(p.clone()),
        &client(version, &[], true),
        Some("mail.example.test"),
    )
    .unwrap()
    .ocsp
}

#[test]
fn serves_the_verified_proof_in_both_versions_and_rechecks_its_time() {
    let clock = TestClock::at_now();
    let proof = pki().response().build();
    let (_f, p) = setup(Some(&proof), &clock);
    for v in [Version::Tls12, Version::Tls13] {
        assert_eq!(stapled(&p, v), proof, "{v:?}");
    }
    let st = &p.status()[0];
    assert_eq!(st.state, StapleState::Serving);
    assert!(
        st.subject.contains("CN=mail.example.test"),
        "{}",
        st.subject
    );
    assert_eq!(st.serial, "1001");
    let info = st.proof.as_ref().unwrap();
    assert_eq!(info.this_update.unix(), (NOW - HOUR) as i64);
    assert_eq!(info.next_update.unwrap().unix(), (NOW + 7 * DAY) as i64);
    assert_eq!(info.effective_expiry.unix(), (NOW + 7 * DAY) as i64);
    assert_eq!(st.stapled_handshakes, 2);

    // Past nextUpdate plus the 300 s skew, the same file is no longer stapled.
    clock.set(NOW + 7 * DAY + 301);
    for v in [Version::Tls12, Version::Tls13] {
        assert!(stapled(&p, v).is_empty(), "{v:?}");
    }
    assert!(matches!(
        p.status()[0].state,
        StapleState::NotCurrent { .. }
    ));
    // Inside the skew it still is.
    clock.set(NOW + 7 * DAY + 299);
    assert_eq!(stapled(&p, Version::Tls13), proof);
    // Before thisUpdate minus the skew (a clock set back) it is not.
    clock.set(NOW - HOUR - 301);
    assert!(stapled(&p, Version::Tls13).is_empty());
    let c = p.counters();
    assert_eq!((c.stapled, c.unstapled, c.unresolved), (3, 3, 0));
}

#[test]
fn never_staples_a_bad_proof() {
    let pki = pki();
    let rsa = Pki::shared(KeyAlg::Rsa2048);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "expired",
            pki.response()
                .this_update(NOW - 10 * DAY)
                .next_update(Some(NOW - 9 * DAY))
                .build(),
        ),
        (
            "not yet valid",
            pki.response()
                .this_update(NOW + DAY)
                .next_update(Some(NOW + 8 * DAY))
                .build(),
        ),
        ("no nextUpdate", pki.response().next_update(None).build()),
        (
            "another certificate",
            pki.response().cert(&pki.other_leaf).build(),
        ),
        ("same serial, another CA", rsa.response().build()),
        (
            "wrong issuerKeyHash",
            pki.response().defect(Defect::WrongIssuerKeyHash).build(),
        ),
        (
            "bad signature",
            pki.response().defect(Defect::BadSignature).build(),
        ),
        (
            "rogue signer",
            pki.response()
                .signer(Signer::Delegated(&pki.rogue_signer))
                .build(),
        ),
        (
            "expired signer",
            pki.response()
                .signer(Signer::Delegated(&pki.signer_expired))
                .build(),
        ),
        ("unknown", pki.response().status(Status::Unknown).build()),
        ("not successful", pki.response().response_status(3).build()),
        ("garbage", b"\x30\x03\x02\x01".to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, proof) in cases {
        let clock = TestClock::at_now();
        let (f, p) = setup(Some(&proof), &clock);
        assert!(stapled(&p, Version::Tls13).is_empty(), "{what}");
        let st = &p.status()[0];
        assert_eq!(st.state, StapleState::NoValidProof, "{what}");
        assert!(st.last_rejection.is_some(), "{what}");
        let logs = logs_mentioning(&f.p("ocsp.der"));
        assert!(
            logs.iter()
                .any(|(l, m)| *l == log::Level::Error && m.contains("not served")),
            "{what}: {logs:?}"
        );
    }
}

#[test]
fn a_revoked_proof_stops_stapling_and_is_logged_with_its_reason() {
    let clock = TestClock::at_now();
    let good = pki().response().this_update(NOW - 3 * HOUR).build();
    let (f, p) = setup(Some(&good), &clock);
    assert_eq!(stapled(&p, Version::Tls12), good);
    let revoked = pki()
        .response()
        .this_update(NOW - 2 * HOUR)
        .status(Status::Revoked {
            time: NOW - 5 * DAY,
            reason: Some(1),
        })
        .build();
    f.replace("ocsp.der", &revoked);
    assert_eq!(p.poll().revoked, 1);
    assert!(stapled(&p, Version::Tls12).is_empty());
    match &p.status()[0].state {
        StapleState::Revoked { time, reason } => {
            assert_eq!(time.unix(), (NOW - 5 * DAY) as i64);
            assert_eq!(reason.unwrap().0, 1);
        }
        other => panic!("{other:?}"),
    }
    let logs = logs_mentioning(&f.p("ocsp.der"));
    assert!(
        logs.iter().any(|(l, m)| *l == log::Level::Error
            && m.contains("REVOKED")
            && m.contains("keyCompromise")),
        "{logs:?}"
    );
    // A good proof not newer than the revocation does not bring stapling back; a newer one does.
    f.replace(
        "ocsp.der",
        pki().response().this_update(NOW - 2 * HOUR).build(),
    );
    assert_eq!(p.poll().rejected, 1);
    assert!(stapled(&p, Version::Tls12).is_empty());
    let newer = pki().response().this_update(NOW - HOUR).build();
    f.replace("ocsp.der", &newer);
    assert_eq!(p.poll().installed, 1);
    assert_eq!(stapled(&p, Version::Tls12), newer);
}

#[test]
fn a_bad_or_older_file_never_replaces_a_good_proof() {
    let clock = TestClock::at_now();
    let v1 = pki().response().this_update(NOW - 2 * HOUR).build();
    let (f, p) = setup(Some(&v1), &clock);
    let bad = [
        pki().response().defect(Defect::BadSignature).build(),
        pki()
            .response()
            .this_update(NOW - 10 * DAY)
            .next_update(Some(NOW - 9 * DAY))
            .build(),
        pki().response().cert(&pki().other_leaf).build(),
        b"garbage".to_vec(),
        pki().response().this_update(NOW - 3 * HOUR).build(), // valid but older
    ];
    for proof in &bad {
        f.replace("ocsp.der", proof);
        let r = p.poll();
        assert_eq!((r.read, r.rejected, r.installed), (1, 1, 0));
        assert_eq!(stapled(&p, Version::Tls13), v1);
        assert_eq!(p.status()[0].state, StapleState::Serving);
    }
    let logs = logs_mentioning(&f.p("ocsp.der"));
    let warnings = logs
        .iter()
        .filter(|(l, m)| *l == log::Level::Warn && m.contains("still serving"))
        .count();
    assert_eq!(warnings, bad.len(), "{logs:?}");
    assert!(
        logs.iter().any(|(_, m)| m.contains("older than")),
        "{logs:?}"
    );
    // An unchanged file is not read again.
    assert_eq!(p.poll().read, 0);
    // A newer valid proof replaces it.
    let v2 = pki().response().this_update(NOW - HOUR).build();
    f.replace("ocsp.der", &v2);
    assert_eq!(p.poll().installed, 1);
    assert_eq!(stapled(&p, Version::Tls13), v2);
    // Once the served proof has expired, any valid proof replaces it, even an older one.
    let long_old = pki()
        .response()
        .this_update(NOW - 3 * HOUR)
        .next_update(Some(NOW + 30 * DAY))
        .build();
    clock.set(NOW + 8 * DAY);
    assert!(stapled(&p, Version::Tls13).is_empty());
    f.replace("ocsp.der", &long_old);
    assert_eq!(p.poll().installed, 1);
    assert_eq!(stapled(&p, Version::Tls13), long_old);
}

#[test]
fn a_proof_from_the_future_is_retried_without_a_file_change() {
    let clock = TestClock::at_now();
    let early = pki()
        .response()
        .this_update(NOW + HOUR)
        .produced_at(NOW + HOUR)
        .build();
    let (_f, p) = setup(Some(&early), &clock);
    assert!(stapled(&p, Version::Tls13).is_empty());
    clock.set(NOW + HOUR);
    let r = p.poll();
    assert_eq!((r.read, r.installed), (1, 1));
    assert_eq!(stapled(&p, Version::Tls13), early);
}

#[test]
fn a_missing_file_is_logged_and_picked_up_when_it_appears() {
    let clock = TestClock::at_now();
    let (f, p) = setup(None, &clock);
    assert!(stapled(&p, Version::Tls13).is_empty());
    let logs = logs_mentioning(&f.p("ocsp.der"));
    assert!(
        logs.iter()
            .any(|(l, m)| *l == log::Level::Error && m.contains("cannot open")),
        "{logs:?}"
    );
    let proof = pki().response().build();
    f.replace("ocsp.der", &proof);
    assert_eq!(p.poll().installed, 1);
    assert_eq!(stapled(&p, Version::Tls13), proof);
    // Removing the file keeps the proof loaded.
    std::fs::remove_file(f.path("ocsp.der")).unwrap();
    assert_eq!(p.poll().read, 0);
    assert_eq!(stapled(&p, Version::Tls13), proof);
}

#[test]
fn pem_proofs_with_leading_text_and_sticky_prefix() {
    capture_logs();
    let clock = TestClock::at_now();
    let f = Fixture::new();
    f.leaf_files(pki(), "");
    let proof = pki().response().build();
    let b64 = {
        // Encoded with openssl when available would be nicer; a tiny encoder keeps the test
        // self-contained.
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in proof.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out.as_bytes()
            .chunks(64)
            .map(|l| String::from_utf8(l.to_vec()).unwrap() + "\n")
            .collect::<String>()
    };
    f.write("ocsp.pem", format!("OCSP Response Data:\n  (text dump)\n-----BEGIN OCSP RESPONSE-----\n{b64}-----END OCSP RESPONSE-----\n"));
    let p = provider(
        &one_cert_config(&f, &format!("PEM {}", f.p("ocsp.pem"))),
        &clock,
        &[],
    );
    assert_eq!(
        stapled(&p, Version::Tls12),
        proof,
        "the DER inside the PEM is stapled"
    );
    // The same file read as DER (no prefix) is refused.
    let p = provider(&one_cert_config(&f, &f.p("ocsp.pem")), &clock, &[]);
    assert!(stapled(&p, Version::Tls12).is_empty());
}

#[test]
fn the_issuer_comes_from_the_chain_or_tls_ocsp_issuer() {
    capture_logs();
    let clock = TestClock::at_now();
    let f = Fixture::new();
    f.leaf_files(pki(), "");
    f.write("leaf.pem", pki().leaf.pem());
    f.write(
        "ca-bundle.pem",
        pki().other_ca.pem() + &pki().intermediate.pem(),
    );
    let proof = pki().response().build();
    f.write("ocsp.der", &proof);
    let base = format!(
        "tls_certificate = {}\ntls_privatekey = {}\ntls_ocsp_file = {}\n",
        f.p("leaf.pem"),
        f.p("leaf.key"),
        f.p("ocsp.der")
    );
    let err = StapleProvider::builder(Config::parse(&base).unwrap(), clock.clock())
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::NoIssuer { .. }), "{err}");
    let p = provider(
        &format!("{base}tls_ocsp_issuer = {}\n", f.p("ca-bundle.pem")),
        &clock,
        &[],
    );
    assert_eq!(stapled(&p, Version::Tls13), proof);
    // Without tls_ocsp_file the issuer is not needed.
    let plain = format!(
        "tls_certificate = {}\ntls_privatekey = {}\n",
        f.p("leaf.pem"),
        f.p("leaf.key")
    );
    let p = provider(&plain, &clock, &[]);
    assert_eq!(p.status()[0].state, StapleState::NotConfigured);
    assert!(stapled(&p, Version::Tls13).is_empty());
}

#[test]
fn configuration_and_file_errors_stop_the_build() {
    capture_logs();
    let clock = TestClock::at_now();
    let f = Fixture::new();
    f.leaf_files(pki(), "");
    f.write("other.key", pki().other_leaf.key_pem());
    f.write("empty.pem", "no certificate here\n");
    let build = |text: String| {
        StapleProvider::builder(Config::parse(&text).unwrap(), clock.clock()).build()
    };
    let e = build(format!(
        "tls_certificate = {}\ntls_privatekey = {}",
        f.p("chain.pem"),
        f.p("other.key")
    ))
    .unwrap_err();
    assert!(matches!(e, Error::KeyRejected { .. }), "{e}");
    let e = build(format!("tls_certificate = {}", f.p("missing.pem"))).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    let e = build(format!(
        "tls_certificate = {}\ntls_privatekey = {}",
        f.p("empty.pem"),
        f.p("leaf.key")
    ))
    .unwrap_err();
    assert!(matches!(e, Error::BadCertificateFile { .. }), "{e}");
    let e = build(format!("tls_certificate = {}", f.p("chain.pem"))).unwrap_err();
    assert!(
        matches!(e, Error::BadKeyFile { .. }),
        "key expected in the certificate file: {e}"
    );
    // A combined file works without tls_privatekey.
    f.write(
        "combined.pem",
        pki().leaf.pem() + &pki().intermediate.pem() + &pki().leaf.key_pem(),
    );
    assert!(build(format!("tls_certificate = {}", f.p("combined.pem"))).is_ok());
}

#[test]
fn must_staple_without_a_proof_is_an_error_at_load_and_at_each_handshake() {
    capture_logs();
    let pki = Pki::with_options(PkiOptions {
        must_staple: true,
        ..PkiOptions::new(KeyAlg::EcdsaP256)
    });
    let clock = TestClock::at_now();
    let f = Fixture::new();
    f.leaf_files(&pki, "");
    f.write(
        "ocsp.der",
        pki.response().defect(Defect::BadSignature).build(),
    );
    let p = provider(&one_cert_config(&f, &f.p("ocsp.der")), &clock, &[]);
    assert!(p.status()[0].must_staple);
    let chain = f.p("chain.pem");
    let count = |what: &str| {
        logs_mentioning(&chain)
            .iter()
            .filter(|(l, m)| *l == log::Level::Error && m.contains(what))
            .count()
    };
    assert_eq!(count("has no valid OCSP proof at load"), 1);
    for _ in 0..3 {
        assert!(stapled(&p, Version::Tls13).is_empty());
    }
    assert_eq!(count("served without a valid OCSP proof"), 3);
    let good = pki.response().build();
    f.replace("ocsp.der", &good);
    p.poll();
    assert_eq!(stapled(&p, Version::Tls13), good);
    assert_eq!(count("served without a valid OCSP proof"), 3);
    // Expiry is an error for a must-staple certificate, once at the poll, then per handshake.
    clock.set(NOW + 8 * DAY);
    p.poll();
    p.poll();
    assert_eq!(count("no longer current"), 1);
    assert!(stapled(&p, Version::Tls13).is_empty());
    assert_eq!(count("served without a valid OCSP proof"), 4);
}

#[test]
fn tls_in_ocsp_per_connection() {
    let clock = TestClock::at_now();
    let proof = pki().response().build();
    let (f, p) = setup(Some(&proof), &clock);
    let template = server(p.clone());
    let (config, record) = p.connection_config(&template);
    assert_eq!(record.tls_in_ocsp(), TlsInOcsp::NotSelected);
    let seen = handshake(
        &config,
        &client(Version::Tls13, &[], true),
        Some("mail.example.test"),
    )
    .unwrap();
    assert_eq!(seen.ocsp, proof);
    assert_eq!(record.tls_in_ocsp(), TlsInOcsp::Offered);
    assert_eq!(record.tls_in_ocsp().exim_value(true), 4);

    f.replace("ocsp.der", b"garbage");
    p.poll();
    clock.set(NOW + 30 * DAY);
    let (config, record) = p.connection_config(&template);
    handshake(
        &config,
        &client(Version::Tls12, &[], true),
        Some("mail.example.test"),
    )
    .unwrap();
    assert_eq!(record.tls_in_ocsp(), TlsInOcsp::NoProof);
    assert_eq!(record.tls_in_ocsp().exim_value(true), 1);
}

#[test]
fn the_watcher_serves_a_renamed_file_within_one_second() {
    let clock = TestClock::at_now();
    let v1 = pki().response().this_update(NOW - 2 * HOUR).build();
    let (f, p) = setup(Some(&v1), &clock);
    let watcher = p.watch(mailstaple_server::DEFAULT_POLL_INTERVAL).unwrap();
    let server = server(p.clone());
    let client = client(Version::Tls13, &[], true);
    for i in 1..=3u64 {
        let next = pki()
            .response()
            .this_update(NOW - 2 * HOUR + i * 60)
            .build();
        f.replace("ocsp.der", &next);
        let start = Instant::now();
        loop {
            let got = handshake(&server, &client, Some("mail.example.test"))
                .unwrap()
                .ocsp;
            if got == next {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(1),
                "replacement {i} not served within 1 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    watcher.stop();
}
