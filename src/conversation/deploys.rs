//! Changes to an environment, from request to engine: deploy and promote (the
//! checklist, confirmation, TOTP, approvals, the wait timer), rollback, abort /
//! pause / resume, lock and unlock.
//!
//! The order is fixed and safe: policy first (nothing is said about an
//! environment to someone who may not touch it), then the checklist (nothing is
//! asked of a person when the change would be refused anyway), then the
//! questions, then approvals, then the engine. A deployment that waits for
//! approval already holds its environment (so a second request is refused as
//! busy), but moves nothing until the last approval and the wait timer.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::Agent;
use super::dialogue::Pending;
use crate::chat::{Incoming, Message};
use crate::cloud::ServiceRef;
use crate::config::Action as PolicyAction;
use crate::gates::{self, CheckContext, Outcome};
use crate::intent::{Intent, Strategy};
use crate::policy::{self, Requirements};
use crate::rollout::{DeployRequest, Prepared};

/// What a pending question will do once answered.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Action {
    Deploy {
        req: Box<DeployRequest>,
        requirements: Requirements,
        /// "PRD promotion", "TST deployment".
        label: String,
    },
    /// Back to the standby colour. (A rollback to a named version is a
    /// deployment of that version, so it is an `Action::Deploy`.)
    Rollback {
        svc: ServiceRef,
        requirements: Requirements,
    },
}

impl Action {
    pub fn describe(&self) -> String {
        match self {
            Action::Deploy { req, label, .. } => format!("{label} of {}", req.version),
            Action::Rollback { svc, .. } => format!("{} rollback", svc.env.to_uppercase()),
        }
    }
}

/// A deployment waiting for approvals. Kept in the store too, so that a
/// replica taking the deployment over keeps waiting for them.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ApprovalRequest {
    pub prepared: Prepared,
    pub channel: String,
    pub needed: u32,
    pub approvers: Vec<String>,
    pub wait: Duration,
}

#[derive(Serialize)]
struct CheckLine {
    mark: &'static str,
    name: String,
    reason: String,
}

