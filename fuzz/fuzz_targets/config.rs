//! Fuzz target `config`: a shim over `mailstaple_config::fuzzing::config`, which parses arbitrary
//! text as the TOML configuration file and checks that findings name real lines and that a file
//! without errors round-trips through the `toml` crate's writer to the same settings.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailstaple_config::fuzzing::config(data));
