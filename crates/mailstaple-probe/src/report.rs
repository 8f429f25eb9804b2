//! What a probe found about one address, and the pure analysis that turns a handshake's
//! certificates and staple into it: the certificate's description, the chain verdict, the
//! staple's verdict from `mailstaple-verify` (through `mailstaple-policy`'s [`judge`]), and
//! Exim's answer from `mailstaple-policy`'s [`delivery`], as if the host were in
//! `hosts_require_ocsp`.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use mailstaple_ocsp::{CertView, OcspResponse, Time};
use mailstaple_policy::{Decision, Finding, Mode, OcspOutcome, VerifyPolicy, delivery, judge};
use rustls::pki_types::UnixTime;

use crate::escape;

/// The most certificates of a presented chain that are examined and reported.
pub const MAX_CHAIN: usize = 16;

/// One address probed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// The name the certificate is checked against (the target's or MX host's name, or the
    /// address when none was given).
    pub name: String,
    /// The address and port probed; `None` when the name did not resolve.
    pub address: Option<SocketAddr>,
    /// The MX preference when the host came from `--domain`.
    pub mx_preference: Option<u16>,
    /// The instant everything was judged at.
    pub now: Time,
    /// How long the probe took.
    pub elapsed: Duration,
    /// What was seen, or where it stopped.
    pub result: Result<Observed, Failure>,
}

/// Where and why a probe stopped before the TLS handshake completed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The stage.
    pub stage: Stage,
    /// What happened (remote text escaped).
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.stage, self.message)
    }
}

/// The stages of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Name resolution.
    Resolve,
    /// The TCP connection.
    Connect,
    /// The clear-text dialogue before STARTTLS: greeting and EHLO.
    Smtp,
    /// STARTTLS: not offered, or refused.
    StartTls,
    /// The TLS handshake.
    Handshake,
    /// The dialogue under TLS (EHLO again, or the greeting with implicit TLS).
    SmtpTls,
}

impl Stage {
    /// The stage's name in reports and JSON: `resolve`, `connect`, `smtp`, `starttls`,
    /// `handshake`, `smtp-tls`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Resolve => "resolve",
            Stage::Connect => "connect",
            Stage::Smtp => "smtp",
            Stage::StartTls => "starttls",
            Stage::Handshake => "handshake",
            Stage::SmtpTls => "smtp-tls",
        }
    }

    /// Whether a failure at this stage means the host cannot be reached at all (no SMTP
    /// service to speak of), rather than a host that answers but cannot satisfy
    /// `hosts_require_ocsp`.
    pub fn is_unreachable(self) -> bool {
        matches!(self, Stage::Resolve | Stage::Connect | Stage::Smtp)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A completed TLS handshake and what it showed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Observed {
    /// The protocol version, e.g. `TLSv1.3`.
    pub tls_version: String,
    /// The cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The leaf certificate; `None` when it does not parse.
    pub certificate: Option<CertInfo>,
    /// How many certificates the server presented (leaf included).
    pub chain_length: usize,
    /// `Ok` when the chain verifies to a trust anchor and matches the name, else why not.
    pub chain: Result<(), String>,
    /// The stapled OCSP response.
    pub staple: Staple,
    /// What Exim would do with this host in `hosts_require_ocsp`.
    pub exim: EximAnswer,
    /// `Err` when the server failed after the handshake (EHLO refused under TLS, connection
    /// closed): Exim would defer with this text even with a good staple.
    pub after_tls: Result<(), Failure>,
}

/// The leaf certificate, described (all text escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertInfo {
    /// The subject, RFC 4514.
    pub subject: String,
    /// The issuer, RFC 4514.
    pub issuer: String,
    /// The serial number, hexadecimal with colons.
    pub serial: String,
    /// The DNS names of the subject alternative names extension.
    pub names: Vec<String>,
    /// notBefore.
    pub not_before: Time,
    /// notAfter.
    pub not_after: Time,
    /// The OCSP URLs of the Authority Information Access extension (none is normal since public
    /// CAs retired OCSP in 2025).
    pub ocsp_urls: Vec<String>,
    /// Whether the TLS Feature extension asks for `status_request` (RFC 7633 must-staple).
    pub must_staple: bool,
}

