//! Verifies an OCSP proof file against a certificate and its issuer, and prints the status and
//! the effective expiry (the earlier of nextUpdate and a delegated signer's notAfter).
//!
//! ```text
//! cargo run -p mailstaple-verify --example verify_proof -- PROOF CERT ISSUER [UNIX-TIME]
//! ```
//!
//! Each file is DER or PEM. UNIX-TIME is when to judge (default: now). Exits 1 when the proof
//! is not authentic, current and for the certificate.

use std::time::Duration;

use mailstaple_ocsp::pem::der_or_pem;
use mailstaple_verify::{Policy, Signer, pki_types::UnixTime, verify};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("{}", run(&args)?);
    Ok(())
}

/// The command line without the program name; returns the report.
pub(crate) fn run(args: &[String]) -> Result<String, Box<dyn std::error::Error>> {
    let [proof, cert, issuer, rest @ ..] = args else {
        return Err("usage: verify_proof PROOF CERT ISSUER [UNIX-TIME]".into());
    };
    let at = rest.first().map(|t| t.parse::<u64>()).transpose()?;
    check([proof, cert, issuer], at)
}

/// Verifies the PROOF, CERT and ISSUER files at `at` (default: now); returns the report.
fn check(files: [&str; 3], at: Option<u64>) -> Result<String, Box<dyn std::error::Error>> {
    let [proof, cert, issuer] = files.map(|path| {
        let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        let labels = ["OCSP RESPONSE", "CERTIFICATE"];
        let der = der_or_pem(&bytes, &labels).map_err(|e| format!("{path}: {e}"))?;
        Ok::<_, String>(der.into_owned())
    });
    let now = at.map_or_else(UnixTime::now, |s| {
        UnixTime::since_unix_epoch(Duration::from_secs(s))
    });
    let staple = verify(&proof?, &cert?, &issuer?, now, &Policy::default())?;
    let signer = match staple.signer() {
        Signer::Delegated { subject, .. } => format!("delegated responder {subject}"),
        _ => "the issuer".to_owned(),
    };
    Ok(format!(
        "{:?}, signed by {signer}\nthis update {}, effective expiry {}",
        staple.status(),
        staple.this_update(),
        staple.effective_expiry()
    ))
}
