#![doc = include_str!("../README.md")]
//!
//! ## Exim host lists
//!
//! `hosts_require_ocsp`, `hosts_request_ocsp` and `hosts_require_tls` are Exim host lists. This
//! crate parses such a list once into a [`HostList`] and answers "is this host in it?" with
//! Exim's semantics, in the *transport* context: the host's name is the one the caller gives
//! (the routed host name), and no reverse lookup is ever made.
//!
//! ```
//! use mailstaple_hostlist::{Env, Host, HostList, Verdict};
//!
//! let list = HostList::parse("192.0.2.0/24 : !198.51.100.7 : *.example.org")?;
//! let host = Host::new("192.0.2.9".parse()?).with_name("mx.example.net");
//! let outcome = list.check(&host, &Env::new());
//! assert_eq!(outcome.verdict, Verdict::Match);
//! assert_eq!(outcome.to_string(), r#"match: item 0 "192.0.2.0/24" matched"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ### Syntax
//! - Items are separated by `:`; `::` is a literal colon, so inline IPv6 needs doubled colons or
//!   another separator: a list starting with `<` and a punctuation or control character uses that
//!   character (`<; ::1 ; 2001:db8::/32`). White space around items is removed. A trailing empty
//!   item is dropped, so `:` is a list of one empty item and the empty string is an empty list.
//! - `!item` negates; `+include_unknown`, `+ignore_unknown`, `+include_defer` and `+ignore_defer`
//!   change how later ERROR and DEFER results are treated; `+name` refers to a [`NamedLists`]
//!   entry (`!+name` negates its result; modifiers and negations inside it stay inside it);
//!   `/path` is a file of items, one per line, `#` starting a comment, read at every check
//!   (`!/path` inverts every line).
//! - Items, in Exim's order of tests: `*` (any host, and no host); the empty item (only "no
//!   host", see [`Host::local`]); `@` (the addresses of the primary host name); `@[]` (a local
//!   interface address); an IPv4 or IPv6 address with an optional `/mask` (host bits in the
//!   pattern are ignored; an `::ffff:a.b.c.d` subject is compared as IPv4); items made only of
//!   digits and dots, or digits and dots before a `/` (ERROR "malformed IPv4 address or address
//!   mask"); `net-lsearch;FILE`, `netN-lsearch;FILE` and `net-iplsearch;FILE` (lookups keyed by
//!   the address, masked to N bits when N is given; `netN-iplsearch` defers as in Exim); a plain
//!   host name (letters, digits, `.`, `-`, `_`), resolved forward through a [`Resolver`]; and,
//!   matched against the host name: `^regex` (caseless), `*suffix`, `lsearch;FILE` and
//!   `iplsearch;FILE` keyed by the name, and any other text compared literally (caseless).
//!
//! ### Results
//! [`HostList::check`] returns an [`Outcome`]: a [`Verdict`] (match, no match, defer), the item
//! that decided and the [`Reason`]. First match wins; a negated item that matches gives "no
//! match"; a list that runs out is a match exactly when its last item was negated. An ERROR stops
//! the list with "no match" unless a modifier says otherwise; a DEFER defers the whole list. Exim
//! reads transport options as `== OK`, so a defer means "no" there ([`Outcome::is_match`]); a
//! caller asking "is OCSP required for this host?" can fail closed instead
//! ([`Outcome::is_match_or_defer`]).
//!
//! ### What this crate does not do
//! - **No string expansion.** Lists are taken literally: `$host`, `${if ...}` and backslash
//!   escapes are plain text here, unlike in an Exim configuration file.
//! - No reverse DNS, no MX lookups (`@mx_any` and friends are an ERROR), and of the lookup types
//!   only `lsearch` and `iplsearch` (with their `net-` forms); any other type is an ERROR naming
//!   it. Query-style lookups and `partial-` lookups are not supported either.
//! - Regexes use the `regex` crate (no look-around or back-references); a regex that does not
//!   compile is rejected by [`HostList::parse`] rather than at check time. Like Exim's PCRE
//!   (no UTF, no UCP) they match ASCII: `\w`, `\d` and case folding are ASCII, and a pattern that
//!   turns Unicode mode on with `(?u)`, a flag PCRE does not have, is rejected.
//! - Exim truncates list items at 1023 bytes and file lines at 1023 or 4095 bytes; we do not.
//! - An unreadable file (Exim: a fatal error that kills the process) is a defer that no
//!   modifier can change ([`Reason::Fatal`]).
//!
//! ### I/O
//! The crate is sans-IO except for files: `/path` items and lookups read their files at each
//! check through the [`FileReader`] in the [`Env`] ([`FsReader`] by default, [`MemoryFiles`] for
//! tests). DNS and interface addresses come only from the [`Resolver`] and [`InterfaceAddrs`]
//! given in the [`Env`].
//!
//! ### Main types
//! [`HostList`], [`NamedLists`], [`Host`], [`Env`], [`Outcome`], [`Error`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod env;
mod error;
mod ip;
mod item;
mod list;
mod lookup;
mod outcome;
mod set;

#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod tests;

pub use env::{
    Env, FileReader, FsReader, Host, InterfaceAddrs, MemoryFiles, NoInterfaces, NoResolver,
    Resolution, Resolver, StaticInterfaces, StaticResolver,
};
pub use error::Error;
pub use list::{HostList, NamedLists};
pub use outcome::{InnerItem, ItemRef, Outcome, Reason, Source, Verdict};

/// Splits any Exim list (not only host lists) into its items: `:` by default, `<X` to change
/// the separator, a doubled separator for a literal one, white space around items removed.
/// Other crates use this for Exim options that are lists, such as `tls_certificate`.
pub fn split_list(list: &str) -> Vec<String> {
    list::split(list)
}
