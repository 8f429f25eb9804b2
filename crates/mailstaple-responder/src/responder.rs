//! The sans-IO core: DER `OCSPRequest` in, signed DER `OCSPResponse` out, at a given time.
//!
//! [`Responder::respond`] never fails and never panics: whatever the bytes, the answer is an
//! `OCSPResponse`. Garbage gets `malformedRequest`; a CertID for another issuer (or with a hash
//! algorithm we cannot check) gets `unauthorized`; otherwise each CertID gets a SingleResponse:
//! `good` for `V` and `E` lines (RFC 6960 §2.2: good means "not revoked"), `revoked` with the
//! time and reason of `R` lines, and `unknown` for serial numbers not in the index.
//!
//! # Validity windows and the cache
//!
//! Time is cut into windows of half the validity period. Within a window every nonce-less
//! request for the same CertIDs gets the same bytes (signed once, then cached), so GET answers
//! are byte-stable and HTTP caches can keep them: thisUpdate is the start of the window (or the
//! moment the index was last loaded, if later), nextUpdate is thisUpdate plus the validity period
//! (never past the signer certificate's notAfter), and producedAt is when the response was
//! signed. A client therefore always gets at least half the validity period. A reloaded index
//! starts a new generation: the cache is emptied, so a revocation is visible at once.
//!
//! A request with a nonce (RFC 8954, 1 to 32 octets) is signed afresh and the nonce echoed; a
//! longer nonce is ignored, as RFC 8954 §2.1 allows, and the request served like one without.
//! The cache holds at most [`ResponderConfig::cache_capacity`] entries; past that, answers are
//! signed but not kept, so memory stays bounded whatever the clients ask for.
//!
//! # Signing ahead
//!
//! [`Responder::presign`] signs, for every serial in the index, the answer to a single SHA-1
//! CertID (what OpenSSL, Exim's `ocsp_fetch.pl` and our fetcher ask by default), outside the
//! cache's capacity: RFC 5019's model, as large CAs run it. It is called for the current window
//! (at start and after each index reload) and, once the current window is half over, for the
//! next one: those answers are signed at that moment (thisUpdate = producedAt = signing time)
//! with the nextUpdate an answer signed on demand in the next window would get, and served from
//! the next window's start. A request for a pre-signed answer never waits for the signer, so a
//! slow or briefly unavailable signer (an HSM) does not stall answers. A reloaded index makes the
//! pre-signed answers of the old one unusable at once (they belong to its generation).
//! [`crate::Server`] runs it in the background when [`crate::ServerConfig::presign`] is on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;
use mailstaple_ocsp::{
    CertId, CertIdRef, CertStatus, CertView, HashAlgorithm, OcspRequest, ResponderIdSpec,
    ResponseStatus, SingleSpec, Time, encode_basic_response, encode_error_response,
    encode_response, encode_response_data,
};

use crate::index::{EntryStatus, Index};
use crate::{Error, SigningKey};

/// How the response names its signer (RFC 6960 §4.2.1 `ResponderID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponderIdKind {
    /// `byKey`: the SHA-1 of the signer's public key (20 octets; the default).
    ByKey,
    /// `byName`: the signer's subject name (what `openssl ocsp` writes by default).
    ByName,
}

/// Settings of the core.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ResponderConfig {
    /// nextUpdate minus thisUpdate, in seconds (at least 2). Default one day.
    pub validity_secs: u64,
    /// The most responses kept in the cache. Default 10,000.
    pub cache_capacity: usize,
    /// How the responses name the signer. Default [`ResponderIdKind::ByKey`].
    pub responder_id: ResponderIdKind,
}

impl Default for ResponderConfig {
    fn default() -> Self {
        ResponderConfig {
            validity_secs: 86_400,
            cache_capacity: 10_000,
            responder_id: ResponderIdKind::ByKey,
        }
    }
}

/// What RFC 5019 caching needs to know about a nonce-less successful answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cacheable {
    /// thisUpdate of every SingleResponse (HTTP `Last-Modified`).
    pub this_update: Time,
    /// nextUpdate of every SingleResponse (HTTP `Expires`).
    pub next_update: Time,
    /// A strong entity tag for these bytes, quoted (HTTP `ETag`).
    pub etag: Arc<str>,
}

