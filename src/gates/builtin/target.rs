//! Target checks: the environment can take the version now. The engine refuses
//! all three situations as well; here they are found before anyone confirms,
//! types a code or waits for an approval, and none may be skipped in an
//! emergency, since the engine would refuse regardless.

use async_trait::async_trait;

use crate::cloud::ServiceRef;

use super::super::{Check, CheckContext, Verdict};
use super::{live, store_failed};

/// No deployment is pending, running or paused in the target environment.
/// (Per environment, as the engine runs one change per environment at a time.)
#[derive(Debug, Clone, Copy, Default)]
pub struct TargetIdle;

#[async_trait]
impl Check for TargetIdle {
    fn name(&self) -> &str {
        "target-idle"
    }

    fn skippable_in_emergency(&self) -> bool {
        false
    }

    async fn run(&self, ctx: &CheckContext) -> Verdict {
        let target = &ctx.target;
        match ctx.store.active_in(target).await {
            Ok(None) => Verdict::pass(format!("no deployment is under way in {target}")),
            Ok(Some(d)) => Verdict::fail(format!(
                "deployment #{} ({} {}, by {}) is {} in {target}",
                d.id, d.service, d.version, d.requested_by, d.state
            )),
            Err(error) => store_failed("the running deployments", &error),
        }
    }
}

/// Nobody has locked the target environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct TargetUnlocked;

#[async_trait]
impl Check for TargetUnlocked {
    fn name(&self) -> &str {
        "target-unlocked"
    }

    /// Never: a lock is lifted with `unlock` by someone allowed to, not
    /// bypassed (and the engine refuses a locked environment anyway).
    fn skippable_in_emergency(&self) -> bool {
        false
    }

    async fn run(&self, ctx: &CheckContext) -> Verdict {
        let target = &ctx.target;
        match ctx.store.lock_of(target).await {
            Ok(None) => Verdict::pass(format!("{target} is not locked")),
            Ok(Some(lock)) => match lock.reason {
                Some(reason) => Verdict::fail(format!(
                    "{target} is locked by {}: {reason}",
                    lock.locked_by
                )),
                None => Verdict::fail(format!("{target} is locked by {}", lock.locked_by)),
            },
            Err(error) => store_failed("the environment locks", &error),
        }
    }
}

/// The target does not already run the version (a no-op deployment would only
/// churn tasks, and the engine refuses it).
#[derive(Debug, Clone, Copy, Default)]
pub struct VersionChanges;

#[async_trait]
impl Check for VersionChanges {
    fn name(&self) -> &str {
        "version-changes"
    }

    fn skippable_in_emergency(&self) -> bool {
        false
    }

    async fn run(&self, ctx: &CheckContext) -> Verdict {
        let (target, version) = (&ctx.target, &ctx.version);
        let svc = ServiceRef::new(target, &ctx.service);
        match live(&ctx.cloud, &svc).await {
            Err(why) => Verdict::fail(why),
            Ok((_, readiness)) => match readiness.version.as_deref() {
                Some(running) if running == version => {
                    Verdict::fail(format!("{target} already runs {version}"))
                }
                Some(running) => Verdict::pass(format!(
                    "{target} runs {running}; {version} will replace it"
                )),
                None => Verdict::pass(format!("nothing runs in {svc} yet")),
            },
        }
    }
}
