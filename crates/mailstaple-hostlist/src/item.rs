//! One host-list item: what kind it is (Exim's `check_host` order of tests) and how it is
//! evaluated against a host.
//!
//! List-level syntax (`!`, `+name`, `/path`, modifiers) is handled by the caller; this module sees
//! the item text after those.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::env::{Env, Host, Resolution};
use crate::ip::{self, Net};
use crate::lookup;

/// Size limit for compiled regexes, so that a hostile list cannot exhaust memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A lookup type before `;`.
#[derive(Debug, Clone)]
pub(crate) enum LookupType {
    /// `lsearch`: linear search, caseless literal keys.
    Lsearch,
    /// `iplsearch`: linear search, IP/CIDR keys.
    Iplsearch,
    /// Anything else, by name.
    Unsupported(String),
}

impl LookupType {
    fn from_name(name: &str) -> LookupType {
        match name {
            "lsearch" => LookupType::Lsearch,
            "iplsearch" => LookupType::Iplsearch,
            other => LookupType::Unsupported(other.to_owned()),
        }
    }
}

/// The kind of an item, decided once from its text.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// `*`: every host, and "no host".
    Star,
    /// The empty item: only "no host".
    Empty,
    /// `@`: the addresses of the primary host name.
    PrimaryHost,
    /// `@[]`: the local interface addresses.
    Interfaces,
    /// An address or network.
    Net(Net),
    /// Only digits and dots, or digits and dots then `/`: ERROR.
    MalformedV4,
    /// `net[N]-type;file`: a lookup keyed by the (masked) address.
    NetLookup {
        mask: Option<u64>,
        lookup: LookupType,
        file: String,
    },
    /// A plain domain name: resolved forward.
    Name(String),
    /// `^regex`, caseless, on the host name.
    Regex(Box<regex::bytes::Regex>),
    /// `*suffix` on the host name (caseless); holds the suffix.
    Tail(String),
    /// `@mx_any`, `@mx_primary`, `@mx_secondary`: not supported (ERROR).
    AtMx(String),
    /// `type;file`: a lookup keyed by the host name.
    NameLookup { lookup: LookupType, file: String },
    /// Anything else: caseless comparison with the host name.
    Literal(String),
}

/// The result of one item, Exim's `check_host` return codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemResult {
    /// `OK`.
    Ok,
    /// `FAIL`.
    Fail,
    /// `DEFER`, with a reason.
    Defer(String),
    /// `ERROR`, with a reason.
    Error(String),
    /// An unreadable file or an invalid regex found at check time: fatal in Exim.
    Fatal(String),
}

/// Classifies an item (already stripped of `!`), following `check_host`.
pub(crate) fn classify(text: &str) -> Result<Kind, String> {
    match text {
        "*" => Ok(Kind::Star),
        "" => Ok(Kind::Empty),
        "@" => Ok(Kind::PrimaryHost),
        "@[]" => Ok(Kind::Interfaces),
        _ => classify_tail(text),
    }
}

/// The part of `check_host` after the `*`, empty, `@` and `@[]` tests; `@` continues here with
/// the primary host name as its text.
pub(crate) fn classify_tail(text: &str) -> Result<Kind, String> {
    if let Some(item) = ip::parse_ip_item(text, true) {
        return Ok(Kind::Net(Net::new(item.addr, item.mask)));
    }
    let bytes = text.as_bytes();
    let digits = bytes
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .count();
    match bytes.get(digits) {
        None => return Ok(Kind::MalformedV4),
        Some(b'/') if digits > 0 => return Ok(Kind::MalformedV4),
        _ => {}
    }
    let semicolon = text.find(';');
    if let (Some(semi), Some(rest)) = (semicolon, text.strip_prefix("net")) {
        let n_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if rest.as_bytes().get(n_digits) == Some(&b'-') {
            let mask = if n_digits == 0 {
                None
            } else {
                Some(
                    rest.get(..n_digits)
                        .unwrap_or("")
                        .bytes()
                        .fold(0u64, |acc, d| {
                            acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                        }),
                )
            };
            // "net" + digits + "-" is ASCII, so these offsets are char boundaries.
            let type_name = text.get(3 + n_digits + 1..semi).unwrap_or("");
            let file = text.get(semi + 1..).unwrap_or("");
            return Ok(Kind::NetLookup {
                mask,
                lookup: LookupType::from_name(type_name),
                file: file.to_owned(),
            });
        }
    }
    if bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    {
        return Ok(Kind::Name(text.to_owned()));
    }
    classify_name_pattern(text)
}

