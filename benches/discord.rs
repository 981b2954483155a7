//! First-reply latency on Discord: from a gateway event leaving the local
//! Discord stand-in (a user's message) to the bot's first REST call answering
//! it, over 1,000 commands, with the real serenity client and the demo's agent
//! (simulator, SQLite). Commands go out 25 ms apart over 200 channels, so
//! Discord's limits (5 per 5 s per channel, 50 per second) never hold a reply
//! back: what is measured is the bot, not the pacing. Run with
//! `cargo bench --bench discord`.

#[path = "../tests/it/discord_fake/mod.rs"]
#[allow(dead_code, unused_imports)]
mod discord_fake;

use std::sync::Arc;
use std::time::Duration;

use discord_fake::{FakeDiscord, FakeUser};
use switchyard::chat::discord::DiscordChat;
use switchyard::clock::Clock;
use switchyard::config::Config;
use switchyard::demo::Demo;
use switchyard::intent::Grammar;
use tokio::time::Instant;

const ALICE: u64 = 800_000_000_000_000_001;
const FIRST_CHANNEL: u64 = 700_000_000_000_000_100;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 1000 } else { 40 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let latencies = runtime.block_on(async {
        let fake = FakeDiscord::start().await;
        let alice = FakeUser::new(ALICE, "alice");
        fake.add_user(&alice);
        let text = format!(
            "chat = \"discord\"\n{}\n[discord]\ntoken = \"bench\"\nprefix = \"!sy\"\napi_base = \"{}\"\n[discord.users]\n\"{ALICE}\" = \"alice\"\n",
            switchyard::config::DEMO_TOML,
            fake.base()
        );
        let config = Config::from_toml_str(&text).expect("config");
        let settings = config.discord.clone().expect("[discord]");
        let http = switchyard::chat::discord::http(&settings).expect("http");
        let chat = DiscordChat::new(settings, Arc::new(http));
        let dir = tempfile::tempdir().expect("tempdir");
        let demo = Demo::open(config.clone(), dir.path(), Arc::new(chat.clone()), Clock::system())
            .await
            .expect("demo");
        let grammar = Grammar::for_config(&config).expect("grammar");
        let agent = demo.agent.clone();
        tokio::spawn(async move {
            let _ = chat.serve(agent, &grammar, &config).await;
        });
        fake.wait_ready().await;
        let lines = ["!sy status", "!sy history prd", "!sy help promote", "!sy promte 1.3.0 from tst to prd", "!sy status of prd"];
        let mut latencies = Vec::with_capacity(n);
        for i in 0..n {
            let channel = FIRST_CHANNEL + (i % 200) as u64;
            let path = format!("/channels/{channel}/messages");
            let started = Instant::now();
            fake.say(channel, &alice, lines[i % lines.len()]).await;
            let answered = fake
                .wait_for(
                    |f| f.requests().iter().rev().any(|r| r.method == "POST" && r.path == path && r.at >= started),
                    Duration::from_secs(10),
                )
                .await;
            assert!(answered, "no answer to command {i}");
            let at = fake
                .requests()
                .into_iter()
                .filter(|r| r.method == "POST" && r.path == path && r.at >= started)
                .map(|r| r.at)
                .min()
                .expect("an answer");
            latencies.push(at - started);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(fake.rate_limited(), 0, "the bench hit the stand-in's rate limits");
        latencies
    });
    let mut sorted = latencies.clone();
    sorted.sort();
    let pct = |p: f64| sorted[((sorted.len() as f64 - 1.0) * p).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "## Discord first-reply latency over {n} commands (gateway event out -> first REST call in)"
    );
    println!("| p50 | p99 | max |");
    println!("|---|---|---|");
    println!(
        "| {:.2} ms | {:.2} ms | {:.2} ms |",
        ms(pct(0.5)),
        ms(pct(0.99)),
        ms(*sorted.last().unwrap_or(&Duration::ZERO))
    );
}
