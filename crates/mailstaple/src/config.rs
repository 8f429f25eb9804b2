//! The one TOML configuration file of `mailstaple serve` and `mailstaple send`, with Exim's
//! option names, and the checks made on it at start and by `mailstaple config check`.
//!
//! ```toml
//! [server]                 # mailstaple serve
//! listen = "0.0.0.0:25"
//! hostname = "mx.example.org"
//! spool = "/var/spool/mailstaple"
//! tls_certificate = "/etc/mail/rsa.pem : /etc/mail/ec.pem"
//! tls_privatekey = "/etc/mail/rsa.key : /etc/mail/ec.key"
//! tls_ocsp_file = "/var/lib/mailstaple/rsa.der : /var/lib/mailstaple/ec.der"
//! tls_ocsp_issuer = "/etc/mail/issuers.pem"   # mailstaple's own, optional
//! [client]                 # mailstaple send
//! hosts_require_ocsp = "+secure_relays"
//! hosts_request_ocsp = "*"
//! hosts_require_tls = "+secure_relays"
//! tls_verify_certificates = "system"
//! [hostlists]              # named host lists, referred to as +name
//! secure_relays = "192.0.2.0/24 : mx.partner.example"
//! [[fetch.certificate]]    # the certificates whose proofs the fetcher keeps
//! cert = "/etc/mail/ec.pem"
//! issuer = "/etc/mail/ec-issuer.pem"
//! out = "/var/lib/mailstaple/ec.der"
//! url = "http://ocsp.example.org/"   # optional
//! ```
//!
//! Parsing ([`parse`]) catches what the text alone shows: TOML syntax, unknown sections and
//! options (named, with the closest known name), values that are not strings. Checking
//! ([`check`]) then compiles the host lists and server options with the workspace crates and
//! reads the files they name: errors stop `serve` and `send`; warnings and notes point at weak
//! but working combinations.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use mailstaple_hostlist::{HostList, NamedLists, split_list};
use mailstaple_ocsp::CertView;
use mailstaple_policy::TrustStore;
use toml::de::DeTable;

/// Options of `[server]`.
const SERVER_OPTIONS: &[&str] = &[
    "listen",
    "hostname",
    "spool",
    "tls_certificate",
    "tls_privatekey",
    "tls_ocsp_file",
    "tls_ocsp_issuer",
];
/// Options of `[client]`.
const CLIENT_OPTIONS: &[&str] = &[
    "hosts_require_ocsp",
    "hosts_request_ocsp",
    "hosts_require_tls",
    "tls_verify_certificates",
];
/// Keys of a `[[fetch.certificate]]` entry (those of the fetch daemon's own format).
const FETCH_KEYS: &[&str] = &["cert", "issuer", "out", "url"];
/// The sections.
const SECTIONS: &[&str] = &["server", "client", "hostlists", "fetch"];

/// One option's value and the line it is on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Value {
    pub(crate) value: String,
    pub(crate) line: usize,
}

/// `[server]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Server {
    pub(crate) listen: Option<Value>,
    pub(crate) hostname: Option<Value>,
    pub(crate) spool: Option<Value>,
    pub(crate) tls_certificate: Option<Value>,
    pub(crate) tls_privatekey: Option<Value>,
    pub(crate) tls_ocsp_file: Option<Value>,
    pub(crate) tls_ocsp_issuer: Option<Value>,
}

/// `[client]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Client {
    pub(crate) hosts_require_ocsp: Option<Value>,
    pub(crate) hosts_request_ocsp: Option<Value>,
    pub(crate) hosts_require_tls: Option<Value>,
    pub(crate) tls_verify_certificates: Option<Value>,
}

/// One `[[fetch.certificate]]` entry.
#[derive(Debug, Clone)]
pub(crate) struct FetchEntry {
    pub(crate) line: usize,
    pub(crate) cert: Option<Value>,
    pub(crate) issuer: Option<Value>,
    pub(crate) out: Option<Value>,
    pub(crate) url: Option<Value>,
}

