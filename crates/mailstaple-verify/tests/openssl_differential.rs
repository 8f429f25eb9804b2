//! Differential test: [`mailstaple_verify::verify`] against the system `openssl ocsp` (OpenSSL 3.0)
//! over the whole defect matrix of `mailstaple-testpki`, for every key algorithm.
//!
//! # How OpenSSL is run
//!
//! For each case the DER response is written to a file and checked with
//!
//! ```text
//! LD_PRELOAD=/usr/$LIB/faketime/libfaketime.so.1 FAKETIME="<AT as YYYY-MM-DD hh:mm:ss>" \
//!     openssl ocsp -respin resp.der -issuer issuer.pem [-sha256] -cert leaf.pem \
//!     -CAfile root.pem -no_nonce -attime <AT> -validity_period 300 [extra]
//! ```
//!
//! with `TZ=UTC` (libfaketime preloaded directly, not through the `faketime` wrapper, whose
//! per-process named semaphores make it fail now and then). `-attime` sets the time of the responder certificate's chain check, but OpenSSL
//! compares thisUpdate/nextUpdate (`OCSP_check_validity`) with the wall clock, so the process runs
//! under libfaketime with its clock frozen at the same instant `AT` (no test here reads the real
//! clock). `-validity_period 300` is the skew, the same as [`Policy::default`]'s `skew_secs`.
//! `faketime` is a peer like `openssl`: when either is missing the tests print
//! "skipped: ... not installed" and pass, unless `MAILSTAPLE_REQUIRE_PEERS=1`, when they fail.
//!
//! # How OpenSSL's output becomes a verdict ([`openssl_verdict`])
//!
//! 1. No `Response verify OK` on stderr (unreadable response, `Responder Error: ...`, `Response
//!    Verify Failure`) → `Invalid`.
//! 2. Otherwise stdout has `leaf.pem: ` followed by one of:
//!    - `ERROR: No Status found.` → `Invalid`;
//!    - `WARNING: Status times invalid.` (OpenSSL still prints the status after it) → `Invalid`:
//!      a proof outside its validity window is as unusable as a forged one;
//!    - `good` / `unknown` → `Good` / `Unknown`;
//!    - `revoked`, with the `Reason: <name>` line when there is one → `Revoked(reason)`.
//!
//!    Anything else fails the test as unrecognised output.
//!
//! Our side: `Ok` → the status (and revocation reason), `Err(_)` → `Invalid`; the error variant is
//! kept to pin each deliberate difference precisely.
//!
//! # Deliberate differences
//!
//! [`DIFFERENCES`] lists every case where the verdicts differ, with both verdicts and a one-line
//! reason. The test fails if a case differs without being listed, if it differs otherwise than
//! listed, or if a listed difference no longer occurs, so a change on either side is noticed.
//! `MAILSTAPLE_DIFF_TRACE=1` prints every case with both verdicts and OpenSSL's output.
//!
//! Some cases give OpenSSL more than a staple carries (`-verify_other`, `-VAfile`, a CA file
//! with the responder in it, a root marked trusted for OCSPSigning) to show where OpenSSL's
//! responder authorization goes beyond RFC 6960 §4.2.2.2; the table says which of them differ.
//!
//! # What is not compared
//!
//! Only verdicts are. A delegated signer that expires before nextUpdate (`signer/short`) is good
//! on both sides at [`NOW`] and refused by both two days later; that we also report the earlier
//! effective expiry is checked in `tests/it`, not here. OpenSSL's nonce check is off
//! (`-no_nonce`: a staple answers no request of ours), and [`Policy::allow_sha1`] stays at its
//! default (`true`), which OpenSSL's default matches.

// The harness helpers below are not `#[test]` functions, so clippy's test allowances do not reach
// them; a failed expectation in them is a test failure, as in the tests themselves.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mailstaple_ocsp::Time;
use mailstaple_testpki::{
    Cert, DAY, Defect, HOUR, HashAlg, KeyAlg, NOW, Pki, ResponderIdKind, ResponseBuilder, SigAlg,
    Signer, Status,
};
use mailstaple_verify::{Error, Policy, verify};
use rustls_pki_types::UnixTime;

/// The skew given to both sides, seconds.
const SKEW: u64 = 300;

/// An unregistered private OID, 1.3.6.1.4.1.99999.1, as OID contents.
const UNKNOWN_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d, 0x1f, 0x01];
/// Its dotted form, as our error reports it.
const UNKNOWN_OID_DOTTED: &str = "1.3.6.1.4.1.99999.1";
/// `id-pkix-ocsp-nonce` contents.
const NONCE_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02];
/// `id-pkix-ocsp-basic` contents.
const BASIC_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];

/// What a side concluded about the leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// Authentic, current, `good`.
    Good,
    /// Authentic, current, `revoked`, with the CRLReason if any.
    Revoked(Option<u8>),
    /// Authentic, current, `unknown`.
    Unknown,
    /// Not usable: unreadable, unauthentic, not for this certificate, or not current.
    Invalid,
}

/// Our verdict and, for `Invalid`, the error variant's name.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ours {
    verdict: Verdict,
    error: Option<String>,
}

/// One deliberate difference: the case (without the algorithm prefix), OpenSSL's verdict, our
/// verdict (for `Invalid`, the name of the [`Error`] variant), and why.
struct Difference {
    case: &'static str,
    openssl: Verdict,
    ours: Verdict,
    our_error: Option<&'static str>,
    why: &'static str,
}

