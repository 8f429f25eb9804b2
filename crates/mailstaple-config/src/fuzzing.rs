//! Fuzz harness logic; the target `fuzz/fuzz_targets/config.rs` is a shim calling [`config`].

use crate::parse::{File, Severity, parse};

/// `config`: parsing arbitrary text as a configuration file never panics, and:
///
/// - every finding names a line of the text (or none);
/// - a file without errors renders back to TOML that parses without findings to the same
///   settings (a fixpoint: rendering the re-parsed file gives the same text), with as many named
///   lists and fetch entries;
/// - the typed accessors agree with the entries they read.
///
/// The checks that read the files a configuration names are left out: a fuzzer must not open
/// arbitrary paths.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (file, findings) = parse(&text);
    let lines = text.lines().count() + 1;
    for f in &findings.0 {
        assert!(f.line <= lines, "line {} of {lines}: {f}", f.line);
        assert!(!f.text.is_empty());
    }
    let complete = file
        .fetch
        .certificates
        .iter()
        .filter(|e| e.cert.is_some() && e.issuer.is_some() && e.out.is_some())
        .count();
    assert_eq!(file.fetch_certificates().len(), complete);
    let _ = file.client_options();
    let _ = file.named_lists();
    if findings.0.iter().any(|f| f.severity == Severity::Error) {
        return;
    }
    let rendered = render(&file);
    let (again, findings) = parse(&rendered);
    assert!(findings.0.is_empty(), "{rendered}\n{findings:?}");
    assert_eq!(render(&again), rendered);
    assert_eq!(again.hostlists.len(), file.hostlists.len(), "{rendered}");
    assert_eq!(
        again.fetch.certificates.len(),
        file.fetch.certificates.len(),
        "{rendered}"
    );
    assert_eq!(again.fetch_certificates(), file.fetch_certificates());
    assert_eq!(again.client_options(), file.client_options());
}

/// The settings of `file` as TOML text, through the `toml` crate's writer.
pub fn render(file: &File) -> String {
    use toml::{Table, Value as T};
    let mut root = Table::new();
    let strings = |pairs: &[(&str, &Option<crate::Value>)]| {
        let mut t = Table::new();
        for (name, value) in pairs {
            if let Some(v) = value {
                t.insert((*name).to_owned(), T::String(v.value.clone()));
            }
        }
        t
    };
    let s = &file.server;
    let mut server = strings(&[
        ("listen", &s.listen),
        ("hostname", &s.hostname),
        ("spool", &s.spool),
        ("tls_certificate", &s.tls_certificate),
        ("tls_privatekey", &s.tls_privatekey),
        ("tls_ocsp_file", &s.tls_ocsp_file),
        ("tls_ocsp_issuer", &s.tls_ocsp_issuer),
        ("metrics_listen", &s.metrics_listen),
    ]);
    let c = &file.client;
    let mut client = strings(&[
        ("hosts_require_ocsp", &c.hosts_require_ocsp),
        ("hosts_request_ocsp", &c.hosts_request_ocsp),
        ("hosts_require_tls", &c.hosts_require_tls),
        ("tls_verify_certificates", &c.tls_verify_certificates),
    ]);
    if let Some(v) = &c.tls_ocsp_max_age {
        client.insert(
            "tls_ocsp_max_age".to_owned(),
            T::Integer(i64::try_from(v.value).unwrap_or(i64::MAX)),
        );
    }
    let mut hostlists = Table::new();
    for (name, list) in &file.hostlists {
        hostlists.insert(name.clone(), T::String(list.value.clone()));
    }
    if let Some(v) = &s.fetch {
        let value = match &v.value {
            crate::FetchSelection::All => T::Boolean(true),
            crate::FetchSelection::None => T::Boolean(false),
            crate::FetchSelection::Certificates(list) => T::String(list.clone()),
        };
        server.insert("fetch".to_owned(), value);
    }
    let f = &file.fetch;
    let mut fetch = strings(&[
        ("status", &f.status),
        ("metrics_listen", &f.metrics_listen),
        ("store", &f.store),
        ("store_prefix", &f.store_prefix),
        ("store_password_file", &f.store_password_file),
        ("store_ca", &f.store_ca),
        ("node", &f.node),
    ]);
    for (name, value) in [
        ("smtp_accept_max", &s.smtp_accept_max),
        ("smtp_accept_max_per_host", &s.smtp_accept_max_per_host),
        ("smtp_receive_timeout", &s.smtp_receive_timeout),
        ("data_line_limit", &s.data_line_limit),
        ("tls_ocsp_max_age", &s.tls_ocsp_max_age),
    ] {
        if let Some(v) = value {
            server.insert(
                name.to_owned(),
                T::Integer(i64::try_from(v.value).unwrap_or(i64::MAX)),
            );
        }
    }
    for (name, value) in [
        ("concurrency", &f.concurrency),
        ("connect_timeout", &f.connect_timeout),
        ("timeout", &f.timeout),
        ("max_body", &f.max_body),
        ("tls_ocsp_max_age", &f.tls_ocsp_max_age),
        ("store_poll", &f.store_poll),
    ] {
        if let Some(v) = value {
            fetch.insert(
                name.to_owned(),
                T::Integer(i64::try_from(v.value).unwrap_or(i64::MAX)),
            );
        }
    }
    let entries: Vec<T> = f
        .certificates
        .iter()
        .map(|e| {
            T::Table(strings(&[
                ("cert", &e.cert),
                ("issuer", &e.issuer),
                ("out", &e.out),
                ("url", &e.url),
                ("name", &e.name),
            ]))
        })
        .collect();
    if !entries.is_empty() {
        fetch.insert("certificate".to_owned(), T::Array(entries));
    }
    for (name, table) in [
        ("server", server),
        ("client", client),
        ("hostlists", hostlists),
        ("fetch", fetch),
    ] {
        if !table.is_empty() {
            root.insert(name.to_owned(), T::Table(table));
        }
    }
    root.to_string()
}
