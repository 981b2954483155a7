//! The two error types of the mfa module, split by who reads them.
//!
//! A [`Refusal`] is said to the person who typed the code: its `Display` is one
//! sentence for chat (`prompts/mfa_result.j2` shows it as `refusal`), saying
//! what went wrong and what to do. An [`MfaError`] is for operators and logs:
//! bad settings at start-up, or an internal failure, which reaches chat only as
//! [`Refusal::Unavailable`] with a generic sentence. Neither ever holds a seed,
//! a key, a ciphertext or the code that was typed.

use crate::store::StoreError;

use super::totp::{ParamsError, SeedError};
use super::vault::VaultError;

/// Why a code (or an enrolment) was not accepted, in words for the user.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("you have no authenticator set up yet: say `mfa enroll` to set one up")]
    NotEnrolled,

    /// Not a code at all (letters, wrong length); not counted as a failure,
    /// since it cannot be a guess.
    #[error("a code is {digits} digits from your authenticator app")]
    Malformed { digits: u8 },

    #[error("too many wrong codes: MFA is locked until {} UTC", clock_time(*until_ms))]
    LockedOut { until_ms: i64 },

    #[error("wrong code: {attempts_left} more {} before MFA is locked for a while", attempts(*attempts_left))]
    Wrong { attempts_left: u32 },

    /// The code's time step (or a later one) was already used: every code is
    /// accepted once only (RFC 6238 §5.2).
    #[error("that code was already used: wait for the next one from your authenticator")]
    Replayed,

    /// `confirm_enrollment` with no enrolment started.
    #[error("there is no enrolment to confirm: say `mfa enroll` to start one")]
    NoPendingEnrollment,

    /// No `mfa.encryption_key`: seeds could not be stored safely.
    #[error("enrolling by chat is not enabled here: ask an admin to set mfa.encryption_key")]
    EnrollmentDisabled,

    /// Replacing an authenticator needs proof of holding the current one, or
    /// anyone who takes over a chat account could enrol their own device.
    #[error(
        "you already have an authenticator set up: verify a current code from it first, \
         then ask to enrol again within {minutes} minutes"
    )]
    CodeFirst { minutes: u64 },

    /// `current_code` for a seed enrolled by chat: only the user's app knows it.
    #[error("your authenticator was set up by chat, so only your app shows its codes")]
    NoDemoCode,

    /// Something internal failed (the store, a damaged secret); the cause is in
    /// the source for the log, not in the sentence.
    #[error("MFA cannot be checked right now: please try again in a minute or ask an admin")]
    Unavailable(#[source] MfaError),
}

impl Refusal {
    /// True for a fault on our side (log the source), false when the refusal
    /// is about what the user did.
    pub fn is_internal(&self) -> bool {
        matches!(self, Refusal::Unavailable(_))
    }
}

impl From<MfaError> for Refusal {
    fn from(error: MfaError) -> Refusal {
        Refusal::Unavailable(error)
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Refusal {
        Refusal::Unavailable(MfaError::Store(error))
    }
}

/// Start-up and internal failures, for operators.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("mfa.{0}")]
    Params(#[from] ParamsError),

    #[error("mfa.max_failures: must be at least 1")]
    MaxFailures,

    #[error("mfa.issuer: {0:?} must not be empty or contain `:`")]
    Issuer(String),

    #[error("mfa.encryption_key: {0}")]
    Key(VaultError),

    /// A pre-enrolled user's `totp_secret` in the config.
    #[error("users.{user}.totp_secret: {reason}")]
    ConfigSeed { user: String, reason: SeedError },

    #[error(transparent)]
    Store(#[from] StoreError),

    #[error("the stored MFA secret of {user} is unusable: {reason}")]
    StoredSecret { user: String, reason: VaultError },

    #[error("the stored MFA secret of {user} is not a valid seed: {reason}")]
    StoredSeed { user: String, reason: SeedError },

    #[error("{user} has an encrypted MFA secret in the store but mfa.encryption_key is not set")]
    NoKeyForStoredSecret { user: String },

    #[error("encrypting a new MFA secret for {user}: {reason}")]
    Seal { user: String, reason: VaultError },

    /// totp-rs's error would carry the otpauth URI, secret included; only the
    /// fact is kept.
    #[error("building the otpauth URI or QR code for {user} failed")]
    Otpauth { user: String },

    #[error("the clock reads {now_ms} ms, before 1970")]
    Clock { now_ms: i64 },

    #[error("time step {step} does not fit the store")]
    Step { step: u64 },
}

/// `HH:MM:SS` of a UTC instant. Lockouts last minutes, so the day is implied.
fn clock_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn attempts(n: u32) -> &'static str {
    if n == 1 { "attempt" } else { "attempts" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_read_well() {
        // 2025-01-01T00:15:00Z
        let locked = Refusal::LockedOut {
            until_ms: 1_735_690_500_000,
        };
        assert_eq!(
            locked.to_string(),
            "too many wrong codes: MFA is locked until 00:15:00 UTC"
        );
        assert_eq!(
            Refusal::Wrong { attempts_left: 1 }.to_string(),
            "wrong code: 1 more attempt before MFA is locked for a while"
        );
        assert!(Refusal::Unavailable(MfaError::MaxFailures).is_internal());
        assert!(!Refusal::Replayed.is_internal());
    }
}
