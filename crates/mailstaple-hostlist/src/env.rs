//! The outside world a check may need: forward DNS, local interface addresses, files, and the
//! primary host name. Each is a trait so that tests (and callers) can supply in-memory versions.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::IpAddr;

/// The answer of a forward lookup of a host name.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The name has these addresses. An empty list is treated as [`Resolution::NotFound`].
    Found(Vec<IpAddr>),
    /// The name does not exist or has no address (Exim: `HOST_FIND_FAILED`, an ERROR).
    NotFound,
    /// Temporary failure (Exim: `HOST_FIND_AGAIN`, a DEFER); the text says why.
    TryAgain(String),
}

/// Forward resolution of host names (A and AAAA), used by plain host-name items and by `@`.
pub trait Resolver {
    /// Looks up the addresses of `name`, exactly as written in the list.
    fn resolve(&self, name: &str) -> Resolution;
}

/// The local interface addresses, used by the `@[]` item.
pub trait InterfaceAddrs {
    /// Lists the addresses; an `Err` (with a reason) makes `@[]` defer.
    fn interface_addrs(&self) -> Result<Vec<IpAddr>, String>;
}

/// Reads `/path` list files and `lsearch`-style lookup files. They are read at each check, as
/// Exim does, so this is the one kind of I/O a check may do.
pub trait FileReader {
    /// Reads the whole file.
    fn read_file(&self, path: &str) -> io::Result<Vec<u8>>;
}

/// Reads files with [`std::fs::read`]; the default [`FileReader`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FsReader;

impl FileReader for FsReader {
    fn read_file(&self, path: &str) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

/// A resolver that knows nothing: every lookup defers with "no resolver configured". It is the
/// default so that a list needing DNS fails closed rather than silently not matching.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoResolver;

impl Resolver for NoResolver {
    fn resolve(&self, _name: &str) -> Resolution {
        Resolution::TryAgain("no resolver configured".to_owned())
    }
}

/// An interface provider that has no answer: `@[]` defers. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoInterfaces;

impl InterfaceAddrs for NoInterfaces {
    fn interface_addrs(&self) -> Result<Vec<IpAddr>, String> {
        Err("no interface address provider configured".to_owned())
    }
}

/// An in-memory resolver: a fixed table from lower-cased name to answer; names not in the table
/// are [`Resolution::NotFound`].
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    table: BTreeMap<String, Resolution>,
}

impl StaticResolver {
    /// An empty table.
    pub fn new() -> StaticResolver {
        StaticResolver::default()
    }

    /// Sets the answer for `name` (case-insensitive).
    pub fn insert(&mut self, name: &str, answer: Resolution) -> &mut StaticResolver {
        self.table.insert(name.to_ascii_lowercase(), answer);
        self
    }
}

impl Resolver for StaticResolver {
    fn resolve(&self, name: &str) -> Resolution {
        self.table
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or(Resolution::NotFound)
    }
}

/// A fixed list of interface addresses.
#[derive(Debug, Clone, Default)]
pub struct StaticInterfaces(pub Vec<IpAddr>);

impl InterfaceAddrs for StaticInterfaces {
    fn interface_addrs(&self) -> Result<Vec<IpAddr>, String> {
        Ok(self.0.clone())
    }
}

/// In-memory files: path to contents; other paths give [`io::ErrorKind::NotFound`].
#[derive(Debug, Clone, Default)]
pub struct MemoryFiles {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemoryFiles {
    /// No files.
    pub fn new() -> MemoryFiles {
        MemoryFiles::default()
    }

    /// Adds or replaces a file.
    pub fn insert(&mut self, path: &str, contents: impl Into<Vec<u8>>) -> &mut MemoryFiles {
        self.files.insert(path.to_owned(), contents.into());
        self
    }
}

impl FileReader for MemoryFiles {
    fn read_file(&self, path: &str) -> io::Result<Vec<u8>> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }
}

/// Everything a check may consult besides the list and the host.
///
/// [`Env::new`] gives: no resolver ([`NoResolver`]: name items defer), no interface list
/// ([`NoInterfaces`]: `@[]` defers), files read from disk ([`FsReader`]), and no primary host
/// name (`@` is an ERROR).
#[derive(Clone, Copy)]
pub struct Env<'e> {
    pub(crate) resolver: &'e dyn Resolver,
    pub(crate) interfaces: &'e dyn InterfaceAddrs,
    pub(crate) files: &'e dyn FileReader,
    pub(crate) primary_hostname: Option<&'e str>,
}

impl fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("primary_hostname", &self.primary_hostname)
            .finish_non_exhaustive()
    }
}

impl Default for Env<'_> {
    fn default() -> Self {
        Env::new()
    }
}

impl<'e> Env<'e> {
    /// The defaults described on [`Env`].
    pub fn new() -> Env<'e> {
        Env {
            resolver: &NoResolver,
            interfaces: &NoInterfaces,
            files: &FsReader,
            primary_hostname: None,
        }
    }

    /// Uses `resolver` for host-name items and `@`.
    pub fn with_resolver(mut self, resolver: &'e dyn Resolver) -> Env<'e> {
        self.resolver = resolver;
        self
    }

    /// Uses `interfaces` for `@[]`.
    pub fn with_interfaces(mut self, interfaces: &'e dyn InterfaceAddrs) -> Env<'e> {
        self.interfaces = interfaces;
        self
    }

    /// Uses `files` for `/path` items and lookups.
    pub fn with_files(mut self, files: &'e dyn FileReader) -> Env<'e> {
        self.files = files;
        self
    }

    /// Sets Exim's `primary_hostname`, which `@` resolves.
    pub fn with_primary_hostname(mut self, name: &'e str) -> Env<'e> {
        self.primary_hostname = Some(name);
        self
    }
}

/// The host being checked: its IP address and, optionally, its name as given by the caller (the
/// routed host name in a transport; no reverse lookup is ever made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host<'h> {
    pub(crate) ip: Option<IpAddr>,
    pub(crate) name: Option<&'h str>,
}

impl<'h> Host<'h> {
    /// A remote host with this address and no name.
    pub fn new(ip: IpAddr) -> Host<'h> {
        Host {
            ip: Some(ip),
            name: None,
        }
    }

    /// "No remote host": Exim's local SMTP case (`-bs`), where only `*` and empty items match.
    pub fn local() -> Host<'h> {
        Host {
            ip: None,
            name: None,
        }
    }

    /// Gives the host name used by `*suffix`, `^regex`, literal-name and name-keyed lookup items.
    /// An empty name counts as no name.
    pub fn with_name(mut self, name: &'h str) -> Host<'h> {
        self.name = if name.is_empty() { None } else { Some(name) };
        self
    }

    /// The address, `None` for [`Host::local`].
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The name, if one was given.
    pub fn name(&self) -> Option<&'h str> {
        self.name
    }
}
