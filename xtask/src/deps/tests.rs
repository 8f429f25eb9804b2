//! Tests for the dependency table parser and the layering checker, on synthetic metadata.

use serde_json::json;

use super::*;

const TABLE: &str = "\
# Architecture

Some prose.

## Dependency table

The table is the source of truth.

| crate | may depend on |
|---|---|
| mailstaple-ocsp | |
| mailstaple-hostlist | |
| mailstaple-verify | mailstaple-ocsp |
| mailstaple-testpki | |
| `mailstaple` | `mailstaple-ocsp`, mailstaple-verify , mailstaple-hostlist |
| xtask | |

## Cross-cutting concerns

| crate | may depend on |
|---|---|
| not-read | anything |
";

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn parses_the_table_and_stops_at_the_next_heading() {
    let table = Table::parse(TABLE).unwrap();
    let expected: BTreeMap<String, BTreeSet<String>> = [
        ("mailstaple-ocsp", set(&[])),
        ("mailstaple-hostlist", set(&[])),
        ("mailstaple-verify", set(&["mailstaple-ocsp"])),
        ("mailstaple-testpki", set(&[])),
        (
            "mailstaple",
            set(&[
                "mailstaple-ocsp",
                "mailstaple-verify",
                "mailstaple-hostlist",
            ]),
        ),
        ("xtask", set(&[])),
    ]
    .into_iter()
    .map(|(name, allowed)| (name.to_owned(), allowed))
    .collect();
    assert_eq!(table.rows, expected);
}

#[test]
fn parses_the_real_architecture_file() {
    let root = crate::util::repo_root().unwrap();
    let markdown = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let table = Table::parse(&markdown).unwrap();
    assert!(table.rows.contains_key("xtask"), "{table:?}");
}

#[track_caller]
fn parse_err(markdown: &str) -> String {
    format!("{:#}", Table::parse(markdown).unwrap_err())
}

#[test]
fn rejects_malformed_tables() {
    let cases: &[(&str, &str)] = &[
        (
            "# Architecture\n| a | b |\n",
            "no `## Dependency table` heading",
        ),
        (
            "## Dependency table\n\nprose only\n## Next\n| crate | may depend on |\n",
            "no table",
        ),
        (
            "## Dependency table\n| name | deps |\n|---|---|\n",
            "header must be",
        ),
        (
            "## Dependency table\n| crate | may depend on |\n",
            "header and nothing else",
        ),
        (
            "## Dependency table\n| crate | may depend on |\n| a | b |\n",
            "line 3: expected `|---|---|`",
        ),
        (
            "## Dependency table\n| crate | may depend on |\n|---|---|\n| a | b | c |\n",
            "line 4: expected 2 cells, found 3",
        ),
        (
            "## Dependency table\n| crate | may depend on |\n|---|---|\n| a | |\n| a | b |\n",
            "line 5: a second row for `a`",
        ),
        (
            "## Dependency table\n| crate | may depend on |\n|---|---|\n| a | b, b |\n",
            "lists `b` twice",
        ),
        (
            "## Dependency table\n| crate | may depend on |\n|---|---|\n| a | a |\n",
            "`a` lists itself",
        ),
        (
            "## Dependency table\n| crate | may depend on |\n|---|---|\n| Bad Name | |\n",
            "`Bad Name` is not a crate name",
        ),
        (
            "## Dependency table\n| crate | may depend on |\n|---|---|\n| a | b; c |\n",
            "`b; c` is not a crate name",
        ),
    ];
    for (markdown, want) in cases {
        let got = parse_err(markdown);
        assert!(
            got.contains(want),
            "for {markdown:?}: {got:?} lacks {want:?}"
        );
    }
}

#[test]
fn accepts_aligned_separators_and_an_empty_table() {
    let table =
        Table::parse("## Dependency table\n|crate|May depend on|\n|:---|---:|\n\nafter\n").unwrap();
    assert!(table.rows.is_empty());
}

