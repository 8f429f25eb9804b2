//! Fuzz target `responder_request`: a shim over `mailstaple_responder::fuzzing::responder_request`,
//! which feeds arbitrary bytes to the responder's HTTP request mapping and sans-IO core and checks
//! that every answer decodes as an OCSP response.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailstaple_responder::fuzzing::responder_request(data));
