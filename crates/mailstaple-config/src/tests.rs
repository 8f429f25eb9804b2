//! Unit tests: suggestions, lines, typed settings, the fetch section, and the fuzz harness on
//! its seeds and on generated files.

// Tests work on their own data: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use proptest::prelude::*;

use crate::parse::{CLIENT_OPTIONS, distance, suggestion};
use crate::{Error, Severity, load, load_text, parse};

#[test]
fn distance_and_suggestions() {
    assert_eq!(distance("kitten", "sitting"), 3);
    assert_eq!(distance("", "abc"), 3);
    assert_eq!(distance("same", "same"), 0);
    assert_eq!(
        suggestion("hosts_requre_ocsp", CLIENT_OPTIONS),
        " (did you mean hosts_require_ocsp?)"
    );
    assert_eq!(suggestion("completely_else", CLIENT_OPTIONS), "");
}

#[test]
fn lines_named_lists_and_client_defaults() {
    let text = "[client]\nhosts_require_ocsp = \"+r\"\n\n[hostlists]\nr = \"192.0.2.1\"\n";
    let (file, findings) = parse(text);
    assert!(findings.0.is_empty(), "{findings:?}");
    let require = file.client.hosts_require_ocsp.clone().unwrap();
    assert_eq!((require.value.as_str(), require.line), ("+r", 2));
    assert_eq!(file.named_lists().get("r"), Some("192.0.2.1"));
    let options = file.client_options();
    assert_eq!(options.hosts_require_ocsp.as_deref(), Some("+r"));
    assert_eq!(options.hosts_request_ocsp.as_deref(), Some("*"));
    assert_eq!(options.tls_verify_certificates, "system");
}

/// The errors of `text` (parsed and checked), as displayed.
fn errors(text: &str) -> Vec<String> {
    match load_text(Path::new("t.toml"), text) {
        Ok(_) => Vec::new(),
        Err(e) => e.errors().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_fetch_section_is_typed_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let pki = mailstaple_testpki::Pki::shared(mailstaple_testpki::KeyAlg::EcdsaP256);
    pki.write_pem_files(dir.path()).unwrap();
    let d = dir.path().display();
    let good = format!(
        "[fetch]\nconcurrency = 4\nconnect_timeout = 5\ntimeout = 0x1e\nmax_body = 1_000\n\
         status = \"{d}/status.json\"\n\n[[fetch.certificate]]\ncert = \"{d}/leaf.pem\"\n\
         issuer = \"{d}/issuer.pem\"\nout = \"{d}/leaf.der\"\n\n[[fetch.certificate]]\n\
         name = \"second\"\ncert = \"{d}/leaf.pem\"\nissuer = \"{d}/issuer.pem\"\n\
         out = \"{d}/other.der\"\nurl = \"http://127.0.0.1:1/\"\n"
    );
    let loaded = load_text(Path::new("t.toml"), &good).unwrap();
    assert!(loaded.findings.is_empty(), "{:?}", loaded.findings);
    let f = &loaded.file.fetch;
    let n = |v: &Option<crate::Value<u64>>| v.as_ref().map(|v| v.value);
    assert_eq!(
        (
            n(&f.concurrency),
            n(&f.connect_timeout),
            n(&f.timeout),
            n(&f.max_body)
        ),
        (Some(4), Some(5), Some(30), Some(1000))
    );
    assert_eq!(
        loaded.file.fetch_status_file(),
        Some(dir.path().join("status.json").as_path())
    );
    let certs = loaded.file.fetch_certificates();
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[0].name, "leaf");
    assert_eq!(certs[0].url, None);
    assert_eq!(certs[1].name, "second");
    assert_eq!(certs[1].out, dir.path().join("other.der"));
    assert_eq!(certs[1].url.as_deref(), Some("http://127.0.0.1:1/"));

    for (bad, wanted) in [
        (
            good.replace("concurrency = 4", "concurrency = 0"),
            "line 2: error: [fetch] concurrency: expected an integer from 1 to 4096",
        ),
        (
            good.replace("timeout = 0x1e", "timeout = \"30\""),
            "line 4: error: [fetch] timeout: expected an integer from 1 to 86400, not a TOML string",
        ),
        (
            good.replace("concurrency = 4", "concurency = 4"),
            "[fetch] concurency: unknown option (did you mean concurrency?)",
        ),
        (
            good.replace("name = \"second\"", "nmae = \"second\""),
            "[[fetch.certificate]] nmae: unknown option (did you mean name?)",
        ),
        (good.replace("other.der", "leaf.der"), "writes it too"),
        (
            good.replace(
                &format!("issuer = \"{d}/issuer.pem\"\nout = \"{d}/leaf.der\""),
                &format!("out = \"{d}/leaf.der\""),
            ),
            "line 8: error: [[fetch.certificate]]: issuer is missing",
        ),
        (
            good.replace("http://127", "ftp://127"),
            "not an http:// or https:// URL",
        ),
        (
            good.replace("[[fetch.certificate]]", "[fetch.certificate]"),
            "not valid TOML",
        ),
    ] {
        assert_ne!(bad, good);
        let found = errors(&bad);
        assert!(
            found.iter().any(|e| e.contains(wanted)),
            "{wanted:?} not in {found:#?}"
        );
    }
}

