//! The audit log: every command and every decision (refused, confirmed,
//! approved, rolled back ...), append-only. Rows are never updated or deleted,
//! and they carry no secrets: callers write what was decided, not the TOTP code
//! or token that decided it.

use crate::clock::Held;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use super::error::{During, StoreError};

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: i64,
    /// Who acted: a chat user, or `switchyard` for the engine's own decisions.
    pub actor: String,
    /// The chat channel the command came from, if any.
    pub channel: Option<String>,
    /// What was attempted, e.g. `deploy`, `approve`, `auto_rollback`.
    pub action: String,
    pub env: Option<String>,
    pub deployment_id: Option<i64>,
    /// How it ended, e.g. `accepted`, `denied`, `failed`.
    pub outcome: String,
    /// Free text for people, e.g. the policy rule that refused it.
    pub detail: Option<String>,
}

impl Store {
    /// Appends `entry` to the audit log.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        const OP: &str = "writing the audit log";
        sqlx::query(
            "INSERT INTO audit_log (at, actor, channel, action, env, deployment_id, outcome, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(&entry.channel)
        .bind(&entry.action)
        .bind(&entry.env)
        .bind(entry.deployment_id)
        .bind(&entry.outcome)
        .bind(&entry.detail)
        .execute(&self.pool)
        .held()
        .await
        .during(OP)?;
        Ok(())
    }

    /// The latest `limit` entries, oldest first (the order they were written,
    /// like the tail of a log file).
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        const OP: &str = "reading the audit log";
        // Ordered by id, not `at`: ids follow the order of writing, while two
        // entries may share a millisecond.
        let rows = sqlx::query(
            "SELECT at, actor, channel, action, env, deployment_id, outcome, detail FROM \
             (SELECT * FROM audit_log ORDER BY id DESC LIMIT $1) AS latest ORDER BY id",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .held()
        .await
        .during(OP)?;
        rows.iter().map(|row| from_row(row, OP)).collect()
    }
}

fn from_row(row: &AnyRow, op: &'static str) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        at: row.try_get("at").during(op)?,
        actor: row.try_get("actor").during(op)?,
        channel: row.try_get("channel").during(op)?,
        action: row.try_get("action").during(op)?,
        env: row.try_get("env").during(op)?,
        deployment_id: row.try_get("deployment_id").during(op)?,
        outcome: row.try_get("outcome").during(op)?,
        detail: row.try_get("detail").during(op)?,
    })
}
