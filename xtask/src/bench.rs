//! `cargo xtask bench`: run the criterion benchmarks that compare mailstaple with its peers and
//! write `BENCHMARKS.md` with the ratios, the machine and the date.
//!
//! Criterion leaves one `new/benchmark.json` (group and function names) and one
//! `new/estimates.json` (the estimates, in nanoseconds) per benchmark under `target/criterion`;
//! this reads them back after the run, so the report holds exactly what was measured.

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
    ("mailstaple-fetch", "refresh"),
];

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
        return write_report(root, &criterion, &[]);
    }
    if criterion.exists() {
        std::fs::remove_dir_all(&criterion).context("cannot clear old criterion results")?;
    }
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
    }
    write_report(root, &criterion, &notes)
}

/// Lines a bench prints with results that criterion does not time: the paired handshake
/// throughput (`paired ...`) and the fetcher's run (`refresh: ...`). They go into the report
/// as notes, so it holds every number the benches measured.
pub(crate) fn printed_results(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("paired ") || l.starts_with("refresh: "))
        .map(str::to_owned)
        .collect()
}

fn write_report(root: &Path, criterion: &Path, notes: &[String]) -> Result<()> {
    let measures = collect(criterion)?;
    if measures.is_empty() {
        bail!("no criterion results under {}", criterion.display());
    }
    let report = render(&measures, &machine(), &today()?, notes);
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
        let _ = writeln!(
            s,
            "## {group}\n\n| implementation | mean | vs ours |\n|---|---|---|"
        );
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
