//! The grammar files themselves: every example is a test, every intent is
//! documented, and an operator's override directory changes what is understood.

use std::fs;

use switchyard::config::Config;
use switchyard::intent::{Grammar, IntentKind};

use super::grammar;

#[test]
fn every_example_in_every_intent_file_reads_as_written() {
    let failures = grammar().check_examples();
    assert!(
        failures.is_empty(),
        "{} example(s) fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_intent_has_a_usage_line_a_summary_and_an_example() {
    for spec in grammar().specs() {
        assert!(
            !spec.usage.is_empty() && !spec.summary.is_empty(),
            "{:?}",
            spec.kind
        );
        assert!(
            spec.headline_example().is_some(),
            "{} has no example for help",
            spec.kind.name()
        );
    }
    assert_eq!(grammar().specs().len(), IntentKind::ALL.len());
}

#[test]
fn the_canonical_command_line_of_every_example_reads_back_as_the_same_intent() {
    for spec in grammar().specs() {
        for example in spec.examples.iter().filter(|e| e.means.is_some()) {
            let intent = grammar().parse(&example.say).expect("examples parse");
            let line = intent.command_line();
            assert_eq!(
                grammar().parse(&line).as_ref(),
                Ok(&intent),
                "{:?} -> {line:?}",
                example.say
            );
        }
    }
}

fn config_with_overrides(dir: &std::path::Path) -> Config {
    let text = switchyard::config::DEMO_TOML.replacen(
        "[bot]",
        &format!("[bot]\nintents_dir = {:?}", dir.display().to_string()),
        1,
    );
    Config::from_toml_str(&text).expect("demo config with an intents_dir is valid")
}

#[test]
fn an_operator_adds_a_phrasing_by_editing_a_file_in_the_override_directory() {
    let dir = tempfile::tempdir().unwrap();
    let before = Grammar::for_config(&config_with_overrides(dir.path())).unwrap();
    assert!(before.parse("yeet 1.3.0 to prd").is_err());

    let deploy =
        fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/intents/deploy.toml")).unwrap();
    let edited = deploy.replacen(r#"deploy = ["ship","#, r#"deploy = ["yeet", "ship","#, 1);
    assert_ne!(deploy, edited, "the synonyms line moved; update this test");
    fs::write(dir.path().join("deploy.toml"), edited).unwrap();

    let after = Grammar::for_config(&config_with_overrides(dir.path())).unwrap();
    let intent = after
        .parse("yeet 1.3.0 to prd")
        .expect("the new synonym is understood");
    assert_eq!(intent.command_line(), "deploy 1.3.0 to prd");
}

#[test]
fn a_broken_override_file_is_reported_with_its_path_and_pattern() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("lock.toml"),
        "intent = \"lock\"\nsummary = \"s\"\nusage = \"lock ENV\"\npatterns = [\"lock {enviroment}\"]\n",
    )
    .unwrap();
    let problems = Grammar::check_config(&config_with_overrides(dir.path()));
    let text = problems.join("\n");
    assert!(
        text.contains("lock.toml") && text.contains("unknown field '{enviroment}'"),
        "{text}"
    );
}

#[test]
fn an_override_file_with_an_unknown_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("deploi.toml"), "").unwrap();
    let err = Grammar::for_config(&config_with_overrides(dir.path())).unwrap_err();
    assert!(err.to_string().contains("not a grammar file name"), "{err}");
}

#[test]
fn a_pattern_that_can_skip_a_required_field_is_a_grammar_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("unlock.toml"),
        "intent = \"unlock\"\nsummary = \"s\"\nusage = \"unlock ENV\"\npatterns = [\"unlock [{env}]\"]\n",
    )
    .unwrap();
    let err = Grammar::for_config(&config_with_overrides(dir.path())).unwrap_err();
    assert!(
        err.to_string().contains("can match without filling {env}"),
        "{err}"
    );
}
