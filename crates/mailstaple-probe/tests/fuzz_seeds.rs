//! The `probe_reply` fuzz harness under plain `cargo test`: every committed seed runs through
//! it, and the seeds reach the paths they were written for. (A finding minimised into
//! `tests/data/fuzz-regressions/probe_reply/` gets its replay here, with
//! `mailstaple_testpki::fuzz_regressions`, which refuses an empty directory.)

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use mailstaple_probe::session::{Session, Step};

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/probe_reply");
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("seed-")
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 5, "{seeds:?}");
    seeds
}

#[test]
fn seeds_pass_the_harness() {
    for (_, data) in seeds() {
        mailstaple_probe::fuzzing::probe_reply(&data);
    }
}

/// The last step of a seed's dialogue fed whole (STARTTLS granted as the harness does).
fn last_step(data: &[u8]) -> Option<Step> {
    let (flags, stream) = (data[0], &data[2..]);
    let mut session = Session::new("probe.fuzz.test", flags & 1 != 0);
    let mut steps = session.receive(stream);
    if steps.last() == Some(&Step::StartTls) {
        steps.extend(session.tls_started());
    }
    steps.pop()
}

#[test]
fn seeds_reach_the_paths_they_were_written_for() {
    for (name, data) in seeds() {
        let last = last_step(&data);
        match name.as_str() {
            "seed-implicit-tls-ready" => assert_eq!(last, Some(Step::Ready), "{name}"),
            // Fed whole, the bytes behind the 220 to STARTTLS are discarded (RFC 3207): the
            // session greets again and waits.
            "seed-starttls-ready" => {
                assert_eq!(
                    last,
                    Some(Step::Send(b"EHLO probe.fuzz.test\r\n".to_vec())),
                    "{name}"
                );
            }
            "seed-no-starttls" | "seed-starttls-refused" => {
                assert!(matches!(last, Some(Step::Failed(_))), "{name}: {last:?}");
            }
            _ => {}
        }
    }
}

/// A deterministic handful of mutations of every seed (byte flips, insertions of CR, LF, `-`
/// and digits, cuts), so that `cargo test` exercises the harness beyond the seeds themselves.
#[test]
fn mutated_seeds_pass_the_harness() {
    let mut state: u32 = 0x9e37_79b9;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    for (_, seed) in seeds() {
        for _ in 0..500 {
            let mut data = seed.clone();
            for _ in 0..1 + next() % 4 {
                let at = usize::try_from(next()).unwrap() % (data.len() + 1);
                match next() % 4 {
                    0 if at < data.len() => data[at] ^= 1 << (next() % 8),
                    1 => data.insert(at, b"\r\n-0 5"[usize::try_from(next() % 6).unwrap()]),
                    2 => data.truncate(at.max(2)),
                    _ => data.insert(at, u8::try_from(next() % 256).unwrap()),
                }
            }
            mailstaple_probe::fuzzing::probe_reply(&data);
        }
    }
}
