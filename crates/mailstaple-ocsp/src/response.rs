//! OCSPResponse and BasicOCSPResponse (RFC 6960 §4.2.1), decoded without copying.
//!
//! ```text
//! OCSPResponse ::= SEQUENCE {
//!    responseStatus         OCSPResponseStatus,
//!    responseBytes          [0] EXPLICIT ResponseBytes OPTIONAL }
//! ResponseBytes ::= SEQUENCE {
//!    responseType   OBJECT IDENTIFIER,
//!    response       OCTET STRING }
//! BasicOCSPResponse ::= SEQUENCE {
//!    tbsResponseData      ResponseData,
//!    signatureAlgorithm   AlgorithmIdentifier,
//!    signature            BIT STRING,
//!    certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
//! ResponseData ::= SEQUENCE {
//!    version              [0] EXPLICIT Version DEFAULT v1,
//!    responderID              ResponderID,
//!    producedAt               GeneralizedTime,
//!    responses                SEQUENCE OF SingleResponse,
//!    responseExtensions   [1] EXPLICIT Extensions OPTIONAL }
//! ResponderID ::= CHOICE {
//!    byName   [1] Name,
//!    byKey    [2] KeyHash }
//! SingleResponse ::= SEQUENCE {
//!    certID                       CertID,
//!    certStatus                   CertStatus,
//!    thisUpdate                   GeneralizedTime,
//!    nextUpdate         [0]       EXPLICIT GeneralizedTime OPTIONAL,
//!    singleExtensions   [1]       EXPLICIT Extensions OPTIONAL }
//! CertStatus ::= CHOICE {
//!    good        [0]     IMPLICIT NULL,
//!    revoked     [1]     IMPLICIT RevokedInfo,
//!    unknown     [2]     IMPLICIT UnknownInfo }
//! RevokedInfo ::= SEQUENCE {
//!    revocationTime              GeneralizedTime,
//!    revocationReason    [0]     EXPLICIT CRLReason OPTIONAL }
//! ```

use std::fmt;

use crate::Error;
use crate::certid::CertIdRef;
use crate::reader::{Reader, Tlv, tag};
use crate::time::Time;

/// `id-pkix-ocsp-basic` (1.3.6.1.5.5.7.48.1.1), the only response type in use.
pub const OID_OCSP_BASIC: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];
/// `id-pkix-ocsp-nonce` (1.3.6.1.5.5.7.48.1.2).
pub const OID_OCSP_NONCE: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02];
/// `id-pkix-ocsp-extended-revoke` (1.3.6.1.5.5.7.48.1.9), RFC 6960 §4.4.8.
pub const OID_OCSP_EXTENDED_REVOKE: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x09];

/// `OCSPResponseStatus` (RFC 6960 §4.2.1). Value 4 is unused by the RFC and refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseStatus {
    /// 0: the response has valid confirmations.
    Successful,
    /// 1: illegal confirmation request.
    MalformedRequest,
    /// 2: internal error in the issuer.
    InternalError,
    /// 3: try again later.
    TryLater,
    /// 5: the request must be signed.
    SigRequired,
    /// 6: the request is unauthorized.
    Unauthorized,
}

impl ResponseStatus {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::Successful,
            1 => Self::MalformedRequest,
            2 => Self::InternalError,
            3 => Self::TryLater,
            5 => Self::SigRequired,
            6 => Self::Unauthorized,
            _ => return None,
        })
    }

    /// The RFC 6960 name, e.g. `tryLater`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Successful => "successful",
            Self::MalformedRequest => "malformedRequest",
            Self::InternalError => "internalError",
            Self::TryLater => "tryLater",
            Self::SigRequired => "sigRequired",
            Self::Unauthorized => "unauthorized",
        }
    }

    /// The numeric value on the wire.
    pub fn value(self) -> u8 {
        match self {
            Self::Successful => 0,
            Self::MalformedRequest => 1,
            Self::InternalError => 2,
            Self::TryLater => 3,
            Self::SigRequired => 5,
            Self::Unauthorized => 6,
        }
    }
}

impl fmt::Display for ResponseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoded `OCSPResponse`.
///
/// [`OcspResponse::parse`] validates everything it can without keys or clocks: when it returns
/// `Ok`, the status is known, a successful response has a basic response, and that basic response
/// decoded completely.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OcspResponse<'a> {
    /// `responseStatus`.
    pub status: ResponseStatus,
    /// The decoded `BasicOCSPResponse`; present exactly when `status` is successful.
    pub basic: Option<BasicResponse<'a>>,
}

