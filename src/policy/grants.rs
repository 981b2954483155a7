//! Role grants: whether one of a user's roles allows an action, in one
//! environment or in any, and otherwise the refusal that says which key
//! decided, which roles would do and who holds them.

use crate::config::{Action, Config, Environment, User};

use super::refusal::{Refusal, or_list, roles_phrase};
use super::{key, who_may_any};

/// Passes when one of `user`'s roles grants one of `actions` in `env`.
/// `doing` completes "carol may not ...".
pub(super) fn grant(
    config: &Config,
    user: &User,
    env: &Environment,
    actions: &[Action],
    doing: &str,
) -> Result<(), Refusal> {
    if actions.iter().any(|&a| user.may(&env.policy, a)) {
        return Ok(());
    }
    let mut roles: Vec<&str> = Vec::new();
    for &action in actions {
        for role in env.policy.roles(action) {
            if !roles.contains(&role.as_str()) {
                roles.push(role);
            }
        }
    }
    let verbs = verbs_of(actions);
    let message = if roles.is_empty() {
        format!(
            "{} may not {doing}: in {} nobody may {verbs}",
            user.name, env.name
        )
    } else {
        format!(
            "{} may not {doing}: in {} only {} may {verbs}",
            user.name,
            env.name,
            roles_phrase(&roles)
        )
    };
    let who = who_may_any(config, env, actions);
    Err(Refusal::new(key(env, &setting(actions)), message, who))
}

/// Passes when one of `user`'s roles grants one of `actions` in some environment.
pub(super) fn anywhere(
    config: &Config,
    user: &User,
    actions: &[Action],
    doing: &str,
) -> Result<(), Refusal> {
    let granted = |u: &User| {
        config
            .environments
            .iter()
            .any(|env| actions.iter().any(|&a| u.may(&env.policy, a)))
    };
    if granted(user) {
        return Ok(());
    }
    let rule = format!("environments.*.policy.{}", setting(actions));
    let who: Vec<String> = config
        .users
        .iter()
        .filter(|u| granted(u))
        .map(|u| u.name.clone())
        .collect();
    let message = format!(
        "{} may not {doing}: none of their roles may {} in any environment",
        user.name,
        verbs_of(actions)
    );
    Err(Refusal::new(rule, message, who))
}

/// The policy key of `actions`: `deploy`, or `{deploy,promote}` for several
/// (brace expansion, as operators read it in shells).
fn setting(actions: &[Action]) -> String {
    match actions {
        [one] => one.key().to_owned(),
        _ => {
            let keys: Vec<&str> = actions.iter().map(|a| a.key()).collect();
            format!("{{{}}}", keys.join(","))
        }
    }
}

fn verb_of(action: Action) -> &'static str {
    match action {
        Action::Deploy => "deploy",
        Action::Promote => "promote",
        Action::Rollback => "roll back",
        Action::Approve => "approve",
        Action::Lock => "lock and unlock",
        Action::Emergency => "make emergency deployments",
    }
}

/// "deploy, promote or roll back".
fn verbs_of(actions: &[Action]) -> String {
    let verbs: Vec<String> = actions.iter().map(|&a| verb_of(a).to_owned()).collect();
    or_list(&verbs)
}
