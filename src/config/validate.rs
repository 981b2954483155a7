//! Rules that span fields, checked after a file has parsed: names and aliases are
//! unique, every role, plan and environment named exists, plans are well-formed, and
//! approvals can be satisfied. Each finding names the key path (`environments[1].aliases`)
//! so an operator can jump to it. Errors make the config unusable; warnings flag a
//! config that works but is probably not what a careful operator meant.

use std::collections::HashMap;

use super::model::{Action, Config, Environment};
use super::plan::{Plan, Strategy};
use super::secret::SecretSource;
use super::{Diagnostic, Report};

/// Collects findings, grouped by section of the file.
#[derive(Default)]
pub(super) struct Findings {
    pub(super) errors: Vec<Diagnostic>,
    pub(super) warnings: Vec<Diagnostic>,
}

impl Findings {
    pub(super) fn error(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Diagnostic::new(key, message));
    }

    pub(super) fn warn(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Diagnostic::new(key, message));
    }
}

/// Checks a parsed config; `config` is kept in the report only when there are no errors.
pub(super) fn validate(config: Config) -> Report {
    let mut out = Findings::default();
    bot_and_store(&config, &mut out);
    environments(&config, &mut out);
    services(&config, &mut out);
    users(&config, &mut out);
    plans(&config, &mut out);
    secrets(&config, &mut out);
    cloud(&config, &mut out);
    http(&config, &mut out);
    let (errors, warnings) = super::checks::check(&config);
    out.errors.extend(errors);
    out.warnings.extend(warnings);
    Report {
        config: out.errors.is_empty().then_some(config),
        errors: out.errors,
        warnings: out.warnings,
    }
}

