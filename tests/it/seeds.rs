//! The commands of the agent's example conversations (seeds/004) read exactly as
//! the conversations mean them.

use serde_json::json;

use super::parse_json;

#[test]
fn every_command_of_the_example_conversations_reads_as_meant() {
    let cases = [
        (
            "Deploy version 1.3.0 to prd using blue-green",
            json!({"intent": "deploy", "version": "1.3.0", "env": "prd", "strategy": "blue-green", "dry_run": false, "emergency": false}),
        ),
        (
            "Rollback prd to previous version",
            json!({"intent": "rollback", "env": "prd", "version": null}),
        ),
        (
            "Promote version 1.3.0 from tst to prd",
            json!({"intent": "promote", "version": "1.3.0", "from": "tst", "to": "prd", "strategy": null, "dry_run": false}),
        ),
        (
            "Show deployment metrics for last 7 days",
            json!({"intent": "metrics", "env": null, "days": 7}),
        ),
        (
            "Deployment failed - how do I troubleshoot?",
            json!({"intent": "troubleshoot", "env": null}),
        ),
        (
            "Show deployment history for prd",
            json!({"intent": "history", "env": "prd", "limit": null}),
        ),
    ];
    for (text, want) in cases {
        let got = parse_json(text).unwrap_or_else(|e| panic!("{text:?} refused: {e}"));
        assert_eq!(got, want, "{text:?}");
    }
}

#[test]
fn the_confirmation_answer_of_the_conversations_is_not_a_command() {
    // "yes" answers a pending question in the conversation layer; on its own it
    // must not be read as anything.
    assert!(parse_json("yes").is_err());
}
