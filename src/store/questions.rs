//! Who asked: the replica waiting for each person's answer in each channel
//! (see `migrations/*/0006_questions.sql`). The conversation records a
//! question here before it is asked and forgets it once answered or expired;
//! a chat adapter asks [`Store::question_owner`] before it handles a line, so
//! that a "yes" or a code reaches the replica that asked for it.

use crate::clock::Held;
use sqlx::Row;

use super::Store;
use super::error::{During, StoreError};

impl Store {
    /// Records that `replica` waits for `user`'s answer in `channel` until
    /// `expires_at` (replacing any earlier question there).
    pub async fn put_question(
        &self,
        channel: &str,
        user: &str,
        replica: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO questions (channel, user_name, replica, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (channel, user_name) DO UPDATE \
             SET replica = excluded.replica, expires_at = excluded.expires_at",
        )
        .bind(channel)
        .bind(user)
        .bind(replica)
        .bind(expires_at)
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

    /// The replica waiting for `user`'s answer in `channel` at `now`, if any.
    pub async fn question_owner(
        &self,
        channel: &str,
        user: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        const OP: &str = "reading who asked a question";
        let row = sqlx::query(
            "SELECT replica FROM questions WHERE channel = $1 AND user_name = $2 AND expires_at > $3",
        )
        .bind(channel)
        .bind(user)
        .bind(now)
        .fetch_optional(&self.pool)
        .held()
        .await
        .during(OP)?;
        row.map(|r| r.try_get("replica").during(OP)).transpose()
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
