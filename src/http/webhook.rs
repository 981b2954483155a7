//! `POST /hooks/build`: CI announces a build `{service, version, image, commit,
//! branch}`, signed the way GitHub signs webhooks (`X-Hub-Signature-256:
//! sha256=HEX`, HMAC-SHA256 of the raw body with a shared secret), with a
//! delivery id in `X-GitHub-Delivery`.
//!
//! Checks run cheapest-first and before anything is written: size (413, from
//! the declared length before the body is read; see [`super::limits`]), a body
//! that does not arrive within `http.body_timeout` (408), signature (401), delivery id (400), body (400 naming the field), then the
//! delivery id is claimed in the store (409 for a delivery already handled),
//! so a refused or replayed delivery changes nothing. The signature is
//! compared in constant time (`Mac::verify_slice`), and checked before the
//! body is parsed, so nobody without the secret reaches the JSON parser.
//! The answer (202) comes before the deployments: CI does not wait for dev.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use super::HttpState;
use crate::intent::slots::check_version;
use crate::store::Build;

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
pub const DELIVERY_HEADER: &str = "x-github-delivery";

/// Longest delivery id kept (GitHub's are 36-character GUIDs).
const MAX_DELIVERY_ID: usize = 128;

/// The body CI sends. Extra fields are ignored (CI systems add their own).
#[derive(Debug, Deserialize)]
pub struct BuildPayload {
    pub service: String,
    pub version: String,
    pub image: String,
    pub commit: String,
    pub branch: String,
}

type Answer = (StatusCode, Json<Value>);

fn refuse(status: StatusCode, error: impl Into<String>) -> Answer {
    let error = error.into();
    tracing::warn!(status = status.as_u16(), %error, "build webhook refused");
    (status, Json(json!({ "error": error })))
}

/// `sha256=HEX` of `body` under `secret`, as the sender computes it.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// True when `header` is the signature of `body` under `secret`.
pub fn signature_valid(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_digest) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(tag) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&tag).is_ok()
}

pub async fn build(State(state): State<Arc<HttpState>>, request: Request) -> Answer {
    let headers = request.headers().clone();
    let body = match receive(request, state.body_timeout).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let Some(secret) = state.webhook_secret.as_ref().and_then(|s| s.expose().ok()) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "this agent has no webhook secret (http.webhook_secret), so it cannot verify any delivery",
        );
    };
    let Some(signature) = headers.get(SIGNATURE_HEADER) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "missing X-Hub-Signature-256: sign the body with HMAC-SHA256 and the shared secret",
        );
    };
    let signed = signature
        .to_str()
        .is_ok_and(|h| signature_valid(secret.as_bytes(), &body, h));
    if !signed {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "X-Hub-Signature-256 does not match the body: check the shared secret",
        );
    }
    let delivery = match delivery_id(&headers) {
        Ok(id) => id,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, why),
    };
    let payload = match parse(&body) {
        Ok(p) => p,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, why),
    };
    let agent = &state.agent;
    let build = match validate(payload, agent.config()) {
        Ok(b) => Build {
            built_at: state.clock.now_ms(),
            ..b
        },
        Err(why) => return refuse(StatusCode::BAD_REQUEST, why),
    };
    let store = agent.store();
    match store.claim_delivery(&delivery, state.clock.now_ms()).await {
        Ok(true) => {}
        Ok(false) => {
            return refuse(
                StatusCode::CONFLICT,
                format!("delivery {delivery} was already handled; nothing was changed"),
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not record a webhook delivery");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the store did not answer; retry",
            );
        }
    }
    if let Err(e) = store.record_build(&build).await {
        tracing::warn!(error = %e, "could not record a build");
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the store did not answer; retry",
        );
    }
    tracing::info!(%delivery, service = %build.service, version = %build.version,
        branch = %build.branch, "build announced");
    let following = agent.following(&build.branch);
    let worker = agent.clone();
    tokio::spawn(async move {
        worker.build_arrived(&build).await;
    });
    (
        StatusCode::ACCEPTED,
        Json(json!({ "status": "accepted", "delivery": delivery, "deploying_to": following })),
    )
}

