//! The crate's one error type.

use std::fmt;

use mailstaple_ocsp::{ResponseStatus, Time};

/// Which signature an [`Error::Sha1Refused`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedPart {
    /// The response's own signature (BasicOCSPResponse.signatureAlgorithm).
    Response,
    /// The delegated responder certificate's signature, made by the issuer.
    ResponderCertificate,
}

impl fmt::Display for SignedPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignedPart::Response => "the response",
            SignedPart::ResponderCertificate => "the responder certificate",
        })
    }
}

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
    /// The response, or its delegated responder certificate, is signed with
    /// sha1WithRSAEncryption and [`crate::Policy::allow_sha1`] is off.
    Sha1Refused(SignedPart),
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
    /// thisUpdate is older than the policy's maximum age (with or without nextUpdate).
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
    /// producedAt is before the certificate's notBefore (beyond the skew): the responder
    /// vouched for a certificate that did not exist yet.
    ProducedBeforeCertificate {
        /// producedAt.
        produced_at: Time,
        /// The certificate's notBefore.
        not_before: Time,
    },
    /// producedAt is after the certificate's notAfter (beyond the skew): an answer about an
    /// expired certificate, which Chromium refuses too.
    ProducedAfterCertificate {
        /// producedAt.
        produced_at: Time,
        /// The certificate's notAfter.
        not_after: Time,
    },
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
            Error::Sha1Refused(part) => write!(
                f,
                "{part} is signed with sha1WithRSAEncryption, which the policy refuses (SHA-1 not allowed)"
            ),
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
            Error::NoNextUpdate => f.write_str(
                "response has no nextUpdate and no maximum age is configured \
                 (set one to accept it: `--max-age` or `tls_ocsp_max_age`)",
            ),
            Error::TooOld {
                this_update,
                max_age,
                now,
            } => write!(
                f,
                "response too old: thisUpdate {this_update} is more than the maximum age of {max_age}s before {now}"
            ),
            Error::NextUpdateBeforeThisUpdate => f.write_str("nextUpdate is before thisUpdate"),
            Error::ProducedBeforeCertificate {
                produced_at,
                not_before,
            } => write!(
                f,
                "response produced at {produced_at}, before the certificate's notBefore {not_before}"
            ),
            Error::ProducedAfterCertificate {
                produced_at,
                not_after,
            } => write!(
                f,
                "response produced at {produced_at}, after the certificate's notAfter {not_after}"
            ),
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
