#![doc = include_str!("../README.md")]
//!
//! ## Keep every OCSP proof fresh, never install a bad one
//!
//! The fetcher that replaces Exim's `ocsp_fetch.pl`, for one certificate or many.
//!
//! - [`Scheduler`] (module [`schedule`]) is sans-IO: it takes `now` and events and returns
//!   [`Action`]s and the next wake-up. It refreshes at half of each proof's window (thisUpdate to
//!   the earliest of nextUpdate, a delegated signer's notAfter and the leaf's notAfter) with
//!   jitter, backs off exponentially (60 s doubling to 1 h, never past the remaining validity),
//!   warns when less than 25 % is left, reports expiry, and bounds concurrent fetches so one slow
//!   responder cannot stall the others.
//! - [`exchange`] is the thin HTTP driver (hyper 1 on tokio): RFC 5019 GET for short requests,
//!   POST otherwise, Host header, connect and total timeouts, a body cap, the content type
//!   checked, an optional HTTP proxy.
//! - [`Target`] and [`fetch_and_install`] tie them to `mailstaple-verify`: a proof is installed
//!   only if it is authentic, current, for this certificate, good, carries the nonce when one was
//!   sent, and is not older than the installed one. [`one_shot`] is `mailstaple fetch`.
//! - [`install_atomic`] writes a file so that readers see the old or the new bytes, never a mix,
//!   even across `kill -9` or power loss; the mode is kept and no mtime tricks are played.
//! - [`daemon`] runs many certificates from a configuration its caller reads (the one TOML file,
//!   through `mailstaple-config`), with SIGHUP reload, SIGTERM stop and a JSON status file.
//!
//! What it does not do: read the wall clock, the environment or a random source (the caller
//! passes `now`, the proxy and seeds), speak TLS to responders (RFC 5019 §5 is plain HTTP), or
//! judge proofs itself (only `mailstaple_verify::verify` does).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod codec;
pub mod daemon;
mod error;
mod fetch;
pub mod fleet;
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod install;
pub mod schedule;
pub mod sim;

#[cfg(test)]
mod tests;

pub use error::{Error, ErrorClass};
pub use fetch::{Checked, FetchOptions, OneShot, Target, fetch_and_install, one_shot};
pub use http::{GET_LIMIT, HttpOptions, exchange};
pub use install::{DEFAULT_MODE, install_atomic};
pub use schedule::{Action, Scheduler, Validity};

/// rustls-pki-types 1, whose `UnixTime` this API names (the same crate rustls 0.23 re-exports as
/// `rustls::pki_types`).
pub use rustls_pki_types as pki_types;
