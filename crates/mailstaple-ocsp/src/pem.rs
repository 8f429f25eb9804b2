//! PEM (RFC 7468) reading: the workspace's one reader, for certificates, keys and OCSP
//! responses in files users hand us.
//!
//! The rules, the same for every caller:
//! - a block starts at a line that is exactly `-----BEGIN <label>-----` once leading and trailing
//!   white space (CR included) are removed, and ends at the matching `-----END <label>-----`
//!   line;
//! - text outside blocks is skipped, as OpenSSL does (`openssl x509 -text` and `ocsptool` write
//!   their text dumps before the block), and so are blocks with other labels;
//! - body lines are trimmed and concatenated; white space inside a line, RFC 1421 headers
//!   (`Proc-Type:`, the legacy encryption) and anything that is not base64 are errors that name
//!   the block.
//!
//! Bytes that contain no `-----BEGIN ` at all are not PEM: [`der_or_pem`] passes them through as
//! DER, so every file option accepts either form.

use std::borrow::Cow;

use crate::Error;

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

/// Whether `bytes` look like PEM: they contain `-----BEGIN ` somewhere.
pub fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(BEGIN.len()).any(|w| w == BEGIN)
}

/// The first block whose label is one of `labels`: its label and its decoded contents.
pub fn first_block<'l>(text: &[u8], labels: &[&'l str]) -> Result<(&'l str, Vec<u8>), Error> {
    let mut lines = lines(text);
    while let Some(line) = lines.next() {
        let Some(found) = begin_label(line) else {
            continue;
        };
        if let Some(label) = labels.iter().find(|l| l.as_bytes() == found) {
            return Ok((label, body(&mut lines, label)?));
        }
    }
    let labels = match labels {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    };
    Err(Error::PemMissing { labels })
}

/// The decoded contents of every block labelled `label`, in order (a certificate chain, say);
/// empty when there is none.
pub fn all_blocks(text: &[u8], label: &str) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    let mut lines = lines(text);
    while let Some(line) = lines.next() {
        if begin_label(line) == Some(label.as_bytes()) {
            out.push(body(&mut lines, label)?);
        }
    }
    Ok(out)
}

/// `bytes` as DER: the first block labelled one of `labels` when they are PEM
/// ([`is_pem`]), else the bytes themselves.
pub fn der_or_pem<'a>(bytes: &'a [u8], labels: &[&str]) -> Result<Cow<'a, [u8]>, Error> {
    if is_pem(bytes) {
        first_block(bytes, labels).map(|(_, der)| Cow::Owned(der))
    } else {
        Ok(Cow::Borrowed(bytes))
    }
}

/// `der` as a PEM block labelled `label`: base64 in lines of 64 characters (RFC 7468 §2).
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = crate::base64::encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 32);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // Base64 is ASCII, so every 64-byte cut is a character boundary.
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The lines of `text`, each trimmed of ASCII white space.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n').map(<[u8]>::trim_ascii)
}

/// The label of a `-----BEGIN <label>-----` line.
fn begin_label(line: &[u8]) -> Option<&[u8]> {
    line.strip_prefix(BEGIN)?.strip_suffix(DASHES)
}