/// The file, parsed.
#[derive(Debug, Clone, Default)]
pub(crate) struct File {
    pub(crate) server: Server,
    pub(crate) client: Client,
    /// Named host lists in file order: name and list.
    pub(crate) hostlists: Vec<(String, Value)>,
    pub(crate) fetch: Vec<FetchEntry>,
}

impl File {
    /// The named host lists, for compiling `+name` items.
    pub(crate) fn named_lists(&self) -> NamedLists {
        let mut named = NamedLists::new();
        for (name, list) in &self.hostlists {
            // The parser refuses empty names, the only error `define` has.
            let _ = named.define(name, &list.value);
        }
        named
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    /// The configuration cannot be used.
    Error,
    /// It works, but is weaker than it looks.
    Warning,
    /// Worth knowing, nothing to fix.
    Note,
}

/// One finding, with the line it concerns (0 when none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) severity: Severity,
    pub(crate) line: usize,
    pub(crate) text: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        if self.line > 0 {
            write!(f, "line {}: {label}: {}", self.line, self.text)
        } else {
            write!(f, "{label}: {}", self.text)
        }
    }
}

/// What parsing and checking found.
#[derive(Debug, Default)]
pub(crate) struct Findings(pub(crate) Vec<Finding>);

impl Findings {
    fn push(&mut self, severity: Severity, line: usize, text: impl Into<String>) {
        self.0.push(Finding {
            severity,
            line,
            text: text.into(),
        });
    }

    fn error(&mut self, line: usize, text: impl Into<String>) {
        self.push(Severity::Error, line, text);
    }

    fn warning(&mut self, line: usize, text: impl Into<String>) {
        self.push(Severity::Warning, line, text);
    }

    fn note(&mut self, line: usize, text: impl Into<String>) {
        self.push(Severity::Note, line, text);
    }

    /// Whether any finding is an error.
    pub(crate) fn has_errors(&self) -> bool {
        self.0.iter().any(|f| f.severity == Severity::Error)
    }

