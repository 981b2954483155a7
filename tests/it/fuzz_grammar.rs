//! The grammar under a fuzzer's load: hostile strings from every Unicode
//! general category, very long words, and real command words mixed with junk.
//! No input panics; every accepted intent round-trips through JSON; every
//! refusal says something, and what it echoes (rendered as chat shows it)
//! cannot ping or link.
//!
//! `PROPTEST_CASES` sets the number of inputs (default 12,000, about ten seconds
//! in a debug build); run it longer with, for example,
//! `PROPTEST_CASES=1000000 cargo test --release --test it fuzz_grammar -- --nocapture`.

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use switchyard::intent::Intent;
use switchyard::render::Renderer;

use super::echo::{hostile_text, links, pings};
use super::grammar;

/// Real command words, so that inputs reach deep into the patterns.
const COMMAND_WORDS: &[&str] = &[
    "deploy",
    "promote",
    "rollback",
    "to",
    "from",
    "prd",
    "tst",
    "dev",
    "prod",
    "1.3.0",
    "v2.0.0",
    "main-a1b2c3d",
    "using",
    "canary",
    "blue-green",
    "--dry-run",
    "status",
    "history",
    "metrics",
    "for",
    "last",
    "7",
    "days",
    "approve",
    "deny",
    "#42",
    "because",
    "lock",
    "unlock",
    "abort",
    "pause",
    "resume",
    "help",
    "troubleshoot",
    "mfa",
    "enroll",
    "please",
    "@switchyard",
    "switchyard:",
    "`",
    "?",
    "!",
];

fn input() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        4 => prop::sample::select(COMMAND_WORDS).prop_map(str::to_string),
        3 => hostile_text(),
        1 => ("[a-z0-9._-]", 200..3000usize).prop_map(|(c, n)| c.repeat(n)),
    ];
    prop::collection::vec(word, 0..12).prop_map(|w| w.join(" "))
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(12_000)
}

#[test]
fn hostile_input_never_panics_and_what_it_echoes_cannot_ping_or_link() {
    let renderer = Renderer::new();
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let (accepted, refused) = (Cell::new(0u32), Cell::new(0u32));
    let result = runner.run(&input(), |text| {
        match grammar().parse(&text) {
            Ok(intent) => {
                accepted.set(accepted.get() + 1);
                let json = serde_json::to_string(&intent).expect("intents serialise");
                let back: Intent = serde_json::from_str(&json).expect("intent JSON reads back");
                prop_assert_eq!(back, intent, "{}", json);
            }
            Err(error) => {
                refused.set(refused.get() + 1);
                prop_assert!(
                    !error.error.trim().is_empty(),
                    "an empty refusal for {:?}",
                    text
                );
                let shown = renderer.parse_error(&error);
                prop_assert_eq!(pings(&shown), None, "{:?} -> {}", text, shown);
                prop_assert_eq!(links(&shown), None, "{:?} -> {}", text, shown);
                serde_json::to_string(&error).expect("refusals serialise");
            }
        }
        Ok(())
    });
    eprintln!(
        "fuzz_grammar: {} inputs ran without a panic ({} accepted, {} refused)",
        accepted.get() + refused.get(),
        accepted.get(),
        refused.get()
    );
    result.unwrap();
    assert!(
        accepted.get() > 0,
        "no input was ever accepted: the generator is too hostile"
    );
}
