//! Fuzz target `probe_reply`: a shim over `mailstaple_probe::fuzzing::probe_reply`, which runs
//! the probe's SMTP dialogue against an arbitrary server byte stream and reads the same bytes as
//! a certificate, a staple and MX records.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailstaple_probe::fuzzing::probe_reply(data));
