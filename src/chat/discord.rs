//! The agent in a Discord server, through serenity: everything the console
//! can do, the way Discord users expect it, within Discord's limits.
//!
//! Commands arrive as messages that mention the bot (or start with the
//! configured prefix) and as slash commands generated from the grammar
//! ([`commands`]); answers to the bot's questions may be typed plainly, or
//! given with buttons (Proceed / Cancel) and, for TOTP codes, through a modal
//! only the asker sees ([`gateway`]). A code typed into a channel anyway is
//! deleted. Each deployment's progress lives in one message edited in place
//! ([`board`]); what needs a person is a new message. Private answers (an
//! enrolment secret and its QR code) go by direct message. Every request goes
//! through bounded, paced lanes with timeouts ([`outbox`]), and every message
//! carries `allowed_mentions` that ping only the users the bot means.

mod board;
pub mod commands;
mod gateway;
pub mod outbox;
pub mod text;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serenity::all::{
    ButtonStyle, ChannelId, CreateActionRow, CreateButton, GatewayIntents, Http, HttpBuilder,
    UserId,
};

use super::{AskKind, ChatError, ChatPort, Message, Notice};
use crate::config::Control;
use crate::config::Discord as Config;
use outbox::{Op, Outbox, Post};
use text::Shape;

/// What the chat port and the gateway handler share.
pub struct Shared {
    config: Config,
    outbox: Arc<Outbox>,
    /// DM channels already opened, by Discord user id.
    dms: tokio::sync::Mutex<HashMap<u64, ChannelId>>,
    /// Questions waiting for an answer, by (channel id, user name).
    awaiting: Mutex<HashMap<(String, String), AskKind>>,
    /// The channel each user last spoke in: a direct message answers there.
    home: Mutex<HashMap<String, String>>,
    /// Set once the gateway said Ready (for `/readyz`).
    pub(crate) connected: std::sync::atomic::AtomicBool,
}

/// The Discord side of [`ChatPort`]. Cheap to clone.
#[derive(Clone)]
pub struct DiscordChat {
    shared: Arc<Shared>,
}

/// The REST client for `config`: serenity's own rate limiter off (the
/// outbox paces requests; see [`outbox`]), and a stand-in's address when one
/// is configured.
pub fn http(config: &Config) -> Result<Http, ChatError> {
    let token = config
        .token
        .expose()
        .map_err(|e| ChatError::Unavailable(format!("discord.token: {e}")))?;
    let mut builder = HttpBuilder::new(token).ratelimiter_disabled(true);
    if let Some(base) = &config.api_base {
        builder = builder.proxy(base.trim_end_matches('/'));
    }
    Ok(builder.build())
}