/// The answer to one request.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Answer {
    /// The DER `OCSPResponse`.
    pub der: Bytes,
    /// Its `responseStatus`.
    pub status: ResponseStatus,
    /// Set for nonce-less successful answers, which are the same bytes for the whole window.
    pub cacheable: Option<Cacheable>,
    /// Whether the bytes came from the cache rather than a new signature.
    pub from_cache: bool,
}

impl Answer {
    fn error(status: ResponseStatus) -> Answer {
        Answer {
            der: Bytes::from(encode_error_response(status)),
            status,
            cacheable: None,
            from_cache: false,
        }
    }
}

/// An index and when it was loaded.
struct IndexState {
    index: Index,
    generation: u64,
    loaded_at: Time,
}

/// Answers signed ahead for one (generation, window), keyed by serial (INTEGER contents).
struct Presigned {
    generation: u64,
    window: i64,
    map: HashMap<Vec<u8>, (Bytes, Cacheable)>,
}

/// What one [`Responder::presign`] call did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PresignReport {
    /// The window signed for (time divided by half the validity period).
    pub window: i64,
    /// How many answers were signed (one per serial in the index).
    pub responses: usize,
    /// Their DER bytes in total.
    pub bytes: usize,
    /// How many signatures failed (those serials are answered on demand).
    pub failures: usize,
}

#[derive(Default)]
struct Cache {
    generation: u64,
    window: i64,
    map: HashMap<Vec<CertId>, (Bytes, Cacheable)>,
}

/// The responder core: a CA, a signer and an index. Shared between threads (`&self` everywhere).
pub struct Responder {
    /// A CertID of the CA for each hash algorithm, with an empty serial: the issuer hashes.
    templates: Vec<CertId>,
    responder_id: Vec<u8>,
    responder_id_kind: ResponderIdKind,
    /// The delegated signer's certificate, embedded in each response; empty when the CA signs.
    certs: Vec<Vec<u8>>,
    signer_subject: String,
    signer_not_after: Time,
    pub(crate) key: SigningKey,
    validity: i64,
    step: i64,
    cache_capacity: usize,
    state: RwLock<Arc<IndexState>>,
    cache: Mutex<Cache>,
    /// At most two sets: the current window's and the next one's.
    presigned: RwLock<Vec<Arc<Presigned>>>,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("signer", &self.signer_subject)
            .field("delegated", &self.is_delegated())
            .field("key", &self.key)
            .field("validity_secs", &self.validity)
            .finish_non_exhaustive()
    }
}

impl Responder {
    /// A responder for the CA certificate `ca_der`, signing with `key`, which belongs to
    /// `signer_der` (a delegated responder certificate issued by the CA) or, when that is `None`,
    /// to the CA itself. `now` is when `index` was loaded.
    ///
    /// Refused: undecodable certificates, a key that is not the signer's, a delegated signer whose
    /// issuer is not the CA or that lacks id-kp-OCSPSigning, and a validity under 2 seconds.
    /// The signer's signature and validity period are not checked (the CA is the operator's own);
    /// nextUpdate is never set past the signer's notAfter.
    pub fn new(
        ca_der: &[u8],
        signer_der: Option<&[u8]>,
        key: SigningKey,
        index: Index,
        config: &ResponderConfig,
        now: Time,
    ) -> Result<Responder, Error> {
        let ca = CertView::parse(ca_der).map_err(|source| Error::Certificate {
            which: "CA",
            source,
        })?;
        let signer_der = signer_der.filter(|s| *s != ca_der);
        let signer = match signer_der {
            Some(der) => CertView::parse(der).map_err(|source| Error::Certificate {
                which: "signer",
                source,
            })?,
            None => ca.clone(),
        };
        if key.public_key() != signer.public_key {
            return Err(Error::KeyMismatch);
        }
        if signer_der.is_some() {
            if signer.issuer != ca.subject {
                return Err(Error::SignerNotIssuedByCa);
            }
            if !signer.is_ocsp_signer().unwrap_or(false) {
                return Err(Error::SignerNotAuthorized);
            }
        }
        let validity = i64::try_from(config.validity_secs)
            .ok()
            .filter(|v| (2..=10 * 366 * 86_400).contains(v))
            .ok_or_else(|| {
                Error::Config(
                    "the validity period must be between 2 seconds and 10 years".to_owned(),
                )
            })?;
        let templates = [
            HashAlgorithm::Sha1,
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ]
        .into_iter()
        .map(|h| {
            let mut id = CertId::new(&ca, &ca, h);
            id.serial.clear();
            id
        })
        .collect();
        let responder_id = match config.responder_id {
            ResponderIdKind::ByKey => HashAlgorithm::Sha1.digest(signer.public_key),
            ResponderIdKind::ByName => signer.subject.to_vec(),
        };
        Ok(Responder {
            templates,
            responder_id,
            responder_id_kind: config.responder_id,
            certs: signer_der.map(<[u8]>::to_vec).into_iter().collect(),
            signer_subject: mailstaple_ocsp::name_to_string(signer.subject).unwrap_or_default(),
            signer_not_after: signer.not_after,
            key,
            validity,
            step: validity / 2,
            cache_capacity: config.cache_capacity,
            state: RwLock::new(Arc::new(IndexState {
                index,
                generation: 0,
                loaded_at: now,
            })),
            cache: Mutex::new(Cache::default()),
            presigned: RwLock::new(Vec::new()),
        })
    }

