//! `cargo xtask bench`: run the criterion benchmarks that compare mailstaple with its peers and
//! write `BENCHMARKS.md` with the ratios, the machine and the date.
//!
//! Criterion leaves one `new/benchmark.json` (group and function names) and one
//! `new/estimates.json` (the estimates, in nanoseconds) per benchmark under `target/criterion`;
//! this reads them back after the run, so the report holds exactly what was measured.
//! The results benches print themselves (the paired handshake throughput, the fetcher's run) are
//! kept beside them in `target/criterion/xtask-bench-run.json`, with the run's date, so that
//! `--report` rewrites the report from the last run without losing them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use crate::util;

/// The benchmarks `cargo xtask bench` runs: (package, bench target). A package whose bench
/// target does not exist is skipped with a note, so the list can name crates still to come.
const BENCHES: &[(&str, &str)] = &[
    ("mailstaple-bench", "peers"),
    ("mailstaple-hostlist", "match"),
    ("mailstaple-server", "handshake"),
    ("mailstaple-responder", "respond"),
    ("mailstaple-responder", "presign"),
    ("mailstaple-fetch", "refresh"),
];

/// `cargo xtask bench --help`.
pub(crate) const HELP: &str = "\
usage: cargo xtask bench [--report]

Runs the criterion benchmarks that compare mailstaple with its peers (a few minutes; timed, so
run it on a quiet machine) and writes BENCHMARKS.md: one table per comparison, the results the
benches print themselves (paired handshake throughput, the fetcher's run), the machine and date.

  --report   write BENCHMARKS.md again from the last run (target/criterion and the run's
             record beside it) without measuring anything
";

/// The run's record beside criterion's files: its date and its notes.
const RUN_RECORD: &str = "xtask-bench-run.json";

/// One measured benchmark.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Measure {
    pub(crate) group: String,
    pub(crate) function: String,
    /// Mean time per iteration, nanoseconds.
    pub(crate) mean_ns: f64,
}

pub(crate) fn run(root: &Path, report_only: bool) -> Result<()> {
    let criterion = root.join("target/criterion");
    if report_only {
        let (date, notes) = last_run(root, &criterion)?;
        return write_report(root, &criterion, &date, &notes);
    }
    if criterion.exists() {
        std::fs::remove_dir_all(&criterion).context("cannot clear old criterion results")?;
    }
    let date = today()?;
    let mut notes = Vec::new();
    for (package, bench) in BENCHES {
        let manifest = root
            .join("crates")
            .join(package)
            .join("benches")
            .join(format!("{bench}.rs"));
        if !manifest.exists() {
            notes.push(format!(
                "`{package}` has no `{bench}` benchmark yet: not run."
            ));
            continue;
        }
        eprintln!("bench: {package} / {bench}");
        let printed = util::capture(Command::new("cargo").current_dir(root).args([
            "bench",
            "--locked",
            "-p",
            package,
            "--bench",
            bench,
            "--",
            "--warm-up-time",
            "1",
            "--measurement-time",
            "3",
        ]))?;
        print!("{printed}");
        notes.extend(printed_results(&printed));
        // After each bench, so that an interrupted run keeps what it measured.
        save_run(&criterion, &date, &notes)?;
    }
    write_report(root, &criterion, &date, &notes)
}

/// The heading of the section `tests/fleet_bench.rs`'s run fills, which a report keeps.
const FLEET_SECTION: &str = "\n## Fleet: ";

