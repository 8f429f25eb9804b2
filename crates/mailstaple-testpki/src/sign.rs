//! Signing the exact `tbsResponseData` bytes with aws-lc-rs, and the matching
//! `signatureAlgorithm` AlgorithmIdentifiers.
//!
//! Two combinations have no direct aws-lc-rs signing API and are built from lower-level pieces:
//!
//! - ECDSA where the hash does not match the curve's native hash (P-256 with SHA-384/512, P-384
//!   with SHA-256/512): FIPS 186-5 §6.4.1 uses the leftmost `ceil(log2 n)` bits of the hash, so the
//!   hash is truncated (or, if shorter, left-padded with zeros, which leaves its integer value
//!   unchanged) to the curve's native digest length and signed with `sign_digest`.
//! - RSA PKCS#1 v1.5 with SHA-1, which aws-lc-rs does not offer for signing: the EMSA-PKCS1-v1_5
//!   block is built here (RFC 8017 §9.2) and raised to the private exponent with the small
//!   Montgomery arithmetic below.
//!   Test tooling only: neither constant-time nor fast, and never used on secrets that matter.

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};

use crate::der;
use crate::{KeyAlg, SigAlg};

/// Whether a signature algorithm can be made with a key of the given algorithm.
pub(crate) fn compatible(key: KeyAlg, sig: SigAlg) -> bool {
    use SigAlg::*;
    match key {
        KeyAlg::Rsa2048 => matches!(
            sig,
            RsaPkcs1Sha1
                | RsaPkcs1Sha256
                | RsaPkcs1Sha384
                | RsaPkcs1Sha512
                | RsaPssSha256
                | RsaPssSha384
                | RsaPssSha512
        ),
        KeyAlg::EcdsaP256 | KeyAlg::EcdsaP384 | KeyAlg::EcdsaP521 => {
            matches!(sig, EcdsaSha256 | EcdsaSha384 | EcdsaSha512)
        }
        KeyAlg::Ed25519 => sig == Ed25519,
    }
}

/// The signature algorithm used when the builder is not told otherwise.
pub(crate) fn default_sig_alg(key: KeyAlg) -> SigAlg {
    match key {
        KeyAlg::Rsa2048 => SigAlg::RsaPkcs1Sha256,
        KeyAlg::EcdsaP256 => SigAlg::EcdsaSha256,
        KeyAlg::EcdsaP384 => SigAlg::EcdsaSha384,
        KeyAlg::EcdsaP521 => SigAlg::EcdsaSha512,
        KeyAlg::Ed25519 => SigAlg::Ed25519,
    }
}

const SHA1: &[u64] = &[1, 3, 14, 3, 2, 26];
const SHA256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];
const SHA384: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 2];
const SHA512: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 3];
const RSA_PKCS1: [u64; 6] = [1, 2, 840, 113549, 1, 1];

/// `AlgorithmIdentifier { algorithm, parameters NULL }` for a hash function, as OpenSSL writes it.
pub(crate) fn hash_alg_id(arcs: &[u64]) -> Vec<u8> {
    der::seq(&[&der::oid(arcs), &der::null()])
}

/// OID arcs of SHA-1 (RFC 3279 §2.2.1).
pub(crate) fn sha1_arcs() -> &'static [u64] {
    SHA1
}

/// OID arcs of SHA-256 (RFC 5754 §2).
pub(crate) fn sha256_arcs() -> &'static [u64] {
    SHA256
}

fn rsa_oid(last: u64) -> Vec<u8> {
    let mut arcs = RSA_PKCS1.to_vec();
    arcs.push(last);
    der::oid(&arcs)
}

/// RSASSA-PSS-params with the same hash for the message and MGF1 and a salt as long as the hash,
/// the trailer field left at its default (RFC 4055 §3.1).
fn pss_alg_id(hash: &[u64], salt_len: u64) -> Vec<u8> {
    let hash_id = hash_alg_id(hash);
    let mgf1 = der::seq(&[&rsa_oid(8), &hash_id]);
    let params = der::seq(&[
        &der::context(0, &hash_id),
        &der::context(1, &mgf1),
        &der::context(2, &der::small_uint(salt_len)),
    ]);
    der::seq(&[&rsa_oid(10), &params])
}

