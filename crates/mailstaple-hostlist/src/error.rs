//! The crate's error type: what can make a list fail to compile. All of these are mistakes in
//! the configuration (the caller's lists), never in the host being checked.

use std::fmt;

/// Why a host list could not be compiled.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A `^regex` item does not compile (or uses a feature the `regex` crate lacks, such as
    /// look-around or back-references). Exim would die when it reached the item; we refuse the
    /// list up front.
    InvalidRegex {
        /// The named list holding the item, or `None` for the list being compiled.
        list: Option<String>,
        /// 0-based index of the item in that list.
        index: usize,
        /// The item.
        item: String,
        /// The regex engine's message.
        message: String,
    },
    /// Named lists refer to each other in a loop (Exim would recurse until it crashed).
    NamedListCycle {
        /// The named list at which the loop was found.
        name: String,
    },
    /// A named list was defined with an empty name, which no `+name` item can refer to.
    EmptyListName,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidRegex {
                list,
                index,
                item,
                message,
            } => {
                match list {
                    Some(name) => write!(f, "named host list {name:?}")?,
                    None => f.write_str("host list")?,
                }
                write!(
                    f,
                    ", item {index} {item:?}: invalid regular expression: {message}"
                )
            }
            Error::NamedListCycle { name } => write!(
                f,
                "named host list {name:?} refers to itself (directly or indirectly)"
            ),
            Error::EmptyListName => f.write_str("a named host list needs a non-empty name"),
        }
    }
}

impl std::error::Error for Error {}
