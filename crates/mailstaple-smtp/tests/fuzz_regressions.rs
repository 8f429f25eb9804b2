//! Every minimised fuzz finding for `smtp_server` is replayed here by plain `cargo test`.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use mailstaple_smtp::session::{Event, Session, SessionConfig};

#[test]
fn fuzz_regressions_replay() {
    for (_, data) in mailstaple_testpki::fuzz_regressions("smtp_server") {
        mailstaple_smtp::fuzzing::smtp_server(&data);
    }
}

fn codes(events: &[Event]) -> Vec<u16> {
    events
        .iter()
        .map(|e| match e {
            Event::Reply(r) | Event::StartTls(r) | Event::Close(r) => r.code,
            _ => 0,
        })
        .collect()
}

/// Regression (fuzzing): a command with a control character in it (here a bare CR) was echoed
/// into the EHLO reply, splitting the reply line.
#[test]
fn r_fuzz_control_characters_are_refused_not_echoed() {
    let mut s = Session::new(SessionConfig::new("mx.test", false));
    let events = s.receive(b"EHLO a\rb\r\nEHLO a\x00b\r\nEHLO ok.test\r\n");
    assert_eq!(codes(&events), vec![500, 500, 250]);
}

/// Regression (fuzzing): the tail of an overlong line that arrived in a later read was taken
/// for a fresh line. In DATA that let a client end the message early with a tail of `.`:
/// whether the following bytes were message text or commands depended on how TCP split them.
#[test]
fn r_fuzz_the_tail_of_an_overlong_line_is_never_a_line() {
    // RFC 5321's 1,000 as the limit (the default is larger since issue 14).
    let mut cfg = SessionConfig::new("mx.test", false);
    cfg.limits.max_data_line = 1000;
    let mut s = Session::new(cfg);
    s.receive(b"HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
    assert!(s.receive(&[b'x'; 1500]).is_empty());
    // One line of 1,503 bytes: not the end of the message.
    assert!(s.receive(b".\r\n").is_empty());
    assert!(s.receive(b"RSET\r\n").is_empty());
    // The real end: refused for the long line, and the session goes on.
    assert_eq!(codes(&s.receive(b".\r\nNOOP\r\n")), vec![500, 250]);

    // The same for commands: one error for one line, its tail is not a command.
    let mut s = Session::new(SessionConfig::new("mx.test", false));
    assert_eq!(codes(&s.receive(&[b'x'; 600])), vec![500]);
    assert!(s.receive(b"QUIT\r\n").is_empty());
    assert_eq!(codes(&s.receive(b"NOOP\r\n")), vec![250]);
}

/// Regression (fuzzing): a message line ended by a bare LF was checked against the line limit
/// as received, then stored with CRLF, one byte over the limit.
#[test]
fn r_fuzz_a_bare_lf_line_is_measured_as_stored() {
    let mut cfg = SessionConfig::new("mx.test", false);
    cfg.limits.max_data_line = 10;
    let mut s = Session::new(cfg);
    s.receive(b"HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
    // Eight bytes and CRLF fit; nine bytes and a bare LF would be eleven once stored.
    assert!(s.receive(b"12345678\n123456789\n").is_empty());
    assert_eq!(codes(&s.receive(b".\r\n")), vec![500]);
    let mut cfg = SessionConfig::new("mx.test", false);
    cfg.limits.max_data_line = 10;
    let mut s = Session::new(cfg);
    s.receive(b"HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
    assert_eq!(codes(&s.receive(b"12345678\n.\r\n")), vec![0]);
}
