//! Liveness and readiness. `/healthz` answers while the process can answer at
//! all (an orchestrator restarts it otherwise); `/readyz` also asks the store
//! and the chat connection, because an agent that cannot record a deployment
//! or hear a command should not be sent work. It also says which replica it
//! is and who holds the lease of each running deployment, so an operator
//! running several sees who drives what.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use super::HttpState;

pub async fn healthz() -> &'static str {
    "ok\n"
}

pub async fn readyz(State(state): State<Arc<HttpState>>) -> (StatusCode, Json<serde_json::Value>) {
    let store = match state.agent.store().ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the store does not answer");
            "unreachable".to_owned()
        }
    };
    let chat = if state.agent.chat_connected() {
        "connected"
    } else {
        "disconnected"
    };
    // Which replica drives which running deployment (from the shared store;
    // what this replica holds is its own `driving`).
    let leases: Vec<serde_json::Value> = match state.agent.store().active_leases().await {
        Ok(leases) => leases
            .iter()
            .map(|l| {
                json!({
                    "deployment": l.deployment_id,
                    "holder": l.owner,
                    "expires_at_ms": l.expires_at,
                })
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let engine = state.agent.engine();
    let ready = store == "ok" && chat == "connected";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "ready": ready,
            "store": store,
            "chat": chat,
            "replica": engine.replica(),
            "driving": engine.driving(),
            "leases": leases,
        })),
    )
}
