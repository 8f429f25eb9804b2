//! Table-driven cases. Most come from Exim's specification (chapter "Domain, host, address, and
//! local part lists") and test suite (`test/scripts/0000-Basic`, tests 0002 and 0059 to 0069),
//! with V4NET replaced by 10.
//!
//! Every case goes through [`check`], which compares a compact summary of the outcome:
//! `"<verdict> <index> <reason>"`, where verdict is `match`, `nomatch` or `defer`, index is the
//! deciding top-level item (`-` for none), and reason is `matched`, `negated`, `end`, `error`,
//! `error+include`, `deferred`, `deferred+include` or `fatal`.

use std::net::IpAddr;

use mailstaple_hostlist::{
    Env, Error, Host, HostList, MemoryFiles, NamedLists, Outcome, Reason, Resolution,
    StaticInterfaces, StaticResolver, Verdict,
};

struct World {
    resolver: StaticResolver,
    files: MemoryFiles,
    interfaces: StaticInterfaces,
    named: NamedLists,
}

fn world() -> World {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let mut resolver = StaticResolver::new();
    resolver
        .insert("ten-1.test.ex", Resolution::Found(vec![ip("10.0.0.1")]))
        .insert("ten-3.test.ex", Resolution::Found(vec![ip("10.0.0.3")]))
        .insert(
            "ten-5-6.test.ex",
            Resolution::Found(vec![ip("10.0.0.5"), ip("10.0.0.6")]),
        )
        .insert("black-1.test.ex", Resolution::Found(vec![ip("10.0.0.9")]))
        .insert("v6.test.ex", Resolution::Found(vec![ip("2001:db8::77")]))
        .insert(
            "mapped.test.ex",
            Resolution::Found(vec![ip("::ffff:10.0.0.44")]),
        )
        .insert("empty.test.ex", Resolution::Found(vec![]))
        .insert("test.again.dns", Resolution::TryAgain("timeout".to_owned()));
    let mut files = MemoryFiles::new();
    files
        .insert("/d1", "10.255.0.3\n")
        .insert("/d2", "# just one\n10.255.0.4   # trailing comment\n")
        .insert("/black", "black-1.test.ex\n!ten-3.test.ex\n")
        .insert("/nets", "10.0.0.0/24\n*-1.test.ex\n")
        .insert("/empty", "\n# nothing here\n   \n")
        .insert("/again", "test.again.dns\n10.0.0.13\n")
        .insert("/unknown", "not-exist.test.ex\n10.0.0.13\n")
        .insert("/badre", "^(\n")
        .insert(
            "/nets-lsearch",
            "131.111.0.0/16\n192.152.98.0/24: data\n192.153.98.4\n5.6.7.0/24\n",
        )
        .insert("/v6-lsearch", "2001.0db8.0000.0000.0000.0000.0000.0001\n")
        .insert("/ip-iplsearch", "\"abcd::dcba\"\n10.1.0.0/16\n")
        .insert(
            "/names",
            "# names\nMX1.Example.ORG: x\n\"quoted.example\"\n",
        );
    let interfaces = StaticInterfaces(vec![ip("127.0.0.1"), ip("10.0.0.200"), ip("::1")]);
    let mut named = NamedLists::new();
    named
        .define("relays", "!10.1.2.0/24 : 10.1.0.0/16 : *.relay.example")
        .unwrap();
    named.define("bad", "!198.51.100.0/24").unwrap();
    named.define("nested", "+relays : 203.0.113.9").unwrap();
    named.define("err", "1.2.3 : 192.0.2.1").unwrap();
    named.define("again", "test.again.dns").unwrap();
    named
        .define("tolerant", "+ignore_defer : test.again.dns : 192.0.2.2")
        .unwrap();
    named.define("dangling", "+missing").unwrap();
    World {
        resolver,
        files,
        interfaces,
        named,
    }
}

impl World {
    fn env(&self) -> Env<'_> {
        Env::new()
            .with_resolver(&self.resolver)
            .with_files(&self.files)
            .with_interfaces(&self.interfaces)
            .with_primary_hostname("ten-1.test.ex")
    }
}

