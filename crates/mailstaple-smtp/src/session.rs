//! The SMTP server session as a sans-IO state machine (RFC 5321, RFC 3207 STARTTLS).
//!
//! The driver feeds received bytes with [`Session::receive`] and gets back [`Event`]s: replies to
//! send, a request to start TLS, a message to store durably before acknowledging it, or the end
//! of the session. Nothing here does I/O or reads a clock; time limits are the driver's.

use std::fmt;

/// Limits that keep one client from exhausting the server.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Limits {
    /// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4: 512).
    pub max_command_line: usize,
    /// Longest text line in DATA, CRLF included ([`DEFAULT_DATA_LINE_LIMIT`]). RFC 5321
    /// §4.5.3.1.6 sets 1000, but mail with longer lines exists and Exim and Postfix take it, so
    /// lines up to this limit are accepted and stored as received (not folded, unlike Postfix's
    /// `line_length_limit` of 2048); a message with a longer line is refused at its end with
    /// `500 5.5.2`.
    pub max_data_line: usize,
    /// Largest message, in bytes after dot-unstuffing (advertised with SIZE).
    pub max_message_size: usize,
    /// Most recipients per message.
    pub max_recipients: usize,
    /// Most commands in one session.
    pub max_commands: usize,
    /// Most consecutive errors before the session is closed.
    pub max_errors: usize,
}

/// The default [`Limits::max_data_line`]: 8192 octets, CRLF included, eight times RFC 5321's
/// 1000 and four times the 2048 at which Postfix folds.
pub const DEFAULT_DATA_LINE_LIMIT: usize = 8192;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_command_line: 512,
            max_data_line: DEFAULT_DATA_LINE_LIMIT,
            max_message_size: 10 * 1024 * 1024,
            max_recipients: 100,
            max_commands: 1000,
            max_errors: 10,
        }
    }
}

/// A reply: code and text lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text, one entry per line (multi-line replies use `-` continuation).
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, text: impl Into<String>) -> Self {
        Reply {
            code,
            lines: vec![text.into()],
        }
    }

    /// The wire form, CRLF-terminated.
    pub fn to_wire(&self) -> String {
        let mut out = String::new();
        let n = self.lines.len();
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i + 1 == n { ' ' } else { '-' };
            out.push_str(&format!("{}{sep}{line}\r\n", self.code));
        }
        if n == 0 {
            out.push_str(&format!("{}\r\n", self.code));
        }
        out
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.lines.join(" / "))
    }
}

/// A message received in full, waiting to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Envelope {
    /// The HELO/EHLO name.
    pub helo: String,
    /// The reverse path (empty for the null sender).
    pub mail_from: String,
    /// The forward paths.
    pub rcpt_to: Vec<String>,
    /// The message, dot-unstuffed, CRLF line endings, without the final `.` line.
    pub data: Vec<u8>,
    /// Whether the session was under TLS when the message arrived.
    pub tls: bool,
}

/// What the driver must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Send this reply.
    Reply(Reply),
    /// Send the 220 reply, then start the TLS handshake on the connection, then call
    /// [`Session::tls_started`]. Bytes already buffered after STARTTLS are discarded (RFC 3207
    /// §5: a client must not pipeline past it; this closes the command-injection hole).
    StartTls(Reply),
    /// Store this message durably, then call [`Session::stored`] with the outcome: the 250 goes
    /// out only after the message is on disk.
    Store(Envelope),
    /// Send this reply and close the connection.
    Close(Reply),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before EHLO/HELO.
    Fresh,
    /// After EHLO/HELO, no transaction.
    Ready,
    /// After MAIL.
    Mail,
    /// After at least one RCPT.
    Rcpt,
    /// Receiving DATA.
    Data,
    /// A message waits for [`Session::stored`].
    Storing,
    /// Closed.
    Done,
}

/// Configuration of one server session.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Our host name, used in the greeting and EHLO reply.
    pub hostname: String,
    /// Whether STARTTLS is offered.
    pub starttls: bool,
    /// Limits.
    pub limits: Limits,
}

