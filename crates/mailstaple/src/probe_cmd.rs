//! `mailstaple probe`: would Exim's `hosts_require_ocsp` deliver to these hosts?

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow};
use mailstaple_ocsp::Time;
use mailstaple_policy::TrustStore;
use mailstaple_probe::dns::Dns;
use mailstaple_probe::report::span;
use mailstaple_probe::target::DEFAULT_PORT;
use mailstaple_probe::{
    Observed, ProbeConfig, Prober, Report, Severity, Spec, Target, Thresholds, Verdict,
};
use rustls::pki_types::UnixTime;
use serde_json::{Value, json};

use crate::hostlist_cmd::kernel_hostname;

/// Check SMTP hosts' OCSP stapling: would Exim's `hosts_require_ocsp` deliver to them, how long?
///
/// For each address: connect, read the greeting, EHLO, STARTTLS (or implicit TLS with
/// --tls-on-connect, as on port 465), request a staple, and stop before the envelope (no mail
/// is sent; QUIT). Reported: the TLS version and suite; the certificate's subject, issuer,
/// serial, DNS names, validity, OCSP URLs and must-staple; whether the chain verifies against
/// --tls-verify-certificates and the name, and why not; the staple's verdict (none, good,
/// revoked with time and reason, unknown, out-of-date, invalid with the reason), its
/// thisUpdate, nextUpdate and effective expiry (the earlier of nextUpdate and a delegated
/// signer's notAfter) and the time left; and Exim's answer for a host in `hosts_require_ocsp`:
/// `$tls_out_ocsp` (0 TLS never started, 1 none received, 3 failed, 4 verified) and deliver,
/// or defer with Exim's text.
///
/// A TARGET is `host`, `host:port`, `address`, `address:port`, `[IPv6]` or `[IPv6]:port`
/// (port 25 by default); a host name is probed on each of its A and AAAA addresses. --domain
/// probes the MX hosts of a domain in preference order (the domain itself when it has no MX).
/// The certificate must match the host's name (the MX host's for --domain; --name for targets
/// given as addresses).
///
/// Text from the remote side is escaped (control and invisible characters as \u{..}); colour
/// is used only when standard output is a terminal and NO_COLOR is unset.
///
/// Exit codes, the worst over all addresses: 0 every staple good with more than --warn of its
/// window left; 1 warning (less left, or no staple where --require is not given); 2 critical
/// (no staple with --require or on a must-staple certificate, revoked, unknown, out of date,
/// invalid, a chain that does not verify, STARTTLS or the handshake failed); 3 unreachable (no
/// address, connection refused or timed out, no usable SMTP greeting). Usage errors also exit 2.
///
/// --json prints one JSON object per address, one per line, with these keys (times RFC 3339,
/// absent values null): `name`, `address` ("ip:port"), `mx_preference`, `severity` ("ok",
/// "warning", "critical", "unreachable"), `summary`, `elapsed_ms`, `error` ({`stage`:
/// "resolve", "connect", "smtp", "starttls", "handshake" or "smtp-tls", `message`}), `tls`
/// ({`version`, `cipher_suite`}), `certificate` ({`subject`, `issuer`, `serial`, `names`,
/// `not_before`, `not_after`, `ocsp_urls`, `must_staple`}), `chain` ({`length`, `verified`,
/// `error`}), `staple` ({`verdict`: "none", "good", "revoked", "unknown", "out-of-date" or
/// "invalid", `reason`, `revocation_time`, `revocation_reason`, `size`, `this_update`,
/// `next_update`, `effective_expiry`, `seconds_left`, `percent_left`}), `exim`
/// ({`tls_out_ocsp`, `hosts_require_ocsp`: "deliver" or "defer", `defer_text`}).
// These doc comments are clap's --help text; rustdoc would read `[:port]` as a link.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct ProbeArgs {
    /// Hosts or addresses to probe: host[:port], address[:port], [IPv6][:port].
    targets: Vec<String>,
    /// Probe the MX hosts of this domain (repeatable).
    #[arg(long)]
    domain: Vec<String>,
    /// The port for --domain's MX hosts.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// The DNS server to ask (IP:PORT) instead of /etc/resolv.conf's.
    #[arg(long)]
    resolver: Option<SocketAddr>,
    /// The name certificates of TARGETs must match (default: the target's host name, or its
    /// address); --domain's MX hosts are always checked against their own names.
    #[arg(long)]
    name: Option<String>,
    /// Implicit TLS: the handshake comes first, no STARTTLS (port 465).
    #[arg(long)]
    tls_on_connect: bool,
    /// Trust anchors: a PEM file, a directory of PEM files, or `system` (Debian's bundle).
    #[arg(long, default_value = "system")]
    tls_verify_certificates: String,
    /// A missing staple is critical (exit 2) rather than a warning.
    #[arg(long)]
    require: bool,
    /// Warn when less than this percentage of a good proof's window is left.
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u8).range(1..=100))]
    warn: u8,
    /// Print one JSON object per address, one per line (keys in --help).
    #[arg(long)]
    json: bool,
    /// How many addresses to probe at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    concurrency: u16,
    /// Seconds each step (connect, a reply, the handshake) may take.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Seconds the whole probe of one address may take.
    #[arg(long, default_value_t = 30)]
    deadline: u64,
    /// The name to greet with (default: this machine's host name).
    #[arg(long)]
    helo: Option<String>,
    /// Judge certificates and staples at this time instead of the clock (RFC 3339 or seconds).
    #[arg(long, hide = true, value_parser = crate::input::parse_time)]
    now: Option<Time>,
}

