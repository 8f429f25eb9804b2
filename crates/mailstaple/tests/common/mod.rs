//! Helpers shared by the binary's integration tests: running `mailstaple serve` as a child, and
//! the common part of a `mailstaple send` command line.

// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use mailstaple_testpki::NOW;

/// A running `mailstaple serve`; stopped with SIGTERM when dropped.
pub(crate) struct Serve {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub(crate) port: u16,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// Starts `mailstaple serve ARGS` and waits for its `listening on smtp://127.0.0.1:PORT/` line.
pub(crate) fn serve_with<I, S>(args: I) -> Serve
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailstaple"))
        .arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .trim_start_matches("listening on smtp://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|_| panic!("{line:?}"));
    Serve { child, port }
}

/// `mailstaple serve` on 127.0.0.1 for the test PKI written to `dir` (chain.pem, leaf.key), with
/// the spool `dir/spool`, the proof file `dir/<ocsp>` if given, and the clock at the PKI's NOW.
pub(crate) fn serve(dir: &Path, ocsp: Option<&str>) -> Serve {
    let mut args: Vec<std::ffi::OsString> = vec![
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--hostname".into(),
        "mail.example.test".into(),
        "--spool".into(),
        dir.join("spool").into(),
        "--tls-certificate".into(),
        dir.join("chain.pem").into(),
        "--tls-privatekey".into(),
        dir.join("leaf.key").into(),
        "--now".into(),
        NOW.to_string().into(),
    ];
    if let Some(f) = ocsp {
        args.push("--tls-ocsp-file".into());
        args.push(dir.join(f).into());
    }
    serve_with(args)
}

/// `mailstaple send` from a@x.test to b@y.test for `mail.example.test` at 127.0.0.1:`port`,
/// judged at the test PKI's `NOW`; the caller adds its own options and the message file.
pub(crate) fn send_command(port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailstaple"));
    cmd.args([
        "send",
        "--host",
        "mail.example.test",
        "--address",
        "127.0.0.1",
    ])
    .args(["--port", &port.to_string()])
    .args(["--from", "a@x.test", "--to", "b@y.test"])
    .args(["--now", &NOW.to_string()]);
    cmd
}
