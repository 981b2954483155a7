//! `/versions`: the versions manifest (what runs where) as JSON, or as YAML
//! with `?format=yaml` — the same data as `switchyard versions`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::HttpState;
use crate::manifest::Manifest;

#[derive(Deserialize)]
pub struct Format {
    format: Option<String>,
}

pub async fn versions(State(state): State<Arc<HttpState>>, Query(q): Query<Format>) -> Response {
    let yaml = match q.format.as_deref() {
        None | Some("json") => false,
        Some("yaml") => true,
        Some(other) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("unknown format '{other}': use format=json or format=yaml\n"),
            )
                .into_response();
        }
    };
    let agent = &state.agent;
    match Manifest::read(agent.config(), agent.store()).await {
        Ok(m) if yaml => {
            ([(header::CONTENT_TYPE, "application/yaml")], m.to_yaml()).into_response()
        }
        Ok(m) => ([(header::CONTENT_TYPE, "application/json")], m.to_json()).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the versions manifest");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the store did not answer; try again\n",
            )
                .into_response()
        }
    }
}
