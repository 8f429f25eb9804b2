//! The crate's one error type: what stops a probe from being set up or a target from being
//! resolved. What goes wrong while probing an address is never an error: it is in the
//! [`Report`](crate::Report).

use std::fmt;

/// Why probing could not start.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A target is not `host[:port]` or `[v6addr]:port` (the caller's input).
    Target {
        /// The target as given (escaped).
        target: String,
        /// What is wrong with it.
        why: String,
    },
    /// The trust anchors hold no certificate rustls accepts (local configuration).
    NoTrustAnchors {
        /// How many certificates were given.
        count: usize,
    },
    /// rustls refused the client configuration (a bug or a local configuration problem).
    Tls(String),
    /// The resolver could not be set up (local configuration: `/etc/resolv.conf`).
    Resolver {
        /// The resolver's message.
        message: String,
    },
    /// A name did not resolve (the DNS, or a name that does not exist).
    Dns {
        /// The name looked up.
        name: String,
        /// The resolver's message.
        message: String,
    },
    /// The domain publishes a null MX (RFC 7505): it accepts no mail.
    NullMx {
        /// The domain.
        domain: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Target { target, why } => write!(f, "target {target:?}: {why}"),
            Error::NoTrustAnchors { count } => write!(
                f,
                "no usable trust anchor among the {count} certificates of tls_verify_certificates"
            ),
            Error::Tls(m) => write!(f, "TLS client configuration refused: {m}"),
            Error::Resolver { message } => write!(f, "cannot set up the resolver: {message}"),
            Error::Dns { name, message } => write!(f, "{name}: {message}"),
            Error::NullMx { domain } => {
                write!(
                    f,
                    "{domain} publishes a null MX (RFC 7505): it accepts no mail"
                )
            }
        }
    }
}

impl std::error::Error for Error {}
