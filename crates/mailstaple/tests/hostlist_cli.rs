//! `mailstaple hostlist check`: the CLI contract (exit codes 0 match, 1 no match, 3 defer,
//! 2 usage error; stdout names the deciding item and why).
//!
//! Name resolution uses only `localhost` and interface addresses only loopback, so the tests need
//! no network.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_mailstaple"))
        .arg("hostlist")
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a check and asserts the exit code and the exact stdout line.
fn check(args: &[&str], code: i32, stdout: &str) {
    let r = run(args);
    assert_eq!(
        (r.code, r.stdout.trim_end()),
        (code, stdout),
        "args {args:?}, stderr {}",
        r.stderr
    );
}

const LIST: &str = "192.0.2.0/24 : !198.51.100.7 : *.example.org";

#[test]
fn match_no_match_and_negation() {
    check(
        &["--list", LIST, "--ip", "192.0.2.9"],
        0,
        r#"match: item 0 "192.0.2.0/24" matched"#,
    );
    check(
        &["--list", LIST, "--ip", "198.51.100.7"],
        1,
        r#"no match: item 1 "!198.51.100.7" matched (negated)"#,
    );
    check(
        &[
            "--list",
            LIST,
            "--ip",
            "203.0.113.1",
            "--name",
            "MX.Example.Org",
        ],
        0,
        r#"match: item 2 "*.example.org" matched"#,
    );
    check(
        &[
            "--list",
            LIST,
            "--ip",
            "203.0.113.1",
            "--name",
            "mx.example.net",
        ],
        1,
        r#"no match: end of list; last item: item 2 "*.example.org""#,
    );
    check(
        &["--list", "!192.0.2.1", "--ip", "203.0.113.1"],
        0,
        r#"match: end of list; last item was negated: item 0 "!192.0.2.1""#,
    );
    check(
        &["--list", "<; 2001:db8::/32 ; ::1", "--ip", "2001:db8::5"],
        0,
        r#"match: item 0 "2001:db8::/32" matched"#,
    );
    check(
        &["--list", "192.0.2.1", "--ip", "::ffff:192.0.2.1"],
        0,
        r#"match: item 0 "192.0.2.1" matched"#,
    );
    check(
        &["--list", "", "--ip", "192.0.2.1"],
        1,
        "no match: empty list",
    );
}

