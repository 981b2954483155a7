//! Two replicas of the agent in one Discord server, sharing one PostgreSQL
//! store: both gateway connections receive every message (Discord delivers
//! each event to each connection), and each event is handled by exactly one
//! of them, the one whose claim in the store wins. Each replica runs the
//! real serenity client against the stand-in, on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use switchyard::chat::discord::DiscordChat;
use switchyard::clock::Clock;
use switchyard::demo::Demo;
use switchyard::intent::Grammar;
use switchyard::store::Store;

use crate::databases::Db;
use crate::discord_fake::{FakeDiscord, FakeUser};
use crate::scenarios::{ALICE, PATIENCE, config};

/// One replica: its own simulated fleet directory, the shared store.
struct Replica {
    demo: Demo,
    _dir: tempfile::TempDir,
}

async fn replica(fake: &FakeDiscord, store_url: &str, clock: Clock) -> Replica {
    let config = config(fake, None);
    let settings = config.discord.clone().unwrap();
    let http = switchyard::chat::discord::http(&settings).unwrap();
    let chat = DiscordChat::new(settings, Arc::new(http));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(store_url).await.unwrap();
    let demo = Demo::open_with(
        config.clone(),
        dir.path(),
        Some(store),
        Arc::new(chat.clone()),
        clock,
    )
    .await
    .unwrap();
    let grammar = Grammar::for_config(&config).unwrap();
    let agent = demo.agent.clone();
    tokio::spawn(async move {
        let _ = chat.serve(agent, &grammar, &config).await;
    });
    Replica { demo, _dir: dir }
}

/// The bot's messages in `channel`.
fn bot_messages(fake: &FakeDiscord, channel: u64) -> Vec<String> {
    fake.messages(channel)
        .into_iter()
        .filter(|m| m.author_id == FakeDiscord::BOT_ID)
        .map(|m| m.content)
        .collect()
}

const CHANNELS: u64 = 40;
const FIRST: u64 = 710_000_000_000_000_000;

#[tokio::test(start_paused = true)]
async fn two_hundred_commands_seen_by_two_replicas_are_handled_exactly_once_each() {
    crate::scenarios::show_warnings();
    let db = Db::postgres().await;
    let fake = FakeDiscord::start().await;
    let alice = FakeUser::new(ALICE, "alice");
    fake.add_user(&alice);
    let clock = Clock::starting_at(1_767_225_600_000);
    let a = replica(&fake, &db.url(), clock).await;
    let b = replica(&fake, &db.url(), clock).await;
    assert!(
        fake.wait_for(|f| f.connections() == 2, PATIENCE).await,
        "both replicas connect to the gateway"
    );
    assert!(
        fake.wait_for(|f| !f.commands(FakeDiscord::GUILD_ID).is_empty(), PATIENCE)
            .await
    );

    // 200 commands over 40 channels (Discord allows 5 messages per 5 s per
    // channel), each answered with one message.
    for i in 0..200u64 {
        let channel = FIRST + i % CHANNELS;
        fake.say(channel, &alice, "!sy status dev").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answered = |f: &FakeDiscord| {
        (0..CHANNELS)
            .map(|c| bot_messages(f, FIRST + c).len())
            .sum::<usize>()
    };
    fake.wait_for(|f| answered(f) >= 200, PATIENCE).await;
    // Time for a second answer to arrive, were any command handled twice.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(
        answered(&fake),
        200,
        "one answer per command, not one per replica"
    );
    for c in 0..CHANNELS {
        let said = bot_messages(&fake, FIRST + c);
        assert_eq!(said.len(), 5, "channel {c}: {said:#?}");
        assert!(said.iter().all(|m| m.contains("DEV")), "{said:#?}");
    }

    // A deploy seen by both replicas starts one deployment.
    let channel = FIRST;
    fake.say(channel, &alice, "!sy deploy 1.3.0 to dev").await;
    assert!(
        fake.wait_for(
            |f| bot_messages(f, channel)
                .iter()
                .any(|m| m.contains("Deployment successful! #1")),
            PATIENCE
        )
        .await,
        "{:#?}",
        bot_messages(&fake, channel)
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    let started = bot_messages(&fake, channel)
        .iter()
        .filter(|m| m.contains("Starting deployment"))
        .count();
    assert_eq!(started, 1, "{:#?}", bot_messages(&fake, channel));
    let store = a.demo.agent.store();
    let history = store.history(None, 10).await.unwrap();
    assert_eq!(history.len(), 1, "one deployment recorded: {history:#?}");
    drop(b);
}