/// The staple and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Staple {
    /// The verdict.
    pub verdict: Verdict,
    /// Its size in bytes (0 when none).
    pub size: usize,
    /// thisUpdate of the response for this certificate, when the response decodes.
    pub this_update: Option<Time>,
    /// nextUpdate, when present.
    pub next_update: Option<Time>,
    /// When the proof stops being usable: the earlier of nextUpdate and a delegated signer's
    /// notAfter (only for a verified proof).
    pub effective_expiry: Option<Time>,
}

impl Staple {
    /// Seconds from `now` to the effective expiry (negative when past), for a verified proof.
    pub fn seconds_left(&self, now: Time) -> Option<i64> {
        self.effective_expiry
            .map(|e| e.unix().saturating_sub(now.unix()))
    }

    /// The share of the proof's window (thisUpdate to effective expiry) still ahead at `now`,
    /// in percent (0 when past).
    pub fn percent_left(&self, now: Time) -> Option<i64> {
        let (start, end) = (self.this_update?, self.effective_expiry?);
        let window = end.unix().saturating_sub(start.unix());
        let left = end.unix().saturating_sub(now.unix());
        if left <= 0 {
            return Some(0);
        }
        Some(if window > 0 {
            left.saturating_mul(100) / window
        } else {
            0
        })
    }
}

/// The staple's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The server stapled nothing.
    None,
    /// Authentic, current and `good` for the certificate.
    Good,
    /// Authentic, current and `revoked`.
    Revoked {
        /// revocationTime.
        time: Time,
        /// revocationReason's name, if given.
        reason: Option<String>,
    },
    /// Authentic, current and `unknown`.
    Unknown,
    /// Authentic but not current (nextUpdate passed, thisUpdate ahead, no nextUpdate).
    OutOfDate {
        /// Why, in `mailstaple-verify`'s words.
        reason: String,
    },
    /// Not a verifiable proof for this certificate.
    Invalid {
        /// Why, in `mailstaple-verify`'s words (e.g. "signed by a responder certificate that
        /// expired").
        reason: String,
    },
}

impl Verdict {
    /// The verdict's name in reports and JSON: `none`, `good`, `revoked`, `unknown`,
    /// `out-of-date`, `invalid`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::None => "none",
            Verdict::Good => "good",
            Verdict::Revoked { .. } => "revoked",
            Verdict::Unknown => "unknown",
            Verdict::OutOfDate { .. } => "out-of-date",
            Verdict::Invalid { .. } => "invalid",
        }
    }
}

/// What Exim would do with this host in `hosts_require_ocsp`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EximAnswer {
    /// `$tls_out_ocsp`: 1 none received, 3 failed, 4 verified.
    pub tls_out_ocsp: u8,
    /// Whether the delivery would go on.
    pub deliver: bool,
    /// Exim's defer text when it would not (`TLS session: (SSL_connect) Required TLS
    /// certificate status not received`, ...).
    pub defer: Option<String>,
}

impl EximAnswer {
    /// Exim's answer for a probe that failed: a handshake failure defers with `TLS session:
    /// <error>` and `$tls_out_ocsp` 1 (a staple was requested, none checked), as the policy
    /// says; a failure before TLS (connection, greeting, STARTTLS) defers with the transport's
    /// own text and 0, since Exim had not started TLS and so not requested a staple; a failure
    /// after the handshake keeps the handshake's value.
    pub fn for_failure(failure: &Failure) -> EximAnswer {
        match failure.stage {
            Stage::Handshake => {
                let answer = delivery(
                    &Decision::fixed(Mode::Require),
                    None,
                    Some(&failure.message),
                );
                EximAnswer::from_delivery(&answer)
            }
            stage => EximAnswer {
                tls_out_ocsp: if stage == Stage::SmtpTls { 1 } else { 0 },
                deliver: false,
                defer: Some(failure.message.clone()),
            },
        }
    }

    fn from_delivery(d: &mailstaple_policy::Delivery) -> EximAnswer {
        match d {
            // The policy's texts quote the verifier, whose errors may carry names from the
            // remote side's certificates: escaped like every other remote text.
            mailstaple_policy::Delivery::Defer { message, .. } => EximAnswer {
                tls_out_ocsp: d.tls_out_ocsp().value(),
                deliver: false,
                defer: Some(escape(message)),
            },
            _ => EximAnswer {
                tls_out_ocsp: d.tls_out_ocsp().value(),
                deliver: d.is_proceed(),
                defer: None,
            },
        }
    }
}

