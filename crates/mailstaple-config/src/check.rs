//! The checks that need the workspace crates and the file system: host lists compiled, server
//! options paired and their files read, fetch entries complete, weak combinations noted.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use mailstaple_hostlist::{HostList, NamedLists, split_list};
use mailstaple_ocsp::CertView;
use mailstaple_policy::TrustStore;

use crate::parse::{File, Findings, Value};

/// Reads one certificate (DER, or the first block of a PEM chain) and checks that it decodes,
/// as the fetcher does before each fetch.
fn read_certificate(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let der = mailstaple_ocsp::pem::der_or_pem(&bytes, &["CERTIFICATE"])
        .map_err(|e| format!("{}: {e}", path.display()))?
        .into_owned();
    CertView::parse(&der).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(der)
}

/// Checks a parsed file: compiles the host lists and server options, reads the files named,
/// and looks for weak combinations.
pub fn check(file: &File, findings: &mut Findings) {
    let named = file.named_lists();
    check_hostlists(file, &named, findings);
    check_client(file, &named, findings);
    let ocsp_files = check_server(file, findings);
    check_fetch(file, &ocsp_files, findings);
    check_metrics_listen("respond", &file.respond.metrics_listen, findings);
    crate::respond::check_respond(&file.respond, findings);
}

fn check_list(option: &str, list: &Value, named: &NamedLists, findings: &mut Findings) {
    for item in split_list(&list.value) {
        let bare = item.trim_start_matches('!');
        if let Some(name) = bare.strip_prefix('+')
            && !matches!(
                name,
                "include_unknown" | "ignore_unknown" | "include_defer" | "ignore_defer"
            )
            && named.get(name).is_none()
        {
            findings.error(
                list.line,
                format!(
                    "{option} {:?}: item {item:?} names no list of [hostlists] (it would defer \
                     at every check)",
                    list.value
                ),
            );
        }
    }
    if let Err(e) = HostList::parse_with(&list.value, named) {
        findings.error(list.line, format!("{option} {:?}: {e}", list.value));
    }
}

fn check_hostlists(file: &File, named: &NamedLists, findings: &mut Findings) {
    for (name, list) in &file.hostlists {
        if name.is_empty() {
            findings.error(list.line, "[hostlists]: a named list needs a name");
            continue;
        }
        check_list(&format!("[hostlists] {name}"), list, named, findings);
    }
}

fn check_client(file: &File, named: &NamedLists, findings: &mut Findings) {
    let c = &file.client;
    for (option, list) in [
        ("hosts_require_ocsp", &c.hosts_require_ocsp),
        ("hosts_request_ocsp", &c.hosts_request_ocsp),
        ("hosts_require_tls", &c.hosts_require_tls),
    ] {
        if let Some(list) = list {
            check_list(&format!("[client] {option}"), list, named, findings);
        }
    }
    match &c.tls_verify_certificates {
        Some(v) if v.value.trim().is_empty() => findings.error(
            v.line,
            "[client] tls_verify_certificates: empty; mailstaple always verifies the server's \
             chain, so name a PEM file, a directory of PEM files, or `system`",
        ),
        Some(v) => {
            if let Err(e) = TrustStore::load(&v.value) {
                findings.error(v.line, format!("[client] {e}"));
            }
        }
        None => {
            if let Some(r) = &c.hosts_require_ocsp {
                findings.warning(
                    r.line,
                    "[client] hosts_require_ocsp is set but tls_verify_certificates is not: the \
                     chain is verified against the default `system` bundle only; name the trust \
                     anchors you mean",
                );
            }
        }
    }
    if let Some(r) = &c.hosts_require_ocsp {
        let ocsp = split_list(&r.value);
        let tls = c
            .hosts_require_tls
            .as_ref()
            .map(|t| split_list(&t.value))
            .unwrap_or_default();
        let covered = tls.iter().any(|i| i == "*") || ocsp.iter().all(|i| tls.contains(i));
        if !covered {
            findings.note(
                r.line,
                "[client] hosts in hosts_require_ocsp are not all in hosts_require_tls: \
                 mailstaple requires TLS for them anyway (Exim would not)",
            );
        }
    }
}