impl Agent {
    /// `deploy` / `promote`: checklist, then the questions the target asks.
    pub(crate) async fn request_deployment(
        self: &Arc<Self>,
        msg: &Incoming,
        intent: Intent,
        requirements: Requirements,
    ) {
        let (version, target, source, strategy, dry_run, emergency) = match intent {
            Intent::Deploy {
                version,
                env,
                strategy,
                dry_run,
                emergency,
            } => (version.0, env.0, None, strategy, dry_run, emergency),
            Intent::Promote {
                version,
                from,
                to,
                strategy,
                dry_run,
            } => (version.0, to.0, Some(from.0), strategy, dry_run, false),
            _ => return,
        };
        let promote = source.is_some();
        let label = format!(
            "{} {}",
            target.to_uppercase(),
            if promote { "promotion" } else { "deployment" }
        );
        let (strategy, plan) = self.plan_for(&target, strategy);
        let svc = self.service(&target);
        let ctx = CheckContext {
            store: self.store.clone(),
            cloud: self.cloud.clone(),
            service: svc.service.clone(),
            version: version.clone(),
            source: source.clone(),
            target: target.clone(),
        };
        let title = if promote {
            format!(
                "Pre-promotion checklist ({} → {})",
                source.as_deref().unwrap_or("").to_uppercase(),
                target.to_uppercase()
            )
        } else {
            format!("Pre-deployment checklist ({})", target.to_uppercase())
        };
        let checks = self.checks_for(&target, promote);
        let live = super::checklist::Live {
            channel: &msg.channel,
            env: &target,
            title: &title,
        };
        let (checklist, shown_live) = self.run_checklist(live, &checks, &ctx, emergency).await;
        let failed = checklist
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .count();
        let lines: Vec<CheckLine> = checklist
            .results
            .iter()
            .map(|r| CheckLine {
                mark: super::checklist::mark(r.outcome),
                name: r.name.clone(),
                reason: r.reason.clone(),
            })
            .collect();
        // A dry run requires nothing itself, but shows what the real run would.
        let shown = if dry_run {
            let real = match &source {
                Some(from) => Intent::Promote {
                    version: crate::intent::Version(version.clone()),
                    from: crate::intent::EnvName(from.clone()),
                    to: crate::intent::EnvName(target.clone()),
                    strategy: Some(strategy),
                    dry_run: false,
                },
                None => Intent::Deploy {
                    version: crate::intent::Version(version.clone()),
                    env: crate::intent::EnvName(target.clone()),
                    strategy: Some(strategy),
                    dry_run: false,
                    emergency,
                },
            };
            policy::authorize(&self.config, &msg.user, &real).unwrap_or(requirements)
        } else {
            requirements
        };
        let requirements_shown = shown;
        let mut needs = Vec::new();
        if requirements_shown.mfa {
            needs.push("MFA verification".to_string());
        }
        if requirements_shown.approvals > 0 {
            needs.push(format!(
                "{} approval{} from another person",
                requirements_shown.approvals,
                if requirements_shown.approvals == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        if !requirements_shown.wait.is_zero() {
            needs.push(format!(
                "a wait of {} before traffic moves",
                humantime::format_duration(requirements_shown.wait)
            ));
        }
        needs.push(format!("{} deployment strategy", strategy));
        let steps: Vec<String> = plan.steps.iter().map(|p| format!("{p}%")).collect();
        let text = self.render(
            "checklist.j2",
            serde_json::json!({
                "title": title, "checks": lines, "passed": checklist.passed(), "failed": failed,
                "dry_run": dry_run, "strategy": strategy.as_str(), "steps": steps.join(" → "),
                "requirements": needs, "target": target, "noun": if promote { "promotion" } else { "deployment" },
            }),
        );
        // The verdict closes the live message of a slow checklist, if one was shown.
        self.send(Message {
            deployment: shown_live,
            ..Message::to_channel(&msg.channel, text)
        })
        .await;
        if !checklist.passed() || dry_run {
            return;
        }
        let req = DeployRequest {
            svc,
            version,
            strategy,
            plan,
            requested_by: msg.user.clone(),
            approvers: Vec::new(),
            emergency,
        };
        let action = Action::Deploy {
            req: Box::new(req),
            requirements,
            label,
        };
        self.ask_or_proceed(msg, action, requirements).await;
    }

    /// The checklist of a change to `target`: the built-in checks (source
    /// checks only for a promotion), the image check where the backend has a
    /// registry, then the target's configured checks in file order.
    pub(crate) fn checks_for(&self, target: &str, promote: bool) -> Vec<Box<dyn gates::Check>> {
        let mut checks = gates::builtin(promote);
        if let Some(images) = &self.registry.images {
            checks.push(Box::new(gates::ImageExists(images.clone())));
        }
        if let Some(env) = self.config.environment(target) {
            let providers = gates::providers::Providers {
                clock: self.clock,
                default_source: self.config.promotion_source(env).map(|e| e.name.clone()),
                scans: self.registry.scans.clone(),
            };
            checks.extend(gates::providers::configured(&env.checks, &providers));
        }
        checks
    }

    /// Asks the questions `requirements` demand, or goes straight on.
    async fn ask_or_proceed(
        self: &Arc<Self>,
        msg: &Incoming,
        action: Action,
        requirements: Requirements,
    ) {
        // A locked-out authenticator would refuse the code anyway: say so now,
        // before asking anything.
        if requirements.mfa
            && let Ok(Some(state)) = self.store.mfa(&msg.user.to_ascii_lowercase()).await
            && state.is_locked(self.clock.now_ms())
        {
            let refusal = crate::mfa::Refusal::LockedOut {
                until_ms: state.locked_until.unwrap_or_default(),
            };
            return self.refuse(&msg.channel, &refusal.to_string(), None).await;
        }
        if requirements.confirm {
            let timeout = humantime::format_duration(self.question_timeout).to_string();
            let text = self.render(
                "ask_confirm.j2",
                serde_json::json!({"what": action.describe(), "timeout": timeout}),
            );
            self.ask(
                msg,
                Pending::Confirm {
                    action,
                    mfa: requirements.mfa,
                },
                text,
            )
            .await;
        } else if requirements.mfa {
            self.ask_code(msg, action).await;
        } else {
            self.proceed(msg, action).await;
        }
    }

    /// The env's plan, or the plan named after the requested strategy.
    pub(crate) fn plan_for(
        &self,
        env: &str,
        strategy: Option<Strategy>,
    ) -> (Strategy, crate::config::Plan) {
        let plan_name = match strategy {
            Some(s) => s.as_str().to_string(),
            None => self
                .config
                .environment(env)
                .map(|e| e.plan.clone())
                .unwrap_or_else(|| "blue-green".into()),
        };
        let plan = self
            .config
            .plans
            .get(&plan_name)
            .cloned()
            .unwrap_or_default();
        (strategy.unwrap_or(plan.strategy), plan)
    }

    /// Every question answered: approvals next, or the wait timer and the engine.
    pub(crate) async fn proceed(self: &Arc<Self>, msg: &Incoming, action: Action) {
        match action {
            Action::Deploy {
                req,
                requirements,
                label,
            } => {
                self.arm_chaos(&req).await;
                let summary = format!("{label} of {} by {}", req.version, req.requested_by);
                let prepared = match self.engine.prepare(*req).await {
                    Ok(p) => p,
                    Err(e) => return self.refuse(&msg.channel, &e.to_string(), None).await,
                };
                self.remember_channel(prepared.id, &msg.channel).await;
                if requirements.approvals == 0 {
                    return self
                        .launch_after_wait(&msg.channel, prepared, requirements.wait)
                        .await;
                }
                let env = prepared.req.svc.env.clone();
                let approvers: Vec<String> = self
                    .config
                    .environment(&env)
                    .map(|e| policy::who_may(&self.config, e, PolicyAction::Approve))
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|u| *u != msg.user)
                    .collect();
                let id = prepared.id;
                let request = ApprovalRequest {
                    prepared,
                    channel: msg.channel.clone(),
                    needed: requirements.approvals,
                    approvers: Vec::new(),
                    wait: requirements.wait,
                };
                self.keep_approval_request(id, &request).await;
                self.state
                    .lock()
                    .expect("state lock")
                    .approvals
                    .insert(id, request);
                let text = self.render(
                    "approval.j2",
                    serde_json::json!({"kind": "requested", "id": id, "summary": summary, "needed": requirements.approvals, "approvers": approvers}),
                );
                self.send(Message {
                    mentions: approvers.clone(),
                    ..Message::to_channel(&msg.channel, text.clone())
                })
                .await;
                self.notify(&env, text, approvers).await;
                self.expire_approval(id, self.config.conversation.approval_timeout);
            }
            Action::Rollback { svc, .. } => match self.engine.rollback(&svc, &msg.user).await {
                Ok(done) => {
                    let text = self.render(
                        "reply.j2",
                        serde_json::json!({"kind": "rolled_back", "env": svc.env, "from_version": done.from_version, "to_version": done.to_version, "colour": done.colour.as_str()}),
                    );
                    self.say(&msg.channel, text).await;
                }
                Err(e) => self.refuse(&msg.channel, &e.to_string(), None).await,
            },
        }
    }

    /// An approval request that nobody answers lapses after
    /// `conversation.approval_timeout`, giving its environment back.
    fn expire_approval(self: &Arc<Self>, id: i64, after: Duration) {
        let agent = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let Some(agent) = agent.upgrade() else { return };
            let lapsed = agent
                .state
                .lock()
                .expect("state lock")
                .approvals
                .remove(&id);
            if let Some(request) = lapsed {
                agent.forget_approval_request(id).await;
                if let Err(e) = agent
                    .engine
                    .cancel(id, "the approval request expired")
                    .await
                {
                    tracing::warn!(error = %e, id, "could not cancel an expired approval request");
                }
                let text = agent.render(
                    "approval.j2",
                    serde_json::json!({"kind": "expired", "id": id}),
                );
                agent.say(&request.channel, text).await;
            }
        });
    }

