//! The OCSP response builder: RFC 6960 §4.2.1 structures written by hand in DER, signed over the
//! exact `tbsResponseData` bytes, with a knob for every defect a decoder or verifier must catch.

use sha1::Digest as _;

use crate::der;
use crate::pki::{Cert, Pki};
use crate::sign;
use crate::{DAY, HOUR, KeyAlg, NOW};

/// `id-pkix-ocsp-basic` (RFC 6960 §4.2.1).
const OID_OCSP_BASIC: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 1];
/// `id-pkix-ocsp-nonce` (RFC 6960 §4.4.1).
const OID_OCSP_NONCE: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 2];

/// The `certStatus` of a SingleResponse (RFC 6960 §4.2.1).
///
/// ```text
/// CertStatus ::= CHOICE {
///     good        [0]     IMPLICIT NULL,
///     revoked     [1]     IMPLICIT RevokedInfo,
///     unknown     [2]     IMPLICIT UnknownInfo }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// `good`.
    Good,
    /// `revoked`, with `revocationTime` (unix seconds) and an optional `revocationReason`
    /// CRLReason value (RFC 5280 §5.3.1; for example 1 is keyCompromise).
    Revoked {
        /// `revocationTime`, unix seconds.
        time: u64,
        /// `revocationReason`, a CRLReason value, or `None` to leave it out.
        reason: Option<u8>,
    },
    /// `unknown`.
    Unknown,
}

/// The hash algorithm of a CertID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-1 (1.3.14.3.2.26), what OpenSSL and most responders use.
    Sha1,
    /// SHA-256 (2.16.840.1.101.3.4.2.1).
    Sha256,
}

impl HashAlg {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha1 => sha1::Sha1::digest(data).to_vec(),
            HashAlg::Sha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    fn arcs(self) -> &'static [u64] {
        match self {
            HashAlg::Sha1 => sign::sha1_arcs(),
            HashAlg::Sha256 => sign::sha256_arcs(),
        }
    }
}

/// Which ResponderID choice the response uses (RFC 6960 §4.2.1).
///
/// ```text
/// ResponderID ::= CHOICE {
///    byName   [1] Name,
///    byKey    [2] KeyHash }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponderIdKind {
    /// `byName`: the signer certificate's subject Name.
    ByName,
    /// `byKey`: SHA-1 of the signer's subjectPublicKey BIT STRING contents.
    ByKeyHash,
}

/// The `signatureAlgorithm` of the BasicOCSPResponse and how the signature is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigAlg {
    /// sha1WithRSAEncryption (1.2.840.113549.1.1.5), NULL parameters.
    RsaPkcs1Sha1,
    /// sha256WithRSAEncryption (1.2.840.113549.1.1.11), NULL parameters.
    RsaPkcs1Sha256,
    /// sha384WithRSAEncryption (1.2.840.113549.1.1.12), NULL parameters.
    RsaPkcs1Sha384,
    /// sha512WithRSAEncryption (1.2.840.113549.1.1.13), NULL parameters.
    RsaPkcs1Sha512,
    /// RSASSA-PSS (1.2.840.113549.1.1.10), SHA-256, MGF1-SHA-256, salt 32 (RFC 4055 §3.1).
    RsaPssSha256,
    /// RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48.
    RsaPssSha384,
    /// RSASSA-PSS, SHA-512, MGF1-SHA-512, salt 64.
    RsaPssSha512,
    /// ecdsa-with-SHA256 (1.2.840.10045.4.3.2), no parameters; any ECDSA curve.
    EcdsaSha256,
    /// ecdsa-with-SHA384 (1.2.840.10045.4.3.3), no parameters; any ECDSA curve.
    EcdsaSha384,
    /// ecdsa-with-SHA512 (1.2.840.10045.4.3.4), no parameters; any ECDSA curve.
    EcdsaSha512,
    /// Ed25519 (1.3.101.112), no parameters.
    Ed25519,
}

impl SigAlg {
    /// Every signature algorithm.
    pub const ALL: [SigAlg; 11] = [
        SigAlg::RsaPkcs1Sha1,
        SigAlg::RsaPkcs1Sha256,
        SigAlg::RsaPkcs1Sha384,
        SigAlg::RsaPkcs1Sha512,
        SigAlg::RsaPssSha256,
        SigAlg::RsaPssSha384,
        SigAlg::RsaPssSha512,
        SigAlg::EcdsaSha256,
        SigAlg::EcdsaSha384,
        SigAlg::EcdsaSha512,
        SigAlg::Ed25519,
    ];

