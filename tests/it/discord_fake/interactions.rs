//! Interactions: the slash commands, button clicks and modal submits tests
//! inject, and the bot's answers through
//! `/interactions/{id}/{token}/callback` and `/webhooks/{app}/{token}/...`.
//!
//! As at Discord: the first response must come within 3 s (of real time and
//! of the test's clock both) and only once
//! (404 10062 "Unknown interaction" after, 400 40060 "already
//! acknowledged" on a second); follow-ups need an acknowledged interaction
//! and work for 15 minutes; a deferred response (type 5) shows a "thinking"
//! message (flag 128) that the first follow-up or original edit replaces;
//! types 6 and 7 only answer components (and modals opened from one).

use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::checks;
use super::messages::{CREATE_FLAGS, id_of, report};
use super::rest::{Answer, Incoming, Reply};
use super::state::{
    EPHEMERAL, FakeMessage, Interaction, InteractionResponse, LOADING, OpenModal, ResponseKind,
    State,
};
use super::{FakeDiscord, FakeUser};

/// How long a bot has for the first response.
const FIRST_RESPONSE: Duration = Duration::from_secs(3);
/// How long the interaction token works for follow-ups.
const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

impl State {
    /// Records a new interaction; returns its id.
    fn new_interaction(
        &mut self,
        kind: u8,
        channel: u64,
        user: u64,
        source_message: Option<u64>,
    ) -> u64 {
        let id = self.next_id();
        let token = format!("fake-interaction-token-{id}");
        self.tokens.insert(token.clone(), id);
        self.interactions.insert(
            id,
            Interaction {
                token,
                kind,
                channel,
                user,
                created_at: Instant::now(),
                created_real: std::time::Instant::now(),
                acknowledged: false,
                original: None,
                source_message,
                followups: Vec::new(),
                log: Vec::new(),
            },
        );
        id
    }

    /// The command `name` a user could invoke in `channel`: the guild's or a
    /// global one in guild channels, a global one in DMs.
    pub fn find_command(&self, channel: u64, name: &str) -> Option<Value> {
        let is_slash = |c: &&Value| c["name"] == name && c["type"].as_u64().unwrap_or(1) == 1;
        let guild = if self.dm_user(channel).is_none() {
            self.guild_commands
                .get(&FakeDiscord::GUILD_ID)
                .and_then(|list| list.iter().find(is_slash))
        } else {
            None
        };
        guild
            .or_else(|| self.global_commands.iter().find(is_slash))
            .cloned()
    }

    /// Dispatches a slash command interaction.
    pub fn slash(
        &mut self,
        channel: u64,
        user: &FakeUser,
        command: &Value,
        options: Value,
    ) -> Result<u64, String> {
        checks::invocation(&command["options"], &options)?;
        self.remember(user);
        let options = if options.is_null() {
            json!([])
        } else {
            options
        };
        let mut data = json!({
            "id": command["id"],
            "name": command["name"],
            "type": command["type"].as_u64().unwrap_or(1),
            "options": options,
        });
        if let Some(guild) = command.get("guild_id") {
            data["guild_id"] = guild.clone();
        }
        let mut users = Vec::new();
        user_options(&data["options"], &mut users);
        if !users.is_empty() {
            let guild = self.dm_user(channel).is_none();
            let mut resolved_users = Map::new();
            let mut members = Map::new();
            for id in users {
                resolved_users.insert(id.to_string(), self.user_json(id));
                if guild {
                    let mut member = self.member_json(id, true);
                    if let Some(member) = member.as_object_mut() {
                        member.remove("user");
                    }
                    members.insert(id.to_string(), member);
                }
            }
            data["resolved"] = json!({ "users": resolved_users, "members": members });
        }
        let id = self.new_interaction(2, channel, user.id, None);
        let payload = self.interaction_json(id, 2, channel, user.id, data);
        self.dispatch("INTERACTION_CREATE", |_, _| Some(payload.clone()))?;
        Ok(id)
    }

