//! `[respond]` and its `[[respond.ca]]` entries: `mailstaple respond` for one or several CAs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use crate::parse::{Findings, Value, positive, read_table, string, table_entries, time_within};

/// Options of `[respond]`.
pub(crate) const RESPOND_OPTIONS: &[&str] = &[
    "listen",
    "validity",
    "timeout",
    "max_connections",
    "max_request_size",
    "presign",
    "responder_id_by_name",
    "metrics_listen",
    "ca",
];
/// Keys of a `[[respond.ca]]` entry.
pub(crate) const RESPOND_CA_KEYS: &[&str] = &[
    "name",
    "index",
    "ca",
    "signer_cert",
    "signer_key",
    "signer_key_passphrase_file",
    "pkcs11_module",
    "pkcs11_pin_file",
];

/// Smallest and largest `validity`, in seconds (as the responder accepts: 2 s to 10 years).
const VALIDITY: (u64, u64) = (2, 10 * 366 * 86_400);
/// Largest `timeout`, in seconds.
const MAX_TIMEOUT: u64 = 3_600;
/// Largest `max_connections`.
const MAX_CONNECTIONS: u64 = 1_000_000;
/// Largest `max_request_size`, in bytes.
const MAX_REQUEST: u64 = 1 << 20;

/// `[respond]`: `mailstaple respond`, for the CAs of its `[[respond.ca]]` entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Respond {
    /// Address and port to listen on.
    pub listen: Option<Value>,
    /// nextUpdate minus thisUpdate, in seconds (written as seconds or an Exim time).
    pub validity: Option<Value<u64>>,
    /// Time allowed for a request head, its body, and each write, in seconds.
    pub timeout: Option<Value<u64>>,
    /// Connections served at once.
    pub max_connections: Option<Value<u64>>,
    /// Largest request body, in bytes.
    pub max_request_size: Option<Value<u64>>,
    /// Sign ahead for every serial (default true).
    pub presign: Option<Value<bool>>,
    /// Name the signer by subject instead of key hash.
    pub responder_id_by_name: Option<Value<bool>>,
    /// Where `respond` answers `/metrics` and `/status`.
    pub metrics_listen: Option<Value>,
    /// The `[[respond.ca]]` entries, in file order.
    pub cas: Vec<RespondCaEntry>,
}

/// One `[[respond.ca]]` entry as written (keys may be missing; [`crate::check`] says so).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RespondCaEntry {
    /// The line of the entry's header.
    pub line: usize,
    /// A name for logs (default: the CA certificate's file stem).
    pub name: Option<Value>,
    /// The OpenSSL `ca` index.
    pub index: Option<Value>,
    /// The CA certificate.
    pub ca: Option<Value>,
    /// The delegated signer's certificate (default: the CA signs).
    pub signer_cert: Option<Value>,
    /// The signer's key file, or a `pkcs11:` URI.
    pub signer_key: Option<Value>,
    /// A file with the key's passphrase.
    pub signer_key_passphrase_file: Option<Value>,
    /// The PKCS#11 module for a `pkcs11:` key.
    pub pkcs11_module: Option<Value>,
    /// A file with the token's PIN.
    pub pkcs11_pin_file: Option<Value>,
}

/// A complete `[[respond.ca]]` entry, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RespondCa {
    /// The name in logs.
    pub name: String,
    /// The OpenSSL `ca` index.
    pub index: PathBuf,
    /// The CA certificate.
    pub ca: PathBuf,
    /// The delegated signer's certificate, when the CA does not sign itself.
    pub signer_cert: Option<PathBuf>,
    /// The signer's key file, or a `pkcs11:` URI (kept as written).
    pub signer_key: String,
    /// A file with the key's passphrase.
    pub signer_key_passphrase_file: Option<PathBuf>,
    /// The PKCS#11 module for a `pkcs11:` key.
    pub pkcs11_module: Option<PathBuf>,
    /// A file with the token's PIN.
    pub pkcs11_pin_file: Option<PathBuf>,
}

