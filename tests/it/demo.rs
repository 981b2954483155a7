//! `switchyard demo` fed through a pipe, as the README shows: each line gets a
//! reply, `@name:` speaks as another configured user, unknown users are told so.

use std::io::Write;
use std::process::{Command, Stdio};

fn demo(input: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("demo")
        .env_remove("SWITCHYARD_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("switchyard runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "demo exits 0 at end of input");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_demo_answers_each_line_as_the_user_who_typed_it() {
    let out = demo(
        "promote v1.3.0 from staging to prod\n@bob: approve #42\n@switchyard: status of prd\n",
    );
    assert!(
        out.contains("Understood, alice: `promote 1.3.0 from tst to prd` (promote)."),
        "{out}"
    );
    assert!(
        out.contains("Understood, bob: `approve #42` (approve)."),
        "{out}"
    );
    assert!(
        out.contains("Understood, alice: `status of prd` (status)."),
        "{out}"
    );
}

#[test]
fn the_demo_explains_refusals_and_shows_help() {
    let out = demo("dploy 1.3.0 to prd\nhelp\n");
    assert!(out.contains("'dploy' is not a command I know"), "{out}");
    assert!(out.contains("Did you mean `deploy 1.3.0 to prd`?"), "{out}");
    assert!(out.contains("• `promote VERSION from ENV to ENV"), "{out}");
}

#[test]
fn an_unknown_speaker_is_named_and_nothing_is_read_for_them() {
    let out = demo("@mallory: deploy 1.3.0 to prd\n");
    assert!(
        out.contains("I don't know a user called mallory; the users are alice, bob, carol, dave."),
        "{out}"
    );
    assert!(!out.contains("Understood"), "{out}");
}
