//! Fuzz target `smtp_client`: a shim over `mailstaple_smtp::fuzzing::smtp_client`, which runs the
//! sans-IO SMTP client against an arbitrary server byte stream (TLS required, opportunistic or
//! off) and, in its other half, delivers arbitrary message bytes to the server session in memory.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailstaple_smtp::fuzzing::smtp_client(data));
