//! `mailstaple ocsp inspect | verify | request`.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};
use mailstaple_ocsp::{
    AlgorithmId, BasicResponse, CertId, CertStatus, CertView, Extension, HashAlgorithm,
    OcspResponse, ResponderId, Time, build_request, decode_name, hex, name_to_string, oid_display,
    oid_name, oid_to_string,
};
use mailstaple_verify::{Policy, verify, verify_for_issuer};
use rustls_pki_types::UnixTime;
use serde_json::{Value, json};

use crate::input::{parse_time, read_certificate, read_der_or_pem};

/// OCSP responses and requests.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum OcspCmd {
    /// Decode an OCSP response (DER or PEM) and print its fields. Judges nothing.
    Inspect {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// The response file.
        file: PathBuf,
    },
    /// Verify an OCSP response: authentic, current, for the certificate.
    ///
    /// Exit 0 good; 1 invalid; 2 usage error or unreadable file; 3 revoked; 4 unknown.
    Verify {
        /// The response file (DER or PEM).
        #[arg(long)]
        response: PathBuf,
        /// The issuer certificate (PEM or DER).
        #[arg(long)]
        issuer: PathBuf,
        /// The certificate the response must be for; without it every response naming the
        /// issuer is judged and the worst decides.
        #[arg(long)]
        cert: Option<PathBuf>,
        /// The time to judge at: RFC 3339 or seconds since the epoch (default: now).
        #[arg(long, value_parser = parse_time)]
        at: Option<Time>,
        /// Allowed clock skew in seconds.
        #[arg(long, default_value_t = 300)]
        skew: u64,
        /// Maximum age in seconds: refuse a response whose thisUpdate is older than this (plus
        /// the skew) even when its nextUpdate is later, and accept one without nextUpdate until
        /// thisUpdate plus this. Browsers use a week (604800, or `7d`). Default: no maximum,
        /// and a response without nextUpdate is refused.
        #[arg(long, value_name = "AGE", value_parser = crate::input::parse_max_age)]
        max_age: Option<u64>,
        /// Refuse sha1WithRSAEncryption signatures (the response's and the responder
        /// certificate's); accepted by default, as OpenSSL and Exim accept them.
        #[arg(long)]
        no_sha1: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Write a DER OCSPRequest for a certificate.
    Request {
        /// The certificate (PEM or DER; the first of a chain).
        #[arg(long)]
        cert: PathBuf,
        /// Its issuer.
        #[arg(long)]
        issuer: PathBuf,
        /// Use SHA-256 in the CertID instead of SHA-1.
        #[arg(long)]
        sha256: bool,
        /// Add a random 16-byte nonce.
        #[arg(long)]
        nonce: bool,
        /// Where to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs the command and returns the exit code.
pub(crate) fn run(cmd: OcspCmd) -> i32 {
    match cmd {
        OcspCmd::Inspect { json, file } => inspect(&file, json),
        OcspCmd::Verify {
            response,
            issuer,
            cert,
            at,
            skew,
            max_age,
            no_sha1,
            json,
        } => {
            let mut policy = Policy::default();
            policy.skew_secs = skew;
            policy.max_age_secs = max_age;
            policy.allow_sha1 = !no_sha1;
            verify_cmd(&response, &issuer, cert.as_deref(), at, &policy, json)
        }
        OcspCmd::Request {
            cert,
            issuer,
            sha256,
            nonce,
            out,
        } => match request(&cert, &issuer, sha256, nonce, out.as_deref()) {
            Ok(()) => 0,
            Err(e) => crate::usage_error(&e),
        },
    }
}

const RESPONSE_LABELS: &[&str] = &["OCSP RESPONSE"];

fn inspect(file: &std::path::Path, as_json: bool) -> i32 {
    let bytes = match read_der_or_pem(file, RESPONSE_LABELS) {
        Ok(b) => b,
        Err(e) => return crate::usage_error(&e),
    };
    let resp = match OcspResponse::parse(&bytes) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mailstaple: not a usable OCSP response: {e}");
            return 1;
        }
    };
    let out = if as_json {
        inspect_json(&resp).to_string()
    } else {
        inspect_text(&resp)
    };
    println!("{out}");
    0
}

