//! What switchyard remembers: deployments and the journal of their steps, the
//! audit log, environment locks and per-user MFA state, and what replicas
//! sharing the store coordinate through (event claims, deployment leases, the
//! lease on watching each environment's idle routes, who
//! asked which question), in an embedded SQLite database or a PostgreSQL one
//! several replicas share, behind this same API.
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
mod claims;
mod deployments;
mod env_leases;
mod error;
mod journal;
mod leases;
mod locks;
mod mfa;
mod plans;
mod queries;
mod questions;
pub mod report;

use std::str::FromStr;
use std::time::Duration;

use crate::clock::Held;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection};

pub use audit::AuditEntry;
pub use builds::Build;
pub use claims::CLAIM_RETENTION_MS;
pub use deployments::{Deployment, DeploymentState, NewDeployment};
pub use error::StoreError;
pub use journal::JournalEntry;
pub use leases::{Lease, Take};
pub use locks::{Lock, LockOutcome};
pub use mfa::{MfaState, StepOutcome};
pub use queries::RECENT;
pub use questions::OpenQuestion;

use error::During;

/// How many connections a PostgreSQL store keeps at most: enough for the
/// engine, the chat and the HTTP side at once, few enough for many replicas.
const PG_CONNECTIONS: u32 = 8;

/// A handle on the database; cheap to clone, all clones share one pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Which database a store is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file (or memory) of this process: the embedded default.
    Sqlite,
    /// A server several replicas share.
    Postgres,
}

impl Store {
    /// Opens (creating if missing) and migrates the database at `url`:
    /// `sqlite://PATH` for a file, `sqlite::memory:` for a private in-memory
    /// one, `postgres://USER@HOST/DB` for a PostgreSQL server (which replicas
    /// can share). Both speak the same SQL through sqlx's `Any` driver; each
    /// has its own migrations (`migrations/sqlite`, `migrations/postgres`).
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            Store::open_sqlite(url).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Store::open_postgres(url).await
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    async fn open_sqlite(url: &str) -> Result<Store, StoreError> {
        const OP: &str = "opening the store";
        let in_memory = url.starts_with("sqlite::memory:") || url.contains("mode=memory");
        let url = if in_memory || url.contains("mode=") {
            url.to_owned()
        } else {
            // Create the file if it is missing.
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        };
        if !in_memory {
            // WAL lets readers (history, status) proceed while the engine
            // writes; it is a property of the file, set once here. sqlx's
            // defaults keep foreign keys on, a 5 s busy timeout and
            // `synchronous = FULL`, so a committed journal step survives a
            // power cut, not only a process crash.
            let first = SqliteConnectOptions::from_str(&url)
                .during(OP)?
                .journal_mode(SqliteJournalMode::Wal)
                .connect()
                .held()
                .await
                .during(OP)?;
            first.close().held().await.during(OP)?;
        }
        let options = if in_memory {
            // An in-memory database lives as long as a connection to it, and
            // several connections to it contend on table locks that the busy
            // timeout does not cover: keep exactly one connection, forever.
            AnyPoolOptions::new().max_connections(1).min_connections(1)
        } else {
            AnyPoolOptions::new().max_connections(4)
        };
        // No idle reaping or lifetime limit: the reaper's timers would wake a
        // paused test clock for nothing.
        let pool = options
            .idle_timeout(None)
            .max_lifetime(None)
            .connect(&url)
            .held()
            .await
            .during(OP)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .held()
            .await
            .map_err(StoreError::Migrate)?;
        tracing::debug!(in_memory, "store opened");
        Ok(Store {
            pool,
            backend: Backend::Sqlite,
        })
    }

    async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        const OP: &str = "opening the store";
        let pool = AnyPoolOptions::new()
            .max_connections(PG_CONNECTIONS)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .held()
            .await
            .during(OP)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .held()
            .await
            .map_err(StoreError::Migrate)?;
        tracing::debug!("PostgreSQL store opened");
        Ok(Store {
            pool,
            backend: Backend::Postgres,
        })
    }

    /// Which database this store is on.
    pub fn backend(&self) -> Backend {
        self.backend
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
