//! The crate's one error type.

use std::fmt;

use crate::response::ResponseStatus;

/// Why bytes are not a usable OCSP structure or certificate.
///
/// Every variant is the fault of the bytes' producer (the peer, the responder or a file), except
/// [`Error::NotSuccessful`], which is the responder's authentic answer that it has no proof.
/// `what` names the ASN.1 element being read, e.g. `SingleResponse.thisUpdate`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input ended inside an element.
    Truncated {
        /// The element.
        what: &'static str,
    },
    /// An element is not strict DER or not the expected shape.
    BadEncoding {
        /// The element.
        what: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// An element has the wrong tag.
    UnexpectedTag {
        /// The element.
        what: &'static str,
        /// The tag expected (the first acceptable one when there are several).
        expected: u8,
        /// The tag found.
        found: u8,
    },
    /// Bytes follow the end of an element.
    TrailingData {
        /// The element.
        what: &'static str,
        /// How many bytes follow it.
        bytes: usize,
    },
    /// A time is not a valid DER GeneralizedTime or UTCTime.
    InvalidTime {
        /// The element.
        what: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// `responseStatus` has a value RFC 6960 does not define.
    UnknownResponseStatus(u8),
    /// A successful response has no `responseBytes`.
    MissingResponseBytes,
    /// `responseType` is not `id-pkix-ocsp-basic` (dotted OID given).
    UnknownResponseType(String),
    /// The response is not successful: the responder gave no proof.
    NotSuccessful(ResponseStatus),
    /// A `version` other than v1.
    UnsupportedVersion(u8),
    /// A CertID uses a hash algorithm we do not implement (dotted OID given).
    UnsupportedHashAlgorithm(String),
    /// A PEM text (RFC 7468) has no block with any of the labels wanted.
    PemMissing {
        /// The labels wanted, as a phrase ("A, B or C").
        labels: String,
    },
    /// A PEM block with the label wanted is malformed.
    Pem {
        /// Its label.
        label: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A `Name` does not decode (the decoder's message).
    BadName(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { what } => write!(f, "{what}: input ends inside the element"),
            Error::BadEncoding { what, why } => write!(f, "{what}: {why}"),
            Error::UnexpectedTag {
                what,
                expected,
                found,
            } => {
                write!(
                    f,
                    "{what}: expected tag 0x{expected:02x}, found 0x{found:02x}"
                )
            }
            Error::TrailingData { what, bytes } => {
                write!(f, "{what}: {bytes} unexpected bytes after the element")
            }
            Error::InvalidTime { what, why } => write!(f, "{what}: invalid time: {why}"),
            Error::UnknownResponseStatus(v) => write!(f, "unknown responseStatus {v}"),
            Error::MissingResponseBytes => f.write_str("successful response without responseBytes"),
            Error::UnknownResponseType(oid) => write!(f, "unknown responseType {oid}"),
            Error::NotSuccessful(s) => write!(f, "responder answered {s}, not successful"),
            Error::UnsupportedVersion(v) => write!(f, "unsupported version v{}", u16::from(*v) + 1),
            Error::UnsupportedHashAlgorithm(oid) => {
                write!(f, "CertID hash algorithm {oid} is not supported")
            }
            Error::PemMissing { labels } => write!(f, "no PEM block labelled {labels}"),
            Error::Pem { label, why } => write!(f, "PEM {label} block: {why}"),
            Error::BadName(why) => write!(f, "malformed Name: {why}"),
        }
    }
}

impl std::error::Error for Error {}
