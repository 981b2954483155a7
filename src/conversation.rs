//! The conversation: what the agent does with each line someone types.
//!
//! One [`Agent`] serves every channel. Per (channel, user) it remembers at most
//! one pending question (a confirmation, a TOTP code, an enrolment code), which
//! expires; per environment at most one approval request, which any other
//! permitted user may answer. A line that answers the speaker's own pending
//! question is taken as the answer; anything else is read as a new command.
//! Every command goes through the grammar, then policy, then (for changes) the
//! checklist, the questions the environment's policy asks, approvals and the
//! wait timer, and only then the engine. Progress events from the engine are
//! rendered and streamed to the channel the deployment was requested from.

mod builds;
mod chaos;
mod checklist;
mod deploys;
pub mod dialogue;
mod progress;
mod routing;
mod views;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::chat::{ChatPort, Incoming, Message};
use crate::clock::Clock;
use crate::cloud::sim::Sim;
use crate::cloud::{Cloud, ServiceRef};
use crate::config::Config;
use crate::intent::{Grammar, Intent, IntentKind};
use crate::mfa::Mfa;
use crate::render::Renderer;
use crate::rollout::Engine;
use crate::store::Store;

pub use builds::{AutoDeploy, CI_USER};
pub use dialogue::Pending;
pub use views::status_view;

/// The agent and everything it talks to.
pub struct Agent {
    pub(crate) config: Config,
    pub(crate) grammar: Grammar,
    pub(crate) renderer: Renderer,
    pub(crate) engine: Arc<Engine>,
    pub(crate) store: Store,
    pub(crate) cloud: Cloud,
    pub(crate) mfa: Mfa,
    pub(crate) chat: Arc<dyn ChatPort>,
    pub(crate) clock: Clock,
    /// The simulator, when the agent runs the demo: enables `chaos` and the demo
    /// authenticator.
    pub(crate) sim: Option<Sim>,
    /// The registry the image check asks, when the backend has one.
    pub(crate) registry: crate::gates::Registry,
    pub(crate) question_timeout: Duration,
    pub(crate) state: Mutex<State>,
    /// Events the progress stream has shown (see [`Agent::settle`]).
    pub(crate) events_shown: std::sync::atomic::AtomicUsize,
}

/// What the agent remembers between lines.
#[derive(Default)]
pub(crate) struct State {
    /// The pending question of each (channel, user), with the number that
    /// identifies it for its expiry timer.
    pub dialogues: HashMap<(String, String), (u64, Pending)>,
    /// Approval requests by deployment id.
    pub approvals: BTreeMap<i64, deploys::ApprovalRequest>,
    /// Which channel asked for each deployment, for its progress.
    pub channels: HashMap<i64, String>,
    /// Faults to inject into the next deployment per environment (demo only).
    pub chaos: HashMap<String, crate::cloud::sim::Fault>,
    pub next_question: u64,
    /// Deployments waiting out their wait timer before they launch.
    pub launching: Vec<tokio::task::JoinHandle<()>>,
    /// Deployments in their wait timer, by environment: `abort ENV` cancels them.
    pub waiting: HashMap<String, (i64, tokio::task::AbortHandle)>,
}

/// Everything the agent needs to be built.
pub struct Parts {
    pub config: Config,
    pub grammar: Grammar,
    pub engine: Arc<Engine>,
    pub store: Store,
    pub cloud: Cloud,
    pub mfa: Mfa,
    pub chat: Arc<dyn ChatPort>,
    pub clock: Clock,
    pub sim: Option<Sim>,
    pub registry: crate::gates::Registry,
    pub question_timeout: Duration,
}

impl Agent {
    /// Builds the agent and starts streaming the engine's progress to chat.
    pub fn start(parts: Parts) -> Arc<Agent> {
        let events = parts.engine.subscribe();
        let agent = Arc::new(Agent {
            config: parts.config,
            grammar: parts.grammar,
            renderer: Renderer::new(),
            engine: parts.engine,
            store: parts.store,
            cloud: parts.cloud,
            mfa: parts.mfa,
            chat: parts.chat,
            clock: parts.clock,
            sim: parts.sim,
            registry: parts.registry,
            question_timeout: parts.question_timeout,
            state: Mutex::new(State::default()),
            events_shown: std::sync::atomic::AtomicUsize::new(0),
        });
        progress::stream(Arc::downgrade(&agent), events);
        agent
    }

    /// Handles one line: answers a pending question or runs a command. Returns
    /// when every reply to it has been sent (progress of a deployment it started
    /// keeps streaming afterwards).
    ///
    /// The speaker is identified here, once: from then on the line speaks as
    /// the configured user (`@BOB:` is `bob`), so every comparison (four-eyes,
    /// counting approvals, whose question this answers) and every record
    /// (history, audit, approvers) sees one name per person.
    pub async fn handle(self: &Arc<Self>, msg: Incoming) {
        let msg = match self.config.identify(&msg.user) {
            Some(user) => Incoming {
                user: user.into_string(),
                ..msg
            },
            None => return self.handle_stranger(&msg).await,
        };
        if self.answer_pending(&msg).await {
            return;
        }
        if self.demo_helpers() && chaos::is_chaos(&msg.text) {
            return self.chaos(&msg).await;
        }
        if self.demo_helpers() && chaos::is_code_request(&msg.text) {
            return self.demo_code(&msg).await;
        }
        match self.grammar.parse(&msg.text) {
            Ok(intent) => self.run(&msg, intent).await,
            // "yes" or a code with no question pending: say that, not "unknown command".
            Err(_)
                if dialogue::yes_or_no(&msg.text).is_some()
                    || dialogue::looks_like_code(&msg.text) =>
            {
                let view = serde_json::json!({"kind": "no_question", "user": msg.user});
                self.say(&msg.channel, self.render("dialogue.j2", view))
                    .await;
            }
            Err(e) => self.say(&msg.channel, self.renderer.parse_error(&e)).await,
        }
    }

