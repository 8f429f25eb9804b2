//! Fuzz harness logic for `smtp_server` and `smtp_client`; the targets under `fuzz/` are
//! one-line shims.
//!
//! [`smtp_server`] drives a [`Session`] the way `net::serve` does (a `Store` is answered with
//! [`Session::stored`] and the session is then fed nothing to drain pipelined commands; a
//! `StartTls` ends the current chunk), and checks what a client and the spool rely on:
//!
//! - chunking does not matter: the bytes delivered in one piece and in input-chosen pieces give
//!   the same events, up to the first `StartTls` (after which RFC 3207 makes them differ: bytes
//!   pipelined behind STARTTLS are discarded);
//! - every reply is well formed: a code from 200 to 599 and text without CR, LF or other control
//!   characters, so nothing a client sends can be echoed back as an extra reply line;
//! - a message is never acknowledged by the session itself: after the 354 the next event is a
//!   `Store`, a 5xx refusal or a close, never a 2xx;
//! - a stored envelope has a HELO name and 1..=max recipients, fits the size limit, has only
//!   CRLF-terminated lines within the line limit, and carries the session's TLS state;
//! - nothing follows a `Close` or a `StartTls` in the same batch, a closed session stays closed,
//!   and STARTTLS is never offered or granted twice.
//!
//! Input layout: byte 0 is flags (bit 0: STARTTLS offered, bit 1: small limits, bit 2: storing
//! fails, bit 3: the TLS handshake fails), byte 1 seeds the chunk sizes, the rest is the client's
//! byte stream.
//!
//! [`smtp_client`] has two halves, chosen by bit 7 of its first byte. Against a hostile server
//! (the rest of the input is the server's byte stream) it checks the promises `send` makes:
//! chunking does not matter up to STARTTLS; `Done` comes once and last; with STARTTLS required
//! nothing is sent in clear text after the greeting but EHLO, HELO and STARTTLS, and a delivery
//! is only ever reported under TLS; with TLS off, STARTTLS is never sent; the message body goes
//! out once, only after a 354, and "delivered" needs a 250 after it; "failed" needs a 5xx.
//! Against our own [`Session`] (the rest of the input is the message) it checks the round trip:
//! the message is delivered and stored byte for byte as sent (line ends made CRLF), or refused
//! for a line over the limit.
use crate::client::{Action, Client, Message, Outcome, TlsMode};
use crate::session::{Envelope, Event, Limits, Reply, Session, SessionConfig};

/// `smtp_server`: see the module documentation.
pub fn smtp_server(data: &[u8]) {
    let (flags, seed, stream) = match data {
        [flags, seed, rest @ ..] => (*flags, *seed, rest),
        _ => return,
    };
    let config = config(flags);

    let whole = run(&config, flags, std::iter::once(stream));
    let chunked = run(&config, flags, Chunks::new(stream, seed));
    let upto_tls = |e: &Event| matches!(e, Event::StartTls(_));
    assert_eq!(
        through_first(&whole, upto_tls),
        through_first(&chunked, upto_tls),
        "chunking changed the session's answers before STARTTLS"
    );
}

/// `items` up to and including the first one for which `stop` holds; all of them if none.
fn through_first<T>(items: &[T], stop: impl Fn(&T) -> bool) -> &[T] {
    let end = items.iter().position(stop).map_or(items.len(), |i| i + 1);
    items.get(..end).unwrap_or(items)
}

fn config(flags: u8) -> SessionConfig {
    let mut config = SessionConfig::new("mx.fuzz.test", flags & 1 != 0);
    if flags & 2 != 0 {
        config.limits = Limits {
            max_command_line: 40,
            max_data_line: 30,
            max_message_size: 200,
            max_recipients: 3,
            max_commands: 40,
            max_errors: 4,
        };
    }
    config
}

