//! The staple provider: certificates per server name, the proof each one serves, the rustls
//! resolver, the bounded stat poll that replaces proofs, and the status snapshot.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwapOption;
use mailstaple_ocsp::Time;
use mailstaple_verify::{CrlReason, Policy, Signer, Status, VerifiedStaple};
use rustls::SignatureScheme;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, ServerConfig};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{DnsName, UnixTime};

use crate::config::{CertFiles, Config};
use crate::load::{self, LoadedCert, Rejection};
use crate::watch::FileSig;
use crate::{Clock, Error};

/// One certificate of one server name, and the proof it serves.
struct Slot {
    files: CertFiles,
    cert: LoadedCert,
    /// What the handshake reads: the proof and the key that carries it. Only good proofs that
    /// verified get here; the handshake re-checks their times.
    served: ArcSwapOption<Served>,
    /// The poller's bookkeeping; never locked in a handshake.
    track: Mutex<Track>,
    stapled: AtomicU64,
    unstapled: AtomicU64,
}

struct Served {
    staple: VerifiedStaple,
    key: Arc<CertifiedKey>,
}

#[derive(Default)]
struct Track {
    /// The proof file as last read; `None` before the first read or while it is missing.
    sig: Option<FileSig>,
    /// Read the file again even if it did not change.
    retry: bool,
    last_rejection: Option<String>,
    /// An authentic revoked answer: nothing is stapled until a later good one arrives.
    revoked: Option<VerifiedStaple>,
    not_current_logged: bool,
    missing_logged: bool,
}

/// The certificates for one server name (or for none).
struct Site {
    sni: Option<String>,
    slots: Vec<Slot>,
}

/// Serves OCSP proofs with the certificates rustls selects; see the crate documentation.
pub struct StapleProvider {
    sites: HashMap<Box<str>, Site>,
    default: Option<Site>,
    clock: Arc<dyn Clock>,
    policy: Policy,
    stapled: AtomicU64,
    unstapled: AtomicU64,
    unresolved: AtomicU64,
}

impl std::fmt::Debug for StapleProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StapleProvider")
            .field("server_names", &self.sites.len())
            .field("default", &self.default.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds a [`StapleProvider`]: [`StapleProvider::builder`].
pub struct Builder {
    config: Config,
    clock: Arc<dyn Clock>,
    names: Vec<String>,
    policy: Policy,
    crypto: Option<Arc<CryptoProvider>>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("config", &self.config)
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// The server names whose files are loaded when the configuration mentions `$tls_sni`
    /// (ignored otherwise). A name sent by a client but not listed here gets the certificates
    /// of the expansion without a name, if those load, as Exim falls back to its first context
    /// when the per-name files fail.
    pub fn sni_names<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.names.extend(names.into_iter().map(Into::into));
        self
    }

    /// The verification policy (default [`Policy::default`]: 300 s skew, nextUpdate required).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The rustls crypto provider for the keys (default: aws-lc-rs).
    pub fn crypto_provider(mut self, crypto: Arc<CryptoProvider>) -> Self {
        self.crypto = Some(crypto);
        self
    }

    /// Reads every certificate, key and proof file (blocking I/O: call it at start-up, or on a
    /// blocking thread) and verifies the proofs at the clock's time.
    pub fn build(self) -> Result<Arc<StapleProvider>, Error> {
        let crypto = self
            .crypto
            .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
        let mut provider = StapleProvider {
            sites: HashMap::new(),
            default: None,
            clock: self.clock,
            policy: self.policy,
            stapled: AtomicU64::new(0),
            unstapled: AtomicU64::new(0),
            unresolved: AtomicU64::new(0),
        };
        if self.config.depends_on_sni() {
            match load_site(&self.config, None, &crypto) {
                Ok(site) => provider.default = Some(site),
                Err(e) => log::warn!(
                    "no certificate for clients without a listed server name (options expanded with an empty $tls_sni): {e}"
                ),
            }
            for name in &self.names {
                let key = sni_key(name)?;
                if provider.sites.contains_key(key.as_str()) {
                    continue;
                }
                let site = load_site(&self.config, Some(&key), &crypto)?;
                provider.sites.insert(key.into_boxed_str(), site);
            }
            if provider.default.is_none() && provider.sites.is_empty() {
                return Err(Error::NoCertificates { sni: None });
            }
        } else {
            if !self.names.is_empty() {
                log::debug!("server names ignored: the options do not mention $tls_sni");
            }
            provider.default = Some(load_site(&self.config, None, &crypto)?);
        }
        provider.poll_all(true);
        for (site, slot) in provider.slots() {
            if slot.cert.must_staple && slot.served.load().is_none() {
                log::error!(
                    "must-staple certificate {}{} has no valid OCSP proof at load: clients honouring \
                     must-staple will refuse it",
                    describe(site, slot),
                    match &slot.files.ocsp {
                        Some(f) => format!(" (tls_ocsp_file {})", f.path.display()),
                        None => " (no tls_ocsp_file item for it)".into(),
                    }
                );
            }
        }
        Ok(Arc::new(provider))
    }
}

