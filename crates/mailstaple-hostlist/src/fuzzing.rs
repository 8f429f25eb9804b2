//! Test support, not part of the stable API: a plain reference interpreter, a linear-scan
//! baseline for benchmarks, a fixed test environment, and the fuzz entry point.
//!
//! The reference interpreter follows Exim's `match_check_list` and `check_host` step by step on
//! the list *text*, at every check: its own list splitter, its own list walk, and its own
//! bit-by-bit address comparison. It shares only the leaf helpers with the compiled matcher (IP
//! text parsing, lookup-file reading, and the evaluation of name, lookup and file items), so
//! comparing the two tests list syntax, modifiers, negation, named lists, files, the end-of-list
//! rule and the prefix structure. Splits and item classifications are remembered per text,
//! which only saves time (both are pure functions of the text; a fuzzed regular expression is
//! compiled once, not once per host).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use crate::env::{Env, Host, MemoryFiles, Resolution, StaticInterfaces, StaticResolver};
use crate::ip::{self, Net};
use crate::item::{self, ItemResult};
use crate::list::{self, HostList, NamedLists};
use crate::outcome::{InnerItem, ItemRef, Outcome, Reason, Source, Verdict};

/// Named lists nested deeper than this make the reference defer (only cycles get there, and
/// [`HostList::parse_with`] rejects those).
const MAX_DEPTH: usize = 32;

/// Checks `host` against the list text the slow, literal way. See the module documentation.
pub fn reference_check(
    list: &str,
    named: &NamedLists,
    host: &Host<'_>,
    env: &Env<'_>,
) -> Outcome<'static> {
    ref_list(list, named, host, env, 0)
}

/// `string_nextinlist`, written as a byte-at-a-time state machine.
fn ref_split(list: &str) -> Vec<String> {
    let mut s: Vec<u8> = list.bytes().take_while(|&b| b != 0).collect();
    s.push(0);
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let space = |b: u8| b == b' ' || (0x09..=0x0d).contains(&b);
    let mut p = 0;
    while space(at(p)) {
        p += 1;
    }
    let mut sep = b':';
    // As in C, the terminating NUL counts as a control character here: a list that is just `<`
    // has NUL as its separator and no items.
    if at(p) == b'<' && (at(p + 1).is_ascii_punctuation() || at(p + 1).is_ascii_control()) {
        sep = at(p + 1);
        p += 1;
        if at(p) != 0 {
            p += 1;
        }
    }
    let special = sep.is_ascii_control();
    let mut out = Vec::new();
    loop {
        while space(at(p)) && at(p) != sep {
            p += 1;
        }
        if at(p) == 0 {
            return out;
        }
        let mut buf = Vec::new();
        while at(p) != 0 {
            if at(p) == sep {
                p += 1;
                if at(p) != sep || special {
                    break;
                }
            }
            buf.push(at(p));
            p += 1;
        }
        while buf.last().is_some_and(|&b| space(b)) {
            buf.pop();
        }
        out.push(String::from_utf8_lossy(&buf).into_owned());
    }
}

fn owned_ref(index: usize, text: &str) -> ItemRef<'static> {
    ItemRef {
        index,
        text: Cow::Owned(text.to_owned()),
        inner: None,
    }
}

