//! `mailstaple`: OCSP stapling for mail transport, from the command line.
//!
//! A thin composer over the workspace crates; this is the only place where files are read, the
//! wall clock is consulted and process exit codes are chosen.

#![forbid(unsafe_code)]

mod config;
mod config_cmd;
mod demo;
mod fetch_cmd;
mod generate_cmd;
mod hostlist_cmd;
mod input;
mod metrics;
mod ocsp_cmd;
mod probe_cmd;
mod respond_cmd;
mod send_cmd;
mod serve_cmd;

use std::process::ExitCode;

use clap::Parser;

/// OCSP stapling for mail transport, as Exim documents it, done right.
#[derive(Parser, Debug)]
#[command(name = "mailstaple", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand, Debug)]
enum Cmd {
    /// Check the TOML configuration file that serve, send, fetch --daemon and respond read.
    #[command(subcommand)]
    Config(config_cmd::ConfigCmd),
    /// Run the whole story over loopback: test PKI, OCSP responder, fetcher, stapling SMTP
    /// server, a client requiring the staple; then revoke, refetch and see delivery deferred.
    Demo(demo::DemoArgs),
    /// Fetch, verify and atomically install OCSP proofs (one-shot, check, daemon).
    Fetch(fetch_cmd::FetchArgs),
    /// Inspect, verify and request OCSP responses.
    #[command(subcommand)]
    Ocsp(ocsp_cmd::OcspCmd),
    // The about line and the long help come from `ProbeArgs`' documentation.
    Probe(probe_cmd::ProbeArgs),
    /// Answer OCSP requests (RFC 6960 / RFC 5019) from an OpenSSL `ca` index.
    Respond(respond_cmd::RespondArgs),
    /// Deliver one message to one host, requesting or requiring an OCSP staple.
    Send(send_cmd::SendArgs),
    /// Receive mail over SMTP, stapling verified OCSP proofs in STARTTLS.
    Serve(serve_cmd::ServeArgs),
    /// Evaluate Exim host lists.
    #[command(subcommand)]
    Hostlist(hostlist_cmd::HostlistCmd),
    /// Write the man pages or print a shell completion script (for packagers).
    #[command(hide = true)]
    Generate(generate_cmd::GenerateArgs),
}

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let cli = Cli::parse();
    let code = match cli.cmd {
        Cmd::Config(c) => config_cmd::run(c),
        Cmd::Demo(a) => demo::run(a),
        Cmd::Fetch(a) => fetch_cmd::run(a),
        Cmd::Ocsp(c) => ocsp_cmd::run(c),
        Cmd::Probe(a) => probe_cmd::run(a),
        Cmd::Respond(a) => respond_cmd::run(a),
        Cmd::Hostlist(c) => hostlist_cmd::run(c),
        Cmd::Send(a) => send_cmd::run(a),
        Cmd::Serve(a) => serve_cmd::run(a),
        Cmd::Generate(a) => generate_cmd::run(a),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Reports an unreadable input or other usage problem; exit code 2. A write to a standard
/// output whose reader went away ends quietly instead, with 0 (see [`quiet_on_broken_pipe`]).
pub(crate) fn usage_error(e: &anyhow::Error) -> i32 {
    if e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    }) {
        return 0;
    }
    eprintln!("mailstaple: {e:#}");
    2
}

/// The one place that handles a reader going away (`mailstaple ocsp inspect big.der | head -1`),
/// for every command: as in ripgrep, the process ends quietly with 0 instead of printing a panic
/// and a backtrace. Rust ignores SIGPIPE, so a closed pipe surfaces as an `EPIPE` write error;
/// `println!` turns that into a panic with a fixed message, recognised here, while every other
/// panic keeps the default report. Resetting SIGPIPE instead would need `unsafe`, which the
/// workspace forbids.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        let broken_pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe).to_string();
        let os_broken_pipe = std::io::Error::from_raw_os_error(32).to_string();
        if message.starts_with("failed printing to std")
            && (message.contains(&broken_pipe) || message.contains(&os_broken_pipe))
        {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// `N` bytes from the operating system's random source.
pub(crate) fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    use std::io::Read as _;
    let mut buf = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| anyhow::anyhow!("cannot read /dev/urandom: {e}"))?;
    Ok(buf)
}

/// Log records of level info and above go to standard error as `mailstaple CMD: level: text`.
struct StderrLogger(std::sync::OnceLock<&'static str>);

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        use std::io::Write as _;
        if self.enabled(record.metadata()) {
            // A log line that cannot be written (the terminal closed: EIO) is dropped; eprintln!
            // would panic, and a daemon whose terminal went away could then no longer be
            // stopped (the panic ended its signal task before the shutdown).
            let _ = writeln!(
                std::io::stderr().lock(),
                "mailstaple {}: {}: {}",
                self.0.get().copied().unwrap_or("-"),
                record.level().as_str().to_ascii_lowercase(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

/// Sends `log` records to standard error, prefixed with the command's name.
pub(crate) fn init_logging(command: &'static str) {
    static LOGGER: StderrLogger = StderrLogger(std::sync::OnceLock::new());
    let _ = LOGGER.0.set(command);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}
