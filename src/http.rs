//! The agent's HTTP side (axum): `/healthz` and `/readyz` for load balancers
//! and orchestrators, `/metrics` for Prometheus, `/versions` for people and
//! scripts asking what runs where, and `POST /hooks/build` for CI to announce
//! builds. It serves only when `[http] listen` is set, and reads the same agent
//! and store as the chat side, so it can never disagree with what chat says.
//! The hook route carries transport limits ([`limits`]); the health routes do
//! not, so a flood of deliveries cannot get a healthy agent restarted.

mod health;
mod limits;
mod metrics;
mod versions;
pub mod webhook;

use std::future::Future;
use std::sync::Arc;

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Secret;
use crate::conversation::Agent;
use crate::telemetry::Telemetry;

/// What every handler reads.
pub struct HttpState {
    pub agent: Arc<Agent>,
    pub telemetry: Arc<Telemetry>,
    /// Signs build webhooks; `None` refuses every delivery.
    pub webhook_secret: Option<Secret>,
    /// How long a webhook's body may take to arrive (`http.body_timeout`).
    pub body_timeout: Duration,
    /// Deliveries handled at once (`http.max_concurrent_hooks`).
    pub max_concurrent_hooks: usize,
    pub clock: Clock,
}

/// Every route, with `max_body_bytes` the largest webhook body accepted (the
/// other hook limits come from `state`).
pub fn router(state: Arc<HttpState>, max_body_bytes: usize) -> Router {
    let hook_limits = limits::Hooks {
        max_body_bytes,
        max_concurrent: state.max_concurrent_hooks,
    };
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/versions", get(versions::versions))
        .route("/hooks/build", hook_limits.apply(post(webhook::build)))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "HTTP endpoints listening");
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

impl HttpState {
    /// The state for `agent`, with metrics following its engine from now on.
    pub fn new(agent: Arc<Agent>, config: &crate::config::Http, clock: Clock) -> Arc<HttpState> {
        let weak = Arc::downgrade(&agent);
        let envs: Vec<String> = agent
            .config()
            .environments
            .iter()
            .map(|e| e.name.clone())
            .collect();
        let pending = Arc::new(move || {
            weak.upgrade()
                .map(|a| a.pending_approvals())
                .unwrap_or_default()
        });
        let telemetry = Telemetry::new(pending, &envs);
        telemetry.follow(agent.engine.subscribe());
        Arc::new(HttpState {
            agent,
            telemetry,
            webhook_secret: config.webhook_secret.clone(),
            body_timeout: config.body_timeout,
            max_concurrent_hooks: config.max_concurrent_hooks,
            clock,
        })
    }
}
