//! Reading one slot's value out of the words of a message: versions, counts and ids.
//!
//! A version becomes an image tag and, later, part of an AWS API call, so the rules
//! are strict and total: the Docker tag grammar (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`),
//! and never `..`. Anything a shell or a path would treat specially (`;`, `$`, `/`,
//! quotes, spaces, non-ASCII look-alikes) fails that grammar, so no later layer has
//! to re-check. Environments, strategies and topics are vocabulary lookups and live
//! with the vocabulary in [`super::grammar`].

use std::sync::LazyLock;

use regex::Regex;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The longest tag a registry accepts.
pub const MAX_TAG_LEN: usize = 128;

/// Largest count accepted for `days` / `limit`: ten years of days is plenty, and
/// a bound keeps later SQL and arithmetic honest.
pub const MAX_COUNT: u64 = 3650;

static SEMVER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$",
    )
    .expect("static regex")
});

/// `MAJOR.MINOR.PATCH` with an optional pre-release; no build metadata, since `+`
/// is not allowed in an image tag.
pub fn is_semver(text: &str) -> bool {
    SEMVER.is_match(text)
}

/// Checks a version word against the tag grammar and normalises it: a leading `v`
/// is dropped from a semantic version (`v1.3.0` -> `1.3.0`); any other tag is kept
/// exactly as typed, case included, because registries are case-sensitive.
pub fn check_version(word: &str) -> Result<&str, String> {
    const RULE: &str = "a version is an image tag: letters, digits, '.', '_' and '-', \
                        starting with a letter, digit or '_', at most 128 characters";
    let shown = super::error::quote(word);
    if let Some(bad) = word
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        let what = if bad == '/' {
            "'/' (a path, not a tag)".to_string()
        } else if bad.is_ascii() {
            format!("'{bad}'")
        } else {
            format!("the non-ASCII character U+{:04X}", bad as u32)
        };
        return Err(format!(
            "{shown} is not a valid version: {what} is not allowed; {RULE}"
        ));
    }
    if word.len() > MAX_TAG_LEN {
        return Err(format!(
            "that version is {} characters long; {RULE}",
            word.len()
        ));
    }
    if word.starts_with(['.', '-']) {
        return Err(format!(
            "{shown} is not a valid version: it starts with '{}'; {RULE}",
            &word[..1]
        ));
    }
    if word.contains("..") {
        return Err(format!(
            "{shown} is not a valid version: '..' is not allowed; {RULE}"
        ));
    }
    if word.ends_with(['-', '.']) {
        return Err(format!(
            "{shown} ends with '{}', which looks cut off; give the whole tag",
            &word[word.len() - 1..]
        ));
    }
    // In chat a bare word is almost always English ("prev", "stable", "new"),
    // not a tag; tags carry a digit or a separator (1.3.0, main-1a2b3c, dev-latest).
    if word != "latest" && word.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!(
            "{shown} looks like a word, not an image tag; name the tag (like 1.3.0 or main-1a2b3c)"
        ));
    }
    if let Some(rest) = word.strip_prefix(['v', 'V'])
        && is_semver(rest)
    {
        return Ok(rest);
    }
    Ok(word)
}

/// Longest free-text reason kept; the whole message is bounded anyway, this keeps
/// one field readable in a history table.
pub const MAX_TEXT_CHARS: usize = 300;

/// Free text such as a lock or deny reason. It is stored and shown to others
/// later, so it is refused (with what to type instead) when it would do more
/// than read when echoed: break the line, ping, link, open a code block, a
/// masked link or a spoiler, or hide characters. Other markdown (`**`, `#`,
/// `>`) is allowed: the echo shows it as typed (`render::echo`).
pub fn check_text(text: &str) -> Result<(), String> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(format!(
            "the reason is longer than {MAX_TEXT_CHARS} characters"
        ));
    }
    let breaks = |c: &char| {
        c.is_control()
            || matches!(
                c.general_category(),
                GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator
            )
    };
    if let Some(c) = text.chars().find(breaks) {
        return Err(format!(
            "a reason is one line; write it without the line break or control character U+{:04X}",
            c as u32
        ));
    }
    if has_mention(text) {
        return Err(
            "a reason cannot contain mentions or chat tokens (everyone or here after '@', or '<' before '@', '#', '!', '/', ':'); write names without '@' or '<'"
                .into(),
        );
    }
    // Echoed into chat, these would format instead of read: a code fence that
    // breaks out of the bot's own formatting, a masked link, hidden spoiler text.
    let formatting = [
        ("```", "a code fence"),
        ("](", "a masked link ('](')"),
        ("||", "a spoiler ('||')"),
    ];
    if let Some((_, what)) = formatting.iter().find(|(seq, _)| text.contains(seq)) {
        return Err(format!(
            "a reason cannot contain {what} (chat formatting); write it as plain text"
        ));
    }
    if text.contains("://") {
        return Err(
            "a reason cannot contain links; name the page instead (like 'the incident doc')".into(),
        );
    }
    if let Some(c) = text.chars().find(|c| is_invisible(*c)) {
        return Err(format!(
            "the reason contains the invisible character U+{:04X}; type it as plain text",
            c as u32
        ));
    }
    Ok(())
}