    /// Dispatches a button click.
    pub fn click(
        &mut self,
        channel: u64,
        user: &FakeUser,
        message_id: u64,
        custom_id: &str,
    ) -> Result<u64, String> {
        let msg = self
            .live_message(channel, message_id)
            .ok_or("no such message")?
            .clone();
        let component = msg.component(custom_id).ok_or("no such component")?;
        if component["type"] != 2 {
            return Err(format!(
                "component {custom_id:?} is not a button: {component}"
            ));
        }
        if component["disabled"] == true {
            return Err("the button is disabled: a Discord user cannot click it".to_string());
        }
        if msg.ephemeral() {
            let invoker = msg
                .interaction
                .and_then(|i| self.interactions.get(&i))
                .map(|i| i.user);
            if invoker != Some(user.id) {
                return Err(format!(
                    "the message is ephemeral: only user {invoker:?} sees it"
                ));
            }
        }
        self.remember(user);
        let id = self.new_interaction(3, channel, user.id, Some(message_id));
        let data = json!({ "custom_id": custom_id, "component_type": 2 });
        let mut payload = self.interaction_json(id, 3, channel, user.id, data);
        payload["message"] = self.message_json(&msg, false);
        self.dispatch("INTERACTION_CREATE", |_, _| Some(payload.clone()))?;
        Ok(id)
    }

    /// Dispatches a modal submit for a modal the bot opened.
    pub fn submit_modal(
        &mut self,
        channel: u64,
        user: &FakeUser,
        modal: OpenModal,
        fields: &[(&str, &str)],
    ) -> Result<u64, String> {
        let inputs = checks::modal_inputs(&modal.modal);
        let ids: Vec<&str> = inputs
            .iter()
            .filter_map(|i| i["custom_id"].as_str())
            .collect();
        if let Some((unknown, _)) = fields.iter().find(|(id, _)| !ids.contains(id)) {
            return Err(format!(
                "the modal has no input {unknown:?} (it has {ids:?})"
            ));
        }
        let mut rows = Vec::new();
        for input in &inputs {
            let id = input["custom_id"].as_str().unwrap_or_default();
            let value = fields
                .iter()
                .find(|(f, _)| *f == id)
                .map_or("", |(_, v)| *v);
            let length = value.chars().count() as u64;
            if value.is_empty() && input["required"] != false {
                return Err(format!("input {id:?} is required"));
            }
            let short = input["min_length"]
                .as_u64()
                .is_some_and(|min| length < min && length > 0);
            let long = input["max_length"].as_u64().is_some_and(|max| length > max);
            if short || long {
                return Err(format!(
                    "input {id:?}: {value:?} has a length out of bounds"
                ));
            }
            rows.push(json!({
                "type": 1,
                "components": [{ "type": 4, "custom_id": id, "value": value }],
            }));
        }
        self.remember(user);
        let id = self.new_interaction(5, channel, user.id, modal.source_message);
        let data = json!({ "custom_id": modal.custom_id, "components": rows });
        let mut payload = self.interaction_json(id, 5, channel, user.id, data);
        if let Some(source) = modal.source_message.and_then(|m| self.find_message(m)) {
            payload["message"] = self.message_json(source, false);
        }
        self.dispatch("INTERACTION_CREATE", |_, _| Some(payload.clone()))?;
        Ok(id)
    }

