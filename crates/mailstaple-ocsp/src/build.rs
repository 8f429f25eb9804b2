//! Encoding OCSP responses (RFC 6960 §4.2.1), for responders and demos.
//!
//! Signing is the caller's: encode the `tbsResponseData` with [`encode_response_data`], sign those
//! exact bytes with the responder's key, then wrap them with [`encode_basic_response`] and
//! [`encode_response`]. Everything written is strict DER that [`crate::OcspResponse::parse`]
//! decodes back field for field.

use crate::certid::CertId;
use crate::encode::{self, seq, tlv};
use crate::reader::tag;
use crate::response::{CertStatus, OID_OCSP_BASIC, OID_OCSP_NONCE, ResponseStatus};
use crate::time::Time;

/// How the response names its signer.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum ResponderIdSpec<'a> {
    /// `byName`: the DER of the signer's subject `Name`.
    ByName(&'a [u8]),
    /// `byKey`: SHA-1 of the signer's subjectPublicKey bits (see [`crate::HashAlgorithm::digest`]).
    ByKeyHash(&'a [u8]),
}

/// One SingleResponse to encode.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SingleSpec<'a> {
    /// The certificate it is about.
    pub cert_id: &'a CertId,
    /// Its status.
    pub status: CertStatus,
    /// thisUpdate.
    pub this_update: Time,
    /// nextUpdate.
    pub next_update: Option<Time>,
}

impl<'a> SingleSpec<'a> {
    /// A SingleResponse for `cert_id`.
    pub fn new(
        cert_id: &'a CertId,
        status: CertStatus,
        this_update: Time,
        next_update: Option<Time>,
    ) -> Self {
        SingleSpec {
            cert_id,
            status,
            this_update,
            next_update,
        }
    }
}

/// A DER GeneralizedTime TLV (`YYYYMMDDHHMMSSZ`).
fn generalized_time(t: Time) -> Vec<u8> {
    let (y, mo, d, h, mi, s) = t.to_civil();
    tlv(
        tag::GENERALIZED_TIME,
        format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z").as_bytes(),
    )
}

/// Encodes `tbsResponseData` (version v1, left implicit as DER requires).
///
/// `nonce_extn_value`, when given, is the nonce extension's `extnValue` contents to echo (for an
/// RFC 8954 request, exactly the requester's `extnValue`).
pub fn encode_response_data(
    responder: ResponderIdSpec<'_>,
    produced_at: Time,
    singles: &[SingleSpec<'_>],
    nonce_extn_value: Option<&[u8]>,
) -> Vec<u8> {
    let responder_id = match responder {
        ResponderIdSpec::ByName(name) => tlv(tag::cons(1), name),
        ResponderIdSpec::ByKeyHash(hash) => tlv(tag::cons(2), &tlv(tag::OCTET_STRING, hash)),
    };
    let responses: Vec<Vec<u8>> = singles.iter().map(encode_single).collect();
    let response_refs: Vec<&[u8]> = responses.iter().map(Vec::as_slice).collect();
    let mut parts = vec![
        responder_id,
        generalized_time(produced_at),
        seq(&response_refs),
    ];
    if let Some(value) = nonce_extn_value {
        let ext = seq(&[
            &tlv(tag::OID, OID_OCSP_NONCE),
            &tlv(tag::OCTET_STRING, value),
        ]);
        parts.push(tlv(tag::cons(1), &seq(&[&ext])));
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    seq(&refs)
}

fn encode_single(s: &SingleSpec<'_>) -> Vec<u8> {
    let status = match s.status {
        CertStatus::Good => vec![tag::prim(0), 0],
        CertStatus::Unknown => vec![tag::prim(2), 0],
        CertStatus::Revoked { time, reason } => {
            let mut inner = generalized_time(time);
            if let Some(r) = reason {
                inner.extend(tlv(tag::cons(0), &tlv(tag::ENUMERATED, &[r.0])));
            }
            tlv(tag::cons(1), &inner)
        }
    };
    let mut parts = vec![s.cert_id.to_der(), status, generalized_time(s.this_update)];
    if let Some(next) = s.next_update {
        parts.push(tlv(tag::cons(0), &generalized_time(next)));
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    seq(&refs)
}

/// Encodes a `BasicOCSPResponse` from the signed `tbs` bytes, the DER `AlgorithmIdentifier` of
/// the signature, the signature and the certificates to embed (a delegated signer's).
pub fn encode_basic_response(
    tbs: &[u8],
    signature_algorithm: &[u8],
    signature: &[u8],
    certs: &[&[u8]],
) -> Vec<u8> {
    let mut bits = Vec::with_capacity(signature.len() + 1);
    bits.push(0);
    bits.extend_from_slice(signature);
    let mut parts = vec![
        tbs.to_vec(),
        signature_algorithm.to_vec(),
        tlv(tag::BIT_STRING, &bits),
    ];
    if !certs.is_empty() {
        parts.push(tlv(tag::cons(0), &encode::seq(certs)));
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    seq(&refs)
}

/// Encodes a successful `OCSPResponse` carrying a basic response.
pub fn encode_response(basic: &[u8]) -> Vec<u8> {
    let bytes = seq(&[
        &tlv(tag::OID, OID_OCSP_BASIC),
        &tlv(tag::OCTET_STRING, basic),
    ]);
    seq(&[&[tag::ENUMERATED, 1, 0], &tlv(tag::cons(0), &bytes)])
}

/// Encodes an unsuccessful `OCSPResponse` (no responseBytes), e.g. `malformedRequest`.
pub fn encode_error_response(status: ResponseStatus) -> Vec<u8> {
    seq(&[&[tag::ENUMERATED, 1, status.value()]])
}