/// Builds `cargo metadata`-shaped JSON. Workspace packages are `members`; each package lists
/// `(dependency, kind)` pairs where kind is `""` (normal), `"build"` or `"dev"`.
fn metadata(members: &[&str], packages: &[(&str, &[(&str, &str)])]) -> Value {
    let id = |name: &str| {
        if members.contains(&name) {
            format!("path+file:///ws/crates/{name}#0.0.0")
        } else {
            format!("registry+https://example.invalid/index#{name}@1.0.0")
        }
    };
    let mut all: BTreeSet<&str> = members.iter().copied().collect();
    for (name, deps) in packages {
        all.insert(name);
        all.extend(deps.iter().map(|(dep, _)| *dep));
    }
    let package_list: Vec<Value> = all
        .iter()
        .map(|name| json!({ "id": id(name), "name": name, "version": "0.0.0" }))
        .collect();
    let nodes: Vec<Value> = all
        .iter()
        .map(|name| {
            let deps = packages
                .iter()
                .find(|(package, _)| package == name)
                .map_or(&[][..], |(_, deps)| deps);
            let mut by_dep: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
            for (dep, kind) in deps {
                let kind = if kind.is_empty() {
                    Value::Null
                } else {
                    json!(kind)
                };
                by_dep
                    .entry(dep)
                    .or_default()
                    .push(json!({ "kind": kind, "target": null }));
            }
            let deps: Vec<Value> = by_dep
                .into_iter()
                .map(|(dep, kinds)| {
                    json!({ "name": dep.replace('-', "_"), "pkg": id(dep), "dep_kinds": kinds })
                })
                .collect();
            json!({ "id": id(name), "dependencies": [], "deps": deps, "features": [] })
        })
        .collect();
    json!({
        "packages": package_list,
        "workspace_members": members.iter().map(|name| id(name)).collect::<Vec<_>>(),
        "resolve": { "nodes": nodes, "root": null },
        "version": 1,
    })
}

const MEMBERS: &[&str] = &[
    "mailstaple-ocsp",
    "mailstaple-hostlist",
    "mailstaple-verify",
    "mailstaple-testpki",
    "mailstaple",
    "xtask",
];

#[track_caller]
fn check_packages(packages: &[(&str, &[(&str, &str)])]) -> Report {
    let graph = Graph::from_metadata(&metadata(MEMBERS, packages)).unwrap();
    let table = Table::parse(TABLE).unwrap();
    check(&graph, &table, &Rules::PROJECT)
}

/// A graph that follows every rule.
const CLEAN: &[(&str, &[(&str, &str)])] = &[
    (
        "mailstaple-ocsp",
        &[
            ("der", ""),
            ("mailstaple-testpki", "dev"),
            ("rasn-ocsp", "dev"),
            ("ring", "dev"),
        ],
    ),
    ("mailstaple-hostlist", &[("regex", ""), ("cc", "build")]),
    (
        "mailstaple-verify",
        &[
            ("mailstaple-ocsp", ""),
            ("aws-lc-rs", ""),
            ("mailstaple-testpki", "dev"),
        ],
    ),
    ("aws-lc-rs", &[("aws-lc-sys", "")]),
    ("aws-lc-sys", &[("bindgen", "build")]),
    ("bindgen", &[("ring", "")]),
    ("mailstaple-testpki", &[("rcgen", "")]),
    (
        "mailstaple",
        &[
            ("mailstaple-ocsp", ""),
            ("mailstaple-verify", ""),
            ("mailstaple-hostlist", ""),
            ("tokio", ""),
            ("mailstaple-testpki", "dev"),
            ("mailstaple-ocsp", "dev"),
        ],
    ),
    ("xtask", &[("anyhow", ""), ("serde_json", "")]),
];

#[test]
fn a_clean_graph_passes_and_lists_its_edges() {
    let report = check_packages(CLEAN);
    assert_eq!(report.violations, Vec::<String>::new());
    let checked: Vec<String> = report.checked.iter().map(ToString::to_string).collect();
    assert_eq!(
        checked,
        [
            "mailstaple -> mailstaple-hostlist (normal)",
            "mailstaple -> mailstaple-ocsp (normal)",
            "mailstaple -> mailstaple-ocsp (dev)",
            "mailstaple -> mailstaple-testpki (dev)",
            "mailstaple -> mailstaple-verify (normal)",
            "mailstaple-ocsp -> mailstaple-testpki (dev)",
            "mailstaple-verify -> mailstaple-ocsp (normal)",
            "mailstaple-verify -> mailstaple-testpki (dev)",
        ]
    );
}

/// Replaces the dependencies of one package in `CLEAN` and returns the violations.
#[track_caller]
fn violations_with(package: &str, deps: &[(&str, &str)]) -> Vec<String> {
    let mut packages: Vec<(&str, &[(&str, &str)])> = CLEAN
        .iter()
        .copied()
        .filter(|(name, _)| *name != package)
        .collect();
    packages.push((package, deps));
    check_packages(&packages).violations
}

#[track_caller]
fn assert_one(violations: &[String], want: &str) {
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(
        violations.iter().any(|v| v.contains(want)),
        "{violations:#?} lacks {want:?}"
    );
}

