//! Base64 (for RFC 5019 GET requests and PEM) and a minimal PEM certificate reader.

/// Standard base64 with padding (the workspace's one codec, in `mailstaple-ocsp`).
pub(crate) fn base64_encode(data: &[u8]) -> String {
    mailstaple_ocsp::base64::encode(data)
}

/// Decodes standard base64, skipping white space; `None` when it is not base64.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    mailstaple_ocsp::base64::decode(text.as_bytes(), true)
}

/// Percent-encodes the characters of base64 that are special in a URL path (RFC 5019 §A.1).
pub(crate) fn url_escape_base64(b64: &str) -> String {
    let mut out = String::with_capacity(b64.len() + 16);
    for c in b64.chars() {
        match c {
            '+' => out.push_str("%2B"),
            '/' => out.push_str("%2F"),
            '=' => out.push_str("%3D"),
            c => out.push(c),
        }
    }
    out
}

/// The first `label` block of a PEM text, or the bytes themselves when they are not PEM.
pub(crate) fn der_or_pem(bytes: Vec<u8>, label: &str) -> Option<Vec<u8>> {
    let Some(text) = std::str::from_utf8(&bytes)
        .ok()
        .filter(|t| t.contains("-----BEGIN "))
    else {
        return Some(bytes);
    };
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let body = text.get(start..)?;
    let stop = body.find(&end)?;
    base64_decode(body.get(..stop)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for len in 0..70 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let enc = base64_encode(&data);
            assert_eq!(enc.len() % 4, 0);
            assert_eq!(base64_decode(&enc).unwrap(), data);
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(url_escape_base64("a+b/c="), "a%2Bb%2Fc%3D");
    }

    #[test]
    fn pem_or_der() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nZm9v\nYmFy\n-----END CERTIFICATE-----\n";
        assert_eq!(
            der_or_pem(pem.as_bytes().to_vec(), "CERTIFICATE").unwrap(),
            b"foobar"
        );
        assert_eq!(
            der_or_pem(vec![0x30, 0x00], "CERTIFICATE").unwrap(),
            vec![0x30, 0x00]
        );
        assert!(der_or_pem(b"-----BEGIN X-----".to_vec(), "CERTIFICATE").is_none());
    }
}