fn summary(o: &Outcome<'_>) -> String {
    let verdict = match o.verdict {
        Verdict::Match => "match",
        Verdict::NoMatch => "nomatch",
        Verdict::Defer => "defer",
        _ => "other",
    };
    let index = o
        .item
        .as_ref()
        .map_or("-".to_owned(), |i| i.index.to_string());
    let reason = match &o.reason {
        Reason::Matched => "matched",
        Reason::NegatedMatch => "negated",
        Reason::EndOfList { .. } => "end",
        Reason::Error {
            include_unknown: false,
            ..
        } => "error",
        Reason::Error {
            include_unknown: true,
            ..
        } => "error+include",
        Reason::Deferred {
            include_defer: false,
            ..
        } => "deferred",
        Reason::Deferred {
            include_defer: true,
            ..
        } => "deferred+include",
        Reason::Fatal { .. } => "fatal",
        _ => "other",
    };
    format!("{verdict} {index} {reason}")
}

/// Checks one case. `ip` empty means "no host" ([`Host::local`]).
fn check(list: &str, ip: &str, name: Option<&str>, want: &str) {
    let w = world();
    let compiled =
        HostList::parse_with(list, &w.named).unwrap_or_else(|e| panic!("list {list:?}: {e}"));
    let mut host = if ip.is_empty() {
        Host::local()
    } else {
        Host::new(ip.parse().unwrap())
    };
    if let Some(n) = name {
        host = host.with_name(n);
    }
    let outcome = compiled.check(&host, &w.env());
    assert_eq!(
        summary(&outcome),
        want,
        "list {list:?}, host {ip} {name:?}: {outcome}"
    );
    // The reference interpreter must agree on every case too.
    let reference = mailstaple_hostlist::fuzzing::reference_check(list, &w.named, &host, &w.env());
    assert_eq!(
        outcome.into_owned(),
        reference,
        "reference disagrees on {list:?} / {ip} {name:?}"
    );
}

