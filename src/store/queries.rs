//! The two questions people ask of the record, answered from the store in one
//! place so that the CLI and chat give the same figures: the history of an
//! environment, and the metrics of the last N days.

use super::report::{self, DAY_MS, HistorySummary, Metrics};
use super::{Store, StoreError};

/// How many recent deployments the metrics answer lists.
pub const RECENT: usize = 10;

impl Store {
    /// The newest `limit` deployments (of `env`, or all) with their summary.
    pub async fn history_report(
        &self,
        env: Option<&str>,
        limit: u32,
        now: i64,
    ) -> Result<HistorySummary, StoreError> {
        let mut summary = report::history(&self.history(env, limit).await?, now);
        for d in &summary.rows {
            if let Some(build) = self.build(&d.service, &d.version).await? {
                summary.commits.insert(d.id, build.commit);
            }
        }
        Ok(summary)
    }

    /// Metrics over the last `days` days (of `env`, or all), environments in the
    /// order `position` gives (promotion order reads like the pipeline; unknown
    /// environments last).
    pub async fn metrics_report(
        &self,
        env: Option<&str>,
        days: u32,
        now: i64,
        position: impl Fn(&str) -> Option<usize>,
    ) -> Result<Metrics, StoreError> {
        let from = now.saturating_sub(i64::from(days).saturating_mul(DAY_MS));
        let mut rows = self.between(from, now).await?;
        rows.retain(|d| env.is_none_or(|env| d.env == env));
        let mut metrics = report::metrics(&rows, now, days, RECENT);
        metrics
            .per_env
            .sort_by_key(|e| position(&e.env).unwrap_or(usize::MAX));
        Ok(metrics)
    }
}
