//! A minimal DER toolkit: a TLV encoder for writing OCSP responses by hand, and a walker that
//! pulls the few fields the builder needs out of a certificate.
//!
//! Only low-tag-number (single identifier octet) tags are supported, which covers everything in
//! RFC 5280 certificates and RFC 6960 responses.
//! Lengths are always written in the minimal (DER) form.

/// Universal and context tags used by the builder.
pub(crate) mod tag {
    /// BOOLEAN.
    pub(crate) const BOOLEAN: u8 = 0x01;
    /// INTEGER.
    pub(crate) const INTEGER: u8 = 0x02;
    /// BIT STRING.
    pub(crate) const BIT_STRING: u8 = 0x03;
    /// OCTET STRING.
    pub(crate) const OCTET_STRING: u8 = 0x04;
    /// NULL.
    pub(crate) const NULL: u8 = 0x05;
    /// OBJECT IDENTIFIER.
    pub(crate) const OID: u8 = 0x06;
    /// ENUMERATED.
    pub(crate) const ENUMERATED: u8 = 0x0a;
    /// GeneralizedTime.
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    /// SEQUENCE (constructed).
    pub(crate) const SEQUENCE: u8 = 0x30;
}

/// Encodes a definite length in its minimal DER form.
pub(crate) fn length(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let bytes = len.to_be_bytes();
    let first = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len() - 1);
    let significant = &bytes[first..];
    let mut out = Vec::with_capacity(1 + significant.len());
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
    out
}

/// Encodes one TLV with the given identifier octet and contents.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = length(content.len());
    let mut out = Vec::with_capacity(1 + len.len() + content.len());
    out.push(tag);
    out.extend_from_slice(&len);
    out.extend_from_slice(content);
    out
}

/// Encodes a SEQUENCE whose contents are the concatenation of already-encoded parts.
pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag::SEQUENCE, &parts.concat())
}

/// Encodes a context-specific constructed tag `[n]` (EXPLICIT tagging, or IMPLICIT over a
/// constructed type) around already-encoded contents.
pub(crate) fn context(n: u8, content: &[u8]) -> Vec<u8> {
    assert!(n < 31, "only low tag numbers are supported");
    tlv(0xa0 | n, content)
}

/// Encodes a context-specific primitive tag `[n]` (IMPLICIT over a primitive type).
pub(crate) fn context_primitive(n: u8, content: &[u8]) -> Vec<u8> {
    assert!(n < 31, "only low tag numbers are supported");
    tlv(0x80 | n, content)
}

/// Encodes an OBJECT IDENTIFIER from its arcs (X.690 §8.19).
pub(crate) fn oid(arcs: &[u64]) -> Vec<u8> {
    assert!(arcs.len() >= 2, "an OID has at least two arcs");
    assert!(
        arcs[0] <= 2 && (arcs[0] == 2 || arcs[1] < 40),
        "invalid first arcs"
    );
    let mut content = Vec::new();
    base128(&mut content, arcs[0] * 40 + arcs[1]);
    for &arc in &arcs[2..] {
        base128(&mut content, arc);
    }
    tlv(tag::OID, &content)
}

fn base128(out: &mut Vec<u8>, mut value: u64) {
    let mut groups = vec![(value & 0x7f) as u8];
    value >>= 7;
    while value != 0 {
        groups.push(0x80 | (value & 0x7f) as u8);
        value >>= 7;
    }
    groups.reverse();
    out.extend_from_slice(&groups);
}

/// Returns the minimal two's-complement contents of a non-negative INTEGER whose magnitude is the
/// unsigned big-endian `bytes`: redundant leading zeros are removed and a zero is prepended
/// when the top bit is set.
/// An empty input means zero.
pub(crate) fn uint_contents(bytes: &[u8]) -> Vec<u8> {
    let first = bytes.iter().position(|&b| b != 0);
    let magnitude = match first {
        Some(i) => &bytes[i..],
        None => return vec![0],
    };
    let mut out = Vec::with_capacity(magnitude.len() + 1);
    if magnitude[0] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(magnitude);
    out
}

/// Encodes a non-negative INTEGER from unsigned big-endian bytes.
pub(crate) fn uint(bytes: &[u8]) -> Vec<u8> {
    tlv(tag::INTEGER, &uint_contents(bytes))
}

/// Encodes a small non-negative INTEGER.
pub(crate) fn small_uint(value: u64) -> Vec<u8> {
    uint(&value.to_be_bytes())
}

/// Encodes an ENUMERATED with a value in 0..=127.
pub(crate) fn enumerated(value: u8) -> Vec<u8> {
    tlv(tag::ENUMERATED, &uint_contents(&[value]))
}