#[test]
fn a_fetch_only_file_has_no_server_warnings_and_unreadable_files_are_read_errors() {
    let dir = tempfile::tempdir().unwrap();
    let pki = mailstaple_testpki::Pki::shared(mailstaple_testpki::KeyAlg::EcdsaP256);
    pki.write_pem_files(dir.path()).unwrap();
    let d = dir.path().display();
    let text = format!(
        "[[fetch.certificate]]\ncert = \"{d}/leaf.pem\"\nissuer = \"{d}/issuer.pem\"\n\
         out = \"{d}/leaf.der\"\n"
    );
    let path = dir.path().join("fetch.toml");
    std::fs::write(&path, text).unwrap();
    let loaded = load(&path).unwrap();
    assert!(loaded.findings.is_empty(), "{:?}", loaded.findings);
    assert_eq!(loaded.path, path);
    match load(&dir.path().join("missing.toml")) {
        Err(e @ Error::Read { .. }) => {
            assert!(
                e.to_string().starts_with("cannot read configuration file"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn warnings_come_back_with_the_file_and_errors_refuse_it() {
    // A proof file no entry writes: a warning, the file is usable.
    let text = "[server]\ntls_certificate = \"/nonexistent/c.pem\"\n";
    let Err(e) = load_text(Path::new("x.toml"), text) else {
        panic!("a missing certificate is an error");
    };
    let Error::Invalid { findings, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(findings[0].severity, Severity::Error);
    assert!(
        e.to_string().starts_with("x.toml: line 2: error: [server]"),
        "{e}"
    );
}

#[test]
fn fuzz_harness_on_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        crate::fuzzing::config(&std::fs::read(&path).unwrap());
        seen += 1;
    }
    assert!(seen >= 3, "seeds in {}", dir.display());
}

/// A TOML string value from a generated one (escaped by the `toml` crate).
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// Generated files: mostly the section's own options with values of the right type, sometimes
/// a misspelt option, a wrong type or an unknown section.
fn file_text() -> impl Strategy<Value = String> {
    let string = "[ -~]{0,12}".prop_map(|s| quoted(&s));
    let value = prop_oneof![
        6 => string.clone(),
        1 => (-2i64..70_000).prop_map(|n| n.to_string()),
        1 => Just("true".to_owned()),
    ];
    let number = prop_oneof![
        6 => (1i64..4096).prop_map(|n| n.to_string()),
        1 => (-2i64..100_000).prop_map(|n| n.to_string()),
        1 => string,
    ];
    let section =
        |header: &'static str, keys: &'static [&'static str], v: BoxedStrategy<String>| {
            prop::collection::vec((prop::sample::select(keys), v), 0..4).prop_map(move |kv| {
                let mut s = format!("{header}\n");
                let mut seen = Vec::new();
                for (k, v) in kv {
                    // A key given twice is a TOML error; keep it rare by writing each once.
                    if !seen.contains(&k) {
                        seen.push(k);
                        s.push_str(&format!("{k} = {v}\n"));
                    }
                }
                s
            })
        };
    let one = prop_oneof![
        section(
            "[server]",
            &[
                "listen",
                "hostname",
                "spool",
                "tls_certificate",
                "tls_ocsp_file",
                "lisen",
                "fetch",
                "metrics_listen"
            ],
            value.clone().boxed()
        ),
        section(
            "[server]",
            &[
                "smtp_accept_max",
                "smtp_accept_max_per_host",
                "smtp_receive_timeout",
                "data_line_limit"
            ],
            number.clone().boxed()
        ),
        section(
            "[client]",
            &[
                "hosts_require_ocsp",
                "hosts_request_ocsp",
                "tls_verify_certificates"
            ],
            value.clone().boxed()
        ),
        section(
            "[hostlists]",
            &["relays", "others", "a b"],
            value.clone().boxed()
        ),
        section(
            "[fetch]",
            &["concurrency", "timeout", "connect_timeout", "max_body"],
            number.boxed()
        ),
        section(
            "[fetch]",
            &["status", "metrics_listen"],
            value.clone().boxed()
        ),
        section(
            "[[fetch.certificate]]",
            &["cert", "issuer", "out", "url", "name", "uri"],
            value.clone().boxed()
        ),
        section("[sever]", &["listen"], value.boxed()),
    ];
    prop::collection::vec(one, 0..5).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The harness's properties hold on generated files, most of which parse: a file's
    /// settings round-trip through TOML, and findings name real lines.
    #[test]
    fn generated_files_keep_the_harness_properties(text in file_text()) {
        crate::fuzzing::config(text.as_bytes());
    }
}

#[test]
fn exim_times_and_server_limits() {
    use crate::parse::exim_time;
    for (text, secs) in [
        ("30", Some(30)),
        ("30s", Some(30)),
        ("5m", Some(300)),
        ("1h30m", Some(5400)),
        ("1d", Some(86_400)),
        ("2w", Some(1_209_600)),
        ("", None),
        ("5x", None),
        ("m", None),
        ("99999999999999999999s", None),
    ] {
        assert_eq!(exim_time(text), secs, "{text:?}");
    }
    let text = "[server]\nsmtp_accept_max = 5\nsmtp_accept_max_per_host = 0\n\
                smtp_receive_timeout = \"2m\"\ndata_line_limit = 2048\n";
    let (file, findings) = parse(text);
    assert!(findings.0.is_empty(), "{findings:?}");
    let s = &file.server;
    let v = |x: &Option<crate::Value<u64>>| x.as_ref().map(|v| v.value);
    assert_eq!(
        (
            v(&s.smtp_accept_max),
            v(&s.smtp_accept_max_per_host),
            v(&s.smtp_receive_timeout),
            v(&s.data_line_limit)
        ),
        (Some(5), Some(0), Some(120), Some(2048))
    );
    for (bad, wanted) in [
        (
            "smtp_accept_max = -1",
            "[server] smtp_accept_max: expected an integer from 0 (no limit)",
        ),
        (
            "smtp_receive_timeout = \"5 minutes\"",
            "an Exim time such as \"5m\"",
        ),
        (
            "smtp_receive_timeout = 0",
            "expected an integer from 1 to 86400",
        ),
        (
            "data_line_limit = 998",
            "expected an integer from 1000 to 1048576",
        ),
        (
            "smtp_accept_max_per_hosts = 2",
            "(did you mean smtp_accept_max_per_host?)",
        ),
    ] {
        let (_, findings) = parse(&format!("[server]\n{bad}\n"));
        assert!(
            findings
                .0
                .iter()
                .any(|f| f.line == 2 && f.text.contains(wanted)),
            "{wanted:?} not in {findings:?}"
        );
    }
}

/// Issue 13: `tls_ocsp_max_age` in `[server]`, `[client]` and `[fetch]`, seconds or an Exim time
/// from a minute to a year.
#[test]
fn maximum_ages() {
    let text = "[server]\ntls_ocsp_max_age = \"7d\"\n[client]\ntls_ocsp_max_age = 86400\n\
                [fetch]\ntls_ocsp_max_age = \"1w1d\"\n";
    let (file, findings) = parse(text);
    assert!(findings.0.is_empty(), "{findings:?}");
    let v = |x: &Option<crate::Value<u64>>| x.as_ref().map(|v| (v.value, v.line));
    assert_eq!(v(&file.server.tls_ocsp_max_age), Some((604_800, 2)));
    assert_eq!(v(&file.client.tls_ocsp_max_age), Some((86_400, 4)));
    assert_eq!(v(&file.fetch.tls_ocsp_max_age), Some((691_200, 6)));
    for bad in [
        "tls_ocsp_max_age = 30",
        "tls_ocsp_max_age = \"2y\"",
        "tls_ocsp_max_age = true",
        "tls_ocsp_max_age = \"400d\"",
    ] {
        let errs = errors(&format!("[client]\n{bad}\n"));
        assert!(
            errs.iter()
                .any(|e| e.contains("[client] tls_ocsp_max_age: expected seconds")),
            "{bad}: {errs:?}"
        );
    }
    let errs = errors("[server]\ntls_ocsp_maxage = 60\n");
    assert!(
        errs.iter()
            .any(|e| e.contains("did you mean tls_ocsp_max_age?")),
        "{errs:?}"
    );
}

#[test]
fn the_fleet_store_is_typed_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "s3cret\n").unwrap();
    let text = format!(
        "[fetch]\nstore = \"redis+cluster://mx@10.0.0.1:7000,10.0.0.2:7000\"\n\
         store_prefix = \"ms/prod\"\nnode = \"mx1\"\nstore_poll = 2\n\
         store_password_file = \"{}\"\n",
        pass.display()
    );
    let loaded = load_text(Path::new("f.toml"), &text).unwrap();
    assert!(loaded.findings.is_empty(), "{:?}", loaded.findings);
    let s = loaded.file.fetch_store().unwrap();
    assert_eq!(s.url.nodes.len(), 2);
    assert_eq!(s.url.username.as_deref(), Some("mx"));
    assert_eq!(
        (s.prefix.as_str(), s.node.as_deref(), s.poll),
        ("ms/prod", Some("mx1"), 2)
    );
    assert_eq!(s.password_file.as_deref(), Some(pass.as_path()));
    // Defaults.
    let loaded = load_text(
        Path::new("f.toml"),
        "[fetch]\nstore = \"redis://127.0.0.1\"\n",
    )
    .unwrap();
    let s = loaded.file.fetch_store().unwrap();
    assert_eq!((s.prefix.as_str(), s.node, s.poll), ("mailstaple", None, 5));
    assert_eq!(s.url.nodes, vec![("127.0.0.1".to_owned(), 6379)]);

    // Errors name the line, the option and the problem; a password never shows.
    for (text, says) in [
        (
            "[fetch]\nstore = \"http://x\"\n",
            "line 2: error: [fetch] store: store URL: unknown scheme",
        ),
        (
            "[fetch]\nstore = \"redis://u:hunter2@a,b\"\n",
            "several hosts",
        ),
        (
            "[fetch]\nstore = \"redis://x\"\nstore_prefix = \"a{b}\"\n",
            "line 3: error: [fetch] store_prefix",
        ),
        (
            "[fetch]\nstore = \"redis://x\"\nnode = \"mx 1\"\n",
            "without spaces",
        ),
        (
            "[fetch]\nstore = \"redis://x\"\nstore_poll = 0\n",
            "store_poll",
        ),
        (
            "[fetch]\nstore = \"redis://x\"\nstore_password_file = \"/nonexistent/p\"\n",
            "store_password_file /nonexistent/p",
        ),
        (
            "[fetch]\nstore = \"rediss://x\"\nstore_ca = \"/nonexistent/ca\"\n",
            "store_ca /nonexistent/ca",
        ),
        ("[fetch]\nstor = \"redis://x\"\n", "did you mean store?"),
    ] {
        let errs = errors(text).join("\n");
        assert!(errs.contains(says), "{text}: {errs}");
        assert!(!errs.contains("hunter2"), "{errs}");
    }
    // Weak combinations are warnings.
    let loaded = load_text(Path::new("f.toml"), "[fetch]\nstore = \"redis://:pw@x\"\n").unwrap();
    assert!(
        loaded
            .findings
            .iter()
            .any(|f| f.to_string().contains("password is in the configuration"))
    );
    let loaded = load_text(Path::new("f.toml"), "[fetch]\nnode = \"mx1\"\n").unwrap();
    assert!(
        loaded
            .findings
            .iter()
            .any(|f| f.to_string().contains("no effect without store"))
    );
}
