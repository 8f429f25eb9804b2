//! `cargo xtask deps`: the crate layering in ARCHITECTURE.md, enforced against `cargo metadata`.
//!
//! The markdown table under `## Dependency table` lists, for every workspace crate, the workspace
//! crates it may depend on.
//! The checker fails on:
//! - a normal or build dependency edge between workspace crates that the table does not list;
//! - a dev-dependency on a workspace crate other than the test PKI or an allowed normal edge;
//! - the test PKI as a normal or build dependency of anything;
//! - a workspace crate missing from the table, or a table entry naming no workspace crate;
//! - a crate below the TLS layer with `rustls`, `tokio`, `hyper` or `ring` anywhere in its normal
//!   dependency tree (walked through the resolve graph, so transitive pulls are caught too).

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    fmt,
    path::Path,
    process::Command,
};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::util;

/// The one crate that may only ever be a dev-dependency.
const DEV_ONLY: &str = "mailstaple-testpki";

/// Crates below the TLS layer: pure parsing and verification, no TLS stack and no runtime.
const BELOW_TLS: &[&str] = &[
    "mailstaple-ocsp",
    "mailstaple-verify",
    "mailstaple-hostlist",
];

/// External crates that must never appear in the normal dependency tree of `BELOW_TLS` crates.
const FORBIDDEN_BELOW_TLS: &[&str] = &["rustls", "tokio", "hyper", "ring"];

const HEADING: &str = "## Dependency table";

pub(crate) fn run(root: &Path) -> Result<()> {
    let architecture = root.join("ARCHITECTURE.md");
    let markdown = std::fs::read_to_string(&architecture)
        .with_context(|| format!("cannot read {}", architecture.display()))?;
    let table = Table::parse(&markdown)
        .with_context(|| format!("bad dependency table in {}", architecture.display()))?;

    let json = util::capture(
        Command::new("cargo")
            .args(["metadata", "--format-version", "1", "--locked"])
            .current_dir(root),
    )?;
    let metadata: Value =
        serde_json::from_str(&json).context("`cargo metadata` printed bad JSON")?;
    let graph = Graph::from_metadata(&metadata)?;

    let report = check(&graph, &table, &Rules::PROJECT);
    for edge in &report.checked {
        println!("checked {edge}");
    }
    println!(
        "checked {} edges between {} workspace crates; {} below the TLS layer walked for {}",
        report.checked.len(),
        graph.members.len(),
        BELOW_TLS.join(", "),
        FORBIDDEN_BELOW_TLS.join(", "),
    );
    if report.violations.is_empty() {
        println!("deps: ok");
        return Ok(());
    }
    for violation in &report.violations {
        eprintln!("deps: {violation}");
    }
    bail!(
        "{} dependency rule(s) broken; fix the manifest or change ARCHITECTURE.md's table together with the code",
        report.violations.len()
    )
}

/// The parsed `crate | may depend on` table.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Table {
    /// Crate name to the workspace crates it may depend on.
    pub(crate) rows: BTreeMap<String, BTreeSet<String>>,
}

impl Table {
    /// Parses the first markdown table under the `## Dependency table` heading.
    pub(crate) fn parse(markdown: &str) -> Result<Table> {
        let mut lines = markdown.lines().enumerate();
        if !lines.any(|(_, line)| line.trim_end() == HEADING) {
            bail!("no `{HEADING}` heading");
        }
        let section = lines.take_while(|(_, line)| !line.trim_start().starts_with('#'));
        let rows: Vec<(usize, &str)> = section
            .skip_while(|(_, line)| !line.trim_start().starts_with('|'))
            .take_while(|(_, line)| line.trim_start().starts_with('|'))
            .collect();
        let mut rows = rows.into_iter();

        let Some((header_no, header)) = rows.next() else {
            bail!("no table under `{HEADING}`");
        };
        let header = cells(header);
        let expected = ["crate", "may depend on"];
        if header.len() != 2
            || header
                .iter()
                .zip(expected)
                .any(|(cell, want)| !cell.eq_ignore_ascii_case(want))
        {
            bail!(
                "line {}: the table header must be `| crate | may depend on |`, found {header:?}",
                header_no + 1
            );
        }
        match rows.next() {
            Some((_, separator)) if is_separator(separator) => {}
            Some((no, line)) => bail!("line {}: expected `|---|---|`, found `{line}`", no + 1),
            None => bail!("the table under `{HEADING}` has a header and nothing else"),
        }

        let mut table = Table::default();
        for (no, line) in rows {
            let no = no + 1;
            let [name, allowed] = cells(line).try_into().map_err(|found: Vec<String>| {
                anyhow::anyhow!("line {no}: expected 2 cells, found {}", found.len())
            })?;
            check_name(&name).with_context(|| format!("line {no}"))?;
            let mut targets = BTreeSet::new();
            for target in allowed
                .split(',')
                .map(|t| t.trim().trim_matches('`').trim())
            {
                if target.is_empty() {
                    continue;
                }
                check_name(target).with_context(|| format!("line {no}"))?;
                if target == name {
                    bail!("line {no}: `{name}` lists itself");
                }
                if !targets.insert(target.to_owned()) {
                    bail!("line {no}: `{name}` lists `{target}` twice");
                }
            }
            if table.rows.insert(name.clone(), targets).is_some() {
                bail!("line {no}: a second row for `{name}`");
            }
        }
        Ok(table)
    }
}

