//! Compiles an Exim host list and matches one host, by address and by name, with a resolver of
//! its own (a table from the command line; a real program would ask DNS).
//!
//! ```text
//! cargo run -p mailstaple-hostlist --example check -- LIST ADDRESS [NAME] [NAME=ADDRESS]...
//! ```
//!
//! Example: `'<; 192.0.2.0/24 ; *.example.org ; relay.example.net' 198.51.100.7 mx.example.org
//! relay.example.net=203.0.113.5`. Prints the outcome and the deciding item; exits 0 on a
//! match, 1 on no match, 3 on a defer (as `mailstaple hostlist check`).

use std::{collections::HashMap, net::IpAddr};

use mailstaple_hostlist::{Env, Host, HostList, Resolution, Resolver, Verdict};

/// Resolves the names given as NAME=ADDRESS; any other name does not exist.
struct Table(HashMap<String, Vec<IpAddr>>);

impl Resolver for Table {
    fn resolve(&self, name: &str) -> Resolution {
        match self.0.get(&name.to_ascii_lowercase()) {
            Some(addresses) => Resolution::Found(addresses.clone()),
            None => Resolution::NotFound,
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (report, verdict) = run(&args)?;
    println!("{report}");
    std::process::exit(match verdict {
        Verdict::Match => 0,
        Verdict::NoMatch => 1,
        _ => 3,
    })
}

/// The command line without the program name; returns the outcome and the verdict.
pub(crate) fn run(args: &[String]) -> Result<(String, Verdict), Box<dyn std::error::Error>> {
    let [list, address, rest @ ..] = args else {
        return Err("usage: check LIST ADDRESS [NAME] [NAME=ADDRESS]...".into());
    };
    check(list, address, rest)
}

/// Matches the host at `address` (named by the first of `rest` without `=`) against `list`.
fn check(
    list: &str,
    address: &str,
    rest: &[String],
) -> Result<(String, Verdict), Box<dyn std::error::Error>> {
    let list = HostList::parse(list)?; // compiled once; check as many hosts as you like
    let mut table = Table(HashMap::new());
    let mut name = None;
    for arg in rest {
        match arg.split_once('=') {
            Some((n, a)) => table
                .0
                .entry(n.to_ascii_lowercase())
                .or_default()
                .push(a.parse()?),
            None => name = Some(arg.as_str()),
        }
    }
    let mut host = Host::new(address.parse()?);
    if let Some(name) = name {
        host = host.with_name(name);
    }
    let outcome = list.check(&host, &Env::new().with_resolver(&table));
    Ok((outcome.to_string(), outcome.verdict))
}
