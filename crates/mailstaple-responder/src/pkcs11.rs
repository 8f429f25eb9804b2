//! Signing keys in a PKCS#11 token (an HSM, SoftHSM2, a smart card), named by an RFC 7512
//! `pkcs11:` URI, through the `cryptoki` crate.
//!
//! The key type comes from the signer certificate: RSA keys sign with `CKM_SHA256_RSA_PKCS`;
//! ECDSA keys on P-256, P-384 and P-521 sign the SHA-256, SHA-384 or SHA-512 digest (hashed here
//! with aws-lc-rs) with `CKM_ECDSA`, and the token's raw `r || s` is written as the DER
//! `ECDSA-Sig-Value` OCSP wants. At start one signature is made and checked against the
//! certificate's public key, so a URI naming the wrong key is refused before any client sees it.
//!
//! One session is kept, behind a lock, and opened again (with a fresh login) after any failure:
//! a token that goes away makes signatures fail (the responder answers `tryLater` for what it
//! has not signed ahead) and a token that comes back is used again, without a restart. When no
//! slot holds the token, the module is finalized and initialized again (at most once a second),
//! since modules such as SoftHSM2 only look for tokens when initialized.
//!
//! Of RFC 7512 the path attributes `token`, `object`, `id`, `serial`, `manufacturer`, `model`
//! and `type` are understood (percent-encoded values decoded); `slot-id` picks a slot by
//! number; query attributes (`pin-value`, `module-path`) are refused: the PIN comes from a file
//! or a credential and the module from its own option, so neither ends up in a process listing.
//!
//! Two small pieces are written here rather than taken from a crate: the URI parser (RFC 7512's
//! path attributes are `;`-separated `name=value` pairs with %-escapes; the subset above is
//! thirty lines, and refusing query attributes is a policy no parser crate offers), and the
//! `r || s` to DER `ECDSA-Sig-Value` conversion (two minimal INTEGERs in a SEQUENCE; the `der`
//! crate would be a new dependency of this crate for one structure, and the unit tests pin the
//! encodings, including P-521's long-form length).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use crate::Error;

/// What an RFC 7512 URI names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `serial`: the token serial number.
    pub serial: Option<String>,
    /// `manufacturer`: the token manufacturer.
    pub manufacturer: Option<String>,
    /// `model`: the token model.
    pub model: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
    /// `object`: the key's label.
    pub object: Option<String>,
    /// `id`: the key's CKA_ID.
    pub id: Option<Vec<u8>>,
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI (RFC 7512 §2.3).
    pub fn parse(uri: &str) -> Result<Pkcs11Uri, Error> {
        let bad = |why: String| Error::Pkcs11(format!("{uri:?}: {why}"));
        let rest = uri
            .strip_prefix("pkcs11:")
            .ok_or_else(|| bad("not a pkcs11: URI".to_owned()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if !query.is_empty() {
            return Err(bad(
                "query attributes (pin-value, module-path...) are not accepted: give the PIN in a file and the module with its option".to_owned(),
            ));
        }
        let mut out = Pkcs11Uri::default();
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| bad(format!("attribute {attr:?} has no value")))?;
            let value =
                percent_decode(value).ok_or_else(|| bad(format!("bad %-escape in {attr:?}")))?;
            let text = || {
                String::from_utf8(value.clone()).map_err(|_| bad(format!("{name} is not UTF-8")))
            };
            match name {
                "token" => out.token = Some(text()?),
                "serial" => out.serial = Some(text()?),
                "manufacturer" => out.manufacturer = Some(text()?),
                "model" => out.model = Some(text()?),
                "object" => out.object = Some(text()?),
                "id" => out.id = Some(value),
                "slot-id" => {
                    out.slot_id = Some(
                        text()?
                            .parse()
                            .map_err(|_| bad("slot-id is not a number".to_owned()))?,
                    );
                }
                "type" => {
                    if value != b"private" {
                        return Err(bad("type must be private (the signing key)".to_owned()));
                    }
                }
                "library-description"
                | "library-manufacturer"
                | "library-version"
                | "slot-description"
                | "slot-manufacturer" => {}
                other => return Err(bad(format!("unknown attribute {other:?}"))),
            }
        }
        if out.object.is_none() && out.id.is_none() {
            return Err(bad("name the key with object=LABEL or id=%xx...".to_owned()));
        }
        Ok(out)
    }

    /// Whether `uri` looks like a PKCS#11 URI rather than a file name.
    pub fn is_uri(s: &str) -> bool {
        s.starts_with("pkcs11:")
    }
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = char::from(bytes.next()?).to_digit(16)?;
            let lo = char::from(bytes.next()?).to_digit(16)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// How the token's key signs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scheme {
    /// `CKM_SHA256_RSA_PKCS` over the message.
    RsaSha256,
    /// `CKM_ECDSA` over the digest; the coordinate length in octets.
    Ecdsa(
        &'static digest::Algorithm,
        usize,
        &'static signature::EcdsaVerificationAlgorithm,
    ),
}

