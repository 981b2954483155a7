//! The store's one error type. Each variant names the operation that failed and
//! why, and nothing else: no SQL text, no connection URL (it may carry a
//! password once PostgreSQL arrives), no secret column values. Variants the
//! engine must decide on (a deployment already finished, a journal step that
//! differs) are their own variants rather than database errors.

use super::deployments::DeploymentState;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "opening the store: unsupported url (expected sqlite://PATH, sqlite::memory: or postgres://USER@HOST/DB)"
    )]
    UnsupportedUrl,

    /// The database refused or failed an operation. The cause is in the
    /// message rather than in `source()` so chains do not print it twice.
    #[error("{op}: {cause}")]
    Database {
        op: &'static str,
        cause: sqlx::Error,
    },

    #[error("migrating the store: {0}")]
    Migrate(sqlx::migrate::MigrateError),

    /// `what` names the thing, e.g. "deployment 7" or "mfa state of alice".
    #[error("{op}: {what} not found")]
    NotFound { op: &'static str, what: String },

    /// The deployment reached a final state first (e.g. an abort won the race
    /// against the engine's own finish); finished deployments never change.
    #[error("{op}: deployment {id} is already finished ({state})")]
    Finished {
        op: &'static str,
        id: i64,
        state: DeploymentState,
    },

    /// `finish` was given a state that is not an outcome (pending, running,
    /// paused): a caller's bug, refused rather than stored.
    #[error("{op}: {state} is not a final state")]
    NotFinal {
        op: &'static str,
        state: DeploymentState,
    },

    /// Another step was already journalled at this sequence number: two
    /// writers disagree about the plan, so neither may proceed.
    #[error("beginning journal step {seq} of deployment {id}: a different step has that number")]
    JournalConflict { id: i64, seq: u32 },

    /// The step was begun again after it was marked done: redoing its side
    /// effect is exactly what the journal exists to prevent.
    #[error("beginning journal step {seq} of deployment {id}: it is already done")]
    JournalDone { id: i64, seq: u32 },

    /// A compare-and-swap lost to concurrent writers too many times in a row.
    #[error("{op}: too many concurrent changes, try again")]
    Contended { op: &'static str },

    /// A value read back from the database does not parse (an unknown state
    /// name, a malformed JSON column): the file was edited or is damaged.
    #[error("{op}: unreadable {what} in the database: {detail}")]
    Corrupt {
        op: &'static str,
        what: &'static str,
        detail: String,
    },
}

impl StoreError {
    pub(super) fn corrupt(op: &'static str, what: &'static str, detail: impl ToString) -> Self {
        StoreError::Corrupt {
            op,
            what,
            detail: detail.to_string(),
        }
    }
}

/// Tags a sqlx result with the operation it belongs to.
pub(super) trait During<T> {
    fn during(self, op: &'static str) -> Result<T, StoreError>;
}

impl<T> During<T> for Result<T, sqlx::Error> {
    fn during(self, op: &'static str) -> Result<T, StoreError> {
        self.map_err(|cause| StoreError::Database { op, cause })
    }
}
