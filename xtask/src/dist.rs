//! `cargo xtask dist`: the Debian package, built with Debian's own `dpkg-deb` from a staged tree.
//!
//! Why `dpkg-deb` and not `cargo-deb`: it is on every Debian system (`dpkg` is essential), it
//! needs nothing compiled first (`cargo install cargo-deb` would add minutes to a cold CI run),
//! and staging the tree here keeps every path, mode and maintainer script in view.
//! `dpkg-shlibdeps` (dpkg-dev) computes `Depends` from the binary, as debhelper would.
//!
//! The package holds the stripped release binary, the man pages and completions the binary
//! generates from its own clap definitions (`mailstaple generate`), the systemd units of
//! `contrib/systemd/` (pointed at `/usr/bin`), and from `contrib/debian/`: the control template,
//! the default configuration (a conffile), the maintainer scripts, the copyright file and the
//! lintian overrides.
//!
//! `cargo xtask dist --check` (the `dist` step of `cargo xtask ci`) also runs lintian, installs
//! the package with `dpkg -i` and checks the installed command, man page, configuration, user,
//! directories and units, reinstalls it over an edited conffile, then purges it again. Without
//! root, or on a machine that already has mailstaple (an admin's files are never touched), it
//! unpacks the package into a temporary root and checks the files there instead.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail, ensure};

use crate::{peers, util};

/// The Debian revision of packages built from the upstream tree.
const DEBIAN_REVISION: &str = "1";

/// Where Debian (bookworm) wants each completion script, by `mailstaple generate completion`
/// shell name.
const COMPLETIONS: &[(&str, &str)] = &[
    ("bash", "usr/share/bash-completion/completions/mailstaple"),
    ("zsh", "usr/share/zsh/vendor-completions/_mailstaple"),
    (
        "fish",
        "usr/share/fish/vendor_completions.d/mailstaple.fish",
    ),
];

/// bookworm's systemd reads packaged units from `/lib` (the move to `/usr/lib` came after it).
const UNIT_DIR: &str = "lib/systemd/system";

/// The default configuration's path on the installed system.
const CONFIG: &str = "etc/mailstaple/mailstaple.toml";

/// A built package.
pub(crate) struct Package {
    pub(crate) deb: PathBuf,
    /// The Debian version, `UPSTREAM-REVISION`.
    pub(crate) version: String,
}

/// `cargo xtask dist [--check]`.
pub(crate) fn run(root: &Path, check_it: bool) -> Result<()> {
    if check_it {
        check(root)
    } else {
        let package = build(root)?;
        println!("dist: {}", package.deb.display());
        Ok(())
    }
}