/// What the handshake handed the certificate verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Presented {
    /// The leaf certificate (DER).
    pub leaf: Vec<u8>,
    /// The other certificates, in the order sent, at most [`MAX_CHAIN`] − 1.
    pub intermediates: Vec<Vec<u8>>,
    /// How many certificates were sent in all.
    pub chain_length: usize,
    /// The stapled bytes (empty when none).
    pub staple: Vec<u8>,
    /// rustls' verdict on the chain and name: `Ok`, or its error text.
    pub chain: Result<(), String>,
}

/// Judges what was presented at `now` against `anchors` (DER), as `hosts_require_ocsp` would.
/// Pure: no clock, no I/O.
pub fn analyze(
    presented: &Presented,
    anchors: &[&[u8]],
    now: UnixTime,
    policy: &VerifyPolicy,
) -> (Option<CertInfo>, Staple, EximAnswer) {
    let certificate = describe(&presented.leaf);
    let intermediates: Vec<&[u8]> = presented.intermediates.iter().map(Vec::as_slice).collect();
    let outcome = judge(
        Mode::Require,
        &presented.staple,
        &presented.leaf,
        &intermediates,
        anchors,
        now,
        policy,
    );
    let staple = staple_of(&outcome, presented);
    let decision = Decision::fixed(Mode::Require);
    // The policy's verifier checks the chain first: a chain that fails ends the handshake with
    // rustls' error before the staple is looked at.
    let answer = match &presented.chain {
        Ok(()) => delivery(&decision, Some(&outcome), None),
        Err(e) => delivery(&decision, None, Some(e)),
    };
    (certificate, staple, EximAnswer::from_delivery(&answer))
}

fn staple_of(outcome: &OcspOutcome, presented: &Presented) -> Staple {
    let (this_update, next_update) = decoded_times(&presented.staple, &presented.leaf);
    let mut staple = Staple {
        verdict: Verdict::None,
        size: presented.staple.len(),
        this_update,
        next_update,
        effective_expiry: None,
    };
    staple.verdict = match &outcome.finding {
        Finding::Good {
            this_update,
            next_update,
            effective_expiry,
        } => {
            staple.this_update = Some(*this_update);
            staple.next_update = *next_update;
            staple.effective_expiry = Some(*effective_expiry);
            Verdict::Good
        }
        Finding::Revoked { time, reason } => Verdict::Revoked {
            time: *time,
            reason: reason.map(|r| r.to_string()),
        },
        Finding::Unknown => Verdict::Unknown,
        Finding::OutOfDate(e) => Verdict::OutOfDate {
            reason: escape(&e.to_string()),
        },
        Finding::Unverifiable(e) => Verdict::Invalid {
            reason: escape(&e.to_string()),
        },
        Finding::IssuerNotFound => Verdict::Invalid {
            reason: "the certificate's issuer is neither presented nor a trust anchor, so no \
                     proof can be checked"
                .into(),
        },
        _ => Verdict::None,
    };
    staple
}

/// thisUpdate and nextUpdate of the SingleResponse for the leaf's serial (else the first one),
/// when the staple decodes; shown also for proofs that do not verify.
fn decoded_times(staple: &[u8], leaf: &[u8]) -> (Option<Time>, Option<Time>) {
    let Some(basic) = OcspResponse::parse(staple)
        .ok()
        .and_then(|r| r.into_basic().ok())
    else {
        return (None, None);
    };
    let serial = CertView::parse(leaf).map(|c| c.serial).unwrap_or_default();
    let single = basic
        .responses
        .iter()
        .find(|s| mailstaple_ocsp::serial_eq(s.cert_id.serial, serial))
        .or_else(|| basic.responses.first());
    match single {
        Some(s) => (Some(s.this_update), s.next_update),
        None => (None, None),
    }
}

/// The leaf's description, or `None` when it does not parse.
pub fn describe(leaf: &[u8]) -> Option<CertInfo> {
    let view = CertView::parse(leaf).ok()?;
    let name = |der: &[u8]| {
        mailstaple_ocsp::decode_name(der)
            .map(|n| escape(&n))
            .unwrap_or_else(|e| format!("(undecodable name: {})", escape(&e.to_string())))
    };
    let serial = view
        .serial
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let der = rustls::pki_types::CertificateDer::from(leaf);
    let names = webpki::EndEntityCert::try_from(&der)
        .map(|ee| ee.valid_dns_names().take(100).map(escape).collect())
        .unwrap_or_default();
    Some(CertInfo {
        subject: name(view.subject),
        issuer: name(view.issuer),
        serial,
        names,
        not_before: view.not_before,
        not_after: view.not_after,
        ocsp_urls: view
            .ocsp_urls()
            .map(|urls| urls.into_iter().take(10).map(escape).collect())
            .unwrap_or_default(),
        must_staple: view.must_staple().unwrap_or(false),
    })
}

