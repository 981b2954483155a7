//! Echoed text can only be read: whatever a branch name, a reason, a command
//! or a cloud's error says, what the bot repeats cannot ping, link, format or
//! break its line. The predicates below say precisely what that means; the
//! property test holds `render::echo::untrusted` to them over strings drawn
//! from every Unicode general category, and the conversation tests hold the
//! demo's replies to them.

use std::sync::LazyLock;

use proptest::prelude::*;
use switchyard::render::echo::{BREAK, untrusted};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Whether the character at byte `i` of `s` is escaped: preceded by an odd
/// number of backslashes.
fn escaped(s: &str, i: usize) -> bool {
    s[..i].chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// Why chat would read `s` as a ping: `@` directly followed by a letter or
/// digit (`@everyone`, `a@here`), or an angle-bracket token (`<@1>`, `<@&1>`,
/// `<#1>`, Slack's `<!here>`, `</deploy:1>`, `<:e:1>`, `<a:e:1>`, `<t:0:R>`).
pub fn pings(s: &str) -> Option<String> {
    let chars: Vec<char> = s.chars().collect();
    for (i, w) in chars.windows(2).enumerate() {
        if w[0] == '@' && w[1].is_alphanumeric() {
            return Some(format!("'@{}' at char {i}", w[1]));
        }
        if w[0] == '<' {
            let rest: String = chars[i + 1..].iter().take(2).collect();
            if rest.starts_with(['@', '#', '!', '/', ':']) || rest == "t:" || rest == "a:" {
                return Some(format!("'<{rest}' at char {i}"));
            }
        }
    }
    None
}

/// Why chat would make a link of `s`: a scheme's `://`.
pub fn links(s: &str) -> Option<String> {
    s.find("://").map(|i| format!("'://' at byte {i}"))
}

/// Why chat would format `s`: an unescaped `*`, `[`, `]` (other than the
/// `[:]` that breaks a URL), any backtick, an unescaped `||` or `~~`, a `|` or
/// `~` unescaped at either end, an unescaped `_` beside anything but an ASCII
/// letter or digit, or a block marker at the start (`# `, `> `, `- `, `+ `,
/// `-# `, `1. `: the marker, then white space).
pub fn formats(s: &str) -> Option<String> {
    let plain = s.replace("[:]", ":");
    let chars: Vec<(usize, char)> = plain.char_indices().collect();
    for (k, &(i, c)) in chars.iter().enumerate() {
        let before = k.checked_sub(1).map(|j| chars[j].1);
        let after = chars.get(k + 1).map(|x| x.1);
        let bad = match c {
            '`' => true,
            '*' | '[' | ']' => !escaped(&plain, i),
            '|' | '~' => {
                !escaped(&plain, i)
                    && (before.is_none_or(|b| b == c) || after.is_none_or(|a| a == c))
            }
            '_' => {
                let word = |x: Option<char>| x.is_some_and(|x| x.is_ascii_alphanumeric());
                let inside_a_word = word(before) && word(after);
                !(escaped(&plain, i) || inside_a_word)
            }
            _ => false,
        };
        if bad {
            return Some(format!("'{c}' at byte {i} of {plain:?}"));
        }
    }
    let line = plain.trim_start();
    let spaced = |rest: &str| rest.chars().next().is_some_and(char::is_whitespace);
    let block = match line.chars().next() {
        Some(m @ ('#' | '>')) => spaced(line.trim_start_matches(m)),
        Some('-') if line[1..].starts_with('#') => spaced(&line[2..]),
        Some('-' | '+') => spaced(&line[1..]),
        Some(d) if d.is_ascii_digit() => line
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .strip_prefix('.')
            .is_some_and(spaced),
        _ => false,
    };
    block.then(|| format!("a block marker starts {line:?}"))
}

/// Why `s` would break its line or hide something: a character of category
/// Cc, Cf, Zl, Zp, Co, Cs or Cn, except the zero-width space the rule puts
/// after `@` and `<`.
pub fn breaks_or_hides(s: &str) -> Option<String> {
    let mut previous = None;
    for c in s.chars() {
        use GeneralCategory as G;
        let hidden = matches!(
            c.general_category(),
            G::Control
                | G::Format
                | G::LineSeparator
                | G::ParagraphSeparator
                | G::PrivateUse
                | G::Surrogate
                | G::Unassigned
        );
        if hidden && !(c == BREAK && matches!(previous, Some('@' | '<'))) {
            return Some(format!("U+{:04X}", c as u32));
        }
        previous = Some(c);
    }
    None
}

/// The first thing wrong with `s` as echoed text, if any.
pub fn unsafe_echo(s: &str) -> Option<String> {
    pings(s)
        .or_else(|| links(s))
        .or_else(|| formats(s))
        .or_else(|| breaks_or_hides(s))
}

/// Every valid `char`, grouped by general category (surrogates have none).
static BY_CATEGORY: LazyLock<Vec<Vec<char>>> = LazyLock::new(|| {
    let mut groups: std::collections::BTreeMap<GeneralCategory, Vec<char>> = Default::default();
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        groups.entry(c.general_category()).or_default().push(c);
    }
    groups.into_values().collect()
});

