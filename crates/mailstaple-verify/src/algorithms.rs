//! Signature algorithms: the aws-lc-rs set that rustls uses, plus legacy sha1WithRSAEncryption.

use aws_lc_rs::signature;
use rustls_pki_types::{
    AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
};
use webpki::aws_lc_rs as alg;

/// sha1WithRSAEncryption: still used by some legacy responders and responder certificates,
/// accepted by default as OpenSSL and Exim accept it, refused when [`crate::Policy::allow_sha1`]
/// is false. The field is the AlgorithmIdentifier's contents: with NULL parameters, as RFC 3279
/// says, or with them absent, as some CAs write it and OpenSSL accepts (RFC 4055 §5 makes
/// verifiers accept both forms for the SHA-2 variants).
#[derive(Debug)]
struct RsaPkcs1Sha1(&'static [u8]);

/// `SEQUENCE { OID 1.2.840.113549.1.1.5, NULL }` contents.
const SHA1_WITH_RSA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
];

/// `SEQUENCE { OID 1.2.840.113549.1.1.5 }` contents: parameters absent.
const SHA1_WITH_RSA_ABSENT_PARAMS: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05,
];

impl SignatureVerificationAlgorithm for RsaPkcs1Sha1 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        signature::UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            public_key,
        )
        .verify(message, signature)
        .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        AlgorithmIdentifier::from_slice(self.0)
    }

    fn fips(&self) -> bool {
        false
    }
}

/// The legacy SHA-1 RSA algorithm, NULL parameters.
pub(crate) static RSA_PKCS1_SHA1: &dyn SignatureVerificationAlgorithm =
    &RsaPkcs1Sha1(SHA1_WITH_RSA);

/// The legacy SHA-1 RSA algorithm, parameters absent.
pub(crate) static RSA_PKCS1_SHA1_ABSENT_PARAMS: &dyn SignatureVerificationAlgorithm =
    &RsaPkcs1Sha1(SHA1_WITH_RSA_ABSENT_PARAMS);

/// Whether an AlgorithmIdentifier's contents are sha1WithRSAEncryption, in either form.
pub(crate) fn is_sha1(value: &[u8]) -> bool {
    value == SHA1_WITH_RSA || value == SHA1_WITH_RSA_ABSENT_PARAMS
}

/// Every algorithm accepted by default: RSA PKCS#1 v1.5 with SHA-256/384/512 and legacy SHA-1
/// (each with NULL or absent parameters), RSA-PSS with SHA-256/384/512, ECDSA on P-256, P-384 and P-521 with SHA-256/384/512, Ed25519.
pub static DEFAULT_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    alg::RSA_PKCS1_2048_8192_SHA256,
    alg::RSA_PKCS1_2048_8192_SHA384,
    alg::RSA_PKCS1_2048_8192_SHA512,
    alg::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    alg::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    alg::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    alg::ECDSA_P256_SHA256,
    alg::ECDSA_P256_SHA384,
    alg::ECDSA_P256_SHA512,
    alg::ECDSA_P384_SHA256,
    alg::ECDSA_P384_SHA384,
    alg::ECDSA_P384_SHA512,
    alg::ECDSA_P521_SHA256,
    alg::ECDSA_P521_SHA384,
    alg::ECDSA_P521_SHA512,
    alg::ED25519,
    RSA_PKCS1_SHA1,
    RSA_PKCS1_SHA1_ABSENT_PARAMS,
];