    /// Whether a signature of this algorithm can be made with a key of algorithm `key`.
    pub fn usable_with(self, key: KeyAlg) -> bool {
        sign::compatible(key, self)
    }

    /// The DER `AlgorithmIdentifier` written as `signatureAlgorithm`.
    pub fn algorithm_identifier(self) -> Vec<u8> {
        sign::sig_alg_id(self)
    }

    /// The `AlgorithmIdentifier` with the parameters left out, as some CAs write the RSA PKCS#1
    /// algorithms (RFC 4055 §5 makes verifiers accept it); other algorithms have no parameters
    /// to leave out, or (RSA-PSS) need them, and are written as usual.
    pub fn algorithm_identifier_absent_params(self) -> Vec<u8> {
        sign::sig_alg_id_absent_params(self)
    }
}

/// Who signs the response.
#[derive(Clone, Copy, Debug)]
pub enum Signer<'a> {
    /// The CA that issued the certificate (the builder's issuer, [`Pki::intermediate`] unless
    /// [`ResponseBuilder::issuer`] says otherwise).
    Issuer,
    /// A delegated responder certificate, embedded in `certs` by default.
    Delegated(&'a Cert),
}

/// A deliberate flaw in the built response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    /// Flip a bit in the signature.
    BadSignature,
    /// The responderID names (or hashes) a different certificate than the signer: another
    /// certificate of the PKI (`other_ca`, or `root` when the signer is `other_ca`).
    WrongResponderId,
    /// Flip the first byte of the issuerNameHash in the first SingleResponse's CertID.
    WrongIssuerNameHash,
    /// Flip the first byte of the issuerKeyHash in the first SingleResponse's CertID.
    WrongIssuerKeyHash,
    /// Flip the low bit of the serialNumber in the first SingleResponse's CertID
    /// (the default leaf serial `1001` becomes `1000`).
    WrongSerial,
    /// Keep the signer's identity (responderID, embedded certificate) but sign with another key:
    /// `other_ca`'s, or `root`'s when the signer is `other_ca`.
    SignerOtherKey,
    /// Leave out the `certs` field even when a delegated signer signs.
    NoEmbeddedSigner,
    /// Truncate the final encoding by three bytes.
    MalformedDer,
    /// Append a DER NULL (`05 00`) after the OCSPResponse.
    TrailingData,
    /// Write `version [0] EXPLICIT INTEGER 0` in tbsResponseData (DER forbids encoding a DEFAULT
    /// value); the signature is valid over those bytes.
    ExplicitDefaultVersion,
    /// Write thisUpdate and producedAt as GeneralizedTime with a `.5` fraction of a second
    /// (`YYYYMMDDHHMMSS.5Z`, which RFC 5280 forbids); the signature is valid.
    FractionalSeconds,
}

impl Defect {
    /// Every defect.
    pub const ALL: [Defect; 11] = [
        Defect::BadSignature,
        Defect::WrongResponderId,
        Defect::WrongIssuerNameHash,
        Defect::WrongIssuerKeyHash,
        Defect::WrongSerial,
        Defect::SignerOtherKey,
        Defect::NoEmbeddedSigner,
        Defect::MalformedDer,
        Defect::TrailingData,
        Defect::ExplicitDefaultVersion,
        Defect::FractionalSeconds,
    ];
}

/// Builds one DER `OCSPResponse`; start from [`Pki::response`].
///
/// Defaults: about [`Pki::leaf`], issuer [`Pki::intermediate`], status good,
/// thisUpdate = producedAt = NOW−1h, nextUpdate NOW+7d, signed by the issuer with its key's
/// default [`SigAlg`], responderID byKey, CertID hash SHA-1, no nonce, responseStatus 0,
/// no defects.
#[derive(Clone, Debug)]
pub struct ResponseBuilder<'a> {
    pki: &'a Pki,
    cert: &'a Cert,
    issuer: &'a Cert,
    status: Status,
    this_update: u64,
    next_update: Option<u64>,
    produced_at: Option<u64>,
    signer: Signer<'a>,
    sig_alg: Option<SigAlg>,
    responder_id: ResponderIdKind,
    embed: Option<Vec<&'a Cert>>,
    hash: HashAlg,
    extra: Vec<(Vec<u8>, Status)>,
    nonce: Option<Vec<u8>>,
    response_exts: Vec<Vec<u8>>,
    single_exts: Vec<Vec<u8>>,
    absent_params: bool,
    response_status: u8,
    defects: Vec<Defect>,
}

