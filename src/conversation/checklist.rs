//! Showing the checklist while it runs. Built-in checks answer in
//! milliseconds, but a provider (CI, Prometheus, a scanner) may take seconds
//! or hit its timeout. When every check has answered within
//! [`SHOW_PROGRESS_AFTER`], the checklist is one message as before; otherwise
//! the channel first sees what has answered so far, then each further result
//! the moment it arrives, as one live message (edited in place on Discord,
//! line by line on the console), and then the whole checklist in order with
//! its verdict.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::Agent;
use crate::chat::{Message, Progress};
use crate::gates::{self, Check, CheckContext, CheckResult, Checklist, Outcome};

/// How long the checklist may take before partial results are shown.
pub const SHOW_PROGRESS_AFTER: Duration = Duration::from_secs(1);

/// Live messages of running checklists are numbered below zero, apart from
/// deployments' (which the store numbers from one).
static NEXT_LIVE: AtomicI64 = AtomicI64::new(-1);

/// Where and under which title a running checklist is shown.
#[derive(Clone, Copy)]
pub struct Live<'a> {
    pub channel: &'a str,
    pub env: &'a str,
    pub title: &'a str,
}

/// The mark a result is shown with.
pub fn mark(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "✓",
        Outcome::Warn => "⚠",
        Outcome::Fail => "✗",
        Outcome::Skipped => "–",
    }
}

fn line(r: &CheckResult) -> String {
    format!("  {} {}: {}", mark(r.outcome), r.name, r.reason)
}

impl Agent {
    /// Runs `checks`, showing results as they arrive when it takes a while;
    /// returns the checklist in the order of `checks`, and the live message
    /// shown meanwhile, which the message with the verdict closes (`None`:
    /// everything answered at once and nothing was shown).
    pub(crate) async fn run_checklist(
        self: &Arc<Self>,
        live: Live<'_>,
        checks: &[Box<dyn Check>],
        ctx: &CheckContext,
        emergency: bool,
    ) -> (Checklist, Option<Progress>) {
        let (report, mut results) = mpsc::unbounded_channel();
        let running = gates::run_reporting(checks, ctx, emergency, report);
        tokio::pin!(running);
        tokio::select! {
            biased;
            checklist = &mut running => return (checklist, None),
            _ = tokio::time::sleep(SHOW_PROGRESS_AFTER) => {}
        }
        let id = NEXT_LIVE.fetch_sub(1, Ordering::Relaxed);
        let progress = |done: bool| Progress {
            id,
            env: live.env.to_owned(),
            live: !done,
            percent: None,
            done,
            title: Some(live.title.to_owned()),
        };
        let message = |text: String| Message {
            deployment: Some(progress(false)),
            ..Message::to_channel(live.channel, text)
        };
        let mut first = format!("⏳ {}: running {} checks…", live.title, checks.len());
        while let Ok(r) = results.try_recv() {
            first.push('\n');
            first.push_str(&line(&r));
        }
        self.send(message(first)).await;
        loop {
            tokio::select! {
                // Results first: every one is shown before the checklist closes.
                biased;
                Some(r) = results.recv() => self.send(message(line(&r))).await,
                checklist = &mut running => return (checklist, Some(progress(true))),
            }
        }
    }
}
