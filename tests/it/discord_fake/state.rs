//! The fake's memory: channels and their messages, DM channels, users seen,
//! interactions and their responses, registered commands, rate-limit
//! windows and gateway connections. Everything sits behind one mutex; no
//! code holds it across an `.await`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use serenity::model::Timestamp;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use super::FakeUser;
use super::gateway::Session;

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// Message flag: only the invoking user sees the message.
pub(super) const EPHEMERAL: u64 = 1 << 6;
/// Message flag: the "is thinking..." message of a deferred interaction.
pub(super) const LOADING: u64 = 1 << 7;

/// One REST request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the `/api/v10` prefix, e.g. `/channels/5/messages`
    /// (other paths are kept whole).
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The JSON body (for multipart requests, `payload_json`); `Null` when
    /// there was none.
    pub body: Value,
    /// Uploaded files (multipart `files[n]` parts): file name, bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// The status the fake answered.
    pub status: u16,
    /// When it arrived, on tokio's clock.
    pub at: Instant,
}

/// A message as it stands now.
#[derive(Clone, Debug)]
pub struct FakeMessage {
    pub id: u64,
    pub channel_id: u64,
    pub author_id: u64,
    pub content: String,
    /// The `embeds` array as sent.
    pub embeds: Value,
    /// The `components` array (action rows) as sent.
    pub components: Value,
    /// Attached files: file name, bytes.
    pub attachments: Vec<(String, Vec<u8>)>,
    /// The `allowed_mentions` object as last sent; `Null` when none was.
    pub allowed_mentions: Value,
    /// Users the message pings (mentioned in the content and allowed by
    /// `allowed_mentions`).
    pub mentions: Vec<u64>,
    /// Roles the message pings.
    pub mention_roles: Vec<u64>,
    /// Whether it pings `@everyone`/`@here`.
    pub mention_everyone: bool,
    /// Message flags (64 ephemeral, 128 loading, 4096 silent, ...).
    pub flags: u64,
    /// The message this one replies to (`message_reference`).
    pub reference: Option<u64>,
    /// The interaction whose response (or follow-up) this is.
    pub interaction: Option<u64>,
    /// Emoji the bot reacted with.
    pub reactions: Vec<String>,
    /// Successful edits.
    pub edits: usize,
    pub deleted: bool,
    pub created_at: Instant,
    pub edited_at: Option<Instant>,
    pub deleted_at: Option<Instant>,
    pub(super) attachment_ids: Vec<u64>,
    pub(super) timestamp: String,
    pub(super) edited_timestamp: Option<String>,
}

impl FakeMessage {
    /// A fresh, empty message.
    pub(super) fn new(id: u64, channel_id: u64, author_id: u64, now: Instant) -> Self {
        FakeMessage {
            id,
            channel_id,
            author_id,
            content: String::new(),
            embeds: json!([]),
            components: json!([]),
            attachments: Vec::new(),
            allowed_mentions: Value::Null,
            mentions: Vec::new(),
            mention_roles: Vec::new(),
            mention_everyone: false,
            flags: 0,
            reference: None,
            interaction: None,
            reactions: Vec::new(),
            edits: 0,
            deleted: false,
            created_at: now,
            edited_at: None,
            deleted_at: None,
            attachment_ids: Vec::new(),
            timestamp: timestamp_of(id),
            edited_timestamp: None,
        }
    }

    /// Only the invoking user sees it (flag 64).
    pub fn ephemeral(&self) -> bool {
        self.flags & EPHEMERAL != 0
    }

    /// A deferred response still "thinking" (flag 128).
    pub fn loading(&self) -> bool {
        self.flags & LOADING != 0
    }

    /// Every component (buttons, selects) of every row.
    pub fn component_list(&self) -> Vec<Value> {
        rows_components(&self.components)
    }

    /// The `custom_id`s of the components, in order.
    pub fn custom_ids(&self) -> Vec<String> {
        self.component_list()
            .iter()
            .filter_map(|c| c["custom_id"].as_str().map(str::to_string))
            .collect()
    }

    /// The component with this `custom_id`.
    pub fn component(&self, custom_id: &str) -> Option<Value> {
        self.component_list()
            .into_iter()
            .find(|c| c["custom_id"] == custom_id)
    }
}

