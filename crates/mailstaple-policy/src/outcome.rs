//! The OCSP outcome of one connection (Exim's `$tls_out_ocsp` and the reason), and
//! [`delivery`]: the one place where an outcome becomes "go on" or "defer".

use std::fmt;

use mailstaple_ocsp::{CrlReason, Time};

use crate::{Decision, Mode};

/// Exim's `ERRNO_TLSFAILURE`: the errno of a deferred delivery after a TLS failure.
pub const TLS_FAILURE_ERRNO: i32 = -37;

/// Exim's `$tls_out_ocsp` values (an integer in Exim, see [`OcspStatus::value`]). Exim's 2
/// (`OCSP_VFY_NOT_TRIED`) never occurs on the client.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OcspStatus {
    /// 0: not requested.
    NotRequested,
    /// 1: requested, none received (or nothing checked on a resumed session).
    NotResponded,
    /// 3: a staple was received and failed.
    Failed,
    /// 4: a staple was received and verified `good` for the server's certificate.
    Verified,
}

impl OcspStatus {
    /// The integer Exim puts in `$tls_out_ocsp`: 0, 1, 3 or 4.
    pub fn value(self) -> u8 {
        match self {
            OcspStatus::NotRequested => 0,
            OcspStatus::NotResponded => 1,
            OcspStatus::Failed => 3,
            OcspStatus::Verified => 4,
        }
    }
}

/// What was found about the staple.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The host is not in `hosts_request_ocsp`; whatever the server sent was ignored.
    NotRequested {
        /// Whether the server stapled something anyway.
        staple_ignored: bool,
    },
    /// No staple was received.
    NoStaple,
    /// The handshake completed without verifying a certificate (a resumed session), so no
    /// staple was checked.
    NotChecked,
    /// Authentic, current and `good` for the server's certificate.
    Good {
        /// thisUpdate.
        this_update: Time,
        /// nextUpdate, if any.
        next_update: Option<Time>,
        /// When the proof stops being usable (nextUpdate or the signer's notAfter).
        effective_expiry: Time,
    },
    /// Authentic, current and `revoked`.
    Revoked {
        /// revocationTime.
        time: Time,
        /// revocationReason, if given.
        reason: Option<CrlReason>,
    },
    /// Authentic, current and `unknown`.
    Unknown,
    /// Authentic but not current (thisUpdate in the future, nextUpdate passed, no nextUpdate).
    OutOfDate(mailstaple_verify::Error),
    /// Not a verifiable proof for this certificate (garbage, bad signature, unauthorized or
    /// expired signer, another certificate's proof, ...).
    Unverifiable(mailstaple_verify::Error),
    /// No issuer of the leaf was found among the presented intermediates and the trust
    /// anchors, so no proof can be checked.
    IssuerNotFound,
}

/// The OCSP outcome of one connection: the mode it was made in and what was found.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspOutcome {
    /// The mode of the decision.
    pub mode: Mode,
    /// What was found.
    pub finding: Finding,
}

impl OcspOutcome {
    /// Combines a mode and a finding.
    pub fn new(mode: Mode, finding: Finding) -> OcspOutcome {
        OcspOutcome { mode, finding }
    }

    /// `$tls_out_ocsp`.
    pub fn status(&self) -> OcspStatus {
        match self.finding {
            Finding::NotRequested { .. } => OcspStatus::NotRequested,
            Finding::NoStaple | Finding::NotChecked => OcspStatus::NotResponded,
            Finding::Good { .. } => OcspStatus::Verified,
            Finding::Revoked { .. }
            | Finding::Unknown
            | Finding::OutOfDate(_)
            | Finding::Unverifiable(_)
            | Finding::IssuerNotFound => OcspStatus::Failed,
        }
    }

    /// Whether the handshake must fail: required and not verified, or an authentic `revoked`
    /// whenever a staple was requested.
    pub fn aborts(&self) -> bool {
        match self.mode {
            Mode::Require => self.status() != OcspStatus::Verified,
            Mode::Request => matches!(self.finding, Finding::Revoked { .. }),
            Mode::NotRequested => false,
        }
    }

