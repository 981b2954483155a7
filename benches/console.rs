//! First-reply latency of the agent: how long from a line arriving to the first
//! message of its answer, over 1,000 commands of the kinds people type most
//! (status, history, metrics, help, and lines that are not commands), on the
//! demo's simulator with a SQLite file store. Run with `cargo bench --bench console`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use switchyard::chat::{ChatError, ChatPort, Incoming, Message};
use switchyard::clock::Clock;
use switchyard::config::Config;
use switchyard::demo::Demo;

/// Notes when the first message after `armed` is sent.
#[derive(Default)]
struct Stopwatch {
    first: Mutex<Option<Instant>>,
}

#[async_trait]
impl ChatPort for Stopwatch {
    async fn send(&self, _message: Message) -> Result<(), ChatError> {
        let mut first = self.first.lock().expect("lock");
        first.get_or_insert_with(Instant::now);
        Ok(())
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 1000 } else { 50 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let latencies = runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let watch = Arc::new(Stopwatch::default());
        let demo = Demo::open(Config::demo(), dir.path(), watch.clone(), Clock::system())
            .await
            .expect("demo");
        let lines = [
            "status",
            "history prd",
            "metrics for last 7 days",
            "help promote",
            "deploy 1.3.0; rm -rf / to prd",
            "promte 1.3.0 from tst to prd",
            "status of prd",
            "what's running on prod?",
        ];
        let mut latencies = Vec::with_capacity(n);
        for i in 0..n {
            *watch.first.lock().expect("lock") = None;
            let started = Instant::now();
            demo.agent
                .handle(Incoming {
                    channel: "console".into(),
                    user: "alice".into(),
                    text: lines[i % lines.len()].into(),
                })
                .await;
            let first = watch
                .first
                .lock()
                .expect("lock")
                .unwrap_or_else(Instant::now);
            latencies.push(first - started);
        }
        latencies
    });
    let mut sorted = latencies.clone();
    sorted.sort();
    let pct = |p: f64| sorted[((sorted.len() as f64 - 1.0) * p).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("## first-reply latency over {n} commands (status, history, metrics, help, refusals)");
    println!("| p50 | p99 | max | target |");
    println!("|---|---|---|---|");
    println!(
        "| {:.2} ms | {:.2} ms | {:.2} ms | p99 ≤ 20 ms |",
        ms(pct(0.5)),
        ms(pct(0.99)),
        ms(*sorted.last().unwrap_or(&Duration::ZERO))
    );
}
