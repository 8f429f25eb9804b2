//! Reading the files users hand us: DER or PEM, certificates and OCSP responses, and times.

use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use mailstaple_ocsp::Time;

/// Reads a file that is DER, or PEM with one of `labels` (text and other blocks before it are
/// skipped). Returns the first matching block.
pub(crate) fn read_der_or_pem(path: &Path, labels: &[&str]) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let der = mailstaple_ocsp::pem::der_or_pem(&bytes, labels)
        .with_context(|| format!("{}: no usable PEM block", path.display()))?;
    Ok(der.into_owned())
}

/// Reads every certificate of a PEM file (a chain) or the single certificate of a DER file.
pub(crate) fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !mailstaple_ocsp::pem::is_pem(&bytes) {
        return Ok(vec![bytes]);
    }
    let certs = mailstaple_ocsp::pem::all_blocks(&bytes, "CERTIFICATE")
        .with_context(|| format!("{}: no usable PEM block", path.display()))?;
    if certs.is_empty() {
        bail!("{}: no CERTIFICATE block", path.display());
    }
    Ok(certs)
}

/// Reads one certificate (the first of a PEM chain).
pub(crate) fn read_certificate(path: &Path) -> Result<Vec<u8>> {
    read_certificates(path)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("{}: no certificate", path.display()))
}

/// Parses `--at`: RFC 3339 (`2026-06-01T00:00:00Z`, offsets and fractions allowed) or seconds
/// since the epoch.
pub(crate) fn parse_time(s: &str) -> Result<Time> {
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(Time::from_unix(secs));
    }
    let bad = || anyhow!("{s:?} is neither RFC 3339 nor seconds since the epoch");
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<u32> {
        s.get(r)
            .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|d| d.parse().ok())
            .ok_or_else(bad)
    };
    if b.len() < 20
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return Err(bad());
    }
    let year = i64::from(num(0..4)?);
    let t = Time::from_civil(
        year,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    )
    .ok_or_else(bad)?;
    let mut rest = s.get(19..).ok_or_else(bad)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = frac.get(digits..).ok_or_else(bad)?;
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err(bad()),
            };
            let (h, m) = rest
                .get(1..)
                .and_then(|o| o.split_once(':'))
                .ok_or_else(bad)?;
            let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if h > 23 || m > 59 || rest.len() != 6 {
                return Err(bad());
            }
            sign * (h * 3600 + m * 60)
        }
    };
    Ok(Time::from_unix(t.unix() - offset))
}

/// Parses a maximum age (`--max-age`, `--tls-ocsp-max-age`): seconds or Exim's time syntax
/// (`7d`, `12h`), within the configuration file's bounds for `tls_ocsp_max_age`.
pub(crate) fn parse_max_age(s: &str) -> std::result::Result<u64, String> {
    let (min, max) = mailstaple_config::MAX_AGE_LIMITS;
    mailstaple_config::exim_time(s)
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            format!("{s:?}: not seconds or an Exim time such as 7d, from {min} s to {max} s")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1780272000").unwrap().unix(), 1_780_272_000);
        assert_eq!(
            parse_time("2026-06-01T00:00:00Z").unwrap().unix(),
            1_780_272_000
        );
        assert_eq!(
            parse_time("2026-06-01T02:00:00.25+02:00").unwrap().unix(),
            1_780_272_000
        );
        assert_eq!(
            parse_time("2026-05-31T23:00:00-01:00").unwrap().unix(),
            1_780_272_000
        );
        for bad in [
            "2026-06-01",
            "2026-13-01T00:00:00Z",
            "2026-06-01T00:00:00",
            "yesterday",
            "2026-06-01T00:00:00+2:00",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
