#![doc = include_str!("../README.md")]
//!
//! ## Would `hosts_require_ocsp` deliver to this host?
//!
//! A probe connects to one address, reads the greeting, sends EHLO and STARTTLS (or does the
//! handshake first, for implicit TLS on port 465), requests a staple and stops before the
//! envelope. It reports the TLS version and suite; the certificate's subject, issuer, serial,
//! names, notAfter, OCSP URLs and must-staple; whether the chain verifies against the trust
//! anchors, and why not; the staple's verdict from `mailstaple-verify` with its times; and
//! Exim's answer for a host in `hosts_require_ocsp`: `$tls_out_ocsp` and deliver or defer with
//! Exim's text.
//!
//! - [`session`]: the SMTP dialogue, sans-IO, around `mailstaple-smtp`'s client.
//! - [`report`]: the [`Report`], the pure [`analyze`] (with `mailstaple-policy`'s `judge` and
//!   `delivery`, the functions its rustls verifier uses) and the monitoring [`Severity`].
//! - [`net`]: the tokio driver, [`Prober::probe`], with a step timeout and a deadline per
//!   address.
//! - [`dns`]: MX, A and AAAA lookups with hickory-resolver, and the pure [`dns::order_mx`].
//! - [`many`]: [`probe_all`], many targets with a concurrency limit.
//!
//! Everything from the remote side is untrusted: replies and the bytes before TLS are capped,
//! at most [`report::MAX_CHAIN`] certificates are examined, nothing panics, and every text that
//! came from the server is [`escape`]d (control and invisible format characters as `\u{..}`)
//! before it is put in a report.
//!
//! What it does not do: send mail, judge the host lists (the host is taken to be in
//! `hosts_require_ocsp`), DANE, or read a clock: the instant is an argument.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod escape;

pub mod dns;
pub mod many;
pub mod net;
pub mod report;
pub mod session;
pub mod target;

#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod tests;

pub use error::Error;
pub use escape::{MAX_TEXT, escape, escape_bytes};
pub use many::{Spec, probe_all};
pub use net::{ProbeConfig, Prober};
pub use report::{
    CertInfo, EximAnswer, Failure, Observed, Report, Severity, Stage, Staple, Thresholds, Verdict,
    analyze,
};
pub use target::Target;