/// Writes the run's record (date and notes) beside criterion's files.
fn save_run(criterion: &Path, date: &str, notes: &[String]) -> Result<()> {
    std::fs::create_dir_all(criterion)
        .with_context(|| format!("cannot create {}", criterion.display()))?;
    let path = criterion.join(RUN_RECORD);
    let record = serde_json::json!({ "date": date, "notes": notes });
    std::fs::write(&path, format!("{record:#}\n"))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The date and notes of the run whose criterion files `--report` reads: its record, or, for a
/// run made before records were kept, the date of its files and the printed results of the
/// report it wrote then.
fn last_run(root: &Path, criterion: &Path) -> Result<(String, Vec<String>)> {
    let path = criterion.join(RUN_RECORD);
    match std::fs::read_to_string(&path) {
        Ok(text) => read_run(&text).with_context(|| format!("{}", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let report = root.join("BENCHMARKS.md");
            let previous = std::fs::read_to_string(&report).unwrap_or_default();
            eprintln!(
                "bench: no {} (the run predates it); keeping the printed results of {}",
                path.display(),
                report.display()
            );
            Ok((file_date(criterion)?, previous_notes(&previous)))
        }
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Parses a run record written by [`save_run`].
pub(crate) fn read_run(text: &str) -> Result<(String, Vec<String>)> {
    let record: Value = serde_json::from_str(text)?;
    let Some(date) = record.get("date").and_then(Value::as_str) else {
        bail!("no date in the run record");
    };
    let Some(notes) = record.get("notes").and_then(Value::as_array) else {
        bail!("no notes in the run record");
    };
    let notes = notes
        .iter()
        .map(|n| n.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .context("a note in the run record is not text")?;
    Ok((date.to_owned(), notes))
}

/// The printed results listed in a report written by [`render`] (its `- ` lines above the first
/// table).
pub(crate) fn previous_notes(report: &str) -> Vec<String> {
    let head = report.split("\n## ").next().unwrap_or_default();
    let listed: String = head
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .map(|l| format!("{l}\n"))
        .collect();
    printed_results(&listed)
}

/// Lines a bench prints with results that criterion does not time: the paired handshake
/// throughput (`paired ...`), the fetcher's run (`refresh: ...`) and the responder's signing
/// ahead (`presign: ...`). They go into the report
/// as notes, so it holds every number the benches measured.
pub(crate) fn printed_results(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("paired ") || l.starts_with("refresh: ") || l.starts_with("presign: ")
        })
        .map(str::to_owned)
        .collect()
}

fn write_report(root: &Path, criterion: &Path, date: &str, notes: &[String]) -> Result<()> {
    let measures = collect(criterion)?;
    if measures.is_empty() {
        bail!("no criterion results under {}", criterion.display());
    }
    let mut report = render(&measures, &machine(), date, notes);
    // The fleet's section comes from its own run (`tests/fleet_bench.rs`, processes and Redis,
    // not criterion): kept as it is.
    let previous = std::fs::read_to_string(root.join("BENCHMARKS.md")).unwrap_or_default();
    if let Some(at) = previous.find(FLEET_SECTION) {
        report.push_str(previous.get(at..).unwrap_or_default());
    }
    std::fs::write(root.join("BENCHMARKS.md"), report).context("cannot write BENCHMARKS.md")?;
    eprintln!("bench: wrote BENCHMARKS.md ({} benchmarks)", measures.len());
    Ok(())
}

/// Reads every `new/benchmark.json` + `new/estimates.json` pair below `dir`.
pub(crate) fn collect(dir: &Path) -> Result<Vec<Measure>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "new") {
                    if let Some(m) = read_pair(&path)? {
                        out.push(m);
                    }
                } else {
                    stack.push(path);
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.group, &a.function).cmp(&(&b.group, &b.function)));
    Ok(out)
}

fn read_pair(new_dir: &Path) -> Result<Option<Measure>> {
    let (bench, est) = (
        new_dir.join("benchmark.json"),
        new_dir.join("estimates.json"),
    );
    if !bench.exists() || !est.exists() {
        return Ok(None);
    }
    let read = |p: &PathBuf| -> Result<Value> {
        serde_json::from_str(&std::fs::read_to_string(p)?)
            .with_context(|| format!("{}", p.display()))
    };
    let (b, e) = (read(&bench)?, read(&est)?);
    let text = |key: &str| {
        b.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (mut group, mut function) = (text("group_id"), text("function_id"));
    // One table per comparison: a parameter (`match/compiled/10`) or a leading path segment of
    // the function (`handshake/tls12/stapled`) belongs to the table, the rest names the row.
    if let Some(value) = b.get("value_str").and_then(Value::as_str) {
        group = format!("{group}/{value}");
    } else if let Some((head, rest)) = function.split_once('/') {
        group = format!("{group}/{head}");
        function = rest.to_string();
    }
    let Some(mean_ns) = e
        .get("mean")
        .and_then(|m| m.get("point_estimate"))
        .and_then(Value::as_f64)
    else {
        bail!("{}: no mean estimate", est.display());
    };
    Ok(Some(Measure {
        group,
        function,
        mean_ns,
    }))
}

/// A duration in the unit that reads best.
pub(crate) fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// What a table compares, when its rows alone do not say: the work each implementation does.
fn table_note(group: &str) -> Option<&'static str> {
    if group.starts_with("parse/") {
        Some(
            "Ours leaves each embedded certificate as a DER slice and decodes it only when \
             verification needs the signer; OpenSSL (`d2i_OCSP_RESPONSE`, then \
             `OCSP_response_get1_basic`) and rasn-ocsp decode every embedded certificate in full, \
             OpenSSL its public key too, so where a certificate is embedded they do more work \
             than ours.",
        )
    } else if group.starts_with("verify/") {
        Some(
            "Ours anchors at the issuer. `openssl` does the same work: the issuer is its trust \
             anchor (`X509_V_FLAG_PARTIAL_CHAIN`), so `OCSP_basic_verify` checks the response's \
             signature and, for a delegated proof, the signer certificate's. \
             `openssl as Exim configures it, chain to the root` trusts the root, as Exim's store \
             does, so OpenSSL also checks the issuer's certificate against the root: one \
             signature more than ours. `bare signature` rows are aws-lc-rs alone, the floor.",
        )
    } else {
        None
    }
}

