//! Fetches OCSP proofs with the library API: one certificate with `fetch_and_install`, or a
//! handful driven by the sans-IO `Scheduler` until each has a fresh proof.
//!
//! ```text
//! cargo run -p mailstaple-fetch --example fetch -- [--url URL] [--at UNIX-TIME] once CERT ISSUER OUT
//! cargo run -p mailstaple-fetch --example fetch -- [--url URL] [--at UNIX-TIME] schedule CERT ISSUER OUT...
//! ```
//!
//! CERT and ISSUER are PEM or DER; OUT is the proof file (an Exim `tls_ocsp_file`). URL replaces
//! the certificates' AIA OCSP URL; UNIX-TIME fixes the clock (handy with a test PKI).
//! `mailstaple_fetch::daemon` is the complete daemon, which keeps going and reloads.

use std::time::Duration;

use mailstaple_fetch::pki_types::UnixTime;
use mailstaple_fetch::{Action, FetchOptions, Scheduler, Target, fetch_and_install, schedule};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("{}", run(args)?);
    Ok(())
}

/// The command line without the program name; returns the report.
pub(crate) fn run(mut args: Vec<String>) -> Result<String> {
    let mut flag = |name: &str| match args.iter().position(|a| a == name) {
        Some(i) if i + 1 < args.len() => args.drain(i..=i + 1).nth(1),
        _ => None,
    };
    let (url, at) = (
        flag("--url"),
        flag("--at").map(|t| t.parse::<u64>()).transpose()?,
    );
    let clock = move || {
        at.map_or_else(UnixTime::now, |s| {
            UnixTime::since_unix_epoch(Duration::from_secs(s))
        })
    };
    let (mode, files) = args
        .split_first()
        .ok_or("usage: fetch [--url URL] [--at TIME] once|schedule CERT ISSUER OUT...")?;
    let mut targets = Vec::new();
    for file in files.chunks(3) {
        let [cert, issuer, out] = file else {
            return Err("CERT ISSUER OUT come in threes".into());
        };
        targets.push(Target::load(
            cert.as_ref(),
            issuer.as_ref(),
            out.into(),
            url.clone(),
        )?);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match (mode.as_str(), targets.as_slice()) {
        ("once", [target]) => runtime.block_on(once(target, clock())),
        ("schedule", [_, ..]) => runtime.block_on(run_scheduler(targets, clock)),
        _ => Err("once takes one CERT ISSUER OUT, schedule one or more".into()),
    }
}

/// Fetches, verifies and installs one proof, unless it would be older than the installed one.
async fn once(target: &Target, now: UnixTime) -> Result<String> {
    let options = FetchOptions::default();
    let installed = target
        .installed(now, &options.policy)
        .map(|c| c.this_update());
    let checked = fetch_and_install(target, &options, now, None, installed).await?;
    let staple = checked.staple();
    Ok(format!(
        "{}: {:?} until {}",
        target.out.display(),
        staple.status(),
        staple.effective_expiry()
    ))
}

/// Runs the scheduler until every target has a fresh proof; returns each one's next refresh.
/// A daemon would keep looping: the scheduler says when the next refresh or retry is due.
async fn run_scheduler(targets: Vec<Target>, clock: impl Fn() -> UnixTime) -> Result<String> {
    let now = || i64::try_from(clock().as_secs()).unwrap_or(i64::MAX);
    let options = FetchOptions::default();
    let mut scheduler = Scheduler::new(schedule::Config::default(), now().unsigned_abs()); // seeds the jitter
    for (id, target) in (0..).zip(&targets) {
        let installed = target
            .installed(clock(), &options.policy)
            .map(|c| c.validity());
        scheduler.insert(now(), id, installed);
    }
    let mut fetches = tokio::task::JoinSet::new();
    loop {
        while let Some(action) = scheduler.poll_action() {
            let Action::Fetch(id) = action else {
                eprintln!("{action:?}"); // Warn and Expired: tell the operator
                continue;
            };
            let target = targets
                .get(usize::try_from(id)?)
                .ok_or("no such target")?
                .clone();
            let (options, at) = (options.clone(), clock());
            fetches.spawn(async move {
                (
                    id,
                    fetch_and_install(&target, &options, at, None, None).await,
                )
            });
        }
        let statuses = scheduler.statuses(now());
        if fetches.is_empty()
            && statuses
                .iter()
                .all(|s| s.validity.is_some() && s.consecutive_failures == 0)
        {
            let next = statuses
                .iter()
                .map(|s| format!("{}: refresh at {:?}", s.id, s.next_refresh));
            return Ok(next.collect::<Vec<_>>().join("\n"));
        }
        let wait = scheduler
            .poll_timeout()
            .map_or(60, |at| at.saturating_sub(now()).max(0).unsigned_abs());
        tokio::select! {
            Some(Ok((id, result))) = fetches.join_next() => match result {
                Ok(checked) => scheduler.handle_success(now(), id, checked.validity()),
                Err(e) => scheduler.handle_failure(now(), id, e.to_string()),
            },
            () = tokio::time::sleep(Duration::from_secs(wait)) => scheduler.handle_timeout(now()),
        }
    }
}
