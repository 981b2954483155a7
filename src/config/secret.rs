//! Secrets (TOTP seeds, encryption keys, later bot tokens) held in a type that never
//! prints: `Debug` and `Display` show `[redacted]`, so a secret cannot leak through a
//! log line, a panic message or `{:?}` of the whole config. A secret is written in
//! the file either inline (`"JBSW..."`, fine for the demo) or as `{ env = "VAR" }`,
//! read from the process environment when the config is loaded; an unset variable
//! is not an error until something calls [`Secret::expose`].

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

/// Looks up an environment variable; injected so tests need not mutate the
/// process environment (which is `unsafe` and racy in edition 2024).
pub type EnvLookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// The process environment as an [`EnvLookup`].
pub fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

/// Where a secret's value comes from. Safe to print: it names, never holds, the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the config file itself.
    Inline,
    /// Read from this environment variable at load time.
    Env(String),
}

/// A secret value that never appears in `Debug` or `Display` output.
#[derive(Clone)]
pub struct Secret {
    source: SecretSource,
    /// Always set for inline secrets; `None` for an env-var secret whose variable
    /// was unset (or empty) when the config was loaded.
    value: Option<String>,
}

/// Why a secret has no value to expose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable `{var}` is not set")]
    Unset { var: String },
}

impl Secret {
    /// A secret written inline in the config.
    pub fn inline(value: impl Into<String>) -> Secret {
        Secret {
            source: SecretSource::Inline,
            value: Some(value.into()),
        }
    }

    /// A secret read from `var` through `env` now; unset or empty leaves it without a value.
    pub fn from_env(var: impl Into<String>, env: &EnvLookup) -> Secret {
        let mut secret = Secret {
            source: SecretSource::Env(var.into()),
            value: None,
        };
        secret.resolve(env);
        secret
    }

    pub fn source(&self) -> &SecretSource {
        &self.source
    }

    /// True when the value is known (always for inline secrets).
    pub fn is_set(&self) -> bool {
        self.value.is_some()
    }

    /// The value, for the few places that must use it (TOTP, decryption, API calls).
    /// Never log or format what this returns.
    pub fn expose(&self) -> Result<&str, SecretError> {
        self.value.as_deref().ok_or_else(|| SecretError::Unset {
            var: match &self.source {
                SecretSource::Env(var) => var.clone(),
                SecretSource::Inline => String::new(),
            },
        })
    }

    /// Re-reads an env-var secret; deserialisation only records the variable name so
    /// that loading can choose the lookup (the process, or a test's map).
    pub(crate) fn resolve(&mut self, env: &EnvLookup) {
        if let SecretSource::Env(var) = &self.source {
            self.value = env(var).filter(|value| !value.is_empty());
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a secret: an inline string or { env = "VAR_NAME" }"#)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Secret, E> {
        if value.is_empty() {
            return Err(E::custom("a secret must not be empty"));
        }
        Ok(Secret::inline(value))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Secret, A::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FromEnv {
            env: String,
        }
        let FromEnv { env } = FromEnv::deserialize(de::value::MapAccessDeserializer::new(map))?;
        let valid = env.chars().next().is_some_and(|c| !c.is_ascii_digit())
            && env.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(de::Error::custom(format!(
                "`{env}` is not an environment variable name (letters, digits and `_`)"
            )));
        }
        // Resolved after deserialisation, see `Secret::resolve`.
        Ok(Secret {
            source: SecretSource::Env(env),
            value: None,
        })
    }
}
