//! Application commands under `/applications/{app}/`: bulk overwrite
//! (PUT), list (GET), create one (POST), delete one (DELETE), for the guild
//! and globally. Stored as sent plus what Discord fills in: `id` (kept
//! across overwrites for the same name and type), `application_id`,
//! `guild_id`, `version`, `type`, and defaults serenity's `Command` needs.

use serde_json::{Value, json};

use super::rest::{Answer, Reply};
use super::state::State;
use super::{FakeDiscord, checks};

impl State {
    /// Everything under `/applications/{app}/`.
    pub fn commands_route(
        &mut self,
        method: &str,
        app: &str,
        rest: &[&str],
        body: &Value,
    ) -> Answer {
        if app.parse::<u64>() != Ok(FakeDiscord::APP_ID) {
            return Err(Reply::error(403, 50001, "Missing Access"));
        }
        let (guild, rest) = match rest {
            ["guilds", guild, rest @ ..] => {
                let guild: u64 = guild.parse().map_err(|_| Reply::not_found())?;
                if guild != FakeDiscord::GUILD_ID {
                    return Err(Reply::error(403, 50001, "Missing Access"));
                }
                (Some(guild), rest)
            }
            rest => (None, rest),
        };
        match (method, rest) {
            ("GET", ["commands"]) => {
                Ok(Reply::json(Value::Array(self.command_list(guild).clone())))
            }
            ("PUT", ["commands"]) => {
                checks::commands(body)?;
                let previous = self.command_list(guild).clone();
                let stored: Vec<Value> = body
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|command| self.complete(guild, command, &previous))
                    .collect();
                *self.command_list(guild) = stored.clone();
                Ok(Reply::json(Value::Array(stored)))
            }
            ("POST", ["commands"]) => {
                checks::command(body)?;
                let previous = self.command_list(guild).clone();
                let stored = self.complete(guild, body, &previous);
                let list = self.command_list(guild);
                list.retain(|c| c["id"] != stored["id"]);
                list.push(stored.clone());
                Ok(Reply::json(stored))
            }
            ("GET" | "DELETE", ["commands", id]) => {
                let list = self.command_list(guild);
                let at = list
                    .iter()
                    .position(|c| c["id"] == *id)
                    .ok_or_else(|| Reply::error(404, 10063, "Unknown application command"))?;
                if method == "GET" {
                    Ok(Reply::json(list[at].clone()))
                } else {
                    list.remove(at);
                    Ok(Reply::no_content())
                }
            }
            _ => Err(Reply::not_found()),
        }
    }

    /// The guild's command list, or the global one.
    fn command_list(&mut self, guild: Option<u64>) -> &mut Vec<Value> {
        match guild {
            Some(guild) => self.guild_commands.entry(guild).or_default(),
            None => &mut self.global_commands,
        }
    }

    /// A command as Discord stores it.
    fn complete(&mut self, guild: Option<u64>, command: &Value, previous: &[Value]) -> Value {
        let kind = command["type"].as_u64().unwrap_or(1);
        let id = previous
            .iter()
            .find(|p| p["name"] == command["name"] && p["type"] == kind)
            .map_or_else(|| json!(self.next_id().to_string()), |p| p["id"].clone());
        let mut stored = command.clone();
        let defaults = [
            ("description", json!("")),
            ("options", json!([])),
            ("default_member_permissions", Value::Null),
            ("nsfw", json!(false)),
        ];
        if let Some(object) = stored.as_object_mut() {
            for (key, value) in defaults {
                if object.get(key).is_none_or(Value::is_null) {
                    object.insert(key.to_string(), value);
                }
            }
        }
        stored["id"] = id;
        stored["type"] = json!(kind);
        stored["application_id"] = json!(FakeDiscord::APP_ID.to_string());
        stored["version"] = json!(self.next_id().to_string());
        if let Some(guild) = guild {
            stored["guild_id"] = json!(guild.to_string());
        }
        stored
    }
}