#[test]
fn an_undeclared_normal_edge_fails() {
    let violations = violations_with("mailstaple-ocsp", &[("mailstaple-hostlist", "")]);
    assert_one(
        &violations,
        "mailstaple-ocsp -> mailstaple-hostlist (normal): not in the dependency table (`mailstaple-ocsp` may depend on: nothing)",
    );
}

#[test]
fn an_undeclared_build_edge_fails() {
    let violations = violations_with(
        "mailstaple-verify",
        &[("mailstaple-ocsp", ""), ("mailstaple-hostlist", "build")],
    );
    assert_one(
        &violations,
        "mailstaple-verify -> mailstaple-hostlist (build): not in the dependency table (`mailstaple-verify` may depend on: mailstaple-ocsp)",
    );
}

#[test]
fn an_upward_edge_fails_even_when_the_reverse_is_allowed() {
    let violations = violations_with("mailstaple-ocsp", &[("mailstaple-verify", "")]);
    assert_one(&violations, "mailstaple-ocsp -> mailstaple-verify (normal)");
}

#[test]
fn a_dev_edge_to_another_workspace_crate_fails() {
    let violations = violations_with("mailstaple-hostlist", &[("mailstaple-ocsp", "dev")]);
    assert_one(
        &violations,
        "mailstaple-hostlist -> mailstaple-ocsp (dev): a dev-dependency on a workspace crate must be `mailstaple-testpki` or an allowed normal edge",
    );
}

#[test]
fn the_test_pki_as_a_normal_or_build_dependency_fails() {
    for kind in ["", "build"] {
        let violations = violations_with(
            "mailstaple-verify",
            &[("mailstaple-ocsp", ""), ("mailstaple-testpki", kind)],
        );
        assert_one(
            &violations,
            "`mailstaple-testpki` may only be a dev-dependency",
        );
    }
}

#[test]
fn the_table_may_not_allow_the_test_pki() {
    let markdown = TABLE.replace(
        "| mailstaple-hostlist | |",
        "| mailstaple-hostlist | mailstaple-testpki |",
    );
    let graph = Graph::from_metadata(&metadata(MEMBERS, CLEAN)).unwrap();
    let report = check(&graph, &Table::parse(&markdown).unwrap(), &Rules::PROJECT);
    assert_one(
        &report.violations,
        "lets `mailstaple-hostlist` depend on `mailstaple-testpki`, which may only be a dev-dependency",
    );
}

#[test]
fn table_and_workspace_must_name_the_same_crates() {
    let members = [MEMBERS, &["mailstaple-new"]].concat();
    let graph = Graph::from_metadata(&metadata(&members, CLEAN)).unwrap();
    let markdown = TABLE.replace(
        "| xtask | |",
        "| xtask | |\n| mailstaple-gone | mailstaple-ghost |",
    );
    let report = check(&graph, &Table::parse(&markdown).unwrap(), &Rules::PROJECT);
    assert_eq!(
        report.violations,
        [
            "workspace crate `mailstaple-new` has no row in the dependency table",
            "the dependency table has a row for `mailstaple-gone`, which is not a workspace crate",
            "the dependency table lets `mailstaple-gone` depend on `mailstaple-ghost`, which is not a workspace crate",
        ]
    );
}

#[test]
fn a_forbidden_crate_below_tls_is_found_through_the_tree() {
    let mut packages: Vec<(&str, &[(&str, &str)])> = CLEAN.to_vec();
    packages.retain(|(name, _)| *name != "aws-lc-rs");
    packages.push(("aws-lc-rs", &[("aws-lc-sys", ""), ("helper", "")]));
    packages.push(("helper", &[("ring", "")]));
    let violations = check_packages(&packages).violations;
    assert_one(
        &violations,
        "`mailstaple-verify` is below the TLS layer but pulls `ring` into its normal dependencies: mailstaple-verify -> aws-lc-rs -> helper -> ring",
    );
}

#[test]
fn every_forbidden_crate_is_reported_for_every_low_crate() {
    let violations = violations_with(
        "mailstaple-ocsp",
        &[("rustls", ""), ("tokio", ""), ("hyper", "")],
    );
    // The verifier sits above the parser, so it inherits all three.
    assert_eq!(violations.len(), 6, "{violations:#?}");
    for forbidden in ["rustls", "tokio", "hyper"] {
        assert!(violations.iter().any(|v| v.ends_with(&format!(
            "mailstaple-verify -> mailstaple-ocsp -> {forbidden}"
        ))));
        assert!(
            violations
                .iter()
                .any(|v| v.ends_with(&format!(": mailstaple-ocsp -> {forbidden}")))
        );
    }
}

