#![doc = include_str!("../README.md")]
//!
//! ## Is this OCSP proof authentic, current and for this certificate?
//!
//! One function answers the question every other part of mailstaple asks:
//! [`verify`]`(proof, cert, issuer, now, &Policy) -> Result<VerifiedStaple, Error>`.
//! Only this crate can construct a [`VerifiedStaple`]; code downstream (server staple provider,
//! client policy, fetcher) accepts that type, never raw bytes.
//!
//! The checks, in order, each with its own [`Error`] variant:
//! 1. the certificate's issuer field equals the issuer certificate's subject;
//! 2. the response decodes strictly, is `successful` and of type basic;
//! 3. the responder is authorized (RFC 6960 §4.2.2.2): either the issuer itself (ResponderID by
//!    name or by key hash), or a delegated responder whose certificate is embedded, was issued by
//!    the issuer (checked by webpki with the issuer as the only trust anchor), carries
//!    `id-kp-OCSPSigning` and is valid at `now`. The certificate's own chain is never a source of
//!    responders;
//! 4. the signature verifies over the `tbsResponseData` bytes exactly as received;
//! 5. a SingleResponse matches the certificate's CertID (any hash algorithm the responder chose;
//!    when several match, the worst status wins);
//! 6. no critical extension we do not understand: the ones in [`KNOWN_EXTENSIONS`] (RFC 6960
//!    §4.4 and RFC 6962 §3.3) are accepted even when marked critical, because none of them
//!    changes the verdict;
//! 7. producedAt lies within the certificate's validity (notBefore − skew ..= notAfter + skew),
//!    as Chromium insists: a responder does not vouch for a certificate that did not exist yet
//!    or has expired;
//! 8. freshness: `thisUpdate <= now + skew` and `now <= nextUpdate + skew`; with
//!    [`Policy::max_age_secs`] set, also `now <= thisUpdate + max_age + skew` whether or not
//!    nextUpdate is present (browsers' rule: Chromium's maximum age is a week); a missing
//!    nextUpdate is refused unless a maximum age is set, and then bounds the proof alone.
//!
//! SHA-1 ([`Policy::allow_sha1`], on by default as in OpenSSL and Exim) governs both signatures a
//! delegated proof carries, the response's and the responder certificate's; sha1WithRSAEncryption
//! is accepted with NULL or absent parameters, as the SHA-2 RSA PKCS#1 variants are.
//!
//! `revoked` and `unknown` are authentic answers, carried in [`VerifiedStaple::status`], not
//! errors. [`VerifiedStaple::effective_expiry`] is the earlier of nextUpdate and a delegated
//! signer's notAfter, so a signer certificate that expires before the proof (the failure that
//! broke `ocsp_fetch.pl` users) is visible before it bites.
//!
//! Time is an argument; this crate reads no clock and does no I/O. Signatures use aws-lc-rs, the
//! provider rustls uses in this workspace (it covers ECDSA P-521, which ring does not).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod algorithms;
mod error;
#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod tests;

use mailstaple_ocsp::{
    BasicResponse, CertStatus, CertView, HashAlgorithm, OID_OCSP_EXTENDED_REVOKE, OID_OCSP_NONCE,
    OcspResponse, ResponderId, SingleResponse, Time, hex, name_to_string, oid_to_string,
};
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};

pub use algorithms::DEFAULT_ALGORITHMS;
pub use error::{Error, SignedPart};
pub use mailstaple_ocsp::{CertStatus as Status, CrlReason};

/// rustls-pki-types 1, whose `UnixTime` and `SignatureVerificationAlgorithm` this API names (the
/// same crate rustls 0.23 re-exports as `rustls::pki_types`).
pub use rustls_pki_types as pki_types;

/// `id-kp-OCSPSigning` as webpki wants it (OID contents).
static EKU_OCSP_SIGNING: &[u8] = mailstaple_ocsp::OID_KP_OCSP_SIGNING;

