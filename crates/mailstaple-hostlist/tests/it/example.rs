//! The `check` example: an address item, a name item, a name resolved by its own resolver, an
//! unknown name, and a resolver that defers.

use mailstaple_hostlist::Verdict;

#[allow(dead_code)] // Its `main` reads the process arguments; the test passes them to `run`.
#[path = "../../examples/check.rs"]
mod check;

fn run(list: &str, address: &str, rest: &[&str]) -> (String, Verdict) {
    try_run(list, address, rest).unwrap()
}

fn try_run(
    list: &str,
    address: &str,
    rest: &[&str],
) -> Result<(String, Verdict), Box<dyn std::error::Error>> {
    let args: Vec<String> = [list, address]
        .iter()
        .chain(rest)
        .map(|s| (*s).to_owned())
        .collect();
    check::run(&args)
}

#[test]
fn check_matches_by_address_name_and_custom_resolver() {
    let list = "<; 192.0.2.0/24 ; *.example.org ; relay.example.net";
    let (report, verdict) = run(list, "192.0.2.9", &[]);
    assert_eq!(verdict, Verdict::Match, "{report}");
    assert!(report.contains("\"192.0.2.0/24\""), "{report}");

    let (report, verdict) = run(list, "198.51.100.7", &["mx.example.org"]);
    assert_eq!(verdict, Verdict::Match, "{report}");
    assert!(report.contains("\"*.example.org\""), "{report}");

    // relay.example.net is looked up with the example's resolver, given on the command line.
    let (report, verdict) = run(
        list,
        "203.0.113.5",
        &["mx.example.com", "relay.example.net=203.0.113.5"],
    );
    assert_eq!(verdict, Verdict::Match, "{report}");
    assert!(report.contains("\"relay.example.net\""), "{report}");
    let (report, verdict) = run(
        list,
        "203.0.113.6",
        &["mx.example.com", "relay.example.net=203.0.113.5"],
    );
    assert_eq!(verdict, Verdict::NoMatch, "{report}");

    // The address must be an IP address; a bad one is an error, not a non-match.
    assert!(try_run(list, "mx.example.org", &[]).is_err());
    assert!(
        check::run(&[list.to_owned()]).is_err(),
        "ADDRESS is required"
    );
}
