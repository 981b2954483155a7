//! The `[discord]` section: how switchyard joins a Discord server. The bot
//! token comes from the environment; guilds get the slash commands; channels
//! limit where commands are read; each environment may have a notification
//! channel; Discord user ids map to configured users (anyone else may read
//! help and nothing more). Ids are Discord snowflakes, written as strings
//! because TOML integers would invite rounding by other tools.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::Diagnostic;
use super::model::Config;
use super::secret::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discord {
    /// The bot token: `{ env = "DISCORD_TOKEN" }`.
    pub token: Secret,
    /// Servers (guild ids) where the slash commands are registered at start-up.
    #[serde(default)]
    pub guilds: Vec<String>,
    /// Channel ids where commands are read; empty: every channel the bot sees.
    #[serde(default)]
    pub channels: Vec<String>,
    /// A word that starts a command without mentioning the bot (`!sy status`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Environment -> the channel id that hears its deployments, approvals and locks.
    #[serde(default)]
    pub notifications: BTreeMap<String, String>,
    /// Discord user id -> configured user name.
    #[serde(default)]
    pub users: BTreeMap<String, String>,
    /// Give each deployment a thread for its details.
    #[serde(default)]
    pub threads: bool,
    /// How long one Discord request may take before it is given up.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Where the Discord API is: only for a local stand-in in tests, never set
    /// in production (the default is Discord itself).
    #[serde(default)]
    pub api_base: Option<String>,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

impl Discord {
    /// The configured user a Discord user id stands for.
    pub fn user_for(&self, discord_id: u64) -> Option<&str> {
        self.users.get(&discord_id.to_string()).map(String::as_str)
    }

    /// The Discord user id of a configured user.
    pub fn id_of(&self, user: &str) -> Option<u64> {
        self.users
            .iter()
            .find(|(_, name)| name.as_str() == user)
            .and_then(|(id, _)| id.parse().ok())
    }
}

/// Discord's limits that configuration can break (its developer docs), in
/// characters unless said otherwise.
pub mod limits {
    /// A button's or modal's custom id.
    pub const CUSTOM_ID: usize = 100;
    /// A slash-command choice's name, and its value.
    pub const CHOICE: usize = 100;
    /// Choices one option offers (a count).
    pub const CHOICES: usize = 25;
    /// A command's or option's description, which must not be empty either.
    pub const DESCRIPTION: usize = 100;
}

/// What one of the bot's buttons (or the code modal) answers. Its custom id,
/// which Discord hands back on a click, names the answer and the one user
/// who may give it: `sy:{answer}:{user}`. Made and read only here, so
/// check-config measures exactly what the adapter sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Yes,
    No,
    /// "Enter code": opens the modal, whose custom id is the same.
    Code,
}

impl Control {
    pub const ALL: [Control; 3] = [Control::Yes, Control::No, Control::Code];

    fn word(self) -> &'static str {
        match self {
            Control::Yes => "yes",
            Control::No => "no",
            Control::Code => "code",
        }
    }

    /// The answer as typed: `yes`, `no`.
    pub fn answer(self) -> &'static str {
        self.word()
    }

    pub fn custom_id(self, user: &str) -> String {
        format!("sy:{}:{user}", self.word())
    }

    /// The control and its user, from a custom id the bot made.
    pub fn read(custom_id: &str) -> Option<(Control, &str)> {
        let (word, user) = custom_id.strip_prefix("sy:")?.split_once(':')?;
        let control = Control::ALL.into_iter().find(|c| c.word() == word)?;
        Some((control, user))
    }

    /// The longest custom id the bot makes for `user`.
    pub fn longest_custom_id(user: &str) -> usize {
        Control::ALL
            .iter()
            .map(|c| c.custom_id(user).chars().count())
            .max()
            .unwrap_or_default()
    }
}

