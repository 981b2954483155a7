//! The `[aws]` section: where the real fleet is. One ECS cluster; per
//! environment (and service) a target naming the two colours' ECS services and
//! target groups, the listener (or listener rule) whose forward weights split
//! traffic between them, the container and image repository a deploy changes;
//! and where request metrics come from (CloudWatch or Prometheus).
//!
//! Credentials are never configured here: the AWS SDK reads its default chain
//! (environment, profile, SSO, container or instance role).
//!
//! `check` validates shapes early, naming the key: ARNs of the right kind, region
//! and account; every environment served; and, for CloudWatch, analysis windows
//! of at least two minutes, because ALB metrics arrive in 60 s datapoints and a
//! shorter window sees at most one, often incomplete, datapoint.

mod arn;

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;

pub use arn::{Arn, Elb};

use super::{Config, Diagnostic};

/// CloudWatch publishes ALB metrics per minute; two datapoints is the least a
/// judgement can stand on.
pub const CLOUDWATCH_MIN_WINDOW: Duration = Duration::from_secs(120);

/// The placeholder a tag template must contain once.
const VERSION: &str = "{version}";

/// How switchyard reaches AWS and what it drives there.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Aws {
    /// Defaults to the region of the configured ARNs, then the SDK's chain.
    pub region: Option<String>,
    /// An endpoint other than AWS's own (moto, LocalStack); never set in production.
    pub endpoint_url: Option<String>,
    /// The ECS cluster (name or ARN) every target's services run in.
    pub cluster: String,
    pub metrics: Metrics,
    /// One per environment and service.
    pub targets: Vec<Target>,
}

/// Where a colour's requests, errors and latency come from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum Metrics {
    Cloudwatch(CloudWatch),
    Prometheus(Prometheus),
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::Cloudwatch(CloudWatch::default())
    }
}

impl Metrics {
    pub fn cloudwatch(&self) -> Option<&CloudWatch> {
        match self {
            Metrics::Cloudwatch(c) => Some(c),
            Metrics::Prometheus(_) => None,
        }
    }

    pub fn prometheus(&self) -> Option<&Prometheus> {
        match self {
            Metrics::Prometheus(p) => Some(p),
            Metrics::Cloudwatch(_) => None,
        }
    }
}

/// The load balancer's `AWS/ApplicationELB` metrics, per target group.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudWatch {
    /// The load balancer ARN for targets that do not name their own.
    pub load_balancer: Option<String>,
}

/// PromQL instant queries, one per figure. Placeholders: `{{color}}` (blue or
/// green), `{{version}}` (what that colour runs), `{{window}}` (e.g. `120s`),
/// `{{env}}`, `{{service}}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prometheus {
    /// The server's base URL, e.g. `http://prometheus.internal:9090`.
    pub url: String,
    /// Requests over the window (a count).
    pub requests: String,
    /// 5xx responses over the window (a count).
    pub errors: String,
    /// 99th percentile latency over the window, in milliseconds.
    pub p99_ms: String,
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// The placeholders a query template may use.
pub const QUERY_PLACEHOLDERS: [&str; 5] = ["color", "version", "window", "env", "service"];