    /// Whether a delegated responder certificate signs (and is embedded in) the responses.
    pub fn is_delegated(&self) -> bool {
        !self.certs.is_empty()
    }

    /// The signer's subject, RFC 4514.
    pub fn signer_subject(&self) -> &str {
        &self.signer_subject
    }

    /// The signer certificate's notAfter.
    pub fn signer_not_after(&self) -> Time {
        self.signer_not_after
    }

    /// The key's signature algorithm, e.g. `ECDSA-SHA256`.
    pub fn algorithm_name(&self) -> &'static str {
        self.key.algorithm_name()
    }

    /// The number of certificates in the current index.
    pub fn index_len(&self) -> usize {
        self.current().index.len()
    }

    /// How many times the index was replaced.
    pub fn generation(&self) -> u64 {
        self.current().generation
    }

    /// The number of cached responses.
    pub fn cache_len(&self) -> usize {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .len()
    }

    /// Replaces the index (loaded at `now`) and starts a new generation: cached responses are
    /// dropped, so the next answers reflect the new index.
    pub fn replace_index(&self, index: Index, now: Time) {
        // Answers signed ahead belong to the old index: never serve them again.
        self.presigned
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let generation = state.generation.wrapping_add(1);
        *state = Arc::new(IndexState {
            index,
            generation,
            loaded_at: now,
        });
    }

    fn current(&self) -> Arc<IndexState> {
        Arc::clone(&self.state.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether `other` answers for the same CA (same issuer hashes).
    fn same_ca(&self, other: &Responder) -> bool {
        self.templates.first() == other.templates.first()
    }

    /// The CertID template of the CA matching `id`'s hash algorithm and issuer hashes.
    fn ours(&self, id: &CertIdRef<'_>) -> Option<&CertId> {
        let hash = id.hash()?;
        self.templates.iter().find(|t| {
            t.hash == hash
                && t.issuer_name_hash.as_slice() == id.issuer_name_hash
                && t.issuer_key_hash.as_slice() == id.issuer_key_hash
        })
    }

    /// (window number, thisUpdate, nextUpdate) at `now` for an index loaded at `loaded_at`.
    fn window(&self, now: Time, loaded_at: Time) -> (i64, Time, Time) {
        let window = now.unix().div_euclid(self.step);
        let start = window.saturating_mul(self.step);
        let this_update = start.max(loaded_at.unix()).min(now.unix());
        let next_update = this_update
            .saturating_add(self.validity)
            .min(self.signer_not_after.unix())
            .max(this_update);
        (
            window,
            Time::from_unix(this_update),
            Time::from_unix(next_update),
        )
    }

    /// Answers a DER `OCSPRequest` at `now`. Never fails: see the module documentation.
    pub fn respond(&self, request: &[u8], now: Time) -> Answer {
        let Ok(req) = OcspRequest::parse(request) else {
            return Answer::error(ResponseStatus::MalformedRequest);
        };
        self.respond_to(&req, now)
    }

    /// Whether this responder's CA is the issuer a CertID names (issuer name and key hashes, in
    /// the CertID's hash algorithm).
    pub fn answers_for(&self, id: &CertIdRef<'_>) -> bool {
        self.ours(id).is_some()
    }

    /// Answers a decoded request at `now`: `unauthorized` unless every CertID names this CA.
    pub(crate) fn respond_to(&self, req: &OcspRequest<'_>, now: Time) -> Answer {
        let mut ids = Vec::with_capacity(req.cert_ids.len());
        for cid in &req.cert_ids {
            let Some(template) = self.ours(cid) else {
                return Answer::error(ResponseStatus::Unauthorized);
            };
            let mut id = template.clone();
            id.serial = cid.serial.to_vec();
            ids.push(id);
        }
        let nonce = req
            .nonce_extension()
            .map(|e| e.value)
            .filter(|v| (1..=32).contains(&nonce_len(v)));
        let state = self.current();
        let (window, this_update, next_update) = self.window(now, state.loaded_at);
        if nonce.is_none()
            // The cache first: an answer signed on demand before the signing ahead reached this
            // window stays the one every client of the window gets (byte-stable GETs).
            && let Some(hit) = self
                .cached(state.generation, window, &ids)
                .or_else(|| self.presigned_answer(state.generation, window, &ids))
        {
            return hit;
        }
        let singles: Vec<SingleSpec<'_>> = ids
            .iter()
            .map(|id| {
                let status = match state.index.lookup(&id.serial).map(|e| e.status) {
                    None => CertStatus::Unknown,
                    Some(EntryStatus::Revoked { time, reason }) => {
                        CertStatus::Revoked { time, reason }
                    }
                    Some(_) => CertStatus::Good,
                };
                SingleSpec::new(id, status, this_update, Some(next_update))
            })
            .collect();
        let Some(der) = self.sign(&singles, now, nonce) else {
            // A token that is away, or a signer that failed: the client may ask again later.
            log::error!("signing an OCSP response failed; answering tryLater");
            return Answer::error(ResponseStatus::TryLater);
        };
        if nonce.is_some() {
            return Answer {
                der,
                status: ResponseStatus::Successful,
                cacheable: None,
                from_cache: false,
            };
        }
        let etag = etag(&der);
        let cacheable = Cacheable {
            this_update,
            next_update,
            etag,
        };
        self.store(state.generation, window, ids, der, cacheable)
    }

    /// The window a [`Responder::presign`] call at `now` would sign for, if any: the current
    /// window when it has no pre-signed answers yet, else the next one once the current window is
    /// half over and the next has none. Cheap: for a scheduler to poll.
    pub fn presign_due(&self, now: Time) -> Option<i64> {
        let state = self.current();
        let current = now.unix().div_euclid(self.step);
        let have = |w: i64| {
            self.presigned
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .any(|p| p.generation == state.generation && p.window == w)
        };
        if !have(current) {
            return Some(current);
        }
        let half = current
            .saturating_mul(self.step)
            .saturating_add(self.step / 2);
        (now.unix() >= half && !have(current.saturating_add(1))).then(|| current.saturating_add(1))
    }

    /// Signs ahead (see the module documentation) for the window [`Responder::presign_due`]
    /// names, if any, at `now`; returns what it did. Takes the signer once per serial, so it
    /// belongs on a blocking thread, never on the request path.
    pub fn presign(&self, now: Time) -> Option<PresignReport> {
        let window = self.presign_due(now)?;
        let state = self.current();
        let current = now.unix().div_euclid(self.step);
        let (this_update, next_update) = if window == current {
            let (_, t, n) = self.window(now, state.loaded_at);
            (t, n)
        } else {
            // The next window's nextUpdate, signed now.
            let start = window.saturating_mul(self.step);
            let (_, _, n) = self.window(Time::from_unix(start), state.loaded_at);
            (now, n)
        };
        let template = self
            .templates
            .iter()
            .find(|t| t.hash == HashAlgorithm::Sha1)?;
        let mut map = HashMap::with_capacity(state.index.len());
        let mut report = PresignReport {
            window,
            responses: 0,
            bytes: 0,
            failures: 0,
        };
        for serial in state.index.serials() {
            let mut id = template.clone();
            id.serial = serial;
            let status = match state.index.lookup(&id.serial).map(|e| e.status) {
                None => CertStatus::Unknown,
                Some(EntryStatus::Revoked { time, reason }) => CertStatus::Revoked { time, reason },
                Some(_) => CertStatus::Good,
            };
            let single = SingleSpec::new(&id, status, this_update, Some(next_update));
            let Some(der) = self.sign(std::slice::from_ref(&single), now, None) else {
                report.failures += 1;
                continue;
            };
            report.responses += 1;
            report.bytes += der.len();
            let cacheable = Cacheable {
                this_update,
                next_update,
                etag: etag(&der),
            };
            map.insert(id.serial, (der, cacheable));
        }
        let set = Arc::new(Presigned {
            generation: state.generation,
            window,
            map,
        });
        let mut sets = self
            .presigned
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Keep only sets still usable: this generation, this window or later.
        sets.retain(|p| {
            p.generation == state.generation && p.window >= current && p.window != window
        });
        sets.push(set);
        Some(report)
    }

    /// The number of answers signed ahead and usable now or later.
    pub fn presigned_len(&self) -> usize {
        self.presigned
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|p| p.map.len())
            .sum()
    }

    fn presigned_answer(&self, generation: u64, window: i64, ids: &[CertId]) -> Option<Answer> {
        let [id] = ids else { return None };
        if id.hash != HashAlgorithm::Sha1 {
            return None;
        }
        let sets = self
            .presigned
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let set = sets
            .iter()
            .find(|p| p.generation == generation && p.window == window)?;
        let (der, cacheable) = set.map.get(&id.serial)?;
        Some(Answer {
            der: der.clone(),
            status: ResponseStatus::Successful,
            cacheable: Some(cacheable.clone()),
            from_cache: true,
        })
    }

    fn sign(
        &self,
        singles: &[SingleSpec<'_>],
        produced_at: Time,
        nonce: Option<&[u8]>,
    ) -> Option<Bytes> {
        let id = match self.responder_id_kind {
            ResponderIdKind::ByKey => ResponderIdSpec::ByKeyHash(&self.responder_id),
            ResponderIdKind::ByName => ResponderIdSpec::ByName(&self.responder_id),
        };
        let tbs = encode_response_data(id, produced_at, singles, nonce);
        let signature = self.key.sign(&tbs)?;
        let certs: Vec<&[u8]> = self.certs.iter().map(Vec::as_slice).collect();
        let basic = encode_basic_response(&tbs, self.key.signature_algorithm(), &signature, &certs);
        Some(Bytes::from(encode_response(&basic)))
    }

    fn cached(&self, generation: u64, window: i64, ids: &[CertId]) -> Option<Answer> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.generation != generation || cache.window != window {
            return None;
        }
        let (der, cacheable) = cache.map.get(ids)?;
        Some(Answer {
            der: der.clone(),
            status: ResponseStatus::Successful,
            cacheable: Some(cacheable.clone()),
            from_cache: true,
        })
    }

    /// Keeps a fresh answer, unless another thread stored one first (then that one is returned,
    /// so every client in the window sees the same bytes) or the cache is full.
    fn store(
        &self,
        generation: u64,
        window: i64,
        ids: Vec<CertId>,
        der: Bytes,
        cacheable: Cacheable,
    ) -> Answer {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = |der, cacheable| Answer {
            der,
            status: ResponseStatus::Successful,
            cacheable: Some(cacheable),
            from_cache: false,
        };
        if (cache.generation, cache.window) != (generation, window) {
            // A newer generation or window may already be cached: never go back to an older one.
            if (generation, window) < (cache.generation, cache.window) {
                return fresh(der, cacheable);
            }
            cache.generation = generation;
            cache.window = window;
            cache.map.clear();
        }
        if let Some((d, c)) = cache.map.get(&ids) {
            return Answer {
                der: d.clone(),
                status: ResponseStatus::Successful,
                cacheable: Some(c.clone()),
                from_cache: true,
            };
        }
        if cache.map.len() < self.cache_capacity {
            cache.map.insert(ids, (der.clone(), cacheable.clone()));
        }
        fresh(der, cacheable)
    }
}

