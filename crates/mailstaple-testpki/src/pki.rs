//! The certificate hierarchy: a root, an issuing intermediate, leaves and OCSP signers of every
//! flavour, generated with rcgen at fixed validity periods around [`NOW`](crate::NOW).

use std::path::Path;
use std::sync::OnceLock;

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};

use crate::der;
use crate::response::{ResponseBuilder, SigAlg};
use crate::sign;
use crate::{DAY, KeyAlg, NOW};

/// A certificate with its private key.
pub struct Cert {
    /// The DER `Certificate`.
    pub der: Vec<u8>,
    /// The private key (its PKCS#8 DER is `key.serialized_der()`).
    pub key: KeyPair,
    /// The algorithm of `key`.
    pub alg: KeyAlg,
}

impl Cert {
    /// The certificate as a PEM `CERTIFICATE` block.
    pub fn pem(&self) -> String {
        crate::pem::encode("CERTIFICATE", &self.der)
    }

    /// The private key as a PKCS#8 PEM `PRIVATE KEY` block.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// The DER of the certificate's subject Name.
    pub fn subject_der(&self) -> &[u8] {
        self.fields().subject
    }

    /// The DER of the certificate's issuer Name.
    pub fn issuer_der(&self) -> &[u8] {
        self.fields().issuer
    }

    /// The contents of the certificate's `serialNumber` INTEGER, as encoded.
    pub fn serial(&self) -> &[u8] {
        self.fields().serial
    }

    /// The `subjectPublicKey` BIT STRING contents without the unused-bits octet: the bytes whose
    /// SHA-1 is an OCSP `byKey` ResponderID or issuerKeyHash.
    pub fn spki_bits(&self) -> &[u8] {
        self.fields().spki_bits
    }

    /// The same certificate re-signed by `by` with `alg`, the `signature` field of the
    /// tbsCertificate and the outer `signatureAlgorithm` rewritten to match, their parameters
    /// left out when `absent_params` (see [`SigAlg::algorithm_identifier_absent_params`]).
    /// rcgen signs with SHA-2 only; this makes the SHA-1-signed responder certificates some
    /// CAs still issue. The key is the same.
    ///
    /// Panics if `alg` cannot be made with `by`'s key.
    pub fn resigned(&self, by: &Cert, alg: SigAlg, absent_params: bool) -> Cert {
        let alg_id = if absent_params {
            sign::sig_alg_id_absent_params(alg)
        } else {
            sign::sig_alg_id(alg)
        };
        let (outer, _) = der::expect(&self.der, der::tag::SEQUENCE).expect("a certificate");
        let (tbs, _) = der::expect(outer.content, der::tag::SEQUENCE).expect("a tbsCertificate");
        let mut rest = tbs.content;
        let mut head: Vec<u8> = Vec::new();
        if let Some((version, after)) = der::read(rest)
            && version.tag == 0xa0
        {
            head.extend_from_slice(version.full);
            rest = after;
        }
        let (serial, rest) = der::expect(rest, der::tag::INTEGER).expect("a serialNumber");
        head.extend_from_slice(serial.full);
        let (_old_alg, rest) = der::expect(rest, der::tag::SEQUENCE).expect("a signature field");
        let new_tbs = der::seq(&[&head, &alg_id, rest]);
        let signature = sign::sign(by.key.serialized_der(), by.alg, alg, &new_tbs);
        let key = KeyPair::from_pem_and_sign_algo(&self.key.serialize_pem(), self.key.algorithm())
            .expect("rcgen reloads its own key");
        Cert {
            der: der::seq(&[&new_tbs, &alg_id, &der::bit_string(&signature)]),
            key,
            alg: self.alg,
        }
    }

    pub(crate) fn fields(&self) -> der::CertFields<'_> {
        der::cert_fields(&self.der).expect("Cert::der is a well-formed X.509 certificate")
    }
}

impl std::fmt::Debug for Cert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cert")
            .field("alg", &self.alg)
            .field("der_len", &self.der.len())
            .finish_non_exhaustive()
    }
}

