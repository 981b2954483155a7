//! The vocabulary: every word the grammar knows, numbered once at load time.
//!
//! Matching compares small integers instead of strings, and a message's words are
//! looked up once each, which is what keeps parsing cheap. A word the vocabulary
//! does not know gets [`UNKNOWN`]; it can still fill a version or reason slot.

use std::collections::HashMap;

/// A vocabulary word's number.
pub type Sym = u32;

/// The symbol of every word the grammar does not use.
pub const UNKNOWN: Sym = Sym::MAX;

#[derive(Debug, Default, Clone)]
pub struct Vocab {
    ids: HashMap<String, Sym>,
    words: Vec<String>,
}

impl Vocab {
    /// Numbers a word (lowercase), returning the existing number if known.
    pub fn intern(&mut self, word: &str) -> Sym {
        let word = word.to_ascii_lowercase();
        if let Some(&sym) = self.ids.get(&word) {
            return sym;
        }
        let sym = self.words.len() as Sym;
        self.words.push(word.clone());
        self.ids.insert(word, sym);
        sym
    }

    /// Interns each word of a phrase ("roll back" -> two symbols).
    pub fn intern_phrase(&mut self, phrase: &str) -> Vec<Sym> {
        phrase.split_whitespace().map(|w| self.intern(w)).collect()
    }

    /// Looks a message word up, case-insensitively. `scratch` is reused between
    /// calls so that a lookup allocates nothing.
    pub fn lookup(&self, word: &str, scratch: &mut String) -> Sym {
        // ASCII case folding only: Unicode folding would turn look-alikes such as
        // the Kelvin sign (U+212A) into ASCII letters and accept "loc\u{212A} prd".
        scratch.clear();
        scratch.push_str(word);
        scratch.make_ascii_lowercase();
        self.ids.get(scratch.as_str()).copied().unwrap_or(UNKNOWN)
    }

    pub fn word(&self, sym: Sym) -> &str {
        self.words
            .get(sym as usize)
            .map(String::as_str)
            .unwrap_or("?")
    }
}
