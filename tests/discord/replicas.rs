//! Two replicas of the agent in one Discord server, sharing one PostgreSQL
//! store: both gateway connections receive every message (Discord delivers
//! each event to each connection), and each event is handled by exactly one
//! of them, the one whose claim in the store wins. Each replica runs the
//! real serenity client against the stand-in, on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use switchyard::chat::Incoming;
use switchyard::chat::discord::DiscordChat;
use switchyard::clock::Clock;
use switchyard::demo::{Backing, Demo};
use switchyard::intent::Grammar;
use switchyard::store::Store;

use crate::databases::Db;
use crate::discord_fake::{FakeDiscord, FakeUser};
use crate::scenarios::{ALICE, BOB, PATIENCE, config};

/// One replica: its own simulated fleet directory, the shared store.
struct Replica {
    demo: Demo,
    _dir: tempfile::TempDir,
}

async fn replica(fake: &FakeDiscord, store_url: &str, clock: Clock, name: &str) -> Replica {
    let config = config(fake, None);
    let settings = config.discord.clone().unwrap();
    let http = switchyard::chat::discord::http(&settings).unwrap();
    let chat = DiscordChat::new(settings, Arc::new(http));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(store_url).await.unwrap();
    let demo = Demo::open_with(
        config.clone(),
        dir.path(),
        Some(Backing {
            store,
            replica: Some(name.to_owned()),
        }),
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
    let a = replica(&fake, &db.url(), clock, "replica-a").await;
    let b = replica(&fake, &db.url(), clock, "replica-b").await;
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
            .map(|c| f.bot_said(FIRST + c).len())
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
        let said = fake.bot_said(FIRST + c);
        assert_eq!(said.len(), 5, "channel {c}: {said:#?}");
        assert!(said.iter().all(|m| m.contains("DEV")), "{said:#?}");
    }

    // A deploy seen by both replicas starts one deployment.
    let channel = FIRST;
    fake.say(channel, &alice, "!sy deploy 1.3.0 to dev").await;
    assert!(
        fake.wait_for(
            |f| f
                .bot_said(channel)
                .iter()
                .any(|m| m.contains("Deployment successful! #1")),
            PATIENCE
        )
        .await,
        "{:#?}",
        fake.bot_said(channel)
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    let started = fake
        .bot_said(channel)
        .iter()
        .filter(|m| m.contains("Starting deployment"))
        .count();
    assert_eq!(started, 1, "{:#?}", fake.bot_said(channel));
    let store = a.demo.agent.store();
    let history = store.history(None, 10).await.unwrap();
    assert_eq!(history.len(), 1, "one deployment recorded: {history:#?}");
    drop(b);
}

/// Waits until the bot's messages in `channel` include one containing `text`.
async fn bot_says(fake: &FakeDiscord, channel: u64, text: &str) {
    assert!(
        fake.wait_for(
            |f| f.bot_said(channel).iter().any(|m| m.contains(text)),
            PATIENCE
        )
        .await,
        "no {text:?} in {:#?}",
        fake.bot_said(channel)
    );
}

#[tokio::test(start_paused = true)]
async fn answers_and_approvals_reach_the_replica_that_asked_for_them() {
    crate::scenarios::show_warnings();
    let db = Db::postgres().await;
    let fake = FakeDiscord::start().await;
    let alice = FakeUser::new(ALICE, "alice");
    let bob = FakeUser::new(BOB, "bob");
    fake.add_user(&alice);
    fake.add_user(&bob);
    let clock = Clock::starting_at(1_767_225_600_000);
    let a = replica(&fake, &db.url(), clock, "replica-a").await;
    let b = replica(&fake, &db.url(), clock, "replica-b").await;
    assert!(fake.wait_for(|f| f.connections() == 2, PATIENCE).await);
    let channel = FIRST + 99;
    // Which replica `replica` says must handle `user` saying `text` here.
    let routed = async |replica: &Replica, user: &str, text: &str| {
        let line = Incoming {
            channel: channel.to_string(),
            user: user.into(),
            text: text.into(),
        };
        replica.demo.agent.belongs_elsewhere(&line).await
    };

    fake.say(channel, &alice, "!sy promote 1.3.0 from tst to prd")
        .await;
    bot_says(&fake, channel, "Proceed with PRD promotion of 1.3.0?").await;
    // Whichever replica asked holds the question; the other defers to it.
    let (asker, other) = match routed(&a, "alice", "yes").await {
        None => (&a, &b),
        Some(_) => (&b, &a),
    };
    let asker_name = asker.demo.engine.replica().to_owned();
    assert_eq!(
        routed(other, "alice", "yes").await,
        Some(asker_name.clone())
    );
    // Someone else's lines are anybody's.
    assert_eq!(routed(other, "bob", "status prd").await, None);

    fake.say(channel, &alice, "yes").await;
    bot_says(&fake, channel, "Enter TOTP code").await;
    let mfa = switchyard::mfa::Mfa::new(
        asker.demo.store.clone(),
        &switchyard::config::Config::demo().mfa,
        &switchyard::config::Config::demo().users,
    )
    .unwrap();
    let code = mfa.current_code("alice", clock.now_ms()).await.unwrap().0;
    fake.say(channel, &alice, &code).await;
    bot_says(&fake, channel, "✓ MFA verified").await;
    bot_says(&fake, channel, "Waiting for approval of #1").await;
    // bob's approval belongs to the replica holding the pending deployment.
    assert_eq!(
        routed(other, "bob", "approve #1").await,
        Some(asker_name.clone())
    );
    assert_eq!(
        routed(other, "bob", "approve").await,
        Some(asker_name.clone()),
        "the one request pending in the channel"
    );
    fake.say(channel, &bob, "!sy approve").await;
    bot_says(&fake, channel, "#1 approved by bob").await;
    bot_says(&fake, channel, "Deployment successful! #1").await;
    let said = fake.bot_said(channel);
    assert!(
        !said
            .iter()
            .any(|m| m.contains("no question waiting") || m.contains("no approval pending")),
        "an answer reached the replica that had not asked: {said:#?}"
    );
    assert!(
        other.demo.engine.driving().is_empty(),
        "the other replica drove nothing"
    );
}
