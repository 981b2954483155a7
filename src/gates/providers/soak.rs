//! `kind = "soak"`: the version has run in its source environment for at least
//! `min`. Read from the store, not the cloud: the newest successful
//! deployment of the service there must be this version (so it is still
//! live, not replaced since), and the time since it finished is how long it
//! has soaked. A deployment of another version under way there fails too: the
//! version is being replaced as we speak.

use std::time::Duration;

use async_trait::async_trait;

use super::{Provider, Scope, no_source};
use crate::clock::Clock;
use crate::config::checks::SoakCheck;
use crate::gates::Verdict;
use crate::store::DeploymentState;

/// How many of the source's newest deployments are searched (as the
/// built-in `source-last-success` does).
const HISTORY_SCAN: u32 = 10_000;

pub(super) struct Soak {
    min: Duration,
    /// Overrides the promotion's source.
    env: Option<String>,
    clock: Clock,
}

impl Soak {
    pub(super) fn new(spec: &SoakCheck, clock: Clock) -> Soak {
        Soak {
            min: spec.min,
            env: spec.env.clone(),
            clock,
        }
    }
}

#[async_trait]
impl Provider for Soak {
    async fn check(&self, scope: &Scope<'_>) -> Verdict {
        let ctx = scope.ctx;
        let Some(source) = self.env.as_deref().or(scope.source) else {
            return Verdict::fail(no_source(ctx));
        };
        let (service, version) = (&ctx.service, &ctx.version);
        let history = match ctx.store.history(Some(source), HISTORY_SCAN).await {
            Ok(history) => history,
            Err(error) => {
                tracing::warn!(%error, "soak check could not read the history");
                return Verdict::fail("could not read the deployment history; try again");
            }
        };
        // Newest first.
        let mine = history.iter().filter(|d| &d.service == service);
        let mut last = None;
        for d in mine {
            match d.state {
                DeploymentState::Succeeded => {
                    last = Some(d);
                    break;
                }
                s if !s.is_final() && &d.version != version => {
                    return Verdict::fail(format!(
                        "{} is being deployed to {source} (#{}), replacing {version}",
                        d.version, d.id
                    ));
                }
                _ => {}
            }
        }
        let Some(last) = last else {
            return Verdict::fail(format!(
                "{version} has no successful deployment to {source} on record"
            ));
        };
        if &last.version != version {
            let earlier = history.iter().any(|d| {
                &d.service == service
                    && &d.version == version
                    && d.state == DeploymentState::Succeeded
            });
            return Verdict::fail(if earlier {
                format!(
                    "{version} no longer runs in {source}: {} replaced it (#{})",
                    last.version, last.id
                )
            } else {
                format!(
                    "{version} has no successful deployment to {source} on record; {} runs there",
                    last.version
                )
            });
        }
        let live_since = last.finished_at.unwrap_or(last.state_changed_at);
        let soaked = Duration::from_millis((self.clock.now_ms() - live_since).max(0) as u64);
        let (ran, needs) = (span(soaked), span(self.min));
        if soaked >= self.min {
            Verdict::pass(format!(
                "{version} has run in {source} for {ran} (needs {needs})"
            ))
        } else {
            Verdict::fail(format!(
                "{version} has run in {source} for {ran}; needs {needs}"
            ))
        }
    }
}

/// A duration in hours and minutes (`26h 5m`, `45m`), seconds below a
/// minute; always rounded down, so a shortfall never reads as enough.
fn span(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_in_hours_and_minutes_rounded_down() {
        assert_eq!(span(Duration::from_secs(24 * 3600)), "24h");
        assert_eq!(span(Duration::from_secs(2 * 3600 + 10 * 60 + 59)), "2h 10m");
        assert_eq!(span(Duration::from_secs(45 * 60)), "45m");
        assert_eq!(span(Duration::from_secs(59)), "59s");
    }
}