/// Builds the package and returns where it is.
pub(crate) fn build(root: &Path) -> Result<Package> {
    peers::ensure_packaging()?;
    let meta = Metadata::read(root)?;
    let version = format!("{}-{DEBIAN_REVISION}", meta.version);
    let arch = util::capture(Command::new("dpkg").arg("--print-architecture"))?
        .trim()
        .to_owned();

    util::run(Command::new("cargo").current_dir(root).args([
        "build",
        "--release",
        "--locked",
        "-p",
        "mailstaple",
        "--bin",
        "mailstaple",
    ]))?;
    let built = meta.target_dir.join("release").join("mailstaple");

    let dist = meta.target_dir.join("dist");
    let stage = dist.join(format!("mailstaple_{version}_{arch}"));
    if stage.exists() {
        std::fs::remove_dir_all(&stage)
            .with_context(|| format!("cannot remove the old stage {}", stage.display()))?;
    }
    let contrib = root.join("contrib");

    // The binary, stripped as dh_strip does (the release profile keeps line tables).
    let bin = stage.join("usr/bin/mailstaple");
    install_file(&built, &bin, 0o755)?;
    util::run(
        Command::new("strip")
            .args([
                "--remove-section=.comment",
                "--remove-section=.note",
                "--strip-unneeded",
            ])
            .arg(&bin),
    )?;

    // Man pages and completions, from the binary's own definitions.
    let man = stage.join("usr/share/man/man1");
    make_dir(&man)?;
    util::capture(Command::new(&bin).args(["generate", "man"]).arg(&man))?;
    for page in list_dir(&man)? {
        set_mode(&page, 0o644)?;
        gzip(&page)?;
    }
    for (shell, path) in COMPLETIONS {
        let script = util::capture(Command::new(&bin).args(["generate", "completion", shell]))?;
        write_file(&stage.join(path), script.as_bytes(), 0o644)?;
    }

    // The units, pointed at the packaged binary.
    for unit in list_dir(&contrib.join("systemd"))? {
        let Some(name) = unit.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !name.ends_with(".service") {
            continue;
        }
        let text = read(&unit)?;
        write_file(
            &stage.join(UNIT_DIR).join(name),
            packaged_unit(&text).as_bytes(),
            0o644,
        )?;
    }

    let debian = contrib.join("debian");
    write_file(
        &stage.join(CONFIG),
        read(&debian.join("mailstaple.toml"))?.as_bytes(),
        0o644,
    )?;

    // Documentation: copyright (with the crates linked in), changelogs.
    let control_template = read(&debian.join("control.in"))?;
    let doc = stage.join("usr/share/doc/mailstaple");
    let mut copyright = read(&debian.join("copyright"))?;
    copyright.push_str(&linked_crates_paragraph(root)?);
    write_file(&doc.join("copyright"), copyright.as_bytes(), 0o644)?;
    let changelog = doc.join("changelog.Debian");
    write_file(
        &changelog,
        debian_changelog(
            &meta.version,
            &version,
            &maintainer(&control_template)?,
            &changelog_date(root)?,
        )
        .as_bytes(),
        0o644,
    )?;
    gzip(&changelog)?;
    install_file(
        &debian.join("lintian-overrides"),
        &stage.join("usr/share/lintian/overrides/mailstaple"),
        0o644,
    )?;

    // Control area.
    let control_dir = stage.join("DEBIAN");
    let depends = shlib_depends(&dist, &bin)?;
    let control = control_file(
        &control_template,
        &Fields {
            version: &version,
            arch: &arch,
            installed_size_kib: installed_size_kib(&stage)?,
            depends: &depends,
            homepage: meta.homepage.as_deref(),
        },
    )?;
    write_file(&control_dir.join("control"), control.as_bytes(), 0o644)?;
    install_file(
        &debian.join("conffiles"),
        &control_dir.join("conffiles"),
        0o644,
    )?;
    for script in ["postinst", "prerm", "postrm"] {
        install_file(&debian.join(script), &control_dir.join(script), 0o755)?;
    }
    let md5sums = md5sums(&stage)?;
    write_file(&control_dir.join("md5sums"), md5sums.as_bytes(), 0o644)?;
    set_dir_modes(&stage)?;

    let deb = dist.join(format!("mailstaple_{version}_{arch}.deb"));
    util::run(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(&stage)
            .arg(&deb),
    )?;
    let size = std::fs::metadata(&deb)
        .with_context(|| format!("cannot stat {}", deb.display()))?
        .len();
    println!("dist: {} ({} KiB)", deb.display(), size.div_ceil(1024));
    Ok(Package { deb, version })
}

/// Builds the package, lints it, installs it and checks what was installed.
fn check(root: &Path) -> Result<()> {
    let package = build(root)?;
    let deb = &package.deb;

    let info = util::capture(Command::new("dpkg-deb").arg("--info").arg(deb))?;
    println!("{info}");
    for want in [
        "Package: mailstaple".to_owned(),
        format!("Version: {}", package.version),
        "Section: mail".to_owned(),
        "Priority: optional".to_owned(),
    ] {
        ensure!(
            info.lines().any(|line| line.trim() == want),
            "dpkg-deb --info lacks `{want}`"
        );
    }
    ensure!(
        info.lines()
            .any(|line| line.trim().starts_with("Depends: libc6 (>=")),
        "Depends names no libc6 version"
    );
    let contents = util::capture(Command::new("dpkg-deb").arg("--contents").arg(deb))?;
    for want in expected_paths() {
        ensure!(
            contents
                .lines()
                .any(|line| line.ends_with(&format!(".{want}"))),
            "the package lacks {want}"
        );
    }

    // Errors fail; warnings and notes are printed for people to read.
    util::run(
        Command::new("lintian")
            .args(["--fail-on", "error", "--display-info", "--allow-root"])
            .arg(deb),
    )?;

    if !is_root() {
        println!("dist: not root, so the package is unpacked, not installed");
        return check_unpacked(root, deb);
    }
    if let Some(found) = existing_install() {
        println!(
            "dist: this machine already has {found}; installing and purging the package would \
             touch an admin's files, so it is unpacked instead"
        );
        return check_unpacked(root, deb);
    }
    check_installed(deb)
}