/// What the verifier accepts. The defaults are what Exim and OpenSSL accept, minus their holes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Policy {
    /// Clock skew allowed on thisUpdate and nextUpdate, in seconds. Default 300, as Exim.
    pub skew_secs: u64,
    /// The maximum age of a proof, in seconds: when set, a response whose thisUpdate is older
    /// than this (plus the skew) is refused even if its nextUpdate is later, and a response
    /// without nextUpdate is usable until thisUpdate plus this. When `None` (the default) the
    /// age is not bounded and a response without nextUpdate is refused. Chromium uses a week.
    pub max_age_secs: Option<u64>,
    /// Accept sha1WithRSAEncryption signatures (default `true`, as OpenSSL and Exim do), on the
    /// response and on a delegated responder certificate alike.
    pub allow_sha1: bool,
    /// The signature algorithms; default [`DEFAULT_ALGORITHMS`].
    pub algorithms: &'static [&'static dyn SignatureVerificationAlgorithm],
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            skew_secs: 300,
            max_age_secs: None,
            allow_sha1: true,
            algorithms: DEFAULT_ALGORITHMS,
        }
    }
}

/// Who signed a verified proof.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signer {
    /// The certificate's issuer itself.
    Issuer,
    /// A delegated responder certificate issued by the issuer.
    Delegated {
        /// Its subject.
        subject: SubjectName,
        /// Its notAfter.
        not_after: Time,
    },
}

/// A certificate's subject as received (a DER `Name`), rendered as RFC 4514 text only when it
/// is displayed: rendering costs about as much as the rest of a verification's bookkeeping, and
/// most verified proofs are never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SubjectName(Vec<u8>);

impl SubjectName {
    /// The DER `Name`.
    pub fn der(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Display for SubjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&display_name(&self.0))
    }
}

impl std::fmt::Debug for SubjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", display_name(&self.0))
    }
}

/// An OCSP proof that [`verify`] found authentic, current at the time given, and for the
/// certificate given. Only this crate can make one.
#[derive(Debug)]
pub struct VerifiedStaple {
    der: Vec<u8>,
    status: CertStatus,
    serial: Vec<u8>,
    this_update: Time,
    next_update: Option<Time>,
    produced_at: Time,
    effective_expiry: Time,
    signer: Signer,
    nonce: Option<Vec<u8>>,
    skew_secs: u64,
    max_age_secs: Option<u64>,
}

impl VerifiedStaple {
    /// The proof exactly as received: the bytes to staple.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate's status: good, revoked (time, reason) or unknown.
    pub fn status(&self) -> CertStatus {
        self.status
    }

    /// Whether the status is `good`.
    pub fn is_good(&self) -> bool {
        self.status == CertStatus::Good
    }

    /// The certificate's serial number (INTEGER contents).
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// thisUpdate of the matching SingleResponse.
    pub fn this_update(&self) -> Time {
        self.this_update
    }

    /// nextUpdate of the matching SingleResponse, if any.
    pub fn next_update(&self) -> Option<Time> {
        self.next_update
    }

    /// producedAt.
    pub fn produced_at(&self) -> Time {
        self.produced_at
    }

    /// The earliest of nextUpdate, thisUpdate plus the policy's maximum age (when set) and a
    /// delegated signer's notAfter: after this instant the proof is no longer usable.
    pub fn effective_expiry(&self) -> Time {
        self.effective_expiry
    }

    /// Who signed it.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The response nonce, if any.
    pub fn nonce(&self) -> Option<&[u8]> {
        self.nonce.as_deref()
    }

    /// Re-checks the times against a later `now` with the skew and maximum age of the original
    /// verification (for serving a proof verified earlier). The proof's contents were already
    /// authenticated.
    pub fn check_current(&self, now: UnixTime) -> Result<(), Error> {
        let now = to_time(now);
        let skew = skew(self.skew_secs);
        if let Some(max_age) = self.max_age_secs
            && now.unix()
                > self
                    .this_update
                    .unix()
                    .saturating_add(skew_of(max_age))
                    .saturating_add(skew)
        {
            return Err(Error::TooOld {
                this_update: self.this_update,
                max_age,
                now,
            });
        }
        if self.this_update.unix() > now.unix().saturating_add(skew) {
            return Err(Error::NotYetValid {
                this_update: self.this_update,
                now,
            });
        }
        if let Signer::Delegated { not_after, .. } = &self.signer
            && now > *not_after
        {
            return Err(Error::SignerExpired {
                not_after: *not_after,
                now,
            });
        }
        let limit = self.next_update.unwrap_or(self.effective_expiry);
        if now.unix() > limit.unix().saturating_add(skew) {
            return Err(Error::Expired {
                next_update: limit,
                now,
            });
        }
        Ok(())
    }
}

