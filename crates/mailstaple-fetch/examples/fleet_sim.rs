//! The fleet protocol's numbers: runs `mailstaple_fetch::sim` and prints its reports.
//!
//! ```text
//! cargo run --release -p mailstaple-fetch --example fleet_sim -- [big|year|all]
//!     [--certs N] [--nodes N] [--days N] [--seed N] [--partial SHARE]
//! ```
//!
//! - `big`: 100,000 certificates on 50 nodes for 4 weeks, with node crashes (mean 7 days apart,
//!   1 minute to 4 hours) and store outages (mean 3 days apart, 1 minute to 6 hours): requests
//!   and store operations per certificate, and availability.
//! - `year`: 2,000 certificates on 20 nodes for a year, with responder outages of random length
//!   (mean 20 days apart, 1 hour to 10 days, half of them partial: each node reaches the
//!   responder with probability 1/2), node crashes and store outages; the same plan replayed
//!   with every node alone, for the fleet's availability against a lone node's.
//! - `all` (the default): both.
//!
//! `--certs`, `--nodes` and `--days` replace the run's size, `--partial` the share of partial
//! responder outages in `year`; the wall time and the peak memory (from /proc, where there is
//! one) are printed after each report.

use std::time::Instant;

use mailstaple_fetch::sim::{DAY, HOUR, Outages, SimConfig, run};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut flag = |name: &str| -> Option<String> {
        let i = args.iter().position(|a| a == name)?;
        let v = args.get(i + 1).cloned();
        args.drain(i..(i + 2).min(args.len()));
        v
    };
    let mut number = |name: &str| flag(name).and_then(|v| v.parse::<u64>().ok());
    let (certs, nodes, days, seed) = (
        number("--certs"),
        number("--nodes"),
        number("--days"),
        number("--seed"),
    );
    let partial = flag("--partial").and_then(|v| v.parse::<f64>().ok());
    let which = args.first().map_or("all", String::as_str).to_owned();
    let sized = |mut c: SimConfig| {
        if let Some(n) = certs {
            c.certificates = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = nodes {
            c.nodes = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(d) = days {
            c.span = i64::try_from(d).unwrap_or(i64::MAX / DAY) * DAY;
        }
        c.seed = seed.unwrap_or(1);
        c
    };
    if which == "big" || which == "all" {
        let mut c = SimConfig::default();
        c.certificates = 100_000;
        c.nodes = 50;
        c.span = 28 * DAY;
        c.node_crashes = Some(Outages::new(7 * DAY, 60, 4 * HOUR));
        c.store_outages = Some(Outages::new(3 * DAY, 60, 6 * HOUR));
        report("big: node crashes and store outages", &sized(c));
    }
    if which == "year" || which == "all" {
        let mut c = SimConfig::default();
        c.certificates = 2_000;
        c.nodes = 20;
        c.span = 365 * DAY;
        c.responder_outages = Some(Outages::new(20 * DAY, HOUR, 10 * DAY));
        c.partial_share = partial.unwrap_or(0.5);
        c.reach_share = 0.5;
        c.node_crashes = Some(Outages::new(10 * DAY, 60, 4 * HOUR));
        c.store_outages = Some(Outages::new(30 * DAY, 60, 6 * HOUR));
        c.compare_lone = true;
        report("year: responder outages of random length", &sized(c));
    }
}

fn report(title: &str, c: &SimConfig) {
    println!("== {title} (seed {})", c.seed);
    let t = Instant::now();
    let r = run(c);
    print!("{r}");
    println!(
        "  wall time {:.1} s, peak memory {}\n",
        t.elapsed().as_secs_f64(),
        peak_memory().unwrap_or_else(|| "unknown".into())
    );
}

/// The process's peak resident set, from /proc/self/status.
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_owned())
}
