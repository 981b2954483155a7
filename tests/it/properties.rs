//! Properties over arbitrary input: parsing never panics, and whatever it
//! accepts holds only configured environments and versions that are valid tags.

use proptest::prelude::*;
use serde_json::Value;
use switchyard::intent::IntentKind;
use switchyard::intent::slots::check_version;

use super::{grammar, parse_json};

/// Words that steer random sentences towards real commands, hostile ones included.
const WORDS: &[&str] = &[
    "deploy",
    "promote",
    "rollback",
    "roll",
    "back",
    "1.3.0",
    "v2.0.0",
    "V1.0.0-rc.1",
    "main-a1b2c3d",
    "latest",
    "to",
    "from",
    "into",
    "on",
    "prd",
    "prod",
    "PRODUCTION",
    "tst",
    "staging",
    "dev",
    "qa",
    "using",
    "canary",
    "blue-green",
    "blue",
    "green",
    "--dry-run",
    "dry",
    "run",
    "hotfix",
    "emergency",
    "status",
    "history",
    "metrics",
    "for",
    "last",
    "7",
    "days",
    "week",
    "approve",
    "#42",
    "deny",
    "because",
    "lock",
    "unlock",
    "abort",
    "pause",
    "resume",
    "help",
    "please",
    "thanks",
    "the",
    "version",
    "$(x)",
    "a/b",
    "..",
    "-3",
    "@everyone",
    "<@123>",
    "!",
    "?",
    ";",
    "`id`",
    "\u{435}",
    "switchyard:",
    "troubleshoot",
    "mfa",
    "enroll",
];

fn sentence() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        4 => proptest::sample::select(WORDS).prop_map(str::to_string),
        1 => "[a-zA-Z0-9.#_:/$-]{1,10}",
    ];
    proptest::collection::vec(word, 0..10).prop_map(|w| w.join(" "))
}

fn check_accepted(value: &Value) -> Result<(), TestCaseError> {
    let envs: Vec<&str> = grammar()
        .environments()
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    for (key, field) in value.as_object().unwrap() {
        match (key.as_str(), field) {
            ("env" | "from" | "to", Value::String(env)) => {
                prop_assert!(
                    envs.contains(&env.as_str()),
                    "environment {env} is not configured"
                )
            }
            ("version", Value::String(v)) => {
                prop_assert_eq!(
                    check_version(v).ok(),
                    Some(v.as_str()),
                    "version {} is not a normalised tag",
                    v
                )
            }
            _ => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,600}") {
        let _ = grammar().parse(&text);
    }

    #[test]
    fn arbitrary_bytes_as_lossy_text_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = grammar().parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn accepted_sentences_hold_only_configured_environments_and_valid_tags(text in sentence()) {
        if let Ok(value) = parse_json(&text) {
            check_accepted(&value)?;
        }
    }

    #[test]
    fn an_accepted_command_reads_back_from_its_canonical_command_line(text in sentence()) {
        // Reasons are free text and may start with a connector word; every other
        // intent must survive the round trip exactly.
        if let Ok(intent) = grammar().parse(&text)
            && !matches!(intent.kind(), IntentKind::Deny | IntentKind::Lock)
        {
            let line = intent.command_line();
            prop_assert_eq!(grammar().parse(&line).ok(), Some(intent), "{} -> {}", text, line);
        }
    }
}

#[test]
fn the_sentence_generator_reaches_real_commands() {
    // Guards the property above against passing vacuously: random sentences from
    // the word list must be accepted often enough to mean something.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = sentence();
    let accepted = (0..5000)
        .filter(|_| {
            grammar()
                .parse(&strategy.new_tree(&mut runner).unwrap().current())
                .is_ok()
        })
        .count();
    assert!(
        accepted >= 25,
        "only {accepted} of 5000 random sentences were commands"
    );
}
