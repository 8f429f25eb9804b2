//! Tests for the subprocess helpers.

use super::*;

#[test]
fn display_quotes_only_what_needs_it() {
    let mut cmd = Command::new("cargo");
    cmd.args(["clippy", "--", "-D", "warnings", "it's two words"])
        .env("RUSTDOCFLAGS", "-D warnings");
    assert_eq!(
        display(&cmd),
        r"RUSTDOCFLAGS='-D warnings' cargo clippy -- -D warnings 'it'\''s two words'"
    );
}

#[test]
fn finds_sh_and_not_a_made_up_name() {
    assert!(find_program("sh").is_some());
    assert!(find_program("mailstaple-no-such-program-xyz").is_none());
}
