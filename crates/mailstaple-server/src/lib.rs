#![doc = include_str!("../README.md")]
//!
//! ## `tls_ocsp_file` done right on rustls
//!
//! A mail server staples a current OCSP proof in its TLS handshake. This crate gives rustls a
//! certificate resolver, [`StapleProvider`], configured with Exim's options
//! ([`Options`]: `tls_certificate`, `tls_privatekey`, `tls_ocsp_file`, with `$tls_sni`
//! per server name) and closing the holes Exim and others leave:
//!
//! - **Verified, always.** A proof is served only as a [`mailstaple_verify::VerifiedStaple`]:
//!   signature, responder authorization, full CertID match against the certificate and its
//!   issuer (the next certificate in the chain file, or one in `tls_ocsp_issuer`) and freshness,
//!   at load. Never by serial number alone.
//! - **Re-checked at every handshake** against the [`Clock`]: an expired or not-yet-valid
//!   proof is not stapled, even if its file never changes. Revoked and unknown answers are
//!   never stapled; a revocation is logged at error level with its reason and stops stapling
//!   at once (even while an earlier good proof is unexpired), until a good proof with a later
//!   thisUpdate arrives. An `unknown` answer is refused like an invalid file.
//! - **Follows the certificate rustls gets.** With RSA and ECDSA certificates side by side, the
//!   one whose key fits the client's signature schemes is chosen, with its own proof.
//! - **Hot replacement without I/O in the handshake.** A background thread ([`Watcher`],
//!   [`StapleProvider::watch`]) `stat`s each proof file every 250 ms and reads only changed
//!   ones; the handshake reads an `ArcSwap`. A new file that fails is not served: the previous
//!   good proof stays until it expires, and the log says why. An older good proof does not
//!   replace a newer one.
//! - **Must-staple** (TLS Feature `status_request`) without a valid proof is logged at error
//!   level at load and at every handshake served without one.
//! - **Observable:** [`StapleProvider::status`] (subject, serial, proof times, effective
//!   expiry, state, last rejection, per-certificate counts), [`StapleProvider::counters`], and a
//!   per-connection [`TlsInOcsp`] (Exim's `$tls_in_ocsp` as far as rustls tells).
//!
//! What it does not do: fetch proofs (the fetcher writes the files), open sockets, reload
//! certificates or keys (only proof files are watched; a new certificate needs a new provider),
//! or know whether a client asked for a proof (rustls 0.23 does not say; see [`TlsInOcsp`]).
//! It staples the end-entity proof only, as rustls does (no multi-stapling).
//!
//! Per server name: when an option mentions `$tls_sni`, the files of each name given to
//! [`Builder::sni_names`] are loaded at build time (the handshake never opens files), and a
//! client naming another server, or none, gets the files of the expansion with an empty
//! `$tls_sni` if those load.
//!
//! Main types: [`Options`] and [`Config`] (configuration), [`StapleProvider`] (the resolver),
//! [`Watcher`], [`CertificateStatus`], [`Counters`], [`TlsInOcsp`], [`Error`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod load;
mod provider;
mod watch;

#[cfg(test)]
mod tests;

pub use config::{
    CertFiles, Config, Expansion, OcspFile, OcspFormat, Options, TLS_CERTIFICATE, TLS_OCSP_FILE,
    TLS_OCSP_ISSUER, TLS_PRIVATEKEY, ocsp_file_list,
};
pub use error::Error;
pub use provider::{
    Builder, CertificateStatus, ConnectionOcsp, ConnectionResolver, Counters, PollReport,
    ProofInfo, Selection, StapleProvider, StapleState, TlsInOcsp,
};
pub use watch::{DEFAULT_POLL_INTERVAL, Watcher};

/// The rustls this crate's API is bound to (0.23), with its `pki_types` (rustls-pki-types 1):
/// name rustls through this path and your versions cannot drift from ours.
pub use rustls;

use rustls_pki_types::UnixTime;

/// Where the provider gets "now": injected, so tests run at a fixed instant and the binary
/// decides how the wall clock is read. Any `Fn() -> UnixTime` is a clock.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> UnixTime;
}

impl<F> Clock for F
where
    F: Fn() -> UnixTime + Send + Sync,
{
    fn now(&self) -> UnixTime {
        self()
    }
}
