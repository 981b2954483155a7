//! The engine's front door: start a deployment, pause, resume or abort it, roll
//! back a finished one, lock an environment, and recover what a previous
//! process left mid-way.
//!
//! Checks that refuse a request (a lock, a deployment already running, a route
//! split without an owner) happen here, before anything is written or moved. A
//! started deployment runs in its own task ([`super::runner`]); dropping the
//! engine stops every task at once, which is how the tests simulate `kill -9`.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use super::core::Core;
use super::events::{Event, EventKind};
use super::plan::{Step, script};
use super::retry::Retry;
use super::runner::{Control, Runner};
use crate::clock::Clock;
use crate::cloud::{Cloud, CloudError, Colour, ServiceRef, Weights};
use crate::config::{Plan, Reconcile, Recovery};
use crate::intent::Strategy;
use crate::store::{
    Backend, Deployment, DeploymentState, LockOutcome, NewDeployment, Store, StoreError, Take,
};

/// `engine.lease` unless configured: renewed every 5 s, so a replica that dies
/// is replaced within about 15 s plus one look for orphans (every 5 s).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);

/// A request to deploy one version of one service to one environment.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DeployRequest {
    pub svc: ServiceRef,
    pub version: String,
    pub strategy: Strategy,
    pub plan: Plan,
    pub requested_by: String,
    pub approvers: Vec<String>,
    pub emergency: bool,
}

/// Knobs beyond the configuration file.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub recovery: Recovery,
    pub retry: Option<Retry>,
    /// How long a deployment lease lasts unrenewed (`engine.lease`); the
    /// default when `None`.
    pub lease: Option<Duration>,
    /// The name this engine takes leases under; [`crate::replica::id`] when
    /// `None` (tests run two "replicas" in one process).
    pub replica: Option<String>,
    /// What the watcher of idle routes does with a drifted one (`engine.reconcile`).
    pub reconcile: Reconcile,
    /// How often it looks (`engine.reconcile_every`); the default when `None`.
    pub reconcile_every: Option<Duration>,
    /// Test hook: every task stops dead after this many journal writes, as if
    /// the process were killed there. Never set outside tests.
    pub crash_after_journal_writes: Option<usize>,
}

/// Why the engine refused or could not do something. Each message is meant for
/// the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "{env} is busy: deployment #{id} of {version} is {state}; wait for it, or `abort {env}`"
    )]
    Busy {
        env: String,
        id: i64,
        version: String,
        state: String,
    },
    #[error("{env} is locked by {by}{}; `unlock {env}` first", reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Locked {
        env: String,
        by: String,
        reason: Option<String>,
    },
    #[error("no deployment is running in {env}")]
    NothingRunning { env: String },
    #[error("nothing to roll back to in {env}: {why}")]
    NoStandby { env: String, why: String },
    #[error(
        "the route of {svc} is split ({weights}) with no deployment running; roll it back or fix it by hand"
    )]
    SplitRoute { svc: ServiceRef, weights: Weights },
    #[error("the deployment did not start: {why}")]
    Changed { why: String },
    #[error("{svc} already runs {version}")]
    SameVersion { svc: ServiceRef, version: String },
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    #[error("the cloud failed: {0}")]
    Cloud(#[from] CloudError),
}

pub struct Engine {
    pub(super) core: Arc<Core>,
    recovery: Recovery,
    tasks: Mutex<HashMap<i64, JoinHandle<()>>>,
    /// Held while a start checks and claims an environment, so two requests for
    /// the same environment cannot both pass the "is it busy?" check (and
    /// while a rollback or the watcher of idle routes moves traffic).
    pub(super) starting: tokio::sync::Mutex<()>,
    /// The watcher of idle routes ([`super::reconcile`]).
    pub(super) routes: super::reconcile::Routes,
}

impl Drop for Engine {
    fn drop(&mut self) {
        for (_, task) in self.tasks.lock().expect("tasks lock").drain() {
            task.abort();
        }
        // Wakes the idle renewal task, which then sees the engine is gone.
        self.core.leases_changed.notify_one();
    }
}

