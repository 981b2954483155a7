//! Chat, seen from the agent: messages in, messages out, through a [`ChatPort`]
//! that each platform implements ([`console`] here; Discord next).
//!
//! The core builds a platform-neutral [`Message`]; the adapter renders it. A
//! message says whom it means to ping (never `@everyone`, never a role from
//! echoed text) and whether it is private to one user (MFA enrolment secrets),
//! so adapters can honour both the way their platform does.

pub mod console;

use async_trait::async_trait;

/// A line someone typed, as the agent receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub channel: String,
    /// The configured user name the platform identity maps to.
    pub user: String,
    pub text: String,
}

/// What the agent says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub channel: String,
    pub text: String,
    /// Users this message means to notify (approvers for an approval request).
    pub mentions: Vec<String>,
    /// Shown only to this user (an enrolment secret, a lockout notice).
    pub private_to: Option<String>,
}

impl Message {
    pub fn to_channel(channel: &str, text: impl Into<String>) -> Message {
        Message {
            channel: channel.to_string(),
            text: text.into(),
            mentions: Vec::new(),
            private_to: None,
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
}
