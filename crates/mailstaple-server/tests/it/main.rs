//! Integration tests of the staple provider: behaviour with in-memory rustls handshakes, RSA
//! and ECDSA side by side, per-SNI files, the replacement race, and real OpenSSL and GnuTLS
//! clients against a tokio-rustls listener.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
mod example;
mod interop;
mod provider;
mod race;
mod rsa_ecdsa;
mod sni;
