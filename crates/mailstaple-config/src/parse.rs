//! The file's model and its parser: what the text alone shows.

use std::fmt;
use std::path::{Path, PathBuf};

use mailstaple_hostlist::NamedLists;
use toml::de::{DeTable, DeValue};

/// Options of `[server]`.
pub(crate) const SERVER_OPTIONS: &[&str] = &[
    "listen",
    "hostname",
    "spool",
    "tls_certificate",
    "tls_privatekey",
    "tls_ocsp_file",
    "tls_ocsp_issuer",
    "smtp_accept_max",
    "smtp_accept_max_per_host",
    "smtp_receive_timeout",
    "data_line_limit",
    "fetch",
    "metrics_listen",
    "tls_ocsp_max_age",
];
/// Options of `[client]`.
pub(crate) const CLIENT_OPTIONS: &[&str] = &[
    "hosts_require_ocsp",
    "hosts_request_ocsp",
    "hosts_require_tls",
    "tls_verify_certificates",
    "tls_ocsp_max_age",
];
/// Options of `[fetch]`.
pub(crate) const FETCH_OPTIONS: &[&str] = &[
    "certificate",
    "concurrency",
    "connect_timeout",
    "timeout",
    "max_body",
    "status",
    "metrics_listen",
    "tls_ocsp_max_age",
    "store",
    "store_prefix",
    "store_password_file",
    "store_ca",
    "store_poll",
    "node",
];
/// Keys of a `[[fetch.certificate]]` entry.
pub(crate) const FETCH_KEYS: &[&str] = &["cert", "issuer", "out", "url", "name"];
/// The sections.
pub(crate) const SECTIONS: &[&str] = &["server", "client", "hostlists", "fetch", "respond"];

/// Largest `[fetch] concurrency`.
const MAX_CONCURRENCY: u64 = 4096;
/// Largest `[fetch]` timeout, in seconds (a day).
const MAX_TIMEOUT: u64 = 86_400;
/// Largest `[fetch] max_body`, in bytes (16 MiB; a proof is a few kilobytes).
const MAX_BODY: u64 = 16 << 20;
/// Largest `smtp_accept_max` and `smtp_accept_max_per_host`.
const MAX_ACCEPT: u64 = 1_000_000;
/// Smallest and largest `tls_ocsp_max_age`, in seconds (a minute to a year).
pub const MAX_AGE_LIMITS: (u64, u64) = (60, 366 * 86_400);
/// Smallest and largest `data_line_limit`, in octets (RFC 5321's 1000 to 1 MiB).
const DATA_LINE_LIMITS: (u64, u64) = (1000, 1 << 20);

/// One option's value and the line it is on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Value<T = String> {
    /// The value.
    pub value: T,
    /// Its line in the file (1-based).
    pub line: usize,
}

impl<T> Value<T> {
    /// A value on a line.
    pub fn new(value: T, line: usize) -> Self {
        Value { value, line }
    }
}

/// `[server]`: `mailstaple serve`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Server {
    /// Address and port to listen on.
    pub listen: Option<Value>,
    /// Our host name in the greeting.
    pub hostname: Option<Value>,
    /// The spool directory.
    pub spool: Option<Value>,
    /// Exim's `tls_certificate`.
    pub tls_certificate: Option<Value>,
    /// Exim's `tls_privatekey`.
    pub tls_privatekey: Option<Value>,
    /// Exim's `tls_ocsp_file`.
    pub tls_ocsp_file: Option<Value>,
    /// mailstaple's own: issuer certificates when the chain files lack them.
    pub tls_ocsp_issuer: Option<Value>,
    /// Exim's `smtp_accept_max`: connections served at once (0: no limit).
    pub smtp_accept_max: Option<Value<u64>>,
    /// Exim's `smtp_accept_max_per_host`: connections served at once from one address (0: no
    /// limit).
    pub smtp_accept_max_per_host: Option<Value<u64>>,
    /// Exim's `smtp_receive_timeout`, in seconds (written as seconds or an Exim time such as
    /// `"5m"`).
    pub smtp_receive_timeout: Option<Value<u64>>,
    /// mailstaple's own: the longest message line accepted, in octets with CRLF.
    pub data_line_limit: Option<Value<u64>>,
    /// mailstaple's own: which certificates' proofs `serve` fetches itself (default: all).
    pub fetch: Option<Value<FetchSelection>>,
    /// Where `serve` answers `/metrics` and `/status` (a port on loopback, or an address).
    pub metrics_listen: Option<Value>,
    /// mailstaple's own: the maximum age of a proof `serve` staples (and its own fetcher
    /// installs), in seconds: thisUpdate older than this is refused even before nextUpdate, and
    /// a proof without nextUpdate is usable until thisUpdate plus this (see
    /// `mailstaple_verify::Policy::max_age_secs`). Unset: no maximum.
    pub tls_ocsp_max_age: Option<Value<u64>>,
}

