//! Policy, mostly on the demo configuration (config/demo.toml): alice and bob
//! are deployers and approvers, carol may not change anything in prd, dave is
//! an admin. dev asks for nothing; prd asks for confirmation, a TOTP code, one
//! approval and a wait, and accepts semantic versions only. Behaviour that
//! depends on roles the demo may reshuffle (a developer in dev, a lock role
//! only admins hold) runs on [`fixture`], which pins them.

use std::time::Duration;

use switchyard::config::Config;
use switchyard::intent::Intent;
use switchyard::policy::{Refusal, Requirements, authorize, check_version, may_approve, may_deny};

/// Three environments, where erin is a developer (dev only) and only frank, an
/// admin, may lock prd.
fn fixture() -> Config {
    const TOML: &str = r#"
        [[environments]]
        name = "dev"
        [environments.policy]
        confirm = false
        deploy = ["developer", "deployer"]
        rollback = ["developer", "deployer"]
        lock = ["developer", "deployer"]

        [[environments]]
        name = "prd"
        [environments.policy]
        mfa = true
        approvals = 1
        versions = "semver"
        deploy = ["deployer"]
        promote = ["deployer"]
        rollback = ["deployer"]
        approve = ["deployer", "admin"]
        lock = ["admin"]

        [roles.developer]
        [roles.deployer]
        [roles.admin]

        [[users]]
        name = "erin"
        roles = ["developer"]
        [[users]]
        name = "grace"
        roles = ["deployer"]
        [[users]]
        name = "frank"
        roles = ["admin"]
    "#;
    Config::from_toml_str(TOML).expect("the fixture config is valid")
}

fn intent(text: &str) -> Intent {
    crate::grammar()
        .parse(text)
        .expect("the test command parses")
}

fn allowed_in(config: &Config, user: &str, text: &str) -> Requirements {
    match authorize(config, user, &intent(text)) {
        Ok(requirements) => requirements,
        Err(refusal) => panic!("{user}: {text:?} was refused: {refusal}"),
    }
}

fn refused_in(config: &Config, user: &str, text: &str) -> Refusal {
    match authorize(config, user, &intent(text)) {
        Ok(requirements) => panic!("{user}: {text:?} was allowed: {requirements:?}"),
        Err(refusal) => refusal,
    }
}

fn allowed(user: &str, text: &str) -> Requirements {
    allowed_in(&Config::demo(), user, text)
}

