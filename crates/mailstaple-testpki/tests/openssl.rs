//! Checks the test PKI and its OCSP responses against the system `openssl`, an implementation that
//! shares no code with this crate or with the project's decoder.
//!
//! OpenSSL checks the chain at `-attime NOW`, but compares thisUpdate/nextUpdate with the wall
//! clock; `-validity_period` gives that comparison ten years of slack so the outcome does not
//! depend on when the test runs.
//!
//! If `openssl` is missing the tests print "skipped: openssl not installed" and pass, unless
//! `MAILSTAPLE_REQUIRE_PEERS=1`, in which case they fail.

// The harness helpers below are not `#[test]` functions, so clippy's test allowances do not reach
// them; a failed expectation in them is a test failure, as in the tests themselves.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use mailstaple_testpki::{
    Defect, HashAlg, KeyAlg, NOW, Pki, ResponderIdKind, ResponseBuilder, SigAlg, Signer, Status,
};

/// Slack for OpenSSL's wall-clock check of thisUpdate/nextUpdate, in seconds (ten years).
const VALIDITY_SLACK: &str = "315360000";

fn openssl_available() -> bool {
    match Command::new("openssl").arg("version").output() {
        Ok(out) if out.status.success() => true,
        _ => {
            if std::env::var("MAILSTAPLE_REQUIRE_PEERS").as_deref() == Ok("1") {
                panic!("openssl is not installed and MAILSTAPLE_REQUIRE_PEERS=1");
            }
            eprintln!("skipped: openssl not installed");
            false
        }
    }
}

