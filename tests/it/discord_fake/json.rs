//! The JSON the fake sends: users, members, messages, interactions, READY,
//! in the shapes serenity 0.12.5's models require (ids as strings, every
//! non-`Option` field present).

use serde_json::{Value, json};

use super::FakeDiscord;
use super::state::{FakeMessage, State};

/// View channel, send messages, embed links, attach files, read history,
/// add reactions, use application commands: what a member has.
pub(super) const MEMBER_PERMISSIONS: u64 =
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 6) | (1 << 31);
/// A member's, plus manage messages and mention everyone: what the bot has.
pub(super) const BOT_PERMISSIONS: u64 = MEMBER_PERMISSIONS | (1 << 13) | (1 << 17);
/// Discord's upload limit for a guild without boosts (10 MiB).
pub(super) const ATTACHMENT_SIZE_LIMIT: usize = 10 * 1024 * 1024;
/// When every member joined the guild.
const JOINED_AT: &str = "2024-01-01T00:00:00.000Z";

impl State {
    /// The `ws://` URL of the gateway.
    pub fn gateway_url(&self) -> String {
        format!("{}/gateway", self.base.replacen("http://", "ws://", 1))
    }

    /// A user object: the bot, a user tests injected, or a stranger named
    /// `user{id}`.
    pub fn user_json(&self, id: u64) -> Value {
        if id == FakeDiscord::BOT_ID {
            return json!({
                "id": id.to_string(),
                "username": "switchyard",
                "discriminator": "0000",
                "global_name": null,
                "avatar": null,
                "bot": true,
            });
        }
        let name = self
            .users
            .get(&id)
            .map_or_else(|| format!("user{id}"), |u| u.name.clone());
        json!({
            "id": id.to_string(),
            "username": name,
            "discriminator": "0",
            "global_name": name,
            "avatar": null,
            "bot": false,
        })
    }

    /// A guild member object. Message events carry it without `user` and
    /// `permissions`; interactions with both.
    pub fn member_json(&self, user: u64, in_interaction: bool) -> Value {
        let roles: Vec<String> = self
            .users
            .get(&user)
            .map(|u| u.roles.iter().map(u64::to_string).collect())
            .unwrap_or_default();
        let mut member = json!({
            "roles": roles,
            "joined_at": JOINED_AT,
            "premium_since": null,
            "nick": null,
            "avatar": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
        });
        if in_interaction {
            member["user"] = self.user_json(user);
            let permissions = if user == FakeDiscord::BOT_ID {
                BOT_PERMISSIONS
            } else {
                MEMBER_PERMISSIONS
            };
            member["permissions"] = json!(permissions.to_string());
        }
        member
    }

    /// A message object. REST answers carry no `guild_id` (as Discord's
    /// don't); gateway events in guild channels carry `guild_id` and the
    /// author's `member`.
    pub fn message_json(&self, msg: &FakeMessage, gateway: bool) -> Value {
        let attachments: Vec<Value> = msg
            .attachments
            .iter()
            .zip(&msg.attachment_ids)
            .map(|((filename, bytes), id)| {
                let url = format!(
                    "{}/attachments/{}/{id}/{filename}",
                    self.base, msg.channel_id
                );
                json!({
                    "id": id.to_string(),
                    "filename": filename,
                    "size": bytes.len(),
                    "url": url,
                    "proxy_url": url,
                    "content_type": content_type(filename),
                })
            })
            .collect();
        let kind = if msg.reference.is_some() {
            19 // reply
        } else if msg
            .interaction
            .and_then(|i| self.interactions.get(&i))
            .is_some_and(|i| i.kind == 2)
        {
            20 // response to a slash command
        } else {
            0
        };
        let mut json = json!({
            "id": msg.id.to_string(),
            "channel_id": msg.channel_id.to_string(),
            "author": self.user_json(msg.author_id),
            "content": msg.content,
            "timestamp": msg.timestamp,
            "edited_timestamp": msg.edited_timestamp,
            "tts": false,
            "mention_everyone": msg.mention_everyone,
            "mentions": msg.mentions.iter().map(|&u| self.user_json(u)).collect::<Vec<_>>(),
            "mention_roles": msg.mention_roles.iter().map(u64::to_string).collect::<Vec<_>>(),
            "attachments": attachments,
            "embeds": msg.embeds,
            "components": msg.components,
            "pinned": false,
            "type": kind,
            "flags": msg.flags,
        });
        let guild = self.dm_user(msg.channel_id).is_none();
        if let Some(reference) = msg.reference {
            json["message_reference"] = json!({
                "message_id": reference.to_string(),
                "channel_id": msg.channel_id.to_string(),
            });
            if guild {
                json["message_reference"]["guild_id"] = json!(FakeDiscord::GUILD_ID.to_string());
            }
        }
        if msg.interaction.is_some() {
            json["webhook_id"] = json!(FakeDiscord::APP_ID.to_string());
            json["application_id"] = json!(FakeDiscord::APP_ID.to_string());
        }
        if gateway && guild {
            json["guild_id"] = json!(FakeDiscord::GUILD_ID.to_string());
            json["member"] = self.member_json(msg.author_id, false);
        }
        json
    }

