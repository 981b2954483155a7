//! [`Signals`] from Prometheus: three instant queries (requests, 5xx errors,
//! p99 in milliseconds) over its HTTP API (`GET /api/v1/query`), written in
//! config as PromQL templates with `{{color}}`, `{{version}}`, `{{window}}`,
//! `{{env}}` and `{{service}}` placeholders.
//!
//! Unlike CloudWatch, Prometheus scrapes every few seconds, so short analysis
//! windows work. Values are substituted into the query text: `{{version}}` and
//! the names are escaped for PromQL string literals, and `{{window}}` is a
//! duration in seconds (`120s`) for range selectors.
//!
//! A multi-series answer is summed (queries should aggregate themselves with
//! `sum`); an empty answer is zero requests and no latency. Connection
//! failures, timeouts and 5xx are retryable; a refused query (4xx) is not.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::compute::EcsCompute;
use crate::cloud::{CloudError, Colour, Compute, Sample, ServiceRef, Signals};

/// The queries and where to send them.
#[derive(Debug, Clone)]
pub struct Queries {
    pub url: String,
    pub requests: String,
    pub errors: String,
    pub p99_ms: String,
}

pub struct PrometheusSignals {
    http: reqwest::Client,
    queries: Queries,
    /// Knows what each colour runs, for `{{version}}`.
    compute: Arc<EcsCompute>,
}

impl PrometheusSignals {
    pub fn new(
        queries: Queries,
        timeout: Duration,
        compute: Arc<EcsCompute>,
    ) -> Result<PrometheusSignals, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the Prometheus HTTP client: {e}"))?;
        Ok(PrometheusSignals {
            http,
            queries,
            compute,
        })
    }

    async fn version(&self, svc: &ServiceRef, colour: Colour) -> Result<String, CloudError> {
        if let Some(v) = self.compute.versions.get(svc, colour) {
            return Ok(v);
        }
        let ready = self.compute.readiness(svc, colour).await?;
        Ok(ready.version.unwrap_or_default())
    }

    /// One instant query's value: the sum of the series, `None` when empty.
    async fn value(&self, query: &str) -> Result<Option<f64>, CloudError> {
        let base = self.queries.url.trim_end_matches('/');
        let url =
            reqwest::Url::parse_with_params(&format!("{base}/api/v1/query"), [("query", query)])
                .map_err(|e| {
                    CloudError::Permanent(format!("Prometheus URL `{base}` is not valid: {e}"))
                })?;
        let what = format!("querying Prometheus at {base}");
        let response = self.http.get(url).send().await.map_err(|e| {
            let why = if e.is_timeout() {
                "no answer in time"
            } else {
                "could not connect"
            };
            CloudError::Retryable(format!("{what}: {why}"))
        })?;
        let status = response.status();
        let body: Answer = response.json().await.map_err(|_| {
            let e = format!("{what}: HTTP {status} with a body that is not Prometheus JSON");
            if status.is_server_error() {
                CloudError::Retryable(e)
            } else {
                CloudError::Permanent(e)
            }
        })?;
        if body.status != "success" {
            let e = format!(
                "{what}: {} ({})",
                body.error.unwrap_or_else(|| "the query failed".into()),
                body.error_type.unwrap_or_default()
            );
            return Err(if status.is_server_error() {
                CloudError::Retryable(e)
            } else {
                CloudError::Permanent(e)
            });
        }
        value_of(body.data.unwrap_or_default())
            .map_err(|e| CloudError::Permanent(format!("{what}: {e}")))
    }
}

/// `/api/v1/query`'s answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    status: String,
    data: Option<Data>,
    error: Option<String>,
    error_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    result_type: String,
    result: serde_json::Value,
}

/// The sum of a vector's samples, or a scalar; `None` for an empty vector.
fn value_of(data: Data) -> Result<Option<f64>, String> {
    let number = |pair: &serde_json::Value| -> Result<f64, String> {
        pair.get(1)
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("unexpected sample {pair}"))
    };
    match data.result_type.as_str() {
        "scalar" => Ok(Some(number(&data.result)?)),
        "vector" => {
            let series = data.result.as_array().cloned().unwrap_or_default();
            let mut total = None;
            for s in &series {
                let v = number(s.get("value").unwrap_or(&serde_json::Value::Null))?;
                if v.is_finite() {
                    total = Some(total.unwrap_or(0.0) + v);
                }
            }
            Ok(total)
        }
        other => Err(format!("expected a vector or scalar, got `{other}`")),
    }
}

/// A value fit for a PromQL string literal.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `template` with its placeholders filled in.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        match values.iter().find(|(k, _)| *k == name) {
            Some((_, v)) => out.push_str(v),
            // Unknown placeholders are refused by config checks; keep them visible.
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[async_trait]
impl Signals for PrometheusSignals {
    async fn sample(
        &self,
        svc: &ServiceRef,
        colour: Colour,
        window: Duration,
    ) -> Result<Sample, CloudError> {
        let q = &self.queries;
        let needs_version = [&q.requests, &q.errors, &q.p99_ms]
            .iter()
            .any(|t| t.contains("version"));
        let version = if needs_version {
            escape(&self.version(svc, colour).await?)
        } else {
            String::new()
        };
        let window = format!("{}s", window.as_secs().max(1));
        let (env, service) = (escape(&svc.env), escape(&svc.service));
        let values = [
            ("color", colour.as_str()),
            ("version", version.as_str()),
            ("window", window.as_str()),
            ("env", env.as_str()),
            ("service", service.as_str()),
        ];
        let requests = self.value(&render(&q.requests, &values)).await?;
        let errors = self.value(&render(&q.errors, &values)).await?;
        let p99 = self.value(&render(&q.p99_ms, &values)).await?;
        let count = |v: Option<f64>| v.filter(|x| *x > 0.0).map_or(0, |x| x.round() as u64);
        let requests = count(requests);
        Ok(Sample {
            requests,
            errors: count(errors),
            p99_ms: p99.filter(|p| p.is_finite() && requests > 0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_versions_escaped() {
        let q = r#"sum(increase(http_requests_total{color="{{color}}",version="{{ version }}"}[{{window}}]))"#;
        let got = render(
            q,
            &[
                ("color", "green"),
                ("version", &escape(r#"1.3"x"#)),
                ("window", "120s"),
            ],
        );
        assert_eq!(
            got,
            r#"sum(increase(http_requests_total{color="green",version="1.3\"x"}[120s]))"#
        );
    }

    #[test]
    fn vectors_are_summed_and_empty_answers_are_none() {
        let data: Data = serde_json::from_str(
            r#"{"resultType":"vector","result":[
                {"metric":{"pod":"a"},"value":[1700000000.1,"40"]},
                {"metric":{"pod":"b"},"value":[1700000000.1,"2.5"]}]}"#,
        )
        .unwrap();
        assert_eq!(value_of(data), Ok(Some(42.5)));
        let empty: Data = serde_json::from_str(r#"{"resultType":"vector","result":[]}"#).unwrap();
        assert_eq!(value_of(empty), Ok(None));
        let nan: Data = serde_json::from_str(
            r#"{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}"#,
        )
        .unwrap();
        assert_eq!(value_of(nan), Ok(None));
        let scalar: Data =
            serde_json::from_str(r#"{"resultType":"scalar","result":[1,"7"]}"#).unwrap();
        assert_eq!(value_of(scalar), Ok(Some(7.0)));
    }
}
