//! Fuzz target `smtp_server`: a shim over `mailstaple_smtp::fuzzing::smtp_server`, which feeds
//! an arbitrary command stream, whole and in pieces, to the sans-IO SMTP server session and checks
//! its replies, the envelopes it hands to the spool and that chunking never changes an answer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailstaple_smtp::fuzzing::smtp_server(data));
