//! Fuzz harness logic for `ocsp_verify`; the target under `fuzz/` is a shim that calls
//! [`set_pair`] once (from the test PKI) and then [`verify`](fn@verify) for each input.

// Panicking on a broken invariant, or when the harness is used without its pair, is this
// module's job; its input is the fuzzer's, not a peer's.
#![allow(clippy::panic)]

use std::sync::OnceLock;

use rustls_pki_types::UnixTime;

use crate::{Policy, verify_for_issuer};

/// The certificate pair the harness verifies against, set once by the fuzz target's
/// initialisation (from the test PKI), or by a test.
static PAIR: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();

/// Sets the certificate and issuer that [`verify`](fn@verify) is fuzzed against. Setting the same
/// pair again is harmless; panics if another pair was set before.
pub fn set_pair(cert: Vec<u8>, issuer: Vec<u8>) {
    let pair = PAIR.get_or_init(|| (cert.clone(), issuer.clone()));
    assert!(
        pair.0 == cert && pair.1 == issuer,
        "the ocsp_verify harness already has another certificate pair"
    );
}

/// What [`verify`](fn@verify) made of one input, so that a test can see the harness at work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The input verified as a proof for the pair's certificate ([`crate::verify`]).
    pub for_cert: bool,
    /// The input verified as a proof from the pair's issuer ([`verify_for_issuer`]).
    pub for_issuer: bool,
}

/// `ocsp_verify`: verification of arbitrary bytes never panics, and a proof that verifies is
/// consistent with itself: its bytes are the input and it is current at the time it was checked.
///
/// Panics if [`set_pair`] was not called first: a harness without its pair would check nothing.
pub fn verify(data: &[u8]) -> Outcome {
    let Some((cert, issuer)) = PAIR.get() else {
        panic!("the ocsp_verify harness has no certificate pair: call set_pair first");
    };
    // 2026-06-01T00:00:00Z, the test PKI's fixed now.
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_780_272_000));
    let policy = Policy::default();
    let for_cert = crate::verify(data, cert, issuer, now, &policy).map(|staple| {
        assert_eq!(staple.der(), data);
        assert!(staple.check_current(now).is_ok());
        assert!(staple.effective_expiry() >= staple.this_update());
    });
    let for_issuer = verify_for_issuer(data, issuer, now, &policy).map(|verdict| {
        assert!(!verdict.entries.is_empty());
    });
    Outcome {
        for_cert: for_cert.is_ok(),
        for_issuer: for_issuer.is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use mailstaple_testpki::{Defect, KeyAlg, NOW, Pki, ResponderIdKind, Signer};

    use super::{Outcome, set_pair, verify};

    const BOTH: Outcome = Outcome {
        for_cert: true,
        for_issuer: true,
    };
    const NEITHER: Outcome = Outcome {
        for_cert: false,
        for_issuer: false,
    };
    const ISSUER_ONLY: Outcome = Outcome {
        for_cert: false,
        for_issuer: true,
    };

    /// The harness as the fuzz target runs it, on the kind of seeds its corpus holds: authentic
    /// proofs verify, and one mutation away they do not.
    #[test]
    fn harness_verifies_against_its_pair() {
        assert_eq!(NOW, 1_780_272_000, "the harness's now is the test PKI's");
        let pki = Pki::shared(KeyAlg::EcdsaP256);
        set_pair(pki.leaf.der.clone(), pki.intermediate.der.clone());

        let good = pki.response().build();
        assert_eq!(verify(&good), BOTH);
        let delegated = pki
            .response()
            .signer(Signer::Delegated(&pki.signer))
            .responder_id(ResponderIdKind::ByName)
            .build();
        assert_eq!(verify(&delegated), BOTH);

        // The signature is the last field of the response: any change to its last byte breaks it.
        let mut mutated = good.clone();
        if let Some(last) = mutated.last_mut() {
            *last ^= 0x01;
        }
        assert_eq!(verify(&mutated), NEITHER);
        let mut truncated = good;
        truncated.pop();
        assert_eq!(verify(&truncated), NEITHER);
        for defect in [
            Defect::BadSignature,
            Defect::SignerOtherKey,
            Defect::TrailingData,
        ] {
            assert_eq!(
                verify(&pki.response().defect(defect).build()),
                NEITHER,
                "{defect:?}"
            );
        }
        let unauthorised = pki
            .response()
            .signer(Signer::Delegated(&pki.signer_no_eku))
            .build();
        assert_eq!(verify(&unauthorised), NEITHER);
        // Authentic, but about another certificate of the same issuer.
        let other_serial = pki.response().defect(Defect::WrongSerial).build();
        assert_eq!(verify(&other_serial), ISSUER_ONLY);
        assert_eq!(verify(b"\x30\x03\x0a\x01\x00"), NEITHER);
    }
}