/// `@everyone` and `@here` wherever they end a word (`a@everyone` pings on
/// Discord; `bob@here.com` is an address), and the angle-bracket tokens chat
/// platforms parse: user, role and channel mentions (`<@1>`, `<@&1>`, `<#1>`),
/// Slack's `<!here>`, slash-command mentions (`</deploy:1>`), emoji (`<:e:1>`,
/// `<a:e:1>`) and timestamps (`<t:0:R>`).
fn has_mention(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let ends_word = |rest: &str| {
        let mut next = rest.chars();
        match next.next() {
            Some('.') => !next.next().is_some_and(char::is_alphanumeric),
            Some(c) => !c.is_alphanumeric(),
            None => true,
        }
    };
    let everyone = ["@everyone", "@here"].iter().any(|m| {
        lower
            .match_indices(m)
            .any(|(i, m)| ends_word(&lower[i + m.len()..]))
    });
    let token = lower.match_indices('<').any(|(i, _)| {
        let rest = &lower[i + 1..];
        rest.starts_with(['@', '#', '!', '/', ':'])
            || rest.starts_with("t:")
            || rest.starts_with("a:")
    });
    everyone || token
}

/// Characters that change how text reads without being seen: format
/// characters (the whole category Cf), control characters, line separators,
/// private-use and unassigned code points, and the other default-ignorable
/// ones (variation selectors, Hangul fillers, tag characters). One list for
/// input and output: [`crate::render::echo::breaks_or_hides`].
pub fn is_invisible(c: char) -> bool {
    crate::render::echo::breaks_or_hides(c)
}

/// A count such as a number of days: 1 or more.
pub fn check_count(word: &str) -> Result<u64, String> {
    let shown = super::error::quote(word);
    if let Some(rest) = word.strip_prefix('-')
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("{shown} is negative; a count must be 1 or more"));
    }
    parse_digits(word)
        .filter(|n| (1..=MAX_COUNT).contains(n))
        .ok_or_else(|| format!("{shown} is not a count: give a whole number from 1 to {MAX_COUNT}"))
}

/// A deployment id: digits, optionally written after `#` as chat users do.
pub fn check_id(word: &str) -> Result<u64, String> {
    let digits = word.strip_prefix('#').unwrap_or(word);
    // Ids start at 1; 0 is a typo or a probe, never a deployment.
    parse_digits(digits).filter(|n| *n > 0).ok_or_else(|| {
        format!(
            "{} is not a deployment id: ids are numbers, like #42 (see `history`)",
            super::error::quote(word)
        )
    })
}

fn parse_digits(word: &str) -> Option<u64> {
    if word.is_empty() || word.len() > 18 || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse().ok()
}

/// Whether a word looks like it was meant as a number, so that a failure to read
/// it is worth a specific message rather than "I did not understand".
pub fn looks_numeric(word: &str) -> bool {
    let w = word.trim_start_matches(['#', '-', '+']);
    !w.is_empty() && w.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_v_is_dropped_only_from_semantic_versions() {
        assert_eq!(check_version("v1.3.0").unwrap(), "1.3.0");
        assert_eq!(check_version("V2.0.0-rc.1").unwrap(), "2.0.0-rc.1");
        assert_eq!(check_version("v1").unwrap(), "v1");
        assert_eq!(check_version("latest").unwrap(), "latest");
        assert_eq!(check_version("dev-latest").unwrap(), "dev-latest");
        assert_eq!(
            check_version("main-a1b2c3d-20250823143022").unwrap(),
            "main-a1b2c3d-20250823143022"
        );
    }

    #[test]
    fn shell_and_path_characters_are_never_a_version() {
        for bad in [
            "prev", "stable", "1.2.0-", "1.2.", "1.3.0;", "$(curl", "a/b", "..", "1..2", "-rf",
            ".hidden", "`id`", "a|b", "1.3.0&",
        ] {
            assert!(check_version(bad).is_err(), "{bad} accepted");
        }
        assert!(check_version(&"a1".repeat(65)).is_err());
        assert!(check_version(&"a1".repeat(64)).is_ok());
    }

    #[test]
    fn counts_are_non_negative_and_bounded() {
        assert_eq!(check_count("7").unwrap(), 7);
        assert!(check_count("0").is_err());
        assert!(check_id("#0").is_err());
        assert!(check_count("-7").unwrap_err().contains("negative"));
        assert!(check_count("99999").is_err());
        assert_eq!(check_id("#42").unwrap(), 42);
        assert!(check_id("abc").is_err());
    }
}
