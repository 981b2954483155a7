//! The pre-promotion checklist: before a deployment or promotion starts, every
//! [`Check`] looks at the world (the store's records, the cloud's live state)
//! and answers pass, warn or fail with a one-line reason. Any fail stops the
//! change; a dry run shows the checklist and stops anyway.
//!
//! Checks are pluggable: [`builtin`] returns the ones that need no outside
//! service, and [`providers`] the ones an environment configures (CI runs,
//! smoke tests, PromQL thresholds, image scans, soak time). Each check has a name (what the checklist shows) and says whether an
//! emergency deployment may skip it. [`run`] runs them concurrently, each under
//! its own time limit so one slow provider cannot hold a deployment forever,
//! and reports them in the order they were given.

mod builtin;
mod checklist;
mod image;
mod join;
pub mod providers;

use std::time::Duration;

use async_trait::async_trait;

use crate::cloud::Cloud;
use crate::store::Store;

pub use builtin::{
    SourceHealthy, SourceLastSuccess, TargetIdle, TargetUnlocked, VersionChanges, builtin,
};
pub use checklist::{CheckResult, Checklist, Outcome, Verdict};
pub use image::{ImageExists, ImageRegistry};

/// What the checklist may ask beyond the cloud ports, where the backend has
/// it: the image registry (the image check) and its vulnerability scans (the
/// `scan` provider with `source = "ecr"`). The simulator has neither.
#[derive(Clone, Default)]
pub struct Registry {
    pub images: Option<std::sync::Arc<dyn ImageRegistry>>,
    pub scans: Option<std::sync::Arc<dyn providers::ScanFindings>>,
}

impl Registry {
    /// ECR for an AWS fleet: the image check and ECR's scan findings.
    pub fn aws(cloud: std::sync::Arc<crate::cloud::aws::AwsCloud>) -> Registry {
        let scans = providers::AwsScans {
            cloud: cloud.clone(),
            scans: cloud.scans(),
        };
        Registry {
            images: Some(cloud),
            scans: Some(std::sync::Arc::new(scans)),
        }
    }
}

/// How long a check may take unless it says otherwise; past it the check fails.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a check looks at: one service, the version about to go out, where it
/// comes from and where it goes.
#[derive(Clone)]
pub struct CheckContext {
    pub store: Store,
    pub cloud: Cloud,
    pub service: String,
    pub version: String,
    /// The environment a promotion comes from; `None` for a plain deploy, where
    /// checks about the source fail (they have nothing to look at).
    pub source: Option<String>,
    /// The environment the version goes to.
    pub target: String,
}

/// One item of the checklist.
#[async_trait]
pub trait Check: Send + Sync {
    /// Short and stable, shown in the checklist (`source-healthy`).
    fn name(&self) -> &str;

    /// True when an emergency (hotfix) deployment may skip this check. Checks
    /// whose failure the engine would refuse anyway, or that guard against
    /// promoting something broken, say false.
    fn skippable_in_emergency(&self) -> bool;

    /// How long the check may take before it counts as failed.
    fn timeout(&self) -> Duration {
        DEFAULT_TIMEOUT
    }

    /// Looks at the world. Errors reading it are a [`Outcome::Fail`] with a
    /// reason, never a panic: a check that cannot tell has not passed.
    async fn run(&self, ctx: &CheckContext) -> Verdict;
}

/// Runs `checks` concurrently and lists their results in the order of `checks`.
/// With `emergency`, checks that are skippable in an emergency do not run and
/// are listed as [`Outcome::Skipped`].
pub async fn run(checks: &[Box<dyn Check>], ctx: &CheckContext, emergency: bool) -> Checklist {
    let (report, _) = tokio::sync::mpsc::unbounded_channel();
    run_reporting(checks, ctx, emergency, report).await
}

/// As [`run`], and also sends each result to `report` the moment its check
/// finishes, so a slow provider's neighbours can be shown while it runs.
pub async fn run_reporting(
    checks: &[Box<dyn Check>],
    ctx: &CheckContext,
    emergency: bool,
    report: tokio::sync::mpsc::UnboundedSender<CheckResult>,
) -> Checklist {
    let results = join::all(checks.iter().map(|check| {
        let report = report.clone();
        async move {
            let result = run_one(check.as_ref(), ctx, emergency).await;
            // Nobody listening is fine: the checklist is returned anyway.
            let _ = report.send(result.clone());
            result
        }
    }))
    .await;
    Checklist { results }
}

async fn run_one(check: &dyn Check, ctx: &CheckContext, emergency: bool) -> CheckResult {
    let name = check.name().to_owned();
    if emergency && check.skippable_in_emergency() {
        return CheckResult::new(
            name,
            Verdict::skipped("skipped for an emergency deployment"),
        );
    }
    let limit = check.timeout();
    let verdict = match tokio::time::timeout(limit, check.run(ctx)).await {
        Ok(verdict) => verdict,
        Err(_) => {
            tracing::warn!(check = %name, ?limit, "check timed out");
            Verdict::fail(format!(
                "no answer within {}s, so it cannot vouch for this change",
                limit.as_secs()
            ))
        }
    };
    CheckResult::new(name, verdict)
}
