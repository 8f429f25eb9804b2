//! The crate's one error type: configuration mistakes found while building a policy or a
//! trust store. A bad staple is never an error here: it is an [`OcspOutcome`](crate::OcspOutcome).

use std::fmt;

/// Why a client policy, trust store or TLS configuration could not be built. Every variant is a
/// fault of the local configuration (options, files), never of the remote host.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A host-list option does not compile.
    HostList {
        /// The option's Exim name, e.g. `hosts_require_ocsp`.
        option: &'static str,
        /// Why.
        source: mailstaple_hostlist::Error,
    },
    /// A `tls_verify_certificates` file or directory could not be read.
    TrustRead {
        /// The path.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// A `tls_verify_certificates` file holds a malformed PEM section.
    TrustPem {
        /// The path.
        path: String,
        /// The PEM decoder's message.
        message: String,
    },
    /// `tls_verify_certificates` yielded no usable certificate at all.
    NoTrustAnchors {
        /// The setting as given.
        source: String,
    },
    /// rustls refused the trust anchors or the verifier configuration.
    Tls(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::HostList { option, source } => write!(f, "{option}: {source}"),
            Error::TrustRead { path, message } => {
                write!(
                    f,
                    "tls_verify_certificates: cannot read {path:?}: {message}"
                )
            }
            Error::TrustPem { path, message } => {
                write!(f, "tls_verify_certificates: bad PEM in {path:?}: {message}")
            }
            Error::NoTrustAnchors { source } => write!(
                f,
                "tls_verify_certificates {source:?}: no usable CA certificate found"
            ),
            Error::Tls(message) => write!(f, "TLS client configuration refused: {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::HostList { source, .. } => Some(source),
            _ => None,
        }
    }
}