/// `name (dotted)` of an AlgorithmIdentifier.
fn alg_display(alg: &AlgorithmId<'_>) -> String {
    oid_display(alg.oid)
}

/// A revocation reason by name with its code: `keyCompromise (1)`.
fn reason_text(r: mailstaple_ocsp::CrlReason) -> String {
    match r.name() {
        Some(name) => format!("{name} ({})", r.0),
        None => format!("undefined reason code {}", r.0),
    }
}

/// A Name as RFC 4514 text, or what is wrong with it.
fn name_text(der: &[u8]) -> String {
    decode_name(der).unwrap_or_else(|e| format!("{e} (bytes {})", hex(der)))
}

fn responder_json(id: &ResponderId<'_>) -> Value {
    match id {
        ResponderId::ByName(n) => match decode_name(n) {
            Ok(name) => json!({ "by_name": name }),
            Err(e) => json!({ "by_name": hex(n), "by_name_error": e.to_string() }),
        },
        ResponderId::ByKeyHash(h) => json!({ "by_key_hash": hex(h) }),
        _ => Value::Null,
    }
}

fn status_fields(status: &CertStatus) -> (Value, Value) {
    match status {
        CertStatus::Revoked { time, reason } => (
            json!(time.to_string()),
            reason.map_or(Value::Null, |r| json!(r.to_string())),
        ),
        _ => (Value::Null, Value::Null),
    }
}

