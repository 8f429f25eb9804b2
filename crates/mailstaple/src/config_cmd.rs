//! `mailstaple config check FILE`: parse and check the TOML configuration of every command.

use std::path::PathBuf;

use mailstaple_config::{Error, Finding, Severity};

/// Work with the configuration file of `mailstaple serve`, `send`, `fetch --daemon` and
/// `respond`.
// These doc comments are clap's --help text, shown verbatim; rustdoc would read the indented
// sample file as a Rust code block.
#[allow(rustdoc::invalid_rust_codeblocks)]
#[derive(clap::Subcommand, Debug)]
pub(crate) enum ConfigCmd {
    /// Check a configuration file: errors, weak combinations and notes.
    ///
    /// Reads the file as `serve --config`, `send --config` and `fetch --daemon --config` do
    /// (through the same function, so a file this accepts they accept): unknown sections and options
    /// (with the closest known name), host lists that do not compile or name undefined `+lists`,
    /// server TLS options that do not pair up, files that cannot be read. It also warns about
    /// weak combinations: `hosts_require_ocsp` without `tls_verify_certificates`, a fetch entry
    /// whose proof no `tls_ocsp_file` serves, a proof file nothing writes; and notes what is
    /// merely worth knowing. Exit 0 when usable (warnings printed), 1 on errors, 2 when the file
    /// cannot be read.
    ///
    /// The file (TOML; values are strings, lists in Exim's `:` syntax, except numbers):
    ///
    ///     [server]                  # mailstaple serve; flags override
    ///     listen = "0.0.0.0:25"
    ///     hostname = "mx.example.org"
    ///     spool = "/var/spool/mailstaple"
    ///     tls_certificate = "/etc/mail/rsa.pem : /etc/mail/ec.pem"
    ///     tls_privatekey = "/etc/mail/rsa.key : /etc/mail/ec.key"
    ///     tls_ocsp_file = "/var/lib/mailstaple/rsa.der : /var/lib/mailstaple/ec.der"
    ///     tls_ocsp_issuer = "/etc/mail/issuers.pem"       # optional
    ///     smtp_accept_max = 100                           # connections at once (0: no limit)
    ///     smtp_accept_max_per_host = 20                   # from one address (0: no limit)
    ///     smtp_receive_timeout = "5m"                     # per command or data chunk
    ///     data_line_limit = 8192                          # longest message line, stored as received
    ///     fetch = true                                    # serve keeps its proofs fresh itself
    ///     metrics_listen = "9325"                         # /metrics and /status (127.0.0.1)
    ///     tls_ocsp_max_age = "7d"                         # refuse proofs older (unset: none)
    ///     [client]                  # mailstaple send; flags override
    ///     hosts_require_ocsp = "+secure_relays"
    ///     hosts_request_ocsp = "*"
    ///     hosts_require_tls = "+secure_relays"
    ///     tls_verify_certificates = "system"
    ///     tls_ocsp_max_age = "7d"                         # refuse staples older (unset: none)
    ///     [hostlists]               # named host lists, used as +name
    ///     secure_relays = "192.0.2.0/24 : mx.partner.example"
    ///     [fetch]                   # fetch --daemon and serve's own fetcher; optional
    ///     concurrency = 16                                # fetches at once
    ///     connect_timeout = 10                            # seconds
    ///     timeout = 30                                    # seconds, a whole exchange
    ///     max_body = 65536                                # bytes
    ///     status = "/run/mailstaple/fetch-status.json"    # the daemon's JSON status
    ///     metrics_listen = "9326"                         # the daemon's /metrics and /status
    ///     tls_ocsp_max_age = "7d"                         # install no proof older (unset: none)
    ///     store = "redis://127.0.0.1:6379"                # a fleet shares proofs (rediss://, redis+cluster://h1,h2)
    ///     store_prefix = "mailstaple"                     # key prefix
    ///     store_password_file = "/etc/mailstaple/redis.pass"   # or credential store-password
    ///     store_ca = "/etc/mailstaple/redis-ca.pem"       # for rediss:// with a private CA
    ///     store_poll = 5                                  # seconds between reads while waiting
    ///     node = "mx1"                                    # this host in the fleet (default: host name)
    ///     [[fetch.certificate]]     # certificates whose proofs the fetcher keeps
    ///     cert = "/etc/mail/ec.pem"
    ///     issuer = "/etc/mail/ec-issuer.pem"
    ///     out = "/var/lib/mailstaple/ec.der"
    ///     url = "http://ocsp.example.org/"                # optional
    ///     name = "ec"                                     # optional, for logs
    ///     [respond]                 # mailstaple respond; flags override; optional
    ///     listen = "127.0.0.1:8888"
    ///     validity = "1d"                                 # nextUpdate minus thisUpdate
    ///     timeout = "10s"                                 # per request head, body, write
    ///     max_connections = 512
    ///     max_request_size = 16384                        # bytes
    ///     presign = true                                  # sign every serial ahead
    ///     responder_id_by_name = false
    ///     metrics_listen = "9327"                         # /metrics and /status
    ///     [[respond.ca]]            # one per CA; the request's CertID picks the CA
    ///     name = "issuing"                                # optional, for logs
    ///     index = "/etc/ssl/ca/index.txt"
    ///     ca = "/etc/ssl/ca/ca.pem"
    ///     signer_cert = "/etc/ssl/ca/ocsp.pem"            # optional: default, the CA signs
    ///     signer_key = "/etc/ssl/ca/ocsp.key"             # or a pkcs11: URI
    ///     signer_key_passphrase_file = "/etc/ssl/ca/pass" # optional, encrypted keys
    ///     pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so" # for a pkcs11: key
    ///     pkcs11_pin_file = "/etc/ssl/ca/pin"             # optional: else credential or tty
    #[command(verbatim_doc_comment)]
    Check {
        /// The configuration file (TOML).
        file: PathBuf,
    },
}

pub(crate) fn run(cmd: ConfigCmd) -> i32 {
    match cmd {
        ConfigCmd::Check { file } => {
            let (findings, failed): (Vec<Finding>, bool) = match mailstaple_config::load(&file) {
                Ok(loaded) => (loaded.findings, false),
                Err(Error::Invalid { findings, .. }) => (findings, true),
                Err(e) => return crate::usage_error(&e.into()),
            };
            let (mut warnings, mut notes, mut errors) = (0, 0, 0);
            for f in findings {
                match f.severity {
                    Severity::Error => errors += 1,
                    Severity::Warning => warnings += 1,
                    _ => notes += 1,
                }
                println!("{}: {f}", file.display());
            }
            if failed {
                println!(
                    "{}: {errors} error(s), {warnings} warning(s), {notes} note(s)",
                    file.display()
                );
                1
            } else {
                println!(
                    "{}: OK, {warnings} warning(s), {notes} note(s)",
                    file.display()
                );
                0
            }
        }
    }
}