/// Knobs for [`Pki::with_options`].
#[derive(Clone, Debug)]
pub struct PkiOptions {
    /// The key algorithm of every certificate in the hierarchy.
    pub alg: KeyAlg,
    /// Whether the leaf carries the TLS Feature extension asking for `status_request`
    /// (RFC 7633 "must-staple").
    pub must_staple: bool,
    /// The `id-ad-ocsp` URL written into the Authority Information Access extension of both
    /// leaves; `None` leaves the extension out.
    /// Default `Some("http://127.0.0.1:8888/")`.
    pub ocsp_url: Option<String>,
    /// The unsigned big-endian serial number of the leaf. Default `[0x10, 0x01]`.
    pub leaf_serial: Vec<u8>,
}

impl PkiOptions {
    /// The defaults: no must-staple, OCSP URL `http://127.0.0.1:8888/`, leaf serial `0x1001`.
    pub fn new(alg: KeyAlg) -> Self {
        PkiOptions {
            alg,
            must_staple: false,
            ocsp_url: Some("http://127.0.0.1:8888/".to_owned()),
            leaf_serial: vec![0x10, 0x01],
        }
    }
}

/// A complete test PKI. Every certificate uses the same key algorithm and a fixed, distinct
/// serial number; validity periods are fixed offsets from [`NOW`].
///
/// | field | issued by | serial | validity | notes |
/// |---|---|---|---|---|
/// | `root` | itself | `01` | NOW−365d .. NOW+3650d | CA |
/// | `intermediate` | `root` | `02` | NOW−365d .. NOW+1825d | CA, pathLen 0 |
/// | `leaf` | `intermediate` | options (`1001`) | NOW−30d .. NOW+90d | `mail.example.test` |
/// | `other_leaf` | `intermediate` | `1002` | NOW−30d .. NOW+90d | `other.example.test` |
/// | `signer` | `intermediate` | `2001` | NOW−30d .. NOW+365d | OCSPSigning, ocsp-nocheck |
/// | `signer_no_eku` | `intermediate` | `2002` | NOW−30d .. NOW+365d | no EKU |
/// | `signer_expired` | `intermediate` | `2003` | NOW−60d .. NOW−1d | OCSPSigning |
/// | `signer_not_yet_valid` | `intermediate` | `2004` | NOW+1d .. NOW+365d | OCSPSigning |
/// | `signer_short` | `intermediate` | `2005` | NOW−30d .. NOW+1d | OCSPSigning |
/// | `other_ca` | itself | `03` | NOW−365d .. NOW+3650d | unrelated CA |
/// | `rogue_signer` | `other_ca` | `3001` | NOW−30d .. NOW+365d | OCSPSigning |
pub struct Pki {
    /// Self-signed root CA.
    pub root: Cert,
    /// The issuing CA of the leaves and signers (the "issuer" in OCSP terms), signed by `root`.
    pub intermediate: Cert,
    /// The server certificate: CN and DNS SAN `mail.example.test`, EKU serverAuth, AIA OCSP URL
    /// when [`PkiOptions::ocsp_url`] is set, TLS Feature `status_request` when
    /// [`PkiOptions::must_staple`] is set.
    pub leaf: Cert,
    /// Delegated OCSP responder: EKU id-kp-OCSPSigning and id-pkix-ocsp-nocheck.
    pub signer: Cert,
    /// Like `signer` but without the OCSPSigning EKU (and without ocsp-nocheck).
    pub signer_no_eku: Cert,
    /// OCSP signer that expired a day before [`NOW`].
    pub signer_expired: Cert,
    /// OCSP signer that becomes valid a day after [`NOW`].
    pub signer_not_yet_valid: Cert,
    /// OCSP signer that expires a day after [`NOW`], before the default nextUpdate (NOW+7d).
    pub signer_short: Cert,
    /// An unrelated self-signed CA.
    pub other_ca: Cert,
    /// An OCSP signer (with the OCSPSigning EKU) issued by `other_ca`.
    pub rogue_signer: Cert,
    /// A second leaf issued by `intermediate`, serial `0x1002`, `other.example.test`.
    pub other_leaf: Cert,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("alg", &self.root.alg)
            .finish_non_exhaustive()
    }
}

