//! switchyard in a Discord server: the real serenity client against the local
//! Discord stand-in (`discord_fake`), the demo's agent (simulator, SQLite,
//! real TOTP) behind it, on tokio's paused clock. What people in the channel
//! see: the conversation of the seed by messages, buttons, a modal and slash
//! commands; one status message edited in place; notifications; and Discord's
//! limits kept (no 429, no stray pings, nothing over 2,000 characters).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use switchyard::chat::discord::DiscordChat;
use switchyard::chat::{ChatPort, Message, Progress};
use switchyard::clock::Clock;
use switchyard::config::Config;
use switchyard::demo::Demo;
use switchyard::intent::Grammar;

use crate::discord_fake::{FakeDiscord, FakeUser};

pub(crate) const CHANNEL: u64 = 700_000_000_000_000_001;
const NOTIFY_PRD: u64 = 700_000_000_000_000_002;
pub(crate) const ALICE: u64 = 800_000_000_000_000_001;
pub(crate) const BOB: u64 = 800_000_000_000_000_002;
pub(crate) const DAVE: u64 = 800_000_000_000_000_004;
pub(crate) const MALLORY: u64 = 800_000_000_000_000_009;
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

struct Server {
    fake: FakeDiscord,
    demo: Demo,
    chat: DiscordChat,
    alice: FakeUser,
    bob: FakeUser,
    clock: Clock,
    _dir: tempfile::TempDir,
}

/// The demo configuration on Discord; `timing` replaces the blue-green plan's
/// bake, verification and watch.
pub(crate) fn config(fake: &FakeDiscord, timing: Option<&str>) -> Config {
    let demo = switchyard::config::DEMO_TOML;
    let demo = match timing {
        Some(t) => demo.replace("bake = \"2s\"\nverification = \"5s\"\nwatch = \"10s\"", t),
        None => demo.to_string(),
    };
    let text = format!(
        "chat = \"discord\"\n{demo}\n[discord]\ntoken = \"test-token\"\nguilds = [\"{guild}\"]\n\
         prefix = \"!sy\"\napi_base = \"{base}\"\n\
         [discord.notifications]\nprd = \"{NOTIFY_PRD}\"\n\
         [discord.users]\n\"{ALICE}\" = \"alice\"\n\"{BOB}\" = \"bob\"\n\"{DAVE}\" = \"dave\"\n",
        guild = FakeDiscord::GUILD_ID,
        base = fake.base(),
    );
    Config::from_toml_str(&text).expect("valid Discord config")
}

/// Warnings (serenity drops a dispatch it cannot parse with only a WARN; the
/// agent logs a request it gave up on) go to the test's output, so a failure
/// says why. `RUST_LOG` widens them.
pub(crate) fn show_warnings() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

async fn server_with(timing: Option<&str>) -> Server {
    show_warnings();
    let fake = FakeDiscord::start().await;
    let alice = FakeUser::new(ALICE, "alice");
    let bob = FakeUser::new(BOB, "bob");
    for u in [
        &alice,
        &bob,
        &FakeUser::new(DAVE, "dave"),
        &FakeUser::new(MALLORY, "mallory"),
    ] {
        fake.add_user(u);
    }
    let config = config(&fake, timing);
    let settings = config.discord.clone().unwrap();
    let http = switchyard::chat::discord::http(&settings).unwrap();
    let chat = DiscordChat::new(settings, Arc::new(http));
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::starting_at(1_767_225_600_000);
    let demo = Demo::open(config.clone(), dir.path(), Arc::new(chat.clone()), clock)
        .await
        .unwrap();
    let grammar = Grammar::for_config(&config).unwrap();
    let (serving, agent) = (chat.clone(), demo.agent.clone());
    tokio::spawn(async move {
        let _ = serving.serve(agent, &grammar, &config).await;
    });
    fake.wait_ready().await;
    // The slash commands are registered once READY has been handled.
    assert!(
        fake.wait_for(|f| !f.commands(FakeDiscord::GUILD_ID).is_empty(), PATIENCE)
            .await,
        "no slash commands were registered"
    );
    Server {
        fake,
        demo,
        chat,
        alice,
        bob,
        clock,
        _dir: dir,
    }
}

async fn server() -> Server {
    server_with(None).await
}