impl<'a> OcspResponse<'a> {
    /// Decodes a DER `OCSPResponse`.
    ///
    /// Refused: anything not strict DER (with the two documented leniencies: an explicit
    /// `version` v1 and fractional seconds), trailing data, an unknown `responseStatus`, a
    /// successful response without `responseBytes`, and a `responseType` other than
    /// `id-pkix-ocsp-basic`. The `responseBytes` of an unsuccessful response are ignored.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut outer = Reader::new(bytes);
        let mut seq = outer.sequence("OCSPResponse")?;
        outer.finish("OCSPResponse")?;
        let raw_status = seq.small_uint(tag::ENUMERATED, "OCSPResponse.responseStatus")?;
        let status =
            ResponseStatus::from_u8(raw_status).ok_or(Error::UnknownResponseStatus(raw_status))?;
        let response_bytes = seq.optional(tag::cons(0), "OCSPResponse.responseBytes")?;
        seq.finish("OCSPResponse")?;
        if status != ResponseStatus::Successful {
            return Ok(OcspResponse {
                status,
                basic: None,
            });
        }
        let rb = response_bytes.ok_or(Error::MissingResponseBytes)?;
        let mut explicit = Reader::new(rb.value);
        let mut rb_seq = explicit.sequence("ResponseBytes")?;
        explicit.finish("responseBytes")?;
        let response_type = rb_seq.oid("ResponseBytes.responseType")?;
        let response = rb_seq.octet_string("ResponseBytes.response")?;
        rb_seq.finish("ResponseBytes")?;
        if response_type != OID_OCSP_BASIC {
            return Err(Error::UnknownResponseType(crate::oid_to_string(
                response_type,
            )));
        }
        let basic = BasicResponse::parse(response)?;
        Ok(OcspResponse {
            status,
            basic: Some(basic),
        })
    }

    /// The basic response, or [`Error::NotSuccessful`] for an unsuccessful status.
    pub fn into_basic(self) -> Result<BasicResponse<'a>, Error> {
        self.basic.ok_or(Error::NotSuccessful(self.status))
    }
}

/// An `AlgorithmIdentifier`, kept raw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlgorithmId<'a> {
    /// The OBJECT IDENTIFIER contents.
    pub oid: &'a [u8],
    /// The parameters TLV, if any.
    pub params: Option<&'a [u8]>,
    /// The SEQUENCE contents (OID and parameters), the form webpki matches algorithms by.
    pub value: &'a [u8],
}

impl<'a> AlgorithmId<'a> {
    pub(crate) fn read(r: &mut Reader<'a>, what: &'static str) -> Result<Self, Error> {
        let value = r.expect(tag::SEQUENCE, what)?.value;
        let mut inner = Reader::new(value);
        let oid = inner.oid(what)?;
        let params = if inner.is_empty() {
            None
        } else {
            Some(inner.any(what)?.raw)
        };
        inner.finish(what)?;
        Ok(AlgorithmId { oid, params, value })
    }

    /// The algorithm in dotted form.
    pub fn oid_string(&self) -> String {
        crate::oid_to_string(self.oid)
    }
}

/// `ResponderID`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponderId<'a> {
    /// `byName`: the DER of the responder's subject `Name` (the whole SEQUENCE).
    ByName(&'a [u8]),
    /// `byKey`: SHA-1 of the responder's subjectPublicKey BIT STRING contents.
    ByKeyHash(&'a [u8]),
}

/// An X.509 `Extension`, kept raw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Extension<'a> {
    /// `extnID` contents.
    pub oid: &'a [u8],
    /// `critical` (DEFAULT FALSE).
    pub critical: bool,
    /// `extnValue` OCTET STRING contents.
    pub value: &'a [u8],
}

/// Reads `Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension` from the contents of an EXPLICIT tag.
pub(crate) fn read_extensions<'a>(
    explicit: &'a [u8],
    what: &'static str,
) -> Result<Vec<Extension<'a>>, Error> {
    let mut outer = Reader::new(explicit);
    let mut list = outer.sequence(what)?;
    outer.finish(what)?;
    let mut out = Vec::new();
    while !list.is_empty() {
        let mut ext = list.sequence(what)?;
        let oid = ext.oid(what)?;
        let critical = match ext.optional(tag::BOOLEAN, what)? {
            None => false,
            Some(Tlv { value: [0x00], .. }) => false,
            Some(Tlv { value: [0xff], .. }) => true,
            Some(_) => {
                return Err(Error::BadEncoding {
                    what,
                    why: "malformed BOOLEAN",
                });
            }
        };
        let value = ext.octet_string(what)?;
        ext.finish(what)?;
        out.push(Extension {
            oid,
            critical,
            value,
        });
    }
    if out.is_empty() {
        return Err(Error::BadEncoding {
            what,
            why: "empty Extensions",
        });
    }
    Ok(out)
}

