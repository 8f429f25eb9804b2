//! The crate's one error type. Every variant is a problem with the operator's configuration or
//! the machine (files, keys, certificates, the listening socket): nothing a client sends is ever
//! an error here, it is an OCSP answer.

use std::fmt;
use std::path::PathBuf;

/// Why the responder could not be set up or could not reload its index.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read (operator's or machine's fault).
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A line of `index.txt` is malformed (operator's fault; the whole file is refused).
    Index {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
    /// A certificate does not decode (operator's fault).
    Certificate {
        /// Which certificate: `CA` or `signer`.
        which: &'static str,
        /// The decoder's complaint.
        source: mailstaple_ocsp::Error,
    },
    /// A PEM file has no usable block, or its base64 is broken (operator's fault).
    Pem {
        /// What was expected.
        what: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The private key is not an RSA (2048 to 8192 bits), ECDSA P-256/P-384/P-521 or Ed25519 key
    /// in PKCS#8, SEC1 or PKCS#1 form (operator's fault).
    UnsupportedKey,
    /// The private key does not belong to the signer certificate (operator's fault).
    KeyMismatch,
    /// The delegated signer certificate was not issued by the CA (its issuer name is not the CA's
    /// subject): clients would reject every response (operator's fault).
    SignerNotIssuedByCa,
    /// The delegated signer certificate lacks the id-kp-OCSPSigning extended key usage: clients
    /// would reject every response (operator's fault).
    SignerNotAuthorized,
    /// The key is encrypted (PKCS#8 `ENCRYPTED PRIVATE KEY`) and no passphrase was given
    /// (operator's fault).
    PassphraseRequired,
    /// The passphrase does not decrypt the key, or the decrypted key is corrupt (operator's
    /// fault). Which of the two cannot be told apart: PBES2 has no separate check value.
    WrongPassphrase,
    /// The key is encrypted with a scheme we do not implement, such as PKCS#5 v1.5 (PBES1)
    /// (operator's fault; re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`).
    UnsupportedKeyEncryption(String),
    /// The PKCS#11 module, token or key cannot be used (operator's or token's fault): the text
    /// says which step failed.
    Pkcs11(String),
    /// A setting is out of range (caller's fault).
    Config(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Error::Index { line, why } => write!(f, "index line {line}: {why}"),
            Error::Certificate { which, source } => write!(f, "{which} certificate does not decode: {source}"),
            Error::Pem { what, why } => write!(f, "{what}: {why}"),
            Error::UnsupportedKey => f.write_str(
                "the signer key is not an RSA, ECDSA (P-256, P-384, P-521) or Ed25519 private key in PKCS#8, SEC1 or PKCS#1 form",
            ),
            Error::KeyMismatch => f.write_str("the signer key does not match the signer certificate's public key"),
            Error::SignerNotIssuedByCa => {
                f.write_str("the signer certificate's issuer is not the CA certificate's subject")
            }
            Error::SignerNotAuthorized => {
                f.write_str("the delegated signer certificate lacks the id-kp-OCSPSigning extended key usage")
            }
            Error::PassphraseRequired => f.write_str(
                "the signer key is encrypted and no passphrase was given (a passphrase file, a systemd credential, or a terminal to ask on)",
            ),
            Error::WrongPassphrase => f.write_str(
                "the passphrase does not decrypt the signer key (wrong passphrase, or a corrupt key file)",
            ),
            Error::UnsupportedKeyEncryption(why) => write!(
                f,
                "the signer key's encryption is not supported ({why}); re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
            ),
            Error::Pkcs11(why) => write!(f, "PKCS#11: {why}"),
            Error::Config(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Certificate { source, .. } => Some(source),
            _ => None,
        }
    }
}