impl Server {
    /// Waits until a bot message in `channel` contains `text`; returns it.
    async fn bot_says(&self, channel: u64, text: &str) -> crate::discord_fake::FakeMessage {
        let found = self
            .fake
            .wait_for(
                |f| {
                    f.messages(channel)
                        .iter()
                        .any(|m| m.author_id == FakeDiscord::BOT_ID && m.content.contains(text))
                },
                PATIENCE,
            )
            .await;
        let all: Vec<String> = self
            .fake
            .messages(channel)
            .iter()
            .map(|m| m.content.clone())
            .collect();
        assert!(
            found,
            "the bot never said {text:?}; it said:\n{}",
            all.join("\n---\n")
        );
        self.fake
            .messages(channel)
            .into_iter()
            .rev()
            .find(|m| m.author_id == FakeDiscord::BOT_ID && m.content.contains(text))
            .unwrap()
    }

    async fn code(&self, user: &str) -> String {
        let cfg = Config::demo();
        let mfa = switchyard::mfa::Mfa::new(self.demo.store.clone(), &cfg.mfa, &cfg.users).unwrap();
        let clock_now = self.demo_clock_now();
        mfa.current_code(user, clock_now).await.unwrap().0
    }

    /// Now, on the demo's clock (which follows tokio time).
    fn demo_clock_now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Every message create and edit the bot sent.
    fn outgoing(&self) -> Vec<crate::discord_fake::Recorded> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| (r.method == "POST" || r.method == "PATCH") && r.path.contains("/messages"))
            .collect()
    }
}

/// Asserts Discord's safety rules on everything the bot sent.
fn assert_safe(s: &Server) {
    let sent = s.outgoing();
    assert!(!sent.is_empty());
    for r in &sent {
        let content = r.body["content"].as_str().unwrap_or_default();
        assert!(
            content.chars().count() <= 2000,
            "{} chars",
            content.chars().count()
        );
        let parse = &r.body["allowed_mentions"]["parse"];
        assert!(
            r.body.get("allowed_mentions").is_some(),
            "{} {} without allowed_mentions",
            r.method,
            r.path
        );
        let parse: Vec<&str> = parse
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        assert!(
            !parse.contains(&"everyone") && !parse.contains(&"roles"),
            "{:?}",
            r.body
        );
    }
    assert_eq!(
        s.fake.rate_limited(),
        0,
        "the bot hit Discord's rate limits"
    );
}

#[tokio::test(start_paused = true)]
async fn the_seed_promotion_with_buttons_a_code_modal_an_approval_and_one_live_status_message() {
    let s = server().await;
    s.fake
        .say(
            CHANNEL,
            &s.alice,
            &format!("<@{}> promote 1.3.0 from tst to prd", FakeDiscord::BOT_ID),
        )
        .await;
    let ask = s
        .bot_says(CHANNEL, "Proceed with PRD promotion of 1.3.0?")
        .await;
    s.fake
        .click(CHANNEL, &s.alice, ask.id, "sy:yes:alice")
        .await;
    let code_ask = s.bot_says(CHANNEL, "Enter TOTP code").await;
    s.fake
        .click(CHANNEL, &s.alice, code_ask.id, "sy:code:alice")
        .await;
    let code = s.code("alice").await;
    s.fake
        .submit_modal(CHANNEL, &s.alice, "sy:code:alice", &[("code", &code)])
        .await;
    let approval = s.bot_says(CHANNEL, "Waiting for approval of #1").await;
    // The approval request pings the approvers, and only them.
    let pinged = &approval.allowed_mentions["users"];
    assert!(pinged.to_string().contains(&BOB.to_string()), "{pinged}");
    assert!(!approval.mention_everyone);
    // ...and reaches prd's notification channel too.
    s.bot_says(NOTIFY_PRD, "Waiting for approval of #1").await;

    s.fake
        .say(
            CHANNEL,
            &s.bob,
            &format!("<@{}> approve", FakeDiscord::BOT_ID),
        )
        .await;
    s.bot_says(CHANNEL, "#1 approved by bob").await;
    s.bot_says(CHANNEL, "Deployment successful! #1").await;

    // One status message, edited in place through every phase.
    let boards: Vec<_> = s
        .fake
        .messages(CHANNEL)
        .into_iter()
        .filter(|m| m.content.starts_with("**Deployment #1** · PRD"))
        .collect();
    assert_eq!(boards.len(), 1, "{boards:#?}");
    let board = &boards[0];
    assert!(board.edits >= 2, "edited {} times", board.edits);
    for phase in [
        "Phase 1",
        "Phase 2",
        "Phase 3",
        "[100%] Blue: 0% | Green: 100%",
        "▰▰▰▰▰▰▰▰▰▰ 100%",
    ] {
        assert!(
            board.content.contains(phase),
            "missing {phase:?} in {}",
            board.content
        );
    }
    s.bot_says(NOTIFY_PRD, "Starting deployment #1").await;
    s.bot_says(NOTIFY_PRD, "Deployment successful! #1").await;
    // The code never appeared in the channel.
    assert!(
        !s.fake
            .messages(CHANNEL)
            .iter()
            .any(|m| m.content.contains(&code))
    );
    assert_safe(&s);
}