/// Verifies `proof` (a DER OCSPResponse) for `cert` issued by `issuer` (both DER) at `now`.
pub fn verify(
    proof: &[u8],
    cert: &[u8],
    issuer: &[u8],
    now: UnixTime,
    policy: &Policy,
) -> Result<VerifiedStaple, Error> {
    let cert_view = CertView::parse(cert).map_err(Error::BadCertificate)?;
    let issuer_view = CertView::parse(issuer).map_err(Error::BadIssuer)?;
    if cert_view.issuer != issuer_view.subject {
        return Err(Error::IssuerMismatch {
            cert_issuer: display_name(cert_view.issuer),
            issuer_subject: display_name(issuer_view.subject),
        });
    }
    let basic = decode(proof)?;
    let signer = authenticate(&basic, issuer, &issuer_view, to_time(now), policy)?;
    check_extensions(&basic.extensions)?;
    let single = find_single(&basic, &cert_view, &issuer_view)?;
    check_extensions(&single.extensions)?;
    check_produced_at(basic.produced_at, &cert_view, policy)?;
    let effective_expiry = check_fresh(single, &signer, to_time(now), policy)?;
    Ok(VerifiedStaple {
        der: proof.to_vec(),
        status: single.status,
        serial: cert_view.serial.to_vec(),
        this_update: single.this_update,
        next_update: single.next_update,
        produced_at: basic.produced_at,
        effective_expiry,
        signer,
        nonce: basic.nonce().map(<[u8]>::to_vec),
        skew_secs: policy.skew_secs,
        max_age_secs: policy.max_age_secs,
    })
}

/// One SingleResponse judged by [`verify_for_issuer`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuerEntry {
    /// The serial number it is about (INTEGER contents).
    pub serial: Vec<u8>,
    /// Its status.
    pub status: CertStatus,
    /// Its thisUpdate.
    pub this_update: Time,
    /// Its nextUpdate.
    pub next_update: Option<Time>,
}

/// The verdict of [`verify_for_issuer`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuerVerdict {
    /// Every SingleResponse naming the issuer, in order; all authentic and current.
    pub entries: Vec<IssuerEntry>,
    /// The worst status among them (revoked, then unknown, then good).
    pub worst: CertStatus,
    /// Who signed the proof.
    pub signer: Signer,
}

/// Verifies `proof` without a particular certificate: every SingleResponse naming `issuer` is
/// judged (authentic signature, authorized responder, current), and the worst status is reported.
/// A proof naming no response for the issuer is invalid.
pub fn verify_for_issuer(
    proof: &[u8],
    issuer: &[u8],
    now: UnixTime,
    policy: &Policy,
) -> Result<IssuerVerdict, Error> {
    let issuer_view = CertView::parse(issuer).map_err(Error::BadIssuer)?;
    let basic = decode(proof)?;
    let now = to_time(now);
    let signer = authenticate(&basic, issuer, &issuer_view, now, policy)?;
    check_extensions(&basic.extensions)?;
    let mut entries = Vec::new();
    let mut worst = None;
    for single in &basic.responses {
        if single.cert_id.hash().is_none()
            || !single.cert_id.names_issuer(&issuer_view).unwrap_or(false)
        {
            continue;
        }
        check_extensions(&single.extensions)?;
        check_fresh(single, &signer, now, policy)?;
        worst = Some(match worst {
            None => single.status,
            Some(w) => worse(w, single.status),
        });
        entries.push(IssuerEntry {
            serial: single.cert_id.serial.to_vec(),
            status: single.status,
            this_update: single.this_update,
            next_update: single.next_update,
        });
    }
    let worst = worst.ok_or(Error::NoResponseForIssuer)?;
    Ok(IssuerVerdict {
        entries,
        worst,
        signer,
    })
}