/// Feeds `chunks` to a fresh session as a driver would and returns every event, checking the
/// per-event promises on the way.
fn run<'a>(
    config: &SessionConfig,
    flags: u8,
    chunks: impl Iterator<Item = &'a [u8]>,
) -> Vec<Event> {
    let mut session = Session::new(config.clone());
    check_reply(&session.greeting());
    let mut all = Vec::new();
    let mut after_354 = false;
    let mut tls_granted = false;
    for chunk in chunks {
        let mut input = chunk;
        loop {
            let was_tls = session.is_tls();
            let events = session.receive(input);
            input = &[];
            let mut again = false;
            for (i, event) in events.iter().enumerate() {
                let last = i + 1 == events.len();
                if after_354 {
                    let acknowledged = matches!(event, Event::Reply(r) if r.code < 300);
                    assert!(!acknowledged, "a 2xx after DATA without storing: {event:?}");
                }
                after_354 = false;
                match event {
                    Event::Reply(reply) => {
                        check_reply(reply);
                        after_354 = reply.code == 354;
                        if reply.code == 250 && reply.lines.iter().any(|l| l == "STARTTLS") {
                            assert!(config.starttls && !was_tls, "STARTTLS offered wrongly");
                        }
                    }
                    Event::Close(reply) => {
                        check_reply(reply);
                        assert!(last && session.is_done(), "events after a close");
                    }
                    Event::StartTls(reply) => {
                        check_reply(reply);
                        assert!(last, "events after STARTTLS's 220");
                        assert!(config.starttls && !tls_granted, "STARTTLS granted wrongly");
                        tls_granted = true;
                    }
                    Event::Store(envelope) => {
                        assert!(last, "events after a message to store");
                        check_envelope(envelope, &config.limits, was_tls);
                        again = true;
                    }
                }
            }
            all.extend(events.iter().cloned());
            match events.last() {
                Some(Event::Store(_)) => {
                    let reply = session.stored(if flags & 4 == 0 {
                        Ok("fuzz".to_owned())
                    } else {
                        Err("disk full".to_owned())
                    });
                    check_reply(&reply);
                    all.push(Event::Reply(reply));
                }
                Some(Event::StartTls(_)) => {
                    if flags & 8 != 0 {
                        return all;
                    }
                    session.tls_started();
                    // The rest of this chunk was pipelined behind STARTTLS: discarded.
                    break;
                }
                Some(Event::Close(_)) => {
                    assert!(
                        session.receive(b"NOOP\r\n").is_empty(),
                        "a closed session answered"
                    );
                    return all;
                }
                _ => {}
            }
            if !again {
                break;
            }
        }
    }
    all
}

fn check_reply(reply: &Reply) {
    assert!(
        (200..600).contains(&reply.code),
        "reply code {}",
        reply.code
    );
    for line in &reply.lines {
        assert!(
            !line.chars().any(char::is_control),
            "control character in reply text {line:?}"
        );
    }
    let wire = reply.to_wire();
    assert!(wire.ends_with("\r\n"));
    assert_eq!(wire.matches("\r\n").count(), reply.lines.len().max(1));
}

fn check_envelope(envelope: &Envelope, limits: &Limits, tls: bool) {
    assert!(!envelope.helo.is_empty(), "stored without HELO");
    assert!(
        (1..=limits.max_recipients).contains(&envelope.rcpt_to.len()),
        "{} recipients",
        envelope.rcpt_to.len()
    );
    assert!(envelope.data.len() <= limits.max_message_size);
    assert_eq!(envelope.tls, tls);
    if !envelope.data.is_empty() {
        assert!(envelope.data.ends_with(b"\r\n"));
    }
    for line in envelope.data.split_inclusive(|&b| b == b'\n') {
        assert!(line.ends_with(b"\r\n"), "line {line:?} not CRLF-terminated");
        // The limit counts the line as sent: CRLF and a stuffed dot included.
        assert!(
            line.len() <= limits.max_data_line,
            "line of {} bytes",
            line.len()
        );
    }
}

/// `smtp_client`: see the module documentation.
pub fn smtp_client(data: &[u8]) {
    let (flags, seed, rest) = match data {
        [flags, seed, rest @ ..] => (*flags, *seed, rest),
        _ => return,
    };
    if flags & 0x80 != 0 {
        round_trip(flags, rest);
        return;
    }
    let mode = match flags & 3 {
        0 => TlsMode::Required,
        1 => TlsMode::Opportunistic,
        _ => TlsMode::Never,
    };
    let whole = drive_client(mode, flags, std::iter::once(rest));
    let chunked = drive_client(mode, flags, Chunks::new(rest, seed));
    let upto_tls = |a: &Action| matches!(a, Action::StartTls);
    assert_eq!(
        through_first(&whole, upto_tls),
        through_first(&chunked, upto_tls),
        "chunking changed the client's actions before STARTTLS"
    );
}