/// The report: one table per group, each function's time and its ratio to the group's
/// mailstaple entry (the first function whose name starts with "mailstaple" or "compiled", else
/// the first).
pub(crate) fn render(measures: &[Measure], machine: &str, date: &str, notes: &[String]) -> String {
    let mut groups: BTreeMap<&str, Vec<&Measure>> = BTreeMap::new();
    for m in measures {
        groups.entry(m.group.as_str()).or_default().push(m);
    }
    let mut s = String::new();
    let _ = writeln!(s, "# Benchmarks\n");
    let _ = writeln!(s, "Written by `cargo xtask bench` on {date}, on {machine}.");
    let _ = writeln!(
        s,
        "Each table was measured in one run; \"vs ours\" is that row's mean time divided by ours (above 1: we are faster).\n"
    );
    for note in notes {
        let _ = writeln!(s, "- {note}");
    }
    if !notes.is_empty() {
        s.push('\n');
    }
    for (group, ms) in groups {
        let ours = ms
            .iter()
            .find(|m| {
                ["mailstaple", "compiled", "stapled"]
                    .iter()
                    .any(|p| m.function.starts_with(p))
            })
            .or(ms.first());
        let _ = writeln!(s, "## {group}\n");
        if let Some(note) = table_note(group) {
            let _ = writeln!(s, "{note}\n");
        }
        let _ = writeln!(s, "| implementation | mean | vs ours |\n|---|---|---|");
        for m in &ms {
            let ratio = ours.map_or(String::from("-"), |o| {
                format!("{:.2}x", m.mean_ns / o.mean_ns)
            });
            let _ = writeln!(s, "| {} | {} | {ratio} |", m.function, human(m.mean_ns));
        }
        s.push('\n');
    }
    s
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "an unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{cores} cores of {cpu}")
}

/// The day `path` was last modified, `YYYY-MM-DD` in UTC.
fn file_date(path: &Path) -> Result<String> {
    Ok(util::capture(
        Command::new("date")
            .args(["-u", "+%Y-%m-%d", "-r"])
            .arg(path),
    )?
    .trim()
    .to_string())
}

