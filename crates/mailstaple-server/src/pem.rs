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

/// Standard base64 (RFC 4648 §4), through the workspace's one codec; white space inside lines
/// is refused.
fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    mailstaple_ocsp::base64::decode(text, false)
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
