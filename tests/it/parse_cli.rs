//! `switchyard parse` as a script or a person calls it: JSON and exit codes per
//! the contract, readable lines without `--json`, `--help` everywhere.

use std::process::{Command, Output};

use serde_json::{Value, json};

fn switchyard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .env_remove("SWITCHYARD_CONFIG")
        .output()
        .expect("switchyard runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn parse_json_prints_the_intent_and_exits_zero() {
    let out = switchyard(&["parse", "--json", "promote 1.3.0 from tst to prd"]);
    assert_eq!(out.status.code(), Some(0));
    let value: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        value,
        json!({"intent": "promote", "version": "1.3.0", "from": "tst", "to": "prd", "strategy": null, "dry_run": false})
    );
}

#[test]
fn parse_json_prints_the_error_object_and_exits_two() {
    let out = switchyard(&["parse", "--json", "deploy 1.3.0 to prdd"]);
    assert_eq!(out.status.code(), Some(2));
    let value: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(
        value["error"]
            .as_str()
            .unwrap()
            .contains("'prdd' is not an environment")
    );
    assert_eq!(value["kind"], "bad_value");
    assert_eq!(value["understood"], "deploy 1.3.0 to");
    assert_eq!(value["did_you_mean"], "deploy 1.3.0 to prd");
    assert_eq!(
        value["usage"],
        "deploy VERSION to ENV [using STRATEGY] [--dry-run]"
    );
}

#[test]
fn several_arguments_are_one_message_even_with_flags_in_it() {
    let out = switchyard(&["parse", "deploy", "1.3.0", "to", "prd", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("deploy: version=1.3.0, env=prd, dry_run=true"),
        "{text}"
    );
    assert!(
        text.contains("as a command: deploy 1.3.0 to prd --dry-run"),
        "{text}"
    );
}

#[test]
fn without_json_an_error_reads_as_sentences_with_the_usage() {
    let out = switchyard(&["parse", "promote 1.3.0 to prd"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(text.contains("I can't run that: missing 'from'"), "{text}");
    assert!(
        text.contains("Usage: `promote VERSION from ENV to ENV"),
        "{text}"
    );
}

#[test]
fn parse_help_resolves_to_the_help_intent_and_shows_the_commands() {
    let out = switchyard(&["parse", "--json", "help"]);
    assert_eq!(stdout(&out).trim(), r#"{"intent":"help","topic":null}"#);
    let out = switchyard(&["parse", "help", "promote"]);
    assert!(
        stdout(&out).contains("Usage: `promote VERSION from ENV to ENV"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        vec!["--help"],
        vec!["parse", "--help"],
        vec!["check-config", "--help"],
        vec!["demo", "--help"],
    ] {
        let out = switchyard(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(stdout(&out).contains("Usage:"), "{args:?}");
    }
}

#[test]
fn an_explicit_config_decides_the_environment_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.toml");
    std::fs::write(
        &path,
        "[[environments]]\nname = \"qa\"\naliases = [\"quality\"]\n[[environments]]\nname = \"live\"\n",
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let out = switchyard(&[
        "--config",
        path,
        "parse",
        "--json",
        "deploy 1.3.0 to quality",
    ]);
    assert_eq!(
        stdout(&out).trim(),
        r#"{"intent":"deploy","version":"1.3.0","env":"qa","strategy":null,"dry_run":false,"emergency":false}"#
    );
    let out = switchyard(&["--config", path, "parse", "--json", "deploy 1.3.0 to prd"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_invalid_config_stops_parse_with_exit_one() {
    let out = switchyard(&[
        "--config",
        "/nonexistent/switchyard.toml",
        "parse",
        "status",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[cfg(unix)]
#[test]
fn parse_json_with_a_non_utf8_argument_prints_a_json_error() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    // `deploy 1.3.0 to pr\xFFd`: clap used to refuse it with its own text.
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["parse", "--json", "deploy", "1.3.0", "to"])
        .arg(OsStr::from_bytes(b"pr\xffd"))
        .env_remove("SWITCHYARD_CONFIG")
        .output()
        .expect("switchyard runs");
    assert_eq!(out.status.code(), Some(2));
    let value: Value = serde_json::from_str(stdout(&out).trim())
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {}", stdout(&out)));
    assert_eq!(value["kind"], "not_utf8", "{value}");
    let error = value["error"].as_str().unwrap();
    // `deploy 1.3.0 to pr` is 18 good bytes: the 19th is the bad one.
    assert!(error.contains("not UTF-8 text (byte 19"), "{error}");
    assert!(
        error.contains("type the command again as plain text"),
        "{error}"
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Without --json: the same refusal as a sentence, exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("parse")
        .arg(OsStr::from_bytes(b"status \xc3"))
        .env_remove("SWITCHYARD_CONFIG")
        .output()
        .expect("switchyard runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("I can't run that: the message is not UTF-8 text"),
        "{}",
        stdout(&out)
    );
}
