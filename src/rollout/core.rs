//! What every deployment task shares: the store, the cloud ports, the clock,
//! the retry policy and the event channel, plus the registry of running tasks'
//! control channels.
//!
//! Journal writes go through here so that a store failure is handled in one
//! place: the engine cannot promise durability without its journal, so a write
//! that fails is retried until it succeeds (and logged), rather than letting a
//! side effect run unrecorded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use super::events::{Event, EventKind};
use super::plan::Step;
use super::retry::Retry;
use super::runner::Control;
use super::tenure::Tenure;
use crate::clock::Clock;
use crate::cloud::{Cloud, ServiceRef};
use crate::store::{AuditEntry, DeploymentState, Store, StoreError};

pub(super) struct Core {
    pub store: Store,
    pub cloud: Cloud,
    pub clock: Clock,
    pub retry: Retry,
    pub events: broadcast::Sender<Event>,
    /// Control channels of the deployments this engine runs, by id.
    pub controls: Mutex<HashMap<i64, (String, watch::Sender<Control>)>>,
    /// Test hook: after this many journal writes every task stops dead, as if
    /// the process were killed (see [`super::EngineOptions::crash_after_journal_writes`]).
    pub crash_after: Option<usize>,
    pub journal_writes: AtomicUsize,
    /// Told when the test hook fires, so a test knows the "process" is dead.
    pub crashed: tokio::sync::Notify,
    /// How many events were emitted, so a listener can tell when it has seen all.
    pub events_sent: AtomicUsize,
    /// This process's name among the replicas ([`crate::replica::id`]).
    pub replica: String,
    /// How long a lease lasts without renewal (`engine.lease`).
    pub lease_ttl: std::time::Duration,
    /// The leases this engine holds, by deployment id ([`super::tenure`]).
    pub tenures: Mutex<HashMap<i64, Tenure>>,
    /// Told when a lease is taken, to wake the idle renewal task.
    pub leases_changed: Arc<tokio::sync::Notify>,
}

impl Core {
    pub fn emit(&self, deployment: i64, svc: &ServiceRef, kind: EventKind) {
        tracing::info!(deployment, env = %svc.env, service = %svc.service, event = ?kind, "deployment event");
        // No subscriber is fine: events are for people, the journal is the record.
        self.events_sent.fetch_add(1, Ordering::SeqCst);
        let _ = self.events.send(Event {
            deployment,
            env: svc.env.clone(),
            service: svc.service.clone(),
            at_ms: self.clock.now_ms(),
            kind,
        });
    }

    /// Journals the start of step `seq`. Called only from the deployment's
    /// own task: when the lease is lost it never returns, and the task, told
    /// by [`Core::lose`], ends instead (see [`super::tenure`]).
    pub async fn journal_begin(&self, id: i64, seq: usize, step: &Step) {
        self.fence(id).await;
        // A step that cannot be serialised is journaled as what it is
        // called and why, never as an empty value that reads as nothing.
        let value = serde_json::to_value(step).unwrap_or_else(|e| {
            tracing::error!(deployment = id, seq, error = %e, "a step cannot be serialised");
            serde_json::json!({"step": step.phase(), "unserialisable": e.to_string()})
        });
        let at = self.clock.now_ms();
        self.durably("journal begin", || {
            self.store.journal_begin(id, seq as u32, &value, at)
        })
        .await;
        self.count_write().await;
    }

    /// Journals the end of step `seq`; fenced like [`Core::journal_begin`].
    pub async fn journal_done(&self, id: i64, seq: usize, result: Option<&str>) {
        self.fence(id).await;
        let at = self.clock.now_ms();
        self.durably("journal done", || {
            self.store.journal_done(id, seq as u32, result, at)
        })
        .await;
        self.count_write().await;
    }