fn extensions_json(exts: &[Extension<'_>]) -> Value {
    Value::Array(
        exts.iter()
            .map(|e| {
                json!({
                    "oid": oid_to_string(e.oid),
                    "name": oid_name(e.oid),
                    "critical": e.critical,
                    "value": hex(e.value),
                })
            })
            .collect(),
    )
}

/// What `inspect` shows of an embedded certificate; one that does not decode says why.
fn certificate_json(der: &[u8]) -> Value {
    let view = match CertView::parse(der) {
        Ok(v) => v,
        Err(e) => return json!({ "error": format!("malformed certificate: {e}") }),
    };
    let ekus = view.extended_key_usage();
    let (eku, eku_names) = match &ekus {
        Ok(Some(list)) => (
            json!(list.iter().map(|o| oid_to_string(o)).collect::<Vec<_>>()),
            json!(list.iter().map(|o| oid_name(o)).collect::<Vec<_>>()),
        ),
        _ => (Value::Null, Value::Null),
    };
    let mut obj = json!({
        "subject": name_text(view.subject),
        "issuer": name_text(view.issuer),
        "serial": hex(view.serial),
        "not_before": view.not_before.to_string(),
        "not_after": view.not_after.to_string(),
        "key": view.key_kind().to_string(),
        "signature_algorithm": view.signature_algorithm.oid_string(),
        "signature_algorithm_name": oid_name(view.signature_algorithm.oid),
        "extended_key_usage": eku,
        "extended_key_usage_names": eku_names,
    });
    if let (Value::Object(map), Err(e)) = (&mut obj, &ekus) {
        map.insert("error".into(), json!(format!("extKeyUsage: {e}")));
    }
    obj
}

fn inspect_json(resp: &OcspResponse<'_>) -> Value {
    let mut obj = json!({ "response_status": resp.status.name() });
    if let Some(basic) = &resp.basic {
        let responses: Vec<Value> = basic
            .responses
            .iter()
            .map(|s| {
                let (revocation_time, revocation_reason) = status_fields(&s.status);
                let reason_name = match s.status {
                    CertStatus::Revoked {
                        reason: Some(r), ..
                    } => json!(r.name()),
                    _ => Value::Null,
                };
                json!({
                    "hash_algorithm": s.cert_id.hash_algorithm.oid_string(),
                    "hash_algorithm_name": oid_name(s.cert_id.hash_algorithm.oid),
                    "issuer_name_hash": hex(s.cert_id.issuer_name_hash),
                    "issuer_key_hash": hex(s.cert_id.issuer_key_hash),
                    "serial": hex(s.cert_id.serial),
                    "status": s.status.name(),
                    "revocation_time": revocation_time,
                    "revocation_reason": revocation_reason,
                    "revocation_reason_code": match s.status {
                        CertStatus::Revoked { reason: Some(r), .. } => json!(r.0),
                        _ => Value::Null,
                    },
                    "revocation_reason_name": reason_name,
                    "this_update": s.this_update.to_string(),
                    "next_update": s.next_update.map(|t| t.to_string()),
                    "extensions": extensions_json(&s.extensions),
                })
            })
            .collect();
        if let Value::Object(map) = &mut obj {
            map.insert(
                "response_type".into(),
                json!(oid_to_string(mailstaple_ocsp::OID_OCSP_BASIC)),
            );
            map.insert(
                "response_type_name".into(),
                json!(oid_name(mailstaple_ocsp::OID_OCSP_BASIC)),
            );
            map.insert("responder_id".into(), responder_json(&basic.responder_id));
            map.insert("produced_at".into(), json!(basic.produced_at.to_string()));
            map.insert(
                "signature_algorithm".into(),
                json!(basic.signature_algorithm.oid_string()),
            );
            map.insert(
                "signature_algorithm_name".into(),
                json!(oid_name(basic.signature_algorithm.oid)),
            );
            map.insert("certificates".into(), json!(basic.certs.len()));
            map.insert(
                "certificate_details".into(),
                Value::Array(basic.certs.iter().map(|c| certificate_json(c)).collect()),
            );
            map.insert("extensions".into(), extensions_json(&basic.extensions));
            map.insert("responses".into(), Value::Array(responses));
            if let Some(n) = basic.nonce() {
                map.insert("nonce".into(), json!(hex(n)));
            }
        }
    }
    obj
}

fn inspect_text(resp: &OcspResponse<'_>) -> String {
    let mut s = format!("Response status: {}\n", resp.status);
    let Some(basic) = &resp.basic else {
        return s.trim_end().to_string();
    };
    s.push_str(&basic_text(basic));
    s.trim_end().to_string()
}

/// One line per extension; `nonce` is the response's decoded nonce, shown as its octets as
/// OpenSSL shows it.
fn extensions_text(s: &mut String, indent: &str, exts: &[Extension<'_>], nonce: Option<&[u8]>) {
    use std::fmt::Write as _;
    for e in exts {
        let _ = writeln!(
            s,
            "{indent}{}{}: {}",
            oid_display(e.oid),
            if e.critical { ", critical" } else { "" },
            if let (true, Some(n)) = (e.oid == mailstaple_ocsp::OID_OCSP_NONCE, nonce) {
                hex(n)
            } else {
                format!("{} bytes {}", e.value.len(), hex(e.value))
            }
        );
    }
}

fn certificate_text(s: &mut String, index: usize, der: &[u8]) {
    use std::fmt::Write as _;
    let view = match CertView::parse(der) {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(s, "Certificate {index}: malformed certificate: {e}");
            return;
        }
    };
    let _ = writeln!(s, "Certificate {index}:");
    let _ = writeln!(s, "  Subject: {}", name_text(view.subject));
    let _ = writeln!(s, "  Issuer: {}", name_text(view.issuer));
    let _ = writeln!(s, "  Serial: {}", hex(view.serial));
    let _ = writeln!(
        s,
        "  Validity: {} until {}",
        view.not_before, view.not_after
    );
    let _ = writeln!(s, "  Key: {}", view.key_kind());
    let _ = writeln!(
        s,
        "  Signature algorithm: {}",
        alg_display(&view.signature_algorithm)
    );
    let _ = match view.extended_key_usage() {
        Ok(Some(list)) => writeln!(
            s,
            "  Extended key usage: {}",
            list.iter()
                .map(|o| oid_display(o))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Ok(None) => writeln!(s, "  Extended key usage: none"),
        Err(e) => writeln!(s, "  Extended key usage: malformed: {e}"),
    };
}

fn basic_text(basic: &BasicResponse<'_>) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Response type: {}",
        oid_display(mailstaple_ocsp::OID_OCSP_BASIC)
    );
    let _ = match basic.responder_id {
        ResponderId::ByName(n) => writeln!(s, "Responder: byName: {}", name_text(n)),
        ResponderId::ByKeyHash(h) => writeln!(s, "Responder: byKey: {}", hex(h)),
        _ => writeln!(s, "Responder: unknown kind"),
    };
    let _ = writeln!(s, "Produced at: {}", basic.produced_at);
    let _ = writeln!(
        s,
        "Signature algorithm: {}",
        alg_display(&basic.signature_algorithm)
    );
    if !basic.extensions.is_empty() {
        let _ = writeln!(s, "Response extensions:");
        extensions_text(&mut s, "  ", &basic.extensions, basic.nonce());
    }
    for (i, single) in basic.responses.iter().enumerate() {
        let _ = writeln!(s, "Response {}:", i + 1);
        let _ = writeln!(s, "  Serial: {}", hex(single.cert_id.serial));
        let _ = writeln!(
            s,
            "  Hash algorithm: {}",
            alg_display(&single.cert_id.hash_algorithm)
        );
        let _ = writeln!(
            s,
            "  Issuer name hash: {}",
            hex(single.cert_id.issuer_name_hash)
        );
        let _ = writeln!(
            s,
            "  Issuer key hash: {}",
            hex(single.cert_id.issuer_key_hash)
        );
        let _ = match single.status {
            CertStatus::Revoked { time, reason } => writeln!(
                s,
                "  Status: revoked at {time}{}",
                reason
                    .map(|r| format!(", reason {}", reason_text(r)))
                    .unwrap_or_default()
            ),
            other => writeln!(s, "  Status: {}", other.name()),
        };
        let _ = writeln!(s, "  This update: {}", single.this_update);
        let _ = writeln!(
            s,
            "  Next update: {}",
            single
                .next_update
                .map_or_else(|| "none".to_string(), |t| t.to_string())
        );
        if !single.extensions.is_empty() {
            let _ = writeln!(s, "  Extensions:");
            extensions_text(&mut s, "    ", &single.extensions, None);
        }
    }
    let _ = writeln!(s, "Embedded certificates: {}", basic.certs.len());
    for (i, der) in basic.certs.iter().enumerate() {
        certificate_text(&mut s, i + 1, der);
    }
    s
}

fn unix_time(t: Time) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(t.unix()).unwrap_or(0)))
}