    /// Sorted: errors first, then by line.
    pub(crate) fn sorted(mut self) -> Vec<Finding> {
        self.0.sort_by_key(|f| (f.severity, f.line));
        self.0
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(usize::MAX);
            let left = row.get(j).copied().unwrap_or(usize::MAX);
            let diagonal = prev + usize::from(ca != *cb);
            prev = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = diagonal
                    .min(above.saturating_add(1))
                    .min(left.saturating_add(1));
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

/// " (did you mean X?)" when a known name is close enough.
fn suggestion(name: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (distance(name, k), *k))
        .min()
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .map(|(_, k)| format!(" (did you mean {k}?)"))
        .unwrap_or_default()
}

/// Reads the string options of one table into `slot(name)`, reporting unknown names and
/// non-string values.
fn read_table(
    text: &str,
    section: &str,
    table: &DeTable<'_>,
    known: &[&str],
    findings: &mut Findings,
    mut slot: impl FnMut(&str, Value),
) {
    for (key, value) in table.iter() {
        let name: &str = key.get_ref();
        let line = line_of(text, key.span().start);
        if !known.contains(&name) {
            findings.error(
                line,
                format!(
                    "[{section}] {name}: unknown option{}",
                    suggestion(name, known)
                ),
            );
            continue;
        }
        match value.get_ref().as_str() {
            Some(s) => slot(
                name,
                Value {
                    value: s.to_owned(),
                    line,
                },
            ),
            None => findings.error(
                line,
                format!(
                    "[{section}] {name}: expected a string, not a TOML {}",
                    value.get_ref().type_str()
                ),
            ),
        }
    }
}

/// Parses the text of a configuration file. The [`File`] is returned even when there are
/// errors (with the erroneous options left out), so that checks can go on.
pub(crate) fn parse(text: &str) -> (File, Findings) {
    let mut findings = Findings::default();
    let mut file = File::default();
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let line = e.span().map_or(0, |s| line_of(text, s.start));
            findings.error(line, format!("not valid TOML: {}", e.message()));
            return (file, findings);
        }
    };
    for (key, value) in root.get_ref().iter() {
        let name: &str = key.get_ref();
        let line = line_of(text, key.span().start);
        if !SECTIONS.contains(&name) {
            findings.error(
                line,
                format!("[{name}]: unknown section{}", suggestion(name, SECTIONS)),
            );
            continue;
        }
        let Some(table) = value.get_ref().as_table() else {
            findings.error(
                line,
                format!(
                    "{name}: expected a [{name}] section, not a TOML {}",
                    value.get_ref().type_str()
                ),
            );
            continue;
        };
        match name {
            "server" => read_table(text, name, table, SERVER_OPTIONS, &mut findings, |k, v| {
                let s = &mut file.server;
                let slot = match k {
                    "listen" => &mut s.listen,
                    "hostname" => &mut s.hostname,
                    "spool" => &mut s.spool,
                    "tls_certificate" => &mut s.tls_certificate,
                    "tls_privatekey" => &mut s.tls_privatekey,
                    "tls_ocsp_file" => &mut s.tls_ocsp_file,
                    _ => &mut s.tls_ocsp_issuer,
                };
                *slot = Some(v);
            }),
            "client" => read_table(text, name, table, CLIENT_OPTIONS, &mut findings, |k, v| {
                let c = &mut file.client;
                let slot = match k {
                    "hosts_require_ocsp" => &mut c.hosts_require_ocsp,
                    "hosts_request_ocsp" => &mut c.hosts_request_ocsp,
                    "hosts_require_tls" => &mut c.hosts_require_tls,
                    _ => &mut c.tls_verify_certificates,
                };
                *slot = Some(v);
            }),
            "hostlists" => {
                let names: Vec<String> =
                    table.iter().map(|(k, _)| k.get_ref().to_string()).collect();
                let known: Vec<&str> = names.iter().map(String::as_str).collect();
                read_table(text, name, table, &known, &mut findings, |k, v| {
                    file.hostlists.push((k.to_owned(), v));
                });
                file.hostlists.sort_by_key(|(_, v)| v.line);
            }
            _ => parse_fetch(text, table, &mut file, &mut findings),
        }
    }
    (file, findings)
}

fn parse_fetch(text: &str, table: &DeTable<'_>, file: &mut File, findings: &mut Findings) {
    for (key, value) in table.iter() {
        let name: &str = key.get_ref();
        let line = line_of(text, key.span().start);
        if name != "certificate" {
            findings.error(
                line,
                format!(
                    "[fetch] {name}: unknown option{} (write [[fetch.certificate]] entries)",
                    suggestion(name, &["certificate"])
                ),
            );
            continue;
        }
        let Some(entries) = value.get_ref().as_array() else {
            findings.error(
                line,
                "fetch.certificate: expected [[fetch.certificate]] entries".to_string(),
            );
            continue;
        };
        for entry in entries.iter() {
            let line = line_of(text, entry.span().start);
            let Some(t) = entry.get_ref().as_table() else {
                findings.error(line, "fetch.certificate: an entry is not a table");
                continue;
            };
            let mut e = FetchEntry {
                line,
                cert: None,
                issuer: None,
                out: None,
                url: None,
            };
            read_table(
                text,
                "[fetch.certificate]",
                t,
                FETCH_KEYS,
                findings,
                |k, v| {
                    let slot = match k {
                        "cert" => &mut e.cert,
                        "issuer" => &mut e.issuer,
                        "out" => &mut e.out,
                        _ => &mut e.url,
                    };
                    *slot = Some(v);
                },
            );
            file.fetch.push(e);
        }
    }
}

/// Reads and parses a file; `Err` when it cannot be read at all.
pub(crate) fn load(path: &Path) -> anyhow::Result<(File, Findings)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read configuration file {}: {e}", path.display()))?;
    Ok(parse(&text))
}

