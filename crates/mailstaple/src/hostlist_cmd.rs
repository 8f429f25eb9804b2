//! `mailstaple hostlist ...`: check a host against an Exim host list from the command line.
//!
//! The list is taken literally (no Exim string expansion). Host-name items are resolved with the
//! system resolver, `@[]` uses this machine's interface addresses (read from Linux's `/proc`), and
//! `/path` items and lookups read the named files.
//!
//! Exit codes: 0 the host is in the list, 1 it is not (including a list stopped by an ERROR, as in
//! Exim), 3 defer, 2 usage error.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};

use mailstaple_hostlist::{
    Env, FsReader, Host, HostList, InnerItem, InterfaceAddrs, ItemRef, NamedLists, Outcome, Reason,
    Resolution, Resolver, Source, Verdict,
};
use serde_json::{Value, json};

/// `mailstaple hostlist` subcommands.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum HostlistCmd {
    /// Check whether a host is in an Exim host list; stdout names the deciding item and why.
    ///
    /// Exit status: 0 match, 1 no match (also when an ERROR stops the list, as in Exim), 3 defer,
    /// 2 usage error.
    Check(CheckArgs),
}

/// Arguments of `mailstaple hostlist check`.
#[derive(clap::Args, Debug)]
pub(crate) struct CheckArgs {
    /// The host list, exactly as in an Exim configuration but without expansion
    /// (for example "192.0.2.0/24 : !198.51.100.7 : *.example.org" or "<; 2001:db8::/32 ; ::1").
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    list: String,
    /// The host's IP address.
    #[arg(long, value_name = "IP")]
    ip: IpAddr,
    /// The host's name, as routed (used by *suffix, ^regex, literal and name-keyed lookup items;
    /// no reverse lookup is made).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// A named host list that +NAME items refer to; may be repeated.
    #[arg(long = "hostlist", value_name = "NAME=LIST", value_parser = parse_named, allow_hyphen_values = true)]
    hostlists: Vec<(String, String)>,
    /// Exim's primary_hostname, which the @ item resolves [default: the kernel's host name].
    #[arg(long, value_name = "NAME")]
    primary_hostname: Option<String>,
    /// Print the outcome as a JSON object instead of a sentence.
    #[arg(long)]
    json: bool,
}

fn parse_named(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, list)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), list.to_owned()))
        }
        _ => Err(format!("expected NAME=LIST, got {s:?}")),
    }
}

/// Runs the command; returns the process exit code (0 match, 1 no match, 3 defer, 2 usage error).
pub(crate) fn run(cmd: HostlistCmd) -> i32 {
    match cmd {
        HostlistCmd::Check(args) => check(&args),
    }
}

fn check(args: &CheckArgs) -> i32 {
    let mut named = NamedLists::new();
    for (name, list) in &args.hostlists {
        if let Err(e) = named.define(name, list) {
            eprintln!("mailstaple: --hostlist {name}: {e}");
            return 2;
        }
    }
    let list = match HostList::parse_with(&args.list, &named) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mailstaple: {e}");
            return 2;
        }
    };
    let primary = args.primary_hostname.clone().or_else(kernel_hostname);
    let resolver = SystemResolver;
    let interfaces = ProcInterfaces;
    let mut env = Env::new()
        .with_resolver(&resolver)
        .with_interfaces(&interfaces)
        .with_files(&FsReader);
    if let Some(p) = primary.as_deref() {
        env = env.with_primary_hostname(p);
    }
    let mut host = Host::new(args.ip);
    if let Some(n) = args.name.as_deref() {
        host = host.with_name(n);
    }
    let outcome = list.check(&host, &env);
    if args.json {
        println!("{}", to_json(&outcome));
    } else {
        println!("{outcome}");
    }
    match outcome.verdict {
        Verdict::Match => 0,
        Verdict::NoMatch => 1,
        _ => 3,
    }
}

/// The kernel's host name (Linux), standing in for Exim's default `primary_hostname`, which is
/// the `uname` node name.
pub(crate) fn kernel_hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The system resolver through `getaddrinfo` (std's `ToSocketAddrs`).
///
/// std reports failures only as text, so the answer is classified by it: glibc's
/// "Name or service not known" and "No address associated with hostname" mean the name has no
/// address (Exim ERROR); every other failure, including "Temporary failure in name resolution",
/// is treated as temporary (DEFER), so an unexpected failure never reads as "not found".
pub(crate) struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, name: &str) -> Resolution {
        match (name, 0u16).to_socket_addrs() {
            Ok(addrs) => {
                let mut ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
                ips.dedup();
                if ips.is_empty() {
                    Resolution::NotFound
                } else {
                    Resolution::Found(ips)
                }
            }
            Err(e) => classify_resolver_error(&e),
        }
    }
}

fn classify_resolver_error(e: &io::Error) -> Resolution {
    let text = e.to_string();
    if text.contains("Name or service not known")
        || text.contains("No address associated with hostname")
    {
        Resolution::NotFound
    } else {
        Resolution::TryAgain(text)
    }
}

