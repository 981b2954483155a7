//! The REST API: reads a request (JSON or multipart with `payload_json` and
//! `files[n]`), checks authorization and rate limits, routes it, records it
//! with the status answered.
//!
//! Rate limits, on tokio's clock: 50 requests per second for the bot
//! (interaction callbacks and webhooks excluded) and 5 message creates,
//! edits and deletes per 5 s per channel, both sliding windows. Beyond them:
//! 429, `Retry-After` (whole seconds, rounded up, as Discord sends it),
//! `X-RateLimit-Scope`, `X-RateLimit-Reset-After` (fractional seconds) and
//! `{"message","retry_after","global"}`; nothing is stored.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Multipart, Request, State as AxumState};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::checks::FieldError;
use super::state::{Recorded, State};
use super::{FakeDiscord, Shared};

/// What a route answers; `Err` is a refusal (same type, so `?` works).
pub(super) type Answer = Result<Reply, Reply>;

/// A response body.
pub(super) enum Payload {
    Empty,
    Json(Value),
    Bytes(Vec<u8>),
}

/// A response before it becomes axum's.
pub(super) struct Reply {
    pub status: u16,
    pub payload: Payload,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// 200 with a JSON body.
    pub fn json(value: Value) -> Reply {
        Reply {
            status: 200,
            payload: Payload::Json(value),
            headers: Vec::new(),
        }
    }

    /// 204.
    pub fn no_content() -> Reply {
        Reply {
            status: 204,
            payload: Payload::Empty,
            headers: Vec::new(),
        }
    }

    /// A Discord error: `{"code": code, "message": message}`.
    pub fn error(status: u16, code: u32, message: &str) -> Reply {
        Reply {
            status,
            payload: Payload::Json(json!({ "code": code, "message": message })),
            headers: Vec::new(),
        }
    }

    /// 404 for a route the fake does not serve.
    pub fn not_found() -> Reply {
        Reply::error(404, 0, "404: Not Found")
    }

    /// 404 Unknown Message (10008).
    pub fn unknown_message() -> Reply {
        Reply::error(404, 10008, "Unknown Message")
    }

    /// 400 Invalid Form Body (50035) with Discord's nested `errors` object:
    /// `{"content": {"_errors": [{"code", "message"}]}}`.
    pub fn invalid_form(errors: Vec<FieldError>) -> Reply {
        let mut tree = Value::Object(Map::new());
        for error in errors {
            let mut node = &mut tree;
            for part in error.path.split('.').filter(|p| !p.is_empty()) {
                node = node
                    .as_object_mut()
                    .expect("error tree nodes are objects")
                    .entry(part)
                    .or_insert_with(|| Value::Object(Map::new()));
            }
            let list = node
                .as_object_mut()
                .expect("error tree nodes are objects")
                .entry("_errors")
                .or_insert_with(|| json!([]));
            if let Some(list) = list.as_array_mut() {
                list.push(json!({ "code": error.code, "message": error.message }));
            }
        }
        Reply {
            status: 400,
            payload: Payload::Json(json!({
                "code": 50035,
                "message": "Invalid Form Body",
                "errors": tree,
            })),
            headers: Vec::new(),
        }
    }

    /// A 400 Invalid Form Body for one field.
    pub fn invalid_field(path: &str, code: &'static str, message: &str) -> Reply {
        Reply::invalid_form(vec![FieldError {
            path: path.to_string(),
            code,
            message: message.to_string(),
        }])
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match self.payload {
            Payload::Empty => status.into_response(),
            Payload::Json(value) => (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                value.to_string(),
            )
                .into_response(),
            Payload::Bytes(bytes) => (status, bytes).into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(name), value);
            }
        }
        response
    }
}

/// A request body, read.
pub(super) struct Incoming {
    /// The JSON body, or multipart `payload_json`; `Null` if none.
    pub json: Value,
    /// Multipart files: file name, bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// The body was not valid JSON (or not valid multipart).
    pub invalid: bool,
}

