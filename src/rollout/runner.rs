//! One deployment's task: runs its script step by step, judging as it goes, and
//! rolls back on its own when a step fails.
//!
//! Every step is journaled before its side effect and marked done after, and
//! every step is idempotent, so a restarted engine can run the script again from
//! the first step not marked done. Pause and abort arrive on a `watch` channel
//! and are honoured between and inside waits; paused time does not count
//! towards a bake.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use super::analysis::{Breach, Metric, Verdict, judge};
use super::core::Core;
use super::events::EventKind;
use super::plan::Step;
use crate::cloud::Readiness;
use crate::cloud::{CloudError, Colour, Sample, ServiceRef, Weights};
use crate::config::{Analysis, Inconclusive, Plan};
use crate::intent::Strategy;
use crate::store::DeploymentState;

/// How often readiness is polled while waiting for tasks to start.
const READY_POLL: Duration = Duration::from_secs(2);

/// What people asked a running deployment to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Run,
    Pause,
    /// Roll back now; the string says who asked.
    Abort(String),
}

/// Why the script stopped before its end.
#[derive(Debug)]
pub(super) enum Stop {
    Breach(Breach),
    Cloud(CloudError),
    Abort(String),
}

impl Stop {
    fn reason(&self) -> String {
        match self {
            Stop::Breach(b) => b.to_string(),
            Stop::Cloud(e) => format!("cloud error: {e}"),
            Stop::Abort(by) => format!("aborted by {by}"),
        }
    }
}

impl From<CloudError> for Stop {
    fn from(e: CloudError) -> Stop {
        Stop::Cloud(e)
    }
}

/// Everything one deployment's task needs.
pub(super) struct Runner {
    pub core: Arc<Core>,
    pub id: i64,
    pub svc: ServiceRef,
    pub strategy: Strategy,
    pub plan: Plan,
    pub steps: Vec<Step>,
    /// The colour receiving the new version, and the one that stays stable.
    pub new: Colour,
    pub stable: Colour,
    /// The version the stable colour runs (what a rollback returns to).
    pub previous: Option<String>,
    pub control: watch::Receiver<Control>,
    /// The last stable-colour sample with traffic: the latency baseline.
    pub baseline: Option<Sample>,
    /// The journal position of the rollback step: after the script, and after
    /// any rollback a crashed engine had begun.
    pub rollback_seq: usize,
    pub started_ms: i64,
}

impl Runner {
    /// Runs the script from step `from` to its end, then rolls back if it stopped.
    pub async fn run(mut self, from: usize) {
        match self.steps_from(from).await {
            Ok(()) => {}
            Err(stop) => {
                let state = match stop {
                    Stop::Breach(_) => DeploymentState::RolledBack,
                    Stop::Cloud(_) => DeploymentState::Failed,
                    Stop::Abort(_) => DeploymentState::Aborted,
                };
                let breach = match &stop {
                    Stop::Breach(b) => Some(b.clone()),
                    _ => None,
                };
                self.rollback(state, stop.reason(), breach).await;
            }
        }
        self.core.forget(self.id);
        self.core.done_with(self.id);
    }

    async fn steps_from(&mut self, from: usize) -> Result<(), Stop> {
        let mut phase = None;
        for seq in from..self.steps.len() {
            self.hold_while_paused().await?;
            let step = self.steps[seq].clone();
            if phase != Some(step.phase()) {
                phase = Some(step.phase());
                self.emit(EventKind::PhaseStarted {
                    phase: step.phase().to_string(),
                });
            }
            self.core.journal_begin(self.id, seq, &step).await;
            let result = self.execute(&step).await?;
            self.core
                .journal_done(self.id, seq, result.as_deref())
                .await;
        }
        Ok(())
    }