    /// The reason, in Exim's words for the failures (`Required TLS certificate status not
    /// received`, `Server certificate revoked; reason: keyCompromise`, `Server certificate
    /// status is out-of-date`, `Server certificate has unknown status`, `Server certificate
    /// status response itself unverifiable: <why>`).
    pub fn message(&self) -> String {
        match &self.finding {
            Finding::NotRequested {
                staple_ignored: false,
            } => "TLS certificate status not requested".to_owned(),
            Finding::NotRequested {
                staple_ignored: true,
            } => "TLS certificate status not requested; received status ignored".to_owned(),
            Finding::NoStaple | Finding::NotChecked if self.mode == Mode::Require => {
                "Required TLS certificate status not received".to_owned()
            }
            Finding::NoStaple => "TLS certificate status requested, none received".to_owned(),
            Finding::NotChecked => {
                "TLS certificate status not checked on a resumed session".to_owned()
            }
            Finding::Good { .. } => "Server certificate status verified good".to_owned(),
            Finding::Revoked {
                reason: Some(reason),
                ..
            } => format!("Server certificate revoked; reason: {reason}"),
            Finding::Revoked { reason: None, .. } => "Server certificate revoked".to_owned(),
            Finding::Unknown => "Server certificate has unknown status".to_owned(),
            Finding::OutOfDate(_) => "Server certificate status is out-of-date".to_owned(),
            Finding::Unverifiable(why) => {
                format!("Server certificate status response itself unverifiable: {why}")
            }
            Finding::IssuerNotFound => "Server certificate status response itself unverifiable: \
                 issuer certificate not found among the presented chain and trust anchors"
                .to_owned(),
        }
    }
}

impl fmt::Display for OcspOutcome {
    /// `ocsp <value> (<mode>): <message>`, with the detail of an out-of-date proof.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ocsp {} ({}): {}",
            self.status().value(),
            self.mode,
            self.message()
        )?;
        if let Finding::OutOfDate(why) = &self.finding {
            write!(f, " ({why})")?;
        }
        Ok(())
    }
}

impl std::error::Error for OcspOutcome {}

/// What the transport does with the connection.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Go on over TLS.
    Proceed {
        /// `$tls_out_ocsp`.
        tls_out_ocsp: OcspStatus,
    },
    /// Temporary failure (errno [`TLS_FAILURE_ERRNO`], code 4xx, DEFER).
    Defer {
        /// `$tls_out_ocsp`.
        tls_out_ocsp: OcspStatus,
        /// Exim's message, e.g. `TLS session: (SSL_connect) Required TLS certificate status
        /// not received`.
        message: String,
        /// Whether the transport may retry in clear text: never for a host requiring OCSP, never
        /// after an OCSP abort.
        clear_text_fallback: bool,
    },
}

impl Delivery {
    /// `$tls_out_ocsp`.
    pub fn tls_out_ocsp(&self) -> OcspStatus {
        match self {
            Delivery::Proceed { tls_out_ocsp } | Delivery::Defer { tls_out_ocsp, .. } => {
                *tls_out_ocsp
            }
        }
    }

    /// Whether the delivery goes on.
    pub fn is_proceed(&self) -> bool {
        matches!(self, Delivery::Proceed { .. })
    }
}

/// The one place where a connection's result becomes [`Delivery`].
///
/// - `outcome`: what the verifier found; `None` when it never ran (a resumed session, or a
///   handshake that failed before the certificate was checked).
/// - `tls_error`: the TLS library's error text when the handshake failed.
///
/// An outcome that aborts gives `TLS session: (SSL_connect) <Exim's text>` (the OpenSSL-backend
/// text, byte for byte, so existing log watchers keep working) and never allows a clear-text
/// retry. Any other TLS failure gives `TLS session: <error>`, with a clear-text retry exactly
/// when [`Decision::clear_text_fallback`] says so (Exim's `tls_tempfail_tryclear` and
/// `hosts_require_tls` rules; never for a Require host). A handshake that completed without the
/// verifier is "not checked": it never passes a requirement.
pub fn delivery(
    decision: &Decision,
    outcome: Option<&OcspOutcome>,
    tls_error: Option<&str>,
) -> Delivery {
    let fallback = decision.clear_text_fallback && decision.mode != Mode::Require;
    let defer = |tls_out_ocsp, message| Delivery::Defer {
        tls_out_ocsp,
        message,
        clear_text_fallback: fallback,
    };
    let outcome = match (outcome, tls_error) {
        (Some(o), _) => o.clone(),
        // The handshake failed before the certificate was judged (or for another reason).
        (None, Some(e)) => {
            let requested = decision.mode != Mode::NotRequested;
            let status = if requested {
                OcspStatus::NotResponded
            } else {
                OcspStatus::NotRequested
            };
            return defer(status, format!("TLS session: {e}"));
        }
        (None, None) => OcspOutcome::new(
            decision.mode,
            if decision.mode == Mode::NotRequested {
                Finding::NotRequested {
                    staple_ignored: false,
                }
            } else {
                Finding::NotChecked
            },
        ),
    };
    let tls_out_ocsp = outcome.status();
    if outcome.aborts() {
        // Never a clear-text retry after an OCSP abort: a Require host requires TLS, and a host
        // whose certificate is authentically revoked must not get the message in clear.
        return Delivery::Defer {
            tls_out_ocsp,
            message: format!("TLS session: (SSL_connect) {}", outcome.message()),
            clear_text_fallback: false,
        };
    }
    match tls_error {
        Some(e) => defer(tls_out_ocsp, format!("TLS session: {e}")),
        None => Delivery::Proceed { tls_out_ocsp },
    }
}
