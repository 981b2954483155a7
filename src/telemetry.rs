//! What `/metrics` tells Prometheus about the agent: deployments by environment
//! and outcome, rollbacks, how long deployments take, where traffic is, how many
//! approvals wait, and how often MFA, the chat platform and the cloud APIs said
//! no. `deploy/prometheus/alerts.yml` alerts on these names; keep them stable.
//!
//! Deployment figures come from the engine's event stream (one subscriber keeps
//! them current, whichever conversation or webhook started the deployment).
//! Failures deep inside adapters (a throttled ECS call, a Discord 5xx, a wrong
//! TOTP code) are counted in process-wide [`errors`] counters, because threading
//! a metrics handle through every adapter would couple them all to this module;
//! one process runs one agent, so process-wide is per-agent. Values that are
//! state rather than events (pending approvals) are read at scrape time.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use tokio::sync::broadcast;

use crate::cloud::Colour;
use crate::rollout::{Event, EventKind};
use crate::store::DeploymentState;

/// Failures counted wherever they happen, in every [`Telemetry`]'s output.
pub mod errors {
    use super::*;

    /// Cloud API calls that failed (each failed attempt, retried or not).
    pub static CLOUD_API: LazyLock<IntCounter> = LazyLock::new(|| {
        counter(
            "cloud_api_errors_total",
            "Cloud API calls that failed (each attempt, including ones retried)",
        )
    });
    /// Chat platform API calls that failed (after the adapter's own retry).
    pub static CHAT_API: LazyLock<IntCounter> = LazyLock::new(|| {
        counter(
            "chat_api_errors_total",
            "Chat platform API calls that failed",
        )
    });
    /// TOTP codes refused (wrong, replayed or while locked out).
    pub static MFA: LazyLock<IntCounter> = LazyLock::new(|| {
        counter(
            "mfa_failures_total",
            "TOTP codes refused: wrong, replayed, or during a lockout",
        )
    });

    /// Counts one failure in `counter`.
    pub fn count(counter: &LazyLock<IntCounter>) {
        counter.inc();
    }

    fn counter(name: &str, help: &str) -> IntCounter {
        IntCounter::with_opts(Opts::new(name, help)).expect("a valid static metric")
    }
}

/// Reads the number of approval requests waiting, per environment, at scrape time.
pub type PendingApprovals = Arc<dyn Fn() -> Vec<(String, u64)> + Send + Sync>;

/// The agent's metrics. Cheap to share: clone the `Arc`.
pub struct Telemetry {
    registry: Registry,
    deployments: IntCounterVec,
    rollbacks: IntCounterVec,
    duration: HistogramVec,
    weight: IntGaugeVec,
    in_progress: IntGaugeVec,
    pending_approvals: IntGaugeVec,
    pending: PendingApprovals,
    /// Deployments that have started rolling back on their own, until they finish.
    rolling_back: Mutex<HashSet<i64>>,
}

