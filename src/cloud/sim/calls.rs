//! How many port calls the simulator answered, by operation, so tests can assert
//! what the engine did ("the deploy was issued once, even across a restart")
//! and not only what the fleet ended up looking like.

use serde::{Deserialize, Serialize};

use crate::cloud::CloudError;

/// The port operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Deploy,
    Readiness,
    Scale,
    SetWeights,
    Weights,
    Sample,
}

/// Call counts. Each operation's field counts the calls that went through
/// (changes applied, reads answered); calls that did not are counted once, by
/// why: `throttled` and `failed` were injected by a fault before the fleet was
/// touched, `refused` were answered `Permanent` because the request itself was
/// wrong (unknown service, invalid weights). So every call is counted exactly
/// once, and `deploy == 1` means one deploy took effect, however many retries
/// the engine needed to get it through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallCounts {
    pub deploy: u64,
    pub readiness: u64,
    pub scale: u64,
    pub set_weights: u64,
    pub weights: u64,
    pub sample: u64,
    pub throttled: u64,
    pub failed: u64,
    pub refused: u64,
}

impl CallCounts {
    /// Every call made, whatever its outcome.
    pub fn total(&self) -> u64 {
        [
            self.deploy,
            self.readiness,
            self.scale,
            self.set_weights,
            self.weights,
            self.sample,
            self.throttled,
            self.failed,
            self.refused,
        ]
        .iter()
        .fold(0u64, |sum, n| sum.saturating_add(*n))
    }

    /// Counts a call that reached the fleet and ended with `result`.
    pub fn record<T>(&mut self, op: Op, result: &Result<T, CloudError>) {
        let field = match (op, result) {
            (_, Err(_)) => &mut self.refused,
            (Op::Deploy, Ok(_)) => &mut self.deploy,
            (Op::Readiness, Ok(_)) => &mut self.readiness,
            (Op::Scale, Ok(_)) => &mut self.scale,
            (Op::SetWeights, Ok(_)) => &mut self.set_weights,
            (Op::Weights, Ok(_)) => &mut self.weights,
            (Op::Sample, Ok(_)) => &mut self.sample,
        };
        *field = field.saturating_add(1);
    }
}
