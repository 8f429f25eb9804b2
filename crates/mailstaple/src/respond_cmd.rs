//! `mailstaple respond`: the OCSP responder of `mailstaple-responder` on a port.
//!
//! Reads the CA certificate, the signer certificate and key and the index, checks that they fit
//! together, prints `listening on http://ADDR/` on standard output once the port is bound, and
//! serves until SIGTERM or SIGINT (exit 0). SIGHUP reloads the index, which is also reloaded
//! when the file changes. Log lines go to standard error.
//!
//! Exit codes: 0 after a graceful shutdown; 1 if the address cannot be bound or the runtime
//! fails; 2 for a usage error or a file that cannot be read or does not fit.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mailstaple_ocsp::Time;
use mailstaple_responder::{
    Clock, Passphrase, Pkcs11Uri, Responder, ResponderConfig, ResponderIdKind, Responders, Server,
    ServerConfig, ShiftedClock, SigningKey, SystemClock, certificate_der, load_index,
};
use zeroize::Zeroizing;

use crate::input::parse_time;

/// Answer OCSP requests (RFC 6960 / RFC 5019, GET and POST) from an OpenSSL `ca` index.
///
/// One CA from the flags, or several from the `[respond]` section of the TOML file (--config):
/// each `[[respond.ca]]` entry has its own `index`, `ca`, optional `signer_cert`, `signer_key`
/// (a file or a `pkcs11:` URI), and optional `signer_key_passphrase_file`, `pkcs11_module`,
/// `pkcs11_pin_file`; `[respond]` itself takes `listen`, `validity`, `timeout`,
/// `max_connections`, `max_request_size`, `presign`, `responder_id_by_name` and
/// `metrics_listen`, which flags override. The request's CertID picks the CA; a CertID of
/// another issuer gets `unauthorized`. Each CA's index is reloaded on its own.
#[derive(clap::Args, Debug)]
pub(crate) struct RespondArgs {
    /// The TOML configuration file: its `[respond]` section and `[[respond.ca]]` entries
    /// (then the CA flags --index, --ca, --signer-* are not given).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The OpenSSL `ca` database (`index.txt`: V, R and E lines). Reloaded when it changes and
    /// on SIGHUP; a file that does not parse is reported and the previous one kept.
    #[arg(long)]
    index: Option<PathBuf>,
    /// The CA certificate whose certificates are answered for (PEM or DER).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// The signer certificate: a delegated responder certificate issued by the CA, with the
    /// OCSPSigning extended key usage, embedded in every response. Default: the CA signs.
    #[arg(long)]
    signer_cert: Option<PathBuf>,
    /// The signer's private key: PEM or DER, PKCS#8, SEC1 (`EC PRIVATE KEY`) or PKCS#1
    /// (`RSA PRIVATE KEY`); RSA, ECDSA P-256/P-384/P-521 or Ed25519. An encrypted PKCS#8 key
    /// (`ENCRYPTED PRIVATE KEY`: PBES2 with PBKDF2 or scrypt, AES-CBC or AES-GCM) is decrypted
    /// once at start; the passphrase comes from `--signer-key-passphrase-file`, else from the
    /// systemd credential `signer-key-passphrase` (`LoadCredential=` in the unit, read from
    /// `$CREDENTIALS_DIRECTORY`), else from a prompt when standard input is a terminal.
    /// A key in an HSM or other PKCS#11 token is named by an RFC 7512 URI instead,
    /// `pkcs11:token=LABEL;object=KEY-LABEL` (with `--pkcs11-module` and the PIN as below);
    /// RSA and ECDSA (P-256, P-384, P-521) keys; the token's availability is checked at start,
    /// and while it is away answers not signed ahead are `tryLater`.
    #[arg(long)]
    signer_key: Option<PathBuf>,
    /// A file holding the signer key's passphrase (one trailing newline is ignored). Keep it
    /// readable by the responder's user only.
    #[arg(long, value_name = "FILE")]
    signer_key_passphrase_file: Option<PathBuf>,
    /// The PKCS#11 module (a shared library) for a `--signer-key pkcs11:...` key, such as
    /// `/usr/lib/softhsm/libsofthsm2.so`.
    #[arg(long, value_name = "PATH")]
    pkcs11_module: Option<PathBuf>,
    /// A file holding the token's PIN (one trailing newline ignored); else the systemd
    /// credential `pkcs11-pin`, else a prompt on the terminal.
    #[arg(long, value_name = "FILE")]
    pkcs11_pin_file: Option<PathBuf>,
    /// The address and port to listen on. Loopback unless you say otherwise
    /// [default: 127.0.0.1:8888].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// How long each response is valid (nextUpdate minus thisUpdate): `90s`, `30m`, `12h`, `7d`
    /// or seconds. Responses are re-signed every half of it [default: 1d].
    #[arg(long, value_parser = parse_duration)]
    validity: Option<Duration>,
    /// Do not sign ahead. By default the answer for every serial in the index (to a single
    /// SHA-1 CertID, what OpenSSL and fetchers ask) is signed in the background for the current
    /// window and, from its middle, for the next, so that requests are answered from memory and
    /// a slow signer never stalls them.
    #[arg(long)]
    no_presign: bool,
    /// Name the signer by its subject (ResponderID byName) instead of its key hash.
    #[arg(long)]
    responder_id_by_name: bool,
    /// The most connections served at once; more wait in the kernel's backlog [default: 512].
    #[arg(long)]
    max_connections: Option<usize>,
    /// Time allowed for a request head, for its body, and for each write to make progress
    /// [default: 10s].
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// The largest request body accepted, in bytes [default: 16384].
    #[arg(long)]
    max_request_size: Option<usize>,
    /// For tests: the responder's clock starts at this time (RFC 3339 or seconds since the epoch)
    /// instead of the system time.
    #[arg(long, hide = true, value_parser = parse_time)]
    now: Option<Time>,
    /// Answer `/metrics` (Prometheus: requests by outcome, a latency histogram) and `/status`
    /// (JSON) over HTTP here: a port on 127.0.0.1, or an address and port.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,
    /// For tests: how often the index file is checked for changes.
    #[arg(long, hide = true, default_value = "1s", value_parser = parse_duration)]
    reload_interval: Duration,
}

