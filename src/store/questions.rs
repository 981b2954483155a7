//! Open questions and live replicas (see `migrations/*/0006_questions.sql`).
//!
//! The conversation records each question here, with the action it is for,
//! before it is asked, and forgets it once answered or expired. A chat
//! adapter asks [`Store::open_question`] before it handles a line, so that a
//! "yes" or a code reaches the replica that asked for it while that replica
//! lives ([`Store::replica_seen`]), and any replica otherwise, which then
//! takes the question over from the stored action.

use crate::clock::Held;
use sqlx::Row;

use super::Store;
use super::error::{During, StoreError};

/// A question someone has not answered yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenQuestion {
    /// The replica that asked (or took it over last).
    pub replica: String,
    pub expires_at: i64,
    /// The question and its action, as the conversation serialized them.
    pub pending: String,
}

impl Store {
    /// Records that `replica` waits for `user`'s answer in `channel` until
    /// `expires_at` (replacing any earlier question there).
    pub async fn put_question(
        &self,
        channel: &str,
        user: &str,
        replica: &str,
        expires_at: i64,
        pending: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO questions (channel, user_name, replica, expires_at, pending) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (channel, user_name) DO UPDATE SET replica = excluded.replica, \
             expires_at = excluded.expires_at, pending = excluded.pending",
        )
        .bind(channel)
        .bind(user)
        .bind(replica)
        .bind(expires_at)
        .bind(pending)
        .execute(&self.pool)
        .held()
        .await
        .during("recording a question")?;
        Ok(())
    }

    /// Forgets `replica`'s question to `user` in `channel` (answered,
    /// cancelled, expired). Another replica's newer question stays.
    pub async fn drop_question(
        &self,
        channel: &str,
        user: &str,
        replica: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM questions WHERE channel = $1 AND user_name = $2 AND replica = $3")
            .bind(channel)
            .bind(user)
            .bind(replica)
            .execute(&self.pool)
            .held()
            .await
            .during("forgetting a question")?;
        Ok(())
    }

    /// The question waiting for `user`'s answer in `channel` at `now`, if any.
    pub async fn open_question(
        &self,
        channel: &str,
        user: &str,
        now: i64,
    ) -> Result<Option<OpenQuestion>, StoreError> {
        const OP: &str = "reading an open question";
        let row = sqlx::query(
            "SELECT replica, expires_at, pending FROM questions \
             WHERE channel = $1 AND user_name = $2 AND expires_at > $3",
        )
        .bind(channel)
        .bind(user)
        .bind(now)
        .fetch_optional(&self.pool)
        .held()
        .await
        .during(OP)?;
        row.map(|r| {
            Ok(OpenQuestion {
                replica: r.try_get("replica").during(OP)?,
                expires_at: r.try_get("expires_at").during(OP)?,
                pending: r.try_get("pending").during(OP)?,
            })
        })
        .transpose()
    }

    /// Says replica `id` is alive at `now`.
    pub async fn heartbeat(&self, id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO replicas (id, seen_at) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
        )
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .held()
        .await
        .during("recording a heartbeat")?;
        Ok(())
    }

    /// When replica `id` last said it was alive.
    pub async fn replica_seen(&self, id: &str) -> Result<Option<i64>, StoreError> {
        const OP: &str = "reading a heartbeat";
        let row = sqlx::query("SELECT seen_at FROM replicas WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .held()
            .await
            .during(OP)?;
        row.map(|r| r.try_get("seen_at").during(OP)).transpose()
    }

    /// The replica driving deployment `id` at `now` (its lease unexpired).
    pub async fn lease_holder(&self, id: i64, now: i64) -> Result<Option<String>, StoreError> {
        const OP: &str = "reading a lease holder";
        let row =
            sqlx::query("SELECT owner FROM leases WHERE deployment_id = $1 AND expires_at > $2")
                .bind(id)
                .bind(now)
                .fetch_optional(&self.pool)
                .held()
                .await
                .during(OP)?;
        row.map(|r| r.try_get("owner").during(OP)).transpose()
    }
}

impl Store {
    /// Records what deployment `id`'s approval request needs, until
    /// `expires_at` (see `migrations/*/0006_questions.sql`).
    pub async fn put_approval_request(
        &self,
        id: i64,
        request: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO approval_requests (deployment_id, request, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (deployment_id) DO UPDATE SET request = excluded.request, \
             expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(request)
        .bind(expires_at)
        .execute(&self.pool)
        .held()
        .await
        .during("recording an approval request")?;
        Ok(())
    }

    /// Deployment `id`'s approval request and its expiry, if one is open at `now`.
    pub async fn approval_request(
        &self,
        id: i64,
        now: i64,
    ) -> Result<Option<(String, i64)>, StoreError> {
        const OP: &str = "reading an approval request";
        let row = sqlx::query(
            "SELECT request, expires_at FROM approval_requests \
             WHERE deployment_id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .held()
        .await
        .during(OP)?;
        row.map(|r| {
            Ok((
                r.try_get("request").during(OP)?,
                r.try_get("expires_at").during(OP)?,
            ))
        })
        .transpose()
    }

    /// Forgets deployment `id`'s approval request (approved, denied, lapsed).
    pub async fn drop_approval_request(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM approval_requests WHERE deployment_id = $1")
            .bind(id)
            .execute(&self.pool)
            .held()
            .await
            .during("forgetting an approval request")?;
        Ok(())
    }
}
