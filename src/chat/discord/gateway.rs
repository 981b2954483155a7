//! What arrives from Discord's gateway, turned into the agent's input.
//!
//! - A message is for the bot when it mentions the bot, starts with the
//!   configured prefix, is a direct message, or answers the question the bot
//!   asked its author in that channel (a plain `yes`, a code). Anything else
//!   in the channel is people talking to each other and is left alone.
//! - A code typed into a channel is deleted at once (a TOTP code is a
//!   credential for 30 seconds), and still counts as the answer.
//! - A slash command is answered at once with what was asked, well inside
//!   Discord's 3-second deadline, and its canonical command line goes on to
//!   the agent like a typed message.
//! - Buttons answer questions: Proceed / Cancel, and "Enter code", which
//!   opens a modal only the asker sees. A click by anyone else is refused
//!   privately.
//!
//! Each user's input is handled in order, on a queue of its own, so "promote"
//! and the "yes" that follows cannot overtake each other, and one slow command
//! never holds up other people.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;

use crate::clock::Held;
use serenity::all::{
    ActionRowComponent, CommandInteraction, ComponentInteraction, Context, CreateActionRow,
    CreateCommand, CreateInputText, CreateInteractionResponse, CreateInteractionResponseMessage,
    CreateModal, EventHandler, GuildId, InputTextStyle, Interaction, Message as DiscordMessage,
    ModalInteraction, Ready, UserId,
};
use tokio::sync::mpsc;

use super::Shared;
use super::outbox::{Op, only};
use crate::chat::{AskKind, Incoming};
use crate::config::Control;
use crate::conversation::Agent;
use crate::conversation::dialogue::{looks_like_code, yes_or_no};
use crate::render::echo::untrusted;

/// Lines one user may have queued before more are refused.
const USER_QUEUE: usize = 32;

pub struct Handler {
    shared: Arc<Shared>,
    agent: Arc<Agent>,
    commands: Vec<CreateCommand>,
    lanes: Mutex<HashMap<String, mpsc::Sender<Incoming>>>,
    bot: OnceLock<UserId>,
}

impl Handler {
    pub fn new(shared: Arc<Shared>, agent: Arc<Agent>, commands: Vec<CreateCommand>) -> Handler {
        Handler {
            shared,
            agent,
            commands,
            lanes: Mutex::new(HashMap::new()),
            bot: OnceLock::new(),
        }
    }

    /// True when this replica handles event `id`: every replica connected to
    /// the gateway receives every event, and the store lets exactly one claim
    /// it. A store that cannot be asked means nobody can be sure, so the event
    /// is dropped (logged) rather than risk handling it twice.
    async fn claim(&self, kind: &str, id: u64) -> bool {
        let store = self.agent.store();
        let now = self.agent.clock.now_ms();
        match store
            .claim(kind, &id.to_string(), crate::replica::id(), now)
            .await
        {
            Ok(true) => true,
            Ok(false) => {
                tracing::debug!(kind, id, "another replica handles this event");
                false
            }
            Err(e) => {
                tracing::warn!(kind, id, error = %e, "could not claim an event; dropped");
                false
            }
        }
    }

    /// True when another replica holds what this line is about (it asked the
    /// speaker a question, or drives the deployment the line acts on): that
    /// one handles it, and this one leaves it alone without claiming it.
    async fn elsewhere(&self, channel: &str, user: &str, text: &str) -> bool {
        let probe = Incoming {
            channel: channel.to_string(),
            user: user.to_string(),
            text: text.to_string(),
        };
        match self.agent.belongs_elsewhere(&probe).await {
            Some(owner) => {
                tracing::debug!(%owner, "the replica holding this line's subject handles it");
                true
            }
            None => false,
        }
    }

    /// Hands `incoming` to the agent, after everything its author sent before.
    fn forward(&self, incoming: Incoming) {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let lane = lanes.entry(incoming.user.clone()).or_insert_with(|| {
            let (tx, mut rx) = mpsc::channel::<Incoming>(USER_QUEUE);
            let agent = self.agent.clone();
            tokio::spawn(async move {
                while let Some(line) = rx.recv().await {
                    agent.handle(line).await;
                }
            });
            tx
        });
        if lane.try_send(incoming).is_err() {
            tracing::warn!("a user's queue is full; a line was dropped");
        }
    }