/// One CA to answer for: from the flags, or a `[[respond.ca]]` entry.
struct CaSpec {
    name: String,
    index: PathBuf,
    ca: PathBuf,
    signer_cert: Option<PathBuf>,
    signer_key: PathBuf,
    signer_key_passphrase_file: Option<PathBuf>,
    pkcs11_module: Option<PathBuf>,
    pkcs11_pin_file: Option<PathBuf>,
}

/// The settings of `respond` once the flags and the file are put together.
struct Settings {
    cas: Vec<CaSpec>,
    listen: SocketAddr,
    validity: Duration,
    timeout: Duration,
    max_connections: usize,
    max_request_size: usize,
    presign: bool,
    by_name: bool,
    metrics_listen: Option<String>,
}

/// The flags over the file's `[respond]` section over the defaults; the CAs from the flags or
/// from the file, never both.
fn settings(args: &RespondArgs) -> Result<Settings, String> {
    let file = match &args.config {
        Some(path) => Some(
            crate::config::load(path, "respond")
                .map_err(|e| format!("{e:#}"))?
                .respond,
        ),
        None => None,
    };
    let flags_name_a_ca = args.index.is_some()
        || args.ca.is_some()
        || args.signer_key.is_some()
        || args.signer_cert.is_some();
    let file_cas = file
        .as_ref()
        .map(mailstaple_config::Respond::cas)
        .unwrap_or_default();
    let cas = if flags_name_a_ca {
        if !file_cas.is_empty() {
            return Err(
                "the CA comes from the flags or from the file's [[respond.ca]] entries, not both"
                    .to_owned(),
            );
        }
        let (Some(index), Some(ca), Some(signer_key)) = (&args.index, &args.ca, &args.signer_key)
        else {
            return Err("a CA needs --index, --ca and --signer-key".to_owned());
        };
        vec![CaSpec {
            name: ca.file_stem().map_or_else(
                || ca.display().to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
            index: index.clone(),
            ca: ca.clone(),
            signer_cert: args.signer_cert.clone(),
            signer_key: signer_key.clone(),
            signer_key_passphrase_file: args.signer_key_passphrase_file.clone(),
            pkcs11_module: args.pkcs11_module.clone(),
            pkcs11_pin_file: args.pkcs11_pin_file.clone(),
        }]
    } else {
        file_cas
            .into_iter()
            .map(|c| CaSpec {
                name: c.name,
                index: c.index,
                ca: c.ca,
                signer_cert: c.signer_cert,
                signer_key: PathBuf::from(c.signer_key),
                signer_key_passphrase_file: c.signer_key_passphrase_file,
                pkcs11_module: c.pkcs11_module,
                pkcs11_pin_file: c.pkcs11_pin_file,
            })
            .collect()
    };
    if cas.is_empty() {
        return Err(
            "no CA to answer for: give --index, --ca and --signer-key, or --config with \
             [[respond.ca]] entries"
                .to_owned(),
        );
    }
    let f = file.unwrap_or_default();
    let secs = |v: &Option<mailstaple_config::Value<u64>>| {
        v.as_ref().map(|v| Duration::from_secs(v.value))
    };
    let count = |v: &Option<mailstaple_config::Value<u64>>| {
        v.as_ref()
            .map(|v| usize::try_from(v.value).unwrap_or(usize::MAX))
    };
    Ok(Settings {
        cas,
        listen: args
            .listen
            .or_else(|| f.listen.as_ref().and_then(|l| l.value.parse().ok()))
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8888))),
        validity: args
            .validity
            .or_else(|| secs(&f.validity))
            .unwrap_or(Duration::from_secs(86_400)),
        timeout: args
            .timeout
            .or_else(|| secs(&f.timeout))
            .unwrap_or(Duration::from_secs(10)),
        max_connections: args
            .max_connections
            .or_else(|| count(&f.max_connections))
            .unwrap_or(512),
        max_request_size: args
            .max_request_size
            .or_else(|| count(&f.max_request_size))
            .unwrap_or(16 * 1024),
        presign: !args.no_presign && f.presign.as_ref().is_none_or(|p| p.value),
        by_name: args.responder_id_by_name
            || f.responder_id_by_name.as_ref().is_some_and(|b| b.value),
        metrics_listen: args
            .metrics_listen
            .clone()
            .or_else(|| f.metrics_listen.as_ref().map(|m| m.value.clone())),
    })
}

