//! Checklist providers configured per environment (`[[environments.checks]]`):
//! checks that ask the outside world — a smoke-test URL, the CI runs of the
//! version's commit, a PromQL query, an image scan, how long the version has
//! soaked in its source environment. The built-in checks need no configuration.
//!
//! Every entry has a `name` (what the checklist shows), a `kind` that picks the
//! provider and the keys that kind reads, `skippable_in_emergency` and a
//! `timeout`. Misspelt keys are errors naming the key, like everywhere else in
//! the file: a check that silently lost its threshold would pass everything.
//!
//! URLs, PromQL queries and tag names are templates with `{{version}}`,
//! `{{service}}`, `{{env}}`, `{{source}}` and `{{commit}}` placeholders (the
//! `{{name}}` syntax of the Prometheus signal queries in `[aws.metrics]`). A
//! value is percent-encoded when it goes into a URL and escaped for a string
//! literal when it goes into PromQL, so a version cannot change the request.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;

use super::Diagnostic;
use super::model::{CloudBackend, Config};
use super::secret::Secret;

/// How long a check may take unless its `timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest `timeout` accepted: a checklist is answered while someone waits in chat.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The placeholders a check template may use.
pub const PLACEHOLDERS: [&str; 5] = ["version", "service", "env", "source", "commit"];

/// Names the built-in checks use; a configured check may not take one, since
/// the checklist and its results are looked up by name.
pub const RESERVED_NAMES: [&str; 6] = [
    "source-healthy",
    "source-last-success",
    "target-idle",
    "target-unlocked",
    "version-changes",
    "image-exists",
];

/// One configured check: `[[environments.checks]]`.
///
/// No `deny_unknown_fields` here: serde does not support it beside `flatten`
/// (it would refuse `kind`). Unknown keys are still refused, by the kind's
/// struct, which receives every key the common fields did not take.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckSpec {
    /// What the checklist shows: `[a-z][a-z0-9-]*`, unique in its environment
    /// (e.g. `ci`, `p99-latency`, `image-scan`).
    pub name: String,
    /// An emergency (hotfix) deployment skips this check. Default `false`: a
    /// check someone configured is presumed to matter, and skipping must be a
    /// decision written down here (typical: `soak`, slow E2E suites).
    #[serde(default)]
    pub skippable_in_emergency: bool,
    /// How long the check may take before it fails (default 30 s; 1 s to 10 min).
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// `kind = "http" | "github" | "prometheus" | "scan" | "soak"` and its keys.
    #[serde(flatten)]
    pub kind: CheckKind,
}

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

/// What a check asks, chosen by `kind`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum CheckKind {
    Http(HttpCheck),
    Github(GithubCheck),
    Prometheus(PrometheusCheck),
    Scan(ScanCheck),
    Soak(SoakCheck),
}

impl CheckKind {
    /// The `kind` as written.
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckKind::Http(_) => "http",
            CheckKind::Github(_) => "github",
            CheckKind::Prometheus(_) => "prometheus",
            CheckKind::Scan(_) => "scan",
            CheckKind::Soak(_) => "soak",
        }
    }

    /// The check's token, if its kind has one.
    pub fn token(&self) -> Option<&Secret> {
        match self {
            CheckKind::Http(c) => c.token.as_ref(),
            CheckKind::Github(c) => c.token.as_ref(),
            CheckKind::Scan(c) => c.token.as_ref(),
            CheckKind::Prometheus(_) | CheckKind::Soak(_) => None,
        }
    }

    pub(crate) fn token_mut(&mut self) -> Option<&mut Secret> {
        match self {
            CheckKind::Http(c) => c.token.as_mut(),
            CheckKind::Github(c) => c.token.as_mut(),
            CheckKind::Scan(c) => c.token.as_mut(),
            CheckKind::Prometheus(_) | CheckKind::Soak(_) => None,
        }
    }
}