/// `[server] fetch`: the certificates whose `tls_ocsp_file` `serve` keeps fresh itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchSelection {
    /// `true` (the default): every certificate with a proof file and a responder.
    All,
    /// `false`: none (another fetcher, such as `fetch --daemon`, writes the files).
    None,
    /// An Exim list of certificate files, items of `tls_certificate`: only those (the list as
    /// written; [`FetchSelection::files`] splits it).
    Certificates(String),
}

impl FetchSelection {
    /// Whether the certificate file `certificate` is selected.
    pub fn includes(&self, certificate: &Path) -> bool {
        match self {
            FetchSelection::All => true,
            FetchSelection::None => false,
            FetchSelection::Certificates(_) => {
                self.files().iter().any(|f| Path::new(f) == certificate)
            }
        }
    }

    /// The certificate files of a list (none for `true` and `false`).
    pub fn files(&self) -> Vec<String> {
        match self {
            FetchSelection::Certificates(list) => mailstaple_hostlist::split_list(list),
            _ => Vec::new(),
        }
    }

    /// Parses `true`, `false` or an Exim list of certificate files (the flag's syntax).
    pub fn parse(text: &str) -> Self {
        match text.trim() {
            "true" | "yes" => FetchSelection::All,
            "false" | "no" => FetchSelection::None,
            _ => FetchSelection::Certificates(text.to_owned()),
        }
    }
}

/// `[client]`: `mailstaple send`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Client {
    /// Exim's `hosts_require_ocsp`.
    pub hosts_require_ocsp: Option<Value>,
    /// Exim's `hosts_request_ocsp`.
    pub hosts_request_ocsp: Option<Value>,
    /// Exim's `hosts_require_tls`.
    pub hosts_require_tls: Option<Value>,
    /// Exim's `tls_verify_certificates`.
    pub tls_verify_certificates: Option<Value>,
    /// mailstaple's own: the maximum age of a staple the client accepts, in seconds (see
    /// `mailstaple_verify::Policy::max_age_secs`).
    pub tls_ocsp_max_age: Option<Value<u64>>,
}

/// One `[[fetch.certificate]]` entry as written (keys may be missing; [`crate::check`] says so).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchEntry {
    /// The line of the entry's header.
    pub line: usize,
    /// The certificate file.
    pub cert: Option<Value>,
    /// Its issuer's certificate file.
    pub issuer: Option<Value>,
    /// Where the proof is installed.
    pub out: Option<Value>,
    /// The responder URL, when not the certificate's own.
    pub url: Option<Value>,
    /// The name in logs and the status.
    pub name: Option<Value>,
}

/// A complete `[[fetch.certificate]]` entry, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchCertificate {
    /// The name in logs and the status (`name`, or the stem of `out`).
    pub name: String,
    /// The certificate file.
    pub cert: PathBuf,
    /// Its issuer's certificate file.
    pub issuer: PathBuf,
    /// Where the proof is installed.
    pub out: PathBuf,
    /// The responder URL, when not the certificate's own.
    pub url: Option<String>,
}

