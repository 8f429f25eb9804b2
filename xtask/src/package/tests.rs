//! Tests for reading the publishable crates from `cargo metadata` output.

use serde_json::json;

use super::*;

#[test]
fn publishable_crates_are_those_publish_allows() {
    let metadata = json!({
        "packages": [
            { "name": "lib-b", "version": "0.1.0", "publish": null },
            { "name": "testpki", "version": "0.1.0", "publish": [] },
            { "name": "lib-a", "version": "0.1.0", "publish": ["crates-io"] },
        ],
        "target_directory": "/ws/target",
    });
    let workspace = Workspace::from_metadata(&metadata).unwrap();
    assert_eq!(
        workspace.publishable,
        [
            ("lib-a".to_owned(), "0.1.0".to_owned()),
            ("lib-b".to_owned(), "0.1.0".to_owned())
        ]
    );
    assert_eq!(workspace.target_dir, PathBuf::from("/ws/target"));
}

#[test]
fn bad_metadata_is_an_error() {
    let no_target = json!({ "packages": [] });
    assert!(Workspace::from_metadata(&no_target).is_err());
    let odd_publish = json!({
        "packages": [{ "name": "x", "version": "0.1.0", "publish": true }],
        "target_directory": "/t",
    });
    assert!(Workspace::from_metadata(&odd_publish).is_err());
}

/// The repository's own workspace: the library crates are publishable, the dev-only ones not.
#[test]
fn this_workspace_publishes_the_libraries_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let workspace = Workspace::read(&root).unwrap();
    let names: Vec<&str> = workspace
        .publishable
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    for name in [
        "mailstaple-ocsp",
        "mailstaple-verify",
        "mailstaple-server",
        "mailstaple-policy",
    ] {
        assert!(
            names.contains(&name),
            "{name} is not publishable: {names:?}"
        );
    }
    for name in ["mailstaple-testpki", "mailstaple-bench", "xtask"] {
        assert!(!names.contains(&name), "{name} must never be published");
    }
}