/// `kind = "http"`: GET a URL; passes on a 2xx answer and, with `json_pointer`,
/// when the JSON body has `equals` at that pointer (smoke tests, E2E result
/// endpoints).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// The URL to GET, a template: `https://e2e.example.com/runs/{{version}}`.
    pub url: Template,
    /// Sent as `Authorization: Bearer …`: `{ env = "SMOKE_TOKEN" }`.
    #[serde(default)]
    pub token: Option<Secret>,
    /// An RFC 6901 pointer into the JSON body (`/result/status`); unset: any
    /// 2xx passes and the body is not read.
    #[serde(default)]
    pub json_pointer: Option<String>,
    /// The value expected at `json_pointer` (a string, number or boolean);
    /// default `true`.
    #[serde(default)]
    pub equals: Option<toml::Value>,
    /// Put before the reason (`E2E suite: /status is "passed"`); unset, the
    /// reason stands alone beside the check's name.
    #[serde(default)]
    pub what: Option<String>,
}

/// `kind = "github"`: the check runs of the version's commit
/// (`GET /repos/{owner}/{repo}/commits/{ref}/check-runs`). The ref is the
/// commit CI announced for the version through the build webhook; without one,
/// the tag `tag_template` names. Conclusions `success`, `neutral` and `skipped`
/// pass (as GitHub's branch protection counts them); anything else fails, and
/// runs that have not completed fail the check as still running.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubCheck {
    /// `owner/name`.
    pub repo: String,
    /// A token that may read checks: `{ env = "GITHUB_TOKEN" }`. Without one
    /// only public repositories work, at 60 requests an hour.
    #[serde(default)]
    pub token: Option<Secret>,
    /// Check-run names that must have passed; empty (the default): every run
    /// of the commit must have passed, and there must be at least one.
    #[serde(default)]
    pub required: Vec<String>,
    /// The API's base URL (GitHub Enterprise: `https://HOST/api/v3`).
    #[serde(default = "default_github_api")]
    pub api_base: String,
    /// The tag asked for when CI announced no commit for the version.
    #[serde(default = "default_tag_template")]
    pub tag_template: Template,
    /// How the reason names the runs (default `CI checks`): `Integration tests`
    /// gives "Integration tests: 156/156 passed".
    #[serde(default)]
    pub what: Option<String>,
}

fn default_github_api() -> String {
    "https://api.github.com".to_owned()
}

fn default_tag_template() -> Template {
    Template("{{version}}".to_owned())
}

/// `kind = "prometheus"`: one PromQL instant query compared with one
/// threshold. The query must answer one number (aggregate with `sum`, `max`,
/// `histogram_quantile`...); no data, several series or NaN fail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusCheck {
    /// The server's base URL, e.g. `http://prometheus.internal:9090`.
    pub url: String,
    /// A template: `1000 * histogram_quantile(0.99, sum by (le) (rate(
    /// http_request_duration_seconds_bucket{env="{{source}}"}[1h])))`.
    pub query: Template,
    /// Passes when the value is below this.
    #[serde(default)]
    pub below: Option<f64>,
    /// Passes when the value is at most this.
    #[serde(default)]
    pub at_most: Option<f64>,
    /// Passes when the value is above this.
    #[serde(default)]
    pub above: Option<f64>,
    /// Passes when the value is at least this.
    #[serde(default)]
    pub at_least: Option<f64>,
    /// How the reason names the figure, a template: `p99 latency in
    /// {{source}} over 1h` gives "p99 latency in tst over 1h: 143 ms, must be
    /// below 100 ms"; unset, the reason starts at the value.
    #[serde(default)]
    pub what: Option<Template>,
    /// Written after numbers in the reason: `ms`, `%`, `req/s`.
    #[serde(default)]
    pub unit: Option<String>,
}

impl PrometheusCheck {
    /// The one threshold (validation guarantees exactly one).
    pub fn threshold(&self) -> Option<Threshold> {
        [
            self.below.map(Threshold::Below),
            self.at_most.map(Threshold::AtMost),
            self.above.map(Threshold::Above),
            self.at_least.map(Threshold::AtLeast),
        ]
        .into_iter()
        .flatten()
        .next()
    }

    fn thresholds_given(&self) -> usize {
        [self.below, self.at_most, self.above, self.at_least]
            .iter()
            .flatten()
            .count()
    }
}