fn decode(proof: &[u8]) -> Result<BasicResponse<'_>, Error> {
    OcspResponse::parse(proof)
        .map_err(Error::Malformed)?
        .into_basic()
        .map_err(|e| match e {
            mailstaple_ocsp::Error::NotSuccessful(s) => Error::NotSuccessful(s),
            other => Error::Malformed(other),
        })
}

fn to_time(now: UnixTime) -> Time {
    Time::from_unix(i64::try_from(now.as_secs()).unwrap_or(i64::MAX))
}

fn skew(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

fn display_name(der: &[u8]) -> String {
    name_to_string(der).unwrap_or_else(|| format!("<undecodable name {}>", hex(der)))
}

fn rank(s: CertStatus) -> u8 {
    match s {
        CertStatus::Revoked { .. } => 2,
        CertStatus::Unknown => 1,
        _ => 0,
    }
}

fn worse(a: CertStatus, b: CertStatus) -> CertStatus {
    if rank(b) > rank(a) { b } else { a }
}

/// Step 3 and 4: who signed, are they allowed to, and does the signature hold.
fn authenticate(
    basic: &BasicResponse<'_>,
    issuer_der: &[u8],
    issuer: &CertView<'_>,
    now: Time,
    policy: &Policy,
) -> Result<Signer, Error> {
    let names = |view: &CertView<'_>| match basic.responder_id {
        ResponderId::ByName(name) => name == view.subject,
        ResponderId::ByKeyHash(hash) => HashAlgorithm::Sha1.digest(view.public_key) == hash,
        _ => false,
    };
    if names(issuer) {
        check_signature(
            &end_entity(&CertificateDer::from(issuer_der))?,
            basic,
            policy,
        )?;
        return Ok(Signer::Issuer);
    }
    let found = basic.certs.iter().find_map(|der| {
        CertView::parse(der)
            .ok()
            .filter(|v| names(v))
            .map(|v| (*der, v))
    });
    let Some((signer_der, signer)) = found else {
        return Err(Error::UnknownResponder {
            responder: match basic.responder_id {
                ResponderId::ByName(n) => format!("by name \"{}\"", display_name(n)),
                ResponderId::ByKeyHash(h) => format!("by key hash {}", hex(h)),
                _ => "of an unknown kind".into(),
            },
            embedded: basic.certs.len(),
        });
    };
    let subject = || display_name(signer.subject);
    if signer.issuer != issuer.subject {
        return Err(Error::SignerNotIssuedByIssuer {
            signer: subject(),
            detail: format!("its issuer is \"{}\"", display_name(signer.issuer)),
        });
    }
    if !signer
        .is_ocsp_signer()
        .map_err(|e| Error::BadSignerCertificate(e.to_string()))?
    {
        return Err(Error::SignerNotAuthorized { signer: subject() });
    }
    if now > signer.not_after {
        return Err(Error::SignerExpired {
            not_after: signer.not_after,
            now,
        });
    }
    if now < signer.not_before {
        return Err(Error::SignerNotYetValid {
            not_before: signer.not_before,
            now,
        });
    }
    if algorithms::is_sha1(signer.signature_algorithm.value) && !policy.allow_sha1 {
        return Err(Error::Sha1Refused(SignedPart::ResponderCertificate));
    }
    // The chain check: the issuer is the only trust anchor, so the signer must be issued
    // directly by it. webpki also checks the EKU, validity, key usage and critical extensions.
    let issuer_cert = CertificateDer::from(issuer_der);
    let anchor = webpki::anchor_from_trusted_cert(&issuer_cert)
        .map_err(|e| Error::IssuerUnusable(format!("{e:?}")))?;
    let signer_cert = CertificateDer::from(signer_der);
    let ee = end_entity(&signer_cert)?;
    let algs: Vec<&dyn SignatureVerificationAlgorithm> = policy
        .algorithms
        .iter()
        .copied()
        .filter(|a| policy.allow_sha1 || !algorithms::is_sha1(a.signature_alg_id().as_ref()))
        .collect();
    let secs = u64::try_from(now.unix()).unwrap_or(0);
    ee.verify_for_usage(
        &algs,
        &[anchor],
        &[],
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs)),
        webpki::KeyUsage::required(EKU_OCSP_SIGNING),
        None,
        None,
    )
    .map_err(|e| Error::SignerNotIssuedByIssuer {
        signer: subject(),
        detail: format!("{e:?}"),
    })?;
    // The certificate parsed for the chain check is the one whose key checks the response.
    check_signature(&ee, basic, policy)?;
    Ok(Signer::Delegated {
        subject: SubjectName(signer.subject.to_vec()),
        not_after: signer.not_after,
    })
}

