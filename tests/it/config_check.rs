//! The configuration file as an operator meets it: the demo config is valid, every
//! mistake is reported against the key that holds it, aliases find their
//! environment, and secrets never show up in output.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use proptest::prelude::*;
use switchyard::config::{
    self, Config, ConfigError, Diagnostic, Report, Secret, SecretError, SecretSource,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

fn keys(diagnostics: &[Diagnostic]) -> Vec<&str> {
    diagnostics.iter().map(|d| d.key.as_str()).collect()
}

/// The one error in `report`, asserting there is exactly one.
fn single_error(report: &Report) -> &Diagnostic {
    assert_eq!(
        report.errors.len(),
        1,
        "expected one error, got {:#?}",
        report.errors
    );
    &report.errors[0]
}

/// A lookup that answers only for the given variables.
fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |var| vars.get(var).cloned()
}

const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

#[test]
fn the_demo_config_is_valid_without_warnings() {
    let report = config::check_str(config::DEMO_TOML);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
    let demo = Config::demo();
    assert!(demo.bot.demo);
    let names: Vec<_> = demo.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["dev", "tst", "prd"]);
    assert_eq!(demo.plan("blue-green").unwrap().steps, [10, 25, 50, 100]);
}

#[test]
fn the_demo_config_on_disk_is_the_embedded_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml");
    assert_eq!(std::fs::read_to_string(path).unwrap(), config::DEMO_TOML);
}

#[test]
fn a_single_environment_is_a_valid_config() {
    let config = Config::from_toml_str("[[environments]]\nname = \"dev\"\n").unwrap();
    assert_eq!(config.bot.name, "switchyard");
    assert_eq!(config.store.url, "sqlite://switchyard.db");
    assert_eq!(config.environments[0].plan, "blue-green");
    assert!(
        config.plan("blue-green").is_some(),
        "built-in plans are always there"
    );
    assert!(config.environments[0].policy.confirm);
}

#[test]
fn an_unknown_key_is_an_error_naming_the_key() {
    let report = config::check_file(&fixture("unknown_key.toml"));
    let error = single_error(&report);
    assert_eq!(error.key, "environments[0].colour");
    assert!(error.message.contains("unknown field `colour`"), "{error}");
    assert!(error.message.contains("line 4"), "{error}");
    assert!(report.config.is_none());
}

#[test]
fn a_syntax_error_is_reported_with_its_line() {
    let report = config::check_file(&fixture("syntax_error.toml"));
    let error = single_error(&report);
    assert_eq!(error.key, "(toml)");
    assert!(error.message.contains("line 3"), "{error}");
}

#[test]
fn a_value_of_the_wrong_type_names_its_key() {
    let text = "[[environments]]\nname = \"prd\"\n[environments.policy]\napprovals = \"two\"\n";
    let report = config::check_str(text);
    assert_eq!(
        single_error(&report).key,
        "environments[0].policy.approvals"
    );
}

#[test]
fn a_duplicate_alias_is_an_error_naming_the_aliases_key() {
    let report = config::check_file(&fixture("duplicate_alias.toml"));
    let error = single_error(&report);
    assert_eq!(error.key, "environments[1].aliases");
    assert!(error.message.contains("duplicate alias `Stage`"), "{error}");
}

#[test]
fn an_alias_equal_to_another_environment_name_is_a_duplicate_alias() {
    let text =
        "[[environments]]\nname = \"tst\"\n[[environments]]\nname = \"prd\"\naliases = [\"TST\"]\n";
    let report = config::check_str(text);
    let error = single_error(&report);
    assert_eq!(error.key, "environments[1].aliases");
    assert!(error.message.contains("duplicate alias"), "{error}");
}

#[test]
fn an_environment_name_must_be_lowercase() {
    let report = config::check_str("[[environments]]\nname = \"Prod\"\n");
    assert_eq!(keys(&report.errors), ["environments[0].name"]);
}

#[test]
fn a_policy_naming_an_unknown_role_is_an_error_naming_the_policy_key() {
    let report = config::check_file(&fixture("unknown_role.toml"));
    let error = single_error(&report);
    assert_eq!(error.key, "environments[1].policy.approve");
    assert!(
        error.message.contains("did you mean `approver`?"),
        "{error}"
    );
}