fn verify_cmd(
    response: &std::path::Path,
    issuer: &std::path::Path,
    cert: Option<&std::path::Path>,
    at: Option<Time>,
    policy: &Policy,
    as_json: bool,
) -> i32 {
    let proof = match read_der_or_pem(response, RESPONSE_LABELS) {
        Ok(v) => v,
        Err(e) => return crate::usage_error(&e),
    };
    let issuer_der = match read_certificate(issuer) {
        Ok(v) => v,
        Err(e) => return crate::usage_error(&e),
    };
    let cert_der = match cert.map(read_certificate).transpose() {
        Ok(v) => v,
        Err(e) => return crate::usage_error(&e),
    };
    let now = match at {
        Some(t) => unix_time(t),
        None => UnixTime::since_unix_epoch(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default(),
        ),
    };
    let now_text = Time::from_unix(i64::try_from(now.as_secs()).unwrap_or(i64::MAX)).to_string();
    let (status, detail) = match &cert_der {
        Some(c) => match verify(&proof, c, &issuer_der, now, policy) {
            Ok(s) => (
                Ok(s.status()),
                json!({
                    "serial": hex(s.serial()),
                    "this_update": s.this_update().to_string(),
                    "next_update": s.next_update().map(|t| t.to_string()),
                    "effective_expiry": s.effective_expiry().to_string(),
                    "signer": signer_text(s.signer()),
                }),
            ),
            Err(e) => (Err(e), Value::Null),
        },
        None => match verify_for_issuer(&proof, &issuer_der, now, policy) {
            Ok(v) => (
                Ok(v.worst),
                json!({
                    "responses": v.entries.iter().map(|e| json!({
                        "serial": hex(&e.serial),
                        "status": e.status.name(),
                        "this_update": e.this_update.to_string(),
                        "next_update": e.next_update.map(|t| t.to_string()),
                    })).collect::<Vec<_>>(),
                    "signer": signer_text(&v.signer),
                }),
            ),
            Err(e) => (Err(e), Value::Null),
        },
    };
    let code = match &status {
        Ok(CertStatus::Good) => 0,
        Ok(CertStatus::Revoked { .. }) => 3,
        Ok(_) => 4,
        Err(_) => 1,
    };
    if as_json {
        let mut obj = json!({
            "at": now_text,
            "valid": status.is_ok(),
            "status": status.as_ref().map(|s| s.name()).ok(),
            "error": status.as_ref().err().map(ToString::to_string),
        });
        if let (Value::Object(map), Value::Object(extra)) = (&mut obj, detail) {
            map.extend(extra);
        }
        if let (Value::Object(map), Ok(s)) = (&mut obj, &status) {
            let (t, r) = status_fields(s);
            map.insert("revocation_time".into(), t);
            map.insert("revocation_reason".into(), r);
        }
        println!("{obj}");
    } else {
        match &status {
            Ok(CertStatus::Revoked { time, reason }) => println!(
                "revoked at {time}{} (authentic and current at {now_text})",
                reason
                    .map(|r| format!(", reason {}", reason_text(r)))
                    .unwrap_or_default()
            ),
            Ok(s) => println!("{} (authentic and current at {now_text})", s.name()),
            Err(_) => {}
        }
    }
    if let Err(e) = &status {
        eprintln!("mailstaple: invalid OCSP response: {e}");
    }
    code
}

