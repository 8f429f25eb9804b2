//! Name resolution for probes with hickory-resolver: a domain's MX hosts in preference order
//! (RFC 5321 §5.1: the domain itself when it has no MX; RFC 7505: a null MX means no mail), and
//! a host's A and AAAA addresses. [`order_mx`] is the pure part: what the probe makes of an MX
//! answer.

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

use crate::Error;
use crate::target::parse_name;

/// The most MX hosts of one domain that are probed.
pub const MAX_MX: usize = 32;
/// The most addresses of one host that are probed.
pub const MAX_ADDRESSES: usize = 16;

/// One mail exchanger.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MxHost {
    /// The preference (lower first).
    pub preference: u16,
    /// The host name, lower case, without the trailing dot.
    pub name: String,
}

/// What an MX answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MxAnswer {
    /// Hosts to try, in order.
    Hosts(Vec<MxHost>),
    /// A null MX (RFC 7505: a single MX with exchange `.`): the domain accepts no mail.
    NullMx,
}

/// Orders the MX records of an answer (`(preference, exchange)`, exchange as text, with or
/// without the trailing dot): by preference, ties in the order received, the same host kept
/// once (at its best preference), names that are not host names dropped, at most [`MAX_MX`].
/// A null MX is recognised as RFC 7505 says: an exchange of `.` (among other records, it is
/// ignored). An empty answer (or one with nothing usable) gives no hosts.
pub fn order_mx(records: &[(u16, String)]) -> MxAnswer {
    let null = |e: &str| e == "." || e.is_empty();
    if !records.is_empty() && records.iter().all(|(_, e)| null(e)) {
        return MxAnswer::NullMx;
    }
    let mut hosts: Vec<MxHost> = records
        .iter()
        .filter(|(_, e)| !null(e))
        .filter_map(|(preference, exchange)| {
            Some(MxHost {
                preference: *preference,
                name: parse_name(exchange).ok()?,
            })
        })
        .collect();
    // A stable sort keeps the received order among equal preferences.
    hosts.sort_by_key(|h| h.preference);
    let mut seen = std::collections::HashSet::new();
    hosts.retain(|h| seen.insert(h.name.clone()));
    hosts.truncate(MAX_MX);
    MxAnswer::Hosts(hosts)
}

/// A resolver.
#[derive(Clone)]
pub struct Dns {
    resolver: TokioResolver,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns").finish_non_exhaustive()
    }
}

impl Dns {
    /// The system's resolver configuration (`/etc/resolv.conf`, and `/etc/hosts`).
    pub fn system() -> Result<Dns, Error> {
        let mut builder = TokioResolver::builder_tokio().map_err(|e| Error::Resolver {
            message: e.to_string(),
        })?;
        builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        let resolver = builder.build().map_err(|e| Error::Resolver {
            message: e.to_string(),
        })?;
        Ok(Dns { resolver })
    }

    /// The name server at `server` (UDP, then TCP for truncated answers), no search domains, no
    /// hosts file.
    pub fn with_server(server: SocketAddr) -> Result<Dns, Error> {
        let mut ns = NameServerConfig::udp_and_tcp(server.ip());
        for c in &mut ns.connections {
            c.port = server.port();
        }
        let config = ResolverConfig::from_name_servers(vec![ns]);
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        let options = builder.options_mut();
        options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        options.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
        options.ndots = 0;
        let resolver = builder.build().map_err(|e| Error::Resolver {
            message: e.to_string(),
        })?;
        Ok(Dns { resolver })
    }

    /// The mail exchangers of `domain`, in order; the domain itself (preference 0) when it has
    /// no MX record.
    pub async fn mx(&self, domain: &str) -> Result<Vec<MxHost>, Error> {
        let name = parse_name(domain).map_err(|why| Error::Target {
            target: crate::escape(domain),
            why,
        })?;
        let fqdn = format!("{name}.");
        let records = match self.resolver.mx_lookup(fqdn.as_str()).await {
            Ok(lookup) => lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii())),
                    _ => None,
                })
                .collect::<Vec<_>>(),
            Err(e) if e.is_no_records_found() && !e.is_nx_domain() => Vec::new(),
            Err(e) => {
                return Err(Error::Dns {
                    name,
                    message: crate::escape(&e.to_string()),
                });
            }
        };
        match order_mx(&records) {
            MxAnswer::NullMx => Err(Error::NullMx { domain: name }),
            MxAnswer::Hosts(hosts) if hosts.is_empty() && records.is_empty() => Ok(vec![MxHost {
                preference: 0,
                name,
            }]),
            MxAnswer::Hosts(hosts) if hosts.is_empty() => Err(Error::Dns {
                name,
                message: "no usable MX record".into(),
            }),
            MxAnswer::Hosts(hosts) => Ok(hosts),
        }
    }

    /// The A and AAAA addresses of `host` (IPv4 first), at most [`MAX_ADDRESSES`].
    pub async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, Error> {
        let fqdn = format!("{}.", host.trim_end_matches('.'));
        let lookup = self
            .resolver
            .lookup_ip(fqdn.as_str())
            .await
            .map_err(|e| Error::Dns {
                name: crate::escape(host),
                message: crate::escape(&e.to_string()),
            })?;
        let mut addresses: Vec<IpAddr> = lookup.iter().collect();
        addresses.sort_by_key(IpAddr::is_ipv6);
        addresses.dedup();
        addresses.truncate(MAX_ADDRESSES);
        if addresses.is_empty() {
            return Err(Error::Dns {
                name: crate::escape(host),
                message: "no A or AAAA record".into(),
            });
        }
        Ok(addresses)
    }
}