#[test]
fn a_user_with_an_unknown_role_is_an_error() {
    let text =
        "[[environments]]\nname = \"dev\"\n[[users]]\nname = \"carol\"\nroles = [\"ghost\"]\n";
    assert_eq!(keys(&config::check_str(text).errors), ["users[0].roles"]);
}

#[test]
fn an_environment_naming_an_unknown_plan_is_an_error() {
    let text = "[[environments]]\nname = \"dev\"\nplan = \"bluegreen\"\n";
    let report = config::check_str(text);
    let error = single_error(&report);
    assert_eq!(error.key, "environments[0].plan");
    assert!(
        error.message.contains("did you mean `blue-green`?"),
        "{error}"
    );
}

#[test]
fn plan_steps_must_increase_and_end_at_100() {
    let report = config::check_file(&fixture("bad_steps.toml"));
    assert_eq!(single_error(&report).key, "plans.blue-green.steps");
    for steps in ["[10, 50]", "[0, 100]", "[50, 101]", "[]"] {
        let text =
            format!("[[environments]]\nname = \"dev\"\n[plans.blue-green]\nsteps = {steps}\n");
        let report = config::check_str(&text);
        assert_eq!(
            keys(&report.errors),
            ["plans.blue-green.steps"],
            "steps {steps}"
        );
    }
}

#[test]
fn approvals_no_one_can_give_are_an_error() {
    let report = config::check_file(&fixture("impossible_approvals.toml"));
    let error = single_error(&report);
    assert_eq!(error.key, "environments[1].policy.approvals");
    assert!(error.message.contains("only 1 user"), "{error}");
}

#[test]
fn promotion_must_come_from_an_earlier_environment() {
    let text = "[[environments]]\nname = \"tst\"\n[environments.policy]\npromote_from = \"prd\"\n\
                [[environments]]\nname = \"prd\"\n";
    let report = config::check_str(text);
    assert_eq!(
        keys(&report.errors),
        ["environments[0].policy.promote_from"]
    );
}

#[test]
fn an_unguarded_last_environment_is_warned_about() {
    let report =
        config::check_str("[[environments]]\nname = \"tst\"\n[[environments]]\nname = \"prd\"\n");
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let warned = keys(&report.warnings);
    assert!(warned.contains(&"environments[1].policy.mfa"), "{warned:?}");
    assert!(
        warned.contains(&"environments[1].policy.approvals"),
        "{warned:?}"
    );
}

#[test]
fn inline_secrets_are_warned_about_outside_demo_mode() {
    let text = format!("[mfa]\nencryption_key = \"{KEY}\"\n[[environments]]\nname = \"dev\"\n");
    let report = config::check_str(&text);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(keys(&report.warnings).contains(&"mfa.encryption_key"));
    let demo = format!("[bot]\ndemo = true\n{text}");
    assert!(!keys(&config::check_str(&demo).warnings).contains(&"mfa.encryption_key"));
}

#[test]
fn a_malformed_totp_secret_is_an_error() {
    let text = "[[environments]]\nname = \"dev\"\n\
                [[users]]\nname = \"al\"\ntotp_secret = \"not base32!\"\n";
    assert_eq!(
        keys(&config::check_str(text).errors),
        ["users[0].totp_secret"]
    );
}

#[test]
fn aliases_find_their_canonical_environment() {
    let config = Config::demo();
    for (word, name) in [
        ("prod", "prd"),
        ("production", "prd"),
        ("live", "prd"),
        ("PRD", "prd"),
    ] {
        assert_eq!(
            config.environment(word).map(|e| e.name.as_str()),
            Some(name),
            "{word}"
        );
    }
    for (word, name) in [("STG", "tst"), ("staging", "tst"), ("Development", "dev")] {
        assert_eq!(
            config.environment(word).map(|e| e.name.as_str()),
            Some(name),
            "{word}"
        );
    }
    assert!(config.environment("qa").is_none());
    assert!(config.environment("").is_none());
}

#[test]
fn promotions_come_from_the_configured_or_previous_environment() {
    let config = Config::demo();
    let source = |to: &str| {
        config
            .promotion_source(config.environment(to).unwrap())
            .map(|e| e.name.clone())
    };
    assert_eq!(source("prd").as_deref(), Some("tst"));
    assert_eq!(source("tst").as_deref(), Some("dev"));
    assert_eq!(source("dev"), None);
}

