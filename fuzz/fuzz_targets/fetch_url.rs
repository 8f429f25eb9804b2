//! Fuzz target `fetch_url`: a shim over `mailstaple_fetch::fuzzing::fetch_url`, which parses an
//! arbitrary responder URL (from a certificate's AIA extension or a configuration file) and
//! checks that an accepted one is clean and reads back the same.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailstaple_fetch::fuzzing::fetch_url(data));