/// `[fetch]`: the fetcher's settings and certificates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fetch {
    /// Fetches at once.
    pub concurrency: Option<Value<u64>>,
    /// Connect timeout, in seconds.
    pub connect_timeout: Option<Value<u64>>,
    /// Timeout of a whole exchange, in seconds.
    pub timeout: Option<Value<u64>>,
    /// Largest response body, in bytes.
    pub max_body: Option<Value<u64>>,
    /// Where the daemon writes its JSON status.
    pub status: Option<Value>,
    /// Where `fetch --daemon` answers `/metrics` and `/status`.
    pub metrics_listen: Option<Value>,
    /// mailstaple's own: the maximum age of a proof the fetcher installs, in seconds.
    pub tls_ocsp_max_age: Option<Value<u64>>,
    /// The fleet's shared store: `redis://`, `rediss://`, `redis+cluster://`.
    pub store: Option<Value>,
    /// The store's key prefix.
    pub store_prefix: Option<Value>,
    /// A file holding the store's password (instead of one in the URL).
    pub store_password_file: Option<Value>,
    /// PEM CA certificates for a `rediss` store's TLS certificate.
    pub store_ca: Option<Value>,
    /// Seconds a node that did not get a lease waits before reading the store again.
    pub store_poll: Option<Value<u64>>,
    /// This node's name in the fleet.
    pub node: Option<Value>,
    /// The `[[fetch.certificate]]` entries, in file order.
    pub certificates: Vec<FetchEntry>,
}

/// The fleet settings of `[fetch]`, typed (see [`File::fetch_store`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchStore {
    /// The store (its password, if in the URL, never printed).
    pub url: mailstaple_store::StoreUrl,
    /// The key prefix (default `mailstaple`).
    pub prefix: String,
    /// This node's name (`None`: the host name).
    pub node: Option<String>,
    /// Seconds between reads of a node waiting for another's lease (default 5).
    pub poll: u64,
    /// The password file, if any.
    pub password_file: Option<PathBuf>,
    /// The CA file, if any.
    pub ca: Option<PathBuf>,
}

/// Largest `store_poll`, in seconds.
const MAX_STORE_POLL: u64 = 3600;

/// A store key prefix: what Redis keys and channel names take without quoting trouble.
fn prefix(raw: &DeValue<'_>) -> Result<String, String> {
    let p = string(raw)?;
    if p.is_empty()
        || p.len() > 64
        || !p
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'))
    {
        return Err(format!(
            "{p:?}: expected 1 to 64 letters, digits and - _ . : / (no braces: the key's \
             hash tag is the certificate's)"
        ));
    }
    Ok(p)
}

/// A node name: printable, no spaces (it is in lease values and notices).
fn node_name(raw: &DeValue<'_>) -> Result<String, String> {
    let n = string(raw)?;
    if n.is_empty() || n.len() > 64 || n.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{n:?}: expected 1 to 64 characters without spaces or control characters"
        ));
    }
    Ok(n)
}

/// The file, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct File {
    /// `[server]`.
    pub server: Server,
    /// `[client]`.
    pub client: Client,
    /// `[hostlists]`: named host lists in file order, name and list.
    pub hostlists: Vec<(String, Value)>,
    /// `[fetch]`.
    pub fetch: Fetch,
    /// `[respond]`.
    pub respond: crate::respond::Respond,
}

impl File {
    /// The named host lists, for compiling `+name` items.
    pub fn named_lists(&self) -> NamedLists {
        let mut named = NamedLists::new();
        for (name, list) in &self.hostlists {
            // The checks refuse empty names, the only error `define` has.
            let _ = named.define(name, &list.value);
        }
        named
    }

