//! Help from the grammar files: the command list (one usage line and one example
//! per intent) and one intent's page. Help is generated, never written by hand,
//! so it cannot drift from what the parser accepts: every example shown is one
//! the test suite parses.

use serde::Serialize;

use super::Renderer;
use crate::intent::{Grammar, IntentKind, Spec};

#[derive(Serialize)]
struct HelpView<'a> {
    commands: Vec<CommandLine<'a>>,
    page: Option<Page<'a>>,
    environments: Vec<String>,
}

#[derive(Serialize)]
struct CommandLine<'a> {
    usage: &'a str,
    summary: &'a str,
    example: Option<&'a str>,
}

#[derive(Serialize)]
struct Page<'a> {
    name: &'a str,
    summary: &'a str,
    usage: &'a str,
    details: Option<&'a str>,
    examples: Vec<&'a str>,
    aka: &'a [String],
}

impl Renderer {
    /// `help` (no topic) or `help <intent>`.
    pub fn help(&self, grammar: &Grammar, topic: Option<IntentKind>) -> String {
        let view = HelpView {
            commands: grammar
                .specs()
                .iter()
                .map(|s| CommandLine {
                    usage: &s.usage,
                    summary: &s.summary,
                    example: s.headline_example(),
                })
                .collect(),
            page: topic.map(|kind| page(grammar.spec(kind))),
            environments: grammar
                .environments()
                .iter()
                .map(|e| {
                    if e.aliases.is_empty() {
                        e.name.clone()
                    } else {
                        format!("{} ({})", e.name, e.aliases.join(", "))
                    }
                })
                .collect(),
        };
        self.render("help.j2", view)
    }
}

fn page(spec: &Spec) -> Page<'_> {
    Page {
        name: spec.kind.name(),
        summary: &spec.summary,
        usage: &spec.usage,
        details: spec.details.as_deref().map(str::trim),
        examples: spec.shown_examples().collect(),
        aka: &spec.aka,
    }
}
