//! The HTTP side, in process: the axum router of `switchyard run` called
//! request by request (no socket, so the demo agent behind it can run on the
//! paused clock). Build webhooks: a signed delivery is recorded, announced and
//! deployed to dev (which follows `main`); every refused delivery changes
//! nothing. `/metrics` parses with promtool and moves as deployments happen;
//! `/versions`, `/healthz` and `/readyz` answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use switchyard::chat::{ChatError, ChatPort, Message, Notice};
use switchyard::clock::Clock;
use switchyard::cloud::{Colour, ServiceRef};
use switchyard::config::{Config, Secret};
use switchyard::demo::Demo;
use switchyard::http::webhook::sign;
use switchyard::http::{HttpState, router};
use switchyard::store::DeploymentState;
use tower::ServiceExt;

const SECRET: &str = "correct horse battery staple";

/// The chat port of these tests: it keeps messages and notices.
#[derive(Default)]
struct Recorder {
    messages: Mutex<Vec<Message>>,
    notices: Mutex<Vec<Notice>>,
}

#[async_trait]
impl ChatPort for Recorder {
    async fn send(&self, message: Message) -> Result<(), ChatError> {
        self.messages.lock().unwrap().push(message);
        Ok(())
    }

    async fn notify(&self, notice: Notice) -> Result<(), ChatError> {
        self.notices.lock().unwrap().push(notice);
        Ok(())
    }
}

impl Recorder {
    fn notices(&self) -> Vec<(String, String)> {
        let notices = self.notices.lock().unwrap();
        notices
            .iter()
            .map(|n| (n.env.clone(), n.text.clone()))
            .collect()
    }
}

struct Site {
    demo: Demo,
    chat: Arc<Recorder>,
    app: axum::Router,
    _dir: tempfile::TempDir,
}

async fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let clock = Clock::starting_at(1_767_225_600_000);
    let mut config = Config::demo();
    config.http.webhook_secret = Some(Secret::inline(SECRET));
    let demo = Demo::open(config.clone(), dir.path(), chat.clone(), clock)
        .await
        .unwrap();
    let state = HttpState::new(demo.agent.clone(), &config.http, clock);
    let app = router(state, config.http.max_body_bytes);
    Site {
        demo,
        chat,
        app,
        _dir: dir,
    }
}

struct Answer {
    status: StatusCode,
    body: String,
    content_type: String,
}

