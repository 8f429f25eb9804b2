//! The OpenSSL `ca` database, `index.txt`: one certificate per line, six tab-separated fields.
//!
//! ```text
//! status  expiry          revocation                  serial  filename  subject
//! V       270601000000Z                               1001    unknown   /CN=mail.example.test
//! R       270601000000Z   260520000000Z,keyCompromise 1002    unknown   /CN=other.example.test
//! E       250101000000Z                               0FFE    unknown   /CN=old.example.test
//! ```
//!
//! - status: `V` valid, `R` revoked, `E` expired (written by `openssl ca -updatedb`);
//! - expiry: UTCTime `YYMMDDHHMMSSZ` (or GeneralizedTime `YYYYMMDDHHMMSSZ` after 2049);
//! - revocation: empty unless `R`; then `TIME` or `TIME,reason`, where reason is one of OpenSSL's
//!   names (compared case-insensitively as OpenSSL does): `unspecified`, `keyCompromise`,
//!   `CACompromise`, `affiliationChanged`, `superseded`, `cessationOfOperation`,
//!   `certificateHold`, `removeFromCRL`, and the three forms with an argument,
//!   `holdInstruction,OID` (reason certificateHold), `keyTime,TIME` (keyCompromise) and
//!   `CAkeyTime,TIME` (cACompromise). The argument is checked, then not used: the responder does
//!   not write the hold-instruction or invalidity-date extensions;
//! - serial: hexadecimal, as OpenSSL writes it;
//! - filename (`unknown`) and subject: not used.
//!
//! Parsing is strict, like OpenSSL's `TXT_DB`: a line with another number of fields, an unknown
//! status or reason, a bad time or serial, or a serial listed twice is an error naming the line,
//! so a mangled file is refused as a whole rather than half-read. Blank lines are skipped and a
//! trailing carriage return is removed.

use std::collections::HashMap;

use mailstaple_ocsp::{CrlReason, Time};

use crate::Error;

/// What the database says about one serial number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryStatus {
    /// `V`: issued and not revoked.
    Valid,
    /// `R`: revoked at `time`, with a reason when the line gives one.
    Revoked {
        /// The revocation time.
        time: Time,
        /// The reason, when the line names one.
        reason: Option<CrlReason>,
    },
    /// `E`: expired and not revoked.
    Expired,
}

/// One line of `index.txt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The status field, with the revocation details.
    pub status: EntryStatus,
    /// The certificate's expiry.
    pub expires: Time,
    /// The line it came from (1-based), for messages.
    pub line: usize,
}

/// A parsed `index.txt`: serial number to entry.
#[derive(Clone, Debug, Default)]
pub struct Index {
    /// Keyed by the serial's magnitude: big-endian, no leading zero octets.
    entries: HashMap<Vec<u8>, Entry>,
}

impl Index {
    /// Parses the contents of an `index.txt`.
    pub fn parse(text: &[u8]) -> Result<Index, Error> {
        let mut entries: HashMap<Vec<u8>, Entry> = HashMap::new();
        for (n, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line = n + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let bad = |why: String| Error::Index { line, why };
            let fields: Vec<&[u8]> = raw.split(|&b| b == b'\t').collect();
            let [status, expiry, revocation, serial, _file, _subject] = fields.as_slice() else {
                return Err(bad(format!(
                    "{} tab-separated fields, expected 6",
                    fields.len()
                )));
            };
            let expires = parse_time(expiry)
                .ok_or_else(|| bad(format!("bad expiry time {}", show(expiry))))?;
            let status = match *status {
                b"V" | b"E" if !revocation.is_empty() => {
                    return Err(bad(format!(
                        "status {} with a revocation field",
                        show(status)
                    )));
                }
                b"V" => EntryStatus::Valid,
                b"E" => EntryStatus::Expired,
                b"R" => parse_revocation(revocation).map_err(bad)?,
                other => {
                    return Err(bad(format!(
                        "unknown status {}, expected V, R or E",
                        show(other)
                    )));
                }
            };
            let key = parse_serial(serial)
                .ok_or_else(|| bad(format!("bad serial number {}", show(serial))))?;
            if let Some(first) = entries.get(&key) {
                return Err(bad(format!(
                    "serial {} already listed on line {}",
                    show(serial),
                    first.line
                )));
            }
            entries.insert(
                key,
                Entry {
                    status,
                    expires,
                    line,
                },
            );
        }
        Ok(Index { entries })
    }

