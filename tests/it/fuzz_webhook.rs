//! The build webhook fuzzed in process: generated bodies (arbitrary bytes,
//! mutations of a valid build payload field by field and byte by byte, deep
//! nesting, huge strings, odd Unicode) with valid, wrong, garbled and missing
//! signatures and delivery ids, posted to the axum router of `switchyard run`
//! one after another on tokio's paused clock. Every answer must be 2xx or 4xx
//! (never a panic, never a 5xx for bad input), and a model of the store checks
//! that a refused delivery changed nothing: no delivery id claimed, no build
//! recorded, nothing announced; an accepted one claimed exactly its id and was
//! announced once.
//!
//! `PROPTEST_CASES` sets the number of deliveries (default [`DEFAULT_CASES`]);
//! `PROPTEST_CASES=100000 cargo test --test it fuzz_webhook -- --nocapture`
//! runs it longer and prints how many ran.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{HeaderValue, Request};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::{Value, json};
use switchyard::chat::{ChatError, ChatPort, Message, Notice};
use switchyard::clock::{Clock, held};
use switchyard::config::{Config, Secret};
use switchyard::demo::Demo;
use switchyard::http::webhook::sign;
use switchyard::http::{HttpState, router};
use tower::ServiceExt;

const SECRET: &str = "fuzz-secret";
/// Deliveries per run in the test command (about 10 s in a debug build).
const DEFAULT_CASES: u32 = 3000;

/// Counts what the agent announces.
#[derive(Default)]
struct Announcements(Mutex<usize>);

#[async_trait]
impl ChatPort for Announcements {
    async fn send(&self, _message: Message) -> Result<(), ChatError> {
        Ok(())
    }

    async fn notify(&self, _notice: Notice) -> Result<(), ChatError> {
        *self.0.lock().unwrap() += 1;
        Ok(())
    }
}

impl Announcements {
    fn count(&self) -> usize {
        *self.0.lock().unwrap()
    }
}

/// How a delivery is signed.
#[derive(Debug, Clone)]
enum Signature {
    Valid,
    WrongSecret,
    Garbled(Vec<u8>),
    Missing,
}

/// Which delivery id it carries.
#[derive(Debug, Clone)]
enum Delivery {
    /// One never used before.
    Fresh,
    /// One already accepted (a replay), when there is one.
    Replayed(usize),
    /// Arbitrary bytes as the header value.
    Garbled(Vec<u8>),
    Missing,
}

#[derive(Debug, Clone)]
struct Input {
    body: Vec<u8>,
    signature: Signature,
    delivery: Delivery,
    /// Whether the request declares its (true) length.
    declared: bool,
}

/// A valid build payload, as CI would send it.
fn valid(version: &str) -> serde_json::Map<String, Value> {
    let Value::Object(map) = json!({
        "service": "storefront-api",
        "version": version,
        "image": format!("registry.example/storefront-api:{version}"),
        "commit": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "branch": "main",
    }) else {
        unreachable!()
    };
    map
}

fn version() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..20, 0u32..20, 0u32..50).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        (0u32..20, 0u32..20, 0u32..50).prop_map(|(a, b, c)| format!("v{a}.{b}.{c}")),
        "main-[0-9a-f]{7}-[0-9]{8}",
    ]
}