fn ref_list(
    list: &str,
    named: &NamedLists,
    host: &Host<'_>,
    env: &Env<'_>,
    depth: usize,
) -> Outcome<'static> {
    let (mut include_unknown, mut ignore_unknown, mut include_defer, mut ignore_defer) =
        (false, false, false, false);
    let mut yield_ok = true;
    let mut last: Option<ItemRef<'static>> = None;
    for (index, text) in split_memo(list).iter().enumerate() {
        match text.as_str() {
            "+include_unknown" => (include_unknown, ignore_unknown) = (true, false),
            "+ignore_unknown" => (ignore_unknown, include_unknown) = (true, false),
            "+include_defer" => (include_defer, ignore_defer) = (true, false),
            "+ignore_defer" => (ignore_defer, include_defer) = (true, false),
            _ => {}
        }
        if matches!(
            text.as_str(),
            "+include_unknown" | "+ignore_unknown" | "+include_defer" | "+ignore_defer"
        ) {
            continue;
        }
        let mut ss = text.as_str();
        yield_ok = true;
        if let Some(rest) = ss.strip_prefix('!') {
            yield_ok = false;
            ss = rest.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
        }
        let here = owned_ref(index, text);
        let verdict_of = |ok: bool| if ok { Verdict::Match } else { Verdict::NoMatch };
        if let Some(path) = ss.strip_prefix('/').map(|_| ss) {
            let content = match env.files.read_file(path) {
                Ok(c) => c,
                Err(e) => {
                    let message = format!("failed to open {path} when checking a host list: {e}");
                    return Outcome {
                        verdict: Verdict::Defer,
                        reason: Reason::Fatal {
                            message: message.into(),
                        },
                        item: Some(here),
                    };
                }
            };
            let mut file_yield = yield_ok;
            for (line_no, line) in item::list_file_lines(&content) {
                file_yield = yield_ok;
                let mut l = line.as_str();
                if let Some(rest) = l.strip_prefix('!') {
                    file_yield = !file_yield;
                    l = rest.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
                }
                let inner = || InnerItem {
                    source: Source::File(Cow::Owned(path.to_owned())),
                    position: line_no,
                    text: Cow::Owned(line.clone()),
                };
                let with_inner = |o: Outcome<'static>| Outcome {
                    item: Some(ItemRef {
                        inner: Some(inner()),
                        ..here.clone()
                    }),
                    ..o
                };
                match ref_check_host(l, host, env) {
                    ItemResult::Ok => {
                        let reason = if file_yield {
                            Reason::Matched
                        } else {
                            Reason::NegatedMatch
                        };
                        return with_inner(Outcome {
                            verdict: verdict_of(file_yield),
                            reason,
                            item: None,
                        });
                    }
                    ItemResult::Fail => {}
                    ItemResult::Defer(_) if ignore_defer => {}
                    ItemResult::Defer(m) => {
                        let verdict = if include_defer {
                            Verdict::Match
                        } else {
                            Verdict::Defer
                        };
                        return with_inner(Outcome {
                            verdict,
                            reason: Reason::Deferred {
                                message: m.into(),
                                include_defer,
                            },
                            item: None,
                        });
                    }
                    ItemResult::Error(_) if ignore_unknown => {}
                    ItemResult::Error(m) => {
                        let reason = Reason::Error {
                            message: m.into(),
                            include_unknown,
                        };
                        return with_inner(Outcome {
                            verdict: verdict_of(include_unknown),
                            reason,
                            item: None,
                        });
                    }
                    ItemResult::Fatal(m) => {
                        return with_inner(Outcome {
                            verdict: Verdict::Defer,
                            reason: Reason::Fatal { message: m.into() },
                            item: None,
                        });
                    }
                }
            }
            yield_ok = file_yield;
            last = Some(here);
            continue;
        }
        if let Some(name) = ss.strip_prefix('+') {
            let Some(source) = named.get(name) else {
                let message = format!("unknown named host list \"+{name}\"");
                return Outcome {
                    verdict: Verdict::Defer,
                    reason: Reason::Deferred {
                        message: message.into(),
                        include_defer: false,
                    },
                    item: Some(here),
                };
            };
            let sub = if depth >= MAX_DEPTH {
                let message = "named host lists nested too deeply".into();
                Outcome {
                    verdict: Verdict::Defer,
                    reason: Reason::Fatal { message },
                    item: None,
                }
            } else {
                ref_list(source, named, host, env, depth + 1)
            };
            let inner = sub.item.clone().map(|i| {
                i.inner.unwrap_or(InnerItem {
                    source: Source::NamedList(Cow::Owned(name.to_owned())),
                    position: i.index,
                    text: i.text,
                })
            });
            match sub.verdict {
                Verdict::Match => {
                    let reason = if yield_ok {
                        Reason::Matched
                    } else {
                        Reason::NegatedMatch
                    };
                    return Outcome {
                        verdict: verdict_of(yield_ok),
                        reason,
                        item: Some(ItemRef { inner, ..here }),
                    };
                }
                Verdict::Defer => {
                    return Outcome {
                        verdict: Verdict::Defer,
                        reason: sub.reason,
                        item: Some(ItemRef { inner, ..here }),
                    };
                }
                _ => {
                    last = Some(here);
                    continue;
                }
            }
        }
        match ref_check_host(ss, host, env) {
            ItemResult::Ok => {
                let reason = if yield_ok {
                    Reason::Matched
                } else {
                    Reason::NegatedMatch
                };
                return Outcome {
                    verdict: verdict_of(yield_ok),
                    reason,
                    item: Some(here),
                };
            }
            ItemResult::Fail => {}
            ItemResult::Defer(_) if ignore_defer => {}
            ItemResult::Defer(m) => {
                let verdict = if include_defer {
                    Verdict::Match
                } else {
                    Verdict::Defer
                };
                return Outcome {
                    verdict,
                    reason: Reason::Deferred {
                        message: m.into(),
                        include_defer,
                    },
                    item: Some(here),
                };
            }
            ItemResult::Error(_) if ignore_unknown => {}
            ItemResult::Error(m) => {
                let reason = Reason::Error {
                    message: m.into(),
                    include_unknown,
                };
                return Outcome {
                    verdict: verdict_of(include_unknown),
                    reason,
                    item: Some(here),
                };
            }
            ItemResult::Fatal(m) => {
                return Outcome {
                    verdict: Verdict::Defer,
                    reason: Reason::Fatal { message: m.into() },
                    item: Some(here),
                };
            }
        }
        last = Some(here);
    }
    let last_negated = !yield_ok;
    Outcome {
        verdict: if last_negated {
            Verdict::Match
        } else {
            Verdict::NoMatch
        },
        reason: Reason::EndOfList { last_negated },
        item: last,
    }
}

