//! Source checks: the version runs well where it is promoted from, and it is
//! what last succeeded there (not an older build that happens to be tagged the
//! same, nor one a later deployment replaced).

use async_trait::async_trait;

use crate::cloud::ServiceRef;
use crate::store::DeploymentState;

use super::super::{Check, CheckContext, Verdict};
use super::{live, store_failed};

/// How many of the source environment's newest deployments are searched for
/// the service's last success. The store reads by environment, not service;
/// this bounds the read while reaching far beyond any real release cadence.
const HISTORY_SCAN: u32 = 10_000;

/// The version is live in the source environment (all traffic on a colour
/// running it) and every task of that colour is healthy.
#[derive(Debug, Clone, Copy, Default)]
pub struct SourceHealthy;

#[async_trait]
impl Check for SourceHealthy {
    fn name(&self) -> &str {
        "source-healthy"
    }

    /// Never: promoting a version that is broken upstream is what the
    /// checklist exists to stop.
    fn skippable_in_emergency(&self) -> bool {
        false
    }

    async fn run(&self, ctx: &CheckContext) -> Verdict {
        let Some(source) = &ctx.source else {
            return no_source();
        };
        let svc = ServiceRef::new(source, &ctx.service);
        let (colour, readiness) = match live(&ctx.cloud, &svc).await {
            Ok(live) => live,
            Err(why) => return Verdict::fail(why),
        };
        let version = &ctx.version;
        let tasks = format!("{}/{}", readiness.healthy, readiness.desired);
        match readiness.version.as_deref() {
            Some(running) if running == version && readiness.is_ready() => Verdict::pass(format!(
                "{version} is live in {source} on {colour}, {tasks} tasks healthy"
            )),
            Some(running) if running == version => Verdict::fail(format!(
                "{version} is live in {source} but only {tasks} tasks are healthy"
            )),
            Some(running) => Verdict::fail(format!("{source} runs {running}, not {version}")),
            None => Verdict::fail(format!("nothing runs in {svc}")),
        }
    }
}

/// The newest succeeded deployment of the service in the source environment is
/// this version. With no deployments recorded there at all (a fleet switchyard
/// has not deployed to yet) the live version stands in for the record.
#[derive(Debug, Clone, Copy, Default)]
pub struct SourceLastSuccess;

#[async_trait]
impl Check for SourceLastSuccess {
    fn name(&self) -> &str {
        "source-last-success"
    }

    /// Yes: it is about order, not health; `source-healthy` still runs.
    fn skippable_in_emergency(&self) -> bool {
        true
    }

    async fn run(&self, ctx: &CheckContext) -> Verdict {
        let Some(source) = &ctx.source else {
            return no_source();
        };
        let history = match ctx.store.history(Some(source), HISTORY_SCAN).await {
            Ok(history) => history,
            Err(error) => return store_failed("the deployment history", &error),
        };
        let (service, version) = (&ctx.service, &ctx.version);
        if !history.iter().any(|d| &d.service == service) {
            return unrecorded(ctx, source).await;
        }
        // History is newest first, so the first success is the last one.
        let last = history
            .iter()
            .find(|d| &d.service == service && d.state == DeploymentState::Succeeded);
        match last {
            Some(d) if &d.version == version => Verdict::pass(format!(
                "{version} was the last successful deployment of {service} to {source} (#{})",
                d.id
            )),
            Some(d) => Verdict::fail(format!(
                "the last successful deployment of {service} to {source} was {} (#{}), \
                 not {version}",
                d.version, d.id
            )),
            None => Verdict::fail(format!(
                "no deployment of {service} to {source} has succeeded yet"
            )),
        }
    }
}

/// No records: pass only if the version is what the source runs now.
async fn unrecorded(ctx: &CheckContext, source: &str) -> Verdict {
    let svc = ServiceRef::new(source, &ctx.service);
    match live(&ctx.cloud, &svc).await {
        Ok((_, readiness)) if readiness.version.as_deref() == Some(ctx.version.as_str()) => {
            Verdict::pass("no deployments recorded; running version checked instead")
        }
        Ok((_, readiness)) => Verdict::fail(format!(
            "no deployments recorded, and {source} runs {}, not {}",
            readiness.version.as_deref().unwrap_or("nothing"),
            ctx.version
        )),
        Err(why) => Verdict::fail(format!("no deployments recorded, and {why}")),
    }
}

fn no_source() -> Verdict {
    Verdict::fail("not a promotion: there is no source environment to check")
}
