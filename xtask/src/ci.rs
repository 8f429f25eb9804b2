//! `cargo xtask ci`: the one definition of green, run by `.ci/run`.
//!
//! Steps run in order and stop at the first failure; each prints a header and its duration.
//! `XTASK_SKIP=fuzz,peers` (a comma list of step names) skips steps for local runs; CI never
//! sets it.
//! When the `peers` step has run, the test steps get `MAILSTAPLE_REQUIRE_PEERS=1`, so an
//! interop test fails instead of skipping when its peer is missing.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use crate::{deps, dist, fuzz, package, peers, tidy, util};

/// Environment variable naming steps to skip.
const SKIP_VAR: &str = "XTASK_SKIP";

struct Step {
    name: &'static str,
    about: &'static str,
    run: fn(&mut Ctx) -> Result<()>,
}

struct Ctx {
    root: PathBuf,
    require_peers: bool,
}

impl Ctx {
    fn cargo(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("cargo");
        cmd.args(args).current_dir(&self.root);
        cmd
    }

    /// A cargo command for the test steps, which need the peers when they were installed.
    fn cargo_test(&self, args: &[&str]) -> Command {
        let mut cmd = self.cargo(args);
        if self.require_peers {
            cmd.env(peers::REQUIRE_PEERS_VAR, "1");
        }
        cmd
    }
}

const STEPS: &[Step] = &[
    Step {
        name: "peers",
        about: "interop peers and packaging tools installed",
        run: |ctx| {
            peers::ensure()?;
            ctx.require_peers = true;
            Ok(())
        },
    },
    Step {
        name: "fmt",
        about: "formatting, fuzz workspace included",
        run: |ctx| {
            util::run(&mut ctx.cargo(&["fmt", "--all", "--", "--check"]))?;
            // The fuzz workspace is excluded from the root one, so it is checked on its own.
            // Without `--all`, which would also format its path dependencies, our crates.
            util::run(&mut ctx.cargo(&[
                "fmt",
                "--manifest-path",
                "fuzz/Cargo.toml",
                "--",
                "--check",
            ]))
        },
    },
    Step {
        name: "clippy",
        about: "lints, warnings denied, all targets",
        run: |ctx| {
            util::run(&mut ctx.cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ]))
        },
    },
    Step {
        name: "test",
        about: "every test, interop included",
        run: |ctx| util::run(&mut ctx.cargo_test(&["test", "--workspace", "--locked"])),
    },
    Step {
        name: "bench-test",
        about: "benches compiled and run once in test mode, not timed",
        run: |ctx| {
            util::run(&mut ctx.cargo_test(&["test", "--workspace", "--benches", "--locked"]))
        },
    },
    Step {
        name: "doc",
        about: "API docs, warnings denied",
        run: |ctx| {
            util::run(
                ctx.cargo(&["doc", "--workspace", "--no-deps", "--locked"])
                    .env("RUSTDOCFLAGS", "-D warnings"),
            )
        },
    },
    Step {
        name: "deps",
        about: "crate edges match ARCHITECTURE.md's dependency table",
        run: |ctx| deps::run(&ctx.root),
    },
    Step {
        name: "tidy",
        about: "file headers, forbid(unsafe_code), workspace lints, no tracked build output",
        run: |ctx| tidy::run(&ctx.root),
    },
    Step {
        name: "package",
        about: "publishable crates packaged; tests/downstream built and tested against them",
        run: |ctx| package::run(&ctx.root),
    },
    Step {
        name: "fuzz",
        about: "fuzz targets built and smoke-run from their seeds",
        run: |ctx| fuzz::smoke(&ctx.root),
    },
    Step {
        name: "dist",
        about: "Debian package built, linted, installed, checked and purged",
        run: |ctx| dist::run(&ctx.root, true),
    },
];

pub(crate) fn run(root: &Path) -> Result<()> {
    let skip = skipped(std::env::var(SKIP_VAR).ok().as_deref())?;
    if !skip.is_empty() {
        println!(
            "xtask ci: {SKIP_VAR} skips {}; this is not a full CI run",
            skip.join(", ")
        );
    }
    let mut ctx = Ctx {
        root: root.to_path_buf(),
        require_peers: false,
    };
    let total = STEPS.len();
    let mut times: Vec<(&str, Option<Duration>)> = Vec::new();
    let started = Instant::now();
    for (index, step) in STEPS.iter().enumerate() {
        let number = index + 1;
        if skip.contains(&step.name) {
            println!(
                "\n==> [{number}/{total}] {}: skipped ({SKIP_VAR})",
                step.name
            );
            times.push((step.name, None));
            continue;
        }
        println!("\n==> [{number}/{total}] {}: {}", step.name, step.about);
        let step_started = Instant::now();
        (step.run)(&mut ctx).with_context(|| {
            format!(
                "ci step {number}/{total} `{}` failed after {:.0} s",
                step.name,
                step_started.elapsed().as_secs_f64()
            )
        })?;
        let took = step_started.elapsed();
        println!("<== {} ok ({:.1} s)", step.name, took.as_secs_f64());
        times.push((step.name, Some(took)));
    }

    println!("\nxtask ci summary:");
    for (name, took) in &times {
        match took {
            Some(took) => println!("  {name:<11} {:>7.1} s", took.as_secs_f64()),
            None => println!("  {name:<11} skipped"),
        }
    }
    println!(
        "xtask ci: green in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// Parses `XTASK_SKIP`, refusing names that are not steps so a typo cannot skip nothing.
fn skipped(value: Option<&str>) -> Result<Vec<&'static str>> {
    let mut skip = Vec::new();
    for name in value.unwrap_or_default().split(',').map(str::trim) {
        if name.is_empty() {
            continue;
        }
        let Some(step) = STEPS.iter().find(|step| step.name == name) else {
            let names: Vec<&str> = STEPS.iter().map(|step| step.name).collect();
            bail!(
                "{SKIP_VAR} names `{name}`, which is not a step; steps are: {}",
                names.join(", ")
            );
        };
        skip.push(step.name);
    }
    Ok(skip)
}

#[cfg(test)]
mod tests;
