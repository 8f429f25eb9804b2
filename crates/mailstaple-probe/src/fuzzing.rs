//! Fuzz harness logic for `probe_reply`; the target under `fuzz/` is a one-line shim.
//!
//! [`probe_reply`] feeds an arbitrary server byte stream to the probe's [`Session`] and checks
//! the promises the driver and the reports rely on:
//!
//! - chunking does not matter: the stream delivered whole and in input-chosen pieces gives the
//!   same steps up to the first `StartTls` (after which bytes pipelined behind the 220 are
//!   discarded when they came with it, RFC 3207), for streams within the byte cap;
//! - nothing follows `Ready`, `Failed` or `StartTls` in a batch, and a finished session stays
//!   silent;
//! - in clear text the probe sends only EHLO, HELO and STARTTLS (never an envelope command),
//!   and `Ready` comes only under TLS;
//! - a failure's message has no control character (remote text is escaped), and the session
//!   gives up once the server has sent more than its cap;
//!
//! and, on the same bytes, what the reports make of the remote side's other data:
//!
//! - [`describe`] of the bytes as a certificate and [`analyze`] of them as a staple never panic,
//!   and every text they produce is escaped and capped;
//! - [`order_mx`] of the bytes read as MX records gives hosts sorted by preference, each once,
//!   with valid lower-case names.
//!
//! Input layout: byte 0 is flags (bit 0: implicit TLS), byte 1 seeds the chunk sizes, the rest
//! is the server's byte stream (after STARTTLS is granted, the rest continues under "TLS").

use crate::dns::{MxAnswer, order_mx};
use crate::report::{Presented, analyze, describe};
use crate::session::{MAX_PLAIN_BYTES, MAX_TLS_BYTES, Session, Step};

/// `probe_reply`: see the module documentation.
pub fn probe_reply(data: &[u8]) {
    let (flags, seed, stream) = match data {
        [flags, seed, rest @ ..] => (*flags, *seed, rest),
        _ => return,
    };
    let tls_on_connect = flags & 1 != 0;
    let whole = run(tls_on_connect, std::iter::once(stream));
    let chunked = run(tls_on_connect, Chunks::new(stream, seed));
    if stream.len() <= MAX_PLAIN_BYTES {
        let upto_tls = |steps: &[Step]| -> Vec<Step> {
            let end = steps
                .iter()
                .position(|s| *s == Step::StartTls)
                .map_or(steps.len(), |i| i + 1);
            steps.get(..end).unwrap_or(steps).to_vec()
        };
        assert_eq!(
            upto_tls(&whole),
            upto_tls(&chunked),
            "chunking changed the probe's steps"
        );
    }

    remote_data(stream);
    mx_records(stream);
}

/// Feeds `chunks` to a session as the driver would, checking each batch; returns every step.
fn run<'a>(tls_on_connect: bool, chunks: impl Iterator<Item = &'a [u8]>) -> Vec<Step> {
    let mut session = Session::new("probe.fuzz.test", tls_on_connect);
    let mut tls = tls_on_connect;
    let mut all = Vec::new();
    let mut received = 0usize;
    for chunk in chunks {
        let done_before = session.is_done();
        received = received.saturating_add(chunk.len());
        let mut steps = session.receive(chunk);
        if done_before {
            assert!(steps.is_empty(), "a finished session spoke: {steps:?}");
        }
        if steps.last() == Some(&Step::StartTls) {
            assert!(!tls, "STARTTLS under TLS");
            tls = true;
            received = 0;
            steps.extend(session.tls_started());
        }
        check_batch(&steps, tls);
        if received > MAX_PLAIN_BYTES.max(MAX_TLS_BYTES) {
            assert!(session.is_done(), "the session went on past its cap");
        }
        all.extend(steps);
    }
    all
}

