//! The matcher: runs one compiled pattern over a message's words.
//!
//! It is a backtracking machine over a loop-free program (words, slots, splits,
//! jumps), the shape of a regex engine but with words as characters and typed
//! slots. Besides matching, it remembers the furthest word any path reached and
//! what it expected there; that is what lets an error say "understood
//! `promote 1.3.0 from tst`, missing the target environment" instead of "no".

use std::collections::HashMap;

use super::kind::{Field, IntentKind};
use super::model::Strategy;
use super::slots;
use super::text::Token;
use super::vocab::{Sym, UNKNOWN};

/// A value captured during a match. Positions refer to the message's tokens, so
/// capturing allocates nothing; strings are made once, for the winning match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cap {
    /// The version is token `tok`, without its first `skip` bytes (a leading `v`).
    Version {
        tok: usize,
        skip: u8,
    },
    /// An index into the configured environments.
    Env(usize),
    Strategy(Strategy),
    Number(u64),
    /// Free text from token `from` to the end of the message.
    Text {
        from: usize,
    },
    Topic(IntentKind),
    Flag(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Inst {
    /// A word; `optional` when it sits inside `[ ]`, which makes it a weaker
    /// expectation in error messages ("missing 'from'", not "missing 'env'").
    Word {
        sym: Sym,
        optional: bool,
    },
    /// A slot; `quiet` when it opens an optional group, where a word that does
    /// not fit is no evidence that the user meant this slot (see [`Expect::Maybe`]).
    Slot {
        field: Field,
        quiet: bool,
    },
    Set(Field, Cap),
    /// Try the first target; on failure come back and try the second.
    Split(usize, usize),
    Jmp(usize),
    Match,
}

/// What the matcher wanted where it stopped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expect {
    Word(Sym),
    /// A word the pattern would have taken but did not need.
    Filler(Sym),
    Slot(Field),
    /// A slot the pattern would have read but did not need.
    Maybe(Field),
    End,
}

/// The vocabulary lookups that slots need.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    /// Environment index for each vocabulary symbol that names one.
    pub env_of_sym: HashMap<Sym, usize>,
    /// Strategy spellings of up to three words, padded with [`UNKNOWN`].
    pub strategies: HashMap<[Sym; 3], Strategy>,
    /// Help topics of up to two words, padded with [`UNKNOWN`].
    pub topics: HashMap<[Sym; 2], IntentKind>,
}

/// The furthest point the matcher reached without matching, and why it stopped.
/// Recording costs time on every failed step, so it happens only when asked for
/// ([`Failure::recording`]): after no pattern matched and an error is due.
#[derive(Debug, Default, Clone)]
pub struct Failure {
    recording: bool,
    pub pos: usize,
    pub expected: Vec<Expect>,
    /// A slot that rejected its word for a reason worth telling (an unknown
    /// environment, an invalid version), as (field, token index).
    pub problem: Option<(Field, usize)>,
}

impl Failure {
    /// A failure that records what each failed step expected.
    pub fn recording() -> Failure {
        Failure {
            recording: true,
            ..Failure::default()
        }
    }

    pub fn reset(&mut self) {
        self.pos = 0;
        self.expected.clear();
        self.problem = None;
    }

    fn note(&mut self, pos: usize, expect: Expect) {
        if !self.recording || pos < self.pos {
            return;
        }
        if pos > self.pos {
            self.reset();
            self.pos = pos;
        }
        if !self.expected.contains(&expect) {
            self.expected.push(expect);
        }
    }

    fn note_problem(&mut self, pos: usize, field: Field) {
        self.note(pos, Expect::Slot(field));
        if self.recording && pos == self.pos && self.problem.is_none() {
            self.problem = Some((field, pos));
        }
    }
}

/// Scratch space reused across runs so that matching allocates nothing.
#[derive(Debug, Default)]
pub struct Machine {
    stack: Vec<(usize, usize, usize)>,
    pub caps: Vec<(Field, Cap)>,
}

/// No pattern needs more steps than this; a message that would is refused rather
/// than allowed to burn CPU.
const STEP_BUDGET: usize = 50_000;

