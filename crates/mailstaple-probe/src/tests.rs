//! Unit tests: targets, escaping, MX ordering, the sans-IO dialogue, severities.

use std::net::{IpAddr, Ipv6Addr};

use crate::dns::{MxAnswer, MxHost, order_mx};
use crate::report::{Failure, Stage};
use crate::session::{MAX_PLAIN_BYTES, Session, Step};
use crate::target::{Host, Target};
use crate::{Error, escape};

#[test]
fn targets_parse_as_users_write_them() {
    let check = |s: &str, host: Host, port: u16| {
        assert_eq!(Target::parse(s), Ok(Target { host, port }), "{s}");
    };
    check("mx.example.org", Host::Name("mx.example.org".into()), 25);
    check(
        "MX.Example.ORG.:587",
        Host::Name("mx.example.org".into()),
        587,
    );
    check("192.0.2.1", Host::Address("192.0.2.1".parse().unwrap()), 25);
    check(
        "192.0.2.1:465",
        Host::Address("192.0.2.1".parse().unwrap()),
        465,
    );
    check(
        "[2001:db8::1]:2525",
        Host::Address("2001:db8::1".parse().unwrap()),
        2525,
    );
    check("[::1]", Host::Address(IpAddr::V6(Ipv6Addr::LOCALHOST)), 25);
    check("::1", Host::Address(IpAddr::V6(Ipv6Addr::LOCALHOST)), 25);
    for bad in [
        "",
        "mx.example.org:0",
        "mx.example.org:99999",
        "mx.example.org:",
        "[::1",
        "[::1]x",
        "[mx.example.org]:25",
        "2001:db8::1:25:x",
        "bad_\u{1b}[31m.example",
        "a..b",
        "-",
    ] {
        let e = Target::parse(bad);
        assert!(matches!(e, Err(Error::Target { .. })), "{bad:?}: {e:?}");
        assert!(!e.unwrap_err().to_string().contains('\u{1b}'), "{bad:?}");
    }
}

#[test]
fn escape_neutralises_terminal_control_and_caps_length() {
    assert_eq!(escape("plain text"), "plain text");
    assert_eq!(escape("a\u{1b}[31mb"), "a\\u{1b}[31mb");
    assert_eq!(escape("line\r\nnext\t\\"), "line\\r\\nnext\\t\\\\");
    assert_eq!(escape("evil\u{202e}txt"), "evil\\u{202e}txt");
    assert_eq!(escape("\u{9b}c1"), "\\u{9b}c1");
    assert_eq!(escape("zero\u{200b}width"), "zero\\u{200b}width");
    let long = "x".repeat(10_000);
    assert_eq!(escape(&long).chars().count(), crate::MAX_TEXT + 3);
    // Escapes count towards the cap: control characters cannot inflate the output.
    let controls = "\u{1}".repeat(10_000);
    let escaped = escape(&controls);
    assert!(
        escaped.chars().count() <= crate::MAX_TEXT + 3,
        "{}",
        escaped.len()
    );
    assert!(escaped.starts_with("\\u{1}\\u{1}") && escaped.ends_with("..."));
}

#[test]
fn mx_records_come_in_preference_order_once_each() {
    let r = |p: u16, e: &str| (p, e.to_owned());
    let mx = |p: u16, n: &str| MxHost {
        preference: p,
        name: n.into(),
    };
    assert_eq!(
        order_mx(&[
            r(20, "b.example.org."),
            r(10, "A.example.org."),
            r(20, "c.example.org"),
            r(30, "a.example.org."),
            r(5, "bad name."),
        ]),
        MxAnswer::Hosts(vec![
            mx(10, "a.example.org"),
            mx(20, "b.example.org"),
            mx(20, "c.example.org"),
        ])
    );
    assert_eq!(order_mx(&[r(0, ".")]), MxAnswer::NullMx);
    assert_eq!(
        order_mx(&[r(0, "."), r(10, "mx.example.org.")]),
        MxAnswer::Hosts(vec![mx(10, "mx.example.org")])
    );
    assert_eq!(order_mx(&[]), MxAnswer::Hosts(vec![]));
    let many: Vec<_> = (0..100u16)
        .map(|i| r(i, &format!("mx{i}.example.org")))
        .collect();
    assert!(matches!(order_mx(&many), MxAnswer::Hosts(h) if h.len() == crate::dns::MAX_MX));
}

