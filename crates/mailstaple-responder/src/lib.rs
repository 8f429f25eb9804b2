#![doc = include_str!("../README.md")]
//!
//! ## An OCSP responder that no client can stop
//!
//! An RFC 6960 / RFC 5019 OCSP responder over HTTP/1.1 for private PKIs, answering from an
//! OpenSSL `ca`-style `index.txt` with a CA key or a delegated responder key. It exists because
//! `openssl ocsp -port` exits on a malformed request unless told otherwise and can hang on a
//! client that connects and closes; this one keeps answering.
//!
//! Layers, from the inside out:
//! - [`Index`] parses `index.txt` (`V` / `R` / `E` lines: serial, expiry, revocation time and
//!   reason), strictly, naming the bad line.
//! - [`SigningKey`] loads the signer key (PKCS#8, SEC1 or PKCS#1; RSA, ECDSA P-256/384/521,
//!   Ed25519) and signs with aws-lc-rs.
//! - [`Responder`] is the sans-IO core: [`Responder::respond`]`(request_der, now) -> Answer`
//!   never fails. It builds responses with the project's own encoder in `mailstaple-ocsp`,
//!   signs each one once per validity window and caches it, so nonce-less answers are
//!   byte-stable; nonce requests are signed afresh and the nonce echoed.
//! - [`http`] maps GET paths and POST bodies to answers with RFC 5019 caching headers, still
//!   without I/O.
//! - [`Server`] is the thin tokio + hyper layer: connection limit, head, body and write
//!   timeouts, size limits, index reloading on change and SIGHUP, graceful shutdown.
//!
//! [`Responders`] serves several CAs in one process, each with its own index, signer and
//! key; the request's CertID picks the CA.
//!
//! What it does not do: TLS (OCSP runs over plain HTTP), signed requests (they are answered
//! without checking the signature, as RFC 5019 allows), the
//! hold-instruction and invalidity-date single extensions, pre-signing for CertIDs in other hashes
//! than SHA-1 (those are signed on demand and cached), and reading any clock itself except through [`Clock`].
//!
//! Time is an argument of the core; the server asks a [`Clock`] ([`SystemClock`] in production).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
mod index;
mod pem;
mod pkcs11;
mod responder;
mod server;
mod signer;

#[cfg(test)]
mod tests;

pub use error::Error;
pub use index::{Entry, EntryStatus, Index};
pub use pem::certificate_der;
pub use pkcs11::Pkcs11Uri;
pub use responder::{
    Answer, Cacheable, PresignReport, Respond, Responder, ResponderConfig, ResponderIdKind,
    Responders,
};
#[cfg(unix)]
pub use server::forward_signals;
pub use server::{
    Clock, RequestObserver, Server, ServerConfig, ServerHandle, ShiftedClock, Stats, SystemClock,
    load_index,
};
pub use signer::{Passphrase, SigningKey};