/// What of mailstaple is on this machine already, if anything: a check that installs and purges
/// the package must never replace or delete an admin's installation.
fn existing_install() -> Option<String> {
    let status = util::probe(Command::new("dpkg-query").args([
        "--show",
        "--showformat=${db:Status-Status}",
        "mailstaple",
    ]));
    if let Some(status) = status.filter(|s| !s.trim().is_empty() && s.trim() != "not-installed") {
        return Some(format!("the package mailstaple ({})", status.trim()));
    }
    ["/usr/bin/mailstaple", "/etc/mailstaple"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .map(|path| format!("{path} (not from the package)"))
}

/// Paths every package must hold, as `dpkg-deb --contents` prints them after the `.`.
fn expected_paths() -> Vec<String> {
    let mut paths = vec![
        "/usr/bin/mailstaple".to_owned(),
        "/usr/share/man/man1/mailstaple.1.gz".to_owned(),
        "/usr/share/man/man1/mailstaple-config-check.1.gz".to_owned(),
        "/usr/share/doc/mailstaple/copyright".to_owned(),
        "/usr/share/doc/mailstaple/changelog.Debian.gz".to_owned(),
        format!("/{CONFIG}"),
        format!("/{UNIT_DIR}/mailstaple-serve.service"),
        format!("/{UNIT_DIR}/mailstaple-fetch.service"),
        format!("/{UNIT_DIR}/mailstaple-respond.service"),
    ];
    paths.extend(COMPLETIONS.iter().map(|(_, path)| format!("/{path}")));
    paths
}

/// `dpkg -i`, the checks on the live system, a reinstall (the upgrade path keeps the admin's
/// configuration), then `dpkg --purge`.
fn check_installed(deb: &Path) -> Result<()> {
    let dpkg = |args: &[&str]| -> Result<()> {
        util::run(
            Command::new("dpkg")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    let deb_arg = deb
        .to_str()
        .with_context(|| format!("{} is not UTF-8", deb.display()))?;
    dpkg(&["-i", deb_arg])?;
    let config = Path::new("/").join(CONFIG);
    let result = (|| -> Result<()> {
        check_files(Path::new("/"), Path::new("/usr/bin/mailstaple"))?;
        check_account()?;
        check_units(Path::new("/").join(UNIT_DIR).as_path())?;

        // The admin edits the conffile; an upgrade (here a reinstall) keeps the edit.
        let mut edited = read(&config)?;
        edited.push_str("\n# edited by the dist check\n");
        std::fs::write(&config, &edited)
            .with_context(|| format!("cannot write {}", config.display()))?;
        dpkg(&["-i", "--force-confold", deb_arg])?;
        ensure!(
            read(&config)? == edited,
            "reinstalling the package lost the edit of {}",
            config.display()
        );
        check_account()
    })();
    // Leave the machine as it was, also when a check failed; the user stays, by design.
    let purged = dpkg(&["--purge", "mailstaple"]);
    result?;
    purged?;
    ensure!(!config.exists(), "{} survived the purge", config.display());
    ensure!(
        !Path::new("/usr/bin/mailstaple").exists(),
        "/usr/bin/mailstaple survived the purge"
    );
    println!("dist: installed, checked, reinstalled keeping the edited conffile, purged");
    Ok(())
}

/// Without root, or where mailstaple is installed already: unpack into a temporary root and
/// check the files there.
fn check_unpacked(root: &Path, deb: &Path) -> Result<()> {
    let meta = Metadata::read(root)?;
    let tree = meta.target_dir.join("dist").join("unpacked");
    if tree.exists() {
        std::fs::remove_dir_all(&tree)
            .with_context(|| format!("cannot remove {}", tree.display()))?;
    }
    util::run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&tree))?;
    check_files(&tree, &tree.join("usr/bin/mailstaple"))?;
    println!(
        "dist: unpacked into {} and checked there; the maintainer scripts, the system user and \
         `systemd-analyze verify` (which needs /usr/bin/mailstaple) were not checked",
        tree.display()
    );
    Ok(())
}

/// The command runs, its page renders, the default configuration passes `config check`.
fn check_files(root: &Path, bin: &Path) -> Result<()> {
    let version = util::capture(Command::new(bin).arg("--version"))?;
    println!("dist: {}", version.trim());
    ensure!(
        version.starts_with("mailstaple "),
        "`mailstaple --version` printed {version:?}"
    );
    let page = root.join("usr/share/man/man1/mailstaple.1.gz");
    let rendered = util::capture(
        Command::new("man")
            .arg("-l")
            .arg(&page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80"),
    )?;
    ensure!(
        rendered.contains("SUBCOMMANDS") && rendered.contains("mailstaple-config(1)"),
        "`man -l {}` rendered no subcommand list:\n{rendered}",
        page.display()
    );
    let config = root.join(CONFIG);
    let checked = util::capture(Command::new(bin).args(["config", "check"]).arg(&config))?;
    print!("{checked}");
    check_examples(bin, &read(&config)?)
}

/// The commented examples in the default configuration, uncommented, are refused only for the
/// files they name that this machine lacks: no unknown section or option, no bad value.
fn check_examples(bin: &Path, default: &str) -> Result<()> {
    let uncommented = uncomment_examples(default);
    let dir = std::env::temp_dir().join(format!("mailstaple-dist-{}", std::process::id()));
    let path = dir.join("examples.toml");
    write_file(&path, uncommented.as_bytes(), 0o644)?;
    let output = Command::new(bin)
        .args(["config", "check"])
        .arg(&path)
        .output()
        .context("cannot run mailstaple config check")?;
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&output.stdout);
    let wrong: Vec<&str> = text
        .lines()
        .filter(|line| line.contains(": error: "))
        .filter(|line| !(line.contains("cannot read") || line.contains("does not exist")))
        .collect();
    ensure!(
        wrong.is_empty() && output.status.code() != Some(2),
        "the default configuration's examples, uncommented, are refused for more than missing files:\n{}",
        wrong.join("\n")
    );
    ensure!(
        uncommented.lines().count() > 0 && uncommented != default,
        "the default configuration has no commented examples"
    );
    println!("dist: the default configuration's examples name only known sections and options");
    Ok(())
}

/// Uncomments `#name = ...` and `#[section]` lines; prose comments stay.
fn uncomment_examples(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let example = line
            .strip_prefix('#')
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_lowercase() || c == '['));
        out.push_str(example.unwrap_or(line));
        out.push('\n');
    }
    out
}

