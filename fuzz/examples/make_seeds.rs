//! Writes, or checks, the committed seed corpora of the OCSP fuzz targets.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds` regenerates them from the
//! test PKI: it replaces every `seed-*` file of `ocsp_parse` and `ocsp_verify` (the hand-written
//! `hostlist` seeds are left alone) and writes the certificate pair the `ocsp_verify` target hands
//! to its harness, `fuzz/fixtures/ocsp_verify/{cert,issuer}.der`, from the same PKI as that
//! target's seeds, so the seeds reach the signature and freshness checks instead of stopping at
//! the CertID match.
//! Keys are generated afresh and ECDSA signatures are randomised, so each run changes the bytes:
//! regenerate only when the seeds should change, and commit the result.
//!
//! With `--check` it writes nothing: it verifies each committed `ocsp_verify` seed against the
//! committed pair, at the harness's instant and policy, and fails unless every seed gets the
//! verdict it was made for and every response seed of `ocsp_parse` decodes.
//! `cargo xtask ci` runs this, so the seeds cannot silently stop reaching the code they were
//! made for.

use std::{
    error::Error,
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use mailstaple_ocsp::{CertId, CertView, HashAlgorithm, OcspResponse, build_request};
use mailstaple_testpki::{
    DAY, Defect, HashAlg, KeyAlg, NOW, Pki, ResponderIdKind, SigAlg, Signer, Status,
};
use mailstaple_verify::Policy;
use rustls_pki_types::UnixTime;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Every `ocsp_verify` seed by name, and whether the verifier accepts it.
const VERIFY_VERDICTS: &[(&str, bool)] = &[
    ("seed-good-by-issuer.der", true),
    ("seed-good-delegated-by-name.der", true),
    ("seed-revoked-sha256-nonce.der", true),
    ("seed-unknown-several-singles.der", true),
    ("seed-short-lived-signer.der", true),
    ("seed-bad-signature.der", false),
    ("seed-signer-without-eku.der", false),
    ("seed-no-next-update.der", false),
];

/// `ocsp_parse` seeds that are not OCSP responses (the harness tries other decoders on them).
const PARSE_NON_RESPONSES: &[&str] = &[
    "seed-p256-leaf-certificate.der",
    "seed-p256-request-sha1-sha256-nonce.der",
];

fn main() -> Result<()> {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = fuzz_dir.join("corpus");
    let pair_dir = fuzz_dir.join("fixtures").join("ocsp_verify");
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => generate(&corpus, &pair_dir),
        [flag] if flag == "--check" => check(&corpus, &pair_dir),
        _ => Err(format!("usage: make_seeds [--check], got {args:?}").into()),
    }
}

fn generate(corpus: &Path, pair_dir: &Path) -> Result<()> {
    write_seeds(&corpus.join("ocsp_parse"), &parse_seeds()?)?;
    // The responder harness's requests, made by the harness itself (its CA key is fixed).
    let requests: Vec<(String, Vec<u8>)> = mailstaple_responder::fuzzing::seeds()
        .into_iter()
        .enumerate()
        .map(|(i, der)| seed(&format!("request-{i}"), der))
        .chain(std::iter::once((
            "seed-index-txt".to_owned(),
            [&[0xff][..], mailstaple_responder::fuzzing::SEED_INDEX].concat(),
        )))
        .collect();
    write_seeds(&corpus.join("responder_request"), &requests)?;

    let pki = Pki::new(KeyAlg::EcdsaP256);
    let seeds = verify_seeds(&pki);
    check_verdicts(&pki.leaf.der, &pki.intermediate.der, &seeds)?;
    write_seeds(&corpus.join("ocsp_verify"), &seeds)?;
    fs::create_dir_all(pair_dir)?;
    fs::write(pair_dir.join("cert.der"), &pki.leaf.der)?;
    fs::write(pair_dir.join("issuer.der"), &pki.intermediate.der)?;
    println!("wrote {}/{{cert,issuer}}.der", pair_dir.display());
    Ok(())
}

fn check(corpus: &Path, pair_dir: &Path) -> Result<()> {
    let cert = read(&pair_dir.join("cert.der"))?;
    let issuer = read(&pair_dir.join("issuer.der"))?;
    let verify = read_seeds(&corpus.join("ocsp_verify"))?;
    let names: Vec<&str> = verify.iter().map(|(name, _)| name.as_str()).collect();
    for (name, _) in VERIFY_VERDICTS {
        if !names.contains(name) {
            return Err(format!("ocsp_verify seed {name} is missing; regenerate the seeds").into());
        }
    }
    check_verdicts(&cert, &issuer, &verify)?;

    for (name, der) in read_seeds(&corpus.join("ocsp_parse"))? {
        if PARSE_NON_RESPONSES.contains(&name.as_str()) {
            continue;
        }
        match OcspResponse::parse(&der) {
            Ok(_) => println!("checked ocsp_parse {name}: decodes"),
            Err(err) => return Err(format!("ocsp_parse seed {name} does not decode: {err}").into()),
        }
    }
    println!("seeds: ok");
    Ok(())
}

