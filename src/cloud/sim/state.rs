//! Everything the simulator knows, in one serialisable value, and the port
//! operations as plain synchronous functions of it and the current time. The
//! async handle in `sim.rs` only adds latency, locking and persistence around
//! these; keeping them synchronous is what guarantees the lock is never held
//! across an `.await`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::calls::CallCounts;
use super::faults::{Fault, FaultHistory};
use super::fleet::{Service, Timing};
use super::rng::SplitMix64;
use super::signals::{self, Model};
use crate::cloud::{CloudError, Colour, Readiness, Sample, ServiceRef, Weights};

/// The version of the persisted layout; a file with another one is refused
/// rather than misread.
pub const FORMAT: u32 = 1;

/// How far back signals can look, in milliseconds. Histories older than this are
/// pruned so a long-running demo's state file stays small; longer windows are
/// answered for their most recent day.
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// What a call needs besides the state: the time and the configured model.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub now: i64,
    pub timing: Timing,
    pub model: Model,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub format: u32,
    /// env -> service name -> service.
    pub services: BTreeMap<String, BTreeMap<String, Service>>,
    /// env -> its faults over time.
    pub faults: BTreeMap<String, FaultHistory>,
    /// Decides throttling and injected failures; persisted so a reopened
    /// simulator continues the sequence instead of replaying it.
    pub rng: SplitMix64,
    pub calls: CallCounts,
}

impl State {
    pub fn new(seed: u64) -> State {
        State {
            format: FORMAT,
            services: BTreeMap::new(),
            faults: BTreeMap::new(),
            rng: SplitMix64::new(seed),
            calls: CallCounts::default(),
        }
    }

    pub fn service(&self, svc: &ServiceRef) -> Result<&Service, CloudError> {
        self.services
            .get(&svc.env)
            .and_then(|env| env.get(&svc.service))
            .ok_or_else(|| unknown(svc))
    }

    fn service_mut(&mut self, svc: &ServiceRef) -> Result<&mut Service, CloudError> {
        self.services
            .get_mut(&svc.env)
            .and_then(|env| env.get_mut(&svc.service))
            .ok_or_else(|| unknown(svc))
    }

    /// The fault in force on `env` now.
    pub fn fault(&self, env: &str) -> Option<&Fault> {
        self.faults.get(env).and_then(FaultHistory::current)
    }

    /// Decides whether this call is throttled or fails by injection. Draws one
    /// number for every call, faulted or not, so the n-th call of a run always
    /// gets the n-th number: the outcome depends on the seed and the call's
    /// position, not on which faults happened to be set earlier.
    pub fn inject(&mut self, env: &str) -> Option<CloudError> {
        let roll = self.rng.next_percent();
        let fault = self.fault(env)?;
        if roll < fault.throttle_percent {
            self.calls.throttled = self.calls.throttled.saturating_add(1);
            Some(CloudError::Retryable("throttled".into()))
        } else if roll < fault.throttle_percent + fault.fail_percent {
            self.calls.failed = self.calls.failed.saturating_add(1);
            Some(CloudError::Permanent(format!("injected failure on {env}")))
        } else {
            None
        }
    }

    pub fn deploy(
        &mut self,
        svc: &ServiceRef,
        colour: Colour,
        version: &str,
        ctx: &Ctx,
    ) -> Result<(), CloudError> {
        if version.trim().is_empty() {
            return Err(CloudError::Permanent("a deploy needs a version".into()));
        }
        let fault = self.fault(&svc.env).cloned();
        let service = self.service_mut(svc)?;
        let tasks = service.tasks;
        service
            .colour_mut(colour)
            .deploy(version, tasks, ctx.now, fault.as_ref());
        tracing::debug!(%svc, %colour, version, "sim: deploy");
        Ok(())
    }

    pub fn readiness(
        &self,
        svc: &ServiceRef,
        colour: Colour,
        ctx: &Ctx,
    ) -> Result<Readiness, CloudError> {
        Ok(self
            .service(svc)?
            .colour(colour)
            .readiness(ctx.now, ctx.timing))
    }

    pub fn scale(
        &mut self,
        svc: &ServiceRef,
        colour: Colour,
        tasks: u32,
        ctx: &Ctx,
    ) -> Result<(), CloudError> {
        let fault = self.fault(&svc.env).cloned();
        let state = self.service_mut(svc)?.colour_mut(colour);
        if tasks > 0 && state.version.is_none() {
            // Like ECS without a task definition: there is nothing to start.
            return Err(CloudError::Permanent(format!(
                "{svc} {colour} runs no version yet; deploy one before scaling it up"
            )));
        }
        state.scale(tasks, ctx.now, fault.as_ref());
        tracing::debug!(%svc, %colour, tasks, "sim: scale");
        Ok(())
    }

    pub fn set_weights(
        &mut self,
        svc: &ServiceRef,
        weights: Weights,
        ctx: &Ctx,
    ) -> Result<(), CloudError> {
        if !weights.is_valid() {
            return Err(CloudError::Permanent(format!(
                "weights must add up to 100, not {} + {}",
                weights.blue, weights.green
            )));
        }
        let lag = self.fault(&svc.env).map_or(0, |fault| fault.weights_lag);
        self.service_mut(svc)?.route.request(weights, lag, ctx.now);
        tracing::debug!(%svc, %weights, lag, "sim: set weights");
        Ok(())
    }

    pub fn weights(&mut self, svc: &ServiceRef, ctx: &Ctx) -> Result<Weights, CloudError> {
        Ok(self.service_mut(svc)?.route.read(ctx.now))
    }

    pub fn sample(
        &self,
        svc: &ServiceRef,
        colour: Colour,
        window: Duration,
        ctx: &Ctx,
    ) -> Result<Sample, CloudError> {
        let service = self.service(svc)?;
        let window_ms = i64::try_from(window.as_millis())
            .unwrap_or(i64::MAX)
            .min(RETENTION_MS);
        let start = ctx.now.saturating_sub(window_ms);
        let spans = self
            .faults
            .get(&svc.env)
            .map_or(&[][..], |history| &history.spans[..]);
        Ok(signals::sample(
            service,
            svc,
            colour,
            spans,
            (start, ctx.now),
            ctx.model,
        ))
    }

    /// Forgets history no window can reach any more.
    pub fn prune(&mut self, now: i64) {
        let cutoff = now.saturating_sub(RETENTION_MS);
        for history in self.faults.values_mut() {
            history.prune(cutoff);
        }
        for service in self.services.values_mut().flat_map(BTreeMap::values_mut) {
            service.route.prune(cutoff);
        }
    }
}

fn unknown(svc: &ServiceRef) -> CloudError {
    CloudError::Permanent(format!("there is no service {svc}"))
}
