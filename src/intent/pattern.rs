//! The pattern language of `intents/*.toml`, and its compilation into a small
//! program for the matcher.
//!
//! A pattern is a sentence with holes:
//!
//! ```text
//! promote [version] {version} from {from} (to|into) {to} [<strategy>] [<dry_run>]
//! ```
//!
//! - `word` matches that word in any case, or one of its synonyms;
//! - `{field}` is a slot whose type the field decides (see [`super::kind::Field`]);
//! - `{field=value}` sets a field when the match passes through it (`{dry_run=true}`);
//! - `[ ... ]` is optional, `( a | b c )` is a choice, `|` also works inside `[ ]`;
//! - `<name>` inserts a shared phrase from the `[phrases]` tables.
//!
//! There is no repetition, so every program is loop-free and every match ends.
//! Compilation checks what a reader would otherwise find at run time: unknown
//! fields, fields the intent does not have, and patterns that can match without
//! filling a required field.

use std::collections::BTreeMap;

use super::kind::{Field, IntentKind, SlotType};
use super::matcher::{Cap, Inst};
use super::model::Strategy;
use super::vocab::Vocab;

/// A parsed pattern, before compilation.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Word(String),
    Slot(Field),
    Set(Field, String),
    Phrase(String),
    Seq(Vec<Node>),
    Alt(Vec<Node>),
    Opt(Box<Node>),
}

/// Characters with a meaning in the pattern language; they never start a word.
const SPECIAL: &[char] = &['[', ']', '(', ')', '{', '}', '<', '>', '|'];

/// Parses a pattern's text.
pub fn parse(src: &str) -> Result<Node, String> {
    let mut p = Parser {
        chars: src.char_indices().collect(),
        i: 0,
    };
    let node = p.alternatives(None)?;
    Ok(node)
}

struct Parser {
    chars: Vec<(usize, char)>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).map(|&(_, c)| c)
    }

    fn take_until(&mut self, close: char, what: &str) -> Result<String, String> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == close {
                return Ok(out.trim().to_string());
            }
            out.push(c);
        }
        Err(format!("{what} is not closed with '{close}'"))
    }

    fn alternatives(&mut self, close: Option<char>) -> Result<Node, String> {
        let mut alts = Vec::new();
        let mut seq = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                if let Some(close) = close {
                    return Err(format!("a group is not closed with '{close}'"));
                }
                break;
            };
            if c.is_whitespace() {
                self.i += 1;
                continue;
            }
            if Some(c) == close {
                self.i += 1;
                break;
            }
            self.i += 1;
            match c {
                '|' => alts.push(Node::Seq(std::mem::take(&mut seq))),
                '[' => seq.push(Node::Opt(Box::new(self.alternatives(Some(']'))?))),
                '(' => seq.push(self.alternatives(Some(')'))?),
                '{' => seq.push(slot(&self.take_until('}', "a slot '{'")?)?),
                '<' => seq.push(Node::Phrase(self.take_until('>', "a phrase '<'")?)),
                ']' | ')' | '}' | '>' => return Err(format!("unexpected '{c}'")),
                _ => {
                    let mut word = String::from(c);
                    while let Some(c) = self.peek() {
                        if c.is_whitespace() || SPECIAL.contains(&c) {
                            break;
                        }
                        word.push(c);
                        self.i += 1;
                    }
                    seq.push(Node::Word(word.to_lowercase()));
                }
            }
        }
        alts.push(Node::Seq(seq));
        Ok(if alts.len() == 1 {
            alts.pop().expect("one alternative")
        } else {
            Node::Alt(alts)
        })
    }
}

fn slot(spec: &str) -> Result<Node, String> {
    let (name, value) = match spec.split_once('=') {
        Some((n, v)) => (n.trim(), Some(v.trim())),
        None => (spec, None),
    };
    let field = Field::from_name(name).ok_or_else(|| {
        let known: Vec<_> = Field::ALL.iter().map(|f| f.name()).collect();
        format!(
            "unknown field '{{{name}}}'; fields are {}",
            known.join(", ")
        )
    })?;
    Ok(match value {
        Some(v) => Node::Set(field, v.to_string()),
        None => Node::Slot(field),
    })
}

