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
const BOB: u64 = 800_000_000_000_000_002;
const FIRST: u64 = 720_000_000_000_000_000;
const CHANNELS: u64 = 40;

/// The demo configuration on Discord, with the records in `store` and a
/// 3 s lease (a replica is taken for dead 3 s after its last heartbeat).
fn config(fake: &FakeDiscord, store: &str) -> String {
    let demo = switchyard::config::DEMO_TOML
        .replace(
            "url = \"sqlite://switchyard.db\"",
            &format!("url = \"{store}\""),
        )
        .replace("lease = \"15s\"", "lease = \"3s\"");
    assert!(demo.contains(store), "the demo config names its store");
    assert!(
        demo.contains("lease = \"3s\""),
        "the demo config sets its lease"
    );
    format!(
        "chat = \"discord\"\n{demo}\n[discord]\ntoken = \"test-token\"\nguilds = [\"{guild}\"]\n\
         prefix = \"!sy\"\napi_base = \"{base}\"\n[discord.users]\n\"{ALICE}\" = \"alice\"\n\"{BOB}\" = \"bob\"\n",
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

/// `switchyard run` as replica `name` (its id starts with the name: the
/// replica id begins with `HOSTNAME`).
fn start(config: &std::path::Path, data: &std::path::Path, name: &str) -> Process {
    let child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "warn")
        .env("HOSTNAME", name)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("switchyard starts");
    Process(child)
}

fn answered(fake: &FakeDiscord) -> usize {
    (0..CHANNELS).map(|c| fake.bot_said(FIRST + c).len()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_discord_server_handle_each_of_200_commands_once() {
    let p = pair().await;
    let fake = &p.fake;
    for i in 0..200u64 {
        fake.say(FIRST + i % CHANNELS, &p.alice, "!sy status dev")
            .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        fake.wait_for(|f| answered(f) >= 200, Duration::from_secs(60))
            .await,
        "only {} of 200 commands were answered",
        answered(fake)
    );
    // Long enough for a second answer, were any command handled twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        answered(fake),
        200,
        "one answer per command, not per process"
    );

    let channel = FIRST;
    fake.say(channel, &p.alice, "!sy deploy 1.3.0 to dev").await;
    p.says(channel, "Deployment successful! #1").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let started = fake
        .bot_said(channel)
        .iter()
        .filter(|m| m.contains("Starting deployment"))
        .count();
    assert_eq!(started, 1, "one deployment per deploy command");
    assert_eq!(p.store().await.history(None, 10).await.unwrap().len(), 1);
}

/// Two processes ("one" and "two") on one store and one Discord stand-in,
/// with alice and bob in the server.
struct Pair {
    db: Db,
    fake: FakeDiscord,
    alice: FakeUser,
    bob: FakeUser,
    processes: Vec<Option<Process>>,
    _dir: tempfile::TempDir,
}

async fn pair() -> Pair {
    let db = Db::postgres().await;
    switchyard::store::Store::open(&db.url())
        .await
        .unwrap()
        .close()
        .await;
    let fake = FakeDiscord::start().await;
    let alice = FakeUser::new(ALICE, "alice");
    let bob = FakeUser::new(BOB, "bob");
    fake.add_user(&alice);
    fake.add_user(&bob);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchyard.toml");
    std::fs::write(&path, config(&fake, &db.url())).unwrap();
    let processes = ["one", "two"]
        .iter()
        .map(|name| Some(start(&path, &dir.path().join(name), name)))
        .collect();
    assert!(
        fake.wait_for(|f| f.connections() == 2, Duration::from_secs(60))
            .await
    );
    assert!(
        fake.wait_for(
            |f| !f.commands(FakeDiscord::GUILD_ID).is_empty(),
            Duration::from_secs(30)
        )
        .await
    );
    Pair {
        db,
        fake,
        alice,
        bob,
        processes,
        _dir: dir,
    }
}

impl Pair {
    async fn says(&self, channel: u64, text: &str) {
        assert!(
            self.fake
                .wait_for(
                    |f| f.bot_said(channel).iter().any(|m| m.contains(text)),
                    Duration::from_secs(60)
                )
                .await,
            "no {text:?} in {:#?}",
            self.fake.bot_said(channel)
        );
    }

    /// kill -9 the process whose replica id is `replica`.
    fn kill(&mut self, replica: &str) {
        let index = usize::from(!replica.starts_with("one-"));
        drop(self.processes[index].take());
    }

    async fn store(&self) -> switchyard::store::Store {
        switchyard::store::Store::open(&self.db.url())
            .await
            .unwrap()
    }

    /// alice's current TOTP code (the demo's seeds).
    async fn code(&self) -> String {
        let demo = switchyard::config::Config::demo();
        let mfa = switchyard::mfa::Mfa::new(self.store().await, &demo.mfa, &demo.users).unwrap();
        mfa.current_code("alice", now_ms()).await.unwrap().0
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_whose_replica_died_is_answered_on_the_survivor() {
    let mut p = pair().await;
    let channel = FIRST + 77;
    p.fake
        .say(channel, &p.alice, "!sy promote 1.3.0 from tst to prd")
        .await;
    p.says(channel, "Proceed with PRD promotion of 1.3.0?")
        .await;
    let asker = p
        .store()
        .await
        .open_question(&channel.to_string(), "alice", now_ms())
        .await
        .unwrap()
        .expect("the question is recorded")
        .replica;
    p.kill(&asker);
    // Dead once its heartbeat is older than the lease.
    tokio::time::sleep(Duration::from_secs(4)).await;

    // A bare "yes", as people type it: the survivor takes the question over.
    p.fake.say(channel, &p.alice, "yes").await;
    p.says(channel, "Enter TOTP code").await;
    let code = p.code().await;
    p.fake.say(channel, &p.alice, &code).await;
    p.says(channel, "✓ MFA verified").await;
    p.says(channel, "Waiting for approval of #1").await;
    p.fake.say(channel, &p.bob, "!sy approve").await;
    p.says(channel, "#1 approved by bob").await;
    p.says(channel, "Deployment successful! #1").await;
    let left = p
        .store()
        .await
        .open_question(&channel.to_string(), "alice", now_ms())
        .await
        .unwrap();
    assert!(left.is_none(), "the answered question is gone: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_request_whose_replica_died_is_approved_on_the_survivor() {
    let mut p = pair().await;
    let channel = FIRST + 78;
    p.fake
        .say(channel, &p.alice, "!sy promote 1.3.0 from tst to prd")
        .await;
    p.says(channel, "Proceed with PRD promotion of 1.3.0?")
        .await;
    p.fake.say(channel, &p.alice, "yes").await;
    p.says(channel, "Enter TOTP code").await;
    let code = p.code().await;
    p.fake.say(channel, &p.alice, &code).await;
    p.says(channel, "Waiting for approval of #1").await;
    let holder = p
        .store()
        .await
        .lease_holder(1, now_ms())
        .await
        .unwrap()
        .expect("the pending deployment is leased");
    p.kill(&holder);

    // The survivor takes the pending deployment over and keeps waiting.
    p.says(channel, "↻ Took over #1 from replica").await;
    p.fake.say(channel, &p.bob, "!sy approve").await;
    p.says(channel, "#1 approved by bob (1/1)").await;
    p.says(channel, "Deployment successful! #1").await;
}
