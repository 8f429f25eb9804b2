//! The HTTP driver: one OCSP request, one answer, bounded in time and size.
//!
//! hyper 1's HTTP/1.1 client connection over a tokio `TcpStream`, one connection per request
//! (`Connection: close`). RFC 5019: GET `{url}/{url-escaped base64 request}` when that encoding is
//! at most 255 bytes, otherwise POST with `Content-Type: application/ocsp-request`. Plain `http`
//! only, as RFC 5019 §5 specifies; an `http_proxy` is given as an option (the caller reads the
//! environment) and then receives the absolute URL.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::Error;
use crate::codec::{base64_encode, url_escape_base64};

/// RFC 5019 §5: GET when the encoded request is at most this long.
pub const GET_LIMIT: usize = 255;

/// HTTP settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Connecting (to the responder or proxy) may take this long (default 10 s).
    pub connect_timeout: Duration,
    /// The whole exchange, connect included, may take this long (default 30 s).
    pub total_timeout: Duration,
    /// The largest response body accepted, in bytes (default 64 KiB).
    pub max_body: usize,
    /// An HTTP proxy URL (`http://host:port`), as in the `http_proxy` environment variable.
    pub proxy: Option<String>,
    /// Hosts reached directly despite `proxy`, as in `no_proxy`: an entry matches the host
    /// itself and its subdomains (a leading dot is ignored); `*` matches every host.
    pub no_proxy: Vec<String>,
    /// Always POST, even for short requests.
    pub force_post: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_body: 64 * 1024,
            proxy: None,
            no_proxy: Vec::new(),
            force_post: false,
        }
    }
}

/// A parsed `http://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HttpUrl {
    /// Host name or address (IPv6 without brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `host[:port]` as written, for the Host header and absolute URLs.
    pub(crate) authority: String,
    /// Path and query, starting with `/`.
    pub(crate) path: String,
}

impl HttpUrl {
    pub(crate) fn parse(url: &str) -> Result<HttpUrl, Error> {
        let bad = |why: &str| Error::BadUrl(format!("{url:?}: {why}"));
        let rest = match url.get(..7) {
            Some(s) if s.eq_ignore_ascii_case("http://") => url.get(7..).unwrap_or_default(),
            _ => {
                return Err(bad("only http:// URLs are used for OCSP (RFC 5019 §5)"));
            }
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                rest.get(i..).unwrap_or_default(),
            ),
            None => (rest, "/"),
        };
        let path = path.split('#').next().unwrap_or_default();
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("missing host, or user information in the URL"));
        }
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad("spaces or control characters in the path"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unterminated IPv6 address"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad("junk after IPv6 address"))?,
                ),
            };
            (h, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port {
            None => 80,
            Some(p) => p.parse::<u16>().map_err(|_| bad("bad port"))?,
        };
        if host.is_empty() || host.bytes().any(|b| b <= b' ' || b == b'/' || b == 0x7f) {
            return Err(bad("bad host"));
        }
        Ok(HttpUrl {
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            path,
        })
    }

    /// The request target for a GET of `escaped` (already URL-escaped base64).
    fn get_path(&self, escaped: &str) -> String {
        if self.path.ends_with('/') {
            format!("{}{escaped}", self.path)
        } else {
            format!("{}/{escaped}", self.path)
        }
    }
}

/// Sends the DER `request` to the responder at `url` and returns the response body, which the
/// caller still has to verify.
pub async fn exchange(url: &str, request: &[u8], opts: &HttpOptions) -> Result<Vec<u8>, Error> {
    let target = HttpUrl::parse(url)?;
    let proxy = match opts.proxy.as_deref() {
        Some(p) if !bypasses_proxy(&target.host, &opts.no_proxy) => Some(HttpUrl::parse(p)?),
        _ => None,
    };
    match tokio::time::timeout(
        opts.total_timeout,
        exchange_inner(&target, proxy.as_ref(), request, opts),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout("total")),
    }
}

