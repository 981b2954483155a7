//! The loaded grammar: every intent's compiled patterns plus the vocabulary, and
//! `parse`, which turns a chat message into an [`Intent`] or a [`ParseError`].
//!
//! Patterns are tried in a fixed order (intents as [`IntentKind::ALL`] lists them,
//! patterns in file order) and the first full match wins; only patterns that can
//! start with the message's first word are tried at all. A match must explain
//! every word. When none does, the attempt that got furthest explains the error.

use std::collections::HashMap;

use super::error::{ErrorKind, ParseError};
use super::files::{COMMON, CommonFile, Example, IntentFile, Sources};
use super::kind::{Field, IntentKind, SlotValue, Slots};
use super::matcher::{Cap, Failure, Inst, Machine, Tables};
use super::model::{Intent, Strategy};
use super::pattern;
use super::text::{self, Refusal, Token};
use super::vocab::{Sym, UNKNOWN, Vocab};

/// An environment's canonical name and the other names people use for it.
#[derive(Debug, Clone)]
pub struct EnvWords {
    pub name: String,
    pub aliases: Vec<String>,
}

/// A grammar file that cannot be used, with the file it came from.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct GrammarError {
    pub origin: String,
    pub message: String,
}

/// What help and error messages need to know about one intent.
#[derive(Debug, Clone)]
pub struct Spec {
    pub kind: IntentKind,
    pub summary: String,
    pub usage: String,
    pub details: Option<String>,
    pub aka: Vec<String>,
    pub examples: Vec<Example>,
}

impl Spec {
    /// The examples help shows: those that read as a command and are not hidden.
    pub fn shown_examples(&self) -> impl Iterator<Item = &str> {
        self.examples
            .iter()
            .filter(|e| e.means.is_some() && !e.hidden)
            .map(|e| e.say.as_str())
    }

    /// The one example of the command list.
    pub fn headline_example(&self) -> Option<&str> {
        self.shown_examples().next()
    }
}

/// Why no pattern matched: the furthest failure (with its intent), and a
/// match whose values did not fit together, if any.
#[derive(Debug, Default)]
pub(super) struct Attempt {
    pub best: Option<(IntentKind, Failure)>,
    pub conflict: Option<(IntentKind, String)>,
}

#[derive(Debug, Clone)]
struct Pattern {
    kind: IntentKind,
    prog: Vec<Inst>,
}

#[derive(Debug, Clone)]
pub struct Grammar {
    pub(super) vocab: Vocab,
    pub(super) tables: Tables,
    pub(super) envs: Vec<EnvWords>,
    specs: Vec<Spec>,
    patterns: Vec<Pattern>,
    /// For each first word, the patterns (indices, in order) that can start with it.
    by_first: HashMap<Sym, Vec<usize>>,
    /// Patterns that can start with a slot: tried whatever the first word is.
    any_first: Vec<usize>,
    /// Every word some pattern can start with, for "did you mean" on unknown commands.
    pub(super) starters: Vec<Sym>,
    prefixes: Vec<Vec<Sym>>,
    suffixes: Vec<Vec<Sym>>,
    fillers: Vec<Vec<Sym>>,
    bot_name: String,
}

impl Grammar {
    /// Builds the grammar from its files for the given environments.
    pub fn build(
        sources: &Sources,
        envs: &[EnvWords],
        bot_name: &str,
    ) -> Result<Grammar, GrammarError> {
        let file = |name: &str| {
            sources.files.get(name).ok_or_else(|| GrammarError {
                origin: "intents".into(),
                message: format!("the grammar file {name} is missing"),
            })
        };
        let common_src = file(COMMON)?;
        let fail = |origin: &str, message: String| GrammarError {
            origin: origin.to_string(),
            message,
        };
        let common: CommonFile = toml::from_str(&common_src.text)
            .map_err(|e| fail(&common_src.origin, e.to_string()))?;

        let mut g = Grammar {
            vocab: Vocab::default(),
            tables: Tables::default(),
            envs: envs.to_vec(),
            specs: Vec::new(),
            patterns: Vec::new(),
            by_first: HashMap::new(),
            any_first: Vec::new(),
            starters: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            fillers: Vec::new(),
            bot_name: bot_name.to_string(),
        };
        for (i, env) in envs.iter().enumerate() {
            for word in std::iter::once(&env.name).chain(&env.aliases) {
                let sym = g.vocab.intern(word);
                g.tables.env_of_sym.insert(sym, i);
            }
        }
        g.load_common(&common)
            .map_err(|m| fail(&common_src.origin, m))?;

        for kind in IntentKind::ALL {
            let src = file(&format!("{}.toml", kind.name()))?;
            let parsed: IntentFile =
                toml::from_str(&src.text).map_err(|e| fail(&src.origin, e.to_string()))?;
            g.load_intent(kind, parsed, &common)
                .map_err(|m| fail(&src.origin, m))?;
        }
        g.index();
        Ok(g)
    }

