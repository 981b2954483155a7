//! Who may do what where, and what a change must pass before it starts. Policy
//! reads only the configuration (`environments.*.policy`, `users`, `roles`), so
//! it is pure and answers before anything touches the store or the cloud: the
//! conversation asks [`authorize`] for every command, then collects what the
//! returned [`Requirements`] demand (confirmation, a TOTP code, approvals, a
//! wait) before the engine runs. Approvals are checked again per approver with
//! [`may_approve`], because only then is the requester known (four-eyes).
//!
//! A [`Refusal`] is meant for the person who asked: it names the configuration
//! key that refused (so an operator knows what to change) and who could do it
//! instead. Checks that need the world (is the version healthy in the source
//! environment, is the target locked) are the pre-promotion checklist's, in
//! [`crate::gates`].

mod approval;
mod authorize;
mod grants;
mod refusal;
mod versions;

use std::time::Duration;

use crate::config::{Action, Config, Environment};

pub use approval::{may_approve, may_deny};
pub use authorize::{authorize, may};
pub use refusal::Refusal;
pub use versions::check_version;

/// What must happen before an authorised command runs. `Requirements::default()`
/// is "nothing": read-only commands, dry runs, aborts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Requirements {
    /// Ask "are you sure?" first.
    pub confirm: bool,
    /// Ask the requester for a TOTP code.
    pub mfa: bool,
    /// Approvals needed from other users (see [`may_approve`]).
    pub approvals: u32,
    /// Pause between the last approval and the first traffic shift.
    pub wait: Duration,
    /// An emergency (hotfix) deployment: the checklist skips the checks marked
    /// skippable. Never lowers `mfa` or `approvals`.
    pub emergency: bool,
}

/// The users (login names, in configuration order) whose roles grant `action`
/// in `env`; e.g. whom to ask for an approval.
pub fn who_may(config: &Config, env: &Environment, action: Action) -> Vec<String> {
    who_may_any(config, env, &[action])
}

/// The users holding a role that grants any of `actions` in `env`.
fn who_may_any(config: &Config, env: &Environment, actions: &[Action]) -> Vec<String> {
    config
        .users
        .iter()
        .filter(|user| actions.iter().any(|&a| user.may(&env.policy, a)))
        .map(|user| user.name.clone())
        .collect()
}

/// The configuration key of one policy setting, as a refusal names it.
fn key(env: &Environment, setting: &str) -> String {
    format!("environments.{}.policy.{setting}", env.name)
}

/// The environment called `name`, or a refusal naming the ones that exist.
/// Intents carry canonical names already; this guards callers that do not.
fn environment<'c>(config: &'c Config, name: &str) -> Result<&'c Environment, Refusal> {
    config.environment(name).ok_or_else(|| {
        let known: Vec<&str> = config
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        Refusal::new(
            "environments",
            format!(
                "there is no environment called {}; the environments are {}",
                refusal::shown(name),
                known.join(", ")
            ),
            Vec::new(),
        )
    })
}
