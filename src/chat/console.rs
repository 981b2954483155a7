//! The console as a chat channel: standard input in, standard output out.
//!
//! On a terminal it is a line editor with history (rustyline); from a pipe it
//! reads plain lines, so a whole conversation can be scripted. `@name: TEXT`
//! speaks as user `name`, a plain line as the default user. Output is written
//! line by line with a speaker prefix, so deployment progress that streams in
//! between reads clearly.

use std::io::Write;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{ChatError, ChatPort, Incoming, Message};

/// The console channel's name.
pub const CHANNEL: &str = "console";

/// Prints messages to standard output (or any writer, for tests).
pub struct Console {
    out: Mutex<Box<dyn Write + Send>>,
}

impl Console {
    pub fn stdout() -> Console {
        Console::to(Box::new(std::io::stdout()))
    }

    pub fn to(out: Box<dyn Write + Send>) -> Console {
        Console {
            out: Mutex::new(out),
        }
    }
}

#[async_trait]
impl ChatPort for Console {
    async fn send(&self, message: Message) -> Result<(), ChatError> {
        let prefix = match &message.private_to {
            Some(user) => format!("switchyard (only to {user}): "),
            None => "switchyard: ".to_string(),
        };
        let indent = " ".repeat(prefix.chars().count());
        let body = message.text.replace('\n', &format!("\n{indent}"));
        let mut out = self
            .out
            .lock()
            .map_err(|_| ChatError::Unavailable("console lock".into()))?;
        writeln!(out, "{prefix}{body}").map_err(|e| ChatError::Unavailable(e.to_string()))?;
        out.flush()
            .map_err(|e| ChatError::Unavailable(e.to_string()))
    }
}

/// Reads one console line as a chat message: `@name: TEXT` speaks as `name`
/// (unless `name` is the bot, which makes it a mention), anything else as
/// `default_user`.
pub fn incoming(line: &str, default_user: &str, bot: &str) -> Incoming {
    let line = line.trim_end_matches(['\n', '\r']);
    if let Some(rest) = line.strip_prefix('@')
        && let Some((name, text)) = rest.split_once(':')
        && !name.is_empty()
        && !name.eq_ignore_ascii_case(bot)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Incoming {
            channel: CHANNEL.into(),
            user: name.to_string(),
            text: text.trim_start().to_string(),
        };
    }
    Incoming {
        channel: CHANNEL.into(),
        user: default_user.to_string(),
        text: line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_prefix_speaks_as_that_user_and_the_bot_name_is_a_mention() {
        assert_eq!(
            incoming("@bob: approve\n", "alice", "switchyard").user,
            "bob"
        );
        assert_eq!(
            incoming("@bob: approve", "alice", "switchyard").text,
            "approve"
        );
        let mention = incoming("@switchyard: status", "alice", "switchyard");
        assert_eq!(
            (mention.user.as_str(), mention.text.as_str()),
            ("alice", "@switchyard: status")
        );
        assert_eq!(incoming("status", "alice", "switchyard").user, "alice");
    }
}