impl<'a> ResponseBuilder<'a> {
    pub(crate) fn new(pki: &'a Pki) -> Self {
        ResponseBuilder {
            pki,
            cert: &pki.leaf,
            issuer: &pki.intermediate,
            status: Status::Good,
            this_update: NOW - HOUR,
            next_update: Some(NOW + 7 * DAY),
            produced_at: None,
            signer: Signer::Issuer,
            sig_alg: None,
            responder_id: ResponderIdKind::ByKeyHash,
            embed: None,
            hash: HashAlg::Sha1,
            extra: Vec::new(),
            nonce: None,
            response_exts: Vec::new(),
            single_exts: Vec::new(),
            absent_params: false,
            response_status: 0,
            defects: Vec::new(),
        }
    }

    /// The certificate the (first) SingleResponse is about: its serial number goes into the
    /// CertID. The issuer is not changed by this call.
    pub fn cert(mut self, c: &'a Cert) -> Self {
        self.cert = c;
        self
    }

    /// The CA whose subject Name and public key are hashed into every CertID, and which signs
    /// when the signer is [`Signer::Issuer`].
    pub fn issuer(mut self, c: &'a Cert) -> Self {
        self.issuer = c;
        self
    }

    /// The certStatus of the first SingleResponse (default [`Status::Good`]).
    pub fn status(mut self, s: Status) -> Self {
        self.status = s;
        self
    }

    /// thisUpdate of every SingleResponse, unix seconds (default NOW−1h).
    pub fn this_update(mut self, t: u64) -> Self {
        self.this_update = t;
        self
    }

    /// nextUpdate of every SingleResponse, or `None` to leave it out (default NOW+7d).
    pub fn next_update(mut self, t: Option<u64>) -> Self {
        self.next_update = t;
        self
    }

    /// producedAt, unix seconds (default: the thisUpdate value).
    pub fn produced_at(mut self, t: u64) -> Self {
        self.produced_at = Some(t);
        self
    }

    /// Who signs (default [`Signer::Issuer`]).
    pub fn signer(mut self, s: Signer<'a>) -> Self {
        self.signer = s;
        self
    }

    /// The signature algorithm. The default follows the signing key: RSA → PKCS#1 SHA-256,
    /// P-256 → ECDSA SHA-256, P-384 → ECDSA SHA-384, P-521 → ECDSA SHA-512, Ed25519 → Ed25519.
    ///
    /// [`build`](Self::build) panics if the algorithm does not fit the signing key
    /// ([`SigAlg::usable_with`]).
    pub fn sig_alg(mut self, a: SigAlg) -> Self {
        self.sig_alg = Some(a);
        self
    }

    /// The ResponderID choice (default [`ResponderIdKind::ByKeyHash`]).
    pub fn responder_id(mut self, k: ResponderIdKind) -> Self {
        self.responder_id = k;
        self
    }

    /// The certificates in the `certs` field, in order, replacing the default (the delegated
    /// signer alone; nothing for [`Signer::Issuer`]).
    /// An empty list leaves the field out.
    pub fn embed(mut self, certs: Vec<&'a Cert>) -> Self {
        self.embed = Some(certs);
        self
    }

    /// The CertID hash algorithm of every SingleResponse (default [`HashAlg::Sha1`]).
    pub fn hash(mut self, h: HashAlg) -> Self {
        self.hash = h;
        self
    }

    /// Appends another SingleResponse with the same issuer, hash and times, about the unsigned
    /// big-endian `serial`.
    pub fn extra_single(mut self, serial: Vec<u8>, status: Status) -> Self {
        self.extra.push((serial, status));
        self
    }

    /// Adds the `id-pkix-ocsp-nonce` response extension; its extnValue is an OCTET STRING
    /// wrapping the nonce, as OpenSSL writes it.
    pub fn nonce(mut self, n: Vec<u8>) -> Self {
        self.nonce = Some(n);
        self
    }

    /// Adds a `responseExtensions` entry (after the nonce, if any): OID arcs, the critical
    /// flag, and the extnValue contents.
    pub fn response_extension(mut self, oid: &[u64], critical: bool, value: Vec<u8>) -> Self {
        self.response_exts.push(extension(oid, critical, &value));
        self
    }