impl Respond {
    /// The complete `[[respond.ca]]` entries (a loaded file has no other kind).
    pub fn cas(&self) -> Vec<RespondCa> {
        let path = |v: &Option<Value>| v.as_ref().map(|v| PathBuf::from(&v.value));
        self.cas
            .iter()
            .filter_map(|e| {
                let ca = PathBuf::from(&e.ca.as_ref()?.value);
                let name = e.name.as_ref().map_or_else(
                    || {
                        ca.file_stem().map_or_else(
                            || ca.display().to_string(),
                            |s| s.to_string_lossy().into_owned(),
                        )
                    },
                    |n| n.value.clone(),
                );
                Some(RespondCa {
                    name,
                    index: PathBuf::from(&e.index.as_ref()?.value),
                    ca,
                    signer_cert: path(&e.signer_cert),
                    signer_key: e.signer_key.as_ref()?.value.clone(),
                    signer_key_passphrase_file: path(&e.signer_key_passphrase_file),
                    pkcs11_module: path(&e.pkcs11_module),
                    pkcs11_pin_file: path(&e.pkcs11_pin_file),
                })
            })
            .collect()
    }
}

/// Reads `[respond]`.
pub(crate) fn parse_respond(
    text: &crate::parse::Source,
    table: &DeTable<'_>,
    respond: &mut Respond,
    findings: &mut Findings,
) {
    let mut entries = Vec::new();
    read_table(
        text,
        "[respond]",
        table,
        RESPOND_OPTIONS,
        findings,
        |k, raw, line| {
            let flag = |raw: &DeValue<'_>| {
                raw.as_bool()
                    .ok_or_else(|| format!("expected true or false, not a TOML {}", raw.type_str()))
            };
            match k {
                "ca" => entries.push((raw, line)),
                "listen" => respond.listen = Some(Value::new(string(raw)?, line)),
                "metrics_listen" => respond.metrics_listen = Some(Value::new(string(raw)?, line)),
                "presign" => respond.presign = Some(Value::new(flag(raw)?, line)),
                "responder_id_by_name" => {
                    respond.responder_id_by_name = Some(Value::new(flag(raw)?, line));
                }
                "validity" => {
                    respond.validity = Some(Value::new(time_within(raw, VALIDITY, "1d")?, line));
                }
                "timeout" => {
                    respond.timeout =
                        Some(Value::new(time_within(raw, (1, MAX_TIMEOUT), "10s")?, line));
                }
                "max_connections" => {
                    respond.max_connections =
                        Some(Value::new(positive(raw, MAX_CONNECTIONS)?, line));
                }
                _ => {
                    respond.max_request_size = Some(Value::new(positive(raw, MAX_REQUEST)?, line));
                }
            }
            Ok(())
        },
    );
    for (raw, line) in entries {
        for (t, line) in table_entries(text, raw, line, "respond", "ca", findings) {
            let mut e = RespondCaEntry {
                line,
                name: None,
                index: None,
                ca: None,
                signer_cert: None,
                signer_key: None,
                signer_key_passphrase_file: None,
                pkcs11_module: None,
                pkcs11_pin_file: None,
            };
            read_table(
                text,
                "[[respond.ca]]",
                t,
                RESPOND_CA_KEYS,
                findings,
                |k, raw, line| {
                    let slot = match k {
                        "name" => &mut e.name,
                        "index" => &mut e.index,
                        "ca" => &mut e.ca,
                        "signer_cert" => &mut e.signer_cert,
                        "signer_key" => &mut e.signer_key,
                        "signer_key_passphrase_file" => &mut e.signer_key_passphrase_file,
                        "pkcs11_module" => &mut e.pkcs11_module,
                        _ => &mut e.pkcs11_pin_file,
                    };
                    *slot = Some(Value::new(string(raw)?, line));
                    Ok(())
                },
            );
            respond.cas.push(e);
        }
    }
}

