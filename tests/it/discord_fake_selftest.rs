//! The fake Discord against the real serenity 0.12.5 client: events it
//! injects arrive in serenity's handlers (nothing dropped with a WARN), what
//! serenity sends is stored and answered in shapes serenity parses, and
//! Discord's rules (rate limits, acknowledgement, intents, resume) hold.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use serenity::all::{
    ActionRowComponent, ButtonStyle, Channel, ChannelId, Client, ClientBuilder, CommandInteraction,
    CommandOptionType, ComponentInteraction, ComponentInteractionDataKind, Context,
    CreateActionRow, CreateAllowedMentions, CreateAttachment, CreateButton, CreateCommand,
    CreateCommandOption, CreateEmbed, CreateInputText, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
    CreateModal, EditInteractionResponse, EditMessage, EventHandler, GatewayIntents, GetMessages,
    GuildId, Http, HttpBuilder, HttpError, InputTextStyle, Interaction, Message, MessageId,
    MessageUpdateEvent, ModalInteraction, Ready, ResolvedValue, RoleId, ShardManager, UserId,
};
use tokio::sync::mpsc;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::discord_fake::{FakeDiscord, FakeUser, ResponseKind};

const CHANNEL: u64 = 4242;

/// What the bot's handlers saw.
#[derive(Debug)]
enum Seen {
    Ready(Box<Ready>),
    Message(Box<Message>),
    Update(Box<MessageUpdateEvent>),
    Delete(MessageId),
    Interaction(Box<Interaction>),
}

/// An event handler that forwards everything to the test.
struct Recorder(mpsc::UnboundedSender<Seen>);

#[serenity::async_trait]
impl EventHandler for Recorder {
    async fn ready(&self, _: Context, ready: Ready) {
        let _ = self.0.send(Seen::Ready(Box::new(ready)));
    }

    async fn message(&self, _: Context, message: Message) {
        let _ = self.0.send(Seen::Message(Box::new(message)));
    }

    async fn message_update(
        &self,
        _: Context,
        _: Option<Message>,
        _: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        let _ = self.0.send(Seen::Update(Box::new(event)));
    }

    async fn message_delete(
        &self,
        _: Context,
        _: ChannelId,
        deleted: MessageId,
        _: Option<GuildId>,
    ) {
        let _ = self.0.send(Seen::Delete(deleted));
    }

    async fn interaction_create(&self, _: Context, interaction: Interaction) {
        let _ = self.0.send(Seen::Interaction(Box::new(interaction)));
    }
}

/// A serenity bot connected to the fake.
struct Bot {
    http: Arc<Http>,
    events: mpsc::UnboundedReceiver<Seen>,
    shards: Arc<ShardManager>,
}

impl Bot {
    async fn start(fake: &FakeDiscord, intents: GatewayIntents) -> Bot {
        let http = HttpBuilder::new("fake-token")
            .proxy(fake.base())
            .ratelimiter_disabled(true)
            .build();
        let (tx, events) = mpsc::unbounded_channel();
        let mut client: Client = ClientBuilder::new_with_http(http, intents)
            .event_handler(Recorder(tx))
            .await
            .expect("serenity client builds");
        let http = Arc::clone(&client.http);
        let shards = Arc::clone(&client.shard_manager);
        tokio::spawn(async move { client.start().await });
        Bot {
            http,
            events,
            shards,
        }
    }

