//! The result of a check: verdict, the deciding item and the reason.

use std::borrow::Cow;
use std::fmt;

/// Exim's three answers to "is this host in the list?".
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// In the list (Exim `OK`).
    Match,
    /// Not in the list (Exim `FAIL`), including a list stopped by an ERROR.
    NoMatch,
    /// Cannot tell now (Exim `DEFER`): a temporary lookup failure, an unknown named list, an
    /// unreadable file.
    Defer,
}

/// Where an inner deciding item came from, when the top-level item was `+name` or `/path`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source<'a> {
    /// A named host list (`+name`), by name.
    NamedList(Cow<'a, str>),
    /// A list file (`/path`), by path.
    File(Cow<'a, str>),
}

/// An item inside a named list or a list file.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerItem<'a> {
    /// The named list or file it is in (the innermost one when lists nest).
    pub source: Source<'a>,
    /// 0-based item index within the named list, or 1-based line number within the file.
    pub position: usize,
    /// The item or line as written (comments and surrounding white space removed for files).
    pub text: Cow<'a, str>,
}

/// The item that decided the outcome.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef<'a> {
    /// 0-based index of the top-level list item (modifiers and empty items count).
    pub index: usize,
    /// The top-level item as written, including any `!`.
    pub text: Cow<'a, str>,
    /// For `+name` and `/path` items: the item inside that decided.
    pub inner: Option<InnerItem<'a>>,
}

/// Why the verdict is what it is.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason<'a> {
    /// A positive item matched the host.
    Matched,
    /// A negated (`!`) item matched the host.
    NegatedMatch,
    /// No item matched. The verdict is a match exactly when the last item was negated (a list
    /// ending in `!x` behaves like `!x : *`). An empty list has no last item.
    EndOfList {
        /// Whether the last item was negated.
        last_negated: bool,
    },
    /// Exim's ERROR: the item could not be evaluated (malformed address, name not found, no host
    /// name given, unsupported item). Without a modifier the list stops with no match;
    /// `+include_unknown` turns it into a match. (`+ignore_unknown` skips the item, so it never
    /// decides.)
    Error {
        /// What went wrong.
        message: Cow<'a, str>,
        /// Whether `+include_unknown` was in force.
        include_unknown: bool,
    },
    /// A temporary failure (Exim DEFER). `+include_defer` turns it into a match.
    Deferred {
        /// What went wrong.
        message: Cow<'a, str>,
        /// Whether `+include_defer` was in force.
        include_defer: bool,
    },
    /// A file could not be read or holds an invalid regex: fatal in Exim (the process dies, so the
    /// delivery is retried later). Reported as a defer that no modifier can change.
    Fatal {
        /// What went wrong.
        message: Cow<'a, str>,
    },
}

/// The full answer of [`HostList::check`](crate::HostList::check).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<'a> {
    /// Match, no match or defer.
    pub verdict: Verdict,
    /// Why.
    pub reason: Reason<'a>,
    /// The deciding item; `None` only for an empty list.
    pub item: Option<ItemRef<'a>>,
}

impl Outcome<'_> {
    /// Exim's reading in transport options (`== OK`): true only for [`Verdict::Match`]; a defer
    /// reads as "no".
    pub fn is_match(&self) -> bool {
        self.verdict == Verdict::Match
    }

    /// The fail-closed reading: true for a match *and* for a defer. Use it for questions such as
    /// "is OCSP required for this host?", where not knowing must not weaken security.
    pub fn is_match_or_defer(&self) -> bool {
        matches!(self.verdict, Verdict::Match | Verdict::Defer)
    }

    /// Copies every borrowed string, detaching the outcome from the list.
    pub fn into_owned(self) -> Outcome<'static> {
        Outcome {
            verdict: self.verdict,
            reason: self.reason.into_owned(),
            item: self.item.map(ItemRef::into_owned),
        }
    }
}

impl Reason<'_> {
    /// Copies every borrowed string.
    pub fn into_owned(self) -> Reason<'static> {
        match self {
            Reason::Matched => Reason::Matched,
            Reason::NegatedMatch => Reason::NegatedMatch,
            Reason::EndOfList { last_negated } => Reason::EndOfList { last_negated },
            Reason::Error {
                message,
                include_unknown,
            } => Reason::Error {
                message: Cow::Owned(message.into_owned()),
                include_unknown,
            },
            Reason::Deferred {
                message,
                include_defer,
            } => Reason::Deferred {
                message: Cow::Owned(message.into_owned()),
                include_defer,
            },
            Reason::Fatal { message } => Reason::Fatal {
                message: Cow::Owned(message.into_owned()),
            },
        }
    }
}

impl ItemRef<'_> {
    /// Copies every borrowed string.
    pub fn into_owned(self) -> ItemRef<'static> {
        ItemRef {
            index: self.index,
            text: Cow::Owned(self.text.into_owned()),
            inner: self.inner.map(|i| InnerItem {
                source: match i.source {
                    Source::NamedList(n) => Source::NamedList(Cow::Owned(n.into_owned())),
                    Source::File(p) => Source::File(Cow::Owned(p.into_owned())),
                },
                position: i.position,
                text: Cow::Owned(i.text.into_owned()),
            }),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Match => "match",
            Verdict::NoMatch => "no match",
            Verdict::Defer => "defer",
        })
    }
}

impl fmt::Display for ItemRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "item {} {:?}", self.index, self.text)?;
        if let Some(inner) = &self.inner {
            match &inner.source {
                Source::NamedList(name) => {
                    write!(
                        f,
                        " (via item {} {:?} of named list {:?})",
                        inner.position, inner.text, name
                    )?;
                }
                Source::File(path) => write!(
                    f,
                    " (via line {} {:?} of file {:?})",
                    inner.position, inner.text, path
                )?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Outcome<'_> {
    /// One line: verdict, deciding item, reason. For example
    /// `no match: item 1 "!192.0.2.7" matched (negated)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.verdict)?;
        let Some(item) = &self.item else {
            return f.write_str("empty list");
        };
        match &self.reason {
            Reason::Matched => write!(f, "{item} matched"),
            Reason::NegatedMatch => write!(f, "{item} matched (negated)"),
            Reason::EndOfList { last_negated: true } => {
                write!(f, "end of list; last item was negated: {item}")
            }
            Reason::EndOfList {
                last_negated: false,
            } => write!(f, "end of list; last item: {item}"),
            Reason::Error {
                message,
                include_unknown: true,
            } => {
                write!(f, "{item}: {message}: accepted by +include_unknown")
            }
            Reason::Error {
                message,
                include_unknown: false,
            } => write!(f, "{item}: {message}"),
            Reason::Deferred {
                message,
                include_defer: true,
            } => {
                write!(f, "{item}: {message}: accepted by +include_defer")
            }
            Reason::Deferred {
                message,
                include_defer: false,
            } => write!(f, "{item}: {message}"),
            Reason::Fatal { message } => write!(f, "{item}: {message}"),
        }
    }
}
