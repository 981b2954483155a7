//! `switchyard demo` as a newcomer runs it, fed through a pipe: each line gets
//! its replies in order, `@name:` speaks as another user, a deployment started
//! from the pipe runs to its end before the process exits, and the data
//! directory keeps the fleet and the store for the next run.

use std::io::Write;
use std::process::{Command, Stdio};

pub(crate) fn demo(dir: &std::path::Path, input: &str) -> String {
    demo_bytes(dir, input.as_bytes())
}

fn demo_bytes(dir: &std::path::Path, input: &[u8]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["demo", "--data-dir"])
        .arg(dir)
        .env_remove("SWITCHYARD_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("switchyard runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "demo exits 0 at end of input");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_piped_conversation_is_answered_in_order_and_its_deployment_finishes_before_exit() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        dir.path(),
        "status of dev\n@carol: deploy 1.3.2 to dev\ndeploy 1.3.2 to dev\n",
    );
    let status = out.find("Blue (Active): 1.3.1").expect("status first");
    let refusal = out
        .find("carol may not deploy to dev")
        .expect("carol refused");
    let checklist = out
        .find("Pre-deployment checklist (DEV)")
        .expect("checklist");
    assert!(
        status < refusal && refusal < checklist,
        "replies in the order of the lines:\n{out}"
    );
    assert!(
        out.contains("Deployment successful! #1"),
        "the deployment finished before exit:\n{out}"
    );

    // The next run in the same directory finds the fleet as it was left.
    let again = demo(dir.path(), "status of dev\nhistory dev\n");
    assert!(again.contains("Active): 1.3.2"), "{again}");
    assert!(again.contains("SUCCESS"), "{again}");

    // `switchyard status` reads the same fleet from outside the chat.
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["status", "--json", "--env", "development", "--data-dir"])
        .arg(dir.path())
        .env_remove("SWITCHYARD_CONFIG")
        .output()
        .unwrap();
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let live: Vec<&serde_json::Value> = view["envs"][0]["colours"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["weight"] == 100)
        .collect();
    assert_eq!(live[0]["version"], "1.3.2", "{view}");
}

#[test]
fn an_unknown_speaker_may_read_help_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(
        dir.path(),
        "@mallory: deploy 1.3.0 to prd\n@mallory: help\n",
    );
    assert!(out.contains("I don't know you (mallory)"), "{out}");
    assert!(out.contains("Here is what I understand"), "{out}");
    assert!(!out.contains("Pre-deployment checklist"), "{out}");
}

#[test]
fn a_pipe_of_a_thousand_commands_gets_a_thousand_replies() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        "status",
        "history prd",
        "deploy 1.3.0; rm -rf / to prd",
        "metrics for last 7 days",
        "lunch?",
    ];
    let input: String = (0..1000)
        .map(|i| format!("{}\n", lines[i % lines.len()]))
        .collect();
    let out = demo(dir.path(), &input);
    let replies = out
        .lines()
        .filter(|l| l.starts_with("switchyard: "))
        .count();
    assert_eq!(replies, 1000, "one reply per line");
}

#[test]
fn a_line_that_is_not_utf8_is_refused_and_the_demo_reads_on() {
    let dir = tempfile::tempdir().unwrap();
    // Latin-1 bytes, a lone continuation byte, a truncated sequence: each used
    // to end the demo there, dropping every line after it.
    let out = demo_bytes(
        dir.path(),
        b"status of dev\nlock prd caf\xe9\n\x80\nstatus of tst\ndeploy 1.3.2 to dev \xe2\x82\nhistory dev\n",
    );
    let refusals: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("I can't run that: the message is not UTF-8 text"))
        .collect();
    assert_eq!(refusals.len(), 3, "one refusal per bad line:\n{out}");
    assert!(
        refusals[0].contains("(byte 13 is the first that is not)"),
        "{out}"
    );
    assert!(
        out.contains("type the command again as plain text"),
        "{out}"
    );
    // The lines after each bad one were read and answered, in order.
    let tst = out.find("TST").expect("status of tst answered");
    let history = out
        .find("No deployments recorded for dev")
        .expect("history answered");
    assert!(tst < history, "{out}");
    // Nothing was done with the refused lines: prd is not locked, dev not deployed.
    assert!(!out.contains("locked"), "{out}");
    assert!(!out.contains("Pre-deployment checklist"), "{out}");
}
