//! `mailstaple demo`: the OCSP core at work on an embedded default, with no network and no files.
//!
//! It makes a throwaway CA, a mail server certificate and a delegated OCSP signer in memory,
//! signs OCSP proofs the way a CA's responder would, good ones and bad ones, and checks each the
//! way mailstaple checks every staple before serving or accepting it. Each verdict is compared
//! with the expected one; the exit status is 0 only if all agree.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};
use mailstaple_ocsp::{
    CertId, CertStatus, CertView, CrlReason, HashAlgorithm, ResponderIdSpec, SingleSpec, Time,
    encode_basic_response, encode_response, encode_response_data,
};
use mailstaple_verify::{Policy, VerifiedStaple, verify};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SigningKey as _,
};
use rustls_pki_types::UnixTime;

/// Options of `mailstaple demo`.
#[derive(clap::Args, Debug)]
pub(crate) struct DemoArgs {
    /// Also write the certificates and proofs here (PEM certificates, DER proofs), to try
    /// `mailstaple ocsp inspect` and `mailstaple ocsp verify` on them.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Pretend the time is this (RFC 3339 or seconds since the epoch) instead of the clock.
    #[arg(long, value_parser = crate::input::parse_time)]
    now: Option<Time>,
}

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
/// `SEQUENCE { ecdsa-with-SHA256 }`.
const ECDSA_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];

struct Party {
    der: Vec<u8>,
    key: KeyPair,
}

struct World {
    ca: Party,
    leaf: Party,
    other: Party,
    signer: Party,
}

pub(crate) fn run(args: DemoArgs) -> i32 {
    match demo(args) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("mailstaple demo: {e:#}");
            1
        }
    }
}

fn odt(secs: i64) -> Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(secs).context("time out of range")
}

fn params(cn: &str, from: i64, until: i64) -> Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "mailstaple demo");
    p.not_before = odt(from)?;
    p.not_after = odt(until)?;
    Ok(p)
}

/// `SEQUENCE OF AccessDescription { id-ad-ocsp, uniformResourceIdentifier }`.
fn aia(url: &str) -> Vec<u8> {
    let oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
    let mut uri = vec![0x86, url.len() as u8];
    uri.extend_from_slice(url.as_bytes());
    let mut ad = vec![0x30, (oid.len() + uri.len()) as u8];
    ad.extend_from_slice(&oid);
    ad.extend_from_slice(&uri);
    let mut out = vec![0x30, ad.len() as u8];
    out.extend(ad);
    out
}

fn make_world(now: i64) -> Result<World> {
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    let ca_key = KeyPair::generate_for(alg)?;
    let mut ca_params = params("mailstaple demo CA", now - DAY, now + 365 * DAY)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_der = ca_params.self_signed(&ca_key)?.der().to_vec();
    let issuer = Issuer::new(ca_params, &ca_key);

    let leaf_cert = |cn: &str, serial: u64| -> Result<Party> {
        let key = KeyPair::generate_for(alg)?;
        let mut p = params(cn, now - DAY, now + 90 * DAY)?;
        p.subject_alt_names = vec![rcgen::SanType::DnsName(cn.try_into()?)];
        p.serial_number = Some(serial.into());
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.custom_extensions.push(CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 5, 5, 7, 1, 1],
            aia("http://ocsp.demo.invalid/"),
        ));
        // TLS Feature status_request: must-staple.
        p.custom_extensions.push(CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 5, 5, 7, 1, 24],
            vec![0x30, 0x03, 0x02, 0x01, 0x05],
        ));
        Ok(Party {
            der: p.signed_by(&key, &issuer)?.der().to_vec(),
            key,
        })
    };
    let leaf = leaf_cert("mail.example.test", 0x1001)?;
    let other = leaf_cert("mx2.example.test", 0x1002)?;

    // A delegated OCSP signer that expires two days from now: before the proofs it signs do.
    let signer_key = KeyPair::generate_for(alg)?;
    let mut sp = params("mailstaple demo OCSP signer", now - DAY, now + 2 * DAY)?;
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
    sp.custom_extensions.push(CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5],
        vec![0x05, 0x00],
    ));
    let signer = Party {
        der: sp.signed_by(&signer_key, &issuer)?.der().to_vec(),
        key: signer_key,
    };
    Ok(World {
        ca: Party {
            der: ca_der,
            key: ca_key,
        },
        leaf,
        other,
        signer,
    })
}