    /// Records approval request `id` in the store, until it would lapse.
    async fn keep_approval_request(&self, id: i64, request: &ApprovalRequest) {
        let Ok(json) = serde_json::to_string(request) else {
            return;
        };
        let timeout = self.config.conversation.approval_timeout.as_millis() as i64;
        let until = self.clock.now_ms() + timeout;
        if let Err(e) = self.store.put_approval_request(id, &json, until).await {
            tracing::warn!(deployment = id, error = %e, "could not record an approval request");
        }
    }

    async fn forget_approval_request(&self, id: i64) {
        if let Err(e) = self.store.drop_approval_request(id).await {
            tracing::warn!(deployment = id, error = %e, "could not forget an approval request");
        }
    }

    /// Takes over the approval request of pending deployment `id`, whose
    /// replica is gone (the engine took its lease and said so): waits for
    /// the approvals still missing, until the request would have lapsed. A
    /// request that cannot be read gives the environment back.
    pub(super) async fn adopt_approval(self: &Arc<Self>, id: i64) {
        let now = self.clock.now_ms();
        let stored = self.store.approval_request(id, now).await.ok().flatten();
        let request = stored.as_ref().and_then(|(json, until)| {
            let request: ApprovalRequest = serde_json::from_str(json).ok()?;
            Some((request, *until))
        });
        let Some((mut request, until)) = request else {
            if let Err(e) = self
                .engine
                .cancel(id, "its approval request was lost")
                .await
            {
                tracing::warn!(deployment = id, error = %e, "could not cancel a deployment");
            }
            return;
        };
        // Approvals given before the takeover count.
        if let Ok(Some(d)) = self.store.deployment(id).await {
            request.approvers = d.approvers;
        }
        self.remember_channel(id, &request.channel).await;
        self.state
            .lock()
            .expect("state lock")
            .approvals
            .insert(id, request);
        let left = u64::try_from(until - now).unwrap_or(0);
        self.expire_approval(id, Duration::from_millis(left));
    }