fn check_account() -> Result<()> {
    let user = util::capture(Command::new("getent").args(["passwd", "mailstaple"]))?;
    let fields: Vec<&str> = user.trim().split(':').collect();
    ensure!(
        fields.get(5) == Some(&"/var/lib/mailstaple")
            && fields.get(6) == Some(&"/usr/sbin/nologin"),
        "user mailstaple: {user:?}"
    );
    let uid: u32 = fields
        .get(2)
        .and_then(|uid| uid.parse().ok())
        .with_context(|| format!("user mailstaple has no numeric uid: {user:?}"))?;
    ensure!(uid < 1000, "user mailstaple is no system user (uid {uid})");
    for (dir, mode) in [
        ("/var/lib/mailstaple", "755"),
        ("/var/spool/mailstaple", "700"),
    ] {
        let stat = util::capture(Command::new("stat").args(["-c", "%U:%G %a"]).arg(dir))?;
        ensure!(
            stat.trim() == format!("mailstaple:mailstaple {mode}"),
            "{dir} is {}, wanted mailstaple:mailstaple {mode}",
            stat.trim()
        );
    }
    Ok(())
}

/// `systemd-analyze verify` where it exists; it checks the ExecStart binary and the man page
/// the units name, so it runs only on an installed package.
fn check_units(dir: &Path) -> Result<()> {
    let Some(analyze) = util::find_program("systemd-analyze") else {
        println!("dist: systemd-analyze is missing (package systemd), units not verified");
        return Ok(());
    };
    let units: Vec<PathBuf> = list_dir(dir)?
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("mailstaple"))
        })
        .collect();
    ensure!(
        units.len() == 3,
        "expected three units in {}, found {units:?}",
        dir.display()
    );
    util::run(Command::new(analyze).arg("verify").args(&units))
}

fn is_root() -> bool {
    util::probe(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

/// What the package takes from `cargo metadata`.
struct Metadata {
    version: String,
    homepage: Option<String>,
    target_dir: PathBuf,
}

impl Metadata {
    fn read(root: &Path) -> Result<Self> {
        let json = util::capture(Command::new("cargo").current_dir(root).args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--locked",
        ]))?;
        let value: serde_json::Value =
            serde_json::from_str(&json).context("`cargo metadata` printed bad JSON")?;
        let package = value
            .get("packages")
            .and_then(|p| p.as_array())
            .and_then(|packages| {
                packages
                    .iter()
                    .find(|p| p.get("name").and_then(|n| n.as_str()) == Some("mailstaple"))
            })
            .context("`cargo metadata` lists no package `mailstaple`")?;
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
        let version = text(package.get("version")).context("package mailstaple has no version")?;
        let target_dir = text(value.get("target_directory"))
            .context("`cargo metadata` names no target directory")?;
        Ok(Self {
            version,
            homepage: text(package.get("homepage")).or_else(|| text(package.get("repository"))),
            target_dir: PathBuf::from(target_dir),
        })
    }
}