    /// The next event `pick` accepts (others are skipped); panics after 5 s
    /// on both tokio's clock and the wall clock (tokio's alone races ahead
    /// when paused).
    async fn expect<T>(&mut self, what: &str, pick: impl Fn(Seen) -> Option<T>) -> T {
        let patience = Duration::from_secs(5);
        let started = (tokio::time::Instant::now(), std::time::Instant::now());
        let mut skipped = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_millis(10), self.events.recv()).await {
                Ok(Some(seen)) => {
                    let summary = format!("{seen:?}");
                    match pick(seen) {
                        Some(found) => return found,
                        None => skipped.push(summary.chars().take(120).collect::<String>()),
                    }
                }
                Ok(None) => panic!("the bot's handlers are gone; skipped: {skipped:#?}"),
                Err(_) if started.0.elapsed() >= patience && started.1.elapsed() >= patience => {
                    panic!("no {what} reached the bot's handlers; skipped: {skipped:#?}")
                }
                Err(_) => {}
            }
        }
    }

    async fn message(&mut self, what: &str, content: &str) -> Message {
        self.expect(what, |seen| match seen {
            Seen::Message(m) if m.content == content => Some(*m),
            _ => None,
        })
        .await
    }

    async fn command(&mut self) -> CommandInteraction {
        self.expect("slash command", |seen| match seen {
            Seen::Interaction(i) => i.command(),
            _ => None,
        })
        .await
    }

    async fn component(&mut self) -> ComponentInteraction {
        self.expect("button click", |seen| match seen {
            Seen::Interaction(i) => i.message_component(),
            _ => None,
        })
        .await
    }

    async fn modal(&mut self) -> ModalInteraction {
        self.expect("modal submit", |seen| match seen {
            Seen::Interaction(i) => i.modal_submit(),
            _ => None,
        })
        .await
    }
}

/// WARN and ERROR events, from any target, while the guard lives (on this
/// thread: the tests run on a current-thread runtime, so serenity's tasks
/// log here too).
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    fn capture() -> (Warnings, tracing::subscriber::DefaultGuard) {
        let warnings = Warnings::default();
        let subscriber = tracing_subscriber::registry().with(warnings.clone());
        (warnings, tracing::subscriber::set_default(subscriber))
    }

    fn list(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() <= tracing::Level::WARN {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            eprintln!("{}: {}", event.metadata().target(), fields.0);
            self.0
                .lock()
                .unwrap()
                .push(format!("{}: {}", event.metadata().target(), fields.0));
        }
    }
}

fn alice() -> FakeUser {
    FakeUser::new(1001, "alice").with_roles(&[77])
}

fn bob() -> FakeUser {
    FakeUser::new(1002, "bob")
}

fn all_messages() -> GatewayIntents {
    GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
}

fn commands() -> Vec<CreateCommand> {
    vec![
        CreateCommand::new("deploy")
            .description("Deploy a service")
            .add_option(
                CreateCommandOption::new(CommandOptionType::String, "service", "Which service")
                    .required(true),
            )
            .add_option(CreateCommandOption::new(
                CommandOptionType::User,
                "approver",
                "Who approves",
            )),
        CreateCommand::new("confirm").description("Confirm with a one-time code"),
    ]
}