    async fn execute(&mut self, step: &Step) -> Result<Option<String>, Stop> {
        let core = self.core.clone();
        let retry = core.retry;
        match step {
            Step::Deploy { colour, version } => {
                // Idempotent: after a restart the colour may already run the version.
                let now = retry
                    .run("reading readiness", || {
                        core.cloud.compute.readiness(&self.svc, *colour)
                    })
                    .await?;
                if now.version.as_deref() != Some(version.as_str()) || now.desired == 0 {
                    retry
                        .run("deploying", || {
                            core.cloud.compute.deploy(&self.svc, *colour, version)
                        })
                        .await?;
                }
                self.emit(EventKind::Deployed {
                    colour: *colour,
                    version: version.clone(),
                });
                Ok(None)
            }
            Step::AwaitReady { colour } => self.await_ready(*colour).await.map(Some),
            Step::Shift { colour, percent } => {
                let weights = Weights::to(*colour, *percent);
                retry
                    .set_weights(core.cloud.traffic.as_ref(), &self.svc, weights)
                    .await?;
                self.emit(EventKind::WeightsChanged { weights });
                Ok(Some(weights.to_string()))
            }
            Step::Bake { percent, duration } => {
                self.watch_signals(*percent, *duration).await.map(Some)
            }
            Step::Verify { duration } => self.watch_signals(100, *duration).await.map(Some),
            Step::Finalize => {
                let at = core.clock.now_ms();
                core.finish(self.id, DeploymentState::Succeeded, None, at)
                    .await;
                self.emit(EventKind::Finished {
                    state: DeploymentState::Succeeded,
                    duration_ms: at - self.started_ms,
                    reason: None,
                });
                Ok(None)
            }
            Step::Watch { duration } => self.watch_signals(100, *duration).await.map(Some),
            Step::ScaleDown { colour, after } => Ok(Some(self.scale_down(*colour, *after).await)),
            Step::Rollback { .. } => Ok(None),
        }
    }

    /// Scales the old colour to zero after `after`, unless it stopped being
    /// the standby of this deployment meanwhile. The deployment is over by now:
    /// pause and abort go to whatever runs next in the environment, and a failure
    /// here costs money, not availability, so it is logged rather than rolled back.
    async fn scale_down(&mut self, colour: Colour, after: Duration) -> String {
        let core = self.core.clone();
        core.forget(self.id);
        tokio::time::sleep(after).await;
        let svc = &self.svc;
        let later = core
            .store
            .history(Some(&svc.env), 1)
            .await
            .ok()
            .and_then(|h| h.into_iter().next())
            .is_some_and(|d| d.id != self.id);
        if later {
            return "skipped: a later deployment owns the environment".into();
        }
        match core.cloud.traffic.weights(svc).await {
            Ok(w) if w.whole() == Some(colour.other()) => {}
            Ok(w) => return format!("skipped: the route is {w}, so {colour} is not the standby"),
            Err(e) => return format!("skipped: {e}"),
        }
        let version = core
            .cloud
            .compute
            .readiness(svc, colour)
            .await
            .ok()
            .and_then(|r| r.version);
        match core
            .retry
            .run("scaling the standby down", || {
                core.cloud.compute.scale(svc, colour, 0)
            })
            .await
        {
            Ok(()) => {
                tracing::info!(deployment = self.id, %svc, %colour, "standby scaled down");
                self.emit(EventKind::ScaledDown { colour, version });
                format!("{colour} scaled to 0")
            }
            Err(e) => {
                tracing::warn!(deployment = self.id, %svc, %colour, error = %e, "could not scale the standby down");
                format!("failed: {e}")
            }
        }
    }

