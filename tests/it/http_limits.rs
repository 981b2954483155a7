//! The build webhook under abuse. Over real sockets (`axum::serve` on port 0,
//! the demo agent behind it): a declared length over `http.max_body_bytes` is
//! refused before the body is read; hundreds of stalled bodies are answered
//! 408 after `http.body_timeout` or shed with 503 at once beyond
//! `http.max_concurrent_hooks`, while `/healthz` keeps answering; afterwards a
//! good delivery goes through. The socket tests run in real time with bounded
//! deadlines far from the expected times, so a loaded machine cannot make them
//! fail; the exact timeout is shown on tokio's paused clock, in process.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use switchyard::chat::{ChatError, ChatPort, Message};
use switchyard::clock::Clock;
use switchyard::config::{Config, Secret};
use switchyard::demo::Demo;
use switchyard::http::webhook::sign;
use switchyard::http::{HttpState, router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tower::ServiceExt;

const SECRET: &str = "limits-test-secret";

/// A chat that hears nothing: these tests look at HTTP answers only.
struct Quiet;

#[async_trait]
impl ChatPort for Quiet {
    async fn send(&self, _message: Message) -> Result<(), ChatError> {
        Ok(())
    }
}

fn config(body_timeout: Duration, max_concurrent_hooks: usize) -> Config {
    let mut config = Config::demo();
    config.http.webhook_secret = Some(Secret::inline(SECRET));
    config.http.body_timeout = body_timeout;
    config.http.max_concurrent_hooks = max_concurrent_hooks;
    config
}

/// The HTTP side of `switchyard run`, served on a free loopback port.
struct Server {
    addr: std::net::SocketAddr,
    _demo: Demo,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn serve(config: Config) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::system();
    let demo = Demo::open(config.clone(), dir.path(), Arc::new(Quiet), clock)
        .await
        .unwrap();
    let app = router(
        HttpState::new(demo.agent.clone(), &config.http, clock),
        config.http.max_body_bytes,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(switchyard::http::serve(listener, app, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        _demo: demo,
        _stop: stop,
        _dir: dir,
    }
}

/// A delivery's head declaring `declared` bytes of body, then `sent` of them,
/// and nothing more.
async fn stalled(addr: std::net::SocketAddr, declared: usize, sent: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /hooks/build HTTP/1.1\r\nHost: switchyard\r\nContent-Type: application/json\r\n\
         Content-Length: {declared}\r\nX-GitHub-Delivery: stalled\r\n\
         X-Hub-Signature-256: sha256=00\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(sent).await.unwrap();
    stream
}

/// The status code the server answers on `stream`, if it answers within `limit`.
async fn status_within(stream: &mut TcpStream, limit: Duration) -> Option<u16> {
    let read = async {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.windows(2).any(|w| w == b"\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        let line = String::from_utf8_lossy(&seen).into_owned();
        line.split(' ').nth(1).and_then(|code| code.parse().ok())
    };
    tokio::time::timeout(limit, read).await.ok().flatten()
}

/// True once the server has closed `stream` (read returns end of stream).
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let drain = async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(limit, drain).await.is_ok()
}

fn build_body(version: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "service": "storefront-api",
        "version": version,
        "image": format!("registry.example/storefront-api:{version}"),
        "commit": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "branch": "limits",
    }))
    .unwrap()
}