    /// The text meant for the bot, without the mention or prefix that
    /// addressed it; `None` when the message is not addressed to the bot.
    fn addressed<'a>(&self, text: &'a str) -> Option<&'a str> {
        let text = text.trim_start();
        if let Some(bot) = self.bot.get() {
            for mention in [format!("<@{bot}>"), format!("<@!{bot}>")] {
                if let Some(rest) = text.strip_prefix(&mention) {
                    return Some(rest.trim_start_matches([':', ',']).trim_start());
                }
            }
        }
        let prefix = self.shared.config.prefix.as_deref()?;
        let rest = text.strip_prefix(prefix)?;
        (rest.is_empty() || rest.starts_with(char::is_whitespace)).then(|| rest.trim_start())
    }

    fn channel_allowed(&self, channel: u64) -> bool {
        let channels = &self.shared.config.channels;
        channels.is_empty() || channels.iter().any(|c| c == &channel.to_string())
    }

    async fn on_command(&self, ctx: &Context, cmd: &CommandInteraction) {
        let user = self.shared.identify(cmd.user.id, &cmd.user.name);
        let reply = |text: String, ephemeral: bool| {
            CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content(text)
                    .ephemeral(ephemeral)
                    .allowed_mentions(only(&[])),
            )
        };
        if cmd.guild_id.is_some() && !self.channel_allowed(cmd.channel_id.get()) {
            let text = "switchyard does not take commands in this channel.".to_string();
            respond(|| cmd.create_response(&ctx.http, reply(text.clone(), true))).await;
            return;
        }
        match super::commands::command_line(&cmd.data.name, &cmd.data.options) {
            Ok(line) => {
                // The adapter's own sentence: user name and command are echoed by
                // the one rule (no backtick survives it, so the span holds).
                let echo = format!("{}: `{}`", untrusted(&user), untrusted(&line));
                respond(|| cmd.create_response(&ctx.http, reply(echo.clone(), false))).await;
                let channel = cmd.channel_id.to_string();
                self.shared.set_home(&user, &channel);
                self.forward(Incoming {
                    channel,
                    user,
                    text: line,
                });
            }
            Err(why) => {
                let text = format!("{why}. `/help` lists the commands.");
                respond(|| cmd.create_response(&ctx.http, reply(text.clone(), true))).await;
            }
        }
    }

    async fn on_button(&self, ctx: &Context, click: &ComponentInteraction) {
        let clicker = self.shared.identify(click.user.id, &click.user.name);
        let Some((control, owner)) = Control::read(&click.data.custom_id) else {
            return;
        };
        if owner != clicker {
            let text = format!("This question is for {}.", untrusted(owner));
            let r = CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content(text)
                    .ephemeral(true)
                    .allowed_mentions(only(&[])),
            );
            respond(|| click.create_response(&ctx.http, r.clone())).await;
            return;
        }
        let channel = click.channel_id.to_string();
        match control {
            Control::Code => {
                let input = CreateInputText::new(
                    InputTextStyle::Short,
                    "Code from your authenticator",
                    "code",
                )
                .min_length(6)
                .max_length(10)
                .required(true);
                let modal =
                    CreateModal::new(Control::Code.custom_id(owner), "switchyard: TOTP code")
                        .components(vec![CreateActionRow::InputText(input)]);
                respond(|| {
                    click
                        .create_response(&ctx.http, CreateInteractionResponse::Modal(modal.clone()))
                })
                .await;
            }
            Control::Yes | Control::No => {
                let said = if control == Control::Yes {
                    "Proceed"
                } else {
                    "Cancel"
                };
                // The question's message keeps its text, loses its buttons and
                // says who answered, so nobody clicks twice.
                let content = format!(
                    "{}\n→ {said} ({})",
                    click.message.content,
                    untrusted(&clicker)
                );
                let r = CreateInteractionResponse::UpdateMessage(
                    CreateInteractionResponseMessage::new()
                        .content(content)
                        .components(Vec::new())
                        .allowed_mentions(only(&[])),
                );
                respond(|| click.create_response(&ctx.http, r.clone())).await;
                self.shared.answered(&channel, &clicker);
                self.forward(Incoming {
                    channel,
                    user: clicker,
                    text: control.answer().to_string(),
                });
            }
        }
    }

    async fn on_modal(&self, ctx: &Context, modal: &ModalInteraction) {
        let user = self.shared.identify(modal.user.id, &modal.user.name);
        let code = modal
            .data
            .components
            .iter()
            .flat_map(|row| row.components.iter())
            .find_map(|c| match c {
                ActionRowComponent::InputText(t) if t.custom_id == "code" => t.value.clone(),
                _ => None,
            })
            .unwrap_or_default();
        let r = CreateInteractionResponse::Message(
            CreateInteractionResponseMessage::new()
                .content("Code received; checking it.")
                .ephemeral(true)
                .allowed_mentions(only(&[])),
        );
        respond(|| modal.create_response(&ctx.http, r.clone())).await;
        let channel = if modal.guild_id.is_some() {
            modal.channel_id.to_string()
        } else {
            self.shared
                .home(&user)
                .unwrap_or_else(|| modal.channel_id.to_string())
        };
        self.shared.answered(&channel, &user);
        self.forward(Incoming {
            channel,
            user,
            text: code,
        });
    }
}

