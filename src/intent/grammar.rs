//! The loaded grammar: every intent's compiled patterns plus the vocabulary, and
//! `parse`, which turns a chat message into an [`Intent`] or a [`ParseError`].
//!
//! Patterns are tried in a fixed order (intents as [`IntentKind::ALL`] lists them,
//! patterns in file order) and the first full match wins; only patterns that can
//! start with the message's first word are tried at all. A match must explain
//! every word. When none does, the attempt that got furthest explains the error.

use std::collections::{BTreeMap, HashMap};

use super::error::{ErrorKind, ParseError, quote};
use super::files::{COMMON, CommonFile, Example, IntentFile, Sources};
use super::kind::{Field, IntentKind, SlotValue, Slots};
use super::matcher::{Cap, Expect, Failure, Inst, Machine, Tables};
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

#[derive(Debug, Clone)]
struct Pattern {
    kind: IntentKind,
    prog: Vec<Inst>,
}

#[derive(Debug, Clone)]
pub struct Grammar {
    vocab: Vocab,
    tables: Tables,
    envs: Vec<EnvWords>,
    specs: Vec<Spec>,
    patterns: Vec<Pattern>,
    /// For each first word, the patterns (indices, in order) that can start with it.
    by_first: HashMap<Sym, Vec<usize>>,
    /// Patterns that can start with a slot: tried whatever the first word is.
    any_first: Vec<usize>,
    /// Every word some pattern can start with, for "did you mean" on unknown commands.
    starters: Vec<Sym>,
    prefixes: Vec<Vec<Sym>>,
    suffixes: Vec<Vec<Sym>>,
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
        if let Err(e) = Grammar::build(&sources, &env_words(config), &config.bot.name) {
            return vec![e.to_string()];
        }
        let demo = crate::config::Config::demo();
        match Grammar::build(&sources, &env_words(&demo), &config.bot.name) {
            Ok(g) => g
                .check_examples()
                .into_iter()
                .map(|f| format!("example {f}"))
                .collect(),
            Err(e) => vec![e.to_string()],
        }
    }

    fn load_common(&mut self, common: &CommonFile) -> Result<(), String> {
        for (name, spellings) in &common.strategies {
            let strategy = Strategy::from_canonical(name).ok_or_else(|| {
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
        // "hey switchyard, deploy ...": the bot's own name is politeness at the start.
        let bot = self.vocab.intern_phrase(&self.bot_name);
        if !bot.is_empty() {
            self.prefixes.push(bot);
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
        for name in std::iter::once(kind.name().replace('_', " ")).chain(file.aka.iter().cloned()) {
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

    fn parse_with(&self, message: &str, suggest: bool) -> Result<Intent, ParseError> {
        let cleaned = text::clean(message, &self.bot_name).map_err(refusal)?;
        let mut scratch = String::new();
        let mut toks = Vec::with_capacity(16);
        text::tokenize(cleaned, &self.vocab, &mut scratch, &mut toks);
        text::strip_politeness(&mut toks, &self.prefixes, &self.suffixes);
        let Some(first) = toks.first() else {
            return Err(refusal(Refusal::Empty));
        };
        let candidates = self.by_first.get(&first.sym).unwrap_or(&self.any_first);

        let mut machine = Machine::default();
        let mut failure = Failure::default();
        let mut best: Option<(usize, Failure)> = None;
        let mut conflict: Option<(IntentKind, String)> = None;
        for &i in candidates {
            let pattern = &self.patterns[i];
            failure.reset();
            if machine.run(&pattern.prog, &toks, &self.tables, &mut failure) {
                match pattern
                    .kind
                    .build(&self.slots(&machine.caps, &toks, cleaned))
                {
                    Ok(intent) => return Ok(intent),
                    Err(why) => conflict = conflict.or(Some((pattern.kind, why))),
                }
                continue;
            }
            let better = match &best {
                None => true,
                Some((_, b)) => {
                    failure.pos > b.pos
                        || (failure.pos == b.pos
                            && b.problem.is_none()
                            && failure.problem.is_some())
                }
            };
            if better {
                best = Some((i, failure.clone()));
            }
        }
        if let Some((kind, why)) = conflict {
            let mut e = ParseError::plain(ErrorKind::Conflict, why);
            e.intent = Some(kind.name());
            e.usage = Some(self.spec(kind).usage.clone());
            return Err(e);
        }
        Err(self.explain(best, &toks, cleaned, suggest))
    }

    /// Turns the winning match's captures into values, making strings only now.
    fn slots(&self, caps: &[(Field, Cap)], toks: &[Token<'_>], cleaned: &str) -> Slots {
        let end = toks.last().map_or(0, |t| t.end);
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
                            SlotValue::Text(cleaned[toks[from].start..end].to_string())
                        }
                        Cap::Topic(k) => SlotValue::Topic(k),
                        Cap::Flag(b) => SlotValue::Flag(b),
                    };
                    (*field, value)
                })
                .collect(),
        )
    }

    /// Builds the error from the attempt that got furthest.
    fn explain(
        &self,
        best: Option<(usize, Failure)>,
        toks: &[Token<'_>],
        cleaned: &str,
        suggest: bool,
    ) -> ParseError {
        let first = toks[0].text;
        // Stopping at the first word means no command was recognised, even when a
        // pattern that starts with a slot had an opinion about that word.
        let Some((pattern, failure)) = best.filter(|(_, f)| f.pos > 0) else {
            let mut e = ParseError::plain(
                ErrorKind::NotUnderstood,
                format!("{} is not a command I know", quote(first)),
            );
            if suggest {
                e.did_you_mean = self.correction(toks, 0, cleaned, &self.starter_words());
            }
            return e;
        };
        let kind = self.patterns[pattern].kind;
        let pos = failure.pos;
        let (error_kind, message) = if let Some((field, at)) = failure.problem {
            (ErrorKind::BadValue, self.slot_problem(field, toks[at].text))
        } else if pos >= toks.len() {
            (
                ErrorKind::Incomplete,
                format!("missing {}", self.describe_expected(&failure.expected)),
            )
        } else if !failure
            .expected
            .iter()
            .any(|x| matches!(x, Expect::Word(_) | Expect::Slot(_)))
        {
            // Only optional words or the end would have fitted: the rest is surplus.
            let rest = &cleaned[toks[pos].start..];
            (
                ErrorKind::Unexpected,
                format!(
                    "I don't know what {} means in a {} command",
                    quote(rest),
                    kind.name()
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
        e.understood = (pos > 0).then(|| cleaned[toks[0].start..toks[pos - 1].end].to_string());
        if suggest && pos < toks.len() {
            let words = match failure.problem {
                Some((f, _)) => self.words_for(f),
                None => failure
                    .expected
                    .iter()
                    .filter_map(|x| match x {
                        Expect::Word(s) | Expect::Filler(s) => {
                            Some(self.vocab.word(*s).to_string())
                        }
                        Expect::Slot(f) | Expect::Maybe(f) => self.words_for(*f).into_iter().next(),
                        Expect::End => None,
                    })
                    .collect(),
            };
            e.did_you_mean = self.correction(toks, pos, cleaned, &words);
        }
        e
    }

    /// The words a slot of this field accepts, for "did you mean".
    fn words_for(&self, field: Field) -> Vec<String> {
        use super::kind::SlotType as T;
        let words = |syms: &mut dyn Iterator<Item = Sym>| {
            syms.map(|s| self.vocab.word(s).to_string()).collect()
        };
        match field.slot_type() {
            T::Env => self
                .envs
                .iter()
                .flat_map(|e| std::iter::once(&e.name).chain(&e.aliases))
                .cloned()
                .collect(),
            T::Strategy => words(&mut self.tables.strategies.keys().map(|k| k[0])),
            T::Topic => words(&mut self.tables.topics.keys().map(|k| k[0])),
            _ => Vec::new(),
        }
    }

    fn starter_words(&self) -> Vec<String> {
        self.starters
            .iter()
            .map(|s| self.vocab.word(*s).to_string())
            .collect()
    }

    /// If the word at `pos` is a near miss of one of `words`, the corrected
    /// command (when it then parses) or the word alone.
    fn correction(
        &self,
        toks: &[Token<'_>],
        pos: usize,
        cleaned: &str,
        words: &[String],
    ) -> Option<String> {
        let typed = toks.get(pos)?.text.to_lowercase();
        let limit = match typed.chars().count() {
            0..=2 => return None,
            3..=5 => 1,
            _ => 2,
        };
        let word = words
            .iter()
            .map(|w| (strsim::damerau_levenshtein(&typed, w), w))
            .filter(|(d, w)| *d > 0 && *d <= limit && w.len() > 1)
            .min_by_key(|(d, _)| *d)?
            .1;
        let fixed = format!(
            "{}{}{}",
            &cleaned[..toks[pos].start],
            word,
            &cleaned[toks[pos].end..]
        );
        Some(match self.parse_with(&fixed, false) {
            Ok(intent) => intent.command_line(),
            Err(_) => word.clone(),
        })
    }

    fn slot_problem(&self, field: Field, word: &str) -> String {
        use super::kind::SlotType as T;
        use super::slots;
        match field.slot_type() {
            T::Version => slots::check_version(word).err().unwrap_or_default(),
            T::Count => slots::check_count(word).err().unwrap_or_default(),
            T::Id => slots::check_id(word).err().unwrap_or_default(),
            T::Env => {
                let known: Vec<_> = self.envs.iter().map(|e| e.name.as_str()).collect();
                format!(
                    "{} is not an environment; the environments are {}",
                    quote(word),
                    known.join(", ")
                )
            }
            T::Strategy => format!(
                "{} is not a strategy; choose blue-green, canary, rolling or all-at-once",
                quote(word)
            ),
            T::Topic => format!(
                "there is no help on {}; type `help` for the list of commands",
                quote(word)
            ),
            T::Text | T::Flag => format!("{} is not valid here", quote(word)),
        }
    }

    fn describe_expected(&self, expected: &[Expect]) -> String {
        // Optional words are named only when nothing required was expected there.
        let required = expected
            .iter()
            .any(|x| matches!(x, Expect::Word(_) | Expect::Slot(_)));
        let mut parts: Vec<String> = Vec::new();
        for x in expected {
            let part = match x {
                Expect::Slot(f) => f.describe().to_string(),
                Expect::Word(s) => format!("'{}'", self.vocab.word(*s)),
                Expect::Filler(s) if !required => format!("'{}'", self.vocab.word(*s)),
                Expect::Maybe(f) if !required => f.describe().to_string(),
                Expect::Filler(_) | Expect::Maybe(_) | Expect::End => continue,
            };
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
        // Slots first: "the target environment" says more than "'into'".
        parts.sort_by_key(|p| p.starts_with('\''));
        parts.truncate(4);
        match parts.len() {
            0 => "nothing more".to_string(),
            1 => parts.remove(0),
            n => format!("{} or {}", parts[..n - 1].join(", "), parts[n - 1]),
        }
    }

    /// Runs every example of every intent file; returns one line per failure.
    pub fn check_examples(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for spec in &self.specs {
            for ex in &spec.examples {
                if let Err(why) = self.check_example(spec.kind, ex) {
                    failures.push(format!("{}.toml: \"{}\": {why}", spec.kind.name(), ex.say));
                }
            }
        }
        failures
    }

    fn check_example(&self, kind: IntentKind, ex: &Example) -> Result<(), String> {
        match (&ex.means, &ex.refused, self.parse(&ex.say)) {
            (Some(_), Some(_), _) | (None, None, _) => {
                Err("give exactly one of `means` or `refused`".into())
            }
            (None, Some(_), Ok(intent)) => {
                Err(format!("should be refused but reads as {}", json(&intent)))
            }
            (None, Some(want), Err(e)) if !e.error.contains(want.as_str()) => Err(format!(
                "refused with \"{}\", which does not contain \"{want}\"",
                e.error
            )),
            (None, Some(_), Err(_)) => Ok(()),
            (Some(_), None, Err(e)) => Err(format!("refused: {}", e.error)),
            (Some(means), None, Ok(intent)) => {
                let got = serde_json::to_value(&intent).map_err(|e| e.to_string())?;
                let mut want = BTreeMap::new();
                want.insert("intent".to_string(), serde_json::Value::from(kind.name()));
                for (key, value) in got.as_object().into_iter().flatten() {
                    if key != "intent" {
                        let default = if value.is_boolean() {
                            false.into()
                        } else {
                            serde_json::Value::Null
                        };
                        want.insert(key.clone(), default);
                    }
                }
                for (key, value) in means {
                    if !want.contains_key(key) {
                        return Err(format!("means.{key}: {} has no such field", kind.name()));
                    }
                    want.insert(
                        key.clone(),
                        serde_json::to_value(value).map_err(|e| e.to_string())?,
                    );
                }
                let want = serde_json::to_value(want).map_err(|e| e.to_string())?;
                if got == want {
                    Ok(())
                } else {
                    Err(format!("reads as {got}, expected {want}"))
                }
            }
        }
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

fn json(intent: &Intent) -> String {
    serde_json::to_string(intent).unwrap_or_default()
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