/// The fields `control.in` leaves open.
struct Fields<'a> {
    version: &'a str,
    arch: &'a str,
    installed_size_kib: u64,
    depends: &'a str,
    homepage: Option<&'a str>,
}

/// Fills `control.in`; a template line whose field is unknown (`Homepage` without a repository)
/// is dropped, a placeholder left over is an error.
fn control_file(template: &str, fields: &Fields<'_>) -> Result<String> {
    let mut out = String::new();
    for line in template.lines() {
        let line = line
            .replace("@VERSION@", fields.version)
            .replace("@ARCH@", fields.arch)
            .replace("@INSTALLED_SIZE@", &fields.installed_size_kib.to_string())
            .replace("@DEPENDS@", fields.depends);
        let line = match fields.homepage {
            Some(homepage) => line.replace("@HOMEPAGE@", homepage),
            None if line.contains("@HOMEPAGE@") => continue,
            None => line,
        };
        ensure!(
            !has_placeholder(&line),
            "control.in: unfilled placeholder in `{line}`"
        );
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// Whether `line` holds an `@NAME@` placeholder (an e-mail address is none).
fn has_placeholder(line: &str) -> bool {
    let parts: Vec<&str> = line.split('@').collect();
    // The pieces between two `@`: neither the first nor the last.
    let inner = parts.len().saturating_sub(2);
    parts.iter().skip(1).take(inner).any(|between| {
        !between.is_empty() && between.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    })
}

/// A unit of `contrib/systemd/` as packaged: the binary is in `/usr/bin`.
fn packaged_unit(text: &str) -> String {
    text.replace("/usr/local/bin/mailstaple", "/usr/bin/mailstaple")
}

/// `Depends` from `dpkg-shlibdeps`, which wants a `debian/control` in its working directory.
fn shlib_depends(dist: &Path, bin: &Path) -> Result<String> {
    let work = dist.join("shlibdeps");
    write_file(
        &work.join("debian/control"),
        b"Source: mailstaple\n\nPackage: mailstaple\nArchitecture: any\n",
        0o644,
    )?;
    let out = util::capture(
        Command::new("dpkg-shlibdeps")
            .current_dir(&work)
            .arg("-O")
            .arg(format!("-e{}", bin.display())),
    )?;
    parse_shlibdeps(&out)
}

/// `shlibs:Depends=libc6 (>= 2.34), libgcc-s1 (>= 4.2)` -> `libc6 (>= 2.34), libgcc-s1 (>= 4.2)`.
fn parse_shlibdeps(out: &str) -> Result<String> {
    out.lines()
        .find_map(|line| line.strip_prefix("shlibs:Depends="))
        .map(|deps| deps.trim().to_owned())
        .filter(|deps| !deps.is_empty())
        .with_context(|| format!("dpkg-shlibdeps printed no shlibs:Depends: {out:?}"))
}

/// The crates linked into the binary, with their licenses, as a DEP-5 `Files` paragraph.
fn linked_crates_paragraph(root: &Path) -> Result<String> {
    let tree = util::capture(Command::new("cargo").current_dir(root).args([
        "tree",
        "--locked",
        "-p",
        "mailstaple",
        "-e",
        "normal,no-proc-macro",
        "--prefix",
        "none",
        "--format",
        "{p}\t{l}",
    ]))?;
    let crates = linked_crates(&tree);
    ensure!(!crates.is_empty(), "`cargo tree` listed no crates.io crate");
    let mut out = String::from(
        "\nFiles: usr/bin/mailstaple\n\
         Copyright: The mailstaple developers, and the authors of the crates below\n\
         License: Apache-2.0 or MIT\n\
         Comment: The binary statically links these Rust crates from crates.io, each under\n \
         its own license (crate version: license expression, as its Cargo.toml declares):\n",
    );
    for (name, license) in crates {
        let _ = writeln!(out, " {name}: {license}");
    }
    Ok(out)
}

/// `name vX.Y.Z\tLICENSE` lines of `cargo tree`, without our own path crates (their lines name
/// a path in parentheses), repeat marks `(*)` or repeats.
fn linked_crates(tree: &str) -> Vec<(String, String)> {
    let mut crates: Vec<(String, String)> = tree
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(package, _)| !package.contains(" (/"))
        .map(|(package, license)| {
            let package = package.trim().to_owned();
            let license = match license.trim().trim_end_matches(" (*)") {
                "" => "unstated".to_owned(),
                l => l.to_owned(),
            };
            (package, license)
        })
        .collect();
    crates.sort();
    crates.dedup();
    crates
}

fn debian_changelog(upstream: &str, version: &str, maintainer: &str, date: &str) -> String {
    format!(
        "mailstaple ({version}) unstable; urgency=medium\n\n  \
         * Upstream release {upstream}, packaged by `cargo xtask dist`.\n\n \
         -- {maintainer}  {date}\n"
    )
}

/// The `Maintainer` of `control.in`, who also signs the changelog entry.
fn maintainer(template: &str) -> Result<String> {
    template
        .lines()
        .find_map(|line| line.strip_prefix("Maintainer:"))
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .context("control.in names no Maintainer")
}

/// The date of the commit built (so a rebuild is byte-identical), in the changelog's format.
fn changelog_date(root: &Path) -> Result<String> {
    let committed = util::probe(Command::new("git").current_dir(root).args([
        "log",
        "-1",
        "--date=format:%a, %d %b %Y %H:%M:%S %z",
        "--format=%ad",
    ]));
    match committed.map(|d| d.trim().to_owned()) {
        Some(date) if !date.is_empty() => Ok(date),
        _ => Ok(util::capture(Command::new("date").arg("-R"))?
            .trim()
            .to_owned()),
    }
}

/// `Installed-Size` in KiB: every file rounded up to a KiB, as `du` would count it.
fn installed_size_kib(stage: &Path) -> Result<u64> {
    let mut kib = 0;
    for file in files_under(stage)? {
        let len = std::fs::metadata(&file)
            .with_context(|| format!("cannot stat {}", file.display()))?
            .len();
        kib += len.div_ceil(1024);
    }
    Ok(kib)
}

/// `DEBIAN/md5sums`: every shipped file but the conffile (dpkg tracks conffiles itself).
fn md5sums(stage: &Path) -> Result<String> {
    let mut relative: Vec<String> = Vec::new();
    for file in files_under(stage)? {
        let rel = file
            .strip_prefix(stage)
            .with_context(|| format!("{} is outside the stage", file.display()))?;
        let rel = rel
            .to_str()
            .with_context(|| format!("{} is not UTF-8", rel.display()))?;
        if rel != CONFIG {
            relative.push(rel.to_owned());
        }
    }
    relative.sort();
    util::capture(Command::new("md5sum").current_dir(stage).args(&relative))
}

/// Every regular file under `dir`, the control area excluded.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for path in list_dir(&dir)? {
            if path.file_name().is_some_and(|n| n == "DEBIAN") {
                continue;
            }
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    Ok(out)
}

