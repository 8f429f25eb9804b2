//! Reading PEM or DER files: certificates and keys.

use crate::Error;

/// The DER of the first PEM block labelled `label` in `text`, or `None` if there is none.
pub(crate) fn block(text: &str, label: &str) -> Result<Option<Vec<u8>>, Error> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let Some(start) = text.find(&begin) else {
        return Ok(None);
    };
    let body = text.get(start + begin.len()..).unwrap_or_default();
    let stop = body.find(&end).ok_or_else(|| Error::Pem {
        what: "PEM file",
        why: format!("unterminated {label} block"),
    })?;
    let der =
        mailstaple_ocsp::base64::decode(body.get(..stop).unwrap_or_default().as_bytes(), true)
            .ok_or_else(|| Error::Pem {
                what: "PEM file",
                why: format!("bad base64 in {label} block"),
            })?;
    Ok(Some(der))
}

/// A certificate file's contents as DER: the first `CERTIFICATE` block of a PEM file, or the
/// bytes themselves when they are not PEM.
pub fn certificate_der(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    match std::str::from_utf8(bytes)
        .ok()
        .filter(|t| t.contains("-----BEGIN "))
    {
        Some(text) => block(text, "CERTIFICATE")?.ok_or_else(|| Error::Pem {
            what: "certificate file",
            why: "no CERTIFICATE block".to_owned(),
        }),
        None => Ok(bytes.to_vec()),
    }
}
