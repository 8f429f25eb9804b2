//! `cargo xtask fuzz` and CI's fuzz smoke step, both driving `cargo fuzz` in `fuzz/`.
//!
//! Targets are the files `fuzz/fuzz_targets/*.rs`; each is a shim over a crate's `fuzzing`
//! module.
//! Seeds are committed as `fuzz/corpus/<target>/seed-*`; everything else a campaign adds to the
//! corpus is git-ignored.
//! CI checks the seeds with `fuzz/examples/make_seeds.rs --check`, builds every target, copies
//! the seeds to a scratch directory and runs each target there for a few seconds, so it never
//! writes into the committed corpus.
//! A campaign runs in the real corpus, and afterwards each crash artifact is minimised with
//! `cargo fuzz tmin` and copied to `tests/data/fuzz-regressions/<target>/`, where an ordinary
//! test replays it.

use std::{
    collections::BTreeSet,
    fs,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, ExitStatus, Stdio},
    time::Instant,
};

use anyhow::{Context, Result, bail};

use crate::util;

/// libFuzzer options for CI's smoke run: a few seconds per target from the seeds.
const SMOKE_ARGS: &[&str] = &["-max_total_time=5", "-timeout=5", "-rss_limit_mb=2048"];

/// Per-input timeout for campaigns, always passed.
const CAMPAIGN_TIMEOUT: &str = "-timeout=10";

/// Sanitizers `cargo fuzz` can build with.
const SANITIZERS: &[&str] = &["none", "address", "leak", "memory", "thread"];

/// Artifact name prefixes libFuzzer uses for failing inputs.
const FAILURE_PREFIXES: &[&str] = &["crash-", "leak-", "oom-", "timeout-", "slow-unit-"];

/// Options of `cargo xtask fuzz`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) target: Option<String>,
    pub(crate) seconds: u64,
    pub(crate) jobs: u32,
    /// Stop each target after this many executions (libFuzzer's `-runs`), if given; the time
    /// limit still applies.
    pub(crate) runs: Option<u64>,
    /// The sanitizer campaigns build with. Default `none`: every mailstaple crate forbids
    /// `unsafe`, and `cargo fuzz` does not instrument C dependencies (aws-lc) either, so
    /// AddressSanitizer mostly costs throughput (3-5x here); `address` is one flag away, and CI's
    /// smoke run keeps cargo-fuzz's default (address).
    pub(crate) sanitizer: String,
}

impl Options {
    /// Parses `[--target T] [--seconds N] [--jobs J] [--runs N] [--sanitizer S]`, each also as
    /// `--flag=value`.
    pub(crate) fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options {
            target: None,
            seconds: 60,
            jobs: 1,
            runs: None,
            sanitizer: "none".to_owned(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            let mut value = || -> Result<String> {
                match inline.clone().or_else(|| args.next().cloned()) {
                    Some(value) if !value.is_empty() => Ok(value),
                    _ => bail!("`{flag}` needs a value"),
                }
            };
            match flag {
                "--target" => options.target = Some(value()?),
                "--seconds" => {
                    let value = value()?;
                    options.seconds =
                        value.parse().ok().filter(|&n| n > 0).with_context(|| {
                            format!("`--seconds {value}`: want a positive number")
                        })?;
                }
                "--jobs" => {
                    let value = value()?;
                    options.jobs = value
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .with_context(|| format!("`--jobs {value}`: want a positive number"))?;
                }
                "--runs" => {
                    let value = value()?;
                    options.runs =
                        Some(value.parse().ok().filter(|&n| n > 0).with_context(|| {
                            format!("`--runs {value}`: want a positive number")
                        })?);
                }
                "--sanitizer" => {
                    let value = value()?;
                    if !SANITIZERS.contains(&value.as_str()) {
                        bail!(
                            "`--sanitizer {value}`: want one of {}",
                            SANITIZERS.join(", ")
                        );
                    }
                    options.sanitizer = value;
                }
                _ => bail!(
                    "unknown fuzz option `{arg}`; usage: cargo xtask fuzz [--target T] [--seconds N] [--jobs J] [--runs N] [--sanitizer S]"
                ),
            }
        }
        Ok(options)
    }
}

/// What libFuzzer reported last: executions, and coverage when it said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stats {
    pub(crate) execs: u64,
    pub(crate) cov: Option<u64>,
    pub(crate) ft: Option<u64>,
    /// Whether this came from the final `DONE` line rather than a status line.
    pub(crate) done: bool,
}

