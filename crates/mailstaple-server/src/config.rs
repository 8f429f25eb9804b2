//! Exim's server TLS options, with Exim's names and meaning, and the one expansion they need.
//!
//! | option | meaning here |
//! |---|---|
//! | `tls_certificate` | list of PEM files, each the certificate then its chain |
//! | `tls_privatekey` | list of PEM key files paired by position; unset or empty: the key is in the certificate file |
//! | `tls_ocsp_file` | list of proof files paired by position; `PEM ` / `DER ` item prefixes, sticky, DER first; an empty item, or a list shorter than the certificates, means no proof for that certificate |
//! | `tls_ocsp_issuer` | *mailstaple's own*: a PEM file of CA certificates searched for a certificate's issuer when its chain file lacks it (Exim used the client-CA bundle `tls_verify_certificates` for this, its "Glitch") |
//!
//! Each value is expanded as a whole, then split with Exim's list rules
//! ([`mailstaple_hostlist::split_list`]). The only variables are `$tls_sni` and `$tls_in_sni`
//! (also written `${tls_sni}`), the server name the client sent, empty without one. Backslash
//! escapes follow Exim (`\\`, `\$`, `\n`, `\t`, octal `\0nn`, hex `\xhh`, `\N...\N` copied
//! literally). Any other `$` is a configuration error: `${if ...}`, lookups and every other
//! variable are refused rather than silently expanded to something else.
//!
//! Difference from Exim, on purpose: Exim re-expands per SNI only when `tls_certificate`
//! mentions the variable; here a mention in any option makes the configuration per-SNI.

use std::path::PathBuf;

use mailstaple_hostlist::split_list;

use crate::Error;

/// `tls_certificate`.
pub const TLS_CERTIFICATE: &str = "tls_certificate";
/// `tls_privatekey`.
pub const TLS_PRIVATEKEY: &str = "tls_privatekey";
/// `tls_ocsp_file`.
pub const TLS_OCSP_FILE: &str = "tls_ocsp_file";
/// `tls_ocsp_issuer` (mailstaple's own option, not Exim's).
pub const TLS_OCSP_ISSUER: &str = "tls_ocsp_issuer";

/// The raw option values, unexpanded, as written in a configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// `tls_certificate`.
    pub tls_certificate: Option<String>,
    /// `tls_privatekey`.
    pub tls_privatekey: Option<String>,
    /// `tls_ocsp_file`.
    pub tls_ocsp_file: Option<String>,
    /// `tls_ocsp_issuer`.
    pub tls_ocsp_issuer: Option<String>,
}

impl Options {
    /// Empty options.
    pub fn new() -> Options {
        Options::default()
    }

    /// Sets an option by its name; an unknown name or a second setting is an error.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), Error> {
        self.set_at(0, name, value)
    }

    fn set_at(&mut self, line: usize, name: &str, value: &str) -> Result<(), Error> {
        let slot = match name {
            TLS_CERTIFICATE => &mut self.tls_certificate,
            TLS_PRIVATEKEY => &mut self.tls_privatekey,
            TLS_OCSP_FILE => &mut self.tls_ocsp_file,
            TLS_OCSP_ISSUER => &mut self.tls_ocsp_issuer,
            _ => {
                return Err(Error::UnknownOption {
                    line,
                    name: name.to_owned(),
                });
            }
        };
        if slot.is_some() {
            return Err(Error::DuplicateOption {
                name: name.to_owned(),
            });
        }
        *slot = Some(value.to_owned());
        Ok(())
    }

    /// Reads Exim configuration syntax: `name = value` lines, an optional `hide` before the
    /// name, `#` comment lines, blank lines, and a trailing `\` joining the next line (whose
    /// leading white space is dropped). Quoted values are refused.
    pub fn parse(text: &str) -> Result<Options, Error> {
        let mut opts = Options::new();
        let mut pending: Option<(usize, String)> = None;
        for (n, raw) in text.lines().enumerate() {
            let line_no = n + 1;
            let line = raw.trim_end();
            let (start, mut logical) = match pending.take() {
                Some((start, acc)) => (start, acc + line.trim_start()),
                None => {
                    let t = line.trim_start();
                    if t.is_empty() || t.starts_with('#') {
                        continue;
                    }
                    (line_no, t.to_owned())
                }
            };
            if logical.ends_with('\\') {
                logical.pop();
                pending = Some((start, logical));
                continue;
            }
            opts.parse_line(start, &logical)?;
        }
        if let Some((start, logical)) = pending {
            opts.parse_line(start, &logical)?;
        }
        Ok(opts)
    }

    fn parse_line(&mut self, line: usize, text: &str) -> Result<(), Error> {
        let text = text
            .strip_prefix("hide")
            .filter(|r| r.starts_with([' ', '\t']))
            .unwrap_or(text);
        let text = text.trim_start();
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        let (name, rest) = text.split_at(end);
        if name.is_empty() {
            return Err(Error::Syntax {
                line,
                detail: "expected an option name".into(),
            });
        }
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            return Err(Error::Syntax {
                line,
                detail: format!("expected \"=\" after \"{name}\""),
            });
        };
        let value = value.trim();
        if value.starts_with('"') {
            return Err(Error::Syntax {
                line,
                detail: format!("{name}: quoted values are not supported; write the value bare"),
            });
        }
        self.set_at(line, name, value)
    }
}