fn fuzz_message() -> Message {
    Message::new(
        "from@fuzz.test",
        vec!["a@fuzz.test".to_owned(), "b@fuzz.test".to_owned()],
        b"Subject: fuzz\r\n\r\n.leading dot\r\n".to_vec(),
    )
}

/// Runs the client against server bytes, checking its promises; returns every action.
fn drive_client<'a>(
    mode: TlsMode,
    flags: u8,
    chunks: impl Iterator<Item = &'a [u8]>,
) -> Vec<Action> {
    let message = fuzz_message();
    let body = crate::client::dot_stuff(&message.data);
    let mut client = Client::new("client.fuzz.test", mode, message);
    let mut all = Vec::new();
    let mut tls = false;
    let mut last_code_354 = false;
    let mut body_sent = false;
    let mut done = false;
    let mut tail: Vec<u8> = Vec::new();
    let check = |action: &Action, tls: bool, saw_354: bool, body_sent: &mut bool| match action {
        Action::Send(bytes) if bytes == &body => {
            assert!(saw_354, "the body went out without a 354");
            assert!(!*body_sent, "the body went out twice");
            assert!(
                tls || mode != TlsMode::Required,
                "the body went out in clear text"
            );
            *body_sent = true;
        }
        Action::Send(bytes) => {
            let line = String::from_utf8_lossy(bytes);
            assert!(line.ends_with("\r\n") && line.matches('\n').count() == 1);
            let verb = line.split([' ', '\r']).next().unwrap_or_default();
            if mode == TlsMode::Required && !tls {
                assert!(
                    matches!(verb, "EHLO" | "HELO" | "STARTTLS"),
                    "{verb} sent in clear text with TLS required"
                );
            }
            if mode == TlsMode::Never {
                assert_ne!(verb, "STARTTLS", "STARTTLS with TLS off");
            }
        }
        Action::StartTls => assert_ne!(mode, TlsMode::Never, "a handshake with TLS off"),
        Action::Done(outcome) => match outcome {
            Outcome::Delivered { tls: under_tls, .. } => {
                assert!(*body_sent, "delivered without sending the body");
                assert_eq!(*under_tls, tls);
                assert!(tls || mode != TlsMode::Required, "delivered in clear text");
            }
            Outcome::Failed { code, .. } => assert!(*code >= 500),
            Outcome::Deferred { code, .. } => assert!(code.is_none_or(|c| c < 600)),
        },
    };
    'chunks: for chunk in chunks {
        let actions = client.receive(chunk);
        // A 354 anywhere in the bytes so far (across chunk boundaries too) is a necessary
        // condition for the body.
        tail.extend_from_slice(chunk);
        last_code_354 |= contains_reply(&tail, b"354");
        let keep = tail.len().saturating_sub(2);
        tail.drain(..keep);
        for (i, action) in actions.iter().enumerate() {
            assert!(!done, "an action after Done: {action:?}");
            check(action, tls, last_code_354, &mut body_sent);
            match action {
                Action::Done(_) => done = true,
                Action::StartTls => {
                    assert_eq!(i + 1, actions.len(), "actions after StartTls");
                    all.extend(actions.iter().cloned());
                    if flags & 4 != 0 {
                        let outcome = client.tls_failed("fuzz");
                        assert!(matches!(outcome, Outcome::Deferred { .. }));
                        return all;
                    }
                    tls = true;
                    for action in client.tls_started() {
                        check(&action, tls, last_code_354, &mut body_sent);
                        all.push(action);
                    }
                    continue 'chunks;
                }
                _ => {}
            }
        }
        all.extend(actions);
        if done {
            assert!(
                client.receive(b"250 OK\r\n").is_empty(),
                "a finished client acted"
            );
            return all;
        }
    }
    if let Some(outcome) = client.connection_lost() {
        assert!(!done);
        assert!(matches!(outcome, Outcome::Deferred { .. }));
    }
    all
}

fn contains_reply(bytes: &[u8], code: &[u8]) -> bool {
    bytes.windows(code.len()).any(|w| w == code)
}