impl Site {
    async fn call(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            content_type,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// A delivery signed with `secret` (none: no signature header).
    async fn deliver(&self, id: Option<&str>, body: &[u8], secret: Option<&str>) -> Answer {
        let mut request = Request::post("/hooks/build").header("content-type", "application/json");
        if let Some(id) = id {
            request = request.header("X-GitHub-Delivery", id);
        }
        if let Some(secret) = secret {
            request = request.header("X-Hub-Signature-256", sign(secret.as_bytes(), body));
        }
        self.call(request.body(Body::from(body.to_vec())).unwrap())
            .await
    }

    async fn dev_deployments(&self) -> Vec<switchyard::store::Deployment> {
        self.demo.store.history(Some("dev"), 50).await.unwrap()
    }

    /// Lets spawned work (the auto-deploy) start, then waits for every deployment.
    async fn settle(&self) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.demo.agent.settle().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn build(version: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "service": "storefront-api",
        "version": version,
        "image": format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/storefront-api:{version}"),
        "commit": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "branch": "main",
    }))
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_signed_build_is_recorded_announced_and_deployed_to_dev_without_questions() {
    let s = site().await;
    let before = s.dev_deployments().await.len();
    let answer = s
        .deliver(
            Some("7f1c0d2e-0001"),
            &build("main-a1b2c3d-20260101"),
            Some(SECRET),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["deploying_to"], serde_json::json!(["dev"]));
    s.settle().await;

    let recorded = s
        .demo
        .store
        .build("storefront-api", "main-a1b2c3d-20260101")
        .await
        .unwrap()
        .expect("the build is recorded");
    assert_eq!(recorded.commit, "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
    assert_eq!(recorded.branch, "main");

    let dev = s.dev_deployments().await;
    assert_eq!(dev.len(), before + 1, "one deployment for one build");
    let auto = &dev[0];
    assert_eq!(auto.version, "main-a1b2c3d-20260101");
    assert_eq!(auto.requested_by, "ci");
    assert_eq!(auto.state, DeploymentState::Succeeded, "{:?}", auto.reason);
    let live = s
        .demo
        .sim
        .cloud()
        .compute
        .readiness(
            &ServiceRef::new("dev", "storefront-api"),
            auto.new_colour.unwrap_or(Colour::Green),
        )
        .await
        .unwrap();
    assert_eq!(live.version.as_deref(), Some("main-a1b2c3d-20260101"));

    let notices = s.chat.notices();
    assert!(
        notices.iter().any(|(env, text)| env == "dev"
            && text.contains("Build ready: storefront-api main-a1b2c3d-20260101")),
        "{notices:?}"
    );
    // No question was asked of anyone for dev.
    let asked = s
        .chat
        .messages
        .lock()
        .unwrap()
        .iter()
        .any(|m| m.asks.is_some());
    assert!(!asked, "a question was asked");
    // tst and prd do not follow main: nothing moved there.
    for env in ["tst", "prd"] {
        let rows = s.demo.store.history(Some(env), 50).await.unwrap();
        assert!(
            rows.iter().all(|d| d.requested_by != "ci"),
            "{env}: {rows:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_build_of_another_branch_is_recorded_and_announced_but_deploys_nowhere() {
    let s = site().await;
    let before = s.dev_deployments().await.len();
    let body = String::from_utf8(build("feature-x-1"))
        .unwrap()
        .replace("\"main\"", "\"feature/x\"");
    let answer = s
        .deliver(Some("branch-1"), body.as_bytes(), Some(SECRET))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    assert!(
        answer.body.contains("\"deploying_to\":[]"),
        "{}",
        answer.body
    );
    s.settle().await;
    assert_eq!(s.dev_deployments().await.len(), before);
    assert!(
        s.demo
            .store
            .build("storefront-api", "feature-x-1")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(start_paused = true)]
async fn a_webhook_branch_named_everyone_does_not_ping() {
    let s = site().await;
    for (n, branch) in ["@everyone", "**x**<@123>"].into_iter().enumerate() {
        let body = String::from_utf8(build(&format!("hostile-{n}")))
            .unwrap()
            .replace("\"main\"", &serde_json::to_string(branch).unwrap());
        let answer = s
            .deliver(Some(&format!("hostile-{n}")), body.as_bytes(), Some(SECRET))
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    }
    s.settle().await;
    let notices = s.chat.notices();
    let built: Vec<&str> = notices
        .iter()
        .map(|(_, text)| text.as_str())
        .filter(|text| text.contains("Build ready"))
        .collect();
    assert_eq!(built.len(), 2, "{notices:?}");
    for text in &built {
        assert_eq!(super::echo::pings(text), None, "{text}");
        assert_eq!(super::echo::breaks_or_hides(text), None, "{text}");
    }
    // Shown as typed, not parsed.
    assert!(
        built[0].contains("(@\u{200B}everyone @ a1b2c3d)"),
        "{}",
        built[0]
    );
    assert!(
        built[1].contains("(\\*\\*x\\*\\*<\u{200B}@\u{200B}123> @ a1b2c3d)"),
        "{}",
        built[1]
    );
}

#[tokio::test(start_paused = true)]
async fn refused_deliveries_answer_the_right_status_and_change_nothing() {
    let s = site().await;
    let before = s.dev_deployments().await.len();
    let good = build("2.0.0");

    let wrong = s.deliver(Some("d-1"), &good, Some("not the secret")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("does not match"), "{}", wrong.body);

    let unsigned = s.deliver(Some("d-1"), &good, None).await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    assert!(
        unsigned.body.contains("missing X-Hub-Signature-256"),
        "{}",
        unsigned.body
    );

    let no_id = s.deliver(None, &good, Some(SECRET)).await;
    assert_eq!(no_id.status, StatusCode::BAD_REQUEST);
    assert!(no_id.body.contains("X-GitHub-Delivery"), "{}", no_id.body);

    let invalid = s
        .deliver(Some("d-1"), b"{\"service\": ", Some(SECRET))
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(invalid.body.contains("not valid JSON"), "{}", invalid.body);

    let missing =
        br#"{"service":"storefront-api","version":"2.0.0","commit":"a1b2c3d","branch":"main"}"#;
    let missing = s.deliver(Some("d-1"), missing, Some(SECRET)).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.body.contains("`image`"), "{}", missing.body);

    let bad_version = String::from_utf8(good.clone())
        .unwrap()
        .replace("2.0.0", "2.0.0;rm");
    let bad_version = s
        .deliver(Some("d-1"), bad_version.as_bytes(), Some(SECRET))
        .await;
    assert_eq!(bad_version.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_version.body.contains("field `version`"),
        "{}",
        bad_version.body
    );

    let unknown = String::from_utf8(good.clone())
        .unwrap()
        .replace("storefront-api\"", "billing\"");
    let unknown = s
        .deliver(Some("d-1"), unknown.as_bytes(), Some(SECRET))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.body.contains("field `service`"), "{}", unknown.body);

    // 1 MB: refused before the signature is even looked at.
    let mut huge = good.clone();
    huge.resize(1024 * 1024, b' ');
    let huge = s.deliver(Some("d-1"), &huge, Some(SECRET)).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);

    s.settle().await;
    assert_eq!(s.dev_deployments().await.len(), before);
    assert!(
        s.demo
            .store
            .build("storefront-api", "2.0.0")
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.chat.notices().is_empty(), "{:?}", s.chat.notices());

    // None of those claimed the delivery id: the good delivery goes through...
    let ok = s.deliver(Some("d-1"), &good, Some(SECRET)).await;
    assert_eq!(ok.status, StatusCode::ACCEPTED, "{}", ok.body);
    s.settle().await;
    assert_eq!(s.dev_deployments().await.len(), before + 1);
    // ...and replaying it is refused, with no second deployment or announcement.
    let announced = s.chat.notices().len();
    let replay = s.deliver(Some("d-1"), &good, Some(SECRET)).await;
    assert_eq!(replay.status, StatusCode::CONFLICT);
    assert!(replay.body.contains("already handled"), "{}", replay.body);
    s.settle().await;
    assert_eq!(s.dev_deployments().await.len(), before + 1);
    assert_eq!(s.chat.notices().len(), announced);
}

#[tokio::test(start_paused = true)]
async fn without_a_webhook_secret_every_delivery_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let clock = Clock::starting_at(1_767_225_600_000);
    let config = Config::demo();
    let demo = Demo::open(config.clone(), dir.path(), chat, clock)
        .await
        .unwrap();
    let app = router(
        HttpState::new(demo.agent.clone(), &config.http, clock),
        65536,
    );
    let body = build("2.0.0");
    let response = app
        .oneshot(
            Request::post("/hooks/build")
                .header("X-GitHub-Delivery", "x")
                .header("X-Hub-Signature-256", sign(b"", &body))
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// The sample value of `name{labels}` in the exposition `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .split(' ')
            .next()?
            .parse()
            .ok()
    })
}