/// Checks `[server]`; returns the proof files it serves (for the fetch checks).
fn check_server(file: &File, findings: &mut Findings) -> Vec<PathBuf> {
    let s = &file.server;
    if let Some(l) = &s.listen
        && l.value.parse::<SocketAddr>().is_err()
    {
        findings.error(
            l.line,
            format!(
                "[server] listen {:?}: not an address and port such as 0.0.0.0:25 or [::]:25",
                l.value
            ),
        );
    }
    if let Some(h) = &s.hostname
        && (h.value.is_empty() || h.value.contains(char::is_whitespace))
    {
        findings.error(
            h.line,
            format!("[server] hostname {:?}: not a host name", h.value),
        );
    }
    if let Some(sp) = &s.spool
        && sp.value.is_empty()
    {
        findings.error(sp.line, "[server] spool: empty");
    }
    if let Some(sp) = &s.spool
        && !sp.value.is_empty()
    {
        // `serve` creates the directory and its parents: the nearest one that exists must be a
        // directory.
        let path = Path::new(&sp.value);
        if let Some(existing) = path.ancestors().find(|a| a.exists())
            && !existing.is_dir()
        {
            findings.error(
                sp.line,
                format!(
                    "[server] spool {}: {} is not a directory",
                    sp.value,
                    existing.display()
                ),
            );
        }
    }
    let mut opts = mailstaple_server::Options::new();
    let tls = [
        ("tls_certificate", &s.tls_certificate),
        ("tls_privatekey", &s.tls_privatekey),
        ("tls_ocsp_file", &s.tls_ocsp_file),
        ("tls_ocsp_issuer", &s.tls_ocsp_issuer),
    ];
    let mut any_tls = false;
    for (name, value) in tls {
        if let Some(v) = value {
            any_tls = true;
            if let Err(e) = opts.set(name, &v.value) {
                findings.error(v.line, format!("[server] {name}: {e}"));
            }
        }
    }
    let Some(cert_value) = &s.tls_certificate else {
        if any_tls {
            findings.error(
                0,
                "[server] tls_privatekey, tls_ocsp_file and tls_ocsp_issuer need tls_certificate",
            );
        }
        return Vec::new();
    };
    let config = match mailstaple_server::Config::new(&opts) {
        Ok(c) => c,
        Err(e) => {
            findings.error(cert_value.line, format!("[server] {e}"));
            return Vec::new();
        }
    };
    if config.depends_on_sni() {
        findings.note(
            cert_value.line,
            "[server] the TLS options mention $tls_sni: their files are checked when `serve` \
             loads them for each --sni-name",
        );
        return Vec::new();
    }
    let certs = split_list(&cert_value.value).len();
    if let Some(k) = &s.tls_privatekey {
        let keys = split_list(&k.value).len();
        if !k.value.trim().is_empty() && keys != certs {
            findings.error(
                k.line,
                format!(
                    "[server] tls_privatekey lists {keys} key(s) for the {certs} certificate(s) \
                     of tls_certificate; they are paired by position"
                ),
            );
            return Vec::new();
        }
    }
    if let Some(o) = &s.tls_ocsp_file {
        let items = split_list(&o.value).len();
        if items > certs {
            findings.error(
                o.line,
                format!(
                    "[server] tls_ocsp_file lists {items} proof file(s) for the {certs} \
                     certificate(s) of tls_certificate; they are paired by position"
                ),
            );
        }
    }
    let files = match config.files(None) {
        Ok(f) => f,
        Err(e) => {
            findings.error(cert_value.line, format!("[server] {e}"));
            return Vec::new();
        }
    };
    let fetched: BTreeSet<PathBuf> = file
        .fetch
        .certificates
        .iter()
        .filter_map(|e| e.out.as_ref().map(|o| PathBuf::from(&o.value)))
        .collect();
    let selection = s
        .fetch
        .as_ref()
        .map_or(crate::FetchSelection::All, |f| f.value.clone());
    if let Some(v) = &s.fetch {
        let items = split_list(&cert_value.value);
        for file in v.value.files() {
            if !items.contains(&file) {
                findings.error(
                    v.line,
                    format!(
                        "[server] fetch: {file} is not a tls_certificate item (write the files \
                         of tls_certificate whose proofs serve should fetch, or true or false)"
                    ),
                );
            }
        }
    }
    let errors_before = findings.0.len();
    let mut served = Vec::new();
    for f in &files {
        let cert = match read_certificate(&f.certificate) {
            Ok(c) => Some(c),
            Err(e) => {
                findings.error(cert_value.line, format!("[server] tls_certificate: {e}"));
                None
            }
        };
        if f.privatekey != f.certificate
            && let Err(e) = std::fs::metadata(&f.privatekey)
        {
            let line = s.tls_privatekey.as_ref().map_or(0, |v| v.line);
            findings.error(
                line,
                format!(
                    "[server] tls_privatekey: cannot read {}: {e}",
                    f.privatekey.display()
                ),
            );
        }
        let Some(ocsp) = &f.ocsp else { continue };
        served.push(ocsp.path.clone());
        let line = s.tls_ocsp_file.as_ref().map_or(0, |v| v.line);
        if !fetched.contains(&ocsp.path) {
            let urls = cert.as_deref().and_then(|der| {
                CertView::parse(der)
                    .ok()
                    .and_then(|v| v.ocsp_urls().ok())
                    .map(|u| u.len())
            });
            let der = ocsp.format == mailstaple_server::OcspFormat::Der;
            // `serve` fetches it itself (the `fetch` option, true by default).
            let self_fetched = der && urls.unwrap_or(0) > 0 && selection.includes(&f.certificate);
            if !ocsp.path.exists() && !self_fetched {
                findings.warning(
                    line,
                    format!(
                        "[server] tls_ocsp_file: {} does not exist yet and neither serve (fetch) \
                         nor a [[fetch.certificate]] entry writes it: nothing will be stapled for \
                         {}",
                        ocsp.path.display(),
                        f.certificate.display()
                    ),
                );
            }
            if urls == Some(0) {
                findings.note(
                    line,
                    format!(
                        "[server] tls_ocsp_file: {} names no OCSP responder and no \
                         [[fetch.certificate]] entry gives one; usual since public CAs retired \
                         OCSP, but its proof must come from elsewhere",
                        f.certificate.display()
                    ),
                );
            }
        }
    }
    // What the server itself loads (chains, keys paired with them, issuers), when the files
    // could all be read: the same function as `serve`, so both refuse the same files.
    let new_errors = findings
        .0
        .iter()
        .skip(errors_before)
        .any(|f| f.severity == crate::Severity::Error);
    if !new_errors && let Err(e) = mailstaple_server::StapleProvider::check_files(&config) {
        findings.error(cert_value.line, format!("[server] {e}"));
    }
    served
}

