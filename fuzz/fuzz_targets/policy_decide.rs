//! Fuzz target `policy_decide`: a shim over `mailstaple_policy::fuzzing::policy_decide`, which
//! evaluates arbitrary host lists, hosts and staple bytes and checks that a required staple never
//! passes without a verified good proof. The certificate pair is the committed `ocsp_verify` one.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: mailstaple_policy::fuzzing::set_fixture(
        include_bytes!("../fixtures/ocsp_verify/cert.der").to_vec(),
        include_bytes!("../fixtures/ocsp_verify/issuer.der").to_vec(),
        Vec::new(),
        1_780_272_000,
    ),
    |data: &[u8]| mailstaple_policy::fuzzing::policy_decide(data)
);
