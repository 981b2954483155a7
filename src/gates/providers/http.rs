//! `kind = "http"`: GET a URL (smoke tests, an E2E suite's result endpoint).
//! A 2xx answer passes; with `json_pointer`, the JSON body must also hold
//! `equals` (default `true`) at that pointer, so "the suite ran and said
//! failed" is a failure even when the endpoint answers 200.

use async_trait::async_trait;
use serde_json::Value;

use super::fetch::{self, url_escape};
use super::{Provider, Scope};
use crate::config::Secret;
use crate::config::checks::HttpCheck;
use crate::gates::Verdict;

pub(super) struct HttpProbe {
    url: crate::config::checks::Template,
    token: Option<Secret>,
    pointer: Option<String>,
    /// What the pointer must hold.
    equals: Value,
    /// How reasons name it; the checklist already shows the check's name.
    what: Option<String>,
}

impl HttpProbe {
    pub(super) fn new(spec: &HttpCheck) -> HttpProbe {
        HttpProbe {
            url: spec.url.clone(),
            token: spec.token.clone(),
            pointer: spec.json_pointer.clone(),
            equals: spec
                .equals
                .as_ref()
                .and_then(|v| serde_json::to_value(v).ok())
                .unwrap_or(Value::Bool(true)),
            what: spec.what.clone(),
        }
    }

    async fn probe(&self, scope: &Scope<'_>) -> Result<String, String> {
        let url = scope.fill(&self.url, url_escape).await?;
        let (host, answer) = fetch::get_filled(
            &url,
            self.token.as_ref(),
            "application/json, */*;q=0.5",
            "the configured URL",
        )
        .await?;
        let status = answer.status;
        if !status.is_success() {
            return Err(format!("HTTP {} from {host}", status.as_u16()));
        }
        let Some(pointer) = &self.pointer else {
            return Ok(format!("HTTP {} from {host}", status.as_u16()));
        };
        let body: Value = serde_json::from_slice(&answer.body)
            .map_err(|_| format!("the answer from {host} is not JSON"))?;
        let Some(found) = body.pointer(pointer) else {
            return Err(format!("no `{pointer}` in the answer from {host}"));
        };
        if same(found, &self.equals) {
            Ok(format!("{pointer} is {}", shown(found)))
        } else {
            Err(format!(
                "{pointer} is {}, expected {}",
                shown(found),
                shown(&self.equals)
            ))
        }
    }
}

#[async_trait]
impl Provider for HttpProbe {
    async fn check(&self, scope: &Scope<'_>) -> Verdict {
        let labelled = |why: String| match &self.what {
            Some(what) => format!("{what}: {why}"),
            None => why,
        };
        match self.probe(scope).await {
            Ok(why) => Verdict::pass(labelled(why)),
            Err(why) => Verdict::fail(labelled(why)),
        }
    }
}

/// Equal as JSON, numbers by value (`1` equals `1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

/// A JSON value in a reason: compact and short.
fn shown(value: &Value) -> String {
    fetch::snippet(&value.to_string(), 60)
}
