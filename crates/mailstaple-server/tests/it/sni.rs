//! Per-SNI files: `$tls_sni` in the options, two names with two proofs, a default for other
//! names and for clients without SNI.

use mailstaple_server::{StapleProvider, StapleState};
use mailstaple_testpki::{KeyAlg, Pki};

use crate::common::{
    Fixture, TestClock, Version, capture_logs, client, handshake, provider, server,
};

/// `{dir}/{name}/chain.pem`, `leaf.key`, `ocsp.der` for the two names; `{dir}/chain.pem` and
/// `{dir}/leaf.key` (the expansion with an empty `$tls_sni`) as the default, without a proof.
pub(crate) fn sni_fixture() -> (Fixture, String, Vec<u8>, Vec<u8>) {
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let f = Fixture::new();
    f.leaf_files(pki, "mail.example.test/");
    f.other_leaf_files(pki, "other.example.test/");
    let (mail, other) = (crate::common::wide_proof(pki), {
        let pki = Pki::shared(KeyAlg::EcdsaP256);
        pki.response()
            .cert(&pki.other_leaf)
            .produced_at(mailstaple_testpki::NOW - mailstaple_testpki::DAY)
            .this_update(mailstaple_testpki::NOW - 400 * mailstaple_testpki::DAY)
            .next_update(Some(
                mailstaple_testpki::NOW + 3650 * mailstaple_testpki::DAY,
            ))
            .build()
    });
    f.write("mail.example.test/ocsp.der", &mail);
    f.write("other.example.test/ocsp.der", &other);
    // The default: the mail certificate again, its proof file absent.
    f.leaf_files(pki, "");
    let root = f.p("");
    let config = format!(
        "tls_certificate = {root}/${{tls_sni}}/chain.pem\n\
         tls_privatekey = {root}/$tls_in_sni/leaf.key\n\
         tls_ocsp_file = {root}/$tls_sni/ocsp.der\n"
    );
    (f, config, mail, other)
}

pub(crate) fn sni_provider(config: &str, clock: &TestClock) -> std::sync::Arc<StapleProvider> {
    provider(config, clock, &["mail.example.test", "Other.Example.Test."])
}

#[test]
fn two_names_two_proofs_and_none_for_an_unknown_name() {
    capture_logs();
    let (_f, config, mail, other) = sni_fixture();
    let clock = TestClock::at_now();
    let p = sni_provider(&config, &clock);
    let server = server(p.clone());
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    for version in [Version::Tls12, Version::Tls13] {
        let c = client(version, &[], true);
        let seen = handshake(&server, &c, Some("mail.example.test")).unwrap();
        assert_eq!(
            (seen.end_entity.as_slice(), seen.ocsp.as_slice()),
            (pki.leaf.der.as_slice(), mail.as_slice())
        );
        let seen = handshake(&server, &c, Some("other.example.test")).unwrap();
        assert_eq!(
            (seen.end_entity.as_slice(), seen.ocsp.as_slice()),
            (pki.other_leaf.der.as_slice(), other.as_slice())
        );
        for unknown in [Some("unknown.example.test"), None] {
            let seen = handshake(&server, &c, unknown).unwrap();
            assert_eq!(
                seen.end_entity, pki.leaf.der,
                "{unknown:?} gets the default certificate"
            );
            assert!(seen.ocsp.is_empty(), "{unknown:?} gets no proof");
        }
    }
    let st = p.status();
    let names: Vec<_> = st.iter().map(|s| s.sni.as_deref()).collect();
    assert_eq!(
        names,
        [None, Some("mail.example.test"), Some("other.example.test")]
    );
    assert_eq!(st[0].state, StapleState::NoValidProof);
    assert_eq!(st[0].unstapled_handshakes, 4);
    assert_eq!(st[1].state, StapleState::Serving);
    assert_eq!(st[2].state, StapleState::Serving);
    assert_eq!(st[2].serial, "1002");
    let c = p.counters();
    assert_eq!((c.stapled, c.unstapled), (4, 4));
}

#[test]
fn without_a_default_an_unknown_name_is_refused() {
    capture_logs();
    let (f, config, mail, _) = sni_fixture();
    std::fs::remove_file(f.path("chain.pem")).unwrap();
    let clock = TestClock::at_now();
    let p = sni_provider(&config, &clock);
    let server = server(p.clone());
    let c = client(Version::Tls13, &[], true);
    assert_eq!(
        handshake(&server, &c, Some("mail.example.test"))
            .unwrap()
            .ocsp,
        mail
    );
    assert!(handshake(&server, &c, Some("unknown.example.test")).is_err());
    assert_eq!(p.counters().unresolved, 1);
}

#[test]
fn a_listed_name_whose_files_are_missing_stops_the_build() {
    capture_logs();
    let (_f, config, _, _) = sni_fixture();
    let clock = TestClock::at_now();
    let config = mailstaple_server::Config::parse(&config).unwrap();
    let e = StapleProvider::builder(config.clone(), clock.clock())
        .sni_names(["absent.example.test"])
        .build()
        .unwrap_err();
    assert!(matches!(e, mailstaple_server::Error::Io { .. }), "{e}");
    let e = StapleProvider::builder(config, clock.clock())
        .sni_names(["not a name"])
        .build()
        .unwrap_err();
    assert!(matches!(e, mailstaple_server::Error::BadSniName(_)), "{e}");
}