    /// An interaction object of `kind` (2 command, 3 component, 5 modal
    /// submit) by `user` in `channel`.
    pub fn interaction_json(
        &self,
        id: u64,
        kind: u8,
        channel: u64,
        user: u64,
        data: Value,
    ) -> Value {
        let token = &self.interactions[&id].token;
        let dm = self.dm_user(channel).is_some();
        let mut json = json!({
            "id": id.to_string(),
            "application_id": FakeDiscord::APP_ID.to_string(),
            "type": kind,
            "data": data,
            "channel_id": channel.to_string(),
            "channel": {
                "id": channel.to_string(),
                "type": if dm { 1 } else { 0 },
                "name": if dm { Value::Null } else { json!(format!("channel-{channel}")) },
            },
            "token": token,
            "version": 1,
            "app_permissions": BOT_PERMISSIONS.to_string(),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        });
        if dm {
            json["user"] = self.user_json(user);
            json["context"] = json!(1);
            json["authorizing_integration_owners"] = json!({ "0": "0" });
        } else {
            json["guild_id"] = json!(FakeDiscord::GUILD_ID.to_string());
            json["guild_locale"] = json!("en-US");
            json["member"] = self.member_json(user, true);
            json["context"] = json!(0);
            json["authorizing_integration_owners"] =
                json!({ "0": FakeDiscord::GUILD_ID.to_string() });
        }
        json
    }

    /// READY's `d` for a connection.
    pub fn ready_json(&self, session_id: &str) -> Value {
        let mut user = self.user_json(FakeDiscord::BOT_ID);
        user["verified"] = json!(true);
        user["mfa_enabled"] = json!(false);
        user["flags"] = json!(0);
        json!({
            "v": 10,
            "user": user,
            "guilds": [{ "id": FakeDiscord::GUILD_ID.to_string(), "unavailable": true }],
            "session_id": session_id,
            "resume_gateway_url": self.gateway_url(),
            "private_channels": [],
            "application": { "id": FakeDiscord::APP_ID.to_string(), "flags": 0 },
        })
    }

    /// `GET /oauth2/applications/@me`: a valid `CurrentApplicationInfo`.
    pub fn application_json(&self) -> Value {
        json!({
            "id": FakeDiscord::APP_ID.to_string(),
            "name": "switchyard",
            "icon": null,
            "description": "",
            "rpc_origins": [],
            "bot_public": false,
            "bot_require_code_grant": false,
            "owner": {
                "id": FakeDiscord::OWNER_ID.to_string(),
                "username": "owner",
                "discriminator": "0",
                "global_name": "owner",
                "avatar": null,
            },
            "verify_key": "0".repeat(64),
            "team": null,
            "flags": 0,
        })
    }
}

/// A MIME type from a file name's extension, as Discord guesses it.
fn content_type(filename: &str) -> &'static str {
    let extension = filename.rsplit('.').next().unwrap_or_default();
    match extension.to_ascii_lowercase().as_str() {
        "txt" | "log" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "csv" => "text/csv; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        _ => "application/octet-stream",
    }
}