    /// Adds a `singleExtensions` entry to the first SingleResponse: OID arcs, the critical flag,
    /// and the extnValue contents (for example the RFC 6962 SCT list, 1.3.6.1.4.1.11129.2.4.5).
    pub fn single_extension(mut self, oid: &[u64], critical: bool, value: Vec<u8>) -> Self {
        self.single_exts.push(extension(oid, critical, &value));
        self
    }

    /// Writes the response's `signatureAlgorithm` with its parameters absent (see
    /// [`SigAlg::algorithm_identifier_absent_params`]); the signature is the same.
    pub fn sig_alg_params_absent(mut self) -> Self {
        self.absent_params = true;
        self
    }

    /// The OCSPResponseStatus (default 0, successful). Any other value produces an
    /// `OCSPResponse { responseStatus }` without responseBytes.
    pub fn response_status(mut self, s: u8) -> Self {
        self.response_status = s;
        self
    }

    /// Adds a defect; may be called several times.
    pub fn defect(mut self, d: Defect) -> Self {
        self.defects.push(d);
        self
    }

    fn has(&self, d: Defect) -> bool {
        self.defects.contains(&d)
    }

    /// The certificate whose identity (responderID, default embedding) the response claims.
    fn nominal_signer(&self) -> &'a Cert {
        match self.signer {
            Signer::Issuer => self.issuer,
            Signer::Delegated(c) => c,
        }
    }

    /// The first of `other_ca`, `root`, `leaf` whose key differs from `c`'s.
    fn other_key_than(&self, c: &Cert) -> &'a Cert {
        let pki = self.pki;
        [&pki.other_ca, &pki.root, &pki.leaf]
            .into_iter()
            .find(|o| o.spki_bits() != c.spki_bits())
            .expect("the PKI has certificates with distinct keys")
    }

    /// The first of `other_ca`, `root`, `leaf` whose subject differs from `c`'s.
    fn other_name_than(&self, c: &Cert) -> &'a Cert {
        let pki = self.pki;
        [&pki.other_ca, &pki.root, &pki.leaf]
            .into_iter()
            .find(|o| o.subject_der() != c.subject_der())
            .expect("the PKI has certificates with distinct names")
    }

    /// The `tbsResponseData` DER, exactly the bytes that are signed.
    pub fn tbs_response_data(&self) -> Vec<u8> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        if self.has(Defect::ExplicitDefaultVersion) {
            parts.push(der::context(0, &der::small_uint(0)));
        }
        let nominal = self.nominal_signer();
        let wrong = self.has(Defect::WrongResponderId);
        parts.push(match self.responder_id {
            ResponderIdKind::ByName => {
                let who = if wrong {
                    self.other_name_than(nominal)
                } else {
                    nominal
                };
                der::context(1, who.subject_der())
            }
            ResponderIdKind::ByKeyHash => {
                let who = if wrong {
                    self.other_key_than(nominal)
                } else {
                    nominal
                };
                der::context(
                    2,
                    &der::octet_string(&HashAlg::Sha1.digest(who.spki_bits())),
                )
            }
        });
        let fraction = self.has(Defect::FractionalSeconds).then_some("5");
        parts.push(der::generalized_time(
            self.produced_at.unwrap_or(self.this_update),
            fraction,
        ));

        let mut singles = vec![self.single(self.cert.serial().to_vec(), self.status, true)];
        for (serial, status) in &self.extra {
            singles.push(self.single(der::uint_contents(serial), *status, false));
        }
        parts.push(der::tlv(der::tag::SEQUENCE, &singles.concat()));

        let mut exts: Vec<Vec<u8>> = Vec::new();
        if let Some(nonce) = &self.nonce {
            exts.push(extension(OID_OCSP_NONCE, false, &der::octet_string(nonce)));
        }
        exts.extend(self.response_exts.iter().cloned());
        if !exts.is_empty() {
            parts.push(der::context(
                1,
                &der::tlv(der::tag::SEQUENCE, &exts.concat()),
            ));
        }
        der::tlv(der::tag::SEQUENCE, &parts.concat())
    }

    /// One SingleResponse; `serial` is the INTEGER contents; `first` selects the CertID defects.
    fn single(&self, mut serial: Vec<u8>, status: Status, first: bool) -> Vec<u8> {
        let issuer = self.issuer.fields();
        let mut name_hash = self.hash.digest(issuer.subject);
        let mut key_hash = self.hash.digest(issuer.spki_bits);
        if first {
            if self.has(Defect::WrongIssuerNameHash) {
                name_hash[0] ^= 0xff;
            }
            if self.has(Defect::WrongIssuerKeyHash) {
                key_hash[0] ^= 0xff;
            }
            if self.has(Defect::WrongSerial) {
                *serial.last_mut().expect("an INTEGER has contents") ^= 0x01;
            }
        }
        let cert_id = der::seq(&[
            &sign::hash_alg_id(self.hash.arcs()),
            &der::octet_string(&name_hash),
            &der::octet_string(&key_hash),
            &der::tlv(der::tag::INTEGER, &serial),
        ]);
        let cert_status = match status {
            Status::Good => der::context_primitive(0, &[]),
            Status::Revoked { time, reason } => {
                let mut info = der::generalized_time(time, None);
                if let Some(reason) = reason {
                    info.extend_from_slice(&der::context(0, &der::enumerated(reason)));
                }
                der::context(1, &info)
            }
            Status::Unknown => der::context_primitive(2, &[]),
        };
        let fraction = self.has(Defect::FractionalSeconds).then_some("5");
        let this_update = der::generalized_time(self.this_update, fraction);
        let next_update = match self.next_update {
            Some(t) => der::context(0, &der::generalized_time(t, None)),
            None => Vec::new(),
        };
        let single_exts = if first && !self.single_exts.is_empty() {
            der::context(1, &der::tlv(der::tag::SEQUENCE, &self.single_exts.concat()))
        } else {
            Vec::new()
        };
        der::seq(&[
            &cert_id,
            &cert_status,
            &this_update,
            &next_update,
            &single_exts,
        ])
    }

    /// The DER `OCSPResponse`.
    pub fn build(&self) -> Vec<u8> {
        let mut out = if self.response_status == 0 {
            let basic = self.basic_response();
            let response_bytes = der::seq(&[&der::oid(OID_OCSP_BASIC), &der::octet_string(&basic)]);
            der::seq(&[&der::enumerated(0), &der::context(0, &response_bytes)])
        } else {
            der::seq(&[&der::enumerated(self.response_status)])
        };
        if self.has(Defect::MalformedDer) {
            out.truncate(out.len().saturating_sub(3));
        }
        if self.has(Defect::TrailingData) {
            out.extend_from_slice(&der::null());
        }
        out
    }

    /// The DER `BasicOCSPResponse`.
    pub fn basic_response(&self) -> Vec<u8> {
        let tbs = self.tbs_response_data();
        let nominal = self.nominal_signer();
        let signing = if self.has(Defect::SignerOtherKey) {
            self.other_key_than(nominal)
        } else {
            nominal
        };
        let alg = self
            .sig_alg
            .unwrap_or_else(|| sign::default_sig_alg(signing.alg));
        let mut signature = sign::sign(signing.key.serialized_der(), signing.alg, alg, &tbs);
        if self.has(Defect::BadSignature) {
            *signature.last_mut().expect("signatures are not empty") ^= 0x01;
        }
        let certs: Vec<&Cert> = if self.has(Defect::NoEmbeddedSigner) {
            Vec::new()
        } else {
            match (&self.embed, self.signer) {
                (Some(list), _) => list.clone(),
                (None, Signer::Issuer) => Vec::new(),
                (None, Signer::Delegated(c)) => vec![c],
            }
        };
        let certs_field = if certs.is_empty() {
            Vec::new()
        } else {
            let list: Vec<u8> = certs.iter().flat_map(|c| c.der.iter().copied()).collect();
            der::context(0, &der::tlv(der::tag::SEQUENCE, &list))
        };
        let alg_id = if self.absent_params {
            sign::sig_alg_id_absent_params(alg)
        } else {
            sign::sig_alg_id(alg)
        };
        der::seq(&[&tbs, &alg_id, &der::bit_string(&signature), &certs_field])
    }
}

/// `Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`
/// (RFC 5280 §4.1); DER leaves out a FALSE critical flag.
pub(crate) fn extension(oid: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    let flag = if critical {
        der::tlv(der::tag::BOOLEAN, &[0xff])
    } else {
        Vec::new()
    };
    der::seq(&[&der::oid(oid), &flag, &der::octet_string(value)])
}
