//! Many targets at once: names and domains resolved, then every address probed, at most
//! `concurrency` at a time; each probe has its own deadline, so a silent host holds one slot for
//! at most that long and never blocks the others. Reports come back in the order of the
//! targets (a domain's hosts in preference order, a host's IPv4 addresses first).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mailstaple_ocsp::Time;
use rustls::pki_types::UnixTime;
use rustls::time_provider::TimeProvider;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::dns::Dns;
use crate::report::{Failure, Report, Stage};
use crate::target::{Host, Target};
use crate::{Error, Prober, escape};

/// What to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Spec {
    /// One host (its A and AAAA addresses when it is a name) or address.
    Target(Target),
    /// Every MX host of a domain, on `port`.
    Domain {
        /// The domain.
        domain: String,
        /// The port to probe the MX hosts on.
        port: u16,
    },
}

/// One address to probe: the name its certificate must match, and where it came from; or a
/// name that did not resolve.
#[derive(Debug, Clone)]
enum Job {
    Probe {
        name: String,
        address: SocketAddr,
        mx_preference: Option<u16>,
    },
    Unresolved {
        name: String,
        error: Error,
        mx_preference: Option<u16>,
    },
}

/// Probes every address of `specs`, at most `concurrency` at a time. `dns` resolves names and
/// domains (without it, they are reported unresolved); `name` overrides the name the
/// certificates of [`Spec::Target`]s are checked against (by default the target's host name or
/// address; a domain's MX hosts are always checked against their own names); `clock` gives the
/// instant each probe is judged at.
pub async fn probe_all(
    prober: Arc<Prober>,
    dns: Option<Dns>,
    specs: Vec<Spec>,
    name: Option<String>,
    concurrency: usize,
    clock: Arc<dyn TimeProvider>,
) -> Vec<Report> {
    let semaphore = Arc::new(Semaphore::new(concurrency.max(1)));
    let deadline = prober.config().deadline;
    // Resolve every spec (concurrently, as DNS can be slow), keeping the order.
    let mut resolving = JoinSet::new();
    for (i, spec) in specs.into_iter().enumerate() {
        let (dns, name, semaphore) = (dns.clone(), name.clone(), semaphore.clone());
        resolving.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let jobs = tokio::time::timeout(deadline, resolve(&dns, &spec, name))
                .await
                .unwrap_or_else(|_| {
                    vec![Job::Unresolved {
                        name: spec_name(&spec),
                        error: Error::Dns {
                            name: spec_name(&spec),
                            message: "no answer before the deadline".into(),
                        },
                        mx_preference: None,
                    }]
                });
            (i, jobs)
        });
    }
    let mut resolved = Vec::new();
    while let Some(done) = resolving.join_next().await {
        if let Ok(r) = done {
            resolved.push(r);
        }
    }
    resolved.sort_by_key(|(i, _)| *i);

    let mut reports: Vec<(usize, Report)> = Vec::new();
    let mut probing = JoinSet::new();
    for (i, job) in resolved.into_iter().flat_map(|(_, jobs)| jobs).enumerate() {
        match job {
            Job::Unresolved {
                name,
                error,
                mx_preference,
            } => {
                let mut report = unresolved(name, &error, clock.as_ref());
                report.mx_preference = mx_preference;
                reports.push((i, report));
            }
            Job::Probe {
                name,
                address,
                mx_preference,
            } => {
                let (prober, semaphore, clock) = (prober.clone(), semaphore.clone(), clock.clone());
                probing.spawn(async move {
                    let _permit = semaphore.acquire_owned().await;
                    let now = clock
                        .current_time()
                        .unwrap_or(UnixTime::since_unix_epoch(Duration::ZERO));
                    let mut report = prober.probe(address, &name, now).await;
                    report.mx_preference = mx_preference;
                    (i, report)
                });
            }
        }
    }
    while let Some(done) = probing.join_next().await {
        if let Ok(r) = done {
            reports.push(r);
        }
    }
    reports.sort_by_key(|(i, _)| *i);
    reports.into_iter().map(|(_, r)| r).collect()
}

fn spec_name(spec: &Spec) -> String {
    match spec {
        Spec::Target(t) => t.host.to_string(),
        Spec::Domain { domain, .. } => escape(domain),
    }
}

async fn resolve(dns: &Option<Dns>, spec: &Spec, name: Option<String>) -> Vec<Job> {
    if let Spec::Target(Target {
        host: Host::Address(ip),
        port,
    }) = spec
    {
        return vec![Job::Probe {
            name: name.unwrap_or_else(|| ip.to_string()),
            address: SocketAddr::new(*ip, *port),
            mx_preference: None,
        }];
    }
    let Some(dns) = dns else {
        return vec![Job::Unresolved {
            name: spec_name(spec),
            error: Error::Resolver {
                message: "no resolver configured".into(),
            },
            mx_preference: None,
        }];
    };
    match spec {
        Spec::Target(Target {
            host: Host::Name(host),
            port,
        }) => addresses(dns, host, name.as_deref(), *port, None).await,
        Spec::Domain { domain, port } => match dns.mx(domain).await {
            Err(error) => vec![Job::Unresolved {
                name: escape(domain),
                error,
                mx_preference: None,
            }],
            Ok(hosts) => {
                let mut jobs = Vec::new();
                for host in hosts {
                    jobs.extend(
                        addresses(dns, &host.name, None, *port, Some(host.preference)).await,
                    );
                }
                jobs
            }
        },
        // Addresses were handled above.
        Spec::Target(_) => Vec::new(),
    }
}

async fn addresses(
    dns: &Dns,
    host: &str,
    name: Option<&str>,
    port: u16,
    mx_preference: Option<u16>,
) -> Vec<Job> {
    match dns.addresses(host).await {
        Ok(addresses) => addresses
            .into_iter()
            .map(|ip| Job::Probe {
                name: name.unwrap_or(host).to_owned(),
                address: SocketAddr::new(ip, port),
                mx_preference,
            })
            .collect(),
        Err(error) => vec![Job::Unresolved {
            name: host.to_owned(),
            error,
            mx_preference,
        }],
    }
}

fn unresolved(name: String, e: &Error, clock: &dyn TimeProvider) -> Report {
    let now = clock
        .current_time()
        .map_or(0, |t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX));
    Report {
        name,
        address: None,
        mx_preference: None,
        now: Time::from_unix(now),
        elapsed: Duration::ZERO,
        result: Err(Failure {
            stage: Stage::Resolve,
            message: e.to_string(),
        }),
    }
}
