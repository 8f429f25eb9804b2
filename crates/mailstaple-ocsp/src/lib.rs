#![doc = include_str!("../README.md")]
//!
//! ## The RFC 6960 wire format
//!
//! This crate turns bytes into OCSP structures and back, and nothing more:
//!
//! - [`OcspResponse::parse`] decodes an `OCSPResponse` and its `BasicOCSPResponse` strictly and
//!   without copying. [`BasicResponse::tbs_raw`] is the `tbsResponseData` exactly as received:
//!   signatures must be checked over those bytes, never over a re-encoding (a response with an
//!   explicit DEFAULT `version`, which OpenSSL accepts, would otherwise fail).
//! - [`CertView::parse`] locates the certificate fields OCSP needs (serial, issuer, subject,
//!   public key, validity, AIA OCSP URLs, must-staple, OCSP-signing EKU).
//! - [`CertId`] computes a CertID from a certificate and its issuer (SHA-1, SHA-256, SHA-384,
//!   SHA-512); [`CertIdRef::matches`] matches a received CertID whatever hash it uses.
//! - [`build_request`] builds an `OCSPRequest` (one or more CertIDs, optional nonce);
//!   [`OcspRequest::parse`] decodes one for a responder.
//! - [`oid_name`] and [`oid_display`] name the algorithms, hashes and extensions a person meets
//!   (`sha256WithRSAEncryption (1.2.840.113549.1.1.11)`), for display only.
//! - [`base64`]: the workspace's one base64 codec (PEM, RFC 5019 GET paths), and [`pem`]: its
//!   one PEM reader (certificates, keys and responses in files users hand us).
//! - [`encode_response_data`], [`encode_basic_response`] and [`encode_response`] write responses
//!   (the caller signs the tbs bytes), for responders and the demo.
//!
//! What it deliberately does not do: check signatures, judge times or authorization (that is
//! `mailstaple-verify`), read clocks, files or the network.
//!
//! Decoding rules: strict DER (definite minimal lengths, minimal INTEGERs, no trailing data
//! anywhere), a fixed schema walked without recursion (so nesting is bounded by construction),
//! and no panic on any input. Two leniencies, both matching OpenSSL and real responders: an
//! explicit `version [0] INTEGER 0`, and GeneralizedTime with fractional seconds, which are
//! truncated to the whole second (see [`Time`]). Extensions (nonce, SCT, unknown ones) and
//! embedded certificates are kept raw.
//!
//! The hot path uses its own small TLV reader rather than `der`'s `Header` machinery, which costs
//! about ten times more per element; `der` and `x509-cert` serve the cold paths such as rendering
//! a `Name` as an RFC 4514 string ([`name_to_string`]).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod base64;
mod build;
mod cert;
mod certid;
mod encode;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod names;
pub mod pem;
mod reader;
mod request;
mod response;
mod time;

#[cfg(test)]
mod tests;

pub use build::{
    ResponderIdSpec, SingleSpec, encode_basic_response, encode_error_response, encode_response,
    encode_response_data,
};
pub use cert::{CertView, KeyKind, OID_KP_OCSP_SIGNING, serial_eq};
pub use certid::{CertId, CertIdRef, HashAlgorithm};
pub use error::Error;
pub use names::{oid_display, oid_name};
pub use reader::{hex, oid_to_string};
pub use request::{OcspRequest, build_request};
pub use response::{
    AlgorithmId, BasicResponse, CertStatus, CrlReason, Extension, OID_OCSP_BASIC,
    OID_OCSP_EXTENDED_REVOKE, OID_OCSP_NONCE, OcspResponse, ResponderId, ResponseStatus,
    SingleResponse,
};
pub use time::Time;

/// Renders a DER `Name` as an RFC 4514 string (`CN=...,O=...`), or `None` if `der` does not
/// decode as a `Name`.
pub fn name_to_string(der: &[u8]) -> Option<String> {
    decode_name(der).ok()
}

/// Renders a DER `Name` as an RFC 4514 string, or says why it does not decode
/// ([`Error::BadName`]), for displays that must not hide a malformed name behind hex.
pub fn decode_name(der: &[u8]) -> Result<String, Error> {
    use der::Decode as _;
    x509_cert::name::Name::from_der(der)
        .map(|n| n.to_string())
        .map_err(|e| Error::BadName(e.to_string()))
}
