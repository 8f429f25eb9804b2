//! Tests for the tidy checks, on strings, on a scratch tree, and on this repository itself.

use std::fs;

use super::*;

#[test]
fn module_docs_must_come_first() {
    let cases = [
        ("//! What this is.\nfn main() {}\n", true),
        ("\n\n   //! Indented, after blank lines.\n", true),
        ("\u{feff}//! After a byte order mark.\n", true),
        ("//!\n", true),
        ("// A plain comment.\n//! Docs after it.\n", false),
        ("/// Outer docs.\nfn f() {}\n", false),
        (
            "#![forbid(unsafe_code)]\n//! Docs after an attribute.\n",
            false,
        ),
        ("/*! Block docs. */\n", false),
        ("", false),
        ("\n  \n", false),
    ];
    for (text, want) in cases {
        assert_eq!(opens_with_module_doc(text), want, "{text:?}");
    }
}

#[test]
fn a_readme_include_opens_a_lib() {
    let cases = [
        (
            "#![doc = include_str!(\"../README.md\")]\n//! More.\n",
            true,
        ),
        ("\n  #![doc = include_str!(\"../README.md\")]  \n", true),
        (
            "//! Docs.\n#![doc = include_str!(\"../README.md\")]\n",
            false,
        ),
        ("#![doc = include_str!(\"../OTHER.md\")]\n", false),
        ("", false),
    ];
    for (text, want) in cases {
        assert_eq!(opens_with_readme(text), want, "{text:?}");
    }
}

#[test]
fn forbid_unsafe_code_is_found_in_any_spelling() {
    let cases = [
        ("//! Docs.\n#![forbid(unsafe_code)]\n", true),
        ("#![ forbid( missing_docs , unsafe_code ) ]\n", true),
        ("#![deny(unsafe_code)]\n", false),
        ("#![forbid(unsafe_op_in_unsafe_fn)]\n", false),
        ("// #![forbid(unsafe_code)] is what we want\n", false),
        ("#[forbid(unsafe_code)]\nfn f() {}\n", false),
    ];
    for (text, want) in cases {
        assert_eq!(forbids_unsafe(text), want, "{text:?}");
    }
}

#[test]
fn workspace_lints_are_recognised_in_each_toml_form() {
    let cases = [
        (
            "[package]\nname = \"a\"\n\n[lints]\nworkspace = true\n",
            true,
        ),
        ("[lints]\nworkspace=true # inherit\n", true),
        ("lints.workspace = true\n[package]\nname = \"a\"\n", true),
        ("lints = { workspace = true }\n", true),
        ("[package]\nname = \"a\"\n", false),
        ("[lints]\nworkspace = false\n", false),
        ("[lints.rust]\nworkspace = true\n", false),
        ("[package]\nlints.workspace = true\n", false),
        ("[lints]\n# workspace = true\n", false),
        ("[dependencies]\nworkspace = true\n[lints]\n", false),
    ];
    for (text, want) in cases {
        assert_eq!(has_workspace_lints(text), want, "{text:?}");
    }
}

#[test]
fn only_files_under_build_dirs_are_reported() {
    let listing = "target/debug/x\0fuzz/target/y\0crates/a/src/target.rs\0\0";
    assert_eq!(
        tracked_build_files(listing),
        ["target/debug/x", "fuzz/target/y"]
    );
    assert!(tracked_build_files("").is_empty());
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("xtask-tidy-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.0.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const GOOD_MANIFEST: &str = "[package]\nname = \"x\"\n\n[lints]\nworkspace = true\n";
const GOOD_LIB: &str = "//! A crate.\n\n#![forbid(unsafe_code)]\n";

#[test]
fn a_scratch_tree_reports_each_problem_once() {
    let tree = Scratch::new("tree");
    tree.write("crates/good/Cargo.toml", GOOD_MANIFEST);
    tree.write("crates/good/src/lib.rs", GOOD_LIB);
    tree.write("crates/good/src/deep/mod.rs", "//! Deep.\n");
    tree.write(
        "crates/good/target/debug/build/out.rs",
        "no docs, skipped\n",
    );
    tree.write("crates/bin/Cargo.toml", "[package]\nname = \"bin\"\n");
    tree.write(
        "crates/bin/src/main.rs",
        "//! A binary: lib.rs rules do not apply.\n",
    );
    tree.write("crates/nolints/Cargo.toml", "[package]\n[lints.rust]\n");
    tree.write("crates/nolints/src/lib.rs", "//! Unsafe allowed.\n");
    tree.write("crates/good/tests/it/main.rs", "use x;\n");
    tree.write("xtask/Cargo.toml", GOOD_MANIFEST);
    tree.write("xtask/src/main.rs", "//! Tasks.\n");
    tree.write("fuzz/fuzz_targets/t.rs", "#![no_main]\n");
    tree.write("fuzz/corpus/t/seed-1.rs", "not rust\n");
    tree.write("tests/it/main.rs", "//! End to end.\n");

    let problems = file_problems(&tree.0).unwrap();
    assert_eq!(
        problems,
        [
            "crates/good/tests/it/main.rs: the first non-empty line must be a `//!` doc comment saying what the file is for",
            "fuzz/fuzz_targets/t.rs: the first non-empty line must be a `//!` doc comment saying what the file is for",
            "crates/bin/Cargo.toml: add `[lints]` with `workspace = true`",
            "crates/nolints/Cargo.toml: add `[lints]` with `workspace = true`",
            "crates/nolints/src/lib.rs: add `#![forbid(unsafe_code)]`",
        ]
    );
}

/// Tidy also runs under plain `cargo test`, so a slip is caught before CI's own tidy step.
#[test]
fn this_repository_is_tidy() {
    let root = crate::util::repo_root().unwrap();
    let problems = problems(&root).unwrap();
    assert!(
        problems.is_empty(),
        "tidy problems:\n{}",
        problems.join("\n")
    );
}
