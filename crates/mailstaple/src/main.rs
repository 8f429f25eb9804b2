//! `mailstaple`: OCSP stapling for mail transport, from the command line.
//!
//! A thin composer over the workspace crates; this is the only place where files are read, the
//! wall clock is consulted and process exit codes are chosen.

#![forbid(unsafe_code)]

mod demo;
mod fetch_cmd;
mod hostlist_cmd;
mod input;
mod ocsp_cmd;
mod respond_cmd;
mod send_cmd;

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
    /// Show the OCSP core at work on an embedded default (no network, no files needed).
    Demo(demo::DemoArgs),
    /// Fetch, verify and atomically install OCSP proofs (one-shot, check, daemon).
    Fetch(fetch_cmd::FetchArgs),
    /// Inspect, verify and request OCSP responses.
    #[command(subcommand)]
    Ocsp(ocsp_cmd::OcspCmd),
    /// Answer OCSP requests (RFC 6960 / RFC 5019) from an OpenSSL `ca` index.
    Respond(respond_cmd::RespondArgs),
    /// Deliver one message to one host, requesting or requiring an OCSP staple.
    Send(send_cmd::SendArgs),
    /// Evaluate Exim host lists.
    #[command(subcommand)]
    Hostlist(hostlist_cmd::HostlistCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.cmd {
        Cmd::Demo(a) => demo::run(a),
        Cmd::Fetch(a) => fetch_cmd::run(a),
        Cmd::Ocsp(c) => ocsp_cmd::run(c),
        Cmd::Respond(a) => respond_cmd::run(a),
        Cmd::Hostlist(c) => hostlist_cmd::run(c),
        Cmd::Send(a) => send_cmd::run(a),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Reports an unreadable input or other usage problem; exit code 2.
pub(crate) fn usage_error(e: &anyhow::Error) -> i32 {
    eprintln!("mailstaple: {e:#}");
    2
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
