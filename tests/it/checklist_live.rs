//! A slow provider does not leave the channel silent: when the checklist takes
//! longer than a second, what has answered is shown at once, each further
//! result as it arrives (one live message), and then the whole checklist in
//! order with its verdict, which closes the live message. A quick checklist
//! stays one message. Real time: the provider is a local HTTP stand-in that
//! answers after a delay, and the command is a dry run (nothing moves).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::routing::get;
use switchyard::chat::{ChatError, ChatPort, Incoming, Message};
use switchyard::clock::Clock;
use switchyard::config::{Config, DEMO_TOML};
use switchyard::demo::Demo;

#[derive(Default)]
struct Transcript(Mutex<Vec<(std::time::Instant, Message)>>);

#[async_trait]
impl ChatPort for Transcript {
    async fn send(&self, message: Message) -> Result<(), ChatError> {
        self.0
            .lock()
            .unwrap()
            .push((std::time::Instant::now(), message));
        Ok(())
    }
}

/// A smoke-test endpoint stand-in: `/smoke` answers `{"status":"passed"}`
/// after `delay`, `/e2e` after twice as long.
async fn slow_smoke(delay: Duration) -> String {
    let answer = move |delay: Duration| async move {
        tokio::time::sleep(delay).await;
        axum::Json(serde_json::json!({"status": "passed"}))
    };
    let app = axum::Router::new()
        .route("/smoke", get(move || answer(delay)))
        .route("/e2e", get(move || answer(delay * 2)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn agent_with_smoke(base: &str) -> (Demo, Arc<Transcript>, tempfile::TempDir) {
    let check = |name: &str, path: &str| {
        format!(
            "[[environments.checks]]\nname = \"{name}\"\nkind = \"http\"\nurl = \"{base}{path}\"\n\
             json_pointer = \"/status\"\nequals = \"passed\"\ntimeout = \"10s\"\n"
        )
    };
    let check = check("smoke", "/smoke") + &check("e2e", "/e2e");
    let text = DEMO_TOML.replacen("[[services]]", &format!("{check}\n[[services]]"), 1);
    let config = Config::from_toml_str_with(&text, &|_: &str| None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let said = Arc::new(Transcript::default());
    let demo = Demo::open(config, dir.path(), said.clone(), Clock::system())
        .await
        .unwrap();
    (demo, said, dir)
}

async fn dry_run(demo: &Demo) {
    demo.agent
        .handle(Incoming {
            channel: "console".into(),
            user: "alice".into(),
            text: "promote 1.3.0 from tst to prd --dry-run".into(),
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_check_shows_the_others_at_once_then_its_own_result_then_the_verdict() {
    let url = slow_smoke(Duration::from_millis(1800)).await;
    let (demo, said, _dir) = agent_with_smoke(&url).await;
    let asked = std::time::Instant::now();
    dry_run(&demo).await;
    let said = said.0.lock().unwrap().clone();
    let texts: Vec<&str> = said.iter().map(|(_, m)| m.text.as_str()).collect();
    assert!(said.len() >= 3, "{texts:#?}");

    // First, after about a second: the running checklist with the quick results.
    let (at, first) = &said[0];
    assert!(
        first
            .text
            .starts_with("⏳ Pre-promotion checklist (TST → PRD): running"),
        "{texts:#?}"
    );
    assert!(first.text.contains("✓ source-healthy"), "{}", first.text);
    assert!(!first.text.contains("smoke"), "{}", first.text);
    let waited = at.duration_since(asked);
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(2400),
        "shown after {waited:?}"
    );
    let live = first.deployment.as_ref().expect("a live message");
    assert!(live.live && live.id < 0, "{live:?}");

    // Then the slow one, as it arrives, into the same live message (the
    // slowest arrives with the verdict).
    let (_, second) = &said[1];
    assert!(second.text.contains("✓ smoke"), "{texts:#?}");
    assert!(!second.text.contains("e2e"), "{texts:#?}");
    assert_eq!(second.deployment.as_ref().map(|p| p.id), Some(live.id));

    // Last, the whole checklist in order with the plan; it closes the live message.
    let (_, last) = said.last().unwrap();
    assert!(last.text.contains("Dry run"), "{}", last.text);
    let order: Vec<usize> = ["source-healthy", "target-idle", "smoke", "e2e"]
        .iter()
        .map(|name| {
            last.text
                .find(name)
                .unwrap_or_else(|| panic!("{name} in {}", last.text))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", last.text);
    let closing = last.deployment.as_ref().expect("closes the live message");
    assert!(closing.done && !closing.live && closing.id == live.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_checklist_is_one_message() {
    let url = slow_smoke(Duration::ZERO).await;
    let (demo, said, _dir) = agent_with_smoke(&url).await;
    dry_run(&demo).await;
    let said = said.0.lock().unwrap().clone();
    assert_eq!(said.len(), 1, "{said:#?}");
    let (_, only) = &said[0];
    assert!(
        only.text.contains("✓ smoke") && only.text.contains("✓ e2e"),
        "{}",
        only.text
    );
    assert!(only.deployment.is_none());
}