impl Stats {
    /// Parses a libFuzzer status line such as `#123 DONE cov: 45 ft: 67 corp: ...`,
    /// `#4096 pulse cov: ...` or, in fork mode, `#9000: cov: 45 ft: 67 ...`.
    /// Sanitizer stack frames (`#3 0x55d0 in main`) and other text are not status lines.
    pub(crate) fn parse_line(line: &str) -> Option<Stats> {
        const EVENTS: &[&str] = &["INITED", "NEW", "REDUCE", "pulse", "DONE", "RELOAD"];
        let rest = line.trim().strip_prefix('#')?;
        let mut words = rest.split_whitespace().peekable();
        let first = words.next()?;
        let fork_mode = first.ends_with(':');
        let execs = first.trim_end_matches(':').parse().ok()?;
        let event = words.peek().copied().unwrap_or_default();
        if !(EVENTS.contains(&event) || fork_mode && event == "cov:") {
            return None;
        }
        let mut stats = Stats {
            execs,
            cov: None,
            ft: None,
            done: event == "DONE",
        };
        let mut previous = "";
        for word in words {
            match previous {
                "cov:" => stats.cov = word.parse().ok(),
                "ft:" => stats.ft = word.parse().ok(),
                _ => {}
            }
            previous = word;
        }
        Some(stats)
    }

    /// The better of two reports: a `DONE` line wins, then the later line.
    fn merge(current: Option<Stats>, next: Stats) -> Stats {
        match current {
            Some(current) if current.done && !next.done => current,
            _ => next,
        }
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |n: Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
        write!(
            f,
            "{} executions, cov {}, ft {}",
            self.execs,
            show(self.cov),
            show(self.ft)
        )
    }
}