#[derive(Debug)]
struct FixedTime(UnixTime);

impl rustls::time_provider::TimeProvider for FixedTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(self.0)
    }
}

pub(crate) fn run(args: ProbeArgs) -> i32 {
    let specs = match specs(&args) {
        Ok(s) => s,
        Err(e) => return crate::usage_error(&e),
    };
    let prober = match prober(&args) {
        Ok(p) => Arc::new(p),
        Err(e) => return crate::usage_error(&e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return crate::usage_error(&anyhow!("cannot start the runtime: {e}")),
    };
    let needs_dns = specs
        .iter()
        .any(|s| !matches!(s, Spec::Target(t) if matches!(t.host, mailstaple_probe::target::Host::Address(_))));
    let reports = runtime.block_on(async {
        let dns = if needs_dns {
            let dns = match args.resolver {
                Some(server) => Dns::with_server(server),
                None => Dns::system(),
            };
            match dns {
                Ok(d) => Some(d),
                Err(e) => return Err(anyhow!("{e}")),
            }
        } else {
            None
        };
        let clock: Arc<dyn rustls::time_provider::TimeProvider> = match args.now {
            Some(t) => Arc::new(FixedTime(UnixTime::since_unix_epoch(Duration::from_secs(
                u64::try_from(t.unix()).unwrap_or(0),
            )))),
            None => Arc::new(rustls::time_provider::DefaultTimeProvider),
        };
        Ok(mailstaple_probe::probe_all(
            prober,
            dns,
            specs,
            args.name.clone(),
            usize::from(args.concurrency),
            clock,
        )
        .await)
    });
    let reports = match reports {
        Ok(r) => r,
        Err(e) => return crate::usage_error(&e),
    };
    let thresholds = Thresholds::new(args.warn, args.require);
    let colour =
        !args.json && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut worst = Severity::Ok;
    let mut out = std::io::stdout().lock();
    for report in &reports {
        let (severity, summary) = report.severity(&thresholds);
        worst = worst.max(severity);
        let written = if args.json {
            writeln!(out, "{}", to_json(report, severity, &summary))
        } else {
            writeln!(out, "{}", to_text(report, severity, &summary, colour))
        };
        if let Err(e) = written {
            return crate::usage_error(&anyhow::Error::from(e));
        }
    }
    i32::from(worst.code())
}

fn specs(args: &ProbeArgs) -> Result<Vec<Spec>> {
    let mut specs = Vec::new();
    for t in &args.targets {
        specs.push(Spec::Target(Target::parse(t).map_err(|e| anyhow!("{e}"))?));
    }
    for d in &args.domain {
        mailstaple_probe::target::parse_name(d).map_err(|why| anyhow!("--domain {d:?}: {why}"))?;
        specs.push(Spec::Domain {
            domain: d.clone(),
            port: args.port,
        });
    }
    if specs.is_empty() {
        return Err(anyhow!("nothing to probe: give a TARGET or --domain"));
    }
    Ok(specs)
}

fn prober(args: &ProbeArgs) -> Result<Prober> {
    let trust = TrustStore::load(&args.tls_verify_certificates).map_err(|e| anyhow!("{e}"))?;
    let helo = args
        .helo
        .clone()
        .or_else(kernel_hostname)
        .unwrap_or_else(|| "localhost".into());
    let mut config = ProbeConfig::new(helo);
    config.tls_on_connect = args.tls_on_connect;
    config.step_timeout = Duration::from_secs(args.timeout.max(1));
    config.deadline = Duration::from_secs(args.deadline.max(1));
    Prober::new(trust, config).map_err(|e| anyhow!("{e}"))
}

fn time(t: Option<Time>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_string()))
}