    /// The grammar for a configuration: embedded files, the operator's overrides,
    /// the configured environments and bot name.
    pub fn for_config(config: &crate::config::Config) -> Result<Grammar, GrammarError> {
        Grammar::build(&sources_for(config)?, &env_words(config), &config.bot.name)
    }

    /// Everything `check-config` verifies about the grammar a configuration uses:
    /// it compiles for the configured environments, and every example still reads
    /// as its file says. Examples are written with the demo environments (dev, tst,
    /// prd), so they run on the same files built for those.
    pub fn check_config(config: &crate::config::Config) -> Vec<String> {
        let sources = match sources_for(config) {
            Ok(s) => s,
            Err(e) => return vec![e.to_string()],
        };
        let grammar = match Grammar::build(&sources, &env_words(config), &config.bot.name) {
            Ok(g) => g,
            Err(e) => return vec![e.to_string()],
        };
        let mut findings = Vec::new();
        if config.discord.is_some() {
            findings.extend(grammar.slash_command_descriptions(&sources));
        }
        let demo = crate::config::Config::demo();
        match Grammar::build(&sources, &env_words(&demo), &config.bot.name) {
            Ok(g) => findings.extend(
                g.check_examples()
                    .into_iter()
                    .map(|f| format!("example {f}")),
            ),
            Err(e) => findings.push(e.to_string()),
        }
        findings
    }

    /// Each summary's first line is its slash command's description, which
    /// Discord wants 1 to 100 characters long: an empty one makes it refuse
    /// the registration of every command, a longer one is cut.
    fn slash_command_descriptions(&self, sources: &Sources) -> Vec<String> {
        let most = crate::config::discord_limits::DESCRIPTION;
        let mut findings = Vec::new();
        for spec in &self.specs {
            let file = format!("{}.toml", spec.kind.name());
            let origin = sources.files.get(&file).map_or(file, |s| s.origin.clone());
            let line = spec.summary.lines().next().unwrap_or_default().trim();
            let length = line.chars().count();
            if length == 0 {
                findings.push(format!(
                    "{origin}: summary: the first line is blank; it is the /{} slash \
                     command's description, and Discord refuses every command when one \
                     has none",
                    spec.kind.name()
                ));
            } else if length > most {
                findings.push(format!(
                    "{origin}: summary: the first line is {length} characters; it is the /{} \
                     slash command's description, which Discord allows at most {most}",
                    spec.kind.name()
                ));
            }
        }
        findings
    }

    fn load_common(&mut self, common: &CommonFile) -> Result<(), String> {
        for (name, spellings) in &common.strategies {
            let strategy = Strategy::from_name(name).ok_or_else(|| {
                format!(
                    "strategies.{name}: not a strategy (blue-green, canary, rolling, all-at-once)"
                )
            })?;
            for phrase in spellings.iter().chain(std::iter::once(name)) {
                let syms = self.vocab.intern_phrase(phrase);
                if syms.is_empty() || syms.len() > 3 {
                    return Err(format!(
                        "strategies.{name}: '{phrase}' must be one to three words"
                    ));
                }
                let mut key = [UNKNOWN; 3];
                key[..syms.len()].copy_from_slice(&syms);
                self.tables.strategies.insert(key, strategy);
            }
        }
        let phrases = |list: &[String], vocab: &mut Vocab| {
            let mut out: Vec<Vec<Sym>> = list
                .iter()
                .map(|p| vocab.intern_phrase(p))
                .filter(|p| !p.is_empty())
                .collect();
            out.sort_by_key(|p| std::cmp::Reverse(p.len()));
            out
        };
        self.prefixes = phrases(&common.polite_prefixes, &mut self.vocab);
        self.suffixes = phrases(&common.polite_suffixes, &mut self.vocab);
        self.fillers = phrases(&common.trailing_fillers, &mut self.vocab);
        // "hey switchyard, deploy ...": the bot's own name is politeness at the start.
        // "hey switchyard, deploy ..." / "hey @switchyard deploy ...": the bot's own
        // name is politeness at the start.
        for name in [self.bot_name.clone(), format!("@{}", self.bot_name)] {
            let bot = self.vocab.intern_phrase(&name);
            if !bot.is_empty() {
                self.prefixes.push(bot);
            }
        }
        Ok(())
    }