/// A limit a measured value is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Below(f64),
    AtMost(f64),
    Above(f64),
    AtLeast(f64),
}

impl Threshold {
    /// True when `value` is on the good side.
    pub fn passes(self, value: f64) -> bool {
        match self {
            Threshold::Below(t) => value < t,
            Threshold::AtMost(t) => value <= t,
            Threshold::Above(t) => value > t,
            Threshold::AtLeast(t) => value >= t,
        }
    }

    pub fn limit(self) -> f64 {
        match self {
            Threshold::Below(t)
            | Threshold::AtMost(t)
            | Threshold::Above(t)
            | Threshold::AtLeast(t) => t,
        }
    }

    /// `below`, `at most`, ...: how a reason words it.
    pub fn words(self) -> &'static str {
        match self {
            Threshold::Below(_) => "below",
            Threshold::AtMost(_) => "at most",
            Threshold::Above(_) => "above",
            Threshold::AtLeast(_) => "at least",
        }
    }
}

/// `kind = "scan"`: no vulnerability at or above `fail_at` in the version's
/// image, from a Trivy JSON report (`source = "trivy"`, fetched from `url`) or
/// from ECR's scan of the image (`source = "ecr"`, needs `cloud = "aws"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanCheck {
    pub source: ScanSource,
    /// `source = "trivy"`: where the report is, a template:
    /// `https://ci.example.com/scans/{{service}}/{{version}}/trivy.json`.
    #[serde(default)]
    pub url: Option<Template>,
    /// `source = "trivy"`: sent as `Authorization: Bearer …`.
    #[serde(default)]
    pub token: Option<Secret>,
    /// The lowest severity that fails the check (default `high`).
    #[serde(default = "default_fail_at")]
    pub fail_at: Severity,
    /// Vulnerability ids accepted on purpose (`CVE-2024-1234`); they never fail.
    #[serde(default)]
    pub ignore: Vec<String>,
}

fn default_fail_at() -> Severity {
    Severity::High
}

/// Where scan findings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanSource {
    /// A Trivy JSON report (`trivy image --format json`) at `url`.
    Trivy,
    /// ECR's image scan (`DescribeImageScanFindings`) of the target's image.
    Ecr,
}

/// Vulnerability severities, lowest first. Scanners' `UNKNOWN`,
/// `INFORMATIONAL` and `UNDEFINED` rank below `low` and never fail a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[serde(alias = "LOW", alias = "Low")]
    Low,
    #[serde(alias = "MEDIUM", alias = "Medium")]
    Medium,
    #[serde(alias = "HIGH", alias = "High")]
    High,
    #[serde(alias = "CRITICAL", alias = "Critical")]
    Critical,
}