/// `check_string` with `at_is_special`: patterns matched against the host name.
/// Whether a pattern turns Unicode mode on with a `u` flag, which the `regex` crate knows and
/// Exim's PCRE (compiled without UTF or UCP) refuses as an unknown flag. Refusing it keeps
/// matching ASCII as Exim's is, and keeps compilation cheap: a caseless Unicode class such as
/// `(?u)\w` takes milliseconds to build.
fn enables_unicode(pattern: &str) -> bool {
    use regex_syntax::ast::{self, Ast, Flag, Visitor};

    struct Finder;
    impl Visitor for Finder {
        type Output = ();
        type Err = ();
        fn finish(self) -> Result<(), ()> {
            Ok(())
        }
        fn visit_pre(&mut self, ast: &Ast) -> Result<(), ()> {
            let flags = match ast {
                Ast::Flags(set) => Some(&set.flags),
                Ast::Group(group) => match &group.kind {
                    ast::GroupKind::NonCapturing(flags) => Some(flags),
                    _ => None,
                },
                _ => None,
            };
            match flags.and_then(|f| f.flag_state(Flag::Unicode)) {
                Some(true) => Err(()),
                _ => Ok(()),
            }
        }
    }
    // A pattern that does not parse is left to the regex builder, whose error says why.
    ast::parse::Parser::new()
        .parse(pattern)
        .is_ok_and(|ast| ast::visit(&ast, Finder).is_err())
}

fn classify_name_pattern(text: &str) -> Result<Kind, String> {
    if text.starts_with('^') {
        if enables_unicode(text) {
            return Err(
                "Unicode mode ((?u)) is not available: Exim's PCRE has no such flag, \
                and host names are ASCII"
                    .to_owned(),
            );
        }
        let re = regex::bytes::RegexBuilder::new(text)
            .case_insensitive(true)
            .unicode(false)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| e.to_string())?;
        return Ok(Kind::Regex(Box::new(re)));
    }
    if let Some(suffix) = text.strip_prefix('*') {
        return Ok(Kind::Tail(suffix.to_owned()));
    }
    if is_at_mx(text) {
        return Ok(Kind::AtMx(text.to_owned()));
    }
    if let Some(semi) = text.find(';') {
        let type_name = text.get(..semi).unwrap_or("");
        let file = text
            .get(semi + 1..)
            .unwrap_or("")
            .trim_start_matches(|c: char| c.is_ascii() && ip::is_c_space(c as u8));
        return Ok(Kind::NameLookup {
            lookup: LookupType::from_name(type_name),
            file: file.to_owned(),
        });
    }
    Ok(Kind::Literal(text.to_owned()))
}

/// `@mx_any`, `@mx_primary` or `@mx_secondary` (caseless), alone or followed by `/ignore=...`.
fn is_at_mx(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("@mx_") else {
        return false;
    };
    ["any", "primary", "secondary"]
        .iter()
        .filter_map(|kw| rest.strip_prefix(kw))
        .any(|after| after.is_empty() || after.starts_with("/ignore="))
}

/// Evaluates one item against the host.
pub(crate) fn eval(kind: &Kind, host: &Host<'_>, env: &Env<'_>) -> ItemResult {
    if matches!(kind, Kind::Star) {
        return ItemResult::Ok;
    }
    let Some(ip) = host.ip else {
        return if matches!(kind, Kind::Empty) {
            ItemResult::Ok
        } else {
            ItemResult::Fail
        };
    };
    match kind {
        Kind::Star => ItemResult::Ok,
        Kind::Empty => ItemResult::Fail,
        Kind::PrimaryHost => match env.primary_hostname {
            None => ItemResult::Error("primary host name is not set".to_owned()),
            Some(primary) => match classify_tail(primary) {
                Ok(k) => eval(&k, host, env),
                Err(e) => ItemResult::Fatal(format!(
                    "invalid regex in primary host name {primary:?}: {e}"
                )),
            },
        },
        Kind::Interfaces => match env.interfaces.interface_addrs() {
            Ok(addrs) => ok_if(addrs.contains(&ip)),
            Err(e) => ItemResult::Defer(format!("cannot list local interface addresses: {e}")),
        },
        Kind::Net(net) => ok_if(net.contains(ip::canonical(ip))),
        Kind::MalformedV4 => ItemResult::Error("malformed IPv4 address or address mask".to_owned()),
        Kind::NetLookup { mask, lookup, file } => net_lookup(ip, *mask, lookup, file, env),
        Kind::Name(name) => forward(name, ip, env),
        _ => {
            let Some(name) = host.name else {
                return ItemResult::Error(format!(
                    "failed to find host name for {ip} (none was given)"
                ));
            };
            name_pattern(kind, name, env)
        }
    }
}

