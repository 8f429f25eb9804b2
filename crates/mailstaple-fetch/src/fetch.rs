//! One certificate: build the request, fetch, verify, compare with the installed proof, install.

use std::path::{Path, PathBuf};

use mailstaple_ocsp::{CertId, CertView, HashAlgorithm, Time, build_request};
use mailstaple_verify::{Policy, Status, VerifiedStaple, verify};
use rustls_pki_types::UnixTime;

use crate::Error;
use crate::http::{HttpOptions, exchange};
use crate::install::install_atomic;
use crate::schedule::Validity;

/// A certificate whose proof is to be kept fresh.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Target {
    /// The certificate, DER.
    pub cert: Vec<u8>,
    /// Its issuer, DER.
    pub issuer: Vec<u8>,
    /// Where the proof is installed (DER, an Exim `tls_ocsp_file`).
    pub out: PathBuf,
    /// The responder URL; `None` to use the certificate's AIA.
    pub url: Option<String>,
}

impl Target {
    /// A target from DER certificates.
    pub fn new(cert: Vec<u8>, issuer: Vec<u8>, out: PathBuf, url: Option<String>) -> Self {
        Target {
            cert,
            issuer,
            out,
            url,
        }
    }

    /// Reads the certificate file (DER, or PEM whose first `CERTIFICATE` block is used: a chain
    /// file, leaf first, works) and the issuer file, and checks that they decode.
    ///
    /// The issuer file may hold several certificates (a chain file, the same as `cert`, or a
    /// bundle of issuers, as `tls_ocsp_issuer`): the first whose subject is the certificate's
    /// issuer is used, and the first certificate when none is.
    pub fn load(
        cert: &Path,
        issuer: &Path,
        out: PathBuf,
        url: Option<String>,
    ) -> Result<Self, Error> {
        let read_all = |p: &Path| -> Result<Vec<Vec<u8>>, Error> {
            let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
            let bad = |e: &dyn std::fmt::Display| Error::BadInput(format!("{}: {e}", p.display()));
            let all = if mailstaple_ocsp::pem::is_pem(&bytes) {
                mailstaple_ocsp::pem::all_blocks(&bytes, "CERTIFICATE").map_err(|e| bad(&e))?
            } else {
                vec![bytes]
            };
            if all.is_empty() {
                return Err(bad(&"no CERTIFICATE block"));
            }
            for der in &all {
                CertView::parse(der).map_err(|e| bad(&e))?;
            }
            Ok(all)
        };
        let cert = read_all(cert)?.into_iter().next().unwrap_or_default();
        let wanted = CertView::parse(&cert)
            .map(|v| v.issuer.to_vec())
            .unwrap_or_default();
        let issuers = read_all(issuer)?;
        let pick = issuers
            .iter()
            .position(|der| CertView::parse(der).is_ok_and(|v| v.subject == wanted.as_slice()))
            .unwrap_or(0);
        let issuer = issuers.into_iter().nth(pick).unwrap_or_default();
        Ok(Target {
            cert,
            issuer,
            out,
            url,
        })
    }

    /// The responder URL: the given one, else the first AIA OCSP URL; [`Error::NoOcspUrl`] when
    /// there is none.
    pub fn responder_url(&self) -> Result<String, Error> {
        if let Some(u) = &self.url {
            return Ok(u.clone());
        }
        let view = CertView::parse(&self.cert)
            .map_err(|e| Error::BadInput(format!("certificate: {e}")))?;
        let urls = view
            .ocsp_urls()
            .map_err(|e| Error::BadInput(format!("certificate AIA: {e}")))?;
        urls.into_iter()
            .next()
            .map(str::to_owned)
            .ok_or(Error::NoOcspUrl)
    }

    /// A DER OCSPRequest for the certificate (SHA-1 CertID, as RFC 5019 asks), with `nonce`.
    pub fn request(&self, nonce: Option<&[u8]>) -> Result<Vec<u8>, Error> {
        let cert = CertView::parse(&self.cert)
            .map_err(|e| Error::BadInput(format!("certificate: {e}")))?;
        let issuer =
            CertView::parse(&self.issuer).map_err(|e| Error::BadInput(format!("issuer: {e}")))?;
        let id = CertId::new(&cert, &issuer, HashAlgorithm::Sha1);
        Ok(build_request(&[id], nonce))
    }

    /// Verifies `proof` for this certificate at `now`: authentic, current, good, and carrying
    /// `nonce` when one was sent.
    pub fn check(
        &self,
        proof: &[u8],
        now: UnixTime,
        policy: &Policy,
        nonce: Option<&[u8]>,
    ) -> Result<Checked, Error> {
        let staple = verify(proof, &self.cert, &self.issuer, now, policy).map_err(|e| match e {
            mailstaple_verify::Error::NotSuccessful(s) => Error::ResponderStatus(s),
            e => Error::Invalid(e),
        })?;
        if let Some(n) = nonce
            && staple.nonce() != Some(n)
        {
            return Err(Error::NonceMismatch);
        }
        if !staple.is_good() {
            return Err(Error::NotGood(staple.status()));
        }
        Ok(self.checked(staple))
    }

    /// A verified proof with its window: thisUpdate to the earliest of its effective expiry and
    /// the leaf's notAfter.
    pub(crate) fn checked(&self, staple: VerifiedStaple) -> Checked {
        let leaf_end = CertView::parse(&self.cert)
            .map(|v| v.not_after)
            .unwrap_or(staple.effective_expiry());
        let end = staple.effective_expiry().min(leaf_end);
        let validity = Validity::new(staple.this_update().unix(), end.unix());
        Checked { staple, validity }
    }