/// A decoded `BasicOCSPResponse`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BasicResponse<'a> {
    /// The `tbsResponseData` TLV exactly as received: the bytes the signature covers.
    pub tbs_raw: &'a [u8],
    /// `version`: always 0 (v1). An explicit `[0] INTEGER 0` is accepted, as OpenSSL does.
    pub version: u8,
    /// `responderID`.
    pub responder_id: ResponderId<'a>,
    /// `producedAt`.
    pub produced_at: Time,
    /// `responses`, in order.
    pub responses: Vec<SingleResponse<'a>>,
    /// `responseExtensions` (nonce and any others), raw.
    pub extensions: Vec<Extension<'a>>,
    /// `signatureAlgorithm`.
    pub signature_algorithm: AlgorithmId<'a>,
    /// `signature`, the BIT STRING's bits.
    pub signature: &'a [u8],
    /// `certs`: each embedded certificate's DER, unparsed.
    pub certs: Vec<&'a [u8]>,
}

impl<'a> BasicResponse<'a> {
    /// Decodes a DER `BasicOCSPResponse` (the contents of `ResponseBytes.response`).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut outer = Reader::new(bytes);
        let mut seq = outer.sequence("BasicOCSPResponse")?;
        outer.finish("BasicOCSPResponse")?;
        let tbs = seq.expect(tag::SEQUENCE, "tbsResponseData")?;
        let signature_algorithm =
            AlgorithmId::read(&mut seq, "BasicOCSPResponse.signatureAlgorithm")?;
        let signature = seq.bit_string("BasicOCSPResponse.signature")?;
        let mut certs = Vec::new();
        if let Some(explicit) = seq.optional(tag::cons(0), "BasicOCSPResponse.certs")? {
            let mut e = Reader::new(explicit.value);
            let mut list = e.sequence("BasicOCSPResponse.certs")?;
            e.finish("BasicOCSPResponse.certs")?;
            while !list.is_empty() {
                certs.push(
                    list.expect(tag::SEQUENCE, "BasicOCSPResponse.certs.Certificate")?
                        .raw,
                );
            }
        }
        seq.finish("BasicOCSPResponse")?;

        let mut r = Reader::new(tbs.value);
        let mut version = 0;
        if let Some(v) = r.optional(tag::cons(0), "tbsResponseData.version")? {
            let mut vr = Reader::new(v.value);
            version = vr.small_uint(tag::INTEGER, "tbsResponseData.version")?;
            vr.finish("tbsResponseData.version")?;
            if version != 0 {
                return Err(Error::UnsupportedVersion(version));
            }
        }
        let rid = r.any("tbsResponseData.responderID")?;
        let responder_id = match rid.tag {
            t if t == tag::cons(1) => {
                let mut n = Reader::new(rid.value);
                let name = n.expect(tag::SEQUENCE, "responderID.byName")?.raw;
                n.finish("responderID.byName")?;
                ResponderId::ByName(name)
            }
            t if t == tag::cons(2) => {
                let mut k = Reader::new(rid.value);
                let hash = k.octet_string("responderID.byKey")?;
                k.finish("responderID.byKey")?;
                ResponderId::ByKeyHash(hash)
            }
            found => {
                return Err(Error::UnexpectedTag {
                    what: "tbsResponseData.responderID",
                    expected: tag::cons(1),
                    found,
                });
            }
        };
        let produced_at = Time::parse_generalized(
            r.expect(tag::GENERALIZED_TIME, "tbsResponseData.producedAt")?
                .value,
            "tbsResponseData.producedAt",
        )?;
        let mut list = r.sequence("tbsResponseData.responses")?;
        let mut responses = Vec::new();
        while !list.is_empty() {
            responses.push(SingleResponse::read(&mut list)?);
        }
        let extensions = match r.optional(tag::cons(1), "tbsResponseData.responseExtensions")? {
            Some(e) => read_extensions(e.value, "tbsResponseData.responseExtensions")?,
            None => Vec::new(),
        };
        r.finish("tbsResponseData")?;
        Ok(BasicResponse {
            tbs_raw: tbs.raw,
            version,
            responder_id,
            produced_at,
            responses,
            extensions,
            signature_algorithm,
            signature,
            certs,
        })
    }

    /// The nonce, if the response carries one: the extension value with its inner OCTET STRING
    /// removed when present (RFC 8954 form, what OpenSSL sends), else the raw value.
    pub fn nonce(&self) -> Option<&'a [u8]> {
        let ext = self.extensions.iter().find(|e| e.oid == OID_OCSP_NONCE)?;
        let mut r = Reader::new(ext.value);
        match r.octet_string("nonce") {
            Ok(inner) if r.is_empty() => Some(inner),
            _ => Some(ext.value),
        }
    }
}

