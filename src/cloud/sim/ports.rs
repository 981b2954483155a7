//! The three ports on the simulator: each is one counted, possibly delayed or
//! injected call (`Sim::call`) around the matching operation on the state.

use std::time::Duration;

use async_trait::async_trait;

use super::Sim;
use super::calls::Op;
use crate::cloud::{
    CloudError, Colour, Compute, Readiness, Sample, ServiceRef, Signals, Traffic, Weights,
};

#[async_trait]
impl Compute for Sim {
    async fn deploy(
        &self,
        svc: &ServiceRef,
        colour: Colour,
        version: &str,
    ) -> Result<(), CloudError> {
        self.call(Op::Deploy, svc, |state, ctx| {
            state.deploy(svc, colour, version, ctx)
        })
        .await
    }

    async fn readiness(&self, svc: &ServiceRef, colour: Colour) -> Result<Readiness, CloudError> {
        self.call(Op::Readiness, svc, |state, ctx| {
            state.readiness(svc, colour, ctx)
        })
        .await
    }

    async fn scale(&self, svc: &ServiceRef, colour: Colour, tasks: u32) -> Result<(), CloudError> {
        self.call(Op::Scale, svc, |state, ctx| {
            state.scale(svc, colour, tasks, ctx)
        })
        .await
    }

    fn scale_down_after(&self, _svc: &ServiceRef) -> Option<std::time::Duration> {
        self.options().scale_down_after
    }
}

#[async_trait]
impl Traffic for Sim {
    async fn set_weights(&self, svc: &ServiceRef, weights: Weights) -> Result<(), CloudError> {
        self.call(Op::SetWeights, svc, |state, ctx| {
            state.set_weights(svc, weights, ctx)
        })
        .await
    }

    async fn weights(&self, svc: &ServiceRef) -> Result<Weights, CloudError> {
        self.call(Op::Weights, svc, |state, ctx| state.weights(svc, ctx))
            .await
    }
}

#[async_trait]
impl Signals for Sim {
    async fn sample(
        &self,
        svc: &ServiceRef,
        colour: Colour,
        window: Duration,
    ) -> Result<Sample, CloudError> {
        self.call(Op::Sample, svc, |state, ctx| {
            state.sample(svc, colour, window, ctx)
        })
        .await
    }
}
