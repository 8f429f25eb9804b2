#![doc = include_str!("../README.md")]
//!
//! ## A thin SMTP transport
//!
//! Just enough SMTP to carry mail over STARTTLS with OCSP stapling on both ends, so that
//! mailstaple can be judged against the mail software people already run (Exim above all):
//!
//! - [`session`]: the server side as a sans-IO state machine: greeting, EHLO/HELO, STARTTLS
//!   (pipelined commands after it are discarded), MAIL/RCPT/DATA with dot-unstuffing, RSET,
//!   NOOP, QUIT, and limits on line length, message size, recipients, commands and errors.
//! - [`client`]: one delivery to one host as a sans-IO state machine, with STARTTLS required,
//!   opportunistic or off, and an [`client::Outcome`] that is delivered, deferred (4xx, TLS or
//!   OCSP failure, connection trouble) or failed (5xx).
//! - [`spool`]: a message is on disk (written, fsynced, renamed, directory fsynced) before the
//!   server answers 250.
//! - [`net`]: the tokio drivers that run the two state machines over sockets with rustls, apply
//!   timeouts and write Exim-style log lines (`<= sender H=(helo) [ip] P=esmtps X=TLS1.3:...`).
//!
//! What it does not do: OCSP. The staple provider (the server's certificate resolver) and the
//! OCSP policy (the client's certificate verifier) arrive inside the rustls configurations the
//! caller passes in; this crate only carries them. It does not queue, route or retry mail either:
//! a deferred message stays with the caller.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod fuzzing;
pub mod net;
pub mod session;
pub mod spool;

/// The rustls the [`net`] drivers are bound to (0.23), the same as `mailstaple-server`'s and
/// `mailstaple-policy`'s.
pub use rustls;

#[cfg(test)]
mod tests;
