//! The MFA service: checks a user's code, enrols a new authenticator, and keeps
//! the protections that make a six-digit code worth asking for.
//!
//! - Replay: an accepted code's time step is recorded by the store in one
//!   conditional update that refuses any step not above the last one, so a code
//!   works once, across replicas and restarts (RFC 6238 §5.2). This also
//!   refuses an *older* still-valid code once a newer one was accepted; that
//!   costs a user at most one step's wait and closes the window entirely.
//! - Brute force: failures are counted in the store, not in memory, so a
//!   restart does not reset them (RFC 4226 §7.3); `max_failures` in a row lock
//!   the user for `lockout`, and only a success clears the count. The lockout
//!   is checked before any code is computed. A malformed entry (not N digits)
//!   is not a guess and is not counted.
//! - Secrets: a seed enrolled by chat is stored sealed by the [`Vault`] and wins
//!   over the config's `totp_secret` (the pre-enrolled demo users). Nothing here
//!   logs or `Debug`-prints a seed, key, ciphertext or code.
//! - Enrolment: a new seed is pending until one valid code for it arrives.
//!   Replacing an existing authenticator first needs a code from it verified in
//!   the last few minutes, so whoever takes over a chat account cannot simply
//!   enrol their own device.
//!
//! User names are compared case-insensitively (as `Config::user` does): they
//! are lower-cased once here, so "Alice" cannot dodge alice's lockout.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use crate::config;
use crate::store::{MfaState, StepOutcome, Store, StoreError};

use super::error::{MfaError, Refusal};
use super::totp::{self, Generator, Params, Seed};
use super::vault::Vault;

/// How recently a code from the current authenticator must have been accepted
/// to enrol a replacement.
const RECENT_CODE_S: u64 = 5 * 60;
/// Longer names are refused before they reach the store or a URI.
const MAX_USER_CHARS: usize = 128;

/// Checks codes and enrols authenticators. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Mfa {
    store: Store,
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    issuer: String,
    max_failures: u32,
    lockout_ms: i64,
    /// `None` when no key is configured: enrolment is refused, config seeds work.
    vault: Option<Vault>,
    /// Pre-enrolled seeds from the config, by lower-cased user name.
    config_seeds: BTreeMap<String, Seed>,
}

/// A new authenticator to show its owner, privately: each field contains the
/// seed. `Debug` shows none of them.
pub struct Enrollment {
    /// `otpauth://totp/ISSUER:USER?secret=...&issuer=ISSUER`.
    pub otpauth_uri: String,
    /// The seed in base32, for typing into an app by hand.
    pub secret_base32: String,
    /// The otpauth URI as a QR code, PNG.
    pub qr_png: Vec<u8>,
}

impl fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enrollment")
            .field("otpauth_uri", &"[redacted]")
            .field("secret_base32", &"[redacted]")
            .field("qr_png", &format_args!("[{} bytes]", self.qr_png.len()))
            .finish()
    }
}

impl Mfa {
    /// Validates the settings and the config's seeds. An env-var seed or key
    /// whose variable is unset is skipped (check-config already warns): that
    /// user is simply not pre-enrolled, or enrolment is disabled.
    pub fn new(
        store: Store,
        settings: &config::Mfa,
        users: &[config::User],
    ) -> Result<Mfa, MfaError> {
        let params = Params::new(settings.digits, settings.period, settings.skew)?;
        if settings.max_failures == 0 {
            return Err(MfaError::MaxFailures);
        }
        if settings.issuer.trim().is_empty() || settings.issuer.contains(':') {
            return Err(MfaError::Issuer(settings.issuer.clone()));
        }
        let lockout_ms = i64::try_from(settings.lockout.as_millis()).unwrap_or(i64::MAX);
        let vault = match settings.encryption_key.as_ref().map(config::Secret::expose) {
            Some(Ok(hex)) => Some(Vault::from_hex(hex).map_err(MfaError::Key)?),
            Some(Err(_)) => {
                tracing::warn!("mfa.encryption_key is not set: enrolment by chat is disabled");
                None
            }
            None => None,
        };
        let mut config_seeds = BTreeMap::new();
        for user in users {
            let Some(secret) = &user.totp_secret else {
                continue;
            };
            let Ok(text) = secret.expose() else {
                tracing::warn!(user = %user.name, "totp_secret is not set: user is not pre-enrolled");
                continue;
            };
            let seed = Seed::from_base32(text).map_err(|reason| MfaError::ConfigSeed {
                user: user.name.clone(),
                reason,
            })?;
            if let Some(name) = canonical(&user.name) {
                config_seeds.insert(name, seed);
            }
        }
        Ok(Mfa {
            store,
            inner: Arc::new(Inner {
                params,
                issuer: settings.issuer.clone(),
                max_failures: settings.max_failures,
                lockout_ms,
                vault,
                config_seeds,
            }),
        })
    }

