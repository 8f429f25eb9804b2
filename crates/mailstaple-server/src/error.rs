//! The crate's one error type: what stops a [`StapleProvider`](crate::StapleProvider) from being
//! built. A proof that fails verification is not an error of this kind: it is logged, shown in
//! [`status`](crate::StapleProvider::status), and simply not stapled.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why the configuration cannot be used.
///
/// Whose fault: the configuration text's for the first group (up to
/// [`Error::NoCertificates`]), the files' or their installer's for the file variants,
/// the caller's for [`Error::BadSniName`], the system's for [`Error::Spawn`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A configuration line is not `name = value`.
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// An option this crate does not know.
    UnknownOption {
        /// 1-based line number (0 when set through [`Options::set`](crate::Options::set)).
        line: usize,
        /// The option name.
        name: String,
    },
    /// An option is given twice.
    DuplicateOption {
        /// The option name.
        name: String,
    },
    /// `tls_certificate` is unset: there is nothing to serve.
    MissingCertificate,
    /// An expansion variable other than `$tls_sni` / `$tls_in_sni`.
    UnknownVariable {
        /// The option it appears in.
        option: &'static str,
        /// The variable name, without `$`.
        name: String,
    },
    /// Expansion syntax this crate does not implement (`${if ...}`, a lone `$`, `\N` without
    /// its closing `\N`, an unterminated `${`).
    UnsupportedExpansion {
        /// The option it appears in.
        option: &'static str,
        /// What was found.
        detail: String,
    },
    /// `tls_privatekey` is set but has fewer items than `tls_certificate` (Exim: "out of keys").
    OutOfKeys {
        /// How many certificates.
        certificates: usize,
        /// How many keys.
        keys: usize,
    },
    /// `tls_certificate` expands to an empty list.
    NoCertificates {
        /// The SNI name it was expanded for.
        sni: Option<String>,
    },
    /// An item of `tls_certificate` is empty (for example a list starting with the separator).
    EmptyCertificateItem {
        /// The position of the empty item, from 1.
        position: usize,
    },
    /// A server name given to the builder is not a DNS name.
    BadSniName(String),
    /// A certificate, key or issuer file cannot be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
    /// A certificate file holds no usable PEM `CERTIFICATE`.
    BadCertificateFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A key file holds no usable PEM private key.
    BadKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// rustls refused the key, or the key does not match the certificate.
    KeyRejected {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        detail: String,
    },
    /// A certificate has a `tls_ocsp_file` item but its issuer is neither in its chain file nor
    /// in `tls_ocsp_issuer`, so no proof for it could ever be verified.
    NoIssuer {
        /// The certificate file.
        certificate: PathBuf,
        /// The issuer name wanted, RFC 4514.
        issuer: String,
    },
    /// The watcher thread could not be started.
    Spawn(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax { line, detail } => write!(f, "configuration line {line}: {detail}"),
            Error::UnknownOption { line: 0, name } => write!(f, "unknown option \"{name}\""),
            Error::UnknownOption { line, name } => {
                write!(f, "configuration line {line}: unknown option \"{name}\"")
            }
            Error::DuplicateOption { name } => write!(f, "option \"{name}\" is set twice"),
            Error::MissingCertificate => f.write_str("tls_certificate is not set"),
            Error::UnknownVariable { option, name } => write!(
                f,
                "{option}: unknown variable \"${name}\" (only $tls_sni and $tls_in_sni are expanded)"
            ),
            Error::UnsupportedExpansion { option, detail } => {
                write!(f, "{option}: unsupported expansion: {detail}")
            }
            Error::OutOfKeys { certificates, keys } => write!(
                f,
                "tls_privatekey lists {keys} key(s) for {certificates} certificate(s): out of keys"
            ),
            Error::NoCertificates { sni: None } => {
                f.write_str("tls_certificate expands to an empty list")
            }
            Error::NoCertificates { sni: Some(name) } => {
                write!(
                    f,
                    "tls_certificate expands to an empty list for SNI \"{name}\""
                )
            }
            Error::EmptyCertificateItem { position } => {
                write!(
                    f,
                    "tls_certificate item {position} is empty: a file name is needed"
                )
            }
            Error::BadSniName(name) => write!(f, "\"{name}\" is not a DNS name usable as SNI"),
            Error::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Error::BadCertificateFile { path, detail } => {
                write!(f, "certificate file {}: {detail}", path.display())
            }
            Error::BadKeyFile { path, detail } => {
                write!(f, "private key file {}: {detail}", path.display())
            }
            Error::KeyRejected {
                certificate,
                key,
                detail,
            } => write!(
                f,
                "private key {} unusable with certificate {}: {detail}",
                key.display(),
                certificate.display()
            ),
            Error::NoIssuer {
                certificate,
                issuer,
            } => write!(
                f,
                "certificate {} has a tls_ocsp_file but its issuer \"{issuer}\" is neither in the \
                 file's chain nor in tls_ocsp_issuer, so its proofs cannot be verified",
                certificate.display()
            ),
            Error::Spawn(e) => write!(f, "cannot start the staple file watcher: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Spawn(source) => Some(source),
            _ => None,
        }
    }
}
