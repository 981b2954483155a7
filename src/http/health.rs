//! Liveness and readiness. `/healthz` answers while the process can answer at
//! all (an orchestrator restarts it otherwise); `/readyz` also asks the store
//! and the chat connection, because an agent that cannot record a deployment
//! or hear a command should not be sent work.

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
    let ready = store == "ok" && chat == "connected";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({"ready": ready, "store": store, "chat": chat})),
    )
}