/// The `signatureAlgorithm` AlgorithmIdentifier of a [`SigAlg`].
pub(crate) fn sig_alg_id(alg: SigAlg) -> Vec<u8> {
    let ecdsa = |last: u64| der::seq(&[&der::oid(&[1, 2, 840, 10045, 4, 3, last])]);
    match alg {
        SigAlg::RsaPkcs1Sha1 => der::seq(&[&rsa_oid(5), &der::null()]),
        SigAlg::RsaPkcs1Sha256 => der::seq(&[&rsa_oid(11), &der::null()]),
        SigAlg::RsaPkcs1Sha384 => der::seq(&[&rsa_oid(12), &der::null()]),
        SigAlg::RsaPkcs1Sha512 => der::seq(&[&rsa_oid(13), &der::null()]),
        SigAlg::RsaPssSha256 => pss_alg_id(SHA256, 32),
        SigAlg::RsaPssSha384 => pss_alg_id(SHA384, 48),
        SigAlg::RsaPssSha512 => pss_alg_id(SHA512, 64),
        SigAlg::EcdsaSha256 => ecdsa(2),
        SigAlg::EcdsaSha384 => ecdsa(3),
        SigAlg::EcdsaSha512 => ecdsa(4),
        SigAlg::Ed25519 => der::seq(&[&der::oid(&[1, 3, 101, 112])]),
    }
}

/// [`sig_alg_id`] with the parameters left out where RSA PKCS#1 writes NULL.
pub(crate) fn sig_alg_id_absent_params(alg: SigAlg) -> Vec<u8> {
    match alg {
        SigAlg::RsaPkcs1Sha1 => der::seq(&[&rsa_oid(5)]),
        SigAlg::RsaPkcs1Sha256 => der::seq(&[&rsa_oid(11)]),
        SigAlg::RsaPkcs1Sha384 => der::seq(&[&rsa_oid(12)]),
        SigAlg::RsaPkcs1Sha512 => der::seq(&[&rsa_oid(13)]),
        other => sig_alg_id(other),
    }
}

/// Signs `msg` with the PKCS#8 private key `pkcs8` of algorithm `key`, using `sig`.
///
/// Panics when `sig` cannot be made with such a key (see [`compatible`]) or the key is unusable.
pub(crate) fn sign(pkcs8: &[u8], key: KeyAlg, sig: SigAlg, msg: &[u8]) -> Vec<u8> {
    assert!(
        compatible(key, sig),
        "signature algorithm {sig:?} cannot be made with a {} key",
        key.name()
    );
    let rng = SystemRandom::new();
    match key {
        KeyAlg::Rsa2048 => {
            let encoding: &'static dyn signature::RsaEncoding = match sig {
                SigAlg::RsaPkcs1Sha1 => return rsa_pkcs1_sha1(pkcs8, msg),
                SigAlg::RsaPkcs1Sha256 => &signature::RSA_PKCS1_SHA256,
                SigAlg::RsaPkcs1Sha384 => &signature::RSA_PKCS1_SHA384,
                SigAlg::RsaPkcs1Sha512 => &signature::RSA_PKCS1_SHA512,
                SigAlg::RsaPssSha256 => &signature::RSA_PSS_SHA256,
                SigAlg::RsaPssSha384 => &signature::RSA_PSS_SHA384,
                _ => &signature::RSA_PSS_SHA512,
            };
            let kp = RsaKeyPair::from_pkcs8(pkcs8).expect("RSA PKCS#8 key loads");
            let mut out = vec![0; kp.public_modulus_len()];
            kp.sign(encoding, &rng, msg, &mut out)
                .expect("RSA signing works");
            out
        }
        KeyAlg::EcdsaP256 | KeyAlg::EcdsaP384 | KeyAlg::EcdsaP521 => {
            ecdsa(pkcs8, key, sig, msg, &rng)
        }
        KeyAlg::Ed25519 => {
            let kp = Ed25519KeyPair::from_pkcs8(pkcs8).expect("Ed25519 PKCS#8 key loads");
            kp.sign(msg).as_ref().to_vec()
        }
    }
}

