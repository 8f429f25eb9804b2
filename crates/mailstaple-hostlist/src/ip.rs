//! IP address items and subjects: Exim's `string_is_ip_address` and `host_is_in_net`.
//!
//! An item is an IP address item when it parses the way Exim 4.96+ parses it: an optional
//! `/mask` (the text after the first `/`, read like C `strtol`: optional leading white space,
//! optional sign, decimal digits, nothing after them, not negative; an empty mask means 0), or an
//! optional `%scope` on IPv6 (never both); the address part then goes to `inet_pton`, IPv6 when
//! it contains a colon. Mask lengths are not range-checked: anything at or above the family
//! size compares every bit, as `host_is_in_net` does.
//!
//! Subjects of the form `::ffff:a.b.c.d` are compared as IPv4 (the pattern side is never
//! converted, so an IPv4-mapped *pattern* matches nothing, as in Exim).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A compiled address or network item: the network address with the host bits cleared, and the
/// prefix length clamped to the family size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Net {
    /// IPv4 network.
    V4 {
        /// Network address, host bits cleared.
        addr: u32,
        /// Prefix length, at most 32.
        len: u8,
    },
    /// IPv6 network.
    V6 {
        /// Network address, host bits cleared.
        addr: u128,
        /// Prefix length, at most 128.
        len: u8,
    },
}

impl Net {
    /// Whether `subject` (already converted with [`canonical`]) is inside this network.
    pub(crate) fn contains(&self, subject: IpAddr) -> bool {
        match (*self, subject) {
            (Net::V4 { addr, len }, IpAddr::V4(s)) => u32::from(s) & mask32(len) == addr,
            (Net::V6 { addr, len }, IpAddr::V6(s)) => u128::from(s) & mask128(len) == addr,
            _ => false,
        }
    }

    /// Builds a network from an address and an optional mask length (`None` compares all bits).
    pub(crate) fn new(addr: IpAddr, mask: Option<u64>) -> Net {
        match addr {
            IpAddr::V4(a) => {
                let len = clamp_len(mask, 32);
                Net::V4 {
                    addr: u32::from(a) & mask32(len),
                    len,
                }
            }
            IpAddr::V6(a) => {
                let len = clamp_len(mask, 128);
                Net::V6 {
                    addr: u128::from(a) & mask128(len),
                    len,
                }
            }
        }
    }
}

fn clamp_len(mask: Option<u64>, bits: u8) -> u8 {
    match mask {
        Some(m) if m < u64::from(bits) => u8::try_from(m).unwrap_or(bits),
        _ => bits,
    }
}

/// The IPv4 netmask with `len` leading one bits (`len` ≤ 32).
pub(crate) fn mask32(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

/// The IPv6 netmask with `len` leading one bits (`len` ≤ 128).
pub(crate) fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

/// Converts an IPv4-mapped IPv6 subject (`::ffff:a.b.c.d`) to IPv4, as `host_is_in_net` does with
/// the address it is checking.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        IpAddr::V4(_) => ip,
    }
}

/// `host_is_in_net(host, net, 0)`: exact comparison where `host` is converted from IPv4-mapped
/// form and `net` is not. Exim uses it with the *resolved* address as `host` and the subject as
/// `net` when matching a host name item.
pub(crate) fn host_equals_net(host: IpAddr, net: IpAddr) -> bool {
    canonical(host) == net
}

/// An item that is an IP address, with its optional mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpItem {
    pub(crate) addr: IpAddr,
    /// `None` without a `/`; otherwise the mask value (saturated).
    pub(crate) mask: Option<u64>,
}

/// Port of `string_is_ip_address(item, &maskoffset)` plus the mask value `host_is_in_net` reads.
/// `allow_mask` false is the `maskptr == NULL` form (any `/` makes it not an address).
pub(crate) fn parse_ip_item(item: &str, allow_mask: bool) -> Option<IpItem> {
    let bytes = item.as_bytes();
    let slash = bytes.iter().position(|&b| b == b'/');
    let percent = bytes.iter().position(|&b| b == b'%');
    let mut end = bytes.len();
    let mut mask = None;
    if let Some(pos) = slash {
        if !allow_mask {
            return None;
        }
        mask = Some(parse_mask(item.get(pos + 1..)?)?);
        end = pos;
    }
    if let Some(pos) = percent {
        if slash.is_some() {
            return None;
        }
        let scope = bytes.get(pos + 1..)?;
        if !scope
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b.is_ascii_punctuation())
        {
            return None;
        }
        end = pos;
    }
    if end > 255 {
        return None;
    }
    let addr_text = item.get(..end)?;
    let addr = if addr_text.contains(':') {
        IpAddr::V6(addr_text.parse::<Ipv6Addr>().ok()?)
    } else {
        if percent.is_some() {
            return None;
        }
        IpAddr::V4(addr_text.parse::<Ipv4Addr>().ok()?)
    };
    Some(IpItem { addr, mask })
}

/// The mask text after `/`, read like `strtol(text, &rest, 10)` with `*rest == 0 && value >= 0`
/// required. Returns the value saturated to `u64`.
fn parse_mask(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while bytes.get(i).is_some_and(|&b| is_c_space(b)) {
        i += 1;
    }
    let mut negative = false;
    if let Some(&sign) = bytes.get(i)
        && (sign == b'+' || sign == b'-')
    {
        negative = sign == b'-';
        i += 1;
    }
    let digits_start = i;
    let mut value: u64 = 0;
    while let Some(&d) = bytes.get(i) {
        if !d.is_ascii_digit() {
            break;
        }
        value = value.saturating_mul(10).saturating_add(u64::from(d - b'0'));
        i += 1;
    }
    if i == digits_start {
        // No digits: strtol leaves `rest` at the start of the text, so only an empty text is
        // accepted (as mask 0).
        return if bytes.is_empty() { Some(0) } else { None };
    }
    if i != bytes.len() || (negative && value != 0) {
        return None;
    }
    Some(value)
}

/// C `isspace` in the C locale.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Exim's `host_nmtoa` after `host_mask`: the text key of a (masked) address used by `net-`
/// lookups. IPv4 is dotted quad; IPv6 is eight zero-padded lower-case hex groups separated by
/// `sep`; `/N` is appended when a mask length was given.
pub(crate) fn net_key(ip: IpAddr, mask: Option<u64>, sep: char) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(48);
    match ip {
        IpAddr::V4(v4) => {
            let len = clamp_len(mask, 32);
            let masked = Ipv4Addr::from(u32::from(v4) & mask32(len));
            let _ = write!(out, "{masked}");
        }
        IpAddr::V6(v6) => {
            let len = clamp_len(mask, 128);
            let masked = Ipv6Addr::from(u128::from(v6) & mask128(len));
            for (i, seg) in masked.segments().iter().enumerate() {
                if i > 0 {
                    out.push(sep);
                }
                let _ = write!(out, "{seg:04x}");
            }
        }
    }
    if let Some(m) = mask {
        let _ = write!(out, "/{m}");
    }
    out
}
