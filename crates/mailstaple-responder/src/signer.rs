//! The responder's signing key: loading it (PEM or DER; PKCS#8, SEC1 `EC PRIVATE KEY`, PKCS#1
//! `RSA PRIVATE KEY`) and signing `tbsResponseData` with aws-lc-rs.
//!
//! | key | signature algorithm |
//! |---|---|
//! | RSA 2048 to 8192 bits | sha256WithRSAEncryption (PKCS#1 v1.5) |
//! | ECDSA P-256 / P-384 / P-521 | ecdsa-with-SHA256 / SHA384 / SHA512, DER signatures |
//! | Ed25519 | Ed25519 |
//!
//! The randomness of ECDSA signatures comes from aws-lc-rs itself.
//!
//! An encrypted key (PKCS#8 `ENCRYPTED PRIVATE KEY`, RFC 5958 §3, as `openssl pkcs8 -topk8 -v2
//! aes-256-cbc` and `openssl genpkey -aes256` write it) is decrypted once, at start, with a
//! [`Passphrase`], through RustCrypto's `pkcs8`/`pkcs5`: PBES2 with PBKDF2 (HMAC-SHA-224/256/
//! 384/512) or scrypt, and AES-128/192/256 in CBC or GCM. PBES1 and DES are refused. The
//! passphrase and the decrypted key are zeroized when dropped and never printed (the `Debug`
//! forms are redacted); the key then lives in aws-lc, which clears it when freed.

use std::fmt;

use zeroize::Zeroizing;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};

use crate::Error;
use crate::pkcs11::{Scheme, TokenKey};
use aws_lc_rs::digest;

/// `sha256WithRSAEncryption` with NULL parameters (RFC 4055).
const ALG_RSA_SHA256: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];
/// `ecdsa-with-SHA256`, parameters absent (RFC 5758).
const ALG_ECDSA_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
/// `ecdsa-with-SHA384`.
const ALG_ECDSA_SHA384: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
];
/// `ecdsa-with-SHA512`.
const ALG_ECDSA_SHA512: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04,
];
/// `id-Ed25519` (RFC 8410).
const ALG_ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

enum Key {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair, &'static [u8]),
    Ed25519(Ed25519KeyPair),
    /// A key in a PKCS#11 token, with the certificate's public key and the algorithm.
    Token(Box<TokenKey>, Vec<u8>, &'static [u8]),
}

/// A private key that signs OCSP responses.
pub struct SigningKey {
    key: Key,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm_name())
            .finish_non_exhaustive()
    }
}

