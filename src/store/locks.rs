//! Environment locks ("lock prd for the release freeze"): at most one per
//! environment, enforced by the primary key so that two replicas locking at once
//! cannot both succeed. The store records locks; policy decides what a lock
//! forbids.

use crate::clock::Held;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use super::error::{During, StoreError};

/// How often `lock` retries when the lock it collided with vanished before it
/// could be read (someone unlocked in between).
const LOCK_ATTEMPTS: usize = 4;

/// A lock on one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub env: String,
    pub locked_by: String,
    pub reason: Option<String>,
    pub locked_at: i64,
}

/// What `lock` did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum LockOutcome {
    Locked,
    /// Someone holds it already; their lock is unchanged.
    AlreadyLocked(Lock),
}

const SELECT: &str = "SELECT env, locked_by, reason, locked_at FROM env_locks";

impl Store {
    /// Locks `env` unless it is locked already.
    pub async fn lock(
        &self,
        env: &str,
        by: &str,
        reason: Option<&str>,
        at: i64,
    ) -> Result<LockOutcome, StoreError> {
        const OP: &str = "locking an environment";
        for _ in 0..LOCK_ATTEMPTS {
            let inserted = sqlx::query(
                "INSERT INTO env_locks (env, locked_by, reason, locked_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (env) DO NOTHING",
            )
            .bind(env)
            .bind(by)
            .bind(reason)
            .bind(at)
            .execute(&self.pool)
            .held()
            .await
            .during(OP)?;
            if inserted.rows_affected() == 1 {
                return Ok(LockOutcome::Locked);
            }
            if let Some(existing) = self.lock_of(env).await? {
                return Ok(LockOutcome::AlreadyLocked(existing));
            }
        }
        Err(StoreError::Contended { op: OP })
    }

    /// Removes the lock on `env` and returns it; `None` if there was none.
    pub async fn unlock(&self, env: &str) -> Result<Option<Lock>, StoreError> {
        const OP: &str = "unlocking an environment";
        let row = sqlx::query(
            "DELETE FROM env_locks WHERE env = $1 RETURNING env, locked_by, reason, locked_at",
        )
        .bind(env)
        .fetch_optional(&self.pool)
        .held()
        .await
        .during(OP)?;
        row.map(|row| from_row(&row, OP)).transpose()
    }

    /// The lock on `env`, if any.
    pub async fn lock_of(&self, env: &str) -> Result<Option<Lock>, StoreError> {
        const OP: &str = "reading a lock";
        let row = sqlx::query(&format!("{SELECT} WHERE env = $1"))
            .bind(env)
            .fetch_optional(&self.pool)
            .held()
            .await
            .during(OP)?;
        row.map(|row| from_row(&row, OP)).transpose()
    }

    /// Every lock, by environment name.
    pub async fn locks(&self) -> Result<Vec<Lock>, StoreError> {
        const OP: &str = "listing locks";
        let rows = sqlx::query(&format!("{SELECT} ORDER BY env"))
            .fetch_all(&self.pool)
            .held()
            .await
            .during(OP)?;
        rows.iter().map(|row| from_row(row, OP)).collect()
    }
}

fn from_row(row: &AnyRow, op: &'static str) -> Result<Lock, StoreError> {
    Ok(Lock {
        env: row.try_get("env").during(op)?,
        locked_by: row.try_get("locked_by").during(op)?,
        reason: row.try_get("reason").during(op)?,
        locked_at: row.try_get("locked_at").during(op)?,
    })
}
