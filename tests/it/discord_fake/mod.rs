//! A fake Discord for tests: a REST API under `/api/v10` and a gateway
//! websocket at `/gateway`, served by axum on `127.0.0.1:PORT`. It is a test
//! stand-in written against serenity 0.12.5's models and Discord's documented
//! limits, not Discord: it keeps one guild, any number of text channels and DM
//! channels in memory, records every request, and answers in the JSON shapes
//! serenity parses.
//!
//! A bot under test points serenity at it with
//! `HttpBuilder::new(token).proxy(fake.base()).ratelimiter_disabled(true)`
//! (with serenity's rate limiter on, the proxy is ignored). Tests then inject
//! what users do ([`FakeDiscord::say`], [`FakeDiscord::slash`],
//! [`FakeDiscord::click`], [`FakeDiscord::submit_modal`]) and read what the
//! bot did ([`FakeDiscord::messages`], [`FakeDiscord::requests`],
//! [`FakeDiscord::interaction_responses`], ...).
//!
//! Like Discord, and unlike a plain recorder, it also:
//! - rate-limits: 5 message creates/edits/deletes per 5 s per channel and 50
//!   requests per second overall (interaction routes excluded), answering 429
//!   with `Retry-After` and storing nothing; time is tokio's
//!   ([`tokio::time::Instant`]), so paused-clock tests see consistent windows;
//! - rejects what Discord rejects: content over 2,000 characters, more than 10
//!   embeds or 6,000 embed characters, empty messages, more than 5 rows or 5
//!   buttons a row, duplicate `custom_id`s, modals with a title over 45
//!   characters or more than 5 inputs, files over 10 MiB, edits of other
//!   users' messages, a second acknowledgement of an interaction, a first
//!   response later than 3 s, invalid command definitions;
//! - only lets users do what a Discord client allows: slash commands must be
//!   registered and their options must match the definition, buttons must
//!   exist on the message and be enabled, modals must have been opened for
//!   that user (the injectors wait up to 10 s for these, then panic);
//! - filters gateway events by the intents the client identified with (no
//!   guild messages without `GUILD_MESSAGES`, empty content without
//!   `MESSAGE_CONTENT` unless the bot is mentioned), and echoes the bot's own
//!   messages, edits and deletes as `MESSAGE_CREATE`/`UPDATE`/`DELETE`;
//! - resolves `<@id>`, `<@&id>` and `@everyone` in the bot's messages through
//!   `allowed_mentions`, so tests can see who would have been pinged.
//!
//! Every dispatched event is first parsed with serenity's own
//! `GatewayEvent` type: a payload serenity would drop (with only a WARN) makes
//! the injecting call panic instead.
//!
//! REST routes served (anything else is a 404 with Discord's error JSON,
//! recorded; see [`FakeDiscord::not_found`]):
//! - `GET /gateway`, `/gateway/bot`, `/users/@me`, `/users/{id}`,
//!   `/oauth2/applications/@me`, `/guilds/{guild}/members/{id}` (known users);
//! - `GET /channels/{c}`; `GET|POST /channels/{c}/messages` (JSON or
//!   multipart `payload_json` + `files[n]`); `GET|PATCH|DELETE
//!   /channels/{c}/messages/{m}`; `PUT|DELETE
//!   /channels/{c}/messages/{m}/reactions/{emoji}/@me`; `POST
//!   /channels/{c}/typing`; `POST /users/@me/channels` (DM channel);
//! - `POST /interactions/{id}/{token}/callback` (types 4, 5, 6, 7, 9);
//!   `POST /webhooks/{app}/{token}`; `GET|PATCH|DELETE
//!   /webhooks/{app}/{token}/messages/{@original|id}`;
//! - `GET|PUT|POST /applications/{app}[/guilds/{guild}]/commands`, `GET|DELETE
//!   .../commands/{id}`;
//! - `GET /attachments/{c}/{id}/{name}` (outside `/api`): attachment bytes.
//!
//! Requests other than the gateway, interaction and webhook routes need an
//! `Authorization: Bot ...` header (401 otherwise). Events injected while no
//! client is connected are lost, as at Discord; events for a session the
//! fake cut or asked to reconnect are replayed when it resumes.
//!
//! Waiting (`wait_for`, `wait_ready`, the injectors) gives up only when the
//! time has passed on tokio's clock and on the wall clock, so it works on a
//! paused clock too.

mod checks;
mod commands;
mod gateway;
mod interactions;
mod json;
mod messages;
mod rest;
mod state;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use serde_json::Value;
use tokio::time::Instant;

