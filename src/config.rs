//! The typed, validated configuration file: the bot, environments in promotion order
//! with their policies, services, roles, users, rollout plans, MFA and the store.
//! Loading is parse (serde, unknown keys rejected, the failing key path reported),
//! then resolving `{ env = "VAR" }` secrets, then cross-field validation into errors
//! and warnings. `check_*` return every finding for `switchyard check-config`;
//! `Config::load` and friends return a `Config` only when there are no errors.
//! `config/demo.toml` is the annotated reference for the format.

mod aws;
pub mod checks;
mod discord;
mod identity;
mod model;
mod plan;
mod secret;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use aws::Aws;
pub use checks::CheckSpec;
pub use discord::{Control, Discord, limits as discord_limits};
pub use identity::UserId;
pub use model::{
    Action, Bot, ChatBackend, CloudBackend, Config, Conversation, Engine, Environment, Http, Mfa,
    Policy, Reconcile, Recovery, Role, Service, Simulator, Store, User, VersionRule,
};
pub use plan::{Analysis, Inconclusive, Plan, Strategy};
pub use secret::{EnvLookup, Secret, SecretError, SecretSource, process_env};

/// The demo configuration, embedded so `switchyard demo` runs from any directory.
pub const DEMO_TOML: &str = include_str!("../config/demo.toml");

/// One finding about one key of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where: a key path such as `environments[1].policy.approve`, or `(file)` /
    /// `(toml)` when the problem is the file itself.
    pub key: String,
    pub message: String,
}

impl Diagnostic {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Everything `check-config` has to say about a file.
#[derive(Debug)]
pub struct Report {
    /// The config, present exactly when `errors` is empty.
    pub config: Option<Config>,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

impl Report {
    fn failed(error: Diagnostic) -> Report {
        Report {
            config: None,
            errors: vec![error],
            warnings: Vec::new(),
        }
    }

    /// The config, logging each warning through `tracing`; or the errors.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        for warning in &self.warnings {
            tracing::warn!(key = %warning.key, "config: {}", warning.message);
        }
        self.config.ok_or(ConfigError::Invalid {
            errors: self.errors,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid configuration:{}", list(errors))]
    Invalid { errors: Vec<Diagnostic> },
}

/// One indented line per diagnostic, for `ConfigError::Invalid`.
fn list(errors: &[Diagnostic]) -> String {
    errors.iter().map(|e| format!("\n  {e}")).collect()
}

impl Config {
    /// Parses and validates `text`, reading env-var secrets from the process.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        check_str(text).into_config()
    }

    /// Like [`Config::from_toml_str`] with env-var secrets read through `env`.
    pub fn from_toml_str_with(text: &str, env: &EnvLookup) -> Result<Config, ConfigError> {
        check_str_with(text, env).into_config()
    }

    /// Reads, parses and validates the file at `path`; a relative
    /// `bot.intents_dir` is resolved against the file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        check(&text, &process_env, path.parent()).into_config()
    }

    /// The embedded `config/demo.toml`.
    pub fn demo() -> Config {
        match Config::from_toml_str(DEMO_TOML) {
            Ok(config) => config,
            Err(error) => panic!("the embedded config/demo.toml is invalid: {error}"),
        }
    }
}

/// Every finding about `text`, with env-var secrets read from the process.
pub fn check_str(text: &str) -> Report {
    check_str_with(text, &process_env)
}

/// Every finding about `text`, with env-var secrets read through `env`.
pub fn check_str_with(text: &str, env: &EnvLookup) -> Report {
    check(text, env, None)
}

/// Every finding about the file at `path`; an unreadable file is one error keyed `(file)`.
pub fn check_file(path: &Path) -> Report {
    match std::fs::read_to_string(path) {
        Ok(text) => check(&text, &process_env, path.parent()),
        Err(error) => Report::failed(Diagnostic::new(
            "(file)",
            format!("cannot read {}: {error}", path.display()),
        )),
    }
}

fn check(text: &str, env: &EnvLookup, base: Option<&Path>) -> Report {
    let mut config = match parse(text) {
        Ok(config) => config,
        Err(error) => return Report::failed(error),
    };
    for (name, plan) in Plan::builtin() {
        config.plans.entry(name).or_insert(plan);
    }
    for secret in config.secrets_mut() {
        secret.resolve(env);
    }
    config.spell_users_as_configured();
    if let (Some(base), Some(dir)) = (base, &mut config.bot.intents_dir)
        && dir.is_relative()
    {
        *dir = base.join(&*dir);
    }
    validate::validate(config)
}

/// Deserialises, reporting the key path of the first failure and toml's position.
fn parse(text: &str) -> Result<Config, Diagnostic> {
    let position = |span: Option<std::ops::Range<usize>>| match span {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!(" (line {line}, column {column})")
        }
        None => String::new(),
    };
    let deserializer = toml::Deserializer::parse(text)
        .map_err(|e| Diagnostic::new("(toml)", format!("{}{}", e.message(), position(e.span()))))?;
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let key = if path == "." {
            "(toml)".to_owned()
        } else {
            path
        };
        let inner = error.inner();
        Diagnostic::new(
            key,
            format!("{}{}", inner.message(), position(inner.span())),
        )
    })
}
