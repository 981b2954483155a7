//! What the engine tells the world while it works: typed events on a broadcast
//! channel. Chat adapters render them, notifications forward them, tests read
//! them in order. Events are for people; the journal in the store is what the
//! engine itself trusts after a crash.

use serde::{Deserialize, Serialize};

use super::analysis::{Breach, Verdict};
use crate::cloud::{Colour, Weights};
use crate::store::DeploymentState;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub deployment: i64,
    pub env: String,
    pub service: String,
    /// Wall-clock milliseconds (see [`crate::clock::Clock`]).
    pub at_ms: i64,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    Started {
        version: String,
        previous: Option<String>,
        strategy: String,
        live_colour: Colour,
        new_colour: Colour,
    },
    PhaseStarted {
        phase: String,
    },
    Deployed {
        colour: Colour,
        version: String,
    },
    Ready {
        colour: Colour,
        healthy: u32,
        desired: u32,
    },
    WeightsChanged {
        weights: Weights,
    },
    Analysis {
        percent: u8,
        verdict: Verdict,
    },
    Paused,
    Resumed,
    RollingBack {
        reason: String,
        breach: Option<Breach>,
    },
    /// The old colour no longer stands by: scaled to zero tasks after the
    /// configured delay, so a rollback now starts it first.
    ScaledDown {
        colour: Colour,
        version: Option<String>,
    },
    /// The engine restarted and found this deployment mid-way, or (with
    /// `from`) took it over from a replica that stopped renewing its lease.
    Recovered {
        resumed: bool,
        detail: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    /// The route of a service with nothing running differed from what this
    /// (its last finished) deployment left: split, or whole on the other
    /// colour. Found by the watcher of idle routes ([`super::reconcile`]),
    /// put back unless `engine.reconcile = "alert"` or `detail` says why not.
    RouteDrift {
        found: Weights,
        expected: Weights,
        restored: bool,
        detail: Option<String>,
    },
    Finished {
        state: DeploymentState,
        duration_ms: i64,
        reason: Option<String>,
    },
}
