//! `OCSPRequest` (RFC 6960 §4.1.1): building one, and decoding one (for the responder).
//!
//! ```text
//! OCSPRequest ::= SEQUENCE {
//!     tbsRequest                  TBSRequest,
//!     optionalSignature   [0]     EXPLICIT Signature OPTIONAL }
//! TBSRequest ::= SEQUENCE {
//!     version             [0]     EXPLICIT Version DEFAULT v1,
//!     requestorName       [1]     EXPLICIT GeneralName OPTIONAL,
//!     requestList                 SEQUENCE OF Request,
//!     requestExtensions   [2]     EXPLICIT Extensions OPTIONAL }
//! Request ::= SEQUENCE {
//!     reqCert                     CertID,
//!     singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
//! ```

use crate::Error;
use crate::certid::{CertId, CertIdRef};
use crate::encode;
use crate::reader::{Reader, tag};
use crate::response::{Extension, OID_OCSP_NONCE, read_extensions};

/// Builds a DER `OCSPRequest` for `ids`, unsigned, with a nonce extension when `nonce` is given.
///
/// The nonce is written as RFC 8954 and OpenSSL write it: `extnValue` holds an OCTET STRING that
/// holds the nonce. Randomness is the caller's: pass fresh random bytes (RFC 8954 asks for 1 to 32;
/// 16 is usual). An empty `ids` is allowed by the syntax but useless; callers pass at least one.
pub fn build_request(ids: &[CertId], nonce: Option<&[u8]>) -> Vec<u8> {
    let requests: Vec<Vec<u8>> = ids.iter().map(|id| encode::seq(&[&id.to_der()])).collect();
    let parts: Vec<&[u8]> = requests.iter().map(Vec::as_slice).collect();
    let request_list = encode::seq(&parts);
    let mut tbs_parts: Vec<Vec<u8>> = vec![request_list];
    if let Some(n) = nonce {
        let ext = encode::seq(&[
            &encode::tlv(tag::OID, OID_OCSP_NONCE),
            &encode::tlv(tag::OCTET_STRING, &encode::tlv(tag::OCTET_STRING, n)),
        ]);
        tbs_parts.push(encode::tlv(tag::cons(2), &encode::seq(&[&ext])));
    }
    let tbs_refs: Vec<&[u8]> = tbs_parts.iter().map(Vec::as_slice).collect();
    let tbs = encode::seq(&tbs_refs);
    encode::seq(&[&tbs])
}

/// A decoded `OCSPRequest`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OcspRequest<'a> {
    /// The `reqCert` of each `Request`, in order.
    pub cert_ids: Vec<CertIdRef<'a>>,
    /// `requestExtensions`, raw.
    pub extensions: Vec<Extension<'a>>,
    /// Whether `optionalSignature` was present (it is never checked: RFC 5019 responders ignore it).
    pub signed: bool,
}

impl<'a> OcspRequest<'a> {
    /// Decodes a DER `OCSPRequest`. Trailing data, a version other than v1 and an empty request
    /// list are refused.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut outer = Reader::new(bytes);
        let mut req = outer.sequence("OCSPRequest")?;
        outer.finish("OCSPRequest")?;
        let mut tbs = req.sequence("OCSPRequest.tbsRequest")?;
        let signed = req
            .optional(tag::cons(0), "OCSPRequest.optionalSignature")?
            .is_some();
        req.finish("OCSPRequest")?;
        if let Some(v) = tbs.optional(tag::cons(0), "tbsRequest.version")? {
            let mut vr = Reader::new(v.value);
            let version = vr.small_uint(tag::INTEGER, "tbsRequest.version")?;
            vr.finish("tbsRequest.version")?;
            if version != 0 {
                return Err(Error::UnsupportedVersion(version));
            }
        }
        tbs.optional(tag::cons(1), "tbsRequest.requestorName")?;
        let mut list = tbs.sequence("tbsRequest.requestList")?;
        let mut cert_ids = Vec::new();
        while !list.is_empty() {
            let mut r = list.sequence("Request")?;
            cert_ids.push(CertIdRef::read(&mut r)?);
            if let Some(e) = r.optional(tag::cons(0), "Request.singleRequestExtensions")? {
                read_extensions(e.value, "Request.singleRequestExtensions")?;
            }
            r.finish("Request")?;
        }
        if cert_ids.is_empty() {
            return Err(Error::BadEncoding {
                what: "tbsRequest.requestList",
                why: "no request",
            });
        }
        let extensions = match tbs.optional(tag::cons(2), "tbsRequest.requestExtensions")? {
            Some(e) => read_extensions(e.value, "tbsRequest.requestExtensions")?,
            None => Vec::new(),
        };
        tbs.finish("tbsRequest")?;
        Ok(OcspRequest {
            cert_ids,
            extensions,
            signed,
        })
    }

    /// The nonce extension's value, if present (the raw `extnValue` contents, to be echoed as is).
    pub fn nonce_extension(&self) -> Option<&Extension<'a>> {
        self.extensions.iter().find(|e| e.oid == OID_OCSP_NONCE)
    }
}