impl Machine {
    /// Runs `prog` over all of `toks`. On success the captures are in `self.caps`.
    /// `text` is the cleaned message the tokens point into.
    pub fn run(
        &mut self,
        prog: &[Inst],
        text: &str,
        toks: &[Token<'_>],
        tables: &Tables,
        fail: &mut Failure,
    ) -> bool {
        self.stack.clear();
        self.caps.clear();
        let (mut pc, mut pos) = (0usize, 0usize);
        for _ in 0..STEP_BUDGET {
            let advanced = match &prog[pc] {
                Inst::Word { sym, optional } => {
                    let ok = toks.get(pos).is_some_and(|t| t.sym == *sym);
                    if ok {
                        pos += 1;
                        pc += 1;
                    } else if *optional {
                        fail.note(pos, Expect::Filler(*sym));
                    } else {
                        fail.note(pos, Expect::Word(*sym));
                    }
                    ok
                }
                Inst::Slot { field, quiet } => match read_slot(*field, text, toks, pos, tables) {
                    Ok((cap, used)) => {
                        self.caps.push((*field, cap));
                        pos += used;
                        pc += 1;
                        true
                    }
                    Err(worth_telling) => {
                        if *quiet {
                            fail.note(pos, Expect::Maybe(*field));
                        } else if worth_telling {
                            fail.note_problem(pos, *field);
                        } else {
                            fail.note(pos, Expect::Slot(*field));
                        }
                        false
                    }
                },
                Inst::Set(field, cap) => {
                    self.caps.push((*field, *cap));
                    pc += 1;
                    true
                }
                Inst::Split(first, second) => {
                    self.stack.push((*second, pos, self.caps.len()));
                    pc = *first;
                    true
                }
                Inst::Jmp(target) => {
                    pc = *target;
                    true
                }
                Inst::Match => {
                    if pos == toks.len() {
                        return true;
                    }
                    fail.note(pos, Expect::End);
                    false
                }
            };
            if !advanced {
                match self.stack.pop() {
                    Some((p, q, c)) => {
                        pc = p;
                        pos = q;
                        self.caps.truncate(c);
                    }
                    None => return false,
                }
            }
        }
        false
    }
}

/// Reads one slot at `pos`. `Err(true)` means the word was meant for this slot
/// but is wrong (worth telling the user); `Err(false)` means it simply is not
/// this slot's word (a grammar word, or the end of the message).
fn read_slot(
    field: Field,
    text: &str,
    toks: &[Token<'_>],
    pos: usize,
    tables: &Tables,
) -> Result<(Cap, usize), bool> {
    use super::kind::SlotType as T;
    let tok = toks.get(pos).ok_or(false)?;
    let unknown = tok.sym == UNKNOWN;
    match field.slot_type() {
        T::Version => {
            // A word the grammar uses ("to", "prd", "canary") is never a version;
            // this is what makes "deploy to prd" report a missing version.
            if !unknown {
                return Err(false);
            }
            let normal = slots::check_version(tok.text).map_err(|_| true)?;
            let skip = (tok.text.len() - normal.len()) as u8;
            Ok((Cap::Version { tok: pos, skip }, 1))
        }
        T::Env => match tables.env_of_sym.get(&tok.sym) {
            Some(&env) => Ok((Cap::Env(env), 1)),
            // A number or a version where an environment could stand ("pause for 10
            // minutes", "deploy 1.3.0 2.0.0") was not meant as an environment.
            None => Err(unknown && !slots::looks_numeric(tok.text)),
        },
        T::Strategy => longest_phrase(&tables.strategies, toks, pos)
            .map(|(s, n)| (Cap::Strategy(s), n))
            .ok_or(unknown),
        T::Count => slots::check_count(tok.text)
            .map(|n| (Cap::Number(n), 1))
            .map_err(|_| unknown || slots::looks_numeric(tok.text)),
        T::Id => slots::check_id(tok.text)
            .map(|n| (Cap::Number(n), 1))
            .map_err(|_| unknown || slots::looks_numeric(tok.text)),
        T::Text => {
            let end = toks.last().map_or(tok.raw_end, |t| t.raw_end);
            slots::check_text(&text[tok.raw_start..end]).map_err(|_| true)?;
            Ok((Cap::Text { from: pos }, toks.len() - pos))
        }
        T::Topic => longest_phrase(&tables.topics, toks, pos)
            .map(|(k, n)| (Cap::Topic(k), n))
            .ok_or(unknown),
        T::Flag => Err(false),
    }
}

/// The longest phrase of up to `N` known words at `pos` that `table` holds
/// (keys are padded with [`UNKNOWN`]), with the number of words it took.
fn longest_phrase<V: Copy, const N: usize>(
    table: &HashMap<[Sym; N], V>,
    toks: &[Token<'_>],
    pos: usize,
) -> Option<(V, usize)> {
    let available = toks.len().saturating_sub(pos).min(N);
    (1..=available).rev().find_map(|len| {
        let words = &toks[pos..pos + len];
        if words.iter().any(|t| t.sym == UNKNOWN) {
            return None;
        }
        let mut key = [UNKNOWN; N];
        for (k, t) in key.iter_mut().zip(words) {
            *k = t.sym;
        }
        table.get(&key).map(|v| (*v, len))
    })
}
