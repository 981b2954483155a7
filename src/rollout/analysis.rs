//! Judging a step: the new colour's signals against the plan's thresholds and
//! against the stable colour's baseline.
//!
//! A verdict carries its numbers, because "rolled back" alone helps nobody: the
//! record and the channel say which metric, what value, what threshold, at which
//! step. Too few requests is neither pass nor fail but inconclusive; the plan
//! decides whether that waits or fails.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cloud::Sample;
use crate::config::Analysis;

/// What was measured in one judgement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub requests: u64,
    pub error_rate_percent: f64,
    pub p99_ms: Option<f64>,
    /// The stable colour's p99 over the same window, when it had traffic.
    pub baseline_p99_ms: Option<f64>,
}

/// Which threshold a step broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    ErrorRate,
    P99Latency,
    LatencyIncrease,
    Restarts,
    Unhealthy,
    NotReady,
    NoTraffic,
}

/// A broken threshold: the metric, its value and the limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    pub metric: Metric,
    pub value: f64,
    pub threshold: f64,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (v, t) = (self.value, self.threshold);
        match self.metric {
            Metric::ErrorRate => write!(f, "error rate {v:.2}% > {t:.2}%"),
            Metric::P99Latency => write!(f, "p99 latency {v:.0} ms > {t:.0} ms"),
            Metric::LatencyIncrease => write!(f, "p99 latency {v:.0}% above baseline > {t:.0}%"),
            Metric::Restarts => write!(f, "tasks restarted {v:.0} times > {t:.0} (crash loop)"),
            Metric::Unhealthy => write!(f, "health checks failing for {v:.0} s > {t:.0} s"),
            Metric::NotReady => write!(f, "not ready after {v:.0} s (limit {t:.0} s)"),
            Metric::NoTraffic => write!(f, "only {v:.0} requests to judge in {t:.0} s"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Pass {
        measured: Measurement,
    },
    Inconclusive {
        measured: Measurement,
        min_requests: u64,
    },
    Fail {
        measured: Measurement,
        breach: Breach,
    },
}

impl Verdict {
    pub fn measured(&self) -> &Measurement {
        match self {
            Verdict::Pass { measured }
            | Verdict::Inconclusive { measured, .. }
            | Verdict::Fail { measured, .. } => measured,
        }
    }
}

/// Judges the new colour's `sample` against `analysis`, with the stable colour's
/// `baseline` over the same window. Thresholds are checked in order of how
/// clearly they mean harm: errors, then absolute latency, then latency relative
/// to the baseline.
pub fn judge(sample: &Sample, baseline: Option<&Sample>, analysis: &Analysis) -> Verdict {
    let baseline_p99_ms = baseline.and_then(|b| b.p99_ms);
    let measured = Measurement {
        requests: sample.requests,
        error_rate_percent: sample.error_rate_percent().unwrap_or(0.0),
        p99_ms: sample.p99_ms,
        baseline_p99_ms,
    };
    if sample.requests < analysis.min_requests {
        return Verdict::Inconclusive {
            measured,
            min_requests: analysis.min_requests,
        };
    }
    let fail = |metric, value, threshold| Verdict::Fail {
        measured,
        breach: Breach {
            metric,
            value,
            threshold,
        },
    };
    if measured.error_rate_percent > analysis.max_error_rate_percent {
        return fail(
            Metric::ErrorRate,
            measured.error_rate_percent,
            analysis.max_error_rate_percent,
        );
    }
    if let (Some(p99), Some(limit)) = (sample.p99_ms, analysis.max_p99_latency_ms)
        && p99 > limit as f64
    {
        return fail(Metric::P99Latency, p99, limit as f64);
    }
    if let (Some(p99), Some(base)) = (sample.p99_ms, baseline_p99_ms)
        && base > 0.0
    {
        let increase = (p99 - base) * 100.0 / base;
        if increase > analysis.max_latency_increase_percent {
            return fail(
                Metric::LatencyIncrease,
                increase,
                analysis.max_latency_increase_percent,
            );
        }
    }
    Verdict::Pass { measured }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(requests: u64, errors: u64, p99: f64) -> Sample {
        Sample {
            requests,
            errors,
            p99_ms: Some(p99),
        }
    }

    #[test]
    fn an_error_rate_above_the_threshold_fails_with_its_numbers() {
        let v = judge(&sample(200, 30, 40.0), None, &Analysis::default());
        let Verdict::Fail { breach, .. } = v else {
            panic!("{v:?}")
        };
        assert_eq!(breach.metric, Metric::ErrorRate);
        assert_eq!(breach.value, 15.0);
        assert_eq!(breach.threshold, 5.0);
        assert_eq!(breach.to_string(), "error rate 15.00% > 5.00%");
    }

    #[test]
    fn latency_is_judged_absolutely_and_against_the_baseline() {
        let analysis = Analysis {
            max_p99_latency_ms: Some(500),
            ..Analysis::default()
        };
        let slow = judge(&sample(200, 0, 600.0), None, &analysis);
        assert!(matches!(
            slow,
            Verdict::Fail {
                breach: Breach {
                    metric: Metric::P99Latency,
                    ..
                },
                ..
            }
        ));
        let base = sample(500, 0, 40.0);
        let worse = judge(&sample(200, 0, 70.0), Some(&base), &analysis);
        assert!(matches!(
            worse,
            Verdict::Fail {
                breach: Breach {
                    metric: Metric::LatencyIncrease,
                    ..
                },
                ..
            }
        ));
        assert!(matches!(
            judge(&sample(200, 0, 45.0), Some(&base), &analysis),
            Verdict::Pass { .. }
        ));
    }

    #[test]
    fn too_few_requests_is_inconclusive_not_a_pass() {
        let v = judge(&sample(10, 5, 40.0), None, &Analysis::default());
        assert!(matches!(
            v,
            Verdict::Inconclusive {
                min_requests: 50,
                ..
            }
        ));
    }
}