/// The components inside an array of action rows.
pub(super) fn rows_components(rows: &Value) -> Vec<Value> {
    rows.as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// What one entry of an interaction's log was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseKind {
    /// `POST /interactions/{id}/{token}/callback`.
    Callback,
    /// `PATCH /webhooks/{app}/{token}/messages/@original`.
    EditOriginal,
    /// `DELETE /webhooks/{app}/{token}/messages/@original`.
    DeleteOriginal,
    /// `POST /webhooks/{app}/{token}`.
    Followup,
    /// `PATCH /webhooks/{app}/{token}/messages/{id}`.
    EditFollowup,
    /// `DELETE /webhooks/{app}/{token}/messages/{id}`.
    DeleteFollowup,
}

/// One accepted response to an interaction.
#[derive(Clone, Debug)]
pub struct InteractionResponse {
    pub kind: ResponseKind,
    /// The body as sent (`Null` for deletes).
    pub body: Value,
    pub at: Instant,
}

/// An interaction the fake dispatched.
pub(super) struct Interaction {
    pub token: String,
    /// 2 command, 3 component, 5 modal submit.
    pub kind: u8,
    pub channel: u64,
    pub user: u64,
    pub created_at: Instant,
    /// The same moment on the real clock (see [`super::interactions`]).
    pub created_real: std::time::Instant,
    pub acknowledged: bool,
    /// The message the original response created or updated.
    pub original: Option<u64>,
    /// For a component: the message the component is on. For a modal
    /// submit: the one of the component interaction that opened the modal.
    pub source_message: Option<u64>,
    /// Messages created by follow-ups.
    pub followups: Vec<u64>,
    pub log: Vec<InteractionResponse>,
}

/// A modal the bot showed a user, which the user has not submitted yet.
#[derive(Clone, Debug)]
pub(super) struct OpenModal {
    pub user: u64,
    pub custom_id: String,
    /// The callback's `data` (title, custom_id, components).
    pub modal: Value,
    /// The message of the component interaction that opened it, if any.
    pub source_message: Option<u64>,
}

/// A channel's messages and its message rate-limit window.
pub(super) struct Channel {
    pub messages: Vec<FakeMessage>,
    pub window: Window,
}

/// A sliding window rate limit: at most `limit` hits per `period`.
pub(super) struct Window {
    pub limit: usize,
    pub period: Duration,
    hits: VecDeque<Instant>,
}

impl Window {
    pub fn new(limit: usize, period: Duration) -> Self {
        Window {
            limit,
            period,
            hits: VecDeque::new(),
        }
    }

    /// How long until one more hit fits, or `None` if it fits now.
    pub fn retry_after(&mut self, now: Instant) -> Option<Duration> {
        while self.hits.front().is_some_and(|&t| t + self.period <= now) {
            self.hits.pop_front();
        }
        if self.hits.len() < self.limit {
            return None;
        }
        self.hits.front().map(|&t| t + self.period - now)
    }

    pub fn hit(&mut self, now: Instant) {
        self.hits.push_back(now);
    }

    /// Hits left in the window after the last `retry_after` check and hit.
    pub fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.hits.len())
    }
}

/// What a gateway connection's task sends to its client.
pub(super) enum Outgoing {
    Text(String),
    Close(u16),
}

/// A gateway websocket connection.
pub(super) struct Connection {
    pub id: u64,
    pub tx: UnboundedSender<Outgoing>,
}

/// Everything the fake knows.
pub(super) struct State {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    last_id: u64,
    pub requests: Vec<Recorded>,
    pub channels: BTreeMap<u64, Channel>,
    /// DM channel per user.
    pub dms: HashMap<u64, u64>,
    /// Users tests injected, by id.
    pub users: HashMap<u64, FakeUser>,
    pub interactions: HashMap<u64, Interaction>,
    /// Interaction id per token.
    pub tokens: HashMap<String, u64>,
    pub open_modals: Vec<OpenModal>,
    pub guild_commands: HashMap<u64, Vec<Value>>,
    pub global_commands: Vec<Value>,
    /// 50 requests per second for the whole bot.
    pub global_window: Window,
    pub rate_limited: usize,
    pub connections: Vec<Connection>,
    pub next_connection: u64,
    pub sessions: Vec<Session>,
    pub identifies: usize,
}