#[tokio::test]
async fn serenity_receives_events_and_its_requests_are_served() {
    let (warnings, _guard) = Warnings::capture();
    let fake = FakeDiscord::start().await;
    let mut bot = Bot::start(&fake, all_messages()).await;
    let http = Arc::clone(&bot.http);
    let (alice, bob) = (alice(), bob());
    let channel = ChannelId::new(CHANNEL);
    fake.add_user(&bob);

    fake.wait_ready().await;
    assert_eq!(fake.connections(), 1);
    assert_eq!(fake.intents(), [all_messages().bits()]);
    let ready = bot
        .expect("READY", |seen| match seen {
            Seen::Ready(r) => Some(r),
            _ => None,
        })
        .await;
    assert_eq!(ready.user.id.get(), FakeDiscord::BOT_ID);
    assert_eq!(ready.application.id.get(), FakeDiscord::APP_ID);
    assert_eq!(
        http.get_current_user().await.unwrap().id.get(),
        FakeDiscord::BOT_ID
    );
    let app = http.get_current_application_info().await.unwrap();
    assert_eq!(app.id.get(), FakeDiscord::APP_ID);

    // Bulk-overwrite the guild's commands.
    let registered = GuildId::new(FakeDiscord::GUILD_ID)
        .set_commands(&http, commands())
        .await
        .unwrap();
    assert_eq!(registered.len(), 2);
    assert_eq!(registered[0].name, "deploy");
    assert_eq!(registered[0].options.len(), 2);
    let stored = fake.commands(FakeDiscord::GUILD_ID);
    assert_eq!(stored[1]["name"], "confirm");
    assert_eq!(stored[0]["id"], registered[0].id.to_string());
    // Overwriting again keeps the ids.
    let again = GuildId::new(FakeDiscord::GUILD_ID)
        .set_commands(&http, commands())
        .await
        .unwrap();
    assert_eq!(again[0].id, registered[0].id);

    // A user speaks; the message arrives with author, member and mentions.
    let said = fake
        .say(
            CHANNEL,
            &alice,
            &format!("<@{}> deploy api please", FakeDiscord::BOT_ID),
        )
        .await;
    let message = bot
        .message(
            "MESSAGE_CREATE",
            &format!("<@{}> deploy api please", FakeDiscord::BOT_ID),
        )
        .await;
    assert_eq!(message.id.get(), said);
    assert_eq!(message.author.id.get(), alice.id);
    assert_eq!(message.author.name, "alice");
    assert!(!message.author.bot);
    assert_eq!(
        message.guild_id.map(GuildId::get),
        Some(FakeDiscord::GUILD_ID)
    );
    let roles: Vec<u64> = message
        .member
        .as_ref()
        .unwrap()
        .roles
        .iter()
        .map(|r| r.get())
        .collect();
    assert_eq!(roles, [77]);
    assert_eq!(message.mentions[0].id.get(), FakeDiscord::BOT_ID);
    assert!(
        fake.messages(CHANNEL)
            .iter()
            .any(|m| m.id == said && m.author_id == alice.id)
    );

    // The bot answers with an embed, buttons and a ping it allows.
    let sent = channel
        .send_message(
            &http,
            CreateMessage::new()
                .content(format!(
                    "Deploying api for <@{}> (cc <@{}>)",
                    alice.id, bob.id
                ))
                .allowed_mentions(CreateAllowedMentions::new().users([UserId::new(alice.id)]))
                .embed(
                    CreateEmbed::new()
                        .title("Plan")
                        .field("service", "api", true),
                )
                .components(vec![CreateActionRow::Buttons(vec![
                    CreateButton::new("approve")
                        .label("Approve")
                        .style(ButtonStyle::Success),
                    CreateButton::new("reject")
                        .label("Reject")
                        .style(ButtonStyle::Danger),
                ])])
                .reference_message((channel, MessageId::new(said))),
        )
        .await
        .unwrap();
    assert_eq!(sent.author.id.get(), FakeDiscord::BOT_ID);
    assert_eq!(sent.embeds[0].title.as_deref(), Some("Plan"));
    assert_eq!(sent.components[0].components.len(), 2);
    let stored = fake.message(sent.id.get()).unwrap();
    assert_eq!(stored.custom_ids(), ["approve", "reject"]);
    assert_eq!(
        stored.mentions,
        [alice.id],
        "bob is written but not allowed"
    );
    assert_eq!(stored.reference, Some(said));
    assert!(stored.allowed_mentions.is_object());
    // Discord echoes the bot's own messages.
    let echo = bot
        .message("the bot's own MESSAGE_CREATE", &sent.content)
        .await;
    assert!(echo.author.bot);

    // Edit it.
    let edited = channel
        .edit_message(
            &http,
            sent.id,
            EditMessage::new().content("Deploying api: step 1/3"),
        )
        .await
        .unwrap();
    assert!(edited.edited_timestamp.is_some());
    let stored = fake.message(sent.id.get()).unwrap();
    assert_eq!(stored.edits, 1);
    assert!(stored.edited_at.unwrap() >= stored.created_at);
    bot.expect("MESSAGE_UPDATE", |seen| match seen {
        Seen::Update(u) if u.id == sent.id => Some(()),
        _ => None,
    })
    .await;
    let fetched = channel.message(&http, sent.id).await.unwrap();
    assert_eq!(fetched.content, "Deploying api: step 1/3");
    let listed = channel
        .messages(&http, GetMessages::new().limit(10))
        .await
        .unwrap();
    assert_eq!(listed[0].id, sent.id, "newest first");
    // serenity sends `?&limit=10`.
    let queries: Vec<_> = fake
        .requests()
        .into_iter()
        .filter_map(|r| r.query)
        .collect();
    assert!(
        queries.iter().any(|q| q.contains("limit=10")),
        "{queries:?}"
    );
    channel.broadcast_typing(&http).await.unwrap();
    assert!(matches!(
        channel.to_channel(&http).await.unwrap(),
        Channel::Guild(_)
    ));
    let member = GuildId::new(FakeDiscord::GUILD_ID)
        .member(&http, UserId::new(alice.id))
        .await
        .unwrap();
    assert_eq!(member.roles, [RoleId::new(77)]);
    assert_eq!(
        http.get_user(UserId::new(bob.id)).await.unwrap().name,
        "bob"
    );

    // A click on a button; the bot updates the message and follows up.
    let clicked = fake.click(CHANNEL, &bob, sent.id.get(), "approve").await;
    let click = bot.component().await;
    assert_eq!(click.id.get(), clicked);
    assert_eq!(click.data.custom_id, "approve");
    assert!(matches!(
        click.data.kind,
        ComponentInteractionDataKind::Button
    ));
    assert_eq!(click.message.id, sent.id);
    assert_eq!(click.user.id.get(), bob.id);
    assert_eq!(click.member.as_ref().unwrap().user.id.get(), bob.id);
    click
        .create_response(
            &http,
            CreateInteractionResponse::UpdateMessage(
                CreateInteractionResponseMessage::new()
                    .content("Approved by bob")
                    .components(vec![CreateActionRow::Buttons(vec![
                        CreateButton::new("approve")
                            .label("Approved")
                            .disabled(true),
                    ])]),
            ),
        )
        .await
        .unwrap();
    let followup = click
        .create_followup(
            &http,
            CreateInteractionResponseFollowup::new()
                .content("Rollout started")
                .ephemeral(true),
        )
        .await
        .unwrap();
    assert_eq!(followup.content, "Rollout started");
    let updated = fake.message(sent.id.get()).unwrap();
    assert_eq!(
        (updated.content.as_str(), updated.edits),
        ("Approved by bob", 2)
    );
    assert_eq!(updated.component("approve").unwrap()["disabled"], true);
    let log = fake.interaction_log(clicked);
    let kinds: Vec<ResponseKind> = log.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [ResponseKind::Callback, ResponseKind::Followup]);
    assert!(log[1].at >= log[0].at);
    assert!(fake.message(followup.id.get()).unwrap().ephemeral());

    // A slash command with options; deferred, then the response edited.
    let invoked = fake
        .slash(
            CHANNEL,
            &alice,
            "deploy",
            json!([
                { "name": "service", "type": 3, "value": "api" },
                { "name": "approver", "type": 6, "value": bob.id.to_string() },
            ]),
        )
        .await;
    let command = bot.command().await;
    assert_eq!(command.id.get(), invoked);
    assert_eq!(command.data.name, "deploy");
    assert_eq!(command.data.id, registered[0].id);
    assert_eq!(command.user.id.get(), alice.id);
    let options = command.data.options();
    assert!(matches!(options[0].value, ResolvedValue::String("api")));
    assert!(matches!(options[1].value, ResolvedValue::User(u, Some(_)) if u.id.get() == bob.id));
    command.defer_ephemeral(&http).await.unwrap();
    let thinking = fake.original_response(invoked).unwrap();
    assert!(thinking.loading() && thinking.ephemeral());
    let second = command
        .create_response(&http, CreateInteractionResponse::Acknowledge)
        .await
        .unwrap_err();
    assert!(
        second.to_string().contains("already been acknowledged"),
        "{second}"
    );
    command
        .edit_response(
            &http,
            EditInteractionResponse::new().content("Planned: 3 steps"),
        )
        .await
        .unwrap();
    let answered = fake.original_response(invoked).unwrap();
    assert_eq!(answered.content, "Planned: 3 steps");
    assert!(!answered.loading());
    let responses = fake.interaction_responses(invoked);
    assert_eq!(responses[0]["type"], 5);
    assert_eq!(responses[0]["data"]["flags"], 64);
    assert_eq!(responses[1]["content"], "Planned: 3 steps");

    // A slash command answered with a modal, then the modal submitted.
    fake.slash(CHANNEL, &alice, "confirm", Value::Null).await;
    let confirm = bot.command().await;
    confirm
        .create_response(
            &http,
            CreateInteractionResponse::Modal(
                CreateModal::new("otp-modal", "Confirm the deploy").components(vec![
                    CreateActionRow::InputText(
                        CreateInputText::new(InputTextStyle::Short, "One-time code", "otp")
                            .min_length(6)
                            .max_length(6),
                    ),
                ]),
            ),
        )
        .await
        .unwrap();
    let submitted = fake
        .submit_modal(CHANNEL, &alice, "otp-modal", &[("otp", "123456")])
        .await;
    let modal = bot.modal().await;
    assert_eq!(modal.id.get(), submitted);
    assert_eq!(modal.data.custom_id, "otp-modal");
    let ActionRowComponent::InputText(input) = &modal.data.components[0].components[0] else {
        panic!("not a text input: {:?}", modal.data.components);
    };
    assert_eq!(
        (input.custom_id.as_str(), input.value.as_deref()),
        ("otp", Some("123456"))
    );
    modal
        .create_response(
            &http,
            CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new().content("Code accepted"),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        fake.original_response(submitted).unwrap().content,
        "Code accepted"
    );

    // Delete the user's message.
    channel
        .delete_message(&http, MessageId::new(said))
        .await
        .unwrap();
    assert!(fake.message(said).unwrap().deleted);
    bot.expect("MESSAGE_DELETE", |seen| match seen {
        Seen::Delete(id) if id.get() == said => Some(()),
        _ => None,
    })
    .await;

    // A DM with a file.
    let dm = UserId::new(alice.id)
        .create_dm_channel(&http)
        .await
        .unwrap();
    assert_eq!(fake.dm_channel(alice.id), Some(dm.id.get()));
    assert!(matches!(
        dm.id.to_channel(&http).await.unwrap(),
        Channel::Private(_)
    ));
    let log = b"step 1 ok\nstep 2 ok\n".to_vec();
    let with_file = dm
        .id
        .send_message(
            &http,
            CreateMessage::new()
                .content("Your deploy log")
                .add_file(CreateAttachment::bytes(log.clone(), "deploy.log")),
        )
        .await
        .unwrap();
    assert_eq!(with_file.attachments[0].filename, "deploy.log");
    assert_eq!(with_file.attachments[0].download().await.unwrap(), log);
    let stored = fake.messages(dm.id.get());
    assert_eq!(stored[0].attachments, [("deploy.log".to_string(), log)]);
    let upload = fake
        .requests()
        .into_iter()
        .find(|r| !r.files.is_empty())
        .unwrap();
    assert_eq!(upload.body["content"], "Your deploy log");

    // Nothing missed, nothing refused but the second acknowledgement.
    assert!(fake.not_found().is_empty(), "{:#?}", fake.not_found());
    let refused: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.status >= 400)
        .collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    bot.shards.shutdown_all().await;
    assert!(warnings.list().is_empty(), "{:#?}", warnings.list());
}