use state::State;
pub use state::{FakeMessage, InteractionResponse, Recorded, ResponseKind};

/// How long the injectors and [`FakeDiscord::wait_ready`] wait for the bot
/// before they panic.
const PATIENCE: Duration = Duration::from_secs(10);

/// A user of the fake guild, as tests inject them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FakeUser {
    pub id: u64,
    pub name: String,
    /// Role ids, sent in the `member` of their messages and interactions.
    pub roles: Vec<u64>,
}

impl FakeUser {
    /// A user without roles.
    pub fn new(id: u64, name: &str) -> Self {
        FakeUser {
            id,
            name: name.to_string(),
            roles: Vec::new(),
        }
    }

    /// The same user with these roles.
    pub fn with_roles(mut self, roles: &[u64]) -> Self {
        self.roles = roles.to_vec();
        self
    }
}

/// The fake Discord: a handle on a server running on the current tokio
/// runtime. Cheap to clone; the server stops (and gateway connections close)
/// when the last clone is dropped.
#[derive(Clone)]
pub struct FakeDiscord {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    server: tokio::task::AbortHandle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.server.abort();
        // Dropping the senders ends every gateway connection's task.
        self.shared.lock().connections.clear();
    }
}

/// What the server tasks share with the handle.
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    /// The state; a panic elsewhere (a failed assertion in a test) does not
    /// poison it for the server.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FakeDiscord {
    /// The application id (`READY.application.id`, interaction webhooks).
    pub const APP_ID: u64 = 900_000_000_000_000_001;
    /// The bot user's id (`READY.user`, author of everything the bot sends).
    /// Distinct from [`Self::APP_ID`] (as for older applications) so that
    /// mixing the two up fails.
    pub const BOT_ID: u64 = 900_000_000_000_000_002;
    /// The one guild: every channel that is not a DM channel belongs to it.
    pub const GUILD_ID: u64 = 900_000_000_000_000_003;
    /// The application's owner (`/oauth2/applications/@me`).
    pub const OWNER_ID: u64 = 900_000_000_000_000_004;

    /// Binds 127.0.0.1 on a free port and serves the REST API under
    /// `/api/v10/...` and the gateway at `/gateway`, on the current runtime.
    pub async fn start() -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("discord_fake: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("discord_fake: local address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(format!("http://{addr}"))),
        });
        let router = Router::new()
            .route("/gateway", get(gateway::upgrade))
            .fallback(rest::handle)
            // Discord takes up to 10 MiB of files (and says 413 above that
            // itself); leave room to answer like it does.
            .layer(DefaultBodyLimit::max(64 << 20))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeDiscord {
            inner: Arc::new(Inner {
                shared,
                server: server.abort_handle(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.shared.lock()
    }

    /// `http://127.0.0.1:PORT`, for `HttpBuilder::proxy`.
    pub fn base(&self) -> String {
        self.lock().base.clone()
    }

    /// Waits until a gateway client has identified and received READY; panics
    /// after 10 s.
    pub async fn wait_ready(&self) {
        if !self.wait_for(|fake| fake.connections() > 0, PATIENCE).await {
            panic!(
                "discord_fake: no gateway client identified within {PATIENCE:?} \
                 (requests so far: {:?})",
                self.request_lines()
            );
        }
    }

    /// Open gateway connections that have identified (each replica of a bot
    /// is one).
    pub fn connections(&self) -> usize {
        self.lock().identified().count()
    }

    /// How many IDENTIFYs the gateway has answered since the start
    /// (reconnections included).
    pub fn identifies(&self) -> usize {
        self.lock().identifies
    }

    /// The intents of each gateway session on an open connection.
    pub fn intents(&self) -> Vec<u64> {
        self.lock().identified().map(|s| s.intents).collect()
    }

    /// Sends every gateway client RECONNECT (op 7), as Discord does before
    /// moving sessions between nodes. Clients close, reconnect and RESUME;
    /// events injected meanwhile are replayed to them (serenity handles this
    /// without a warning).
    pub fn reconnect_all(&self) {
        self.lock().reconnect_all();
    }

    /// Cuts every gateway connection with close code 4000 ("unknown
    /// error"), as when a gateway node dies. Clients reconnect and RESUME;
    /// events injected meanwhile are replayed. serenity logs WARNs for the
    /// unclean close.
    pub fn disconnect_all(&self) {
        self.lock().disconnect_all();
    }

    /// Makes a user a known member of the guild (name and roles for
    /// `GET /users/{id}`, `GET /guilds/{g}/members/{id}`, mentions and
    /// resolved options) before they do anything. The injectors do this too.
    pub fn add_user(&self, user: &FakeUser) {
        self.lock().remember(user);
    }

    /// A user writes `content` in `channel` (MESSAGE_CREATE to every
    /// connected client subscribed to it). Mentions are parsed from `<@id>`,
    /// `<@&id>` and `@everyone`; `guild_id` and `member` are set unless the
    /// channel is a DM channel. The message is stored like the bot's own.
    /// Returns the message id.
    pub async fn say(&self, channel: u64, user: &FakeUser, content: &str) -> u64 {
        let result = self.lock().user_message(channel, user, content);
        let id = result.unwrap_or_else(|e| panic!("discord_fake: say: {e}"));
        tokio::task::yield_now().await;
        id
    }

    /// A user invokes slash command `/name` in `channel` (INTERACTION_CREATE,
    /// type 2). `options` is a JSON array in Discord's format,
    /// `[{"name":..,"type":..,"value":..}]` (subcommands:
    /// `{"name","type":1,"options":[..]}`). Waits up to 10 s for the command
    /// to be registered (guild commands in guild channels, global ones
    /// everywhere) and panics if the options do not fit its definition.
    /// Returns the interaction id.
    pub async fn slash(&self, channel: u64, user: &FakeUser, name: &str, options: Value) -> u64 {
        let command = self
            .wait_until(&format!("command /{name} to be registered"), |st| {
                st.find_command(channel, name)
            })
            .await;
        let result = self.lock().slash(channel, user, &command, options);
        let id = result.unwrap_or_else(|e| panic!("discord_fake: slash /{name}: {e}"));
        tokio::task::yield_now().await;
        id
    }

    /// A user clicks the button `custom_id` on message `message_id`
    /// (INTERACTION_CREATE, type 3, component_type 2). Waits up to 10 s for
    /// the message to carry that button; panics if it is disabled. Returns the
    /// interaction id.
    pub async fn click(
        &self,
        channel: u64,
        user: &FakeUser,
        message_id: u64,
        custom_id: &str,
    ) -> u64 {
        self.wait_until(
            &format!("message {message_id} in channel {channel} to carry button {custom_id:?}"),
            |st| st.button(channel, message_id, custom_id).then_some(()),
        )
        .await;
        let result = self.lock().click(channel, user, message_id, custom_id);
        let id = result.unwrap_or_else(|e| panic!("discord_fake: click {custom_id:?}: {e}"));
        tokio::task::yield_now().await;
        id
    }

    /// A user submits the modal `custom_id` with `fields` (input custom_id,
    /// value) (INTERACTION_CREATE, type 5). Waits up to 10 s for the bot to
    /// have opened that modal for this user; inputs left out are sent empty,
    /// and must not be required. Returns the interaction id.
    pub async fn submit_modal(
        &self,
        channel: u64,
        user: &FakeUser,
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> u64 {
        let modal = self
            .wait_until(
                &format!("modal {custom_id:?} to be opened for user {}", user.id),
                |st| st.take_modal(user.id, custom_id),
            )
            .await;
        let result = self.lock().submit_modal(channel, user, modal, fields);
        let id = result.unwrap_or_else(|e| panic!("discord_fake: submit_modal {custom_id:?}: {e}"));
        tokio::task::yield_now().await;
        id
    }

    /// Every REST request in arrival order, answered or refused.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Requests answered 404 (routes the fake does not know, unknown
    /// messages, ...): a quick check that nothing was missed.
    pub fn not_found(&self) -> Vec<Recorded> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.status == 404)
            .cloned()
            .collect()
    }

    /// The messages of a channel in creation order, in their current state
    /// (edited, or marked `deleted`), the users' and the bot's (ephemeral
    /// interaction responses included, see [`FakeMessage::ephemeral`]).
    /// What the bot said in `channel`, oldest first.
    pub fn bot_said(&self, channel: u64) -> Vec<String> {
        self.messages(channel)
            .into_iter()
            .filter(|m| m.author_id == FakeDiscord::BOT_ID)
            .map(|m| m.content)
            .collect()
    }

    pub fn messages(&self, channel: u64) -> Vec<FakeMessage> {
        self.lock()
            .channels
            .get(&channel)
            .map(|c| c.messages.clone())
            .unwrap_or_default()
    }

    /// One message by id, in whatever channel.
    pub fn message(&self, id: u64) -> Option<FakeMessage> {
        self.lock().find_message(id).cloned()
    }

    /// The DM channel the bot opened with `user`, if any.
    pub fn dm_channel(&self, user: u64) -> Option<u64> {
        self.lock().dms.get(&user).copied()
    }

    /// The DM channel with `user`, opened now if the bot has not yet: lets a
    /// test [`say`](Self::say) something to the bot in private.
    pub fn open_dm(&self, user: &FakeUser) -> u64 {
        let mut st = self.lock();
        st.remember(user);
        st.open_dm(user.id)
    }

    /// The bodies the bot sent for an interaction, in order: callback bodies
    /// (`{"type":..,"data":..}`), then follow-ups and edits of the original
    /// response or follow-ups (message payloads). Accepted ones only.
    pub fn interaction_responses(&self, interaction: u64) -> Vec<Value> {
        self.interaction_log(interaction)
            .into_iter()
            .map(|r| r.body)
            .collect()
    }

    /// Like [`Self::interaction_responses`], with what each body was and
    /// when it arrived.
    pub fn interaction_log(&self, interaction: u64) -> Vec<InteractionResponse> {
        self.lock()
            .interactions
            .get(&interaction)
            .map(|i| i.log.clone())
            .unwrap_or_default()
    }

    /// The token of an interaction (as the bot sees it in the event).
    pub fn interaction_token(&self, interaction: u64) -> Option<String> {
        self.lock()
            .interactions
            .get(&interaction)
            .map(|i| i.token.clone())
    }

    /// The message an interaction's response created or updated (the
    /// "original response"), if the bot answered with one.
    pub fn original_response(&self, interaction: u64) -> Option<FakeMessage> {
        let st = self.lock();
        let id = st.interactions.get(&interaction)?.original?;
        st.find_message(id).cloned()
    }

    /// The guild's commands as registered (ids, versions and defaults
    /// filled in as Discord does).
    pub fn commands(&self, guild: u64) -> Vec<Value> {
        self.lock()
            .guild_commands
            .get(&guild)
            .cloned()
            .unwrap_or_default()
    }

    /// The global commands as registered.
    pub fn global_commands(&self) -> Vec<Value> {
        self.lock().global_commands.clone()
    }

    /// How many requests were answered 429.
    pub fn rate_limited(&self) -> usize {
        self.lock().rate_limited
    }

    /// Polls `what` until it holds (true) or `timeout` has passed (false).
    /// Gives up only when `timeout` has passed both on tokio's clock and on
    /// the wall clock: on a paused clock, tokio time jumps ahead while the
    /// runtime waits for sockets, which would otherwise end the wait before
    /// the bot could answer.
    pub async fn wait_for(&self, what: impl Fn(&FakeDiscord) -> bool, timeout: Duration) -> bool {
        let started = Instant::now();
        let started_real = std::time::Instant::now();
        loop {
            if what(self) {
                return true;
            }
            if started.elapsed() >= timeout && started_real.elapsed() >= timeout {
                return false;
            }
            tokio::time::sleep(poll_step(started.elapsed())).await;
        }
    }

    /// Polls `find` until it yields, or panics after PATIENCE saying what it
    /// waited for.
    async fn wait_until<T>(&self, what: &str, find: impl Fn(&mut State) -> Option<T>) -> T {
        let started = Instant::now();
        let started_real = std::time::Instant::now();
        loop {
            if let Some(found) = find(&mut self.lock()) {
                return found;
            }
            if started.elapsed() >= PATIENCE && started_real.elapsed() >= PATIENCE {
                panic!(
                    "discord_fake: gave up waiting {PATIENCE:?} for {what} \
                     (requests so far: {:?})",
                    self.request_lines()
                );
            }
            tokio::time::sleep(poll_step(started.elapsed())).await;
        }
    }

    /// `METHOD /path -> status` per request, for panic messages.
    pub fn request_lines(&self) -> Vec<String> {
        self.lock()
            .requests
            .iter()
            .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
            .collect()
    }
}

/// How long a wait sleeps between looks: 10 ms at first, then a hundredth of
/// the time waited so far, at most a second. On a paused clock the waiter's
/// sleep is what moves tokio time while the bot idles, so a 10 ms step made a
/// 30-minute rollout take 180,000 looks, which a loaded machine could not do
/// within the wall-clock patience
/// (`a_thirty_minute_rollout_reaches_the_channel_without_a_single_429` failed
/// so beside two CPU hogs); now it takes about 2,000.
fn poll_step(waited: Duration) -> Duration {
    (waited / 100).clamp(Duration::from_millis(10), Duration::from_secs(1))
}
