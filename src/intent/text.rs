//! From a raw chat message to words: what people add around a command is removed
//! here, before the grammar sees it.
//!
//! Chat text arrives with a bot mention (`<@123>`, `@switchyard`), a command
//! sigil (`!deploy`, `/deploy`), trailing punctuation and politeness. Each of
//! those is stripped only at the edges of the message, so nothing in the middle
//! is ever silently dropped: the grammar must explain every remaining word.
//! Length and control characters are refused first, before any other work.

use super::vocab::{Sym, Vocab};

/// Longer messages are refused outright: commands are short, and the bound keeps
/// the cost of parsing hostile input flat.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// One word of the message: its text as typed (case kept, for versions and
/// reasons), where it sits in the cleaned message, and its vocabulary symbol.
#[derive(Debug, Clone, Copy)]
pub struct Token<'a> {
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
    /// Where the word began before wrapping punctuation was removed: free text
    /// (a reason) is sliced from here so that it keeps its opening quote.
    pub raw_start: usize,
    pub raw_end: usize,
    pub sym: Sym,
}

/// A message ready for the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cleaned<'a> {
    pub text: &'a str,
    /// It ended in `?`: a question, which must not be taken as an order.
    pub asked: bool,
}

/// Why a message was refused before any grammar was tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    TooLong(usize),
    ControlCharacter,
}

/// Checks the raw message and strips the bot mention, the command sigil and the
/// trailing punctuation. The result is a slice of the input.
pub fn clean<'a>(input: &'a str, bot_name: &str) -> Result<Cleaned<'a>, Refusal> {
    // Count at most one char past the limit so a 10 MB message costs no more than a 500 B one.
    let chars = input.chars().take(MAX_MESSAGE_CHARS + 1).count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(Refusal::TooLong(input.chars().count()));
    }
    if input.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err(Refusal::ControlCharacter);
    }
    let mut text = input.trim();
    text = strip_mention(text, bot_name).trim_start();
    text = text.trim_start_matches([':', ',']).trim_start();
    if let Some(rest) = text.strip_prefix(['!', '/']) {
        text = rest.trim_start();
    }
    // Emoji and punctuation at the end are tone, not words ("deploy it 🚀!").
    let before = text;
    text = text.trim_end_matches(|c: char| {
        matches!(c, '.' | '!' | '?' | '…') || c.is_whitespace() || is_emoji(c)
    });
    let asked = before[text.len()..].contains('?');
    // A whole command in a code span: `deploy 1.3.0 to prd` or ```...```.
    if text.len() > 1 && text.starts_with('`') && text.ends_with('`') {
        text = text.trim_matches('`').trim();
    }
    if text.is_empty() {
        return Err(Refusal::Empty);
    }
    Ok(Cleaned { text, asked })
}

/// Pictographs, dingbats, variation selectors and joiners: what emoji are made of.
fn is_emoji(c: char) -> bool {
    matches!(c, '\u{1F000}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{FE0F}' | '\u{200D}')
}

/// Removes one leading mention: a Discord user mention `<@123>` / `<@!123>`, or
/// the bot's name as `@name` or `name:` / `name,`. Whether the message was meant
/// for the bot at all is the chat adapter's decision, not the grammar's.
fn strip_mention<'a>(text: &'a str, bot_name: &str) -> &'a str {
    if let Some(rest) = text.strip_prefix("<@") {
        let rest = rest.strip_prefix('!').unwrap_or(rest);
        if let Some(close) = rest.find('>') {
            let id = &rest[..close];
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                return &rest[close + 1..];
            }
        }
        return text;
    }
    let unsigiled = text.strip_prefix('@');
    let candidate = unsigiled.unwrap_or(text);
    let n = bot_name.len();
    if candidate.len() >= n
        && candidate.is_char_boundary(n)
        && candidate[..n].eq_ignore_ascii_case(bot_name)
    {
        let after = &candidate[n..];
        let ends_word = after.is_empty() || after.starts_with(|c: char| c.is_whitespace());
        if (unsigiled.is_some() && ends_word) || after.starts_with([':', ',']) {
            return after;
        }
    }
    text
}