#[test]
fn exim_test_suite_cases() {
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        // 0059
        ("!*", "10.0.0.1", None, "nomatch 0 negated"),
        // 0060
        (
            "! 10.255.0.1 : !10.255.0.2 : !/d1 : ! /d2 : ten-1.test.ex : ten-5-6.test.ex",
            "10.0.0.1",
            None,
            "match 4 matched",
        ),
        (
            "! 10.255.0.1 : !10.255.0.2 : !/d1 : ! /d2 : ten-1.test.ex : ten-5-6.test.ex",
            "10.0.0.2",
            None,
            "nomatch 5 end",
        ),
        (
            "! 10.255.0.1 : !10.255.0.2 : !/d1 : ! /d2 : ten-1.test.ex : ten-5-6.test.ex",
            "10.0.0.5",
            None,
            "match 5 matched",
        ),
        (
            "! 10.255.0.1 : !10.255.0.2 : !/d1 : ! /d2 : ten-1.test.ex : ten-5-6.test.ex",
            "10.0.0.6",
            None,
            "match 5 matched",
        ),
        (
            "! 10.255.0.1 : !10.255.0.2 : !/d1 : ! /d2 : ten-1.test.ex : ten-5-6.test.ex",
            "10.255.0.1",
            None,
            "nomatch 0 negated",
        ),
        (
            "! 10.255.0.1 : !10.255.0.2 : !/d1 : ! /d2 : ten-1.test.ex : ten-5-6.test.ex",
            "10.255.0.2",
            None,
            "nomatch 1 negated",
        ),
        (
            "! 10.255.0.1 : !10.255.0.2 : !/d1 : ! /d2 : ten-1.test.ex : ten-5-6.test.ex",
            "10.255.0.3",
            None,
            "nomatch 2 negated",
        ),
        (
            "! 10.255.0.1 : !10.255.0.2 : !/d1 : ! /d2 : ten-1.test.ex : ten-5-6.test.ex",
            "10.255.0.4",
            None,
            "nomatch 3 negated",
        ),
        // 0061: @ is the primary host name's addresses.
        ("@", "10.0.0.1", None, "match 0 matched"),
        ("@", "10.0.0.2", None, "nomatch 0 end"),
        // 0062, 0063: patterns on the host name.
        (
            "*-2.test.ex : *-3-alias.test.ex",
            "10.0.0.1",
            Some("ten-1.test.ex"),
            "nomatch 1 end",
        ),
        (
            "*-2.test.ex : *-3-alias.test.ex",
            "10.0.0.2",
            Some("ten-2.test.ex"),
            "match 0 matched",
        ),
        (
            "*-2.test.ex : *-3-alias.test.ex",
            "10.0.0.3",
            Some("ten-3-alias.test.ex"),
            "match 1 matched",
        ),
        (
            r"^[^\d]+2",
            "10.0.0.1",
            Some("ten-1.test.ex"),
            "nomatch 0 end",
        ),
        (
            r"^[^\d]+2",
            "10.0.0.2",
            Some("ten-2.test.ex"),
            "match 0 matched",
        ),
        // 0065: addresses, CIDR and net lookups.
        (NET_LIST, "1.2.3.4", None, "match 0 matched"),
        (NET_LIST, "1.2.3.5", None, "nomatch 1 negated"),
        (NET_LIST, "1.2.4.5", None, "match 2 matched"),
        (NET_LIST, "1.3.2.4", None, "nomatch 5 end"),
        (NET_LIST, "131.111.8.2", None, "match 3 matched"),
        (NET_LIST, "192.152.98.3", None, "match 4 matched"),
        (NET_LIST, "192.153.98.4", None, "match 5 matched"),
        // 0066: a negated file with a negated line is a double negation.
        ("!/black : /nets", "10.0.0.9", None, "nomatch 0 negated"),
        ("!/black : /nets", "10.0.0.3", None, "match 0 matched"),
        ("!/black : /nets", "10.0.0.77", None, "match 1 matched"),
        (
            "!/black : /nets",
            "10.9.0.1",
            Some("mx-1.test.ex"),
            "match 1 matched",
        ),
        (
            "!/black : /nets",
            "10.9.0.1",
            Some("mx-2.test.ex"),
            "nomatch 1 end",
        ),
        // 0069: ERROR and DEFER and the modifiers.
        (
            r"+include_unknown : ^ten-1\.test\.ex",
            "10.0.0.99",
            None,
            "match 1 error+include",
        ),
        (
            "not-exist.test.ex : 10.0.0.13",
            "10.0.0.13",
            None,
            "nomatch 0 error",
        ),
        (
            "+ignore_unknown : not-exist.test.ex : 10.0.0.13",
            "10.0.0.13",
            None,
            "match 2 matched",
        ),
        (
            "test.again.dns : 10.0.0.13",
            "10.0.0.13",
            None,
            "defer 0 deferred",
        ),
        (
            "+ignore_defer : test.again.dns : 10.0.0.13",
            "10.0.0.13",
            None,
            "match 2 matched",
        ),
        (
            "+include_defer : test.again.dns",
            "10.0.0.13",
            None,
            "match 1 deferred+include",
        ),
        // 0002 (match_ip cases that mean the same in host lists).
        ("4.5.6.7 : 1.2.3.6/24", "1.2.3.4", None, "match 1 matched"),
        ("1.2.3", "1.2.3.4", None, "nomatch 0 error"),
        ("1.2.3.4/abc", "1.2.3.4", None, "nomatch 0 error"),
        (
            "net24-lsearch;/nets-lsearch",
            "5.6.7.8",
            None,
            "match 0 matched",
        ),
        (
            "net-iplsearch;/ip-iplsearch",
            "abcd::dcba",
            None,
            "match 0 matched",
        ),
    ];
    for (list, ip, name, want) in cases {
        check(list, ip, *name, want);
    }
}

const NET_LIST: &str = "1.2.3.4 : !1.2.3.0/24 : 1.2.0.0/16 : net16-lsearch;/nets-lsearch : net24-lsearch;/nets-lsearch : net-lsearch;/nets-lsearch";

