//! The crate's one error type.

use std::fmt;

use mailstaple_ocsp::ResponseStatus;
use mailstaple_verify::Status;

/// What went wrong while fetching, checking or installing a proof, and whose fault it is.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The certificate names no OCSP responder and none was given (the normal case since public
    /// CAs retired OCSP; not an operator error).
    NoOcspUrl,
    /// Our input: the certificate or issuer does not decode.
    BadInput(String),
    /// Our input: the responder URL is not a plain `http://` URL we can use.
    BadUrl(String),
    /// Network: connecting to the responder (or proxy) failed.
    Connect(String),
    /// Network: the connect or total timeout expired.
    Timeout(&'static str),
    /// Network or responder: the HTTP exchange failed.
    Http(String),
    /// Responder: an HTTP status other than 200.
    HttpStatus(u16),
    /// Responder: the content type is not `application/ocsp-response`.
    ContentType(String),
    /// Responder: the body exceeds the size cap.
    TooLarge(usize),
    /// Responder: an OCSP error status such as tryLater or unauthorized.
    ResponderStatus(ResponseStatus),
    /// Responder: the proof is not authentic, not current or not for this certificate.
    Invalid(mailstaple_verify::Error),
    /// Responder: an authentic proof whose status is not good (revoked or unknown).
    NotGood(Status),
    /// Responder: an authentic, current proof says the certificate is revoked. It was installed
    /// (replacing the good one) so that the server stops stapling a proof the CA has withdrawn.
    RevokedInstalled(Status),
    /// Responder: we sent a nonce and the answer does not carry it.
    NonceMismatch,
    /// Responder: the proof is older (thisUpdate) than the installed one.
    OlderThanInstalled {
        /// The new proof's thisUpdate.
        new: mailstaple_ocsp::Time,
        /// The installed proof's thisUpdate.
        installed: mailstaple_ocsp::Time,
    },
    /// Local: the I/O runtime or a signal handler could not be set up.
    Runtime(String),
    /// Local: reading or writing a file failed.
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        error: std::io::Error,
    },
}

/// The broad class of an [`Error`], which decides a one-shot fetch's exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// No OCSP URL: nothing to do.
    NoUrl,
    /// Our own input, configuration or file system.
    Local,
    /// The network or the responder failed to answer with a proof.
    Network,
    /// The responder answered but the proof is invalid or not good.
    Invalid,
}

impl Error {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::NoOcspUrl => ErrorClass::NoUrl,
            Error::BadInput(_) | Error::BadUrl(_) | Error::Io { .. } | Error::Runtime(_) => {
                ErrorClass::Local
            }
            Error::Connect(_)
            | Error::Timeout(_)
            | Error::Http(_)
            | Error::HttpStatus(_)
            | Error::ContentType(_)
            | Error::TooLarge(_)
            | Error::ResponderStatus(_) => ErrorClass::Network,
            Error::Invalid(mailstaple_verify::Error::NotSuccessful(_)) => ErrorClass::Network,
            Error::Invalid(_)
            | Error::NotGood(_)
            | Error::RevokedInstalled(_)
            | Error::NonceMismatch
            | Error::OlderThanInstalled { .. } => ErrorClass::Invalid,
        }
    }

    pub(crate) fn io(path: &std::path::Path, error: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            error,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoOcspUrl => {
                f.write_str("the certificate has no OCSP responder URL and none was given")
            }
            Error::BadInput(why) => write!(f, "unusable input: {why}"),
            Error::BadUrl(why) => write!(f, "unusable responder URL: {why}"),
            Error::Connect(why) => write!(f, "cannot connect to the responder: {why}"),
            Error::Timeout(what) => write!(f, "responder timed out ({what})"),
            Error::Http(why) => write!(f, "HTTP exchange with the responder failed: {why}"),
            Error::HttpStatus(code) => write!(f, "responder answered HTTP {code}"),
            Error::ContentType(ct) => {
                write!(
                    f,
                    "responder sent content type {ct:?}, not application/ocsp-response"
                )
            }
            Error::TooLarge(cap) => write!(f, "responder body exceeds the {cap}-byte cap"),
            Error::ResponderStatus(s) => write!(f, "responder refused: {s}"),
            Error::Invalid(e) => write!(f, "proof rejected: {e}"),
            Error::NotGood(s) => write!(f, "certificate status is {}", s.name()),
            Error::RevokedInstalled(s) => match s {
                Status::Revoked { time, reason } => write!(
                    f,
                    "certificate REVOKED at {time}{}; the revoked proof was installed so that the server stops stapling",
                    reason.map(|r| format!(" ({r})")).unwrap_or_default()
                ),
                other => write!(
                    f,
                    "certificate status is {}; the proof was installed",
                    other.name()
                ),
            },
            Error::NonceMismatch => f.write_str("the answer does not carry the nonce we sent"),
            Error::OlderThanInstalled { new, installed } => write!(
                f,
                "the new proof (thisUpdate {new}) is older than the installed one (thisUpdate {installed})"
            ),
            Error::Io { path, error } => write!(f, "{path}: {error}"),
            Error::Runtime(why) => write!(f, "cannot set up the fetcher: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Invalid(e) => Some(e),
            Error::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}