/// The passphrase of an encrypted key: zeroized when dropped, redacted in `Debug`.
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl Passphrase {
    /// A passphrase from its bytes.
    pub fn new(bytes: Vec<u8>) -> Passphrase {
        Passphrase(Zeroizing::new(bytes))
    }

    /// A passphrase read from a file or a systemd credential: one trailing line ending (`\n` or
    /// `\r\n`) is not part of it, as with `openssl -passin file:`.
    pub fn from_file_contents(mut bytes: Vec<u8>) -> Passphrase {
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        Passphrase::new(bytes)
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

impl SigningKey {
    /// Whether a key file's contents are an encrypted PKCS#8 key (PEM `ENCRYPTED PRIVATE KEY`,
    /// or DER `EncryptedPrivateKeyInfo`), which needs a [`Passphrase`].
    pub fn is_encrypted(bytes: &[u8]) -> bool {
        if mailstaple_ocsp::pem::is_pem(bytes) {
            mailstaple_ocsp::pem::first_block(bytes, &[ENCRYPTED_LABEL]).is_ok()
        } else {
            pkcs8::EncryptedPrivateKeyInfoRef::try_from(bytes).is_ok()
        }
    }

    /// Loads a key from a file's contents: PEM (`PRIVATE KEY`, `EC PRIVATE KEY` or
    /// `RSA PRIVATE KEY`; other blocks such as `EC PARAMETERS` are skipped) or DER (PKCS#8, SEC1
    /// or PKCS#1). An encrypted key is refused with [`Error::PassphraseRequired`]: see
    /// [`SigningKey::from_file_contents_with_passphrase`].
    pub fn from_file_contents(bytes: &[u8]) -> Result<SigningKey, Error> {
        SigningKey::from_file_contents_with_passphrase(bytes, None)
    }

    /// [`SigningKey::from_file_contents`], decrypting an encrypted PKCS#8 key (PEM
    /// `ENCRYPTED PRIVATE KEY` or DER) with `passphrase`. A passphrase given for a key that is not
    /// encrypted is not used.
    pub fn from_file_contents_with_passphrase(
        bytes: &[u8],
        passphrase: Option<&Passphrase>,
    ) -> Result<SigningKey, Error> {
        if !mailstaple_ocsp::pem::is_pem(bytes) {
            return match SigningKey::from_der(bytes) {
                Err(Error::UnsupportedKey) if SigningKey::is_encrypted(bytes) => {
                    decrypt(bytes, passphrase)
                }
                other => other,
            };
        }
        const LABELS: &[&str] = &["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"];
        let (label, der) = match mailstaple_ocsp::pem::first_block(bytes, LABELS) {
            Ok(found) => found,
            Err(_)
                if let Ok((_, der)) =
                    mailstaple_ocsp::pem::first_block(bytes, &[ENCRYPTED_LABEL]) =>
            {
                let der = Zeroizing::new(der);
                return decrypt(&der, passphrase);
            }
            Err(e) => {
                return Err(Error::Pem {
                    what: "signer key",
                    why: e.to_string(),
                });
            }
        };
        match label {
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der)
                .map(Key::Rsa)
                .map_err(|_| Error::UnsupportedKey),
            "EC PRIVATE KEY" => ecdsa(&der).ok_or(Error::UnsupportedKey),
            _ => pkcs8(&der).ok_or(Error::UnsupportedKey),
        }
        .map(SigningKey::wrap)
    }

    /// Loads a DER key: PKCS#8, SEC1 or PKCS#1.
    pub fn from_der(der: &[u8]) -> Result<SigningKey, Error> {
        pkcs8(der)
            .or_else(|| ecdsa(der))
            .or_else(|| RsaKeyPair::from_der(der).ok().map(Key::Rsa))
            .map(SigningKey::wrap)
            .ok_or(Error::UnsupportedKey)
    }

    fn wrap(key: Key) -> SigningKey {
        SigningKey {
            key,
            rng: SystemRandom::new(),
        }
    }

    /// The public key as it appears in a certificate's subjectPublicKey BIT STRING.
    pub fn public_key(&self) -> &[u8] {
        match &self.key {
            Key::Rsa(k) => k.public_key().as_ref(),
            Key::Ecdsa(k, _) => k.public_key().as_ref(),
            Key::Ed25519(k) => k.public_key().as_ref(),
            Key::Token(_, public, _) => public,
        }
    }

    /// The DER `AlgorithmIdentifier` of the signatures this key makes.
    pub fn signature_algorithm(&self) -> &'static [u8] {
        match &self.key {
            Key::Rsa(_) => ALG_RSA_SHA256,
            Key::Ecdsa(_, alg) => alg,
            Key::Ed25519(_) => ALG_ED25519,
            Key::Token(_, _, alg) => alg,
        }
    }

    /// A short name: `RSA-SHA256`, `ECDSA-SHA256` and so on, or `Ed25519`.
    pub fn algorithm_name(&self) -> &'static str {
        match &self.key {
            Key::Rsa(_) | Key::Token(_, _, ALG_RSA_SHA256) => "RSA-SHA256",
            Key::Token(_, _, a) if *a == ALG_ECDSA_SHA256 => "ECDSA-SHA256",
            Key::Token(_, _, a) if *a == ALG_ECDSA_SHA384 => "ECDSA-SHA384",
            Key::Token(..) => "ECDSA-SHA512",
            Key::Ecdsa(_, a) if *a == ALG_ECDSA_SHA256 => "ECDSA-SHA256",
            Key::Ecdsa(_, a) if *a == ALG_ECDSA_SHA384 => "ECDSA-SHA384",
            Key::Ecdsa(..) => "ECDSA-SHA512",
            Key::Ed25519(_) => "Ed25519",
        }
    }

    /// Signs `message`; `None` only if the cryptographic library fails.
    pub fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        match &self.key {
            Key::Rsa(k) => {
                let mut out = vec![0; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut out)
                    .ok()?;
                Some(out)
            }
            Key::Ecdsa(k, _) => k.sign(&self.rng, message).ok().map(|s| s.as_ref().to_vec()),
            Key::Ed25519(k) => Some(k.sign(message).as_ref().to_vec()),
            Key::Token(k, _, _) => k.sign(message),
        }
    }

    /// A key inside a PKCS#11 token (an HSM, SoftHSM2), named by an RFC 7512 URI such as
    /// `pkcs11:token=CA;object=ocsp-signer`, through the module at `module`, logging in with
    /// `pin`. The key type comes from `signer_cert` (the certificate whose key it is: RSA, or
    /// ECDSA on P-256, P-384 or P-521); one test signature proves the key is that certificate's.
    pub fn from_pkcs11(
        module: &std::path::Path,
        uri: &str,
        pin: &Passphrase,
        signer_cert: &[u8],
    ) -> Result<SigningKey, Error> {
        const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
        const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        const P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
        const P521: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23];
        let cert =
            mailstaple_ocsp::CertView::parse(signer_cert).map_err(|source| Error::Certificate {
                which: "signer",
                source,
            })?;
        let alg = &cert.public_key_algorithm;
        let (scheme, id) = match (alg.oid, alg.params) {
            (RSA, _) => (Scheme::RsaSha256, ALG_RSA_SHA256),
            (EC, Some(P256)) => (
                Scheme::Ecdsa(&digest::SHA256, 32, &signature::ECDSA_P256_SHA256_ASN1),
                ALG_ECDSA_SHA256,
            ),
            (EC, Some(P384)) => (
                Scheme::Ecdsa(&digest::SHA384, 48, &signature::ECDSA_P384_SHA384_ASN1),
                ALG_ECDSA_SHA384,
            ),
            (EC, Some(P521)) => (
                Scheme::Ecdsa(&digest::SHA512, 66, &signature::ECDSA_P521_SHA512_ASN1),
                ALG_ECDSA_SHA512,
            ),
            _ => return Err(Error::UnsupportedKey),
        };
        let key = TokenKey::open(module, uri, &pin.0, scheme, cert.public_key)?;
        Ok(SigningKey::wrap(Key::Token(
            Box::new(key),
            cert.public_key.to_vec(),
            id,
        )))
    }
}