#[tokio::test(start_paused = true)]
async fn a_slash_command_a_typed_yes_and_a_code_typed_in_the_channel_which_is_deleted() {
    let s = server().await;
    let interaction = s
        .fake
        .slash(
            CHANNEL,
            &s.alice,
            "promote",
            json!([{"name": "version", "type": 3, "value": "1.3.0"},
                   {"name": "from", "type": 3, "value": "tst"},
                   {"name": "to", "type": 3, "value": "prd"}]),
        )
        .await;
    assert!(
        s.fake
            .wait_for(
                |f| !f.interaction_responses(interaction).is_empty(),
                PATIENCE
            )
            .await,
        "the slash command was not answered: {:#?}; requests: {:#?}",
        s.fake.interaction_log(interaction),
        s.fake.request_lines()
    );
    let echo = s.fake.interaction_responses(interaction)[0].to_string();
    assert!(echo.contains("promote 1.3.0 from tst to prd"), "{echo}");
    s.bot_says(CHANNEL, "Proceed with PRD promotion of 1.3.0?")
        .await;
    // A plain "yes" answers the question the bot asked alice.
    s.fake.say(CHANNEL, &s.alice, "yes").await;
    s.bot_says(CHANNEL, "Enter TOTP code").await;
    let code = s.code("alice").await;
    let typed = s.fake.say(CHANNEL, &s.alice, &code).await;
    s.bot_says(CHANNEL, "✓ MFA verified").await;
    assert!(
        s.fake
            .wait_for(|f| f.message(typed).is_some_and(|m| m.deleted), PATIENCE)
            .await,
        "the code typed in the channel was not deleted"
    );
    assert_safe(&s);
}

#[tokio::test(start_paused = true)]
async fn strangers_read_help_only_and_echoed_everyone_never_pings() {
    let s = server().await;
    let mallory = FakeUser::new(MALLORY, "mallory");
    s.fake
        .say(
            CHANNEL,
            &mallory,
            &format!("<@{}> deploy 1.3.0 to dev", FakeDiscord::BOT_ID),
        )
        .await;
    s.bot_says(CHANNEL, "discord:mallory").await;
    s.fake
        .say(
            CHANNEL,
            &s.alice,
            "!sy deploy @everyone to prd because @here",
        )
        .await;
    let refusal = s
        .fake
        .wait_for(
            |f| {
                f.messages(CHANNEL)
                    .iter()
                    .filter(|m| m.author_id == FakeDiscord::BOT_ID)
                    .count()
                    >= 2
            },
            PATIENCE,
        )
        .await;
    assert!(refusal);
    for m in s.fake.messages(CHANNEL) {
        if m.author_id == FakeDiscord::BOT_ID {
            assert!(!m.mention_everyone, "{}", m.content);
            assert!(m.mentions.is_empty(), "{}", m.content);
        }
    }
    // Talk that is not addressed to the bot is left alone.
    let before = s.fake.messages(CHANNEL).len();
    s.fake.say(CHANNEL, &s.alice, "status of lunch?").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(s.fake.messages(CHANNEL).len(), before + 1);
    assert_safe(&s);
}

