//! What checks answer and what the checklist holds. The types serialise so a
//! template can lay the checklist out; `passed` is the one decision the
//! conversation takes from it.

use serde::Serialize;

/// One check's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    /// Worth reading, but does not stop the change.
    Warn,
    /// Stops the change.
    Fail,
    /// Not run: an emergency deployment skips this check.
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn => "warn",
            Outcome::Fail => "fail",
            Outcome::Skipped => "skipped",
        }
    }
}

/// What [`super::Check::run`] returns: the outcome and why, in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub reason: String,
}

impl Verdict {
    pub fn pass(reason: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Pass, reason)
    }

    pub fn warn(reason: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Warn, reason)
    }

    pub fn fail(reason: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Fail, reason)
    }

    pub fn skipped(reason: impl Into<String>) -> Verdict {
        Verdict::new(Outcome::Skipped, reason)
    }

    fn new(outcome: Outcome, reason: impl Into<String>) -> Verdict {
        Verdict {
            outcome,
            reason: reason.into(),
        }
    }
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// The check's name.
    pub name: String,
    pub outcome: Outcome,
    /// Why, in one line (line breaks from a provider are folded into spaces).
    pub reason: String,
}

impl CheckResult {
    pub(super) fn new(name: String, verdict: Verdict) -> CheckResult {
        CheckResult {
            name,
            outcome: verdict.outcome,
            reason: one_line(&verdict.reason),
        }
    }
}

/// Every check's result, in the order the checks were given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Checklist {
    pub results: Vec<CheckResult>,
}

impl Checklist {
    /// True when no check failed (warnings and skipped checks do not stop a change).
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The checks that failed, in order.
    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.results.iter().filter(|r| r.outcome == Outcome::Fail)
    }

    /// The result of the check called `name`, if it is on the list.
    pub fn get(&self, name: &str) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.name == name)
    }
}

/// Folds whitespace runs (line breaks included) into single spaces: a reason is
/// one line of the checklist whatever a provider sends.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
