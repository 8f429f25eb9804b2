//! Fuzz harness logic for `ocsp_verify`; the target under `fuzz/` is a shim that calls
//! [`set_pair`] once (from the test PKI) and then [`verify`](fn@verify) for each input.

use std::sync::OnceLock;

use rustls_pki_types::UnixTime;

use crate::{Policy, verify_for_issuer};

/// A fixed certificate pair the harness verifies against, set once by the fuzz target's
/// initialisation (from the test PKI) or left empty.
static PAIR: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();

/// Sets the certificate and issuer that [`verify`](fn@verify) is fuzzed against.
pub fn set_pair(cert: Vec<u8>, issuer: Vec<u8>) {
    let _ = PAIR.set((cert, issuer));
}

/// `ocsp_verify`: verification of arbitrary bytes never panics, and a proof that verifies is
/// consistent with itself: its bytes are the input and it is current at the time it was checked.
pub fn verify(data: &[u8]) {
    let Some((cert, issuer)) = PAIR.get() else {
        return;
    };
    // 2026-06-01T00:00:00Z, the test PKI's fixed now.
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_780_272_000));
    let policy = Policy::default();
    if let Ok(staple) = crate::verify(data, cert, issuer, now, &policy) {
        assert_eq!(staple.der(), data);
        assert!(staple.check_current(now).is_ok());
        assert!(staple.effective_expiry() >= staple.this_update());
    }
    if let Ok(verdict) = verify_for_issuer(data, issuer, now, &policy) {
        assert!(!verdict.entries.is_empty());
    }
}