const OID_AIA: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
const OID_AD_OCSP: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1];
const OID_TLS_FEATURE: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 24];
const OID_OCSP_NOCHECK: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5];

impl Pki {
    /// A fresh PKI with [`PkiOptions::new`]`(alg)`.
    ///
    /// Key generation is slow (RSA especially); prefer [`Pki::shared`] unless the test needs its
    /// own keys.
    pub fn new(alg: KeyAlg) -> Pki {
        Pki::with_options(PkiOptions::new(alg))
    }

    /// A fresh PKI with the given options.
    pub fn with_options(opts: PkiOptions) -> Pki {
        let alg = opts.alg;
        let days = |d: i64| i64::try_from(NOW).expect("NOW fits") + d * DAY as i64;

        let root_params = ca_params("mailstaple test root", alg, 1, days(-365), days(3650), None);
        let root = make(alg, root_params.clone(), None);
        let root_issuer = Issuer::new(root_params, &root.key);

        let int_params = intermediate_params(alg);
        let intermediate = make(alg, int_params.clone(), Some(&root_issuer));
        let int_issuer = Issuer::new(int_params, &intermediate.key);

        let leaf = make(
            alg,
            leaf_params(
                "mail.example.test",
                &opts.leaf_serial,
                alg,
                opts.ocsp_url.as_deref(),
                opts.must_staple,
            ),
            Some(&int_issuer),
        );
        let other_leaf = make(
            alg,
            leaf_params(
                "other.example.test",
                &[0x10, 0x02],
                alg,
                opts.ocsp_url.as_deref(),
                false,
            ),
            Some(&int_issuer),
        );

        let signer_cert =
            |cn: &str, serial: &[u8], from: i64, to: i64, eku: bool, by: &Issuer<'_, &KeyPair>| {
                make(alg, signer_params(cn, serial, from, to, eku), Some(by))
            };
        let signer = signer_cert(
            "mailstaple OCSP signer",
            &[0x20, 0x01],
            days(-30),
            days(365),
            true,
            &int_issuer,
        );
        let signer_no_eku = signer_cert(
            "mailstaple OCSP signer without EKU",
            &[0x20, 0x02],
            days(-30),
            days(365),
            false,
            &int_issuer,
        );
        let signer_expired = signer_cert(
            "mailstaple OCSP signer expired",
            &[0x20, 0x03],
            days(-60),
            days(-1),
            true,
            &int_issuer,
        );
        let signer_not_yet_valid = signer_cert(
            "mailstaple OCSP signer not yet valid",
            &[0x20, 0x04],
            days(1),
            days(365),
            true,
            &int_issuer,
        );
        let signer_short = signer_cert(
            "mailstaple OCSP signer short-lived",
            &[0x20, 0x05],
            days(-30),
            days(1),
            true,
            &int_issuer,
        );

        let other_params = ca_params("mailstaple other CA", alg, 3, days(-365), days(3650), None);
        let other_ca = make(alg, other_params.clone(), None);
        let other_issuer = Issuer::new(other_params, &other_ca.key);
        let rogue_signer = signer_cert(
            "mailstaple rogue OCSP signer",
            &[0x30, 0x01],
            days(-30),
            days(365),
            true,
            &other_issuer,
        );