/// One piece of an expandable string.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Sni,
}

/// An option value checked for expansion: literal text and `$tls_sni` references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expansion {
    option: &'static str,
    source: String,
    pieces: Vec<Piece>,
}

impl Expansion {
    /// Parses `text`, the value of `option`, refusing every variable but `$tls_sni` /
    /// `$tls_in_sni` and every expansion item.
    pub fn parse(option: &'static str, text: &str) -> Result<Expansion, Error> {
        let mut pieces = Vec::new();
        let mut text_buf = String::new();
        let mut rest = text;
        let unsupported = |detail: String| Error::UnsupportedExpansion { option, detail };
        while let Some(c) = rest.chars().next() {
            match c {
                '$' => {
                    let after = rest.get(1..).unwrap_or("");
                    let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
                        let end = name_len(braced);
                        let (name, tail) = braced.split_at(end);
                        let Some(tail) = tail.strip_prefix('}') else {
                            return Err(unsupported(if name.is_empty() {
                                format!("\"${{{}\" is not a variable", first_chars(braced))
                            } else {
                                format!("expansion item \"${{{name}\" is not supported")
                            }));
                        };
                        (name, tail)
                    } else {
                        let end = name_len(after);
                        after.split_at(end)
                    };
                    match name {
                        "" => {
                            return Err(unsupported(format!(
                                "expected a variable name after \"$\" in \"${}\"",
                                first_chars(after)
                            )));
                        }
                        "tls_sni" | "tls_in_sni" => {
                            if !text_buf.is_empty() {
                                pieces.push(Piece::Text(std::mem::take(&mut text_buf)));
                            }
                            pieces.push(Piece::Sni);
                        }
                        other => {
                            return Err(Error::UnknownVariable {
                                option,
                                name: other.to_owned(),
                            });
                        }
                    }
                    rest = tail;
                }
                '\\' => {
                    let after = rest.get(1..).unwrap_or("");
                    if let Some(lit) = after.strip_prefix('N') {
                        let (literal, tail) = match lit.find("\\N") {
                            Some(i) => (lit.get(..i).unwrap_or(""), lit.get(i + 2..).unwrap_or("")),
                            None => (lit, ""),
                        };
                        text_buf.push_str(literal);
                        rest = tail;
                    } else {
                        let (ch, used) = escape(after).ok_or_else(|| {
                            unsupported(format!(
                                "escape \"\\{}\" gives a NUL or non-ASCII byte",
                                first_chars(after)
                            ))
                        })?;
                        text_buf.push(ch);
                        rest = after.get(used..).unwrap_or("");
                    }
                }
                _ => {
                    text_buf.push(c);
                    rest = rest.get(c.len_utf8()..).unwrap_or("");
                }
            }
        }
        if !text_buf.is_empty() {
            pieces.push(Piece::Text(text_buf));
        }
        Ok(Expansion {
            option,
            source: text.to_owned(),
            pieces,
        })
    }

    /// The option name.
    pub fn option(&self) -> &'static str {
        self.option
    }

    /// The value as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the value mentions `$tls_sni` / `$tls_in_sni`.
    pub fn mentions_sni(&self) -> bool {
        self.pieces.contains(&Piece::Sni)
    }

    /// The value with the server name substituted (empty when `None`).
    pub fn expand(&self, sni: Option<&str>) -> String {
        let mut out = String::with_capacity(self.source.len());
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Sni => out.push_str(sni.unwrap_or("")),
            }
        }
        out
    }
}

