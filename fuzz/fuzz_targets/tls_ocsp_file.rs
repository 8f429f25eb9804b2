//! Fuzz target `tls_ocsp_file`: a shim over `mailstaple_server::fuzzing::tls_ocsp_file`, which
//! parses arbitrary option text (`tls_certificate`, `tls_privatekey`, `tls_ocsp_file`, with
//! `$tls_sni` and sticky `PEM `/`DER ` prefixes) and checks expansion and pairing properties.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailstaple_server::fuzzing::tls_ocsp_file(data));
