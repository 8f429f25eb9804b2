//! `tls_verify_certificates`: the trust anchors, kept as certificate DER so that a leaf issued
//! directly by a root can have its staple checked against the root's certificate.

use std::path::Path;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

use crate::Error;

/// The bundle read for `tls_verify_certificates = system`: Debian's (and Ubuntu's)
/// `ca-certificates` bundle. Exim asks OpenSSL for its default paths instead; on other systems
/// name the bundle or directory explicitly.
pub const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Where the trust anchors come from.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSource {
    /// `system`: [`SYSTEM_BUNDLE`].
    System,
    /// A path: a PEM file, or a directory whose regular files are read as PEM (files with no
    /// `CERTIFICATE` section, such as CRLs or notes, are skipped).
    Path(String),
}

impl TrustSource {
    /// Reads the option's value: `system` (exactly, after trimming white space) or a path.
    pub fn parse(setting: &str) -> TrustSource {
        let setting = setting.trim();
        if setting == "system" {
            TrustSource::System
        } else {
            TrustSource::Path(setting.to_owned())
        }
    }
}

/// The trust anchors' certificates, in the order read.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    certs: Vec<CertificateDer<'static>>,
}

impl TrustStore {
    /// A store holding exactly these certificates (DER).
    pub fn from_der(certs: impl IntoIterator<Item = Vec<u8>>) -> TrustStore {
        TrustStore {
            certs: certs.into_iter().map(CertificateDer::from).collect(),
        }
    }

    /// Every `CERTIFICATE` section of a PEM text (other sections are skipped); `origin` names the
    /// text in errors.
    pub fn from_pem(pem: &[u8], origin: &str) -> Result<TrustStore, Error> {
        let certs = parse_pem(pem, origin)?;
        if certs.is_empty() {
            return Err(Error::NoTrustAnchors {
                source: origin.to_owned(),
            });
        }
        Ok(TrustStore { certs })
    }

    /// Reads `tls_verify_certificates` (see [`TrustSource`]). This is the crate's only I/O.
    pub fn load(setting: &str) -> Result<TrustStore, Error> {
        let path = match TrustSource::parse(setting) {
            TrustSource::System => SYSTEM_BUNDLE.to_owned(),
            TrustSource::Path(p) => p,
        };
        let read_err = |p: &Path, e: std::io::Error| Error::TrustRead {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        let root = Path::new(&path);
        let meta = std::fs::metadata(root).map_err(|e| read_err(root, e))?;
        let mut certs = Vec::new();
        if meta.is_dir() {
            let mut entries = std::fs::read_dir(root)
                .map_err(|e| read_err(root, e))?
                .map(|entry| entry.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| read_err(root, e))?;
            entries.sort();
            for file in entries {
                // Follows symbolic links, as /etc/ssl/certs is mostly made of them.
                if !std::fs::metadata(&file).is_ok_and(|m| m.is_file()) {
                    continue;
                }
                let bytes = std::fs::read(&file).map_err(|e| read_err(&file, e))?;
                certs.extend(parse_pem(&bytes, &file.display().to_string())?);
            }
        } else {
            let bytes = std::fs::read(root).map_err(|e| read_err(root, e))?;
            certs = parse_pem(&bytes, &path)?;
        }
        if certs.is_empty() {
            return Err(Error::NoTrustAnchors {
                source: setting.to_owned(),
            });
        }
        Ok(TrustStore { certs })
    }

    /// The certificates.
    pub fn certs(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// How many certificates it holds.
    pub fn len(&self) -> usize {
        self.certs.len()
    }
}

fn parse_pem(pem: &[u8], origin: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::TrustPem {
            path: origin.to_owned(),
            message: e.to_string(),
        })
}