#[tokio::test]
async fn replicas_get_every_event_filtered_by_intents_and_resume_after_a_cut() {
    let (warnings, _guard) = Warnings::capture();
    let fake = FakeDiscord::start().await;
    let mut full = Bot::start(&fake, all_messages()).await;
    let mut blind = Bot::start(&fake, GatewayIntents::GUILD_MESSAGES).await;
    assert!(
        fake.wait_for(|f| f.connections() == 2, Duration::from_secs(15))
            .await
    );
    let alice = alice();

    fake.say(CHANNEL, &alice, "status?").await;
    full.message("content with MESSAGE_CONTENT", "status?")
        .await;
    blind.message("content without MESSAGE_CONTENT", "").await;
    let mention = format!("<@{}> status?", FakeDiscord::BOT_ID);
    fake.say(CHANNEL, &alice, &mention).await;
    blind.message("a mention of the bot", &mention).await;

    // Global commands work in DMs too; both replicas get the interaction.
    full.http.create_global_commands(&commands()).await.unwrap();
    assert_eq!(fake.global_commands().len(), 2);
    let dm = fake.open_dm(&alice);
    let invoked = fake.slash(dm, &alice, "confirm", json!([])).await;
    for bot in [&mut full, &mut blind] {
        let command = bot.command().await;
        assert_eq!(command.id.get(), invoked);
        assert_eq!(command.guild_id, None);
        assert_eq!(command.user.id.get(), alice.id);
    }

    // The gateway asks both to reconnect; what happens meanwhile is replayed
    // on resume.
    fake.reconnect_all();
    assert_eq!(fake.connections(), 0);
    fake.say(CHANNEL, &alice, "anyone there?").await;
    assert!(
        fake.wait_for(|f| f.connections() == 2, Duration::from_secs(30))
            .await
    );
    assert_eq!(fake.identifies(), 2, "resumed, not identified again");
    full.message("a replayed message", "anyone there?").await;
    blind.message("a replayed message", "").await;
    fake.say(CHANNEL, &alice, "back").await;
    full.message("a message after the resume", "back").await;
    blind.message("a message after the resume", "").await;
    assert!(warnings.list().is_empty(), "{:#?}", warnings.list());

    // A hard cut: the same, with serenity's warnings about it.
    fake.disconnect_all();
    fake.say(CHANNEL, &alice, "still there?").await;
    assert!(
        fake.wait_for(|f| f.connections() == 2, Duration::from_secs(30))
            .await
    );
    assert_eq!(fake.identifies(), 2, "resumed, not identified again");
    full.message("a message replayed after a cut", "still there?")
        .await;
    assert!(
        warnings
            .list()
            .iter()
            .all(|w| w.contains("4000") || w.contains("close frame")),
        "{:#?}",
        warnings.list()
    );

    full.shards.shutdown_all().await;
    blind.shards.shutdown_all().await;
}

