//! Store URLs: `redis://`, `rediss://`, `redis+cluster://`, `rediss+cluster://`.

use std::fmt;

use crate::Error;

/// One server or a Cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Topology {
    /// One Redis or Valkey server (a primary; with Sentinel, a name or proxy that follows it:
    /// Sentinel discovery is not built in).
    Single,
    /// A Redis Cluster: the listed nodes are seeds, the client learns the rest.
    Cluster,
}

/// A parsed store URL.
///
/// - `redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]`, `rediss://...` for TLS (port 6379 by default);
/// - `redis+cluster://[USER[:PASSWORD]@]HOST1[:PORT],HOST2[:PORT]...` and `rediss+cluster://`
///   for a Cluster (no database number: a Cluster has only database 0).
///
/// The password may also come from elsewhere (a file or a systemd credential, so that it is not
/// in the configuration); [`StoreUrl::with_password`] sets it. [`fmt::Display`] never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreUrl {
    /// One server or a Cluster.
    pub topology: Topology,
    /// TLS (`rediss`).
    pub tls: bool,
    /// `host:port` of each node (seeds for a Cluster).
    pub nodes: Vec<(String, u16)>,
    /// The ACL user, if any.
    pub username: Option<String>,
    password: Option<String>,
    /// The database number (single server only).
    pub db: i64,
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match (self.tls, self.topology) {
            (false, Topology::Single) => "redis",
            (true, Topology::Single) => "rediss",
            (false, Topology::Cluster) => "redis+cluster",
            (true, Topology::Cluster) => "rediss+cluster",
        };
        write!(f, "{scheme}://")?;
        match (&self.username, &self.password) {
            (Some(u), Some(_)) => write!(f, "{u}:***@")?,
            (Some(u), None) => write!(f, "{u}@")?,
            (None, Some(_)) => write!(f, ":***@")?,
            (None, None) => {}
        }
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|(h, p)| {
                if h.contains(':') {
                    format!("[{h}]:{p}")
                } else {
                    format!("{h}:{p}")
                }
            })
            .collect();
        f.write_str(&nodes.join(","))?;
        if self.db != 0 {
            write!(f, "/{}", self.db)?;
        }
        Ok(())
    }
}

impl StoreUrl {
    /// Parses a store URL; the error names what is wrong.
    pub fn parse(text: &str) -> Result<StoreUrl, Error> {
        let bad = |m: &str| Error::BadUrl(format!("{m} (in {})", redact(text)));
        let (scheme, rest) = text.split_once("://").ok_or_else(|| {
            bad("expected redis://, rediss://, redis+cluster:// or rediss+cluster://")
        })?;
        let (tls, topology) = match scheme.to_ascii_lowercase().as_str() {
            "redis" => (false, Topology::Single),
            "rediss" => (true, Topology::Single),
            "redis+cluster" => (false, Topology::Cluster),
            "rediss+cluster" => (true, Topology::Cluster),
            other => {
                return Err(bad(&format!(
                    "unknown scheme {other:?}: expected redis, rediss, redis+cluster or rediss+cluster"
                )));
            }
        };
        if rest.contains('?') || rest.contains('#') {
            return Err(bad("query strings and fragments are not supported"));
        }
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((a, r)) => (Some(a), r),
            None => (None, rest),
        };
        let (username, password) = match auth {
            None => (None, None),
            Some(a) => {
                let (u, p) = match a.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (a, None),
                };
                let u = percent_decode(u).ok_or_else(|| bad("bad %-escape in the user"))?;
                let p = match p {
                    Some(p) => {
                        Some(percent_decode(p).ok_or_else(|| bad("bad %-escape in the password"))?)
                    }
                    None => None,
                };
                ((!u.is_empty()).then_some(u), p.filter(|p| !p.is_empty()))
            }
        };
        let (hosts, db) = match rest.split_once('/') {
            Some((h, "")) => (h, 0),
            Some((h, d)) => {
                let db: i64 = d
                    .parse()
                    .ok()
                    .filter(|n| (0..=1_000_000).contains(n))
                    .ok_or_else(|| bad(&format!("database {d:?} is not a number")))?;
                (h, db)
            }
            None => (rest, 0),
        };
        if topology == Topology::Cluster && db != 0 {
            return Err(bad("a Cluster has only database 0"));
        }
        let mut nodes = Vec::new();
        for h in hosts.split(',') {
            nodes.push(host_port(h).map_err(|m| bad(&m))?);
        }
        if topology == Topology::Single && nodes.len() != 1 {
            return Err(bad(
                "several hosts need redis+cluster:// (or rediss+cluster://)",
            ));
        }
        Ok(StoreUrl {
            topology,
            tls,
            nodes,
            username,
            password,
            db,
        })
    }

    /// The same URL with `password` (read from a file or credential).
    pub fn with_password(mut self, password: Option<String>) -> StoreUrl {
        if password.is_some() {
            self.password = password;
        }
        self
    }

    /// Whether a password is set.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    pub(crate) fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }
}

