//! Tests for the CI step list and `XTASK_SKIP` parsing.

use super::*;

#[test]
fn steps_run_in_the_documented_order() {
    let names: Vec<&str> = STEPS.iter().map(|step| step.name).collect();
    assert_eq!(
        names,
        [
            "peers",
            "fmt",
            "clippy",
            "test",
            "bench-test",
            "doc",
            "deps",
            "tidy",
            "package",
            "fuzz",
            "dist"
        ]
    );
}

#[test]
fn skip_list_is_parsed_and_checked() {
    assert!(skipped(None).unwrap().is_empty());
    assert!(skipped(Some("")).unwrap().is_empty());
    assert_eq!(skipped(Some("fuzz, peers,")).unwrap(), ["fuzz", "peers"]);
    let err = skipped(Some("fuzz,pears")).unwrap_err().to_string();
    assert!(err.contains("`pears`, which is not a step"), "{err}");
}

#[test]
fn test_steps_require_peers_only_once_they_were_installed() {
    let mut ctx = Ctx {
        root: PathBuf::from("/nonexistent"),
        require_peers: false,
    };
    let var = std::ffi::OsStr::new(peers::REQUIRE_PEERS_VAR);
    let has_var = |cmd: &Command| {
        cmd.get_envs()
            .any(|(key, value)| key == var && value.is_some())
    };
    assert!(!has_var(&ctx.cargo_test(&["test"])));
    ctx.require_peers = true;
    assert!(has_var(&ctx.cargo_test(&["test"])));
    assert!(!has_var(&ctx.cargo(&["fmt"])));
}