        drop((root_issuer, int_issuer, other_issuer));
        Pki {
            root: root.into_cert(alg),
            intermediate: intermediate.into_cert(alg),
            leaf: leaf.into_cert(alg),
            signer: signer.into_cert(alg),
            signer_no_eku: signer_no_eku.into_cert(alg),
            signer_expired: signer_expired.into_cert(alg),
            signer_not_yet_valid: signer_not_yet_valid.into_cert(alg),
            signer_short: signer_short.into_cert(alg),
            other_ca: other_ca.into_cert(alg),
            rogue_signer: rogue_signer.into_cert(alg),
            other_leaf: other_leaf.into_cert(alg),
        }
    }

    /// A process-wide PKI with default options for `alg`, generated on first use and cached.
    pub fn shared(alg: KeyAlg) -> &'static Pki {
        static CACHE: [OnceLock<Pki>; 5] = [const { OnceLock::new() }; 5];
        let index = KeyAlg::ALL
            .iter()
            .position(|&a| a == alg)
            .expect("every KeyAlg is in ALL");
        CACHE[index].get_or_init(|| Pki::new(alg))
    }

    /// Another leaf issued by [`Pki::intermediate`], like [`Pki::other_leaf`]: a fresh key of the
    /// PKI's algorithm, the unsigned big-endian `serial`, CN and DNS SAN
    /// `leaf-SERIALHEX.example.test`, valid NOW−30d .. NOW+90d, EKU serverAuth, and an AIA OCSP
    /// URL when `ocsp_url` is given. For tests that need many certificates of one issuer (a
    /// fleet of hosts fetching proofs for hundreds of them); the caller keeps serials distinct
    /// from the table's.
    pub fn issue_leaf(&self, serial: &[u8], ocsp_url: Option<&str>) -> Cert {
        let alg = self.intermediate.alg;
        let hex: String = serial.iter().map(|b| format!("{b:02x}")).collect();
        let host = format!("leaf-{hex}.example.test");
        // The intermediate's parameters are a pure function of the algorithm, so its Issuer can
        // be rebuilt around the kept key: the same subject and key identifier.
        let issuer = Issuer::new(intermediate_params(alg), &self.intermediate.key);
        make(
            alg,
            leaf_params(&host, serial, alg, ocsp_url, false),
            Some(&issuer),
        )
        .into_cert(alg)
    }

    /// A builder for an OCSP response about [`Pki::leaf`], signed by [`Pki::intermediate`].
    pub fn response(&self) -> ResponseBuilder<'_> {
        ResponseBuilder::new(self)
    }

    /// Writes the PKI as PEM files into `dir` (created if missing):
    /// `root.pem`, `issuer.pem` (intermediate), `issuer.key`, `leaf.pem`, `leaf.key`,
    /// `chain.pem` (leaf then intermediate), `other_leaf.pem`, `signer.pem`, `signer.key`,
    /// `other_ca.pem`.
    pub fn write_pem_files(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let files = [
            ("root.pem", self.root.pem()),
            ("issuer.pem", self.intermediate.pem()),
            ("issuer.key", self.intermediate.key_pem()),
            ("leaf.pem", self.leaf.pem()),
            ("leaf.key", self.leaf.key_pem()),
            ("chain.pem", self.leaf.pem() + &self.intermediate.pem()),
            ("other_leaf.pem", self.other_leaf.pem()),
            ("signer.pem", self.signer.pem()),
            ("signer.key", self.signer.key_pem()),
            ("other_ca.pem", self.other_ca.pem()),
        ];
        for (name, contents) in files {
            std::fs::write(dir.join(name), contents)?;
        }
        Ok(())
    }
}

/// A certificate just made, with the key still separate so that it can be borrowed by an issuer.
struct Made {
    der: Vec<u8>,
    key: KeyPair,
}

impl Made {
    fn into_cert(self, alg: KeyAlg) -> Cert {
        Cert {
            der: self.der,
            key: self.key,
            alg,
        }
    }
}

fn generate_key(alg: KeyAlg) -> KeyPair {
    let sig = match alg {
        KeyAlg::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
        KeyAlg::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyAlg::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        KeyAlg::EcdsaP521 => &rcgen::PKCS_ECDSA_P521_SHA512,
        KeyAlg::Ed25519 => {
            // rcgen would write a PKCS#8 v2 document (RFC 5958 OneAsymmetricKey with the public
            // key), which the OpenSSL 3.0 CLI cannot read; a v1 PrivateKeyInfo works everywhere.
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let v1 = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8v1(&rng)
                .expect("Ed25519 key generation works");
            let pem = crate::pem::encode("PRIVATE KEY", v1.as_ref());
            return KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_ED25519)
                .expect("rcgen loads a PKCS#8 v1 Ed25519 key");
        }
    };
    KeyPair::generate_for(sig).expect("key generation works")
}

