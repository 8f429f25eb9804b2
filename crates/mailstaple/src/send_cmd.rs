//! `mailstaple send`: deliver one message to one host, with Exim's OCSP and TLS options.

use std::io::Read as _;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use mailstaple_hostlist::{Env, Host, NamedLists};
use mailstaple_ocsp::Time;
use mailstaple_policy::tls::PolicyClient;
use mailstaple_policy::{ClientPolicy, Options, TrustStore};
use mailstaple_smtp::client::{Message, Outcome, TlsMode};
use mailstaple_smtp::net::{ClientTls, deliver, log_line};
use rustls::pki_types::{ServerName, UnixTime};

use crate::hostlist_cmd::{ProcInterfaces, SystemResolver, kernel_hostname};

/// Exit codes (sysexits): delivered, deferred (EX_TEMPFAIL), failed (EX_UNAVAILABLE).
const DELIVERED: i32 = 0;
const DEFERRED: i32 = 75;
const FAILED: i32 = 69;

/// Deliver one message to one host over SMTP, requesting or requiring an OCSP staple.
///
/// The host lists have Exim's syntax and meaning and are matched against the host name given
/// with --host and its address. A host in --hosts-require-ocsp must staple a proof that is
/// authentic, current and good for its certificate, or the message is deferred (exit 75) with
/// Exim's reason; such a host also requires TLS. Exit 0 delivered, 75 deferred, 69 failed,
/// 2 usage error.
///
/// With --config, the `[client]` section of the TOML file supplies the host lists and
/// `tls_verify_certificates`, and its `[hostlists]` the named lists that `+name` items refer
/// to (also in lists given as flags); a flag given on the command line overrides the file's
/// value. The whole file is checked first: any error stops with exit 2, naming the option.
#[derive(clap::Args, Debug)]
pub(crate) struct SendArgs {
    /// The TOML configuration file (its `[client]` and `[hostlists]`; flags override it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The host to deliver to (name or address); its certificate must match this name.
    #[arg(long)]
    host: String,
    /// Connect to this address instead of resolving --host (as when a router supplied it).
    #[arg(long)]
    address: Option<std::net::IpAddr>,
    /// The SMTP port.
    #[arg(long, default_value_t = 25)]
    port: u16,
    /// The envelope sender (empty for the null sender).
    #[arg(long)]
    from: String,
    /// An envelope recipient (repeatable).
    #[arg(long, required = true)]
    to: Vec<String>,
    /// Exim host list: request and require a verified OCSP proof (default: unset).
    #[arg(long)]
    hosts_require_ocsp: Option<String>,
    /// Exim host list: request an OCSP proof (default: `*`).
    #[arg(long)]
    hosts_request_ocsp: Option<String>,
    /// Exim host list: require TLS (default: unset).
    #[arg(long)]
    hosts_require_tls: Option<String>,
    /// Trust anchors: a PEM file, a directory of PEM files, or `system` [default: system].
    #[arg(long)]
    tls_verify_certificates: Option<String>,
    /// The maximum age of a staple, in seconds or Exim's time syntax (`7d`): one whose
    /// thisUpdate is older counts as invalid even before its nextUpdate, and one without
    /// nextUpdate is accepted until thisUpdate plus this, as browsers judge
    /// (`tls_ocsp_max_age` in `[client]`) [default: none].
    #[arg(long, value_name = "AGE", value_parser = crate::input::parse_max_age)]
    tls_ocsp_max_age: Option<u64>,
    /// The name to greet with (default: this machine's host name).
    #[arg(long)]
    helo: Option<String>,
    /// Seconds to wait for each network step.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Judge certificates and staples at this time instead of the clock (RFC 3339 or seconds).
    #[arg(long, hide = true, value_parser = crate::input::parse_time)]
    now: Option<Time>,
    /// The message (RFC 5322, headers and body); `-` or nothing reads standard input.
    file: Option<PathBuf>,
}

#[derive(Debug)]
struct FixedTime(UnixTime);

impl rustls::time_provider::TimeProvider for FixedTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(self.0)
    }
}

pub(crate) fn run(args: SendArgs) -> i32 {
    match prepare(&args) {
        Ok((addr, options, named, data, max_age)) => {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("mailstaple send: cannot start the runtime: {e}");
                    return DEFERRED;
                }
            };
            runtime.block_on(send(&args, addr, &options, &named, data, max_age))
        }
        Err(e) => crate::usage_error(&e),
    }
}

/// What `send` needs: the address, the policy options and named lists, the message, and the
/// staples' maximum age.
type Prepared = (SocketAddr, Options, NamedLists, Vec<u8>, Option<u64>);

