//! Chat, seen from the agent: messages in, messages out, through a [`ChatPort`]
//! that each platform implements ([`console`], [`discord`]).
//!
//! The core builds a platform-neutral [`Message`]; the adapter renders it. A
//! message says whom it means to ping (never `@everyone`, never a role from
//! echoed text) and whether it is private to one user (MFA enrolment secrets),
//! so adapters can honour both the way their platform does.

pub mod console;
pub mod discord;

use async_trait::async_trait;

/// A line someone typed, as the agent receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub channel: String,
    /// Who spoke, as the platform names them (`@BOB:`, the user a Discord id
    /// maps to); the agent identifies them against `[[users]]` in any case.
    pub user: String,
    pub text: String,
}

/// What the agent says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub channel: String,
    pub text: String,
    /// Users this message means to notify (approvers for an approval request).
    pub mentions: Vec<String>,
    /// Shown only to this user (an enrolment secret, a lockout notice).
    pub private_to: Option<String>,
    /// The question this message asks, so a platform can offer buttons.
    pub asks: Option<Ask>,
    /// The deployment this message reports on, and whether it is routine
    /// progress (`live`: a platform may fold it into one status message edited
    /// in place) or something a person must see as a new message (a rollback,
    /// the final result).
    pub deployment: Option<Progress>,
    /// Files that go with the text (the QR code of an enrolment).
    pub attachments: Vec<Attachment>,
}

/// A question the agent waits on, and whose answer it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskKind {
    /// yes / no.
    Confirm,
    /// A TOTP code: never to be typed where others can read it.
    Code,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub kind: AskKind,
    /// The one user who may answer.
    pub user: String,
}

/// Which deployment a message is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub id: i64,
    pub env: String,
    /// Routine progress rather than news.
    pub live: bool,
    /// Percent of traffic on the new version, when this message moved it.
    pub percent: Option<u8>,
    /// The deployment's last message: nothing more will follow.
    pub done: bool,
    /// What the live message is headed with, instead of the deployment's
    /// number (a checklist still running has no deployment yet).
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What the notification channel of an environment hears about, wherever the
/// change came from (chat, the CLI, an automatic rollback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub env: String,
    pub text: String,
    /// Users this notice means to ping (approvers of an approval request).
    pub mentions: Vec<String>,
}

impl Message {
    pub fn to_channel(channel: &str, text: impl Into<String>) -> Message {
        Message {
            channel: channel.to_string(),
            text: text.into(),
            ..Message::default()
        }
    }

    pub fn private(channel: &str, user: &str, text: impl Into<String>) -> Message {
        Message {
            private_to: Some(user.to_string()),
            ..Message::to_channel(channel, text)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("chat is unavailable: {0}")]
    Unavailable(String),
}

/// Where the agent's messages go.
#[async_trait]
pub trait ChatPort: Send + Sync {
    async fn send(&self, message: Message) -> Result<(), ChatError>;

    /// Tells the environment's notification channel, if the platform has one
    /// (the console shows everything already, so it has none).
    async fn notify(&self, _notice: Notice) -> Result<(), ChatError> {
        Ok(())
    }

    /// True while the platform connection is up (for `/readyz`); adapters
    /// without a connection (the console) are always connected.
    fn connected(&self) -> bool {
        true
    }
}
