//! The numbers behind "show deployment history for prd" and "show deployment
//! metrics for last 7 days": pure functions over deployments already read from
//! the store, and the caller's `now`. No SQL here, so every definition can be
//! checked by hand.
//!
//! Definitions (shared by both reports):
//! - **Outcomes.** succeeded, failed and rolled_back are the *rated* outcomes.
//!   aborted is a person's decision to stop, which says nothing about whether
//!   the change was good, so it is counted and shown but left out of every
//!   rate. Pending, running and paused deployments have no outcome yet.
//! - **Success rate** = succeeded / (succeeded + failed + rolled_back).
//! - **Change failure rate** = (failed + rolled_back) / (succeeded + failed +
//!   rolled_back), i.e. 1 - success rate. Both are `None` when nothing was rated.
//! - **Duration** = `finished_at - started_at`, or `finished_at - created_at` for
//!   a deployment that never started ([`Deployment::duration_ms`]). The average
//!   is over every finished deployment (aborted ones included, as in the history
//!   table) and rounds down to the millisecond.
//! - **MTTR** (mean time to restore) = the mean, over each failed or rolled-back
//!   deployment, of the time from its `finished_at` to the `finished_at` of the
//!   next succeeded deployment of the same service in the same environment.
//!   Failures not followed by a success in the data are left out (`None` if none
//!   is followed). "Same service" matters once an environment runs several: a
//!   good release of one service does not restore another.
//! - **Deployment frequency** = succeeded deployments per day of the window
//!   (DORA's "how often you successfully release"); 0 for an empty window.
//! - **Windows.** "Last N days" is `[now - N days, now)`, by `created_at`.
//! - **Days** ([`Metrics::daily`]) are UTC calendar days, and a deployment
//!   belongs to the day it was created on, as it does to the window. A
//!   failure's time to restore counts on its own day, not on the day of the
//!   success that restored it, so a day's bar and its MTTR describe the same
//!   deployments.

use std::collections::BTreeMap;

use serde::Serialize;

use super::deployments::{Deployment, DeploymentState};

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// How far back [`HistorySummary::rollbacks`] counts ("1 in last 30 days").
pub const ROLLBACK_WINDOW_MS: i64 = 30 * DAY_MS;

/// The "deployment history" answer: the rows and the lines under the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistorySummary {
    /// As given (the store returns them newest first).
    pub rows: Vec<Deployment>,
    /// Succeeded rows: the numerator of the success rate ("75% (3/4)": 3).
    pub succeeded: usize,
    /// Rated rows: the denominator ("75% (3/4)": 4).
    pub rated: usize,
    pub success_rate: Option<f64>,
    pub average_duration_ms: Option<i64>,
    /// Rows rolled back within [`ROLLBACK_WINDOW_MS`] before `now`.
    pub rollbacks: usize,
    /// The commit each row's version was built from, by deployment id, where
    /// CI announced the build (the build webhook).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub commits: std::collections::BTreeMap<i64, String>,
}

/// The "deployment metrics for the last N days" answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// The window `[from, to)`, milliseconds since the Unix epoch.
    pub from: i64,
    pub to: i64,
    /// One entry per environment with a deployment in the window, by name
    /// (the renderer may reorder them, e.g. in promotion order).
    pub per_env: Vec<EnvMetrics>,
    /// The latest deployments of the window, newest first.
    pub recent: Vec<Deployment>,
    /// Each environment's outcomes per day, for the chart: only days with a
    /// deployment, oldest first, then by environment name. Unlike `recent`
    /// this is not capped, so the chart sees the whole window.
    pub daily: Vec<DayMetrics>,
}

/// One environment on one day of the window (module notes: **Days**).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayMetrics {
    /// The day's first millisecond (00:00 UTC) since the Unix epoch.
    pub day: i64,
    pub env: String,
    pub deployments: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub rolled_back: usize,
    pub aborted: usize,
    /// Mean time to restore over this day's failures that a later success
    /// restored; `None` if none was.
    pub mttr_ms: Option<i64>,
    /// How many failures `mttr_ms` averages: the weight a chart needs to merge
    /// days into weeks without skewing the mean.
    pub restored: usize,
}

/// One environment's line of the metrics table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvMetrics {
    pub env: String,
    /// Every deployment created in the window, whatever its state.
    pub deployments: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub rolled_back: usize,
    pub aborted: usize,
    pub mttr_ms: Option<i64>,
    pub deployment_frequency_per_day: f64,
    pub change_failure_rate: Option<f64>,
}

/// Summarises history `rows` as of `now`.
pub fn history(rows: &[Deployment], now: i64) -> HistorySummary {
    let counts = Counts::of(rows.iter());
    let since = now.saturating_sub(ROLLBACK_WINDOW_MS);
    HistorySummary {
        rows: rows.to_vec(),
        succeeded: counts.succeeded,
        rated: counts.rated(),
        success_rate: ratio(counts.succeeded, counts.rated()),
        average_duration_ms: mean(rows.iter().filter_map(Deployment::duration_ms)),
        rollbacks: rows
            .iter()
            .filter(|d| d.state == DeploymentState::RolledBack)
            .filter(|d| d.finished_at.is_some_and(|at| at >= since))
            .count(),
        commits: std::collections::BTreeMap::new(),
    }
}

