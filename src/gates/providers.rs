//! Checks from the outside world, configured per environment
//! (`[[environments.checks]]`, see [`crate::config::checks`]): `http` (a smoke
//! test or E2E result URL), `github` (the CI runs of the version's commit),
//! `prometheus` (a PromQL query against a threshold), `scan` (image
//! vulnerabilities from Trivy or ECR) and `soak` (time live in the source).
//!
//! [`configured`] turns the specs into [`Check`]s, appended after the built-in
//! ones in file order. Each provider answers pass or fail with one line; a
//! provider that cannot be asked (unreachable, slow, refusing, talking
//! nonsense) fails with the reason, because a check that cannot tell has not
//! passed. The time limit is the spec's `timeout`, enforced by [`super::run`].

mod fetch;
mod github;
mod http;
mod prometheus;
mod scan;
mod soak;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Check, CheckContext, Verdict};
use crate::clock::Clock;
use crate::config::CheckSpec;
use crate::config::checks::{CheckKind, ScanSource, Template};
use crate::store::Build;

pub use scan::{AwsScans, Finding, ImageScan, ScanFindings};

/// What the configured checks need besides their spec.
#[derive(Clone)]
pub struct Providers {
    /// How long a version has soaked is measured on this clock.
    pub clock: Clock,
    /// The source environment when the command names none (a plain deploy):
    /// the target's promotion source. Used by `soak` and `{{source}}`.
    pub default_source: Option<String>,
    /// Image scan findings (ECR on AWS); `None` where the backend has none, so
    /// a `scan` check with `source = "ecr"` fails saying so.
    pub scans: Option<Arc<dyn ScanFindings>>,
}

/// The checks `specs` describe, in order.
pub fn configured(specs: &[CheckSpec], providers: &Providers) -> Vec<Box<dyn Check>> {
    specs
        .iter()
        .map(|spec| {
            let provider: Box<dyn Provider> = match &spec.kind {
                CheckKind::Http(c) => Box::new(http::HttpProbe::new(c)),
                CheckKind::Github(c) => Box::new(github::GithubRuns::new(c)),
                CheckKind::Prometheus(c) => Box::new(prometheus::PromQuery::new(c)),
                CheckKind::Scan(c) => match c.source {
                    ScanSource::Trivy => Box::new(scan::TrivyReport::new(c)),
                    ScanSource::Ecr => Box::new(scan::EcrScan::new(c, providers.scans.clone())),
                },
                CheckKind::Soak(c) => Box::new(soak::Soak::new(c, providers.clock)),
            };
            Box::new(Configured {
                name: spec.name.clone(),
                skippable: spec.skippable_in_emergency,
                timeout: spec.timeout,
                default_source: providers.default_source.clone(),
                provider,
            }) as Box<dyn Check>
        })
        .collect()
}

/// One configured check: the spec's common keys around its provider.
struct Configured {
    name: String,
    skippable: bool,
    timeout: Duration,
    default_source: Option<String>,
    provider: Box<dyn Provider>,
}

#[async_trait]
impl Check for Configured {
    fn name(&self) -> &str {
        &self.name
    }

    fn skippable_in_emergency(&self) -> bool {
        self.skippable
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn run(&self, ctx: &CheckContext) -> Verdict {
        let scope = Scope {
            ctx,
            source: ctx.source.as_deref().or(self.default_source.as_deref()),
        };
        self.provider.check(&scope).await
    }
}

/// What a provider does; the common keys are [`Configured`]'s.
#[async_trait]
trait Provider: Send + Sync {
    async fn check(&self, scope: &Scope<'_>) -> Verdict;
}

/// The change being checked, as providers see it.
struct Scope<'a> {
    ctx: &'a CheckContext,
    /// The promotion's source, else the target's promotion source.
    source: Option<&'a str>,
}

impl Scope<'_> {
    /// The build CI announced for the version; a store failure is a reason.
    async fn build(&self) -> Result<Option<Build>, String> {
        self.ctx
            .store
            .build(&self.ctx.service, &self.ctx.version)
            .await
            .map_err(|error| {
                tracing::warn!(%error, "check could not read the build");
                "could not read the version's build from the store; try again".to_owned()
            })
    }

    /// `template` filled in, each value passed through `escape`. A value the
    /// template needs and the change lacks (no source, no known commit) is a
    /// reason.
    async fn fill(
        &self,
        template: &Template,
        escape: fn(&str) -> String,
    ) -> Result<String, String> {
        let commit = if template.uses("commit") {
            match self.build().await? {
                Some(build) if !build.commit.is_empty() => Some(build.commit),
                _ => {
                    return Err(format!(
                        "CI announced no build of {} {}, so its commit is unknown",
                        self.ctx.service, self.ctx.version
                    ));
                }
            }
        } else {
            None
        };
        if template.uses("source") && self.source.is_none() {
            return Err(no_source(self.ctx));
        }
        Ok(template.render(|name| {
            let value = match name {
                "version" => Some(self.ctx.version.as_str()),
                "service" => Some(self.ctx.service.as_str()),
                "env" => Some(self.ctx.target.as_str()),
                "source" => self.source,
                "commit" => commit.as_deref(),
                _ => None,
            };
            value.map(escape)
        }))
    }
}

/// Why a check about the source environment cannot run.
fn no_source(ctx: &CheckContext) -> String {
    format!(
        "no source environment: the command names none and {} has no promotion source",
        ctx.target
    )
}

/// A number as a reason shows it: at most three decimals (three significant
/// digits below one), no trailing zeros.
fn number(value: f64) -> String {
    // Beyond 2^53 there are no decimals to round (and `* 1000` could overflow).
    if value.abs() >= 9e15 {
        return format!("{value}");
    }
    let rounded = if value.abs() >= 1.0 || value == 0.0 {
        (value * 1000.0).round() / 1000.0
    } else {
        let digits = 2 - value.abs().log10().floor() as i32;
        let scale = 10f64.powi(digits.clamp(0, 15));
        (value * scale).round() / scale
    };
    format!("{rounded}")
}

/// `names` joined, at most `max` of them, then "and N more".
fn some_of(names: &[String], max: usize) -> String {
    let mut out = names
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > max {
        out.push_str(&format!(" and {} more", names.len() - max));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well_in_reasons() {
        assert_eq!(number(143.0), "143");
        assert_eq!(number(97.24), "97.24");
        assert_eq!(number(100.0004), "100");
        assert_eq!(number(0.012345), "0.0123");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-2.5), "-2.5");
        assert_eq!(number(1e300), format!("{}", 1e300));
    }

    #[test]
    fn long_lists_are_cut() {
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(some_of(&names, 5), "a, b, c");
        assert_eq!(some_of(&names, 2), "a, b and 1 more");
    }

    #[test]
    fn configured_names_never_shadow_builtin_ones() {
        let builtin: Vec<String> = super::super::builtin(true)
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        for name in builtin.iter().map(String::as_str).chain(["image-exists"]) {
            assert!(
                crate::config::checks::RESERVED_NAMES.contains(&name),
                "{name} is not reserved"
            );
        }
    }
}