fn host_port(h: &str) -> Result<(String, u16), String> {
    if h.is_empty() {
        return Err("a host is empty".into());
    }
    let (host, port) = if let Some(rest) = h.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{h:?}: unclosed ["))?;
        match after.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if after.is_empty() => (host, None),
            None => return Err(format!("{h:?}: junk after ]")),
        }
    } else {
        match h.rsplit_once(':') {
            Some((host, p)) => (host, Some(p)),
            None => (h, None),
        }
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
    {
        return Err(format!("{host:?} is not a host name or address"));
    }
    let port = match port {
        None => 6379,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{p:?} is not a port"))?,
    };
    Ok((host.to_owned(), port))
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URL text with any password replaced, for messages about a URL that did not parse.
fn redact(text: &str) -> String {
    match (text.split_once("://"), text.rsplit_once('@')) {
        (Some((scheme, rest)), Some((_, after))) => {
            let auth = rest.rsplit_once('@').map_or("", |(a, _)| a);
            let user = auth.split_once(':').map_or(auth, |(u, _)| u);
            format!("{scheme}://{user}:***@{after}")
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_never_prints_the_password() {
        let u = StoreUrl::parse("redis://127.0.0.1:7000").unwrap();
        assert_eq!(u.nodes, vec![("127.0.0.1".into(), 7000)]);
        assert_eq!(u.topology, Topology::Single);
        assert_eq!(u.to_string(), "redis://127.0.0.1:7000");

        let u = StoreUrl::parse("rediss://mx:s%40cret@redis.example:6380/2").unwrap();
        assert!(u.tls);
        assert_eq!(u.username.as_deref(), Some("mx"));
        assert_eq!(u.password(), Some("s@cret"));
        assert_eq!(u.db, 2);
        assert_eq!(u.to_string(), "rediss://mx:***@redis.example:6380/2");
        assert!(!format!("{u:?}").contains("cret"));

        let u = StoreUrl::parse("redis+cluster://a:7000,b,[::1]:7002").unwrap();
        assert_eq!(u.topology, Topology::Cluster);
        assert_eq!(u.nodes.len(), 3);
        assert_eq!(u.nodes[1], ("b".into(), 6379));
        assert_eq!(u.nodes[2], ("::1".into(), 7002));
        assert_eq!(u.to_string(), "redis+cluster://a:7000,b:6379,[::1]:7002");
    }

    #[test]
    fn errors_name_the_problem_without_the_password() {
        for (url, says) in [
            ("http://x", "unknown scheme"),
            ("localhost:6379", "expected redis://"),
            ("redis://a,b", "several hosts"),
            ("redis+cluster://a/3", "database 0"),
            ("redis://h:0", "not a port"),
            ("redis://h:99999", "not a port"),
            ("redis://u:pw@h/x", "not a number"),
            ("redis://", "empty"),
            ("redis://h?x=1", "query"),
            ("redis://bad host", "not a host"),
        ] {
            let e = StoreUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(says), "{url}: {e}");
            assert!(!e.contains("pw@"), "{url}: {e}");
        }
    }
}
