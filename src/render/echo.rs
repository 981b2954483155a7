//! One rule for every string the bot repeats from somewhere else: branch names,
//! commit messages, versions, user names, reasons, provider results and cloud
//! error text. [`untrusted`] turns such a string into text that reads as typed
//! but cannot ping anyone, link anywhere, format the message or break its line,
//! on Discord, on Slack and in the console alike.
//!
//! It is applied automatically: [`super::Renderer`] turns on minijinja's
//! auto-escaping with a formatter that passes every string a template prints
//! through [`untrusted`], so a new template or a new view field cannot forget
//! it. A template opts out only with `| safe`, for text the bot itself wrote
//! with formatting on purpose (help pages from `intents/`, refusal sentences
//! whose outside parts were already passed through [`untrusted`] where they
//! were composed). Adapters that write a sentence of their own (the Discord
//! gateway's echo of a slash command) call [`untrusted`] directly. Refusing at
//! input is kept for what a person types on purpose (reasons, see
//! `intent::slots::check_text`); everything from outside is neutralised here,
//! because refusing a webhook's branch name or a cloud's error would lose
//! information, not protect anyone. Discord's `allowed_mentions` stays as a
//! second layer.
//!
//! The rule:
//! - line breaks and control characters (Cc, Zl, Zp) become a space; format
//!   characters and other default-ignorable code points (Cf, variation
//!   selectors, Hangul fillers, tag characters) are removed; private-use and
//!   unassigned code points become U+FFFD. The result is one visible line.
//! - `@` and `<` are followed by a zero-width space (U+200B, the only
//!   invisible character the rule inserts), so `@everyone`, `<@123>`,
//!   `<#1>`, `<t:0:R>`, `</deploy:1>`, `<:e:1>` and Slack's `<!here>` are
//!   shown, never parsed.
//! - `://` becomes `[:]//`, so a URL is shown but not clickable (and a copy of
//!   it does not open).
//! - a backtick becomes `'`: a backslash does not escape inside a code span, so
//!   the output never contains a backtick and can sit inside `` `…` ``.
//! - `\ * [ ]`, a `|` or `~` that is doubled or at an edge, and an `_` at a
//!   word's edge are escaped with a
//!   backslash; a line-start marker at the start (`# `, `> `, `- `, `+ `,
//!   `-# `, `1. `) is escaped too. Discord shows the character as typed; the console shows the
//!   backslash, which is the price of one rule for every platform.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The one invisible character [`untrusted`] inserts, after `@` and `<`.
pub const BREAK: char = '\u{200B}';

/// `text` made safe to echo: see the module documentation for the rule.
pub fn untrusted(text: &str) -> String {
    let visible: Vec<char> = text.chars().filter_map(visible).collect();
    let mut out = String::with_capacity(text.len() + 8);
    let start = visible.iter().take_while(|c| c.is_whitespace()).count();
    for (i, &c) in visible.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| visible[j]);
        let after = visible.get(i + 1).copied();
        match c {
            '`' => out.push('\''),
            '@' | '<' => {
                out.push(c);
                out.push(BREAK);
            }
            ':' if visible[i + 1..].starts_with(&['/', '/']) => out.push_str("[:]"),
            '\\' | '*' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            // `||` (spoiler) and `~~` (strike) need two: escape a pair, and an
            // edge that could pair with the template's own text.
            '|' | '~' if before.is_none_or(|b| b == c) || after.is_none_or(|a| a == c) => {
                out.push('\\');
                out.push(c);
            }
            '_' if !(is_word(before) && is_word(after)) => out.push_str("\\_"),
            _ if i == start && starts_a_block(&visible[i..]) => {
                out.push('\\');
                out.push(c);
            }
            '.' if i > start && ends_a_list_number(&visible[start..i], after) => {
                out.push_str("\\.")
            }
            _ => out.push(c),
        }
    }
    out
}

