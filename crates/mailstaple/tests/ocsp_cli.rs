//! The `mailstaple ocsp` command-line contract: exit codes, JSON fields, PEM and DER input, and
//! requests that `openssl ocsp` reads back.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mailstaple_testpki::{DAY, Defect, HOUR, KeyAlg, NOW, Pki, Signer, Status};
use serde_json::Value;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Pki::shared(KeyAlg::EcdsaP256)
            .write_pem_files(dir.path())
            .unwrap();
        Env { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_mailstaple"))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn pem(label: &str, der: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[test]
fn inspect_json_fields() {
    let env = Env::new();
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let der = pki
        .response()
        .signer(Signer::Delegated(&pki.signer))
        .status(Status::Revoked {
            time: NOW - DAY,
            reason: Some(1),
        })
        .extra_single(vec![0x10, 0x02], Status::Good)
        .build();
    let file = env.write("resp.der", &der);
    let out = env.run(&["ocsp", "inspect", "--json", file.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["response_status"], "successful");
    assert_eq!(v["response_type"], "1.3.6.1.5.5.7.48.1.1");
    assert!(v["responder_id"]["by_key_hash"].as_str().unwrap().len() == 40);
    assert_eq!(v["produced_at"], "2026-05-31T23:00:00Z");
    assert_eq!(v["signature_algorithm"], "1.2.840.10045.4.3.2");
    assert_eq!(v["certificates"], 1);
    let r = &v["responses"][0];
    assert_eq!(r["hash_algorithm"], "1.3.14.3.2.26");
    assert_eq!(r["serial"], "1001");
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["revocation_time"], "2026-05-31T00:00:00Z");
    assert_eq!(r["revocation_reason"], "keyCompromise");
    assert_eq!(r["this_update"], "2026-05-31T23:00:00Z");
    assert_eq!(r["next_update"], "2026-06-08T00:00:00Z");
    assert_eq!(r["issuer_name_hash"].as_str().unwrap().len(), 40);
    let r2 = &v["responses"][1];
    assert_eq!(r2["status"], "good");
    assert_eq!(r2["revocation_time"], Value::Null);
    assert_eq!(r2["revocation_reason"], Value::Null);
}

#[test]
fn inspect_pem_with_leading_text_and_by_name() {
    let env = Env::new();
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let der = pki
        .response()
        .responder_id(mailstaple_testpki::ResponderIdKind::ByName)
        .next_update(None)
        .build();
    let text = format!(
        "OCSP Response Data:\n  blah blah\n{}",
        pem("OCSP RESPONSE", &der)
    );
    let file = env.write("resp.pem", text.as_bytes());
    let out = env.run(&["ocsp", "inspect", "--json", file.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v = json(&out);
    assert!(
        v["responder_id"]["by_name"]
            .as_str()
            .unwrap()
            .contains("CN=")
    );
    assert_eq!(v["responses"][0]["next_update"], Value::Null);
    let text = env.run(&["ocsp", "inspect", file.to_str().unwrap()]);
    assert_eq!(code(&text), 0);
    assert!(String::from_utf8_lossy(&text.stdout).contains("Status: good"));
}

#[test]
fn inspect_exit_codes() {
    let env = Env::new();
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let try_later = env.write("later.der", &pki.response().response_status(3).build());
    let out = env.run(&["ocsp", "inspect", "--json", try_later.to_str().unwrap()]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        json(&out),
        serde_json::json!({ "response_status": "tryLater" })
    );

    for (name, bytes) in [
        (
            "malformed",
            pki.response().defect(Defect::MalformedDer).build(),
        ),
        (
            "trailing",
            pki.response().defect(Defect::TrailingData).build(),
        ),
        ("no-bytes", vec![0x30, 0x03, 0x0a, 0x01, 0x00]),
        ("status-4", vec![0x30, 0x03, 0x0a, 0x01, 0x04]),
        (
            "unknown-type",
            vec![
                0x30, 0x0c, 0x0a, 0x01, 0x00, 0xa0, 0x07, 0x30, 0x05, 0x06, 0x01, 0x2a, 0x04, 0x00,
            ],
        ),
    ] {
        let f = env.write(name, &bytes);
        let out = env.run(&["ocsp", "inspect", f.to_str().unwrap()]);
        assert_eq!(code(&out), 1, "{name}");
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "{name}: one line: {}",
            stderr(&out)
        );
    }
    assert_eq!(code(&env.run(&["ocsp", "inspect", "/nonexistent/file"])), 2);
    assert_eq!(code(&env.run(&["ocsp", "inspect"])), 2);
    assert_eq!(code(&env.run(&["ocsp", "inspect", "--bogus", "x"])), 2);
}

#[test]
fn verify_exit_codes() {
    let env = Env::new();
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let now = NOW.to_string();
    let cases: Vec<(&str, Vec<u8>, i32)> = vec![
        ("good", pki.response().build(), 0),
        (
            "revoked",
            pki.response()
                .status(Status::Revoked {
                    time: NOW - DAY,
                    reason: Some(4),
                })
                .build(),
            3,
        ),
        ("unknown", pki.response().status(Status::Unknown).build(), 4),
        (
            "bad-signature",
            pki.response().defect(Defect::BadSignature).build(),
            1,
        ),
        (
            "expired",
            pki.response()
                .this_update(NOW - 9 * DAY)
                .next_update(Some(NOW - DAY))
                .build(),
            1,
        ),
        ("foreign", pki.response().cert(&pki.other_leaf).build(), 1),
        ("try-later", pki.response().response_status(3).build(), 1),
    ];
    for (name, der, expect) in cases {
        let f = env.write(&format!("{name}.der"), &der);
        let out = env.run(&[
            "ocsp",
            "verify",
            "--response",
            f.to_str().unwrap(),
            "--issuer",
            "issuer.pem",
            "--cert",
            "leaf.pem",
            "--at",
            &now,
        ]);
        assert_eq!(code(&out), expect, "{name}: {}", stderr(&out));
        if expect == 1 {
            assert_eq!(stderr(&out).lines().count(), 1, "{name}");
        }
    }
    // The same good proof judged later, in RFC 3339, is expired.
    let good = env.path("good.der");
    let out = env.run(&[
        "ocsp",
        "verify",
        "--response",
        good.to_str().unwrap(),
        "--issuer",
        "issuer.pem",
        "--cert",
        "leaf.pem",
        "--at",
        "2026-07-01T00:00:00Z",
        "--json",
    ]);
    assert_eq!(code(&out), 1);
    let v = json(&out);
    assert_eq!(v["valid"], false);
    assert!(v["error"].as_str().unwrap().contains("expired"));
    // Skew: thisUpdate one hour in the future passes with a two-hour skew only.
    let early = env.write("early.der", &pki.response().this_update(NOW + HOUR).build());
    let args = |skew: &str| {
        env.run(&[
            "ocsp",
            "verify",
            "--response",
            early.to_str().unwrap(),
            "--issuer",
            "issuer.pem",
            "--cert",
            "leaf.pem",
            "--at",
            &now,
            "--skew",
            skew,
        ])
    };
    assert_eq!(code(&args("300")), 1);
    assert_eq!(code(&args("7200")), 0);
    // Usage errors and unreadable files.
    assert_eq!(
        code(&env.run(&["ocsp", "verify", "--response", "good.der"])),
        2
    );
    assert_eq!(
        code(&env.run(&[
            "ocsp",
            "verify",
            "--response",
            "missing.der",
            "--issuer",
            "issuer.pem"
        ])),
        2
    );
    assert_eq!(
        code(&env.run(&[
            "ocsp",
            "verify",
            "--response",
            "good.der",
            "--issuer",
            "issuer.pem",
            "--at",
            "soon"
        ])),
        2
    );
}

#[test]
fn verify_json_and_issuer_mode() {
    let env = Env::new();
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let der = pki
        .response()
        .signer(Signer::Delegated(&pki.signer_short))
        .extra_single(
            vec![0x10, 0x02],
            Status::Revoked {
                time: NOW - DAY,
                reason: None,
            },
        )
        .build();
    let f = env.write("two.der", &der);
    let now = NOW.to_string();
    let out = env.run(&[
        "ocsp",
        "verify",
        "--json",
        "--response",
        f.to_str().unwrap(),
        "--issuer",
        "issuer.pem",
        "--cert",
        "leaf.pem",
        "--at",
        &now,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["status"], "good");
    assert_eq!(v["valid"], true);
    assert_eq!(v["next_update"], "2026-06-08T00:00:00Z");
    assert_eq!(
        v["effective_expiry"], "2026-06-02T00:00:00Z",
        "the signer expires first"
    );
    // Without --cert, every response naming the issuer counts: one is revoked.
    let out = env.run(&[
        "ocsp",
        "verify",
        "--json",
        "--response",
        f.to_str().unwrap(),
        "--issuer",
        "issuer.pem",
        "--at",
        &now,
    ]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(json(&out)["responses"].as_array().unwrap().len(), 2);
    // A proof naming no response for this issuer is invalid.
    let out = env.run(&[
        "ocsp",
        "verify",
        "--response",
        f.to_str().unwrap(),
        "--issuer",
        "other_ca.pem",
        "--at",
        &now,
    ]);
    assert_eq!(code(&out), 1);
}

fn openssl() -> Option<()> {
    if Command::new("openssl").arg("version").output().is_ok() {
        return Some(());
    }
    assert!(
        std::env::var("MAILSTAPLE_REQUIRE_PEERS").is_err(),
        "openssl is required but not installed"
    );
    eprintln!("skipped: openssl not installed");
    None
}

fn req_text(path: &Path) -> String {
    let out = Command::new("openssl")
        .args([
            "ocsp",
            "-reqin",
            path.to_str().unwrap(),
            "-req_text",
            "-noverify",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn requests_read_back_by_openssl() {
    let Some(()) = openssl() else { return };
    let env = Env::new();
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let leaf = mailstaple_ocsp::CertView::parse(&pki.leaf.der).unwrap();
    let issuer = mailstaple_ocsp::CertView::parse(&pki.intermediate.der).unwrap();
    for (flags, hash, name) in [
        (vec![], mailstaple_ocsp::HashAlgorithm::Sha1, "sha1"),
        (
            vec!["--sha256", "--nonce"],
            mailstaple_ocsp::HashAlgorithm::Sha256,
            "sha256",
        ),
    ] {
        let out_file = env.path(&format!("req-{name}.der"));
        let mut args = vec![
            "ocsp",
            "request",
            "--cert",
            "chain.pem",
            "--issuer",
            "issuer.pem",
            "--out",
        ];
        args.push(out_file.to_str().unwrap());
        args.extend(flags.iter().copied());
        let out = env.run(&args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let text = req_text(&out_file).to_uppercase();
        let id = mailstaple_ocsp::CertId::new(&leaf, &issuer, hash);
        assert!(
            text.contains(&format!("HASH ALGORITHM: {}", name.to_uppercase())),
            "{text}"
        );
        assert!(
            text.contains(&mailstaple_ocsp::hex(&id.issuer_name_hash).to_uppercase()),
            "{text}"
        );
        assert!(
            text.contains(&mailstaple_ocsp::hex(&id.issuer_key_hash).to_uppercase()),
            "{text}"
        );
        assert!(text.contains("SERIAL NUMBER: 1001"), "{text}");
        assert_eq!(text.contains("OCSP NONCE"), name == "sha256", "{text}");
    }
    // A certificate that the issuer did not issue is a usage error.
    let out = env.run(&[
        "ocsp",
        "request",
        "--cert",
        "leaf.pem",
        "--issuer",
        "other_ca.pem",
    ]);
    assert_eq!(code(&out), 2);
}

/// Issue 13: the text names algorithms, hashes, extensions and reasons, and shows each embedded
/// certificate; JSON keeps the dotted OIDs and adds the names beside them.
#[test]
fn inspect_names_what_it_shows() {
    let env = Env::new();
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let der = pki
        .response()
        .signer(Signer::Delegated(&pki.signer))
        .status(Status::Revoked {
            time: NOW - DAY,
            reason: Some(1),
        })
        .nonce(vec![0xab; 16])
        .single_extension(&[1, 3, 6, 1, 4, 1, 11129, 2, 4, 5], true, vec![0x04, 0x00])
        .build();
    let file = env.write("resp.der", &der);
    let out = env.run(&["ocsp", "inspect", file.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "Response type: Basic OCSP Response (1.3.6.1.5.5.7.48.1.1)",
        "Signature algorithm: ecdsa-with-SHA256 (1.2.840.10045.4.3.2)",
        "Hash algorithm: sha1 (1.3.14.3.2.26)",
        "OCSP Nonce (1.3.6.1.5.5.7.48.1.2): abababab",
        "CT Certificate SCTs (1.3.6.1.4.1.11129.2.4.5), critical: 2 bytes 0400",
        "reason keyCompromise (1)",
        "Embedded certificates: 1",
        "Certificate 1:",
        "Subject: CN=mailstaple OCSP signer,O=mailstaple test PKI",
        "Issuer: CN=mailstaple test intermediate (p256),O=mailstaple test PKI",
        "Serial: 2001",
        "Key: EC prime256v1 (1.2.840.10045.3.1.7)",
        "Extended key usage: OCSP Signing (1.3.6.1.5.5.7.3.9)",
        "Validity: 2026-05-02T00:00:00Z until 2027-06-01T00:00:00Z",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let json_out = env.run(&["ocsp", "inspect", "--json", file.to_str().unwrap()]);
    let v = json(&json_out);
    assert_eq!(v["signature_algorithm"], "1.2.840.10045.4.3.2");
    assert_eq!(v["signature_algorithm_name"], "ecdsa-with-SHA256");
    assert_eq!(v["response_type_name"], "Basic OCSP Response");
    assert_eq!(v["certificates"], 1);
    let cert = &v["certificate_details"][0];
    assert_eq!(cert["serial"], "2001");
    assert_eq!(cert["extended_key_usage"][0], "1.3.6.1.5.5.7.3.9");
    assert_eq!(cert["extended_key_usage_names"][0], "OCSP Signing");
    assert_eq!(cert["key"], "EC prime256v1 (1.2.840.10045.3.1.7)");
    let r = &v["responses"][0];
    assert_eq!(r["hash_algorithm"], "1.3.14.3.2.26");
    assert_eq!(r["hash_algorithm_name"], "sha1");
    assert_eq!(r["revocation_reason"], "keyCompromise");
    assert_eq!(r["revocation_reason_code"], 1);
    assert_eq!(r["extensions"][0]["critical"], true);
    assert_eq!(r["extensions"][0]["name"], "CT Certificate SCTs");
    assert_eq!(v["extensions"][0]["oid"], "1.3.6.1.5.5.7.48.1.2");

    // RSA: the key size and the RSA names.
    let rsa = Pki::shared(KeyAlg::Rsa2048);
    let der = rsa
        .response()
        .signer(Signer::Delegated(&rsa.signer))
        .sig_alg(mailstaple_testpki::SigAlg::RsaPkcs1Sha1)
        .build();
    let file = env.write("rsa.der", &der);
    let text = env.run(&["ocsp", "inspect", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Signature algorithm: sha1WithRSAEncryption (1.2.840.113549.1.1.5)"),
        "{text}"
    );
    assert!(text.contains("Key: RSA 2048 bits"), "{text}");
}

/// Issue 13: a responder name or embedded certificate that does not decode is said to be
/// malformed, not shown as bare hex.
#[test]
fn inspect_says_what_does_not_decode() {
    let env = Env::new();
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let mut der = pki
        .response()
        .responder_id(mailstaple_testpki::ResponderIdKind::ByName)
        .build();
    // The responder's Name starts `30 len 31`: turn its first RDN's SET into an INTEGER.
    let subject = pki.intermediate.subject_der();
    let at = der
        .windows(subject.len())
        .position(|w| w == subject)
        .unwrap();
    let header = if subject[1] & 0x80 == 0 {
        2
    } else {
        2 + usize::from(subject[1] & 0x7f)
    };
    assert_eq!(der[at + header], 0x31);
    der[at + header] = 0x02;
    let file = env.write("bad-name.der", &der);
    let out = env.run(&["ocsp", "inspect", file.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Responder: byName: malformed Name: "),
        "{text}"
    );
    let v = json(&env.run(&["ocsp", "inspect", "--json", file.to_str().unwrap()]));
    assert!(
        v["responder_id"]["by_name_error"]
            .as_str()
            .unwrap()
            .starts_with("malformed Name: "),
        "{v}"
    );

    // An embedded "certificate" that is not one.
    let der = pki
        .response()
        .signer(Signer::Delegated(&pki.signer))
        .build();
    let signer = &pki.signer.der;
    let at = der
        .windows(signer.len())
        .position(|w| w == signer.as_slice())
        .unwrap();
    let mut bad = der.clone();
    // Its tbsCertificate becomes an OCTET STRING of the same length.
    let tbs_at = at
        + if signer[1] & 0x80 == 0 {
            2
        } else {
            2 + usize::from(signer[1] & 0x7f)
        };
    assert_eq!(bad[tbs_at], 0x30);
    bad[tbs_at] = 0x04;
    let file = env.write("bad-cert.der", &bad);
    let out = env.run(&["ocsp", "inspect", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Certificate 1: malformed certificate: "),
        "{text}"
    );
    let v = json(&env.run(&["ocsp", "inspect", "--json", file.to_str().unwrap()]));
    assert!(
        v["certificate_details"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("malformed certificate: "),
        "{v}"
    );
}

/// Issue 13: `--max-age` bounds every response and admits one without nextUpdate; without it
/// the refusal names the setting. `--no-sha1` refuses SHA-1 on either signature.
#[test]
fn verify_max_age_and_no_sha1() {
    let env = Env::new();
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let at = NOW.to_string();
    let verify = |file: &Path, extra: &[&str]| {
        let mut args = vec![
            "ocsp",
            "verify",
            "--response",
            file.to_str().unwrap(),
            "--issuer",
            "issuer.pem",
            "--cert",
            "leaf.pem",
            "--at",
            &at,
        ];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    let no_next = env.write("no-next.der", &pki.response().next_update(None).build());
    let out = verify(&no_next, &[]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("--max-age"), "{}", stderr(&out));
    let out = verify(&no_next, &["--max-age", "86400", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["effective_expiry"], "2026-06-01T23:00:00Z");

    // Old, with a later nextUpdate: good without a maximum age, too old with a week.
    let old = env.write(
        "old.der",
        &pki.response()
            .this_update(NOW - 8 * DAY)
            .produced_at(NOW - 8 * DAY)
            .next_update(Some(NOW + DAY))
            .build(),
    );
    assert_eq!(code(&verify(&old, &[])), 0);
    let out = verify(&old, &["--max-age", "604800"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("maximum age of 604800s"),
        "{}",
        stderr(&out)
    );

    // SHA-1 on the responder certificate, then refused.
    let rsa = Pki::shared(KeyAlg::Rsa2048);
    let rsa_dir = env.path("rsa");
    rsa.write_pem_files(&rsa_dir).unwrap();
    let signer = rsa.signer.resigned(
        &rsa.intermediate,
        mailstaple_testpki::SigAlg::RsaPkcs1Sha1,
        true,
    );
    let file = env.write(
        "sha1-signer.der",
        &rsa.response().signer(Signer::Delegated(&signer)).build(),
    );
    let run = |extra: &[&str]| {
        let mut args = vec![
            "ocsp",
            "verify",
            "--response",
            file.to_str().unwrap(),
            "--issuer",
            "rsa/issuer.pem",
            "--cert",
            "rsa/leaf.pem",
            "--at",
            &at,
        ];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    assert_eq!(code(&run(&[])), 0, "{}", stderr(&run(&[])));
    let out = run(&["--no-sha1"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("the responder certificate is signed with sha1WithRSAEncryption"),
        "{}",
        stderr(&out)
    );
}

/// Issue 13: a reader that goes away ends every command quietly (no panic, no backtrace).
#[test]
fn closed_standard_output_ends_quietly() {
    let env = Env::new();
    let pki = Pki::shared(KeyAlg::EcdsaP256);
    let file = env.write(
        "resp.der",
        &pki.response()
            .signer(Signer::Delegated(&pki.signer))
            .build(),
    );
    for args in [
        vec!["ocsp", "inspect", file.to_str().unwrap()],
        vec!["ocsp", "inspect", "--json", file.to_str().unwrap()],
        vec![
            "ocsp",
            "request",
            "--cert",
            "leaf.pem",
            "--issuer",
            "issuer.pem",
        ],
        vec!["--help"],
    ] {
        // A pipe whose reading end is closed before the command starts: every write fails
        // with EPIPE, whatever the timing.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_mailstaple"))
            .args(&args)
            .current_dir(env.dir.path())
            .stdout(writer)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        if args[0] != "--help" {
            assert_eq!(code(&out), 0, "{args:?}: {err}");
        }
    }
}