/// Decrypts a DER `EncryptedPrivateKeyInfo` and loads the PKCS#8 key inside.
fn decrypt(der: &[u8], passphrase: Option<&Passphrase>) -> Result<SigningKey, Error> {
    let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der).map_err(|e| Error::Pem {
        what: "signer key",
        why: format!("malformed EncryptedPrivateKeyInfo: {e}"),
    })?;
    let Some(passphrase) = passphrase else {
        return Err(Error::PassphraseRequired);
    };
    if info.encryption_algorithm.pbes2().is_none() {
        return Err(Error::UnsupportedKeyEncryption(format!(
            "PBES1 scheme {}",
            info.encryption_algorithm.oid()
        )));
    }
    // The plaintext comes back as a SecretDocument, which zeroizes itself when dropped.
    let plain = info.decrypt(passphrase.0.as_slice()).map_err(|e| match e {
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm { oid }) => {
            Error::UnsupportedKeyEncryption(oid.to_string())
        }
        _ => Error::WrongPassphrase,
    })?;
    pkcs8(plain.as_bytes())
        .map(SigningKey::wrap)
        .ok_or(Error::WrongPassphrase)
}

fn pkcs8(der: &[u8]) -> Option<Key> {
    if let Ok(k) = RsaKeyPair::from_pkcs8(der) {
        return Some(Key::Rsa(k));
    }
    if let Ok(k) = Ed25519KeyPair::from_pkcs8(der) {
        return Some(Key::Ed25519(k));
    }
    ecdsa(der)
}

