//! `CertID` (RFC 6960 §4.1.1): computing one from a certificate and its issuer, and matching a
//! received one whatever hash algorithm the responder chose.
//!
//! ```text
//! CertID ::= SEQUENCE {
//!     hashAlgorithm       AlgorithmIdentifier,
//!     issuerNameHash      OCTET STRING, -- Hash of issuer's DN
//!     issuerKeyHash       OCTET STRING, -- Hash of issuer's public key
//!     serialNumber        CertificateSerialNumber }
//! ```
//!
//! `issuerNameHash` is the hash of the DER of the issuer's subject `Name`, and `issuerKeyHash` the
//! hash of the issuer's subjectPublicKey BIT STRING contents (without tag, length and the
//! unused-bits octet).

use sha1::Digest as _;

use crate::Error;
use crate::cert::{CertView, canonical_integer, serial_eq};
use crate::encode;
use crate::reader::{Reader, tag};
use crate::response::AlgorithmId;

/// A hash algorithm a CertID may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-1 (1.3.14.3.2.26): what RFC 5019 clients and most responders use.
    Sha1,
    /// SHA-256 (2.16.840.1.101.3.4.2.1).
    Sha256,
    /// SHA-384 (2.16.840.1.101.3.4.2.2).
    Sha384,
    /// SHA-512 (2.16.840.1.101.3.4.2.3).
    Sha512,
}

impl HashAlgorithm {
    /// The OBJECT IDENTIFIER contents.
    pub fn oid(self) -> &'static [u8] {
        match self {
            Self::Sha1 => &[0x2b, 0x0e, 0x03, 0x02, 0x1a],
            Self::Sha256 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
            Self::Sha384 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02],
            Self::Sha512 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03],
        }
    }

    /// Recognises an `AlgorithmIdentifier` (parameters absent or NULL).
    pub fn from_algorithm(alg: &AlgorithmId<'_>) -> Option<Self> {
        if !matches!(alg.params, None | Some([tag::NULL, 0])) {
            return None;
        }
        [Self::Sha1, Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|h| h.oid() == alg.oid)
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    fn digest_eq(self, data: &[u8], expected: &[u8]) -> bool {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).as_slice() == expected,
            Self::Sha256 => sha2::Sha256::digest(data).as_slice() == expected,
            Self::Sha384 => sha2::Sha384::digest(data).as_slice() == expected,
            Self::Sha512 => sha2::Sha512::digest(data).as_slice() == expected,
        }
    }
}

/// A CertID computed locally, owned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CertId {
    /// The hash algorithm.
    pub hash: HashAlgorithm,
    /// Hash of the issuer's subject `Name` DER.
    pub issuer_name_hash: Vec<u8>,
    /// Hash of the issuer's subjectPublicKey bits.
    pub issuer_key_hash: Vec<u8>,
    /// The certificate's serial number (minimal INTEGER contents).
    pub serial: Vec<u8>,
}

impl CertId {
    /// The CertID of `cert` as issued by `issuer`.
    ///
    /// The name hash is taken over the issuer certificate's subject, as RFC 6960 requires; callers
    /// that care whether `cert` really names `issuer` check `cert.issuer == issuer.subject`
    /// (mailstaple-verify does).
    pub fn new(cert: &CertView<'_>, issuer: &CertView<'_>, hash: HashAlgorithm) -> Self {
        CertId {
            hash,
            issuer_name_hash: hash.digest(issuer.subject),
            issuer_key_hash: hash.digest(issuer.public_key),
            // A CertID is DER: a certificate whose serial carries redundant leading zeros
            // (found by fuzzing) gets the minimal encoding of the same value, as OpenSSL writes.
            serial: canonical_integer(cert.serial).to_vec(),
        }
    }

    /// The DER encoding, with NULL hash parameters as OpenSSL writes them.
    pub fn to_der(&self) -> Vec<u8> {
        let alg = encode::seq(&[&encode::tlv(tag::OID, self.hash.oid()), &[tag::NULL, 0]]);
        encode::seq(&[
            &alg,
            &encode::tlv(tag::OCTET_STRING, &self.issuer_name_hash),
            &encode::tlv(tag::OCTET_STRING, &self.issuer_key_hash),
            &encode::tlv(tag::INTEGER, &self.serial),
        ])
    }
}

/// A CertID as received in a response or request, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertIdRef<'a> {
    /// `hashAlgorithm`.
    pub hash_algorithm: AlgorithmId<'a>,
    /// `issuerNameHash`.
    pub issuer_name_hash: &'a [u8],
    /// `issuerKeyHash`.
    pub issuer_key_hash: &'a [u8],
    /// `serialNumber` contents.
    pub serial: &'a [u8],
}

impl<'a> CertIdRef<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, Error> {
        let mut s = r.sequence("CertID")?;
        let hash_algorithm = AlgorithmId::read(&mut s, "CertID.hashAlgorithm")?;
        let issuer_name_hash = s.octet_string("CertID.issuerNameHash")?;
        let issuer_key_hash = s.octet_string("CertID.issuerKeyHash")?;
        let serial = s.integer("CertID.serialNumber")?;
        s.finish("CertID")?;
        Ok(CertIdRef {
            hash_algorithm,
            issuer_name_hash,
            issuer_key_hash,
            serial,
        })
    }

    /// The hash algorithm, if it is one we know.
    pub fn hash(&self) -> Option<HashAlgorithm> {
        HashAlgorithm::from_algorithm(&self.hash_algorithm)
    }

    /// Whether this CertID names `issuer` (name hash and key hash both match).
    pub fn names_issuer(&self, issuer: &CertView<'_>) -> Result<bool, Error> {
        let hash = self.hash().ok_or_else(|| {
            Error::UnsupportedHashAlgorithm(crate::oid_to_string(self.hash_algorithm.oid))
        })?;
        Ok(hash.digest_eq(issuer.subject, self.issuer_name_hash)
            && hash.digest_eq(issuer.public_key, self.issuer_key_hash))
    }

    /// Whether this CertID is the one of `cert` issued by `issuer`, whatever its hash algorithm.
    pub fn matches(&self, cert: &CertView<'_>, issuer: &CertView<'_>) -> Result<bool, Error> {
        Ok(serial_eq(self.serial, cert.serial) && self.names_issuer(issuer)?)
    }

    /// Whether this CertID equals a locally computed one.
    pub fn matches_id(&self, id: &CertId) -> bool {
        self.hash() == Some(id.hash)
            && self.issuer_name_hash == id.issuer_name_hash.as_slice()
            && self.issuer_key_hash == id.issuer_key_hash.as_slice()
            && serial_eq(self.serial, &id.serial)
    }
}