/// A JSON value of any kind, odd strings included.
fn wild_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        "\\PC{0,80}".prop_map(Value::String),
        // Line separators, format characters, mentions, markdown, RTL.
        prop::sample::select(vec![
            "@everyone",
            "**x**<@123>",
            "a\u{2028}b",
            "\u{202e}evil",
            "\u{fff9}\u{180b}\u{fe0f}",
            "</deploy:1>",
            "<t:0:R>",
            "https://evil.example/login",
            "`",
            "\u{0}",
            "\u{feff}",
            "💥",
            "main\nmain",
            "../../etc/passwd",
            "",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        (0usize..70_000).prop_map(|n| Value::String("x".repeat(n))),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid payload with some fields replaced, removed or added.
fn mutated_payload() -> impl Strategy<Value = Vec<u8>> {
    let field = prop::sample::select(vec!["service", "version", "image", "commit", "branch"]);
    (
        version(),
        prop::collection::vec((field.clone(), wild_value()), 0..3),
        prop::collection::vec(field, 0..2),
        prop::collection::vec(("[a-z_]{1,12}", wild_value()), 0..2),
    )
        .prop_map(|(version, replaced, removed, extra)| {
            let mut map = valid(&version);
            for (key, value) in replaced {
                map.insert(key.to_owned(), value);
            }
            for key in removed {
                map.remove(key);
            }
            for (key, value) in extra {
                map.insert(key, value);
            }
            serde_json::to_vec(&Value::Object(map)).unwrap()
        })
}

/// A valid payload's bytes with bytes flipped, inserted or cut.
fn mutated_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        version(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    )
        .prop_map(|(version, edits)| {
            let mut bytes = serde_json::to_vec(&Value::Object(valid(&version))).unwrap();
            for (at, byte, op) in edits {
                let i = at.index(bytes.len().max(1));
                match op {
                    0 if !bytes.is_empty() => bytes[i] = byte,
                    1 => bytes.insert(i.min(bytes.len()), byte),
                    _ if !bytes.is_empty() => {
                        bytes.remove(i);
                    }
                    _ => {}
                }
            }
            bytes
        })
}

/// `[[[[…]]]]` or `{"a":{"a":…}}`, deeper than any parser's patience.
fn nested() -> impl Strategy<Value = Vec<u8>> {
    (1usize..20_000, any::<bool>()).prop_map(|(depth, arrays)| {
        if arrays {
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
        } else {
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).into_bytes()
        }
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..2048),
        4 => mutated_payload(),
        2 => mutated_bytes(),
        1 => nested(),
        2 => version().prop_map(|v| serde_json::to_vec(&Value::Object(valid(&v))).unwrap()),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    let signature = prop_oneof![
        6 => Just(Signature::Valid),
        1 => Just(Signature::WrongSecret),
        1 => prop::collection::vec(any::<u8>(), 0..100).prop_map(Signature::Garbled),
        1 => Just(Signature::Missing),
    ];
    let delivery = prop_oneof![
        8 => Just(Delivery::Fresh),
        1 => any::<usize>().prop_map(Delivery::Replayed),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Delivery::Garbled),
        1 => Just(Delivery::Missing),
    ];
    (body(), signature, delivery, any::<bool>()).prop_map(
        |(body, signature, delivery, declared)| Input {
            body,
            signature,
            delivery,
            declared,
        },
    )
}

/// What the store holds that a delivery may change.
async fn counts(db: &sqlx::SqlitePool) -> (i64, i64) {
    // Held: SQLite answers on its own thread, and the paused clock must not
    // jump to the pool's timeout meanwhile.
    let deliveries = held(sqlx::query_scalar("SELECT COUNT(*) FROM deliveries").fetch_one(db));
    let deliveries: i64 = deliveries.await.unwrap();
    let builds = held(sqlx::query_scalar("SELECT COUNT(*) FROM builds").fetch_one(db));
    let builds: i64 = builds.await.unwrap();
    (deliveries, builds)
}