    /// The entry for a serial number given as INTEGER contents (as in a CertID), if listed.
    /// Negative serial numbers are never listed.
    pub fn lookup(&self, serial: &[u8]) -> Option<&Entry> {
        if serial.first().is_some_and(|b| b & 0x80 != 0) {
            return None;
        }
        let start = serial.iter().position(|&b| b != 0).unwrap_or(serial.len());
        self.entries.get(serial.get(start..).unwrap_or_default())
    }

    /// The number of certificates listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every listed serial number as DER INTEGER contents (minimal, non-negative: a leading
    /// zero octet where the top bit is set), in no particular order.
    pub fn serials(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.entries.keys().map(|magnitude| {
            let mut serial = Vec::with_capacity(magnitude.len() + 1);
            if magnitude.first().is_none_or(|b| b & 0x80 != 0) {
                serial.push(0);
            }
            serial.extend_from_slice(magnitude);
            serial
        })
    }

    /// Whether no certificate is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// At most 40 characters of a field, lossily, for messages.
fn show(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field.get(..40).unwrap_or(field));
    format!("{text:?}")
}

/// Hexadecimal to a magnitude without leading zero octets.
fn parse_serial(hex: &[u8]) -> Option<Vec<u8>> {
    if hex.is_empty() || hex.len() > 128 {
        return None;
    }
    let mut digits = Vec::with_capacity(hex.len() + 1);
    if hex.len() % 2 == 1 {
        digits.push(0);
    }
    for &c in hex {
        digits.push(char::from(c).to_digit(16)? as u8);
    }
    let bytes: Vec<u8> = digits
        .chunks(2)
        .map(|p| p.iter().fold(0u8, |acc, d| (acc << 4) | d))
        .collect();
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    Some(bytes.get(start..).unwrap_or_default().to_vec())
}

/// `YYMMDDHHMMSSZ` (years 1950 to 2049) or `YYYYMMDDHHMMSSZ`.
pub(crate) fn parse_time(s: &[u8]) -> Option<Time> {
    let (year, rest) = match s.len() {
        13 => {
            let yy = number(s.get(0..2)?)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, s.get(2..)?)
        }
        15 => (number(s.get(0..4)?)?, s.get(4..)?),
        _ => return None,
    };
    if rest.last() != Some(&b'Z') {
        return None;
    }
    let field = |at: usize| number(rest.get(at..at + 2)?).and_then(|v| u32::try_from(v).ok());
    Time::from_civil(year, field(0)?, field(2)?, field(4)?, field(6)?, field(8)?)
}

