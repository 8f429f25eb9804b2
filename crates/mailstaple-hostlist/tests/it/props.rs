//! Property tests: on generated lists and hosts, the compiled matcher gives exactly the outcome of
//! the plain reference interpreter (`fuzzing::reference_check`).

use mailstaple_hostlist::HostList;
use mailstaple_hostlist::fuzzing::{Fixture, hostlist, reference_check};
use proptest::prelude::*;

/// Items that exercise every kind, around the fixture's addresses, names, files and lists.
fn item() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "*",
        "",
        "@",
        "@[]",
        "192.0.2.1",
        "192.0.2.0/24",
        "192.0.2.0/28",
        "192.0.2.5",
        "192.0.2.128/25",
        "192.0.2.3/32",
        "0.0.0.0/0",
        "198.51.100.0/24",
        "203.0.113.9",
        "10.0.0.0/8",
        "192.0.2.1/40",
        "192.0.2.9/",
        "2001:db8::/32",
        "2001:db8::1",
        "2001:db8::/126",
        "::/0",
        "::1",
        "::ffff:192.0.2.1",
        "::ffff:0:0/96",
        "1.2.3",
        "1.2.3/24",
        "999.1.1.1",
        "a.test",
        "b.test",
        "mapped.test",
        "again.test",
        "empty.test",
        "nx.test",
        "*.example.org",
        "*.test",
        "*list.test",
        "^mx",
        "^[a-z]+1\\.",
        "^(?-i)MX",
        "mx1.example.org.",
        "[x]",
        "@mx_any",
        "lsearch;/lsearch",
        "iplsearch;/iplsearch",
        "net-lsearch;/lsearch",
        "net24-lsearch;/lsearch",
        "net-iplsearch;/iplsearch",
        "net24-iplsearch;/iplsearch",
        "cdb;/x",
        "net-dbm;/x",
        "lsearch;/missing",
        "/list",
        "/empty",
        "/missing",
        "+good",
        "+bad",
        "+deep",
        "+unknown",
        "+err",
        "+defer",
        "+nosuch",
        "+include_unknown",
        "+ignore_unknown",
        "+include_defer",
        "+ignore_defer",
    ]);
    (atoms, prop::bool::weighted(0.3), prop::bool::weighted(0.2)).prop_map(
        |(atom, negate, space)| {
            let mut s = String::new();
            if negate {
                s.push('!');
                if space {
                    s.push(' ');
                }
            }
            s.push_str(atom);
            s
        },
    )
}

/// A list joined with `<;` (so IPv6 items stay whole) or with `:` and doubled colons.
fn list() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(item(), 0..12),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(items, semicolon, trailing)| {
            let mut text = if semicolon {
                format!("<; {}", items.join(" ; "))
            } else {
                items
                    .iter()
                    .map(|i| i.replace(':', "::"))
                    .collect::<Vec<_>>()
                    .join(" : ")
            };
            if trailing {
                text.push_str(if semicolon { " ;" } else { " :" });
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn compiled_agrees_with_reference(text in list()) {
        let fixture = Fixture::new();
        let env = fixture.env();
        let compiled = HostList::parse_with(&text, &fixture.named).unwrap();
        for host in Fixture::hosts() {
            let got = compiled.check(&host, &env).into_owned();
            let want = reference_check(&text, &fixture.named, &host, &env);
            prop_assert_eq!(got, want, "list {:?}, host {:?}", text, host);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(data in prop::collection::vec(any::<u8>(), 0..64)) {
        hostlist(&data);
    }

    #[test]
    fn arbitrary_punctuation_lists_agree(text in "[<;:!*@^+/ .0-9a-f\\[\\]-]{0,40}") {
        hostlist(text.as_bytes());
    }
}