/// The module and the session, behind one lock.
struct Conn {
    ctx: Option<Pkcs11>,
    session: Option<(Session, ObjectHandle)>,
    last_init: Option<Instant>,
}

/// A private key in a token.
pub(crate) struct TokenKey {
    module: PathBuf,
    uri: Pkcs11Uri,
    pin: AuthPin,
    scheme: Scheme,
    conn: Mutex<Conn>,
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKey")
            .field("uri", &self.uri)
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl TokenKey {
    /// Loads the module, finds the token and the key, and proves with one signature that the key
    /// is the one of `public_key` (the certificate's subjectPublicKey bits).
    pub(crate) fn open(
        module: &Path,
        uri: &str,
        pin: &[u8],
        scheme: Scheme,
        public_key: &[u8],
    ) -> Result<TokenKey, Error> {
        let uri = Pkcs11Uri::parse(uri)?;
        let ctx = load(module)?;
        let pin = String::from_utf8(Zeroizing::new(pin.to_vec()).to_vec())
            .map_err(|_| Error::Pkcs11("the PIN is not UTF-8".to_owned()))?;
        let key = TokenKey {
            module: module.to_owned(),
            uri,
            pin: AuthPin::from(pin),
            scheme,
            conn: Mutex::new(Conn {
                ctx: Some(ctx),
                session: None,
                last_init: Some(Instant::now()),
            }),
        };
        let probe = b"mailstaple: does this token key belong to the signer certificate?";
        let signature = key.try_sign(probe)?;
        let checks = match scheme {
            Scheme::RsaSha256 => {
                UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public_key)
                    .verify(probe, &signature)
                    .is_ok()
            }
            Scheme::Ecdsa(_, _, alg) => UnparsedPublicKey::new(alg, public_key)
                .verify(probe, &signature)
                .is_ok(),
        };
        if !checks {
            return Err(Error::KeyMismatch);
        }
        Ok(key)
    }

    /// Signs, reopening the session once if the kept one fails. `None` when the token cannot.
    pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        match self.try_sign(message) {
            Ok(s) => Some(s),
            Err(e) => {
                log::warn!("the token could not sign: {e}");
                None
            }
        }
    }

    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        for attempt in 0..2 {
            if conn.session.is_none() {
                let opened = self.connect(&mut conn)?;
                conn.session = Some(opened);
            }
            let Some((session, key)) = conn.session.as_ref() else {
                continue;
            };
            let result = match self.scheme {
                Scheme::RsaSha256 => session.sign(&Mechanism::Sha256RsaPkcs, *key, message),
                Scheme::Ecdsa(hash, _, _) => {
                    let d = digest::digest(hash, message);
                    session.sign(&Mechanism::Ecdsa, *key, d.as_ref())
                }
            };
            match result {
                Ok(raw) => {
                    return match self.scheme {
                        Scheme::RsaSha256 => Ok(raw),
                        Scheme::Ecdsa(_, len, _) => ecdsa_der(&raw, len).ok_or_else(|| {
                            Error::Pkcs11(format!(
                                "the token's ECDSA signature has {} octets",
                                raw.len()
                            ))
                        }),
                    };
                }
                Err(e) => {
                    // The session may be dead (token removed, module restarted): try a new one.
                    conn.session = None;
                    if attempt == 1 {
                        return Err(Error::Pkcs11(format!("C_Sign: {e}")));
                    }
                }
            }
        }
        Err(Error::Pkcs11("no session".to_owned()))
    }

    fn connect(&self, conn: &mut Conn) -> Result<(Session, ObjectHandle), Error> {
        let err = |what: &str, e: cryptoki::error::Error| Error::Pkcs11(format!("{what}: {e}"));
        if conn.ctx.is_none() {
            conn.ctx = Some(load(&self.module)?);
            conn.last_init = Some(Instant::now());
        }
        let found = match conn.ctx.as_ref() {
            Some(ctx) => self.slot(ctx),
            None => Err(Error::Pkcs11("the module is not loaded".to_owned())),
        };
        let slot = match found {
            Ok(slot) => slot,
            Err(e) => {
                // No token: initialize the module again so that it looks again, at most once a
                // second.
                if conn
                    .last_init
                    .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
                {
                    return Err(e);
                }
                if let Some(old) = conn.ctx.take() {
                    let _ = old.finalize();
                }
                let ctx = load(&self.module)?;
                conn.last_init = Some(Instant::now());
                let slot = self.slot(&ctx)?;
                conn.ctx = Some(ctx);
                slot
            }
        };
        let Some(ctx) = conn.ctx.as_ref() else {
            return Err(Error::Pkcs11("the module is not loaded".to_owned()));
        };
        let session = ctx
            .open_ro_session(slot)
            .map_err(|e| err("C_OpenSession", e))?;
        match session.login(UserType::User, Some(&self.pin)) {
            Ok(()) => {}
            Err(cryptoki::error::Error::Pkcs11(
                cryptoki::error::RvError::UserAlreadyLoggedIn,
                _,
            )) => {}
            Err(e) => return Err(err("C_Login (is the PIN right?)", e)),
        }
        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if let Some(label) = &self.uri.object {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &self.uri.id {
            template.push(Attribute::Id(id.clone()));
        }
        let keys = session
            .find_objects(&template)
            .map_err(|e| err("C_FindObjects", e))?;
        match keys.as_slice() {
            [key] => Ok((session, *key)),
            [] => Err(Error::Pkcs11(
                "no private key in the token matches the URI".to_owned(),
            )),
            more => Err(Error::Pkcs11(format!(
                "{} private keys in the token match the URI; name one with object= and id=",
                more.len()
            ))),
        }
    }

    fn slot(&self, ctx: &Pkcs11) -> Result<Slot, Error> {
        let slots = ctx
            .get_slots_with_token()
            .map_err(|e| Error::Pkcs11(format!("C_GetSlotList: {e}")))?;
        for slot in slots {
            if self.uri.slot_id.is_some_and(|id| slot.id() != id) {
                continue;
            }
            let Ok(info) = ctx.get_token_info(slot) else {
                continue;
            };
            let fits = |want: &Option<String>, have: &str| {
                want.as_deref().is_none_or(|w| w == have.trim_end())
            };
            if fits(&self.uri.token, info.label())
                && fits(&self.uri.serial, info.serial_number())
                && fits(&self.uri.manufacturer, info.manufacturer_id())
                && fits(&self.uri.model, info.model())
            {
                return Ok(slot);
            }
        }
        Err(Error::Pkcs11(
            "no token matches the URI (is it present?)".to_owned(),
        ))
    }
}