/// Signs a proof for `cert` with `by` (the CA or the delegated signer).
fn proof(
    w: &World,
    cert: &Party,
    by: &Party,
    status: CertStatus,
    this: i64,
    next: i64,
) -> Result<Vec<u8>> {
    let leaf = CertView::parse(&cert.der)?;
    let ca = CertView::parse(&w.ca.der)?;
    let signer = CertView::parse(&by.der)?;
    let id = CertId::new(&leaf, &ca, HashAlgorithm::Sha1);
    let key_hash = HashAlgorithm::Sha1.digest(signer.public_key);
    let single = SingleSpec::new(
        &id,
        status,
        Time::from_unix(this),
        Some(Time::from_unix(next)),
    );
    let tbs = encode_response_data(
        ResponderIdSpec::ByKeyHash(&key_hash),
        Time::from_unix(this),
        &[single],
        None,
    );
    let signature = by.key.sign(&tbs)?;
    let embedded: Vec<&[u8]> = if std::ptr::eq(by, &w.ca) {
        vec![]
    } else {
        vec![by.der.as_slice()]
    };
    Ok(encode_response(&encode_basic_response(
        &tbs,
        ECDSA_SHA256,
        &signature,
        &embedded,
    )))
}

fn at(secs: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

fn describe(r: &Result<VerifiedStaple, mailstaple_verify::Error>) -> String {
    match r {
        Ok(s) => match s.status() {
            CertStatus::Revoked { time, reason } => format!(
                "authentic: REVOKED at {time}{}",
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ),
            other => format!(
                "authentic: {} until {} (effective expiry)",
                other.name().to_uppercase(),
                s.effective_expiry()
            ),
        },
        Err(e) => format!("refused: {e}"),
    }
}

fn demo(args: DemoArgs) -> Result<bool> {
    let now = match args.now {
        Some(t) => t.unix(),
        None => i64::try_from(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)?
                .as_secs(),
        )?,
    };
    let w = make_world(now)?;
    println!("mailstaple demo: OCSP proofs checked the way mailstaple checks every staple");
    println!("  CA, must-staple certificate mail.example.test (serial 1001) and a delegated OCSP");
    println!(
        "  signer valid until {} were made in memory (ECDSA P-256).",
        Time::from_unix(now + 2 * DAY)
    );
    println!();

    let revoked = CertStatus::Revoked {
        time: Time::from_unix(now - DAY),
        reason: Some(CrlReason(1)),
    };
    let good = CertStatus::Good;
    let mut tampered = proof(&w, &w.leaf, &w.ca, good, now - HOUR, now + 7 * DAY)?;
    if let Some(last) = tampered.last_mut() {
        *last ^= 0x01;
    }
    let delegated = proof(&w, &w.leaf, &w.signer, good, now - HOUR, now + 7 * DAY)?;
    // (name, proof bytes, checked at, expected: Some(good?) for authentic, None for refused)
    let cases: Vec<(&str, Vec<u8>, i64, Option<bool>)> = vec![
        (
            "good proof signed by the CA",
            proof(&w, &w.leaf, &w.ca, good, now - HOUR, now + 7 * DAY)?,
            now,
            Some(true),
        ),
        (
            "revoked (keyCompromise)",
            proof(&w, &w.leaf, &w.ca, revoked, now - HOUR, now + 7 * DAY)?,
            now,
            Some(false),
        ),
        ("signature tampered with", tampered, now, None),
        (
            "expired yesterday",
            proof(&w, &w.leaf, &w.ca, good, now - 8 * DAY, now - DAY)?,
            now,
            None,
        ),
        (
            "proof for another certificate",
            proof(&w, &w.other, &w.ca, good, now - HOUR, now + 7 * DAY)?,
            now,
            None,
        ),
        (
            "delegated signer, checked now",
            delegated.clone(),
            now,
            Some(true),
        ),
        (
            "same proof, three days later",
            delegated,
            now + 3 * DAY,
            None,
        ),
    ];
    let policy = Policy::default();
    let mut all_ok = true;
    for (i, (name, der, when, expect)) in cases.iter().enumerate() {
        let result = verify(der, &w.leaf.der, &w.ca.der, at(*when), &policy);
        let got = result.as_ref().ok().map(VerifiedStaple::is_good);
        let ok = got == *expect;
        all_ok &= ok;
        println!(
            "{} {:<32} {}",
            if ok { "ok  " } else { "FAIL" },
            name,
            describe(&result)
        );
        if let Some(dir) = &args.out {
            std::fs::create_dir_all(dir)?;
            std::fs::write(dir.join(format!("proof-{}.der", i + 1)), der)?;
        }
    }
    println!();
    println!("The delegated signer expires before the proof's nextUpdate: mailstaple reports the");
    println!(
        "earlier instant as the effective expiry and refuses the proof once the signer is gone."
    );
    if let Some(dir) = &args.out {
        for (name, p) in [
            ("ca.pem", &w.ca),
            ("leaf.pem", &w.leaf),
            ("signer.pem", &w.signer),
        ] {
            std::fs::write(dir.join(name), pem(&p.der))?;
        }
        println!(
            "Files written to {} (try: mailstaple ocsp verify --response {}/proof-1.der --issuer {}/ca.pem --cert {}/leaf.pem).",
            dir.display(),
            dir.display(),
            dir.display(),
            dir.display()
        );
    }
    if !all_ok {
        eprintln!("mailstaple demo: a verdict differed from the expected one");
    }
    Ok(all_ok)
}

fn pem(der: &[u8]) -> String {
    let b64 = crate::input::base64_encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}
