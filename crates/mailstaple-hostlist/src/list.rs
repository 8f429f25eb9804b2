//! List syntax, compilation and the list walk (Exim's `string_nextinlist` and
//! `match_check_list`).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::env::{Env, Host};
use crate::error::Error;
use crate::ip::{self, Net};
use crate::item::{self, ItemResult, Kind};
use crate::outcome::{InnerItem, ItemRef, Outcome, Reason, Source, Verdict};
use crate::set::{AddrBlock, Entry};

/// Splits a list into items like Exim's `string_nextinlist`: `:` separates unless the list
/// starts with `<` and a punctuation or control character, which becomes the separator; a
/// doubled separator is a literal one (not for control characters); white space around items is
/// removed; a trailing empty item is dropped. The text ends at a NUL, as a C string does.
pub(crate) fn split(list: &str) -> Vec<String> {
    let bytes = list.as_bytes();
    let bytes = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
    let mut i = 0;
    let skip_space = |i: &mut usize, sep: u8| {
        while bytes
            .get(*i)
            .is_some_and(|&b| ip::is_c_space(b) && b != sep)
        {
            *i += 1;
        }
    };
    skip_space(&mut i, 0);
    let mut sep = b':';
    if bytes.get(i) == Some(&b'<') {
        match bytes.get(i + 1) {
            // The string's end: in C the NUL becomes the separator, leaving no items.
            None => return Vec::new(),
            Some(&c) if c.is_ascii_punctuation() || c.is_ascii_control() => {
                sep = c;
                i += 2;
                skip_space(&mut i, sep);
            }
            Some(_) => {}
        }
    }
    let special = sep.is_ascii_control();
    let mut items = Vec::new();
    loop {
        skip_space(&mut i, sep);
        if i >= bytes.len() {
            break;
        }
        let mut item = Vec::new();
        while let Some(&b) = bytes.get(i) {
            i += 1;
            if b == sep {
                if !special && bytes.get(i) == Some(&sep) {
                    i += 1;
                } else {
                    break;
                }
            }
            item.push(b);
        }
        while item.last().is_some_and(|&b| ip::is_c_space(b)) {
            item.pop();
        }
        items.push(String::from_utf8_lossy(&item).into_owned());
    }
    items
}

/// A `+include_unknown`-style modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modifier {
    IncludeUnknown,
    IgnoreUnknown,
    IncludeDefer,
    IgnoreDefer,
}

impl Modifier {
    fn parse(item: &str) -> Option<Modifier> {
        match item {
            "+include_unknown" => Some(Modifier::IncludeUnknown),
            "+ignore_unknown" => Some(Modifier::IgnoreUnknown),
            "+include_defer" => Some(Modifier::IncludeDefer),
            "+ignore_defer" => Some(Modifier::IgnoreDefer),
            _ => None,
        }
    }
}

#[derive(Debug)]
enum Step {
    Modifier(Modifier),
    Addresses(AddrBlock),
    Item {
        index: usize,
        negated: bool,
        kind: Kind,
    },
    Named {
        index: usize,
        negated: bool,
        name: String,
        list: Option<Arc<Compiled>>,
    },
    File {
        index: usize,
        negated: bool,
        path: String,
    },
}

/// One compiled list: its items as written, and the steps to run.
#[derive(Debug)]
pub(crate) struct Compiled {
    source: String,
    items: Vec<String>,
    steps: Vec<Step>,
}

/// Named host lists (Exim's `hostlist name = ...`), referred to as `+name`.
///
/// Lists are stored as text and compiled into each [`HostList`] that refers to them, so they may
/// be defined in any order. A `+name` with no definition is not a compile error: as in Exim, it
/// defers when the check reaches it.
#[derive(Debug, Clone, Default)]
pub struct NamedLists {
    sources: BTreeMap<String, String>,
}

impl NamedLists {
    /// No named lists.
    pub fn new() -> NamedLists {
        NamedLists::default()
    }

