//! How people type in chat, as a table: each row is a message and what it must
//! mean, or the words its refusal must contain. Rows are grouped by what they
//! exercise; hostile input is at the end.
//!
//! Expected intents are written compactly: `deploy version=1.3.0 env=prd dry_run`
//! (a bare name is `true`; every field not named must be null or false).

use serde_json::{Map, Value};

use super::parse_json;

#[rustfmt::skip]
const ACCEPTED: &[(&str, &str)] = &[
    // The plain forms, in any case and spacing.
    ("deploy 1.3.0 to prd", "deploy version=1.3.0 env=prd"),
    ("Deploy v1.3.0 to PRODUCTION", "deploy version=1.3.0 env=prd"),
    ("DEPLOY 1.3.0 TO PRD", "deploy version=1.3.0 env=prd"),
    ("  deploy    1.3.0\t to   prd  ", "deploy version=1.3.0 env=prd"),
    ("deploy 1.3.0 prd", "deploy version=1.3.0 env=prd"),
    ("deploy to prd 1.3.0", "deploy version=1.3.0 env=prd"),
    // Chat decorations: mentions, sigils, punctuation, politeness, code spans.
    ("<@123456789012345678> deploy 1.3.0 to prd", "deploy version=1.3.0 env=prd"),
    ("<@!42> deploy 1.3.0 to prd", "deploy version=1.3.0 env=prd"),
    ("@switchyard deploy 1.3.0 to tst", "deploy version=1.3.0 env=tst"),
    ("switchyard: deploy 1.3.0 to tst", "deploy version=1.3.0 env=tst"),
    ("!deploy 1.3.0 to dev", "deploy version=1.3.0 env=dev"),
    ("/deploy 1.3.0 to dev", "deploy version=1.3.0 env=dev"),
    ("deploy 1.3.0 to prd.", "deploy version=1.3.0 env=prd"),
    ("deploy 1.3.0 to prd!!!", "deploy version=1.3.0 env=prd"),
    ("please deploy 1.3.0 to tst", "deploy version=1.3.0 env=tst"),
    ("can you deploy 1.3.0 to tst please?", "deploy version=1.3.0 env=tst"),
    ("hey, could you please deploy 1.3.0 to staging, thanks", "deploy version=1.3.0 env=tst"),
    ("deploy \"1.3.0\" to prd", "deploy version=1.3.0 env=prd"),
    ("hey @switchyard, deploy 1.3.0 to tst", "deploy version=1.3.0 env=tst"),
    ("deploy 1.3.0 to prd \u{1f680}", "deploy version=1.3.0 env=prd"),
    ("can you deploy 1.3.0 to dev?", "deploy version=1.3.0 env=dev"),
    ("deploy `1.3.0` to `prd`", "deploy version=1.3.0 env=prd"),
    ("`deploy 1.3.0 to prd`", "deploy version=1.3.0 env=prd"),
    // Flags and strategies.
    ("deploy 1.3.0 to prd --dry-run", "deploy version=1.3.0 env=prd dry_run"),
    ("deploy 1.3.0 to prd dry run", "deploy version=1.3.0 env=prd dry_run"),
    ("deploy 1.3.0 to prd (dry run)", "deploy version=1.3.0 env=prd dry_run"),
    ("dry-run deploy 1.3.0 to prd", "deploy version=1.3.0 env=prd dry_run"),
    ("hotfix 1.3.1 to prd", "deploy version=1.3.1 env=prd emergency"),
    ("emergency deploy 1.3.1 to prd", "deploy version=1.3.1 env=prd emergency"),
    ("deploy 1.3.1 to prd as an emergency", "deploy version=1.3.1 env=prd emergency"),
    ("deploy 1.3.0 to prd using bluegreen", "deploy version=1.3.0 env=prd strategy=blue-green"),
    ("deploy 1.3.0 to prd using blue/green", "deploy version=1.3.0 env=prd strategy=blue-green"),
    ("deploy 1.3.0 to prd with blue green", "deploy version=1.3.0 env=prd strategy=blue-green"),
    ("deploy 1.3.0 to prd using canary --dry-run", "deploy version=1.3.0 env=prd strategy=canary dry_run"),
    ("deploy 1.3.0 to dev all at once", "deploy version=1.3.0 env=dev strategy=all-at-once"),
    ("deploy 1.3.0 to dev as a rolling update", "deploy version=1.3.0 env=dev strategy=rolling"),
    ("deploy 1.3.0 to prd --strategy canary", "deploy version=1.3.0 env=prd strategy=canary"),
    // Versions: tags kept verbatim, a semantic version loses its `v`.
    ("ship main-a1b2c3d-20250823143022 to dev", "deploy version=main-a1b2c3d-20250823143022 env=dev"),
    ("deploy Main-ABC_1 to dev", "deploy version=Main-ABC_1 env=dev"),
    ("release 2.0.0-rc.1 to tst", "deploy version=2.0.0-rc.1 env=tst"),
    ("deploy V1.3.0 to prd", "deploy version=1.3.0 env=prd"),
    ("deploy v1 to dev", "deploy version=v1 env=dev"),
    ("deploy latest to dev", "deploy version=latest env=dev"),
    ("deploy dev-latest to dev", "deploy version=dev-latest env=dev"),
    ("roll out 1.3.0 to stg", "deploy version=1.3.0 env=tst"),
    ("upgrade production to 1.4.0", "deploy version=1.4.0 env=prd"),
    // Promote.
    ("promote 1.3.0 from tst to prd", "promote version=1.3.0 from=tst to=prd"),
    ("Promote version v1.3.0 from staging to production", "promote version=1.3.0 from=tst to=prd"),
    ("promote 1.3.0 from test to live using canary --dry-run", "promote version=1.3.0 from=tst to=prd strategy=canary dry_run"),
    ("promote 1.3.0 to prd from tst", "promote version=1.3.0 from=tst to=prd"),
    ("promote from tst to prd version 1.3.0", "promote version=1.3.0 from=tst to=prd"),
    ("promote 1.3.0 tst to prd", "promote version=1.3.0 from=tst to=prd"),
    ("promote 1.3.0 from the tst environment to the prd environment", "promote version=1.3.0 from=tst to=prd"),
    // Rollback.
    ("rollback prd", "rollback env=prd"),
    ("roll back prd to the previous version", "rollback env=prd"),
    ("revert production", "rollback env=prd"),
    ("rollback prd to 1.2.0", "rollback env=prd version=1.2.0"),
    ("rollback to v1.2.0 on prd", "rollback env=prd version=1.2.0"),
    ("undo the deployment on tst", "rollback env=tst"),
    ("rollback on prd", "rollback env=prd"),
    ("rollback prd to prev", "rollback env=prd"),
    ("roll prd back", "rollback env=prd"),
    // Reading the state.
    ("status", "status"),
    ("status prd", "status env=prd"),
    ("show status of the prd deployment", "status env=prd"),
    ("what's running on prod?", "status env=prd"),
    ("how is prd doing", "status env=prd"),
    ("how's prod doing", "status env=prd"),
    ("what version is prd on", "status env=prd"),
    ("show prd deploys", "history env=prd"),
    ("last deployment on prd", "history env=prd limit=1"),
    ("dora metrics for prd", "metrics env=prd"),
    ("history", "history"),
    ("show deployment history for prd", "history env=prd"),
    ("history prd last 3", "history env=prd limit=3"),
    ("show the last 10 deployments", "history limit=10"),
    ("metrics for last 7 days", "metrics days=7"),
    ("deployment metrics for prd for the past 30 days", "metrics env=prd days=30"),
    ("show me metrics for the last week", "metrics days=7"),
    // Approvals.
    ("approve #42", "approve id=42"),
    ("approve 42", "approve id=42"),
    ("approve deployment #42", "approve id=42"),
    ("deny #42 because tests are red", "deny id=42 reason=tests are red"),
    ("deny #42", "deny id=42"),
    ("deny #42: Friday freeze, try Monday", "deny id=42 reason=Friday freeze, try Monday"),
    ("deny #42 because we are busy right now", "deny id=42 reason=we are busy right now"),
    ("deny #42 reason: tests are red", "deny id=42 reason=tests are red"),
    // Control of a running deployment.
    ("abort", "abort"),
    ("abort the deployment on prd", "abort env=prd"),
    ("cancel my deployment", "abort"),
    ("abort current prd deployment", "abort env=prd"),
    ("pause prd", "pause env=prd"),
    ("resume prd", "resume env=prd"),
    ("lock prd because incident 123", "lock env=prd reason=incident 123"),
    ("lock prd: quarter-end", "lock env=prd reason=quarter-end"),
    ("lock prd because of INC-1234, thanks", "lock env=prd reason=INC-1234"),
    ("lock prd because ask bob@here.com", "lock env=prd reason=ask bob@here.com"),
    ("lock prd because \"quoted\" reason", "lock env=prd reason=\"quoted\" reason"),
    ("lock prd", "lock env=prd"),
    ("unlock prd", "unlock env=prd"),
    // Help and the rest.
    ("troubleshoot", "troubleshoot"),
    ("troubleshoot prd", "troubleshoot env=prd"),
    ("Deployment failed \u{2014} how do I troubleshoot?", "troubleshoot"),
    ("The deployment failed. How do I troubleshoot?", "troubleshoot"),
    ("turn on 2fa", "mfa_enroll"),
    ("how to deploy", "help topic=deploy"),
    ("mfa enroll", "mfa_enroll"),
    ("enroll mfa", "mfa_enroll"),
    ("help", "help"),
    ("HELP", "help"),
    ("help rollback", "help topic=rollback"),
    ("help me with promote", "help topic=promote"),
];

