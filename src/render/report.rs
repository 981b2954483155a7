//! The answers to "show deployment history" and "show deployment metrics": the
//! numbers from [`crate::store::report`] as plain-text tables, which chat
//! adapters wrap in a code block.
//!
//! The split of work: the templates (`prompts/history.j2`, `prompts/metrics.j2`,
//! labels in `prompts/report_labels.j2`) hold every word, including column
//! headers and status labels; the views here hold values already formatted
//! ([`format`]: dates, durations, percentages) and stored text made safe to
//! echo; [`table`] pads the columns after rendering, so neither side has to
//! know how wide the other's text is.

pub(crate) mod format;
mod table;

use serde::Serialize;

use super::Renderer;
use crate::intent::slots::MAX_TEXT_CHARS;
use crate::store::report::{DAY_MS, HistorySummary, Metrics, ROLLBACK_WINDOW_MS};
use crate::store::{Deployment, DeploymentState};

/// Longest version, user or environment name shown in a cell; longer ones are
/// cut with `…` so one odd row cannot push every column off the screen.
const MAX_CELL_CHARS: usize = 40;

/// View of `history.j2`.
#[derive(Serialize)]
struct HistoryView {
    /// The environment asked about; `None` lists every environment, with an
    /// Env column.
    env: Option<String>,
    rows: Vec<Row>,
    rollbacks: usize,
    rollback_window_days: i64,
    average_duration: String,
    success_rate: String,
    succeeded: usize,
    /// Zero when nothing has an outcome yet: the template then leaves out the
    /// "(3/4)".
    rated: usize,
}

/// View of `metrics.j2`.
#[derive(Serialize)]
struct MetricsView {
    from: String,
    to: String,
    envs: Vec<EnvLine>,
    recent: Vec<Row>,
}

#[derive(Serialize)]
struct EnvLine {
    env: String,
    deployments: usize,
    succeeded: usize,
    failed: usize,
    rolled_back: usize,
    aborted: usize,
    mttr: String,
    frequency: String,
    change_failure_rate: String,
}

/// One deployment as a table row, shared by both reports.
#[derive(Serialize)]
struct Row {
    /// The deployment's id, as messages and `approve #ID` name it.
    id: i64,
    env: String,
    version: String,
    /// When it was requested (the order the store lists them in).
    date: String,
    duration: String,
    /// As stored (`blue-green`); the template has the words.
    strategy: &'static str,
    deployer: String,
    /// As stored (`rolled_back`); the template has the words.
    state: &'static str,
    /// Why it failed, rolled back or was aborted; `None` for other outcomes,
    /// so a stale reason on a success is never mistaken for a problem.
    reason: Option<String>,
}

impl Renderer {
    /// "show deployment history [for ENV]": `env` is the canonical name asked
    /// about, `None` for every environment.
    pub fn history(&self, env: Option<&str>, summary: &HistorySummary) -> String {
        let view = HistoryView {
            env: env.map(cell),
            rows: summary
                .rows
                .iter()
                .map(|d| {
                    let mut r = row(d);
                    // CI announced this version: say which commit it is.
                    if let Some(commit) = summary.commits.get(&d.id) {
                        r.version =
                            format!("{} ({})", r.version, cell(&commit[..commit.len().min(7)]));
                    }
                    r
                })
                .collect(),
            rollbacks: summary.rollbacks,
            rollback_window_days: ROLLBACK_WINDOW_MS / DAY_MS,
            average_duration: format::or_none(summary.average_duration_ms, format::duration),
            success_rate: format::or_none(summary.success_rate, format::percent),
            succeeded: summary.succeeded,
            rated: summary.rated,
        };
        table::align(&self.render("history.j2", view))
    }

    /// "show deployment metrics [for the last N days]", environments in the
    /// order of `metrics.per_env`.
    pub fn metrics(&self, metrics: &Metrics) -> String {
        let view = MetricsView {
            from: format::date(metrics.from),
            // The window is [from, to): its last day is the one of its last
            // millisecond, so a window ending at midnight does not claim the
            // day that starts then.
            to: format::date(metrics.to.saturating_sub(1).max(metrics.from)),
            envs: metrics
                .per_env
                .iter()
                .map(|e| EnvLine {
                    env: cell(&e.env),
                    deployments: e.deployments,
                    succeeded: e.succeeded,
                    failed: e.failed,
                    rolled_back: e.rolled_back,
                    aborted: e.aborted,
                    mttr: format::or_none(e.mttr_ms, format::duration),
                    frequency: format::per_day(e.deployment_frequency_per_day),
                    change_failure_rate: format::or_none(e.change_failure_rate, format::percent),
                })
                .collect(),
            recent: metrics.recent.iter().map(row).collect(),
        };
        table::align(&self.render("metrics.j2", view))
    }
}