/// What a compiled pattern needs from the intent file and the shared file.
pub struct Context<'a> {
    pub kind: IntentKind,
    pub synonyms: &'a BTreeMap<String, Vec<String>>,
    pub phrases: &'a dyn Fn(&str) -> Option<&'a str>,
}

/// Compiles a pattern into matcher instructions, interning its words.
pub fn compile(node: &Node, ctx: &Context<'_>, vocab: &mut Vocab) -> Result<Vec<Inst>, String> {
    let mut c = Compiler {
        ctx,
        vocab,
        prog: Vec::new(),
        depth: 0,
        optional: 0,
        consumed: true,
        in_synonyms: false,
    };
    let filled = c.node(node)?;
    let missing: Vec<_> = ctx
        .kind
        .required()
        .iter()
        .filter(|f| filled & bit(**f) == 0)
        .map(|f| format!("{{{}}}", f.name()))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "can match without filling {} (required for {})",
            missing.join(", "),
            ctx.kind.name()
        ));
    }
    c.prog.push(Inst::Match);
    Ok(c.prog)
}

fn bit(f: Field) -> u32 {
    1 << (f as u32)
}

struct Compiler<'a, 'b> {
    ctx: &'b Context<'a>,
    vocab: &'b mut Vocab,
    prog: Vec<Inst>,
    depth: usize,
    /// How many `[ ]` enclose the node being compiled.
    optional: usize,
    /// Whether every path into the innermost `[ ]` has read a word by now.
    consumed: bool,
    /// Compiling a word's synonyms, which are not expanded again.
    in_synonyms: bool,
}

impl Compiler<'_, '_> {
    /// Emits the node's instructions and returns the fields it fills on every path.
    fn node(&mut self, node: &Node) -> Result<u32, String> {
        match node {
            Node::Word(w) => {
                match self.ctx.synonyms.get(w) {
                    // Synonyms are not expanded again: `deploy = ["ship"]` does not make
                    // every synonym of `ship` a synonym of `deploy`.
                    Some(alternatives) if !self.in_synonyms => {
                        let words = |phrase: &str| {
                            Node::Seq(
                                phrase
                                    .split_whitespace()
                                    .map(|s| Node::Word(s.to_lowercase()))
                                    .collect(),
                            )
                        };
                        let choice = std::iter::once(w.as_str())
                            .chain(alternatives.iter().map(String::as_str))
                            .map(words)
                            .collect();
                        self.in_synonyms = true;
                        let compiled = self.node(&Node::Alt(choice));
                        self.in_synonyms = false;
                        compiled?;
                    }
                    _ => self.word(w),
                }
                Ok(0)
            }
            Node::Slot(f) => {
                self.check_field(*f)?;
                if f.slot_type() == SlotType::Flag {
                    return Err(format!(
                        "{{{0}}} is a flag: write {{{0}=true}} after the words that set it",
                        f.name()
                    ));
                }
                self.prog.push(Inst::Slot {
                    field: *f,
                    quiet: self.optional > 0 && !self.consumed,
                });
                self.consumed = true;
                Ok(bit(*f))
            }
            Node::Set(f, value) => {
                self.check_field(*f)?;
                let cap = constant(*f, value)?;
                self.prog.push(Inst::Set(*f, cap));
                Ok(bit(*f))
            }
            Node::Phrase(name) => {
                let text =
                    (self.ctx.phrases)(name).ok_or_else(|| format!("unknown phrase <{name}>"))?;
                self.depth += 1;
                if self.depth > 8 {
                    return Err(format!("phrase <{name}> refers to itself"));
                }
                let parsed = parse(text).map_err(|e| format!("in phrase <{name}>: {e}"))?;
                let filled = self.node(&parsed)?;
                self.depth -= 1;
                Ok(filled)
            }
            Node::Seq(items) => {
                let mut filled = 0;
                for item in items {
                    filled |= self.node(item)?;
                }
                Ok(filled)
            }
            Node::Opt(inner) => {
                let split = self.placeholder();
                let body = self.prog.len();
                let consumed = std::mem::replace(&mut self.consumed, false);
                self.optional += 1;
                self.node(inner)?;
                self.optional -= 1;
                self.consumed = consumed;
                let after = self.prog.len();
                self.prog[split] = Inst::Split(body, after);
                Ok(0)
            }
            Node::Alt(alts) => {
                let mut filled = u32::MAX;
                let mut exits = Vec::new();
                let entry = self.consumed;
                let mut all_consumed = true;
                for (i, alt) in alts.iter().enumerate() {
                    self.consumed = entry;
                    if i + 1 == alts.len() {
                        filled &= self.node(alt)?;
                        all_consumed &= self.consumed;
                        break;
                    }
                    let split = self.placeholder();
                    let body = self.prog.len();
                    filled &= self.node(alt)?;
                    all_consumed &= self.consumed;
                    exits.push(self.placeholder());
                    let next = self.prog.len();
                    self.prog[split] = Inst::Split(body, next);
                }
                let end = self.prog.len();
                for exit in exits {
                    self.prog[exit] = Inst::Jmp(end);
                }
                self.consumed = all_consumed;
                Ok(filled)
            }
        }
    }