/// Every case where OpenSSL 3.0 and we disagree, for every key algorithm, each found by
/// experiment. None of them is a place where OpenSSL is right and we are wrong.
const DIFFERENCES: &[Difference] = &[
    Difference {
        case: "defect/issuer/TrailingData",
        openssl: Verdict::Good,
        ours: Verdict::Invalid,
        our_error: Some("Malformed"),
        why: "OpenSSL's d2i reads one object and ignores what follows; a staple is exactly one DER \
              OCSPResponse, so we refuse trailing bytes (RFC 6960 §4.2.1, X.690 DER)",
    },
    Difference {
        case: "defect/delegated/TrailingData",
        openssl: Verdict::Good,
        ours: Verdict::Invalid,
        our_error: Some("Malformed"),
        why: "as defect/issuer/TrailingData",
    },
    Difference {
        case: "defect/issuer/FractionalSeconds",
        openssl: Verdict::Invalid,
        ours: Verdict::Good,
        our_error: None,
        why: "OpenSSL orders thisUpdate `...00.5Z` after nextUpdate with ASN1_STRING_cmp (length \
              first) and says 'nextupdate before thisupdate', which is false; we compare instants",
    },
    Difference {
        case: "defect/delegated/FractionalSeconds",
        openssl: Verdict::Invalid,
        ours: Verdict::Good,
        our_error: None,
        why: "as defect/issuer/FractionalSeconds",
    },
    Difference {
        case: "time/next_update_exactly_skew_ago",
        openssl: Verdict::Invalid,
        ours: Verdict::Good,
        our_error: None,
        why: "OpenSSL's X509_cmp_time treats nextUpdate == now - skew as expired; our window is \
              inclusive at both ends (thisUpdate - skew <= now <= nextUpdate + skew)",
    },
    Difference {
        case: "signer/short_at_its_not_after",
        openssl: Verdict::Invalid,
        ours: Verdict::Good,
        our_error: None,
        why: "OpenSSL's X509_cmp_time calls a certificate expired at its notAfter second; RFC 5280 \
              §4.1.2.5 makes validity inclusive of notAfter, as webpki and we do",
    },
    Difference {
        case: "time/no_next_update",
        openssl: Verdict::Good,
        ours: Verdict::Invalid,
        our_error: Some("NoNextUpdate"),
        why: "without -status_age OpenSSL accepts a response without nextUpdate forever; we refuse \
              it unless Policy::max_age_secs bounds its age (RFC 6960 §4.2.2.1: newer information \
              is available all the time)",
    },
    Difference {
        case: "conformance/produced_before_certificate",
        openssl: Verdict::Good,
        ours: Verdict::Invalid,
        our_error: Some("ProducedBeforeCertificate"),
        why: "OpenSSL does not compare producedAt with the certificate's validity; Chromium refuses \
              a response produced before notBefore, and so do we (a responder cannot vouch for a \
              certificate that did not exist)",
    },
    Difference {
        case: "certid/sha256_with_sha1_request",
        openssl: Verdict::Invalid,
        ours: Verdict::Good,
        our_error: None,
        why: "OpenSSL looks the status up by the CertID of the request it built (SHA-1 by default); \
              a staple comes unrequested, so we match a CertID in whatever hash the responder chose",
    },
    Difference {
        case: "singles/same_serial_good_then_revoked",
        openssl: Verdict::Good,
        ours: Verdict::Revoked(Some(4)),
        our_error: None,
        why: "OpenSSL takes the first SingleResponse for the CertID; when several match, we take \
              the worst, so a revocation cannot be hidden behind an earlier good entry",
    },
    Difference {
        case: "singles/delegated/another_ca_too",
        openssl: Verdict::Invalid,
        ours: Verdict::Good,
        our_error: None,
        why: "OpenSSL accepts a delegate only if every SingleResponse names its CA; we use only the \
              SingleResponse for our certificate, which this delegate may sign (RFC 6960 §4.2.2.2)",
    },
    Difference {
        case: "extension/unknown_critical_response_extension",
        openssl: Verdict::Good,
        ours: Verdict::Invalid,
        our_error: Some("UnknownCriticalExtension"),
        why: "OpenSSL ignores the criticality of response extensions; RFC 6960 §4.4: unrecognized \
              extensions are ignored unless critical",
    },
    Difference {
        case: "extension/unknown_critical_single_extension",
        openssl: Verdict::Good,
        ours: Verdict::Invalid,
        our_error: Some("UnknownCriticalExtension"),
        why: "as extension/unknown_critical_response_extension, for singleExtensions",
    },
    Difference {
        case: "responder/out_of_band_via_verify_other",
        openssl: Verdict::Good,
        ours: Verdict::Invalid,
        our_error: Some("UnknownResponder"),
        why: "OpenSSL finds the delegated responder's certificate in -verify_other; a staple must \
              be checkable from itself, the certificate and its issuer, so verify() takes none aside",
    },
    Difference {
        case: "responder/rogue_named_in_vafile",
        openssl: Verdict::Good,
        ours: Verdict::Invalid,
        our_error: Some("SignerNotIssuedByIssuer"),
        why: "-VAfile trusts the listed signer outright, whoever issued it; verify() has no locally \
              configured responders, only the issuer and the issuer's delegates (RFC 6960 §4.2.2.2)",
    },
    Difference {
        case: "responder/no_eku_under_root_trusted_for_ocsp",
        openssl: Verdict::Good,
        ours: Verdict::Invalid,
        our_error: Some("SignerNotAuthorized"),
        why: "a CAfile root marked trusted for OCSPSigning lets any certificate under it sign; \
              RFC 6960 §4.2.2.2 wants id-kp-OCSPSigning on a delegate of the issuer itself",
    },
    Difference {
        case: "responder/root_trusted_for_ocsp",
        openssl: Verdict::Good,
        ours: Verdict::Invalid,
        our_error: Some("SignerNotIssuedByIssuer"),
        why: "the same explicit trust lets the root answer for its grandchild; only the issuer or \
              its delegate may (RFC 6960 §4.2.2.2)",
    },
    Difference {
        case: "responder/rogue_under_ca_trusted_for_ocsp",
        openssl: Verdict::Good,
        ours: Verdict::Invalid,
        our_error: Some("SignerNotIssuedByIssuer"),
        why: "the same explicit trust, on an unrelated CA, lets its signer answer for any \
              certificate; RFC 6960 §4.2.2.2 forbids a responder outside the issuer",
    },
];

/// One row of the matrix.
struct Case {
    /// Unique name, without the algorithm prefix.
    name: String,
    /// The DER OCSPResponse.
    der: Vec<u8>,
    /// The instant both sides judge at, unix seconds.
    at: u64,
    /// A digest option for OpenSSL's request CertID (e.g. `-sha256`), placed before `-cert`.
    digest: Option<&'static str>,
    /// The `-CAfile` (default `root.pem`).
    ca_file: &'static str,
    /// More OpenSSL options.
    extra: Vec<String>,
    /// Our policy.
    policy: Policy,
}

impl Case {
    fn new(name: impl Into<String>, der: Vec<u8>) -> Case {
        Case {
            name: name.into(),
            der,
            at: NOW,
            digest: None,
            ca_file: "root.pem",
            extra: Vec::new(),
            policy: policy(),
        }
    }

    fn at(mut self, at: u64) -> Case {
        self.at = at;
        self
    }