#[test]
fn forbidden_crates_only_count_in_normal_dependencies() {
    // `CLEAN` has ring as a dev-dependency of the parser and behind a build-dependency of
    // aws-lc-sys, and tokio in the binary: none of that is below the TLS layer at run time.
    assert!(check_packages(CLEAN).violations.is_empty());
}

#[test]
fn a_named_low_crate_must_exist() {
    let graph = Graph::from_metadata(&metadata(MEMBERS, CLEAN)).unwrap();
    let rules = Rules {
        dev_only: DEV_ONLY,
        below_tls: &["mailstaple-ocsp", "mailstaple-renamed"],
        forbidden_below_tls: FORBIDDEN_BELOW_TLS,
    };
    let report = check(&graph, &Table::parse(TABLE).unwrap(), &rules);
    assert_one(
        &report.violations,
        "`mailstaple-renamed` is named as a crate below the TLS layer but is not a workspace crate",
    );
}

#[test]
fn metadata_without_a_resolve_graph_is_refused() {
    let mut value = metadata(MEMBERS, CLEAN);
    value["resolve"] = Value::Null;
    let err = Graph::from_metadata(&value).unwrap_err();
    assert!(err.to_string().contains("no resolve graph"), "{err}");
}

#[test]
fn metadata_with_a_dangling_package_id_is_refused() {
    let mut value = metadata(MEMBERS, CLEAN);
    value["workspace_members"]
        .as_array_mut()
        .unwrap()
        .push(json!("path+file:///ws/crates/ghost#0.0.0"));
    let err = Graph::from_metadata(&value).unwrap_err();
    assert!(err.to_string().contains("ghost"), "{err}");
}

/// `CLEAN` plus `mailstaple-verify -> webpki -> ring`, where ring is an optional dependency of
/// webpki and `enabled` lists webpki's features.
fn with_optional_ring(enabled: &[&str]) -> Value {
    let mut packages: Vec<(&str, &[(&str, &str)])> = CLEAN.to_vec();
    packages.retain(|(name, _)| *name != "mailstaple-verify");
    packages.push((
        "mailstaple-verify",
        &[("mailstaple-ocsp", ""), ("webpki", "")],
    ));
    packages.push(("webpki", &[("ring", ""), ("untrusted", "")]));
    let mut value = metadata(MEMBERS, &packages);
    for package in value["packages"].as_array_mut().unwrap() {
        if package["name"] == "webpki" {
            package["features"] = json!({
                "alloc": ["ring?/alloc"],
                "ring": ["dep:ring"],
                "ring-std": ["ring/std"],
                "std": ["alloc"],
            });
            package["dependencies"] = json!([
                { "name": "ring", "rename": null, "kind": null, "optional": true },
                { "name": "untrusted", "rename": null, "kind": null, "optional": false },
                { "name": "ring", "rename": null, "kind": "dev", "optional": false },
            ]);
        }
    }
    for node in value["resolve"]["nodes"].as_array_mut().unwrap() {
        if node["id"].as_str().unwrap().contains("#webpki@") {
            node["features"] = json!(enabled);
        }
    }
    value
}

#[test]
fn an_optional_dependency_counts_only_when_a_feature_activates_it() {
    let table = Table::parse(TABLE).unwrap();
    let violations = |enabled: &[&str]| {
        let graph = Graph::from_metadata(&with_optional_ring(enabled)).unwrap();
        check(&graph, &table, &Rules::PROJECT).violations
    };
    // A weak `ring?/alloc` does not turn ring on; cargo metadata lists the edge all the same.
    assert_eq!(violations(&["alloc", "std"]), Vec::<String>::new());
    for enabled in [&["ring"][..], &["ring-std"][..], &["alloc", "ring"][..]] {
        assert_one(
            &violations(enabled),
            "pulls `ring` into its normal dependencies: mailstaple-verify -> webpki -> ring",
        );
    }
}

#[test]
fn an_implicit_feature_activates_its_optional_dependency() {
    let mut value = with_optional_ring(&["ring"]);
    for package in value["packages"].as_array_mut().unwrap() {
        if package["name"] == "webpki" {
            package["features"] = json!({});
        }
    }
    let graph = Graph::from_metadata(&value).unwrap();
    let report = check(&graph, &Table::parse(TABLE).unwrap(), &Rules::PROJECT);
    assert_one(&report.violations, "mailstaple-verify -> webpki -> ring");
}