fn sni_key(name: &str) -> Result<String, Error> {
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    DnsName::try_from(lower.as_str()).map_err(|_| Error::BadSniName(name.to_owned()))?;
    Ok(lower)
}

fn load_site(config: &Config, sni: Option<&str>, crypto: &CryptoProvider) -> Result<Site, Error> {
    let files = config.files(sni)?;
    let extra = config.extra_ocsp_items(sni);
    if extra > 0 {
        log::warn!("tls_ocsp_file has {extra} more item(s) than tls_certificate; they are ignored");
    }
    let slots = files
        .into_iter()
        .map(|files| {
            let cert = load::load_cert(&files, crypto)?;
            Ok(Slot {
                files,
                cert,
                served: ArcSwapOption::empty(),
                track: Mutex::new(Track::default()),
                stapled: AtomicU64::new(0),
                unstapled: AtomicU64::new(0),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Site {
        sni: sni.map(str::to_owned),
        slots,
    })
}

fn describe(site: &Site, slot: &Slot) -> String {
    let sni = site
        .sni
        .as_deref()
        .map(|n| format!(" for SNI \"{n}\""))
        .unwrap_or_default();
    format!(
        "\"{}\" (serial {}, {}){sni}",
        slot.cert.subject,
        slot.cert.serial,
        slot.files.certificate.display()
    )
}

fn lock(m: &Mutex<Track>) -> MutexGuard<'_, Track> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The certificate chosen for a handshake.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Selection {
    /// What rustls is given: chain, key and, when `stapled`, the proof.
    pub key: Arc<CertifiedKey>,
    /// Whether a valid proof goes with it. rustls sends it only if the client asked
    /// (`status_request`) and the session is not resumed.
    pub stapled: bool,
}

/// Handshake counters, counted when a certificate is chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// A valid proof was handed to rustls with the certificate.
    pub stapled: u64,
    /// The certificate was handed to rustls without a proof.
    pub unstapled: u64,
    /// No certificate for the server name (rustls aborts the handshake).
    pub unresolved: u64,
}

/// What a bounded stat pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollReport {
    /// Proof files looked at (one `stat` each).
    pub checked: usize,
    /// Files read because they changed (or a time-dependent rejection is retried).
    pub read: usize,
    /// Proofs newly served.
    pub installed: usize,
    /// Files read and not served.
    pub rejected: usize,
    /// Authentic revocations read (stapling stops).
    pub revoked: usize,
}

/// The state of one certificate's stapling.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StapleState {
    /// A valid, current, good proof is stapled.
    Serving,
    /// No `tls_ocsp_file` item for this certificate.
    NotConfigured,
    /// A file is configured but no valid proof has been loaded (missing, unreadable, refused).
    NoValidProof,
    /// The proof kept is no longer current (expired, or its signer expired) and no newer valid
    /// one has been installed.
    NotCurrent {
        /// Why, from `check_current`.
        reason: String,
    },
    /// The responder says the certificate is revoked: nothing is stapled.
    Revoked {
        /// revocationTime.
        time: Time,
        /// revocationReason, if given.
        reason: Option<CrlReason>,
    },
}

/// The proof kept for a certificate (served, or last served).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProofInfo {
    /// thisUpdate.
    pub this_update: Time,
    /// nextUpdate.
    pub next_update: Option<Time>,
    /// producedAt.
    pub produced_at: Time,
    /// The earlier of nextUpdate and a delegated signer's notAfter.
    pub effective_expiry: Time,
    /// The certificate's status in the proof.
    pub status: Status,
    /// Who signed it.
    pub signer: Signer,
    /// Its length in bytes.
    pub len: usize,
}

