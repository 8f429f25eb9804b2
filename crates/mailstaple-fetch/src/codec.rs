//! Base64 for RFC 5019 GET requests (PEM files are read by `mailstaple_ocsp::pem`).

/// Standard base64 with padding (the workspace's one codec, in `mailstaple-ocsp`).
pub(crate) fn base64_encode(data: &[u8]) -> String {
    mailstaple_ocsp::base64::encode(data)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for len in 0..70 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let enc = base64_encode(&data);
            assert_eq!(enc.len() % 4, 0);
            assert_eq!(
                mailstaple_ocsp::base64::decode(enc.as_bytes(), true).unwrap(),
                data
            );
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(url_escape_base64("a+b/c="), "a%2Bb%2Fc%3D");
    }
}
