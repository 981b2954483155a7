//! [`Signals`] from CloudWatch: the `AWS/ApplicationELB` metrics of the
//! colour's target group on its load balancer, in one `GetMetricData` call —
//! `RequestCount` (Sum), `HTTPCode_Target_5XX_Count` (Sum) and
//! `TargetResponseTime` (p99, seconds) in 60 s periods.
//!
//! The trade-off: the ALB publishes these per minute, about a minute late, so
//! a judgement can be no finer than that. The config refuses analysis windows
//! under two minutes for CloudWatch (see `config::aws`); the engine's interval
//! may still be shorter, re-reading the same minutes. Over several minutes the
//! p99 reported is the worst minute's p99 — CloudWatch cannot merge
//! percentiles, and the worst minute is the cautious choice. 5xx answers the
//! load balancer itself makes (502/503/504 when a target resets or times out)
//! are not per target group and are not counted here.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};

use super::errors::cloud_error;
use super::targets::Targets;
use crate::cloud::{CloudError, Colour, Sample, ServiceRef, Signals};

/// CloudWatch's resolution for ALB metrics.
const PERIOD: i32 = 60;

/// The three queries, by id.
const REQUESTS: &str = "requests";
const ERRORS: &str = "errors";
const P99: &str = "p99";

pub struct CloudWatchSignals {
    cw: aws_sdk_cloudwatch::Client,
    targets: Arc<Targets>,
}

impl CloudWatchSignals {
    pub fn new(cw: aws_sdk_cloudwatch::Client, targets: Arc<Targets>) -> CloudWatchSignals {
        CloudWatchSignals { cw, targets }
    }
}

fn query(id: &str, metric: &str, stat: &str, dimensions: &[Dimension]) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace("AWS/ApplicationELB")
                        .metric_name(metric)
                        .set_dimensions(Some(dimensions.to_vec()))
                        .build(),
                )
                .period(PERIOD)
                .stat(stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// The window's start and end in epoch seconds: the start rounded down to a
/// period, so every minute the window touches is included.
pub fn bounds(now_secs: i64, window: Duration) -> (i64, i64) {
    let window = i64::try_from(window.as_secs())
        .unwrap_or(i64::MAX / 2)
        .max(i64::from(PERIOD));
    let start = (now_secs - window).div_euclid(i64::from(PERIOD)) * i64::from(PERIOD);
    (start, now_secs)
}

/// One sample from the datapoints of the three queries.
pub fn aggregate(requests: &[f64], errors: &[f64], p99_seconds: &[f64]) -> Sample {
    let sum = |v: &[f64]| -> u64 {
        let total: f64 = v.iter().filter(|x| x.is_finite() && **x > 0.0).sum();
        total.round() as u64
    };
    let requests = sum(requests);
    let p99_ms = p99_seconds
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .fold(None, |worst: Option<f64>, x| {
            Some(worst.map_or(x, |w| w.max(x)))
        })
        .map(|s| s * 1000.0);
    Sample {
        requests,
        errors: sum(errors),
        p99_ms: p99_ms.filter(|_| requests > 0),
    }
}

#[async_trait]
impl Signals for CloudWatchSignals {
    async fn sample(
        &self,
        svc: &ServiceRef,
        colour: Colour,
        window: Duration,
    ) -> Result<Sample, CloudError> {
        let t = self.targets.get(svc)?;
        let lb = t.load_balancer_dimension.as_deref().ok_or_else(|| {
            CloudError::Permanent(format!(
                "{svc}: CloudWatch metrics need a load balancer ARN"
            ))
        })?;
        let tg = t.target_group_dimension(colour);
        let dimensions = [
            Dimension::builder().name("LoadBalancer").value(lb).build(),
            Dimension::builder().name("TargetGroup").value(tg).build(),
        ];
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let (start, end) = bounds(now, window);
        let what = format!("reading CloudWatch metrics of target group `{tg}`");
        let (mut requests, mut errors, mut p99) = (Vec::new(), Vec::new(), Vec::new());
        let mut next: Option<String> = None;
        // A window of minutes is one page; the loop only guards against more.
        for _ in 0..10 {
            let out = self
                .cw
                .get_metric_data()
                .metric_data_queries(query(REQUESTS, "RequestCount", "Sum", &dimensions))
                .metric_data_queries(query(
                    ERRORS,
                    "HTTPCode_Target_5XX_Count",
                    "Sum",
                    &dimensions,
                ))
                .metric_data_queries(query(P99, "TargetResponseTime", "p99", &dimensions))
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end))
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| cloud_error(&what, e))?;
            for result in out.metric_data_results() {
                let into = match result.id() {
                    Some(REQUESTS) => &mut requests,
                    Some(ERRORS) => &mut errors,
                    Some(P99) => &mut p99,
                    _ => continue,
                };
                into.extend_from_slice(result.values());
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(aggregate(&requests, &errors, &p99))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_starts_on_a_minute_and_is_never_under_one() {
        assert_eq!(
            bounds(1_000_030, Duration::from_secs(120)),
            (999_900, 1_000_030)
        );
        assert_eq!(
            bounds(1_000_030, Duration::from_secs(10)),
            (999_960, 1_000_030)
        );
    }

    #[test]
    fn minutes_add_up_and_the_worst_p99_is_kept() {
        let s = aggregate(&[120.0, 80.0], &[3.0, 1.0], &[0.210, 0.450]);
        assert_eq!(s.requests, 200);
        assert_eq!(s.errors, 4);
        assert_eq!(s.p99_ms, Some(450.0));
        assert_eq!(s.error_rate_percent(), Some(2.0));
    }

    #[test]
    fn no_datapoints_is_no_traffic() {
        let s = aggregate(&[], &[], &[]);
        assert_eq!((s.requests, s.errors, s.p99_ms), (0, 0, None));
    }
}