fn ok_if(b: bool) -> ItemResult {
    if b { ItemResult::Ok } else { ItemResult::Fail }
}

fn forward(name: &str, ip: IpAddr, env: &Env<'_>) -> ItemResult {
    match env.resolver.resolve(name) {
        Resolution::Found(addrs) if !addrs.is_empty() => {
            ok_if(addrs.iter().any(|&a| ip::host_equals_net(a, ip)))
        }
        Resolution::Found(_) | Resolution::NotFound => {
            ItemResult::Error(format!("failed to find IP address for {name}"))
        }
        Resolution::TryAgain(why) => {
            ItemResult::Defer(format!("DNS lookup of \"{name}\" deferred: {why}"))
        }
    }
}

fn unsupported(type_name: &str) -> ItemResult {
    ItemResult::Error(format!(
        "unsupported lookup type \"{type_name}\" (mailstaple supports lsearch and iplsearch, and their net- forms)"
    ))
}

fn read(file: &str, env: &Env<'_>) -> Result<Vec<u8>, ItemResult> {
    env.files
        .read_file(file)
        .map_err(|e| ItemResult::Fatal(format!("failed to open {file} for linear search: {e}")))
}

fn net_lookup(
    ip: IpAddr,
    mask: Option<u64>,
    lookup: &LookupType,
    file: &str,
    env: &Env<'_>,
) -> ItemResult {
    match lookup {
        LookupType::Unsupported(t) => unsupported(t),
        LookupType::Lsearch => match read(file, env) {
            Ok(content) => ok_if(lookup::lsearch_find(
                &content,
                ip::net_key(ip, mask, '.').as_bytes(),
            )),
            Err(r) => r,
        },
        LookupType::Iplsearch => match read(file, env) {
            Ok(content) => iplsearch(&content, &ip::net_key(ip, mask, ':')),
            Err(r) => r,
        },
    }
}

fn iplsearch(content: &[u8], key: &str) -> ItemResult {
    match lookup::iplsearch_find(content, key) {
        Ok(found) => ok_if(found),
        Err(why) => ItemResult::Defer(why),
    }
}

fn name_pattern(kind: &Kind, name: &str, env: &Env<'_>) -> ItemResult {
    let lower: Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    };
    match kind {
        Kind::Regex(re) => ok_if(re.is_match(lower.as_bytes())),
        Kind::Tail(suffix) => {
            let (s, p) = (lower.as_bytes(), suffix.as_bytes());
            ok_if(
                s.len() >= p.len()
                    && s.get(s.len() - p.len()..)
                        .is_some_and(|t| t.eq_ignore_ascii_case(p)),
            )
        }
        Kind::AtMx(text) => ItemResult::Error(format!(
            "{text}: MX-based items are not supported in host lists"
        )),
        Kind::NameLookup { lookup, file } => match lookup {
            LookupType::Unsupported(t) => unsupported(t),
            LookupType::Lsearch => match read(file, env) {
                Ok(content) => ok_if(lookup::lsearch_find(&content, lower.as_bytes())),
                Err(r) => r,
            },
            LookupType::Iplsearch => match read(file, env) {
                Ok(content) => iplsearch(&content, &lower),
                Err(r) => r,
            },
        },
        Kind::Literal(lit) => ok_if(lower.eq_ignore_ascii_case(lit)),
        // The remaining kinds are handled before the host name is needed.
        _ => ItemResult::Fail,
    }
}

/// The non-empty lines of a list file, with their 1-based line numbers: `#` starts a comment
/// anywhere, surrounding white space is removed, and a NUL ends the line (C strings).
pub(crate) fn list_file_lines(content: &[u8]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, raw) in content.split(|&b| b == b'\n').enumerate() {
        let line = raw.split(|&b| b == 0).next().unwrap_or(&[]);
        let line = line.split(|&b| b == b'#').next().unwrap_or(&[]);
        let start = line
            .iter()
            .position(|&b| !ip::is_c_space(b))
            .unwrap_or(line.len());
        let end = line
            .iter()
            .rposition(|&b| !ip::is_c_space(b))
            .map_or(start, |p| p + 1);
        let trimmed = line.get(start..end).unwrap_or(&[]);
        if !trimmed.is_empty() {
            out.push((n + 1, String::from_utf8_lossy(trimmed).into_owned()));
        }
    }
    out
}

/// Splits a leading `!` (and the white space after it) off an item.
pub(crate) fn strip_negation(text: &str) -> (bool, &str) {
    match text.strip_prefix('!') {
        Some(rest) => (
            true,
            rest.trim_start_matches(|c: char| c.is_ascii() && ip::is_c_space(c as u8)),
        ),
        None => (false, text),
    }
}