/// A Discord id: 17 to 20 digits.
fn is_snowflake(id: &str) -> bool {
    (17..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// Errors and warnings about `[discord]`, each naming its key.
pub(super) fn check(d: &Discord, config: &Config) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let snowflake = "is not a Discord id (17 to 20 digits, written as a string)";
    for (i, id) in d.guilds.iter().enumerate() {
        if !is_snowflake(id) {
            errors.push(Diagnostic::new(format!("discord.guilds[{i}]"), snowflake));
        }
    }
    for (i, id) in d.channels.iter().enumerate() {
        if !is_snowflake(id) {
            errors.push(Diagnostic::new(format!("discord.channels[{i}]"), snowflake));
        }
    }
    for (env, channel) in &d.notifications {
        let key = format!("discord.notifications.{env}");
        if config.environment(env).is_none() {
            errors.push(Diagnostic::new(
                &key,
                format!("`{env}` is not a configured environment"),
            ));
        }
        if !is_snowflake(channel) {
            errors.push(Diagnostic::new(&key, snowflake));
        }
    }
    for (id, user) in &d.users {
        let key = format!("discord.users.{id}");
        if !is_snowflake(id) {
            errors.push(Diagnostic::new(
                &key,
                "the key is not a Discord user id (17 to 20 digits)",
            ));
        }
        if config.user(user).is_none() {
            errors.push(Diagnostic::new(
                &key,
                format!("`{user}` is not in [[users]]"),
            ));
        }
    }
    if let Some(prefix) = &d.prefix
        && (prefix.trim().is_empty() || prefix.chars().any(char::is_whitespace))
    {
        errors.push(Diagnostic::new(
            "discord.prefix",
            "must be one word, like \"!sy\"",
        ));
    }
    if d.guilds.is_empty() {
        warnings.push(Diagnostic::new(
            "discord.guilds",
            "is empty: no slash commands are registered (mentions and the prefix still work)",
        ));
    }
    if d.users.is_empty() {
        warnings.push(Diagnostic::new(
            "discord.users",
            "is empty: nobody on Discord can do more than read help",
        ));
    }
    discord_limits(config, &mut errors, &mut warnings);
    if d.api_base.is_some() {
        warnings.push(Diagnostic::new(
            "discord.api_base",
            "set: every Discord call goes to this address instead of Discord (for a local stand-in only)",
        ));
    }
    (errors, warnings)
}

/// What Discord would refuse, or could not offer, because of names chosen in
/// the rest of the file.
fn discord_limits(config: &Config, errors: &mut Vec<Diagnostic>, warnings: &mut Vec<Diagnostic>) {
    use limits::{CHOICE, CHOICES, CUSTOM_ID};
    for (i, user) in config.users.iter().enumerate() {
        let longest = Control::longest_custom_id(&user.name);
        if longest > CUSTOM_ID {
            let room = CUSTOM_ID - Control::longest_custom_id("");
            errors.push(Diagnostic::new(
                format!("users[{i}].name"),
                format!(
                    "is {} characters: the buttons and code modal that answer this user's \
                     questions would have a {longest}-character custom id, and Discord refuses more than \
                     {CUSTOM_ID}; use at most {room} characters",
                    user.name.chars().count()
                ),
            ));
        }
    }
    for (i, env) in config.environments.iter().enumerate() {
        let length = env.name.chars().count();
        if length > CHOICE {
            errors.push(Diagnostic::new(
                format!("environments[{i}].name"),
                format!(
                    "is {length} characters: slash commands offer it as a choice, and \
                     Discord refuses a choice over {CHOICE} (and with it every command)"
                ),
            ));
        }
    }
    let unoffered: Vec<String> = config
        .environments
        .iter()
        .skip(CHOICES)
        .map(|env| format!("`{}`", env.name))
        .collect();
    if !unoffered.is_empty() {
        warnings.push(Diagnostic::new(
            "environments",
            format!(
                "{} environments, but a slash-command option offers at most {CHOICES}: \
                 {} cannot be chosen by slash command (typed commands still reach them)",
                config.environments.len(),
                unoffered.join(", ")
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_are_17_to_20_digits() {
        assert!(is_snowflake("123456789012345678"));
        assert!(!is_snowflake("12345"));
        assert!(!is_snowflake("12345678901234567x"));
    }
}