/// `check_host` for one item: address items compared bit by bit here, everything else through
/// the shared item evaluation.
fn ref_check_host(ss: &str, host: &Host<'_>, env: &Env<'_>) -> ItemResult {
    if ss == "*" {
        return ItemResult::Ok;
    }
    let Some(subject) = host.ip else {
        return if ss.is_empty() {
            ItemResult::Ok
        } else {
            ItemResult::Fail
        };
    };
    if ss.is_empty() {
        return ItemResult::Fail;
    }
    if let Some(found) = ip::parse_ip_item(ss, true) {
        return if ref_in_net(subject, found.addr, found.mask) {
            ItemResult::Ok
        } else {
            ItemResult::Fail
        };
    }
    match classify_memo(ss) {
        Ok(kind) => item::eval(&kind, host, env),
        Err(e) => ItemResult::Fatal(format!("invalid regular expression {ss:?}: {e}")),
    }
}

/// Lists split and items classified so far on this thread, at most [`MEMO_LIMIT`] of each.
const MEMO_LIMIT: usize = 4096;

thread_local! {
    static SPLIT: RefCell<HashMap<String, std::rc::Rc<Vec<String>>>> = RefCell::new(HashMap::new());
    static CLASSIFIED: RefCell<HashMap<String, Result<item::Kind, String>>> =
        RefCell::new(HashMap::new());
}

/// [`ref_split`], remembered per list text: a pure function of the text.
fn split_memo(list: &str) -> std::rc::Rc<Vec<String>> {
    SPLIT.with(|memo| {
        let mut memo = memo.borrow_mut();
        if let Some(items) = memo.get(list) {
            return items.clone();
        }
        let items = std::rc::Rc::new(ref_split(list));
        if memo.len() >= MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(list.to_owned(), items.clone());
        items
    })
}

/// [`item::classify`], remembered per item text: a pure function of the text, so remembering
/// changes nothing but speed (a fuzzed regular expression is compiled once, not once per host).
fn classify_memo(ss: &str) -> Result<item::Kind, String> {
    CLASSIFIED.with(|memo| {
        let mut memo = memo.borrow_mut();
        if let Some(kind) = memo.get(ss) {
            return kind.clone();
        }
        let kind = item::classify(ss);
        if memo.len() >= MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(ss.to_owned(), kind.clone());
        kind
    })
}