    /// `mailstaple_policy::Options` from `[client]` (Exim's defaults for what it leaves unset).
    pub fn client_options(&self) -> mailstaple_policy::Options {
        let c = &self.client;
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

    /// The complete `[[fetch.certificate]]` entries (a loaded file has no other kind).
    pub fn fetch_certificates(&self) -> Vec<FetchCertificate> {
        self.fetch
            .certificates
            .iter()
            .filter_map(|e| {
                let (cert, issuer, out) = (e.cert.as_ref()?, e.issuer.as_ref()?, e.out.as_ref()?);
                let out = PathBuf::from(&out.value);
                let name = e.name.as_ref().map_or_else(
                    || {
                        out.file_stem().map_or_else(
                            || out.display().to_string(),
                            |s| s.to_string_lossy().into_owned(),
                        )
                    },
                    |n| n.value.clone(),
                );
                Some(FetchCertificate {
                    name,
                    cert: PathBuf::from(&cert.value),
                    issuer: PathBuf::from(&issuer.value),
                    out,
                    url: e.url.as_ref().map(|u| u.value.clone()),
                })
            })
            .collect()
    }

    /// The `[fetch] status` file.
    pub fn fetch_status_file(&self) -> Option<&Path> {
        self.fetch.status.as_ref().map(|s| Path::new(&s.value))
    }

    /// The fleet's store settings, when `[fetch] store` is set (a loaded file's URL parses).
    pub fn fetch_store(&self) -> Option<FetchStore> {
        let f = &self.fetch;
        let url = mailstaple_store::StoreUrl::parse(&f.store.as_ref()?.value).ok()?;
        Some(FetchStore {
            url,
            prefix: f
                .store_prefix
                .as_ref()
                .map_or_else(|| "mailstaple".to_owned(), |p| p.value.clone()),
            node: f.node.as_ref().map(|n| n.value.clone()),
            poll: f.store_poll.as_ref().map_or(5, |p| p.value),
            password_file: f
                .store_password_file
                .as_ref()
                .map(|p| PathBuf::from(&p.value)),
            ca: f.store_ca.as_ref().map(|p| PathBuf::from(&p.value)),
        })
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// The configuration cannot be used.
    Error,
    /// It works, but is weaker than it looks.
    Warning,
    /// Worth knowing, nothing to fix.
    Note,
}

/// One finding, with the line it concerns (0 when none).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// The line (1-based), 0 when the finding concerns no single line.
    pub line: usize,
    /// What is wrong, naming the section and option.
    pub text: String,
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
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    fn push(&mut self, severity: Severity, line: usize, text: impl Into<String>) {
        self.0.push(Finding {
            severity,
            line,
            text: text.into(),
        });
    }

    pub(crate) fn error(&mut self, line: usize, text: impl Into<String>) {
        self.push(Severity::Error, line, text);
    }

    pub(crate) fn warning(&mut self, line: usize, text: impl Into<String>) {
        self.push(Severity::Warning, line, text);
    }

    pub(crate) fn note(&mut self, line: usize, text: impl Into<String>) {
        self.push(Severity::Note, line, text);
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|f| f.severity == Severity::Error)
    }

    /// Sorted: errors first, then by line.
    pub fn sorted(mut self) -> Vec<Finding> {
        self.0.sort_by_key(|f| (f.severity, f.line));
        self.0
    }
}

/// The configuration text with the offsets of its newlines, so that the line of each option is
/// found in logarithmic time (counting from the start for every option made a file of 10,000
/// certificates take half a minute to load).
pub(crate) struct Source {
    newlines: Vec<usize>,
}

impl Source {
    pub(crate) fn new(text: &str) -> Source {
        Source {
            newlines: text
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        }
    }
}

/// 1-based line of a byte offset.
pub(crate) fn line_of(text: &Source, offset: usize) -> usize {
    text.newlines.partition_point(|&nl| nl < offset) + 1
}

/// Levenshtein distance, for "did you mean".
pub(crate) fn distance(a: &str, b: &str) -> usize {
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
pub(crate) fn suggestion(name: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (distance(name, k), *k))
        .min()
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .map(|(_, k)| format!(" (did you mean {k}?)"))
        .unwrap_or_default()
}

/// A string value, or why not.
pub(crate) fn string(raw: &DeValue<'_>) -> Result<String, String> {
    raw.as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("expected a string, not a TOML {}", raw.type_str()))
}

/// An integer from 1 to `max`, or why not.
pub(crate) fn positive(raw: &DeValue<'_>, max: u64) -> Result<u64, String> {
    let wrong = || format!("expected an integer from 1 to {max}");
    let Some(i) = raw.as_integer() else {
        return Err(format!("{}, not a TOML {}", wrong(), raw.type_str()));
    };
    u64::from_str_radix(i.as_str(), i.radix())
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(wrong)
}

