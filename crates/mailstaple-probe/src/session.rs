//! The probe's SMTP dialogue as a sans-IO state machine, around `mailstaple-smtp`'s client.
//!
//! A probe is a delivery that stops before the envelope: the smtp [`Client`] reads the greeting,
//! sends EHLO (HELO on a 5xx), asks for STARTTLS, and after the handshake greets again; when it
//! would send its first envelope command (`MAIL FROM`), the probe has seen all it came for and
//! says [`Step::Ready`] instead: the driver sends QUIT and closes. With implicit TLS (port 465)
//! the handshake comes first and the client never asks for STARTTLS.
//!
//! On top of the client's own limits, the bytes the server may send are capped per phase
//! ([`MAX_PLAIN_BYTES`] before TLS, [`MAX_TLS_BYTES`] after), so a server that talks forever
//! (a banner of megabytes, a multiline reply that never ends) is cut off at once, whatever the
//! deadline.

use mailstaple_smtp::client::{Action, Client, Message, Outcome, TlsMode};

use crate::escape;
use crate::report::{Failure, Stage};

/// The most a server may send in clear text before the TLS handshake (greeting, EHLO and
/// STARTTLS replies).
pub const MAX_PLAIN_BYTES: usize = 64 * 1024;
/// The most a server may send under TLS before the probe is done (the greeting under implicit
/// TLS and the EHLO reply).
pub const MAX_TLS_BYTES: usize = 64 * 1024;

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Send these bytes.
    Send(Vec<u8>),
    /// Start the TLS handshake now (after the server's 220 to STARTTLS), then call
    /// [`Session::tls_started`].
    StartTls,
    /// The server accepted EHLO (or HELO) under TLS: send QUIT and close. The probe succeeded.
    Ready,
    /// The dialogue failed: close.
    Failed(Failure),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before STARTTLS was sent.
    Plain,
    /// STARTTLS sent, waiting for its reply.
    StartTls,
    /// Handshaking: the driver owns the stream.
    Handshake,
    /// Under TLS.
    Tls,
    /// Ready or failed.
    Done,
}

/// One probe's SMTP dialogue.
#[derive(Debug)]
pub struct Session {
    client: Client,
    phase: Phase,
    received: usize,
}

impl Session {
    /// A session greeting as `helo`; with `tls_on_connect`, the driver has already completed the
    /// TLS handshake before the greeting (port 465).
    pub fn new(helo: &str, tls_on_connect: bool) -> Session {
        let mode = if tls_on_connect {
            TlsMode::Never
        } else {
            TlsMode::Required
        };
        Session {
            client: Client::new(helo, mode, Message::new("", Vec::new(), Vec::new())),
            phase: if tls_on_connect {
                Phase::Tls
            } else {
                Phase::Plain
            },
            received: 0,
        }
    }

    /// Whether the session is over ([`Step::Ready`] or [`Step::Failed`] was returned).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The stage a failure now would be reported at.
    pub fn stage(&self) -> Stage {
        match self.phase {
            Phase::Plain => Stage::Smtp,
            Phase::StartTls => Stage::StartTls,
            Phase::Handshake => Stage::Handshake,
            Phase::Tls | Phase::Done => Stage::SmtpTls,
        }
    }

    /// Feeds bytes received from the server.
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<Step> {
        if matches!(self.phase, Phase::Done | Phase::Handshake) {
            return Vec::new();
        }
        self.received = self.received.saturating_add(bytes.len());
        let cap = if self.phase == Phase::Tls {
            MAX_TLS_BYTES
        } else {
            MAX_PLAIN_BYTES
        };
        if self.received > cap {
            return vec![self.fail(format!(
                "the server sent more than {cap} bytes without finishing its replies"
            ))];
        }
        let actions = self.client.receive(bytes);
        self.steps(actions)
    }

    /// The TLS handshake after STARTTLS succeeded: greet again (RFC 3207 §4.2).
    pub fn tls_started(&mut self) -> Vec<Step> {
        if self.phase != Phase::Handshake {
            return Vec::new();
        }
        self.phase = Phase::Tls;
        self.received = 0;
        let actions = self.client.tls_started();
        self.steps(actions)
    }

    /// The connection closed (or failed) before the session was done.
    pub fn connection_lost(&mut self, why: &str) -> Option<Failure> {
        if self.phase == Phase::Done {
            return None;
        }
        Some(self.failure(format!("connection closed by the server ({})", escape(why))))
    }

    fn steps(&mut self, actions: Vec<Action>) -> Vec<Step> {
        let mut steps = Vec::new();
        for action in actions {
            if self.phase == Phase::Done {
                break;
            }
            match action {
                Action::Send(bytes) if self.phase == Phase::Tls && is_envelope(&bytes) => {
                    self.phase = Phase::Done;
                    steps.push(Step::Ready);
                }
                Action::Send(bytes) => {
                    if bytes.eq_ignore_ascii_case(b"STARTTLS\r\n") {
                        self.phase = Phase::StartTls;
                    }
                    steps.push(Step::Send(bytes));
                }
                Action::StartTls => {
                    self.phase = Phase::Handshake;
                    steps.push(Step::StartTls);
                }
                Action::Done(outcome) => {
                    // The client never delivers: it has no recipient and is stopped at MAIL.
                    let text = match outcome {
                        Outcome::Deferred { text, .. } | Outcome::Failed { text, .. } => text,
                        other => other.to_string(),
                    };
                    let stage_hint = text.starts_with("a TLS session is required");
                    let mut failure = self.failure(escape(&text));
                    if stage_hint {
                        failure.stage = Stage::StartTls;
                    }
                    self.phase = Phase::Done;
                    steps.push(Step::Failed(failure));
                }
                _ => {}
            }
        }
        steps
    }

    fn failure(&self, message: String) -> Failure {
        Failure {
            stage: self.stage(),
            message,
        }
    }

    fn fail(&mut self, message: String) -> Step {
        let failure = self.failure(message);
        self.phase = Phase::Done;
        Step::Failed(failure)
    }
}

/// The client's first envelope command, which the probe never sends.
fn is_envelope(bytes: &[u8]) -> bool {
    bytes
        .get(..10)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"MAIL FROM:"))
}
