//! The rustls adapter: the only module that names rustls types.
//!
//! [`PolicyClient`] holds what is shared by every connection (the webpki verifier over the
//! trust anchors, the crypto provider, the time provider, the session cache). For each
//! connection, [`PolicyClient::connect`] takes the host's [`Decision`] and returns a
//! [`PolicyConnection`]: a `ClientConfig` whose verifier
//!
//! 1. delegates the chain and name checks to rustls' `WebPkiServerVerifier`;
//! 2. then [`judge`]s the stapled bytes rustls hands it (an empty slice when none was stapled)
//!    at rustls' `now`, which comes from the configured `TimeProvider`;
//! 3. fails the handshake when the [`OcspOutcome`] aborts, and records the outcome either way.
//!
//! After the handshake, [`PolicyConnection::conclude`] turns the recorded outcome (or its absence)
//! and the handshake result into a [`Delivery`] through [`delivery`].
//!
//! **Resumption.** rustls does not call the verifier on a resumed session. Every config this
//! module builds has resumption disabled: each connection has its own verifier (it records that
//! connection's outcome), and rustls only resumes a session made through the same verifier
//! instance, so a shared session cache would never be used anyway. This matches Exim's default
//! (`tls_resumption_hosts` unset: no client resumption). Defence in depth: whatever a config
//! says, a handshake that completed without the verifier is "not checked", which never passes a
//! requirement (Require defers with `Required TLS certificate status not received`; Request
//! reports 1, never an inherited 4).
//!
//! **rustls 0.24.** `ServerCertVerifier` becomes `ServerVerifier::verify_identity`, and
//! `request_ocsp_response()` lets the verifier decline to send `status_request`: it would return
//! `self.mode != Mode::NotRequested`. Both changes stay in this module.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::time_provider::TimeProvider;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore,
    SignatureScheme,
};

use crate::{
    Decision, Delivery, Error, Mode, OcspOutcome, TrustStore, VerifyPolicy, delivery, judge,
};

/// What every connection shares: the webpki verifier over the trust anchors, the crypto
/// provider, the clock and the staple verification policy.
pub struct PolicyClient {
    webpki: Arc<WebPkiServerVerifier>,
    anchors: Arc<TrustStore>,
    provider: Arc<CryptoProvider>,
    time: Arc<dyn TimeProvider>,
    verify_policy: VerifyPolicy,
}

impl fmt::Debug for PolicyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyClient")
            .field("anchors", &self.anchors.len())
            .field("verify_policy", &self.verify_policy)
            .finish_non_exhaustive()
    }
}

impl PolicyClient {
    /// A client trusting `trust`, using `provider` for TLS and `time` for every certificate and
    /// staple check (rustls passes the time provider's `now` to the verifier).
    pub fn new(
        trust: TrustStore,
        provider: Arc<CryptoProvider>,
        time: Arc<dyn TimeProvider>,
    ) -> Result<PolicyClient, Error> {
        let mut roots = RootCertStore::empty();
        let (added, _unparsable) = roots.add_parsable_certificates(trust.certs().iter().cloned());
        if added == 0 {
            return Err(Error::NoTrustAnchors {
                source: format!("{} certificates given", trust.len()),
            });
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| Error::Tls(e.to_string()))?;
        Ok(PolicyClient {
            webpki,
            anchors: Arc::new(trust),
            provider,
            time,
            verify_policy: VerifyPolicy::default(),
        })
    }

    /// Uses `policy` for staple verification (default: `mailstaple_verify::Policy::default()`,
    /// 300 s skew as Exim).
    pub fn with_verify_policy(mut self, policy: VerifyPolicy) -> PolicyClient {
        self.verify_policy = policy;
        self
    }

    /// The TLS configuration for one connection to a host with this decision. Use one
    /// [`PolicyConnection`] per connection: its verifier records that connection's outcome.
    pub fn connect(&self, decision: Decision) -> Result<PolicyConnection, Error> {
        let verifier = Arc::new(OcspVerifier {
            webpki: self.webpki.clone(),
            anchors: self.anchors.clone(),
            mode: decision.mode,
            policy: self.verify_policy.clone(),
            outcome: Mutex::new(None),
        });
        let mut config =
            ClientConfig::builder_with_details(self.provider.clone(), self.time.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::Tls(e.to_string()))?
                .dangerous()
                .with_custom_certificate_verifier(verifier.clone())
                .with_no_client_auth();
        // Never resume: see the module documentation.
        config.resumption = Resumption::disabled();
        Ok(PolicyConnection {
            config: Arc::new(config),
            verifier,
            decision,
        })
    }
}

/// One connection's configuration, decision and recorded outcome.
#[derive(Debug)]
pub struct PolicyConnection {
    config: Arc<ClientConfig>,
    verifier: Arc<OcspVerifier>,
    decision: Decision,
}

impl PolicyConnection {
    /// The rustls configuration to connect with.
    pub fn config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// The decision it was made for.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// What the verifier found in this connection's handshake (Exim's `$tls_out_ocsp` and the
    /// reason, also when the delivery goes on), or `None` when it has not run (yet).
    /// [`PolicyConnection::conclude`] consumes it, so call this first.
    pub fn outcome(&self) -> Option<OcspOutcome> {
        self.verifier.peek()
    }

    /// After the handshake: its result (`Err` with the TLS error when it failed) becomes the
    /// delivery decision. Takes the recorded outcome, so a handshake that did not run the
    /// verifier (a resumed session) is never judged by an earlier one's outcome.
    pub fn conclude(&self, handshake: Result<(), &dyn fmt::Display>) -> Delivery {
        let outcome = self.verifier.take();
        let error = handshake.err().map(ToString::to_string);
        delivery(&self.decision, outcome.as_ref(), error.as_deref())
    }
}

/// The `ServerCertVerifier`: webpki for the chain and name, then the staple.
#[derive(Debug)]
struct OcspVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    anchors: Arc<TrustStore>,
    mode: Mode,
    policy: VerifyPolicy,
    outcome: Mutex<Option<OcspOutcome>>,
}

impl OcspVerifier {
    fn peek(&self) -> Option<OcspOutcome> {
        self.outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn take(&self) -> Option<OcspOutcome> {
        self.outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl ServerCertVerifier for OcspVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // A staple about a certificate that does not verify means nothing: chain and name first.
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, &[], now)?;
        let intermediates: Vec<&[u8]> = intermediates.iter().map(|c| c.as_ref()).collect();
        let anchors: Vec<&[u8]> = self.anchors.certs().iter().map(|c| c.as_ref()).collect();
        let outcome = judge(
            self.mode,
            ocsp_response,
            end_entity,
            &intermediates,
            &anchors,
            now,
            &self.policy,
        );
        let aborts = outcome.aborts();
        if aborts || outcome.status() == crate::OcspStatus::Failed {
            log::warn!("{} {outcome}", server_name.to_str());
        } else {
            log::debug!("{} {outcome}", server_name.to_str());
        }
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome.clone());
        if aborts {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(outcome)),
            )));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
