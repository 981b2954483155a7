//! What a colour's traffic looked like over a window, computed rather than
//! recorded. Requests follow the route's share over time (piecewise-constant
//! integration of the weights history); errors and latency follow the faults in
//! force over the same time. So a sample depends only on the history and the
//! window, and the same question at the same virtual time gets the same answer.

use super::faults::FaultSpan;
use super::fleet::Service;
use super::rng::{hash_str, mix, unit};
use crate::cloud::{Colour, Sample, ServiceRef};

/// The traffic model, from `SimOptions`.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    pub requests_per_sec: f64,
    pub base_latency_ms: f64,
    pub seed: u64,
}

/// Share of the window's requests below which a slower slice does not move the
/// p99: fewer than one request in a hundred cannot be the 99th percentile.
const P99_TAIL: f64 = 0.01;

/// How far the seeded jitter moves the healthy p99, either way (2 %): enough to
/// make a chart look alive, too little to cross any sensible threshold.
const JITTER: f64 = 0.02;

/// Requests, errors and p99 of `colour` of `at` over `[start, now)`.
///
/// Simplification: a fault's `version` is matched against the version the colour
/// runs now, not the one it ran at each instant of the window. The engine deploys
/// only to a colour without traffic, so this differs only for windows that reach
/// back past such a deploy, when the colour had no requests anyway.
pub fn sample(
    svc: &Service,
    at: &ServiceRef,
    colour: Colour,
    faults: &[FaultSpan],
    (start, now): (i64, i64),
    model: Model,
) -> Sample {
    let version = svc.colour(colour).version.as_deref();
    let rps = if model.requests_per_sec.is_finite() {
        model.requests_per_sec.max(0.0)
    } else {
        0.0
    };
    let mut requests = 0.0;
    let mut errors = 0.0;
    // (extra latency, requests that saw it) for every faulted slice.
    let mut slow: Vec<(f64, f64)> = Vec::new();
    for (from, until, weights) in svc.route.segments(start, now) {
        let share = f64::from(weights.of(colour)) / 100.0;
        let per_ms = rps * share / 1000.0;
        requests += per_ms * (until - from) as f64;
        for span in faults.iter().filter(|span| span.fault.affects(version)) {
            if let Some((a, b)) = span.overlap(from, until) {
                let hit = per_ms * (b - a) as f64;
                errors += hit * span.fault.error_rate_percent / 100.0;
                if span.fault.extra_latency_ms > 0.0 {
                    slow.push((span.fault.extra_latency_ms, hit));
                }
            }
        }
    }
    let requests = requests.round() as u64;
    let errors = (errors.round() as u64).min(requests);
    let p99_ms = (requests > 0).then(|| {
        let base = model.base_latency_ms.max(0.0) * (1.0 + jitter(model.seed, at, colour, now));
        base + tail_extra(&mut slow, requests as f64)
    });
    Sample {
        requests,
        errors,
        p99_ms,
    }
}

/// The extra latency at the 99th percentile: walk the slices from slowest down
/// until they hold more than 1 % of the requests. All latencies are constants
/// (base + extra), so this is the exact p99 of the mixture.
fn tail_extra(slow: &mut [(f64, f64)], requests: f64) -> f64 {
    slow.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut seen = 0.0;
    for &(extra, hit) in slow.iter() {
        seen += hit;
        if seen > requests * P99_TAIL {
            return extra;
        }
    }
    0.0
}

/// A stable factor in `[-JITTER, JITTER)` per service, colour and second, seeded
/// by `SimOptions::seed`: pure, so repeating a call repeats the answer.
fn jitter(seed: u64, at: &ServiceRef, colour: Colour, now: i64) -> f64 {
    let key = hash_str(&[&at.env, &at.service, colour.as_str()])
        ^ mix(seed)
        ^ mix(now.div_euclid(1000) as u64);
    (unit(mix(key)) * 2.0 - 1.0) * JITTER
}
