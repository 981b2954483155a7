//! The checks that need no outside service: they read only the store and the
//! cloud ports. Source checks ask whether the version earned its promotion
//! (live and healthy upstream, and the last thing that succeeded there); target
//! checks ask whether the target can take it now (nothing running, not locked,
//! not already there). The engine refuses a busy, locked or unchanged target
//! too; checking here lets the checklist say so before anyone confirms, types
//! a code or waits for an approval.

mod source;
mod target;

use crate::cloud::{Cloud, Colour, Readiness, ServiceRef};
use crate::store::StoreError;

use super::{Check, Verdict};

pub use source::{SourceHealthy, SourceLastSuccess};
pub use target::{TargetIdle, TargetUnlocked, VersionChanges};

/// The built-in checks, in checklist order: for a promotion (`promote`) the
/// source checks and then the target checks; for a deploy only the target ones.
pub fn builtin(promote: bool) -> Vec<Box<dyn Check>> {
    let mut checks: Vec<Box<dyn Check>> = Vec::new();
    if promote {
        checks.push(Box::new(SourceHealthy));
        checks.push(Box::new(SourceLastSuccess));
    }
    checks.push(Box::new(TargetIdle));
    checks.push(Box::new(TargetUnlocked));
    checks.push(Box::new(VersionChanges));
    checks
}

/// The colour carrying all of the service's traffic and what it runs; or, as a
/// reason, why that cannot be said.
async fn live(cloud: &Cloud, svc: &ServiceRef) -> Result<(Colour, Readiness), String> {
    let weights = cloud
        .traffic
        .weights(svc)
        .await
        .map_err(|e| format!("could not read the route of {svc}: {e}"))?;
    // A split route means a change is half-way; neither colour is "the" version.
    let Some(colour) = weights.whole() else {
        return Err(format!(
            "the route of {svc} is split ({weights}): a change is under way"
        ));
    };
    let readiness = cloud
        .compute
        .readiness(svc, colour)
        .await
        .map_err(|e| format!("could not read what {svc} runs: {e}"))?;
    Ok((colour, readiness))
}

/// A store error as a failed check: logged in full, shown without internals.
fn store_failed(what: &str, error: &StoreError) -> Verdict {
    tracing::warn!(%error, "check could not read {what}");
    Verdict::fail(format!("could not read {what} from the store; try again"))
}
