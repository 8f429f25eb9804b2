//! Development-only test PKI for mailstaple: rcgen certificates and an OCSP response builder with
//! a knob for every defect.
//!
//! # What it does
//!
//! - [`Pki`] generates a complete hierarchy for one [`KeyAlg`] (RSA-2048, ECDSA P-256/P-384/P-521,
//!   Ed25519): root, issuing intermediate, a `mail.example.test` leaf (AIA OCSP URL, optional
//!   must-staple), a second leaf, a delegated OCSP signer and its broken twins (no EKU, expired,
//!   not yet valid, short-lived), and an unrelated CA with a rogue signer.
//!   Every validity period is a fixed offset from [`NOW`], so tests never read the wall clock.
//!   [`Pki::shared`] caches one hierarchy per algorithm because key generation is slow.
//! - [`ResponseBuilder`] (from [`Pki::response`]) writes an RFC 6960 §4.2.1 `OCSPResponse` by hand
//!   in DER and signs the exact `tbsResponseData` bytes with aws-lc-rs.
//!   Every field has a setter, and [`Defect`] injects the flaws a decoder or verifier must catch
//!   (bad signature, wrong responderID or CertID, foreign key, missing signer, malformed or
//!   trailing bytes) or must tolerate (explicit DEFAULT version, fractional seconds).
//! - [`Pki::write_pem_files`] writes the hierarchy for external peers (OpenSSL, Exim, GnuTLS).
//! - [`fuzz_regressions`] hands a crate's tests the minimised fuzz findings of a target, so that
//!   plain `cargo test` replays them.
//!
//! # What it does not do
//!
//! - It does not decode or verify OCSP, and it deliberately depends on no `mailstaple-*` crate and
//!   on no OCSP crate: it is an independent oracle for the project's decoder and verifier.
//!   Its own output is checked against the system `openssl` in `tests/openssl.rs`.
//! - It is not production PKI code.
//!   It is only ever a dev-dependency, its keys are throwaway, its RSA PKCS#1 SHA-1 path (which
//!   aws-lc-rs does not offer for signing) uses small non-constant-time arithmetic, and it has no
//!   error type: it panics with a message when asked for something impossible (for example a
//!   [`SigAlg`] that does not fit the signing key) because every input is the test's own data.
//!   For the same reason the crate allows `unwrap`, `expect`, indexing and `panic!`.
//! - Its public enums are not `#[non_exhaustive]`: every consumer is a test in this workspace, and
//!   an exhaustive `match` over [`Defect`] or [`KeyAlg`] there should break when a variant is added.
//!
//! # Main types
//!
//! [`Pki`], [`Cert`], [`PkiOptions`], [`KeyAlg`]; [`ResponseBuilder`] with [`Status`],
//! [`Signer`], [`SigAlg`], [`HashAlg`], [`ResponderIdKind`] and [`Defect`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod der;
mod pem;
mod pki;
mod response;
mod sign;

#[cfg(test)]
mod tests;

pub use pki::{Cert, Pki, PkiOptions};

/// The minimised fuzz findings of `target`: every file of
/// `tests/data/fuzz-regressions/<target>/` with its contents, in name order. Panics when there
/// is none, so that a replay test cannot pass by finding nothing.
pub fn fuzz_regressions(target: &str) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/fuzz-regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    files
        .into_iter()
        .map(|path| {
            let data = std::fs::read(&path).unwrap();
            (path, data)
        })
        .collect()
}
pub use response::{Defect, HashAlg, ResponderIdKind, ResponseBuilder, SigAlg, Signer, Status};

/// The fixed "now" of every fixture: 2026-06-01T00:00:00Z, in unix seconds.
pub const NOW: u64 = 1_780_272_000;
/// One hour in seconds.
pub const HOUR: u64 = 3_600;
/// One day in seconds.
pub const DAY: u64 = 86_400;

/// The key algorithm of a [`Pki`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlg {
    /// RSA with a 2048-bit modulus; certificates signed with sha256WithRSAEncryption.
    Rsa2048,
    /// ECDSA on P-256; certificates signed with ecdsa-with-SHA256.
    EcdsaP256,
    /// ECDSA on P-384; certificates signed with ecdsa-with-SHA384.
    EcdsaP384,
    /// ECDSA on P-521; certificates signed with ecdsa-with-SHA512.
    EcdsaP521,
    /// Ed25519.
    Ed25519,
}

impl KeyAlg {
    /// Every key algorithm.
    pub const ALL: [KeyAlg; 5] = [
        KeyAlg::Rsa2048,
        KeyAlg::EcdsaP256,
        KeyAlg::EcdsaP384,
        KeyAlg::EcdsaP521,
        KeyAlg::Ed25519,
    ];

    /// A short lowercase name: `rsa2048`, `p256`, `p384`, `p521` or `ed25519`.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlg::Rsa2048 => "rsa2048",
            KeyAlg::EcdsaP256 => "p256",
            KeyAlg::EcdsaP384 => "p384",
            KeyAlg::EcdsaP521 => "p521",
            KeyAlg::Ed25519 => "ed25519",
        }
    }

    /// The signature algorithm a response signed by a key of this algorithm uses by default.
    pub fn default_sig_alg(self) -> SigAlg {
        sign::default_sig_alg(self)
    }
}