fn prepare(args: &SendArgs) -> Result<Prepared> {
    let (mut options, named, file_max_age) = match &args.config {
        Some(path) => {
            let file = crate::config::load(path, "send")?;
            (
                file.client_options(),
                file.named_lists(),
                file.client.tls_ocsp_max_age.as_ref().map(|v| v.value),
            )
        }
        None => (Options::default(), NamedLists::new(), None),
    };
    if let Some(list) = &args.hosts_require_ocsp {
        options.hosts_require_ocsp = Some(list.clone());
    }
    if let Some(list) = &args.hosts_request_ocsp {
        options.hosts_request_ocsp = Some(list.clone());
    }
    if let Some(list) = &args.hosts_require_tls {
        options.hosts_require_tls = Some(list.clone());
    }
    if let Some(trust) = &args.tls_verify_certificates {
        options.tls_verify_certificates.clone_from(trust);
    }
    let data = match args.file.as_deref() {
        None => read_stdin()?,
        Some(p) if p.as_os_str() == "-" => read_stdin()?,
        Some(p) => std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
    };
    let addr = match args.address {
        Some(ip) => SocketAddr::new(ip, args.port),
        None => (args.host.as_str(), args.port)
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {}", args.host))?
            .next()
            .ok_or_else(|| anyhow!("{} has no address", args.host))?,
    };
    Ok((
        addr,
        options,
        named,
        data,
        args.tls_ocsp_max_age.or(file_max_age),
    ))
}

fn read_stdin() -> Result<Vec<u8>> {
    let mut data = Vec::new();
    std::io::stdin()
        .read_to_end(&mut data)
        .context("cannot read the message from standard input")?;
    Ok(data)
}

async fn send(
    args: &SendArgs,
    addr: SocketAddr,
    options: &Options,
    named: &NamedLists,
    data: Vec<u8>,
    max_age: Option<u64>,
) -> i32 {
    let policy = match ClientPolicy::new(options, named) {
        Ok(p) => p,
        Err(e) => return crate::usage_error(&anyhow!("{e}")),
    };
    let host_name = args.host.clone();
    let host = Host::new(addr.ip()).with_name(&host_name);
    let resolver = SystemResolver;
    let interfaces = ProcInterfaces;
    let primary = kernel_hostname().unwrap_or_else(|| "localhost".into());
    let env = Env::new()
        .with_resolver(&resolver)
        .with_interfaces(&interfaces)
        .with_primary_hostname(&primary);
    let decision = policy.decide(&host, &env);
    let mode = if decision.tls_required {
        TlsMode::Required
    } else {
        TlsMode::Opportunistic
    };
    let time: Arc<dyn rustls::time_provider::TimeProvider> = match args.now {
        Some(t) => Arc::new(FixedTime(UnixTime::since_unix_epoch(Duration::from_secs(
            u64::try_from(t.unix()).unwrap_or(0),
        )))),
        None => Arc::new(rustls::time_provider::DefaultTimeProvider),
    };
    let tls = (|| -> Result<ClientTls> {
        let trust =
            TrustStore::load(&options.tls_verify_certificates).map_err(|e| anyhow!("{e}"))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut verify_policy = mailstaple_verify::Policy::default();
        verify_policy.max_age_secs = max_age;
        let client = PolicyClient::new(trust, provider, time)
            .map_err(|e| anyhow!("{e}"))?
            .with_verify_policy(verify_policy);
        let connection = client
            .connect(decision.clone())
            .map_err(|e| anyhow!("{e}"))?;
        let name =
            ServerName::try_from(host_name.clone()).map_err(|e| anyhow!("{host_name}: {e}"))?;
        Ok(ClientTls::new(connection, name))
    })();
    let tls = match tls {
        Ok(t) => Some(t),
        Err(e) if mode == TlsMode::Required => {
            return crate::usage_error(&e.context("TLS is required"));
        }
        Err(e) => {
            eprintln!(
                "mailstaple send: TLS unavailable ({e:#}); delivering in clear text if the host allows"
            );
            None
        }
    };
    let helo = args.helo.clone().unwrap_or(primary.clone());
    let message = Message::new(args.from.clone(), args.to.clone(), data);
    eprintln!(
        "mailstaple send: {} [{}] OCSP {:?}, TLS {}",
        host_name,
        addr.ip(),
        decision.mode,
        if decision.tls_required {
            "required"
        } else {
            "opportunistic"
        }
    );
    let (outcome, info) = deliver(
        addr,
        &helo,
        mode,
        tls,
        message,
        Duration::from_secs(args.timeout),
    )
    .await;
    for rcpt in &args.to {
        println!("{}", log_line(rcpt, &host_name, addr, &outcome, &info));
    }
    match outcome {
        Outcome::Delivered { .. } => DELIVERED,
        Outcome::Failed { .. } => FAILED,
        _ => DEFERRED,
    }
}

/// What `run` does with `--config FILE` before it connects: the file applied, the policy
/// compiled and the trust anchors loaded (for the agreement test with `config check`).
#[cfg(test)]
pub(crate) fn accepts(config: &std::path::Path, message: &std::path::Path) -> Result<()> {
    let args = SendArgs {
        config: Some(config.to_path_buf()),
        host: "127.0.0.1".into(),
        address: Some(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
        port: 25,
        from: String::new(),
        to: vec!["postmaster@example.test".into()],
        hosts_require_ocsp: None,
        hosts_request_ocsp: None,
        hosts_require_tls: None,
        tls_verify_certificates: None,
        tls_ocsp_max_age: None,
        helo: None,
        timeout: 1,
        now: None,
        file: Some(message.to_path_buf()),
    };
    let (_, options, named, _, _) = prepare(&args)?;
    ClientPolicy::new(&options, &named).map_err(|e| anyhow!("{e}"))?;
    TrustStore::load(&options.tls_verify_certificates).map_err(|e| anyhow!("{e}"))?;
    Ok(())
}