    /// Checks `code` for `user` at `now_ms` and, if it is right and new,
    /// returns its time step (already recorded: the same code will not pass
    /// again).
    pub async fn verify(&self, user: &str, code: &str, now_ms: i64) -> Result<u64, Refusal> {
        let user = canonical(user).ok_or(Refusal::NotEnrolled)?;
        let state = self.store.mfa(&user).await?;
        refuse_if_locked(state.as_ref(), now_ms)?;
        let seed = self
            .active_seed(&user, state.as_ref())?
            .ok_or(Refusal::NotEnrolled)?;
        let step = self.check(&user, &seed, code, now_ms).await?;
        tracing::info!(user = %user, "mfa: code accepted");
        Ok(step)
    }

    /// Starts enrolling a new authenticator: a fresh 160-bit seed is stored
    /// sealed as pending, and returned for its owner's eyes only. It replaces
    /// the current one (if any) once [`Mfa::confirm_enrollment`] sees a code
    /// for it; until then the current one keeps working. Starting again
    /// replaces the pending seed.
    pub async fn begin_enrollment(&self, user: &str, now_ms: i64) -> Result<Enrollment, Refusal> {
        let vault = self
            .inner
            .vault
            .as_ref()
            .ok_or(Refusal::EnrollmentDisabled)?;
        let user = canonical(user).ok_or(Refusal::NotEnrolled)?;
        let state = self.store.mfa(&user).await?;
        refuse_if_locked(state.as_ref(), now_ms)?;
        let enrolled = state.as_ref().is_some_and(|s| s.secret_enc.is_some())
            || self.inner.config_seeds.contains_key(&user);
        if enrolled && !self.verified_recently(state.as_ref(), now_ms)? {
            return Err(Refusal::CodeFirst {
                minutes: RECENT_CODE_S / 60,
            });
        }
        let seed = Seed::generate();
        let provisioning = totp::provisioning(&seed, self.inner.params, &self.inner.issuer, &user)
            .map_err(|_| MfaError::Otpauth { user: user.clone() })?;
        let sealed = vault
            .seal(&user, seed.as_bytes())
            .map_err(|reason| MfaError::Seal {
                user: user.clone(),
                reason,
            })?;
        // Stored before the seed is shown: a seed the user sees but we forgot
        // would leave them with a useless authenticator entry.
        let mut next = state.unwrap_or_else(|| MfaState::new(&user));
        next.pending_secret_enc = Some(sealed);
        self.store.put_mfa(&next).await?;
        tracing::info!(user = %user, "mfa: enrolment started");
        Ok(Enrollment {
            otpauth_uri: provisioning.uri,
            secret_base32: seed.to_base32(),
            qr_png: provisioning.qr_png,
        })
    }

