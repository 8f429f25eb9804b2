//! The pure core: find the leaf's issuer, verify the stapled bytes, and classify the result.
//! No clock, no I/O, no TLS library types.

use mailstaple_ocsp::CertView;
use mailstaple_verify::{Error as VerifyError, Policy, Status, VerifiedStaple};
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::{Finding, Mode, OcspOutcome};

/// The certificates that issued `leaf`: first the presented `intermediates`, then the
/// `anchors`, in order, keeping each one whose subject is the leaf's issuer **and** whose key
/// verifies the leaf's signature at `now` (checked with webpki, the candidate as the only trust
/// anchor). A subject match alone is not enough: a server could present a look-alike "issuer"
/// whose key it holds and sign its own proof.
pub fn find_issuer<'c>(
    leaf: &[u8],
    intermediates: &[&'c [u8]],
    anchors: &[&'c [u8]],
    now: UnixTime,
) -> Vec<&'c [u8]> {
    let Ok(leaf_view) = CertView::parse(leaf) else {
        return Vec::new();
    };
    let leaf_der = CertificateDer::from(leaf);
    let Ok(ee) = webpki::EndEntityCert::try_from(&leaf_der) else {
        return Vec::new();
    };
    intermediates
        .iter()
        .chain(anchors)
        .copied()
        .filter(|candidate| {
            CertView::parse(candidate).is_ok_and(|v| v.subject == leaf_view.issuer)
                && signed_by(&ee, candidate, now)
        })
        .collect()
}

fn signed_by(ee: &webpki::EndEntityCert<'_>, issuer: &[u8], now: UnixTime) -> bool {
    let issuer = CertificateDer::from(issuer);
    let Ok(anchor) = webpki::anchor_from_trusted_cert(&issuer) else {
        return false;
    };
    ee.verify_for_usage(
        mailstaple_verify::DEFAULT_ALGORITHMS,
        &[anchor],
        &[],
        now,
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )
    .is_ok()
}

/// Judges the stapled bytes (`staple`, empty when none was received) for `leaf`, whose chain
/// has already been verified, at `now`.
///
/// [`Mode::NotRequested`] ignores the staple. Otherwise the staple is verified with
/// `mailstaple_verify::verify` against each issuer [`find_issuer`] returns, the first success
/// winning; an authentic answer is classified by its status, a failure by its kind (stale
/// times are [`Finding::OutOfDate`], everything else [`Finding::Unverifiable`]).
pub fn judge(
    mode: Mode,
    staple: &[u8],
    leaf: &[u8],
    intermediates: &[&[u8]],
    anchors: &[&[u8]],
    now: UnixTime,
    policy: &Policy,
) -> OcspOutcome {
    let finding = if mode == Mode::NotRequested {
        Finding::NotRequested {
            staple_ignored: !staple.is_empty(),
        }
    } else if staple.is_empty() {
        Finding::NoStaple
    } else {
        verify_any(
            staple,
            leaf,
            &find_issuer(leaf, intermediates, anchors, now),
            now,
            policy,
        )
    };
    OcspOutcome::new(mode, finding)
}

fn verify_any(
    staple: &[u8],
    leaf: &[u8],
    issuers: &[&[u8]],
    now: UnixTime,
    policy: &Policy,
) -> Finding {
    let mut first_error = None;
    for issuer in issuers {
        match mailstaple_verify::verify(staple, leaf, issuer, now, policy) {
            Ok(verified) => return classify(&verified),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        None => Finding::IssuerNotFound,
        Some(
            e @ (VerifyError::NotYetValid { .. }
            | VerifyError::Expired { .. }
            | VerifyError::NoNextUpdate
            | VerifyError::TooOld { .. }
            | VerifyError::NextUpdateBeforeThisUpdate),
        ) => Finding::OutOfDate(e),
        Some(e) => Finding::Unverifiable(e),
    }
}

fn classify(verified: &VerifiedStaple) -> Finding {
    match verified.status() {
        Status::Good => Finding::Good {
            this_update: verified.this_update(),
            next_update: verified.next_update(),
            effective_expiry: verified.effective_expiry(),
        },
        Status::Revoked { time, reason } => Finding::Revoked { time, reason },
        _ => Finding::Unknown,
    }
}