impl ProofInfo {
    fn of(v: &VerifiedStaple) -> ProofInfo {
        ProofInfo {
            this_update: v.this_update(),
            next_update: v.next_update(),
            produced_at: v.produced_at(),
            effective_expiry: v.effective_expiry(),
            status: v.status(),
            signer: v.signer().clone(),
            len: v.der().len(),
        }
    }
}

/// One certificate in a [`StapleProvider::status`] snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateStatus {
    /// The server name its files were expanded for (`None`: no SNI / default).
    pub sni: Option<String>,
    /// Position in `tls_certificate`.
    pub index: usize,
    /// The certificate file.
    pub certificate_file: PathBuf,
    /// The proof file, if any.
    pub ocsp_file: Option<PathBuf>,
    /// Subject, RFC 4514.
    pub subject: String,
    /// Serial, hex.
    pub serial: String,
    /// Whether it carries TLS Feature status_request.
    pub must_staple: bool,
    /// The proof kept (the revoked answer when revoked).
    pub proof: Option<ProofInfo>,
    /// The state.
    pub state: StapleState,
    /// Why the last file read was not served, if it was not.
    pub last_rejection: Option<String>,
    /// Handshakes that chose it with a proof.
    pub stapled_handshakes: u64,
    /// Handshakes that chose it without a proof.
    pub unstapled_handshakes: u64,
}

impl StapleProvider {
    /// Loads what [`Builder::build`] loads for the certificates of `config` without `$tls_sni`
    /// (chains, keys, issuers) and drops it: the errors that would stop a server, found without a
    /// clock or proofs (which never stop one). Options mentioning `$tls_sni` are only loaded
    /// per server name, so nothing is loaded for them here. Returns the certificates loaded.
    pub fn check_files(config: &Config) -> Result<usize, Error> {
        if config.depends_on_sni() {
            return Ok(0);
        }
        let crypto = rustls::crypto::aws_lc_rs::default_provider();
        let files = config.files(None)?;
        let count = files.len();
        for f in &files {
            load::load_cert(f, &crypto)?;
        }
        Ok(count)
    }

    /// Starts building a provider for `config`, judging times with `clock`.
    pub fn builder(config: Config, clock: impl Clock + 'static) -> Builder {
        Builder {
            config,
            clock: Arc::new(clock),
            names: Vec::new(),
            policy: Policy::default(),
            crypto: None,
        }
    }

    fn slots(&self) -> impl Iterator<Item = (&Site, &Slot)> {
        self.default
            .iter()
            .chain(self.sites.values())
            .flat_map(|site| site.slots.iter().map(move |s| (site, s)))
    }

    fn site(&self, server_name: Option<&str>) -> Option<&Site> {
        let found = server_name.and_then(|name| {
            self.sites.get(name).or_else(|| {
                let key = name.trim_end_matches('.');
                if key.len() != name.len() || key.bytes().any(|b| b.is_ascii_uppercase()) {
                    self.sites.get(key.to_ascii_lowercase().as_str())
                } else {
                    None
                }
            })
        });
        found.or(self.default.as_ref())
    }