fn refused(user: &str, text: &str) -> Refusal {
    refused_in(&Config::demo(), user, text)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const NOTHING: Requirements = Requirements {
    confirm: false,
    mfa: false,
    approvals: 0,
    wait: Duration::ZERO,
    emergency: false,
};

#[test]
fn carol_may_not_deploy_to_prd_and_the_refusal_names_the_rule_and_who_could() {
    let refusal = refused("carol", "deploy 1.3.0 to prd");
    assert_eq!(refusal.rule, "environments.prd.policy.deploy");
    assert_eq!(refusal.who_could, names(&["alice", "bob", "dave"]));
    assert_eq!(
        refusal.to_string(),
        "carol may not deploy to prd: in prd only the roles deployer, admin may deploy \
         (alice, bob or dave could)."
    );
}

#[test]
fn alice_may_deploy_to_prd_after_confirmation_mfa_one_approval_and_the_wait() {
    assert_eq!(
        allowed("alice", "deploy 1.3.0 to prd"),
        Requirements {
            confirm: true,
            mfa: true,
            approvals: 1,
            wait: Duration::from_secs(5),
            emergency: false,
        }
    );
}

#[test]
fn a_deploy_to_dev_requires_nothing_and_user_names_match_in_any_case() {
    assert_eq!(allowed("alice", "deploy main-a1b2c3d to dev"), NOTHING);
    assert_eq!(allowed("Alice", "deploy latest to dev"), NOTHING);
    let config = fixture();
    assert_eq!(allowed_in(&config, "erin", "deploy latest to dev"), NOTHING);
}

#[test]
fn deploying_latest_to_prd_is_refused_by_the_version_rule() {
    let refusal = refused("alice", "deploy latest to prd");
    assert_eq!(refusal.rule, "environments.prd.policy.versions");
    assert!(refusal.who_could.is_empty(), "nobody could: {refusal:?}");
    assert!(
        refusal
            .to_string()
            .contains("prd accepts only semantic versions"),
        "{refusal}"
    );

    let branch = refused("alice", "deploy main-a1b2c3d-20250823143022 to prd");
    assert_eq!(branch.rule, "environments.prd.policy.versions");
    let promoted = refused("alice", "promote latest from tst to prd");
    assert_eq!(promoted.rule, "environments.prd.policy.versions");
}

#[test]
fn check_version_applies_each_environments_rule() {
    let config = Config::demo();
    assert!(check_version(&config, "prd", "1.3.0").is_ok());
    assert!(check_version(&config, "production", "2.0.0-rc.1").is_ok());
    assert!(check_version(&config, "dev", "latest").is_ok());
    let v = check_version(&config, "prd", "v1.3.0").unwrap_err();
    assert!(v.to_string().contains("write 1.3.0, without the v"), "{v}");
    let unknown = check_version(&config, "qa", "1.3.0").unwrap_err();
    assert_eq!(unknown.rule, "environments");
    assert!(unknown.to_string().contains("dev, tst, prd"), "{unknown}");
}

#[test]
fn nobody_approves_their_own_deployment_and_only_approvers_approve() {
    let config = Config::demo();
    let own = may_approve(&config, "alice", "prd", "alice").unwrap_err();
    assert_eq!(own.rule, "four_eyes");
    assert_eq!(own.who_could, names(&["bob", "dave"]));
    assert!(own.to_string().contains("their own deployment"), "{own}");
    assert_eq!(
        may_approve(&config, "Alice", "prd", "alice")
            .unwrap_err()
            .rule,
        "four_eyes",
        "names match in any case"
    );

    assert!(may_approve(&config, "bob", "prd", "alice").is_ok());

    let carol = may_approve(&config, "carol", "prd", "alice").unwrap_err();
    assert_eq!(carol.rule, "environments.prd.policy.approve");
    assert_eq!(carol.who_could, names(&["bob", "dave"]));

    let stranger = may_approve(&config, "mallory", "prd", "alice").unwrap_err();
    assert_eq!(stranger.rule, "users");
}

#[test]
fn the_requester_or_an_approver_may_deny_but_nobody_else() {
    let config = Config::demo();
    assert!(may_deny(&config, "alice", "prd", "alice").is_ok());
    assert!(may_deny(&config, "dave", "prd", "alice").is_ok());
    let carol = may_deny(&config, "carol", "prd", "bob").unwrap_err();
    assert_eq!(carol.rule, "environments.prd.policy.approve");
    assert_eq!(carol.who_could, names(&["alice", "bob", "dave"]));
}

#[test]
fn an_emergency_deploy_needs_the_emergency_role_and_keeps_mfa_and_approvals() {
    let refusal = refused("alice", "hotfix 1.3.1 to prd");
    assert_eq!(refusal.rule, "environments.prd.policy.emergency");
    assert_eq!(refusal.who_could, names(&["dave"]));

    assert_eq!(
        allowed("dave", "emergency deploy 1.3.1 to prd"),
        Requirements {
            confirm: true,
            mfa: true,
            approvals: 1,
            wait: Duration::ZERO,
            emergency: true,
        }
    );
    let not_semver = refused("dave", "hotfix latest to prd");
    assert_eq!(not_semver.rule, "environments.prd.policy.versions");
}

#[test]
fn an_unknown_user_may_only_read_help() {
    assert_eq!(allowed("mallory", "help"), NOTHING);
    assert_eq!(allowed("mallory", "help promote"), NOTHING);
    for text in [
        "status of prd",
        "history for prd",
        "mfa enroll",
        "deploy 1.3.0 to dev",
    ] {
        let refusal = refused("mallory", text);
        assert_eq!(refusal.rule, "users", "{text}");
    }
    let deploy = refused("mallory", "deploy 1.3.0 to prd");
    assert_eq!(deploy.who_could, names(&["alice", "bob", "dave"]));
    assert!(!deploy.to_string().contains("mallory"), "{deploy}");
}

#[test]
fn every_configured_user_may_read_and_enrol() {
    for text in [
        "status of prd",
        "history for prd",
        "show deployment metrics for last 7 days",
        "troubleshoot prd",
        "mfa enroll",
    ] {
        assert_eq!(allowed("carol", text), NOTHING, "{text}");
    }
}

#[test]
fn a_promotion_needs_the_targets_role_and_must_come_from_its_source() {
    assert_eq!(
        allowed("bob", "promote 1.3.0 from tst to prd"),
        allowed("bob", "deploy 1.3.0 to prd")
    );
    assert_eq!(
        refused("carol", "promote 1.3.0 from tst to prd").rule,
        "environments.prd.policy.promote"
    );

    let skipped = refused("bob", "promote 1.3.0 from dev to prd");
    assert_eq!(skipped.rule, "environments.prd.policy.promote_from");
    assert!(skipped.to_string().contains("from tst only"), "{skipped}");

    let backwards = refused("bob", "promote 1.3.0 from tst to dev");
    assert_eq!(backwards.rule, "environments.dev.policy.promote_from");
}

#[test]
fn a_dry_run_needs_the_role_and_version_but_nothing_else() {
    assert_eq!(allowed("alice", "deploy 1.3.0 to prd --dry-run"), NOTHING);
    assert_eq!(
        refused("carol", "deploy 1.3.0 to prd --dry-run").rule,
        "environments.prd.policy.deploy"
    );
    assert_eq!(
        refused("alice", "deploy latest to prd --dry-run").rule,
        "environments.prd.policy.versions"
    );
}

#[test]
fn a_rollback_to_the_standby_skips_approvals_but_one_to_a_named_version_does_not() {
    let standby = allowed("alice", "rollback prd");
    assert_eq!(
        (standby.confirm, standby.mfa, standby.approvals),
        (true, true, 0)
    );
    assert_eq!(standby.wait, Duration::ZERO);
    assert_eq!(allowed("alice", "rollback prd to 1.2.0").approvals, 1);
    assert_eq!(
        refused("carol", "rollback prd").rule,
        "environments.prd.policy.rollback"
    );
    assert_eq!(
        refused("alice", "rollback prd to main-a1b2c3d").rule,
        "environments.prd.policy.versions"
    );
}

#[test]
fn whoever_may_change_an_environment_may_abort_pause_and_resume_there() {
    let config = fixture();
    assert_eq!(
        allowed_in(&config, "erin", "abort the deployment on dev"),
        NOTHING
    );
    assert_eq!(allowed_in(&config, "grace", "pause prd"), NOTHING);
    assert_eq!(allowed_in(&config, "grace", "resume prd"), NOTHING);
    let refusal = refused_in(&config, "erin", "abort the deployment on prd");
    assert_eq!(
        refusal.rule,
        "environments.prd.policy.{deploy,promote,rollback,emergency}"
    );
    assert_eq!(refusal.who_could, names(&["grace"]));
    // Without an environment: erin operates in dev, so she passes for now;
    // frank changes nothing anywhere.
    assert_eq!(allowed_in(&config, "erin", "abort"), NOTHING);
    let frank = refused_in(&config, "frank", "pause");
    assert_eq!(
        frank.rule,
        "environments.*.policy.{deploy,promote,rollback,emergency}"
    );
    assert_eq!(frank.who_could, names(&["erin", "grace"]));
}

#[test]
fn only_the_lock_role_locks_and_unlocks() {
    let config = fixture();
    assert_eq!(
        allowed_in(&config, "frank", "lock prd because freeze"),
        NOTHING
    );
    assert_eq!(allowed_in(&config, "frank", "unlock prd"), NOTHING);
    assert_eq!(allowed_in(&config, "erin", "lock dev"), NOTHING);
    let refusal = refused_in(&config, "grace", "unlock prd");
    assert_eq!(refusal.rule, "environments.prd.policy.lock");
    assert_eq!(refusal.who_could, names(&["frank"]));
    assert_eq!(
        refusal.to_string(),
        "grace may not unlock prd: in prd only the role admin may lock and unlock (frank could)."
    );
}

#[test]
fn approving_needs_an_approve_role_somewhere() {
    assert_eq!(allowed("bob", "approve #3"), NOTHING);
    let refusal = refused("carol", "approve #3");
    assert_eq!(refusal.rule, "environments.*.policy.approve");
    assert_eq!(refusal.who_could, names(&["alice", "bob", "dave"]));
}
