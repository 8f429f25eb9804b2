//! Keys derived from a certificate's CertID.

use mailstaple_ocsp::{CertId, CertView, HashAlgorithm};

/// Where one certificate's proof and lease live in the store.
///
/// The id is the SHA-1 hash of the issuer's public key and the serial number, both in lowercase
/// hex (`KEYHASH.SERIAL`): the same CertID every node computes from the same certificate, and the
/// one RFC 5019 requests carry. It is wrapped in a Redis Cluster hash tag, so that
/// `PREFIX:{ID}:proof` and `PREFIX:{ID}:lease` always share a slot.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey {
    id: String,
    proof: String,
    lease: String,
}

impl StoreKey {
    /// The key of `cert` issued by `issuer` (both DER) under `prefix`; `None` if either does not
    /// decode.
    pub fn for_certificate(prefix: &str, cert: &[u8], issuer: &[u8]) -> Option<StoreKey> {
        let cert = CertView::parse(cert).ok()?;
        let issuer = CertView::parse(issuer).ok()?;
        let id = CertId::new(&cert, &issuer, HashAlgorithm::Sha1);
        Some(StoreKey::from_parts(
            prefix,
            &id.issuer_key_hash,
            &id.serial,
        ))
    }

    /// The key from an issuer key hash and serial number.
    pub fn from_parts(prefix: &str, issuer_key_hash: &[u8], serial: &[u8]) -> StoreKey {
        let id = format!("{}.{}", hex(issuer_key_hash), hex(serial));
        StoreKey {
            proof: format!("{prefix}:{{{id}}}:proof"),
            lease: format!("{prefix}:{{{id}}}:lease"),
            id,
        }
    }

    /// The certificate's id, `KEYHASH.SERIAL` (what [`crate::Notice`]s carry).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The proof's key.
    pub fn proof(&self) -> &str {
        &self.proof
    }

    /// The lease's key.
    pub fn lease(&self) -> &str {
        &self.lease
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_a_hash_tag() {
        let k = StoreKey::from_parts("ms", &[0xde, 0xad], &[0x0f, 0x01]);
        assert_eq!(k.id(), "dead.0f01");
        assert_eq!(k.proof(), "ms:{dead.0f01}:proof");
        assert_eq!(k.lease(), "ms:{dead.0f01}:lease");
    }

    #[test]
    fn a_certificate_has_the_key_of_its_certid() {
        let pki = mailstaple_testpki::Pki::shared(mailstaple_testpki::KeyAlg::EcdsaP256);
        let a = StoreKey::for_certificate("p", &pki.leaf.der, &pki.intermediate.der);
        let b = StoreKey::for_certificate("p", &pki.leaf.der, &pki.intermediate.der);
        assert!(a.is_some());
        assert_eq!(a, b);
        let other = StoreKey::for_certificate("p", &pki.other_leaf.der, &pki.intermediate.der);
        assert_ne!(a, other);
        assert_eq!(
            StoreKey::for_certificate("p", b"junk", &pki.intermediate.der),
            None
        );
    }
}