    /// `POST /interactions/{id}/{token}/callback`.
    pub fn callback(&mut self, id: &str, token: &str, incoming: &Incoming, now: Instant) -> Answer {
        let unknown = || Reply::error(404, 10062, "Unknown interaction");
        let id: u64 = id.parse().map_err(|_| unknown())?;
        let it = self.interactions.get(&id).ok_or_else(unknown)?;
        // Late only when both clocks say so. Discord counts real time; the
        // tests run on tokio's paused clock, which jumps ahead whenever the
        // runtime waits for I/O (the answer's own request over loopback), so
        // virtual time alone would call a 5 ms answer late.
        let late = now.duration_since(it.created_at) > FIRST_RESPONSE
            && it.created_real.elapsed() > FIRST_RESPONSE;
        if it.token != token || late {
            return Err(unknown());
        }
        if it.acknowledged {
            return Err(Reply::error(
                400,
                40060,
                "Interaction has already been acknowledged.",
            ));
        }
        let (kind, channel, user, source) = (it.kind, it.channel, it.user, it.source_message);
        let body = &incoming.json;
        let data = &body["data"];
        let component = kind != 2 && source.is_some();
        let original = match body["type"].as_u64() {
            // A message.
            Some(4) => {
                checks::message_payload(data, &incoming.files, "data.")?;
                let mut msg = FakeMessage::new(self.next_id(), channel, FakeDiscord::BOT_ID, now);
                msg.interaction = Some(id);
                self.apply_payload(&mut msg, data, &incoming.files, true);
                checks::not_empty(&msg)?;
                Some(self.store_response(msg))
            }
            // "Thinking...", to be replaced later.
            Some(5) => {
                let mut msg = FakeMessage::new(self.next_id(), channel, FakeDiscord::BOT_ID, now);
                msg.interaction = Some(id);
                msg.flags = LOADING | (data["flags"].as_u64().unwrap_or(0) & EPHEMERAL);
                Some(self.store_response(msg))
            }
            // Acknowledge a component, edit its message later.
            Some(6) if component => source,
            // Edit the component's message now.
            Some(7) if component => {
                let source = source.unwrap_or_default();
                checks::message_payload(data, &incoming.files, "data.")?;
                let mut msg = self
                    .find_message(source)
                    .filter(|m| !m.deleted)
                    .ok_or_else(Reply::unknown_message)?
                    .clone();
                self.apply_payload(&mut msg, data, &incoming.files, false);
                checks::not_empty(&msg)?;
                State::mark_edited(&mut msg, now);
                self.replace(msg.clone());
                self.announce_update(&msg);
                Some(source)
            }
            Some(6 | 7) => {
                return Err(Reply::invalid_field(
                    "type",
                    "INTERACTION_RESPONSE_TYPE_INVALID",
                    "Response types 6 and 7 only answer message components",
                ));
            }
            // A modal.
            Some(9) if kind != 5 => {
                checks::modal(data)?;
                self.open_modals.push(OpenModal {
                    user,
                    custom_id: data["custom_id"].as_str().unwrap_or_default().to_string(),
                    modal: data.clone(),
                    source_message: if kind == 3 { source } else { None },
                });
                None
            }
            Some(9) => {
                return Err(Reply::invalid_field(
                    "type",
                    "INTERACTION_RESPONSE_TYPE_INVALID",
                    "A modal submit cannot be answered with a modal",
                ));
            }
            _ => {
                return Err(Reply::invalid_field(
                    "type",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {4, 5, 6, 7, 8, 9, 10, 12}.",
                ));
            }
        };
        let it = self.interactions.get_mut(&id).ok_or_else(unknown)?;
        it.acknowledged = true;
        it.original = original;
        it.log.push(InteractionResponse {
            kind: ResponseKind::Callback,
            body: body.clone(),
            at: now,
        });
        Ok(Reply::no_content())
    }

    /// Stores a response message and announces it; returns its id.
    fn store_response(&mut self, msg: FakeMessage) -> u64 {
        let id = msg.id;
        self.channel(msg.channel_id).messages.push(msg.clone());
        report(self.announce_create(&msg));
        id
    }

    /// `/webhooks/{app}/{token}` and below: follow-ups, and the original
    /// response and follow-ups by id.
    pub fn webhook(
        &mut self,
        method: &str,
        app: &str,
        token: &str,
        rest: &[&str],
        incoming: &Incoming,
        now: Instant,
    ) -> Answer {
        if app.parse::<u64>() != Ok(FakeDiscord::APP_ID) {
            return Err(Reply::error(404, 10015, "Unknown Webhook"));
        }
        let invalid_token = || Reply::error(401, 50027, "Invalid Webhook Token");
        let id = *self.tokens.get(token).ok_or_else(invalid_token)?;
        let it = &self.interactions[&id];
        if now.duration_since(it.created_at) > TOKEN_LIFETIME {
            return Err(invalid_token());
        }
        match (method, rest) {
            ("POST", []) => self.followup(id, incoming, now),
            (method, ["messages", "@original"]) => {
                let original = it.original.ok_or_else(Reply::unknown_message)?;
                self.webhook_message(id, method, original, true, incoming, now)
            }
            (method, ["messages", message]) => {
                let message = message
                    .parse::<u64>()
                    .map_err(|_| Reply::unknown_message())?;
                if it.original != Some(message) && !it.followups.contains(&message) {
                    return Err(Reply::unknown_message());
                }
                self.webhook_message(id, method, message, false, incoming, now)
            }
            _ => Err(Reply::not_found()),
        }
    }

