//! Deployments: one row per attempt to put a version of a service into an
//! environment, from the request (`pending`) to its outcome.
//!
//! State moves forward only: `pending -> running <-> paused -> final`, where the
//! final states are succeeded, failed, rolled_back and aborted. Every update is
//! conditional on the row still being unfinished, so when two writers race (the
//! engine finishing, a user aborting) exactly one wins and the other gets
//! [`StoreError::Finished`] naming the state that won.

use crate::clock::Held;
use std::fmt;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::cloud::Colour;
use crate::intent::Strategy;

use super::Store;
use super::error::{During, StoreError};

/// The column list every deployment query reads, in [`from_row`]'s terms.
macro_rules! select_deployments {
    ($($rest:expr),*) => {
        concat!(
            "SELECT id, env, service, version, previous_version, strategy, requested_by, \
             approvers, emergency, created_at, started_at, finished_at, state, \
             state_changed_at, reason, live_colour, new_colour FROM deployments ",
            $($rest),*
        )
    };
}

/// The states of [`DeploymentState::is_final`]'s complement, as SQL.
macro_rules! unfinished_sql {
    () => {
        "('pending', 'running', 'paused')"
    };
}
pub(super) use unfinished_sql;

/// How many times `add_approver` retries its compare-and-swap before giving up.
const CAS_ATTEMPTS: usize = 8;

/// Where a deployment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentState {
    /// Created, waiting for confirmation, approval or its turn.
    Pending,
    /// The engine is moving traffic.
    Running,
    /// Held at the current step by a user; traffic stays where it is.
    Paused,
    /// All traffic on the new version, verification passed.
    Succeeded,
    /// Stopped by an error before or during the shift (e.g. the new colour never
    /// became healthy); see `reason`.
    Failed,
    /// Analysis went bad and traffic went back to the previous version.
    RolledBack,
    /// Stopped by a person.
    Aborted,
}

impl DeploymentState {
    pub const ALL: [DeploymentState; 7] = [
        DeploymentState::Pending,
        DeploymentState::Running,
        DeploymentState::Paused,
        DeploymentState::Succeeded,
        DeploymentState::Failed,
        DeploymentState::RolledBack,
        DeploymentState::Aborted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentState::Pending => "pending",
            DeploymentState::Running => "running",
            DeploymentState::Paused => "paused",
            DeploymentState::Succeeded => "succeeded",
            DeploymentState::Failed => "failed",
            DeploymentState::RolledBack => "rolled_back",
            DeploymentState::Aborted => "aborted",
        }
    }

    /// The state spelled exactly `name`, as stored (`rolled_back`, ...).
    pub fn from_name(name: &str) -> Option<DeploymentState> {
        DeploymentState::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
    }

    /// True for outcomes: the row will never change again.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            DeploymentState::Pending | DeploymentState::Running | DeploymentState::Paused
        )
    }
}

impl fmt::Display for DeploymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the caller knows when a deployment is requested; it starts `pending`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeployment {
    pub env: String,
    pub service: String,
    pub version: String,
    /// The version live before; `None` for a service's first deployment.
    pub previous_version: Option<String>,
    pub strategy: Strategy,
    pub requested_by: String,
    /// Approvals gathered before creation, if any; more come via `add_approver`.
    pub approvers: Vec<String>,
    /// Requested as an emergency (policy may have waived approvals for it).
    pub emergency: bool,
    pub created_at: i64,
    /// The colour serving traffic when the deployment was requested.
    pub live_colour: Option<Colour>,
    /// The colour the new version goes to (normally the other one).
    pub new_colour: Option<Colour>,
}

/// A deployment as stored. Times are milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: i64,
    pub env: String,
    pub service: String,
    pub version: String,
    pub previous_version: Option<String>,
    pub strategy: Strategy,
    pub requested_by: String,
    /// Distinct user names in the order they approved.
    pub approvers: Vec<String>,
    pub emergency: bool,
    pub created_at: i64,
    /// First time it ran; `None` if it never started (e.g. aborted while pending).
    pub started_at: Option<i64>,
    /// Set exactly when `state` is final.
    pub finished_at: Option<i64>,
    pub state: DeploymentState,
    /// When `state` last changed (creation counts).
    pub state_changed_at: i64,
    /// Why it failed, rolled back or was aborted, for people to read.
    pub reason: Option<String>,
    pub live_colour: Option<Colour>,
    pub new_colour: Option<Colour>,
}

impl Deployment {
    /// How long it took: `finished_at - started_at`, or `- created_at` if it never
    /// started; `None` while unfinished. Never negative, even if replicas' clocks
    /// disagreed.
    pub fn duration_ms(&self) -> Option<i64> {
        let finished = self.finished_at?;
        let started = self.started_at.unwrap_or(self.created_at);
        Some((finished - started).max(0))
    }
}