/// `metrics_listen`: a port (on loopback) or an address and port.
fn check_metrics_listen(section: &str, value: &Option<Value>, findings: &mut Findings) {
    if let Some(v) = value
        && v.value.parse::<u16>().is_err()
        && v.value.parse::<SocketAddr>().is_err()
    {
        findings.error(
            v.line,
            format!(
                "[{section}] metrics_listen {:?}: not a port (on 127.0.0.1) or an address and \
                 port such as 127.0.0.1:9325",
                v.value
            ),
        );
    }
}

/// The fleet store: the password and CA files readable, a password not left in the file.
fn check_store(f: &crate::Fetch, findings: &mut Findings) {
    let Some(store) = &f.store else {
        for (key, v) in [
            ("store_prefix", &f.store_prefix),
            ("store_password_file", &f.store_password_file),
            ("store_ca", &f.store_ca),
            ("node", &f.node),
        ] {
            if let Some(v) = v {
                findings.warning(v.line, format!("[fetch] {key} has no effect without store"));
            }
        }
        return;
    };
    let Ok(url) = mailstaple_store::StoreUrl::parse(&store.value) else {
        return;
    };
    if url.has_password() {
        findings.warning(
            store.line,
            "[fetch] store: the password is in the configuration file; store_password_file (or \
             the systemd credential store-password) keeps it out",
        );
    }
    if let Some(p) = &f.store_password_file {
        match std::fs::read_to_string(&p.value) {
            Ok(text) if text.trim().is_empty() => {
                findings.error(
                    p.line,
                    format!("[fetch] store_password_file {}: empty", p.value),
                );
            }
            Ok(_) => {}
            Err(e) => findings.error(
                p.line,
                format!("[fetch] store_password_file {}: {e}", p.value),
            ),
        }
    }
    if let Some(c) = &f.store_ca {
        if !url.tls {
            findings.warning(c.line, "[fetch] store_ca has no effect without rediss://");
        }
        match std::fs::read(&c.value) {
            Ok(bytes)
                if mailstaple_ocsp::pem::all_blocks(&bytes, "CERTIFICATE")
                    .is_ok_and(|b| !b.is_empty()) => {}
            Ok(_) => findings.error(
                c.line,
                format!("[fetch] store_ca {}: no PEM CERTIFICATE", c.value),
            ),
            Err(e) => findings.error(c.line, format!("[fetch] store_ca {}: {e}", c.value)),
        }
    }
}