#[test]
fn separators_empty_items_and_empty_lists() {
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        ("", "10.0.0.1", None, "nomatch - end"),
        ("   ", "10.0.0.1", None, "nomatch - end"),
        ("", "", None, "nomatch - end"),
        // `:` is one empty item: it matches only "no host".
        (":", "10.0.0.1", None, "nomatch 0 end"),
        (":", "", None, "match 0 matched"),
        ("10.0.0.1 : : *", "", None, "match 1 matched"),
        ("*", "", None, "match 0 matched"),
        ("1.2.3 : 10.0.0.0/8", "", None, "nomatch 1 end"),
        (
            "<; ::1 ; 2001:db8::/32",
            "2001:db8::5",
            None,
            "match 1 matched",
        ),
        ("<; ::1 ; 2001:db8::/32", "::1", None, "match 0 matched"),
        (
            "3ffe::ffff::836f::::/48",
            "3ffe:ffff:836f:1::9",
            None,
            "match 0 matched",
        ),
        ("::1", "::1", Some("x.example"), "nomatch 0 end"),
        (
            "<, 10.0.0.1 , 10.0.0.2",
            "10.0.0.2",
            None,
            "match 1 matched",
        ),
        ("<", "10.0.0.2", None, "nomatch - end"),
    ];
    for (list, ip, name, want) in cases {
        check(list, ip, *name, want);
    }
}

#[test]
fn addresses_and_negation() {
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        ("1.2.3.6/24", "1.2.3.4", None, "match 0 matched"),
        ("1.2.3.4", "::ffff:1.2.3.4", None, "match 0 matched"),
        ("<; ::ffff:1.2.3.4", "::ffff:1.2.3.4", None, "nomatch 0 end"),
        ("<; ::ffff:0:0/96", "1.2.3.4", None, "nomatch 0 end"),
        ("<; 2001:db8::/32", "1.2.3.4", None, "nomatch 0 end"),
        ("1.2.3.0/24", "2001:db8::1", None, "nomatch 0 end"),
        ("1.2.3.4/", "200.1.1.1", None, "match 0 matched"),
        ("1.2.3.4/40", "1.2.3.5", None, "nomatch 0 end"),
        ("<; ::1/200", "::1", None, "match 0 matched"),
        ("<; ::1%eth0", "::1", None, "match 0 matched"),
        ("!1.2.3.4", "5.6.7.8", None, "match 0 end"),
        ("!1.2.3.4", "1.2.3.4", None, "nomatch 0 negated"),
        (
            "! 1.2.3.4 : +include_unknown",
            "5.6.7.8",
            None,
            "match 0 end",
        ),
        ("1.2.3.4 : !5.6.7.8", "9.9.9.9", None, "match 1 end"),
        ("!5.6.7.8 : 1.2.3.4", "9.9.9.9", None, "nomatch 1 end"),
        (
            "!10.0.0.0/8 : 10.1.1.1",
            "10.1.1.1",
            None,
            "nomatch 0 negated",
        ),
        (
            "10.1.1.1 : !10.0.0.0/8",
            "10.1.1.1",
            None,
            "match 0 matched",
        ),
        ("!", "10.0.0.1", None, "match 0 end"),
        ("!!1.2.3.4", "1.2.3.4", Some("x"), "match 0 end"),
        ("999.1.1.1", "9.9.9.9", None, "nomatch 0 error"),
        ("1.2.3/24 : 9.9.9.9", "9.9.9.9", None, "nomatch 0 error"),
        (
            "+ignore_unknown : 1.2.3/24 : 9.9.9.9",
            "9.9.9.9",
            None,
            "match 2 matched",
        ),
        (
            "+include_unknown : 01.2.3.4",
            "9.9.9.9",
            None,
            "match 1 error+include",
        ),
        (
            "<; aaaa:bbbb ; 1.2.3.4",
            "1.2.3.4",
            Some("mx.example"),
            "match 1 matched",
        ),
        ("<; aaaa:bbbb ; 1.2.3.4", "1.2.3.4", None, "nomatch 0 error"),
        (
            "1.2.3.4%x : 1.2.3.4",
            "1.2.3.4",
            Some("mx.example"),
            "match 1 matched",
        ),
    ];
    for (list, ip, name, want) in cases {
        check(list, ip, *name, want);
    }
}