/// `[a-z][a-z0-9-]*`: safe in chat commands, file names and metric labels.
fn is_name(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn check_name(out: &mut Findings, key: String, name: &str) {
    if !is_name(name) {
        out.error(
            key,
            format!("`{name}` is not a valid name: a lowercase letter, then `a-z`, `0-9` or `-`"),
        );
    }
}

/// "; did you mean `x`?" when a known word is close to `word`.
fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    known
        .into_iter()
        .map(|k| {
            (
                strsim::levenshtein(&word.to_lowercase(), &k.to_lowercase()),
                k,
            )
        })
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(1))
        .min()
        .map(|(_, k)| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

fn bot_and_store(config: &Config, out: &mut Findings) {
    if config.bot.name.trim().is_empty() {
        out.error("bot.name", "must not be empty");
    }
    if let Some(dir) = &config.bot.intents_dir
        && !dir.is_dir()
    {
        out.warn(
            "bot.intents_dir",
            format!("`{}` is not a directory", dir.display()),
        );
    }
    let url = &config.store.url;
    if !["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
    {
        // Not echoed: a database URL may carry a password.
        out.error(
            "store.url",
            "is neither a `sqlite:` URL (the embedded store) nor a `postgres://` one (a store replicas share)",
        );
    }
    let lease = config.engine.lease;
    if lease < std::time::Duration::from_secs(3) || lease > std::time::Duration::from_secs(600) {
        out.error(
            "engine.lease",
            format!(
                "{} is outside 3s..=10m (it is renewed every third of it)",
                humantime::format_duration(lease)
            ),
        );
    }
    let every = config.engine.reconcile_every;
    if every < std::time::Duration::from_secs(1) || every > std::time::Duration::from_secs(10) {
        out.error(
            "engine.reconcile_every",
            format!(
                "{} is outside 1s..=10s (a drifted route must be noticed within one look)",
                humantime::format_duration(every)
            ),
        );
    }
    let mfa = &config.mfa;
    if !(6..=8).contains(&mfa.digits) {
        out.error("mfa.digits", format!("{} is outside 6..=8", mfa.digits));
    }
    if mfa.period.as_secs() == 0 {
        out.error("mfa.period", "must be at least 1s");
    }
    if mfa.max_failures == 0 {
        out.error("mfa.max_failures", "must be at least 1");
    }
    if mfa.encryption_key.is_none() && config.environments.iter().any(|e| e.policy.mfa) {
        out.warn(
            "mfa.encryption_key",
            "an environment requires MFA but no key is set, so users cannot enrol by chat",
        );
    }
}

fn environments(config: &Config, out: &mut Findings) {
    if config.environments.is_empty() {
        out.error("environments", "at least one environment is required");
        return;
    }
    // Every word (name or alias, lowercased) -> the key that first claimed it.
    let mut claimed: HashMap<String, String> = HashMap::new();
    for (i, env) in config.environments.iter().enumerate() {
        let key = format!("environments[{i}].name");
        check_name(out, key.clone(), &env.name);
        if let Some(first) = claimed.insert(env.name.to_lowercase(), key.clone()) {
            out.error(
                key,
                format!("duplicate environment name `{}` (also {first})", env.name),
            );
        }
    }
    for (i, env) in config.environments.iter().enumerate() {
        let key = format!("environments[{i}].aliases");
        for alias in &env.aliases {
            let valid = alias
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !valid {
                out.error(
                    &key,
                    format!(
                        "`{alias}` is not a valid alias (a letter, then letters, digits or `-`)"
                    ),
                );
            } else if let Some(first) = claimed.insert(alias.to_lowercase(), key.clone()) {
                out.error(&key, format!("duplicate alias `{alias}` (also {first})"));
            }
        }
        environment(config, i, env, out);
    }
}

fn environment(config: &Config, i: usize, env: &Environment, out: &mut Findings) {
    let at = format!("environments[{i}]");
    let policy = &env.policy;
    if !config.plans.contains_key(&env.plan) {
        let hint = did_you_mean(&env.plan, config.plans.keys().map(String::as_str));
        out.error(
            format!("{at}.plan"),
            format!("unknown plan `{}`{hint}", env.plan),
        );
    }
    for action in Action::ALL {
        for role in policy.roles(action) {
            if !config.roles.contains_key(role) {
                let hint = did_you_mean(role, config.roles.keys().map(String::as_str));
                out.error(
                    format!("{at}.policy.{}", action.key()),
                    format!("unknown role `{role}`{hint}"),
                );
            }
        }
    }
    if let Some(from) = &policy.promote_from {
        let key = format!("{at}.policy.promote_from");
        match config.environment(from) {
            None => {
                let hint = did_you_mean(from, config.environment_words());
                out.error(key, format!("unknown environment `{from}`{hint}"));
            }
            Some(source) if source.name != *from => {
                out.error(
                    key,
                    format!(
                        "`{from}` is an alias; write the canonical name `{}`",
                        source.name
                    ),
                );
            }
            Some(_) if config.position(from).is_some_and(|p| p >= i) => {
                out.error(
                    key,
                    format!(
                        "`{from}` must come before `{}` in the promotion order",
                        env.name
                    ),
                );
            }
            Some(_) => {}
        }
    }
    if let Some(branch) = &policy.follow_branch
        && branch.trim().is_empty()
    {
        out.error(format!("{at}.policy.follow_branch"), "must not be empty");
    }
    let approvers = config
        .users
        .iter()
        .filter(|u| u.may(policy, Action::Approve))
        .count();
    if policy.approvals as usize > approvers {
        out.error(
            format!("{at}.policy.approvals"),
            format!(
                "{} approvals needed but only {approvers} user(s) may approve in `{}`: \
                 no change could ever start",
                policy.approvals, env.name
            ),
        );
    }
    if policy.deploy.is_empty() && policy.promote.is_empty() {
        out.warn(
            format!("{at}.policy.deploy"),
            format!("no role may deploy or promote to `{}`", env.name),
        );
    }
    // The last environment is the one users care most about; say so when it is unguarded.
    if i + 1 == config.environments.len() && config.environments.len() > 1 {
        if !policy.mfa {
            out.warn(
                format!("{at}.policy.mfa"),
                format!(
                    "`{}` is last in the promotion order (production-like) but needs no MFA",
                    env.name
                ),
            );
        }
        if policy.approvals == 0 {
            out.warn(
                format!("{at}.policy.approvals"),
                format!(
                    "`{}` is last in the promotion order (production-like) but needs no approval",
                    env.name
                ),
            );
        }
    }
}

fn services(config: &Config, out: &mut Findings) {
    if config.services.is_empty() {
        out.warn(
            "services",
            "no services are defined, so there is nothing to deploy",
        );
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, service) in config.services.iter().enumerate() {
        let key = format!("services[{i}].name");
        check_name(out, key.clone(), &service.name);
        if let Some(first) = seen.insert(&service.name, i) {
            out.error(
                key,
                format!(
                    "duplicate service `{}` (also services[{first}])",
                    service.name
                ),
            );
        }
    }
}

fn users(config: &Config, out: &mut Findings) {
    for name in config.roles.keys() {
        check_name(out, format!("roles.{name}"), name);
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, user) in config.users.iter().enumerate() {
        let at = format!("users[{i}]");
        check_name(out, format!("{at}.name"), &user.name);
        if let Some(first) = seen.insert(user.name.to_lowercase(), i) {
            out.error(
                format!("{at}.name"),
                format!("duplicate user `{}` (also users[{first}])", user.name),
            );
        }
        for role in &user.roles {
            if !config.roles.contains_key(role) {
                let hint = did_you_mean(role, config.roles.keys().map(String::as_str));
                out.error(
                    format!("{at}.roles"),
                    format!("unknown role `{role}`{hint}"),
                );
            }
        }
    }
}

fn plans(config: &Config, out: &mut Findings) {
    for (name, plan) in &config.plans {
        check_name(out, format!("plans.{name}"), name);
        plan_steps(&format!("plans.{name}"), plan, out);
        let at = format!("plans.{name}.analysis");
        let a = &plan.analysis;
        if !(0.0..=100.0).contains(&a.max_error_rate_percent) {
            out.error(
                format!("{at}.max_error_rate_percent"),
                "must be within 0..=100",
            );
        }
        if !(a.max_latency_increase_percent >= 0.0 && a.max_latency_increase_percent.is_finite()) {
            out.error(
                format!("{at}.max_latency_increase_percent"),
                "must be a non-negative number",
            );
        }
        if a.interval.is_zero() {
            out.error(format!("{at}.interval"), "must be longer than 0s");
        }
        if a.window.is_some_and(|w| w.is_zero()) {
            out.error(format!("{at}.window"), "must be longer than 0s");
        }
    }
}

fn plan_steps(at: &str, plan: &Plan, out: &mut Findings) {
    let key = format!("{at}.steps");
    let steps = &plan.steps;
    if let Some(bad) = steps.iter().find(|s| !(1..=100).contains(*s)) {
        out.error(
            key,
            format!("step {bad} is outside 1..=100 (percent of traffic)"),
        );
    } else if steps.windows(2).any(|w| w[0] >= w[1]) {
        out.error(key, format!("steps {steps:?} must be strictly increasing"));
    } else if steps.last() != Some(&100) {
        out.error(key, format!("steps {steps:?} must end at 100"));
    } else if plan.strategy == Strategy::AllAtOnce && steps.len() != 1 {
        out.error(key, "an all-at-once plan has the single step [100]");
    }
}

fn secrets(config: &Config, out: &mut Findings) {
    let mut seeds: HashMap<String, String> = HashMap::new();
    for (key, secret) in config.secrets() {
        match secret.source() {
            SecretSource::Inline if !config.bot.demo => out.warn(
                &key,
                "secret is written inline; use { env = \"VAR\" } outside demo mode",
            ),
            SecretSource::Env(var) if !secret.is_set() => {
                out.warn(&key, format!("environment variable `{var}` is not set"))
            }
            _ => {}
        }
        let Ok(value) = secret.expose() else { continue };
        if key == "discord.token" || key == "http.webhook_secret" || key.contains(".checks[") {
            continue;
        }
        if key == "mfa.encryption_key" {
            if value.len() != 64 || !value.chars().all(|c| c.is_ascii_hexdigit()) {
                out.error(&key, "must be 64 hex digits (32 bytes)");
            }
            continue;
        }
        // A TOTP seed: base32 (RFC 4648, any case as authenticator apps accept),
        // at least 128 bits, 160 recommended (RFC 4226).
        let seed = value.trim_end_matches('=');
        if !seed
            .chars()
            .all(|c| c.is_ascii_alphabetic() || ('2'..='7').contains(&c))
        {
            out.error(&key, "is not base32 (A-Z, 2-7)");
        } else if seed.len() * 5 < 128 {
            out.error(
                &key,
                format!(
                    "{} bits is too short; use at least 128 (160 recommended)",
                    seed.len() * 5
                ),
            );
        } else if seed.len() * 5 < 160 {
            out.warn(
                &key,
                format!("{} bits is short; 160 are recommended", seed.len() * 5),
            );
        }
        if let Some(first) = seeds.insert(seed.to_ascii_uppercase(), key.clone()) {
            out.warn(&key, format!("same TOTP secret as {first}"));
        }
    }
}

/// `cloud = "aws"` needs an `[aws]` section, which checks itself.
fn cloud(config: &Config, out: &mut Findings) {
    use super::model::CloudBackend;
    match (&config.cloud, &config.aws) {
        (CloudBackend::Aws, None) => out.error("aws", "cloud = \"aws\" needs an [aws] section"),
        (_, Some(aws)) => {
            let (errors, warnings) = super::aws::check(aws, config);
            out.errors.extend(errors);
            out.warnings.extend(warnings);
        }
        _ => {}
    }
    use super::model::ChatBackend;
    match (&config.chat, &config.discord) {
        (ChatBackend::Discord, None) => {
            out.error("discord", "chat = \"discord\" needs a [discord] section")
        }
        (_, Some(discord)) => {
            let (errors, warnings) = super::discord::check(discord, config);
            out.errors.extend(errors);
            out.warnings.extend(warnings);
        }
        _ => {}
    }
}

/// The webhook's transport limits: each must leave room for a real delivery.
fn http(config: &Config, out: &mut Findings) {
    let http = &config.http;
    if http.max_body_bytes == 0 {
        out.error(
            "http.max_body_bytes",
            "must be at least 1 (a build payload is a few hundred bytes)",
        );
    }
    let timeout = http.body_timeout;
    if timeout < std::time::Duration::from_millis(100)
        || timeout > std::time::Duration::from_secs(300)
    {
        out.error(
            "http.body_timeout",
            format!(
                "{} is outside 100ms..=5m",
                humantime::format_duration(timeout)
            ),
        );
    }
    if http.max_concurrent_hooks == 0 {
        out.error(
            "http.max_concurrent_hooks",
            "must be at least 1, or every delivery is refused",
        );
    }
}