/// What attackers and careless users type, to mix with random characters.
const HOSTILE: &[&str] = &[
    "@everyone",
    "@here",
    "a@everyone",
    "<@123>",
    "<@&1>",
    "<#1>",
    "<!here>",
    "<!channel>",
    "</deploy:1>",
    "<t:0:R>",
    "<:e:1>",
    "<a:e:1>",
    "https://evil.example/login",
    "<https://evil.example>",
    "[x](https://e.example)",
    "**bold**",
    "__u__",
    "~~s~~",
    "||sp||",
    "`",
    "```",
    "# ",
    "## ",
    "-# ",
    "> ",
    ">>> ",
    "- ",
    "+ ",
    "1. ",
    "\\",
    "_",
    "*",
    "|",
    "~",
    "\u{2028}",
    "\u{2029}",
    "\u{85}",
    "\u{b}",
    "\u{c}",
    "\n",
    "\r",
    "\t",
    "\u{200B}",
    "\u{FEFF}",
    "\u{FFF9}",
    "\u{180B}",
    "\u{FE0F}",
    "\u{17B5}",
    "\u{1D173}",
    "\u{1BCA3}",
    "\u{E0001}",
    " ",
];

/// One character of a category chosen uniformly, so rare categories (Zl,
/// Zp, Cf, Me) come up as often as letters.
fn any_category_char() -> impl Strategy<Value = String> {
    (0..BY_CATEGORY.len(), any::<prop::sample::Index>())
        .prop_map(|(cat, i)| i.get(&BY_CATEGORY[cat]).to_string())
}

pub fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => any_category_char(),
        2 => prop::sample::select(HOSTILE).prop_map(str::to_string),
        1 => "[a-z0-9:/@<>#*_~|`.-]{1,6}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|p| p.concat())
}

#[test]
fn every_general_category_is_generated() {
    // 29 categories have characters (Cs has none a `char` can hold).
    assert_eq!(BY_CATEGORY.len(), 29);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn no_echo_can_ping_link_format_or_break_a_line(text in hostile_text()) {
        let out = untrusted(&text);
        prop_assert_eq!(unsafe_echo(&out), None, "{:?} -> {:?}", text, out);
    }

    #[test]
    fn an_echo_inside_a_code_span_cannot_close_it(text in hostile_text()) {
        prop_assert!(!untrusted(&text).contains('`'));
    }
}

