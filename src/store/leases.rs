//! Who drives each unfinished deployment when several replicas share one
//! store: a lease row per deployment (owner, fencing token, expiry).
//!
//! Every write here is one conditional statement, so the database decides
//! races: a lease is taken only when nobody holds it or its holder let it
//! expire, and each take bumps the token; a renewal or release only touches a
//! lease still held under the caller's token. An owner that lost its lease
//! (it was paused, partitioned, too slow to renew) learns so from
//! [`Store::holds_lease`] before its next journal write, which comes before
//! every side effect, and stops instead of acting beside the new owner.
//! Times are the callers' clocks, so replicas' clocks must agree to well
//! within a lease's length (NTP does).

use crate::clock::Held;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use super::deployments::unfinished_sql;
use super::error::{During, StoreError};

/// A replica's hold on one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub deployment_id: i64,
    /// The replica holding it ([`crate::replica::id`]).
    pub owner: String,
    /// Bumped by every take: a write under an older token is a stale owner's.
    pub token: i64,
    /// Milliseconds since the epoch; after it anyone may take the lease.
    pub expires_at: i64,
}

/// How [`Store::take_lease`] may take a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Only when nobody holds it or its holder let it expire.
    IfFree,
    /// Whoever holds it: for a store only this process uses (the embedded
    /// SQLite file), where any other holder is this process's previous life.
    Always,
}

impl Store {
    /// Takes the lease of deployment `id` for `owner` until `now + ttl_ms`,
    /// when `take` allows; returns the lease, or `None` when someone else
    /// holds it. Taking again a lease one already holds renews it under a new
    /// token.
    pub async fn take_lease(
        &self,
        id: i64,
        owner: &str,
        now: i64,
        ttl_ms: i64,
        take: Take,
    ) -> Result<Option<Lease>, StoreError> {
        const OP: &str = "taking a deployment lease";
        // `expires_at <= $4`: with `Always`, $4 is beyond any expiry.
        let cutoff = match take {
            Take::IfFree => now,
            Take::Always => i64::MAX,
        };
        let row = sqlx::query(
            "INSERT INTO leases (deployment_id, owner, token, expires_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (deployment_id) DO UPDATE \
             SET owner = excluded.owner, token = leases.token + 1, expires_at = excluded.expires_at \
             WHERE leases.expires_at <= $4 OR leases.owner = $2 \
             RETURNING deployment_id, owner, token, expires_at",
        )
        .bind(id)
        .bind(owner)
        .bind(now.saturating_add(ttl_ms))
        .bind(cutoff)
        .fetch_optional(&self.pool)
        .held()
        .await;
        let row = match row {
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                return Err(StoreError::NotFound {
                    op: OP,
                    what: format!("deployment {id}"),
                });
            }
            other => other.during(OP)?,
        };
        row.map(|r| from_row(&r, OP)).transpose()
    }

    /// Extends a lease still held under `token` to `now + ttl_ms`; false when
    /// it was taken by another replica meanwhile.
    pub async fn renew_lease(
        &self,
        id: i64,
        owner: &str,
        token: i64,
        now: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE leases SET expires_at = $4 \
             WHERE deployment_id = $1 AND owner = $2 AND token = $3",
        )
        .bind(id)
        .bind(owner)
        .bind(token)
        .bind(now.saturating_add(ttl_ms))
        .execute(&self.pool)
        .held()
        .await
        .during("renewing a deployment lease")?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether `owner` still holds deployment `id` under `token`: asked before
    /// every journal write, i.e. before every side effect.
    pub async fn holds_lease(&self, id: i64, owner: &str, token: i64) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 AS held FROM leases WHERE deployment_id = $1 AND owner = $2 AND token = $3",
        )
        .bind(id)
        .bind(owner)
        .bind(token)
        .fetch_optional(&self.pool)
        .held()
        .await
        .during("checking a deployment lease")?;
        Ok(row.is_some())
    }

    /// Gives a held lease up at once (a clean shutdown), so another replica
    /// takes the deployment over without waiting for the expiry. The token
    /// moves on too, so that a renewal already on its way (the renewal task
    /// races the shutdown) cannot bring the released lease back.
    pub async fn release_lease(
        &self,
        id: i64,
        owner: &str,
        token: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE leases SET expires_at = 0, token = token + 1 \
             WHERE deployment_id = $1 AND owner = $2 AND token = $3",
        )
        .bind(id)
        .bind(owner)
        .bind(token)
        .execute(&self.pool)
        .held()
        .await
        .during("releasing a deployment lease")?;
        Ok(done.rows_affected() == 1)
    }

    /// Unfinished deployments nobody drives at `now`: their lease expired, or
    /// they never got one and are older than `ttl_ms` (their replica died
    /// between recording the deployment and taking the lease). Oldest first,
    /// each with the replica that held it last.
    pub async fn orphaned(
        &self,
        now: i64,
        ttl_ms: i64,
    ) -> Result<Vec<(i64, Option<String>)>, StoreError> {
        const OP: &str = "listing orphaned deployments";
        let rows = sqlx::query(concat!(
            "SELECT d.id AS id, l.owner AS owner FROM deployments d LEFT JOIN leases l ON l.deployment_id = d.id \
             WHERE d.state IN ",
            unfinished_sql!(),
            " AND COALESCE(l.expires_at, d.created_at + $2) <= $1 ORDER BY d.id"
        ))
        .bind(now)
        .bind(ttl_ms)
        .fetch_all(&self.pool)
        .held()
        .await
        .during(OP)?;
        rows.iter()
            .map(|r| Ok((r.try_get("id").during(OP)?, r.try_get("owner").during(OP)?)))
            .collect()
    }

    /// The leases of every unfinished deployment, by deployment id.
    pub async fn active_leases(&self) -> Result<Vec<Lease>, StoreError> {
        const OP: &str = "listing deployment leases";
        let rows = sqlx::query(concat!(
            "SELECT l.deployment_id, l.owner, l.token, l.expires_at FROM leases l \
             JOIN deployments d ON d.id = l.deployment_id WHERE d.state IN ",
            unfinished_sql!(),
            " ORDER BY l.deployment_id"
        ))
        .fetch_all(&self.pool)
        .held()
        .await
        .during(OP)?;
        rows.iter().map(|r| from_row(r, OP)).collect()
    }
}

fn from_row(row: &AnyRow, op: &'static str) -> Result<Lease, StoreError> {
    Ok(Lease {
        deployment_id: row.try_get("deployment_id").during(op)?,
        owner: row.try_get("owner").during(op)?,
        token: row.try_get("token").during(op)?,
        expires_at: row.try_get("expires_at").during(op)?,
    })
}
