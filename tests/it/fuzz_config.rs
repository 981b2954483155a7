//! Fuzzing the config loader: generated TOML-ish files and mutations of the
//! shipped configurations go through the same entry point as `check-config`
//! and `Config::load`, and every one ends as a config or as errors that each
//! name a key and say what is wrong, never as a panic. The vocabulary (section
//! headers, keys, values) is read from config/demo.toml and config/example.toml,
//! so new keys are fuzzed as soon as they are documented there.
//!
//! The default case count keeps the test command fast; run it longer with
//! `PROPTEST_CASES=200000 cargo test --test it fuzz_config -- --nocapture`.

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use switchyard::config::{self, DEMO_TOML};

const EXAMPLE_TOML: &str = include_str!("../../config/example.toml");

/// Inputs per strategy when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 4_000;

/// Values a careless or hostile operator might write, beside the real ones.
const HOSTILE_VALUES: &[&str] = &[
    "\"\"",
    "\" \"",
    "\"0s\"",
    "\"-1s\"",
    "\"1ns\"",
    "\"18446744073709551615s\"",
    "\"99999999999h\"",
    "\"5 parsecs\"",
    "0",
    "-1",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "1e308",
    "-0.0",
    "nan",
    "inf",
    "-inf",
    "true",
    "[]",
    "[[]]",
    "[0]",
    "[100, 0]",
    "[0, 0, 100]",
    "[101]",
    "[-5, 100]",
    "[\"a\", 1]",
    "{}",
    "{ env = \"\" }",
    "{ env = \"SY_FUZZ_SET\" }",
    "{ env = \"SY_FUZZ_UNSET\" }",
    "{ file = \"/nonexistent\" }",
    "\"0.0.0.0:0\"",
    "\"[::]:65535\"",
    "\"127.0.0.1:99999\"",
    "\"sqlite:\"",
    "\"sqlite://\"",
    "\"postgres://\"",
    "\"https://evil.example/login\"",
    "\"@everyone\"",
    "\"\\u202e\\u2028\\u0000\"",
    "\"é́́́́\"",
    "1979-05-27T07:32:00Z",
    "'''multi\nline'''",
];

/// Section headers, keys and values seen in the shipped configurations.
struct Vocabulary {
    headers: Vec<String>,
    keys: Vec<String>,
    values: Vec<String>,
}

fn vocabulary() -> &'static Vocabulary {
    static VOCABULARY: OnceLock<Vocabulary> = OnceLock::new();
    VOCABULARY.get_or_init(|| {
        let mut headers = Vec::new();
        let mut keys = Vec::new();
        let mut values: Vec<String> = HOSTILE_VALUES.iter().map(|v| v.to_string()).collect();
        for line in DEMO_TOML.lines().chain(EXAMPLE_TOML.lines()) {
            // Commented-out settings are documentation of real keys: keep them.
            let line = line.trim().trim_start_matches('#').trim();
            if line.starts_with('[') {
                headers.push(line.split('#').next().unwrap_or(line).trim().to_owned());
            } else if let Some((key, value)) = line.split_once('=') {
                let key = key.trim();
                if !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    keys.push(key.to_owned());
                    let value = value.split(" #").next().unwrap_or(value).trim();
                    if !value.is_empty() {
                        values.push(value.to_owned());
                    }
                }
            }
        }
        for list in [&mut headers, &mut keys, &mut values] {
            list.sort();
            list.dedup();
        }
        assert!(
            headers.len() > 10 && keys.len() > 40,
            "the vocabulary comes from the shipped configurations"
        );
        Vocabulary {
            headers,
            keys,
            values,
        }
    })
}

/// One line of a TOML-ish file.
fn line() -> impl Strategy<Value = String> {
    let v = vocabulary();
    prop_oneof![
        3 => proptest::sample::select(v.headers.clone()),
        6 => (
            proptest::sample::select(v.keys.clone()),
            proptest::sample::select(v.values.clone()),
        )
            .prop_map(|(k, v)| format!("{k} = {v}")),
        1 => (proptest::sample::select(v.keys.clone()), "\\PC{0,12}")
            .prop_map(|(k, v)| format!("{k} = {v}")),
        1 => "\\PC{0,40}",
        1 => Just(String::new()),
    ]
}

/// A file made of generated lines.
fn generated_file() -> impl Strategy<Value = String> {
    proptest::collection::vec(line(), 0..60).prop_map(|lines| lines.join("\n"))
}

