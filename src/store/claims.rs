//! Exactly-once handling when several replicas receive the same event (every
//! Discord gateway connection gets every message; an interaction can be
//! answered only once): a replica handles an event only after inserting its
//! id here, and the unique key lets exactly one insert win. Old claims are
//! pruned; an id is never delivered again after a day.

use crate::clock::Held;

use super::Store;
use super::error::{During, StoreError};

/// Claims older than this are pruned.
pub const CLAIM_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

impl Store {
    /// Claims event `id` of `kind` for `owner`: true for the one caller that
    /// wins, false for every other (whichever replica asks).
    pub async fn claim(
        &self,
        kind: &str,
        id: &str,
        owner: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO claims (kind, id, claimed_by, claimed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kind, id) DO NOTHING",
        )
        .bind(kind)
        .bind(id)
        .bind(owner)
        .bind(at)
        .execute(&self.pool)
        .held()
        .await
        .during("claiming an event")?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets claims made before `before`; returns how many.
    pub async fn prune_claims(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM claims WHERE claimed_at < $1")
            .bind(before)
            .execute(&self.pool)
            .held()
            .await
            .during("pruning claims")?;
        Ok(done.rows_affected())
    }
}