/// Structurally varied inputs for the parser: every key type, both ResponderID forms, every
/// status, embedded certificates, several SingleResponses, extensions, an error status, the
/// tolerated encoding quirks, a certificate and a request (the harness tries all four decoders).
fn parse_seeds() -> Result<Vec<(String, Vec<u8>)>> {
    let p256 = Pki::shared(KeyAlg::EcdsaP256);
    let rsa = Pki::shared(KeyAlg::Rsa2048);
    let ed25519 = Pki::shared(KeyAlg::Ed25519);
    let p384 = Pki::shared(KeyAlg::EcdsaP384);

    let leaf = CertView::parse(&p256.leaf.der)?;
    let issuer = CertView::parse(&p256.intermediate.der)?;
    let request = build_request(
        &[
            CertId::new(&leaf, &issuer, HashAlgorithm::Sha1),
            CertId::new(&leaf, &issuer, HashAlgorithm::Sha256),
        ],
        Some(b"seed-nonce"),
    );

    Ok(vec![
        seed("p256-good", p256.response().build()),
        seed(
            "rsa2048-delegated-by-name",
            rsa.response()
                .signer(Signer::Delegated(&rsa.signer))
                .responder_id(ResponderIdKind::ByName)
                .sig_alg(SigAlg::RsaPssSha256)
                .build(),
        ),
        seed(
            "ed25519-revoked-sha256",
            ed25519
                .response()
                .status(Status::Revoked {
                    time: NOW - DAY,
                    reason: Some(1),
                })
                .hash(HashAlg::Sha256)
                .build(),
        ),
        seed(
            "p384-several-singles-nonce",
            p384.response()
                .status(Status::Unknown)
                .extra_single(vec![0x10, 0x02], Status::Good)
                .extra_single(
                    vec![0x42],
                    Status::Revoked {
                        time: NOW - 2 * DAY,
                        reason: None,
                    },
                )
                .nonce(b"0123456789abcdef".to_vec())
                .build(),
        ),
        seed("p256-try-later", p256.response().response_status(3).build()),
        seed(
            "p256-explicit-version-fractional-time",
            p256.response()
                .defect(Defect::ExplicitDefaultVersion)
                .defect(Defect::FractionalSeconds)
                .next_update(None)
                .build(),
        ),
        seed("p256-leaf-certificate", p256.leaf.der.clone()),
        seed("p256-request-sha1-sha256-nonce", request),
    ])
}

/// Responses about the pair written beside them: authentic ones of every status and signer
/// kind, and near misses the verifier must refuse, each one mutation away from acceptance.
/// Their verdicts are `VERIFY_VERDICTS`.
fn verify_seeds(pki: &Pki) -> Vec<(String, Vec<u8>)> {
    vec![
        seed("good-by-issuer", pki.response().build()),
        seed(
            "good-delegated-by-name",
            pki.response()
                .signer(Signer::Delegated(&pki.signer))
                .responder_id(ResponderIdKind::ByName)
                .build(),
        ),
        seed(
            "revoked-sha256-nonce",
            pki.response()
                .status(Status::Revoked {
                    time: NOW - DAY,
                    reason: Some(4),
                })
                .hash(HashAlg::Sha256)
                .nonce(b"fedcba9876543210".to_vec())
                .build(),
        ),
        seed(
            "unknown-several-singles",
            pki.response()
                .status(Status::Unknown)
                .extra_single(vec![0x10, 0x02], Status::Good)
                .build(),
        ),
        seed(
            "short-lived-signer",
            pki.response()
                .signer(Signer::Delegated(&pki.signer_short))
                .build(),
        ),
        seed(
            "bad-signature",
            pki.response().defect(Defect::BadSignature).build(),
        ),
        seed(
            "signer-without-eku",
            pki.response()
                .signer(Signer::Delegated(&pki.signer_no_eku))
                .build(),
        ),
        seed("no-next-update", pki.response().next_update(None).build()),
    ]
}

/// Verifies each seed at the harness's instant and policy and compares with `VERIFY_VERDICTS`.
fn check_verdicts(cert: &[u8], issuer: &[u8], seeds: &[(String, Vec<u8>)]) -> Result<()> {
    let now = UnixTime::since_unix_epoch(Duration::from_secs(NOW));
    for (name, der) in seeds {
        let Some(&(_, accepted)) = VERIFY_VERDICTS.iter().find(|(known, _)| known == name) else {
            return Err(format!("ocsp_verify seed {name} has no expected verdict").into());
        };
        let verdict = mailstaple_verify::verify(der, cert, issuer, now, &Policy::default());
        match (verdict, accepted) {
            (Ok(_), true) => println!("checked ocsp_verify {name}: accepted"),
            (Err(err), false) => println!("checked ocsp_verify {name}: refused ({err})"),
            (Ok(_), false) => return Err(format!("{name} should be refused but verifies").into()),
            (Err(err), true) => return Err(format!("{name} should verify but: {err}").into()),
        }
    }
    Ok(())
}

fn seed(name: &str, der: Vec<u8>) -> (String, Vec<u8>) {
    (format!("seed-{name}.der"), der)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|err| format!("cannot read {}: {err}", path.display()).into())
}

fn seed_paths(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|err| format!("cannot list {}: {err}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.is_file()
                && path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with("seed-"))
        })
        .collect();
    paths.sort();
    Ok(paths)
}

fn read_seeds(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    seed_paths(dir)?
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((name, read(&path)?))
        })
        .collect()
}

/// Replaces the `seed-*` files of one corpus directory, leaving everything else.
fn write_seeds(dir: &Path, seeds: &[(String, Vec<u8>)]) -> Result<()> {
    fs::create_dir_all(dir)?;
    for path in seed_paths(dir)? {
        fs::remove_file(path)?;
    }
    for (name, der) in seeds {
        fs::write(dir.join(name), der)?;
        println!("wrote {} ({} bytes)", dir.join(name).display(), der.len());
    }
    Ok(())
}
