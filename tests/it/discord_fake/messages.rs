//! Messages: what users say (injected), what the bot creates, edits,
//! deletes and reacts with through `/channels/{c}/...`, DM channels, and
//! the gateway events all of that produces.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::gateway::{DIRECT_MESSAGES, GUILD_MESSAGES, MESSAGE_CONTENT};
use super::rest::{Answer, Incoming, Reply, percent_decode};
use super::state::{EPHEMERAL, FakeMessage, LOADING, State, timestamp_now};
use super::{FakeDiscord, FakeUser, checks};

/// Flags a bot may set when creating a message: suppress embeds, ephemeral
/// (interaction responses only), silent.
pub(super) const CREATE_FLAGS: u64 = (1 << 2) | EPHEMERAL | (1 << 12);

/// An id sent as a string or a number.
pub(super) fn id_of(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

/// User, role and everyone mentions written in a message's content.
fn written_mentions(content: &str) -> (Vec<u64>, Vec<u64>, bool) {
    static USER: OnceLock<Regex> = OnceLock::new();
    static ROLE: OnceLock<Regex> = OnceLock::new();
    let user = USER.get_or_init(|| Regex::new(r"<@!?(\d+)>").expect("user mention regex"));
    let role = ROLE.get_or_init(|| Regex::new(r"<@&(\d+)>").expect("role mention regex"));
    let ids = |re: &Regex| {
        let mut ids: Vec<u64> = Vec::new();
        for capture in re.captures_iter(content) {
            if let Ok(id) = capture[1].parse()
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        ids
    };
    let everyone = content.contains("@everyone") || content.contains("@here");
    (ids(user), ids(role), everyone)
}

/// Sets `mentions`, `mention_roles` and `mention_everyone` from the content,
/// through `allowed_mentions` for the bot's messages (absent: everything
/// written pings).
fn resolve_mentions(msg: &mut FakeMessage) {
    let (users, roles, everyone) = written_mentions(&msg.content);
    let allowed = &msg.allowed_mentions;
    if msg.author_id != FakeDiscord::BOT_ID || allowed.is_null() {
        msg.mentions = users;
        msg.mention_roles = roles;
        msg.mention_everyone = everyone;
        return;
    }
    let parses = |kind: &str| {
        allowed["parse"]
            .as_array()
            .is_some_and(|p| p.iter().any(|k| k == kind))
    };
    let listed = |kind: &str, id: u64| {
        allowed[kind]
            .as_array()
            .is_some_and(|l| l.iter().any(|v| id_of(v) == Some(id)))
    };
    msg.mentions = users
        .into_iter()
        .filter(|&u| parses("users") || listed("users", u))
        .collect();
    msg.mention_roles = roles
        .into_iter()
        .filter(|&r| parses("roles") || listed("roles", r))
        .collect();
    msg.mention_everyone = everyone && parses("everyone");
}

impl State {
    /// Stores a message a user wrote and dispatches MESSAGE_CREATE.
    pub fn user_message(
        &mut self,
        channel: u64,
        user: &FakeUser,
        content: &str,
    ) -> Result<u64, String> {
        self.remember(user);
        let id = self.next_id();
        let mut msg = FakeMessage::new(id, channel, user.id, Instant::now());
        msg.content = content.to_string();
        resolve_mentions(&mut msg);
        self.channel(channel).messages.push(msg.clone());
        self.announce_create(&msg)?;
        Ok(id)
    }

    /// Applies the fields present in a message payload. `creating`: a new
    /// message (flags and reply reference are read); otherwise an edit.
    pub fn apply_payload(
        &mut self,
        msg: &mut FakeMessage,
        body: &Value,
        files: &[(String, Vec<u8>)],
        creating: bool,
    ) {
        let array = |v: &Value| if v.is_array() { v.clone() } else { json!([]) };
        if let Some(content) = body.get("content") {
            msg.content = content.as_str().unwrap_or_default().to_string();
        }
        if let Some(embeds) = body.get("embeds") {
            msg.embeds = array(embeds);
        }
        if let Some(components) = body.get("components") {
            msg.components = array(components);
        }
        if let Some(allowed) = body.get("allowed_mentions") {
            msg.allowed_mentions = allowed.clone();
        }
        if let Some(flags) = body.get("flags").and_then(Value::as_u64) {
            msg.flags = if creating {
                flags & CREATE_FLAGS
            } else {
                // Only "suppress embeds" can change on an edit.
                (msg.flags & !(1 << 2)) | (flags & (1 << 2))
            };
        }
        if creating {
            msg.reference = id_of(&body["message_reference"]["message_id"]);
        }
        if let Some(kept) = body.get("attachments").and_then(Value::as_array) {
            let kept: HashSet<u64> = kept.iter().filter_map(|a| id_of(&a["id"])).collect();
            let mut at = 0;
            while at < msg.attachment_ids.len() {
                if kept.contains(&msg.attachment_ids[at]) {
                    at += 1;
                } else {
                    msg.attachment_ids.remove(at);
                    msg.attachments.remove(at);
                }
            }
        }
        for file in files {
            let id = self.next_id();
            msg.attachment_ids.push(id);
            msg.attachments.push(file.clone());
        }
        resolve_mentions(msg);
    }

    /// Replaces the stored message with the same id.
    pub fn replace(&mut self, msg: FakeMessage) {
        if let Some(stored) = self.find_message_mut(msg.id) {
            *stored = msg;
        }
    }

    /// Marks a message edited now.
    pub fn mark_edited(msg: &mut FakeMessage, now: Instant) {
        msg.edits += 1;
        msg.edited_at = Some(now);
        msg.edited_timestamp = Some(timestamp_now());
    }

    /// MESSAGE_CREATE / MESSAGE_UPDATE `d` for a session with `intents`:
    /// none without GUILD_MESSAGES (DIRECT_MESSAGES in DMs); without
    /// MESSAGE_CONTENT, content, embeds, attachments and components are
    /// empty unless the message is in a DM, by the bot, or mentions it.
    fn message_event(&self, msg: &FakeMessage, intents: u64) -> Option<Value> {
        let dm = self.dm_user(msg.channel_id).is_some();
        let needed = if dm { DIRECT_MESSAGES } else { GUILD_MESSAGES };
        if intents & needed == 0 {
            return None;
        }
        let mut json = self.message_json(msg, true);
        let readable = intents & MESSAGE_CONTENT != 0
            || dm
            || msg.author_id == FakeDiscord::BOT_ID
            || msg.mentions.contains(&FakeDiscord::BOT_ID);
        if !readable {
            json["content"] = json!("");
            json["embeds"] = json!([]);
            json["attachments"] = json!([]);
            json["components"] = json!([]);
        }
        Some(json)
    }

    /// MESSAGE_CREATE for a new message (ephemeral ones go to nobody).
    pub fn announce_create(&mut self, msg: &FakeMessage) -> Result<(), String> {
        if msg.ephemeral() {
            return Ok(());
        }
        self.dispatch("MESSAGE_CREATE", |st, intents| {
            st.message_event(msg, intents)
        })
    }

    /// MESSAGE_UPDATE after an edit.
    pub fn announce_update(&mut self, msg: &FakeMessage) {
        if msg.ephemeral() {
            return;
        }
        let sent = self.dispatch("MESSAGE_UPDATE", |st, intents| {
            st.message_event(msg, intents)
        });
        report(sent);
    }

    /// MESSAGE_DELETE.
    pub fn announce_delete(&mut self, msg: &FakeMessage) {
        if msg.ephemeral() {
            return;
        }
        let dm = self.dm_user(msg.channel_id).is_some();
        let sent = self.dispatch("MESSAGE_DELETE", |_, intents| {
            let needed = if dm { DIRECT_MESSAGES } else { GUILD_MESSAGES };
            if intents & needed == 0 {
                return None;
            }
            let mut d =
                json!({ "id": msg.id.to_string(), "channel_id": msg.channel_id.to_string() });
            if !dm {
                d["guild_id"] = json!(FakeDiscord::GUILD_ID.to_string());
            }
            Some(d)
        });
        report(sent);
    }

    /// Everything under `/channels/{channel}/`.
    pub fn channel_route(
        &mut self,
        method: &str,
        channel: u64,
        rest: &[&str],
        query: Option<&str>,
        incoming: &Incoming,
        now: Instant,
    ) -> Answer {
        let message_id = |m: &str| m.parse::<u64>().map_err(|_| Reply::unknown_message());
        match (method, rest) {
            ("GET", []) => Ok(Reply::json(self.channel_json(channel))),
            ("POST", ["messages"]) => self.create_message(channel, incoming, now),
            ("GET", ["messages"]) => Ok(self.list_messages(channel, query)),
            ("GET", ["messages", m]) => {
                let msg = self.visible(channel, message_id(m)?)?;
                Ok(Reply::json(self.message_json(msg, false)))
            }
            ("PATCH", ["messages", m]) => self.edit_message(channel, message_id(m)?, incoming, now),
            ("DELETE", ["messages", m]) => self.delete_message(channel, message_id(m)?, now),
            ("PUT" | "DELETE", ["messages", m, "reactions", emoji, "@me"]) => {
                let id = message_id(m)?;
                self.visible(channel, id)?;
                let emoji = percent_decode(emoji);
                let msg = self
                    .find_message_mut(id)
                    .ok_or_else(Reply::unknown_message)?;
                msg.reactions.retain(|e| *e != emoji);
                if method == "PUT" {
                    msg.reactions.push(emoji);
                }
                Ok(Reply::no_content())
            }
            ("POST", ["typing"]) => Ok(Reply::no_content()),
            _ => Err(Reply::not_found()),
        }
    }

    /// A message the channel routes can see: not deleted, not ephemeral.
    fn visible(&self, channel: u64, id: u64) -> Result<&FakeMessage, Reply> {
        self.live_message(channel, id)
            .filter(|m| !m.ephemeral())
            .ok_or_else(Reply::unknown_message)
    }

    fn create_message(&mut self, channel: u64, incoming: &Incoming, now: Instant) -> Answer {
        checks::message_payload(&incoming.json, &incoming.files, "")?;
        let id = self.next_id();
        let mut msg = FakeMessage::new(id, channel, FakeDiscord::BOT_ID, now);
        self.apply_payload(&mut msg, &incoming.json, &incoming.files, true);
        msg.flags &= !EPHEMERAL;
        checks::not_empty(&msg)?;
        if let Some(reference) = msg.reference
            && self.visible(channel, reference).is_err()
        {
            return Err(Reply::invalid_field(
                "message_reference",
                "REPLIES_UNKNOWN_MESSAGE",
                "Unknown message",
            ));
        }
        self.channel(channel).messages.push(msg.clone());
        report(self.announce_create(&msg));
        Ok(Reply::json(self.message_json(&msg, false)))
    }

    /// `GET /channels/{c}/messages?limit=N`: newest first, at most 100.
    fn list_messages(&self, channel: u64, query: Option<&str>) -> Reply {
        let limit = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .find_map(|pair| pair.strip_prefix("limit=")?.parse::<usize>().ok())
            .unwrap_or(50)
            .clamp(1, 100);
        let list: Vec<Value> = self
            .channels
            .get(&channel)
            .map(|c| {
                c.messages
                    .iter()
                    .rev()
                    .filter(|m| !m.deleted && !m.ephemeral())
                    .take(limit)
                    .map(|m| self.message_json(m, false))
                    .collect()
            })
            .unwrap_or_default();
        Reply::json(Value::Array(list))
    }

    fn edit_message(&mut self, channel: u64, id: u64, incoming: &Incoming, now: Instant) -> Answer {
        let mut msg = self.visible(channel, id)?.clone();
        if msg.author_id != FakeDiscord::BOT_ID {
            return Err(Reply::error(
                403,
                50005,
                "Cannot edit a message authored by another user",
            ));
        }
        checks::message_payload(&incoming.json, &incoming.files, "")?;
        self.apply_payload(&mut msg, &incoming.json, &incoming.files, false);
        msg.flags &= !LOADING;
        checks::not_empty(&msg)?;
        State::mark_edited(&mut msg, now);
        self.replace(msg.clone());
        self.announce_update(&msg);
        Ok(Reply::json(self.message_json(&msg, false)))
    }

    fn delete_message(&mut self, channel: u64, id: u64, now: Instant) -> Answer {
        let mut msg = self.visible(channel, id)?.clone();
        msg.deleted = true;
        msg.deleted_at = Some(now);
        self.replace(msg.clone());
        self.announce_delete(&msg);
        Ok(Reply::no_content())
    }

    /// A channel object: a DM channel, or a text channel of the guild named
    /// `channel-{id}`.
    fn channel_json(&self, channel: u64) -> Value {
        let last = self
            .channels
            .get(&channel)
            .and_then(|c| {
                c.messages
                    .iter()
                    .rev()
                    .find(|m| !m.deleted && !m.ephemeral())
            })
            .map(|m| m.id.to_string());
        if let Some(user) = self.dm_user(channel) {
            return json!({
                "id": channel.to_string(),
                "type": 1,
                "last_message_id": last,
                "flags": 0,
                "recipients": [self.user_json(user)],
            });
        }
        json!({
            "id": channel.to_string(),
            "type": 0,
            "guild_id": FakeDiscord::GUILD_ID.to_string(),
            "name": format!("channel-{channel}"),
            "position": 0,
            "permission_overwrites": [],
            "nsfw": false,
            "topic": null,
            "parent_id": null,
            "last_message_id": last,
            "rate_limit_per_user": 0,
            "flags": 0,
        })
    }

    /// `POST /users/@me/channels {recipient_id}`: the DM channel with that
    /// user (the same one every time).
    pub fn create_dm(&mut self, body: &Value) -> Answer {
        let user = id_of(&body["recipient_id"]).ok_or_else(|| {
            Reply::invalid_field(
                "recipient_id",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            )
        })?;
        let channel = self.open_dm(user);
        Ok(Reply::json(self.channel_json(channel)))
    }
}

/// A dispatch serenity would drop is a bug of the fake: say so loudly (the
/// REST task cannot make the test panic).
pub(super) fn report(sent: Result<(), String>) {
    if let Err(e) = sent {
        eprintln!("discord_fake BUG: {e}");
    }
}