impl SessionConfig {
    /// A configuration with default limits.
    pub fn new(hostname: impl Into<String>, starttls: bool) -> Self {
        SessionConfig {
            hostname: hostname.into(),
            starttls,
            limits: Limits::default(),
        }
    }
}

/// One SMTP server session.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    buf: Vec<u8>,
    helo: String,
    mail_from: String,
    rcpt_to: Vec<String>,
    data: Vec<u8>,
    data_too_big: bool,
    data_line_too_long: bool,
    /// The rest of an overlong line is being dropped up to its LF, so that it cannot be taken
    /// for a command or for the end of the message, whichever way the bytes were split.
    discarding: bool,
    tls: bool,
    commands: usize,
    errors: usize,
}

impl Session {
    /// A new session; the driver sends [`Session::greeting`] first.
    pub fn new(config: SessionConfig) -> Self {
        Session {
            config,
            state: State::Fresh,
            buf: Vec::new(),
            helo: String::new(),
            mail_from: String::new(),
            rcpt_to: Vec::new(),
            data: Vec::new(),
            data_too_big: false,
            data_line_too_long: false,
            discarding: false,
            tls: false,
            commands: 0,
            errors: 0,
        }
    }

    /// The 220 greeting.
    pub fn greeting(&self) -> Reply {
        Reply::new(220, format!("{} ESMTP mailstaple", self.config.hostname))
    }

    /// Whether the session is under TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether the session has ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The TLS handshake succeeded: the session starts over (RFC 3207 §4.2).
    pub fn tls_started(&mut self) {
        self.tls = true;
        self.state = State::Fresh;
        self.buf.clear();
        self.discarding = false;
        self.reset_transaction();
        self.helo.clear();
    }

    /// The driver stored (or failed to store) the message from [`Event::Store`].
    pub fn stored(&mut self, result: Result<String, String>) -> Reply {
        self.reset_transaction();
        if self.state == State::Storing {
            self.state = State::Ready;
        }
        match result {
            Ok(id) => Reply::new(250, format!("OK id={id}")),
            Err(why) => Reply::new(
                451,
                format!("Temporary local problem storing the message: {why}"),
            ),
        }
    }

