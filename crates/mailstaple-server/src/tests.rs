//! Unit tests of the configuration: expansion, lists, prefixes, pairing, errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use proptest::prelude::*;

use crate::config::{Config, Expansion, OcspFile, OcspFormat, Options, ocsp_file_list};
use crate::{Error, TlsInOcsp};

fn exp(text: &str) -> Result<Expansion, Error> {
    Expansion::parse("tls_certificate", text)
}

#[test]
fn sni_variables_in_every_spelling() {
    for text in [
        "/c/$tls_sni.pem",
        "/c/${tls_sni}.pem",
        "/c/$tls_in_sni.pem",
        "/c/${tls_in_sni}.pem",
    ] {
        let e = exp(text).unwrap();
        assert!(e.mentions_sni(), "{text}");
        assert_eq!(e.expand(Some("mx.example")), "/c/mx.example.pem", "{text}");
        assert_eq!(e.expand(None), "/c/.pem", "{text}");
    }
    // The name ends at the first character that cannot be in a variable name.
    assert_eq!(
        exp("/c/$tls_sni/cert").unwrap().expand(Some("a.b")),
        "/c/a.b/cert"
    );
    assert_eq!(exp("${tls_sni}${tls_sni}").unwrap().expand(Some("x")), "xx");
}

#[test]
fn other_expansions_are_configuration_errors() {
    for (text, var) in [
        ("/c/$tls_sni_x.pem", "tls_sni_x"),
        ("/c/$tls_out_sni.pem", "tls_out_sni"),
        ("/c/$primary_hostname.pem", "primary_hostname"),
        ("/c/${tls_certificate_verified}", "tls_certificate_verified"),
        ("$1", "1"),
    ] {
        match exp(text) {
            Err(Error::UnknownVariable {
                name,
                option: "tls_certificate",
            }) => assert_eq!(name, var, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    for text in [
        "/c/${if exists{/x}{/x}{/y}}",
        "/c/$",
        "/c/$.pem",
        "/c/${tls_sni",
        "${}",
        "${ tls_sni}",
    ] {
        assert!(
            matches!(exp(text), Err(Error::UnsupportedExpansion { .. })),
            "{text}: {:?}",
            exp(text)
        );
    }
}

#[test]
fn backslash_escapes_follow_exim() {
    let cases = [
        (r"/a\$b", "/a$b"),
        (r"/a\\b", r"/a\b"),
        (r"/a\:b", "/a:b"),
        (r"/a\x41b", "/aAb"),
        (r"/a\101b", "/aAb"),
        (r"/a\tb", "/a\tb"),
        (r"/a\N$x\\y\Nz", r"/a$x\\yz"),
        (r"/a\N$unterminated", "/a$unterminated"),
        ("/a\\", "/a\\"),
        (r"\xg", "xg"),
    ];
    for (text, want) in cases {
        let e = exp(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(!e.mentions_sni());
        assert_eq!(e.expand(Some("n")), want, "{text}");
    }
    assert!(matches!(
        exp(r"/a\0"),
        Err(Error::UnsupportedExpansion { .. })
    ));
    assert!(matches!(
        exp(r"/a\xff"),
        Err(Error::UnsupportedExpansion { .. })
    ));
}

#[test]
fn ocsp_prefixes_are_sticky_and_der_first() {
    let list = ocsp_file_list("/a.der : PEM /b.pem : /c.pem : DER /d.der : /e : : PEM PEM x");
    let f = |p: &str, format| {
        Some(OcspFile {
            path: PathBuf::from(p),
            format,
        })
    };
    assert_eq!(
        list,
        vec![
            f("/a.der", OcspFormat::Der),
            f("/b.pem", OcspFormat::Pem),
            f("/c.pem", OcspFormat::Pem),
            f("/d.der", OcspFormat::Der),
            f("/e", OcspFormat::Der),
            None,
            f("PEM x", OcspFormat::Pem),
        ]
    );
    // The separator can be changed, and a doubled one is literal.
    assert_eq!(
        ocsp_file_list("<; PEM /a:b ; /c"),
        vec![f("/a:b", OcspFormat::Pem), f("/c", OcspFormat::Pem)]
    );
    assert_eq!(ocsp_file_list("/a::b"), vec![f("/a:b", OcspFormat::Der)]);
    assert!(ocsp_file_list("").is_empty());
    // Case matters and exactly one space follows the prefix, as in Exim.
    assert_eq!(ocsp_file_list("pem /x"), vec![f("pem /x", OcspFormat::Der)]);
}

fn config(lines: &str) -> Config {
    Config::parse(lines).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn lists_pair_by_position() {
    let c = config(
        "tls_certificate = /rsa.pem : /ec.pem : /third.pem\n\
         tls_privatekey = /rsa.key : : /third.key\n\
         tls_ocsp_file = PEM /rsa.ocsp : /ec.ocsp\n",
    );
    assert!(!c.depends_on_sni());
    let files = c.files(Some("ignored")).unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0].privatekey, PathBuf::from("/rsa.key"));
    assert_eq!(
        files[1].privatekey,
        PathBuf::from("/ec.pem"),
        "an empty key item means the key is in the certificate file"
    );
    assert_eq!(files[2].privatekey, PathBuf::from("/third.key"));
    assert_eq!(files[0].ocsp.as_ref().unwrap().format, OcspFormat::Pem);
    assert_eq!(
        files[1].ocsp.as_ref().unwrap().format,
        OcspFormat::Pem,
        "sticky"
    );
    assert_eq!(
        files[2].ocsp, None,
        "a shorter list leaves the rest without proofs"
    );
    assert_eq!(c.extra_ocsp_items(None), 0);
}

#[test]
fn unset_or_empty_privatekey_means_key_in_certificate_file() {
    for text in [
        "tls_certificate = /a.pem : /b.pem",
        "tls_certificate = /a.pem : /b.pem\ntls_privatekey =",
    ] {
        let files = config(text).files(None).unwrap();
        assert_eq!(files[0].privatekey, PathBuf::from("/a.pem"));
        assert_eq!(files[1].privatekey, PathBuf::from("/b.pem"));
        assert!(files.iter().all(|f| f.ocsp.is_none()));
    }
}

#[test]
fn out_of_keys_and_empty_certificates_are_errors() {
    let c = config("tls_certificate = /a : /b\ntls_privatekey = /ka");
    assert!(matches!(
        c.files(None),
        Err(Error::OutOfKeys {
            certificates: 2,
            keys: 1
        })
    ));
    let c = config("tls_certificate = /c/$tls_sni");
    assert!(c.files(None).is_ok());
    let c = config("tls_certificate = $tls_sni");
    assert!(matches!(
        c.files(None),
        Err(Error::NoCertificates { sni: None })
    ));
    assert!(matches!(
        Config::parse("tls_privatekey = /k"),
        Err(Error::MissingCertificate)
    ));
}

#[test]
fn extra_ocsp_items_are_counted() {
    let c = config("tls_certificate = /a\ntls_ocsp_file = /1 : /2 : /3");
    assert_eq!(c.extra_ocsp_items(None), 2);
    assert_eq!(
        c.files(None).unwrap()[0].ocsp.as_ref().unwrap().path,
        PathBuf::from("/1")
    );
}

#[test]
fn per_sni_expansion_of_all_options() {
    let c = config(
        "tls_certificate = /certs/${tls_sni}/chain.pem\n\
         tls_privatekey = /certs/$tls_in_sni/key.pem\n\
         tls_ocsp_file = PEM /certs/$tls_sni/ocsp.pem\n\
         tls_ocsp_issuer = /certs/$tls_sni/ca.pem\n",
    );
    assert!(c.depends_on_sni());
    let f = &c.files(Some("mx.example")).unwrap()[0];
    assert_eq!(f.certificate, PathBuf::from("/certs/mx.example/chain.pem"));
    assert_eq!(f.privatekey, PathBuf::from("/certs/mx.example/key.pem"));
    assert_eq!(
        f.ocsp.as_ref().unwrap().path,
        PathBuf::from("/certs/mx.example/ocsp.pem")
    );
    assert_eq!(
        f.issuer_file,
        Some(PathBuf::from("/certs/mx.example/ca.pem"))
    );
    let f = &c.files(None).unwrap()[0];
    assert_eq!(f.certificate, PathBuf::from("/certs//chain.pem"));
    // Only the OCSP option mentioning it still makes the configuration per-SNI.
    assert!(config("tls_certificate = /a\ntls_ocsp_file = /o/$tls_sni").depends_on_sni());
}

#[test]
fn configuration_syntax() {
    let text = "# comment\n\n  hide tls_privatekey = /k\ntls_certificate = /a : \\\n     /b\ntls_ocsp_file=/o\n";
    let o = Options::parse(text).unwrap();
    assert_eq!(o.tls_certificate.as_deref(), Some("/a : /b"));
    assert_eq!(o.tls_privatekey.as_deref(), Some("/k"));
    assert_eq!(o.tls_ocsp_file.as_deref(), Some("/o"));
    assert!(matches!(
        Options::parse("tls_verify_hosts = *"),
        Err(Error::UnknownOption { line: 1, .. })
    ));
    assert!(matches!(
        Options::parse("\ntls_certificate /a"),
        Err(Error::Syntax { line: 2, .. })
    ));
    assert!(matches!(
        Options::parse("tls_certificate = \"/a\""),
        Err(Error::Syntax { .. })
    ));
    assert!(matches!(
        Options::parse("tls_certificate = /a\ntls_certificate = /b"),
        Err(Error::DuplicateOption { .. })
    ));
    assert!(matches!(
        Config::parse("tls_certificate = /a\ntls_ocsp_file = /o/$sender_host_address"),
        Err(Error::UnknownVariable {
            option: "tls_ocsp_file",
            ..
        })
    ));
    let mut o = Options::new();
    o.set("tls_ocsp_file", "/x").unwrap();
    assert!(matches!(
        o.set("tls_ocsp", "/x"),
        Err(Error::UnknownOption { line: 0, .. })
    ));
}

#[test]
fn exim_values_of_tls_in_ocsp() {
    assert_eq!(TlsInOcsp::Offered.exim_value(true), 4);
    assert_eq!(TlsInOcsp::NoProof.exim_value(true), 1);
    assert_eq!(TlsInOcsp::NotSelected.exim_value(true), 0);
    for v in [
        TlsInOcsp::Offered,
        TlsInOcsp::NoProof,
        TlsInOcsp::NotSelected,
    ] {
        assert_eq!(v.exim_value(false), 0);
    }
}

#[test]
fn fuzz_seeds() {
    for seed in [
        &b""[..],
        b"PEM /a : DER /b",
        b"<; PEM /x;y ; /z",
        b"/c/${tls_sni}.der",
        b"tls_certificate = /a : /b\ntls_ocsp_file = PEM $tls_sni\n",
        b"\\N$x\\N\\",
        b"$",
        b"\xff\xfe$tls_sni",
    ] {
        crate::fuzzing::tls_ocsp_file(seed);
    }
}

proptest! {
    #[test]
    fn fuzz_properties_hold(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        crate::fuzzing::tls_ocsp_file(&data);
    }

    #[test]
    fn fuzz_properties_hold_on_option_like_text(
        text in "(tls_certificate|tls_privatekey|tls_ocsp_file|hide|PEM |DER |<;|[ :;=/\\\\$\\{\\}\n]|\\$tls_sni|\\$\\{tls_sni\\}|[a-z.]{1,4}){0,24}"
    ) {
        crate::fuzzing::tls_ocsp_file(text.as_bytes());
    }
}
