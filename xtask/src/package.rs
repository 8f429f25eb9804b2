//! `cargo xtask package`: the crates build as a dependent project sees them.
//!
//! - Every workspace crate whose `publish` allows it (read from `cargo metadata`, so a new crate
//!   is covered the day it is added) goes through `cargo package --no-verify`: the manifest,
//!   the metadata crates.io requires, the readme and the version on every dependency between
//!   our crates are checked, and the `.crate` files are written to `target/package/`.
//! - `tests/downstream/`, a crate with a workspace of its own, is built and its tests run: it
//!   serves, requires and verifies a staple with the public API of `mailstaple-server`,
//!   `mailstaple-policy` and `mailstaple-verify` alone. It shares the workspace's target
//!   directory and profile, and its lock file is seeded from the workspace's `Cargo.lock`
//!   (ignored by git), so it builds the same dependency versions without resolving anything.
//!
//! Not `cargo package`'s own verification, which rebuilds every packaged crate and all their
//! dependencies without the workspace profile: several minutes on two cores for what the
//! downstream build checks in seconds. What it would add, files a build needs that the package
//! leaves out, tidy keeps out of reach: the only file `src/` includes is the crate's README.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::util;

/// The crate outside the workspace, relative to the root.
const DOWNSTREAM: &str = "tests/downstream";

pub(crate) fn run(root: &Path) -> Result<()> {
    let workspace = Workspace::read(root)?;
    if workspace.publishable.is_empty() {
        bail!("no workspace crate is publishable; `cargo package` would check nothing");
    }
    let mut package = Command::new("cargo");
    package
        .args(["package", "--no-verify", "--allow-dirty", "--locked"])
        .current_dir(root);
    for (name, _) in &workspace.publishable {
        package.args(["-p", name]);
    }
    util::run(&mut package)?;
    for (name, version) in &workspace.publishable {
        let file = workspace
            .target_dir
            .join("package")
            .join(format!("{name}-{version}.crate"));
        let size = fs::metadata(&file)
            .with_context(|| format!("`cargo package` wrote no {}", file.display()))?
            .len();
        println!("package: {name} {version}: {} KiB", size.div_ceil(1024));
    }
    downstream(root, &workspace.target_dir)
}

/// Builds and tests the downstream crate against the workspace's crates.
fn downstream(root: &Path, target_dir: &Path) -> Result<()> {
    let dir = root.join(DOWNSTREAM);
    let lock = dir.join("Cargo.lock");
    fs::copy(root.join("Cargo.lock"), &lock)
        .with_context(|| format!("cannot seed {}", lock.display()))?;
    util::run(
        Command::new("cargo")
            .args(["fmt", "--check"])
            .current_dir(&dir),
    )?;
    // `--offline`: every version is in the seeded lock and already downloaded by the workspace.
    util::run(
        Command::new("cargo")
            .args(["test", "--offline"])
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(&dir),
    )
}

/// What `cargo metadata` says about the workspace.
struct Workspace {
    /// Name and version of every member that may be published.
    publishable: Vec<(String, String)>,
    /// Where cargo builds.
    target_dir: PathBuf,
}

impl Workspace {
    fn read(root: &Path) -> Result<Workspace> {
        let json = util::capture(
            Command::new("cargo")
                .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
                .current_dir(root),
        )?;
        let metadata: Value =
            serde_json::from_str(&json).context("`cargo metadata` printed bad JSON")?;
        Workspace::from_metadata(&metadata)
    }

    /// Reads `packages` (`name`, `version`, `publish`) and `target_directory`.
    fn from_metadata(metadata: &Value) -> Result<Workspace> {
        let packages = metadata["packages"]
            .as_array()
            .context("`cargo metadata` has no `packages` list")?;
        let mut publishable = Vec::new();
        for package in packages {
            let field = |key: &str| {
                package[key]
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("a package in `cargo metadata` has no `{key}`"))
            };
            // `publish` is null when any registry is allowed, a list of registries otherwise
            // (empty for `publish = false`).
            let allowed = match &package["publish"] {
                Value::Null => true,
                Value::Array(registries) => !registries.is_empty(),
                other => bail!("`publish` of {} is {other}", field("name")?),
            };
            if allowed {
                publishable.push((field("name")?, field("version")?));
            }
        }
        publishable.sort();
        let target_dir = metadata["target_directory"]
            .as_str()
            .context("`cargo metadata` has no `target_directory`")?;
        Ok(Workspace {
            publishable,
            target_dir: PathBuf::from(target_dir),
        })
    }
}

#[cfg(test)]
mod tests;
