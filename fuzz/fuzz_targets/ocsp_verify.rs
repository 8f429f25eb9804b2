//! Fuzz target `ocsp_verify`: a shim over `mailstaple_verify::fuzzing::verify`, which verifies the
//! input as a stapled OCSP response against a fixed certificate pair at the test PKI's fixed now.
//!
//! The pair is committed beside the seeds and made with them by `examples/make_seeds.rs`, so the
//! seeds are authentic proofs for it and mutations start from the far side of the signature check.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: mailstaple_verify::fuzzing::set_pair(
        include_bytes!("../fixtures/ocsp_verify/cert.der").to_vec(),
        include_bytes!("../fixtures/ocsp_verify/issuer.der").to_vec(),
    ),
    |data: &[u8]| {
        mailstaple_verify::fuzzing::verify(data);
    }
);