fn ecdsa(pkcs8: &[u8], key: KeyAlg, sig: SigAlg, msg: &[u8], rng: &SystemRandom) -> Vec<u8> {
    use signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING as P256_SHA256,
        ECDSA_P384_SHA384_ASN1_SIGNING as P384_SHA384,
        ECDSA_P521_SHA256_ASN1_SIGNING as P521_SHA256,
        ECDSA_P521_SHA384_ASN1_SIGNING as P521_SHA384,
        ECDSA_P521_SHA512_ASN1_SIGNING as P521_SHA512,
    };
    let hash: &'static digest::Algorithm = match sig {
        SigAlg::EcdsaSha256 => &digest::SHA256,
        SigAlg::EcdsaSha384 => &digest::SHA384,
        _ => &digest::SHA512,
    };
    // (aws-lc-rs signing algorithm, its digest, whether that digest is the requested one)
    let (native, native_hash, direct): (
        &'static signature::EcdsaSigningAlgorithm,
        &'static digest::Algorithm,
        bool,
    ) = match (key, sig) {
        (KeyAlg::EcdsaP256, s) => (&P256_SHA256, &digest::SHA256, s == SigAlg::EcdsaSha256),
        (KeyAlg::EcdsaP384, s) => (&P384_SHA384, &digest::SHA384, s == SigAlg::EcdsaSha384),
        (_, SigAlg::EcdsaSha256) => (&P521_SHA256, &digest::SHA256, true),
        (_, SigAlg::EcdsaSha384) => (&P521_SHA384, &digest::SHA384, true),
        _ => (&P521_SHA512, &digest::SHA512, true),
    };
    let kp = EcdsaKeyPair::from_pkcs8(native, pkcs8).expect("ECDSA PKCS#8 key loads");
    if direct {
        return kp
            .sign(rng, msg)
            .expect("ECDSA signing works")
            .as_ref()
            .to_vec();
    }
    // The curve's native digest length equals the bit length of its order here (P-256, P-384), so
    // fitting the hash to that length is exactly the FIPS 186-5 conversion of the hash.
    let h = digest::digest(hash, msg);
    let fitted = fit(h.as_ref(), native_hash.output_len());
    let d = digest::Digest::import_less_safe(&fitted, native_hash).expect("digest length matches");
    kp.sign_digest(&d)
        .expect("ECDSA signing works")
        .as_ref()
        .to_vec()
}

/// Truncates `hash` to its leftmost `len` bytes, or left-pads it with zeros to `len` bytes.
pub(crate) fn fit(hash: &[u8], len: usize) -> Vec<u8> {
    if hash.len() >= len {
        hash[..len].to_vec()
    } else {
        let mut out = vec![0; len - hash.len()];
        out.extend_from_slice(hash);
        out
    }
}

/// `DigestInfo` prefix for SHA-1 (RFC 8017 §9.2, note 1).
const SHA1_DIGEST_INFO_PREFIX: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];

fn rsa_pkcs1_sha1(pkcs8: &[u8], msg: &[u8]) -> Vec<u8> {
    use sha1::Digest as _;
    let mut digest_info = SHA1_DIGEST_INFO_PREFIX.to_vec();
    digest_info.extend_from_slice(&sha1::Sha1::digest(msg));
    rsa_pkcs1_sign_digest_info(pkcs8, &digest_info)
}

/// RSASSA-PKCS1-v1_5 signature (RFC 8017 §8.2.1) over an already-encoded `DigestInfo`.
pub(crate) fn rsa_pkcs1_sign_digest_info(pkcs8: &[u8], digest_info: &[u8]) -> Vec<u8> {
    let (n, d) = rsa_private(pkcs8).expect("RSA PKCS#8 key has the RFC 8017 layout");
    let k = n.len();
    assert!(
        digest_info.len() + 11 <= k,
        "modulus too short for the DigestInfo"
    );
    // EM = 0x00 || 0x01 || PS (0xff..) || 0x00 || T
    let mut em = vec![0xff; k];
    em[0] = 0x00;
    em[1] = 0x01;
    em[k - digest_info.len() - 1] = 0x00;
    em[k - digest_info.len()..].copy_from_slice(digest_info);
    let modulus = Nat::from_be(&n, limbs_for(k));
    let exponent = Nat::from_be(&d, limbs_for(d.len()));
    let message = Nat::from_be(&em, modulus.0.len());
    modexp(&message, &exponent, &modulus).to_be(k)
}

/// Pulls the modulus and private exponent (unsigned big-endian, no leading zeros) out of
/// `PrivateKeyInfo { version, algorithm, privateKey OCTET STRING (RSAPrivateKey) }`.
fn rsa_private(pkcs8: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (info, _) = der::expect(pkcs8, der::tag::SEQUENCE)?;
    let (_version, rest) = der::expect(info.content, der::tag::INTEGER)?;
    let (_alg, rest) = der::expect(rest, der::tag::SEQUENCE)?;
    let (key, _) = der::expect(rest, der::tag::OCTET_STRING)?;
    let (rsa, _) = der::expect(key.content, der::tag::SEQUENCE)?;
    let (_version, rest) = der::expect(rsa.content, der::tag::INTEGER)?;
    let (n, rest) = der::expect(rest, der::tag::INTEGER)?;
    let (_e, rest) = der::expect(rest, der::tag::INTEGER)?;
    let (d, _) = der::expect(rest, der::tag::INTEGER)?;
    let strip = |b: &[u8]| {
        let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
        b[first..].to_vec()
    };
    Some((strip(n.content), strip(d.content)))
}