#[test]
fn the_predicates_catch_what_they_name() {
    // Guards the property above against passing vacuously.
    for raw in [
        "@everyone",
        "a@here",
        "<@1>",
        "<t:0:R>",
        "</d:1>",
        "<!here>",
        "<:e:1>",
        "<a:e:1>",
    ] {
        assert!(pings(raw).is_some(), "{raw}");
    }
    assert!(links("see https://x.example").is_some());
    for raw in [
        "**b**", "[x](y)", "a`b", "||s||", "~~s~~", "_i_", "# H", "> q", "-# t", "- l", "1. n",
    ] {
        assert!(formats(raw).is_some(), "{raw}");
    }
    for raw in [
        "a\u{2028}b",
        "a\u{85}b",
        "a\u{FFF9}b",
        "a\u{E000}b",
        "a\u{0378}b",
    ] {
        assert!(breaks_or_hides(raw).is_some(), "{raw:?}");
    }
    for fine in [
        "feature_x",
        "1.3.0",
        "-5",
        "a | b",
        "bob@\u{200B}x",
        "https[:]//x",
    ] {
        assert_eq!(unsafe_echo(fine), None, "{fine}");
    }
}

/// What the bot answered, without the demo's greeting (which names the
/// `@name:` syntax on purpose).
fn replies(out: &str) -> &str {
    out.split_once("Ctrl-D leaves.")
        .map_or(out, |(_, rest)| rest)
}

#[test]
fn a_lock_reason_with_a_line_separator_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for sep in ['\u{2028}', '\u{2029}', '\u{85}', '\u{b}', '\u{c}'] {
        let out = super::demo::demo(
            dir.path(),
            &format!("lock prd because freeze{sep}# fake\nstatus prd\n"),
        );
        assert!(
            out.contains("a reason is one line"),
            "U+{:04X}: {out}",
            sep as u32
        );
        assert!(!out.contains("🔒 PRD is locked"), "{out}");
        assert!(!out.contains("locked by"), "status shows a lock: {out}");
    }
}

#[test]
fn a_lock_reason_with_a_link_or_a_discord_token_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for reason in [
        "see https://evil.example/login",
        "see <https://evil.example>",
        "ask a@everyone",
        "run </deploy:1>",
        "until <t:0:R>",
        "<:e:1> freeze",
        "x\u{FFF9}y",
        "x\u{FE0F}y",
        "x\u{1D173}",
    ] {
        let out = super::demo::demo(
            dir.path(),
            &format!("lock prd because {reason}\nstatus prd\n"),
        );
        assert!(out.contains("I can't run that"), "{reason}: {out}");
        assert!(
            out.contains("type") || out.contains("write") || out.contains("name"),
            "{reason}: the refusal says what to type instead: {out}"
        );
        assert!(!out.contains("locked by"), "{reason}: {out}");
        for line in replies(&out).lines() {
            assert_eq!(pings(line), None, "{reason}: {line}");
            assert_eq!(links(line), None, "{reason}: {line}");
        }
    }
}

#[test]
fn a_lock_reason_with_markdown_is_echoed_as_typed_not_formatted() {
    let dir = tempfile::tempdir().unwrap();
    let out = super::demo::demo(
        dir.path(),
        "lock prd because **bold** __x__ ~~y~~\n@bob: lock tst because # H1\n",
    );
    assert!(
        out.contains(r"🔒 PRD is locked by alice (\*\*bold\*\* \_\_x\_\_ \~\~y\~\~)"),
        "{out}"
    );
    assert!(out.contains(r"🔒 TST is locked by bob (\# H1)"), "{out}");
}

#[test]
fn a_backtick_in_a_command_does_not_break_the_understood_span() {
    let dir = tempfile::tempdir().unwrap();
    let out = super::demo::demo(dir.path(), "deploy `1.3.0` to `prd` **x** <@1>\n");
    let understood = out
        .lines()
        .find(|l| l.contains("Understood: "))
        .unwrap_or_else(|| panic!("no Understood line: {out}"));
    let span = understood
        .split_once("Understood: `")
        .and_then(|(_, rest)| rest.split_once("` (as "))
        .map(|(span, _)| span)
        .unwrap_or_else(|| panic!("not one code span: {understood}"));
    assert!(!span.contains('`'), "{understood}");
    assert_eq!(understood.matches('`').count(), 2, "{understood}");
    for line in replies(&out).lines() {
        assert_eq!(pings(line), None, "{line}");
    }
}