/// How bad a report is, for exit codes: 0 good, 1 warning, 2 critical, 3 unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// Good, with more than the warning share of the window left.
    Ok,
    /// Good but close to expiry, or no staple where none is required.
    Warning,
    /// Exim would defer: no staple (with `require`), must-staple without one, invalid, revoked,
    /// unknown, out of date, a chain that does not verify, or a TLS failure.
    Critical,
    /// No SMTP service to probe: resolution, connection or the clear-text dialogue failed.
    Unreachable,
}

impl Severity {
    /// The exit code: 0, 1, 2 or 3.
    pub fn code(self) -> u8 {
        match self {
            Severity::Ok => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
            Severity::Unreachable => 3,
        }
    }

    /// `ok`, `warning`, `critical`, `unreachable`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
            Severity::Unreachable => "unreachable",
        }
    }
}

/// The monitoring thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Thresholds {
    /// Warn when less than this percentage of a good proof's window is left.
    pub warn_percent: u8,
    /// A missing staple is critical (otherwise a warning, unless the certificate is
    /// must-staple).
    pub require: bool,
}

impl Thresholds {
    /// Thresholds: warn under `warn_percent` % of the window, `require` a staple or not.
    pub fn new(warn_percent: u8, require: bool) -> Thresholds {
        Thresholds {
            warn_percent,
            require,
        }
    }
}

impl Report {
    /// Exim's answer for the whole probe: the handshake's, unless the probe failed (before,
    /// during or after the handshake), in which case Exim defers with the failure's text.
    pub fn exim(&self) -> EximAnswer {
        match &self.result {
            Ok(o) => match &o.after_tls {
                Err(f) if o.exim.deliver => EximAnswer {
                    tls_out_ocsp: o.exim.tls_out_ocsp,
                    deliver: false,
                    defer: Some(f.message.clone()),
                },
                _ => o.exim.clone(),
            },
            Err(f) => EximAnswer::for_failure(f),
        }
    }

    /// The severity and its one-line reason.
    pub fn severity(&self, t: &Thresholds) -> (Severity, String) {
        let o = match &self.result {
            Err(f) if f.stage.is_unreachable() => return (Severity::Unreachable, f.to_string()),
            Err(f) => return (Severity::Critical, f.to_string()),
            Ok(o) => o,
        };
        if let Err(e) = &o.chain {
            return (
                Severity::Critical,
                format!("the certificate chain does not verify: {e}"),
            );
        }
        let must_staple = o.certificate.as_ref().is_some_and(|c| c.must_staple);
        let (severity, why) = match &o.staple.verdict {
            Verdict::None if must_staple => (
                Severity::Critical,
                "no staple, and the certificate is must-staple".to_owned(),
            ),
            Verdict::None if t.require => (Severity::Critical, "no staple".to_owned()),
            Verdict::None => (
                Severity::Warning,
                "no staple (hosts_require_ocsp would defer)".to_owned(),
            ),
            Verdict::Good => {
                let left = o.staple.seconds_left(self.now).unwrap_or(0);
                let pct = o.staple.percent_left(self.now).unwrap_or(0);
                if left <= 0 {
                    (Severity::Critical, "the proof has expired".to_owned())
                } else if pct < i64::from(t.warn_percent) {
                    (
                        Severity::Warning,
                        format!("good, but only {} left ({pct}% of its window)", span(left)),
                    )
                } else {
                    (
                        Severity::Ok,
                        format!("good, {} left ({pct}% of its window)", span(left)),
                    )
                }
            }
            Verdict::Revoked { .. } => (Severity::Critical, "revoked".to_owned()),
            Verdict::Unknown => (Severity::Critical, "status unknown".to_owned()),
            Verdict::OutOfDate { reason } => (Severity::Critical, format!("out of date: {reason}")),
            Verdict::Invalid { reason } => (Severity::Critical, format!("invalid: {reason}")),
        };
        if let (true, Err(f)) = (severity < Severity::Critical, &o.after_tls) {
            return (Severity::Critical, format!("after the handshake: {f}"));
        }
        (severity, why)
    }
}

/// A duration as `3d 4h`, `5h 6m` or `7m 8s`.
pub fn span(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m {}s", s % 60)
    }
}
