//! Names for the object identifiers a person meets in OCSP responses and certificates, as
//! OpenSSL prints them (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`, `OCSP Nonce`), for
//! display only: nothing in the workspace decides by name.

use crate::reader::oid_to_string;

/// Dotted OID and name, sorted by nothing in particular: the table is small and only read when
/// something is displayed.
const NAMES: &[(&str, &str)] = &[
    // Signature and public-key algorithms (RFC 3279, RFC 4055, RFC 5758, RFC 8410).
    ("1.2.840.113549.1.1.1", "rsaEncryption"),
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.2.840.113549.1.1.8", "mgf1"),
    ("1.2.840.113549.1.1.10", "rsassaPss"),
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
    ("1.2.840.113549.1.1.14", "sha224WithRSAEncryption"),
    ("1.2.840.10040.4.3", "dsa_with_SHA1"),
    ("1.2.840.10045.2.1", "id-ecPublicKey"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10045.4.3.1", "ecdsa-with-SHA224"),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
    ("1.3.101.112", "ED25519"),
    ("1.3.101.113", "ED448"),
    // Named curves (RFC 5480).
    ("1.2.840.10045.3.1.7", "prime256v1"),
    ("1.3.132.0.34", "secp384r1"),
    ("1.3.132.0.35", "secp521r1"),
    // Hash functions (RFC 3279, RFC 5754).
    ("1.2.840.113549.2.5", "md5"),
    ("1.3.14.3.2.26", "sha1"),
    ("2.16.840.1.101.3.4.2.1", "sha256"),
    ("2.16.840.1.101.3.4.2.2", "sha384"),
    ("2.16.840.1.101.3.4.2.3", "sha512"),
    ("2.16.840.1.101.3.4.2.4", "sha224"),
    // OCSP (RFC 6960 §4.4, appendix B).
    ("1.3.6.1.5.5.7.48.1", "OCSP"),
    ("1.3.6.1.5.5.7.48.1.1", "Basic OCSP Response"),
    ("1.3.6.1.5.5.7.48.1.2", "OCSP Nonce"),
    ("1.3.6.1.5.5.7.48.1.3", "OCSP CRL ID"),
    ("1.3.6.1.5.5.7.48.1.4", "Acceptable OCSP Responses"),
    ("1.3.6.1.5.5.7.48.1.5", "OCSP No Check"),
    ("1.3.6.1.5.5.7.48.1.6", "OCSP Archive Cutoff"),
    ("1.3.6.1.5.5.7.48.1.7", "OCSP Service Locator"),
    (
        "1.3.6.1.5.5.7.48.1.8",
        "OCSP Preferred Signature Algorithms",
    ),
    ("1.3.6.1.5.5.7.48.1.9", "OCSP Extended Revoke"),
    ("1.3.6.1.5.5.7.48.2", "CA Issuers"),
    // Certificate Transparency (RFC 6962 §3.3).
    ("1.3.6.1.4.1.11129.2.4.2", "CT Precertificate SCTs"),
    ("1.3.6.1.4.1.11129.2.4.3", "CT Precertificate Poison"),
    ("1.3.6.1.4.1.11129.2.4.5", "CT Certificate SCTs"),
    // Certificate and CRL entry extensions (RFC 5280 §4.2, §5.3; RFC 7633).
    ("2.5.29.14", "X509v3 Subject Key Identifier"),
    ("2.5.29.15", "X509v3 Key Usage"),
    ("2.5.29.17", "X509v3 Subject Alternative Name"),
    ("2.5.29.19", "X509v3 Basic Constraints"),
    ("2.5.29.21", "X509v3 CRL Reason Code"),
    ("2.5.29.24", "Invalidity Date"),
    ("2.5.29.29", "X509v3 Certificate Issuer"),
    ("2.5.29.30", "X509v3 Name Constraints"),
    ("2.5.29.31", "X509v3 CRL Distribution Points"),
    ("2.5.29.32", "X509v3 Certificate Policies"),
    ("2.5.29.35", "X509v3 Authority Key Identifier"),
    ("2.5.29.37", "X509v3 Extended Key Usage"),
    ("1.3.6.1.5.5.7.1.1", "Authority Information Access"),
    ("1.3.6.1.5.5.7.1.24", "TLS Feature"),
    // Extended key usages (RFC 5280 §4.2.1.12).
    ("2.5.29.37.0", "Any Extended Key Usage"),
    ("1.3.6.1.5.5.7.3.1", "TLS Web Server Authentication"),
    ("1.3.6.1.5.5.7.3.2", "TLS Web Client Authentication"),
    ("1.3.6.1.5.5.7.3.3", "Code Signing"),
    ("1.3.6.1.5.5.7.3.4", "E-mail Protection"),
    ("1.3.6.1.5.5.7.3.8", "Time Stamping"),
    ("1.3.6.1.5.5.7.3.9", "OCSP Signing"),
];

/// The conventional name of an OBJECT IDENTIFIER (its contents octets), as OpenSSL prints it,
/// or `None` for one this table does not know.
pub fn oid_name(oid: &[u8]) -> Option<&'static str> {
    let dotted = oid_to_string(oid);
    NAMES
        .iter()
        .find(|(d, _)| *d == dotted)
        .map(|(_, name)| *name)
}

/// `name (dotted)` for a known OID, the dotted form alone otherwise: what a person reads.
pub fn oid_display(oid: &[u8]) -> String {
    let dotted = oid_to_string(oid);
    match NAMES.iter().find(|(d, _)| *d == dotted) {
        Some((_, name)) => format!("{name} ({dotted})"),
        None => dotted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_inspect_shows() {
        // sha1WithRSAEncryption and SHA-1, the two the issue quoted as bare dots.
        let sha1_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
        assert_eq!(oid_name(&sha1_rsa), Some("sha1WithRSAEncryption"));
        assert_eq!(
            oid_display(&sha1_rsa),
            "sha1WithRSAEncryption (1.2.840.113549.1.1.5)"
        );
        assert_eq!(oid_name(&[0x2b, 0x0e, 0x03, 0x02, 0x1a]), Some("sha1"));
        assert_eq!(oid_name(crate::OID_OCSP_NONCE), Some("OCSP Nonce"));
        // Unknown: dotted only.
        assert_eq!(oid_name(&[0x2a, 0x03]), None);
        assert_eq!(oid_display(&[0x2a, 0x03]), "1.2.3");
    }

    #[test]
    fn table_has_one_name_per_oid() {
        for (i, (a, _)) in NAMES.iter().enumerate() {
            assert!(
                NAMES.iter().skip(i + 1).all(|(b, _)| a != b),
                "{a} is listed twice"
            );
        }
    }
}
