//! `cargo xtask peers`: make sure the interop peers the tests talk to are installed.
//!
//! The interop tests run the real `openssl`, `gnutls-cli`, `exim` and `swaks`, `faketime`
//! to pin the clock of `openssl ocsp` in the differential tests, `dnsmasq` as the DNS server
//! of `probe --domain`, SoftHSM2 as the PKCS#11 token of `respond`, and `redis-server` with
//! `redis-cli` as the shared store of the fleet tests.
//! When one is missing this installs its Debian package (only the missing ones, after one
//! `apt-get update`); without root it stops and says what to install.
//! `cargo xtask ci` then sets `MAILSTAPLE_REQUIRE_PEERS=1`, so a test fails instead of skipping
//! when a peer it needs is absent.
//! The Debian packaging tools that `cargo xtask dist` and its CI step use (`dpkg-shlibdeps`,
//! `lintian`, `man`, `adduser`) are installed the same way.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Result, bail};

use crate::util;

/// Environment variable that turns "peer missing, test skipped" into a test failure.
pub(crate) const REQUIRE_PEERS_VAR: &str = "MAILSTAPLE_REQUIRE_PEERS";

/// One peer program and the Debian package that provides it.
struct Peer {
    /// Accepted executable names, in order of preference.
    programs: &'static [&'static str],
    package: &'static str,
    version_args: &'static [&'static str],
    /// A command that must succeed for the peer to count as present (when the program alone
    /// says too little, e.g. a Perl module).
    probe: Option<&'static [&'static str]>,
}

const PEERS: &[Peer] = &[
    Peer {
        programs: &["openssl"],
        package: "openssl",
        version_args: &["version"],
        probe: None,
    },
    Peer {
        programs: &["gnutls-cli"],
        package: "gnutls-bin",
        version_args: &["--version"],
        probe: None,
    },
    Peer {
        programs: &["exim", "exim4"],
        package: "exim4-daemon-heavy",
        version_args: &["-bV"],
        probe: None,
    },
    Peer {
        programs: &["swaks"],
        package: "swaks",
        version_args: &["--version"],
        probe: None,
    },
    // swaks --tls needs Perl's Net::SSLeay, which --no-install-recommends leaves out.
    Peer {
        programs: &["perl"],
        package: "libnet-ssleay-perl",
        version_args: &[
            "-MNet::SSLeay",
            "-e",
            "print \"Net::SSLeay $Net::SSLeay::VERSION\"",
        ],
        probe: Some(&["perl", "-MNet::SSLeay", "-e", "1"]),
    },
    // Freezes the clock of `openssl ocsp` in the differential tests.
    Peer {
        programs: &["faketime"],
        package: "faketime",
        version_args: &["--version"],
        probe: None,
    },
    // Serves MX and A records to `mailstaple probe --domain` in its tests.
    Peer {
        programs: &["dnsmasq"],
        package: "dnsmasq-base",
        version_args: &["--version"],
        probe: None,
    },
    // The PKCS#11 token the responder signs with in its tests (module and softhsm2-util).
    Peer {
        programs: &["softhsm2-util"],
        package: "softhsm2",
        version_args: &["--version"],
        probe: Some(&["test", "-e", "/usr/lib/softhsm/libsofthsm2.so"]),
    },
    // The shared store of the fleet tests (one server and a local three-master Cluster);
    // redis-cli, which writes hostile values and creates the Cluster, comes with it
    // (redis-tools).
    Peer {
        programs: &["redis-server"],
        package: "redis-server",
        version_args: &["--version"],
        probe: Some(&["redis-cli", "--version"]),
    },
];

/// The tools `cargo xtask dist` builds and checks the Debian package with.
const PACKAGING: &[Peer] = &[
    // dpkg-shlibdeps computes Depends; dpkg-dev also brings binutils' strip.
    Peer {
        programs: &["dpkg-shlibdeps"],
        package: "dpkg-dev",
        version_args: &["--version"],
        probe: Some(&["strip", "--version"]),
    },
    Peer {
        programs: &["lintian"],
        package: "lintian",
        version_args: &["--version"],
        probe: None,
    },
    // `man -l` renders the installed page.
    Peer {
        programs: &["man"],
        package: "man-db",
        version_args: &["--version"],
        probe: None,
    },
    // The package's postinst creates its system user with it.
    Peer {
        programs: &["adduser"],
        package: "adduser",
        version_args: &["--version"],
        probe: None,
    },
];

impl Peer {
    fn find(&self) -> Option<PathBuf> {
        if let Some([program, args @ ..]) = self.probe {
            let ok = std::process::Command::new(program)
                .args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return None;
            }
        }
        self.programs
            .iter()
            .find_map(|program| util::find_program(program))
    }

    fn describe(&self) -> String {
        format!(
            "{} (Debian package {})",
            self.programs.join(" or "),
            self.package
        )
    }
}

/// Installs whatever peer or packaging tool is missing and returns the path of each program.
pub(crate) fn ensure() -> Result<Vec<PathBuf>> {
    ensure_these(&PEERS.iter().chain(PACKAGING).collect::<Vec<_>>())
}

/// Installs whatever packaging tool is missing (for `cargo xtask dist` run on its own).
pub(crate) fn ensure_packaging() -> Result<()> {
    ensure_these(&PACKAGING.iter().collect::<Vec<_>>()).map(|_| ())
}

fn ensure_these(wanted: &[&Peer]) -> Result<Vec<PathBuf>> {
    let missing: Vec<&Peer> = wanted
        .iter()
        .copied()
        .filter(|peer| peer.find().is_none())
        .collect();
    if !missing.is_empty() {
        let described: Vec<String> = missing.iter().map(|peer| peer.describe()).collect();
        eprintln!("peers: missing {}", described.join(", "));
        let packages: Vec<&str> = missing.iter().map(|peer| peer.package).collect();
        if !is_root() {
            bail!(
                "interop peers or packaging tools are missing and installing them needs root: run `sudo apt-get update && sudo apt-get install -y --no-install-recommends {}`, or in `cargo xtask ci` skip with XTASK_SKIP=peers,dist (tests then skip their interop cases)",
                packages.join(" ")
            );
        }
        util::run(
            Command::new("apt-get")
                .arg("update")
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        util::run(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends"])
                .args(&packages)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }

    let mut found = Vec::new();
    for peer in wanted {
        let Some(path) = peer.find() else {
            bail!(
                "{} is still missing after installing {}",
                peer.describe(),
                peer.package
            );
        };
        println!(
            "peers: {:<22} {}",
            path.display(),
            version_line(&path, peer)
        );
        found.push(path);
    }
    Ok(found)
}

fn is_root() -> bool {
    util::probe(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

/// The first line a peer prints about its version, on either stream.
fn version_line(path: &Path, peer: &Peer) -> String {
    match Command::new(path).args(peer.version_args).output() {
        Ok(output) => {
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            stdout
                .lines()
                .chain(stderr.lines())
                .map(str::trim)
                .find(|line| !line.is_empty())
                .unwrap_or("(printed no version)")
                .to_owned()
        }
        Err(err) => format!("(cannot run: {err})"),
    }
}