#[test]
fn prd_accepts_only_semantic_versions() {
    let rule = Config::demo().environment("prd").unwrap().policy.versions;
    for good in ["1.3.0", "0.1.0", "2.0.0-rc.1", "1.2.3+build.7"] {
        assert!(rule.accepts(good), "{good}");
    }
    for bad in ["v1.3.0", "1.3", "01.2.3", "main-a1b2c3d-20250823143022", ""] {
        assert!(!rule.accepts(bad), "{bad}");
    }
    let dev = Config::demo().environment("dev").unwrap().policy.versions;
    assert!(dev.accepts("main-a1b2c3d-20250823143022"));
}

proptest! {
    #[test]
    fn environment_lookup_ignores_case(
        index in 0usize..11,
        upper in prop::collection::vec(any::<bool>(), 12),
    ) {
        let config = Config::demo();
        let words: Vec<(String, String)> = config.environments.iter()
            .flat_map(|e| e.words().map(|w| (w.to_owned(), e.name.clone())))
            .collect();
        let (word, name) = &words[index % words.len()];
        let typed: String = word.chars().zip(upper.iter().cycle())
            .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c })
            .collect();
        prop_assert_eq!(&config.environment(&typed).unwrap().name, name);
    }
}

#[test]
fn a_secret_never_prints_its_value() {
    let secret = Secret::inline("hunter2");
    assert_eq!(format!("{secret}"), "[redacted]");
    assert_eq!(format!("{secret:?}"), "[redacted]");
    assert_eq!(format!("{:?}", Some(&secret)), "Some([redacted])");
    assert_eq!(secret.expose(), Ok("hunter2"));
}

#[test]
fn the_config_debug_output_contains_no_secret() {
    let config = Config::demo();
    let debug = format!("{config:?} {config:#?}");
    let secrets = config.secrets();
    assert_eq!(secrets.len(), 5, "four TOTP seeds and the MFA key");
    for (key, secret) in secrets {
        assert!(!debug.contains(secret.expose().unwrap()), "{key} leaked");
    }
}

#[test]
fn an_env_var_secret_is_read_when_the_config_is_loaded() {
    let text = std::fs::read_to_string(fixture("env_secrets.toml")).unwrap();
    let env = env_of(&[
        ("SWITCHYARD_TEST_ALICE_TOTP", SEED),
        ("SWITCHYARD_TEST_MFA_KEY", KEY),
    ]);
    let report = config::check_str_with(&text, &env);
    assert!(
        report.errors.is_empty() && report.warnings.is_empty(),
        "{report:#?}"
    );
    let config = report.config.unwrap();
    let seed = config.users[0].totp_secret.as_ref().unwrap();
    assert_eq!(
        seed.source(),
        &SecretSource::Env("SWITCHYARD_TEST_ALICE_TOTP".into())
    );
    assert_eq!(seed.expose(), Ok(SEED));
    assert_eq!(
        config.mfa.encryption_key.as_ref().unwrap().expose(),
        Ok(KEY)
    );
}

#[test]
fn an_unset_env_var_secret_is_a_warning_at_check_and_an_error_at_use() {
    let text = std::fs::read_to_string(fixture("env_secrets.toml")).unwrap();
    let env = env_of(&[("SWITCHYARD_TEST_MFA_KEY", KEY)]);
    let report = config::check_str_with(&text, &env);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(keys(&report.warnings), ["users[0].totp_secret"]);
    assert!(
        report.warnings[0]
            .message
            .contains("SWITCHYARD_TEST_ALICE_TOTP")
    );
    let config = Config::from_toml_str_with(&text, &env).unwrap();
    let unset = config.users[0].totp_secret.as_ref().unwrap().expose();
    let var = "SWITCHYARD_TEST_ALICE_TOTP".to_owned();
    assert_eq!(unset, Err(SecretError::Unset { var }));
}

#[test]
fn an_env_var_secret_with_a_bad_value_is_an_error() {
    let text = std::fs::read_to_string(fixture("env_secrets.toml")).unwrap();
    let env = env_of(&[
        ("SWITCHYARD_TEST_MFA_KEY", "short"),
        ("SWITCHYARD_TEST_ALICE_TOTP", SEED),
    ]);
    assert_eq!(
        keys(&config::check_str_with(&text, &env).errors),
        ["mfa.encryption_key"]
    );
}

#[test]
fn an_unreadable_file_is_one_error_keyed_file() {
    let report = config::check_file(Path::new("/nonexistent/switchyard.toml"));
    assert_eq!(single_error(&report).key, "(file)");
    assert!(matches!(
        Config::load(Path::new("/nonexistent/switchyard.toml")),
        Err(ConfigError::Read { .. })
    ));
}