#[rustfmt::skip]
const REFUSED: &[(&str, &str)] = &[
    // Nothing, or not enough.
    ("", "no command"),
    ("   ", "no command"),
    ("<@123>", "no command"),
    ("please", "I don't understand 'please'"),
    ("thanks", "I don't understand 'thanks'"),
    ("what went", "missing 'wrong'"),
    ("deploy", "missing the version"),
    ("deploy 1.3.0", "missing the environment"),
    ("deploy 1.3.0 to", "missing the environment"),
    ("rollback", "missing the environment"),
    ("lock", "missing the environment"),
    ("promote 1.3.0 to prd", "missing 'from'"),
    ("deploy the thing", "expected the version"),
    // Words the grammar does not explain.
    ("deploy 1.3.0 to prd now please yolo", "I don't understand 'now please yolo' after 'deploy 1.3.0 to prd'"),
    ("deploy 1.3.0 to prd and tst", "I don't understand 'and tst'"),
    ("deploy 1.3.1 to prd asap", "I don't understand 'asap'"),
    ("lock prd for 2 hours", "locks do not expire"),
    ("show me the logs", "'logs'"),
    ("what's up", "I don't understand 'what's up'"),
    ("approve 4 2", "'2'"),
    ("sudo deploy 1.3.0 to prd", "not a command I know"),
    ("continue to prd", "not a command I know"),
    ("halp", "not a command I know"),
    ("lock prd as well as tst", "I don't understand 'as well as tst'"),
    // A command that changes something, asked as a question, is not an order.
    ("deploy 1.3.0 to dev?", "reads as a question"),
    ("approve #42?", "reads as a question"),
    ("rollback prd??", "reads as a question"),
    ("rm -rf /", "not a command I know"),
    // Wrong values.
    ("deploy 1.3.0 to qa", "'qa' is not an environment"),
    ("promote 1.3.0 from tst to qa", "'qa' is not an environment"),
    ("promote 1.3.0 from prd to prd", "two different environments"),
    ("promote 1.3.0 from prod to production", "two different environments"),
    ("deploy 1.3.0 to prd using purple", "'purple' is not a strategy"),
    ("approve abc", "not a deployment id"),
    ("approve #-1", "not a deployment id"),
    ("approve #0", "not a deployment id"),
    ("metrics for last -7 days", "negative"),
    ("metrics for last 0 days", "from 1 to"),
    ("history last -3", "negative"),
    ("help fly", "no help on 'fly'"),
    ("rollback prd to 1.2.0-", "looks cut off"),
    ("rollback prd to latest", "`latest` is not one"),
    ("lock prd - until 5pm", "locks do not expire"),
    ("lock prd: 2 hours", "locks do not expire"),
    ("deploy everything to dev", "looks like a word"),
    // Hostile: shell, paths, control characters, size, look-alikes, mentions.
    ("deploy 1.3.0; rm -rf / to prd", "not a valid version: ';'"),
    ("deploy $(curl x) to prd", "not a valid version: '$'"),
    ("deploy `id` to prd", "expected the version"),
    ("deploy `1.3.0 to prd", "not a valid version: '`'"),
    ("deploy ../../etc/passwd to prd", "not a valid version"),
    ("deploy 1.3.0 to prd && reboot", "I don't understand '&& reboot'"),
    ("deploy 1.3.0|sh to prd", "not a valid version: '|'"),
    ("deploy 1..3 to prd", "'..' is not allowed"),
    ("deploy a/b to prd", "'/' (a path, not a tag)"),
    ("deploy -rf to prd", "starts with '-'"),
    ("deploy\u{0} 1.3.0 to prd", "control characters"),
    ("deploy 1.3.0 to prd\u{7}", "control characters"),
    ("d\u{435}ploy 1.3.0 to prd", "not a command I know"),
    ("deploy 1.3.0 to \u{440}rd", "is not an environment"),
    ("deploy \u{ff11}.3.0 to prd", "non-ASCII"),
    ("@everyone deploy 1.3.0 to prd", "not a command I know"),
    ("@here rollback prd", "not a command I know"),
    ("deploy 1.3.0 to prd @here", "I don't understand '@\u{200B}here'"),
    ("<@&987654321> deploy 1.3.0 to prd", "not a command I know"),
    ("lock prd because @everyone", "cannot contain mentions"),
    ("deny #1 because <@&1> said so", "cannot contain mentions"),
    ("lock prd because \u{202E}dlrow", "invisible character U+202E"),
    ("lock prd because \u{3164}", "invisible character U+3164"),
    ("loc\u{212A} prd", "not a command I know"),
    ("lock prd because fine\n> fake bot reply", "one line"),
    ("lock prd because [runbook](https://evil.example)", "chat formatting"),
];