/// The nonce's length: the inner OCTET STRING's when the extension value is one (RFC 8954),
/// else the raw value's.
fn nonce_len(value: &[u8]) -> usize {
    match value {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() && *len < 0x80 => rest.len(),
        [0x04, 0x81, len, rest @ ..] if usize::from(*len) == rest.len() && *len >= 0x80 => {
            rest.len()
        }
        _ => value.len(),
    }
}

/// `"` + the first 16 octets of SHA-256 in hex + `"`.
fn etag(der: &[u8]) -> Arc<str> {
    let digest = HashAlgorithm::Sha256.digest(der);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    Arc::from(format!("\"{hex}\""))
}

/// Anything that answers OCSP requests: one [`Responder`] (one CA) or a [`Responders`] set.
/// The HTTP mapping ([`crate::http`]) and the [`crate::Server`] take either.
pub trait Respond: Send + Sync {
    /// Answers a DER `OCSPRequest` at `now`; never fails.
    fn respond(&self, request: &[u8], now: Time) -> Answer;
}

impl Respond for Responder {
    fn respond(&self, request: &[u8], now: Time) -> Answer {
        Responder::respond(self, request, now)
    }
}

/// Several CAs in one process, each with its own index, signer and key: OpenSSL's several
/// `-index`/`-CA` pairs, and what a private PKI with a root and issuing CAs needs.
///
/// The request's first CertID picks the CA (issuer name hash and issuer key hash, in whatever
/// hash the client chose); a CertID of an issuer no CA here is, or a request whose CertIDs name
/// different CAs (one response has one signer), gets `unauthorized`, as RFC 6960 §2.3 says.
/// Reloading one CA's index never touches the others' (each [`Responder`] has its own index and
/// cache).
#[derive(Debug)]
pub struct Responders {
    cas: Vec<Arc<Responder>>,
}