fn today() -> Result<String> {
    Ok(
        util::capture(Command::new("date").args(["-u", "+%Y-%m-%d"]))?
            .trim()
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_results_benches_print_themselves() {
        let stdout = "Benchmarking handshake/tls12/stapled\n\
            paired tls12: throughput stapled / unstapled = 0.981 (median of 31 rounds of 100)\n\
            handshake/tls12/stapled time: [1 us 2 us 3 us]\n\
            refresh: 10000 certificates, concurrency 64: 2.75 s, 3634 certificates/s\n";
        assert_eq!(
            printed_results(stdout),
            vec![
                "paired tls12: throughput stapled / unstapled = 0.981 (median of 31 rounds of 100)",
                "refresh: 10000 certificates, concurrency 64: 2.75 s, 3634 certificates/s",
            ]
        );
    }

    #[test]
    fn report_keeps_the_last_runs_printed_results() {
        let notes = vec![
            "paired tls13: throughput stapled / unstapled = 0.993 (median of 31 rounds of 100)"
                .to_owned(),
            "refresh: 10000 certificates, concurrency 64: 2.96 s, 3374 certificates/s".to_owned(),
        ];
        let root = std::env::temp_dir().join(format!("xtask-bench-record-{}", std::process::id()));
        let criterion = root.join("target/criterion");
        save_run(&criterion, "2026-11-29", &notes).unwrap();
        let recorded = last_run(&root, &criterion);

        // A run from before the record: the report it wrote then gives them back.
        std::fs::remove_file(criterion.join(RUN_RECORD)).unwrap();
        let m = Measure {
            group: "parse/x".into(),
            function: "mailstaple".into(),
            mean_ns: 1.0,
        };
        let mut with_notes = notes.clone();
        with_notes.push("`mailstaple-x` has no `y` benchmark yet: not run.".into());
        let report = render(&[m], "2 cores of Test CPU", "2026-11-29", &with_notes);
        std::fs::write(root.join("BENCHMARKS.md"), report).unwrap();
        let unrecorded = last_run(&root, &criterion);
        std::fs::remove_dir_all(&root).unwrap();

        assert_eq!(recorded.unwrap(), ("2026-11-29".to_owned(), notes.clone()));
        assert_eq!(unrecorded.unwrap().1, notes);
        assert!(read_run(r#"{"date":"2026-11-29"}"#).is_err());
    }

    #[test]
    fn parse_and_verify_tables_say_what_they_compare() {
        let m = |g: &str, f: &str| Measure {
            group: g.into(),
            function: f.into(),
            mean_ns: 1.0,
        };
        let report = render(
            &[
                m("parse/p256/issuer/262B", "mailstaple"),
                m("verify/p256/issuer", "mailstaple"),
                m("match/10", "compiled"),
            ],
            "2 cores of Test CPU",
            "2026-11-29",
            &[],
        );
        let table = |name: &str| {
            let start = report.find(&format!("## {name}\n")).unwrap();
            let rest = &report[start + 3..];
            rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
        };
        assert!(table("parse/p256/issuer/262B").contains("`d2i_OCSP_RESPONSE`"));
        assert!(table("verify/p256/issuer").contains("X509_V_FLAG_PARTIAL_CHAIN"));
        assert!(!table("match/10").contains("X509"));
    }

    #[test]
    fn renders_ratios_against_ours() {
        let m = |g: &str, f: &str, ns: f64| Measure {
            group: g.into(),
            function: f.into(),
            mean_ns: ns,
        };
        let report = render(
            &[
                m("parse/x", "mailstaple", 200.0),
                m("parse/x", "openssl", 1000.0),
                m("match/10000", "linear", 5e6),
                m("match/10000", "compiled", 2e4),
            ],
            "2 cores of Test CPU",
            "2026-11-29",
            &["a note".into()],
        );
        assert!(report.contains("| openssl | 1.00 µs | 5.00x |"), "{report}");
        assert!(
            report.contains("| mailstaple | 200 ns | 1.00x |"),
            "{report}"
        );
        assert!(
            report.contains("| linear | 5.00 ms | 250.00x |"),
            "{report}"
        );
        assert!(report.contains("- a note"));
        assert!(report.contains("2026-11-29"));
    }

    #[test]
    fn parameters_and_path_segments_make_their_own_tables() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-split-{}", std::process::id()));
        for (d, json) in [
            (
                "m/c/10",
                r#"{"group_id":"match","function_id":"compiled","value_str":"10"}"#,
            ),
            (
                "h/t/s",
                r#"{"group_id":"handshake","function_id":"tls12/stapled"}"#,
            ),
        ] {
            let new = dir.join(d).join("new");
            std::fs::create_dir_all(&new).unwrap();
            std::fs::write(new.join("benchmark.json"), json).unwrap();
            std::fs::write(
                new.join("estimates.json"),
                r#"{"mean":{"point_estimate":1.0}}"#,
            )
            .unwrap();
        }
        let got = collect(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let keys: Vec<(String, String)> = got.into_iter().map(|m| (m.group, m.function)).collect();
        assert_eq!(
            keys,
            vec![
                ("handshake/tls12".to_string(), "stapled".to_string()),
                ("match/10".to_string(), "compiled".to_string())
            ]
        );
    }

    #[test]
    fn collects_criterion_output() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        let new = dir.join("g/f/new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"group_id":"g","function_id":"f"}"#,
        )
        .unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"mean":{"point_estimate":42.5}}"#,
        )
        .unwrap();
        let got = collect(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            got,
            vec![Measure {
                group: "g".into(),
                function: "f".into(),
                mean_ns: 42.5
            }]
        );
    }
}
