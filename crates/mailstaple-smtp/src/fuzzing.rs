//! Fuzz harness logic for `smtp_server`; the target under `fuzz/` is a one-line shim.
//!
//! The harness drives a [`Session`] the way `net::serve` does (a `Store` is answered with
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
    let upto_tls = |events: &[Event]| -> usize {
        events
            .iter()
            .position(|e| matches!(e, Event::StartTls(_)))
            .map_or(events.len(), |i| i + 1)
    };
    let (a, b) = (upto_tls(&whole), upto_tls(&chunked));
    assert_eq!(
        whole.get(..a),
        chunked.get(..b),
        "chunking changed the session's answers before STARTTLS"
    );
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
    use super::smtp_server;

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
}