/// A deployment recorded and holding its environment, not yet started.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Prepared {
    pub id: i64,
    pub req: DeployRequest,
    pub live: Colour,
    pub new: Colour,
    pub previous: Option<String>,
}

/// What a rollback of a finished deployment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    pub deployment: i64,
    pub from_version: String,
    pub to_version: String,
    pub colour: Colour,
}

impl Engine {
    pub fn new(
        store: Store,
        cloud: Cloud,
        clock: Clock,
        retry: Retry,
        options: EngineOptions,
    ) -> Engine {
        let (events, _) = broadcast::channel(1024);
        let core = Arc::new(Core {
            store,
            cloud,
            clock,
            retry: options.retry.unwrap_or(retry),
            events,
            controls: Mutex::new(HashMap::new()),
            crash_after: options.crash_after_journal_writes,
            journal_writes: AtomicUsize::new(0),
            crashed: tokio::sync::Notify::new(),
            events_sent: AtomicUsize::new(0),
            replica: options
                .replica
                .unwrap_or_else(|| crate::replica::id().to_owned()),
            lease_ttl: options.lease.unwrap_or(DEFAULT_LEASE),
            tenures: Mutex::new(HashMap::new()),
            leases_changed: Arc::new(tokio::sync::Notify::new()),
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(super::tenure::keep_renewing(Arc::downgrade(&core)));
        }
        Engine {
            core,
            recovery: options.recovery,
            tasks: Mutex::new(HashMap::new()),
            starting: tokio::sync::Mutex::new(()),
            routes: super::reconcile::Routes::new(options.reconcile, options.reconcile_every),
        }
    }

    /// The name this engine holds leases under.
    pub fn replica(&self) -> &str {
        &self.core.replica
    }

    /// The deployments this engine drives now (holds the leases of).
    pub fn driving(&self) -> Vec<i64> {
        self.core.held_ids()
    }

    /// How many events the engine has emitted so far.
    pub fn events_sent(&self) -> usize {
        self.core
            .events_sent
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every event of every deployment from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.core.events.subscribe()
    }

    pub fn store(&self) -> &Store {
        &self.core.store
    }

    /// Checks the environment is free and unlocked, reads which colour is live,
    /// records the deployment and starts its task. Returns its id.
    pub async fn start(&self, req: DeployRequest) -> Result<i64, EngineError> {
        let prepared = self.prepare(req).await?;
        let id = prepared.id;
        self.launch(prepared).await?;
        Ok(id)
    }

    /// Claims the environment for a deployment that still waits for something
    /// (approvals, a wait timer): checks it is free and unlocked, reads the live
    /// colour and records the deployment as pending. Nothing moves until
    /// [`Engine::launch`]; [`Engine::cancel`] gives the environment back.
    pub async fn prepare(&self, req: DeployRequest) -> Result<Prepared, EngineError> {
        let _claim = self.starting.lock().await;
        let core = &self.core;
        let env = req.svc.env.clone();
        if let Some(lock) = core.store.lock_of(&env).await? {
            return Err(EngineError::Locked {
                env,
                by: lock.locked_by,
                reason: lock.reason,
            });
        }
        self.ensure_idle(&env).await?;
        let (live, previous) = self.live_colour(&req.svc).await?;
        if previous.as_deref() == Some(req.version.as_str()) {
            return Err(EngineError::SameVersion {
                svc: req.svc.clone(),
                version: req.version.clone(),
            });
        }
        let new = match req.strategy {
            Strategy::Rolling => live,
            _ => live.other(),
        };
        let id = core
            .store
            .create_deployment(&NewDeployment {
                env: env.clone(),
                service: req.svc.service.clone(),
                version: req.version.clone(),
                previous_version: previous.clone(),
                strategy: req.strategy,
                requested_by: req.requested_by.clone(),
                approvers: req.approvers.clone(),
                emergency: req.emergency,
                live_colour: Some(live),
                new_colour: Some(new),
                created_at: core.clock.now_ms(),
            })
            .await?;
        // A new row has no lease yet, so this take cannot lose.
        core.take_lease(id, Take::IfFree).await?;
        // The environment's route is this deployment's now: a repair another
        // replica's watcher decided before this row existed must not land.
        self.take_route(&env).await?;
        core.audit(
            &req.requested_by,
            "deploy",
            &env,
            Some(id),
            "requested",
            Some(&req.version),
        )
        .await;
        Ok(Prepared {
            id,
            req,
            live,
            new,
            previous,
        })
    }

    /// Starts a prepared deployment: saves its plan and script, marks it
    /// running and starts its task. The live colour must still be the one seen
    /// at preparation, or the deployment is cancelled.
    pub async fn launch(&self, prepared: Prepared) -> Result<(), EngineError> {
        let core = &self.core;
        let Prepared {
            id,
            req,
            live,
            new,
            previous,
        } = prepared;
        // A replica that stalled while this waited may have lost it to
        // another, which now waits for its approvals: nothing starts here.
        if !core.still_holds(id).await {
            return Err(EngineError::Changed {
                why: "another replica took this deployment over while it waited".into(),
            });
        }
        // A lock taken while it waited (for approvals, for the wait timer) wins.
        if let Some(lock) = core.store.lock_of(&req.svc.env).await? {
            let why = format!(
                "{} was locked by {} while it waited{}",
                req.svc.env,
                lock.locked_by,
                lock.reason
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            );
            self.cancel(id, &why).await?;
            return Err(EngineError::Changed { why });
        }
        let (now_live, _) = match self.live_colour(&req.svc).await {
            Ok(seen) => seen,
            Err(e) => {
                self.cancel(id, &format!("could not start: {e}")).await?;
                return Err(e);
            }
        };
        if now_live != live {
            let why = format!("the live colour changed from {live} to {now_live} while it waited");
            self.cancel(id, &why).await?;
            return Err(EngineError::Changed { why });
        }
        let steps = script(
            req.strategy,
            &req.plan,
            live,
            &req.version,
            core.cloud.compute.scale_down_after(&req.svc),
        );
        let at = core.clock.now_ms();
        // Saved as they are or not at all: an empty plan saved here would
        // be an unreadable script at the next recovery.
        let saved = serde_json::to_value(&req.plan)
            .and_then(|plan| Ok((plan, serde_json::to_value(&steps)?)));
        let (plan_json, script_json) = match saved {
            Ok(saved) => saved,
            Err(e) => {
                let why = format!("its plan could not be saved: {e}");
                self.cancel(id, &why).await?;
                return Err(EngineError::Changed { why });
            }
        };
        core.store.save_plan(id, &plan_json, &script_json).await?;
        core.store.start(id, at).await?;
        let env = req.svc.env.clone();
        core.audit(
            &req.requested_by,
            "deploy",
            &env,
            Some(id),
            "started",
            Some(&req.version),
        )
        .await;
        core.emit(
            id,
            &req.svc,
            EventKind::Started {
                version: req.version.clone(),
                previous: previous.clone(),
                strategy: req.strategy.as_str().to_string(),
                live_colour: live,
                new_colour: new,
            },
        );
        let runner = self.runner(
            id,
            req.svc,
            req.strategy,
            req.plan,
            steps,
            new,
            live,
            previous,
            at,
            Control::Run,
        );
        self.spawn(id, runner, 0);
        Ok(())
    }

    /// Gives up a prepared deployment that never started (denied, expired).
    pub async fn cancel(&self, id: i64, reason: &str) -> Result<(), EngineError> {
        let finished = self
            .core
            .store
            .finish(
                id,
                DeploymentState::Aborted,
                Some(reason),
                self.core.clock.now_ms(),
            )
            .await;
        self.core.done_with(id);
        finished?;
        Ok(())
    }

    /// The colour with all the traffic and the version it runs.
    async fn live_colour(&self, svc: &ServiceRef) -> Result<(Colour, Option<String>), EngineError> {
        let core = &self.core;
        let weights = core
            .retry
            .run("reading weights", || core.cloud.traffic.weights(svc))
            .await?;
        let live = weights.whole().ok_or_else(|| EngineError::SplitRoute {
            svc: svc.clone(),
            weights,
        })?;
        let version = core
            .retry
            .run("reading readiness", || {
                core.cloud.compute.readiness(svc, live)
            })
            .await?
            .version;
        Ok((live, version))
    }

    /// Refuses when a deployment is already under way in `env`.
    async fn ensure_idle(&self, env: &str) -> Result<(), EngineError> {
        match self.core.store.active_in(env).await? {
            Some(d) => Err(EngineError::Busy {
                env: env.to_string(),
                id: d.id,
                version: d.version,
                state: d.state.as_str().to_string(),
            }),
            None => Ok(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn runner(
        &self,
        id: i64,
        svc: ServiceRef,
        strategy: Strategy,
        plan: Plan,
        steps: Vec<Step>,
        new: Colour,
        stable: Colour,
        previous: Option<String>,
        started_ms: i64,
        control: Control,
    ) -> Runner {
        let (tx, rx) = watch::channel(control);
        self.core
            .controls
            .lock()
            .expect("controls lock")
            .insert(id, (svc.env.clone(), tx));
        let rollback_seq = steps.len();
        Runner {
            core: self.core.clone(),
            id,
            svc,
            strategy,
            plan,
            steps,
            new,
            stable,
            previous,
            control: rx,
            baseline: None,
            rollback_seq,
            started_ms,
        }
    }

    /// Runs `runner` from step `from` in its own task, which ends early,
    /// wherever it is, if the deployment's lease is lost.
    fn spawn(&self, id: i64, runner: Runner, from: usize) {
        self.spawn_task(id, runner.run(from));
    }

    fn spawn_task(&self, id: i64, work: impl std::future::Future<Output = ()> + Send + 'static) {
        let lost = self.core.lost_signal(id);
        let core = Arc::downgrade(&self.core);
        let task = tokio::spawn(async move {
            tokio::select! {
                () = work => {}
                () = lost.notified() => {
                    if let Some(core) = core.upgrade() {
                        core.forget(id);
                    }
                }
            }
        });
        self.tasks.lock().expect("tasks lock").insert(id, task);
    }

    fn send(&self, env: &str, control: Control) -> Result<i64, EngineError> {
        let controls = self.core.controls.lock().expect("controls lock");
        let (id, (_, tx)) = controls
            .iter()
            .find(|(_, (e, _))| e == env)
            .ok_or_else(|| EngineError::NothingRunning {
                env: env.to_string(),
            })?;
        tx.send_replace(control);
        Ok(*id)
    }

    /// Holds the running deployment in `env` at its current weights.
    pub async fn pause(&self, env: &str) -> Result<i64, EngineError> {
        let id = self.send(env, Control::Pause)?;
        self.core
            .store
            .set_state(id, DeploymentState::Paused, self.core.clock.now_ms())
            .await?;
        Ok(id)
    }

    pub async fn resume(&self, env: &str) -> Result<i64, EngineError> {
        let id = self.send(env, Control::Run)?;
        self.core
            .store
            .set_state(id, DeploymentState::Running, self.core.clock.now_ms())
            .await?;
        Ok(id)
    }

    /// Rolls the running deployment in `env` back now.
    pub async fn abort(&self, env: &str, by: &str) -> Result<i64, EngineError> {
        self.send(env, Control::Abort(by.to_string()))
    }

    /// Resolves when the crash test hook has fired (see
    /// [`EngineOptions::crash_after_journal_writes`]).
    pub async fn crashed(&self) {
        self.core.crashed.notified().await;
    }

    /// Waits until deployment `id`'s task has ended (finished, rolled back, or
    /// stopped by a simulated crash). For tests and the CLI.
    pub async fn wait(&self, id: i64) {
        let task = self.tasks.lock().expect("tasks lock").remove(&id);
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Waits until every deployment task this engine runs has ended.
    pub async fn wait_all(&self) {
        self.wait_all_but(&[]).await;
    }

    /// Waits until every deployment task but those of `keep` (paused ones, which
    /// end only when someone resumes them) has ended.
    pub async fn wait_all_but(&self, keep: &[i64]) {
        loop {
            let next = self
                .tasks
                .lock()
                .expect("tasks lock")
                .keys()
                .find(|id| !keep.contains(id))
                .copied();
            match next {
                Some(id) => self.wait(id).await,
                None => return,
            }
        }
    }

    /// Rolls back the last successful deployment in `env` of `service`: traffic
    /// moves at once to the standby colour, which still runs the previous version.
    pub async fn rollback(&self, svc: &ServiceRef, by: &str) -> Result<RolledBack, EngineError> {
        let _claim = self.starting.lock().await;
        let core = &self.core;
        let env = svc.env.clone();
        self.ensure_idle(&env).await?;
        let last = core
            .store
            .history(Some(&env), 50)
            .await?
            .into_iter()
            .find(|d| d.service == svc.service && d.state == DeploymentState::Succeeded)
            .ok_or_else(|| EngineError::NoStandby {
                env: env.clone(),
                why: "no successful deployment on record".into(),
            })?;
        let weights = core
            .retry
            .run("reading weights", || core.cloud.traffic.weights(svc))
            .await?;
        let live = weights.whole().ok_or(EngineError::SplitRoute {
            svc: svc.clone(),
            weights,
        })?;
        let standby = live.other();
        let to_version = self.standby_ready(svc, standby, last.id).await?;
        // Another replica's watcher sees the success until it is reverted
        // below: it must not put the route back in between.
        self.take_route(&env).await?;
        core.retry
            .set_weights(core.cloud.traffic.as_ref(), svc, Weights::all(standby))
            .await?;
        let at = core.clock.now_ms();
        let reason = format!("rolled back by {by}");
        core.store.revert_success(last.id, &reason, at).await?;
        core.audit(
            by,
            "rollback",
            &env,
            Some(last.id),
            "rolled_back",
            Some(&to_version),
        )
        .await;
        core.emit(
            last.id,
            svc,
            EventKind::WeightsChanged {
                weights: Weights::all(standby),
            },
        );
        core.emit(
            last.id,
            svc,
            EventKind::Finished {
                state: DeploymentState::RolledBack,
                duration_ms: at - last.started_at.unwrap_or(last.created_at),
                reason: Some(reason),
            },
        );
        Ok(RolledBack {
            deployment: last.id,
            from_version: last.version,
            to_version,
            colour: standby,
        })
    }

    /// The version the standby colour runs once it is ready to take traffic. A
    /// standby scaled down after its deployment is started again first (with
    /// the same revision) and awaited up to the readiness deadline of the plan
    /// `deployment` ran with: slower than a weight change, but still a rollback.
    async fn standby_ready(
        &self,
        svc: &ServiceRef,
        standby: Colour,
        deployment: i64,
    ) -> Result<String, EngineError> {
        let core = &self.core;
        let not_ready = |why: String| EngineError::NoStandby {
            env: svc.env.clone(),
            why,
        };
        let read = || async {
            core.retry
                .run("reading readiness", || {
                    core.cloud.compute.readiness(svc, standby)
                })
                .await
        };
        let ready = read().await?;
        let version = ready.version.clone().ok_or_else(|| {
            not_ready(format!(
                "the standby colour ({standby}) never ran a version"
            ))
        })?;
        if ready.is_ready() {
            return Ok(version);
        }
        if ready.desired > 0 {
            return Err(not_ready(format!(
                "the standby colour ({standby}) is not ready: {}/{} tasks healthy",
                ready.healthy, ready.desired
            )));
        }
        tracing::info!(%svc, %standby, %version, "starting the scaled-down standby for a rollback");
        core.retry
            .run("starting the standby", || {
                core.cloud.compute.deploy(svc, standby, &version)
            })
            .await?;
        let deadline = core
            .store
            .plan(deployment)
            .await?
            .and_then(|(plan, _)| serde_json::from_value::<Plan>(plan).ok())
            .map_or_else(
                || Plan::default().analysis.ready_timeout,
                |p| p.analysis.ready_timeout,
            );
        let started = tokio::time::Instant::now();
        loop {
            let r = read().await?;
            if r.is_ready() {
                return Ok(version);
            }
            if started.elapsed() > deadline {
                return Err(not_ready(format!(
                    "the standby colour ({standby}) was scaled down and did not become ready \
                     within {}: {}/{} tasks healthy",
                    humantime::format_duration(deadline),
                    r.healthy,
                    r.desired
                )));
            }
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    }

    /// Refuses deployments to `env` until unlocked.
    pub async fn lock(
        &self,
        env: &str,
        by: &str,
        reason: Option<&str>,
    ) -> Result<LockOutcome, EngineError> {
        let outcome = self
            .core
            .store
            .lock(env, by, reason, self.core.clock.now_ms())
            .await?;
        let result = if matches!(outcome, LockOutcome::Locked) {
            "locked"
        } else {
            "already_locked"
        };
        self.core.audit(by, "lock", env, None, result, reason).await;
        Ok(outcome)
    }

    /// Allows deployments to `env` again; false when it was not locked.
    pub async fn unlock(&self, env: &str, by: &str) -> Result<bool, EngineError> {
        let removed = self.core.store.unlock(env).await?.is_some();
        let result = if removed { "unlocked" } else { "not_locked" };
        self.core.audit(by, "unlock", env, None, result, None).await;
        Ok(removed)
    }

    /// Takes over what a previous process left unfinished: each deployment either
    /// resumes from its first step not done (when the policy allows and the new
    /// colour is provably healthy) or rolls back. Returns the ids it took over.
    ///
    /// On the embedded SQLite store every unfinished deployment is this
    /// process's own from before the restart, so its leases are taken at once.
    /// On a shared store only those whose lease expired are (another replica
    /// may be driving the rest); [`Engine::watch_orphans`] takes the others
    /// if their owner stops renewing.
    pub async fn recover(&self) -> Result<Vec<i64>, EngineError> {
        let take = match self.core.store.backend() {
            Backend::Sqlite => Take::Always,
            Backend::Postgres => Take::IfFree,
        };
        let mut taken = Vec::new();
        for d in self.core.store.unfinished().await? {
            if self.core.take_lease(d.id, take).await?.is_none() {
                continue;
            }
            self.recover_one(&d, None).await?;
            taken.push(d.id);
        }
        Ok(taken)
    }

    /// One look for deployments whose replica stopped renewing their leases
    /// (killed, stopped, cut off): takes each one it can and recovers it as
    /// after a restart, saying whose it was. Returns the ids taken over.
    pub async fn take_over_orphans(&self) -> Result<Vec<i64>, EngineError> {
        let core = &self.core;
        let ttl = core.lease_ttl.as_millis() as i64;
        let mut taken = Vec::new();
        for (id, owner) in core.store.orphaned(core.clock.now_ms(), ttl).await? {
            if core.tenures.lock().expect("tenures lock").contains_key(&id) {
                continue;
            }
            let Some(d) = core.store.deployment(id).await? else {
                continue;
            };
            if core.take_lease(id, Take::IfFree).await?.is_none() {
                continue;
            }
            let from = owner.unwrap_or_else(|| "a replica that stopped".into());
            tracing::warn!(deployment = id, from = %from, "taking over a deployment");
            self.recover_one(&d, Some(&from)).await?;
            taken.push(id);
        }
        Ok(taken)
    }

    /// Says this replica is alive and looks for orphaned deployments every
    /// third of a lease, for as long as the engine lives: what lets a
    /// surviving replica finish (or roll back) what a dead one was doing, and
    /// take over its open questions. Only useful on a shared store.
    pub fn watch_orphans(self: &Arc<Self>) {
        let engine: Weak<Engine> = Arc::downgrade(self);
        let every = self.core.lease_ttl / 3;
        tokio::spawn(async move {
            loop {
                let Some(alive) = engine.upgrade() else {
                    return;
                };
                let core = &alive.core;
                if let Err(e) = core
                    .store
                    .heartbeat(&core.replica, core.clock.now_ms())
                    .await
                {
                    tracing::warn!(error = %e, "could not say this replica is alive");
                }
                drop(alive);
                tokio::time::sleep(every).await;
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                if let Err(e) = engine.take_over_orphans().await {
                    tracing::warn!(error = %e, "looking for orphaned deployments failed");
                }
            }
        });
    }

    /// Whether `replica` is alive: this one is; another one is while it says
    /// so within a lease ([`Engine::watch_orphans`] says so for this one on
    /// a shared store). On the embedded store there is no other, so a name
    /// that is not this one's is a previous life of this process.
    pub async fn is_alive(&self, replica: &str) -> bool {
        if replica == self.core.replica {
            return true;
        }
        let lease = self.core.lease_ttl.as_millis() as i64;
        match self.core.store.replica_seen(replica).await {
            Ok(Some(seen)) => seen > self.core.clock.now_ms() - lease,
            Ok(None) => false,
            // Unknown: assume it lives, so that nothing is done twice.
            Err(_) => true,
        }
    }

    /// A clean stop (SIGTERM): stops every deployment task here and gives
    /// their leases back, so another replica takes them over at its next look
    /// instead of after the expiry. Returns how many leases were released.
    pub async fn hand_over(&self) -> usize {
        let tasks: Vec<JoinHandle<()>> = self
            .tasks
            .lock()
            .expect("tasks lock")
            .drain()
            .map(|(_, t)| t)
            .collect();
        for task in &tasks {
            task.abort();
        }
        self.core.release_all().await
    }

    async fn recover_one(
        &self,
        d: &Deployment,
        taken_from: Option<&str>,
    ) -> Result<(), EngineError> {
        let core = &self.core;
        let svc = ServiceRef::new(&d.env, &d.service);
        // A deployment without a saved plan never took a step (it waited for an
        // approval or a timer when the process stopped): give its environment back.
        // A saved plan the store cannot parse, or one that is not a plan and
        // a script, is recorded as such: the deployment then fails and rolls
        // back (below) rather than running an empty script that never ends.
        let saved = match core.store.plan(d.id).await {
            Ok(saved) => saved.map(|(plan, steps)| read_saved(plan, steps)),
            Err(e @ StoreError::Corrupt { .. }) => Some(Err(format!(
                "its saved plan and script cannot be read ({e})"
            ))),
            Err(e) => return Err(e.into()),
        };
        let Some(saved) = saved else {
            // Still waiting for its approvals, taken over from a replica that
            // is gone: keep the environment and the lease, and let the
            // conversation take the request over (it hears this event).
            if taken_from.is_some()
                && core
                    .store
                    .approval_request(d.id, core.clock.now_ms())
                    .await?
                    .is_some()
            {
                core.emit(
                    d.id,
                    &svc,
                    EventKind::Recovered {
                        resumed: true,
                        detail: "still waiting for its approvals".into(),
                        from: taken_from.map(str::to_owned),
                    },
                );
                return Ok(());
            }
            let why = match taken_from {
                None => "the agent restarted before this deployment started; request it again",
                Some(_) => {
                    "the replica holding this request stopped before it started; request it again"
                }
            };
            core.finish(
                d.id,
                DeploymentState::Aborted,
                Some(why),
                core.clock.now_ms(),
            )
            .await;
            core.done_with(d.id);
            core.emit(
                d.id,
                &svc,
                EventKind::Finished {
                    state: DeploymentState::Aborted,
                    duration_ms: 0,
                    reason: Some(why.to_string()),
                },
            );
            return Ok(());
        };
        let (plan, steps, unreadable) = match saved {
            Ok((plan, steps)) => (plan, steps, None),
            Err(why) => {
                tracing::error!(deployment = d.id, %why, "the saved script cannot be read");
                (Plan::default(), Vec::new(), Some(why))
            }
        };
        let journal = core.store.journal(d.id).await?;
        let next = (0..steps.len())
            .find(|seq| {
                !journal
                    .iter()
                    .any(|j| j.seq as usize == *seq && j.is_done())
            })
            .unwrap_or(steps.len());
        let rollback_begun = journal.iter().any(|j| j.seq as usize >= steps.len());
        let rollback_seq = journal
            .iter()
            .map(|j| j.seq as usize + 1)
            .max()
            .unwrap_or(0)
            .max(steps.len());
        let strategy = d.strategy;
        let new = d.new_colour.unwrap_or(Colour::Green);
        let stable = if strategy == Strategy::Rolling {
            new
        } else {
            new.other()
        };

        let proof = if let Some(why) = &unreadable {
            Err(why.clone())
        } else if rollback_begun || self.recovery == Recovery::Rollback {
            Err("the recovery policy is to roll back".to_string())
        } else {
            self.prove_healthy(&svc, new, &plan).await
        };
        let control = if d.state == DeploymentState::Paused {
            Control::Pause
        } else {
            Control::Run
        };
        let mut runner = self.runner(
            d.id,
            svc.clone(),
            strategy,
            plan,
            steps,
            new,
            stable,
            d.previous_version.clone(),
            d.started_at.unwrap_or(d.created_at),
            control,
        );
        runner.rollback_seq = rollback_seq;
        match proof {
            Ok(detail) => {
                core.audit(
                    "switchyard",
                    "recover",
                    &d.env,
                    Some(d.id),
                    "resumed",
                    Some(&detail),
                )
                .await;
                core.emit(
                    d.id,
                    &svc,
                    EventKind::Recovered {
                        resumed: true,
                        detail,
                        from: taken_from.map(str::to_owned),
                    },
                );
                self.spawn(d.id, runner, next);
            }
            Err(why) => {
                core.audit(
                    "switchyard",
                    "recover",
                    &d.env,
                    Some(d.id),
                    "rolling_back",
                    Some(&why),
                )
                .await;
                core.emit(
                    d.id,
                    &svc,
                    EventKind::Recovered {
                        resumed: false,
                        detail: why.clone(),
                        from: taken_from.map(str::to_owned),
                    },
                );
                let restarted = if taken_from.is_some() {
                    "another replica took over mid-deployment and rolled back"
                } else {
                    "the engine restarted mid-deployment and rolled back"
                };
                // Nobody can say what an unreadable script was doing: a
                // failure, not a judgement of the new version.
                let state = if unreadable.is_some() {
                    DeploymentState::Failed
                } else {
                    DeploymentState::RolledBack
                };
                self.spawn_task(d.id, async move {
                    let reason = format!("{restarted}: {why}");
                    runner.rollback(state, reason, None).await;
                    runner.core.forget(runner.id);
                    runner.core.done_with(runner.id);
                });
            }
        }
        Ok(())
    }

    /// Whether the new colour can be vouched for after a restart: all tasks
    /// ready, and, if it carries traffic, a judgement of its signals passes now.
    async fn prove_healthy(
        &self,
        svc: &ServiceRef,
        new: Colour,
        plan: &Plan,
    ) -> Result<String, String> {
        let core = &self.core;
        let r = core
            .retry
            .run("reading readiness", || {
                core.cloud.compute.readiness(svc, new)
            })
            .await
            .map_err(|e| e.to_string())?;
        if !r.is_ready() {
            return Err(format!(
                "{new} has {}/{} healthy tasks",
                r.healthy, r.desired
            ));
        }
        let weights = core
            .retry
            .run("reading weights", || core.cloud.traffic.weights(svc))
            .await
            .map_err(|e| e.to_string())?;
        if weights.of(new) == 0 {
            return Ok(format!("{new} is ready and carries no traffic yet"));
        }
        let sample = core
            .retry
            .run("reading signals", || {
                core.cloud.signals.sample(svc, new, plan.analysis.window())
            })
            .await
            .map_err(|e| e.to_string())?;
        match super::analysis::judge(&sample, None, &plan.analysis) {
            super::analysis::Verdict::Pass { .. } => {
                Ok(format!("{new} is ready and healthy at {weights}"))
            }
            super::analysis::Verdict::Fail { breach, .. } => Err(breach.to_string()),
            super::analysis::Verdict::Inconclusive { .. } => {
                Err("too few requests to judge the new colour".into())
            }
        }
    }
}

/// The plan and script saved for a deployment, or why they cannot be used:
/// not a plan, not a list of steps, or no steps at all (every launched
/// script has some).
fn read_saved(
    plan: serde_json::Value,
    steps: serde_json::Value,
) -> Result<(Plan, Vec<Step>), String> {
    let plan: Plan =
        serde_json::from_value(plan).map_err(|e| format!("its saved plan cannot be read ({e})"))?;
    let steps: Vec<Step> = serde_json::from_value(steps)
        .map_err(|e| format!("its saved script cannot be read ({e})"))?;
    if steps.is_empty() {
        return Err("its saved script has no steps".into());
    }
    Ok((plan, steps))
}
