//! What the user is told when a message is not a command.
//!
//! A parse error is data, not just a sentence: what was wrong, the part of the
//! message that was understood and as which intent, that intent's usage line, and
//! a correction when a near-miss word has one. The chat layer renders it through
//! `prompts/parse_error.j2`; the CLI also prints it as JSON (`parse --json`).

use serde::Serialize;

/// The broad reason a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Nothing left after mentions and punctuation.
    Empty,
    /// Over the message length limit.
    TooLong,
    /// NUL and other control characters.
    ControlCharacter,
    /// Bytes that are not UTF-8 text (a console line, a command-line argument).
    NotUtf8,
    /// No intent recognised the start of the message.
    NotUnderstood,
    /// The message stopped before the command was complete.
    Incomplete,
    /// A slot's word is wrong: unknown environment, invalid version, negative count.
    BadValue,
    /// Words the command does not explain, or one in the wrong place.
    Unexpected,
    /// The values are fine one by one but not together (promote prd to prd).
    Conflict,
    /// A command that changes something, asked as a question ("deploy 1.3.0 to dev?").
    Question,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error}")]
pub struct ParseError {
    /// One sentence: what is wrong and, where it helps, what would be right.
    pub error: String,
    pub kind: ErrorKind,
    /// The intent the message came closest to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<&'static str>,
    /// The words read before the problem, as typed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub understood: Option<String>,
    /// The usage line of the closest intent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
    /// A corrected command, or a single word, that the user may have meant.
    /// Only ever suggested, never run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did_you_mean: Option<String>,
}

impl ParseError {
    pub(crate) fn plain(kind: ErrorKind, error: impl Into<String>) -> ParseError {
        ParseError {
            error: error.into(),
            kind,
            intent: None,
            understood: None,
            usage: None,
            did_you_mean: None,
        }
    }

    /// A message whose bytes are not UTF-8, `valid_up_to` of them good before
    /// the first bad one when known. Nothing of it is read, not even the good
    /// part: a command guessed from half a line is worse than a refusal.
    pub fn not_utf8(valid_up_to: Option<usize>) -> ParseError {
        let where_ = valid_up_to
            .map(|n| format!(" (byte {} is the first that is not)", n + 1))
            .unwrap_or_default();
        ParseError::plain(
            ErrorKind::NotUtf8,
            format!("the message is not UTF-8 text{where_}; type the command again as plain text"),
        )
    }
}

/// Quotes a user's words for an error message: shortened (a 500-character
/// word does not fill the channel), invisible or direction-changing characters
/// shown as `U+XXXX` (the user learns which character was wrong), and the rest
/// echoed by the one rule, [`crate::render::echo::untrusted`], so a typo never
/// pings, links or formats.
pub fn quote(word: &str) -> String {
    const MAX: usize = 40;
    let mut shown = String::new();
    let mut chars = word.chars();
    for c in chars.by_ref().take(MAX) {
        if super::slots::is_invisible(c) {
            shown.push_str(&format!("U+{:04X}", c as u32));
        } else {
            shown.push(c);
        }
    }
    let more = if chars.next().is_some() { "…" } else { "" };
    format!("'{}{more}'", crate::render::echo::untrusted(&shown))
}
