//! Certificate files, PEM or DER, through the workspace's one PEM reader
//! (`mailstaple_ocsp::pem`).

use crate::Error;

/// A certificate file's contents as DER: the first `CERTIFICATE` block of a PEM file (text and
/// other blocks before it skipped), or the bytes themselves when they are not PEM.
pub fn certificate_der(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    mailstaple_ocsp::pem::der_or_pem(bytes, &["CERTIFICATE"])
        .map(std::borrow::Cow::into_owned)
        .map_err(|e| Error::Pem {
            what: "certificate file",
            why: e.to_string(),
        })
}