/// Whether `c` breaks a line or hides: control characters (Cc), line and
/// paragraph separators (Zl, Zp), format characters (Cf), private-use,
/// surrogate and unassigned code points (Co, Cs, Cn), and the other
/// default-ignorable code points that render as nothing. Input checks refuse
/// these in typed reasons; [`untrusted`] removes them from everything else.
pub fn breaks_or_hides(c: char) -> bool {
    visible(c) != Some(c)
}

/// What `c` becomes in echoed text: itself, a space (it separated words), a
/// replacement character (it may mean something later), or nothing.
fn visible(c: char) -> Option<char> {
    use GeneralCategory as G;
    match c.general_category() {
        G::Control | G::LineSeparator | G::ParagraphSeparator => Some(' '),
        G::Format => None,
        G::PrivateUse | G::Surrogate | G::Unassigned => Some('\u{FFFD}'),
        _ if is_blank_letter(c) => None,
        _ => Some(c),
    }
}

/// Default-ignorable code points outside Cf (Unicode's DerivedCoreProperties:
/// combining grapheme joiner, Hangul fillers, Khmer inherent vowels,
/// Mongolian variation selectors, variation selectors) and the braille blank:
/// they render as nothing, so they could disguise what a text says.
fn is_blank_letter(c: char) -> bool {
    matches!(
        c,
        '\u{034F}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FFA0}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// Markdown's word characters for `_` emphasis (ASCII, as Discord's parser
/// reads them): an `_` between two of them never starts or ends emphasis.
fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Whether text starting with `rest` would start a heading (`# `, `### `), a
/// quote (`> `, `>>> `), a list item (`- `, `+ `) or subtext (`-# `) if it
/// began a line: a run of the marker, then white space. (A value that is
/// only a marker, like the `-` of an empty table cell, is left alone.)
fn starts_a_block(rest: &[char]) -> bool {
    let spaced = |run: &[char]| run.first().is_some_and(|c| c.is_whitespace());
    match rest {
        ['#' | '>', ..] => {
            let run = rest.iter().take_while(|c| **c == rest[0]).count();
            spaced(&rest[run..])
        }
        ['-', '#', tail @ ..] => spaced(tail),
        ['-' | '+', tail @ ..] => spaced(tail),
        _ => false,
    }
}

/// Whether a `.` after `number` (the text since the start) followed by
/// `after` would make an ordered-list item (`1. `).
fn ends_a_list_number(number: &[char], after: Option<char>) -> bool {
    number.iter().all(char::is_ascii_digit) && after.is_some_and(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_versions_and_branches_read_as_typed() {
        for s in [
            "1.3.0",
            "main-a1b2c3d-20250823143022",
            "feature/x",
            "a_b",
            "bob",
        ] {
            assert_eq!(untrusted(s), s);
        }
    }

    #[test]
    fn mentions_links_and_markdown_are_shown_not_parsed() {
        assert_eq!(untrusted("@everyone"), "@\u{200B}everyone");
        assert_eq!(untrusted("<@123>"), "<\u{200B}@\u{200B}123>");
        assert_eq!(
            untrusted("https://evil.example/login"),
            "https[:]//evil.example/login"
        );
        assert_eq!(untrusted("**x**"), "\\*\\*x\\*\\*");
        assert_eq!(untrusted("# H1"), "\\# H1");
        assert_eq!(untrusted("-# tiny"), "\\-# tiny");
        assert_eq!(untrusted("> quote"), "\\> quote");
        assert_eq!(untrusted("1. item"), "1\\. item");
        assert_eq!(untrusted("-5"), "-5");
        assert_eq!(untrusted("a`b"), "a'b");
    }

    #[test]
    fn line_breaks_become_spaces_and_format_characters_vanish() {
        assert_eq!(untrusted("a\u{2028}b\u{85}c\u{b}d"), "a b c d");
        assert_eq!(untrusted("a\u{FFF9}b\u{FE0F}\u{1D173}c"), "abc");
    }
}