    /// Defines (or redefines) the named list `name`.
    pub fn define(&mut self, name: &str, list: &str) -> Result<&mut NamedLists, Error> {
        if name.is_empty() {
            return Err(Error::EmptyListName);
        }
        self.sources.insert(name.to_owned(), list.to_owned());
        Ok(self)
    }

    /// The text of a named list.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.sources.get(name).map(String::as_str)
    }
}

/// A host list, parsed and compiled once, ready to be checked against many hosts.
///
/// See the crate documentation for the syntax and semantics.
#[derive(Debug, Clone)]
pub struct HostList {
    compiled: Arc<Compiled>,
}

struct Compiler<'n> {
    named: &'n NamedLists,
    done: BTreeMap<String, Arc<Compiled>>,
    active: BTreeSet<String>,
}

impl Compiler<'_> {
    fn compile(&mut self, source: &str, list_name: Option<&str>) -> Result<Compiled, Error> {
        let items = split(source);
        let mut steps = Vec::new();
        let mut run: Vec<(Entry, Net)> = Vec::new();
        for (index, text) in items.iter().enumerate() {
            let step = if let Some(m) = Modifier::parse(text) {
                Step::Modifier(m)
            } else {
                let (negated, rest) = item::strip_negation(text);
                if rest.starts_with('/') {
                    Step::File {
                        index,
                        negated,
                        path: rest.to_owned(),
                    }
                } else if let Some(name) = rest.strip_prefix('+') {
                    Step::Named {
                        index,
                        negated,
                        name: name.to_owned(),
                        list: self.named_list(name)?,
                    }
                } else {
                    match item::classify(rest) {
                        Ok(Kind::Net(net)) => {
                            run.push((Entry { index, negated }, net));
                            continue;
                        }
                        Ok(kind) => Step::Item {
                            index,
                            negated,
                            kind,
                        },
                        Err(message) => {
                            return Err(Error::InvalidRegex {
                                list: list_name.map(str::to_owned),
                                index,
                                item: text.clone(),
                                message,
                            });
                        }
                    }
                }
            };
            flush(&mut run, &mut steps);
            steps.push(step);
        }
        flush(&mut run, &mut steps);
        Ok(Compiled {
            source: source.to_owned(),
            items,
            steps,
        })
    }

    fn named_list(&mut self, name: &str) -> Result<Option<Arc<Compiled>>, Error> {
        if let Some(done) = self.done.get(name) {
            return Ok(Some(Arc::clone(done)));
        }
        let Some(source) = self.named.sources.get(name) else {
            return Ok(None);
        };
        if !self.active.insert(name.to_owned()) {
            return Err(Error::NamedListCycle {
                name: name.to_owned(),
            });
        }
        let compiled = Arc::new(self.compile(source, Some(name))?);
        self.active.remove(name);
        self.done.insert(name.to_owned(), Arc::clone(&compiled));
        Ok(Some(compiled))
    }
}

fn flush(run: &mut Vec<(Entry, Net)>, steps: &mut Vec<Step>) {
    if !run.is_empty() {
        steps.push(Step::Addresses(AddrBlock::build(run)));
        run.clear();
    }
}

impl HostList {
    /// Compiles a list that uses no named lists (a `+name` item will defer).
    pub fn parse(list: &str) -> Result<HostList, Error> {
        HostList::parse_with(list, &NamedLists::new())
    }

    /// Compiles a list, resolving `+name` items in `named`.
    pub fn parse_with(list: &str, named: &NamedLists) -> Result<HostList, Error> {
        let mut compiler = Compiler {
            named,
            done: BTreeMap::new(),
            active: BTreeSet::new(),
        };
        Ok(HostList {
            compiled: Arc::new(compiler.compile(list, None)?),
        })
    }

    /// The list text as given.
    pub fn source(&self) -> &str {
        &self.compiled.source
    }

    /// The items as split (modifiers and empty items included, `!` kept), in order; an item's
    /// position here is the `index` reported in outcomes.
    pub fn items(&self) -> impl ExactSizeIterator<Item = &str> {
        self.compiled.items.iter().map(String::as_str)
    }

