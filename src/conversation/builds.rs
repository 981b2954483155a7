//! Builds announced by CI (the build webhook): the agent records which image
//! and commit the version is, tells the notification channels, and deploys it
//! to every environment that follows the build's branch (seed 002: "dev
//! follows every push"). Following a branch is the environment owner's
//! standing consent, so such a deployment asks no confirmation and no TOTP
//! code; everything else still holds: the version rule, the lock, the
//! checklist and the engine's own refusals.

use std::sync::Arc;

use serde::Serialize;

use super::Agent;
use crate::gates::{self, CheckContext};
use crate::rollout::DeployRequest;
use crate::store::Build;

/// Who auto-deployments are recorded as in the history and the audit log.
pub const CI_USER: &str = "ci";

/// What the agent did with one environment following the build's branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoDeploy {
    pub env: String,
    /// The deployment's id, when one started.
    pub deployment: Option<i64>,
    /// Why not, when none started.
    pub refused: Option<String>,
}

impl Agent {
    /// The environments whose policy follows `branch`, in promotion order.
    pub fn following(&self, branch: &str) -> Vec<String> {
        self.config
            .environments
            .iter()
            .filter(|e| e.policy.follow_branch.as_deref() == Some(branch))
            .map(|e| e.name.clone())
            .collect()
    }

    /// Tells the notification channels of the build and deploys it where the
    /// branch is followed. Returns what happened per following environment.
    pub async fn build_arrived(self: &Arc<Self>, build: &Build) -> Vec<AutoDeploy> {
        let targets = self.following(&build.branch);
        let short = &build.commit[..build.commit.len().min(7)];
        // Announced where it lands: each following environment's channel, or,
        // when no environment follows the branch, the first environment's (where
        // builds start their way to production).
        let announce: Vec<String> = if targets.is_empty() {
            self.config
                .environments
                .iter()
                .take(1)
                .map(|e| e.name.clone())
                .collect()
        } else {
            targets.clone()
        };
        for env in announce {
            let text = self.render(
                "build.j2",
                serde_json::json!({
                    "kind": "built", "service": build.service, "version": build.version,
                    "branch": build.branch, "commit": short, "image": build.image,
                    "follows": targets.contains(&env), "env": env,
                }),
            );
            self.tell(&env, text).await;
        }
        let mut done = Vec::new();
        for env in targets {
            let outcome = self.auto_deploy(build, &env).await;
            done.push(outcome);
        }
        done
    }

    /// Deploys `build` to `env` without questions: the checklist, then the engine.
    async fn auto_deploy(self: &Arc<Self>, build: &Build, env: &str) -> AutoDeploy {
        let refused = |why: String| AutoDeploy {
            env: env.to_owned(),
            deployment: None,
            refused: Some(why),
        };
        let Some(environment) = self.config.environment(env) else {
            return refused(format!("{env} is not configured"));
        };
        if !environment.policy.versions.accepts(&build.version) {
            let why = format!(
                "{} takes only semantic versions, and {} is not one",
                env.to_uppercase(),
                build.version
            );
            self.say_refused(env, build, &why).await;
            return refused(why);
        }
        let (strategy, plan) = self.plan_for(env, None);
        let mut svc = self.service(env);
        svc.service = build.service.clone();
        let ctx = CheckContext {
            store: self.store.clone(),
            cloud: self.cloud.clone(),
            service: svc.service.clone(),
            version: build.version.clone(),
            source: None,
            target: env.to_owned(),
        };
        let checks = self.checks_for(env, false);
        let checklist = gates::run(&checks, &ctx, false).await;
        if !checklist.passed() {
            let failed: Vec<String> = checklist
                .failures()
                .map(|r| format!("{}: {}", r.name, r.reason))
                .collect();
            let why = format!("the checklist failed ({})", failed.join("; "));
            self.say_refused(env, build, &why).await;
            return refused(why);
        }
        let req = DeployRequest {
            svc,
            version: build.version.clone(),
            strategy,
            plan,
            requested_by: CI_USER.to_owned(),
            approvers: Vec::new(),
            emergency: false,
        };
        match self.engine.start(req).await {
            Ok(id) => {
                tracing::info!(deployment = id, %env, version = %build.version, "auto-deploying a build");
                AutoDeploy {
                    env: env.to_owned(),
                    deployment: Some(id),
                    refused: None,
                }
            }
            Err(e) => {
                let why = e.to_string();
                self.say_refused(env, build, &why).await;
                refused(why)
            }
        }
    }

    async fn say_refused(&self, env: &str, build: &Build, why: &str) {
        tracing::warn!(%env, version = %build.version, %why, "build not deployed");
        let text = self.render(
            "build.j2",
            serde_json::json!({
                "kind": "not_deployed", "service": build.service, "version": build.version,
                "env": env, "why": why,
            }),
        );
        self.tell(env, text).await;
    }

    /// Tells `env`'s notification channel, and the console (which has no
    /// notification channels; chat platforms drop messages to it), as the
    /// progress of a deployment nobody asked for in chat is shown.
    async fn tell(&self, env: &str, text: String) {
        self.say(crate::chat::console::CHANNEL, text.clone()).await;
        self.notify(env, text, Vec::new()).await;
    }

    /// Approval requests waiting, per environment (for `/metrics`).
    pub fn pending_approvals(&self) -> Vec<(String, u64)> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut per_env: std::collections::BTreeMap<String, u64> = self
            .config
            .environments
            .iter()
            .map(|e| (e.name.clone(), 0))
            .collect();
        for request in state.approvals.values() {
            *per_env
                .entry(request.prepared.req.svc.env.clone())
                .or_default() += 1;
        }
        per_env.into_iter().collect()
    }

    /// The store this agent records into (for the HTTP endpoints).
    pub fn store(&self) -> &crate::store::Store {
        &self.store
    }

    /// The configuration this agent runs with.
    pub fn config(&self) -> &crate::config::Config {
        &self.config
    }

    /// True when the chat platform is connected (for `/readyz`).
    pub fn chat_connected(&self) -> bool {
        self.chat.connected()
    }

    /// The rollout engine this agent drives (for `/readyz` and shutdown).
    pub fn engine(&self) -> &std::sync::Arc<crate::rollout::Engine> {
        &self.engine
    }
}