/// An integer from 0 to `max`, or why not.
fn count(raw: &DeValue<'_>, max: u64) -> Result<u64, String> {
    let wrong = || format!("expected an integer from 0 (no limit) to {max}");
    let Some(i) = raw.as_integer() else {
        return Err(format!("{}, not a TOML {}", wrong(), raw.type_str()));
    };
    u64::from_str_radix(i.as_str(), i.radix())
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(wrong)
}

/// An integer from `min` to `max`, or why not.
fn ranged(raw: &DeValue<'_>, (min, max): (u64, u64)) -> Result<u64, String> {
    let wrong = || format!("expected an integer from {min} to {max}");
    let Some(i) = raw.as_integer() else {
        return Err(format!("{}, not a TOML {}", wrong(), raw.type_str()));
    };
    u64::from_str_radix(i.as_str(), i.radix())
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(wrong)
}

/// A duration in seconds: a positive integer, or an Exim time string (`"30s"`, `"5m"`,
/// `"1h30m"`; units `s`, `m`, `h`, `d`, `w`), at most a day.
fn seconds(raw: &DeValue<'_>) -> Result<u64, String> {
    if raw.as_integer().is_some() {
        return positive(raw, MAX_TIMEOUT);
    }
    let wrong = || {
        format!(
            "expected seconds (an integer) or an Exim time such as \"5m\" or \"1h30m\", \
             from 1 s to {MAX_TIMEOUT} s"
        )
    };
    let Some(text) = raw.as_str() else {
        return Err(format!("{}, not a TOML {}", wrong(), raw.type_str()));
    };
    exim_time(text)
        .filter(|n| (1..=MAX_TIMEOUT).contains(n))
        .ok_or_else(wrong)
}

/// `tls_ocsp_max_age`: seconds (an integer) or an Exim time (`"7d"`), from a minute to a year.
fn max_age(raw: &DeValue<'_>) -> Result<u64, String> {
    time_within(raw, MAX_AGE_LIMITS, "7d")
}

/// Seconds (an integer) or an Exim time string, from `min` to `max` seconds; `example` shows
/// the syntax in the message.
pub(crate) fn time_within(
    raw: &DeValue<'_>,
    (min, max): (u64, u64),
    example: &str,
) -> Result<u64, String> {
    let wrong = || {
        format!(
            "expected seconds (an integer) or an Exim time such as \"{example}\", from {min} s \
             to {max} s"
        )
    };
    let seconds = match (raw.as_integer(), raw.as_str()) {
        (Some(i), _) => u64::from_str_radix(i.as_str(), i.radix()).ok(),
        (None, Some(text)) => exim_time(text),
        _ => return Err(format!("{}, not a TOML {}", wrong(), raw.type_str())),
    };
    seconds
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(wrong)
}

/// The tables of an array of tables `[[section.key]]` (the value of `key` in `[section]`), each
/// with its line; a value of another shape, or an entry that is not a table, is reported.
pub(crate) fn table_entries<'a, 'i>(
    text: &Source,
    raw: &'a DeValue<'i>,
    line: usize,
    section: &str,
    key: &str,
    findings: &mut Findings,
) -> Vec<(&'a DeTable<'i>, usize)> {
    let Some(array) = raw.as_array() else {
        findings.error(
            line,
            format!(
                "[{section}] {key}: expected [[{section}.{key}]] entries, not a TOML {}",
                raw.type_str()
            ),
        );
        return Vec::new();
    };
    let mut tables = Vec::new();
    for entry in array.iter() {
        let line = line_of(text, entry.span().start);
        match entry.get_ref().as_table() {
            Some(t) => tables.push((t, line)),
            None => findings.error(
                line,
                format!(
                    "[[{section}.{key}]]: an entry is a TOML {}, not a table",
                    entry.get_ref().type_str()
                ),
            ),
        }
    }
    tables
}

/// Exim's time syntax: numbers each followed by `w`, `d`, `h`, `m` or `s` (a bare number is
/// seconds), summed; `None` when it is not one.
pub fn exim_time(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.trim().chars() {
        if let Some(d) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(d))?,
            );
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    if let Some(n) = number {
        total = total.checked_add(n)?;
    }
    (!text.trim().is_empty()).then_some(total)
}

