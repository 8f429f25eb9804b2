//! The options (Exim names and defaults), compiled once into a [`ClientPolicy`], and the
//! per-host [`Decision`].

use std::fmt;

use mailstaple_hostlist::{Env, Host, HostList, NamedLists, Outcome};

use crate::Error;

/// The smtp transport options this crate reads, with Exim's names and defaults. Host lists are
/// taken literally (no expansion). `None` means the option is unset.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `hosts_require_ocsp`: request and require a verified `good` staple. Default unset.
    pub hosts_require_ocsp: Option<String>,
    /// `hosts_request_ocsp`: request a staple. Default `*` (every host); `:` or the empty string
    /// means never.
    pub hosts_request_ocsp: Option<String>,
    /// `hosts_require_tls`: no delivery in clear text. Default unset.
    pub hosts_require_tls: Option<String>,
    /// `tls_tempfail_tryclear`: after a TLS failure, retry in clear text when the host does not
    /// require TLS. Default true.
    pub tls_tempfail_tryclear: bool,
    /// `tls_verify_certificates`: a PEM file, a directory of PEM files, or `system`. Default
    /// `system`. See [`TrustSource`](crate::TrustSource).
    pub tls_verify_certificates: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hosts_require_ocsp: None,
            hosts_request_ocsp: Some("*".to_owned()),
            hosts_require_tls: None,
            tls_tempfail_tryclear: true,
            tls_verify_certificates: "system".to_owned(),
        }
    }
}

/// What the client does about OCSP with one host.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Not requested: any staple received is ignored (`$tls_out_ocsp` 0). rustls 0.23 sends
    /// `status_request` anyway.
    NotRequested,
    /// Requested: a verified `good` staple gives 4, anything else 1 or 3; only an authentic
    /// `revoked` aborts.
    Request,
    /// Required: anything but a verified `good` staple aborts the handshake.
    Require,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::NotRequested => "not requested",
            Mode::Request => "request",
            Mode::Require => "require",
        })
    }
}

/// The decision for one host, with the list outcomes that made it (for logging).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What to do about OCSP.
    pub mode: Mode,
    /// TLS is required: the host is in `hosts_require_tls` (a defer counts as in) or OCSP is
    /// required.
    pub tls_required: bool,
    /// After a TLS failure, a retry in clear text is allowed: `tls_tempfail_tryclear` and TLS
    /// not required.
    pub clear_text_fallback: bool,
    /// How `hosts_require_ocsp` matched, `None` when unset.
    pub require_ocsp: Option<Outcome<'static>>,
    /// How `hosts_request_ocsp` matched, `None` when unset or not evaluated (Require).
    pub request_ocsp: Option<Outcome<'static>>,
    /// How `hosts_require_tls` matched, `None` when unset.
    pub require_tls: Option<Outcome<'static>>,
}

impl Decision {
    /// A decision made without host lists: `mode`, TLS required exactly when `mode` is Require,
    /// no clear-text fallback. For tests and callers with their own lists.
    pub fn fixed(mode: Mode) -> Decision {
        Decision {
            mode,
            tls_required: mode == Mode::Require,
            clear_text_fallback: false,
            require_ocsp: None,
            request_ocsp: None,
            require_tls: None,
        }
    }
}

/// The host-list options compiled once.
#[derive(Debug, Clone)]
pub struct ClientPolicy {
    require_ocsp: Option<HostList>,
    request_ocsp: Option<HostList>,
    require_tls: Option<HostList>,
    tryclear: bool,
}

fn compile(
    option: &'static str,
    list: Option<&str>,
    named: &NamedLists,
) -> Result<Option<HostList>, Error> {
    list.map(|l| HostList::parse_with(l, named))
        .transpose()
        .map_err(|source| Error::HostList { option, source })
}

impl ClientPolicy {
    /// Compiles the host lists of `options`, resolving `+name` items in `named`.
    pub fn new(options: &Options, named: &NamedLists) -> Result<ClientPolicy, Error> {
        Ok(ClientPolicy {
            require_ocsp: compile(
                "hosts_require_ocsp",
                options.hosts_require_ocsp.as_deref(),
                named,
            )?,
            request_ocsp: compile(
                "hosts_request_ocsp",
                options.hosts_request_ocsp.as_deref(),
                named,
            )?,
            require_tls: compile(
                "hosts_require_tls",
                options.hosts_require_tls.as_deref(),
                named,
            )?,
            tryclear: options.tls_tempfail_tryclear,
        })
    }

    /// Decides for `host` (the routed host name and address; no reverse lookup).
    ///
    /// - `hosts_require_ocsp` matches **or defers** → [`Mode::Require`] (Exim reads a defer as
    ///   "not required"; we fail closed).
    /// - else `hosts_request_ocsp` matches or defers → [`Mode::Request`] (requesting is never
    ///   weaker than not requesting);
    /// - else [`Mode::NotRequested`].
    ///
    /// TLS is required when OCSP is required or `hosts_require_tls` matches or defers.
    pub fn decide(&self, host: &Host<'_>, env: &Env<'_>) -> Decision {
        let check =
            |list: &Option<HostList>| list.as_ref().map(|l| l.check(host, env).into_owned());
        let require_ocsp = check(&self.require_ocsp);
        let required = require_ocsp
            .as_ref()
            .is_some_and(Outcome::is_match_or_defer);
        let request_ocsp = if required {
            None
        } else {
            check(&self.request_ocsp)
        };
        let mode = if required {
            Mode::Require
        } else if request_ocsp
            .as_ref()
            .is_some_and(Outcome::is_match_or_defer)
        {
            Mode::Request
        } else {
            Mode::NotRequested
        };
        let require_tls = check(&self.require_tls);
        let tls_required = required || require_tls.as_ref().is_some_and(Outcome::is_match_or_defer);
        Decision {
            mode,
            tls_required,
            clear_text_fallback: self.tryclear && !tls_required,
            require_ocsp,
            request_ocsp,
            require_tls,
        }
    }
}