#[test]
fn an_invalid_config_error_lists_every_error() {
    let text = "[[environments]]\nname = \"Prod\"\nplan = \"nope\"\n";
    let error = Config::from_toml_str(text).unwrap_err().to_string();
    assert!(error.contains("environments[0].name: "), "{error}");
    assert!(
        error.contains("environments[0].plan: unknown plan `nope`"),
        "{error}"
    );
}

#[test]
fn a_relative_intents_dir_is_taken_from_the_config_files_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("grammar")).unwrap();
    let path = dir.path().join("switchyard.toml");
    std::fs::write(
        &path,
        "[bot]\nintents_dir = \"grammar\"\n[[environments]]\nname = \"dev\"\n",
    )
    .unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(config.bot.intents_dir, Some(dir.path().join("grammar")));
    assert!(!keys(&config::check_file(&path).warnings).contains(&"bot.intents_dir"));
}

// `switchyard check-config FILE` prints `error: KEY: MESSAGE` / `warning: ...` and
// exits 1 when there are errors.

fn check_config(path: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    command.arg("check-config").arg(path);
    // The fixtures' variables come only from `env`, whatever the caller's shell has.
    command
        .env_remove("SWITCHYARD_TEST_ALICE_TOTP")
        .env_remove("SWITCHYARD_TEST_MFA_KEY");
    command.envs(env.iter().copied());
    command.output().expect("switchyard runs")
}

fn printed(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[test]
fn check_config_accepts_the_demo_config() {
    let output = check_config(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml"),
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", printed(&output));
    assert!(!printed(&output).contains("error:"), "{}", printed(&output));
}

#[test]
fn check_config_rejects_bad_files_naming_the_key() {
    for (file, key) in [
        ("unknown_key.toml", "environments[0].colour"),
        ("duplicate_alias.toml", "environments[1].aliases"),
        ("unknown_role.toml", "environments[1].policy.approve"),
        ("bad_steps.toml", "plans.blue-green.steps"),
        (
            "impossible_approvals.toml",
            "environments[1].policy.approvals",
        ),
        ("syntax_error.toml", "(toml)"),
    ] {
        let output = check_config(&fixture(file), &[]);
        let text = printed(&output);
        assert_eq!(output.status.code(), Some(1), "{file}: {text}");
        assert!(text.contains(&format!("error: {key}: ")), "{file}: {text}");
    }
}

#[test]
fn check_config_reads_secrets_from_the_environment() {
    let path = fixture("env_secrets.toml");
    let unset = check_config(&path, &[]);
    assert_eq!(
        unset.status.code(),
        Some(0),
        "an unset variable is only a warning"
    );
    assert!(
        printed(&unset).contains("warning: users[0].totp_secret: "),
        "{}",
        printed(&unset)
    );
    let vars = [
        ("SWITCHYARD_TEST_ALICE_TOTP", SEED),
        ("SWITCHYARD_TEST_MFA_KEY", KEY),
    ];
    let set = check_config(&path, &vars);
    assert_eq!(set.status.code(), Some(0), "{}", printed(&set));
    assert!(!printed(&set).contains("warning:"), "{}", printed(&set));
    assert!(!printed(&set).contains(SEED) && !printed(&set).contains(KEY));
}

#[test]
fn discord_settings_are_checked_and_named_by_key() {
    let text = r#"
chat = "discord"
[[environments]]
name = "prd"
[[users]]
name = "alice"
[discord]
token = "t"
guilds = ["12"]
prefix = "two words"
[discord.notifications]
stg = "123456789012345678"
[discord.users]
"123456789012345678" = "mallory"
"#;
    let report = switchyard::config::check_str(text);
    let keys: Vec<String> = report.errors.iter().map(|d| d.key.clone()).collect();
    for key in [
        "discord.guilds[0]",
        "discord.prefix",
        "discord.notifications.stg",
        "discord.users.123456789012345678",
    ] {
        assert!(
            keys.iter().any(|k| k == key),
            "no error for {key}: {keys:?}"
        );
    }
    let missing = switchyard::config::check_str("chat = \"discord\"\n");
    assert!(
        missing.errors.iter().any(|d| d.key == "discord"),
        "{:?}",
        missing.errors
    );
}

#[test]
fn a_postgres_store_is_accepted_and_a_bad_store_url_is_refused_without_echoing_it() {
    let env = "[[environments]]\nname = \"prd\"\n";
    let shared = config::check_str(&format!(
        "[store]\nurl = \"postgres://switchyard:hunter2@db.internal/switchyard\"\n{env}"
    ));
    assert!(shared.errors.is_empty(), "{:#?}", shared.errors);
    let bad = config::check_str(&format!(
        "[store]\nurl = \"mysql://switchyard:hunter2@db/switchyard\"\n{env}"
    ));
    let error = single_error(&bad);
    assert_eq!(error.key, "store.url");
    assert!(error.message.contains("postgres://"), "{}", error.message);
    assert!(
        !error.message.contains("hunter2"),
        "the password was echoed: {}",
        error.message
    );
}

#[test]
fn a_lease_outside_three_seconds_to_ten_minutes_is_refused() {
    for lease in ["1s", "11m"] {
        let report = config::check_str(&format!(
            "[engine]\nlease = \"{lease}\"\n[[environments]]\nname = \"prd\"\n"
        ));
        assert_eq!(keys(&report.errors), ["engine.lease"], "{lease}");
    }
    let ok = config::check_str("[engine]\nlease = \"3s\"\n[[environments]]\nname = \"prd\"\n");
    assert!(ok.errors.is_empty(), "{:#?}", ok.errors);
}

// Discord's limits that only configuration can break (see `config::discord_limits`).

/// A config served on Discord, with these environments and users.
fn on_discord(envs: &[String], users: &[String]) -> String {
    let mut text = String::from("chat = \"discord\"\n");
    for env in envs {
        text += &format!("[[environments]]\nname = \"{env}\"\n");
    }
    for user in users {
        text += &format!("[[users]]\nname = \"{user}\"\n");
    }
    text + "[discord]\ntoken = { env = \"SWITCHYARD_TEST_DISCORD_TOKEN\" }\n"
}

fn named<'a>(diagnostics: &'a [Diagnostic], key: &str) -> Option<&'a Diagnostic> {
    diagnostics.iter().find(|d| d.key == key)
}

