//! Fuzz target `fetch_schedule`: a shim over `mailstaple_fetch::fuzzing::fetch_schedule`, which
//! drives the sans-IO refresh scheduler with arbitrary operation sequences and checks its
//! invariants (never scheduled past expiry, backoff bounds, slot accounting).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailstaple_fetch::fuzzing::fetch_schedule(data));