fn end_entity<'a>(cert: &'a CertificateDer<'a>) -> Result<webpki::EndEntityCert<'a>, Error> {
    webpki::EndEntityCert::try_from(cert).map_err(|e| Error::BadSignerCertificate(format!("{e:?}")))
}

fn check_signature(
    ee: &webpki::EndEntityCert<'_>,
    basic: &BasicResponse<'_>,
    policy: &Policy,
) -> Result<(), Error> {
    let alg_id = basic.signature_algorithm.value;
    let oid = || basic.signature_algorithm.oid_string();
    if algorithms::is_sha1(alg_id) && !policy.allow_sha1 {
        return Err(Error::Sha1Refused(SignedPart::Response));
    }
    let mut known = false;
    for alg in policy
        .algorithms
        .iter()
        .filter(|a| a.signature_alg_id().as_ref() == alg_id)
    {
        known = true;
        match ee.verify_signature(*alg, basic.tbs_raw, basic.signature) {
            Ok(()) => return Ok(()),
            Err(webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)) => continue,
            Err(_) => return Err(Error::BadSignature),
        }
    }
    Err(if known {
        Error::SignatureAlgorithmMismatch(oid())
    } else {
        Error::UnsupportedSignatureAlgorithm(oid())
    })
}

/// Step 5: the SingleResponse for this certificate; the worst when several match.
fn find_single<'r, 'a>(
    basic: &'r BasicResponse<'a>,
    cert: &CertView<'_>,
    issuer: &CertView<'_>,
) -> Result<&'r SingleResponse<'a>, Error> {
    let mut best: Option<&SingleResponse<'a>> = None;
    let mut unsupported = None;
    let mut detail = "no response has this serial number";
    for single in &basic.responses {
        let id = &single.cert_id;
        let Some(hash) = id.hash() else {
            unsupported = Some(oid_to_string(id.hash_algorithm.oid));
            continue;
        };
        if !mailstaple_ocsp::serial_eq(id.serial, cert.serial) {
            continue;
        }
        if hash.digest(issuer.subject) != id.issuer_name_hash {
            detail = "a response has this serial but another issuerNameHash";
            continue;
        }
        if hash.digest(issuer.public_key) != id.issuer_key_hash {
            detail = "a response has this serial but another issuerKeyHash";
            continue;
        }
        best = Some(match best {
            Some(b) if rank(b.status) >= rank(single.status) => b,
            _ => single,
        });
    }
    match (best, unsupported) {
        (Some(s), _) => Ok(s),
        (None, Some(oid)) => Err(Error::UnsupportedCertIdHash(oid)),
        (None, None) => Err(Error::NoResponseForCertificate {
            serial: hex(cert.serial),
            detail,
        }),
    }
}