    /// The installed proof, if the file exists and holds a good proof for this certificate that
    /// is usable at `now`.
    pub fn installed(&self, now: UnixTime, policy: &Policy) -> Option<Checked> {
        let bytes = std::fs::read(&self.out).ok()?;
        self.check(&bytes, now, policy, None).ok()
    }
}

/// A proof that passed [`Target::check`], with its refresh window.
#[derive(Debug)]
pub struct Checked {
    staple: VerifiedStaple,
    validity: Validity,
}

impl Checked {
    /// The verified proof.
    pub fn staple(&self) -> &VerifiedStaple {
        &self.staple
    }

    /// Its window: thisUpdate to the earliest of nextUpdate, the delegated signer's notAfter
    /// and the leaf's notAfter.
    pub fn validity(&self) -> Validity {
        self.validity
    }

    /// thisUpdate.
    pub fn this_update(&self) -> Time {
        self.staple.this_update()
    }

    /// Whether the proof is still in the first half of its window at `now` (no refresh due).
    pub fn is_fresh(&self, now: i64) -> bool {
        now < self.validity.midpoint()
    }
}

/// Settings of one fetch.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct FetchOptions {
    /// HTTP settings.
    pub http: HttpOptions,
    /// Verification settings.
    pub policy: Policy,
}

/// Fetches a proof for `target`, verifies it at `now` and installs it atomically unless it is
/// older than `installed` (the installed proof's thisUpdate, if one is known).
///
/// On any error the installed file is untouched, with one exception: an authentic, current
/// `revoked` answer newer than the installed proof is installed and reported as
/// [`Error::RevokedInstalled`], because keeping a good proof the CA has withdrawn would have the
/// server staple a lie.
pub async fn fetch_and_install(
    target: &Target,
    opts: &FetchOptions,
    now: UnixTime,
    nonce: Option<&[u8]>,
    installed: Option<Time>,
) -> Result<Checked, Error> {
    let url = target.responder_url()?;
    let request = target.request(nonce)?;
    let body = exchange(&url, &request, &opts.http).await?;
    install_answer(target, opts, now, nonce, installed, body).await
}

/// Judges an answer (from the responder or the fleet's store) exactly as [`fetch_and_install`]
/// does, and installs it when it is good and not older than `installed`, or an authentic
/// revocation not older than it.
pub(crate) async fn install_answer(
    target: &Target,
    opts: &FetchOptions,
    now: UnixTime,
    nonce: Option<&[u8]>,
    installed: Option<Time>,
    body: Vec<u8>,
) -> Result<Checked, Error> {
    // An authentic, current revocation for this certificate (newer than what is installed)
    // replaces the installed good proof: the server must stop stapling what the CA withdrew.
    // The server staple provider never staples a revoked proof, and logs it at error level.
    if let Ok(staple) = verify(&body, &target.cert, &target.issuer, now, &opts.policy)
        && matches!(staple.status(), Status::Revoked { .. })
        && nonce.is_none_or(|n| staple.nonce() == Some(n))
        && installed.is_none_or(|old| staple.this_update() >= old)
    {
        install_blocking(&target.out, body).await?;
        return Err(Error::RevokedInstalled(staple.status()));
    }
    let checked = target.check(&body, now, &opts.policy, nonce)?;
    if let Some(old) = installed
        && checked.this_update() < old
    {
        return Err(Error::OlderThanInstalled {
            new: checked.this_update(),
            installed: old,
        });
    }
    install_blocking(&target.out, body).await?;
    Ok(checked)
}

/// Installs on the blocking pool: the writes and fsyncs neither stall the runtime's few workers
/// nor queue behind each other (concurrent fsyncs share journal commits).
pub(crate) async fn install_blocking(out: &Path, bytes: Vec<u8>) -> Result<(), Error> {
    let path = out.to_path_buf();
    tokio::task::spawn_blocking(move || install_atomic(&path, &bytes))
        .await
        .map_err(|e| Error::Io {
            path: out.display().to_string(),
            error: std::io::Error::other(e.to_string()),
        })?
}

/// The one-shot outcome (complete by design: a proof was fetched or none was needed).
#[derive(Debug)]
pub enum OneShot {
    /// A new proof was installed.
    Installed(Checked),
    /// The installed proof is still in the first half of its window; nothing was fetched.
    StillFresh(Checked),
}

/// `mailstaple fetch` once: skip when the installed proof is still fresh (unless `force`),
/// otherwise fetch, verify and install. Builds its own single-threaded runtime.
pub fn one_shot(
    target: &Target,
    opts: &FetchOptions,
    now: UnixTime,
    nonce: Option<&[u8]>,
    force: bool,
) -> Result<OneShot, Error> {
    // The URL is checked first: "no OCSP URL" must win over everything else, quietly.
    target.responder_url()?;
    let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let old = match target.installed(now, &opts.policy) {
        Some(c) if !force && c.is_fresh(now_secs) => return Ok(OneShot::StillFresh(c)),
        other => other.map(|c| c.this_update()),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(format!("I/O runtime: {e}")))?;
    rt.block_on(fetch_and_install(target, opts, now, nonce, old))
        .map(OneShot::Installed)
}