/// Runs the responder and returns the exit code.
pub(crate) fn run(args: RespondArgs) -> i32 {
    crate::init_logging("respond");
    let clock: Arc<dyn Clock> = match args.now {
        Some(t) => Arc::new(ShiftedClock::starting_at(t)),
        None => Arc::new(SystemClock),
    };
    let settings = match settings(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mailstaple respond: {e}");
            return 2;
        }
    };
    let mut responders = Vec::new();
    for spec in &settings.cas {
        let responder = match build(spec, &settings, clock.now()) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("mailstaple respond: {e}");
                return 2;
            }
        };
        log::info!(
            "{}: signing as {} ({}, {}), {} certificates in {}, responses valid for {}s",
            spec.name,
            responder.signer_subject(),
            responder.algorithm_name(),
            if responder.is_delegated() {
                "delegated responder"
            } else {
                "the CA itself"
            },
            responder.index_len(),
            spec.index.display(),
            settings.validity.as_secs(),
        );
        if responder.signer_not_after() < clock.now() {
            log::warn!(
                "{}: the signer certificate expired at {}: clients will reject the responses",
                spec.name,
                responder.signer_not_after()
            );
        }
        responders.push(Arc::new(responder));
    }
    let responders = match Responders::new(responders) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mailstaple respond: {e}");
            return 2;
        }
    };
    let listen = settings.listen;
    if !listen.ip().is_loopback() {
        log::warn!(
            "listening on {}, which is not a loopback address",
            listen.ip()
        );
    }
    let mut config = ServerConfig::default();
    config.max_connections = settings.max_connections;
    config.header_timeout = settings.timeout;
    config.body_timeout = settings.timeout;
    config.write_timeout = settings.timeout;
    config.max_request_size = settings.max_request_size;
    config.reload_interval = args.reload_interval;
    config.presign = settings.presign;
    if let Some(listen) = &settings.metrics_listen {
        let addr = match crate::metrics::parse_listen(listen) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("mailstaple respond: --metrics-listen {e}");
                return 2;
            }
        };
        let (observer, snapshot) = respond_metrics();
        config.observer = Some(observer);
        if let Err(e) = crate::metrics::start(addr, snapshot) {
            eprintln!("mailstaple respond: cannot serve metrics on {addr}: {e}");
            return 2;
        }
    }
    let mut server = Server::new(responders, config, clock);
    for (i, spec) in settings.cas.iter().enumerate() {
        server = server.watch_ca_index(i, spec.index.clone());
    }
    let result = server.run_blocking(listen, |addr| {
        use std::io::Write as _;
        println!("listening on http://{addr}/");
        let _ = std::io::stdout().flush();
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("mailstaple respond: cannot serve on {listen}: {e}");
            1
        }
    }
}

