//! Which replica watches an environment's idle routes (the reconcile loop):
//! one lease row per environment (owner, fencing token, expiry), taken and
//! renewed at every look, like a deployment's lease but not tied to one.
//!
//! Whatever takes the route over (a deployment being recorded, a rollback)
//! takes this lease too, whoever held it: the token moves on, so a watcher
//! that checks its token just before it moves traffic stands back instead of
//! repairing under a deployment that began after its look, and the replica
//! that moved the route last watches it next.

use crate::clock::Held;
use sqlx::Row;

use super::Store;
use super::error::{During, StoreError};
use super::leases::Take;

impl Store {
    /// Takes (or renews) the lease on watching `env` for `owner` until
    /// `now + ttl_ms`, when `take` allows; returns its token, or `None` when
    /// another replica watches it.
    pub async fn take_env_lease(
        &self,
        env: &str,
        owner: &str,
        now: i64,
        ttl_ms: i64,
        take: Take,
    ) -> Result<Option<i64>, StoreError> {
        const OP: &str = "taking an environment lease";
        let cutoff = match take {
            Take::IfFree => now,
            Take::Always => i64::MAX,
        };
        let row = sqlx::query(
            "INSERT INTO env_leases (env, owner, token, expires_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (env) DO UPDATE \
             SET owner = excluded.owner, token = env_leases.token + 1, expires_at = excluded.expires_at \
             WHERE env_leases.expires_at <= $4 OR env_leases.owner = $2 \
             RETURNING token",
        )
        .bind(env)
        .bind(owner)
        .bind(now.saturating_add(ttl_ms))
        .bind(cutoff)
        .fetch_optional(&self.pool)
        .held()
        .await
        .during(OP)?;
        row.map(|r| r.try_get("token").during(OP)).transpose()
    }

    /// Whether `owner` still watches `env` under `token`: asked just before
    /// the watcher moves traffic.
    pub async fn holds_env_lease(
        &self,
        env: &str,
        owner: &str,
        token: i64,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 AS held FROM env_leases WHERE env = $1 AND owner = $2 AND token = $3",
        )
        .bind(env)
        .bind(owner)
        .bind(token)
        .fetch_optional(&self.pool)
        .held()
        .await
        .during("checking an environment lease")?;
        Ok(row.is_some())
    }

    /// Whether some replica still holds an unexpired lease on a deployment in
    /// `env` at `now`, finished or not: its task may still move traffic (a
    /// post-deployment watch rolling back), so a watcher leaves the route alone.
    pub async fn driven_in(&self, env: &str, now: i64) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 AS held FROM leases l JOIN deployments d ON d.id = l.deployment_id \
             WHERE d.env = $1 AND l.expires_at > $2 LIMIT 1",
        )
        .bind(env)
        .bind(now)
        .fetch_optional(&self.pool)
        .held()
        .await
        .during("looking for a deployment still driven")?;
        Ok(row.is_some())
    }
}