fn limbs_for(bytes: usize) -> usize {
    bytes.div_ceil(8).max(1)
}

/// A natural number as little-endian 64-bit limbs of a fixed width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Nat(pub(crate) Vec<u64>);

impl Nat {
    /// Reads unsigned big-endian bytes into `limbs` limbs.
    pub(crate) fn from_be(bytes: &[u8], limbs: usize) -> Nat {
        let mut out = vec![0u64; limbs];
        for (i, &b) in bytes.iter().rev().enumerate() {
            if b != 0 {
                out[i / 8] |= u64::from(b) << (8 * (i % 8));
            }
        }
        Nat(out)
    }

    /// Writes the value as exactly `len` big-endian bytes.
    pub(crate) fn to_be(&self, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        for i in 0..len {
            let limb = self.0.get(i / 8).copied().unwrap_or(0);
            out[len - 1 - i] = (limb >> (8 * (i % 8))) as u8;
        }
        out
    }

    fn bit(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }

    fn bits(&self) -> usize {
        for (i, &limb) in self.0.iter().enumerate().rev() {
            if limb != 0 {
                return i * 64 + 64 - limb.leading_zeros() as usize;
            }
        }
        0
    }
}

/// `a >= b` for equal-width numbers.
fn geq(a: &[u64], b: &[u64]) -> bool {
    for (x, y) in a.iter().zip(b).rev() {
        if x != y {
            return x > y;
        }
    }
    true
}

/// `a -= b` for equal-width numbers, returning the borrow.
fn sub_in_place(a: &mut [u64], b: &[u64]) -> bool {
    let mut borrow = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *x = d2;
        borrow = b1 || b2;
    }
    borrow
}

/// Montgomery multiplication (CIOS): `a * b * R^-1 mod n` with `R = 2^(64 * limbs)`.
fn mont_mul(a: &[u64], b: &[u64], n: &[u64], n0inv: u64) -> Vec<u64> {
    let l = n.len();
    let mut t = vec![0u64; l + 2];
    for &bi in b {
        let mut carry = 0u64;
        for j in 0..l {
            let uv = u128::from(t[j]) + u128::from(a[j]) * u128::from(bi) + u128::from(carry);
            t[j] = uv as u64;
            carry = (uv >> 64) as u64;
        }
        let uv = u128::from(t[l]) + u128::from(carry);
        t[l] = uv as u64;
        t[l + 1] = (uv >> 64) as u64;

        let m = t[0].wrapping_mul(n0inv);
        let uv = u128::from(t[0]) + u128::from(m) * u128::from(n[0]);
        let mut carry = (uv >> 64) as u64;
        for j in 1..l {
            let uv = u128::from(t[j]) + u128::from(m) * u128::from(n[j]) + u128::from(carry);
            t[j - 1] = uv as u64;
            carry = (uv >> 64) as u64;
        }
        let uv = u128::from(t[l]) + u128::from(carry);
        t[l - 1] = uv as u64;
        t[l] = t[l + 1] + (uv >> 64) as u64;
        t[l + 1] = 0;
    }
    let mut result = t[..l].to_vec();
    if t[l] != 0 || geq(&result, n) {
        sub_in_place(&mut result, n);
    }
    result
}

/// `base^exp mod n` for odd `n`, `base < n`.
pub(crate) fn modexp(base: &Nat, exp: &Nat, n: &Nat) -> Nat {
    let n = &n.0;
    let l = n.len();
    assert!(n[0] & 1 == 1, "Montgomery arithmetic needs an odd modulus");
    // -n^-1 mod 2^64 by Newton iteration; each step doubles the number of correct low bits.
    let mut inv = 1u64;
    for _ in 0..6 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(n[0].wrapping_mul(inv)));
    }
    let n0inv = inv.wrapping_neg();
    // R^2 mod n by doubling 1 modulo n, 2 * 64 * l times.
    let mut r2 = vec![0u64; l];
    r2[0] = 1;
    for _ in 0..(2 * 64 * l) {
        let mut carry = 0u64;
        for limb in r2.iter_mut() {
            let next = *limb >> 63;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        if carry == 1 || geq(&r2, n) {
            sub_in_place(&mut r2, n);
        }
    }
    let mut one = vec![0u64; l];
    one[0] = 1;
    let base_m = mont_mul(&base.0, &r2, n, n0inv);
    let mut acc = mont_mul(&one, &r2, n, n0inv);
    for i in (0..exp.bits()).rev() {
        acc = mont_mul(&acc, &acc, n, n0inv);
        if exp.bit(i) {
            acc = mont_mul(&acc, &base_m, n, n0inv);
        }
    }
    Nat(mont_mul(&acc, &one, n, n0inv))
}