fn in_file(p: &Path) -> impl Fn(mailstaple_responder::Error) -> String + '_ {
    move |e| format!("{}: {e}", p.display())
}

fn build(spec: &CaSpec, settings: &Settings, now: Time) -> Result<Responder, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let ca = certificate_der(&read(&spec.ca)?).map_err(in_file(&spec.ca))?;
    let signer = match &spec.signer_cert {
        Some(p) => Some(certificate_der(&read(p)?).map_err(in_file(p))?),
        None => None,
    };
    let key = signing_key(spec, signer.as_deref().unwrap_or(&ca))?;
    let index = load_index(&spec.index).map_err(in_file(&spec.index))?;
    let mut config = ResponderConfig::default();
    config.validity_secs = settings.validity.as_secs();
    if settings.by_name {
        config.responder_id = ResponderIdKind::ByName;
    }
    Responder::new(&ca, signer.as_deref(), key, index, &config, now).map_err(|e| e.to_string())
}

/// The systemd credential holding the signer key's passphrase.
const PASSPHRASE_CREDENTIAL: &str = "signer-key-passphrase";
/// The systemd credential holding the PKCS#11 token's PIN.
const PIN_CREDENTIAL: &str = "pkcs11-pin";

/// A secret asked for once at start (the passphrase of an encrypted key, a token's PIN): from
/// the file given, else from the systemd credential `credential` (`$CREDENTIALS_DIRECTORY`),
/// else from the terminal without echo. `None` when there is no source.
fn secret(
    file: Option<&Path>,
    credential: &str,
    prompt: &str,
) -> Result<Option<Passphrase>, String> {
    if let Some(path) = file {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        return Ok(Some(Passphrase::from_file_contents(bytes)));
    }
    if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
        let path = Path::new(&dir).join(credential);
        match std::fs::read(&path) {
            Ok(bytes) => return Ok(Some(Passphrase::from_file_contents(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(format!(
                    "cannot read the credential {}: {e}",
                    path.display()
                ));
            }
        }
    }
    if std::io::stdin().is_terminal() {
        let typed = rpassword::prompt_password(prompt)
            .map_err(|e| format!("cannot read from the terminal: {e}"))?;
        return Ok(Some(Passphrase::from_file_contents(typed.into_bytes())));
    }
    Ok(None)
}

/// The signing key: a file (encrypted or not), or a PKCS#11 URI.
fn signing_key(args: &CaSpec, signer_cert: &[u8]) -> Result<SigningKey, String> {
    let key_arg = args.signer_key.to_string_lossy();
    if Pkcs11Uri::is_uri(&key_arg) {
        let module = args.pkcs11_module.as_deref().ok_or_else(|| {
            format!("{key_arg}: a PKCS#11 key needs --pkcs11-module (e.g. /usr/lib/softhsm/libsofthsm2.so)")
        })?;
        let pin = secret(
            args.pkcs11_pin_file.as_deref(),
            PIN_CREDENTIAL,
            "PIN of the PKCS#11 token: ",
        )?
        .ok_or_else(|| {
            format!("{key_arg}: no PIN (--pkcs11-pin-file, the systemd credential {PIN_CREDENTIAL}, or a terminal)")
        })?;
        return SigningKey::from_pkcs11(module, &key_arg, &pin, signer_cert)
            .map_err(|e| format!("{key_arg}: {e}"));
    }
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let key_bytes = Zeroizing::new(read(&args.signer_key)?);
    let passphrase = if SigningKey::is_encrypted(&key_bytes) {
        secret(
            args.signer_key_passphrase_file.as_deref(),
            PASSPHRASE_CREDENTIAL,
            &format!("Passphrase for {}: ", args.signer_key.display()),
        )?
    } else {
        None
    };
    SigningKey::from_file_contents_with_passphrase(&key_bytes, passphrase.as_ref())
        .map_err(in_file(&args.signer_key))
}

/// `90`, `90s`, `30m`, `12h`, `7d`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (digits, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, ""), |i| s.split_at(i));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 90s, 30m, 12h or 7d"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use s, m, h or d)")),
    };
    n.checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long"))
}