/// Splits on whitespace and commas and looks every word up in the vocabulary.
pub fn tokenize<'a>(text: &'a str, vocab: &Vocab, scratch: &mut String, out: &mut Vec<Token<'a>>) {
    out.clear();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        let separator = c.is_whitespace() || c == ',';
        match (start, separator) {
            (None, false) => start = Some(i),
            (Some(raw_start), true) => {
                let raw_end = i;
                let (s, i) = unwrap(text, raw_start, i);
                // "failed. How", "failed! how": sentence punctuation ending a word
                // inside the message (the end of the message was trimmed already).
                let i = s + text[s..i]
                    .trim_end_matches(['.', '!', '?', '…'])
                    .len()
                    .max(1);
                // "deny #42: reason", "lock prd: reason": a colon ending a word is
                // punctuation of the sentence, a word of its own.
                let colon = i - s > 1 && text[s..i].ends_with(':');
                let word_end = if colon { i - 1 } else { i };
                for (a, b) in [(s, word_end), (word_end, i)] {
                    if a < b {
                        out.push(Token {
                            text: &text[a..b],
                            start: a,
                            end: b,
                            raw_start: if a == s { raw_start } else { a },
                            raw_end: if b == i { raw_end } else { b },
                            sym: vocab.lookup(&text[a..b], scratch),
                        });
                    }
                }
                start = None;
            }
            _ => {}
        }
    }
}

/// Chat users wrap words in code spans or quotes (`` `1.3.0` ``, `"prd"`) and
/// asides in parentheses ("(dry run)"); the wrapping is punctuation, not part of
/// the word. Returns the inner byte range.
fn unwrap(text: &str, start: usize, end: usize) -> (usize, usize) {
    let b = &text.as_bytes()[start..end];
    let n = b.len();
    if n >= 3 && b[0] == b[n - 1] && matches!(b[0], b'`' | b'"' | b'\'') {
        return (start + 1, end - 1);
    }
    let open = usize::from(n > 1 && b[0] == b'(');
    let close = usize::from(n > 1 + open && b[n - 1] == b')');
    (start + open, end - close)
}

/// Removes politeness phrases ("please", "can you", "hey") from the start,
/// longest first, as often as they repeat ("hey, can you please ...").
/// Returns how many words were removed.
pub fn strip_prefixes(tokens: &mut Vec<Token<'_>>, prefixes: &[Vec<Sym>]) -> usize {
    let mut skip = 0;
    'front: loop {
        for phrase in prefixes {
            let rest = &tokens[skip..];
            // Never strip the whole message: "please" alone stays and is refused.
            if rest.len() > phrase.len() && rest.iter().zip(phrase).all(|(t, s)| t.sym == *s) {
                skip += phrase.len();
                continue 'front;
            }
        }
        break;
    }
    tokens.drain(..skip);
    skip
}

/// How many tokens remain once `suffixes` ("please", "thanks", "now") are taken
/// off the end, as often as they repeat.
pub fn without_suffixes(tokens: &[Token<'_>], suffixes: &[Vec<Sym>]) -> usize {
    let mut n = tokens.len();
    'back: loop {
        for phrase in suffixes {
            if n > phrase.len()
                && tokens[n - phrase.len()..n]
                    .iter()
                    .zip(phrase)
                    .all(|(t, s)| t.sym == *s)
            {
                n -= phrase.len();
                continue 'back;
            }
        }
        break;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_sigils_and_trailing_punctuation_are_stripped() {
        for (raw, want) in [
            ("<@123456> deploy 1.3.0", "deploy 1.3.0"),
            ("<@!42>  deploy", "deploy"),
            ("@switchyard deploy", "deploy"),
            ("@SwitchYard: deploy", "deploy"),
            ("switchyard, deploy", "deploy"),
            ("!deploy it.", "deploy it"),
            ("/status?!", "status"),
            ("  status …", "status"),
        ] {
            assert_eq!(clean(raw, "switchyard").unwrap().text, want, "{raw}");
        }
    }

    #[test]
    fn a_name_that_only_starts_like_the_bot_is_kept() {
        assert_eq!(
            clean("switchyards deploy", "switchyard").unwrap().text,
            "switchyards deploy"
        );
        assert_eq!(
            clean("<@abc> deploy", "switchyard").unwrap().text,
            "<@abc> deploy"
        );
    }

    #[test]
    fn a_question_mark_at_the_end_is_remembered() {
        assert!(clean("deploy 1.3.0 to dev?", "s").unwrap().asked);
        assert!(clean("deploy 1.3.0 to dev ?!", "s").unwrap().asked);
        assert!(!clean("deploy 1.3.0 to dev!", "s").unwrap().asked);
    }

    #[test]
    fn control_characters_empty_and_long_messages_are_refused() {
        assert_eq!(clean("deploy\0 1.3.0", "s"), Err(Refusal::ControlCharacter));
        assert_eq!(clean(" <@1> ?", "s"), Err(Refusal::Empty));
        assert_eq!(
            clean(&"a".repeat(10_000), "s"),
            Err(Refusal::TooLong(10_000))
        );
    }
}