fn cells(line: &str) -> Vec<String> {
    let line = line.trim();
    let line = line.strip_prefix('|').unwrap_or(line);
    let line = line.strip_suffix('|').unwrap_or(line);
    line.split('|')
        .map(|cell| cell.trim().trim_matches('`').trim().to_owned())
        .collect()
}

fn is_separator(line: &str) -> bool {
    let cells = cells(line);
    !cells.is_empty()
        && cells.iter().all(|cell| {
            let dashes = cell.trim_start_matches(':').trim_end_matches(':');
            !dashes.is_empty() && dashes.chars().all(|c| c == '-')
        })
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        bail!("`{name}` is not a crate name");
    }
    Ok(())
}

/// How one package depends on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Normal,
    Build,
    Dev,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Normal => "normal",
            Kind::Build => "build",
            Kind::Dev => "dev",
        })
    }
}

/// One package in the resolve graph.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) name: String,
    /// Dependencies as (package id, kinds).
    pub(crate) deps: Vec<(String, BTreeSet<Kind>)>,
}

/// What the checker needs from `cargo metadata`.
#[derive(Debug)]
pub(crate) struct Graph {
    /// Workspace member name to package id.
    pub(crate) members: BTreeMap<String, String>,
    /// Package id to node, for every package in the resolve graph.
    pub(crate) nodes: BTreeMap<String, Node>,
}

impl Graph {
    /// Reads `packages`, `workspace_members` and `resolve.nodes` of `cargo metadata` output.
    ///
    /// The resolve graph lists an optional dependency even when no enabled feature activates it
    /// (for instance one named only by a weak `dep?/feature`); such edges are dropped here, so
    /// the graph holds what a build compiles.
    pub(crate) fn from_metadata(metadata: &Value) -> Result<Graph> {
        let mut packages = BTreeMap::new();
        for package in array(metadata, "packages")? {
            packages.insert(string(package, "id")?, Package::from_metadata(package)?);
        }
        let resolve = metadata
            .get("resolve")
            .filter(|resolve| !resolve.is_null())
            .context("`cargo metadata` output has no resolve graph (was --no-deps given?)")?;

        let mut nodes = BTreeMap::new();
        for node in array(resolve, "nodes")? {
            let id = string(node, "id")?;
            let package = lookup(&packages, &id)?;
            let enabled: Vec<String> = match node.get("features") {
                Some(features) => features
                    .as_array()
                    .context("`features` of a resolve node is not an array")?
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                None => Vec::new(),
            };
            let mut deps = Vec::new();
            for dep in array(node, "deps")? {
                let pkg = string(dep, "pkg")?;
                let dep_name = &lookup(&packages, &pkg)?.name;
                let mut kinds = BTreeSet::new();
                for dep_kind in array(dep, "dep_kinds")? {
                    let kind = match dep_kind.get("kind").and_then(Value::as_str) {
                        None => Kind::Normal,
                        Some("build") => Kind::Build,
                        Some("dev") => Kind::Dev,
                        Some(other) => bail!("unknown dependency kind `{other}` in {id}"),
                    };
                    if package.activates(dep_name, kind, &enabled) {
                        kinds.insert(kind);
                    }
                }
                if !kinds.is_empty() {
                    deps.push((pkg, kinds));
                }
            }
            let name = package.name.clone();
            nodes.insert(id, Node { name, deps });
        }

        let mut members = BTreeMap::new();
        for id in array(metadata, "workspace_members")? {
            let id = id
                .as_str()
                .context("`workspace_members` holds a non-string")?
                .to_owned();
            if !nodes.contains_key(&id) {
                bail!("workspace member {id} is not in the resolve graph");
            }
            members.insert(lookup(&packages, &id)?.name.clone(), id);
        }
        Ok(Graph { members, nodes })
    }

    fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.nodes.get(id).map_or(id, |node| node.name.as_str())
    }
}

/// What the checker needs from one entry of `packages`.
struct Package {
    name: String,
    /// Feature name to what it enables.
    features: BTreeMap<String, Vec<String>>,
    /// Declared dependencies as (package name, key used in features, kind, optional).
    declared: Vec<(String, String, Kind, bool)>,
}

impl Package {
    fn from_metadata(package: &Value) -> Result<Package> {
        let name = string(package, "name")?;
        let mut features = BTreeMap::new();
        if let Some(map) = package.get("features").and_then(Value::as_object) {
            for (feature, enables) in map {
                let enables = enables
                    .as_array()
                    .map(|list| {
                        list.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                features.insert(feature.clone(), enables);
            }
        }
        let mut declared = Vec::new();
        if let Some(dependencies) = package.get("dependencies").and_then(Value::as_array) {
            for dependency in dependencies {
                let dep_name = string(dependency, "name")?;
                let key = dependency
                    .get("rename")
                    .and_then(Value::as_str)
                    .map_or_else(|| dep_name.clone(), str::to_owned);
                let kind = match dependency.get("kind").and_then(Value::as_str) {
                    Some("dev") => Kind::Dev,
                    Some("build") => Kind::Build,
                    _ => Kind::Normal,
                };
                let optional = dependency
                    .get("optional")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                declared.push((dep_name, key, kind, optional));
            }
        }
        Ok(Package {
            name,
            features,
            declared,
        })
    }

    /// Is a resolve edge of `kind` to the package `dep_name` compiled with these features?
    ///
    /// Without a matching declaration the edge is kept: when in doubt, check it.
    fn activates(&self, dep_name: &str, kind: Kind, enabled: &[String]) -> bool {
        let mut matching = self
            .declared
            .iter()
            .filter(|(name, _, declared_kind, _)| name == dep_name && *declared_kind == kind)
            .peekable();
        if matching.peek().is_none() {
            return true;
        }
        matching.any(|(_, key, _, optional)| !optional || self.feature_activates(key, enabled))
    }

    /// Does an enabled feature turn on the optional dependency called `key`?
    /// `dep:key`, `key/feature` and an implicit feature `key` do; a weak `key?/feature` does not.
    fn feature_activates(&self, key: &str, enabled: &[String]) -> bool {
        enabled
            .iter()
            .any(|feature| match self.features.get(feature) {
                Some(enables) => enables.iter().any(|entry| {
                    entry.strip_prefix("dep:") == Some(key)
                        || entry.split_once('/').is_some_and(|(dep, _)| dep == key)
                }),
                None => feature == key,
            })
    }
}

fn array<'a>(value: &'a Value, key: &str) -> Result<&'a Vec<Value>> {
    value
        .get(key)
        .and_then(Value::as_array)
        .with_context(|| format!("`cargo metadata` output lacks the array `{key}`"))
}

fn string(value: &Value, key: &str) -> Result<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("`cargo metadata` output lacks the string `{key}`"))
}

fn lookup<'a>(packages: &'a BTreeMap<String, Package>, id: &str) -> Result<&'a Package> {
    packages
        .get(id)
        .with_context(|| format!("package id {id} is not among `packages`"))
}

/// The project-specific knobs of the checker, separate so tests can vary them.
pub(crate) struct Rules<'a> {
    pub(crate) dev_only: &'a str,
    pub(crate) below_tls: &'a [&'a str],
    pub(crate) forbidden_below_tls: &'a [&'a str],
}

impl Rules<'static> {
    pub(crate) const PROJECT: Rules<'static> = Rules {
        dev_only: DEV_ONLY,
        below_tls: BELOW_TLS,
        forbidden_below_tls: FORBIDDEN_BELOW_TLS,
    };
}

/// An edge between two workspace crates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Edge {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) kind: Kind,
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {} ({})", self.from, self.to, self.kind)
    }
}