async fn deliver(client: &reqwest::Client, addr: std::net::SocketAddr, id: &str) -> u16 {
    let body = build_body("9.9.9");
    client
        .post(format!("http://{addr}/hooks/build"))
        .header("X-GitHub-Delivery", id)
        .header("X-Hub-Signature-256", sign(SECRET.as_bytes(), &body))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_limit_is_refused_before_the_body_is_read() {
    // The default 10 s body timeout: a 413 that waited for it would be too late.
    let server = serve(config(Duration::from_secs(10), 64)).await;
    let started = Instant::now();
    // 99,999,999 bytes declared, 3 sent: this used to hang for as long as the
    // sender liked (45 s and more).
    let mut stream = stalled(server.addr, 99_999_999, b"{\"s").await;
    assert_eq!(
        status_within(&mut stream, Duration::from_secs(5)).await,
        Some(413)
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // And the connection is let go: nothing of the sender is kept.
    assert!(closed_within(&mut stream, Duration::from_secs(5)).await);

    // One byte over the limit declared is enough.
    let mut stream = stalled(server.addr, 64 * 1024 + 1, b"{").await;
    assert_eq!(
        status_within(&mut stream, Duration::from_secs(5)).await,
        Some(413)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stalled_webhook_bodies_time_out_and_healthz_still_answers() {
    const STALLED: usize = 300;
    const SLOTS: usize = 64;
    let timeout = Duration::from_secs(3);
    let server = serve(config(timeout, SLOTS)).await;
    let client = reqwest::Client::new();

    // 300 senders that declare 100 bytes and send 10.
    let mut held = Vec::with_capacity(STALLED);
    for _ in 0..STALLED {
        let sent_at = Instant::now();
        held.push((sent_at, stalled(server.addr, 100, b"{\"service\"").await));
    }
    let opened = held[0].0.elapsed();

    // Health stays prompt while they stall.
    let asked = Instant::now();
    let health = client
        .get(format!("http://{}/healthz", server.addr))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("/healthz answers while the hooks are saturated");
    assert_eq!(health.status().as_u16(), 200);
    let health_took = asked.elapsed();
    let ready = client
        .get(format!("http://{}/readyz", server.addr))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("/readyz answers while the hooks are saturated");
    assert_eq!(ready.status().as_u16(), 200);

    // Every stalled sender gets an answer: 408 once its body is overdue, or
    // 503 at once when every slot was taken. None is held for ever.
    let answers = held.into_iter().map(|(sent_at, mut stream)| {
        tokio::spawn(async move {
            let status = status_within(&mut stream, Duration::from_secs(60)).await;
            let closed = closed_within(&mut stream, Duration::from_secs(10)).await;
            (status, sent_at.elapsed(), closed)
        })
    });
    let mut timed_out = 0;
    let mut shed = 0;
    for answer in answers {
        let (status, took, closed) = answer.await.unwrap();
        match status {
            Some(408) => {
                timed_out += 1;
                assert!(took >= timeout, "408 before the body timeout: {took:?}");
            }
            Some(503) => shed += 1,
            other => panic!("a stalled body got {other:?} after {took:?}"),
        }
        assert!(closed, "the server kept a refused connection open");
    }
    assert_eq!(timed_out + shed, STALLED);
    // The first 64 took every slot and waited their full timeout.
    assert!(timed_out >= SLOTS, "{timed_out} timed out, {shed} shed");
    // Opening the 300 took far less than the timeout, so the rest were shed.
    assert!(
        shed > 0 || opened >= timeout,
        "{timed_out} timed out, {shed} shed, opened in {opened:?}"
    );

    // The slots are free again: a good delivery goes through.
    assert_eq!(deliver(&client, server.addr, "after-the-stall").await, 202);
    eprintln!(
        "stalled: {STALLED} opened in {opened:?}; {timed_out} got 408, {shed} got 503; \
         /healthz answered in {health_took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_body_that_stops_arriving_is_answered_408_at_the_body_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::starting_at(1_767_225_600_000);
    let config = config(Duration::from_secs(10), 64);
    let demo = Demo::open(config.clone(), dir.path(), Arc::new(Quiet), clock)
        .await
        .unwrap();
    let app = router(
        HttpState::new(demo.agent.clone(), &config.http, clock),
        config.http.max_body_bytes,
    );
    // Ten bytes of a declared hundred, then silence (the sender stays connected).
    let (mut sender, body) = http_body_util::channel::Channel::<Bytes>::new(1);
    sender
        .send_data(Bytes::from_static(b"{\"service\""))
        .await
        .unwrap();
    let request = Request::post("/hooks/build")
        .header("content-length", "100")
        .header("X-GitHub-Delivery", "stalled")
        .header("X-Hub-Signature-256", sign(SECRET.as_bytes(), b"{}"))
        .body(Body::new(body))
        .unwrap();
    let started = Instant::now();
    let mut call = pin!(app.oneshot(request));
    assert!(
        tokio::time::timeout(Duration::from_millis(9_990), &mut call)
            .await
            .is_err(),
        "answered before the body timeout"
    );
    let response = tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("a stalled body is answered, not held for ever")
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains("did not arrive within 10s (http.body_timeout)"),
        "{body}"
    );
    drop(sender);
}