impl Severity {
    /// Highest first, as reasons list them.
    pub const DESCENDING: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// A scanner's severity word (any case); `None` for the ones below `low`.
    pub fn parse(word: &str) -> Option<Severity> {
        match word.to_ascii_uppercase().as_str() {
            "LOW" => Some(Severity::Low),
            "MEDIUM" | "MODERATE" => Some(Severity::Medium),
            "HIGH" | "IMPORTANT" => Some(Severity::High),
            "CRITICAL" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// `kind = "soak"`: the version has been live in the source environment for at
/// least `min`: its last successful deployment there is this version, and it
/// finished at least `min` ago.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoakCheck {
    /// How long the version must have run, e.g. `"24h"`.
    #[serde(with = "humantime_serde")]
    pub min: Duration,
    /// Where it must have run; default: the promotion's source (for a plain
    /// deploy, the environment's promotion source: `promote_from`, else the
    /// environment before it).
    #[serde(default)]
    pub env: Option<String>,
}

/// A text with `{{name}}` placeholders (spaces inside the braces allowed).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Template(String);

impl Template {
    pub fn new(text: impl Into<String>) -> Template {
        Template(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The placeholder names, in order; an error for a `{{` never closed.
    pub fn placeholders(&self) -> Result<Vec<&str>, String> {
        let mut names = Vec::new();
        let mut rest = self.0.as_str();
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                return Err("a `{{` is never closed by `}}`".to_owned());
            };
            names.push(after[..end].trim());
            rest = &after[end + 2..];
        }
        Ok(names)
    }

    /// True when the template uses placeholder `name`.
    pub fn uses(&self, name: &str) -> bool {
        self.placeholders().is_ok_and(|names| names.contains(&name))
    }

    /// The text with each placeholder replaced by `value(name)`; a name
    /// without a value (refused by validation) is kept as written.
    pub fn render(&self, value: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::with_capacity(self.0.len());
        let mut rest = self.0.as_str();
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                out.push_str(&rest[start..]);
                return out;
            };
            match value(after[..end].trim()) {
                Some(v) => out.push_str(&v),
                None => out.push_str(&rest[start..start + 2 + end + 2]),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }
}

/// Errors and warnings about every environment's checks.
pub(super) fn check(config: &Config) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let mut out = Out::default();
    for (i, env) in config.environments.iter().enumerate() {
        let mut names: HashSet<&str> = HashSet::new();
        for (j, spec) in env.checks.iter().enumerate() {
            let at = format!("environments[{i}].checks[{j}]");
            if !is_name(&spec.name) || spec.name.len() > 40 {
                out.error(
                    format!("{at}.name"),
                    format!(
                        "`{}` is not a valid check name: a lowercase letter, then `a-z`, `0-9` or `-`, at most 40",
                        spec.name
                    ),
                );
            } else if RESERVED_NAMES.contains(&spec.name.as_str()) {
                out.error(
                    format!("{at}.name"),
                    format!("`{}` is the name of a built-in check", spec.name),
                );
            } else if !names.insert(&spec.name) {
                out.error(
                    format!("{at}.name"),
                    format!("duplicate check name `{}` in `{}`", spec.name, env.name),
                );
            }
            // Whole seconds: the checklist says "no answer within Ns".
            if spec.timeout < Duration::from_secs(1) {
                out.error(format!("{at}.timeout"), "must be at least 1s");
            } else if spec.timeout > MAX_TIMEOUT {
                out.error(
                    format!("{at}.timeout"),
                    "must be at most 10m: someone is waiting for the checklist",
                );
            }
            kind(config, &at, spec, &mut out);
        }
    }
    (out.errors, out.warnings)
}

/// Findings in the order they are found (shared with the rest of validation).
type Out = super::validate::Findings;

fn kind(config: &Config, at: &str, spec: &CheckSpec, out: &mut Out) {
    match &spec.kind {
        CheckKind::Http(c) => {
            url_template(&format!("{at}.url"), &c.url, c.token.is_some(), out);
            if let Some(pointer) = &c.json_pointer
                && !(pointer.is_empty() || pointer.starts_with('/'))
            {
                out.error(
                    format!("{at}.json_pointer"),
                    format!("`{pointer}` is not a JSON pointer: it starts with `/` (`/status`)"),
                );
            }
            if let Some(value) = &c.equals {
                if c.json_pointer.is_none() {
                    out.error(format!("{at}.equals"), "needs `json_pointer`");
                }
                if !matches!(
                    value,
                    toml::Value::String(_)
                        | toml::Value::Integer(_)
                        | toml::Value::Float(_)
                        | toml::Value::Boolean(_)
                ) {
                    out.error(
                        format!("{at}.equals"),
                        "must be a string, a number or a boolean",
                    );
                }
            }
            label(&format!("{at}.what"), c.what.as_deref(), out);
        }
        CheckKind::Github(c) => {
            let part = |p: &str| {
                !p.is_empty()
                    && p.chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
                    && p != "."
                    && p != ".."
            };
            match c.repo.split_once('/') {
                Some((owner, name)) if part(owner) && part(name) => {}
                _ => out.error(
                    format!("{at}.repo"),
                    format!("`{}` is not `owner/name`", c.repo),
                ),
            }
            base_url(
                &format!("{at}.api_base"),
                &c.api_base,
                c.token.is_some(),
                out,
            );
            template(&format!("{at}.tag_template"), &c.tag_template, out);
            if c.tag_template.uses("commit") {
                out.error(
                    format!("{at}.tag_template"),
                    "is used when no commit is known, so it cannot use `{{commit}}`",
                );
            }
            let mut seen = HashSet::new();
            for name in &c.required {
                if name.trim().is_empty() {
                    out.error(format!("{at}.required"), "a check-run name is empty");
                } else if !seen.insert(name) {
                    out.error(
                        format!("{at}.required"),
                        format!("`{name}` is listed twice"),
                    );
                }
            }
            if c.token.is_none() {
                out.warn(
                    format!("{at}.token"),
                    "no token: only public repositories can be read, at 60 requests an hour",
                );
            }
            label(&format!("{at}.what"), c.what.as_deref(), out);
        }
        CheckKind::Prometheus(c) => {
            base_url(&format!("{at}.url"), &c.url, false, out);
            if c.query.as_str().trim().is_empty() {
                out.error(format!("{at}.query"), "must not be empty");
            }
            template(&format!("{at}.query"), &c.query, out);
            match c.thresholds_given() {
                1 => {}
                0 => out.error(
                    at.to_owned(),
                    "needs one threshold: `below`, `at_most`, `above` or `at_least`",
                ),
                _ => out.error(
                    at.to_owned(),
                    "has several thresholds; give one of `below`, `at_most`, `above`, `at_least`",
                ),
            }
            if let Some(t) = c.threshold()
                && !t.limit().is_finite()
            {
                out.error(at.to_owned(), "the threshold must be a finite number");
            }
            if let Some(what) = &c.what {
                template(&format!("{at}.what"), what, out);
                label(&format!("{at}.what"), Some(what.as_str()), out);
            }
            label(&format!("{at}.unit"), c.unit.as_deref(), out);
        }
        CheckKind::Scan(c) => {
            match (c.source, &c.url) {
                (ScanSource::Trivy, Some(url)) => {
                    url_template(&format!("{at}.url"), url, c.token.is_some(), out)
                }
                (ScanSource::Trivy, None) => out.error(
                    format!("{at}.url"),
                    "`source = \"trivy\"` needs the report's `url`",
                ),
                (ScanSource::Ecr, Some(_)) => out.error(
                    format!("{at}.url"),
                    "`source = \"ecr\"` reads ECR, not a URL; remove `url`",
                ),
                (ScanSource::Ecr, None) => {}
            }
            if c.source == ScanSource::Ecr {
                if c.token.is_some() {
                    out.error(
                        format!("{at}.token"),
                        "`source = \"ecr\"` uses the AWS credentials; remove `token`",
                    );
                }
                if config.cloud != CloudBackend::Aws {
                    out.error(
                        format!("{at}.source"),
                        "`source = \"ecr\"` needs `cloud = \"aws\"`",
                    );
                }
            }
            if c.ignore.iter().any(|id| id.trim().is_empty()) {
                out.error(format!("{at}.ignore"), "a vulnerability id is empty");
            }
        }
        CheckKind::Soak(c) => {
            if c.min.is_zero() {
                out.error(format!("{at}.min"), "must be more than 0s");
            }
            if let Some(env) = &c.env
                && !config.environments.iter().any(|e| e.name == *env)
            {
                out.error(
                    format!("{at}.env"),
                    format!("unknown environment `{env}` (write its canonical name)"),
                );
            }
        }
    }
}

/// `[a-z][a-z0-9-]*`: safe in chat (it cannot ping or format) and in lookups.
fn is_name(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Free text shown in chat: one short line.
fn label(key: &str, text: Option<&str>, out: &mut Out) {
    if let Some(text) = text
        && (text.trim().is_empty() || text.len() > 80 || text.chars().any(char::is_control))
    {
        out.error(key, "must be one line of 1 to 80 characters");
    }
}

/// Only known placeholders, every `{{` closed.
fn template(key: &str, t: &Template, out: &mut Out) {
    match t.placeholders() {
        Err(e) => out.error(key, e),
        Ok(names) => {
            for name in names {
                if !PLACEHOLDERS.contains(&name) {
                    let known: Vec<String> = PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{{{p}}}}}"))
                        .collect();
                    out.error(
                        key,
                        format!(
                            "unknown placeholder `{{{{{name}}}}}`; known: {}",
                            known.join(", ")
                        ),
                    );
                }
            }
        }
    }
}