/// Reads body lines up to the END line of `label` and decodes them.
fn body<'a>(lines: &mut impl Iterator<Item = &'a [u8]>, label: &str) -> Result<Vec<u8>, Error> {
    let bad = |why| Error::Pem {
        label: label.to_owned(),
        why,
    };
    let mut base64 = Vec::new();
    for line in lines {
        if let Some(end) = line.strip_prefix(END).and_then(|l| l.strip_suffix(DASHES)) {
            if end != label.as_bytes() {
                return Err(bad("its \"-----END\" line names another label"));
            }
            return crate::base64::decode(&base64, false)
                .ok_or_else(|| bad("its body is not valid base64"));
        }
        if line.contains(&b':') {
            return Err(bad(
                "it has RFC 1421 headers (legacy encryption?), which are not supported",
            ));
        }
        base64.extend_from_slice(line);
    }
    Err(bad("no \"-----END\" line"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn why(e: Error) -> String {
        e.to_string()
    }

    #[test]
    fn skips_text_and_other_blocks_and_trims_lines() {
        let text = b"OCSP Response Data:\n  junk\n-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n  -----BEGIN OCSP RESPONSE-----\r\nAAEC\r\n  Aw==  \r\n-----END OCSP RESPONSE-----\r\ntrailer";
        assert_eq!(
            first_block(text, &["OCSP RESPONSE"]).unwrap(),
            ("OCSP RESPONSE", vec![0, 1, 2, 3])
        );
        assert_eq!(
            first_block(text, &["X", "CERTIFICATE", "OCSP RESPONSE"]).unwrap(),
            ("CERTIFICATE", vec![0])
        );
        assert_eq!(
            der_or_pem(text, &["OCSP RESPONSE"]).unwrap().as_ref(),
            &[0, 1, 2, 3]
        );
        assert_eq!(
            der_or_pem(&[0x30, 0], &["CERTIFICATE"]).unwrap().as_ref(),
            &[0x30, 0]
        );
    }

    #[test]
    fn encodes_in_64_character_lines_and_reads_back() {
        for len in [0usize, 1, 47, 48, 49, 200] {
            let der: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let text = encode("CERTIFICATE", &der);
            assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"));
            assert!(text.ends_with("\n-----END CERTIFICATE-----\n") || len == 0);
            assert!(
                text.lines()
                    .all(|l| l.len() <= 64 || l.starts_with("-----"))
            );
            assert_eq!(
                first_block(text.as_bytes(), &["CERTIFICATE"]).unwrap().1,
                der
            );
        }
        assert_eq!(
            encode("X", b"hello"),
            "-----BEGIN X-----\naGVsbG8=\n-----END X-----\n"
        );
    }

    #[test]
    fn reads_every_block_of_a_chain() {
        let text = b"-----BEGIN CERTIFICATE-----\nAQ==\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nAg==\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nAw==\n-----END CERTIFICATE-----\n";
        assert_eq!(
            all_blocks(text, "CERTIFICATE").unwrap(),
            vec![vec![1], vec![3]]
        );
        assert!(all_blocks(b"nothing", "CERTIFICATE").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_block_and_the_problem() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"-----BEGIN CERTIFICATE-----\nAA==\n",
                "no PEM block labelled OCSP RESPONSE",
            ),
            (
                b"-----BEGIN OCSP RESPONSE-----\nAAEC\n",
                "PEM OCSP RESPONSE block: no \"-----END\" line",
            ),
            (
                b"-----BEGIN OCSP RESPONSE-----\nAA=C\n-----END OCSP RESPONSE-----",
                "PEM OCSP RESPONSE block: its body is not valid base64",
            ),
            (
                b"-----BEGIN OCSP RESPONSE-----\nA A=\n-----END OCSP RESPONSE-----",
                "PEM OCSP RESPONSE block: its body is not valid base64",
            ),
            (
                b"-----BEGIN OCSP RESPONSE-----\nAA==\n-----END CERTIFICATE-----",
                "PEM OCSP RESPONSE block: its \"-----END\" line names another label",
            ),
            (
                b"-----BEGIN OCSP RESPONSE-----\nProc-Type: 4,ENCRYPTED\n\nAA==\n-----END OCSP RESPONSE-----",
                "PEM OCSP RESPONSE block: it has RFC 1421 headers (legacy encryption?), which are not supported",
            ),
            (
                b"x -----BEGIN OCSP RESPONSE-----\nAA==\n-----END OCSP RESPONSE-----",
                "no PEM block labelled OCSP RESPONSE",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                why(first_block(text, &["OCSP RESPONSE"]).unwrap_err()),
                *want
            );
        }
        assert_eq!(
            why(
                first_block(b"", &["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"])
                    .unwrap_err()
            ),
            "no PEM block labelled PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY"
        );
    }

    #[test]
    fn never_panics_on_prefixes_of_a_block() {
        let text = b"-----BEGIN CERTIFICATE-----\r\nAAEC\r\n-----END CERTIFICATE-----\r\n";
        for n in 0..=text.len() {
            let prefix = text.get(..n).unwrap();
            let _ = first_block(prefix, &["CERTIFICATE"]);
            let _ = all_blocks(prefix, "CERTIFICATE");
            let _ = der_or_pem(prefix, &["CERTIFICATE"]);
        }
    }
}
