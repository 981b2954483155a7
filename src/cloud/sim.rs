//! The simulated fleet: an in-process implementation of [`Compute`], [`Traffic`]
//! and [`Signals`] for the demo and the engine's tests. It is a pure function of
//! the calls it receives and the virtual time they arrive at (tokio's clock, read
//! through [`Clock`]), so tests on the paused clock repeat exactly; chance
//! (throttling, injected failures, latency jitter) comes from a seeded generator.
//! Faults injected per environment ([`Fault`]) make deploys fail to become
//! healthy, versions return errors or slow down, and the control plane throttle
//! or lag. Opened on a file ([`Sim::open`]) it writes its whole state after every
//! call, so a killed demo resumes with the fleet as it was.
//!
//! Layout: `state` holds the data and the operations on it; `fleet` the tasks and
//! their readiness, `route` the weights, `signals` the traffic model, `faults`
//! the injected trouble, `calls` the call counts, `persist` the file, `rng` the
//! chance. This file is the handle: options, locking, latency and persistence.

mod calls;
mod faults;
mod fleet;
mod persist;
mod ports;
mod rng;
mod route;
mod signals;
mod state;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;

pub use calls::CallCounts;
pub use faults::Fault;

use calls::Op;
use fleet::{Service, Timing};
use signals::Model;
use state::{Ctx, State};

use crate::clock::Clock;
use crate::cloud::{Cloud, CloudError, Readiness, ServiceRef, Weights};

/// How the simulated fleet behaves when nothing is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// From deploy (or scale-up) to tasks running.
    pub startup: Duration,
    /// From running to passing health checks.
    pub health_delay: Duration,
    /// Requests per second each service receives, split between colours by weight.
    pub requests_per_sec: f64,
    /// p99 latency of a healthy colour, in milliseconds (before a ±2 % jitter).
    pub base_latency_ms: f64,
    /// Seeds throttling, injected failures and latency jitter. A reopened fleet
    /// continues its persisted sequence instead.
    pub seed: u64,
    /// Virtual time every port call takes.
    pub api_latency: Duration,
    /// Scale the standby colour to zero this long after a deployment (as the
    /// AWS target option of the same name); `None` keeps it running.
    pub scale_down_after: Option<Duration>,
}

impl SimOptions {
    /// The options the `[simulator]` section of the configuration sets.
    pub fn configured(config: &crate::config::Simulator) -> SimOptions {
        SimOptions {
            startup: config.startup,
            health_delay: config.health_delay,
            requests_per_sec: config.requests_per_sec,
            scale_down_after: config.scale_down_after,
            ..SimOptions::default()
        }
    }
}

impl Default for SimOptions {
    fn default() -> SimOptions {
        SimOptions {
            startup: Duration::from_secs(5),
            health_delay: Duration::from_secs(5),
            requests_per_sec: 50.0,
            base_latency_ms: 45.0,
            seed: 0,
            api_latency: Duration::ZERO,
            scale_down_after: None,
        }
    }
}

/// Why the simulator could not be opened, saved or told something.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("simulator state file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("simulator state file {path} is not valid: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "simulator state file {path} has format {found}, this build reads format {}",
        state::FORMAT
    )]
    Format { path: PathBuf, found: u32 },
    #[error("invalid fault: {0}")]
    InvalidFault(String),
    #[error("invalid service: {0}")]
    InvalidService(String),
}

/// What a service looks like now, for tests and `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSnapshot {
    pub svc: ServiceRef,
    /// Tasks a deploy starts.
    pub tasks: u32,
    /// The split the route applies now.
    pub weights: Weights,
    /// A split asked for but not applied yet (the `weights_lag` fault).
    pub pending_weights: Option<Weights>,
    pub blue: Readiness,
    pub green: Readiness,
}

/// A handle on one simulated fleet; clones share it.
#[derive(Debug, Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clock: Clock,
    options: SimOptions,
    /// Where every change is written, if the fleet is persisted.
    path: Option<PathBuf>,
    state: Mutex<State>,
}

impl Sim {
    /// The options the fleet was made with.
    pub fn options(&self) -> &SimOptions {
        &self.inner.options
    }

    /// An empty fleet kept in memory only.
    pub fn new(clock: Clock, options: SimOptions) -> Sim {
        let state = State::new(options.seed);
        Sim::with(clock, options, None, state)
    }

    /// The fleet persisted at `path`, or an empty one if there is no file yet
    /// (the file is created at once, so an unwritable path fails here and not on
    /// the first deploy). One `Sim` per file: two would overwrite each other.
    pub fn open(path: &Path, clock: Clock, options: SimOptions) -> Result<Sim, SimError> {
        let state = match persist::load(path)? {
            Some(state) => state,
            None => {
                let state = State::new(options.seed);
                persist::save(path, &state)?;
                state
            }
        };
        Ok(Sim::with(clock, options, Some(path.to_owned()), state))
    }

    fn with(clock: Clock, options: SimOptions, path: Option<PathBuf>, state: State) -> Sim {
        Sim {
            inner: Arc::new(Inner {
                clock,
                options,
                path,
                state: Mutex::new(state),
            }),
        }
    }

    /// The three ports, backed by this fleet.
    pub fn cloud(&self) -> Cloud {
        Cloud::from(Arc::new(self.clone()))
    }