fn expected(spec: &str, got: &Value) -> Value {
    let mut words = spec.split(' ');
    let intent = words.next().unwrap();
    let mut want = Map::new();
    want.insert("intent".into(), intent.into());
    // Defaults for every field the intent has: null, or false for flags.
    for (key, value) in got.as_object().unwrap() {
        if key != "intent" {
            want.insert(
                key.clone(),
                if value.is_boolean() {
                    false.into()
                } else {
                    Value::Null
                },
            );
        }
    }
    let rest: Vec<&str> = words.collect();
    let mut i = 0;
    while i < rest.len() {
        let (key, value) = match rest[i].split_once('=') {
            None => (rest[i].to_string(), Value::Bool(true)),
            Some((k, v)) if k == "reason" => {
                // A reason takes the rest of the spec.
                let text = std::iter::once(v)
                    .chain(rest[i + 1..].iter().copied())
                    .collect::<Vec<_>>()
                    .join(" ");
                i = rest.len();
                (k.to_string(), Value::from(text))
            }
            Some((k, v)) => (
                k.to_string(),
                v.parse::<u64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| v.into()),
            ),
        };
        assert!(
            want.contains_key(&key),
            "{spec}: {intent} has no field {key}"
        );
        want.insert(key, value);
        i += 1;
    }
    Value::Object(want)
}