/// Whether `host` matches a `no_proxy` entry.
fn bypasses_proxy(host: &str, no_proxy: &[String]) -> bool {
    no_proxy.iter().any(|entry| {
        let entry = entry.trim().trim_start_matches('.');
        if entry == "*" {
            return true;
        }
        !entry.is_empty()
            && (host.eq_ignore_ascii_case(entry)
                || host.len() > entry.len()
                    && host
                        .get(host.len() - entry.len()..)
                        .is_some_and(|s| s.eq_ignore_ascii_case(entry))
                    && host.as_bytes().get(host.len() - entry.len() - 1) == Some(&b'.'))
    })
}

async fn exchange_inner(
    target: &HttpUrl,
    proxy: Option<&HttpUrl>,
    request: &[u8],
    opts: &HttpOptions,
) -> Result<Vec<u8>, Error> {
    let via = proxy.unwrap_or(target);
    let stream = match tokio::time::timeout(
        opts.connect_timeout,
        TcpStream::connect((via.host.as_str(), via.port)),
    )
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(Error::Connect(format!("{}: {e}", via.authority))),
        Err(_) => return Err(Error::Timeout("connect")),
    };
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Error::Http(e.to_string()))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });

    let escaped = url_escape_base64(&base64_encode(request));
    let get = !opts.force_post && escaped.len() <= GET_LIMIT;
    let path = if get {
        target.get_path(&escaped)
    } else {
        target.path.clone()
    };
    let uri = match proxy {
        Some(_) => format!("http://{}{path}", target.authority),
        None => path,
    };
    let builder = Request::builder()
        .uri(uri)
        .header(HOST, target.authority.as_str())
        .header(
            USER_AGENT,
            concat!("mailstaple/", env!("CARGO_PKG_VERSION")),
        )
        .header(CONNECTION, "close");
    let req = if get {
        builder.method(Method::GET).body(Full::new(Bytes::new()))
    } else {
        builder
            .method(Method::POST)
            .header(CONTENT_TYPE, "application/ocsp-request")
            .header(CONTENT_LENGTH, request.len())
            .body(Full::new(Bytes::copy_from_slice(request)))
    }
    .map_err(|e| Error::BadUrl(e.to_string()))?;

    let result = async {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| Error::Http(e.to_string()))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(Error::HttpStatus(status));
        }
        let ct = resp
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let essence = ct.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/ocsp-response") {
            return Err(Error::ContentType(ct));
        }
        if let Some(len) = resp.headers().get(CONTENT_LENGTH) {
            let len = std::str::from_utf8(len.as_bytes())
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok());
            if len.is_some_and(|l| l > opts.max_body as u64) {
                return Err(Error::TooLarge(opts.max_body));
            }
        }
        let body = Limited::new(resp.into_body(), opts.max_body)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    Error::TooLarge(opts.max_body)
                } else {
                    Error::Http(e.to_string())
                }
            })?;
        Ok(body.to_bytes().to_vec())
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matching() {
        let np = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(bypasses_proxy("ocsp.example.test", &np(&["example.test"])));
        assert!(bypasses_proxy("ocsp.example.test", &np(&[".example.test"])));
        assert!(bypasses_proxy(
            "127.0.0.1",
            &np(&["localhost", "127.0.0.1"])
        ));
        assert!(bypasses_proxy("anything", &np(&["*"])));
        assert!(!bypasses_proxy("badexample.test", &np(&["example.test"])));
        assert!(!bypasses_proxy("ocsp.example.test", &np(&[""])));
    }

    #[test]
    fn urls() {
        let u = HttpUrl::parse("http://ocsp.example.test").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("ocsp.example.test", 80, "/")
        );
        let u = HttpUrl::parse("HTTP://127.0.0.1:8888/ocsp?x=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8888, "/ocsp?x=1")
        );
        assert_eq!(u.authority, "127.0.0.1:8888");
        let u = HttpUrl::parse("http://[::1]:81/a/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 81));
        assert_eq!(u.get_path("QQ%3D"), "/a/QQ%3D");
        let u = HttpUrl::parse("http://h/a").unwrap();
        assert_eq!(u.get_path("QQ%3D"), "/a/QQ%3D");
        for bad in [
            "https://h/",
            "ftp://h",
            "http://",
            "http://u@h/",
            "http://h:99999/",
            "http://h/a b",
            "http://[::1/",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