/// One edit of a file, applied at a position taken modulo its length.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(usize),
    InsertLine(usize, String),
    ReplaceLine(usize, String),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    InsertText(usize, String),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => any::<usize>().prop_map(Edit::DeleteLine),
        3 => (any::<usize>(), line()).prop_map(|(at, l)| Edit::InsertLine(at, l)),
        3 => (any::<usize>(), line()).prop_map(|(at, l)| Edit::ReplaceLine(at, l)),
        1 => any::<usize>().prop_map(Edit::DuplicateLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        2 => (any::<usize>(), "\\PC{1,8}|[\\[\\]{}=\"',.#\\n]{1,3}")
            .prop_map(|(at, t)| Edit::InsertText(at, t)),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let n = lines.len().max(1);
    match edit {
        Edit::DeleteLine(at) if !lines.is_empty() => {
            lines.remove(at % n);
        }
        Edit::InsertLine(at, line) => lines.insert(at % (lines.len() + 1), line.clone()),
        Edit::ReplaceLine(at, line) if !lines.is_empty() => lines[at % n] = line.clone(),
        Edit::DuplicateLine(at) if !lines.is_empty() => {
            let copy = lines[at % n].clone();
            lines.insert(at % n, copy);
        }
        Edit::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
        Edit::InsertText(at, inserted) => {
            let at = char_boundary(text, *at);
            return format!("{}{inserted}{}", &text[..at], &text[at..]);
        }
        Edit::Truncate(at) => return text[..char_boundary(text, *at)].to_owned(),
        _ => {}
    }
    lines.join("\n")
}

/// The byte offset of character `at % (chars + 1)` of `text`.
fn char_boundary(text: &str, at: usize) -> usize {
    let chars = text.chars().count();
    text.char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .nth(at % (chars + 1))
        .unwrap_or(text.len())
}

/// A shipped configuration with a few edits.
fn mutated_file() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(vec![DEMO_TOML, EXAMPLE_TOML]),
        proptest::collection::vec(edit(), 1..6),
    )
        .prop_map(|(base, edits)| edits.iter().fold(base.to_owned(), |t, e| apply(&t, e)))
}

/// Secrets named `{ env = ... }` resolve for some variables and not others.
fn env(var: &str) -> Option<String> {
    match var {
        "SY_FUZZ_UNSET" | "" => None,
        "SWITCHYARD_MFA_KEY" => Some("00".repeat(32)),
        _ => Some(format!("value-of-{var}")),
    }
}

/// What `check-config` and `Config::load` do with `text` (both go through the
/// report): a config, or errors that each say which key is wrong and what is
/// wrong with it.
fn load(text: &str) -> Result<(), TestCaseError> {
    let report = config::check_str_with(text, &env);
    prop_assert_eq!(
        report.config.is_some(),
        report.errors.is_empty(),
        "a report holds a config exactly when it has no errors"
    );
    for finding in report.errors.iter().chain(&report.warnings) {
        prop_assert!(
            !finding.key.trim().is_empty() && !finding.message.trim().is_empty(),
            "a finding without a key or a message: {:?}",
            finding
        );
    }
    let has_config = report.config.is_some();
    match report.into_config() {
        Ok(_) => prop_assert!(has_config),
        Err(error) => prop_assert!(
            error.to_string().len() > "invalid configuration:".len(),
            "an error that says nothing: {}",
            error
        ),
    }
    Ok(())
}

/// Runs `strategy` through the loader; returns how many inputs ran.
fn fuzz(name: &str, strategy: impl Strategy<Value = String>) -> u32 {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let mut runner = TestRunner::new(RunnerConfig {
        cases,
        // Panics are what this looks for; a found one is kept as a named test.
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    if let Err(failure) = runner.run(&strategy, |text| load(&text)) {
        panic!("config fuzz ({name}): {failure}");
    }
    eprintln!("config fuzz ({name}): {cases} inputs, no panic, every error named its key");
    cases
}

#[test]
fn generated_config_files_load_or_name_what_is_wrong_without_panicking() {
    fuzz("generated files", generated_file());
}

#[test]
fn edited_shipped_configs_load_or_name_what_is_wrong_without_panicking() {
    fuzz("edited demo.toml and example.toml", mutated_file());
}

#[test]
fn the_fuzz_vocabulary_covers_the_documented_keys() {
    let v = vocabulary();
    for key in ["listen", "approvals", "steps", "totp_secret", "lease"] {
        assert!(v.keys.iter().any(|k| k == key), "{key} is not fuzzed");
    }
    assert!(v.headers.iter().any(|h| h == "[[environments]]"));
}