#[tokio::test(start_paused = true)]
async fn mfa_enroll_answers_by_direct_message_with_a_qr_code() {
    let s = server().await;
    s.fake.say(CHANNEL, &s.bob, "!sy mfa enroll").await;
    // bob has an authenticator: replacing it takes a code from it first.
    s.bot_says(CHANNEL, "Enter TOTP code").await;
    let code = s.code("bob").await;
    s.fake.say(CHANNEL, &s.bob, &code).await;
    assert!(
        s.fake
            .wait_for(|f| f.dm_channel(BOB).is_some(), PATIENCE)
            .await,
        "no DM channel was opened"
    );
    let dm = s.fake.dm_channel(BOB).unwrap();
    let uri = s.bot_says(dm, "otpauth://").await;
    let (name, png) = uri.attachments.first().expect("a QR code").clone();
    assert!(name.ends_with(".png"));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // Nothing secret reached the channel.
    assert!(
        !s.fake
            .messages(CHANNEL)
            .iter()
            .any(|m| m.content.contains("otpauth"))
    );
    // bob answers in the DM with a code from the new authenticator.
    let link = uri
        .content
        .split_whitespace()
        .find(|w| w.starts_with("otpauth://"))
        .unwrap();
    let totp = totp_rs::Totp::from_url(link).unwrap();
    // The next 30 s step: the step of the code just used is spent.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let now = u64::try_from(s.demo_clock_now() / 1000).unwrap();
    let new_code = totp.generate(now).to_string();
    let bob_dm = FakeUser::new(BOB, "bob");
    s.fake.say(dm, &bob_dm, &new_code).await;
    s.bot_says(dm, "Your authenticator is set up").await;
    assert_safe(&s);
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_twenty_progress_lines_within_a_second_is_one_edit() {
    let s = server().await;
    let progress = |text: &str| Message {
        deployment: Some(Progress {
            id: 42,
            env: "prd".into(),
            live: true,
            percent: Some(10),
            done: false,
            title: None,
        }),
        ..Message::to_channel(&CHANNEL.to_string(), text)
    };
    s.chat
        .send(progress("Starting deployment #42"))
        .await
        .unwrap();
    s.bot_says(CHANNEL, "Starting deployment #42").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    for i in 0..20 {
        s.chat.send(progress(&format!("step {i}"))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let board = s.bot_says(CHANNEL, "step 19").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let board = s.fake.message(board.id).unwrap();
    assert_eq!(board.edits, 1, "{}", board.content);
    assert_safe(&s);
}

#[tokio::test(start_paused = true)]
async fn a_thirty_minute_rollout_reaches_the_channel_without_a_single_429() {
    let s = server_with(Some(
        "bake = \"6m\"\nverification = \"10m\"\nwatch = \"0s\"",
    ))
    .await;
    s.fake
        .say(CHANNEL, &s.alice, "!sy deploy 1.4.0 to tst")
        .await;
    s.bot_says(CHANNEL, "(yes/no)").await;
    s.fake.say(CHANNEL, &s.alice, "yes").await;
    let done = s.bot_says(CHANNEL, "Deployment successful! #1").await;
    let board = s
        .fake
        .messages(CHANNEL)
        .into_iter()
        .find(|m| m.content.starts_with("**Deployment #1** · TST"))
        .expect("a status message");
    for step in ["[10%]", "[25%]", "[50%]", "[100%]", "Verification at 100%"] {
        assert!(
            board.content.contains(step),
            "missing {step} in {}",
            board.content
        );
    }
    assert!(
        done.content.contains("in 28m")
            || done.content.contains("in 29m")
            || done.content.contains("in 30m"),
        "{}",
        done.content
    );
    assert_safe(&s);
}

#[tokio::test(start_paused = true)]
async fn metrics_and_history_answer_with_their_charts_attached() {
    let s = server().await;
    // Something to draw: dev asks no questions.
    s.fake
        .say(CHANNEL, &s.alice, "!sy deploy 1.3.2 to dev")
        .await;
    s.bot_says(CHANNEL, "Deployment successful!").await;
    s.fake
        .say(
            CHANNEL,
            &s.alice,
            "!sy show deployment metrics for last 7 days",
        )
        .await;
    let table = s.bot_says(CHANNEL, "Deployment metrics").await;
    let (name, png) = table.attachments.first().expect("the chart").clone();
    assert_eq!(name, "metrics.png");
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let info = decoder.read_info().expect("a PNG").info().clone();
    assert_eq!(
        (info.width, info.height),
        switchyard::render::chart::METRICS_SIZE
    );
    s.fake.say(CHANNEL, &s.alice, "!sy history").await;
    let history = s.bot_says(CHANNEL, "history").await;
    let (name, png) = history.attachments.first().expect("the timeline").clone();
    assert_eq!(name, "history.png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_safe(&s);
}