    fn load_intent(
        &mut self,
        kind: IntentKind,
        file: IntentFile,
        common: &CommonFile,
    ) -> Result<(), String> {
        if file.intent != kind.name() {
            return Err(format!(
                "intent = \"{}\" but the file is for {}",
                file.intent,
                kind.name()
            ));
        }
        if file.patterns.is_empty() {
            return Err("patterns: at least one pattern is needed".into());
        }
        let mut synonyms = common.synonyms.clone();
        synonyms.extend(file.synonyms.clone());
        let lookup = |name: &str| {
            file.phrases
                .get(name)
                .or_else(|| common.phrases.get(name))
                .map(String::as_str)
        };
        let ctx = pattern::Context {
            kind,
            synonyms: &synonyms,
            phrases: &lookup,
        };
        for (i, text) in file.patterns.iter().enumerate() {
            let node = pattern::parse(text).map_err(|e| format!("patterns[{i}] `{text}`: {e}"))?;
            let prog = pattern::compile(&node, &ctx, &mut self.vocab)
                .map_err(|e| format!("patterns[{i}] `{text}`: {e}"))?;
            self.patterns.push(Pattern { kind, prog });
        }
        // "help mfa_enroll" (the canonical name, as `command_line` writes it) and
        // "help mfa enroll" both name the topic.
        let names = [kind.name().to_string(), kind.name().replace('_', " ")];
        for name in names.into_iter().chain(file.aka.iter().cloned()) {
            let syms = self.vocab.intern_phrase(&name);
            if syms.is_empty() || syms.len() > 2 {
                return Err(format!("aka: '{name}' must be one or two words"));
            }
            let mut key = [UNKNOWN; 2];
            key[..syms.len()].copy_from_slice(&syms);
            self.tables.topics.entry(key).or_insert(kind);
        }
        self.specs.push(Spec {
            kind,
            summary: file.summary,
            usage: file.usage,
            details: file.details,
            aka: file.aka,
            examples: file.examples,
        });
        Ok(())
    }

    /// Works out which words each pattern can start with, so that parsing tries
    /// only the patterns that could match.
    fn index(&mut self) {
        for (i, p) in self.patterns.iter().enumerate() {
            let (words, any) = first_words(&p.prog);
            if any {
                self.any_first.push(i);
            }
            for w in words {
                self.by_first.entry(w).or_default().push(i);
                if !self.starters.contains(&w) {
                    self.starters.push(w);
                }
            }
        }
        for list in self.by_first.values_mut() {
            list.extend(self.any_first.iter().copied());
            list.sort_unstable();
            list.dedup();
        }
    }

    pub fn specs(&self) -> &[Spec] {
        &self.specs
    }

    pub fn spec(&self, kind: IntentKind) -> &Spec {
        self.specs
            .iter()
            .find(|s| s.kind == kind)
            .expect("every intent has a spec")
    }

    pub fn environments(&self) -> &[EnvWords] {
        &self.envs
    }

    /// Reads a chat message as a command.
    pub fn parse(&self, message: &str) -> Result<Intent, ParseError> {
        self.parse_with(message, true)
    }

    pub(super) fn parse_with(&self, message: &str, suggest: bool) -> Result<Intent, ParseError> {
        let text::Cleaned {
            text: cleaned,
            asked,
        } = text::clean(message, &self.bot_name).map_err(refusal)?;
        let mut scratch = String::new();
        let mut toks = Vec::with_capacity(16);
        text::tokenize(cleaned, &self.vocab, &mut scratch, &mut toks);
        let polite = text::strip_prefixes(&mut toks, &self.prefixes) > 0;
        let end = text::without_suffixes(&toks, &self.suffixes);
        toks.truncate(end);
        if toks.is_empty() {
            return Err(refusal(Refusal::Empty));
        }
        let intent = self.match_with_fillers(&mut toks, cleaned, suggest)?;
        // "deploy 1.3.0 to dev?" is a question; "can you deploy 1.3.0 to dev?" is a request.
        if asked && !polite && intent.kind().changes_things() {
            let mut e = ParseError::plain(
                ErrorKind::Question,
                format!(
                    "that reads as a question, so I did nothing; to do it, say `{}`",
                    intent.command_line()
                ),
            );
            e.intent = Some(intent.kind().name());
            e.usage = Some(self.spec(intent.kind()).usage.clone());
            return Err(e);
        }
        Ok(intent)
    }

    /// Matches the words as typed first, then without trailing fillers ("now",
    /// "for me"): in a reason those may be meant, elsewhere they are noise.
    fn match_with_fillers(
        &self,
        toks: &mut Vec<Token<'_>>,
        cleaned: &str,
        suggest: bool,
    ) -> Result<Intent, ParseError> {
        let end = text::without_suffixes(toks, &self.fillers);
        if end < toks.len() {
            if let Ok(intent) = self.match_tokens(toks, cleaned) {
                return Ok(intent);
            }
            toks.truncate(end);
        }
        self.match_tokens(toks, cleaned)
            .map_err(|attempt| self.explain(attempt, toks, cleaned, suggest))
    }

