//! The crate's one error type.

use std::fmt;
use std::path::PathBuf;

use crate::parse::{Finding, Severity};

/// Why a configuration file was refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The file cannot be read (the operator's: a wrong path or permissions).
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file was read but is not usable (the operator's: each error finding names the line,
    /// the option and the problem).
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every finding, errors first, then by line; at least one is an error.
        findings: Vec<Finding>,
    },
}

impl Error {
    /// The error findings of [`Error::Invalid`] (none for [`Error::Read`]).
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        let findings: &[Finding] = match self {
            Error::Invalid { findings, .. } => findings,
            Error::Read { .. } => &[],
        };
        findings.iter().filter(|f| f.severity == Severity::Error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Read { path, source } => write!(
                f,
                "cannot read configuration file {}: {source}",
                path.display()
            ),
            Error::Invalid { path, .. } => {
                let mut first = true;
                for finding in self.errors() {
                    if !first {
                        writeln!(f)?;
                    }
                    first = false;
                    write!(f, "{}: {finding}", path.display())?;
                }
                Ok(())
            }
        }
    }
}

// The message already says what the system said; returning it as `source` too would print it
// twice in an error chain (`{:#}`).
impl std::error::Error for Error {}