async fn read_body(request: Request) -> Incoming {
    let mut incoming = Incoming {
        json: Value::Null,
        files: Vec::new(),
        invalid: false,
    };
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        match axum::body::to_bytes(request.into_body(), usize::MAX).await {
            Ok(bytes) if bytes.is_empty() => {}
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(json) => incoming.json = json,
                Err(_) => incoming.invalid = true,
            },
            Err(_) => incoming.invalid = true,
        }
        return incoming;
    }
    let Ok(mut form) = Multipart::from_request(request, &()).await else {
        incoming.invalid = true;
        return incoming;
    };
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let file_name = field.file_name().map(str::to_string);
                let Ok(bytes) = field.bytes().await else {
                    incoming.invalid = true;
                    break;
                };
                if name == "payload_json" {
                    match serde_json::from_slice(&bytes) {
                        Ok(json) => incoming.json = json,
                        Err(_) => incoming.invalid = true,
                    }
                } else if name.starts_with("files[") || file_name.is_some() {
                    incoming
                        .files
                        .push((file_name.unwrap_or(name), bytes.to_vec()));
                }
            }
            Ok(None) => break,
            Err(_) => {
                incoming.invalid = true;
                break;
            }
        }
    }
    incoming
}

/// Every request that is not the gateway websocket.
pub(super) async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    request: Request,
) -> Response {
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().map(str::to_string);
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bot ") && v.len() > 4);
    let incoming = read_body(request).await;
    let now = Instant::now();
    let mut state = shared.lock();
    let (recorded_path, reply) = match path.strip_prefix("/api/v10") {
        Some(api) => {
            let request = ApiRequest {
                method: &method,
                path: api,
                query: query.as_deref(),
                authorized,
                incoming: &incoming,
                now,
            };
            (api.to_string(), state.api(&request))
        }
        None => (path.clone(), state.attachment(&method, &path)),
    };
    state.requests.push(Recorded {
        method,
        path: recorded_path,
        query,
        body: incoming.json,
        files: incoming.files,
        status: reply.status,
        at: now,
    });
    drop(state);
    reply.into_response()
}

/// A request under `/api/v10`.
pub(super) struct ApiRequest<'a> {
    pub method: &'a str,
    /// Without the `/api/v10` prefix.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub authorized: bool,
    pub incoming: &'a Incoming,
    pub now: Instant,
}

/// The channel whose message window a request counts against: POST, PATCH
/// and DELETE under `/channels/{c}/messages` (reactions have their own
/// limits at Discord and are not counted).
fn message_bucket(method: &str, segments: &[&str]) -> Option<u64> {
    match (method, segments) {
        ("POST" | "PATCH" | "DELETE", ["channels", channel, "messages", rest @ ..])
            if !rest.contains(&"reactions") =>
        {
            channel.parse().ok()
        }
        _ => None,
    }
}

impl State {
    fn api(&mut self, request: &ApiRequest<'_>) -> Reply {
        let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
        let interaction_route = matches!(segments.first(), Some(&("interactions" | "webhooks")));
        let now = request.now;
        if !interaction_route && let Some(wait) = self.global_window.retry_after(now) {
            return self.too_many_requests(wait, true, self.global_window.limit);
        }
        let bucket = message_bucket(request.method, &segments);
        if let Some(channel) = bucket {
            let window = &mut self.channel(channel).window;
            if let Some(wait) = window.retry_after(now) {
                let limit = window.limit;
                return self.too_many_requests(wait, false, limit);
            }
            window.hit(now);
        }
        if !interaction_route {
            self.global_window.hit(now);
        }
        let unauthenticated = !interaction_route && segments != ["gateway"];
        let mut reply = if unauthenticated && !request.authorized {
            Reply::error(401, 0, "401: Unauthorized")
        } else if request.incoming.invalid {
            Reply::error(400, 50109, "The request body contains invalid JSON.")
        } else {
            self.route(request, &segments)
                .unwrap_or_else(|refusal| refusal)
        };
        if let Some(channel) = bucket {
            let window = &mut self.channel(channel).window;
            let reset = window.retry_after(now).unwrap_or(window.period);
            reply.headers.extend([
                ("x-ratelimit-limit", window.limit.to_string()),
                ("x-ratelimit-remaining", window.remaining().to_string()),
                (
                    "x-ratelimit-reset-after",
                    format!("{:.3}", reset.as_secs_f64()),
                ),
                ("x-ratelimit-bucket", format!("messages-{channel}")),
            ]);
        }
        reply
    }