fn name_len(s: &str) -> usize {
    s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len())
}

fn first_chars(s: &str) -> String {
    s.chars().take(12).collect()
}

/// Exim's `string_interpret_escape`, for the text after a backslash: the character and how many
/// bytes of `after` it used. `None` for a NUL or a byte above 0x7f (paths are kept UTF-8).
fn escape(after: &str) -> Option<(char, usize)> {
    let bytes = after.as_bytes();
    let Some(&first) = bytes.first() else {
        // A trailing backslash stands for itself.
        return Some(('\\', 0));
    };
    let (value, used) = match first {
        b'0'..=b'7' => {
            let mut v = u32::from(first - b'0');
            let mut used = 1;
            while used < 3 {
                match bytes.get(used) {
                    Some(&d @ b'0'..=b'7') => {
                        v = v * 8 + u32::from(d - b'0');
                        used += 1;
                    }
                    _ => break,
                }
            }
            (v & 0xff, used)
        }
        b'x' => {
            let mut v = 0u32;
            let mut used = 1;
            while used < 3 {
                match bytes.get(used).and_then(|d| char::from(*d).to_digit(16)) {
                    Some(d) => {
                        v = v * 16 + d;
                        used += 1;
                    }
                    None => break,
                }
            }
            if used == 1 {
                (u32::from(b'x'), 1)
            } else {
                (v, used)
            }
        }
        b'b' => (0x08, 1),
        b'f' => (0x0c, 1),
        b'n' => (u32::from(b'\n'), 1),
        b'r' => (u32::from(b'\r'), 1),
        b't' => (u32::from(b'\t'), 1),
        b'v' => (0x0b, 1),
        _ => {
            let c = after.chars().next()?;
            return Some((c, c.len_utf8()));
        }
    };
    if value == 0 || value > 0x7f {
        return None;
    }
    char::from_u32(value).map(|c| (c, used))
}

/// The format of a proof file (`tls_ocsp_file` item prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OcspFormat {
    /// A DER `OCSPResponse`, the whole file (the default, as in Exim).
    Der,
    /// A PEM `OCSP RESPONSE` block; text before it is skipped.
    Pem,
}

/// One proof file: a `tls_ocsp_file` item.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct OcspFile {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: OcspFormat,
}

/// Splits an expanded `tls_ocsp_file` into its items, in order: `None` for an empty item (no
/// proof for that certificate). A `PEM ` or `DER ` prefix (one space, case as written) sets the
/// format of that item and of the items after it; the first items are DER.
pub fn ocsp_file_list(expanded: &str) -> Vec<Option<OcspFile>> {
    let mut format = OcspFormat::Der;
    split_list(expanded)
        .into_iter()
        .map(|item| {
            let path = if let Some(p) = item.strip_prefix("PEM ") {
                format = OcspFormat::Pem;
                p
            } else if let Some(p) = item.strip_prefix("DER ") {
                format = OcspFormat::Der;
                p
            } else {
                item.as_str()
            };
            (!path.is_empty()).then(|| OcspFile {
                path: PathBuf::from(path),
                format,
            })
        })
        .collect()
}

/// The files for one certificate, after expansion and pairing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertFiles {
    /// Position in `tls_certificate` (0-based).
    pub index: usize,
    /// The certificate file: the certificate, then its chain.
    pub certificate: PathBuf,
    /// The private key file.
    pub privatekey: PathBuf,
    /// The proof file, if any.
    pub ocsp: Option<OcspFile>,
    /// `tls_ocsp_issuer`, if set.
    pub issuer_file: Option<PathBuf>,
}