#[test]
fn names_patterns_and_special_items() {
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        (
            "*.example.org",
            "192.0.2.1",
            Some("MX.Example.ORG"),
            "match 0 matched",
        ),
        (
            "*example.org",
            "192.0.2.1",
            Some("badexample.org"),
            "match 0 matched",
        ),
        ("*.example.org", "192.0.2.1", None, "nomatch 0 error"),
        ("*.example.org", "192.0.2.1", Some(""), "nomatch 0 error"),
        (
            r"^mx\d+\.",
            "192.0.2.1",
            Some("MX12.example.org"),
            "match 0 matched",
        ),
        ("^(?-i)MX", "192.0.2.1", Some("MX1"), "nomatch 0 end"),
        (
            "[192.0.2.1]",
            "192.0.2.1",
            Some("[192.0.2.1]"),
            "match 0 matched",
        ),
        ("ten-1.test.ex", "10.0.0.1", None, "match 0 matched"),
        ("ten-1.test.ex", "::ffff:10.0.0.1", None, "nomatch 0 end"),
        ("v6.test.ex", "2001:db8::77", None, "match 0 matched"),
        ("mapped.test.ex", "10.0.0.44", None, "match 0 matched"),
        ("mapped.test.ex", "::ffff:10.0.0.44", None, "nomatch 0 end"),
        ("empty.test.ex", "10.0.0.1", None, "nomatch 0 error"),
        ("@[]", "10.0.0.200", None, "match 0 matched"),
        ("@[]", "::1", None, "match 0 matched"),
        ("@[]", "::ffff:10.0.0.200", None, "nomatch 0 end"),
        ("@[]", "10.0.0.201", None, "nomatch 0 end"),
        (
            "@mx_any : 10.0.0.1",
            "10.0.0.1",
            Some("a.example"),
            "nomatch 0 error",
        ),
        (
            "@MX_Primary/ignore=127.0.0.1 : 10.0.0.1",
            "10.0.0.1",
            Some("a.example"),
            "nomatch 0 error",
        ),
        (
            "@mx_anyx : 10.0.0.1",
            "10.0.0.1",
            Some("a.example"),
            "match 1 matched",
        ),
        (
            "+include_unknown : @mx_secondary",
            "10.0.0.1",
            Some("a.example"),
            "match 1 error+include",
        ),
    ];
    for (list, ip, name, want) in cases {
        check(list, ip, *name, want);
    }
}

#[test]
fn named_lists() {
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        ("+relays", "10.1.9.9", None, "match 0 matched"),
        (
            "+relays",
            "10.1.2.9",
            Some("x.relay.example"),
            "nomatch 0 end",
        ),
        (
            "+relays",
            "10.2.0.1",
            Some("x.relay.example"),
            "match 0 matched",
        ),
        ("!+relays : *", "10.1.9.9", None, "nomatch 0 negated"),
        ("! +relays : *", "10.9.9.9", Some("x"), "match 1 matched"),
        // Negation inside a named list does not leak out: `bad` is "!198.51.100.0/24".
        ("+bad", "198.51.100.7", None, "nomatch 0 end"),
        ("+bad", "203.0.113.1", None, "match 0 matched"),
        ("+nested", "10.1.0.1", None, "match 0 matched"),
        ("+nested", "203.0.113.9", Some("q"), "match 0 matched"),
        // An ERROR inside a named list only ends that list; the outer list goes on.
        ("+err : 10.0.0.13", "10.0.0.13", None, "match 1 matched"),
        // A DEFER inside a named list defers the whole check; outer modifiers do not apply.
        (
            "+ignore_defer : +again : 10.0.0.13",
            "10.0.0.13",
            None,
            "defer 1 deferred",
        ),
        ("+tolerant", "192.0.2.2", None, "match 0 matched"),
        ("+nosuch : *", "10.0.0.1", None, "defer 0 deferred"),
        (
            "+include_defer : +nosuch",
            "10.0.0.1",
            None,
            "defer 1 deferred",
        ),
        ("+dangling", "10.0.0.1", None, "defer 0 deferred"),
    ];
    for (list, ip, name, want) in cases {
        check(list, ip, *name, want);
    }
}