/// A decoded `SingleResponse`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SingleResponse<'a> {
    /// `certID`.
    pub cert_id: CertIdRef<'a>,
    /// `certStatus`.
    pub status: CertStatus,
    /// `thisUpdate`.
    pub this_update: Time,
    /// `nextUpdate`, if given.
    pub next_update: Option<Time>,
    /// `singleExtensions`, raw.
    pub extensions: Vec<Extension<'a>>,
}

impl<'a> SingleResponse<'a> {
    fn read(list: &mut Reader<'a>) -> Result<Self, Error> {
        let mut s = list.sequence("SingleResponse")?;
        let cert_id = CertIdRef::read(&mut s)?;
        let st = s.any("SingleResponse.certStatus")?;
        let status = match st.tag {
            t if t == tag::prim(0) && st.value.is_empty() => CertStatus::Good,
            t if t == tag::prim(2) && st.value.is_empty() => CertStatus::Unknown,
            t if t == tag::prim(0) || t == tag::prim(2) => {
                return Err(Error::BadEncoding {
                    what: "SingleResponse.certStatus",
                    why: "NULL with contents",
                });
            }
            t if t == tag::cons(1) => {
                let mut ri = Reader::new(st.value);
                let time = Time::parse_generalized(
                    ri.expect(tag::GENERALIZED_TIME, "RevokedInfo.revocationTime")?
                        .value,
                    "RevokedInfo.revocationTime",
                )?;
                let reason = match ri.optional(tag::cons(0), "RevokedInfo.revocationReason")? {
                    Some(e) => {
                        let mut er = Reader::new(e.value);
                        let v = er.small_uint(tag::ENUMERATED, "RevokedInfo.revocationReason")?;
                        er.finish("RevokedInfo.revocationReason")?;
                        Some(CrlReason(v))
                    }
                    None => None,
                };
                ri.finish("RevokedInfo")?;
                CertStatus::Revoked { time, reason }
            }
            found => {
                return Err(Error::UnexpectedTag {
                    what: "SingleResponse.certStatus",
                    expected: tag::prim(0),
                    found,
                });
            }
        };
        let this_update = Time::parse_generalized(
            s.expect(tag::GENERALIZED_TIME, "SingleResponse.thisUpdate")?
                .value,
            "SingleResponse.thisUpdate",
        )?;
        let next_update = match s.optional(tag::cons(0), "SingleResponse.nextUpdate")? {
            Some(e) => {
                let mut er = Reader::new(e.value);
                let t = Time::parse_generalized(
                    er.expect(tag::GENERALIZED_TIME, "SingleResponse.nextUpdate")?
                        .value,
                    "SingleResponse.nextUpdate",
                )?;
                er.finish("SingleResponse.nextUpdate")?;
                Some(t)
            }
            None => None,
        };
        let extensions = match s.optional(tag::cons(1), "SingleResponse.singleExtensions")? {
            Some(e) => read_extensions(e.value, "SingleResponse.singleExtensions")?,
            None => Vec::new(),
        };
        s.finish("SingleResponse")?;
        Ok(SingleResponse {
            cert_id,
            status,
            this_update,
            next_update,
            extensions,
        })
    }
}

/// `CertStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertStatus {
    /// `good`.
    Good,
    /// `revoked`, with the time and optional reason.
    Revoked {
        /// `revocationTime`.
        time: Time,
        /// `revocationReason`.
        reason: Option<CrlReason>,
    },
    /// `unknown`.
    Unknown,
}

impl CertStatus {
    /// `good`, `revoked` or `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            CertStatus::Good => "good",
            CertStatus::Revoked { .. } => "revoked",
            CertStatus::Unknown => "unknown",
        }
    }
}

/// `CRLReason` (RFC 5280 §5.3.1). Every value is kept: a revocation with an odd reason code is
/// still a revocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CrlReason(pub u8);

impl CrlReason {
    /// The RFC 5280 name, such as `keyCompromise`, or `None` for a value RFC 5280 does not define.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "unspecified",
            1 => "keyCompromise",
            2 => "cACompromise",
            3 => "affiliationChanged",
            4 => "superseded",
            5 => "cessationOfOperation",
            6 => "certificateHold",
            8 => "removeFromCRL",
            9 => "privilegeWithdrawn",
            10 => "aACompromise",
            _ => return None,
        })
    }
}

impl fmt::Display for CrlReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "reason{}", self.0),
        }
    }
}