    /// A 429, counted.
    fn too_many_requests(&mut self, wait: Duration, global: bool, limit: usize) -> Reply {
        self.rate_limited += 1;
        let seconds = (wait.as_secs_f64() * 1000.0).ceil() / 1000.0;
        let mut headers = vec![
            ("retry-after", (seconds.ceil() as u64).max(1).to_string()),
            (
                "x-ratelimit-scope",
                (if global { "global" } else { "user" }).to_string(),
            ),
            ("x-ratelimit-limit", limit.to_string()),
            ("x-ratelimit-remaining", "0".to_string()),
            ("x-ratelimit-reset-after", format!("{seconds:.3}")),
        ];
        if global {
            headers.push(("x-ratelimit-global", "true".to_string()));
        }
        Reply {
            status: 429,
            payload: Payload::Json(json!({
                "message": "You are being rate limited.",
                "retry_after": seconds,
                "global": global,
            })),
            headers,
        }
    }

    fn route(&mut self, request: &ApiRequest<'_>, segments: &[&str]) -> Answer {
        let incoming = request.incoming;
        let now = request.now;
        match (request.method, segments) {
            ("GET", ["gateway"]) => Ok(Reply::json(json!({ "url": self.gateway_url() }))),
            ("GET", ["gateway", "bot"]) => Ok(Reply::json(json!({
                "url": self.gateway_url(),
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }))),
            ("GET", ["users", "@me"]) => Ok(Reply::json(self.user_json(FakeDiscord::BOT_ID))),
            ("GET", ["oauth2", "applications", "@me"]) => Ok(Reply::json(self.application_json())),
            ("POST", ["users", "@me", "channels"]) => self.create_dm(&incoming.json),
            ("GET", ["users", user]) => {
                let user = user
                    .parse()
                    .map_err(|_| Reply::error(404, 10013, "Unknown User"))?;
                Ok(Reply::json(self.user_json(user)))
            }
            ("GET", ["guilds", guild, "members", user]) => {
                let unknown = || Reply::error(404, 10007, "Unknown Member");
                let user: u64 = user.parse().map_err(|_| unknown())?;
                if guild.parse::<u64>() != Ok(FakeDiscord::GUILD_ID)
                    || !(self.users.contains_key(&user) || user == FakeDiscord::BOT_ID)
                {
                    return Err(unknown());
                }
                Ok(Reply::json(self.member_json(user, true)))
            }
            (method, ["channels", channel, rest @ ..]) => {
                let channel = channel.parse().map_err(|_| Reply::not_found())?;
                self.channel_route(method, channel, rest, request.query, incoming, now)
            }
            ("POST", ["interactions", id, token, "callback"]) => {
                self.callback(id, token, incoming, now)
            }
            (method, ["webhooks", app, token, rest @ ..]) => {
                self.webhook(method, app, token, rest, incoming, now)
            }
            (method, ["applications", app, rest @ ..]) => {
                self.commands_route(method, app, rest, &incoming.json)
            }
            _ => Err(Reply::not_found()),
        }
    }

    /// `GET /attachments/{channel}/{id}/{filename}`: the bytes of an
    /// attachment (the `url` in attachment objects).
    fn attachment(&self, method: &str, path: &str) -> Reply {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let ["attachments", channel, id, _name] = segments.as_slice() else {
            return Reply::not_found();
        };
        let (Ok(channel), Ok(id)) = (channel.parse::<u64>(), id.parse::<u64>()) else {
            return Reply::not_found();
        };
        let found = self.channels.get(&channel).and_then(|c| {
            c.messages.iter().find_map(|m| {
                let at = m.attachment_ids.iter().position(|&a| a == id)?;
                Some(m.attachments[at].1.clone())
            })
        });
        match (method, found) {
            ("GET", Some(bytes)) => Reply {
                status: 200,
                payload: Payload::Bytes(bytes),
                headers: Vec::new(),
            },
            _ => Reply::not_found(),
        }
    }
}

/// Decodes `%XX` escapes (reaction emoji in paths).
pub(super) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
