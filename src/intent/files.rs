//! The grammar files: their format, the copies built into the binary, and the
//! operator's override directory.
//!
//! `intents/` holds one TOML file per intent (patterns, synonyms, examples, help
//! text) and `_common.toml` with what all intents share (politeness, strategy
//! spellings, shared phrases). The binary embeds the directory; an operator who
//! sets `bot.intents_dir` replaces any of these files by putting one of the same
//! name there, so a new phrasing is a file edit, not a rebuild.

use std::collections::BTreeMap;
use std::path::Path;

use include_dir::{Dir, include_dir};
use serde::Deserialize;

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/intents");

/// The name of the shared file.
pub const COMMON: &str = "_common.toml";

/// One intent's file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentFile {
    /// The intent's canonical name; must match the file name.
    pub intent: String,
    /// One line for the command list.
    pub summary: String,
    /// The usage line shown in help and in errors.
    pub usage: String,
    /// A paragraph for `help <intent>`.
    #[serde(default)]
    pub details: Option<String>,
    /// Other names for `help <topic>` ("revert" for rollback).
    #[serde(default)]
    pub aka: Vec<String>,
    /// Extra spellings of a pattern word, local to this intent.
    #[serde(default)]
    pub synonyms: BTreeMap<String, Vec<String>>,
    /// Named pattern fragments, used as `<name>`.
    #[serde(default)]
    pub phrases: BTreeMap<String, String>,
    pub patterns: Vec<String>,
    #[serde(default)]
    pub examples: Vec<Example>,
}

/// A sentence with its expected reading; every example is a test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub say: String,
    /// The fields of the expected intent that are not null/false.
    #[serde(default)]
    pub means: Option<toml::Table>,
    /// Instead of `means`: the sentence must be refused with an error containing this.
    #[serde(default)]
    pub refused: Option<String>,
    /// Hidden from help (still tested).
    #[serde(default)]
    pub hidden: bool,
}

/// `_common.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonFile {
    /// Words people put before a command ("please", "can you").
    pub polite_prefixes: Vec<String>,
    /// Words people put after one ("please", "thanks"); always removed.
    pub polite_suffixes: Vec<String>,
    /// Words that end a command as noise but may belong to a reason ("now",
    /// "for me"): removed only when the message does not read without them.
    #[serde(default)]
    pub trailing_fillers: Vec<String>,
    /// Canonical strategy name -> the spellings people use.
    pub strategies: BTreeMap<String, Vec<String>>,
    /// Synonyms for all intents.
    #[serde(default)]
    pub synonyms: BTreeMap<String, Vec<String>>,
    /// Phrases for all intents.
    #[serde(default)]
    pub phrases: BTreeMap<String, String>,
}

/// The raw text of every grammar file, by file name, with where it came from.
#[derive(Debug, Clone)]
pub struct Sources {
    pub files: BTreeMap<String, Source>,
}

#[derive(Debug, Clone)]
pub struct Source {
    /// `embedded:promote.toml` or the override file's path, for error messages.
    pub origin: String,
    pub text: String,
}

impl Sources {
    /// The files built into the binary.
    pub fn embedded() -> Sources {
        let files = EMBEDDED
            .files()
            .filter(|f| f.path().extension().is_some_and(|e| e == "toml"))
            .filter_map(|f| {
                let name = f.path().file_name()?.to_str()?.to_string();
                let text = f.contents_utf8()?.to_string();
                Some((
                    name.clone(),
                    Source {
                        origin: format!("embedded:{name}"),
                        text,
                    },
                ))
            })
            .collect();
        Sources { files }
    }

    /// Replaces embedded files with those of the same name in `dir`. A file
    /// whose name is not a known grammar file is an error: a typo in a file name
    /// would otherwise be silently ignored.
    pub fn with_overrides(mut self, dir: &Path) -> Result<Sources, String> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read intents directory {}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if !self.files.contains_key(&name) {
                let known: Vec<_> = self.files.keys().cloned().collect();
                return Err(format!(
                    "{}: not a grammar file name; the files are {}",
                    path.display(),
                    known.join(", ")
                ));
            }
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            self.files.insert(
                name,
                Source {
                    origin: path.display().to_string(),
                    text,
                },
            );
        }
        Ok(self)
    }
}
