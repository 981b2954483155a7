//! Two `switchyard run` processes on one PostgreSQL store, both connected to
//! the local Discord stand-in (`discord_fake`, in this test process) with the
//! real serenity client: every message reaches both gateway connections, and
//! each is handled by exactly one process. Each process runs the demo's
//! simulated fleet in its own data directory.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::databases::Db;
use crate::discord_fake::{FakeDiscord, FakeUser};

const ALICE: u64 = 800_000_000_000_000_001;
const FIRST: u64 = 720_000_000_000_000_000;
const CHANNELS: u64 = 40;

/// The demo configuration on Discord, with the records in `store`.
fn config(fake: &FakeDiscord, store: &str) -> String {
    let demo = switchyard::config::DEMO_TOML.replace(
        "url = \"sqlite://switchyard.db\"",
        &format!("url = \"{store}\""),
    );
    assert!(demo.contains(store), "the demo config names its store");
    format!(
        "chat = \"discord\"\n{demo}\n[discord]\ntoken = \"test-token\"\nguilds = [\"{guild}\"]\n\
         prefix = \"!sy\"\napi_base = \"{base}\"\n[discord.users]\n\"{ALICE}\" = \"alice\"\n",
        guild = FakeDiscord::GUILD_ID,
        base = fake.base(),
    )
}

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(config: &std::path::Path, data: &std::path::Path) -> Process {
    let child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("switchyard starts");
    Process(child)
}

fn bot_messages(fake: &FakeDiscord, channel: u64) -> Vec<String> {
    fake.messages(channel)
        .into_iter()
        .filter(|m| m.author_id == FakeDiscord::BOT_ID)
        .map(|m| m.content)
        .collect()
}

fn answered(fake: &FakeDiscord) -> usize {
    (0..CHANNELS)
        .map(|c| bot_messages(fake, FIRST + c).len())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_discord_server_handle_each_of_200_commands_once() {
    let db = Db::postgres().await;
    // The schema exists before either process looks at it.
    switchyard::store::Store::open(&db.url())
        .await
        .unwrap()
        .close()
        .await;
    let fake = FakeDiscord::start().await;
    let alice = FakeUser::new(ALICE, "alice");
    fake.add_user(&alice);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchyard.toml");
    std::fs::write(&path, config(&fake, &db.url())).unwrap();
    let _one = start(&path, &dir.path().join("one"));
    let _two = start(&path, &dir.path().join("two"));
    assert!(
        fake.wait_for(|f| f.connections() == 2, Duration::from_secs(60))
            .await,
        "both processes connect to the gateway"
    );
    assert!(
        fake.wait_for(
            |f| !f.commands(FakeDiscord::GUILD_ID).is_empty(),
            Duration::from_secs(30)
        )
        .await
    );

    for i in 0..200u64 {
        fake.say(FIRST + i % CHANNELS, &alice, "!sy status dev")
            .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        fake.wait_for(|f| answered(f) >= 200, Duration::from_secs(60))
            .await,
        "only {} of 200 commands were answered",
        answered(&fake)
    );
    // Long enough for a second answer, were any command handled twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        answered(&fake),
        200,
        "one answer per command, not per process"
    );

    let channel = FIRST;
    fake.say(channel, &alice, "!sy deploy 1.3.0 to dev").await;
    assert!(
        fake.wait_for(
            |f| bot_messages(f, channel)
                .iter()
                .any(|m| m.contains("Deployment successful! #1")),
            Duration::from_secs(60)
        )
        .await,
        "{:#?}",
        bot_messages(&fake, channel)
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let started = bot_messages(&fake, channel)
        .iter()
        .filter(|m| m.contains("Starting deployment"))
        .count();
    assert_eq!(started, 1, "one deployment per deploy command");
    let store = switchyard::store::Store::open(&db.url()).await.unwrap();
    assert_eq!(store.history(None, 10).await.unwrap().len(), 1);
}
