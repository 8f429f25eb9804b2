//! `cargo xtask tidy`: cheap structural checks that keep the tree uniform.
//!
//! - Every `.rs` file under `crates/`, `xtask/`, `tests/` and `fuzz/` (build output, corpora and
//!   artifacts excepted) opens with module docs: its first non-empty line is a `//!` line, or, in
//!   a crate's `lib.rs`, `#![doc = include_str!("../README.md")]`.
//! - A crate with a `README.md` uses it as its crate docs (that include), so the README's
//!   example is a doc test and cannot drift from the API.
//! - Every crate's `src/lib.rs` carries `#![forbid(unsafe_code)]`.
//! - Every crate under `crates/` (and `xtask`, and `tests` when it is a package) opts into the
//!   workspace lints with `[lints] workspace = true`.
//! - Git tracks no file under a `target/` build directory.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

use crate::util;

/// Directories whose `.rs` files must open with `//!`, relative to the root.
const DOC_ROOTS: &[&str] = &["crates", "xtask", "tests", "fuzz"];

/// Directory names never descended into: build output and fuzzing data.
const SKIP_DIRS: &[&str] = &["target", "corpus", "artifacts", "coverage"];

/// Build directories that must never be tracked, relative to the root.
const BUILD_DIRS: &[&str] = &["target/", "fuzz/target/"];

pub(crate) fn run(root: &Path) -> Result<()> {
    let problems = problems(root)?;
    if problems.is_empty() {
        println!("tidy: ok");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    bail!("{} tidy problem(s)", problems.len())
}

/// Every tidy problem in the tree at `root`, as lines naming the file and the fix.
pub(crate) fn problems(root: &Path) -> Result<Vec<String>> {
    let mut problems = file_problems(root)?;
    let tracked = util::capture(
        Command::new("git")
            .args(["ls-files", "-z", "--"])
            .args(BUILD_DIRS)
            .current_dir(root),
    )
    .context("cannot list tracked files (is this a git checkout?)")?;
    for path in tracked_build_files(&tracked) {
        problems.push(format!(
            "{path}: build output is tracked by git; `git rm --cached` it"
        ));
    }
    Ok(problems)
}

/// The problems found by reading files, without asking git.
pub(crate) fn file_problems(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();

    for dir in DOC_ROOTS {
        for file in rust_files(&root.join(dir))? {
            let text = read(&file)?;
            let is_lib = file.file_name().is_some_and(|name| name == "lib.rs");
            let readme_docs = is_lib && opens_with_readme(&text);
            if !(opens_with_module_doc(&text) || readme_docs) {
                problems.push(format!(
                    "{}: the first non-empty line must be a `//!` doc comment saying what the file is for",
                    relative(root, &file)
                ));
            }
        }
    }

    for manifest in package_manifests(root)? {
        let dir = manifest.parent().unwrap_or(root);
        if !has_workspace_lints(&read(&manifest)?) {
            problems.push(format!(
                "{}: add `[lints]` with `workspace = true`",
                relative(root, &manifest)
            ));
        }
        let lib = dir.join("src").join("lib.rs");
        if lib.is_file() && !forbids_unsafe(&read(&lib)?) {
            problems.push(format!(
                "{}: add `#![forbid(unsafe_code)]`",
                relative(root, &lib)
            ));
        }
        if lib.is_file() && dir.join("README.md").is_file() && !opens_with_readme(&read(&lib)?) {
            problems.push(format!(
                "{}: open with `{README_DOC}` so that the README is the crate docs and its \
                 example a doc test",
                relative(root, &lib)
            ));
        }
    }

    Ok(problems)
}

/// Is the first non-empty line a `//!` inner doc comment?
pub(crate) fn opens_with_module_doc(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .lines()
        .find(|line| !line.trim().is_empty())
        .is_some_and(|line| line.trim_start().starts_with("//!"))
}

/// The first line of a `lib.rs` whose crate docs are its `README.md`.
const README_DOC: &str = r#"#![doc = include_str!("../README.md")]"#;

/// Is the first non-empty line `#![doc = include_str!("../README.md")]`?
pub(crate) fn opens_with_readme(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .lines()
        .find(|line| !line.trim().is_empty())
        .is_some_and(|line| line.trim() == README_DOC)
}

/// Does the file carry a crate-level `forbid` of `unsafe_code`?
pub(crate) fn forbids_unsafe(text: &str) -> bool {
    text.lines().any(|line| {
        let line: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        line.strip_prefix("#![forbid(")
            .and_then(|rest| rest.strip_suffix(")]"))
            .is_some_and(|lints| lints.split(',').any(|lint| lint == "unsafe_code"))
    })
}

/// Does the manifest opt into `[workspace.lints]`?
///
/// Accepts a `[lints]` table with `workspace = true`, or the dotted or inline forms at top level.
pub(crate) fn has_workspace_lints(manifest: &str) -> bool {
    let mut section = String::new();
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let line: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if line.starts_with('[') {
            section = line;
            continue;
        }
        let found = match section.as_str() {
            "[lints]" => line == "workspace=true",
            "" => line == "lints.workspace=true" || line == "lints={workspace=true}",
            _ => false,
        };
        if found {
            return true;
        }
    }
    false
}

/// Paths in NUL-separated `git ls-files -z` output, which was asked only about build dirs.
pub(crate) fn tracked_build_files(ls_files: &str) -> Vec<&str> {
    ls_files
        .split('\0')
        .filter(|path| BUILD_DIRS.iter().any(|dir| path.starts_with(dir)))
        .collect()
}

/// `Cargo.toml` of every workspace package: `crates/*`, `xtask` and `tests`.
fn package_manifests(root: &Path) -> Result<Vec<PathBuf>> {
    let mut manifests = Vec::new();
    let crates = root.join("crates");
    for entry in
        fs::read_dir(&crates).with_context(|| format!("cannot list {}", crates.display()))?
    {
        let manifest = entry?.path().join("Cargo.toml");
        if manifest.is_file() {
            manifests.push(manifest);
        }
    }
    for dir in ["xtask", "tests"] {
        let manifest = root.join(dir).join("Cargo.toml");
        if manifest.is_file() {
            manifests.push(manifest);
        }
    }
    manifests.sort();
    Ok(manifests)
}

fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if !dir.is_dir() {
        return Ok(files);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if entry.file_type()?.is_dir() {
                if !name.starts_with('.') && !SKIP_DIRS.contains(&name.as_ref()) {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests;