impl Store {
    /// Records a new `pending` deployment and returns its id.
    pub async fn create_deployment(&self, new: &NewDeployment) -> Result<i64, StoreError> {
        const OP: &str = "creating a deployment";
        let mut approvers: Vec<&str> = Vec::with_capacity(new.approvers.len());
        for user in &new.approvers {
            if !approvers.contains(&user.as_str()) {
                approvers.push(user);
            }
        }
        let approvers = serde_json::to_string(&approvers)
            .map_err(|e| StoreError::corrupt(OP, "approvers", e))?;
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO deployments (env, service, version, previous_version, strategy, \
             requested_by, approvers, emergency, created_at, state, state_changed_at, \
             live_colour, new_colour) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $9, $10, $11) \
             RETURNING id",
        )
        .bind(&new.env)
        .bind(&new.service)
        .bind(&new.version)
        .bind(&new.previous_version)
        .bind(new.strategy.as_str())
        .bind(&new.requested_by)
        .bind(approvers)
        .bind(i64::from(new.emergency))
        .bind(new.created_at)
        .bind(new.live_colour.map(Colour::as_str))
        .bind(new.new_colour.map(Colour::as_str))
        .fetch_one(&self.pool)
        .held()
        .await
        .during(OP)
    }

    /// The deployment with this id, if any.
    pub async fn deployment(&self, id: i64) -> Result<Option<Deployment>, StoreError> {
        const OP: &str = "reading a deployment";
        let row = sqlx::query(select_deployments!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .held()
            .await
            .during(OP)?;
        row.map(|row| from_row(&row, OP)).transpose()
    }

    /// Records the chat channel deployment `id` was asked for in, so that any
    /// replica streams its progress there.
    pub async fn set_channel(&self, id: i64, channel: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE deployments SET channel = $2 WHERE id = $1")
            .bind(id)
            .bind(channel)
            .execute(&self.pool)
            .held()
            .await
            .during("recording a deployment's channel")?;
        Ok(())
    }

    /// The chat channel deployment `id` was asked for in, if recorded.
    pub async fn channel_of(&self, id: i64) -> Result<Option<String>, StoreError> {
        const OP: &str = "reading a deployment's channel";
        let row = sqlx::query("SELECT channel FROM deployments WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .held()
            .await
            .during(OP)?;
        match row {
            Some(row) => row.try_get("channel").during(OP),
            None => Ok(None),
        }
    }

    /// Every pending, running or paused deployment, oldest first: what the
    /// engine must resume (or reconcile) after a restart.
    pub async fn unfinished(&self) -> Result<Vec<Deployment>, StoreError> {
        const OP: &str = "listing unfinished deployments";
        let rows = sqlx::query(select_deployments!(
            "WHERE state IN ",
            unfinished_sql!(),
            " ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .held()
        .await
        .during(OP)?;
        rows.iter().map(|row| from_row(row, OP)).collect()
    }

    /// The newest unfinished deployment in `env`, if any. (The store does not
    /// forbid several; the engine decides whether a second may start.)
    pub async fn active_in(&self, env: &str) -> Result<Option<Deployment>, StoreError> {
        const OP: &str = "reading the active deployment";
        let row = sqlx::query(select_deployments!(
            "WHERE env = $1 AND state IN ",
            unfinished_sql!(),
            " ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(env)
        .fetch_optional(&self.pool)
        .held()
        .await
        .during(OP)?;
        row.map(|row| from_row(&row, OP)).transpose()
    }

    /// Moves an unfinished deployment to `state` at `at`. Moving to `running`
    /// also records `started_at` the first time. A final `state` is the same
    /// as [`Store::finish`] without a reason.
    pub async fn set_state(
        &self,
        id: i64,
        state: DeploymentState,
        at: i64,
    ) -> Result<(), StoreError> {
        const OP: &str = "changing a deployment's state";
        if state.is_final() {
            return self.finish(id, state, None, at).await;
        }
        let done = sqlx::query(concat!(
            "UPDATE deployments SET state = $2, state_changed_at = $3, \
             started_at = CASE WHEN $2 = 'running' THEN COALESCE(started_at, $3) \
             ELSE started_at END \
             WHERE id = $1 AND state IN ",
            unfinished_sql!()
        ))
        .bind(id)
        .bind(state.as_str())
        .bind(at)
        .execute(&self.pool)
        .held()
        .await
        .during(OP)?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(self.why_unchanged(id, OP).await)
        }
    }

    /// Marks the deployment running (recording `started_at` unless it ran before).
    pub async fn start(&self, id: i64, at: i64) -> Result<(), StoreError> {
        self.set_state(id, DeploymentState::Running, at).await
    }

    /// Records the outcome: `outcome` must be final. Fails with
    /// [`StoreError::Finished`] if another writer finished it first.
    pub async fn finish(
        &self,
        id: i64,
        outcome: DeploymentState,
        reason: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        const OP: &str = "finishing a deployment";
        if !outcome.is_final() {
            return Err(StoreError::NotFinal {
                op: OP,
                state: outcome,
            });
        }
        let done = sqlx::query(concat!(
            "UPDATE deployments SET state = $2, reason = $3, finished_at = $4, \
             state_changed_at = $4 WHERE id = $1 AND state IN ",
            unfinished_sql!()
        ))
        .bind(id)
        .bind(outcome.as_str())
        .bind(reason)
        .bind(at)
        .execute(&self.pool)
        .held()
        .await
        .during(OP)?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(self.why_unchanged(id, OP).await)
        }
    }

    /// Marks a succeeded deployment rolled back: the one change a finished row
    /// may still take, because a success can be undone later (by the
    /// post-deployment watch, or by a person's `rollback`). `finished_at` keeps
    /// the time it finished; `reason` says why it was undone.
    pub async fn revert_success(&self, id: i64, reason: &str, at: i64) -> Result<(), StoreError> {
        const OP: &str = "rolling back a finished deployment";
        let done = sqlx::query(
            "UPDATE deployments SET state = 'rolled_back', reason = $2, state_changed_at = $3 \
             WHERE id = $1 AND state = 'succeeded'",
        )
        .bind(id)
        .bind(reason)
        .bind(at)
        .execute(&self.pool)
        .held()
        .await
        .during(OP)?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(self.why_unchanged(id, OP).await)
        }
    }

    /// Adds `user` to the approvers of an unfinished deployment (once; approving
    /// twice changes nothing) and returns the approvers now recorded.
    pub async fn add_approver(&self, id: i64, user: &str) -> Result<Vec<String>, StoreError> {
        const OP: &str = "adding an approver";
        // Compare-and-swap on the JSON text rather than a transaction: it is
        // race-free on any database without SQLite's lock-upgrade deadlocks.
        for _ in 0..CAS_ATTEMPTS {
            let Some(current) = self.deployment(id).await? else {
                return Err(not_found(id, OP));
            };
            if current.state.is_final() {
                return Err(StoreError::Finished {
                    op: OP,
                    id,
                    state: current.state,
                });
            }
            let mut approvers = current.approvers;
            if approvers.iter().any(|a| a == user) {
                return Ok(approvers);
            }
            let before = encode_approvers(&approvers, OP)?;
            approvers.push(user.to_owned());
            let after = encode_approvers(&approvers, OP)?;
            let done = sqlx::query(concat!(
                "UPDATE deployments SET approvers = $3 \
                 WHERE id = $1 AND approvers = $2 AND state IN ",
                unfinished_sql!()
            ))
            .bind(id)
            .bind(before)
            .bind(after)
            .execute(&self.pool)
            .held()
            .await
            .during(OP)?;
            if done.rows_affected() == 1 {
                return Ok(approvers);
            }
        }
        Err(StoreError::Contended { op: OP })
    }

    /// The latest `limit` deployments, in `env` if given, newest first.
    pub async fn history(
        &self,
        env: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Deployment>, StoreError> {
        const OP: &str = "reading deployment history";
        // Two statements rather than `$1 IS NULL OR env = $1`: PostgreSQL cannot
        // infer the type of a parameter that is only compared with NULL.
        let rows = match env {
            Some(env) => {
                sqlx::query(select_deployments!(
                    "WHERE env = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
                ))
                .bind(env)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .held()
                .await
            }
            None => {
                sqlx::query(select_deployments!(
                    "ORDER BY created_at DESC, id DESC LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .held()
                .await
            }
        }
        .during(OP)?;
        rows.iter().map(|row| from_row(row, OP)).collect()
    }

    /// The latest succeeded deployment of every (environment, service): what
    /// runs there now (a rollback marks the deployment it undid `rolled_back`,
    /// so the one before it counts again). Ordered by environment and service.
    pub async fn live_deployments(&self) -> Result<Vec<Deployment>, StoreError> {
        const OP: &str = "reading what runs where";
        let rows = sqlx::query(select_deployments!(
            "WHERE id IN (SELECT MAX(id) FROM deployments WHERE state = 'succeeded' \
             GROUP BY env, service) ORDER BY env, service"
        ))
        .fetch_all(&self.pool)
        .held()
        .await
        .during(OP)?;
        rows.iter().map(|row| from_row(row, OP)).collect()
    }

    /// Per (environment, service), the deployment whose outcome the route
    /// should show now: of the finished ones that started (one that never
    /// started left the route as it was), the one whose state changed last,
    /// so that a `rollback` of an earlier success (which marks that one
    /// rolled back later) counts over a later failure. Ordered by
    /// environment and service.
    pub async fn last_outcomes(&self) -> Result<Vec<Deployment>, StoreError> {
        const OP: &str = "reading the last outcome of every service";
        let rows = sqlx::query(select_deployments!(
            "d WHERE d.state NOT IN ",
            unfinished_sql!(),
            " AND d.started_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM deployments e \
             WHERE e.env = d.env AND e.service = d.service AND e.state NOT IN ",
            unfinished_sql!(),
            " AND e.started_at IS NOT NULL AND (e.state_changed_at > d.state_changed_at \
             OR (e.state_changed_at = d.state_changed_at AND e.id > d.id))) \
             ORDER BY d.env, d.service"
        ))
        .fetch_all(&self.pool)
        .held()
        .await
        .during(OP)?;
        rows.iter().map(|row| from_row(row, OP)).collect()
    }

    /// Deployments created in `[from, to)`, oldest first.
    pub async fn between(&self, from: i64, to: i64) -> Result<Vec<Deployment>, StoreError> {
        const OP: &str = "reading deployments in a period";
        let rows = sqlx::query(select_deployments!(
            "WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at, id"
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .held()
        .await
        .during(OP)?;
        rows.iter().map(|row| from_row(row, OP)).collect()
    }

    /// Explains why a conditional update touched no row: the deployment is
    /// missing or already finished.
    async fn why_unchanged(&self, id: i64, op: &'static str) -> StoreError {
        match self.deployment(id).await {
            Err(e) => e,
            Ok(None) => not_found(id, op),
            Ok(Some(d)) if d.state.is_final() => StoreError::Finished {
                op,
                id,
                state: d.state,
            },
            // Unfinished now but the update missed it: only possible if a row
            // went back from final, which no statement here does.
            Ok(Some(_)) => StoreError::Contended { op },
        }
    }
}

fn not_found(id: i64, op: &'static str) -> StoreError {
    StoreError::NotFound {
        op,
        what: format!("deployment {id}"),
    }
}

fn encode_approvers(approvers: &[String], op: &'static str) -> Result<String, StoreError> {
    serde_json::to_string(approvers).map_err(|e| StoreError::corrupt(op, "approvers", e))
}

fn colour(name: Option<String>, op: &'static str) -> Result<Option<Colour>, StoreError> {
    match name.as_deref() {
        None => Ok(None),
        Some("blue") => Ok(Some(Colour::Blue)),
        Some("green") => Ok(Some(Colour::Green)),
        Some(other) => Err(StoreError::corrupt(op, "colour", other)),
    }
}

/// Reads one row of `select_deployments!`; bad values are errors, not panics.
fn from_row(row: &AnyRow, op: &'static str) -> Result<Deployment, StoreError> {
    let strategy: String = row.try_get("strategy").during(op)?;
    let state: String = row.try_get("state").during(op)?;
    let approvers: String = row.try_get("approvers").during(op)?;
    Ok(Deployment {
        id: row.try_get("id").during(op)?,
        env: row.try_get("env").during(op)?,
        service: row.try_get("service").during(op)?,
        version: row.try_get("version").during(op)?,
        previous_version: row.try_get("previous_version").during(op)?,
        strategy: Strategy::from_name(&strategy)
            .ok_or_else(|| StoreError::corrupt(op, "strategy", &strategy))?,
        requested_by: row.try_get("requested_by").during(op)?,
        approvers: serde_json::from_str(&approvers)
            .map_err(|e| StoreError::corrupt(op, "approvers", e))?,
        emergency: row.try_get::<i64, _>("emergency").during(op)? != 0,
        created_at: row.try_get("created_at").during(op)?,
        started_at: row.try_get("started_at").during(op)?,
        finished_at: row.try_get("finished_at").during(op)?,
        state: DeploymentState::from_name(&state)
            .ok_or_else(|| StoreError::corrupt(op, "state", &state))?,
        state_changed_at: row.try_get("state_changed_at").during(op)?,
        reason: row.try_get("reason").during(op)?,
        live_colour: colour(row.try_get("live_colour").during(op)?, op)?,
        new_colour: colour(row.try_get("new_colour").during(op)?, op)?,
    })
}