/// The response and SingleResponse extensions accepted even when marked critical (OBJECT
/// IDENTIFIER contents): RFC 6960 §4.4 and RFC 6962 §3.3 define them, and none changes whether a
/// proof is authentic, current and for the certificate, so understanding them means knowing
/// that they may be ignored. Any other critical extension is refused.
///
/// | extension | OID | why it does not change the verdict |
/// |---|---|---|
/// | nonce | 1.3.6.1.5.5.7.48.1.2 | binds a reply to a request; a staple answers no request of ours |
/// | CRL references | 1.3.6.1.5.5.7.48.1.3 | where the status came from; informative |
/// | acceptable responses | 1.3.6.1.5.5.7.48.1.4 | a request extension; meaningless in a reply |
/// | archive cutoff | 1.3.6.1.5.5.7.48.1.6 | retention for expired certificates; the times are checked anyway |
/// | service locator | 1.3.6.1.5.5.7.48.1.7 | a request extension for routing; meaningless in a reply |
/// | preferred signature algorithms | 1.3.6.1.5.5.7.48.1.8 | a request extension |
/// | extended revoke | 1.3.6.1.5.5.7.48.1.9 | says revoked may mean "never issued"; the status is used as given |
/// | invalidity date | 2.5.29.24 | when a key was compromised; the revocation is used as given |
/// | SCT list | 1.3.6.1.4.1.11129.2.4.5 | Certificate Transparency evidence for the certificate (RFC 6962); Chromium accepts it critical |
pub const KNOWN_EXTENSIONS: &[&[u8]] = &[
    OID_OCSP_NONCE,
    &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x03],
    &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x04],
    &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x06],
    &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x07],
    &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x08],
    OID_OCSP_EXTENDED_REVOKE,
    &[0x55, 0x1d, 0x18],
    &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x05],
];

fn check_extensions(exts: &[mailstaple_ocsp::Extension<'_>]) -> Result<(), Error> {
    match exts
        .iter()
        .find(|e| e.critical && !KNOWN_EXTENSIONS.contains(&e.oid))
    {
        Some(e) => Err(Error::UnknownCriticalExtension(oid_to_string(e.oid))),
        None => Ok(()),
    }
}

/// Step 7: producedAt within the certificate's validity, with the skew on both ends.
fn check_produced_at(produced_at: Time, cert: &CertView<'_>, policy: &Policy) -> Result<(), Error> {
    let skew = skew(policy.skew_secs);
    if produced_at.unix() < cert.not_before.unix().saturating_sub(skew) {
        return Err(Error::ProducedBeforeCertificate {
            produced_at,
            not_before: cert.not_before,
        });
    }
    if produced_at.unix() > cert.not_after.unix().saturating_add(skew) {
        return Err(Error::ProducedAfterCertificate {
            produced_at,
            not_after: cert.not_after,
        });
    }
    Ok(())
}

/// Step 8; returns the effective expiry.
fn check_fresh(
    single: &SingleResponse<'_>,
    signer: &Signer,
    now: Time,
    policy: &Policy,
) -> Result<Time, Error> {
    let skew = skew(policy.skew_secs);
    if single.this_update.unix() > now.unix().saturating_add(skew) {
        return Err(Error::NotYetValid {
            this_update: single.this_update,
            now,
        });
    }
    if let Some(next) = single.next_update
        && next < single.this_update
    {
        return Err(Error::NextUpdateBeforeThisUpdate);
    }
    // The maximum age bounds every response, with or without nextUpdate.
    let age_limit = policy.max_age_secs.map(|max_age| {
        (
            max_age,
            Time::from_unix(single.this_update.unix().saturating_add(skew_of(max_age))),
        )
    });
    if let Some((max_age, until)) = age_limit
        && now.unix() > until.unix().saturating_add(skew)
    {
        return Err(Error::TooOld {
            this_update: single.this_update,
            max_age,
            now,
        });
    }
    let expiry = match (single.next_update, age_limit) {
        (Some(next), _) if now.unix() > next.unix().saturating_add(skew) => {
            return Err(Error::Expired {
                next_update: next,
                now,
            });
        }
        (Some(next), Some((_, until))) => next.min(until),
        (Some(next), None) => next,
        (None, Some((_, until))) => until,
        (None, None) => return Err(Error::NoNextUpdate),
    };
    Ok(match signer {
        Signer::Delegated { not_after, .. } => expiry.min(*not_after),
        _ => expiry,
    })
}

fn skew_of(secs: u64) -> i64 {
    skew(secs)
}
