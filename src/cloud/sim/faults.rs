//! Injected trouble, per environment: what a [`Fault`] does and when it was in
//! force. A fault is kept as a span of virtual time rather than a flag, because
//! signals are read over windows: a window that only partly overlaps a fault shows
//! only that part's errors, so a fault becomes visible gradually, as it would on a
//! real dashboard, and the engine's detect-to-revert time can be measured honestly.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SimError;

/// What goes wrong in one environment. `Fault::default()` is "nothing".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fault {
    /// Share (0..=100) of the affected colours' requests answered with a 5xx.
    pub error_rate_percent: f64,
    /// Milliseconds added to the affected colours' p99 latency.
    pub extra_latency_ms: f64,
    /// Only colours running this version are affected by the request and task
    /// faults above and below; `None` affects every colour. The API faults
    /// (`throttle_percent`, `fail_percent`, `api_latency`) hit every call on the
    /// environment regardless, because they are the control plane's, not a
    /// version's.
    pub version: Option<String>,
    /// Tasks started while the fault is set (or still starting when it is set)
    /// run but never pass their health check.
    pub never_healthy: bool,
    /// Tasks started while the fault is set (or still starting when it is set)
    /// crash after running for `startup` and start again, for ever.
    pub crash_loop: bool,
    /// Share (0..=100) of port calls answered `CloudError::Retryable("throttled")`.
    pub throttle_percent: f64,
    /// Share (0..=100) of port calls answered `CloudError::Permanent`.
    pub fail_percent: f64,
    /// Extra virtual time every port call on the environment takes.
    pub api_latency: Option<Duration>,
    /// `set_weights` takes effect only after this many further `weights()` reads
    /// (exercises the engine's read-back); 0 = at once.
    pub weights_lag: u32,
}

impl Fault {
    /// Refuses numbers that cannot mean anything (NaN, negative, over 100 %), so
    /// a typo in a test or the demo fails loudly instead of silently injecting
    /// nothing.
    pub fn validate(&self) -> Result<(), SimError> {
        let percents = [
            ("error_rate_percent", self.error_rate_percent),
            ("throttle_percent", self.throttle_percent),
            ("fail_percent", self.fail_percent),
        ];
        for (name, value) in percents {
            if !(0.0..=100.0).contains(&value) {
                return Err(SimError::InvalidFault(format!(
                    "{name} must be within 0..=100, not {value}"
                )));
            }
        }
        if self.throttle_percent + self.fail_percent > 100.0 {
            return Err(SimError::InvalidFault(
                "throttle_percent + fail_percent must not exceed 100".into(),
            ));
        }
        if !(self.extra_latency_ms.is_finite() && self.extra_latency_ms >= 0.0) {
            return Err(SimError::InvalidFault(format!(
                "extra_latency_ms must be a finite number >= 0, not {}",
                self.extra_latency_ms
            )));
        }
        Ok(())
    }

    /// Whether the request and task faults apply to a colour running `version`.
    pub fn affects(&self, version: Option<&str>) -> bool {
        match &self.version {
            None => true,
            Some(wanted) => version == Some(wanted.as_str()),
        }
    }
}

/// One fault and the virtual time it was in force: `[from_ms, until_ms)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpan {
    pub fault: Fault,
    pub from_ms: i64,
    /// `None` while the fault is still set.
    pub until_ms: Option<i64>,
}

impl FaultSpan {
    /// The part of `[start, end)` this span covers, if any.
    pub fn overlap(&self, start: i64, end: i64) -> Option<(i64, i64)> {
        let from = self.from_ms.max(start);
        let until = self.until_ms.unwrap_or(i64::MAX).min(end);
        (from < until).then_some((from, until))
    }
}

/// An environment's faults over time, oldest first; at most the last one is open.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultHistory {
    pub spans: Vec<FaultSpan>,
}

impl FaultHistory {
    /// The fault in force now, if any.
    pub fn current(&self) -> Option<&Fault> {
        self.spans
            .last()
            .filter(|span| span.until_ms.is_none())
            .map(|span| &span.fault)
    }

    /// Ends the current fault (if any) at `now` and starts `fault`.
    pub fn set(&mut self, fault: Fault, now: i64) {
        self.clear(now);
        self.spans.push(FaultSpan {
            fault,
            from_ms: now,
            until_ms: None,
        });
    }

    /// Ends the current fault, keeping its span for windows that still overlap it.
    pub fn clear(&mut self, now: i64) {
        if let Some(span) = self.spans.last_mut().filter(|span| span.until_ms.is_none()) {
            span.until_ms = Some(now);
        }
        // A fault set and cleared at the same instant covered no time at all.
        self.spans
            .retain(|span| span.until_ms.is_none_or(|until| until > span.from_ms));
    }

    /// Drops spans that ended before `cutoff`: no window the simulator answers for
    /// reaches back that far, and the persisted file must not grow for ever.
    pub fn prune(&mut self, cutoff: i64) {
        self.spans
            .retain(|span| span.until_ms.is_none_or(|until| until > cutoff));
    }
}