#[test]
fn a_user_name_too_long_for_discords_button_ids_is_an_error_naming_the_user() {
    // `sy:code:` + 92 characters is Discord's 100; one more is refused.
    let fits = "a".repeat(92);
    let too_long = "b".repeat(93);
    let report = config::check_str(&on_discord(&["dev".into()], &[fits, too_long]));
    let error = single_error(&report);
    assert_eq!(error.key, "users[1].name");
    assert!(error.message.contains("is 93 characters"), "{error}");
    assert!(error.message.contains("at most 92"), "{error}");
    // Without Discord nothing carries the name in a custom id.
    let console = config::check_str(&format!(
        "[[environments]]\nname = \"dev\"\n[[users]]\nname = \"{}\"\n",
        "b".repeat(93)
    ));
    assert!(console.errors.is_empty(), "{:?}", console.errors);
}

#[test]
fn an_environment_name_over_100_characters_is_an_error_as_a_slash_command_choice() {
    let report = config::check_str(&on_discord(&["dev".into(), "p".repeat(101)], &[]));
    let error = single_error(&report);
    assert_eq!(error.key, "environments[1].name");
    assert!(error.message.contains("is 101 characters"), "{error}");
    assert!(
        config::check_str(&on_discord(&["p".repeat(100)], &[]))
            .errors
            .is_empty()
    );
}

#[test]
fn more_than_25_environments_warn_naming_those_slash_commands_cannot_offer() {
    let envs: Vec<String> = (1..=27).map(|i| format!("env{i}")).collect();
    let report = config::check_str(&on_discord(&envs, &[]));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let warning = named(&report.warnings, "environments").expect("a warning on `environments`");
    assert!(
        warning
            .message
            .contains("`env26`, `env27` cannot be chosen by slash command"),
        "{warning}"
    );
    assert!(!warning.message.contains("`env25`"), "{warning}");
    let fits: Vec<String> = (1..=25).map(|i| format!("env{i}")).collect();
    assert!(
        named(
            &config::check_str(&on_discord(&fits, &[])).warnings,
            "environments"
        )
        .is_none()
    );
}