/// One service in one environment on AWS: two ECS services (the colours), their
/// target groups, and the route in front of them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The environment's canonical name.
    pub env: String,
    /// The switchyard service; defaults to the first `[[services]]` entry.
    #[serde(default)]
    pub service: Option<String>,
    /// ECS service names of the two colours.
    pub blue_service: String,
    pub green_service: String,
    /// Target group ARNs, one per colour.
    pub blue_target_group: String,
    pub green_target_group: String,
    /// The listener whose default action forwards to both target groups...
    #[serde(default)]
    pub listener: Option<String>,
    /// ...or the one listener rule that does (exactly one of the two).
    #[serde(default)]
    pub listener_rule: Option<String>,
    /// The container in the task definition whose image a deploy replaces.
    pub container: String,
    /// ECR repository: a name in the targets' account and region, or a full
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME` URI.
    pub repository: String,
    /// The image tag for a version: `v{version}` turns `1.3.0` into `v1.3.0`.
    #[serde(default = "default_tag_template")]
    pub tag_template: String,
    /// Scale the standby colour to zero this long after a deployment finishes;
    /// unset keeps it running, so a rollback is one weight change.
    #[serde(default, with = "humantime_serde::option")]
    pub scale_down_after: Option<Duration>,
    /// The load balancer ARN for CloudWatch metrics (else `[aws.metrics]`'s).
    #[serde(default)]
    pub load_balancer: Option<String>,
}

fn default_tag_template() -> String {
    VERSION.to_owned()
}

impl Target {
    /// The switchyard service this target serves, given the default.
    pub fn service_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.service.as_deref().unwrap_or(default)
    }

    /// The image tag for `version`, or why it cannot be one.
    pub fn tag(&self, version: &str) -> Result<String, String> {
        let tag = self.tag_template.replacen(VERSION, version, 1);
        if is_tag(&tag) {
            Ok(tag)
        } else {
            Err(format!(
                "`{tag}` (from version `{version}`) is not a valid image tag: \
                 letters, digits, `_`, `.` and `-`, at most 128"
            ))
        }
    }

    /// The version an image tag stands for: the template's text around
    /// `{version}` removed, or the tag as it is when it does not fit the
    /// template (an image someone deployed by hand).
    pub fn version_of(&self, tag: &str) -> String {
        let (prefix, suffix) = self
            .tag_template
            .split_once(VERSION)
            .unwrap_or((self.tag_template.as_str(), ""));
        tag.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .filter(|v| !v.is_empty())
            .unwrap_or(tag)
            .to_owned()
    }

    /// The load balancer ARN CloudWatch metrics are read for.
    pub fn load_balancer_arn<'a>(&'a self, metrics: &'a Metrics) -> Option<&'a str> {
        self.load_balancer
            .as_deref()
            .or_else(|| metrics.cloudwatch()?.load_balancer.as_deref())
    }

    /// The ARN of the listener or rule that splits traffic.
    pub fn route_arn(&self) -> Option<&str> {
        self.listener.as_deref().or(self.listener_rule.as_deref())
    }

    /// The CloudWatch `LoadBalancer` dimension, `app/NAME/ID`, of the load
    /// balancer metrics are read for.
    pub fn load_balancer_dimension(&self, metrics: &Metrics) -> Option<String> {
        Arn::parse(self.load_balancer_arn(metrics)?)
            .ok()?
            .load_balancer_dimension()
    }

    /// The CloudWatch `TargetGroup` dimensions (`targetgroup/NAME/ID`) of the
    /// blue and the green target group.
    pub fn target_group_dimensions(&self) -> Option<(String, String)> {
        let dimension = |arn: &str| {
            Arn::elb(arn, Elb::TargetGroup)
                .ok()
                .map(|a| a.resource.to_owned())
        };
        Some((
            dimension(&self.blue_target_group)?,
            dimension(&self.green_target_group)?,
        ))
    }

    /// The partition, region and account of the target's resources (read from
    /// the blue target group's ARN).
    pub fn partition_region_account(&self) -> Option<(&str, &str, &str)> {
        let arn = Arn::parse(&self.blue_target_group).ok()?;
        Some((arn.partition, arn.region, arn.account))
    }

    /// The ECR repository as (registry account, region, name); the first two
    /// only when `repository` is a full URI.
    pub fn repository_parts(&self) -> Option<(Option<&str>, Option<&str>, &str)> {
        repository_parts(&self.repository)
    }
}

/// Docker's tag rule: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_tag(tag: &str) -> bool {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-';
    let mut bytes = tag.bytes();
    tag.len() <= 128
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && bytes.all(ok)
}

/// ECR's repository name rule: lowercase words joined by `.`, `_`, `-`, `/`.
fn is_repository_name(name: &str) -> bool {
    (2..=256).contains(&name.len())
        && name.split('/').all(|part| {
            !part.is_empty()
                && part.split(['.', '_', '-']).all(|w| {
                    !w.is_empty()
                        && w.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
        })
}

/// An ECR repository as configured: the registry (account) if given, and the name.
fn repository_parts(repository: &str) -> Option<(Option<&str>, Option<&str>, &str)> {
    match repository.split_once('/') {
        Some((host, name)) if host.contains(".dkr.ecr.") => {
            // ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]
            let (account, rest) = host.split_once(".dkr.ecr.")?;
            let region = rest.split('.').next()?;
            Some((Some(account), Some(region), name))
        }
        _ => Some((None, None, repository)),
    }
}

/// Names ECS accepts for services: letters, digits, `-` and `_`, up to 255.
fn is_ecs_name(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Findings in the order they are found (shared with the rest of validation).
type Out = super::validate::Findings;

/// Errors and warnings about `[aws]`, each naming its key.
pub(super) fn check(aws: &Aws, config: &Config) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let mut out = Out::default();
    if aws.cluster.trim().is_empty() {
        out.error("aws.cluster", "name the ECS cluster the services run in");
    }
    if let Some(region) = &aws.region
        && Arn::parse(&format!("arn:aws:ecs:{region}:000000000000:x")).is_err()
    {
        out.error(
            "aws.region",
            format!("`{region}` is not a region name such as `eu-west-1`"),
        );
    }
    if let Some(url) = &aws.endpoint_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            out.error("aws.endpoint_url", format!("`{url}` is not an http(s) URL"));
        } else {
            out.warn(
                "aws.endpoint_url",
                "set: every AWS call goes to this endpoint instead of AWS (for moto or LocalStack only)",
            );
        }
    }
    metrics(aws, &mut out);
    // The region every ARN must share: the configured one, else the first seen.
    let mut region = aws.region.clone();
    let default_service = config.services.first().map(|s| s.name.as_str());
    let mut seen = BTreeSet::new();
    for (i, target) in aws.targets.iter().enumerate() {
        let at = format!("aws.targets[{i}]");
        target_names(config, target, &at, &mut out);
        let service = target.service_or(default_service.unwrap_or(""));
        if !seen.insert((target.env.as_str(), service)) {
            out.error(
                format!("{at}.env"),
                format!("a second target for `{}`/`{service}`", target.env),
            );
        }
        target_arns(aws, target, &at, &mut region, &mut out);
    }
    for env in &config.environments {
        if !aws.targets.iter().any(|t| t.env == env.name) {
            out.error(
                "aws.targets",
                format!(
                    "environment `{}` has no target: add an [[aws.targets]] entry with env = \"{}\"",
                    env.name, env.name
                ),
            );
        }
    }
    if aws.metrics.cloudwatch().is_some() {
        cloudwatch_windows(aws, config, &mut out);
    }
    (out.errors, out.warnings)
}

fn metrics(aws: &Aws, out: &mut Out) {
    match &aws.metrics {
        Metrics::Cloudwatch(cw) => {
            if let Some(lb) = &cw.load_balancer
                && let Err(e) = Arn::elb(lb, Elb::LoadBalancer)
            {
                out.error("aws.metrics.load_balancer", e);
            }
        }
        Metrics::Prometheus(p) => {
            if !(p.url.starts_with("http://") || p.url.starts_with("https://")) {
                out.error(
                    "aws.metrics.url",
                    format!("`{}` is not an http(s) URL", p.url),
                );
            }
            for (key, query) in [
                ("requests", &p.requests),
                ("errors", &p.errors),
                ("p99_ms", &p.p99_ms),
            ] {
                let key = format!("aws.metrics.{key}");
                if query.trim().is_empty() {
                    out.error(key, "must be a PromQL query");
                    continue;
                }
                for name in placeholders(query) {
                    if !QUERY_PLACEHOLDERS.contains(&name) {
                        out.error(
                            key.clone(),
                            format!(
                                "unknown placeholder `{{{{{name}}}}}`; known: {}",
                                QUERY_PLACEHOLDERS
                                    .map(|p| format!("{{{{{p}}}}}"))
                                    .join(", ")
                            ),
                        );
                    }
                }
            }
            if p.timeout.is_zero() {
                out.error("aws.metrics.timeout", "must be more than 0s");
            }
        }
    }
}

/// The names inside `{{...}}` in a query template.
pub fn placeholders(query: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = query;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                names.push(after[..end].trim());
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    names
}

fn target_names(config: &Config, target: &Target, at: &str, out: &mut Out) {
    if !config.environments.iter().any(|e| e.name == target.env) {
        let hint = if config.environment(&target.env).is_some() {
            " (an alias: write the canonical name)"
        } else {
            ""
        };
        out.error(
            format!("{at}.env"),
            format!("`{}` is not a configured environment{hint}", target.env),
        );
    }
    match (&target.service, config.services.first()) {
        (Some(name), _) if !config.services.iter().any(|s| &s.name == name) => {
            out.error(
                format!("{at}.service"),
                format!("`{name}` is not a configured service"),
            );
        }
        (None, None) => out.error(
            format!("{at}.service"),
            "no [[services]] are configured, so the target serves nothing",
        ),
        _ => {}
    }
    for (key, name) in [
        ("blue_service", &target.blue_service),
        ("green_service", &target.green_service),
    ] {
        if !is_ecs_name(name) {
            out.error(
                format!("{at}.{key}"),
                format!("`{name}` is not an ECS service name (letters, digits, `-`, `_`)"),
            );
        }
    }
    if target.blue_service == target.green_service {
        out.error(
            format!("{at}.green_service"),
            "blue and green must be two different ECS services",
        );
    }
    if target.container.trim().is_empty() {
        out.error(
            format!("{at}.container"),
            "name the container whose image a deploy replaces",
        );
    }
    match repository_parts(&target.repository) {
        Some((_, _, name)) if is_repository_name(name) => {}
        _ => out.error(
            format!("{at}.repository"),
            format!(
                "`{}` is not an ECR repository name or ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME URI",
                target.repository
            ),
        ),
    }
    if target.tag_template.matches(VERSION).count() != 1 {
        out.error(
            format!("{at}.tag_template"),
            format!("must contain `{VERSION}` exactly once, e.g. `v{VERSION}`"),
        );
    } else if !is_tag(&target.tag_template.replace(VERSION, "1.0.0")) {
        out.error(
            format!("{at}.tag_template"),
            format!(
                "`{}` does not make valid image tags (letters, digits, `_`, `.`, `-`)",
                target.tag_template
            ),
        );
    }
}

fn target_arns(aws: &Aws, target: &Target, at: &str, region: &mut Option<String>, out: &mut Out) {
    let mut account: Option<String> = None;
    let mut arn = |key: &str, text: &str, kind: Elb, out: &mut Out| -> Option<String> {
        let key = format!("{at}.{key}");
        match Arn::elb(text, kind) {
            Err(e) => {
                out.error(key, e);
                None
            }
            Ok(arn) => {
                match region {
                    Some(r) if r != arn.region => out.error(
                        key.clone(),
                        format!("is in region `{}`, not `{r}`", arn.region),
                    ),
                    Some(_) => {}
                    None => *region = Some(arn.region.to_owned()),
                }
                match &account {
                    Some(a) if a != arn.account => out.error(
                        key,
                        format!(
                            "is in account {}, the target's other resources in {a}",
                            arn.account
                        ),
                    ),
                    Some(_) => {}
                    None => account = Some(arn.account.to_owned()),
                }
                arn.load_balancer_dimension()
            }
        }
    };
    arn(
        "blue_target_group",
        &target.blue_target_group,
        Elb::TargetGroup,
        out,
    );
    arn(
        "green_target_group",
        &target.green_target_group,
        Elb::TargetGroup,
        out,
    );
    if target.blue_target_group == target.green_target_group {
        out.error(
            format!("{at}.green_target_group"),
            "blue and green need two different target groups",
        );
    }
    let route_lb = match (&target.listener, &target.listener_rule) {
        (Some(listener), None) => arn("listener", listener, Elb::Listener, out),
        (None, Some(rule)) => arn("listener_rule", rule, Elb::ListenerRule, out),
        (Some(_), Some(_)) => {
            out.error(
                format!("{at}.listener_rule"),
                "set `listener` (its default action) or `listener_rule`, not both",
            );
            None
        }
        (None, None) => {
            out.error(
                format!("{at}.listener"),
                "set `listener` (its default action splits traffic) or `listener_rule`",
            );
            None
        }
    };
    if aws.metrics.cloudwatch().is_none() {
        return;
    }
    let (key, lb) = match (
        &target.load_balancer,
        target.load_balancer_arn(&aws.metrics),
    ) {
        (Some(lb), _) => (format!("{at}.load_balancer"), lb.as_str()),
        (None, Some(lb)) => ("aws.metrics.load_balancer".to_owned(), lb),
        (None, None) => {
            out.error(
                format!("{at}.load_balancer"),
                "CloudWatch metrics need the load balancer ARN (here or in [aws.metrics])",
            );
            return;
        }
    };
    // The default load balancer was checked once in `metrics`.
    let lb_dimension = if target.load_balancer.is_some() {
        arn("load_balancer", lb, Elb::LoadBalancer, out)
    } else {
        Arn::parse(lb)
            .ok()
            .and_then(|a| a.load_balancer_dimension())
    };
    if let (Some(lb), Some(route)) = (lb_dimension, route_lb)
        && lb != route
    {
        out.error(
            key,
            format!("is load balancer `{lb}`, but the target's route belongs to `{route}`"),
        );
    }
}

/// CloudWatch windows under two minutes: an error for the plan an environment
/// uses by default, a warning for the plans chat can ask for by strategy name.
fn cloudwatch_windows(aws: &Aws, config: &Config, out: &mut Out) {
    let explain = "CloudWatch reports ALB metrics in 60 s datapoints, so a shorter window \
                   sees at most one, often incomplete, datapoint";
    let mut reported = BTreeSet::new();
    for env in &config.environments {
        if !aws.targets.iter().any(|t| t.env == env.name) {
            continue;
        }
        let Some(plan) = config.plans.get(&env.plan) else {
            continue;
        };
        let window = plan.analysis.window();
        if window < CLOUDWATCH_MIN_WINDOW && reported.insert(env.plan.clone()) {
            out.error(
                format!("plans.{}.analysis.window", env.plan),
                format!(
                    "is {} (environment `{}` uses this plan) but must be at least 2m with \
                     CloudWatch metrics: {explain}",
                    humantime::format_duration(window),
                    env.name
                ),
            );
        }
    }
    for (name, plan) in &config.plans {
        let window = plan.analysis.window();
        if window < CLOUDWATCH_MIN_WINDOW && !reported.contains(name) {
            out.warn(
                format!("plans.{name}.analysis.window"),
                format!(
                    "is {}: a `{name}` deployment asked for in chat would be judged on \
                     CloudWatch windows under 2m ({explain})",
                    humantime::format_duration(window)
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(template: &str) -> Target {
        Target {
            env: "prd".into(),
            service: None,
            blue_service: "api-blue".into(),
            green_service: "api-green".into(),
            blue_target_group: String::new(),
            green_target_group: String::new(),
            listener: None,
            listener_rule: None,
            container: "api".into(),
            repository: "storefront-api".into(),
            tag_template: template.into(),
            scale_down_after: None,
            load_balancer: None,
        }
    }

    #[test]
    fn a_tag_template_maps_versions_to_tags_and_back() {
        let prd = target("v{version}");
        assert_eq!(prd.tag("1.3.0").unwrap(), "v1.3.0");
        assert_eq!(prd.version_of("v1.3.0"), "1.3.0");
        let dev = target("{version}");
        let tag = "main-a1b2c3d-20250823143022";
        assert_eq!(dev.tag(tag).unwrap(), tag);
        assert_eq!(dev.version_of(tag), tag);
        // An image deployed by hand keeps its tag as the version.
        assert_eq!(prd.version_of("latest"), "latest");
    }

    #[test]
    fn a_version_that_cannot_be_a_docker_tag_is_refused() {
        let err = target("{version}").tag("1.3.0+build.5").unwrap_err();
        assert!(err.contains("not a valid image tag"), "{err}");
    }

    #[test]
    fn placeholders_are_found_in_query_templates() {
        let q = r#"sum(increase(http_requests_total{color="{{color}}",v="{{ version }}"}[{{window}}]))"#;
        assert_eq!(placeholders(q), ["color", "version", "window"]);
    }

    #[test]
    fn repositories_are_names_or_ecr_uris() {
        assert!(is_repository_name("storefront/api-server"));
        assert!(!is_repository_name("Storefront"));
        let uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/storefront-api";
        assert_eq!(
            repository_parts(uri),
            Some((Some("123456789012"), Some("eu-west-1"), "storefront-api"))
        );
    }
}
