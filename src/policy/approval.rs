//! Approving and denying a waiting deployment. Four-eyes is built in, not
//! configurable: the requester never approves their own change, whatever their
//! roles, because an approval exists to put a second person between an idea and
//! production. Denying is open to approvers and to the requester (withdrawing
//! their own request stops nothing that has started).

use crate::config::{Action, Config, Environment, User};

use super::refusal::Refusal;
use super::{environment, key, who_may};

/// Passes when `approver` may approve a deployment to `env` requested by
/// `requested_by`: they are someone else, and hold one of `env`'s approve roles.
pub fn may_approve(
    config: &Config,
    approver: &str,
    env: &str,
    requested_by: &str,
) -> Result<(), Refusal> {
    let env = environment(config, env)?;
    let others = approvers_other_than(config, env, requested_by);
    let Some(user) = config.user(approver) else {
        return Err(unknown(others));
    };
    if same_user(config, &user.name, requested_by) {
        return Err(Refusal::new(
            "four_eyes",
            format!(
                "{} may not approve their own deployment to {}: someone else must",
                user.name, env.name
            ),
            others,
        ));
    }
    if !user.may(&env.policy, Action::Approve) {
        return Err(role_refusal(user, env, "approve", others));
    }
    Ok(())
}

/// Passes when `user` may deny (cancel) a waiting deployment to `env` requested
/// by `requested_by`: they requested it, or hold one of `env`'s approve roles.
pub fn may_deny(config: &Config, user: &str, env: &str, requested_by: &str) -> Result<(), Refusal> {
    let env = environment(config, env)?;
    let mut could = who_may(config, env, Action::Approve);
    let requester = config
        .identify(requested_by)
        .map_or_else(|| requested_by.to_owned(), |id| id.into_string());
    if !could.iter().any(|n| same_user(config, n, &requester)) {
        could.push(requester);
    }
    let Some(user) = config.user(user) else {
        return Err(unknown(could));
    };
    if same_user(config, &user.name, requested_by) || user.may(&env.policy, Action::Approve) {
        return Ok(());
    }
    Err(role_refusal(user, env, "deny", could))
}

/// The approvers of `env` except the requester: who could approve instead.
fn approvers_other_than(config: &Config, env: &Environment, requested_by: &str) -> Vec<String> {
    let mut names = who_may(config, env, Action::Approve);
    names.retain(|name| !same_user(config, name, requested_by));
    names
}

/// One person, whatever the spelling (see [`Config::identify`]), so `Alice`
/// cannot approve `alice`'s deployment.
fn same_user(config: &Config, a: &str, b: &str) -> bool {
    config.same_person(a, b)
}

fn unknown(who_could: Vec<String>) -> Refusal {
    Refusal::new(
        "users",
        "this chat account is not a configured user, so it may not approve or deny deployments"
            .to_owned(),
        who_could,
    )
}

fn role_refusal(user: &User, env: &Environment, verb: &str, who_could: Vec<String>) -> Refusal {
    let roles: Vec<&str> = env.policy.approve.iter().map(String::as_str).collect();
    let message = if roles.is_empty() {
        format!(
            "{} may not {verb} deployments to {}: in {} nobody may approve",
            user.name, env.name, env.name
        )
    } else {
        format!(
            "{} may not {verb} deployments to {}: in {} only {} may approve",
            user.name,
            env.name,
            env.name,
            super::refusal::roles_phrase(&roles)
        )
    };
    Refusal::new(key(env, "approve"), message, who_could)
}
