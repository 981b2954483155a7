//! The journal: the numbered steps of one deployment, each written *before* its
//! side effect and marked done *after* it.
//!
//! After a crash the last entry tells the engine where it was: a step that is
//! begun but not done may or may not have happened, so the engine re-checks the
//! world (the route's weights, the fleet) and re-applies it idempotently. For
//! that, beginning the same step again is allowed, while beginning a different
//! step under a used number (two writers with different plans) or a step that is
//! already done (its effect would happen twice) is refused.

use crate::clock::Held;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use super::error::{During, StoreError};

/// One step of a deployment's journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub deployment_id: i64,
    /// The step's position in the plan, chosen by the engine (0, 1, 2 ...).
    pub seq: u32,
    /// What the step does, as the engine describes it.
    pub step: serde_json::Value,
    pub started_at: i64,
    /// `None` while the side effect may be in flight (or was cut off by a crash).
    pub done_at: Option<i64>,
    /// What came of it, as the engine chose to record it.
    pub result: Option<String>,
}

impl JournalEntry {
    pub fn is_done(&self) -> bool {
        self.done_at.is_some()
    }
}

const SELECT: &str = "SELECT deployment_id, seq, step, started_at, done_at, result FROM journal";

impl Store {
    /// Records that step `seq` of deployment `id` is about to happen. Beginning
    /// the same (JSON-equal) step again while it is not done succeeds and keeps
    /// the first `started_at`; see the module notes for what is refused.
    pub async fn journal_begin(
        &self,
        id: i64,
        seq: u32,
        step: &serde_json::Value,
        at: i64,
    ) -> Result<(), StoreError> {
        const OP: &str = "beginning a journal step";
        let text = serde_json::to_string(step).map_err(|e| StoreError::corrupt(OP, "step", e))?;
        let inserted = sqlx::query(
            "INSERT INTO journal (deployment_id, seq, step, started_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (deployment_id, seq) DO NOTHING",
        )
        .bind(id)
        .bind(i64::from(seq))
        .bind(text)
        .bind(at)
        .execute(&self.pool)
        .held()
        .await;
        let inserted = match inserted {
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                return Err(StoreError::NotFound {
                    op: OP,
                    what: format!("deployment {id}"),
                });
            }
            other => other.during(OP)?,
        };
        if inserted.rows_affected() == 1 {
            return Ok(());
        }
        // The number is taken: fine only if it is this very step, still open.
        // Rows are never deleted, so it is certainly there.
        let Some(existing) = self.journal_entry(id, seq, OP).await? else {
            return Err(StoreError::Contended { op: OP });
        };
        if existing.step != *step {
            Err(StoreError::JournalConflict { id, seq })
        } else if existing.is_done() {
            Err(StoreError::JournalDone { id, seq })
        } else {
            Ok(())
        }
    }

    /// Marks step `seq` done with an optional result. Marking a done step again
    /// changes nothing (the first completion stands).
    pub async fn journal_done(
        &self,
        id: i64,
        seq: u32,
        result: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        const OP: &str = "completing a journal step";
        let done = sqlx::query(
            "UPDATE journal SET done_at = $3, result = $4 \
             WHERE deployment_id = $1 AND seq = $2 AND done_at IS NULL",
        )
        .bind(id)
        .bind(i64::from(seq))
        .bind(at)
        .bind(result)
        .execute(&self.pool)
        .held()
        .await
        .during(OP)?;
        if done.rows_affected() == 1 || self.journal_entry(id, seq, OP).await?.is_some() {
            Ok(())
        } else {
            Err(StoreError::NotFound {
                op: OP,
                what: format!("journal step {seq} of deployment {id}"),
            })
        }
    }

    /// Every step of deployment `id`, in order.
    pub async fn journal(&self, id: i64) -> Result<Vec<JournalEntry>, StoreError> {
        const OP: &str = "reading a journal";
        let rows = sqlx::query(&format!("{SELECT} WHERE deployment_id = $1 ORDER BY seq"))
            .bind(id)
            .fetch_all(&self.pool)
            .held()
            .await
            .during(OP)?;
        rows.iter().map(|row| from_row(row, OP)).collect()
    }

    /// The highest-numbered step of deployment `id` that is done.
    pub async fn last_done(&self, id: i64) -> Result<Option<JournalEntry>, StoreError> {
        const OP: &str = "reading a journal";
        let row = sqlx::query(&format!(
            "{SELECT} WHERE deployment_id = $1 AND done_at IS NOT NULL ORDER BY seq DESC LIMIT 1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .held()
        .await
        .during(OP)?;
        row.map(|row| from_row(&row, OP)).transpose()
    }

    async fn journal_entry(
        &self,
        id: i64,
        seq: u32,
        op: &'static str,
    ) -> Result<Option<JournalEntry>, StoreError> {
        let row = sqlx::query(&format!("{SELECT} WHERE deployment_id = $1 AND seq = $2"))
            .bind(id)
            .bind(i64::from(seq))
            .fetch_optional(&self.pool)
            .held()
            .await
            .during(op)?;
        row.map(|row| from_row(&row, op)).transpose()
    }
}

fn from_row(row: &AnyRow, op: &'static str) -> Result<JournalEntry, StoreError> {
    let seq: i64 = row.try_get("seq").during(op)?;
    let step: String = row.try_get("step").during(op)?;
    Ok(JournalEntry {
        deployment_id: row.try_get("deployment_id").during(op)?,
        seq: u32::try_from(seq).map_err(|_| StoreError::corrupt(op, "journal seq", seq))?,
        step: serde_json::from_str(&step)
            .map_err(|e| StoreError::corrupt(op, "journal step", e))?,
        started_at: row.try_get("started_at").during(op)?,
        done_at: row.try_get("done_at").during(op)?,
        result: row.try_get("result").during(op)?,
    })
}
