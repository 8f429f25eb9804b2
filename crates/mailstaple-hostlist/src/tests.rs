//! Unit tests of the internals: list splitting, IP item parsing, lookup keys and files, and the
//! prefix structure.

use std::net::IpAddr;

use crate::ip::{self, Net};
use crate::list::split;
use crate::lookup;
use crate::set::{AddrBlock, Entry, RangeMap};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn split_follows_string_nextinlist() {
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        ("   ", &[]),
        (":", &[""]),
        (" : a", &["", "a"]),
        ("a:", &["a"]),
        ("a : ", &["a"]),
        ("a : : b", &["a", "", "b"]),
        ("a::b", &["a:b"]),
        ("a:::b", &["a:", "b"]),
        ("::", &[":"]),
        ("  1.2.3.4  :  ! 5.6.7.8 ", &["1.2.3.4", "! 5.6.7.8"]),
        ("<; ::1 ; 2001:db8::/32", &["::1", "2001:db8::/32"]),
        ("<;a;;b;", &["a;b"]),
        ("<, a , b", &["a", "b"]),
        ("<", &[]),
        ("< a", &["< a"]),
        ("<\ta\tb", &["a", "b"]),
        ("<\n a\n\n b", &["a", "", "b"]),
        ("3ffe::ffff::836f::::/48", &["3ffe:ffff:836f::/48"]),
        ("a\0: b", &["a"]),
        ("\t a \t", &["a"]),
    ];
    for (list, want) in cases {
        assert_eq!(split(list), *want, "list {list:?}");
    }
}