/// Reads the options of one table: unknown names are reported with the closest known one, and
/// `slot(name, value, line)` stores a known one or says why its value is wrong.
pub(crate) fn read_table<'t, 'i>(
    text: &Source,
    label: &str,
    table: &'t DeTable<'i>,
    known: &[&str],
    findings: &mut Findings,
    mut slot: impl FnMut(&str, &'t DeValue<'i>, usize) -> Result<(), String>,
) {
    for (key, value) in table.iter() {
        let name: &str = key.get_ref();
        let line = line_of(text, key.span().start);
        if !known.contains(&name) {
            findings.error(
                line,
                format!("{label} {name}: unknown option{}", suggestion(name, known)),
            );
            continue;
        }
        if let Err(why) = slot(name, value.get_ref(), line) {
            findings.error(line, format!("{label} {name}: {why}"));
        }
    }
}

/// Parses the text of a configuration file. The [`File`] is returned even when there are
/// errors (with the erroneous options left out), so that checks can go on.
pub fn parse(text: &str) -> (File, Findings) {
    let mut findings = Findings::default();
    let mut file = File::default();
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let line = e.span().map_or(0, |s| line_of(&Source::new(text), s.start));
            findings.error(line, format!("not valid TOML: {}", e.message()));
            return (file, findings);
        }
    };
    let source = Source::new(text);
    let text = &source;
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
            "server" => read_table(
                text,
                "[server]",
                table,
                SERVER_OPTIONS,
                &mut findings,
                |k, raw, line| {
                    let s = &mut file.server;
                    let number = match k {
                        "smtp_accept_max" => Some((&mut s.smtp_accept_max, count(raw, MAX_ACCEPT))),
                        "smtp_accept_max_per_host" => {
                            Some((&mut s.smtp_accept_max_per_host, count(raw, MAX_ACCEPT)))
                        }
                        "smtp_receive_timeout" => Some((&mut s.smtp_receive_timeout, seconds(raw))),
                        "data_line_limit" => {
                            Some((&mut s.data_line_limit, ranged(raw, DATA_LINE_LIMITS)))
                        }
                        "tls_ocsp_max_age" => Some((&mut s.tls_ocsp_max_age, max_age(raw))),
                        _ => None,
                    };
                    if let Some((slot, value)) = number {
                        *slot = Some(Value::new(value?, line));
                        return Ok(());
                    }
                    if k == "fetch" {
                        let selection = match (raw.as_bool(), raw.as_str()) {
                            (Some(true), _) => FetchSelection::All,
                            (Some(false), _) => FetchSelection::None,
                            (None, Some(list)) => FetchSelection::Certificates(list.to_owned()),
                            _ => {
                                return Err(format!(
                                    "expected true, false or a list of tls_certificate files, \
                                     not a TOML {}",
                                    raw.type_str()
                                ));
                            }
                        };
                        s.fetch = Some(Value::new(selection, line));
                        return Ok(());
                    }
                    let slot = match k {
                        "listen" => &mut s.listen,
                        "hostname" => &mut s.hostname,
                        "spool" => &mut s.spool,
                        "tls_certificate" => &mut s.tls_certificate,
                        "tls_privatekey" => &mut s.tls_privatekey,
                        "tls_ocsp_file" => &mut s.tls_ocsp_file,
                        "metrics_listen" => &mut s.metrics_listen,
                        _ => &mut s.tls_ocsp_issuer,
                    };
                    *slot = Some(Value::new(string(raw)?, line));
                    Ok(())
                },
            ),
            "client" => read_table(
                text,
                "[client]",
                table,
                CLIENT_OPTIONS,
                &mut findings,
                |k, raw, line| {
                    let c = &mut file.client;
                    if k == "tls_ocsp_max_age" {
                        c.tls_ocsp_max_age = Some(Value::new(max_age(raw)?, line));
                        return Ok(());
                    }
                    let slot = match k {
                        "hosts_require_ocsp" => &mut c.hosts_require_ocsp,
                        "hosts_request_ocsp" => &mut c.hosts_request_ocsp,
                        "hosts_require_tls" => &mut c.hosts_require_tls,
                        _ => &mut c.tls_verify_certificates,
                    };
                    *slot = Some(Value::new(string(raw)?, line));
                    Ok(())
                },
            ),
            "hostlists" => {
                let names: Vec<String> =
                    table.iter().map(|(k, _)| k.get_ref().to_string()).collect();
                let known: Vec<&str> = names.iter().map(String::as_str).collect();
                read_table(
                    text,
                    "[hostlists]",
                    table,
                    &known,
                    &mut findings,
                    |k, raw, line| {
                        file.hostlists
                            .push((k.to_owned(), Value::new(string(raw)?, line)));
                        Ok(())
                    },
                );
                file.hostlists.sort_by_key(|(_, v)| v.line);
            }
            "respond" => {
                crate::respond::parse_respond(text, table, &mut file.respond, &mut findings);
            }
            _ => parse_fetch(text, table, &mut file.fetch, &mut findings),
        }
    }
    (file, findings)
}