/// `POST /channels/{channel}/messages` with `{"content": content}`.
async fn post(
    client: &reqwest::Client,
    fake: &FakeDiscord,
    channel: u64,
    content: &str,
) -> reqwest::Response {
    client
        .post(format!(
            "{}/api/v10/channels/{channel}/messages",
            fake.base()
        ))
        .header("Authorization", "Bot fake-token")
        .json(&json!({ "content": content }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sixth_message_in_five_seconds_is_refused_with_retry_after() {
    let fake = FakeDiscord::start().await;
    let client = reqwest::Client::new();
    for n in 0..5 {
        assert_eq!(
            post(&client, &fake, 7, &format!("message {n}"))
                .await
                .status(),
            200
        );
    }
    let refused = post(&client, &fake, 7, "one too many").await;
    assert_eq!(refused.status(), 429);
    let header = |name: &str| refused.headers()[name].to_str().unwrap().to_string();
    assert_eq!(header("retry-after"), "5");
    assert_eq!(header("x-ratelimit-scope"), "user");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["message"], "You are being rate limited.");
    assert_eq!(body["global"], false);
    let retry_after = body["retry_after"].as_f64().unwrap();
    assert!(retry_after > 4.0 && retry_after <= 5.0, "{retry_after}");
    assert_eq!(fake.rate_limited(), 1);
    assert_eq!(fake.messages(7).len(), 5, "nothing stored");
    // Another channel has its own window.
    assert_eq!(post(&client, &fake, 8, "elsewhere").await.status(), 200);
    // Discord's limits: empty and over-long messages are refused.
    assert_eq!(post(&client, &fake, 9, "").await.status(), 400);
    assert_eq!(
        post(&client, &fake, 9, &"x".repeat(2001)).await.status(),
        400
    );
    assert_eq!(
        post(&client, &fake, 9, &"x".repeat(2000)).await.status(),
        200
    );
}

#[tokio::test(start_paused = true)]
async fn more_than_fifty_requests_a_second_are_refused_globally() {
    let fake = FakeDiscord::start().await;
    // The clock stands still (nothing sleeps, connections are not pooled),
    // so all 70 requests fall in the same second.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..70 {
        let request = client
            .get(format!("{}/api/v10/users/@me", fake.base()))
            .header("Authorization", "Bot fake-token");
        requests.spawn(async move { request.send().await.unwrap() });
    }
    let mut refused = Vec::new();
    while let Some(response) = requests.join_next().await {
        let response = response.unwrap();
        if response.status() == 429 {
            refused.push(response);
        }
    }
    assert_eq!(refused.len(), 20);
    assert_eq!(fake.rate_limited(), 20);
    let first = &refused[0];
    assert_eq!(first.headers()["x-ratelimit-scope"], "global");
    assert_eq!(first.headers()["x-ratelimit-global"], "true");
    assert_eq!(first.headers()["retry-after"], "1");
    // serenity surfaces the 429 as an error with the status; the body has no
    // `code`, so serenity cannot decode it (code -1).
    let http = HttpBuilder::new("fake-token")
        .proxy(fake.base())
        .ratelimiter_disabled(true)
        .build();
    let error = http.get_current_user().await.unwrap_err();
    let serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) = &error else {
        panic!("not an unsuccessful request: {error:?}");
    };
    assert_eq!(response.status_code.as_u16(), 429);
    assert_eq!(response.error.code, -1, "{:?}", response.error);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(
        http.get_current_user().await.unwrap().id.get(),
        FakeDiscord::BOT_ID
    );
    // Interaction routes do not count: an unknown interaction is a 404, not a 429.
    let callback = client
        .post(format!(
            "{}/api/v10/interactions/1/nope/callback",
            fake.base()
        ))
        .json(&json!({ "type": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 404);
}

#[tokio::test(start_paused = true)]
async fn windows_follow_tokio_time_and_interactions_expire() {
    let fake = FakeDiscord::start().await;
    // No idle connections: a pooled connection's idle timer would let the
    // paused clock jump ahead while the runtime waits for the server.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for n in 0..5 {
        assert_eq!(
            post(&client, &fake, 7, &format!("message {n}"))
                .await
                .status(),
            200
        );
    }
    assert_eq!(post(&client, &fake, 7, "too soon").await.status(), 429);
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(
        post(&client, &fake, 7, "in the next window").await.status(),
        200
    );
    let times: Vec<_> = fake.requests().iter().map(|r| r.at).collect();
    assert!(times[6].duration_since(times[0]) >= Duration::from_secs(5));

    // An interaction answered after 3 s (of virtual and of real time: the
    // fake counts both) is unknown.
    let user = alice();
    let guild = fake.base();
    let register = client
        .put(format!(
            "{guild}/api/v10/applications/{}/guilds/{}/commands",
            FakeDiscord::APP_ID,
            FakeDiscord::GUILD_ID
        ))
        .header("Authorization", "Bot fake-token")
        .json(&json!([{ "name": "deploy", "description": "Deploy", "options": [] }]))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), 200);
    let id = fake.slash(CHANNEL, &user, "deploy", json!([])).await;
    tokio::time::advance(Duration::from_millis(3100)).await;
    tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(3100)))
        .await
        .unwrap();
    let token = fake.interaction_token(id).unwrap();
    let late = client
        .post(format!(
            "{guild}/api/v10/interactions/{id}/{token}/callback"
        ))
        .json(&json!({ "type": 4, "data": { "content": "late" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 404);
    let body: Value = late.json().await.unwrap();
    assert_eq!(body["code"], 10062);
    assert!(fake.interaction_responses(id).is_empty());
}

/// Product tests run on tokio's paused clock: serenity heartbeats through
/// five virtual minutes without a reconnect, and answers interactions in
/// virtual time far under Discord's 3 s.
#[tokio::test(start_paused = true)]
async fn serenity_works_on_a_paused_clock() {
    let (warnings, _guard) = Warnings::capture();
    let fake = FakeDiscord::start().await;
    let mut bot = Bot::start(&fake, all_messages()).await;
    fake.wait_ready().await;
    GuildId::new(FakeDiscord::GUILD_ID)
        .set_commands(&bot.http, commands())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(300)).await;
    fake.say(CHANNEL, &alice(), "still here?").await;
    bot.message("a message after five minutes", "still here?")
        .await;
    assert_eq!((fake.identifies(), fake.connections()), (1, 1));
    for _ in 0..3 {
        let invoked = tokio::time::Instant::now();
        let id = fake.slash(CHANNEL, &alice(), "confirm", json!([])).await;
        bot.command().await.defer(&bot.http).await.unwrap();
        let answered = fake.interaction_log(id)[0].at;
        assert!(answered.duration_since(invoked) < Duration::from_secs(1));
    }
    bot.shards.shutdown_all().await;
    assert!(warnings.list().is_empty(), "{:#?}", warnings.list());
}

/// The code and the first field error path of a refused serenity request.
fn refusal(error: &serenity::Error) -> (u16, isize, String) {
    let serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) = error else {
        panic!("not a refused request: {error:?}");
    };
    let path = response
        .error
        .errors
        .first()
        .map(|e| e.path.clone())
        .unwrap_or_default();
    (response.status_code.as_u16(), response.error.code, path)
}

