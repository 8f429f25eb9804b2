//! Targets as users write them: `host`, `host:port`, `addr`, `addr:port`, `[v6addr]`,
//! `[v6addr]:port`, and a bare IPv6 address (no port).

use std::fmt;
use std::net::IpAddr;

use crate::Error;

/// The SMTP port used when a target names none.
pub const DEFAULT_PORT: u16 = 25;

/// Where to connect: a name to resolve or an address, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// The host.
    pub host: Host,
    /// The TCP port.
    pub port: u16,
}

/// A target's host part.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Host {
    /// A DNS name (lower case, without a trailing dot), resolved to its A and AAAA addresses.
    Name(String),
    /// An address, probed as is.
    Address(IpAddr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Address(a) => write!(f, "{a}"),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host {
            Host::Address(IpAddr::V6(a)) => write!(f, "[{a}]:{}", self.port),
            _ => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

impl Target {
    /// Parses a target; the port defaults to [`DEFAULT_PORT`].
    pub fn parse(s: &str) -> Result<Target, Error> {
        let bad = |why: &str| Error::Target {
            target: crate::escape(s),
            why: why.to_owned(),
        };
        if s.is_empty() {
            return Err(bad("empty"));
        }
        let port = |p: &str| -> Result<u16, Error> {
            match p.parse::<u16>() {
                Ok(0) | Err(_) => Err(bad("the port must be a number from 1 to 65535")),
                Ok(p) => Ok(p),
            }
        };
        if let Some(rest) = s.strip_prefix('[') {
            let (addr, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("a `[` without its `]`"))?;
            let ip: std::net::Ipv6Addr = addr
                .parse()
                .map_err(|_| bad("not an IPv6 address between the brackets"))?;
            let port = match after {
                "" => DEFAULT_PORT,
                p => port(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad("`:port` expected after `]`"))?,
                )?,
            };
            return Ok(Target {
                host: Host::Address(IpAddr::V6(ip)),
                port,
            });
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Target {
                host: Host::Address(ip),
                port: DEFAULT_PORT,
            });
        }
        let (host, port) = match s.rsplit_once(':') {
            Some((h, p)) => (h, port(p)?),
            None => (s, DEFAULT_PORT),
        };
        if host.contains(':') {
            return Err(bad("write an IPv6 address with a port as [address]:port"));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Target {
                host: Host::Address(ip),
                port,
            });
        }
        Ok(Target {
            host: Host::Name(parse_name(host).map_err(|why| bad(&why))?),
            port,
        })
    }
}

/// A host name as DNS knows it: labels of letters, digits, `-` and `_`, 1 to 63 octets, 253 in
/// all, lower-cased, without the trailing dot.
pub fn parse_name(s: &str) -> Result<String, String> {
    let name = s.strip_suffix('.').unwrap_or(s);
    if name.is_empty() {
        return Err("an empty host name".into());
    }
    if name.len() > 253 {
        return Err("a host name longer than 253 characters".into());
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("a host name label must be 1 to 63 characters".into());
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(
                "a host name has only letters, digits, `-` and `_` (write IDNs as A-labels)".into(),
            );
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a host name label neither starts nor ends with `-`".into());
        }
    }
    Ok(name.to_ascii_lowercase())
}
