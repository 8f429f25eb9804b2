//! Unit tests of the session state machine and the spool.

use crate::session::{Event, Limits, Reply, Session, SessionConfig};
use crate::spool::Spool;

fn session() -> Session {
    Session::new(SessionConfig::new("mx.test", true))
}

fn replies(events: &[Event]) -> Vec<u16> {
    events
        .iter()
        .map(|e| match e {
            Event::Reply(r) | Event::StartTls(r) | Event::Close(r) => r.code,
            Event::Store(_) => 0,
        })
        .collect()
}

#[test]
fn a_whole_transaction_with_dot_unstuffing() {
    let mut s = session();
    assert_eq!(s.greeting().code, 220);
    let ev = s.receive(
        b"EHLO client.test\r\nMAIL FROM:<a@x.test> SIZE=100\r\nRCPT TO:<b@y.test>\r\nDATA\r\n",
    );
    assert_eq!(replies(&ev), vec![250, 250, 250, 354]);
    let Event::Reply(ehlo) = &ev[0] else { panic!() };
    assert!(ehlo.lines.contains(&"STARTTLS".to_string()));
    let ev = s.receive(b"Subject: hi\r\n\r\n..leading dot\r\n.\r\n");
    let [Event::Store(env)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(env.data, b"Subject: hi\r\n\r\n.leading dot\r\n");
    assert_eq!(env.mail_from, "a@x.test");
    assert_eq!(env.rcpt_to, vec!["b@y.test".to_string()]);
    // Nothing more is processed until the message is stored.
    assert!(s.receive(b"QUIT\r\n").is_empty());
    assert_eq!(s.stored(Ok("id1".into())).code, 250);
    assert_eq!(replies(&s.receive(b"")), vec![221]);
    assert!(s.is_done());
}

#[test]
fn storage_failure_is_temporary() {
    let mut s = session();
    s.receive(b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@y>\r\nDATA\r\nx\r\n.\r\n");
    assert_eq!(s.stored(Err("disk full".into())).code, 451);
}

#[test]
fn starttls_discards_pipelined_commands() {
    let mut s = session();
    let ev = s.receive(b"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@x>\r\n");
    assert_eq!(replies(&ev), vec![250, 220]);
    assert!(matches!(ev[1], Event::StartTls(_)));
    s.tls_started();
    // The injected MAIL was dropped: the session starts over and needs EHLO.
    assert_eq!(replies(&s.receive(b"MAIL FROM:<a@x>\r\n")), vec![503]);
    let ev = s.receive(b"EHLO c\r\n");
    let Event::Reply(r) = &ev[0] else { panic!() };
    assert!(
        !r.lines.contains(&"STARTTLS".to_string()),
        "not offered twice"
    );
    assert_eq!(replies(&s.receive(b"STARTTLS\r\n")), vec![503]);
}

#[test]
fn sequence_errors_and_limits() {
    let mut s = session();
    assert_eq!(replies(&s.receive(b"MAIL FROM:<a@x>\r\n")), vec![503]);
    assert_eq!(
        replies(&s.receive(b"EHLO c\r\nRCPT TO:<b@y>\r\nDATA\r\n")),
        vec![250, 503, 503]
    );
    assert_eq!(replies(&s.receive(b"MAIL FROM:a@x\r\n")), vec![501]);
    assert_eq!(
        replies(&s.receive(b"MAIL FROM:<a@x> SIZE=999999999\r\n")),
        vec![552]
    );
    assert_eq!(replies(&s.receive(b"BOGUS\r\n")), vec![500]);
    let long = [b"NOOP ".as_slice(), &[b'x'; 600], b"\r\n"].concat();
    assert_eq!(replies(&s.receive(&long)), vec![500]);
    assert_eq!(
        replies(&s.receive(b"NOOP\r\nRSET\r\nVRFY x\r\n")),
        vec![250, 250, 252]
    );
}

#[test]
fn too_many_errors_close_the_session() {
    let mut s = session();
    let ev = s.receive(&b"X\r\n".repeat(20));
    assert_eq!(ev.len(), Limits::default().max_errors);
    assert!(matches!(ev.last(), Some(Event::Close(r)) if r.code == 421));
    assert!(s.is_done());
}

#[test]
fn oversized_message_is_refused_after_the_dot() {
    let mut cfg = SessionConfig::new("mx.test", false);
    cfg.limits.max_message_size = 20;
    let mut s = Session::new(cfg);
    s.receive(b"HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
    let ev = s.receive(b"0123456789\r\n0123456789\r\n.\r\n");
    assert_eq!(replies(&ev), vec![552]);
    // The session goes on.
    assert_eq!(replies(&s.receive(b"MAIL FROM:<a@x>\r\n")), vec![250]);
}

#[test]
fn byte_at_a_time_is_the_same() {
    let input = b"EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nhello\r\n.\r\n";
    let mut s = session();
    let mut codes = Vec::new();
    for b in input {
        codes.extend(replies(&s.receive(&[*b])));
    }
    assert_eq!(codes, vec![250, 250, 250, 354, 0]);
}

#[test]
fn reply_wire_format() {
    let r = Reply {
        code: 250,
        lines: vec!["a".into(), "b".into()],
    };
    assert_eq!(r.to_wire(), "250-a\r\n250 b\r\n");
}

#[test]
fn spool_writes_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path().join("spool")).unwrap();
    let mut s = session();
    s.receive(b"HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
    let ev = s.receive(b"Subject: t\r\n\r\nbody\r\n.\r\n");
    let [Event::Store(env)] = ev.as_slice() else {
        panic!()
    };
    let id = spool
        .store(env, 1_780_272_000, "from c by mx.test")
        .unwrap();
    let text = std::fs::read_to_string(spool.dir().join(format!("{id}.eml"))).unwrap();
    assert!(text.starts_with(
        "Return-Path: <a@x>\r\nX-Envelope-To: <b@y>\r\nReceived: from c by mx.test\r\n"
    ));
    assert!(text.ends_with("Subject: t\r\n\r\nbody\r\n"));
    let names: Vec<_> = std::fs::read_dir(spool.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left behind");
}

mod client {
    use crate::client::{Action, Client, Message, Outcome, TlsMode, dot_stuff};
    use crate::session::{Event, Session, SessionConfig};

    /// Runs a client against a session in memory; `tls` decides what the "handshake" does.
    fn converse(mode: TlsMode, offer_tls: bool, tls_ok: bool) -> (Outcome, Vec<Vec<u8>>) {
        let mut server = Session::new(SessionConfig::new("mx.test", offer_tls));
        let msg = Message::new(
            "a@x.test",
            vec!["b@y.test".into(), "c@y.test".into()],
            b"Subject: s\n\n.dot\nend".to_vec(),
        );
        let mut client = Client::new("client.test", mode, msg);
        let mut stored = Vec::new();
        let mut to_client = server.greeting().to_wire().into_bytes();
        for _ in 0..100 {
            let mut to_server = Vec::new();
            for action in client.receive(&std::mem::take(&mut to_client)) {
                match action {
                    Action::Send(b) => to_server.extend(b),
                    Action::Done(o) => return (o, stored),
                    Action::StartTls => {
                        if !tls_ok {
                            return (
                                client.tls_failed("Required TLS certificate status not received"),
                                stored,
                            );
                        }
                        server.tls_started();
                        for a in client.tls_started() {
                            if let Action::Send(b) = a {
                                to_server.extend(b);
                            }
                        }
                    }
                }
            }
            for event in server.receive(&to_server) {
                match event {
                    Event::Reply(r) | Event::Close(r) => to_client.extend(r.to_wire().into_bytes()),
                    Event::StartTls(r) => to_client.extend(r.to_wire().into_bytes()),
                    Event::Store(env) => {
                        stored.push(env.data.clone());
                        to_client.extend(server.stored(Ok("1".into())).to_wire().into_bytes());
                    }
                }
            }
        }
        panic!("no outcome");
    }

    #[test]
    fn delivers_over_tls_with_dot_stuffing() {
        let (outcome, stored) = converse(TlsMode::Required, true, true);
        assert!(
            matches!(outcome, Outcome::Delivered { tls: true, .. }),
            "{outcome:?}"
        );
        assert_eq!(stored, vec![b"Subject: s\r\n\r\n.dot\r\nend\r\n".to_vec()]);
    }

    #[test]
    fn required_tls_never_falls_back() {
        let (outcome, stored) = converse(TlsMode::Required, false, true);
        assert!(
            matches!(&outcome, Outcome::Deferred { text, .. } if text.contains("TLS session is required")),
            "{outcome:?}"
        );
        assert!(stored.is_empty());
        let (outcome, stored) = converse(TlsMode::Required, true, false);
        assert_eq!(
            outcome,
            Outcome::Deferred {
                code: None,
                text: "TLS session: Required TLS certificate status not received".into()
            }
        );
        assert!(stored.is_empty());
    }

    #[test]
    fn opportunistic_and_never() {
        let (outcome, _) = converse(TlsMode::Opportunistic, false, true);
        assert!(matches!(outcome, Outcome::Delivered { tls: false, .. }));
        let (outcome, _) = converse(TlsMode::Never, true, true);
        assert!(matches!(outcome, Outcome::Delivered { tls: false, .. }));
    }

    #[test]
    fn reply_codes_map_to_outcomes() {
        let run = |replies: &[u8]| {
            let mut c = Client::new(
                "c",
                TlsMode::Never,
                Message::new("a@x", vec!["b@y".into()], b"x".to_vec()),
            );
            c.receive(replies).into_iter().find_map(|a| {
                if let Action::Done(o) = a {
                    Some(o)
                } else {
                    None
                }
            })
        };
        assert!(matches!(
            run(b"554 go away\r\n"),
            Some(Outcome::Failed { code: 554, .. })
        ));
        assert!(matches!(
            run(b"421 busy\r\n"),
            Some(Outcome::Deferred {
                code: Some(421),
                ..
            })
        ));
        assert!(matches!(
            run(b"220 hi\r\n250 ok\r\n451 later\r\n"),
            Some(Outcome::Deferred {
                code: Some(451),
                ..
            })
        ));
        assert!(matches!(
            run(b"220 hi\r\n250 ok\r\n250 ok\r\n550 no such user\r\n"),
            Some(Outcome::Failed { code: 550, .. })
        ));
        assert!(matches!(
            run(b"garbage\r\n"),
            Some(Outcome::Deferred { code: None, .. })
        ));
        // Three digits, then SP, '-' or the end: "2201" and "+22" are not reply codes.
        for bad in [
            &b"2201 hi\r\n"[..],
            b"+22 hi\r\n",
            b"22 hi\r\n",
            b"220\thi\r\n",
        ] {
            assert!(
                matches!(run(bad), Some(Outcome::Deferred { code: None, .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(
            run(b"220\r\n250\r\n250 ok\r\n554\r\n"),
            Some(Outcome::Failed { code: 554, .. })
        ));
    }

    #[test]
    fn dot_stuffing() {
        assert_eq!(dot_stuff(b".a\n..b\nc"), b"..a\r\n...b\r\nc\r\n.\r\n");
        assert_eq!(dot_stuff(b"x\r\n"), b"x\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b".\r\n");
    }
}

/// A multiline reply that never ends, in short lines (each read resetting the driver's
/// timeout), is cut off at [`crate::client::MAX_REPLY`] bytes instead of growing without bound.
#[test]
fn a_never_ending_multiline_reply_is_cut_off() {
    use crate::client::{Action, Client, MAX_REPLY, Message, Outcome, TlsMode};
    let mut client = Client::new(
        "client.test",
        TlsMode::Required,
        Message::new("a@x.test", vec!["b@y.test".into()], b"hi\n".to_vec()),
    );
    let line = b"220-and on and on\r\n";
    let mut fed = 0usize;
    let outcome = loop {
        let actions = client.receive(line);
        fed += line.len();
        if let Some(Action::Done(outcome)) = actions.last() {
            break outcome.clone();
        }
        assert!(actions.is_empty(), "{actions:?}");
        assert!(fed <= MAX_REPLY + line.len(), "never cut off");
    };
    assert!(
        matches!(&outcome, Outcome::Deferred { code: None, text } if text.contains("reply too long")),
        "{outcome:?}"
    );
    // A long but finite EHLO reply still works.
    let mut client = Client::new(
        "client.test",
        TlsMode::Required,
        Message::new("a@x.test", vec!["b@y.test".into()], b"hi\n".to_vec()),
    );
    client.receive(b"220 hi\r\n");
    let mut ehlo = b"250-mx.test\r\n".repeat(500);
    ehlo.extend_from_slice(b"250 STARTTLS\r\n");
    assert_eq!(
        client.receive(&ehlo),
        vec![Action::Send(b"STARTTLS\r\n".to_vec())]
    );
}