    /// Chooses the certificate for a server name and the client's signature schemes, with
    /// its proof when one is valid now. This is the handshake path: no file I/O, no lock, one
    /// clock read; the proof's times are re-checked here.
    pub fn select(
        &self,
        server_name: Option<&str>,
        schemes: &[SignatureScheme],
    ) -> Option<Selection> {
        let Some(site) = self.site(server_name) else {
            self.unresolved.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let slot = match site.slots.as_slice() {
            [only] => only,
            slots => slots
                .iter()
                .find(|s| s.cert.schemes.iter().any(|k| schemes.contains(k)))
                .or_else(|| slots.first())?,
        };
        let served = slot.served.load();
        let now = self.clock.now();
        let why_not = match served.as_deref() {
            Some(s) => match s.staple.check_current(now) {
                Ok(()) => {
                    slot.stapled.fetch_add(1, Ordering::Relaxed);
                    self.stapled.fetch_add(1, Ordering::Relaxed);
                    return Some(Selection {
                        key: Arc::clone(&s.key),
                        stapled: true,
                    });
                }
                Err(e) => Some(e),
            },
            None => None,
        };
        slot.unstapled.fetch_add(1, Ordering::Relaxed);
        self.unstapled.fetch_add(1, Ordering::Relaxed);
        if slot.cert.must_staple {
            log::error!(
                "must-staple certificate {} served without a valid OCSP proof: {}",
                describe(site, slot),
                match why_not {
                    Some(e) => format!("the proof kept is not current: {e}"),
                    None => "no valid proof is loaded".into(),
                }
            );
        }
        Some(Selection {
            key: Arc::clone(&slot.cert.bare),
            stapled: false,
        })
    }

    /// The handshake counters.
    pub fn counters(&self) -> Counters {
        Counters {
            stapled: self.stapled.load(Ordering::Relaxed),
            unstapled: self.unstapled.load(Ordering::Relaxed),
            unresolved: self.unresolved.load(Ordering::Relaxed),
        }
    }

    /// A snapshot of every certificate: default first, then the server names in sorted order.
    pub fn status(&self) -> Vec<CertificateStatus> {
        let now = self.clock.now();
        let mut sites: Vec<&Site> = self.sites.values().collect();
        sites.sort_by(|a, b| a.sni.cmp(&b.sni));
        self.default
            .iter()
            .chain(sites)
            .flat_map(|site| site.slots.iter().map(move |slot| (site, slot)))
            .map(|(site, slot)| {
                let track = lock(&slot.track);
                let served = slot.served.load();
                let (proof, state) = match (served.as_deref(), &track.revoked) {
                    (_, Some(revoked)) => (
                        Some(ProofInfo::of(revoked)),
                        match revoked.status() {
                            Status::Revoked { time, reason } => {
                                StapleState::Revoked { time, reason }
                            }
                            _ => StapleState::NoValidProof,
                        },
                    ),
                    (Some(s), None) => (
                        Some(ProofInfo::of(&s.staple)),
                        match s.staple.check_current(now) {
                            Ok(()) => StapleState::Serving,
                            Err(e) => StapleState::NotCurrent {
                                reason: e.to_string(),
                            },
                        },
                    ),
                    (None, None) if slot.files.ocsp.is_none() => (None, StapleState::NotConfigured),
                    (None, None) => (None, StapleState::NoValidProof),
                };
                CertificateStatus {
                    sni: site.sni.clone(),
                    index: slot.files.index,
                    certificate_file: slot.files.certificate.clone(),
                    ocsp_file: slot.files.ocsp.as_ref().map(|f| f.path.clone()),
                    subject: slot.cert.subject.clone(),
                    serial: slot.cert.serial.clone(),
                    must_staple: slot.cert.must_staple,
                    proof,
                    state,
                    last_rejection: track.last_rejection.clone(),
                    stapled_handshakes: slot.stapled.load(Ordering::Relaxed),
                    unstapled_handshakes: slot.unstapled.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    /// One bounded pass over the proof files: one `stat` per file, and a read only of files
    /// whose identity (device, inode, size, mtime, ctime) changed. The watcher calls this;
    /// callers with their own scheduler may call it instead (it blocks on file I/O).
    pub fn poll(&self) -> PollReport {
        self.poll_all(false)
    }

    fn poll_all(&self, first: bool) -> PollReport {
        let now = self.clock.now();
        let mut report = PollReport::default();
        for (site, slot) in self.slots() {
            self.poll_slot(site, slot, now, first, &mut report);
        }
        report
    }

    fn poll_slot(
        &self,
        site: &Site,
        slot: &Slot,
        now: UnixTime,
        first: bool,
        report: &mut PollReport,
    ) {
        let Some(file) = &slot.files.ocsp else { return };
        report.checked += 1;
        let mut track = lock(&slot.track);
        let path = file.path.display();
        let before = match FileSig::stat(&file.path) {
            Ok(sig) => sig,
            Err(e) => {
                if !track.missing_logged {
                    track.missing_logged = true;
                    let kept = match slot.served.load().as_deref() {
                        Some(s) => format!(
                            "the proof loaded before stays in use until {}",
                            s.staple.effective_expiry()
                        ),
                        None => "no proof is stapled".into(),
                    };
                    if first {
                        log::error!(
                            "tls_ocsp_file {path} for {}: cannot open it: {e}; {kept}",
                            describe(site, slot)
                        );
                    } else {
                        log::warn!(
                            "tls_ocsp_file {path} for {}: cannot open it: {e}; {kept}",
                            describe(site, slot)
                        );
                    }
                }
                track.sig = None;
                return;
            }
        };
        track.missing_logged = false;
        let changed = track.sig != Some(before);
        if !changed && !track.retry {
            self.note_currency(site, slot, &mut track, now);
            return;
        }
        report.read += 1;
        let bytes = load::read_bounded(&file.path, load::MAX_PROOF_FILE);
        // A file rewritten in place while we read it is read again at the next pass.
        match FileSig::stat(&file.path) {
            Ok(after) if after == before => track.sig = Some(before),
            _ => track.sig = None,
        }
        let outcome = bytes
            .map_err(Rejection::Io)
            .and_then(|b| load::judge(&b, file.format, &slot.cert, now, &self.policy))
            .and_then(|v| self.admit(slot, &track, v, now));
        match outcome {
            Ok(Admitted::Good(staple)) => {
                report.installed += 1;
                log::info!(
                    "tls_ocsp_file {path}: serving the OCSP proof for {}: thisUpdate {}, nextUpdate {}, usable until {}",
                    describe(site, slot),
                    staple.this_update(),
                    staple
                        .next_update()
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "none".into()),
                    staple.effective_expiry(),
                );
                let key = CertifiedKey {
                    cert: slot.cert.bare.cert.clone(),
                    key: Arc::clone(&slot.cert.bare.key),
                    ocsp: Some(staple.der().to_vec()),
                };
                slot.served.store(Some(Arc::new(Served {
                    staple,
                    key: Arc::new(key),
                })));
                track.revoked = None;
                track.retry = false;
                track.last_rejection = None;
                track.not_current_logged = false;
            }
            Ok(Admitted::Revoked(staple)) => {
                report.revoked += 1;
                let (time, reason) = match staple.status() {
                    Status::Revoked { time, reason } => (Some(time), reason),
                    _ => (None, None),
                };
                log::error!(
                    "tls_ocsp_file {path}: certificate {} is REVOKED (since {}, reason {}): no proof is stapled for it",
                    describe(site, slot),
                    time.map(|t| t.to_string()).unwrap_or_default(),
                    reason
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "not given".into()),
                );
                slot.served.store(None);
                track.revoked = Some(staple);
                track.retry = false;
                track.last_rejection = None;
            }
            Err(why) => {
                report.rejected += 1;
                let was_retry = track.retry;
                track.retry = why.retry_later();
                let served = slot.served.load();
                let current = served
                    .as_deref()
                    .filter(|s| s.staple.check_current(now).is_ok());
                let msg = why.to_string();
                // A time-dependent rejection is retried at every pass; say it once per file.
                if changed || !(was_retry && track.retry) {
                    match current {
                        Some(s) => log::warn!(
                            "tls_ocsp_file {path}: new proof for {} not served: {msg}; still serving the previous proof, usable until {}",
                            describe(site, slot),
                            s.staple.effective_expiry()
                        ),
                        None => log::error!(
                            "tls_ocsp_file {path}: proof for {} not served: {msg}; no proof is stapled",
                            describe(site, slot)
                        ),
                    }
                }
                track.last_rejection = Some(msg);
            }
        }
    }

    /// Decides whether a verified proof replaces what is served.
    fn admit(
        &self,
        slot: &Slot,
        track: &Track,
        v: VerifiedStaple,
        now: UnixTime,
    ) -> Result<Admitted, Rejection> {
        match v.status() {
            Status::Good => {
                if let Some(revoked) = &track.revoked
                    && v.this_update() <= revoked.this_update()
                {
                    return Err(Rejection::NotAfterRevocation {
                        this_update: v.this_update(),
                        revoked: revoked.this_update(),
                    });
                }
                if let Some(s) = slot.served.load().as_deref()
                    && s.staple.check_current(now).is_ok()
                    && s.staple.this_update() > v.this_update()
                {
                    return Err(Rejection::Older {
                        this_update: v.this_update(),
                        served: s.staple.this_update(),
                    });
                }
                Ok(Admitted::Good(v))
            }
            // An authentic revocation is never overridden by an older good proof.
            Status::Revoked { .. } => Ok(Admitted::Revoked(v)),
            _ => Err(Rejection::Unknown),
        }
    }

    /// Logs once when the proof served stops being current.
    fn note_currency(&self, site: &Site, slot: &Slot, track: &mut Track, now: UnixTime) {
        let served = slot.served.load();
        let Some(s) = served.as_deref() else { return };
        match s.staple.check_current(now) {
            Ok(()) => track.not_current_logged = false,
            Err(e) if !track.not_current_logged => {
                track.not_current_logged = true;
                let path = slot
                    .files
                    .ocsp
                    .as_ref()
                    .map(|f| f.path.display().to_string())
                    .unwrap_or_default();
                if slot.cert.must_staple {
                    log::error!(
                        "tls_ocsp_file {path}: the proof for must-staple certificate {} is no longer current: {e}; nothing is stapled until a new file is installed",
                        describe(site, slot)
                    );
                } else {
                    log::warn!(
                        "tls_ocsp_file {path}: the proof for {} is no longer current: {e}; nothing is stapled until a new file is installed",
                        describe(site, slot)
                    );
                }
            }
            Err(_) => {}
        }
    }

    /// A resolver for one connection that records what was chosen, for
    /// [`ConnectionOcsp::tls_in_ocsp`].
    pub fn connection(self: &Arc<Self>) -> (Arc<ConnectionResolver>, ConnectionOcsp) {
        let record = Arc::new(AtomicU8::new(NOT_SELECTED));
        (
            Arc::new(ConnectionResolver {
                provider: Arc::clone(self),
                record: Arc::clone(&record),
            }),
            ConnectionOcsp(record),
        )
    }

    /// A copy of `template` (sharing its session cache, tickets, versions and ALPN) whose
    /// certificate resolver is a fresh [`ConnectionResolver`]: one per accepted connection.
    pub fn connection_config(
        self: &Arc<Self>,
        template: &ServerConfig,
    ) -> (Arc<ServerConfig>, ConnectionOcsp) {
        let (resolver, record) = self.connection();
        let mut config = template.clone();
        config.cert_resolver = resolver;
        (Arc::new(config), record)
    }
}

enum Admitted {
    Good(VerifiedStaple),
    Revoked(VerifiedStaple),
}

impl ResolvesServerCert for StapleProvider {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.select(client_hello.server_name(), client_hello.signature_schemes())
            .map(|s| s.key)
    }
}

const NOT_SELECTED: u8 = 0;
const NO_PROOF: u8 = 1;
const OFFERED: u8 = 2;

/// A per-connection resolver made by [`StapleProvider::connection`].
#[derive(Debug)]
pub struct ConnectionResolver {
    provider: Arc<StapleProvider>,
    record: Arc<AtomicU8>,
}

impl ResolvesServerCert for ConnectionResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = self
            .provider
            .select(client_hello.server_name(), client_hello.signature_schemes());
        if let Some(s) = &chosen {
            self.record.store(
                if s.stapled { OFFERED } else { NO_PROOF },
                Ordering::Relaxed,
            );
        }
        chosen.map(|s| s.key)
    }
}

