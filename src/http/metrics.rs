//! `/metrics`: the agent's [`crate::telemetry::Telemetry`] in the text format
//! Prometheus scrapes.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::HttpState;

use crate::telemetry::CONTENT_TYPE;

pub async fn metrics(State(state): State<Arc<HttpState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.telemetry.encode(),
    )
}