/// An item, and the address and mask it parses to (`None`: not an address item).
type IpCase<'a> = (&'a str, Option<(&'a str, Option<u64>)>);

#[test]
fn ip_items_parse_like_exim() {
    let cases: &[IpCase<'_>] = &[
        ("1.2.3.4", Some(("1.2.3.4", None))),
        ("1.2.3.4/24", Some(("1.2.3.4", Some(24)))),
        ("1.2.3.4/", Some(("1.2.3.4", Some(0)))),
        ("1.2.3.4/+8", Some(("1.2.3.4", Some(8)))),
        ("1.2.3.4/ 8", Some(("1.2.3.4", Some(8)))),
        ("1.2.3.4/08", Some(("1.2.3.4", Some(8)))),
        ("1.2.3.4/-0", Some(("1.2.3.4", Some(0)))),
        ("1.2.3.4/40", Some(("1.2.3.4", Some(40)))),
        ("1.2.3.4/-1", None),
        ("1.2.3.4/abc", None),
        ("1.2.3.4/8x", None),
        ("1.2.3.4/ ", None),
        ("1.2.3", None),
        ("01.2.3.4", None),
        ("256.1.1.1", None),
        ("1.2.3.4%x", None),
        ("::1", Some(("::1", None))),
        ("::1%eth0", Some(("::1", None))),
        ("::1%", Some(("::1", None))),
        ("::1%a b", None),
        ("::1%x/64", None),
        ("::1/200", Some(("::1", Some(200)))),
        ("::ffff:1.2.3.4", Some(("::ffff:1.2.3.4", None))),
        (
            "1:2:3:4:5:6:1.2.3.4/128",
            Some(("1:2:3:4:5:6:102:304", Some(128))),
        ),
        ("1::2::3", None),
        (":::1", None),
        ("1:2:3:4:5:6:7:8:9", None),
        ("aaaa:bbbb", None),
        ("12345::", None),
    ];
    for (text, want) in cases {
        let got = ip::parse_ip_item(text, true).map(|i| (i.addr, i.mask));
        let want = want.map(|(a, m)| (ip(a), m));
        assert_eq!(got, want, "item {text:?}");
    }
    assert_eq!(ip::parse_ip_item("1.2.3.4/24", false), None);
}

#[test]
fn nets_ignore_host_bits_and_clamp_masks() {
    assert!(Net::new(ip("1.2.3.6"), Some(24)).contains(ip("1.2.3.4")));
    assert!(!Net::new(ip("1.2.3.6"), Some(24)).contains(ip("1.2.4.4")));
    assert!(Net::new(ip("1.2.3.4"), Some(40)).contains(ip("1.2.3.4")));
    assert!(!Net::new(ip("1.2.3.4"), Some(40)).contains(ip("1.2.3.5")));
    assert!(Net::new(ip("9.9.9.9"), Some(0)).contains(ip("200.1.1.1")));
    assert!(!Net::new(ip("9.9.9.9"), Some(0)).contains(ip("::1")));
    assert!(Net::new(ip("2001:db8::"), Some(32)).contains(ip("2001:db8:ffff::1")));
    assert!(Net::new(ip("::"), Some(0)).contains(ip("::1")));
    // The subject is converted from IPv4-mapped form; the pattern is not.
    assert!(Net::new(ip("1.2.3.4"), None).contains(ip::canonical(ip("::ffff:1.2.3.4"))));
    assert!(!Net::new(ip("::ffff:1.2.3.4"), None).contains(ip::canonical(ip("::ffff:1.2.3.4"))));
    assert!(ip::host_equals_net(ip("::ffff:1.2.3.4"), ip("1.2.3.4")));
    assert!(!ip::host_equals_net(ip("1.2.3.4"), ip("::ffff:1.2.3.4")));
}

#[test]
fn net_keys_follow_host_nmtoa() {
    assert_eq!(ip::net_key(ip("192.168.34.5"), None, '.'), "192.168.34.5");
    assert_eq!(
        ip::net_key(ip("192.168.34.5"), Some(24), '.'),
        "192.168.34.0/24"
    );
    assert_eq!(ip::net_key(ip("192.168.34.5"), Some(0), '.'), "0.0.0.0/0");
    assert_eq!(ip::net_key(ip("1.2.3.4"), Some(33), '.'), "1.2.3.4/33");
    assert_eq!(
        ip::net_key(ip("abcd::dcba"), None, ':'),
        "abcd:0000:0000:0000:0000:0000:0000:dcba"
    );
    assert_eq!(
        ip::net_key(ip("2001:db8::1"), Some(32), '.'),
        "2001.0db8.0000.0000.0000.0000.0000.0000/32"
    );
}

#[test]
fn lsearch_files() {
    let file =
        b"# comment\nFoo.Example: data\n  continued\n\"quoted key\" x\n\"esc\\x41\\101\\t\"\nlast";
    for (key, want) in [
        (&b"foo.example"[..], true),
        (b"continued", false),
        (b"quoted key", true),
        (b"escAA\t", true),
        (b"last", true),
        (b"# comment", false),
        (b"data", false),
    ] {
        assert_eq!(
            lookup::lsearch_find(file, key),
            want,
            "key {:?}",
            String::from_utf8_lossy(key)
        );
    }
    let ipfile = b"10.0.0.0/8: x\n\"2001:db8::/32\"\n2001:db9::/32\n*\n";
    assert_eq!(lookup::iplsearch_find(ipfile, "10.9.9.9"), Ok(true));
    assert_eq!(lookup::iplsearch_find(ipfile, "11.9.9.9"), Ok(false));
    assert_eq!(lookup::iplsearch_find(ipfile, "2001:db8::5"), Ok(true));
    // Unquoted IPv6 keys stop at the first colon, so this line's key is "2001".
    assert_eq!(lookup::iplsearch_find(ipfile, "2001:db9::5"), Ok(false));
    assert_eq!(lookup::iplsearch_find(ipfile, "*"), Ok(true));
    assert_eq!(lookup::iplsearch_find(b"10.0.0.0/8\n", "*"), Ok(false));
    assert!(lookup::iplsearch_find(ipfile, "10.0.0.0/24").is_err());
    assert!(lookup::iplsearch_find(ipfile, "mx.example").is_err());
}

/// Brute force: the first CIDR in list order that contains the address.
fn brute(nets: &[(u32, u8)], addr: u32) -> Option<u32> {
    nets.iter()
        .position(|&(a, len)| addr & ip::mask32(len) == a & ip::mask32(len))
        .map(|p| p as u32)
}

#[test]
fn range_map_matches_brute_force() {
    // A small deterministic generator (splitmix64), so the test is reproducible.
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for round in 0..200 {
        let n = 1 + (next() % 12) as usize;
        let nets: Vec<(u32, u8)> = (0..n)
            .map(|_| {
                // Addresses in a 256-address window so that networks overlap often.
                let a = 0x0a00_0000 | (next() % 256) as u32;
                let len = [0, 24, 25, 26, 28, 30, 31, 32][(next() % 8) as usize];
                (a & ip::mask32(len), len)
            })
            .collect();
        let map = RangeMap::build(
            nets.iter()
                .enumerate()
                .map(|(i, &(a, l))| (a, a | !ip::mask32(l), i as u32))
                .collect(),
        );
        assert!(
            map.len() <= 2 * n + 1,
            "round {round}: {} ranges for {n} nets",
            map.len()
        );
        for probe in (0x09ff_fffe..=0x0a00_0101).chain([0, u32::MAX]) {
            assert_eq!(
                map.get(probe),
                brute(&nets, probe),
                "round {round}, nets {nets:?}, probe {probe:#x}"
            );
        }
    }
}

#[test]
fn range_map_edges() {
    let full = RangeMap::<u32>::build(vec![(0, u32::MAX, 3), (5, 5, 1), (u32::MAX, u32::MAX, 0)]);
    assert_eq!(full.get(0), Some(3));
    assert_eq!(full.get(5), Some(1));
    assert_eq!(full.get(6), Some(3));
    assert_eq!(full.get(u32::MAX), Some(0));
    let v6 = RangeMap::<u128>::build(vec![(0, u128::MAX, 2), (0, 0, 2), (0, 0, 1)]);
    assert_eq!(v6.get(0), Some(1));
    assert_eq!(v6.get(u128::MAX), Some(2));
    assert_eq!(RangeMap::<u32>::build(Vec::new()).get(7), None);
}

#[test]
fn addr_block_first_in_list_order_wins() {
    let items = [
        (
            Entry {
                index: 0,
                negated: false,
            },
            Net::new(ip("10.1.2.3"), None),
        ),
        (
            Entry {
                index: 1,
                negated: true,
            },
            Net::new(ip("10.1.0.0"), Some(16)),
        ),
        (
            Entry {
                index: 2,
                negated: false,
            },
            Net::new(ip("10.0.0.0"), Some(8)),
        ),
        (
            Entry {
                index: 3,
                negated: false,
            },
            Net::new(ip("2001:db8::"), Some(32)),
        ),
    ];
    let block = AddrBlock::build(&items);
    let hit = |s: &str| {
        block
            .first_match(ip::canonical(ip(s)))
            .map(|e| (e.index, e.negated))
    };
    assert_eq!(hit("10.1.2.3"), Some((0, false)));
    assert_eq!(hit("10.1.2.4"), Some((1, true)));
    assert_eq!(hit("10.2.0.0"), Some((2, false)));
    assert_eq!(hit("::ffff:10.2.0.0"), Some((2, false)));
    assert_eq!(hit("11.0.0.0"), None);
    assert_eq!(hit("2001:db8::9"), Some((3, false)));
    assert_eq!(hit("2001:db9::9"), None);
    assert_eq!(block.ranges(), 6);
}