/// Metrics of the `days` days before `now`, over `deployments` (which may hold
/// more than the window; the rest is ignored). `recent` caps the recent list.
pub fn metrics(deployments: &[Deployment], now: i64, days: u32, recent: usize) -> Metrics {
    let from = now.saturating_sub(i64::from(days).saturating_mul(DAY_MS));
    let in_window: Vec<&Deployment> = deployments
        .iter()
        .filter(|d| d.created_at >= from && d.created_at < now)
        .collect();

    let mut by_env: BTreeMap<&str, Vec<&Deployment>> = BTreeMap::new();
    for d in &in_window {
        by_env.entry(d.env.as_str()).or_default().push(d);
    }
    let daily = by_env
        .iter()
        .flat_map(|(env, list)| daily(env, list))
        .collect::<Vec<_>>();
    let per_env = by_env
        .into_iter()
        .map(|(env, list)| {
            let counts = Counts::of(list.iter().copied());
            EnvMetrics {
                env: env.to_owned(),
                deployments: list.len(),
                succeeded: counts.succeeded,
                failed: counts.failed,
                rolled_back: counts.rolled_back,
                aborted: counts.aborted,
                mttr_ms: mttr(&list),
                deployment_frequency_per_day: if days == 0 {
                    0.0
                } else {
                    counts.succeeded as f64 / f64::from(days)
                },
                change_failure_rate: ratio(counts.failed + counts.rolled_back, counts.rated()),
            }
        })
        .collect();

    let mut latest = in_window;
    latest.sort_by_key(|d| std::cmp::Reverse((d.created_at, d.id)));
    Metrics {
        from,
        to: now,
        per_env,
        recent: latest.into_iter().take(recent).cloned().collect(),
        daily: sorted_by_day(daily),
    }
}

/// One environment's deployments (`list`, all of `env`) by UTC day of creation.
fn daily(env: &str, list: &[&Deployment]) -> Vec<DayMetrics> {
    let mut days: BTreeMap<i64, Vec<&Deployment>> = BTreeMap::new();
    for d in list {
        days.entry(d.created_at.div_euclid(DAY_MS))
            .or_default()
            .push(d);
    }
    // Restores look for the next success in the whole environment, not in the
    // day: the fix often lands the next morning.
    let restored: BTreeMap<i64, i64> = restores(list).map(|(bad, ms)| (bad.id, ms)).collect();
    days.into_iter()
        .map(|(day, on_day)| {
            let counts = Counts::of(on_day.iter().copied());
            let times: Vec<i64> = on_day
                .iter()
                .filter_map(|d| restored.get(&d.id).copied())
                .collect();
            DayMetrics {
                day: day.saturating_mul(DAY_MS),
                env: env.to_owned(),
                deployments: on_day.len(),
                succeeded: counts.succeeded,
                failed: counts.failed,
                rolled_back: counts.rolled_back,
                aborted: counts.aborted,
                mttr_ms: mean(times.iter().copied()),
                restored: times.len(),
            }
        })
        .collect()
}

/// Oldest day first, then environment name (the per-environment lists arrive
/// grouped by environment).
fn sorted_by_day(mut daily: Vec<DayMetrics>) -> Vec<DayMetrics> {
    daily.sort_by(|a, b| (a.day, &a.env).cmp(&(b.day, &b.env)));
    daily
}

/// Outcome counts of a set of deployments.
#[derive(Debug, Default)]
struct Counts {
    succeeded: usize,
    failed: usize,
    rolled_back: usize,
    aborted: usize,
}

impl Counts {
    fn of<'a>(deployments: impl Iterator<Item = &'a Deployment>) -> Counts {
        let mut counts = Counts::default();
        for d in deployments {
            match d.state {
                DeploymentState::Succeeded => counts.succeeded += 1,
                DeploymentState::Failed => counts.failed += 1,
                DeploymentState::RolledBack => counts.rolled_back += 1,
                DeploymentState::Aborted => counts.aborted += 1,
                DeploymentState::Pending | DeploymentState::Running | DeploymentState::Paused => {}
            }
        }
        counts
    }

    /// The denominator of both rates.
    fn rated(&self) -> usize {
        self.succeeded + self.failed + self.rolled_back
    }
}

/// Mean time to restore within one environment's deployments (module notes).
fn mttr(deployments: &[&Deployment]) -> Option<i64> {
    mean(restores(deployments).map(|(_, ms)| ms))
}

