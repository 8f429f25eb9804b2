//! Fuzz target `ocsp_parse`: a shim over `mailstaple_ocsp::fuzzing::parse`, which decodes the
//! input as a response, a basic response, a request and a certificate and checks what decodes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailstaple_ocsp::fuzzing::parse(data));
