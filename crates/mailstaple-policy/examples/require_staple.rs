//! A rustls client that requires a verified OCSP staple from the hosts in a host list
//! (`hosts_require_ocsp`) and prints Exim's `$tls_out_ocsp` value and the reason.
//!
//! ```text
//! cargo run -p mailstaple-policy --example require_staple -- IP:PORT NAME CA-FILE LIST [UNIX-TIME]
//! ```
//!
//! NAME is the host's routed name (matched against LIST and checked in its certificate), CA-FILE
//! the trust anchors (PEM), LIST an Exim host list such as `*` or `192.0.2.0/24 : *.example.org`.
//! UNIX-TIME fixes the clock (handy with a test PKI). Exits 75 when the delivery would defer.

use std::{net::SocketAddr, net::TcpStream, sync::Arc, time::Duration};

use mailstaple_policy::hostlist::{Env, Host, NamedLists};
use mailstaple_policy::rustls::pki_types::{ServerName, UnixTime};
use mailstaple_policy::rustls::{self, time_provider::TimeProvider};
use mailstaple_policy::{ClientPolicy, Delivery, Options, TrustStore, tls::PolicyClient};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (report, delivery) = run(&args)?;
    println!("{report}");
    std::process::exit(if delivery.is_proceed() { 0 } else { 75 })
}

/// The command line without the program name; returns the report and the delivery decision.
pub(crate) fn run(args: &[String]) -> Result<(String, Delivery), Box<dyn std::error::Error>> {
    let [addr, name, ca, list, rest @ ..] = args else {
        return Err("usage: require_staple IP:PORT NAME CA-FILE LIST [UNIX-TIME]".into());
    };
    let at = rest.first().map(|t| t.parse::<u64>()).transpose()?;
    connect(addr.parse()?, name, ca, list, at)
}

/// Connects to `addr` as `name`, requiring a staple when the host is in `list`.
fn connect(
    addr: SocketAddr,
    name: &str,
    ca: &str,
    list: &str,
    at: Option<u64>,
) -> Result<(String, Delivery), Box<dyn std::error::Error>> {
    let mut options = Options::default(); // hosts_request_ocsp = *
    options.hosts_require_ocsp = Some(list.to_owned());
    let policy = ClientPolicy::new(&options, &NamedLists::new())?;
    let decision = policy.decide(&Host::new(addr.ip()).with_name(name), &Env::new());
    let time: Arc<dyn TimeProvider> = match at {
        Some(secs) => Arc::new(At(secs)),
        None => Arc::new(rustls::time_provider::DefaultTimeProvider),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let connection = PolicyClient::new(TrustStore::load(ca)?, provider, time)?.connect(decision)?;

    let server_name = ServerName::try_from(name.to_owned())?;
    let mut tls = rustls::ClientConnection::new(connection.config(), server_name)?;
    let mut tcp = TcpStream::connect(addr)?;
    let mut handshake = Ok(());
    while tls.is_handshaking() && handshake.is_ok() {
        handshake = tls.complete_io(&mut tcp).map(drop);
    }
    let outcome = connection.outcome(); // read before `conclude` consumes it
    let delivery = connection.conclude(
        handshake
            .as_ref()
            .map_err(|e| e as &dyn std::fmt::Display)
            .copied(),
    );
    let reason = match (&delivery, outcome) {
        (Delivery::Defer { message, .. }, _) => message.clone(),
        (_, Some(outcome)) => outcome.message(),
        (_, None) => "no staple checked".to_owned(),
    };
    let verdict = if delivery.is_proceed() {
        "proceed"
    } else {
        "defer"
    };
    let value = delivery.tls_out_ocsp().value();
    Ok((
        format!("tls_out_ocsp={value} {verdict}: {reason}"),
        delivery,
    ))
}

/// rustls' clock, fixed.
#[derive(Debug)]
struct At(u64);

impl TimeProvider for At {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(Duration::from_secs(self.0)))
    }
}
