//! Single-key linear-search lookups over a file's contents: `lsearch` (caseless literal keys) and
//! `iplsearch` (IP address and CIDR keys), as Exim's `lookups/lsearch.c` reads them.
//!
//! A line whose first character is `#` is a comment; one that starts with white space continues
//! the previous line's data, so it has no key. A key is either a quoted string (backslash escapes
//! as in Exim strings) or runs up to the first colon or white space. IPv6 keys in `iplsearch`
//! files must therefore be quoted.

use std::borrow::Cow;

use crate::ip::{self, Net};

/// The keys of a file, in order.
fn keys(content: &[u8]) -> impl Iterator<Item = Cow<'_, [u8]>> {
    content.split(|&b| b == b'\n').filter_map(|raw| {
        let line = raw.split(|&b| b == 0).next().unwrap_or(&[]);
        match line.first() {
            None | Some(b'#') => None,
            Some(&b) if ip::is_c_space(b) => None,
            Some(b'"') => Some(Cow::Owned(dequote(line.get(1..).unwrap_or(&[])))),
            Some(_) => {
                let end = line
                    .iter()
                    .position(|&b| b == b':' || ip::is_c_space(b))
                    .unwrap_or(line.len());
                Some(Cow::Borrowed(line.get(..end).unwrap_or(&[])))
            }
        }
    })
}

/// The body of a quoted key, up to the closing quote, with escapes interpreted.
fn dequote(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = body.get(i) {
        if c == b'"' {
            break;
        }
        if c == b'\\' {
            let (value, used) = interpret_escape(body.get(i + 1..).unwrap_or(&[]));
            out.push(value);
            i += 1 + used;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `string_interpret_escape`: the byte a backslash sequence stands for, and how many bytes after
/// the backslash it used.
fn interpret_escape(after: &[u8]) -> (u8, usize) {
    let Some(&c) = after.first() else {
        return (b'\\', 0);
    };
    let is_octal = |b: u8| (b'0'..=b'7').contains(&b);
    if is_octal(c) {
        let mut value = u32::from(c - b'0');
        let mut used = 1;
        while used < 3 {
            match after.get(used) {
                Some(&d) if is_octal(d) => {
                    value = value * 8 + u32::from(d - b'0');
                    used += 1;
                }
                _ => break,
            }
        }
        return (u8::try_from(value & 0xff).unwrap_or(0), used);
    }
    let simple = match c {
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(0x0b),
        _ => None,
    };
    if let Some(v) = simple {
        return (v, 1);
    }
    if c == b'x' {
        let hex = |b: u8| char::from(b).to_digit(16);
        let mut value = 0u32;
        let mut used = 1;
        while used < 3 {
            match after.get(used).and_then(|&d| hex(d)) {
                Some(h) => {
                    value = value * 16 + h;
                    used += 1;
                }
                None => break,
            }
        }
        return (u8::try_from(value).unwrap_or(0), used);
    }
    (c, 1)
}

/// `lsearch`: is there a line whose key equals `key`, ignoring ASCII case?
pub(crate) fn lsearch_find(content: &[u8], key: &[u8]) -> bool {
    keys(content).any(|k| k.eq_ignore_ascii_case(key))
}

/// `iplsearch`: is `key` (an IP address, or `*`) inside a line's address or network? An invalid
/// key is a defer, as in Exim.
pub(crate) fn iplsearch_find(content: &[u8], key: &str) -> Result<bool, String> {
    let star = key == "*";
    let subject = if star {
        None
    } else {
        ip::parse_ip_item(key, false).map(|i| ip::canonical(i.addr))
    };
    if !star && subject.is_none() {
        return Err(format!(
            "\"{key}\" is not a valid iplsearch key (an IP address, with optional CIDR mask, is wanted): \
             in a host list, use net-iplsearch as the search type"
        ));
    }
    Ok(keys(content).any(|k| {
        if k.as_ref() == b"*" {
            return star;
        }
        let (Some(subject), Ok(text)) = (subject, std::str::from_utf8(&k)) else {
            return false;
        };
        ip::parse_ip_item(text, true)
            .is_some_and(|item| Net::new(item.addr, item.mask).contains(subject))
    }))
}
