//! switchyard: a chat-ops deployment agent.
//!
//! People type commands in a chat channel ("promote 1.3.0 from tst to prd"); the
//! components below turn them into typed intents and, in later stages, into
//! checked, confirmed and observed blue/green rollouts. Data flows one way:
//! chat adapter -> conversation -> (intent, policy, gates, mfa) -> rollout engine
//! -> cloud ports, and progress events flow back through render to chat.
//!
//! - [`chat`]: the chat port and the console adapter.
//! - [`clock`]: wall-clock time that follows tokio's (paused, in tests) clock.
//! - [`cloud`]: the ports the engine drives (compute, traffic, signals) and the
//!   simulator that implements them.
//! - [`config`]: the typed, validated configuration file (environments, users,
//!   roles, policy, rollout plans).
//! - [`conversation`]: the agent: pending questions, approvals, commands, progress.
//! - [`demo`]: the agent on the simulator with the console, for `switchyard demo`.
//! - [`gates`]: the pre-promotion checklist: built-in checks and providers
//!   (HTTP, GitHub, Prometheus, image scans, soak time).
//! - [`http`]: health, readiness, Prometheus metrics, the versions manifest and
//!   the build webhook, served by axum.
//! - [`intent`]: the command grammar read from `intents/`, and text -> [`intent::Intent`].
//! - [`manifest`]: what runs where (`switchyard versions`, `/versions`).
//! - [`mfa`]: TOTP verification, enrolment, encryption at rest, lockouts.
//! - [`policy`]: who may do what where, and what a change needs first.
//! - [`render`]: every sentence the bot says, from the templates in `prompts/`.
//! - [`replica`]: this process's id among replicas sharing one store.
//! - [`rollout`]: the deployment engine: steps, analysis, automatic rollback,
//!   crash recovery.
//! - [`store`]: deployments, their journal, audit log, locks, MFA state, event
//!   claims, deployment leases and open questions (SQLite, or PostgreSQL
//!   shared by replicas).
//! - [`telemetry`]: the metrics `/metrics` exposes and the alert rules rely on.

pub mod chat;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod conversation;
pub mod demo;
pub mod gates;
pub mod http;
pub mod intent;
pub mod manifest;
pub mod mfa;
pub mod policy;
pub mod render;
pub mod replica;
pub mod rollout;
pub mod store;
pub mod telemetry;