fn to_json(report: &Report, severity: Severity, summary: &str) -> Value {
    let exim = report.exim();
    let failure = match &report.result {
        Err(f) => Some(f),
        Ok(o) => o.after_tls.as_ref().err(),
    };
    let observed = report.result.as_ref().ok();
    json!({
        "name": report.name,
        "address": report.address.map(|a| a.to_string()),
        "mx_preference": report.mx_preference,
        "severity": severity.name(),
        "summary": summary,
        "elapsed_ms": u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
        "error": failure.map(|f| json!({"stage": f.stage.name(), "message": f.message})),
        "tls": observed.map(|o| json!({"version": o.tls_version, "cipher_suite": o.cipher_suite})),
        "certificate": observed.and_then(|o| o.certificate.as_ref()).map(|c| json!({
            "subject": c.subject,
            "issuer": c.issuer,
            "serial": c.serial,
            "names": c.names,
            "not_before": c.not_before.to_string(),
            "not_after": c.not_after.to_string(),
            "ocsp_urls": c.ocsp_urls,
            "must_staple": c.must_staple,
        })),
        "chain": observed.map(|o| json!({
            "length": o.chain_length,
            "verified": o.chain.is_ok(),
            "error": o.chain.as_ref().err(),
        })),
        "staple": observed.map(|o| staple_json(report, o)),
        "exim": {
            "tls_out_ocsp": exim.tls_out_ocsp,
            "hosts_require_ocsp": if exim.deliver { "deliver" } else { "defer" },
            "defer_text": exim.defer,
        },
    })
}

fn staple_json(report: &Report, o: &Observed) -> Value {
    let s = &o.staple;
    let (reason, revocation_time, revocation_reason) = match &s.verdict {
        Verdict::Invalid { reason } | Verdict::OutOfDate { reason } => {
            (Some(reason.clone()), None, None)
        }
        Verdict::Revoked { time, reason } => (None, Some(*time), reason.clone()),
        _ => (None, None, None),
    };
    json!({
        "verdict": s.verdict.name(),
        "reason": reason,
        "revocation_time": time(revocation_time),
        "revocation_reason": revocation_reason,
        "size": s.size,
        "this_update": time(s.this_update),
        "next_update": time(s.next_update),
        "effective_expiry": time(s.effective_expiry),
        "seconds_left": s.seconds_left(report.now),
        "percent_left": s.percent_left(report.now),
    })
}

fn paint(text: &str, severity: Severity, colour: bool) -> String {
    if !colour {
        return text.to_owned();
    }
    let code = match severity {
        Severity::Ok => "32",
        Severity::Warning => "33",
        Severity::Critical => "31",
        _ => "35",
    };
    format!("\x1b[1;{code}m{text}\x1b[0m")
}

