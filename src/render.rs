//! Messages from templates: every sentence the bot says is a template in
//! `prompts/` filled from a typed view, so the core builds data and the wording
//! lives in one place that reviewers and operators can read.
//!
//! Chat adapters turn the rendered text into platform messages; nothing here
//! knows which platform that is.

pub mod chart;
pub mod echo;
mod help;
mod report;

use include_dir::{Dir, include_dir};
use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, Error, Output, State, Value};
use serde::Serialize;

use crate::intent::ParseError;

static PROMPTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/prompts");

/// The loaded templates.
pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    /// Loads the templates built into the binary. They are part of the program,
    /// so a syntax error is a bug caught by the tests, not a runtime condition.
    pub fn new() -> Renderer {
        let mut env = Environment::new();
        // Every value a template prints is echoed through the one rule unless
        // the template says `| safe` (see `echo`).
        env.set_auto_escape_callback(|_| AutoEscape::Custom(CHAT.into()));
        env.set_formatter(chat_formatter);
        for file in PROMPTS.files() {
            let (Some(name), Some(source)) = (file.path().to_str(), file.contents_utf8()) else {
                continue;
            };
            if name.ends_with(".j2") {
                env.add_template(name, source)
                    .expect("embedded templates compile");
            }
        }
        Renderer { env }
    }

    /// Renders `template` with `view`. A failure here means a template and its
    /// view disagree, which the golden tests catch; the user sees a short notice.
    pub fn render(&self, template: &str, view: impl Serialize) -> String {
        match self
            .env
            .get_template(template)
            .and_then(|t| t.render(minijinja::value::Serde(&view)))
        {
            Ok(text) => text,
            Err(e) => {
                tracing::error!(template, error = %e, "template failed to render");
                "Something went wrong while writing this message; the details are in the log."
                    .to_string()
            }
        }
    }

    /// Why a message is not a command, for a person to read.
    pub fn parse_error(&self, error: &ParseError) -> String {
        self.render("parse_error.j2", error)
    }
}

/// The name of the auto-escape mode that [`echo::untrusted`] implements.
const CHAT: &str = "chat";

/// Prints a value the way a chat message may repeat it: strings through
/// [`echo::untrusted`] unless marked safe, other values (numbers, booleans,
/// `none`) as they are.
fn chat_formatter(out: &mut Output, _: &mut State, value: &Value) -> Result<(), Error> {
    let text = if value.is_safe() || !matches!(value.kind(), ValueKind::String) {
        value.to_string()
    } else {
        echo::untrusted(value.as_str().unwrap_or_default())
    };
    out.write_str(&text).map_err(Error::from)
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}