    /// `-status_age secs` for OpenSSL and `max_age_secs = secs` for us.
    fn max_age(mut self, secs: u64) -> Case {
        self.extra
            .extend(["-status_age".to_owned(), secs.to_string()]);
        self.policy.max_age_secs = Some(secs);
        self
    }
}

/// Our policy: the default, with the skew spelled out (it is the default's, see
/// `default_skew_is_the_one_given_to_openssl`).
fn policy() -> Policy {
    let mut p = Policy::default();
    p.skew_secs = SKEW;
    p
}

/// Whether `program` runs; `args` must make it exit 0.
fn peer_available(program: &str, args: &[&str]) -> bool {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => true,
        _ => {
            if std::env::var("MAILSTAPLE_REQUIRE_PEERS").as_deref() == Ok("1") {
                panic!("{program} is not installed and MAILSTAPLE_REQUIRE_PEERS=1");
            }
            eprintln!("skipped: {program} not installed");
            false
        }
    }
}

/// The libfaketime spec for a frozen clock at `at`: `YYYY-MM-DD hh:mm:ss` (read as UTC with
/// `TZ=UTC`).
fn faketime_spec(at: u64) -> String {
    let rfc3339 = Time::from_unix(i64::try_from(at).unwrap()).to_string();
    rfc3339.trim_end_matches('Z').replace('T', " ")
}