    /// Where deployment `id`'s progress goes: remembered here, and in the
    /// store for a replica that takes the deployment over.
    async fn remember_channel(&self, id: i64, channel: &str) {
        self.state
            .lock()
            .expect("state lock")
            .channels
            .insert(id, channel.to_string());
        if let Err(e) = self.store.set_channel(id, channel).await {
            tracing::warn!(deployment = id, error = %e, "could not record the deployment's channel");
        }
    }

    /// Starts a prepared deployment after `wait` (seed 002's timer before
    /// production moves), announcing the wait.
    async fn launch_after_wait(
        self: &Arc<Self>,
        channel: &str,
        prepared: Prepared,
        wait: Duration,
    ) {
        if wait.is_zero() {
            if let Err(e) = self.engine.launch(prepared).await {
                self.refuse(channel, &e.to_string(), None).await;
            }
            return;
        }
        let text = self.render(
            "approval.j2",
            serde_json::json!({"kind": "waiting", "id": prepared.id, "wait": humantime::format_duration(wait).to_string()}),
        );
        self.say(channel, text).await;
        let (id, env) = (prepared.id, prepared.req.svc.env.clone());
        let agent = Arc::clone(self);
        let channel = channel.to_string();
        let task = tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            agent
                .state
                .lock()
                .expect("state lock")
                .waiting
                .remove(&prepared.req.svc.env);
            if let Err(e) = agent.engine.launch(prepared).await {
                agent.refuse(&channel, &e.to_string(), None).await;
            }
        });
        let mut state = self.state.lock().expect("state lock");
        state.waiting.insert(env, (id, task.abort_handle()));
        state.launching.push(task);
    }

    /// The approval request `id` names, or the only one pending in the channel.
    fn pick_approval(&self, channel: &str, id: Option<u64>) -> Result<i64, serde_json::Value> {
        let state = self.state.lock().expect("state lock");
        let here: Vec<i64> = state
            .approvals
            .iter()
            .filter(|(_, a)| a.channel == channel)
            .map(|(id, _)| *id)
            .collect();
        let pending: Vec<String> = here.iter().map(|id| format!("#{id}")).collect();
        match id {
            Some(id) if state.approvals.contains_key(&(id as i64)) => Ok(id as i64),
            Some(id) => Err(serde_json::json!({"kind": "none", "id": id, "pending": pending})),
            None if here.len() == 1 => Ok(here[0]),
            None if here.is_empty() => Err(serde_json::json!({"kind": "none", "pending": pending})),
            None => Err(serde_json::json!({"kind": "which", "pending": pending})),
        }
    }

    /// The approval request a line means, with its environment and requester;
    /// `None` after telling the speaker there is none, or which to name.
    async fn approval_in_question(
        &self,
        msg: &Incoming,
        id: Option<u64>,
    ) -> Option<(i64, String, String)> {
        match self.pick_approval(&msg.channel, id) {
            Ok(id) => {
                let state = self.state.lock().expect("state lock");
                let req = &state.approvals[&id].prepared.req;
                Some((id, req.svc.env.clone(), req.requested_by.clone()))
            }
            Err(view) => {
                self.say(&msg.channel, self.render("approval.j2", view))
                    .await;
                None
            }
        }
    }

    /// `approve [#id]`: four-eyes and the approve role, then count; the last
    /// approval starts the wait timer and the deployment.
    pub(crate) async fn approve(self: &Arc<Self>, msg: &Incoming, id: Option<u64>) {
        let Some((id, env, requested_by)) = self.approval_in_question(msg, id).await else {
            return;
        };
        if let Err(refusal) = policy::may_approve(&self.config, &msg.user, &env, &requested_by) {
            return self
                .refuse(&msg.channel, &refusal.to_string(), Some(&refusal.rule))
                .await;
        }
        if let Err(e) = self.store.add_approver(id, &msg.user).await {
            return self.refuse(&msg.channel, &e.to_string(), None).await;
        }
        let ready = {
            let mut state = self.state.lock().expect("state lock");
            let a = state.approvals.get_mut(&id).expect("picked above");
            // `msg.user` is the configured name (see `Agent::handle`), so a
            // second approval by the same person, in any spelling, is seen here.
            let kind = if a.approvers.contains(&msg.user) {
                "approved_again"
            } else {
                a.approvers.push(msg.user.clone());
                "approved"
            };
            let view = serde_json::json!({"kind": kind, "id": id, "by": msg.user, "have": a.approvers.len(), "needed": a.needed});
            let done = a.approvers.len() as u32 >= a.needed;
            (view, done.then(|| state.approvals.remove(&id)).flatten())
        };
        self.say(&msg.channel, self.render("approval.j2", ready.0))
            .await;
        if let Some(request) = ready.1 {
            self.forget_approval_request(id).await;
            self.launch_after_wait(&request.channel, request.prepared, request.wait)
                .await;
        }
    }

    /// `deny [#id] [because ...]`: the request ends, its environment is free.
    pub(crate) async fn deny(
        self: &Arc<Self>,
        msg: &Incoming,
        id: Option<u64>,
        reason: Option<String>,
    ) {
        let Some((id, env, requested_by)) = self.approval_in_question(msg, id).await else {
            return;
        };
        if let Err(refusal) = policy::may_deny(&self.config, &msg.user, &env, &requested_by) {
            return self
                .refuse(&msg.channel, &refusal.to_string(), Some(&refusal.rule))
                .await;
        }
        self.state.lock().expect("state lock").approvals.remove(&id);
        self.forget_approval_request(id).await;
        let why = format!(
            "denied by {}{}",
            msg.user,
            reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
        if let Err(e) = self.engine.cancel(id, &why).await {
            return self.refuse(&msg.channel, &e.to_string(), None).await;
        }
        let text = self.render(
            "approval.j2",
            serde_json::json!({"kind": "denied", "id": id, "by": msg.user, "reason": reason}),
        );
        self.say(&msg.channel, text).await;
    }

    /// `rollback ENV [to VERSION]`. To a named version it is a deployment of
    /// that version, with its checklist, approvals and wait timer (otherwise it
    /// would bring in an unapproved version); to the standby it shows what will
    /// happen, then asks.
    pub(crate) async fn request_rollback(
        self: &Arc<Self>,
        msg: &Incoming,
        env: &str,
        version: Option<String>,
        requirements: Requirements,
    ) {
        if let Some(version) = version {
            let deploy = Intent::Deploy {
                version: crate::intent::Version(version),
                env: crate::intent::EnvName(env.to_string()),
                strategy: None,
                dry_run: false,
                emergency: false,
            };
            return self.request_deployment(msg, deploy, requirements).await;
        }
        let svc = self.service(env);
        match self.standby_view(&svc).await {
            Ok(view) => self.say(&msg.channel, self.render("reply.j2", view)).await,
            Err(why) => return self.refuse(&msg.channel, &why, None).await,
        }
        let action = Action::Rollback { svc, requirements };
        self.ask_or_proceed(msg, action, requirements).await;
    }

    /// What a rollback would do: the live and standby colours and versions.
    async fn standby_view(&self, svc: &ServiceRef) -> Result<serde_json::Value, String> {
        // Checked before asking anything: a rollback undoes the last success.
        let last = self
            .store
            .history(Some(&svc.env), 1)
            .await
            .map_err(|e| e.to_string())?;
        match last.first() {
            Some(d) if d.state == crate::store::DeploymentState::Succeeded => {}
            Some(d) => {
                return Err(format!(
                    "nothing to roll back in {}: the last deployment (#{}, {}) is {}; `status {}` shows what runs",
                    svc.env,
                    d.id,
                    d.version,
                    d.state.as_str().replace('_', " "),
                    svc.env
                ));
            }
            None => {
                return Err(format!(
                    "nothing to roll back in {}: no deployment on record",
                    svc.env
                ));
            }
        }
        let weights = self
            .cloud
            .traffic
            .weights(svc)
            .await
            .map_err(|e| e.to_string())?;
        let live = weights.whole().ok_or_else(|| {
            format!(
                "{} is mid-deployment ({weights}); use `abort {}`",
                svc.env, svc.env
            )
        })?;
        let standby = live.other();
        let live_r = self
            .cloud
            .compute
            .readiness(svc, live)
            .await
            .map_err(|e| e.to_string())?;
        let standby_r = self
            .cloud
            .compute
            .readiness(svc, standby)
            .await
            .map_err(|e| e.to_string())?;
        // Ready, or scaled down on purpose (the rollback starts it again first).
        let scaled_down = standby_r.desired == 0;
        let Some(standby_version) = standby_r
            .version
            .clone()
            .filter(|_| standby_r.is_ready() || scaled_down)
        else {
            return Err(format!(
                "nothing to roll back to in {}: the standby colour ({standby}) is not running; name a version: `rollback {} to VERSION`",
                svc.env, svc.env
            ));
        };
        Ok(serde_json::json!({
            "kind": "rollback_plan", "env": svc.env, "live": live.as_str(), "standby": standby.as_str(),
            "live_version": live_r.version.unwrap_or_else(|| "-".into()), "standby_version": standby_version,
            "scaled_down": scaled_down,
        }))
    }

    /// `abort` / `pause` / `resume` [ENV]: without an environment, the one
    /// deployment running (refused when there are several).
    pub(crate) async fn control(&self, msg: &Incoming, what: &str, env: Option<String>) {
        let env = match env {
            Some(env) => env,
            None => match self.store.unfinished().await {
                Ok(running) if running.len() == 1 => running[0].env.clone(),
                Ok(running) if running.is_empty() => {
                    return self
                        .refuse(&msg.channel, "no deployment is running", None)
                        .await;
                }
                Ok(running) => {
                    let envs: Vec<String> = running.iter().map(|d| d.env.clone()).collect();
                    let text = format!(
                        "deployments are running in {}; say which: `{what} ENV`",
                        envs.join(", ")
                    );
                    return self.refuse(&msg.channel, &text, None).await;
                }
                Err(e) => return self.refuse(&msg.channel, &e.to_string(), None).await,
            },
        };
        // A deployment still in its wait timer has moved nothing: abort cancels it.
        let waiting = self.state.lock().expect("state lock").waiting.remove(&env);
        if let Some((id, timer)) = waiting {
            if what != "abort" {
                self.state
                    .lock()
                    .expect("state lock")
                    .waiting
                    .insert(env.clone(), (id, timer));
                let text = format!(
                    "#{id} has not started yet (it is in its wait timer); `abort {env}` cancels it"
                );
                return self.refuse(&msg.channel, &text, None).await;
            }
            timer.abort();
            let why = format!("aborted by {} before it started", msg.user);
            if let Err(e) = self.engine.cancel(id, &why).await {
                return self.refuse(&msg.channel, &e.to_string(), None).await;
            }
            let text = self.render(
                "dialogue.j2",
                serde_json::json!({"kind": "cancelled", "what": format!("#{id}")}),
            );
            return self.say(&msg.channel, text).await;
        }
        let result = match what {
            "abort" => self
                .engine
                .abort(&env, &msg.user)
                .await
                .map(|id| ("aborting", id)),
            "pause" => self.engine.pause(&env).await.map(|id| ("paused", id)),
            _ => self.engine.resume(&env).await.map(|id| ("resumed", id)),
        };
        match result {
            Ok((kind, id)) => {
                self.say(
                    &msg.channel,
                    self.render("reply.j2", serde_json::json!({"kind": kind, "id": id})),
                )
                .await
            }
            Err(e) => self.refuse(&msg.channel, &e.to_string(), None).await,
        }
    }

    pub(crate) async fn lock(&self, msg: &Incoming, env: &str, reason: Option<String>) {
        match self.engine.lock(env, &msg.user, reason.as_deref()).await {
            Ok(crate::store::LockOutcome::Locked) => {
                let view = serde_json::json!({"kind": "locked", "env": env, "by": msg.user, "reason": reason});
                let text = self.render("reply.j2", view);
                self.say(&msg.channel, text.clone()).await;
                self.notify(env, text, Vec::new()).await;
            }
            Ok(crate::store::LockOutcome::AlreadyLocked(lock)) => {
                let view = serde_json::json!({"kind": "already_locked", "env": env, "by": lock.locked_by, "reason": lock.reason});
                self.say(&msg.channel, self.render("reply.j2", view)).await;
            }
            Err(e) => self.refuse(&msg.channel, &e.to_string(), None).await,
        }
    }

    pub(crate) async fn unlock(&self, msg: &Incoming, env: &str) {
        match self.engine.unlock(env, &msg.user).await {
            Ok(removed) => {
                let kind = if removed { "unlocked" } else { "not_locked" };
                let text = self.render("reply.j2", serde_json::json!({"kind": kind, "env": env}));
                self.say(&msg.channel, text.clone()).await;
                if removed {
                    self.notify(env, text, Vec::new()).await;
                }
            }
            Err(e) => self.refuse(&msg.channel, &e.to_string(), None).await,
        }
    }
}