#[test]
fn an_intent_summary_with_a_blank_first_line_is_refused_for_discord() {
    let dir = tempfile::tempdir().unwrap();
    let promote =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("intents/promote.toml"))
            .unwrap();
    let blank = promote.replacen("summary = \"Move", "summary = \"\"\"\n   \nMove", 1);
    let blank = blank.replacen("next one.\"", "next one.\"\"\"", 1);
    assert_ne!(blank, promote, "the fixture edit applied");
    std::fs::write(dir.path().join("promote.toml"), &blank).unwrap();
    let long = format!("summary = \"{}\"", "x".repeat(101));
    let status =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("intents/status.toml"))
            .unwrap();
    let status_line = status
        .lines()
        .find(|l| l.starts_with("summary = "))
        .unwrap();
    std::fs::write(
        dir.path().join("status.toml"),
        status.replacen(status_line, &long, 1),
    )
    .unwrap();
    let text = on_discord(&["dev".into(), "tst".into(), "prd".into()], &[])
        + &format!(
            "[bot]\nintents_dir = {:?}\n",
            dir.path().display().to_string()
        );
    let config = Config::from_toml_str(&text).unwrap();
    let findings = switchyard::intent::Grammar::check_config(&config);
    assert!(
        findings
            .iter()
            .any(|f| f.contains("promote.toml: summary: the first line is blank")),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f.contains("status.toml: summary: the first line is 101 characters")),
        "{findings:?}"
    );
    // The check-config command refuses the file for it.
    let elsewhere = tempfile::tempdir().unwrap();
    let path = elsewhere.path().join("switchyard.toml");
    std::fs::write(&path, &text).unwrap();
    let output = check_config(&path, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", printed(&output));
    assert!(
        printed(&output).contains("promote.toml: summary: the first line is blank"),
        "{}",
        printed(&output)
    );
}

#[test]
fn a_discord_account_mapped_to_a_name_in_capitals_speaks_as_the_configured_user() {
    let text = on_discord(&["dev".into()], &["bob".into()])
        + "[discord.users]\n\"123456789012345678\" = \"BOB\"\n";
    let config = Config::from_toml_str(&text).unwrap();
    let discord = config.discord.as_ref().unwrap();
    assert_eq!(discord.user_for(123456789012345678), Some("bob"));
    assert_eq!(discord.id_of("bob"), Some(123456789012345678));
}

#[test]
fn a_reconcile_mode_or_pace_that_cannot_keep_routes_converged_is_refused() {
    let env = "[[environments]]\nname = \"prd\"\n";
    for every in ["0s", "500ms", "11s"] {
        let report = config::check_str(&format!("[engine]\nreconcile_every = \"{every}\"\n{env}"));
        assert_eq!(keys(&report.errors), ["engine.reconcile_every"], "{every}");
    }
    let unknown = config::check_str(&format!("[engine]\nreconcile = \"ignore\"\n{env}"));
    assert!(
        !unknown.errors.is_empty()
            && format!("{:?}", unknown.errors).contains("repair")
            && format!("{:?}", unknown.errors).contains("alert"),
        "{:#?}",
        unknown.errors
    );
    for mode in ["repair", "alert"] {
        let ok = config::check_str(&format!(
            "[engine]\nreconcile = \"{mode}\"\nreconcile_every = \"10s\"\n{env}"
        ));
        assert!(ok.errors.is_empty(), "{mode}: {:#?}", ok.errors);
    }
}

#[test]
fn webhook_limits_that_would_refuse_every_delivery_are_errors_naming_their_key() {
    let env = "[[environments]]\nname = \"dev\"\n";
    let ok = config::check_str(&format!(
        "{env}[http]\nbody_timeout = \"2s\"\nmax_concurrent_hooks = 8\n"
    ));
    assert!(ok.errors.is_empty(), "{:#?}", ok.errors);
    let config = ok.config.unwrap();
    assert_eq!(config.http.body_timeout, std::time::Duration::from_secs(2));
    assert_eq!(config.http.max_concurrent_hooks, 8);

    let bad = config::check_str(&format!(
        "{env}[http]\nbody_timeout = \"0s\"\nmax_concurrent_hooks = 0\nmax_body_bytes = 0\n"
    ));
    let mut found = keys(&bad.errors);
    found.sort();
    assert_eq!(
        found,
        [
            "http.body_timeout",
            "http.max_body_bytes",
            "http.max_concurrent_hooks"
        ]
    );
    let timeout = bad
        .errors
        .iter()
        .find(|e| e.key == "http.body_timeout")
        .unwrap();
    assert!(timeout.message.contains("outside 100ms..=5m"), "{timeout}");
}