/// The per-connection record of a [`ConnectionResolver`].
#[derive(Clone, Debug)]
pub struct ConnectionOcsp(Arc<AtomicU8>);

impl ConnectionOcsp {
    /// What this connection's handshake did about stapling, as far as rustls lets us know.
    pub fn tls_in_ocsp(&self) -> TlsInOcsp {
        match self.0.load(Ordering::Relaxed) {
            OFFERED => TlsInOcsp::Offered,
            NO_PROOF => TlsInOcsp::NoProof,
            _ => TlsInOcsp::NotSelected,
        }
    }
}

/// Exim's `$tls_in_ocsp` for one connection, as far as rustls 0.23 allows.
///
/// rustls does not tell a certificate resolver, nor the application afterwards, whether the
/// client sent `status_request`; it sends the proof it was given only if the client did. So
/// the value distinguishes what the server did, and [`TlsInOcsp::exim_value`] needs the one bit
/// rustls hides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsInOcsp {
    /// No certificate was chosen on this connection: a resumed session (rustls never staples
    /// then) or no handshake yet. Exim: 0.
    NotSelected,
    /// A certificate was chosen without a valid proof. Exim: 1 if the client asked, else 0.
    NoProof,
    /// A valid proof went to rustls with the certificate, and rustls sent it if the client
    /// asked. Exim: 4 if the client asked, else 0.
    Offered,
}

impl TlsInOcsp {
    /// Exim's number (0 not requested, 1 no response, 4 sent), given whether the client asked.
    pub fn exim_value(self, client_requested: bool) -> u8 {
        match (self, client_requested) {
            (TlsInOcsp::NoProof, true) => 1,
            (TlsInOcsp::Offered, true) => 4,
            _ => 0,
        }
    }
}