    /// Adds a service whose blue colour already runs `live_version`, ready and
    /// healthy, with green empty and all traffic on blue. A service that exists
    /// already (a reopened fleet) is left exactly as it is, so start-up code can
    /// declare its services every time without undoing what happened since.
    pub fn add_service(
        &self,
        svc: &ServiceRef,
        tasks: u32,
        live_version: &str,
    ) -> Result<(), SimError> {
        if svc.env.is_empty() || svc.service.is_empty() {
            return Err(SimError::InvalidService(
                "environment and service need names".into(),
            ));
        }
        if tasks == 0 {
            return Err(SimError::InvalidService(format!(
                "{svc} needs at least one task"
            )));
        }
        if live_version.trim().is_empty() {
            return Err(SimError::InvalidService(format!(
                "{svc} needs a live version"
            )));
        }
        self.commit(|state, ctx| {
            state
                .services
                .entry(svc.env.clone())
                .or_default()
                .entry(svc.service.clone())
                .or_insert_with(|| Service::new(tasks, live_version, ctx.now, ctx.timing));
        })
    }

    /// Every service, ordered by environment and name.
    pub fn services(&self) -> Vec<ServiceRef> {
        let state = self.lock();
        state
            .services
            .iter()
            .flat_map(|(env, services)| services.keys().map(move |name| ServiceRef::new(env, name)))
            .collect()
    }

    /// Replaces the fault on `env` from now on. Tasks of that environment still
    /// starting or not yet healthy catch its `never_healthy` / `crash_loop`.
    pub fn set_fault(&self, env: &str, fault: Fault) -> Result<(), SimError> {
        fault.validate()?;
        self.commit(|state, ctx| {
            if let Some(services) = state.services.get_mut(env) {
                for service in services.values_mut() {
                    service.blue.catch_fault(&fault, ctx.now, ctx.timing);
                    service.green.catch_fault(&fault, ctx.now, ctx.timing);
                }
            }
            state
                .faults
                .entry(env.to_owned())
                .or_default()
                .set(fault, ctx.now);
        })
    }

    /// Ends the fault on `env`. Tasks it already broke stay broken until the next
    /// deploy replaces them.
    pub fn clear_faults(&self, env: &str) -> Result<(), SimError> {
        self.commit(|state, ctx| {
            if let Some(history) = state.faults.get_mut(env) {
                history.clear(ctx.now);
            }
        })
    }

    /// The fault in force on `env`, if any.
    pub fn fault(&self, env: &str) -> Option<Fault> {
        self.lock().fault(env).cloned()
    }

    /// The service's weights and both colours' readiness now. Not a port call: it
    /// is not counted, throttled or delayed, and does not advance a lagging
    /// weights change.
    pub fn snapshot(&self, svc: &ServiceRef) -> Option<ServiceSnapshot> {
        let state = self.lock();
        let ctx = self.ctx();
        let service = state.service(svc).ok()?;
        Some(ServiceSnapshot {
            svc: svc.clone(),
            tasks: service.tasks,
            weights: service.route.current(),
            pending_weights: service.route.pending.map(|pending| pending.weights),
            blue: service.blue.readiness(ctx.now, ctx.timing),
            green: service.green.readiness(ctx.now, ctx.timing),
        })
    }

    /// How many port calls were answered, by operation and by failure.
    pub fn calls(&self) -> CallCounts {
        self.lock().calls
    }

    /// One port call: waits the configured latency (virtual time, without the
    /// lock), lets the environment's fault throttle or fail it, runs `op` on the
    /// state and counts the outcome, then saves. A state that cannot be saved is
    /// a `Retryable` error and changes nothing, so memory never runs ahead of
    /// the file.
    async fn call<T>(
        &self,
        op: Op,
        svc: &ServiceRef,
        f: impl FnOnce(&mut State, &Ctx) -> Result<T, CloudError> + Send,
    ) -> Result<T, CloudError> {
        let extra = self
            .lock()
            .fault(&svc.env)
            .and_then(|fault| fault.api_latency);
        let delay = self
            .inner
            .options
            .api_latency
            .saturating_add(extra.unwrap_or_default());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let answer = self.commit(|state, ctx| {
            if let Some(err) = state.inject(&svc.env) {
                return Err(err);
            }
            let result = f(state, ctx);
            state.calls.record(op, &result);
            result
        });
        match answer {
            Ok(result) => result,
            Err(err) => {
                tracing::warn!(error = %err, "sim: could not save the fleet");
                Err(CloudError::Retryable(
                    "the simulator could not save its state".into(),
                ))
            }
        }
    }

    /// Runs `f` on the state and, for a persisted fleet, writes the result before
    /// making it visible. The lock is held throughout (including the small,
    /// blocking file write) so saves happen in the order the changes did.
    fn commit<T>(&self, f: impl FnOnce(&mut State, &Ctx) -> T) -> Result<T, SimError> {
        let mut state = self.lock();
        // Read the time under the lock, so changes are stamped in the order they
        // are applied and every history stays sorted.
        let ctx = self.ctx();
        let Some(path) = &self.inner.path else {
            let out = f(&mut state, &ctx);
            state.prune(ctx.now);
            return Ok(out);
        };
        let mut next = state.clone();
        let out = f(&mut next, &ctx);
        next.prune(ctx.now);
        persist::save(path, &next)?;
        *state = next;
        Ok(out)
    }

    fn ctx(&self) -> Ctx {
        let options = &self.inner.options;
        Ctx {
            now: self.inner.clock.now_ms(),
            timing: Timing {
                startup_ms: duration_ms(options.startup),
                health_ms: duration_ms(options.health_delay),
            },
            model: Model {
                requests_per_sec: options.requests_per_sec,
                base_latency_ms: options.base_latency_ms,
                seed: options.seed,
            },
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().expect(
            "the simulator's lock is poisoned only if a state update panicked, which is a bug",
        )
    }
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
