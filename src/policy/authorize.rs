//! [`authorize`]: may this user run this intent, and what must happen first.
//!
//! Decisions that the configuration does not spell out:
//! - Reading (status, history, metrics, troubleshoot) and MFA enrolment are open
//!   to every configured user; `help` is open to anyone, configured or not.
//! - An emergency deploy needs the environment's `emergency` role (not `deploy`),
//!   skips the wait timer and the skippable checks, and keeps confirmation, MFA
//!   and approvals.
//! - A promotion needs the target's `promote` role and must come from the
//!   target's promotion source (`promote_from`, else the previous environment).
//! - A rollback to the standby version needs confirmation and MFA as the
//!   environment demands, but no approvals and no wait: it returns to what ran
//!   before, and waiting for a second person prolongs an incident. A rollback
//!   to a named version can bring back any accepted version, so it also needs
//!   the environment's approvals.
//! - Abort, pause and resume are open to anyone holding the environment's
//!   `deploy`, `promote`, `rollback` or `emergency` role: whoever may change an
//!   environment may stop a change there. They need nothing further: stopping
//!   must be fast, and resuming continues a change already confirmed.
//! - Approve needs an `approve` role somewhere; deny needs an `approve` role or a
//!   role that changes an environment (the requester withdrawing their own
//!   request). Which deployment is meant is known only later: call
//!   [`super::may_approve`] / [`super::may_deny`] then.
//! - A dry run needs the same role and version as the real command, and nothing
//!   else, since it changes nothing.

use std::time::Duration;

use crate::config::{Action, Config, Environment, User};
use crate::intent::{EnvName, Intent, Version};

use super::grants::{anywhere, grant};
use super::refusal::Refusal;
use super::versions::check_version_in;
use super::{Requirements, environment, key};

/// The roles whose holders may change an environment, and so stop a change in it.
const OPERATE: [Action; 4] = [
    Action::Deploy,
    Action::Promote,
    Action::Rollback,
    Action::Emergency,
];

/// Decides whether `user` (a login name, any case) may run `intent`, and what
/// must happen before it runs. For abort, pause and resume without an
/// environment this only checks the user may operate somewhere: authorise again
/// once the conversation knows which environment is meant.
pub fn authorize(config: &Config, user: &str, intent: &Intent) -> Result<Requirements, Refusal> {
    if matches!(intent, Intent::Help { .. }) {
        return Ok(Requirements::default());
    }
    match config.user(user) {
        Some(user) => decide(config, user, intent),
        None => Err(unknown_user(config, intent)),
    }
}

/// Passes when `user` holds a role granting `action` in the environment
/// called `env`: for a command outside the grammar (the demo's `chaos`) that
/// needs the same right as one inside it. `doing` completes "carol may not ...".
pub fn may(
    config: &Config,
    user: &str,
    env: &str,
    action: Action,
    doing: &str,
) -> Result<(), Refusal> {
    let env = environment(config, env)?;
    match config.user(user) {
        Some(user) => grant(config, user, env, &[action], doing),
        None => Err(Refusal::new(
            "users",
            "this chat account is not a configured user".to_owned(),
            super::who_may(config, env, action),
        )),
    }
}

fn decide(config: &Config, user: &User, intent: &Intent) -> Result<Requirements, Refusal> {
    let nothing = Requirements::default();
    match intent {
        Intent::Help { .. } | Intent::MfaEnroll {} => Ok(nothing),
        Intent::Status { env }
        | Intent::History { env, .. }
        | Intent::Metrics { env, .. }
        | Intent::Troubleshoot { env } => {
            if let Some(env) = env {
                environment(config, &env.0)?;
            }
            Ok(nothing)
        }
        Intent::Deploy {
            version,
            env,
            dry_run,
            emergency,
            ..
        } => deploy(config, user, env, version, *dry_run, *emergency),
        Intent::Promote {
            version,
            from,
            to,
            dry_run,
            ..
        } => promote(config, user, version, from, to, *dry_run),
        Intent::Rollback { env, version } => rollback(config, user, env, version.as_ref()),
        Intent::Abort { env } => operate(config, user, env.as_ref(), "abort"),
        Intent::Pause { env } => operate(config, user, env.as_ref(), "pause"),
        Intent::Resume { env } => operate(config, user, env.as_ref(), "resume"),
        Intent::Lock { env, .. } | Intent::Unlock { env } => {
            let verb = if matches!(intent, Intent::Lock { .. }) {
                "lock"
            } else {
                "unlock"
            };
            let env = environment(config, &env.0)?;
            grant(
                config,
                user,
                env,
                &[Action::Lock],
                &format!("{verb} {}", env.name),
            )?;
            Ok(nothing)
        }
        Intent::Approve { .. } => {
            anywhere(config, user, &[Action::Approve], "approve deployments")?;
            Ok(nothing)
        }
        Intent::Deny { .. } => {
            let [a, b, c, d] = OPERATE;
            anywhere(
                config,
                user,
                &[Action::Approve, a, b, c, d],
                "deny deployments",
            )?;
            Ok(nothing)
        }
    }
}