/// Loads and initializes the module.
fn load(module: &Path) -> Result<Pkcs11, Error> {
    let ctx = Pkcs11::new(module)
        .map_err(|e| Error::Pkcs11(format!("cannot load the module {}: {e}", module.display())))?;
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .map_err(|e| Error::Pkcs11(format!("C_Initialize: {e}")))?;
    Ok(ctx)
}

/// `r || s` (each `len` octets) as DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`.
fn ecdsa_der(raw: &[u8], len: usize) -> Option<Vec<u8>> {
    if raw.len() != 2 * len {
        return None;
    }
    let (r, s) = raw.split_at(len);
    let int = |v: &[u8]| {
        let start = v
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(v.len().saturating_sub(1));
        let v = v.get(start..).unwrap_or_default();
        let mut out = vec![0x02];
        let pad = v.first().is_some_and(|b| b & 0x80 != 0);
        push_len(&mut out, v.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
        out
    };
    let body = [int(r), int(s)].concat();
    let mut out = vec![0x30];
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    Some(out)
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.push(0x81);
        out.push((len & 0xff) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        let u = Pkcs11Uri::parse("pkcs11:token=My%20CA;object=ocsp-signer;id=%01%02;type=private")
            .unwrap();
        assert_eq!(u.token.as_deref(), Some("My CA"));
        assert_eq!(u.object.as_deref(), Some("ocsp-signer"));
        assert_eq!(u.id, Some(vec![1, 2]));
        for bad in [
            "file.pem",
            "pkcs11:token=a",
            "pkcs11:object=x?pin-value=1234",
            "pkcs11:object=x;colour=red",
            "pkcs11:object=%zz",
            "pkcs11:object=x;type=cert",
        ] {
            assert!(Pkcs11Uri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn raw_ecdsa_signatures_become_der() {
        let raw = [[0x80u8; 32], [0x01u8; 32]].concat();
        let der = ecdsa_der(&raw, 32).unwrap();
        assert_eq!(&der[..4], &[0x30, 0x45, 0x02, 0x21]);
        assert_eq!(der[4], 0x00);
        let leading_zeros = [[0u8; 32], [0x7fu8; 32]].concat();
        let der = ecdsa_der(&leading_zeros, 32).unwrap();
        assert_eq!(&der[..5], &[0x30, 0x25, 0x02, 0x01, 0x00]);
        assert!(ecdsa_der(&raw, 48).is_none());
        // P-521: 66-octet coordinates, a long form length.
        let der = ecdsa_der(&[0x01u8; 132], 66).unwrap();
        assert_eq!(&der[..3], &[0x30, 0x81, 0x88]);
    }
}