/// What one `openssl ocsp` run printed.
#[derive(Debug)]
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run_openssl(dir: &Path, case: &Case) -> Out {
    let file = "resp.der";
    std::fs::write(dir.join(file), &case.der).expect("response written");
    let at = case.at.to_string();
    let validity = SKEW.to_string();
    let mut args: Vec<&str> = vec!["ocsp", "-respin", file, "-issuer", "issuer.pem"];
    args.extend(case.digest);
    args.extend([
        "-cert",
        "leaf.pem",
        "-CAfile",
        case.ca_file,
        "-no_nonce",
        "-attime",
        &at,
        "-validity_period",
        &validity,
    ]);
    args.extend(case.extra.iter().map(String::as_str));
    let out = Command::new("openssl")
        .args(&args)
        .envs(frozen_clock(case.at))
        .current_dir(dir)
        .output()
        .expect("faketime openssl runs");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// OpenSSL's name of a CRLReason (`OCSP_crl_reason_str`) back to its value.
fn reason_code(name: &str) -> Option<u8> {
    const NAMES: [(&str, u8); 10] = [
        ("unspecified", 0),
        ("keyCompromise", 1),
        ("cACompromise", 2),
        ("affiliationChanged", 3),
        ("superseded", 4),
        ("cessationOfOperation", 5),
        ("certificateHold", 6),
        ("removeFromCRL", 8),
        ("privilegeWithdrawn", 9),
        ("aACompromise", 10),
    ];
    NAMES.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// The mapping documented at the top of this file. `Err` is unrecognised output.
fn openssl_verdict(out: &Out) -> Result<Verdict, String> {
    if !out.stderr.contains("Response verify OK") {
        return if out.code == Some(0) {
            Err("exit 0 without 'Response verify OK'".into())
        } else {
            Ok(Verdict::Invalid)
        };
    }
    let first = out
        .stdout
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("leaf.pem: "))
        .ok_or("no 'leaf.pem: ' line")?;
    match first {
        "ERROR: No Status found." => return Ok(Verdict::Invalid),
        "WARNING: Status times invalid." => {
            // OpenSSL prints its error queue, then the status anyway; that status must still be
            // one of the three, or this is output the mapping does not know.
            let status = |l: &str| matches!(l, "good" | "revoked" | "unknown");
            return if out.stdout.lines().any(status) {
                Ok(Verdict::Invalid)
            } else {
                Err("times invalid, but no status line".into())
            };
        }
        _ => {}
    }
    match first {
        "good" => Ok(Verdict::Good),
        "unknown" => Ok(Verdict::Unknown),
        "revoked" => {
            let reason = out
                .stdout
                .lines()
                .find_map(|l| l.trim().strip_prefix("Reason: "));
            match reason {
                None => Ok(Verdict::Revoked(None)),
                Some(name) => reason_code(name)
                    .map(|c| Verdict::Revoked(Some(c)))
                    .ok_or_else(|| format!("unknown reason name {name:?}")),
            }
        }
        other => Err(format!("unrecognised status {other:?}")),
    }
}

fn our_verdict(pki: &Pki, case: &Case) -> Ours {
    let now = UnixTime::since_unix_epoch(Duration::from_secs(case.at));
    match verify(
        &case.der,
        &pki.leaf.der,
        &pki.intermediate.der,
        now,
        &case.policy,
    ) {
        Ok(staple) => {
            assert_eq!(
                staple.der(),
                case.der.as_slice(),
                "{}: stapled bytes",
                case.name
            );
            let verdict = match staple.status() {
                mailstaple_verify::Status::Good => Verdict::Good,
                mailstaple_verify::Status::Unknown => Verdict::Unknown,
                mailstaple_verify::Status::Revoked { reason, .. } => {
                    Verdict::Revoked(reason.map(|r| r.0))
                }
                other => panic!("{}: a status this test does not know: {other:?}", case.name),
            };
            Ours {
                verdict,
                error: None,
            }
        }
        Err(e) => {
            if let Error::UnknownCriticalExtension(oid) = &e {
                assert_eq!(oid, UNKNOWN_OID_DOTTED, "{}", case.name);
            }
            let debug = format!("{e:?}");
            let variant: String = debug
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            Ours {
                verdict: Verdict::Invalid,
                error: Some(variant),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DER surgery for the few responses the builder cannot make: extensions, a SingleResponse about
// another CA's certificate, CertIDs in SHA-384/512, a padded serial. Each is re-signed here.

/// A DER TLV with a one-byte tag.
fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap());
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap());
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

/// Splits one TLV off the front of `der`: (tag, contents, rest).
fn take_tlv(der: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = der[0];
    let (len, header) = if der[1] < 0x80 {
        (usize::from(der[1]), 2)
    } else {
        let n = usize::from(der[1] & 0x7f);
        let len = der[2..2 + n]
            .iter()
            .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
        (len, 2 + n)
    };
    (tag, &der[header..header + len], &der[header + len..])
}

/// The TLVs that make up `contents`, each whole.
fn children(mut contents: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !contents.is_empty() {
        let (tag, inner, rest) = take_tlv(contents);
        out.push(tlv(tag, inner));
        contents = rest;
    }
    out
}

/// `Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`.
fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut inner = tlv(0x06, oid);
    if critical {
        inner.extend([0x01, 0x01, 0xff]);
    }
    inner.extend(tlv(0x04, value));
    tlv(0x30, &inner)
}

/// `[1] EXPLICIT Extensions` around one extension.
fn extensions_field(ext: &[u8]) -> Vec<u8> {
    tlv(0xa1, &tlv(0x30, ext))
}

/// The top-level fields of a builder's tbsResponseData.
fn tbs_fields(b: &ResponseBuilder<'_>) -> Vec<Vec<u8>> {
    let original = b.tbs_response_data();
    let (tag, contents, rest) = take_tlv(&original);
    assert!(
        tag == 0x30 && rest.is_empty(),
        "tbsResponseData is one SEQUENCE"
    );
    children(contents)
}

/// The index of the `responses` SEQUENCE among tbsResponseData's fields.
fn responses_at(fields: &[Vec<u8>]) -> usize {
    fields.iter().position(|f| f[0] == 0x30).expect("responses")
}

/// The SingleResponses of tbsResponseData's fields, each whole.
fn singles(fields: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let (_, list, _) = take_tlv(&fields[responses_at(fields)]);
    children(list)
}

/// `fields` with the first SingleResponse's parts (certID, certStatus, thisUpdate, ...) passed
/// through `edit`, and `extra` SingleResponses appended.
fn edit_singles(
    mut fields: Vec<Vec<u8>>,
    edit: impl FnOnce(&mut Vec<Vec<u8>>),
    extra: &[Vec<u8>],
) -> Vec<Vec<u8>> {
    let mut list = singles(&fields);
    let (_, first, _) = take_tlv(&list[0]);
    let mut parts = children(first);
    edit(&mut parts);
    list[0] = tlv(0x30, &parts.concat());
    list.extend_from_slice(extra);
    let at = responses_at(&fields);
    fields[at] = tlv(0x30, &list.concat());
    fields
}

/// tbsResponseData from `fields`, signed by `signer` with its key's default algorithm, with
/// `embed` in `certs`, as a DER OCSPResponse.
fn signed_response(fields: &[Vec<u8>], signer: &Cert, embed: &[&Cert]) -> Vec<u8> {
    let tbs = tlv(0x30, &fields.concat());
    let mut bits = vec![0];
    bits.extend(sign(signer, &tbs));
    let mut basic = vec![
        tbs,
        signer.alg.default_sig_alg().algorithm_identifier(),
        tlv(0x03, &bits),
    ];
    if !embed.is_empty() {
        let certs: Vec<u8> = embed.iter().flat_map(|c| c.der.iter().copied()).collect();
        basic.push(tlv(0xa0, &tlv(0x30, &certs)));
    }
    let basic = tlv(0x30, &basic.concat());
    let bytes = tlv(0x30, &[tlv(0x06, BASIC_OID), tlv(0x04, &basic)].concat());
    tlv(0x30, &[vec![0x0a, 0x01, 0x00], tlv(0xa0, &bytes)].concat())
}

/// Where an extension goes.
#[derive(Clone, Copy)]
enum ExtensionPlace {
    /// `responseExtensions` of tbsResponseData.
    Response,
    /// `singleExtensions` of the first SingleResponse.
    Single,
}

/// The issuer-signed default response with `ext` added, re-signed by the issuer.
fn with_extension(pki: &Pki, place: ExtensionPlace, ext: &[u8]) -> Vec<u8> {
    let mut fields = tbs_fields(&pki.response());
    match place {
        ExtensionPlace::Response => {
            assert_ne!(
                fields.last().unwrap()[0],
                0xa1,
                "the builder made responseExtensions"
            );
            fields.push(extensions_field(ext));
        }
        ExtensionPlace::Single => {
            fields = edit_singles(fields, |parts| parts.push(extensions_field(ext)), &[]);
        }
    }
    signed_response(&fields, &pki.intermediate, &[])
}

/// Signs `msg` with `cert`'s key and its default algorithm (see `KeyAlg::default_sig_alg`).
fn sign(cert: &Cert, msg: &[u8]) -> Vec<u8> {
    use aws_lc_rs::signature as sig;
    let pkcs8 = cert.key.serialized_der();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let ecdsa = |alg: &'static sig::EcdsaSigningAlgorithm| {
        let key = sig::EcdsaKeyPair::from_pkcs8(alg, pkcs8).expect("ECDSA PKCS#8");
        key.sign(&rng, msg).expect("ECDSA signs").as_ref().to_vec()
    };
    match cert.alg {
        KeyAlg::Rsa2048 => {
            let key = sig::RsaKeyPair::from_pkcs8(pkcs8).expect("RSA PKCS#8");
            let mut out = vec![0; key.public_modulus_len()];
            key.sign(&sig::RSA_PKCS1_SHA256, &rng, msg, &mut out)
                .expect("RSA signs");
            out
        }
        KeyAlg::EcdsaP256 => ecdsa(&sig::ECDSA_P256_SHA256_ASN1_SIGNING),
        KeyAlg::EcdsaP384 => ecdsa(&sig::ECDSA_P384_SHA384_ASN1_SIGNING),
        KeyAlg::EcdsaP521 => ecdsa(&sig::ECDSA_P521_SHA512_ASN1_SIGNING),
        KeyAlg::Ed25519 => {
            let key =
                sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).expect("Ed25519 PKCS#8");
            key.sign(msg).as_ref().to_vec()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The matrix.

fn case(name: impl Into<String>, b: ResponseBuilder<'_>) -> Case {
    Case::new(name, b.build())
}

/// Every case for one PKI. Names are unique and carry no algorithm.
fn cases(pki: &Pki) -> Vec<Case> {
    let mut v = Vec::new();
    issuer_and_delegate(pki, &mut v);
    signers(pki, &mut v);
    responders(pki, &mut v);
    several_singles(pki, &mut v);
    cert_ids(pki, &mut v);
    times(pki, &mut v);
    response_statuses(pki, &mut v);
    extensions(pki, &mut v);
    resigned(pki, &mut v);
    conformance(pki, &mut v);
    v
}

/// The same cases signed by the issuer and by its delegate `signer`: ResponderID kinds,
/// statuses, every defect, every signature algorithm, nonce, SHA-256 CertID, extra singles.
fn issuer_and_delegate(pki: &Pki, v: &mut Vec<Case>) {
    let alg = pki.leaf.alg;
    for (who, signer) in [
        ("issuer", Signer::Issuer),
        ("delegated", Signer::Delegated(&pki.signer)),
    ] {
        let make = || pki.response().signer(signer);
        v.push(case(
            format!("signer/{who}/by_key"),
            make().responder_id(ResponderIdKind::ByKeyHash),
        ));
        v.push(case(
            format!("signer/{who}/by_name"),
            make().responder_id(ResponderIdKind::ByName),
        ));
        v.push(case(
            format!("status/{who}/unknown"),
            make().status(Status::Unknown),
        ));
        for reason in [None, Some(0), Some(1), Some(4), Some(6), Some(8)] {
            let r = reason.map_or_else(|| "none".to_owned(), |r: u8| r.to_string());
            let status = Status::Revoked {
                time: NOW - DAY,
                reason,
            };
            v.push(case(
                format!("status/{who}/revoked_reason_{r}"),
                make().status(status),
            ));
        }
        for d in Defect::ALL {
            // Exhaustive on purpose: a new defect must be looked at here (every one is a case).
            match d {
                Defect::BadSignature
                | Defect::WrongResponderId
                | Defect::WrongIssuerNameHash
                | Defect::WrongIssuerKeyHash
                | Defect::WrongSerial
                | Defect::SignerOtherKey
                | Defect::NoEmbeddedSigner
                | Defect::MalformedDer
                | Defect::TrailingData
                | Defect::ExplicitDefaultVersion
                | Defect::FractionalSeconds => {
                    v.push(case(format!("defect/{who}/{d:?}"), make().defect(d)))
                }
            }
        }
        for s in SigAlg::ALL.into_iter().filter(|s| s.usable_with(alg)) {
            v.push(case(format!("sigalg/{who}/{s:?}"), make().sig_alg(s)));
        }
        v.push(case(format!("nonce/{who}"), make().nonce(vec![9; 16])));
        let mut sha256 = case(format!("certid/{who}/sha256"), make().hash(HashAlg::Sha256));
        sha256.digest = Some("-sha256");
        v.push(sha256);
        v.push(case(
            format!("singles/{who}/others"),
            make()
                .extra_single(vec![0x10, 0x02], Status::Good)
                .extra_single(vec![0x33], Status::Unknown),
        ));
    }
}

/// Delegated responders other than `signer`, at NOW and at the edges of their validity.
fn signers(pki: &Pki, v: &mut Vec<Case>) {
    let delegated = |c| pki.response().signer(Signer::Delegated(c));
    v.push(case("signer/issuer_embedded", delegated(&pki.intermediate)));
    v.push(case("signer/root", delegated(&pki.root)));
    v.push(case("signer/no_eku", delegated(&pki.signer_no_eku)));
    v.push(case("signer/rogue", delegated(&pki.rogue_signer)));
    v.push(case("signer/expired", delegated(&pki.signer_expired)));
    v.push(case(
        "signer/not_yet_valid",
        delegated(&pki.signer_not_yet_valid),
    ));
    v.push(case("signer/short", delegated(&pki.signer_short)));
    v.push(case("signer/short_two_days_later", delegated(&pki.signer_short)).at(NOW + 2 * DAY));
    // The edges of a signer's validity (RFC 5280 §4.1.2.5: notBefore through notAfter, inclusive).
    v.push(
        case(
            "signer/short_at_its_not_after",
            delegated(&pki.signer_short),
        )
        .at(NOW + DAY),
    );
    v.push(
        case(
            "signer/short_a_second_after_its_not_after",
            delegated(&pki.signer_short),
        )
        .at(NOW + DAY + 1),
    );
    let starts = NOW + DAY;
    for (name, at) in [
        (
            "signer/not_yet_valid_a_second_before_its_not_before",
            starts - 1,
        ),
        ("signer/not_yet_valid_at_its_not_before", starts),
    ] {
        let b = delegated(&pki.signer_not_yet_valid)
            .this_update(at - HOUR)
            .next_update(Some(at + 7 * DAY));
        v.push(case(name, b).at(at));
    }
    // The same two signers judged while they were valid: the refusals above are about time.
    let then = NOW - 10 * DAY;
    v.push(
        case(
            "signer/expired_judged_while_valid",
            delegated(&pki.signer_expired)
                .this_update(then - HOUR)
                .next_update(Some(then + 7 * DAY)),
        )
        .at(then),
    );
    let later = NOW + 2 * DAY;
    v.push(
        case(
            "signer/not_yet_valid_judged_once_valid",
            delegated(&pki.signer_not_yet_valid)
                .this_update(later - HOUR)
                .next_update(Some(later + 7 * DAY)),
        )
        .at(later),
    );
}

/// Where the responder's certificate and OpenSSL's trust in it come from.
fn responders(pki: &Pki, v: &mut Vec<Case>) {
    let delegated = |c| pki.response().signer(Signer::Delegated(c));
    let mut c = case(
        "responder/out_of_band_via_verify_other",
        delegated(&pki.signer).defect(Defect::NoEmbeddedSigner),
    );
    c.extra
        .extend(["-verify_other".to_owned(), "signer_chain.pem".to_owned()]);
    v.push(c);
    let mut c = case(
        "responder/out_of_band_in_ca_file",
        delegated(&pki.signer)
            .defect(Defect::NoEmbeddedSigner)
            .responder_id(ResponderIdKind::ByName),
    );
    c.ca_file = "root_and_signer.pem";
    v.push(c);
    let mut c = case(
        "responder/rogue_with_its_ca_in_ca_file",
        delegated(&pki.rogue_signer),
    );
    c.ca_file = "root_and_other_ca.pem";
    v.push(c);
    let mut c = case(
        "responder/no_eku_with_chain_in_ca_file",
        delegated(&pki.signer_no_eku),
    );
    c.ca_file = "root_and_issuer.pem";
    v.push(c);
    // A root marked trusted for OCSP signing (`openssl x509 -addtrust OCSPSigning`).
    for (name, signer) in [
        (
            "responder/no_eku_under_root_trusted_for_ocsp",
            &pki.signer_no_eku,
        ),
        ("responder/root_trusted_for_ocsp", &pki.root),
        ("responder/signer_under_root_trusted_for_ocsp", &pki.signer),
    ] {
        let mut c = case(
            name,
            delegated(signer).embed(vec![signer, &pki.intermediate]),
        );
        c.ca_file = "root_trusted_for_ocsp.pem";
        v.push(c);
    }
    let mut c = case(
        "responder/rogue_under_ca_trusted_for_ocsp",
        delegated(&pki.rogue_signer),
    );
    c.ca_file = "other_ca_trusted_for_ocsp.pem";
    v.push(c);
    let mut c = case(
        "responder/rogue_named_in_vafile",
        delegated(&pki.rogue_signer),
    );
    c.extra
        .extend(["-VAfile".to_owned(), "rogue_signer.pem".to_owned()]);
    v.push(c);
}

/// Several SingleResponses.
fn several_singles(pki: &Pki, v: &mut Vec<Case>) {
    let leaf_serial = pki.leaf.serial().to_vec();
    let revoked = Status::Revoked {
        time: NOW - DAY,
        reason: Some(4),
    };
    v.push(case(
        "singles/same_serial_good_then_revoked",
        pki.response().extra_single(leaf_serial.clone(), revoked),
    ));
    v.push(case(
        "singles/same_serial_revoked_then_good",
        pki.response()
            .status(revoked)
            .extra_single(leaf_serial.clone(), Status::Good),
    ));
    v.push(case(
        "singles/wrong_serial_then_right_one",
        pki.response()
            .defect(Defect::WrongSerial)
            .extra_single(leaf_serial, Status::Unknown),
    ));
    v.push(case(
        "singles/only_another_certificate",
        pki.response().cert(&pki.other_leaf),
    ));
    // A second SingleResponse about a certificate of another CA (`rogue_signer`, issued by
    // `other_ca`), signed by the issuer and by its delegate.
    let foreign = singles(&tbs_fields(
        &pki.response().issuer(&pki.other_ca).cert(&pki.rogue_signer),
    ));
    v.push(Case::new(
        "singles/issuer/another_ca_too",
        signed_response(
            &edit_singles(tbs_fields(&pki.response()), |_| {}, &foreign),
            &pki.intermediate,
            &[],
        ),
    ));
    let delegated = tbs_fields(&pki.response().signer(Signer::Delegated(&pki.signer)));
    v.push(Case::new(
        "singles/delegated/another_ca_too",
        signed_response(
            &edit_singles(delegated, |_| {}, &foreign),
            &pki.signer,
            &[&pki.signer],
        ),
    ));
}

/// CertIDs: SHA-256 against a SHA-1 request, SHA-384 and SHA-512, a padded serial.
fn cert_ids(pki: &Pki, v: &mut Vec<Case>) {
    v.push(case(
        "certid/sha256_with_sha1_request",
        pki.response().hash(HashAlg::Sha256),
    ));
    // CertIDs in the hashes the builder does not offer, with a request in the same hash on
    // OpenSSL's side.
    for (name, digest, oid_last, alg) in [
        ("certid/sha384", "-sha384", 0x02, &aws_lc_rs::digest::SHA384),
        ("certid/sha512", "-sha512", 0x03, &aws_lc_rs::digest::SHA512),
    ] {
        let hash = |data: &[u8]| tlv(0x04, aws_lc_rs::digest::digest(alg, data).as_ref());
        let rehash = |parts: &mut Vec<Vec<u8>>| {
            let (_, cert_id, _) = take_tlv(&parts[0]);
            let serial = children(cert_id).pop().unwrap();
            let oid = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, oid_last];
            let alg_id = tlv(0x30, &[tlv(0x06, &oid), vec![0x05, 0x00]].concat());
            let issuer = &pki.intermediate;
            parts[0] = tlv(
                0x30,
                &[
                    alg_id,
                    hash(issuer.subject_der()),
                    hash(issuer.spki_bits()),
                    serial,
                ]
                .concat(),
            );
        };
        let fields = edit_singles(tbs_fields(&pki.response()), rehash, &[]);
        let mut c = Case::new(name, signed_response(&fields, &pki.intermediate, &[]));
        c.digest = Some(digest);
        v.push(c);
    }
    // The leaf's serial in CertID with a redundant leading zero octet (not DER).
    let pad_serial = |parts: &mut Vec<Vec<u8>>| {
        let (_, cert_id, _) = take_tlv(&parts[0]);
        let mut id = children(cert_id);
        let (_, serial, _) = take_tlv(&id[3]);
        id[3] = tlv(0x02, &[&[0u8][..], serial].concat());
        parts[0] = tlv(0x30, &id.concat());
    };
    v.push(Case::new(
        "certid/serial_with_leading_zero",
        signed_response(
            &edit_singles(tbs_fields(&pki.response()), pad_serial, &[]),
            &pki.intermediate,
            &[],
        ),
    ));
}

/// Status times around the skew, without nextUpdate, with a maximum age.
fn times(pki: &Pki, v: &mut Vec<Case>) {
    let r = || pki.response();
    v.push(case(
        "time/this_update_in_an_hour",
        r().this_update(NOW + HOUR),
    ));
    v.push(case(
        "time/this_update_exactly_skew_ahead",
        r().this_update(NOW + SKEW),
    ));
    v.push(case(
        "time/this_update_beyond_skew",
        r().this_update(NOW + SKEW + 1),
    ));
    v.push(case(
        "time/expired_an_hour_ago",
        r().this_update(NOW - 8 * DAY).next_update(Some(NOW - HOUR)),
    ));
    v.push(case(
        "time/next_update_within_skew",
        r().this_update(NOW - 8 * DAY)
            .next_update(Some(NOW - SKEW + 1)),
    ));
    v.push(case(
        "time/next_update_exactly_skew_ago",
        r().this_update(NOW - 8 * DAY).next_update(Some(NOW - SKEW)),
    ));
    v.push(case(
        "time/next_update_beyond_skew",
        r().this_update(NOW - 8 * DAY)
            .next_update(Some(NOW - SKEW - 1)),
    ));
    v.push(case("time/at_next_update", r()).at(NOW + 7 * DAY));
    v.push(case("time/after_next_update_beyond_skew", r()).at(NOW + 7 * DAY + SKEW + 1));
    v.push(case(
        "time/next_update_before_this_update",
        r().this_update(NOW - HOUR)
            .next_update(Some(NOW - 2 * HOUR)),
    ));
    v.push(case(
        "time/next_update_equals_this_update",
        r().this_update(NOW - 100).next_update(Some(NOW - 100)),
    ));
    v.push(case(
        "time/produced_at_in_a_day",
        r().produced_at(NOW + DAY),
    ));
    v.push(case(
        "time/revoked_in_a_day",
        r().status(Status::Revoked {
            time: NOW + DAY,
            reason: Some(1),
        }),
    ));
    v.push(case("time/no_next_update", r().next_update(None)));
    v.push(case("time/no_next_update_within_max_age", r().next_update(None)).max_age(DAY));
    v.push(case("time/no_next_update_beyond_max_age", r().next_update(None)).max_age(600));
    v.push(case("time/status_age_with_next_update", r()).max_age(600));
    v.push(case("time/status_age_with_next_update_within", r()).max_age(2 * HOUR));
}

/// Issue 13's conformance points: SHA-1 responder certificates and absent parameters (RSA only),
/// producedAt against the certificate's validity, critical extensions RFC 6960 and 6962 define.
fn conformance(pki: &Pki, v: &mut Vec<Case>) {
    if pki.leaf.alg == KeyAlg::Rsa2048 {
        for absent in [false, true] {
            let signer = pki
                .signer
                .resigned(&pki.intermediate, SigAlg::RsaPkcs1Sha1, absent);
            let der = pki.response().signer(Signer::Delegated(&signer)).build();
            v.push(Case::new(
                format!("conformance/sha1_signed_responder_certificate_absent_params_{absent}"),
                der,
            ));
        }
        for s in [
            SigAlg::RsaPkcs1Sha1,
            SigAlg::RsaPkcs1Sha256,
            SigAlg::RsaPkcs1Sha512,
        ] {
            v.push(case(
                format!("conformance/{s:?}_absent_params"),
                pki.response().sig_alg(s).sig_alg_params_absent(),
            ));
        }
    }
    v.push(case(
        "conformance/produced_before_certificate",
        pki.response()
            .this_update(NOW - 31 * DAY)
            .produced_at(NOW - 31 * DAY),
    ));
    v.push(case(
        "conformance/critical_sct_list",
        pki.response().single_extension(
            &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 5],
            true,
            vec![0x04, 0x02, 0x00, 0x00],
        ),
    ));
}

/// Every responseStatus but successful, and the unused value 4.
fn response_statuses(pki: &Pki, v: &mut Vec<Case>) {
    for s in [1u8, 2, 3, 4, 5, 6] {
        v.push(case(
            format!("response_status/{s}"),
            pki.response().response_status(s),
        ));
    }
}

/// Extensions the builder cannot write.
fn extensions(pki: &Pki, v: &mut Vec<Case>) {
    let unknown = |critical| extension(UNKNOWN_OID, critical, &[0x05, 0x00]);
    let ext = |name: &str, place, e: Vec<u8>| Case::new(name, with_extension(pki, place, &e));
    v.push(ext(
        "extension/unknown_critical_response_extension",
        ExtensionPlace::Response,
        unknown(true),
    ));
    v.push(ext(
        "extension/unknown_critical_single_extension",
        ExtensionPlace::Single,
        unknown(true),
    ));
    v.push(ext(
        "extension/unknown_noncritical_response_extension",
        ExtensionPlace::Response,
        unknown(false),
    ));
    v.push(ext(
        "extension/unknown_noncritical_single_extension",
        ExtensionPlace::Single,
        unknown(false),
    ));
    v.push(ext(
        "extension/critical_nonce",
        ExtensionPlace::Response,
        extension(NONCE_OID, true, &tlv(0x04, &[7; 16])),
    ));
}

/// The re-signing path of the DER surgery, with nothing changed: both sides must agree, and
/// `resigned_responses_are_good` checks that we say good.
fn resigned(pki: &Pki, v: &mut Vec<Case>) {
    for (name, der) in resigned_unchanged(pki) {
        v.push(Case::new(name, der));
    }
}

/// The builder's default issuer-signed and delegated responses, re-signed here.
fn resigned_unchanged(pki: &Pki) -> [(&'static str, Vec<u8>); 2] {
    let delegated = pki.response().signer(Signer::Delegated(&pki.signer));
    [
        (
            "resign/issuer_unchanged",
            signed_response(&tbs_fields(&pki.response()), &pki.intermediate, &[]),
        ),
        (
            "resign/delegated_unchanged",
            signed_response(&tbs_fields(&delegated), &pki.signer, &[&pki.signer]),
        ),
    ]
}

/// Extra PEM files for the `responder/*` cases.
fn write_extra_files(pki: &Pki, dir: &Path) {
    let files = [
        (
            "signer_chain.pem",
            pki.signer.pem() + &pki.intermediate.pem(),
        ),
        ("root_and_signer.pem", pki.root.pem() + &pki.signer.pem()),
        (
            "root_and_other_ca.pem",
            pki.root.pem() + &pki.other_ca.pem(),
        ),
        (
            "root_and_issuer.pem",
            pki.root.pem() + &pki.intermediate.pem(),
        ),
        ("rogue_signer.pem", pki.rogue_signer.pem()),
    ];
    for (name, pem) in files {
        std::fs::write(dir.join(name), pem).expect("PEM written");
    }
    for (from, to) in [
        ("root.pem", "root_trusted_for_ocsp.pem"),
        ("other_ca.pem", "other_ca_trusted_for_ocsp.pem"),
    ] {
        let out = Command::new("openssl")
            .args(["x509", "-in", from, "-addtrust", "OCSPSigning", "-out", to])
            .current_dir(dir)
            .output()
            .expect("openssl x509 runs");
        assert!(out.status.success(), "openssl x509 -addtrust: {out:?}");
    }
}

/// The environment that freezes a child's clock at `at`: libfaketime preloaded into the child
/// itself. (The `faketime` wrapper forks and keeps a named semaphore per process ID; a stale one
/// left by a killed run makes a later wrapper with the same ID fail.)
fn frozen_clock(at: u64) -> [(&'static str, String); 3] {
    [
        ("TZ", "UTC".to_owned()),
        (
            "LD_PRELOAD",
            "/usr/$LIB/faketime/libfaketime.so.1".to_owned(),
        ),
        ("FAKETIME", faketime_spec(at)),
    ]
}

/// Both peers present, and libfaketime really freezes the clock at the instant we mean.
fn peers_available() -> bool {
    if !peer_available("openssl", &["version"]) || !peer_available("faketime", &["--version"]) {
        return false;
    }
    let out = Command::new("date")
        .arg("+%s")
        .envs(frozen_clock(NOW))
        .output()
        .expect("faketime date runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        NOW.to_string(),
        "faketime's clock"
    );
    true
}

fn differential(alg: KeyAlg) {
    if !peers_available() {
        return;
    }
    let pki = Pki::shared(alg);
    let dir = tempfile::tempdir().expect("tempdir");
    pki.write_pem_files(dir.path()).expect("PEM files written");
    write_extra_files(pki, dir.path());

    let cases = cases(pki);
    let mut names = BTreeSet::new();
    for c in &cases {
        assert!(names.insert(c.name.as_str()), "duplicate case {}", c.name);
    }
    let trace = std::env::var_os("MAILSTAPLE_DIFF_TRACE").is_some();
    let mut problems = String::new();
    let mut differed = BTreeSet::new();
    for c in &cases {
        let ours = our_verdict(pki, c);
        let out = run_openssl(dir.path(), c);
        let theirs = match openssl_verdict(&out) {
            Ok(v) => v,
            Err(e) => {
                let _ = writeln!(
                    problems,
                    "{}: unrecognised OpenSSL output ({e}): {out:#?}",
                    c.name
                );
                continue;
            }
        };
        if trace {
            eprintln!(
                "{} {}: OpenSSL {theirs:?}, ours {:?} {:?}\n  stdout: {:?}\n  stderr: {:?}",
                alg.name(),
                c.name,
                ours.verdict,
                ours.error,
                out.stdout,
                out.stderr
            );
        }
        let listed = DIFFERENCES.iter().find(|d| d.case == c.name);
        if theirs != ours.verdict {
            differed.insert(c.name.as_str());
        }
        let ok = match listed {
            None => theirs == ours.verdict,
            Some(d) => {
                d.openssl == theirs
                    && d.ours == ours.verdict
                    && d.our_error == ours.error.as_deref()
            }
        };
        if !ok {
            let _ = writeln!(
                problems,
                "{}: OpenSSL {theirs:?}, ours {:?} {:?}{}\n  stdout: {:?}\n  stderr: {:?}",
                c.name,
                ours.verdict,
                ours.error,
                listed.map_or(String::new(), |d| format!(
                    " (listed as OpenSSL {:?}, ours {:?} {:?})",
                    d.openssl, d.ours, d.our_error
                )),
                out.stdout,
                out.stderr,
            );
        }
    }
    for d in DIFFERENCES {
        if !names.contains(d.case) {
            let _ = writeln!(problems, "listed difference {} names no case", d.case);
        } else if !differed.contains(d.case) {
            let _ = writeln!(problems, "listed difference {} no longer differs", d.case);
        }
    }
    eprintln!(
        "{}: {} cases, {} agree, {} deliberate differences",
        alg.name(),
        cases.len(),
        cases.len() - differed.len(),
        differed.len()
    );
    assert!(
        problems.is_empty(),
        "{} against openssl ocsp:\n{problems}",
        alg.name()
    );
}

macro_rules! per_alg {
    ($($name:ident => $alg:expr),* $(,)?) => {$(
        #[test]
        fn $name() {
            differential($alg);
        }
    )*};
}

per_alg! {
    differential_p256 => KeyAlg::EcdsaP256,
    differential_rsa2048 => KeyAlg::Rsa2048,
    differential_p384 => KeyAlg::EcdsaP384,
    differential_p521 => KeyAlg::EcdsaP521,
    differential_ed25519 => KeyAlg::Ed25519,
}

#[test]
fn difference_table_is_well_formed() {
    let mut seen = BTreeSet::new();
    for d in DIFFERENCES {
        assert!(seen.insert(d.case), "{} listed twice", d.case);
        assert_ne!(d.openssl, d.ours, "{}: not a difference", d.case);
        assert_eq!(
            d.our_error.is_some(),
            d.ours == Verdict::Invalid,
            "{}: error name iff Invalid",
            d.case
        );
        assert!(!d.why.trim().is_empty(), "{}: no reason", d.case);
    }
}

#[test]
fn resigned_responses_are_good() {
    for alg in KeyAlg::ALL {
        let pki = Pki::shared(alg);
        for (name, der) in resigned_unchanged(pki) {
            let case = Case::new(name, der);
            let ours = our_verdict(pki, &case);
            assert_eq!(
                ours.verdict,
                Verdict::Good,
                "{} {name}: {ours:?}",
                alg.name()
            );
        }
    }
}

#[test]
fn default_skew_is_the_one_given_to_openssl() {
    assert_eq!(Policy::default().skew_secs, SKEW);
}

#[test]
fn openssl_output_mapping() {
    let out = |code, stdout: &str, stderr: &str| Out {
        code: Some(code),
        stdout: stdout.into(),
        stderr: stderr.into(),
    };
    let ok = "Response verify OK\n";
    assert_eq!(
        openssl_verdict(&out(0, "leaf.pem: good\n\tThis Update: x\n", ok)),
        Ok(Verdict::Good)
    );
    assert_eq!(
        openssl_verdict(&out(0, "leaf.pem: unknown\n", ok)),
        Ok(Verdict::Unknown)
    );
    assert_eq!(
        openssl_verdict(&out(0, "leaf.pem: revoked\n\tReason: keyCompromise\n", ok)),
        Ok(Verdict::Revoked(Some(1)))
    );
    assert_eq!(
        openssl_verdict(&out(0, "leaf.pem: revoked\n", ok)),
        Ok(Verdict::Revoked(None))
    );
    assert_eq!(
        openssl_verdict(&out(
            0,
            "leaf.pem: WARNING: Status times invalid.\nE:status expired\ngood\n",
            ok
        )),
        Ok(Verdict::Invalid)
    );
    assert_eq!(
        openssl_verdict(&out(1, "leaf.pem: ERROR: No Status found.\n", ok)),
        Ok(Verdict::Invalid)
    );
    assert_eq!(
        openssl_verdict(&out(1, "", "Response Verify Failure\n")),
        Ok(Verdict::Invalid)
    );
    assert!(openssl_verdict(&out(0, "", "")).is_err());
    assert!(openssl_verdict(&out(0, "leaf.pem: maybe\n", ok)).is_err());
    assert!(openssl_verdict(&out(0, "leaf.pem: revoked\n\tReason: bored\n", ok)).is_err());
}
