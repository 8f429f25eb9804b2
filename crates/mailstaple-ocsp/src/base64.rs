//! Base64 (RFC 4648) decoding and encoding, for PEM files (RFC 7468) and RFC 6960 / RFC 5019
//! GET requests: the one implementation every crate of the workspace uses.

/// Decodes base64 in the standard alphabet, also accepting the URL-safe `-` and `_` that some
/// clients put in GET paths. Whitespace is skipped when `skip_whitespace` is set (PEM) and
/// refused otherwise (URLs). Padding is optional, but nothing may follow it, and leftover bits
/// must be zero (so one encoding decodes to one value).
pub fn decode(text: &[u8], skip_whitespace: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    let mut acc = 0u32;
    let mut bits = 0u32;
    let mut padding = 0usize;
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            c if skip_whitespace && c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        if padding > 0 {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap_or_default());
            acc &= (1 << bits) - 1;
        }
    }
    // 6 leftover bits cannot come from any byte string; leftover bits must be zero; padding, when
    // present, must complete the last quantum.
    let quantum_ok = padding == 0 || (bits == 4 && padding == 2) || (bits == 2 && padding == 1);
    (bits != 6 && acc == 0 && padding <= 2 && quantum_ok).then_some(out)
}

/// Encodes standard base64 with padding.
pub fn encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            match ALPHABET.get(((n >> (18 - 6 * i)) & 63) as usize) {
                Some(&c) if i <= chunk.len() => out.push(char::from(c)),
                _ => out.push('='),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses() {
        for n in 0..40u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)).collect();
            let text = encode(&data);
            assert_eq!(decode(text.as_bytes(), false).unwrap(), data);
            assert_eq!(
                decode(text.trim_end_matches('=').as_bytes(), false).unwrap(),
                data
            );
        }
        assert_eq!(decode(b"aGVs\nbG8=", true).unwrap(), b"hello");
        assert_eq!(decode(b"-_8=", false).unwrap(), [0xfb, 0xff]);
        for bad in [
            &b"aGVs\nbG8="[..],
            b"a",
            b"aGVsbG8==",
            b"aG=VsbG8",
            b"aGVsbG9=",
            b"aGV*",
            b"aGVsbG8===",
        ] {
            assert!(
                decode(bad, false).is_none(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