#[test]
fn the_phrasings_people_type_read_as_they_mean() {
    let mut wrong = Vec::new();
    for (text, spec) in ACCEPTED {
        match parse_json(text) {
            Ok(got) => {
                let want = expected(spec, &got);
                if got != want {
                    wrong.push(format!("{text:?}: got {got}, want {want}"));
                }
            }
            Err(e) => wrong.push(format!("{text:?}: refused: {}", e.error)),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        ACCEPTED.len(),
        wrong.join("\n")
    );
}

#[test]
fn what_is_not_a_command_is_refused_with_a_reason() {
    let mut wrong = Vec::new();
    for (text, needle) in REFUSED {
        match parse_json(text) {
            Ok(got) => wrong.push(format!("{text:?}: accepted as {got}")),
            Err(e) if !e.error.contains(needle) => {
                wrong.push(format!("{text:?}: {:?} lacks {needle:?}", e.error))
            }
            Err(_) => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        REFUSED.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_table_covers_at_least_eighty_phrasings() {
    assert!(ACCEPTED.len() + REFUSED.len() >= 80);
}

#[test]
fn echoed_words_never_ping_and_never_hide_characters() {
    for text in [
        "@everyone deploy 1.3.0 to prd",
        "deploy 1.3.0 to <@&123>",
        "help @here",
        "deploy 1.3.0 to prd \u{202E} @everyone",
    ] {
        let e = parse_json(text).unwrap_err();
        let shown = serde_json::to_string(&e).unwrap();
        for needle in ["@everyone", "@here", "<@&", "\u{202E}"] {
            assert!(
                !shown.contains(needle),
                "{text:?} echoes {needle:?}: {shown}"
            );
        }
    }
}

#[test]
fn a_ten_kilobyte_message_is_refused_for_its_length() {
    let text = format!("deploy 1.3.0 to prd {}", "x".repeat(10 * 1024));
    let e = parse_json(&text).unwrap_err();
    assert!(e.error.contains("characters long"), "{}", e.error);
}

#[test]
fn a_version_longer_than_a_tag_may_be_is_refused() {
    let e = parse_json(&format!("deploy 1{} to prd", "a".repeat(128))).unwrap_err();
    assert!(e.error.contains("129 characters"), "{}", e.error);
    assert!(parse_json(&format!("deploy 1{} to prd", "a".repeat(127))).is_ok());
}

#[test]
fn a_near_miss_gets_the_corrected_command_as_a_suggestion_never_a_guess() {
    for (typed, suggestion) in [
        (
            "promte 1.3.0 from tst to prd",
            "promote 1.3.0 from tst to prd",
        ),
        ("deploy 1.3.0 to prdd", "deploy 1.3.0 to prd"),
        (
            "deploy 1.3.0 to prd usign canary",
            "deploy 1.3.0 to prd using canary",
        ),
        ("rollbak prd", "rollback prd to the previous version"),
        (
            "promote 1.3.0 form tst to prd",
            "promote 1.3.0 from tst to prd",
        ),
        (
            "deploy 1.3.0 to prd using canry",
            "deploy 1.3.0 to prd using canary",
        ),
    ] {
        let e = parse_json(typed).expect_err(typed);
        assert_eq!(
            e.did_you_mean.as_deref(),
            Some(suggestion),
            "{typed}: {e:?}"
        );
    }
}

#[test]
fn an_ambiguous_or_short_near_miss_gets_no_suggestion() {
    for typed in ["halp", "who deployed last", "shw status"] {
        let e = parse_json(typed).expect_err(typed);
        assert_eq!(e.did_you_mean, None, "{typed}: {e:?}");
    }
}

#[test]
fn an_error_says_what_was_understood_and_shows_the_usage_of_the_closest_command() {
    let e = parse_json("promote 1.3.0 from tst").unwrap_err();
    assert_eq!(e.intent, Some("promote"));
    assert_eq!(e.understood.as_deref(), Some("promote 1.3.0 from tst"));
    assert_eq!(
        e.usage.as_deref(),
        Some("promote VERSION from ENV to ENV [using STRATEGY] [--dry-run]")
    );
    assert!(e.error.starts_with("missing"), "{}", e.error);
}
