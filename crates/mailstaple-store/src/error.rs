//! The crate's one error type.

use std::fmt;

/// What went wrong with the store, and whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Configuration: the store URL cannot be used (what is wrong with it).
    BadUrl(String),
    /// Store: it cannot be reached or refused the connection (the client's message).
    Unavailable(String),
    /// Store: it did not answer within the timeout.
    Timeout,
    /// Store: it answered with an error (authentication, ACL, cluster state, script...).
    Command(String),
    /// Store contents: a value larger than [`crate::MAX_VALUE`] (anyone can write to the store).
    TooLarge(usize),
    /// Store contents: an answer of a shape the protocol does not produce.
    Unexpected(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadUrl(m) => write!(f, "store URL: {m}"),
            Error::Unavailable(m) => write!(f, "store unreachable: {m}"),
            Error::Timeout => f.write_str("store did not answer in time"),
            Error::Command(m) => write!(f, "store refused the command: {m}"),
            Error::TooLarge(n) => write!(
                f,
                "store holds a value of {n} bytes, more than the {} a proof may have",
                crate::MAX_VALUE
            ),
            Error::Unexpected(m) => write!(f, "store answered something unexpected: {m}"),
        }
    }
}

impl std::error::Error for Error {}