fn parse_fetch(text: &Source, table: &DeTable<'_>, fetch: &mut Fetch, findings: &mut Findings) {
    let mut entries = Vec::new();
    read_table(
        text,
        "[fetch]",
        table,
        FETCH_OPTIONS,
        findings,
        |k, raw, line| {
            let (slot, max) = match k {
                "certificate" => {
                    entries.push((raw, line));
                    return Ok(());
                }
                "status" => {
                    fetch.status = Some(Value::new(string(raw)?, line));
                    return Ok(());
                }
                "metrics_listen" => {
                    fetch.metrics_listen = Some(Value::new(string(raw)?, line));
                    return Ok(());
                }
                "tls_ocsp_max_age" => {
                    fetch.tls_ocsp_max_age = Some(Value::new(max_age(raw)?, line));
                    return Ok(());
                }
                "store" => {
                    let url = string(raw)?;
                    mailstaple_store::StoreUrl::parse(&url).map_err(|e| e.to_string())?;
                    fetch.store = Some(Value::new(url, line));
                    return Ok(());
                }
                "store_prefix" => {
                    fetch.store_prefix = Some(Value::new(prefix(raw)?, line));
                    return Ok(());
                }
                "node" => {
                    fetch.node = Some(Value::new(node_name(raw)?, line));
                    return Ok(());
                }
                "store_password_file" => {
                    fetch.store_password_file = Some(Value::new(string(raw)?, line));
                    return Ok(());
                }
                "store_ca" => {
                    fetch.store_ca = Some(Value::new(string(raw)?, line));
                    return Ok(());
                }
                "store_poll" => {
                    fetch.store_poll = Some(Value::new(positive(raw, MAX_STORE_POLL)?, line));
                    return Ok(());
                }
                "concurrency" => (&mut fetch.concurrency, MAX_CONCURRENCY),
                "connect_timeout" => (&mut fetch.connect_timeout, MAX_TIMEOUT),
                "timeout" => (&mut fetch.timeout, MAX_TIMEOUT),
                _ => (&mut fetch.max_body, MAX_BODY),
            };
            *slot = Some(Value::new(positive(raw, max)?, line));
            Ok(())
        },
    );
    for (raw, line) in entries {
        for (t, line) in table_entries(text, raw, line, "fetch", "certificate", findings) {
            let mut e = FetchEntry {
                line,
                cert: None,
                issuer: None,
                out: None,
                url: None,
                name: None,
            };
            read_table(
                text,
                "[[fetch.certificate]]",
                t,
                FETCH_KEYS,
                findings,
                |k, raw, line| {
                    let slot = match k {
                        "cert" => &mut e.cert,
                        "issuer" => &mut e.issuer,
                        "out" => &mut e.out,
                        "url" => &mut e.url,
                        _ => &mut e.name,
                    };
                    *slot = Some(Value::new(string(raw)?, line));
                    Ok(())
                },
            );
            fetch.certificates.push(e);
        }
    }
}