    /// Polls readiness until every task is ready and healthy. Fails on a crash
    /// loop, on health checks failing too long once tasks run, or at the deadline.
    async fn await_ready(&mut self, colour: Colour) -> Result<String, Stop> {
        let analysis = self.plan.analysis.clone();
        let core = self.core.clone();
        let started = Instant::now();
        let mut running_since: Option<Instant> = None;
        loop {
            let r = core
                .retry
                .run("reading readiness", || {
                    core.cloud.compute.readiness(&self.svc, colour)
                })
                .await?;
            if r.is_ready() {
                self.emit(EventKind::Ready {
                    colour,
                    healthy: r.healthy,
                    desired: r.desired,
                });
                return Ok(format!("{}/{} healthy", r.healthy, r.desired));
            }
            // Tasks that run but fail their health checks, for too long.
            let failing = r.running >= r.desired && r.desired > 0;
            task_trouble(&analysis, &r, failing, &mut running_since)?;
            if started.elapsed() > analysis.ready_timeout {
                return Err(breach(
                    Metric::NotReady,
                    started.elapsed().as_secs_f64(),
                    analysis.ready_timeout.as_secs_f64(),
                ));
            }
            self.sleep(READY_POLL.min(analysis.interval)).await?;
        }
    }

    /// Watches the new colour for `duration` at `percent`, judging every
    /// interval. A pass needs at least one conclusive judgement; with too little
    /// traffic the plan either waits (up to the readiness deadline more) or fails.
    async fn watch_signals(&mut self, percent: u8, duration: Duration) -> Result<String, Stop> {
        let analysis = self.plan.analysis.clone();
        let core = self.core.clone();
        let mut remaining = duration;
        let mut passed = None;
        let mut unhealthy_since: Option<Instant> = None;
        let give_up = duration + analysis.ready_timeout;
        let mut waited = Duration::ZERO;
        loop {
            let tick = if remaining.is_zero() {
                analysis.interval
            } else {
                analysis.interval.min(remaining)
            };
            self.sleep(tick).await?;
            remaining = remaining.saturating_sub(tick);
            waited += tick;

            let r = core
                .retry
                .run("reading readiness", || {
                    core.cloud.compute.readiness(&self.svc, self.new)
                })
                .await?;
            task_trouble(&analysis, &r, r.healthy < r.desired, &mut unhealthy_since)?;

            let window = analysis.window();
            let sample = core
                .retry
                .run("reading signals", || {
                    core.cloud.signals.sample(&self.svc, self.new, window)
                })
                .await?;
            if percent < 100 {
                let base = core
                    .retry
                    .run("reading signals", || {
                        core.cloud.signals.sample(&self.svc, self.stable, window)
                    })
                    .await?;
                if base.requests > 0 {
                    self.baseline = Some(base);
                }
            }
            let verdict = judge(&sample, self.baseline.as_ref(), &analysis);
            self.emit(EventKind::Analysis {
                percent,
                verdict: verdict.clone(),
            });
            match verdict {
                Verdict::Fail { breach, .. } => return Err(Stop::Breach(breach)),
                Verdict::Pass { measured } => passed = Some(measured),
                Verdict::Inconclusive { measured, .. }
                    if analysis.inconclusive == Inconclusive::Fail =>
                {
                    return Err(breach(
                        Metric::NoTraffic,
                        measured.requests as f64,
                        window.as_secs_f64(),
                    ));
                }
                Verdict::Inconclusive { .. } => {}
            }
            if remaining.is_zero() {
                if let Some(m) = passed {
                    return Ok(format!(
                        "error rate {:.2}%, p99 {}",
                        m.error_rate_percent,
                        m.p99_ms.map_or("-".to_string(), |p| format!("{p:.0} ms"))
                    ));
                }
                if waited > give_up {
                    return Err(breach(
                        Metric::NoTraffic,
                        sample.requests as f64,
                        waited.as_secs_f64(),
                    ));
                }
            }
        }
    }

