//! Project automation for mailstaple, run as `cargo xtask <command>`.
//!
//! `cargo xtask ci` is the one definition of green: `.ci/run` executes exactly that command.
//! The other commands are pieces of it that are useful on their own, plus the fuzzing driver.
//!
//! This crate deliberately depends on no workspace library: it drives `cargo`, `git`, `apt-get`
//! and `cargo fuzz` as subprocesses and reads `cargo metadata` as JSON, so a broken library can
//! never stop the tool that reports on it from building.

mod bench;
mod ci;
mod deps;
mod dist;
mod fuzz;
mod package;
mod peers;
mod tidy;
mod util;

use std::process::ExitCode;

use anyhow::{Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci                     the one definition of green (what .ci/run runs)
                         steps: peers, fmt, clippy, test, bench-test, doc, deps, tidy, package, fuzz, dist
                         XTASK_SKIP=fuzz,peers skips steps locally (CI never sets it)
  deps                   check crate edges against the table in ARCHITECTURE.md
  dist [--check]         build the Debian package (target/dist/mailstaple_VERSION_ARCH.deb);
                         --check also lints it, installs it (or unpacks it when not root),
                         checks the command, man page, configuration and units, and purges it
  package                `cargo package` every publishable crate, then build and test
                         tests/downstream (a crate outside the workspace) against them
  tidy                   check file headers, forbid(unsafe_code), [lints], tracked target/ files
  peers                  install missing interop peers (openssl, gnutls-cli, exim, swaks, faketime)
                         and packaging tools (dpkg-dev, lintian, man-db, adduser)
  fuzz [--target T] [--seconds N] [--jobs J] [--runs N] [--sanitizer S]
                         run one or all fuzz targets for N seconds each (default 60),
                         or until N executions; sanitizer default none (all crates
                         forbid unsafe), `address` for AddressSanitizer
  bench [--report]       run the peer-comparison benchmarks and write BENCHMARKS.md
                         (--report: write it again from the last run, measuring nothing;
                         bench --help says more)
  help                   print this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let root = util::repo_root()?;
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        bail!("no command given");
    };
    let no_args = |name: &str| -> Result<()> {
        if rest.is_empty() {
            Ok(())
        } else {
            bail!("`{name}` takes no arguments, got {rest:?}\n{USAGE}")
        }
    };
    match command.as_str() {
        "ci" => {
            no_args("ci")?;
            ci::run(&root)
        }
        "deps" => {
            no_args("deps")?;
            deps::run(&root)
        }
        "dist" => match rest {
            [] => dist::run(&root, false),
            [flag] if flag == "--check" => dist::run(&root, true),
            _ => bail!("`dist` takes only --check, got {rest:?}\n{USAGE}"),
        },
        "package" => {
            no_args("package")?;
            package::run(&root)
        }
        "tidy" => {
            no_args("tidy")?;
            tidy::run(&root)
        }
        "peers" => {
            no_args("peers")?;
            peers::ensure().map(|_| ())
        }
        "fuzz" => {
            let options = fuzz::Options::parse(rest)?;
            fuzz::campaign(&root, &options)
        }
        "bench" => match rest {
            [] => bench::run(&root, false),
            [flag] if flag == "--report" => bench::run(&root, true),
            [flag] if flag == "--help" || flag == "-h" => {
                print!("{}", bench::HELP);
                Ok(())
            }
            _ => bail!("`bench` takes only --report, got {rest:?}\n{USAGE}"),
        },
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command `{other}`\n{USAGE}"),
    }
}