    /// Checks a host against the list.
    ///
    /// Address and CIDR items are matched through the compiled prefix structure without
    /// allocating. Other items may consult `env`: the resolver for host names and `@`, the
    /// interface provider for `@[]`, and the file reader for `/path` items and lookups (files are
    /// read at every check, as Exim does).
    pub fn check<'l>(&'l self, host: &Host<'_>, env: &Env<'_>) -> Outcome<'l> {
        walk(&self.compiled, host, env)
    }
}

/// Flags set by the modifiers seen so far.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    include_unknown: bool,
    ignore_unknown: bool,
    include_defer: bool,
    ignore_defer: bool,
}

impl Flags {
    fn apply(&mut self, m: Modifier) {
        match m {
            Modifier::IncludeUnknown => (self.include_unknown, self.ignore_unknown) = (true, false),
            Modifier::IgnoreUnknown => (self.ignore_unknown, self.include_unknown) = (true, false),
            Modifier::IncludeDefer => (self.include_defer, self.ignore_defer) = (true, false),
            Modifier::IgnoreDefer => (self.ignore_defer, self.include_defer) = (true, false),
        }
    }
}

fn decided(negated: bool, item: ItemRef<'_>) -> Outcome<'_> {
    if negated {
        Outcome {
            verdict: Verdict::NoMatch,
            reason: Reason::NegatedMatch,
            item: Some(item),
        }
    } else {
        Outcome {
            verdict: Verdict::Match,
            reason: Reason::Matched,
            item: Some(item),
        }
    }
}

/// What to do after one item's result, given the modifiers.
enum Next<'a> {
    Continue,
    Return(Verdict, Reason<'a>),
}

fn after_item<'a>(result: ItemResult, negated: bool, flags: Flags) -> Next<'a> {
    match result {
        ItemResult::Fail => Next::Continue,
        ItemResult::Ok if negated => Next::Return(Verdict::NoMatch, Reason::NegatedMatch),
        ItemResult::Ok => Next::Return(Verdict::Match, Reason::Matched),
        ItemResult::Defer(_) if flags.ignore_defer => Next::Continue,
        ItemResult::Defer(m) => {
            let verdict = if flags.include_defer {
                Verdict::Match
            } else {
                Verdict::Defer
            };
            Next::Return(
                verdict,
                Reason::Deferred {
                    message: Cow::Owned(m),
                    include_defer: flags.include_defer,
                },
            )
        }
        ItemResult::Error(_) if flags.ignore_unknown => Next::Continue,
        ItemResult::Error(m) => {
            let verdict = if flags.include_unknown {
                Verdict::Match
            } else {
                Verdict::NoMatch
            };
            Next::Return(
                verdict,
                Reason::Error {
                    message: Cow::Owned(m),
                    include_unknown: flags.include_unknown,
                },
            )
        }
        ItemResult::Fatal(m) => Next::Return(
            Verdict::Defer,
            Reason::Fatal {
                message: Cow::Owned(m),
            },
        ),
    }
}

fn item_ref(list: &Compiled, index: usize) -> ItemRef<'_> {
    ItemRef {
        index,
        text: Cow::Borrowed(list.items.get(index).map_or("", String::as_str)),
        inner: None,
    }
}

/// The inner item to report for an outcome of the named list `name`.
fn inner_of<'a>(name: &'a str, item: Option<ItemRef<'a>>) -> Option<InnerItem<'a>> {
    let item = item?;
    Some(item.inner.unwrap_or(InnerItem {
        source: Source::NamedList(Cow::Borrowed(name)),
        position: item.index,
        text: item.text,
    }))
}