    /// `POST /webhooks/{app}/{token}`: a follow-up; the first one after a
    /// deferred response replaces the "thinking" message.
    fn followup(&mut self, id: u64, incoming: &Incoming, now: Instant) -> Answer {
        let it = &self.interactions[&id];
        if !it.acknowledged {
            return Err(Reply::error(404, 10015, "Unknown Webhook"));
        }
        let channel = it.channel;
        checks::message_payload(&incoming.json, &incoming.files, "")?;
        let thinking = it
            .original
            .and_then(|m| self.find_message(m))
            .filter(|m| m.loading() && !m.deleted)
            .cloned();
        let msg = match thinking {
            Some(mut msg) => {
                self.apply_payload(&mut msg, &incoming.json, &incoming.files, false);
                msg.flags &= !LOADING;
                checks::not_empty(&msg)?;
                State::mark_edited(&mut msg, now);
                self.replace(msg.clone());
                self.announce_update(&msg);
                msg
            }
            None => {
                let mut msg = FakeMessage::new(self.next_id(), channel, FakeDiscord::BOT_ID, now);
                msg.interaction = Some(id);
                self.apply_payload(&mut msg, &incoming.json, &incoming.files, true);
                msg.flags &= CREATE_FLAGS;
                checks::not_empty(&msg)?;
                self.store_response(msg.clone());
                if let Some(it) = self.interactions.get_mut(&id) {
                    it.followups.push(msg.id);
                }
                msg
            }
        };
        self.log(id, ResponseKind::Followup, incoming.json.clone(), now);
        Ok(Reply::json(self.message_json(&msg, false)))
    }

    /// GET, PATCH or DELETE of the original response or a follow-up.
    fn webhook_message(
        &mut self,
        id: u64,
        method: &str,
        message: u64,
        original: bool,
        incoming: &Incoming,
        now: Instant,
    ) -> Answer {
        let mut msg = self
            .find_message(message)
            .filter(|m| !m.deleted)
            .ok_or_else(Reply::unknown_message)?
            .clone();
        match method {
            "GET" => Ok(Reply::json(self.message_json(&msg, false))),
            "PATCH" => {
                checks::message_payload(&incoming.json, &incoming.files, "")?;
                self.apply_payload(&mut msg, &incoming.json, &incoming.files, false);
                msg.flags &= !LOADING;
                checks::not_empty(&msg)?;
                State::mark_edited(&mut msg, now);
                self.replace(msg.clone());
                self.announce_update(&msg);
                let kind = if original {
                    ResponseKind::EditOriginal
                } else {
                    ResponseKind::EditFollowup
                };
                self.log(id, kind, incoming.json.clone(), now);
                Ok(Reply::json(self.message_json(&msg, false)))
            }
            "DELETE" => {
                msg.deleted = true;
                msg.deleted_at = Some(now);
                self.replace(msg.clone());
                self.announce_delete(&msg);
                let kind = if original {
                    ResponseKind::DeleteOriginal
                } else {
                    ResponseKind::DeleteFollowup
                };
                self.log(id, kind, Value::Null, now);
                Ok(Reply::no_content())
            }
            _ => Err(Reply::not_found()),
        }
    }

    fn log(&mut self, id: u64, kind: ResponseKind, body: Value, at: Instant) {
        if let Some(it) = self.interactions.get_mut(&id) {
            it.log.push(InteractionResponse { kind, body, at });
        }
    }
}

/// The ids given to user options (type 6), through subcommands.
fn user_options(options: &Value, users: &mut Vec<u64>) {
    for option in options.as_array().into_iter().flatten() {
        match option["type"].as_u64() {
            Some(1 | 2) => user_options(&option["options"], users),
            Some(6) => users.extend(id_of(&option["value"])),
            _ => {}
        }
    }
}