impl State {
    pub fn new(base: String) -> Self {
        State {
            base,
            last_id: 0,
            requests: Vec::new(),
            channels: BTreeMap::new(),
            dms: HashMap::new(),
            users: HashMap::new(),
            interactions: HashMap::new(),
            tokens: HashMap::new(),
            open_modals: Vec::new(),
            guild_commands: HashMap::new(),
            global_commands: Vec::new(),
            global_window: Window::new(50, Duration::from_secs(1)),
            rate_limited: 0,
            connections: Vec::new(),
            next_connection: 0,
            sessions: Vec::new(),
            identifies: 0,
        }
    }

    /// A new snowflake: increasing, and carrying the current wall-clock time
    /// as Discord's do (so `created_at()` on serenity's ids makes sense).
    pub fn next_id(&mut self) -> u64 {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let candidate = now_ms.saturating_sub(DISCORD_EPOCH_MS) << 22;
        self.last_id = candidate.max(self.last_id + 1);
        self.last_id
    }

    /// Remembers a user's name and roles for the JSON of later events.
    pub fn remember(&mut self, user: &FakeUser) {
        self.users.insert(user.id, user.clone());
    }

    /// The channel, created on first use (any id is a text channel of the
    /// guild unless it is a DM channel).
    pub fn channel(&mut self, id: u64) -> &mut Channel {
        self.channels.entry(id).or_insert_with(|| Channel {
            messages: Vec::new(),
            window: Window::new(5, Duration::from_secs(5)),
        })
    }

    /// The user a DM channel is with, if `channel` is one.
    pub fn dm_user(&self, channel: u64) -> Option<u64> {
        self.dms
            .iter()
            .find(|&(_, &c)| c == channel)
            .map(|(&u, _)| u)
    }

    /// The DM channel with `user`, opened if needed.
    pub fn open_dm(&mut self, user: u64) -> u64 {
        if let Some(&channel) = self.dms.get(&user) {
            return channel;
        }
        let channel = self.next_id();
        self.dms.insert(user, channel);
        self.channel(channel);
        channel
    }

    pub fn find_message(&self, id: u64) -> Option<&FakeMessage> {
        self.channels
            .values()
            .flat_map(|c| c.messages.iter())
            .find(|m| m.id == id)
    }

    pub fn find_message_mut(&mut self, id: u64) -> Option<&mut FakeMessage> {
        self.channels
            .values_mut()
            .flat_map(|c| c.messages.iter_mut())
            .find(|m| m.id == id)
    }

    /// A message of `channel` that is neither deleted nor unknown.
    pub fn live_message(&self, channel: u64, id: u64) -> Option<&FakeMessage> {
        self.channels
            .get(&channel)?
            .messages
            .iter()
            .find(|m| m.id == id && !m.deleted)
    }

    /// Whether message `id` of `channel` carries button `custom_id` (it may
    /// be disabled).
    pub fn button(&self, channel: u64, id: u64, custom_id: &str) -> bool {
        self.live_message(channel, id)
            .and_then(|m| m.component(custom_id))
            .is_some()
    }

    /// Takes the newest modal `custom_id` the bot opened for `user`.
    pub fn take_modal(&mut self, user: u64, custom_id: &str) -> Option<OpenModal> {
        let at = self
            .open_modals
            .iter()
            .rposition(|m| m.user == user && m.custom_id == custom_id)?;
        Some(self.open_modals.remove(at))
    }

    /// The gateway sessions running on an open connection.
    pub fn identified(&self) -> impl Iterator<Item = &Session> {
        self.sessions
            .iter()
            .filter(|s| s.alive && s.connection.is_some())
    }
}

/// The RFC 3339 time a snowflake carries.
pub(super) fn timestamp_of(id: u64) -> String {
    let ms = (id >> 22) + DISCORD_EPOCH_MS;
    Timestamp::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .map_or_else(|_| Timestamp::now().to_string(), |t| t.to_string())
}

/// Now, in RFC 3339.
pub(super) fn timestamp_now() -> String {
    Timestamp::now().to_string()
}