/// CI's fuzz step: build every target, then run each for a few seconds from its seeds.
pub(crate) fn smoke(root: &Path) -> Result<()> {
    let fuzz = Fuzz::prepare(root)?;
    let targets = fuzz.targets()?;
    // The committed seeds still get the verdicts they were made for (see make_seeds.rs).
    util::run(
        Command::new("cargo")
            .args([
                "run",
                "--locked",
                "--quiet",
                "--example",
                "make_seeds",
                "--",
                "--check",
            ])
            .current_dir(&fuzz.dir),
    )?;
    util::run(&mut fuzz.command("build"))?;

    let scratch =
        std::env::temp_dir().join(format!("mailstaple-fuzz-smoke-{}", std::process::id()));
    let result = (|| -> Result<()> {
        for target in &targets {
            let seeds = fuzz.seeds(target)?;
            let corpus = scratch.join(target);
            fs::create_dir_all(&corpus)
                .with_context(|| format!("cannot create {}", corpus.display()))?;
            for seed in &seeds {
                let name = seed.file_name().context("seed without a file name")?;
                fs::copy(seed, corpus.join(name))
                    .with_context(|| format!("cannot copy {}", seed.display()))?;
            }
            let mut cmd = fuzz.command("run");
            cmd.arg(target).arg(&corpus).arg("--").args(SMOKE_ARGS);
            let started = Instant::now();
            let (status, stats) = run_libfuzzer(&mut cmd, Echo::OnFailure)?;
            let ran = stats.is_some_and(|stats| stats.execs > 0);
            let stats = stats.map_or_else(|| "no statistics printed".to_owned(), |s| s.to_string());
            if !status.success() {
                bail!(
                    "fuzz target `{target}` failed its smoke run ({status}; {stats}); the failing input is in {}; `cargo xtask fuzz --target {target}` minimises it into tests/data/fuzz-regressions/{target}/",
                    fuzz.artifacts(target).display()
                );
            }
            if !ran {
                bail!("fuzz target `{target}` exited without running any input ({stats})");
            }
            println!(
                "fuzz: {target}: {} seeds, {stats} in {:.1} s",
                seeds.len(),
                started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    })();
    let _ = fs::remove_dir_all(&scratch);
    result
}

/// `cargo xtask fuzz`: run one or all targets in their real corpus, then collect crashes.
pub(crate) fn campaign(root: &Path, options: &Options) -> Result<()> {
    let mut fuzz = Fuzz::prepare(root)?;
    fuzz.sanitizer = Some(options.sanitizer.clone());
    let all = fuzz.targets()?;
    let targets = match &options.target {
        Some(target) if all.contains(target) => vec![target.clone()],
        Some(target) => bail!("no fuzz target `{target}`; there are: {}", all.join(", ")),
        None => all,
    };

    let mut summary = Vec::new();
    let mut failures = Vec::new();
    for target in &targets {
        let corpus = fuzz.dir.join("corpus").join(target);
        fs::create_dir_all(&corpus)
            .with_context(|| format!("cannot create {}", corpus.display()))?;
        let mut cmd = fuzz.command("run");
        cmd.arg(target)
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={}", options.seconds))
            .arg(CAMPAIGN_TIMEOUT);
        if options.jobs > 1 {
            cmd.arg(format!("-fork={}", options.jobs));
        }
        if let Some(runs) = options.runs {
            cmd.arg(format!("-runs={runs}"));
        }
        let (status, stats) = run_libfuzzer(&mut cmd, Echo::Always)?;
        let stats = stats.map_or_else(|| "no statistics printed".to_owned(), |s| s.to_string());
        summary.push(format!("{target}: {stats} ({status})"));
        let artifacts = fuzz.collect_regressions(root, target)?;
        if !status.success() || !artifacts.is_empty() {
            failures.push(target.clone());
        }
    }

    let limit = match options.runs {
        Some(runs) => format!("{runs} executions or {} s", options.seconds),
        None => format!("{} s", options.seconds),
    };
    println!(
        "\nfuzz summary ({limit} per target, sanitizer {}):",
        options.sanitizer
    );
    for line in &summary {
        println!("  {line}");
    }
    if !failures.is_empty() {
        bail!(
            "fuzzing found failing inputs in: {}; commit the regression files listed above and fix the bugs",
            failures.join(", ")
        );
    }
    Ok(())
}

/// The fuzz workspace and the toolchain that builds it.
struct Fuzz {
    dir: PathBuf,
    nightly: bool,
    /// A sanitizer other than cargo-fuzz's default; each gets its own target directory so that
    /// switching does not rebuild the other's.
    sanitizer: Option<String>,
}

impl Fuzz {
    /// Checks the toolchain and installs cargo-fuzz when it is missing.
    fn prepare(root: &Path) -> Result<Fuzz> {
        let dir = root.join("fuzz");
        if !dir.join("Cargo.toml").is_file() {
            bail!("no fuzz workspace at {}", dir.display());
        }
        let nightly = match util::probe(Command::new("cargo").args(["+nightly", "--version"])) {
            Some(version) => {
                println!("fuzz: using {}", version.trim());
                true
            }
            None => {
                println!(
                    "fuzz: no nightly toolchain (`cargo +nightly --version` failed); using the default toolchain with RUSTC_BOOTSTRAP=1"
                );
                false
            }
        };
        if util::probe(Command::new("cargo").args(["fuzz", "--version"])).is_none() {
            println!("fuzz: cargo-fuzz is not installed; installing it");
            util::run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
        }
        Ok(Fuzz {
            dir,
            nightly,
            sanitizer: None,
        })
    }

    /// `cargo [+nightly] fuzz <subcommand>`, run inside `fuzz/`.
    fn command(&self, subcommand: &str) -> Command {
        let mut cmd = Command::new("cargo");
        if self.nightly {
            cmd.arg("+nightly");
        } else {
            cmd.env("RUSTC_BOOTSTRAP", "1");
        }
        cmd.args(["fuzz", subcommand]).current_dir(&self.dir);
        if let Some(sanitizer) = self.sanitizer.as_deref().filter(|s| *s != "address") {
            cmd.args(["--sanitizer", sanitizer]);
            cmd.arg("--target-dir")
                .arg(Path::new("target").join(format!("sanitizer-{sanitizer}")));
        }
        cmd
    }

    /// Target names: the stems of `fuzz/fuzz_targets/*.rs`.
    fn targets(&self) -> Result<Vec<String>> {
        let dir = self.dir.join("fuzz_targets");
        let mut targets = Vec::new();
        for entry in fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".rs") {
                targets.push(stem.to_owned());
            }
        }
        if targets.is_empty() {
            bail!("no fuzz targets in {}", dir.display());
        }
        targets.sort();
        Ok(targets)
    }

    /// The committed `seed-*` files of a target; at least one is required.
    fn seeds(&self, target: &str) -> Result<Vec<PathBuf>> {
        let dir = self.dir.join("corpus").join(target);
        let seeds = files_with_prefix(&dir, &["seed-"])?;
        if seeds.is_empty() {
            bail!(
                "fuzz target `{target}` has no committed seeds: add {}/seed-* files",
                dir.display()
            );
        }
        Ok(seeds)
    }

    fn artifacts(&self, target: &str) -> PathBuf {
        self.dir.join("artifacts").join(target)
    }

    /// Lists failing inputs of `target`, minimising and copying each new one to
    /// `tests/data/fuzz-regressions/<target>/`. Returns the artifacts that were not yet there.
    fn collect_regressions(&self, root: &Path, target: &str) -> Result<Vec<PathBuf>> {
        let artifacts_dir = self.artifacts(target);
        let regressions = root
            .join("tests")
            .join("data")
            .join("fuzz-regressions")
            .join(target);
        let mut new = Vec::new();
        for artifact in files_with_prefix(&artifacts_dir, FAILURE_PREFIXES)? {
            let name = artifact
                .file_name()
                .context("artifact without a file name")?;
            let destination = regressions.join(name);
            if destination.exists() {
                println!(
                    "fuzz: {} is already recorded as {}",
                    artifact.display(),
                    destination.display()
                );
                continue;
            }
            println!(
                "fuzz: failing input {}\n      its minimised copy belongs in {}",
                artifact.display(),
                destination.display()
            );
            let source = self
                .minimise(target, &artifact)?
                .unwrap_or(artifact.clone());
            fs::create_dir_all(&regressions)
                .with_context(|| format!("cannot create {}", regressions.display()))?;
            fs::copy(&source, &destination).with_context(|| {
                format!(
                    "cannot copy {} to {}",
                    source.display(),
                    destination.display()
                )
            })?;
            println!(
                "fuzz: copied {} ({} bytes) to {}",
                source.display(),
                fs::metadata(&destination).map(|m| m.len()).unwrap_or(0),
                destination.display()
            );
            new.push(artifact);
        }
        Ok(new)
    }

    /// Runs `cargo fuzz tmin` on a crash and returns the minimised file it wrote, if any.
    fn minimise(&self, target: &str, artifact: &Path) -> Result<Option<PathBuf>> {
        let name = artifact
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !(name.starts_with("crash-") || name.starts_with("leak-")) {
            return Ok(None);
        }
        let dir = self.artifacts(target);
        let before: BTreeSet<PathBuf> = files_with_prefix(&dir, &["minimized-from-"])?
            .into_iter()
            .collect();
        let mut cmd = self.command("tmin");
        cmd.arg(target)
            .arg(artifact)
            .arg("--")
            .arg(CAMPAIGN_TIMEOUT);
        if let Err(err) = util::run(&mut cmd) {
            println!("fuzz: could not minimise {name} ({err:#}); keeping it as found");
            return Ok(None);
        }
        let newest = files_with_prefix(&dir, &["minimized-from-"])?
            .into_iter()
            .filter(|path| !before.contains(path))
            .max_by_key(|path| fs::metadata(path).and_then(|m| m.modified()).ok());
        Ok(newest)
    }
}