#[test]
fn files_and_lookups() {
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        ("/d2", "10.255.0.4", None, "match 0 matched"),
        ("!/empty", "10.0.0.1", None, "match 0 end"),
        ("/empty", "10.0.0.1", None, "nomatch 0 end"),
        ("/missing : *", "10.0.0.1", None, "defer 0 fatal"),
        (
            "+ignore_defer : /missing : *",
            "10.0.0.1",
            None,
            "defer 1 fatal",
        ),
        ("/again", "10.0.0.13", None, "defer 0 deferred"),
        (
            "+ignore_defer : /again",
            "10.0.0.13",
            None,
            "match 1 matched",
        ),
        ("/unknown", "10.0.0.13", None, "nomatch 0 error"),
        (
            "+ignore_unknown : /unknown",
            "10.0.0.13",
            None,
            "match 1 matched",
        ),
        ("/badre", "10.0.0.1", Some("x"), "defer 0 fatal"),
        (
            "lsearch;/names",
            "10.0.0.1",
            Some("mx1.example.org"),
            "match 0 matched",
        ),
        (
            "lsearch; /names",
            "10.0.0.1",
            Some("QUOTED.example"),
            "match 0 matched",
        ),
        ("lsearch;/names", "10.0.0.1", Some("names"), "nomatch 0 end"),
        ("lsearch;/names", "10.0.0.1", None, "nomatch 0 error"),
        ("lsearch;/missing", "10.0.0.1", Some("x"), "defer 0 fatal"),
        (
            "net-lsearch;/v6-lsearch",
            "2001:db8::1",
            None,
            "match 0 matched",
        ),
        (
            "net-lsearch; /nets-lsearch",
            "192.153.98.4",
            None,
            "defer 0 fatal",
        ),
        (
            "net-iplsearch;/ip-iplsearch",
            "10.1.200.200",
            None,
            "match 0 matched",
        ),
        (
            "net-iplsearch;/ip-iplsearch",
            "::ffff:10.1.200.200",
            None,
            "match 0 matched",
        ),
        (
            "net24-iplsearch;/ip-iplsearch",
            "10.1.200.200",
            None,
            "defer 0 deferred",
        ),
        (
            "iplsearch;/ip-iplsearch",
            "10.1.0.1",
            Some("mx.example"),
            "defer 0 deferred",
        ),
        (
            "iplsearch;/ip-iplsearch",
            "10.1.0.1",
            Some("10.1.2.3"),
            "match 0 matched",
        ),
        ("cdb;/x : *", "10.0.0.1", Some("x"), "nomatch 0 error"),
        ("net-cdb;/x : *", "10.0.0.1", None, "nomatch 0 error"),
        (
            "+ignore_unknown : partial-lsearch;/names : *",
            "10.0.0.1",
            Some("x"),
            "match 2 matched",
        ),
    ];
    for (list, ip, name, want) in cases {
        check(list, ip, *name, want);
    }
}

#[test]
fn primary_host_name_unset_is_an_error() {
    let list = HostList::parse("@ : 10.0.0.1").unwrap();
    let outcome = list.check(&Host::new("10.0.0.1".parse().unwrap()), &Env::new());
    assert_eq!(summary(&outcome), "nomatch 0 error");
}

#[test]
fn defaults_fail_closed_for_dns_and_interfaces() {
    let host = Host::new("10.0.0.1".parse().unwrap());
    for list in ["mx.example.org", "@[]"] {
        let compiled = HostList::parse(list).unwrap();
        let outcome = compiled.check(&host, &Env::new());
        assert_eq!(summary(&outcome), "defer 0 deferred", "{list}");
        assert!(!outcome.is_match());
        assert!(outcome.is_match_or_defer());
    }
}