/// The client delivering `data` to our own session, both in memory.
fn round_trip(flags: u8, data: &[u8]) {
    let mut config = SessionConfig::new("mx.fuzz.test", flags & 1 != 0);
    config.limits.max_data_line = 80;
    let limit = config.limits.max_data_line;
    let mut session = Session::new(config);
    let mode = if flags & 1 != 0 {
        TlsMode::Required
    } else {
        TlsMode::Opportunistic
    };
    let message = Message::new("a@fuzz.test", vec!["b@fuzz.test".to_owned()], data.to_vec());
    let mut client = Client::new("client.fuzz.test", mode, message);
    let mut to_client = session.greeting().to_wire().into_bytes();
    let mut stored = None;
    let mut outcome = None;
    for _ in 0..64 {
        let mut to_server = Vec::new();
        for action in client.receive(&std::mem::take(&mut to_client)) {
            match action {
                Action::Send(bytes) => to_server.extend(bytes),
                Action::StartTls => {
                    to_server.clear();
                    session.tls_started();
                    for action in client.tls_started() {
                        if let Action::Send(bytes) = action {
                            to_server.extend(bytes);
                        }
                    }
                }
                Action::Done(o) => outcome = Some(o),
            }
        }
        if outcome.is_some() {
            break;
        }
        for event in session.receive(&to_server) {
            match event {
                Event::Reply(reply) | Event::StartTls(reply) | Event::Close(reply) => {
                    to_client.extend(reply.to_wire().into_bytes());
                }
                Event::Store(envelope) => {
                    stored = Some(envelope.data);
                    to_client.extend(session.stored(Ok("fuzz".to_owned())).to_wire().into_bytes());
                }
            }
        }
    }
    // What the session must store: CRLF line ends, a final CRLF.
    let mut expected = Vec::new();
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            expected.push(b'\r');
        }
        expected.push(b);
        prev = b;
    }
    if !expected.is_empty() && !expected.ends_with(b"\r\n") {
        expected.extend_from_slice(b"\r\n");
    }
    let too_long = expected
        .split_inclusive(|&b| b == b'\n')
        .any(|line| line.len() + usize::from(line.first() == Some(&b'.')) > limit);
    assert!(
        matches!(
            outcome,
            Some(Outcome::Delivered { .. } | Outcome::Failed { code: 500, .. })
        ),
        "the round trip ended {outcome:?}"
    );
    match outcome {
        Some(Outcome::Delivered { tls, .. }) => {
            assert!(!too_long, "a line over the limit was accepted");
            assert_eq!(
                stored.as_deref(),
                Some(expected.as_slice()),
                "stored differs from sent"
            );
            assert_eq!(tls, flags & 1 != 0);
        }
        Some(Outcome::Failed { code: 500, .. }) => {
            assert!(too_long, "refused a message within limits")
        }
        _ => {}
    }
}

/// The stream cut into pieces of 1 to 16 bytes, sizes from a small generator seeded by `seed`.
struct Chunks<'a> {
    rest: &'a [u8],
    state: u8,
}

impl<'a> Chunks<'a> {
    fn new(stream: &'a [u8], seed: u8) -> Self {
        Chunks {
            rest: stream,
            state: seed,
        }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        self.state = self.state.wrapping_mul(97).wrapping_add(31);
        let size = usize::from(self.state >> 4) + 1;
        let (head, tail) = self.rest.split_at(size.min(self.rest.len()));
        self.rest = tail;
        Some(head)
    }
}

#[cfg(test)]
mod tests {
    use super::{smtp_client, smtp_server};

    #[test]
    fn a_whole_conversation_passes_the_harness() {
        let stream = b"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n\
            Subject: hi\r\n..dot\r\n.\r\nRSET\r\nSTARTTLS\r\nEHLO again\r\nQUIT\r\n";
        for flags in 0..16u8 {
            for seed in [0u8, 1, 77, 255] {
                smtp_server(&[&[flags, seed][..], stream].concat());
            }
        }
    }

    #[test]
    fn a_well_behaved_server_and_the_round_trip_pass_the_harness() {
        let server = b"220 mx ESMTP\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n250-mx\r\n250 SIZE\r\n\
            250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n250 OK id=1\r\n";
        for flags in 0..8u8 {
            for seed in [0u8, 9, 200] {
                smtp_client(&[&[flags, seed][..], server].concat());
            }
        }
        for data in [&b""[..], b"x", b".\n..\r\n.", b"a\rb\r\r\nc", &[b'y'; 200]] {
            smtp_client(&[&[0x80, 0][..], data].concat());
            smtp_client(&[&[0x81, 0][..], data].concat());
        }
    }
}