fn number(digits: &[u8]) -> Option<i64> {
    digits.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

/// The revocation field of an `R` line.
fn parse_revocation(field: &[u8]) -> Result<EntryStatus, String> {
    if field.is_empty() {
        return Err("status R without a revocation time".to_owned());
    }
    let parts: Vec<&[u8]> = field.split(|&b| b == b',').collect();
    let (time, reason, arg) = match parts.as_slice() {
        [t] => (*t, None, None),
        [t, r] => (*t, Some(*r), None),
        [t, r, a] => (*t, Some(*r), Some(*a)),
        _ => {
            return Err(format!(
                "too many commas in revocation field {}",
                show(field)
            ));
        }
    };
    let time = parse_time(time).ok_or_else(|| format!("bad revocation time {}", show(time)))?;
    let reason = match reason {
        None => None,
        Some(name) => Some(parse_reason(name, arg)?),
    };
    Ok(EntryStatus::Revoked { time, reason })
}

/// OpenSSL's reason names (`apps/ca.c`), case-insensitive, with the argument some of them take.
fn parse_reason(name: &[u8], arg: Option<&[u8]>) -> Result<CrlReason, String> {
    const PLAIN: [(&str, u8); 8] = [
        ("unspecified", 0),
        ("keyCompromise", 1),
        ("CACompromise", 2),
        ("affiliationChanged", 3),
        ("superseded", 4),
        ("cessationOfOperation", 5),
        ("certificateHold", 6),
        ("removeFromCRL", 8),
    ];
    let is = |expected: &str| name.eq_ignore_ascii_case(expected.as_bytes());
    if let Some((_, code)) = PLAIN.iter().find(|(n, _)| is(n)) {
        return match arg {
            None => Ok(CrlReason(*code)),
            Some(a) => Err(format!(
                "reason {} takes no argument, found {}",
                show(name),
                show(a)
            )),
        };
    }
    let (code, arg_ok) = if is("holdInstruction") {
        (6, arg.is_some_and(is_dotted_oid))
    } else if is("keyTime") {
        (1, arg.and_then(parse_generalized).is_some())
    } else if is("CAkeyTime") {
        (2, arg.and_then(parse_generalized).is_some())
    } else {
        return Err(format!("unknown revocation reason {}", show(name)));
    };
    if arg_ok {
        Ok(CrlReason(code))
    } else {
        Err(format!("reason {} needs a valid argument", show(name)))
    }
}

fn parse_generalized(s: &[u8]) -> Option<Time> {
    (s.len() == 15).then(|| parse_time(s)).flatten()
}

fn is_dotted_oid(s: &[u8]) -> bool {
    let arcs: Vec<&[u8]> = s.split(|&b| b == b'.').collect();
    arcs.len() >= 2
        && arcs
            .iter()
            .all(|a| !a.is_empty() && a.iter().all(u8::is_ascii_digit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(y: i64, mo: u32, d: u32) -> Time {
        Time::from_civil(y, mo, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn parses_openssl_lines() {
        let text = b"V\t270601000000Z\t\t1001\tunknown\t/O=x/CN=mail.example.test\n\
            R\t270601000000Z\t260520000000Z,keyCompromise\t1002\tunknown\t/CN=b\r\n\
            \n\
            E\t20500101000000Z\t\t0FFE\tunknown\t/CN=c\n\
            R\t270601000000Z\t260521000000Z\t0abc\tunknown\t/CN=d\n\
            R\t270601000000Z\t260522000000Z,holdInstruction,1.2.840.10040.2.2\t0ABD\tunknown\t/CN=e\n\
            R\t270601000000Z\t260523000000Z,keyTime,20260501000000Z\t00\tunknown\t/CN=f\n\
            R\t270601000000Z\t260524000000Z,cacompromise\t80\tunknown\t/CN=g\n";
        let index = Index::parse(text).unwrap();
        assert_eq!(index.len(), 7);
        let v = index.lookup(&[0x10, 0x01]).unwrap();
        assert_eq!(v.status, EntryStatus::Valid);
        assert_eq!(v.expires, t(2027, 6, 1));
        assert_eq!(
            index.lookup(&[0x10, 0x02]).unwrap().status,
            EntryStatus::Revoked {
                time: t(2026, 5, 20),
                reason: Some(CrlReason(1))
            }
        );
        let e = index.lookup(&[0x0f, 0xfe]).unwrap();
        assert_eq!(
            (e.status, e.expires, e.line),
            (EntryStatus::Expired, t(2050, 1, 1), 4)
        );
        assert_eq!(
            index.lookup(&[0x0a, 0xbc]).unwrap().status,
            EntryStatus::Revoked {
                time: t(2026, 5, 21),
                reason: None
            }
        );
        assert_eq!(
            index.lookup(&[0x0a, 0xbd]).unwrap().status,
            EntryStatus::Revoked {
                time: t(2026, 5, 22),
                reason: Some(CrlReason(6))
            }
        );
        // Serial zero, and a redundant leading zero octet in the request.
        assert!(matches!(
            index.lookup(&[0x00]).unwrap().status,
            EntryStatus::Revoked {
                reason: Some(CrlReason(1)),
                ..
            }
        ));
        assert!(index.lookup(&[0x00, 0x10, 0x01]).is_some());
        // 0x80 is positive when written 00 80 and negative when written 80.
        assert!(matches!(
            index.lookup(&[0x00, 0x80]).unwrap().status,
            EntryStatus::Revoked {
                reason: Some(CrlReason(2)),
                ..
            }
        ));
        assert!(index.lookup(&[0x80]).is_none());
        assert!(index.lookup(&[0x10, 0x03]).is_none());
        assert!(Index::parse(b"").unwrap().is_empty());
    }

    #[test]
    fn refuses_mangled_lines_naming_them() {
        let cases: [(&[u8], &str); 13] = [
            (
                b"V\t270601000000Z\t\t1001\tunknown",
                "5 tab-separated fields",
            ),
            (
                b"V 270601000000Z  1001 unknown /CN=a",
                "1 tab-separated fields",
            ),
            (
                b"X\t270601000000Z\t\t1001\tunknown\t/CN=a",
                "unknown status",
            ),
            (b"V\t2706010000Z\t\t1001\tunknown\t/CN=a", "bad expiry"),
            (b"V\t271301000000Z\t\t1001\tunknown\t/CN=a", "bad expiry"),
            (
                b"V\t270601000000Z\t260101000000Z\t1001\tunknown\t/CN=a",
                "with a revocation field",
            ),
            (
                b"R\t270601000000Z\t\t1001\tunknown\t/CN=a",
                "without a revocation time",
            ),
            (
                b"R\t270601000000Z\t260101000000Z,sleepy\t1001\tunknown\t/CN=a",
                "unknown revocation reason",
            ),
            (
                b"R\t270601000000Z\t260101000000Z,superseded,x\t1001\tunknown\t/CN=a",
                "takes no argument",
            ),
            (
                b"R\t270601000000Z\t260101000000Z,holdInstruction\t1001\tunknown\t/CN=a",
                "needs a valid argument",
            ),
            (
                b"R\t270601000000Z\t2601010000Z\t1001\tunknown\t/CN=a",
                "bad revocation time",
            ),
            (b"V\t270601000000Z\t\t10G1\tunknown\t/CN=a", "bad serial"),
            (b"V\t270601000000Z\t\t\tunknown\t/CN=a", "bad serial"),
        ];
        for (line, why) in cases {
            let text = [&b"V\t270601000000Z\t\t01\tunknown\t/CN=first\n"[..], line].concat();
            let err = Index::parse(&text).unwrap_err();
            let Error::Index { line: 2, why: msg } = &err else {
                panic!("{err:?}")
            };
            assert!(msg.contains(why), "{msg} should say {why}");
        }
        let dup = b"V\t270601000000Z\t\t1001\tunknown\t/CN=a\nR\t270601000000Z\t260101000000Z\t001001\tunknown\t/CN=b\n";
        let err = Index::parse(dup).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("already listed on line 1"),
            "{err}"
        );
    }

    #[test]
    fn never_panics_on_bytes() {
        use proptest::prelude::*;
        proptest!(|(text in proptest::collection::vec(any::<u8>(), 0..200))| {
            let _ = Index::parse(&text);
        });
        proptest!(|(fields in proptest::collection::vec("[VRE0-9A-Za-z,.Z]{0,16}", 6))| {
            let _ = Index::parse(fields.join("\t").as_bytes());
        });
    }
}