/// Encodes NULL.
pub(crate) fn null() -> Vec<u8> {
    vec![tag::NULL, 0]
}

/// Encodes an OCTET STRING.
pub(crate) fn octet_string(content: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, content)
}

/// Encodes a BIT STRING with zero unused bits.
pub(crate) fn bit_string(bits: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bits.len() + 1);
    content.push(0);
    content.extend_from_slice(bits);
    tlv(tag::BIT_STRING, &content)
}

/// Formats unix seconds as the contents of a GeneralizedTime, `YYYYMMDDHHMMSS[.fraction]Z`.
///
/// `fraction` is the digits written after the decimal point (for example `"5"`), or `None` for
/// the DER form RFC 5280 §4.1.2.5.2 requires.
pub(crate) fn generalized_time_string(unix: u64, fraction: Option<&str>) -> String {
    let secs = i64::try_from(unix).expect("time fits in i64");
    let t =
        time::OffsetDateTime::from_unix_timestamp(secs).expect("time within the supported range");
    let mut s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if let Some(fraction) = fraction {
        s.push('.');
        s.push_str(fraction);
    }
    s.push('Z');
    s
}

/// Encodes a GeneralizedTime; see [`generalized_time_string`].
pub(crate) fn generalized_time(unix: u64, fraction: Option<&str>) -> Vec<u8> {
    tlv(
        tag::GENERALIZED_TIME,
        generalized_time_string(unix, fraction).as_bytes(),
    )
}

/// One decoded TLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet.
    pub(crate) tag: u8,
    /// The whole encoding: identifier, length and contents.
    pub(crate) full: &'a [u8],
    /// The contents octets.
    pub(crate) content: &'a [u8],
}

/// Reads one TLV from the front of `input`, returning it and the bytes after it.
///
/// Returns `None` on a high tag number, an indefinite or over-long length, or truncation.
pub(crate) fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (len_bytes, after) = rest.split_at_checked(n)?;
        rest = after;
        len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let header = input.len() - rest.len();
    let (content, after) = rest.split_at_checked(len)?;
    let full = input.get(..header + len)?;
    Some((Tlv { tag, full, content }, after))
}

/// Reads one TLV that must carry `tag`.
pub(crate) fn expect(input: &[u8], tag: u8) -> Option<(Tlv<'_>, &[u8])> {
    let (tlv, rest) = read(input)?;
    (tlv.tag == tag).then_some((tlv, rest))
}

/// Reads every TLV of a constructed value's contents.
#[cfg(test)]
pub(crate) fn children(content: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        let (tlv, after) = read(rest)?;
        out.push(tlv);
        rest = after;
    }
    Some(out)
}

/// The certificate fields the OCSP builder needs (RFC 5280 §4.1).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CertFields<'a> {
    /// Contents of `serialNumber` (two's complement, as encoded).
    pub(crate) serial: &'a [u8],
    /// The complete DER of the `issuer` Name.
    pub(crate) issuer: &'a [u8],
    /// The complete DER of the `subject` Name.
    pub(crate) subject: &'a [u8],
    /// The `subjectPublicKey` BIT STRING contents without the unused-bits octet.
    pub(crate) spki_bits: &'a [u8],
}

/// Walks `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }` down to
/// the fields in [`CertFields`].
pub(crate) fn cert_fields(der: &[u8]) -> Option<CertFields<'_>> {
    let (cert, after) = expect(der, tag::SEQUENCE)?;
    if !after.is_empty() {
        return None;
    }
    let (tbs, _) = expect(cert.content, tag::SEQUENCE)?;
    let mut rest = tbs.content;
    // version [0] EXPLICIT Version DEFAULT v1
    if let Some((first, after)) = read(rest)
        && first.tag == 0xa0
    {
        rest = after;
    }
    let (serial, rest) = expect(rest, tag::INTEGER)?;
    let (_signature, rest) = expect(rest, tag::SEQUENCE)?;
    let (issuer, rest) = expect(rest, tag::SEQUENCE)?;
    let (_validity, rest) = expect(rest, tag::SEQUENCE)?;
    let (subject, rest) = expect(rest, tag::SEQUENCE)?;
    let (spki, _) = expect(rest, tag::SEQUENCE)?;
    let (_alg, spki_rest) = expect(spki.content, tag::SEQUENCE)?;
    let (bits, _) = expect(spki_rest, tag::BIT_STRING)?;
    let (&unused, spki_bits) = bits.content.split_first()?;
    if unused != 0 {
        return None;
    }
    Some(CertFields {
        serial: serial.content,
        issuer: issuer.full,
        subject: subject.full,
        spki_bits,
    })
}
