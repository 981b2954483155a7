//! Help generated from the grammar files: the command list (one usage line and
//! one example per intent) and the detail page of one intent.
//!
//! Help is never written by hand anywhere else, so it cannot drift from what the
//! parser accepts: the example shown is one the test suite parses.

use std::fmt::Write;

use super::grammar::{Grammar, Spec};
use super::kind::IntentKind;

impl Spec {
    /// The first example that reads as a command and is not hidden.
    pub fn headline_example(&self) -> Option<&str> {
        self.examples
            .iter()
            .find(|e| e.means.is_some() && !e.hidden)
            .map(|e| e.say.as_str())
    }
}

impl Grammar {
    /// `help` (no topic) or `help <intent>`.
    pub fn help(&self, topic: Option<IntentKind>) -> String {
        match topic {
            None => self.command_list(),
            Some(kind) => self.detail(kind),
        }
    }

    fn command_list(&self) -> String {
        let mut out = String::from("Here is what I understand (`help <command>` tells more):\n");
        for spec in self.specs() {
            let _ = write!(out, "\n• `{}` — {}", spec.usage, spec.summary);
            if let Some(example) = spec.headline_example() {
                let _ = write!(out, "\n    e.g. `{example}`");
            }
        }
        let _ = write!(out, "\n\n{}", self.environment_line());
        out
    }

    fn detail(&self, kind: IntentKind) -> String {
        let spec = self.spec(kind);
        let mut out = format!(
            "{} — {}\nUsage: `{}`",
            kind.name(),
            spec.summary,
            spec.usage
        );
        if let Some(details) = &spec.details {
            let _ = write!(out, "\n\n{}", details.trim());
        }
        let examples: Vec<_> = spec
            .examples
            .iter()
            .filter(|e| e.means.is_some() && !e.hidden)
            .collect();
        if !examples.is_empty() {
            out.push_str("\n\nExamples:");
            for e in examples {
                let _ = write!(out, "\n  `{}`", e.say);
            }
        }
        if !spec.aka.is_empty() {
            let _ = write!(out, "\n\nAlso known as: {}", spec.aka.join(", "));
        }
        let _ = write!(out, "\n\n{}", self.environment_line());
        out
    }

    fn environment_line(&self) -> String {
        let envs: Vec<String> = self
            .environments()
            .iter()
            .map(|e| {
                if e.aliases.is_empty() {
                    e.name.clone()
                } else {
                    format!("{} ({})", e.name, e.aliases.join(", "))
                }
            })
            .collect();
        format!("Environments: {}", envs.join(", "))
    }
}