/// The whole body, if it arrives within `within` and fits the size limit.
/// Only the receiving is timed: once the body is in, the handler runs to its
/// end (cutting it off could claim a delivery id without recording its build).
async fn receive(request: Request, within: Duration) -> Result<Bytes, Answer> {
    match tokio::time::timeout(within, Bytes::from_request(request, &())).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(rejection)) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is larger than this agent accepts (http.max_body_bytes); nothing was changed",
        )),
        Ok(Err(rejection)) => Err(refuse(rejection.status(), rejection.body_text())),
        Err(_) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {} (http.body_timeout); nothing was changed, send it again",
                humantime::format_duration(within)
            ),
        )),
    }
}

fn delivery_id(headers: &HeaderMap) -> Result<String, String> {
    let id = headers
        .get(DELIVERY_HEADER)
        .ok_or("missing X-GitHub-Delivery: every delivery needs a unique id")?
        .to_str()
        .map_err(|_| "X-GitHub-Delivery must be printable ASCII")?
        .trim();
    if id.is_empty() || id.len() > MAX_DELIVERY_ID {
        return Err(format!(
            "X-GitHub-Delivery must be 1 to {MAX_DELIVERY_ID} characters"
        ));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("X-GitHub-Delivery may hold only letters, digits, '-', '_' and '.'".into());
    }
    Ok(id.to_owned())
}

/// The JSON body, or which field is wrong.
fn parse(body: &[u8]) -> Result<BuildPayload, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let payload: BuildPayload = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            format!("the body is not valid JSON ({inner})")
        } else if path == "." {
            // serde names a missing field in its message: "missing field `image`".
            format!("{inner}; send {{service, version, image, commit, branch}}")
        } else {
            format!("field `{path}`: {inner}")
        }
    })?;
    de.end()
        .map_err(|e| format!("the body is not valid JSON ({e})"))?;
    Ok(payload)
}

/// Checks each field; the version is normalised as chat does (`v1.3.0` → `1.3.0`).
fn validate(p: BuildPayload, config: &crate::config::Config) -> Result<Build, String> {
    if !config.services.iter().any(|s| s.name == p.service) {
        let known: Vec<&str> = config.services.iter().map(|s| s.name.as_str()).collect();
        return Err(format!(
            "field `service`: '{}' is not a configured service; known: {}",
            printable(&p.service),
            known.join(", ")
        ));
    }
    let version = check_version(&p.version)
        .map_err(|e| format!("field `version`: {e}"))?
        .to_owned();
    if p.image.is_empty() || p.image.len() > 512 || p.image.chars().any(char::is_whitespace) {
        return Err(
            "field `image`: give the image reference (no spaces, at most 512 characters)".into(),
        );
    }
    let commit = p.commit.to_ascii_lowercase();
    if !(7..=64).contains(&commit.len()) || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("field `commit`: give the commit SHA (7 to 64 hex digits)".into());
    }
    if p.branch.is_empty()
        || p.branch.len() > 255
        || p.branch
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(
            "field `branch`: give the branch name (no spaces, at most 255 characters)".into(),
        );
    }
    Ok(Build {
        service: p.service,
        version,
        image: p.image,
        commit,
        branch: p.branch,
        built_at: 0,
    })
}

/// At most 64 printable characters of untrusted text, for an error message.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_githubs_documented_example() {
        // From GitHub's "Validating webhook deliveries" page.
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(signature_valid(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            header
        ));
        assert_eq!(
            sign(b"It's a Secret to Everybody", b"Hello, World!"),
            header
        );
        assert!(!signature_valid(
            b"another secret",
            b"Hello, World!",
            header
        ));
        assert!(!signature_valid(
            b"It's a Secret to Everybody",
            b"Hello, World?",
            header
        ));
        assert!(!signature_valid(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            "sha1=abc"
        ));
        assert!(!signature_valid(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            "sha256=zz"
        ));
    }

    #[test]
    fn a_missing_field_is_named() {
        let e = parse(br#"{"service":"a","version":"1.0.0","commit":"abcdef1","branch":"main"}"#)
            .unwrap_err();
        assert!(e.contains("`image`"), "{e}");
        let e =
            parse(br#"{"service":"a","version":7,"image":"i","commit":"abcdef1","branch":"main"}"#)
                .unwrap_err();
        assert!(e.contains("field `version`"), "{e}");
        let e = parse(b"{not json").unwrap_err();
        assert!(e.contains("not valid JSON"), "{e}");
    }
}