/// A URL template that still parses as an http(s) URL once filled in.
fn url_template(key: &str, t: &Template, token: bool, out: &mut Out) {
    let before = out.errors.len();
    template(key, t, out);
    if out.errors.len() == before {
        let sample = t.render(|_| Some("x".to_owned()));
        base_url(key, &sample, token, out);
    }
}

/// An absolute http(s) URL; a token over plain HTTP to another machine is a warning.
fn base_url(key: &str, url: &str, token: bool, out: &mut Out) {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if token && u.scheme() == "http" && !loopback {
                out.warn(
                    key,
                    "the token would travel unencrypted over http://; use https://",
                );
            }
            if !u.username().is_empty() || u.password().is_some() {
                out.error(
                    key,
                    "must not carry credentials; use `token = { env = \"VAR\" }`",
                );
            }
        }
        Ok(_) => out.error(key, format!("`{url}` is not an http(s) URL")),
        Err(e) => out.error(key, format!("`{url}` is not a URL: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<CheckSpec, String> {
        toml::from_str::<CheckSpec>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn each_kind_reads_its_keys_with_defaults() {
        let github = spec(
            r#"name = "ci"
kind = "github"
repo = "acme/api"
required = ["unit", "e2e"]"#,
        )
        .unwrap();
        assert!(!github.skippable_in_emergency);
        assert_eq!(github.timeout, DEFAULT_TIMEOUT);
        let CheckKind::Github(g) = &github.kind else {
            panic!("{github:?}")
        };
        assert_eq!(g.api_base, "https://api.github.com");
        assert_eq!(g.tag_template.as_str(), "{{version}}");

        let prom = spec(
            r#"name = "p99"
kind = "prometheus"
url = "http://prom:9090"
query = "x"
below = 100
timeout = "5s"
skippable_in_emergency = true"#,
        )
        .unwrap();
        assert_eq!(prom.timeout, Duration::from_secs(5));
        let CheckKind::Prometheus(p) = &prom.kind else {
            panic!()
        };
        assert_eq!(p.threshold(), Some(Threshold::Below(100.0)));

        let scan = spec(
            r#"name = "scan"
kind = "scan"
source = "trivy"
url = "https://x/{{version}}.json"
fail_at = "CRITICAL""#,
        )
        .unwrap();
        let CheckKind::Scan(s) = &scan.kind else {
            panic!()
        };
        assert_eq!(s.fail_at, Severity::Critical);

        let soak = spec("name = \"soak\"\nkind = \"soak\"\nmin = \"24h\"").unwrap();
        let CheckKind::Soak(s) = &soak.kind else {
            panic!()
        };
        assert_eq!(s.min, Duration::from_secs(86_400));
    }

    #[test]
    fn a_misspelt_key_is_an_error_naming_it() {
        let e = spec(
            "name = \"p\"\nkind = \"prometheus\"\nurl = \"http://p\"\nqurey = \"x\"\nbelow = 1",
        )
        .unwrap_err();
        assert!(e.contains("qurey"), "{e}");
        let e = spec("name = \"s\"\nkind = \"soak\"\nmin = \"1h\"\nskipable_in_emergency = true")
            .unwrap_err();
        assert!(e.contains("skipable_in_emergency"), "{e}");
        let e = spec("name = \"s\"\nkind = \"smoke\"").unwrap_err();
        assert!(e.contains("smoke"), "{e}");
    }

    #[test]
    fn templates_list_and_fill_their_placeholders() {
        let t = Template::new("https://x/{{ service }}/{{version}}?e={{env}}");
        assert_eq!(t.placeholders().unwrap(), ["service", "version", "env"]);
        let filled = t.render(|name| match name {
            "service" => Some("api".into()),
            "version" => Some("1.3.0".into()),
            _ => None,
        });
        assert_eq!(filled, "https://x/api/1.3.0?e={{env}}");
        assert!(Template::new("a {{version").placeholders().is_err());
    }
}
