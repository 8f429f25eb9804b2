//! A zero-copy view of an X.509 certificate (RFC 5280 §4.1): exactly the fields OCSP needs.
//!
//! ```text
//! Certificate  ::=  SEQUENCE  {
//!      tbsCertificate       TBSCertificate,
//!      signatureAlgorithm   AlgorithmIdentifier,
//!      signatureValue       BIT STRING  }
//! TBSCertificate  ::=  SEQUENCE  {
//!      version         [0]  EXPLICIT Version DEFAULT v1,
//!      serialNumber         CertificateSerialNumber,
//!      signature            AlgorithmIdentifier,
//!      issuer               Name,
//!      validity             Validity,
//!      subject              Name,
//!      subjectPublicKeyInfo SubjectPublicKeyInfo,
//!      issuerUniqueID  [1]  IMPLICIT UniqueIdentifier OPTIONAL,
//!      subjectUniqueID [2]  IMPLICIT UniqueIdentifier OPTIONAL,
//!      extensions      [3]  EXPLICIT Extensions OPTIONAL }
//! ```
//!
//! This view does not check the certificate's signature or chain (webpki does that in
//! `mailstaple-verify`); it only locates fields, strictly enough that a CertID computed from it is
//! the one OpenSSL computes.

use crate::Error;
use crate::reader::{Reader, tag};
use crate::response::{AlgorithmId, Extension, read_extensions};
use crate::time::Time;

const OID_AIA: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];
const OID_AD_OCSP: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
const OID_TLS_FEATURE: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x18];
const OID_EKU: &[u8] = &[0x55, 0x1d, 0x25];
/// `id-kp-OCSPSigning` (1.3.6.1.5.5.7.3.9).
pub const OID_KP_OCSP_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09];
const OID_OCSP_NOCHECK: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x05];

/// The fields of a certificate that OCSP uses, borrowed from its DER.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CertView<'a> {
    /// The whole certificate.
    pub der: &'a [u8],
    /// `serialNumber` contents (two's complement, as encoded).
    pub serial: &'a [u8],
    /// `issuer`: the whole `Name` TLV.
    pub issuer: &'a [u8],
    /// `subject`: the whole `Name` TLV.
    pub subject: &'a [u8],
    /// `notBefore`.
    pub not_before: Time,
    /// `notAfter`.
    pub not_after: Time,
    /// `subjectPublicKeyInfo`: the whole TLV.
    pub spki: &'a [u8],
    /// The `subjectPublicKey` BIT STRING's bits: what `issuerKeyHash` and `byKey` hash.
    pub public_key: &'a [u8],
    /// `extensions`, raw.
    pub extensions: Vec<Extension<'a>>,
    /// `signatureAlgorithm`: how the issuer signed this certificate.
    pub signature_algorithm: AlgorithmId<'a>,
    /// `subjectPublicKeyInfo.algorithm`: the key type (and curve, as parameters).
    pub public_key_algorithm: AlgorithmId<'a>,
}

