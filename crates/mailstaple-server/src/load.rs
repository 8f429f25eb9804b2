//! Reading certificate, key and proof files, and judging a proof for a certificate.
//! Everything here runs at build time or in the watcher, never in a handshake.

use std::fmt;
use std::io::{self, Read as _};
use std::path::Path;
use std::sync::Arc;

use mailstaple_ocsp::{CertView, Time, hex, name_to_string};
use mailstaple_verify::{Policy, VerifiedStaple};
use rustls::SignatureScheme;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};

use crate::Error;
use crate::config::{CertFiles, OcspFormat};

/// Largest certificate, key or issuer file read.
const MAX_PEM_FILE: u64 = 4 << 20;
/// Largest proof file read; real proofs are a few kilobytes.
pub(crate) const MAX_PROOF_FILE: u64 = 1 << 20;

/// Every signature scheme rustls knows, probed against each key at load so that choosing a
/// certificate in the handshake allocates nothing.
const SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::ECDSA_NISTP256_SHA256,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::ECDSA_NISTP521_SHA512,
    SignatureScheme::ED25519,
    SignatureScheme::ED448,
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
    SignatureScheme::RSA_PKCS1_SHA1,
    SignatureScheme::ECDSA_SHA1_Legacy,
    SignatureScheme::ML_DSA_44,
    SignatureScheme::ML_DSA_65,
    SignatureScheme::ML_DSA_87,
];

/// A certificate with its key, ready for rustls, and what is needed to judge its proofs.
pub(crate) struct LoadedCert {
    /// The chain and key, without a proof.
    pub(crate) bare: Arc<CertifiedKey>,
    /// Subject, RFC 4514.
    pub(crate) subject: String,
    /// Serial, hex.
    pub(crate) serial: String,
    /// TLS Feature status_request.
    pub(crate) must_staple: bool,
    /// Candidate issuer certificates (DER), chain first, then `tls_ocsp_issuer`.
    pub(crate) issuers: Vec<Vec<u8>>,
    /// The issuer name wanted, RFC 4514.
    pub(crate) issuer_name: String,
    /// Signature schemes the key can sign with.
    pub(crate) schemes: Vec<SignatureScheme>,
}

impl LoadedCert {
    /// The end-entity certificate, DER.
    pub(crate) fn leaf(&self) -> &[u8] {
        self.bare
            .cert
            .first()
            .map(|c| c.as_ref())
            .unwrap_or_default()
    }
}

pub(crate) fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if u64::try_from(buf.len()).unwrap_or(u64::MAX) > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(buf)
}

