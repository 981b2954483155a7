//! Per-user TOTP state: the (encrypted) secret, the last accepted time step and
//! the failure count behind the lockout.
//!
//! Both counters change in single conditional statements, so several replicas
//! sharing one database agree: a code's time step is accepted at most once
//! (`record_success` refuses any step not above `last_step`), and concurrent
//! failures all count. `put_mfa` never moves `last_step` backwards, so rewriting
//! the state (say, on re-enrolment) cannot reopen a replay window.
//!
//! Secrets arrive encrypted and text-encoded by the mfa module and are never
//! printed: [`MfaState`]'s `Debug` hides them and it is not `Serialize`.

use crate::clock::Held;
use std::fmt;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use super::error::{During, StoreError};

/// One user's TOTP state.
#[derive(Clone, PartialEq, Eq)]
pub struct MfaState {
    pub user: String,
    /// The confirmed secret, encrypted; `None` until enrolment completes.
    pub secret_enc: Option<String>,
    /// A secret offered by an enrolment that has not been confirmed yet.
    pub pending_secret_enc: Option<String>,
    /// The highest TOTP time step accepted so far.
    pub last_step: Option<i64>,
    /// Failed codes since the last success.
    pub failures: u32,
    /// No code is to be checked before this time.
    pub locked_until: Option<i64>,
}

impl MfaState {
    /// A user with no secret and a clean record.
    pub fn new(user: impl Into<String>) -> MfaState {
        MfaState {
            user: user.into(),
            secret_enc: None,
            pending_secret_enc: None,
            last_step: None,
            failures: 0,
            locked_until: None,
        }
    }

    /// True while failed attempts keep the user out.
    pub fn is_locked(&self, now: i64) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }
}

impl fmt::Debug for MfaState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "<hidden>");
        f.debug_struct("MfaState")
            .field("user", &self.user)
            .field("secret_enc", &hidden(&self.secret_enc))
            .field("pending_secret_enc", &hidden(&self.pending_secret_enc))
            .field("last_step", &self.last_step)
            .field("failures", &self.failures)
            .field("locked_until", &self.locked_until)
            .finish()
    }
}

/// What `record_success` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum StepOutcome {
    /// The step is now the user's `last_step`; failures and lockout are cleared.
    Accepted,
    /// This step or a later one was accepted before: the code is a replay.
    Replayed,
}

const COLUMNS: &str = "username, secret_enc, pending_secret_enc, last_step, failures, locked_until";

impl Store {
    /// The MFA state of `user`, if any was ever written.
    pub async fn mfa(&self, user: &str) -> Result<Option<MfaState>, StoreError> {
        const OP: &str = "reading mfa state";
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM mfa_state WHERE username = $1"
        ))
        .bind(user)
        .fetch_optional(&self.pool)
        .held()
        .await
        .during(OP)?;
        row.map(|row| from_row(&row, OP)).transpose()
    }

    /// Writes `state` whole, except that `last_step` only ever grows.
    pub async fn put_mfa(&self, state: &MfaState) -> Result<(), StoreError> {
        const OP: &str = "writing mfa state";
        sqlx::query(&format!(
            "INSERT INTO mfa_state ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (username) DO UPDATE SET \
             secret_enc = excluded.secret_enc, \
             pending_secret_enc = excluded.pending_secret_enc, \
             last_step = CASE WHEN mfa_state.last_step IS NULL \
                 OR excluded.last_step > mfa_state.last_step \
                 THEN excluded.last_step ELSE mfa_state.last_step END, \
             failures = excluded.failures, \
             locked_until = excluded.locked_until"
        ))
        .bind(&state.user)
        .bind(&state.secret_enc)
        .bind(&state.pending_secret_enc)
        .bind(state.last_step)
        .bind(i64::from(state.failures))
        .bind(state.locked_until)
        .execute(&self.pool)
        .held()
        .await
        .during(OP)?;
        Ok(())
    }

    /// Counts a failed code for `user` at `at`. From the `max`-th failure on,
    /// each failure locks the user out until `at + lockout_ms`; the count is
    /// reset only by a success, so after a lockout a single wrong code locks
    /// again. Returns the state after the failure.
    pub async fn record_failure(
        &self,
        user: &str,
        at: i64,
        max: u32,
        lockout_ms: i64,
    ) -> Result<MfaState, StoreError> {
        const OP: &str = "recording an mfa failure";
        let until = at.saturating_add(lockout_ms);
        let row = sqlx::query(&format!(
            "INSERT INTO mfa_state (username, failures, locked_until) \
             VALUES ($1, 1, CASE WHEN 1 >= $2 THEN $3 ELSE NULL END) \
             ON CONFLICT (username) DO UPDATE SET \
             failures = mfa_state.failures + 1, \
             locked_until = CASE WHEN mfa_state.failures + 1 >= $2 THEN $3 \
                 ELSE mfa_state.locked_until END \
             RETURNING {COLUMNS}"
        ))
        .bind(user)
        .bind(i64::from(max))
        .bind(until)
        .fetch_one(&self.pool)
        .held()
        .await
        .during(OP)?;
        from_row(&row, OP)
    }

    /// Accepts TOTP time step `step` for `user` unless it is not above the last
    /// accepted one. On acceptance the failure count and lockout are cleared.
    /// The caller checks [`MfaState::is_locked`] before verifying a code.
    pub async fn record_success(&self, user: &str, step: i64) -> Result<StepOutcome, StoreError> {
        const OP: &str = "recording an mfa success";
        // One conditional UPDATE: of two replicas accepting the same step, the
        // database lets exactly one through.
        let done = sqlx::query(
            "UPDATE mfa_state SET last_step = $2, failures = 0, locked_until = NULL \
             WHERE username = $1 AND (last_step IS NULL OR last_step < $2)",
        )
        .bind(user)
        .bind(step)
        .execute(&self.pool)
        .held()
        .await
        .during(OP)?;
        if done.rows_affected() == 1 {
            Ok(StepOutcome::Accepted)
        } else if self.mfa(user).await?.is_some() {
            Ok(StepOutcome::Replayed)
        } else {
            Err(StoreError::NotFound {
                op: OP,
                what: format!("mfa state of {user}"),
            })
        }
    }
}

fn from_row(row: &AnyRow, op: &'static str) -> Result<MfaState, StoreError> {
    let failures: i64 = row.try_get("failures").during(op)?;
    Ok(MfaState {
        user: row.try_get("username").during(op)?,
        secret_enc: row.try_get("secret_enc").during(op)?,
        pending_secret_enc: row.try_get("pending_secret_enc").during(op)?,
        last_step: row.try_get("last_step").during(op)?,
        failures: u32::try_from(failures)
            .map_err(|_| StoreError::corrupt(op, "mfa failure count", failures))?,
        locked_until: row.try_get("locked_until").during(op)?,
    })
}