fn deploy(
    config: &Config,
    user: &User,
    env: &EnvName,
    version: &Version,
    dry_run: bool,
    emergency: bool,
) -> Result<Requirements, Refusal> {
    let env = environment(config, &env.0)?;
    if emergency {
        let doing = format!("make an emergency deployment to {}", env.name);
        grant(config, user, env, &[Action::Emergency], &doing)?;
    } else {
        grant(
            config,
            user,
            env,
            &[Action::Deploy],
            &format!("deploy to {}", env.name),
        )?;
    }
    check_version_in(env, &version.0)?;
    Ok(change(env, dry_run, emergency))
}

fn promote(
    config: &Config,
    user: &User,
    version: &Version,
    from: &EnvName,
    to: &EnvName,
    dry_run: bool,
) -> Result<Requirements, Refusal> {
    let target = environment(config, &to.0)?;
    let source = environment(config, &from.0)?;
    grant(
        config,
        user,
        target,
        &[Action::Promote],
        &format!("promote to {}", target.name),
    )?;
    match config.promotion_source(target) {
        Some(expected) if expected.name == source.name => {}
        Some(expected) => {
            return Err(Refusal::new(
                key(target, "promote_from"),
                format!(
                    "{} takes promotions from {} only, not from {}",
                    target.name, expected.name, source.name
                ),
                Vec::new(),
            ));
        }
        None => {
            return Err(Refusal::new(
                key(target, "promote_from"),
                format!(
                    "{} is first in the promotion order, so nothing is promoted into it; \
                     deploy to it instead",
                    target.name
                ),
                Vec::new(),
            ));
        }
    }
    check_version_in(target, &version.0)?;
    Ok(change(target, dry_run, false))
}

fn rollback(
    config: &Config,
    user: &User,
    env: &EnvName,
    version: Option<&Version>,
) -> Result<Requirements, Refusal> {
    let env = environment(config, &env.0)?;
    grant(
        config,
        user,
        env,
        &[Action::Rollback],
        &format!("roll back {}", env.name),
    )?;
    if let Some(version) = version {
        check_version_in(env, &version.0)?;
    }
    let policy = &env.policy;
    Ok(Requirements {
        confirm: policy.confirm,
        mfa: policy.mfa,
        approvals: if version.is_some() {
            policy.approvals
        } else {
            0
        },
        wait: Duration::ZERO,
        emergency: false,
    })
}

/// Abort, pause or resume: `verb` names the command in a refusal.
fn operate(
    config: &Config,
    user: &User,
    env: Option<&EnvName>,
    verb: &str,
) -> Result<Requirements, Refusal> {
    match env {
        Some(env) => {
            let env = environment(config, &env.0)?;
            let doing = format!("{verb} the deployment on {}", env.name);
            grant(config, user, env, &OPERATE, &doing)?;
        }
        None => anywhere(config, user, &OPERATE, &format!("{verb} deployments"))?,
    }
    Ok(Requirements::default())
}

/// What a deploy or promotion into `env` demands.
fn change(env: &Environment, dry_run: bool, emergency: bool) -> Requirements {
    if dry_run {
        // Still flagged, so the dry run's checklist shows what would be skipped.
        return Requirements {
            emergency,
            ..Requirements::default()
        };
    }
    let policy = &env.policy;
    Requirements {
        confirm: policy.confirm,
        mfa: policy.mfa,
        approvals: policy.approvals,
        wait: if emergency {
            Duration::ZERO
        } else {
            policy.wait_timer
        },
        emergency,
    }
}

/// Refuses a user the configuration does not know. Who could is worked out by
/// asking the same question for a user without roles: the refusal that one
/// gets names the people who could.
fn unknown_user(config: &Config, intent: &Intent) -> Refusal {
    let nobody = User {
        name: "someone".to_owned(),
        display_name: None,
        roles: Vec::new(),
        totp_secret: None,
    };
    let who_could = match decide(config, &nobody, intent) {
        Err(refusal) => refusal.who_could,
        Ok(_) => Vec::new(),
    };
    // The configured names are not listed: an unknown account learns only
    // whom to ask for what it tried.
    let message = "this chat account is not a configured user, so it may only ask for help; \
                   an admin can add it under [[users]]"
        .to_owned();
    Refusal::new("users", message, who_could)
}