fn make(alg: KeyAlg, params: CertificateParams, issuer: Option<&Issuer<'_, &KeyPair>>) -> Made {
    let key = generate_key(alg);
    let cert = match issuer {
        Some(issuer) => params.signed_by(&key, issuer),
        None => params.self_signed(&key),
    }
    .expect("rcgen accepts the parameters");
    Made {
        der: cert.der().to_vec(),
        key,
    }
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "mailstaple test PKI");
    dn.push(DnType::CommonName, cn);
    dn
}

fn base_params(cn: &str, serial: &[u8], from: i64, to: i64) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.serial_number = Some(SerialNumber::from_slice(serial));
    p.not_before = time::OffsetDateTime::from_unix_timestamp(from).expect("valid time");
    p.not_after = time::OffsetDateTime::from_unix_timestamp(to).expect("valid time");
    p.use_authority_key_identifier_extension = true;
    p
}

fn ca_params(
    cn: &str,
    alg: KeyAlg,
    serial: u8,
    from: i64,
    to: i64,
    path_len: Option<u8>,
) -> CertificateParams {
    let cn = format!("{cn} ({})", alg.name());
    let mut p = base_params(&cn, &[serial], from, to);
    p.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    p
}

/// The intermediate's parameters (a pure function of the algorithm: [`Pki::issue_leaf`] rebuilds
/// its issuer from them).
fn intermediate_params(alg: KeyAlg) -> CertificateParams {
    let days = |d: i64| i64::try_from(NOW).expect("NOW fits") + d * DAY as i64;
    ca_params(
        "mailstaple test intermediate",
        alg,
        2,
        days(-365),
        days(1825),
        Some(0),
    )
}

fn leaf_params(
    host: &str,
    serial: &[u8],
    alg: KeyAlg,
    ocsp_url: Option<&str>,
    must_staple: bool,
) -> CertificateParams {
    let days = |d: i64| i64::try_from(NOW).expect("NOW fits") + d * DAY as i64;
    let mut p = base_params(host, serial, days(-30), days(90));
    p.subject_alt_names = vec![SanType::DnsName(host.try_into().expect("valid DNS name"))];
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = match alg {
        KeyAlg::Rsa2048 => vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ],
        _ => vec![KeyUsagePurpose::DigitalSignature],
    };
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    if let Some(url) = ocsp_url {
        p.custom_extensions
            .push(CustomExtension::from_oid_content(OID_AIA, aia_ocsp(url)));
    }
    if must_staple {
        // Features ::= SEQUENCE OF INTEGER; status_request is TLS extension 5 (RFC 7633 §3).
        p.custom_extensions.push(CustomExtension::from_oid_content(
            OID_TLS_FEATURE,
            der::seq(&[&der::small_uint(5)]),
        ));
    }
    p
}

/// `AuthorityInfoAccessSyntax ::= SEQUENCE SIZE (1..MAX) OF AccessDescription` with one
/// `AccessDescription { id-ad-ocsp, uniformResourceIdentifier [6] IA5String }` (RFC 5280 §4.2.2.1).
pub(crate) fn aia_ocsp(url: &str) -> Vec<u8> {
    assert!(url.is_ascii(), "an IA5String URL must be ASCII");
    let location = der::context_primitive(6, url.as_bytes());
    der::seq(&[&der::seq(&[&der::oid(OID_AD_OCSP), &location])])
}

fn signer_params(cn: &str, serial: &[u8], from: i64, to: i64, ocsp_eku: bool) -> CertificateParams {
    let mut p = base_params(cn, serial, from, to);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if ocsp_eku {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
        // id-pkix-ocsp-nocheck: extnValue is the DER of NULL (RFC 6960 §4.2.2.2.1).
        p.custom_extensions.push(CustomExtension::from_oid_content(
            OID_OCSP_NOCHECK,
            der::null(),
        ));
    }
    p
}