    /// Tries every pattern that can start with the first word, in order.
    fn match_tokens(&self, toks: &[Token<'_>], cleaned: &str) -> Result<Intent, Attempt> {
        let candidates = self.by_first.get(&toks[0].sym).unwrap_or(&self.any_first);
        let mut machine = Machine::default();
        // Most messages are commands: match without bookkeeping first, and pay for
        // the explanation only when nothing matched.
        let mut unrecorded = Failure::default();
        let mut attempt = Attempt::default();
        for &i in candidates {
            let pattern = &self.patterns[i];
            if machine.run(&pattern.prog, cleaned, toks, &self.tables, &mut unrecorded) {
                match pattern
                    .kind
                    .build(&self.slots(&machine.caps, toks, cleaned))
                {
                    Ok(intent) => return Ok(intent),
                    Err(why) => attempt.conflict = attempt.conflict.or(Some((pattern.kind, why))),
                }
            }
        }
        if attempt.conflict.is_some() {
            return Err(attempt);
        }
        let mut failure = Failure::recording();
        for &i in candidates {
            failure.reset();
            machine.run(
                &self.patterns[i].prog,
                cleaned,
                toks,
                &self.tables,
                &mut failure,
            );
            let better = match &attempt.best {
                None => true,
                Some((_, b)) => {
                    failure.pos > b.pos
                        || (failure.pos == b.pos
                            && b.problem.is_none()
                            && failure.problem.is_some())
                }
            };
            if better {
                attempt.best = Some((self.patterns[i].kind, failure.clone()));
            }
        }
        Err(attempt)
    }

    /// Turns the winning match's captures into values, making strings only now.
    fn slots(&self, caps: &[(Field, Cap)], toks: &[Token<'_>], cleaned: &str) -> Slots {
        let end = toks.last().map_or(0, |t| t.raw_end);
        Slots(
            caps.iter()
                .map(|(field, cap)| {
                    let value = match *cap {
                        Cap::Version { tok, skip } => {
                            SlotValue::Version(toks[tok].text[skip as usize..].to_string())
                        }
                        Cap::Env(i) => SlotValue::Env(self.envs[i].name.clone()),
                        Cap::Strategy(s) => SlotValue::Strategy(s),
                        Cap::Number(n) => SlotValue::Number(n),
                        Cap::Text { from } => {
                            SlotValue::Text(cleaned[toks[from].raw_start..end].to_string())
                        }
                        Cap::Topic(k) => SlotValue::Topic(k),
                        Cap::Flag(b) => SlotValue::Flag(b),
                    };
                    (*field, value)
                })
                .collect(),
        )
    }
}

/// The embedded grammar files with the operator's `bot.intents_dir` on top.
fn sources_for(config: &crate::config::Config) -> Result<Sources, GrammarError> {
    let sources = Sources::embedded();
    match &config.bot.intents_dir {
        None => Ok(sources),
        Some(dir) => sources.with_overrides(dir).map_err(|message| GrammarError {
            origin: "bot.intents_dir".into(),
            message,
        }),
    }
}

fn env_words(config: &crate::config::Config) -> Vec<EnvWords> {
    config
        .environments
        .iter()
        .map(|e| EnvWords {
            name: e.name.clone(),
            aliases: e.aliases.clone(),
        })
        .collect()
}

fn refusal(r: Refusal) -> ParseError {
    match r {
        Refusal::Empty => ParseError::plain(ErrorKind::Empty, "the message has no command in it"),
        Refusal::TooLong(n) => ParseError::plain(
            ErrorKind::TooLong,
            format!(
                "the message is {n} characters long; commands are at most {} characters",
                text::MAX_MESSAGE_CHARS
            ),
        ),
        Refusal::ControlCharacter => ParseError::plain(
            ErrorKind::ControlCharacter,
            "the message contains control characters; type the command as plain text",
        ),
    }
}

/// The words a program can start with, and whether it can start with a slot
/// (or match nothing), which means any first word might fit.
fn first_words(prog: &[Inst]) -> (Vec<Sym>, bool) {
    let mut words = Vec::new();
    let mut any = false;
    let mut todo = vec![0usize];
    let mut seen = vec![false; prog.len()];
    while let Some(pc) = todo.pop() {
        if std::mem::replace(&mut seen[pc], true) {
            continue;
        }
        match &prog[pc] {
            Inst::Word { sym, .. } => {
                if !words.contains(sym) {
                    words.push(*sym);
                }
            }
            Inst::Slot { .. } | Inst::Match => any = true,
            Inst::Set(..) => todo.push(pc + 1),
            Inst::Split(a, b) => todo.extend([*a, *b]),
            Inst::Jmp(t) => todo.push(*t),
        }
    }
    (words, any)
}