#[tokio::test]
async fn what_discord_refuses_is_refused_in_a_shape_serenity_decodes() {
    let fake = FakeDiscord::start().await;
    let mut bot = Bot::start(&fake, all_messages()).await;
    let http = Arc::clone(&bot.http);
    fake.wait_ready().await;
    let channel = ChannelId::new(CHANNEL);
    let alice = alice();

    // Another user's message cannot be edited.
    let said = fake.say(CHANNEL, &alice, "hello").await;
    let error = channel
        .edit_message(&http, MessageId::new(said), EditMessage::new().content("x"))
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), (403, 50005, String::new()));

    // Duplicate custom ids.
    let button = || CreateButton::new("same").label("Same");
    let error = channel
        .send_message(
            &http,
            CreateMessage::new()
                .content("pick")
                .components(vec![CreateActionRow::Buttons(vec![button(), button()])]),
        )
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&error),
        (
            400,
            50035,
            "components.0.components.1.custom_id".to_string()
        )
    );

    // 8,000 embed characters in two embeds: serenity checks each embed
    // against 6,000, Discord the message.
    let long = || CreateEmbed::new().description("x".repeat(4000));
    let error = channel
        .send_message(&http, CreateMessage::new().embeds(vec![long(), long()]))
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), (400, 50035, "embeds".to_string()));

    // A modal title over 45 characters; a follow-up before any response.
    GuildId::new(FakeDiscord::GUILD_ID)
        .set_commands(&http, commands())
        .await
        .unwrap();
    fake.slash(CHANNEL, &alice, "confirm", json!([])).await;
    let command = bot.command().await;
    let followup = command
        .create_followup(
            &http,
            CreateInteractionResponseFollowup::new().content("early"),
        )
        .await
        .unwrap_err();
    assert_eq!(refusal(&followup), (404, 10015, String::new()));
    let long_title =
        CreateModal::new("m", "x".repeat(46)).components(vec![CreateActionRow::InputText(
            CreateInputText::new(InputTextStyle::Short, "Code", "otp"),
        )]);
    let error = command
        .create_response(&http, CreateInteractionResponse::Modal(long_title))
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), (400, 50035, "data.title".to_string()));
    // Refused responses do not acknowledge: a valid one still can.
    command.defer(&http).await.unwrap();

    // An invalid command definition.
    let error = GuildId::new(FakeDiscord::GUILD_ID)
        .set_commands(
            &http,
            vec![CreateCommand::new("Deploy").description("caps")],
        )
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), (400, 50035, "0.name".to_string()));
    assert_eq!(fake.commands(FakeDiscord::GUILD_ID).len(), 2, "kept");
    bot.shards.shutdown_all().await;
}
