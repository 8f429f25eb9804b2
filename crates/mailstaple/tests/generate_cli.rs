//! `mailstaple generate`: a man page for every command of the tree, completion scripts that
//! know the subcommands, and clear failures.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mailstaple"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The subcommand names listed under "Commands:" in `mailstaple [PATH...] --help`.
fn listed_subcommands(path: &[&str]) -> Vec<String> {
    let mut args = path.to_vec();
    args.push("--help");
    let out = run(&args);
    assert!(out.status.success(), "{args:?}");
    stdout(&out)
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// The page names the visible command tree calls for, found through `--help` alone.
fn expected_pages(path: &mut Vec<String>, into: &mut BTreeSet<String>) {
    let prefix: Vec<&str> = path.iter().map(String::as_str).collect();
    into.insert(format!(
        "{}.1",
        std::iter::once("mailstaple")
            .chain(prefix.iter().copied())
            .collect::<Vec<_>>()
            .join("-")
    ));
    for sub in listed_subcommands(&prefix) {
        path.push(sub);
        expected_pages(path, into);
        path.pop();
    }
}

#[test]
fn man_writes_one_page_per_command_and_replaces_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    std::fs::write(dir.path().join("mailstaple.1"), "stale").unwrap();

    let out = run(&["generate", "man", d]);
    assert!(out.status.success(), "{out:?}");

    let mut expected = BTreeSet::new();
    expected_pages(&mut Vec::new(), &mut expected);
    // Hidden from `--help`, but its own page documents it.
    for page in [
        "mailstaple-generate.1",
        "mailstaple-generate-man.1",
        "mailstaple-generate-completion.1",
    ] {
        expected.insert(page.to_owned());
    }
    assert!(
        expected.contains("mailstaple-ocsp-verify.1"),
        "{expected:?}"
    );
    assert!(
        expected.contains("mailstaple-config-check.1"),
        "{expected:?}"
    );

    let on_disk: BTreeSet<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(on_disk, expected, "no page missing, no temporary file left");

    let printed: BTreeSet<String> = stdout(&out)
        .lines()
        .map(|line| {
            let path = std::path::Path::new(line);
            assert_eq!(path.parent(), Some(dir.path()));
            path.file_name().unwrap().to_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(printed, expected);

    for page in &expected {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        let name = page.trim_end_matches(".1");
        let title = format!(
            ".TH {name} 1  \"mailstaple {}\" \"mailstaple manual\"",
            env!("CARGO_PKG_VERSION")
        );
        assert!(
            text.lines().any(|line| line == title),
            "{page} has the title {title}: {text}"
        );
        assert!(text.contains(".SH SYNOPSIS"), "{page}");
    }
    let top = std::fs::read_to_string(dir.path().join("mailstaple.1")).unwrap();
    assert!(
        top.contains(env!("CARGO_PKG_VERSION")),
        "version in the page"
    );
    // The long help of `config check` (the file format) is in its page.
    let check = std::fs::read_to_string(dir.path().join("mailstaple-config-check.1")).unwrap();
    assert!(check.contains("tls_ocsp_file"), "{check}");
}

#[test]
fn man_into_a_missing_directory_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let out = run(&["generate", "man", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-dir"), "{err}");
}

#[test]
fn completions_know_every_subcommand() {
    let top = listed_subcommands(&[]);
    assert!(top.iter().any(|name| name == "ocsp"), "{top:?}");
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["generate", "completion", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = stdout(&out);
        for name in &top {
            assert!(
                script.contains(name.as_str()),
                "{shell} script lacks {name}"
            );
        }
        // The nested commands too.
        assert!(script.contains("inspect"), "{shell}");
        assert!(script.contains("check"), "{shell}");
    }
    let bash = stdout(&run(&["generate", "completion", "bash"]));
    assert!(
        bash.contains("complete -F _mailstaple"),
        "bash registers the function"
    );
    let zsh = stdout(&run(&["generate", "completion", "zsh"]));
    assert!(zsh.starts_with("#compdef mailstaple"), "zsh autoloads it");
    let fish = stdout(&run(&["generate", "completion", "fish"]));
    assert!(fish.contains("complete -c mailstaple"), "fish");
}

#[test]
fn bash_completion_parses_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("mailstaple.bash");
    std::fs::write(&script, run(&["generate", "completion", "bash"]).stdout).unwrap();
    // Source the script, then ask it what follows `mailstaple oc<TAB>`.
    let probe = format!(
        "source {}; COMP_WORDS=(mailstaple oc); COMP_CWORD=1; COMP_LINE='mailstaple oc'; \
         COMP_POINT=${{#COMP_LINE}}; _mailstaple mailstaple oc mailstaple; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out).trim(), "ocsp");
}
