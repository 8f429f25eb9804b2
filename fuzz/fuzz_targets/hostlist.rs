//! Fuzz target `hostlist`: a shim over `mailstaple_hostlist::fuzzing::hostlist`, which parses the
//! input as an Exim host list and checks compiled matching against a naive matcher.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailstaple_hostlist::fuzzing::hostlist(data));