/// Feeds `server` lines to a STARTTLS session and returns every step.
fn dialogue(tls_on_connect: bool, server: &[&[u8]]) -> (Session, Vec<Step>) {
    let mut session = Session::new("probe.example.org", tls_on_connect);
    let mut steps = Vec::new();
    for chunk in server {
        let batch = session.receive(chunk);
        let starttls = batch.contains(&Step::StartTls);
        steps.extend(batch);
        if starttls {
            steps.extend(session.tls_started());
        }
    }
    (session, steps)
}

fn send(s: &str) -> Step {
    Step::Send(s.as_bytes().to_vec())
}

#[test]
fn starttls_dialogue_stops_before_the_envelope() {
    let (session, steps) = dialogue(
        false,
        &[
            b"220 mx.example.org ESMTP\r\n",
            b"250-mx.example.org\r\n250-SIZE 1000\r\n250 STARTTLS\r\n",
            b"220 go ahead\r\n",
            b"250-mx.example.org\r\n250 SIZE 1000\r\n",
        ],
    );
    assert_eq!(
        steps,
        vec![
            send("EHLO probe.example.org\r\n"),
            send("STARTTLS\r\n"),
            Step::StartTls,
            send("EHLO probe.example.org\r\n"),
            Step::Ready,
        ]
    );
    assert!(session.is_done());
}

#[test]
fn implicit_tls_dialogue_greets_once() {
    let (_, steps) = dialogue(
        true,
        &[
            b"220 mx.example.org ESMTP\r\n",
            b"250-mx\r\n250 STARTTLS\r\n",
        ],
    );
    assert_eq!(steps, vec![send("EHLO probe.example.org\r\n"), Step::Ready]);
}

fn failure(steps: &[Step]) -> &Failure {
    match steps.last() {
        Some(Step::Failed(f)) => f,
        other => panic!("no failure: {other:?}"),
    }
}

#[test]
fn servers_without_starttls_fail_at_the_starttls_stage() {
    let (_, steps) = dialogue(false, &[b"220 hi\r\n", b"250 mx.example.org\r\n"]);
    let f = failure(&steps);
    assert_eq!(f.stage, Stage::StartTls);
    assert!(f.message.contains("did not offer TLS"), "{f}");

    let (_, steps) = dialogue(
        false,
        &[
            b"220 hi\r\n",
            b"250 STARTTLS\r\n",
            b"454 4.7.0 TLS not available\r\n",
        ],
    );
    let f = failure(&steps);
    assert_eq!(f.stage, Stage::StartTls);
    assert!(f.message.contains("454 4.7.0 TLS not available"), "{f}");
}

#[test]
fn hostile_replies_end_in_clear_escaped_failures() {
    // A refused greeting with terminal escapes in its text.
    let (_, steps) = dialogue(false, &[b"554 go \x1b[2Jaway\r\n"]);
    let f = failure(&steps);
    assert_eq!(f.stage, Stage::Smtp);
    assert!(f.message.contains("554 go \\u{1b}[2Jaway"), "{f}");

    // A megabyte banner without a line end.
    let big = vec![b'2'; 1 << 20];
    let (_, steps) = dialogue(false, &[&big]);
    assert_eq!(failure(&steps).stage, Stage::Smtp);

    // A multiline greeting that never ends, in small lines.
    let mut session = Session::new("probe.example.org", false);
    let mut ended = None;
    for _ in 0..100_000 {
        let steps = session.receive(b"220-still going\r\n");
        if let Some(Step::Failed(f)) = steps.last() {
            ended = Some(f.clone());
            break;
        }
        assert!(steps.is_empty());
    }
    let f = ended.expect("the session never gave up");
    assert!(f.message.contains(&MAX_PLAIN_BYTES.to_string()), "{f}");
    assert!(session.receive(b"220 done\r\n").is_empty());

    // Garbage instead of a reply.
    let (_, steps) = dialogue(false, &[b"\x16\x03\x01\x00\x05hello\r\n"]);
    let f = failure(&steps);
    assert!(f.message.contains("malformed reply"), "{f}");
    assert!(!f.message.chars().any(char::is_control), "{f}");
}