impl Telemetry {
    /// Registers every metric; `pending` reads the approval requests at scrape
    /// time. Every counter of each of `envs` starts at 0, so that Prometheus's
    /// `increase()` sees the first failure after a restart (a series born at 1
    /// has no increase).
    pub fn new(pending: PendingApprovals, envs: &[String]) -> Arc<Telemetry> {
        // Names and labels are fixed here, so registration cannot fail.
        let registry =
            Registry::new_custom(Some("switchyard".into()), None).expect("a valid prefix");
        let counters = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(metric.clone()))
                .expect("registered once");
            metric
        };
        let deployments = counters(
            "deployments_total",
            "Deployments finished, by environment and outcome (succeeded, failed, rolled_back, aborted)",
            &["env", "outcome"],
        );
        let rollbacks = counters(
            "rollbacks_total",
            "Rollbacks, by environment and trigger (automatic or manual)",
            &["env", "trigger"],
        );
        let gauges = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(metric.clone()))
                .expect("registered once");
            metric
        };
        let weight = gauges(
            "traffic_weight_percent",
            "Share of traffic per environment, service and colour, as last set by the agent",
            &["env", "service", "colour"],
        );
        let in_progress = gauges(
            "deployment_in_progress",
            "1 while a deployment is running in the environment, else 0",
            &["env"],
        );
        let pending_approvals = gauges(
            "pending_approvals",
            "Deployment requests waiting for approval, by environment",
            &["env"],
        );
        // From a 30 s dev deploy to a 2 h canary with a long watch.
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "deployment_duration_seconds",
                "Time from start to a final state, by environment",
            )
            .buckets(vec![
                30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0,
            ]),
            &["env"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(duration.clone()))
            .expect("registered once");
        for counter in [&errors::CLOUD_API, &errors::CHAT_API, &errors::MFA] {
            // The process-wide counters appear in every registry.
            registry
                .register(Box::new(IntCounter::clone(counter)))
                .expect("registered once");
        }
        for env in envs {
            let env = env.as_str();
            for state in [
                DeploymentState::Succeeded,
                DeploymentState::Failed,
                DeploymentState::RolledBack,
                DeploymentState::Aborted,
            ] {
                deployments.with_label_values(&[env, state.as_str()]);
            }
            for trigger in ["automatic", "manual"] {
                rollbacks.with_label_values(&[env, trigger]);
            }
            in_progress.with_label_values(&[env]).set(0);
        }
        Arc::new(Telemetry {
            registry,
            deployments,
            rollbacks,
            duration,
            weight,
            in_progress,
            pending_approvals,
            pending,
            rolling_back: Mutex::new(HashSet::new()),
        })
    }

    /// Keeps the metrics current from the engine's events until the engine goes away.
    pub fn follow(self: &Arc<Self>, mut events: broadcast::Receiver<Event>) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "metrics missed engine events");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let Some(me) = me.upgrade() else { return };
                me.record(&event);
            }
        });
    }

    /// Takes one engine event into account.
    pub fn record(&self, event: &Event) {
        let env = event.env.as_str();
        match &event.kind {
            EventKind::Started { .. } | EventKind::Resumed | EventKind::Recovered { .. } => {
                self.in_progress.with_label_values(&[env]).set(1);
            }
            EventKind::WeightsChanged { weights }
            | EventKind::RouteDrift {
                restored: true,
                expected: weights,
                ..
            } => {
                for colour in [Colour::Blue, Colour::Green] {
                    self.weight
                        .with_label_values(&[env, event.service.as_str(), colour.as_str()])
                        .set(i64::from(weights.of(colour)));
                }
            }
            EventKind::RollingBack { .. } => {
                self.lock_rolling_back().insert(event.deployment);
            }
            EventKind::Finished {
                state, duration_ms, ..
            } => {
                self.in_progress.with_label_values(&[env]).set(0);
                self.deployments
                    .with_label_values(&[env, state.as_str()])
                    .inc();
                let automatic = self.lock_rolling_back().remove(&event.deployment);
                if *state == DeploymentState::RolledBack {
                    let trigger = if automatic { "automatic" } else { "manual" };
                    self.rollbacks.with_label_values(&[env, trigger]).inc();
                }
                // A manual rollback reports the time since the rolled-back
                // deployment started, which is not a deployment's duration.
                if *state != DeploymentState::RolledBack || automatic {
                    self.duration
                        .with_label_values(&[env])
                        .observe(*duration_ms as f64 / 1000.0);
                }
            }
            _ => {}
        }
    }

    fn lock_rolling_back(&self) -> std::sync::MutexGuard<'_, HashSet<i64>> {
        self.rolling_back.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The metrics in the Prometheus text exposition format (version 0.0.4).
    pub fn encode(&self) -> String {
        for (env, n) in (self.pending)() {
            self.pending_approvals
                .with_label_values(&[env.as_str()])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "could not encode the metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The content type of [`Telemetry::encode`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