fn walk<'l>(list: &'l Compiled, host: &Host<'_>, env: &Env<'_>) -> Outcome<'l> {
    let mut flags = Flags::default();
    // Exim's `yield`: whether the last item seen was negated.
    let mut last_negated = false;
    let mut last: Option<ItemRef<'l>> = None;
    let subject = host.ip.map(ip::canonical);
    for step in &list.steps {
        match step {
            Step::Modifier(m) => flags.apply(*m),
            Step::Addresses(block) => {
                if let Some(hit) = subject.and_then(|s| block.first_match(s)) {
                    return decided(hit.negated, item_ref(list, hit.index));
                }
                if let Some(e) = block.last() {
                    last_negated = e.negated;
                    last = Some(item_ref(list, e.index));
                }
            }
            Step::Item {
                index,
                negated,
                kind,
            } => {
                last_negated = *negated;
                let result = item::eval(kind, host, env);
                match after_item(result, *negated, flags) {
                    Next::Continue => last = Some(item_ref(list, *index)),
                    Next::Return(verdict, reason) => {
                        return Outcome {
                            verdict,
                            reason,
                            item: Some(item_ref(list, *index)),
                        };
                    }
                }
            }
            Step::Named {
                index,
                negated,
                name,
                list: sub,
            } => {
                last_negated = *negated;
                let Some(sub) = sub else {
                    return Outcome {
                        verdict: Verdict::Defer,
                        reason: Reason::Deferred {
                            message: Cow::Owned(format!("unknown named host list \"+{name}\"")),
                            include_defer: false,
                        },
                        item: Some(item_ref(list, *index)),
                    };
                };
                let inner = walk(sub, host, env);
                let mut here = item_ref(list, *index);
                match inner.verdict {
                    Verdict::Match => {
                        here.inner = inner_of(name, inner.item);
                        return decided(*negated, here);
                    }
                    Verdict::Defer => {
                        here.inner = inner_of(name, inner.item);
                        return Outcome {
                            verdict: Verdict::Defer,
                            reason: inner.reason,
                            item: Some(here),
                        };
                    }
                    _ => last = Some(here),
                }
            }
            Step::File {
                index,
                negated,
                path,
            } => {
                let here = item_ref(list, *index);
                match check_file(path, *negated, flags, host, env) {
                    FileResult::Return(verdict, reason, inner) => {
                        return Outcome {
                            verdict,
                            reason,
                            item: Some(ItemRef { inner, ..here }),
                        };
                    }
                    FileResult::Continue { last_negated: n } => {
                        last_negated = n;
                        last = Some(here);
                    }
                }
            }
        }
    }
    let verdict = if last_negated {
        Verdict::Match
    } else {
        Verdict::NoMatch
    };
    Outcome {
        verdict,
        reason: Reason::EndOfList { last_negated },
        item: last,
    }
}

enum FileResult<'a> {
    Return(Verdict, Reason<'a>, Option<InnerItem<'a>>),
    Continue { last_negated: bool },
}

/// Runs the lines of a list file, as `match_check_list` does for a `/path` item.
fn check_file<'a>(
    path: &'a str,
    negated: bool,
    flags: Flags,
    host: &Host<'_>,
    env: &Env<'_>,
) -> FileResult<'a> {
    let content = match env.files.read_file(path) {
        Ok(c) => c,
        Err(e) => {
            return FileResult::Return(
                Verdict::Defer,
                Reason::Fatal {
                    message: Cow::Owned(format!(
                        "failed to open {path} when checking a host list: {e}"
                    )),
                },
                None,
            );
        }
    };
    let mut file_negated = negated;
    for (line_no, line) in item::list_file_lines(&content) {
        let (flip, rest) = item::strip_negation(&line);
        file_negated = negated != flip;
        let result = match item::classify(rest) {
            Ok(kind) => item::eval(&kind, host, env),
            Err(e) => ItemResult::Fatal(format!("invalid regular expression {rest:?}: {e}")),
        };
        if let Next::Return(verdict, reason) = after_item(result, file_negated, flags) {
            let inner = InnerItem {
                source: Source::File(Cow::Borrowed(path)),
                position: line_no,
                text: Cow::Owned(line),
            };
            return FileResult::Return(verdict, reason, Some(inner));
        }
    }
    FileResult::Continue {
        last_negated: file_negated,
    }
}
