//! Calling the cloud when the cloud pushes back: retryable errors (throttling,
//! timeouts) are retried with doubling backoff until a deadline; a permanent
//! error, or the deadline, ends the step and the engine rolls back.
//!
//! Weight changes get one more rule: the route is read back until it shows the
//! weights asked for, because a change can be accepted and still not applied
//! (Argo Rollouts added the same verification after an outage, argoproj/argo-rollouts#3333).

use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, sleep};

use crate::cloud::{CloudError, ServiceRef, Traffic, Weights};

/// The longest single wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub deadline: Duration,
    pub backoff: Duration,
}

impl Retry {
    /// Runs `op` until it succeeds, fails permanently, or `deadline` passes.
    pub async fn run<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CloudError>>,
    {
        let give_up = Instant::now() + self.deadline;
        let mut wait = self.backoff;
        loop {
            let result = op().await;
            if result.is_err() {
                crate::telemetry::errors::count(&crate::telemetry::errors::CLOUD_API);
            }
            match result {
                Ok(v) => return Ok(v),
                Err(CloudError::Retryable(why)) if Instant::now() + wait < give_up => {
                    tracing::debug!(what, %why, ?wait, "retrying");
                    sleep(wait).await;
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
                Err(CloudError::Retryable(why)) => {
                    return Err(CloudError::Permanent(format!(
                        "{what}: still failing after {:?}: {why}",
                        self.deadline
                    )));
                }
                Err(e) => return Err(CloudError::Permanent(format!("{what}: {e}"))),
            }
        }
    }

    /// Sets `weights` on the route and reads them back until the route shows
    /// them, re-sending the change when a read shows something else.
    pub async fn set_weights(
        &self,
        traffic: &dyn Traffic,
        svc: &ServiceRef,
        weights: Weights,
    ) -> Result<(), CloudError> {
        let give_up = Instant::now() + self.deadline;
        let mut wait = self.backoff;
        loop {
            self.run("setting weights", || traffic.set_weights(svc, weights))
                .await?;
            // A few reads per write: a route that lags shows the change soon.
            for _ in 0..3 {
                let seen = self.run("reading weights", || traffic.weights(svc)).await?;
                if seen == weights {
                    return Ok(());
                }
                if Instant::now() + wait >= give_up {
                    return Err(CloudError::Permanent(format!(
                        "the route shows {seen}, not {weights}, after {:?}",
                        self.deadline
                    )));
                }
                sleep(wait).await;
                wait = (wait * 2).min(MAX_BACKOFF);
            }
        }
    }
}