/// Loads, parses and checks a file for `serve` or `send`: warnings go to standard error, errors
/// make the whole an `Err` listing them.
pub(crate) fn load_checked(path: &Path, command: &str) -> anyhow::Result<File> {
    let (file, mut findings) = load(path)?;
    check(&file, &mut findings);
    let has_errors = findings.has_errors();
    let mut errors = Vec::new();
    for f in findings.sorted() {
        if f.severity == Severity::Error {
            errors.push(format!("{}: {f}", path.display()));
        } else {
            eprintln!("mailstaple {command}: {}: {f}", path.display());
        }
    }
    if has_errors {
        anyhow::bail!("{}", errors.join("\n"));
    }
    Ok(file)
}

/// Checks a parsed file: compiles the host lists and server options, reads the files named,
/// and looks for weak combinations.
pub(crate) fn check(file: &File, findings: &mut Findings) {
    let named = file.named_lists();
    check_hostlists(file, &named, findings);
    check_client(file, &named, findings);
    let ocsp_files = check_server(file, findings);
    check_fetch(file, &ocsp_files, findings);
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

/// `mailstaple_policy::Options` from the file's `[client]` (Exim's defaults for what it leaves
/// unset).
pub(crate) fn client_options(file: &File) -> mailstaple_policy::Options {
    let c = &file.client;
    let mut o = mailstaple_policy::Options::default();
    let v = |x: &Option<Value>| x.as_ref().map(|v| v.value.clone());
    o.hosts_require_ocsp = v(&c.hosts_require_ocsp);
    if let Some(r) = v(&c.hosts_request_ocsp) {
        o.hosts_request_ocsp = Some(r);
    }
    o.hosts_require_tls = v(&c.hosts_require_tls);
    if let Some(t) = v(&c.tls_verify_certificates) {
        o.tls_verify_certificates = t;
    }
    o
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
        .iter()
        .filter_map(|e| e.out.as_ref().map(|o| PathBuf::from(&o.value)))
        .collect();
    let mut served = Vec::new();
    for f in &files {
        let cert = match crate::input::read_certificate(&f.certificate) {
            Ok(c) => Some(c),
            Err(e) => {
                findings.error(cert_value.line, format!("[server] tls_certificate: {e:#}"));
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
            if !ocsp.path.exists() {
                findings.warning(
                    line,
                    format!(
                        "[server] tls_ocsp_file: {} does not exist yet and no [[fetch.certificate]] \
                         entry writes it: nothing will be stapled for {}",
                        ocsp.path.display(),
                        f.certificate.display()
                    ),
                );
            }
            let urls = cert.as_deref().and_then(|der| {
                CertView::parse(der)
                    .ok()
                    .and_then(|v| v.ocsp_urls().ok())
                    .map(|u| u.len())
            });
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
    served
}

fn check_fetch(file: &File, served: &[PathBuf], findings: &mut Findings) {
    for e in &file.fetch {
        for (key, value) in [("cert", &e.cert), ("issuer", &e.issuer), ("out", &e.out)] {
            if value.is_none() {
                findings.error(e.line, format!("[[fetch.certificate]]: {key} is missing"));
            }
        }
        for (key, value) in [("cert", &e.cert), ("issuer", &e.issuer)] {
            if let Some(v) = value
                && let Err(err) = crate::input::read_certificate(Path::new(&v.value))
            {
                findings.error(v.line, format!("[[fetch.certificate]] {key}: {err:#}"));
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
        if let Some(out) = &e.out {
            let path = PathBuf::from(&out.value);
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
            if !served.contains(&path) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let options = client_options(&file);
        assert_eq!(options.hosts_require_ocsp.as_deref(), Some("+r"));
        assert_eq!(options.hosts_request_ocsp.as_deref(), Some("*"));
        assert_eq!(options.tls_verify_certificates, "system");
    }
}