/// Each failed or rolled-back deployment that a later success of the same
/// service restored, with the time that took (module notes: **MTTR**).
fn restores<'a>(
    deployments: &'a [&'a Deployment],
) -> impl Iterator<Item = (&'a Deployment, i64)> + 'a {
    deployments
        .iter()
        .copied()
        .filter(|d| {
            matches!(
                d.state,
                DeploymentState::Failed | DeploymentState::RolledBack
            )
        })
        .filter_map(|bad| {
            let broke = bad.finished_at?;
            deployments
                .iter()
                .filter(|d| d.state == DeploymentState::Succeeded && d.service == bad.service)
                .filter_map(|d| d.finished_at)
                .filter(|&fixed| fixed > broke)
                .min()
                .map(|fixed| (bad, fixed - broke))
        })
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The mean rounded down; `None` for no values. Sums in i128 so a long list of
/// large durations cannot overflow.
fn mean(values: impl Iterator<Item = i64>) -> Option<i64> {
    let (sum, count) = values.fold((0i128, 0i128), |(sum, n), v| (sum + i128::from(v), n + 1));
    if count == 0 {
        return None;
    }
    i64::try_from(sum.div_euclid(count)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::Strategy;

    const MIN: i64 = 60_000;

    fn deployment(id: i64, service: &str, state: DeploymentState, created: i64) -> Deployment {
        Deployment {
            id,
            env: "dev".into(),
            service: service.into(),
            version: format!("1.0.{id}"),
            previous_version: None,
            strategy: Strategy::BlueGreen,
            requested_by: "alice".into(),
            approvers: vec![],
            emergency: false,
            created_at: created,
            started_at: None,
            finished_at: state.is_final().then_some(created + 10 * MIN),
            state,
            state_changed_at: created,
            reason: None,
            live_colour: None,
            new_colour: None,
        }
    }

    #[test]
    fn nothing_rated_gives_no_rates_rather_than_zero() {
        let rows = [
            deployment(1, "api", DeploymentState::Aborted, 0),
            deployment(2, "api", DeploymentState::Running, MIN),
        ];
        let summary = history(&rows, DAY_MS);
        assert_eq!(summary.success_rate, None);
        assert_eq!(summary.rated, 0);
        assert_eq!(summary.average_duration_ms, Some(10 * MIN));
        let m = metrics(&rows, DAY_MS, 1, 10);
        assert_eq!(m.per_env[0].change_failure_rate, None);
        assert_eq!(m.per_env[0].deployments, 2);
        assert_eq!(m.per_env[0].aborted, 1);
    }

    #[test]
    fn a_zero_day_window_is_empty_and_does_not_divide_by_zero() {
        let rows = [deployment(1, "api", DeploymentState::Succeeded, 0)];
        let m = metrics(&rows, DAY_MS, 0, 10);
        assert_eq!((m.from, m.to), (DAY_MS, DAY_MS));
        assert!(m.per_env.is_empty() && m.recent.is_empty());
    }

    #[test]
    fn mttr_uses_the_next_success_of_the_same_service_only() {
        let rows = [
            deployment(1, "api", DeploymentState::Failed, 0),
            // Another service's success restores nothing for `api`.
            deployment(2, "web", DeploymentState::Succeeded, 5 * MIN),
            deployment(3, "api", DeploymentState::Succeeded, 20 * MIN),
            deployment(4, "api", DeploymentState::Succeeded, 60 * MIN),
        ];
        // api failed at 10m; its next success finished at 30m: 20 minutes.
        let m = metrics(&rows, DAY_MS, 1, 10);
        assert_eq!(m.per_env[0].mttr_ms, Some(20 * MIN));
    }

    #[test]
    fn a_failure_never_followed_by_a_success_is_left_out_of_mttr() {
        let rows = [
            deployment(1, "api", DeploymentState::Succeeded, 0),
            deployment(2, "api", DeploymentState::RolledBack, MIN),
        ];
        assert_eq!(metrics(&rows, DAY_MS, 1, 10).per_env[0].mttr_ms, None);
    }

    #[test]
    fn old_rollbacks_are_not_counted_as_recent() {
        let rows = [
            deployment(1, "api", DeploymentState::RolledBack, 0),
            deployment(2, "api", DeploymentState::RolledBack, 40 * DAY_MS),
        ];
        assert_eq!(history(&rows, 45 * DAY_MS).rollbacks, 1);
    }

    #[test]
    fn days_are_utc_days_and_a_restore_counts_on_the_day_of_its_failure() {
        let rows = [
            // Fails 10 minutes after midnight of day 0...
            deployment(1, "api", DeploymentState::Failed, 0),
            // ...and is restored by this success the next day, at DAY + 11m.
            deployment(2, "api", DeploymentState::Succeeded, DAY_MS + MIN),
            deployment(3, "api", DeploymentState::RolledBack, DAY_MS + 2 * MIN),
        ];
        let m = metrics(&rows, 2 * DAY_MS, 2, 10);
        let days: Vec<_> = m
            .daily
            .iter()
            .map(|d| {
                (
                    d.day,
                    d.succeeded,
                    d.failed,
                    d.rolled_back,
                    d.mttr_ms,
                    d.restored,
                )
            })
            .collect();
        assert_eq!(
            days,
            [
                (0, 0, 1, 0, Some(DAY_MS + MIN), 1),
                (DAY_MS, 1, 0, 1, None, 0),
            ]
        );
        assert!(m.daily.iter().all(|d| d.env == "dev"));
        assert_eq!(
            m.per_env[0].mttr_ms,
            Some(DAY_MS + MIN),
            "unchanged by the split"
        );
    }
}