fn check_fetch(file: &File, served: &[PathBuf], findings: &mut Findings) {
    let f = &file.fetch;
    check_metrics_listen("fetch", &f.metrics_listen, findings);
    check_metrics_listen("server", &file.server.metrics_listen, findings);
    if let Some(s) = &f.status
        && s.value.is_empty()
    {
        findings.error(s.line, "[fetch] status: empty; name a file or leave it out");
    }
    check_store(f, findings);
    // Without [server] TLS, the file is a fetcher's only (for Exim): every proof is for another
    // server, so an entry no tls_ocsp_file serves is nothing to warn about.
    let serving = file.server.tls_certificate.is_some();
    // A map, not a list: a fleet's file lists thousands of certificates.
    let mut outs: std::collections::HashMap<PathBuf, usize> = std::collections::HashMap::new();
    for e in &f.certificates {
        for (key, value) in [("cert", &e.cert), ("issuer", &e.issuer), ("out", &e.out)] {
            if value.is_none() {
                findings.error(e.line, format!("[[fetch.certificate]]: {key} is missing"));
            }
        }
        for (key, value) in [("cert", &e.cert), ("issuer", &e.issuer)] {
            if let Some(v) = value
                && let Err(err) = read_certificate(Path::new(&v.value))
            {
                findings.error(v.line, format!("[[fetch.certificate]] {key}: {err}"));
            }
        }
        if let Some(u) = &e.url
            && !(u.value.starts_with("http://") || u.value.starts_with("https://"))
        {
            findings.error(
                u.line,
                format!(
                    "[[fetch.certificate]] url {:?}: not an http:// or https:// URL",
                    u.value
                ),
            );
        }
        if let Some(n) = &e.name
            && (n.value.is_empty() || n.value.chars().any(char::is_control))
        {
            findings.error(
                n.line,
                format!(
                    "[[fetch.certificate]] name {:?}: empty or with control characters",
                    n.value
                ),
            );
        }
        let Some(out) = &e.out else { continue };
        if out.value.is_empty() {
            findings.error(out.line, "[[fetch.certificate]] out: empty");
            continue;
        }
        let path = PathBuf::from(&out.value);
        if let Some(first) = outs.get(&path) {
            findings.error(
                out.line,
                format!(
                    "[[fetch.certificate]] out {}: the entry of line {first} writes it too",
                    out.value
                ),
            );
        } else {
            outs.insert(path.clone(), out.line);
        }
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(d) = dir
            && !d.is_dir()
        {
            findings.error(
                out.line,
                format!(
                    "[[fetch.certificate]] out: directory {} does not exist",
                    d.display()
                ),
            );
        }
        if serving && !served.contains(&path) {
            findings.warning(
                out.line,
                format!(
                    "[[fetch.certificate]] out {}: not any [server] tls_ocsp_file, so the \
                     server would never serve it",
                    out.value
                ),
            );
        }
    }
}