#[test]
fn generated_webhook_bodies_never_panic_never_5xx_and_a_refused_one_changes_nothing() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Announcements::default());
    let clock = Clock::starting_at(1_767_225_600_000);
    let mut config = Config::demo();
    config.http.webhook_secret = Some(Secret::inline(SECRET));
    // The fuzz is about the body: accepted builds are recorded and announced,
    // but deploy nowhere.
    for env in &mut config.environments {
        env.policy.follow_branch = None;
    }
    let (demo, app, db) = runtime.block_on(async {
        let demo = Demo::open(config.clone(), dir.path(), chat.clone(), clock)
            .await
            .unwrap();
        let app = router(
            HttpState::new(demo.agent.clone(), &config.http, clock),
            config.http.max_body_bytes,
        );
        let url = format!("sqlite://{}", dir.path().join("switchyard.db").display());
        let db = held(sqlx::SqlitePool::connect(&url)).await.unwrap();
        (demo, app, db)
    });

    let fresh = AtomicUsize::new(0);
    let accepted_ids = Mutex::new(Vec::<String>::new());
    let ran = AtomicUsize::new(0);
    let statuses = Mutex::new(std::collections::BTreeMap::<u16, usize>::new());
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let started = std::time::Instant::now();
    let outcome = runner.run(&input(), |input| {
        ran.fetch_add(1, Ordering::Relaxed);
        runtime.block_on(async {
            let mut request =
                Request::post("/hooks/build").header("content-type", "application/json");
            let headers = request.headers_mut().unwrap();
            match &input.signature {
                Signature::Valid => {
                    let value = sign(SECRET.as_bytes(), &input.body);
                    headers.insert(
                        "x-hub-signature-256",
                        HeaderValue::from_str(&value).unwrap(),
                    );
                }
                Signature::WrongSecret => {
                    let value = sign(b"not the secret", &input.body);
                    headers.insert(
                        "x-hub-signature-256",
                        HeaderValue::from_str(&value).unwrap(),
                    );
                }
                Signature::Garbled(bytes) => {
                    if let Ok(value) = HeaderValue::from_bytes(bytes) {
                        headers.insert("x-hub-signature-256", value);
                    }
                }
                Signature::Missing => {}
            }
            let replayed = match &input.delivery {
                Delivery::Fresh => {
                    let id = format!("fuzz-{}", fresh.fetch_add(1, Ordering::Relaxed));
                    headers.insert("x-github-delivery", HeaderValue::from_str(&id).unwrap());
                    false
                }
                Delivery::Replayed(n) => {
                    let ids = accepted_ids.lock().unwrap();
                    match ids.get(n % ids.len().max(1)) {
                        Some(id) => {
                            headers.insert("x-github-delivery", HeaderValue::from_str(id).unwrap());
                            true
                        }
                        None => false,
                    }
                }
                Delivery::Garbled(bytes) => {
                    if let Ok(value) = HeaderValue::from_bytes(bytes) {
                        headers.insert("x-github-delivery", value);
                    }
                    false
                }
                Delivery::Missing => false,
            };
            if input.declared {
                headers.insert("content-length", HeaderValue::from(input.body.len()));
            }
            let delivery = headers
                .get("x-github-delivery")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);

            let (deliveries, builds) = counts(&db).await;
            let announced = chat.count();
            let response = app
                .clone()
                .oneshot(request.body(Body::from(input.body.clone())).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let text = String::from_utf8_lossy(&body);
            *statuses.lock().unwrap().entry(status.as_u16()).or_default() += 1;
            prop_assert!(
                status.is_success() || status.is_client_error(),
                "{} for a bad delivery: {}",
                status,
                text
            );
            if status.is_success() {
                prop_assert_eq!(status.as_u16(), 202, "{}", text);
                prop_assert!(!replayed, "a replayed delivery was accepted again");
                prop_assert!(matches!(input.signature, Signature::Valid));
                let after = counts(&db).await;
                prop_assert_eq!(after.0, deliveries + 1, "one delivery id claimed");
                prop_assert!(
                    after.1 == builds || after.1 == builds + 1,
                    "one build at most"
                );
                // The announcement is spawned: let it land (virtual time).
                for _ in 0..200 {
                    if chat.count() > announced {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                prop_assert_eq!(chat.count(), announced + 1, "announced once");
                accepted_ids
                    .lock()
                    .unwrap()
                    .push(delivery.expect("accepted with an id"));
            } else {
                // A refusal says why, and changed nothing.
                prop_assert!(!text.trim().is_empty(), "{} with no reason", status);
                prop_assert_eq!(
                    counts(&db).await,
                    (deliveries, builds),
                    "{}: {}",
                    status,
                    text
                );
                prop_assert_eq!(chat.count(), announced, "{}: {}", status, text);
                if replayed {
                    prop_assert!(
                        status.as_u16() != 409 || text.contains("already handled"),
                        "{}",
                        text
                    );
                }
            }
            Ok::<(), TestCaseError>(())
        })
    });
    let took = started.elapsed();
    let ran = ran.load(Ordering::Relaxed);
    let accepted = accepted_ids.lock().unwrap().len();
    eprintln!(
        "fuzz_webhook: {ran} deliveries in {took:?}, {accepted} accepted; statuses {:?}",
        statuses.lock().unwrap()
    );
    if let Err(e) = outcome {
        panic!("{e}");
    }
    // The generators reach every branch that matters, or the run proves little.
    let statuses = statuses.into_inner().unwrap();
    if cases >= 1000 {
        for status in [202, 400, 401, 409, 413] {
            assert!(
                statuses.get(&status).copied().unwrap_or(0) > 0,
                "no delivery got {status}: {statuses:?}"
            );
        }
    }
    runtime.block_on(async {
        db.close().await;
        demo.store.close().await;
    });
}
