//! `mailstaple generate`: man pages and shell completions, rendered from the command's own clap
//! definitions so they can never disagree with `--help`.
//!
//! Hidden from `mailstaple --help` (packagers use it, mail admins do not), documented in its
//! own `--help`, in `mailstaple-generate(1)` and in the README; `cargo xtask dist` runs it on the
//! release binary to fill the Debian package.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use clap::CommandFactory as _;

/// Generate the man pages or a shell completion script from the command-line definitions.
///
/// Packagers run this once at build time, as `cargo xtask dist` does for the Debian package.
#[derive(clap::Args, Debug)]
pub(crate) struct GenerateArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand, Debug)]
enum What {
    /// Write mailstaple.1 and one page per subcommand (mailstaple-ocsp-verify.1, ...) into DIR.
    ///
    /// DIR must exist; pages already there are replaced (each is written to a temporary file
    /// in DIR, then renamed over the old one). Prints the path of every page written.
    Man {
        /// The directory that receives the pages (for example `/usr/share/man/man1`).
        dir: PathBuf,
    },
    /// Print the completion script for SHELL to standard output.
    ///
    /// Where a Debian system looks for each: bash
    /// `/usr/share/bash-completion/completions/mailstaple`, zsh
    /// `/usr/share/zsh/vendor-completions/_mailstaple`, fish
    /// `/usr/share/fish/vendor_completions.d/mailstaple.fish`.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

pub(crate) fn run(args: GenerateArgs) -> i32 {
    let result = match args.what {
        What::Man { dir } => man_pages(&dir).map(|written| {
            for path in written {
                println!("{}", path.display());
            }
        }),
        What::Completion { shell } => completion(shell),
    };
    match result {
        Ok(()) => 0,
        Err(e) => crate::usage_error(&e),
    }
}

/// The command tree as clap builds it, with the display names (`mailstaple-ocsp-verify`)
/// that man pages are named after.
fn command() -> clap::Command {
    let mut cmd = crate::Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Renders every page into `dir` and returns their paths: the top command, then every
/// subcommand depth-first. clap's own `generate_to` skips hidden subcommands, which would leave
/// `generate` without the page its help promises, so the tree is walked here.
fn man_pages(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut pages = Vec::new();
    collect(command(), &mut pages);
    let mut written = Vec::with_capacity(pages.len());
    for cmd in pages {
        let man = clap_mangen::Man::new(cmd)
            .source(concat!("mailstaple ", env!("CARGO_PKG_VERSION")))
            .manual("mailstaple manual");
        let mut text = Vec::new();
        man.render(&mut text).context("cannot render a man page")?;
        let path = dir.join(man.get_filename());
        write_replacing(&path, &text)?;
        written.push(path);
    }
    Ok(written)
}

fn collect(cmd: clap::Command, into: &mut Vec<clap::Command>) {
    let children: Vec<clap::Command> = cmd.get_subcommands().cloned().collect();
    into.push(cmd);
    for child in children {
        collect(child, into);
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`: a reader sees
/// the old page or the new one, never half of one.
fn write_replacing(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot rename {} to {}", tmp.display(), path.display())
    })
}

fn completion(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut cmd = crate::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "mailstaple", &mut script);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&script)
        .and_then(|()| stdout.flush())
        .context("cannot write the completion script to standard output")
}