#[test]
fn outcomes_name_the_deciding_item_and_why() {
    let w = world();
    let text = |list: &str, ip: &str, name: Option<&str>| {
        let l = HostList::parse_with(list, &w.named).unwrap();
        let mut h = Host::new(ip.parse().unwrap());
        if let Some(n) = name {
            h = h.with_name(n);
        }
        l.check(&h, &w.env()).to_string()
    };
    assert_eq!(
        text("10.0.0.0/8 : !10.1.2.3", "10.1.2.3", None),
        r#"match: item 0 "10.0.0.0/8" matched"#
    );
    assert_eq!(
        text("!10.1.2.3 : 10.0.0.0/8", "10.1.2.3", None),
        r#"no match: item 0 "!10.1.2.3" matched (negated)"#
    );
    assert_eq!(
        text("1.2.3.4 : !5.6.7.8", "9.9.9.9", None),
        r#"match: end of list; last item was negated: item 1 "!5.6.7.8""#
    );
    assert_eq!(
        text("not-exist.test.ex : 10.0.0.13", "10.0.0.13", None),
        r#"no match: item 0 "not-exist.test.ex": failed to find IP address for not-exist.test.ex"#
    );
    assert_eq!(
        text("+include_defer : test.again.dns", "10.0.0.13", None),
        r#"match: item 1 "test.again.dns": DNS lookup of "test.again.dns" deferred: timeout: accepted by +include_defer"#
    );
    assert_eq!(
        text("+relays", "10.1.9.9", None),
        r#"match: item 0 "+relays" (via item 1 "10.1.0.0/16" of named list "relays") matched"#
    );
    assert_eq!(
        text("/d2", "10.255.0.4", None),
        r#"match: item 0 "/d2" (via line 2 "10.255.0.4" of file "/d2") matched"#
    );
    assert_eq!(text("", "10.0.0.1", None), "no match: empty list");
    let cdb = text("cdb;/x", "10.0.0.1", Some("x"));
    assert!(cdb.contains(r#"unsupported lookup type "cdb""#), "{cdb}");
}

#[test]
fn compile_errors() {
    match HostList::parse("10.0.0.1 : ^(unclosed") {
        Err(Error::InvalidRegex {
            list: None,
            index: 1,
            item,
            ..
        }) => assert_eq!(item, "^(unclosed"),
        other => panic!("unexpected {other:?}"),
    }
    // Unicode mode is refused wherever its flag is set, as Exim's PCRE refuses `(?u)`; turning
    // it off, or a `u` in a character class, is fine.
    // (A `:` in an item is doubled, as in any Exim list.)
    for pattern in [r"^(?u)\w", r"^mx(?iu::\d)", r"^(?-i)(?u)a", r"^(?u::\p{L})"] {
        match HostList::parse(pattern) {
            Err(err @ Error::InvalidRegex { .. }) => {
                assert!(err.to_string().contains("Unicode mode"), "{pattern}: {err}");
            }
            other => panic!("{pattern}: unexpected {other:?}"),
        }
    }
    for pattern in [r"^(?-u)mx", r"^[(?u)]", r"^\(\?u\)", r"^(?i)mx"] {
        assert!(HostList::parse(pattern).is_ok(), "{pattern}");
    }
    let mut named = NamedLists::new();
    named
        .define("a", "+b")
        .unwrap()
        .define("b", "1.2.3.4 : +a")
        .unwrap();
    assert_eq!(
        HostList::parse_with("+a", &named).unwrap_err(),
        Error::NamedListCycle {
            name: "a".to_owned()
        }
    );
    named.define("bad", "^(?=lookahead)").unwrap();
    let err = HostList::parse_with("+bad", &named).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRegex { list: Some(n), index: 0, .. } if n == "bad"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("named host list \"bad\", item 0"),
        "{err}"
    );
    assert_eq!(
        NamedLists::new().define("", "x").unwrap_err(),
        Error::EmptyListName
    );
    // Unreferenced named lists are not compiled, and unknown references are not errors.
    assert!(HostList::parse_with("+nosuch", &named).is_ok());
}

#[test]
fn items_are_reported_as_written() {
    let list = HostList::parse(" 1.2.3.4 : ! 5.6.7.8 :: x : +ignore_unknown ").unwrap();
    assert_eq!(
        list.items().collect::<Vec<_>>(),
        ["1.2.3.4", "! 5.6.7.8 : x", "+ignore_unknown"]
    );
    assert_eq!(
        list.source(),
        " 1.2.3.4 : ! 5.6.7.8 :: x : +ignore_unknown "
    );
}