/// Interface addresses from Linux's `/proc`: IPv6 from `/proc/net/if_inet6`, IPv4 from the
/// `/32 host LOCAL` entries of `/proc/net/fib_trie` (the kernel's local routing table, which holds
/// exactly the addresses configured on interfaces). This needs no libc call and no socket.
/// Neither file readable: an error, so `@[]` defers.
pub(crate) struct ProcInterfaces;

impl InterfaceAddrs for ProcInterfaces {
    fn interface_addrs(&self) -> Result<Vec<IpAddr>, String> {
        let v6 = std::fs::read_to_string("/proc/net/if_inet6");
        let v4 = std::fs::read_to_string("/proc/net/fib_trie");
        if let (Err(e6), Err(e4)) = (&v6, &v4) {
            return Err(format!(
                "cannot read /proc/net/if_inet6 ({e6}) or /proc/net/fib_trie ({e4})"
            ));
        }
        let mut addrs = parse_fib_trie(v4.as_deref().unwrap_or(""));
        addrs.extend(parse_if_inet6(v6.as_deref().unwrap_or("")));
        Ok(addrs)
    }
}

/// Addresses from `/proc/net/if_inet6`: the first field of each line is 32 hex digits.
fn parse_if_inet6(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|hex| hex.len() == 32)
        .filter_map(|hex| u128::from_str_radix(hex, 16).ok())
        .map(|v| IpAddr::V6(Ipv6Addr::from(v)))
        .collect()
}

/// Local IPv4 addresses from `/proc/net/fib_trie`: a `|-- a.b.c.d` line followed by a
/// `/32 host LOCAL` line.
fn parse_fib_trie(text: &str) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    let mut current: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("|-- ") {
            current = addr.trim().parse().ok();
        } else if line.starts_with("/32 host LOCAL")
            && let Some(a) = current
            && !out.contains(&IpAddr::V4(a))
        {
            out.push(IpAddr::V4(a));
        }
    }
    out
}

fn to_json(o: &Outcome<'_>) -> Value {
    let verdict = match o.verdict {
        Verdict::Match => "match",
        Verdict::NoMatch => "no match",
        _ => "defer",
    };
    let reason = match &o.reason {
        Reason::Matched => json!({"kind": "matched"}),
        Reason::NegatedMatch => json!({"kind": "negated match"}),
        Reason::EndOfList { last_negated } => {
            json!({"kind": "end of list", "last_negated": last_negated})
        }
        Reason::Error {
            message,
            include_unknown,
        } => {
            json!({"kind": "error", "message": message, "include_unknown": include_unknown})
        }
        Reason::Deferred {
            message,
            include_defer,
        } => {
            json!({"kind": "deferred", "message": message, "include_defer": include_defer})
        }
        Reason::Fatal { message } => json!({"kind": "fatal", "message": message}),
        _ => json!({"kind": "other"}),
    };
    json!({
        "verdict": verdict,
        "item": o.item.as_ref().map(item_json),
        "reason": reason,
        "summary": o.to_string(),
    })
}

fn item_json(i: &ItemRef<'_>) -> Value {
    json!({"index": i.index, "text": i.text, "inner": i.inner.as_ref().map(inner_json)})
}

fn inner_json(i: &InnerItem<'_>) -> Value {
    let (kind, source) = match &i.source {
        Source::NamedList(n) => ("named list", n.as_ref()),
        Source::File(p) => ("file", p.as_ref()),
        _ => ("other", ""),
    };
    json!({"source": kind, "name": source, "position": i.position, "text": i.text})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_parse() {
        let v6 = "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n\
                  00000000000000000000000000000001 01 80 10 80       lo\n";
        assert_eq!(
            parse_if_inet6(v6),
            vec![
                "fe80::fc:ff:fe00:1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        let fib = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n\
                   |-- 127.0.0.0\n   /8 host LOCAL\n   |-- 127.0.0.1\n      /32 host LOCAL\n\
                   |-- 192.0.2.2\n   /32 host LOCAL\n   |-- 192.0.2.255\n   /32 link BROADCAST\n\
                   Local:\n   |-- 127.0.0.1\n      /32 host LOCAL\n";
        assert_eq!(
            parse_fib_trie(fib),
            vec![
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "192.0.2.2".parse().unwrap()
            ]
        );
    }

    #[test]
    fn resolver_errors_fail_closed() {
        let err = |m: &str| io::Error::other(format!("failed to lookup address information: {m}"));
        assert_eq!(
            classify_resolver_error(&err("Name or service not known")),
            Resolution::NotFound
        );
        assert_eq!(
            classify_resolver_error(&err("No address associated with hostname")),
            Resolution::NotFound
        );
        assert!(matches!(
            classify_resolver_error(&err("Temporary failure in name resolution")),
            Resolution::TryAgain(_)
        ));
        assert!(matches!(
            classify_resolver_error(&err("something new")),
            Resolution::TryAgain(_)
        ));
    }

    #[test]
    fn named_list_arguments() {
        assert_eq!(
            parse_named("relays=10.0.0.0/8 : a=b"),
            Ok(("relays".to_owned(), "10.0.0.0/8 : a=b".to_owned()))
        );
        assert!(parse_named("=1.2.3.4").is_err());
        assert!(parse_named("relays").is_err());
    }
}
