#![doc = include_str!("../README.md")]
//!
//! ## A shared, untrusted store of OCSP proofs for a fleet of mail hosts
//!
//! Mail is served by fleets: the same certificates on two to hundreds of MX hosts. This crate is
//! the place where those hosts share the proofs they fetched, so that the CA's responder sees one
//! request per certificate per window however many hosts there are, and a host that cannot reach
//! the responder still gets the proof a neighbour fetched.
//!
//! - [`Store`] is the interface the fetcher (`mailstaple-fetch`'s fleet protocol) needs: read a
//!   proof, take and release a lease, write a proof only if the stored value is still the one
//!   read (compare-and-set), and learn of changes ([`Notice`]s).
//! - [`RedisStore`] implements it on Redis 6+ or Valkey through the `redis` crate: one node or a
//!   Cluster, `rediss://` TLS with the workspace's rustls, AUTH with an ACL user and password.
//!   Leases are `SET NX PX`; compare-and-set and lease release are Lua scripts (atomic on the
//!   server, `EVALSHA` with an `EVAL` fallback); changes are published on one channel
//!   (`PREFIX:notices`) and nodes subscribe to it; every operation is bounded by a timeout.
//! - [`MemoryStore`] implements it in memory with an injected clock: tests and simulations.
//! - [`StoreKey`] derives a certificate's keys from its CertID (SHA-1 issuer key hash and serial
//!   number) under a configurable prefix, inside a Redis Cluster hash tag so that a certificate's
//!   proof and lease share one slot: `PREFIX:{KEYHASH.SERIAL}:proof` and `...:lease`.
//! - [`StoreUrl`] parses `redis://`, `rediss://`, `redis+cluster://host1,host2` and
//!   `rediss+cluster://`, and prints itself without the password.
//!
//! Without a store (the embedded default) each host keeps its proofs in its own directory, as
//! Exim's `tls_ocsp_file` and `mailstaple fetch` always did: that directory is the "directory
//! store", and the fetcher needs no code from this crate for it.
//!
//! **The store is never trusted.** Anyone who can write to the Redis server can put anything
//! under any key. This crate moves bytes and never judges them; the fetcher verifies every proof
//! it reads with `mailstaple-verify`, exactly as one from the network. Values are capped at
//! [`MAX_VALUE`] bytes before they are handed on.
//!
//! Why the `redis` crate and not a hand-written client: it is the maintained Rust client (Cluster
//! slot routing, reconnects, TLS, scripts), and speaking RESP is not where this project adds value.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod key;
mod memory;
mod redis_store;
mod url;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use error::Error;
pub use key::StoreKey;
pub use memory::{MemoryStore, MillisClock};
pub use redis_store::{RedisOptions, RedisStore};
pub use url::{StoreUrl, Topology};

/// The largest value read from the store, in bytes: a proof is a few kilobytes, and a hostile
/// store must not make a node allocate without bound.
pub const MAX_VALUE: usize = 64 * 1024;

/// The result of a store operation.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// The answer to [`Store::try_lease`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lease {
    /// The caller holds the lease until its TTL ends or it releases it.
    Acquired,
    /// Another node holds it (its holder id, as stored; untrusted, for logs and status only).
    HeldBy(String),
}

/// The answer to [`Store::put_if`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Put {
    /// The proof was written and a [`Notice`] published.
    Written,
    /// The stored value was no longer the expected one; here is what is stored now (`None`:
    /// nothing). The caller judges it and tries again or gives way.
    Conflict(Option<Vec<u8>>),
}

/// A change published by a node: `node` wrote a new proof under `key` (a [`StoreKey::id`]).
/// Notices are hints, never trusted: a receiver reads the store and verifies what it finds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// A proof was written.
    Changed {
        /// The certificate's [`StoreKey::id`].
        key: String,
        /// The writer's node id (as sent; untrusted).
        node: String,
    },
    /// The subscription was (re)established: notices may have been missed while it was down,
    /// so the receiver should re-read what it cares about.
    Resubscribed,
}

impl Notice {
    /// The notice's wire form, `NODE KEY`.
    pub fn encode(key: &StoreKey, node: &str) -> String {
        format!("{} {}", node.replace(' ', "_"), key.id())
    }

    /// Parses a message of the notice channel; `None` if it is not a notice.
    pub fn decode(msg: &[u8]) -> Option<Notice> {
        let text = std::str::from_utf8(msg).ok()?;
        let (node, key) = text.split_once(' ')?;
        if key.is_empty() || key.len() > 512 || node.len() > 256 {
            return None;
        }
        Some(Notice::Changed {
            key: key.to_owned(),
            node: node.to_owned(),
        })
    }
}

/// A shared store of proofs. Implementations bound every operation by a timeout and never judge
/// the bytes they move.
pub trait Store: Send + Sync {
    /// Where the store is, for logs and status (never a password).
    fn describe(&self) -> String;

    /// The proof stored under `key`, if any (at most [`MAX_VALUE`] bytes; a larger value is an
    /// [`Error::TooLarge`]).
    fn get<'a>(&'a self, key: &'a StoreKey) -> StoreFuture<'a, Option<Vec<u8>>>;

    /// Takes the lease of `key` for `holder` for `ttl`, unless another holder has it.
    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, Lease>;

    /// Gives the lease back if `holder` still holds it (a lease that expired and was taken by
    /// another node is left alone).
    fn release<'a>(&'a self, key: &'a StoreKey, holder: &'a str) -> StoreFuture<'a, ()>;

    /// Writes `proof` under `key`, to expire after `ttl`, only if the stored value is still
    /// `expected` (`None`: nothing stored), and publishes a [`Notice`] from `node`; atomically.
    /// A stored value that cannot be a proof (over [`MAX_VALUE`] bytes, or not a string) counts
    /// as nothing, so that the fleet overwrites vandalism it could not read.
    fn put_if<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: Option<&'a [u8]>,
        proof: &'a [u8],
        ttl: Duration,
        node: &'a str,
    ) -> StoreFuture<'a, Put>;

    /// Starts listening for notices (once; later calls return `None`). The receiver ends when
    /// the store is dropped. Must be called inside a tokio runtime.
    fn subscribe(&self) -> Option<tokio::sync::mpsc::Receiver<Notice>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_and_refuse_garbage() {
        let key = StoreKey::from_parts("p", &[0xab, 0xcd], &[0x01]);
        let msg = Notice::encode(&key, "mx 1");
        assert_eq!(
            Notice::decode(msg.as_bytes()),
            Some(Notice::Changed {
                key: key.id().to_owned(),
                node: "mx_1".into()
            })
        );
        assert_eq!(Notice::decode(b"nospace"), None);
        assert_eq!(Notice::decode(b"\xff\xfe x"), None);
        assert_eq!(Notice::decode(b"node "), None);
    }
}
