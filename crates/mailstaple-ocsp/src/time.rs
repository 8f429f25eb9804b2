//! ASN.1 times (GeneralizedTime and UTCTime) as seconds since the Unix epoch.
//!
//! Decision on fractional seconds: RFC 5280 §4.1.2.5.2 (which RFC 6960 follows) forbids them in
//! GeneralizedTime, yet real responders have sent `YYYYMMDDHHMMSS.fZ`, and OpenSSL accepts it.
//! We accept a fraction of one to nine digits and truncate it to the whole second. Truncation is
//! the safe direction for `nextUpdate` (a proof expires at most one second early) and harmless for
//! `thisUpdate` and `producedAt` (at most one second earlier, far inside the clock skew).
//! Everything else that is not strict DER is refused: a missing `Z`, a time zone offset, missing
//! seconds, a trailing-zero or empty fraction, and impossible dates (a leap second included).

use std::fmt;

use crate::Error;

/// A point in time, in whole seconds since 1970-01-01T00:00:00Z (negative before).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(i64);

impl Time {
    /// A time from seconds since the Unix epoch.
    pub const fn from_unix(secs: i64) -> Self {
        Time(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// A time from UTC calendar fields; `None` for an impossible date or time.
    pub fn from_civil(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> Option<Time> {
        if !(0..=9999).contains(&year) {
            return None;
        }
        let text = format!("{month:02}{day:02}{hour:02}{minute:02}{second:02}");
        if text.len() != 10 {
            return None;
        }
        civil(year, text.as_bytes(), "time").ok()
    }

    /// Parses GeneralizedTime contents (`YYYYMMDDHHMMSS[.f]Z`).
    pub(crate) fn parse_generalized(v: &[u8], what: &'static str) -> Result<Time, Error> {
        let bad = |why| Error::InvalidTime { what, why };
        let (main, zone) = v.split_at_checked(14).ok_or(bad("too short"))?;
        let zone = match zone {
            [b'Z'] => &[][..],
            [b'.', frac @ .., b'Z'] => frac,
            _ => return Err(bad("must be YYYYMMDDHHMMSS[.fraction]Z")),
        };
        if !zone.is_empty() {
            if zone.len() > 9 || !zone.iter().all(u8::is_ascii_digit) {
                return Err(bad("malformed fraction of a second"));
            }
            if zone.last() == Some(&b'0') {
                return Err(bad("fraction of a second with a trailing zero"));
            }
        } else if v.get(14) == Some(&b'.') {
            return Err(bad("empty fraction of a second"));
        }
        let year = digits(main, 0, 4).ok_or(bad("not digits"))?;
        civil(year, main.get(4..).ok_or(bad("too short"))?, what)
    }

    /// Parses UTCTime contents (`YYMMDDHHMMSSZ`, years 1950-2049 as RFC 5280 says).
    pub(crate) fn parse_utc(v: &[u8], what: &'static str) -> Result<Time, Error> {
        let bad = |why| Error::InvalidTime { what, why };
        let (main, zone) = v.split_at_checked(12).ok_or(bad("too short"))?;
        if zone != b"Z" {
            return Err(bad("must be YYMMDDHHMMSSZ"));
        }
        let yy = digits(main, 0, 2).ok_or(bad("not digits"))?;
        let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
        civil(year, main.get(2..).ok_or(bad("too short"))?, what)
    }

    /// Splits into (year, month, day, hour, minute, second) in UTC.
    pub fn to_civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let small = |v: i64| u32::try_from(v).unwrap_or(0);
        (
            year,
            small(month),
            small(day),
            small(secs / 3600),
            small(secs / 60 % 60),
            small(secs % 60),
        )
    }
}

impl fmt::Display for Time {
    /// RFC 3339 UTC with whole seconds: `YYYY-MM-DDTHH:MM:SSZ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.to_civil();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

fn digits(v: &[u8], at: usize, n: usize) -> Option<i64> {
    let slice = v.get(at..at + n)?;
    slice.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

/// `rest` is `MMDDHHMMSS`.
fn civil(year: i64, rest: &[u8], what: &'static str) -> Result<Time, Error> {
    let bad = |why| Error::InvalidTime { what, why };
    let field = |at| digits(rest, at, 2).ok_or(bad("not digits"));
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) {
        return Err(bad("month out of range"));
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=month_days).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return Err(bad("date or time out of range"));
    }
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(Time(days * 86_400 + hour * 3600 + minute * 60 + second))
}