/// Runs `promtool check metrics` on `text`; returns its complaints.
fn promtool_check(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is missing: install the Debian package prometheus (scripts/test does)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool check metrics failed: {said}\n{text}"
    );
    said
}

#[tokio::test(start_paused = true)]
async fn metrics_parse_with_promtool_and_move_as_deployments_happen() {
    let s = site().await;
    let first = s.get("/metrics").await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.content_type.starts_with("text/plain; version=0.0.4"));
    assert_eq!(promtool_check(&first.body).trim(), "", "lint findings");
    let succeeded = r#"switchyard_deployments_total{env="dev",outcome="succeeded"}"#;
    // Every environment's counters exist from the start, at 0.
    assert_eq!(sample(&first.body, succeeded), Some(0.0), "{}", first.body);
    assert_eq!(
        sample(
            &first.body,
            r#"switchyard_deployments_total{env="prd",outcome="failed"}"#
        ),
        Some(0.0)
    );
    let before = 0.0;

    s.deliver(Some("m-1"), &build("3.0.0"), Some(SECRET)).await;
    s.settle().await;
    let after = s.get("/metrics").await.body;
    promtool_check(&after);
    assert_eq!(sample(&after, succeeded), Some(before + 1.0), "{after}");
    let weight = |colour: &str| {
        sample(
            &after,
            &format!(
                r#"switchyard_traffic_weight_percent{{colour="{colour}",env="dev",service="storefront-api"}}"#
            ),
        )
    };
    let new = s.dev_deployments().await[0].new_colour.unwrap();
    assert_eq!(weight(new.as_str()), Some(100.0), "{after}");
    assert_eq!(weight(new.other().as_str()), Some(0.0), "{after}");
    assert_eq!(
        sample(
            &after,
            r#"switchyard_deployment_duration_seconds_count{env="dev"}"#
        ),
        Some(1.0),
        "{after}"
    );
    assert_eq!(
        sample(&after, r#"switchyard_deployment_in_progress{env="dev"}"#),
        Some(0.0)
    );
    assert_eq!(
        sample(&after, r#"switchyard_pending_approvals{env="prd"}"#),
        Some(0.0)
    );
    assert!(after.contains("switchyard_mfa_failures_total "), "{after}");
    assert!(
        after.contains("switchyard_cloud_api_errors_total "),
        "{after}"
    );
    assert!(
        after.contains("switchyard_chat_api_errors_total "),
        "{after}"
    );

    // A manual rollback counts as a rollback with its trigger.
    let rollback = switchyard::chat::console::incoming("rollback dev", "alice", "switchyard");
    s.demo.agent.handle(rollback).await;
    let yes = switchyard::chat::console::incoming("yes", "alice", "switchyard");
    s.demo.agent.handle(yes).await;
    s.settle().await;
    let rolled = s.get("/metrics").await.body;
    assert_eq!(
        sample(
            &rolled,
            r#"switchyard_rollbacks_total{env="dev",trigger="manual"}"#
        ),
        Some(1.0),
        "{rolled}"
    );
}

#[tokio::test(start_paused = true)]
async fn versions_health_and_readiness_answer() {
    let s = site().await;
    assert_eq!(s.get("/healthz").await.status, StatusCode::OK);
    let ready = s.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    assert!(ready.body.contains("\"store\":\"ok\""), "{}", ready.body);

    s.deliver(Some("v-1"), &build("4.0.0"), Some(SECRET)).await;
    s.settle().await;
    let json = s.get("/versions").await;
    assert_eq!(json.status, StatusCode::OK);
    let manifest: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let dev = &manifest["environments"]["dev"]["storefront-api"];
    assert_eq!(dev["version"], "4.0.0");
    assert_eq!(dev["deployed_by"], "ci");
    assert_eq!(dev["commit"], "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
    assert!(dev["image"].as_str().unwrap().ends_with(":4.0.0"));
    // Environments in promotion order, not alphabetical.
    let envs: Vec<&String> = manifest["environments"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let mut ordered = envs.clone();
    ordered.sort_by_key(|e| ["dev", "tst", "prd"].iter().position(|x| x == e));
    assert_eq!(envs, ordered);

    let yaml = s.get("/versions?format=yaml").await;
    assert_eq!(yaml.status, StatusCode::OK);
    let parsed: serde_json::Value = serde_yaml_ng::from_str(&yaml.body).unwrap();
    assert_eq!(parsed, manifest, "YAML and JSON carry the same manifest");
    assert_eq!(
        s.get("/versions?format=xml").await.status,
        StatusCode::BAD_REQUEST
    );

    // The store gone: not ready, and the reason says which part.
    s.demo.store.close().await;
    let gone = s.get("/readyz").await;
    assert_eq!(gone.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        gone.body.contains("\"store\":\"unreachable\""),
        "{}",
        gone.body
    );
}
