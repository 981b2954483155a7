//! The integration-test binary: one module per capability, each test names the
//! behaviour a user would notice.

mod alerts;
mod aws;
mod aws_run;
mod benches;
mod charts;
mod checklist_live;
mod checks_chat;
mod checks_config;
mod config_check;
mod conversation;
mod databases;
mod demo;
mod discord_fake;
mod discord_fake_selftest;
mod dockerfile;
mod echo;
mod fuzz_config;
mod fuzz_grammar;
mod fuzz_webhook;
mod gates;
mod grammar_files;
mod help_golden;
mod http;
mod http_limits;
mod http_run;
mod leases;
mod load;
mod mfa;
mod moto;
mod moto_fixture;
mod parse_cli;
mod phrasings;
mod policy;
mod prometheus_fixture;
mod properties;
mod providers;
mod providers_ecr;
mod providers_prometheus;
mod reconcile;
mod replicas_discord;
mod replicas_run;
mod report_cli;
mod rollout;
mod seeds;
mod simulator;
mod stand_ins;
mod store;

use std::sync::OnceLock;

use switchyard::config::Config;
use switchyard::intent::Grammar;

/// The grammar of the demo configuration, built once for all tests.
pub fn grammar() -> &'static Grammar {
    static GRAMMAR: OnceLock<Grammar> = OnceLock::new();
    GRAMMAR
        .get_or_init(|| Grammar::for_config(&Config::demo()).expect("the embedded grammar builds"))
}

/// Parses `text` and returns the intent as JSON, or the error message.
pub fn parse_json(text: &str) -> Result<serde_json::Value, switchyard::intent::ParseError> {
    grammar()
        .parse(text)
        .map(|intent| serde_json::to_value(intent).expect("intents serialise"))
}
