//! The ports the rollout engine drives, and nothing more: [`Compute`] runs a
//! version on one colour of a service and reports its readiness, [`Traffic`] sets
//! and reads the route's weights, [`Signals`] reports one colour's requests, errors
//! and latency over a window. Adapters implement them: [`sim`] in-process for the
//! demo and the tests, AWS (ECS, ALB, CloudWatch) in a later stage.
//!
//! The ports speak the engine's language (environment, service, colour, percent),
//! never an SDK's. Their errors say only what the engine must decide on: whether
//! trying again could help ([`CloudError::Retryable`]: throttling, timeouts) or not
//! ([`CloudError::Permanent`]).

pub mod aws;
pub mod sim;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The two sides of a blue/green service. Which one is live is a matter of the
/// route's weights, not of the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    Blue,
    Green,
}

impl Colour {
    pub fn other(self) -> Colour {
        match self {
            Colour::Blue => Colour::Green,
            Colour::Green => Colour::Blue,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Blue => "blue",
            Colour::Green => "green",
        }
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One service in one environment: what a deployment changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServiceRef {
    pub env: String,
    pub service: String,
}

impl ServiceRef {
    pub fn new(env: impl Into<String>, service: impl Into<String>) -> ServiceRef {
        ServiceRef {
            env: env.into(),
            service: service.into(),
        }
    }
}

impl fmt::Display for ServiceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.env, self.service)
    }
}

/// How the route splits requests, in percent. Invariant: `blue + green == 100`
/// (the constructors keep it; a route read from the world that breaks it is an
/// adapter error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Weights {
    pub blue: u8,
    pub green: u8,
}

impl Weights {
    /// All traffic to `colour`.
    pub fn all(colour: Colour) -> Weights {
        Weights::to(colour, 100)
    }

    /// `percent` to `colour`, the rest to the other one.
    pub fn to(colour: Colour, percent: u8) -> Weights {
        let p = percent.min(100);
        match colour {
            Colour::Blue => Weights {
                blue: p,
                green: 100 - p,
            },
            Colour::Green => Weights {
                blue: 100 - p,
                green: p,
            },
        }
    }

    pub fn of(self, colour: Colour) -> u8 {
        match colour {
            Colour::Blue => self.blue,
            Colour::Green => self.green,
        }
    }

    /// The colour with all the traffic, if one has it.
    pub fn whole(self) -> Option<Colour> {
        match (self.blue, self.green) {
            (100, 0) => Some(Colour::Blue),
            (0, 100) => Some(Colour::Green),
            _ => None,
        }
    }

    /// The colour with most of the traffic (blue on a tie).
    pub fn live(self) -> Colour {
        if self.green > self.blue {
            Colour::Green
        } else {
            Colour::Blue
        }
    }

    pub fn is_valid(self) -> bool {
        u16::from(self.blue) + u16::from(self.green) == 100
    }
}

impl fmt::Display for Weights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blue {}% | green {}%", self.blue, self.green)
    }
}

/// What one colour runs and how its tasks are doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// The version the colour's tasks run; `None` when nothing was ever deployed.
    pub version: Option<String>,
    pub desired: u32,
    pub running: u32,
    /// Tasks passing the load balancer's health check.
    pub healthy: u32,
    /// Task restarts since the last deploy to this colour (crash loops).
    pub restarts: u32,
}

impl Readiness {
    /// Every desired task runs and passes its health check.
    pub fn is_ready(&self) -> bool {
        self.desired > 0 && self.running >= self.desired && self.healthy >= self.desired
    }
}

/// One colour's traffic over a window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub requests: u64,
    /// Requests answered with a 5xx.
    pub errors: u64,
    /// 99th percentile latency in milliseconds; `None` without requests.
    pub p99_ms: Option<f64>,
}

impl Sample {
    /// Errors as a percentage of requests; `None` without requests.
    pub fn error_rate_percent(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 * 100.0 / self.requests as f64)
    }
}

/// A port call that did not work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    /// Trying again later may work: throttling, timeouts, a dropped connection.
    #[error("{0} (temporary)")]
    Retryable(String),
    /// Trying again will not help: a missing service, a refused request.
    #[error("{0}")]
    Permanent(String),
}

impl CloudError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, CloudError::Retryable(_))
    }
}

/// Runs versions on colours and reports how their tasks are doing.
#[async_trait]
pub trait Compute: Send + Sync {
    /// Replaces what `colour` of the service runs with `version`, at the service's
    /// configured task count. Returns once the change is accepted, not when the
    /// tasks are ready: poll [`Compute::readiness`] for that.
    async fn deploy(
        &self,
        svc: &ServiceRef,
        colour: Colour,
        version: &str,
    ) -> Result<(), CloudError>;

    /// What `colour` runs and how many of its tasks are running and healthy.
    async fn readiness(&self, svc: &ServiceRef, colour: Colour) -> Result<Readiness, CloudError>;

    /// Sets the task count of `colour` (scaling a standby down or back up).
    async fn scale(&self, svc: &ServiceRef, colour: Colour, tasks: u32) -> Result<(), CloudError>;

    /// How long after a deployment the standby colour may be scaled to zero
    /// tasks; `None` (the default) keeps it running, so a rollback is one
    /// weight change.
    fn scale_down_after(&self, _svc: &ServiceRef) -> Option<Duration> {
        None
    }
}

/// The route in front of a service's two colours.
#[async_trait]
pub trait Traffic: Send + Sync {
    /// Asks the route to split requests as `weights`. The change may not be
    /// visible at once (or at all): read it back with [`Traffic::weights`].
    async fn set_weights(&self, svc: &ServiceRef, weights: Weights) -> Result<(), CloudError>;

    /// The split the route applies now.
    async fn weights(&self, svc: &ServiceRef) -> Result<Weights, CloudError>;
}

/// Request metrics per colour.
#[async_trait]
pub trait Signals: Send + Sync {
    /// Requests, 5xx errors and p99 latency of `colour` over the last `window`.
    async fn sample(
        &self,
        svc: &ServiceRef,
        colour: Colour,
        window: Duration,
    ) -> Result<Sample, CloudError>;
}

/// The three ports together, as the engine holds them.
#[derive(Clone)]
pub struct Cloud {
    pub compute: Arc<dyn Compute>,
    pub traffic: Arc<dyn Traffic>,
    pub signals: Arc<dyn Signals>,
}

impl Cloud {
    /// One adapter that implements all three ports (like the simulator).
    pub fn from<T: Compute + Traffic + Signals + 'static>(adapter: Arc<T>) -> Cloud {
        Cloud {
            compute: adapter.clone(),
            traffic: adapter.clone(),
            signals: adapter,
        }
    }
}
