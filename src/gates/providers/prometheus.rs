//! `kind = "prometheus"`: one PromQL instant query (`GET /api/v1/query`)
//! compared with one threshold: "p99 latency in tst over 1h: 143 ms, must be
//! below 100 ms".
//!
//! Stricter than the rollout's signals (`cloud::aws::prometheus`), which sum
//! series and read an empty answer as zero traffic: a gate must not pass on
//! nothing. An empty answer is "no data", several series are an unaggregated
//! query, NaN is no measurement; all three fail.

use async_trait::async_trait;
use reqwest::Url;
use serde::Deserialize;

use super::fetch::{self, Request, promql_escape};
use super::{Provider, Scope, number};
use crate::config::checks::{PrometheusCheck, Template, Threshold};
use crate::gates::Verdict;

pub(super) struct PromQuery {
    url: String,
    query: Template,
    threshold: Option<Threshold>,
    /// How reasons name the figure; the checklist already shows the check's name.
    what: Option<Template>,
    unit: Option<String>,
}

impl PromQuery {
    pub(super) fn new(spec: &PrometheusCheck) -> PromQuery {
        PromQuery {
            url: spec.url.trim_end_matches('/').to_owned(),
            query: spec.query.clone(),
            threshold: spec.threshold(),
            what: spec.what.clone(),
            unit: spec.unit.clone(),
        }
    }

    /// `value` with the unit: `143 ms`, `97.5%`.
    fn with_unit(&self, value: f64) -> String {
        match self.unit.as_deref() {
            Some("%") => format!("{}%", number(value)),
            Some(unit) => format!("{} {unit}", number(value)),
            None => number(value),
        }
    }

    /// The query's one value.
    async fn value(&self, query: &str) -> Result<f64, String> {
        let mut url = Url::parse(&format!("{}/api/v1/query", self.url))
            .map_err(|_| "the Prometheus URL is not valid".to_owned())?;
        url.query_pairs_mut().append_pair("query", query);
        let host = fetch::host(&url);
        let answer = fetch::get(
            &url,
            Request {
                accept: Some("application/json"),
                ..Request::default()
            },
        )
        .await
        .map_err(|why| format!("Prometheus: {why}"))?;
        let status = answer.status.as_u16();
        let body: Answer = serde_json::from_slice(&answer.body).map_err(|_| {
            format!("Prometheus at {host} answered HTTP {status} without Prometheus JSON")
        })?;
        if body.status != "success" {
            let error = body.error.unwrap_or_else(|| "no reason given".to_owned());
            return Err(format!(
                "Prometheus at {host} refused the query (HTTP {status}): {}",
                fetch::snippet(&error, 120)
            ));
        }
        let data = body
            .data
            .ok_or_else(|| format!("Prometheus at {host} answered without data"))?;
        let sample = match data.result_type.as_str() {
            "scalar" => data.result,
            "vector" => {
                let series = data.result.as_array().cloned().unwrap_or_default();
                match series.len() {
                    0 => return Err("no data (the query matched no series)".to_owned()),
                    1 => series[0].get("value").cloned().unwrap_or_default(),
                    n => {
                        return Err(format!(
                            "the query returned {n} series; aggregate it to one (sum, max, ...)"
                        ));
                    }
                }
            }
            other => {
                return Err(format!(
                    "the query returned a {other}; it must return one number"
                ));
            }
        };
        let value = sample
            .get(1)
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("Prometheus at {host} sent a sample that is not a number"))?;
        if value.is_nan() {
            return Err("no measurement (the query gave NaN)".to_owned());
        }
        if value.is_infinite() {
            return Err("the query gave an infinite value".to_owned());
        }
        Ok(value)
    }
}

#[async_trait]
impl Provider for PromQuery {
    async fn check(&self, scope: &Scope<'_>) -> Verdict {
        let what = match &self.what {
            Some(what) => match scope.fill(what, fetch::raw).await {
                Ok(what) => format!("{what}: "),
                Err(why) => return Verdict::fail(why),
            },
            None => String::new(),
        };
        let Some(threshold) = self.threshold else {
            return Verdict::fail(format!("{what}no threshold is configured"));
        };
        let query = match scope.fill(&self.query, promql_escape).await {
            Ok(query) => query,
            Err(why) => return Verdict::fail(format!("{what}{why}")),
        };
        let value = match self.value(&query).await {
            Ok(value) => value,
            Err(why) => return Verdict::fail(format!("{what}{why}")),
        };
        let (shown, limit) = (self.with_unit(value), self.with_unit(threshold.limit()));
        if threshold.passes(value) {
            Verdict::pass(format!("{what}{shown} ({} {limit})", threshold.words()))
        } else {
            Verdict::fail(format!(
                "{what}{shown}, must be {} {limit}",
                threshold.words()
            ))
        }
    }
}

/// `/api/v1/query`'s answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    result_type: String,
    #[serde(default)]
    result: serde_json::Value,
}
