//! Tests for the fuzz option parser and libFuzzer's statistics lines.

use super::*;

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| (*word).to_owned()).collect()
}

#[test]
fn options_default_to_all_targets_for_a_minute() {
    assert_eq!(
        Options::parse(&[]).unwrap(),
        Options {
            target: None,
            seconds: 60,
            jobs: 1,
            runs: None,
            sanitizer: "none".to_owned(),
        }
    );
}

#[test]
fn options_accept_separate_and_inline_values() {
    assert_eq!(
        Options::parse(&args(&[
            "--target",
            "ocsp_parse",
            "--seconds=600",
            "--jobs",
            "2",
            "--runs=10000000",
            "--sanitizer",
            "address",
        ]))
        .unwrap(),
        Options {
            target: Some("ocsp_parse".to_owned()),
            seconds: 600,
            jobs: 2,
            runs: Some(10_000_000),
            sanitizer: "address".to_owned(),
        }
    );
}

#[test]
fn options_reject_nonsense() {
    let cases: &[(&[&str], &str)] = &[
        (&["--target"], "`--target` needs a value"),
        (&["--target="], "`--target` needs a value"),
        (&["--seconds", "0"], "want a positive number"),
        (&["--seconds", "ten"], "want a positive number"),
        (&["--jobs", "-1"], "want a positive number"),
        (&["--runs", "0"], "want a positive number"),
        (&["--sanitizer", "valgrind"], "want one of none, address"),
        (&["--max-len", "5"], "unknown fuzz option `--max-len`"),
        (&["ocsp_parse"], "unknown fuzz option `ocsp_parse`"),
    ];
    for (words, want) in cases {
        let err = format!("{:#}", Options::parse(&args(words)).unwrap_err());
        assert!(err.contains(want), "{words:?}: {err:?} lacks {want:?}");
    }
}

#[test]
fn parses_the_done_line() {
    let line = "#1234567\tDONE   cov: 456 ft: 789 corp: 12/345b lim: 4096 exec/s: 20000 rss: 60Mb";
    assert_eq!(
        Stats::parse_line(line),
        Some(Stats {
            execs: 1_234_567,
            cov: Some(456),
            ft: Some(789),
            done: true
        })
    );
}

#[test]
fn parses_status_and_fork_mode_lines() {
    let pulse = "#65536\tpulse  cov: 10 ft: 11 corp: 3/9b lim: 4 exec/s: 1 rss: 2Mb";
    assert_eq!(
        Stats::parse_line(pulse),
        Some(Stats {
            execs: 65536,
            cov: Some(10),
            ft: Some(11),
            done: false
        })
    );
    let fork = "#90210: cov: 77 ft: 88 corp: 5 exec/s: 3 oom/timeout/crash: 0/0/0 time: 6s job: 2";
    assert_eq!(
        Stats::parse_line(fork),
        Some(Stats {
            execs: 90210,
            cov: Some(77),
            ft: Some(88),
            done: false
        })
    );
    assert_eq!(
        Stats::parse_line("#2\tINITED exec/s: 0 rss: 30Mb"),
        Some(Stats {
            execs: 2,
            cov: None,
            ft: None,
            done: false
        })
    );
}

#[test]
fn ignores_lines_that_are_not_statistics() {
    for line in [
        "INFO: Seed: 12345",
        "==1234== ERROR: libFuzzer: deadly signal",
        "#",
        "#abc cov: 1",
        "    #0 0x557f5b496011 in __sanitizer_print_stack_trace asan_stack.cpp:87:3",
        "#34 0x7f946657a04f  (/lib/x86_64-linux-gnu/libc.so.6+0x3c04f)",
        "#12: something else",
        "#5 MERGE-OUTER: 3 files",
        "   Compiling mailstaple-ocsp v0.0.0",
        "",
    ] {
        assert_eq!(Stats::parse_line(line), None, "{line:?}");
    }
}

#[test]
fn the_done_line_wins_over_later_status_lines() {
    let done = Stats::parse_line("#100 DONE cov: 5 ft: 6").unwrap();
    let later = Stats::parse_line("#50 pulse cov: 1 ft: 2").unwrap();
    assert_eq!(Stats::merge(Some(done), later), done);
    assert_eq!(Stats::merge(Some(later), done), done);
    let newer = Stats::parse_line("#60 NEW cov: 2 ft: 3").unwrap();
    assert_eq!(Stats::merge(Some(later), newer), newer);
    assert_eq!(Stats::merge(None, later), later);
}

#[test]
fn failing_inputs_are_found_by_prefix() {
    let dir = std::env::temp_dir().join(format!("xtask-fuzz-prefix-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("crash-dir")).unwrap();
    for name in [
        "crash-aa",
        "oom-bb",
        "timeout-cc",
        "minimized-from-aa",
        "seed-1",
        "slow-unit-dd",
    ] {
        fs::write(dir.join(name), b"x").unwrap();
    }
    let found: Vec<String> = files_with_prefix(&dir, FAILURE_PREFIXES)
        .unwrap()
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found, ["crash-aa", "oom-bb", "slow-unit-dd", "timeout-cc"]);
    assert!(
        files_with_prefix(&dir, FAILURE_PREFIXES)
            .unwrap()
            .is_empty()
    );
}