fn row(d: &Deployment) -> Row {
    let explains = matches!(
        d.state,
        DeploymentState::Failed | DeploymentState::RolledBack | DeploymentState::Aborted
    );
    Row {
        id: d.id,
        env: cell(&d.env),
        version: cell(&d.version),
        date: format::date(d.created_at),
        duration: format::or_none(d.duration_ms(), format::duration),
        strategy: d.strategy.as_str(),
        deployer: cell(&d.requested_by),
        state: d.state.as_str(),
        reason: d
            .reason
            .as_deref()
            .filter(|r| explains && !r.trim().is_empty())
            .map(|r| format::plain(r, MAX_TEXT_CHARS, table::CELL)),
    }
}

fn cell(text: &str) -> String {
    format::plain(text, MAX_CELL_CHARS, table::CELL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::Strategy;
    use crate::store::report;

    /// 2025-01-01T00:00:00Z.
    const T0: i64 = 1_735_689_600_000;
    const MIN: i64 = 60_000;

    fn deployment(id: i64, state: DeploymentState, reason: Option<&str>) -> Deployment {
        Deployment {
            id,
            env: "prd".into(),
            service: "api".into(),
            version: format!("1.0.{id}"),
            previous_version: None,
            strategy: Strategy::BlueGreen,
            requested_by: "alice".into(),
            approvers: vec![],
            emergency: false,
            created_at: T0 + id * DAY_MS,
            started_at: Some(T0 + id * DAY_MS + MIN),
            finished_at: state
                .is_final()
                .then_some(T0 + id * DAY_MS + 12 * MIN + 3_000),
            state,
            state_changed_at: T0,
            reason: reason.map(str::to_owned),
            live_colour: None,
            new_colour: None,
        }
    }

    #[test]
    fn an_empty_history_says_so_in_a_sentence() {
        let renderer = Renderer::new();
        let empty = report::history(&[], T0);
        assert_eq!(
            renderer.history(Some("prd"), &empty),
            "No deployments recorded for prd yet."
        );
        assert_eq!(
            renderer.history(None, &empty),
            "No deployments recorded yet."
        );
    }

    #[test]
    fn an_empty_window_says_so_under_its_dates() {
        let m = report::metrics(&[], T0 + 7 * DAY_MS + DAY_MS / 2, 7, 10);
        assert_eq!(
            Renderer::new().metrics(&m),
            "Deployment metrics (2025-01-01 to 2025-01-08):\n\nNo deployments in this period."
        );
    }

    #[test]
    fn failures_carry_their_reason_and_successes_never_do() {
        let rows = [
            deployment(3, DeploymentState::Running, None),
            deployment(2, DeploymentState::RolledBack, Some("P99 latency spike")),
            deployment(1, DeploymentState::Succeeded, Some("stale note")),
        ];
        let text = Renderer::new().history(Some("prd"), &report::history(&rows, T0 + 5 * DAY_MS));
        assert!(
            text.starts_with("PRD deployment history:\n\n#id  Version  Date"),
            "{text}"
        );
        assert!(text.contains("  └─ Reason: P99 latency spike\n"), "{text}");
        assert!(!text.contains("stale note"), "{text}");
        assert!(text.contains("RUNNING"), "{text}");
        assert!(text.contains("ROLLED BACK"), "{text}");
        assert!(text.contains("Success rate: 50% (1/2)"), "{text}");
        assert!(text.contains("Average deployment time: 11m 03s"), "{text}");
    }

    #[test]
    fn a_history_of_every_environment_has_an_env_column() {
        let rows = [deployment(1, DeploymentState::Aborted, None)];
        let text = Renderer::new().history(None, &report::history(&rows, T0 + 5 * DAY_MS));
        assert!(
            text.starts_with("Deployment history:\n\n#id  Env  Version"),
            "{text}"
        );
        assert!(text.contains("\n#1   PRD  1.0.1"), "{text}");
        // Nothing rated: the rate is undefined, not 0%.
        assert!(text.ends_with("Success rate: -"), "{text}");
    }

    #[test]
    fn stored_text_cannot_add_columns_or_ping() {
        let mut d = deployment(1, DeploymentState::Failed, Some("@everyone │ look\nhere"));
        d.requested_by = "eve│x".into();
        let text = Renderer::new().history(Some("prd"), &report::history(&[d], T0 + 5 * DAY_MS));
        assert!(text.contains("eve|x"), "{text}");
        assert!(
            text.contains("└─ Reason: @\u{200B}everyone | look here"),
            "{text}"
        );
    }
}