fn read_pem_file(path: &Path) -> Result<Vec<u8>, Error> {
    read_bounded(path, MAX_PEM_FILE).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let data = read_pem_file(path)?;
    let certs = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::BadCertificateFile {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(Error::BadCertificateFile {
            path: path.to_owned(),
            detail: "no PEM CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}

/// Loads one certificate's files.
pub(crate) fn load_cert(files: &CertFiles, crypto: &CryptoProvider) -> Result<LoadedCert, Error> {
    let chain = certificates(&files.certificate)?;
    let key_pem = read_pem_file(&files.privatekey)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| Error::BadKeyFile {
        path: files.privatekey.clone(),
        detail: e.to_string(),
    })?;
    let bad_cert = |detail: String| Error::BadCertificateFile {
        path: files.certificate.clone(),
        detail,
    };
    let leaf = chain
        .first()
        .ok_or_else(|| bad_cert("no certificate".into()))?
        .clone();
    let view = CertView::parse(leaf.as_ref()).map_err(|e| bad_cert(e.to_string()))?;
    let subject = display_name(view.subject);
    let issuer_name = display_name(view.issuer);
    let must_staple = view.must_staple().unwrap_or_else(|e| {
        log::warn!(
            "certificate {} ({subject}): unreadable TLS Feature extension ({e}); treated as not must-staple",
            files.certificate.display()
        );
        false
    });
    let mut issuers: Vec<Vec<u8>> = chain
        .iter()
        .skip(1)
        .filter(|c| CertView::parse(c.as_ref()).is_ok_and(|v| v.subject == view.issuer))
        .map(|c| c.as_ref().to_vec())
        .collect();
    if let Some(ca_file) = &files.issuer_file
        && files.ocsp.is_some()
    {
        for ca in certificates(ca_file)? {
            if CertView::parse(ca.as_ref()).is_ok_and(|v| v.subject == view.issuer)
                && !issuers.iter().any(|i| i.as_slice() == ca.as_ref())
            {
                issuers.push(ca.as_ref().to_vec());
            }
        }
    }
    if files.ocsp.is_some() && issuers.is_empty() {
        return Err(Error::NoIssuer {
            certificate: files.certificate.clone(),
            issuer: issuer_name,
        });
    }
    let serial = hex(view.serial);
    let certified = CertifiedKey::from_der(chain, key, crypto).map_err(|e| Error::KeyRejected {
        certificate: files.certificate.clone(),
        key: files.privatekey.clone(),
        detail: e.to_string(),
    })?;
    let schemes = SCHEMES
        .iter()
        .copied()
        .filter(|s| certified.key.choose_scheme(&[*s]).is_some())
        .collect();
    Ok(LoadedCert {
        bare: Arc::new(certified),
        subject,
        serial,
        must_staple,
        issuers,
        issuer_name,
        schemes,
    })
}

fn display_name(der: &[u8]) -> String {
    name_to_string(der).unwrap_or_else(|| format!("<undecodable name {}>", hex(der)))
}

/// Why a proof file is not served.
#[derive(Debug)]
pub(crate) enum Rejection {
    /// The file cannot be read.
    Io(io::Error),
    /// The PEM form does not decode.
    Pem(mailstaple_ocsp::Error),
    /// `mailstaple-verify` refused it (the error from the first issuer candidate).
    Verify(mailstaple_verify::Error),
    /// Authentic, but the responder does not know the certificate.
    Unknown,
    /// Authentic and good, but older than the proof being served.
    Older { this_update: Time, served: Time },
    /// Authentic and good, but not newer than a revoked answer already seen.
    NotAfterRevocation { this_update: Time, revoked: Time },
}

impl Rejection {
    /// Whether the same file may become acceptable later without changing (a proof from a
    /// responder whose clock runs ahead).
    pub(crate) fn retry_later(&self) -> bool {
        matches!(
            self,
            Rejection::Verify(
                mailstaple_verify::Error::NotYetValid { .. }
                    | mailstaple_verify::Error::SignerNotYetValid { .. }
            )
        )
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Io(e) => write!(f, "cannot read it: {e}"),
            Rejection::Pem(e) => write!(f, "not a PEM proof: {e}"),
            Rejection::Verify(e) => write!(f, "verification failed: {e}"),
            Rejection::Unknown => {
                f.write_str("the responder answers \"unknown\" for this certificate")
            }
            Rejection::Older {
                this_update,
                served,
            } => write!(
                f,
                "its thisUpdate {this_update} is older than that of the proof being served ({served})"
            ),
            Rejection::NotAfterRevocation {
                this_update,
                revoked,
            } => write!(
                f,
                "its thisUpdate {this_update} is not later than the revoked answer seen ({revoked})"
            ),
        }
    }
}

/// Reads, decodes and verifies a proof for `cert` at `now`. The status is not judged here.
pub(crate) fn judge(
    bytes: &[u8],
    format: OcspFormat,
    cert: &LoadedCert,
    now: UnixTime,
    policy: &Policy,
) -> Result<VerifiedStaple, Rejection> {
    let decoded;
    let der = match format {
        OcspFormat::Pem => {
            decoded = mailstaple_ocsp::pem::first_block(bytes, &["OCSP RESPONSE"])
                .map_err(Rejection::Pem)?
                .1;
            decoded.as_slice()
        }
        OcspFormat::Der => bytes,
    };
    let mut first = None;
    for issuer in &cert.issuers {
        match mailstaple_verify::verify(der, cert.leaf(), issuer, now, policy) {
            Ok(v) => return Ok(v),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(match first {
        Some(e) => Rejection::Verify(e),
        None => Rejection::Io(io::Error::other(format!(
            "no issuer certificate \"{}\" to verify it with",
            cert.issuer_name
        ))),
    })
}
