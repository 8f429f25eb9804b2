//! The HTTP face of the responder, without I/O: RFC 6960 Appendix A and RFC 5019 §5-6.
//!
//! - `POST` with the DER request as the body (any `Content-Type`; OpenSSL's client sends
//!   `application/ocsp-request`).
//! - `GET /{url-encoded base64 of the DER request}`, also under a path prefix
//!   (`GET /ocsp/MEow...`): the longest path suffix that decodes to an `OCSPRequest` is used. `%2B`,
//!   `%2F` and `%3D` are decoded, raw `+` and `/` accepted, padding optional.
//! - Every OCSP answer (including `malformedRequest` and `unauthorized`) is `200 OK` with
//!   `Content-Type: application/ocsp-response`, as RFC 6960 and OpenSSL do. Nonce-less successful
//!   answers carry the RFC 5019 §6.2 headers: `Last-Modified` (thisUpdate), `Expires`
//!   (nextUpdate), `ETag`, and `Cache-Control: max-age=N, public, no-transform, must-revalidate`
//!   with N the seconds left until nextUpdate; a GET whose `If-None-Match` names the current
//!   ETag gets `304 Not Modified`. Other answers say `Cache-Control: no-store`.
//! - Other methods get `405` with `Allow: GET, POST`.

use bytes::Bytes;
use mailstaple_ocsp::{OcspRequest, Time};

use crate::responder::{Answer, Respond};

/// The most path suffixes a GET path is tried at (see the module documentation).
const MAX_GET_CANDIDATES: usize = 16;

/// An HTTP response, ready to be written.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Bytes,
    /// The OCSP answer behind it, when there is one.
    pub answer: Option<Answer>,
}

impl HttpAnswer {
    /// A plain-text error that also closes the connection (`Connection: close`).
    pub fn error(status: u16, message: &str) -> HttpAnswer {
        HttpAnswer {
            status,
            headers: vec![
                ("content-type", "text/plain; charset=utf-8".to_owned()),
                ("cache-control", "no-store".to_owned()),
                ("connection", "close".to_owned()),
            ],
            body: Bytes::from(format!("{message}\n")),
            answer: None,
        }
    }

    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The answer to a `POST` whose body is `body`.
pub fn post(responder: &(impl Respond + ?Sized), body: &[u8], now: Time) -> HttpAnswer {
    ocsp(responder.respond(body, now), now, None)
}

/// The answer to a `GET` of `path` (the request target's path, without a query string).
pub fn get(
    responder: &(impl Respond + ?Sized),
    path: &str,
    if_none_match: Option<&[u8]>,
    now: Time,
) -> HttpAnswer {
    let request = decode_get_path(path).unwrap_or_default();
    ocsp(responder.respond(&request, now), now, if_none_match)
}

/// The answer to any other method.
pub fn method_not_allowed() -> HttpAnswer {
    let mut answer = HttpAnswer::error(405, "only GET and POST are served");
    answer.headers.push(("allow", "GET, POST".to_owned()));
    answer
}

fn ocsp(answer: Answer, now: Time, if_none_match: Option<&[u8]>) -> HttpAnswer {
    let mut headers = vec![("content-type", "application/ocsp-response".to_owned())];
    let mut status = 200;
    let mut body = answer.der.clone();
    match &answer.cacheable {
        Some(c) => {
            let max_age = c.next_update.unix().saturating_sub(now.unix()).max(0);
            headers.push(("last-modified", http_date(c.this_update)));
            headers.push(("expires", http_date(c.next_update)));
            headers.push(("etag", c.etag.to_string()));
            headers.push((
                "cache-control",
                format!("max-age={max_age}, public, no-transform, must-revalidate"),
            ));
            if if_none_match.is_some_and(|tags| etag_listed(tags, &c.etag)) {
                status = 304;
                body = Bytes::new();
            }
        }
        None => headers.push(("cache-control", "no-store".to_owned())),
    }
    HttpAnswer {
        status,
        headers,
        body,
        answer: Some(answer),
    }
}

/// Whether an `If-None-Match` value lists `etag` (or is `*`).
fn etag_listed(value: &[u8], etag: &str) -> bool {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .any(|t| {
            let t = t.strip_prefix(b"W/").unwrap_or(t);
            t == b"*" || t == etag.as_bytes()
        })
}

/// Decodes an RFC 6960 GET path into request bytes: the whole path after the leading `/`, or
/// failing that each suffix after a further `/` that starts like base64 DER (`M`), at most
/// 16 tries; the first that decodes to an `OCSPRequest` wins.
pub fn decode_get_path(path: &str) -> Option<Vec<u8>> {
    let path = path.strip_prefix('/').unwrap_or(path).as_bytes();
    let starts = std::iter::once(0).chain(
        path.iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'/' && path.get(i + 1) == Some(&b'M'))
            .map(|(i, _)| i + 1),
    );
    for start in starts.take(MAX_GET_CANDIDATES) {
        let Some(decoded) = path.get(start..).and_then(percent_decode) else {
            continue;
        };
        let Some(der) = mailstaple_ocsp::base64::decode(&decoded, false) else {
            continue;
        };
        if OcspRequest::parse(&der).is_ok() {
            return Some(der);
        }
    }
    None
}

/// `%XX` escapes decoded; any other byte kept.
fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.iter();
    while let Some(&b) = bytes.next() {
        if b == b'%' {
            let hi = char::from(*bytes.next()?).to_digit(16)?;
            let lo = char::from(*bytes.next()?).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// RFC 9110 IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(t: Time) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, s) = t.to_civil();
    let weekday = usize::try_from(t.unix().div_euclid(86_400).rem_euclid(7)).unwrap_or(0);
    let day_name = DAYS.get(weekday).copied().unwrap_or("Thu");
    let month = MONTHS
        .get((mo as usize).wrapping_sub(1))
        .copied()
        .unwrap_or("Jan");
    format!("{day_name}, {d:02} {month} {y:04} {h:02}:{mi:02}:{s:02} GMT")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            http_date(Time::from_unix(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            http_date(Time::from_unix(1_780_272_000)),
            "Mon, 01 Jun 2026 00:00:00 GMT"
        );
        assert_eq!(
            http_date(Time::from_unix(0)),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn etags() {
        assert!(etag_listed(b"\"ab\"", "\"ab\""));
        assert!(etag_listed(b"\"x\", W/\"ab\"", "\"ab\""));
        assert!(etag_listed(b"*", "\"ab\""));
        assert!(!etag_listed(b"\"abc\"", "\"ab\""));
        assert!(!etag_listed(b"", "\"ab\""));
    }

    #[test]
    fn percent() {
        assert_eq!(percent_decode(b"a%2Bb%2fc%3D").unwrap(), b"a+b/c=");
        assert!(percent_decode(b"a%2").is_none());
        assert!(percent_decode(b"a%zz").is_none());
    }
}