fn check_batch(steps: &[Step], tls: bool) {
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        match step {
            Step::Send(bytes) => {
                let upper = bytes.to_ascii_uppercase();
                assert!(
                    upper.starts_with(b"EHLO ")
                        || upper.starts_with(b"HELO ")
                        || upper == b"STARTTLS\r\n",
                    "the probe sent {:?}",
                    String::from_utf8_lossy(bytes)
                );
                assert!(bytes.ends_with(b"\r\n"));
            }
            Step::StartTls => {
                // tls_started's EHLO may follow in the same list.
                assert!(
                    steps
                        .get(i + 1..)
                        .unwrap_or_default()
                        .iter()
                        .all(|s| matches!(s, Step::Send(_) | Step::Failed(_))),
                    "steps after StartTls: {steps:?}"
                );
            }
            Step::Ready => {
                assert!(tls, "ready without TLS");
                assert!(last, "steps after Ready: {steps:?}");
            }
            Step::Failed(f) => {
                assert!(last, "steps after Failed: {steps:?}");
                assert_escaped(&f.message);
            }
        }
    }
}

fn assert_escaped(text: &str) {
    assert!(
        !text.chars().any(char::is_control),
        "unescaped control character in {text:?}"
    );
    assert!(
        text.chars().count() <= crate::MAX_TEXT + 3 + 200,
        "text not capped: {} chars",
        text.len()
    );
}

fn remote_data(bytes: &[u8]) {
    if let Some(info) = describe(bytes) {
        for text in [&info.subject, &info.issuer, &info.serial]
            .into_iter()
            .chain(&info.names)
            .chain(&info.ocsp_urls)
        {
            assert_escaped(text);
        }
    }
    let presented = Presented {
        leaf: bytes.to_vec(),
        intermediates: Vec::new(),
        chain_length: 1,
        staple: bytes.to_vec(),
        chain: Ok(()),
    };
    let now = rustls::pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        1_780_272_000,
    ));
    let (_, staple, exim) = analyze(
        &presented,
        &[],
        now,
        &crate::net::ProbeConfig::new("x").verify_policy,
    );
    // Without a trust anchor or a presented issuer, nothing can verify.
    assert_ne!(staple.verdict.name(), "good");
    assert!(!exim.deliver, "delivered without a verified staple");
    if let Some(text) = &exim.defer {
        assert_escaped(text);
    }
    match &staple.verdict {
        crate::Verdict::Invalid { reason } | crate::Verdict::OutOfDate { reason } => {
            assert_escaped(reason);
        }
        _ => {}
    }
}

fn mx_records(bytes: &[u8]) {
    // Records: preference (2 bytes), length (1 byte), exchange.
    let mut records = Vec::new();
    let mut rest = bytes;
    while let [a, b, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (name, after) = tail.split_at(n);
        records.push((
            u16::from_be_bytes([*a, *b]),
            String::from_utf8_lossy(name).into_owned(),
        ));
        rest = after;
    }
    match order_mx(&records) {
        MxAnswer::NullMx => assert!(records.iter().all(|(_, e)| e == "." || e.is_empty())),
        MxAnswer::Hosts(hosts) => {
            assert!(hosts.len() <= crate::dns::MAX_MX);
            assert!(
                hosts
                    .windows(2)
                    .all(|w| matches!(w, [a, b] if a.preference <= b.preference))
            );
            let mut names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
            for name in &names {
                assert!(
                    crate::target::parse_name(name).as_deref() == Ok(*name),
                    "bad name {name:?}"
                );
            }
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "a host listed twice");
        }
    }
}

/// Splits a stream into input-chosen pieces (1 to 64 bytes, from a xorshift seeded by `seed`).
struct Chunks<'a> {
    rest: &'a [u8],
    state: u32,
}

impl<'a> Chunks<'a> {
    fn new(rest: &'a [u8], seed: u8) -> Self {
        Chunks {
            rest,
            state: u32::from(seed) | 0x100,
        }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        let n = usize::try_from(self.state % 64).unwrap_or(0) + 1;
        let (head, tail) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = tail;
        Some(head)
    }
}