/// `host_is_in_net`, one bit at a time over the address bytes.
fn ref_in_net(host: IpAddr, net: IpAddr, mask: Option<u64>) -> bool {
    let host_bytes: Vec<u8> = match host {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => {
            let o = a.octets();
            if o.get(..10).is_some_and(|z| z.iter().all(|&b| b == 0))
                && o.get(10..12) == Some(&[0xff, 0xff][..])
            {
                o.get(12..).unwrap_or(&[]).to_vec()
            } else {
                o.to_vec()
            }
        }
    };
    let net_bytes: Vec<u8> = match net {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    if host_bytes.len() != net_bytes.len() {
        return false;
    }
    let bits = host_bytes.len() * 8;
    let compare = mask.map_or(bits, |m| usize::try_from(m).unwrap_or(bits).min(bits));
    (0..compare).all(|i| {
        let bit = |bytes: &[u8]| bytes.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0);
        bit(&host_bytes) == bit(&net_bytes)
    })
}

/// The straightforward baseline: the address and CIDR items of a list, pre-parsed, scanned in
/// order. Non-address items are ignored.
#[derive(Debug, Clone)]
pub struct LinearScan {
    items: Vec<(usize, bool, Net)>,
}

impl LinearScan {
    /// Pre-parses the address items of `list`.
    pub fn parse(list: &str) -> LinearScan {
        let items = list::split(list)
            .iter()
            .enumerate()
            .filter_map(|(index, text)| {
                let (negated, rest) = item::strip_negation(text);
                ip::parse_ip_item(rest, true).map(|i| (index, negated, Net::new(i.addr, i.mask)))
            })
            .collect();
        LinearScan { items }
    }

    /// The first matching item: its index and whether it is negated.
    pub fn first_match(&self, host: IpAddr) -> Option<(usize, bool)> {
        let subject = ip::canonical(host);
        self.items
            .iter()
            .find(|(_, _, net)| net.contains(subject))
            .map(|&(i, n, _)| (i, n))
    }
}

/// A fixed environment for property tests and fuzzing: a resolver, files, interfaces, named
/// lists and a primary host name that the generated lists refer to.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Resolves `a.test` (192.0.2.1, 2001:db8::1), `b.test` (192.0.2.2), `mapped.test`
    /// (::ffff:192.0.2.3), `again.test` (defer), `empty.test` (no addresses); others not found.
    pub resolver: StaticResolver,
    /// `/list` (a list file), `/empty`, `/lsearch` and `/iplsearch` (lookup files).
    pub files: MemoryFiles,
    /// 192.0.2.3 and 2001:db8::3.
    pub interfaces: StaticInterfaces,
    /// `good`, `bad`, `deep` (refers to `good`), `unknown` (refers to a missing list), `err`,
    /// `defer`.
    pub named: NamedLists,
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

/// The primary host name used by [`Fixture::env`].
pub const FIXTURE_PRIMARY: &str = "a.test";

