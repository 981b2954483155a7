//! Transport limits of the hook route, so that a sender who stalls or floods
//! costs a bounded amount of memory and time: a declared body longer than
//! `http.max_body_bytes` is refused with 413 before any of it is read
//! (tower-http's `RequestBodyLimitLayer` reads `Content-Length`; a chunked body
//! is cut off at the same size); at most `http.max_concurrent_hooks` deliveries
//! are handled at once, and the next is answered 503 at once (tower's load
//! shedding over its concurrency limit: a queue would hold every waiting
//! connection open); and a body must arrive within `http.body_timeout` or is
//! answered 408 (in [`super::webhook`], around receiving the body only, so a
//! delivery being recorded is never cut off half-way).
//!
//! `/healthz`, `/readyz`, `/metrics` and `/versions` are outside these limits:
//! they read no body, and a flood of deliveries must not get a healthy agent
//! restarted by its orchestrator.

use std::sync::Arc;

use axum::Json;
use axum::error_handling::HandleErrorLayer;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::MethodRouter;
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;

use super::HttpState;

/// The limits one hook route carries.
pub struct Hooks {
    /// Largest body accepted, declared or sent.
    pub max_body_bytes: usize,
    /// Deliveries handled at once.
    pub max_concurrent: usize,
}

/// How long a sender turned away as overloaded is asked to wait.
const RETRY_AFTER_SECS: &str = "5";

impl Hooks {
    /// `route` behind the size check (outermost: an oversized delivery takes
    /// no slot) and the concurrency limit.
    pub fn apply(&self, route: MethodRouter<Arc<HttpState>>) -> MethodRouter<Arc<HttpState>> {
        route.layer(
            ServiceBuilder::new()
                .layer(RequestBodyLimitLayer::new(self.max_body_bytes))
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .concurrency_limit(self.max_concurrent.max(1)),
        )
    }
}

/// The answer when every slot is taken (the only error the stack raises).
async fn overloaded(error: tower::BoxError) -> impl IntoResponse {
    tracing::warn!(%error, "build webhook shed: too many deliveries at once");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        )],
        Json(json!({
            "error": format!(
                "too many deliveries at once; nothing was changed, retry in {RETRY_AFTER_SECS} seconds"
            )
        })),
    )
}