/// An ECDSA key in PKCS#8 or SEC1 form, on whichever curve it is.
fn ecdsa(der: &[u8]) -> Option<Key> {
    let curves: [(&'static signature::EcdsaSigningAlgorithm, &'static [u8]); 3] = [
        (&signature::ECDSA_P256_SHA256_ASN1_SIGNING, ALG_ECDSA_SHA256),
        (&signature::ECDSA_P384_SHA384_ASN1_SIGNING, ALG_ECDSA_SHA384),
        (&signature::ECDSA_P521_SHA512_ASN1_SIGNING, ALG_ECDSA_SHA512),
    ];
    curves.into_iter().find_map(|(alg, id)| {
        EcdsaKeyPair::from_private_key_der(alg, der)
            .ok()
            .map(|k| Key::Ecdsa(k, id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrases_are_redacted_and_lose_one_line_ending() {
        let p = Passphrase::from_file_contents(b"s3cret\r\n".to_vec());
        assert_eq!(p.0.as_slice(), b"s3cret");
        assert!(!format!("{p:?}").contains("s3cret"));
        let p = Passphrase::from_file_contents(b"two\n\n".to_vec());
        assert_eq!(p.0.as_slice(), b"two\n");
    }

    /// AES-GCM (which OpenSSL's command line does not write into PKCS#8) through the same
    /// crates: scrypt and AES-256-GCM, the right passphrase and a wrong one.
    #[test]
    fn scrypt_and_aes_gcm_keys() {
        use pkcs8::pkcs5::{pbes2, scrypt};
        let pki = mailstaple_testpki::Pki::shared(mailstaple_testpki::KeyAlg::EcdsaP256);
        let plain = pki.signer.key.serialized_der();
        let info = pkcs8::PrivateKeyInfoRef::try_from(plain).unwrap();
        let params = pbes2::Parameters::scrypt_aes256gcm(
            scrypt::Params::new(10, 8, 1).unwrap(),
            &[7; 16],
            [9; 12],
        )
        .unwrap();
        let encrypted = info.encrypt_with_params(params, b"gcm pass").unwrap();
        let der = encrypted.as_bytes();
        assert!(SigningKey::is_encrypted(der));
        let key = SigningKey::from_file_contents_with_passphrase(
            der,
            Some(&Passphrase::new(b"gcm pass".to_vec())),
        )
        .unwrap();
        assert_eq!(key.public_key(), pki.signer.spki_bits());
        let wrong = SigningKey::from_file_contents_with_passphrase(
            der,
            Some(&Passphrase::new(b"other".to_vec())),
        );
        assert!(matches!(wrong, Err(Error::WrongPassphrase)), "{wrong:?}");
        assert!(matches!(
            SigningKey::from_file_contents(der),
            Err(Error::PassphraseRequired)
        ));
    }

    #[test]
    fn plain_keys_are_not_encrypted_and_garbage_is_refused() {
        assert!(!SigningKey::is_encrypted(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        ));
        assert!(SigningKey::is_encrypted(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n"
        ));
        // An ENCRYPTED PRIVATE KEY block whose contents are not an EncryptedPrivateKeyInfo.
        let err = SigningKey::from_file_contents_with_passphrase(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n",
            Some(&Passphrase::new(b"x".to_vec())),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("malformed EncryptedPrivateKeyInfo"),
            "{err}"
        );
    }
}