impl Fixture {
    /// Builds the fixture.
    pub fn new() -> Fixture {
        let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
        let v6 = |last| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last));
        let mut resolver = StaticResolver::new();
        resolver
            .insert("a.test", Resolution::Found(vec![v4(192, 0, 2, 1), v6(1)]))
            .insert("b.test", Resolution::Found(vec![v4(192, 0, 2, 2)]))
            .insert(
                "mapped.test",
                Resolution::Found(vec![IpAddr::V6(
                    Ipv4Addr::new(192, 0, 2, 3).to_ipv6_mapped(),
                )]),
            )
            .insert(
                "again.test",
                Resolution::TryAgain("simulated timeout".to_owned()),
            )
            .insert("empty.test", Resolution::Found(Vec::new()));
        let mut files = MemoryFiles::new();
        files
            .insert("/list", "# relays\n192.0.2.0/28\n!192.0.2.5 # not this one\n  *.list.test  \n\n!nx.test\n")
            .insert("/empty", "# nothing\n\n")
            .insert("/lsearch", "192.0.2.4: data\n192.0.2.0/24\n\"2001.0db8.0000.0000.0000.0000.0000.0004\"\nmx.lsearch.test x\n# c\n")
            .insert("/iplsearch", "198.51.100.0/24\n\"2001:db8::/126\"\n*\n");
        let interfaces = StaticInterfaces(vec![v4(192, 0, 2, 3), v6(3)]);
        let mut named = NamedLists::new();
        for (name, text) in [
            ("good", "192.0.2.0/25 : !192.0.2.1 : ^mx"),
            ("bad", "!198.51.100.0/24"),
            ("deep", "+good : 203.0.113.9"),
            ("unknown", "+missing"),
            ("err", "1.2.3 : 192.0.2.1"),
            (
                "defer",
                "+ignore_unknown : nx.test : again.test : 192.0.2.1",
            ),
        ] {
            // The names are non-empty, so `define` cannot fail.
            let _ = named.define(name, text);
        }
        Fixture {
            resolver,
            files,
            interfaces,
            named,
        }
    }

    /// An [`Env`] over the fixture, with primary host name [`FIXTURE_PRIMARY`].
    pub fn env(&self) -> Env<'_> {
        Env::new()
            .with_resolver(&self.resolver)
            .with_files(&self.files)
            .with_interfaces(&self.interfaces)
            .with_primary_hostname(FIXTURE_PRIMARY)
    }

    /// Hosts worth checking: addresses in and around the fixture's networks (IPv4, IPv6,
    /// IPv4-mapped) and "no host", each with and without names.
    pub fn hosts() -> Vec<Host<'static>> {
        let addrs = [
            "192.0.2.1",
            "192.0.2.2",
            "192.0.2.3",
            "192.0.2.5",
            "192.0.2.200",
            "198.51.100.7",
            "203.0.113.9",
            "10.1.2.3",
            "2001:db8::1",
            "2001:db8::3",
            "2001:db8::4",
            "2001:db8:1::1",
            "::ffff:192.0.2.1",
            "::ffff:192.0.2.3",
            "::1",
        ];
        let names = [
            None,
            Some("mx1.example.org"),
            Some("MX.LSEARCH.TEST"),
            Some("host.list.test"),
            Some("a.test"),
        ];
        let mut hosts = Vec::new();
        for a in addrs {
            let Ok(ip) = a.parse::<IpAddr>() else {
                continue;
            };
            for name in names {
                let h = Host::new(ip);
                hosts.push(match name {
                    Some(n) => h.with_name(n),
                    None => h,
                });
            }
        }
        hosts.push(Host::local());
        hosts.push(Host::local().with_name("mx1.example.org"));
        hosts
    }
}

/// How many fixture hosts one fuzz input is checked against.
pub const HOSTS_PER_INPUT: usize = 11;

/// Fuzz entry point: compiles `data` (as a list, lossily decoded) against the fixture's named
/// lists and, if it compiles, checks fixture hosts with both the compiled matcher and
/// [`reference_check`], panicking if they disagree. Never panics otherwise.
///
/// Each input is checked against [`HOSTS_PER_INPUT`] of the fixture's hosts, picked by a hash
/// of the input with a stride that mixes addresses and names, so that a campaign spends its
/// time on lists rather than on re-checking one list against every host; the property tests
/// check every host.
pub fn hostlist(data: &[u8]) {
    static FIXTURE: OnceLock<(Fixture, Vec<Host<'static>>)> = OnceLock::new();
    let (fixture, hosts) = FIXTURE.get_or_init(|| (Fixture::new(), Fixture::hosts()));
    let text = String::from_utf8_lossy(data);
    let Ok(list) = HostList::parse_with(&text, &fixture.named) else {
        return;
    };
    let env = fixture.env();
    // FNV-1a: stable across runs and platforms, so a crash reproduces.
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let start = usize::try_from(hash % 1024).unwrap_or(0);
    let picked = (0..HOSTS_PER_INPUT.min(hosts.len()))
        .filter_map(|j| hosts.get((start + j * 7) % hosts.len().max(1)));
    for host in picked {
        let compiled = list.check(host, &env);
        let _ = compiled.to_string();
        let reference = reference_check(&text, &fixture.named, host, &env);
        assert_eq!(
            compiled.into_owned(),
            reference,
            "list {text:?}, host {host:?}"
        );
    }
}