/// Directories 0755 whatever the umask.
fn set_dir_modes(dir: &Path) -> Result<()> {
    set_mode(dir, 0o755)?;
    for path in list_dir(dir)? {
        if path.is_dir() {
            set_dir_modes(&path)?;
        }
    }
    Ok(())
}

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        paths.push(
            entry
                .with_context(|| format!("cannot list {}", dir.display()))?
                .path(),
        );
    }
    paths.sort();
    Ok(paths)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn make_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    if let Some(parent) = path.parent() {
        make_dir(parent)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    set_mode(path, mode)
}

fn install_file(from: &Path, to: &Path, mode: u32) -> Result<()> {
    if let Some(parent) = to.parent() {
        make_dir(parent)?;
    }
    std::fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    set_mode(to, mode)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

/// `gzip -9n`: best compression, no name or time stamp inside (reproducible, as lintian wants).
fn gzip(path: &Path) -> Result<()> {
    util::run(Command::new("gzip").args(["-9n", "--force"]).arg(path))?;
    let mut gz = path.as_os_str().to_owned();
    gz.push(".gz");
    if !Path::new(&gz).exists() {
        bail!("gzip left no {}", Path::new(&gz).display());
    }
    set_mode(Path::new(&gz), 0o644)
}

#[cfg(test)]
mod tests;