/// What a request's answer was: `good`, `revoked` or `unknown` for a successful OCSP answer
/// (its first certificate), the OCSP error status (`unauthorized`, `malformed_request`, ...),
/// `not_modified`, or `http_NNN` for an HTTP-level refusal.
fn outcome(status: u16, body: &[u8]) -> String {
    use mailstaple_ocsp::{CertStatus, OcspResponse, ResponseStatus};
    match status {
        200 => match OcspResponse::parse(body) {
            Ok(r) => match (r.status, r.basic) {
                (ResponseStatus::Successful, Some(b)) => {
                    match b.responses.first().map(|s| &s.status) {
                        Some(CertStatus::Good) => "good".into(),
                        Some(CertStatus::Revoked { .. }) => "revoked".into(),
                        Some(_) => "unknown".into(),
                        None => "empty".into(),
                    }
                }
                (ResponseStatus::MalformedRequest, _) => "malformed_request".into(),
                (ResponseStatus::InternalError, _) => "internal_error".into(),
                (ResponseStatus::TryLater, _) => "try_later".into(),
                (ResponseStatus::SigRequired, _) => "sig_required".into(),
                (ResponseStatus::Unauthorized, _) => "unauthorized".into(),
                _ => "other".into(),
            },
            Err(_) => "unparsable".into(),
        },
        304 => "not_modified".into(),
        other => format!("http_{other}"),
    }
}

/// The responder's request observer and the metrics it feeds: requests by outcome and a
/// latency histogram.
fn respond_metrics() -> (
    mailstaple_responder::RequestObserver,
    crate::metrics::Snapshot,
) {
    use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
    let requests = prometheus_client::metrics::family::Family::<
        crate::metrics::Labels,
        prometheus_client::metrics::counter::Counter,
    >::default();
    // 50 µs to about 1.6 s.
    let latency = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
    let observer = {
        let (requests, latency) = (requests.clone(), latency.clone());
        mailstaple_responder::RequestObserver::new(move |status, body, took| {
            requests
                .get_or_create(&crate::metrics::labels(&[(
                    "outcome",
                    &outcome(status, body),
                )]))
                .inc();
            latency.observe(took.as_secs_f64());
        })
    };
    let snapshot: crate::metrics::Snapshot = Arc::new(move || {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register(
            "mailstaple_responder_requests",
            "OCSP requests answered, by outcome",
            requests.clone(),
        );
        registry.register(
            "mailstaple_responder_request_duration_seconds",
            "Time from a request's arrival to its answer",
            latency.clone(),
        );
        let mut counts = serde_json::Map::new();
        for outcome in [
            "good",
            "revoked",
            "unknown",
            "unauthorized",
            "malformed_request",
            "not_modified",
        ] {
            let n = requests
                .get_or_create(&crate::metrics::labels(&[("outcome", outcome)]))
                .get();
            counts.insert(outcome.to_owned(), n.into());
        }
        (registry, serde_json::json!({ "requests": counts }))
    });
    (observer, snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("12h").unwrap(), Duration::from_secs(43_200));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604_800));
        for bad in ["", "h", "1w", "1.5h", "-1", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