/// A checked configuration: the options parsed for expansion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    certificate: Expansion,
    privatekey: Option<Expansion>,
    ocsp_file: Option<Expansion>,
    ocsp_issuer: Option<Expansion>,
}

impl Config {
    /// Checks the options. `tls_certificate` is required.
    pub fn new(opts: &Options) -> Result<Config, Error> {
        let parse =
            |name, v: &Option<String>| v.as_deref().map(|v| Expansion::parse(name, v)).transpose();
        let certificate =
            parse(TLS_CERTIFICATE, &opts.tls_certificate)?.ok_or(Error::MissingCertificate)?;
        Ok(Config {
            certificate,
            privatekey: parse(TLS_PRIVATEKEY, &opts.tls_privatekey)?,
            ocsp_file: parse(TLS_OCSP_FILE, &opts.tls_ocsp_file)?,
            ocsp_issuer: parse(TLS_OCSP_ISSUER, &opts.tls_ocsp_issuer)?,
        })
    }

    /// [`Options::parse`] then [`Config::new`].
    pub fn parse(text: &str) -> Result<Config, Error> {
        Config::new(&Options::parse(text)?)
    }

    /// Whether any option mentions `$tls_sni`, so that each server name has its own files.
    pub fn depends_on_sni(&self) -> bool {
        [
            Some(&self.certificate),
            self.privatekey.as_ref(),
            self.ocsp_file.as_ref(),
            self.ocsp_issuer.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(Expansion::mentions_sni)
    }

    /// Whether `tls_ocsp_file` is set (even to an empty list).
    pub fn has_ocsp_file(&self) -> bool {
        self.ocsp_file.is_some()
    }

    /// Expands the options for a server name (`None`: no SNI) and pairs the lists by position.
    pub fn files(&self, sni: Option<&str>) -> Result<Vec<CertFiles>, Error> {
        let certs = split_list(&self.certificate.expand(sni));
        if certs.is_empty() {
            return Err(Error::NoCertificates {
                sni: sni.map(str::to_owned),
            });
        }
        // Found by fuzzing: `tls_certificate = :a.pem` has an empty first item, which would pair
        // an empty certificate path with an empty key path.
        if let Some(position) = certs.iter().position(|c| c.trim().is_empty()) {
            return Err(Error::EmptyCertificateItem {
                position: position + 1,
            });
        }
        let keys = match &self.privatekey {
            Some(e) => {
                let expanded = e.expand(sni);
                if expanded.trim().is_empty() {
                    None
                } else {
                    Some(split_list(&expanded))
                }
            }
            None => None,
        };
        if let Some(keys) = &keys
            && keys.len() < certs.len()
        {
            return Err(Error::OutOfKeys {
                certificates: certs.len(),
                keys: keys.len(),
            });
        }
        let ocsp = self
            .ocsp_file
            .as_ref()
            .map(|e| ocsp_file_list(&e.expand(sni)))
            .unwrap_or_default();
        let issuer_file = self
            .ocsp_issuer
            .as_ref()
            .map(|e| e.expand(sni))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        Ok(certs
            .into_iter()
            .enumerate()
            .map(|(index, cert)| {
                let key = keys
                    .as_ref()
                    .and_then(|k| k.get(index))
                    .filter(|k| !k.is_empty())
                    .cloned()
                    .unwrap_or_else(|| cert.clone());
                CertFiles {
                    index,
                    certificate: PathBuf::from(cert),
                    privatekey: PathBuf::from(key),
                    ocsp: ocsp.get(index).cloned().flatten(),
                    issuer_file: issuer_file.clone(),
                }
            })
            .collect())
    }

    /// How many `tls_ocsp_file` items go unused for a server name (more items than
    /// certificates); Exim ignores them, we log it.
    pub(crate) fn extra_ocsp_items(&self, sni: Option<&str>) -> usize {
        let certs = split_list(&self.certificate.expand(sni)).len();
        let items = self
            .ocsp_file
            .as_ref()
            .map(|e| ocsp_file_list(&e.expand(sni)).len())
            .unwrap_or(0);
        items.saturating_sub(certs)
    }
}