    /// Activates the pending seed once `code` is a valid, unused code for it.
    /// Wrong codes count towards the same lockout as [`Mfa::verify`].
    pub async fn confirm_enrollment(
        &self,
        user: &str,
        code: &str,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        let user = canonical(user).ok_or(Refusal::NoPendingEnrollment)?;
        let state = self.store.mfa(&user).await?;
        refuse_if_locked(state.as_ref(), now_ms)?;
        let Some(pending) = state.and_then(|s| s.pending_secret_enc) else {
            return Err(Refusal::NoPendingEnrollment);
        };
        if self.inner.vault.is_none() {
            return Err(Refusal::EnrollmentDisabled);
        }
        let seed = self.open(&user, &pending)?;
        self.check(&user, &seed, code, now_ms).await?;
        // Re-read: the success just cleared failures and moved last_step, and
        // put_mfa writes the whole row.
        let mut next = self
            .store
            .mfa(&user)
            .await?
            .unwrap_or_else(|| MfaState::new(&user));
        if next.pending_secret_enc.as_deref() != Some(pending.as_str()) {
            // Another enrolment began meanwhile; this code was for the old seed.
            return Err(Refusal::NoPendingEnrollment);
        }
        next.secret_enc = Some(pending);
        next.pending_secret_enc = None;
        self.store.put_mfa(&next).await?;
        tracing::info!(user = %user, "mfa: enrolment confirmed");
        Ok(())
    }

    /// The demo's stand-in for an authenticator app: `user`'s current code and
    /// the seconds it has left. Only for seeds from the config (the demo users'
    /// public ones): a seed enrolled by chat exists to be known by the user's
    /// device alone, so it is never shown. Call this only in demo mode; any
    /// other use hands out the second factor to whoever holds the chat account.
    pub async fn current_code(&self, user: &str, now_ms: i64) -> Result<(String, u64), Refusal> {
        let user = canonical(user).ok_or(Refusal::NotEnrolled)?;
        let state = self.store.mfa(&user).await?;
        if state.is_some_and(|s| s.secret_enc.is_some()) {
            return Err(Refusal::NoDemoCode);
        }
        let seed = self
            .inner
            .config_seeds
            .get(&user)
            .ok_or(Refusal::NotEnrolled)?;
        let unix_s = totp::unix_seconds(now_ms).ok_or(MfaError::Clock { now_ms })?;
        let period = self.inner.params.period_s();
        let code = Generator::new(seed, self.inner.params).code_at(unix_s);
        Ok((code, period - unix_s % period))
    }

    /// True when `user` has a seed to answer with (enrolled or pre-enrolled).
    pub async fn is_enrolled(&self, user: &str) -> Result<bool, Refusal> {
        let Some(user) = canonical(user) else {
            return Ok(false);
        };
        let stored = self.store.mfa(&user).await?;
        Ok(stored.is_some_and(|s| s.secret_enc.is_some())
            || self.inner.config_seeds.contains_key(&user))
    }

    /// True when a key is configured, so users can enrol by chat.
    pub fn enrollment_enabled(&self) -> bool {
        self.inner.vault.is_some()
    }

    /// The code parameters (digits, period, skew), e.g. for prompts.
    pub fn params(&self) -> Params {
        self.inner.params
    }

    /// The stored seed if there is one (it wins), else the config's.
    fn active_seed(&self, user: &str, state: Option<&MfaState>) -> Result<Option<Seed>, MfaError> {
        match state.and_then(|s| s.secret_enc.as_deref()) {
            Some(sealed) => self.open(user, sealed).map(Some),
            // Only when nothing was enrolled by chat: never fall back to the
            // config's seed after a (possibly undecryptable) replacement.
            None => Ok(self.inner.config_seeds.get(user).cloned()),
        }
    }

    fn open(&self, user: &str, sealed: &str) -> Result<Seed, MfaError> {
        let vault = self
            .inner
            .vault
            .as_ref()
            .ok_or_else(|| MfaError::NoKeyForStoredSecret {
                user: user.to_owned(),
            })?;
        let bytes = vault
            .open(user, sealed)
            .map_err(|reason| MfaError::StoredSecret {
                user: user.to_owned(),
                reason,
            })?;
        Seed::from_bytes(bytes).map_err(|reason| MfaError::StoredSeed {
            user: user.to_owned(),
            reason,
        })
    }

