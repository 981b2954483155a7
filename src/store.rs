//! What switchyard remembers: deployments and the journal of their steps, the
//! audit log, environment locks and per-user MFA state, in an embedded SQLite
//! database (PostgreSQL later, behind this same API).
//!
//! The rollout engine writes state *before* the side effect it governs (a journal
//! step before the traffic shift), so that after a crash [`Store::unfinished`] and
//! [`Store::journal`] tell it where to resume. Every write that two replicas could
//! race on is a single conditional statement (insert-if-absent, update-if-still),
//! so the database, not the caller, decides who wins: a finished deployment cannot
//! be finished again, a TOTP step cannot be accepted twice, an environment cannot
//! be locked twice.
//!
//! The store never reads the system clock: every time is milliseconds since the
//! Unix epoch from the caller's [`crate::clock::Clock`]. [`report`] turns rows
//! into the numbers of "show deployment history" and "show deployment metrics".

mod audit;
mod builds;
mod deployments;
mod error;
mod journal;
mod locks;
mod mfa;
mod plans;
mod queries;
pub mod report;

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;

use crate::clock::Held;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

pub use audit::AuditEntry;
pub use builds::Build;
pub use deployments::{Deployment, DeploymentState, NewDeployment};
pub use error::StoreError;
pub use journal::JournalEntry;
pub use locks::{Lock, LockOutcome};
pub use mfa::{MfaState, StepOutcome};
pub use queries::RECENT;

use error::During;

/// How long a statement waits for another connection's write lock before it
/// fails. Writes are tiny, so a wait this long means something is stuck.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A handle on the database; cheap to clone, all clones share one pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if missing) and migrates the database at `url`:
    /// `sqlite://PATH` for a file, `sqlite::memory:` for a private in-memory one.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        const OP: &str = "opening the store";
        if !url.starts_with("sqlite:") {
            return Err(StoreError::UnsupportedUrl);
        }
        let in_memory = url.starts_with("sqlite::memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)
            .during(OP)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = if in_memory {
            // An in-memory database lives as long as a connection to it, and
            // several connections to it contend on table locks that the busy
            // timeout does not cover: keep exactly one connection, forever.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .held()
                .await
        } else {
            // WAL lets readers (history, status) proceed while the engine
            // writes; `synchronous` stays at sqlx's FULL so a committed journal
            // step survives a power cut, not only a process crash.
            // No idle reaping or lifetime limit: the reaper's timers would wake
            // a paused test clock for nothing.
            SqlitePoolOptions::new()
                .max_connections(4)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options.journal_mode(SqliteJournalMode::Wal))
                .held()
                .await
        }
        .during(OP)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .held()
            .await
            .map_err(StoreError::Migrate)?;
        tracing::debug!(in_memory, "store opened");
        Ok(Store { pool })
    }

    /// Answers when the database does (for readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .held()
            .await
            .during("pinging the store")?;
        Ok(())
    }

    /// Waits for queries in flight and closes every connection (checkpointing
    /// the WAL). Clones of this store fail afterwards.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