/// Answers an interaction; logs an answer that did not go through. One that
/// failed in transit (a pooled keep-alive connection closed under it) is sent
/// once more at once: the interaction's token lives only 3 s, and should the
/// first answer have arrived after all, Discord refuses the second, which
/// changes nothing.
async fn respond<F, Fut>(send: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = serenity::Result<()>> + Send,
{
    // Held, as the outbox's requests are (see `Outbox::call`).
    let mut result = send().held().await;
    if let Err(serenity::Error::Http(serenity::http::HttpError::Request(e))) = &result {
        tracing::info!(error = %e, "an interaction answer failed in transit; sending it again");
        result = send().held().await;
    }
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not answer a Discord interaction");
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.bot.set(ready.user.id);
        self.shared
            .connected
            .store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(bot = %ready.user.name, "connected to Discord");
        for guild in &self.shared.config.guilds {
            let Ok(id) = guild.parse::<u64>() else {
                continue;
            };
            if let Err(e) = GuildId::new(id)
                .set_commands(&ctx.http, self.commands.clone())
                .await
            {
                tracing::warn!(guild = %id, error = %e, "could not register the slash commands");
            }
        }
    }

    async fn message(&self, _ctx: Context, msg: DiscordMessage) {
        if msg.author.bot {
            return;
        }
        let dm = msg.guild_id.is_none();
        if !dm && !self.channel_allowed(msg.channel_id.get()) {
            return;
        }
        let user = self.shared.identify(msg.author.id, &msg.author.name);
        let here = msg.channel_id.to_string();
        // A direct message answers in the channel its author last used.
        let channel = if dm {
            self.shared.home(&user).unwrap_or_else(|| here.clone())
        } else {
            here.clone()
        };
        let said = self.addressed(&msg.content).unwrap_or(msg.content.trim());
        if self.elsewhere(&channel, &user, said).await {
            return;
        }
        if !self.claim("discord-message", msg.id.get()).await {
            return;
        }
        let text = match self.addressed(&msg.content) {
            Some(rest) => rest.to_string(),
            None if dm => msg.content.trim().to_string(),
            None => {
                // Asked here, or by a replica that is gone (taken over).
                let owed = match self.shared.awaiting(&channel, &user) {
                    Some(kind) => Some(kind),
                    None => self.agent.owed_answer(&channel, &user).await,
                };
                let answers = match owed {
                    Some(AskKind::Confirm) => yes_or_no(&msg.content).is_some(),
                    Some(AskKind::Code) => looks_like_code(&msg.content),
                    None => false,
                };
                if !answers {
                    return;
                }
                msg.content.trim().to_string()
            }
        };
        if !dm && looks_like_code(&text) {
            self.shared.outbox.push(msg.channel_id, Op::Delete(msg.id));
        }
        if !dm {
            self.shared.set_home(&user, &channel);
        }
        if looks_like_code(&text) || yes_or_no(&text).is_some() {
            self.shared.answered(&channel, &user);
        }
        self.forward(Incoming {
            channel,
            user,
            text,
        });
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        // What the interaction would say as a line, to find the replica it
        // belongs to (a click or a modal only answers a question).
        let (channel, user, line) = match &interaction {
            Interaction::Command(cmd) => (
                cmd.channel_id.to_string(),
                self.shared.identify(cmd.user.id, &cmd.user.name),
                super::commands::command_line(&cmd.data.name, &cmd.data.options)
                    .unwrap_or_default(),
            ),
            Interaction::Component(click) => (
                click.channel_id.to_string(),
                self.shared.identify(click.user.id, &click.user.name),
                String::new(),
            ),
            Interaction::Modal(modal) => {
                let user = self.shared.identify(modal.user.id, &modal.user.name);
                let channel = match modal.guild_id {
                    Some(_) => modal.channel_id.to_string(),
                    None => self
                        .shared
                        .home(&user)
                        .unwrap_or_else(|| modal.channel_id.to_string()),
                };
                (channel, user, String::new())
            }
            _ => return,
        };
        if self.elsewhere(&channel, &user, &line).await {
            return;
        }
        if !self
            .claim("discord-interaction", interaction.id().get())
            .await
        {
            return;
        }
        match &interaction {
            Interaction::Command(cmd) => self.on_command(&ctx, cmd).await,
            Interaction::Component(click) => self.on_button(&ctx, click).await,
            Interaction::Modal(modal) => self.on_modal(&ctx, modal).await,
            _ => {}
        }
    }
}
