//! A minimal, strict DER reader over borrowed bytes.
//!
//! Only what OCSP and X.509 need: single-byte tags, definite minimal lengths of at most four
//! length octets. Every read is bounds-checked and every error names the structure being read,
//! so no input can make it panic. There is no recursion here: callers walk a fixed schema, which
//! bounds nesting by construction.

use crate::Error;

/// Universal tags and context-specific tags used in RFC 6960 and RFC 5280.
pub(crate) mod tag {
    pub(crate) const BOOLEAN: u8 = 0x01;
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const ENUMERATED: u8 = 0x0a;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const UTC_TIME: u8 = 0x17;
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    /// `[n]` constructed (EXPLICIT or IMPLICIT SEQUENCE).
    pub(crate) const fn cons(n: u8) -> u8 {
        0xa0 | n
    }
    /// `[n]` primitive (IMPLICIT of a primitive type).
    pub(crate) const fn prim(n: u8) -> u8 {
        0x80 | n
    }
}

/// The largest element we accept: 16 MiB, far above any OCSP response or certificate.
const MAX_LEN: usize = 16 * 1024 * 1024;

/// One decoded element: its tag, its contents and the whole TLV as received.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) value: &'a [u8],
    pub(crate) raw: &'a [u8],
}

/// A cursor over DER bytes.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Fails with [`Error::TrailingData`] unless everything was consumed.
    pub(crate) fn finish(&self, what: &'static str) -> Result<(), Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingData {
                what,
                bytes: self.rest.len(),
            })
        }
    }

    /// The tag of the next element, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads any element.
    pub(crate) fn any(&mut self, what: &'static str) -> Result<Tlv<'a>, Error> {
        let input = self.rest;
        let (&tag, after_tag) = input.split_first().ok_or(Error::Truncated { what })?;
        if tag & 0x1f == 0x1f {
            return Err(Error::BadEncoding {
                what,
                why: "high tag numbers are not used here",
            });
        }
        let (&first, mut after_len) = after_tag.split_first().ok_or(Error::Truncated { what })?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 {
                return Err(Error::BadEncoding {
                    what,
                    why: "indefinite length is not DER",
                });
            }
            if count > 4 {
                return Err(Error::BadEncoding {
                    what,
                    why: "length too large",
                });
            }
            let (octets, rest) = after_len
                .split_at_checked(count)
                .ok_or(Error::Truncated { what })?;
            after_len = rest;
            let mut len = 0usize;
            for &b in octets {
                len = (len << 8) | usize::from(b);
            }
            if octets.first() == Some(&0) || len < 0x80 {
                return Err(Error::BadEncoding {
                    what,
                    why: "length not minimally encoded",
                });
            }
            len
        };
        if len > MAX_LEN {
            return Err(Error::BadEncoding {
                what,
                why: "length too large",
            });
        }
        let (value, rest) = after_len
            .split_at_checked(len)
            .ok_or(Error::Truncated { what })?;
        let header = input.len() - after_len.len();
        let raw = input.get(..header + len).ok_or(Error::Truncated { what })?;
        self.rest = rest;
        Ok(Tlv { tag, value, raw })
    }

    /// Reads an element that must carry `tag`.
    pub(crate) fn expect(&mut self, tag: u8, what: &'static str) -> Result<Tlv<'a>, Error> {
        let tlv = self.any(what)?;
        if tlv.tag != tag {
            return Err(Error::UnexpectedTag {
                what,
                expected: tag,
                found: tlv.tag,
            });
        }
        Ok(tlv)
    }

    /// Reads the element if its tag is `tag`.
    pub(crate) fn optional(
        &mut self,
        tag: u8,
        what: &'static str,
    ) -> Result<Option<Tlv<'a>>, Error> {
        if self.peek_tag() == Some(tag) {
            self.expect(tag, what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads a SEQUENCE and returns a reader over its contents.
    pub(crate) fn sequence(&mut self, what: &'static str) -> Result<Reader<'a>, Error> {
        Ok(Reader::new(self.expect(tag::SEQUENCE, what)?.value))
    }

    /// Reads an INTEGER and returns its minimal two's-complement contents.
    pub(crate) fn integer(&mut self, what: &'static str) -> Result<&'a [u8], Error> {
        integer_contents(self.expect(tag::INTEGER, what)?.value, what)
    }

    /// Reads a small non-negative INTEGER or ENUMERATED value.
    pub(crate) fn small_uint(&mut self, tag: u8, what: &'static str) -> Result<u8, Error> {
        let v = integer_contents(self.expect(tag, what)?.value, what)?;
        match v {
            [b] if *b < 0x80 => Ok(*b),
            [0, b] => Ok(*b),
            _ => Err(Error::BadEncoding {
                what,
                why: "value out of range",
            }),
        }
    }

    /// Reads an OBJECT IDENTIFIER and returns its contents.
    pub(crate) fn oid(&mut self, what: &'static str) -> Result<&'a [u8], Error> {
        let v = self.expect(tag::OID, what)?.value;
        if v.is_empty() || v.last().is_some_and(|b| b & 0x80 != 0) {
            return Err(Error::BadEncoding {
                what,
                why: "malformed object identifier",
            });
        }
        Ok(v)
    }

    /// Reads an OCTET STRING.
    pub(crate) fn octet_string(&mut self, what: &'static str) -> Result<&'a [u8], Error> {
        Ok(self.expect(tag::OCTET_STRING, what)?.value)
    }

    /// Reads a BIT STRING with no unused bits and returns the bits.
    pub(crate) fn bit_string(&mut self, what: &'static str) -> Result<&'a [u8], Error> {
        match self.expect(tag::BIT_STRING, what)?.value.split_first() {
            Some((0, bits)) => Ok(bits),
            Some(_) => Err(Error::BadEncoding {
                what,
                why: "BIT STRING with unused bits",
            }),
            None => Err(Error::BadEncoding {
                what,
                why: "empty BIT STRING",
            }),
        }
    }
}

/// Checks INTEGER contents for DER minimality.
pub(crate) fn integer_contents<'a>(v: &'a [u8], what: &'static str) -> Result<&'a [u8], Error> {
    match v {
        [] => Err(Error::BadEncoding {
            what,
            why: "empty INTEGER",
        }),
        [0, next, ..] if next & 0x80 == 0 => Err(Error::BadEncoding {
            what,
            why: "INTEGER not minimally encoded",
        }),
        [0xff, next, ..] if next & 0x80 != 0 => Err(Error::BadEncoding {
            what,
            why: "INTEGER not minimally encoded",
        }),
        _ => Ok(v),
    }
}

/// Renders OBJECT IDENTIFIER contents in dotted form; malformed contents render as hex.
pub fn oid_to_string(contents: &[u8]) -> String {
    let mut out = String::new();
    let mut acc: u128 = 0;
    let mut first = true;
    for &b in contents {
        if acc > (u128::MAX >> 7) {
            return hex(contents);
        }
        acc = (acc << 7) | u128::from(b & 0x7f);
        if b & 0x80 == 0 {
            if first {
                let (a, rest) = match acc {
                    0..=39 => (0, acc),
                    40..=79 => (1, acc - 40),
                    _ => (2, acc - 80),
                };
                out.push_str(&format!("{a}.{rest}"));
                first = false;
            } else {
                out.push_str(&format!(".{acc}"));
            }
            acc = 0;
        }
    }
    if first || contents.last().is_some_and(|b| b & 0x80 != 0) {
        return hex(contents);
    }
    out
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