/// What the checker looked at and what it found wrong.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) checked: Vec<Edge>,
    pub(crate) violations: Vec<String>,
}

/// Checks the graph against the table and the layering rules.
pub(crate) fn check(graph: &Graph, table: &Table, rules: &Rules<'_>) -> Report {
    let mut report = Report::default();
    let violations = &mut report.violations;

    for name in graph.members.keys() {
        if !table.rows.contains_key(name) {
            violations.push(format!(
                "workspace crate `{name}` has no row in the dependency table"
            ));
        }
    }
    for (name, allowed) in &table.rows {
        if !graph.members.contains_key(name) {
            violations.push(format!(
                "the dependency table has a row for `{name}`, which is not a workspace crate"
            ));
        }
        for target in allowed {
            if !graph.members.contains_key(target) {
                violations.push(format!(
                    "the dependency table lets `{name}` depend on `{target}`, which is not a workspace crate"
                ));
            }
            if target == rules.dev_only {
                violations.push(format!(
                    "the dependency table lets `{name}` depend on `{target}`, which may only be a dev-dependency"
                ));
            }
        }
    }

    for (from, id) in &graph.members {
        let Some(node) = graph.nodes.get(id) else {
            continue;
        };
        let allowed = table.rows.get(from);
        let is_allowed = |to: &str| allowed.is_some_and(|set| set.contains(to));
        for (dep_id, kinds) in &node.deps {
            let to = graph.name(dep_id);
            if graph.members.get(to) != Some(dep_id) {
                continue;
            }
            for &kind in kinds {
                let edge = Edge {
                    from: from.clone(),
                    to: to.to_owned(),
                    kind,
                };
                match kind {
                    Kind::Normal | Kind::Build if to == rules.dev_only => violations.push(format!(
                        "{edge}: `{to}` may only be a dev-dependency"
                    )),
                    Kind::Normal | Kind::Build if !is_allowed(to) => violations.push(format!(
                        "{edge}: not in the dependency table (`{from}` may depend on: {})",
                        describe(allowed)
                    )),
                    Kind::Dev if to != rules.dev_only && !is_allowed(to) => {
                        violations.push(format!(
                            "{edge}: a dev-dependency on a workspace crate must be `{}` or an allowed normal edge (`{from}` may depend on: {})",
                            rules.dev_only,
                            describe(allowed)
                        ))
                    }
                    _ => {}
                }
                report.checked.push(edge);
            }
        }
    }

    for &low in rules.below_tls {
        let Some(start) = graph.members.get(low) else {
            violations.push(format!(
                "`{low}` is named as a crate below the TLS layer but is not a workspace crate"
            ));
            continue;
        };
        for path in forbidden_paths(graph, start, rules.forbidden_below_tls) {
            let crate_name = path.last().map_or("?", String::as_str);
            violations.push(format!(
                "`{low}` is below the TLS layer but pulls `{crate_name}` into its normal dependencies: {}",
                path.join(" -> ")
            ));
        }
    }

    report.checked.sort();
    report
}

fn describe(allowed: Option<&BTreeSet<String>>) -> String {
    match allowed {
        Some(set) if !set.is_empty() => set.iter().cloned().collect::<Vec<_>>().join(", "),
        Some(_) => "nothing".to_owned(),
        None => "no row".to_owned(),
    }
}

/// Breadth-first walk over normal edges; returns the shortest path to each forbidden package.
fn forbidden_paths(graph: &Graph, start: &str, forbidden: &[&str]) -> Vec<Vec<String>> {
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut seen: BTreeSet<&str> = BTreeSet::from([start]);
    let mut queue: VecDeque<&str> = VecDeque::from([start]);
    let mut found = Vec::new();
    while let Some(id) = queue.pop_front() {
        let Some(node) = graph.nodes.get(id) else {
            continue;
        };
        if id != start && forbidden.contains(&node.name.as_str()) {
            let mut path = vec![node.name.clone()];
            let mut at = id;
            while let Some(&up) = parent.get(at) {
                path.push(graph.name(up).to_owned());
                at = up;
            }
            path.reverse();
            found.push(path);
        }
        for (dep, kinds) in &node.deps {
            if kinds.contains(&Kind::Normal) && seen.insert(dep.as_str()) {
                parent.insert(dep.as_str(), id);
                queue.push_back(dep.as_str());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests;
