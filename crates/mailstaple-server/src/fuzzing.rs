//! Fuzz harness logic; a target under `fuzz/` is a shim calling [`tls_ocsp_file`].

use mailstaple_hostlist::split_list;

use crate::config::{Config, Expansion, OcspFormat, Options, TLS_OCSP_FILE, ocsp_file_list};

/// `tls_ocsp_file`: parsing arbitrary option text, as an option value and as a whole
/// configuration, never panics, and the result keeps its promises:
///
/// - text without `$` or `\` expands to itself, whatever the server name;
/// - an expansion that mentions `$tls_sni` contains the name, one that does not ignores it;
/// - a refused value contains a `$` or a `\` (only variables, expansion items and escapes
///   giving NUL or non-ASCII are refused);
/// - the proof list has one entry per list item, each item's format is the last `PEM `/`DER `
///   prefix at or before it (DER first), and its path is the item without that prefix;
/// - a configuration that parses expands to one certificate per `tls_certificate` item.
pub fn tls_ocsp_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let name = "mail.example.test";
    match Expansion::parse(TLS_OCSP_FILE, &text) {
        Ok(exp) => {
            let plain = exp.expand(None);
            let named = exp.expand(Some(name));
            if !text.contains(['$', '\\']) {
                assert_eq!(plain, text);
                assert_eq!(named, text);
            }
            if exp.mentions_sni() {
                assert!(named.contains(name));
            } else {
                assert_eq!(plain, named);
            }
            check_list(&named);
            check_list(&plain);
        }
        Err(e) => {
            assert!(
                text.contains(['$', '\\']),
                "refused without a $ or a backslash: {e}"
            );
            assert!(!e.to_string().is_empty());
        }
    }
    if let Ok(config) = Options::parse(&text).and_then(|o| Config::new(&o)) {
        for sni in [None, Some(name)] {
            if let Ok(files) = config.files(sni) {
                assert!(!files.is_empty());
                for (i, f) in files.iter().enumerate() {
                    assert_eq!(f.index, i);
                    assert!(!f.privatekey.as_os_str().is_empty());
                }
            }
        }
    }
}

fn check_list(expanded: &str) {
    let items = split_list(expanded);
    let files = ocsp_file_list(expanded);
    assert_eq!(items.len(), files.len());
    let mut format = OcspFormat::Der;
    for (item, file) in items.iter().zip(&files) {
        let path = if let Some(p) = item.strip_prefix("PEM ") {
            format = OcspFormat::Pem;
            p
        } else if let Some(p) = item.strip_prefix("DER ") {
            format = OcspFormat::Der;
            p
        } else {
            item.as_str()
        };
        match file {
            None => assert!(path.is_empty()),
            Some(f) => {
                assert_eq!(f.format, format);
                assert_eq!(f.path.to_str(), Some(path));
            }
        }
    }
}