    /// Someone not in the configuration may read help, and nothing else.
    async fn handle_stranger(&self, msg: &Incoming) {
        match self.grammar.parse(&msg.text) {
            Ok(Intent::Help { topic }) => {
                let text = self.renderer.help(
                    &self.grammar,
                    topic.as_deref().and_then(IntentKind::from_name),
                );
                self.say(&msg.channel, text).await;
            }
            _ => {
                let text = self.render(
                    "dialogue.j2",
                    serde_json::json!({"kind": "unknown_user", "user": msg.user}),
                );
                self.say(&msg.channel, text).await;
            }
        }
    }

    async fn run(self: &Arc<Self>, msg: &Incoming, intent: Intent) {
        let refused = crate::policy::authorize(&self.config, &msg.user, &intent);
        let requirements = match refused {
            Ok(r) => r,
            Err(refusal) => {
                return self
                    .refuse(&msg.channel, &refusal.to_string(), Some(&refusal.rule))
                    .await;
            }
        };
        match intent {
            Intent::Deploy { .. } | Intent::Promote { .. } => {
                self.request_deployment(msg, intent, requirements).await
            }
            Intent::Rollback { env, version } => {
                self.request_rollback(msg, &env.0, version.map(|v| v.0), requirements)
                    .await
            }
            Intent::Approve { id } => self.approve(msg, id).await,
            Intent::Deny { id, reason } => self.deny(msg, id, reason).await,
            Intent::Abort { env } => self.control(msg, "abort", env.map(|e| e.0)).await,
            Intent::Pause { env } => self.control(msg, "pause", env.map(|e| e.0)).await,
            Intent::Resume { env } => self.control(msg, "resume", env.map(|e| e.0)).await,
            Intent::Lock { env, reason } => self.lock(msg, &env.0, reason).await,
            Intent::Unlock { env } => self.unlock(msg, &env.0).await,
            Intent::Status { env } => self.status(msg, env.map(|e| e.0)).await,
            Intent::History { env, limit } => self.history(msg, env.map(|e| e.0), limit).await,
            Intent::Metrics { env, days } => self.metrics(msg, env.map(|e| e.0), days).await,
            Intent::Troubleshoot { env } => self.troubleshoot(msg, env.map(|e| e.0)).await,
            Intent::Help { topic } => {
                let text = self.renderer.help(
                    &self.grammar,
                    topic.as_deref().and_then(IntentKind::from_name),
                );
                self.say(&msg.channel, text).await;
            }
            Intent::MfaEnroll {} => self.enroll(msg).await,
        }
    }

    /// The service commands act on: the first configured one (commands do not
    /// name a service yet).
    pub(crate) fn service(&self, env: &str) -> ServiceRef {
        let name = self
            .config
            .services
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_else(|| "app".into());
        ServiceRef::new(env, name)
    }

    pub(crate) fn render(&self, template: &str, view: impl Serialize) -> String {
        self.renderer.render(template, view)
    }

    pub(crate) async fn say(&self, channel: &str, text: String) {
        self.send(Message::to_channel(channel, text)).await;
    }

    pub(crate) async fn send(&self, message: Message) {
        if let Err(e) = self.chat.send(message).await {
            tracing::warn!(error = %e, "could not send a chat message");
        }
    }

    /// Tells `env`'s notification channel (where the platform has one).
    pub(crate) async fn notify(&self, env: &str, text: String, mentions: Vec<String>) {
        let notice = crate::chat::Notice {
            env: env.to_string(),
            text,
            mentions,
        };
        if let Err(e) = self.chat.notify(notice).await {
            tracing::warn!(error = %e, "could not send a notification");
        }
    }

    pub(crate) async fn refuse(&self, channel: &str, message: &str, rule: Option<&str>) {
        let text = self.render(
            "refusal.j2",
            serde_json::json!({"message": message, "rule": rule}),
        );
        self.say(channel, text).await;
    }

    /// Waits until no deployment is running (the console does this at the end
    /// of its input), and returns those left behind on purpose: paused, or
    /// waiting for an approval. Those keep their state for the next session.
    pub async fn settle(&self) -> Vec<crate::store::Deployment> {
        loop {
            let launching = std::mem::take(&mut self.state.lock().expect("state lock").launching);
            if launching.is_empty() {
                break;
            }
            for task in launching {
                let _ = task.await;
            }
        }
        let left = loop {
            // A store that does not answer is not "nothing unfinished": that
            // would wait for paused deployments that never end. Ask again
            // (the console bounds the whole wait).
            let unfinished = match self.store.unfinished().await {
                Ok(unfinished) => unfinished,
                Err(e) => {
                    tracing::warn!(error = %e, "could not list unfinished deployments; asking again");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if !unfinished
                .iter()
                .any(|d| d.state == crate::store::DeploymentState::Running)
            {
                break unfinished;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        // Tasks still at work without a running deployment (a post-deployment
        // watch) end on their own.
        let kept: Vec<i64> = left.iter().map(|d| d.id).collect();
        self.engine.wait_all_but(&kept).await;
        // The last events may still be on their way to chat: wait (briefly) until
        // the progress stream has shown every event the engine emitted.
        for _ in 0..400 {
            if self.events_shown.load(std::sync::atomic::Ordering::SeqCst)
                >= self.engine.events_sent()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        left
    }
}
