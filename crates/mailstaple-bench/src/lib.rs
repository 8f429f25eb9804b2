//! # mailstaple-bench: mailstaple measured against its peers
//!
//! This crate has no code of its own: it holds the criterion benchmarks that compare the
//! workspace's crates with their peers in the same run, so that every speed claim is a ratio
//! measured on the same machine at the same time (`cargo xtask bench` runs them and writes
//! `BENCHMARKS.md`).
//!
//! - Parsing an OCSP response: `mailstaple-ocsp` against rasn-ocsp and OpenSSL's
//!   `d2i_OCSP_RESPONSE` + `OCSP_response_get1_basic` (through the `openssl` crate). Ours leaves
//!   embedded certificates as DER slices, decoded only when verification needs the signer; the
//!   other two decode every embedded certificate in full.
//! - Verifying an OCSP response: `mailstaple-verify` against the bare signature check and
//!   OpenSSL's `OCSP_basic_verify` + `OCSP_resp_find_status` + `OCSP_check_validity`, in two
//!   arms: the headline one with the same work as ours (the issuer is the trust anchor, with
//!   `X509_V_FLAG_PARTIAL_CHAIN`), and one as Exim configures it, whose store chains to the root,
//!   so OpenSSL also checks the issuer's certificate, one signature more than ours.
//!
//! It exists apart from the crates it measures so that the `openssl` crate (and the system
//! OpenSSL it links) never enters their dependency trees. It is never published.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