/// Regular files in `dir` whose names start with one of `prefixes`, sorted; none if no `dir`.
fn files_with_prefix(dir: &Path, prefixes: &[&str]) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_file() && prefixes.iter().any(|p| name.starts_with(p)) {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Echo {
    Always,
    OnFailure,
}

/// Runs a libFuzzer process, reading its standard error for statistics.
fn run_libfuzzer(cmd: &mut Command, echo: Echo) -> Result<(ExitStatus, Option<Stats>)> {
    let shown = util::display(cmd);
    eprintln!("$ {shown}");
    let mut child = cmd
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let stderr = child.stderr.take().context("no stderr pipe")?;
    let mut reader = BufReader::new(stderr);
    let mut stats = None;
    let mut kept = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = reader
            .read_until(b'\n', &mut buf)
            .context("cannot read the fuzzer's output")?;
        if read == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end();
        if let Some(next) = Stats::parse_line(line) {
            stats = Some(Stats::merge(stats, next));
        }
        match echo {
            Echo::Always => eprintln!("{line}"),
            Echo::OnFailure => kept.push(line.to_owned()),
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("`{shown}` vanished"))?;
    if echo == Echo::OnFailure && !status.success() {
        for line in &kept {
            eprintln!("{line}");
        }
    }
    Ok((status, stats))
}

#[cfg(test)]
mod tests;