impl<'a> CertView<'a> {
    /// Locates the fields of a DER certificate. Trailing data is refused.
    pub fn parse(der: &'a [u8]) -> Result<Self, Error> {
        let mut outer = Reader::new(der);
        let mut cert = outer.sequence("Certificate")?;
        outer.finish("Certificate")?;
        let mut tbs = cert.sequence("Certificate.tbsCertificate")?;
        let signature_algorithm = AlgorithmId::read(&mut cert, "Certificate.signatureAlgorithm")?;
        cert.expect(tag::BIT_STRING, "Certificate.signatureValue")?;
        cert.finish("Certificate")?;

        tbs.optional(tag::cons(0), "tbsCertificate.version")?;
        let serial = tbs
            .expect(tag::INTEGER, "tbsCertificate.serialNumber")?
            .value;
        if serial.is_empty() {
            return Err(Error::BadEncoding {
                what: "tbsCertificate.serialNumber",
                why: "empty INTEGER",
            });
        }
        AlgorithmId::read(&mut tbs, "tbsCertificate.signature")?;
        let issuer = tbs.expect(tag::SEQUENCE, "tbsCertificate.issuer")?.raw;
        let mut validity = tbs.sequence("tbsCertificate.validity")?;
        let not_before = read_time(&mut validity, "validity.notBefore")?;
        let not_after = read_time(&mut validity, "validity.notAfter")?;
        validity.finish("tbsCertificate.validity")?;
        let subject = tbs.expect(tag::SEQUENCE, "tbsCertificate.subject")?.raw;
        let spki_tlv = tbs.expect(tag::SEQUENCE, "tbsCertificate.subjectPublicKeyInfo")?;
        let mut spki = Reader::new(spki_tlv.value);
        let public_key_algorithm = AlgorithmId::read(&mut spki, "subjectPublicKeyInfo.algorithm")?;
        let public_key = spki.bit_string("subjectPublicKeyInfo.subjectPublicKey")?;
        spki.finish("subjectPublicKeyInfo")?;
        tbs.optional(tag::prim(1), "tbsCertificate.issuerUniqueID")?;
        tbs.optional(tag::prim(2), "tbsCertificate.subjectUniqueID")?;
        let extensions = match tbs.optional(tag::cons(3), "tbsCertificate.extensions")? {
            Some(e) => read_extensions(e.value, "tbsCertificate.extensions")?,
            None => Vec::new(),
        };
        tbs.finish("tbsCertificate")?;
        Ok(CertView {
            der,
            serial,
            issuer,
            subject,
            not_before,
            not_after,
            spki: spki_tlv.raw,
            public_key,
            extensions,
            signature_algorithm,
            public_key_algorithm,
        })
    }

    fn extension(&self, oid: &[u8]) -> Option<&Extension<'a>> {
        self.extensions.iter().find(|e| e.oid == oid)
    }

    /// The OCSP responder URLs from the Authority Information Access extension, in order.
    ///
    /// A certificate without any is normal (public CAs retired OCSP in 2025): the result is then
    /// empty, not an error. A malformed extension is an error.
    pub fn ocsp_urls(&self) -> Result<Vec<&'a str>, Error> {
        const WHAT: &str = "extension authorityInfoAccess";
        let Some(ext) = self.extension(OID_AIA) else {
            return Ok(Vec::new());
        };
        let mut outer = Reader::new(ext.value);
        let mut list = outer.sequence(WHAT)?;
        outer.finish(WHAT)?;
        let mut urls = Vec::new();
        while !list.is_empty() {
            let mut ad = list.sequence(WHAT)?;
            let method = ad.oid(WHAT)?;
            let location = ad.any(WHAT)?;
            ad.finish(WHAT)?;
            if method == OID_AD_OCSP && location.tag == tag::prim(6) {
                let url = std::str::from_utf8(location.value)
                    .ok()
                    .filter(|s| s.is_ascii())
                    .ok_or(Error::BadEncoding {
                        what: WHAT,
                        why: "URI is not IA5String",
                    })?;
                urls.push(url);
            }
        }
        Ok(urls)
    }

    /// Whether the TLS Feature extension (RFC 7633) asks for `status_request` (must-staple).
    pub fn must_staple(&self) -> Result<bool, Error> {
        const WHAT: &str = "extension tlsFeature";
        let Some(ext) = self.extension(OID_TLS_FEATURE) else {
            return Ok(false);
        };
        let mut outer = Reader::new(ext.value);
        let mut list = outer.sequence(WHAT)?;
        outer.finish(WHAT)?;
        let mut found = false;
        while !list.is_empty() {
            if list.integer(WHAT)? == [5] {
                found = true;
            }
        }
        Ok(found)
    }

    /// The extended key usage OIDs, or `None` when the extension is absent.
    pub fn extended_key_usage(&self) -> Result<Option<Vec<&'a [u8]>>, Error> {
        const WHAT: &str = "extension extKeyUsage";
        let Some(ext) = self.extension(OID_EKU) else {
            return Ok(None);
        };
        let mut outer = Reader::new(ext.value);
        let mut list = outer.sequence(WHAT)?;
        outer.finish(WHAT)?;
        let mut out = Vec::new();
        while !list.is_empty() {
            out.push(list.oid(WHAT)?);
        }
        Ok(Some(out))
    }

    /// Whether the certificate carries `id-kp-OCSPSigning`.
    pub fn is_ocsp_signer(&self) -> Result<bool, Error> {
        Ok(self
            .extended_key_usage()?
            .is_some_and(|ekus| ekus.contains(&OID_KP_OCSP_SIGNING)))
    }

    /// What kind of public key the certificate carries, for display.
    pub fn key_kind(&self) -> KeyKind {
        const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
        const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
        const ED448: &[u8] = &[0x2b, 0x65, 0x71];
        let alg = &self.public_key_algorithm;
        match alg.oid {
            RSA => KeyKind::Rsa {
                bits: rsa_modulus_bits(self.public_key),
            },
            EC => KeyKind::Ec {
                curve: alg
                    .params
                    .and_then(|p| Reader::new(p).oid("namedCurve").ok())
                    .map(crate::oid_display),
            },
            ED25519 => KeyKind::Ed25519,
            ED448 => KeyKind::Ed448,
            other => KeyKind::Other(crate::oid_display(other)),
        }
    }

    /// Whether the certificate carries `id-pkix-ocsp-nocheck`.
    pub fn has_ocsp_nocheck(&self) -> bool {
        self.extension(OID_OCSP_NOCHECK).is_some()
    }
}

