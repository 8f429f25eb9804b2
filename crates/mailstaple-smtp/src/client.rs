//! The SMTP client as a sans-IO state machine: one message to one host.
//!
//! The driver connects, feeds received bytes to [`Client::receive`] and carries out the
//! [`Action`]s: send bytes, start TLS (then [`Client::tls_started`] or [`Client::tls_failed`]),
//! or finish with an [`Outcome`]. Commands are sent one at a time (no PIPELINING), which keeps
//! the state machine small and every reply attributable.

use std::fmt;

/// Whether to use STARTTLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsMode {
    /// STARTTLS is mandatory: no clear-text delivery (`hosts_require_tls`, and every host in
    /// `hosts_require_ocsp`).
    Required,
    /// STARTTLS when the server offers it; clear text otherwise.
    Opportunistic,
    /// Never STARTTLS.
    Never,
}

/// The message to deliver.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Message {
    /// The reverse path (empty for the null sender).
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
    /// The message with CRLF line endings (LF alone is converted).
    pub data: Vec<u8>,
}

impl Message {
    /// A message.
    pub fn new(from: impl Into<String>, to: Vec<String>, data: Vec<u8>) -> Self {
        Message {
            from: from.into(),
            to,
            data,
        }
    }
}

/// How the delivery ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The server accepted the message (250 after DATA).
    Delivered {
        /// The final reply text.
        reply: String,
        /// Whether the session was under TLS.
        tls: bool,
    },
    /// A temporary failure: try again later (4xx, TLS or OCSP failure, connection trouble).
    Deferred {
        /// The reply code, if the server sent one.
        code: Option<u16>,
        /// What happened, in Exim's words where Exim has them.
        text: String,
    },
    /// A permanent failure (5xx).
    Failed {
        /// The reply code.
        code: u16,
        /// The server's text.
        text: String,
    },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Delivered { reply, .. } => write!(f, "delivered: {reply}"),
            Outcome::Deferred {
                code: Some(c),
                text,
            } => write!(f, "deferred: {c} {text}"),
            Outcome::Deferred { code: None, text } => write!(f, "deferred: {text}"),
            Outcome::Failed { code, text } => write!(f, "failed: {code} {text}"),
        }
    }
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Send these bytes.
    Send(Vec<u8>),
    /// Start the TLS handshake now, then call [`Client::tls_started`] or [`Client::tls_failed`].
    StartTls,
    /// The delivery is over: send QUIT if the connection is usable, then close.
    Done(Outcome),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Handshake,
    Mail,
    Rcpt(usize),
    Data,
    Body,
    Finished,
}

/// One delivery.
#[derive(Debug)]
pub struct Client {
    helo: String,
    tls_mode: TlsMode,
    message: Message,
    state: State,
    buf: Vec<u8>,
    lines: Vec<String>,
    /// The bytes of `lines`, capped by [`MAX_REPLY`].
    reply_len: usize,
    tls: bool,
    accepted: usize,
}

/// The most a reply may hold, all its lines together: a multiline reply that never ends would
/// otherwise grow without bound, each line resetting the driver's read timeout.
pub const MAX_REPLY: usize = 64 * 1024;

/// A complete reply: code and lines.
type Parsed = (u16, Vec<String>);

impl Client {
    /// A client that will greet as `helo`.
    pub fn new(helo: impl Into<String>, tls_mode: TlsMode, message: Message) -> Self {
        Client {
            helo: helo.into(),
            tls_mode,
            message,
            state: State::Greeting,
            buf: Vec::new(),
            lines: Vec::new(),
            reply_len: 0,
            tls: false,
            accepted: 0,
        }
    }

    /// Whether the session is under TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Feeds received bytes.
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<Action> {
        self.buf.extend_from_slice(bytes);
        let mut actions = Vec::new();
        while self.state != State::Finished && self.state != State::Handshake {
            let Some(reply) = self.next_reply() else {
                break;
            };
            match reply {
                Ok(r) => actions.extend(self.on_reply(r)),
                Err(text) => {
                    self.state = State::Finished;
                    actions.push(Action::Done(Outcome::Deferred { code: None, text }));
                }
            }
        }
        if self.buf.len() > 64 * 1024 && self.state != State::Finished {
            self.state = State::Finished;
            actions.push(Action::Done(Outcome::Deferred {
                code: None,
                text: "reply too long".into(),
            }));
        }
        actions
    }

    /// The TLS handshake succeeded: greet again (RFC 3207 §4.2).
    pub fn tls_started(&mut self) -> Vec<Action> {
        self.tls = true;
        self.buf.clear();
        self.state = State::Ehlo;
        vec![Action::Send(format!("EHLO {}\r\n", self.helo).into_bytes())]
    }

    /// The TLS handshake failed (`why` is the text to log, e.g. Exim's OCSP messages). The
    /// message is deferred: no clear-text retry on this connection.
    pub fn tls_failed(&mut self, why: impl Into<String>) -> Outcome {
        self.state = State::Finished;
        Outcome::Deferred {
            code: None,
            text: format!("TLS session: {}", why.into()),
        }
    }

    /// The connection closed before the delivery finished.
    pub fn connection_lost(&mut self) -> Option<Outcome> {
        if self.state == State::Finished {
            return None;
        }
        self.state = State::Finished;
        Some(Outcome::Deferred {
            code: None,
            text: "Connection closed by remote host".into(),
        })
    }

