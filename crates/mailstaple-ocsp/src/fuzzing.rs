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