    /// Appends a command or decision to the audit log.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        env: &str,
        deployment: Option<i64>,
        outcome: &str,
        detail: Option<&str>,
    ) {
        let entry = AuditEntry {
            at: self.clock.now_ms(),
            actor: actor.to_string(),
            channel: None,
            action: action.to_string(),
            env: Some(env.to_string()),
            deployment_id: deployment,
            outcome: outcome.to_string(),
            detail: detail.map(str::to_string),
        };
        self.durably("writing the audit log", || self.store.audit(&entry))
            .await;
    }

    /// Records the final state, and the decision in the audit log. A deployment
    /// that had already succeeded (its post-deployment watch rolled it back) is
    /// marked rolled back instead.
    pub async fn finish(&self, id: i64, state: DeploymentState, reason: Option<&str>, at: i64) {
        if !self.still_holds(id).await {
            tracing::warn!(deployment = id, state = %state, "not finishing a deployment whose lease was lost");
            return;
        }
        // Read durably: taking a failed read for "not succeeded" would record
        // a rollback after success as a refused finish, leaving the record
        // at succeeded while the traffic is on the stable colour.
        let before = self.deployment_durably(id).await;
        let env = before.as_ref().map(|d| d.env.clone()).unwrap_or_default();
        let already_succeeded = before.is_some_and(|d| d.state == DeploymentState::Succeeded);
        if already_succeeded && state != DeploymentState::Succeeded {
            let reason = reason.unwrap_or("rolled back after it succeeded");
            self.durably("undoing a success", || {
                self.store.revert_success(id, reason, at)
            })
            .await;
        } else {
            self.durably("finishing a deployment", || {
                self.store.finish(id, state, reason, at)
            })
            .await;
        }
        let action = match state {
            DeploymentState::Succeeded => "finish",
            DeploymentState::Aborted => "abort",
            _ => "auto_rollback",
        };
        self.audit("switchyard", action, &env, Some(id), state.as_str(), reason)
            .await;
    }

    /// Returns only while this engine holds deployment `id`'s lease; else
    /// waits forever, for the task to be stopped by the lost-lease signal.
    async fn fence(&self, id: i64) {
        if !self.still_holds(id).await {
            std::future::pending::<()>().await;
        }
    }

    /// Retries a store write while the database is unavailable: nothing may happen
    /// unrecorded. A refusal (the row is already final, a journal conflict) is
    /// not retried: it means another writer got there first, which is logged.
    async fn durably<F, Fut, T>(&self, what: &str, mut op: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let mut wait = Duration::from_millis(100);
        loop {
            match op().await {
                Ok(_) => return,
                Err(e @ (StoreError::Database { .. } | StoreError::Contended { .. })) => {
                    tracing::error!(what, error = %e, "store write failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::warn!(what, error = %e, "store refused the write");
                    return;
                }
            }
        }
    }

    /// Reads deployment `id`, retrying while the database is unavailable
    /// as [`Core::durably`] does; `None` only when it does not exist or
    /// cannot be read at all.
    async fn deployment_durably(&self, id: i64) -> Option<crate::store::Deployment> {
        let mut wait = Duration::from_millis(100);
        loop {
            match self.store.deployment(id).await {
                Ok(found) => return found,
                Err(e @ (StoreError::Database { .. } | StoreError::Contended { .. })) => {
                    tracing::error!(deployment = id, error = %e, "reading a deployment failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::error!(deployment = id, error = %e, "a deployment cannot be read");
                    return None;
                }
            }
        }
    }

    async fn count_write(&self) {
        let n = self.journal_writes.fetch_add(1, Ordering::SeqCst) + 1;
        if self.crash_after.is_some_and(|limit| n >= limit) {
            // The simulated kill -9: nothing after this write happens.
            self.crashed.notify_waiters();
            self.crashed.notify_one();
            std::future::pending::<()>().await;
        }
    }

    /// Whether a task of this engine can still move traffic in `env` (it has
    /// a control channel until its post-deployment watch is over).
    pub fn drives_in(&self, env: &str) -> bool {
        self.controls
            .lock()
            .expect("controls lock")
            .values()
            .any(|(e, _)| e == env)
    }

    /// Drops a finished deployment's control channel.
    pub fn forget(&self, id: i64) {
        self.controls.lock().expect("controls lock").remove(&id);
    }
}