/// A certificate's public key type, for display ([`CertView::key_kind`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// RSA, with the modulus size in bits (`None` when the key does not decode).
    Rsa {
        /// Modulus bits.
        bits: Option<usize>,
    },
    /// Elliptic curve, with the named curve as `name (dotted)` when present.
    Ec {
        /// The curve.
        curve: Option<String>,
    },
    /// Ed25519.
    Ed25519,
    /// Ed448.
    Ed448,
    /// Anything else, as `name (dotted)` or dotted.
    Other(String),
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyKind::Rsa { bits: Some(b) } => write!(f, "RSA {b} bits"),
            KeyKind::Rsa { bits: None } => f.write_str("RSA (malformed key)"),
            KeyKind::Ec { curve: Some(c) } => write!(f, "EC {c}"),
            KeyKind::Ec { curve: None } => f.write_str("EC (no named curve)"),
            KeyKind::Ed25519 => f.write_str("Ed25519"),
            KeyKind::Ed448 => f.write_str("Ed448"),
            KeyKind::Other(alg) => write!(f, "{alg}"),
        }
    }
}

/// The size of an RSA modulus: `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent
/// INTEGER }` (RFC 8017 §A.1.1).
fn rsa_modulus_bits(key: &[u8]) -> Option<usize> {
    let mut outer = Reader::new(key);
    let mut seq = outer.sequence("RSAPublicKey").ok()?;
    let modulus = seq.integer("RSAPublicKey.modulus").ok()?;
    let first = modulus.iter().position(|&b| b != 0)?;
    let significant = modulus.get(first..)?;
    let top = significant.first()?;
    Some(significant.len() * 8 - top.leading_zeros() as usize)
}

fn read_time(r: &mut Reader<'_>, what: &'static str) -> Result<Time, Error> {
    let t = r.any(what)?;
    match t.tag {
        tag::UTC_TIME => Time::parse_utc(t.value, what),
        tag::GENERALIZED_TIME => Time::parse_generalized(t.value, what),
        found => Err(Error::UnexpectedTag {
            what,
            expected: tag::UTC_TIME,
            found,
        }),
    }
}

/// Compares two INTEGER encodings by value, tolerating redundant leading zero octets (some
/// certificates carry them).
pub fn serial_eq(a: &[u8], b: &[u8]) -> bool {
    canonical_integer(a) == canonical_integer(b)
}

/// INTEGER contents with redundant leading octets removed: the DER form of the same value. A
/// leading 0x00 before a byte without the top bit, or 0xff before one with it (a negative
/// serial, which RFC 5280 forbids but certificates in the wild have), adds nothing.
pub(crate) fn canonical_integer(mut v: &[u8]) -> &[u8] {
    loop {
        match v {
            [0x00, rest @ ..] if rest.first().is_some_and(|b| b & 0x80 == 0) => v = rest,
            [0xff, rest @ ..] if rest.first().is_some_and(|b| b & 0x80 != 0) => v = rest,
            _ => return v,
        }
    }
}