    fn next_reply(&mut self) -> Option<Result<Parsed, String>> {
        loop {
            let pos = self.buf.iter().position(|&b| b == b'\n')?;
            let raw: Vec<u8> = self.buf.drain(..=pos).collect();
            let line = String::from_utf8_lossy(&raw)
                .trim_end_matches(['\r', '\n'])
                .to_string();
            // RFC 5321 §4.2: three digits, then SP, `-` or the end of the line (as Exim's
            // smtp_read_response insists).
            let bytes = line.as_bytes();
            let code = bytes
                .get(..3)
                .filter(|d| d.iter().all(u8::is_ascii_digit))
                .filter(|_| matches!(bytes.get(3), None | Some(b' ' | b'-')))
                .and_then(|_| line.get(..3)?.parse::<u16>().ok())
                .filter(|c| (200..600).contains(c));
            let Some(code) = code else {
                return Some(Err(format!("malformed reply line: {line:?}")));
            };
            let more = bytes.get(3) == Some(&b'-');
            self.reply_len = self.reply_len.saturating_add(raw.len());
            if self.reply_len > MAX_REPLY {
                return Some(Err(format!(
                    "reply too long: more than {MAX_REPLY} bytes in one reply"
                )));
            }
            self.lines
                .push(line.get(4..).unwrap_or_default().to_string());
            if !more {
                self.reply_len = 0;
                return Some(Ok((code, std::mem::take(&mut self.lines))));
            }
        }
    }

    fn fail(&mut self, (code, lines): Parsed, during: &str) -> Vec<Action> {
        self.state = State::Finished;
        let text = format!(
            "SMTP error from remote mail server after {during}: {code} {}",
            lines.join(" ")
        );
        let outcome = if code >= 500 {
            Outcome::Failed { code, text }
        } else {
            Outcome::Deferred {
                code: Some(code),
                text,
            }
        };
        vec![Action::Done(outcome)]
    }

    fn send(&mut self, state: State, line: String) -> Vec<Action> {
        self.state = state;
        vec![Action::Send(line.into_bytes())]
    }

    fn mail(&mut self) -> Vec<Action> {
        let line = format!("MAIL FROM:<{}>\r\n", self.message.from);
        self.send(State::Mail, line)
    }

    fn on_reply(&mut self, reply: Parsed) -> Vec<Action> {
        let code = reply.0;
        match self.state {
            State::Greeting if code == 220 => {
                let line = format!("EHLO {}\r\n", self.helo);
                self.send(State::Ehlo, line)
            }
            State::Greeting => self.fail(reply, "initial connection"),
            State::Ehlo if code == 250 => {
                let starttls = reply.1.iter().any(|l| l.eq_ignore_ascii_case("STARTTLS"));
                match (self.tls, self.tls_mode, starttls) {
                    (false, TlsMode::Required | TlsMode::Opportunistic, true) => {
                        self.send(State::StartTls, "STARTTLS\r\n".into())
                    }
                    (false, TlsMode::Required, false) => {
                        self.state = State::Finished;
                        vec![Action::Done(Outcome::Deferred {
                            code: None,
                            text: "a TLS session is required, but the server did not offer TLS support".into(),
                        })]
                    }
                    _ => self.mail(),
                }
            }
            State::Ehlo if (500..=504).contains(&code) && !self.tls => {
                let line = format!("HELO {}\r\n", self.helo);
                self.send(State::Helo, line)
            }
            State::Ehlo => self.fail(reply, "EHLO"),
            State::Helo if code == 250 => {
                if self.tls_mode == TlsMode::Required {
                    self.state = State::Finished;
                    return vec![Action::Done(Outcome::Deferred {
                        code: None,
                        text: "a TLS session is required, but the server did not offer TLS support"
                            .into(),
                    })];
                }
                self.mail()
            }
            State::Helo => self.fail(reply, "HELO"),
            State::StartTls if code == 220 => {
                self.state = State::Handshake;
                self.buf.clear();
                vec![Action::StartTls]
            }
            State::StartTls if self.tls_mode == TlsMode::Opportunistic && code < 500 => self.mail(),
            State::StartTls => self.fail(reply, "STARTTLS"),
            State::Mail if code == 250 => self.rcpt(0),
            State::Mail => self.fail(reply, "MAIL FROM"),
            State::Rcpt(i) => {
                if code == 250 || code == 251 {
                    self.accepted += 1;
                }
                if i + 1 < self.message.to.len() {
                    return self.rcpt(i + 1);
                }
                if self.accepted == 0 {
                    return self.fail(reply, "RCPT TO");
                }
                self.send(State::Data, "DATA\r\n".into())
            }
            State::Data if code == 354 => {
                self.state = State::Body;
                vec![Action::Send(dot_stuff(&self.message.data))]
            }
            State::Data => self.fail(reply, "DATA"),
            State::Body if code == 250 => {
                self.state = State::Finished;
                vec![Action::Done(Outcome::Delivered {
                    reply: format!("{code} {}", reply.1.join(" ")),
                    tls: self.tls,
                })]
            }
            State::Body => self.fail(reply, "end of data"),
            State::Handshake | State::Finished => Vec::new(),
        }
    }

    fn rcpt(&mut self, i: usize) -> Vec<Action> {
        let to = self.message.to.get(i).cloned().unwrap_or_default();
        self.send(State::Rcpt(i), format!("RCPT TO:<{to}>\r\n"))
    }
}

/// CRLF line endings, dot-stuffing (RFC 5321 §4.5.2) and the final `.` line.
pub fn dot_stuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    let mut at_line_start = true;
    let mut prev = 0u8;
    for &b in data {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        at_line_start = b == b'\n';
        prev = b;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}
