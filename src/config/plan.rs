//! Rollout plans: how traffic moves to the new colour (steps in percent), how long
//! each step bakes, how long the 100% step is verified, and the analysis thresholds
//! that decide whether a step is healthy. Plans are named (`[plans.blue-green]`);
//! environments and chat commands refer to them by name. Four built-in plans exist
//! so that a small config need not define any; a `[plans.NAME]` table replaces the
//! built-in of the same name.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Plans use the intent language's strategies, so a plan named in config and a
/// strategy typed in chat are the same type.
pub use crate::intent::Strategy;

/// One rollout plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Plan {
    pub strategy: Strategy,
    /// Percent of traffic on the new version at each step; strictly increasing, ends at 100.
    pub steps: Vec<u32>,
    /// How long each step below 100% is watched before the next.
    #[serde(with = "humantime_serde")]
    pub bake: Duration,
    /// How long the 100% step is watched before the old colour becomes standby.
    #[serde(with = "humantime_serde")]
    pub verification: Duration,
    /// After finalize, how long the live colour is still analysed while the old
    /// one stands by; a breach rolls back on its own (seed 002: hours in production).
    #[serde(with = "humantime_serde")]
    pub watch: Duration,
    pub analysis: Analysis,
}

impl Default for Plan {
    fn default() -> Plan {
        Plan {
            strategy: Strategy::BlueGreen,
            steps: vec![100],
            bake: Duration::from_secs(60),
            verification: Duration::from_secs(600),
            watch: Duration::ZERO,
            analysis: Analysis::default(),
        }
    }
}

impl Plan {
    /// The plans available without any `[plans]` table, keyed by name.
    pub fn builtin() -> BTreeMap<String, Plan> {
        let plan = |strategy, steps: &[u32], bake, verification| Plan {
            strategy,
            steps: steps.to_vec(),
            bake: Duration::from_secs(bake),
            verification: Duration::from_secs(verification),
            watch: Duration::ZERO,
            analysis: Analysis::default(),
        };
        [
            plan(Strategy::BlueGreen, &[10, 25, 50, 100], 60, 600),
            plan(Strategy::Canary, &[5, 25, 100], 120, 600),
            plan(Strategy::Rolling, &[25, 50, 75, 100], 60, 300),
            plan(Strategy::AllAtOnce, &[100], 0, 600),
        ]
        .into_iter()
        .map(|plan| (plan.strategy.as_str().to_owned(), plan))
        .collect()
    }
}

/// What to do when a step saw too few requests to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Inconclusive {
    /// Keep watching until enough requests arrive (the step's bake time restarts).
    #[default]
    Wait,
    /// Treat it as a failed step and roll back.
    Fail,
}

/// Thresholds that judge a step against the new colour's signals and the old
/// colour's baseline. Any breach rolls back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Analysis {
    /// Highest acceptable share of 5xx responses, in percent.
    pub max_error_rate_percent: f64,
    /// Highest acceptable p99 latency; `None` checks only the increase over baseline.
    pub max_p99_latency_ms: Option<u64>,
    /// Highest acceptable p99 increase over the old colour, in percent.
    pub max_latency_increase_percent: f64,
    /// Fewer requests than this in a step makes the verdict inconclusive.
    pub min_requests: u64,
    pub inconclusive: Inconclusive,
    /// How often signals are judged while a step bakes: the longest a breach can
    /// go unnoticed (Flagger's default is 60 s).
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// How far back each judgement looks; defaults to `interval`.
    #[serde(with = "humantime_serde::option")]
    pub window: Option<Duration>,
    /// New tasks restarting more often than this count as crash-looping (seed 001: 3).
    pub max_restarts: u32,
    /// How long the new colour may fail its health checks once it was ready (seed 001: 2 min).
    #[serde(with = "humantime_serde")]
    pub unhealthy_limit: Duration,
    /// How long the new colour may take to become ready after its deploy.
    #[serde(with = "humantime_serde")]
    pub ready_timeout: Duration,
}

impl Analysis {
    /// The window each judgement looks at.
    pub fn window(&self) -> Duration {
        self.window.unwrap_or(self.interval)
    }
}

impl Default for Analysis {
    fn default() -> Analysis {
        Analysis {
            max_error_rate_percent: 5.0,
            max_p99_latency_ms: None,
            max_latency_increase_percent: 50.0,
            min_requests: 50,
            inconclusive: Inconclusive::Wait,
            interval: Duration::from_secs(10),
            window: None,
            max_restarts: 3,
            unhealthy_limit: Duration::from_secs(120),
            ready_timeout: Duration::from_secs(300),
        }
    }
}