#[test]
fn an_error_stops_the_list_with_exit_1() {
    check(
        &["--list", "192.0.2/24 : 192.0.2.1", "--ip", "192.0.2.1"],
        1,
        r#"no match: item 0 "192.0.2/24": malformed IPv4 address or address mask"#,
    );
    check(
        &[
            "--list",
            "+ignore_unknown : 192.0.2/24 : 192.0.2.1",
            "--ip",
            "192.0.2.1",
        ],
        0,
        r#"match: item 2 "192.0.2.1" matched"#,
    );
    let r = run(&["--list", "*.example.org", "--ip", "192.0.2.1"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("failed to find host name for 192.0.2.1"),
        "{}",
        r.stdout
    );
}

#[test]
fn defer_exits_3() {
    check(
        &["--list", "+nosuch : *", "--ip", "192.0.2.1"],
        3,
        r#"defer: item 0 "+nosuch": unknown named host list "+nosuch""#,
    );
    let r = run(&[
        "--list",
        "/nonexistent/mailstaple-list : *",
        "--ip",
        "192.0.2.1",
    ]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(
        r.stdout
            .starts_with(r#"defer: item 0 "/nonexistent/mailstaple-list": failed to open"#),
        "{}",
        r.stdout
    );
    check(
        &["--list", "+include_defer : +nosuch", "--ip", "192.0.2.1"],
        3,
        r#"defer: item 1 "+nosuch": unknown named host list "+nosuch""#,
    );
}

#[test]
fn named_lists() {
    let relays = "relays=10.0.0.0/8 : !10.1.0.0/16";
    check(
        &[
            "--list",
            "+relays",
            "--ip",
            "10.2.3.4",
            "--hostlist",
            relays,
        ],
        0,
        r#"match: item 0 "+relays" (via item 0 "10.0.0.0/8" of named list "relays") matched"#,
    );
    check(
        &[
            "--list",
            "!+relays : *",
            "--ip",
            "10.2.3.4",
            "--hostlist",
            relays,
        ],
        1,
        r#"no match: item 0 "!+relays" (via item 0 "10.0.0.0/8" of named list "relays") matched (negated)"#,
    );
    check(
        &[
            "--list",
            "+a",
            "--ip",
            "192.0.2.1",
            "--hostlist",
            "a=+b",
            "--hostlist",
            "b=192.0.2.0/24",
        ],
        0,
        r#"match: item 0 "+a" (via item 0 "192.0.2.0/24" of named list "b") matched"#,
    );
}

#[test]
fn files_and_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("relays");
    std::fs::write(
        &list,
        "# relays\n!192.0.2.5  # not this one\n192.0.2.0/28\n",
    )
    .unwrap();
    let lookup = dir.path().join("nets");
    std::fs::write(&lookup, "198.51.100.0/24: data\n").unwrap();
    let list = list.to_str().unwrap();
    check(
        &["--list", list, "--ip", "192.0.2.1"],
        0,
        &format!(r#"match: item 0 "{list}" (via line 3 "192.0.2.0/28" of file "{list}") matched"#),
    );
    check(
        &["--list", &format!("!{list}")[..], "--ip", "192.0.2.5"],
        0,
        &format!(r#"match: item 0 "!{list}" (via line 2 "!192.0.2.5" of file "{list}") matched"#),
    );
    let item = format!("net24-lsearch;{}", lookup.to_str().unwrap());
    check(
        &["--list", &item, "--ip", "198.51.100.77"],
        0,
        &format!(r#"match: item 0 "{item}" matched"#),
    );
    check(
        &["--list", &item, "--ip", "198.51.101.77"],
        1,
        &format!(r#"no match: end of list; last item: item 0 "{item}""#),
    );
}

#[test]
fn system_resolver_interfaces_and_primary_host_name() {
    check(
        &["--list", "localhost", "--ip", "127.0.0.1"],
        0,
        r#"match: item 0 "localhost" matched"#,
    );
    check(
        &["--list", "@[]", "--ip", "127.0.0.1"],
        0,
        r#"match: item 0 "@[]" matched"#,
    );
    check(
        &["--list", "@[]", "--ip", "192.0.2.254"],
        1,
        r#"no match: end of list; last item: item 0 "@[]""#,
    );
    check(
        &[
            "--list",
            "@",
            "--ip",
            "127.0.0.1",
            "--primary-hostname",
            "localhost",
        ],
        0,
        r#"match: item 0 "@" matched"#,
    );
}

#[test]
fn json_output() {
    let r = run(&[
        "--list",
        "10.0.0.0/8 : +include_defer : +nosuch",
        "--ip",
        "192.0.2.1",
        "--json",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["verdict"], "defer");
    assert_eq!(v["item"]["index"], 2);
    assert_eq!(v["item"]["text"], "+nosuch");
    assert_eq!(v["reason"]["kind"], "deferred");
    assert_eq!(v["reason"]["include_defer"], false);
    assert_eq!(
        v["reason"]["message"],
        "unknown named host list \"+nosuch\""
    );
    let r = run(&[
        "--list",
        "+r",
        "--ip",
        "10.1.1.1",
        "--hostlist",
        "r=!10.1.0.0/16",
        "--json",
    ]);
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["verdict"], "no match");
    assert_eq!(v["reason"]["kind"], "end of list");
    assert_eq!(v["item"]["inner"], serde_json::Value::Null);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--list", "^(unclosed", "--ip", "192.0.2.1"][..],
        &["--list", "+a", "--ip", "192.0.2.1", "--hostlist", "a=+a"],
        &["--list", "*", "--ip", "not-an-ip"],
        &["--list", "*"],
        &["--ip", "192.0.2.1"],
        &[
            "--list",
            "*",
            "--ip",
            "192.0.2.1",
            "--hostlist",
            "no-equals-sign",
        ],
    ] {
        let r = run(args);
        assert_eq!(
            r.code, 2,
            "args {args:?}: stdout {} stderr {}",
            r.stdout, r.stderr
        );
        assert!(r.stdout.is_empty(), "args {args:?}: {}", r.stdout);
        assert!(!r.stderr.is_empty(), "args {args:?}");
    }
    let r = run(&["--list", "^(unclosed", "--ip", "192.0.2.1"]);
    assert!(
        r.stderr
            .contains(r#"item 0 "^(unclosed": invalid regular expression"#),
        "{}",
        r.stderr
    );
}

#[test]
fn lists_may_start_with_a_hyphen_or_bang() {
    check(
        &[
            "--list",
            "-[x] : 192.0.2.1",
            "--ip",
            "192.0.2.1",
            "--name",
            "mx",
        ],
        0,
        r#"match: item 1 "192.0.2.1" matched"#,
    );
    check(
        &["--list", "!192.0.2.1", "--ip", "192.0.2.1"],
        1,
        r#"no match: item 0 "!192.0.2.1" matched (negated)"#,
    );
}