impl DiscordChat {
    pub fn new(config: Config, http: Arc<Http>) -> DiscordChat {
        let outbox = Outbox::new(http, config.request_timeout);
        DiscordChat {
            shared: Arc::new(Shared {
                config,
                outbox,
                dms: tokio::sync::Mutex::new(HashMap::new()),
                awaiting: Mutex::new(HashMap::new()),
                home: Mutex::new(HashMap::new()),
                connected: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Connects to the gateway and serves the agent until the connection ends
    /// for good (a bad token, the process asked to stop).
    pub async fn serve(
        &self,
        agent: Arc<crate::conversation::Agent>,
        grammar: &crate::intent::Grammar,
        config: &crate::config::Config,
    ) -> Result<(), ChatError> {
        let http = http(&self.shared.config)?;
        let intents = GatewayIntents::GUILDS
            | GatewayIntents::GUILD_MESSAGES
            | GatewayIntents::DIRECT_MESSAGES
            | GatewayIntents::MESSAGE_CONTENT;
        let handler = gateway::Handler::new(
            self.shared.clone(),
            agent,
            commands::definitions(grammar, config),
        );
        let mut client = serenity::all::ClientBuilder::new_with_http(http, intents)
            .event_handler(handler)
            .await
            .map_err(|e| ChatError::Unavailable(format!("starting the Discord client: {e}")))?;
        client
            .start()
            .await
            .map_err(|e| ChatError::Unavailable(format!("the Discord connection ended: {e}")))
    }
}

impl Shared {
    /// The configured user behind a Discord account; anyone else is
    /// `discord:NAME`, which no configured name can be, so they may read help
    /// and nothing more.
    fn identify(&self, id: UserId, username: &str) -> String {
        self.config
            .user_for(id.get())
            .map_or_else(|| format!("discord:{username}"), str::to_string)
    }

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn awaiting(&self, channel: &str, user: &str) -> Option<AskKind> {
        Self::lock(&self.awaiting)
            .get(&(channel.to_string(), user.to_string()))
            .copied()
    }

    fn answered(&self, channel: &str, user: &str) {
        Self::lock(&self.awaiting).remove(&(channel.to_string(), user.to_string()));
    }

    fn set_home(&self, user: &str, channel: &str) {
        Self::lock(&self.home).insert(user.to_string(), channel.to_string());
    }

    fn home(&self, user: &str) -> Option<String> {
        Self::lock(&self.home).get(user).cloned()
    }

    /// Opens (once) the DM channel with a configured user.
    async fn dm(&self, user: &str) -> Option<ChannelId> {
        let id = self.config.id_of(user)?;
        let mut dms = self.dms.lock().await;
        if let Some(c) = dms.get(&id) {
            return Some(*c);
        }
        let http = self.outbox.http().clone();
        let opened = tokio::time::timeout(
            self.config.request_timeout,
            UserId::new(id).create_dm_channel(&http),
        )
        .await;
        match opened {
            Ok(Ok(channel)) => {
                dms.insert(id, channel.id);
                Some(channel.id)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not open a direct message channel");
                None
            }
            Err(_) => {
                tracing::warn!("opening a direct message channel timed out");
                None
            }
        }
    }

    fn ping_ids(&self, users: &[String]) -> Vec<UserId> {
        users
            .iter()
            .filter_map(|u| self.config.id_of(u))
            .map(UserId::new)
            .collect()
    }

    /// Queues `text` (split or attached as the limit requires) with pings,
    /// buttons and a file on the right parts.
    fn post(
        &self,
        channel: ChannelId,
        text: &str,
        ping: Vec<UserId>,
        components: Vec<CreateActionRow>,
        file: Option<(String, Vec<u8>)>,
    ) {
        let mentions: String = ping.iter().map(|id| format!(" <@{id}>")).collect();
        let (parts, text_file) = match text::shape(text) {
            Shape::Parts(parts) => (parts, None),
            Shape::File { note, text } => (
                vec![note],
                Some(("switchyard.txt".to_string(), text.into_bytes())),
            ),
        };
        let last = parts.len().saturating_sub(1);
        for (i, part) in parts.into_iter().enumerate() {
            let mut post = Post {
                content: part,
                ..Post::default()
            };
            if i == 0
                && !ping.is_empty()
                && post.content.chars().count() + mentions.len() <= text::MAX_CONTENT
            {
                post.content.push_str(&mentions);
                post.ping = ping.clone();
            }
            if i == last {
                post.components = components.clone();
                post.file = file.clone().or_else(|| text_file.clone());
            }
            self.outbox.push(channel, Op::Post(post));
        }
    }
}

/// The buttons that answer a question of `kind` for `user`.
fn buttons(kind: AskKind, user: &str) -> Vec<CreateActionRow> {
    let row = match kind {
        AskKind::Confirm => vec![
            CreateButton::new(Control::Yes.custom_id(user))
                .label("Proceed")
                .style(ButtonStyle::Success),
            CreateButton::new(Control::No.custom_id(user))
                .label("Cancel")
                .style(ButtonStyle::Danger),
        ],
        AskKind::Code => vec![
            CreateButton::new(Control::Code.custom_id(user))
                .label("Enter code")
                .style(ButtonStyle::Primary),
        ],
    };
    vec![CreateActionRow::Buttons(row)]
}

fn channel_id(text: &str) -> Option<ChannelId> {
    text.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(ChannelId::new)
}

#[async_trait]
impl ChatPort for DiscordChat {
    async fn send(&self, message: Message) -> Result<(), ChatError> {
        let shared = &self.shared;
        let components = message
            .asks
            .as_ref()
            .map(|a| buttons(a.kind, &a.user))
            .unwrap_or_default();
        if let Some(ask) = &message.asks {
            Shared::lock(&shared.awaiting)
                .insert((message.channel.clone(), ask.user.clone()), ask.kind);
        }
        let file = message
            .attachments
            .first()
            .map(|a| (a.name.clone(), a.bytes.clone()));
        if let Some(user) = &message.private_to {
            // Private means private: without a DM channel it is not sent at all.
            let Some(dm) = shared.dm(user).await else {
                tracing::warn!(%user, "a private answer could not be delivered by direct message");
                return Err(ChatError::Unavailable(format!(
                    "no direct message channel for {user}"
                )));
            };
            shared.post(dm, &message.text, Vec::new(), components, file);
            return Ok(());
        }
        // Progress of a deployment asked for elsewhere (the CLI, a webhook)
        // has no channel of its own here: its environment's notifications carry it.
        let Some(channel) = channel_id(&message.channel) else {
            return Ok(());
        };
        let ping = shared.ping_ids(&message.mentions);
        match &message.deployment {
            Some(p) if p.live => {
                if shared.outbox.boards.update(
                    p.id,
                    p.title.as_deref(),
                    &p.env,
                    &message.text,
                    p.percent,
                    tokio::time::Instant::now(),
                ) {
                    shared.outbox.push(channel, Op::Flush(p.id));
                }
            }
            Some(p) => {
                if shared.outbox.boards.has(p.id) {
                    shared.outbox.push(channel, Op::Flush(p.id));
                }
                shared.post(channel, &message.text, ping, components, file);
                if p.done {
                    shared.outbox.push(channel, Op::Forget(p.id));
                }
            }
            None => shared.post(channel, &message.text, ping, components, file),
        }
        Ok(())
    }

    fn connected(&self) -> bool {
        self.shared
            .connected
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn notify(&self, notice: Notice) -> Result<(), ChatError> {
        let shared = &self.shared;
        let Some(channel) = shared
            .config
            .notifications
            .get(&notice.env)
            .and_then(|c| channel_id(c))
        else {
            return Ok(());
        };
        let ping = shared.ping_ids(&notice.mentions);
        shared.post(channel, &notice.text, ping, Vec::new(), None);
        Ok(())
    }
}
