//! Fuzz harness logic; the targets under `fuzz/` are one-line shims over these functions.
//!
//! Each function asserts properties, not just the absence of panics.

use crate::{BasicResponse, CertView, OcspRequest, OcspResponse};

/// `ocsp_parse`: decode arbitrary bytes as a response, a basic response, a request and a
/// certificate. Whatever decodes must be internally consistent.
pub fn parse(data: &[u8]) {
    if let Ok(OcspResponse {
        basic: Some(basic), ..
    }) = OcspResponse::parse(data)
    {
        check_basic(data, &basic);
        #[cfg(feature = "fuzz-differential")]
        differential::compare(data, &basic);
        // The tbs bytes are a sub-slice of the input and decode again identically.
        let again = OcspResponse::parse(data).ok().and_then(|r| r.basic);
        assert_eq!(again.map(|b| b.tbs_raw), Some(basic.tbs_raw));
    }
    if let Ok(basic) = BasicResponse::parse(data) {
        check_basic(data, &basic);
    }
    if let Ok(req) = OcspRequest::parse(data) {
        assert!(!req.cert_ids.is_empty());
        let _ = req.nonce_extension();
    }
    if let Ok(cert) = CertView::parse(data) {
        let _ = cert.ocsp_urls();
        let _ = cert.must_staple();
        let _ = cert.is_ocsp_signer();
        let _ = crate::name_to_string(cert.subject);
        // A certificate matched against itself as issuer exercises every hash path.
        for hash in [crate::HashAlgorithm::Sha1, crate::HashAlgorithm::Sha256] {
            let id = crate::CertId::new(&cert, &cert, hash);
            assert!(OcspRequest::parse(&crate::build_request(&[id], Some(b"n"))).is_ok());
        }
    }
}

fn check_basic(data: &[u8], basic: &BasicResponse<'_>) {
    let range = data.as_ptr_range();
    assert!(
        range.contains(&basic.tbs_raw.as_ptr()),
        "tbs_raw must borrow the input"
    );
    for single in &basic.responses {
        let _ = single.cert_id.hash();
        if let Some(next) = single.next_update {
            let _ = next.to_string();
        }
    }
    let _ = basic.nonce();
    let _ = basic.produced_at.to_string();
    if let crate::ResponderId::ByName(n) = basic.responder_id {
        let _ = crate::name_to_string(n);
    }
}

/// Where both decoders accept a response, ours and rasn-ocsp agree on every field we expose.
#[cfg(feature = "fuzz-differential")]
#[allow(clippy::panic)] // A disagreement is the finding: the fuzzer needs the panic.
mod differential {
    use crate::{BasicResponse, CertStatus, ResponderId};

    fn int_contents(i: &rasn::types::Integer) -> Option<Vec<u8>> {
        let tlv = rasn::der::encode(i).ok()?;
        tlv.get(2..).map(<[u8]>::to_vec)
    }

    pub(super) fn compare(data: &[u8], ours: &BasicResponse<'_>) {
        let Ok(outer) = rasn::der::decode::<rasn_ocsp::OcspResponse>(data) else {
            return;
        };
        let Some(bytes) = outer.bytes else { return };
        let Ok(theirs) = rasn::der::decode::<rasn_ocsp::BasicOcspResponse>(&bytes.response) else {
            return;
        };
        assert_eq!(ours.signature, theirs.signature.as_raw_slice(), "signature");
        assert_eq!(
            ours.certs.len(),
            theirs.certs.as_ref().map_or(0, Vec::len),
            "certs"
        );
        let tbs = &theirs.tbs_response_data;
        assert_eq!(
            ours.produced_at.unix(),
            tbs.produced_at.timestamp(),
            "producedAt"
        );
        match (&ours.responder_id, &tbs.responder_id) {
            (ResponderId::ByKeyHash(a), rasn_ocsp::ResponderId::ByKey(b)) => assert_eq!(*a, &b[..]),
            (ResponderId::ByName(_), rasn_ocsp::ResponderId::ByName(_)) => {}
            (a, b) => panic!("responderID differs: {a:?} vs {b:?}"),
        }
        assert_eq!(ours.responses.len(), tbs.responses.len(), "responses");
        for (a, b) in ours.responses.iter().zip(&tbs.responses) {
            assert_eq!(
                Some(a.cert_id.serial.to_vec()),
                int_contents(&b.cert_id.serial_number)
            );
            assert_eq!(a.cert_id.issuer_name_hash, &b.cert_id.issuer_name_hash[..]);
            assert_eq!(a.cert_id.issuer_key_hash, &b.cert_id.issuer_key_hash[..]);
            assert_eq!(
                a.this_update.unix(),
                b.this_update.timestamp(),
                "thisUpdate"
            );
            assert_eq!(
                a.next_update.map(crate::Time::unix),
                b.next_update.map(|t| t.timestamp())
            );
            match (&a.status, &b.cert_status) {
                (CertStatus::Good, rasn_ocsp::CertStatus::Good)
                | (CertStatus::Unknown, rasn_ocsp::CertStatus::Unknown(_)) => {}
                (CertStatus::Revoked { time, reason }, rasn_ocsp::CertStatus::Revoked(info)) => {
                    assert_eq!(
                        time.unix(),
                        info.revocation_time.timestamp(),
                        "revocationTime"
                    );
                    if let (Some(r), Some(t)) = (reason, info.revocation_reason) {
                        assert_eq!(r.0, t as u8, "revocationReason");
                    }
                }
                (x, y) => panic!("status differs: {x:?} vs {y:?}"),
            }
        }
    }
}