    /// Sends everything back to the stable colour and records why. It does not
    /// give up: a split route without an owner is the one outcome not allowed,
    /// so the weights are retried until the route shows them.
    pub async fn rollback(
        &mut self,
        state: DeploymentState,
        reason: String,
        breach: Option<Breach>,
    ) {
        let core = self.core.clone();
        tracing::warn!(deployment = self.id, %reason, "rolling back");
        self.emit(EventKind::RollingBack {
            reason: reason.clone(),
            breach,
        });
        let seq = self.rollback_seq;
        let step = Step::Rollback {
            colour: self.stable,
            reason: reason.clone(),
        };
        core.journal_begin(self.id, seq, &step).await;
        if self.strategy == Strategy::Rolling {
            if let Some(previous) = self.previous.clone() {
                while let Err(e) = core
                    .retry
                    .run("redeploying the previous version", || {
                        core.cloud.compute.deploy(&self.svc, self.stable, &previous)
                    })
                    .await
                {
                    tracing::error!(deployment = self.id, error = %e, "rollback redeploy failed; retrying");
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            }
        } else {
            let weights = Weights::all(self.stable);
            while let Err(e) = core
                .retry
                .set_weights(core.cloud.traffic.as_ref(), &self.svc, weights)
                .await
            {
                tracing::error!(deployment = self.id, error = %e, "rollback could not set weights; retrying");
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
            self.emit(EventKind::WeightsChanged { weights });
        }
        core.journal_done(self.id, seq, Some(&reason)).await;
        let at = core.clock.now_ms();
        core.finish(self.id, state, Some(&reason), at).await;
        self.emit(EventKind::Finished {
            state,
            duration_ms: at - self.started_ms,
            reason: Some(reason),
        });
    }

    /// Waits `d` of running time: paused time does not count, abort ends it.
    async fn sleep(&mut self, d: Duration) -> Result<(), Stop> {
        let mut deadline = Instant::now() + d;
        loop {
            let control = self.control.borrow_and_update().clone();
            match control {
                Control::Abort(by) => return Err(Stop::Abort(by)),
                Control::Pause => {
                    let paused_at = Instant::now();
                    self.hold_while_paused().await?;
                    deadline += paused_at.elapsed();
                }
                Control::Run => {
                    tokio::select! {
                        _ = sleep_until(deadline) => return Ok(()),
                        changed = self.control.changed() => {
                            // The engine dropped the sender: nobody can pause or abort
                            // any more; finish the wait undisturbed.
                            if changed.is_err() {
                                sleep_until(deadline).await;
                                return Ok(());
                            }
                        }
                    }
                }
            }
        }
    }

    /// Returns when not paused; errors when aborted.
    async fn hold_while_paused(&mut self) -> Result<(), Stop> {
        let mut announced = false;
        loop {
            let control = self.control.borrow_and_update().clone();
            match control {
                Control::Run => {
                    if announced {
                        self.emit(EventKind::Resumed);
                    }
                    return Ok(());
                }
                Control::Abort(by) => return Err(Stop::Abort(by)),
                Control::Pause => {
                    if !announced {
                        announced = true;
                        self.emit(EventKind::Paused);
                    }
                    if self.control.changed().await.is_err() {
                        // Paused with nobody left to resume: stay put.
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }

    fn emit(&self, kind: EventKind) {
        self.core.emit(self.id, &self.svc, kind);
    }
}

/// Crash loops, and health checks failing for longer than the plan allows, from
/// one readiness reading. `failing` says whether this reading counts as
/// unhealthy; `since` remembers when that began.
fn task_trouble(
    analysis: &Analysis,
    r: &Readiness,
    failing: bool,
    since: &mut Option<Instant>,
) -> Result<(), Stop> {
    if r.restarts > analysis.max_restarts {
        return Err(breach(
            Metric::Restarts,
            r.restarts as f64,
            analysis.max_restarts as f64,
        ));
    }
    if !failing {
        *since = None;
        return Ok(());
    }
    let began = *since.get_or_insert_with(Instant::now);
    if began.elapsed() > analysis.unhealthy_limit {
        return Err(breach(
            Metric::Unhealthy,
            began.elapsed().as_secs_f64(),
            analysis.unhealthy_limit.as_secs_f64(),
        ));
    }
    Ok(())
}

fn breach(metric: Metric, value: f64, threshold: f64) -> Stop {
    Stop::Breach(Breach {
        metric,
        value,
        threshold,
    })
}