fn signer_text(s: &mailstaple_verify::Signer) -> String {
    match s {
        mailstaple_verify::Signer::Delegated { subject, not_after } => {
            format!("delegated responder \"{subject}\" valid until {not_after}")
        }
        _ => "issuer".to_string(),
    }
}

fn request(
    cert: &std::path::Path,
    issuer: &std::path::Path,
    sha256: bool,
    nonce: bool,
    out: Option<&std::path::Path>,
) -> Result<()> {
    let cert_der = read_certificate(cert)?;
    let issuer_der = read_certificate(issuer)?;
    let cert_view = CertView::parse(&cert_der)
        .with_context(|| format!("{}: not a certificate", cert.display()))?;
    let issuer_view = CertView::parse(&issuer_der)
        .with_context(|| format!("{}: not a certificate", issuer.display()))?;
    if cert_view.issuer != issuer_view.subject {
        anyhow::bail!(
            "{} was not issued by {} (issuer \"{}\", subject \"{}\")",
            cert.display(),
            issuer.display(),
            name_to_string(cert_view.issuer).unwrap_or_default(),
            name_to_string(issuer_view.subject).unwrap_or_default()
        );
    }
    let hash = if sha256 {
        HashAlgorithm::Sha256
    } else {
        HashAlgorithm::Sha1
    };
    let id = CertId::new(&cert_view, &issuer_view, hash);
    let nonce_bytes = if nonce {
        Some(crate::random_bytes::<16>()?)
    } else {
        None
    };
    let der = build_request(&[id], nonce_bytes.as_ref().map(|n| n.as_slice()));
    match out {
        Some(path) => std::fs::write(path, &der)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout()
            .write_all(&der)
            .context("cannot write to standard output")?,
    }
    Ok(())
}
