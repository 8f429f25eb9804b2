//! The crate's one error type.

use std::fmt;

use mailstaple_ocsp::{ResponseStatus, Time};

/// Why a proof is not a valid, current OCSP answer for the certificate.
///
/// Whose fault: [`Error::BadCertificate`], [`Error::BadIssuer`], [`Error::IssuerUnusable`] and [`Error::IssuerMismatch`]
/// are the caller's (wrong inputs); [`Error::NotSuccessful`] is the responder's authentic refusal;
/// every other variant is a defect of the proof (its producer or whoever stapled it).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The proof does not decode.
    Malformed(mailstaple_ocsp::Error),
    /// The responder did not answer `successful`.
    NotSuccessful(ResponseStatus),
    /// The certificate to check does not decode.
    BadCertificate(mailstaple_ocsp::Error),
    /// The issuer certificate does not decode.
    BadIssuer(mailstaple_ocsp::Error),
    /// webpki cannot use the issuer certificate as a trust anchor (e.g. unsupported version).
    IssuerUnusable(String),
    /// The certificate's issuer field is not the issuer certificate's subject.
    IssuerMismatch {
        /// The certificate's issuer, RFC 4514.
        cert_issuer: String,
        /// The issuer certificate's subject, RFC 4514.
        issuer_subject: String,
    },
    /// No SingleResponse is for this certificate.
    NoResponseForCertificate {
        /// The certificate's serial, hex.
        serial: String,
        /// The nearest miss, e.g. "a response has this serial but another issuerKeyHash".
        detail: &'static str,
    },
    /// No SingleResponse names this issuer.
    NoResponseForIssuer,
    /// A CertID uses a hash we do not implement and nothing else matched (dotted OID).
    UnsupportedCertIdHash(String),
    /// The ResponderID names neither the issuer nor any embedded certificate.
    UnknownResponder {
        /// The ResponderID as text.
        responder: String,
        /// How many certificates were embedded.
        embedded: usize,
    },
    /// The delegated responder certificate does not decode or is unusable.
    BadSignerCertificate(String),
    /// The delegated responder certificate was not issued by the certificate's issuer.
    SignerNotIssuedByIssuer {
        /// The signer's subject, RFC 4514.
        signer: String,
        /// What failed.
        detail: String,
    },
    /// The delegated responder certificate lacks `id-kp-OCSPSigning`.
    SignerNotAuthorized {
        /// The signer's subject, RFC 4514.
        signer: String,
    },
    /// The delegated responder certificate has expired.
    SignerExpired {
        /// Its notAfter.
        not_after: Time,
        /// The time of the check.
        now: Time,
    },
    /// The delegated responder certificate is not valid yet.
    SignerNotYetValid {
        /// Its notBefore.
        not_before: Time,
        /// The time of the check.
        now: Time,
    },
    /// The signature algorithm is not supported (dotted OID).
    UnsupportedSignatureAlgorithm(String),
    /// The proof is signed with sha1WithRSAEncryption and the policy refuses SHA-1.
    Sha1Refused,
    /// The signature algorithm does not fit the signer's key (dotted OID).
    SignatureAlgorithmMismatch(String),
    /// The signature does not verify with the signer's key.
    BadSignature,
    /// thisUpdate is in the future, beyond the allowed skew.
    NotYetValid {
        /// thisUpdate.
        this_update: Time,
        /// The time of the check.
        now: Time,
    },
    /// nextUpdate has passed, beyond the allowed skew.
    Expired {
        /// nextUpdate.
        next_update: Time,
        /// The time of the check.
        now: Time,
    },
    /// The response has no nextUpdate and the policy sets no maximum age.
    NoNextUpdate,
    /// The response has no nextUpdate and is older than the policy's maximum age.
    TooOld {
        /// thisUpdate.
        this_update: Time,
        /// The maximum age, seconds.
        max_age: u64,
        /// The time of the check.
        now: Time,
    },
    /// nextUpdate is before thisUpdate.
    NextUpdateBeforeThisUpdate,
    /// A critical extension we do not understand (dotted OID).
    UnknownCriticalExtension(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed(e) => write!(f, "malformed OCSP response: {e}"),
            Error::NotSuccessful(s) => write!(f, "responder answered {s}, not successful"),
            Error::BadCertificate(e) => write!(f, "certificate does not decode: {e}"),
            Error::BadIssuer(e) => write!(f, "issuer certificate does not decode: {e}"),
            Error::IssuerUnusable(e) => {
                write!(f, "issuer certificate unusable as trust anchor: {e}")
            }
            Error::IssuerMismatch {
                cert_issuer,
                issuer_subject,
            } => write!(
                f,
                "certificate was issued by \"{cert_issuer}\", not by the given issuer \"{issuer_subject}\""
            ),
            Error::NoResponseForCertificate { serial, detail } => {
                write!(f, "no response for certificate serial {serial}: {detail}")
            }
            Error::NoResponseForIssuer => f.write_str("no response names the given issuer"),
            Error::UnsupportedCertIdHash(oid) => {
                write!(f, "CertID hash algorithm {oid} is not supported")
            }
            Error::UnknownResponder {
                responder,
                embedded,
            } => write!(
                f,
                "responder {responder} is neither the issuer nor one of the {embedded} embedded certificates"
            ),
            Error::BadSignerCertificate(e) => write!(f, "responder certificate unusable: {e}"),
            Error::SignerNotIssuedByIssuer { signer, detail } => {
                write!(
                    f,
                    "responder certificate \"{signer}\" not issued by the issuer: {detail}"
                )
            }
            Error::SignerNotAuthorized { signer } => write!(
                f,
                "responder certificate \"{signer}\" lacks the OCSPSigning extended key usage"
            ),
            Error::SignerExpired { not_after, now } => {
                write!(
                    f,
                    "responder certificate expired at {not_after} (now {now})"
                )
            }
            Error::SignerNotYetValid { not_before, now } => {
                write!(
                    f,
                    "responder certificate not valid before {not_before} (now {now})"
                )
            }
            Error::UnsupportedSignatureAlgorithm(oid) => {
                write!(f, "signature algorithm {oid} is not supported")
            }
            Error::Sha1Refused => f.write_str("signature uses SHA-1, refused by policy"),
            Error::SignatureAlgorithmMismatch(oid) => {
                write!(
                    f,
                    "signature algorithm {oid} does not fit the responder's key"
                )
            }
            Error::BadSignature => {
                f.write_str("signature does not verify with the responder's key")
            }
            Error::NotYetValid { this_update, now } => {
                write!(
                    f,
                    "response not yet valid: thisUpdate {this_update} is after {now}"
                )
            }
            Error::Expired { next_update, now } => {
                write!(
                    f,
                    "response expired: nextUpdate {next_update} is before {now}"
                )
            }
            Error::NoNextUpdate => {
                f.write_str("response has no nextUpdate and no maximum age is configured")
            }
            Error::TooOld {
                this_update,
                max_age,
                now,
            } => write!(
                f,
                "response without nextUpdate is too old: thisUpdate {this_update} + {max_age}s is before {now}"
            ),
            Error::NextUpdateBeforeThisUpdate => f.write_str("nextUpdate is before thisUpdate"),
            Error::UnknownCriticalExtension(oid) => {
                write!(f, "unknown critical extension {oid}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Malformed(e) | Error::BadCertificate(e) | Error::BadIssuer(e) => Some(e),
            _ => None,
        }
    }
}