fn to_text(report: &Report, severity: Severity, summary: &str, colour: bool) -> String {
    let mut lines = Vec::new();
    let address = report
        .address
        .map_or_else(|| "(unresolved)".to_owned(), |a| a.to_string());
    let mx = report
        .mx_preference
        .map(|p| format!(" (MX {p})"))
        .unwrap_or_default();
    lines.push(format!("{} {address}{mx}", report.name));
    let label = paint(&severity.name().to_ascii_uppercase(), severity, colour);
    lines.push(format!("  result       {label}: {summary}"));
    let exim = report.exim();
    match &report.result {
        Err(f) => {
            lines.push(format!("  failed at    {}: {}", f.stage, f.message));
        }
        Ok(o) => observed_text(&mut lines, report, o),
    }
    lines.push(format!(
        "  exim         $tls_out_ocsp {}; hosts_require_ocsp would {}",
        exim.tls_out_ocsp,
        if exim.deliver { "deliver" } else { "defer" }
    ));
    if let Some(text) = &exim.defer {
        lines.push(format!("               {text}"));
    }
    lines.join("\n") + "\n"
}

fn observed_text(lines: &mut Vec<String>, report: &Report, o: &Observed) {
    lines.push(format!(
        "  tls          {} {}",
        o.tls_version, o.cipher_suite
    ));
    match &o.certificate {
        Some(c) => {
            lines.push(format!("  certificate  {}", c.subject));
            lines.push(format!("    issuer     {}", c.issuer));
            lines.push(format!("    serial     {}", c.serial));
            lines.push(format!("    names      {}", c.names.join(", ")));
            let left = c.not_after.unix().saturating_sub(report.now.unix());
            lines.push(format!(
                "    valid      {} .. {} ({})",
                c.not_before,
                c.not_after,
                if left > 0 {
                    format!("{} left", span(left))
                } else {
                    "expired".to_owned()
                }
            ));
            lines.push(format!(
                "    ocsp url   {}",
                if c.ocsp_urls.is_empty() {
                    "none (normal since public CAs retired OCSP)".to_owned()
                } else {
                    c.ocsp_urls.join(", ")
                }
            ));
            lines.push(format!(
                "    must-staple {}",
                if c.must_staple { "yes" } else { "no" }
            ));
        }
        None => lines.push("  certificate  (does not parse)".to_owned()),
    }
    lines.push(match &o.chain {
        Ok(()) => format!("  chain        verified ({} certificates)", o.chain_length),
        Err(e) => format!(
            "  chain        NOT verified ({} certificates): {e}",
            o.chain_length
        ),
    });
    let s = &o.staple;
    let verdict = match &s.verdict {
        Verdict::None => "none".to_owned(),
        Verdict::Good => "good".to_owned(),
        Verdict::Revoked { time, reason } => format!(
            "revoked at {time}{}",
            reason
                .as_deref()
                .map(|r| format!(", reason {r}"))
                .unwrap_or_default()
        ),
        Verdict::Unknown => "unknown".to_owned(),
        Verdict::OutOfDate { reason } => format!("out of date: {reason}"),
        Verdict::Invalid { reason } => format!("invalid: {reason}"),
        other => other.name().to_owned(),
    };
    lines.push(format!("  staple       {verdict}"));
    if s.size > 0 {
        let t = |t: Option<Time>| t.map_or_else(|| "-".to_owned(), |t| t.to_string());
        lines.push(format!(
            "    {} bytes, thisUpdate {}, nextUpdate {}",
            s.size,
            t(s.this_update),
            t(s.next_update)
        ));
        if let (Some(expiry), Some(left), Some(pct)) = (
            s.effective_expiry,
            s.seconds_left(report.now),
            s.percent_left(report.now),
        ) {
            lines.push(format!(
                "    usable until {expiry} ({} left, {pct}% of its window)",
                span(left)
            ));
        }
    }
    if let Err(f) = &o.after_tls {
        lines.push(format!("  after TLS    {f}"));
    }
}