    fn word(&mut self, w: &str) {
        self.consumed = true;
        let sym = self.vocab.intern(w);
        self.prog.push(Inst::Word {
            sym,
            optional: self.optional > 0,
        });
    }

    fn placeholder(&mut self) -> usize {
        self.prog.push(Inst::Match);
        self.prog.len() - 1
    }

    fn check_field(&self, f: Field) -> Result<(), String> {
        if self.ctx.kind.fields().contains(&f) {
            return Ok(());
        }
        let own: Vec<_> = self.ctx.kind.fields().iter().map(|f| f.name()).collect();
        Err(format!(
            "{} has no field '{}' (its fields: {})",
            self.ctx.kind.name(),
            f.name(),
            if own.is_empty() {
                "none".to_string()
            } else {
                own.join(", ")
            }
        ))
    }
}

/// The value of `{field=value}`, checked against the field's type.
fn constant(f: Field, value: &str) -> Result<Cap, String> {
    let bad = || {
        format!(
            "{{{}={value}}} is not a valid value for {}",
            f.name(),
            f.name()
        )
    };
    Ok(match f.slot_type() {
        SlotType::Flag => Cap::Flag(value.parse().map_err(|_| bad())?),
        SlotType::Count => Cap::Number(super::slots::check_count(value).map_err(|_| bad())?),
        SlotType::Id => Cap::Number(super::slots::check_id(value).map_err(|_| bad())?),
        SlotType::Strategy => Cap::Strategy(Strategy::from_name(value).ok_or_else(bad)?),
        SlotType::Topic => Cap::Topic(IntentKind::from_name(value).ok_or_else(bad)?),
        SlotType::Version | SlotType::Env | SlotType::Text => {
            return Err(format!(
                "{{{}}} can only be read from the message, not set",
                f.name()
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_options_slots_and_phrases_parse() {
        let node =
            parse("promote [version] {version} (to|into the) {to} {dry_run=true} <x>").unwrap();
        let Node::Seq(items) = node else {
            panic!("not a sequence")
        };
        assert_eq!(items.len(), 7);
        assert_eq!(items[2], Node::Slot(Field::Version));
        assert_eq!(items[5], Node::Set(Field::DryRun, "true".into()));
    }

    #[test]
    fn malformed_patterns_say_what_is_wrong() {
        assert!(parse("deploy [version").unwrap_err().contains("not closed"));
        assert!(
            parse("deploy {verison}")
                .unwrap_err()
                .contains("unknown field")
        );
        assert!(parse("deploy ) x").unwrap_err().contains("unexpected"));
    }
}
