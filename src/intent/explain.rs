//! Turning a failed match into a [`ParseError`] a person can act on: what was
//! wrong, what was understood, the usage of the closest command, and a "did you
//! mean" when one changed word makes the message a command.
//!
//! The closest command is the pattern that read furthest into the message. A
//! suggestion is only ever shown, never run: a look-alike letter or a typo in an
//! environment name must not turn into a deployment.

use super::error::{ErrorKind, ParseError, quote};
use super::grammar::{Attempt, Grammar};
use super::kind::{Field, IntentKind, SlotType};
use super::matcher::Expect;
use super::slots;
use super::text::Token;
use super::vocab::{Sym, UNKNOWN};

impl Grammar {
    /// Builds the error for a message no pattern matched.
    pub(super) fn explain(
        &self,
        attempt: Attempt,
        toks: &[Token<'_>],
        cleaned: &str,
        suggest: bool,
    ) -> ParseError {
        if let Some((kind, why)) = attempt.conflict {
            let mut e = ParseError::plain(ErrorKind::Conflict, why);
            e.intent = Some(kind.name());
            e.usage = Some(self.spec(kind).usage.clone());
            return e;
        }
        let recognised = attempt.best.filter(|(kind, f)| {
            // Stopping at the first word means no command was recognised, even when a
            // pattern starting with a slot had an opinion about it; stopping at the
            // second means the same unless the first was the command's own verb
            // ("what went wrong" is not a failed "what's running on prd").
            f.pos > 1
                || (f.pos == 1 && (f.problem.is_some() || self.is_verb_of(*kind, toks[0].sym)))
        });
        let Some((kind, failure)) = recognised else {
            let message = if toks[0].sym == UNKNOWN {
                format!("{} is not a command I know", quote(toks[0].text))
            } else {
                format!("I don't understand {}", quote(cleaned))
            };
            let mut e = ParseError::plain(ErrorKind::NotUnderstood, message);
            if suggest {
                e.did_you_mean = self.correction(toks, 0, cleaned, &self.starter_words());
            }
            return e;
        };
        let pos = failure.pos;
        let understood = cleaned[toks[0].start..toks[pos.max(1) - 1].end].to_string();
        let (error_kind, message) = if let Some((field, at)) = failure.problem {
            let (start, end) = if field.slot_type() == SlotType::Text {
                (
                    toks[at].raw_start,
                    toks.last().map_or(cleaned.len(), |t| t.raw_end),
                )
            } else {
                (toks[at].start, toks[at].end)
            };
            (
                ErrorKind::BadValue,
                self.slot_problem(field, &cleaned[start..end]),
            )
        } else if pos >= toks.len() {
            (
                ErrorKind::Incomplete,
                format!("missing {}", self.describe_expected(&failure.expected)),
            )
        } else if !failure.expected.iter().any(is_required) {
            // Only optional words or the end would have fitted: the rest is surplus.
            let rest = &cleaned[toks[pos].start..];
            (
                ErrorKind::Unexpected,
                format!(
                    "I don't understand {} after {}",
                    quote(rest),
                    quote(&understood)
                ),
            )
        } else {
            (
                ErrorKind::Unexpected,
                format!(
                    "{} doesn't fit here; expected {}",
                    quote(toks[pos].text),
                    self.describe_expected(&failure.expected)
                ),
            )
        };
        let mut e = ParseError::plain(error_kind, message);
        e.intent = Some(kind.name());
        e.usage = Some(self.spec(kind).usage.clone());
        e.understood = Some(understood);
        if suggest && pos < toks.len() {
            // A wrong value may also be a mistyped grammar word ("promote 1.3.0 form tst").
            let mut words = failure
                .problem
                .map(|(f, _)| self.words_for(f))
                .unwrap_or_default();
            words.extend(failure.expected.iter().flat_map(|x| match x {
                Expect::Word(s) | Expect::Filler(s) => vec![self.vocab.word(*s).to_string()],
                Expect::Slot(f) | Expect::Maybe(f) => self.words_for(*f),
                Expect::End => Vec::new(),
            }));
            e.did_you_mean = self.correction(toks, pos, cleaned, &words);
        }
        e
    }

    /// Whether `sym` is the intent's own name or one of its other names.
    fn is_verb_of(&self, kind: IntentKind, sym: Sym) -> bool {
        self.tables.topics.get(&[sym, UNKNOWN]) == Some(&kind)
    }

    /// The words a slot of this field accepts, for "did you mean".
    fn words_for(&self, field: Field) -> Vec<String> {
        let words = |syms: &mut dyn Iterator<Item = Sym>| {
            syms.map(|s| self.vocab.word(s).to_string()).collect()
        };
        match field.slot_type() {
            SlotType::Env => self
                .envs
                .iter()
                .flat_map(|e| std::iter::once(&e.name).chain(&e.aliases))
                .cloned()
                .collect(),
            SlotType::Strategy => words(&mut self.tables.strategies.keys().map(|k| k[0])),
            SlotType::Topic => words(&mut self.tables.topics.keys().map(|k| k[0])),
            _ => Vec::new(),
        }
    }

    fn starter_words(&self) -> Vec<String> {
        self.starters
            .iter()
            .map(|s| self.vocab.word(*s).to_string())
            .collect()
    }

    /// If the word at `pos` is a near miss of one of `words` (a typo: same first
    /// letter, one or two edits), the corrected command when it then parses, or
    /// else the word alone.
    fn correction(
        &self,
        toks: &[Token<'_>],
        pos: usize,
        cleaned: &str,
        words: &[String],
    ) -> Option<String> {
        let tok = toks.get(pos)?;
        // A word the grammar knows is not a typo of another one ("what" is not "whats").
        if tok.sym != UNKNOWN {
            return None;
        }
        let typed = tok.text.to_lowercase();
        // Words of three letters or fewer have too many neighbours ("who", "why").
        let limit = match typed.chars().count() {
            0..=3 => return None,
            4..=5 => 1,
            _ => 2,
        };
        let first = typed.chars().next();
        let mut near: Vec<(usize, f64, &String)> = words
            .iter()
            .filter(|w| w.len() > 1 && w.chars().next() == first)
            .map(|w| {
                (
                    strsim::damerau_levenshtein(&typed, w),
                    strsim::jaro_winkler(&typed, w),
                    w,
                )
            })
            .filter(|(d, _, _)| *d > 0 && *d <= limit)
            .collect();
        // Fewest edits first; among equals the closer overall shape.
        near.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        near.dedup_by(|a, b| a.2 == b.2);
        let best = near.first()?.0;
        let tied: Vec<&String> = near
            .iter()
            .filter(|(d, _, _)| *d == best)
            .map(|(_, _, w)| *w)
            .collect();
        // Each equally near word, put in place: if they all make the same command
        // (aliases: "prdd" is near both "prd" and "prod"), that is the suggestion;
        // two different readings would be a guess ("halp": help or halt?).
        let mut commands: Vec<String> = tied
            .iter()
            .filter_map(|word| {
                let fixed = format!("{}{}{}", &cleaned[..tok.start], word, &cleaned[tok.end..]);
                self.parse_with(&fixed, false)
                    .ok()
                    .map(|intent| intent.command_line())
            })
            .collect();
        commands.sort();
        commands.dedup();
        match (commands.len(), tied.len()) {
            (1, _) => commands.pop(),
            (0, 1) => Some(tied[0].clone()),
            _ => None,
        }
    }

    fn slot_problem(&self, field: Field, word: &str) -> String {
        match field.slot_type() {
            SlotType::Version => slots::check_version(word).err().unwrap_or_default(),
            SlotType::Count => slots::check_count(word).err().unwrap_or_default(),
            SlotType::Id => slots::check_id(word).err().unwrap_or_default(),
            SlotType::Text => slots::check_text(word).err().unwrap_or_default(),
            SlotType::Env => {
                let known: Vec<_> = self.envs.iter().map(|e| e.name.as_str()).collect();
                format!(
                    "{} is not an environment; the environments are {}",
                    quote(word),
                    known.join(", ")
                )
            }
            SlotType::Strategy => format!(
                "{} is not a strategy; choose blue-green, canary, rolling or all-at-once",
                quote(word)
            ),
            SlotType::Topic => format!(
                "there is no help on {}; type `help` for the list of commands",
                quote(word)
            ),
            SlotType::Flag => format!("{} is not valid here", quote(word)),
        }
    }

    /// "the target environment", "'from'": what would have fitted, strongest first.
    fn describe_expected(&self, expected: &[Expect]) -> String {
        // A missing slot says more than a missing word ("the environment", not
        // "'down'" from "lock down"), and optional words count only when nothing
        // required was expected.
        let slots = expected.iter().any(|x| matches!(x, Expect::Slot(_)));
        let required = expected.iter().any(is_required);
        let mut parts: Vec<String> = Vec::new();
        for x in expected {
            let part = match x {
                Expect::Slot(f) => f.describe().to_string(),
                Expect::Word(s) if !slots => format!("'{}'", self.vocab.word(*s)),
                Expect::Filler(s) if !required => format!("'{}'", self.vocab.word(*s)),
                Expect::Maybe(f) if !required => f.describe().to_string(),
                _ => continue,
            };
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
        parts.sort_by_key(|p| p.starts_with('\''));
        parts.truncate(4);
        match parts.len() {
            0 => "nothing more".to_string(),
            1 => parts.remove(0),
            n => format!("{} or {}", parts[..n - 1].join(", "), parts[n - 1]),
        }
    }
}

fn is_required(x: &Expect) -> bool {
    matches!(x, Expect::Word(_) | Expect::Slot(_))
}
