//! The PEM form of a proof (`tls_ocsp_file` items after `PEM `): the first
//! `-----BEGIN OCSP RESPONSE-----` block, with any text before it skipped as OpenSSL does
//! (`ocsptool` writes its text dump before the block).

const BEGIN: &str = "-----BEGIN OCSP RESPONSE-----";
const END: &str = "-----END OCSP RESPONSE-----";

/// Why a PEM proof file cannot be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PemError {
    /// No `BEGIN OCSP RESPONSE` line.
    NoBlock,
    /// No matching `END` line.
    Unterminated,
    /// The body is not base64.
    BadBase64,
}

impl std::fmt::Display for PemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PemError::NoBlock => "no \"-----BEGIN OCSP RESPONSE-----\" line",
            PemError::Unterminated => "no \"-----END OCSP RESPONSE-----\" line",
            PemError::BadBase64 => "the PEM body is not valid base64",
        })
    }
}

/// Decodes the first `OCSP RESPONSE` block of `data`.
pub(crate) fn ocsp_response(data: &[u8]) -> Result<Vec<u8>, PemError> {
    let mut lines = data.split(|&b| b == b'\n').map(trim);
    lines
        .by_ref()
        .find(|l| *l == BEGIN.as_bytes())
        .ok_or(PemError::NoBlock)?;
    let mut body = Vec::new();
    for line in lines {
        if line == END.as_bytes() {
            return base64_decode(&body).ok_or(PemError::BadBase64);
        }
        body.extend_from_slice(line);
    }
    Err(PemError::Unterminated)
}

fn trim(mut l: &[u8]) -> &[u8] {
    while let [rest @ .., last] = l {
        if last.is_ascii_whitespace() {
            l = rest;
        } else {
            break;
        }
    }
    while let [first, rest @ ..] = l {
        if first.is_ascii_whitespace() {
            l = rest;
        } else {
            break;
        }
    }
    l
}

/// Standard base64 (RFC 4648 §4) with padding; white space inside lines is refused.
fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let quads = text.chunks_exact(4);
    let count = quads.len();
    for (i, quad) in quads.enumerate() {
        let last = i + 1 == count;
        let pad = match quad {
            [_, _, b'=', b'='] if last => 2,
            [_, _, _, b'='] if last => 1,
            _ => 0,
        };
        let mut acc = 0u32;
        for (j, &c) in quad.iter().enumerate() {
            let v = if j >= 4 - pad { 0 } else { value(c)? };
            acc = (acc << 6) | v;
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(bytes.get(1..4 - pad)?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn decodes_after_junk_and_round_trips() {
        let text = b"OCSP Response Data:\n  junk\n-----BEGIN OCSP RESPONSE-----\r\nAAEC\r\nAw==\r\n-----END OCSP RESPONSE-----\r\ntrailer";
        assert_eq!(ocsp_response(text).unwrap(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn refuses_what_is_not_a_block() {
        assert_eq!(
            ocsp_response(b"-----BEGIN CERTIFICATE-----\nAA==\n"),
            Err(PemError::NoBlock)
        );
        assert_eq!(
            ocsp_response(format!("{BEGIN}\nAAEC\n").as_bytes()),
            Err(PemError::Unterminated)
        );
        assert_eq!(
            ocsp_response(format!("{BEGIN}\nAA=C\n{END}").as_bytes()),
            Err(PemError::BadBase64)
        );
        assert_eq!(
            ocsp_response(format!("{BEGIN}\nA A=\n{END}").as_bytes()),
            Err(PemError::BadBase64)
        );
    }

    #[test]
    fn base64_matches_known_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_decode(enc.as_bytes()).unwrap(), plain.as_bytes());
        }
    }
}
