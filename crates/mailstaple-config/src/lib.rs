#![doc = include_str!("../README.md")]
//!
//! ## One TOML file for every mailstaple command
//!
//! `mailstaple serve`, `send`, `fetch --daemon`, `respond` and `config check` read one file, with Exim's
//! option names where Exim has one:
//!
//! ```toml
//! [server]                 # mailstaple serve
//! listen = "0.0.0.0:25"
//! hostname = "mx.example.org"
//! spool = "/var/spool/mailstaple"
//! tls_certificate = "/etc/mail/rsa.pem : /etc/mail/ec.pem"
//! tls_privatekey = "/etc/mail/rsa.key : /etc/mail/ec.key"
//! tls_ocsp_file = "/var/lib/mailstaple/rsa.der : /var/lib/mailstaple/ec.der"
//! tls_ocsp_issuer = "/etc/mail/issuers.pem"   # mailstaple's own, optional
//! smtp_accept_max = 100                        # connections at once (0: no limit)
//! smtp_accept_max_per_host = 20                # from one address (0: no limit)
//! smtp_receive_timeout = "5m"                  # per command or data chunk
//! data_line_limit = 8192                       # mailstaple's own: longest message line
//! fetch = true             # serve keeps its own proofs fresh (false, or a list of certificates)
//! metrics_listen = "9325"  # /metrics and /status on 127.0.0.1 (or an address and port)
//! tls_ocsp_max_age = "7d"  # mailstaple's own: refuse proofs older than this (unset: none)
//! [client]                 # mailstaple send
//! hosts_require_ocsp = "+secure_relays"
//! hosts_request_ocsp = "*"
//! hosts_require_tls = "+secure_relays"
//! tls_verify_certificates = "system"
//! tls_ocsp_max_age = "7d"  # refuse staples older than this, as browsers do (unset: none)
//! [hostlists]              # named host lists, referred to as +name
//! secure_relays = "192.0.2.0/24 : mx.partner.example"
//! [fetch]                  # fetch --daemon and serve's own fetcher, all optional
//! concurrency = 16         # fetches at once
//! connect_timeout = 10     # seconds
//! timeout = 30             # seconds, a whole exchange
//! max_body = 65536         # bytes
//! status = "/run/mailstaple/fetch-status.json"
//! metrics_listen = "9326"  # the daemon's /metrics and /status
//! tls_ocsp_max_age = "7d"  # do not install proofs older than this (unset: no maximum)
//! store = "redis://127.0.0.1:6379"   # a fleet shares proofs (rediss://, redis+cluster://h1,h2)
//! store_prefix = "mailstaple"        # keys PREFIX:{KEYHASH.SERIAL}:proof and :lease
//! store_password_file = "/etc/mailstaple/redis.pass"   # optional, instead of one in the URL
//! store_ca = "/etc/mailstaple/redis-ca.pem"            # optional, for rediss://
//! store_poll = 5           # seconds between reads while another node holds a lease
//! node = "mx1"             # this host in the fleet (default: the host name)
//! [[fetch.certificate]]    # the certificates whose proofs the fetcher keeps
//! cert = "/etc/mail/ec.pem"
//! issuer = "/etc/mail/ec-issuer.pem"
//! out = "/var/lib/mailstaple/ec.der"
//! url = "http://ocsp.example.org/"   # optional; default from the certificate
//! name = "ec"                        # optional; in logs and the status (default: out's stem)
//! [respond]                # mailstaple respond, all optional; flags override
//! listen = "127.0.0.1:8888"
//! validity = "1d"          # nextUpdate minus thisUpdate
//! presign = true           # sign every serial ahead
//! [[respond.ca]]           # one entry per CA answered for; the request's CertID picks it
//! name = "issuing"                   # optional, for logs
//! index = "/etc/ssl/ca/index.txt"
//! ca = "/etc/ssl/ca/ca.pem"
//! signer_cert = "/etc/ssl/ca/ocsp.pem"   # optional; default: the CA signs
//! signer_key = "/etc/ssl/ca/ocsp.key"    # or "pkcs11:token=CA;object=ocsp" with pkcs11_module
//! signer_key_passphrase_file = "/etc/ssl/ca/ocsp.pass"   # optional, for an encrypted key
//! ```
//!
//! [`load`] is the one way in: every command calls it, so a file that `config check` accepts is
//! a file every command accepts, with the same messages.
//! It reads the file, [`parse`]s it (TOML syntax, unknown sections and options named with the
//! closest known name, values of the wrong type, each with its line) and [`check`]s it
//! (compiles the host lists and server options with the workspace crates, reads the files they
//! name, and looks for weak combinations).
//! Errors refuse the file; warnings and notes come back with it in [`Loaded`].
//! The typed accessors ([`File::client_options`], [`File::fetch_certificates`], ...) then cannot
//! fail on a loaded file.
//!
//! What it does not do: open sockets, start anything, or read the clock.
//! The commands turn the settings into running parts.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod check;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod parse;
mod respond;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use check::check;
pub use error::Error;
pub use parse::{
    Client, Fetch, FetchCertificate, FetchEntry, FetchSelection, FetchStore, File, Finding,
    Findings, MAX_AGE_LIMITS, Server, Severity, Value, exim_time, parse,
};
pub use respond::{Respond, RespondCa, RespondCaEntry};

/// A configuration file that [`load`] accepted: its settings, and the warnings and notes found
/// (errors first, then by line; never an error).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Loaded {
    /// The file that was read.
    pub path: PathBuf,
    /// The settings.
    pub file: File,
    /// Warnings and notes.
    pub findings: Vec<Finding>,
}

/// Reads, parses and checks a configuration file: the one function every command uses.
///
/// Returns [`Error::Read`] when the file cannot be read and [`Error::Invalid`] with every
/// finding when any of them is an error.
pub fn load(path: &Path) -> Result<Loaded, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_text(path, &text)
}

/// [`load`] on text already read; `path` only names the file in messages.
pub fn load_text(path: &Path, text: &str) -> Result<Loaded, Error> {
    let (file, mut findings) = parse(text);
    check(&file, &mut findings);
    let failed = findings.has_errors();
    let findings = findings.sorted();
    if failed {
        return Err(Error::Invalid {
            path: path.to_path_buf(),
            findings,
        });
    }
    Ok(Loaded {
        path: path.to_path_buf(),
        file,
        findings,
    })
}
