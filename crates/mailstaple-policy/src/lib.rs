#![doc = include_str!("../README.md")]
//!
//! ## The client's OCSP requirement, which cannot be bypassed
//!
//! When delivering, Exim requests a stapled OCSP proof from the hosts in `hosts_request_ocsp`
//! and requires a verified one from the hosts in `hosts_require_ocsp`. This crate does the
//! same for a rustls client, and closes the holes Exim leaves open:
//!
//! 1. **Decision per host** ([`ClientPolicy::decide`]): the options keep Exim's names and
//!    defaults ([`Options`]: `hosts_require_ocsp` unset, `hosts_request_ocsp` `*`,
//!    `hosts_require_tls` unset, `tls_tempfail_tryclear` true, `tls_verify_certificates`
//!    `system`) and are matched with `mailstaple-hostlist` against the routed host name and
//!    address. The [`Decision`] is [`Mode::Require`], [`Mode::Request`] or
//!    [`Mode::NotRequested`]. Unlike Exim, a **defer** while evaluating `hosts_require_ocsp`
//!    means Require (fail closed), and a host that requires OCSP also **requires TLS**: no
//!    clear-text fallback for it, whatever `hosts_require_tls` says.
//! 2. **Judgement of the staple** ([`judge`]), pure and clock-free: the stapled bytes (empty
//!    means none) are verified with `mailstaple_verify::verify` against the presented leaf and
//!    its issuer: the first presented intermediate, or else trust anchor, whose subject is the
//!    leaf's issuer *and whose key verifies the leaf's signature* (a name match alone would
//!    let a server add a look-alike "issuer" and sign its own proof). Unlike Exim's OpenSSL
//!    client, the proof must be *for this certificate* (full CertID match).
//! 3. **Outcome** ([`OcspOutcome`]): Exim's `$tls_out_ocsp` value (0 not requested, 1 requested
//!    and none received, 3 failed, 4 verified) with the reason, and whether the handshake must
//!    abort. Required and not 4: abort with Exim's texts (`Required TLS certificate status not
//!    received`, `Server certificate revoked; reason: <reason>`, `Server certificate status is
//!    out-of-date`, `Server certificate has unknown status`, `Server certificate status
//!    response itself unverifiable: <why>`).
//! 4. **Delivery** ([`delivery`]): the one place where an outcome (or another TLS failure)
//!    becomes "go on" or "defer with `TLS session: ...`" (Exim's errno -37 text), with or
//!    without clear-text fallback.
//! 5. **The rustls adapter** ([`tls`]): [`tls::PolicyClient`] builds a per-connection
//!    `ClientConfig` whose `ServerCertVerifier` delegates chain and name checks to rustls'
//!    `WebPkiServerVerifier` and then judges the stapled bytes at rustls' own `now` (its
//!    `TimeProvider`). Session resumption is disabled (rustls skips the verifier on a resumed
//!    session), and a handshake that never ran the verifier never counts as verified. This is the only module that names
//!    rustls types, so rustls 0.24's opt-in `request_ocsp_response` is a change there only.
//!
//! ### Two deliberate differences from Exim
//! - **Request only is consistent.** A missing, unparseable, unverifiable, stale or unknown
//!   staple never aborts a request-only handshake (status 1 or 3, logged). Exim's OpenSSL client
//!   aborts on a parse error or a non-successful response even when it only requested.
//! - **An authentic `revoked` aborts in every mode that requested a staple** (Request and
//!   Require), where Exim's OpenSSL client only logs it and delivers when the host is
//!   request-only. A proof that is not authentic (bad signature, wrong signer, another
//!   certificate's) cannot revoke anything and is treated as unverifiable. After an OCSP abort
//!   the transport never retries in clear text (a revoked host must not get the message in
//!   clear); other TLS failures follow Exim's `hosts_require_tls` / `tls_tempfail_tryclear` rules.
//!
//! ### rustls 0.23 always requests
//! rustls 0.23 always sends `status_request` and has no knob to turn it off. [`Mode::NotRequested`]
//! therefore means "any staple received is ignored" (status 0, never an abort), which is what the
//! peer would see from Exim once rustls 0.24 lets the verifier opt out.
//!
//! ### What this crate does not do
//! - No string expansion of the options (as `mailstaple-hostlist`), no DANE, no `tls_verify_hosts`
//!   / `tls_try_verify_hosts`: the chain and name are always verified.
//! - No session resumption and no carrying of the OCSP status with a resumed session (Exim 4.96+
//!   inherits 4 when `tls_resumption_hosts` enables resumption; it is unset by default). A
//!   resumed session, should a caller force one, reports 1 and fails a requirement.
//! - No I/O except [`TrustStore::load`], which reads `tls_verify_certificates` (a PEM file, a
//!   directory of PEM files, or `system`, read as the Debian bundle
//!   `/etc/ssl/certs/ca-certificates.crt`).
//!
//! ### Main types
//! [`Options`], [`ClientPolicy`], [`Decision`], [`Mode`], [`TrustStore`], [`OcspOutcome`],
//! [`OcspStatus`], [`Finding`], [`Delivery`], [`tls::PolicyClient`], [`tls::PolicyConnection`],
//! [`Error`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod judge;
mod options;
mod outcome;
mod trust;

pub mod tls;

#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod tests;

pub use error::Error;
pub use judge::{find_issuer, judge};
pub use options::{ClientPolicy, Decision, Mode, Options};
pub use outcome::{Delivery, Finding, OcspOutcome, OcspStatus, TLS_FAILURE_ERRNO, delivery};
pub use trust::{SYSTEM_BUNDLE, TrustSource, TrustStore};

/// The verification policy of `mailstaple-verify` (skew, maximum age, SHA-1, algorithms).
pub use mailstaple_verify::Policy as VerifyPolicy;

/// The rustls the [`tls`] module is bound to (0.23), with its `pki_types` (rustls-pki-types 1):
/// name rustls through this path and your versions cannot drift from ours.
pub use rustls;

/// The `mailstaple-hostlist` whose [`Host`](mailstaple_hostlist::Host), [`Env`](mailstaple_hostlist::Env)
/// and [`NamedLists`](mailstaple_hostlist::NamedLists) [`ClientPolicy`] takes.
pub use mailstaple_hostlist as hostlist;