impl Responders {
    /// A set of CAs. Refused: an empty set, and two responders for the same CA (the second
    /// would never be asked).
    pub fn new(cas: Vec<Arc<Responder>>) -> Result<Responders, Error> {
        if cas.is_empty() {
            return Err(Error::Config(
                "a responder needs at least one CA".to_owned(),
            ));
        }
        for (i, a) in cas.iter().enumerate() {
            if let Some(b) = cas.iter().skip(i + 1).find(|b| b.same_ca(a)) {
                return Err(Error::Config(format!(
                    "two responders for the same CA (signers \"{}\" and \"{}\")",
                    a.signer_subject(),
                    b.signer_subject()
                )));
            }
        }
        Ok(Responders { cas })
    }

    /// The CAs, in the order given.
    pub fn cas(&self) -> &[Arc<Responder>] {
        &self.cas
    }

    /// Answers a DER `OCSPRequest` at `now`. Never fails.
    pub fn respond(&self, request: &[u8], now: Time) -> Answer {
        let Ok(req) = OcspRequest::parse(request) else {
            return Answer::error(ResponseStatus::MalformedRequest);
        };
        let Some(first) = req.cert_ids.first() else {
            return Answer::error(ResponseStatus::MalformedRequest);
        };
        match self.cas.iter().find(|ca| ca.answers_for(first)) {
            Some(ca) => ca.respond_to(&req, now),
            None => Answer::error(ResponseStatus::Unauthorized),
        }
    }
}

impl Respond for Responders {
    fn respond(&self, request: &[u8], now: Time) -> Answer {
        Responders::respond(self, request, now)
    }
}

impl From<Arc<Responder>> for Responders {
    fn from(ca: Arc<Responder>) -> Responders {
        Responders { cas: vec![ca] }
    }
}

impl From<Responder> for Responders {
    fn from(ca: Responder) -> Responders {
        Responders::from(Arc::new(ca))
    }
}