/// The checks of `[respond]` that need the files: every entry complete, its certificates,
/// index and key read as `respond` reads them (an encrypted or PKCS#11 key is only looked for:
/// its secret is asked for at start), listen addresses that parse, no CA twice.
pub(crate) fn check_respond(respond: &Respond, findings: &mut Findings) {
    if let Some(l) = &respond.listen
        && l.value.parse::<SocketAddr>().is_err()
    {
        findings.error(
            l.line,
            format!(
                "[respond] listen {:?}: not an address and port such as 127.0.0.1:8888",
                l.value
            ),
        );
    }
    let mut issuers: Vec<(Vec<u8>, usize)> = Vec::new();
    for e in &respond.cas {
        for (key, value) in [
            ("index", &e.index),
            ("ca", &e.ca),
            ("signer_key", &e.signer_key),
        ] {
            if value.is_none() {
                findings.error(e.line, format!("[[respond.ca]]: {key} is missing"));
            }
        }
        let mut cert = |v: &Value| -> Option<Vec<u8>> {
            let read = std::fs::read(&v.value)
                .map_err(|err| format!("cannot read {}: {err}", v.value))
                .and_then(|bytes| {
                    mailstaple_responder::certificate_der(&bytes)
                        .map_err(|err| format!("{}: {err}", v.value))
                });
            match read {
                Ok(der) => Some(der),
                Err(err) => {
                    findings.error(v.line, format!("[[respond.ca]]: {err}"));
                    None
                }
            }
        };
        let ca = e.ca.as_ref().and_then(&mut cert);
        let signer = e.signer_cert.as_ref().and_then(&mut cert);
        let index = e.index.as_ref().and_then(|i| {
            mailstaple_responder::load_index(Path::new(&i.value))
                .map_err(|err| {
                    findings.error(i.line, format!("[[respond.ca]] index {}: {err}", i.value));
                })
                .ok()
        });
        if let Some(ca) = &ca
            && let Ok(view) = mailstaple_ocsp::CertView::parse(ca)
        {
            let key = (view.subject.to_vec(), e.line);
            if let Some((_, first)) = issuers.iter().find(|(s, _)| *s == key.0) {
                findings.error(
                    e.line,
                    format!("[[respond.ca]]: the same CA as the entry on line {first}"),
                );
            }
            issuers.push(key);
        }
        let Some(k) = &e.signer_key else { continue };
        if k.value.starts_with("pkcs11:") {
            if let Err(err) = mailstaple_responder::Pkcs11Uri::parse(&k.value) {
                findings.error(k.line, format!("[[respond.ca]] signer_key: {err}"));
            }
            match &e.pkcs11_module {
                None => findings.error(
                    k.line,
                    "[[respond.ca]] signer_key: a pkcs11: key needs pkcs11_module",
                ),
                Some(m) if !Path::new(&m.value).exists() => findings.error(
                    m.line,
                    format!("[[respond.ca]] pkcs11_module {}: no such file", m.value),
                ),
                Some(_) => {}
            }
            continue;
        }
        let bytes = match std::fs::read(&k.value) {
            Ok(b) => zeroize::Zeroizing::new(b),
            Err(err) => {
                findings.error(
                    k.line,
                    format!("[[respond.ca]] signer_key: cannot read {}: {err}", k.value),
                );
                continue;
            }
        };
        if mailstaple_responder::SigningKey::is_encrypted(&bytes) {
            continue;
        }
        let key = match mailstaple_responder::SigningKey::from_file_contents(&bytes) {
            Ok(key) => key,
            Err(err) => {
                findings.error(
                    k.line,
                    format!("[[respond.ca]] signer_key {}: {err}", k.value),
                );
                continue;
            }
        };
        // Everything read: put them together as `respond` does (key and signer, signer and CA,
        // the signer's extended key usage, the validity period).
        if let (Some(ca), Some(index)) = (ca, index) {
            let mut config = mailstaple_responder::ResponderConfig::default();
            if let Some(v) = &respond.validity {
                config.validity_secs = v.value;
            }
            if let Err(err) = mailstaple_responder::Responder::new(
                &ca,
                signer.as_deref(),
                key,
                index,
                &config,
                mailstaple_ocsp::Time::from_unix(0),
            ) {
                findings.error(e.line, format!("[[respond.ca]]: {err}"));
            }
        }
    }
}