    /// Checks `code` against `seed` and records the outcome: the step on
    /// success, a failure (maybe a lockout) otherwise.
    async fn check(
        &self,
        user: &str,
        seed: &Seed,
        code: &str,
        now_ms: i64,
    ) -> Result<u64, Refusal> {
        let params = self.inner.params;
        let code = totp::normalise_code(code, params.digits()).ok_or(Refusal::Malformed {
            digits: params.digits(),
        })?;
        let unix_s = totp::unix_seconds(now_ms).ok_or(MfaError::Clock { now_ms })?;
        match Generator::new(seed, params).matching_step(&code, unix_s) {
            Some(step) => self.accept(user, step).await.map(|()| step),
            None => Err(self.fail(user, now_ms).await),
        }
    }

    async fn accept(&self, user: &str, step: u64) -> Result<(), Refusal> {
        let at = i64::try_from(step).map_err(|_| MfaError::Step { step })?;
        let outcome = match self.store.record_success(user, at).await {
            // A pre-enrolled user's first code: no row yet to record it in.
            // (The row is created empty, then the step recorded atomically, so
            // two replicas racing here still accept the step once.)
            Err(StoreError::NotFound { .. }) => {
                self.store.put_mfa(&MfaState::new(user)).await?;
                self.store.record_success(user, at).await?
            }
            other => other?,
        };
        match outcome {
            StepOutcome::Accepted => Ok(()),
            StepOutcome::Replayed => {
                tracing::warn!(user = %user, "mfa: a used code was offered again");
                count_failure();
                Err(Refusal::Replayed)
            }
        }
    }

    async fn fail(&self, user: &str, now_ms: i64) -> Refusal {
        count_failure();
        let max = self.inner.max_failures;
        let state = match self
            .store
            .record_failure(user, now_ms, max, self.inner.lockout_ms)
            .await
        {
            Ok(state) => state,
            Err(error) => return error.into(),
        };
        match state.locked_until.filter(|_| state.is_locked(now_ms)) {
            Some(until_ms) => {
                tracing::warn!(user = %user, failures = state.failures, "mfa: locked out");
                Refusal::LockedOut { until_ms }
            }
            None => {
                let attempts_left = max.saturating_sub(state.failures);
                tracing::info!(user = %user, attempts_left, "mfa: wrong code");
                Refusal::Wrong { attempts_left }
            }
        }
    }

    /// True when a code was accepted within [`RECENT_CODE_S`] of `now_ms`.
    fn verified_recently(&self, state: Option<&MfaState>, now_ms: i64) -> Result<bool, MfaError> {
        let Some(last) = state.and_then(|s| s.last_step) else {
            return Ok(false);
        };
        let unix_s = totp::unix_seconds(now_ms).ok_or(MfaError::Clock { now_ms })?;
        let params = self.inner.params;
        let window = (RECENT_CODE_S / params.period_s()).max(1);
        let now_step = params.step_at(unix_s);
        // A future step (a fast phone clock within skew) counts as recent.
        Ok(u64::try_from(last).is_ok_and(|last| now_step.saturating_sub(last) <= window))
    }
}

impl fmt::Debug for Mfa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users: BTreeSet<&str> = self.inner.config_seeds.keys().map(String::as_str).collect();
        f.debug_struct("Mfa")
            .field("params", &self.inner.params)
            .field("issuer", &self.inner.issuer)
            .field("max_failures", &self.inner.max_failures)
            .field("lockout_ms", &self.inner.lockout_ms)
            .field("enrollment_enabled", &self.inner.vault.is_some())
            .field("preenrolled", &users)
            .finish_non_exhaustive()
    }
}

/// One more refused code for `switchyard_mfa_failures_total`.
fn count_failure() {
    crate::telemetry::errors::count(&crate::telemetry::errors::MFA);
}

fn refuse_if_locked(state: Option<&MfaState>, now_ms: i64) -> Result<(), Refusal> {
    match state.and_then(|s| s.locked_until.filter(|_| s.is_locked(now_ms))) {
        Some(until_ms) => {
            count_failure();
            Err(Refusal::LockedOut { until_ms })
        }
        None => Ok(()),
    }
}

/// The name as stored: trimmed and lower-cased; `None` if empty or overlong.
fn canonical(user: &str) -> Option<String> {
    let user = user.trim();
    (!user.is_empty() && user.chars().count() <= MAX_USER_CHARS).then(|| user.to_ascii_lowercase())
}