    /// Feeds received bytes; returns what to do, in order.
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.buf.extend_from_slice(bytes);
        let mut events = Vec::new();
        while self.state != State::Done && self.state != State::Storing {
            let limit = if self.state == State::Data {
                self.config.limits.max_data_line
            } else {
                self.config.limits.max_command_line
            };
            let newline = self.buf.iter().position(|&b| b == b'\n');
            if self.discarding {
                let Some(pos) = newline else {
                    self.buf.clear();
                    break;
                };
                self.buf.drain(..=pos);
                self.discarding = false;
                continue;
            }
            let Some(pos) = newline else {
                if self.buf.len() > limit {
                    // Too long already: drop it up to its LF and answer as if it were whole.
                    self.buf.clear();
                    self.discarding = true;
                    if self.state == State::Data {
                        // The message is refused at its end.
                        self.data_line_too_long = true;
                    } else {
                        events.push(self.error(Reply::new(500, "5.5.2 Line too long")));
                    }
                }
                break;
            };
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            if line.len() > limit {
                if self.state == State::Data {
                    self.data_line_too_long = true;
                    continue;
                }
                events.push(self.error(Reply::new(500, "5.5.2 Line too long")));
                continue;
            }
            let content = line.strip_suffix(b"\n").unwrap_or(&line);
            let content = content.strip_suffix(b"\r").unwrap_or(content);
            if self.state == State::Data {
                // The limit is on the line as stored, with CRLF: a line ended by a bare LF
                // grows by one byte.
                if content.len() + 2 > limit {
                    self.data_line_too_long = true;
                    continue;
                }
                if let Some(e) = self.data_line(content) {
                    events.push(e);
                }
                continue;
            }
            let event = self.command(content);
            let stop = matches!(event, Event::StartTls(_));
            events.push(event);
            if stop {
                // RFC 3207 §5: anything the client sent after STARTTLS before the handshake is
                // discarded.
                self.buf.clear();
                break;
            }
        }
        events
    }

    fn reset_transaction(&mut self) {
        self.mail_from.clear();
        self.rcpt_to.clear();
        self.data.clear();
        self.data_too_big = false;
        self.data_line_too_long = false;
    }

    fn error(&mut self, reply: Reply) -> Event {
        self.errors += 1;
        if self.errors >= self.config.limits.max_errors {
            self.state = State::Done;
            return Event::Close(Reply::new(421, "4.7.0 Too many errors, closing connection"));
        }
        Event::Reply(reply)
    }

    fn ok(&mut self, reply: Reply) -> Event {
        self.errors = 0;
        Event::Reply(reply)
    }

    fn data_line(&mut self, line: &[u8]) -> Option<Event> {
        if line == b"." {
            let too_big = self.data_too_big;
            let too_long = self.data_line_too_long;
            if too_big || too_long {
                self.reset_transaction();
                self.state = State::Ready;
                return Some(if too_big {
                    Event::Reply(Reply::new(552, "5.3.4 Message too big"))
                } else {
                    Event::Reply(Reply::new(
                        500,
                        format!(
                            "5.5.2 Line too long in message (more than {} octets)",
                            self.config.limits.max_data_line
                        ),
                    ))
                });
            }
            self.state = State::Storing;
            return Some(Event::Store(Envelope {
                helo: self.helo.clone(),
                mail_from: self.mail_from.clone(),
                rcpt_to: self.rcpt_to.clone(),
                data: std::mem::take(&mut self.data),
                tls: self.tls,
            }));
        }
        // Dot-unstuffing (RFC 5321 §4.5.2).
        let line = line.strip_prefix(b".").unwrap_or(line);
        if self.data.len() + line.len() + 2 > self.config.limits.max_message_size {
            self.data_too_big = true;
            return None;
        }
        if !self.data_too_big {
            self.data.extend_from_slice(line);
            self.data.extend_from_slice(b"\r\n");
        }
        None
    }

    fn command(&mut self, line: &[u8]) -> Event {
        self.commands += 1;
        if self.commands > self.config.limits.max_commands {
            self.state = State::Done;
            return Event::Close(Reply::new(
                421,
                "4.7.0 Too many commands, closing connection",
            ));
        }
        let Ok(text) = std::str::from_utf8(line) else {
            return self.error(Reply::new(500, "5.5.2 Command is not UTF-8"));
        };
        // RFC 5321 §4.1.1: commands are printable text separated by SP. A bare CR, a NUL or any
        // other control character would otherwise be echoed into a reply (EHLO's greeting line).
        if text.chars().any(char::is_control) {
            return self.error(Reply::new(500, "5.5.2 Control character in command"));
        }
        let (verb, arg) = match text.split_once(' ') {
            Some((v, a)) => (v, a.trim()),
            None => (text.trim(), ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" | "HELO" if arg.is_empty() => {
                self.error(Reply::new(501, "5.5.4 Syntax: EHLO hostname"))
            }
            "EHLO" => {
                self.helo = arg.to_string();
                self.reset_transaction();
                self.state = State::Ready;
                let mut lines = vec![
                    format!("{} Hello {arg}", self.config.hostname),
                    format!("SIZE {}", self.config.limits.max_message_size),
                    "8BITMIME".to_string(),
                ];
                if self.config.starttls && !self.tls {
                    lines.push("STARTTLS".to_string());
                }
                lines.push("HELP".to_string());
                self.ok(Reply { code: 250, lines })
            }
            "HELO" => {
                self.helo = arg.to_string();
                self.reset_transaction();
                self.state = State::Ready;
                let text = format!("{} Hello {arg}", self.config.hostname);
                self.ok(Reply::new(250, text))
            }
            "STARTTLS" => {
                if !self.config.starttls {
                    self.error(Reply::new(502, "5.5.1 STARTTLS not available"))
                } else if self.tls {
                    self.error(Reply::new(503, "5.5.1 TLS already active"))
                } else if !arg.is_empty() {
                    self.error(Reply::new(501, "5.5.4 STARTTLS takes no argument"))
                } else if self.state == State::Fresh {
                    self.error(Reply::new(503, "5.5.1 EHLO first"))
                } else {
                    self.errors = 0;
                    Event::StartTls(Reply::new(220, "2.0.0 Ready to start TLS"))
                }
            }
            "MAIL" => match (self.state, path_arg(arg, "FROM:")) {
                (State::Fresh, _) => self.error(Reply::new(503, "5.5.1 EHLO first")),
                (State::Mail | State::Rcpt, _) => {
                    self.error(Reply::new(503, "5.5.1 Nested MAIL command"))
                }
                (_, None) => self.error(Reply::new(501, "5.5.4 Syntax: MAIL FROM:<address>")),
                (_, Some((path, params))) => {
                    if let Some(size) = size_param(params)
                        && size > self.config.limits.max_message_size
                    {
                        return self.error(Reply::new(552, "5.3.4 Message size exceeds limit"));
                    }
                    self.mail_from = path;
                    self.state = State::Mail;
                    self.ok(Reply::new(250, "2.1.0 OK"))
                }
            },
            "RCPT" => match (self.state, path_arg(arg, "TO:")) {
                (State::Mail | State::Rcpt, Some((path, _))) if !path.is_empty() => {
                    if self.rcpt_to.len() >= self.config.limits.max_recipients {
                        return self.error(Reply::new(452, "4.5.3 Too many recipients"));
                    }
                    self.rcpt_to.push(path);
                    self.state = State::Rcpt;
                    self.ok(Reply::new(250, "2.1.5 OK"))
                }
                (State::Mail | State::Rcpt, _) => {
                    self.error(Reply::new(501, "5.5.4 Syntax: RCPT TO:<address>"))
                }
                _ => self.error(Reply::new(503, "5.5.1 MAIL first")),
            },
            "DATA" => match self.state {
                State::Rcpt if arg.is_empty() => {
                    self.state = State::Data;
                    self.data.clear();
                    self.ok(Reply::new(
                        354,
                        "Enter message, ending with \".\" on a line by itself",
                    ))
                }
                State::Rcpt => self.error(Reply::new(501, "5.5.4 DATA takes no argument")),
                _ => self.error(Reply::new(503, "5.5.1 RCPT first")),
            },
            "RSET" => {
                self.reset_transaction();
                if self.state != State::Fresh {
                    self.state = State::Ready;
                }
                self.ok(Reply::new(250, "2.0.0 OK"))
            }
            "NOOP" => self.ok(Reply::new(250, "2.0.0 OK")),
            "HELP" => self.ok(Reply::new(
                214,
                "2.0.0 Commands: EHLO HELO STARTTLS MAIL RCPT DATA RSET NOOP QUIT",
            )),
            "VRFY" => self.ok(Reply::new(252, "2.1.5 Cannot VRFY user")),
            "QUIT" => {
                self.state = State::Done;
                Event::Close(Reply::new(
                    221,
                    format!("2.0.0 {} closing connection", self.config.hostname),
                ))
            }
            "" => self.error(Reply::new(500, "5.5.2 Empty command")),
            _ => self.error(Reply::new(500, "5.5.1 Unrecognized command")),
        }
    }
}

/// Parses `FROM:<path> params` / `TO:<path> params`; returns the path without brackets.
fn path_arg(arg: &str, prefix: &str) -> Option<(String, String)> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg.get(prefix.len()..)?.trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    let path = rest.get(..end)?;
    if path.chars().any(|c| c.is_control() || c == ' ') {
        return None;
    }
    Some((path.to_string(), rest.get(end + 1..)?.trim().to_string()))
}

fn size_param(params: String) -> Option<usize> {
    params.split_whitespace().find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.eq_ignore_ascii_case("SIZE")
            .then(|| v.parse().ok())
            .flatten()
    })
}