/// What one `openssl` run printed.
#[derive(Debug)]
struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Out {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A PKI written to a temporary directory, and the checks run against it.
struct Fixture {
    dir: tempfile::TempDir,
    pki: &'static Pki,
    alg: KeyAlg,
}

impl Fixture {
    fn new(alg: KeyAlg) -> Fixture {
        let pki = Pki::shared(alg);
        let dir = tempfile::tempdir().expect("tempdir");
        pki.write_pem_files(dir.path()).expect("PEM files written");
        Fixture { dir, pki, alg }
    }

    fn write(&self, name: &str, resp: &[u8]) -> String {
        let file = format!("{name}.der");
        std::fs::write(self.dir.path().join(&file), resp).expect("response written");
        file
    }

    /// `openssl ocsp -respin ... -issuer issuer.pem -cert leaf.pem -CAfile root.pem -no_nonce`,
    /// with `extra` inserted before `-cert` (digest options apply to the following `-cert`).
    fn ocsp(&self, name: &str, resp: &[u8], extra: &[&str], certs: &[&str]) -> Out {
        let file = self.write(name, resp);
        let now = NOW.to_string();
        let mut args = vec!["ocsp", "-respin", &file, "-issuer", "issuer.pem"];
        args.extend_from_slice(extra);
        for c in certs {
            args.extend_from_slice(&["-cert", c]);
        }
        args.extend_from_slice(&[
            "-CAfile",
            "root.pem",
            "-no_nonce",
            "-attime",
            &now,
            "-validity_period",
            VALIDITY_SLACK,
        ]);
        run(self.dir.path(), &args)
    }

    fn check(&self, name: &str, resp: &[u8]) -> Out {
        self.ocsp(name, resp, &[], &["leaf.pem"])
    }

    fn text(&self, name: &str, resp: &[u8]) -> Out {
        let file = self.write(name, resp);
        run(
            self.dir.path(),
            &["ocsp", "-respin", &file, "-resp_text", "-noverify"],
        )
    }

    fn expect_verified(&self, what: &str, b: &ResponseBuilder<'_>, status_line: &str) -> Out {
        let out = self.check(what, &b.build());
        let ctx = format!("{} {what}: {out:#?}", self.alg.name());
        assert!(out.ok, "openssl failed: {ctx}");
        assert!(out.stderr.contains("Response verify OK"), "{ctx}");
        assert!(
            out.stdout.contains(status_line),
            "expected {status_line:?}: {ctx}"
        );
        assert!(!out.stdout.contains("WARNING"), "{ctx}");
        out
    }

    fn expect_verify_failure(&self, what: &str, b: &ResponseBuilder<'_>) -> Out {
        let out = self.check(what, &b.build());
        let ctx = format!("{} {what}: {out:#?}", self.alg.name());
        assert!(!out.ok, "openssl accepted it: {ctx}");
        assert!(out.stderr.contains("Response Verify Failure"), "{ctx}");
        out
    }
}

fn check_alg(alg: KeyAlg) {
    if !openssl_available() {
        return;
    }
    let f = Fixture::new(alg);
    let pki = f.pki;
    let now = NOW.to_string();

    // The certificate chain.
    let out = run(
        f.dir.path(),
        &[
            "verify",
            "-attime",
            &now,
            "-CAfile",
            "root.pem",
            "-untrusted",
            "issuer.pem",
            "leaf.pem",
        ],
    );
    assert!(out.ok && out.stdout.contains("leaf.pem: OK"), "{out:#?}");
    let out = run(
        f.dir.path(),
        &[
            "verify",
            "-attime",
            &now,
            "-CAfile",
            "root.pem",
            "-untrusted",
            "issuer.pem",
            "chain.pem",
        ],
    );
    assert!(out.ok, "chain.pem starts with the leaf: {out:#?}");
    let out = run(
        f.dir.path(),
        &[
            "verify",
            "-attime",
            &now,
            "-CAfile",
            "other_ca.pem",
            "-untrusted",
            "issuer.pem",
            "leaf.pem",
        ],
    );
    assert!(!out.ok, "the leaf does not chain to other_ca: {out:#?}");
    let out = run(
        f.dir.path(),
        &["x509", "-in", "leaf.pem", "-noout", "-text"],
    );
    assert!(
        out.stdout.contains("OCSP - URI:http://127.0.0.1:8888/"),
        "{out:#?}"
    );
    assert!(out.stdout.contains("DNS:mail.example.test"), "{out:#?}");
    assert!(
        out.stdout.contains("TLS Web Server Authentication"),
        "{out:#?}"
    );
    let out = run(
        f.dir.path(),
        &["x509", "-in", "signer.pem", "-noout", "-text"],
    );
    assert!(out.stdout.contains("OCSP Signing"), "{out:#?}");
    assert!(out.stdout.contains("OCSP No Check"), "{out:#?}");
    let out = run(f.dir.path(), &["pkey", "-in", "leaf.key", "-noout"]);
    assert!(out.ok, "leaf.key is a readable private key: {out:#?}");

    // Good responses, issuer-signed and delegated, by key hash and by name.
    f.expect_verified("issuer", &pki.response(), "leaf.pem: good");
    f.expect_verified(
        "issuer_by_name",
        &pki.response().responder_id(ResponderIdKind::ByName),
        "leaf.pem: good",
    );
    let delegated = || pki.response().signer(Signer::Delegated(&pki.signer));
    f.expect_verified("delegated", &delegated(), "leaf.pem: good");
    f.expect_verified(
        "delegated_by_name",
        &delegated().responder_id(ResponderIdKind::ByName),
        "leaf.pem: good",
    );
    f.expect_verified(
        "signer_short",
        &pki.response().signer(Signer::Delegated(&pki.signer_short)),
        "leaf.pem: good",
    );

    // Statuses.
    let out = f.expect_verified(
        "revoked",
        &pki.response().status(Status::Revoked {
            time: NOW - 86_400,
            reason: Some(1),
        }),
        "leaf.pem: revoked",
    );
    assert!(out.stdout.contains("Reason: keyCompromise"), "{out:#?}");
    assert!(
        out.stdout
            .contains("Revocation Time: May 31 00:00:00 2026 GMT"),
        "{out:#?}"
    );
    let out = f.expect_verified(
        "revoked_no_reason",
        &delegated().status(Status::Revoked {
            time: NOW - 86_400,
            reason: None,
        }),
        "leaf.pem: revoked",
    );
    assert!(!out.stdout.contains("Reason:"), "{out:#?}");
    f.expect_verified(
        "unknown",
        &pki.response().status(Status::Unknown),
        "leaf.pem: unknown",
    );
    let out = f.expect_verified("times", &pki.response(), "leaf.pem: good");
    assert!(
        out.stdout.contains("This Update: May 31 23:00:00 2026 GMT"),
        "{out:#?}"
    );
    assert!(
        out.stdout.contains("Next Update: Jun  8 00:00:00 2026 GMT"),
        "{out:#?}"
    );

    // Several SingleResponses, each found by its CertID.
    let multi = pki
        .response()
        .extra_single(
            vec![0x10, 0x02],
            Status::Revoked {
                time: NOW - 86_400,
                reason: Some(4),
            },
        )
        .build();
    let out = f.ocsp("multi", &multi, &[], &["leaf.pem", "other_leaf.pem"]);
    assert!(out.ok && out.stdout.contains("leaf.pem: good"), "{out:#?}");
    assert!(out.stdout.contains("other_leaf.pem: revoked"), "{out:#?}");
    assert!(out.stdout.contains("Reason: superseded"), "{out:#?}");

    // A SHA-256 CertID matches a SHA-256 request CertID.
    let sha256 = pki.response().hash(HashAlg::Sha256).build();
    let out = f.ocsp("sha256", &sha256, &["-sha256"], &["leaf.pem"]);
    assert!(out.ok && out.stdout.contains("leaf.pem: good"), "{out:#?}");
    let out = f.check("sha256_vs_sha1", &sha256);
    assert!(out.stdout.contains("No Status found"), "{out:#?}");

    // Every signature algorithm the key can make.
    for sig in SigAlg::ALL.into_iter().filter(|s| s.usable_with(alg)) {
        f.expect_verified(
            &format!("sig_{sig:?}"),
            &pki.response().sig_alg(sig),
            "leaf.pem: good",
        );
        f.expect_verified(
            &format!("sig_delegated_{sig:?}"),
            &delegated().sig_alg(sig),
            "leaf.pem: good",
        );
    }

    // Defects OpenSSL tolerates: still verified, still good.
    f.expect_verified(
        "explicit_version",
        &delegated().defect(Defect::ExplicitDefaultVersion),
        "leaf.pem: good",
    );
    // OpenSSL 3.0's OCSP_check_validity orders nextUpdate and thisUpdate with ASN1_STRING_cmp,
    // which compares lengths first, so the longer fractional thisUpdate makes it print
    // "nextupdate before thisupdate" before the status; the signature and the status are fine.
    let out = f.check(
        "fraction",
        &pki.response().defect(Defect::FractionalSeconds).build(),
    );
    assert!(
        out.ok && out.stderr.contains("Response verify OK"),
        "{out:#?}"
    );
    assert!(out.stdout.starts_with("leaf.pem: "), "{out:#?}");
    assert!(out.stdout.lines().any(|l| l == "good"), "{out:#?}");
    assert!(
        out.stdout
            .contains("This Update: May 31 23:00:00.5 2026 GMT"),
        "{out:#?}"
    );

    // Defects that must break verification or matching.
    f.expect_verify_failure(
        "bad_signature",
        &pki.response().defect(Defect::BadSignature),
    );
    f.expect_verify_failure(
        "bad_signature_delegated",
        &delegated().defect(Defect::BadSignature),
    );
    f.expect_verify_failure("other_key", &delegated().defect(Defect::SignerOtherKey));
    f.expect_verify_failure(
        "other_key_issuer",
        &pki.response().defect(Defect::SignerOtherKey),
    );
    f.expect_verify_failure(
        "wrong_responder",
        &delegated().defect(Defect::WrongResponderId),
    );
    f.expect_verify_failure("no_embedded", &delegated().defect(Defect::NoEmbeddedSigner));
    f.expect_verify_failure(
        "no_eku",
        &pki.response().signer(Signer::Delegated(&pki.signer_no_eku)),
    );
    f.expect_verify_failure(
        "expired",
        &pki.response()
            .signer(Signer::Delegated(&pki.signer_expired)),
    );
    f.expect_verify_failure(
        "not_yet_valid",
        &pki.response()
            .signer(Signer::Delegated(&pki.signer_not_yet_valid)),
    );
    f.expect_verify_failure(
        "rogue",
        &pki.response().signer(Signer::Delegated(&pki.rogue_signer)),
    );
    for d in [
        Defect::WrongIssuerNameHash,
        Defect::WrongIssuerKeyHash,
        Defect::WrongSerial,
    ] {
        let out = f.check(&format!("{d:?}"), &pki.response().defect(d).build());
        assert!(out.stderr.contains("Response verify OK"), "{d:?}: {out:#?}");
        assert!(
            out.stdout.contains("leaf.pem: ERROR: No Status found."),
            "{d:?}: {out:#?}"
        );
    }

    // -resp_text parses every defect but the two that break the DER framing.
    for d in Defect::ALL {
        let out = f.text(&format!("text_{d:?}"), &delegated().defect(d).build());
        match d {
            Defect::MalformedDer => assert!(!out.ok, "{d:?}: {out:#?}"),
            Defect::TrailingData => {}
            _ => {
                assert!(out.ok, "{d:?}: {out:#?}");
                assert!(
                    out.stdout.contains("OCSP Response Data:"),
                    "{d:?}: {out:#?}"
                );
                assert!(
                    out.stdout.contains("Response Status: successful (0x0)"),
                    "{d:?}: {out:#?}"
                );
            }
        }
        if d == Defect::FractionalSeconds {
            assert!(
                out.stdout
                    .contains("Produced At: May 31 23:00:00.5 2026 GMT"),
                "{out:#?}"
            );
        }
        if d == Defect::ExplicitDefaultVersion {
            assert!(out.stdout.contains("Version: 1 (0x0)"), "{out:#?}");
        }
    }
    let out = f.text("nonce", &pki.response().nonce(vec![0xab; 16]).build());
    assert!(out.stdout.contains("OCSP Nonce:"), "{out:#?}");
    assert!(
        out.stdout.contains("0410ABABABABABABABABABABABABABABABAB"),
        "{out:#?}"
    );
    // OpenSSL reports a non-successful responseStatus and stops; there is nothing to print.
    let out = f.text("try_later", &pki.response().response_status(3).build());
    assert!(
        !out.ok && out.stdout.contains("Responder Error: trylater (3)"),
        "{out:#?}"
    );
    let out = f.check("unauthorized", &pki.response().response_status(6).build());
    assert!(
        !out.ok && out.stdout.contains("Responder Error: unauthorized (6)"),
        "{out:#?}"
    );
}

macro_rules! per_alg {
    ($($name:ident => $alg:expr),* $(,)?) => {$(
        #[test]
        fn $name() {
            check_alg($alg);
        }
    )*};
}

per_alg! {
    openssl_rsa2048 => KeyAlg::Rsa2048,
    openssl_p256 => KeyAlg::EcdsaP256,
    openssl_p384 => KeyAlg::EcdsaP384,
    openssl_p521 => KeyAlg::EcdsaP521,
    openssl_ed25519 => KeyAlg::Ed25519,
}

#[test]
fn openssl_must_staple_leaf() {
    if !openssl_available() {
        return;
    }
    let mut opts = mailstaple_testpki::PkiOptions::new(KeyAlg::EcdsaP256);
    opts.must_staple = true;
    let pki = Pki::with_options(opts);
    let dir = tempfile::tempdir().expect("tempdir");
    pki.write_pem_files(dir.path()).expect("PEM files written");
    let out = run(dir.path(), &["x509", "-in", "leaf.pem", "-noout", "-text"]);
    assert!(out.stdout.contains("TLS Feature:"), "{out:#?}");
    assert!(out.stdout.contains("status_request"), "{out:#?}");
}
